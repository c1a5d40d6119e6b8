//! RBAC findings: what is reported for bindings to node identities, with exact rendered rules,
//! and that the built-in bootstrap policy gives no finding at all.

use nodeauthz::cluster::rbac_types::{Binding, RbacPolicy, Role};
use nodeauthz::findings::{node_rules_from, render_rule, FindingKind, Findings, Severity};
use nodeauthz::verdict::BindingKey;

/// The bootstrap policy fixtures shipped in the crate (`data/bootstrap/`), read here
/// independently of `cluster::bootstrap`.
fn k8s_data() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/bootstrap")
}

/// Loads `v1 List` YAML files of RBAC objects (the bootstrap policy fixtures).
fn load(files: &[&str]) -> RbacPolicy {
    let mut p = RbacPolicy::default();
    for f in files {
        let text = std::fs::read_to_string(k8s_data().join(f)).expect("read fixture");
        add_yaml(&mut p, &text);
    }
    p
}

fn add_yaml(p: &mut RbacPolicy, text: &str) {
    let doc: serde_norway::Value = serde_norway::from_str(text).expect("yaml");
    let items = match doc.get("items").and_then(|i| i.as_sequence()) {
        Some(items) => items.clone(),
        None => vec![doc.clone()],
    };
    for item in items {
        let kind = item
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("")
            .to_owned();
        match kind.as_str() {
            "ClusterRole" => p
                .cluster_roles
                .push(serde_norway::from_value::<Role>(item).expect("role")),
            "Role" => p
                .roles
                .push(serde_norway::from_value::<Role>(item).expect("role")),
            "ClusterRoleBinding" => p
                .cluster_role_bindings
                .push(serde_norway::from_value::<Binding>(item).expect("binding")),
            "RoleBinding" => p
                .role_bindings
                .push(serde_norway::from_value::<Binding>(item).expect("binding")),
            other => panic!("unexpected kind {other}"),
        }
    }
}

fn bootstrap() -> RbacPolicy {
    load(&[
        "cluster-roles.yaml",
        "cluster-role-bindings.yaml",
        "namespace-roles.yaml",
        "namespace-role-bindings.yaml",
    ])
}

fn findings(p: &RbacPolicy) -> Findings {
    Findings::from_rbac(p, node_rules_from(p))
}

const LEGACY_BINDING: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:node
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:node
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: system:nodes
"#;

#[test]
fn bootstrap_policy_gives_no_findings() {
    let p = bootstrap();
    assert_eq!(p.cluster_role_bindings.len(), 10, "fixture loaded");
    // system:discovery, system:basic-user and system:public-info-viewer are bound to
    // system:authenticated; the system:node binding has no subjects.
    let f = findings(&p);
    assert_eq!(f.items, Vec::new());
}

