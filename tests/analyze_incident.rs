//! The seed incident (fixtures/incident-1.19, see its README.md) through `nodeauthz analyze`:
//! an exact, asserted report under the default target, under the recorded configuration
//! (`RBAC`, 1.19) and with the legacy `system:node` binding.
//!
//! Expectations come from the fixture's README and expected.json (counted by
//! scripts/check_fixtures.py, not by nodeauthz) and from the spec
//! (/work/shared/spec/node-authorizer.md), not from the tool's own output.

use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

#[path = "support/cli.rs"]
mod cli;
use cli::{incident, incident_expected, map, ok_json, ok_rows, run, s};

const LOG: &str = "fixtures/incident-1.19/audit.log";
const OBJECTS: &str = "fixtures/incident-1.19/objects.json";
/// The legacy binding as a cluster object (ClusterRole system:node → Group system:nodes).
const LEGACY_OBJECT: &str = "fixtures/analyze/legacy-system-node-binding.json";

/// Spec 9.2: the reason RBAC gives when the legacy binding allows a node request.
const LEGACY_REASON: &str = "RBAC: allowed by ClusterRoleBinding \"system:node\" of ClusterRole \"system:node\" to Group \"system:nodes\"";
/// NodeRestriction cannot check a Node status patch whose body was never logged (refused
/// requests carry no requestObject, whatever the audit level).
const NODE_PATCH_UNKNOWN: &str = "the log has no requestObject (the audit level is below Request, or the request was refused before its body was read); needed for the taint and label checks of a Node update";
/// NodeRestriction (spec 10.8) needs the new Lease's metadata.name, which only the body has.
const LEASE_CREATE_UNKNOWN: &str =
    "the log has no requestObject (the audit level is below Request, or the request was refused before its body was read); needed for the name of the new Lease";
/// Summary readiness line when nothing would break and no legacy binding exists.
const READY_LINE: &str = "ready for the target configuration: 0 requests would break";
/// The 700 requests that relied on the legacy binding, by (verb, resource), from the README
/// table: get nodes 3×145, get leases 3×46+1, list pods 3×13, list services 13+12+13, list
/// nodes 12+12+13, then 4 more kinds (update leases, watch nodes/pods/services, 3 each).
const NOT_SAFE_LINE: &str = "not safe to remove ClusterRoleBinding system:node: 706 requests relied on it (435 get nodes, 139 get leases, 39 list pods, 38 list services, 37 list nodes, and 6 more)";

/// The authorization modes of an agreement's configuration label (its first word; the rest
/// describes admission, version and bindings).
fn modes(agreement: &Value) -> &str {
    s(agreement, "configuration")
        .split_whitespace()
        .next()
        .unwrap_or("")
}

fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .expect("an object of counts")
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().expect("a count")))
        .collect()
}

/// Rows counted by (verdict, verdict_reason, change).
fn tally(rows: &[Value]) -> BTreeMap<(String, String, String), u64> {
    let mut t = BTreeMap::new();
    for r in rows {
        let key = (
            s(r, "verdict").to_owned(),
            s(r, "verdict_reason").to_owned(),
            s(r, "change").to_owned(),
        );
        *t.entry(key).or_insert(0) += 1;
    }
    t
}

fn key(verdict: &str, reason: &str, change: &str) -> (String, String, String) {
    (verdict.into(), reason.into(), change.into())
}

#[test]
fn inventory_matches_the_fixture_counts() {
    let doc = ok_json(&incident(&["--format", "json"]));
    let expected = incident_expected();
    for k in ["lines", "events", "requests", "kubelet_requests"] {
        assert_eq!(doc[k], expected[k], "{k}");
    }
    for (node, want) in expected["nodes"].as_object().expect("nodes") {
        for k in ["requests", "allowed", "forbidden", "no_response"] {
            assert_eq!(doc["nodes"][node][k], want[k], "{node} {k}");
        }
    }
    assert_eq!(doc["nodes"].as_object().map(|o| o.len()), Some(3));
    assert_eq!(doc["bad_lines"], 0);
}

