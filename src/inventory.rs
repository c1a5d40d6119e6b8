//! The inventory `nodeauthz analyze` prints before any replay: what was read, and the kubelet
//! requests per node with what the apiserver recorded for them.
//!
//! [`InventoryBuilder`] takes requests one at a time (`analyze` adds them up as it reads them
//! back from its spill file, so memory holds counters, not requests) and [`Inventory`] renders
//! as a table or one JSON document. [`read`] is the inventory alone (`analyze
//! --inventory-only`): the logs read once, each request counted as the read hands it over, with
//! no graph, spill file or verdict.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::ControlFlow;

use serde::Serialize;

use crate::authz::node::NODE_USER_PREFIX;
use crate::authz::Attributes;
use crate::export::report::one_line;
use crate::graph::intern::FxHashMap;
use crate::input::source::InputSpec;
use crate::input::time::format_micros;
use crate::input::uri::resolve_path;
use crate::record::{KubeletMatch, KubeletRequest, SourcePos};
use crate::scan::{scan, BadLine, ScanError, ScanOptions, ScanSummary};
use crate::spill::Fields;
use crate::verdict::{Recorded, RecordedOutcome};

/// What the audit log recorded for a request: the same classification the verdicts use
/// ([`RecordedOutcome::classify`]), so the inventory and the verdict report count alike.
pub fn recorded(r: &KubeletRequest) -> Recorded {
    RecordedOutcome::classify(r.decision.as_deref(), r.reason.as_deref(), r.response_code).0
}

/// Reads `inputs` and counts their kubelet requests: the inventory alone. Every count is the
/// one [`crate::analyze::analyze`] gives, because the same lines are parsed (the object
/// events' too, counted and dropped at once), but nothing waits for a graph: each request is
/// counted as the read hands it over, on the thread that merges the read's chunks, and
/// memory holds the counters and the read's windows only. The summary holds no object event.
pub fn read(
    inputs: &[InputSpec],
    opts: &ScanOptions,
) -> Result<(Inventory, ScanSummary), ScanError> {
    let opts = ScanOptions {
        want_object_events: true,
        keep_object_events: false,
        want_requests: true,
        ..opts.clone()
    };
    let mut counts = InventoryBuilder::default();
    let mut undecodable: Option<(SourcePos, String)> = None;
    let summary = scan(inputs, &opts, &mut |batch| {
        for request in batch.iter() {
            match request.decode_fields(Fields::ForInventory) {
                Ok(r) => counts.add(&r),
                // The read's own encoding: a bug, reported once the read is over and the
                // summary can name the file (stopping the read would return no summary).
                Err(reason) => {
                    undecodable.get_or_insert((request.pos(), reason));
                }
            }
        }
        ControlFlow::Continue(())
    })?;
    if let Some((pos, reason)) = undecodable {
        return Err(ScanError::undecodable(&summary, pos, reason));
    }
    Ok((counts.finish(&summary), summary))
}

/// Request counts by recorded decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Distinct requests.
    pub requests: u64,
    /// Requests recorded as allowed.
    pub allowed: u64,
    /// Requests recorded as forbidden.
    pub forbidden: u64,
    /// Requests with no recorded decision or response code (only RequestReceived was logged).
    pub no_response: u64,
}

impl Counts {
    fn add(&mut self, r: Recorded) {
        self.requests += 1;
        match r {
            Recorded::Allowed => self.allowed += 1,
            Recorded::Forbidden => self.forbidden += 1,
            Recorded::NoResponse => self.no_response += 1,
        }
    }
}

/// One row of a node's breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerbResource {
    /// The request verb.
    pub verb: String,
    /// `resource[/subresource]` (with `group/` in front for non-core groups), or the path of a
    /// non-resource request.
    pub resource: String,
    /// Counts by recorded decision.
    #[serde(flatten)]
    pub counts: Counts,
}

/// One identity's kubelet requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IdentityInventory {
    /// Counts by recorded decision.
    #[serde(flatten)]
    pub counts: Counts,
    /// Breakdown by verb and resource, sorted.
    pub by_verb_resource: Vec<VerbResource>,
}

