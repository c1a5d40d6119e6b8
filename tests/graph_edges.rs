//! Every edge kind of spec 6.2, through path queries on a graph built from an objects dump.

use nodeauthz::authz::{ClusterView, PathAnswer, VertexKind};
use nodeauthz::cluster::ObjectSet;
use nodeauthz::graph::{build_graph, Graph};
use std::path::Path;

const DUMP: &str = r#"
kind: List
items:
- kind: Pod
  metadata: {name: web-1, namespace: shop}
  spec:
    nodeName: node1
    serviceAccountName: web-sa
    containers: [{name: c, envFrom: [{configMapRef: {name: web-config}}]}]
    volumes:
    - {name: db, secret: {secretName: db}}
    - {name: data, persistentVolumeClaim: {claimName: web-data}}
    - {name: scratch, ephemeral: {volumeClaimTemplate: {spec: {}}}}
    resourceClaims:
    - {name: gpu, resourceClaimTemplateName: gpu-template}
    - {name: fpga, resourceClaimName: shared-fpga}
  status:
    resourceClaimStatuses: [{name: gpu, resourceClaimName: web-1-gpu-abcde}]
- kind: Pod
  metadata: {name: other, namespace: shop}
  spec: {nodeName: node2, volumes: [{name: s, secret: {secretName: node2-only}}]}
- kind: Pod
  metadata: {name: pending, namespace: shop}
  spec: {volumes: [{name: s, secret: {secretName: pending-secret}}]}
- kind: Pod
  metadata:
    name: static-node1
    namespace: kube-system
    annotations: {kubernetes.io/config.mirror: "x"}
  spec:
    nodeName: node1
    serviceAccountName: mirror-sa
    volumes: [{name: s, secret: {secretName: mirror-secret}}]
- kind: PersistentVolume
  metadata: {name: pv-web}
  spec:
    claimRef: {namespace: shop, name: web-data}
    csi:
      driver: d
      volumeHandle: h
      nodeStageSecretRef: {namespace: storage, name: stage-creds}
      controllerPublishSecretRef: {namespace: storage, name: controller-creds}
- kind: PersistentVolume
  metadata: {name: pv-unclaimed}
  spec: {flexVolume: {driver: d, secretRef: {name: unclaimed-secret}}}
- kind: PersistentVolume
  metadata: {name: pv-bound-unused}
  spec: {claimRef: {namespace: shop, name: unused-claim}}
- kind: VolumeAttachment
  metadata: {name: csi-va-1}
  spec: {attacher: d, nodeName: node1, source: {persistentVolumeName: pv-web}}
- kind: ResourceSlice
  metadata: {name: node1-gpus}
  spec: {nodeName: node1, driver: gpu.example.com}
"#;

fn graph() -> Graph {
    let mut set = ObjectSet::default();
    set.load_text(Path::new("dump.yaml"), DUMP);
    assert_eq!(set.problems, vec![]);
    build_graph(&set, &[], (0, 1_000_000))
}

fn found(path: &[&str]) -> PathAnswer {
    PathAnswer::Found(path.iter().map(|s| s.to_string()).collect())
}

#[test]
#[rustfmt::skip]
fn one_line_per_edge_kind() {
    use VertexKind::*;
    let g = graph();
    let t = 500;
    let rows: Vec<(VertexKind, &str, &str, &str, PathAnswer)> = vec![
        (Pod, "shop", "web-1", "node1", found(&["pod shop/web-1", "node node1"])),
        (ServiceAccount, "shop", "web-sa", "node1", found(&["serviceAccount shop/web-sa", "pod shop/web-1", "node node1"])),
        (Secret, "shop", "db", "node1", found(&["secret shop/db", "pod shop/web-1", "node node1"])),
        (ConfigMap, "shop", "web-config", "node1", found(&["configmap shop/web-config", "pod shop/web-1", "node node1"])),
        (Pvc, "shop", "web-data", "node1", found(&["pvc shop/web-data", "pod shop/web-1", "node node1"])),
        (Pvc, "shop", "web-1-scratch", "node1", found(&["pvc shop/web-1-scratch", "pod shop/web-1", "node node1"])),
        (ResourceClaim, "shop", "web-1-gpu-abcde", "node1", found(&["resourceclaim shop/web-1-gpu-abcde", "pod shop/web-1", "node node1"])),
        (ResourceClaim, "shop", "shared-fpga", "node1", found(&["resourceclaim shop/shared-fpga", "pod shop/web-1", "node node1"])),
        (Pv, "", "pv-web", "node1", found(&["pv pv-web", "pvc shop/web-data", "pod shop/web-1", "node node1"])),
        (Secret, "storage", "stage-creds", "node1", found(&["secret storage/stage-creds", "pv pv-web", "pvc shop/web-data", "pod shop/web-1", "node node1"])),
        (VolumeAttachment, "", "csi-va-1", "node1", found(&["volumeattachment csi-va-1", "node node1"])),
        (ResourceSlice, "", "node1-gpus", "node1", found(&["resourceslice node1-gpus", "node node1"])),
        // A cluster-scoped kind ignores a namespace given by mistake.
        (Pv, "shop", "pv-web", "node1", found(&["pv pv-web", "pvc shop/web-data", "pod shop/web-1", "node node1"])),
        // Mirror pods: only pod → node.
        (Pod, "kube-system", "static-node1", "node1", found(&["pod kube-system/static-node1", "node node1"])),
        (Secret, "kube-system", "mirror-secret", "node1", PathAnswer::NoPath),
        (ServiceAccount, "kube-system", "mirror-sa", "node1", PathAnswer::NoPath),
        // Not kubelet-visible, unclaimed PV, unused claim, pending pod, other node, other namespace.
        (Secret, "storage", "controller-creds", "node1", PathAnswer::NoPath),
        (Secret, "", "unclaimed-secret", "node1", PathAnswer::NoPath),
        (Pv, "", "pv-unclaimed", "node1", PathAnswer::NoPath),
        (Pv, "", "pv-bound-unused", "node1", PathAnswer::NoPath),
        (Secret, "shop", "pending-secret", "node1", PathAnswer::NoPath),
        (Pod, "shop", "pending", "node1", PathAnswer::NoPath),
        (Secret, "shop", "node2-only", "node1", PathAnswer::NoPath),
        (Secret, "shop", "node2-only", "node2", found(&["secret shop/node2-only", "pod shop/other", "node node2"])),
        (Secret, "shop", "db", "node2", PathAnswer::NoPath),
        (VolumeAttachment, "", "csi-va-1", "node2", PathAnswer::NoPath),
        (Secret, "shop", "db", "node-unknown", PathAnswer::NoPath),
        (Secret, "other-ns", "db", "node1", PathAnswer::NoPath),
    ];
    for (kind, ns, name, node, expected) in rows {
        assert_eq!(g.path(kind, ns, name, node, t), expected, "{} {ns}/{name} → {node}", kind.as_str());
    }
}

