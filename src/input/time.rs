//! RFC 3339 timestamps to microseconds since the Unix epoch, without a date library.
//!
//! The apiserver writes `YYYY-MM-DDTHH:MM:SS.ffffffZ` (microseconds, UTC) in JSON events and
//! Go's `RFC3339Nano` (0-9 fractional digits, trailing zeros trimmed, any offset) in the legacy
//! text format. The fast path covers the first shape; everything else takes the general path.

use std::cell::Cell;

use crate::record::Micros;

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses an RFC 3339 timestamp into microseconds since the epoch (UTC). Fractional digits
/// beyond microseconds are truncated. Returns `None` for anything that is not a valid
/// timestamp (including out-of-range fields such as month 13 or second 61).
pub fn parse_rfc3339_micros(s: &str) -> Option<Micros> {
    parse_rfc3339_micros_bytes(s.as_bytes())
}

/// [`parse_rfc3339_micros`] of bytes that may not be UTF-8, as the pre-filter reads a time
/// from a line it does not parse. Every byte a timestamp is read from must be a given ASCII
/// character, so bytes it takes are UTF-8, and bytes that are not UTF-8 give `None`, as
/// checking them first did (at 150 instructions a time, 0.4% of `analyze`'s).
pub fn parse_rfc3339_micros_bytes(b: &[u8]) -> Option<Micros> {
    if let Some(t) = <&[u8; 27]>::try_from(b).ok().and_then(apiserver_shape) {
        return Some(t);
    }
    parse_general(b)
}

