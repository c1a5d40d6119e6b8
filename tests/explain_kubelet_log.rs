//! `nodeauthz explain --kubelet-log`: node1's kubelet log of the incident's phase 1
//! (`fixtures/incident-phases/kubelet.log`, and the same lines through journalctl) with the
//! apiserver manifest, through the built binary: the distinct refusals, their counts, each
//! explained, and the fix.

mod incident_support;

use incident_support::{arg, args, fixture, json_ok, run, stdout_ok};
use nodeauthz::explain::LEGACY_BINDING_WARNING;
use serde_json::{json, Value};

const ADD_NODE: &str = "add Node to --authorization-mode (--authorization-mode=Node,RBAC)";
const LEGACY: &str =
    "bind ClusterRole system:node to Group system:nodes (the legacy ClusterRoleBinding)";
const LEGACY_REASON: &str = "RBAC: allowed by ClusterRoleBinding \"system:node\" of ClusterRole \"system:node\" to Group \"system:nodes\"";
const NO_REQUEST_OBJECT: &str =
    "the log has no requestObject (the audit level is below Request, or the request was refused before its body was read); needed for the name of the new Node";

/// One distinct refusal of node1's log: the message, then the request it stands for
/// (verb, resource, namespace, name).
struct Refusal {
    message: &'static str,
    verb: &'static str,
    resource: &'static str,
    namespace: &'static str,
    name: &'static str,
    /// Whether the `node "node1" not found` lines are tied to it (the node reads).
    node_read: bool,
}

/// In order of first appearance in the log.
const REFUSALS: [Refusal; 6] = [
    Refusal {
        message: "nodes is forbidden: User \"system:node:node1\" cannot create resource \"nodes\" in API group \"\" at the cluster scope",
        verb: "create",
        resource: "nodes",
        namespace: "",
        name: "",
        node_read: false,
    },
    Refusal {
        message: "leases.coordination.k8s.io \"node1\" is forbidden: User \"system:node:node1\" cannot get resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"kube-node-lease\"",
        verb: "get",
        resource: "leases",
        namespace: "kube-node-lease",
        name: "node1",
        node_read: false,
    },
    Refusal {
        message: "nodes \"node1\" is forbidden: User \"system:node:node1\" cannot list resource \"nodes\" in API group \"\" at the cluster scope",
        verb: "list",
        resource: "nodes",
        namespace: "",
        name: "node1",
        node_read: true,
    },
    Refusal {
        message: "services is forbidden: User \"system:node:node1\" cannot list resource \"services\" in API group \"\" at the cluster scope",
        verb: "list",
        resource: "services",
        namespace: "",
        name: "",
        node_read: false,
    },
    Refusal {
        message: "pods is forbidden: User \"system:node:node1\" cannot list resource \"pods\" in API group \"\" at the cluster scope",
        verb: "list",
        resource: "pods",
        namespace: "",
        name: "",
        node_read: false,
    },
    Refusal {
        message: "nodes \"node1\" is forbidden: User \"system:node:node1\" cannot get resource \"nodes\" in API group \"\" at the cluster scope",
        verb: "get",
        resource: "nodes",
        namespace: "",
        name: "node1",
        node_read: true,
    },
];

