//! Every hand-made fixture in `fixtures/formats/` (one per input format) and `fixtures/bad/`
//! (one per kind of bad input, and broken pretty-printed documents, plain and gzip) goes
//! through the binary and must give exactly the counts in the `<fixture>.expected.json` next
//! to it, with and without the pre-filter, and with plain files read as streams instead of
//! memory-mapped (`--no-mmap`).
//!
//! The fixtures are written by `fixtures/formats/generate.py`, whose comments say what each
//! holds; the expected counts were worked out by hand from those descriptions.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn run(input: &Path, extra: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_nodeauthz"))
        .arg("analyze")
        .arg(input)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("run nodeauthz");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {}",
            input.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn basename(p: &Value) -> String {
    p.as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string()
}

fn counts(v: &Value) -> Value {
    let m = v.as_object().cloned().unwrap_or_default();
    m.into_iter()
        .map(|(k, c)| {
            (
                k,
                serde_json::json!([
                    c["requests"],
                    c["allowed"],
                    c["forbidden"],
                    c["no_response"]
                ]),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn check(input: &Path, want: &Value) {
    let runs: [&[&str]; 3] = [&[], &["--no-prefilter"], &["--no-mmap"]];
    // What every run says of the inputs, but whether each was mapped: the same in all three;
    // and the whole report of a streamed read the same as the mapped one's.
    let mut inputs_seen: Option<Value> = None;
    let mut mapped_report: Option<Value> = None;
    for extra in runs {
        let no_prefilter = extra.contains(&"--no-prefilter");
        let (code, got) = run(input, extra);
        let ctx = format!("{} {extra:?}\n{got:#}", input.display());
        assert_eq!(code, want["exit_code"], "exit code of {ctx}");
        for key in [
            "lines",
            "bad_lines",
            "events",
            "requests",
            "kubelet_events",
            "kubelet_requests",
        ] {
            assert_eq!(got[key], want[key], "{key} of {ctx}");
        }
        let split = if no_prefilter {
            &want["no_prefilter"]
        } else {
            want
        };
        assert_eq!(
            got["lines_used"], split["lines_used"],
            "lines_used of {ctx}"
        );
        assert_eq!(
            got["lines_skipped"], split["lines_skipped"],
            "lines_skipped of {ctx}"
        );
        assert_eq!(
            got["bad"]["counts"], want["bad_counts"],
            "bad counts of {ctx}"
        );
        let examples: Vec<Value> = got["bad"]["examples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| serde_json::json!([basename(&e["file"]), e["line"], e["kind"]]))
            .collect();
        assert_eq!(
            Value::from(examples),
            want["bad_examples"],
            "bad examples of {ctx}"
        );
        assert_eq!(counts(&got["nodes"]), want["nodes"], "nodes of {ctx}");
        assert_eq!(
            counts(&got["other_kubelet_identities"]),
            want["other_kubelet_identities"],
            "other identities of {ctx}"
        );
        if let Some(order) = want.get("inputs") {
            let got_order: Vec<Value> = got["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| basename(&i["path"]).into())
                .collect();
            assert_eq!(&Value::from(got_order), order, "input order of {ctx}");
        }
        let mut inputs = got["inputs"].clone();
        for i in inputs.as_array_mut().unwrap() {
            i.as_object_mut().unwrap().remove("mapped");
        }
        match &inputs_seen {
            None => inputs_seen = Some(inputs.clone()),
            Some(seen) => assert_eq!(&inputs, seen, "inputs of {ctx}"),
        }
        let mut report = got.clone();
        report["inputs"] = inputs;
        if extra.is_empty() {
            mapped_report = Some(report);
        } else if extra.contains(&"--no-mmap") {
            assert_eq!(
                Some(&report),
                mapped_report.as_ref(),
                "whole report of {ctx}"
            );
        }
        for i in got["inputs"].as_array().unwrap() {
            let path = i["path"].as_str().unwrap();
            let plain = !path.ends_with(".gz") && !path.ends_with(".zst");
            // An empty file has nothing to map, and is read as an empty stream.
            let empty = i["bytes"] == 0;
            let mapped = plain && !empty && !extra.contains(&"--no-mmap");
            assert_eq!(i["mapped"], mapped, "{path} mapped, in {ctx}");
        }
        let lines = got["lines"].as_u64().unwrap();
        let parts = got["lines_used"].as_u64().unwrap()
            + got["lines_skipped"].as_u64().unwrap()
            + got["bad_lines"].as_u64().unwrap();
        assert_eq!(parts, lines, "lines read = used + skipped + bad in {ctx}");
    }
}

fn fixtures(dir: &str) -> Vec<(PathBuf, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(dir);
    let mut out: Vec<(PathBuf, Value)> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p
                .file_name()?
                .to_str()?
                .strip_suffix(".expected.json")?
                .to_string();
            let want = serde_json::from_str(&std::fs::read_to_string(&p).ok()?).ok()?;
            Some((dir.join(name), want))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_format_fixture_gives_its_expected_counts() {
    let all = fixtures("formats");
    assert_eq!(
        all.len(),
        13,
        "one fixture per format, and two behind a byte order mark"
    );
    for (input, want) in all {
        check(&input, &want);
    }
}

#[test]
fn every_bad_fixture_gives_its_expected_counts() {
    let all = fixtures("bad");
    assert_eq!(
        all.len(),
        16,
        "one fixture per bad-input kind, and broken pretty-printed documents mapped and streamed, a NUL hole, and a byte order mark alone"
    );
    for (input, want) in all {
        check(&input, &want);
    }
}
