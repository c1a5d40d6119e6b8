//! The main job: audit logs in, one verdict per kubelet request out.
//!
//! Puts the reader, the temporal graph and the authorizer chain together. The logs are read
//! once: the object events that shape the Node authorizer's graph are collected (a request at
//! time t may depend on a pod created before t, and on whether objects of the dump were created
//! or deleted later), and the kubelet requests are set aside in the spill file
//! ([`crate::spill`]). Once the graph is built, the requests are read back and streamed through
//! the decisions and the writers batch by batch, so memory is bounded by the graph and a few
//! batches, not by the size of the logs (stdin included).

use crate::authz::chain::{share_answers, ChainOutcome, Scenario, ScenarioError, SharedAnswers};
use crate::authz::node::{Decision, NodeDecision};
use crate::authz::rbac::{RbacDecision, RbacMatch};
use crate::authz::restriction::{Admission, RequestBody};
use crate::authz::{Attributes, ClusterView, Known, PathAnswer, PodFacts, VertexKind};
use crate::cluster::{bootstrap_policy, load_objects, merge_policy, ObjectSet, RbacPolicy};
use crate::compare::{CompareBuilder, Comparison};
use crate::export::html::timeline::{troubled_first, TimelineBuilder};
use crate::export::html::{FindingRow, HtmlReport, ScenarioColumn};
use crate::export::parquet::{PartitionBy, RequestWriter, WriterOptions};
use crate::export::summary::{RecordedFacts, Settled, Summary, SummaryBuilder};
use crate::findings::{node_rules_from, Findings, IdentitySightings};
use crate::free::free_where_built;
use crate::graph::intern::FxHashMap;
use crate::graph::{build_graph_with, Graph};
use crate::input::source::InputSpec;
use crate::input::uri::{request_attributes, request_attributes_taking};
use crate::inventory::{Inventory, InventoryBuilder};
use crate::ordered::work_in_order;
use crate::phases::PhaseTracker;
use crate::record::{KubeletRequest, Micros};
use crate::scan::{progress_bar, scan, shows_progress, ScanError, ScanOptions, ScanSummary};
use crate::spill::{SpillBatch, SpillError, SpillWriter};
use crate::verdict::{
    change, classify, judge, AdmissionDecision, AuthzDecision, DecisionFacts, Decisions, Evidence,
    NodeAuthorizerResult, NodeRestrictionResult, RbacResult, RecordedOutcome, RequestVerdict,
};
use compact_str::CompactString;
use rayon::prelude::*;
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// One apiserver configuration as given on the command line (see [`Scenario::from_flags`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioFlags {
    /// `--authorization-mode`, e.g. `Node,RBAC`.
    pub authorization_mode: String,
    /// `--enable-admission-plugins`.
    pub enable_admission_plugins: Vec<String>,
    /// `--disable-admission-plugins`.
    pub disable_admission_plugins: Vec<String>,
    /// `--kube-version`; the newest modelled release when absent.
    pub kube_version: Option<String>,
    /// `--feature-gates`, in the apiserver's syntax.
    pub feature_gates: Option<String>,
    /// `--drop-binding KIND/NAME`.
    pub drop_bindings: Vec<String>,
    /// Give Group `system:nodes` the ClusterRole `system:node` through the ClusterRoleBinding
    /// `system:node`, as clusters patched the pre-1.8 way do.
    pub legacy_binding: bool,
}

impl Default for ScenarioFlags {
    /// The target the tool exists to check: `Node,RBAC` with NodeRestriction, newest release.
    fn default() -> Self {
        ScenarioFlags {
            authorization_mode: "Node,RBAC".into(),
            enable_admission_plugins: vec!["NodeRestriction".into()],
            disable_admission_plugins: Vec::new(),
            kube_version: None,
            feature_gates: None,
            drop_bindings: Vec::new(),
            legacy_binding: false,
        }
    }
}

impl ScenarioFlags {
    /// Builds the scenario over `policy`.
    pub fn scenario(&self, mut policy: RbacPolicy) -> Result<Scenario, ScenarioError> {
        if self.legacy_binding {
            add_legacy_binding(&mut policy);
        }
        Scenario::from_flags(
            &self.authorization_mode,
            &self.enable_admission_plugins,
            &self.disable_admission_plugins,
            self.kube_version.as_deref(),
            self.feature_gates.as_deref(),
            policy,
            &self.drop_bindings,
        )
    }

    /// A short label for reports: the modes, plus what differs from the defaults.
    pub fn label(&self) -> String {
        let mut label = self.authorization_mode.clone();
        let restriction = self
            .enable_admission_plugins
            .iter()
            .any(|p| p.split(',').any(|p| p.trim() == "NodeRestriction"));
        if restriction {
            label.push_str(" +NodeRestriction");
        }
        if let Some(v) = &self.kube_version {
            label.push_str(&format!(" v{}", v.trim_start_matches('v')));
        }
        if self.legacy_binding {
            label.push_str(" +binding:system:node");
        }
        for d in &self.drop_bindings {
            label.push_str(&format!(" -{d}"));
        }
        label
    }

    /// Parses a `--compare` column: authorization modes, then optional modifiers, each starting
    /// with `+`, `-` or `@`: `+binding:system:node` (the legacy binding), `-binding:KIND/NAME`
    /// (drop a binding), `+NodeRestriction` / `-NodeRestriction`, `@1.19` (Kubernetes version).
    /// Anything not given is taken from `base`. Examples: `RBAC`, `RBAC+binding:system:node`,
    /// `Node,RBAC@1.19`.
    pub fn parse_column(spec: &str, base: &ScenarioFlags) -> Result<ScenarioFlags, String> {
        const MODIFIERS: [&str; 6] = [
            "+binding:",
            "+legacy-binding",
            "-binding:",
            "+NodeRestriction",
            "-NodeRestriction",
            "@",
        ];
        // Modifiers start only at these tokens, so binding names may hold `-` and `+`.
        let starts: Vec<usize> = (0..spec.len())
            .filter(|&i| {
                spec.is_char_boundary(i) && MODIFIERS.iter().any(|m| spec[i..].starts_with(m))
            })
            .collect();
        let modes_end = starts.first().copied().unwrap_or(spec.len());
        let modes = spec[..modes_end].trim();
        if modes.is_empty() {
            return Err(format!("--compare {spec:?}: no authorization modes"));
        }
        let mut flags = ScenarioFlags {
            authorization_mode: modes.to_string(),
            legacy_binding: false,
            ..base.clone()
        };
        let ends = starts.iter().skip(1).copied().chain([spec.len()]);
        for (start, end) in starts.iter().copied().zip(ends) {
            let modifier = spec[start..end].trim();
            if modifier == "+binding:system:node" || modifier == "+legacy-binding" {
                flags.legacy_binding = true;
            } else if let Some(binding) = modifier.strip_prefix("-binding:") {
                flags.drop_bindings.push(binding.to_string());
            } else if modifier == "+NodeRestriction" {
                flags
                    .disable_admission_plugins
                    .retain(|p| p != "NodeRestriction");
                flags
                    .enable_admission_plugins
                    .push("NodeRestriction".into());
            } else if modifier == "-NodeRestriction" {
                flags
                    .enable_admission_plugins
                    .retain(|p| p != "NodeRestriction");
            } else if let Some(version) = modifier.strip_prefix('@').filter(|v| !v.is_empty()) {
                flags.kube_version = Some(version.to_string());
            } else {
                return Err(format!(
                    "--compare {spec:?}: unknown modifier {modifier:?} (expected +binding:system:node, -binding:KIND/NAME, +NodeRestriction, -NodeRestriction or @VERSION)"
                ));
            }
        }
        Ok(flags)
    }
}

