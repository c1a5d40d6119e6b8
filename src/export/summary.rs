//! `summary.json`: the machine summary of a run, accumulated row by row (memory grows with
//! nodes, bindings and distinct (verb, resource, reason) keys, never with requests). The human
//! reports (`report.rs`) render the same [`Summary`].

use crate::findings::{Finding, Findings, Severity};
use crate::graph::intern::FxHashMap;
use crate::verdict::{
    BindingKey, Change, ReasonParts, Recorded, RecordedOutcome, RequestVerdict, Verdict,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Entries kept in each "top" list.
pub const DEFAULT_TOP: usize = 20;
/// Disagreements kept in full (all are counted).
pub const MAX_DISAGREEMENTS: usize = 100;
/// (verb, resource) pairs spelled out in the readiness line.
const READINESS_EXAMPLES: usize = 5;

/// Counts by verdict, change and recorded outcome; every name is present, zero or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Requests counted.
    pub requests: u64,
    /// By [`Verdict::as_str`].
    pub by_verdict: BTreeMap<String, u64>,
    /// By [`Change::as_str`].
    pub by_change: BTreeMap<String, u64>,
    /// By [`Recorded::as_str`].
    pub by_recorded: BTreeMap<String, u64>,
}

impl Default for Totals {
    fn default() -> Self {
        let zeros = |names: &[&str]| names.iter().map(|n| (n.to_string(), 0)).collect();
        Totals {
            requests: 0,
            by_verdict: zeros(&Verdict::ALL.map(Verdict::as_str)),
            by_change: zeros(&Change::ALL.map(Change::as_str)),
            by_recorded: zeros(&Recorded::ALL.map(Recorded::as_str)),
        }
    }
}

impl Totals {
    /// Counts one row.
    pub fn add(&mut self, row: &RequestVerdict) {
        self.requests += 1;
        bump(&mut self.by_verdict, row.verdict.as_str());
        bump(&mut self.by_change, row.change.as_str());
        bump(&mut self.by_recorded, row.recorded.decision.as_str());
    }

    /// The count of one verdict.
    pub fn verdict(&self, v: Verdict) -> u64 {
        self.by_verdict.get(v.as_str()).copied().unwrap_or(0)
    }

    /// The count of one change.
    pub fn change(&self, c: Change) -> u64 {
        self.by_change.get(c.as_str()).copied().unwrap_or(0)
    }
}

/// [`Totals`] while rows are being counted: by each name's place in its `ALL` rather than by
/// name. [`SummaryBuilder::add`] runs on the one thread that merges every decided request,
/// and looking three names up in the string-keyed maps of the run's and the node's totals was
/// half of its work.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    requests: u64,
    by_verdict: [u64; Verdict::ALL.len()],
    by_change: [u64; Change::ALL.len()],
    by_recorded: [u64; Recorded::ALL.len()],
}

/// Where each verdict, recorded outcome and change is in its `ALL` (a unit test checks
/// that): by exhaustive matches, so that a new variant does not compile until it has a place,
/// rather than being counted under another's name.
fn verdict_place(v: Verdict) -> usize {
    match v {
        Verdict::AllowedByNode => 0,
        Verdict::ReliesOnRbac => 1,
        Verdict::Forbidden => 2,
        Verdict::Indeterminate => 3,
    }
}

/// See [`verdict_place`].
fn recorded_place(r: Recorded) -> usize {
    match r {
        Recorded::Allowed => 0,
        Recorded::Forbidden => 1,
        Recorded::NoResponse => 2,
    }
}

/// See [`verdict_place`].
fn change_place(c: Change) -> usize {
    match c {
        Change::WouldBreak => 0,
        Change::FixedByTarget => 1,
        Change::Unchanged => 2,
    }
}

impl Tally {
    /// Counts one row, as [`Totals::add`] does.
    fn add(&mut self, row: &RequestVerdict) {
        self.requests += 1;
        self.by_verdict[verdict_place(row.verdict)] += 1;
        self.by_change[change_place(row.change)] += 1;
        self.by_recorded[recorded_place(row.recorded.decision)] += 1;
    }

    /// The counts by name, every name present.
    fn totals(&self) -> Totals {
        fn named<const N: usize>(names: [&str; N], counts: &[u64; N]) -> BTreeMap<String, u64> {
            names
                .iter()
                .zip(counts)
                .map(|(name, n)| (name.to_string(), *n))
                .collect()
        }
        Totals {
            requests: self.requests,
            by_verdict: named(Verdict::ALL.map(Verdict::as_str), &self.by_verdict),
            by_change: named(Change::ALL.map(Change::as_str), &self.by_change),
            by_recorded: named(Recorded::ALL.map(Recorded::as_str), &self.by_recorded),
        }
    }
}

