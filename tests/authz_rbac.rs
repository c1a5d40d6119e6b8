//! RBAC evaluation: rule matching (spec 9.1), bindings (9.2), reasons (9.3), aggregation.

mod authz_support;

use authz_support::{k8s_data, node_path_req, node_req};
use nodeauthz::authz::rbac::{render_rule, BindingKind, BindingRef, RbacAuthorizer};
use nodeauthz::authz::Attributes;
use nodeauthz::cluster::rbac_types::{Binding, RbacPolicy, Role};

fn role(yaml: &str) -> Role {
    serde_norway::from_str(yaml).expect("role YAML")
}

fn binding(yaml: &str) -> Binding {
    serde_norway::from_str(yaml).expect("binding YAML")
}

/// A ClusterRole `name` with `rules` (YAML flow list) bound cluster-wide to user `alice`.
fn one_rule_policy(rules: &str) -> RbacAuthorizer {
    let policy = RbacPolicy {
        cluster_roles: vec![role(&format!("metadata: {{name: r}}\nrules: {rules}"))],
        cluster_role_bindings: vec![binding(
            "metadata: {name: b}\nroleRef: {kind: ClusterRole, name: r}\nsubjects: [{kind: User, name: alice}]",
        )],
        ..RbacPolicy::default()
    };
    RbacAuthorizer::new(&policy, &[])
}

fn alice(verb: &str, group: &str, resource: &str, ns: &str, name: &str) -> Attributes {
    let mut a = node_req("x", verb, group, resource, ns, name);
    a.username = "alice".into();
    a.groups = vec!["system:authenticated".into()];
    a
}

fn alice_path(verb: &str, path: &str) -> Attributes {
    let mut a = node_path_req("x", verb, path);
    a.username = "alice".into();
    a.groups = vec!["system:authenticated".into()];
    a
}