/// Adds subject Group `system:nodes` to the ClusterRoleBinding `system:node` (creating the
/// binding if the policy has none), which is what the pre-1.8 fix for NotReady nodes does.
pub fn add_legacy_binding(policy: &mut RbacPolicy) {
    use crate::cluster::rbac_types::{Binding, Meta, RoleRef, Subject};
    let subject = Subject {
        kind: "Group".into(),
        api_group: "rbac.authorization.k8s.io".into(),
        name: crate::authz::node::NODES_GROUP.into(),
        namespace: String::new(),
    };
    match policy
        .cluster_role_bindings
        .iter_mut()
        .find(|b| b.metadata.name == "system:node")
    {
        Some(b) => {
            if !b.subjects.contains(&subject) {
                b.subjects.push(subject);
            }
        }
        None => policy.cluster_role_bindings.push(Binding {
            kind: "ClusterRoleBinding".into(),
            metadata: Meta {
                name: "system:node".into(),
                ..Meta::default()
            },
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: "system:node".into(),
            },
            subjects: vec![subject],
        }),
    }
}

/// Which kubelet requests to analyse.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only these nodes (empty: all).
    pub nodes: Vec<String>,
    /// Only requests at or after this instant.
    pub since: Option<Micros>,
    /// Only requests before this instant.
    pub until: Option<Micros>,
}

impl RequestFilter {
    fn keeps(&self, req: &KubeletRequest, node: &str) -> bool {
        if !self.nodes.is_empty() && !self.nodes.iter().any(|n| n == node) {
            return false;
        }
        let t = req.time();
        if let (Some(since), Some(t)) = (self.since, t) {
            if t < since {
                return false;
            }
        }
        if let (Some(until), Some(t)) = (self.until, t) {
            if t >= until {
                return false;
            }
        }
        true
    }
}

/// Everything `analyze` needs besides the sinks.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeOptions {
    /// Audit logs: files, directories, `.gz`, or stdin.
    pub inputs: Vec<InputSpec>,
    /// `--objects`: cluster dumps.
    pub objects: Vec<PathBuf>,
    /// Leave out the built-in bootstrap RBAC policy.
    pub no_bootstrap_policy: bool,
    /// How the logs are read (threads, strictness, pre-filter).
    pub scan: ScanOptions,
    /// The target scenario.
    pub target: ScenarioFlags,
    /// The configuration the logs were recorded under, if known (`--recorded-authorization-mode`);
    /// inferred from the recorded reasons when absent.
    pub recorded: Option<ScenarioFlags>,
    /// Which kubelet requests get verdicts (`--node`, `--since`, `--until`).
    pub filter: RequestFilter,
    /// `--out DIR`: write `requests.parquet` (or a partitioned directory) and the rest there.
    pub out: Option<PathBuf>,
    /// `--partition-by`: hive-style `requests/` directory instead of one file.
    pub partition_by: Option<PartitionBy>,
    /// `--compare`: more scenarios to count verdicts under, side by side.
    pub compare: Vec<(String, ScenarioFlags)>,
    /// `--spill-dir`: where kubelet requests wait for the graph ([`crate::spill`]); the
    /// system's temporary directory when `None`.
    pub spill_dir: Option<PathBuf>,
}

/// The result of a run.
#[derive(Debug)]
pub struct Analysis {
    /// What the reading pass counted (lines, events, bad lines by kind).
    pub scan: ScanSummary,
    /// What the logs hold and what the apiserver recorded, before any model (issue 2's report).
    pub inventory: Inventory,
    /// Verdict totals, per node, top reasons, agreement, readiness, compare columns.
    pub summary: Summary,
    /// Static findings, with the requests that used each binding.
    pub findings: Findings,
    /// Load problems of `--objects` files and unreadable logged object bodies, as text.
    pub problems: Vec<String>,
}

/// Why `analyze` stopped.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error("scenario: {0}")]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
    #[error(transparent)]
    Spill(#[from] SpillError),
}

/// The RBAC policy of a run: the cluster's objects over the built-in bootstrap policy.
pub fn effective_policy(objects: &ObjectSet, no_bootstrap: bool) -> RbacPolicy {
    if no_bootstrap {
        objects.rbac.clone()
    } else {
        merge_policy(&bootstrap_policy(false), &objects.rbac)
    }
}

/// A kubelet request made ready for the authorizers once (attributes from its URI, its logged
/// body parsed when a check first reads it), then decided under as many scenarios as asked.
pub struct Prepared<'r> {
    /// The request as logged, but for its path and its effective user's name and groups,
    /// which may have moved into `attrs` (see [`Prepared::taking`]).
    pub req: &'r KubeletRequest,
    /// What the authorizers see (the effective, impersonated user).
    pub attrs: Attributes,
    /// The logged `requestObject`, for NodeRestriction (parsed if a check reads it).
    pub body: RequestBody<'r>,
    /// The instant the graph is asked about.
    pub at: Micros,
}

impl<'r> Prepared<'r> {
    /// Recomputes the request's attributes; the body is parsed when a check first reads it.
    pub fn new(req: &'r KubeletRequest) -> Self {
        let attrs = request_attributes(&req.verb, &req.uri, req.effective_user());
        Self::with(req, attrs)
    }

    /// [`Prepared::new`], with the request's path and its effective user's name and groups
    /// moved into the attributes (the request keeps them empty): for a request whose row is
    /// built from the attributes, where the copies were made only to free the originals.
    pub fn taking(req: &'r mut KubeletRequest) -> Self {
        // `effective_user`, by hand: a method would hold all of `req` where the verb is read.
        let user = match &mut req.impersonated_user {
            Some(impersonated) => impersonated,
            None => &mut req.user,
        };
        let attrs = request_attributes_taking(&req.verb, &mut req.uri, user);
        Self::with(req, attrs)
    }

    fn with(req: &'r KubeletRequest, attrs: Attributes) -> Self {
        Prepared {
            req,
            body: RequestBody::raw_for(
                req.request_object.as_deref(),
                &attrs.api_group,
                &attrs.resource,
            ),
            attrs,
            at: req.time().unwrap_or(0),
        }
    }

    /// The chain's answer under `scenario` (without the client-facing refusal).
    pub fn outcome(&self, scenario: &Scenario, cluster: &dyn ClusterView) -> ChainOutcome {
        scenario.decide(&self.attrs, &self.body, cluster, self.at)
    }

    /// [`Prepared::outcome`] under each of `scenarios`, each distinct authorizer asked once
    /// ([`share_answers`]); `shared` is emptied first, and may be reused for the next request.
    pub fn outcomes(
        &self,
        scenarios: &[Scenario],
        cluster: &dyn ClusterView,
        shared: &mut SharedAnswers,
    ) -> Vec<ChainOutcome> {
        shared.clear();
        let outcomes = scenarios
            .iter()
            .map(|s| s.decide_with(&self.attrs, &self.body, cluster, self.at, shared))
            .collect();
        // Let go of the answers, so that the last row built from them can take them out of
        // their Arcs instead of copying them (unless the memo of a deciding worker keeps
        // them, see `OutcomeMemo`).
        shared.clear();
        outcomes
    }

    /// The row of this request for one scenario's decisions.
    pub fn row(&self, decisions: Decisions, source_file: &Arc<str>) -> RequestVerdict {
        verdict_row(
            RowParts::cloned(self.req, &self.attrs),
            decisions,
            source_file,
        )
    }
}

/// The parts of a row taken from the request and its attributes: cloned when the request is
/// decided under more scenarios, moved for the last row built from it (deciding a log builds
/// a dozen strings per row, and cloning them only to free the originals was a fifth of it).
struct RowParts {
    audit_id: CompactString,
    timestamp: Option<Micros>,
    username: CompactString,
    groups: Vec<CompactString>,
    user_agent: CompactString,
    source_ips: Vec<CompactString>,
    verb: CompactString,
    api_group: CompactString,
    resource: CompactString,
    subresource: CompactString,
    namespace: CompactString,
    name: CompactString,
    request_uri: CompactString,
    recorded: RecordedOutcome,
    source_line: u64,
}

