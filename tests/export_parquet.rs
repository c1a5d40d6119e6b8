//! Parquet export: written by the streaming writer, read back by an independent reader
//! (pyarrow and DuckDB through scripts/check_parquet.py) and by parquet's own arrow reader.
//! Needs `pip install pyarrow duckdb`.

#[path = "support/files.rs"]
mod files;
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::Array;
use compact_str::{format_compact, CompactString};
use files::relative_files_under;
use nodeauthz::export::parquet::{
    request_schema, write_findings, PartitionBy, RequestWriter, WriterOptions, SCHEMA_VERSION_KEY,
};
use nodeauthz::findings::{Finding, FindingKind, Findings, Severity};
use nodeauthz::verdict::{
    AdmissionDecision, AuthzDecision, BindingKey, Evidence, NodeAuthorizerResult,
    NodeRestrictionResult, RbacResult, RecordedOutcome, RequestVerdict, Verdict,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const DAY: i64 = 86_400_000_000;
/// 2026-11-01T00:00:00Z.
const NOV_1: i64 = 1_793_491_200_000_000;

/// Deterministic rows covering every enum value, nulls, empty lists, escapes and unicode.
fn rows(n: usize) -> Vec<RequestVerdict> {
    let verbs = [
        "get", "list", "watch", "create", "patch", "update", "delete",
    ];
    let resources = [
        ("", "secrets", ""),
        ("", "configmaps", ""),
        ("", "pods", "status"),
        ("", "nodes", ""),
        ("coordination.k8s.io", "leases", ""),
        ("storage.k8s.io", "csinodes", ""),
    ];
    (0..n)
        .map(|i| {
            let node = format!("node{}", i % 5);
            let (api_group, resource, subresource) = resources[i % resources.len()];
            let verdict = Verdict::ALL[i % 4];
            let recorded = match i % 5 {
                0 => RecordedOutcome::from_log(Some("allow"), Some(""), Some(200)),
                1 => RecordedOutcome::from_log(
                    Some("forbid"),
                    Some("no relationship found between node 'node1' and this object"),
                    Some(403),
                ),
                2 => RecordedOutcome::from_log(Some("allow"), Some(""), Some(403)),
                3 => RecordedOutcome::from_log(None, None, None),
                _ => RecordedOutcome::from_log(
                    Some("allow"),
                    Some("RBAC: allowed by ClusterRoleBinding \"system:node\" of ClusterRole \"system:node\" to Group \"system:nodes\""),
                    Some(201),
                ),
            };
            let evidence = match i % 4 {
                0 => Evidence::Path(vec![
                    format!("secret ns{}/s{}", i % 3, i),
                    format!("pod ns{}/p{}", i % 3, i),
                    format!("node {node}"),
                ]),
                1 => Evidence::NoPath,
                2 => Evidence::Incomplete(format!("no dump and no logged pod for node {node}")),
                _ => Evidence::NotConsulted,
            };
            let rbac = if verdict == Verdict::ReliesOnRbac {
                RbacResult {
                    decision: AuthzDecision::Allow,
                    reason: "RBAC: allowed by ClusterRoleBinding \"system:node\" of ClusterRole \"system:node\" to Group \"system:nodes\"".into(),
                    binding: Some(if i % 8 == 1 {
                        BindingKey::namespaced("kube-system", "nodes-read")
                    } else {
                        BindingKey::cluster("system:node")
                    }),
                    role: Some("ClusterRole/system:node".into()),
                }
            } else {
                RbacResult {
                    decision: AuthzDecision::NoOpinion,
                    reason: String::new(),
                    binding: None,
                    role: None,
                }
            };
            let recorded_decision = recorded.decision;
            RequestVerdict {
                audit_id: format_compact!("{:08x}-0000-4000-8000-{:012x}", i, i * 7919),
                // Three days; every 97th row has no timestamp.
                timestamp: (i % 97 != 5).then(|| NOV_1 + (i as i64 % 3) * DAY + i as i64 * 1_000_003),
                username: format_compact!("system:node:{node}"),
                node: node.into(),
                groups: if i % 11 == 0 {
                    Vec::new()
                } else {
                    vec!["system:nodes".into(), "system:authenticated".into()]
                },
                user_agent: format_compact!("kubelet/v1.{}.0 (linux/amd64) kubernetes/abc", 28 + i % 3),
                source_ips: if i % 13 == 0 {
                    vec!["10.0.0.1".into(), "192.168.1.7".into()]
                } else {
                    vec![format_compact!("10.0.0.{}", i % 5)]
                },
                verb: verbs[i % verbs.len()].into(),
                api_group: api_group.into(),
                resource: resource.into(),
                subresource: subresource.into(),
                namespace: if resource == "nodes" { CompactString::default() } else { format_compact!("ns{}", i % 3) },
                name: format_compact!("obj-{i}-ünï"),
                request_uri: format_compact!("/api/v1/namespaces/ns{}/{resource}/obj-{i}?fieldSelector=metadata.name%3Dx", i % 3),
                recorded,
                node_authorizer: NodeAuthorizerResult {
                    decision: if verdict == Verdict::AllowedByNode { AuthzDecision::Allow } else { AuthzDecision::NoOpinion },
                    reason: if verdict == Verdict::AllowedByNode { String::new() } else { "node 'node1' cannot read 'node2', only its own Node object".into() },
                },
                node_restriction: NodeRestrictionResult {
                    decision: [AdmissionDecision::NotApplicable, AdmissionDecision::Admit, AdmissionDecision::Deny, AdmissionDecision::Unknown][i % 4],
                    reason: if i % 4 == 2 { format!("node \"node{}\" can only create pods with spec.nodeName set to itself", i % 5) } else { String::new() },
                },
                rbac,
                verdict,
                verdict_reason: match verdict {
                    Verdict::Forbidden => "can only read resources of this type\nRBAC: \"quoted\" | piped".into(),
                    _ => CompactString::default(),
                },
                change: nodeauthz::verdict::change(recorded_decision, verdict),
                evidence,
                source_file: format!("/var/log/audit-{}.log", i % 2).into(),
                source_line: i as u64 + 1,
            }
        })
        .collect()
}

/// [`rows`], the `i`th on node `node<node_of(i)>`.
fn rows_on_nodes(n: usize, node_of: impl Fn(usize) -> usize) -> Vec<RequestVerdict> {
    let mut rows = rows(n);
    for (i, r) in rows.iter_mut().enumerate() {
        r.node = format!("node{}", node_of(i)).into();
    }
    rows
}

fn write_jsonl(path: &Path, rows: &[impl serde::Serialize]) {
    let mut f = File::create(path).expect("create jsonl");
    for r in rows {
        serde_json::to_writer(&mut f, r).expect("serialize row");
        f.write_all(b"\n").expect("write jsonl");
    }
}

/// Runs the independent checker; returns (success, stderr).
fn run_check(parquet: &Path, jsonl: &Path, table: &str, partition: &str) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_parquet.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(&script)
        .args(["--table", table, "--partition-by", partition])
        .arg(parquet)
        .arg(jsonl)
        .output()
        .expect("run python3 (install: pip install pyarrow duckdb)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the independent checker; panics with its output unless it succeeds.
fn check(parquet: &Path, jsonl: &Path, table: &str, partition: &str) {
    let (ok, stderr) = run_check(parquet, jsonl, table, partition);
    assert!(ok, "check_parquet.py failed:\n{stderr}");
}

fn small_groups() -> WriterOptions {
    WriterOptions {
        row_group_rows: 1000,
        max_open_writers: 32,
    }
}

#[test]
fn single_file_matches_jsonl_in_an_independent_reader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = rows(2500);
    let path = dir.path().join("requests.parquet");
    let mut w =
        RequestWriter::create_with(&path, PartitionBy::None, small_groups()).expect("create");
    for chunk in rows.chunks(700) {
        w.write_batch(chunk).expect("write");
    }
    let stats = w.finish().expect("finish");
    assert_eq!(stats.rows, 2500);
    assert_eq!(stats.files, vec![path.clone()]);
    let jsonl = dir.path().join("requests.jsonl");
    write_jsonl(&jsonl, &rows);
    check(&path, &jsonl, "requests", "none");
}

#[test]
fn rust_reader_sees_row_groups_types_and_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = rows(2500);
    let path = dir.path().join("requests.parquet");
    let mut w =
        RequestWriter::create_with(&path, PartitionBy::None, small_groups()).expect("create");
    w.write_batch(&rows).expect("write");
    w.finish().expect("finish");

    let builder =
        ParquetRecordBatchReaderBuilder::try_new(File::open(&path).expect("open")).expect("reader");
    let meta = builder.metadata().clone();
    assert_eq!(meta.file_metadata().num_rows(), 2500);
    assert_eq!(meta.num_row_groups(), 3, "1000-row groups");
    for rg in meta.row_groups() {
        for col in rg.columns() {
            assert_eq!(
                col.compression(),
                parquet::basic::Compression::ZSTD(parquet::basic::ZstdLevel::default())
            );
        }
    }
    let kv = meta
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default();
    assert!(kv
        .iter()
        .any(|k| k.key == SCHEMA_VERSION_KEY && k.value.as_deref() == Some("1")));
    assert_eq!(builder.schema().fields(), request_schema().fields());

    let batches: Vec<_> = builder
        .build()
        .expect("build")
        .collect::<Result<_, _>>()
        .expect("read");
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(total, 2500);
    let b = &batches[0];
    let verdict = b
        .column_by_name("verdict")
        .expect("verdict")
        .as_dictionary::<Int32Type>();
    let values = verdict.values().as_string::<i32>();
    let at = |i: usize| values.value(verdict.keys().value(i) as usize).to_owned();
    assert_eq!(at(0), "allowed_by_node");
    assert_eq!(at(1), "relies_on_rbac");
    assert_eq!(at(2), "forbidden");
    assert_eq!(at(3), "indeterminate");
    let ts = b
        .column_by_name("timestamp")
        .expect("timestamp")
        .as_primitive::<arrow_array::types::TimestampMicrosecondType>();
    assert_eq!(ts.value(0), NOV_1);
    assert!(ts.is_null(5), "row 5 has no timestamp");
    let groups = b.column_by_name("groups").expect("groups").as_list::<i32>();
    assert_eq!(groups.value_length(0), 0, "row 0 has no groups");
    assert_eq!(groups.value_length(1), 2);
    let line = b
        .column_by_name("source_line")
        .expect("source_line")
        .as_primitive::<arrow_array::types::Int64Type>();
    assert_eq!(line.value(41), 42);
}

