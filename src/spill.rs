//! The spill file: kubelet requests set aside while the logs are read once, and read back
//! after the graph is built.
//!
//! A request is decided against the graph of the whole log (a pod's binding may only be
//! logged after the kubelet's first request for its secret, see [`crate::graph`]), so
//! `analyze` cannot decide while it reads. It used to read every input twice: once for the
//! graph, once for the requests. That costs a second pre-filter, line split and page mapping
//! of every byte (a fifth of the run on a plain file), a second inflate of every gzip input,
//! and for stdin, which cannot be read twice, it held every request in memory. Instead, the
//! one read writes each kept request to an unnamed temporary file in a compact binary form,
//! and the deciding reads them back in batches, in the order they were written. Memory stays
//! bounded by a batch; the file takes disk space instead, about a sixth of the log's size on
//! the generated benchmark logs (160 MB for 1 GB: 243 K requests of 660 bytes).
//!
//! The encoding is private to one run (written and read by the same binary), so it has no
//! version. Each record is its length (a little-endian `u32`), then its text's length (a
//! `u32`), its text, and the rest. The text is the bytes of all its strings, one after the
//! other; the rest is the fields of [`KubeletRequest`] in declaration order, where a string is
//! its `u32` length, an option a `0`/`1` tag, a list a `u32` count, and the URI's path, when
//! it is how the URI starts, the tag `1` and the length of that start (else `0` and the path
//! as a string). [`encode`] destructures the record, so a field added to it does not compile
//! until the encoding learns it. The scan encodes straight from the event
//! ([`EncodedRequest::from_event`]), in the same order, which no compiler checks: debug builds
//! compare each such encoding with the record built field by field, so the tests fail when
//! the two part on any event they read, and a unit test reads events that leave fields out or
//! give them in the forms the record maps specially.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, IoSlice, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use compact_str::CompactString;

use crate::input::event::{text, RawEvent, RawUser};
use crate::input::uri::{request_uri_parts, RequestUriParts};
use crate::record::{
    KubeletMatch, KubeletRequest, Micros, ObjectRef, RequestUri, SourcePos, Stage, UserInfo,
};

/// Why the spill file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    /// The file could not be created, written or read.
    #[error(
        "spill file in {dir}: {source} (kubelet requests are set aside there while the logs \
         are read; choose another directory with --spill-dir)"
    )]
    Io {
        /// The directory the file is in.
        dir: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A record did not decode: the file changed under us.
    #[error("spill file in {dir}: record {record} is corrupt: {reason}")]
    Corrupt {
        /// The directory the file is in.
        dir: PathBuf,
        /// 0-based record number.
        record: u64,
        /// What did not decode.
        reason: String,
    },
}

impl SpillError {
    fn io(dir: &Path, source: io::Error) -> SpillError {
        SpillError::Io {
            dir: dir.to_path_buf(),
            source,
        }
    }
}

/// Writes requests to an unnamed temporary file (removed by the system when it is closed,
/// even if the process dies).
pub struct SpillWriter {
    dir: PathBuf,
    file: File,
    records: u64,
    bytes: u64,
}

impl SpillWriter {
    /// Creates the file in `dir`.
    pub fn create(dir: &Path) -> Result<SpillWriter, SpillError> {
        let file = tempfile::tempfile_in(dir).map_err(|e| SpillError::io(dir, e))?;
        Ok(SpillWriter {
            dir: dir.to_path_buf(),
            file,
            records: 0,
            bytes: 0,
        })
    }

    /// Appends `requests`, in order, each with its line number shifted into its encoding
    /// ([`EncodedRequest::shift_line`]). They are written from their own encodings, with one
    /// vectored write for many: gathered into a buffer first, as they were, every byte was
    /// copied once more (1% of the samples of `analyze` on the 1 GB benchmark log).
    ///
    /// After an error the file is incomplete, and the writer is not to be used again (the
    /// requests may have been written in part).
    pub fn push_all(&mut self, requests: &mut [EncodedRequest]) -> Result<(), SpillError> {
        let mut lengths = Vec::with_capacity(requests.len());
        let mut bytes = 0;
        for request in requests.iter_mut() {
            let Ok(len) = u32::try_from(request.bytes.len()) else {
                let e = io::Error::new(io::ErrorKind::InvalidInput, "a request over 4 GiB");
                return Err(SpillError::io(&self.dir, e));
            };
            request.settle_line();
            lengths.push(len.to_le_bytes());
            bytes += 4 + u64::from(len);
        }
        let mut slices: Vec<IoSlice<'_>> = lengths
            .iter()
            .zip(requests.iter())
            .flat_map(|(len, request)| [IoSlice::new(len), IoSlice::new(&request.bytes)])
            .collect();
        write_all_vectored(&mut self.file, &mut slices)
            .map_err(|e| SpillError::io(&self.dir, e))?;
        self.records += requests.len() as u64;
        self.bytes += bytes;
        Ok(())
    }

    /// Requests pushed so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes of the records pushed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Opens the file for reading from the start.
    pub fn finish(self) -> Result<SpillReader, SpillError> {
        let SpillWriter {
            dir,
            mut file,
            records,
            ..
        } = self;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| SpillError::io(&dir, e))?;
        Ok(SpillReader {
            file,
            carried: Vec::new(),
            remaining: records,
            read: 0,
            last_batch_bytes: 0,
            dir,
        })
    }
}

/// Writes all of `slices` to `out` (`Write::write_all_vectored` is not stable yet). A write
/// may take fewer bytes than given: std's `File::write_vectored` passes the system at most
/// its limit of slices a call (`IOV_MAX`, 1024 on Linux), and a write may stop inside a slice;
/// the next one goes on from there.
fn write_all_vectored(out: &mut impl Write, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the spill file took no more bytes",
                ))
            }
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads the requests back, in the order they were written, a batch at a time.
pub struct SpillReader {
    dir: PathBuf,
    /// Read straight into the batches, without a buffer of its own: a `BufReader` copied
    /// every byte once more, its buffer to the batch's (1.2% of the samples of `analyze` on
    /// the 1 GB benchmark log).
    file: File,
    /// The bytes read past the last batch's last record: the start of the next batch's.
    carried: Vec<u8>,
    remaining: u64,
    read: u64,
    /// The size of the last batch's records: the next one's is about the same, so its first
    /// read asks for about that much, and most batches take one read and a top-up.
    last_batch_bytes: usize,
}

