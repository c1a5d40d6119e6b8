//! `metadata` and small reference shapes shared by every object view.
//!
//! Every field is optional because dumps write `null` for empty values in places
//! (`rules: null`) and omit empty ones elsewhere; both must read as "nothing".

use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `metadata` of any object, reduced to what the views need.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawMeta {
    pub name: Option<String>,
    pub generate_name: Option<String>,
    pub namespace: Option<String>,
    pub uid: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    /// Only the keys matter (the mirror-pod annotation is recognised by key alone).
    pub annotations: Option<BTreeMap<String, IgnoredAny>>,
    pub owner_references: Option<Vec<RawOwnerReference>>,
}

impl RawMeta {
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_default()
    }
    pub fn namespace(&self) -> String {
        self.namespace.clone().unwrap_or_default()
    }
    pub fn uid(&self) -> String {
        self.uid.clone().unwrap_or_default()
    }
    /// Labels in key order.
    pub fn labels(&self) -> Vec<(String, String)> {
        self.labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    pub fn has_annotation(&self, key: &str) -> bool {
        self.annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(key))
    }
}

/// One `metadata.ownerReferences` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RawOwnerReference {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub uid: Option<String>,
    pub controller: Option<bool>,
    pub block_owner_deletion: Option<bool>,
}

/// `{name: ...}`: `LocalObjectReference`, `secretKeyRef`, `configMapRef`, ...
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NameRef {
    pub name: Option<String>,
}

impl NameRef {
    /// The referenced name, `None` when absent or empty (empty names are never references).
    pub fn get(r: &Option<NameRef>) -> Option<&str> {
        r.as_ref()
            .and_then(|r| r.name.as_deref())
            .filter(|n| !n.is_empty())
    }
}

/// `{name, namespace}`: `SecretReference`, `ObjectReference` (claimRef).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NamespacedRef {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub uid: Option<String>,
}

/// A volume source whose only interesting field is `secretRef`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct WithSecretRef<R> {
    pub secret_ref: Option<R>,
}

/// Non-empty string or `None`.
pub(crate) fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Sorts and removes duplicates: references are sets, and sorted output keeps reports stable.
pub(crate) fn sorted_set(mut v: Vec<String>) -> Vec<String> {
    v.sort_unstable();
    v.dedup();
    v
}
