//! `analyze --out DIR --format jsonl`: the Parquet files are read back by independent readers
//! (pyarrow and DuckDB, through scripts/check_parquet.py or inline Python) and every row and
//! value is checked against the jsonl output of the same run; summary.json, report.md and
//! report.html are checked too, and no temporary file may remain in DIR.

#[path = "support/files.rs"]
mod files;
use files::relative_files_under;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_nodeauthz");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const INCIDENT: [&str; 3] = [
    "fixtures/incident-1.19/audit.log",
    "--objects",
    "fixtures/incident-1.19/objects.json",
];
const GENERATED: [&str; 3] = [
    "fixtures/generated/node-rbac/audit.log",
    "--objects",
    "fixtures/generated/objects.json",
];
/// Two days of kubelet requests (2021-11-23 and 2021-11-24, 4 each) with two bad lines.
const TWO_DAYS: [&str; 3] = [
    "fixtures/analyze/two-days-bad-lines.log",
    "--objects",
    "fixtures/incident-1.19/objects.json",
];

/// One `analyze --out` run: the output directory and the jsonl printed by the same run
/// (kept outside the directory so that the directory holds only what the tool wrote).
struct Run {
    _tmp: tempfile::TempDir,
    out: PathBuf,
    jsonl: PathBuf,
    rows: Vec<Value>,
}