/// (description, rules, request, allowed?)
fn check(rows: Vec<(&str, &str, Attributes, bool)>) {
    let mut failures = Vec::new();
    for (desc, rules, attrs, want) in rows {
        let got = one_rule_policy(rules).authorize(&attrs);
        if got.allowed != want {
            failures.push(format!(
                "{desc}: want {want}, got {} ({})",
                got.allowed, got.reason
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rule_matching() {
    let pods = r#"[{apiGroups: [""], resources: [pods], verbs: [get, update]}]"#;
    let pods_status = r#"[{apiGroups: [""], resources: [pods/status], verbs: [update]}]"#;
    let scale = r#"[{apiGroups: ["*"], resources: ["*/scale"], verbs: [update]}]"#;
    let pods_star = r#"[{apiGroups: [""], resources: ["pods/*"], verbs: [get]}]"#;
    let named =
        r#"[{apiGroups: [""], resources: [secrets], resourceNames: [db], verbs: [get, list]}]"#;
    let all = r#"[{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]"#;
    let healthz = r#"[{nonResourceURLs: ["/healthz/*", "/version"], verbs: [get]}]"#;
    let any_url = r#"[{nonResourceURLs: ["*"], verbs: [get]}]"#;
    check(vec![
        (
            "pods matches pods",
            pods,
            alice("get", "", "pods", "ns", "p"),
            true,
        ),
        (
            "pods does not match pods/status",
            pods,
            alice("update", "", "pods/status", "ns", "p"),
            false,
        ),
        (
            "pods/status matches pods/status",
            pods_status,
            alice("update", "", "pods/status", "ns", "p"),
            true,
        ),
        (
            "pods/status does not match pods",
            pods_status,
            alice("update", "", "pods", "ns", "p"),
            false,
        ),
        (
            "verb must match",
            pods,
            alice("delete", "", "pods", "ns", "p"),
            false,
        ),
        (
            "group must match",
            pods,
            alice("get", "apps", "pods", "ns", "p"),
            false,
        ),
        (
            "*/scale matches deployments/scale",
            scale,
            alice("update", "apps", "deployments/scale", "ns", "d"),
            true,
        ),
        (
            "*/scale does not match deployments",
            scale,
            alice("update", "apps", "deployments", "ns", "d"),
            false,
        ),
        (
            "*/scale does not match pods/status",
            scale,
            alice("update", "", "pods/status", "ns", "p"),
            false,
        ),
        (
            "pods/* is literal",
            pods_star,
            alice("get", "", "pods/status", "ns", "p"),
            false,
        ),
        (
            "pods/* matches subresource named *",
            pods_star,
            alice("get", "", "pods/*", "ns", "p"),
            true,
        ),
        (
            "resourceNames match",
            named,
            alice("get", "", "secrets", "ns", "db"),
            true,
        ),
        (
            "resourceNames other name",
            named,
            alice("get", "", "secrets", "ns", "other"),
            false,
        ),
        (
            "resourceNames never match empty name",
            named,
            alice("list", "", "secrets", "ns", ""),
            false,
        ),
        (
            "wildcards",
            all,
            alice("deletecollection", "apps", "deployments", "ns", ""),
            true,
        ),
        (
            "resource rule vs non-resource request",
            all,
            alice_path("get", "/healthz"),
            false,
        ),
        (
            "/healthz/* matches /healthz/etcd",
            healthz,
            alice_path("get", "/healthz/etcd"),
            true,
        ),
        (
            "/healthz/* does not match /healthz",
            healthz,
            alice_path("get", "/healthz"),
            false,
        ),
        ("exact url", healthz, alice_path("get", "/version"), true),
        ("url verb", healthz, alice_path("post", "/version"), false),
        (
            "non-resource rule vs resource request",
            any_url,
            alice("get", "", "pods", "ns", "p"),
            false,
        ),
        ("* url", any_url, alice_path("get", "/metrics"), true),
    ]);
}

#[test]
fn reasons_and_subjects() {
    let policy = RbacPolicy {
        cluster_roles: vec![role("metadata: {name: reader}\nrules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get]}]")],
        roles: vec![role("metadata: {name: r, namespace: ns}\nrules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}]")],
        cluster_role_bindings: vec![
            binding("metadata: {name: crb}\nroleRef: {kind: ClusterRole, name: reader}\nsubjects: [{kind: Group, name: readers}]"),
            // A cluster binding's ServiceAccount subject needs its own namespace.
            binding("metadata: {name: crb-sa}\nroleRef: {kind: ClusterRole, name: reader}\nsubjects: [{kind: ServiceAccount, name: nons}]"),
        ],
        role_bindings: vec![
            binding("metadata: {name: rb, namespace: ns}\nroleRef: {kind: Role, name: r}\nsubjects: [{kind: User, name: bob}, {kind: ServiceAccount, name: sa}]"),
            binding("metadata: {name: rb2, namespace: ns}\nroleRef: {kind: ClusterRole, name: reader}\nsubjects: [{kind: ServiceAccount, name: other, namespace: kube-system}]"),
        ],
    };
    let rbac = RbacAuthorizer::new(&policy, &[]);
    let who = |user: &str, groups: &[&str], resource: &str, ns: &str| {
        let mut a = node_req("x", "get", "", resource, ns, "n");
        a.username = user.into();
        a.groups = groups.iter().map(|s| (*s).into()).collect();
        rbac.authorize(&a)
    };
    let d = who("carol", &["readers"], "secrets", "ns");
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by ClusterRoleBinding "crb" of ClusterRole "reader" to Group "readers""#
    );
    let d = who("bob", &[], "configmaps", "ns");
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by RoleBinding "rb/ns" of Role "r" to User "bob""#
    );
    let d = who("system:serviceaccount:ns:sa", &[], "configmaps", "ns");
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by RoleBinding "rb/ns" of Role "r" to ServiceAccount "sa/ns""#
    );
    let d = who(
        "system:serviceaccount:kube-system:other",
        &[],
        "secrets",
        "ns",
    );
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by RoleBinding "rb2/ns" of ClusterRole "reader" to ServiceAccount "other/kube-system""#
    );
    assert!(!who("system:serviceaccount:ns:nons", &[], "secrets", "ns").allowed);
    // Role bindings apply only in their namespace and only to namespaced requests.
    assert!(!who("bob", &[], "configmaps", "other").allowed);
    assert!(!who("bob", &[], "configmaps", "").allowed);
    let none = who("dave", &[], "secrets", "ns");
    assert_eq!(
        (none.allowed, none.reason.as_str(), none.matched),
        (false, "", None)
    );
}

#[test]
fn cluster_bindings_first_then_sorted_by_name() {
    let policy = RbacPolicy {
        cluster_roles: vec![role("metadata: {name: all}\nrules: [{apiGroups: [\"*\"], resources: [\"*\"], verbs: [\"*\"]}]")],
        cluster_role_bindings: vec![
            binding("metadata: {name: zz}\nroleRef: {kind: ClusterRole, name: all}\nsubjects: [{kind: User, name: alice}]"),
            binding("metadata: {name: aa}\nroleRef: {kind: ClusterRole, name: all}\nsubjects: [{kind: Group, name: g}, {kind: User, name: alice}]"),
        ],
        role_bindings: vec![binding("metadata: {name: a, namespace: ns}\nroleRef: {kind: ClusterRole, name: all}\nsubjects: [{kind: User, name: alice}]")],
        ..RbacPolicy::default()
    };
    let d = RbacAuthorizer::new(&policy, &[]).authorize(&alice("get", "", "pods", "ns", "p"));
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by ClusterRoleBinding "aa" of ClusterRole "all" to User "alice""#
    );
    let m = d.matched.expect("match");
    assert_eq!(
        (m.binding_kind, m.rule_index),
        (BindingKind::ClusterRoleBinding, 0)
    );
    assert_eq!(m.rule, r#"{APIGroups:["*"], Resources:["*"], Verbs:["*"]}"#);
}

#[test]
fn missing_roles_are_rule_resolution_errors() {
    let policy = RbacPolicy {
        cluster_roles: vec![role("metadata: {name: ok}\nrules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]")],
        cluster_role_bindings: vec![
            binding("metadata: {name: a}\nroleRef: {kind: ClusterRole, name: gone}\nsubjects: [{kind: User, name: alice}]"),
            binding("metadata: {name: b}\nroleRef: {kind: ClusterRole, name: gone}\nsubjects: [{kind: User, name: alice}]"),
            binding("metadata: {name: c}\nroleRef: {kind: ClusterRole, name: ok}\nsubjects: [{kind: User, name: alice}]"),
            binding("metadata: {name: d}\nroleRef: {kind: ClusterRole, name: gone-too}\nsubjects: [{kind: User, name: bob}]"),
        ],
        role_bindings: vec![binding("metadata: {name: rb, namespace: ns}\nroleRef: {kind: Role, name: nope}\nsubjects: [{kind: User, name: alice}]")],
        ..RbacPolicy::default()
    };
    let rbac = RbacAuthorizer::new(&policy, &[]);
    // An allowing binding wins over errors met before it.
    assert_eq!(
        rbac.authorize(&alice("get", "", "pods", "ns", "p")).reason,
        r#"RBAC: allowed by ClusterRoleBinding "c" of ClusterRole "ok" to User "alice""#
    );
    // Errors are deduplicated; several distinct errors are bracketed.
    assert_eq!(
        rbac.authorize(&alice("get", "", "secrets", "ns", "s"))
            .reason,
        r#"RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "nope" not found]"#
    );
    assert_eq!(
        rbac.authorize(&alice("get", "", "secrets", "", "s")).reason,
        r#"RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found"#
    );
    // Errors of bindings that do not apply to the user are not met.
    let mut bob = alice("get", "", "pods", "", "p");
    bob.username = "carol".into();
    assert_eq!(rbac.authorize(&bob).reason, "");
    // A reused list of candidates, whatever it held, gives the same answers.
    let mut candidates = vec![3, 0, 99, 2];
    for attrs in [
        alice("get", "", "pods", "ns", "p"),
        alice("get", "", "secrets", "ns", "s"),
        alice("get", "", "secrets", "", "s"),
        bob,
    ] {
        assert_eq!(
            rbac.authorize_with(&attrs, &mut candidates),
            rbac.authorize(&attrs)
        );
    }
}

#[test]
fn aggregation() {
    let policy = RbacPolicy {
        cluster_roles: vec![
            role("metadata: {name: agg}\naggregationRule: {clusterRoleSelectors: [{matchLabels: {x: \"true\"}}, {matchExpressions: [{key: tier, operator: In, values: [gold]}, {key: legacy, operator: DoesNotExist}]}]}\nrules: null"),
            role("metadata: {name: a, labels: {x: \"true\"}}\nrules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]"),
            role("metadata: {name: b, labels: {x: \"false\"}}\nrules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get]}]"),
            role("metadata: {name: c, labels: {tier: gold}}\nrules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}, {apiGroups: [\"\"], resources: [pods], verbs: [get]}]"),
            role("metadata: {name: d, labels: {tier: gold, legacy: \"1\"}}\nrules: [{apiGroups: [\"\"], resources: [nodes], verbs: [get]}]"),
            // Nested: selects `agg` itself, which is aggregated.
            role("metadata: {name: top}\naggregationRule: {clusterRoleSelectors: [{matchExpressions: [{key: top, operator: Exists}]}]}"),
            role("metadata: {name: agg2, labels: {top: \"\"}}\naggregationRule: {clusterRoleSelectors: [{matchExpressions: [{key: x, operator: NotIn, values: [\"false\"]}, {key: x, operator: Exists}]}]}"),
        ],
        ..RbacPolicy::default()
    };
    let rbac = RbacAuthorizer::new(&policy, &[]);
    let agg = rbac.cluster_role_rules("agg").expect("agg");
    let rendered: Vec<String> = agg.iter().map(render_rule).collect();
    assert_eq!(
        rendered,
        vec![
            r#"{APIGroups:[""], Resources:["pods"], Verbs:["get"]}"#,
            r#"{APIGroups:[""], Resources:["configmaps"], Verbs:["get"]}"#,
        ]
    );
    let top: Vec<String> = rbac
        .cluster_role_rules("top")
        .expect("top")
        .iter()
        .map(render_rule)
        .collect();
    assert_eq!(
        top,
        vec![r#"{APIGroups:[""], Resources:["pods"], Verbs:["get"]}"#]
    );
}

fn bootstrap_policy() -> RbacPolicy {
    #[derive(serde::Deserialize)]
    struct Roles {
        items: Vec<Role>,
    }
    #[derive(serde::Deserialize)]
    struct Bindings {
        items: Vec<Binding>,
    }
    let roles: Roles = serde_norway::from_str(&k8s_data("cluster-roles.yaml")).expect("roles");
    let bindings: Bindings =
        serde_norway::from_str(&k8s_data("cluster-role-bindings.yaml")).expect("bindings");
    RbacPolicy {
        cluster_roles: roles.items,
        cluster_role_bindings: bindings.items,
        ..RbacPolicy::default()
    }
}

#[test]
fn bootstrap_policy_for_nodes() {
    let policy = bootstrap_policy();
    let rbac = RbacAuthorizer::new(&policy, &[]);
    assert_eq!(
        rbac.authorize(&node_path_req("node-a", "get", "/healthz"))
            .reason,
        r#"RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated""#
    );
    assert!(
        !rbac
            .authorize(&node_path_req("node-a", "get", "/healthz/etcd"))
            .allowed
    );
    // The system:node binding has no subjects.
    let secret = node_req("node-a", "get", "", "secrets", "ns", "db");
    assert_eq!(rbac.authorize(&secret).reason, "");
    // Aggregated bootstrap roles: admin includes edit's rules, view does not read secrets.
    let admin = rbac.cluster_role_rules("admin").expect("admin");
    let edit = rbac.cluster_role_rules("edit").expect("edit");
    assert!(edit.iter().all(|r| admin.contains(r)), "admin ⊇ edit");
    let view = rbac.cluster_role_rules("view").expect("view");
    assert!(
        !view.is_empty()
            && view
                .iter()
                .all(|r| !r.resources.iter().any(|x| x == "secrets"))
    );
}

#[test]
fn legacy_system_node_binding_and_drop() {
    let mut policy = bootstrap_policy();
    for b in &mut policy.cluster_role_bindings {
        if b.metadata.name == "system:node" {
            b.subjects = vec![binding("metadata: {name: x}\nroleRef: {kind: ClusterRole, name: y}\nsubjects: [{kind: Group, name: system:nodes, apiGroup: rbac.authorization.k8s.io}]").subjects.remove(0)];
        }
    }
    let secret = node_req("node-a", "list", "", "secrets", "", "");
    let d = RbacAuthorizer::new(&policy, &[]).authorize(&secret);
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by ClusterRoleBinding "system:node" of ClusterRole "system:node" to Group "system:nodes""#
    );
    let m = d.matched.expect("match");
    assert_eq!(m.rule_index, 11);
    assert_eq!(
        m.rule,
        r#"{APIGroups:[""], Resources:["configmaps" "secrets"], Verbs:["get" "list" "watch"]}"#
    );
    let drop = BindingRef {
        kind: BindingKind::ClusterRoleBinding,
        namespace: String::new(),
        name: "system:node".into(),
    };
    assert!(
        !RbacAuthorizer::new(&policy, &[drop])
            .authorize(&secret)
            .allowed
    );
}

/// Upstream `NonResourceURLMatches` trims every trailing `*` (`strings.TrimRight(ruleURL, "*")`)
/// before the prefix test, so `/healthz**` behaves as `/healthz*`.
#[test]
fn non_resource_url_trims_all_trailing_stars() {
    check(vec![
        (
            "/healthz** matches /healthz",
            "[{nonResourceURLs: [\"/healthz**\"], verbs: [get]}]",
            alice_path("get", "/healthz"),
            true,
        ),
        (
            "/healthz** matches /healthz/etcd",
            "[{nonResourceURLs: [\"/healthz**\"], verbs: [get]}]",
            alice_path("get", "/healthz/etcd"),
            true,
        ),
        (
            "/healthz** does not match /health",
            "[{nonResourceURLs: [\"/healthz**\"], verbs: [get]}]",
            alice_path("get", "/health"),
            false,
        ),
        (
            "/healthz/* does not match /healthz",
            "[{nonResourceURLs: [\"/healthz/*\"], verbs: [get]}]",
            alice_path("get", "/healthz"),
            false,
        ),
        (
            "/* matches /",
            "[{nonResourceURLs: [\"/*\"], verbs: [get]}]",
            alice_path("get", "/"),
            true,
        ),
    ]);
}

/// Upstream `ResourceNameMatches`: a rule listing the empty name matches a request without one.
#[test]
fn empty_resource_name_in_rule_matches_unnamed_request() {
    check(vec![
        (
            "[\"\"] matches list",
            "[{apiGroups: [\"\"], resources: [pods], resourceNames: [\"\"], verbs: [list]}]",
            alice("list", "", "pods", "ns", ""),
            true,
        ),
        (
            "[\"a\"] does not match list",
            "[{apiGroups: [\"\"], resources: [pods], resourceNames: [a], verbs: [list]}]",
            alice("list", "", "pods", "ns", ""),
            false,
        ),
    ]);
}

/// Upstream `serviceaccount.MatchesUsername` compares prefix, namespace, `:` and then the rest
/// of the username with the subject name, so neither part is split at a later colon.
#[test]
fn service_account_subjects_match_like_matches_username() {
    let policy = RbacPolicy {
        cluster_roles: vec![role("metadata: {name: reader}\nrules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get]}]")],
        role_bindings: vec![
            binding("metadata: {name: colon-name, namespace: a}\nroleRef: {kind: ClusterRole, name: reader}\nsubjects: [{kind: ServiceAccount, name: \"b:c\"}]"),
            binding("metadata: {name: colon-ns, namespace: x}\nroleRef: {kind: ClusterRole, name: reader}\nsubjects: [{kind: ServiceAccount, name: c, namespace: \"x:b\"}]"),
        ],
        ..RbacPolicy::default()
    };
    let rbac = RbacAuthorizer::new(&policy, &[]);
    let get = |user: &str, ns: &str| {
        let mut a = node_req("x", "get", "", "secrets", ns, "s");
        a.username = user.into();
        a.groups = vec![];
        rbac.authorize(&a)
    };
    let d = get("system:serviceaccount:a:b:c", "a");
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by RoleBinding "colon-name/a" of ClusterRole "reader" to ServiceAccount "b:c/a""#
    );
    let d = get("system:serviceaccount:x:b:c", "x");
    assert_eq!(
        d.reason,
        r#"RBAC: allowed by RoleBinding "colon-ns/x" of ClusterRole "reader" to ServiceAccount "c/x:b""#
    );
    assert!(!get("system:serviceaccount:a:b", "a").allowed);
    assert!(!get("system:serviceaccount:a:b:c:d", "a").allowed);
}

