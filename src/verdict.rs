//! From per-authorizer results to one verdict per kubelet request (design.md, "Verdicts").
//!
//! This module deliberately uses its own small decision enums rather than the authorizer
//! types: the glue that runs the chain maps its results into [`Decisions`], and everything
//! downstream (summary, Parquet, jsonl) depends only on the types here.

use crate::input::time::format_micros;
use crate::record::Micros;
use compact_str::CompactString;
use serde::Serialize;
use std::sync::Arc;

/// The verdict of one kubelet request under the target scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The Node authorizer allows it and NodeRestriction admits it (or does not apply).
    AllowedByNode,
    /// Only an RBAC binding allows it; the binding and role are named in the row.
    ReliesOnRbac,
    /// No authorizer allows it, or NodeRestriction refuses it.
    Forbidden,
    /// The answer depends on facts the inputs do not contain.
    Indeterminate,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 4] = [
        Verdict::AllowedByNode,
        Verdict::ReliesOnRbac,
        Verdict::Forbidden,
        Verdict::Indeterminate,
    ];

    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::AllowedByNode => "allowed_by_node",
            Verdict::ReliesOnRbac => "relies_on_rbac",
            Verdict::Forbidden => "forbidden",
            Verdict::Indeterminate => "indeterminate",
        }
    }

    /// Parses the snake_case name (as given to `--fail-on`).
    pub fn parse(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// True for the two verdicts under which the request goes through.
    pub fn is_allowed(self) -> bool {
        matches!(self, Verdict::AllowedByNode | Verdict::ReliesOnRbac)
    }
}

/// What the audit log recorded about the request's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recorded {
    /// Authorized, and not refused by admission (the handler may still have failed, e.g. 404).
    Allowed,
    /// Refused by authorization (`forbid`, an authorizer error) or by admission (403).
    Forbidden,
    /// The log tells neither the authorization decision nor a response implying one
    /// (e.g. only a `RequestReceived` event, or a 429 from priority and fairness, which
    /// runs before authorization).
    NoResponse,
}

impl Recorded {
    /// Every recorded outcome, in report order.
    pub const ALL: [Recorded; 3] = [Recorded::Allowed, Recorded::Forbidden, Recorded::NoResponse];

    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Recorded::Allowed => "allowed",
            Recorded::Forbidden => "forbidden",
            Recorded::NoResponse => "no_response",
        }
    }
}

/// How the target verdict differs from what was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Recorded allowed, forbidden under the target.
    WouldBreak,
    /// Recorded forbidden, allowed (by Node or RBAC) under the target.
    FixedByTarget,
    /// Everything else, including indeterminate verdicts and requests without a recorded outcome.
    Unchanged,
}

impl Change {
    /// Every change, in report order.
    pub const ALL: [Change; 3] = [Change::WouldBreak, Change::FixedByTarget, Change::Unchanged];

    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::WouldBreak => "would_break",
            Change::FixedByTarget => "fixed_by_target",
            Change::Unchanged => "unchanged",
        }
    }
}

/// The change rule of issue 4: only a definite flip between allowed and forbidden counts.
pub fn change(recorded: Recorded, verdict: Verdict) -> Change {
    match (recorded, verdict) {
        (Recorded::Allowed, Verdict::Forbidden) => Change::WouldBreak,
        (Recorded::Forbidden, Verdict::AllowedByNode | Verdict::ReliesOnRbac) => {
            Change::FixedByTarget
        }
        _ => Change::Unchanged,
    }
}

/// The `authorization.k8s.io/reason` value the apiserver writes when an authorizer errored
/// (spec section 2); the request was not allowed.
pub const INTERNAL_ERROR_REASON: &str = "internal error";

/// What the log recorded: the classified outcome plus the raw facts it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedOutcome {
    /// The classified outcome.
    pub decision: Recorded,
    /// Raw `authorization.k8s.io/decision` annotation (`allow` / `forbid`), if present.
    pub annotation: Option<CompactString>,
    /// Raw `authorization.k8s.io/reason` annotation, if present.
    pub reason: Option<CompactString>,
    /// `responseStatus.code`, if present.
    pub code: Option<i32>,
    /// True when authorization allowed but the response was 403: an admission refusal
    /// (NodeRestriction for node requests).
    pub by_admission: bool,
}

impl RecordedOutcome {
    /// The outcome of the recorded facts ([`RecordedOutcome::classify`]), with them.
    pub fn from_log(annotation: Option<&str>, reason: Option<&str>, code: Option<i32>) -> Self {
        Self::from_owned(annotation.map(Into::into), reason.map(Into::into), code)
    }

    /// [`RecordedOutcome::from_log`], keeping the strings it is given instead of copying them.
    pub fn from_owned(
        annotation: Option<CompactString>,
        reason: Option<CompactString>,
        code: Option<i32>,
    ) -> Self {
        let (decision, by_admission) =
            Self::classify(annotation.as_deref(), reason.as_deref(), code);
        RecordedOutcome {
            decision,
            annotation,
            reason,
            code,
            by_admission,
        }
    }

