//! RBAC objects, deserialised straight from their Kubernetes JSON/YAML form.
//!
//! Field names follow `rbac.authorization.k8s.io/v1`; absent lists deserialise as empty.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Object metadata, reduced to what RBAC evaluation needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
}

/// One rule of a Role or ClusterRole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    #[serde(default, deserialize_with = "null_as_default")]
    pub verbs: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub api_groups: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub resource_names: Vec<String>,
    #[serde(
        default,
        rename = "nonResourceURLs",
        deserialize_with = "null_as_default"
    )]
    pub non_resource_urls: Vec<String>,
}

/// A label selector as used by `aggregationRule.clusterRoleSelectors`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Vec<String>,
}

/// `aggregationRule` of a ClusterRole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationRule {
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster_role_selectors: Vec<LabelSelector>,
}

/// A Role (namespaced) or ClusterRole (`metadata.namespace` empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    #[serde(default)]
    pub kind: String,
    pub metadata: Meta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub rules: Vec<PolicyRule>,
    #[serde(default)]
    pub aggregation_rule: Option<AggregationRule>,
}

/// `roleRef` of a binding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    #[serde(default)]
    pub api_group: String,
    pub kind: String,
    pub name: String,
}

/// One subject of a binding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    pub kind: String,
    #[serde(default)]
    pub api_group: String,
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

/// A RoleBinding (namespaced) or ClusterRoleBinding (`metadata.namespace` empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    #[serde(default)]
    pub kind: String,
    pub metadata: Meta,
    pub role_ref: RoleRef,
    #[serde(default, deserialize_with = "null_as_default")]
    pub subjects: Vec<Subject>,
}

/// Every RBAC object of one cluster (or one scenario).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RbacPolicy {
    pub cluster_roles: Vec<Role>,
    pub roles: Vec<Role>,
    pub cluster_role_bindings: Vec<Binding>,
    pub role_bindings: Vec<Binding>,
}

/// Kubernetes writes `null` for empty lists and maps in some dumps (`rules: null`).
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
