//! The authorizer chain of a scenario: order, joined reasons, 403 messages, NodeRestriction.

mod authz_support;

use authz_support::{k8s_data, node_path_req, node_req, with_field, MapView};
use nodeauthz::authz::chain::{Mode, Refusal, Scenario, ScenarioError};
use nodeauthz::authz::restriction::Admission;
use nodeauthz::authz::version::VersionError;
use nodeauthz::authz::VertexKind;
use nodeauthz::cluster::rbac_types::{Binding, RbacPolicy, Role};
use serde_json::json;

fn bootstrap(legacy_node_binding: bool) -> RbacPolicy {
    #[derive(serde::Deserialize)]
    struct Roles {
        items: Vec<Role>,
    }
    #[derive(serde::Deserialize)]
    struct Bindings {
        items: Vec<Binding>,
    }
    let roles: Roles = serde_norway::from_str(&k8s_data("cluster-roles.yaml")).expect("roles");
    let mut bindings: Bindings =
        serde_norway::from_str(&k8s_data("cluster-role-bindings.yaml")).expect("bindings");
    if legacy_node_binding {
        let legacy: Binding = serde_norway::from_str(
            "metadata: {name: system:node}\nroleRef: {kind: ClusterRole, name: system:node}\nsubjects: [{kind: Group, name: system:nodes}]",
        )
        .unwrap();
        bindings.items.retain(|b| b.metadata.name != "system:node");
        bindings.items.push(legacy);
    }
    RbacPolicy {
        cluster_roles: roles.items,
        cluster_role_bindings: bindings.items,
        ..RbacPolicy::default()
    }
}

fn scenario(
    modes: &str,
    enable: &[&str],
    version: Option<&str>,
    legacy: bool,
    drop: &[&str],
) -> Scenario {
    let enable: Vec<String> = enable.iter().map(|s| s.to_string()).collect();
    let drop: Vec<String> = drop.iter().map(|s| s.to_string()).collect();
    Scenario::from_flags(modes, &enable, &[], version, None, bootstrap(legacy), &drop)
        .expect("scenario")
}

/// The configurations `analyze` asks which one a log was recorded under: RBAC alone or after
/// the Node authorizer, without and with the legacy `system:node` binding.
fn recorded_candidates() -> Vec<Scenario> {
    vec![
        scenario("RBAC", &["NodeRestriction"], None, false, &[]),
        scenario("RBAC", &["NodeRestriction"], None, true, &[]),
        scenario("Node,RBAC", &["NodeRestriction"], None, false, &[]),
        scenario("Node,RBAC", &["NodeRestriction"], None, true, &[]),
    ]
}

fn view() -> MapView {
    MapView::new()
        .with_path(
            VertexKind::Secret,
            "ns",
            "db",
            "node-a",
            &["secret ns/db", "pod ns/web-1", "node node-a"],
        )
        .with_pod("ns", "web-1", "uid-1", "node-a", &[], &[])
        .with_pod("ns", "web-2", "uid-2", "node-b", &[], &[])
        .with_node("node-a", "uid-node-a")
}

#[test]
fn node_allows_with_empty_reason_and_path() {
    let s = scenario("Node,RBAC", &["NodeRestriction"], None, false, &[]);
    let out = s.evaluate(
        &node_req("node-a", "get", "", "secrets", "ns", "db"),
        None,
        &view(),
        0,
    );
    assert_eq!(out.allowed_by, Some(Mode::Node));
    assert_eq!(out.reason(), "");
    assert_eq!(
        out.authorizers.len(),
        1,
        "RBAC is not consulted after an allow"
    );
    assert_eq!(
        out.path().map(<[String]>::to_vec),
        Some(vec![
            "secret ns/db".into(),
            "pod ns/web-1".into(),
            "node node-a".into()
        ])
    );
    assert_eq!(
        (out.refusal, out.admission),
        (None, Admission::NotApplicable)
    );
}

