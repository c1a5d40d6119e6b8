//! Pod sightings (bodiless pod patches by nodes, kept compact by the scan) must give exactly the
//! graph their events give: the split changes how the events are stored, never what the graph
//! answers. Random histories of two pods on two nodes, with ties in time and events out of
//! time order, compare the two builds' edges (with their intervals and sources), pods and
//! path answers (with the completeness rule's reasons) at every instant.

use nodeauthz::authz::{ClusterView, VertexKind};
use nodeauthz::cluster::ObjectSet;
use nodeauthz::graph::sightings::{sighting_node, split_sightings};
use nodeauthz::graph::{build_graph, build_graph_with};
use nodeauthz::record::{ObjectEvent, SourcePos};
use proptest::prelude::*;
use serde_json::json;

const NODES: [&str; 2] = ["node1", "node2"];
const PODS: [&str; 2] = ["a", "b"];

fn ev(line: u64, time: i64, verb: &str, sub: &str, pod: &str, user: &str) -> ObjectEvent {
    ObjectEvent {
        time,
        verb: verb.into(),
        resource: "pods".into(),
        subresource: sub.into(),
        namespace: "ns".into(),
        name: pod.into(),
        response_code: Some(if verb == "create" { 201 } else { 200 }),
        username: user.into(),
        request_uri: format!("/api/v1/namespaces/ns/pods/{pod}/{sub}"),
        pos: SourcePos { file: 0, line },
        ..ObjectEvent::default()
    }
}

fn pod_body(pod: &str, node: &str) -> String {
    json!({"kind": "Pod", "apiVersion": "v1",
           "metadata": {"name": pod, "namespace": "ns", "uid": format!("uid-{pod}")},
           "spec": {"nodeName": node, "volumes": [{"name": "s", "secret": {"secretName": format!("s-{pod}")}}]}})
    .to_string()
}

/// One random event of a pod's life; `kind` picks what, `node` which node.
fn event(line: u64, time: i64, kind: u8, pod: &str, node: &str) -> ObjectEvent {
    let kubelet = format!("system:node:{node}");
    match kind {
        0 => {
            let mut e = ev(
                line,
                time,
                "create",
                "",
                pod,
                "system:serviceaccount:kube-system:rs",
            );
            e.response_object = Some(pod_body(pod, ""));
            e
        }
        1 => {
            let mut e = ev(
                line,
                time,
                "create",
                "binding",
                pod,
                "system:kube-scheduler",
            );
            e.request_object = Some(
                json!({"kind": "Binding", "metadata": {"name": pod, "uid": format!("uid-{pod}")},
                       "target": {"kind": "Node", "name": node}})
                .to_string(),
            );
            e
        }
        // Sightings: a node's status patch (or update) without a body.
        2 | 3 => ev(line, time, "patch", "status", pod, &kubelet),
        6 => ev(line, time, "update", "status", pod, &kubelet),
        // Not sightings: a patch with the Pod in the response, a dry run, a refused patch,
        // one by a controller.
        4 => {
            let mut e = ev(line, time, "patch", "status", pod, &kubelet);
            e.response_object = Some(pod_body(pod, node));
            e
        }
        5 => {
            let mut e = ev(line, time, "patch", "status", pod, &kubelet);
            e.request_uri.push_str("?dryRun=All");
            e
        }
        7 => {
            let mut e = ev(line, time, "patch", "status", pod, &kubelet);
            e.response_code = Some(403);
            e
        }
        8 => ev(
            line,
            time,
            "patch",
            "",
            pod,
            "system:kube-controller-manager",
        ),
        // Graceful delete by a user, then the kubelet's final one.
        9 => ev(line, time, "delete", "", pod, "admin"),
        _ => ev(line, time, "delete", "", pod, &kubelet),
    }
}

fn history() -> impl Strategy<Value = Vec<ObjectEvent>> {
    prop::collection::vec((0i64..40, 0u8..11, 0usize..2, 0usize..2), 0..40).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (time, kind, pod, node))| {
                event(i as u64 + 1, time, kind, PODS[pod], NODES[node])
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sightings_give_the_graph_their_events_give(events in history()) {
        let objects = ObjectSet::default();
        let whole = build_graph(&objects, &events, (0, 40));
        let (rest, sightings) = split_sightings(events.clone());
        prop_assert_eq!(
            sightings.len(),
            events.iter().filter(|e| sighting_node(e).is_some()).count()
        );
        prop_assert_eq!(rest.len() + sightings.len(), events.len());
        let split = build_graph_with(&objects, &rest, &sightings, (0, 40));
        prop_assert_eq!(whole.describe(None, None), split.describe(None, None));
        prop_assert_eq!(&whole.problems, &split.problems);
        for t in 0..42 {
            for node in NODES {
                prop_assert_eq!(whole.describe(Some(node), Some(t)), split.describe(Some(node), Some(t)));
                for pod in PODS {
                    prop_assert_eq!(
                        format!("{:?}", whole.pod("ns", pod, t)),
                        format!("{:?}", split.pod("ns", pod, t))
                    );
                    let secret = format!("s-{pod}");
                    prop_assert_eq!(
                        whole.path(VertexKind::Secret, "ns", &secret, node, t),
                        split.path(VertexKind::Secret, "ns", &secret, node, t)
                    );
                }
            }
        }
    }
}

#[test]
fn only_bodiless_successful_patches_by_nodes_are_sightings() {
    let kinds: Vec<(u8, Option<&str>)> = vec![
        (0, None),
        (1, None),
        (2, Some("node1")),
        (4, None),
        (5, None),
        (6, Some("node1")),
        (7, None),
        (8, None),
        (9, None),
        (10, None),
    ];
    for (kind, expected) in kinds {
        let e = event(1, 5, kind, "a", "node1");
        assert_eq!(sighting_node(&e), expected, "kind {kind}");
    }
    // An update that carries the Pod, an unnamed pod, the legacy `bindings` resource and a
    // pods resource of another API group are no sightings either.
    let patch = || event(1, 5, 2, "a", "node1");
    let mut with_pod = event(1, 5, 6, "a", "node1");
    with_pod.request_object = Some(pod_body("a", "node1"));
    let mut unnamed = patch();
    unnamed.name.clear();
    let mut bindings = patch();
    bindings.resource = "bindings".into();
    let mut other_group = patch();
    other_group.api_group = "metrics.k8s.io".into();
    for e in [with_pod, unnamed, bindings, other_group] {
        assert_eq!(sighting_node(&e), None, "{e:?}");
    }
}
