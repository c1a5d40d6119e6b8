//! Path queries on the shapes of Kubernetes' own node-authorizer benchmarks
//! (`plugin/pkg/auth/authorizer/node/node_authorizer_test.go`): every iteration checks the
//! answer, so a fast wrong answer fails the run instead of looking good.
//!
//! Shapes:
//! - `authorization`: upstream `BenchmarkAuthorization` (500 nodes × 200 pods in 200 namespaces;
//!   per pod a unique secret, the namespace's shared secret, a unique config map, a unique PVC
//!   bound to a PV with a flexVolume secret, a service account; 20 VolumeAttachments per node).
//! - `pvs`: 400,000 PVs over 1,000 nodes (400 pods per node, each with its own PVC and PV).
//! - `shared`: one secret shared by 250 PVs whose claims are each mounted by 250 pods.

use criterion::{criterion_group, criterion_main, Criterion};
use nodeauthz::authz::{ClusterView, PathAnswer, VertexKind};
use nodeauthz::cluster::{ClaimRef, ObjectSet, PodView, PvSecretRef, PvView, VolumeAttachmentView};
use nodeauthz::graph::{build_graph, Graph};
use std::hint::black_box;
use std::time::{Duration, Instant};

const T: i64 = 1_000;

fn pod(ns: &str, name: &str, node: &str) -> PodView {
    PodView {
        namespace: ns.into(),
        name: name.into(),
        node_name: node.into(),
        ..PodView::default()
    }
}

fn pv(name: &str, claim_ns: &str, claim: &str, secret_ns: &str, secret: &str) -> PvView {
    PvView {
        name: name.into(),
        claim_ref: Some(ClaimRef {
            namespace: claim_ns.into(),
            name: claim.into(),
            uid: String::new(),
        }),
        secret_refs: vec![PvSecretRef {
            field: "flexVolume.secretRef",
            namespace: secret_ns.into(),
            name: secret.into(),
            kubelet_visible: true,
        }],
        ..PvView::default()
    }
}

fn timed(what: &str, objects: &ObjectSet) -> Graph {
    let start = Instant::now();
    let g = build_graph(objects, &[], (0, 2 * T));
    eprintln!(
        "{what}: built {} vertices, {} edges in {:?}",
        g.vertex_count(),
        g.edge_count(),
        start.elapsed()
    );
    g
}

/// Upstream `generate` with the `BenchmarkAuthorization` options.
fn authorization_shape() -> Graph {
    let (nodes, namespaces, pods_per_node, attachments) = (500, 200, 200, 20);
    let mut set = ObjectSet::default();
    set.kinds_seen.insert("Pod".into());
    for n in 0..nodes {
        let node = format!("node{n}");
        for p in 0..pods_per_node {
            let name = format!("pod{p}-{node}");
            let ns = format!("ns{}", p % namespaces);
            let mut pod = pod(&ns, &name, &node);
            pod.service_account_name = format!("svcacct{p}-{node}");
            pod.secrets = vec![format!("secret0-{name}"), "secret0-shared".into()];
            pod.config_maps = vec![format!("configmap0-{name}")];
            let pv_name = format!("pv0-{name}-{ns}");
            let claim = format!("pvc0-{name}");
            set.pvs
                .push(pv(&pv_name, &ns, &claim, &ns, &format!("secret-{pv_name}")));
            pod.claim_volumes = vec![claim];
            set.pods.push(pod);
        }
        for a in 0..attachments {
            set.volume_attachments.push(VolumeAttachmentView {
                name: format!("attachment{a}-{node}"),
                node_name: node.clone(),
                ..VolumeAttachmentView::default()
            });
        }
    }
    timed("authorization", &set)
}

fn pvs_shape() -> Graph {
    let mut set = ObjectSet::default();
    set.kinds_seen.insert("Pod".into());
    for n in 0..1000 {
        let node = format!("node{n}");
        for p in 0..400 {
            let name = format!("pod{p}-{node}");
            let ns = format!("ns{}", p % 100);
            let claim = format!("pvc-{name}");
            let mut pod = pod(&ns, &name, &node);
            pod.claim_volumes = vec![claim.clone()];
            set.pods.push(pod);
            set.pvs.push(pv(
                &format!("pv-{name}"),
                &ns,
                &claim,
                &ns,
                &format!("secret-pv-{name}"),
            ));
        }
    }
    timed("pvs", &set)
}

