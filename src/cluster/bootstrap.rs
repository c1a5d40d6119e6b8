//! The built-in RBAC policy: the roles and bindings a fresh kube-apiserver creates, compiled in
//! from upstream's bootstrap-policy fixtures (`data/bootstrap/`, see its README), and the merge
//! of that policy with the objects a user gives.

use super::load::ObjectSet;
use super::rbac_types::{Binding, PolicyRule, RbacPolicy, Role};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

const CLUSTER_ROLES: &str = include_str!("../../data/bootstrap/cluster-roles.yaml");
const CLUSTER_ROLES_ALL_GATES: &str =
    include_str!("../../data/bootstrap/cluster-roles-featuregates.yaml");
const CLUSTER_ROLE_BINDINGS: &str = include_str!("../../data/bootstrap/cluster-role-bindings.yaml");
const NAMESPACE_ROLES: &str = include_str!("../../data/bootstrap/namespace-roles.yaml");
const NAMESPACE_ROLE_BINDINGS: &str =
    include_str!("../../data/bootstrap/namespace-role-bindings.yaml");

/// Name of the ClusterRole (and ClusterRoleBinding) holding the nodes' static rules.
pub const SYSTEM_NODE: &str = "system:node";

/// Parses the embedded files. `all_feature_gates` picks the ClusterRoles generated with every
/// feature gate on instead of the defaults. Public so a test can check the data parses cleanly.
pub fn parse_bootstrap(all_feature_gates: bool) -> ObjectSet {
    let roles = if all_feature_gates {
        ("cluster-roles-featuregates.yaml", CLUSTER_ROLES_ALL_GATES)
    } else {
        ("cluster-roles.yaml", CLUSTER_ROLES)
    };
    let mut set = ObjectSet::default();
    for (name, text) in [
        roles,
        ("cluster-role-bindings.yaml", CLUSTER_ROLE_BINDINGS),
        ("namespace-roles.yaml", NAMESPACE_ROLES),
        ("namespace-role-bindings.yaml", NAMESPACE_ROLE_BINDINGS),
    ] {
        set.load_text(&Path::new("data/bootstrap").join(name), text);
    }
    set
}

fn cached(all_feature_gates: bool) -> &'static RbacPolicy {
    static DEFAULT_GATES: OnceLock<RbacPolicy> = OnceLock::new();
    static ALL_GATES: OnceLock<RbacPolicy> = OnceLock::new();
    let cell = if all_feature_gates {
        &ALL_GATES
    } else {
        &DEFAULT_GATES
    };
    cell.get_or_init(|| parse_bootstrap(all_feature_gates).rbac)
}

/// The built-in policy (parsed once per process).
pub fn bootstrap_policy(all_feature_gates: bool) -> RbacPolicy {
    cached(all_feature_gates).clone()
}

/// The rules of the `system:node` ClusterRole, which are also the Node authorizer's static
/// fallback rules (`bootstrappolicy.NodeRules()`).
pub fn system_node_rules(all_feature_gates: bool) -> &'static [PolicyRule] {
    cached(all_feature_gates)
        .cluster_roles
        .iter()
        .find(|r| r.metadata.name == SYSTEM_NODE)
        .map_or(&[], |r| r.rules.as_slice())
}

/// The built-in policy with the user's objects laid over it: an object given by the user
/// replaces the built-in one of the same kind, namespace and name (as an edited object in a
/// real cluster would); among the user's own objects the later one wins.
pub fn merge_policy(bootstrap: &RbacPolicy, user: &RbacPolicy) -> RbacPolicy {
    RbacPolicy {
        cluster_roles: overlay(&bootstrap.cluster_roles, &user.cluster_roles, role_key),
        roles: overlay(&bootstrap.roles, &user.roles, role_key),
        cluster_role_bindings: overlay(
            &bootstrap.cluster_role_bindings,
            &user.cluster_role_bindings,
            binding_key,
        ),
        role_bindings: overlay(&bootstrap.role_bindings, &user.role_bindings, binding_key),
    }
}

fn role_key(r: &Role) -> (&str, &str) {
    (&r.metadata.namespace, &r.metadata.name)
}

fn binding_key(b: &Binding) -> (&str, &str) {
    (&b.metadata.namespace, &b.metadata.name)
}

/// Later objects replace earlier ones with the same key, keeping the earlier position.
fn overlay<T: Clone>(base: &[T], over: &[T], key: fn(&T) -> (&str, &str)) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(base.len() + over.len());
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for item in base.iter().chain(over) {
        let (ns, name) = key(item);
        match index.get(&(ns.to_string(), name.to_string())) {
            Some(&i) => out[i] = item.clone(),
            None => {
                index.insert((ns.to_string(), name.to_string()), out.len());
                out.push(item.clone());
            }
        }
    }
    out
}
