//! A direct reader of one audit event's JSON text, for the shape nearly every line has.
//!
//! Parsing the kubelet events that must be read is the largest single cost of a scan: serde's
//! derived visitor takes about 17 instructions per byte of a kubelet's ResponseComplete line.
//! [`read_event`] reads the same fields by hand in about 10 (the `parse` group of
//! `benches/scan.rs` times both): keys are matched as bytes, the ends of strings are found
//! by 64-byte blocks (each block's stops found once), plain strings are borrowed and escaped
//! ones decoded in place, and the values no field reads are skipped by a checker of their
//! own. Whatever it does not know how to read exactly (an escaped key, a field written twice,
//! a number that is no plain integer, a list or a cloud envelope, anything malformed) makes it
//! give up, and serde reads the text as before, reporting what is wrong with it in its own
//! words.
//!
//! The contract, which `tests/fast_event.rs` and the `fast_event` fuzz target check against
//! serde: when [`read_event`] returns an event, `serde_json::from_str::<RawEvent>` of the same
//! text returns an equal one. The values no field reads (`requestObject`, `responseObject`,
//! the value of an unknown key, `responseStatus.details`) are checked as serde checks a value
//! it ignores or keeps as text (`Reader::skip`).

use std::borrow::Cow;

use crate::input::event::{
    CowStr, RawAnnotations, RawEvent, RawExtra, RawJson, RawObjectRef, RawStatus, RawUser,
};

/// Containers a skipped value may nest (its own included) before the reading gives up and
/// leaves the line to serde: one bit each of the skipper's stack. Real bodies nest about ten.
const MAX_SKIP_DEPTH: u32 = 64;

/// The event in `text` (one JSON object, with nothing but white space around it), read
/// without serde's visitor, or `None` when `text` is not in the shape read here: then serde
/// must read it (and may find it bad).
pub fn read_event(text: &str) -> Option<RawEvent<'_>> {
    let mut event = RawEvent::default();
    read_event_into(text, &mut event).then_some(event)
}

/// [`read_event`] into `event`, a default one, which holds the event read when this returns
/// true, and anything when it returns false. The caller keeps the event where it wants it:
/// an event is most of a kilobyte, and returning it copied it out once more at each level.
pub(crate) fn read_event_into<'a>(text: &'a str, event: &mut RawEvent<'a>) -> bool {
    let mut r = Reader {
        text,
        pos: 0,
        stops: Stops::new(),
    };
    let mut seen = Seen::default();
    let whole = r.object(|r, key| {
        match key {
            "kind" => seen.set(0, &mut event.kind, r.opt_string()?),
            "apiVersion" => seen.set(1, &mut event.api_version, r.opt_string()?),
            "level" => seen.set(2, &mut event.level, r.opt_string()?),
            "auditID" => seen.set(3, &mut event.audit_id, r.opt_string()?),
            "stage" => seen.set(4, &mut event.stage, r.opt_string()?),
            "requestURI" => seen.set(5, &mut event.request_uri, r.opt_string()?),
            "verb" => seen.set(6, &mut event.verb, r.opt_string()?),
            "user" => seen.set(7, &mut event.user, r.opt(Reader::user)?),
            "impersonatedUser" => seen.set(8, &mut event.impersonated_user, r.opt(Reader::user)?),
            "sourceIPs" => seen.set(9, &mut event.source_ips, r.opt(Reader::strings)?),
            "userAgent" => seen.set(10, &mut event.user_agent, r.opt_string()?),
            "objectRef" => seen.set(11, &mut event.object_ref, r.opt(Reader::object_ref)?),
            "responseStatus" => seen.set(12, &mut event.response_status, r.opt(Reader::status)?),
            "requestObject" => seen.set(13, &mut event.request_object, r.opt(Reader::raw)?),
            "responseObject" => seen.set(14, &mut event.response_object, r.opt(Reader::raw)?),
            "requestReceivedTimestamp" => {
                seen.set(15, &mut event.request_received_timestamp, r.opt_string()?)
            }
            "stageTimestamp" => seen.set(16, &mut event.stage_timestamp, r.opt_string()?),
            "timestamp" => seen.set(17, &mut event.timestamp, r.opt_string()?),
            "annotations" => seen.set(18, &mut event.annotations, r.opt(Reader::annotations)?),
            // A list, or a cloud envelope: rare, and read by serde.
            "items" | "protoPayload" | "category" | "properties" | "records" => None,
            _ => r.skip(),
        }
    });
    r.ws();
    whole.is_some() && r.pos == text.len()
}

