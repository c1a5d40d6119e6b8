//! Arbitrary text as a legacy (`--audit-log-format=legacy`) line: nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::input::legacy::parse_legacy_line;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = parse_legacy_line(s);
    }
});
