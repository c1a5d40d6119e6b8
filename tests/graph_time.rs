//! The graph over time: objects appearing and disappearing with logged events, and the
//! completeness rule that decides between "no path" and "incomplete".

use nodeauthz::authz::{ClusterView, Known, PathAnswer, PodFacts, VertexKind};
use nodeauthz::cluster::ObjectSet;
use nodeauthz::graph::build_graph;
use nodeauthz::record::{ObjectEvent, SourcePos};
use serde_json::{json, Value};
use std::path::Path;

use VertexKind::*;

fn ev(time: i64, verb: &str, resource: &str, sub: &str, ns: &str, name: &str) -> ObjectEvent {
    let api_group = match resource {
        "volumeattachments" => "storage.k8s.io",
        "resourceslices" => "resource.k8s.io",
        _ => "",
    };
    ObjectEvent {
        time,
        verb: verb.into(),
        api_group: api_group.into(),
        resource: resource.into(),
        subresource: sub.into(),
        namespace: ns.into(),
        name: name.into(),
        response_code: Some(if verb == "create" { 201 } else { 200 }),
        request_object: None,
        response_object: None,
        username: String::new(),
        request_uri: String::new(),
        pos: SourcePos {
            file: 0,
            line: time as u64,
        },
    }
}

/// A pod's final delete: by its node, as the kubelet does once the containers stopped.
fn kubelet_delete(time: i64, ns: &str, name: &str) -> ObjectEvent {
    let mut e = ev(time, "delete", "pods", "", ns, name);
    e.username = "system:node:node1".into();
    e
}

/// A final delete by somebody other than the node (grace period 0), which says nothing about
/// where the pod ran.
fn forced_delete(time: i64, ns: &str, name: &str) -> ObjectEvent {
    let mut e = ev(time, "delete", "pods", "", ns, name);
    e.request_uri = format!("/api/v1/namespaces/{ns}/pods/{name}?gracePeriodSeconds=0");
    e
}

fn with_response(mut e: ObjectEvent, body: Value) -> ObjectEvent {
    e.response_object = Some(body.to_string());
    e
}

fn with_request(mut e: ObjectEvent, body: Value) -> ObjectEvent {
    e.request_object = Some(body.to_string());
    e
}

fn binding(time: i64, ns: &str, pod: &str, node: &str) -> ObjectEvent {
    with_request(
        ev(time, "create", "pods", "binding", ns, pod),
        json!({"kind": "Binding", "apiVersion": "v1", "metadata": {"name": pod, "namespace": ns},
               "target": {"kind": "Node", "name": node}}),
    )
}

fn pod_body(name: &str, node: &str, secret: &str) -> Value {
    json!({"kind": "Pod", "apiVersion": "v1",
           "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "labels": {"app": name}},
           "spec": {"nodeName": node, "volumes": [{"name": "s", "secret": {"secretName": secret}}]}})
}

fn node_create(time: i64, node: &str) -> ObjectEvent {
    with_response(
        ev(time, "create", "nodes", "", "", node),
        json!({"kind": "Node", "metadata": {"name": node, "uid": format!("uid-{node}")}}),
    )
}

fn dump(yaml: &str) -> ObjectSet {
    let mut set = ObjectSet::default();
    set.load_text(Path::new("dump.yaml"), yaml);
    assert_eq!(set.problems, vec![]);
    set
}

fn found(path: &[&str]) -> PathAnswer {
    PathAnswer::Found(path.iter().map(|s| s.to_string()).collect())
}

const NO_PODS_NODE1: &str =
    "no objects dump with pods, and the log shows no creation of Node node1 before this time";

