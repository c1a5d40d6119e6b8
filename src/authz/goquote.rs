//! Go's `%q` verb (`strconv.Quote`) for strings, because the apiserver builds many of the
//! messages the model must reproduce byte for byte with it.

use std::fmt::Write;

/// Quotes `s` as Go's `fmt.Sprintf("%q", s)` does: double quotes, backslash escapes for `"`
/// and `\`, the C escapes `\a \b \f \n \r \t \v`, `\xNN` for other ASCII controls, and
/// `\uNNNN` / `\UNNNNNNNN` for non-printable Unicode.
///
/// Go's `IsPrint` (letters, marks, numbers, punctuation, symbols and U+0020) is approximated
/// by "not a control, format (Cf) or private-use character and not a space other than
/// U+0020". Only unassigned code points, which need Unicode tables, may still differ.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_go_quoted(&mut out, s);
    out
}

/// Appends `go_quote(s)` to `out` without an intermediate allocation.
pub fn push_go_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0B}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || (c.is_whitespace() && c != ' ') || is_format_or_private(c) => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Unicode general categories Cf (format) and Co (private use), which Go's `IsPrint` rejects
/// and Rust's `char::is_control` does not cover (Unicode 15, as Go 1.21+).
fn is_format_or_private(c: char) -> bool {
    matches!(c as u32,
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x0890..=0x0891
        | 0x08E2
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F
        | 0xE000..=0xF8FF
        | 0xF0000..=0xFFFFD
        | 0x100000..=0x10FFFD)
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("system:node:"), r#""system:node:""#);
        assert_eq!(go_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(go_quote("a\nb\tc\u{1}"), r#""a\nb\tc\x01""#);
        assert_eq!(go_quote("\u{85}\u{a0}é"), "\"\\u0085\\u00a0é\"");
        // Format and private-use characters are not printable for Go (strconv.Quote).
        assert_eq!(go_quote("a\u{200b}b\u{feff}"), "\"a\\u200bb\\ufeff\"");
        assert_eq!(go_quote("\u{e000}\u{e0041}"), "\"\\ue000\\U000e0041\"");
        assert_eq!(go_quote("日本"), "\"日本\"");
    }
}
