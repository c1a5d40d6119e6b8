//! The NodeRestriction admission plugin (spec section 10) for mutating requests from nodes.
//!
//! NodeRestriction sees the new object (and for updates the old one) in full. The audit log
//! has at most the `requestObject`, which for a patch is the patch document, and never the
//! stored object; the [`ClusterView`] knows only a few facts about existing pods, nodes and
//! ResourceSlices. Whenever a check needs something neither source has, the answer is
//! [`Admission::Unknown`] with the reason, never a guess. Choices made where the inputs are
//! partial:
//! - A merge or strategic-merge patch that does not mention a field leaves it unchanged, so
//!   checks of that field pass. A patch that sets a field NodeRestriction compares with the
//!   stored object (node taints, forbidden node labels, PVC spec) is Unknown, because it may
//!   set the value the object already had. JSON patches (arrays) are judged by their paths.
//! - Pod labels are compared with [`PodFacts::labels`]. `status.resourceClaimStatuses` is not
//!   in the facts: a body that mentions it is Unknown, a full update without it is taken to
//!   leave it unchanged (pods without resource claims have none).
//! - deletecollection is admitted item by item with each item's name, which the log does not
//!   have: checks that need the name are Unknown.
//! - The CSR common-name check decodes the PEM request itself (`super::csr`); only a
//!   PEM block whose DER cannot be read is Unknown.

use compact_str::CompactString;
use serde_json::Value;
use std::cell::{Cell, OnceCell};

use super::csr::{csr_common_name, CsrError, CSR_NOT_PEM};
use super::forbidden::{not_found, wrap_forbidden};
use super::goquote::go_quote;
use super::node::{node_identity, reasons as node_reasons};
use super::version::{FeatureGates, Gate, KubeVersion};
use super::{Attributes, ClusterView, Known, PodFacts};
use crate::input::fast_event::member_values;
use crate::record::Micros;

/// Admission operations NodeRestriction handles (patch arrives as Update, deletecollection as
/// one Delete per item).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `create` (and a pod eviction, a token request, a binding).
    Create,
    /// `update` and `patch`.
    Update,
    /// `delete`, and each item of a `deletecollection`.
    Delete,
}

impl Operation {
    /// The operation of a request verb; `None` for reads, which admission never sees.
    pub fn from_verb(verb: &str) -> Option<Operation> {
        match verb {
            "create" => Some(Operation::Create),
            "update" | "patch" => Some(Operation::Update),
            "delete" | "deletecollection" => Some(Operation::Delete),
            _ => None,
        }
    }

    /// Upstream's name, as printed by `%s` / `%q` in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
        }
    }
}

/// NodeRestriction's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The plugin lets the request through.
    Admit,
    /// The plugin refuses: `code` 403 with a Forbidden-wrapped message, or 404 with the
    /// NotFound message of a missing object.
    Deny { code: u16, message: String },
    /// The plugin does not look at this request (not a node, a read, a connect subresource).
    NotApplicable,
    /// The inputs cannot decide it; says why.
    Unknown(String),
}

impl Admission {
    /// `admit`, `deny`, `not_applicable` or `unknown`, as `explain --format json` writes it.
    pub fn kind(&self) -> &'static str {
        match self {
            Admission::Admit => "admit",
            Admission::Deny { .. } => "deny",
            Admission::NotApplicable => "not_applicable",
            Admission::Unknown(_) => "unknown",
        }
    }

    /// The refusal message or the reason it is unknown; empty otherwise.
    pub fn reason(&self) -> &str {
        match self {
            Admission::Deny { message, .. } => message,
            Admission::Unknown(why) => why,
            Admission::Admit | Admission::NotApplicable => "",
        }
    }

    /// The message of a refusal, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            Admission::Deny { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// The key of the mirror-pod annotation.
pub const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Subresources reached with the CONNECT operation, which NodeRestriction does not handle.
const CONNECT_SUBRESOURCES: &[&str] = &["exec", "attach", "portforward", "proxy"];

/// Kubelet-settable labels with a `kubernetes.io` / `k8s.io` prefix (`well_known_labels.go`).
const KUBELET_LABELS: &[&str] = &[
    "kubernetes.io/hostname",
    "kubernetes.io/arch",
    "kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
];
/// Added to the kubelet labels in 1.17.
const KUBELET_TOPOLOGY_LABELS: &[&str] = &[
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
];
/// The never-used "GA" names of the zone, region and instance-type labels, kubelet labels up to
/// 1.16 (`labelZoneFailureDomainGA` … in the 1.14 `well_known_labels.go`); 1.17 replaced them
/// with the `topology.kubernetes.io` keys.
const KUBELET_PRE_1_17_LABELS: &[&str] = &[
    "failure-domain.kubernetes.io/region",
    "failure-domain.kubernetes.io/zone",
    "kubernetes.io/instance-type",
];

fn label_namespace(key: &str) -> &str {
    key.split_once('/').map(|(ns, _)| ns).unwrap_or("")
}

fn is_kubelet_label(key: &str, version: KubeVersion) -> bool {
    let era_labels = if version.at_least(17) {
        KUBELET_TOPOLOGY_LABELS
    } else {
        KUBELET_PRE_1_17_LABELS
    };
    if KUBELET_LABELS.contains(&key) || era_labels.contains(&key) {
        return true;
    }
    let ns = label_namespace(key);
    ns == "kubelet.kubernetes.io"
        || ns.ends_with(".kubelet.kubernetes.io")
        || ns == "node.kubernetes.io"
        || ns.ends_with(".node.kubernetes.io")
}

fn is_node_restriction_label(key: &str) -> bool {
    let ns = label_namespace(key);
    ns == "node-restriction.kubernetes.io" || ns.ends_with(".node-restriction.kubernetes.io")
}

