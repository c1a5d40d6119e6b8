//! `parse_kubelet_log` on whole logs: raw klog, journalctl (default and short-iso), structured
//! klog with a multi-line value, JSON logging; counts, times, ties and distinct requests.

use nodeauthz::kubelet_log::{
    parse_kubelet_log, DeniedRequest, KubeletLogReport, LogTime, NODE_NOT_FOUND_WINDOW_LINES,
};
use proptest::prelude::*;

fn fixture(name: &str) -> KubeletLogReport {
    let path = format!(
        "{}/fixtures/kubelet-logs/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_kubelet_log(&text)
}

/// (line, verb, resource, subresource, namespace, name, path, reason) of every denial.
fn summary(d: &DeniedRequest) -> (u64, &str, &str, &str, &str, &str, &str, &str) {
    (
        d.line,
        d.verb.as_str(),
        d.resource.as_str(),
        d.subresource.as_str(),
        d.namespace.as_str(),
        d.name.as_str(),
        d.path.as_str(),
        d.reason.as_str(),
    )
}

fn time(year: Option<u16>, h: u8, mi: u8, s: u8, us: u32) -> Option<LogTime> {
    Some(LogTime {
        year,
        month: 11,
        day: 2,
        hour: h,
        minute: mi,
        second: s,
        micros: us,
    })
}

#[test]
fn raw_klog_incident() {
    let r = fixture("incident-raw.log");
    assert_eq!(r.lines, 12);
    assert_eq!(r.skipped, 4);
    let got: Vec<_> = r.denied.iter().map(summary).collect();
    assert_eq!(
        got,
        [
            (3, "list", "nodes", "", "", "node1", "", ""),
            (5, "get", "leases", "", "kube-node-lease", "node1", "", ""),
            (6, "get", "nodes", "", "", "node1", "", ""),
            (7, "list", "nodes", "", "", "node1", "", ""),
            (
                11,
                "list",
                "secrets",
                "",
                "default",
                "db-pass",
                "",
                "no relationship found between node 'node1' and this object"
            ),
            (12, "get", "", "", "", "", "/healthz", ""),
        ]
    );
    assert!(r.denied.iter().all(|d| d.username == "system:node:node1"));
    assert!(r
        .denied
        .iter()
        .all(|d| d.node_hint.as_deref() == Some("node1")));
    assert_eq!(r.denied[1].api_group, "coordination.k8s.io");
    assert_eq!(r.denied[0].time, time(None, 8, 0, 1, 123_456));
    assert_eq!(r.denied[0].source.as_deref(), Some("reflector.go:127"));
    assert!(!r.denied[5].resource_request);

    // Lines 4 and 10; the second is 67 s after the last node read, outside the ±30 s window.
    let nnf: Vec<_> = r
        .node_not_found
        .iter()
        .map(|n| (n.node.as_str(), n.line, n.related_denials.clone()))
        .collect();
    assert_eq!(nnf, [("node1", 4, vec![0, 2, 3]), ("node1", 10, vec![])]);

    let distinct: Vec<_> = r
        .distinct
        .iter()
        .map(|d| {
            (
                d.key.verb.as_str(),
                d.key.resource.as_str(),
                d.count,
                d.first_line,
            )
        })
        .collect();
    assert_eq!(
        distinct,
        [
            ("list", "nodes", 2, 3),
            ("get", "leases", 1, 5),
            ("get", "nodes", 1, 6),
            ("list", "secrets", 1, 11),
            ("get", "", 1, 12),
        ]
    );
}

#[test]
fn journalctl_default_and_short_iso_prefixes() {
    let r = fixture("incident-journal.log");
    assert_eq!(r.lines, 7);
    assert_eq!(r.skipped, 3);
    let got: Vec<_> = r
        .denied
        .iter()
        .map(|d| (d.line, d.verb.as_str(), d.resource.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, "list", "nodes"),
            (5, "get", "leases"),
            (6, "get", "nodes")
        ]
    );
    // klog's time wins; the short-iso prefix lends its year.
    assert_eq!(r.denied[0].time, time(None, 8, 0, 1, 123_456));
    assert_eq!(r.denied[2].time, time(Some(2026), 8, 0, 3, 0));
    assert_eq!(r.node_not_found.len(), 1);
    assert_eq!(r.node_not_found[0].line, 4);
    assert_eq!(r.node_not_found[0].related_denials, [0, 2]);
}

