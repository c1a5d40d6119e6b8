//! Kubelet logs in: the authorization errors a kubelet printed, as request attributes.
//!
//! A kubelet whose requests are refused logs the apiserver's Forbidden message inside its own
//! error text (`Failed to watch *v1.Node: failed to list *v1.Node: nodes "node1" is forbidden:
//! User "system:node:node1" cannot list resource "nodes" ...`) and, because its node informer
//! then stays empty, `node "node1" not found`. This module finds both in raw klog output, in
//! `journalctl` output and in structured or JSON klog, and ties each `not found` to the refused
//! reads of the same Node around it. Everything else is counted and skipped.
//!
//! Limits: lines are read one by one, so a reason that an unstructured message continues on
//! the next physical line keeps only its first line (structured klog quotes newlines and is
//! not affected); klog prints no year, so a log spanning New Year is not ordered correctly.
//! Admission refusals (`... is forbidden: node "n" is not allowed to ...`) are not
//! authorization errors and are skipped.

mod forbidden;
mod klog;
mod quoted;

use std::collections::HashMap;

use compact_str::{format_compact, CompactString};

pub use forbidden::{
    find_forbidden_messages, find_node_not_found, parse_forbidden_message, ForbiddenMessage,
    MessageForm,
};
pub use klog::{parse_line, LogLine, LogTime};

use crate::authz::node::{NODES_GROUP, NODE_USER_PREFIX};
use crate::authz::Attributes;
use crate::findings::AUTHENTICATED_GROUP;
use crate::record::FieldRequirement;

/// A `node "x" not found` is tied to refused reads of node `x` by `system:node:x` logged at
/// most this far before or after it (a kubelet retries failed list/watch calls within about
/// 10 s and node status updates every 10 s, so 30 s covers at least one retry either side).
pub const NODE_NOT_FOUND_WINDOW_MICROS: i64 = 30_000_000;

/// When either line has no timestamp, the tie is by adjacency instead: at most this many lines
/// apart.
pub const NODE_NOT_FOUND_WINDOW_LINES: u64 = 5;

/// One refused request found in a kubelet log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedRequest {
    /// The user the apiserver refused (`system:node:node1`).
    pub username: String,
    /// The verb as the message spells it (`get`, `list`, `watch`, ...).
    pub verb: String,
    /// Empty for the core group.
    pub api_group: String,
    /// The resource without its subresource; empty for non-resource requests.
    pub resource: String,
    /// Empty when there is none.
    pub subresource: String,
    /// Empty at the cluster scope.
    pub namespace: String,
    /// Empty when the request had none (list/watch without a `metadata.name` selector, create).
    pub name: String,
    /// Only for non-resource requests.
    pub path: String,
    /// The authorizers' reason after `: `, empty when there was none.
    pub reason: String,
    /// False for non-resource requests (`cannot get path "/healthz"`).
    pub resource_request: bool,
    /// 1-based line number in the log.
    pub line: u64,
    /// When the line was logged, if it says.
    pub time: Option<LogTime>,
    /// The node the line speaks for: from a `system:node:<name>` username, else the host name
    /// `journalctl` printed.
    pub node_hint: Option<String>,
    /// `file.go:line` of the klog header, when there is one.
    pub source: Option<String>,
    /// The Forbidden message as found (quoting of structured klog removed).
    pub message: String,
}

impl DeniedRequest {
    fn new(
        m: ForbiddenMessage,
        line: u64,
        time: Option<LogTime>,
        host: Option<&str>,
        source: Option<&str>,
    ) -> Self {
        let node_hint = m
            .username
            .strip_prefix(NODE_USER_PREFIX)
            .or(host)
            .map(str::to_string);
        DeniedRequest {
            username: m.username,
            verb: m.verb,
            api_group: m.api_group,
            resource: m.resource,
            subresource: m.subresource,
            namespace: m.namespace,
            name: m.name,
            path: m.path,
            reason: m.reason,
            resource_request: m.resource_request,
            line,
            time,
            node_hint,
            source: source.map(str::to_string),
            message: m.message,
        }
    }

    /// The request attributes and reason, without where and when it was seen.
    pub fn key(&self) -> DeniedKey {
        DeniedKey {
            username: self.username.clone(),
            verb: self.verb.clone(),
            api_group: self.api_group.clone(),
            resource: self.resource.clone(),
            subresource: self.subresource.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            path: self.path.clone(),
            reason: self.reason.clone(),
        }
    }

