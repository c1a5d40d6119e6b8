//! Arbitrary text as a kubelet log and as a Forbidden message (the nom parsers of klog headers,
//! journalctl prefixes, Go-quoted values and the apiserver's message forms): nothing may panic,
//! and every parsed refusal must turn into authorizer attributes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::kubelet_log::{parse_forbidden_message, parse_kubelet_log};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let report = parse_kubelet_log(&s);
    for d in &report.denied {
        let _ = d.attributes();
    }
    let _ = parse_forbidden_message(&s);
});