/// Target Node,RBAC + NodeRestriction (newest): spec 4.8 (own Node by name, also through the
/// metadata.name selector; status update/patch), 4.9 (pods with the spec.nodeName selector),
/// 4.5 (own lease; create without a name), 8 row 3 (services). Every request is allowed by the
/// Node authorizer; NodeRestriction then needs the body of the 3 status patches and the 3 lease
/// creates, which refused requests never log: 700 allowed, 6 indeterminate. The one request
/// without a response (node2, get lease) cannot change: 699 fixed_by_target.
#[test]
fn default_target_totals_per_verdict_and_change() {
    let doc = ok_json(&incident(&["--format", "json"]));
    let totals = &doc["summary"]["totals"];
    assert_eq!(totals["requests"], 706);
    assert_eq!(
        counts(&totals["by_verdict"]),
        map(&[
            ("allowed_by_node", 700),
            ("relies_on_rbac", 0),
            ("forbidden", 0),
            ("indeterminate", 6)
        ])
    );
    assert_eq!(
        counts(&totals["by_change"]),
        map(&[
            ("would_break", 0),
            ("fixed_by_target", 699),
            ("unchanged", 7)
        ])
    );
    assert_eq!(
        counts(&totals["by_recorded"]),
        map(&[("allowed", 0), ("forbidden", 705), ("no_response", 1)])
    );
    assert_eq!(doc["summary"]["target"], "Node,RBAC +NodeRestriction");
    assert_eq!(doc["summary"]["top_forbidden"], serde_json::json!([]));
    assert_eq!(doc["summary"]["top_would_break"], serde_json::json!([]));
    assert_eq!(doc["summary"]["bindings_relied_on"], serde_json::json!([]));
    assert_eq!(doc["summary"]["findings"]["total"], 0);
}

#[test]
fn default_target_per_node() {
    let doc = ok_json(&incident(&["--format", "json"]));
    let per_node = doc["summary"]["per_node"].as_array().expect("per_node");
    let by_name: BTreeMap<&str, &Value> = per_node.iter().map(|n| (s(n, "node"), n)).collect();
    assert_eq!(by_name.len(), 3);
    // (node, requests, allowed_by_node, fixed_by_target, recorded forbidden, no_response)
    for (node, requests, allowed, fixed, rec_forbidden, no_response) in [
        ("node1", 235, 233, 233, 235, 0),
        ("node2", 235, 233, 232, 234, 1),
        ("node3", 236, 234, 234, 236, 0),
    ] {
        let n = by_name[node];
        assert_eq!(n["requests"], requests, "{node}");
        assert_eq!(
            counts(&n["by_verdict"]),
            map(&[
                ("allowed_by_node", allowed),
                ("relies_on_rbac", 0),
                ("forbidden", 0),
                ("indeterminate", 2)
            ]),
            "{node}"
        );
        assert_eq!(
            counts(&n["by_change"]),
            map(&[
                ("would_break", 0),
                ("fixed_by_target", fixed),
                ("unchanged", requests - fixed)
            ]),
            "{node}"
        );
        assert_eq!(
            counts(&n["by_recorded"]),
            map(&[
                ("allowed", 0),
                ("forbidden", rec_forbidden),
                ("no_response", no_response)
            ]),
            "{node}"
        );
    }
}

/// README "Expected diagnosis": the recorded configuration is inferred as RBAC; the model under
/// RBAC refuses every request, as the apiserver did. The request without a response is not
/// compared.
#[test]
fn recorded_configuration_is_inferred_rbac_and_agrees() {
    let doc = ok_json(&incident(&["--format", "json"]));
    let a = &doc["summary"]["agreement"];
    assert_eq!(modes(a), "RBAC", "{a}");
    assert_eq!(a["inferred"], true);
    assert_eq!(a["compared"], 705);
    assert_eq!(a["agreed"], 705);
    assert_eq!(a["not_compared"], 1);
    assert_eq!(a["rate"], 1.0);
    assert_eq!(a["disagreements_total"], 0);
    assert_eq!(a["disagreements"], serde_json::json!([]));
}

