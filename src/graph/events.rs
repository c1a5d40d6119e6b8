//! Logged object events turned into dated changes per object (`timeline::Change`): which body
//! of an event can be trusted, bindings, and the object key when `objectRef` lacks a name.

use super::intern::FxHashMap;
use super::timeline::{Change, Dated};
use super::{EdgeSource, GraphProblem, PodState};
use crate::cluster::{NodeView, PodView, PvView, PvcView, ResourceSliceView, VolumeAttachmentView};
use crate::input::uri::percent_decode;
use crate::record::{Micros, ObjectEvent, SourcePos};
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::Arc;

/// Per object key (namespace, name): the dump copy and the logged changes.
pub(super) type Keyed<V> = FxHashMap<(String, String), (Option<V>, Vec<Dated<V>>)>;

/// The dump copy and changes of one object, created empty on first use.
pub(super) fn entry<'a, V>(
    map: &'a mut Keyed<V>,
    ns: &str,
    name: &str,
) -> &'a mut (Option<V>, Vec<Dated<V>>) {
    map.entry((ns.to_string(), name.to_string()))
        .or_insert_with(|| (None, Vec::new()))
}

/// Only `kind` and `target.name`, to recognise bodies and read bindings.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Head {
    kind: Option<String>,
    target: Option<Target>,
    metadata: Option<HeadMeta>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Target {
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HeadMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
}

pub(super) struct Builder {
    pub sources: Vec<EdgeSource>,
    pub problems: Vec<GraphProblem>,
}

impl Builder {
    fn source(&mut self, ev: &ObjectEvent) -> u32 {
        self.source_at(ev.pos)
    }

    fn source_at(&mut self, pos: SourcePos) -> u32 {
        self.sources.push(EdgeSource::Log(pos));
        (self.sources.len() - 1) as u32
    }

    /// A pod seen on `node` (see [`super::sightings`]): the `Seen` change its event would
    /// have made.
    pub fn pod_sighting(
        &mut self,
        pod: &(String, String),
        node: &str,
        time: Micros,
        pos: SourcePos,
        pods: &mut Keyed<PodState>,
    ) {
        let source = self.source_at(pos);
        entry(pods, &pod.0, &pod.1).1.push(Dated {
            time,
            source,
            change: Change::Seen(node.to_string()),
        });
    }

    pub fn source_text(&self, source: u32) -> String {
        self.sources
            .get(source as usize)
            .map_or_else(String::new, |s| s.to_string())
    }

    /// The logged object of kind `kind`, if the event carries one: `responseObject`, else for
    /// creates and updates the `requestObject` (for patches it is a patch, for deletes options).
    fn body<V>(
        &mut self,
        ev: &ObjectEvent,
        kind: &str,
        parse: fn(&str) -> Result<V, serde_json::Error>,
    ) -> Option<V> {
        let request = matches!(ev.verb.as_str(), "create" | "update")
            .then_some(ev.request_object.as_deref())
            .flatten();
        for json in [ev.response_object.as_deref(), request]
            .into_iter()
            .flatten()
        {
            let head: Head = serde_json::from_str(json).unwrap_or_default();
            if head.kind.as_deref() != Some(kind) {
                continue;
            }
            match parse(json) {
                Ok(v) => return Some(v),
                Err(e) => self.problems.push(GraphProblem {
                    pos: ev.pos,
                    message: format!("unreadable {kind} body: {e}"),
                }),
            }
        }
        None
    }

    /// Change of a kind without bindings. Updates without a full body change nothing we
    /// could know; other subresources (status) keep the object's graph-relevant spec.
    pub fn plain_event<V: Clone + Named>(
        &mut self,
        ev: &ObjectEvent,
        map: &mut Keyed<V>,
        kind: &str,
        parse: fn(&str) -> Result<V, serde_json::Error>,
    ) {
        let change = match ev.verb.as_str() {
            "create" if ev.subresource.is_empty() => Change::Create(self.body(ev, kind, parse)),
            "update" | "patch" => match self.body(ev, kind, parse) {
                Some(v) => Change::Update(v),
                None => return,
            },
            "delete" if ev.subresource.is_empty() => {
                Change::Delete(self.body(ev, kind, parse), true)
            }
            _ => return,
        };
        let name = match &change {
            _ if !ev.name.is_empty() => ev.name.clone(),
            Change::Create(Some(v)) | Change::Update(v) | Change::Delete(Some(v), _) => {
                v.name().to_string()
            }
            _ => return,
        };
        let source = self.source(ev);
        entry(map, &ev.namespace, &name).1.push(Dated {
            time: ev.time,
            source,
            change,
        });
    }