mod indexed_rules {
    //! `IndexedRules::first_allowing` must give the position a walk of every rule in order
    //! gives, for any rules and any request: the index only skips rules that cannot match.

    use nodeauthz::authz::rbac::{rule_allows, IndexedRules};
    use nodeauthz::authz::Attributes;
    use nodeauthz::cluster::rbac_types::PolicyRule;
    use proptest::prelude::*;

    fn pick(from: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(proptest::sample::select(from), 0..4)
            .prop_map(|v| v.into_iter().map(str::to_string).collect())
    }

    const VERBS: [&str; 5] = ["get", "list", "watch", "update", "*"];
    const GROUPS: [&str; 3] = ["", "coordination.k8s.io", "*"];
    const RESOURCES: [&str; 12] = [
        "",
        "*x",
        "pods",
        "pods/status",
        "pods/eviction",
        "nodes",
        "nodes/status",
        "*",
        "*/status",
        "leases",
        "a/b",
        "a/b/status",
    ];
    const NAMES: [&str; 2] = ["n1", "n2"];
    const URLS: [&str; 3] = ["/healthz", "/api*", "*"];

    fn rule() -> impl Strategy<Value = PolicyRule> {
        (
            pick(&VERBS),
            pick(&GROUPS),
            pick(&RESOURCES),
            pick(&NAMES),
            pick(&URLS),
        )
            .prop_map(
                |(verbs, api_groups, resources, resource_names, non_resource_urls)| PolicyRule {
                    verbs,
                    api_groups,
                    resources,
                    resource_names,
                    non_resource_urls,
                },
            )
    }

