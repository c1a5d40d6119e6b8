//! The RBAC authorizer over an [`RbacPolicy`], precompiled for cheap per-request evaluation.
//!
//! Behaviour follows upstream `plugin/pkg/auth/authorizer/rbac/` and `pkg/registry/rbac/validation`
//! (spec section 9): bindings that apply to the user are visited ClusterRoleBindings first, then
//! the RoleBindings of the request namespace; the first rule that allows wins and its binding is
//! described in the allow reason. A binding whose role cannot be resolved contributes a
//! rule-resolution error, which becomes the no-opinion reason (`RBAC: <aggregated errors>`).
//!
//! Upstream visits bindings in informer-cache order, which is unspecified; the model visits them
//! sorted by (namespace, name) so that the allow reason is deterministic.
//!
//! ClusterRoles with an `aggregationRule` get the rules the aggregation controller would write:
//! for each selector in order, the matching ClusterRoles other than itself sorted by name, their
//! rules appended unless already present; repeated until nothing changes (the controller
//! converges the same way when aggregated roles aggregate each other).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use super::goquote::{go_quote, push_go_quoted};
use super::Attributes;
use crate::cluster::rbac_types::{Binding, LabelSelector, PolicyRule, RbacPolicy, Role, Subject};
use crate::graph::intern::FxHashMap;
use compact_str::CompactString;

/// Whether `rule` allows the request (spec 9.1). Used by RBAC and by the Node authorizer's
/// static rules.
pub fn rule_allows(attrs: &Attributes, rule: &PolicyRule) -> bool {
    if !attrs.resource_request {
        return verb_matches(rule, &attrs.verb) && non_resource_url_matches(rule, &attrs.path);
    }
    rule_grants(
        rule,
        &attrs.api_group,
        &attrs.resource,
        &attrs.subresource,
        &attrs.verb,
    ) && resource_name_matches(rule, &attrs.name)
}

/// Whether `rule` grants `verb` on `resource` (with `subresource`, empty for none) in
/// `api_group` for at least one object name: spec 9.1 without `resourceNames`. The static
/// findings compare whole rules with it, where no object name exists.
pub fn rule_grants(
    rule: &PolicyRule,
    api_group: &str,
    resource: &str,
    subresource: &str,
    verb: &str,
) -> bool {
    verb_matches(rule, verb)
        && api_group_matches(rule, api_group)
        && resource_matches(rule, resource, subresource)
}

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == "*" || g == group)
}

fn resource_matches(rule: &PolicyRule, resource: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        if r == "*" {
            return true;
        }
        if subresource.is_empty() {
            return r == resource;
        }
        // `resource/subresource` exactly, or `*/subresource` exactly (upstream compares with
        // the joined string; the parts are compared in place instead of joining them).
        is_joined(r, resource, subresource) || is_joined(r, "*", subresource)
    })
}

/// Whether `entry` is `head/tail`.
fn is_joined(entry: &str, head: &str, tail: &str) -> bool {
    entry.len() == head.len() + 1 + tail.len()
        && entry.starts_with(head)
        && entry.ends_with(tail)
        && entry.as_bytes()[head.len()] == b'/'
}

fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    if rule.resource_names.is_empty() {
        return true;
    }
    rule.resource_names.iter().any(|n| n == name)
}

fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls.iter().any(|u| {
        if u == "*" || u == path {
            return true;
        }
        // Upstream trims every trailing `*` (`strings.TrimRight(ruleURL, "*")`), so `/a**`
        // is the same prefix rule as `/a*`.
        u.ends_with('*') && path.starts_with(u.trim_end_matches('*'))
    })
}

/// A rule rendered compactly, in the spirit of upstream's `CompactString`:
/// `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`.
pub fn render_rule(rule: &PolicyRule) -> String {
    let mut out = String::from("{");
    let mut first = true;
    let mut field = |out: &mut String, name: &str, values: &[String]| {
        if values.is_empty() {
            return;
        }
        if !first {
            out.push_str(", ");
        }
        first = false;
        out.push_str(name);
        out.push_str(":[");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            push_go_quoted(out, v);
        }
        out.push(']');
    };
    field(&mut out, "APIGroups", &rule.api_groups);
    field(&mut out, "Resources", &rule.resources);
    field(&mut out, "ResourceNames", &rule.resource_names);
    field(&mut out, "NonResourceURLs", &rule.non_resource_urls);
    field(&mut out, "Verbs", &rule.verbs);
    out.push('}');
    out
}

