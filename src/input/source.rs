//! Finding inputs and getting their bytes.
//!
//! Plain files are memory-mapped; gzip and zstd files, stdin, and plain files that are not
//! mapped (`--no-mmap`, empty files, files that cannot be mapped) are read as a stream of
//! newline-aligned blocks, so that no input ever has to be held in memory whole.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::scan::documents::LineEffect;
#[cfg(not(nodeauthz_isal))]
use flate2::read::MultiGzDecoder;
use memmap2::{Advice, Mmap};

/// One input as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    /// A file or a directory (walked recursively).
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl InputSpec {
    /// `-` is stdin; anything else a path.
    pub fn parse(s: &str) -> InputSpec {
        if s == "-" {
            InputSpec::Stdin
        } else {
            InputSpec::Path(PathBuf::from(s))
        }
    }
}

impl From<PathBuf> for InputSpec {
    fn from(p: PathBuf) -> Self {
        InputSpec::Path(p)
    }
}

impl From<&Path> for InputSpec {
    fn from(p: &Path) -> Self {
        InputSpec::Path(p.to_path_buf())
    }
}

/// How an input's bytes are obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// A file read as it is: memory-mapped when it may and can be, else streamed.
    Plain(PathBuf),
    /// A gzip file (one or more members), decompressed as a stream.
    Gzip(PathBuf),
    /// A zstd file (one or more frames), decompressed as a stream.
    Zstd(PathBuf),
    /// Standard input, read as a stream.
    Stdin,
}

impl SourceKind {
    /// Whether the file is compressed: decoded as a stream, with a size on disk that is not
    /// the size of its log.
    pub fn is_compressed(&self) -> bool {
        matches!(self, SourceKind::Gzip(_) | SourceKind::Zstd(_))
    }
}

/// An input file after directory expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// What reports show: the path as given or found, or `-`.
    pub display: String,
    /// How its bytes are read.
    pub kind: SourceKind,
}

/// A problem with an input as a whole, found while expanding the inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceProblem {
    /// The path could not be read (missing, permission denied, ...).
    Unreadable {
        /// The path as given.
        path: String,
        /// The operating system's error.
        reason: String,
    },
    /// A directory in which no log file was found.
    NoLogs {
        /// The directory as given.
        path: String,
    },
}

/// Whether a file found while walking a directory looks like an audit log: rotated names such
/// as `audit.log`, `audit-2026-11-02T08-00-00.000.log`, `audit.log.1`, `audit.log.2.gz`,
/// `audit.log.3.zst`,
/// `.jsonl` exports, and `.json` files with `audit` in their name. Other `.json` files are
/// left out: next to audit logs they are usually cluster dumps (`kubectl get -o json`) or
/// reports. Files named on the command line are always read.
pub fn is_log_name(name: &str) -> bool {
    if name.starts_with('.') || name.ends_with(".expected.json") {
        return false;
    }
    let base = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(name);
    let base = base.trim_end_matches(|c: char| c.is_ascii_digit());
    let base = base.strip_suffix('.').unwrap_or(base);
    base.ends_with(".log")
        || base.ends_with(".jsonl")
        || (base.ends_with(".json") && name.to_ascii_lowercase().contains("audit"))
}

fn source_for(path: PathBuf) -> Source {
    let display = path.display().to_string();
    let kind = match path.extension().and_then(|e| e.to_str()) {
        Some("gz") => SourceKind::Gzip(path),
        Some("zst") => SourceKind::Zstd(path),
        _ => SourceKind::Plain(path),
    };
    Source { display, kind }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let ft = e.file_type()?;
        let path = e.path();
        if ft.is_dir() {
            walk(&path, out)?;
        } else if is_log_name(&e.file_name().to_string_lossy()) {
            out.push(path);
        }
    }
    Ok(())
}

/// Expands the inputs: directories are walked recursively. Order is the given one (and
/// name order inside directories); the scanner reorders by first timestamp.
pub fn expand(specs: &[InputSpec]) -> (Vec<Source>, Vec<SourceProblem>) {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for spec in specs {
        let path = match spec {
            InputSpec::Stdin => {
                sources.push(Source {
                    display: "-".into(),
                    kind: SourceKind::Stdin,
                });
                continue;
            }
            InputSpec::Path(p) => p,
        };
        let shown = path.display().to_string();
        match std::fs::metadata(path) {
            Err(e) => problems.push(SourceProblem::Unreadable {
                path: shown,
                reason: e.to_string(),
            }),
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                match walk(path, &mut found) {
                    Err(e) => problems.push(SourceProblem::Unreadable {
                        path: shown,
                        reason: e.to_string(),
                    }),
                    Ok(()) if found.is_empty() => {
                        problems.push(SourceProblem::NoLogs { path: shown })
                    }
                    Ok(()) => sources.extend(found.into_iter().map(source_for)),
                }
            }
            Ok(_) => sources.push(source_for(path.clone())),
        }
    }
    (sources, problems)
}

