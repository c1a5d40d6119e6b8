//! gzip inputs inflated by ISA-L (Intel's Intelligent Storage Acceleration Library), when the
//! build found it (see `build.rs`).
//!
//! ISA-L's inflate (hand-written assembly with runtime CPU dispatch) decodes this project's
//! generated 1 GB log at about twice the rate of zlib-rs behind flate2, and a gzip input is
//! read no faster than it is inflated. [`IsalGzDecoder`] reads concatenated members the way
//! flate2's `MultiGzDecoder` does, so that a log reads the same either way: the same bytes
//! from whole members; an input that ends inside a member (or holds nothing at all) is
//! [`io::ErrorKind::UnexpectedEof`], with the same bytes before it but for the last symbol or
//! two; anything after a member that is not another member is [`io::ErrorKind::InvalidInput`],
//! as is a member ISA-L finds corrupt, after the bytes inflated before the damage. Inside a
//! damaged member the two may stop at different bytes, and, rarely, one may call truncated a
//! member the other calls corrupt (in 998 of 276,165 single-byte changes of small members,
//! none of 3,000-byte ones): a bad gzip input either way. ISA-L also takes some deflate
//! streams zlib rejects for a malformed Huffman table that still inflate to bytes whose CRC-32
//! and length check out (the fuzz target found one), and header names and comments longer
//! than flate2's limit of 65,535 bytes; every member flate2 takes, ISA-L takes, with the same
//! bytes. The tests below and the `gzip_decoder` fuzz target hold it to this.

use std::ffi::c_int;
use std::io::{self, Read};
use std::ptr::NonNull;

/// ISA-L's `struct inflate_state`, only ever behind a pointer from `nodeauthz_isal_new`.
#[repr(C)]
struct InflateState {
    _opaque: [u8; 0],
}

extern "C" {
    // In src/input/isal_shim.c.
    fn nodeauthz_isal_new() -> *mut InflateState;
    fn nodeauthz_isal_free(state: *mut InflateState);
    fn nodeauthz_isal_next_member(state: *mut InflateState);
    fn nodeauthz_isal_inflate(
        state: *mut InflateState,
        input: *const u8,
        in_len: u32,
        out: *mut u8,
        out_len: u32,
        consumed: *mut i64,
        produced: *mut u32,
        member_end: *mut c_int,
    ) -> c_int;
}

/// Where a decoder is between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Before the input's first member: an input that ends here is truncated (flate2 reads an
    /// empty `.gz` file so).
    Start,
    /// Inside a member.
    InMember,
    /// After a member's trailer: the input may end, or another member start.
    BetweenMembers,
    /// At the end, or after an error (which is not repeated, like flate2's).
    Done,
}

/// How many bytes of compressed input are read at a time.
const INPUT_BUFFER: usize = 1 << 20;
/// How many bytes already handed to ISA-L are kept before the next ones. ISA-L 2.30 stops
/// exactly at a member's end, but its stateless inflate gives back read-ahead bytes (at most
/// 8, its bit buffer) by moving `next_in` back, and a version whose streaming inflate did so
/// at a member's end could move it before the current call's input: those bytes are kept.
const GIVEN_BACK_MAX: usize = 16;
/// How many bytes a member's first call is given at once when the input has them: ISA-L
/// checks a header's CRC-16 (FHCRC) over the bytes of one call only, so a header split across
/// calls would fail its check. Headers are tens of bytes; the longest flate2 takes (each of
/// FEXTRA, FNAME and FCOMMENT at most 65,535 bytes) is 196,621, which this holds whole.
const HEADER_WINDOW: usize = 256 << 10;

/// A reader of the decompressed bytes of concatenated gzip members, inflated by ISA-L.
pub struct IsalGzDecoder<R> {
    inner: R,
    /// Compressed bytes: `input[..pos]` handed to ISA-L (the last [`GIVEN_BACK_MAX`] of them
    /// kept for it to give back), `input[pos..end]` not yet.
    input: Box<[u8]>,
    pos: usize,
    end: usize,
    at_eof: bool,
    state: NonNull<InflateState>,
    position: Position,
    /// An error found by the call that handed out the bytes inflated before it.
    pending: Option<io::Error>,
}

