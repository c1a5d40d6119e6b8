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
//!
//! A broken document must not swallow the documents after it (a writer that died half-way
//! through one and was restarted, a stray quote): brackets left open or a quote left unclosed
//! would otherwise leave no cut point up to the end of the input. So:
//! - a newline inside a string ends the string (JSON strings hold no raw newline: a quote is
//!   missing or stray) and is read as a newline outside strings, so that a document with a
//!   quote too few or too many still ends where its brackets close (unless the open string
//!   swallowed one);
//! - the cutter cuts before a line whose first byte (after white space) is a `{` or `[` that
//!   cannot open a value where it stands (after a value or a key, or where an object wants a
//!   key: a document cut short, and the next one written after it), and starts afresh there.
//!
//! Neither happens in valid JSON, so valid input is cut where it always was. Both depend only
//! on the bytes from the last cut, and on a newline or a line's first byte, so a piece, a
//! stream of blocks and a dropped long line ([`LineEffect`]) all see the same cuts. Every line
//! starts outside strings.

/// Where a byte scan is in the JSON structure of the input. The default state is outside
/// every document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocumentCutter {
    /// Open `{` and `[` (a stray closing bracket outside any document is ignored).
    depth: u32,
    strings: Strings,
    /// Which open brackets are `[`: bit `k` for the one at depth `k + 1`. Deeper ones are not
    /// kept, and a `{` or `[` under them is never taken for a broken document's.
    arrays: u128,
    /// The last token outside strings.
    last: Token,
}

/// The kinds of token that tell whether a `{` or `[` may come next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Token {
    /// `{` or `[`.
    Open,
    Comma,
    Colon,
    /// The end of a string, a number, a literal, or a closing bracket; or any other byte.
    #[default]
    Value,
}

/// Where a byte scan is with respect to JSON strings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Strings {
    inside: bool,
    /// The previous byte was a backslash inside a string.
    escaped: bool,
}

/// Bracket depths whose kind is kept.
const KEPT_DEPTH: u32 = u128::BITS;

impl DocumentCutter {
    /// Scans `bytes`, which start a line, on from the current state and returns the offset
    /// just after the first newline outside every document (a newline inside a string ends
    /// the string first), or of the start of the first line that a broken document cannot go
    /// on into (see the module doc), leaving the state there (outside every document); `None`
    /// if there is none, with the state at the end of `bytes`. The offset is 0 only when
    /// `bytes` start inside a document.
    pub fn find(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut line_start = 0;
        let mut first_on_line = true;
        let mut i = 0;
        while i < bytes.len() {
            if self.strings.inside {
                if bytes[i] == b'\n' {
                    // No JSON string holds a newline: its closing quote is missing, or its
                    // opening one is stray. It is taken as ended before the newline, so that
                    // the brackets around it still count and the newline is read as one.
                    self.strings = Strings::default();
                    self.last = Token::Value;
                    continue;
                }
                if self.strings.escaped {
                    self.strings.escaped = false;
                    i += 1;
                    continue;
                }
                // Most of a pretty-printed event is inside strings: jump to the next byte that
                // ends one, escapes, or cannot be in one.
                let n = memchr::memchr3(b'"', b'\\', b'\n', &bytes[i..])?;
                i += n;
                match bytes[i] {
                    b'"' => {
                        self.strings.inside = false;
                        self.last = Token::Value;
                    }
                    b'\\' => self.strings.escaped = true,
                    _ => continue,
                }
                i += 1;
                continue;
            }
            let b = bytes[i];
            i += 1;
            // By how often they come in a pretty-printed document: indentation, strings.
            if b == b' ' {
                while bytes.get(i) == Some(&b' ') {
                    i += 1;
                }
                continue;
            }
            if b == b'"' {
                first_on_line = false;
                self.strings.inside = true;
                continue;
            }
            match b {
                b'\n' if self.depth == 0 => {
                    *self = DocumentCutter::default();
                    return Some(i);
                }
                b'\n' => {
                    line_start = i;
                    first_on_line = true;
                    continue;
                }
                b'\t' | b'\r' => continue,
                _ => {}
            }
            if std::mem::take(&mut first_on_line) && !self.may_start_line(Some(b)) {
                *self = DocumentCutter::default();
                return Some(line_start);
            }
            self.token(b);
        }
        None
    }