/// Whether a node may not set, change or remove the label `key` on update (spec 10.5).
pub fn is_forbidden_node_label(key: &str, version: KubeVersion) -> bool {
    if is_node_restriction_label(key) {
        return true;
    }
    let ns = label_namespace(key);
    let kubernetes = ns == "kubernetes.io"
        || ns.ends_with(".kubernetes.io")
        || ns == "k8s.io"
        || ns.ends_with(".k8s.io");
    kubernetes && !is_kubelet_label(key, version)
}

/// Whether a node may not register with the label `key`. Up to 1.18 `getForbiddenCreateLabels`
/// refused only `node-restriction.kubernetes.io` labels (other unknown `kubernetes.io` labels
/// were only logged); kubernetes PR 90307 (1.19) applied the update rules to create too.
pub fn is_forbidden_node_create_label(key: &str, version: KubeVersion) -> bool {
    if version.at_least(19) {
        is_forbidden_node_label(key, version)
    } else {
        is_node_restriction_label(key)
    }
}

/// `v[path…]`, following object keys.
fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(*k))
}

/// The string at `path`, or "" when absent or not a string.
fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

fn present(v: Option<&Value>) -> bool {
    v.is_some_and(|x| !x.is_null())
}

/// The NodeRestriction plugin of one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRestriction {
    version: KubeVersion,
    gates: FeatureGates,
}

/// A request's logged body (`requestObject`), as admission sees it.
#[derive(Debug)]
pub enum RequestBody<'a> {
    /// Already parsed, or absent; `read` is set once a check asks for it (see
    /// [`RequestBody::was_read`]).
    Parsed {
        value: Option<&'a Value>,
        read: Cell<bool>,
    },
    /// The raw JSON, parsed the first time a check reads it (JSON that does not parse counts
    /// as no body). Most requests that carry a body are admitted without reading it (lease
    /// renewals, above all), and parsing every body was a tenth of a replay's decisions.
    /// With `keep_status` false, an object's top-level `status` is checked but not kept.
    Raw {
        text: &'a str,
        keep_status: bool,
        /// `text` with its top-level `status` written as `null` (`status_nulled`), when
        /// `keep_status` is false, it has one and the walk can read it: what is parsed, and what
        /// [`RequestBody::read_text`] gives.
        nulled: OnceCell<Option<String>>,
        parsed: OnceCell<Option<Value>>,
    },
}

impl<'a> RequestBody<'a> {
    /// A body already parsed (`None`: the request has none).
    pub fn parsed(value: Option<&'a Value>) -> Self {
        RequestBody::Parsed {
            value,
            read: Cell::new(false),
        }
    }

    /// Whether a check has asked for the body ([`RequestBody::get`]), present or not. An
    /// answer reached without asking holds for any body, or none.
    pub fn was_read(&self) -> bool {
        match self {
            RequestBody::Parsed { read, .. } => read.get(),
            RequestBody::Raw { parsed, .. } => parsed.get().is_some(),
        }
    }

    /// The body of a request whose `requestObject` text is `text`, parsed on first use.
    pub fn raw(text: Option<&'a str>) -> Self {
        RequestBody::raw_for(text, "", "")
    }

    /// [`RequestBody::raw`] for a request on `resource` of `api_group`: a Node's `status`, which
    /// no check reads (they read its metadata and spec), is not kept (`WithoutStatus`). A
    /// kubelet's status patch is mostly status (conditions, images: 5-20 KB), and building it
    /// as a tree was most of the work of admitting it.
    pub fn raw_for(text: Option<&'a str>, api_group: &str, resource: &str) -> Self {
        match text {
            Some(text) => RequestBody::Raw {
                text,
                keep_status: !(api_group.is_empty() && resource == "nodes"),
                nulled: OnceCell::new(),
                parsed: OnceCell::new(),
            },
            None => RequestBody::parsed(None),
        }
    }

    /// The parsed body, if there is one and it parses.
    pub fn get(&self) -> Option<&Value> {
        match self {
            RequestBody::Parsed { value, read } => {
                read.set(true);
                *value
            }
            RequestBody::Raw {
                text,
                keep_status,
                parsed,
                ..
            } => parsed
                .get_or_init(|| {
                    if read_without_status(*keep_status, text) {
                        serde_json::from_str::<WithoutStatus>(self.read_text().unwrap_or(text))
                            .ok()
                            .map(|WithoutStatus(v)| v)
                    } else {
                        serde_json::from_str(text).ok()
                    }
                })
                .as_ref(),
        }
    }

    /// The text [`RequestBody::get`] reads: the request's body, but a Node's status written
    /// as `null`; `""` for no body, which reads as a body that is no JSON does (as none).
    /// Bodies of requests of equal attributes with equal texts are read alike. `None` for a
    /// body given parsed.
    pub fn read_text(&self) -> Option<&str> {
        match self {
            RequestBody::Parsed { value: None, .. } => Some(""),
            RequestBody::Parsed { value: Some(_), .. } => None,
            RequestBody::Raw {
                text,
                keep_status,
                nulled,
                ..
            } => Some(if read_without_status(*keep_status, text) {
                nulled
                    .get_or_init(|| status_nulled(text))
                    .as_deref()
                    .unwrap_or(text)
            } else {
                text
            }),
        }
    }
}

/// Whether a raw body is read without its top-level `status`: when the status is not to be
/// kept and the body is an object (any other JSON is read as it is, and whatever it is).
fn read_without_status(keep_status: bool, text: &str) -> bool {
    !keep_status && text.trim_start().starts_with('{')
}

/// A JSON object parsed as a [`Value`] but for its top-level `status`, whose text is only
/// checked to be JSON syntax. What else a [`Value`] refuses it refuses alike; but a `status`
/// that is JSON and that a [`Value`] refuses only for what it holds (a number beyond `f64`, a
/// lone surrogate escape, more than 128 levels of nesting) leaves the body readable, where a
/// [`Value`] would make it no body at all. (serde_json's private raw-value key is read as an
/// ordinary key here.) Go's encoder writes none of these.
struct WithoutStatus(Value);