impl RowParts {
    /// Copies the parts (for rows under more scenarios than the last).
    fn cloned(req: &KubeletRequest, attrs: &Attributes) -> Self {
        Self::moved(req.clone(), attrs.clone())
    }

    /// Takes the parts out of the request and its attributes. The attributes' user is the
    /// request's effective user (see [`request_attributes`]), so the identity comes from them.
    fn moved(req: KubeletRequest, attrs: Attributes) -> Self {
        let timestamp = req.time();
        let recorded = RecordedOutcome::from_owned(req.decision, req.reason, req.response_code);
        RowParts {
            audit_id: req.audit_id,
            timestamp,
            username: attrs.username,
            groups: attrs.groups,
            user_agent: req.user_agent,
            source_ips: req.source_ips,
            verb: attrs.verb,
            api_group: attrs.api_group,
            resource: attrs.resource,
            subresource: attrs.subresource,
            namespace: attrs.namespace,
            name: attrs.name,
            request_uri: req.request_uri,
            recorded,
            source_line: req.pos.line,
        }
    }
}

/// Maps the chain's outcome onto the per-authorizer results a row stores.
pub fn decisions_of(outcome: &ChainOutcome) -> Decisions {
    decisions_with(
        outcome.node.clone(),
        outcome.rbac.clone(),
        &outcome.admission,
    )
}

/// [`decisions_of`], taking the outcome's strings instead of copying them where no other
/// outcome shares them.
pub fn decisions_from(outcome: ChainOutcome) -> Decisions {
    decisions_with(outcome.node, outcome.rbac, &outcome.admission)
}

/// The results a row stores, from the parts of an outcome they are made of: the answers are
/// taken out of their Arcs where nothing else holds them, and copied otherwise.
fn decisions_with(
    node: Option<Arc<NodeDecision>>,
    rbac: Option<Arc<RbacDecision>>,
    admission: &Admission,
) -> Decisions {
    let (node_authorizer, evidence) = match node.map(Arc::unwrap_or_clone) {
        Some(n) => {
            let evidence = match (n.path, n.indeterminate) {
                (Some(path), _) => Evidence::Path(path),
                (None, Some(why)) => Evidence::Incomplete(why),
                (None, None) if n.searched_graph => Evidence::NoPath,
                (None, None) => Evidence::NotConsulted,
            };
            let decision = match n.decision {
                Decision::Allow => AuthzDecision::Allow,
                Decision::NoOpinion => AuthzDecision::NoOpinion,
            };
            let reason = n.reason.into_owned();
            (NodeAuthorizerResult { decision, reason }, evidence)
        }
        None => (
            NodeAuthorizerResult {
                decision: AuthzDecision::NoOpinion,
                reason: String::new(),
            },
            Evidence::NotConsulted,
        ),
    };
    let rbac = match rbac.map(Arc::unwrap_or_clone) {
        Some(r) => RbacResult {
            decision: if r.allowed {
                AuthzDecision::Allow
            } else {
                AuthzDecision::NoOpinion
            },
            binding: r.matched.as_deref().map(RbacMatch::binding),
            role: r.matched.as_ref().map(|m| {
                if m.role_kind == "Role" {
                    format!("Role/{}/{}", m.binding_namespace, m.role_name)
                } else {
                    format!("ClusterRole/{}", m.role_name)
                }
            }),
            reason: r.reason,
        },
        None => RbacResult {
            decision: AuthzDecision::NoOpinion,
            reason: String::new(),
            binding: None,
            role: None,
        },
    };
    let node_restriction = NodeRestrictionResult {
        decision: admission_decision(admission),
        reason: admission.reason().to_string(),
    };
    Decisions {
        node_authorizer,
        node_restriction,
        rbac,
        evidence,
    }
}

/// What [`classify`] reads, from the chain's answer as [`decisions_of`] maps it.
pub fn facts_of(outcome: &ChainOutcome) -> DecisionFacts<'_> {
    let node = outcome.node.as_ref();
    let rbac = outcome.rbac.as_ref();
    DecisionFacts {
        node_allows: node.is_some_and(|n| n.decision == Decision::Allow),
        rbac_allows: rbac.is_some_and(|r| r.allowed),
        admission: admission_decision(&outcome.admission),
        admission_reason: outcome.admission.reason(),
        incomplete: match outcome.path() {
            Some(_) => None,
            None => node.and_then(|n| n.indeterminate.as_deref()),
        },
        node_reason: node.map_or("", |n| &n.reason),
        rbac_reason: rbac.map_or("", |r| &r.reason),
    }
}

fn admission_decision(admission: &Admission) -> AdmissionDecision {
    match admission {
        Admission::Admit => AdmissionDecision::Admit,
        Admission::Deny { .. } => AdmissionDecision::Deny,
        Admission::NotApplicable => AdmissionDecision::NotApplicable,
        Admission::Unknown(_) => AdmissionDecision::Unknown,
    }
}

/// Builds the row of one request from its parts and one scenario's decisions.
fn verdict_row(parts: RowParts, decisions: Decisions, source_file: &Arc<str>) -> RequestVerdict {
    let classified = classify(&decisions);
    RequestVerdict {
        audit_id: parts.audit_id,
        timestamp: parts.timestamp,
        node: node_name(&parts.username).into(),
        username: parts.username,
        groups: parts.groups,
        user_agent: parts.user_agent,
        source_ips: parts.source_ips,
        verb: parts.verb,
        api_group: parts.api_group,
        resource: parts.resource,
        subresource: parts.subresource,
        namespace: parts.namespace,
        name: parts.name,
        request_uri: parts.request_uri,
        change: change(parts.recorded.decision, classified.verdict),
        recorded: parts.recorded,
        node_authorizer: decisions.node_authorizer,
        node_restriction: decisions.node_restriction,
        rbac: decisions.rbac,
        verdict: classified.verdict,
        verdict_reason: classified.reason.into(),
        evidence: decisions.evidence,
        source_file: Arc::clone(source_file),
        source_line: parts.source_line,
    }
}

/// The node name of a `system:node:<name>` user, or empty.
pub fn node_name(username: &str) -> &str {
    username
        .strip_prefix(crate::authz::node::NODE_USER_PREFIX)
        .unwrap_or("")
}

/// The configurations a log may have been recorded under: RBAC alone or after the Node
/// authorizer, each with and without the legacy `system:node` binding; release, gates and
/// admission plugins as in `target`.
pub fn recorded_candidates(target: &ScenarioFlags) -> Vec<ScenarioFlags> {
    let mut out = Vec::new();
    for modes in ["RBAC", "Node,RBAC"] {
        for legacy_binding in [false, true] {
            out.push(ScenarioFlags {
                authorization_mode: modes.to_string(),
                legacy_binding,
                drop_bindings: Vec::new(),
                ..target.clone()
            });
        }
    }
    out
}

/// The distinct configurations of one run, in order of first mention.
#[derive(Default)]
struct Configurations {
    flags: Vec<ScenarioFlags>,
}

impl Configurations {
    /// The index of `f`, added if new.
    fn index(&mut self, f: &ScenarioFlags) -> usize {
        self.flags.iter().position(|x| x == f).unwrap_or_else(|| {
            self.flags.push(f.clone());
            self.flags.len() - 1
        })
    }
}