/// How far around a faulting page Linux maps cached pages of a file (`fault_around_bytes`,
/// 64 KiB by default).
pub const FAULT_AROUND_BYTES: usize = 64 << 10;

/// The largest unit in which Linux maps a file's cached pages at one fault: a 2 MiB page-cache
/// folio (the PMD size on x86-64 and arm64 with 4 KiB pages), which a fault may map whole.
pub const LARGEST_FOLIO_BYTES: usize = 2 << 20;

/// The bytes of a plain file, memory-mapped.
pub struct FileBytes {
    map: Mmap,
    /// Everything before this offset was released by [`FileBytes::release_read`].
    swept: AtomicUsize,
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl FileBytes {
    /// Tells the kernel that `part`, a slice of these bytes (anything else is ignored), and
    /// [`FAULT_AROUND_BYTES`] on either side need not stay mapped (see `release`; and
    /// [`FileBytes::release_read`] for what a fault maps beyond that margin). The margin
    /// is there because a page fault also maps the cached pages around the faulting one, so
    /// reading the edges of a part maps the edges of its neighbours, which their own release
    /// may already have passed. Without the margin those edges stayed resident, about 1 MiB per
    /// GB of log read in 4 MiB parts. Releasing bytes a neighbour is still reading is harmless:
    /// it faults them back in.
    pub fn release_part(&self, part: &[u8]) {
        let Some(at) = self.span_of(part) else {
            return;
        };
        self.release(
            at.start.saturating_sub(FAULT_AROUND_BYTES)..at.end.saturating_add(FAULT_AROUND_BYTES),
        );
    }

    /// Tells the kernel that everything before the end of `part`, a slice of these bytes
    /// (anything else is ignored), need not stay mapped, down to a whole
    /// [`LARGEST_FOLIO_BYTES`] unit: for a caller that reads the parts in any order and
    /// calls this in input order, once every part up to `part` has been read.
    ///
    /// [`FileBytes::release_part`] misses pages that a fault maps after it: a fault may map a
    /// whole large folio of cached pages, past the margin, and a part read late maps the start
    /// of the next one, which may have been released already. With transparent huge pages
    /// off for the process ([`crate::cli::without_transparent_huge_pages`]), such folios are
    /// mapped page by page and stayed mapped until the file's end: 480 MiB of a 4 GB log.
    /// Only parts after `part` may still be read, and they start at or after its end: a fault
    /// for one of them maps no folio that starts before the unit holding `part`'s end, and
    /// its fault-around window (where the map is not 2 MiB-aligned) reaches back at most
    /// [`FAULT_AROUND_BYTES`], which that part's own [`FileBytes::release_part`] clears.
    pub fn release_read(&self, part: &[u8]) {
        let Some(at) = self.span_of(part) else {
            return;
        };
        let end = at.end / LARGEST_FOLIO_BYTES * LARGEST_FOLIO_BYTES;
        let start = self.swept.fetch_max(end, Ordering::Relaxed);
        if start < end {
            self.release(start..end);
        }
    }

    /// Where `part` lies in these bytes, if it is a slice of them.
    fn span_of(&self, part: &[u8]) -> Option<std::ops::Range<usize>> {
        span_within(
            self.as_ptr() as usize,
            self.len(),
            part.as_ptr() as usize,
            part.len(),
        )
    }

    /// Tells the kernel that the bytes in `range` need not stay mapped, so that the pages of
    /// a mapped file already scanned leave the process's resident set (they stay in the page
    /// cache, and a later read faults them back in). Without it a scan's peak RSS grows with
    /// the size of the file. The range is shrunk to whole pages; out-of-range parts are
    /// ignored.
    fn release(&self, range: std::ops::Range<usize>) {
        let map = &self.map;
        const PAGE: usize = 4096;
        let start = range.start.next_multiple_of(PAGE);
        let end = range.end.min(map.len()) / PAGE * PAGE;
        if start >= end {
            return;
        }
        // SAFETY: the map is a read-only, shared mapping of a file (`Mmap::map`). MADV_DONTNEED
        // only drops this process's page-table entries for the range; a later read faults
        // the same bytes back in from the page cache, so every `&[u8]` borrowed from the map
        // keeps reading what it read before (under the contract of `open_plain`: the file is
        // not modified while mapped). The range is inside the map and page-aligned.
        // The advice is a hint: if it fails, only the RSS stays higher.
        #[cfg(unix)]
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
        };
    }
}

