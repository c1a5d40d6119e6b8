//! The Node authorizer, table by table as spec sections 3-5, 8 and 13 list its behaviour.

mod authz_support;

use authz_support::{k8s_data, node_path_req, node_req, with_field, MapView};
use nodeauthz::authz::node::{static_node_rules, Decision, NodeAuthorizer};
use nodeauthz::authz::version::{FeatureGates, Gate, KubeVersion, VersionError};
use nodeauthz::authz::{Attributes, VertexKind};
use nodeauthz::cluster::rbac_types::Role;

const SECRET_PATH: &[&str] = &["secret ns/db", "pod ns/web-1", "node node-a"];

fn graph() -> MapView {
    MapView::new()
        .with_path(VertexKind::Secret, "ns", "db", "node-a", SECRET_PATH)
        .with_path(
            VertexKind::ConfigMap,
            "ns",
            "cfg",
            "node-a",
            &["configmap ns/cfg", "pod ns/web-1", "node node-a"],
        )
        .with_path(
            VertexKind::Pvc,
            "ns",
            "data",
            "node-a",
            &["pvc ns/data", "pod ns/web-1", "node node-a"],
        )
        .with_path(
            VertexKind::Pv,
            "",
            "pv-1",
            "node-a",
            &["pv pv-1", "pvc ns/data", "pod ns/web-1", "node node-a"],
        )
        .with_path(
            VertexKind::ResourceClaim,
            "ns",
            "claim",
            "node-a",
            &["resourceclaim ns/claim", "pod ns/web-1", "node node-a"],
        )
        .with_path(
            VertexKind::VolumeAttachment,
            "",
            "va-1",
            "node-a",
            &["volumeattachment va-1", "node node-a"],
        )
        .with_path(
            VertexKind::ServiceAccount,
            "ns",
            "default",
            "node-a",
            &["serviceAccount ns/default", "pod ns/web-1", "node node-a"],
        )
        .with_path(
            VertexKind::Pod,
            "ns",
            "web-1",
            "node-a",
            &["pod ns/web-1", "node node-a"],
        )
        .with_path(
            VertexKind::ResourceSlice,
            "",
            "slice-a",
            "node-a",
            &["resourceslice slice-a", "node node-a"],
        )
}

fn authorizer(version: &str, gates: Option<&str>) -> NodeAuthorizer {
    let v = KubeVersion::parse(version).expect("version");
    NodeAuthorizer::new(&FeatureGates::parse(v, gates).expect("gates"))
}

fn r(verb: &str, group: &str, resource: &str, ns: &str, name: &str) -> Attributes {
    node_req("node-a", verb, group, resource, ns, name)
}

const ALLOW: Option<&str> = None;
fn deny(reason: &str) -> Option<&str> {
    Some(reason)
}