impl<'de> serde::Deserialize<'de> for WithoutStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = serde_json::Map<String, Value>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut fields = serde_json::Map::new();
                while let Some(key) = m.next_key::<String>()? {
                    if key == "status" {
                        m.next_value::<serde::de::IgnoredAny>()?;
                    } else {
                        // A key given twice keeps its last value, as a `Value` does.
                        fields.insert(key, m.next_value()?);
                    }
                }
                Ok(fields)
            }
        }
        d.deserialize_map(Fields)
            .map(|m| WithoutStatus(Value::Object(m)))
    }
}

/// The JSON object `text` with the value of each top-level `status` written as `null`, when
/// its members can be walked without serde ([`member_values`]); `None` when it has no
/// `status` or cannot be walked so (and is read as it is). [`WithoutStatus`] reads both texts
/// alike, since the walk accepts exactly the values serde ignores: a Node's status is most of
/// its kubelet's status patch, and serde's look at what it ignores took about nine
/// instructions a byte, several times the walk's.
fn status_nulled(text: &str) -> Option<String> {
    let statuses = member_values(text, "status")?;
    if statuses.is_empty() {
        return None;
    }
    let values: usize = statuses.iter().map(|v| v.len()).sum();
    let mut nulled = String::with_capacity(text.len() - values + statuses.len() * "null".len());
    let mut from = 0;
    for value in statuses {
        nulled.push_str(&text[from..value.start]);
        nulled.push_str("null");
        from = value.end;
    }
    nulled.push_str(&text[from..]);
    Some(nulled)
}

/// Everything one admission call looks at.
struct Req<'a> {
    attrs: &'a Attributes,
    node: &'a str,
    op: Operation,
    body: &'a RequestBody<'a>,
    cluster: &'a dyn ClusterView,
    at: Micros,
}

impl Req<'_> {
    fn is_patch(&self) -> bool {
        self.attrs.verb == "patch"
    }

    fn is_collection(&self) -> bool {
        self.attrs.verb == "deletecollection"
    }

    /// A 403 with the Forbidden wrapping of spec 10: the request name, else the object's
    /// `metadata.name`, else its `generateName`, else `Unknown`.
    fn forbid(&self, text: &str) -> Admission {
        let body_str = |k: &str| {
            self.body
                .get()
                .map(|b| str_at(b, &["metadata", k]))
                .unwrap_or("")
        };
        let name = if !self.attrs.name.is_empty() {
            self.attrs.name.as_str()
        } else if !body_str("name").is_empty() {
            body_str("name")
        } else if !body_str("generateName").is_empty() {
            body_str("generateName")
        } else {
            "Unknown"
        };
        Admission::Deny {
            code: 403,
            message: wrap_forbidden(&self.attrs.resource, &self.attrs.api_group, name, text),
        }
    }

    /// The request body, or Unknown naming what it was needed for.
    fn need_body(&self, what: &str) -> Result<&Value, Admission> {
        match self.body.get() {
            Some(b) if b.is_object() || (self.is_patch() && b.is_array()) => Ok(b),
            Some(_) => Err(Admission::Unknown(format!(
                "requestObject is not a JSON object; needed for {what}"
            ))),
            None => Err(Admission::Unknown(format!(
                "the log has no requestObject (the audit level is below Request, or the request was refused before its body was read); needed for {what}"
            ))),
        }
    }

    /// Leases and CSINodes are named after their node: the new object's name on create, the
    /// request's name otherwise, must be the node's; `refusal` when it is not.
    fn own_object_name(&self, what: &str, refusal: &str) -> Result<(), Admission> {
        let name = match self.op {
            Operation::Create => str_at(self.need_body(what)?, &["metadata", "name"]),
            _ => {
                self.need_name()?;
                self.attrs.name.as_str()
            }
        };
        if name != self.node {
            return Err(self.forbid(refusal));
        }
        Ok(())
    }

    fn need_name(&self) -> Result<(), Admission> {
        if self.is_collection() {
            Err(Admission::Unknown(
                "deletecollection is admitted item by item and the log does not name the items"
                    .into(),
            ))
        } else {
            Ok(())
        }
    }

    /// The existing pod `name` in the request namespace; `lister` selects the NotFound form
    /// (lister: singular `pod`; storage: plural `pods`).
    fn pod(&self, name: &str, lister: bool) -> Result<PodFacts, Admission> {
        match self.cluster.pod(&self.attrs.namespace, name, self.at) {
            Known::Yes(p) => Ok(p),
            Known::Absent => Err(Admission::Deny {
                code: 404,
                message: not_found(if lister { "pod" } else { "pods" }, "", name),
            }),
            Known::Unknown(why) => Err(Admission::Unknown(why)),
        }
    }
}

/// What a patch or full object says about one map-valued field (labels).
enum MapChange<'a> {
    /// Not mentioned: unchanged.
    Untouched,
    /// Key → new value (`None` = removed); other keys unchanged.
    Keys(Vec<(&'a str, Option<&'a str>)>),
    /// The whole map is replaced by this one (full object, or `labels: null`).
    Replace(Vec<(&'a str, &'a str)>),
    /// Cannot tell (JSON patch on the map, patch directives).
    Opaque,
}

fn map_pairs(v: &Value) -> Vec<(&str, &str)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default()
}

/// How `body` changes `metadata.labels`.
fn label_change<'a>(body: &'a Value, is_patch: bool) -> MapChange<'a> {
    if let Some(ops) = body.as_array() {
        let touches = ops.iter().any(|op| {
            let p = str_at(op, &["path"]);
            p == "/metadata" || p.starts_with("/metadata/labels") || p.is_empty() || p == "/"
        });
        return if touches {
            MapChange::Opaque
        } else {
            MapChange::Untouched
        };
    }
    let labels = at(body, &["metadata", "labels"]);
    if !is_patch {
        return MapChange::Replace(labels.map(map_pairs).unwrap_or_default());
    }
    match labels {
        None => MapChange::Untouched,
        Some(Value::Null) => MapChange::Replace(Vec::new()),
        Some(Value::Object(m)) => {
            if m.keys().any(|k| k.starts_with('$')) {
                return MapChange::Opaque;
            }
            MapChange::Keys(m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        }
        Some(_) => MapChange::Opaque,
    }
}