/// The log's lines, read independently of the tool.
fn log_lines(file: &str) -> Vec<String> {
    std::fs::read_to_string(fixture(&format!("incident-phases/{file}")))
        .expect("kubelet log")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// 1-based numbers of the lines containing `needle`.
fn lines_with(lines: &[String], needle: &str) -> Vec<u64> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

fn diagnose(log: &str, manifest: &str, extra: &[&str]) -> Value {
    let mut a = args(&[
        "explain",
        "--kubelet-log",
        &arg(&format!("incident-phases/{log}")),
        "--apiserver-manifest",
        &arg(&format!("incident-phases/{manifest}")),
        "--objects",
        &arg("incident-phases/objects.json"),
        "--format",
        "json",
    ]);
    a.extend(args(extra));
    json_ok(&a, None)
}

/// An explanation of one refusal with both authorizers silent and nothing to admit.
fn forbidden_under_rbac(r: &Refusal) -> Value {
    json!({
        "node": "node1",
        "verb": r.verb,
        "resource": r.resource,
        "subresource": "",
        "namespace": r.namespace,
        "name": r.name,
        "node_authorizer": {"decision": "no_opinion", "reason": ""},
        "node_restriction": {"decision": "not_applicable", "reason": ""},
        "rbac": {"decision": "no_opinion", "reason": ""},
        "verdict": "forbidden",
        "verdict_reason": "",
        "path": [],
        "evidence": "not_consulted",
        "evidence_detail": null,
        // The model refuses with exactly the message the kubelet printed.
        "forbidden_message": r.message,
    })
}

/// Checks the phase 1 diagnosis of `log` against the log's own lines.
fn check_rbac_diagnosis(log: &str) {
    let lines = log_lines(log);
    let d = diagnose(log, "kube-apiserver.yaml", &[]);
    assert_eq!(d["scenario"], "RBAC +NodeRestriction v1.19.16");
    assert_eq!(d["lines"], lines.len() as u64);
    // 538 refusals, 574 `node "node1" not found`, the rest (59 retry-count lines, 5 start-up
    // lines, journalctl's header) are not authorization errors.
    let not_found = lines_with(&lines, "kubelet.go:2209] node \"node1\" not found");
    assert_eq!(not_found.len(), 574);
    assert_eq!(d["refusals"], 538);
    assert_eq!(d["skipped"], lines.len() as u64 - 538 - 574);

    let distinct = d["distinct"].as_array().expect("distinct");
    assert_eq!(distinct.len(), REFUSALS.len());
    let mut total = 0;
    for (got, want) in distinct.iter().zip(&REFUSALS) {
        let at = lines_with(&lines, want.message);
        total += at.len() as u64;
        assert_eq!(got["message"], want.message);
        assert_eq!(got["count"], at.len() as u64, "{}", want.message);
        assert_eq!(got["first_line"], at[0], "{}", want.message);
        let tied: Vec<u64> = if want.node_read {
            not_found.clone()
        } else {
            vec![]
        };
        assert_eq!(got["node_not_found_lines"], json!(tied), "{}", want.message);
        assert_eq!(got["explanation"], forbidden_under_rbac(want));
        assert_eq!(got["compared"], json!([]));
    }
    assert_eq!(total, 538, "every refusal is in one distinct entry");
    assert_eq!(
        distinct
            .iter()
            .map(|e| e["count"].as_u64())
            .collect::<Vec<_>>(),
        [90, 89, 21, 22, 21, 295].map(Some),
        "the counts of the fixture's README"
    );

    assert_eq!(
        d["fixes"],
        json!([
            {
                "change": ADD_NODE,
                "scenario": "Node,RBAC +NodeRestriction v1.19.16",
                "allows": 6,
                "of": 6,
                "discouraged": null,
            },
            {
                "change": LEGACY,
                "scenario": "RBAC +NodeRestriction v1.19.16 +binding:system:node",
                "allows": 6,
                "of": 6,
                "discouraged": LEGACY_BINDING_WARNING,
            },
        ])
    );
    assert_eq!(d["fix"], ADD_NODE);
}

#[test]
fn raw_klog_rbac_only_every_refusal_explained_and_the_fix_is_the_node_authorizer() {
    check_rbac_diagnosis("kubelet.log");
}

#[test]
fn journalctl_log_gives_the_same_diagnosis_one_line_later() {
    check_rbac_diagnosis("kubelet.journal.log");
    let raw = diagnose("kubelet.log", "kube-apiserver.yaml", &[]);
    let journal = diagnose("kubelet.journal.log", "kube-apiserver.yaml", &[]);
    // journalctl's `-- Logs begin at … --` header is the only extra line.
    assert_eq!(
        journal["lines"].as_u64(),
        raw["lines"].as_u64().map(|n| n + 1)
    );
    assert_eq!(
        journal["skipped"].as_u64(),
        raw["skipped"].as_u64().map(|n| n + 1)
    );
    for key in ["scenario", "refusals", "fixes", "fix"] {
        assert_eq!(journal[key], raw[key], "{key}");
    }
    let shift = |v: &Value| v.as_u64().map(|n| n + 1);
    for (j, r) in journal["distinct"]
        .as_array()
        .expect("distinct")
        .iter()
        .zip(raw["distinct"].as_array().expect("distinct"))
    {
        for key in ["message", "count", "explanation", "compared"] {
            assert_eq!(j[key], r[key], "{key}");
        }
        assert_eq!(j["first_line"].as_u64(), shift(&r["first_line"]));
        let lines: Vec<Option<u64>> = r["node_not_found_lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(shift)
            .collect();
        let got: Vec<Option<u64>> = j["node_not_found_lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(Value::as_u64)
            .collect();
        assert_eq!(got, lines);
    }
}

#[test]
fn every_flag_the_tool_does_not_model_is_listed() {
    let manifest =
        std::fs::read_to_string(fixture("incident-phases/kube-apiserver.yaml")).expect("manifest");
    let unmodelled: Vec<String> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- --"))
        .map(|f| f.split('=').next().unwrap_or(f).to_string())
        .filter(|f| f != "authorization-mode" && f != "enable-admission-plugins")
        .map(|f| format!("--{f}"))
        .collect();
    assert_eq!(unmodelled.len(), 35, "the README's count");
    let out = run(
        &args(&[
            "explain",
            "--kubelet-log",
            &arg("incident-phases/kubelet.log"),
            "--apiserver-manifest",
            &arg("incident-phases/kube-apiserver.yaml"),
            "--objects",
            &arg("incident-phases/objects.json"),
        ]),
        None,
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "nodeauthz: apiserver flags not modelled (35): {}\n",
            unmodelled.join(" ")
        )
    );
}

#[test]
fn compare_columns_show_what_each_scenario_does_with_each_refusal() {
    let d = diagnose(
        "kubelet.log",
        "kube-apiserver.yaml",
        &["--compare", "RBAC", "RBAC+binding:system:node", "Node,RBAC"],
    );
    let distinct = d["distinct"].as_array().expect("distinct");
    assert_eq!(distinct.len(), 6);
    for (got, want) in distinct.iter().zip(&REFUSALS) {
        let cols = got["compared"].as_array().expect("compared");
        let labels: Vec<&str> = cols.iter().filter_map(|c| c[0].as_str()).collect();
        assert_eq!(labels, ["RBAC", "RBAC+binding:system:node", "Node,RBAC"]);
        // The recorded configuration, as a column: the same as the scenario.
        assert_eq!(cols[0][1], forbidden_under_rbac(want), "{}", want.message);
        let (legacy, node) = (&cols[1][1], &cols[2][1]);
        assert_eq!(legacy["rbac"]["decision"], "allow");
        assert_eq!(legacy["rbac"]["reason"], LEGACY_REASON);
        assert_eq!(legacy["node_authorizer"]["decision"], "no_opinion");
        assert_eq!(node["node_authorizer"]["decision"], "allow");
        assert_eq!(node["node_authorizer"]["reason"], "");
        assert_eq!(node["rbac"]["decision"], "no_opinion");
        for col in [legacy, node] {
            assert_eq!(col["forbidden_message"], Value::Null, "{}", want.message);
        }
        if want.verb == "create" {
            // A kubelet log has no Node object: NodeRestriction cannot check its name.
            for col in [legacy, node] {
                assert_eq!(
                    col["node_restriction"],
                    json!({"decision": "unknown", "reason": NO_REQUEST_OBJECT})
                );
                assert_eq!(col["verdict"], "indeterminate");
                assert_eq!(col["verdict_reason"], NO_REQUEST_OBJECT);
            }
        } else {
            assert_eq!(legacy["verdict"], "relies_on_rbac", "{}", want.message);
            assert_eq!(legacy["verdict_reason"], LEGACY_REASON);
            assert_eq!(node["verdict"], "allowed_by_node", "{}", want.message);
            assert_eq!(node["verdict_reason"], "");
        }
    }
    // --compare changes nothing else.
    let plain = diagnose("kubelet.log", "kube-apiserver.yaml", &[]);
    for key in ["scenario", "lines", "skipped", "refusals", "fixes", "fix"] {
        assert_eq!(d[key], plain[key], "{key}");
    }
}

#[test]
fn stdin_gives_the_same_diagnosis() {
    let log = std::fs::read(fixture("incident-phases/kubelet.log")).expect("log");
    let from_stdin = json_ok(
        &args(&[
            "explain",
            "--kubelet-log",
            "-",
            "--apiserver-manifest",
            &arg("incident-phases/kube-apiserver.yaml"),
            "--objects",
            &arg("incident-phases/objects.json"),
            "--format",
            "json",
        ]),
        Some(&log),
    );
    assert_eq!(
        from_stdin,
        diagnose("kubelet.log", "kube-apiserver.yaml", &[])
    );
}

#[test]
fn text_format_lists_the_refusals_the_fixes_and_the_smallest_fix() {
    let text = stdout_ok(
        &args(&[
            "explain",
            "--kubelet-log",
            &arg("incident-phases/kubelet.log"),
            "--apiserver-manifest",
            &arg("incident-phases/kube-apiserver.yaml"),
            "--objects",
            &arg("incident-phases/objects.json"),
        ]),
        None,
    );
    assert!(text.starts_with(
        "kubelet log: 1176 lines, 538 refusals (6 distinct requests), 64 lines without authorization errors\n\
         scenario: RBAC +NodeRestriction v1.19.16\n\n"
    ));
    let lines = log_lines("kubelet.log");
    for (i, r) in REFUSALS.iter().enumerate() {
        let at = lines_with(&lines, r.message);
        let header = format!(
            "\n[{}] {}× from line {}: {}\n",
            i + 1,
            at.len(),
            at[0],
            r.message
        );
        assert!(text.contains(&header), "text lacks {header:?}:\n{text}");
        let said = format!("    apiserver says:   {}\n", r.message);
        assert!(text.contains(&said), "text lacks {said:?}");
    }
    assert_eq!(
        text.matches("explains 574 `node \"…\" not found` lines (first at line 7)\n")
            .count(),
        2,
        "the two node reads"
    );
    assert_eq!(text.matches("    verdict:          forbidden\n").count(), 6);
    assert!(text.ends_with(&format!(
        "\nFixes:\n  - {ADD_NODE}: allows 6 of 6 refused requests\n  - {LEGACY}: allows 6 of 6 refused requests\n      {LEGACY_BINDING_WARNING}\n\nSmallest fix: {ADD_NODE}\n"
    )));
}

/// Under `Node,RBAC` (phase 3's manifest) the Node authorizer allows every request of the log.
#[test]
fn under_the_phase3_manifest_the_node_authorizer_allows_every_logged_request() {
    let d = diagnose("kubelet.log", "kube-apiserver.phase3.yaml", &[]);
    assert_eq!(d["scenario"], "Node,RBAC +NodeRestriction v1.19.16");
    assert_eq!(d["refusals"], 538, "what the log says happened");
    let distinct = d["distinct"].as_array().expect("distinct");
    assert_eq!(distinct.len(), 6);
    for (got, want) in distinct.iter().zip(&REFUSALS) {
        let e = &got["explanation"];
        assert_eq!(
            e["node_authorizer"],
            json!({"decision": "allow", "reason": ""}),
            "{}",
            want.message
        );
        assert_eq!(e["forbidden_message"], Value::Null, "{}", want.message);
        if want.verb == "create" {
            assert_eq!(e["verdict"], "indeterminate");
            assert_eq!(e["verdict_reason"], NO_REQUEST_OBJECT);
        } else {
            assert_eq!(e["verdict"], "allowed_by_node", "{}", want.message);
            assert_eq!(e["verdict_reason"], "");
        }
    }
}

/// Under `Node,RBAC` no request of the log would be refused by authorization, so there is
/// nothing to fix: no candidate change, no `fix`, and the text says so. The node registration
/// stays `indeterminate` (NodeRestriction needs the Node object), which no authorization change
/// can alter.
#[test]
fn under_the_phase3_manifest_no_refusal_would_occur_and_no_fix_is_suggested() {
    let d = diagnose("kubelet.log", "kube-apiserver.phase3.yaml", &[]);
    assert_eq!(d["fixes"], json!([]));
    assert_eq!(d["fix"], Value::Null);
    let text = stdout_ok(
        &args(&[
            "explain",
            "--kubelet-log",
            &arg("incident-phases/kubelet.log"),
            "--apiserver-manifest",
            &arg("incident-phases/kube-apiserver.phase3.yaml"),
            "--objects",
            &arg("incident-phases/objects.json"),
        ]),
        None,
    );
    assert!(
        text.ends_with("\nFixes:\n\nNo configuration change needed.\n"),
        "{text}"
    );
    assert!(!text.contains("Smallest fix"));
    assert!(!text.contains(LEGACY));
}

/// The diagnosis with the configuration given as flags instead of the manifest.
fn diagnose_with_flags(flags: &[&str]) -> Value {
    let mut a = args(&[
        "explain",
        "--kubelet-log",
        &arg("incident-phases/kubelet.log"),
    ]);
    a.extend(args(flags));
    a.extend(args(&[
        "--kube-version",
        "1.19.16",
        "--objects",
        &arg("incident-phases/objects.json"),
        "--format",
        "json",
    ]));
    json_ok(&a, None)
}

#[test]
fn apiserver_flags_give_the_same_diagnosis_as_the_manifest() {
    let manifest = diagnose("kubelet.log", "kube-apiserver.yaml", &[]);
    let flags = diagnose_with_flags(&[
        "--apiserver-flags=--authorization-mode=RBAC --enable-admission-plugins=NodeRestriction",
    ]);
    assert_eq!(flags, manifest);
}

/// `--apiserver-flags "--authorization-mode=RBAC …"`, as the help and the issue write it: the
/// value starts with `--`, as kube-apiserver flags always do.
#[test]
fn apiserver_flags_value_may_start_with_dashes() {
    let manifest = diagnose("kubelet.log", "kube-apiserver.yaml", &[]);
    let flags = diagnose_with_flags(&[
        "--apiserver-flags",
        "--authorization-mode=RBAC --enable-admission-plugins=NodeRestriction",
    ]);
    assert_eq!(flags, manifest);
}
