//! Arbitrary bytes as a spill record: decoding never panics, whatever decodes encodes back to
//! the same bytes (the encoding has one form per record), a decode for deciding accepts the
//! same bytes and gives the same record without the fields it leaves out, so does a decode for
//! the inventory with what it keeps, and the request handed on encoded tells the record's
//! auditID, stage and place without decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::record::KubeletRequest;
use nodeauthz::spill::{decode, decode_fields, encode, EncodedRequest, Fields};

fuzz_target!(|data: &[u8]| {
    let lean = decode_fields(data, Fields::ForDeciding);
    let counted = decode_fields(data, Fields::ForInventory);
    let full = decode(data);
    assert_eq!(lean.is_ok(), full.is_ok());
    assert_eq!(counted.is_ok(), full.is_ok());
    if let (Ok(r), Ok(c)) = (&full, &counted) {
        let name = |u: Option<&nodeauthz::record::UserInfo>| u.map(|u| u.username.clone());
        assert_eq!(c.verb, r.verb);
        assert_eq!(c.uri.path, r.uri.path);
        assert_eq!(name(Some(&c.user)), name(Some(&r.user)));
        assert_eq!(
            name(c.impersonated_user.as_ref()),
            name(r.impersonated_user.as_ref())
        );
        assert_eq!(
            (c.matched_by, c.response_code, &c.decision, &c.reason),
            (r.matched_by, r.response_code, &r.decision, &r.reason)
        );
        assert_eq!((c.stage, c.pos), (r.stage, r.pos));
    }
    if let Ok(r) = full {
        let without = KubeletRequest {
            level: Default::default(),
            object_ref: None,
            response_reason: Default::default(),
            response_message: Default::default(),
            ..r.clone()
        };
        assert_eq!(lean, Ok(without));
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