/// Whether a body mentions `path` (object keys, or a JSON-patch path prefix).
fn mentions(body: &Value, path: &[&str]) -> bool {
    if let Some(ops) = body.as_array() {
        let prefix: String = path.iter().map(|p| format!("/{p}")).collect();
        return ops.iter().any(|op| {
            let p = str_at(op, &["path"]);
            p.starts_with(&prefix) || prefix.starts_with(p)
        });
    }
    present(at(body, path))
}

impl NodeRestriction {
    /// The plugin for the gates' release.
    pub fn new(gates: &FeatureGates) -> Self {
        NodeRestriction {
            version: gates.version(),
            gates: gates.clone(),
        }
    }

    /// Admits one request. `request_object` is the logged `requestObject` (the patch document
    /// for patches). `authorize` answers the chain's decision for the extra authorization
    /// check of the service-account audience restriction (spec 10.7).
    pub fn admit(
        &self,
        attrs: &Attributes,
        op: Operation,
        request_object: Option<&Value>,
        cluster: &dyn ClusterView,
        at: Micros,
        authorize: &dyn Fn(&Attributes) -> bool,
    ) -> Admission {
        let body = RequestBody::parsed(request_object);
        self.admit_body(attrs, op, &body, cluster, at, authorize)
    }

    /// [`NodeRestriction::admit`] with a body that may still be unparsed.
    pub fn admit_body(
        &self,
        attrs: &Attributes,
        op: Operation,
        body: &RequestBody<'_>,
        cluster: &dyn ClusterView,
        at: Micros,
        authorize: &dyn Fn(&Attributes) -> bool,
    ) -> Admission {
        let Some(node) = node_identity(&attrs.username, &attrs.groups) else {
            return Admission::NotApplicable;
        };
        if !attrs.resource_request || CONNECT_SUBRESOURCES.contains(&attrs.subresource.as_str()) {
            return Admission::NotApplicable;
        }
        let r = Req {
            attrs,
            node,
            op,
            body,
            cluster,
            at,
        };
        if node.is_empty() {
            return r.forbid(&format!(
                "could not determine node from user {}",
                go_quote(&attrs.username)
            ));
        }
        let result = match (attrs.api_group.as_str(), attrs.resource.as_str()) {
            ("", "pods") => match attrs.subresource.as_str() {
                "" => self.pod(&r),
                "status" => self.pod_status(&r),
                "eviction" => self.pod_eviction(&r),
                sub => Err(r.forbid(&format!(
                    "unexpected pod subresource {}, only 'status' and 'eviction' are allowed",
                    go_quote(sub)
                ))),
            },
            ("", "nodes") => self.node(&r),
            ("", "persistentvolumeclaims") => self.pvc(&r),
            // The old gates (spec 13.2) could only be switched off before they went GA; the
            // branches and messages are those of the 1.14-1.18 plugin.
            ("", "serviceaccounts") if !self.gates.enabled(Gate::TokenRequest) => Ok(()),
            ("", "serviceaccounts") => self.service_account(&r, authorize),
            ("coordination.k8s.io", "leases") if !self.gates.enabled(Gate::NodeLease) => {
                Err(r.forbid(node_reasons::DISABLED_NODE_LEASE))
            }
            ("coordination.k8s.io", "leases") => self.lease(&r),
            ("storage.k8s.io", "csinodes") if !self.gates.enabled(Gate::CSINodeInfo) => {
                Err(r.forbid(node_reasons::DISABLED_CSINODE_INFO))
            }
            ("storage.k8s.io", "csinodes") => self.csinode(&r),
            // Added with kubelet's deletecollection of its slices (kubernetes PR 125163, 1.31).
            ("resource.k8s.io", "resourceslices") if self.version.at_least(31) => {
                self.resource_slice(&r)
            }
            ("certificates.k8s.io", "certificatesigningrequests")
                if !self
                    .gates
                    .enabled(Gate::AllowInsecureKubeletCertificateSigningRequests) =>
            {
                self.csr(&r)
            }
            _ => Ok(()),
        };
        match result {
            Ok(()) => Admission::Admit,
            Err(a) => a,
        }
    }

    /// Spec 10.1.
    fn pod(&self, r: &Req) -> Result<(), Admission> {
        let node = r.node;
        match r.op {
            Operation::Create => {
                let pod = r.need_body("the mirror-pod checks")?;
                let forbid = |t: String| Err(r.forbid(&t));
                if at(pod, &["metadata", "annotations", MIRROR_POD_ANNOTATION]).is_none() {
                    return forbid(format!(
                        "pod does not have {} annotation, node {} can only create mirror pods",
                        go_quote(MIRROR_POD_ANNOTATION),
                        go_quote(node)
                    ));
                }
                if str_at(pod, &["spec", "nodeName"]) != node {
                    return forbid(format!(
                        "node {} can only create pods with spec.nodeName set to itself",
                        go_quote(node)
                    ));
                }
                let owners = at(pod, &["metadata", "ownerReferences"]).and_then(Value::as_array);
                let owners: &[Value] = owners.map(Vec::as_slice).unwrap_or(&[]);
                // Owner references are checked from 1.17 (kubernetes PR 84657); a mirror pod
                // without any is refused only from 1.19 (PR 91683).
                if self.version.at_least(17) {
                    self.mirror_pod_owner(r, owners)?;
                }
                if !str_at(pod, &["spec", "serviceAccountName"]).is_empty() {
                    return forbid(format!(
                        "node {} can not create pods that reference a service account",
                        go_quote(node)
                    ));
                }
                let spec = at(pod, &["spec"]).unwrap_or(&Value::Null);
                if pod_references_secrets(spec) {
                    return forbid(format!(
                        "node {} can not create pods that reference secrets",
                        go_quote(node)
                    ));
                }
                if pod_references_configmaps(spec) {
                    return forbid(format!(
                        "node {} can not create pods that reference configmaps",
                        go_quote(node)
                    ));
                }
                if volumes(spec).any(|v| {
                    at(v, &["projected", "sources"])
                        .and_then(Value::as_array)
                        .is_some_and(|s| s.iter().any(|src| present(src.get("clusterTrustBundle"))))
                }) {
                    return forbid(format!(
                        "node {} can not create pods that reference clustertrustbundles",
                        go_quote(node)
                    ));
                }
                if volumes(spec).any(|v| present(v.get("persistentVolumeClaim"))) {
                    return forbid(format!(
                        "node {} can not create pods that reference persistentvolumeclaims",
                        go_quote(node)
                    ));
                }
                Ok(())
            }
            Operation::Delete => {
                r.need_name()?;
                // The registry's Delete reads the stored pod before it runs admission (as the
                // delete validation), so a pod that is gone is the storage's plural NotFound;
                // the plugin's own lister lookup can only fail on informer lag.
                let pod = r.pod(&r.attrs.name, false)?;
                if pod.node_name != node {
                    return Err(r.forbid(&format!(
                        "node {} can only delete pods with spec.nodeName set to itself",
                        go_quote(node)
                    )));
                }
                Ok(())
            }
            Operation::Update => Err(r.forbid(&format!(
                "unexpected operation {}, node {} can only create and delete mirror pods",
                go_quote(r.op.as_str()),
                go_quote(node)
            ))),
        }
    }