/// The byte ranges of the values of the top-level members named `key` of the JSON object in
/// `text`, in order. Every member's value is checked as serde checks a value it ignores
/// ([`Reader::skip`]). `None` when the object cannot be walked here (an escaped key, a value
/// nested deeper than [`MAX_SKIP_DEPTH`], anything malformed, anything but white space around
/// it): serde must read it then, and may refuse it.
pub(crate) fn member_values(text: &str, key: &str) -> Option<Vec<std::ops::Range<usize>>> {
    let mut r = Reader {
        text,
        pos: 0,
        stops: Stops::new(),
    };
    let mut found = Vec::new();
    r.object(|r, member| {
        r.ws();
        let start = r.pos;
        r.skip()?;
        if member == key {
            found.push(start..r.pos);
        }
        Some(())
    })?;
    r.ws();
    (r.pos == text.len()).then_some(found)
}

/// The fields of one object read so far, by bit: serde's derive refuses a field written twice
/// (even when the first was `null`, as it tracks keys, not values), so the reading gives up
/// on the second.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    /// Sets `field` (bit `bit` of its object) to `value`, unless it was read before. Always
    /// inlined: the compiler called it apart, moving each value read through memory, for
    /// 0.7% of `analyze`'s instructions.
    #[inline(always)]
    fn set<T>(&mut self, bit: u32, field: &mut Option<T>, value: Option<T>) -> Option<()> {
        if self.0 & (1 << bit) != 0 {
            return None;
        }
        self.0 |= 1 << bit;
        *field = value;
        Some(())
    }
}

/// Bytes per block of [`Stops`]: one bit each in a `u64`.
const BLOCK: usize = 64;

/// Where strings' plain runs stop in the text (at a closing quote, a backslash, or a control
/// character, which serde refuses inside a string), found one 64-byte block at a time and kept:
/// an event's strings are short and read in order, so one block's mask serves the few
/// strings in it. Searching from each string's start instead (sixteen bytes at a time) was a
/// third of the reading's instructions; the blocks take 9% fewer in all (callgrind, the 100 MB
/// benchmark log). The blocks are known by their index alone, so one `Stops` serves one text:
/// a [`Reader`] passes its own to every search.
struct Stops {
    /// The index of the block `mask` is of (`usize::MAX` before the first).
    block: usize,
    /// Bit `i` set when byte `i` of the block is a stop; bytes past the end of the text count
    /// as stops, so that a search in the last block stops where the text does.
    mask: u64,
}

impl Stops {
    fn new() -> Self {
        Stops {
            block: usize::MAX,
            mask: 0,
        }
    }

    /// Where, from `from` on (at most `b.len()`), the plain run of a string's text in `b`
    /// stops, or `b.len()` when it runs to the end. Whatever the mask holds, the answer is
    /// never below `from` nor above `b.len()`: [`Reader::plain`]'s unchecked slice rests on
    /// that.
    #[inline(always)]
    fn find(&mut self, b: &[u8], from: usize) -> usize {
        debug_assert!(from <= b.len());
        let mut at = from;
        // Bounded by the text rather than by the padding's stops, so that a wrong mask gives a
        // wrong answer (which the tests catch) and never a search without end.
        while at < b.len() {
            let block = at / BLOCK;
            if block != self.block {
                self.read_block(b, block);
            }
            let ahead = self.mask >> (at % BLOCK);
            if ahead != 0 {
                return at + ahead.trailing_zeros() as usize;
            }
            at = (block + 1) * BLOCK;
        }
        b.len()
    }

