//! A scenario (one apiserver configuration) and the authorizer chain evaluated under it.
//!
//! Authorizers run in `--authorization-mode` order; the first allow ends the walk (the
//! apiserver's union authorizer). When none allows, the non-empty reasons are joined with
//! `\n` in chain order (spec section 2). Admission (NodeRestriction) runs only after an allow
//! and only for mutating verbs.
//!
//! NodeRestriction is **not** in the apiserver's default-enabled plugin set, so a scenario has
//! it only when `--enable-admission-plugins` names it (and `--disable-admission-plugins` does
//! not). Callers that want the recommended target configuration pass it explicitly.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;

use compact_str::CompactString;

use serde_json::Value;

use super::forbidden::authorization_forbidden;
use super::node::{Decision, NodeAuthorizer, NodeDecision};
use super::rbac::{Applicable, BindingKind, BindingRef, RbacAuthorizer, RbacDecision};
use super::restriction::{Admission, NodeRestriction, Operation, RequestBody};
use super::version::{FeatureGates, KubeVersion, VersionError};
use super::{Attributes, ClusterView};
use crate::cluster::rbac_types::RbacPolicy;
use crate::graph::intern::FxHashMap;
use crate::record::Micros;

/// One entry of `--authorization-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Node,
    Rbac,
    AlwaysAllow,
    AlwaysDeny,
}

impl Mode {
    /// Every mode, each once.
    pub const ALL: [Mode; 4] = [Mode::Node, Mode::Rbac, Mode::AlwaysAllow, Mode::AlwaysDeny];

    /// The name used in `--authorization-mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Node => "Node",
            Mode::Rbac => "RBAC",
            Mode::AlwaysAllow => "AlwaysAllow",
            Mode::AlwaysDeny => "AlwaysDeny",
        }
    }
}

/// The AlwaysDeny authorizer's reason (it answers no opinion, not deny).
pub const ALWAYS_DENY_REASON: &str = "Everything is forbidden.";

/// Errors in the scenario flags.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("--authorization-mode: {0} is not supported by nodeauthz (supported: Node, RBAC, AlwaysAllow, AlwaysDeny)")]
    UnsupportedMode(String),
    #[error("--authorization-mode: unknown authorization mode {0:?}")]
    UnknownMode(String),
    #[error("--authorization-mode: {0} is specified more than once")]
    DuplicateMode(String),
    #[error("--authorization-mode: empty mode list")]
    NoModes,
    #[error("admission plugin {0} is both enabled and disabled")]
    PluginConflict(String),
    #[error(
        "--drop-binding {0:?}: expected clusterrolebinding/NAME or rolebinding/NAMESPACE/NAME"
    )]
    DropSyntax(String),
    #[error("--drop-binding {0:?}: no such binding in the RBAC policy")]
    DropNotFound(String),
    #[error(transparent)]
    Version(#[from] VersionError),
}

/// One apiserver configuration to replay requests under.
#[derive(Debug)]
pub struct Scenario {
    pub modes: Vec<Mode>,
    pub node_restriction: bool,
    pub version: KubeVersion,
    pub gates: FeatureGates,
    pub node: NodeAuthorizer,
    pub restriction: NodeRestriction,
    pub rbac: RbacAuthorizer,
    /// Bindings removed from the policy by `--drop-binding`.
    pub dropped: Vec<BindingRef>,
    /// Which answers this scenario may take from another scenario's, for the same request
    /// ([`Scenario::decide_with`]).
    pub shares: Shares,
}

/// Keys under which a scenario's authorizers and admission share their answers with the other
/// scenarios a request is decided under: scenarios whose Node authorizers (RBAC authorizers,
/// NodeRestriction plugins) are equal have the same key, so a request's Node (RBAC,
/// NodeRestriction) answer is worked out once for all of them. `None` shares nothing. Keys
/// are positions in the slice [`share_answers`] was given: only scenarios of that one slice
/// may decide a request with the same [`SharedAnswers`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shares {
    /// The first scenario of the slice with an equal Node authorizer.
    pub node: Option<usize>,
    /// The first scenario of the slice with an equal RBAC authorizer.
    pub rbac: Option<usize>,
    /// The first scenario of the slice with an equal NodeRestriction plugin. (Node
    /// authorizers and NodeRestriction plugins both differ only by release and feature gates,
    /// so today this is `node`; it is a key of its own because that is a coincidence.)
    pub restriction: Option<usize>,
}