/// Where the `len` bytes at address `at` lie within the `total` bytes at address `base`, if
/// they all do.
pub(crate) fn span_within(
    base: usize,
    total: usize,
    at: usize,
    len: usize,
) -> Option<std::ops::Range<usize>> {
    let start = at.checked_sub(base)?;
    (start <= total && len <= total - start).then(|| start..start + len)
}

/// Maps a plain file. `None` when it cannot be mapped (pipes, `/proc`, some network file
/// systems) or is empty (zero-length maps are an error on some platforms): the caller reads
/// it as a stream instead, in bounded memory, rather than whole into memory.
pub fn open_plain(path: &Path) -> io::Result<Option<FileBytes>> {
    let file = File::open(path)?;
    Ok(map_file(&file, file.metadata()?.len()))
}

/// Maps an open file of `len` bytes, if it can be mapped and is not empty (see
/// [`open_plain`]).
pub fn map_file(file: &File, len: u64) -> Option<FileBytes> {
    if len == 0 {
        return None;
    }
    // SAFETY: the map is only ever read. The contract is that the file is not truncated or
    // rewritten while we read it: audit logs handed to the analyzer are rotated, immutable
    // files, and the apiserver itself only appends to its live log (bytes past the map's end
    // are not read) and rotates it by renaming. If another process truncates it anyway
    // (logrotate's `copytruncate`), touching a page past the new end raises SIGBUS: the
    // binary reports that and exits with its own code (`crate::cli::report_truncated_maps`),
    // and `--no-mmap` reads files instead. If the file is modified in place, we may read a mix
    // of old and new bytes, which at worst produces bad-line reports. Nothing is assumed about
    // the content: every byte is validated by the parsers like any other input.
    let map = unsafe { Mmap::map(file) }.ok()?;
    // Advice is a hint; failing to give it changes nothing but speed.
    let _ = map.advise(Advice::Sequential);
    Some(FileBytes {
        map,
        swept: AtomicUsize::new(0),
    })
}

/// Opens a streamed input (gzip, zstd, stdin, or a plain file not mapped) as a reader of
/// decompressed bytes.
pub fn open_stream(kind: &SourceKind) -> io::Result<Box<dyn Read + Send>> {
    match kind {
        SourceKind::Stdin => Ok(Box::new(io::stdin())),
        SourceKind::Plain(p) | SourceKind::Gzip(p) | SourceKind::Zstd(p) => {
            decoder(kind, File::open(p)?)
        }
    }
}

/// A reader of the decompressed bytes of `file`, an input of kind `kind` already open (for
/// stdin, `file` is ignored and stdin read).
pub fn decoder<'a, R: Read + Send + 'a>(
    kind: &SourceKind,
    file: R,
) -> io::Result<Box<dyn Read + Send + 'a>> {
    Ok(match kind {
        SourceKind::Gzip(_) => gzip_decoder(file)?,
        // Reads frame after frame, as `zstd -d` does with concatenated files.
        SourceKind::Zstd(_) => Box::new(zstd::stream::read::Decoder::with_buffer(
            BufReader::with_capacity(1 << 20, file),
        )?),
        SourceKind::Stdin => Box::new(io::stdin()),
        SourceKind::Plain(_) => Box::new(file),
    })
}

/// A reader of the decompressed bytes of concatenated gzip members: ISA-L's decoder when
/// `build.rs` found the library, or flate2's (zlib-rs), at about half the speed. Both read
/// whole members to the same bytes and end an input alike; only inside a damaged member may
/// they differ (`crate::input::isal`; `nodeauthz --version` says which decoder a build has).
pub fn gzip_decoder<'a, R: Read + Send + 'a>(input: R) -> io::Result<Box<dyn Read + Send + 'a>> {
    #[cfg(nodeauthz_isal)]
    return Ok(Box::new(crate::input::isal::IsalGzDecoder::new(input)?));
    #[cfg(not(nodeauthz_isal))]
    Ok(Box::new(MultiGzDecoder::new(BufReader::with_capacity(
        1 << 20,
        input,
    ))))
}