/// Each deciding worker's [`WorkerState`] (its answers, its memo and its inventory), kept
/// from one batch to the next. rayon makes `map_init`'s value afresh for every job (a few
/// hundred requests), and with it went the cluster bindings found for each user: on the 1 GB
/// benchmark log they were found 172 thousand times for 243 thousand requests of 150 nodes.
struct WorkerAnswers {
    slots: Vec<Mutex<WorkerState>>,
    /// What the fresh states lent when a slot was not free counted (see [`LentAnswers`]).
    unkept: Mutex<InventoryBuilder>,
}

/// What a deciding worker keeps from one request to the next.
#[derive(Default)]
struct WorkerState {
    /// The scenarios' answers for the request at hand, and each user's cluster bindings.
    answers: SharedAnswers,
    /// Whole outcomes of requests decided without the cluster, by their attributes (and the
    /// text of their body, where it was read).
    outcomes: OutcomeMemo,
    /// The requests this worker read back, counted.
    inventory: InventoryBuilder,
}

/// A worker's [`WorkerState`] for one job, or a fresh one when it has none of its own (boxed:
/// the memo made the state large, and a kept one is the usual case). A fresh state's counts
/// go to its lender's `unkept` when it is dropped.
enum LentAnswers<'a> {
    Kept(MutexGuard<'a, WorkerState>),
    Fresh(Box<WorkerState>, &'a WorkerAnswers),
}

impl Drop for LentAnswers<'_> {
    fn drop(&mut self) {
        if let LentAnswers::Fresh(state, lender) = self {
            let counted = std::mem::take(&mut state.inventory);
            lender
                .unkept
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .merge(counted);
        }
    }
}

/// The outcomes under every scenario of requests that no scenario decided by asking the
/// cluster, by their attributes, and by the text of their body when a scenario read it.
/// Nothing else goes into an outcome (the instant `at` only goes to the cluster), so a
/// request with equal attributes has equal outcomes, whatever its time, and whatever its body
/// unless the body was read. A kubelet renews its lease and reads its Node every few seconds:
/// on the 1 GB benchmark log, 40% of the kubelet requests are such repeats. Its Node's status
/// patches are admitted by their metadata and spec, nearly always absent: with the status
/// left out ([`RequestBody::read_text`]), the patches of one Node have one text.
/// A memo holds the outcomes of one list of scenarios, in order: asked with another, it starts
/// again.
#[derive(Default)]
struct OutcomeMemo {
    by_attributes: FxHashMap<Attributes, Remembered>,
    /// The outcomes last found, to be kept at the next call: a repeat is lent from the map,
    /// not copied, and the map cannot take more while it lends.
    fresh: Option<(Attributes, Remembered)>,
    /// The address and length of the list of scenarios it holds outcomes of (as numbers, so
    /// that the memo can move between threads).
    scenarios: (usize, usize),
}

/// The distinct attributes one worker keeps outcomes for at most (and one more, still to be
/// kept): the lease and the Node that each of two thousand nodes reads over and over. Past it
/// the memo is emptied and filled again, and with the requests of more nodes than that in
/// turn, it is seldom of use.
const MEMO_REQUESTS: usize = 1 << 12;

/// The longest body text a memo keeps outcomes by: a Node's patch with its status left out
/// is a few dozen bytes, and larger bodies seldom repeat.
const MEMO_BODY_BYTES: usize = 1 << 10;

/// A request's outcomes under every scenario, and what they were decided from besides its
/// attributes.
struct Remembered {
    outcomes: Vec<ChainOutcome>,
    /// The text of the body, when a scenario read it ([`RequestBody::read_text`]).
    body: Option<Box<str>>,
}

impl Remembered {
    /// Whether these are the outcomes of `prepared`, whose attributes are those they were
    /// kept by.
    fn hold_for(&self, prepared: &Prepared<'_>) -> bool {
        self.body
            .as_deref()
            .is_none_or(|read| prepared.body.read_text() == Some(read))
    }
}

impl OutcomeMemo {
    /// How many attributes it holds outcomes for, the one still to be kept included.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.by_attributes.len() + usize::from(self.fresh.is_some())
    }

    /// [`Prepared::outcomes`], lent by the memo when the request's attributes are in it (with
    /// the same body text, if the body was read), and kept there when the scenarios decided
    /// them without the cluster.
    fn outcomes(
        &mut self,
        prepared: &Prepared<'_>,
        scenarios: &[Scenario],
        cluster: &dyn ClusterView,
        shared: &mut SharedAnswers,
    ) -> Cow<'_, [ChainOutcome]> {
        let asked_of = (scenarios.as_ptr() as usize, scenarios.len());
        if self.scenarios != asked_of {
            self.by_attributes.clear();
            self.fresh = None;
            self.scenarios = asked_of;
        }
        if let Some((attrs, outcomes)) = self.fresh.take() {
            if self.by_attributes.len() >= MEMO_REQUESTS {
                self.by_attributes.clear();
            }
            self.by_attributes.insert(attrs, outcomes);
        }
        if let Some(known) = self.by_attributes.get(&prepared.attrs) {
            if known.hold_for(prepared) {
                debug_assert_eq!(
                    known.outcomes,
                    prepared.outcomes(scenarios, cluster, shared)
                );
                return Cow::Borrowed(&known.outcomes);
            }
        }
        let watched = Watched::new(cluster);
        let outcomes = prepared.outcomes(scenarios, &watched, shared);
        // What to keep the outcomes by besides the attributes: no body, or the text read;
        // `None` when they cannot be kept (a body given parsed, or a text too long).
        let body = match prepared.body.was_read() {
            false => Some(None),
            true => prepared
                .body
                .read_text()
                .filter(|read| read.len() <= MEMO_BODY_BYTES)
                .map(|read| Some(Box::from(read))),
        };
        if let (false, Some(body)) = (watched.asked.get(), body) {
            let remembered = Remembered {
                outcomes: outcomes.clone(),
                body,
            };
            self.fresh = Some((prepared.attrs.clone(), remembered));
        }
        Cow::Owned(outcomes)
    }
}

/// A [`ClusterView`] that notes whether it was asked anything.
struct Watched<'c> {
    cluster: &'c dyn ClusterView,
    asked: Cell<bool>,
}

impl<'c> Watched<'c> {
    fn new(cluster: &'c dyn ClusterView) -> Self {
        Watched {
            cluster,
            asked: Cell::new(false),
        }
    }
}

impl ClusterView for Watched<'_> {
    fn path(
        &self,
        kind: VertexKind,
        namespace: &str,
        name: &str,
        node: &str,
        at: Micros,
    ) -> PathAnswer {
        self.asked.set(true);
        self.cluster.path(kind, namespace, name, node, at)
    }

    fn pod(&self, namespace: &str, name: &str, at: Micros) -> Known<PodFacts> {
        self.asked.set(true);
        self.cluster.pod(namespace, name, at)
    }

    fn node_uid(&self, name: &str, at: Micros) -> Known<String> {
        self.asked.set(true);
        self.cluster.node_uid(name, at)
    }

    fn resource_slice_node(&self, name: &str, at: Micros) -> Known<String> {
        self.asked.set(true);
        self.cluster.resource_slice_node(name, at)
    }
}

impl WorkerAnswers {
    fn new(threads: usize) -> Self {
        WorkerAnswers {
            slots: (0..threads).map(|_| Mutex::default()).collect(),
            unkept: Mutex::default(),
        }
    }

    /// Every request the workers counted.
    fn inventory(self) -> InventoryBuilder {
        let mut all = self.unkept.into_inner().unwrap_or_else(|p| p.into_inner());
        for slot in self.slots {
            all.merge(
                slot.into_inner()
                    .unwrap_or_else(|p| p.into_inner())
                    .inventory,
            );
        }
        all
    }

