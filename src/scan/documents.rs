//! Cutting an input of concatenated JSON documents (pretty-printed events, EventLists) into
//! pieces that each hold whole documents, so that such inputs are parsed in parallel like
//! line-shaped ones, and a stream of them (gzip, stdin) is never held whole in memory.
//!
//! A cut is made only just after a newline outside every document: outside strings, with
//! every `{` and `[` closed. A line then belongs to exactly one piece, so the line accounting
//! of each piece adds up to the input's. The same rule lets the document parser
//! ([`super::chunk::process_documents`]) resynchronise after a malformed document: whatever
//! the parser makes of it, the next document starts after the next such newline, which is
//! where the cutter cuts too, so the result does not depend on where the pieces end.

/// Where a byte scan is in the JSON structure of the input. The default state is outside
/// every document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocumentCutter {
    /// Open `{` and `[` (a stray closing bracket outside any document is ignored).
    depth: u32,
    strings: Strings,
}

/// Where a byte scan is with respect to JSON strings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Strings {
    inside: bool,
    /// The previous byte was a backslash inside a string.
    escaped: bool,
}

impl Strings {
    /// Takes the next byte; true when it is outside every string and not a quote, so that it
    /// may open or close a bracket, or end a document.
    fn structural(&mut self, b: u8) -> bool {
        if self.inside {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.inside = false;
            }
            return false;
        }
        if b == b'"' {
            self.inside = true;
            return false;
        }
        true
    }
}

impl DocumentCutter {
    /// Scans `bytes` on from the current state and returns the offset just after the first
    /// newline outside every document, leaving the state there; `None` if there is none, with
    /// the state at the end of `bytes`.
    pub fn find(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            if !self.strings.structural(b) {
                if self.strings.inside && !self.strings.escaped {
                    // Most of a pretty-printed event is inside strings: jump to the next byte
                    // that can end one.
                    i = memchr::memchr2(b'"', b'\\', &bytes[i..]).map_or(bytes.len(), |n| i + n);
                }
                continue;
            }
            match b {
                b'{' | b'[' => self.depth = self.depth.saturating_add(1),
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                b'\n' if self.depth == 0 => return Some(i),
                _ => {}
            }
        }
        None
    }

    /// Moves on over bytes that were dropped unread (a line over the limit, without its
    /// newline), as if it had scanned them.
    pub fn skip(&mut self, dropped: &LineEffect) {
        let walk = if self.strings.inside {
            &dropped.from_string
        } else {
            &dropped.from_outside
        };
        // A walk of +1/-1 steps clamped at zero ends at the larger of the unclamped end and
        // the rise after its lowest point.
        let depth = i64::from(self.depth);
        let end = (depth + walk.net).max(walk.net - walk.low);
        self.depth = u32::try_from(end.max(0)).unwrap_or(u32::MAX);
        self.strings = walk.strings;
    }
}

/// What a line dropped unread (longer than the limit) does to a [`DocumentCutter`], worked out
/// while its bytes go by, for both states the line can start in: outside or inside a string.
/// A newline ends any escape, so those are the only two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineEffect {
    from_outside: Walk,
    from_string: Walk,
}

/// The bracket depth walk of some bytes from one starting state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Walk {
    strings: Strings,
    /// Depth change so far (unclamped), and its lowest value (0 at the start).
    net: i64,
    low: i64,
}

impl Walk {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if !self.strings.structural(b) {
                continue;
            }
            match b {
                b'{' | b'[' => self.net += 1,
                b'}' | b']' => {
                    self.net -= 1;
                    self.low = self.low.min(self.net);
                }
                _ => {}
            }
        }
    }
}

impl Default for LineEffect {
    fn default() -> Self {
        LineEffect {
            from_outside: Walk::default(),
            from_string: Walk {
                strings: Strings {
                    inside: true,
                    escaped: false,
                },
                ..Walk::default()
            },
        }
    }
}

impl LineEffect {
    /// Takes the next dropped bytes (no newline among them).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.from_outside.feed(bytes);
        self.from_string.feed(bytes);
    }
}