/// The secret is readable only while the pod that mounts it is bound to the node.
#[test]
fn secret_readable_only_while_pod_is_bound() {
    let events = vec![
        node_create(10, "node1"),
        with_response(
            ev(100, "create", "pods", "", "ns", "web"),
            pod_body("web", "", "db"),
        ),
        binding(200, "ns", "web", "node1"),
        ev(300, "delete", "pods", "", "ns", "web"), // graceful: sets deletionTimestamp
        kubelet_delete(350, "ns", "web"),           // the kubelet's final delete
    ];
    let g = build_graph(&ObjectSet::default(), &events, (0, 1000));
    let via = found(&["secret ns/db", "pod ns/web", "node node1"]);
    let rows = [
        (5, PathAnswer::Incomplete(NO_PODS_NODE1.into())),
        (50, PathAnswer::NoPath),
        (150, PathAnswer::NoPath), // created, not bound yet
        (200, via.clone()),
        (320, via.clone()), // terminating pods keep their edges
        (349, via),
        (350, PathAnswer::NoPath),
        (900, PathAnswer::NoPath),
    ];
    for (t, expected) in rows {
        assert_eq!(g.path(Secret, "ns", "db", "node1", t), expected, "at {t}");
    }
    assert_eq!(
        g.describe(Some("node1"), Some(250)),
        "# 2 edges reaching node node1 at 1970-01-01T00:00:00.000250Z (3 vertices, 2 edges in the whole graph)\n\
         pod ns/web -> node node1  [1970-01-01T00:00:00.000200Z, 1970-01-01T00:00:00.000350Z) audit input #0 line 200\n\
         secret ns/db -> pod ns/web  [1970-01-01T00:00:00.000200Z, 1970-01-01T00:00:00.000350Z) audit input #0 line 200\n\
         # complete for node node1 at 1970-01-01T00:00:00.000250Z\n"
    );
}

#[test]
fn dump_object_exists_until_logged_deletion_and_from_logged_creation() {
    let set = dump(
        "kind: List\nitems:\n\
         - {kind: Pod, metadata: {name: old, namespace: ns}, spec: {nodeName: node1, volumes: [{name: s, secret: {secretName: old-secret}}]}}\n\
         - {kind: Pod, metadata: {name: new, namespace: ns}, spec: {nodeName: node1, volumes: [{name: s, secret: {secretName: new-secret}}]}}\n",
    );
    let events = vec![
        kubelet_delete(100, "ns", "old"),
        ev(200, "create", "pods", "", "ns", "new"), // Metadata level: no body, the dump copy is used
    ];
    let g = build_graph(&set, &events, (0, 1000));
    let old = found(&["secret ns/old-secret", "pod ns/old", "node node1"]);
    let new = found(&["secret ns/new-secret", "pod ns/new", "node node1"]);
    assert_eq!(g.path(Secret, "ns", "old-secret", "node1", 99), old);
    assert_eq!(
        g.path(Secret, "ns", "old-secret", "node1", 100),
        PathAnswer::NoPath
    );
    assert_eq!(
        g.path(Secret, "ns", "new-secret", "node1", 199),
        PathAnswer::NoPath
    );
    assert_eq!(g.path(Secret, "ns", "new-secret", "node1", 200), new);
}

#[test]
fn recreated_pod_known_from_dump_is_pending_until_bound() {
    // A StatefulSet pod at Request level: the create has no response body, the binding has
    // its request body; the dump copy supplies the references.
    let set = dump(
        "kind: PodList\nitems:\n\
         - {kind: Pod, metadata: {name: web-0, namespace: ns}, spec: {nodeName: node1, volumes: [{name: s, secret: {secretName: db}}]}}\n",
    );
    let events = vec![
        kubelet_delete(100, "ns", "web-0"),
        ev(110, "create", "pods", "", "ns", "web-0"),
        binding(120, "ns", "web-0", "node1"),
    ];
    let g = build_graph(&set, &events, (0, 1000));
    let via = found(&["secret ns/db", "pod ns/web-0", "node node1"]);
    assert_eq!(g.path(Secret, "ns", "db", "node1", 99), via);
    assert_eq!(g.path(Secret, "ns", "db", "node1", 105), PathAnswer::NoPath);
    assert_eq!(g.path(Secret, "ns", "db", "node1", 115), PathAnswer::NoPath);
    assert_eq!(g.path(Secret, "ns", "db", "node1", 120), via);
}

