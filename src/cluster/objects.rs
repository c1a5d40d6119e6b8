//! Views of Nodes, ServiceAccounts, ResourceClaims and ResourceSlices.

use super::meta::RawMeta;
use serde::Deserialize;

/// A Node object (NodeRestriction compares owner UIDs and labels with it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeView {
    pub name: String,
    pub uid: String,
    /// `metadata.labels`, in key order.
    pub labels: Vec<(String, String)>,
}

impl NodeView {
    /// Parses a Node from its JSON.
    pub fn from_json(json: &str) -> Result<NodeView, serde_json::Error> {
        serde_json::from_str::<RawMetaOnly>(json).map(|r| NodeView::from_meta(&r.metadata))
    }

    /// Same as [`NodeView::from_json`] for an already parsed document.
    pub fn from_value(v: &serde_json::Value) -> Result<NodeView, serde_json::Error> {
        RawMetaOnly::deserialize(v).map(|r| NodeView::from_meta(&r.metadata))
    }

    fn from_meta(m: &RawMeta) -> NodeView {
        NodeView {
            name: m.name(),
            uid: m.uid(),
            labels: m.labels(),
        }
    }
}

/// A ServiceAccount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAccountView {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl ServiceAccountView {
    /// Parses a ServiceAccount from its JSON.
    pub fn from_json(json: &str) -> Result<ServiceAccountView, serde_json::Error> {
        serde_json::from_str::<RawMetaOnly>(json)
            .map(|r| ServiceAccountView::from_meta(&r.metadata))
    }

    /// Same as [`ServiceAccountView::from_json`] for an already parsed document.
    pub fn from_value(v: &serde_json::Value) -> Result<ServiceAccountView, serde_json::Error> {
        RawMetaOnly::deserialize(v).map(|r| ServiceAccountView::from_meta(&r.metadata))
    }

    fn from_meta(m: &RawMeta) -> ServiceAccountView {
        ServiceAccountView {
            namespace: m.namespace(),
            name: m.name(),
            uid: m.uid(),
        }
    }
}

/// A ResourceClaim. The graph's claim → pod edges come from pods (spec 6.5); the claim itself
/// only tells which pods reserved it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceClaimView {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// Names of the pods in `status.reservedFor`.
    pub reserved_for_pods: Vec<String>,
}

impl ResourceClaimView {
    /// Parses a ResourceClaim from its JSON.
    pub fn from_json(json: &str) -> Result<ResourceClaimView, serde_json::Error> {
        serde_json::from_str::<RawResourceClaim>(json).map(ResourceClaimView::from_raw)
    }

    /// Same as [`ResourceClaimView::from_json`] for an already parsed document.
    pub fn from_value(v: &serde_json::Value) -> Result<ResourceClaimView, serde_json::Error> {
        RawResourceClaim::deserialize(v).map(ResourceClaimView::from_raw)
    }

    fn from_raw(raw: RawResourceClaim) -> ResourceClaimView {
        ResourceClaimView {
            namespace: raw.metadata.namespace(),
            name: raw.metadata.name(),
            uid: raw.metadata.uid(),
            reserved_for_pods: raw
                .status
                .reserved_for
                .into_iter()
                .flatten()
                .filter(|r| r.resource.as_deref() == Some("pods"))
                .filter_map(|r| r.name)
                .collect(),
        }
    }
}

/// A ResourceSlice: the node it publishes resources for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceSliceView {
    pub name: String,
    pub uid: String,
    /// `spec.nodeName` (1.32+), or the top-level `nodeName` of `v1alpha2`/`v1alpha3`.
    pub node_name: String,
}

impl ResourceSliceView {
    /// Parses a ResourceSlice from its JSON.
    pub fn from_json(json: &str) -> Result<ResourceSliceView, serde_json::Error> {
        serde_json::from_str::<RawResourceSlice>(json).map(ResourceSliceView::from_raw)
    }

    /// Same as [`ResourceSliceView::from_json`] for an already parsed document.
    pub fn from_value(v: &serde_json::Value) -> Result<ResourceSliceView, serde_json::Error> {
        RawResourceSlice::deserialize(v).map(ResourceSliceView::from_raw)
    }

    fn from_raw(raw: RawResourceSlice) -> ResourceSliceView {
        let node_name = raw
            .spec
            .and_then(|s| s.node_name)
            .filter(|n| !n.is_empty())
            .or(raw.node_name)
            .unwrap_or_default();
        ResourceSliceView {
            name: raw.metadata.name(),
            uid: raw.metadata.uid(),
            node_name,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawMetaOnly {
    metadata: RawMeta,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawResourceClaim {
    metadata: RawMeta,
    status: RawResourceClaimStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawResourceClaimStatus {
    reserved_for: Option<Vec<RawConsumerRef>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawConsumerRef {
    resource: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawResourceSlice {
    metadata: RawMeta,
    spec: Option<RawResourceSliceSpec>,
    node_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawResourceSliceSpec {
    node_name: Option<String>,
}