    /// The state kept for the pool thread `thread`. A thread runs one job's items at a time,
    /// so its slot is free; if it is not (a job nested in another, a poisoned lock, a thread
    /// outside the pool), a fresh state does the same work, only slower.
    fn lend(&self, thread: Option<usize>) -> LentAnswers<'_> {
        match thread.and_then(|t| self.slots.get(t)?.try_lock().ok()) {
            Some(kept) => LentAnswers::Kept(kept),
            None => LentAnswers::Fresh(Box::default(), self),
        }
    }
}

impl std::ops::Deref for LentAnswers<'_> {
    type Target = WorkerState;
    fn deref(&self) -> &WorkerState {
        match self {
            LentAnswers::Kept(kept) => kept,
            LentAnswers::Fresh(fresh, _) => fresh,
        }
    }
}

impl std::ops::DerefMut for LentAnswers<'_> {
    fn deref_mut(&mut self) -> &mut WorkerState {
        match self {
            LentAnswers::Kept(kept) => kept,
            LentAnswers::Fresh(fresh, _) => fresh,
        }
    }
}

/// Requests read back from the spill file and decided together: enough to keep the workers
/// busy, few enough that a batch's rows (about half a MiB) are still in the cache when the
/// merging thread reads them, and when their builders free them and allocate the next batch's
/// from the same blocks ([`free_where_built`]). Up to [`BATCHES_IN_FLIGHT`] batches are alive
/// at once, and one more being freed, and the benchmark machines had 1 to 2 MiB of
/// second-level cache per core. With 8192 the rows of the batches in flight outgrew the
/// caches; 1024 took 5-12% less CPU than 8192 by the minimum of alternated runs on the 1 GB
/// benchmark log, 1-9% by the median, and 256 took 4-10% less than 1024 by the median in five
/// sets of 12-30 alternated rounds on a later machine (an earlier one had shown no
/// difference). 512, in the one set that tried it, did nearly as well as 256; 128, in two,
/// gave back half the gain or more, as each batch has its own read, its own jobs and its own
/// broadcast of frees, and no gain with the reads overlapped (`crate::ordered`): CPU +0.9%
/// (95% interval -2.2% to +4.0%) in 24 alternated rounds.
const DECIDE_BATCH: usize = 256;

/// Batches alive at once while deciding: one being filled from the spill file, one or two
/// being decided (the workers start on the next while the last requests of one are still
/// decided), and one being merged. Deciding this way, not one batch after another, took 3.8%
/// less CPU (paired median; 95% interval -7.1% to -0.1%) and 3.3% less wall time (-4.4% to
/// +0.9%) on the 1 GB benchmark log, in 30 alternated rounds.
const BATCHES_IN_FLIGHT: usize = 4;