/// The authorizers' and NodeRestriction's answers for one request, kept for the scenarios
/// that share them ([`Shares`]). Empty it before the next request. Reusing one for many
/// requests saves a few allocations per request, out of about fifty, and keeps the cluster
/// bindings that apply to each user met ([`RbacAuthorizer::cluster_applicable`]) from one
/// request to the next.
#[derive(Debug, Default)]
pub struct SharedAnswers {
    node: Vec<(usize, Arc<NodeDecision>)>,
    rbac: Vec<(usize, Arc<RbacDecision>)>,
    /// NodeRestriction's answers that did not depend on the scenario's authorizers (see
    /// [`Scenario::admit`]).
    admission: Vec<(usize, Admission)>,
    /// RBAC's working list of candidate bindings ([`RbacAuthorizer::authorize_with`]).
    candidates: Vec<usize>,
    /// The cluster bindings that apply to each user met, by RBAC authorizer
    /// ([`RbacAuthorizer::id`]), kept from one request to the next, unlike the answers.
    applicable: Vec<(u64, ApplicableByUser)>,
}

/// The cluster bindings that apply to each user met by one RBAC authorizer, with the groups
/// they were found for. They are the same for every request of a kubelet, and finding them
/// (the subject index, then each candidate binding's subjects) was most of RBAC's work.
type ApplicableByUser = FxHashMap<CompactString, (Vec<CompactString>, Applicable)>;

/// The users whose bindings one worker keeps at most: nodes of a large cluster, and a few
/// other identities. Past it the memory is let go and the users met again are looked up anew.
const APPLICABLE_USERS: usize = 1 << 14;

/// RBAC's answer for `attrs` under `rbac`, from the cluster bindings that apply to its user,
/// found once per user and kept in `applicable`.
fn rbac_with_applicable(
    rbac: &RbacAuthorizer,
    attrs: &Attributes,
    applicable: &mut Vec<(u64, ApplicableByUser)>,
    candidates: &mut Vec<usize>,
) -> RbacDecision {
    let at = match applicable.iter().position(|(id, _)| *id == rbac.id()) {
        Some(at) => at,
        None => {
            applicable.push((rbac.id(), FxHashMap::default()));
            applicable.len() - 1
        }
    };
    let by_user = &mut applicable[at].1;
    let decide = |found: &Applicable, candidates: &mut Vec<usize>| {
        let decision = rbac.authorize_applicable(attrs, found, candidates);
        debug_assert_eq!(decision, rbac.authorize(attrs), "{attrs:?}");
        decision
    };
    if let Some((groups, found)) = by_user.get(attrs.username.as_str()) {
        if *groups == attrs.groups {
            return decide(found, candidates);
        }
    }
    let found = rbac.cluster_applicable(&attrs.username, &attrs.groups, candidates);
    let decision = decide(&found, candidates);
    if by_user.len() >= APPLICABLE_USERS {
        *by_user = FxHashMap::default();
    }
    by_user.insert(attrs.username.clone(), (attrs.groups.clone(), found));
    decision
}

impl SharedAnswers {
    /// Forgets the answers, for the next request. (The candidate list need not be emptied:
    /// RBAC replaces it whenever it uses it.)
    pub fn clear(&mut self) {
        self.node.clear();
        self.rbac.clear();
        self.admission.clear();
    }
}

/// The answer kept under `key` in `kept`, else `ask()` (kept under `key` for the next
/// scenario, when there is a key and a place to keep it). Answers are shared, not copied:
/// a request is decided under several scenarios (five by default), and copying each
/// answer's strings (the graph path, the reasons) into every outcome cost as many
/// allocations as deciding it.
fn answer<T>(
    key: Option<usize>,
    kept: Option<&mut Vec<(usize, Arc<T>)>>,
    ask: impl FnOnce() -> T,
) -> Arc<T> {
    let (Some(key), Some(kept)) = (key, kept) else {
        return Arc::new(ask());
    };
    if let Some((_, a)) = kept.iter().find(|(k, _)| *k == key) {
        return Arc::clone(a);
    }
    let a = Arc::new(ask());
    kept.push((key, Arc::clone(&a)));
    a
}

