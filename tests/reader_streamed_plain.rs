//! Plain files read as streams (`--no-mmap`, or files that cannot be mapped) give what a
//! mapped read gives: the same inputs in the same order, with the same shapes, byte counts and
//! first and last timestamps, and the same counts and bad lines; pipes are read once and whole,
//! and inputs past the limit of open files are opened again and read alike.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn analyze(inputs: &[&Path], extra: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_nodeauthz"))
        .arg("analyze")
        .args(inputs)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), json)
}

/// A kubelet `get` of its node at `HH:MM:SS` of 2024-01-01, from its `id`.
fn event(id: usize, node: &str, hour: u32) -> Value {
    let t = format!(
        "2024-01-01T{hour:02}:{:02}:{:02}.000000Z",
        id / 60 % 60,
        id % 60
    );
    serde_json::json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": format!("{node}-{id}"), "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/nodes/{node}"), "verb": "get",
        "user": {"username": format!("system:node:{node}"), "groups": ["system:nodes"]},
        "userAgent": "kubelet/v1.28.0",
        "objectRef": {"resource": "nodes", "name": node, "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": t, "stageTimestamp": t,
    })
}

/// Everything the report says but whether each input was mapped.
fn without_mapped(mut v: Value) -> Value {
    for i in v["inputs"].as_array_mut().unwrap() {
        i.as_object_mut().unwrap().remove("mapped");
    }
    v
}

/// Whether each input was mapped, in the report's order.
fn mapped(v: &Value) -> Vec<bool> {
    v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["mapped"].as_bool().unwrap())
        .collect()
}