    /// The owner-reference checks of a mirror pod create (1.17+), in upstream order.
    fn mirror_pod_owner(&self, r: &Req, owners: &[Value]) -> Result<(), Admission> {
        let node = r.node;
        let forbid = |t: String| Err(r.forbid(&t));
        if owners.len() > 1 {
            return forbid(format!(
                "node {} can only create pods with a single owner reference set to itself",
                go_quote(node)
            ));
        }
        let Some(owner) = owners.first() else {
            if !self.version.at_least(19) {
                return Ok(());
            }
            return forbid(format!(
                "node {} can only create pods with an owner reference set to itself",
                go_quote(node)
            ));
        };
        if str_at(owner, &["apiVersion"]) != "v1"
            || str_at(owner, &["kind"]) != "Node"
            || str_at(owner, &["name"]) != node
        {
            return forbid(format!(
                "node {} can only create pods with an owner reference set to itself",
                go_quote(node)
            ));
        }
        if at(owner, &["controller"]).and_then(Value::as_bool) != Some(true) {
            return forbid(format!(
                "node {} can only create pods with a controller owner reference set to itself",
                go_quote(node)
            ));
        }
        if at(owner, &["blockOwnerDeletion"]).and_then(Value::as_bool) == Some(true) {
            return forbid(format!(
                "node {} must not set blockOwnerDeletion on an owner reference",
                go_quote(node)
            ));
        }
        let owner_uid = str_at(owner, &["uid"]);
        match r.cluster.node_uid(node, r.at) {
            Known::Yes(uid) if uid == owner_uid => Ok(()),
            Known::Yes(uid) => forbid(format!(
                "node {node} UID mismatch: expected {owner_uid} got {uid}"
            )),
            Known::Absent => Err(Admission::Deny {
                code: 404,
                message: not_found("node", "", node),
            }),
            Known::Unknown(why) => Err(Admission::Unknown(why)),
        }
    }