/// Whether a binding is a ClusterRoleBinding or a RoleBinding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum BindingKind {
    /// Grants its ClusterRole cluster-wide.
    ClusterRoleBinding,
    /// Grants its Role or ClusterRole in its own namespace.
    RoleBinding,
}

impl BindingKind {
    /// The kind as Kubernetes names it.
    pub fn as_str(self) -> &'static str {
        match self {
            BindingKind::ClusterRoleBinding => "ClusterRoleBinding",
            BindingKind::RoleBinding => "RoleBinding",
        }
    }
}

/// The binding, role, subject and rule that allowed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbacMatch {
    /// Kind of the binding that allowed.
    pub binding_kind: BindingKind,
    /// Name of that binding.
    pub binding_name: String,
    /// Empty for ClusterRoleBindings.
    pub binding_namespace: String,
    /// `Role` or `ClusterRole`.
    pub role_kind: String,
    /// Name of the bound role.
    pub role_name: String,
    /// The subject as the reason describes it, e.g. `Group "system:nodes"`.
    pub subject: String,
    /// Index of the rule in the role's effective (aggregated) rules.
    pub rule_index: usize,
    /// The rule, rendered by [`render_rule`].
    pub rule: String,
}

/// RBAC's answer: allow with the binding, or no opinion (with the rule-resolution errors met).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbacDecision {
    /// True when a binding allowed the request.
    pub allowed: bool,
    /// `RBAC: allowed by …`, `RBAC: <errors>`, or empty.
    pub reason: String,
    /// What allowed it, when something did (shared: the same binding, subject and rule allow
    /// many requests).
    pub matched: Option<Arc<RbacMatch>>,
}

/// A role's effective rules, shared between bindings.
type Rules = Arc<IndexedRules>;

/// Rules in order, with an index from a resource to the rules that may grant it: a request
/// for one resource need not compare its verb, group and resource with every rule of a role
/// (`system:node` has over twenty, and replaying a log asks RBAC millions of times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedRules {
    rules: Vec<PolicyRule>,
    /// Rule positions by the resource an entry of `resources` names (the part before `/`),
    /// ascending.
    by_resource: FxHashMap<String, Vec<usize>>,
    /// Positions of the rules with a `*` or `*/subresource` entry, ascending.
    any_resource: Vec<usize>,
}