/// Giving the recorded configuration explicitly gives the same agreement, not inferred.
#[test]
fn recorded_configuration_given_explicitly() {
    let doc = ok_json(&incident(&[
        "--format",
        "json",
        "--recorded-authorization-mode",
        "RBAC",
    ]));
    let a = &doc["summary"]["agreement"];
    assert_eq!(modes(a), "RBAC", "{a}");
    assert_eq!(a["inferred"], false);
    assert_eq!(
        (a["compared"].clone(), a["agreed"].clone()),
        (705.into(), 705.into())
    );
}

#[test]
fn readiness_line_in_json_table_and_markdown() {
    let doc = ok_json(&incident(&["--format", "json"]));
    let r = &doc["summary"]["readiness"];
    assert_eq!(r["line"], READY_LINE);
    assert_eq!(r["ready"], true);
    assert_eq!(r["would_break"], 0);
    assert_eq!(r["legacy_bindings"], serde_json::json!([]));

    let table = incident(&[]);
    assert_eq!(table.status.code(), Some(0));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.lines()
            .any(|l| l.trim() == format!("Readiness: {READY_LINE}")),
        "{text}"
    );
    let md = incident(&["--format", "markdown"]);
    assert_eq!(md.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&md.stdout).contains(READY_LINE));
}

/// Row by row: 706 distinct audit IDs; the Node authorizer allows every one (reason ""); the
/// only non-allowed rows are the status patches and lease creates, with exact reasons; the
/// (node, verb, resource) counts are those of the README table.
#[test]
fn jsonl_rows_default_target() {
    let rows = ok_rows(&incident(&["--format", "jsonl"]));
    assert_eq!(rows.len(), 706);
    let ids: HashSet<&str> = rows.iter().map(|r| s(r, "audit_id")).collect();
    assert_eq!(ids.len(), 706);
    for r in &rows {
        assert_eq!(s(r, "node_authorizer.decision"), "allow", "{r}");
        assert_eq!(s(r, "node_authorizer.reason"), "", "{r}");
        assert_eq!(
            s(r, "username"),
            format!("system:node:{}", s(r, "node")),
            "{r}"
        );
        let (verb, sub) = (s(r, "verb"), s(r, "subresource"));
        let want = match (verb, s(r, "resource"), sub) {
            ("patch", "nodes", "status") => ("indeterminate", NODE_PATCH_UNKNOWN, "unknown"),
            ("create", "leases", "") => ("indeterminate", LEASE_CREATE_UNKNOWN, "unknown"),
            ("update", "leases", "") => ("allowed_by_node", "", "admit"),
            _ => ("allowed_by_node", "", "not_applicable"),
        };
        assert_eq!(
            (
                s(r, "verdict"),
                s(r, "verdict_reason"),
                s(r, "node_restriction.decision")
            ),
            want,
            "{r}"
        );
    }
    assert_eq!(
        tally(&rows),
        BTreeMap::from([
            (key("allowed_by_node", "", "fixed_by_target"), 699),
            (key("allowed_by_node", "", "unchanged"), 1),
            (key("indeterminate", NODE_PATCH_UNKNOWN, "unchanged"), 3),
            (key("indeterminate", LEASE_CREATE_UNKNOWN, "unchanged"), 3),
        ])
    );
    // The no-response request: node2's get of its lease cut off by the end of the file.
    let open: Vec<&Value> = rows
        .iter()
        .filter(|r| s(r, "recorded.decision") == "no_response")
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (
            s(open[0], "node"),
            s(open[0], "verb"),
            s(open[0], "resource")
        ),
        ("node2", "get", "leases")
    );

    let mut by_kind: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for r in &rows {
        let res = match s(r, "subresource") {
            "" => s(r, "resource").to_owned(),
            sub => format!("{}/{sub}", s(r, "resource")),
        };
        *by_kind
            .entry((s(r, "node").into(), s(r, "verb").into(), res))
            .or_insert(0) += 1;
    }
    // README table "Kubelet requests by verb and resource".
    let table: [(&str, &str, [u64; 3]); 11] = [
        ("get", "nodes", [145, 145, 145]),
        ("list", "nodes", [12, 12, 13]),
        ("watch", "nodes", [1, 1, 1]),
        ("patch", "nodes/status", [1, 1, 1]),
        ("get", "leases", [46, 47, 46]),
        ("create", "leases", [1, 1, 1]),
        ("update", "leases", [1, 1, 1]),
        ("list", "pods", [13, 13, 13]),
        ("watch", "pods", [1, 1, 1]),
        ("list", "services", [13, 12, 13]),
        ("watch", "services", [1, 1, 1]),
    ];
    let mut want = BTreeMap::new();
    for (verb, res, per_node) in table {
        for (i, n) in per_node.into_iter().enumerate() {
            want.insert(
                (format!("node{}", i + 1), verb.to_owned(), res.to_owned()),
                n,
            );
        }
    }
    assert_eq!(by_kind, want);
}

