//! `ScanOptions::want_requests: false` (the first pass of `analyze`, which only wants object
//! events) must find exactly the object events and time spans of a full scan, count the same
//! lines, events and requests, and hand nothing to the sink, on every fixture and shipped
//! real log.

use std::path::{Path, PathBuf};

use nodeauthz::input::InputSpec;
use nodeauthz::scan::{scan, scan_collect, ScanOptions};

fn logs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            logs(&p, out);
        } else if nodeauthz::input::source::is_log_name(
            &p.file_name().unwrap_or_default().to_string_lossy(),
        ) {
            out.push(p);
        }
    }
}

#[test]
fn objects_only_pass_matches_a_full_scan() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    logs(&root.join("fixtures"), &mut files);
    logs(&root.join("../shared/real-logs"), &mut files);
    assert!(files.len() >= 10, "found only {} logs", files.len());
    let mut with_objects = 0;
    for f in &files {
        let input = [InputSpec::Path(f.clone())];
        let full = ScanOptions {
            threads: 1,
            ..ScanOptions::default()
        };
        for chunk_size in [1 << 20, 700] {
            let (_, a) = scan_collect(
                &input,
                &ScanOptions {
                    chunk_size,
                    ..full.clone()
                },
            )
            .unwrap();
            let mut handed = 0;
            let b = scan(
                &input,
                &ScanOptions {
                    want_requests: false,
                    chunk_size,
                    ..full.clone()
                },
                &mut |batch| handed += batch.len(),
            )
            .unwrap();
            let name = f.display();
            assert_eq!(handed, 0, "{name}");
            assert_eq!((b.kubelet_events, b.kubelet_requests), (0, 0), "{name}");
            assert_eq!(a.object_events, b.object_events, "{name}");
            assert_eq!(a.inputs, b.inputs, "{name}: inputs, time spans");
            assert_eq!(
                (a.lines_read, a.events, a.requests),
                (b.lines_read, b.events, b.requests),
                "{name}"
            );
            // Kubelet lines move from used to skipped; a line is never lost.
            assert_eq!(
                b.lines_used + b.lines_skipped + b.lines_bad,
                b.lines_read,
                "{name}"
            );
            assert!(b.lines_used <= a.lines_used, "{name}");
            with_objects += usize::from(!b.object_events.is_empty());
        }
    }
    // The check means something only if some logs hold graph changes.
    assert!(with_objects >= 4, "{with_objects}");
}