    /// Finds the stops of block `block` of `b` (out of line: a string's search seldom needs
    /// it, and inlined, it made every search save and restore the registers it uses).
    #[inline(never)]
    fn read_block(&mut self, b: &[u8], block: usize) {
        self.block = block;
        self.mask = stop_mask(b, block * BLOCK);
    }
}

/// The stops of the 64 bytes of `b` from `start`, one bit each, bytes past the end of `b`
/// counting as stops.
fn stop_mask(b: &[u8], start: usize) -> u64 {
    let rest = b.get(start..).unwrap_or_default();
    match rest.first_chunk::<BLOCK>() {
        Some(block) => full_block_mask(block),
        None => {
            // The last, short block: padded with NULs, which are stops.
            let mut padded = [0u8; BLOCK];
            padded[..rest.len()].copy_from_slice(rest);
            full_block_mask(&padded)
        }
    }
}

/// [`stop_mask`] of one whole block: 32 bytes at a time with AVX2 where the processor has
/// it, else sixteen with SSE2 (every x86-64 processor has it). With AVX2 the reading took
/// 0.5% fewer of `analyze`'s instructions; the check is one load of a flag std keeps.
#[cfg(target_arch = "x86_64")]
fn full_block_mask(block: &[u8; BLOCK]) -> u64 {
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2, as just checked.
        return unsafe { avx2_block_mask(block) };
    }
    // SAFETY: SSE2 is part of the x86-64 baseline: every processor this runs on has it.
    unsafe { sse2_block_mask(block) }
}

/// [`full_block_mask`] with AVX2, which its intrinsics require of their caller.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn avx2_block_mask(block: &[u8; BLOCK]) -> u64 {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8,
    };
    let mut mask = 0u64;
    for (i, half) in block.chunks_exact(32).enumerate() {
        // SAFETY: `half` holds 32 bytes, which an unaligned load reads.
        let v = unsafe { _mm256_loadu_si256(half.as_ptr().cast::<__m256i>()) };
        let quote = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8));
        let backslash = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\\' as i8));
        // A byte at most 0x1f equals its minimum with 0x1f (unsigned).
        let control = _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x1f)), v);
        let stops =
            _mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(quote, backslash), control));
        mask |= u64::from(stops as u32) << (32 * i);
    }
    mask
}

/// [`full_block_mask`] with SSE2 enabled, which its intrinsics require of their caller.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn sse2_block_mask(block: &[u8; BLOCK]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let mut mask = 0u64;
    for (i, sixteen) in block.chunks_exact(16).enumerate() {
        // SAFETY: `sixteen` holds 16 bytes, which an unaligned load reads.
        let v = unsafe { _mm_loadu_si128(sixteen.as_ptr().cast::<__m128i>()) };
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // A byte at most 0x1f equals its minimum with 0x1f (unsigned).
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
        let stops = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control));
        mask |= u64::from(stops as u16) << (16 * i);
    }
    mask
}

/// [`stop_mask`] of one whole block, eight bytes at a time.
#[cfg(not(target_arch = "x86_64"))]
fn full_block_mask(block: &[u8; BLOCK]) -> u64 {
    let mut mask = 0u64;
    for (i, eight) in block.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(eight.try_into().unwrap_or_default());
        mask |= word_mask(w) << (8 * i);
    }
    mask
}