#[test]
fn unreadable_body_is_reported_and_the_event_still_counts() {
    let set = dump("kind: PodList\nitems: []\n");
    let events = vec![with_response(
        ev(10, "create", "pods", "", "ns", "bad"),
        json!({"kind": "Pod", "metadata": {"name": "bad"}, "spec": {"volumes": 5}}),
    )];
    let g = build_graph(&set, &events, (0, 100));
    let problems: Vec<String> = g.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .starts_with("audit input #0 line 10: unreadable Pod body: invalid type: integer `5`"),
        "{}",
        problems[0]
    );
    assert_eq!(
        g.path(Secret, "ns", "db", "node1", 20),
        PathAnswer::Incomplete(
            "pod ns/bad existed without a known spec (from audit input #0 line 10)".into()
        )
    );
}

#[test]
fn pod_recreated_on_another_node_moves_its_edges() {
    let events = vec![
        node_create(1, "node1"),
        node_create(1, "node2"),
        with_response(
            ev(10, "create", "pods", "", "ns", "web"),
            pod_body("web", "node1", "db"),
        ),
        kubelet_delete(20, "ns", "web"),
        with_response(
            ev(30, "create", "pods", "", "ns", "web"),
            pod_body("web", "node2", "db"),
        ),
    ];
    let g = build_graph(&ObjectSet::default(), &events, (0, 100));
    assert_eq!(
        g.path(Secret, "ns", "db", "node1", 15),
        found(&["secret ns/db", "pod ns/web", "node node1"])
    );
    assert_eq!(g.path(Secret, "ns", "db", "node2", 15), PathAnswer::NoPath);
    assert_eq!(g.path(Secret, "ns", "db", "node1", 35), PathAnswer::NoPath);
    assert_eq!(
        g.path(Secret, "ns", "db", "node2", 35),
        found(&["secret ns/db", "pod ns/web", "node node2"])
    );
}

#[test]
fn pod_update_with_full_body_rebuilds_edges() {
    // An ephemeral container added later references a new secret (TestNodeAuthorizerAddEphemeralContainers).
    let mut updated = pod_body("web", "node1", "db");
    updated["spec"]["ephemeralContainers"] =
        json!([{"name": "debug", "envFrom": [{"secretRef": {"name": "debug-token"}}]}]);
    let events = vec![
        node_create(1, "node1"),
        with_response(
            ev(10, "create", "pods", "", "ns", "web"),
            pod_body("web", "node1", "db"),
        ),
        with_response(
            ev(50, "patch", "pods", "ephemeralcontainers", "ns", "web"),
            updated,
        ),
        ev(60, "patch", "pods", "status", "ns", "web"), // no body: changes nothing
    ];
    let g = build_graph(&ObjectSet::default(), &events, (0, 100));
    assert_eq!(
        g.path(Secret, "ns", "debug-token", "node1", 49),
        PathAnswer::NoPath
    );
    assert_eq!(
        g.path(Secret, "ns", "debug-token", "node1", 70),
        found(&["secret ns/debug-token", "pod ns/web", "node node1"])
    );
    assert_eq!(
        g.path(Secret, "ns", "db", "node1", 70),
        found(&["secret ns/db", "pod ns/web", "node node1"])
    );
}