/// Under the recorded configuration (RBAC only, 1.19, bootstrap policy where the system:node
/// binding has no subjects) every kubelet request is refused, with RBAC's empty reason (spec 2),
/// exactly as recorded: nothing changes.
#[test]
fn recorded_configuration_forbids_every_request() {
    let args = ["--authorization-mode", "RBAC", "--kube-version", "1.19"];
    let mut jsonl = args.to_vec();
    jsonl.extend(["--format", "jsonl"]);
    let rows = ok_rows(&incident(&jsonl));
    assert_eq!(rows.len(), 706);
    assert_eq!(
        tally(&rows),
        BTreeMap::from([(key("forbidden", "", "unchanged"), 706)])
    );
    for r in &rows {
        assert_eq!(s(r, "rbac.decision"), "no_opinion", "{r}");
        assert_eq!(s(r, "rbac.reason"), "", "{r}");
        assert!(r["rbac"]["binding"].is_null(), "{r}");
    }

    let mut json = args.to_vec();
    json.extend(["--format", "json"]);
    let doc = ok_json(&incident(&json));
    let totals = &doc["summary"]["totals"];
    assert_eq!(
        counts(&totals["by_verdict"]),
        map(&[
            ("allowed_by_node", 0),
            ("relies_on_rbac", 0),
            ("forbidden", 706),
            ("indeterminate", 0)
        ])
    );
    assert_eq!(
        counts(&totals["by_change"]),
        map(&[
            ("would_break", 0),
            ("fixed_by_target", 0),
            ("unchanged", 706)
        ])
    );
    // README table, summed over the nodes, all with RBAC's empty reason; ties by verb, resource.
    let want: Vec<(String, String, String, u64)> = [
        ("get", "", "nodes", 435),
        ("get", "coordination.k8s.io", "leases", 139),
        ("list", "", "pods", 39),
        ("list", "", "services", 38),
        ("list", "", "nodes", 37),
        ("create", "coordination.k8s.io", "leases", 3),
        ("patch", "", "nodes/status", 3),
        ("update", "coordination.k8s.io", "leases", 3),
        ("watch", "", "nodes", 3),
        ("watch", "", "pods", 3),
        ("watch", "", "services", 3),
    ]
    .iter()
    .map(|(v, g, r, n)| (v.to_string(), g.to_string(), r.to_string(), *n))
    .collect();
    let top: Vec<(String, String, String, u64)> = doc["summary"]["top_forbidden"]
        .as_array()
        .expect("top_forbidden")
        .iter()
        .map(|e| {
            assert_eq!(s(e, "reason"), "", "{e}");
            (
                s(e, "verb").to_owned(),
                s(e, "api_group").to_owned(),
                s(e, "resource").to_owned(),
                e["count"].as_u64().expect("count"),
            )
        })
        .collect();
    assert_eq!(top, want);
    let a = &doc["summary"]["agreement"];
    assert_eq!(
        (a["compared"].clone(), a["agreed"].clone()),
        (705.into(), 705.into())
    );
}

