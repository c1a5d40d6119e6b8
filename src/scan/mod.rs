//! The scanner: every input's bytes → deduplicated kubelet requests, graph-relevant object
//! events, and a summary that accounts for every line.
//!
//! Inputs are expanded (directories walked) and ordered by their first event's timestamp.
//! Plain files are memory-mapped and cut into newline-aligned chunks of about 4 MiB that rayon
//! processes in parallel, a few at a time and merged in order, so results do not depend on the
//! thread count and memory does not grow with the input. Gzip and zstd files, stdin, and plain
//! files that are not mapped are read on their own thread into newline-aligned blocks that are
//! processed the same way. Each chunk is pre-filtered ([`prefilter`]), its interesting lines
//! parsed ([`chunk`]), and kubelet events are deduplicated by auditID ([`dedup`]) and handed
//! to the caller's sink in batches.
//!
//! Lines read = lines used (parsed audit events) + lines skipped (blank, or left unparsed by
//! the pre-filter) + bad lines. Events and distinct requests count skipped lines too: a
//! skipped line is a complete-looking event whose auditID is read without parsing, so those
//! two counts are exact for well-formed logs and treat a skipped line as valid. Distinct
//! requests are counted with a window of recent auditID hashes ([`recent`]), so that memory
//! does not grow with the log.

pub mod bad;
pub mod chunk;
pub mod dedup;
pub mod documents;
pub mod prefilter;
pub mod recent;

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{channel, sync_channel, Receiver};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

pub use bad::{BadKind, BadLine, BadReport};

use crate::graph::sightings::PodSightings;
use crate::input::event::{classify, for_each_held_event, parse_document, Document};
use crate::input::legacy::{looks_legacy, parse_legacy_line};
use crate::input::source::{
    decoder, expand, map_file, open_stream, Block, BlockReader, FileBytes, InputSpec, Source,
    SourceKind, SourceProblem,
};
use crate::record::{KubeletRequest, Micros, ObjectEvent, SourcePos};
use crate::spill::EncodedRequest;
use chunk::{
    process_documents, process_lines, process_not_a_log, sniff, ChunkBad, ChunkCtx, ChunkOut,
    InFile, Shape,
};
use dedup::{Dedup, RefutedLine};
use documents::{documents_of, DocumentPiece, DocumentStream};
use prefilter::Prefilter;
use recent::RecentIds;

/// The default chunk size.
pub const CHUNK_SIZE: usize = 4 << 20;
/// The default longest line read; longer lines are reported bad without being parsed.
pub const MAX_LINE_BYTES: usize = 64 << 20;
/// Inputs smaller than this in total get no progress bar.
const PROGRESS_MIN_BYTES: u64 = 256 << 20;
/// How many leading (and trailing) lines are tried to find an input's first (last) timestamp.
const EDGE_LINES: usize = 100;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Stop at the first bad line or input.
    pub strict: bool,
    /// Use the byte pre-filter (off only for logs re-encoded with unusual JSON escapes).
    pub prefilter: bool,
    /// Parse graph-relevant object events (and, with `keep_object_events`, collect them).
    pub want_object_events: bool,
    /// Keep the object events parsed, in the summary's `object_events` and `pod_sightings`
    /// (for the graph). With `want_object_events` and not this, their lines are still parsed
    /// and counted, so that every count is a full read's, but nothing of them is kept: a read
    /// that wants only the inventory holds nothing per event, however long the log.
    pub keep_object_events: bool,
    /// Parse kubelet lines and hand their requests to the sink. With `false` (a pass that
    /// only wants object events), kubelet lines are skipped by the pre-filter like other
    /// uninteresting lines (their timestamps are still read), the sink is never called, and
    /// the summary's `kubelet_events` and `kubelet_requests` are 0, and `lines_used` /
    /// `lines_skipped` / bad-line counts cover only the lines parsed. Has no effect with
    /// `prefilter: false`, which parses every line.
    pub want_requests: bool,
    /// Draw a progress bar on stderr (only if stderr is a terminal and the input is large).
    pub progress: bool,
    /// Target chunk size in bytes.
    pub chunk_size: usize,
    /// Longest line read.
    pub max_line_bytes: usize,
    /// Distinct requests remembered to count each one once ([`recent`]).
    pub dedup_window: usize,
    /// Memory-map plain files (false: read them as streams, like compressed inputs, which
    /// is safe against a file truncated while it is read; see
    /// [`crate::input::source::open_plain`]).
    pub mmap: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            threads: 0,
            strict: false,
            prefilter: true,
            want_object_events: true,
            keep_object_events: true,
            want_requests: true,
            progress: false,
            chunk_size: CHUNK_SIZE,
            max_line_bytes: MAX_LINE_BYTES,
            dedup_window: recent::DEFAULT_WINDOW,
            mmap: true,
        }
    }
}

/// One input as read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InputSummary {
    /// The path as given or found while walking a directory; `-` for stdin.
    pub path: String,
    /// `lines`, `documents` (pretty-printed JSON) or `not_a_log`; empty if nothing was read.
    pub shape: &'static str,
    /// Bytes read (decompressed for gzip).
    pub bytes: u64,
    /// Size of the compressed file, for gzip inputs.
    pub compressed_bytes: Option<u64>,
    /// Whether the file was memory-mapped; false when it was read as a stream (compressed
    /// files, stdin, `--no-mmap`, a file that could not be mapped).
    pub mapped: bool,
    /// Lines read.
    pub lines: u64,
    /// Earliest event timestamp seen (parsed lines, plus the input's first event).
    pub first_timestamp: Option<Micros>,
    /// Latest event timestamp seen (parsed lines, plus the input's last event).
    pub last_timestamp: Option<Micros>,
}

/// Everything the scan counted. The object events are not serialised (they hold object bodies).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanSummary {
    /// Inputs in the order they were read (by first timestamp); `SourcePos::file` indexes this.
    pub inputs: Vec<InputSummary>,
    /// Every line read.
    pub lines_read: u64,
    /// Lines parsed into audit events.
    pub lines_used: u64,
    /// Blank lines and lines the pre-filter left unparsed.
    pub lines_skipped: u64,
    /// Bad lines (line-level kinds).
    pub lines_bad: u64,
    /// Audit events (an EventList line holds several).
    pub events: u64,
    /// Distinct auditIDs, all users.
    pub requests: u64,
    /// Kubelet events before deduplication.
    pub kubelet_events: u64,
    /// Distinct kubelet requests (as handed to the sink).
    pub kubelet_requests: u64,
    /// Bad lines and inputs by kind, with examples.
    pub bad: BadReport,
    /// Graph-relevant object events, in input order, except the pod sightings.
    #[serde(skip)]
    pub object_events: Vec<ObjectEvent>,
    /// The object events that only say which node a pod ran on, kept compact (see
    /// [`crate::graph::sightings`]); [`crate::graph::build_graph_with`] takes both.
    #[serde(skip)]
    pub pod_sightings: PodSightings,
}

