//! The Node authorizer's graph, with time.
//!
//! Vertices are interned (kind, namespace, name); edges are exactly those of spec 6.2 and each
//! holds the intervals `[from, to)` in which it existed, with the source of each (the objects
//! dump or one audit event). The graph is built once ([`build_graph`]) from an objects dump and
//! the object events of the audit stream, then queried read-only, from many threads, through
//! [`crate::authz::ClusterView`]. A query at time t sees exactly the edges valid at t.
//!
//! Whether "no path" can be trusted is decided by the completeness rule in [`completeness`]
//! (also `docs/graph-completeness.md`).

mod build;
pub mod completeness;
mod describe;
mod events;
pub mod intern;
mod search;
pub mod sightings;
mod timeline;

pub use build::{build_graph, build_graph_with};
pub use describe::format_interval_end;

use crate::authz::{ClusterView, Known, PathAnswer, PodFacts, VertexKind};
use crate::cluster::{NodeView, PodView, ResourceSliceView};
use crate::record::{Micros, SourcePos};
use completeness::Completeness;
use intern::{FxHashMap, Interner, VertexId};
use std::fmt;
use std::sync::Arc;
use timeline::Segment;

/// `dest` of edges that carry no destination node (pv → pvc, secret → pv).
pub(crate) const NO_DEST: VertexId = VertexId::MAX;

/// Where an edge's interval came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeSource {
    /// The `--objects` dump.
    Dump,
    /// One audit event (input file index and line).
    Log(SourcePos),
}

impl fmt::Display for EdgeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdgeSource::Dump => f.write_str("objects dump"),
            EdgeSource::Log(p) => write!(f, "audit input #{} line {}", p.file, p.line),
        }
    }
}

/// A logged object body that could not be read (the event still counts, without its body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphProblem {
    pub pos: SourcePos,
    pub message: String,
}

impl fmt::Display for GraphProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", EdgeSource::Log(self.pos), self.message)
    }
}

/// One existence interval of an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interval {
    pub from: Micros,
    pub to: Micros,
    /// Index into `Graph::sources`.
    pub source: u32,
}

impl Interval {
    fn contains(&self, t: Micros) -> bool {
        self.from <= t && t < self.to
    }
}

/// An outgoing edge in the adjacency lists.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub to: VertexId,
    /// The node this edge leads to, or [`NO_DEST`].
    pub dest: VertexId,
    pub iv_start: u32,
    pub iv_len: u32,
}

/// A pod version: its view, and whether its references are known (false when only a binding
/// was logged for a pod the dump does not have).
#[derive(Debug, Clone)]
pub(crate) struct PodState {
    /// Shared between the segments of one pod; a binding makes a new version.
    pub view: Arc<PodView>,
    pub refs_known: bool,
}

/// The temporal graph plus the object timelines the authorizers look up.
#[derive(Debug)]
pub struct Graph {
    interner: Interner,
    out_start: Vec<u32>,
    out_edges: Vec<Edge>,
    intervals: Vec<Interval>,
    sources: Vec<EdgeSource>,
    completeness: Completeness,
    pods: FxHashMap<String, FxHashMap<String, Vec<Segment<PodState>>>>,
    nodes: FxHashMap<String, Vec<Segment<NodeView>>>,
    slices: FxHashMap<String, Vec<Segment<ResourceSliceView>>>,
    /// The analysed window, as given to [`build_graph`].
    pub window: (Micros, Micros),
    /// Logged bodies that could not be read.
    pub problems: Vec<GraphProblem>,
}

impl Graph {
    /// Number of vertices (every vertex that ever had an edge).
    pub fn vertex_count(&self) -> usize {
        self.interner.len()
    }

    /// Number of distinct edges (an edge present in several intervals counts once).
    pub fn edge_count(&self) -> usize {
        self.out_edges.len()
    }

    /// Names of the Node objects known from the dump or the log, in no particular order.
    pub fn node_names(&self) -> impl Iterator<Item = String> + '_ {
        self.nodes.keys().cloned()
    }

    /// `None` when the graph is complete for `node` at `at` (a missing path is a real "no"),
    /// else why not. See [`completeness`].
    pub fn completeness(&self, node: &str, at: Micros) -> Option<String> {
        self.completeness.check(node, at)
    }

    fn edges_of(&self, v: VertexId) -> &[Edge] {
        let start = self.out_start.get(v as usize).copied().unwrap_or(0) as usize;
        let end = self.out_start.get(v as usize + 1).copied().unwrap_or(0) as usize;
        self.out_edges.get(start..end).unwrap_or(&[])
    }

    fn edge_valid(&self, e: &Edge, at: Micros) -> bool {
        let start = e.iv_start as usize;
        self.intervals
            .get(start..start + e.iv_len as usize)
            .is_some_and(|ivs| ivs.iter().any(|iv| iv.contains(at)))
    }
}