/// How much a batch reads at least at once when its first read did not take in all its
/// records: small, as what a read takes past the batch's last record is copied into the next
/// batch, large enough that a batch needs few reads.
const TOP_UP_BYTES: usize = 16 << 10;

/// The most one read asks for: a corrupt length (up to 4 GiB) then grows the buffer only as
/// the file's bytes come, and one record of many MiB does not make the next batches read as
/// much ahead of their records.
const READ_AT_MOST: usize = 1 << 20;

/// Encoded requests read back together; [`SpillBatch::decode`] turns one into a record, so
/// that a batch can be decoded in parallel.
pub struct SpillBatch {
    bytes: Vec<u8>,
    records: Vec<Range<usize>>,
    /// The number of the batch's first record in the file.
    first: u64,
    dir: PathBuf,
}

impl SpillReader {
    /// The next batch of up to `max_records` requests, or `None` at the end.
    pub fn next_batch(&mut self, max_records: usize) -> Result<Option<SpillBatch>, SpillError> {
        let mut batch = self.empty_batch();
        Ok(self.refill(&mut batch, max_records)?.then_some(batch))
    }

    /// A batch that holds no request yet, for [`SpillReader::refill`].
    pub fn empty_batch(&self) -> SpillBatch {
        SpillBatch {
            bytes: Vec::new(),
            records: Vec::new(),
            first: self.read,
            dir: self.dir.clone(),
        }
    }

    /// Replaces the requests of `batch` with the next up to `max_records`, in the memory the
    /// batch already has (a batch's buffer, a few MiB when batches held 8192 requests, was
    /// faulted in and cleared by the kernel each time it was taken afresh); false at the end,
    /// the batch then empty. After an error the batch holds part of the requests and the
    /// reader is not to be used again.
    pub fn refill(
        &mut self,
        batch: &mut SpillBatch,
        max_records: usize,
    ) -> Result<bool, SpillError> {
        batch.records.clear();
        batch.first = self.read;
        if self.remaining == 0 {
            batch.bytes.clear();
            return Ok(false);
        }
        let n = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(max_records.max(1));
        batch.records.reserve(n);
        // The batch's buffer stays initialized up to its last size, and is zeroed only where
        // it grows, so that a read fills it in one call: read into spare room,
        // `read_to_end` asks 8 KiB, then 16, 32... a call each.
        let mut filled = self.carried.len();
        if batch.bytes.len() < filled {
            batch.bytes.resize(filled, 0);
        }
        batch.bytes[..filled].copy_from_slice(&self.carried);
        self.carried.clear();
        // The first read asks for about the last batch's size, less what was carried over,
        // so that most batches take one read and a top-up, and little is carried over again.
        let mut ask = self
            .last_batch_bytes
            .min(READ_AT_MOST)
            .saturating_sub(filled)
            .max(TOP_UP_BYTES);
        let mut at = 0;
        for i in 0..n {
            let record = self.read + i as u64;
            let start = at + 4;
            self.fill(&mut batch.bytes, &mut filled, at..start, &mut ask, record)?;
            let mut len = [0u8; 4];
            len.copy_from_slice(&batch.bytes[at..start]);
            let end = start.saturating_add(u32::from_le_bytes(len) as usize);
            self.fill(&mut batch.bytes, &mut filled, at..end, &mut ask, record)?;
            batch.records.push(start..end);
            at = end;
        }
        self.carried.extend_from_slice(&batch.bytes[at..filled]);
        batch.bytes.truncate(at);
        self.remaining -= n as u64;
        self.read += n as u64;
        self.last_batch_bytes = at;
        Ok(true)
    }

    /// Reads into `bytes` past its first `filled` until the end of `record_part` (a part of
    /// `record`, from its start) is filled, `ask` bytes or more at a time (then
    /// [`TOP_UP_BYTES`] for the next reads); the file ending first means `record` was cut.
    fn fill(
        &mut self,
        bytes: &mut Vec<u8>,
        filled: &mut usize,
        record_part: Range<usize>,
        ask: &mut usize,
        record: u64,
    ) -> Result<(), SpillError> {
        let need = record_part.end;
        while *filled < need {
            let want = (need - *filled).min(READ_AT_MOST).max(*ask);
            *ask = TOP_UP_BYTES;
            let end = *filled + want;
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            let got = loop {
                match self.file.read(&mut bytes[*filled..end]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    done => break done,
                }
            }
            .map_err(|e| self.error(record, e))?;
            if got == 0 {
                // Counted from the record's start, its 4-byte length included.
                let e = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{} of {} bytes",
                        *filled - record_part.start,
                        need - record_part.start
                    ),
                );
                return Err(self.error(record, e));
            }
            *filled += got;
        }
        Ok(())
    }

    /// A read of `record` failed: the file ending early means it changed under us.
    fn error(&self, record: u64, e: io::Error) -> SpillError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            SpillError::Corrupt {
                dir: self.dir.clone(),
                record,
                reason: format!("the file ends inside it ({e})"),
            }
        } else {
            SpillError::io(&self.dir, e)
        }
    }
}

impl SpillBatch {
    /// Requests in the batch.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True if the batch holds no request.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Decodes the `i`th request of the batch.
    pub fn decode(&self, i: usize) -> Result<KubeletRequest, SpillError> {
        self.decode_as(i, Fields::All)
    }

    /// Decodes the `i`th request of the batch as [`SpillBatch::decode`] does, without the
    /// fields that deciding a request does not read ([`Fields::ForDeciding`]): they are checked
    /// and skipped instead of copied into strings (an allocation each for a long object name
    /// or response message) and freed unread.
    pub fn decode_for_deciding(&self, i: usize) -> Result<KubeletRequest, SpillError> {
        self.decode_as(i, Fields::ForDeciding)
    }

