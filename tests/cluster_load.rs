//! Loading `--objects` dumps, and the built-in RBAC policy.

use nodeauthz::cluster::bootstrap::parse_bootstrap;
use nodeauthz::cluster::rbac_types::{Binding, Meta, RbacPolicy, RoleRef, Subject};
use nodeauthz::cluster::{
    bootstrap_policy, load_objects, merge_policy, system_node_rules, LoadProblem, ObjectSet,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/objects")
        .join(rel)
}

fn load_str(name: &str, text: &str) -> ObjectSet {
    let mut set = ObjectSet::default();
    set.load_text(Path::new(name), text);
    set
}

#[test]
fn kubectl_list_json_loads_every_kind_and_counts_others() {
    let set = load_objects(&[fixture("cluster-list.json")]);
    assert_eq!(set.problems, vec![]);
    assert_eq!(set.pods.len(), 1);
    assert_eq!(set.pvcs.len(), 1);
    assert_eq!(set.pvs.len(), 1);
    assert_eq!(set.volume_attachments.len(), 1);
    assert_eq!(set.nodes.len(), 1);
    assert_eq!(set.service_accounts.len(), 1);
    assert_eq!(set.rbac.cluster_role_bindings.len(), 1);
    let skipped: BTreeMap<String, usize> =
        [("ConfigMap".to_string(), 2), ("Secret".to_string(), 1)].into();
    assert_eq!(set.skipped, skipped);
    assert!(set.has_pod_snapshot());

    let pod = &set.pods[0];
    assert_eq!(
        (pod.namespace.as_str(), pod.name.as_str()),
        ("shop", "web-1")
    );
    assert_eq!(pod.uid, "uid-web-1");
    assert_eq!(pod.node_name, "node1");
    assert_eq!(pod.service_account_name, "web-sa");
    assert_eq!(pod.secrets, vec!["db", "regcred"]);
    assert_eq!(pod.config_maps, vec!["web-config"]);
    assert_eq!(pod.claim_volumes, vec!["web-data"]);
    assert_eq!(pod.token_audiences, vec!["vault"]);
    assert_eq!(
        pod.labels,
        vec![
            ("app".to_string(), "web".to_string()),
            ("tier".to_string(), "front".to_string())
        ]
    );
    assert_eq!(set.pvcs[0].volume_name, "pv-web-data");
    assert_eq!(set.volume_attachments[0].node_name, "node1");
    assert_eq!(
        set.volume_attachments[0].persistent_volume_name,
        "pv-web-data"
    );
    assert_eq!(set.nodes[0].uid, "uid-node1");
    let crb = &set.rbac.cluster_role_bindings[0];
    assert_eq!(crb.kind, "ClusterRoleBinding");
    assert_eq!(crb.subjects[0].name, "system:nodes");
}

#[test]
fn single_object_file() {
    let set = load_objects(&[fixture("single-pod.json")]);
    assert_eq!(set.problems, vec![]);
    assert_eq!(set.pods.len(), 1);
    assert!(set.pods[0].mirror);
    assert_eq!(set.pods[0].node_name, "node2");
}

#[test]
fn multi_document_yaml_reports_bad_document_and_keeps_the_rest() {
    let path = fixture("multi.yaml");
    let set = load_objects(std::slice::from_ref(&path));
    assert_eq!(set.service_accounts.len(), 1);
    assert_eq!(set.rbac.roles.len(), 1);
    assert_eq!(set.rbac.roles[0].rules[0].resources, vec!["secrets"]);
    assert_eq!(set.rbac.role_bindings.len(), 0);
    assert_eq!(set.pods.len(), 1);
    assert_eq!(set.pods[0].service_account_name, "builder");
    assert_eq!(set.skipped, [("Deployment".to_string(), 1)].into());
    assert_eq!(set.problems.len(), 1, "{:?}", set.problems);
    let p = &set.problems[0];
    assert_eq!(p.file, path);
    // The leading `---` after the comment opens document 1; the RoleBinding is the third.
    assert_eq!((p.document, p.item), (Some(3), None));
    assert!(p.message.starts_with("RoleBinding: "), "{}", p.message);
    assert!(p
        .to_string()
        .ends_with(&format!("multi.yaml: document 3: {}", p.message)));
}