/// Runs a table: each row is (description, request, None for allow or Some(no-opinion reason)).
fn check(authz: &NodeAuthorizer, rows: Vec<(&str, Attributes, Option<&str>)>) {
    let view = graph();
    let mut failures = Vec::new();
    for (desc, attrs, want) in rows {
        let got = authz.authorize(&attrs, &view, 0);
        let ok = match want {
            None => got.decision == Decision::Allow && got.reason.is_empty(),
            Some(reason) => got.decision == Decision::NoOpinion && got.reason == reason,
        };
        if !ok {
            failures.push(format!(
                "{desc}: want {want:?}, got {:?} {:?}",
                got.decision, got.reason
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn identity() {
    let a = authorizer("1.32", None);
    let mut not_in_group = r("get", "", "services", "ns", "svc");
    not_in_group.groups = vec!["system:authenticated".into()];
    let mut no_prefix = r("get", "", "services", "ns", "svc");
    no_prefix.username = "kubelet-bootstrap".into();
    let mut empty_name = r("get", "", "services", "ns", "svc");
    empty_name.username = "system:node:".into();
    let mut empty_name_path = node_path_req("x", "get", "/healthz");
    empty_name_path.username = "system:node:".into();
    let mut colon_name = r("get", "", "nodes", "", "a:b.c");
    colon_name.username = "system:node:a:b.c".into();
    check(
        &a,
        vec![
            (
                "system:node: user outside system:nodes",
                not_in_group,
                deny(""),
            ),
            (
                "system:nodes member without the prefix",
                no_prefix,
                deny(""),
            ),
            (
                "empty node name, static-allowed read",
                empty_name,
                deny("unknown node for user \"system:node:\""),
            ),
            (
                "empty node name, non-resource",
                empty_name_path,
                deny("unknown node for user \"system:node:\""),
            ),
            ("node name with colons and dots", colon_name, ALLOW),
        ],
    );
}

#[test]
fn secrets_and_configmaps() {
    let a = authorizer("1.32", None);
    check(
        &a,
        vec![
            (
                "get related secret",
                r("get", "", "secrets", "ns", "db"),
                ALLOW,
            ),
            (
                "watch related secret by name",
                r("watch", "", "secrets", "ns", "db"),
                ALLOW,
            ),
            (
                "list related secret by name",
                r("list", "", "secrets", "ns", "db"),
                ALLOW,
            ),
            (
                "get unrelated secret",
                r("get", "", "secrets", "ns", "other"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
            (
                "list secrets without name",
                r("list", "", "secrets", "ns", ""),
                deny("No Object name found"),
            ),
            (
                "list secrets cluster-wide",
                r("list", "", "secrets", "", ""),
                deny("can only read namespaced object of this type"),
            ),
            (
                "create secret",
                r("create", "", "secrets", "ns", ""),
                deny("can only read resources of this type"),
            ),
            (
                "update related secret",
                r("update", "", "secrets", "ns", "db"),
                deny("can only read resources of this type"),
            ),
            (
                "get secret subresource",
                r("get", "", "secrets/status", "ns", "db"),
                deny("cannot read subresource"),
            ),
            (
                "get related configmap",
                r("get", "", "configmaps", "ns", "cfg"),
                ALLOW,
            ),
            (
                "patch related configmap",
                r("patch", "", "configmaps", "ns", "cfg"),
                deny("can only read resources of this type"),
            ),
            (
                "get configmap in another namespace",
                r("get", "", "configmaps", "other", "cfg"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
        ],
    );
}

#[test]
fn get_only_and_status_update() {
    let a = authorizer("1.32", None);
    check(
        &a,
        vec![
            (
                "get related pvc",
                r("get", "", "persistentvolumeclaims", "ns", "data"),
                ALLOW,
            ),
            (
                "list pvcs",
                r("list", "", "persistentvolumeclaims", "ns", ""),
                deny("can only get individual resources of this type"),
            ),
            (
                "get pvc subresource",
                r("get", "", "persistentvolumeclaims/foo", "ns", "data"),
                deny("cannot get subresource"),
            ),
            (
                "patch related pvc status",
                r("patch", "", "persistentvolumeclaims/status", "ns", "data"),
                ALLOW,
            ),
            (
                "update unrelated pvc status",
                r("update", "", "persistentvolumeclaims/status", "ns", "x"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
            (
                "get pvc status",
                r("get", "", "persistentvolumeclaims/status", "ns", "data"),
                deny("can only get/update/patch this type"),
            ),
            (
                "get related pv",
                r("get", "", "persistentvolumes", "", "pv-1"),
                ALLOW,
            ),
            (
                "get unrelated pv",
                r("get", "", "persistentvolumes", "", "pv-2"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
            (
                "pv requested with a namespace",
                r("get", "", "persistentvolumes", "ns", "pv-1"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
            (
                "watch pvs",
                r("watch", "", "persistentvolumes", "", ""),
                deny("can only get individual resources of this type"),
            ),
            (
                "get related resourceclaim",
                r("get", "resource.k8s.io", "resourceclaims", "ns", "claim"),
                ALLOW,
            ),
            (
                "list resourceclaims",
                r("list", "resource.k8s.io", "resourceclaims", "ns", ""),
                deny("can only get individual resources of this type"),
            ),
            (
                "get related volumeattachment",
                r("get", "storage.k8s.io", "volumeattachments", "", "va-1"),
                ALLOW,
            ),
            (
                "get unrelated volumeattachment",
                r("get", "storage.k8s.io", "volumeattachments", "", "va-2"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
            (
                "get without name",
                r("get", "", "persistentvolumes", "", ""),
                deny("No Object name found"),
            ),
        ],
    );
}

#[test]
fn service_account_tokens() {
    let a = authorizer("1.32", None);
    check(
        &a,
        vec![
            (
                "token for related sa",
                r("create", "", "serviceaccounts/token", "ns", "default"),
                ALLOW,
            ),
            (
                "token for unrelated sa",
                r("create", "", "serviceaccounts/token", "ns", "other"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
            (
                "get sa (1.32)",
                r("get", "", "serviceaccounts", "ns", "default"),
                deny("can only create tokens for individual service accounts"),
            ),
            (
                "create sa without name",
                r("create", "", "serviceaccounts", "ns", ""),
                deny("can only create tokens for individual service accounts"),
            ),
            (
                "create other sa subresource",
                r("create", "", "serviceaccounts/foo", "ns", "default"),
                deny("can only create token subresource of serviceaccount"),
            ),
            (
                "create sa itself with name",
                r("create", "", "serviceaccounts", "ns", "default"),
                deny("can only create token subresource of serviceaccount"),
            ),
        ],
    );
}

#[test]
fn leases_and_csinodes() {
    let a = authorizer("1.32", None);
    let lease =
        |verb: &str, ns: &str, name: &str| r(verb, "coordination.k8s.io", "leases", ns, name);
    let csi = |verb: &str, res: &str, name: &str| r(verb, "storage.k8s.io", res, "", name);
    check(
        &a,
        vec![
            (
                "get own lease",
                lease("get", "kube-node-lease", "node-a"),
                ALLOW,
            ),
            (
                "create lease (no name)",
                lease("create", "kube-node-lease", ""),
                ALLOW,
            ),
            (
                "update other lease",
                lease("update", "kube-node-lease", "node-b"),
                deny("can only access node lease with the same name as the requesting node"),
            ),
            (
                "list leases",
                lease("list", "kube-node-lease", ""),
                deny("can only get, create, update, patch, or delete a node lease"),
            ),
            (
                "lease elsewhere",
                lease("get", "default", "node-a"),
                deny("can only access leases in the \"kube-node-lease\" system namespace"),
            ),
            ("get own csinode", csi("get", "csinodes", "node-a"), ALLOW),
            ("create csinode", csi("create", "csinodes", ""), ALLOW),
            (
                "patch other csinode",
                csi("patch", "csinodes", "node-b"),
                deny("can only access CSINode with the same name as the requesting node"),
            ),
            (
                "list csinodes",
                csi("list", "csinodes", ""),
                deny("can only get, create, update, patch, or delete a CSINode"),
            ),
            (
                "csinode subresource",
                csi("get", "csinodes/status", "node-a"),
                deny("cannot authorize CSINode subresources"),
            ),
        ],
    );
}

#[test]
fn resource_slices() {
    let a = authorizer("1.32", None);
    let s = |verb: &str, res: &str, name: &str| r(verb, "resource.k8s.io", res, "", name);
    check(&a, vec![
        ("create slice", s("create", "resourceslices", ""), ALLOW),
        ("get own slice", s("get", "resourceslices", "slice-a"), ALLOW),
        ("delete other slice", s("delete", "resourceslices", "slice-b"), deny("no relationship found between node 'node-a' and this object")),
        ("list scoped", with_field(s("list", "resourceslices", ""), "spec.nodeName", "node-a"), ALLOW),
        ("deletecollection scoped", with_field(s("deletecollection", "resourceslices", ""), "spec.nodeName", "node-a"), ALLOW),
        ("watch other node", with_field(s("watch", "resourceslices", ""), "spec.nodeName", "node-b"), deny("can only list/watch/deletecollection resourceslices with nodeName field selector")),
        ("list with 1.31 field name", with_field(s("list", "resourceslices", ""), "nodeName", "node-a"), deny("can only list/watch/deletecollection resourceslices with nodeName field selector")),
        ("list unscoped", s("list", "resourceslices", ""), deny("can only list/watch/deletecollection resourceslices with nodeName field selector")),
        ("slice subresource", s("get", "resourceslices/status", "slice-a"), deny("cannot authorize ResourceSlice subresources")),
        ("other verb", s("escalate", "resourceslices", "slice-a"), deny("only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection")),
    ]);
}

#[test]
fn nodes_with_selectors() {
    let a = authorizer("1.32", None);
    let n = |verb: &str, res: &str, name: &str| r(verb, "", res, "", name);
    check(
        &a,
        vec![
            ("get own node", n("get", "nodes", "node-a"), ALLOW),
            (
                "watch own node by name",
                n("watch", "nodes", "node-a"),
                ALLOW,
            ),
            (
                "get other node",
                n("get", "nodes", "node-b"),
                deny("node 'node-a' cannot read 'node-b', only its own Node object"),
            ),
            (
                "list all nodes",
                n("list", "nodes", ""),
                deny("node 'node-a' cannot read all nodes, only its own Node object"),
            ),
            ("create node", n("create", "nodes", ""), ALLOW),
            (
                "patch other node (NodeRestriction's job)",
                n("patch", "nodes", "node-b"),
                ALLOW,
            ),
            (
                "patch own status",
                n("patch", "nodes/status", "node-a"),
                ALLOW,
            ),
            (
                "get own status",
                n("get", "nodes/status", "node-a"),
                deny(""),
            ),
            ("delete own node", n("delete", "nodes", "node-a"), deny("")),
            (
                "deletecollection nodes",
                n("deletecollection", "nodes", ""),
                deny(""),
            ),
            ("node proxy", n("get", "nodes/proxy", "node-a"), deny("")),
        ],
    );
}

#[test]
fn pods_with_selectors() {
    let a = authorizer("1.32", None);
    let p = |verb: &str, res: &str, ns: &str, name: &str| r(verb, "", res, ns, name);
    check(
        &a,
        vec![
            ("get bound pod", p("get", "pods", "ns", "web-1"), ALLOW),
            (
                "get other pod",
                p("get", "pods", "ns", "web-2"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
            (
                "list own pods",
                with_field(p("list", "pods", "", ""), "spec.nodeName", "node-a"),
                ALLOW,
            ),
            (
                "watch other node's pods",
                with_field(p("watch", "pods", "", ""), "spec.nodeName", "node-b"),
                deny("can only list/watch pods with spec.nodeName field selector"),
            ),
            (
                "list all pods",
                p("list", "pods", "", ""),
                deny("can only list/watch pods with spec.nodeName field selector"),
            ),
            (
                "watch bound pod by name",
                p("watch", "pods", "ns", "web-1"),
                ALLOW,
            ),
            (
                "watch other pod by name",
                p("watch", "pods", "ns", "web-2"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
            ("create mirror pod", p("create", "pods", "ns", ""), ALLOW),
            ("delete pod", p("delete", "pods", "ns", "web-1"), ALLOW),
            ("update pod", p("update", "pods", "ns", "web-1"), deny("")),
            (
                "deletecollection pods",
                p("deletecollection", "pods", "ns", ""),
                deny(""),
            ),
            (
                "patch pod status",
                p("patch", "pods/status", "ns", "web-1"),
                ALLOW,
            ),
            (
                "get pod status",
                p("get", "pods/status", "ns", "web-1"),
                deny(""),
            ),
            ("evict", p("create", "pods/eviction", "ns", "web-1"), ALLOW),
            (
                "get eviction",
                p("get", "pods/eviction", "ns", "web-1"),
                deny(""),
            ),
            (
                "binding",
                p("create", "pods/binding", "ns", "web-1"),
                deny(""),
            ),
            ("logs", p("get", "pods/log", "ns", "web-1"), deny("")),
        ],
    );
}

#[test]
fn static_rules_fallback() {
    let a = authorizer("1.32", None);
    check(
        &a,
        vec![
            ("list services", r("list", "", "services", "", ""), ALLOW),
            (
                "get endpoints",
                r("get", "", "endpoints", "ns", "kubernetes"),
                ALLOW,
            ),
            (
                "list endpoints",
                r("list", "", "endpoints", "ns", ""),
                deny(""),
            ),
            (
                "create core events",
                r("create", "", "events", "ns", ""),
                ALLOW,
            ),
            (
                "create events.k8s.io events",
                r("create", "events.k8s.io", "events", "ns", ""),
                deny(""),
            ),
            (
                "create csr",
                r(
                    "create",
                    "certificates.k8s.io",
                    "certificatesigningrequests",
                    "",
                    "",
                ),
                ALLOW,
            ),
            (
                "watch runtimeclasses",
                r("watch", "node.k8s.io", "runtimeclasses", "", ""),
                ALLOW,
            ),
            (
                "tokenreview",
                r("create", "authentication.k8s.io", "tokenreviews", "", ""),
                ALLOW,
            ),
            (
                "deployments",
                r("get", "apps", "deployments", "ns", "x"),
                deny(""),
            ),
            (
                "healthz",
                node_path_req("node-a", "get", "/healthz"),
                deny(""),
            ),
            (
                "version",
                node_path_req("node-a", "get", "/version"),
                deny(""),
            ),
        ],
    );
}

#[test]
fn release_1_17_quotes_node_with_go_q() {
    let a = authorizer("1.17", None);
    check(
        &a,
        vec![
            (
                "unrelated secret",
                r("get", "", "secrets", "ns", "other"),
                deny("no relationship found between node \"node-a\" and this object"),
            ),
            ("related secret", r("get", "", "secrets", "ns", "db"), ALLOW),
        ],
    );
    let b = authorizer("1.18", None);
    check(
        &b,
        vec![(
            "1.18 single quotes",
            r("get", "", "secrets", "ns", "other"),
            deny("no relationship found between node 'node-a' and this object"),
        )],
    );
}

#[test]
fn release_1_19_pods_and_nodes_use_static_rules() {
    let a = authorizer("1.19", None);
    check(
        &a,
        vec![
            ("list all pods", r("list", "", "pods", "", ""), ALLOW),
            ("get any pod", r("get", "", "pods", "ns", "web-2"), ALLOW),
            ("get other node", r("get", "", "nodes", "", "node-b"), ALLOW),
            ("list nodes", r("list", "", "nodes", "", ""), ALLOW),
            (
                "delete node",
                r("delete", "", "nodes", "", "node-a"),
                deny(""),
            ),
            (
                "update pod",
                r("update", "", "pods", "ns", "web-1"),
                deny(""),
            ),
            (
                "claims not dispatched before 1.26",
                r("get", "resource.k8s.io", "resourceclaims", "ns", "claim"),
                deny(""),
            ),
            (
                "secrets still through the graph",
                r("get", "", "secrets", "ns", "other"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
        ],
    );
}

#[test]
fn release_1_31_gate_off_by_default_and_field_name() {
    let off = authorizer("1.31", None);
    check(
        &off,
        vec![
            ("list all pods", r("list", "", "pods", "", ""), ALLOW),
            (
                "list slices unscoped",
                r("list", "resource.k8s.io", "resourceslices", "", ""),
                ALLOW,
            ),
        ],
    );
    let on = authorizer(
        "1.31",
        Some("AuthorizeNodeWithSelectors=true,AuthorizeWithSelectors=true"),
    );
    check(&on, vec![
        ("list all pods", r("list", "", "pods", "", ""), deny("can only list/watch pods with spec.nodeName field selector")),
        ("slices by nodeName", with_field(r("list", "resource.k8s.io", "resourceslices", "", ""), "nodeName", "node-a"), ALLOW),
        ("slices by spec.nodeName", with_field(r("list", "resource.k8s.io", "resourceslices", "", ""), "spec.nodeName", "node-a"), deny("can only list/watch/deletecollection resourceslices with nodeName field selector")),
    ]);
    // The node gate on without the generic one: selectors never reach the authorizer.
    let no_selectors = authorizer("1.31", Some("AuthorizeNodeWithSelectors=true"));
    check(
        &no_selectors,
        vec![(
            "selector dropped",
            with_field(r("list", "", "pods", "", ""), "spec.nodeName", "node-a"),
            deny("can only list/watch pods with spec.nodeName field selector"),
        )],
    );
}

#[test]
fn selectors_only_for_list_watch_without_legacy_prefix() {
    let a = authorizer("1.32", None);
    let mut legacy = with_field(r("watch", "", "pods", "", ""), "spec.nodeName", "node-a");
    legacy.legacy_prefix = true;
    let generic_off = authorizer("1.32", Some("AuthorizeWithSelectors=false"));
    check(
        &a,
        vec![(
            "legacy /watch/ prefix",
            legacy,
            deny("can only list/watch pods with spec.nodeName field selector"),
        )],
    );
    check(
        &generic_off,
        vec![(
            "AuthorizeWithSelectors off",
            with_field(r("list", "", "pods", "", ""), "spec.nodeName", "node-a"),
            deny("can only list/watch pods with spec.nodeName field selector"),
        )],
    );
}

#[test]
fn slices_before_and_at_1_30() {
    check(
        &authorizer("1.29", None),
        vec![(
            "no slice handler",
            r("list", "resource.k8s.io", "resourceslices", "", ""),
            deny(""),
        )],
    );
    check(
        &authorizer("1.30", None),
        vec![
            (
                "1.30 list unscoped",
                r("list", "resource.k8s.io", "resourceslices", "", ""),
                ALLOW,
            ),
            (
                "1.30 get unrelated",
                r("get", "resource.k8s.io", "resourceslices", "", "slice-b"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
        ],
    );
}

#[test]
fn service_account_get_from_1_33() {
    check(
        &authorizer("1.33", None),
        vec![
            (
                "gate off",
                r("get", "", "serviceaccounts", "ns", "default"),
                deny("not allowed to get service accounts"),
            ),
            (
                "token unchanged",
                r("create", "", "serviceaccounts/token", "ns", "default"),
                ALLOW,
            ),
        ],
    );
    check(
        &authorizer("1.34", None),
        vec![
            (
                "related sa",
                r("get", "", "serviceaccounts", "ns", "default"),
                ALLOW,
            ),
            (
                "unrelated sa",
                r("get", "", "serviceaccounts", "ns", "other"),
                deny("no relationship found between node 'node-a' and this object"),
            ),
            (
                "list sa",
                r("list", "", "serviceaccounts", "ns", ""),
                deny("can only create tokens for individual service accounts"),
            ),
        ],
    );
}

#[test]
fn old_gates_switched_off() {
    let a = authorizer(
        "1.16",
        Some("TokenRequest=false,NodeLease=false,CSINodeInfo=false,ExpandPersistentVolumes=false"),
    );
    check(
        &a,
        vec![
            (
                "token",
                r("create", "", "serviceaccounts/token", "ns", "default"),
                deny("disabled by feature gate TokenRequest"),
            ),
            (
                "lease",
                r(
                    "get",
                    "coordination.k8s.io",
                    "leases",
                    "kube-node-lease",
                    "node-a",
                ),
                deny("disabled by feature gate NodeLease"),
            ),
            (
                "csinode",
                r("get", "storage.k8s.io", "csinodes", "", "node-a"),
                deny("disabled by feature gates CSINodeInfo"),
            ),
            (
                "pvc status without expansion",
                r("patch", "", "persistentvolumeclaims/status", "ns", "data"),
                deny("can only get individual resources of this type"),
            ),
        ],
    );
    let rules = a.static_rules();
    assert_eq!(rules.len(), 19, "rows 18, 19 and 21 gated off");
}

#[test]
fn incomplete_graph_is_indeterminate() {
    let a = authorizer("1.32", None);
    let view = graph().incomplete_for("node-a", "no pods known for node node-a before 10:00");
    let got = a.authorize(&r("get", "", "secrets", "ns", "other"), &view, 0);
    assert_eq!(got.decision, Decision::NoOpinion);
    assert_eq!(
        got.reason,
        "no relationship found between node 'node-a' and this object"
    );
    assert_eq!(
        got.indeterminate.as_deref(),
        Some("no pods known for node node-a before 10:00")
    );
    let found = a.authorize(&r("get", "", "secrets", "ns", "db"), &view, 0);
    assert_eq!(found.decision, Decision::Allow);
    assert_eq!(
        found.path,
        Some(SECRET_PATH.iter().map(|s| s.to_string()).collect())
    );
    assert_eq!(found.indeterminate, None);
    let complete = a.authorize(&r("get", "", "secrets", "ns", "other"), &graph(), 0);
    assert_eq!(complete.indeterminate, None);
}

/// `searched_graph` tells a path search (found, not found or incomplete) from every decision
/// taken before it, so that callers need not match reason strings.
#[test]
fn searched_graph_marks_path_searches_only() {
    let a = authorizer("1.32", None);
    let rows = [
        ("path found", r("get", "", "secrets", "ns", "db"), true),
        ("no path", r("get", "", "secrets", "ns", "other"), true),
        (
            "token path",
            with_sub(r("create", "", "serviceaccounts", "ns", "default"), "token"),
            true,
        ),
        ("no name", r("get", "", "secrets", "ns", ""), false),
        ("wrong verb", r("delete", "", "secrets", "ns", "db"), false),
        (
            "lease",
            r(
                "get",
                "coordination.k8s.io",
                "leases",
                "kube-node-lease",
                "node-a",
            ),
            false,
        ),
        ("static rule", r("get", "", "services", "ns", "svc"), false),
    ];
    for (desc, attrs, want) in rows {
        assert_eq!(
            a.authorize(&attrs, &graph(), 0).searched_graph,
            want,
            "{desc}"
        );
    }
    let view = graph().incomplete_for("node-a", "why");
    assert!(
        a.authorize(&r("get", "", "secrets", "ns", "other"), &view, 0)
            .searched_graph
    );
}

fn with_sub(mut attrs: Attributes, subresource: &str) -> Attributes {
    attrs.subresource = subresource.into();
    attrs
}

#[test]
fn versions_and_gates_parse() {
    assert_eq!(KubeVersion::parse("v1.30.2"), Ok(KubeVersion::new(1, 30)));
    assert_eq!(KubeVersion::parse("1.19"), Ok(KubeVersion::new(1, 19)));
    assert_eq!(
        KubeVersion::parse("1.31.0-rc.1"),
        Ok(KubeVersion::new(1, 31))
    );
    assert_eq!(
        KubeVersion::parse("1.13"),
        Err(VersionError::Unsupported(KubeVersion::new(1, 13)))
    );
    assert_eq!(
        KubeVersion::parse("1.35"),
        Err(VersionError::Unsupported(KubeVersion::new(1, 35)))
    );
    assert_eq!(
        KubeVersion::parse("latest"),
        Err(VersionError::Invalid("latest".into()))
    );
    assert_eq!(KubeVersion::default(), KubeVersion::new(1, 34));

    let v134 = KubeVersion::new(1, 34);
    assert_eq!(
        FeatureGates::parse(v134, Some("AuthorizeNodeWithSelectors=false"))
            .unwrap_err()
            .to_string(),
        "cannot set feature gate AuthorizeNodeWithSelectors to false, feature is locked to true"
    );
    assert_eq!(
        FeatureGates::parse(KubeVersion::new(1, 30), Some("AuthorizeNodeWithSelectors=true")).unwrap_err().to_string(),
        "unrecognized feature gate: AuthorizeNodeWithSelectors (it does not exist in Kubernetes 1.30)"
    );
    assert!(matches!(
        FeatureGates::parse(v134, Some("Foo")),
        Err(VersionError::GateSyntax(_))
    ));
    assert!(matches!(
        FeatureGates::parse(v134, Some("Foo=maybe")),
        Err(VersionError::GateValue { .. })
    ));
    let g = FeatureGates::parse(
        v134,
        Some(" PodSecurity=true , DynamicResourceAllocation=1"),
    )
    .unwrap();
    assert_eq!(g.ignored, vec![("PodSecurity".to_string(), true)]);
}

#[test]
fn all_alpha_and_all_beta() {
    let on = |v: &str, spec: &str, g: Gate| {
        FeatureGates::parse(KubeVersion::parse(v).unwrap(), Some(spec))
            .unwrap()
            .enabled(g)
    };
    assert!(!on(
        "1.32",
        "AllBeta=false",
        Gate::AuthorizeNodeWithSelectors
    ));
    assert!(on(
        "1.32",
        "AuthorizeNodeWithSelectors=true,AllBeta=false",
        Gate::AuthorizeNodeWithSelectors
    ));
    assert!(on(
        "1.31",
        "AllAlpha=true",
        Gate::AuthorizeNodeWithSelectors
    ));
    assert!(!on(
        "1.31",
        "AllBeta=true",
        Gate::AuthorizeNodeWithSelectors
    ));
    assert!(on("1.33", "AllBeta=true", Gate::DynamicResourceAllocation));
    // Locked (GA) gates are not touched by AllBeta.
    assert!(on(
        "1.34",
        "AllBeta=false",
        Gate::AuthorizeNodeWithSelectors
    ));
    // Deprecated gates are neither alpha nor beta.
    assert!(!on(
        "1.32",
        "AllAlpha=true,AllBeta=true",
        Gate::AllowInsecureKubeletCertificateSigningRequests
    ));
}

#[derive(serde::Deserialize)]
struct RoleList {
    items: Vec<Role>,
}

fn system_node_rules(file: &str) -> Vec<nodeauthz::cluster::rbac_types::PolicyRule> {
    let list: RoleList = serde_norway::from_str(&k8s_data(file)).expect("parse YAML");
    list.items
        .into_iter()
        .find(|r| r.metadata.name == "system:node")
        .expect("system:node role")
        .rules
}

#[test]
fn static_rules_equal_bootstrap_system_node_role() {
    // cluster-roles.yaml is the default-gate policy of about 1.27-1.29.
    let defaults = FeatureGates::parse(KubeVersion::new(1, 29), None).unwrap();
    assert_eq!(
        static_node_rules(&defaults),
        system_node_rules("cluster-roles.yaml")
    );
    // cluster-roles-featuregates.yaml has every gate on (about 1.33).
    let all_on = FeatureGates::parse(
        KubeVersion::new(1, 33),
        Some("DynamicResourceAllocation=true,ClusterTrustBundleProjection=true,KubeletServiceAccountTokenForCredentialProviders=true"),
    )
    .unwrap();
    assert_eq!(
        static_node_rules(&all_on),
        system_node_rules("cluster-roles-featuregates.yaml")
    );
}

#[test]
fn static_rules_per_release() {
    let count = |v: &str| {
        static_node_rules(&FeatureGates::parse(KubeVersion::parse(v).unwrap(), None).unwrap()).len()
    };
    assert_eq!(count("1.19"), 22);
    assert_eq!(count("1.33"), 22);
    // 1.34: DynamicResourceAllocation GA and the credential-provider gate beta add rows 23, 24, 26.
    assert_eq!(count("1.34"), 25);
}

/// The objects upstream `TestNodeAuthorizer` generates for node0 and node1 (two namespaces,
/// one of each object per pod), as paths; `secret0-shared` is reachable from both nodes.
fn upstream_graph() -> MapView {
    let mut v = MapView::new();
    for node in ["node0", "node1"] {
        let pod = format!("pod0-{node}");
        let via_pod = |v: MapView, kind: VertexKind, ns: &str, name: &str| {
            v.with_path(kind, ns, name, node, &[name, &pod, node])
        };
        v = via_pod(
            v,
            VertexKind::ConfigMap,
            "ns0",
            &format!("configmap0-{pod}"),
        );
        v = via_pod(v, VertexKind::Secret, "ns0", &format!("secret0-{pod}"));
        v = via_pod(v, VertexKind::Secret, "ns0", "secret0-shared");
        v = via_pod(
            v,
            VertexKind::Secret,
            "ns0",
            &format!("secret-pv0-{pod}-ns0"),
        );
        v = via_pod(v, VertexKind::Pvc, "ns0", &format!("pvc0-{pod}"));
        v = via_pod(v, VertexKind::Pv, "", &format!("pv0-{pod}-ns0"));
        v = via_pod(
            v,
            VertexKind::ResourceClaim,
            "ns0",
            &format!("claim0-{pod}-ns0"),
        );
        v = via_pod(
            v,
            VertexKind::ResourceClaim,
            "ns0",
            &format!("generated-claim-{pod}-ns0-0"),
        );
        v = via_pod(
            v,
            VertexKind::ServiceAccount,
            "ns0",
            &format!("svcacct0-{node}"),
        );
        v = via_pod(v, VertexKind::Pod, "ns0", &pod);
        v = via_pod(
            v,
            VertexKind::VolumeAttachment,
            "",
            &format!("attachment0-{node}"),
        );
        v = via_pod(v, VertexKind::ResourceSlice, "", &format!("slice0-{node}"));
    }
    v
}

/// Ported from upstream `TestNodeAuthorizer` (node_authorizer_test.go, the 1.31 copy whose
/// ResourceSlice selector field is `nodeName`). Each row runs under upstream's two feature
/// variants unless it names one: `selector_disabled` (AuthorizeWithSelectors and
/// AuthorizeNodeWithSelectors off) and `selector_enabled` (both on). Upstream asserts the
/// decision only; so do these rows.
#[test]
fn upstream_test_node_authorizer() {
    #[derive(Clone, Copy, PartialEq)]
    enum Variant {
        Both,
        Disabled,
        Enabled,
    }
    use Variant::*;
    let disabled = authorizer(
        "1.31",
        Some("AuthorizeWithSelectors=false,AuthorizeNodeWithSelectors=false"),
    );
    let enabled = authorizer(
        "1.31",
        Some("AuthorizeWithSelectors=true,AuthorizeNodeWithSelectors=true"),
    );
    let n0 = |verb: &str, group: &str, resource: &str, ns: &str, name: &str| {
        node_req("node0", verb, group, resource, ns, name)
    };
    let mut unregistered = n0("get", "", "nodes", "", "nodeunregistered");
    unregistered.username = "system:node:nodeunregistered".into();
    let rs = "resource.k8s.io";
    let st = "storage.k8s.io";
    let co = "coordination.k8s.io";
    let nl = "kube-node-lease";
    let rows: Vec<(&str, Attributes, bool, Variant)> = vec![
        (
            "allowed configmap",
            n0("get", "", "configmaps", "ns0", "configmap0-pod0-node0"),
            true,
            Both,
        ),
        (
            "allowed secret via pod",
            n0("get", "", "secrets", "ns0", "secret0-pod0-node0"),
            true,
            Both,
        ),
        (
            "list allowed secret via pod",
            n0("list", "", "secrets", "ns0", "secret0-pod0-node0"),
            true,
            Both,
        ),
        (
            "watch allowed secret via pod",
            n0("watch", "", "secrets", "ns0", "secret0-pod0-node0"),
            true,
            Both,
        ),
        (
            "disallowed list many secrets",
            n0("list", "", "secrets", "ns0", ""),
            false,
            Both,
        ),
        (
            "disallowed watch many secrets",
            n0("watch", "", "secrets", "ns0", ""),
            false,
            Both,
        ),
        (
            "disallowed list secrets from all namespaces with name",
            n0("list", "", "secrets", "", "secret0-pod0-node0"),
            false,
            Both,
        ),
        (
            "allowed shared secret via pod",
            n0("get", "", "secrets", "ns0", "secret0-shared"),
            true,
            Both,
        ),
        (
            "allowed shared secret via pvc",
            n0("get", "", "secrets", "ns0", "secret-pv0-pod0-node0-ns0"),
            true,
            Both,
        ),
        (
            "allowed pvc",
            n0(
                "get",
                "",
                "persistentvolumeclaims",
                "ns0",
                "pvc0-pod0-node0",
            ),
            true,
            Both,
        ),
        (
            "allowed resource claim",
            n0("get", rs, "resourceclaims", "ns0", "claim0-pod0-node0-ns0"),
            true,
            Both,
        ),
        (
            "allowed resource claim with template",
            n0(
                "get",
                rs,
                "resourceclaims",
                "ns0",
                "generated-claim-pod0-node0-ns0-0",
            ),
            true,
            Both,
        ),
        (
            "allowed pv",
            n0("get", "", "persistentvolumes", "", "pv0-pod0-node0-ns0"),
            true,
            Both,
        ),
        (
            "disallowed configmap",
            n0("get", "", "configmaps", "ns0", "configmap0-pod0-node1"),
            false,
            Both,
        ),
        (
            "disallowed secret via pod",
            n0("get", "", "secrets", "ns0", "secret0-pod0-node1"),
            false,
            Both,
        ),
        (
            "disallowed shared secret via pvc",
            n0("get", "", "secrets", "ns0", "secret-pv0-pod0-node1-ns0"),
            false,
            Both,
        ),
        (
            "disallowed pvc",
            n0(
                "get",
                "",
                "persistentvolumeclaims",
                "ns0",
                "pvc0-pod0-node1",
            ),
            false,
            Both,
        ),
        (
            "disallowed resource claim, other node",
            n0("get", rs, "resourceclaims", "ns0", "claim0-pod0-node1-ns0"),
            false,
            Both,
        ),
        (
            "disallowed resource claim with template",
            n0(
                "get",
                rs,
                "resourceclaims",
                "ns0",
                "pod0-node1-claimtemplate0",
            ),
            false,
            Both,
        ),
        (
            "disallowed pv",
            n0("get", "", "persistentvolumes", "", "pv0-pod0-node1-ns0"),
            false,
            Both,
        ),
        (
            "allowed attachment",
            n0("get", st, "volumeattachments", "", "attachment0-node0"),
            true,
            Both,
        ),
        (
            "allowed svcacct token create",
            n0(
                "create",
                "",
                "serviceaccounts/token",
                "ns0",
                "svcacct0-node0",
            ),
            true,
            Both,
        ),
        (
            "disallowed svcacct token create - serviceaccount not attached to node",
            n0(
                "create",
                "",
                "serviceaccounts/token",
                "ns0",
                "svcacct0-node1",
            ),
            false,
            Both,
        ),
        (
            "disallowed svcacct token create - no subresource",
            n0("create", "", "serviceaccounts", "ns0", "svcacct0-node0"),
            false,
            Both,
        ),
        (
            "disallowed svcacct token create - non create",
            n0(
                "update",
                "",
                "serviceaccounts/token",
                "ns0",
                "svcacct0-node0",
            ),
            false,
            Both,
        ),
        (
            "disallowed get lease in namespace other than kube-node-lease",
            n0("get", co, "leases", "foo", "node0"),
            false,
            Both,
        ),
        (
            "disallowed create lease in namespace other than kube-node-lease",
            n0("create", co, "leases", "foo", "node0"),
            false,
            Both,
        ),
        (
            "disallowed update lease in namespace other than kube-node-lease",
            n0("update", co, "leases", "foo", "node0"),
            false,
            Both,
        ),
        (
            "disallowed patch lease in namespace other than kube-node-lease",
            n0("patch", co, "leases", "foo", "node0"),
            false,
            Both,
        ),
        (
            "disallowed delete lease in namespace other than kube-node-lease",
            n0("delete", co, "leases", "foo", "node0"),
            false,
            Both,
        ),
        (
            "disallowed get another node's lease",
            n0("get", co, "leases", nl, "node1"),
            false,
            Both,
        ),
        (
            "disallowed update another node's lease",
            n0("update", co, "leases", nl, "node1"),
            false,
            Both,
        ),
        (
            "disallowed patch another node's lease",
            n0("patch", co, "leases", nl, "node1"),
            false,
            Both,
        ),
        (
            "disallowed delete another node's lease",
            n0("delete", co, "leases", nl, "node1"),
            false,
            Both,
        ),
        (
            "disallowed list node leases",
            n0("list", co, "leases", nl, ""),
            false,
            Both,
        ),
        (
            "disallowed watch node leases",
            n0("watch", co, "leases", nl, ""),
            false,
            Both,
        ),
        (
            "allowed get node lease",
            n0("get", co, "leases", nl, "node0"),
            true,
            Both,
        ),
        (
            "allowed create node lease",
            n0("create", co, "leases", nl, "node0"),
            true,
            Both,
        ),
        (
            "allowed update node lease",
            n0("update", co, "leases", nl, "node0"),
            true,
            Both,
        ),
        (
            "allowed patch node lease",
            n0("patch", co, "leases", nl, "node0"),
            true,
            Both,
        ),
        (
            "allowed delete node lease",
            n0("delete", co, "leases", nl, "node0"),
            true,
            Both,
        ),
        (
            "disallowed CSINode with subresource",
            n0("get", st, "csinodes/csiDrivers", "", "node0"),
            false,
            Both,
        ),
        (
            "disallowed get another node's CSINode",
            n0("get", st, "csinodes", "", "node1"),
            false,
            Both,
        ),
        (
            "disallowed update another node's CSINode",
            n0("update", st, "csinodes", "", "node1"),
            false,
            Both,
        ),
        (
            "disallowed patch another node's CSINode",
            n0("patch", st, "csinodes", "", "node1"),
            false,
            Both,
        ),
        (
            "disallowed delete another node's CSINode",
            n0("delete", st, "csinodes", "", "node1"),
            false,
            Both,
        ),
        (
            "disallowed list CSINodes",
            n0("list", st, "csinodes", "", ""),
            false,
            Both,
        ),
        (
            "disallowed watch CSINodes",
            n0("watch", st, "csinodes", "", ""),
            false,
            Both,
        ),
        (
            "allowed get CSINode",
            n0("get", st, "csinodes", "", "node0"),
            true,
            Both,
        ),
        (
            "allowed create CSINode",
            n0("create", st, "csinodes", "", "node0"),
            true,
            Both,
        ),
        (
            "allowed update CSINode",
            n0("update", st, "csinodes", "", "node0"),
            true,
            Both,
        ),
        (
            "allowed patch CSINode",
            n0("patch", st, "csinodes", "", "node0"),
            true,
            Both,
        ),
        (
            "allowed delete CSINode",
            n0("delete", st, "csinodes", "", "node0"),
            true,
            Both,
        ),
        (
            "disallowed ResourceSlice with subresource",
            n0("get", rs, "resourceslices/status", "", "slice0-node0"),
            false,
            Both,
        ),
        (
            "disallowed get another node's ResourceSlice",
            n0("get", rs, "resourceslices", "", "slice0-node1"),
            false,
            Both,
        ),
        (
            "disallowed update another node's ResourceSlice",
            n0("update", rs, "resourceslices", "", "slice0-node1"),
            false,
            Both,
        ),
        (
            "disallowed patch another node's ResourceSlice",
            n0("patch", rs, "resourceslices", "", "slice0-node1"),
            false,
            Both,
        ),
        (
            "disallowed delete another node's ResourceSlice",
            n0("delete", rs, "resourceslices", "", "slice0-node1"),
            false,
            Both,
        ),
        (
            "allowed filtered list ResourceSlices",
            with_field(
                n0("list", rs, "resourceslices", "", ""),
                "nodeName",
                "node0",
            ),
            true,
            Both,
        ),
        (
            "allowed unfiltered list ResourceSlices - selector authz disabled",
            n0("list", rs, "resourceslices", "", ""),
            true,
            Disabled,
        ),
        (
            "disallowed unfiltered list ResourceSlices - selector authz enabled",
            n0("list", rs, "resourceslices", "", ""),
            false,
            Enabled,
        ),
        (
            "allowed filtered watch ResourceSlices",
            with_field(
                n0("watch", rs, "resourceslices", "", ""),
                "nodeName",
                "node0",
            ),
            true,
            Both,
        ),
        (
            "allowed unfiltered watch ResourceSlices - selector authz disabled",
            n0("watch", rs, "resourceslices", "", ""),
            true,
            Disabled,
        ),
        (
            "disallowed unfiltered watch ResourceSlices - selector authz enabled",
            n0("watch", rs, "resourceslices", "", ""),
            false,
            Enabled,
        ),
        (
            "allowed get ResourceSlice",
            n0("get", rs, "resourceslices", "", "slice0-node0"),
            true,
            Both,
        ),
        (
            "allowed create ResourceSlice",
            n0("create", rs, "resourceslices", "", "slice0-node0"),
            true,
            Both,
        ),
        (
            "allowed update ResourceSlice",
            n0("update", rs, "resourceslices", "", "slice0-node0"),
            true,
            Both,
        ),
        (
            "allowed patch ResourceSlice",
            n0("patch", rs, "resourceslices", "", "slice0-node0"),
            true,
            Both,
        ),
        (
            "allowed delete ResourceSlice",
            n0("delete", rs, "resourceslices", "", "slice0-node0"),
            true,
            Both,
        ),
        (
            "get related pod",
            n0("get", "", "pods", "ns0", "pod0-node0"),
            true,
            Both,
        ),
        (
            "get unrelated pod - selector disabled",
            n0("get", "", "pods", "ns0", "pod0-node1"),
            true,
            Disabled,
        ),
        (
            "get unrelated pod - selector enabled",
            n0("get", "", "pods", "ns0", "pod0-node1"),
            false,
            Enabled,
        ),
        (
            "list related pods",
            with_field(n0("list", "", "pods", "", ""), "spec.nodeName", "node0"),
            true,
            Both,
        ),
        (
            "list single related pod",
            n0("list", "", "pods", "ns0", "pod0-node0"),
            true,
            Both,
        ),
        (
            "list unrelated pods - selector disabled",
            n0("list", "", "pods", "", ""),
            true,
            Disabled,
        ),
        (
            "list unrelated pods - selector enabled",
            n0("list", "", "pods", "", ""),
            false,
            Enabled,
        ),
        (
            "watch related pods",
            with_field(n0("watch", "", "pods", "", ""), "spec.nodeName", "node0"),
            true,
            Both,
        ),
        (
            "watch single related pod",
            n0("watch", "", "pods", "ns0", "pod0-node0"),
            true,
            Both,
        ),
        (
            "watch unrelated pods - selector disabled",
            n0("watch", "", "pods", "", ""),
            true,
            Disabled,
        ),
        (
            "watch unrelated pods - selector enabled",
            n0("watch", "", "pods", "", ""),
            false,
            Enabled,
        ),
        (
            "create unnamed pod",
            n0("create", "", "pods", "ns0", ""),
            true,
            Both,
        ),
        (
            "create pod proxy subresource forbidden",
            n0("create", "", "pods/proxy", "ns0", ""),
            false,
            Both,
        ),
        (
            "delete related pod",
            n0("delete", "", "pods", "ns0", "pod0-node0"),
            true,
            Both,
        ),
        (
            "delete unrelated pod",
            n0("delete", "", "pods", "ns0", "pod0-node1"),
            true,
            Both,
        ),
        (
            "delete pod proxy subresource forbidden",
            n0("delete", "", "pods/proxy", "ns0", "pod0-node0"),
            false,
            Both,
        ),
        (
            "update related pod status",
            n0("update", "", "pods/status", "ns0", "pod0-node0"),
            true,
            Both,
        ),
        (
            "update unrelated pod status",
            n0("update", "", "pods/status", "ns0", "pod0-node1"),
            true,
            Both,
        ),
        (
            "patch related pod status",
            n0("patch", "", "pods/status", "ns0", "pod0-node0"),
            true,
            Both,
        ),
        (
            "patch unrelated pod status",
            n0("patch", "", "pods/status", "ns0", "pod0-node1"),
            true,
            Both,
        ),
        (
            "get pod status",
            n0("get", "", "pods/status", "ns0", "pod0-node0"),
            false,
            Both,
        ),
        (
            "create related pod eviction",
            n0("create", "", "pods/eviction", "ns0", "pod0-node0"),
            true,
            Both,
        ),
        (
            "create unrelated pod eviction",
            n0("create", "", "pods/eviction", "ns0", "pod0-node1"),
            true,
            Both,
        ),
        ("get related unregistered node", unregistered, true, Both),
        (
            "get related node",
            n0("get", "", "nodes", "", "node0"),
            true,
            Both,
        ),
        (
            "get unrelated node - selector disabled",
            n0("get", "", "nodes", "", "node1"),
            true,
            Disabled,
        ),
        (
            "get unrelated node - selector enabled",
            n0("get", "", "nodes", "", "node1"),
            false,
            Enabled,
        ),
        (
            "list single related node",
            n0("list", "", "nodes", "", "node0"),
            true,
            Both,
        ),
        (
            "list single unrelated node - selector disabled",
            n0("list", "", "nodes", "", "node1"),
            true,
            Disabled,
        ),
        (
            "list single unrelated node - selector enabled",
            n0("list", "", "nodes", "", "node1"),
            false,
            Enabled,
        ),
        (
            "list all nodes - selector disabled",
            n0("list", "", "nodes", "", ""),
            true,
            Disabled,
        ),
        (
            "list all nodes - selector enabled",
            n0("list", "", "nodes", "", ""),
            false,
            Enabled,
        ),
        (
            "watch single related node",
            n0("watch", "", "nodes", "", "node0"),
            true,
            Both,
        ),
        (
            "watch single unrelated node - selector disabled",
            n0("watch", "", "nodes", "", "node1"),
            true,
            Disabled,
        ),
        (
            "watch single unrelated node - selector enabled",
            n0("watch", "", "nodes", "", "node1"),
            false,
            Enabled,
        ),
        (
            "watch all nodes - selector disabled",
            n0("watch", "", "nodes", "", ""),
            true,
            Disabled,
        ),
        (
            "watch all nodes - selector enabled",
            n0("watch", "", "nodes", "", ""),
            false,
            Enabled,
        ),
        ("create node", n0("create", "", "nodes", "", ""), true, Both),
        (
            "update related node",
            n0("update", "", "nodes", "", "node0"),
            true,
            Both,
        ),
        (
            "update unrelated node",
            n0("update", "", "nodes", "", "node1"),
            true,
            Both,
        ),
        (
            "patch related node",
            n0("patch", "", "nodes", "", "node0"),
            true,
            Both,
        ),
        (
            "patch unrelated node",
            n0("patch", "", "nodes", "", "node1"),
            true,
            Both,
        ),
        (
            "update related node status",
            n0("update", "", "nodes/status", "", "node0"),
            true,
            Both,
        ),
        (
            "update unrelated node status",
            n0("update", "", "nodes/status", "", "node1"),
            true,
            Both,
        ),
        (
            "patch related node status",
            n0("patch", "", "nodes/status", "", "node0"),
            true,
            Both,
        ),
        (
            "patch unrelated node status",
            n0("patch", "", "nodes/status", "", "node1"),
            true,
            Both,
        ),
    ];
    let view = upstream_graph();
    let mut failures = Vec::new();
    let mut runs = 0;
    for (name, attrs, allow, variant) in &rows {
        for (suffix, authz, v) in [
            ("selector_disabled", &disabled, Disabled),
            ("selector_enabled", &enabled, Enabled),
        ] {
            if *variant != Both && *variant != v {
                continue;
            }
            runs += 1;
            let got = authz.authorize(attrs, &view, 0);
            if got.allowed() != *allow {
                failures.push(format!(
                    "{name}_{suffix}: want allow={allow}, got {:?} {:?}",
                    got.decision, got.reason
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every upstream row ran in its variants (no row silently skipped).
    assert_eq!(
        runs,
        2 * rows.iter().filter(|r| r.3 == Both).count()
            + rows.iter().filter(|r| r.3 != Both).count()
    );
}

/// From 1.32 the ResourceSlice selector field is `spec.nodeName`; the 1.31 field no longer
/// scopes the request (`resourceapi.ResourceSliceSelectorNodeName` in the 1.32 copy).
#[test]
fn resource_slice_selector_field_from_1_32() {
    let list = |field: &str| {
        with_field(
            node_req("node0", "list", "resource.k8s.io", "resourceslices", "", ""),
            field,
            "node0",
        )
    };
    let view = upstream_graph();
    let a = authorizer("1.32", None);
    assert!(a.authorize(&list("spec.nodeName"), &view, 0).allowed());
    let old_field = a.authorize(&list("nodeName"), &view, 0);
    assert_eq!(old_field.decision, Decision::NoOpinion);
    assert_eq!(
        old_field.reason,
        "can only list/watch/deletecollection resourceslices with nodeName field selector"
    );
}

/// kube_features.go: DynamicResourceAllocation is GA in 1.34 with `Default: true` but
/// `LockToDefault` only from 1.35, so 1.34 still lets it be switched off (rows 23-24 go).
#[test]
fn dynamic_resource_allocation_settable_in_1_34() {
    let v = KubeVersion::new(1, 34);
    let off =
        FeatureGates::parse(v, Some("DynamicResourceAllocation=false")).expect("settable in 1.34");
    assert!(!off.enabled(Gate::DynamicResourceAllocation));
    assert_eq!(static_node_rules(&off).len(), 23);
    assert!(FeatureGates::parse(v, None)
        .unwrap()
        .enabled(Gate::DynamicResourceAllocation));
    // AllBeta does not touch a GA gate.
    assert!(FeatureGates::parse(v, Some("AllBeta=false"))
        .unwrap()
        .enabled(Gate::DynamicResourceAllocation));
}