#[test]
fn forbidden_reason_and_403_message() {
    let s = scenario("Node,RBAC", &[], None, false, &[]);
    let out = s.evaluate(
        &node_req("node-b", "get", "", "nodes", "", "node-c"),
        None,
        &view(),
        0,
    );
    assert_eq!(out.allowed_by, None);
    assert_eq!(
        out.reason(),
        "node 'node-b' cannot read 'node-c', only its own Node object"
    );
    assert_eq!(out.refusal, Some(Refusal {
        code: 403,
        message: "nodes \"node-c\" is forbidden: User \"system:node:node-b\" cannot get resource \"nodes\" in API group \"\" at the cluster scope: node 'node-b' cannot read 'node-c', only its own Node object".into(),
    }));
    let out = s.evaluate(
        &node_req("kind-worker", "list", "", "pods", "default", ""),
        None,
        &view(),
        0,
    );
    assert_eq!(out.refusal.map(|r| r.message).as_deref(), Some("pods is forbidden: User \"system:node:kind-worker\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\": can only list/watch pods with spec.nodeName field selector"));
    // Empty reason: no ": " suffix; subresource in the inner part only.
    let out = s.evaluate(
        &node_req("node-a", "get", "", "pods/log", "ns", "web-1"),
        None,
        &view(),
        0,
    );
    assert_eq!(out.reason(), "");
    assert_eq!(out.refusal.map(|r| r.message).as_deref(), Some("pods \"web-1\" is forbidden: User \"system:node:node-a\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"ns\""));
    // Non-resource requests, with HTML escaping of the inner part.
    let out = s.evaluate(
        &node_path_req("node-a", "get", "/healthz/<x>&"),
        None,
        &view(),
        0,
    );
    assert_eq!(
        out.refusal.map(|r| r.message).as_deref(),
        Some("forbidden: User \"system:node:node-a\" cannot get path \"/healthz/&lt;x&gt;&amp;\"")
    );
    // A group is appended to the wrapper's resource.
    let out = s.evaluate(
        &node_req(
            "node-a",
            "get",
            "coordination.k8s.io",
            "leases",
            "kube-node-lease",
            "node-b",
        ),
        None,
        &view(),
        0,
    );
    assert_eq!(out.refusal.map(|r| r.message).as_deref(), Some("leases.coordination.k8s.io \"node-b\" is forbidden: User \"system:node:node-a\" cannot get resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"kube-node-lease\": can only access node lease with the same name as the requesting node"));
}

#[test]
fn rbac_allows_what_node_refuses_under_legacy_binding() {
    let s = scenario("Node,RBAC", &[], None, true, &[]);
    let out = s.evaluate(
        &node_req("node-a", "get", "", "secrets", "ns", "other"),
        None,
        &view(),
        0,
    );
    assert_eq!(out.allowed_by, Some(Mode::Rbac));
    assert_eq!(out.reason(), "RBAC: allowed by ClusterRoleBinding \"system:node\" of ClusterRole \"system:node\" to Group \"system:nodes\"");
    assert_eq!(
        out.node.as_ref().map(|n| n.reason.to_string()).as_deref(),
        Some("no relationship found between node 'node-a' and this object")
    );
    let dropped = scenario(
        "Node,RBAC",
        &[],
        None,
        true,
        &["clusterrolebinding/system:node"],
    );
    let out = dropped.evaluate(
        &node_req("node-a", "get", "", "secrets", "ns", "other"),
        None,
        &view(),
        0,
    );
    assert_eq!(out.allowed_by, None);
    assert_eq!(
        out.reason(),
        "no relationship found between node 'node-a' and this object"
    );
}

#[test]
fn reasons_joined_in_chain_order() {
    let mut policy = bootstrap(false);
    policy.cluster_role_bindings.push(serde_norway::from_str("metadata: {name: broken}\nroleRef: {kind: ClusterRole, name: missing}\nsubjects: [{kind: Group, name: system:nodes}]").unwrap());
    let s =
        Scenario::from_flags("Node,AlwaysDeny,RBAC", &[], &[], None, None, policy, &[]).unwrap();
    let out = s.evaluate(
        &node_req("node-a", "get", "", "nodes", "", "node-b"),
        None,
        &view(),
        0,
    );
    assert_eq!(out.reason(), "node 'node-a' cannot read 'node-b', only its own Node object\nEverything is forbidden.\nRBAC: clusterrole.rbac.authorization.k8s.io \"missing\" not found");
    let modes: Vec<Mode> = out.authorizers.iter().map(|a| a.mode).collect();
    assert_eq!(modes, vec![Mode::Node, Mode::AlwaysDeny, Mode::Rbac]);
    // Empty reasons are skipped.
    let s = scenario("Node,RBAC", &[], None, false, &[]);
    assert_eq!(
        s.evaluate(
            &node_req("node-a", "delete", "", "nodes", "", "node-a"),
            None,
            &view(),
            0
        )
        .reason(),
        ""
    );
    let allow = scenario("AlwaysDeny,AlwaysAllow", &[], None, false, &[]);
    let out = allow.evaluate(
        &node_req("node-a", "delete", "", "nodes", "", "node-a"),
        None,
        &view(),
        0,
    );
    assert_eq!(
        (out.allowed_by, &*out.reason()),
        (Some(Mode::AlwaysAllow), "")
    );
}

