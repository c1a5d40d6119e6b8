//! The Node authorizer (spec sections 3, 4, 5, 7, 8 and 13): identity, dispatch on
//! (API group, resource), one handler per resource kind with upstream's exact reason strings,
//! graph checks through a [`ClusterView`], and the static `system:node` rules as fallback.
//!
//! Release differences modelled (spec 13):
//! - 1.14-1.17 quote the node name with Go `%q` in the graph-failure reason; 1.18+ use `'…'`.
//! - ResourceClaims are dispatched to the graph from 1.26 and ResourceSlices from 1.30; before
//!   that they fall through to the static rules (which then have no rule for them).
//!   Upstream's dispatch of claims is not behind the DynamicResourceAllocation gate (the graph
//!   only has claim edges when DRA pods exist); the gate only adds static rules 23-24.
//! - Pods and nodes go to their own handlers only when `AuthorizeNodeWithSelectors` is on
//!   (1.31 alpha off, 1.32 beta on, 1.34 GA); otherwise to the static rules (1.19 behaviour).
//! - ResourceSlice list/watch/deletecollection need the field selector `nodeName` in 1.31 and
//!   `spec.nodeName` from 1.32.
//! - From 1.33 `get serviceaccounts/<name>` has its own branch (spec 13.2, **unverified**:
//!   `not allowed to get service accounts` with KubeletServiceAccountTokenForCredentialProviders
//!   off, the read-namespaced-object checks through the graph when on).
//! - Old gates TokenRequest, NodeLease, CSINodeInfo and ExpandPersistentVolumes were on by
//!   default in every release modelled; switched off they give the old "disabled by feature
//!   gate" reasons and remove their static rules.

use std::borrow::{Borrow, Cow};

use super::goquote::{go_quote, push_go_quoted};
use super::rbac::IndexedRules;
use super::version::{FeatureGates, Gate, KubeVersion};
use super::{Attributes, ClusterView, PathAnswer, VertexKind};
use crate::cluster::rbac_types::PolicyRule;
use crate::record::{FieldRequirement, Micros};

/// The username prefix of node identities.
pub const NODE_USER_PREFIX: &str = "system:node:";
/// The group every node identity must carry.
pub const NODES_GROUP: &str = "system:nodes";

/// Reason strings of spec section 5 that do not depend on the request.
pub mod reasons {
    pub const READ_WRONG_VERB: &str = "can only read resources of this type";
    pub const READ_SUBRESOURCE: &str = "cannot read subresource";
    pub const READ_NO_NAMESPACE: &str = "can only read namespaced object of this type";
    pub const GET_WRONG_VERB: &str = "can only get individual resources of this type";
    pub const GET_SUBRESOURCE: &str = "cannot get subresource";
    pub const STATUS_WRONG_VERB: &str = "can only get/update/patch this type";
    pub const STATUS_NOT_STATUS: &str = "can only update status subresource";
    pub const NO_NAME: &str = "No Object name found";
    pub const TOKEN_WRONG_VERB: &str = "can only create tokens for individual service accounts";
    pub const TOKEN_WRONG_SUBRESOURCE: &str = "can only create token subresource of serviceaccount";
    pub const SA_GET_DISABLED: &str = "not allowed to get service accounts";
    pub const LEASE_WRONG_VERB: &str =
        "can only get, create, update, patch, or delete a node lease";
    /// NodeRestriction refuses with the same text (spec 10.8), as does `LEASE_OTHER_NAME`.
    pub const LEASE_WRONG_NAMESPACE: &str =
        "can only access leases in the \"kube-node-lease\" system namespace";
    pub const LEASE_OTHER_NAME: &str =
        "can only access node lease with the same name as the requesting node";
    pub const CSINODE_WRONG_VERB: &str = "can only get, create, update, patch, or delete a CSINode";
    pub const CSINODE_SUBRESOURCE: &str = "cannot authorize CSINode subresources";
    /// NodeRestriction refuses with the same text (spec 10.9).
    pub const CSINODE_OTHER_NAME: &str =
        "can only access CSINode with the same name as the requesting node";
    pub const SLICE_SUBRESOURCE: &str = "cannot authorize ResourceSlice subresources";
    pub const SLICE_UNSCOPED: &str =
        "can only list/watch/deletecollection resourceslices with nodeName field selector";
    pub const SLICE_WRONG_VERB: &str = "only the following verbs are allowed for a ResourceSlice: get, watch, list, create, update, patch, delete, deletecollection";
    pub const POD_UNSCOPED: &str = "can only list/watch pods with spec.nodeName field selector";
    pub const DISABLED_TOKEN_REQUEST: &str = "disabled by feature gate TokenRequest";
    pub const DISABLED_NODE_LEASE: &str = "disabled by feature gate NodeLease";
    pub const DISABLED_CSINODE_INFO: &str = "disabled by feature gates CSINodeInfo";
}