/// The whole inventory.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    /// Inputs in the order they were read.
    pub inputs: Vec<InputRow>,
    /// Bytes read (decompressed for gzip).
    pub bytes: u64,
    /// Earliest event timestamp seen (RFC 3339).
    pub first_timestamp: Option<String>,
    /// Latest event timestamp seen (RFC 3339).
    pub last_timestamp: Option<String>,
    /// Lines read.
    pub lines: u64,
    /// Lines parsed into audit events.
    pub lines_used: u64,
    /// Blank lines and lines the pre-filter left unparsed.
    pub lines_skipped: u64,
    /// Bad lines (line-level kinds only).
    pub bad_lines: u64,
    /// Bad input by kind, with examples.
    pub bad: BadSection,
    /// Audit events.
    pub events: u64,
    /// Distinct requests.
    pub requests: u64,
    /// Kubelet events before deduplication.
    pub kubelet_events: u64,
    /// Distinct kubelet requests.
    pub kubelet_requests: u64,
    /// Node identities (`system:node:<name>`, possibly impersonated), keyed by node name.
    pub nodes: BTreeMap<String, IdentityInventory>,
    /// Requests with a kubelet user agent from identities that are not nodes, by username.
    pub other_kubelet_identities: BTreeMap<String, IdentityInventory>,
}

/// One input in the inventory.
#[derive(Debug, Clone, Serialize)]
pub struct InputRow {
    /// The input path; `-` for stdin.
    pub path: String,
    /// `lines`, `documents` or `not_a_log`.
    pub shape: &'static str,
    /// Bytes read (decompressed for gzip).
    pub bytes: u64,
    /// Size of the compressed file, for gzip inputs.
    pub compressed_bytes: Option<u64>,
    /// Whether the file was memory-mapped (false: read as a stream).
    pub mapped: bool,
    /// Lines read.
    pub lines: u64,
    /// Earliest event timestamp seen (RFC 3339).
    pub first_timestamp: Option<String>,
    /// Latest event timestamp seen (RFC 3339).
    pub last_timestamp: Option<String>,
}

/// Bad input: counts by kind and the first examples of each kind.
#[derive(Debug, Clone, Serialize)]
pub struct BadSection {
    /// Count by kind name.
    pub counts: BTreeMap<String, u64>,
    /// The first ten of each kind.
    pub examples: Vec<BadLine>,
}

/// verb → resource key → counts, for one identity.
type Rows = BTreeMap<String, BTreeMap<String, Counts>>;

/// Adds up requests one at a time. `analyze` has each deciding worker add up the requests it
/// reads back from its spill file into a builder of its own, and merges the builders at the
/// end ([`InventoryBuilder::merge`]): counting on the thread that merged the workers' results
/// made every request's key cross from one core's cache to the other's, and its lookup was a
/// fifth of that thread's work, which every worker waits on.
#[derive(Debug, Default)]
pub struct InventoryBuilder {
    /// Counts by [`row_key`]. One hash lookup per request: the nested ordered maps the
    /// inventory is rendered from (identity, verb, resource) took three descents with a dozen
    /// string comparisons; they are built once, by [`InventoryBuilder::finish`]. FxHash:
    /// SipHash was most of the lookup's cost.
    counts: FxHashMap<Vec<u8>, Counts>,
    /// The key of the request at hand, kept so that only a new row allocates one.
    key: Vec<u8>,
}

/// What a request's row of the inventory is keyed by from its effective user and its path.
struct RowResource<'a> {
    /// The effective user's name.
    username: &'a str,
    /// The path, the key of a non-resource request.
    path: &'a str,
    resource_request: bool,
    api_group: &'a str,
    resource: &'a str,
    subresource: &'a str,
}

impl<'a> RowResource<'a> {
    /// The key parts of a request by `username` on `path`, the path read here.
    fn read(username: &'a str, path: &'a str) -> Self {
        let p = resolve_path(path);
        RowResource {
            username,
            path,
            resource_request: p.resource_request,
            api_group: p.api_group,
            resource: p.resource,
            subresource: p.subresource,
        }
    }
}

/// The key of one row of the inventory: whether the identity is a node's, then the identity,
/// the verb and the resource key, each but the last after its length (so that any bytes may
/// be in them).
#[cfg(test)]
fn row_key(out: &mut Vec<u8>, node: bool, identity: &str, verb: &str, resource: &str) {
    row_key_head(out, node, identity, verb);
    out.extend_from_slice(resource.as_bytes());
}

/// A [`row_key`] up to its resource key.
fn row_key_head(out: &mut Vec<u8>, node: bool, identity: &str, verb: &str) {
    out.clear();
    out.push(u8::from(node));
    for part in [identity, verb] {
        out.extend_from_slice(&(part.len() as u64).to_le_bytes());
        out.extend_from_slice(part.as_bytes());
    }
}

