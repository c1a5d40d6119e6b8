//! `nodeauthz analyze --inventory-only`: the inventory alone, which must be exactly the
//! inventory of a full `analyze` of the same inputs, for every kind of input the fixtures hold.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/files.rs"]
mod files;

use cli::{incident_expected, run, stderr, BIN, ROOT};
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
            // What the fixtures say of the logs next to them, and the generator's inputs.
            let not_a_log = name.ends_with(".md")
                || name.ends_with(".py")
                || name.ends_with("expected.json")
                || name == "objects.json"
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

/// The exit code and the JSON document of a run, given `stdin` (a file under the root) on
/// its standard input.
fn json_of(args: &[&str], stdin: Option<&str>) -> (Option<i32>, Value) {
    let mut c = std::process::Command::new(BIN);
    c.current_dir(ROOT).args(args);
    if let Some(file) = stdin {
        c.stdin(std::fs::File::open(format!("{ROOT}/{file}")).expect("fixture"));
    }
    let out = c.output().expect("nodeauthz runs");
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stderr(&out)));
    (out.status.code(), doc)
}

/// A full analysis's document without its verdicts, which it must have.
fn without_verdicts(mut full: Value, what: &str) -> Value {
    let obj = full.as_object_mut().expect("a JSON object");
    for k in VERDICT_KEYS {
        assert!(obj.remove(k).is_some(), "{what}: a full analysis has {k}");
    }
    full
}

#[test]
fn the_inventory_alone_is_the_full_analysis_inventory_for_every_fixture() {
    let inputs = inputs();
    // The fixtures this test is about: a change that hides them would make it pass idly.
    assert!(inputs.len() >= 80, "{} inputs: {inputs:?}", inputs.len());
    for input in &inputs {
        let (full_code, full) = json_of(&["analyze", input, "--format", "json"], None);
        let (code, inventory) = json_of(
            &["analyze", input, "--format", "json", "--inventory-only"],
            None,
        );
        assert_eq!(code, full_code, "{input}: exit code");
        assert_eq!(inventory, without_verdicts(full, input), "{input}");
    }
}