    fn request() -> impl Strategy<Value = Attributes> {
        (
            any::<bool>(),
            proptest::sample::select(&VERBS[..4]),
            proptest::sample::select(&GROUPS[..2]),
            proptest::sample::select(
                &["pods", "nodes", "leases", "secrets", "a", "a/b", "*", ""][..],
            ),
            proptest::sample::select(&["", "status", "eviction", "b"][..]),
            proptest::sample::select(&["", "n1", "n2"][..]),
            proptest::sample::select(&["/healthz", "/api/v1", "/version"][..]),
        )
            .prop_map(
                |(resource_request, verb, group, resource, subresource, name, path)| Attributes {
                    resource_request,
                    verb: verb.into(),
                    api_group: group.into(),
                    resource: resource.into(),
                    subresource: subresource.into(),
                    name: name.into(),
                    path: path.into(),
                    ..Attributes::default()
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn first_allowing_is_the_first_rule_that_allows(
            rules in proptest::collection::vec(rule(), 0..12),
            attrs in request(),
        ) {
            let walked = rules.iter().position(|r| rule_allows(&attrs, r));
            let indexed = IndexedRules::new(rules.clone());
            prop_assert_eq!(indexed.first_allowing(&attrs), walked);
            prop_assert_eq!(indexed.rules(), &rules[..]);
        }
    }

    #[test]
    fn subresources_and_wildcards_keep_the_rule_order() {
        let rule = |resources: &[&str], verbs: &[&str]| PolicyRule {
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            api_groups: vec![String::new()],
            resources: resources.iter().map(|s| s.to_string()).collect(),
            ..PolicyRule::default()
        };
        let rules = IndexedRules::new(vec![
            rule(&["pods", "pods/status"], &["list"]),
            rule(&["*/status"], &["patch"]),
            rule(&["pods/status"], &["patch"]),
            rule(&["*"], &["get"]),
        ]);
        let req = |verb: &str, subresource: &str| Attributes {
            resource_request: true,
            verb: verb.into(),
            resource: "pods".into(),
            subresource: subresource.into(),
            ..Attributes::default()
        };
        assert_eq!(rules.first_allowing(&req("patch", "status")), Some(1));
        assert_eq!(rules.first_allowing(&req("get", "")), Some(3));
        assert_eq!(rules.first_allowing(&req("list", "")), Some(0));
        assert_eq!(rules.first_allowing(&req("delete", "")), None);
    }
}