/// `unknown node for user "<username>"`.
pub fn unknown_node_reason(username: &str) -> String {
    format!("unknown node for user {}", go_quote(username))
}

/// `no relationship found between node '<node>' and this object` (Go `%q` before 1.18).
///
/// Built by appending rather than by `format!`: it is written for every request the graph
/// finds no path for, under each scenario that asks the Node authorizer (more than a hundred
/// thousand times for the 1 GB benchmark log), and `format!` took three times the
/// instructions (401 against 133 a call, callgrind).
pub fn no_relationship_reason(version: KubeVersion, node: &str) -> String {
    const HEAD: &str = "no relationship found between node ";
    const TAIL: &str = " and this object";
    let mut reason = String::with_capacity(HEAD.len() + node.len() + 2 + TAIL.len());
    reason.push_str(HEAD);
    if version.uses_go_quoted_node_reason() {
        push_go_quoted(&mut reason, node);
    } else {
        reason.push('\'');
        reason.push_str(node);
        reason.push('\'');
    }
    reason.push_str(TAIL);
    reason
}

/// `node '<node>' cannot read all nodes, only its own Node object`.
pub fn node_read_all_reason(node: &str) -> String {
    format!("node '{node}' cannot read all nodes, only its own Node object")
}

/// `node '<node>' cannot read '<name>', only its own Node object`.
pub fn node_read_other_reason(node: &str, name: &str) -> String {
    format!("node '{node}' cannot read '{name}', only its own Node object")
}

/// Upstream's node identifier (spec 3): `Some(node name)` when the username has the
/// `system:node:` prefix **and** the groups contain `system:nodes`; the name may be empty.
pub fn node_identity<'a>(username: &'a str, groups: &[impl Borrow<str>]) -> Option<&'a str> {
    let name = username.strip_prefix(NODE_USER_PREFIX)?;
    groups
        .iter()
        .any(|g| g.borrow() == NODES_GROUP)
        .then_some(name)
}

/// Allow or no opinion: the Node authorizer never denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The request is allowed; the chain stops here.
    Allow,
    /// The next authorizer in the chain decides.
    NoOpinion,
}

impl Decision {
    /// `allow` or `no_opinion`, as `explain --format json` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::NoOpinion => "no_opinion",
        }
    }
}

/// The Node authorizer's answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDecision {
    pub decision: Decision,
    /// Exactly what the apiserver would return as the reason (empty on allow).
    pub reason: Cow<'static, str>,
    /// The graph path that allowed the request, when a graph check allowed it.
    pub path: Option<Vec<String>>,
    /// Set when a graph check found no path but the graph may be incomplete: the decision is
    /// then no-opinion as far as the inputs show, but the real apiserver may have allowed it.
    pub indeterminate: Option<String>,
    /// True when the decision came from a path search (spec 4.10 step 2), whatever it found:
    /// lets callers tell "no path" from the other no-opinion reasons without matching the
    /// reason text.
    pub searched_graph: bool,
}

impl NodeDecision {
    fn allow() -> Self {
        NodeDecision {
            decision: Decision::Allow,
            reason: Cow::Borrowed(""),
            path: None,
            indeterminate: None,
            searched_graph: false,
        }
    }

    fn no_opinion(reason: impl Into<Cow<'static, str>>) -> Self {
        NodeDecision {
            decision: Decision::NoOpinion,
            reason: reason.into(),
            path: None,
            indeterminate: None,
            searched_graph: false,
        }
    }

    /// True when the decision is allow.
    pub fn allowed(&self) -> bool {
        self.decision == Decision::Allow
    }
}

/// One row of `bootstrappolicy.NodeRules()` (spec section 8).
struct StaticRule {
    groups: &'static [&'static str],
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
    present: fn(&FeatureGates) -> bool,
}