    /// Classifies the recorded facts (spec section 2) into the outcome and whether admission
    /// refused, without keeping them (counting needs only these):
    /// - `forbid` → forbidden;
    /// - `allow` + 403 → forbidden by admission (the authorization filter wrote `allow`, then
    ///   admission refused);
    /// - `allow` + any other or no code → allowed (the handler may have failed for other reasons);
    /// - no decision, reason `internal error` → forbidden (an authorizer error never allows);
    /// - no decision, 403 → forbidden; no decision, 401 (authentication) or 429 (priority and
    ///   fairness, which runs before authorization) → no response; no decision and any other
    ///   code → allowed (authorization runs before the handler that produced it); no code at
    ///   all → no response (only RequestReceived was logged).
    pub fn classify(
        annotation: Option<&str>,
        reason: Option<&str>,
        code: Option<i32>,
    ) -> (Recorded, bool) {
        let is_403 = code == Some(403);
        let before_authorization = matches!(code, Some(401 | 429));
        match annotation {
            Some("forbid") => (Recorded::Forbidden, false),
            Some("allow") if is_403 => (Recorded::Forbidden, true),
            Some("allow") => (Recorded::Allowed, false),
            _ if reason == Some(INTERNAL_ERROR_REASON) => (Recorded::Forbidden, false),
            _ if is_403 => (Recorded::Forbidden, false),
            _ if code.is_some() && !before_authorization => (Recorded::Allowed, false),
            _ => (Recorded::NoResponse, false),
        }
    }
}

/// An authorizer's decision. Neither the Node authorizer nor RBAC ever says deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthzDecision {
    /// The authorizer allows the request.
    Allow,
    /// The authorizer has no opinion (the chain goes on).
    NoOpinion,
}

impl AuthzDecision {
    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthzDecision::Allow => "allow",
            AuthzDecision::NoOpinion => "no_opinion",
        }
    }
}

/// NodeRestriction's decision on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdmissionDecision {
    /// Admitted.
    Admit,
    /// Refused; the reason is the Forbidden message.
    Deny,
    /// Not run: a read, a non-node user, the plugin disabled, or authorization did not allow.
    NotApplicable,
    /// The decision needs facts (e.g. the request body) that the log lacks; the reason says which.
    Unknown,
}

impl AdmissionDecision {
    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            AdmissionDecision::Admit => "admit",
            AdmissionDecision::Deny => "deny",
            AdmissionDecision::NotApplicable => "not_applicable",
            AdmissionDecision::Unknown => "unknown",
        }
    }
}

/// Bindings are identified the way the RBAC evaluator identifies them (one type for both).
pub use crate::authz::rbac::{BindingKind, BindingRef as BindingKey};

/// The Node authorizer's answer for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeAuthorizerResult {
    /// Allow or no opinion.
    pub decision: AuthzDecision,
    /// The reason string exactly as the authorizer returns it (empty on allow).
    pub reason: String,
}

/// NodeRestriction's answer for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeRestrictionResult {
    /// Admit, deny, not applicable or unknown.
    pub decision: AdmissionDecision,
    /// The Forbidden message on deny, what is missing on unknown, else empty.
    pub reason: String,
}

/// RBAC's answer for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RbacResult {
    /// Allow or no opinion.
    pub decision: AuthzDecision,
    /// `RBAC: allowed by …` on allow; empty (or the rule-resolution error text) otherwise.
    pub reason: String,
    /// The binding that allowed, on allow.
    pub binding: Option<BindingKey>,
    /// The role of that binding: `ClusterRole/<name>` or `Role/<namespace>/<name>`.
    pub role: Option<String>,
}

/// Where the graph search left the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// The decision did not involve the graph.
    NotConsulted,
    /// A path exists; vertices from the object to the node.
    Path(Vec<String>),
    /// No path, and the graph is complete for that node at that time.
    NoPath,
    /// No path, and the graph may be incomplete; says why.
    Incomplete(String),
}

impl Evidence {
    /// The snake_case kind stored in the `evidence` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Evidence::NotConsulted => "not_consulted",
            Evidence::Path(_) => "path",
            Evidence::NoPath => "no_path",
            Evidence::Incomplete(_) => "incomplete",
        }
    }

    /// The path vertices, empty unless a path was found.
    pub fn path(&self) -> &[String] {
        match self {
            Evidence::Path(p) => p,
            _ => &[],
        }
    }

    /// Why the graph may be incomplete, if it may.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Evidence::Incomplete(why) => Some(why),
            _ => None,
        }
    }
}

impl From<crate::authz::PathAnswer> for Evidence {
    fn from(a: crate::authz::PathAnswer) -> Self {
        match a {
            crate::authz::PathAnswer::Found(p) => Evidence::Path(p),
            crate::authz::PathAnswer::NoPath => Evidence::NoPath,
            crate::authz::PathAnswer::Incomplete(why) => Evidence::Incomplete(why),
        }
    }
}