/// The parts of a [`row_key`]: (node, identity, verb, resource key).
fn row_parts(key: &[u8]) -> (bool, String, String, String) {
    let (node, mut rest) = key
        .split_first()
        .map_or((false, key), |(n, r)| (*n == 1, r));
    let mut next = || {
        let (len, tail) = rest.split_at(8);
        let len = u64::from_le_bytes(len.try_into().unwrap_or_default()) as usize;
        let (part, tail) = tail.split_at(len);
        rest = tail;
        String::from_utf8_lossy(part).into_owned()
    };
    let identity = next();
    let verb = next();
    (
        node,
        identity,
        verb,
        String::from_utf8_lossy(rest).into_owned(),
    )
}

/// The [`row_key`] of request `r`: its effective user (a node's by its name), its verb, and
/// its resource key: `resource[/subresource]` with `group/` in front for non-core groups, or
/// the path of a non-resource request.
fn request_key(r: &KubeletRequest, p: RowResource<'_>, out: &mut Vec<u8>) {
    let username = p.username;
    let (node, identity) = match r.matched_by {
        Some(KubeletMatch::NodeUser | KubeletMatch::ImpersonatedNode) => (
            true,
            username.strip_prefix(NODE_USER_PREFIX).unwrap_or(username),
        ),
        _ => (false, username),
    };
    row_key_head(out, node, identity, &r.verb);
    if !p.resource_request {
        out.extend_from_slice(p.path.as_bytes());
        return;
    }
    if !p.api_group.is_empty() {
        out.extend_from_slice(p.api_group.as_bytes());
        out.push(b'/');
    }
    out.extend_from_slice(p.resource.as_bytes());
    if !p.subresource.is_empty() {
        out.push(b'/');
        out.extend_from_slice(p.subresource.as_bytes());
    }
}

impl InventoryBuilder {
    /// Counts one distinct kubelet request.
    pub fn add(&mut self, r: &KubeletRequest) {
        let key = RowResource::read(&r.effective_user().username, &r.uri.path);
        self.add_keyed(r, key);
    }

    /// [`InventoryBuilder::add`] for a request whose attributes `attrs` are already worked out
    /// (see [`request_attributes`](crate::input::uri::request_attributes)): they hold its
    /// path's resource as `add` reads it, and reading the path again was a tenth of the
    /// deciding worker's own work on a request. The identity and the path are the
    /// attributes' too, so `r` may have given them up to `attrs` (see
    /// [`request_attributes_taking`](crate::input::uri::request_attributes_taking)).
    pub fn add_with_attributes(&mut self, r: &KubeletRequest, attrs: &Attributes) {
        self.add_keyed(
            r,
            RowResource {
                username: &attrs.username,
                path: &attrs.path,
                resource_request: attrs.resource_request,
                api_group: &attrs.api_group,
                resource: &attrs.resource,
                subresource: &attrs.subresource,
            },
        );
        #[cfg(debug_assertions)]
        {
            // The attributes must be the request's (its path and effective user, unless it
            // gave them up to the attributes, and its verb), and give the key their path
            // gives: else a request would be counted under one row here and another where
            // `add` counts it.
            let user = &r.effective_user().username;
            debug_assert!(r.uri.path.is_empty() || r.uri.path == attrs.path);
            debug_assert!(user.is_empty() || *user == attrs.username);
            debug_assert_eq!(r.verb, attrs.verb);
            let mut from_path = Vec::new();
            request_key(
                r,
                RowResource::read(&attrs.username, &attrs.path),
                &mut from_path,
            );
            debug_assert_eq!(from_path, self.key, "attributes and path disagree");
        }
    }

    fn add_keyed(&mut self, r: &KubeletRequest, resource: RowResource<'_>) {
        request_key(r, resource, &mut self.key);
        let recorded = recorded(r);
        match self.counts.get_mut(self.key.as_slice()) {
            Some(c) => c.add(recorded),
            None => self
                .counts
                .entry(self.key.clone())
                .or_default()
                .add(recorded),
        }
    }

    /// Adds the counts of `other`, as if its requests had been added here.
    pub fn merge(&mut self, other: InventoryBuilder) {
        for (key, c) in other.counts {
            let sum = self.counts.entry(key).or_default();
            sum.requests += c.requests;
            sum.allowed += c.allowed;
            sum.forbidden += c.forbidden;
            sum.no_response += c.no_response;
        }
    }