/// What a [`BlockReader`] yields.
#[derive(Debug)]
pub enum Block {
    /// Whole lines (ending with `\n`, except possibly the input's last line).
    Lines(Vec<u8>),
    /// A line longer than the limit was dropped; its bytes were never buffered whole. What
    /// they do to the JSON structure goes with it, so that a stream of pretty-printed documents
    /// can still tell where documents end ([`crate::scan::documents`]).
    LongLine {
        /// What its bytes do to the JSON structure.
        effect: LineEffect,
        /// Its length, without its newline (as a mapped read reports it).
        length: u64,
        /// Whether a newline ended it (not at the end of the input or at a read error), so
        /// that a streamed input counts the bytes it read as a mapped one does.
        newline: bool,
    },
}

/// Splits a byte stream into newline-aligned blocks of about `block_size` bytes, carrying the
/// partial last line into the next block. A line longer than `max_line` is skipped up to its
/// newline and reported as [`Block::LongLine`].
pub struct BlockReader<R> {
    reader: R,
    carry: Vec<u8>,
    block_size: usize,
    max_line: usize,
    skipping_long: bool,
    /// What the bytes of the long line being dropped do to the JSON structure.
    dropped: LineEffect,
    /// How many bytes of it were dropped so far, and whether its newline was among them.
    dropped_bytes: u64,
    dropped_newline: bool,
    done: bool,
    pending_error: Option<io::Error>,
}

impl<R: Read> BlockReader<R> {
    /// A reader producing blocks of about `block_size` bytes.
    pub fn new(reader: R, block_size: usize, max_line: usize) -> Self {
        BlockReader {
            reader,
            carry: Vec::new(),
            block_size: block_size.max(1),
            max_line,
            skipping_long: false,
            dropped: LineEffect::default(),
            dropped_bytes: 0,
            dropped_newline: false,
            done: false,
            pending_error: None,
        }
    }

    /// The next block, `None` at the end, or the read error (after which the reader is done;
    /// the bytes read before the error were already returned).
    pub fn next_block(&mut self) -> Option<io::Result<Block>> {
        loop {
            if self.done {
                if self.skipping_long {
                    // The input ended inside the long line.
                    self.skipping_long = false;
                    self.drop_bytes(..self.carry.len());
                    return Some(Ok(self.long_line()));
                }
                if self.carry.is_empty() {
                    return self.pending_error.take().map(Err);
                }
                return Some(Ok(Block::Lines(std::mem::take(&mut self.carry))));
            }
            let start = self.carry.len();
            self.carry.reserve(self.block_size);
            // `read_to_end` on a `Take` reads into the spare capacity, initialising only what it
            // reads into; resizing with zeros first cost a memset of a whole block per read.
            let read = (&mut self.reader)
                .take(self.block_size as u64)
                .read_to_end(&mut self.carry);
            let n = self.carry.len() - start;
            if let Err(e) = read {
                // The bytes read before the error are handed out as usual (a long line they
                // end, the lines after it, the rest), then the error.
                self.pending_error = Some(e);
                self.done = true;
            }
            if n == 0 {
                self.done = true;
                continue;
            }
            if self.skipping_long {
                match memchr::memchr(b'\n', &self.carry) {
                    Some(i) => {
                        self.drop_bytes(..i + 1);
                        self.skipping_long = false;
                        return Some(Ok(self.long_line()));
                    }
                    None => {
                        self.drop_bytes(..self.carry.len());
                        continue;
                    }
                }
            }
            if self.carry.len() < self.block_size {
                continue;
            }
            match memchr::memrchr(b'\n', &self.carry) {
                Some(i) => {
                    // The partial last line starts the next block, in a buffer already big
                    // enough for it (growing a small one would copy the block again); if it
                    // is already over the limit, the rest of it is skipped, so that no block
                    // grows past the limit plus two reads.
                    let rest = self.carry.len() - (i + 1);
                    let mut next = Vec::with_capacity(rest.min(self.max_line) + self.block_size);
                    if rest > self.max_line {
                        self.skipping_long = true;
                        self.dropped.feed(&self.carry[i + 1..]);
                        self.dropped_bytes += rest as u64;
                    } else {
                        next.extend_from_slice(&self.carry[i + 1..]);
                    }
                    self.carry.truncate(i + 1);
                    return Some(Ok(Block::Lines(std::mem::replace(&mut self.carry, next))));
                }
                None if self.carry.len() > self.max_line => {
                    self.drop_bytes(..self.carry.len());
                    self.skipping_long = true;
                }
                None => {}
            }
        }
    }
}

