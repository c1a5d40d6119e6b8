//! A mapped input's kubelet lines that wait for their request's last event stay in the file and
//! are read from it again only when emitted: they read as from a stream, and a line the file no
//! longer holds by then is a bad line, accounted for.
#![cfg(unix)]

use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;

use nodeauthz::input::InputSpec;
use nodeauthz::scan::{scan, scan_collect, BadKind, ScanOptions, ScanSummary};

fn line(id: &str, stage: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"{stage}","requestURI":"/api/v1/secrets?watch=true","verb":"watch","user":{{"username":"system:node:n1","groups":["system:nodes"]}},"sourceIPs":["10.0.0.1"],"objectRef":{{"resource":"secrets","apiVersion":"v1"}},"responseStatus":{{"metadata":{{}},"code":200}},"requestReceivedTimestamp":"2024-01-01T00:00:00.000000Z","stageTimestamp":"2024-01-01T00:00:01.000000Z"}}"#
    )
}

fn pretty(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    serde_json::to_string_pretty(&v).unwrap()
}

/// A watch that never completes ("w1", first), then 40 requests with both stages.
fn events() -> Vec<String> {
    let mut events = vec![line("w1", "ResponseStarted")];
    for i in 0..40 {
        events.push(line(&format!("c{i:03}"), "RequestReceived"));
        events.push(line(&format!("c{i:03}"), "ResponseComplete"));
    }
    events
}

/// Scans `text`, written to a file, one line per chunk, changing the watch's auditID in the
/// file to "w2" once the first requests are handed on: after the watch's line was read, before
/// it is emitted at the end. The auditIDs emitted, and the summary.
fn scan_changed(text: &str, opts: &ScanOptions) -> (Vec<String>, ScanSummary) {
    scan_changed_to(text, opts, b"w2")
}

/// [`scan_changed`], with the watch's auditID changed to `new_id`'s bytes.
fn scan_changed_to(text: &str, opts: &ScanOptions, new_id: &[u8]) -> (Vec<String>, ScanSummary) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    std::fs::write(&path, text).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let at = text.find(r#""w1""#).unwrap() as u64 + 1;
    let mut changed = false;
    let mut ids = Vec::new();
    let summary = scan(&[InputSpec::Path(path.clone())], opts, &mut |batch| {
        if !changed {
            file.write_all_at(new_id, at).unwrap();
            changed = true;
        }
        ids.extend(batch.iter().map(|r| r.audit_id().to_string()));
        ControlFlow::Continue(())
    })
    .unwrap();
    assert!(changed);
    let s = &summary;
    assert_eq!(s.lines_read, s.lines_used + s.lines_skipped + s.lines_bad);
    (ids, summary)
}

#[test]
fn a_line_changed_in_its_file_before_it_is_read_again_is_a_bad_line() {
    let text = events().join("\n") + "\n";
    let opts = ScanOptions {
        threads: 1,
        chunk_size: 1,
        ..ScanOptions::default()
    };
    for prefilter in [true, false] {
        let opts = ScanOptions {
            prefilter,
            ..opts.clone()
        };
        let (ids, s) = scan_changed(&text, &opts);
        assert_eq!(ids.len(), 40, "prefilter {prefilter}");
        assert!(!ids.iter().any(|id| id.starts_with('w')));
        assert_eq!((s.lines_read, s.lines_used, s.lines_bad), (81, 80, 1));
        assert_eq!(s.bad.counts.get(&BadKind::ChangedWhileRead), Some(&1));
        assert_eq!(s.bad.counts.len(), 1);
        let example = &s.bad.examples[0];
        assert_eq!(
            (example.kind, example.line, example.reason.as_str()),
            (
                BadKind::ChangedWhileRead,
                1,
                "the line read again is another event"
            )
        );
        assert_eq!(s.kubelet_requests, 40);
    }
    // Copied out of its chunk (under --strict, streamed, pretty-printed), the line reads as it
    // was read.
    let pretty_text = events()
        .iter()
        .map(|l| pretty(l))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    for (why, text, opts) in [
        (
            "strict",
            &text,
            ScanOptions {
                strict: true,
                ..opts.clone()
            },
        ),
        (
            "streamed",
            &text,
            ScanOptions {
                mmap: false,
                ..opts.clone()
            },
        ),
        ("pretty-printed", &pretty_text, opts.clone()),
    ] {
        let (ids, s) = scan_changed(text, &opts);
        assert_eq!(ids.len(), 41, "{why}");
        assert_eq!(ids.last().map(String::as_str), Some("w1"), "{why}");
        assert_eq!(s.lines_bad, 0, "{why}");
        assert_eq!(s.kubelet_requests, 41, "{why}");
    }
}