    /// The inventory of everything added, with the scan's summary.
    pub fn finish(self, s: &ScanSummary) -> Inventory {
        let (mut nodes, mut others) = (BTreeMap::new(), BTreeMap::new());
        for (key, c) in self.counts {
            let (node, identity, verb, resource) = row_parts(&key);
            let map: &mut BTreeMap<String, Rows> = if node { &mut nodes } else { &mut others };
            map.entry(identity)
                .or_default()
                .entry(verb)
                .or_default()
                .insert(resource, c);
        }
        let fmt = |t: Option<i64>| t.map(format_micros);
        let identities = |m: BTreeMap<String, Rows>| {
            m.into_iter()
                .map(|(name, rows)| {
                    let mut inv = IdentityInventory::default();
                    let flat = rows.into_iter().flat_map(|(verb, by_res)| {
                        by_res
                            .into_iter()
                            .map(move |(res, c)| ((verb.clone(), res), c))
                    });
                    for ((verb, resource), c) in flat {
                        inv.counts.requests += c.requests;
                        inv.counts.allowed += c.allowed;
                        inv.counts.forbidden += c.forbidden;
                        inv.counts.no_response += c.no_response;
                        inv.by_verb_resource.push(VerbResource {
                            verb,
                            resource,
                            counts: c,
                        });
                    }
                    (name, inv)
                })
                .collect()
        };
        Inventory {
            inputs: s
                .inputs
                .iter()
                .map(|i| InputRow {
                    path: i.path.clone(),
                    shape: i.shape,
                    bytes: i.bytes,
                    compressed_bytes: i.compressed_bytes,
                    mapped: i.mapped,
                    lines: i.lines,
                    first_timestamp: fmt(i.first_timestamp),
                    last_timestamp: fmt(i.last_timestamp),
                })
                .collect(),
            bytes: s.inputs.iter().map(|i| i.bytes).sum(),
            first_timestamp: fmt(s.inputs.iter().filter_map(|i| i.first_timestamp).min()),
            last_timestamp: fmt(s.inputs.iter().filter_map(|i| i.last_timestamp).max()),
            lines: s.lines_read,
            lines_used: s.lines_used,
            lines_skipped: s.lines_skipped,
            bad_lines: s.lines_bad,
            bad: BadSection {
                counts: s
                    .bad
                    .counts
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), *v))
                    .collect(),
                examples: s.bad.examples.clone(),
            },
            events: s.events,
            requests: s.requests,
            kubelet_events: s.kubelet_events,
            kubelet_requests: s.kubelet_requests,
            nodes: identities(nodes),
            other_kubelet_identities: identities(others),
        }
    }
}

