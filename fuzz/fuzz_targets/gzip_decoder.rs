//! The gzip decoder of this build (ISA-L's when `build.rs` found it) against flate2's, on
//! arbitrary bytes and on members with arbitrary damage: nothing may panic or hang, what
//! flate2 takes ours takes with the same bytes, and an undamaged member reads the same.
//! (Inside a damaged member each hands out what it inflated before it found the damage, may
//! call it truncated where the other calls it corrupt, and ISA-L takes some streams with a
//! malformed Huffman table that zlib rejects: see `src/input/isal.rs`.)
#![no_main]

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;
use nodeauthz::input::source::gzip_decoder;
use std::io::{self, BufReader, Read, Write};

/// A few kilobytes of deflate data can inflate to megabytes, which reads of one byte at a time
/// under the sanitizer take seconds to drain: both decoders are read this far, no further.
const MAX_OUT: usize = 1 << 18;

/// Reads of at most `.1` bytes, so that the decoders meet the ends of their reads anywhere.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.1).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// How a decoder's reading ended.
#[derive(Debug, PartialEq)]
enum End {
    Clean,
    Failed(io::ErrorKind),
    /// [`MAX_OUT`] bytes came out first.
    Capped,
}

fn drain(mut r: impl Read, step: usize) -> (Vec<u8>, End) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    while out.len() < MAX_OUT {
        match r.read(&mut buf) {
            Ok(0) => return (out, End::Clean),
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) => return (out, End::Failed(e.kind())),
        }
    }
    (out, End::Capped)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut damaged = true;
    let input = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        // A member of the rest's tail, with the byte at the position its first two bytes give
        // changed by the third.
        let (spec, payload) = rest.split_at(rest.len().min(3));
        let mut e = GzEncoder::new(
            Vec::new(),
            flate2::Compression::new(u32::from(mode >> 4) % 10),
        );
        e.write_all(payload).unwrap();
        let mut member = e.finish().unwrap();
        if let [hi, lo, flip] = *spec {
            let at = usize::from(u16::from_be_bytes([hi, lo])) % member.len();
            member[at] ^= flip;
            damaged = flip != 0;
        } else {
            damaged = false;
        }
        member
    };
    let step = 1 + usize::from(mode >> 1 & 7) * 997;
    let capacity = 1 + usize::from(mode >> 4) * 613;
    let flate2 = drain(
        MultiGzDecoder::new(BufReader::with_capacity(
            capacity,
            Trickle(&input, capacity),
        )),
        step,
    );
    let ours = drain(gzip_decoder(Trickle(&input, capacity)).unwrap(), step);
    if !damaged {
        assert_eq!(ours, flate2);
    }
    if flate2.1 == End::Clean {
        assert_eq!(ours, flate2);
    }
});