#[test]
fn a_first_document_over_a_mebibyte_is_ordered_by_its_first_event_when_streamed() {
    let events: Vec<Value> = (0..3000).map(|i| event(i, "a", 8)).collect();
    let list = serde_json::json!({
        "kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events,
    });
    // The first event is at 08:00, but the first MiB holds no whole document (a pretty-printed
    // array) or no whole line (an EventList on one line): the order must still put the file
    // before the 10:00 log.
    for text in [
        serde_json::to_string_pretty(&events).unwrap(),
        list.to_string() + "\n",
    ] {
        assert!(text.len() > 1 << 20);
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        std::fs::write(&a, &text).unwrap();
        let b = dir.path().join("b.jsonl");
        let lines: Vec<String> = (0..10).map(|i| event(i, "b", 10).to_string()).collect();
        std::fs::write(&b, lines.join("\n") + "\n").unwrap();
        let (code, m) = analyze(&[&b, &a], &[]);
        let (code_s, s) = analyze(&[&b, &a], &["--no-mmap"]);
        assert_eq!((code, code_s), (0, 0));
        let order: Vec<&str> = s["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["path"].as_str().unwrap().rsplit('/').next().unwrap())
            .collect();
        assert_eq!(order, ["a.json", "b.jsonl"]);
        assert_eq!(
            s["inputs"][0]["first_timestamp"],
            "2024-01-01T08:00:00.000000Z"
        );
        assert_eq!(s["kubelet_requests"], 3010);
        assert_eq!((mapped(&m), mapped(&s)), (vec![true; 2], vec![false; 2]));
        assert_eq!(without_mapped(m), without_mapped(s));
    }
}

#[test]
fn a_line_over_the_limit_and_a_block_is_counted_and_reported_alike_when_streamed() {
    // Lines over the 4 MiB block the stream reads are dropped unbuffered: one ending inside a
    // block, one ending exactly at a block's end, and a last one without a newline.
    let block = 4 << 20;
    let first = event(1, "n", 8).to_string() + "\n";
    // Its newline is the last byte of the second block read.
    let long_at_end = "z".repeat(2 * block - first.len() - 1) + "\n";
    let long = format!("{{\"kind\":\"Event\",\"x\":\"{}\"}}\n", "y".repeat(5 << 20));
    let text = format!(
        "{first}{long_at_end}{}\n{long}{}\n{}",
        event(2, "n", 8),
        event(3, "n", 9),
        "w".repeat(5 << 20)
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    std::fs::write(&log, &text).unwrap();
    let limit = ["--max-line-bytes", "1000"];
    let (_, m) = analyze(&[&log], &limit);
    let (_, s) = analyze(&[&log], &[&limit[..], &["--no-mmap"]].concat());
    assert_eq!(s["inputs"][0]["bytes"], text.len());
    assert_eq!(s["bad"]["counts"]["line_too_long"], 3);
    assert_eq!(
        s["bad"]["examples"][1]["reason"],
        format!(
            "line of {} bytes is longer than the limit of 1000 bytes",
            long.len() - 1
        )
    );
    assert_eq!(s["kubelet_requests"], 3);
    assert_eq!(without_mapped(m), without_mapped(s));
}

#[test]
fn the_last_timestamp_comes_from_the_last_lines_when_streamed() {
    // The last line is an event the pre-filter skips, 100 KiB long: only the look at the last
    // lines finds its time, in a stream as in a map. Then a last block of lines without a
    // time, after the events.
    let dir = tempfile::tempdir().unwrap();
    let mut last = event(59, "admin", 10);
    last["user"] = serde_json::json!({"username": "admin"});
    last["userAgent"] = serde_json::json!("kubectl");
    last["requestURI"] = serde_json::json!(format!("/x?{}", "q".repeat(100 << 10)));
    let lines: Vec<String> = (0..20).map(|i| event(i, "n", 8).to_string()).collect();
    let skipped = dir.path().join("skipped.log");
    std::fs::write(&skipped, lines.join("\n") + "\n" + &last.to_string() + "\n").unwrap();
    let padded = dir.path().join("padded.log");
    let padding: Vec<String> = (0..60)
        .map(|i| format!("{{\"pad\":\"{i}{}\"}}", "p".repeat(70_000)))
        .collect();
    std::fs::write(
        &padded,
        lines.join("\n") + "\n" + &padding.join("\n") + "\n",
    )
    .unwrap();
    // A line over the limit is one of the hundred last lines a mapped read looks at: here the
    // admin event's line is the hundred-and-first from the end, out of sight both ways.
    let dropped = dir.path().join("dropped.log");
    let mut with_long = lines.join("\n") + "\n" + &last.to_string() + "\n";
    with_long += &("x".repeat(5 << 20) + "\n");
    with_long += &"\n".repeat(99);
    std::fs::write(&dropped, &with_long).unwrap();
    for (log, want, extra) in [
        (&skipped, "2024-01-01T10:00:59.000000Z", &[][..]),
        (&padded, "2024-01-01T08:00:19.000000Z", &[]),
        (
            &dropped,
            "2024-01-01T08:00:19.000000Z",
            &["--max-line-bytes", "200000"],
        ),
    ] {
        let (_, m) = analyze(&[log], extra);
        let (_, s) = analyze(&[log], &[extra, &["--no-mmap"]].concat());
        assert_eq!(s["inputs"][0]["last_timestamp"], want, "{}", log.display());
        assert_eq!(without_mapped(m), without_mapped(s), "{}", log.display());
    }
}

#[test]
fn a_file_of_text_before_its_events_is_read_and_ordered_alike_when_streamed() {
    let dir = tempfile::tempdir().unwrap();
    // Fifty lines of text (5 MB) before events at 08:00: the streamed peek's first MiB, and
    // the stream's first 4 MiB block, see only text, as a mapped read's first hundred lines
    // do not.
    let text: Vec<String> = (0..50)
        .map(|i| format!("note {i} {}", "t".repeat(100_000)))
        .collect();
    let events: Vec<String> = (0..10).map(|i| event(i, "a", 8).to_string()).collect();
    let a = dir.path().join("a.log");
    std::fs::write(&a, text.join("\n") + "\n" + &events.join("\n") + "\n").unwrap();
    let b = dir.path().join("b.log");
    std::fs::write(&b, event(1, "b", 10).to_string() + "\n").unwrap();
    // And a file that is no log, with a line over the limit in it.
    let c = dir.path().join("c.log");
    std::fs::write(&c, format!("hello\n{}\nworld\n", "z".repeat(5 << 20))).unwrap();
    let limit = ["--max-line-bytes", "1000000"];
    let (_, m) = analyze(&[&b, &c, &a], &limit);
    let (_, s) = analyze(&[&b, &c, &a], &[&limit[..], &["--no-mmap"]].concat());
    assert_eq!(s["inputs"][0]["path"], a.display().to_string());
    assert_eq!(s["inputs"][0]["shape"], "lines");
    assert_eq!(s["nodes"]["a"]["requests"], 10);
    assert_eq!(s["bad"]["counts"]["malformed_json"], 50);
    assert_eq!(s["bad"]["counts"]["not_audit_event"], 3);
    assert_eq!(without_mapped(m), without_mapped(s));
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_reported_alike_when_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("a.log");
    std::fs::write(&good, event(1, "n", 8).to_string() + "\n").unwrap();
    // A socket has a name and metadata but cannot be opened.
    let socket = dir.path().join("s.log");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let (code, m) = analyze(&[&socket, &good], &[]);
    let (code_s, s) = analyze(&[&socket, &good], &["--no-mmap"]);
    assert_eq!((code, code_s), (0, 0));
    assert_eq!(s["bad"]["counts"]["unreadable"], 1);
    assert_eq!(s["inputs"].as_array().unwrap().len(), 1);
    assert_eq!(without_mapped(m), without_mapped(s));
    // --strict stops at it before reading anything, both ways: not at the bad line of the
    // other input.
    std::fs::write(&good, event(1, "n", 8).to_string() + "\n{\n").unwrap();
    for extra in [&["--strict"][..], &["--strict", "--no-mmap"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_nodeauthz"))
            .arg("analyze")
            .args([&socket, &good])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{extra:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("s.log:0: unreadable"), "{extra:?}: {err}");
        assert!(!err.contains("a.log"), "{extra:?}: {err}");
    }
}

#[cfg(unix)]
#[test]
fn a_named_pipe_is_read_once_and_whole() {
    // More than the MiB a peek would take, so that a peek would lose events.
    let lines: Vec<String> = (0..6000).map(|i| event(i, "p", 8).to_string()).collect();
    let text = lines.join("\n") + "\n";
    assert!(text.len() > 1 << 20);
    for extra in [&[][..], &["--no-mmap"]] {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("audit.log");
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let writer = {
            let (fifo, text) = (fifo.clone(), text.clone());
            std::thread::spawn(move || std::fs::write(fifo, text))
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_nodeauthz"))
            .arg("analyze")
            .arg(&fifo)
            .args(["--format", "json"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A pipe opened twice would hang: fail instead.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("nodeauthz {extra:?} did not finish reading the pipe");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        if !writer.is_finished() {
            // The run ended without opening the pipe: open it, so that the writer ends.
            let _reader = std::fs::File::open(&fifo);
        }
        let written = writer.join().unwrap();
        assert!(written.is_ok(), "{extra:?}: {written:?}");
        assert_eq!(out.status.code(), Some(0), "{extra:?}");
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got["inputs"][0]["bytes"], text.len(), "{extra:?}");
        assert_eq!(got["inputs"][0]["mapped"], false, "{extra:?}");
        assert_eq!(got["lines"], 6000, "{extra:?}");
        assert_eq!(got["kubelet_requests"], 6000, "{extra:?}");
        assert_eq!(got["bad_lines"], 0, "{extra:?}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn inputs_past_the_limit_of_open_files_are_opened_again_and_read_alike() {
    // Under a limit of 300 open files, fewer than the 120 inputs stay open from when they are
    // ordered: the rest are opened again by name when read.
    let dir = tempfile::tempdir().unwrap();
    for i in 0..60 {
        let lines: Vec<String> = (0..3)
            .map(|j| event(i * 3 + j, "n", 8).to_string())
            .collect();
        let path = dir.path().join(format!("audit-{i:02}.log"));
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let made = Command::new("gzip").arg("-k").arg(&path).status().unwrap();
        assert!(made.success());
    }
    let run = |limited: bool| -> Value {
        let mut c = if limited {
            let mut c = Command::new("prlimit");
            c.args(["--nofile=300:300", env!("CARGO_BIN_EXE_nodeauthz")]);
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_nodeauthz"))
        };
        let out = c
            .arg("analyze")
            .arg(dir.path())
            .args(["--no-mmap", "--format", "json"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let limited = run(true);
    assert_eq!(limited["inputs"].as_array().unwrap().len(), 120);
    assert_eq!(limited["bad_lines"], 0);
    assert_eq!(limited["events"], 360);
    assert_eq!(limited, run(false));
}

#[test]
fn blank_lines_before_the_first_line_do_not_decide_the_shape_when_streamed() {
    let dir = tempfile::tempdir().unwrap();
    // 5 MiB of blank lines, more than the stream's first block: then one pretty-printed event
    // (documents), or five lines of text (no log).
    let blank = "\n".repeat(5 << 20);
    let pretty = dir.path().join("pretty.json");
    let doc = serde_json::to_string_pretty(&event(1, "n", 8)).unwrap();
    std::fs::write(&pretty, format!("{blank}{doc}\n")).unwrap();
    let text = dir.path().join("text.log");
    std::fs::write(&text, "   \n".repeat(5 << 18) + &"some text\n".repeat(5)).unwrap();
    for (input, shape, code) in [(&pretty, "documents", 0), (&text, "not_a_log", 3)] {
        let (code_m, m) = analyze(&[input], &[]);
        let (code_s, s) = analyze(&[input], &["--no-mmap"]);
        assert_eq!((code_m, code_s), (code, code), "{}", input.display());
        assert_eq!(s["inputs"][0]["shape"], shape, "{}", input.display());
        assert_eq!(without_mapped(m), without_mapped(s), "{}", input.display());
    }
}
