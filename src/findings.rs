//! Static findings: RBAC grants to node identities that go beyond what the Node authorizer
//! would allow, and identity problems seen in the log.
//!
//! # Which bindings are examined
//! A binding is examined when one of its subjects is a node identity or a group every node
//! belongs to: Group `system:nodes`, Group `system:authenticated`, or a User named
//! `system:node:*`.
//!
//! # Which rules are expected (never reported)
//! A rule of such a binding's role is reported unless one of these holds. They are the reason
//! the built-in bootstrap bindings to `system:authenticated` are not findings, stated as rules
//! rather than as a list of names, so that renamed or re-created copies are judged the same way:
//! - **E1 non-resource rule**: it has no resources (only `nonResourceURLs`). The Node
//!   authorizer has no opinion on any non-resource URL by design, so discovery, `/healthz` and
//!   `/version` must come from RBAC (`system:discovery`, `system:public-info-viewer`).
//! - **E2 review API**: every verb is `create` and every API group is `authentication.k8s.io`
//!   or `authorization.k8s.io`. Reviews store nothing and read no object
//!   (`system:basic-user`'s self reviews, the Node authorizer's own token/access reviews).
//! - **E3 CSR approval marker**: every verb is `create`, the only group is
//!   `certificates.k8s.io` and every resource is a subresource of `certificatesigningrequests`
//!   (`…/selfnodeclient`, `…/nodeclient`). No endpoint serves these; the CSR approver checks them
//!   with a SubjectAccessReview (kubeadm's auto-approval bindings).
//! - **E4 within the static node rules**: no wildcard, no resource the Node authorizer decides
//!   through its graph or per-node handlers (secrets, configmaps, PVCs, PVs, resourceclaims,
//!   volumeattachments, serviceaccounts, leases, csinodes, resourceslices, nodes, pods), and every
//!   (group, resource, verb) it grants is granted by the static node rules (the rules of the
//!   `system:node` ClusterRole, spec section 8).
//!
//! A binding of the ClusterRole `system:node` to a node identity is the legacy setup and gives
//! one finding holding all its reported rules. Any other binding gives one finding per kind
//! among its reported rules; each rule goes to the first kind that fits, in the order
//! wildcard, escalation verbs, cluster-wide secret read, cluster-wide config map read, other.

use crate::authz::goquote::go_quote;
use crate::authz::node::node_identity;
use crate::authz::rbac::{describe_subject, rule_grants, RbacAuthorizer};
use crate::cluster::rbac_types::{Binding, PolicyRule, RbacPolicy, Subject};
use crate::graph::intern::FxHashMap;
use crate::input::event::KUBELET_AGENT_PREFIX;
use crate::verdict::{BindingKey, BindingKind};
use serde::Serialize;
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashSet};

pub use crate::authz::node::{NODES_GROUP, NODE_USER_PREFIX};
/// The group of every authenticated user, nodes included.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
/// The group of bootstrap-token users: kubelets use it during TLS bootstrap, before they have
/// a node certificate, so a kubelet user agent under it is expected.
pub const BOOTSTRAPPERS_GROUP: &str = "system:bootstrappers";
/// The ClusterRole holding the static node rules; binding it to nodes is the legacy setup.
pub const SYSTEM_NODE_ROLE: &str = "system:node";

/// How many distinct values of one kind (IPs, user agents, group lists) are kept per identity.
const MAX_OBSERVED: usize = 32;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Nodes can read or change far more than the Node authorizer allows.
    High,
    /// A real gap, narrower in scope.
    Medium,
    /// Worth knowing; often intended.
    Low,
}