    /// Spec 10.2.
    fn pod_status(&self, r: &Req) -> Result<(), Admission> {
        let node = r.node;
        if r.op != Operation::Update {
            return Err(r.forbid(&format!("unexpected operation {}", go_quote(r.op.as_str()))));
        }
        // The stored pod is fetched before admission; a missing one is the storage's 404.
        let old = r.pod(&r.attrs.name, false)?;
        if old.node_name != node {
            return Err(r.forbid(&format!(
                "node {} can only update pod status for pods with spec.nodeName set to itself",
                go_quote(node)
            )));
        }
        let body = r.need_body("the label and resource-claim checks of pods/status")?;
        let old_labels = &old.labels;
        let old_value = |k: &str| {
            old_labels
                .iter()
                .find(|(ok, _)| ok == k)
                .map(|(_, v)| v.as_str())
        };
        let labels_changed = match label_change(body, r.is_patch()) {
            MapChange::Untouched => false,
            MapChange::Keys(keys) => keys.iter().any(|(k, v)| old_value(k) != *v),
            MapChange::Replace(new) => {
                new.len() != old_labels.len() || new.iter().any(|(k, v)| old_value(k) != Some(*v))
            }
            MapChange::Opaque => {
                return Err(Admission::Unknown(
                    "the patch changes pod labels in a form the model cannot apply".into(),
                ));
            }
        };
        if labels_changed {
            return Err(r.forbid(&format!(
                "node {} cannot update labels through pod status",
                go_quote(node)
            )));
        }
        let claims = at(body, &["status", "resourceClaimStatuses"]);
        let claims_mentioned = if body.is_array() {
            mentions(body, &["status", "resourceClaimStatuses"])
        } else if r.is_patch() {
            claims.is_some()
        } else {
            claims
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        };
        if claims_mentioned {
            return Err(Admission::Unknown(
                "the request sets status.resourceClaimStatuses; the stored statuses are not known"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Spec 10.3.
    fn pod_eviction(&self, r: &Req) -> Result<(), Admission> {
        if r.op != Operation::Create {
            return Err(r.forbid(&format!("unexpected operation {}", r.op.as_str())));
        }
        let name = if !r.attrs.name.is_empty() {
            r.attrs.name.as_str()
        } else {
            let body = r.need_body("the pod name of the eviction")?;
            let n = str_at(body, &["metadata", "name"]);
            if n.is_empty() {
                return Err(r.forbid("could not determine pod from request data"));
            }
            n
        };
        let pod = r.pod(name, true)?;
        if pod.node_name != r.node {
            return Err(r.forbid(&format!(
                "node {} can only evict pods with spec.nodeName set to itself",
                r.node
            )));
        }
        Ok(())
    }

    /// Spec 10.5.
    fn node(&self, r: &Req) -> Result<(), Admission> {
        let node = r.node;
        r.need_name()?;
        let name = match r.op {
            Operation::Create => str_at(
                r.need_body("the name of the new Node")?,
                &["metadata", "name"],
            ),
            _ => r.attrs.name.as_str(),
        };
        if name != node {
            return Err(r.forbid(&format!(
                "node {} is not allowed to modify node {}",
                go_quote(node),
                go_quote(name)
            )));
        }
        match r.op {
            Operation::Delete => Ok(()),
            Operation::Create => {
                let body = r.need_body("the Node checks")?;
                if present(at(body, &["spec", "configSource"])) {
                    return Err(r.forbid(&format!(
                        "node {} is not allowed to create pods with a non-nil configSource",
                        go_quote(node)
                    )));
                }
                let mut forbidden: Vec<&str> = at(body, &["metadata", "labels"])
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.keys()
                            .map(String::as_str)
                            .filter(|k| is_forbidden_node_create_label(k, self.version))
                            .collect()
                    })
                    .unwrap_or_default();
                if !forbidden.is_empty() {
                    forbidden.sort_unstable();
                    return Err(r.forbid(&format!(
                        "node {} is not allowed to set the following labels: {}",
                        go_quote(node),
                        forbidden.join(", ")
                    )));
                }
                Ok(())
            }
            Operation::Update => {
                // `node %q is not allowed to modify ownerReferences` (kubernetes PR 133467) is in
                // 1.34.0 and was backported to 1.31.12, 1.32.8 and 1.33.4; the model knows only
                // the minor release, so 1.31-1.33 are treated like 1.34 (a change is Unknown).
                let owner_refs_checked = self.version.at_least(31);
                let body = r.need_body("the taint and label checks of a Node update")?;
                if !r.is_patch() {
                    return Err(Admission::Unknown(
                        "a full Node update is compared with the stored Node (taints, labels, configSource), which the inputs lack".into(),
                    ));
                }
                if body.is_array() {
                    if mentions(body, &["spec"])
                        || mentions(body, &["metadata", "labels"])
                        || (owner_refs_checked && mentions(body, &["metadata", "ownerReferences"]))
                    {
                        return Err(Admission::Unknown(
                            "the JSON patch touches spec, labels or ownerReferences of the Node, which are compared with the stored Node".into(),
                        ));
                    }
                    return Ok(());
                }
                let spec = at(body, &["spec"]);
                if spec.is_some_and(|s| s.as_object().is_none_or(|m| m.contains_key("$patch"))) {
                    return Err(Admission::Unknown(
                        "the patch replaces the Node spec".into(),
                    ));
                }
                if present(spec.and_then(|s| s.get("configSource"))) {
                    return Err(Admission::Unknown(
                        "the patch sets spec.configSource; whether it differs from the stored one is not known".into(),
                    ));
                }
                if spec
                    .and_then(Value::as_object)
                    .is_some_and(|m| m.keys().any(|k| k.contains("taints")))
                {
                    return Err(Admission::Unknown(
                        "the patch touches spec.taints; whether they differ from the stored taints is not known".into(),
                    ));
                }
                if owner_refs_checked && at(body, &["metadata", "ownerReferences"]).is_some() {
                    return Err(Admission::Unknown(
                        "the patch sets metadata.ownerReferences; NodeRestriction refuses a change (CVE-2025-5187 fix) but the stored ones are not known".into(),
                    ));
                }
                let touched: Vec<&str> = match label_change(body, true) {
                    MapChange::Untouched => Vec::new(),
                    MapChange::Keys(k) => k.into_iter().map(|(k, _)| k).collect(),
                    MapChange::Replace(_) | MapChange::Opaque => {
                        return Err(Admission::Unknown(
                            "the patch replaces the Node's labels; the stored labels are not known"
                                .into(),
                        ));
                    }
                };
                let mut forbidden: Vec<&str> = touched
                    .into_iter()
                    .filter(|k| is_forbidden_node_label(k, self.version))
                    .collect();
                if !forbidden.is_empty() {
                    forbidden.sort_unstable();
                    return Err(Admission::Unknown(format!(
                        "the patch sets the restricted labels {}; whether they change the stored values is not known",
                        forbidden.join(", ")
                    )));
                }
                Ok(())
            }
        }
    }

    /// Spec 10.6.
    fn pvc(&self, r: &Req) -> Result<(), Admission> {
        if r.attrs.subresource != "status" {
            return Err(r.forbid("may only update PVC status"));
        }
        if r.op != Operation::Update {
            return Err(r.forbid(&format!("unexpected operation {}", go_quote(r.op.as_str()))));
        }
        if !self.gates.enabled(Gate::ExpandPersistentVolumes) {
            return Err(r.forbid(&format!(
                "node {} is not allowed to update persistentvolumeclaim metadata",
                go_quote(r.node)
            )));
        }
        let body = r.need_body("the PVC status comparison")?;
        let unknown = || {
            Err(Admission::Unknown(
                "the update may change PVC fields other than status.capacity and status.conditions; the stored PVC is not known".into(),
            ))
        };
        if !r.is_patch() {
            return unknown();
        }
        let recover = self.gates.enabled(Gate::RecoverVolumeExpansionFailure);
        let status_ok = |k: &str| {
            k.starts_with('$')
                || k == "capacity"
                || k == "conditions"
                || (recover && (k == "allocatedResources" || k == "allocatedResourceStatuses"))
        };
        if let Some(ops) = body.as_array() {
            let ok = ops.iter().all(|op| {
                let p = str_at(op, &["path"]);
                let mut parts = p.trim_start_matches('/').split('/');
                match (parts.next(), parts.next()) {
                    (Some("status"), Some(k)) => status_ok(k),
                    (Some("metadata"), Some(k)) => k == "resourceVersion" || k == "managedFields",
                    _ => false,
                }
            });
            return if ok { Ok(()) } else { unknown() };
        }
        let Some(top) = body.as_object() else {
            return unknown();
        };
        for (k, v) in top {
            let ok = match k.as_str() {
                "apiVersion" | "kind" => true,
                "status" => v
                    .as_object()
                    .is_some_and(|m| m.keys().all(|k| status_ok(k))),
                "metadata" => v.as_object().is_some_and(|m| {
                    m.keys()
                        .all(|k| k == "resourceVersion" || k == "managedFields")
                }),
                _ => false,
            };
            if !ok {
                return unknown();
            }
        }
        Ok(())
    }

    /// Spec 10.7.
    fn service_account(
        &self,
        r: &Req,
        authorize: &dyn Fn(&Attributes) -> bool,
    ) -> Result<(), Admission> {
        if r.op != Operation::Create || r.attrs.subresource != "token" {
            return Ok(());
        }
        let tr = r.need_body("the TokenRequest's bound object")?;
        let bound = at(tr, &["spec", "boundObjectRef"]).filter(|b| !b.is_null());
        let Some(bound) = bound else {
            return Err(r.forbid("node requested token not bound to a pod"));
        };
        let pod_name = str_at(bound, &["name"]);
        if str_at(bound, &["apiVersion"]) != "v1"
            || str_at(bound, &["kind"]) != "Pod"
            || pod_name.is_empty()
        {
            return Err(r.forbid("node requested token not bound to a pod"));
        }
        let uid = str_at(bound, &["uid"]);
        if uid.is_empty() {
            return Err(r.forbid("node requested token with a pod binding without a uid"));
        }
        let pod = r.pod(pod_name, true)?;
        if pod.uid.is_empty() {
            return Err(Admission::Unknown(format!(
                "the UID of pod {}/{pod_name} is not known from the inputs (no objects dump entry and no logged body or binding carrying it); needed to check the token's bound object reference",
                r.attrs.namespace
            )));
        }
        if pod.uid != uid {
            return Err(r.forbid(&format!(
                "the UID in the bound object reference ({uid}) does not match the UID in record. The object might have been deleted and then recreated"
            )));
        }
        if pod.node_name != r.node {
            return Err(
                r.forbid("node requested token bound to a pod scheduled on a different node")
            );
        }
        if !self
            .gates
            .enabled(Gate::ServiceAccountNodeAudienceRestriction)
        {
            return Ok(());
        }
        let audiences: Vec<&str> = at(tr, &["spec", "audiences"])
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|x| x.as_str().unwrap_or("")).collect())
            .unwrap_or_default();
        if audiences.len() > 1 {
            return Err(r.forbid("node may only request 0 or 1 audiences"));
        }
        let audience = audiences.first().copied().unwrap_or("");
        if pod.token_audiences.iter().any(|a| a == audience) {
            return Ok(());
        }
        let check = Attributes {
            username: r.attrs.username.clone(),
            groups: r.attrs.groups.clone(),
            resource_request: true,
            verb: "request-serviceaccounts-token-audience".into(),
            api_group: CompactString::default(),
            api_version: CompactString::default(),
            resource: audience.into(),
            subresource: CompactString::default(),
            namespace: r.attrs.namespace.clone(),
            name: r.attrs.name.clone(),
            path: CompactString::default(),
            field_requirements: Vec::new(),
            legacy_prefix: false,
        };
        if authorize(&check) {
            return Ok(());
        }
        Err(Admission::Unknown(format!(
            "audience {} is not referenced by a projected serviceAccountToken of the pod and the node is not authorized for it; a CSI driver's spec.tokenRequests may still reference it (not modelled)",
            go_quote(audience)
        )))
    }

