//! Arbitrary bytes as a block of audit-log lines, with and without the pre-filter, and as
//! pretty-printed JSON documents: nothing may panic, every line must be accounted for, and
//! every kubelet event a chunk hands on, and the one it replaced that it carries, must read
//! into its record (but a line the pre-filter took unparsed, which may turn out bad), encoded
//! so that it decodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::scan::chunk::{process_documents, process_lines, ChunkCtx};
use nodeauthz::scan::prefilter::Prefilter;

fuzz_target!(|data: &[u8]| {
    let p = Prefilter::new(true);
    for prefilter in [Some(&p), None] {
        let ctx = ChunkCtx {
            in_file: None,
            prefilter,
            want_object_events: true,
            max_line: 1 << 16,
            file: 0,
        };
        for out in [process_lines(data, &ctx), process_documents(data, &ctx)] {
            let bad: u64 = out.bad.iter().map(|b| b.lines).sum();
            assert_eq!(out.used + out.skipped + bad, out.lines);
            for mut k in out.kubelet {
                // The event a line taken unparsed replaced reads alike.
                let fallback = k.take_fallback();
                for k in std::iter::once(k).chain(fallback) {
                    let unread = k.is_unread();
                    match k.into_record() {
                        // Encoded straight from its event, it decodes (and, built with debug
                        // assertions, `cargo fuzz -a`, decodes to the record built field by
                        // field).
                        Ok(encoded) => assert!(encoded.decode().is_ok()),
                        Err(_) => assert!(unread),
                    }
                }
            }
        }
    }
});