// SAFETY: the state is plain memory owned by this decoder alone (ISA-L keeps no thread-local
// or global state for inflate), so it may be used from another thread than the one that made
// it, though never from two at once: every use goes through `&mut self`.
unsafe impl<R: Send> Send for IsalGzDecoder<R> {}

impl<R: Read> IsalGzDecoder<R> {
    /// A decoder reading gzip members from `inner` (buffered here: no need for a `BufReader`).
    pub fn new(inner: R) -> io::Result<Self> {
        // SAFETY: no precondition; a null return is handled.
        let state = NonNull::new(unsafe { nodeauthz_isal_new() })
            .ok_or_else(|| io::Error::new(io::ErrorKind::OutOfMemory, "ISA-L inflate state"))?;
        Ok(IsalGzDecoder {
            inner,
            input: vec![0; INPUT_BUFFER].into_boxed_slice(),
            pos: 0,
            end: 0,
            at_eof: false,
            state,
            position: Position::Start,
            pending: None,
        })
    }

    /// Makes `input[pos..end]` the compressed bytes not yet handed to ISA-L, at least `want`
    /// of them (at least one) unless the input ends first, reading more as needed, with the
    /// last ones handed kept before them. (On a pipe this waits for `want` bytes or its end;
    /// gzip inputs are files.)
    fn fill(&mut self, want: usize) -> io::Result<()> {
        let want = want.clamp(1, INPUT_BUFFER - GIVEN_BACK_MAX);
        if self.end - self.pos >= want || self.at_eof {
            return Ok(());
        }
        let kept = self.pos.min(GIVEN_BACK_MAX);
        self.input.copy_within(self.pos - kept..self.end, 0);
        self.end -= self.pos - kept;
        self.pos = kept;
        while self.end - self.pos < want {
            let read = match self.inner.read(&mut self.input[self.end..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => r?,
            };
            if read == 0 {
                self.at_eof = true;
                break;
            }
            self.end += read;
        }
        Ok(())
    }

    fn fail(&mut self, kind: io::ErrorKind, message: String) -> io::Error {
        self.position = Position::Done;
        io::Error::new(kind, message)
    }
}

/// The length of a gzip member's fixed header (RFC 1952, 2.3), and where its flags are.
const FIXED_HEADER: usize = 10;
const FLAGS: usize = 3;
/// The flags' reserved bits, which must be zero.
const RESERVED: u8 = 0xe0;

/// What ISA-L's error codes (`igzip_lib.h`) mean, for the error message.
fn describe(code: c_int) -> &'static str {
    match code {
        -1 => "invalid deflate block",
        -2 => "invalid deflate symbol",
        -3 => "invalid lookback distance",
        -4 => "invalid gzip header",
        -5 => "unsupported compression method",
        -6 => "checksum mismatch",
        _ => "inflate error",
    }
}