/// Counts one more under `key`; allocates the key only the first time (this runs for every
/// request, several times).
fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

/// Totals of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeSummary {
    /// Node name (empty for kubelet requests that are not from a node identity).
    pub node: String,
    /// Its counts.
    #[serde(flatten)]
    pub totals: Totals,
}

/// One entry of a "top" list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopEntry {
    /// Verb.
    pub verb: String,
    /// API group (empty for core).
    pub api_group: String,
    /// `resource` or `resource/subresource`.
    pub resource: String,
    /// The verdict reason.
    pub reason: String,
    /// Requests.
    pub count: u64,
}

/// A (verb, resource) count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerbResourceCount {
    /// Verb.
    pub verb: String,
    /// `resource` or `resource/subresource`.
    pub resource: String,
    /// Requests.
    pub count: u64,
}

/// A binding that requests relied on (see [`RequestVerdict::relied_on_binding`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindingUse {
    /// `ClusterRoleBinding/<name>` or `RoleBinding/<ns>/<name>`.
    pub binding: BindingKey,
    /// Its role.
    pub role: String,
    /// Requests that relied on it.
    pub requests: u64,
    /// By (verb, resource), most frequent first.
    pub by_verb_resource: Vec<VerbResourceCount>,
}

/// One finding, as listed in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingLine {
    /// Finding id.
    pub id: String,
    /// Severity name.
    pub severity: String,
    /// Kind name.
    pub kind: String,
    /// Binding, for RBAC findings.
    pub binding: Option<String>,
    /// Subject.
    pub subject: String,
    /// Requests using it.
    pub requests_using: u64,
}

/// Findings counts and list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingsSummary {
    /// All findings.
    pub total: u64,
    /// By severity name (every severity present).
    pub by_severity: BTreeMap<String, u64>,
    /// By kind name (kinds that occur).
    pub by_kind: BTreeMap<String, u64>,
    /// Every finding, in report order.
    pub items: Vec<FindingLine>,
}

/// One request on which the model under the recorded configuration and the real apiserver
/// disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// `auditID`.
    pub audit_id: String,
    /// Input file.
    pub source_file: String,
    /// Line in it.
    pub source_line: u64,
    /// Node.
    pub node: String,
    /// Verb.
    pub verb: String,
    /// `resource` or `resource/subresource`.
    pub resource: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Recorded outcome (`allowed` / `forbidden`).
    pub recorded: String,
    /// Recorded `authorization.k8s.io/reason`.
    pub recorded_reason: Option<String>,
    /// True when the recorded refusal came from admission.
    pub recorded_by_admission: bool,
    /// The model's verdict.
    pub model: String,
    /// The model's reason.
    pub model_reason: String,
    /// True when the model's refusal came from admission.
    pub model_by_admission: bool,
}

/// Agreement of the model under the recorded configuration with what the apiserver recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// The recorded configuration, e.g. `--authorization-mode=Node,RBAC`.
    pub configuration: String,
    /// True when the configuration was inferred from the recorded reasons, not given.
    pub inferred: bool,
    /// Requests compared (recorded outcome known, model verdict determinate).
    pub compared: u64,
    /// Of those, how many agreed (same outcome, same source, same reason where recorded).
    pub agreed: u64,
    /// `agreed / compared`; `None` when nothing was compared.
    pub rate: Option<f64>,
    /// Requests not compared (no recorded outcome, or indeterminate model verdict).
    pub not_compared: u64,
    /// All disagreements counted.
    pub disagreements_total: u64,
    /// The first [`MAX_DISAGREEMENTS`] disagreements.
    pub disagreements: Vec<Disagreement>,
}

/// A legacy binding and the requests that relied on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegacyUse {
    /// The binding.
    pub binding: BindingKey,
    /// Requests that relied on it.
    pub requests: u64,
    /// By (verb, resource).
    pub by_verb_resource: Vec<VerbResourceCount>,
}