#[test]
fn nothing_under_the_final_name_until_finish() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("requests.parquet");
    let mut w = RequestWriter::create(&path).expect("create");
    w.write_batch(&rows(10)).expect("write");
    assert!(!path.exists());
    let names = relative_files_under(dir.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(
        names[0].starts_with(".requests.parquet.") && names[0].ends_with(".tmp"),
        "{names:?}"
    );
    w.finish().expect("finish");
    assert_eq!(
        relative_files_under(dir.path()),
        vec!["requests.parquet".to_owned()]
    );
}

#[test]
fn dropped_unfinished_writer_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("requests.parquet");
    let mut w = RequestWriter::create(&path).expect("create");
    w.write_batch(&rows(100)).expect("write");
    drop(w);
    assert!(
        relative_files_under(dir.path()).is_empty(),
        "{:?}",
        relative_files_under(dir.path())
    );

    let part = dir.path().join("requests");
    let mut w = RequestWriter::create_with(&part, PartitionBy::Node, WriterOptions::default())
        .expect("create");
    w.write_batch(&rows(100)).expect("write");
    drop(w);
    assert!(
        relative_files_under(dir.path()).is_empty(),
        "{:?}",
        relative_files_under(dir.path())
    );
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
}

#[test]
fn date_partitions_match_jsonl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = rows(1200);
    let out = dir.path().join("requests");
    let mut w =
        RequestWriter::create_with(&out, PartitionBy::Date, small_groups()).expect("create");
    for chunk in rows.chunks(333) {
        w.write_batch(chunk).expect("write");
    }
    let stats = w.finish().expect("finish");
    assert_eq!(stats.rows, 1200);
    assert_eq!(
        relative_files_under(&out),
        vec![
            "date=2026-11-01/part-0.parquet",
            "date=2026-11-02/part-0.parquet",
            "date=2026-11-03/part-0.parquet",
            "date=__HIVE_DEFAULT_PARTITION__/part-0.parquet",
        ]
    );
    let jsonl = dir.path().join("requests.jsonl");
    write_jsonl(&jsonl, &rows);
    check(&out, &jsonl, "requests", "date");
}

