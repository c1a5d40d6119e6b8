//! Many pieces of one input in flight at once (small chunks, several workers): results are
//! merged in input order, and a `--strict` stop in the middle reports the first bad line and
//! returns, for a mapped file and for a gzip stream alike.

use std::io::Write;
use std::path::{Path, PathBuf};

use nodeauthz::input::InputSpec;
use nodeauthz::scan::{scan_collect, BadKind, ScanError, ScanOptions};

const LINES: usize = 3000;
const BAD_LINE: u64 = 2000;

/// A log of `LINES` kubelet lease renewals, one per line, with line `BAD_LINE` cut short.
fn log() -> String {
    (1..=LINES as u64)
        .map(|n| {
            if n == BAD_LINE {
                return r#"{"kind":"Event","auditID":"cut"#.to_string();
            }
            format!(
                concat!(
                    r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","#,
                    r#""auditID":"id-{n}","stage":"ResponseComplete","#,
                    r#""requestURI":"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1","#,
                    r#""verb":"update","user":{{"username":"system:node:node1","groups":["system:nodes"]}},"#,
                    r#""objectRef":{{"resource":"leases","namespace":"kube-node-lease","name":"node1","#,
                    r#""apiGroup":"coordination.k8s.io","apiVersion":"v1"}},"responseStatus":{{"code":200}},"#,
                    r#""requestReceivedTimestamp":"2026-11-02T08:00:00.{n:06}Z","#,
                    r#""stageTimestamp":"2026-11-02T08:00:00.{n:06}Z"}}"#
                ),
                n = n
            )
        })
        .map(|l| l + "\n")
        .collect()
}

fn inputs(dir: &Path) -> [PathBuf; 2] {
    let text = log();
    let plain = dir.join("audit.log");
    std::fs::write(&plain, &text).unwrap();
    let gz = dir.join("audit.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    [plain, gz]
}

fn options(strict: bool) -> ScanOptions {
    ScanOptions {
        threads: 3,
        // About 3,600 pieces of the 2.4 MB log.
        chunk_size: 700,
        strict,
        ..ScanOptions::default()
    }
}

#[test]
fn pieces_are_merged_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    for input in inputs(dir.path()) {
        let name = input.display().to_string();
        let (requests, summary) = scan_collect(&[InputSpec::Path(input)], &options(false)).unwrap();
        assert_eq!(requests.len(), LINES - 1, "{name}");
        let lines: Vec<u64> = requests.iter().map(|r| r.pos.line).collect();
        let want: Vec<u64> = (1..=LINES as u64).filter(|&n| n != BAD_LINE).collect();
        assert_eq!(lines, want, "{name}");
        assert!(
            requests
                .iter()
                .all(|r| r.audit_id == format!("id-{}", r.pos.line)),
            "{name}"
        );
        assert_eq!(summary.lines_read, LINES as u64, "{name}");
        assert_eq!(summary.lines_bad, 1, "{name}");
        let bad: Vec<(BadKind, u64)> = summary
            .bad
            .examples
            .iter()
            .map(|b| (b.kind, b.line))
            .collect();
        assert_eq!(bad, [(BadKind::MalformedJson, BAD_LINE)], "{name}");
    }
}

#[test]
fn strict_stops_at_the_bad_line_with_pieces_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    for input in inputs(dir.path()) {
        let name = input.display().to_string();
        match scan_collect(&[InputSpec::Path(input)], &options(true)) {
            Err(ScanError::Strict {
                kind, file, line, ..
            }) => {
                assert_eq!((kind, line), (BadKind::MalformedJson, BAD_LINE), "{name}");
                assert_eq!(file, name);
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}