    /// Whether a line whose first byte other than white space is `first` may go on the
    /// document being scanned (see the module doc); always true outside documents.
    fn may_start_line(&self, first: Option<u8>) -> bool {
        if !matches!(first, Some(b'{' | b'[')) || self.depth == 0 || self.depth > KEPT_DEPTH {
            return true;
        }
        let in_array = self.arrays >> (self.depth - 1) & 1 == 1;
        match self.last {
            Token::Colon => true,
            Token::Open | Token::Comma => in_array,
            Token::Value => false,
        }
    }

    /// Takes a byte outside strings other than white space and quotes.
    fn token(&mut self, b: u8) {
        match b {
            b'{' | b'[' => {
                if self.depth < KEPT_DEPTH {
                    let bit = 1u128 << self.depth;
                    if b == b'[' {
                        self.arrays |= bit;
                    } else {
                        self.arrays &= !bit;
                    }
                }
                self.depth = self.depth.saturating_add(1);
                self.last = Token::Open;
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                self.arrays &= !ones_from(self.depth);
                self.last = Token::Value;
            }
            b',' => self.last = Token::Comma,
            b':' => self.last = Token::Colon,
            _ => self.last = Token::Value,
        }
    }

    /// Whether the cutter cuts before a line that was dropped unread (a line over the limit),
    /// as it would have before that line's first byte.
    pub fn cuts_before(&self, dropped: &LineEffect) -> bool {
        !self.may_start_line(dropped.first)
    }

    /// Moves on over a line that was dropped unread (without its newline), as if it had
    /// scanned it, when it does not cut before it ([`DocumentCutter::cuts_before`]).
    pub fn skip(&mut self, dropped: &LineEffect) {
        let popped = u32::try_from(dropped.excess).unwrap_or(u32::MAX);
        let base = self.depth.saturating_sub(popped);
        self.arrays &= !ones_from(base);
        if base < KEPT_DEPTH {
            self.arrays |= dropped.arrays << base;
        }
        let opened = u32::try_from(dropped.open).unwrap_or(u32::MAX);
        self.depth = base.saturating_add(opened);
        self.strings = dropped.strings;
        if let Some(last) = dropped.last {
            self.last = last;
        }
    }
}

/// The bits of depths `from + 1` and deeper.
fn ones_from(from: u32) -> u128 {
    u128::MAX.checked_shl(from).unwrap_or(0)
}

/// What a line dropped unread (longer than the limit) does to a [`DocumentCutter`], worked
/// out while its bytes go by. A line starts outside strings (a newline ends one), so this
/// depends on the line only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineEffect {
    /// The first byte other than white space.
    first: Option<u8>,
    strings: Strings,
    /// Closing brackets that close none of the line's own.
    excess: u64,
    /// The line's brackets still open at its end, and which of them are `[` (bit `k` for the
    /// `k`-th from the bottom; kept for the first 128).
    open: u64,
    arrays: u128,
    /// The last token outside strings, if any.
    last: Option<Token>,
}

