//! Pure decision code: the Node authorizer, NodeRestriction, RBAC and the authorizer chain.
//!
//! Nothing here does I/O. Inputs are request [`Attributes`], a [`ClusterView`] (the graph and
//! the few object facts admission needs, at one instant) and the RBAC policy; outputs are
//! decisions with the apiserver's own reason strings.

use crate::record::{FieldRequirement, Micros};
use compact_str::CompactString;

/// What an authorizer sees of a request, recomputed from the URI and verb as the apiserver's
/// request-info resolver does (never trusted blindly from `objectRef`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub username: CompactString,
    pub groups: Vec<CompactString>,
    /// False for non-resource requests (`/healthz`, `/version`, discovery).
    pub resource_request: bool,
    pub verb: CompactString,
    pub api_group: CompactString,
    pub api_version: CompactString,
    pub resource: CompactString,
    pub subresource: CompactString,
    pub namespace: CompactString,
    /// From the path, or for list/watch from a `metadata.name` field selector. Empty for create.
    pub name: CompactString,
    /// The request path (used for non-resource requests).
    pub path: CompactString,
    /// Parsed `fieldSelector` requirements; empty when the selector did not parse.
    pub field_requirements: Vec<FieldRequirement>,
    /// True when the request used the legacy `/watch/` or `/proxy/` path prefix (selectors are
    /// then never given to authorizers).
    pub legacy_prefix: bool,
}

/// Hashes the user, the verb and the path only: they tell a kubelet's requests apart (the
/// path holds the resource, namespace and name), and equal attributes have equal ones.
/// Hashing every attribute cost more than the lookups it keys (the memo of decided requests
/// in [`crate::analyze`]).
impl std::hash::Hash for Attributes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.username, &self.verb, &self.path).hash(state);
    }
}

/// The kind of a vertex in the Node authorizer's graph. Names as upstream's `vertexTypes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VertexKind {
    ConfigMap,
    Node,
    Pod,
    Pvc,
    Pv,
    ResourceClaim,
    ResourceSlice,
    Secret,
    VolumeAttachment,
    ServiceAccount,
    PodCertificateRequest,
}

impl VertexKind {
    /// Upstream's name for the vertex type (as in `node '<n>' cannot get <type> <ns>/<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            VertexKind::ConfigMap => "configmap",
            VertexKind::Node => "node",
            VertexKind::Pod => "pod",
            VertexKind::Pvc => "pvc",
            VertexKind::Pv => "pv",
            VertexKind::ResourceClaim => "resourceclaim",
            VertexKind::ResourceSlice => "resourceslice",
            VertexKind::Secret => "secret",
            VertexKind::VolumeAttachment => "volumeattachment",
            VertexKind::ServiceAccount => "serviceAccount",
            VertexKind::PodCertificateRequest => "podcertificaterequest",
        }
    }
}

/// The answer to "is there a path from this object to this node at time t?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathAnswer {
    /// A path exists; rendered vertices from the object to the node,
    /// e.g. `["secret ns/db", "pod ns/web-1", "node node1"]`.
    Found(Vec<String>),
    /// No path, and the graph is complete for that node at that time.
    NoPath,
    /// No path, but the graph may be incomplete; says why.
    Incomplete(String),
}

/// A fact about one object that may or may not be known at a given instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known<T> {
    /// The object existed and this is the fact.
    Yes(T),
    /// The object certainly did not exist (the inputs are complete for it).
    Absent,
    /// The inputs cannot tell; says why.
    Unknown(String),
}

/// What NodeRestriction needs to know about an existing pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodFacts {
    pub uid: String,
    pub node_name: String,
    pub labels: Vec<(String, String)>,
    /// Audiences of projected `serviceAccountToken` sources.
    pub token_audiences: Vec<String>,
}

/// The cluster as the authorizers see it at one instant: the graph plus object lookups.
/// Implemented by the temporal graph (`crate::graph`) and by simple maps in tests.
pub trait ClusterView {
    /// Path search from the vertex (kind, namespace, name) to the node `node` at `at`.
    fn path(
        &self,
        kind: VertexKind,
        namespace: &str,
        name: &str,
        node: &str,
        at: Micros,
    ) -> PathAnswer;
    /// The pod `namespace/name` as it existed at `at`.
    fn pod(&self, namespace: &str, name: &str, at: Micros) -> Known<PodFacts>;
    /// The UID of the Node object `name` at `at`.
    fn node_uid(&self, name: &str, at: Micros) -> Known<String>;
    /// `spec.nodeName` of the ResourceSlice `name` at `at`.
    fn resource_slice_node(&self, name: &str, at: Micros) -> Known<String>;
}

pub mod chain;
pub mod csr;
pub mod forbidden;
pub mod goquote;
pub mod node;
pub mod rbac;
pub mod restriction;
pub mod version;