#[test]
fn resource_claim_through_pod_status_update() {
    let mut pod = json!({"kind": "Pod", "metadata": {"name": "trainer", "namespace": "ml"},
        "spec": {"nodeName": "node1", "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "gpu-t"}]}});
    let events_base = vec![
        node_create(1, "node1"),
        with_response(ev(10, "create", "pods", "", "ml", "trainer"), pod.clone()),
    ];
    pod["status"] = json!({"resourceClaimStatuses": [{"name": "gpu", "resourceClaimName": "trainer-gpu-x1y2z"}]});
    let mut events = events_base;
    events.push(with_response(
        ev(40, "update", "pods", "status", "ml", "trainer"),
        pod,
    ));
    let g = build_graph(&ObjectSet::default(), &events, (0, 100));
    assert_eq!(
        g.path(ResourceClaim, "ml", "trainer-gpu-x1y2z", "node1", 39),
        PathAnswer::NoPath
    );
    assert_eq!(
        g.path(ResourceClaim, "ml", "trainer-gpu-x1y2z", "node1", 40),
        found(&[
            "resourceclaim ml/trainer-gpu-x1y2z",
            "pod ml/trainer",
            "node node1"
        ])
    );
}

#[test]
fn pvc_binding_pv_lifecycle_volume_attachments_and_slices() {
    let set = dump(
        "kind: List\nitems:\n\
         - {kind: Pod, metadata: {name: db, namespace: ns}, spec: {nodeName: node1, volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]}}\n\
         - {kind: PersistentVolumeClaim, metadata: {name: data, namespace: ns}, spec: {}}\n",
    );
    let pv = json!({"kind": "PersistentVolume", "metadata": {"name": "pv-1"},
        "spec": {"claimRef": {"namespace": "ns", "name": "data"}, "iscsi": {"iqn": "q", "secretRef": {"name": "chap"}}}});
    let events = vec![
        // The claim is bound at 20; the PV is created at 30 and deleted at 90.
        with_response(
            ev(20, "update", "persistentvolumeclaims", "", "ns", "data"),
            json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "ns"}, "spec": {"volumeName": "pv-1"}}),
        ),
        with_response(ev(30, "create", "persistentvolumes", "", "", "pv-1"), pv),
        ev(90, "delete", "persistentvolumes", "", "", "pv-1"),
        with_request(
            ev(40, "create", "volumeattachments", "", "", "csi-1"),
            json!({"kind": "VolumeAttachment", "metadata": {"name": "csi-1"}, "spec": {"nodeName": "node1", "attacher": "a", "source": {}}}),
        ),
        ev(60, "delete", "volumeattachments", "", "", "csi-1"),
        with_response(
            ev(50, "create", "resourceslices", "", "", "node1-gpu"),
            json!({"kind": "ResourceSlice", "metadata": {"name": "node1-gpu"}, "spec": {"nodeName": "node1"}}),
        ),
        ev(70, "delete", "resourceslices", "", "", "node1-gpu"),
    ];
    let g = build_graph(&set, &events, (0, 100));
    let pv_path = found(&["pv pv-1", "pvc ns/data", "pod ns/db", "node node1"]);
    let secret_path = found(&[
        "secret ns/chap",
        "pv pv-1",
        "pvc ns/data",
        "pod ns/db",
        "node node1",
    ]);
    // The PV is known, so its claimRef decides, from its creation to its deletion.
    assert_eq!(g.path(Pv, "", "pv-1", "node1", 25), PathAnswer::NoPath);
    assert_eq!(g.path(Pv, "", "pv-1", "node1", 35), pv_path);
    assert_eq!(
        g.path(Secret, "ns", "chap", "node1", 25),
        PathAnswer::NoPath
    );
    assert_eq!(g.path(Secret, "ns", "chap", "node1", 35), secret_path);
    assert_eq!(
        g.path(Secret, "ns", "chap", "node1", 95),
        PathAnswer::NoPath
    );
    assert_eq!(g.path(Pv, "", "pv-1", "node1", 95), PathAnswer::NoPath);

    // Without any PV in the inputs, the claim's volumeName stands in for the claimRef.
    let claim_only = build_graph(&set, &events[..1], (0, 100));
    assert_eq!(
        claim_only.path(Pv, "", "pv-1", "node1", 19),
        PathAnswer::NoPath
    );
    assert_eq!(claim_only.path(Pv, "", "pv-1", "node1", 25), pv_path);
    assert_eq!(
        g.path(Secret, "ns", "chap", "node1", 25),
        PathAnswer::NoPath
    );

    let va = found(&["volumeattachment csi-1", "node node1"]);
    assert_eq!(
        g.path(VolumeAttachment, "", "csi-1", "node1", 39),
        PathAnswer::NoPath
    );
    assert_eq!(g.path(VolumeAttachment, "", "csi-1", "node1", 45), va);
    assert_eq!(
        g.path(VolumeAttachment, "", "csi-1", "node1", 60),
        PathAnswer::NoPath
    );

    assert_eq!(
        g.path(ResourceSlice, "", "node1-gpu", "node1", 55),
        found(&["resourceslice node1-gpu", "node node1"])
    );
    assert_eq!(
        g.resource_slice_node("node1-gpu", 55),
        Known::Yes("node1".into())
    );
    assert_eq!(g.resource_slice_node("node1-gpu", 75), Known::Absent);
    assert_eq!(g.resource_slice_node("node1-gpu", 45), Known::Absent);
    assert!(matches!(
        g.resource_slice_node("never-seen", 45),
        Known::Unknown(_)
    ));
}

