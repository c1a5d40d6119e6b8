//! Go string literals as `%q` and `strconv.Quote` print them, and the HTML sanitizing the
//! apiserver applies to the inner part of a Forbidden message.
//!
//! Both quoting layers show up in kubelet logs: the apiserver quotes user names, resources and
//! namespaces with `%q`, and structured klog quotes whole error values again (`err="nodes
//! \"node1\" is forbidden: ..."`).

use std::borrow::Cow;

use nom::error::{Error, ErrorKind};
use nom::IResult;

/// Parses one Go double-quoted string literal at the start of `input` and returns its value.
///
/// Accepts every escape `strconv.Quote` can emit (`\a \b \f \n \r \t \v \\ \" \'`, `\xHH`,
/// `\uHHHH`, `\UHHHHHHHH`, three-digit octal). Bytes that do not form UTF-8 (from `\x`) are
/// replaced, as a lossy conversion, so the value is always a `String`.
pub(crate) fn go_quoted(input: &str) -> IResult<&str, String> {
    let fail = |kind| Err(nom::Err::Error(Error::new(input, kind)));
    let Some(body) = input.strip_prefix('"') else {
        return fail(ErrorKind::Char);
    };
    let bytes = body.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len().min(64));
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                let value = match String::from_utf8(out) {
                    Ok(s) => s,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                };
                // `i` indexes an ASCII quote, so `i + 1` is a char boundary.
                return Ok((body.get(i + 1..).unwrap_or(""), value));
            }
            b'\\' => {
                let Some(consumed) = escape(bytes.get(i + 1..).unwrap_or(&[]), &mut out) else {
                    return fail(ErrorKind::Escaped);
                };
                i += 1 + consumed;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    fail(ErrorKind::Eof)
}

/// Decodes the escape after a backslash into `out`; returns how many bytes it used.
fn escape(after: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let first = *after.first()?;
    let simple = match first {
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(0x0b),
        b'\\' | b'"' | b'\'' => Some(first),
        _ => None,
    };
    if let Some(byte) = simple {
        out.push(byte);
        return Some(1);
    }
    match first {
        b'x' => {
            out.push(u8::try_from(hex(after.get(1..3)?)?).ok()?);
            Some(3)
        }
        b'u' | b'U' => {
            let width = if first == b'u' { 4 } else { 8 };
            let c = char::from_u32(hex(after.get(1..1 + width)?)?)?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            Some(1 + width)
        }
        b'0'..=b'7' => {
            let digits = after.get(0..3)?;
            let mut value: u32 = 0;
            for &d in digits {
                if !(b'0'..=b'7').contains(&d) {
                    return None;
                }
                value = value * 8 + u32::from(d - b'0');
            }
            out.push(u8::try_from(value).ok()?);
            Some(3)
        }
        _ => None,
    }
}

fn hex(digits: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(digits).ok()?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Reverses the apiserver's sanitizer (`&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`) in one
/// left-to-right pass, so `&amp;lt;` becomes `&lt;` and not `<`.
pub(crate) fn html_unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(rest.get(..pos).unwrap_or(""));
        let tail = rest.get(pos..).unwrap_or("");
        let (text, len) = if tail.starts_with("&amp;") {
            ("&", 5)
        } else if tail.starts_with("&lt;") {
            ("<", 4)
        } else if tail.starts_with("&gt;") {
            (">", 4)
        } else {
            ("&", 1)
        };
        out.push_str(text);
        rest = tail.get(len..).unwrap_or("");
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Removes one level of Go quoting from text that is not itself a complete literal (`\"` →
/// `"`, `\\` → `\`). Used as a fallback when an error was embedded with `%q` inside free text.
pub(crate) fn unescape_once(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quoted_decodes_every_escape_form() {
        let (rest, v) = go_quoted(r#""a\"b\\c\n\t\x41\u00e9\U0001F600\101" tail"#).unwrap();
        assert_eq!(v, "a\"b\\c\n\tAé😀A");
        assert_eq!(rest, " tail");
    }

    #[test]
    fn go_quoted_rejects_unterminated_and_bad_escapes() {
        assert!(go_quoted(r#""abc"#).is_err());
        assert!(go_quoted(r#""a\q""#).is_err());
        assert!(go_quoted(r#""a\x4""#).is_err());
        assert!(go_quoted("abc").is_err());
    }

    #[test]
    fn go_quoted_keeps_invalid_utf8_lossy() {
        let (_, v) = go_quoted(r#""\xff""#).unwrap();
        assert_eq!(v, "\u{fffd}");
    }

    #[test]
    fn html_unescape_is_single_pass() {
        assert_eq!(html_unescape("a&amp;lt;b &lt;c&gt; &x"), "a&lt;b <c> &x");
        assert!(matches!(html_unescape("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn unescape_once_removes_one_level() {
        assert_eq!(
            unescape_once(r#"nodes \"n\" a\\b \q"#),
            r#"nodes "n" a\b \q"#
        );
    }
}