/// The readiness verdict of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// True when no request would break and none relied on a legacy binding.
    pub ready: bool,
    /// The one line printed at the end of every report.
    pub line: String,
    /// Each legacy binding found and its use.
    pub legacy_bindings: Vec<LegacyUse>,
    /// Requests that would break under the target.
    pub would_break: u64,
    /// Those by (verb, resource).
    pub would_break_by_verb_resource: Vec<VerbResourceCount>,
}

/// Everything `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// [`crate::export::parquet::SCHEMA_VERSION`].
    pub schema_version: String,
    /// The target scenario, as described by the caller.
    pub target: String,
    /// Totals over all requests.
    pub totals: Totals,
    /// Per node, by node name.
    pub per_node: Vec<NodeSummary>,
    /// Most frequent (verb, resource, reason) among `would_break` requests.
    pub top_would_break: Vec<TopEntry>,
    /// Most frequent (verb, resource, reason) among `forbidden` requests.
    pub top_forbidden: Vec<TopEntry>,
    /// Bindings that requests relied on, most used first.
    pub bindings_relied_on: Vec<BindingUse>,
    /// Findings.
    pub findings: FindingsSummary,
    /// Present when the recorded configuration is known.
    pub agreement: Option<Agreement>,
    /// The `--compare` columns, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<crate::compare::Comparison>,
    /// The configurations the log was recorded under, inferred phase by phase when not given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recorded_phases: Vec<crate::phases::Phase>,
    /// The readiness line and its numbers.
    pub readiness: Readiness,
}

/// The model's answer under the recorded configuration, for the agreement check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelAnswer<'a> {
    /// Verdict under the recorded configuration.
    pub verdict: Verdict,
    /// Its reason (see [`crate::verdict::Classified::reason`]).
    pub reason: &'a str,
    /// True when the model's refusal comes from admission.
    pub by_admission: bool,
}

type TopKey = (String, String, String, String);
/// Role of a binding and its use by (verb, resource).
type BindingUseCounts = (String, HashMap<(String, String), u64>);

#[derive(Debug, Default)]
struct AgreementBuilder {
    configuration: String,
    inferred: bool,
    compared: u64,
    agreed: u64,
    not_compared: u64,
    disagreements_total: u64,
    disagreements: Vec<Disagreement>,
}

/// Does the model's answer (`verdict`, refused `by_admission`, with `reason`) reproduce what
/// the apiserver recorded? `None` when the two cannot be compared (no recorded outcome, or an
/// indeterminate model answer); otherwise whether they agree: the same outcome, from the same
/// stage (authorization or admission), with the same recorded reason where the log has one.
/// The reason is taken in the parts it is built from, and compared without being built.
fn agreement(
    recorded: RecordedFacts<'_>,
    verdict: Verdict,
    by_admission: bool,
    reason: ReasonParts<'_>,
) -> Option<bool> {
    if recorded.decision == Recorded::NoResponse || verdict == Verdict::Indeterminate {
        return None;
    }
    let recorded_allowed = recorded.decision == Recorded::Allowed;
    let same_outcome = recorded_allowed == verdict.is_allowed();
    let same_source = recorded_allowed || recorded.by_admission == by_admission;
    let reason_comparable = recorded_allowed || !recorded.by_admission;
    let same_reason = !reason_comparable || recorded.reason.is_none_or(|r| reason.is(r));
    Some(same_outcome && same_source && same_reason)
}

/// What the comparison with the model ([`Settled::settle`]) reads of a recorded outcome
/// ([`RecordedOutcome`]), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedFacts<'a> {
    /// The classified outcome.
    pub decision: Recorded,
    /// Refused by admission.
    pub by_admission: bool,
    /// The `authorization.k8s.io/reason` annotation, if logged.
    pub reason: Option<&'a str>,
}

impl<'a> RecordedFacts<'a> {
    /// The facts of a row's recorded outcome.
    pub fn of(recorded: &'a RecordedOutcome) -> Self {
        RecordedFacts {
            decision: recorded.decision,
            by_admission: recorded.by_admission,
            reason: recorded.reason.as_deref(),
        }
    }

    /// The facts of a request's logged annotations and code, classified as
    /// [`RecordedOutcome::from_log`] classifies them.
    pub fn from_log(annotation: Option<&str>, reason: Option<&'a str>, code: Option<i32>) -> Self {
        let (decision, by_admission) = RecordedOutcome::classify(annotation, reason, code);
        RecordedFacts {
            decision,
            by_admission,
            reason,
        }
    }
}