#[test]
fn refused_requests_change_nothing_and_legacy_bindings_resource_binds() {
    let mut refused = with_response(
        ev(10, "create", "pods", "", "ns", "web"),
        pod_body("web", "node1", "db"),
    );
    refused.response_code = Some(409);
    let legacy = with_request(
        ev(20, "create", "bindings", "", "ns", ""),
        json!({"kind": "Binding", "metadata": {"name": "api", "namespace": "ns"}, "target": {"name": "node1"}}),
    );
    let events = vec![
        node_create(1, "node1"),
        refused,
        with_response(
            ev(15, "create", "pods", "", "ns", "api"),
            pod_body("api", "", "api-key"),
        ),
        legacy,
    ];
    let g = build_graph(&ObjectSet::default(), &events, (0, 100));
    assert_eq!(g.path(Secret, "ns", "db", "node1", 50), PathAnswer::NoPath);
    assert_eq!(
        g.path(Secret, "ns", "api-key", "node1", 50),
        found(&["secret ns/api-key", "pod ns/api", "node node1"])
    );
}

/// A server-side dry run (`kubectl --dry-run=server`) is answered 2xx with the object it would
/// have stored; neither its create nor its delete changes the graph.
#[test]
fn dry_runs_change_nothing() {
    let dry = |mut e: ObjectEvent, query: &str| {
        e.request_uri = format!("/api/v1/namespaces/ns/pods{query}");
        e
    };
    let events = vec![
        node_create(1, "node1"),
        dry(
            with_response(
                ev(10, "create", "pods", "", "ns", "dry"),
                pod_body("dry", "node1", "dry-secret"),
            ),
            "?dryRun=All",
        ),
        with_response(
            ev(20, "create", "pods", "", "ns", "web"),
            pod_body("web", "node1", "db"),
        ),
        dry(
            kubelet_delete(30, "ns", "web"),
            "/web?dryRun=All&gracePeriodSeconds=0",
        ),
        // Percent-encoded key, as some clients send it.
        dry(kubelet_delete(40, "ns", "web"), "/web?%64ryRun=All"),
    ];
    let g = build_graph(&ObjectSet::default(), &events, (0, 100));
    assert_eq!(
        g.path(Secret, "ns", "dry-secret", "node1", 50),
        PathAnswer::NoPath
    );
    assert_eq!(
        g.path(Secret, "ns", "db", "node1", 50),
        found(&["secret ns/db", "pod ns/web", "node node1"])
    );
}

// --- The completeness rule (docs/graph-completeness.md), one case per clause. ---

#[test]
fn completeness_without_dump_needs_the_node_registration() {
    let events = vec![node_create(100, "node1")];
    let g = build_graph(&ObjectSet::default(), &events, (0, 1000));
    assert_eq!(
        g.path(Secret, "ns", "db", "node1", 99),
        PathAnswer::Incomplete(NO_PODS_NODE1.into())
    );
    assert_eq!(g.path(Secret, "ns", "db", "node1", 100), PathAnswer::NoPath);
    assert_eq!(
        g.path(Secret, "ns", "db", "node2", 500),
        PathAnswer::Incomplete(
            "no objects dump with pods, and the log shows no creation of Node node2 before this time".into()
        )
    );
}