impl<R> BlockReader<R> {
    /// The block for the long line just dropped, ready for the next.
    fn long_line(&mut self) -> Block {
        let newline = std::mem::take(&mut self.dropped_newline);
        Block::LongLine {
            effect: std::mem::take(&mut self.dropped),
            length: std::mem::take(&mut self.dropped_bytes) - u64::from(newline),
            newline,
        }
    }

    /// Drops the first bytes of the carry, all of them part of the long line being skipped
    /// (a newline among them ends it, and does nothing to the JSON structure).
    fn drop_bytes(&mut self, range: std::ops::RangeTo<usize>) {
        let bytes = &self.carry[range];
        let line = bytes.strip_suffix(b"\n");
        self.dropped_newline = line.is_some();
        self.dropped.feed(line.unwrap_or(bytes));
        self.dropped_bytes += range.end as u64;
        self.carry.drain(range);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks<R: Read>(mut r: BlockReader<R>) -> Vec<Result<String, String>> {
        let mut out = Vec::new();
        while let Some(b) = r.next_block() {
            out.push(match b {
                Ok(Block::Lines(v)) => Ok(String::from_utf8(v).unwrap()),
                Ok(Block::LongLine {
                    length, newline, ..
                }) => Ok(format!("<long {}>", length + u64::from(newline))),
                Err(e) => Err(e.kind().to_string()),
            });
        }
        out
    }

    /// The resident size of this process's mapping of `path`, in KiB (`/proc/self/smaps`).
    #[cfg(target_os = "linux")]
    fn mapped_rss_kib(path: &Path) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let name = path.to_str().expect("utf-8 path");
        let mut lines = smaps.lines().skip_while(|l| !l.ends_with(name));
        lines.next().expect("the file is mapped");
        let rss = lines.find(|l| l.starts_with("Rss:")).expect("Rss line");
        rss.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[cfg(target_os = "linux")]
    const MIB: usize = 1 << 20;

    /// A mapped file of 16 MiB in `dir`, every page of it read (so all of it is mapped), and
    /// its path.
    #[cfg(target_os = "linux")]
    fn resident_file(dir: &Path) -> (PathBuf, FileBytes) {
        let path = dir.join("audit.log");
        std::fs::write(&path, vec![b'x'; 16 * MIB]).unwrap();
        let bytes = open_plain(&path)
            .unwrap()
            .expect("a regular file can be mapped");
        let sum: u64 = bytes.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert_eq!(sum, 4096 * u64::from(b'x'));
        assert_eq!(mapped_rss_kib(&path), 16 * 1024);
        (path, bytes)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn release_part_drops_the_part_and_a_margin_from_the_resident_set() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = resident_file(dir.path());
        // A slice that is not part of the bytes changes nothing.
        let elsewhere = vec![b'x'; 8 * MIB];
        bytes.release_part(&elsewhere[MIB..2 * MIB]);
        assert_eq!(mapped_rss_kib(&path), 16 * 1024);
        // The part's pages and 64 KiB on either side leave the resident set (where the
        // kernel maps the page cache in 2 MiB units, whole units go).
        bytes.release_part(&bytes[4 * MIB..8 * MIB]);
        let left = mapped_rss_kib(&path);
        assert!(left <= 12 * 1024 - 2 * 64, "{left} KiB still resident");
        assert!(
            left >= 8 * 1024,
            "{left} KiB: more released than the part's 2 MiB units"
        );
        // The bytes still read the same.
        assert!(bytes[4 * MIB..8 * MIB].iter().all(|&b| b == b'x'));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn release_read_drops_everything_before_the_parts_end_in_whole_units() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = resident_file(dir.path());
        // A part ending at 9 MiB: the four whole 2 MiB units before it go, the one it ends in
        // stays (the next part's reader may map it).
        bytes.release_read(&bytes[4 * MIB..9 * MIB]);
        assert_eq!(mapped_rss_kib(&path), 8 * 1024);
        // Each sweep starts where the last one ended: a part before it releases nothing.
        bytes.release_read(&bytes[MIB..2 * MIB]);
        assert_eq!(mapped_rss_kib(&path), 8 * 1024);
        bytes.release_read(&bytes[9 * MIB..12 * MIB]);
        assert_eq!(mapped_rss_kib(&path), 4 * 1024);
        // Not part of the bytes: nothing.
        let elsewhere = vec![b'x'; 16 * MIB];
        bytes.release_read(&elsewhere);
        assert_eq!(mapped_rss_kib(&path), 4 * 1024);
        // The last part, to the end: all of it.
        bytes.release_read(&bytes[12 * MIB..]);
        assert_eq!(mapped_rss_kib(&path), 0);
        assert!(bytes.iter().all(|&b| b == b'x'));
    }

    #[test]
    fn a_span_is_within_only_if_all_of_it_is() {
        assert_eq!(span_within(1000, 100, 1000, 100), Some(0..100));
        assert_eq!(span_within(1000, 100, 1050, 0), Some(50..50));
        assert_eq!(span_within(1000, 100, 1100, 0), Some(100..100));
        // Before, across the end, and just past the end (where a margin would reach back in).
        assert_eq!(span_within(1000, 100, 999, 1), None);
        assert_eq!(span_within(1000, 100, 1050, 51), None);
        assert_eq!(span_within(1000, 100, 1101, 1), None);
        assert_eq!(span_within(1000, 100, usize::MAX, usize::MAX), None);
    }

    #[test]
    fn rotated_names() {
        for n in [
            "audit.log",
            "audit-2026-11-02T08-00-00.000.log",
            "audit.log.1",
            "audit.log.2.gz",
            "audit-events.json",
            "x.jsonl",
            "x.jsonl.gz",
            "audit.log.3.zst",
            "audit-2026-11-02T08-00-00.000.log.zst",
        ] {
            assert!(is_log_name(n), "{n}");
        }
        for n in [
            "notes.txt",
            ".audit.log",
            "x.expected.json",
            "policy.yaml",
            "README.md",
            "objects.json",
            "a.gz",
            "objects.json.zst",
        ] {
            assert!(!is_log_name(n), "{n}");
        }
    }

    #[test]
    fn blocks_are_newline_aligned_and_long_lines_skipped() {
        let data = b"aa\nbbbb\ncc\ndddddddddddddddddddd\nee\nf".to_vec();
        let got = blocks(BlockReader::new(&data[..], 4, 8));
        assert_eq!(got.concat_ok(), "aa\nbbbb\ncc\n<long 21>ee\nf");
        for b in &got[..got.len() - 1] {
            let s = b.as_ref().unwrap();
            assert!(s.ends_with('\n') || s == "<long 21>", "{s:?}");
        }
    }

    /// A reader that fails after handing out some bytes, like a truncated gzip stream.
    struct FailAfter<'a>(&'a [u8]);
    impl Read for FailAfter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn bytes_before_an_error_come_first() {
        let got = blocks(BlockReader::new(
            FailAfter(b"a\nb\npartial"),
            1 << 10,
            1 << 10,
        ));
        assert_eq!(
            got,
            vec![
                Ok("a\nb\npartial".to_string()),
                Err("unexpected end of file".to_string())
            ]
        );
    }