impl ScanSummary {
    /// True when no input gave a single readable line (exit code 3 in the CLI).
    pub fn nothing_read(&self) -> bool {
        self.lines_used == 0 && self.lines_skipped == 0
    }
}

/// Why a scan stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// `--strict` and a bad line or input.
    #[error("{file}:{line}: {kind}: {reason} (stopped by --strict)")]
    Strict {
        /// What was wrong.
        kind: BadKind,
        /// The input.
        file: String,
        /// The line (0 for a whole input).
        line: u64,
        /// One line saying what is wrong.
        reason: String,
    },
    /// The sink asked to stop.
    #[error("stopped by the caller")]
    Stopped,
    /// The worker pool could not be started.
    #[error("cannot start the worker threads: {0}")]
    Threads(String),
    /// A request did not decode from the encoding it was handed on in: a bug of nodeauthz,
    /// not of the input.
    #[error("{file}:{line}: the kubelet request read here did not decode again: {reason}")]
    Undecodable {
        /// The input.
        file: String,
        /// The line of its kept event.
        line: u64,
        /// What did not decode.
        reason: String,
    },
}

/// Where a scan hands its requests, encoded as the spill file holds them
/// ([`EncodedRequest::decode`] gives the record), in batches; [`ControlFlow::Break`] stops the
/// scan (with [`ScanError::Stopped`]). The sink may take the requests it keeps out of the
/// batch; the scan frees the rest on its worker pool, off the merging thread that every worker
/// waits on.
pub type Sink<'a> = dyn FnMut(&mut Vec<EncodedRequest>) -> ControlFlow<()> + 'a;

/// Whether a run over `total` bytes of input draws progress bars (see
/// [`ScanOptions::progress`]).
pub fn shows_progress(opts: &ScanOptions, total: u64) -> bool {
    opts.progress && total >= PROGRESS_MIN_BYTES && io::stderr().is_terminal()
}

/// A progress bar on stderr of `len` steps, drawn with an indicatif `template`.
pub fn progress_bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Bytes of log per distinct request, for sizing the sets of request IDs up front: about
/// 2,000 on the generated logs (two events of 0.3-5 KB per request); where there are more
/// requests per byte, the sets grow to fit.
const BYTES_PER_REQUEST: usize = 2048;

/// Scans `inputs`, handing distinct kubelet requests to `sink` in batches as they complete
/// (requests never completed come when given up on, see [`dedup`]), and returns the summary.
pub fn scan(
    inputs: &[InputSpec],
    opts: &ScanOptions,
    sink: &mut Sink<'_>,
) -> Result<ScanSummary, ScanError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| ScanError::Threads(e.to_string()))?;
    let prefilter = opts
        .prefilter
        .then(|| Prefilter::with_options(opts.want_object_events, opts.want_requests))
        .map(|p| if opts.strict { p.without_deferral() } else { p });
    let mut run = Run {
        opts,
        pool: &pool,
        prefilter: prefilter.as_ref(),
        summary: ScanSummary::default(),
        dedup: Dedup::with_window(opts.dedup_window),
        ids: RecentIds::new(opts.dedup_window),
        sink,
        progress: None,
    };
    let (sources, problems) = expand(inputs);
    for p in problems {
        let (kind, path, reason) = match p {
            SourceProblem::Unreadable { path, reason } => (BadKind::Unreadable, path, reason),
            SourceProblem::NoLogs { path } => (
                BadKind::NoLogsInDirectory,
                path,
                "directory with no log files".to_string(),
            ),
        };
        run.report(
            BadLine {
                kind,
                file: path,
                line: 0,
                reason,
            },
            1,
        )?;
    }
    let mut opened = run.open_all(sources)?;
    let total: u64 = opened.iter().map(|o| o.input.size).sum();
    if shows_progress(opts, total) {
        run.progress = Some(progress_bar(
            total,
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ));
    }
    let kinds: Vec<SourceKind> = opened.iter().map(|o| o.source.kind.clone()).collect();
    // Taken out so that a compressed input decoded ahead takes its own.
    let mut files: Vec<Option<File>> = opened.iter_mut().map(|o| o.input.file.take()).collect();
    let identities: Vec<Option<FileIdentity>> = opened.iter().map(|o| o.identity).collect();
    let mut take_file = |j: usize| -> io::Result<Option<File>> {
        match (files[j].take(), identities[j]) {
            (Some(f), _) => Ok(Some(f)),
            (None, Some(identity)) => reopen(&kinds[j], identity).map(Some),
            (None, None) => Ok(None),
        }
    };
    let mut decoders: HashMap<usize, io::Result<Receiver<io::Result<Block>>>> = HashMap::new();
    for (idx, Opened { source, input, .. }) in opened.into_iter().enumerate() {
        // Gzip inflate is sequential per file and slower than the parse workers, so the next
        // compressed inputs are decoded ahead, each on its own thread, while this one is
        // scanned: as many decoders at a time as workers (each holds up to a batch of decoded
        // blocks).
        let decoding = pool.current_num_threads().max(1);
        for (j, kind) in kinds.iter().enumerate().skip(idx).take(decoding) {
            if kind.is_compressed() {
                decoders
                    .entry(j)
                    .or_insert_with(|| start_decoder(kind, take_file(j), opts, run.batch()));
            }
        }
        run.summary.inputs.push(InputSummary {
            path: source.display.clone(),
            compressed_bytes: source.kind.is_compressed().then_some(input.size),
            mapped: input.bytes.is_some(),
            first_timestamp: input.first_ts,
            ..InputSummary::default()
        });
        match input.bytes {
            Some(bytes) => run.scan_plain(idx, &bytes, input.reread.map(Arc::new))?,
            None => {
                let decoder = decoders.remove(&idx).unwrap_or_else(|| {
                    start_decoder(&source.kind, take_file(idx), opts, run.batch())
                });
                run.scan_stream(idx, &source, decoder)?
            }
        }
        // Mapped and streamed plain bytes moved the bar as they were merged; a compressed
        // input moves it by its compressed size, once read.
        if let Some(bar) = &run.progress {
            if source.kind.is_compressed() {
                bar.inc(input.size);
            }
        }
        run.flush()?;
    }
    if let Some(bar) = run.progress.take() {
        bar.finish_and_clear();
    }
    let rest = run.dedup.finish();
    run.settle();
    run.hand_on(rest)?;
    let mut s = run.summary;
    s.requests = run.ids.distinct();
    s.kubelet_events = run.dedup.events();
    s.kubelet_requests = run.dedup.distinct();
    s.lines_bad = s.bad.lines();
    Ok(s)
}