    /// Spec 10.8.
    fn lease(&self, r: &Req) -> Result<(), Admission> {
        if r.attrs.namespace != "kube-node-lease" {
            return Err(r.forbid(node_reasons::LEASE_WRONG_NAMESPACE));
        }
        r.own_object_name("the name of the new Lease", node_reasons::LEASE_OTHER_NAME)
    }

    /// Spec 10.9.
    fn csinode(&self, r: &Req) -> Result<(), Admission> {
        r.own_object_name(
            "the name of the new CSINode",
            node_reasons::CSINODE_OTHER_NAME,
        )
    }

    /// Spec 10.10 (1.31+).
    fn resource_slice(&self, r: &Req) -> Result<(), Admission> {
        match r.op {
            Operation::Create => {
                let body = r.need_body("spec.nodeName of the new ResourceSlice")?;
                if str_at(body, &["spec", "nodeName"]) != r.node {
                    return Err(r.forbid("can only create ResourceSlice with the same NodeName as the requesting node"));
                }
                Ok(())
            }
            Operation::Delete => {
                r.need_name()?;
                match r.cluster.resource_slice_node(&r.attrs.name, r.at) {
                    Known::Yes(n) if n == r.node => Ok(()),
                    Known::Yes(_) => Err(r.forbid("can only delete ResourceSlice with the same NodeName as the requesting node")),
                    // The stored object is read before admission: a missing one is the storage's 404.
                    Known::Absent => Err(Admission::Deny {
                        code: 404,
                        message: not_found("resourceslices", "resource.k8s.io", &r.attrs.name),
                    }),
                    Known::Unknown(why) => Err(Admission::Unknown(why)),
                }
            }
            Operation::Update => Ok(()),
        }
    }

    /// Spec 10.11 (1.31+, unless AllowInsecureKubeletCertificateSigningRequests).
    fn csr(&self, r: &Req) -> Result<(), Admission> {
        if r.op != Operation::Create || !self.version.at_least(31) {
            return Ok(());
        }
        let csr = r.need_body("the CSR signer and subject")?;
        let signer = str_at(csr, &["spec", "signerName"]);
        if signer != "kubernetes.io/kubelet-serving"
            && signer != "kubernetes.io/kube-apiserver-client-kubelet"
        {
            return Ok(());
        }
        match csr_common_name(str_at(csr, &["spec", "request"])) {
            Ok(cn) if cn == format!("system:node:{}", r.node) => Ok(()),
            Ok(_) => Err(r.forbid(&format!("can only create a node CSR with CN=system:node:{}", r.node))),
            Err(CsrError::NotPem) => Err(r.forbid(&format!("unable to parse csr: {CSR_NOT_PEM}"))),
            Err(CsrError::Undecodable) => Err(Admission::Unknown(
                "the CSR's DER request could not be decoded; the apiserver refuses it with an x509 parse error the model does not reproduce".into(),
            )),
        }
    }
}

