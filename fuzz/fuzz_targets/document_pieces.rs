//! Arbitrary bytes as concatenated JSON documents, cut into pieces between documents: as a
//! mapped file is, and as a stream is (the block reader's blocks, long lines dropped, through
//! the document stream). The pieces must read like the whole input: the same lines, events and
//! bad lines, also where a document or a line is over the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::input::source::{Block, BlockReader};
use nodeauthz::scan::chunk::{process_documents, too_long, ChunkCtx, ChunkOut};
use nodeauthz::scan::documents::{documents_of, DocumentPiece, DocumentStream};

/// Lines, used, skipped, events, and every bad line with its line in the whole input.
type Reading = (u64, u64, u64, u64, Vec<(String, u64, u64, String)>);

fn reading(outs: &[ChunkOut]) -> Reading {
    let (mut lines, mut used, mut skipped, mut events) = (0, 0, 0, 0);
    let mut bad = Vec::new();
    for o in outs {
        bad.extend(
            o.bad
                .iter()
                .map(|b| (format!("{:?}", b.kind), b.line + lines, b.lines, b.reason.clone())),
        );
        lines += o.lines;
        used += o.used;
        skipped += o.skipped;
        events += o.events;
    }
    (lines, used, skipped, events, bad)
}

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, input)) = data.split_first() else {
        return;
    };
    let size = usize::from(knobs & 0x07) * 7 + 1;
    let block = usize::from((knobs >> 3) & 0x07) * 5 + 1;
    let limit = if knobs & 0x40 != 0 { 40 } else { 1 << 16 };
    let ctx = ChunkCtx {
        in_file: None,
        prefilter: None,
        want_object_events: true,
        max_line: limit,
        file: 0,
    };
    let whole = reading(&[process_documents(input, &ctx)]);

    let pieces: Vec<&[u8]> = documents_of(input, size).collect();
    assert_eq!(pieces.concat(), input);
    let outs: Vec<ChunkOut> = pieces.iter().map(|p| process_documents(p, &ctx)).collect();
    assert_eq!(reading(&outs), whole);

    // As `scan` reads a stream of documents.
    let mut reader = BlockReader::new(input, block, limit);
    let mut stream = DocumentStream::new(size, limit);
    let mut streamed = Vec::new();
    while let Some(b) = reader.next_block() {
        match b.expect("reading a slice does not fail") {
            Block::Lines(v) => streamed.extend(stream.push(&v)),
            Block::LongLine { effect, .. } => streamed.extend(stream.long_line(&effect)),
        }
    }
    streamed.extend(stream.finish());
    let outs: Vec<ChunkOut> = streamed
        .iter()
        .map(|p| match p {
            DocumentPiece::Documents(v) => process_documents(v, &ctx),
            DocumentPiece::TooLong { lines } => {
                let (kind, reason) = too_long(*lines, limit);
                ChunkOut::all_bad(kind, *lines, reason)
            }
        })
        .collect();
    assert_eq!(reading(&outs), whole);
});