#[test]
fn directory_is_walked_recursively_for_manifests_only() {
    let set = load_objects(&[fixture("dir")]);
    assert_eq!(set.problems, vec![]);
    let mut files: Vec<String> = set
        .files
        .iter()
        .map(|f| {
            f.strip_prefix(fixture("dir"))
                .unwrap_or(f)
                .display()
                .to_string()
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec!["nested/claims.yml", "nested/slices.json", "nodes.yaml"]
    );
    assert_eq!(set.pods.len(), 0, "notes.txt must not be read");
    // NodeList items have no kind; the list's kind gives it.
    let nodes: Vec<(&str, &str)> = set
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.uid.as_str()))
        .collect();
    assert_eq!(nodes, vec![("node-a", "uid-a"), ("node-b", "uid-b")]);
    // Two JSON documents in a row; v1alpha2 kept nodeName at the top level.
    let slices: Vec<(&str, &str)> = set
        .resource_slices
        .iter()
        .map(|s| (s.name.as_str(), s.node_name.as_str()))
        .collect();
    assert_eq!(
        slices,
        vec![("node-a-gpu", "node-a"), ("node-b-gpu", "node-b")]
    );
    assert_eq!(set.resource_claims.len(), 1);
    assert_eq!(set.resource_claims[0].reserved_for_pods, vec!["trainer-0"]);
}

#[test]
fn bad_list_item_is_reported_with_its_index() {
    let set = load_str(
        "dump.json",
        r#"{"kind":"List","items":[
            {"kind":"Pod","metadata":{"name":"a"}},
            {"kind":"Pod","metadata":{"name":"b"},"spec":{"volumes":"oops"}},
            {"metadata":{"name":"c"}}
        ]}"#,
    );
    assert_eq!(set.pods.len(), 1);
    assert_eq!(set.problems.len(), 2);
    assert_eq!(
        (set.problems[0].document, set.problems[0].item),
        (Some(1), Some(2))
    );
    assert!(
        set.problems[0].message.starts_with("Pod: invalid type"),
        "{}",
        set.problems[0].message
    );
    assert_eq!(
        set.problems[1],
        LoadProblem {
            file: PathBuf::from("dump.json"),
            document: Some(1),
            item: Some(3),
            message: "object has no kind".into()
        }
    );
}

#[test]
fn json_syntax_error_and_missing_file_are_problems_not_failures() {
    let set = load_str(
        "broken.json",
        r#"{"kind":"Pod","metadata":{"name":"a"}} {"kind": "#,
    );
    assert_eq!(set.pods.len(), 1);
    assert_eq!(set.problems.len(), 1);
    assert_eq!(set.problems[0].document, Some(2));

    let set = load_objects(&[PathBuf::from("/nonexistent/dump.yaml")]);
    assert_eq!(set.problems.len(), 1);
    assert_eq!(set.problems[0].document, None);
    assert!(set.problems[0].message.starts_with("cannot read: "));
}

#[test]
fn yaml_syntax_error_stops_that_file_once() {
    let set = load_str(
        "bad.yaml",
        "kind: ServiceAccount\nmetadata: {name: a, namespace: x}\n---\nkind: [unclosed\n---\nkind: Node\nmetadata: {name: n}\n",
    );
    assert_eq!(set.service_accounts.len(), 1);
    assert_eq!(set.problems.len(), 1, "{:?}", set.problems);
    assert_eq!(set.problems[0].document, Some(2));
}

