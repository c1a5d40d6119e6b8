//! Arbitrary bytes as concatenated JSON documents, cut into pieces between documents (as a
//! mapped file and as a stream of blocks of any size): the pieces cover the input, and
//! parsing them one by one accounts for the same lines, events and bad lines as parsing the
//! whole input at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::scan::chunk::{process_documents, ChunkCtx, ChunkOut};
use nodeauthz::scan::documents::{documents_of, DocumentPiece, DocumentStream};

/// Lines, used, skipped, events, and every bad line with its line in the whole input.
fn reading(outs: &[ChunkOut]) -> (u64, u64, u64, u64, Vec<(String, u64, u64, String)>) {
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
    let size = usize::from(knobs & 0x0f) * 7 + 1;
    let block = usize::from(knobs >> 4) * 5 + 1;
    let ctx = ChunkCtx {
        prefilter: None,
        want_object_events: true,
        max_line: 1 << 16,
        file: 0,
    };
    let whole = reading(&[process_documents(input, &ctx)]);

    let pieces: Vec<&[u8]> = documents_of(input, size).collect();
    assert_eq!(pieces.concat(), input);
    let outs: Vec<ChunkOut> = pieces.iter().map(|p| process_documents(p, &ctx)).collect();
    assert_eq!(reading(&outs), whole);

    // A stream with no document over its limit cuts at the same points.
    let mut stream = DocumentStream::new(size, usize::MAX);
    let mut streamed = Vec::new();
    for b in input.chunks(block) {
        streamed.extend(stream.push(b));
    }
    streamed.extend(stream.finish());
    let bytes: Vec<u8> = streamed
        .iter()
        .flat_map(|p| match p {
            DocumentPiece::Documents(v) => v.clone(),
            DocumentPiece::TooLong { .. } | DocumentPiece::LongLine => unreachable!("no limit"),
        })
        .collect();
    assert_eq!(bytes, input);
    let outs: Vec<ChunkOut> = streamed
        .iter()
        .map(|p| match p {
            DocumentPiece::Documents(v) => process_documents(v, &ctx),
            DocumentPiece::TooLong { .. } | DocumentPiece::LongLine => unreachable!(),
        })
        .collect();
    assert_eq!(reading(&outs), whole);
});
