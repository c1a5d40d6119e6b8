//! `nodeauthz explain`: one request, every authorizer's answer, and the fix.
//!
//! A request comes either from one audit event or from a kubelet log's `Forbidden` line. For
//! each, the explanation shows what the Node authorizer, RBAC and NodeRestriction say under the
//! scenario, the graph path (or why there is none) and the final verdict; for refused requests
//! it also tries the configuration changes that would let a kubelet work, smallest first.

use crate::analyze::{decisions_of, node_name, Prepared, ScenarioFlags};
use crate::authz::chain::{ChainOutcome, Scenario, ScenarioError};
use crate::authz::goquote::go_quote;
use crate::authz::{Attributes, ClusterView};
use crate::cluster::RbacPolicy;
use crate::export::report::one_line;
use crate::record::{KubeletRequest, Micros};
use crate::verdict::{classify, Evidence};
use serde::Serialize;
use std::fmt::Write as _;

/// One authorizer's (or admission's) answer as `explain --format json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// `allow` / `no_opinion` for authorizers; `admit` / `deny` / `not_applicable` / `unknown`
    /// for NodeRestriction.
    pub decision: String,
    /// The reason string exactly as the apiserver would give it (empty when none).
    pub reason: String,
}

/// Everything `explain` says about one request under one scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The node of the `system:node:<name>` user; empty for other users.
    pub node: String,
    /// The request's attributes as the authorizers see them (recomputed from the URI).
    pub verb: String,
    /// Resource without subresource.
    pub resource: String,
    /// Subresource, or empty.
    pub subresource: String,
    /// Namespace, or empty at the cluster scope.
    pub namespace: String,
    /// Name (from the path, or a `metadata.name` field selector), or empty.
    pub name: String,
    /// The Node authorizer's answer.
    pub node_authorizer: Answer,
    /// NodeRestriction's answer.
    pub node_restriction: Answer,
    /// RBAC's answer.
    pub rbac: Answer,
    /// `allowed_by_node`, `relies_on_rbac`, `forbidden` or `indeterminate`.
    pub verdict: String,
    /// The reason that goes with the verdict (see `verdict::Classified::reason`).
    pub verdict_reason: String,
    /// Graph path from the object to the node, when one allowed the request.
    pub path: Vec<String>,
    /// `path`, `no_path`, `incomplete` or `not_consulted`.
    pub evidence: String,
    /// Why the graph may be incomplete, when it may.
    pub evidence_detail: Option<String>,
    /// The Status message the apiserver would return when refusing, if it refuses.
    pub forbidden_message: Option<String>,
}

/// Explains `attrs` at `at` under `scenario`. `request_object` is the logged body, if any.
pub fn explain_attributes(
    scenario: &Scenario,
    attrs: &Attributes,
    request_object: Option<&serde_json::Value>,
    cluster: &dyn ClusterView,
    at: Micros,
) -> Explanation {
    let outcome = scenario.evaluate(attrs, request_object, cluster, at);
    explanation_of(attrs, &outcome)
}

/// Explains one logged kubelet request under `scenario`.
pub fn explain_request(
    scenario: &Scenario,
    req: &KubeletRequest,
    cluster: &dyn ClusterView,
) -> Explanation {
    let p = Prepared::new(req);
    explain_attributes(scenario, &p.attrs, p.body.get(), cluster, p.at)
}

fn explanation_of(attrs: &Attributes, outcome: &ChainOutcome) -> Explanation {
    let d = decisions_of(outcome);
    let classified = classify(&d);
    Explanation {
        node: node_name(&attrs.username).to_string(),
        verb: attrs.verb.to_string(),
        resource: attrs.resource.to_string(),
        subresource: attrs.subresource.to_string(),
        namespace: attrs.namespace.to_string(),
        name: attrs.name.to_string(),
        node_authorizer: Answer {
            decision: d.node_authorizer.decision.as_str().to_string(),
            reason: d.node_authorizer.reason.clone(),
        },
        node_restriction: Answer {
            decision: d.node_restriction.decision.as_str().to_string(),
            reason: d.node_restriction.reason.clone(),
        },
        rbac: Answer {
            decision: d.rbac.decision.as_str().to_string(),
            reason: d.rbac.reason.clone(),
        },
        verdict: classified.verdict.as_str().to_string(),
        verdict_reason: classified.reason,
        path: d.evidence.path().to_vec(),
        evidence: d.evidence.kind().to_string(),
        evidence_detail: match &d.evidence {
            Evidence::Incomplete(why) => Some(why.clone()),
            _ => None,
        },
        forbidden_message: outcome
            .refusal
            .as_ref()
            .filter(|_| !classified.verdict.is_allowed())
            .map(|r| r.message.clone()),
    }
}

