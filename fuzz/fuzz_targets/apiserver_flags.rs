//! Arbitrary text as `--apiserver-flags` and as a kube-apiserver manifest: nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::apiserver::{parse_flags, parse_manifest};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = parse_flags(&s);
    let _ = parse_manifest(&s, "fuzz.yaml");
});
