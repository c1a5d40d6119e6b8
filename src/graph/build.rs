//! From an objects dump and logged object events to the graph: per-object timelines
//! (`timeline.rs`), then the edges each version of each object implies (spec 6.2), each with
//! the interval in which that version existed.

use super::completeness::{Completeness, IntervalSet};
use super::events::{entry, is_dry_run, Builder, Keyed};
use super::intern::{FxHashMap, Interner, VertexId};
use super::sightings::{PodSighting, PodSightings};
use super::timeline::{segments, Segment};
use super::{Edge, EdgeSource, Graph, Interval, PodState, NO_DEST};
use crate::authz::VertexKind;
use crate::cluster::{
    NodeView, ObjectSet, PodView, PvView, PvcView, ResourceSliceView, VolumeAttachmentView,
};
use crate::record::{Micros, ObjectEvent};
use std::collections::HashMap;
use std::sync::Arc;

/// Builds the graph for the analysed `window` (first and last instant of the audit stream; kept
/// for display: objects known only from the dump extend without bound on either side).
pub fn build_graph(objects: &ObjectSet, events: &[ObjectEvent], window: (Micros, Micros)) -> Graph {
    build_graph_with(objects, events, &PodSightings::default(), window)
}

/// [`build_graph`] from object events and the pod sightings taken out of them (as a scan
/// does, see [`super::sightings`]): the same graph as from the events before the split.
pub fn build_graph_with(
    objects: &ObjectSet,
    events: &[ObjectEvent],
    sightings: &PodSightings,
    window: (Micros, Micros),
) -> Graph {
    let mut b = Builder {
        sources: vec![EdgeSource::Dump],
        problems: Vec::new(),
    };
    let mut pods: Keyed<PodState> = FxHashMap::default();
    let mut pvs: Keyed<PvView> = FxHashMap::default();
    let mut pvcs: Keyed<PvcView> = FxHashMap::default();
    let mut vas: Keyed<VolumeAttachmentView> = FxHashMap::default();
    let mut slices: Keyed<ResourceSliceView> = FxHashMap::default();
    let mut nodes: Keyed<NodeView> = FxHashMap::default();
    let mut node_created: HashMap<String, Micros> = HashMap::new();

    for p in &objects.pods {
        let state = PodState {
            view: Arc::new(p.clone()),
            refs_known: true,
        };
        entry(&mut pods, &p.namespace, &p.name).0 = Some(state);
    }
    for v in &objects.pvs {
        entry(&mut pvs, "", &v.name).0 = Some(v.clone());
    }
    for v in &objects.pvcs {
        entry(&mut pvcs, &v.namespace, &v.name).0 = Some(v.clone());
    }
    for v in &objects.volume_attachments {
        entry(&mut vas, "", &v.name).0 = Some(v.clone());
    }
    for v in &objects.resource_slices {
        entry(&mut slices, "", &v.name).0 = Some(v.clone());
    }
    for v in &objects.nodes {
        entry(&mut nodes, "", &v.name).0 = Some(v.clone());
    }

    let mut seen = sightings.sightings.iter().peekable();
    for (i, ev) in events.iter().enumerate() {
        while let Some(s) = seen.next_if(|s| s.after <= i) {
            sighting(&mut b, sightings, s, &mut pods);
        }
        if ev.response_code.is_some_and(|c| !(200..300).contains(&c)) || is_dry_run(ev) {
            continue; // a refused request or a dry run changed nothing
        }
        match (ev.api_group.as_str(), ev.resource.as_str()) {
            ("", "pods") | ("", "bindings") => b.pod_event(ev, &mut pods),
            ("", "persistentvolumes") => {
                b.plain_event(ev, &mut pvs, "PersistentVolume", PvView::from_json)
            }
            ("", "persistentvolumeclaims") => {
                b.plain_event(ev, &mut pvcs, "PersistentVolumeClaim", PvcView::from_json)
            }
            ("storage.k8s.io", "volumeattachments") => b.plain_event(
                ev,
                &mut vas,
                "VolumeAttachment",
                VolumeAttachmentView::from_json,
            ),
            ("resource.k8s.io", "resourceslices") => b.plain_event(
                ev,
                &mut slices,
                "ResourceSlice",
                ResourceSliceView::from_json,
            ),
            ("", "nodes") => {
                if ev.subresource.is_empty() && ev.verb == "create" && !ev.name.is_empty() {
                    let t = node_created.entry(ev.name.clone()).or_insert(ev.time);
                    *t = (*t).min(ev.time);
                }
                b.plain_event(ev, &mut nodes, "Node", NodeView::from_json);
            }
            _ => {}
        }
    }

    for s in seen {
        sighting(&mut b, sightings, s, &mut pods);
    }

    let mut edges = EdgeList::default();
    let mut unknown_anywhere = Vec::new();
    let mut unknown_on_node: HashMap<String, Vec<(Micros, Micros, String)>> = HashMap::new();
    let mut pod_timelines: FxHashMap<String, FxHashMap<String, Vec<Segment<PodState>>>> =
        FxHashMap::default();

    for ((ns, name), (dump, changes)) in pods {
        let bind = |prev: Option<&PodState>, node: &str, uid: &str| {
            Some(match prev {
                Some(p) => {
                    let mut view = PodView::clone(&p.view);
                    view.node_name = node.to_string();
                    if view.uid.is_empty() {
                        view.uid = uid.to_string();
                    }
                    PodState {
                        view: Arc::new(view),
                        refs_known: p.refs_known,
                    }
                }
                None => PodState {
                    view: Arc::new(PodView {
                        namespace: ns.clone(),
                        name: name.clone(),
                        node_name: node.to_string(),
                        uid: uid.to_string(),
                        ..PodView::default()
                    }),
                    refs_known: false,
                },
            })
        };
        let segs = segments(dump.as_ref(), changes, &bind);
        for s in &segs {
            let why = || {
                format!(
                    "pod {ns}/{name} existed without a known spec (from {})",
                    b.source_text(s.source)
                )
            };
            match &s.body {
                None => unknown_anywhere.push((s.from, s.to, why())),
                Some(p) if p.view.node_name.is_empty() => {}
                Some(p) => {
                    if !p.refs_known {
                        unknown_on_node
                            .entry(p.view.node_name.clone())
                            .or_default()
                            .push((s.from, s.to, why()));
                    }
                    edges.pod(&p.view, p.refs_known, s);
                }
            }
        }
        pod_timelines.entry(ns).or_default().insert(name, segs);
    }
    // The apiserver's pv → pvc edge comes from the PV's claimRef. A claim's `spec.volumeName`
    // stands in only for a PV the inputs do not show: a pre-bound claim can name a PV that
    // is claimed by another PVC, and trusting it then would invent a path to that PV's secrets.
    let pv_known: std::collections::HashSet<String> =
        pvs.keys().map(|(_, name)| name.clone()).collect();
    for (_, (dump, changes)) in pvs {
        for s in segments(dump.as_ref(), changes, &no_bind) {
            if let Some(pv) = &s.body {
                edges.pv(pv, &s);
            }
        }
    }
    for ((ns, name), (dump, changes)) in pvcs {
        for s in segments(dump.as_ref(), changes, &no_bind) {
            let bound = s.body.as_ref().filter(|p| !p.volume_name.is_empty());
            if let Some(pvc) = bound.filter(|p| !pv_known.contains(&p.volume_name)) {
                let pv = edges.vertex(VertexKind::Pv, "", &pvc.volume_name);
                let claim = edges.vertex(VertexKind::Pvc, &ns, &name);
                edges.add(pv, claim, NO_DEST, &s);
            }
        }
    }
    for ((_, name), (dump, changes)) in vas {
        for s in segments(dump.as_ref(), changes, &no_bind) {
            if let Some(va) = s.body.as_ref().filter(|v| !v.node_name.is_empty()) {
                let from = edges.vertex(VertexKind::VolumeAttachment, "", &name);
                let node = edges.vertex(VertexKind::Node, "", &va.node_name);
                edges.add(from, node, node, &s);
            }
        }
    }
    let mut slice_timelines = FxHashMap::default();
    for ((_, name), (dump, changes)) in slices {
        let segs = segments(dump.as_ref(), changes, &no_bind);
        for s in &segs {
            if let Some(sl) = s.body.as_ref().filter(|v| !v.node_name.is_empty()) {
                let from = edges.vertex(VertexKind::ResourceSlice, "", &name);
                let node = edges.vertex(VertexKind::Node, "", &sl.node_name);
                edges.add(from, node, node, s);
            }
        }
        slice_timelines.insert(name, segs);
    }
    let node_timelines = nodes
        .into_iter()
        .map(|((_, name), (dump, changes))| (name, segments(dump.as_ref(), changes, &no_bind)))
        .collect();

    let (out_start, out_edges, intervals) = edges.finish();
    Graph {
        interner: edges.interner,
        out_start,
        out_edges,
        intervals,
        sources: b.sources,
        completeness: Completeness {
            pod_snapshot: objects.has_pod_snapshot(),
            node_snapshot: objects.kinds_seen.contains("Node"),
            slice_snapshot: objects.kinds_seen.contains("ResourceSlice"),
            node_created,
            unknown_anywhere: IntervalSet::new(unknown_anywhere),
            unknown_on_node: unknown_on_node
                .into_iter()
                .map(|(k, v)| (k, IntervalSet::new(v)))
                .collect(),
        },
        pods: pod_timelines,
        nodes: node_timelines,
        slices: slice_timelines,
        window,
        problems: b.problems,
    }
}