#[test]
fn node_restriction_runs_only_when_enabled_and_after_allow() {
    let on = scenario("Node,RBAC", &["NodeRestriction"], None, false, &[]);
    let off = scenario("Node,RBAC", &[], None, false, &[]);
    let delete_other = node_req("node-a", "delete", "", "pods", "ns", "web-2");
    let out = on.evaluate(&delete_other, None, &view(), 0);
    assert_eq!(out.allowed_by, Some(Mode::Node));
    let msg = "pods \"web-2\" is forbidden: node \"node-a\" can only delete pods with spec.nodeName set to itself";
    assert_eq!(
        out.admission,
        Admission::Deny {
            code: 403,
            message: msg.into()
        }
    );
    assert_eq!(
        out.refusal,
        Some(Refusal {
            code: 403,
            message: msg.into()
        })
    );
    assert_eq!(
        off.evaluate(&delete_other, None, &view(), 0).admission,
        Admission::NotApplicable
    );
    // Reads never reach admission.
    let list = with_field(
        node_req("node-a", "list", "", "pods", "", ""),
        "spec.nodeName",
        "node-a",
    );
    assert_eq!(
        on.evaluate(&list, None, &view(), 0).admission,
        Admission::NotApplicable
    );
    // Unknown admission marks the outcome indeterminate.
    let out = on.evaluate(
        &node_req("node-a", "create", "", "pods", "ns", ""),
        None,
        &view(),
        0,
    );
    assert_eq!(out.indeterminate.as_deref(), Some("NodeRestriction: the log has no requestObject (the audit level is below Request, or the request was refused before its body was read); needed for the mirror-pod checks"));
    let body = json!({"metadata": {"name": "m", "annotations": {"kubernetes.io/config.mirror": "x"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node-a", "uid": "uid-node-a", "controller": true}]},
        "spec": {"nodeName": "node-a"}});
    let out = on.evaluate(
        &node_req("node-a", "create", "", "pods", "ns", ""),
        Some(&body),
        &view(),
        0,
    );
    assert_eq!((out.admission, out.refusal), (Admission::Admit, None));
}

#[test]
fn incomplete_graph_makes_refusal_indeterminate() {
    let s = scenario("Node,RBAC", &[], None, false, &[]);
    let v = view().incomplete_for("node-a", "no cluster dump");
    let out = s.evaluate(
        &node_req("node-a", "get", "", "secrets", "ns", "other"),
        None,
        &v,
        0,
    );
    assert_eq!(out.indeterminate.as_deref(), Some("no cluster dump"));
    assert_eq!(out.refusal.map(|r| r.code), Some(403));
}

#[test]
fn release_1_19_allows_listing_pods_and_1_17_quotes() {
    let s = scenario("Node,RBAC", &[], Some("1.19"), false, &[]);
    assert_eq!(
        s.evaluate(
            &node_req("node-a", "list", "", "pods", "", ""),
            None,
            &view(),
            0
        )
        .allowed_by,
        Some(Mode::Node)
    );
    let old = scenario("Node,RBAC", &[], Some("1.17"), false, &[]);
    assert_eq!(
        old.evaluate(
            &node_req("node-a", "get", "", "secrets", "ns", "x"),
            None,
            &view(),
            0
        )
        .reason(),
        "no relationship found between node \"node-a\" and this object"
    );
}

#[test]
fn flags_errors() {
    let p = || bootstrap(false);
    let err = |modes: &str,
               en: &[&str],
               dis: &[&str],
               v: Option<&str>,
               g: Option<&str>,
               drop: &[&str]| {
        let en: Vec<String> = en.iter().map(|s| s.to_string()).collect();
        let dis: Vec<String> = dis.iter().map(|s| s.to_string()).collect();
        let drop: Vec<String> = drop.iter().map(|s| s.to_string()).collect();
        Scenario::from_flags(modes, &en, &dis, v, g, p(), &drop).err()
    };
    assert_eq!(
        err("Node,ABAC", &[], &[], None, None, &[]),
        Some(ScenarioError::UnsupportedMode("ABAC".into()))
    );
    assert_eq!(
        err("Webhook", &[], &[], None, None, &[]).map(|e| e.to_string()).as_deref(),
        Some("--authorization-mode: Webhook is not supported by nodeauthz (supported: Node, RBAC, AlwaysAllow, AlwaysDeny)")
    );
    assert_eq!(
        err("Node,Foo", &[], &[], None, None, &[]),
        Some(ScenarioError::UnknownMode("Foo".into()))
    );
    assert_eq!(
        err("Node,Node", &[], &[], None, None, &[]),
        Some(ScenarioError::DuplicateMode("Node".into()))
    );
    assert_eq!(
        err("", &[], &[], None, None, &[]),
        Some(ScenarioError::NoModes)
    );
    assert_eq!(
        err(
            "Node",
            &["NodeRestriction"],
            &["NodeRestriction"],
            None,
            None,
            &[]
        ),
        Some(ScenarioError::PluginConflict("NodeRestriction".into()))
    );
    assert!(matches!(
        err("Node", &[], &[], Some("1.12"), None, &[]),
        Some(ScenarioError::Version(VersionError::Unsupported(_)))
    ));
    assert!(matches!(
        err(
            "Node",
            &[],
            &[],
            Some("1.34"),
            Some("AuthorizeNodeWithSelectors=false"),
            &[]
        ),
        Some(ScenarioError::Version(VersionError::GateLocked { .. }))
    ));
    assert_eq!(
        err("Node", &[], &[], None, None, &["clusterrolebinding/nope"]),
        Some(ScenarioError::DropNotFound(
            "clusterrolebinding/nope".into()
        ))
    );
    assert_eq!(
        err("Node", &[], &[], None, None, &["rolebinding/x"]),
        Some(ScenarioError::DropSyntax("rolebinding/x".into()))
    );
    assert_eq!(
        err("Node", &[], &[], None, None, &["secret/x"]),
        Some(ScenarioError::DropSyntax("secret/x".into()))
    );
    // Lists may be comma-separated and repeated; the default omits NodeRestriction.
    let en = vec!["NamespaceLifecycle, NodeRestriction".to_string()];
    let s =
        Scenario::from_flags(" Node , RBAC ", &en, &[], Some("v1.30.1"), None, p(), &[]).unwrap();
    assert!(s.node_restriction);
    assert_eq!(s.modes, vec![Mode::Node, Mode::Rbac]);
    assert_eq!(s.version.to_string(), "1.30");
    assert!(!scenario("Node,RBAC", &[], None, false, &[]).node_restriction);
}

/// A mix of typical kubelet requests, each with its expected allowing authorizer, evaluated
/// repeatedly; the answer is checked inside the loop so a fast wrong answer cannot pass.
/// `cargo test --release --test authz_chain chain_throughput -- --nocapture` prints the rate.
#[test]
fn chain_throughput() {
    let s = scenario("Node,RBAC", &["NodeRestriction"], None, false, &[]);
    let v = view();
    let cases = [
        (
            node_req("node-a", "get", "", "secrets", "ns", "db"),
            Some(Mode::Node),
        ),
        (
            with_field(
                node_req("node-a", "watch", "", "pods", "", ""),
                "spec.nodeName",
                "node-a",
            ),
            Some(Mode::Node),
        ),
        (
            node_req("node-a", "get", "", "nodes", "", "node-a"),
            Some(Mode::Node),
        ),
        (
            node_req("node-a", "patch", "", "nodes/status", "", "node-a"),
            Some(Mode::Node),
        ),
        (
            node_req(
                "node-a",
                "get",
                "coordination.k8s.io",
                "leases",
                "kube-node-lease",
                "node-a",
            ),
            Some(Mode::Node),
        ),
        (
            node_req("node-a", "create", "", "events", "ns", ""),
            Some(Mode::Node),
        ),
        (node_path_req("node-a", "get", "/healthz"), Some(Mode::Rbac)),
        (
            node_req("node-a", "get", "", "secrets", "ns", "other"),
            None,
        ),
    ];
    let rounds = if cfg!(debug_assertions) { 500 } else { 100_000 };
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for (attrs, want) in &cases {
            let out = s.evaluate(attrs, None, &v, 0);
            assert_eq!(out.allowed_by, *want, "{attrs:?}");
        }
    }
    let n = rounds * cases.len();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "chain_throughput: {n} evaluations in {secs:.3}s = {:.0}/s",
        n as f64 / secs
    );
}