#[test]
fn node_partitions_with_bounded_open_writers_match_jsonl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rows = rows(200);
    rows[3].node = CompactString::default(); // a kubelet agent that is not a node identity
    let out = dir.path().join("requests");
    let opts = WriterOptions {
        row_group_rows: 20,
        max_open_writers: 2,
    };
    let mut w = RequestWriter::create_with(&out, PartitionBy::Node, opts).expect("create");
    // Batches of one node at a time, cycling over five nodes: held, 20 rows at a time, and
    // each 20 written over two open files, evicting.
    for chunk in rows.chunks(1) {
        w.write_batch(chunk).expect("write");
    }
    let stats = w.finish().expect("finish");
    assert_eq!(stats.rows, 200);
    let files = relative_files_under(&out);
    assert!(files.iter().all(|f| f.starts_with("node=")), "{files:?}");
    assert!(
        files.contains(&"node=node4/part-1.parquet".to_owned()),
        "{files:?}"
    );
    assert!(files.contains(&"node=__HIVE_DEFAULT_PARTITION__/part-0.parquet".to_owned()));
    assert_eq!(stats.files.len(), files.len());
    let jsonl = dir.path().join("requests.jsonl");
    write_jsonl(&jsonl, &rows);
    check(&out, &jsonl, "requests", "node");

    // A second run replaces the whole table.
    let mut w = RequestWriter::create_with(&out, PartitionBy::Node, WriterOptions::default())
        .expect("create");
    w.write_batch(&rows[..10]).expect("write");
    w.finish().expect("finish");
    let again = relative_files_under(&out);
    assert_eq!(again.len(), 6, "{again:?}");
    assert_eq!(
        relative_files_under(dir.path())
            .iter()
            .filter(|f| f.contains(".tmp"))
            .count(),
        0
    );
}