#[test]
fn completeness_with_pod_dump_and_without() {
    let with_pods = dump("kind: PodList\nitems: []\n");
    let g = build_graph(&with_pods, &[], (0, 10));
    assert_eq!(g.path(Secret, "ns", "db", "node1", 5), PathAnswer::NoPath);
    // RBAC objects alone are no snapshot of pods.
    let rbac_only = dump("kind: ClusterRole\nmetadata: {name: x}\n");
    let g = build_graph(&rbac_only, &[], (0, 10));
    assert_eq!(
        g.path(Secret, "ns", "db", "node1", 5),
        PathAnswer::Incomplete(NO_PODS_NODE1.into())
    );
}

#[test]
fn completeness_pod_known_only_by_its_binding() {
    let set = dump("kind: PodList\nitems: []\n");
    let events = vec![binding(70, "ns", "ghost", "node1")];
    let g = build_graph(&set, &events, (0, 1000));
    let why = "pod ns/ghost existed without a known spec (from audit input #0 line 70)";
    assert_eq!(g.path(Secret, "ns", "db", "node1", 69), PathAnswer::NoPath);
    assert_eq!(
        g.path(Secret, "ns", "db", "node1", 80),
        PathAnswer::Incomplete(why.into())
    );
    assert_eq!(
        g.path(Pod, "ns", "ghost", "node1", 80),
        found(&["pod ns/ghost", "node node1"])
    );
    // Bound elsewhere: node2 is unaffected.
    assert_eq!(g.path(Secret, "ns", "db", "node2", 80), PathAnswer::NoPath);
    assert_eq!(
        g.pod("ns", "ghost", 80),
        Known::Unknown(
            "pod ns/ghost existed but its spec is unknown (from audit input #0 line 70)".into()
        )
    );
}

#[test]
fn completeness_pod_without_body_could_be_anywhere() {
    let set = dump("kind: PodList\nitems: []\n");
    let events = vec![
        ev(40, "create", "pods", "", "ns", "mystery"),
        forced_delete(90, "ns", "mystery"),
    ];
    let g = build_graph(&set, &events, (0, 1000));
    let why = "pod ns/mystery existed without a known spec (from audit input #0 line 40)";
    for node in ["node1", "node2"] {
        assert_eq!(g.path(Secret, "ns", "db", node, 39), PathAnswer::NoPath);
        assert_eq!(
            g.path(Secret, "ns", "db", node, 40),
            PathAnswer::Incomplete(why.into())
        );
        assert_eq!(g.path(Secret, "ns", "db", node, 90), PathAnswer::NoPath);
    }
    // The node's own delete tells where it ran: then only that node's graph is incomplete.
    let events = vec![
        ev(40, "create", "pods", "", "ns", "mystery"),
        kubelet_delete(90, "ns", "mystery"),
    ];
    let g = build_graph(&set, &events, (0, 1000));
    assert_eq!(g.path(Secret, "ns", "db", "node2", 50), PathAnswer::NoPath);
    assert_eq!(
        g.path(Secret, "ns", "db", "node1", 50),
        PathAnswer::Incomplete(why.into())
    );
    // A delete body tells what the pod was: then nothing is unknown.
    let events = vec![
        ev(40, "create", "pods", "", "ns", "mystery"),
        with_response(
            forced_delete(90, "ns", "mystery"),
            pod_body("mystery", "node2", "m"),
        ),
    ];
    let g = build_graph(&set, &events, (0, 1000));
    assert_eq!(g.path(Secret, "ns", "db", "node1", 50), PathAnswer::NoPath);
    assert_eq!(
        g.path(Secret, "ns", "m", "node2", 50),
        found(&["secret ns/m", "pod ns/mystery", "node node2"])
    );
}

