//! One kubelet log line: the optional `journalctl` prefix, the klog header, and the texts inside
//! the message (structured klog quotes its values; JSON logging wraps them in an object).
//!
//! Formats accepted, outermost first:
//! - `journalctl` default (`Nov 02 08:00:01[.uuuuuu] node1 kubelet[1234]: `) and `-o short-iso`
//!   (`2026-11-02T08:00:01[.uuuuuu]+0000 node1 kubelet[1234]: `), a container runtime's
//!   timestamp (`docker logs -t`, CRI `… stderr F `), or no prefix at all;
//! - the klog header `Lmmdd hh:mm:ss.uuuuuu threadid file:line] ` with `L` one of `IWEF`;
//! - a structured message `"msg" key="quoted value" key=bare`, a JSON-format entry
//!   (`{"ts":…,"msg":…,"err":…}`), or free text.

use std::borrow::Cow;
use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_till1, take_while1, take_while_m_n};
use nom::character::complete::{char, digit1, one_of, space1};
use nom::combinator::{map, map_res, opt, value};
use nom::sequence::preceded;
use nom::{IResult, Parser};

use super::quoted::go_quoted;

/// A wall-clock instant as a log line prints it. klog and the default `journalctl` format carry
/// no year; `-o short-iso` does. The time zone is whatever the printer used (klog: the kubelet's
/// local time), so only differences within one log are meaningful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogTime {
    /// Only from `journalctl -o short-iso`, container runtimes and JSON entries.
    pub year: Option<u16>,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micros: u32,
}

impl LogTime {
    /// Microseconds since the start of the year, for windows within one log. The year is
    /// ignored (every year is counted as a leap year) so that lines with and without one
    /// compare: only a window across the end of February of a common year is off, by one day.
    /// A log spanning New Year is not ordered correctly.
    pub fn micros_in_year(&self) -> i64 {
        const CUMULATIVE: [i64; 12] = [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335];
        let month_index = usize::from(self.month.clamp(1, 12) - 1);
        let days = CUMULATIVE.get(month_index).copied().unwrap_or(0) + i64::from(self.day);
        let seconds = days * 86_400
            + i64::from(self.hour) * 3_600
            + i64::from(self.minute) * 60
            + i64::from(self.second);
        seconds * 1_000_000 + i64::from(self.micros)
    }
}

impl fmt::Display for LogTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(year) = self.year {
            write!(f, "{year:04}-")?;
        }
        write!(
            f,
            "{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
            self.month, self.day, self.hour, self.minute, self.second, self.micros
        )
    }
}

/// A log line split into its layers. Every part is optional: a line that is only free text has
/// just `message`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// The time of the outer prefix (`journalctl`, or a container runtime's timestamp).
    pub prefix_time: Option<LogTime>,
    /// The host name `journalctl` printed.
    pub journal_host: Option<&'a str>,
    /// `I`, `W`, `E` or `F` from the klog header.
    pub severity: Option<char>,
    pub klog_time: Option<LogTime>,
    /// `file.go:line` from the klog header.
    pub source: Option<&'a str>,
    /// What follows the prefixes: the klog message, or the whole line when nothing parsed.
    pub message: &'a str,
}

impl LogLine<'_> {
    /// True when the line starts a new log entry (it has a klog header or is a JSON entry);
    /// other lines continue the previous entry (multi-line values).
    pub fn has_header(&self) -> bool {
        self.severity.is_some() || self.message.starts_with('{')
    }

    /// The best time for the line: the klog header's (with the journal's year when it has
    /// one), else a JSON entry's `ts`, else the journal's.
    pub fn time(&self) -> Option<LogTime> {
        match (self.klog_time, self.prefix_time) {
            (Some(mut k), Some(j)) => {
                if j.month == k.month {
                    k.year = j.year;
                }
                Some(k)
            }
            (Some(k), None) => Some(k),
            (None, j) if self.message.starts_with('{') => json_time(self.message).or(j),
            (None, j) => j,
        }
    }
}

/// Splits one physical line (without its newline) into its layers. Never fails: what does not
/// parse is left in `message`.
pub fn parse_line(line: &str) -> LogLine<'_> {
    let mut out = LogLine {
        message: line,
        ..LogLine::default()
    };
    let mut rest = line;
    if let Ok((after, (time, host))) = journal_prefix(line) {
        out.prefix_time = Some(time);
        out.journal_host = Some(host);
        rest = after;
    } else if let Ok((after, time)) = container_prefix(line) {
        out.prefix_time = Some(time);
        rest = after;
    }
    if let Ok((after, (severity, time, source))) = klog_header(rest) {
        out.severity = Some(severity);
        out.klog_time = Some(time);
        out.source = Some(source);
        rest = after;
    }
    out.message = rest;
    out
}

