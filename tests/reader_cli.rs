//! `nodeauthz analyze` end to end: exit codes, stdin, `--strict`, the table report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn nodeauthz(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nodeauthz"));
    c.args(args);
    c
}

#[test]
fn strict_stops_at_the_first_bad_line_with_exit_code_4() {
    let input = fixture("bad/malformed-json.jsonl");
    let out = nodeauthz(&["analyze", "--strict"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("malformed-json.jsonl:2: malformed_json: malformed JSON"),
        "{err}"
    );
    assert!(err.contains("(stopped by --strict)"), "{err}");
    // Without --strict the same input is fine.
    let out = nodeauthz(&["analyze"]).arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        nodeauthz(&["analyze"]).output().unwrap().status.code(),
        Some(2)
    );
    assert_eq!(
        nodeauthz(&["analyze", "x", "--format", "yaml"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        nodeauthz(&["frobnicate"]).output().unwrap().status.code(),
        Some(2)
    );
}

#[test]
fn nothing_readable_exits_3_but_one_good_input_is_enough() {
    let out = nodeauthz(&["analyze"])
        .arg(fixture("bad/empty.log"))
        .arg(fixture("bad/no-logs"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let out = nodeauthz(&["analyze", "--format", "json"])
        .arg(fixture("bad/unreadable.log"))
        .arg(fixture("formats/v1.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["bad"]["counts"]["unreadable"], 1);
    assert_eq!(j["kubelet_requests"], 6);
}

#[test]
fn reads_stdin() {
    let data = std::fs::read(fixture("formats/legacy.log")).unwrap();
    let mut child = nodeauthz(&["analyze", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["inputs"][0]["path"], "-");
    assert_eq!(
        (
            j["lines"].as_u64(),
            j["events"].as_u64(),
            j["kubelet_requests"].as_u64()
        ),
        (Some(5), Some(5), Some(3))
    );
    assert_eq!(j["nodes"]["node1"]["forbidden"], 1);
}

#[test]
fn table_report() {
    let out = nodeauthz(&["analyze"])
        .arg(fixture("formats/v1.jsonl"))
        .arg(fixture("bad/not-audit-event.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "Inputs: 2 file(s)",
        "2020-09-01T10:00:00.000000Z .. 2020-09-01T10:00:00.000000Z",
        "Lines: 16 read = 10 used + 3 skipped + 3 bad",
        "Events: 12  distinct requests: 9  kubelet requests: 6 (from 9 events)",
        "Kubelet requests per node",
        "Kubelet user agents of non-node identities",
        "Bad input: not_audit_event 3",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("node2 "))
        .unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["node2", "2", "1", "0", "1"]
    );
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("patch nodes/status"))
        .unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["patch", "nodes/status", "1", "0", "1", "0"]
    );
    assert!(
        text.contains("not-audit-event.jsonl:1: not_audit_event: not an audit event:"),
        "{text}"
    );
}

#[test]
fn a_directory_walk_reads_logs_not_cluster_dumps() {
    // The incident fixture directory holds audit.log next to objects.json (a cluster dump),
    // expected.json and YAML: only the log is read.
    let out = nodeauthz(&["analyze", "--format", "json"])
        .arg(fixture("incident-1.19"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let inputs: Vec<&str> = j["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert_eq!(inputs.len(), 1, "{inputs:?}");
    assert!(inputs[0].ends_with("incident-1.19/audit.log"), "{inputs:?}");
    assert_eq!(j["bad_lines"], 0);
}