/// [`scan`] collecting every request into a vector.
pub fn scan_collect(
    inputs: &[InputSpec],
    opts: &ScanOptions,
) -> Result<(Vec<KubeletRequest>, ScanSummary), ScanError> {
    let mut encoded = Vec::new();
    let summary = scan(inputs, opts, &mut |batch| {
        encoded.append(batch);
        ControlFlow::Continue(())
    })?;
    // Each encoding is let go of as it is decoded.
    let all = encoded
        .into_iter()
        .map(|e| {
            e.decode()
                .map_err(|reason| ScanError::undecodable(&summary, e.pos(), reason))
        })
        .collect::<Result<_, _>>()?;
    Ok((all, summary))
}

impl ScanError {
    /// The [`ScanError::Undecodable`] of a request read at `pos`, naming its input by the path
    /// `summary` gives it.
    pub fn undecodable(summary: &ScanSummary, pos: SourcePos, reason: String) -> ScanError {
        let SourcePos { file, line } = pos;
        let input = summary.inputs.get(file as usize).map(|i| i.path.clone());
        ScanError::Undecodable {
            file: input.unwrap_or_else(|| format!("input {file}")),
            line,
            reason,
        }
    }
}

/// An input opened and peeked at, ready to be scanned.
struct Opened {
    source: Source,
    input: OpenedInput,
    /// The identity of a file to be streamed that was closed after it was peeked at (past
    /// [`held_files_budget`]): it is opened again by name when its turn comes, and read only
    /// if it is still the same file.
    identity: Option<FileIdentity>,
}

/// A file's device and inode numbers (on Unix; elsewhere nothing is compared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity(u64, u64);

impl FileIdentity {
    fn of(meta: &std::fs::Metadata) -> FileIdentity {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileIdentity(meta.dev(), meta.ino())
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            FileIdentity(0, 0)
        }
    }
}

/// How many inputs to be streamed may stay open from when they are ordered until they are
/// read (and then mapped files, kept open to read their pending lines again while those wait,
/// see [`OpenedInput::reread`]): the limit of open files (raised to the hard one by the
/// binary), less the files open now and room for the outputs, the spill file, the maps being
/// made and the inputs opened again. Past it, inputs are opened again by name.
fn held_files_budget() -> usize {
    #[cfg(target_os = "linux")]
    if let Some(limit) = open_files_limit() {
        let soft = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX);
        let open_now = std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
        return soft.saturating_sub(open_now + 256).max(16);
    }
    200
}

/// The process's limits of open files (soft and hard), if they can be read.
#[cfg(target_os = "linux")]
pub(crate) fn open_files_limit() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the `rlimit` passed to it.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0).then_some(limit)
}

/// How far into an input its first event and its shape are looked for before a stream is read
/// on: the default line limit, or the given one if it is longer (a mapped read sees the whole
/// first document and the first hundred lines, however long).
fn look_limit(max_line: usize) -> usize {
    max_line.max(MAX_LINE_BYTES)
}

/// An input, opened: mapped, or open to be streamed (stdin: neither).
struct OpenedInput {
    size: u64,
    /// The bytes of a mapped plain file.
    bytes: Option<FileBytes>,
    /// A file to be streamed (plain or compressed), open since it was peeked at: a log
    /// renamed (rotated) or replaced while earlier inputs are read is still the file that was
    /// ordered and peeked at, as a map would be.
    file: Option<File>,
    /// A mapped file, kept open so that the pending kubelet lines of its chunks are read
    /// again from it, not copied (see [`crate::scan::chunk::InFile`]): on Unix, for a scan that
    /// keeps kubelet requests, not under `--strict`, and within what [`held_files_budget`]
    /// leaves after the files to be streamed (else its lines are copied).
    reread: Option<File>,
    first_ts: Option<Micros>,
}

/// Opens a plain input once: mapped if it may and can be, else kept open to be streamed
/// (see [`Opened::file`]), its first event peeked at without moving its read position.
fn open_plain_input(path: &std::path::Path, opts: &ScanOptions) -> io::Result<OpenedInput> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let size = meta.len();
    if opts.mmap && meta.is_file() {
        if let Some(bytes) = map_file(&file, size) {
            let first_ts = first_event_time(&bytes, opts.max_line_bytes);
            // Under --strict a bad line stops the scan where it is: a pending line that could
            // turn out bad when read again is copied instead. The graph command's scan keeps
            // no kubelet lines.
            let keep = cfg!(unix) && opts.want_requests && !opts.strict;
            return Ok(OpenedInput {
                size,
                bytes: Some(bytes),
                file: None,
                reread: keep.then_some(file),
                first_ts,
            });
        }
    }
    // A pipe or other special file can be read only once: it is not peeked at.
    let first_ts = if meta.is_file() {
        peek_file(&file, size, opts.max_line_bytes)
    } else {
        None
    };
    Ok(OpenedInput {
        size,
        bytes: None,
        file: Some(file),
        reread: None,
        first_ts,
    })
}

/// The first event's timestamp of a regular file to be streamed, read from its start without
/// moving its read position. As [`first_event_time`] sees a mapped file's first lines or whole
/// first document, a head that holds no timestamp but may end inside the first document or the
/// first lines looked at is read again four times longer, up to the default line limit (or the
/// given one, if longer) and a MiB. A UTF-16 or UTF-32 file is not read further.
fn peek_file(file: &File, size: u64, max_line: usize) -> Option<Micros> {
    let cap = (look_limit(max_line) as u64).saturating_add(1 << 20);
    let mut limit: u64 = 1 << 20;
    let mut head = Vec::new();
    loop {
        // The head grows by what follows it; what was read is not read again.
        PositionalReader {
            file,
            at: head.len() as u64,
        }
        .take(limit - head.len() as u64)
        .read_to_end(&mut head)
        .ok()?;
        let found = first_event_time(&head, max_line);
        let cut_short = || match sniff(without_bom(&head)) {
            Shape::Documents => true,
            // The first lines may all be text before the events (a mapped sniff sees more).
            Shape::Lines | Shape::NotALog(_) => {
                chunk::wide_encoding(&head).is_none()
                    && memchr::memchr_iter(b'\n', &head).count() < EDGE_LINES
            }
        };
        if found.is_some() || head.len() as u64 >= size || limit >= cap || !cut_short() {
            return found;
        }
        limit = limit.saturating_mul(4).min(cap);
    }
}

struct Run<'a> {
    opts: &'a ScanOptions,
    pool: &'a rayon::ThreadPool,
    prefilter: Option<&'a Prefilter>,
    summary: ScanSummary,
    dedup: Dedup,
    ids: RecentIds,
    sink: &'a mut Sink<'a>,
    progress: Option<ProgressBar>,
}