/// Every per-authorizer result for one request under one scenario: the input of [`classify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decisions {
    /// The Node authorizer's answer (no opinion with an empty reason when Node is not in the chain).
    pub node_authorizer: NodeAuthorizerResult,
    /// NodeRestriction's answer.
    pub node_restriction: NodeRestrictionResult,
    /// RBAC's answer (no opinion with an empty reason when RBAC is not in the chain).
    pub rbac: RbacResult,
    /// The graph evidence behind the Node authorizer's answer.
    pub evidence: Evidence,
}

/// The verdict of one request and the reason that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The verdict.
    pub verdict: Verdict,
    /// Allowed by Node: empty (what the apiserver logs). Relies on RBAC: the RBAC allow reason,
    /// naming binding and role. Forbidden: the reason the apiserver would log (NodeRestriction's
    /// message, or the authorizers' reasons joined). Indeterminate: what is missing.
    pub reason: String,
}

/// Joins the non-empty reasons of the authorizers that had no opinion, in chain order, as the
/// apiserver's union authorizer does (spec section 2).
pub fn join_reasons<'a>(reasons: impl IntoIterator<Item = &'a str>) -> String {
    reasons
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Computes the verdict from the per-authorizer results (spec section 11):
/// 1. Node allows → allowed_by_node, unless NodeRestriction denies (forbidden, its message) or
///    cannot tell (indeterminate, what it misses).
/// 2. Node has no opinion and RBAC allows → relies_on_rbac with RBAC's reason, with the same
///    NodeRestriction exceptions.
/// 3. Nobody allows: indeterminate when the graph may be incomplete (the Node authorizer might
///    have allowed), else forbidden with the joined reasons.
pub fn classify(d: &Decisions) -> Classified {
    classify_facts(&DecisionFacts {
        node_allows: d.node_authorizer.decision == AuthzDecision::Allow,
        rbac_allows: d.rbac.decision == AuthzDecision::Allow,
        admission: d.node_restriction.decision,
        admission_reason: &d.node_restriction.reason,
        incomplete: match &d.evidence {
            Evidence::Incomplete(why) => Some(why),
            _ => None,
        },
        node_reason: &d.node_authorizer.reason,
        rbac_reason: &d.rbac.reason,
    })
}

/// What [`classify`] reads, borrowed: so that a verdict can be had from the authorizer chain's
/// own answer without building the owned per-authorizer results first.
#[derive(Debug, Clone, Copy)]
pub struct DecisionFacts<'a> {
    /// The Node authorizer allowed.
    pub node_allows: bool,
    /// RBAC allowed.
    pub rbac_allows: bool,
    /// NodeRestriction's decision.
    pub admission: AdmissionDecision,
    /// NodeRestriction's message or what it could not tell.
    pub admission_reason: &'a str,
    /// Why the graph may be incomplete, when the Node authorizer found no path in it.
    pub incomplete: Option<&'a str>,
    /// The Node authorizer's reason.
    pub node_reason: &'a str,
    /// RBAC's reason.
    pub rbac_reason: &'a str,
}

/// [`classify`] on borrowed facts.
pub fn classify_facts(f: &DecisionFacts<'_>) -> Classified {
    let judged = judge(f);
    Classified {
        verdict: judged.verdict,
        reason: judged.reason.joined(),
    }
}

/// A verdict with its reason still in the parts it is joined from, so that it can be compared
/// with a recorded reason without being built (see [`judge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged<'a> {
    /// The verdict.
    pub verdict: Verdict,
    /// Its reason, as [`Classified::reason`] would hold it once joined.
    pub reason: ReasonParts<'a>,
}

/// A reason as [`join_reasons`] builds it from (at most) two parts: the non-empty ones, joined
/// by a newline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasonParts<'a>([&'a str; 2]);

impl<'a> ReasonParts<'a> {
    /// A reason of one part.
    pub fn one(reason: &'a str) -> Self {
        ReasonParts([reason, ""])
    }

