//! The deduplication window (`ScanOptions::dedup_window`, `--dedup-window`) on the incident
//! log cut into one-line chunks, so that no chunk's own deduplication pairs a request's
//! events first: a window wide enough counts every request once, a window of one request
//! counts twice the requests whose events have another request between them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use nodeauthz::input::InputSpec;
use nodeauthz::scan::{scan_collect, ScanOptions};

fn incident_with_window(window: usize) -> (u64, u64, Vec<String>) {
    let log = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/incident-1.19/audit.log");
    let opts = ScanOptions {
        chunk_size: 1,
        dedup_window: window,
        ..ScanOptions::default()
    };
    let (requests, summary) = scan_collect(&[InputSpec::Path(log)], &opts).expect("scan");
    let ids = requests.into_iter().map(|r| r.audit_id.into()).collect();
    (summary.requests, summary.kubelet_requests, ids)
}

#[test]
fn a_wide_window_counts_each_request_once() {
    for window in [5, 1 << 20] {
        let (requests, kubelet, ids) = incident_with_window(window);
        assert_eq!((requests, kubelet, ids.len()), (836, 706, 706));
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 706);
    }
}

#[test]
fn a_window_of_one_counts_interleaved_requests_twice_and_no_more() {
    let (requests, kubelet, ids) = incident_with_window(1);
    // Every row is still one of the 706 requests, some of them twice, none three times.
    let mut times: BTreeMap<&str, u32> = BTreeMap::new();
    for id in &ids {
        *times.entry(id).or_default() += 1;
    }
    assert_eq!(times.len(), 706);
    assert!(times.values().all(|&n| n <= 2), "{times:?}");
    let twice = times.values().filter(|&&n| n == 2).count();
    assert!(twice > 0);
    assert_eq!(kubelet, 706 + twice as u64);
    assert_eq!(ids.len() as u64, kubelet);
    assert!(
        requests > 836 && requests - 836 >= twice as u64,
        "{requests}"
    );
}