/// A model's answer compared with what was recorded. The deciding workers settle each
/// candidate configuration's answer where the request is decided, so that the one thread that
/// merges their results neither builds nor compares reasons; only a disagreement that may be
/// shown as an example keeps its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Not comparable: no outcome was recorded, or the model cannot tell.
    NotCompared,
    /// The answer reproduces what was recorded.
    Agreed,
    /// It does not: the answer, unless no example of it was wanted (see
    /// [`crate::phases::ExampleDemand`]).
    Disagreed(Option<OwnedAnswer>),
}

/// A [`ModelAnswer`] that owns its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedAnswer {
    /// Verdict under the recorded configuration.
    pub verdict: Verdict,
    /// Its reason.
    pub reason: String,
    /// True when the model's refusal comes from admission.
    pub by_admission: bool,
}

impl OwnedAnswer {
    /// The answer, borrowed.
    pub fn answer(&self) -> ModelAnswer<'_> {
        ModelAnswer {
            verdict: self.verdict,
            reason: &self.reason,
            by_admission: self.by_admission,
        }
    }
}

impl Settled {
    /// `model` compared with `row`'s recorded outcome.
    pub fn of(row: &RequestVerdict, model: ModelAnswer<'_>) -> Settled {
        Settled::settle(
            RecordedFacts::of(&row.recorded),
            model.verdict,
            model.by_admission,
            ReasonParts::one(model.reason),
            true,
        )
    }

    /// An answer (`verdict`, refused `by_admission`, with `reason`) compared with `recorded`;
    /// a disagreeing answer is kept (and its reason built) only if `keep`.
    pub fn settle(
        recorded: RecordedFacts<'_>,
        verdict: Verdict,
        by_admission: bool,
        reason: ReasonParts<'_>,
        keep: bool,
    ) -> Settled {
        match agreement(recorded, verdict, by_admission, reason) {
            None => Settled::NotCompared,
            Some(true) => Settled::Agreed,
            Some(false) => Settled::Disagreed(keep.then(|| OwnedAnswer {
                verdict,
                reason: reason.joined(),
                by_admission,
            })),
        }
    }
}

/// The report line of a request on which the model and the recorded apiserver disagree.
pub fn disagreement(row: &RequestVerdict, model: ModelAnswer<'_>) -> Disagreement {
    Disagreement {
        audit_id: row.audit_id.to_string(),
        source_file: row.source_file.to_string(),
        source_line: row.source_line,
        node: row.node.to_string(),
        verb: row.verb.to_string(),
        resource: row.combined_resource(),
        namespace: row.namespace.to_string(),
        name: row.name.to_string(),
        recorded: row.recorded.decision.as_str().to_owned(),
        recorded_reason: row.recorded.reason.as_deref().map(str::to_owned),
        recorded_by_admission: row.recorded.by_admission,
        model: model.verdict.as_str().to_owned(),
        model_reason: model.reason.to_owned(),
        model_by_admission: model.by_admission,
    }
}

/// Accumulates a [`Summary`] from streamed rows.
#[derive(Debug)]
pub struct SummaryBuilder {
    target: String,
    top: usize,
    totals: Tally,
    /// Hashed, looked up once a row on the merging thread; sorted by node when finished.
    per_node: FxHashMap<String, Tally>,
    would_break: HashMap<TopKey, u64>,
    forbidden: HashMap<TopKey, u64>,
    relied: HashMap<BindingKey, BindingUseCounts>,
    would_break_vr: HashMap<(String, String), u64>,
    /// Forbidden under the target and recorded as forbidden too.
    forbidden_as_recorded: u64,
    agreement: Option<AgreementBuilder>,
}

fn top_key(row: &RequestVerdict) -> TopKey {
    (
        row.verb.to_string(),
        row.api_group.to_string(),
        row.combined_resource(),
        row.verdict_reason.to_string(),
    )
}

fn sorted_verb_resource(m: &HashMap<(String, String), u64>) -> Vec<VerbResourceCount> {
    let mut v: Vec<VerbResourceCount> = m
        .iter()
        .map(|((verb, resource), count)| VerbResourceCount {
            verb: verb.clone(),
            resource: resource.clone(),
            count: *count,
        })
        .collect();
    v.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| (&a.verb, &a.resource).cmp(&(&b.verb, &b.resource)))
    });
    v
}

