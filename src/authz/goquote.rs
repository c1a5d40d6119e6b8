//! Go's `%q` verb (`strconv.Quote`) for strings, because the apiserver builds many of the
//! messages the model must reproduce byte for byte with it.

use std::fmt::Write;

/// Quotes `s` as Go's `fmt.Sprintf("%q", s)` does: double quotes, backslash escapes for `"`
/// and `\`, the C escapes `\a \b \f \n \r \t \v`, `\xNN` for other ASCII controls, and
/// `\uNNNN` / `\UNNNNNNNN` for non-printable Unicode.
///
/// Go's `IsPrint` is approximated by "not a control character and not a space other than
/// U+0020", which agrees with it on every character a Kubernetes name can contain.
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
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
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

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("system:node:"), r#""system:node:""#);
        assert_eq!(go_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(go_quote("a\nb\tc\u{1}"), r#""a\nb\tc\x01""#);
        assert_eq!(go_quote("\u{85}\u{a0}é"), "\"\\u0085\\u00a0é\"");
    }
}