    /// A reason of two parts (either may be empty), as the union authorizer joins the reasons
    /// of the Node authorizer and RBAC.
    pub fn of(parts: [&'a str; 2]) -> Self {
        ReasonParts(parts)
    }

    /// The reason, built: [`join_reasons`] of the parts, in one allocation (collecting the
    /// parts first took a second one, and deciding a log builds a reason per request).
    pub fn joined(&self) -> String {
        match self.0 {
            [only, ""] | ["", only] => only.to_owned(),
            [first, second] => [first, "\n", second].concat(),
        }
    }

    /// Whether the reason, once built, would be `text`.
    pub fn is(&self, text: &str) -> bool {
        match self.0 {
            [only, ""] | ["", only] => text == only,
            [first, second] => {
                text.len() == first.len() + 1 + second.len()
                    && text.starts_with(first)
                    && text.as_bytes()[first.len()] == b'\n'
                    && text.ends_with(second)
            }
        }
    }
}

/// [`classify_facts`] without building the reason.
pub fn judge<'a>(f: &DecisionFacts<'a>) -> Judged<'a> {
    let verdict = |verdict, reason| Judged {
        verdict,
        reason: ReasonParts::one(reason),
    };
    if f.node_allows || f.rbac_allows {
        match f.admission {
            AdmissionDecision::Deny => return verdict(Verdict::Forbidden, f.admission_reason),
            AdmissionDecision::Unknown => {
                return verdict(Verdict::Indeterminate, f.admission_reason)
            }
            AdmissionDecision::Admit | AdmissionDecision::NotApplicable => {}
        }
        return if f.node_allows {
            verdict(Verdict::AllowedByNode, "")
        } else {
            verdict(Verdict::ReliesOnRbac, f.rbac_reason)
        };
    }
    if let Some(why) = f.incomplete {
        return verdict(Verdict::Indeterminate, why);
    }
    Judged {
        verdict: Verdict::Forbidden,
        reason: ReasonParts::of([f.node_reason, f.rbac_reason]),
    }
}

/// One row per kubelet request: identity, request attributes, what was recorded, what each
/// authorizer says under the target scenario, the verdict and where the row came from.
/// Column-by-column meaning: `docs/schema.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestVerdict {
    /// `auditID`.
    pub audit_id: CompactString,
    /// When the request was received (UTC µs since the epoch), if the log says.
    pub timestamp: Option<Micros>,
    /// Node name from the effective username (`system:node:<node>`); empty when not a node user.
    pub node: CompactString,
    /// Effective (impersonated, if any) username.
    pub username: CompactString,
    /// Effective user's groups, in recorded order.
    pub groups: Vec<CompactString>,
    /// `userAgent`.
    pub user_agent: CompactString,
    /// `sourceIPs`, in recorded order.
    pub source_ips: Vec<CompactString>,
    /// Request verb as the authorizer sees it (get, list, watch, create, update, patch, …).
    pub verb: CompactString,
    /// API group; empty for the core group.
    pub api_group: CompactString,
    /// Resource, without subresource; empty for non-resource requests.
    pub resource: CompactString,
    /// Subresource, or empty.
    pub subresource: CompactString,
    /// Namespace, or empty.
    pub namespace: CompactString,
    /// Object name, or empty.
    pub name: CompactString,
    /// `requestURI` as logged.
    pub request_uri: CompactString,
    /// What the log recorded.
    pub recorded: RecordedOutcome,
    /// The Node authorizer under the target.
    pub node_authorizer: NodeAuthorizerResult,
    /// NodeRestriction under the target.
    pub node_restriction: NodeRestrictionResult,
    /// RBAC under the target.
    pub rbac: RbacResult,
    /// The verdict under the target.
    pub verdict: Verdict,
    /// See [`Classified::reason`].
    pub verdict_reason: CompactString,
    /// [`change`] of recorded and verdict.
    pub change: Change,
    /// Graph evidence.
    pub evidence: Evidence,
    /// Input file the request was read from: one string shared by its rows (most paths are
    /// longer than a `CompactString` holds inline, and a copy per row was one more
    /// allocation, made on one thread and freed on another).
    pub source_file: Arc<str>,
    /// 1-based line in that file.
    pub source_line: u64,
}

impl RequestVerdict {
    /// The binding this request relied on: RBAC allowed it through that binding and the Node
    /// authorizer did not (whatever admission then said).
    pub fn relied_on_binding(&self) -> Option<&BindingKey> {
        self.rbac
            .binding
            .as_ref()
            .filter(|_| self.node_authorizer.decision != AuthzDecision::Allow)
    }

    /// `resource` or `resource/subresource`, as RBAC matches it.
    pub fn combined_resource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// The jsonl object: the fields of `explain --format json` plus audit_id, timestamp, recorded,
/// change, and the remaining row fields so that every Parquet column can be checked against it.
#[derive(Serialize)]
struct JsonRow<'a> {
    audit_id: &'a str,
    timestamp: Option<String>,
    node: &'a str,
    username: &'a str,
    groups: &'a [CompactString],
    user_agent: &'a str,
    source_ips: &'a [CompactString],
    verb: &'a str,
    api_group: &'a str,
    resource: &'a str,
    subresource: &'a str,
    namespace: &'a str,
    name: &'a str,
    request_uri: &'a str,
    recorded: &'a RecordedOutcome,
    node_authorizer: &'a NodeAuthorizerResult,
    node_restriction: &'a NodeRestrictionResult,
    rbac: &'a RbacResult,
    verdict: Verdict,
    verdict_reason: &'a str,
    change: Change,
    path: &'a [String],
    evidence: JsonEvidence<'a>,
    source: JsonSource<'a>,
}