impl Severity {
    /// Every severity, most serious first.
    pub const ALL: [Severity; 3] = [Severity::High, Severity::Medium, Severity::Low];

    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

/// What a finding is about. The order is the report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// ClusterRole `system:node` bound to node identities.
    LegacySystemNodeBinding,
    /// A rule with `*` in verbs, API groups or resources.
    WildcardRule,
    /// `escalate`, `bind` or `impersonate`.
    PrivilegeEscalationVerbs,
    /// get/list/watch of secrets without resourceNames in a ClusterRoleBinding.
    ClusterWideSecretRead,
    /// get/list/watch of config maps without resourceNames in a ClusterRoleBinding.
    ClusterWideConfigMapRead,
    /// Any other grant the Node authorizer would not make.
    GrantBeyondNodeAuthorizer,
    /// A `system:node:*` user without the `system:nodes` group.
    NodeUserWithoutNodesGroup,
    /// A kubelet user agent authenticating as something other than a node.
    KubeletAgentNotNodeIdentity,
    /// A node identity with no Node object in the inputs.
    NodeIdentityWithoutNodeObject,
    /// One node identity seen from several source IPs.
    NodeIdentityMultipleSourceIps,
}

impl FindingKind {
    /// The snake_case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::LegacySystemNodeBinding => "legacy_system_node_binding",
            FindingKind::WildcardRule => "wildcard_rule",
            FindingKind::PrivilegeEscalationVerbs => "privilege_escalation_verbs",
            FindingKind::ClusterWideSecretRead => "cluster_wide_secret_read",
            FindingKind::ClusterWideConfigMapRead => "cluster_wide_configmap_read",
            FindingKind::GrantBeyondNodeAuthorizer => "grant_beyond_node_authorizer",
            FindingKind::NodeUserWithoutNodesGroup => "node_user_without_nodes_group",
            FindingKind::KubeletAgentNotNodeIdentity => "kubelet_agent_not_node_identity",
            FindingKind::NodeIdentityWithoutNodeObject => "node_identity_without_node_object",
            FindingKind::NodeIdentityMultipleSourceIps => "node_identity_multiple_source_ips",
        }
    }

    /// The one sentence stored with every finding of this kind.
    pub fn detail(self) -> &'static str {
        match self {
            FindingKind::LegacySystemNodeBinding => {
                "binds ClusterRole system:node to node identities: every node may use these rules on every object, without the Node authorizer's graph checks"
            }
            FindingKind::WildcardRule => "grants node identities a wildcard rule",
            FindingKind::PrivilegeEscalationVerbs => {
                "grants node identities escalate, bind or impersonate"
            }
            FindingKind::ClusterWideSecretRead => {
                "lets every node read every secret of the cluster"
            }
            FindingKind::ClusterWideConfigMapRead => {
                "lets every node read every config map of the cluster"
            }
            FindingKind::GrantBeyondNodeAuthorizer => {
                "grants node identities access the Node authorizer would not"
            }
            FindingKind::NodeUserWithoutNodesGroup => {
                "username has the system:node: prefix but not the system:nodes group: the Node authorizer ignores it and NodeRestriction does not restrict it"
            }
            FindingKind::KubeletAgentNotNodeIdentity => {
                "a kubelet user agent authenticated as something other than a node identity"
            }
            FindingKind::NodeIdentityWithoutNodeObject => {
                "node identity with no Node object of that name in the dump or the log (hostname mismatch?)"
            }
            FindingKind::NodeIdentityMultipleSourceIps => {
                "one node identity sent requests from several source IPs"
            }
        }
    }
}

/// One static finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable id: `<kind>:<binding or username>`.
    pub id: String,
    /// Severity.
    pub severity: Severity,
    /// Kind.
    pub kind: FindingKind,
    /// The binding, for RBAC findings.
    pub binding: Option<BindingKey>,
    /// `ClusterRole/<name>` or `Role/<namespace>/<name>`, for RBAC findings.
    pub role: Option<String>,
    /// RBAC findings: the node-identity subjects of the binding (`Group "system:nodes"`, joined
    /// with `, `). Identity findings: `User "<username>"`.
    pub subject: String,
    /// RBAC findings: the over-broad rules, rendered by [`render_rule`].
    pub rules: Vec<String>,
    /// Identity findings: what was observed (groups, user agents, source IPs, node name).
    pub observed: Vec<String>,
    /// One sentence ([`FindingKind::detail`]).
    pub detail: String,
    /// RBAC findings: requests in the logs allowed through this binding. Identity findings:
    /// requests from this identity.
    pub requests_using: u64,
}