    pub fn pod_event(&mut self, ev: &ObjectEvent, pods: &mut Keyed<PodState>) {
        let parse = |json: &str| {
            PodView::from_json(json).map(|view| PodState {
                view: Arc::new(view),
                refs_known: true,
            })
        };
        let binding = ev.resource == "bindings" || ev.subresource == "binding";
        let change = match ev.verb.as_str() {
            "create" if binding => {
                let head: Head = ev
                    .request_object
                    .as_deref()
                    .and_then(|j| serde_json::from_str(j).ok())
                    .unwrap_or_default();
                let target = head.target.and_then(|t| t.name).filter(|n| !n.is_empty());
                let meta = head.metadata.unwrap_or_default();
                // The scheduler copies the pod's UID into the Binding's metadata.
                let uid = meta.uid.filter(|u| !u.is_empty());
                // The legacy `bindings` resource names the pod in the Binding's metadata.
                let name = match meta.name {
                    Some(n) if ev.name.is_empty() || ev.resource == "bindings" => n,
                    _ => ev.name.clone(),
                };
                if name.is_empty() {
                    return;
                }
                let source = self.source(ev);
                entry(pods, &ev.namespace, &name).1.push(Dated {
                    time: ev.time,
                    source,
                    change: Change::Bind(target, uid),
                });
                return;
            }
            "create" if ev.subresource.is_empty() => Change::Create(self.body(ev, "Pod", parse)),
            "update" | "patch" => match (self.body(ev, "Pod", parse), node_of(ev)) {
                (Some(v), _) => Change::Update(v),
                (None, Some(node)) => Change::Seen(node.to_string()),
                (None, None) => return,
            },
            "delete" if ev.subresource.is_empty() => {
                if let Some(node) = node_of(ev).filter(|_| !ev.name.is_empty()) {
                    let pod = (ev.namespace.clone(), ev.name.clone());
                    self.pod_sighting(&pod, node, ev.time, ev.pos, pods);
                }
                Change::Delete(self.body(ev, "Pod", parse), final_pod_delete(ev))
            }
            _ => return,
        };
        let (ns, name) = match &change {
            _ if !ev.name.is_empty() => (ev.namespace.clone(), ev.name.clone()),
            Change::Create(Some(p)) | Change::Update(p) | Change::Delete(Some(p), _) => {
                let ns = if ev.namespace.is_empty() {
                    &p.view.namespace
                } else {
                    &ev.namespace
                };
                (ns.clone(), p.view.name.clone())
            }
            _ => return,
        };
        if name.is_empty() {
            return;
        }
        let source = self.source(ev);
        entry(pods, &ns, &name).1.push(Dated {
            time: ev.time,
            source,
            change,
        });
    }
}

/// The node that made a change, when a node identity made it.
pub(super) fn node_of(ev: &ObjectEvent) -> Option<&str> {
    ev.username
        .strip_prefix(crate::authz::node::NODE_USER_PREFIX)
        .filter(|n| !n.is_empty())
}

/// Whether a logged pod delete removed the pod at once: one by its node (the kubelet deletes
/// with a zero grace period once the containers stopped) or with `gracePeriodSeconds` 0 in the
/// query or the DeleteOptions body. Any other delete of a bound pod only sets its
/// deletionTimestamp; an unbound pod that lingers here has no edge to a node, so treating its
/// delete as graceful changes no answer.
fn final_pod_delete(ev: &ObjectEvent) -> bool {
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "camelCase")]
    struct DeleteOptions {
        grace_period_seconds: Option<i64>,
    }
    let by_node = node_of(ev).is_some();
    let zero_in_query =
        query_params(&ev.request_uri).any(|(k, v)| k == "gracePeriodSeconds" && v == "0");
    let zero_in_body = ev
        .request_object
        .as_deref()
        .and_then(|j| serde_json::from_str::<DeleteOptions>(j).ok())
        .is_some_and(|o| o.grace_period_seconds == Some(0));
    by_node || zero_in_query || zero_in_body
}

/// The query parameters of a logged `requestURI`, percent-decoded.
fn query_params(uri: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    let query = uri.split_once('?').map_or("", |(_, q)| q);
    query.split('&').filter(|kv| !kv.is_empty()).map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k, true), percent_decode(v, true))
    })
}

/// Whether the request was a server-side dry run (`?dryRun=All`, as `kubectl --dry-run=server`
/// sends): the apiserver answers 2xx with the object it would have stored, and stores nothing.
pub(super) fn is_dry_run(ev: &ObjectEvent) -> bool {
    query_params(&ev.request_uri).any(|(k, v)| k == "dryRun" && !v.is_empty())
}

/// The name of an object view (for events whose `objectRef` lacks it).
pub(super) trait Named {
    fn name(&self) -> &str;
}

macro_rules! named {
    ($($t:ty),*) => {$(
        impl Named for $t {
            fn name(&self) -> &str {
                &self.name
            }
        }
    )*};
}
named!(
    PvView,
    PvcView,
    VolumeAttachmentView,
    ResourceSliceView,
    NodeView
);
