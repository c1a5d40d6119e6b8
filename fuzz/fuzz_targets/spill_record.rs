//! Arbitrary bytes as a spill record: decoding never panics, and whatever decodes encodes back
//! to the same bytes (the encoding has one form per record).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::spill::{decode, encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = decode(data) {
        let mut again = Vec::new();
        encode(&r, &mut again);
        assert_eq!(again, data);
    }
});