/// `analyze` writes a batch per thousand requests or so. When a batch held more partitions
/// than files may be open, writing it as it came finished and reopened every partition's file
/// for every batch; such rows are now held until a row group's worth has come.
#[test]
fn more_partitions_than_open_files_in_small_batches_make_one_file_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = rows_on_nodes(400, |i| i % 40);
    let out = dir.path().join("requests");
    let opts = WriterOptions {
        row_group_rows: 1000,
        max_open_writers: 4,
    };
    let mut w = RequestWriter::create_with(&out, PartitionBy::Node, opts).expect("create");
    for chunk in rows.chunks(10) {
        w.write_batch(chunk).expect("write");
    }
    let stats = w.finish().expect("finish");
    assert_eq!(stats.rows, 400);
    let mut files = relative_files_under(&out);
    files.sort();
    let mut expected: Vec<String> = (0..40)
        .map(|i| format!("node=node{i}/part-0.parquet"))
        .collect();
    expected.sort();
    assert_eq!(files, expected);
    let jsonl = dir.path().join("requests.jsonl");
    write_jsonl(&jsonl, &rows);
    check(&out, &jsonl, "requests", "node");
}

#[test]
fn findings_table_matches_jsonl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let findings = Findings {
        items: vec![
            Finding {
                id: "legacy_system_node_binding:ClusterRoleBinding/system:node".into(),
                severity: Severity::High,
                kind: FindingKind::LegacySystemNodeBinding,
                binding: Some(BindingKey::cluster("system:node")),
                role: Some("ClusterRole/system:node".into()),
                subject: "Group \"system:nodes\"".into(),
                rules: vec![
                    "verbs=[get list watch] apiGroups=[\"\"] resources=[configmaps secrets]".into(),
                ],
                observed: Vec::new(),
                detail: FindingKind::LegacySystemNodeBinding.detail().into(),
                requests_using: 42,
            },
            Finding {
                id: "node_identity_multiple_source_ips:system:node:n1".into(),
                severity: Severity::Low,
                kind: FindingKind::NodeIdentityMultipleSourceIps,
                binding: None,
                role: None,
                subject: "User \"system:node:n1\"".into(),
                rules: Vec::new(),
                observed: vec!["10.0.0.1".into(), "10.0.0.2".into()],
                detail: FindingKind::NodeIdentityMultipleSourceIps.detail().into(),
                requests_using: 3,
            },
        ],
    };
    let path: PathBuf = dir.path().join("findings.parquet");
    write_findings(&path, &findings).expect("write findings");
    let jsonl = dir.path().join("findings.jsonl");
    write_jsonl(&jsonl, &findings.items);
    check(&path, &jsonl, "findings", "none");
    assert_eq!(
        relative_files_under(dir.path()),
        vec!["findings.jsonl", "findings.parquet"]
    );
}