/// Gives each scenario the keys of the first scenario whose authorizers equal its own, so that
/// deciding a request under all of them asks each distinct authorizer once (replaying a log
/// under the target and the recorded candidates asked the same Node authorizer twice and RBAC
/// up to four times per request). Call it before deciding anything: the RBAC authorizer fills
/// caches as it answers, and equal authorizers with different caches no longer compare equal
/// (which would only share less).
pub fn share_answers(scenarios: &mut [Scenario]) {
    for i in 0..scenarios.len() {
        let node = (0..=i).find(|&j| scenarios[j].node == scenarios[i].node);
        let rbac = (0..=i).find(|&j| scenarios[j].rbac == scenarios[i].rbac);
        let restriction = (0..=i).find(|&j| scenarios[j].restriction == scenarios[i].restriction);
        scenarios[i].shares = Shares {
            node,
            rbac,
            restriction,
        };
    }
}

/// One authorizer's answer within the chain (its reason: [`ChainOutcome::reason_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorizerOutcome {
    pub mode: Mode,
    pub decision: Decision,
}

/// The authorizers a chain consulted, in order; a slice through `Deref`. Held inline, with
/// room for each [`Mode`] once (a mode named again is not consulted again): a request is
/// decided under several scenarios (five by default), and a vector each was an allocation
/// each.
#[derive(Clone, Copy)]
pub struct Consulted {
    list: [AuthorizerOutcome; Mode::ALL.len()],
    len: usize,
}

impl Consulted {
    fn new() -> Self {
        let unused = AuthorizerOutcome {
            mode: Mode::AlwaysDeny,
            decision: Decision::NoOpinion,
        };
        Consulted {
            list: [unused; Mode::ALL.len()],
            len: 0,
        }
    }

    /// Whether `mode` was consulted.
    fn has(&self, mode: Mode) -> bool {
        self.iter().any(|a| a.mode == mode)
    }

    /// Adds `outcome`, whose mode was not consulted yet (see [`Consulted::has`]): so there is
    /// always room.
    fn push(&mut self, outcome: AuthorizerOutcome) {
        if let Some(slot) = self.list.get_mut(self.len) {
            *slot = outcome;
            self.len += 1;
        }
    }
}

impl std::ops::Deref for Consulted {
    type Target = [AuthorizerOutcome];

    fn deref(&self) -> &[AuthorizerOutcome] {
        &self.list[..self.len]
    }
}

impl PartialEq for Consulted {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Consulted {}

impl std::fmt::Debug for Consulted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A refusal as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 403, or 404 when NodeRestriction returned a NotFound.
    pub code: u16,
    /// The Status `message`.
    pub message: String,
}

/// Everything the chain decided for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainOutcome {
    /// The authorizers consulted, in order (the walk stops at the first allow).
    pub authorizers: Consulted,
    /// The authorizer that allowed, if any.
    pub allowed_by: Option<Mode>,
    /// The Node authorizer's full answer, when it was consulted (shared with the other
    /// scenarios the request was decided under, see [`Scenario::decide_with`]).
    pub node: Option<Arc<NodeDecision>>,
    /// RBAC's full answer, when it was consulted (shared like `node`).
    pub rbac: Option<Arc<RbacDecision>>,
    /// NodeRestriction's answer ([`Admission::NotApplicable`] when it did not run).
    pub admission: Admission,
    /// Why the outcome may differ from the real apiserver's (incomplete graph or an admission
    /// decision the inputs cannot make).
    pub indeterminate: Option<String>,
    /// The response the apiserver would send when the request is refused.
    pub refusal: Option<Refusal>,
}

impl ChainOutcome {
    /// Authorized by some authorizer (admission aside).
    pub fn authorized(&self) -> bool {
        self.allowed_by.is_some()
    }

    /// The graph path that allowed the request through the Node authorizer.
    pub fn path(&self) -> Option<&[String]> {
        self.node.as_ref()?.path.as_deref()
    }