fn always(_: &FeatureGates) -> bool {
    true
}

/// The rows of spec section 8, in upstream order.
const NODE_RULES: &[StaticRule] = &[
    StaticRule {
        groups: &["authentication.k8s.io"],
        resources: &["tokenreviews"],
        verbs: &["create"],
        present: always,
    },
    StaticRule {
        groups: &["authorization.k8s.io"],
        resources: &["localsubjectaccessreviews", "subjectaccessreviews"],
        verbs: &["create"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["services"],
        verbs: &["get", "list", "watch"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["nodes"],
        verbs: &["create", "get", "list", "watch"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["nodes/status"],
        verbs: &["patch", "update"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["nodes"],
        verbs: &["patch", "update"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["events"],
        verbs: &["create", "patch", "update"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["pods"],
        verbs: &["get", "list", "watch"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["pods"],
        verbs: &["create", "delete"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["pods/status"],
        verbs: &["patch", "update"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["pods/eviction"],
        verbs: &["create"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["configmaps", "secrets"],
        verbs: &["get", "list", "watch"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["persistentvolumeclaims", "persistentvolumes"],
        verbs: &["get"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["endpoints"],
        verbs: &["get"],
        present: always,
    },
    StaticRule {
        groups: &["certificates.k8s.io"],
        resources: &["certificatesigningrequests"],
        verbs: &["create", "get", "list", "watch"],
        present: always,
    },
    StaticRule {
        groups: &["coordination.k8s.io"],
        resources: &["leases"],
        verbs: &["create", "delete", "get", "patch", "update"],
        present: always,
    },
    StaticRule {
        groups: &["storage.k8s.io"],
        resources: &["volumeattachments"],
        verbs: &["get"],
        present: always,
    },
    StaticRule {
        groups: &[""],
        resources: &["serviceaccounts/token"],
        verbs: &["create"],
        present: |g| g.enabled(Gate::TokenRequest),
    },
    StaticRule {
        groups: &[""],
        resources: &["persistentvolumeclaims/status"],
        verbs: &["get", "patch", "update"],
        present: |g| g.enabled(Gate::ExpandPersistentVolumes),
    },
    StaticRule {
        groups: &["storage.k8s.io"],
        resources: &["csidrivers"],
        verbs: &["get", "list", "watch"],
        present: always,
    },
    StaticRule {
        groups: &["storage.k8s.io"],
        resources: &["csinodes"],
        verbs: &["create", "delete", "get", "patch", "update"],
        present: |g| g.enabled(Gate::CSINodeInfo),
    },
    StaticRule {
        groups: &["node.k8s.io"],
        resources: &["runtimeclasses"],
        verbs: &["get", "list", "watch"],
        present: always,
    },
    StaticRule {
        groups: &["resource.k8s.io"],
        resources: &["resourceclaims"],
        verbs: &["get"],
        present: |g| g.enabled(Gate::DynamicResourceAllocation),
    },
    // The kubelet deletes its own slices with deletecollection since structured parameters (1.31).
    StaticRule {
        groups: &["resource.k8s.io"],
        resources: &["resourceslices"],
        verbs: &["deletecollection"],
        present: |g| g.enabled(Gate::DynamicResourceAllocation) && g.version().at_least(31),
    },
    StaticRule {
        groups: &["certificates.k8s.io"],
        resources: &["clustertrustbundles"],
        verbs: &["get", "list", "watch"],
        present: |g| g.enabled(Gate::ClusterTrustBundleProjection),
    },
    StaticRule {
        groups: &[""],
        resources: &["serviceaccounts"],
        verbs: &["get"],
        present: |g| g.enabled(Gate::KubeletServiceAccountTokenForCredentialProviders),
    },
];

/// The static node rules (`NodeRules()`, the `system:node` ClusterRole) for these gates.
pub fn static_node_rules(gates: &FeatureGates) -> Vec<PolicyRule> {
    let owned = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    NODE_RULES
        .iter()
        .filter(|r| (r.present)(gates))
        .map(|r| PolicyRule {
            verbs: owned(r.verbs),
            api_groups: owned(r.groups),
            resources: owned(r.resources),
            resource_names: Vec::new(),
            non_resource_urls: Vec::new(),
        })
        .collect()
}

/// The Node authorizer of one scenario (release and gates fixed).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeAuthorizer {
    version: KubeVersion,
    gates: FeatureGates,
    rules: IndexedRules,
}

fn has_selector(reqs: &[FieldRequirement], field: &str, node: &str) -> bool {
    reqs.iter()
        .any(|r| r.equals && r.field == field && r.value == node)
}

impl NodeAuthorizer {
    /// Builds the authorizer for the gates' release.
    pub fn new(gates: &FeatureGates) -> Self {
        NodeAuthorizer {
            version: gates.version(),
            gates: gates.clone(),
            rules: IndexedRules::new(static_node_rules(gates)),
        }
    }

    /// The static rules in use.
    pub fn static_rules(&self) -> &[PolicyRule] {
        self.rules.rules()
    }

    /// Whether the static rules allow the request (spec 11: "would `system:node` allow it").
    pub fn static_rules_allow(&self, attrs: &Attributes) -> bool {
        self.rules.first_allowing(attrs).is_some()
    }

    /// The field-selector requirements the authorizer is given (spec 1): only with
    /// AuthorizeWithSelectors, for list/watch/deletecollection, never with a legacy prefix.
    pub fn field_requirements<'a>(&self, attrs: &'a Attributes) -> &'a [FieldRequirement] {
        let verb_ok = matches!(attrs.verb.as_str(), "list" | "watch" | "deletecollection");
        if self.gates.enabled(Gate::AuthorizeWithSelectors) && verb_ok && !attrs.legacy_prefix {
            &attrs.field_requirements
        } else {
            &[]
        }
    }

    /// Authorizes one request at time `at`.
    pub fn authorize(
        &self,
        attrs: &Attributes,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> NodeDecision {
        let Some(node) = node_identity(&attrs.username, &attrs.groups) else {
            return NodeDecision::no_opinion("");
        };
        if node.is_empty() {
            return NodeDecision::no_opinion(unknown_node_reason(&attrs.username));
        }
        if attrs.resource_request {
            if let Some(d) = self.dispatch(node, attrs, cluster, at) {
                return d;
            }
        }
        if self.static_rules_allow(attrs) {
            NodeDecision::allow()
        } else {
            NodeDecision::no_opinion("")
        }
    }

    /// The resource-specific handlers; `None` sends the request to the static rules.
    fn dispatch(
        &self,
        node: &str,
        attrs: &Attributes,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> Option<NodeDecision> {
        let g = &self.gates;
        let v = self.version;
        let d = match (attrs.api_group.as_str(), attrs.resource.as_str()) {
            ("", "secrets") => self.read_namespaced(node, VertexKind::Secret, attrs, cluster, at),
            ("", "configmaps") => {
                self.read_namespaced(node, VertexKind::ConfigMap, attrs, cluster, at)
            }
            ("", "persistentvolumeclaims") => {
                if attrs.subresource == "status" && g.enabled(Gate::ExpandPersistentVolumes) {
                    self.status_update(node, VertexKind::Pvc, attrs, cluster, at)
                } else {
                    self.get_only(node, VertexKind::Pvc, attrs, cluster, at)
                }
            }
            ("", "persistentvolumes") => self.get_only(node, VertexKind::Pv, attrs, cluster, at),
            ("resource.k8s.io", "resourceclaims") if v.at_least(26) => {
                self.get_only(node, VertexKind::ResourceClaim, attrs, cluster, at)
            }
            ("storage.k8s.io", "volumeattachments") => {
                self.get_only(node, VertexKind::VolumeAttachment, attrs, cluster, at)
            }
            ("", "serviceaccounts") => {
                if !g.enabled(Gate::TokenRequest) {
                    NodeDecision::no_opinion(reasons::DISABLED_TOKEN_REQUEST)
                } else if v.at_least(33) && attrs.verb == "get" && attrs.subresource.is_empty() {
                    if g.enabled(Gate::KubeletServiceAccountTokenForCredentialProviders) {
                        self.read_namespaced(node, VertexKind::ServiceAccount, attrs, cluster, at)
                    } else {
                        NodeDecision::no_opinion(reasons::SA_GET_DISABLED)
                    }
                } else {
                    self.create_token(node, attrs, cluster, at)
                }
            }
            ("coordination.k8s.io", "leases") => {
                if g.enabled(Gate::NodeLease) {
                    lease(node, attrs)
                } else {
                    NodeDecision::no_opinion(reasons::DISABLED_NODE_LEASE)
                }
            }
            ("storage.k8s.io", "csinodes") => {
                if g.enabled(Gate::CSINodeInfo) {
                    csinode(node, attrs)
                } else {
                    NodeDecision::no_opinion(reasons::DISABLED_CSINODE_INFO)
                }
            }
            ("resource.k8s.io", "resourceslices") if v.at_least(30) => {
                self.resource_slice(node, attrs, cluster, at)
            }
            ("", "nodes") if g.enabled(Gate::AuthorizeNodeWithSelectors) => {
                node_object(node, attrs)
            }
            ("", "pods") if g.enabled(Gate::AuthorizeNodeWithSelectors) => {
                self.pod(node, attrs, cluster, at)
            }
            _ => return None,
        };
        Some(d)
    }

    /// Spec 4.1.
    fn read_namespaced(
        &self,
        node: &str,
        kind: VertexKind,
        attrs: &Attributes,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> NodeDecision {
        if !matches!(attrs.verb.as_str(), "get" | "list" | "watch") {
            return NodeDecision::no_opinion(reasons::READ_WRONG_VERB);
        }
        if !attrs.subresource.is_empty() {
            return NodeDecision::no_opinion(reasons::READ_SUBRESOURCE);
        }
        if attrs.namespace.is_empty() {
            return NodeDecision::no_opinion(reasons::READ_NO_NAMESPACE);
        }
        self.graph_check(node, kind, attrs, cluster, at)
    }

    /// Spec 4.2.
    fn get_only(
        &self,
        node: &str,
        kind: VertexKind,
        attrs: &Attributes,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> NodeDecision {
        if attrs.verb != "get" {
            return NodeDecision::no_opinion(reasons::GET_WRONG_VERB);
        }
        if !attrs.subresource.is_empty() {
            return NodeDecision::no_opinion(reasons::GET_SUBRESOURCE);
        }
        self.graph_check(node, kind, attrs, cluster, at)
    }

    /// Spec 4.3.
    fn status_update(
        &self,
        node: &str,
        kind: VertexKind,
        attrs: &Attributes,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> NodeDecision {
        if !matches!(attrs.verb.as_str(), "update" | "patch") {
            return NodeDecision::no_opinion(reasons::STATUS_WRONG_VERB);
        }
        if attrs.subresource != "status" {
            return NodeDecision::no_opinion(reasons::STATUS_NOT_STATUS);
        }
        self.graph_check(node, kind, attrs, cluster, at)
    }

    /// Spec 4.4.
    fn create_token(
        &self,
        node: &str,
        attrs: &Attributes,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> NodeDecision {
        if attrs.verb != "create" || attrs.name.is_empty() {
            return NodeDecision::no_opinion(reasons::TOKEN_WRONG_VERB);
        }
        if attrs.subresource != "token" {
            return NodeDecision::no_opinion(reasons::TOKEN_WRONG_SUBRESOURCE);
        }
        self.path_check(node, VertexKind::ServiceAccount, attrs, cluster, at)
    }

    /// Spec 4.7.
    fn resource_slice(
        &self,
        node: &str,
        attrs: &Attributes,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> NodeDecision {
        if !attrs.subresource.is_empty() {
            return NodeDecision::no_opinion(reasons::SLICE_SUBRESOURCE);
        }
        match attrs.verb.as_str() {
            "create" => NodeDecision::allow(),
            "get" | "update" | "patch" | "delete" => {
                self.graph_check(node, VertexKind::ResourceSlice, attrs, cluster, at)
            }
            "list" | "watch" | "deletecollection" => {
                if !self.gates.enabled(Gate::AuthorizeNodeWithSelectors) {
                    return NodeDecision::allow();
                }
                let field = if self.version.at_least(32) {
                    "spec.nodeName"
                } else {
                    "nodeName"
                };
                if has_selector(self.field_requirements(attrs), field, node) {
                    NodeDecision::allow()
                } else {
                    NodeDecision::no_opinion(reasons::SLICE_UNSCOPED)
                }
            }
            _ => NodeDecision::no_opinion(reasons::SLICE_WRONG_VERB),
        }
    }

    /// Spec 4.9.
    fn pod(
        &self,
        node: &str,
        attrs: &Attributes,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> NodeDecision {
        let verb = attrs.verb.as_str();
        match attrs.subresource.as_str() {
            "" => match verb {
                "get" => self.get_only(node, VertexKind::Pod, attrs, cluster, at),
                "list" | "watch" => {
                    if has_selector(self.field_requirements(attrs), "spec.nodeName", node) {
                        NodeDecision::allow()
                    } else if !attrs.name.is_empty() {
                        self.graph_check(node, VertexKind::Pod, attrs, cluster, at)
                    } else {
                        NodeDecision::no_opinion(reasons::POD_UNSCOPED)
                    }
                }
                "create" | "delete" => NodeDecision::allow(),
                _ => NodeDecision::no_opinion(""),
            },
            "status" if matches!(verb, "update" | "patch") => NodeDecision::allow(),
            "eviction" if verb == "create" => NodeDecision::allow(),
            _ => NodeDecision::no_opinion(""),
        }
    }

    /// Spec 4.10: the name check, then the path search.
    fn graph_check(
        &self,
        node: &str,
        kind: VertexKind,
        attrs: &Attributes,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> NodeDecision {
        if attrs.name.is_empty() {
            return NodeDecision::no_opinion(reasons::NO_NAME);
        }
        self.path_check(node, kind, attrs, cluster, at)
    }

    fn path_check(
        &self,
        node: &str,
        kind: VertexKind,
        attrs: &Attributes,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> NodeDecision {
        let decision = match cluster.path(kind, &attrs.namespace, &attrs.name, node, at) {
            PathAnswer::Found(path) => NodeDecision {
                path: Some(path),
                ..NodeDecision::allow()
            },
            PathAnswer::NoPath => {
                NodeDecision::no_opinion(no_relationship_reason(self.version, node))
            }
            PathAnswer::Incomplete(why) => NodeDecision {
                indeterminate: Some(why),
                ..NodeDecision::no_opinion(no_relationship_reason(self.version, node))
            },
        };
        NodeDecision {
            searched_graph: true,
            ..decision
        }
    }
}

/// Spec 4.5.
fn lease(node: &str, attrs: &Attributes) -> NodeDecision {
    let verb = attrs.verb.as_str();
    if !matches!(verb, "get" | "create" | "update" | "patch" | "delete") {
        return NodeDecision::no_opinion(reasons::LEASE_WRONG_VERB);
    }
    if attrs.namespace != "kube-node-lease" {
        return NodeDecision::no_opinion(reasons::LEASE_WRONG_NAMESPACE);
    }
    if verb != "create" && attrs.name != node {
        return NodeDecision::no_opinion(reasons::LEASE_OTHER_NAME);
    }
    NodeDecision::allow()
}

/// Spec 4.6.
fn csinode(node: &str, attrs: &Attributes) -> NodeDecision {
    let verb = attrs.verb.as_str();
    if !matches!(verb, "get" | "create" | "update" | "patch" | "delete") {
        return NodeDecision::no_opinion(reasons::CSINODE_WRONG_VERB);
    }
    if !attrs.subresource.is_empty() {
        return NodeDecision::no_opinion(reasons::CSINODE_SUBRESOURCE);
    }
    if verb != "create" && attrs.name != node {
        return NodeDecision::no_opinion(reasons::CSINODE_OTHER_NAME);
    }
    NodeDecision::allow()
}

/// Spec 4.8.
fn node_object(node: &str, attrs: &Attributes) -> NodeDecision {
    let verb = attrs.verb.as_str();
    match attrs.subresource.as_str() {
        "" => match verb {
            "create" | "update" | "patch" => NodeDecision::allow(),
            "get" | "list" | "watch" => {
                if attrs.name == node {
                    NodeDecision::allow()
                } else if attrs.name.is_empty() {
                    NodeDecision::no_opinion(node_read_all_reason(node))
                } else {
                    NodeDecision::no_opinion(node_read_other_reason(node, &attrs.name))
                }
            }
            _ => NodeDecision::no_opinion(""),
        },
        "status" if matches!(verb, "update" | "patch") => NodeDecision::allow(),
        _ => NodeDecision::no_opinion(""),
    }
}