fn no_bind<V>(_: Option<&V>, _: &str, _: &str) -> Option<V> {
    None
}

/// Edges collected as flat records, then sorted into adjacency lists.
#[derive(Default)]
struct EdgeList {
    interner: Interner,
    /// (from, dest, to, interval)
    raw: Vec<(VertexId, VertexId, VertexId, Interval)>,
}

impl EdgeList {
    fn vertex(&mut self, kind: VertexKind, ns: &str, name: &str) -> VertexId {
        self.interner.vertex(kind, ns, name)
    }

    fn add<V>(&mut self, from: VertexId, to: VertexId, dest: VertexId, s: &Segment<V>) {
        self.raw.push((
            from,
            dest,
            to,
            Interval {
                from: s.from,
                to: s.to,
                source: s.source,
            },
        ));
    }

    /// Spec 6.2: pod → node always; for non-mirror pods every referenced object → pod.
    fn pod(&mut self, p: &PodView, refs_known: bool, s: &Segment<PodState>) {
        let node = self.vertex(VertexKind::Node, "", &p.node_name);
        let pod = self.vertex(VertexKind::Pod, &p.namespace, &p.name);
        self.add(pod, node, node, s);
        if p.mirror || !refs_known {
            return;
        }
        let ns = &p.namespace;
        if !p.service_account_name.is_empty() {
            let sa = self.vertex(VertexKind::ServiceAccount, ns, &p.service_account_name);
            self.add(sa, pod, node, s);
        }
        let refs = [
            (VertexKind::Secret, &p.secrets),
            (VertexKind::ConfigMap, &p.config_maps),
            (VertexKind::Pvc, &p.claim_volumes),
            (VertexKind::Pvc, &p.ephemeral_pvcs),
            (VertexKind::ResourceClaim, &p.resource_claims),
        ];
        for (kind, names) in refs {
            for n in names {
                let v = self.vertex(kind, ns, n);
                self.add(v, pod, node, s);
            }
        }
    }

