//! The records that flow from the scanner to the rest of the tool.
//!
//! The scanner parses audit lines into borrowed structs on the hot path; what survives the
//! pre-filter and deduplication leaves it in one of two kinds: [`KubeletRequest`] (one per
//! distinct kubelet request; encoded straight from its event as the spill file holds it,
//! [`crate::spill::EncodedRequest`], and decoded into this record where it is decided) and
//! [`ObjectEvent`] (an object change that can add or remove edges in the Node authorizer's
//! graph).
//!
//! All of a request's strings but its raw `requestObject` are [`CompactString`]s: on 64-bit
//! targets most of them (verb, group, resource, namespace, object names, groups, source IPs)
//! fit in its 24 bytes and need no allocation of their own, which matters because a request's
//! record is decoded on one thread and its row freed on another. Object events (creates,
//! updates, patches and deletes of graph resources) keep plain strings, which the graph's maps
//! are keyed by.

use compact_str::CompactString;
use serde::Serialize;

/// Microseconds since the Unix epoch, UTC. Audit timestamps have microsecond precision.
pub type Micros = i64;

/// Audit stages, in the order of preference used when one request has several events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Stage {
    /// Sent as soon as the request is received, before any handler ran.
    RequestReceived,
    /// Sent when response headers are written (long-running requests such as watch).
    ResponseStarted,
    /// The handler panicked.
    Panic,
    /// The response body was completed.
    ResponseComplete,
}

impl Stage {
    /// Parses the `stage` field of an audit event.
    pub fn parse(s: &str) -> Option<Stage> {
        Some(match s {
            "RequestReceived" => Stage::RequestReceived,
            "ResponseStarted" => Stage::ResponseStarted,
            "Panic" => Stage::Panic,
            "ResponseComplete" => Stage::ResponseComplete,
            _ => return None,
        })
    }

    /// How strongly a record of this stage is preferred when deduplicating by auditID:
    /// ResponseComplete, then Panic, then ResponseStarted, then RequestReceived.
    pub fn preference(self) -> u8 {
        match self {
            Stage::ResponseComplete => 3,
            Stage::Panic => 2,
            Stage::ResponseStarted => 1,
            Stage::RequestReceived => 0,
        }
    }

    /// The name the apiserver writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::RequestReceived => "RequestReceived",
            Stage::ResponseStarted => "ResponseStarted",
            Stage::Panic => "Panic",
            Stage::ResponseComplete => "ResponseComplete",
        }
    }
}

/// An authenticated (or impersonated) identity as the audit event records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    /// `user.username`.
    pub username: CompactString,
    /// `user.groups`, in recorded order.
    pub groups: Vec<CompactString>,
    /// `user.extra`, sorted by key.
    pub extra: Vec<(CompactString, Vec<CompactString>)>,
}

/// `objectRef` of an audit event. Empty strings stand for absent fields (the core group is
/// absent in the log and empty here, as the authorizer sees it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    pub api_group: CompactString,
    pub api_version: CompactString,
    pub resource: CompactString,
    pub subresource: CompactString,
    pub namespace: CompactString,
    pub name: CompactString,
}

/// One requirement of a parsed `fieldSelector` (`a=b`, `a==b` are `Equals`; `a!=b` is `NotEquals`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldRequirement {
    pub field: CompactString,
    pub equals: bool,
    pub value: CompactString,
}

/// A `requestURI` split the way the apiserver's request-info resolver splits it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequestUri {
    /// Percent-decoded path, without the query.
    pub path: CompactString,
    /// Raw (decoded) `fieldSelector`, if present.
    pub field_selector: Option<CompactString>,
    /// Raw (decoded) `labelSelector`, if present.
    pub label_selector: Option<CompactString>,
    /// `watch=true` or `watch=1`.
    pub watch: bool,
    pub resource_version: Option<CompactString>,
    pub limit: Option<u64>,
}

/// Which of the three signs made the scanner treat a request as a kubelet's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum KubeletMatch {
    /// `user.username` starts with `system:node:`.
    NodeUser,
    /// `impersonatedUser.username` starts with `system:node:`.
    ImpersonatedNode,
    /// Only the user agent starts with `kubelet/`.
    KubeletUserAgent,
}

/// Where a record came from: an index into the run's input list and a 1-based line number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SourcePos {
    pub file: u32,
    pub line: u64,
}

/// One distinct kubelet request (deduplicated by `auditID`), with everything later stages need.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KubeletRequest {
    pub audit_id: CompactString,
    /// Stage of the kept event (see [`Stage::preference`]).
    pub stage: Option<Stage>,
    /// Empty when decoded for deciding ([`crate::spill::Fields::ForDeciding`]), as are
    /// `object_ref`, `response_reason` and `response_message`.
    pub level: CompactString,
    pub request_received: Option<Micros>,
    pub stage_timestamp: Option<Micros>,
    pub verb: CompactString,
    pub request_uri: CompactString,
    pub uri: RequestUri,
    pub object_ref: Option<ObjectRef>,
    pub user: UserInfo,
    pub impersonated_user: Option<UserInfo>,
    pub source_ips: Vec<CompactString>,
    pub user_agent: CompactString,
    pub response_code: Option<i32>,
    pub response_reason: CompactString,
    pub response_message: CompactString,
    /// `authorization.k8s.io/decision` (`allow` / `forbid`), if recorded.
    pub decision: Option<CompactString>,
    /// `authorization.k8s.io/reason`, if recorded.
    pub reason: Option<CompactString>,
    /// Raw JSON of `requestObject`, kept only for mutating requests (NodeRestriction needs it).
    pub request_object: Option<String>,
    pub matched_by: Option<KubeletMatch>,
    pub pos: SourcePos,
}

impl KubeletRequest {
    /// The identity the authorizers see: the impersonated user when there is one.
    pub fn effective_user(&self) -> &UserInfo {
        self.impersonated_user.as_ref().unwrap_or(&self.user)
    }

    /// Best timestamp for the request: when it was received, else the stage time.
    pub fn time(&self) -> Option<Micros> {
        self.request_received.or(self.stage_timestamp)
    }
}

/// An object change seen in the audit stream that may change the Node authorizer's graph:
/// creates, updates, patches and deletes of pods (and `pods/binding`), PVCs, PVs,
/// VolumeAttachments, ResourceClaims, ResourceSlices and Nodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObjectEvent {
    pub time: Micros,
    pub verb: String,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub response_code: Option<i32>,
    /// Raw JSON of `requestObject`, when logged (level Request or RequestResponse).
    pub request_object: Option<String>,
    /// Raw JSON of `responseObject`, when logged (level RequestResponse).
    pub response_object: Option<String>,
    /// Who made the change (the effective user): a pod delete by its node is final, one by
    /// anybody else only starts graceful termination.
    pub username: String,
    /// The `requestURI`, for query options such as `gracePeriodSeconds`.
    pub request_uri: String,
    pub pos: SourcePos,
}
