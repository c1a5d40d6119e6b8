//! Properties of the shell-like flag splitter behind `--apiserver-flags`.

use nodeauthz::apiserver::{parse_flags, split_words};
use proptest::prelude::*;

/// POSIX single-quoting: `'` becomes `'\''`.
fn single_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Double-quoting: `"`, `\`, `$` and `` ` `` are backslash-escaped.
fn double_quote(word: &str) -> String {
    let mut out = String::from("\"");
    for c in word.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

proptest! {
    #[test]
    fn quoted_words_round_trip(
        words in proptest::collection::vec("[ -~\t\né]{0,12}", 0..8),
        style in proptest::collection::vec(0u8..2, 8),
        separators in proptest::collection::vec(prop_oneof![Just(" "), Just("\t"), Just(" \\\n  "), Just("\n")], 8),
    ) {
        let mut line = String::new();
        for (k, w) in words.iter().enumerate() {
            let quoted = if style[k] == 0 { single_quote(w) } else { double_quote(w) };
            line.push_str(&quoted);
            line.push_str(separators[k]);
        }
        prop_assert_eq!(split_words(&line).unwrap(), words);
    }

    #[test]
    fn arbitrary_flag_strings_never_panic(s in "\\PC*") {
        let _ = parse_flags(&s);
    }

    #[test]
    fn flag_soup_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("--authorization-mode"), Just("="), Just(" "), Just("'"), Just("\""), Just("\\"),
        Just("\n"), Just("--"), Just("-"), Just("Node,RBAC"), Just("--feature-gates"),
        Just("A=true"), Just("é"), Just("--authorization-config"),
    ], 0..30)) {
        let s: String = parts.concat();
        if let Ok(c) = parse_flags(&s) {
            if c.authorization_modes_defaulted {
                prop_assert_eq!(c.authorization_modes, ["AlwaysAllow"]);
            } else if c.authorization_modes.is_empty() {
                // No modes is never silent: structured config or an empty flag is explained.
                prop_assert!(!c.notes.is_empty());
            }
        }
    }
}