/// Cuts `buf` into pieces of at least `size` bytes (the last may be shorter), each ending at a
/// cut point (see the module doc) or at the end of `buf`. Like [`super::chunks_of`], a piece is
/// found only when it is asked for.
pub fn documents_of(buf: &[u8], size: usize) -> impl Iterator<Item = &[u8]> {
    let mut cutter = DocumentCutter::default();
    let (mut start, mut pos) = (0, 0);
    std::iter::from_fn(move || {
        if start >= buf.len() {
            return None;
        }
        loop {
            match cutter.find(&buf[pos..]) {
                Some(n) => {
                    pos += n;
                    if pos - start >= size.max(1) || pos == buf.len() {
                        break;
                    }
                }
                None => {
                    pos = buf.len();
                    break;
                }
            }
        }
        let piece = &buf[start..pos];
        start = pos;
        Some(piece)
    })
}

/// What [`DocumentStream::push`] and [`DocumentStream::finish`] hand on.
#[derive(Debug, PartialEq, Eq)]
pub enum DocumentPiece {
    /// Whole documents (and the white space around them), ending at a cut point, or at the
    /// end of the input for the last piece.
    Documents(Vec<u8>),
    /// The lines between two cut points that hold more than the limit (a document longer
    /// than the limit, or one with a line longer than the limit), dropped unparsed, as
    /// [`super::chunk::process_documents`] reports them in a mapped file.
    TooLong {
        /// How many lines.
        lines: u64,
    },
}

/// Cuts a stream of newline-aligned blocks into [`DocumentPiece`]s, holding at most about
/// `size` bytes plus what is between two cut points: once that is over `limit`, it is dropped
/// and counted up to the next cut point. What is handed on parses as in a mapped file, where
/// [`super::chunk::process_documents`] reports what is over the limit the same way.
#[derive(Debug)]
pub struct DocumentStream {
    size: usize,
    limit: usize,
    cutter: DocumentCutter,
    /// Bytes not handed on yet, all scanned by the cutter; the first `cut` end at a cut point.
    pending: Vec<u8>,
    cut: usize,
    /// What has been dropped of a document over the limit, while one is being skipped.
    skipping: Option<Skipped>,
}

/// The bytes of a document over the limit, counted as they are dropped.
#[derive(Debug, Default)]
struct Skipped {
    newlines: u64,
    /// The last byte dropped was not a newline: a line is open.
    open: bool,
}

impl Skipped {
    fn add(&mut self, bytes: &[u8]) {
        self.newlines += memchr::memchr_iter(b'\n', bytes).count() as u64;
        if let Some(&last) = bytes.last() {
            self.open = last != b'\n';
        }
    }

    fn lines(&self) -> u64 {
        self.newlines + u64::from(self.open)
    }
}

impl DocumentStream {
    /// A stream cut into pieces of at least `size` bytes, with documents of at most `limit`.
    pub fn new(size: usize, limit: usize) -> Self {
        DocumentStream {
            size: size.max(1),
            limit: limit.max(1),
            cutter: DocumentCutter::default(),
            pending: Vec::new(),
            cut: 0,
            skipping: None,
        }
    }

    /// Takes the next block of the stream; returns the pieces it completes, in order.
    pub fn push(&mut self, block: &[u8]) -> Vec<DocumentPiece> {
        let mut out = Vec::new();
        let mut block = block;
        if let Some(skip) = self.skipping.as_mut() {
            match self.cutter.find(block) {
                Some(n) => {
                    skip.add(&block[..n]);
                    out.push(DocumentPiece::TooLong {
                        lines: skip.lines(),
                    });
                    self.skipping = None;
                    block = &block[n..];
                }
                None => {
                    skip.add(block);
                    return out;
                }
            }
        }
        let mut scanned = self.pending.len();
        self.pending.extend_from_slice(block);
        while let Some(n) = self.cutter.find(&self.pending[scanned..]) {
            scanned += n;
            self.cut = scanned;
        }
        if self.cut >= self.size {
            out.extend(self.hand_on_cut());
        }
        if self.pending.len() - self.cut > self.limit {
            // What is being read is over the limit: the rest of it is counted and dropped up
            // to the next cut point.
            let skip = self.drop_open(&mut out);
            self.skipping = Some(skip);
        }
        out
    }