    /// Hands out its pieces one `read` at a time, then fails.
    struct Pieces(Vec<&'static [u8]>);
    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"));
            }
            let piece = self.0.remove(0);
            buf[..piece.len()].copy_from_slice(piece);
            Ok(piece.len())
        }
    }

    #[test]
    fn lines_after_a_long_line_survive_an_error_in_the_same_block() {
        let pieces = vec![
            &b"AAAAAAAAAAAAAAAA"[..],
            b"AA
ok1
",
            b"ok2
",
        ];
        let got = blocks(BlockReader::new(Pieces(pieces), 16, 8));
        assert_eq!(
            got,
            vec![
                Ok("<long 19>".to_string()),
                Ok("ok1
ok2
"
                .to_string()),
                Err("unexpected end of file".to_string())
            ]
        );
    }

    #[test]
    fn a_long_last_line_is_reported_at_the_end_or_at_an_error() {
        let got = blocks(BlockReader::new(
            &b"ok
AAAAAAAAAAAAAAAAAAAA"[..],
            4,
            8,
        ));
        assert_eq!(
            got.concat_ok(),
            "ok
<long 20>"
        );
        let got = blocks(BlockReader::new(
            FailAfter(
                b"ok
AAAAAAAAAAAAAAAAAAAA",
            ),
            4,
            8,
        ));
        assert_eq!(got.last(), Some(&Err("unexpected end of file".to_string())));
        let ok: String = got.iter().filter_map(|b| b.clone().ok()).collect();
        assert_eq!(
            ok,
            "ok
<long 20>"
        );
    }

    /// Hands out `data` in pieces of the given sizes (cycled), then ends or fails.
    struct Chopped {
        data: Vec<u8>,
        sizes: Vec<usize>,
        next: usize,
        fail: bool,
    }
    impl Read for Chopped {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.is_empty() {
                return if self.fail {
                    Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"))
                } else {
                    Ok(0)
                };
            }
            let size = self.sizes[self.next % self.sizes.len()].max(1);
            self.next += 1;
            let n = size.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data.drain(..n);
            Ok(n)
        }
    }

    proptest::proptest! {
        /// Whatever the block size, line limit and read sizes: every line comes out once and
        /// in order, whole, except lines over the limit, each of which may be replaced by one
        /// `LongLine` (and is, when longer than the limit plus two blocks); blocks end at
        /// newlines and stay under that size too; an error comes last, after all the data.
        #[test]
        fn blocks_keep_every_line_in_order(
            lines in proptest::collection::vec("[ab]{0,30}", 0..12),
            terminated in proptest::bool::ANY,
            block_size in 1usize..20,
            max_line in 1usize..25,
            sizes in proptest::collection::vec(1usize..40, 1..5),
            fail in proptest::bool::ANY,
        ) {
            let mut data = lines.join("\n");
            if terminated && !lines.is_empty() {
                data.push('\n');
            }
            let mut want: Vec<String> = data.split('\n').map(String::from).collect();
            if data.is_empty() || data.ends_with('\n') {
                want.pop();
            }
            let reader = Chopped { data: data.clone().into_bytes(), sizes, next: 0, fail };
            let got = blocks(BlockReader::new(reader, block_size, max_line));
            let mut tokens: Vec<Result<String, u64>> = Vec::new();
            let mut total = 0;
            for (i, item) in got.iter().enumerate() {
                match item {
                    Ok(b) if b.starts_with("<long ") => {
                        let dropped: u64 = b["<long ".len()..b.len() - 1].parse().unwrap();
                        total += dropped as usize;
                        tokens.push(Err(dropped));
                    }
                    Ok(b) => {
                        total += b.len();
                        proptest::prop_assert!(b.len() <= max_line + 2 * block_size, "{got:?}");
                        let last = i + 1 == got.len() || got[i + 1..].iter().all(|x| x.is_err());
                        proptest::prop_assert!(b.ends_with('\n') || last, "{got:?}");
                        let mut parts: Vec<&str> = b.split('\n').collect();
                        if b.ends_with('\n') {
                            parts.pop();
                        }
                        tokens.extend(parts.into_iter().map(|p| Ok(p.to_string())));
                    }
                    Err(_) => proptest::prop_assert!(fail && i + 1 == got.len(), "{got:?}"),
                }
            }
            proptest::prop_assert_eq!(got.last().is_some_and(|x| x.is_err()), fail);
            proptest::prop_assert_eq!(tokens.len(), want.len(), "{:?} {:?}", got, want);
            // Every byte is handed out or counted as dropped, as a mapped read counts them.
            proptest::prop_assert_eq!(total, data.len(), "{:?}", got);
            for (k, (t, w)) in tokens.iter().zip(&want).enumerate() {
                match t {
                    Ok(t) => {
                        proptest::prop_assert_eq!(t, w);
                        proptest::prop_assert!(w.len() <= max_line + 2 * block_size, "{w:?} kept");
                    }
                    Err(dropped) => {
                        proptest::prop_assert!(w.len() > max_line, "{w:?} dropped");
                        let newline = k + 1 < want.len() || data.ends_with('\n');
                        proptest::prop_assert_eq!(*dropped, (w.len() + usize::from(newline)) as u64);
                    }
                }
            }
        }
    }

    trait ConcatOk {
        fn concat_ok(&self) -> String;
    }
    impl ConcatOk for Vec<Result<String, String>> {
        fn concat_ok(&self) -> String {
            self.iter().map(|b| b.clone().unwrap()).collect()
        }
    }
}