/// The stops of the eight bytes of `w` (little-endian), one bit each: [`full_block_mask`]
/// where there is no SSE2, tested against it on x86-64.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn word_mask(w: u64) -> u64 {
    const LOW7: u64 = u64::from_ne_bytes([0x7f; 8]);
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    // 0x80 in each zero byte of `x` and nowhere else (no carry crosses a byte).
    let zero_bytes = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let stops = zero_bytes(w ^ (ONES * u64::from(b'"')))
        | zero_bytes(w ^ (ONES * u64::from(b'\\')))
        // A control character has none of its top three bits set.
        | zero_bytes(w & (ONES * 0xe0));
    // Gathers each byte's top bit into the top byte, byte `i`'s at bit `56 + i`.
    ((stops >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
}

/// Decodes the escape whose character (after the backslash) is at `at` onto `out`, as serde
/// decodes it, and returns where the string goes on; `None` for an escape serde refuses
/// (an unknown one, a lone or unpaired surrogate) or one cut short.
fn unescape(b: &[u8], at: usize, out: &mut String) -> Option<usize> {
    let simple = match *b.get(at)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let unit = hex4(b, at + 1)?;
            let (c, next) = if (0xD800..0xDC00).contains(&unit) {
                // A leading surrogate must be followed by the escape of a trailing one.
                if b.get(at + 5..at + 7)? != b"\\u" {
                    return None;
                }
                let low = hex4(b, at + 7)?;
                if !(0xDC00..0xE000).contains(&low) {
                    return None;
                }
                let c = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                (char::from_u32(c)?, at + 11)
            } else {
                (char::from_u32(u32::from(unit))?, at + 5)
            };
            out.push(c);
            return Some(next);
        }
        _ => return None,
    };
    out.push(simple);
    Some(at + 1)
}

/// Four hex digits at `at`, as a UTF-16 code unit.
fn hex4(b: &[u8], at: usize) -> Option<u16> {
    let digits = b.get(at..at + 4)?;
    digits.iter().try_fold(0u16, |unit, &d| {
        let v = (d as char).to_digit(16)?;
        Some(unit << 4 | v as u16)
    })
}