    /// The request as the authorizers saw it, as far as the message tells.
    ///
    /// Not in the message, so assumed: the groups (`system:nodes` and `system:authenticated`
    /// for `system:node:*` users, as kubelet client certificates carry; the service-account
    /// groups for `system:serviceaccount:*`; `system:unauthenticated` for `system:anonymous`;
    /// `system:authenticated` otherwise) and the API version (left empty). A list or watch
    /// with a name got it from a `metadata.name` field selector (spec section 1), which is
    /// restored; any other selector (a pod list's `spec.nodeName`) is not in the message and is
    /// left out.
    pub fn attributes(&self) -> Attributes {
        let mut field_requirements = Vec::new();
        if matches!(self.verb.as_str(), "list" | "watch") && !self.name.is_empty() {
            field_requirements.push(FieldRequirement {
                field: "metadata.name".into(),
                equals: true,
                value: self.name.as_str().into(),
            });
        }
        Attributes {
            username: self.username.as_str().into(),
            groups: assumed_groups(&self.username),
            resource_request: self.resource_request,
            verb: self.verb.as_str().into(),
            api_group: self.api_group.as_str().into(),
            api_version: CompactString::default(),
            resource: self.resource.as_str().into(),
            subresource: self.subresource.as_str().into(),
            namespace: self.namespace.as_str().into(),
            name: self.name.as_str().into(),
            path: self.path.as_str().into(),
            field_requirements,
            legacy_prefix: false,
        }
    }

    /// True for a get/list/watch of Node objects by `system:node:<node>` itself.
    pub fn is_node_read_by(&self, node: &str) -> bool {
        self.resource_request
            && self.api_group.is_empty()
            && self.resource == "nodes"
            && self.subresource.is_empty()
            && matches!(self.verb.as_str(), "get" | "list" | "watch")
            && self.username.strip_prefix(NODE_USER_PREFIX) == Some(node)
    }
}

/// The groups the apiserver's authenticators give a user name (see
/// [`DeniedRequest::attributes`]).
fn assumed_groups(username: &str) -> Vec<CompactString> {
    let mut groups: Vec<CompactString> = Vec::new();
    if username == "system:anonymous" {
        return vec!["system:unauthenticated".into()];
    }
    if username.starts_with(NODE_USER_PREFIX) {
        groups.push(NODES_GROUP.into());
    } else if let Some(rest) = username.strip_prefix("system:serviceaccount:") {
        if let Some((namespace, _)) = rest.split_once(':') {
            groups.push("system:serviceaccounts".into());
            groups.push(format_compact!("system:serviceaccounts:{namespace}"));
        }
    }
    groups.push(AUTHENTICATED_GROUP.into());
    groups
}

/// What makes two refusals "the same request" for counting. Each field means what the field
/// of [`DeniedRequest`] of the same name means.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeniedKey {
    pub username: String,
    pub verb: String,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub path: String,
    pub reason: String,
}

/// One distinct refused request and how often it was logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistinctDenied {
    /// The request and reason.
    pub key: DeniedKey,
    /// How many times it was logged.
    pub count: u64,
    /// The line of its first appearance.
    pub first_line: u64,
}

/// A `node "x" not found` line and the refused reads of that Node it is tied to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeNotFound {
    /// The node name between the quotes.
    pub node: String,
    /// 1-based line number in the log.
    pub line: u64,
    /// When the line was logged, if it says.
    pub time: Option<LogTime>,
    /// Indices into [`KubeletLogReport::denied`] of get/list/watch of nodes by
    /// `system:node:<node>` within [`NODE_NOT_FOUND_WINDOW_MICROS`] (or, without timestamps,
    /// [`NODE_NOT_FOUND_WINDOW_LINES`]), in line order.
    pub related_denials: Vec<usize>,
}

/// Everything found in one kubelet log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeletLogReport {
    /// Every refusal, in line order (a line may hold several).
    pub denied: Vec<DeniedRequest>,
    /// Every `node "x" not found`, in line order.
    pub node_not_found: Vec<NodeNotFound>,
    /// Physical lines read.
    pub lines: u64,
    /// Lines with neither a refusal nor a `node "x" not found`.
    pub skipped: u64,
    /// Distinct refusals in order of first appearance.
    pub distinct: Vec<DistinctDenied>,
}

/// Reads a whole kubelet log. Never fails: lines that are not authorization errors are counted
/// in `skipped`.
pub fn parse_kubelet_log(text: &str) -> KubeletLogReport {
    let mut report = KubeletLogReport::default();
    if text.is_empty() {
        // No lines, rather than one empty line.
        return report;
    }
    // Lines without a klog header (multi-line values, plain prints) take their own prefix's
    // time, or else the time of the entry before them.
    let mut entry_time: Option<LogTime> = None;
    let body = text.strip_suffix('\n').unwrap_or(text);
    for (index, raw) in body.split('\n').enumerate() {
        let line_no = index as u64 + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        report.lines += 1;
        let parsed = klog::parse_line(line);
        let time = if parsed.has_header() {
            entry_time = parsed.time();
            entry_time
        } else {
            parsed.prefix_time.or(entry_time)
        };
        if !may_matter(parsed.message) {
            report.skipped += 1;
            continue;
        }
        let before = (report.denied.len(), report.node_not_found.len());
        scan_message(&parsed, line_no, time, &mut report);
        if (report.denied.len(), report.node_not_found.len()) == before {
            report.skipped += 1;
        }
    }
    tie_node_not_found(&mut report);
    report.distinct = distinct(&report.denied);
    report
}