fn volumes(spec: &Value) -> impl Iterator<Item = &Value> {
    spec.get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .filter_map(move |k| spec.get(k).and_then(Value::as_array))
        .flatten()
}

/// Upstream `VisitPodSecretNames` over all containers finds at least one reference. Presence
/// of the reference counts, as upstream visits even empty names.
fn pod_references_secrets(spec: &Value) -> bool {
    if spec
        .get("imagePullSecrets")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        return true;
    }
    let in_containers = containers(spec).any(|c| {
        let env_from = c
            .get("envFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let env = c.get("env").and_then(Value::as_array).into_iter().flatten();
        env_from.into_iter().any(|e| present(e.get("secretRef")))
            || env
                .into_iter()
                .any(|e| present(at(e, &["valueFrom", "secretKeyRef"])))
    });
    in_containers
        || volumes(spec).any(|v| {
            present(v.get("secret"))
                || at(v, &["projected", "sources"])
                    .and_then(Value::as_array)
                    .is_some_and(|s| s.iter().any(|src| present(src.get("secret"))))
                || !str_at(v, &["azureFile", "secretName"]).is_empty()
                || present(at(v, &["cephfs", "secretRef"]))
                || present(at(v, &["cinder", "secretRef"]))
                || present(at(v, &["flexVolume", "secretRef"]))
                || present(at(v, &["rbd", "secretRef"]))
                || present(at(v, &["scaleIO", "secretRef"]))
                || present(at(v, &["iscsi", "secretRef"]))
                || present(at(v, &["storageos", "secretRef"]))
                || present(at(v, &["csi", "nodePublishSecretRef"]))
        })
}

/// Upstream `VisitPodConfigmapNames` over all containers finds at least one reference.
fn pod_references_configmaps(spec: &Value) -> bool {
    let in_containers = containers(spec).any(|c| {
        let env_from = c
            .get("envFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let env = c.get("env").and_then(Value::as_array).into_iter().flatten();
        env_from.into_iter().any(|e| present(e.get("configMapRef")))
            || env
                .into_iter()
                .any(|e| present(at(e, &["valueFrom", "configMapKeyRef"])))
    });
    in_containers
        || volumes(spec).any(|v| {
            present(v.get("configMap"))
                || at(v, &["projected", "sources"])
                    .and_then(Value::as_array)
                    .is_some_and(|s| s.iter().any(|src| present(src.get("configMap"))))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn without_status(text: &str) -> Option<Value> {
        serde_json::from_str::<WithoutStatus>(text)
            .ok()
            .map(|WithoutStatus(v)| v)
    }

    /// Member values: JSON a `Value` takes, JSON it refuses only for what it holds (which a
    /// status may hold), text that is no JSON, and nesting past what the walk reads.
    fn member_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("1".to_string()),
            Just("null".to_string()),
            Just(r#"{"x":[1,{"y":"z\"]"}]}"#.to_string()),
            Just(r#""\ud800""#.to_string()),
            Just("1e400".to_string()),
            Just(r#"{"a":tru}"#.to_string()),
            Just("[1,2".to_string()),
            Just("01".to_string()),
            Just(r#""\x""#.to_string()),
            (1usize..140).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        ]
    }

    /// What is read of a body: a Node's without its status, another's whole, none as "".
    #[test]
    fn the_text_read_leaves_out_only_a_nodes_status() {
        let text = r#"{"status":{"a":[1]},"spec":{"x":"status"}}"#;
        let node = RequestBody::raw_for(Some(text), "", "nodes");
        assert_eq!(
            node.read_text(),
            Some(r#"{"status":null,"spec":{"x":"status"}}"#)
        );
        assert!(!node.was_read());
        assert_eq!(
            node.get(),
            Some(&serde_json::json!({"spec": {"x": "status"}}))
        );
        for other in [
            RequestBody::raw_for(Some(text), "", "pods"),
            RequestBody::raw_for(Some(text), "example.com", "nodes"),
        ] {
            assert_eq!(other.read_text(), Some(text));
        }
        let unwalked = r#"{"st\u0061tus":{"a":1}}"#;
        assert_eq!(
            RequestBody::raw_for(Some(unwalked), "", "nodes").read_text(),
            Some(unwalked)
        );
        assert_eq!(
            RequestBody::raw_for(None, "", "nodes").read_text(),
            Some("")
        );
        let value = serde_json::json!({});
        assert_eq!(RequestBody::parsed(Some(&value)).read_text(), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// A body with its statuses written as `null` is read as the body itself is: the same
        /// object, or no body alike.
        #[test]
        fn a_nulled_status_reads_as_the_status_it_replaces(
            members in prop::collection::vec(
                (
                    prop_oneof![
                        Just("status"),
                        Just("metadata"),
                        Just("spec"),
                        Just("st\\u0061tus"),
                    ],
                    member_value(),
                    prop_oneof![Just(""), Just(" "), Just("\n ")],
                ),
                0..5,
            ),
            tail in prop_oneof![Just(""), Just(" "), Just(" x")],
        ) {
            let inner: Vec<String> = members
                .iter()
                .map(|(key, value, space)| format!(r#"{space}"{key}"{space}:{space}{value}"#))
                .collect();
            let text = format!("{{{}}}{tail}", inner.join(","));
            let nulled = status_nulled(&text);
            if let Some(nulled) = &nulled {
                prop_assert_eq!(without_status(nulled), without_status(&text));
            }
            let read = RequestBody::raw_for(Some(&text), "", "nodes");
            let whole = without_status(&text);
            prop_assert_eq!(read.get(), whole.as_ref());
        }
    }
}