fn analyze_out(input: &[&str], extra: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let jsonl = tmp.path().join("rows.jsonl");
    let mut args = vec!["analyze"];
    args.extend_from_slice(input);
    args.extend_from_slice(extra);
    let out_str = out.to_str().expect("utf-8 temp path");
    args.extend(["--out", out_str, "--format", "jsonl"]);
    let o = Command::new(BIN)
        .current_dir(ROOT)
        .args(&args)
        .output()
        .expect("nodeauthz runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::write(&jsonl, &o.stdout).expect("write jsonl");
    let rows = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl line is JSON"))
        .collect();
    Run {
        _tmp: tmp,
        out,
        jsonl,
        rows,
    }
}

fn python(args: &[&str]) -> Output {
    Command::new("python3")
        .current_dir(ROOT)
        .args(args)
        .output()
        .expect("python3 runs")
}

fn check_parquet(table: &str, partition: &str, parquet: &Path, jsonl: &Path) {
    let o = python(&[
        "scripts/check_parquet.py",
        "--table",
        table,
        "--partition-by",
        partition,
        parquet.to_str().expect("utf-8"),
        jsonl.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "check_parquet.py {table} {partition}:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The directory holds exactly the documented outputs: no temporary or hidden file remains.
fn assert_only_outputs(dir: &Path, requests: &[String]) {
    let mut want: Vec<String> = [
        "findings.parquet",
        "report.html",
        "report.md",
        "summary.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(requests.iter().cloned())
    .collect();
    want.sort();
    assert_eq!(relative_files_under(dir), want);
}

fn count_by(rows: &[Value], f: impl Fn(&Value) -> String) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(f(r)).or_insert(0) += 1;
    }
    m
}

fn nonzero(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .expect("object of counts")
        .iter()
        .filter_map(|(k, n)| n.as_u64().filter(|n| *n > 0).map(|n| (k.clone(), n)))
        .collect()
}

fn str_of(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

/// summary.json's totals are the counts of the jsonl rows; report.md carries the readiness line;
/// report.html exists and is an HTML page.
fn check_summary_and_reports(run: &Run) {
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(run.out.join("summary.json")).expect("summary.json"),
    )
    .expect("summary.json is JSON");
    let totals = &summary["totals"];
    assert_eq!(totals["requests"], run.rows.len());
    assert_eq!(
        nonzero(&totals["by_verdict"]),
        count_by(&run.rows, |r| str_of(r, "verdict"))
    );
    assert_eq!(
        nonzero(&totals["by_change"]),
        count_by(&run.rows, |r| str_of(r, "change"))
    );
    assert_eq!(
        nonzero(&totals["by_recorded"]),
        count_by(&run.rows, |r| str_of(&r["recorded"], "decision"))
    );
    let per_node: u64 = summary["per_node"]
        .as_array()
        .expect("per_node")
        .iter()
        .map(|n| n["requests"].as_u64().expect("count"))
        .sum();
    assert_eq!(per_node, run.rows.len() as u64);

    let line = summary["readiness"]["line"]
        .as_str()
        .expect("readiness line");
    assert!(!line.is_empty());
    let md = std::fs::read_to_string(run.out.join("report.md")).expect("report.md");
    assert!(md.contains(line), "report.md lacks {line:?}:\n{md}");
    let html = std::fs::read_to_string(run.out.join("report.html")).expect("report.html");
    assert!(html
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("<!doctype html"));
}

/// findings.parquet read back with pyarrow and DuckDB against summary.json's findings: same
/// ids, kinds, severities, bindings, subjects and request counts; schema version and zstd.
fn check_findings(run: &Run) {
    const SCRIPT: &str = r#"
import json, sys, duckdb, pyarrow.parquet as pq
path, summary = sys.argv[1], json.load(open(sys.argv[2]))["findings"]
errors = []
meta = pq.read_metadata(path)
kv = meta.metadata or {}
if kv.get(b"nodeauthz.schema_version") != b"1": errors.append(f"schema_version {kv.get(b'nodeauthz.schema_version')!r}")
if kv.get(b"nodeauthz.table") != b"findings": errors.append(f"table {kv.get(b'nodeauthz.table')!r}")
for rg in range(meta.num_row_groups):
    for ci in range(meta.num_columns):
        if meta.row_group(rg).column(ci).compression != "ZSTD": errors.append(f"column {ci} not zstd")
rows = {r["finding_id"]: r for r in pq.read_table(path).to_pylist()}
if len(rows) != summary["total"]: errors.append(f"{len(rows)} rows, summary total {summary['total']}")
for item in summary["items"]:
    row = rows.get(item["id"])
    if row is None:
        errors.append(f"{item['id']} missing"); continue
    for col, key in [("severity", "severity"), ("kind", "kind"), ("binding", "binding"),
                     ("subject", "subject"), ("requests_using", "requests_using")]:
        if row[col] != item.get(key): errors.append(f"{item['id']} {col}: {row[col]!r} != {item.get(key)!r}")
    if item["kind"] == "legacy_system_node_binding":
        if row["role"] != "ClusterRole/system:node": errors.append(f"role {row['role']!r}")
        if not row["rules"]: errors.append("no rules")
        if not row["detail"]: errors.append("no detail")
con = duckdb.connect()
got = dict(con.execute(f"SELECT severity::VARCHAR, count(*) FROM read_parquet('{path}') GROUP BY 1").fetchall())
want = {k: v for k, v in summary["by_severity"].items() if v}
if got != want: errors.append(f"duckdb by severity {got} != {want}")
print("\n".join(errors))
sys.exit(1 if errors else 0)
"#;
    let o = python(&[
        "-c",
        SCRIPT,
        run.out.join("findings.parquet").to_str().expect("utf-8"),
        run.out.join("summary.json").to_str().expect("utf-8"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "findings.parquet:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A default run on `input`: `rows` rows, one `requests.parquet` equal to the jsonl, and the
/// summary, reports and findings consistent with them.
fn check_default_run(input: &[&str], rows: usize) {
    let run = analyze_out(input, &[]);
    assert_eq!(run.rows.len(), rows);
    check_parquet(
        "requests",
        "none",
        &run.out.join("requests.parquet"),
        &run.jsonl,
    );
    check_summary_and_reports(&run);
    check_findings(&run);
    assert_only_outputs(&run.out, &["requests.parquet".into()]);
}

#[test]
fn incident_requests_parquet_matches_jsonl() {
    check_default_run(&INCIDENT, 706);
}

#[test]
fn generated_requests_parquet_matches_jsonl() {
    check_default_run(&GENERATED, 525);
}

/// A run with a finding: the legacy binding in the cluster dump, under RBAC.
#[test]
fn findings_parquet_with_the_legacy_binding() {
    let run = analyze_out(
        &[
            "fixtures/incident-1.19/audit.log",
            "--objects",
            "fixtures/incident-1.19/objects.json",
            "fixtures/analyze/legacy-system-node-binding.json",
        ],
        &["--authorization-mode", "RBAC", "--kube-version", "1.19"],
    );
    check_parquet(
        "requests",
        "none",
        &run.out.join("requests.parquet"),
        &run.jsonl,
    );
    check_summary_and_reports(&run);
    check_findings(&run);
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(run.out.join("summary.json")).expect("summary.json"),
    )
    .expect("JSON");
    assert_eq!(
        summary["findings"]["by_kind"]["legacy_system_node_binding"],
        1
    );
    assert_only_outputs(&run.out, &["requests.parquet".into()]);
}

#[test]
fn incident_partition_by_date() {
    let run = analyze_out(&INCIDENT, &["--partition-by", "date"]);
    check_parquet("requests", "date", &run.out.join("requests"), &run.jsonl);
    check_summary_and_reports(&run);
    assert_only_outputs(
        &run.out,
        &["requests/date=2021-11-23/part-0.parquet".into()],
    );
}

#[test]
fn incident_partition_by_node() {
    let run = analyze_out(&INCIDENT, &["--partition-by", "node"]);
    check_parquet("requests", "node", &run.out.join("requests"), &run.jsonl);
    check_summary_and_reports(&run);
    assert_only_outputs(
        &run.out,
        &[
            "requests/node=node1/part-0.parquet".into(),
            "requests/node=node2/part-0.parquet".into(),
            "requests/node=node3/part-0.parquet".into(),
        ],
    );
}

#[test]
fn generated_partition_by_node_and_date() {
    let run = analyze_out(&GENERATED, &["--partition-by", "node"]);
    check_parquet("requests", "node", &run.out.join("requests"), &run.jsonl);
    let nodes: Vec<String> = relative_files_under(&run.out.join("requests"));
    assert_eq!(
        nodes,
        [
            "node=node-1/part-0.parquet",
            "node=node-2/part-0.parquet",
            "node=node-3/part-0.parquet"
        ]
    );
    let run = analyze_out(&GENERATED, &["--partition-by", "date"]);
    check_parquet("requests", "date", &run.out.join("requests"), &run.jsonl);
    assert_only_outputs(
        &run.out,
        &["requests/date=2026-11-02/part-0.parquet".into()],
    );
}

/// Requests on two days go to two date partitions, 4 rows each; the bad lines do not stop the
/// export.
#[test]
fn two_days_partition_by_date() {
    let run = analyze_out(&TWO_DAYS, &["--partition-by", "date"]);
    assert_eq!(run.rows.len(), 8);
    check_parquet("requests", "date", &run.out.join("requests"), &run.jsonl);
    check_summary_and_reports(&run);
    assert_only_outputs(
        &run.out,
        &[
            "requests/date=2021-11-23/part-0.parquet".into(),
            "requests/date=2021-11-24/part-0.parquet".into(),
        ],
    );
    let by_day = count_by(&run.rows, |r| str_of(r, "timestamp")[..10].to_owned());
    assert_eq!(
        by_day,
        BTreeMap::from([("2021-11-23".to_owned(), 4), ("2021-11-24".to_owned(), 4)])
    );
}

/// Writing twice into the same directory replaces the files (renamed over) and leaves nothing
/// else behind.
#[test]
fn rerun_into_the_same_directory_leaves_no_temporary_files() {
    let first = analyze_out(&TWO_DAYS, &[]);
    let out = first.out.to_str().expect("utf-8").to_owned();
    let o = Command::new(BIN)
        .current_dir(ROOT)
        .args(["analyze"])
        .args(INCIDENT)
        .args(["--out", &out, "--format", "jsonl"])
        .output()
        .expect("nodeauthz runs");
    assert_eq!(o.status.code(), Some(0));
    std::fs::write(&first.jsonl, &o.stdout).expect("write jsonl");
    check_parquet(
        "requests",
        "none",
        &first.out.join("requests.parquet"),
        &first.jsonl,
    );
    assert_only_outputs(&first.out, &["requests.parquet".into()]);
}