#[test]
fn empty_typed_pod_list_is_still_a_pod_snapshot() {
    let set = load_str(
        "pods.json",
        r#"{"apiVersion":"v1","kind":"PodList","items":[]}"#,
    );
    assert!(set.has_pod_snapshot());
    let set = load_str(
        "rbac.yaml",
        "kind: ClusterRole\nmetadata: {name: x}\nrules: null\n",
    );
    assert!(!set.has_pod_snapshot());
    assert_eq!(set.rbac.cluster_roles[0].rules, vec![]);
}

#[test]
fn bootstrap_data_parses_cleanly() {
    // Object counts as in the files (`grep -c '^  kind: '`).
    for (all, cluster_roles) in [(false, 31), (true, 32)] {
        let set = parse_bootstrap(all);
        assert_eq!(set.problems, vec![], "all gates: {all}");
        assert_eq!(set.skipped, BTreeMap::new());
        assert_eq!(set.rbac.cluster_roles.len(), cluster_roles);
        assert_eq!(set.rbac.cluster_role_bindings.len(), 10);
        assert_eq!(set.rbac.roles.len(), 7);
        assert_eq!(set.rbac.role_bindings.len(), 6);
        assert!(set
            .rbac
            .roles
            .iter()
            .all(|r| r.kind == "Role" && !r.metadata.namespace.is_empty()));
    }
}

#[test]
fn bootstrap_system_node_role_and_empty_binding() {
    assert_eq!(system_node_rules(false).len(), 22);
    let policy = bootstrap_policy(false);
    let role = policy
        .cluster_roles
        .iter()
        .find(|r| r.metadata.name == "system:node");
    assert_eq!(role.map(|r| r.rules.len()), Some(22));
    let binding = policy
        .cluster_role_bindings
        .iter()
        .find(|b| b.metadata.name == "system:node")
        .cloned();
    let binding = binding.unwrap_or_else(|| panic!("no system:node binding"));
    assert_eq!(binding.subjects, vec![]);
    assert_eq!(binding.role_ref.name, "system:node");

    // All gates on adds resourceclaims, resourceslices, clustertrustbundles and serviceaccounts.
    let all = system_node_rules(true);
    let resources: Vec<&str> = all
        .iter()
        .flat_map(|r| r.resources.iter().map(String::as_str))
        .collect();
    for r in [
        "resourceclaims",
        "resourceslices",
        "clustertrustbundles",
        "serviceaccounts",
    ] {
        assert!(resources.contains(&r), "{r} missing with all gates on");
        assert!(
            !system_node_rules(false)
                .iter()
                .any(|rule| rule.resources.iter().any(|x| x == r)),
            "{r} present with default gates"
        );
    }
    assert_eq!(all.len(), 26);
}

#[test]
fn user_objects_override_builtins_by_name() {
    let builtin = bootstrap_policy(false);
    let legacy = Binding {
        kind: "ClusterRoleBinding".into(),
        metadata: Meta {
            name: "system:node".into(),
            ..Meta::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: "system:node".into(),
        },
        subjects: vec![Subject {
            kind: "Group".into(),
            api_group: "rbac.authorization.k8s.io".into(),
            name: "system:nodes".into(),
            namespace: String::new(),
        }],
    };
    let mut extra = legacy.clone();
    extra.metadata.name = "my-extra".into();
    let user = RbacPolicy {
        cluster_role_bindings: vec![legacy, extra],
        ..RbacPolicy::default()
    };
    let merged = merge_policy(&builtin, &user);
    assert_eq!(
        merged.cluster_role_bindings.len(),
        builtin.cluster_role_bindings.len() + 1
    );
    let named: Vec<&Binding> = merged
        .cluster_role_bindings
        .iter()
        .filter(|b| b.metadata.name == "system:node")
        .collect();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].subjects.len(), 1);
    assert_eq!(named[0].subjects[0].name, "system:nodes");
    assert_eq!(merged.cluster_roles, builtin.cluster_roles);
    // A RoleBinding with the same name in another namespace is a different object.
    assert_eq!(merged.role_bindings, builtin.role_bindings);
}