/// Cluster-scoped kinds have no namespace, whatever the caller passed.
fn scoped(kind: VertexKind, namespace: &str) -> &str {
    match kind {
        VertexKind::Node
        | VertexKind::Pv
        | VertexKind::VolumeAttachment
        | VertexKind::ResourceSlice => "",
        _ => namespace,
    }
}

fn segment_at<V>(segs: &[Segment<V>], at: Micros) -> Option<&Segment<V>> {
    segs.iter().find(|s| s.from <= at && at < s.to)
}

impl ClusterView for Graph {
    fn path(
        &self,
        kind: VertexKind,
        namespace: &str,
        name: &str,
        node: &str,
        at: Micros,
    ) -> PathAnswer {
        let start = self.interner.find(kind, scoped(kind, namespace), name);
        let target = self.interner.find(VertexKind::Node, "", node);
        if let (Some(start), Some(target)) = (start, target) {
            if let Some(path) = self.search(start, target, at) {
                return PathAnswer::Found(
                    path.into_iter().map(|v| self.interner.render(v)).collect(),
                );
            }
        }
        match self.completeness(node, at) {
            None => PathAnswer::NoPath,
            Some(why) => PathAnswer::Incomplete(why),
        }
    }

    fn pod(&self, namespace: &str, name: &str, at: Micros) -> Known<PodFacts> {
        let segs = self.pods.get(namespace).and_then(|m| m.get(name));
        let Some(segs) = segs else {
            return if self.completeness.pod_snapshot {
                Known::Absent
            } else {
                // Appended, not formatted: asked for every pod status patch of a pod the log
                // does not show, and `format!` likely takes about three times the
                // instructions (as measured for `no_relationship_reason`).
                Known::Unknown(
                    [
                        "pod ",
                        namespace,
                        "/",
                        name,
                        ": no objects dump with pods and no logged event for it",
                    ]
                    .concat(),
                )
            };
        };
        match segment_at(segs, at) {
            None => Known::Absent,
            Some(Segment { body: Some(p), .. }) if p.refs_known => Known::Yes(PodFacts {
                uid: p.view.uid.clone(),
                node_name: p.view.node_name.clone(),
                labels: p.view.labels.clone(),
                token_audiences: p.view.token_audiences.clone(),
            }),
            Some(s) => Known::Unknown(format!(
                "pod {namespace}/{name} existed but its spec is unknown (from {})",
                self.source_shown(s.source)
            )),
        }
    }

    fn node_uid(&self, name: &str, at: Micros) -> Known<String> {
        lookup(
            &self.nodes,
            name,
            at,
            self.completeness.node_snapshot,
            "Node",
            |n| Some(&n.uid).filter(|u| !u.is_empty()),
        )
    }

    fn resource_slice_node(&self, name: &str, at: Micros) -> Known<String> {
        lookup(
            &self.slices,
            name,
            at,
            self.completeness.slice_snapshot,
            "ResourceSlice",
            |s| Some(&s.node_name),
        )
    }
}

impl Graph {
    fn source_text(&self, source: u32) -> String {
        self.source_shown(source).to_string()
    }

    /// [`Graph::source_text`], written where it is wanted: formatted into a string of its own
    /// first, and that into the answer, it was two fifths of a pod lookup's instructions (the
    /// answer for every pod status patch of a pod whose spec the log does not show;
    /// callgrind, the 1 GB benchmark log).
    fn source_shown(&self, source: u32) -> impl fmt::Display + '_ {
        /// The source, or nothing for an index out of range.
        struct Shown<'a>(Option<&'a EdgeSource>);
        impl fmt::Display for Shown<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.map_or(Ok(()), |s| fmt::Display::fmt(s, f))
            }
        }
        Shown(self.sources.get(source as usize))
    }
}

/// One field of a cluster-scoped object at `at`.
fn lookup<V>(
    map: &FxHashMap<String, Vec<Segment<V>>>,
    name: &str,
    at: Micros,
    snapshot: bool,
    kind: &str,
    field: fn(&V) -> Option<&String>,
) -> Known<String> {
    let Some(segs) = map.get(name) else {
        return if snapshot {
            Known::Absent
        } else {
            Known::Unknown(format!(
                "{kind} {name}: not in the objects dump and no logged event for it"
            ))
        };
    };
    match segment_at(segs, at) {
        None => Known::Absent,
        Some(Segment { body: Some(v), .. }) => match field(v) {
            Some(f) => Known::Yes(f.clone()),
            None => Known::Unknown(format!(
                "{kind} {name}: the field is empty in its known body"
            )),
        },
        Some(_) => Known::Unknown(format!("{kind} {name} existed but its body is unknown")),
    }
}