#[test]
fn checker_rejects_changed_missing_and_mistyped_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rows = rows(50);
    let path = dir.path().join("requests.parquet");
    let mut w = RequestWriter::create(&path).expect("create");
    w.write_batch(&rows).expect("write");
    w.finish().expect("finish");
    let jsonl = dir.path().join("requests.jsonl");

    rows[7].verdict_reason.push('!');
    write_jsonl(&jsonl, &rows);
    let (ok, stderr) = run_check(&path, &jsonl, "requests", "none");
    assert!(!ok);
    assert!(stderr.contains("column verdict_reason"), "{stderr}");

    rows[7].verdict_reason.pop();
    rows.pop();
    write_jsonl(&jsonl, &rows);
    let (ok, stderr) = run_check(&path, &jsonl, "requests", "none");
    assert!(!ok);
    assert!(
        stderr.contains("row count: parquet 50, jsonl 49"),
        "{stderr}"
    );

    // The findings file read as if it were the requests table: wrong columns and metadata.
    let findings = dir.path().join("findings.parquet");
    write_findings(&findings, &Findings::default()).expect("findings");
    write_jsonl(&jsonl, &rows[..0]);
    let (ok, stderr) = run_check(&findings, &jsonl, "requests", "none");
    assert!(!ok);
    assert!(
        stderr.contains("nodeauthz.table is b'findings'"),
        "{stderr}"
    );
}

/// Throughput and memory of the writer; run by hand:
/// `NODEAUTHZ_BENCH_ROWS=2000000 /usr/bin/time -v cargo test --release --test export_parquet -- --ignored --nocapture write_throughput`
#[test]
#[ignore]
fn write_throughput() {
    let total: usize = std::env::var("NODEAUTHZ_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let chunk = rows(65_536);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("requests.parquet");
    let start = std::time::Instant::now();
    let mut w = RequestWriter::create(&path).expect("create");
    let mut written = 0;
    while written < total {
        let n = chunk.len().min(total - written);
        w.write_batch(&chunk[..n]).expect("write");
        written += n;
    }
    let stats = w.finish().expect("finish");
    let secs = start.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&path).expect("stat").len();
    assert_eq!(stats.rows, total as u64);
    eprintln!(
        "{total} rows in {secs:.2} s = {:.0} rows/s, {:.1} MB file",
        total as f64 / secs,
        bytes as f64 / 1e6
    );
}

#[test]
#[ignore]
fn build_throughput() {
    let chunk = rows(65_536);
    let start = std::time::Instant::now();
    for _ in 0..10 {
        let b = nodeauthz::export::parquet::request_batch(chunk.iter()).expect("batch");
        assert_eq!(b.num_rows(), 65_536);
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!("build: {:.0} rows/s", 655_360.0 / secs);
}

#[test]
fn empty_partitioned_tables_have_one_schema_only_file_that_duckdb_reads() {
    for (by, key) in [(PartitionBy::Node, "node"), (PartitionBy::Date, "date")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("requests");
        let w = RequestWriter::create_with(&out, by, WriterOptions::default()).expect("create");
        let stats = w.finish().expect("finish");
        assert_eq!(stats.rows, 0);
        assert_eq!(
            relative_files_under(&out),
            vec![format!("{key}=__HIVE_DEFAULT_PARTITION__/part-0.parquet")]
        );
        // The query docs/schema.md shows, filtering on the partition key: no rows, and
        // every column there, as in a table with rows.
        let query = format!(
            "import duckdb; r = duckdb.sql(\"select * from read_parquet('{}/**/*.parquet', \
             hive_partitioning=true) where {key} is not null\"); print(len(r.fetchall()), \
             r.columns.count('{key}'), 'verdict' in r.columns)",
            out.display()
        );
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let run = Command::new(&python)
            .args(["-c", &query])
            .output()
            .expect("run python3 (install: pip install duckdb)");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "0 1 True");
    }
}

/// The audit ids of every partition of a node-partitioned table, file by file in `part-<n>`
/// order; checks on the way that no file holds a `node` column.
fn audit_ids_by_partition(table: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut files: Vec<(String, u32, String)> = relative_files_under(table)
        .into_iter()
        .map(|f| {
            let (dir, name) = f.split_once('/').expect("dir/part-n.parquet");
            let n: u32 = name
                .strip_prefix("part-")
                .and_then(|s| s.strip_suffix(".parquet"))
                .and_then(|s| s.parse().ok())
                .expect("part-<n>.parquet");
            (dir.to_owned(), n, f.clone())
        })
        .collect();
    files.sort();
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (dir, _, f) in files {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(File::open(table.join(&f)).expect("open"))
                .expect("reader");
        assert!(
            reader.schema().field_with_name("node").is_err(),
            "{f} has a node column"
        );
        for b in reader.build().expect("build") {
            let b = b.expect("read");
            let ids = b
                .column_by_name("audit_id")
                .expect("audit_id")
                .as_string::<i32>();
            let ids = (0..ids.len()).map(|i| ids.value(i).to_owned());
            out.entry(dir.clone()).or_default().extend(ids);
        }
    }
    out
}

