//! Plain files read as streams (`--no-mmap`, or files that cannot be mapped) give what a
//! mapped read gives: the same inputs in the same order with the same byte counts and first
//! timestamps, the same counts and bad lines; pipes are read once and whole.

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
fn a_line_over_the_limit_counts_its_bytes_when_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let long = format!("{{\"kind\":\"Event\",\"x\":\"{}\"}}", "y".repeat(5000));
    let text = format!("{}\n{long}\n{}\n", event(1, "n", 8), event(2, "n", 8));
    std::fs::write(&log, &text).unwrap();
    let limit = ["--max-line-bytes", "1000"];
    let (_, m) = analyze(&[&log], &limit);
    let (_, s) = analyze(&[&log], &[&limit[..], &["--no-mmap"]].concat());
    assert_eq!(s["inputs"][0]["bytes"], text.len());
    assert_eq!(s["bad"]["counts"]["line_too_long"], 1);
    assert_eq!(s["kubelet_requests"], 2);
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
    // --strict stops at it before reading anything, both ways.
    for extra in [&["--strict"][..], &["--strict", "--no-mmap"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_nodeauthz"))
            .arg("analyze")
            .args([&socket, &good])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{extra:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_named_pipe_is_read_once_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("audit.log");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // More than the MiB a peek would take, so that a peek would lose events.
    let lines: Vec<String> = (0..6000).map(|i| event(i, "p", 8).to_string()).collect();
    let text = lines.join("\n") + "\n";
    assert!(text.len() > 1 << 20);
    let writer = {
        let (fifo, text) = (fifo.clone(), text.clone());
        std::thread::spawn(move || std::fs::write(fifo, text))
    };
    let (code, got) = analyze(&[&fifo], &[]);
    writer.join().unwrap().unwrap();
    assert_eq!(code, 0);
    assert_eq!(got["inputs"][0]["bytes"], text.len());
    assert_eq!(got["inputs"][0]["mapped"], false);
    assert_eq!(got["lines"], 6000);
    assert_eq!(got["kubelet_requests"], 6000);
    assert_eq!(got["bad_lines"], 0);
}