    /// The reason `mode`'s authorizer gave (empty when it was not consulted).
    pub fn reason_of(&self, mode: Mode) -> &str {
        match mode {
            Mode::Node => self.node.as_ref().map_or("", |n| &n.reason),
            Mode::Rbac => self.rbac.as_ref().map_or("", |r| &r.reason),
            Mode::AlwaysAllow => "",
            Mode::AlwaysDeny if self.authorizers.has(mode) => ALWAYS_DENY_REASON,
            Mode::AlwaysDeny => "",
        }
    }

    /// The allow reason, or the consulted authorizers' non-empty reasons joined with `\n` in
    /// chain order (`authorization.k8s.io/reason`). Worked out on demand: deciding a log needs
    /// only the per-authorizer answers.
    pub fn reason(&self) -> Cow<'_, str> {
        if let Some(mode) = self.allowed_by {
            return Cow::Borrowed(self.reason_of(mode));
        }
        let mut reasons = self
            .authorizers
            .iter()
            .map(|a| self.reason_of(a.mode))
            .filter(|r| !r.is_empty());
        let Some(first) = reasons.next() else {
            return Cow::Borrowed("");
        };
        match reasons.next() {
            None => Cow::Borrowed(first),
            Some(second) => {
                let mut joined = format!("{first}\n{second}");
                for r in reasons {
                    joined.push('\n');
                    joined.push_str(r);
                }
                Cow::Owned(joined)
            }
        }
    }
}

/// Splits comma-separated list flags, which may also be repeated.
fn split_list(values: &[String]) -> impl Iterator<Item = &str> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Parses `--authorization-mode`.
pub fn parse_modes(modes: &str) -> Result<Vec<Mode>, ScenarioError> {
    let mut out = Vec::new();
    for m in modes.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mode = match m {
            "Node" => Mode::Node,
            "RBAC" => Mode::Rbac,
            "AlwaysAllow" => Mode::AlwaysAllow,
            "AlwaysDeny" => Mode::AlwaysDeny,
            "ABAC" | "Webhook" => return Err(ScenarioError::UnsupportedMode(m.to_string())),
            _ => return Err(ScenarioError::UnknownMode(m.to_string())),
        };
        if out.contains(&mode) {
            return Err(ScenarioError::DuplicateMode(m.to_string()));
        }
        out.push(mode);
    }
    if out.is_empty() {
        return Err(ScenarioError::NoModes);
    }
    Ok(out)
}

/// Parses one `--drop-binding` value.
pub fn parse_drop_binding(s: &str) -> Result<BindingRef, ScenarioError> {
    let err = || ScenarioError::DropSyntax(s.to_string());
    let (kind, rest) = s.split_once('/').ok_or_else(err)?;
    match kind.to_ascii_lowercase().as_str() {
        "clusterrolebinding" | "clusterrolebindings" if !rest.is_empty() && !rest.contains('/') => {
            Ok(BindingRef {
                kind: BindingKind::ClusterRoleBinding,
                namespace: String::new(),
                name: rest.to_string(),
            })
        }
        "rolebinding" | "rolebindings" => {
            let (ns, name) = rest.split_once('/').ok_or_else(err)?;
            if ns.is_empty() || name.is_empty() || name.contains('/') {
                return Err(err());
            }
            Ok(BindingRef {
                kind: BindingKind::RoleBinding,
                namespace: ns.to_string(),
                name: name.to_string(),
            })
        }
        _ => Err(err()),
    }
}

fn policy_has(policy: &RbacPolicy, b: &BindingRef) -> bool {
    match b.kind {
        BindingKind::ClusterRoleBinding => policy
            .cluster_role_bindings
            .iter()
            .any(|x| x.metadata.name == b.name),
        BindingKind::RoleBinding => policy
            .role_bindings
            .iter()
            .any(|x| x.metadata.name == b.name && x.metadata.namespace == b.namespace),
    }
}

impl Scenario {
    /// Builds a scenario from already-parsed parts. A mode named twice is consulted at its
    /// first place only (a second asking could not answer otherwise; the apiserver refuses
    /// such a list, see [`parse_modes`]).
    pub fn new(
        modes: Vec<Mode>,
        node_restriction: bool,
        gates: FeatureGates,
        policy: &RbacPolicy,
        dropped: Vec<BindingRef>,
    ) -> Self {
        Scenario {
            modes,
            node_restriction,
            version: gates.version(),
            node: NodeAuthorizer::new(&gates),
            restriction: NodeRestriction::new(&gates),
            rbac: RbacAuthorizer::new(policy, &dropped),
            gates,
            dropped,
            shares: Shares::default(),
        }
    }