fn number<T: std::str::FromStr>(digits: usize) -> impl FnMut(&str) -> IResult<&str, T> {
    move |i| {
        map_res(
            take_while_m_n(digits, digits, |c: char| c.is_ascii_digit()),
            str::parse,
        )
        .parse(i)
    }
}

/// `.ffffff…` to microseconds (extra digits dropped, missing ones zero).
fn fraction(i: &str) -> IResult<&str, u32> {
    let (i, digits) = opt(preceded(char('.'), digit1)).parse(i)?;
    let micros = digits.map_or(0, |d: &str| {
        let mut value = 0u32;
        for k in 0..6 {
            let digit = d.as_bytes().get(k).map_or(0, |b| u32::from(b - b'0'));
            value = value * 10 + digit;
        }
        value
    });
    Ok((i, micros))
}

fn clock(i: &str) -> IResult<&str, (u8, u8, u8, u32)> {
    let (i, (hour, _, minute, _, second, micros)) = (
        number::<u8>(2),
        char(':'),
        number::<u8>(2),
        char(':'),
        number::<u8>(2),
        fraction,
    )
        .parse(i)?;
    Ok((i, (hour, minute, second, micros)))
}

fn month_name(i: &str) -> IResult<&str, u8> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (rest, word) = take_while_m_n(3, 3, |c: char| c.is_ascii_alphabetic()).parse(i)?;
    match MONTHS.iter().position(|m| *m == word) {
        Some(k) => Ok((rest, k as u8 + 1)),
        None => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Tag,
        ))),
    }
}

/// `Nov 02 08:00:01[.uuuuuu]` (also syslog's space-padded `Nov  2`).
fn short_time(i: &str) -> IResult<&str, LogTime> {
    let (i, (month, _, day, _, (hour, minute, second, micros))) = (
        month_name,
        space1,
        map_res(
            take_while_m_n(1, 2, |c: char| c.is_ascii_digit()),
            str::parse,
        ),
        char(' '),
        clock,
    )
        .parse(i)?;
    Ok((
        i,
        LogTime {
            year: None,
            month,
            day,
            hour,
            minute,
            second,
            micros,
        },
    ))
}

/// `2026-11-02T08:00:01[.uuuuuu](+0000|+00:00|Z)`. The offset is parsed and dropped: klog's
/// own time carries none, and times are only compared within one log.
fn iso_time(i: &str) -> IResult<&str, LogTime> {
    let (i, (year, _, month, _, day, _, (hour, minute, second, micros), _)) = (
        number::<u16>(4),
        char('-'),
        number::<u8>(2),
        char('-'),
        number::<u8>(2),
        one_of("T "),
        clock,
        alt((
            value((), char('Z')),
            value(
                (),
                (
                    one_of("+-"),
                    number::<u8>(2),
                    opt(char(':')),
                    number::<u8>(2),
                ),
            ),
        )),
    )
        .parse(i)?;
    Ok((
        i,
        LogTime {
            year: Some(year),
            month,
            day,
            hour,
            minute,
            second,
            micros,
        },
    ))
}

/// `<time> <host> <ident>[<pid>]: `
fn journal_prefix(i: &str) -> IResult<&str, (LogTime, &str)> {
    let (i, (time, _, host, _, _ident, _)) = (
        alt((iso_time, short_time)),
        char(' '),
        take_till1(|c| c == ' '),
        char(' '),
        take_till1(|c| c == ' ' || c == ':'),
        tag(": "),
    )
        .parse(i)?;
    Ok((i, (time, host)))
}

/// `<RFC 3339 time> ` from `docker logs --timestamps`, or `<time> stderr F ` from the CRI
/// log files of a kubelet run as a container.
fn container_prefix(i: &str) -> IResult<&str, LogTime> {
    let (i, (time, _, _)) = (
        iso_time,
        char(' '),
        opt((
            alt((tag("stdout"), tag("stderr"))),
            char(' '),
            one_of("FP"),
            char(' '),
        )),
    )
        .parse(i)?;
    Ok((i, time))
}