#[test]
fn shared_answers_give_the_outcomes_each_scenario_gives_alone() {
    use nodeauthz::authz::chain::{share_answers, SharedAnswers, Shares};
    use nodeauthz::authz::restriction::RequestBody;
    // The recorded candidates and the target, as `analyze` decides every request under them.
    let mut scenarios = recorded_candidates();
    scenarios.extend([
        scenario("Node,RBAC", &[], Some("1.19"), false, &[]),
        scenario(
            "RBAC,Node",
            &[],
            None,
            true,
            &["clusterrolebinding/system:node"],
        ),
    ]);
    share_answers(&mut scenarios);
    let shares: Vec<Shares> = scenarios.iter().map(|s| s.shares).collect();
    let some = |node, rbac, restriction| Shares {
        node: Some(node),
        rbac: Some(rbac),
        restriction: Some(restriction),
    };
    // Node authorizers and NodeRestriction plugins differ only by release; RBAC by the legacy
    // binding. Dropping the legacy binding leaves no `system:node` binding at all, where the
    // bootstrap policy has one without subjects: the compiled authorizers differ, so nothing
    // is shared with it.
    assert_eq!(
        shares,
        [
            some(0, 0, 0),
            some(0, 1, 0),
            some(0, 0, 0),
            some(0, 1, 0),
            some(4, 0, 4),
            some(0, 5, 0)
        ]
    );
    let requests = [
        node_req("node-a", "get", "", "secrets", "ns", "db"),
        node_req("node-b", "get", "", "secrets", "ns", "db"),
        node_req("node-a", "get", "", "nodes", "", "node-a"),
        node_req("node-b", "get", "", "nodes", "", "node-c"),
        node_req("node-a", "list", "", "pods", "", ""),
        node_req("node-a", "patch", "", "nodes/status", "", "node-a"),
        node_req(
            "node-a",
            "update",
            "coordination.k8s.io",
            "leases",
            "kube-node-lease",
            "node-a",
        ),
        node_req("node-a", "delete", "", "pods", "ns", "web-2"),
        node_path_req("node-a", "get", "/healthz"),
    ];
    let view = view();
    let mut shared = SharedAnswers::default();
    let mut admissions = std::collections::BTreeSet::new();
    for attrs in &requests {
        shared.clear();
        for s in &scenarios {
            let body = RequestBody::raw(None);
            let alone = s.decide(attrs, &body, &view, 0);
            let with = s.decide_with(attrs, &body, &view, 0, &mut shared);
            assert_eq!(with, alone, "{attrs:?} under {:?}", s.modes);
            admissions.insert(format!("{:?}", alone.admission));
        }
    }
    // Admission was decided, both ways, under scenarios that share it.
    assert_eq!(
        admissions.into_iter().collect::<Vec<_>>(),
        [
            "Admit",
            "Deny { code: 403, message: \"pods \\\"web-2\\\" is forbidden: node \\\"node-a\\\" can only delete pods with spec.nodeName set to itself\" }",
            "NotApplicable",
            "Unknown(\"the log has no requestObject (the audit level is below Request, or the request was refused before its body was read); needed for the taint and label checks of a Node update\")",
        ]
    );
}