#[test]
fn legacy_system_node_binding_with_exact_rules() {
    let mut p = bootstrap();
    p.cluster_role_bindings
        .retain(|b| b.metadata.name != "system:node");
    add_yaml(&mut p, LEGACY_BINDING);
    let f = findings(&p);
    assert_eq!(f.items.len(), 1, "{:#?}", f.items);
    let legacy = &f.items[0];
    assert_eq!(legacy.kind, FindingKind::LegacySystemNodeBinding);
    assert_eq!(legacy.severity, Severity::High);
    assert_eq!(
        legacy.id,
        "legacy_system_node_binding:ClusterRoleBinding/system:node"
    );
    assert_eq!(legacy.binding, Some(BindingKey::cluster("system:node")));
    assert_eq!(legacy.role.as_deref(), Some("ClusterRole/system:node"));
    assert_eq!(legacy.subject, "Group \"system:nodes\"");
    assert_eq!(
        legacy.rules,
        vec![
            r#"{APIGroups:[""], Resources:["nodes"], Verbs:["create" "get" "list" "watch"]}"#,
            r#"{APIGroups:[""], Resources:["nodes/status"], Verbs:["patch" "update"]}"#,
            r#"{APIGroups:[""], Resources:["nodes"], Verbs:["patch" "update"]}"#,
            r#"{APIGroups:[""], Resources:["pods"], Verbs:["get" "list" "watch"]}"#,
            r#"{APIGroups:[""], Resources:["pods"], Verbs:["create" "delete"]}"#,
            r#"{APIGroups:[""], Resources:["pods/status"], Verbs:["patch" "update"]}"#,
            r#"{APIGroups:[""], Resources:["pods/eviction"], Verbs:["create"]}"#,
            r#"{APIGroups:[""], Resources:["configmaps" "secrets"], Verbs:["get" "list" "watch"]}"#,
            r#"{APIGroups:[""], Resources:["persistentvolumeclaims" "persistentvolumes"], Verbs:["get"]}"#,
            r#"{APIGroups:["coordination.k8s.io"], Resources:["leases"], Verbs:["create" "delete" "get" "patch" "update"]}"#,
            r#"{APIGroups:["storage.k8s.io"], Resources:["volumeattachments"], Verbs:["get"]}"#,
            r#"{APIGroups:[""], Resources:["serviceaccounts/token"], Verbs:["create"]}"#,
            r#"{APIGroups:[""], Resources:["persistentvolumeclaims/status"], Verbs:["get" "patch" "update"]}"#,
            r#"{APIGroups:["storage.k8s.io"], Resources:["csinodes"], Verbs:["create" "delete" "get" "patch" "update"]}"#,
        ]
    );
    assert_eq!(
        f.legacy_bindings().collect::<Vec<_>>(),
        vec![&BindingKey::cluster("system:node")]
    );
}

#[test]
fn record_use_counts_requests_per_binding() {
    let mut p = bootstrap();
    add_yaml(
        &mut p,
        &LEGACY_BINDING.replace("name: system:node\nroleRef", "name: legacy-nodes\nroleRef"),
    );
    let mut f = findings(&p);
    let key = BindingKey::cluster("legacy-nodes");
    f.record_use(&key);
    f.record_use(&key);
    f.record_use(&BindingKey::cluster("system:discovery"));
    assert_eq!(f.items.len(), 1);
    assert_eq!(f.items[0].requests_using, 2);
}

const CUSTOM: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: everything}
  rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
  - nonResourceURLs: ["*"]
    verbs: ["*"]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: all-authenticated-admin}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: everything}
  subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:authenticated}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: node-extras}
  rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get", "list"]
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: ["watch"]
  - apiGroups: ["rbac.authorization.k8s.io"]
    resources: ["clusterroles"]
    verbs: ["bind", "escalate"]
  - apiGroups: ["apps"]
    resources: ["deployments"]
    verbs: ["get"]
  - apiGroups: [""]
    resources: ["services", "endpoints"]
    verbs: ["get"]
  - apiGroups: ["authorization.k8s.io"]
    resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]
    verbs: ["create"]
  - apiGroups: ["certificates.k8s.io"]
    resources: ["certificatesigningrequests/selfnodeclient"]
    verbs: ["create"]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: node-extras}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-extras}
  subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: system:node:worker-1}
  - {kind: ServiceAccount, name: default, namespace: default}
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:nodes}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: Role
  metadata: {name: kubelet-config, namespace: kube-system}
  rules:
  - apiGroups: [""]
    resources: ["configmaps"]
    resourceNames: ["kubelet-config"]
    verbs: ["get"]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata: {name: kubelet-config, namespace: kube-system}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: kubelet-config}
  subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:nodes}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: not-for-nodes}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: everything}
  subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:masters}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: aggregated-reader}
  aggregationRule:
    clusterRoleSelectors:
    - matchLabels: {example.com/aggregate-to-node-reader: "true"}
  rules: null
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    name: part-a
    labels: {example.com/aggregate-to-node-reader: "true"}
  rules:
  - apiGroups: [""]
    resources: ["persistentvolumes"]
    verbs: ["list"]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: aggregated-reader}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: aggregated-reader}
  subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:nodes}
"#;