/// All findings of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Sorted by severity, kind, id.
    pub items: Vec<Finding>,
}

impl Findings {
    /// RBAC findings of `policy`; `node_rules` are the static node rules (usually
    /// [`node_rules_from`] of the same policy) used by exception E4.
    pub fn from_rbac(policy: &RbacPolicy, node_rules: &[PolicyRule]) -> Findings {
        let mut items = Vec::new();
        let bindings = policy
            .cluster_role_bindings
            .iter()
            .map(|b| (BindingKind::ClusterRoleBinding, b))
            .chain(
                policy
                    .role_bindings
                    .iter()
                    .map(|b| (BindingKind::RoleBinding, b)),
            );
        let rbac = RbacAuthorizer::new(policy, &[]);
        for (kind, binding) in bindings {
            binding_findings(policy, &rbac, node_rules, kind, binding, &mut items);
        }
        let mut f = Findings { items };
        f.sort();
        f
    }

    /// Adds findings (already built, e.g. by [`IdentitySightings::findings`]) and re-sorts.
    pub fn extend(&mut self, more: impl IntoIterator<Item = Finding>) {
        self.items.extend(more);
        self.sort();
    }

    /// Counts one request allowed through `binding` against every finding naming it.
    pub fn record_use(&mut self, binding: &BindingKey) {
        for f in &mut self.items {
            if f.binding.as_ref() == Some(binding) {
                f.requests_using += 1;
            }
        }
    }

    /// The legacy bindings found (ClusterRole `system:node` bound to node identities).
    pub fn legacy_bindings(&self) -> impl Iterator<Item = &BindingKey> {
        self.items
            .iter()
            .filter(|f| f.kind == FindingKind::LegacySystemNodeBinding)
            .filter_map(|f| f.binding.as_ref())
    }

    fn sort(&mut self) {
        self.items
            .sort_by(|a, b| (a.severity, a.kind, &a.id).cmp(&(b.severity, b.kind, &b.id)));
    }
}

/// The static node rules: the rules of the ClusterRole `system:node` in `policy` (spec
/// section 8: they are the same as `NodeRules()`). Empty when the policy lacks that role.
pub fn node_rules_from(policy: &RbacPolicy) -> &[PolicyRule] {
    policy
        .cluster_roles
        .iter()
        .find(|r| r.metadata.name == SYSTEM_NODE_ROLE)
        .map(|r| r.rules.as_slice())
        .unwrap_or(&[])
}

/// True for a subject that is a node identity or a group every node belongs to.
pub fn is_node_subject(s: &Subject) -> bool {
    match s.kind.as_str() {
        "Group" => s.name == NODES_GROUP || s.name == AUTHENTICATED_GROUP,
        "User" => s.name.starts_with(NODE_USER_PREFIX),
        _ => false,
    }
}

/// True when the Node authorizer treats this user as a node (spec section 3).
pub fn is_node_identity(username: &str, groups: &[impl Borrow<str>]) -> bool {
    node_identity(username, groups).is_some()
}

pub use crate::authz::rbac::render_rule;

/// The effective rules of a binding's role, with ClusterRole aggregation resolved by the
/// RBAC evaluator itself (one implementation of aggregation); `None` when the role does not
/// exist.
pub fn role_rules(
    policy: &RbacPolicy,
    rbac: &RbacAuthorizer,
    binding: &Binding,
) -> Option<Vec<PolicyRule>> {
    match binding.role_ref.kind.as_str() {
        "ClusterRole" => rbac
            .cluster_role_rules(&binding.role_ref.name)
            .map(<[PolicyRule]>::to_vec),
        "Role" => policy
            .roles
            .iter()
            .find(|r| {
                r.metadata.name == binding.role_ref.name
                    && r.metadata.namespace == binding.metadata.namespace
            })
            .map(|r| r.rules.clone()),
        _ => None,
    }
}