/// `Lmmdd hh:mm:ss.uuuuuu threadid file:line] `
fn klog_header(i: &str) -> IResult<&str, (char, LogTime, &str)> {
    let (i, (severity, month, day, _, (hour, minute, second, micros), _, _, _, source, _)) = (
        one_of("IWEF"),
        number::<u8>(2),
        number::<u8>(2),
        char(' '),
        clock,
        space1,
        digit1,
        char(' '),
        take_till1(|c| c == ']' || c == ' '),
        alt((tag("] "), tag("]"))),
    )
        .parse(i)?;
    let time = LogTime {
        year: None,
        month,
        day,
        hour,
        minute,
        second,
        micros,
    };
    Ok((i, (severity, time, source)))
}

/// The texts worth searching in a message: for structured klog, the message and every value
/// with its Go quoting removed; for a JSON entry, every string value; otherwise the message.
/// A structured message that stops parsing half-way keeps its unparsed rest as raw text.
pub fn message_texts(message: &str) -> Vec<Cow<'_, str>> {
    if message.starts_with('{') {
        if let Some(texts) = json_texts(message) {
            return texts;
        }
    }
    let Ok((mut rest, msg)) = go_quoted(message) else {
        return vec![Cow::Borrowed(message)];
    };
    let mut texts = vec![Cow::Owned(msg)];
    loop {
        let trimmed = rest.trim_start_matches(' ');
        if trimmed.is_empty() {
            break;
        }
        match key_value(trimmed) {
            Ok((after, Some(v))) => {
                texts.push(v);
                rest = after;
            }
            Ok((after, None)) => rest = after,
            Err(_) => {
                texts.push(Cow::Borrowed(trimmed));
                break;
            }
        }
    }
    texts
}

/// `key="quoted"`, `key=bare` or `key=<` (a multi-line value follows on the next lines).
fn key_value(i: &str) -> IResult<&str, Option<Cow<'_, str>>> {
    preceded(
        (
            take_while1(|c: char| c != '=' && c != ' ' && c != '"'),
            char('='),
        ),
        alt((
            map(go_quoted, |v| Some(Cow::Owned(v))),
            map((tag("<"), take_till(|c| c == ' ')), |_| None),
            map(take_till(|c| c == ' '), |v: &str| Some(Cow::Borrowed(v))),
        )),
    )
    .parse(i)
}

/// Every string value of a JSON-format log entry (`--logging-format=json`).
fn json_texts(message: &str) -> Option<Vec<Cow<'_, str>>> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(message).ok()?;
    Some(
        object
            .into_iter()
            .filter_map(|(_, v)| match v {
                serde_json::Value::String(s) => Some(Cow::Owned(s)),
                _ => None,
            })
            .collect(),
    )
}

