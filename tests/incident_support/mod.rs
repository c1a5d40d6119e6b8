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
