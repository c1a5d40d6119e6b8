//! Turning inputs (files, directories, gzip, stdin) into audit events.
//!
//! `source` finds and opens inputs and hands out their bytes; `event` (JSON `Event` and
//! `EventList`) and `legacy` (the text format) parse one record; `uri` parses request URIs and
//! recomputes authorizer attributes; `time` parses timestamps.

pub mod event;
pub mod fast_event;
#[cfg(nodeauthz_isal)]
pub mod isal;
pub mod legacy;
pub mod source;
pub mod time;
pub mod uri;

pub use source::{InputSpec, Source, SourceKind};

/// `bytes` as text, or std's error, which says where the text stops being UTF-8. The check is
/// simdutf8's, several times std's speed on the long ASCII lines of audit logs; only bytes
/// that fail it are checked again, by std, for the error's position.
pub fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    simdutf8::basic::from_utf8(bytes).or_else(|_| std::str::from_utf8(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_that_is_not_utf8_says_where_it_stops() {
        assert_eq!(utf8(b"{\"a\":\"\xc3\xa9\"}"), Ok("{\"a\":\"\u{e9}\"}"));
        let e = utf8(b"abc\xffdef").unwrap_err();
        assert_eq!((e.valid_up_to(), e.error_len()), (3, Some(1)));
        // A character cut at the end: no error length, as std says.
        let e = utf8(b"ab\xe2\x82").unwrap_err();
        assert_eq!((e.valid_up_to(), e.error_len()), (2, None));
    }

    proptest! {
        /// The fast check accepts and refuses what std does, with std's error.
        #[test]
        fn utf8_agrees_with_std(bytes in proptest::collection::vec(any::<u8>(), 0..200),
                                text in ".{0,80}") {
            prop_assert_eq!(utf8(&bytes), std::str::from_utf8(&bytes));
            // Long valid text (and one bad byte after it) goes through the SIMD blocks.
            let mut long = text.repeat(3).into_bytes();
            prop_assert_eq!(utf8(&long), std::str::from_utf8(&long));
            long.push(0x80);
            prop_assert_eq!(utf8(&long), std::str::from_utf8(&long));
        }
    }
}