/// (API group, resource) pairs the Node authorizer decides with its graph or per-node handlers
/// rather than its static rules (spec section 4, with `AuthorizeNodeWithSelectors` on).
const NODE_HANDLED: &[(&str, &str)] = &[
    ("", "secrets"),
    ("", "configmaps"),
    ("", "persistentvolumeclaims"),
    ("", "persistentvolumes"),
    ("resource.k8s.io", "resourceclaims"),
    ("storage.k8s.io", "volumeattachments"),
    ("", "serviceaccounts"),
    ("coordination.k8s.io", "leases"),
    ("storage.k8s.io", "csinodes"),
    ("resource.k8s.io", "resourceslices"),
    ("", "nodes"),
    ("", "pods"),
];

const REVIEW_GROUPS: &[&str] = &["authentication.k8s.io", "authorization.k8s.io"];
const ESCALATION_VERBS: &[&str] = &["escalate", "bind", "impersonate"];
const READ_VERBS: &[&str] = &["get", "list", "watch"];

fn has_star(v: &[String]) -> bool {
    v.iter().any(|s| s == "*")
}

fn is_wildcard(r: &PolicyRule) -> bool {
    has_star(&r.verbs)
        || has_star(&r.api_groups)
        || r.resources.iter().any(|s| s == "*" || s.starts_with("*/"))
}

fn only_create(r: &PolicyRule) -> bool {
    !r.verbs.is_empty() && r.verbs.iter().all(|v| v == "create")
}

/// Exceptions E1-E4 of the module documentation.
fn is_expected(rule: &PolicyRule, node_rules: &[PolicyRule]) -> bool {
    if rule.resources.is_empty() {
        return true; // E1
    }
    if only_create(rule)
        && rule
            .api_groups
            .iter()
            .all(|g| REVIEW_GROUPS.contains(&g.as_str()))
        && !rule.api_groups.is_empty()
    {
        return true; // E2
    }
    if only_create(rule)
        && rule.api_groups.len() == 1
        && rule.api_groups[0] == "certificates.k8s.io"
        && rule
            .resources
            .iter()
            .all(|r| r.starts_with("certificatesigningrequests/"))
    {
        return true; // E3
    }
    if is_wildcard(rule) {
        return false;
    }
    let node_handled = rule.api_groups.iter().any(|g| {
        rule.resources.iter().any(|r| {
            let base = r.split('/').next().unwrap_or(r);
            NODE_HANDLED.contains(&(g.as_str(), base))
        })
    });
    if node_handled {
        return false;
    }
    // E4
    rule.api_groups.iter().all(|g| {
        rule.resources.iter().all(|r| {
            let (resource, sub) = r.split_once('/').unwrap_or((r, ""));
            rule.verbs.iter().all(|v| {
                node_rules
                    .iter()
                    .any(|nr| rule_grants(nr, g, resource, sub, v))
            })
        })
    })
}

fn reads_resource(rule: &PolicyRule, resource: &str) -> bool {
    rule.resource_names.is_empty()
        && rule.api_groups.iter().any(|g| g.is_empty())
        && rule.resources.iter().any(|r| r == resource)
        && rule.verbs.iter().any(|v| READ_VERBS.contains(&v.as_str()))
}

/// The kind (and severity) a reported rule of a non-legacy binding belongs to.
fn rule_kind(rule: &PolicyRule, binding_kind: BindingKind) -> (FindingKind, Severity) {
    let cluster_wide = binding_kind == BindingKind::ClusterRoleBinding;
    if is_wildcard(rule) {
        (FindingKind::WildcardRule, Severity::High)
    } else if rule
        .verbs
        .iter()
        .any(|v| ESCALATION_VERBS.contains(&v.as_str()))
    {
        (FindingKind::PrivilegeEscalationVerbs, Severity::High)
    } else if cluster_wide && reads_resource(rule, "secrets") {
        (FindingKind::ClusterWideSecretRead, Severity::High)
    } else if cluster_wide && reads_resource(rule, "configmaps") {
        (FindingKind::ClusterWideConfigMapRead, Severity::Medium)
    } else if rule.resource_names.is_empty() {
        (FindingKind::GrantBeyondNodeAuthorizer, Severity::Medium)
    } else {
        (FindingKind::GrantBeyondNodeAuthorizer, Severity::Low)
    }
}