/// Runs the analysis. `on_row` sees every row in the order the requests completed in the log
/// (for `--format jsonl`).
pub fn analyze(
    opts: &AnalyzeOptions,
    on_row: &mut dyn FnMut(&RequestVerdict),
) -> Result<Analysis, AnalysisError> {
    let objects = load_objects(&opts.objects);
    let mut problems: Vec<String> = objects.problems.iter().map(|p| p.to_string()).collect();
    let policy = effective_policy(&objects, opts.no_bootstrap_policy);
    // A bad target configuration is reported before the logs are read.
    opts.target.scenario(policy.clone())?;
    let recorded_flags = opts.recorded.clone();

    // One read of the logs: the object events build the graph, and the kubelet requests are
    // set aside in the spill file until it is built.
    let spill_dir = opts.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut spill = SpillWriter::create(&spill_dir)?;
    let mut spill_error: Option<SpillError> = None;
    let o = ScanOptions {
        want_object_events: true,
        ..opts.scan.clone()
    };
    // Every request is set aside, those that `--node`, `--since` and `--until` leave out too:
    // they are in the inventory, which is added up from the requests read back.
    let scanned = scan(&opts.inputs, &o, &mut |batch| {
        if let Err(e) = spill.push_all(batch) {
            // A full disk: stop reading rather than read the rest for nothing.
            spill_error = Some(e);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    if let Some(e) = spill_error {
        return Err(e.into());
    }
    let mut scan_summary = scanned?;
    let window = window_of(&scan_summary);
    // The logged bodies are parsed into the graph's own views; the raw events are not needed
    // while the requests are decided.
    let object_events = std::mem::take(&mut scan_summary.object_events);
    let sightings = std::mem::take(&mut scan_summary.pod_sightings);
    let graph = build_graph_with(&objects, &object_events, &sightings, window);
    drop((object_events, sightings));
    problems.extend(graph.problems.iter().map(|p| p.to_string()));

    // Findings describe the RBAC objects as the target sees them, the legacy binding included
    // when `--legacy-binding` adds it (but before `--drop-binding`, so that the readiness line
    // can say whether dropping it is safe).
    let mut findings_policy = policy.clone();
    if opts.target.legacy_binding {
        add_legacy_binding(&mut findings_policy);
    }
    let mut findings = Findings::from_rbac(&findings_policy, node_rules_from(&findings_policy));
    let mut builder = SummaryBuilder::new(&opts.target.label());
    let mut sightings = IdentitySightings::default();
    let mut writer = match &opts.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| crate::export::ExportError::io(dir, e))?;
            let by = opts.partition_by.unwrap_or(PartitionBy::None);
            let path = match by {
                PartitionBy::None => dir.join("requests.parquet"),
                PartitionBy::Date | PartitionBy::Node => dir.join("requests"),
            };
            Some(RequestWriter::create_with(
                &path,
                by,
                WriterOptions::default(),
            )?)
        }
        None => None,
    };
    // Shared by the rows read from each file.
    let file_names: Vec<Arc<str>> = scan_summary
        .inputs
        .iter()
        .map(|i| Arc::from(i.path.as_str()))
        .collect();
    let no_file: Arc<str> = Arc::from("");

    // The recorded configuration: given (one model for the whole log), or inferred phase by
    // phase from the candidates that best reproduce what was recorded.
    let recorded_configurations = match &recorded_flags {
        Some(f) => {
            builder.set_recorded_configuration(&f.label(), false);
            vec![f.clone()]
        }
        None => recorded_candidates(&opts.target),
    };
    let mut phases = recorded_flags.is_none().then(|| {
        PhaseTracker::new(
            window,
            recorded_configurations
                .iter()
                .map(ScenarioFlags::label)
                .collect(),
        )
    });
    let examples = phases.as_ref().map(PhaseTracker::demand);
    // Every configuration a request is decided under, each once: the target is usually also
    // one of the recorded candidates, and often a compared column.
    let mut configs = Configurations::default();
    let target_at = configs.index(&opts.target);
    let recorded_at: Vec<usize> = recorded_configurations
        .iter()
        .map(|f| configs.index(f))
        .collect();
    let compare_at: Vec<usize> = opts.compare.iter().map(|(_, f)| configs.index(f)).collect();
    let mut scenarios: Vec<Scenario> = configs
        .flags
        .iter()
        .map(|f| f.scenario(policy.clone()))
        .collect::<Result<_, _>>()?;
    share_answers(&mut scenarios);
    // The outcomes over time are drawn only in the report written with `--out`.
    let mut timeline = opts
        .out
        .is_some()
        .then(|| TimelineBuilder::new(window.0, window.1.saturating_add(1)));
    let mut comparison = (!compare_at.is_empty()).then(|| {
        CompareBuilder::new(
            &opts
                .compare
                .iter()
                .map(|(l, _)| l.clone())
                .collect::<Vec<_>>(),
        )
    });
    let mut write_error: Option<crate::export::ExportError> = None;

    // A request read back (counted in its worker's inventory) and, unless the filter leaves it
    // out, its verdicts.
    struct Decided {
        verdicts: Option<Verdicts>,
        /// The deciding worker that built it, which frees it ([`free_where_built`]).
        built_on: usize,
    }
    // A row under the target, the model's answers under the recorded candidates (compared with
    // what was recorded), and the rows under the compared scenarios.
    struct Verdicts {
        row: RequestVerdict,
        models: Vec<Settled>,
        columns: Vec<RequestVerdict>,
    }
    // Deciding uses as many workers as the read did (`--threads`).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.scan.threads)
        .build()
        .map_err(|e| ScanError::Threads(e.to_string()))?;
    let answers = WorkerAnswers::new(pool.current_num_threads());
    // A batch's rows stay where the workers put them until they are freed: every request read
    // back (`Some`, decided unless the filter leaves it out), or the batch's first record that
    // did not decode. Gathering them into a `Result` of rows and splitting off the answers
    // moved each row twice more, into fresh memory.
    let decide = |batch: &SpillBatch| -> Result<Vec<Option<Decided>>, SpillError> {
        let mut decided = Vec::with_capacity(batch.len());
        let undecodable: Mutex<Option<(usize, SpillError)>> = Mutex::new(None);
        pool.install(|| {
            // Indexed, so that the results land in place instead of in per-worker vectors
            // appended (and moved) afterwards.
            (0..batch.len())
                .into_par_iter()
                .map_init(
                    || answers.lend(pool.current_thread_index()),
                    |shared, i| {
                        let mut req = match batch.decode_for_deciding(i) {
                            Ok(req) => req,
                            Err(e) => {
                                let mut first =
                                    undecodable.lock().unwrap_or_else(|p| p.into_inner());
                                if first.as_ref().is_none_or(|(at, _)| i < *at) {
                                    *first = Some((i, e));
                                }
                                return None;
                            }
                        };
                        let built_on = pool.current_thread_index().unwrap_or(0);
                        let user = &req.effective_user().username;
                        if !opts.filter.keeps(&req, node_name(user)) {
                            shared.inventory.add(&req);
                            return Some(Decided {
                                verdicts: None,
                                built_on,
                            });
                        }
                        let file = file_names.get(req.pos.file as usize).unwrap_or(&no_file);
                        // From here on the request's path and its effective user's name and
                        // groups are the attributes'.
                        let prepared = Prepared::taking(&mut req);
                        let logged = prepared.req;
                        let kept = &mut **shared;
                        kept.inventory.add_with_attributes(logged, &prepared.attrs);
                        let outcomes = kept.outcomes.outcomes(
                            &prepared,
                            &scenarios,
                            &graph,
                            &mut kept.answers,
                        );
                        // The candidates' answers, straight from the chain's, compared here with
                        // what was recorded.
                        let recorded = RecordedFacts::from_log(
                            logged.decision.as_deref(),
                            logged.reason.as_deref(),
                            logged.response_code,
                        );
                        let wanted = examples.as_ref().map(|d| d.at(logged.time()));
                        let models: Vec<Settled> = recorded_at
                            .iter()
                            .enumerate()
                            .map(|(candidate, &i)| {
                                let o = &outcomes[i];
                                let judged = judge(&facts_of(o));
                                debug_assert_eq!((judged.verdict, judged.reason.joined()), {
                                    let c = classify(&decisions_of(o));
                                    (c.verdict, c.reason)
                                });
                                let by_admission = matches!(o.admission, Admission::Deny { .. });
                                // Without phases (the recorded configuration given), the
                                // summary keeps the first disagreements of the whole log.
                                let keep = wanted.is_none_or(|w| w.wants(candidate));
                                Settled::settle(
                                    recorded,
                                    judged.verdict,
                                    by_admission,
                                    judged.reason,
                                    keep,
                                )
                            })
                            .collect();
                        let columns: Vec<RequestVerdict> = compare_at
                            .iter()
                            .map(|&i| prepared.row(decisions_of(&outcomes[i]), file))
                            .collect();
                        // The target's row is built last, from the request's own strings, and
                        // from its answers, which the other outcomes no longer share then
                        // (only the memo may: its answers are copied into the row).
                        let target = match outcomes {
                            Cow::Owned(mut all) => {
                                let target = all.swap_remove(target_at);
                                drop(all);
                                decisions_from(target)
                            }
                            Cow::Borrowed(all) => decisions_of(&all[target_at]),
                        };
                        let Prepared { attrs, body, .. } = prepared;
                        drop(body);
                        let row = verdict_row(RowParts::moved(req, attrs), target, file);
                        Some(Decided {
                            verdicts: Some(Verdicts {
                                row,
                                models,
                                columns,
                            }),
                            built_on,
                        })
                    },
                )
                .collect_into_vec(&mut decided)
        });
        match undecodable.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some((_, e)) => Err(e),
            None => Ok(decided),
        }
    };
    let mut merge = |decided: Vec<Option<Decided>>| {
        let verdicts = || decided.iter().flatten().filter_map(|d| d.verdicts.as_ref());
        for Verdicts {
            row,
            models,
            columns,
        } in verdicts()
        {
            if let Some(c) = comparison.as_mut() {
                c.add(columns);
            }
            builder.add(row);
            match phases.as_mut() {
                Some(tracker) => tracker.observe(row, models),
                None => {
                    if let Some(settled) = models.first() {
                        builder.compare_settled(row, settled);
                    }
                }
            }
            if let Some(b) = row.relied_on_binding() {
                findings.record_use(b);
            }
            sightings.observe(
                &row.username,
                &row.groups,
                &row.user_agent,
                row.source_ips
                    .first()
                    .map(CompactString::as_str)
                    .unwrap_or(""),
            );
            if let (Some(timeline), Some(t)) = (timeline.as_mut(), row.timestamp) {
                timeline.add(&row.node, t, row.recorded.decision.into());
            }
            on_row(row);
        }
        if let Some(w) = writer.as_mut() {
            if write_error.is_none() {
                if let Err(e) = w.write_batch(verdicts().map(|v| &v.row)) {
                    write_error = Some(e);
                }
            }
        }
        // Freeing a batch (its rows' strings and lists) on the pool overlaps with the
        // next batch instead of holding up the merge, and freeing each row on the worker that
        // built it keeps its blocks in that worker's cache and pages.
        free_where_built(&pool, decided, |d| d.as_ref().map_or(0, |d| d.built_on));
    };

    // Deciding takes about as long as the read, which drew its own bar.
    let input_bytes = scan_summary.inputs.iter().map(|i| i.bytes).sum();
    let bar = shows_progress(&opts.scan, input_bytes).then(|| {
        progress_bar(
            spill.records(),
            "{bar:40} {pos}/{len} requests read back and decided, eta {eta}",
        )
    });
    // The reading, deciding and merging overlap (see `crate::ordered`).
    let mut spilled = spill.finish()?;
    let batches: Vec<SpillBatch> = (0..BATCHES_IN_FLIGHT)
        .map(|_| spilled.empty_batch())
        .collect();
    work_in_order(
        &pool,
        batches,
        |batch| spilled.refill(batch, DECIDE_BATCH),
        decide,
        |decided| {
            if let Some(bar) = &bar {
                bar.inc(decided.len() as u64);
            }
            merge(decided);
        },
    )?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(e) = write_error {
        return Err(e.into());
    }

    let comparison = comparison.map(CompareBuilder::finish);
    let known_nodes = known_node_names(&objects, &graph);
    findings.extend(sightings.findings(known_nodes.as_ref()));
    let mut summary = builder.finish(&findings);
    summary.comparison = comparison;
    if let Some(tracker) = phases {
        let (phases, agreement) = tracker.finish();
        summary.agreement = agreement;
        summary.recorded_phases = phases;
    }
    if let (Some(dir), Some(w), Some(timeline)) = (&opts.out, writer, timeline) {
        w.finish()?;
        crate::export::write_reports(dir, &summary, &findings)?;
        let report = html_report(
            &opts.target.label(),
            file_names,
            window,
            timeline,
            &summary,
            &findings,
            summary.comparison.as_ref(),
        );
        crate::export::html::write_report(dir, &report)?;
    }
    Ok(Analysis {
        inventory: answers.inventory().finish(&scan_summary),
        scan: scan_summary,
        summary,
        findings,
        problems,
    })
}