    /// Hands on what is pending up to the last cut point, and drops the rest (the open
    /// region), counted.
    fn drop_open(&mut self, out: &mut Vec<DocumentPiece>) -> Skipped {
        out.extend(self.hand_on_cut());
        let mut skip = Skipped::default();
        skip.add(&self.pending);
        self.pending = Vec::new();
        skip
    }

    /// The block reader dropped a line longer than the limit (`dropped`: what its bytes do to
    /// the cutter). The lines from the last cut point to the next, the dropped one among them,
    /// are over the limit: they are counted and dropped like any such.
    pub fn long_line(&mut self, dropped: &LineEffect) -> Vec<DocumentPiece> {
        let mut out = Vec::new();
        let mut skip = match self.skipping.take() {
            Some(skip) => skip,
            None => self.drop_open(&mut out),
        };
        // The dropped line ends the open one, if any (blocks end at newlines).
        skip.newlines += 1;
        skip.open = false;
        self.cutter.skip(dropped);
        if self.cutter.find(b"\n").is_some() {
            out.push(DocumentPiece::TooLong {
                lines: skip.lines(),
            });
        } else {
            self.skipping = Some(skip);
        }
        out
    }

    /// Hands on what is pending up to the last cut point.
    fn hand_on_cut(&mut self) -> Option<DocumentPiece> {
        if self.cut == 0 {
            return None;
        }
        let rest = self.pending.split_off(self.cut);
        self.cut = 0;
        Some(DocumentPiece::Documents(std::mem::replace(
            &mut self.pending,
            rest,
        )))
    }