#[derive(Serialize)]
struct JsonEvidence<'a> {
    kind: &'static str,
    detail: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonSource<'a> {
    file: &'a str,
    line: u64,
}

impl Serialize for RequestVerdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        JsonRow {
            audit_id: &self.audit_id,
            timestamp: self.timestamp.map(format_micros),
            node: &self.node,
            username: &self.username,
            groups: &self.groups,
            user_agent: &self.user_agent,
            source_ips: &self.source_ips,
            verb: &self.verb,
            api_group: &self.api_group,
            resource: &self.resource,
            subresource: &self.subresource,
            namespace: &self.namespace,
            name: &self.name,
            request_uri: &self.request_uri,
            recorded: &self.recorded,
            node_authorizer: &self.node_authorizer,
            node_restriction: &self.node_restriction,
            rbac: &self.rbac,
            verdict: self.verdict,
            verdict_reason: &self.verdict_reason,
            change: self.change,
            path: self.evidence.path(),
            evidence: JsonEvidence {
                kind: self.evidence.kind(),
                detail: self.evidence.detail(),
            },
            source: JsonSource {
                file: &self.source_file,
                line: self.source_line,
            },
        }
        .serialize(s)
    }
}

/// A `get` of the Node `node` by its kubelet that no authorizer had an opinion on, with the
/// given verdict and recorded outcome: a row for tests of what counts rows.
#[cfg(test)]
pub(crate) fn counted_row(
    node: &str,
    verdict: Verdict,
    recorded: RecordedOutcome,
) -> RequestVerdict {
    RequestVerdict {
        audit_id: CompactString::default(),
        timestamp: None,
        node: node.into(),
        username: compact_str::format_compact!("system:node:{node}"),
        groups: vec!["system:nodes".into()],
        user_agent: CompactString::default(),
        source_ips: Vec::new(),
        verb: "get".into(),
        api_group: CompactString::default(),
        resource: "nodes".into(),
        subresource: CompactString::default(),
        namespace: CompactString::default(),
        name: node.into(),
        request_uri: CompactString::default(),
        change: change(recorded.decision, verdict),
        recorded,
        node_authorizer: NodeAuthorizerResult {
            decision: AuthzDecision::NoOpinion,
            reason: String::new(),
        },
        node_restriction: NodeRestrictionResult {
            decision: AdmissionDecision::NotApplicable,
            reason: String::new(),
        },
        rbac: RbacResult {
            decision: AuthzDecision::NoOpinion,
            reason: String::new(),
            binding: None,
            role: None,
        },
        verdict,
        verdict_reason: CompactString::default(),
        evidence: Evidence::NotConsulted,
        source_file: Arc::from(""),
        source_line: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(decision: AuthzDecision, reason: &str) -> NodeAuthorizerResult {
        NodeAuthorizerResult {
            decision,
            reason: reason.to_owned(),
        }
    }

    fn restriction(decision: AdmissionDecision, reason: &str) -> NodeRestrictionResult {
        NodeRestrictionResult {
            decision,
            reason: reason.to_owned(),
        }
    }

    const LEGACY_ALLOW: &str = "RBAC: allowed by ClusterRoleBinding \"system:node\" of ClusterRole \"system:node\" to Group \"system:nodes\"";

    fn rbac_allow() -> RbacResult {
        RbacResult {
            decision: AuthzDecision::Allow,
            reason: LEGACY_ALLOW.to_owned(),
            binding: Some(BindingKey::cluster("system:node")),
            role: Some("ClusterRole/system:node".to_owned()),
        }
    }

    fn rbac_none() -> RbacResult {
        RbacResult {
            decision: AuthzDecision::NoOpinion,
            reason: String::new(),
            binding: None,
            role: None,
        }
    }

    #[test]
    fn classify_table() {
        use AdmissionDecision as A;
        use AuthzDecision::{Allow, NoOpinion};
        let no_rel = "no relationship found between node 'node1' and this object";
        let mirror = "pod does not have \"kubernetes.io/config.mirror\" annotation, node \"node1\" can only create mirror pods";
        let cases: Vec<(&str, Decisions, Verdict, &str)> = vec![
            (
                "node allows a read",
                Decisions {
                    node_authorizer: node(Allow, ""),
                    node_restriction: restriction(A::NotApplicable, ""),
                    rbac: rbac_none(),
                    evidence: Evidence::Path(vec![
                        "secret ns/db".into(),
                        "pod ns/web".into(),
                        "node node1".into(),
                    ]),
                },
                Verdict::AllowedByNode,
                "",
            ),
            (
                "node allows, NodeRestriction admits",
                Decisions {
                    node_authorizer: node(Allow, ""),
                    node_restriction: restriction(A::Admit, ""),
                    rbac: rbac_none(),
                    evidence: Evidence::NotConsulted,
                },
                Verdict::AllowedByNode,
                "",
            ),
            (
                "node no opinion, legacy binding allows",
                Decisions {
                    node_authorizer: node(NoOpinion, no_rel),
                    node_restriction: restriction(A::NotApplicable, ""),
                    rbac: rbac_allow(),
                    evidence: Evidence::NoPath,
                },
                Verdict::ReliesOnRbac,
                LEGACY_ALLOW,
            ),
            (
                "NodeRestriction refuses what Node allowed",
                Decisions {
                    node_authorizer: node(Allow, ""),
                    node_restriction: restriction(A::Deny, mirror),
                    rbac: rbac_none(),
                    evidence: Evidence::NotConsulted,
                },
                Verdict::Forbidden,
                mirror,
            ),
            (
                "NodeRestriction refuses what RBAC allowed",
                Decisions {
                    node_authorizer: node(NoOpinion, ""),
                    node_restriction: restriction(A::Deny, mirror),
                    rbac: rbac_allow(),
                    evidence: Evidence::NotConsulted,
                },
                Verdict::Forbidden,
                mirror,
            ),
            (
                "NodeRestriction lacks the body",
                Decisions {
                    node_authorizer: node(Allow, ""),
                    node_restriction: restriction(
                        A::Unknown,
                        "requestObject not logged (audit level Metadata)",
                    ),
                    rbac: rbac_none(),
                    evidence: Evidence::NotConsulted,
                },
                Verdict::Indeterminate,
                "requestObject not logged (audit level Metadata)",
            ),
            (
                "nobody allows, graph complete",
                Decisions {
                    node_authorizer: node(NoOpinion, no_rel),
                    node_restriction: restriction(A::NotApplicable, ""),
                    rbac: rbac_none(),
                    evidence: Evidence::NoPath,
                },
                Verdict::Forbidden,
                no_rel,
            ),
            (
                "nobody allows, graph incomplete",
                Decisions {
                    node_authorizer: node(NoOpinion, no_rel),
                    node_restriction: restriction(A::NotApplicable, ""),
                    rbac: rbac_none(),
                    evidence: Evidence::Incomplete(
                        "no dump and no logged pod for node node1 before 10:00".into(),
                    ),
                },
                Verdict::Indeterminate,
                "no dump and no logged pod for node node1 before 10:00",
            ),
            (
                "graph incomplete but RBAC allows",
                Decisions {
                    node_authorizer: node(NoOpinion, no_rel),
                    node_restriction: restriction(A::NotApplicable, ""),
                    rbac: rbac_allow(),
                    evidence: Evidence::Incomplete("x".into()),
                },
                Verdict::ReliesOnRbac,
                LEGACY_ALLOW,
            ),
            (
                "both reasons joined with a newline",
                Decisions {
                    node_authorizer: node(NoOpinion, "can only read resources of this type"),
                    node_restriction: restriction(A::NotApplicable, ""),
                    rbac: RbacResult {
                        reason: "RBAC: role not found".into(),
                        ..rbac_none()
                    },
                    evidence: Evidence::NotConsulted,
                },
                Verdict::Forbidden,
                "can only read resources of this type\nRBAC: role not found",
            ),
            (
                "empty reasons give an empty reason",
                Decisions {
                    node_authorizer: node(NoOpinion, ""),
                    node_restriction: restriction(A::NotApplicable, ""),
                    rbac: rbac_none(),
                    evidence: Evidence::NotConsulted,
                },
                Verdict::Forbidden,
                "",
            ),
        ];
        for (name, d, verdict, reason) in cases {
            let c = classify(&d);
            assert_eq!(c.verdict, verdict, "{name}");
            assert_eq!(c.reason, reason, "{name}");
        }
    }

    #[test]
    fn change_table() {
        use Change::*;
        use Verdict::*;
        let expected = [
            (Recorded::Allowed, AllowedByNode, Unchanged),
            (Recorded::Allowed, ReliesOnRbac, Unchanged),
            (Recorded::Allowed, Forbidden, WouldBreak),
            (Recorded::Allowed, Indeterminate, Unchanged),
            (Recorded::Forbidden, AllowedByNode, FixedByTarget),
            (Recorded::Forbidden, ReliesOnRbac, FixedByTarget),
            (Recorded::Forbidden, Forbidden, Unchanged),
            (Recorded::Forbidden, Indeterminate, Unchanged),
            (Recorded::NoResponse, AllowedByNode, Unchanged),
            (Recorded::NoResponse, ReliesOnRbac, Unchanged),
            (Recorded::NoResponse, Forbidden, Unchanged),
            (Recorded::NoResponse, Indeterminate, Unchanged),
        ];
        for (recorded, verdict, want) in expected {
            assert_eq!(change(recorded, verdict), want, "{recorded:?} {verdict:?}");
        }
    }

    #[test]
    fn recorded_outcome_table() {
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Option<i32>,
            Recorded,
            bool,
        );
        let cases: [Case; 13] = [
            (None, None, Some(404), Recorded::Allowed, false),
            (None, None, Some(401), Recorded::NoResponse, false),
            (None, None, None, Recorded::NoResponse, false),
            (Some("allow"), Some(""), Some(200), Recorded::Allowed, false),
            (Some("allow"), Some(""), Some(404), Recorded::Allowed, false),
            (Some("allow"), Some(""), None, Recorded::Allowed, false),
            // NodeRestriction refusal: authorization allowed, admission answered 403.
            (
                Some("allow"),
                Some(""),
                Some(403),
                Recorded::Forbidden,
                true,
            ),
            (
                Some("forbid"),
                Some("no relationship found between node 'n' and this object"),
                Some(403),
                Recorded::Forbidden,
                false,
            ),
            (Some("forbid"), None, None, Recorded::Forbidden, false),
            (
                None,
                Some("internal error"),
                Some(500),
                Recorded::Forbidden,
                false,
            ),
            (None, None, Some(403), Recorded::Forbidden, false),
            (None, None, Some(201), Recorded::Allowed, false),
            (None, None, Some(429), Recorded::NoResponse, false),
        ];
        for (annotation, reason, code, want, admission) in cases {
            let r = RecordedOutcome::from_log(annotation, reason, code);
            assert_eq!(r.decision, want, "{annotation:?} {reason:?} {code:?}");
            assert_eq!(r.by_admission, admission, "{annotation:?} {code:?}");
            assert_eq!(r.code, code);
            assert_eq!(r.annotation.as_deref(), annotation);
            assert_eq!(r.reason.as_deref(), reason);
            assert_eq!(
                RecordedOutcome::classify(annotation, reason, code),
                (want, admission)
            );
            let owned = RecordedOutcome::from_owned(
                annotation.map(Into::into),
                reason.map(Into::into),
                code,
            );
            assert_eq!(owned, r);
        }
        assert_eq!(
            RecordedOutcome::from_log(None, None, None).decision,
            Recorded::NoResponse
        );
    }

    #[test]
    fn names_parse_back() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_value(v).ok(),
                Some(serde_json::json!(v.as_str()))
            );
        }
        for c in Change::ALL {
            assert_eq!(
                serde_json::to_value(c).ok(),
                Some(serde_json::json!(c.as_str()))
            );
        }
        for r in Recorded::ALL {
            assert_eq!(
                serde_json::to_value(r).ok(),
                Some(serde_json::json!(r.as_str()))
            );
        }
        assert_eq!(Verdict::parse("would_break"), None);
        assert_eq!(
            BindingKey::cluster("system:node").to_string(),
            "ClusterRoleBinding/system:node"
        );
        assert_eq!(
            BindingKey::namespaced("kube-system", "b").to_string(),
            "RoleBinding/kube-system/b"
        );
        assert_eq!(
            BindingKey::cluster("system:node").describe(),
            "ClusterRoleBinding system:node"
        );
    }

    #[test]
    fn jsonl_object_has_the_explain_fields() {
        let row = RequestVerdict {
            audit_id: "a1".into(),
            timestamp: Some(1_793_614_272_345_678),
            node: "node1".into(),
            username: "system:node:node1".into(),
            groups: vec!["system:nodes".into(), "system:authenticated".into()],
            user_agent: "kubelet/v1.34.0".into(),
            source_ips: vec!["10.0.0.1".into()],
            verb: "get".into(),
            api_group: CompactString::default(),
            resource: "secrets".into(),
            subresource: CompactString::default(),
            namespace: "ns".into(),
            name: "db".into(),
            request_uri: "/api/v1/namespaces/ns/secrets/db".into(),
            recorded: RecordedOutcome::from_log(Some("allow"), Some(LEGACY_ALLOW), Some(200)),
            node_authorizer: node(AuthzDecision::Allow, ""),
            node_restriction: restriction(AdmissionDecision::NotApplicable, ""),
            rbac: rbac_none(),
            verdict: Verdict::AllowedByNode,
            verdict_reason: CompactString::default(),
            change: Change::Unchanged,
            evidence: Evidence::Path(vec![
                "secret ns/db".into(),
                "pod ns/web-1".into(),
                "node node1".into(),
            ]),
            source_file: "audit.log".into(),
            source_line: 7,
        };
        let v = serde_json::to_value(&row).unwrap_or_default();
        let expect = serde_json::json!({
            "audit_id": "a1",
            "timestamp": "2026-11-02T10:11:12.345678Z",
            "node": "node1",
            "username": "system:node:node1",
            "groups": ["system:nodes", "system:authenticated"],
            "user_agent": "kubelet/v1.34.0",
            "source_ips": ["10.0.0.1"],
            "verb": "get", "api_group": "", "resource": "secrets", "subresource": "",
            "namespace": "ns", "name": "db",
            "request_uri": "/api/v1/namespaces/ns/secrets/db",
            "recorded": {"decision": "allowed", "annotation": "allow", "reason": LEGACY_ALLOW, "code": 200, "by_admission": false},
            "node_authorizer": {"decision": "allow", "reason": ""},
            "node_restriction": {"decision": "not_applicable", "reason": ""},
            "rbac": {"decision": "no_opinion", "reason": "", "binding": null, "role": null},
            "verdict": "allowed_by_node",
            "verdict_reason": "",
            "change": "unchanged",
            "path": ["secret ns/db", "pod ns/web-1", "node node1"],
            "evidence": {"kind": "path", "detail": null},
            "source": {"file": "audit.log", "line": 7}
        });
        assert_eq!(v, expect);
    }

    /// `ReasonParts::is` says exactly whether the joined reason is the text, for parts empty
    /// or not, texts that are one part, both, both in the other order, with another separator,
    /// or cut short, and parts that hold newlines themselves.
    #[test]
    fn a_reason_in_parts_is_the_text_it_joins_to() {
        let parts = ["", "a", "ab", "a\nb", "b", "\n", "no path to secret"];
        let mut texts: Vec<String> = vec![String::new(), "\n\n".into(), "a b".into()];
        for p in parts {
            for q in parts {
                texts.push(join_reasons([p, q]));
                texts.push(format!("{p}\n{q}"));
                texts.push(format!("{p} {q}"));
                texts.push(format!("{p}{q}"));
            }
        }
        let mut compared = 0;
        for p in parts {
            for q in parts {
                let reason = ReasonParts([p, q]);
                assert_eq!(reason.joined(), join_reasons([p, q]), "{p:?} {q:?}");
                for t in &texts {
                    assert_eq!(reason.is(t), reason.joined() == *t, "{p:?} {q:?} {t:?}");
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 49 * (3 + 49 * 4));
        assert!(ReasonParts(["a", "b"]).is("a\nb"));
        assert!(!ReasonParts(["a", "b"]).is("b\na"));
        assert!(ReasonParts::one("x").is("x"));
        assert!(ReasonParts(["", ""]).is(""));
    }

    /// `classify_facts` as it was written before it was built on `judge`.
    fn classify_facts_as_written(f: &DecisionFacts<'_>) -> Classified {
        let verdict = |verdict, reason: &str| Classified {
            verdict,
            reason: reason.to_string(),
        };
        if f.node_allows || f.rbac_allows {
            match f.admission {
                AdmissionDecision::Deny => return verdict(Verdict::Forbidden, f.admission_reason),
                AdmissionDecision::Unknown => {
                    return verdict(Verdict::Indeterminate, f.admission_reason)
                }
                AdmissionDecision::Admit | AdmissionDecision::NotApplicable => {}
            }
            return if f.node_allows {
                verdict(Verdict::AllowedByNode, "")
            } else {
                verdict(Verdict::ReliesOnRbac, f.rbac_reason)
            };
        }
        if let Some(why) = f.incomplete {
            return verdict(Verdict::Indeterminate, why);
        }
        Classified {
            verdict: Verdict::Forbidden,
            reason: join_reasons([f.node_reason, f.rbac_reason]),
        }
    }

    /// `judge` gives the verdict `classify_facts` gave before it was built on `judge`, with a
    /// reason that joins to the same text and is that text.
    #[test]
    fn judged_is_classified_without_the_reason_built() {
        let admissions = [
            AdmissionDecision::Admit,
            AdmissionDecision::Deny,
            AdmissionDecision::Unknown,
            AdmissionDecision::NotApplicable,
        ];
        let mut judged = 0;
        for node_allows in [false, true] {
            for rbac_allows in [false, true] {
                for admission in admissions {
                    for incomplete in [None, Some("pod ns/p not seen")] {
                        for (node_reason, rbac_reason) in
                            [("", ""), ("no path", ""), ("", "rbac"), ("no path", "rbac")]
                        {
                            let facts = DecisionFacts {
                                node_allows,
                                rbac_allows,
                                admission,
                                admission_reason: "admission says",
                                incomplete,
                                node_reason,
                                rbac_reason,
                            };
                            let j = judge(&facts);
                            let c = classify_facts_as_written(&facts);
                            assert_eq!(classify_facts(&facts), c);
                            assert_eq!(
                                (j.verdict, j.reason.joined()),
                                (c.verdict, c.reason.clone())
                            );
                            assert!(j.reason.is(&c.reason));
                            judged += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(judged, 2 * 2 * 4 * 2 * 4);
        let forbidden = DecisionFacts {
            node_allows: false,
            rbac_allows: false,
            admission: AdmissionDecision::NotApplicable,
            admission_reason: "",
            incomplete: None,
            node_reason: "no relationship found between node 'n1' and this object",
            rbac_reason: "",
        };
        assert_eq!(
            judge(&forbidden),
            Judged {
                verdict: Verdict::Forbidden,
                reason: ReasonParts([
                    "no relationship found between node 'n1' and this object",
                    ""
                ]),
            }
        );
    }
}
