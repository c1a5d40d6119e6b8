//! The incident of `fixtures/incident-phases/` end to end through the built binary: each phase
//! cut out of the one audit log with `--since`/`--until` at the exact boundaries of
//! `phases.json`, its diagnosis under the recorded configuration and under the target, the fix,
//! and the timeline of `report.html` (transitions at the exact bucket times, numbers equal to
//! `summary.json` and to the log itself).
//!
//! Expected numbers are computed from the audit log by this file's own reader
//! ([`incident_kubelet_requests`]), not taken from the tool.

mod incident_support;

use incident_support::{
    arg, args, incident_kubelet_requests, json_ok, micros, phases, stdout_ok, Logged,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const LEGACY_REASON: &str = "RBAC: allowed by ClusterRoleBinding \"system:node\" of ClusterRole \"system:node\" to Group \"system:nodes\"";
const ADD_NODE: &str = "add Node to --authorization-mode (--authorization-mode=Node,RBAC)";
const NO_REQUEST_OBJECT: &str =
    "the log has no requestObject (the audit level is below Request, or the request was refused before its body was read); needed for the name of the new Node";
const SAFE_TO_REMOVE: &str =
    "safe to remove ClusterRoleBinding system:node: 0 requests relied on it";
const NODES: [&str; 3] = ["node1", "node2", "node3"];

/// The objects dump of the fixture plus the legacy binding as `kubectl get
/// clusterrolebinding system:node -o json` shows it in phases 2 and 3.
fn objects_with_binding() -> [String; 2] {
    [
        arg("incident-phases/objects.json"),
        arg("explain/legacy-binding.json"),
    ]
}

/// `analyze audit.log --since FROM --until TO --format F` with `extra`; objects default to the
/// fixture's dump unless `extra` has `--objects`.
fn analyze_args(from: &str, to: &str, format: &str, extra: &[String]) -> Vec<String> {
    let mut a = args(&[
        "analyze",
        &arg("incident-phases/audit.log"),
        "--since",
        from,
        "--until",
        to,
        "--format",
        format,
    ]);
    if !extra.iter().any(|e| e == "--objects") {
        a.push("--objects".into());
        a.push(arg("incident-phases/objects.json"));
    }
    a.extend(extra.iter().cloned());
    a
}

fn analyze(from: &str, to: &str, extra: &[String]) -> Value {
    json_ok(&analyze_args(from, to, "json", extra), None)
}

/// The per-request rows (`--format jsonl`).
fn rows(from: &str, to: &str, extra: &[String]) -> Vec<Value> {
    stdout_ok(&analyze_args(from, to, "jsonl", extra), None)
        .lines()
        .map(|l| serde_json::from_str(l).expect("row is JSON"))
        .collect()
}

/// The logged kubelet requests in `[from, to)`.
fn logged_between(from: &str, to: &str) -> Vec<Logged> {
    let (from, to) = (micros(from), micros(to));
    incident_kubelet_requests()
        .into_iter()
        .filter(|r| r.at >= from && r.at < to)
        .collect()
}

fn count_by_node(logged: &[Logged]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for r in logged {
        *m.entry(r.node.clone()).or_insert(0) += 1;
    }
    m
}

/// A `Totals` object with every key, zero unless given.
fn totals(
    requests: u64,
    verdict: &[(&str, u64)],
    change: &[(&str, u64)],
    recorded: &[(&str, u64)],
) -> Value {
    let fill = |keys: &[&str], given: &[(&str, u64)]| {
        let mut m = serde_json::Map::new();
        for k in keys {
            let n = given.iter().find(|(g, _)| g == k).map_or(0, |(_, n)| *n);
            m.insert(k.to_string(), json!(n));
        }
        Value::Object(m)
    };
    json!({
        "requests": requests,
        "by_verdict": fill(&["allowed_by_node", "forbidden", "indeterminate", "relies_on_rbac"], verdict),
        "by_change": fill(&["fixed_by_target", "unchanged", "would_break"], change),
        "by_recorded": fill(&["allowed", "forbidden", "no_response"], recorded),
    })
}

/// Every request of the window, overall and on each node, has `verdict`, the change
/// `unchanged` and the recorded outcome `recorded`.
fn assert_all_unchanged(
    summary: &Value,
    by_node: &BTreeMap<String, u64>,
    verdict: &str,
    recorded: &str,
) {
    let n: u64 = by_node.values().sum();
    assert_eq!(
        summary["totals"],
        totals(n, &[(verdict, n)], &[("unchanged", n)], &[(recorded, n)])
    );
    let nodes = per_node(summary);
    for node in NODES {
        let k = by_node[node];
        assert_eq!(
            nodes[node],
            totals(k, &[(verdict, k)], &[("unchanged", k)], &[(recorded, k)]),
            "{node}"
        );
    }
}

/// `summary.per_node` as node → totals (without the `node` key).
fn per_node(summary: &Value) -> BTreeMap<String, Value> {
    summary["per_node"]
        .as_array()
        .expect("per_node")
        .iter()
        .map(|n| {
            let mut n = n.clone();
            let name = n["node"].as_str().expect("node").to_string();
            n.as_object_mut().expect("object").remove("node");
            (name, n)
        })
        .collect()
}

/// The legacy binding as a finding, used by no request.
fn unused_legacy_binding_findings() -> Value {
    json!({
        "total": 1,
        "by_severity": {"high": 1, "medium": 0, "low": 0},
        "by_kind": {"legacy_system_node_binding": 1},
        "items": [{
            "id": "legacy_system_node_binding:ClusterRoleBinding/system:node",
            "kind": "legacy_system_node_binding",
            "severity": "high",
            "binding": "ClusterRoleBinding/system:node",
            "subject": "Group \"system:nodes\"",
            "requests_using": 0,
        }],
    })
}

/// The model agrees with all `n` recorded decisions of the recorded configuration, whose
/// authorization modes are `modes` (the label's first word; the rest describes the scenario).
fn assert_full_agreement(summary: &Value, modes: &str, inferred: bool, n: u64) {
    let a = &summary["agreement"];
    let label = a["configuration"].as_str().expect("configuration");
    assert_eq!(label.split(' ').next(), Some(modes), "{a}");
    assert_eq!(a["inferred"], inferred, "{a}");
    assert_eq!(a["compared"], n, "{a}");
    assert_eq!(a["agreed"], n, "{a}");
    assert_eq!(a["rate"], 1.0, "{a}");
    assert_eq!(a["not_compared"], 0, "{a}");
    assert_eq!(a["disagreements_total"], 0, "{a}");
    assert_eq!(a["disagreements"], json!([]), "{a}");
}

fn no_findings() -> Value {
    json!({"total": 0, "by_severity": {"high": 0, "medium": 0, "low": 0}, "by_kind": {}, "items": []})
}

#[test]
fn fixture_phases_partition_the_log_and_match_expected_json() {
    let p = phases();
    let all = incident_kubelet_requests();
    assert_eq!(all.len(), 3052);
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(incident_support::fixture("incident-phases/expected.json"))
            .expect("expected.json"),
    )
    .expect("JSON");
    let windows = [
        ("1", &p.start, &p.binding_added),
        ("2", &p.binding_added, &p.apiserver_stopped),
        ("3", &p.apiserver_started, &p.end),
    ];
    let mut sum = 0;
    for (phase, from, to) in windows {
        let logged = logged_between(from, to);
        let mut keys: BTreeMap<String, u64> = BTreeMap::new();
        for r in &logged {
            *keys
                .entry(format!("{}|{}|{}", r.decision, r.reason, r.code))
                .or_insert(0) += 1;
        }
        assert_eq!(json!(keys), expected["phases"][phase], "phase {phase}");
        // The tool sees the same number of kubelet requests in the window.
        let d = analyze(from, to, &[]);
        assert_eq!(
            d["summary"]["totals"]["requests"],
            logged.len() as u64,
            "phase {phase}"
        );
        sum += logged.len();
    }
    assert_eq!(sum, all.len(), "the phases cover every kubelet request");
    // The apiserver restart: no request at all.
    let gap = analyze(&p.apiserver_stopped, &p.apiserver_started, &[]);
    assert_eq!(gap["summary"]["totals"], totals(0, &[], &[], &[]));
    assert_eq!(gap["summary"]["per_node"], json!([]));
}