    /// Spec 6.2/6.4: a claimed PV points to its PVC; its kubelet-visible secrets to it.
    fn pv(&mut self, pv: &PvView, s: &Segment<PvView>) {
        let Some(claim) = pv.claim_ref.as_ref().filter(|c| !c.name.is_empty()) else {
            return;
        };
        let pv_v = self.vertex(VertexKind::Pv, "", &pv.name);
        let pvc = self.vertex(VertexKind::Pvc, &claim.namespace, &claim.name);
        self.add(pv_v, pvc, NO_DEST, s);
        for r in pv.secret_refs.iter().filter(|r| r.kubelet_visible) {
            let secret = self.vertex(VertexKind::Secret, &r.namespace, &r.name);
            self.add(secret, pv_v, NO_DEST, s);
        }
    }

    /// Adjacency in CSR form: edges of vertex v are `out_edges[out_start[v]..out_start[v+1]]`,
    /// sorted by (destination node, to) so a search can take just the slice for one node.
    fn finish(&mut self) -> (Vec<u32>, Vec<Edge>, Vec<Interval>) {
        let mut raw = std::mem::take(&mut self.raw);
        raw.sort_unstable_by_key(|&(from, dest, to, iv)| (from, dest, to, iv.from));
        let n = self.interner.len();
        let mut out_start = vec![0u32; n + 1];
        let mut out_edges: Vec<Edge> = Vec::new();
        let mut intervals: Vec<Interval> = Vec::with_capacity(raw.len());
        let mut last: Option<(VertexId, VertexId, VertexId)> = None;
        for (from, dest, to, iv) in raw {
            if last != Some((from, dest, to)) {
                out_edges.push(Edge {
                    to,
                    dest,
                    iv_start: intervals.len() as u32,
                    iv_len: 0,
                });
                if let Some(c) = out_start.get_mut(from as usize + 1) {
                    *c += 1;
                }
                last = Some((from, dest, to));
            }
            intervals.push(iv);
            if let Some(e) = out_edges.last_mut() {
                e.iv_len += 1;
            }
        }
        for i in 1..out_start.len() {
            out_start[i] += out_start[i - 1];
        }
        (out_start, out_edges, intervals)
    }
}

/// Adds one pod sighting's change, with the names it stands for.
fn sighting(b: &mut Builder, all: &PodSightings, s: &PodSighting, pods: &mut Keyed<PodState>) {
    if let (Some(pod), Some(node)) = (all.pods.get(s.pod as usize), all.nodes.get(s.node as usize))
    {
        b.pod_sighting(pod, node, s.time, s.pos, pods);
    }
}