/// The `ts` of a JSON-format entry (Unix epoch, seconds or milliseconds) as a UTC [`LogTime`].
pub fn json_time(message: &str) -> Option<LogTime> {
    #[derive(serde::Deserialize)]
    struct Ts {
        ts: f64,
    }
    let ts: Ts = serde_json::from_str(message).ok()?;
    // Component-base has printed both units over the years; no kubelet ran in 1973.
    let micros_total = if ts.ts > 1e11 {
        ts.ts * 1e3
    } else {
        ts.ts * 1e6
    };
    if !(0.0..=4e18).contains(&micros_total) {
        return None;
    }
    let micros_total = micros_total.round() as i64;
    let days = micros_total.div_euclid(86_400_000_000);
    let in_day = micros_total.rem_euclid(86_400_000_000);
    let (year, month, day) = crate::input::time::civil_from_days(days);
    let (month, day) = (month as u8, day as u8);
    Some(LogTime {
        year: u16::try_from(year).ok(),
        month,
        day,
        hour: (in_day / 3_600_000_000) as u8,
        minute: (in_day / 60_000_000 % 60) as u8,
        second: (in_day / 1_000_000 % 60) as u8,
        micros: (in_day % 1_000_000) as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(year: Option<u16>, mo: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> LogTime {
        LogTime {
            year,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
            micros: us,
        }
    }

    #[test]
    fn raw_klog_line() {
        let l = parse_line("E1102 08:00:01.123456    1234 reflector.go:127] boom: x");
        assert_eq!(l.severity, Some('E'));
        assert_eq!(l.klog_time, Some(t(None, 11, 2, 8, 0, 1, 123_456)));
        assert_eq!(l.source, Some("reflector.go:127"));
        assert_eq!(l.message, "boom: x");
        assert_eq!(l.journal_host, None);
    }

    #[test]
    fn journal_short_and_iso_prefixes() {
        let l = parse_line(
            "Nov 02 08:00:01 node1 kubelet[1234]: W1102 08:00:00.500000    1234 a.go:1] hi",
        );
        assert_eq!(l.journal_host, Some("node1"));
        assert_eq!(l.prefix_time, Some(t(None, 11, 2, 8, 0, 1, 0)));
        assert_eq!(l.severity, Some('W'));
        assert_eq!(l.message, "hi");
        assert_eq!(l.time(), Some(t(None, 11, 2, 8, 0, 0, 500_000)));

        let l = parse_line(
            "2026-11-02T08:00:01+0000 node1 kubelet[1234]: I1102 08:00:01.000001 77 b.go:9] x",
        );
        assert_eq!(l.prefix_time, Some(t(Some(2026), 11, 2, 8, 0, 1, 0)));
        assert_eq!(l.time(), Some(t(Some(2026), 11, 2, 8, 0, 1, 1)));

        let l = parse_line("2026-11-02T08:00:01.25+00:00 n2 kubelet: plain text");
        assert_eq!(l.prefix_time, Some(t(Some(2026), 11, 2, 8, 0, 1, 250_000)));
        assert_eq!(l.journal_host, Some("n2"));
        assert_eq!(l.severity, None);
        assert_eq!(l.message, "plain text");

        let l = parse_line("Nov  2 08:00:01 node1 kubelet[1]: text");
        assert_eq!(l.prefix_time, Some(t(None, 11, 2, 8, 0, 1, 0)));
    }

    #[test]
    fn container_runtime_prefixes() {
        let l =
            parse_line("2026-11-02T08:00:01.123456789Z stderr F E1102 08:00:01.123000 1 a.go:1] x");
        assert_eq!(l.prefix_time, Some(t(Some(2026), 11, 2, 8, 0, 1, 123_456)));
        assert_eq!(l.journal_host, None);
        assert_eq!(l.severity, Some('E'));
        assert_eq!(l.message, "x");
        let l = parse_line("2026-11-02T08:00:01.5Z I1102 08:00:01.500000 1 a.go:1] y");
        assert_eq!(l.time(), Some(t(Some(2026), 11, 2, 8, 0, 1, 500_000)));
        assert_eq!(l.message, "y");
    }

    #[test]
    fn not_a_header_stays_message() {
        let l = parse_line("X1102 08:00:01.1 1 a.go:1] no");
        assert_eq!(l.severity, None);
        assert_eq!(l.message, "X1102 08:00:01.1 1 a.go:1] no");
        assert!(!l.has_header());
    }

    #[test]
    fn structured_values_are_unquoted() {
        let texts = message_texts(
            r#""Unhandled Error" err="a \"b\" c" logger="UnhandledError" n=5 multi=<"#,
        );
        let texts: Vec<&str> = texts.iter().map(|c| c.as_ref()).collect();
        assert_eq!(
            texts,
            ["Unhandled Error", "a \"b\" c", "UnhandledError", "5"]
        );
    }

    #[test]
    fn structured_parse_keeps_unparsed_rest() {
        let texts = message_texts(r#""m" ids=[a b] err="x""#);
        let texts: Vec<&str> = texts.iter().map(|c| c.as_ref()).collect();
        assert_eq!(texts, ["m", "[a", "b] err=\"x\""]);
    }

    #[test]
    fn json_entries() {
        let msg = r#"{"ts":1793606401123.5,"msg":"Error getting node","err":"node \"n1\" not found","v":0}"#;
        let texts = message_texts(msg);
        assert!(texts.iter().any(|t| t == "node \"n1\" not found"));
        // 1793606401 s = 2026-11-02T08:00:01Z
        assert_eq!(json_time(msg), Some(t(Some(2026), 11, 2, 8, 0, 1, 123_500)));
        assert_eq!(
            json_time(r#"{"ts":1793606401.5}"#),
            Some(t(Some(2026), 11, 2, 8, 0, 1, 500_000))
        );
    }

    #[test]
    fn micros_in_year_crosses_month_ends() {
        let a = t(None, 11, 30, 23, 59, 50, 0);
        let b = t(None, 12, 1, 0, 0, 10, 0);
        assert_eq!(b.micros_in_year() - a.micros_in_year(), 20_000_000);
        // A year on one side only does not shift the other.
        let c = t(Some(2026), 11, 2, 8, 0, 3, 0);
        let d = t(None, 11, 2, 8, 0, 1, 0);
        assert_eq!(c.micros_in_year() - d.micros_in_year(), 2_000_000);
        let e = t(None, 2, 29, 0, 0, 0, 0);
        let f = t(None, 3, 1, 0, 0, 0, 0);
        assert_eq!(f.micros_in_year() - e.micros_in_year(), 86_400_000_000);
    }
}
