//! Arbitrary text as a requestURI, through the URI parser, the field-selector parser and the
//! request-info resolver: nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::input::uri::{parse_field_selector, parse_request_uri, request_attributes};
use nodeauthz::record::UserInfo;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let uri = parse_request_uri(&s);
    let _ = parse_field_selector(&s);
    for verb in ["get", "list", "watch", "create", "deletecollection"] {
        let _ = request_attributes(verb, &uri, &UserInfo::default());
    }
});