impl<R: Read> Read for IsalGzDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // ISA-L counts in u32.
        let out_len = buf.len().min(u32::MAX as usize) as u32;
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        loop {
            if self.position == Position::Done {
                return Ok(0);
            }
            let starting = matches!(self.position, Position::Start | Position::BetweenMembers);
            self.fill(if starting { HEADER_WINDOW } else { 1 })?;
            let input = &self.input[self.pos..self.end];
            let at_eof = input.is_empty();
            match self.position {
                Position::BetweenMembers if at_eof => {
                    self.position = Position::Done;
                    return Ok(0);
                }
                Position::BetweenMembers => {
                    // SAFETY: the state is ours and valid (see `new`).
                    unsafe { nodeauthz_isal_next_member(self.state.as_ptr()) };
                    self.position = Position::InMember;
                }
                Position::Start => self.position = Position::InMember,
                Position::InMember | Position::Done => {}
            }
            // ISA-L ignores the flags' reserved bits; RFC 1952 (2.3.1.2) and flate2 take them
            // for a bad header, once its fixed part has come whole. A member's first call has
            // its whole header, when the input holds it ([`HEADER_WINDOW`]).
            if starting && input.len() >= FIXED_HEADER && input[FLAGS] & RESERVED != 0 {
                // Checked before ISA-L sees the magic bytes, so worded as flate2 words any bad
                // header (trailing garbage gets here first).
                return Err(self.fail(io::ErrorKind::InvalidInput, "invalid gzip header".into()));
            }
            let in_len = input.len().min(u32::MAX as usize) as u32;
            let (mut consumed, mut produced, mut member_end) = (0i64, 0u32, 0 as c_int);
            // SAFETY: ISA-L reads at most `in_len` bytes from `input` and writes at most
            // `out_len` bytes to `buf`, both live borrows of at least that length, and keeps
            // no pointer to either past the call (the shim sets both again at every call);
            // what it gives back of earlier input it only counts, never reads.
            let code = unsafe {
                nodeauthz_isal_inflate(
                    self.state.as_ptr(),
                    input.as_ptr(),
                    in_len,
                    buf.as_mut_ptr(),
                    out_len,
                    &mut consumed,
                    &mut produced,
                    &mut member_end,
                )
            };
            if code < 0 {
                // The input's place no longer matters (nothing is read after an error), and
                // ISA-L does not always leave it right then.
                // flate2 says InvalidInput for a bad header, checksum or deflate stream alike.
                let e = self.fail(
                    io::ErrorKind::InvalidInput,
                    format!("corrupt gzip stream: {}", describe(code)),
                );
                if produced == 0 {
                    return Err(e);
                }
                // A member's bytes come out before its checksum is found wrong, as in flate2.
                self.pending = Some(e);
                return Ok(produced as usize);
            }
            // Given back past what this buffer kept, or more taken than given: never seen, and
            // the input's place would be lost.
            let Some(pos) = self
                .pos
                .checked_add_signed(consumed as isize)
                .filter(|&p| p <= self.end)
            else {
                return Err(self.fail(
                    io::ErrorKind::InvalidData,
                    format!("ISA-L inflate moved its input by {consumed} bytes"),
                ));
            };
            if consumed < 0 && member_end == 0 {
                // Bytes given back mid-member would be read again: never seen either.
                return Err(self.fail(
                    io::ErrorKind::InvalidData,
                    format!("ISA-L inflate moved its input back {consumed} bytes mid-member"),
                ));
            }
            self.pos = pos;
            if member_end != 0 {
                self.position = Position::BetweenMembers;
            }
            if produced > 0 {
                return Ok(produced as usize);
            }
            if member_end == 0 && at_eof {
                // With no input left, a call that writes nothing has nothing more to write.
                return Err(self.fail(
                    io::ErrorKind::UnexpectedEof,
                    "gzip stream ends inside a member".into(),
                ));
            }
            if member_end == 0 && consumed == 0 {
                // Never seen; looping would ask for the same input again forever.
                return Err(self.fail(
                    io::ErrorKind::InvalidData,
                    "ISA-L inflate took no input and gave no output".into(),
                ));
            }
        }
    }
}