/// The page of `report.html`: the recorded outcomes over time, the target and every compared
/// scenario, and the findings.
fn html_report(
    target: &str,
    files: Vec<Arc<str>>,
    window: (Micros, Micros),
    timeline: TimelineBuilder,
    summary: &Summary,
    findings: &Findings,
    comparison: Option<&Comparison>,
) -> HtmlReport {
    let outside_span = timeline.outside_span();
    let mut nodes = timeline.finish();
    troubled_first(&mut nodes);
    let mut scenarios = vec![ScenarioColumn::from_totals(
        target,
        "target scenario",
        true,
        &summary.totals,
    )];
    for col in comparison.map(|c| c.columns.as_slice()).unwrap_or(&[]) {
        scenarios.push(ScenarioColumn::from_totals(
            &col.scenario,
            "compared scenario",
            false,
            &col.totals,
        ));
    }
    HtmlReport {
        title: "nodeauthz: kubelet requests".to_string(),
        generated_from: files.iter().map(|f| f.to_string()).collect(),
        span: window,
        nodes,
        outside_span,
        scenarios,
        findings: findings.items.iter().map(FindingRow::from).collect(),
        totals: summary.totals.clone(),
    }
}

/// The analysed window: the earliest and latest timestamps of the inputs.
fn window_of(s: &ScanSummary) -> (Micros, Micros) {
    let first = s.inputs.iter().filter_map(|i| i.first_timestamp).min();
    let last = s.inputs.iter().filter_map(|i| i.last_timestamp).max();
    (first.unwrap_or(0), last.unwrap_or(0))
}