/// The fast path: a valid timestamp in the exact shape the apiserver writes in JSON events,
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`; `None` for anything else, which the general path reads
/// (and may refuse). The clock and the fraction are checked eight bytes at a time
/// ([`digits8`]): a byte at a time, a timestamp took about 150 instructions, against about 135
/// now (the 100 MB benchmark log), and a scan reads one or two for each kubelet line.
fn apiserver_shape(b: &[u8; 27]) -> Option<Micros> {
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    // `HH:MM:SS`, with its colons at bytes 2 and 5.
    let clock = u64::from_le_bytes(*b[11..].first_chunk::<8>()?);
    let [h1, h0, _, m1, m0, _, s1, s0] =
        digits_around(clock, 0x0000_ff00_00ff_0000, 0x0000_3a00_003a_0000)?;
    let tens_and_units = |tens: u8, units: u8| u32::from(tens) * 10 + u32::from(units);
    let (hour, minute, second) = (
        tens_and_units(h1, h0),
        tens_and_units(m1, m0),
        tens_and_units(s1, s0),
    );
    // A leap second (60) is accepted as RFC 3339 allows it; it folds into the next second.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // `.ffffffZ`.
    let fraction = u64::from_le_bytes(*b[19..].first_chunk::<8>()?);
    let [_, f5, f4, f3, f2, f1, f0, _] =
        digits_around(fraction, 0xff00_0000_0000_00ff, 0x5a00_0000_0000_002e)?;
    let micros = [f5, f4, f3, f2, f1, f0]
        .into_iter()
        .fold(0, |micros, digit| micros * 10 + i64::from(digit));
    let secs = recent_date_days(b)? * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(secs * 1_000_000 + micros)
}

/// Eight ASCII zeros.
const ZEROS: u64 = 0x3030_3030_3030_3030;

/// [`digits8`] of `word` but for the bytes under the mask `fixed_bytes`, which must be as in
/// `fixed` (a separator), and are read as zeros.
fn digits_around(word: u64, fixed_bytes: u64, fixed: u64) -> Option<[u8; 8]> {
    if word & fixed_bytes != fixed {
        return None;
    }
    digits8((word & !fixed_bytes) | (ZEROS & fixed_bytes))
}

/// The values of the eight bytes of `word` (read little-endian), when every one is an ASCII
/// digit. A byte is one when its high bit is clear, subtracting `0` leaves it clear (it was
/// at least `0`), and adding 0x46 leaves it clear (it was at most `9`). A byte below `0`
/// borrows from the next, and one above 0xb9 carries into it, but each of those sets its own
/// high bit, so whenever no high bit is set, no byte borrowed or carried and each byte of the
/// difference is its digit.
fn digits8(word: u64) -> Option<[u8; 8]> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let values = word.wrapping_sub(ZEROS);
    let past_nine = word.wrapping_add(0x4646_4646_4646_4646);
    ((word | values | past_nine) & HIGH == 0).then(|| values.to_le_bytes())
}

thread_local! {
    /// The date (`YYYY-MM-DD`, as its bytes) the fast path read last on this thread, and its
    /// [`date_days`]. A log's timestamps come in time order, so nearly every one has the date
    /// of the one before: reading and checking the date anew was half the cost of a timestamp,
    /// and a scan reads about one per line. No date's bytes are all zero.
    static LAST_DATE: Cell<(u64, u16, i64)> = const { Cell::new((0, 0, 0)) };
}

/// [`date_days`] of the date that starts `b` (at least 10 bytes), from [`LAST_DATE`] when it
/// is the same.
fn recent_date_days(b: &[u8]) -> Option<i64> {
    let (head, rest) = b.split_first_chunk::<8>()?;
    let (tail, _) = rest.split_first_chunk::<2>()?;
    let date = (u64::from_le_bytes(*head), u16::from_le_bytes(*tail));
    let (last_head, last_tail, last_days) = LAST_DATE.with(Cell::get);
    if (last_head, last_tail) == date {
        return Some(last_days);
    }
    let days = date_days(b)?;
    LAST_DATE.with(|last| last.set((date.0, date.1, days)));
    Some(days)
}

/// Seconds since the epoch of the `YYYY-MM-DDTHH:MM:SS` prefix, which must be present.
fn date_time(b: &[u8]) -> Option<i64> {
    Some(date_days(b)? * 86_400 + time_of_day(b)?)
}

/// Days since the epoch of the date `YYYY-MM-DD` that starts `b`, if it is a valid one.
fn date_days(b: &[u8]) -> Option<i64> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i64::from(digits(&b[0..4])?);
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Seconds into the day of the `THH:MM:SS` after the date in `b`, if it is a valid time.
fn time_of_day(b: &[u8]) -> Option<i64> {
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    // A leap second (60) is accepted as RFC 3339 allows it; it folds into the next second.
    let second = digits(&b[17..19])?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(i64::from(hour * 3600 + minute * 60 + second))
}

fn parse_general(b: &[u8]) -> Option<Micros> {
    let secs = date_time(b)?;
    let mut rest = b.get(19..)?;
    let mut micros: i64 = 0;
    if let Some((&b'.', frac)) = rest.split_first() {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        let mut scale = 100_000;
        for &c in frac.iter().take(n.min(6)) {
            micros += i64::from(c - b'0') * scale;
            scale /= 10;
        }
        rest = &frac[n..];
    }
    let offset_secs: i64 = match rest {
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = i64::from(digits(&[*h1, *h2])?);
            let m = i64::from(digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    Some((secs - offset_secs) * 1_000_000 + micros)
}

/// Formats microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn format_micros(t: Micros) -> String {
    let secs = t.div_euclid(1_000_000);
    let micros = t.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// The UTC date of a timestamp as `YYYY-MM-DD` (the `date=` partition of the Parquet output).
pub fn format_date(t: Micros) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400_000_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Inverse of [`days_from_civil`]: days since 1970-01-01 → (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_apiserver_shape() {
        assert_eq!(parse_rfc3339_micros("1970-01-01T00:00:00.000000Z"), Some(0));
        assert_eq!(
            parse_rfc3339_micros("2023-09-01T15:37:02.744516Z"),
            Some(1_693_582_622_744_516)
        );
    }

    #[test]
    fn general_path_fraction_digits_and_offsets() {
        assert_eq!(
            parse_rfc3339_micros("2018-10-26T13:13:03Z"),
            Some(1_540_559_583_000_000)
        );
        assert_eq!(
            parse_rfc3339_micros("2018-10-26T13:13:03.5Z"),
            Some(1_540_559_583_500_000)
        );
        assert_eq!(
            parse_rfc3339_micros("2018-10-26T13:13:03.123456789Z"),
            Some(1_540_559_583_123_456)
        );
        assert_eq!(
            parse_rfc3339_micros("2018-10-26T15:13:03.1+02:00"),
            Some(1_540_559_583_100_000)
        );
        assert_eq!(
            parse_rfc3339_micros("2018-10-26T08:43:03-04:30"),
            Some(1_540_559_583_000_000)
        );
    }

    #[test]
    fn rejects_invalid() {
        for s in [
            "",
            "2018-13-01T00:00:00Z",
            "2018-02-29T00:00:00Z",
            "2018-10-26T24:00:00Z",
            "2018-10-26T13:13:03",
            "2018-10-26T13:13:03.Z",
            "2018-10-26T13:13:03.1234567890Z",
            "2018-10-26T13:13:03+2:00",
            "abcd-10-26T13:13:03Z",
        ] {
            assert_eq!(parse_rfc3339_micros(s), None, "{s}");
        }
        assert!(parse_rfc3339_micros("2020-02-29T00:00:00Z").is_some());
    }

    /// Timestamps of the apiserver's shape, valid or not, dates repeated, in any order: what
    /// the fast path gives with the date it read last is what reading every field gives.
    #[test]
    fn the_last_date_read_gives_what_reading_it_again_gives() {
        use proptest::prelude::*;
        // Dates that differ from another only by their month, day, year or separators,
        // valid and not.
        let date = prop::sample::select(vec![
            "2018-02-28",
            "2018-02-29",
            "2020-02-29",
            "2018-03-28",
            "2018-13-01",
            "2018-10-00",
            "2018-10-26",
            "2019-10-26",
            "2018/10/26",
            "2018-1x-26",
            "1969-12-31",
        ]);
        let time = prop::sample::select(vec![
            "T13:13:03.123456Z",
            "T23:59:60.000000Z",
            "T24:00:00.000000Z",
            "t00:00:00.000001Z",
            " 12:00:00.999999Z",
            "T13:61:03.123456Z",
            "T13:13:03.12345xZ",
            "T13-13:03.123456Z",
        ]);
        let general = |s: &str| {
            let b = s.as_bytes();
            let secs = date_time(b)?;
            Some(secs * 1_000_000 + i64::from(digits(b.get(20..26)?)?))
        };
        let config = ProptestConfig {
            cases: 1000,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        proptest!(config, |(stamps in prop::collection::vec((date, time), 1..20))| {
            // Each case starts with no date read, so that a failing case fails alone.
            LAST_DATE.with(|last| last.set((0, 0, 0)));
            for (date, time) in stamps {
                let s = format!("{date}{time}");
                prop_assert_eq!(parse_rfc3339_micros(&s), general(&s), "{}", s);
            }
        });
    }

    /// Every byte value at every place of a word of digits.
    #[test]
    fn eight_digits_are_read_and_nothing_else() {
        for place in 0..8 {
            for byte in 0..=255u8 {
                let mut word = *b"01234567";
                word[place] = byte;
                let expected = word
                    .iter()
                    .all(u8::is_ascii_digit)
                    .then(|| word.map(|c| c - b'0'));
                assert_eq!(digits8(u64::from_le_bytes(word)), expected, "{word:?}");
            }
        }
    }

    /// A byte that is often a digit, or one that a timestamp's shape puts somewhere, or any.
    fn stamp_byte() -> impl proptest::strategy::Strategy<Value = u8> {
        proptest::prop_oneof![
            b'0'..=b'9',
            proptest::sample::select(b":.-TtZz +/\x2f\x3a\x40\x80\xb9\xba\xff".to_vec()),
            proptest::num::u8::ANY,
        ]
    }

    proptest::proptest! {
        /// The fast path reads what the general one does, wherever a timestamp in the
        /// apiserver's shape has some of its bytes changed.
        #[test]
        fn the_fast_path_reads_what_the_general_one_does(
            stamp in proptest::sample::select(vec![
                "2023-09-01T15:37:02.744516Z",
                "2020-02-29T23:59:60.999999Z",
                "1969-12-31 00:00:00.000000Z",
            ]),
            changes in proptest::collection::vec((0usize..27, stamp_byte()), 0..4),
        ) {
            let mut b: [u8; 27] = stamp.as_bytes().try_into().expect("27 bytes");
            for (at, byte) in changes {
                b[at] = byte;
            }
            let general = parse_general(&b);
            if let Some(fast) = apiserver_shape(&b) {
                proptest::prop_assert_eq!(Some(fast), general);
            }
            proptest::prop_assert_eq!(parse_rfc3339_micros_bytes(&b), general);
        }

        #[test]
        fn eight_bytes_are_digits_when_each_is_one(word in proptest::array::uniform8(stamp_byte())) {
            let expected = word.iter().all(u8::is_ascii_digit).then(|| word.map(|c| c - b'0'));
            proptest::prop_assert_eq!(digits8(u64::from_le_bytes(word)), expected);
        }

        /// Bytes, UTF-8 or not, near a timestamp's shape or far from it, read as bytes give
        /// what checking them as UTF-8 first and reading the text gives.
        #[test]
        fn bytes_read_as_their_text_is_read(
            stamp in proptest::sample::select(vec![
                "2023-09-01T15:37:02.744516Z",
                "2023-09-01T15:37:02Z",
                "2023-09-01t15:37:02.7+01:30",
                "2023-09-01 15:37:02.123456789-05:00",
            ]),
            at in 0usize..40,
            inserted in proptest::collection::vec(proptest::num::u8::ANY, 0..3),
            replace in proptest::bool::ANY,
        ) {
            let mut b = stamp.as_bytes().to_vec();
            let at = at.min(b.len());
            if replace && at < b.len() {
                b.splice(at..at + 1, inserted);
            } else {
                b.splice(at..at, inserted);
            }
            let as_text = std::str::from_utf8(&b).ok().and_then(parse_rfc3339_micros);
            proptest::prop_assert_eq!(parse_rfc3339_micros_bytes(&b), as_text);
        }
    }

    #[test]
    fn format_round_trips() {
        for s in [
            "1970-01-01T00:00:00.000000Z",
            "2023-09-01T15:37:02.744516Z",
            "1969-12-31T23:59:59.999999Z",
        ] {
            let t = parse_rfc3339_micros(s).unwrap();
            assert_eq!(format_micros(t), s);
        }
    }

    #[test]
    fn dates_round_trip_known_values() {
        assert_eq!(format_micros(0), "1970-01-01T00:00:00.000000Z");
        // 2026-11-02T10:11:12.345678Z
        assert_eq!(
            format_micros(1_793_614_272_345_678),
            "2026-11-02T10:11:12.345678Z"
        );
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(format_micros(-1), "1969-12-31T23:59:59.999999Z");
    }
}