fn binding_findings(
    policy: &RbacPolicy,
    rbac: &RbacAuthorizer,
    node_rules: &[PolicyRule],
    kind: BindingKind,
    binding: &Binding,
    out: &mut Vec<Finding>,
) {
    let subjects: Vec<String> = binding
        .subjects
        .iter()
        .filter(|s| is_node_subject(s))
        .map(|s| describe_subject(s, &binding.metadata.namespace))
        .collect();
    if subjects.is_empty() {
        return;
    }
    let Some(rules) = role_rules(policy, rbac, binding) else {
        return;
    };
    let reported: Vec<&PolicyRule> = rules
        .iter()
        .filter(|r| !is_expected(r, node_rules))
        .collect();
    if reported.is_empty() {
        return;
    }
    let key = BindingKey {
        kind,
        namespace: match kind {
            BindingKind::ClusterRoleBinding => String::new(),
            BindingKind::RoleBinding => binding.metadata.namespace.clone(),
        },
        name: binding.metadata.name.clone(),
    };
    let role = match binding.role_ref.kind.as_str() {
        "Role" => format!(
            "Role/{}/{}",
            binding.metadata.namespace, binding.role_ref.name
        ),
        other => format!("{other}/{}", binding.role_ref.name),
    };
    let subject = subjects.join(", ");
    let finding = |fkind: FindingKind, severity: Severity, rules: Vec<String>| Finding {
        id: format!("{}:{key}", fkind.as_str()),
        severity,
        kind: fkind,
        binding: Some(key.clone()),
        role: Some(role.clone()),
        subject: subject.clone(),
        rules,
        observed: Vec::new(),
        detail: fkind.detail().to_owned(),
        requests_using: 0,
    };
    if binding.role_ref.kind == "ClusterRole" && binding.role_ref.name == SYSTEM_NODE_ROLE {
        let rendered = reported.iter().map(|r| render_rule(r)).collect();
        out.push(finding(
            FindingKind::LegacySystemNodeBinding,
            Severity::High,
            rendered,
        ));
        return;
    }
    let mut by_kind: BTreeMap<FindingKind, (Severity, Vec<String>)> = BTreeMap::new();
    for rule in reported {
        let (fkind, severity) = rule_kind(rule, kind);
        let entry = by_kind.entry(fkind).or_insert((severity, Vec::new()));
        entry.0 = entry.0.min(severity);
        entry.1.push(render_rule(rule));
    }
    for (fkind, (severity, rendered)) in by_kind {
        out.push(finding(fkind, severity, rendered));
    }
}

/// What was seen of one username across the log.
#[derive(Debug, Clone, Default)]
struct Sighting {
    requests: u64,
    node_identity_requests: u64,
    without_nodes_group: u64,
    kubelet_agent_non_node: u64,
    group_lists: BTreeSet<String>,
    user_agents: BTreeSet<String>,
    kubelet_agents: BTreeSet<String>,
    source_ips: BTreeSet<String>,
}

fn insert_capped(set: &mut BTreeSet<String>, value: &str) {
    if set.len() < MAX_OBSERVED && !set.contains(value) {
        set.insert(value.to_owned());
    }
}

/// Streams identities from requests (one call per request) and turns them into identity
/// findings at the end. Memory grows with distinct usernames, not with requests.
#[derive(Debug, Clone, Default)]
pub struct IdentitySightings {
    /// Hashed, not ordered: the merging thread looks a user up once per request decided
    /// (a tree of a few hundred node names cost a dozen string comparisons a request), and
    /// [`IdentitySightings::findings`] sorts the users once.
    by_user: FxHashMap<String, Sighting>,
}