/// The expected audit ids of every node partition, in input order.
fn expected_by_partition(
    rows: &[RequestVerdict],
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in rows {
        out.entry(nodeauthz::export::parquet::partition_dir(
            PartitionBy::Node,
            r,
        ))
        .or_default()
        .push(r.audit_id.to_string());
    }
    out
}

/// Batches of few partitions (written at once), then of many (held, written a row group's
/// worth at a time, evicting), then of few again while rows are still held: every row once,
/// in its partition, in input order there, across `part-<n>` files.
#[test]
fn mixed_held_and_direct_writes_keep_each_partition_in_input_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = rows_on_nodes(1000, |i| match i {
        0..=99 => i % 3,     // 3 partitions: written at once
        100..=749 => i % 12, // 12 partitions: held, flushed every 100 rows
        _ => i % 2,          // 2 partitions, appended to what is held
    });
    let out = dir.path().join("requests");
    let opts = WriterOptions {
        row_group_rows: 100,
        max_open_writers: 4,
    };
    let mut w = RequestWriter::create_with(&out, PartitionBy::Node, opts).expect("create");
    w.write_batch(std::iter::empty()).expect("empty write");
    for chunk in rows[..100].chunks(10) {
        w.write_batch(chunk).expect("write");
    }
    for chunk in rows[100..750].chunks(10) {
        w.write_batch(chunk).expect("write");
    }
    w.write_batch(std::iter::empty()).expect("empty write");
    for chunk in rows[750..].chunks(7) {
        w.write_batch(chunk).expect("write");
    }
    let stats = w.finish().expect("finish");
    assert_eq!(stats.rows, 1000);
    assert_eq!(audit_ids_by_partition(&out), expected_by_partition(&rows));
    let jsonl = dir.path().join("requests.jsonl");
    write_jsonl(&jsonl, &rows);
    check(&out, &jsonl, "requests", "node");
}

/// Every batch spans no more partitions than files may be open, but consecutive batches
/// span different ones: each batch is written at once and evicts the previous batch's files.
/// 8 partitions, 400 rows (less than a row group): should be about one file each, not one
/// per partition per batch.
#[test]
fn alternating_small_batches_do_not_make_a_file_per_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Batches of 8 rows: nodes 0-3, then 4-7, then 0-3, ...
    let rows = rows_on_nodes(400, |i| (i / 8) % 2 * 4 + i % 4);
    let out = dir.path().join("requests");
    let opts = WriterOptions {
        row_group_rows: 1000,
        max_open_writers: 4,
    };
    let mut w = RequestWriter::create_with(&out, PartitionBy::Node, opts).expect("create");
    for chunk in rows.chunks(8) {
        w.write_batch(chunk).expect("write");
    }
    let stats = w.finish().expect("finish");
    assert_eq!(stats.rows, 400);
    assert_eq!(audit_ids_by_partition(&out), expected_by_partition(&rows));
    let files = relative_files_under(&out);
    assert!(files.len() <= 8, "{} files: {files:?}", files.len());
}

/// A write that failed may have dropped rows that were held; the writer must not then
/// finish a table without them.
#[test]
fn a_failed_write_does_not_finish_a_table_with_rows_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = rows_on_nodes(100, |i| i % 10);
    let out = dir.path().join("requests");
    let opts = WriterOptions {
        row_group_rows: 50,
        max_open_writers: 4,
    };
    let mut w = RequestWriter::create_with(&out, PartitionBy::Node, opts).expect("create");
    // 10 partitions, more than files may be open: held.
    w.write_batch(&rows[..20]).expect("write");
    // The writer's hidden directory: a file where node=node3's folder would go.
    let temp = std::fs::read_dir(dir.path())
        .expect("ls")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".requests."))
        })
        .expect("temp dir");
    std::fs::write(temp.join("node=node3"), b"in the way").expect("block");
    // 60 rows held: the flush fails at node3, after node0..node2 were written.
    assert!(w.write_batch(&rows[20..60]).is_err());
    std::fs::remove_file(temp.join("node=node3")).expect("unblock");
    w.write_batch(&rows[60..]).ok();
    match w.finish() {
        Err(_) => {}
        Ok(stats) => assert_eq!(stats.rows, 100, "finished a table without the rows held"),
    }
}
