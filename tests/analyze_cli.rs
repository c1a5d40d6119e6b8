//! The `analyze` command line: `--fail-on` exit codes, `--node`/`--since`/`--until` filters,
//! output formats, `--compare`, `--drop-binding` with `--legacy-binding`, and bad input lines.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

#[path = "support/cli.rs"]
mod cli;
use cli::{incident, map, ok_json, ok_rows, run, stderr, ROOT};

const LOG: &str = "fixtures/incident-1.19/audit.log";
const OBJECTS: &str = "fixtures/incident-1.19/objects.json";
const LEGACY_OBJECT: &str = "fixtures/analyze/legacy-system-node-binding.json";
/// 8 kubelet requests of node1 (4 on 2021-11-23, 4 on 2021-11-24) around two bad lines
/// (lines 4 and 9); see fixtures/analyze/README.md.
const BAD_LINES_LOG: &str = "fixtures/analyze/two-days-bad-lines.log";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn verdicts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .expect("object of counts")
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().expect("count")))
        .collect()
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

// --fail-on ------------------------------------------------------------------------------

/// Default target on the incident: 6 indeterminate, nothing else non-allowed.
#[test]
fn fail_on_indeterminate_and_not_the_others() {
    assert_eq!(code(&incident(&["--fail-on", "indeterminate"])), Some(13));
    for v in ["would_break", "forbidden", "relies_on_rbac"] {
        let o = incident(&["--fail-on", v]);
        assert_eq!(code(&o), Some(0), "--fail-on {v}: {}", stderr(&o));
    }
}

/// Under RBAC alone every request is forbidden.
#[test]
fn fail_on_forbidden() {
    let o = incident(&["--authorization-mode", "RBAC", "--fail-on", "forbidden"]);
    assert_eq!(code(&o), Some(11), "{}", stderr(&o));
    // The report is still printed.
    assert!(stdout(&o).contains("Readiness: "));
}

/// With the legacy binding in the dump, under RBAC, the requests rely on it.
#[test]
fn fail_on_relies_on_rbac() {
    let o = run(&[
        "analyze",
        LOG,
        "--objects",
        OBJECTS,
        LEGACY_OBJECT,
        "--authorization-mode",
        "RBAC",
        "--fail-on",
        "relies_on_rbac",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), Some(12), "{}", stderr(&o));
}

/// The generated legacy-binding log recorded allowed requests that Node,RBAC refuses (the
/// injected ones: another node's Node and lease, cluster-wide secret and pod lists).
#[test]
fn fail_on_would_break() {
    let o = run(&[
        "analyze",
        "fixtures/generated/legacy-binding/audit.log",
        "--objects",
        "fixtures/generated/objects.json",
        "--fail-on",
        "would_break",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), Some(10), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert!(doc["summary"]["totals"]["by_change"]["would_break"].as_u64() > Some(0));
}

/// Several `--fail-on`: the first that matches, in the order given, decides.
#[test]
fn fail_on_several_values() {
    let o = incident(&["--fail-on", "forbidden", "--fail-on", "indeterminate"]);
    assert_eq!(code(&o), Some(13));
    let o = incident(&[
        "--authorization-mode",
        "RBAC",
        "--fail-on",
        "forbidden",
        "--fail-on",
        "indeterminate",
    ]);
    assert_eq!(code(&o), Some(11));
}

#[test]
fn fail_on_bad_value_is_a_usage_error() {
    let o = incident(&["--fail-on", "sometimes"]);
    assert_eq!(code(&o), Some(2));
    assert!(
        stderr(&o).contains("--fail-on \"sometimes\""),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
}

// Filters --------------------------------------------------------------------------------

/// (node, requestReceivedTimestamp) of every kubelet request, read straight from the log
/// (first event of each auditID; all stages of a request carry the same received time).
fn kubelet_requests_in_log() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("{ROOT}/{LOG}")).expect("audit.log");
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let e: Value = serde_json::from_str(line).expect("fixture line is JSON");
        let user = e["user"]["username"].as_str().expect("username");
        let Some(node) = user.strip_prefix("system:node:") else {
            continue;
        };
        let id = e["auditID"].as_str().expect("auditID").to_owned();
        if seen.insert(id) {
            let t = e["requestReceivedTimestamp"].as_str().expect("time");
            // Same fixed-width UTC form everywhere, so strings compare as times.
            assert_eq!((t.len(), t.ends_with('Z')), (27, true), "{t}");
            out.push((node.to_owned(), t.to_owned()));
        }
    }
    out
}