#[test]
fn a_line_no_longer_utf8_in_its_file_is_a_bad_line_that_says_where() {
    let text = events().join("\n") + "\n";
    // The watch's line is the first: its auditID's first byte is at this index of it.
    let at = text.find(r#""w1""#).unwrap() + 1;
    for prefilter in [true, false] {
        let opts = ScanOptions {
            threads: 1,
            chunk_size: 1,
            prefilter,
            ..ScanOptions::default()
        };
        let (ids, s) = scan_changed_to(&text, &opts, b"\xff1");
        assert_eq!(ids.len(), 40, "prefilter {prefilter}");
        assert_eq!((s.lines_read, s.lines_used, s.lines_bad), (81, 80, 1));
        assert_eq!(s.bad.counts.get(&BadKind::ChangedWhileRead), Some(&1));
        let example = &s.bad.examples[0];
        assert_eq!(
            (example.kind, example.line, example.reason.clone()),
            (
                BadKind::ChangedWhileRead,
                1,
                format!(
                    "the line read again is not UTF-8: invalid utf-8 sequence of 1 bytes \
                     from index {at}"
                )
            )
        );
    }
}

/// Pending lines emitted at the end (two watches and a request without a response) read the
/// same from a mapped file as from a stream, with a byte order mark, `\r\n` line ends, a last
/// line without its newline, pretty-printed events, and chunks of a line, a few lines or all.
#[test]
fn lines_read_again_from_a_mapped_file_read_as_from_a_stream() {
    let mut events = vec![line("w1", "ResponseStarted"), line("r1", "RequestReceived")];
    for i in 0..20 {
        events.push(line(&format!("c{i:03}"), "RequestReceived"));
        events.push(line(&format!("c{i:03}"), "ResponseComplete"));
    }
    events.push(line("w9", "ResponseStarted"));
    let pretty_events: Vec<String> = events.iter().map(|l| pretty(l)).collect();
    let dir = tempfile::tempdir().unwrap();
    for bom in [false, true] {
        for crlf in [false, true] {
            for last_newline in [false, true] {
                for pretty_printed in [false, true] {
                    let sep = if crlf { "\r\n" } else { "\n" };
                    let mut text = if pretty_printed {
                        pretty_events.join(sep)
                    } else {
                        events.join(sep)
                    };
                    if last_newline {
                        text.push_str(sep);
                    }
                    if bom {
                        text.insert(0, '\u{feff}');
                    }
                    let path = dir.path().join("audit.log");
                    std::fs::write(&path, &text).unwrap();
                    for chunk_size in [1, 300, 1 << 20] {
                        let why = format!(
                            "bom {bom}, crlf {crlf}, last newline {last_newline}, \
                             pretty {pretty_printed}, chunk {chunk_size}"
                        );
                        let mapped = ScanOptions {
                            chunk_size,
                            threads: 2,
                            ..ScanOptions::default()
                        };
                        let streamed = ScanOptions {
                            mmap: false,
                            ..mapped.clone()
                        };
                        let input = [InputSpec::Path(path.clone())];
                        let (a, sa) = scan_collect(&input, &mapped).unwrap();
                        let (b, sb) = scan_collect(&input, &streamed).unwrap();
                        assert!(sa.inputs[0].mapped && !sb.inputs[0].mapped, "{why}");
                        assert_eq!(a, b, "{why}");
                        let counts = |s: &ScanSummary| {
                            (s.lines_read, s.lines_used, s.lines_skipped, s.lines_bad)
                        };
                        assert_eq!(counts(&sa), counts(&sb), "{why}");
                        assert_eq!(sa.lines_bad, 0, "{why}");
                        let ids: Vec<&str> = a.iter().map(|r| r.audit_id.as_str()).collect();
                        assert_eq!(ids.len(), 23, "{why}");
                        for id in ["w1", "r1", "w9"] {
                            assert!(ids.contains(&id), "{why}: {ids:?}");
                        }
                    }
                }
            }
        }
    }
}