#[test]
fn custom_grants_are_classified_by_kind() {
    let mut p = bootstrap();
    add_yaml(&mut p, CUSTOM);
    let f = findings(&p);
    let got: Vec<(&str, Severity, &str, Vec<&str>)> = f
        .items
        .iter()
        .map(|x| {
            (
                x.id.as_str(),
                x.severity,
                x.subject.as_str(),
                x.rules.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "wildcard_rule:ClusterRoleBinding/all-authenticated-admin",
                Severity::High,
                "Group \"system:authenticated\"",
                vec![r#"{APIGroups:["*"], Resources:["*"], Verbs:["*"]}"#],
            ),
            (
                "privilege_escalation_verbs:ClusterRoleBinding/node-extras",
                Severity::High,
                "User \"system:node:worker-1\", Group \"system:nodes\"",
                vec![
                    r#"{APIGroups:["rbac.authorization.k8s.io"], Resources:["clusterroles"], Verbs:["bind" "escalate"]}"#
                ],
            ),
            (
                "cluster_wide_secret_read:ClusterRoleBinding/node-extras",
                Severity::High,
                "User \"system:node:worker-1\", Group \"system:nodes\"",
                vec![r#"{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}"#],
            ),
            (
                "cluster_wide_configmap_read:ClusterRoleBinding/node-extras",
                Severity::Medium,
                "User \"system:node:worker-1\", Group \"system:nodes\"",
                vec![r#"{APIGroups:[""], Resources:["configmaps"], Verbs:["watch"]}"#],
            ),
            (
                "grant_beyond_node_authorizer:ClusterRoleBinding/aggregated-reader",
                Severity::Medium,
                "Group \"system:nodes\"",
                vec![r#"{APIGroups:[""], Resources:["persistentvolumes"], Verbs:["list"]}"#],
            ),
            (
                "grant_beyond_node_authorizer:ClusterRoleBinding/node-extras",
                Severity::Medium,
                "User \"system:node:worker-1\", Group \"system:nodes\"",
                vec![r#"{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}"#],
            ),
            (
                "grant_beyond_node_authorizer:RoleBinding/kube-system/kubelet-config",
                Severity::Low,
                "Group \"system:nodes\"",
                vec![
                    r#"{APIGroups:[""], Resources:["configmaps"], ResourceNames:["kubelet-config"], Verbs:["get"]}"#
                ],
            ),
        ]
    );
    let role = f
        .items
        .iter()
        .find(|x| x.id.ends_with("kubelet-config"))
        .and_then(|x| x.role.clone());
    assert_eq!(role.as_deref(), Some("Role/kube-system/kubelet-config"));
    assert_eq!(f.legacy_bindings().count(), 0);
}

#[test]
fn render_rule_prints_names_and_urls() {
    let rule = nodeauthz::cluster::rbac_types::PolicyRule {
        verbs: vec!["get".into()],
        api_groups: vec!["".into(), "apps".into()],
        resources: vec!["configmaps".into()],
        resource_names: vec!["a".into(), "b".into()],
        non_resource_urls: Vec::new(),
    };
    assert_eq!(
        render_rule(&rule),
        r#"{APIGroups:["" "apps"], Resources:["configmaps"], ResourceNames:["a" "b"], Verbs:["get"]}"#
    );
    let urls = nodeauthz::cluster::rbac_types::PolicyRule {
        verbs: vec!["get".into()],
        non_resource_urls: vec!["/healthz".into(), "/version".into()],
        ..Default::default()
    };
    assert_eq!(
        render_rule(&urls),
        r#"{NonResourceURLs:["/healthz" "/version"], Verbs:["get"]}"#
    );
}

/// The subject of a finding is written as the RBAC allow reason writes it (Go `%q`), so that a
/// finding and the requests relying on its binding name the subject identically.
#[test]
fn finding_subject_is_go_quoted_like_the_rbac_reason() {
    let mut p = bootstrap();
    add_yaml(
        &mut p,
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: odd-node}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:node:n\u0001\u00ad"}
"#,
    );
    let f = findings(&p);
    assert_eq!(f.items.len(), 1, "{:#?}", f.items);
    // Rust's `{:?}` would print `\u{1}` and leave U+00AD (a format character) as is.
    assert_eq!(f.items[0].subject, r#"User "system:node:n\x01\u00ad""#);
}