/// A cheap test before any parsing of the message.
fn may_matter(message: &str) -> bool {
    message.contains("forbidden: User ") || message.contains(" not found")
}

fn scan_message(
    parsed: &LogLine<'_>,
    line: u64,
    time: Option<LogTime>,
    out: &mut KubeletLogReport,
) {
    let first_denial = out.denied.len();
    for text in klog::message_texts(parsed.message) {
        let mut messages = find_forbidden_messages(&text);
        let mut nodes = find_node_not_found(&text);
        // An error embedded with %q inside free text keeps one level of escaping.
        if messages.is_empty() && nodes.is_empty() && text.contains("\\\"") {
            let unescaped = quoted::unescape_once(&text);
            messages = find_forbidden_messages(&unescaped);
            nodes = find_node_not_found(&unescaped);
        }
        for m in messages {
            // Structured lines can repeat the error in the message and a value.
            let seen = out.denied.get(first_denial..).unwrap_or(&[]);
            if seen.iter().any(|d| d.message == m.message) {
                continue;
            }
            let denial = DeniedRequest::new(m, line, time, parsed.journal_host, parsed.source);
            out.denied.push(denial);
        }
        for node in nodes {
            out.node_not_found.push(NodeNotFound {
                node,
                line,
                time,
                related_denials: Vec::new(),
            });
        }
    }
}

/// Ties each `not found` to the refused reads of its Node around it. Candidates are grouped
/// per node and sorted, so each tie is a binary search, not a scan of the whole log.
fn tie_node_not_found(report: &mut KubeletLogReport) {
    #[derive(Default)]
    struct Candidates {
        /// (time, index) of refusals with a time, sorted by time.
        timed: Vec<(i64, usize)>,
        /// (line, index) of every refusal, in line order.
        by_line: Vec<(u64, usize)>,
    }
    let mut per_node: HashMap<&str, Candidates> = HashMap::new();
    for (index, d) in report.denied.iter().enumerate() {
        let Some(node) = d.username.strip_prefix(NODE_USER_PREFIX) else {
            continue;
        };
        if !d.is_node_read_by(node) {
            continue;
        }
        let c = per_node.entry(node).or_default();
        if let Some(t) = d.time {
            c.timed.push((t.micros_in_year(), index));
        }
        c.by_line.push((d.line, index));
    }
    for c in per_node.values_mut() {
        c.timed.sort_unstable();
    }
    let denied = &report.denied;
    for nnf in &mut report.node_not_found {
        let Some(c) = per_node.get(nnf.node.as_str()) else {
            continue;
        };
        let mut related: Vec<usize> = Vec::new();
        let low_line = nnf.line.saturating_sub(NODE_NOT_FOUND_WINDOW_LINES);
        let high_line = nnf.line.saturating_add(NODE_NOT_FOUND_WINDOW_LINES);
        let from = c.by_line.partition_point(|&(l, _)| l < low_line);
        let to = c.by_line.partition_point(|&(l, _)| l <= high_line);
        let by_line = c.by_line.get(from..to).unwrap_or(&[]);
        match nnf.time {
            Some(t) => {
                let t = t.micros_in_year();
                let from = c
                    .timed
                    .partition_point(|&(x, _)| x < t - NODE_NOT_FOUND_WINDOW_MICROS);
                let to = c
                    .timed
                    .partition_point(|&(x, _)| x <= t + NODE_NOT_FOUND_WINDOW_MICROS);
                related.extend(c.timed.get(from..to).unwrap_or(&[]).iter().map(|&(_, i)| i));
                // Refusals without a time fall back to adjacency.
                related.extend(
                    by_line
                        .iter()
                        .filter(|&&(_, i)| denied.get(i).is_some_and(|d| d.time.is_none()))
                        .map(|&(_, i)| i),
                );
            }
            None => related.extend(by_line.iter().map(|&(_, i)| i)),
        }
        related.sort_unstable();
        related.dedup();
        nnf.related_denials = related;
    }
}

fn distinct(denied: &[DeniedRequest]) -> Vec<DistinctDenied> {
    let mut index: HashMap<DeniedKey, usize> = HashMap::new();
    let mut out: Vec<DistinctDenied> = Vec::new();
    for d in denied {
        let key = d.key();
        match index.get(&key) {
            Some(&k) => {
                if let Some(entry) = out.get_mut(k) {
                    entry.count += 1;
                }
            }
            None => {
                index.insert(key.clone(), out.len());
                out.push(DistinctDenied {
                    key,
                    count: 1,
                    first_line: d.line,
                });
            }
        }
    }
    out
}
