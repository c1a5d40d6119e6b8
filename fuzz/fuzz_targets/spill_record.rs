//! Arbitrary bytes as a spill record: decoding never panics, whatever decodes encodes back to
//! the same bytes (the encoding has one form per record), and the request handed on encoded
//! tells the record's auditID, stage and place without decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::spill::{decode, encode, EncodedRequest};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = decode(data) {
        let mut again = Vec::new();
        encode(&r, &mut again);
        assert_eq!(again, data);
        let mut encoded = EncodedRequest::new(&r);
        assert_eq!(encoded.audit_id(), r.audit_id.as_str());
        assert_eq!(encoded.stage(), r.stage);
        assert_eq!(encoded.pos(), r.pos);
        encoded.shift_line(3);
        let mut moved = r;
        moved.pos.line = moved.pos.line.saturating_add(3);
        assert_eq!(encoded.pos(), moved.pos);
        assert_eq!(encoded.decode(), Ok(moved));
    }
});