#[test]
fn phase1_rbac_only_the_model_agrees_every_request_is_forbidden() {
    let p = phases();
    let logged = logged_between(&p.start, &p.binding_added);
    let n = logged.len() as u64;
    assert_eq!(n, 1616);
    let by_node = count_by_node(&logged);
    assert_eq!(
        by_node.values().copied().collect::<Vec<_>>(),
        [538, 539, 539]
    );

    let recorded = args(&["--authorization-mode", "RBAC", "--kube-version", "1.19"]);
    let d = analyze(&p.start, &p.binding_added, &recorded);
    let s = &d["summary"];
    assert_eq!(s["target"], "RBAC +NodeRestriction v1.19");
    assert_all_unchanged(s, &by_node, "forbidden", "forbidden");
    // Inferred from the recorded reasons (no Node authorizer reason, no RBAC allow reason).
    assert_full_agreement(s, "RBAC", true, n);
    // What was refused, by verb and resource, as the log has it.
    let mut by_vr: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in &logged {
        *by_vr
            .entry((r.verb.clone(), r.resource.clone()))
            .or_insert(0) += 1;
    }
    let mut top: Vec<(String, String, u64)> = s["top_forbidden"]
        .as_array()
        .expect("top_forbidden")
        .iter()
        .map(|t| {
            assert_eq!(t["reason"], "");
            (
                t["verb"].as_str().unwrap_or("").to_string(),
                t["resource"].as_str().unwrap_or("").to_string(),
                t["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    top.sort();
    let want: Vec<(String, String, u64)> = by_vr.into_iter().map(|((v, r), c)| (v, r, c)).collect();
    assert_eq!(top, want);

    // Row by row: both authorizers silent, the recorded refusal reproduced.
    for row in rows(&p.start, &p.binding_added, &recorded) {
        assert_eq!(row["recorded"]["annotation"], "forbid");
        assert_eq!(row["recorded"]["code"], 403);
        assert_eq!(
            row["node_authorizer"],
            json!({"decision": "no_opinion", "reason": ""})
        );
        assert_eq!(row["rbac"]["decision"], "no_opinion");
        assert_eq!(row["verdict"], "forbidden");
        assert_eq!(row["verdict_reason"], "");
    }
}

#[test]
fn phase1_under_node_rbac_every_refusal_is_fixed_but_registration_is_indeterminate() {
    let p = phases();
    let logged = logged_between(&p.start, &p.binding_added);
    let n = logged.len() as u64;
    let creates = logged
        .iter()
        .filter(|r| r.verb == "create" && r.resource == "nodes")
        .count() as u64;
    assert_eq!(creates, 270);
    let d = analyze(
        &p.start,
        &p.binding_added,
        &args(&[
            "--kube-version",
            "1.19",
            "--recorded-authorization-mode",
            "RBAC",
            "--compare",
            "RBAC",
            "RBAC+binding:system:node",
        ]),
    );
    let s = &d["summary"];
    assert_eq!(s["target"], "Node,RBAC +NodeRestriction v1.19");
    // Every refused request is allowed by the Node authorizer; a registration (create nodes)
    // is refused before its body is logged, so NodeRestriction's name check cannot be replayed.
    assert_eq!(
        s["totals"],
        totals(
            n,
            &[("allowed_by_node", n - creates), ("indeterminate", creates)],
            &[("fixed_by_target", n - creates), ("unchanged", creates)],
            &[("forbidden", n)]
        )
    );
    assert_eq!(s["readiness"]["would_break"], 0);
    assert_full_agreement(s, "RBAC", false, n);
    let columns = d["comparison"]["columns"].as_array().expect("columns");
    let labels: Vec<&str> = columns
        .iter()
        .filter_map(|c| c["scenario"].as_str())
        .collect();
    assert_eq!(labels, ["RBAC", "RBAC+binding:system:node"]);
    assert_eq!(columns[0]["totals"]["by_verdict"]["forbidden"], n);
    assert_eq!(
        columns[1]["totals"]["by_verdict"],
        json!({"allowed_by_node": 0, "forbidden": 0, "indeterminate": creates, "relies_on_rbac": n - creates})
    );
    for row in rows(
        &p.start,
        &p.binding_added,
        &args(&["--kube-version", "1.19"]),
    ) {
        if row["verb"] == "create" && row["resource"] == "nodes" {
            assert_eq!(row["verdict"], "indeterminate");
            assert_eq!(row["verdict_reason"], NO_REQUEST_OBJECT);
        } else {
            assert_eq!(row["verdict"], "allowed_by_node", "{row}");
            assert_eq!(row["change"], "fixed_by_target");
        }
    }

    // The fix, from node1's kubelet log of the same phase: add Node. The log holds one line
    // per refused request of node1, by verb and resource the same as the audit log.
    let diagnosis = json_ok(
        &args(&[
            "explain",
            "--kubelet-log",
            &arg("incident-phases/kubelet.log"),
            "--apiserver-manifest",
            &arg("incident-phases/kube-apiserver.yaml"),
            "--objects",
            &arg("incident-phases/objects.json"),
            "--format",
            "json",
        ]),
        None,
    );
    assert_eq!(diagnosis["fix"], ADD_NODE);
    let mut from_log: BTreeMap<(String, String), u64> = BTreeMap::new();
    for e in diagnosis["distinct"].as_array().expect("distinct") {
        let x = &e["explanation"];
        *from_log
            .entry((
                x["verb"].as_str().unwrap_or("").to_string(),
                x["resource"].as_str().unwrap_or("").to_string(),
            ))
            .or_insert(0) += e["count"].as_u64().unwrap_or(0);
    }
    let mut from_audit: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in logged.iter().filter(|r| r.node == "node1") {
        *from_audit
            .entry((r.verb.clone(), r.resource.clone()))
            .or_insert(0) += 1;
    }
    assert_eq!(from_log, from_audit);
}

#[test]
fn phase2_legacy_binding_the_model_agrees_allowed_by_rbac_with_that_reason() {
    let p = phases();
    let logged = logged_between(&p.binding_added, &p.apiserver_stopped);
    let n = logged.len() as u64;
    assert_eq!(n, 710);
    let by_node = count_by_node(&logged);
    assert_eq!(
        by_node.values().copied().collect::<Vec<_>>(),
        [241, 233, 236]
    );
    assert!(logged
        .iter()
        .all(|r| r.decision == "allow" && r.reason == LEGACY_REASON));

    // The recorded configuration two ways: the binding from the cluster's dump, or added with
    // --legacy-binding.
    let [objects, binding] = objects_with_binding();
    for recorded in [
        args(&[
            "--authorization-mode",
            "RBAC",
            "--kube-version",
            "1.19",
            "--objects",
            &objects,
            &binding,
        ]),
        args(&[
            "--authorization-mode",
            "RBAC",
            "--kube-version",
            "1.19",
            "--legacy-binding",
        ]),
    ] {
        let d = analyze(&p.binding_added, &p.apiserver_stopped, &recorded);
        let s = &d["summary"];
        assert_all_unchanged(s, &by_node, "relies_on_rbac", "allowed");
        assert_full_agreement(s, "RBAC", true, n);
        let relied = s["bindings_relied_on"]
            .as_array()
            .expect("bindings_relied_on");
        assert_eq!(relied.len(), 1);
        assert_eq!(relied[0]["binding"], "ClusterRoleBinding/system:node");
        assert_eq!(relied[0]["role"], "ClusterRole/system:node");
        assert_eq!(relied[0]["requests"], n);
        for row in rows(&p.binding_added, &p.apiserver_stopped, &recorded) {
            assert_eq!(row["recorded"]["reason"], LEGACY_REASON);
            assert_eq!(row["rbac"]["decision"], "allow");
            assert_eq!(row["rbac"]["reason"], LEGACY_REASON);
            assert_eq!(row["rbac"]["binding"], "ClusterRoleBinding/system:node");
            assert_eq!(row["verdict"], "relies_on_rbac");
            assert_eq!(row["verdict_reason"], LEGACY_REASON);
        }
    }
}

#[test]
fn phase2_under_node_rbac_nothing_needs_the_binding_and_it_is_a_finding() {
    let p = phases();
    let logged = logged_between(&p.binding_added, &p.apiserver_stopped);
    let by_node = count_by_node(&logged);
    let [objects, binding] = objects_with_binding();
    let d = analyze(
        &p.binding_added,
        &p.apiserver_stopped,
        &args(&["--kube-version", "1.19", "--objects", &objects, &binding]),
    );
    let s = &d["summary"];
    assert_eq!(s["target"], "Node,RBAC +NodeRestriction v1.19");
    assert_all_unchanged(s, &by_node, "allowed_by_node", "allowed");
    assert_eq!(s["bindings_relied_on"], json!([]));
    assert_eq!(s["findings"], unused_legacy_binding_findings());
    assert_eq!(
        s["readiness"],
        json!({
            "ready": true,
            "line": SAFE_TO_REMOVE,
            "legacy_bindings": [{"binding": "ClusterRoleBinding/system:node", "by_verb_resource": [], "requests": 0}],
            "would_break": 0,
            "would_break_by_verb_resource": [],
        })
    );
    // The Node authorizer allows each request by itself (the binding is never consulted).
    for row in rows(
        &p.binding_added,
        &p.apiserver_stopped,
        &args(&["--kube-version", "1.19", "--objects", &objects, &binding]),
    ) {
        assert_eq!(
            row["node_authorizer"],
            json!({"decision": "allow", "reason": ""}),
            "{row}"
        );
        assert_eq!(row["verdict"], "allowed_by_node");
    }
}

/// `--legacy-binding` says the cluster has the binding; the findings should then list it just
/// as when the binding comes from the objects dump.
#[test]
fn phase2_legacy_binding_flag_gives_the_same_finding_as_the_dump() {
    let p = phases();
    let d = analyze(
        &p.binding_added,
        &p.apiserver_stopped,
        &args(&["--kube-version", "1.19", "--legacy-binding"]),
    );
    assert_eq!(d["summary"]["findings"], unused_legacy_binding_findings());
    assert_eq!(d["summary"]["readiness"]["line"], SAFE_TO_REMOVE);
}

#[test]
fn phase3_node_rbac_allowed_with_empty_reason_and_the_binding_unused() {
    let p = phases();
    let logged = logged_between(&p.apiserver_started, &p.end);
    let n = logged.len() as u64;
    assert_eq!(n, 726);
    let by_node = count_by_node(&logged);
    assert_eq!(
        by_node.values().copied().collect::<Vec<_>>(),
        [246, 240, 240]
    );
    assert!(logged
        .iter()
        .all(|r| r.decision == "allow" && r.reason.is_empty()));

    let [objects, binding] = objects_with_binding();
    // Inferred from the empty allow reasons; then given by the phase 3 manifest.
    for (extra, target, inferred) in [
        (
            args(&["--kube-version", "1.19", "--objects", &objects, &binding]),
            "Node,RBAC +NodeRestriction v1.19",
            true,
        ),
        (
            args(&[
                "--apiserver-manifest",
                &arg("incident-phases/kube-apiserver.phase3.yaml"),
                "--recorded-authorization-mode",
                "Node,RBAC",
                "--objects",
                &objects,
                &binding,
            ]),
            "Node,RBAC +NodeRestriction v1.19.16",
            false,
        ),
    ] {
        let d = analyze(&p.apiserver_started, &p.end, &extra);
        let s = &d["summary"];
        assert_eq!(s["target"], target);
        assert_all_unchanged(s, &by_node, "allowed_by_node", "allowed");
        assert_full_agreement(s, "Node,RBAC", inferred, n);
        assert_eq!(s["findings"], unused_legacy_binding_findings());
        assert_eq!(s["readiness"]["line"], SAFE_TO_REMOVE);
        for row in rows(&p.apiserver_started, &p.end, &extra) {
            assert_eq!(row["recorded"]["annotation"], "allow");
            assert_eq!(row["recorded"]["reason"], "");
            assert_eq!(
                row["node_authorizer"],
                json!({"decision": "allow", "reason": ""})
            );
            assert_eq!(row["verdict"], "allowed_by_node");
            assert_eq!(row["verdict_reason"], "");
        }
    }
    // Without the binding in the dump there is nothing to report.
    let d = analyze(
        &p.apiserver_started,
        &p.end,
        &args(&["--kube-version", "1.19"]),
    );
    assert_eq!(d["summary"]["findings"], no_findings());
}

/// The whole log: the recorded configuration changes twice and the model, following it,
/// agrees with every recorded decision.
#[test]
fn whole_log_every_recorded_decision_reproduced_across_the_three_configurations() {
    let p = phases();
    let d = analyze(&p.start, &p.end, &args(&["--kube-version", "1.19"]));
    let a = &d["summary"]["agreement"];
    assert_eq!(a["inferred"], true, "{a}");
    assert_eq!(a["compared"], 3052, "{a}");
    assert_eq!(a["agreed"], 3052, "{a}");
    assert_eq!(a["disagreements_total"], 0, "{a}");
    let label = a["configuration"].as_str().expect("configuration");
    let segments: Vec<&str> = label.split(", then ").collect();
    assert_eq!(segments.len(), 3, "{label}");
    let modes: Vec<Option<&str>> = segments.iter().map(|s| s.split(' ').next()).collect();
    assert_eq!(
        modes,
        [Some("RBAC"), Some("RBAC"), Some("Node,RBAC")],
        "{label}"
    );
    assert!(!segments[0].contains("+binding:system:node"), "{label}");
    assert!(segments[1].contains("+binding:system:node"), "{label}");
}

// ---------------------------------------------------------------- the timeline of report.html

/// Bucket width of a 30-minute log (the first nice width with at most 300 buckets).
const BUCKET: i64 = 10_000_000;

/// Per drawn node of a report.html: the node's name and the text of its `ev` spans.
fn node_events(html: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for block in html.split("<div class=\"row node\">").skip(1) {
        let name_at =
            block.find("<div class=\"name\">").expect("name") + "<div class=\"name\">".len();
        let name = &block[name_at..name_at + block[name_at..].find('<').expect("name end")];
        let events_at = block.find("<div class=\"events\">").expect("events");
        let events = &block[events_at..];
        let events = &events[..events.find("</div>").expect("events end")];
        let texts = events
            .split("<span class=\"ev ")
            .skip(1)
            .map(|span| strip_tags(&span[span.find('>').expect(">") + 1..]))
            .collect();
        out.insert(name.to_string(), texts);
    }
    out
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// `data-metric` name → value (the `data-value` attribute, else the element's text).
fn metrics(html: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut rest = html;
    while let Some(p) = rest.find("data-metric=\"") {
        let tag_end = p + rest[p..].find('>').expect("tag end");
        let tag = &rest[p..tag_end];
        let name = &tag["data-metric=\"".len()..];
        let name = &name[..name.find('"').expect("quote")];
        let value = match tag.find("data-value=\"") {
            Some(i) => {
                let v = &tag[i + "data-value=\"".len()..];
                v[..v.find('"').expect("quote")].to_string()
            }
            None => {
                let text = &rest[tag_end + 1..];
                text[..text.find('<').expect("text end")].to_string()
            }
        };
        let n: u64 = value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}: {value:?}"));
        assert!(out.insert(name.to_string(), n).is_none(), "{name} twice");
        rest = &rest[tag_end..];
    }
    out
}

#[test]
fn timeline_shows_the_phase_boundaries_at_the_exact_bucket_times() {
    let p = phases();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    stdout_ok(
        &args(&[
            "analyze",
            &arg("incident-phases/audit.log"),
            "--objects",
            &arg("incident-phases/objects.json"),
            "--compare",
            "RBAC",
            "RBAC+binding:system:node",
            "Node,RBAC",
            "--out",
            &out.display().to_string(),
        ]),
        None,
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
            .expect("summary.json is JSON");

    // 30 minutes in 10 s bars; forbidden from the first bar, access back in the bar of
    // 09:10:00 (the binding lands at 09:10:00.41, the first kubelet request after it at
    // 09:10:02), and the restart 09:19:41–09:20:03 is silence, not a transition.
    assert!(html.contains(
        "Requests from <b>2021-11-23 09:00:00 UTC</b> to <b>2021-11-23 09:29:59 UTC</b> · one bar = 10 s"
    ));
    let events = node_events(&html);
    assert_eq!(events.keys().map(String::as_str).collect::<Vec<_>>(), NODES);
    for node in NODES {
        assert_eq!(
            events[node],
            [
                "Forbidden from its first requests (2021-11-23 09:00:00 UTC)",
                "Regained access at 2021-11-23 09:10:00 UTC",
                "1 transition",
            ],
            "{node}"
        );
    }

    // Every bar equals the log, counted here bucket by bucket.
    let t0 = micros(&p.start);
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for r in incident_kubelet_requests() {
        let class = match r.decision.as_str() {
            "allow" => "allowed",
            "forbid" => "forbidden",
            _ => "other",
        };
        let i = (r.at - t0) / BUCKET;
        *want
            .entry(format!("bucket.{}.{i}.{class}", r.node))
            .or_insert(0) += 1;
    }
    let shown = metrics(&html);
    let bars: BTreeMap<String, u64> = shown
        .iter()
        .filter(|(k, _)| k.starts_with("bucket."))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(bars, want);
    // The phase boundaries in bucket indices: 0..=59 forbidden only, 60.. allowed only; the
    // 09:19:50 bar (119) empty on every node.
    let boundary = |t: &str| (micros(t) - t0) / BUCKET;
    assert_eq!(boundary(&p.binding_added), 60);
    assert_eq!(boundary(&p.apiserver_stopped), 118);
    assert_eq!(boundary(&p.apiserver_started), 120);
    for key in bars.keys() {
        let parts: Vec<&str> = key.split('.').collect();
        let i: i64 = parts[2].parse().expect("index");
        let class = parts[3];
        assert_ne!(i, 119, "{key}: the restart has no request");
        assert_eq!(class == "forbidden", i < 60, "{key}");
    }

    // The node numbers equal summary.json.
    let per = per_node(&summary);
    assert_eq!(shown.get("total.nodes"), Some(&(per.len() as u64)));
    for node in NODES {
        let s = &per[node];
        for (metric, value) in [
            ("requests", &s["requests"]),
            ("allowed", &s["by_recorded"]["allowed"]),
            ("forbidden", &s["by_recorded"]["forbidden"]),
            ("other", &s["by_recorded"]["no_response"]),
        ] {
            assert_eq!(
                shown.get(&format!("node.{node}.{metric}")).copied(),
                value.as_u64(),
                "node.{node}.{metric}"
            );
        }
        // And the bars add up to them.
        for class in ["allowed", "forbidden", "other"] {
            let sum: u64 = bars
                .iter()
                .filter(|(k, _)| {
                    k.starts_with(&format!("bucket.{node}.")) && k.ends_with(&format!(".{class}"))
                })
                .map(|(_, v)| v)
                .sum();
            assert_eq!(
                Some(&sum),
                shown.get(&format!("node.{node}.{class}")),
                "{node} {class}"
            );
        }
        assert_eq!(shown.get(&format!("node.{node}.transitions")), Some(&1));
    }
}
