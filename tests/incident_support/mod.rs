//! Shared by the `incident_*` and `explain_*` tests: run the built binary, read fixtures.
//!
//! Each test file compiles its own copy of this module and uses part of it.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A path under the crate's `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// The same, as a string argument.
pub fn arg(rel: &str) -> String {
    fixture(rel).display().to_string()
}

/// Runs `nodeauthz` with `args`, feeding `stdin` if given.
pub fn run(args: &[String], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nodeauthz"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nodeauthz");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(bytes).expect("write stdin");
    }
    child.wait_with_output().expect("wait for nodeauthz")
}

/// Runs `nodeauthz`, requires exit code 0, returns stdout.
pub fn stdout_ok(args: &[String], stdin: Option<&[u8]>) -> String {
    let out = run(args, stdin);
    assert!(
        out.status.success(),
        "nodeauthz {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs `nodeauthz`, requires exit code 0 and JSON on stdout.
pub fn json_ok(args: &[String], stdin: Option<&[u8]>) -> serde_json::Value {
    let text = stdout_ok(args, stdin);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{text}"))
}

/// `&str`s to owned arguments.
pub fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// The phase boundaries of `fixtures/incident-phases/phases.json`, as written there.
pub struct Phases {
    pub start: String,
    pub binding_added: String,
    pub apiserver_stopped: String,
    pub apiserver_started: String,
    pub end: String,
}

/// Reads `phases.json`.
pub fn phases() -> Phases {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("incident-phases/phases.json")).expect("phases.json"),
    )
    .expect("phases.json is JSON");
    let get = |k: &str| v[k].as_str().expect(k).to_string();
    Phases {
        start: get("start"),
        binding_added: get("binding_added"),
        apiserver_stopped: get("apiserver_stopped"),
        apiserver_started: get("apiserver_started"),
        end: get("end"),
    }
}

/// One kubelet request of the incident's audit log, read without the tool's reader: the events
/// of a `system:node:*` user grouped by auditID.
#[derive(Debug, Clone)]
pub struct Logged {
    pub node: String,
    pub verb: String,
    pub resource: String,
    /// `requestReceivedTimestamp`, UTC microseconds.
    pub at: i64,
    /// The `authorization.k8s.io/decision` annotation (`allow` / `forbid`).
    pub decision: String,
    pub reason: String,
    /// `responseStatus.code` of the last stage that has one.
    pub code: u64,
}

/// RFC 3339 to UTC microseconds.
pub fn micros(s: &str) -> i64 {
    nodeauthz::input::time::parse_rfc3339_micros(s).unwrap_or_else(|| panic!("time {s:?}"))
}

/// Every kubelet request of `fixtures/incident-phases/audit.log`, in log order.
pub fn incident_kubelet_requests() -> Vec<Logged> {
    let text = std::fs::read_to_string(fixture("incident-phases/audit.log")).expect("audit.log");
    let mut order: Vec<String> = Vec::new();
    let mut by_id: std::collections::HashMap<String, Logged> = std::collections::HashMap::new();
    for line in text.lines() {
        let e: serde_json::Value = serde_json::from_str(line).expect("audit line is JSON");
        let Some(node) = e["user"]["username"]
            .as_str()
            .and_then(|u| u.strip_prefix("system:node:"))
        else {
            continue;
        };
        let id = e["auditID"].as_str().expect("auditID").to_string();
        let entry = by_id.entry(id.clone()).or_insert_with(|| {
            order.push(id);
            Logged {
                node: node.to_string(),
                verb: e["verb"].as_str().unwrap_or("").to_string(),
                resource: e["objectRef"]["resource"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                at: micros(e["requestReceivedTimestamp"].as_str().expect("received")),
                decision: String::new(),
                reason: String::new(),
                code: 0,
            }
        });
        let annotations = &e["annotations"];
        if let Some(d) = annotations["authorization.k8s.io/decision"].as_str() {
            entry.decision = d.to_string();
            entry.reason = annotations["authorization.k8s.io/reason"]
                .as_str()
                .unwrap_or("")
                .to_string();
        }
        if let Some(c) = e["responseStatus"]["code"].as_u64() {
            entry.code = c;
        }
    }
    order
        .iter()
        .filter_map(|id| by_id.get(id).cloned())
        .collect()
}