impl<R> Drop for IsalGzDecoder<R> {
    fn drop(&mut self) {
        // SAFETY: made by `nodeauthz_isal_new`, freed once, here.
        unsafe { nodeauthz_isal_free(self.state.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::MultiGzDecoder;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use proptest::prelude::*;
    use std::io::{BufReader, Write};

    fn gz(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// What a decoder gives: its bytes, and how it ended (`None`: cleanly).
    fn drain(mut r: impl Read, step: usize) -> (Vec<u8>, Option<io::ErrorKind>) {
        let mut out = Vec::new();
        let mut buf = vec![0u8; step];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(k) => out.extend_from_slice(&buf[..k]),
                Err(e) => return (out, Some(e.kind())),
            }
        }
    }

    /// A reader handing out at most `most` bytes at a time, so that the decoders meet the
    /// ends of their reads anywhere in a member.
    struct Trickle<'a> {
        bytes: &'a [u8],
        most: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.most).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// Both decoders' bytes and ends, reading `input` through reads of `capacity` bytes and
    /// handing out `step` at a time.
    fn both(input: &[u8], step: usize, capacity: usize) -> [(Vec<u8>, Option<io::ErrorKind>); 2] {
        let trickle = || Trickle {
            bytes: input,
            most: capacity,
        };
        let flate2 = drain(
            MultiGzDecoder::new(BufReader::with_capacity(capacity, trickle())),
            step,
        );
        let isal = drain(IsalGzDecoder::new(trickle()).unwrap(), step);
        [flate2, isal]
    }

    #[test]
    fn edge_cases_read_as_flate2_reads_them() {
        let a = gz(b"hello\nworld\n", 1);
        let b = gz(b"second\n", 6);
        let cat = |parts: &[&[u8]]| parts.concat();
        let mut bad_crc = a.clone();
        let n = bad_crc.len();
        bad_crc[n - 6] ^= 1;
        let mut bad_size = a.clone();
        bad_size[n - 2] ^= 1;
        let cases: Vec<(&str, Vec<u8>, usize, Option<io::ErrorKind>)> = vec![
            ("empty file", vec![], 0, Some(io::ErrorKind::UnexpectedEof)),
            ("one member", a.clone(), 12, None),
            ("two members", cat(&[&a, &b]), 19, None),
            ("empty member first", cat(&[&gz(b"", 6), &a]), 12, None),
            (
                "trailing garbage",
                cat(&[&a, b"xx not gzip"]),
                12,
                Some(io::ErrorKind::InvalidInput),
            ),
            (
                "garbage only",
                b"not gzip at all".to_vec(),
                0,
                Some(io::ErrorKind::InvalidInput),
            ),
            (
                "second member cut in its data",
                cat(&[&a, &b[..b.len() / 2]]),
                14,
                Some(io::ErrorKind::UnexpectedEof),
            ),
            (
                "second member cut in its header",
                cat(&[&a, &b[..5]]),
                12,
                Some(io::ErrorKind::UnexpectedEof),
            ),
            (
                "a lone magic byte",
                cat(&[&a, &[0x1f]]),
                12,
                Some(io::ErrorKind::UnexpectedEof),
            ),
            (
                "eight zero bytes",
                cat(&[&a, &[0; 8]]),
                12,
                Some(io::ErrorKind::UnexpectedEof),
            ),
            (
                "sixteen zero bytes",
                cat(&[&a, &[0; 16]]),
                12,
                Some(io::ErrorKind::InvalidInput),
            ),
            ("bad crc", bad_crc, 12, Some(io::ErrorKind::InvalidInput)),
            ("bad size", bad_size, 12, Some(io::ErrorKind::InvalidInput)),
        ];
        for (name, input, len, end) in cases {
            for (step, capacity) in [(1, 1), (3, 2), (7, 8192), (1 << 16, 1 << 16)] {
                let [flate2, isal] = both(&input, step, capacity);
                assert_eq!(isal, flate2, "{name}, reads of {step}, buffer {capacity}");
                assert_eq!((isal.0.len(), isal.1), (len, end), "{name}");
            }
        }
    }

    #[test]
    fn a_header_with_every_optional_field_is_read() {
        // FEXTRA | FNAME | FCOMMENT, as `gzip` and other writers may set them (FHCRC: below).
        let mut e = flate2::GzBuilder::new()
            .extra(b"ex".to_vec())
            .filename("audit.log")
            .comment("rotated")
            .operating_system(3)
            .write(Vec::new(), Compression::default());
        e.write_all(b"{\"kind\":\"Event\"}\n").unwrap();
        let member = e.finish().unwrap();
        let [flate2, isal] = both(&[&member[..], &member[..]].concat(), 4096, 4096);
        assert_eq!(isal, flate2);
        assert_eq!(isal.0, b"{\"kind\":\"Event\"}\n{\"kind\":\"Event\"}\n");
    }

    #[test]
    fn a_header_with_its_own_crc_split_across_reads_is_read() {
        // flate2's GzBuilder never writes FHCRC: set it, and the header's CRC-16, by hand.
        let body = gz(b"{\"kind\":\"Event\"}\n", 6);
        let mut header = body[..10].to_vec();
        header[3] |= 0x02;
        let mut crc = flate2::Crc::new();
        crc.update(&header);
        let mut member = header;
        member.extend_from_slice(&((crc.sum() & 0xffff) as u16).to_le_bytes());
        member.extend_from_slice(&body[10..]);
        for capacity in [4096, 1, 5, 11] {
            let [flate2, isal] = both(&[&member[..], &member[..]].concat(), 4096, capacity);
            assert_eq!(flate2.1, None);
            assert_eq!(isal, flate2, "reads of at most {capacity}");
        }
    }

    #[test]
    fn many_members_past_the_header_window_read_whole() {
        // Over HEADER_WINDOW in all, so that a member starting near the end of what was read
        // makes `fill` move the unread bytes to the front and read more after them.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut text = || -> Vec<u8> {
            (0..1500)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    b"{}\":,abcdefghijklmnopqrstuvwxyz0123456789\n"[(seed >> 59) as usize]
                })
                .collect()
        };
        let texts: Vec<Vec<u8>> = (0..600).map(|_| text()).collect();
        let input: Vec<u8> = texts
            .iter()
            .enumerate()
            .flat_map(|(i, t)| gz(t, i as u32 % 10))
            .collect();
        assert!(input.len() > 2 * HEADER_WINDOW, "{}", input.len());
        for capacity in [1 << 20, 4096, 1] {
            let [flate2, isal] = both(&input, 1 << 16, capacity);
            assert_eq!(flate2, (texts.concat(), None));
            assert_eq!(isal, flate2, "reads of at most {capacity}");
        }
    }

    #[test]
    fn reserved_header_flags_are_refused_as_flate2_refuses_them() {
        // ISA-L alone would read this member. (The reads of a few bytes check that the first
        // call of a member still gets its whole header.)
        let mut member = gz(b"x", 6);
        member[3] |= 0x20;
        for capacity in [4096, 1, 2, 4] {
            let [flate2, isal] = both(&member, 4096, capacity);
            assert_eq!(isal, flate2);
            assert_eq!(isal, (vec![], Some(io::ErrorKind::InvalidInput)));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Members of random bytes, cut anywhere or followed by random bytes, read through
        /// reads of random sizes: the same end as flate2's (so the same bad-input kind) and
        /// the same bytes, but for the last symbol or two of a member cut inside; a member
        /// cut inside and followed by other bytes is a damaged one, which both must reject.
        #[test]
        fn reads_what_flate2_reads(
            members in prop::collection::vec((prop::collection::vec(any::<u8>(), 0..3000), 0u32..10), 1..4),
            cut in prop::option::of(any::<prop::sample::Index>()),
            tail in prop::collection::vec(any::<u8>(), 0..20),
            step in 1usize..5000,
            capacity in 1usize..5000,
        ) {
            let encoded: Vec<Vec<u8>> = members.iter().map(|(m, level)| gz(m, *level)).collect();
            let mut input = encoded.concat();
            let cut = cut.map_or(input.len(), |c| c.index(input.len() + 1));
            input.truncate(cut);
            input.extend_from_slice(&tail);
            let [flate2, isal] = both(&input, step, capacity);
            // The members that end before the cut, and whether it falls between two.
            let mut whole = Vec::new();
            let mut end = 0;
            let mut at_boundary = cut == 0;
            for (m, e) in members.iter().zip(&encoded) {
                end += e.len();
                if end > cut {
                    break;
                }
                whole.extend_from_slice(&m.0);
                at_boundary |= end == cut;
            }
            prop_assert!(isal.0.starts_with(&whole));
            if at_boundary {
                prop_assert_eq!(&isal, &flate2);
            } else if tail.is_empty() {
                prop_assert_eq!(isal.1, flate2.1);
                prop_assert!(flate2.0.starts_with(&isal.0));
                prop_assert!(flate2.0.len() - isal.0.len() <= 2);
            } else {
                prop_assert!(isal.1.is_some() && flate2.1.is_some());
            }
        }

        /// A member with one byte changed and taken by flate2 is taken by this decoder with
        /// the same bytes; rejected by flate2, it is rejected here too but for a malformed
        /// Huffman table that still inflates to the checked bytes (see the module's doc).
        #[test]
        fn a_damaged_member_fails_as_in_flate2(
            text in prop::collection::vec(prop::sample::select(b"{}\":,abcdefgh01\n".to_vec()), 1..4000),
            at in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let mut input = gz(&text, 6);
            let i = at.index(input.len());
            input[i] ^= flip;
            let [flate2, isal] = both(&input, 1 << 16, 1 << 16);
            // Taken, a member inflates to its text: its CRC-32 and length were checked.
            if flate2.1.is_none() {
                prop_assert_eq!(&flate2.0, &text);
                prop_assert_eq!(&isal, &flate2);
            }
            if isal.1.is_none() {
                prop_assert_eq!(&isal.0, &text);
            }
        }
    }
}