#[test]
fn pv_secret_defaults_to_claim_namespace_in_the_graph() {
    let dump = r#"{"kind":"List","items":[
      {"kind":"Pod","metadata":{"name":"p","namespace":"app"},"spec":{"nodeName":"n1","volumes":[{"name":"v","persistentVolumeClaim":{"claimName":"c"}}]}},
      {"kind":"PersistentVolume","metadata":{"name":"pv1"},"spec":{"claimRef":{"namespace":"app","name":"c"},"rbd":{"image":"i","secretRef":{"name":"ceph"}}}},
      {"kind":"PersistentVolume","metadata":{"name":"pv2"},"spec":{"claimRef":{"namespace":"app","name":"c"},"cinder":{"volumeID":"x","secretRef":{"name":"os"}}}}
    ]}"#;
    let mut set = ObjectSet::default();
    set.load_text(Path::new("d.json"), dump);
    let g = build_graph(&set, &[], (0, 10));
    assert_eq!(
        g.path(VertexKind::Secret, "app", "ceph", "n1", 5),
        found(&[
            "secret app/ceph",
            "pv pv1",
            "pvc app/c",
            "pod app/p",
            "node n1"
        ])
    );
    // cinder keeps the namespace as given: empty.
    assert_eq!(
        g.path(VertexKind::Secret, "", "os", "n1", 5),
        found(&["secret os", "pv pv2", "pvc app/c", "pod app/p", "node n1"])
    );
    assert_eq!(
        g.path(VertexKind::Secret, "app", "os", "n1", 5),
        PathAnswer::NoPath
    );
}

#[test]
fn shared_secret_is_reachable_from_every_node_that_uses_it() {
    let mut yaml = String::from("kind: List\nitems:\n");
    for (pod, node) in [("a", "n1"), ("b", "n2"), ("c", "n3")] {
        let extra = if node == "n3" {
            ""
        } else {
            ", {name: y, secret: {secretName: n1-n2}}"
        };
        yaml.push_str(&format!(
            "- {{kind: Pod, metadata: {{name: {pod}, namespace: ns}}, spec: {{nodeName: {node}, volumes: [{{name: x, secret: {{secretName: shared}}}}{extra}]}}}}\n"
        ));
    }
    let mut set = ObjectSet::default();
    set.load_text(Path::new("d.yaml"), &yaml);
    assert_eq!(set.problems, vec![]);
    let g = build_graph(&set, &[], (0, 10));
    let found_via = |secret: &str, pod: &str, node: &str| {
        found(&[
            &format!("secret ns/{secret}"),
            &format!("pod ns/{pod}"),
            &format!("node {node}"),
        ])
    };
    assert_eq!(
        g.path(VertexKind::Secret, "ns", "shared", "n3", 1),
        found_via("shared", "c", "n3")
    );
    assert_eq!(
        g.path(VertexKind::Secret, "ns", "n1-n2", "n2", 1),
        found_via("n1-n2", "b", "n2")
    );
    assert_eq!(
        g.path(VertexKind::Secret, "ns", "n1-n2", "n3", 1),
        PathAnswer::NoPath
    );
}

#[test]
fn describe_lists_edges_reaching_a_node() {
    let g = graph();
    let text = g.describe(Some("node2"), Some(500));
    assert_eq!(
        text,
        "# 2 edges reaching node node2 at 1970-01-01T00:00:00.000500Z (19 vertices, 16 edges in the whole graph)\n\
         pod shop/other -> node node2  [-inf, +inf) objects dump\n\
         secret shop/node2-only -> pod shop/other  [-inf, +inf) objects dump\n\
         # complete for node node2 at 1970-01-01T00:00:00.000500Z\n"
    );
}

#[test]
fn queries_from_many_threads_share_one_graph() {
    fn assert_sync<T: Sync + Send>(_: &T) {}
    let g = graph();
    assert_sync(&g);
    std::thread::scope(|s| {
        for i in 0..4 {
            let g = &g;
            s.spawn(move || {
                for t in 0..200 {
                    let node = if (i + t) % 2 == 0 { "node1" } else { "node2" };
                    let expected = if node == "node1" {
                        found(&["secret shop/db", "pod shop/web-1", "node node1"])
                    } else {
                        PathAnswer::NoPath
                    };
                    assert_eq!(g.path(VertexKind::Secret, "shop", "db", node, t), expected);
                }
            });
        }
    });
}