/// 250 PVs share one secret; PV i is claimed by pvc-i, mounted by 250 pods spread over 1,000
/// nodes, except that the very last pod runs alone on `node-last`. `node-idle` only has a
/// VolumeAttachment, so its vertex exists but nothing leads to it from the secret.
fn shared_shape() -> Graph {
    let mut set = ObjectSet::default();
    set.kinds_seen.insert("Pod".into());
    for i in 0..250 {
        let claim = format!("pvc-{i}");
        set.pvs
            .push(pv(&format!("pv-{i}"), "ns0", &claim, "ns0", "shared"));
        for j in 0..250 {
            let node = if (i, j) == (249, 249) {
                "node-last".to_string()
            } else {
                format!("node{}", (i * 250 + j) % 1000)
            };
            let mut pod = pod("ns0", &format!("pod-{i}-{j}"), &node);
            pod.claim_volumes = vec![claim.clone()];
            set.pods.push(pod);
        }
    }
    set.volume_attachments.push(VolumeAttachmentView {
        name: "va-idle".into(),
        node_name: "node-idle".into(),
        ..VolumeAttachmentView::default()
    });
    timed("shared", &set)
}

type Query = (
    &'static str,
    VertexKind,
    &'static str,
    &'static str,
    &'static str,
    bool,
);

fn run(c: &mut Criterion, group: &str, g: &Graph, queries: &[Query]) {
    let mut grp = c.benchmark_group(group);
    for &(label, kind, ns, name, node, allowed) in queries {
        grp.bench_function(label, |b| {
            b.iter(|| {
                let answer = g.path(black_box(kind), ns, name, node, T);
                let ok = match (&answer, allowed) {
                    (PathAnswer::Found(p), true) => {
                        p.last().map(String::as_str) == Some(&*format!("node {node}"))
                    }
                    (PathAnswer::NoPath, false) => true,
                    _ => false,
                };
                assert!(ok, "{group}/{label}: {answer:?}");
                answer
            })
        });
    }
    grp.finish();
}

fn benches(c: &mut Criterion) {
    use VertexKind::*;
    let g = authorization_shape();
    run(
        c,
        "authorization",
        &g,
        &[
            (
                "allowed configmap",
                ConfigMap,
                "ns0",
                "configmap0-pod0-node0",
                "node0",
                true,
            ),
            (
                "allowed secret via pod",
                Secret,
                "ns0",
                "secret0-pod0-node0",
                "node0",
                true,
            ),
            (
                "allowed shared secret via pod",
                Secret,
                "ns0",
                "secret0-shared",
                "node0",
                true,
            ),
            (
                "allowed secret via pv",
                Secret,
                "ns0",
                "secret-pv0-pod0-node0-ns0",
                "node0",
                true,
            ),
            (
                "disallowed configmap",
                ConfigMap,
                "ns0",
                "configmap0-pod0-node1",
                "node0",
                false,
            ),
            (
                "disallowed secret via pod",
                Secret,
                "ns0",
                "secret0-pod0-node1",
                "node0",
                false,
            ),
            (
                "disallowed shared secret via pvc",
                Secret,
                "ns0",
                "secret-pv0-pod0-node1-ns0",
                "node0",
                false,
            ),
            (
                "disallowed pvc",
                Pvc,
                "ns0",
                "pvc0-pod0-node1",
                "node0",
                false,
            ),
            (
                "disallowed pv",
                Pv,
                "",
                "pv0-pod0-node1-ns0",
                "node0",
                false,
            ),
            (
                "disallowed attachment",
                VolumeAttachment,
                "",
                "attachment0-node1",
                "node0",
                false,
            ),
            (
                "allowed attachment",
                VolumeAttachment,
                "",
                "attachment0-node0",
                "node0",
                true,
            ),
        ],
    );
    drop(g);
    let g = pvs_shape();
    run(
        c,
        "pvs",
        &g,
        &[
            ("allowed pv", Pv, "", "pv-pod399-node999", "node999", true),
            (
                "allowed secret via pv",
                Secret,
                "ns99",
                "secret-pv-pod399-node999",
                "node999",
                true,
            ),
            ("disallowed pv", Pv, "", "pv-pod399-node999", "node0", false),
        ],
    );
    drop(g);
    let g = shared_shape();
    run(
        c,
        "shared",
        &g,
        &[
            (
                "allowed, common node",
                Secret,
                "ns0",
                "shared",
                "node7",
                true,
            ),
            (
                "allowed, last pod only",
                Secret,
                "ns0",
                "shared",
                "node-last",
                true,
            ),
            (
                "disallowed, idle node",
                Secret,
                "ns0",
                "shared",
                "node-idle",
                false,
            ),
        ],
    );
}

criterion_group! {
    name = graph;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(graph);