    /// The end of the stream: whatever is pending.
    pub fn finish(&mut self) -> Vec<DocumentPiece> {
        let mut out = Vec::new();
        if let Some(skip) = self.skipping.take() {
            out.push(DocumentPiece::TooLong {
                lines: skip.lines(),
            });
        }
        if !self.pending.is_empty() {
            out.push(DocumentPiece::Documents(std::mem::take(&mut self.pending)));
        }
        self.cut = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &str =
        "{\n  \"a\": \"}\\\"{\\n\",\n  \"b\": [1,\n 2]\n}\n\n[\n{}\n]\n{\"c\":1}{\"d\":\n2}\nx\n";

    #[test]
    fn cuts_only_between_documents() {
        let mut c = DocumentCutter::default();
        let mut cuts = Vec::new();
        let mut pos = 0;
        while let Some(n) = c.find(&DOCS.as_bytes()[pos..]) {
            pos += n;
            cuts.push(pos);
        }
        let lines: Vec<&str> = cuts.windows(2).map(|w| &DOCS[w[0]..w[1]]).collect();
        assert_eq!(
            &DOCS[..cuts[0]],
            "{\n  \"a\": \"}\\\"{\\n\",\n  \"b\": [1,\n 2]\n}\n"
        );
        assert_eq!(lines, ["\n", "[\n{}\n]\n", "{\"c\":1}{\"d\":\n2}\n", "x\n"]);
        assert_eq!(pos, DOCS.len());
        assert_eq!(
            c,
            DocumentCutter::default(),
            "outside every document at the end"
        );
    }

    #[test]
    fn mapped_pieces_cover_the_input_and_end_at_cut_points() {
        for size in 1..DOCS.len() + 2 {
            let pieces: Vec<&[u8]> = documents_of(DOCS.as_bytes(), size).collect();
            assert_eq!(pieces.concat(), DOCS.as_bytes(), "size {size}");
            for p in &pieces[..pieces.len() - 1] {
                assert!(p.len() >= size, "size {size}");
                let mut c = DocumentCutter::default();
                let mut pos = 0;
                while let Some(n) = c.find(&p[pos..]) {
                    pos += n;
                }
                assert_eq!(pos, p.len(), "a piece ends at a cut point (size {size})");
            }
        }
    }

    fn stream(blocks: &[&[u8]], size: usize, limit: usize) -> Vec<DocumentPiece> {
        let mut s = DocumentStream::new(size, limit);
        let mut out = Vec::new();
        for b in blocks {
            out.extend(s.push(b));
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn a_stream_is_cut_like_the_mapped_input() {
        let bytes = DOCS.as_bytes();
        let cuts: Vec<usize> = documents_of(bytes, 1)
            .scan(0, |end, p| {
                *end += p.len();
                Some(*end)
            })
            .collect();
        for size in 1..DOCS.len() + 2 {
            for block in 1..DOCS.len() + 1 {
                let blocks: Vec<&[u8]> = bytes.chunks(block).collect();
                let got = stream(&blocks, size, 1 << 20);
                let want: Vec<DocumentPiece> = documents_of(bytes, size)
                    .map(|p| DocumentPiece::Documents(p.to_vec()))
                    .collect();
                let got_bytes: Vec<u8> = got
                    .iter()
                    .flat_map(|p| match p {
                        DocumentPiece::Documents(v) => v.clone(),
                        DocumentPiece::TooLong { .. } => panic!("nothing is over the limit"),
                    })
                    .collect();
                assert_eq!(got_bytes, bytes, "size {size} block {block}");
                // A stream cuts at the last cut point a block lets it see, so its pieces may
                // be longer than the mapped input's, but they end at cut points too.
                let mut end = 0;
                for p in &got[..got.len() - 1] {
                    if let DocumentPiece::Documents(v) = p {
                        end += v.len();
                        assert!(cuts.contains(&end), "size {size} block {block}");
                        assert!(v.len() >= size, "size {size} block {block}");
                    }
                }
                assert!(got.len() <= want.len(), "size {size} block {block}");
            }
        }
    }

    #[test]
    fn a_document_over_the_limit_is_dropped_and_counted() {
        let long = format!("{{\n{}\"x\": 1\n}}\n", "\"k\": 1,\n".repeat(10));
        let input = format!("{{\"a\": 1}}\n{long}{{\"b\": 2}}\n");
        let blocks: Vec<&[u8]> = input.as_bytes().chunks(8).collect();
        let got = stream(&blocks, 1, 30);
        assert_eq!(
            got,
            vec![
                DocumentPiece::Documents(b"{\"a\": 1}\n".to_vec()),
                DocumentPiece::TooLong { lines: 13 },
                DocumentPiece::Documents(b"{\"b\": 2}\n".to_vec()),
            ]
        );
    }

    /// What `bytes` do to a cutter, as the block reader works it out for a dropped line.
    fn effect(bytes: &[u8]) -> LineEffect {
        let mut e = LineEffect::default();
        for part in bytes.chunks(3) {
            e.feed(part);
        }
        e
    }

    #[test]
    fn a_dropped_line_moves_the_cutter_as_scanning_it_would() {
        let lines: [&[u8]; 7] = [
            b"\"a long string\",",
            b"{\"x\": [1, {\"y\": \"}\\\"\"}",
            b"]]}}",
            b"\" ends a string {",
            b"no quotes ] here",
            b"\\\" [",
            b"",
        ];
        let starts = [
            DocumentCutter::default(),
            DocumentCutter {
                depth: 1,
                ..DocumentCutter::default()
            },
            DocumentCutter {
                depth: 3,
                ..DocumentCutter::default()
            },
            DocumentCutter {
                depth: 2,
                strings: Strings {
                    inside: true,
                    escaped: false,
                },
            },
        ];
        for line in lines {
            for start in starts {
                let (mut scanned, mut skipped) = (start, start);
                assert_eq!(scanned.find(line), None);
                skipped.skip(&effect(line));
                assert_eq!(
                    skipped,
                    scanned,
                    "{:?} from {start:?}",
                    String::from_utf8_lossy(line)
                );
            }
        }
    }

    #[test]
    fn a_dropped_long_line_skips_what_is_between_its_cut_points() {
        let mut s = DocumentStream::new(1, 1 << 20);
        let mut got = s.push(b"{\"a\": 1}\n{\n\"b\":\n");
        // The block reader dropped a long string value here, inside the second document.
        got.extend(s.long_line(&effect(b"\"yyyy\",")));
        got.extend(s.push(b"\"c\": 2\n}\n{\"d\": 3}\n"));
        // And a long one-line document between documents.
        got.extend(s.long_line(&effect(b"{\"big\": [\"zzz\"]}")));
        got.extend(s.push(b"{\"e\": 4}\n"));
        // And the start of a document: what follows up to its end is dropped too.
        got.extend(s.long_line(&effect(b"{\"f\": [")));
        got.extend(s.push(b"1]}\n{\"g\": 5}\n"));
        got.extend(s.finish());
        assert_eq!(
            got,
            vec![
                DocumentPiece::Documents(b"{\"a\": 1}\n".to_vec()),
                DocumentPiece::TooLong { lines: 5 },
                DocumentPiece::Documents(b"{\"d\": 3}\n".to_vec()),
                DocumentPiece::TooLong { lines: 1 },
                DocumentPiece::Documents(b"{\"e\": 4}\n".to_vec()),
                DocumentPiece::TooLong { lines: 2 },
                DocumentPiece::Documents(b"{\"g\": 5}\n".to_vec()),
            ]
        );
    }

    /// Lines, used, skipped, events, and the bad lines (first line in the whole input's
    /// numbering, lines, reason).
    type Reading = (u64, u64, u64, u64, Vec<(u64, u64, String)>);

    fn reading(pieces: &[&[u8]]) -> Reading {
        let ctx = crate::scan::chunk::ChunkCtx {
            prefilter: None,
            want_object_events: true,
            max_line: 1 << 16,
            file: 0,
        };
        let (mut lines, mut used, mut skipped, mut events, mut bad) = (0, 0, 0, 0, Vec::new());
        for p in pieces {
            let o = crate::scan::chunk::process_documents(p, &ctx);
            bad.extend(
                o.bad
                    .iter()
                    .map(|b| (b.line + lines, b.lines, b.reason.clone())),
            );
            lines += o.lines;
            used += o.used;
            skipped += o.skipped;
            events += o.events;
        }
        (lines, used, skipped, events, bad)
    }

    #[test]
    fn pieces_read_like_the_whole_input() {
        let ev = r#"{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/nodes/n1","user":{"username":"system:node:n1"}}"#;
        let inputs: Vec<Vec<u8>> = vec![
            // A form feed is not JSON white space (found by the fuzzer).
            b"\x0c\n\n".to_vec(),
            format!("{ev}\nnot json\n{ev}\n").into_bytes(),
            format!("{{\n\"a\": [1,\n{ev}\n}}\n{ev}\n").into_bytes(),
            format!("{{\"s\": \"{{[\\\"\"\n}}\n{ev}\n]]\n{ev}").into_bytes(),
            [
                format!("{ev}\n").as_bytes(),
                b"{\"x\": \"\xff\"}\n",
                ev.as_bytes(),
            ]
            .concat(),
        ];
        for input in &inputs {
            let whole = reading(&[input]);
            for size in 1..input.len() + 1 {
                let pieces: Vec<&[u8]> = documents_of(input, size).collect();
                assert_eq!(
                    reading(&pieces),
                    whole,
                    "{:?} size {size}",
                    String::from_utf8_lossy(input)
                );
            }
        }
        // The second input: the garbage line is bad on its own, both events are read.
        let (lines, used, skipped, events, bad) = reading(&[&inputs[1]]);
        assert_eq!((lines, used, skipped, events), (3, 2, 0, 2));
        assert_eq!(bad.len(), 1);
        assert_eq!((bad[0].0, bad[0].1), (2, 1));
    }
}