/// RBAC with the legacy binding: every request RBAC allows names the binding (spec 9.2, 9.3);
/// the 6 requests NodeRestriction cannot check stay indeterminate.
#[test]
fn legacy_binding_relies_on_rbac() {
    let rows = ok_rows(&incident(&[
        "--authorization-mode",
        "RBAC",
        "--kube-version",
        "1.19",
        "--legacy-binding",
        "--format",
        "jsonl",
    ]));
    assert_eq!(rows.len(), 706);
    assert_eq!(
        tally(&rows),
        BTreeMap::from([
            (key("relies_on_rbac", LEGACY_REASON, "fixed_by_target"), 699),
            (key("relies_on_rbac", LEGACY_REASON, "unchanged"), 1),
            (key("indeterminate", NODE_PATCH_UNKNOWN, "unchanged"), 3),
            (key("indeterminate", LEASE_CREATE_UNKNOWN, "unchanged"), 3),
        ])
    );
    for r in &rows {
        assert_eq!(s(r, "rbac.decision"), "allow", "{r}");
        assert_eq!(s(r, "rbac.reason"), LEGACY_REASON, "{r}");
        assert_eq!(
            s(r, "rbac.binding"),
            "ClusterRoleBinding/system:node",
            "{r}"
        );
        assert_eq!(s(r, "rbac.role"), "ClusterRole/system:node", "{r}");
    }
}

fn assert_legacy_finding_and_not_safe(doc: &Value) {
    let summary = &doc["summary"];
    let relied = summary["bindings_relied_on"].as_array().expect("array");
    assert_eq!(relied.len(), 1, "{relied:?}");
    assert_eq!(relied[0]["binding"], "ClusterRoleBinding/system:node");
    assert_eq!(relied[0]["role"], "ClusterRole/system:node");
    // Authorized only through the binding: 700 relies_on_rbac and 6 indeterminate (admission
    // unknown without a body).
    assert_eq!(relied[0]["requests"], 706);

    let items = summary["findings"]["items"].as_array().expect("items");
    let legacy: Vec<&Value> = items
        .iter()
        .filter(|f| f["kind"] == "legacy_system_node_binding")
        .collect();
    assert_eq!(legacy.len(), 1, "{items:?}");
    assert_eq!(legacy[0]["binding"], "ClusterRoleBinding/system:node");
    assert_eq!(legacy[0]["subject"], "Group \"system:nodes\"");
    assert_eq!(legacy[0]["severity"], "high");
    // 700 relies_on_rbac plus the 6 whose admission is unknown: all 706 were authorized only
    // by the legacy binding.
    assert_eq!(legacy[0]["requests_using"], 706);

    let r = &summary["readiness"];
    assert_eq!(r["ready"], false);
    assert_eq!(r["line"], NOT_SAFE_LINE);
}

/// The legacy binding present in the cluster dump.
#[test]
fn legacy_binding_in_objects_is_a_finding_and_not_safe_to_remove() {
    let args = [
        "analyze",
        LOG,
        "--objects",
        OBJECTS,
        LEGACY_OBJECT,
        "--authorization-mode",
        "RBAC",
        "--kube-version",
        "1.19",
    ];
    let doc = ok_json(&run(&[&args[..], &["--format", "json"]].concat()));
    assert_legacy_finding_and_not_safe(&doc);
    let table = run(&args);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.lines()
            .any(|l| l.trim() == format!("Readiness: {NOT_SAFE_LINE}")),
        "{text}"
    );
}

/// The same binding added with `--legacy-binding` must be reported the same way.
#[test]
fn legacy_binding_flag_is_a_finding_and_not_safe_to_remove() {
    let doc = ok_json(&incident(&[
        "--authorization-mode",
        "RBAC",
        "--kube-version",
        "1.19",
        "--legacy-binding",
        "--format",
        "json",
    ]));
    assert_legacy_finding_and_not_safe(&doc);
}

/// `--legacy-binding` is a hypothetical change of the target; the log was recorded without it
/// (every request refused), so the model of the recorded configuration must not include it.
#[test]
fn legacy_binding_flag_does_not_change_the_recorded_configuration() {
    let doc = ok_json(&incident(&["--legacy-binding", "--format", "json"]));
    let a = &doc["summary"]["agreement"];
    assert_eq!(modes(a), "RBAC", "{a}");
    assert_eq!(
        (a["compared"].clone(), a["agreed"].clone()),
        (705.into(), 705.into())
    );
    assert_eq!(a["disagreements_total"], 0);
}
