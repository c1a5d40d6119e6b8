//! Running the `nodeauthz` binary and reading its JSON output: shared by the `analyze_*` tests.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_nodeauthz");
/// The repository root, where fixture paths start.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs the binary in the repository root.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(ROOT)
        .args(args)
        .output()
        .expect("nodeauthz runs")
}

/// `analyze` of the 1.19 incident with its cluster dump, plus `extra` arguments.
pub fn incident(extra: &[&str]) -> Output {
    let mut args = vec![
        "analyze",
        "fixtures/incident-1.19/audit.log",
        "--objects",
        "fixtures/incident-1.19/objects.json",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// What the 1.19 incident's inventory must count (`fixtures/incident-1.19/expected.json`).
pub fn incident_expected() -> Value {
    let path = format!("{ROOT}/fixtures/incident-1.19/expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The one JSON document a successful run printed.
pub fn ok_json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("stdout is one JSON document")
}

/// The JSON lines a successful run printed; every line must be one (no blank lines).
pub fn ok_rows(o: &Output) -> Vec<Value> {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl line is JSON"))
        .collect()
}

/// Every non-blank line of `text`, parsed.
pub fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("every jsonl line is JSON"))
        .collect()
}

/// The string at a dotted `path`; panics when it is not a string.
pub fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    path.split('.')
        .fold(v, |v, k| &v[k])
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string in {v}"))
}

/// A map of counts from pairs, to compare with.
pub fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}