impl IdentitySightings {
    /// Records one request's effective identity. `source_ip` is the first entry of
    /// `sourceIPs` (the client; later entries are proxies).
    pub fn observe(
        &mut self,
        username: &str,
        groups: &[impl Borrow<str>],
        user_agent: &str,
        source_ip: &str,
    ) {
        let node_user = username.starts_with(NODE_USER_PREFIX);
        let kubelet_agent = user_agent.starts_with(KUBELET_AGENT_PREFIX);
        let bootstrapper = groups.iter().any(|g| g.borrow() == BOOTSTRAPPERS_GROUP);
        let kubelet_non_bootstrap = kubelet_agent && !bootstrapper;
        if !node_user && !kubelet_non_bootstrap {
            return;
        }
        // Allocate the key only for a new user: most requests repeat one.
        let s = match self.by_user.get_mut(username) {
            Some(s) => s,
            None => self.by_user.entry(username.to_owned()).or_default(),
        };
        s.requests += 1;
        insert_capped(&mut s.user_agents, user_agent);
        if node_user && is_node_identity(username, groups) {
            s.node_identity_requests += 1;
            if !source_ip.is_empty() {
                insert_capped(&mut s.source_ips, source_ip);
            }
        } else if node_user {
            s.without_nodes_group += 1;
            insert_capped(&mut s.group_lists, &groups.join(","));
        } else {
            s.kubelet_agent_non_node += 1;
            insert_capped(&mut s.kubelet_agents, user_agent);
        }
    }

    /// The identity findings. `known_nodes` holds the Node names from the dump and the log;
    /// `None` when the inputs hold no Node objects at all (the check is then skipped, since
    /// every node would be flagged).
    pub fn findings(&self, known_nodes: Option<&HashSet<String>>) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut users: Vec<(&String, &Sighting)> = self.by_user.iter().collect();
        users.sort_unstable_by_key(|(user, _)| *user);
        for (user, s) in users {
            let make = |kind: FindingKind, severity, observed: Vec<String>, requests| Finding {
                id: format!("{}:{user}", kind.as_str()),
                severity,
                kind,
                binding: None,
                role: None,
                subject: format!("User {}", go_quote(user)),
                rules: Vec::new(),
                observed,
                detail: kind.detail().to_owned(),
                requests_using: requests,
            };
            if s.without_nodes_group > 0 {
                out.push(make(
                    FindingKind::NodeUserWithoutNodesGroup,
                    Severity::Medium,
                    s.group_lists.iter().cloned().collect(),
                    s.without_nodes_group,
                ));
            }
            if s.kubelet_agent_non_node > 0 {
                out.push(make(
                    FindingKind::KubeletAgentNotNodeIdentity,
                    Severity::Medium,
                    s.kubelet_agents.iter().cloned().collect(),
                    s.kubelet_agent_non_node,
                ));
            }
            if s.node_identity_requests == 0 {
                continue;
            }
            let node = user.strip_prefix(NODE_USER_PREFIX).unwrap_or(user);
            if known_nodes.is_some_and(|k| !k.contains(node)) {
                out.push(make(
                    FindingKind::NodeIdentityWithoutNodeObject,
                    Severity::Medium,
                    vec![node.to_owned()],
                    s.node_identity_requests,
                ));
            }
            if s.source_ips.len() > 1 {
                out.push(make(
                    FindingKind::NodeIdentityMultipleSourceIps,
                    Severity::Low,
                    s.source_ips.iter().cloned().collect(),
                    s.node_identity_requests,
                ));
            }
        }
        out
    }
}

/// Identity findings from (username, groups, user agent, first source IP) tuples.
pub fn identity_findings<'a>(
    identities: impl IntoIterator<Item = (&'a str, &'a [String], &'a str, &'a str)>,
    known_nodes: Option<&HashSet<String>>,
) -> Vec<Finding> {
    let mut s = IdentitySightings::default();
    for (user, groups, agent, ip) in identities {
        s.observe(user, groups, agent, ip);
    }
    s.findings(known_nodes)
}
