//! Scanner throughput over an in-memory generated log (about half kubelet lines, both stages,
//! lines of 0.5-2 KB, escaped RBAC reasons), in bytes per second: the chunk workers alone
//! (with and without the pre-filter), and the whole `scan` of a file (mmap, merge, dedup); and
//! the parse of its ResponseComplete lines, by serde alone and as `parse_document` reads them
//! (the direct reader of `input::fast_event` first), so that the ratio of the two is measured
//! in one run. Each run checks the count it found, so a fast wrong answer cannot pass.

use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nodeauthz::input::event::{parse_document, RawEvent};
use nodeauthz::input::InputSpec;
use nodeauthz::scan::chunk::{process_lines, ChunkCtx, ChunkOut};
use nodeauthz::scan::prefilter::Prefilter;
use nodeauthz::scan::{scan, split_chunks, ScanOptions, CHUNK_SIZE};
use rayon::prelude::*;

/// Generates `n` requests (two events each) into JSON lines.
fn generate(n: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut kubelet = 0;
    for i in 0..n {
        let node = i % 50;
        let is_kubelet = i % 2 == 0;
        let (user, agent, uri) = if is_kubelet {
            kubelet += 1;
            (format!("system:node:node-{node}"), "kubelet/v1.30.2 (linux/amd64) kubernetes/3968350", format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-{node}?timeout=10s"))
        } else {
            ("system:serviceaccount:kube-system:replicaset-controller".to_string(), "kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3968350/system:serviceaccount:kube-system:replicaset-controller", format!("/apis/apps/v1/namespaces/ns-{}/replicasets/web-{i}/status", i % 7))
        };
        let padding = "x".repeat(300 + (i * 37) % 1200);
        for (stage, extra) in [
            ("RequestReceived", String::new()),
            (
                "ResponseComplete",
                format!(
                    r#","responseStatus":{{"metadata":{{}},"code":200}},"annotations":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \"system:controller:{padding}\" of ClusterRole \"x\" to ServiceAccount \"y\""}}"#
                ),
            ),
        ] {
            writeln!(
                out,
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{i:08x}-0000-4000-8000-000000000000","stage":"{stage}","requestURI":"{uri}","verb":"update","user":{{"username":"{user}","groups":["system:authenticated"]}},"sourceIPs":["10.0.0.{node}"],"userAgent":"{agent}","objectRef":{{"resource":"leases","namespace":"kube-node-lease","name":"node-{node}","apiGroup":"coordination.k8s.io","apiVersion":"v1"}},"requestReceivedTimestamp":"2026-11-02T08:00:00.{:06}Z","stageTimestamp":"2026-11-02T08:00:00.{:06}Z"{extra}}}"#,
                i % 1_000_000,
                (i + 1) % 1_000_000
            )
            .unwrap();
        }
    }
    (out, kubelet)
}

fn chunks(c: &mut Criterion) {
    let (buf, kubelet) = generate(60_000);
    let prefilter = Prefilter::new(true);
    let mut g = c.benchmark_group("scan");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.sample_size(10);
    for (name, pf) in [
        ("chunks_prefilter", Some(&prefilter)),
        ("chunks_no_prefilter", None),
    ] {
        let ctx = ChunkCtx {
            in_file: None,
            prefilter: pf,
            want_object_events: true,
            max_line: 64 << 20,
            file: 0,
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let outs: Vec<ChunkOut> = split_chunks(&buf, CHUNK_SIZE)
                    .par_iter()
                    .map(|c| process_lines(c, &ctx))
                    .collect();
                // Kept records plus events dropped by the in-chunk deduplication.
                let events: usize = outs
                    .iter()
                    .map(|o| o.kubelet.len() + o.kubelet_dropped as usize)
                    .sum();
                assert_eq!(events, 2 * kubelet);
            })
        });
    }
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&buf).unwrap();
    let input = [InputSpec::Path(file.path().to_path_buf())];
    g.bench_function("scan_file", |b| {
        b.iter(|| {
            let mut n = 0;
            let s = scan(&input, &ScanOptions::default(), &mut |batch| {
                n += batch.len();
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
            assert_eq!((n, s.kubelet_requests as usize), (kubelet, kubelet));
        })
    });
    // Object events only, kubelet lines skipped (the `graph` command's scan).
    g.bench_function("scan_file_objects_only", |b| {
        let opts = ScanOptions {
            want_requests: false,
            ..ScanOptions::default()
        };
        b.iter(|| {
            let mut n = 0;
            let s = scan(&input, &opts, &mut |batch| {
                n += batch.len();
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
            assert_eq!((n, s.kubelet_requests), (0, 0));
            assert_eq!(s.events as usize, 4 * kubelet);
        })
    });
    g.finish();
}

fn parse(c: &mut Criterion) {
    let (buf, _) = generate(20_000);
    let text = std::str::from_utf8(&buf).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ResponseComplete"))
        .collect();
    let bytes: usize = lines.iter().map(|l| l.len()).sum();
    // Every line's auditID is 36 bytes long.
    let ids = 36 * lines.len();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    g.bench_function("serde", |b| {
        b.iter(|| {
            let read: usize = lines
                .iter()
                .map(|l| serde_json::from_str::<RawEvent<'_>>(l).unwrap())
                .map(|e| e.audit_id.map_or(0, |id| id.len()))
                .sum();
            assert_eq!(read, ids);
        })
    });
    g.bench_function("parse_document", |b| {
        b.iter(|| {
            let read: usize = lines
                .iter()
                .map(|l| parse_document(l).unwrap())
                .map(|e| e.audit_id.map_or(0, |id| id.len()))
                .sum();
            assert_eq!(read, ids);
        })
    });
    g.finish();
}

criterion_group!(benches, chunks, parse);
criterion_main!(benches);