#[test]
fn pod_facts_and_node_uid_over_time() {
    let set = dump(
        "kind: List\nitems:\n\
         - {kind: Node, metadata: {name: node1, uid: n1-uid}}\n\
         - kind: Pod\n  metadata: {name: web, namespace: ns, uid: w-uid, labels: {app: web}}\n  spec:\n    nodeName: node1\n    volumes: [{name: t, projected: {sources: [{serviceAccountToken: {audience: vault, path: t}}]}}]\n",
    );
    let events = vec![
        kubelet_delete(50, "ns", "web"),
        ev(60, "delete", "nodes", "", "", "node1"),
    ];
    let g = build_graph(&set, &events, (0, 100));
    assert_eq!(
        g.pod("ns", "web", 10),
        Known::Yes(PodFacts {
            uid: "w-uid".into(),
            node_name: "node1".into(),
            labels: vec![("app".into(), "web".into())],
            token_audiences: vec!["vault".into()],
        })
    );
    assert_eq!(g.pod("ns", "web", 50), Known::Absent);
    assert_eq!(g.pod("ns", "never", 10), Known::Absent);
    assert_eq!(g.node_uid("node1", 10), Known::Yes("n1-uid".into()));
    assert_eq!(g.node_uid("node1", 60), Known::Absent);
    assert_eq!(g.node_uid("node9", 10), Known::Absent);
    assert_eq!(
        g.node_names().collect::<Vec<_>>(),
        vec!["node1".to_string()]
    );

    let g = build_graph(&ObjectSet::default(), &[], (0, 100));
    assert_eq!(
        g.pod("ns", "web", 10),
        Known::Unknown("pod ns/web: no objects dump with pods and no logged event for it".into())
    );
    assert_eq!(
        g.node_uid("node1", 10),
        Known::Unknown("Node node1: not in the objects dump and no logged event for it".into())
    );
}

#[test]
fn pre_bound_claim_does_not_open_another_claims_pv() {
    // PV pv-x belongs to claim "theirs"; a user's claim "mine" names it in volumeName anyway.
    let set = dump(
        "kind: List\nitems:\n\
         - {kind: Pod, metadata: {name: p, namespace: ns}, spec: {nodeName: node1, volumes: [{name: d, persistentVolumeClaim: {claimName: mine}}]}}\n\
         - {kind: PersistentVolumeClaim, metadata: {name: mine, namespace: ns}, spec: {volumeName: pv-x}}\n\
         - {kind: PersistentVolume, metadata: {name: pv-x}, spec: {claimRef: {namespace: ns, name: theirs}, rbd: {image: i, secretRef: {name: ceph}}}}\n",
    );
    let g = build_graph(&set, &[], (0, 100));
    assert_eq!(g.path(Pv, "", "pv-x", "node1", 50), PathAnswer::NoPath);
    assert_eq!(
        g.path(Secret, "ns", "ceph", "node1", 50),
        PathAnswer::NoPath
    );
}

/// A controller's delete only starts graceful termination: when the kubelet's own final delete
/// is refused (so never logged as a change), the pod keeps its node and the node its access.
#[test]
fn graceful_delete_without_final_delete_keeps_the_pod() {
    let mut controller_delete = ev(300, "delete", "pods", "", "ns", "web");
    controller_delete.username = "system:serviceaccount:kube-system:replicaset-controller".into();
    let mut zero_grace = ev(400, "delete", "pods", "", "ns", "api");
    zero_grace.request_uri = "/api/v1/namespaces/ns/pods/api?gracePeriodSeconds=0".into();
    let events = vec![
        node_create(10, "node1"),
        with_response(
            ev(100, "create", "pods", "", "ns", "web"),
            pod_body("web", "", "db"),
        ),
        binding(200, "ns", "web", "node1"),
        controller_delete,
        with_response(
            ev(100, "create", "pods", "", "ns", "api"),
            pod_body("api", "", "api-token"),
        ),
        binding(200, "ns", "api", "node1"),
        zero_grace,
    ];
    let g = build_graph(&ObjectSet::default(), &events, (0, 1000));
    assert_eq!(
        g.path(Secret, "ns", "db", "node1", 900),
        found(&["secret ns/db", "pod ns/web", "node node1"])
    );
    assert_eq!(
        g.path(Secret, "ns", "api-token", "node1", 399),
        found(&["secret ns/api-token", "pod ns/api", "node node1"])
    );
    assert_eq!(
        g.path(Secret, "ns", "api-token", "node1", 400),
        PathAnswer::NoPath
    );
}