/// NodeRestriction's answer is shared between scenarios with the same plugin, except when it
/// asked the scenario's own chain (an audience a pod does not project): there each scenario's
/// authorizers answer for themselves, whichever scenario comes first.
#[test]
fn admission_that_asks_the_chain_is_not_shared() {
    use nodeauthz::authz::chain::{share_answers, SharedAnswers};
    use nodeauthz::authz::restriction::RequestBody;
    let granted = || {
        scenario(
            "AlwaysAllow",
            &["NodeRestriction"],
            Some("1.33"),
            false,
            &[],
        )
    };
    let refused = || scenario("RBAC", &["NodeRestriction"], Some("1.33"), true, &[]);
    let unknown = Admission::Unknown("audience \"aws\" is not referenced by a projected serviceAccountToken of the pod and the node is not authorized for it; a CSI driver's spec.tokenRequests may still reference it (not modelled)".into());
    let view = view();
    let token = node_req(
        "node-a",
        "create",
        "",
        "serviceaccounts/token",
        "ns",
        "default",
    );
    let body = r#"{"spec": {"audiences": ["aws"], "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "web-1", "uid": "uid-1"}}}"#;
    for mut scenarios in [vec![granted(), refused()], vec![refused(), granted()]] {
        share_answers(&mut scenarios);
        assert_eq!(scenarios[1].shares.restriction, Some(0));
        let mut shared = SharedAnswers::default();
        let admissions: Vec<Admission> = scenarios
            .iter()
            .map(|s| {
                let body = RequestBody::raw(Some(body));
                let with = s.decide_with(&token, &body, &view, 0, &mut shared);
                assert_eq!(with, s.decide(&token, &body, &view, 0));
                assert!(with.authorized(), "{:?}", s.modes);
                with.admission
            })
            .collect();
        let want = if scenarios[0].modes == [Mode::AlwaysAllow] {
            [Admission::Admit, unknown.clone()]
        } else {
            [unknown.clone(), Admission::Admit]
        };
        assert_eq!(admissions, want);
    }
}