impl LineEffect {
    /// Takes the next dropped bytes (no newline among them).
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.strings.inside {
                if self.strings.escaped {
                    self.strings.escaped = false;
                } else if b == b'\\' {
                    self.strings.escaped = true;
                } else if b == b'"' {
                    self.strings.inside = false;
                    self.last = Some(Token::Value);
                }
                continue;
            }
            if matches!(b, b' ' | b'\t' | b'\r') {
                continue;
            }
            self.first.get_or_insert(b);
            match b {
                b'"' => self.strings.inside = true,
                b'{' | b'[' => {
                    if self.open < u64::from(KEPT_DEPTH) {
                        let bit = 1u128 << self.open;
                        if b == b'[' {
                            self.arrays |= bit;
                        } else {
                            self.arrays &= !bit;
                        }
                    }
                    self.open += 1;
                    self.last = Some(Token::Open);
                }
                b'}' | b']' => {
                    if self.open > 0 {
                        self.open -= 1;
                        self.arrays &= !ones_from(u32::try_from(self.open).unwrap_or(u32::MAX));
                    } else {
                        self.excess += 1;
                    }
                    self.last = Some(Token::Value);
                }
                b',' => self.last = Some(Token::Comma),
                b':' => self.last = Some(Token::Colon),
                _ => self.last = Some(Token::Value),
            }
        }
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
        if self.cutter.cuts_before(dropped) {
            // What is open (a broken document) ends before the dropped line.
            match self.skipping.take() {
                Some(skip) => out.push(DocumentPiece::TooLong {
                    lines: skip.lines(),
                }),
                None => {
                    self.cut = self.pending.len();
                    out.extend(self.hand_on_cut());
                }
            }
            self.cutter = DocumentCutter::default();
        }
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
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        for size in 1..DOCS.len() + 2 {
            for block in 1..lines.len() + 1 {
                // Whole lines, as the block reader hands them on.
                let blocks: Vec<Vec<u8>> = lines.chunks(block).map(|c| c.concat()).collect();
                let blocks: Vec<&[u8]> = blocks.iter().map(Vec::as_slice).collect();
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

    /// The states a line can start in: outside documents, and inside them after each kind of
    /// token, in objects and arrays, deeper than the kinds kept too.
    fn line_starts() -> Vec<DocumentCutter> {
        let prefixes: [&[u8]; 12] = [
            b"",
            b"{\n",
            b"{\"a\": 1,\n",
            b"{\"a\":\n",
            b"{\"a\": [\n",
            b"{\"a\": [1,\n",
            b"{\"a\": [{}\n",
            b"[[\"x\"\n",
            b"{\"a\": {\"b\": 2}\n",
            b"{\"a\" \n",
            b"{\"a\": tru\n",
            b"{\"a\": [\"x\", {\"b\": [[{\"c\":\n",
        ];
        let mut starts: Vec<DocumentCutter> = prefixes
            .iter()
            .map(|p| {
                let mut c = DocumentCutter::default();
                assert_eq!(c.find(p), None, "{:?}", String::from_utf8_lossy(p));
                c
            })
            .collect();
        // Deeper than the kinds kept, and just at the edge, with both kinds on the way.
        for depth in [126, 127, 128, 129, 140] {
            let mut deep = DocumentCutter::default();
            let opening = b"[{\"k\": ".repeat(depth / 2);
            let mut opening = [opening.as_slice(), &b"["[..depth % 2]].concat();
            opening.push(b'\n');
            assert_eq!(deep.find(&opening), None);
            assert_eq!(deep.depth as usize, depth);
            starts.push(deep);
        }
        starts
    }

    #[test]
    fn a_dropped_line_moves_the_cutter_as_scanning_it_would() {
        let lines: [&[u8]; 14] = [
            b"\"a long string\",",
            b"{\"x\": [1, {\"y\": \"}\\\"\"}",
            b"]]}}",
            b"\" ends a string {",
            b"no quotes ] here",
            b"\\\" [",
            b"",
            b"  [1, [2, {\"z\": [",
            b"]], {",
            b"} ] } ] [ { [",
            b"\"k\": {\"l\": 1}, \"m\": [",
            b"\t{",
            // Back up over the kinds kept, and down again.
            b"]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}]}],",
            b"]}]} [{\"z\": [{\"y\": [{\"x\": [",
        ];
        for line in lines {
            for start in line_starts() {
                let what = format!("{:?} from {start:?}", String::from_utf8_lossy(line));
                let (mut scanned, mut skipped) = (start, start);
                let cut = match scanned.find(line) {
                    None => false,
                    Some(0) => {
                        assert_eq!(scanned.find(line), None, "{what}");
                        true
                    }
                    Some(n) => panic!("a cut at {n} inside a line: {what}"),
                };
                let dropped = effect(line);
                assert_eq!(skipped.cuts_before(&dropped), cut, "{what}");
                if cut {
                    skipped = DocumentCutter::default();
                }
                skipped.skip(&dropped);
                assert_eq!(skipped, scanned, "{what}");
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

    #[test]
    fn a_dropped_long_line_where_a_document_cannot_go_on_ends_it() {
        let mut s = DocumentStream::new(1, 30);
        // A document cut short (no `}`), then a long one-line document.
        let mut got = s.push(b"{\"a\": 1}\n{\n\"b\": 2\n");
        got.extend(s.long_line(&effect(b"{\"big\": [\"zzz\"]}")));
        got.extend(s.push(b"{\"c\": 3}\n"));
        // The same while a region over the limit is being dropped.
        got.extend(s.push(b"{\n\"d\": \"0123456789012345678901234567890123456789\",\n"));
        got.extend(s.long_line(&effect(b"{\"big\": 1}")));
        got.extend(s.push(b"{\"e\": 5}\n"));
        got.extend(s.finish());
        assert_eq!(
            got,
            vec![
                DocumentPiece::Documents(b"{\"a\": 1}\n".to_vec()),
                DocumentPiece::Documents(b"{\n\"b\": 2\n".to_vec()),
                DocumentPiece::TooLong { lines: 1 },
                DocumentPiece::Documents(b"{\"c\": 3}\n".to_vec()),
                DocumentPiece::TooLong { lines: 2 },
                DocumentPiece::TooLong { lines: 1 },
                DocumentPiece::Documents(b"{\"e\": 5}\n".to_vec()),
            ]
        );
    }

    /// Lines, used, skipped, events, and the bad lines (first line in the whole input's
    /// numbering, lines, reason).
    type Reading = (u64, u64, u64, u64, Vec<(u64, u64, String)>);

    fn reading(pieces: &[&[u8]]) -> Reading {
        let ctx = crate::scan::chunk::ChunkCtx {
            in_file: None,
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

    /// A pretty-printed kubelet event of 10 lines.
    fn pretty_event(id: &str) -> String {
        format!(
            "{{\n  \"kind\": \"Event\",\n  \"auditID\": \"{id}\",\n  \"stage\": \"ResponseComplete\",\n  \"verb\": \"get\",\n  \"requestURI\": \"/api/v1/nodes/n1\",\n  \"user\": {{\n    \"username\": \"system:node:n1\"\n  }}\n}}\n"
        )
    }

    /// Reads `input` whole, in mapped pieces of every size and as a stream of blocks of every
    /// size; all must agree.
    fn read_every_way(input: &[u8]) -> Reading {
        let whole = reading(&[input]);
        let what = String::from_utf8_lossy(input);
        for size in 1..input.len() + 1 {
            let pieces: Vec<&[u8]> = documents_of(input, size).collect();
            assert_eq!(reading(&pieces), whole, "{what:?} size {size}");
        }
        for block in 1..input.len() + 1 {
            let lines: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
            // Blocks of whole lines, as the block reader hands them on.
            let blocks: Vec<Vec<u8>> = lines.chunks(block).map(|c| c.concat()).collect();
            let blocks: Vec<&[u8]> = blocks.iter().map(Vec::as_slice).collect();
            for size in [1, 40, 1 << 20] {
                let pieces: Vec<Vec<u8>> = stream(&blocks, size, 1 << 20)
                    .into_iter()
                    .map(|p| match p {
                        DocumentPiece::Documents(v) => v,
                        DocumentPiece::TooLong { .. } => panic!("nothing is over the limit"),
                    })
                    .collect();
                let pieces: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
                assert_eq!(
                    reading(&pieces),
                    whole,
                    "{what:?} block {block} size {size}"
                );
            }
        }
        whole
    }

    #[test]
    fn a_broken_document_does_not_swallow_the_documents_after_it() {
        let [a, b, c] = ["a", "b", "c"].map(pretty_event);
        let bad = |r: &Reading| -> Vec<(u64, u64, String)> { r.4.clone() };

        // A stray quote between documents: the newline ends the string it opens, outside
        // every document.
        let r = read_every_way(format!("{a}\"\n{b}{c}").as_bytes());
        assert_eq!((r.0, r.1, r.2, r.3), (31, 30, 0, 3));
        assert_eq!(
            bad(&r),
            [(
                11,
                1,
                "malformed JSON (document skipped): control character (\\u0000-\\u001F) found while parsing a string at line 1 of the document, column 1".to_string()
            )]
        );

        // A document that lost its last line: the next one starts where an object wants a
        // key or its end.
        let cut = &a[..a.len() - 2];
        let r = read_every_way(format!("{cut}{b}{c}").as_bytes());
        assert_eq!((r.0, r.1, r.2, r.3), (29, 20, 0, 2));
        assert_eq!(
            bad(&r),
            [(
                1,
                9,
                "malformed JSON (document skipped): unfinished document, an object still open after its 9 lines".to_string()
            )]
        );

        // Cut short after a key's colon: the next document is taken as its value, the one
        // after that is read.
        let r =
            read_every_way(format!("{{\n  \"kind\": \"Event\",\n  \"user\":\n{b}{c}").as_bytes());
        assert_eq!((r.0, r.1, r.2, r.3), (23, 10, 0, 1));
        assert_eq!(
            bad(&r),
            [(
                1,
                13,
                "malformed JSON (document skipped): unfinished document, an object still open after its 13 lines".to_string()
            )]
        );

        // An EventList cut short after an item: the next document is taken as an item.
        let r = read_every_way(
            format!("{{\n\"kind\": \"EventList\",\n\"items\": [\n{a},\n{b}{c}").as_bytes(),
        );
        assert_eq!((r.0, r.1, r.2, r.3), (34, 10, 0, 1));
        assert_eq!(
            bad(&r),
            [(
                1,
                24,
                "malformed JSON (document skipped): unfinished document, an array still open after its 24 lines".to_string()
            )]
        );

        // A string that lost its closing quote: the newline ends it, the document ends where
        // its brackets close, and the next document is read.
        let broken = b.replace("\"verb\": \"get\"", "\"verb\": \"get");
        let r = read_every_way(format!("{a}{broken}{c}").as_bytes());
        assert_eq!((r.0, r.1, r.2, r.3), (30, 20, 0, 2));
        assert_eq!(
            bad(&r),
            [(
                11,
                10,
                "malformed JSON (document skipped): control character (\\u0000-\\u001F) found while parsing a string at line 5 of the document, column 15".to_string()
            )]
        );

        // A stray quote inside a document: the same.
        let broken = b.replace("\"verb\": \"get\"", "\"verb\": \"g\"et\"");
        let r = read_every_way(format!("{a}{broken}{c}").as_bytes());
        assert_eq!((r.0, r.1, r.2, r.3), (30, 20, 0, 2));
        assert_eq!(r.4.len(), 1);
        assert_eq!((r.4[0].0, r.4[0].1), (11, 10));
    }

    #[test]
    fn valid_documents_with_brackets_at_the_start_of_lines_are_not_cut() {
        let ev = |id: &str| {
            format!(
                r#"{{"kind":"Event","auditID":"{id}","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/nodes/n1","user":{{"username":"system:node:n1"}}}}"#
            )
        };
        let list = format!(
            "{{\"kind\":\"EventList\",\"items\":[\n{},\n{}\n,\n  {}]}}\n",
            ev("a"),
            ev("b"),
            ev("c")
        );
        let nested = "{\"a\":\n{\"b\":\n[\n[1],\n  {}, \n [ 2 ]]}}\n";
        let input = format!("{list}{nested}{}\n", ev("d"));
        let mut c = DocumentCutter::default();
        let mut cuts = Vec::new();
        let mut pos = 0;
        while let Some(n) = c.find(&input.as_bytes()[pos..]) {
            pos += n;
            cuts.push(pos);
        }
        // After each document, and nowhere else.
        assert_eq!(
            cuts,
            [list.len(), list.len() + nested.len(), input.len()],
            "{input}"
        );
        let r = read_every_way(input.as_bytes());
        assert_eq!((r.0, r.1, r.2, r.3), (12, 6, 0, 4));
        let bad: Vec<(u64, u64)> = r.4.iter().map(|b| (b.0, b.1)).collect();
        assert_eq!(bad, [(6, 6)], "the object that is no event, whole");
    }
}