/// A position in the text being read.
struct Reader<'a> {
    text: &'a str,
    pos: usize,
    stops: Stops,
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skips JSON white space.
    fn ws(&mut self) {
        let b = self.bytes();
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = b.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte past white space, not consumed.
    fn peek(&mut self) -> Option<u8> {
        let next = *self.bytes().get(self.pos)?;
        if !matches!(next, b' ' | b'\n' | b'\t' | b'\r') {
            return Some(next);
        }
        self.ws();
        self.bytes().get(self.pos).copied()
    }

    /// Consumes `c` (past white space).
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.pos += 1)
    }

    /// Consumes `null` if it comes next.
    fn null(&mut self) -> bool {
        let found = self.peek() == Some(b'n') && self.bytes()[self.pos..].starts_with(b"null");
        if found {
            self.pos += 4;
        }
        found
    }

    /// The members of an object: `member` reads the value of each key (a plain string).
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.plain()?;
            self.eat(b':')?;
            member(self, key)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `null` as `None`, else what `read` reads.
    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null() {
            return Some(None);
        }
        read(self).map(Some)
    }

    /// `opt(Reader::string)`, with a string without escapes right at `pos` (as Go writes every
    /// value, right after its colon) read first: this is the reading's most common value,
    /// and `opt` looked past white space for `null` and then again for the quote.
    #[inline]
    fn opt_string(&mut self) -> Option<Option<CowStr<'a>>> {
        if self.bytes().get(self.pos) == Some(&b'"') {
            if let Some(plain) = self.plain() {
                return Some(Some(CowStr(Cow::Borrowed(plain))));
            }
            return self.string().map(Some);
        }
        self.opt(Reader::string)
    }

    /// A string with no escape, borrowed; `None` for any other (an escaped one included).
    #[inline(always)]
    fn plain(&mut self) -> Option<&'a str> {
        let b = self.bytes();
        if b.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let end = self.stops.find(b, start);
        if b.get(end) != Some(&b'"') {
            return None;
        }
        self.pos = end + 1;
        debug_assert!(
            start <= end && self.text.is_char_boundary(start) && self.text.is_char_boundary(end)
        );
        // SAFETY: `start` follows the quote checked above and `end` is at the quote just
        // checked (`b.get(end)`), so both are within the text and, quotes being ASCII, on
        // character boundaries; `start <= end` because `Stops::find` never answers below
        // its `from`, whatever its mask holds. The checked slice was a call of its own for
        // every string read, and `analyze` took 1.7% more instructions with it (callgrind,
        // the 100 MB benchmark log).
        Some(unsafe { self.text.get_unchecked(start..end) })
    }

    /// A string: borrowed when it has no escape, else decoded as serde decodes it.
    fn string(&mut self) -> Option<CowStr<'a>> {
        if self.peek()? != b'"' {
            return None;
        }
        if let Some(plain) = self.plain() {
            return Some(CowStr(Cow::Borrowed(plain)));
        }
        let b = self.bytes();
        let mut run = self.pos + 1;
        // Room for the text up to the next quote, which ends the string unless it is escaped
        // itself: no escape decodes longer than it is written, so a string with no escaped
        // quote (a requestURI with its `\u0026`s) fits, where growing from nothing
        // reallocated it twice or three times over.
        // (`run` is within the text: the opening quote was just peeked at.)
        let room = memchr::memchr(b'"', b.get(run..).unwrap_or_default()).unwrap_or(0);
        let mut decoded = String::with_capacity(room);
        loop {
            let stop = self.stops.find(b, run);
            decoded.push_str(self.text.get(run..stop)?);
            match b.get(stop)? {
                b'"' => {
                    self.pos = stop + 1;
                    return Some(CowStr(Cow::Owned(decoded)));
                }
                b'\\' => run = unescape(b, stop + 1, &mut decoded)?,
                // A control character, which serde refuses inside a string.
                _ => return None,
            }
        }
    }

    /// An array of strings.
    fn strings(&mut self) -> Option<Vec<CowStr<'a>>> {
        self.eat(b'[')?;
        let mut out = Vec::new();
        if self.eat(b']').is_some() {
            return Some(out);
        }
        loop {
            out.push(self.string()?);
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    fn user(&mut self) -> Option<RawUser<'a>> {
        let mut seen = Seen::default();
        let mut user = RawUser::default();
        self.object(|r, key| match key {
            "username" => seen.set(0, &mut user.username, r.opt_string()?),
            "groups" => seen.set(1, &mut user.groups, r.opt(Reader::strings)?),
            "extra" => seen.set(2, &mut user.extra, r.opt(Reader::extra)?),
            _ => r.skip(),
        })?;
        Some(user)
    }

    /// `user.extra`: as serde reads a map, a key written twice keeps its last value.
    fn extra(&mut self) -> Option<RawExtra<'a>> {
        let mut extra = RawExtra::new();
        self.object(|r, key| {
            let values = r.opt(Reader::strings)?;
            extra.insert(CowStr(Cow::Borrowed(key)), values);
            Some(())
        })?;
        Some(extra)
    }

    fn object_ref(&mut self) -> Option<RawObjectRef<'a>> {
        let mut seen = Seen::default();
        let mut o = RawObjectRef::default();
        self.object(|r, key| match key {
            "apiGroup" => seen.set(0, &mut o.api_group, r.opt_string()?),
            "apiVersion" => seen.set(1, &mut o.api_version, r.opt_string()?),
            "resource" => seen.set(2, &mut o.resource, r.opt_string()?),
            "subresource" => seen.set(3, &mut o.subresource, r.opt_string()?),
            "namespace" => seen.set(4, &mut o.namespace, r.opt_string()?),
            "name" => seen.set(5, &mut o.name, r.opt_string()?),
            _ => r.skip(),
        })?;
        Some(o)
    }

    fn status(&mut self) -> Option<RawStatus<'a>> {
        let mut seen = Seen::default();
        let mut s = RawStatus::default();
        self.object(|r, key| match key {
            "code" => seen.set(0, &mut s.code, r.opt(Reader::int)?),
            "reason" => seen.set(1, &mut s.reason, r.opt_string()?),
            "message" => seen.set(2, &mut s.message, r.opt_string()?),
            _ => r.skip(),
        })?;
        Some(s)
    }

    fn annotations(&mut self) -> Option<RawAnnotations<'a>> {
        let mut seen = Seen::default();
        let mut a = RawAnnotations::default();
        self.object(|r, key| match key {
            "authorization.k8s.io/decision" => seen.set(0, &mut a.decision, r.opt_string()?),
            "authorization.k8s.io/reason" => seen.set(1, &mut a.reason, r.opt_string()?),
            _ => r.skip(),
        })?;
        Some(a)
    }

    /// An integer as serde reads it into an `i32`: `0` or `-?[1-9][0-9]*`, in range, and not
    /// the start of a fraction or an exponent (a float, which serde refuses for an `i32`).
    fn int(&mut self) -> Option<i32> {
        self.ws();
        let b = self.bytes();
        let negative = b.get(self.pos) == Some(&b'-');
        let start = self.pos + usize::from(negative);
        let digits = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
        let end = start + digits;
        // serde reads `-0` as a float (negative zero), which an `i32` refuses.
        let leading_zero = b.get(start) == Some(&b'0') && (digits > 1 || negative);
        if digits == 0 || digits > 10 || leading_zero {
            return None;
        }
        if matches!(b.get(end), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let magnitude: i64 = self.text[start..end].parse().ok()?;
        let value = i32::try_from(if negative { -magnitude } else { magnitude }).ok()?;
        self.pos = end;
        Some(value)
    }

    /// A value kept as its text (`requestObject`, `responseObject`).
    fn raw(&mut self) -> Option<RawJson<'a>> {
        self.ws();
        let start = self.pos;
        self.skip()?;
        Some(RawJson::checked(&self.text[start..self.pos]))
    }

    /// Skips one value (that no field reads, or that is kept as text), accepting exactly what
    /// serde_json accepts for a value it ignores or keeps as text (its `ignore_value`): any
    /// nesting (within [`MAX_SKIP_DEPTH`]), strings whose escapes are well formed (a lone
    /// surrogate included, as serde does not decode them), numbers in JSON's grammar.
    fn skip(&mut self) -> Option<()> {
        // One bit per open container, 1 for an object.
        let mut objects: u64 = 0;
        let mut depth = 0;
        loop {
            // A value.
            match self.peek()? {
                b'"' => self.skip_string()?,
                open @ (b'{' | b'[') => {
                    self.pos += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.pos += 1;
                    } else {
                        if depth == MAX_SKIP_DEPTH {
                            return None;
                        }
                        depth += 1;
                        objects = objects << 1 | u64::from(open == b'{');
                        if open == b'{' {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                b'n' => self.literal(b"null")?,
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'-' | b'0'..=b'9' => self.skip_number()?,
                _ => return None,
            }
            // After a value: close containers, or go on to the next member.
            loop {
                if depth == 0 {
                    return Some(());
                }
                let in_object = objects & 1 == 1;
                match (self.peek()?, in_object) {
                    (b',', _) => {
                        self.pos += 1;
                        if in_object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    (b'}', true) | (b']', false) => {
                        self.pos += 1;
                        depth -= 1;
                        objects >>= 1;
                    }
                    _ => return None,
                }
            }
        }
    }

    /// A key and its colon, inside a skipped object.
    fn skip_key(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        self.skip_string()?;
        self.eat(b':')
    }

    /// A string, checked as serde checks one it ignores: no control character, and escapes
    /// of a known character or four hex digits.
    fn skip_string(&mut self) -> Option<()> {
        let b = self.bytes();
        let mut at = self.pos + 1;
        loop {
            at = self.stops.find(b, at);
            match b.get(at)? {
                b'"' => {
                    self.pos = at + 1;
                    return Some(());
                }
                b'\\' => match b.get(at + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                    b'u' => {
                        hex4(b, at + 2)?;
                        at += 6;
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
    }

    /// `null`, `true` or `false`.
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes()[self.pos..]
            .starts_with(word)
            .then(|| self.pos += word.len())
    }

    /// A number in JSON's grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn skip_number(&mut self) -> Option<()> {
        let b = self.bytes();
        let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        let mut at = self.pos + usize::from(b[self.pos] == b'-');
        match b.get(at)? {
            b'0' => at += 1,
            b'1'..=b'9' => at += digits(at),
            _ => return None,
        }
        // serde refuses a digit after a leading zero.
        if b.get(at).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        if b.get(at) == Some(&b'.') {
            let fraction = digits(at + 1);
            if fraction == 0 {
                return None;
            }
            at += 1 + fraction;
        }
        if matches!(b.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(b.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            let exponent = digits(at);
            if exponent == 0 {
                return None;
            }
            at += exponent;
        }
        self.pos = at;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Where the plain run stops, one byte at a time.
    fn byte_by_byte(b: &[u8], from: usize) -> usize {
        let stop = b[from..]
            .iter()
            .position(|&c| matches!(c, b'"' | b'\\' | 0..=0x1f));
        from + stop.unwrap_or(b.len() - from)
    }

    /// The stops of a block of 64 bytes, one byte at a time.
    fn mask_byte_by_byte(block: &[u8]) -> u64 {
        block
            .iter()
            .enumerate()
            .filter(|&(_, &c)| matches!(c, b'"' | b'\\' | 0..=0x1f))
            .fold(0, |mask, (i, _)| mask | 1 << i)
    }

    /// Bytes with stops among them, and bytes above 0x7f (which a signed compare would take
    /// for control characters).
    fn text_bytes(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                30 => 0x20u8..=0xff,
                1 => Just(b'"'),
                1 => Just(b'\\'),
                1 => 0u8..0x20,
            ],
            len,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// The block search stops where a byte-by-byte search does, from any offset, whichever
        /// block it last read: searches go forward, back, and into the last short block.
        #[test]
        fn stops_are_where_a_byte_by_byte_search_stops(
            bytes in text_bytes(0..300),
            froms in prop::collection::vec(0usize..301, 1..8),
        ) {
            let mut stops = Stops::new();
            for from in froms {
                let from = from.min(bytes.len());
                prop_assert_eq!(stops.find(&bytes, from), byte_by_byte(&bytes, from));
            }
        }

        /// Each way of finding a block's stops (AVX2 where the processor has it, SSE2, eight
        /// bytes at a time) finds each one.
        #[test]
        fn block_masks_have_every_stop_and_nothing_else(bytes in text_bytes(64..65)) {
            let block: &[u8; BLOCK] = bytes.as_slice().try_into().unwrap();
            let expected = mask_byte_by_byte(block);
            prop_assert_eq!(full_block_mask(block), expected);
            #[cfg(target_arch = "x86_64")]
            {
                // SAFETY: SSE2 is part of the x86-64 baseline.
                prop_assert_eq!(unsafe { sse2_block_mask(block) }, expected);
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the processor has AVX2, as just checked.
                    prop_assert_eq!(unsafe { avx2_block_mask(block) }, expected);
                }
            }
            let by_words = block
                .chunks_exact(8)
                .enumerate()
                .fold(0, |mask, (i, eight)| {
                    mask | word_mask(u64::from_le_bytes(eight.try_into().unwrap())) << (8 * i)
                });
            prop_assert_eq!(by_words, expected);
        }
    }

    /// The values of a key's members, where they are, as serde would check them; and no
    /// answer for what the walk cannot read (serde reads it then).
    #[test]
    fn member_values_are_found_where_written_and_checked() {
        let text = r#" { "a":1, "status" : {"x":[1, "]"]} ,"b":null,"status":"s\"t"} "#;
        let values: Vec<&str> = member_values(text, "status")
            .unwrap()
            .into_iter()
            .map(|v| &text[v])
            .collect();
        assert_eq!(values, [r#"{"x":[1, "]"]}"#, r#""s\"t""#]);
        assert_eq!(member_values(r#"{"a":{}}"#, "status"), Some(vec![]));
        assert_eq!(member_values("{}", "status"), Some(vec![]));
        for unread in [
            // An escaped key, which may be the one asked for.
            r#"{"st\u0061tus":1}"#,
            // Values serde refuses to ignore.
            r#"{"status":{"a":tru}}"#,
            r#"{"a":01,"status":1}"#,
            r#"{"status":"\x"}"#,
            // Not one object alone.
            r#"{"status":1} x"#,
            r#"{"status":1"#,
            "[1]",
            "",
        ] {
            assert_eq!(member_values(unread, "status"), None, "{unread}");
        }
        let deep = format!(r#"{{"status":{}{}}}"#, "[".repeat(70), "]".repeat(70));
        assert_eq!(member_values(&deep, "status"), None);
    }
}
