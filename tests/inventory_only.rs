//! `nodeauthz analyze --inventory-only`: the inventory alone, which must be exactly the
//! inventory of a full `analyze` of the same inputs, for every kind of input the fixtures hold.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/files.rs"]
mod files;

use cli::{ok_json, run, stderr, BIN, ROOT};
use files::files_under;
use serde_json::Value;
use std::path::Path;

/// The keys of a full `analyze --format json` that are not the inventory's.
const VERDICT_KEYS: [&str; 3] = ["summary", "comparison", "problems"];

/// Every audit input among the fixtures: one per format and bad-input kind, the generated and
/// incident logs, and the real logs written by other people.
fn inputs() -> Vec<String> {
    let mut all = Vec::new();
    for dir in ["formats", "bad", "generated", "real-logs"] {
        for path in files_under(&Path::new(ROOT).join("fixtures").join(dir)) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let not_a_log = name.ends_with(".md")
                || name.ends_with(".py")
                || name == "truth.jsonl"
                || name == "demo-policy.yaml";
            if !not_a_log {
                let rel = path.strip_prefix(ROOT).expect("under the root");
                all.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    all.extend(
        [
            "fixtures/formats/rotated",
            "fixtures/bad/no-logs",
            "fixtures/incident-1.19/audit.log",
            "fixtures/incident-phases/audit.log",
            "fixtures/analyze/two-days-bad-lines.log",
        ]
        .map(String::from),
    );
    all.sort();
    all
}

fn json_of(args: &[&str]) -> (Option<i32>, Value) {
    let out = run(args);
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stderr(&out)));
    (out.status.code(), doc)
}

#[test]
fn the_inventory_alone_is_the_full_analysis_inventory_for_every_fixture() {
    let inputs = inputs();
    // The fixtures this test is about: a change that hides them would make it pass idly.
    assert!(inputs.len() >= 40, "{} inputs: {inputs:?}", inputs.len());
    for input in &inputs {
        let (full_code, mut full) = json_of(&["analyze", input, "--format", "json"]);
        let (code, inventory) =
            json_of(&["analyze", input, "--format", "json", "--inventory-only"]);
        assert_eq!(code, full_code, "{input}: exit code");
        let obj = full.as_object_mut().expect("a JSON object");
        for k in VERDICT_KEYS {
            assert!(obj.remove(k).is_some(), "{input}: a full analysis has {k}");
        }
        assert_eq!(inventory, full, "{input}");
    }
}

#[test]
fn the_incident_counts_without_any_verdict() {
    let (code, doc) = json_of(&[
        "analyze",
        "fixtures/incident-1.19/audit.log",
        "--format",
        "json",
        "--inventory-only",
    ]);
    assert_eq!(code, Some(0));
    for k in VERDICT_KEYS {
        assert!(doc.get(k).is_none(), "{k} in {doc}");
    }
    // As `analyze_incident` counts them (fixtures/incident-1.19/expected.json).
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/fixtures/incident-1.19/expected.json"))
            .expect("expected.json"),
    )
    .expect("expected.json is JSON");
    for k in ["lines", "events", "requests", "kubelet_requests"] {
        assert_eq!(doc[k], expected[k], "{k}");
    }
    assert_eq!(doc["kubelet_requests"], 706);
    let nodes = doc["nodes"].as_object().expect("nodes");
    assert_eq!(
        nodes.keys().map(String::as_str).collect::<Vec<_>>(),
        ["node1", "node2", "node3"]
    );
    for (node, want) in expected["nodes"].as_object().expect("nodes") {
        for k in ["requests", "allowed", "forbidden", "no_response"] {
            assert_eq!(doc["nodes"][node][k], want[k], "{node} {k}");
        }
    }
    assert_eq!(doc["bad_lines"], 0);
}

