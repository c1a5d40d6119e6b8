//! No input makes the reader panic: arbitrary bytes through the line processor (with and
//! without the pre-filter), the pretty-printed-document reader, the legacy-line parser, the
//! request-URI parser and the attribute resolver. (The same entry points are cargo-fuzz
//! targets in `fuzz/`; CI runs this instead.)

use nodeauthz::input::legacy::parse_legacy_line;
use nodeauthz::input::uri::{parse_field_selector, parse_request_uri, request_attributes};
use nodeauthz::record::UserInfo;
use nodeauthz::scan::chunk::{process_documents, process_lines, sniff, ChunkCtx};
use nodeauthz::scan::prefilter::Prefilter;
use proptest::prelude::*;

/// Bytes biased towards the shapes the parsers care about.
fn input() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            "\"",
            "\\",
            "\\u00",
            ":",
            ",",
            "\n",
            " AUDIT: ",
            "id=\"",
            "\"auditID\":\"x\"",
            "system:node:",
            "kubelet/",
            "\"kind\":\"EventList\",\"items\":[",
            "\"items\":",
            "%",
            "%2",
            "?",
            "&",
            "=",
            "/api/v1/",
            "/apis/g/v/",
            "namespaces/",
            "watch/",
            "proxy/",
            "fieldSelector=",
            "2020-01-01T00:00:00Z",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn line_and_document_readers_never_panic(bytes in input(), max_line in 1usize..200) {
        let p = Prefilter::new(true);
        for prefilter in [Some(&p), None] {
            let ctx = ChunkCtx {
                in_file: None,
                prefilter,
                want_object_events: true,
                max_line,
                file: 0,
            };
            let out = process_lines(&bytes, &ctx);
            let bad: u64 = out.bad.iter().map(|b| b.lines).sum();
            prop_assert_eq!(out.used + out.skipped + bad, out.lines);
            let out = process_documents(&bytes, &ctx);
            let bad: u64 = out.bad.iter().map(|b| b.lines).sum();
            prop_assert_eq!(out.used + out.skipped + bad, out.lines);
        }
        let _ = sniff(&bytes);
    }

    #[test]
    fn text_parsers_never_panic(bytes in input()) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse_legacy_line(&s);
        let _ = parse_field_selector(&s);
        let uri = parse_request_uri(&s);
        for verb in ["get", "list", "watch", "create", "deletecollection"] {
            let _ = request_attributes(verb, &uri, &UserInfo::default());
        }
    }
}