    /// Builds a scenario from CLI-style flags: `--authorization-mode`,
    /// `--enable-admission-plugins`, `--disable-admission-plugins` (comma-separated, may be
    /// repeated), `--kube-version` (default: the newest modelled), `--feature-gates`, the RBAC
    /// policy and `--drop-binding` values.
    pub fn from_flags(
        modes: &str,
        enable_plugins: &[String],
        disable_plugins: &[String],
        kube_version: Option<&str>,
        feature_gates: Option<&str>,
        policy: RbacPolicy,
        drop_bindings: &[String],
    ) -> Result<Scenario, ScenarioError> {
        let modes = parse_modes(modes)?;
        let enabled = split_list(enable_plugins).any(|p| p == "NodeRestriction");
        let disabled = split_list(disable_plugins).any(|p| p == "NodeRestriction");
        if enabled && disabled {
            return Err(ScenarioError::PluginConflict("NodeRestriction".into()));
        }
        let version = match kube_version {
            Some(v) => KubeVersion::parse(v)?,
            None => KubeVersion::NEWEST,
        };
        let gates = FeatureGates::parse(version, feature_gates)?;
        let mut dropped = Vec::new();
        for d in drop_bindings {
            let b = parse_drop_binding(d)?;
            if !policy_has(&policy, &b) {
                return Err(ScenarioError::DropNotFound(d.clone()));
            }
            dropped.push(b);
        }
        Ok(Scenario::new(modes, enabled, gates, &policy, dropped))
    }

    /// Runs the authorizers only. `shared` holds the answers other scenarios already found
    /// for these very attributes.
    fn authorize(
        &self,
        attrs: &Attributes,
        cluster: &dyn ClusterView,
        at: Micros,
        out: &mut ChainOutcome,
        mut shared: Option<&mut SharedAnswers>,
    ) {
        for &mode in &self.modes {
            if out.authorizers.has(mode) {
                continue;
            }
            let decision = match mode {
                Mode::Node => {
                    let d = answer(
                        self.shares.node,
                        shared.as_deref_mut().map(|s| &mut s.node),
                        || self.node.authorize(attrs, cluster, at),
                    );
                    let decision = d.decision;
                    out.node = Some(d);
                    decision
                }
                Mode::Rbac => {
                    let d = match shared.as_deref_mut() {
                        Some(s) => answer(self.shares.rbac, Some(&mut s.rbac), || {
                            rbac_with_applicable(
                                &self.rbac,
                                attrs,
                                &mut s.applicable,
                                &mut s.candidates,
                            )
                        }),
                        None => Arc::new(self.rbac.authorize(attrs)),
                    };
                    let decision = if d.allowed {
                        Decision::Allow
                    } else {
                        Decision::NoOpinion
                    };
                    out.rbac = Some(d);
                    decision
                }
                Mode::AlwaysAllow => Decision::Allow,
                Mode::AlwaysDeny => Decision::NoOpinion,
            };
            out.authorizers.push(AuthorizerOutcome { mode, decision });
            if decision == Decision::Allow {
                out.allowed_by = Some(mode);
                return;
            }
        }
    }

    /// Whether the chain's authorizers allow `attrs` (no admission).
    pub fn authorized(&self, attrs: &Attributes, cluster: &dyn ClusterView, at: Micros) -> bool {
        let mut out = empty_outcome();
        // Other attributes than the request's: nothing to share.
        self.authorize(attrs, cluster, at, &mut out, None);
        out.authorized()
    }