#[test]
fn the_table_is_the_full_analysis_table_up_to_its_verdicts() {
    for input in [
        "fixtures/formats/v1.jsonl",
        "fixtures/incident-1.19/audit.log",
        "fixtures/formats/rotated",
    ] {
        let full = run(&["analyze", input]);
        let alone = run(&["analyze", input, "--inventory-only"]);
        assert_eq!(full.status.code(), Some(0), "{input}: {}", stderr(&full));
        assert_eq!(alone.status.code(), Some(0), "{input}: {}", stderr(&alone));
        let full = String::from_utf8(full.stdout).expect("UTF-8");
        let alone = String::from_utf8(alone.stdout).expect("UTF-8");
        let (inventory, verdicts) = full
            .split_once("\nnodeauthz report (target: ")
            .expect("the full report has its verdicts");
        assert!(verdicts.contains("Per node"), "{verdicts}");
        assert_eq!(alone, inventory, "{input}");
        assert!(alone.contains("Kubelet requests per node"), "{alone}");
    }
}

#[test]
fn reads_stdin_and_gzip_like_a_full_analysis() {
    let gz = "fixtures/generated/node-rbac/audit.log.gz";
    let (code, from_gz) = json_of(&["analyze", gz, "--format", "json", "--inventory-only"]);
    assert_eq!(code, Some(0));
    let (_, plain) = json_of(&[
        "analyze",
        "fixtures/generated/node-rbac/audit.log",
        "--format",
        "json",
        "--inventory-only",
    ]);
    assert_eq!(from_gz["nodes"], plain["nodes"]);
    assert_eq!(from_gz["kubelet_requests"], plain["kubelet_requests"]);
    assert!(plain["kubelet_requests"].as_u64() > Some(100), "{plain}");

    let out = std::process::Command::new(BIN)
        .current_dir(ROOT)
        .args(["analyze", "-", "--format", "json", "--inventory-only"])
        .stdin(std::fs::File::open(format!("{ROOT}/fixtures/formats/legacy.log")).expect("fixture"))
        .output()
        .expect("nodeauthz runs");
    let from_stdin = ok_json(&out);
    let (_, from_file) = json_of(&[
        "analyze",
        "fixtures/formats/legacy.log",
        "--format",
        "json",
        "--inventory-only",
    ]);
    assert_eq!(from_stdin["nodes"], from_file["nodes"]);
    assert_eq!(
        from_stdin["kubelet_requests"],
        from_file["kubelet_requests"]
    );
}

#[test]
fn strict_and_nothing_read_keep_their_exit_codes() {
    let out = run(&[
        "analyze",
        "fixtures/bad/malformed-json.jsonl",
        "--strict",
        "--inventory-only",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("malformed-json.jsonl:2: malformed_json: malformed JSON"),
        "{}",
        stderr(&out)
    );
    let out = run(&["analyze", "fixtures/bad/empty.log", "--inventory-only"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn arguments_that_shape_verdicts_are_refused_with_it() {
    for extra in [
        &["--out", "target/never-written"][..],
        &["--objects", "fixtures/incident-1.19/objects.json"],
        &["--authorization-mode", "RBAC"],
        &["--legacy-binding"],
        &["--compare", "RBAC"],
        &["--recorded-authorization-mode", "RBAC"],
        &["--node", "node1"],
        &["--since", "2020-09-01T10:00:00Z"],
        &["--fail-on", "forbidden"],
        &["--spill-dir", "/tmp"],
    ] {
        let mut args = vec!["analyze", "fixtures/formats/v1.jsonl", "--inventory-only"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("'--inventory-only' cannot be used with"),
            "{extra:?}: {}",
            stderr(&out)
        );
    }
    assert!(!Path::new(ROOT).join("target/never-written").exists());
    for format in ["jsonl", "markdown"] {
        let out = run(&[
            "analyze",
            "fixtures/formats/v1.jsonl",
            "--inventory-only",
            "--format",
            format,
        ]);
        assert_eq!(out.status.code(), Some(2), "{format}");
        assert_eq!(
            stderr(&out),
            "nodeauthz: --inventory-only prints a table or JSON (--format table|json)\n"
        );
        assert!(out.stdout.is_empty(), "{format}");
    }
}
