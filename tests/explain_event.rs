//! `nodeauthz explain EVENT`: one audit event through the built binary, authorizer by
//! authorizer, against the small cluster of `fixtures/explain/objects.json` (node1 runs pod
//! `ns/web-1` with secret `db`; node2 runs pod `ns/api-2` with secret `api-token`).

mod incident_support;

use incident_support::{arg, args, fixture, json_ok, run, stdout_ok};
use serde_json::{json, Value};

/// `explain <event> --objects fixtures/explain/objects.json --format json`, plus `extra`.
fn explain_json(event: &str, extra: &[&str]) -> Value {
    let mut a = vec![
        "explain".to_string(),
        arg(&format!("explain/{event}")),
        "--objects".into(),
        arg("explain/objects.json"),
        "--format".into(),
        "json".into(),
    ];
    a.extend(args(extra));
    json_ok(&a, None)
}

/// The JSON of an authorizer's answer.
fn answer(decision: &str, reason: &str) -> Value {
    json!({"decision": decision, "reason": reason})
}

const NO_RELATIONSHIP: &str = "no relationship found between node 'node1' and this object";
const API_TOKEN_FORBIDDEN: &str = "secrets \"api-token\" is forbidden: User \"system:node:node1\" cannot get resource \"secrets\" in API group \"\" in the namespace \"ns\"";

#[test]
fn secret_of_a_pod_on_the_node_is_allowed_along_the_graph_path() {
    let got = explain_json("secret-own-pod.json", &[]);
    assert_eq!(
        got,
        json!({
            "node": "node1",
            "verb": "get",
            "resource": "secrets",
            "subresource": "",
            "namespace": "ns",
            "name": "db",
            "node_authorizer": answer("allow", ""),
            "node_restriction": answer("not_applicable", ""),
            "rbac": answer("no_opinion", ""),
            "verdict": "allowed_by_node",
            "verdict_reason": "",
            // Vertex names as the graph renders them: `<kind> <namespace>/<name>`.
            "path": ["secret ns/db", "pod ns/web-1", "node node1"],
            "evidence": "path",
            "evidence_detail": null,
            "forbidden_message": null,
        })
    );
}

#[test]
fn secret_of_a_pod_on_another_node_is_forbidden_with_the_apiserver_message() {
    let got = explain_json("secret-other-node.json", &[]);
    assert_eq!(
        got,
        json!({
            "node": "node1",
            "verb": "get",
            "resource": "secrets",
            "subresource": "",
            "namespace": "ns",
            "name": "api-token",
            "node_authorizer": answer("no_opinion", NO_RELATIONSHIP),
            "node_restriction": answer("not_applicable", ""),
            "rbac": answer("no_opinion", ""),
            "verdict": "forbidden",
            "verdict_reason": NO_RELATIONSHIP,
            "path": [],
            // The dump has every pod of node1, so the missing path is a real "no".
            "evidence": "no_path",
            "evidence_detail": null,
            "forbidden_message": format!("{API_TOKEN_FORBIDDEN}: {NO_RELATIONSHIP}"),
        })
    );
}

#[test]
fn lease_of_another_node_is_refused_by_name_without_the_graph() {
    let got = explain_json("lease-other-node.json", &[]);
    let reason = "can only access node lease with the same name as the requesting node";
    assert_eq!(
        got,
        json!({
            "node": "node1",
            "verb": "get",
            "resource": "leases",
            "subresource": "",
            "namespace": "kube-node-lease",
            "name": "node2",
            "node_authorizer": answer("no_opinion", reason),
            "node_restriction": answer("not_applicable", ""),
            "rbac": answer("no_opinion", ""),
            "verdict": "forbidden",
            "verdict_reason": reason,
            "path": [],
            "evidence": "not_consulted",
            "evidence_detail": null,
            "forbidden_message": format!(
                "leases.coordination.k8s.io \"node2\" is forbidden: User \"system:node:node1\" cannot get resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"kube-node-lease\": {reason}"
            ),
        })
    );
}

#[test]
fn kube_version_1_17_quotes_the_node_name_with_go_q() {
    let got = explain_json("secret-other-node.json", &["--kube-version", "1.17"]);
    let reason = "no relationship found between node \"node1\" and this object";
    assert_eq!(got["node_authorizer"], answer("no_opinion", reason));
    assert_eq!(got["verdict"], "forbidden");
    assert_eq!(got["verdict_reason"], reason);
    assert_eq!(
        got["forbidden_message"],
        format!("{API_TOKEN_FORBIDDEN}: {reason}")
    );
    // 1.19 already uses single quotes.
    let got = explain_json("secret-other-node.json", &["--kube-version", "1.19"]);
    assert_eq!(got["verdict_reason"], NO_RELATIONSHIP);
}