fn top_list(m: HashMap<TopKey, u64>, n: usize) -> Vec<TopEntry> {
    let mut v: Vec<TopEntry> = m
        .into_iter()
        .map(|((verb, api_group, resource, reason), count)| TopEntry {
            verb,
            api_group,
            resource,
            reason,
            count,
        })
        .collect();
    v.sort_by(|a, b| {
        b.count.cmp(&a.count).then_with(|| {
            (&a.verb, &a.api_group, &a.resource, &a.reason).cmp(&(
                &b.verb,
                &b.api_group,
                &b.resource,
                &b.reason,
            ))
        })
    });
    v.truncate(n);
    v
}

/// `1 request`, `2 requests`.
pub fn requests_phrase(n: u64) -> String {
    if n == 1 {
        "1 request".to_owned()
    } else {
        format!("{n} requests")
    }
}

fn examples(v: &[VerbResourceCount]) -> String {
    let mut parts: Vec<String> = v
        .iter()
        .take(READINESS_EXAMPLES)
        .map(|c| format!("{} {} {}", c.count, c.verb, c.resource))
        .collect();
    if v.len() > READINESS_EXAMPLES {
        parts.push(format!("and {} more", v.len() - READINESS_EXAMPLES));
    }
    parts.join(", ")
}

/// The readiness line (see [`Readiness`]):
/// - with a legacy binding and nothing relying on it or breaking:
///   `safe to remove ClusterRoleBinding system:node: 0 requests relied on it`;
/// - with a legacy binding in use: `not safe to remove ClusterRoleBinding system:node:
///   N requests relied on it (<count> <verb> <resource>, …)`;
/// - without legacy binding: `ready for the target configuration: 0 requests would break`;
/// - anything that would break under the target is appended:
///   `M requests would break under the target (<count> <verb> <resource>, …)`.
pub fn readiness(
    legacy: Vec<LegacyUse>,
    would_break_by_verb_resource: Vec<VerbResourceCount>,
    forbidden_as_recorded: u64,
) -> Readiness {
    let would_break: u64 = would_break_by_verb_resource.iter().map(|c| c.count).sum();
    let mut parts = Vec::new();
    for l in &legacy {
        let what = l.binding.describe();
        if l.requests == 0 && would_break == 0 {
            parts.push(format!("safe to remove {what}: 0 requests relied on it"));
        } else if l.requests == 0 {
            parts.push(format!(
                "not safe to remove {what}: 0 requests relied on it"
            ));
        } else {
            parts.push(format!(
                "not safe to remove {what}: {} relied on it ({})",
                requests_phrase(l.requests),
                examples(&l.by_verb_resource)
            ));
        }
    }
    if legacy.is_empty() {
        if would_break == 0 {
            parts.push("ready for the target configuration: 0 requests would break".to_owned());
        } else {
            parts.push("not ready for the target configuration".to_owned());
        }
    }
    if would_break > 0 {
        parts.push(format!(
            "{} would break under the target ({})",
            requests_phrase(would_break),
            examples(&would_break_by_verb_resource)
        ));
    }
    if forbidden_as_recorded > 0 {
        // Not a regression, but a kubelet that is refused today is not working either.
        parts.push(format!(
            "{} forbidden both when recorded and under the target",
            requests_phrase(forbidden_as_recorded)
        ));
    }
    let ready = would_break == 0 && legacy.iter().all(|l| l.requests == 0);
    Readiness {
        ready,
        line: parts.join("; "),
        legacy_bindings: legacy,
        would_break,
        would_break_by_verb_resource,
    }
}

fn finding_line(f: &Finding) -> FindingLine {
    FindingLine {
        id: f.id.clone(),
        severity: f.severity.as_str().to_owned(),
        kind: f.kind.as_str().to_owned(),
        binding: f.binding.as_ref().map(|b| b.to_string()),
        subject: f.subject.clone(),
        requests_using: f.requests_using,
    }
}

impl SummaryBuilder {
    /// A builder for a run against `target` (a description such as
    /// `Node,RBAC + NodeRestriction, Kubernetes 1.34`).
    pub fn new(target: &str) -> Self {
        SummaryBuilder {
            target: target.to_owned(),
            top: DEFAULT_TOP,
            totals: Tally::default(),
            per_node: FxHashMap::default(),
            would_break: HashMap::new(),
            forbidden: HashMap::new(),
            relied: HashMap::new(),
            would_break_vr: HashMap::new(),
            forbidden_as_recorded: 0,
            agreement: None,
        }
    }

    /// Declares the recorded configuration; enables the agreement section.
    pub fn set_recorded_configuration(&mut self, configuration: &str, inferred: bool) {
        let a = self.agreement.get_or_insert_with(AgreementBuilder::default);
        a.configuration = configuration.to_owned();
        a.inferred = inferred;
    }