/// Node names known from the dump or the log; `None` when neither says anything about Nodes
/// (then "no Node object" findings would be noise).
fn known_node_names(objects: &ObjectSet, graph: &Graph) -> Option<HashSet<String>> {
    let mut names: HashSet<String> = objects.nodes.iter().map(|n| n.name.clone()).collect();
    names.extend(graph.node_names());
    (!names.is_empty()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::uri::parse_request_uri;
    use crate::record::UserInfo;

    /// A cluster with no objects, counting the questions it is asked.
    #[derive(Default)]
    struct Counting {
        asked: Cell<usize>,
    }

    impl ClusterView for Counting {
        fn path(&self, _: VertexKind, _: &str, _: &str, _: &str, _: Micros) -> PathAnswer {
            self.asked.set(self.asked.get() + 1);
            PathAnswer::NoPath
        }
        fn pod(&self, _: &str, _: &str, _: Micros) -> Known<PodFacts> {
            self.asked.set(self.asked.get() + 1);
            Known::Absent
        }
        fn node_uid(&self, _: &str, _: Micros) -> Known<String> {
            self.asked.set(self.asked.get() + 1);
            Known::Absent
        }
        fn resource_slice_node(&self, _: &str, _: Micros) -> Known<String> {
            self.asked.set(self.asked.get() + 1);
            Known::Absent
        }
    }

    /// A request of node-1's at `at`.
    fn node_request(verb: &str, uri: &str, body: Option<&str>, at: Micros) -> KubeletRequest {
        KubeletRequest {
            audit_id: format!("{verb} {uri} {at}").into(),
            verb: verb.into(),
            request_uri: uri.into(),
            uri: parse_request_uri(uri),
            user: UserInfo {
                username: "system:node:node-1".into(),
                groups: vec!["system:nodes".into(), "system:authenticated".into()],
                extra: Vec::new(),
            },
            request_object: body.map(str::to_string),
            request_received: Some(at),
            ..KubeletRequest::default()
        }
    }

    /// The default run's scenarios: the target and the recorded candidates.
    fn default_scenarios() -> Vec<Scenario> {
        let target = ScenarioFlags::default();
        let policy = effective_policy(&ObjectSet::default(), false);
        let mut flags = recorded_candidates(&target);
        flags.push(target);
        let mut scenarios: Vec<Scenario> = flags
            .iter()
            .map(|f| f.scenario(policy.clone()).expect("a valid scenario"))
            .collect();
        share_answers(&mut scenarios);
        scenarios
    }

    /// Outcomes decided from the attributes alone are kept and given again for a request
    /// with equal attributes, at another time and with another body; outcomes that read the
    /// body are given again for a body of the same text as read; outcomes that asked the
    /// cluster are not kept. Every outcome is the one deciding afresh gives.
    #[test]
    fn the_memo_keeps_only_outcomes_decided_from_the_attributes_and_the_body_read() {
        let scenarios = default_scenarios();
        let cluster = Counting::default();
        let mut memo = OutcomeMemo::default();
        let mut shared = SharedAnswers::default();
        let lease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1";
        let lease_body = |renewed: &str| {
            format!(
                r#"{{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{{"name":"node-1","namespace":"kube-node-lease"}},"spec":{{"renewTime":"{renewed}"}}}}"#
            )
        };
        let mut decide = |req: &KubeletRequest| {
            let prepared = Prepared::new(req);
            let remembered = memo
                .outcomes(&prepared, &scenarios, &cluster, &mut shared)
                .into_owned();
            let fresh = Prepared::new(req).outcomes(&scenarios, &cluster, &mut shared);
            assert_eq!(remembered, fresh, "{} {}", req.verb, req.request_uri);
            (remembered, memo.held())
        };
        let first_body = lease_body("2026-12-02T04:00:00.000000Z");
        let second_body = lease_body("2026-12-02T04:00:10.000000Z");
        let (renewal, kept) = decide(&node_request("update", lease, Some(&first_body), 1));
        assert_eq!(kept, 1);
        // RBAC alone (without the legacy binding) refuses it: admission does not run then.
        let admissions: Vec<&Admission> = renewal.iter().map(|o| &o.admission).collect();
        assert_eq!(
            admissions,
            [
                &Admission::NotApplicable,
                &Admission::Admit,
                &Admission::Admit,
                &Admission::Admit,
                &Admission::Admit
            ]
        );
        let asked = cluster.asked.get();
        let (again, kept) = decide(&node_request("update", lease, Some(&second_body), 2));
        assert_eq!(kept, 1);
        assert_eq!(again, renewal);
        // The memo's answers, not answers found again: the same Arcs.
        fn same<T>(a: Option<&Arc<T>>, b: Option<&Arc<T>>) -> bool {
            matches!((a, b), (Some(a), Some(b)) if Arc::ptr_eq(a, b))
        }
        for (a, b) in again.iter().zip(&renewal) {
            assert!(same(a.rbac.as_ref(), b.rbac.as_ref()) || a.rbac.is_none());
            assert!(same(a.node.as_ref(), b.node.as_ref()) || a.node.is_none());
        }
        assert!(again.iter().any(|o| o.rbac.is_some()) && again.iter().any(|o| o.node.is_some()));
        assert_eq!(cluster.asked.get(), asked);

        let (_, kept) = decide(&node_request("get", "/api/v1/nodes/node-1", None, 3));
        assert_eq!(kept, 2);
        // A secret is read through the graph: asked of the cluster, not kept.
        let before = cluster.asked.get();
        let (_, kept) = decide(&node_request(
            "get",
            "/api/v1/namespaces/default/secrets/s",
            None,
            4,
        ));
        assert_eq!(kept, 2);
        assert!(cluster.asked.get() > before);
        // A Node's status patch is admitted by what it changes: its body is read, and its
        // outcomes are kept by the body's text with the status left out, which every status
        // patch of the Node has.
        let status_patch =
            |body: Option<&str>, at| node_request("patch", "/api/v1/nodes/node-1/status", body, at);
        let mut served = |req: &KubeletRequest| {
            let prepared = Prepared::new(req);
            let remembered = memo.outcomes(&prepared, &scenarios, &cluster, &mut shared);
            let lent = matches!(remembered, Cow::Borrowed(_));
            let remembered = remembered.into_owned();
            let fresh = Prepared::new(req).outcomes(&scenarios, &cluster, &mut shared);
            assert_eq!(remembered, fresh, "{:?}", req.request_object);
            lent
        };
        let conditions = r#"{"status":{"conditions":[]}}"#;
        let ready = r#"{"status":{"conditions":[{"type":"Ready","status":"True"}]}}"#;
        let labelled =
            r#"{"metadata":{"labels":{"node-role.kubernetes.io/worker":""}},"status":{}}"#;
        assert!(!served(&status_patch(Some(conditions), 5)));
        assert!(served(&status_patch(Some(ready), 6)));
        // A patch that changes labels reads otherwise: decided again, and kept in its turn.
        assert!(!served(&status_patch(Some(labelled), 7)));
        assert!(served(&status_patch(Some(labelled), 8)));
        assert!(!served(&status_patch(Some(conditions), 9)));
        // One logged without a body: admission asked for it and found none, which another
        // patch of the same attributes may have.
        assert!(!served(&status_patch(None, 10)));
        assert!(served(&status_patch(None, 11)));
        assert!(!served(&status_patch(Some(ready), 12)));
        // A body too long to keep is read every time.
        let long = format!(
            r#"{{"metadata":{{"annotations":{{"a":"{}"}}}},"status":{{}}}}"#,
            "x".repeat(MEMO_BODY_BYTES)
        );
        assert!(!served(&status_patch(Some(&long), 13)));
        assert!(!served(&status_patch(Some(&long), 14)));
        assert!(served(&status_patch(Some(ready), 15)));
    }

    /// A memo asked about another list of scenarios forgets what it holds.
    #[test]
    fn a_memo_holds_outcomes_of_one_list_of_scenarios() {
        let scenarios = default_scenarios();
        let mut fewer = default_scenarios();
        fewer.truncate(1);
        let cluster = Counting::default();
        let mut memo = OutcomeMemo::default();
        let mut shared = SharedAnswers::default();
        let req = node_request("get", "/api/v1/nodes/node-1", None, 0);
        let mut ask = |scenarios: &[Scenario]| {
            memo.outcomes(&Prepared::new(&req), scenarios, &cluster, &mut shared)
                .len()
        };
        // Asked twice, the first answer is in the memo's map.
        let all = [ask(&scenarios), ask(&scenarios)];
        // A shorter list at the same address is another list.
        let one = [ask(&scenarios[..1]), ask(&fewer)];
        assert_eq!(all, [scenarios.len(); 2]);
        assert_eq!(one, [1, 1]);
        assert_eq!(memo.held(), 1);
    }

    /// A memo that holds [`MEMO_REQUESTS`] attributes forgets them all before keeping more,
    /// and never holds more than one besides.
    #[test]
    fn a_full_memo_starts_again() {
        let scenarios = default_scenarios();
        let cluster = Counting::default();
        let mut memo = OutcomeMemo::default();
        let mut shared = SharedAnswers::default();
        let node = |i: usize| node_request("get", &format!("/api/v1/nodes/node-{i}"), None, 0);
        for i in 0..MEMO_REQUESTS + 2 {
            memo.outcomes(&Prepared::new(&node(i)), &scenarios, &cluster, &mut shared);
            assert!(memo.held() <= MEMO_REQUESTS + 1);
        }
        assert_eq!(memo.held(), 2);
        let first = node(0);
        assert!(!memo
            .by_attributes
            .contains_key(&Prepared::new(&first).attrs));
        assert_eq!(cluster.asked.get(), 0);
    }

    /// A worker's kept answers are lent to one job at a time; a second job on the same thread
    /// (nested), a thread outside the pool or past the slots, and a slot a panic poisoned all
    /// get fresh answers, never a wait.
    #[test]
    fn a_worker_lends_its_kept_answers_to_one_job_at_a_time() {
        let kept = |lent: &LentAnswers<'_>| matches!(lent, LentAnswers::Kept(_));
        let answers = WorkerAnswers::new(2);
        let first = answers.lend(Some(0));
        assert!(kept(&first));
        assert!(!kept(&answers.lend(Some(0))));
        assert!(!kept(&answers.lend(None)));
        assert!(!kept(&answers.lend(Some(2))));
        assert!(kept(&answers.lend(Some(1))));
        drop(first);
        assert!(kept(&answers.lend(Some(0))));
        let poisoned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _lent = answers.lend(Some(1));
            panic!("a job panics with the answers lent");
        }));
        assert!(poisoned.is_err());
        assert!(!kept(&answers.lend(Some(1))));
        assert!(kept(&answers.lend(Some(0))));
    }

    /// Every request a worker counts is in the inventory at the end: counted with its kept
    /// answers, with fresh ones (a busy slot, a thread outside the pool), or with the answers a
    /// panic poisoned.
    #[test]
    fn the_inventory_keeps_what_every_lent_state_counted() {
        let answers = WorkerAnswers::new(2);
        let count = |lent: &mut LentAnswers<'_>, n: usize| {
            for i in 0..n {
                let r = KubeletRequest {
                    matched_by: Some(crate::record::KubeletMatch::NodeUser),
                    ..node_request("get", "/api/v1/nodes/node-1", None, i as Micros)
                };
                lent.inventory.add(&r);
            }
        };
        let mut kept = answers.lend(Some(0));
        count(&mut kept, 1);
        // The slot is busy: a fresh state, dropped before the kept one.
        count(&mut answers.lend(Some(0)), 2);
        count(&mut answers.lend(None), 4);
        drop(kept);
        let poisoned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut lent = answers.lend(Some(1));
            count(&mut lent, 8);
            panic!("a job panics with the answers lent");
        }));
        assert!(poisoned.is_err());
        count(&mut answers.lend(Some(1)), 16);
        count(&mut answers.lend(Some(0)), 32);
        let inventory = answers.inventory().finish(&ScanSummary::default());
        assert_eq!(inventory.nodes.len(), 1);
        assert_eq!(inventory.nodes["node-1"].counts.requests, 63);
        assert_eq!(inventory.nodes["node-1"].counts.no_response, 63);
    }

    #[test]
    fn compare_columns_parse_modifiers_and_keep_names_whole() {
        let base = ScenarioFlags::default();
        let f = ScenarioFlags::parse_column(
            "Node,RBAC-binding:rolebinding/kube-system/x-y+binding:system:node@1.19",
            &base,
        )
        .expect("parses");
        assert_eq!(f.authorization_mode, "Node,RBAC");
        assert_eq!(
            f.drop_bindings,
            vec!["rolebinding/kube-system/x-y".to_string()]
        );
        assert!(f.legacy_binding);
        assert_eq!(f.kube_version.as_deref(), Some("1.19"));
        let f = ScenarioFlags::parse_column("RBAC-NodeRestriction", &base).expect("parses");
        assert_eq!(f.authorization_mode, "RBAC");
        assert!(f.enable_admission_plugins.is_empty());
        assert_eq!(
            ScenarioFlags::parse_column("RBAC+bogus", &base).map(|f| f.authorization_mode),
            Ok("RBAC+bogus".to_string())
        );
        assert!(ScenarioFlags::parse_column("@1.19", &base).is_err());
    }
}
