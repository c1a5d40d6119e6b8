//! Pod sightings: the object events whose only effect on the graph is to say which node a pod
//! was running on, kept in a compact form.
//!
//! A kubelet patches the status of each of its pods every few seconds to minutes. Logged at
//! level Metadata or Request, such a patch carries no Pod body: to the graph it is only a
//! `timeline::Change::Seen` (NodeRestriction let that node change that pod,
//! so the pod was bound to it). These are most of the object events of a long log, and kept as
//! whole [`ObjectEvent`]s (a 270-byte struct and eight strings) they made the list of events
//! that the scan hands to the graph grow by about 12 MiB per GB of log. A sighting is 40
//! bytes: interned pod and node, time, position, and where it stands among the other object
//! events, so that the graph sees every change in the order it would have seen the events
//! themselves.

use super::events::{is_dry_run, node_of};
use super::intern::FxHashMap;
use crate::record::{Micros, ObjectEvent, SourcePos};

/// One sighting; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodSighting {
    /// How many other object events came before it (its place in the event order).
    pub after: usize,
    /// Index of the pod's (namespace, name) in [`PodSightings::pods`].
    pub pod: u32,
    /// Index of the node's name in [`PodSightings::nodes`].
    pub node: u32,
    /// When the change was made.
    pub time: Micros,
    /// Where it was logged.
    pub pos: SourcePos,
}

/// The pod sightings of a scan, in input order, with the names they use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSightings {
    /// The sightings, in input order.
    pub sightings: Vec<PodSighting>,
    /// Pods by index: (namespace, name).
    pub pods: Vec<(String, String)>,
    /// Nodes by index.
    pub nodes: Vec<String>,
    /// Namespace → name → index in `pods`.
    pod_index: FxHashMap<String, FxHashMap<String, u32>>,
    node_index: FxHashMap<String, u32>,
}

/// The node that saw the pod, when `ev`'s only effect on the graph is that sighting: a
/// successful, real (not dry-run) update or patch of a named pod (or its status) by a node,
/// with no Pod body the graph could read (no `responseObject`, and for an update no
/// `requestObject`; a patch's `requestObject` is a fragment the graph never reads). Only
/// events that [`super::build_graph`] turns into one `Seen` change and nothing else (a few
/// others do too, such as a patch whose `responseObject` is no Pod; they stay whole events).
pub fn sighting_node(ev: &ObjectEvent) -> Option<&str> {
    let plain = ev.api_group.is_empty() && ev.resource == "pods";
    let bodiless = ev.response_object.is_none()
        && (ev.verb == "patch" || (ev.verb == "update" && ev.request_object.is_none()));
    let succeeded = ev.response_code.is_none_or(|c| (200..300).contains(&c));
    if !(plain && bodiless && succeeded && !ev.name.is_empty()) || is_dry_run(ev) {
        return None;
    }
    node_of(ev)
}

impl PodSightings {
    /// Keeps `ev` here if it is only a sighting (see [`sighting_node`]), else appends it to
    /// `events`, the other object events in input order.
    pub fn add(&mut self, ev: ObjectEvent, events: &mut Vec<ObjectEvent>) {
        let Some(node) = sighting_node(&ev) else {
            events.push(ev);
            return;
        };
        let after = events.len();
        let node = match self.node_index.get(node) {
            Some(&i) => i,
            None => {
                let i = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
                self.nodes.push(node.to_string());
                self.node_index.insert(node.to_string(), i);
                i
            }
        };
        // Lookups first: a new pod (and namespace) is rare, a sighting is not.
        let known = self
            .pod_index
            .get(ev.namespace.as_str())
            .and_then(|names| names.get(ev.name.as_str()))
            .copied();
        let pod = match known {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.pods.len()).unwrap_or(u32::MAX);
                self.pod_index
                    .entry(ev.namespace.clone())
                    .or_default()
                    .insert(ev.name.clone(), i);
                self.pods.push((ev.namespace, ev.name));
                i
            }
        };
        self.sightings.push(PodSighting {
            after,
            pod,
            node,
            time: ev.time,
            pos: ev.pos,
        });
    }

    /// The number of sightings.
    pub fn len(&self) -> usize {
        self.sightings.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.sightings.is_empty()
    }
}

/// Splits a list of object events into the events the graph needs whole and the sightings,
/// as a scan does while it reads them.
pub fn split_sightings(events: Vec<ObjectEvent>) -> (Vec<ObjectEvent>, PodSightings) {
    let mut kept = Vec::with_capacity(events.len());
    let mut sightings = PodSightings::default();
    for ev in events {
        sightings.add(ev, &mut kept);
    }
    (kept, sightings)
}