/// What RBAC keeps for a user from one request to the next (the cluster bindings that apply
/// to it) is for the groups it was found with: the same username in other groups is looked
/// up anew, and a user's answers stay those of its groups of the moment.
#[test]
fn rbac_answers_follow_a_users_groups_from_request_to_request() {
    use nodeauthz::authz::chain::{share_answers, SharedAnswers};
    use nodeauthz::authz::restriction::RequestBody;
    let mut scenarios = vec![scenario("RBAC", &[], None, true, &[])];
    share_answers(&mut scenarios);
    let s = &scenarios[0];
    let in_nodes = node_req("node-a", "get", "", "secrets", "ns", "db");
    let mut outside = in_nodes.clone();
    outside.groups = vec!["system:authenticated".into()];
    let view = view();
    let body = RequestBody::raw(None);
    let mut shared = SharedAnswers::default();
    let mut allowed = Vec::new();
    for attrs in [&in_nodes, &outside, &in_nodes, &outside] {
        shared.clear();
        let with = s.decide_with(attrs, &body, &view, 0, &mut shared);
        assert_eq!(with, s.decide(attrs, &body, &view, 0), "{:?}", attrs.groups);
        allowed.push(with.authorized());
    }
    // The legacy binding grants the group system:nodes every secret.
    assert_eq!(allowed, [true, false, true, false]);
}

/// What RBAC keeps from one request to the next is its own: one `SharedAnswers` used with
/// scenarios of other policies, at the same places in their slices, gives each its answers.
#[test]
fn rbac_answers_are_those_of_each_scenarios_own_policy() {
    use nodeauthz::authz::chain::{share_answers, SharedAnswers};
    use nodeauthz::authz::restriction::RequestBody;
    let mut with_binding = vec![scenario("RBAC", &[], None, true, &[])];
    let mut without = vec![scenario("RBAC", &[], None, false, &[])];
    share_answers(&mut with_binding);
    share_answers(&mut without);
    let attrs = node_req("node-a", "get", "", "secrets", "ns", "db");
    let view = view();
    let body = RequestBody::raw(None);
    let mut shared = SharedAnswers::default();
    let mut allowed = Vec::new();
    for s in [&with_binding[0], &without[0], &with_binding[0], &without[0]] {
        shared.clear();
        let with = s.decide_with(&attrs, &body, &view, 0, &mut shared);
        assert_eq!(with, s.decide(&attrs, &body, &view, 0));
        allowed.push(with.authorized());
    }
    assert_eq!(allowed, [true, false, true, false]);
}