impl Inventory {
    /// One JSON document (pretty-printed), its keys sorted as in the document of a full
    /// analysis, which adds its own to a `Value` of this one.
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings and numbers cannot fail.
        let doc = serde_json::to_value(self).unwrap_or_default();
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }

    /// The human-readable report.
    pub fn to_table(&self) -> String {
        let mut o = String::new();
        let span = match (&self.first_timestamp, &self.last_timestamp) {
            (Some(f), Some(l)) => format!("{f} .. {l}"),
            _ => "no timestamps".to_string(),
        };
        let _ = writeln!(
            o,
            "Inputs: {} file(s), {} bytes, {span}",
            self.inputs.len(),
            self.bytes
        );
        for i in &self.inputs {
            let _ = writeln!(
                o,
                "  {}  {} bytes  {} lines  {}",
                one_line(&i.path),
                i.bytes,
                i.lines,
                i.shape
            );
        }
        let _ = writeln!(
            o,
            "Lines: {} read = {} used + {} skipped + {} bad",
            self.lines, self.lines_used, self.lines_skipped, self.bad_lines
        );
        let _ = writeln!(
            o,
            "Events: {}  distinct requests: {}  kubelet requests: {} (from {} events)",
            self.events, self.requests, self.kubelet_requests, self.kubelet_events
        );
        for (title, map) in [
            ("Kubelet requests per node", &self.nodes),
            (
                "Kubelet user agents of non-node identities",
                &self.other_kubelet_identities,
            ),
        ] {
            if map.is_empty() {
                continue;
            }
            let _ = writeln!(o, "\n{title}");
            let _ = writeln!(
                o,
                "  {:<40} {:>9} {:>9} {:>9} {:>11}",
                "NODE / VERB RESOURCE", "REQUESTS", "ALLOWED", "FORBIDDEN", "NO RESPONSE"
            );
            for (name, inv) in map {
                let c = inv.counts;
                let _ = writeln!(
                    o,
                    "  {:<40} {:>9} {:>9} {:>9} {:>11}",
                    one_line(name),
                    c.requests,
                    c.allowed,
                    c.forbidden,
                    c.no_response
                );
                for row in &inv.by_verb_resource {
                    let c = row.counts;
                    let label = format!("{} {}", one_line(&row.verb), one_line(&row.resource));
                    let _ = writeln!(
                        o,
                        "    {:<38} {:>9} {:>9} {:>9} {:>11}",
                        label, c.requests, c.allowed, c.forbidden, c.no_response
                    );
                }
            }
        }
        if !self.bad.counts.is_empty() {
            let counts: Vec<String> = self
                .bad
                .counts
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(o, "\nBad input: {}", counts.join(", "));
            for e in &self.bad.examples {
                let _ = writeln!(
                    o,
                    "  {}:{}: {}: {}",
                    one_line(&e.file),
                    e.line,
                    e.kind,
                    one_line(&e.reason)
                );
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::uri::{parse_request_uri, request_attributes};
    use crate::record::{Stage, UserInfo};

    fn req(
        user: &str,
        verb: &str,
        uri: &str,
        stage: Stage,
        code: Option<i32>,
        decision: Option<&str>,
    ) -> KubeletRequest {
        KubeletRequest {
            stage: Some(stage),
            verb: verb.into(),
            uri: parse_request_uri(uri),
            user: UserInfo {
                username: user.into(),
                ..UserInfo::default()
            },
            response_code: code,
            decision: decision.map(Into::into),
            matched_by: Some(if user.starts_with(NODE_USER_PREFIX) {
                KubeletMatch::NodeUser
            } else {
                KubeletMatch::KubeletUserAgent
            }),
            ..KubeletRequest::default()
        }
    }

    /// The deciding worker keys a row by the request's attributes: the same key as from its
    /// path, for resource and non-resource paths, the legacy prefixes, and impersonation.
    #[test]
    fn the_key_from_the_attributes_is_the_key_from_the_path() {
        let paths = [
            "/api/v1/nodes/n1",
            "/api/v1/namespaces/ns/pods/p/status",
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1",
            "/api/v1/watch/namespaces/ns/secrets/s",
            "/api/v1/proxy/nodes/n1/stats",
            "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1",
            "//api//v1//pods",
            "/healthz",
            "/apis",
        ];
        for path in paths {
            for verb in ["get", "list", "watch", "patch"] {
                for (user, impersonated) in [
                    ("system:node:n1", None),
                    ("admin", Some("system:node:n2")),
                    ("someone", None),
                ] {
                    let mut r = req(user, verb, path, Stage::ResponseComplete, Some(200), None);
                    if let Some(i) = impersonated {
                        r.impersonated_user = Some(UserInfo {
                            username: i.into(),
                            ..UserInfo::default()
                        });
                        r.matched_by = Some(KubeletMatch::ImpersonatedNode);
                    }
                    let attrs = request_attributes(&r.verb, &r.uri, r.effective_user());
                    let (mut from_attrs, mut from_path) =
                        (InventoryBuilder::default(), InventoryBuilder::default());
                    from_attrs.add_with_attributes(&r, &attrs);
                    from_path.add(&r);
                    assert_eq!(from_attrs.counts.len(), 1);
                    assert_eq!(
                        from_attrs.counts, from_path.counts,
                        "{verb} {path} as {user}"
                    );
                }
            }
        }
    }

    #[test]
    fn per_node_breakdown() {
        let mut b = InventoryBuilder::default();
        let rc = Stage::ResponseComplete;
        b.add(&req(
            "system:node:n1",
            "get",
            "/api/v1/nodes/n1",
            rc,
            Some(403),
            None,
        ));
        b.add(&req(
            "system:node:n1",
            "get",
            "/api/v1/nodes/n1",
            rc,
            Some(200),
            Some("allow"),
        ));
        b.add(&req(
            "system:node:n1",
            "patch",
            "/api/v1/nodes/n1/status",
            Stage::RequestReceived,
            None,
            None,
        ));
        b.add(&req(
            "system:node:n2",
            "update",
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n2",
            rc,
            Some(200),
            None,
        ));
        b.add(&req("bootstrap", "get", "/healthz", rc, Some(200), None));
        let inv = b.finish(&ScanSummary::default());
        let n1 = &inv.nodes["n1"];
        assert_eq!(
            n1.counts,
            Counts {
                requests: 3,
                allowed: 1,
                forbidden: 1,
                no_response: 1
            }
        );
        assert_eq!(
            n1.by_verb_resource
                .iter()
                .map(|r| (r.verb.as_str(), r.resource.as_str(), r.counts.requests))
                .collect::<Vec<_>>(),
            vec![("get", "nodes", 2), ("patch", "nodes/status", 1)]
        );
        assert_eq!(
            inv.nodes["n2"].by_verb_resource[0].resource,
            "coordination.k8s.io/leases"
        );
        assert_eq!(
            inv.other_kubelet_identities["bootstrap"].by_verb_resource[0].resource,
            "/healthz"
        );
        let json: serde_json::Value = serde_json::from_str(&inv.to_json()).unwrap();
        assert_eq!(json["nodes"]["n1"]["forbidden"], 1);
        assert_eq!(json["nodes"]["n1"]["no_response"], 1);
        assert!(inv.to_table().contains("patch nodes/status"));
    }

    /// Builders that each added some of the requests, merged, give the inventory of one that
    /// added them all: rows in both are summed, rows in one are kept.
    #[test]
    fn merged_builders_count_as_one() {
        let rc = Stage::ResponseComplete;
        let requests = [
            req(
                "system:node:n1",
                "get",
                "/api/v1/nodes/n1",
                rc,
                Some(403),
                None,
            ),
            req(
                "system:node:n1",
                "get",
                "/api/v1/nodes/n1",
                rc,
                Some(200),
                Some("allow"),
            ),
            req(
                "system:node:n1",
                "get",
                "/api/v1/nodes/n1",
                Stage::RequestReceived,
                None,
                None,
            ),
            req(
                "system:node:n2",
                "get",
                "/api/v1/nodes/n2",
                rc,
                Some(200),
                None,
            ),
            req("bootstrap", "get", "/healthz", rc, Some(200), None),
        ];
        let mut all = InventoryBuilder::default();
        for r in &requests {
            all.add(r);
        }
        let (mut first, mut second) = (InventoryBuilder::default(), InventoryBuilder::default());
        for (i, r) in requests.iter().enumerate() {
            if i % 2 == 0 {
                first.add(r)
            } else {
                second.add(r)
            }
        }
        first.merge(second);
        let summary = ScanSummary::default();
        let (merged, whole) = (first.finish(&summary), all.finish(&summary));
        assert_eq!(merged.to_json(), whole.to_json());
        assert_eq!(
            merged.nodes["n1"].counts,
            Counts {
                requests: 3,
                allowed: 1,
                forbidden: 1,
                no_response: 1
            }
        );
        assert_eq!(merged.nodes["n2"].counts.requests, 1);
        assert_eq!(
            merged.other_kubelet_identities["bootstrap"].counts.requests,
            1
        );
    }

    #[test]
    fn table_escapes_control_characters_from_the_log() {
        let mut b = InventoryBuilder::default();
        let rc = Stage::ResponseComplete;
        b.add(&req(
            "system:node:n\u{1b}]0;x\u{7}",
            "get",
            "/api/v1/nodes/n1",
            rc,
            Some(200),
            None,
        ));
        let table = b.finish(&ScanSummary::default()).to_table();
        assert!(!table.contains(['\u{1b}', '\u{7}']), "{table:?}");
        assert!(table.contains("  n\\u{1b}]0;x\\u{7}  "), "{table:?}");
    }

    #[test]
    fn row_keys_keep_their_parts_apart_whatever_bytes_they_hold() {
        let mut key = Vec::new();
        for (node, identity, verb, resource) in [
            (true, "node1", "get", "nodes"),
            (false, "a\0b", "", "x/y\0"),
            (true, "", "list", ""),
            (false, "\u{1F600}", "watch\0", "coordination.k8s.io/leases"),
        ] {
            row_key(&mut key, node, identity, verb, resource);
            assert_eq!(
                row_parts(&key),
                (node, identity.into(), verb.into(), resource.into())
            );
        }
        // Parts that would run together in a joined string stay two rows.
        let mut other = Vec::new();
        row_key(&mut key, true, "ab", "c", "r");
        row_key(&mut other, true, "a", "bc", "r");
        assert_ne!(key, other);
    }
}