#[test]
fn node_filter_exact_counts() {
    let rows = ok_rows(&incident(&["--node", "node2", "--format", "jsonl"]));
    assert_eq!(rows.len(), 235);
    assert!(rows.iter().all(|r| r["node"] == "node2"));
    let rows = ok_rows(&incident(&[
        "--node", "node1", "--node", "node3", "--format", "jsonl",
    ]));
    assert_eq!(rows.len(), 235 + 236);
    let doc = ok_json(&incident(&["--node", "node3", "--format", "json"]));
    assert_eq!(doc["summary"]["totals"]["requests"], 236);
    // The inventory is of the whole log: the filter chooses what is decided, not what was read.
    assert_eq!(doc["kubelet_requests"], 706);
    for (node, requests) in [("node1", 235), ("node2", 235), ("node3", 236)] {
        assert_eq!(doc["nodes"][node]["requests"], requests, "{node}");
    }
    let rows = ok_rows(&incident(&["--node", "node9", "--format", "jsonl"]));
    assert_eq!(rows.len(), 0);
}

/// `--since` is inclusive, `--until` exclusive (RFC 3339); counts from the log itself.
#[test]
fn since_until_filters_exact_counts() {
    let all = kubelet_requests_in_log();
    assert_eq!(all.len(), 706);
    let since = "2021-11-23T09:01:00.000000Z";
    let until = "2021-11-23T09:03:30.000000Z";
    let after = all.iter().filter(|(_, t)| t.as_str() >= since).count();
    let before = all.iter().filter(|(_, t)| t.as_str() < until).count();
    let between = all
        .iter()
        .filter(|(_, t)| t.as_str() >= since && t.as_str() < until)
        .count();
    let node1_between = all
        .iter()
        .filter(|(n, t)| n == "node1" && t.as_str() >= since && t.as_str() < until)
        .count();
    assert!(0 < between && between < after && after < 706 && before < 706);

    let n = |extra: &[&str]| {
        let mut a = extra.to_vec();
        a.extend(["--format", "jsonl"]);
        ok_rows(&incident(&a)).len()
    };
    assert_eq!(n(&["--since", "2021-11-23T09:01:00Z"]), after);
    assert_eq!(n(&["--until", "2021-11-23T09:03:30Z"]), before);
    assert_eq!(
        n(&[
            "--since",
            "2021-11-23T09:01:00Z",
            "--until",
            "2021-11-23T09:03:30Z"
        ]),
        between
    );
    assert_eq!(
        n(&[
            "--since",
            "2021-11-23T09:01:00Z",
            "--until",
            "2021-11-23T09:03:30Z",
            "--node",
            "node1"
        ]),
        node1_between
    );
    // Offsets other than Z denote the same instant.
    assert_eq!(n(&["--since", "2021-11-23T10:01:00+01:00"]), after);
    // The inventory still counts every request read, node by node.
    let doc = ok_json(&incident(&[
        "--since",
        "2021-11-23T09:01:00Z",
        "--format",
        "json",
    ]));
    assert_eq!(doc["summary"]["totals"]["requests"], after);
    let nodes = doc["nodes"].as_object().expect("nodes");
    let inventoried: u64 = nodes
        .values()
        .map(|n| n["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(inventoried, 706);
}

/// The boundary: a request exactly at `--since` is kept, exactly at `--until` is not.
#[test]
fn since_is_inclusive_and_until_exclusive() {
    let all = kubelet_requests_in_log();
    let (_, t) = &all[100];
    let at = all.iter().filter(|(_, u)| u == t).count();
    let from = all.iter().filter(|(_, u)| u >= t).count();
    let rows = ok_rows(&incident(&["--since", t, "--format", "jsonl"]));
    assert_eq!(rows.len(), from);
    let rows = ok_rows(&incident(&["--until", t, "--format", "jsonl"]));
    assert_eq!(rows.len(), 706 - from);
    assert!(at >= 1);
}

#[test]
fn bad_time_is_a_usage_error() {
    let o = incident(&["--since", "yesterday"]);
    assert_eq!(code(&o), Some(2));
    assert!(stderr(&o).contains("--since"), "{}", stderr(&o));
}

// Formats --------------------------------------------------------------------------------

const NOT_SAFE_LINE: &str = "not safe to remove ClusterRoleBinding system:node: 706 requests relied on it (435 get nodes, 139 get leases, 39 list pods, 38 list services, 37 list nodes, and 6 more)";

fn legacy_in_dump(format: &str) -> Output {
    run(&[
        "analyze",
        LOG,
        "--objects",
        OBJECTS,
        LEGACY_OBJECT,
        "--authorization-mode",
        "RBAC",
        "--format",
        format,
    ])
}

#[test]
fn table_and_markdown_carry_the_readiness_line() {
    let o = legacy_in_dump("table");
    assert_eq!(code(&o), Some(0));
    let text = stdout(&o);
    assert!(
        text.lines()
            .any(|l| l.trim() == format!("Readiness: {NOT_SAFE_LINE}")),
        "{text}"
    );
    let o = legacy_in_dump("markdown");
    assert_eq!(code(&o), Some(0));
    let md = stdout(&o);
    assert!(md.contains(NOT_SAFE_LINE), "{md}");
    assert!(md.contains("legacy_system_node_binding"), "{md}");
    assert!(md.lines().any(|l| l.starts_with('#')), "{md}");
    let doc = ok_json(&legacy_in_dump("json"));
    assert_eq!(doc["summary"]["readiness"]["line"], NOT_SAFE_LINE);
}

#[test]
fn bad_format_is_a_usage_error() {
    assert_eq!(code(&incident(&["--format", "xml"])), Some(2));
}

// --compare ------------------------------------------------------------------------------

/// RBAC alone: the bootstrap system:node binding has no subjects (spec 9.2), all refused.
/// RBAC + legacy binding: everything the kubelets send here is in system:node's rules
/// (spec 8 rows 3-5, 8, 16), NodeRestriction still needs the bodies of 6. Node,RBAC: the
/// default target.
#[test]
fn compare_three_scenarios() {
    let doc = ok_json(&incident(&[
        "--format",
        "json",
        "--compare",
        "RBAC",
        "RBAC+binding:system:node",
        "Node,RBAC",
    ]));
    let cols = doc["comparison"]["columns"].as_array().expect("columns");
    assert_eq!(cols.len(), 3);
    let want = [
        (
            "RBAC",
            [
                ("allowed_by_node", 0),
                ("relies_on_rbac", 0),
                ("forbidden", 706),
                ("indeterminate", 0),
            ],
            [
                ("would_break", 0),
                ("fixed_by_target", 0),
                ("unchanged", 706),
            ],
        ),
        (
            "RBAC+binding:system:node",
            [
                ("allowed_by_node", 0),
                ("relies_on_rbac", 700),
                ("forbidden", 0),
                ("indeterminate", 6),
            ],
            [
                ("would_break", 0),
                ("fixed_by_target", 699),
                ("unchanged", 7),
            ],
        ),
        (
            "Node,RBAC",
            [
                ("allowed_by_node", 700),
                ("relies_on_rbac", 0),
                ("forbidden", 0),
                ("indeterminate", 6),
            ],
            [
                ("would_break", 0),
                ("fixed_by_target", 699),
                ("unchanged", 7),
            ],
        ),
    ];
    for (col, (label, by_verdict, by_change)) in cols.iter().zip(want) {
        assert_eq!(col["scenario"], label);
        assert_eq!(col["totals"]["requests"], 706, "{label}");
        assert_eq!(
            verdicts(&col["totals"]["by_verdict"]),
            map(&by_verdict),
            "{label}"
        );
        assert_eq!(
            verdicts(&col["totals"]["by_change"]),
            map(&by_change),
            "{label}"
        );
    }
    // The target itself is unchanged by --compare.
    assert_eq!(
        verdicts(&doc["summary"]["totals"]["by_verdict"]),
        map(&want[2].1)
    );
}

#[test]
fn compare_bad_modifier_is_a_usage_error() {
    let o = incident(&["--compare", "RBAC+nonsense"]);
    assert_eq!(code(&o), Some(2));
    assert!(stderr(&o).contains("nonsense"), "{}", stderr(&o));
}

// --drop-binding -------------------------------------------------------------------------

/// `--legacy-binding` adds Group system:nodes to ClusterRoleBinding system:node;
/// `--drop-binding clusterrolebinding/system:node` then removes that binding altogether: under
/// RBAC nothing allows the kubelets any more (as with neither flag), whatever the flag order.
#[test]
fn drop_binding_undoes_legacy_binding() {
    for args in [
        [
            "--legacy-binding",
            "--drop-binding",
            "clusterrolebinding/system:node",
        ],
        [
            "--drop-binding",
            "clusterrolebinding/system:node",
            "--legacy-binding",
        ],
    ] {
        let mut a = vec!["--authorization-mode", "RBAC", "--format", "json"];
        a.extend(args);
        let doc = ok_json(&incident(&a));
        assert_eq!(
            verdicts(&doc["summary"]["totals"]["by_verdict"]),
            map(&[
                ("allowed_by_node", 0),
                ("relies_on_rbac", 0),
                ("forbidden", 706),
                ("indeterminate", 0)
            ]),
            "{args:?}"
        );
        assert_eq!(doc["summary"]["bindings_relied_on"], serde_json::json!([]));
    }
}

/// Dropping the legacy binding that the cluster dump holds: the target Node,RBAC no longer
/// relies on it, and the requests are allowed by the Node authorizer instead.
#[test]
fn drop_binding_from_the_dump() {
    let doc = ok_json(&run(&[
        "analyze",
        LOG,
        "--objects",
        OBJECTS,
        LEGACY_OBJECT,
        "--authorization-mode",
        "RBAC",
        "--drop-binding",
        "clusterrolebinding/system:node",
        "--format",
        "json",
    ]));
    assert_eq!(
        verdicts(&doc["summary"]["totals"]["by_verdict"]),
        map(&[
            ("allowed_by_node", 0),
            ("relies_on_rbac", 0),
            ("forbidden", 706),
            ("indeterminate", 0)
        ])
    );
    let doc = ok_json(&run(&[
        "analyze",
        LOG,
        "--objects",
        OBJECTS,
        LEGACY_OBJECT,
        "--drop-binding",
        "clusterrolebinding/system:node",
        "--format",
        "json",
    ]));
    assert_eq!(
        verdicts(&doc["summary"]["totals"]["by_verdict"]),
        map(&[
            ("allowed_by_node", 700),
            ("relies_on_rbac", 0),
            ("forbidden", 0),
            ("indeterminate", 6)
        ])
    );
}

#[test]
fn drop_binding_bad_syntax_is_a_usage_error() {
    let o = incident(&["--drop-binding", "system:node"]);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
}

/// Dropping a binding the policy does not have is a mistake worth stopping for.
#[test]
fn drop_binding_unknown_binding_is_a_usage_error() {
    let o = incident(&["--drop-binding", "clusterrolebinding/no-such-binding"]);
    assert_eq!(code(&o), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no-such-binding"), "{}", stderr(&o));
}

// Bad input ------------------------------------------------------------------------------

/// Two bad lines are counted, named by file and line, and every good request still gets its
/// verdict (the node1 requests of the incident: own status patch indeterminate, the rest
/// allowed by the Node authorizer).
#[test]
fn bad_lines_do_not_stop_the_analysis() {
    let args = ["analyze", BAD_LINES_LOG, "--objects", OBJECTS];
    let rows = ok_rows(&run(&[&args[..], &["--format", "jsonl"]].concat()));
    assert_eq!(rows.len(), 8);
    let mut got: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                format!(
                    "{} {}{}",
                    r["verb"].as_str().unwrap_or_default(),
                    r["resource"].as_str().unwrap_or_default(),
                    match r["subresource"].as_str().unwrap_or_default() {
                        "" => String::new(),
                        s => format!("/{s}"),
                    }
                ),
                r["verdict"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = [
        ("get leases", "allowed_by_node"),
        ("list nodes", "allowed_by_node"),
        ("list services", "allowed_by_node"),
        ("patch nodes/status", "indeterminate"),
        ("update leases", "allowed_by_node"),
        ("watch nodes", "allowed_by_node"),
        ("watch pods", "allowed_by_node"),
        ("watch services", "allowed_by_node"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    want.sort();
    assert_eq!(got, want);

    let doc = ok_json(&run(&[&args[..], &["--format", "json"]].concat()));
    assert_eq!(doc["lines"], 22);
    assert_eq!(doc["bad_lines"], 2);
    let lines: Vec<(String, u64)> = doc["bad"]["examples"]
        .as_array()
        .expect("examples")
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap_or_default().to_owned(),
                e["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [(BAD_LINES_LOG.to_owned(), 4), (BAD_LINES_LOG.to_owned(), 9)]
    );
    assert_eq!(doc["summary"]["totals"]["requests"], 8);
}

#[test]
fn strict_stops_at_the_first_bad_line() {
    let o = run(&["analyze", BAD_LINES_LOG, "--objects", OBJECTS, "--strict"]);
    assert_eq!(code(&o), Some(4));
    assert!(
        stderr(&o).contains(&format!("{BAD_LINES_LOG}:4")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn nothing_read_exits_3() {
    let o = run(&["analyze", "fixtures/bad/empty.log", "--format", "json"]);
    assert_eq!(code(&o), Some(3), "{}", stderr(&o));
}

#[test]
fn dedup_window_counts_adjacent_events_once_and_rejects_zero() {
    // The incident's events of one request are neighbours: a window of 5 requests is enough.
    let v = ok_json(&incident(&["--format", "json", "--dedup-window", "5"]));
    assert_eq!(
        (v["requests"].as_u64(), v["kubelet_requests"].as_u64()),
        (Some(836), Some(706))
    );
    // A window of one request cannot pair a request's events that have another between them:
    // the count of all requests grows. Kubelet events are first paired inside their 4 MiB
    // chunk (the whole log here), so the kubelet count does not (tests/reader_window.rs cuts
    // the log into one-line chunks to see the window there).
    let v = ok_json(&incident(&["--format", "json", "--dedup-window", "1"]));
    assert_eq!(
        (v["requests"].as_u64(), v["kubelet_requests"].as_u64()),
        (Some(906), Some(706))
    );
    let o = incident(&["--dedup-window", "0"]);
    assert_eq!(code(&o), Some(2));
    assert!(stderr(&o).contains("--dedup-window"), "{}", stderr(&o));
}

// --spill-dir ----------------------------------------------------------------------------

/// Requests wait in the spill directory; the rows do not depend on which one it is, and one
/// that cannot be written to stops the run with exit code 1 and a message naming it.
#[test]
fn spill_dir_is_used_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let base = ["analyze", LOG, "--objects", OBJECTS, "--format", "jsonl"];
    let default_rows = ok_rows(&run(&base));
    // The incident's 706 kubelet requests (fixtures/incident-1.19/README.md).
    assert_eq!(default_rows.len(), 706);
    let spill = dir.path().to_str().unwrap();
    let chosen = run(&[&base[..], &["--spill-dir", spill]].concat());
    assert_eq!(ok_rows(&chosen), default_rows);
    // The file is unnamed: nothing is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let missing = dir.path().join("missing");
    let o = run(&[&base[..], &["--spill-dir", missing.to_str().unwrap()]].concat());
    assert_eq!(code(&o), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!("nodeauthz: spill file in {}: ", missing.display())),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "");
}

/// Standard input is read once, like a file, and its requests wait in the spill file too: the
/// rows are the file's, but for the name of the input.
#[test]
fn stdin_gives_the_rows_of_the_file() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let base = ["analyze", "--objects", OBJECTS, "--format", "jsonl"];
    let from_file = ok_rows(&run(&[&base[..], &[LOG]].concat()));
    let mut child = Command::new(cli::BIN)
        .current_dir(ROOT)
        .args([&base[..], &["-"]].concat())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nodeauthz runs");
    let log = std::fs::read(format!("{ROOT}/{LOG}")).unwrap();
    child.stdin.take().unwrap().write_all(&log).unwrap();
    let from_stdin = ok_rows(&child.wait_with_output().unwrap());
    assert_eq!(from_stdin.len(), 706);
    let unnamed = |rows: Vec<Value>| -> Vec<Value> {
        rows.into_iter()
            .map(|mut r| {
                r["source"]["file"] = Value::Null;
                r
            })
            .collect()
    };
    assert_eq!(from_stdin[0]["source"]["file"], "-");
    assert_eq!(unnamed(from_stdin), unnamed(from_file));
}