impl IndexedRules {
    /// Indexes `rules`, keeping their order.
    pub fn new(rules: Vec<PolicyRule>) -> Self {
        let mut by_resource: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        let mut any_resource = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            for r in &rule.resources {
                let list = match resource_head(r) {
                    "*" => &mut any_resource,
                    head => by_resource.entry(head.to_string()).or_default(),
                };
                // Ascending, once per rule (`pods` and `pods/status` share a head).
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        IndexedRules {
            rules,
            by_resource,
            any_resource,
        }
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[PolicyRule] {
        &self.rules
    }

    /// The position of the first rule that allows `attrs`: the same answer as trying every
    /// rule in order with [`rule_allows`], trying only those whose resources could match.
    pub fn first_allowing(&self, attrs: &Attributes) -> Option<usize> {
        if !attrs.resource_request {
            return self.rules.iter().position(|r| rule_allows(attrs, r));
        }
        // Every entry that matches the resource is `*`, `*/<subresource>`, the resource, or
        // the resource with a subresource: indexed under `*` or under the resource.
        let named = self
            .by_resource
            .get(resource_head(&attrs.resource))
            .map_or(&[][..], Vec::as_slice);
        // Both lists are ascending, so the first rule that allows is the earlier of each
        // list's first; a wildcard rule counts only if it comes before the named one.
        let allows = |i: &&usize| rule_allows(attrs, &self.rules[**i]);
        let named_first = named.iter().find(allows).copied();
        let before = named_first.unwrap_or(usize::MAX);
        let any_first = self
            .any_resource
            .iter()
            .take_while(|&&i| i < before)
            .find(allows)
            .copied();
        any_first.or(named_first)
    }
}

/// The resource a `resources` entry or a requested resource names: the part before `/`.
fn resource_head(resource: &str) -> &str {
    // By bytes: a `str` search for one character costs more than this loop on these short
    // names, and it runs for every rule list a request is checked against.
    match resource.bytes().position(|b| b == b'/') {
        Some(at) => &resource[..at],
        None => resource,
    }
}

#[derive(Debug, PartialEq)]
struct CompiledBinding {
    kind: BindingKind,
    name: String,
    namespace: String,
    role_kind: String,
    role_name: String,
    subjects: Vec<Subject>,
    /// The referenced role's rules, or the rule-resolution error text.
    rules: Result<Rules, String>,
    /// The allow reason and match of each (subject, rule) pair, built the first time that pair
    /// allows: a replayed log asks the same few pairs hundreds of thousands of times, and
    /// Go-quoting the reason anew each time cost more than finding the rule. Per subject, the
    /// rules' cells are made on the subject's first allow (a binding may list thousands of
    /// subjects, most never seen).
    allows: Vec<OnceLock<Box<[Allow]>>>,
}

/// A cached allow decision: the reason and the match.
type Allow = OnceLock<(String, Arc<RbacMatch>)>;

impl CompiledBinding {
    fn new(
        b: &Binding,
        kind: BindingKind,
        namespace: String,
        rules: Result<Rules, String>,
    ) -> Self {
        CompiledBinding {
            kind,
            name: b.metadata.name.clone(),
            namespace,
            role_kind: b.role_ref.kind.clone(),
            role_name: b.role_ref.name.clone(),
            subjects: b.subjects.clone(),
            rules,
            allows: (0..b.subjects.len()).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The decision when subject `subject_idx` is allowed by rule `rule_index` of `rules`.
    fn allow(&self, subject_idx: usize, rules: &[PolicyRule], rule_index: usize) -> RbacDecision {
        let build = || {
            let subject = describe_subject(&self.subjects[subject_idx], &self.namespace);
            let mut reason = String::with_capacity(128);
            reason.push_str("RBAC: allowed by ");
            reason.push_str(self.kind.as_str());
            reason.push(' ');
            match self.kind {
                BindingKind::ClusterRoleBinding => push_go_quoted(&mut reason, &self.name),
                BindingKind::RoleBinding => {
                    push_go_quoted(&mut reason, &format!("{}/{}", self.name, self.namespace))
                }
            }
            let _ = write!(reason, " of {} ", self.role_kind);
            push_go_quoted(&mut reason, &self.role_name);
            reason.push_str(" to ");
            reason.push_str(&subject);
            let matched = RbacMatch {
                binding_kind: self.kind,
                binding_name: self.name.clone(),
                binding_namespace: self.namespace.clone(),
                role_kind: self.role_kind.clone(),
                role_name: self.role_name.clone(),
                subject,
                rule_index,
                rule: render_rule(&rules[rule_index]),
            };
            (reason, Arc::new(matched))
        };
        let cell = self.allows.get(subject_idx).and_then(|per_rule| {
            per_rule
                .get_or_init(|| (0..rules.len()).map(|_| OnceLock::new()).collect())
                .get(rule_index)
        });
        let (reason, matched) = match cell {
            Some(cell) => cell.get_or_init(build).clone(),
            None => build(),
        };
        RbacDecision {
            allowed: true,
            reason,
            matched: Some(matched),
        }
    }
}

/// Identifies one binding: for `--drop-binding`, in per-request RBAC results and in findings
/// (so that requests are counted against the findings that name the same binding).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BindingRef {
    /// ClusterRoleBinding or RoleBinding.
    pub kind: BindingKind,
    /// Empty for ClusterRoleBindings.
    pub namespace: String,
    /// `metadata.name` of the binding.
    pub name: String,
}

impl BindingRef {
    /// A ClusterRoleBinding.
    pub fn cluster(name: &str) -> Self {
        BindingRef {
            kind: BindingKind::ClusterRoleBinding,
            namespace: String::new(),
            name: name.to_owned(),
        }
    }

    /// A RoleBinding.
    pub fn namespaced(namespace: &str, name: &str) -> Self {
        BindingRef {
            kind: BindingKind::RoleBinding,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// Human form used in report lines: `ClusterRoleBinding system:node`,
    /// `RoleBinding kube-system/name`.
    pub fn describe(&self) -> String {
        match self.kind {
            BindingKind::ClusterRoleBinding => format!("ClusterRoleBinding {}", self.name),
            BindingKind::RoleBinding => format!("RoleBinding {}/{}", self.namespace, self.name),
        }
    }
}

/// The stored form: `ClusterRoleBinding/<name>` or `RoleBinding/<namespace>/<name>`.
impl std::fmt::Display for BindingRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            BindingKind::ClusterRoleBinding => write!(f, "ClusterRoleBinding/{}", self.name),
            BindingKind::RoleBinding => write!(f, "RoleBinding/{}/{}", self.namespace, self.name),
        }
    }
}

impl serde::Serialize for BindingRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl RbacMatch {
    /// The binding that allowed.
    pub fn binding(&self) -> BindingRef {
        BindingRef {
            kind: self.binding_kind,
            namespace: self.binding_namespace.clone(),
            name: self.binding_name.clone(),
        }
    }
}

/// Subject keys of the index. Each request decided looks up its user, each of its groups
/// and each way to read it as a service account, in the cluster index and in its namespace's:
/// with the standard library's SipHash, hashing them cost as much as the rest of finding the
/// candidates.
#[derive(Debug, Default, PartialEq)]
struct SubjectIndex {
    users: FxHashMap<String, Vec<usize>>,
    groups: FxHashMap<String, Vec<usize>>,
    /// (namespace, name) of service accounts; for RoleBinding subjects without a namespace the
    /// binding's namespace.
    service_accounts: FxHashMap<(String, String), Vec<usize>>,
}

impl SubjectIndex {
    fn add(&mut self, idx: usize, binding: &CompiledBinding) {
        for s in &binding.subjects {
            match s.kind.as_str() {
                "User" => self.users.entry(s.name.clone()).or_default().push(idx),
                "Group" => self.groups.entry(s.name.clone()).or_default().push(idx),
                "ServiceAccount" => {
                    let ns = service_account_namespace(s, &binding.namespace);
                    if !ns.is_empty() {
                        self.service_accounts
                            .entry((ns.to_owned(), s.name.clone()))
                            .or_default()
                            .push(idx);
                    }
                }
                _ => {}
            }
        }
    }

    /// Indices of the bindings with at least one subject that may apply, ascending, in `out`
    /// (what it held is replaced).
    fn candidates(&self, username: &str, groups: &[CompactString], out: &mut Vec<usize>) {
        out.clear();
        if let Some(v) = self.users.get(username) {
            out.extend_from_slice(v);
        }
        for g in groups {
            if let Some(v) = self.groups.get(g.as_str()) {
                out.extend_from_slice(v);
            }
        }
        if !self.service_accounts.is_empty() {
            for (ns, name) in service_account_splits(username) {
                if let Some(v) = self
                    .service_accounts
                    .get(&(ns.to_string(), name.to_string()))
                {
                    out.extend_from_slice(v);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// Every (namespace, name) a `system:serviceaccount:…` username could stand for: upstream
/// compares prefix-wise ([`sa_matches_username`]), so a colon may sit in either part. Only the
/// subject index uses this; whether a subject applies is decided by `sa_matches_username`.
fn service_account_splits(username: &str) -> impl Iterator<Item = (&str, &str)> {
    let rest = username.strip_prefix(SA_USERNAME_PREFIX).unwrap_or("");
    rest.match_indices(':')
        .map(move |(i, _)| (&rest[..i], &rest[i + 1..]))
}

const SA_USERNAME_PREFIX: &str = "system:serviceaccount:";

/// A ServiceAccount subject's namespace: its own, else the binding's (spec 9.2); empty for a
/// ClusterRoleBinding subject without one, which then applies to nobody.
fn service_account_namespace<'a>(s: &'a Subject, binding_ns: &'a str) -> &'a str {
    if s.namespace.is_empty() {
        binding_ns
    } else {
        &s.namespace
    }
}

/// Upstream `serviceaccount.MatchesUsername`: prefix, namespace, `:`, then the rest must equal
/// the name (which may therefore contain colons).
fn sa_matches_username(namespace: &str, name: &str, username: &str) -> bool {
    username
        .strip_prefix(SA_USERNAME_PREFIX)
        .and_then(|u| u.strip_prefix(namespace))
        .and_then(|u| u.strip_prefix(':'))
        .is_some_and(|u| u == name)
}

/// Upstream `appliesTo`: the index of the first subject of the binding that applies.
fn applies_to(
    subjects: &[Subject],
    username: &str,
    groups: &[CompactString],
    binding_ns: &str,
) -> Option<usize> {
    subjects.iter().position(|s| match s.kind.as_str() {
        "User" => s.name == username,
        "Group" => groups.iter().any(|g| *g == s.name),
        "ServiceAccount" => {
            let ns = service_account_namespace(s, binding_ns);
            !ns.is_empty() && sa_matches_username(ns, &s.name, username)
        }
        _ => false,
    })
}

/// A binding subject as the RBAC allow reason names it (upstream `describeSubject`):
/// `Group "system:nodes"`, `ServiceAccount "name/namespace"`, Go `%q` quoting.
pub fn describe_subject(s: &Subject, binding_ns: &str) -> String {
    let mut out = String::with_capacity(s.kind.len() + s.name.len() + 8);
    out.push_str(&s.kind);
    out.push(' ');
    if s.kind == "ServiceAccount" {
        let ns = service_account_namespace(s, binding_ns);
        push_go_quoted(&mut out, &format!("{}/{}", s.name, ns));
    } else {
        push_go_quoted(&mut out, &s.name);
    }
    out
}

/// The compiled RBAC authorizer of one scenario. Equal authorizers give equal answers.
#[derive(Debug)]
pub struct RbacAuthorizer {
    /// See [`RbacAuthorizer::id`].
    id: u64,
    cluster_bindings: Vec<CompiledBinding>,
    cluster_index: SubjectIndex,
    role_bindings: FxHashMap<String, (Vec<CompiledBinding>, SubjectIndex)>,
    cluster_roles: HashMap<String, Rules>,
}

impl PartialEq for RbacAuthorizer {
    /// The same policy, compiled alike; not the same [`RbacAuthorizer::id`].
    fn eq(&self, other: &Self) -> bool {
        let RbacAuthorizer {
            id: _,
            cluster_bindings,
            cluster_index,
            role_bindings,
            cluster_roles,
        } = self;
        *cluster_bindings == other.cluster_bindings
            && *cluster_index == other.cluster_index
            && *role_bindings == other.role_bindings
            && *cluster_roles == other.cluster_roles
    }
}

/// The [`RbacAuthorizer::id`] of the next authorizer built.
static NEXT_AUTHORIZER_ID: AtomicU64 = AtomicU64::new(0);

impl RbacAuthorizer {
    /// Compiles `policy`, leaving out the bindings listed in `dropped`.
    pub fn new(policy: &RbacPolicy, dropped: &[BindingRef]) -> Self {
        let dropped: HashSet<&BindingRef> = dropped.iter().collect();
        let cluster_roles = aggregate_cluster_roles(&policy.cluster_roles);
        let mut roles: HashMap<(&str, &str), Rules> = HashMap::new();
        for r in &policy.roles {
            roles.insert(
                (r.metadata.namespace.as_str(), r.metadata.name.as_str()),
                Arc::new(IndexedRules::new(r.rules.clone())),
            );
        }
        let resolve = |b: &Binding, ns: &str| -> Result<Rules, String> {
            match b.role_ref.kind.as_str() {
                "ClusterRole" => cluster_roles.get(&b.role_ref.name).cloned().ok_or_else(|| {
                    format!(
                        "clusterrole.rbac.authorization.k8s.io {} not found",
                        go_quote(&b.role_ref.name)
                    )
                }),
                "Role" => roles
                    .get(&(ns, b.role_ref.name.as_str()))
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "role.rbac.authorization.k8s.io {} not found",
                            go_quote(&b.role_ref.name)
                        )
                    }),
                other => Err(format!(
                    "unsupported role reference kind: {}",
                    go_quote(other)
                )),
            }
        };
        let compile = |b: &Binding, kind: BindingKind| {
            // Cluster-scoped: a ServiceAccount subject needs its own namespace.
            let namespace = match kind {
                BindingKind::ClusterRoleBinding => String::new(),
                BindingKind::RoleBinding => b.metadata.namespace.clone(),
            };
            CompiledBinding::new(b, kind, namespace, resolve(b, &b.metadata.namespace))
        };
        let is_dropped = |b: &Binding, kind: BindingKind| {
            let ns = match kind {
                BindingKind::ClusterRoleBinding => String::new(),
                BindingKind::RoleBinding => b.metadata.namespace.clone(),
            };
            dropped.contains(&BindingRef {
                kind,
                namespace: ns,
                name: b.metadata.name.clone(),
            })
        };

        let mut crbs: Vec<&Binding> = policy
            .cluster_role_bindings
            .iter()
            .filter(|b| !is_dropped(b, BindingKind::ClusterRoleBinding))
            .collect();
        crbs.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let cluster_bindings: Vec<CompiledBinding> = crbs
            .iter()
            .map(|b| compile(b, BindingKind::ClusterRoleBinding))
            .collect();
        let mut cluster_index = SubjectIndex::default();
        for (i, b) in cluster_bindings.iter().enumerate() {
            cluster_index.add(i, b);
        }

        let mut by_ns: BTreeMap<&str, Vec<&Binding>> = BTreeMap::new();
        for b in &policy.role_bindings {
            if !is_dropped(b, BindingKind::RoleBinding) {
                by_ns
                    .entry(b.metadata.namespace.as_str())
                    .or_default()
                    .push(b);
            }
        }
        let mut role_bindings = FxHashMap::default();
        for (ns, mut list) in by_ns {
            list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            let compiled: Vec<CompiledBinding> = list
                .iter()
                .map(|b| compile(b, BindingKind::RoleBinding))
                .collect();
            let mut index = SubjectIndex::default();
            for (i, b) in compiled.iter().enumerate() {
                index.add(i, b);
            }
            role_bindings.insert(ns.to_string(), (compiled, index));
        }

        RbacAuthorizer {
            id: NEXT_AUTHORIZER_ID.fetch_add(1, Ordering::Relaxed),
            cluster_bindings,
            cluster_index,
            role_bindings,
            cluster_roles,
        }
    }

    /// A number no other authorizer built by this process has: what is kept about it from
    /// one request to the next (the bindings that apply to each user, see
    /// [`RbacAuthorizer::cluster_applicable`]) is kept under it, so that it is never taken for
    /// another's.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The effective (aggregated) rules of a ClusterRole, if it exists.
    pub fn cluster_role_rules(&self, name: &str) -> Option<&[PolicyRule]> {
        self.cluster_roles.get(name).map(|r| r.rules())
    }

    /// Authorizes `attrs` (spec 9).
    pub fn authorize(&self, attrs: &Attributes) -> RbacDecision {
        self.authorize_with(attrs, &mut Vec::new())
    }

    /// [`RbacAuthorizer::authorize`], listing the candidate bindings in `candidates` (whatever
    /// it holds is replaced), so that a caller deciding many requests reuses one list.
    pub fn authorize_with(&self, attrs: &Attributes, candidates: &mut Vec<usize>) -> RbacDecision {
        let applicable = self.cluster_applicable(&attrs.username, &attrs.groups, candidates);
        self.authorize_applicable(attrs, &applicable, candidates)
    }

    /// The cluster bindings that apply to the user `username` in `groups`: what
    /// [`RbacAuthorizer::authorize_applicable`] starts from for every request of that user.
    /// `candidates` as in [`RbacAuthorizer::authorize_with`].
    pub fn cluster_applicable(
        &self,
        username: &str,
        groups: &[CompactString],
        candidates: &mut Vec<usize>,
    ) -> Applicable {
        self.cluster_index.candidates(username, groups, candidates);
        Applicable(applying(&self.cluster_bindings, candidates, username, groups).collect())
    }

    /// [`RbacAuthorizer::authorize_with`] for a request whose user's cluster bindings are
    /// known (`applicable`, from [`RbacAuthorizer::cluster_applicable`] for the same user and
    /// groups).
    pub fn authorize_applicable(
        &self,
        attrs: &Attributes,
        applicable: &Applicable,
        candidates: &mut Vec<usize>,
    ) -> RbacDecision {
        let mut errors: Vec<&str> = Vec::new();
        let cluster = applicable.0.iter().copied();
        if let Some(d) = visit(&self.cluster_bindings, cluster, attrs, &mut errors) {
            return d;
        }
        if !attrs.namespace.is_empty() {
            if let Some((bindings, index)) = self.role_bindings.get(attrs.namespace.as_str()) {
                index.candidates(&attrs.username, &attrs.groups, candidates);
                let namespaced = applying(bindings, candidates, &attrs.username, &attrs.groups);
                if let Some(d) = visit(bindings, namespaced, attrs, &mut errors) {
                    return d;
                }
            }
        }
        RbacDecision {
            allowed: false,
            reason: no_opinion_reason(&errors),
            matched: None,
        }
    }
}

/// The cluster bindings that apply to one user, in the order they are visited, each with the
/// place of the subject it applies by (see [`RbacAuthorizer::cluster_applicable`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applicable(Vec<(usize, usize)>);

/// Of the `candidates` among `bindings`, those with a subject that applies to the user, with
/// that subject's place.
fn applying<'a>(
    bindings: &'a [CompiledBinding],
    candidates: &'a [usize],
    username: &'a str,
    groups: &'a [CompactString],
) -> impl Iterator<Item = (usize, usize)> + 'a {
    candidates.iter().filter_map(move |&i| {
        let b = bindings.get(i)?;
        applies_to(&b.subjects, username, groups, &b.namespace).map(|subject| (i, subject))
    })
}

/// Visits the bindings that apply (by index, with the subject each applies by) in order;
/// returns the allow decision of the first matching rule.
fn visit<'a>(
    bindings: &'a [CompiledBinding],
    applying: impl Iterator<Item = (usize, usize)>,
    attrs: &Attributes,
    errors: &mut Vec<&'a str>,
) -> Option<RbacDecision> {
    for (i, subject_idx) in applying {
        let Some(b) = bindings.get(i) else { continue };
        let rules = match &b.rules {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Some(rule_index) = rules.first_allowing(attrs) {
            return Some(b.allow(subject_idx, rules.rules(), rule_index));
        }
    }
    None
}

/// `RBAC: ` + apimachinery's aggregate error text (duplicates dropped; brackets when more than
/// one distinct message), or empty when no error was met.
fn no_opinion_reason(errors: &[&str]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let mut seen: Vec<&str> = Vec::new();
    for e in errors {
        if !seen.contains(e) {
            seen.push(e);
        }
    }
    if seen.len() == 1 {
        format!("RBAC: {}", seen[0])
    } else {
        format!("RBAC: [{}]", seen.join(", "))
    }
}

fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_ok = sel
        .match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = sel.match_expressions.iter().all(|e| {
        let value = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| e.values.contains(v)),
            "NotIn" => value.is_none_or(|v| !e.values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            // An invalid operator makes the selector invalid; upstream then selects nothing.
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

/// Effective rules of every ClusterRole, with aggregation applied to a fixed point.
fn aggregate_cluster_roles(cluster_roles: &[Role]) -> HashMap<String, Rules> {
    let mut sorted: Vec<&Role> = cluster_roles.iter().collect();
    sorted.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut current: HashMap<&str, Vec<PolicyRule>> = sorted
        .iter()
        .map(|r| (r.metadata.name.as_str(), r.rules.clone()))
        .collect();
    // Each round can only propagate rules one aggregation level further, so the number of
    // roles bounds the rounds needed.
    for _ in 0..=sorted.len() {
        let mut changed = false;
        for role in &sorted {
            let Some(agg) = &role.aggregation_rule else {
                continue;
            };
            let mut rules: Vec<PolicyRule> = Vec::new();
            for sel in &agg.cluster_role_selectors {
                for other in &sorted {
                    if other.metadata.name == role.metadata.name
                        || !selector_matches(sel, &other.metadata.labels)
                    {
                        continue;
                    }
                    for r in current
                        .get(other.metadata.name.as_str())
                        .into_iter()
                        .flatten()
                    {
                        if !rules.contains(r) {
                            rules.push(r.clone());
                        }
                    }
                }
            }
            let name = role.metadata.name.as_str();
            if current.get(name) != Some(&rules) {
                current.insert(name, rules);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    current
        .into_iter()
        .map(|(k, v)| (k.to_string(), Arc::new(IndexedRules::new(v))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_is_head_slash_tail_exactly() {
        for (entry, head, tail, joined) in [
            ("pods/status", "pods", "status", true),
            ("*/status", "*", "status", true),
            ("podsx/status", "pods", "status", false),
            ("pods/statusx", "pods", "status", false),
            ("pods", "pods", "status", false),
            ("pods/", "pods", "", true),
            ("/status", "", "status", true),
            ("pods-status", "pods", "status", false),
            ("pöds/status", "pöds", "status", true),
            ("pöds/status", "pö", "s/status", false),
            // Upstream compares with the joined string, so a `/` may sit in either part.
            ("a/b/c", "a/b", "c", true),
            ("a/b/c", "a", "b/c", true),
        ] {
            assert_eq!(
                is_joined(entry, head, tail),
                joined,
                "{entry} = {head}/{tail}"
            );
        }
    }
}
