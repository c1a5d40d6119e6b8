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

    /// Byte sequences that are no UTF-8, each of a kind the check must catch: a stray
    /// continuation byte, an overlong form, a surrogate, a code point past U+10FFFF, a byte
    /// that never occurs, and a character cut short.
    const BAD: [&[u8]; 6] = [
        b"\x80",
        b"\xc0\x80",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\xff",
        b"\xe2\x82",
    ];

    #[test]
    fn text_that_is_not_utf8_says_where_it_stops() {
        // Longer than 64 bytes, which simdutf8 checks with SIMD (shorter text goes to std).
        let line = format!(
            "{{\"requestURI\":\"/api/v1/{}\",\"user\":\"\u{e9}\"}}",
            "x".repeat(80)
        );
        assert_eq!(utf8(line.as_bytes()), Ok(line.as_str()));
        for bad in BAD {
            let mut bytes = line.clone().into_bytes();
            bytes.splice(70..70, bad.iter().copied());
            let e = utf8(&bytes).unwrap_err();
            assert_eq!(e.valid_up_to(), 70, "{bad:?}");
            assert_eq!(Err(e), std::str::from_utf8(&bytes), "{bad:?}");
        }
        // A character cut at the very end: no error length, as std says.
        let mut cut = line.into_bytes();
        cut.extend_from_slice(b"\xe2\x82");
        assert_eq!(utf8(&cut).unwrap_err().error_len(), None);
    }

    proptest! {
        /// The fast check accepts and refuses what std does, with std's error, for text of
        /// any characters with a bad sequence anywhere (at the 64-byte blocks' edges too).
        #[test]
        fn utf8_agrees_with_std(text in "\\PC{0,200}", bad in 0..BAD.len(), at in 0usize..1000,
                                bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(utf8(text.as_bytes()), Ok(text.as_str()));
            let mut damaged = text.clone().into_bytes();
            // A character boundary, so that only the inserted bytes are bad.
            let boundaries = text.chars().count() + 1;
            let at = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .nth(at % boundaries)
                .unwrap_or(0);
            damaged.splice(at..at, BAD[bad].iter().copied());
            prop_assert_eq!(utf8(&damaged), std::str::from_utf8(&damaged));
            prop_assert!(utf8(&damaged).is_err());
            prop_assert_eq!(utf8(&bytes), std::str::from_utf8(&bytes));
        }
    }
}