#[test]
fn a_mode_named_twice_is_consulted_once() {
    use nodeauthz::authz::version::{FeatureGates, KubeVersion};
    let gates = FeatureGates::parse(KubeVersion::NEWEST, None).unwrap();
    let s = Scenario::new(
        vec![
            Mode::Node,
            Mode::AlwaysDeny,
            Mode::Node,
            Mode::AlwaysDeny,
            Mode::Rbac,
            Mode::Rbac,
            Mode::Node,
        ],
        false,
        gates,
        &bootstrap(false),
        Vec::new(),
    );
    let out = s.evaluate(
        &node_req("node-a", "get", "", "nodes", "", "node-b"),
        None,
        &view(),
        0,
    );
    let modes: Vec<Mode> = out.authorizers.iter().map(|a| a.mode).collect();
    assert_eq!(modes, vec![Mode::Node, Mode::AlwaysDeny, Mode::Rbac]);
    assert_eq!(
        out.reason(),
        "node 'node-a' cannot read 'node-b', only its own Node object\nEverything is forbidden."
    );
    assert_eq!(out.reason_of(Mode::Rbac), "");
    assert_eq!(out.reason_of(Mode::AlwaysDeny), "Everything is forbidden.");
    // Not consulted: no reason, AlwaysDeny's included.
    let allowed = s.evaluate(
        &node_req("node-a", "get", "", "nodes", "", "node-a"),
        None,
        &view(),
        0,
    );
    assert_eq!(allowed.authorizers.len(), 1);
    assert_eq!(
        (allowed.reason(), allowed.reason_of(Mode::AlwaysDeny)),
        ("".into(), "")
    );
}

#[test]
fn mode_all_lists_each_mode_once_in_declaration_order() {
    for (i, mode) in Mode::ALL.iter().enumerate() {
        // A new mode fails to compile here: give it the next place, and list it in Mode::ALL.
        let at = match mode {
            Mode::Node => 0,
            Mode::Rbac => 1,
            Mode::AlwaysAllow => 2,
            Mode::AlwaysDeny => 3,
        };
        assert_eq!(at, i, "{mode:?}");
    }
}

#[test]
fn deciding_a_request_leaves_its_answers_to_its_outcomes_alone() {
    use nodeauthz::analyze::Prepared;
    use nodeauthz::authz::chain::{share_answers, SharedAnswers};
    use nodeauthz::input::uri::parse_request_uri;
    use nodeauthz::record::{KubeletRequest, UserInfo};
    use std::sync::Arc;
    let mut scenarios = recorded_candidates();
    share_answers(&mut scenarios);
    let req = KubeletRequest {
        verb: "get".into(),
        uri: parse_request_uri("/api/v1/nodes/node-a"),
        user: UserInfo {
            username: "system:node:node-a".into(),
            groups: vec!["system:nodes".into(), "system:authenticated".into()],
            ..UserInfo::default()
        },
        ..KubeletRequest::default()
    };
    let prepared = Prepared::new(&req);
    let mut shared = SharedAnswers::default();
    for _ in 0..2 {
        let outcomes = prepared.outcomes(&scenarios, &view(), &mut shared);
        // One Node answer for both Node,RBAC scenarios (which stop there), held by them alone,
        // so that the last row built from it can take it without copying.
        let node = outcomes[2].node.as_ref().expect("Node consulted");
        assert!(Arc::ptr_eq(node, outcomes[3].node.as_ref().unwrap()));
        assert_eq!(Arc::strong_count(node), 2);
        assert!(outcomes[2].rbac.is_none() && outcomes[3].rbac.is_none());
        // The RBAC-only scenarios differ by the legacy binding: an answer each.
        for o in &outcomes[..2] {
            assert_eq!(
                Arc::strong_count(o.rbac.as_ref().expect("RBAC consulted")),
                1
            );
        }
        assert!(!outcomes[0].authorized() && outcomes[1].authorized());
    }
}