impl<'a> Run<'a> {
    fn ctx(&self, file: usize) -> ChunkCtx<'a> {
        ChunkCtx {
            in_file: None,
            prefilter: self.prefilter,
            want_object_events: self.opts.want_object_events && self.opts.keep_object_events,
            max_line: self.opts.max_line_bytes,
            file: u32::try_from(file).unwrap_or(u32::MAX),
        }
    }

    fn report(&mut self, bad: BadLine, lines: u64) -> Result<(), ScanError> {
        if self.opts.strict {
            return Err(ScanError::Strict {
                kind: bad.kind,
                file: bad.file,
                line: bad.line,
                reason: bad.reason,
            });
        }
        self.summary.bad.add(bad, lines);
        Ok(())
    }

    /// Counts the lines taken unparsed that turned out bad (and the lines read again from a
    /// file that no longer holds them) as bad lines instead of used lines, events and events
    /// of their requests (a request no other event counted is uncounted; one counted longer
    /// ago than the window of [`RecentIds`] stays counted). None are taken unparsed, or left
    /// in their file, under `--strict`, which stops at the first bad line as it comes.
    fn settle(&mut self) {
        for RefutedLine {
            pos,
            audit_hash,
            kind,
            reason,
        } in self.dedup.take_refuted()
        {
            self.summary.lines_used -= 1;
            self.summary.events -= 1;
            self.ids.forget(audit_hash);
            let inputs = &self.summary.inputs;
            let example = BadLine {
                kind,
                file: inputs[pos.file as usize].path.clone(),
                line: pos.line,
                reason,
            };
            debug_assert!(
                !self.opts.strict,
                "no line is taken unparsed under --strict"
            );
            let input = |path: &str| inputs.iter().position(|i| i.path == path);
            let at = (Some(pos.file as usize), pos.line);
            self.summary
                .bad
                .add_late(example, |e| (input(&e.file), e.line) > at);
        }
    }

    fn flush(&mut self) -> Result<(), ScanError> {
        let ready = self.dedup.take_ready();
        self.hand_on(ready)
    }

    /// Hands a batch to the sink, then frees what it left on the pool (see [`Sink`]).
    fn hand_on(&mut self, mut batch: Vec<EncodedRequest>) -> Result<(), ScanError> {
        if batch.is_empty() {
            return Ok(());
        }
        let flow = (self.sink)(&mut batch);
        if !batch.is_empty() {
            self.pool.spawn(move || drop(batch));
        }
        if flow.is_break() {
            return Err(ScanError::Stopped);
        }
        Ok(())
    }

    /// Opens every source, finds its first timestamp and orders them by it; inputs with no
    /// timestamp (stdin, logs with no readable event) keep their given order, after the others.
    fn open_all(&mut self, sources: Vec<Source>) -> Result<Vec<Opened>, ScanError> {
        let mut opened = Vec::new();
        let budget = held_files_budget();
        let mut held = 0;
        for source in sources {
            let result = match &source.kind {
                SourceKind::Plain(p) => open_plain_input(p, self.opts),
                SourceKind::Gzip(p) | SourceKind::Zstd(p) => {
                    open_compressed_input(p, &source.kind, self.opts.max_line_bytes)
                }
                SourceKind::Stdin => Ok(OpenedInput {
                    size: 0,
                    bytes: None,
                    file: None,
                    reread: None,
                    first_ts: None,
                }),
            };
            match result {
                Ok(mut input) => {
                    // Only a regular file whose identity is known is closed: a pipe would lose
                    // its writer, and a file without one could not be checked when reopened.
                    let mut identity = None;
                    if held >= budget {
                        let meta = input.file.as_ref().and_then(|f| f.metadata().ok());
                        if let Some(meta) = meta.filter(std::fs::Metadata::is_file) {
                            identity = Some(FileIdentity::of(&meta));
                            input.file = None;
                        }
                    }
                    held += usize::from(input.file.is_some());
                    opened.push(Opened {
                        source,
                        input,
                        identity,
                    })
                }
                Err(e) => {
                    let bad = BadLine {
                        kind: BadKind::Unreadable,
                        file: source.display,
                        line: 0,
                        reason: e.to_string(),
                    };
                    self.report(bad, 1)?;
                }
            }
        }
        // Files to be streamed are held first: closed, one is opened again by name and read
        // only if it is still the same file, while a mapped file not held only has its
        // pending lines copied.
        for o in &mut opened {
            if held >= budget {
                o.input.reread = None;
            }
            held += usize::from(o.input.reread.is_some());
        }
        opened.sort_by_key(|o| (o.input.first_ts.is_none(), o.input.first_ts));
        Ok(opened)
    }

    /// Merges one chunk's result; `base` is the number of lines of the input before it.
    fn merge(&mut self, out: ChunkOut, file: usize, base: u64) -> Result<(), ScanError> {
        let ChunkOut {
            lines,
            used,
            skipped,
            bad,
            events,
            ids,
            kubelet,
            kubelet_dropped,
            objects,
            first_ts,
            last_ts,
            ..
        } = out;
        for ChunkBad {
            kind,
            line,
            lines,
            reason,
        } in bad
        {
            let path = self.summary.inputs[file].path.clone();
            // A bad item of a batch covers no line of its own (its line is read), but counts.
            let count = if kind.is_line() { lines } else { 1 };
            self.report(
                BadLine {
                    kind,
                    file: path,
                    line: base + line,
                    reason,
                },
                count,
            )?;
        }
        let s = &mut self.summary;
        s.lines_read += lines;
        s.lines_used += used;
        s.lines_skipped += skipped;
        s.events += events;
        self.ids.insert_all(&ids);
        self.dedup.count_dropped(kubelet_dropped);
        self.dedup.push_all(kubelet, base);
        for mut o in objects {
            o.pos.line += base;
            s.pod_sightings.add(o, &mut s.object_events);
        }
        let input = &mut s.inputs[file];
        input.lines += lines;
        for t in [first_ts, last_ts].into_iter().flatten() {
            input.first_timestamp = Some(input.first_timestamp.map_or(t, |f| f.min(t)));
            input.last_timestamp = Some(input.last_timestamp.map_or(t, |l| l.max(t)));
        }
        self.settle();
        Ok(())
    }

    /// Parses the pieces of an input (newline-aligned chunks of lines, or whole documents) with
    /// `parse` on the worker pool while this thread merges them in order: merging (deduplication, the caller's sink) is sequential, and
    /// overlapping it with parsing keeps the workers busy. A new piece is started as soon as
    /// one is merged, with at most [`Run::batch`] pieces started and not yet merged, so that no
    /// worker waits for a slow neighbour (parsing fixed batches left one worker idle at the end
    /// of each, a tenth of the read). `base` counts the input's lines merged.
    fn parse_in_order<'b>(
        &mut self,
        file: usize,
        pieces: impl Iterator<Item = Piece<'b>>,
        parse: Parser,
        base: &mut u64,
        in_file: Option<InFile<'_>>,
    ) -> Result<(), ScanError> {
        type Parsed = (usize, usize, std::thread::Result<ChunkOut>);
        let mut pieces = pieces.enumerate();
        let window = self.batch();
        let pool = self.pool;
        let ctx = ChunkCtx {
            in_file,
            ..self.ctx(file)
        };
        let ctx = &ctx;
        // Streamed bytes move the progress bar as they are merged; gzip inputs move it by
        // their compressed size once read.
        let progress = self
            .progress
            .clone()
            .filter(|_| self.summary.inputs[file].compressed_bytes.is_none());
        let (tx, rx) = channel::<Parsed>();
        pool.in_place_scope(|scope| {
            let mut waiting: BTreeMap<usize, (usize, ChunkOut)> = BTreeMap::new();
            // The mapped parts started, by number: released again in input order as they are
            // merged (`FileBytes::release_read`), for what their readers mapped past them.
            let mut mapped: BTreeMap<usize, (&FileBytes, &[u8])> = BTreeMap::new();
            let (mut in_flight, mut next, mut exhausted) = (0, 0, false);
            let mut result = Ok(());
            loop {
                // Results waiting for a slow predecessor count against the window too, so that
                // a stall holds at most `window` results.
                while result.is_ok() && !exhausted && in_flight + waiting.len() < window {
                    let Some((at, piece)) = pieces.next() else {
                        exhausted = true;
                        break;
                    };
                    if let Piece::Made(out) = piece {
                        waiting.insert(at, (0, out));
                        continue;
                    }
                    in_flight += 1;
                    if let Piece::Mapped { file, part } = &piece {
                        mapped.insert(at, (*file, *part));
                    }
                    let tx = tx.clone();
                    scope.spawn(move |_| {
                        let bytes: &[u8] = match &piece {
                            Piece::Mapped { part, .. } => part,
                            Piece::Decoded(v) => v,
                            Piece::Made(_) => &[],
                        };
                        // Whatever happens here, a message is sent: the merge waits for it.
                        let out = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            let out = parse(bytes, ctx);
                            // A chunk's result owns its data, so its pages leave the resident
                            // set as soon as it is parsed, not when it is merged.
                            if let Piece::Mapped { file, part } = &piece {
                                file.release_part(part);
                            }
                            out
                        }));
                        // The receiver outlives the scope.
                        let _ = tx.send((at, bytes.len(), out));
                    });
                }
                if in_flight > 0 {
                    let Ok((at, len, out)) = rx.recv() else { break };
                    in_flight -= 1;
                    let out = out.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    if result.is_ok() {
                        waiting.insert(at, (len, out));
                    }
                }
                while result.is_ok() {
                    let Some((len, out)) = waiting.remove(&next) else {
                        break;
                    };
                    if let Some((file, part)) = mapped.remove(&next) {
                        file.release_read(part);
                    }
                    next += 1;
                    let n = out.lines;
                    // A --strict stop, or a sink that wants no more: the pieces already
                    // started are let finish, and their results dropped.
                    if let Err(e) = self.merge(out, file, *base) {
                        result = Err(e);
                        break;
                    }
                    *base += n;
                    if let Some(bar) = &progress {
                        bar.inc(len as u64);
                    }
                    if next % window == 0 {
                        result = self.flush();
                    }
                }
                // With nothing in flight, every piece started has been merged (or the scan
                // stopped), and the loop above started all there are.
                if in_flight == 0 && (result.is_err() || exhausted) {
                    break;
                }
            }
            result?;
            self.flush()
        })
    }

    /// Pieces in flight at a time (see [`Run::parse_in_order`]): enough that every worker
    /// always has the next one, while memory stays bounded by them.
    fn batch(&self) -> usize {
        self.pool.current_num_threads() * 4
    }

    /// Sizes the sets of request IDs for a log of `bytes` at once, instead of letting them
    /// grow step by step: for [`BYTES_PER_REQUEST`], and half of those requests emitted as
    /// kubelets' (when requests are wanted at all).
    fn reserve_ids(&mut self, bytes: usize) {
        let requests = bytes / BYTES_PER_REQUEST;
        self.ids.reserve(requests);
        if self.opts.want_requests {
            self.dedup.reserve(requests / 2);
        }
    }

    /// Scans a mapped input; `reread` is its file, open to read its pending lines again (see
    /// [`InFile`]), unless it is not kept open (see [`OpenedInput::reread`]).
    fn scan_plain(
        &mut self,
        file: usize,
        file_bytes: &FileBytes,
        reread: Option<Arc<File>>,
    ) -> Result<(), ScanError> {
        let in_file = reread.as_ref().map(|f| InFile {
            file: f,
            bytes: file_bytes,
        });
        self.summary.inputs[file].bytes = file_bytes.len() as u64;
        let bytes = without_bom(file_bytes);
        if bytes.is_empty() {
            return self.empty(file);
        }
        let shape = sniff(bytes);
        self.summary.inputs[file].shape = shape_name(&shape);
        if !matches!(shape, Shape::NotALog(_)) {
            self.reserve_ids(bytes.len());
        }
        match shape {
            Shape::Lines => {
                let pieces = chunks_of(bytes, self.opts.chunk_size).map(|part| Piece::Mapped {
                    file: file_bytes,
                    part,
                });
                self.parse_in_order(file, pieces, process_lines, &mut 0, in_file)?;
                let last = last_event_time(bytes, self.opts.max_line_bytes);
                self.merge(
                    ChunkOut {
                        first_ts: last,
                        last_ts: last,
                        ..ChunkOut::default()
                    },
                    file,
                    0,
                )?;
            }
            Shape::Documents => {
                let pieces = documents_of(bytes, self.opts.chunk_size).map(|part| Piece::Mapped {
                    file: file_bytes,
                    part,
                });
                // A document's lines would be refuted as one line, were it changed: its pending
                // events are copied (pretty-printed logs are rare).
                self.parse_in_order(file, pieces, process_documents, &mut 0, None)?;
            }
            Shape::NotALog(reason) => self.merge(process_not_a_log(bytes, &reason), file, 0)?,
        }
        Ok(())
    }

    fn empty(&mut self, file: usize) -> Result<(), ScanError> {
        let path = self.summary.inputs[file].path.clone();
        self.report(
            BadLine {
                kind: BadKind::EmptyFile,
                file: path,
                line: 0,
                reason: "empty file".into(),
            },
            1,
        )
    }

    /// Scans a streamed input: a reader thread decodes newline-aligned blocks into a
    /// bounded channel, and they are parsed and merged like a mapped file's chunks
    /// ([`Run::parse_in_order`]).
    fn scan_stream(
        &mut self,
        file: usize,
        source: &Source,
        decoder: io::Result<Receiver<io::Result<Block>>>,
    ) -> Result<(), ScanError> {
        let rx = match decoder {
            Ok(rx) => rx,
            Err(e) => {
                let bad = BadLine {
                    kind: BadKind::Unreadable,
                    file: source.display.clone(),
                    line: 0,
                    reason: e.to_string(),
                };
                return self.report(bad, 1);
            }
        };
        let mut state = StreamState::default();
        // Dropping the receiver afterwards stops the decoder thread at its next block.
        self.consume(file, &source.kind, &mut state, rx.iter())
    }

    fn consume(
        &mut self,
        file: usize,
        source: &SourceKind,
        st: &mut StreamState,
        blocks: impl Iterator<Item = io::Result<Block>>,
    ) -> Result<(), ScanError> {
        let path = self.summary.inputs[file].path.clone();
        let max_line = self.opts.max_line_bytes;
        let long_line = move |length: u64| {
            ChunkOut::all_bad(
                BadKind::LineTooLong,
                1,
                chunk::line_too_long(length, max_line),
            )
        };
        let long_document = move |lines| {
            let (kind, reason) = chunk::too_long(lines, max_line);
            ChunkOut::all_bad(kind, lines, reason)
        };
        let mut failed: Option<io::Error> = None;
        let mut blocks = blocks.peekable();
        while let Some(msg) = blocks.next() {
            match msg {
                Ok(Block::Lines(mut v)) => {
                    let first = st.bytes == 0 && st.base == 0;
                    st.bytes += v.len() as u64;
                    if first {
                        let bom = v.len() - without_bom(&v).len();
                        if bom > 0 {
                            v.drain(..bom);
                            if v.is_empty() {
                                continue;
                            }
                        }
                    }
                    if st.shape.is_none() {
                        // A mapped read's sniff sees the first hundred lines, however long;
                        // a first block may hold fewer, all text before the events. Whole
                        // blocks are added to it until the sniff cannot change, or it reaches
                        // the default line limit (or the given one, if longer), or a line over
                        // the limit comes.
                        let cap = look_limit(max_line);
                        let mut reserved = false;
                        while !chunk::sniff_is_final(&v) && v.len() < cap {
                            match blocks.next_if(|b| matches!(b, Ok(Block::Lines(_)))) {
                                Some(Ok(Block::Lines(more))) => {
                                    if !reserved {
                                        // Once, so that growing never holds two copies (a
                                        // limit given far above the default is not reserved).
                                        let room = cap.min(2 * MAX_LINE_BYTES);
                                        v.reserve(room + more.len().max(self.opts.chunk_size));
                                        reserved = true;
                                    }
                                    st.bytes += more.len() as u64;
                                    v.extend_from_slice(&more);
                                }
                                _ => break,
                            }
                        }
                    }
                    let shape = st.shape.get_or_insert_with(|| sniff(&v)).clone();
                    match shape {
                        Shape::Lines => {
                            // The rest of the input is lines too: parsed on the pool, merged
                            // in order, until its end or a decoding error.
                            let bytes = &mut st.bytes;
                            let tail = &mut st.tail;
                            push_tail(tail, &v);
                            let rest = blocks.by_ref().map_while(|msg| match msg {
                                Ok(Block::Lines(v)) => {
                                    *bytes += v.len() as u64;
                                    push_tail(tail, &v);
                                    Some(Piece::Decoded(v))
                                }
                                Ok(Block::LongLine {
                                    length, newline, ..
                                }) => {
                                    // It is one of the last lines a mapped read looks
                                    // at (and passes over): an empty line stands in for it.
                                    if newline {
                                        push_tail(tail, b"\n");
                                    }
                                    *bytes += length + u64::from(newline);
                                    Some(Piece::Made(long_line(length)))
                                }
                                Err(e) => {
                                    failed = Some(e);
                                    None
                                }
                            });
                            let pieces = std::iter::once(Piece::Decoded(v)).chain(rest);
                            self.parse_in_order(file, pieces, process_lines, &mut st.base, None)?;
                            break;
                        }
                        Shape::Documents => {
                            // Cut between documents as the blocks come, so that no more than
                            // a piece and one document (at most the line limit) are held.
                            let mut cutter = DocumentStream::new(self.opts.chunk_size, max_line);
                            let bytes = &mut st.bytes;
                            let first = cutter.push(&v);
                            let pieces_of = |ps: Vec<DocumentPiece>| -> Vec<Piece<'_>> {
                                ps.into_iter()
                                    .map(|p| match p {
                                        DocumentPiece::Documents(v) => Piece::Decoded(v),
                                        DocumentPiece::TooLong { lines } => {
                                            Piece::Made(long_document(lines))
                                        }
                                    })
                                    .collect()
                            };
                            let mut ended = false;
                            let rest = std::iter::from_fn(|| {
                                if ended {
                                    return None;
                                }
                                Some(match blocks.next() {
                                    Some(Ok(Block::Lines(v))) => {
                                        *bytes += v.len() as u64;
                                        pieces_of(cutter.push(&v))
                                    }
                                    Some(Ok(Block::LongLine {
                                        effect,
                                        length,
                                        newline,
                                    })) => {
                                        *bytes += length + u64::from(newline);
                                        pieces_of(cutter.long_line(&effect))
                                    }
                                    Some(Err(e)) => {
                                        failed = Some(e);
                                        ended = true;
                                        pieces_of(cutter.finish())
                                    }
                                    None => {
                                        ended = true;
                                        pieces_of(cutter.finish())
                                    }
                                })
                            })
                            .flatten();
                            let pieces = pieces_of(first).into_iter().chain(rest);
                            self.parse_in_order(
                                file,
                                pieces,
                                process_documents,
                                &mut st.base,
                                None,
                            )?;
                            break;
                        }
                        Shape::NotALog(_) => st.not_a_log_lines += chunk::count_lines(&v),
                    }
                }
                Ok(Block::LongLine {
                    length, newline, ..
                }) => {
                    st.bytes += length + u64::from(newline);
                    // Once the input is known to be no log, its long lines are lines of it,
                    // reported with the rest, as a mapped read reports them.
                    if matches!(st.shape, Some(Shape::NotALog(_))) {
                        st.not_a_log_lines += 1;
                    } else {
                        self.merge(long_line(length), file, st.base)?;
                        st.base += 1;
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            let kind = stream_error_kind(source, &e);
            let reason = format!(
                "{e} after {} decompressed bytes ({} lines); the rest of the input is lost",
                st.bytes, st.base
            );
            self.report(
                BadLine {
                    kind,
                    file: path,
                    line: st.base,
                    reason,
                },
                1,
            )?;
            st.saw_error = true;
        }
        self.summary.inputs[file].bytes = st.bytes;
        match st.shape.take() {
            None if !st.saw_error && st.base == 0 => self.empty(file)?,
            None => {}
            Some(shape) => {
                self.summary.inputs[file].shape = shape_name(&shape);
                match shape {
                    Shape::Lines => {
                        let last = last_event_time(&st.tail, self.opts.max_line_bytes);
                        self.merge(
                            ChunkOut {
                                first_ts: last,
                                last_ts: last,
                                ..ChunkOut::default()
                            },
                            file,
                            0,
                        )?;
                    }
                    // Merged as they were read.
                    Shape::Documents => {}
                    Shape::NotALog(reason) => {
                        let out = chunk::not_a_log(st.not_a_log_lines, &reason);
                        self.merge(out, file, st.base)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Opens a streamed input (or takes `file`, the input already open, or fails with the error
/// of opening it again) and starts the thread that cuts it into newline-aligned blocks,
/// `capacity` of which may wait, decoded, in the channel. The thread ends at the end of the
/// input or when the receiver is dropped (a `--strict` stop, the end of the scan).
fn start_decoder(
    kind: &SourceKind,
    file: io::Result<Option<File>>,
    opts: &ScanOptions,
    capacity: usize,
) -> io::Result<Receiver<io::Result<Block>>> {
    let reader = match file? {
        Some(f) => decoder(kind, f)?,
        None => open_stream(kind)?,
    };
    let mut blocks = BlockReader::new(reader, opts.chunk_size, opts.max_line_bytes);
    let (tx, rx) = sync_channel(capacity);
    std::thread::Builder::new()
        .name("nodeauthz-decode".into())
        .spawn(move || {
            while let Some(b) = blocks.next_block() {
                if tx.send(b).is_err() {
                    break;
                }
            }
        })?;
    Ok(rx)
}

/// The most bytes [`push_tail`] keeps, in whole lines, unless the last line alone is longer.
const TAIL_MAX: usize = 8 << 20;

/// Keeps in `tail` the end of a streamed input's lines, `block` (whole lines, after those
/// already in `tail`) added: the last lines [`last_event_time`] looks at, as it looks at a
/// mapped input's, as many of them as fit in [`TAIL_MAX`] bytes (the last line always, however
/// long). The tail starts at a line's start.
fn push_tail(tail: &mut Vec<u8>, block: &[u8]) {
    // The start of the lines that `rsplit` on newlines gives first: EDGE_LINES pieces, the
    // empty one after a final newline included.
    let start_of_last_lines = |buf: &[u8]| {
        memchr::memrchr_iter(b'\n', buf)
            .nth(EDGE_LINES - 1)
            .map_or(0, |i| i + 1)
    };
    let from = start_of_last_lines(block);
    if from > 0 {
        tail.clear();
        tail.extend_from_slice(&block[from..]);
    } else {
        tail.extend_from_slice(block);
        let from = start_of_last_lines(tail);
        tail.drain(..from);
    }
    if tail.len() > TAIL_MAX {
        let last_line = tail[..tail.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // The first line that starts at or after `keep_from` (a newline just before it counts).
        let keep_from = tail.len() - TAIL_MAX;
        let cut = match memchr::memchr(b'\n', &tail[keep_from - 1..]) {
            Some(i) => (keep_from + i).min(last_line),
            None => last_line,
        };
        tail.drain(..cut);
    }
}

/// A piece of an input (lines, or whole documents), for [`Run::parse_in_order`].
enum Piece<'b> {
    /// Newline-aligned bytes of a mapped file, released from the resident set once parsed,
    /// and again, in whole 2 MiB units, once merged (`FileBytes::release_read`).
    Mapped {
        /// The file.
        file: &'b FileBytes,
        /// The part of it.
        part: &'b [u8],
    },
    /// A newline-aligned block of a streamed input.
    Decoded(Vec<u8>),
    /// A result made without parsing (a line over the limit, reported bad).
    Made(ChunkOut),
}

/// How the pieces of one input are parsed: [`process_lines`] or [`process_documents`].
type Parser = fn(&[u8], &ChunkCtx<'_>) -> ChunkOut;

/// Where a streamed input is.
#[derive(Default)]
struct StreamState {
    shape: Option<Shape>,
    not_a_log_lines: u64,
    /// Lines merged so far.
    base: u64,
    bytes: u64,
    /// The end of the last block, for the last timestamp.
    tail: Vec<u8>,
    saw_error: bool,
}

fn shape_name(s: &Shape) -> &'static str {
    match s {
        Shape::Lines => "lines",
        Shape::Documents => "documents",
        Shape::NotALog(_) => "not_a_log",
    }
}

/// Cuts `buf` into chunks of about `size` bytes, each ending just after a newline (the last
/// one at the end of `buf`).
pub fn split_chunks(buf: &[u8], size: usize) -> Vec<&[u8]> {
    chunks_of(buf, size).collect()
}

/// [`split_chunks`] as it goes: finding a chunk's end reads the bytes there, and in a mapped
/// file that maps the pages around them, so a scan cuts only the chunks it is about to parse
/// (cutting a 4 GB file up front mapped 64 MiB of it at once).
pub fn chunks_of(buf: &[u8], size: usize) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= buf.len() {
            return None;
        }
        let target = start.saturating_add(size.max(1)).min(buf.len());
        let end = match memchr::memchr(b'\n', &buf[target - 1..]) {
            Some(i) => target + i,
            None => buf.len(),
        };
        let chunk = &buf[start..end];
        start = end;
        Some(chunk)
    })
}

/// The timestamp of the event on one line, if it is one.
fn line_time(line: &[u8]) -> Option<Micros> {
    let t = std::str::from_utf8(line.trim_ascii()).ok()?;
    let ev = if looks_legacy(t.as_bytes()) {
        parse_legacy_line(t).ok()?
    } else {
        parse_document(t).ok()?
    };
    document_time(classify(ev).ok()?)
}

/// The earliest timestamp of the events a document holds.
fn document_time(doc: Document<'_>) -> Option<Micros> {
    let mut earliest: Option<Micros> = None;
    for_each_held_event(
        doc,
        &mut |ev| {
            if let Some(t) = ev.request_received().or_else(|| ev.stage_time()) {
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
        },
        &mut |_, _| {},
    );
    earliest
}

/// The byte order mark some Windows tools write at the start of a UTF-8 file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// An input's bytes without the byte order mark it may start with: JSON allows none, and it
/// would make the first line unreadable (and a pretty-printed input look like no log).
fn without_bom(buf: &[u8]) -> &[u8] {
    buf.strip_prefix(UTF8_BOM).unwrap_or(buf)
}

/// The timestamp of an input's first event, looking at its first lines (or first document),
/// but not at a line (or a first document) longer than `max_line`, which the scan does not read.
pub fn first_event_time(buf: &[u8], max_line: usize) -> Option<Micros> {
    let buf = without_bom(buf);
    match sniff(buf) {
        Shape::Lines => buf
            .split(|&b| b == b'\n')
            .take(EDGE_LINES)
            .filter(|l| l.len() <= max_line)
            .find_map(line_time),
        Shape::Documents => {
            let first = serde_json::Deserializer::from_slice(buf)
                .into_iter::<&RawValue>()
                .next()?
                .ok()?;
            let text = first.get().as_bytes();
            (text.len() <= max_line).then(|| line_time(text)).flatten()
        }
        Shape::NotALog(_) => None,
    }
}

use serde_json::value::RawValue;

/// The timestamp of an input's last event, looking at its last lines, but not at a line
/// longer than `max_line`.
fn last_event_time(buf: &[u8], max_line: usize) -> Option<Micros> {
    buf.rsplit(|&b| b == b'\n')
        .take(EDGE_LINES)
        .filter(|l| l.len() <= max_line)
        .find_map(line_time)
}

/// The bad-input kind of an error that ended a stream.
fn stream_error_kind(source: &SourceKind, e: &io::Error) -> BadKind {
    use io::ErrorKind::{InvalidData, InvalidInput, UnexpectedEof};
    match (source, e.kind()) {
        (SourceKind::Gzip(_), UnexpectedEof) => BadKind::TruncatedGzip,
        (SourceKind::Gzip(_), InvalidInput | InvalidData) => BadKind::CorruptGzip,
        // The zstd crate reports a frame cut short as `UnexpectedEof`, and the decoder's own
        // errors (bad frame, bad checksum) as `Other`.
        (SourceKind::Zstd(_), UnexpectedEof) => BadKind::TruncatedZstd,
        (SourceKind::Zstd(_), io::ErrorKind::Other) => BadKind::CorruptZstd,
        _ => BadKind::Unreadable,
    }
}

/// Opens again an input closed after it was peeked at (see [`Opened::identity`]), if it is
/// still the same file.
fn reopen(kind: &SourceKind, identity: FileIdentity) -> io::Result<File> {
    let path = match kind {
        SourceKind::Plain(p) | SourceKind::Gzip(p) | SourceKind::Zstd(p) => p,
        SourceKind::Stdin => return Err(io::Error::other("stdin cannot be opened again")),
    };
    let file = File::open(path)?;
    if FileIdentity::of(&file.metadata()?) != identity {
        return Err(io::Error::other(
            "the file was replaced (rotated?) after the inputs were ordered; the new one is not \
             read (a higher limit of open files, `ulimit -n`, keeps every input open until read)",
        ));
    }
    Ok(file)
}

/// Opens a compressed input once, and peeks at its first event's timestamp in its first
/// decompressed MiB, read without moving the file's read position (see [`Opened::file`]).
fn open_compressed_input(
    path: &std::path::Path,
    kind: &SourceKind,
    max_line: usize,
) -> io::Result<OpenedInput> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut head = Vec::new();
    // A stream cut short within the first MiB still shows what it held before the cut.
    let _ = decoder(kind, PositionalReader { file: &file, at: 0 })
        .and_then(|d| d.take(1 << 20).read_to_end(&mut head));
    let first_ts = first_event_time(&head, max_line);
    Ok(OpenedInput {
        size,
        bytes: None,
        file: Some(file),
        reread: None,
        first_ts,
    })
}

/// Reads a file from `at` on without moving its read position.
struct PositionalReader<'f> {
    file: &'f File,
    at: u64,
}

impl Read for PositionalReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.at)?;
        // `seek_read` moves the file's cursor; peeks are made before any stream starts, so
        // the cursor goes back to the start.
        #[cfg(windows)]
        let n = {
            use std::io::{Seek, SeekFrom};
            let n = std::os::windows::fs::FileExt::seek_read(self.file, buf, self.at)?;
            let mut file = self.file;
            file.seek(SeekFrom::Start(0))?;
            n
        };
        #[cfg(not(any(unix, windows)))]
        let n: usize = {
            let _ = buf;
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        };
        self.at += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_plain_file_is_read_from_the_handle_it_was_peeked_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let old =
            "{\"kind\":\"Event\",\"auditID\":\"a\",\"stageTimestamp\":\"2024-01-01T08:00:00Z\"}\n";
        std::fs::write(&path, old).unwrap();
        let opts = ScanOptions {
            mmap: false,
            ..ScanOptions::default()
        };
        let input = open_plain_input(&path, &opts).unwrap();
        assert!(input.bytes.is_none());
        assert_eq!(input.size, old.len() as u64);
        assert_eq!(input.first_ts, Some(1_704_096_000_000_000));
        // Rotated by renaming, and a new log started under the old name, before it is read.
        std::fs::rename(&path, dir.path().join("audit-1.log")).unwrap();
        std::fs::write(&path, "new\n").unwrap();
        let mut read = String::new();
        input.file.unwrap().read_to_string(&mut read).unwrap();
        assert_eq!(read, old, "the peek left the read position at the start");
    }

    #[test]
    fn an_input_closed_after_its_peek_is_read_again_only_if_it_is_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        std::fs::write(&path, "old\n").unwrap();
        let kind = SourceKind::Plain(path.clone());
        let identity = FileIdentity::of(&std::fs::metadata(&path).unwrap());
        let mut read = String::new();
        reopen(&kind, identity)
            .unwrap()
            .read_to_string(&mut read)
            .unwrap();
        assert_eq!(read, "old\n");
        // Rotated by renaming, and a new log started under the old name.
        std::fs::rename(&path, dir.path().join("audit-1.log")).unwrap();
        std::fs::write(&path, "new\n").unwrap();
        let err = reopen(&kind, identity).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file was replaced (rotated?) after the inputs were ordered; the new one is not \
             read (a higher limit of open files, `ulimit -n`, keeps every input open until read)"
        );
    }

    #[test]
    fn the_tail_keeps_the_last_lines_of_a_stream() {
        let mut tail = Vec::new();
        // Blocks of fewer lines than looked at are kept together.
        push_tail(&mut tail, b"a\nb\n");
        push_tail(&mut tail, b"c\n");
        assert_eq!(tail, b"a\nb\nc\n");
        // A block of more lines than looked at keeps only its last ones (the empty piece after
        // the final newline is one of them, as `last_event_time` counts).
        let many: Vec<u8> = (0..150)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        push_tail(&mut tail, &many);
        let kept = String::from_utf8(tail.clone()).unwrap();
        assert_eq!(kept.lines().count(), EDGE_LINES - 1);
        assert!(
            kept.starts_with("51\n") && kept.ends_with("149\n"),
            "{kept}"
        );
        // Past TAIL_MAX bytes, whole lines are dropped from the front, but never the last.
        let long = vec![b'x'; TAIL_MAX];
        tail.clear();
        push_tail(&mut tail, b"first\n");
        push_tail(&mut tail, &[&long[..], b"\n"].concat());
        assert_eq!(tail.len(), TAIL_MAX + 1);
        push_tail(&mut tail, b"next\n");
        assert_eq!(tail, b"next\n");
    }

    #[test]
    fn chunks_are_newline_aligned_and_cover_everything() {
        let buf = b"aaaa\nbb\ncccccc\nd";
        for size in 1..20 {
            let chunks = split_chunks(buf, size);
            assert_eq!(chunks.concat(), buf.to_vec(), "{size}");
            for c in &chunks[..chunks.len() - 1] {
                assert_eq!(c.last(), Some(&b'\n'));
            }
        }
        assert!(split_chunks(b"", 4).is_empty());
    }
}