    fn decode_as(&self, i: usize, fields: Fields) -> Result<KubeletRequest, SpillError> {
        let corrupt = |reason: String| SpillError::Corrupt {
            dir: self.dir.clone(),
            record: self.first + i as u64,
            reason,
        };
        let range = self
            .records
            .get(i)
            .ok_or_else(|| corrupt(format!("no record {i} in a batch of {}", self.len())))?;
        decode_fields(&self.bytes[range.clone()], fields).map_err(corrupt)
    }
}

/// Which fields of a record a decode fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fields {
    /// All of them: the record as it was encoded.
    All,
    /// All but `level`, `object_ref`, `response_reason` and `response_message`, which are
    /// left empty: the request's path, not its `objectRef`, gives the authorizers its
    /// attributes (as the apiserver's request-info resolver does), and no row, summary or
    /// inventory reads the others.
    ForDeciding,
    /// Only what the inventory reads ([`crate::inventory::InventoryBuilder::add`]): the verb,
    /// the path, the users' names, the match, the response code and the decision's
    /// annotations. Every other string and list is left empty, and the body too: a run that
    /// wants only the inventory copies nothing it would free unread.
    ForInventory,
}

/// One kubelet request in the encoding the spill file holds (see [`encode`]), made by the
/// worker thread that read its event.
///
/// A request waits on other threads (for its deduplication, then for the spill file) as this
/// one allocation. As a [`KubeletRequest`] it was some twenty (a box, long strings, lists),
/// freed by another thread than the one that made them: mimalloc takes such blocks back late,
/// and the workers kept taking fresh pages, which the kernel clears first. The record is now
/// freed where it was made, into memory that the next record reuses.
#[derive(Debug, Clone)]
pub struct EncodedRequest {
    /// What [`encode`] writes: the text (the auditID first), then the rest (the position
    /// last).
    bytes: Vec<u8>,
    /// The auditID's length: it is the text's first string.
    audit_id_len: usize,
    stage: Option<Stage>,
    /// Lines to add to the line number written in `bytes` ([`EncodedRequest::shift_line`]).
    /// Adding them where the record is written out, rather than where its chunk is merged,
    /// spares the merging thread a read of the record's last bytes, which another thread
    /// wrote: such a cache miss per request was a tenth of that thread's work.
    line_shift: u64,
}

/// Equal when they decode to equal records: a line number may be written in the bytes or
/// still to be added.
impl PartialEq for EncodedRequest {
    fn eq(&self, other: &Self) -> bool {
        let text = |r: &EncodedRequest| r.bytes.len().saturating_sub(8);
        self.audit_id_len == other.audit_id_len
            && self.stage == other.stage
            && self.pos() == other.pos()
            && self.bytes[..text(self)] == other.bytes[..text(other)]
    }
}

impl Eq for EncodedRequest {}

/// The bytes of [`SourcePos`] at the end of an encoding (a `u32` file, a `u64` line): it is
/// the last field.
const POS_BYTES: usize = 12;

impl EncodedRequest {
    /// Encodes `r`.
    pub fn new(r: &KubeletRequest) -> EncodedRequest {
        let encoded = EncodedRequest::written(r.audit_id.len(), r.stage, |w| encode_fields(r, w));
        // What the layout is read for, read back (see `pos` and `audit_id`).
        debug_assert_eq!(encoded.pos(), r.pos);
        debug_assert_eq!(encoded.audit_id(), r.audit_id);
        encoded
    }

    /// Encodes the kubelet request `ev` records, as [`EncodedRequest::new`] encodes its
    /// record (`ev.to_kubelet_request(matched_by, pos)`), without building the record: its
    /// strings and lists were made only to be copied into the encoding and freed, 3.5% of the
    /// instructions of `analyze` on the 100 MB benchmark log.
    pub fn from_event(ev: &RawEvent<'_>, matched_by: KubeletMatch, pos: SourcePos) -> Self {
        let request = EventRequest::of(ev, matched_by, pos);
        let encoded = EncodedRequest::written(request.audit_id.len(), request.stage, |w| {
            request.encode_fields(w)
        });
        debug_assert_eq!(encoded.pos(), pos);
        debug_assert_eq!(encoded.audit_id(), request.audit_id);
        // The record built field by field, which is the tests' own reading of the event.
        #[cfg(debug_assertions)]
        debug_assert_eq!(
            encoded.decode().as_ref(),
            Ok(&ev.to_kubelet_request(matched_by, pos))
        );
        encoded
    }