    /// Evaluates one request at time `at`: authorizers in order, then NodeRestriction for
    /// mutating verbs when enabled. `request_object` is the logged `requestObject`, if any.
    pub fn evaluate(
        &self,
        attrs: &Attributes,
        request_object: Option<&Value>,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> ChainOutcome {
        let body = RequestBody::parsed(request_object);
        self.run(attrs, &body, cluster, at, true, None)
    }

    /// [`Scenario::evaluate`] without the client-facing refusal (`refusal` is always `None`),
    /// for callers that need only the decisions, with a body that may still be unparsed (it is
    /// parsed only if admission reads it, once for all the scenarios a request is decided
    /// under). Formatting the apiserver's Forbidden message (Go-quoting every attribute) was
    /// the single largest cost of replaying a log under several configurations, and nothing
    /// but `explain` shows it.
    pub fn decide(
        &self,
        attrs: &Attributes,
        body: &RequestBody<'_>,
        cluster: &dyn ClusterView,
        at: Micros,
    ) -> ChainOutcome {
        self.run(attrs, body, cluster, at, false, None)
    }

    /// [`Scenario::decide`], taking the Node, RBAC and NodeRestriction answers from `shared`
    /// when a scenario with the same [`Shares`] key has already found them for this request,
    /// and leaving its own there for the next. The outcome is the one [`Scenario::decide`]
    /// gives.
    pub fn decide_with(
        &self,
        attrs: &Attributes,
        body: &RequestBody<'_>,
        cluster: &dyn ClusterView,
        at: Micros,
        shared: &mut SharedAnswers,
    ) -> ChainOutcome {
        self.run(attrs, body, cluster, at, false, Some(shared))
    }

    fn run(
        &self,
        attrs: &Attributes,
        body: &RequestBody<'_>,
        cluster: &dyn ClusterView,
        at: Micros,
        with_refusal: bool,
        mut shared: Option<&mut SharedAnswers>,
    ) -> ChainOutcome {
        let mut out = empty_outcome();
        self.authorize(attrs, cluster, at, &mut out, shared.as_deref_mut());
        if !out.authorized() {
            out.indeterminate = out.node.as_ref().and_then(|n| n.indeterminate.clone());
            if with_refusal {
                out.refusal = Some(Refusal {
                    code: 403,
                    message: authorization_forbidden(attrs, &out.reason()),
                });
            }
            return out;
        }
        if !self.node_restriction || !attrs.resource_request {
            return out;
        }
        let Some(op) = Operation::from_verb(&attrs.verb) else {
            return out;
        };
        out.admission = self.admit(attrs, op, body, cluster, at, shared);
        match &out.admission {
            Admission::Deny { code, message } => {
                if with_refusal {
                    out.refusal = Some(Refusal {
                        code: *code,
                        message: message.clone(),
                    });
                }
            }
            // Appended, not formatted (`format!` likely takes about three times the
            // instructions, as measured for `no_relationship_reason`): written for each
            // scenario that allows a request whose admission is not known.
            Admission::Unknown(why) => {
                out.indeterminate = Some(["NodeRestriction: ", why.as_str()].concat())
            }
            Admission::Admit | Admission::NotApplicable => {}
        }
        out
    }

    /// NodeRestriction's answer for a request the chain allowed, taken from `shared` when a
    /// scenario with the same [`Shares::restriction`] key has already found it for this
    /// request. Admission depends on the scenario only through its plugin, except where it
    /// asks the scenario's own authorizers (a service account token's audience): such an
    /// answer is not kept for the others. (Admitting each request under every scenario of a
    /// default run was about a fifth of the instructions of its chains, on the 1 GB benchmark
    /// log; the body, parsed once for them all already, was most of it.)
    fn admit(
        &self,
        attrs: &Attributes,
        op: Operation,
        body: &RequestBody<'_>,
        cluster: &dyn ClusterView,
        at: Micros,
        shared: Option<&mut SharedAnswers>,
    ) -> Admission {
        let kept = shared.zip(self.shares.restriction);
        if let Some((shared, key)) = &kept {
            if let Some((_, a)) = shared.admission.iter().find(|(k, _)| k == key) {
                return a.clone();
            }
        }
        let asked_authorizers = Cell::new(false);
        let authorize = |a: &Attributes| {
            asked_authorizers.set(true);
            self.authorized(a, cluster, at)
        };
        let admission = self
            .restriction
            .admit_body(attrs, op, body, cluster, at, &authorize);
        if let (Some((shared, key)), false) = (kept, asked_authorizers.get()) {
            shared.admission.push((key, admission.clone()));
        }
        admission
    }
}

fn empty_outcome() -> ChainOutcome {
    ChainOutcome {
        authorizers: Consulted::new(),
        allowed_by: None,
        node: None,
        rbac: None,
        admission: Admission::NotApplicable,
        indeterminate: None,
        refusal: None,
    }
}