#[test]
fn the_incident_counts_without_any_verdict() {
    let (code, doc) = json_of(
        &[
            "analyze",
            "fixtures/incident-1.19/audit.log",
            "--format",
            "json",
            "--inventory-only",
        ],
        None,
    );
    assert_eq!(code, Some(0));
    for k in VERDICT_KEYS {
        assert!(doc.get(k).is_none(), "{k} in {doc}");
    }
    // As `analyze_incident` counts them.
    let expected = incident_expected();
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
fn stdin_gives_the_full_analysis_inventory_too() {
    for file in [
        "fixtures/formats/legacy.log",
        "fixtures/formats/pretty-events.json",
        "fixtures/generated/node-rbac/audit.log",
        "fixtures/incident-1.19/audit.log",
    ] {
        let (code, alone) = json_of(
            &["analyze", "-", "--format", "json", "--inventory-only"],
            Some(file),
        );
        assert_eq!(code, Some(0), "{file}");
        let (_, full) = json_of(&["analyze", "-", "--format", "json"], Some(file));
        assert_eq!(alone, without_verdicts(full, file), "{file}");
        assert!(
            alone["kubelet_requests"].as_u64() > Some(0),
            "{file}: {alone}"
        );
    }
}

/// Every way a log records its outcome, in one request each: the decision annotation against
/// the response code (an admission refusal is `allow` with 403), the reason of an internal
/// error, a 401 and a 429 (refused before authorization), no response at all. The inventory
/// alone must classify them as the full analysis does, and as `RecordedOutcome::classify`
/// says.
#[test]
fn every_recorded_outcome_counts_as_in_a_full_analysis() {
    let event = |id: &str, verb: &str, code: Option<u16>, annotations: &str| {
        let status = code.map_or(String::new(), |c| {
            format!(r#","responseStatus":{{"code":{c}}}"#)
        });
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"{stage}","requestURI":"/api/v1/namespaces/default/configmaps/c","verb":"{verb}","user":{{"username":"system:node:n1","groups":["system:nodes"]}},"sourceIPs":["10.0.0.1"],"userAgent":"kubelet/v1.30.0","objectRef":{{"resource":"configmaps","namespace":"default","name":"c","apiVersion":"v1"}}{status},"requestReceivedTimestamp":"2026-11-02T08:00:00.000000Z","stageTimestamp":"2026-11-02T08:00:00.100000Z","annotations":{{{annotations}}}}}"#,
            stage = if code.is_some() {
                "ResponseComplete"
            } else {
                "RequestReceived"
            },
        )
    };
    let decision = |d: &str, reason: &str| {
        format!(r#""authorization.k8s.io/decision":"{d}","authorization.k8s.io/reason":"{reason}""#)
    };
    let lines = [
        // get: allowed, then forbidden by annotation whatever the code says.
        event("a1", "get", Some(200), &decision("allow", "")),
        event("a2", "get", Some(200), &decision("forbid", "no")),
        // update: admission refused it after authorization allowed it.
        event("a3", "update", Some(403), &decision("allow", "")),
        // patch: no annotation; 403, then an internal error's reason, then a plain 200.
        event("a4", "patch", Some(403), ""),
        event(
            "a5",
            "patch",
            Some(500),
            r#""authorization.k8s.io/reason":"internal error""#,
        ),
        event("a6", "patch", Some(200), ""),
        // list: refused before authorization (401, 429), and never answered: no decision
        // was recorded for any of them.
        event("a7", "list", Some(401), ""),
        event("a8", "list", Some(429), ""),
        event("a9", "list", None, ""),
    ];
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("outcomes.log");
    std::fs::write(&log, lines.join("\n") + "\n").expect("written");
    let log = log.to_str().expect("UTF-8 path");
    let (code, alone) = json_of(
        &["analyze", log, "--format", "json", "--inventory-only"],
        None,
    );
    assert_eq!(code, Some(0));
    let (_, full) = json_of(&["analyze", log, "--format", "json"], None);
    assert_eq!(alone, without_verdicts(full, log));
    let node = &alone["nodes"]["n1"];
    assert_eq!(
        [
            &node["requests"],
            &node["allowed"],
            &node["forbidden"],
            &node["no_response"]
        ],
        [9, 2, 4, 3].map(Value::from).each_ref(),
        "{node}"
    );
    let by_verb: Vec<(String, [u64; 4])> = node["by_verb_resource"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_u64().expect("a count");
            (
                r["verb"].as_str().expect("verb").to_owned(),
                [
                    n("requests"),
                    n("allowed"),
                    n("forbidden"),
                    n("no_response"),
                ],
            )
        })
        .collect();
    assert_eq!(
        by_verb,
        [
            ("get".to_owned(), [2, 1, 1, 0]),
            ("list".to_owned(), [3, 0, 0, 3]),
            ("patch".to_owned(), [3, 1, 2, 0]),
            ("update".to_owned(), [1, 0, 1, 0]),
        ]
    );
}

#[test]
fn the_read_keeps_no_object_event() {
    use nodeauthz::input::InputSpec;
    use nodeauthz::scan::{scan_collect, ScanOptions};
    let input = [InputSpec::parse(&format!(
        "{ROOT}/fixtures/incident-phases/audit.log"
    ))];
    let opts = ScanOptions {
        threads: 1,
        ..ScanOptions::default()
    };
    let (_, full) = scan_collect(&input, &opts).expect("read");
    assert!(
        !full.object_events.is_empty(),
        "the fixture logs object events"
    );
    let (inventory, summary) = nodeauthz::inventory::read(&input, &opts).expect("read");
    assert!(summary.object_events.is_empty());
    assert_eq!(summary.pod_sightings, Default::default());
    assert_eq!(
        (summary.events, summary.kubelet_requests),
        (full.events, full.kubelet_requests)
    );
    assert_eq!(inventory.kubelet_requests, full.kubelet_requests);
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
fn flags_only_a_full_analysis_uses_are_refused_with_it() {
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