    /// The encoding `fields` writes.
    fn written(
        audit_id_len: usize,
        stage: Option<Stage>,
        fields: impl FnOnce(&mut Encoder<'_>),
    ) -> EncodedRequest {
        let bytes = SCRATCH.with_borrow_mut(|scratch| {
            scratch.clear();
            encode_with(scratch, fields);
            let bytes = scratch.as_slice().to_vec();
            if scratch.capacity() > SCRATCH_KEPT {
                *scratch = Vec::new();
            }
            bytes
        });
        EncodedRequest {
            bytes,
            audit_id_len,
            stage,
            line_shift: 0,
        }
    }

    /// The request's auditID.
    pub fn audit_id(&self) -> &str {
        // The text starts after its length; a checked conversion of a few dozen bytes costs
        // less than the argument that an unchecked one would need.
        self.bytes
            .get(4..4 + self.audit_id_len)
            .and_then(|id| std::str::from_utf8(id).ok())
            .unwrap_or_default()
    }

    /// The stage of the request's kept event.
    pub fn stage(&self) -> Option<Stage> {
        self.stage
    }

    /// Where the request's kept event was read.
    pub fn pos(&self) -> SourcePos {
        // `encode` writes the file's number and the line number last.
        let tail = self.bytes.last_chunk::<POS_BYTES>().copied();
        let [f0, f1, f2, f3, line @ ..] = tail.unwrap_or([0; POS_BYTES]);
        SourcePos {
            file: u32::from_le_bytes([f0, f1, f2, f3]),
            line: u64::from_le_bytes(line).saturating_add(self.line_shift),
        }
    }

    /// Moves the position's line number on by `lines` (chunk-relative to input-relative).
    /// Saturating adds compose, so adding them up first gives the same line.
    pub fn shift_line(&mut self, lines: u64) {
        self.line_shift = self.line_shift.saturating_add(lines);
    }

    /// Adds the lines still to be added ([`EncodedRequest::shift_line`]) to the line number
    /// written in the encoding, which is then what the spill file holds, and forgets them, so
    /// that [`EncodedRequest::pos`] gives the same line and a second write does not add them
    /// again.
    fn settle_line(&mut self) {
        if self.line_shift != 0 && self.bytes.len() >= POS_BYTES {
            shift_last_line(&mut self.bytes, self.line_shift);
            self.line_shift = 0;
        }
    }

    /// The record again.
    pub fn decode(&self) -> Result<KubeletRequest, String> {
        self.decode_fields(Fields::All)
    }

    /// The record again, with only `fields`.
    pub fn decode_fields(&self, fields: Fields) -> Result<KubeletRequest, String> {
        let mut record = decode_fields(&self.bytes, fields)?;
        record.pos.line = record.pos.line.saturating_add(self.line_shift);
        Ok(record)
    }
}

/// Adds `lines` to the line number that ends `encoded` (see [`EncodedRequest::pos`]).
fn shift_last_line(encoded: &mut [u8], lines: u64) {
    if let Some(line) = encoded.last_chunk_mut::<8>() {
        *line = u64::from_le_bytes(*line)
            .saturating_add(lines)
            .to_le_bytes();
    }
}

thread_local! {
    /// Where this thread encodes a request before the encoding is copied out at its size:
    /// grown by doubling, each request's own vector was
    /// reallocated several times over for a large body (59 thousand times on the 100 MB
    /// benchmark log), and a third of a typical one went unused while it waited.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The most a thread's [`SCRATCH`] keeps between requests: a larger one (a body of many
/// megabytes) is let go.
const SCRATCH_KEPT: usize = 1 << 20;

/// Appends the encoding of `r` to `out` (the module documentation gives the layout).
///
/// The strings' bytes are together, ahead of the rest, so that decoding checks them as UTF-8
/// in one pass: one check per string was a third of decoding.
pub fn encode(r: &KubeletRequest, out: &mut Vec<u8>) {
    encode_with(out, |w| encode_fields(r, w));
}

/// Appends the encoding that `fields` writes: its text straight to `out`, the rest to a
/// scratch vector of this thread appended after it. Walking the fields once for each part
/// was a tenth of the scan's encoding.
fn encode_with(out: &mut Vec<u8>, fields: impl FnOnce(&mut Encoder<'_>)) {
    REST.with_borrow_mut(|rest| {
        rest.clear();
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        fields(&mut Encoder { text: out, rest });
        // Saturated, a length no longer describes the record: but the text is part of the
        // record, and `SpillWriter::push_all` refuses a record over 4 GiB.
        let text_len = u32::try_from(out.len() - start - 4).unwrap_or(u32::MAX);
        out[start..start + 4].copy_from_slice(&text_len.to_le_bytes());
        out.extend_from_slice(rest);
        if rest.capacity() > SCRATCH_KEPT {
            *rest = Vec::new();
        }
    });
}

thread_local! {
    /// Where this thread writes the part of an encoding that is not text, before it is
    /// appended to the text.
    static REST: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes the fields of `r` in declaration order, each to its part of the encoding (see
/// [`Encoder`]).
fn encode_fields(r: &KubeletRequest, w: &mut Encoder<'_>) {
    let KubeletRequest {
        audit_id,
        stage,
        level,
        request_received,
        stage_timestamp,
        verb,
        request_uri,
        uri,
        object_ref,
        user,
        impersonated_user,
        source_ips,
        user_agent,
        response_code,
        response_reason,
        response_message,
        decision,
        reason,
        request_object,
        matched_by,
        pos,
    } = r;
    // First, where `EncodedRequest::audit_id` finds it.
    w.str(audit_id);
    w.stage(*stage);
    w.str(level);
    w.opt(request_received.as_ref(), |w, t| w.i64(*t));
    w.opt(stage_timestamp.as_ref(), |w, t| w.i64(*t));
    w.str(verb);
    w.str(request_uri);
    w.uri(request_uri, &uri.parts());
    w.opt(object_ref.as_ref(), |w, o| {
        let ObjectRef {
            api_group,
            api_version,
            resource,
            subresource,
            namespace,
            name,
        } = o;
        w.object_ref([
            api_group,
            api_version,
            resource,
            subresource,
            namespace,
            name,
        ]);
    });
    w.user(user);
    w.opt(impersonated_user.as_ref(), Encoder::user);
    w.strs(source_ips);
    w.str(user_agent);
    w.opt(response_code.as_ref(), |w, c| w.u32(*c as u32));
    w.str(response_reason);
    w.str(response_message);
    w.opt_str(decision);
    w.opt_str(reason);
    w.opt_str(request_object);
    w.matched_by(*matched_by);
    // Last, where `EncodedRequest::pos` and `EncodedRequest::shift_line` find it.
    w.pos(*pos);
}

/// A kubelet request as its event tells it, borrowed from the event: the fields of its record
/// (`RawEvent::to_kubelet_request`, in test and debug builds) that take more than a copy
/// (parsed timestamps and URI, defaults for what is absent), worked out once for both of
/// [`encode`]'s passes.
struct EventRequest<'e, 'a> {
    ev: &'e RawEvent<'a>,
    audit_id: &'e str,
    stage: Option<Stage>,
    request_received: Option<Micros>,
    stage_timestamp: Option<Micros>,
    verb: &'e str,
    request_uri: &'e str,
    uri: RequestUriParts<'e>,
    request_object: Option<&'a str>,
    matched_by: KubeletMatch,
    pos: SourcePos,
}

impl<'e, 'a> EventRequest<'e, 'a> {
    fn of(ev: &'e RawEvent<'a>, matched_by: KubeletMatch, pos: SourcePos) -> Self {
        let request_uri = text(&ev.request_uri);
        EventRequest {
            ev,
            audit_id: text(&ev.audit_id),
            stage: ev.stage(),
            request_received: ev.request_received(),
            stage_timestamp: ev.stage_time(),
            verb: ev.verb(),
            request_uri,
            uri: request_uri_parts(request_uri),
            request_object: ev.write_body(),
            matched_by,
            pos,
        }
    }

    /// Writes the fields in the order of [`encode_fields`].
    fn encode_fields(&self, w: &mut Encoder<'_>) {
        let ev = self.ev;
        let status = ev.response_status.as_ref();
        let annotations = ev.annotations.as_ref();
        w.str(self.audit_id);
        w.stage(self.stage);
        w.str(text(&ev.level));
        w.opt(self.request_received.as_ref(), |w, t| w.i64(*t));
        w.opt(self.stage_timestamp.as_ref(), |w, t| w.i64(*t));
        w.str(self.verb);
        w.str(self.request_uri);
        w.uri(self.request_uri, &self.uri);
        w.opt(ev.object_ref.as_ref(), |w, o| {
            w.object_ref([
                text(&o.api_group),
                text(&o.api_version),
                text(&o.resource),
                text(&o.subresource),
                text(&o.namespace),
                text(&o.name),
            ]);
        });
        match &ev.user {
            Some(u) => w.raw_user(u),
            None => w.user(&UserInfo::default()),
        }
        w.opt(ev.impersonated_user.as_ref(), Encoder::raw_user);
        w.strs(ev.source_ips.as_deref().unwrap_or_default());
        w.str(text(&ev.user_agent));
        w.opt(status.and_then(|s| s.code).as_ref(), |w, c| {
            w.u32(*c as u32)
        });
        w.str(status.map_or("", |s| text(&s.reason)));
        w.str(status.map_or("", |s| text(&s.message)));
        w.opt_str(&annotations.and_then(|a| a.decision.as_deref()));
        w.opt_str(&annotations.and_then(|a| a.reason.as_deref()));
        w.opt_str(&self.request_object);
        w.matched_by(Some(self.matched_by));
        w.pos(self.pos);
    }
}

/// The tag of a path written as a string of its own ([`Encoder::uri`]).
const PATH_OWN: u8 = 0;
/// The tag of a path that is how its request URI starts, written as its length: paths
/// written twice were 7.6% of the spill file (the 100 MB benchmark log's).
const PATH_IN_URI: u8 = 1;

/// Writes a record's encoding (see [`encode`]): the strings' bytes to its text, everything
/// else to the rest.
struct Encoder<'a> {
    text: &'a mut Vec<u8>,
    rest: &'a mut Vec<u8>,
}

impl Encoder<'_> {
    /// Writes bytes of the part that is not text.
    fn bin(&mut self, b: &[u8]) {
        self.rest.extend_from_slice(b);
    }
    fn u8(&mut self, v: u8) {
        self.bin(&[v]);
    }
    fn u32(&mut self, v: u32) {
        self.bin(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.bin(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.bin(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        // Strings and lists come from lines of at most 4 GiB (the reader's line limit is far
        // lower), so their lengths fit.
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn str(&mut self, s: &str) {
        self.text.extend_from_slice(s.as_bytes());
        self.len(s.len());
    }
    #[inline(always)]
    fn opt<T>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                f(self, v);
            }
        }
    }
    fn opt_str(&mut self, v: &Option<impl AsRef<str>>) {
        self.opt(v.as_ref(), |w, s| w.str(s.as_ref()));
    }
    fn strs(&mut self, v: &[impl AsRef<str>]) {
        self.len(v.len());
        for s in v {
            self.str(s.as_ref());
        }
    }
    fn stage(&mut self, stage: Option<Stage>) {
        self.u8(match stage {
            None => 0,
            Some(Stage::RequestReceived) => 1,
            Some(Stage::ResponseStarted) => 2,
            Some(Stage::Panic) => 3,
            Some(Stage::ResponseComplete) => 4,
        });
    }
    /// The parts of `request_uri`; its path as [`PATH_IN_URI`] and its length when it is how
    /// the URI starts (a path without escapes, nearly every one), else as a string.
    fn uri(&mut self, request_uri: &str, uri: &RequestUriParts<'_>) {
        let RequestUriParts {
            path,
            field_selector,
            label_selector,
            watch,
            resource_version,
            limit,
        } = uri;
        if request_uri.starts_with(&**path) {
            self.u8(PATH_IN_URI);
            self.len(path.len());
        } else {
            self.u8(PATH_OWN);
            self.str(path);
        }
        self.opt_str(field_selector);
        self.opt_str(label_selector);
        self.u8(u8::from(*watch));
        self.opt_str(resource_version);
        self.opt(limit.as_ref(), |w, l| w.u64(*l));
    }
    /// An `objectRef`'s group, version, resource, subresource, namespace and name.
    fn object_ref(&mut self, parts: [&str; 6]) {
        for s in parts {
            self.str(s);
        }
    }
    fn user(&mut self, u: &UserInfo) {
        let UserInfo {
            username,
            groups,
            extra,
        } = u;
        self.user_parts(
            username,
            groups,
            extra.len(),
            extra
                .iter()
                .map(|(key, values)| (key.as_str(), values.as_slice())),
        );
    }
    /// A user as its event gives it, encoded as [`Encoder::user`] encodes the
    /// [`UserInfo`] made of it (`extra` is sorted by key in both).
    fn raw_user(&mut self, u: &RawUser<'_>) {
        let extra = u.extra.iter().flatten();
        self.user_parts(
            text(&u.username),
            u.groups.as_deref().unwrap_or_default(),
            u.extra.as_ref().map_or(0, |e| e.len()),
            extra.map(|(key, values)| (&**key, values.as_deref().unwrap_or_default())),
        );
    }
    fn user_parts<'v, V: AsRef<str> + 'v>(
        &mut self,
        username: &str,
        groups: &[impl AsRef<str>],
        extra_len: usize,
        extra: impl Iterator<Item = (&'v str, &'v [V])>,
    ) {
        self.str(username);
        self.strs(groups);
        self.len(extra_len);
        for (key, values) in extra {
            self.str(key);
            self.strs(values);
        }
    }
    fn matched_by(&mut self, matched_by: Option<KubeletMatch>) {
        self.u8(match matched_by {
            None => 0,
            Some(KubeletMatch::NodeUser) => 1,
            Some(KubeletMatch::ImpersonatedNode) => 2,
            Some(KubeletMatch::KubeletUserAgent) => 3,
        });
    }
    fn pos(&mut self, pos: SourcePos) {
        let SourcePos { file, line } = pos;
        self.u32(file);
        self.u64(line);
    }
}

/// Decodes one record written by [`encode`]; `Err` says what did not decode.
pub fn decode(bytes: &[u8]) -> Result<KubeletRequest, String> {
    decode_fields(bytes, Fields::All)
}

/// [`decode`], filling in only `fields`; the others are still checked.
pub fn decode_fields(bytes: &[u8], fields: Fields) -> Result<KubeletRequest, String> {
    let all = fields == Fields::All;
    let deciding = fields != Fields::ForInventory;
    let mut d = Decoder {
        bin: bytes,
        text: "",
    };
    let text_len = d.u32()? as usize;
    if text_len > d.bin.len() {
        return Err(format!(
            "{text_len} bytes of text with {} left",
            d.bin.len()
        ));
    }
    let (text, bin) = d.bin.split_at(text_len);
    d.text = crate::input::utf8(text).map_err(|e| format!("text that is not UTF-8: {e}"))?;
    d.bin = bin;
    let audit_id = d.str_if(deciding)?;
    let stage = match d.u8()? {
        0 => None,
        1 => Some(Stage::RequestReceived),
        2 => Some(Stage::ResponseStarted),
        3 => Some(Stage::Panic),
        4 => Some(Stage::ResponseComplete),
        s => return Err(format!("stage {s}")),
    };
    let level = d.str_if(all)?;
    let request_received = d.opt(Decoder::i64)?;
    let stage_timestamp = d.opt(Decoder::i64)?;
    let verb = d.str()?;
    let request_uri = d.next_text()?;
    let uri = RequestUri {
        path: d.path(request_uri)?,
        field_selector: d.opt(|d| d.str_if(deciding))?,
        label_selector: d.opt(|d| d.str_if(deciding))?,
        watch: match d.u8()? {
            0 => false,
            1 => true,
            w => return Err(format!("watch {w}")),
        },
        resource_version: d.opt(|d| d.str_if(deciding))?,
        limit: d.opt(Decoder::u64)?,
    };
    let object_ref = d
        .opt(|d| {
            Ok(ObjectRef {
                api_group: d.str_if(all)?,
                api_version: d.str_if(all)?,
                resource: d.str_if(all)?,
                subresource: d.str_if(all)?,
                namespace: d.str_if(all)?,
                name: d.str_if(all)?,
            })
        })?
        .filter(|_| all);
    let user = d.user(deciding)?;
    let impersonated_user = d.opt(|d| d.user(deciding))?;
    let source_ips = d.strs_if(deciding)?;
    let user_agent = d.str_if(deciding)?;
    let response_code = d.opt(|d| d.u32().map(|c| c as i32))?;
    let response_reason = d.str_if(all)?;
    let response_message = d.str_if(all)?;
    let decision = d.opt(Decoder::str)?;
    let reason = d.opt(Decoder::str)?;
    let request_object = d.opt(|d| d.string_if(deciding))?.filter(|_| deciding);
    let matched_by = match d.u8()? {
        0 => None,
        1 => Some(KubeletMatch::NodeUser),
        2 => Some(KubeletMatch::ImpersonatedNode),
        3 => Some(KubeletMatch::KubeletUserAgent),
        m => return Err(format!("matched_by {m}")),
    };
    let pos = SourcePos {
        file: d.u32()?,
        line: d.u64()?,
    };
    if !d.bin.is_empty() {
        return Err(format!("{} bytes left over", d.bin.len()));
    }
    if !d.text.is_empty() {
        return Err(format!("{} bytes of text left over", d.text.len()));
    }
    Ok(KubeletRequest {
        audit_id,
        stage,
        level,
        request_received,
        stage_timestamp,
        verb,
        request_uri: if deciding {
            request_uri.into()
        } else {
            CompactString::default()
        },
        uri,
        object_ref,
        user,
        impersonated_user,
        source_ips,
        user_agent,
        response_code,
        response_reason,
        response_message,
        decision,
        reason,
        request_object,
        matched_by,
        pos,
    })
}

/// Reads a record's encoding (see [`encode`]): its strings from `text`, the rest from `bin`.
/// Its small readers are always inlined: the compiler called them apart, and the calls were
/// 1.7% of `analyze`'s instructions on the 100 MB benchmark log (callgrind); so is the
/// encoder's `opt` (0.4%).
struct Decoder<'a> {
    bin: &'a [u8],
    text: &'a str,
}

impl<'a> Decoder<'a> {
    #[inline(always)]
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let (head, rest) = self
            .bin
            .split_first_chunk::<N>()
            .ok_or_else(|| format!("ends {} bytes early", N - self.bin.len()))?;
        self.bin = rest;
        Ok(*head)
    }
    #[inline(always)]
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take::<1>()?[0])
    }
    #[inline(always)]
    fn u32(&mut self) -> Result<u32, String> {
        self.take().map(u32::from_le_bytes)
    }
    #[inline(always)]
    fn u64(&mut self) -> Result<u64, String> {
        self.take().map(u64::from_le_bytes)
    }
    #[inline(always)]
    fn i64(&mut self) -> Result<i64, String> {
        self.take().map(i64::from_le_bytes)
    }
    #[inline(always)]
    fn str(&mut self) -> Result<CompactString, String> {
        self.next_text().map(CompactString::from)
    }
    /// The next string if `wanted`, else an empty one (the string is still checked, and
    /// skipped).
    #[inline(always)]
    fn str_if(&mut self, wanted: bool) -> Result<CompactString, String> {
        let text = self.next_text()?;
        Ok(if wanted {
            CompactString::from(text)
        } else {
            CompactString::default()
        })
    }
    /// The next string, owned, if `wanted` (else an empty one, checked and skipped).
    fn string_if(&mut self, wanted: bool) -> Result<String, String> {
        let text = self.next_text()?;
        Ok(if wanted {
            text.to_string()
        } else {
            String::new()
        })
    }
    /// A length written by [`Encoder::len`].
    #[inline(always)]
    fn len(&mut self) -> Result<usize, String> {
        self.u32().map(|n| n as usize)
    }
    /// A path written by [`Encoder::uri`], which may be how `request_uri` starts.
    #[inline(always)]
    fn path(&mut self, request_uri: &str) -> Result<CompactString, String> {
        match self.u8()? {
            PATH_OWN => match self.next_text()? {
                starts_uri if request_uri.starts_with(starts_uri) => Err(format!(
                    "a path written whole that starts its URI: {starts_uri:?}"
                )),
                own => Ok(own.into()),
            },
            PATH_IN_URI => {
                let n = self.len()?;
                request_uri
                    .get(..n)
                    .map(CompactString::from)
                    .ok_or_else(|| {
                        format!(
                            "a path of the URI's first {n} bytes, of {}",
                            request_uri.len()
                        )
                    })
            }
            t => Err(format!("path tag {t}")),
        }
    }
    #[inline(always)]
    fn next_text(&mut self) -> Result<&'a str, String> {
        let n = self.len()?;
        if n > self.text.len() {
            return Err(format!(
                "a string of {n} bytes with {} of text left",
                self.text.len()
            ));
        }
        // The text is UTF-8 as a whole; a cut inside a character is what corrupt lengths give.
        let (s, rest) = self
            .text
            .split_at_checked(n)
            .ok_or_else(|| format!("a string of {n} bytes ends inside a character"))?;
        self.text = rest;
        Ok(s)
    }
    #[inline(always)]
    fn opt<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        match self.u8()? {
            0 => Ok(None),
            1 => f(self).map(Some),
            t => Err(format!("option tag {t}")),
        }
    }
    /// The next list of strings if `wanted` (else an empty one, checked and skipped).
    fn strs_if(&mut self, wanted: bool) -> Result<Vec<CompactString>, String> {
        let n = self.len()?;
        // Each string takes at least its 4-byte length, which bounds a corrupt count.
        if n > self.bin.len() / 4 {
            return Err(format!("a list of {n} with {} bytes left", self.bin.len()));
        }
        if !wanted {
            for _ in 0..n {
                self.next_text()?;
            }
            return Ok(Vec::new());
        }
        // A loop rather than collecting into a `Result`, whose adapter the compiler called
        // for each string (0.4% of `analyze`'s instructions).
        let mut list = Vec::with_capacity(n);
        for _ in 0..n {
            list.push(self.str()?);
        }
        Ok(list)
    }
    /// A user; its groups and extra only if `whole` (else empty, checked and skipped).
    fn user(&mut self, whole: bool) -> Result<UserInfo, String> {
        let username = self.str()?;
        let groups = self.strs_if(whole)?;
        let n = self.len()?;
        if n > self.bin.len() / 8 {
            return Err(format!("{n} extra keys with {} bytes left", self.bin.len()));
        }
        let mut extra = Vec::with_capacity(if whole { n } else { 0 });
        for _ in 0..n {
            let entry = (self.str_if(whole)?, self.strs_if(whole)?);
            if whole {
                extra.push(entry);
            }
        }
        Ok(UserInfo {
            username,
            groups,
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str) -> KubeletRequest {
        KubeletRequest {
            audit_id: id.into(),
            verb: "get".into(),
            ..KubeletRequest::default()
        }
    }

    /// Events that leave fields out, or give them in the forms the record maps specially,
    /// encode straight from the event as their record built field by field encodes.
    #[test]
    fn an_event_encodes_as_its_record() {
        let pos = SourcePos { file: 3, line: 99 };
        let read = |line: &'static str, matched_by| {
            let ev: RawEvent<'_> = serde_json::from_str(line).unwrap();
            let encoded = EncodedRequest::from_event(&ev, matched_by, pos);
            let record = ev.to_kubelet_request(matched_by, pos);
            assert_eq!(encoded.decode().as_ref(), Ok(&record), "{line}");
            assert_eq!(encoded, EncodedRequest::new(&record), "{line}");
            record
        };
        // Only the bodies of writes are kept.
        let get = read(
            r#"{"auditID":"a","verb":"get","requestObject":{"x":1}}"#,
            KubeletMatch::NodeUser,
        );
        assert_eq!(get.request_object, None);
        let patch = read(
            r#"{"auditID":"a","verb":"patch","requestObject":{"x":1},"requestURI":"/api/v1/pods?fieldSelector=spec.nodeName%3Dn%2Cx!%3Dy&watch=1&limit=5&resourceVersion=%FF+a"}"#,
            KubeletMatch::NodeUser,
        );
        assert_eq!(patch.request_object.as_deref(), Some(r#"{"x":1}"#));
        assert_eq!(
            patch.uri.field_selector.as_deref(),
            Some("spec.nodeName=n,x!=y")
        );
        assert_eq!(patch.uri.resource_version.as_deref(), Some("\u{fffd} a"));
        // `v1beta1`'s time; `extra` values that are null or empty; a user without groups.
        let impersonated = read(
            r#"{"timestamp":"2020-09-01T10:00:00Z","user":{"extra":{"b":null,"a":["1","2"],"c":[]}},"impersonatedUser":{"username":"system:node:x","groups":null,"extra":{"z":null}}}"#,
            KubeletMatch::ImpersonatedNode,
        );
        assert_eq!(impersonated.request_received, Some(1_598_954_400_000_000));
        let extra: Vec<(&str, usize)> = impersonated
            .user
            .extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.len()))
            .collect();
        assert_eq!(extra, [("a", 2), ("b", 0), ("c", 0)]);
        // A status without a code, an empty objectRef, no source IPs, non-ASCII text.
        let status = read(
            r#"{"responseStatus":{"reason":"r","message":"é"},"annotations":{"authorization.k8s.io/reason":"q"},"objectRef":{},"sourceIPs":null,"user":{"username":"é"},"stage":"Panic"}"#,
            KubeletMatch::KubeletUserAgent,
        );
        assert_eq!(status.response_code, None);
        assert_eq!(status.response_message, "é");
        assert_eq!(status.object_ref, Some(ObjectRef::default()));
        assert_eq!(
            (status.decision, status.reason.as_deref()),
            (None, Some("q"))
        );
        // Nothing at all but what makes it an event.
        let bare = read(r#"{"auditID":"b"}"#, KubeletMatch::KubeletUserAgent);
        assert_eq!((bare.user, bare.object_ref), (UserInfo::default(), None));
    }

    /// An encoding is copied out of the thread's scratch at its size, and a scratch grown by
    /// a large body is let go.
    #[test]
    fn encodings_take_their_size_and_a_large_scratch_is_let_go() {
        let scratch = || SCRATCH.with_borrow(Vec::capacity);
        let small = EncodedRequest::new(&request("a"));
        assert_eq!(small.bytes.capacity(), small.bytes.len());
        assert!((1..=SCRATCH_KEPT).contains(&scratch()), "{}", scratch());
        let large = EncodedRequest::new(&KubeletRequest {
            request_object: Some("x".repeat(3 << 20)),
            ..request("b")
        });
        assert_eq!(large.bytes.capacity(), large.bytes.len());
        assert!(large.bytes.len() > 3 << 20);
        assert_eq!(scratch(), 0);
        assert_eq!(large.decode().map(|r| r.audit_id), Ok("b".into()));
    }

    /// A writer that takes at most three bytes a call, and is interrupted every other call.
    struct Trickle {
        written: Vec<u8>,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(2) {
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            let n = buf.len().min(3);
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Writes that stop inside a slice, and interrupted ones, go on where they stopped, and
    /// every byte is written once, in order.
    #[test]
    fn a_vectored_write_goes_on_where_a_short_one_stopped() {
        let parts: [&[u8]; 5] = [b"abcd", b"", b"efghijk", b"l", b"mnopqrstuvwxyz"];
        let mut slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let mut out = Trickle {
            written: Vec::new(),
            calls: 0,
        };
        write_all_vectored(&mut out, &mut slices).unwrap();
        assert_eq!(out.written, b"abcdefghijklmnopqrstuvwxyz");
        assert!(out.calls > 16, "{} calls", out.calls);
    }

    /// A file cut inside a record is corrupt (not a directory to change), and says which.
    #[test]
    fn a_file_that_ends_inside_a_record_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        // Each record is its length (4 bytes) and its encoding; "a" and "b" encode alike.
        let mut one = Vec::new();
        encode(&request("a"), &mut one);
        let first = 4 + one.len() as u64;
        // Inside the second record's length, inside its body, one byte short of the end, with
        // what the record had of its bytes (its length's included).
        for (cut, had) in [
            (first + 2, "2 of 4 bytes".to_string()),
            (first + 6, format!("6 of {first} bytes")),
            (2 * first - 1, format!("{} of {first} bytes", first - 1)),
        ] {
            let mut w = SpillWriter::create(dir.path()).unwrap();
            w.push_all(&mut [
                EncodedRequest::new(&request("a")),
                EncodedRequest::new(&request("b")),
            ])
            .unwrap();
            assert_eq!(w.bytes(), 2 * first);
            let mut r = w.finish().unwrap();
            r.file.set_len(cut).unwrap();
            let Err(err) = r.next_batch(10) else {
                panic!("read a file cut at {cut}");
            };
            assert!(
                matches!(err, SpillError::Corrupt { record: 1, .. }),
                "{err}"
            );
            assert!(
                err.to_string().contains(&format!(
                    "record 1 is corrupt: the file ends inside it ({had})"
                )),
                "{err}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// A spill file changed under the reader (cut anywhere, or a byte overwritten) never
        /// makes it panic: batches of a few sizes, fresh or refilled, read the records before
        /// the damage as written; a cut file fails at the batch that holds the cut record.
        #[test]
        fn a_damaged_file_reads_back_what_is_intact_then_fails(
            sizes in proptest::collection::vec(0usize..40_000, 1..12),
            cut in proptest::option::of(0u64..400_000),
            overwrite in proptest::option::of((0u64..400_000, proptest::prelude::any::<u8>())),
            batch_sizes in proptest::collection::vec(1usize..5, 1..6),
            fresh in proptest::prelude::any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let written: Vec<KubeletRequest> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| KubeletRequest {
                    request_object: Some("r".repeat(n)),
                    ..request(&format!("id-{i}"))
                })
                .collect();
            let mut w = SpillWriter::create(dir.path()).unwrap();
            let mut encoded: Vec<EncodedRequest> = written.iter().map(EncodedRequest::new).collect();
            w.push_all(&mut encoded).unwrap();
            let total = w.bytes();
            let mut r = w.finish().unwrap();
            // The first byte the damage touches: records that end before it are intact.
            let mut damaged_at = total;
            if let Some(cut) = cut.filter(|&c| c < total) {
                r.file.set_len(cut).unwrap();
                damaged_at = cut;
            }
            if let Some((at, byte)) = overwrite.filter(|&(at, _)| at < damaged_at) {
                use std::os::unix::fs::FileExt;
                r.file.write_at(&[byte], at).unwrap();
                damaged_at = at;
            }
            let mut intact = 0;
            let mut end = 0;
            for s in &encoded {
                end += 4 + s.bytes.len() as u64;
                if end > damaged_at {
                    break;
                }
                intact += 1;
            }
            let mut batch = r.empty_batch();
            let mut read = Vec::new();
            let mut failed = false;
            for round in 0.. {
                let size = batch_sizes[round % batch_sizes.len()];
                let got = if fresh && round % 2 == 1 {
                    r.next_batch(size).map(|b| b.map(|b| batch = b).is_some())
                } else {
                    r.refill(&mut batch, size)
                };
                match got {
                    Ok(true) => {
                        for i in 0..batch.len() {
                            match batch.decode(i) {
                                Ok(req) => read.push(req),
                                Err(_) => failed = true,
                            }
                        }
                    }
                    Ok(false) => break,
                    Err(SpillError::Corrupt { .. }) => {
                        failed = true;
                        break;
                    }
                    Err(e) => panic!("{e}"),
                }
                if failed {
                    break;
                }
            }
            let before_damage = intact.min(read.len());
            proptest::prop_assert_eq!(&read[..before_damage], &written[..before_damage]);
            if damaged_at == total {
                proptest::prop_assert!(!failed);
                proptest::prop_assert!(read == written);
            } else if overwrite.is_none() {
                // Only cut: the batch that holds the cut record fails, after the batches
                // before it read back whole.
                proptest::prop_assert!(failed);
                proptest::prop_assert!(read.len() <= intact && intact < read.len() + 5);
            }
        }
    }
}
