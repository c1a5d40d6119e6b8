//! `ScanOptions::want_requests: false` (the scan of the `graph` command, which only wants
//! object events) must find exactly the object events of a full scan and hand nothing to the sink, on
//! every fixture and shipped real log; on logs without bad lines also the same time spans and
//! counts of lines, events and requests. (Kubelet lines are then skipped unvalidated, like
//! every skipped line: a bad kubelet line counts as an event there, and only the full scan
//! reports it.)
//!
//! `ScanOptions::keep_object_events: false` (the read of `analyze --inventory-only`) must
//! count exactly what a full scan counts, hand the sink the same requests, and keep no object
//! event.

#[path = "support/files.rs"]
mod files;
use files::fixtures_and_real_logs;
use std::path::{Path, PathBuf};

use nodeauthz::input::InputSpec;
use nodeauthz::scan::{scan, scan_collect, ScanOptions};

/// Every fixture and shipped real log named as a log.
fn logs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files: Vec<PathBuf> = fixtures_and_real_logs(root)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            nodeauthz::input::source::is_log_name(&name)
        })
        .collect();
    assert!(files.len() >= 10, "found only {} logs", files.len());
    files
}

#[test]
fn objects_only_pass_matches_a_full_scan() {
    let files = logs();
    let (mut with_objects, mut with_sightings, mut clean) = (0, 0, 0);
    for f in &files {
        let input = [InputSpec::Path(f.clone())];
        let full = ScanOptions {
            threads: 1,
            ..ScanOptions::default()
        };
        for chunk_size in [1 << 20, 1 << 16] {
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
                &mut |batch| {
                    handed += batch.len();
                    std::ops::ControlFlow::Continue(())
                },
            )
            .unwrap();
            let name = f.display();
            assert_eq!(handed, 0, "{name}");
            assert_eq!((b.kubelet_events, b.kubelet_requests), (0, 0), "{name}");
            assert_eq!(a.object_events, b.object_events, "{name}");
            assert_eq!(a.pod_sightings, b.pod_sightings, "{name}");
            assert_eq!(a.lines_read, b.lines_read, "{name}");
            if a.lines_bad == 0 {
                assert_eq!(a.inputs, b.inputs, "{name}: inputs, time spans");
                assert_eq!((a.events, a.requests), (b.events, b.requests), "{name}");
                clean += 1;
            }
            // Kubelet lines move from used to skipped; a line is never lost.
            assert_eq!(
                b.lines_used + b.lines_skipped + b.lines_bad,
                b.lines_read,
                "{name}"
            );
            assert!(b.lines_used <= a.lines_used, "{name}");
            with_objects += usize::from(!b.object_events.is_empty());
            with_sightings += usize::from(!b.pod_sightings.is_empty());
        }
    }
    // The check means something only if some logs hold graph changes.
    assert!(
        with_objects >= 4 && with_sightings >= 2 && clean >= 10,
        "{with_objects} {with_sightings} {clean}"
    );
}

#[test]
fn a_read_that_keeps_no_object_event_counts_as_a_full_scan() {
    let files = logs();
    let mut with_objects = 0;
    for f in &files {
        let input = [InputSpec::Path(f.clone())];
        let full = ScanOptions {
            threads: 1,
            chunk_size: 1 << 16,
            ..ScanOptions::default()
        };
        let (a_requests, a) = scan_collect(&input, &full).unwrap();
        let (b_requests, b) = scan_collect(
            &input,
            &ScanOptions {
                keep_object_events: false,
                ..full.clone()
            },
        )
        .unwrap();
        let name = f.display();
        assert_eq!(a_requests, b_requests, "{name}");
        assert!(b.object_events.is_empty(), "{name}");
        assert_eq!(b.pod_sightings, Default::default(), "{name}");
        let counts = |s: &nodeauthz::scan::ScanSummary| {
            (
                s.lines_read,
                s.lines_used,
                s.lines_skipped,
                s.lines_bad,
                s.events,
                s.requests,
                s.kubelet_events,
                s.kubelet_requests,
            )
        };
        assert_eq!(counts(&a), counts(&b), "{name}");
        assert_eq!(a.inputs, b.inputs, "{name}: inputs, time spans");
        assert_eq!(a.bad, b.bad, "{name}: bad lines");
        with_objects += usize::from(!a.object_events.is_empty());
    }
    assert!(with_objects >= 4, "{with_objects}");
}