#[test]
fn compare_columns_are_listed_in_order_with_their_own_explanation() {
    let got = explain_json(
        "secret-other-node.json",
        &[
            "--compare",
            "RBAC",
            "RBAC+binding:system:node",
            "Node,RBAC@1.17",
        ],
    );
    // The scenario itself is unchanged by --compare.
    assert_eq!(got["verdict"], "forbidden");
    assert_eq!(got["verdict_reason"], NO_RELATIONSHIP);
    let columns = got["compared"].as_array().expect("compared is an array");
    let labels: Vec<&str> = columns
        .iter()
        .map(|c| c[0].as_str().expect("label"))
        .collect();
    assert_eq!(
        labels,
        ["RBAC", "RBAC+binding:system:node", "Node,RBAC@1.17"]
    );

    // RBAC alone: no rule for nodes, no reason, the bare Forbidden message.
    let rbac = &columns[0][1];
    assert_eq!(rbac["node_authorizer"], answer("no_opinion", ""));
    assert_eq!(rbac["rbac"], answer("no_opinion", ""));
    assert_eq!(rbac["verdict"], "forbidden");
    assert_eq!(rbac["verdict_reason"], "");
    assert_eq!(rbac["evidence"], "not_consulted");
    assert_eq!(rbac["forbidden_message"], API_TOKEN_FORBIDDEN);

    // The legacy binding reads every secret: allowed, by RBAC, with the binding's reason.
    let legacy = &columns[1][1];
    let reason = "RBAC: allowed by ClusterRoleBinding \"system:node\" of ClusterRole \"system:node\" to Group \"system:nodes\"";
    assert_eq!(legacy["node_authorizer"], answer("no_opinion", ""));
    assert_eq!(legacy["rbac"], answer("allow", reason));
    assert_eq!(legacy["verdict"], "relies_on_rbac");
    assert_eq!(legacy["verdict_reason"], reason);
    assert_eq!(legacy["forbidden_message"], Value::Null);

    // Node,RBAC at 1.17: the %q reason.
    let old = &columns[2][1];
    let q = "no relationship found between node \"node1\" and this object";
    assert_eq!(old["node_authorizer"], answer("no_opinion", q));
    assert_eq!(old["verdict"], "forbidden");
    assert_eq!(old["evidence"], "no_path");
    assert_eq!(
        old["forbidden_message"],
        format!("{API_TOKEN_FORBIDDEN}: {q}")
    );

    // Without --compare there is no `compared` member.
    let plain = explain_json("secret-other-node.json", &[]);
    assert_eq!(plain.get("compared"), None);
}

#[test]
fn an_impersonated_node_is_explained_as_that_node() {
    // kubernetes-admin (system:masters) impersonating system:node:node1: the authorizers see
    // the node, not the admin.
    let got = explain_json("impersonated-secret.json", &[]);
    assert_eq!(got["node"], "node1");
    assert_eq!(
        got["node_authorizer"],
        answer("no_opinion", NO_RELATIONSHIP)
    );
    assert_eq!(got["rbac"], answer("no_opinion", ""));
    assert_eq!(got["verdict"], "forbidden");
    assert_eq!(got["verdict_reason"], NO_RELATIONSHIP);
    assert_eq!(
        got["forbidden_message"],
        format!("{API_TOKEN_FORBIDDEN}: {NO_RELATIONSHIP}")
    );
}

#[test]
fn dash_reads_the_event_from_stdin() {
    let event = std::fs::read(fixture("explain/secret-own-pod.json")).expect("event");
    let from_stdin = json_ok(
        &args(&[
            "explain",
            "-",
            "--objects",
            &arg("explain/objects.json"),
            "--format",
            "json",
        ]),
        Some(&event),
    );
    assert_eq!(from_stdin, explain_json("secret-own-pod.json", &[]));

    // Nothing readable on stdin: exit code 3 and a message naming stdin.
    let out = run(&args(&["explain", "-"]), Some(b"{}\n"));
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "nodeauthz: -: no audit event could be read\n"
    );
}

#[test]
fn text_format_shows_every_authorizer_the_path_and_the_apiserver_message() {
    let text = |event: &str, extra: &[&str]| {
        let mut a = args(&[
            "explain",
            &arg(&format!("explain/{event}")),
            "--objects",
            &arg("explain/objects.json"),
        ]);
        a.extend(args(extra));
        stdout_ok(&a, None)
    };
    assert_eq!(
        text("secret-own-pod.json", &[]),
        "scenario:         Node,RBAC +NodeRestriction\n\
         request:          node \"node1\" get secrets ns/db\n\
         Node authorizer:  allow\n\
         RBAC:             no_opinion\n\
         NodeRestriction:  not_applicable\n\
         graph:            secret ns/db → pod ns/web-1 → node node1\n\
         verdict:          allowed_by_node\n"
    );
    assert_eq!(
        text("secret-other-node.json", &["--compare", "RBAC"]),
        format!(
            "scenario:         Node,RBAC +NodeRestriction\n\
             request:          node \"node1\" get secrets ns/api-token\n\
             Node authorizer:  no_opinion ({NO_RELATIONSHIP})\n\
             RBAC:             no_opinion\n\
             NodeRestriction:  not_applicable\n\
             graph:            no path to the node (graph complete)\n\
             verdict:          forbidden ({NO_RELATIONSHIP})\n\
             apiserver says:   {API_TOKEN_FORBIDDEN}: {NO_RELATIONSHIP}\n\
             \n\
             under RBAC:\n\
             request:          node \"node1\" get secrets ns/api-token\n\
             Node authorizer:  no_opinion\n\
             RBAC:             no_opinion\n\
             NodeRestriction:  not_applicable\n\
             verdict:          forbidden\n\
             apiserver says:   {API_TOKEN_FORBIDDEN}\n"
        )
    );
}