    /// Counts one row.
    pub fn add(&mut self, row: &RequestVerdict) {
        self.totals.add(row);
        if row.verdict == Verdict::Forbidden && row.recorded.decision == Recorded::Forbidden {
            self.forbidden_as_recorded += 1;
        }
        match self.per_node.get_mut(row.node.as_str()) {
            Some(t) => t.add(row),
            None => {
                let mut t = Tally::default();
                t.add(row);
                self.per_node.insert(row.node.to_string(), t);
            }
        }
        if row.change == Change::WouldBreak {
            *self.would_break.entry(top_key(row)).or_default() += 1;
            *self
                .would_break_vr
                .entry((row.verb.to_string(), row.combined_resource()))
                .or_default() += 1;
        }
        if row.verdict == Verdict::Forbidden {
            *self.forbidden.entry(top_key(row)).or_default() += 1;
        }
        {
            if let Some(b) = row.relied_on_binding() {
                let entry = self
                    .relied
                    .entry(b.clone())
                    .or_insert_with(|| (row.rbac.role.clone().unwrap_or_default(), HashMap::new()));
                *entry
                    .1
                    .entry((row.verb.to_string(), row.combined_resource()))
                    .or_default() += 1;
            }
        }
    }

    /// Compares the model's answer under the recorded configuration with what was recorded.
    /// Agreement means the same outcome (allowed or not), the same source of a refusal
    /// (authorization or admission), and, where the log has an authorization reason that the
    /// model also produces (allow reasons, authorization refusals), the same reason string.
    pub fn compare_recorded(&mut self, row: &RequestVerdict, model: ModelAnswer<'_>) {
        self.compare_settled(row, &Settled::of(row, model));
    }

    /// [`SummaryBuilder::compare_recorded`] on an answer already compared.
    pub fn compare_settled(&mut self, row: &RequestVerdict, settled: &Settled) {
        let a = self.agreement.get_or_insert_with(AgreementBuilder::default);
        match settled {
            Settled::NotCompared => a.not_compared += 1,
            Settled::Agreed => {
                a.compared += 1;
                a.agreed += 1;
            }
            Settled::Disagreed(answer) => {
                a.compared += 1;
                a.disagreements_total += 1;
                if a.disagreements.len() < MAX_DISAGREEMENTS {
                    debug_assert!(answer.is_some(), "a disagreement wanted was not kept");
                    if let Some(answer) = answer {
                        a.disagreements.push(disagreement(row, answer.answer()));
                    }
                }
            }
        }
    }

    /// The summary, with the findings (whose `requests_using` should be filled by then).
    pub fn finish(self, findings: &Findings) -> Summary {
        let mut bindings_relied_on: Vec<BindingUse> = self
            .relied
            .iter()
            .map(|(binding, (role, by_vr))| BindingUse {
                binding: binding.clone(),
                role: role.clone(),
                requests: by_vr.values().sum(),
                by_verb_resource: sorted_verb_resource(by_vr),
            })
            .collect();
        bindings_relied_on.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then_with(|| a.binding.cmp(&b.binding))
        });
        let legacy: Vec<LegacyUse> = findings
            .legacy_bindings()
            .map(|b| {
                let used = bindings_relied_on.iter().find(|u| &u.binding == b);
                LegacyUse {
                    binding: b.clone(),
                    requests: used.map_or(0, |u| u.requests),
                    by_verb_resource: used.map_or_else(Vec::new, |u| u.by_verb_resource.clone()),
                }
            })
            .collect();
        let mut by_severity: BTreeMap<String, u64> = Severity::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), 0))
            .collect();
        let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
        for f in &findings.items {
            *by_severity
                .entry(f.severity.as_str().to_owned())
                .or_default() += 1;
            *by_kind.entry(f.kind.as_str().to_owned()).or_default() += 1;
        }
        let agreement = self.agreement.map(|a| Agreement {
            rate: (a.compared > 0).then(|| a.agreed as f64 / a.compared as f64),
            configuration: a.configuration,
            inferred: a.inferred,
            compared: a.compared,
            agreed: a.agreed,
            not_compared: a.not_compared,
            disagreements_total: a.disagreements_total,
            disagreements: a.disagreements,
        });
        Summary {
            schema_version: super::parquet::SCHEMA_VERSION.to_owned(),
            target: self.target,
            totals: self.totals.totals(),
            per_node: {
                let mut nodes: Vec<(String, Tally)> = self.per_node.into_iter().collect();
                nodes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                nodes
                    .into_iter()
                    .map(|(node, tally)| NodeSummary {
                        node,
                        totals: tally.totals(),
                    })
                    .collect()
            },
            top_would_break: top_list(self.would_break, self.top),
            top_forbidden: top_list(self.forbidden, self.top),
            bindings_relied_on,
            findings: FindingsSummary {
                total: findings.items.len() as u64,
                by_severity,
                by_kind,
                items: findings.items.iter().map(finding_line).collect(),
            },
            agreement,
            comparison: None,
            recorded_phases: Vec::new(),
            readiness: readiness(
                legacy,
                sorted_verb_resource(&self.would_break_vr),
                self.forbidden_as_recorded,
            ),
        }
    }
}