#[test]
fn structured_klog_with_multi_line_value() {
    let r = fixture("structured-1.31.log");
    assert_eq!(r.lines, 12);
    assert_eq!(r.skipped, 4);
    let got: Vec<_> = r.denied.iter().map(summary).collect();
    assert_eq!(
        got,
        [
            (2, "list", "nodes", "", "", "node1", "", ""),
            (3, "create", "nodes", "", "", "", "", ""),
            (5, "get", "leases", "", "kube-node-lease", "node1", "", ""),
            (
                6,
                "list",
                "pods",
                "",
                "",
                "",
                "",
                "can only list/watch pods with spec.nodeName field selector"
            ),
            (
                7,
                "get",
                "nodes",
                "",
                "",
                "node-b",
                "",
                "node 'node1' cannot read 'node-b', only its own Node object"
            ),
            (9, "watch", "nodes", "", "", "node1", "", ""),
        ]
    );
    // The continuation line has no klog header: its journal prefix gives the time.
    assert_eq!(r.denied[5].time, time(None, 8, 0, 5, 0));
    // Without a prefix, it would take the time of its entry (line 8).
    let text = std::fs::read_to_string(format!(
        "{}/fixtures/kubelet-logs/structured-1.31.log",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let bare: Vec<&str> = text
        .lines()
        .map(|l| l.split_once("kubelet[2041]: ").map_or(l, |(_, rest)| rest))
        .collect();
    let r2 = parse_kubelet_log(&bare.join("\n"));
    assert_eq!(r2.denied.len(), 6);
    assert_eq!(r2.denied[5].time, time(None, 8, 0, 5, 250_000));
    assert_eq!(r.denied[5].source, None);
    assert_eq!(
        r.denied[0].message,
        r#"nodes "node1" is forbidden: User "system:node:node1" cannot list resource "nodes" in API group "" at the cluster scope"#
    );
    let nnf: Vec<_> = r
        .node_not_found
        .iter()
        .map(|n| (n.line, n.related_denials.clone()))
        .collect();
    // Line 11 is at 08:00:34: the read at 08:00:04 is exactly 30 s before and still tied.
    assert_eq!(nnf, [(4, vec![0, 4, 5]), (11, vec![4, 5])]);
}

#[test]
fn json_logging_format() {
    let r = fixture("json-format.log");
    assert_eq!((r.lines, r.skipped), (3, 1));
    assert_eq!(r.denied.len(), 1);
    assert_eq!(r.denied[0].verb, "list");
    assert_eq!(r.denied[0].time, time(Some(2026), 8, 0, 1, 123_456));
    assert_eq!(r.node_not_found.len(), 1);
    assert_eq!(r.node_not_found[0].related_denials, [0]);
}

#[test]
fn without_timestamps_ties_are_by_adjacency() {
    let read = r#"nodes "n1" is forbidden: User "system:node:n1" cannot get resource "nodes" in API group "" at the cluster scope"#;
    let mut lines = vec![read.to_string(), r#"node "n1" not found"#.to_string()];
    let gap = NODE_NOT_FOUND_WINDOW_LINES as usize;
    lines.extend(std::iter::repeat_n("filler".to_string(), gap));
    lines.push(read.to_string());
    lines.push(read.replace("system:node:n1", "system:node:n2"));
    let r = parse_kubelet_log(&lines.join("\n"));
    assert_eq!(r.denied.len(), 3);
    // Line 1 is adjacent; line 8 is 6 lines away, one more than the window; n2's read is not n1's.
    assert_eq!(r.node_not_found[0].related_denials, [0]);
    assert_eq!(r.skipped, gap as u64);
    assert_eq!(r.distinct.len(), 2);
    assert_eq!(r.distinct[0].count, 2);
}

#[test]
fn crlf_and_missing_final_newline() {
    let text = "E1102 08:00:01.000000 1 a.go:1] node \"x\" not found\r\nI1102 08:00:02.000000 1 a.go:1] ok\r\n";
    let r = parse_kubelet_log(text);
    assert_eq!((r.lines, r.skipped, r.node_not_found.len()), (2, 1, 1));
    assert_eq!(r.node_not_found[0].node, "x");
    let r = parse_kubelet_log("");
    assert_eq!((r.lines, r.skipped), (0, 0));
    let r = parse_kubelet_log("\n");
    assert_eq!((r.lines, r.skipped), (1, 1));
}

#[test]
fn error_quoted_inside_free_text_is_found() {
    // An error embedded with %q in an unstructured message keeps one level of escaping.
    let line = r#"E1102 08:00:01.000000 1 a.go:1] sync failed: "nodes \"n1\" is forbidden: User \"system:node:n1\" cannot get resource \"nodes\" in API group \"\" at the cluster scope""#;
    let r = parse_kubelet_log(line);
    assert_eq!(r.denied.len(), 1);
    assert_eq!(r.denied[0].name, "n1");
}

proptest! {
    #[test]
    fn arbitrary_logs_never_panic(s in "\\PC*") {
        let r = parse_kubelet_log(&s);
        prop_assert!(r.skipped <= r.lines);
    }

    #[test]
    fn line_shaped_soup_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("Nov 02 08:00:01 node1 kubelet[1]: "), Just("2026-11-02T08:00:01+0000 h k: "),
        Just("E1102 08:00:01.123456    1234 a.go:1] "), Just("\"Unhandled Error\" err="),
        Just("\""), Just("\\\""), Just("nodes \"n\" is forbidden: User \"system:node:n\" cannot "),
        Just("get resource \"nodes\" in API group \"\" at the cluster scope"), Just(": r"),
        Just("node \"n\" not found"), Just("\n"), Just("{\"ts\":1e300,\"msg\":\"x\"}"),
        Just("{\"ts\":-5}"), Just("=<"), Just("\t"), Just("é"),
    ], 0..30)) {
        let s: String = parts.concat();
        let r = parse_kubelet_log(&s);
        prop_assert!(r.skipped <= r.lines);
        for n in &r.node_not_found {
            prop_assert!(n.related_denials.iter().all(|&i| i < r.denied.len()));
        }
    }
}