/// A configuration change that would make refused kubelet requests work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// What to change, as an operator would say it.
    pub change: String,
    /// The scenario label after the change.
    pub scenario: String,
    /// How many of the refused requests it allows.
    pub allows: usize,
    /// Of how many refused requests.
    pub of: usize,
    /// Why it is discouraged, if it is.
    pub discouraged: Option<String>,
}

/// Why the legacy binding is a bad fix: it is the over-broad access the Node authorizer removes.
pub const LEGACY_BINDING_WARNING: &str = "discouraged: binding ClusterRole system:node to Group system:nodes lets every node read every secret and config map in the cluster and modify every node and pod status; the Node authorizer exists to remove exactly that access";

/// The candidate changes, smallest and safest first: add the Node authorizer (keeping the other
/// modes), then the legacy ClusterRoleBinding.
pub fn candidate_fixes(base: &ScenarioFlags) -> Vec<(String, ScenarioFlags, Option<String>)> {
    let mut out = Vec::new();
    let modes: Vec<&str> = base
        .authorization_mode
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    if !modes.contains(&"Node") {
        let mut with_node = vec!["Node"];
        with_node.extend(modes.iter().copied());
        let flags = ScenarioFlags {
            authorization_mode: with_node.join(","),
            ..base.clone()
        };
        out.push((
            format!(
                "add Node to --authorization-mode (--authorization-mode={})",
                flags.authorization_mode
            ),
            flags,
            None,
        ));
    }
    if modes.contains(&"RBAC") && !base.legacy_binding {
        let flags = ScenarioFlags {
            legacy_binding: true,
            ..base.clone()
        };
        out.push((
            "bind ClusterRole system:node to Group system:nodes (the legacy ClusterRoleBinding)"
                .to_string(),
            flags,
            Some(LEGACY_BINDING_WARNING.to_string()),
        ));
    }
    out
}

/// Tries each candidate fix on the refused requests and reports how many each lets through
/// authorization (the refusals being fixed are authorization refusals; admission is shown per
/// request by [`explain_attributes`]).
pub fn suggest_fixes(
    base: &ScenarioFlags,
    policy: &RbacPolicy,
    refused: &[(Attributes, Micros)],
    cluster: &dyn ClusterView,
) -> Result<Vec<Fix>, ScenarioError> {
    let mut fixes = Vec::new();
    if refused.is_empty() {
        return Ok(fixes);
    }
    for (change, flags, discouraged) in candidate_fixes(base) {
        let scenario = flags.scenario(policy.clone())?;
        let allows = refused
            .iter()
            .filter(|(attrs, at)| scenario.authorized(attrs, cluster, *at))
            .count();
        fixes.push(Fix {
            change,
            scenario: flags.label(),
            allows,
            of: refused.len(),
            discouraged,
        });
    }
    Ok(fixes)
}

/// The human form of an explanation.
pub fn render_text(e: &Explanation) -> String {
    let mut s = String::new();
    let object = match (e.namespace.is_empty(), e.name.is_empty()) {
        (true, true) => String::new(),
        (true, false) => format!(" {}", e.name),
        (false, true) => format!(" in namespace {}", e.namespace),
        (false, false) => format!(" {}/{}", e.namespace, e.name),
    };
    let resource = if e.subresource.is_empty() {
        e.resource.clone()
    } else {
        format!("{}/{}", e.resource, e.subresource)
    };
    let mut line = |label: &str, value: String| {
        // Names and reasons come from logs: never let them drive the terminal.
        let _ = writeln!(s, "{label:<18}{}", one_line(&value));
    };
    line(
        "request:",
        format!(
            "node {} {} {}{}",
            go_quote(&e.node),
            e.verb,
            resource,
            object
        ),
    );
    line(
        "Node authorizer:",
        format!(
            "{}{}",
            e.node_authorizer.decision,
            reason_suffix(&e.node_authorizer.reason)
        ),
    );
    line(
        "RBAC:",
        format!("{}{}", e.rbac.decision, reason_suffix(&e.rbac.reason)),
    );
    line(
        "NodeRestriction:",
        format!(
            "{}{}",
            e.node_restriction.decision,
            reason_suffix(&e.node_restriction.reason)
        ),
    );
    match e.evidence.as_str() {
        "path" => line("graph:", e.path.join(" → ")),
        "no_path" => line("graph:", "no path to the node (graph complete)".to_string()),
        "incomplete" => line(
            "graph:",
            format!(
                "no path, but the graph may be incomplete: {}",
                e.evidence_detail.as_deref().unwrap_or("")
            ),
        ),
        _ => {}
    }
    line(
        "verdict:",
        format!("{}{}", e.verdict, reason_suffix(&e.verdict_reason)),
    );
    if let Some(m) = &e.forbidden_message {
        line("apiserver says:", m.clone());
    }
    s
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({})", reason.replace('\n', "; "))
    }
}