impl Summary {
    /// Pretty JSON for `summary.json`.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

/// What `--fail-on` can name: a verdict, or the `would_break` change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Any request with this verdict.
    Verdict(Verdict),
    /// Any request whose change is `would_break`.
    WouldBreak,
}

impl FailOn {
    /// Parses `would_break`, `forbidden`, `relies_on_rbac`, `indeterminate` (and
    /// `allowed_by_node`, for completeness).
    pub fn parse(s: &str) -> Option<FailOn> {
        if s == Change::WouldBreak.as_str() {
            return Some(FailOn::WouldBreak);
        }
        Verdict::parse(s).map(FailOn::Verdict)
    }

    /// True when at least one request of the run matches.
    pub fn triggered(self, totals: &Totals) -> bool {
        match self {
            FailOn::Verdict(v) => totals.verdict(v) > 0,
            FailOn::WouldBreak => totals.change(Change::WouldBreak) > 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::counted_row;

    #[test]
    fn every_name_has_its_place_in_all() {
        for (i, v) in Verdict::ALL.into_iter().enumerate() {
            assert_eq!(verdict_place(v), i, "{v:?}");
        }
        for (i, r) in Recorded::ALL.into_iter().enumerate() {
            assert_eq!(recorded_place(r), i, "{r:?}");
        }
        for (i, c) in Change::ALL.into_iter().enumerate() {
            assert_eq!(change_place(c), i, "{c:?}");
        }
    }

    /// The counts by place come out as the counts by name: every verdict, recorded outcome
    /// and change, on two nodes and off any node, each a different number of times.
    #[test]
    fn totals_counted_by_place_are_the_totals_counted_by_name() {
        let recorded = [
            RecordedOutcome::from_log(Some("allow"), Some(""), Some(200)),
            RecordedOutcome::from_log(Some("forbid"), Some(""), Some(403)),
            RecordedOutcome::from_log(None, None, None),
        ];
        let mut builder = SummaryBuilder::new("target");
        let mut expected = Totals::default();
        let mut expected_per_node: BTreeMap<String, Totals> = BTreeMap::new();
        let mut n = 0;
        for (v, verdict) in Verdict::ALL.into_iter().enumerate() {
            for (r, outcome) in recorded.iter().enumerate() {
                let node = ["node1", "node2", ""][(v + r) % 3];
                for _ in 0..=(v * 3 + r) {
                    let row = counted_row(node, verdict, outcome.clone());
                    builder.add(&row);
                    expected.add(&row);
                    expected_per_node.entry(node.into()).or_default().add(&row);
                    n += 1;
                }
            }
        }
        let summary = builder.finish(&Findings::default());
        assert_eq!(summary.totals.requests, n);
        assert_eq!(n, 78);
        assert_eq!(summary.totals, expected);
        assert_eq!(summary.totals.verdict(Verdict::Forbidden), 7 + 8 + 9);
        assert_eq!(
            summary.totals.by_recorded["no_response"],
            [2, 5, 8, 11].iter().map(|k| k + 1).sum::<u64>()
        );
        let per_node: BTreeMap<String, Totals> = summary
            .per_node
            .into_iter()
            .map(|n| (n.node, n.totals))
            .collect();
        assert_eq!(per_node, expected_per_node);
        assert_eq!(per_node.keys().collect::<Vec<_>>(), ["", "node1", "node2"]);
    }

    /// The agreement of a model's answer with a row, as it was written before it was built on
    /// the facts and the reason's parts.
    fn agreement_as_written(row: &RequestVerdict, model: ModelAnswer<'_>) -> Option<bool> {
        if row.recorded.decision == Recorded::NoResponse || model.verdict == Verdict::Indeterminate
        {
            return None;
        }
        let recorded_allowed = row.recorded.decision == Recorded::Allowed;
        let same_outcome = recorded_allowed == model.verdict.is_allowed();
        let same_source = recorded_allowed || row.recorded.by_admission == model.by_admission;
        let reason_comparable = recorded_allowed || !row.recorded.by_admission;
        let same_reason = !reason_comparable
            || row
                .recorded
                .reason
                .as_deref()
                .is_none_or(|r| r == model.reason);
        Some(same_outcome && same_source && same_reason)
    }

    /// An answer settled where it is decided, from the request's logged facts and the reason's
    /// parts, is what the comparison with the row gave before: agreed, not compared, or disagreed
    /// with the answer kept whole.
    #[test]
    fn an_answer_settled_from_its_parts_is_the_one_compared_with_the_row() {
        let logged: [(Option<&str>, Option<&str>, Option<i32>); 7] = [
            (Some("allow"), Some("RBAC: allowed by x"), Some(200)),
            (Some("forbid"), Some("no path\nRBAC: none"), Some(403)),
            (Some("forbid"), Some("no path"), Some(403)),
            (Some("forbid"), None, Some(403)),
            (Some("allow"), Some(""), Some(403)),
            (None, None, Some(403)),
            (None, None, None),
        ];
        let answers = [
            (Verdict::AllowedByNode, ["", ""], false),
            (Verdict::ReliesOnRbac, ["RBAC: allowed by x", ""], false),
            (Verdict::Forbidden, ["no path", "RBAC: none"], false),
            (Verdict::Forbidden, ["no path", ""], false),
            (Verdict::Forbidden, ["node may not", ""], true),
            (Verdict::Indeterminate, ["pod not seen", ""], false),
        ];
        let mut counts = [0; 3];
        for (annotation, reason, code) in logged {
            let recorded = RecordedOutcome::from_log(annotation, reason, code);
            let facts = RecordedFacts::from_log(annotation, reason, code);
            assert_eq!(facts, RecordedFacts::of(&recorded));
            let row = counted_row("n1", Verdict::AllowedByNode, recorded);
            for (verdict, parts, by_admission) in answers {
                let parts = ReasonParts::of(parts);
                let joined = parts.joined();
                let model = ModelAnswer {
                    verdict,
                    reason: &joined,
                    by_admission,
                };
                let settled = Settled::settle(facts, verdict, by_admission, parts, true);
                assert_eq!(settled, Settled::of(&row, model));
                let unkept = Settled::settle(facts, verdict, by_admission, parts, false);
                match &settled {
                    Settled::Disagreed(_) => assert_eq!(unkept, Settled::Disagreed(None)),
                    _ => assert_eq!(unkept, settled),
                }
                let compared = agreement(facts, verdict, by_admission, ReasonParts::one(&joined));
                assert_eq!(compared, agreement_as_written(&row, model));
                match (agreement_as_written(&row, model), &settled) {
                    (None, Settled::NotCompared) => counts[0] += 1,
                    (Some(true), Settled::Agreed) => counts[1] += 1,
                    (Some(false), Settled::Disagreed(Some(kept))) => {
                        assert_eq!(kept.answer(), model);
                        counts[2] += 1;
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        // Not compared: the request with no response under every answer, and the indeterminate
        // answer on every other request. Agreed: the allowed request with the answer of its
        // logged reason (not with the Node authorizer's empty one), each authorization refusal
        // with the answers of its reason (both refusals when it logged none), and the
        // admission refusal with admission's answer, whatever its reason.
        assert_eq!(counts, [6 + 6, 1 + 1 + 1 + 2 + 1 + 2, 42 - 12 - 8]);
        let refused = counted_row(
            "n1",
            Verdict::Forbidden,
            RecordedOutcome::from_log(Some("forbid"), Some("no path\nRBAC: none"), Some(403)),
        );
        let other = ModelAnswer {
            verdict: Verdict::Forbidden,
            reason: "no path\nRBAC: other",
            by_admission: false,
        };
        assert_eq!(
            Settled::of(&refused, other),
            Settled::Disagreed(Some(OwnedAnswer {
                verdict: Verdict::Forbidden,
                reason: "no path\nRBAC: other".into(),
                by_admission: false,
            }))
        );
    }
}