#[test]
fn denials_become_authorizer_attributes() {
    let r = fixture("incident-raw.log");
    let a = r.denied[0].attributes();
    assert_eq!(a.username, "system:node:node1");
    assert_eq!(a.groups, ["system:nodes", "system:authenticated"]);
    assert!(a.resource_request);
    assert_eq!(
        (a.verb.as_str(), a.resource.as_str(), a.name.as_str()),
        ("list", "nodes", "node1")
    );
    // The name of a list came from a metadata.name field selector.
    assert_eq!(a.field_requirements.len(), 1);
    assert_eq!(a.field_requirements[0].field, "metadata.name");
    assert!(a.field_requirements[0].equals);
    assert_eq!(a.field_requirements[0].value, "node1");
    let lease = r.denied[1].attributes();
    assert_eq!(lease.api_group, "coordination.k8s.io");
    assert_eq!(lease.namespace, "kube-node-lease");
    assert!(lease.field_requirements.is_empty());
    let healthz = r.denied[5].attributes();
    assert!(!healthz.resource_request);
    assert_eq!(healthz.path, "/healthz");

    let sa = parse_kubelet_log(
        r#"forbidden: User "system:serviceaccount:kube-system:x" cannot get path "/metrics""#,
    );
    assert_eq!(
        sa.denied[0].attributes().groups,
        [
            "system:serviceaccounts",
            "system:serviceaccounts:kube-system",
            "system:authenticated"
        ]
    );
    let anon = parse_kubelet_log(r#"forbidden: User "system:anonymous" cannot get path "/""#);
    assert_eq!(
        anon.denied[0].attributes().groups,
        ["system:unauthenticated"]
    );
}

#[test]
fn joined_reasons_keep_their_newline_in_structured_values() {
    // Two authorizers with non-empty reasons are joined with "\n" (spec section 2).
    let line = r#"E1102 08:00:01.000000 1 a.go:1] "Unhandled Error" err="secrets \"s\" is forbidden: User \"system:node:n1\" cannot get resource \"secrets\" in API group \"\" in the namespace \"ns\": no relationship found between node 'n1' and this object\nRBAC: role.rbac.authorization.k8s.io \"r\" not found" logger="UnhandledError""#;
    let r = parse_kubelet_log(line);
    assert_eq!(r.denied.len(), 1);
    assert_eq!(
        r.denied[0].reason,
        "no relationship found between node 'n1' and this object\nRBAC: role.rbac.authorization.k8s.io \"r\" not found"
    );
    assert_eq!(r.skipped, 0);
}
