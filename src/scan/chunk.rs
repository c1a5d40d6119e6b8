//! Processing one newline-aligned block of an input: every line is pre-filtered, parsed or
//! counted, and the results are returned with chunk-relative line numbers (the caller adds the
//! chunk's first line). Also the other two shapes of input: whole pretty-printed JSON
//! documents, and files that are no audit log at all.

use serde::de::IgnoredAny;
use serde_json::error::Category;
use serde_json::value::RawValue;

use crate::input::event::{
    classify, for_each_held_event, is_plain_event, json_error_message, parse_document, Document,
    EmbeddedError, RawEvent,
};
use crate::input::legacy::{looks_legacy, parse_legacy_line};
#[cfg(unix)]
use crate::input::source::span_within;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::sync::Arc;

use crate::record::{KubeletMatch, Micros, ObjectEvent, SourcePos, Stage};
use crate::scan::bad::BadKind;
use crate::scan::dedup::preference;
use crate::scan::documents::DocumentCutter;
use crate::scan::prefilter::{audit_id_hash, Decision, IdHash, Prefilter};
use crate::spill::EncodedRequest;

/// What a chunk worker needs to know.
pub struct ChunkCtx<'p> {
    /// A mapped input that can be read again: the pending lines of its chunks stay in it
    /// instead of being copied out ([`KubeletEvent::Line`]).
    pub in_file: Option<InFile<'p>>,
    /// `None` parses every line (`--no-prefilter`).
    pub prefilter: Option<&'p Prefilter>,
    /// Collect graph-relevant object events.
    pub want_object_events: bool,
    /// Longest line parsed; longer ones are bad.
    pub max_line: usize,
    /// Index of the input in the run's input list.
    pub file: u32,
}

/// A mapped input whose chunks' pending lines stay in it, to be read again from the file
/// only if they are emitted ([`KubeletEvent::Line`]).
#[derive(Debug, Clone, Copy)]
pub struct InFile<'p> {
    /// The input, open to be read again.
    pub file: &'p Arc<File>,
    /// Its mapped bytes, from the file's start: a pending line within them is read again at
    /// its offset in them.
    pub bytes: &'p [u8],
}

/// One bad line, chunk-relative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkBad {
    /// What was wrong.
    pub kind: BadKind,
    /// Chunk-relative 1-based line.
    pub line: u64,
    /// How many lines it covers (a bad pretty-printed document covers several).
    pub lines: u64,
    /// One line saying what is wrong.
    pub reason: String,
}

/// The result of one chunk.
#[derive(Debug, Default)]
pub struct ChunkOut {
    /// Lines read.
    pub lines: u64,
    /// Lines read as audit events: parsed, or taken unparsed as a kubelet's
    /// RequestReceived or ResponseStarted event ([`Decision::Unparsed`]).
    pub used: u64,
    /// Blank lines and lines the pre-filter left unparsed.
    pub skipped: u64,
    /// Bad lines, in order.
    pub bad: Vec<ChunkBad>,
    /// Audit events (parsed or skipped).
    pub events: u64,
    /// Hashes of the auditIDs of every event (for the count of distinct requests).
    pub ids: Vec<u64>,
    /// Kubelet events that survived the in-chunk deduplication, in order.
    pub kubelet: Vec<KubeletEvent>,
    /// Kubelet events dropped by the in-chunk deduplication (counted as kubelet events).
    pub kubelet_dropped: u64,
    /// Graph-relevant object events, in order.
    pub objects: Vec<ObjectEvent>,
    /// Earliest timestamp of an event read.
    pub first_ts: Option<Micros>,
    /// Latest timestamp of an event read.
    pub last_ts: Option<Micros>,
    /// Places in `ids` of lines taken unparsed that turned out bad, to be taken out.
    pub(crate) refuted_ids: Vec<usize>,
}

/// The shape of an input, decided from its first lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// One record per line (JSON events, EventLists, legacy text), the usual case.
    Lines,
    /// Concatenated JSON documents, pretty-printed over many lines.
    Documents,
    /// Neither JSON nor legacy audit text; says what the first line was (or that the text is
    /// UTF-16 or UTF-32).
    NotALog(String),
}

/// How many non-blank lines [`sniff`] looks at before calling an input no audit log.
const SNIFF_LINES: usize = 100;

fn preview(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
    format!("{s:?}")
}

/// The encoding named by a UTF-16 or UTF-32 byte order mark at the start of `buf`. UTF-32's
/// marks are tried first, as the little-endian one starts with UTF-16's.
pub fn wide_encoding(buf: &[u8]) -> Option<&'static str> {
    [
        (&b"\xFF\xFE\0\0"[..], "UTF-32"),
        (b"\0\0\xFE\xFF", "UTF-32"),
        (b"\xFF\xFE", "UTF-16"),
        (b"\xFE\xFF", "UTF-16"),
    ]
    .into_iter()
    .find_map(|(mark, encoding)| buf.starts_with(mark).then_some(encoding))
}

/// Whether [`sniff`]'s answer for `buf` stays what it is whatever lines follow: a wide
/// encoding, a log found in a line that is not blank (with none, `sniff` answers lines by
/// default), or as many lines seen as it looks at.
pub fn sniff_is_final(buf: &[u8]) -> bool {
    if wide_encoding(buf).is_some() {
        return true;
    }
    let seen = buf
        .split(|&b| b == b'\n')
        .filter(|l| !without_hole(l).1.is_empty())
        .take(SNIFF_LINES)
        .count();
    seen >= SNIFF_LINES || (seen > 0 && !matches!(sniff(buf), Shape::NotALog(_)))
}

/// Decides the [`Shape`] of an input from its first bytes.
pub fn sniff(buf: &[u8]) -> Shape {
    // UTF-16 is what Windows PowerShell's `>` writes: worth saying, as the preview below
    // would show only bytes and NULs.
    if let Some(encoding) = wide_encoding(buf) {
        return Shape::NotALog(format!(
            "{encoding} text (it starts with a {encoding} byte order mark): convert it to UTF-8, \
             e.g. with `iconv -f {encoding} -t UTF-8`"
        ));
    }
    let mut first: Option<&[u8]> = None;
    for line in buf
        .split(|&b| b == b'\n')
        .map(|l| without_hole(l).1)
        .filter(|l| !l.is_empty())
        .take(SNIFF_LINES)
    {
        let json = matches!(line.first(), Some(b'{' | b'['));
        if first.is_none() {
            first = Some(line);
            if json {
                return match serde_json::from_slice::<IgnoredAny>(line) {
                    Err(e) if e.classify() == Category::Eof => Shape::Documents,
                    _ => Shape::Lines,
                };
            }
        }
        if json || looks_legacy(line) {
            return Shape::Lines;
        }
    }
    match first {
        None => Shape::Lines,
        Some(l) => Shape::NotALog(format!(
            "not JSON or legacy audit text; first line starts {}",
            preview(l)
        )),
    }
}

impl ChunkOut {
    /// The result of `lines` lines that are all bad, with one report at the first.
    pub fn all_bad(kind: BadKind, lines: u64, reason: String) -> Self {
        let mut out = ChunkOut {
            lines,
            ..ChunkOut::default()
        };
        out.bad(kind, 1, lines, reason);
        out
    }

    fn bad(&mut self, kind: BadKind, line: u64, lines: u64, reason: String) {
        self.bad.push(ChunkBad {
            kind,
            line,
            lines,
            reason,
        });
    }

    fn time(&mut self, t: Option<Micros>) {
        if let Some(t) = t {
            self.first_ts = Some(self.first_ts.map_or(t, |f| f.min(t)));
            self.last_ts = Some(self.last_ts.map_or(t, |l| l.max(t)));
        }
    }

    /// Counts one parsed event and collects its object event; the kubelet match, with the
    /// event's auditID hash and position, when it is a kubelet's and requests are wanted.
    fn note(
        &mut self,
        ev: &RawEvent<'_>,
        line: u64,
        ctx: &ChunkCtx<'_>,
    ) -> Option<(u64, KubeletMatch, SourcePos)> {
        self.events += 1;
        let id_hash = audit_id_hash(ev.audit_id.as_deref().unwrap_or("").as_bytes());
        self.ids.push(id_hash);
        self.time(ev.request_received().or_else(|| ev.stage_time()));
        let pos = SourcePos {
            file: ctx.file,
            line,
        };
        if ctx.want_object_events {
            if let Some(o) = ev.to_object_event(pos) {
                self.objects.push(o);
            }
        }
        if !ctx.prefilter.is_none_or(Prefilter::wants_requests) {
            return None;
        }
        ev.kubelet_match().map(|m| (id_hash, m, pos))
    }

    /// Takes one parsed event whose JSON text, a whole line or document on its own, is
    /// `text` (so that it can be parsed again later).
    fn event<'a>(
        &mut self,
        ev: RawEvent<'a>,
        line: u64,
        ctx: &ChunkCtx<'_>,
        cands: &mut Candidates<'a>,
        text: &'a str,
    ) {
        let Some((id_hash, matched_by, pos)) = self.note(&ev, line, ctx) else {
            return;
        };
        let stage = ev.stage();
        if !self.admit(cands, id_hash, ev.audit_id.as_deref().unwrap_or(""), stage) {
            return;
        }
        let kept = if stage == Some(Stage::ResponseComplete) {
            Kept::Built {
                request: EncodedRequest::from_event(&ev, matched_by, pos),
                audit_hash: id_hash,
            }
        } else {
            Kept::Pending {
                text,
                audit_id: ev.audit_id.map_or(Cow::Borrowed(""), |a| a.0),
                audit_hash: id_hash,
                stage,
                matched_by,
                unread: None,
                pos,
                fallback: None,
            }
        };
        cands.keep(id_hash, kept);
    }

    /// Takes one line the pre-filter decided is [`Decision::Unparsed`]: a kubelet's event of
    /// `audit_id` (hashed `audit_hash`) at `stage`, unparsed, counted as a parsed one would
    /// be. Its request has no event kept in the chunk, or one it replaces (`replaces`, see
    /// [`Candidates::replaced_unparsed`]), which it keeps as its fallback. Read only if
    /// nothing replaces it, it may turn out bad then
    /// ([`crate::scan::dedup::RefutedLine`]).
    #[allow(clippy::too_many_arguments)]
    fn unparsed<'a>(
        &mut self,
        text: &'a str,
        audit_id: &'a str,
        audit_hash: u64,
        stage: Stage,
        pos: SourcePos,
        time: Option<Micros>,
        replaces: Option<usize>,
        cands: &mut Candidates<'a>,
    ) {
        self.used += 1;
        self.events += 1;
        self.time(time);
        let id_slot = self.ids.len();
        self.ids.push(audit_hash);
        let fallback = replaces.and_then(|i| {
            cands.dropped += 1;
            cands.kept[i].take().map(Box::new)
        });
        let kept = Kept::Pending {
            text,
            audit_id: Cow::Borrowed(audit_id),
            audit_hash,
            stage: Some(stage),
            matched_by: KubeletMatch::NodeUser,
            unread: Some(id_slot),
            pos,
            fallback,
        };
        cands.keep(audit_hash, kept);
    }

    /// Takes one event that cannot be read again from a text of its own (an EventList item,
    /// a legacy line, an event an AKS record holds): its record, if it has one, is built at
    /// once.
    fn built_event(
        &mut self,
        ev: RawEvent<'_>,
        line: u64,
        ctx: &ChunkCtx<'_>,
        cands: &mut Candidates<'_>,
    ) {
        let Some((id_hash, matched_by, pos)) = self.note(&ev, line, ctx) else {
            return;
        };
        if self.admit(
            cands,
            id_hash,
            ev.audit_id.as_deref().unwrap_or(""),
            ev.stage(),
        ) {
            let record = EncodedRequest::from_event(&ev, matched_by, pos);
            let built = Kept::Built {
                request: record,
                audit_hash: id_hash,
            };
            cands.keep(id_hash, built);
        }
    }

    /// Takes one parsed JSON document (an event, an EventList, or a cloud record holding
    /// events) whose text is `text`; `Err` is the bad-line kind and reason when it holds no
    /// audit event. Items of a list that hold none are reported on their own
    /// ([`BadKind::BadBatchItem`]), and the document is read.
    fn document<'a>(
        &mut self,
        doc: RawEvent<'a>,
        line: u64,
        ctx: &ChunkCtx<'_>,
        cands: &mut Candidates<'a>,
        text: &'a str,
    ) -> Result<(), (BadKind, String)> {
        // An event of its own, nearly every line, goes on where it is: `classify` takes no
        // other document for one event.
        if is_plain_event(&doc) {
            self.event(doc, line, ctx, cands, text);
            return Ok(());
        }
        let doc = classify(doc).map_err(|reason| {
            (
                BadKind::NotAuditEvent,
                format!("not an audit event: {reason}"),
            )
        })?;
        let mut whole = None;
        let mut items = Vec::new();
        for_each_held_event(
            doc,
            &mut |ev| self.built_event(ev, line, ctx, cands),
            &mut |at, e| match at {
                None => whole = Some(e),
                Some(i) => items.push((i, e)),
            },
        );
        for (i, e) in items {
            let reason = match e {
                EmbeddedError::Malformed(r) => format!("malformed JSON in properties.log: {r}"),
                EmbeddedError::NotAnEvent(r) => format!("not an audit event: {r}"),
            };
            self.bad(
                BadKind::BadBatchItem,
                line,
                0,
                format!("item {} of the list: {reason}", i + 1),
            );
        }
        match whole {
            None => Ok(()),
            Some(EmbeddedError::Malformed(r)) => Err((
                BadKind::MalformedJson,
                format!("malformed JSON in the properties.log of an AKS record: {r}"),
            )),
            Some(EmbeddedError::NotAnEvent(r)) => {
                Err((BadKind::NotAuditEvent, format!("not an audit event: {r}")))
            }
        }
    }

    /// [`Candidates::admit`], after reading the request's kept event first when it was taken
    /// unparsed and the new one does not replace it (an equal or lesser stage): parsing every
    /// line would have checked it, and if it is bad, its fallback or the new event is the
    /// request's.
    fn admit<'a>(
        &mut self,
        cands: &mut Candidates<'a>,
        id_hash: u64,
        audit_id: &str,
        stage: Option<Stage>,
    ) -> bool {
        // A kept event that turns out bad gives way to its fallback, which may be unread too.
        while let Some(i) = cands.unread_kept_over(id_hash, audit_id, stage) {
            self.read_kept(cands, i);
        }
        cands.admit(id_hash, audit_id, stage)
    }

    /// Reads the kept event `i`, taken unparsed: from then on it is a parsed one (and the
    /// event it replaced is let go), or, bad, it is reported and uncounted as a used line, an
    /// event and a request, and its fallback, if it has one, is kept in its place.
    fn read_kept(&mut self, cands: &mut Candidates<'_>, i: usize) {
        let Some(Kept::Pending {
            text,
            unread,
            pos,
            audit_hash,
            fallback,
            ..
        }) = &mut cands.kept[i]
        else {
            return;
        };
        let Some(id_slot) = *unread else {
            return;
        };
        let Err((kind, reason)) = read_unread(text) else {
            *unread = None;
            *fallback = None;
            return;
        };
        let (line, audit_hash) = (pos.line, *audit_hash);
        match fallback.take() {
            // The event it replaced is the request's again, and no longer dropped.
            Some(f) => {
                cands.kept[i] = Some(*f);
                cands.dropped -= 1;
            }
            None => {
                cands.kept[i] = None;
                cands.best.remove(&audit_hash);
            }
        }
        self.used -= 1;
        self.events -= 1;
        self.refuted_ids.push(id_slot);
        let at = self.bad.partition_point(|b| b.line <= line);
        self.bad.insert(
            at,
            ChunkBad {
                kind,
                line,
                lines: 1,
                reason,
            },
        );
    }

    /// Hands on the chunk's surviving kubelet events: ResponseComplete events (and events
    /// that cannot be read again from their own text) as records, the others as their lines
    /// (where they are in `in_file`, else copies).
    fn finish(&mut self, cands: Candidates<'_>, in_file: Option<InFile<'_>>) {
        // Removed from the last, so that each removal keeps the others' places. (A line read
        // before the fallback it kept is refuted first, so the slots come in any order.)
        let mut refuted = std::mem::take(&mut self.refuted_ids);
        refuted.sort_unstable();
        for slot in refuted.into_iter().rev() {
            self.ids.remove(slot);
        }
        self.kubelet_dropped = cands.dropped;
        let mut kubelet = Vec::with_capacity(cands.kept.len());
        kubelet.extend(
            cands
                .kept
                .into_iter()
                .flatten()
                .map(|k| k.into_event(in_file)),
        );
        self.kubelet = kubelet;
    }
}

/// A kubelet event that survived its chunk's own deduplication, on its way to the global one
/// ([`crate::scan::dedup`]).
#[derive(Debug)]
pub enum KubeletEvent {
    /// The record, encoded: a ResponseComplete event (final: it is emitted as it is), or an
    /// event that cannot be read again from its own text (an EventList item, a legacy line,
    /// an event an AKS record holds). Made with [`KubeletEvent::record`] where the hash is not
    /// at hand already.
    Record {
        /// The record.
        request: EncodedRequest,
        /// [`audit_id_hash`] of its auditID, found where the record was made: the thread
        /// that deduplicates would otherwise read the record's text only for it.
        audit_hash: u64,
    },
    /// Any other stage of a JSON event on its own: its text (where it is in a mapped input,
    /// else a copy), read into a record only if no better event of its request comes. Most
    /// of these are watches' ResponseStarted events, whose ResponseComplete comes minutes
    /// (many chunks) later; building their records, only to free them then, was a tenth of
    /// the second pass. A kubelet's RequestReceived or ResponseStarted line that the
    /// pre-filter took unparsed ([`Decision::Unparsed`]) comes this way too, when its chunk
    /// holds nothing that replaces it.
    Line(PendingLine),
}

/// A line taken unparsed ([`Decision::Unparsed`]) that the parse rejects, or a line that its
/// file no longer held when it was read again: the bad-line kind and reason (for the first, as
/// its chunk would have reported them).
pub type UnreadBad = (BadKind, String);

/// See [`KubeletEvent::Line`].
#[derive(Debug)]
pub struct PendingLine {
    /// The event's JSON text.
    text: LineText,
    /// [`audit_id_hash`] of its auditID.
    audit_hash: u64,
    stage: Option<Stage>,
    matched_by: KubeletMatch,
    /// Taken unparsed ([`Decision::Unparsed`]).
    unread: bool,
    pos: SourcePos,
    /// The line taken unparsed replaced this event of its request, which is the request's
    /// again if the line turns out bad ([`KubeletEvent::take_fallback`]).
    fallback: Option<Box<PendingLine>>,
}

/// Where a pending line's text is.
///
/// Nearly every pending line is replaced by its request's ResponseComplete event minutes of
/// log later, and dropped unread. A copy of each (about a kilobyte, made by a chunk's worker
/// and freed by the thread that deduplicates) held about 20 of the 91 MiB peak of `analyze` on
/// the 1 GB benchmark log, and 211 of 481 MiB on that log without its ResponseComplete events,
/// where every request waits out the horizon. Left in a mapped file, a waiting line takes a
/// few dozen bytes, and the few that are emitted (watches the log ends before) are read back
/// with one `pread` each. (Reading them back through the map instead faulted their pages back
/// in, with the cached pages around them: more resident memory and more CPU time than the
/// copies.)
#[derive(Debug)]
enum LineText {
    /// Copied out of its chunk: a streamed input's, or one from an input that cannot be kept
    /// open to be read again.
    Copied(Box<str>),
    /// Still in its input, a mapped file: `len` bytes at `offset`.
    #[cfg(unix)]
    InFile {
        file: Arc<File>,
        offset: u64,
        len: u32,
    },
}

impl LineText {
    /// `text`, a line of a chunk: where it is in `in_file`, if that holds it, else copied.
    fn of(text: &str, in_file: Option<InFile<'_>>) -> LineText {
        #[cfg(unix)]
        if let Some(f) = in_file {
            let at = span_within(
                f.bytes.as_ptr() as usize,
                f.bytes.len(),
                text.as_ptr() as usize,
                text.len(),
            );
            if let (Some(at), Ok(len)) = (at, u32::try_from(text.len())) {
                return LineText::InFile {
                    file: Arc::clone(f.file),
                    offset: at.start as u64,
                    len,
                };
            }
        }
        #[cfg(not(unix))]
        let _ = in_file;
        LineText::Copied(text.into())
    }

    /// Whether the text is to be read again from its file.
    fn is_in_file(&self) -> bool {
        !matches!(self, LineText::Copied(_))
    }

    /// The text, or the bytes read again from its file ([`ReadText::text`] checks them). A
    /// file that cannot be read there again was changed while the run read it
    /// ([`BadKind::ChangedWhileRead`]).
    fn read(&self) -> Result<ReadText<'_>, UnreadBad> {
        match self {
            LineText::Copied(text) => Ok(ReadText::Copied(text)),
            #[cfg(unix)]
            LineText::InFile { file, offset, len } => {
                use std::os::unix::fs::FileExt;
                let mut bytes = vec![0; *len as usize];
                file.read_exact_at(&mut bytes, *offset)
                    .map_err(|e| changed(format!("the line could not be read again: {e}")))?;
                Ok(ReadText::FromFile(bytes))
            }
        }
    }
}

/// A kept line's text, as [`LineText::read`] gives it.
enum ReadText<'a> {
    /// Text copied when the line was read (so checked then).
    Copied(&'a str),
    /// Bytes read again from the file, not yet checked.
    FromFile(Vec<u8>),
}

impl ReadText<'_> {
    /// The text. Bytes read again that are no longer UTF-8 were changed while the run read
    /// the file ([`BadKind::ChangedWhileRead`]). Checked by [`crate::input::utf8`], in place:
    /// `String::from_utf8`'s check (std's) took about 460 instructions a line read again,
    /// this one about 210 (callgrind, the 100 MB benchmark log).
    fn text(&self) -> Result<&str, UnreadBad> {
        match self {
            ReadText::Copied(text) => Ok(text),
            ReadText::FromFile(bytes) => crate::input::utf8(bytes)
                .map_err(|e| changed(format!("the line read again is not UTF-8: {e}"))),
        }
    }
}

/// The report of a line that its file no longer held when it was read again.
fn changed(reason: String) -> UnreadBad {
    (BadKind::ChangedWhileRead, reason)
}

impl KubeletEvent {
    /// An encoded record, as [`KubeletEvent::Record`].
    pub fn record(request: EncodedRequest) -> KubeletEvent {
        KubeletEvent::Record {
            audit_hash: audit_id_hash(request.audit_id().as_bytes()),
            request,
        }
    }

    /// [`audit_id_hash`] of the event's auditID.
    pub fn audit_hash(&self) -> u64 {
        match self {
            KubeletEvent::Record {
                request,
                audit_hash,
            } => {
                debug_assert_eq!(*audit_hash, audit_id_hash(request.audit_id().as_bytes()));
                *audit_hash
            }
            KubeletEvent::Line(l) => l.audit_hash,
        }
    }

    /// The event's stage.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            KubeletEvent::Record { request, .. } => request.stage(),
            KubeletEvent::Line(l) => l.stage,
        }
    }

    /// Where the event was read.
    pub fn pos(&self) -> SourcePos {
        match self {
            KubeletEvent::Record { request, .. } => request.pos(),
            KubeletEvent::Line(l) => l.pos,
        }
    }

    /// Moves the event's line number on by `lines` (chunk-relative to input-relative).
    pub fn shift_line(&mut self, lines: u64) {
        match self {
            KubeletEvent::Record { request, .. } => request.shift_line(lines),
            KubeletEvent::Line(l) => {
                l.pos.line += lines;
                if let Some(f) = &mut l.fallback {
                    f.pos.line += lines;
                }
            }
        }
    }

    /// Whether the event was taken unparsed ([`Decision::Unparsed`]).
    pub fn is_unread(&self) -> bool {
        matches!(self, KubeletEvent::Line(l) if l.unread)
    }

    /// Whether reading the event into a record may fail ([`KubeletEvent::into_record`]): it
    /// was taken unparsed, or its text is to be read again from its file.
    pub fn may_turn_out_bad(&self) -> bool {
        matches!(self, KubeletEvent::Line(l) if l.unread || l.text.is_in_file())
    }

    /// The event of its request that this one, taken unparsed, replaced in its chunk: the
    /// request's event if this one turns out bad, which parsing every line would have found
    /// before keeping it.
    pub fn take_fallback(&mut self) -> Option<KubeletEvent> {
        match self {
            KubeletEvent::Line(l) => l.fallback.take().map(|f| KubeletEvent::Line(*f)),
            KubeletEvent::Record { .. } => None,
        }
    }

    /// The record, encoded. An event its chunk parsed always reads again from a copy (it
    /// parsed and classified as this very event); a line taken unparsed is read as its chunk
    /// would have read it, and may turn out bad. So may a line read again from its file, if
    /// the file no longer holds it ([`BadKind::ChangedWhileRead`]: it was changed before the
    /// run ended, against the contract of [`crate::input::source::map_file`], which for these
    /// lines lasts until then): it must still read as an event of the same auditID. The
    /// changed line's own contributions to the scan, made when its chunk read it (its times,
    /// an object event of a ResponseStarted write), stay.
    pub fn into_record(self) -> Result<EncodedRequest, UnreadBad> {
        let l = match self {
            KubeletEvent::Record { request, .. } => return Ok(request),
            KubeletEvent::Line(l) => l,
        };
        let read = l.text.read()?;
        let text = read.text()?;
        let ev = if l.unread {
            read_unread(text)?
        } else {
            let ev = serde_json::from_str::<RawEvent<'_>>(text);
            debug_assert!(
                ev.is_ok() || l.text.is_in_file(),
                "a kept kubelet event no longer reads"
            );
            ev.map_err(|e| changed(format!("the line read again is no longer JSON: {e}")))?
        };
        let id = ev.audit_id.as_deref().unwrap_or("");
        if l.text.is_in_file() && audit_id_hash(id.as_bytes()) != l.audit_hash {
            return Err(changed("the line read again is another event".into()));
        }
        Ok(EncodedRequest::from_event(&ev, l.matched_by, l.pos))
    }
}

/// Reads a line taken unparsed ([`Decision::Unparsed`]) as [`parse_line`] reads a line: it is
/// UTF-8, starts with `{` and is not the input's unterminated last line, so only the JSON
/// parse and the event's classification are left. The pre-filter read its head as a
/// kubelet's event of kind `Event` with an auditID, without an envelope's needle, which the
/// parse (unless it fails) reads the same: classified, it is an event.
fn read_unread(text: &str) -> Result<RawEvent<'_>, UnreadBad> {
    let doc = parse_document(text).map_err(|e| json_error(&e, false))?;
    match classify(doc) {
        Ok(Document::Event(ev)) => {
            debug_assert!(ev.kubelet_match() == Some(KubeletMatch::NodeUser));
            Ok(ev)
        }
        Ok(_) => Err((
            BadKind::NotAuditEvent,
            "not an audit event: not one event".into(),
        )),
        Err(reason) => Err((
            BadKind::NotAuditEvent,
            format!("not an audit event: {reason}"),
        )),
    }
}

/// A kubelet event that is, so far, the best of its request in the chunk.
enum Kept<'a> {
    /// A ResponseComplete event (nothing can replace it), or one that cannot be parsed again
    /// on its own: its record, encoded.
    Built {
        request: EncodedRequest,
        /// [`audit_id_hash`] of its auditID.
        audit_hash: u64,
    },
    /// Any other stage: only its text, handed on as a [`KubeletEvent::Line`] if no better
    /// event of the request turns up. A request's RequestReceived event is usually followed
    /// by its ResponseComplete in the same chunk, and building (and freeing) the record of
    /// the loser, when records were built here, was most of the allocation work of the scan.
    Pending {
        text: &'a str,
        audit_id: Cow<'a, str>,
        audit_hash: u64,
        stage: Option<Stage>,
        matched_by: KubeletMatch,
        /// Taken unparsed ([`Decision::Unparsed`]): where its auditID hash is in the chunk's
        /// `ids`.
        unread: Option<usize>,
        pos: SourcePos,
        /// Taken unparsed, the event of its request it replaced (always a `Pending` one
        /// without a fallback of its own): the request's again if this one turns out bad.
        fallback: Option<Box<Kept<'a>>>,
    },
}

impl Kept<'_> {
    fn audit_id(&self) -> &str {
        match self {
            Kept::Built { request, .. } => request.audit_id(),
            Kept::Pending { audit_id, .. } => audit_id,
        }
    }

    fn stage(&self) -> Option<Stage> {
        match self {
            Kept::Built { request, .. } => request.stage(),
            Kept::Pending { stage, .. } => *stage,
        }
    }

    fn into_event(self, in_file: Option<InFile<'_>>) -> KubeletEvent {
        match self.into_line(in_file) {
            Ok(line) => KubeletEvent::Line(line),
            Err(record) => record,
        }
    }

    /// A `Pending` event as the line it leaves its chunk as, where it is in `in_file` or
    /// copied (a `Built` one leaves as its record, the `Err`).
    fn into_line(self, in_file: Option<InFile<'_>>) -> Result<PendingLine, KubeletEvent> {
        match self {
            Kept::Built {
                request,
                audit_hash,
            } => Err(KubeletEvent::Record {
                request,
                audit_hash,
            }),
            Kept::Pending {
                text,
                audit_hash,
                stage,
                matched_by,
                unread,
                pos,
                fallback,
                ..
            } => Ok(PendingLine {
                text: LineText::of(text, in_file),
                audit_hash,
                stage,
                matched_by,
                unread: unread.is_some(),
                pos,
                fallback: fallback.and_then(|f| {
                    let line = f.into_line(in_file);
                    debug_assert!(line.is_ok(), "a fallback is a pending line");
                    line.ok().map(Box::new)
                }),
            }),
        }
    }
}

/// Kubelet events of one chunk, deduplicated by auditID inside the chunk before any owned
/// record is built: a request's RequestReceived and ResponseComplete events are usually
/// neighbours, and building the record of the one that loses anyway is most of the
/// allocation work. The rule is the global one ([`crate::scan::dedup`]), so the result is
/// the same as deduplicating afterwards.
#[derive(Default)]
struct Candidates<'a> {
    kept: Vec<Option<Kept<'a>>>,
    best: HashMap<u64, usize, IdHash>,
    dropped: u64,
}

impl Candidates<'_> {
    /// Room for `n` kept events, so that neither the list nor the index grows (and copies)
    /// while the chunk is read.
    fn with_capacity(n: usize) -> Self {
        Candidates {
            kept: Vec::with_capacity(n),
            best: HashMap::with_capacity_and_hasher(n, IdHash::default()),
            dropped: 0,
        }
    }
}

impl<'a> Candidates<'a> {
    /// Whether an event of `audit_id` at `stage` is, so far, the chunk's best of its request;
    /// if it is, what it replaces is dropped, and the caller [`keep`](Self::keep)s it.
    fn admit(&mut self, id_hash: u64, audit_id: &str, stage: Option<Stage>) -> bool {
        if let Some(&i) = self.best.get(&id_hash) {
            if let Some(Some(kept)) = self.kept.get(i) {
                if kept.audit_id() == audit_id {
                    self.dropped += 1;
                    // Equal preference keeps the first, as the global rule does; a kept
                    // ResponseComplete is final there too (later events are late duplicates).
                    if kept.stage() == Some(Stage::ResponseComplete)
                        || preference(stage) <= preference(kept.stage())
                    {
                        return false;
                    }
                    self.kept[i] = None;
                }
            }
        }
        true
    }

    /// The kept event of the request, if it was taken unparsed and an event at `stage` would
    /// not replace it.
    fn unread_kept_over(
        &self,
        id_hash: u64,
        audit_id: &str,
        stage: Option<Stage>,
    ) -> Option<usize> {
        let (i, kept) = self.kept_of(id_hash, audit_id)?;
        let unread = matches!(
            kept,
            Kept::Pending {
                unread: Some(_),
                ..
            }
        );
        (unread && preference(stage) <= preference(kept.stage())).then_some(i)
    }

    /// Where the kept event of the request is, when a line of `audit_id` at `stage` taken
    /// unparsed would replace it and can keep it as its fallback: a `Pending` event of a
    /// lesser stage that has no fallback of its own. (A line taken unparsed that is no better
    /// than the kept event is parsed: parsing every line would have checked it before
    /// dropping it.)
    fn replaced_unparsed(&self, id_hash: u64, audit_id: &str, stage: Stage) -> Option<usize> {
        let (i, kept) = self.kept_of(id_hash, audit_id)?;
        let pending = matches!(kept, Kept::Pending { fallback: None, .. });
        (pending && preference(Some(stage)) > preference(kept.stage())).then_some(i)
    }

    /// Where the event kept for the request of `audit_id` (hashed `id_hash`) is, and that
    /// event.
    fn kept_of(&self, id_hash: u64, audit_id: &str) -> Option<(usize, &Kept<'a>)> {
        let &i = self.best.get(&id_hash)?;
        let kept = self.kept.get(i)?.as_ref()?;
        (kept.audit_id() == audit_id).then_some((i, kept))
    }

    /// Whether an event of the request with auditID hash `id_hash` was kept (and may still
    /// be).
    fn has(&self, id_hash: u64) -> bool {
        self.best.contains_key(&id_hash)
    }

    /// Keeps an admitted event as the best of its request.
    fn keep(&mut self, id_hash: u64, kept: Kept<'a>) {
        self.best.insert(id_hash, self.kept.len());
        self.kept.push(Some(kept));
    }
}

/// The bad-line kind and reason for a JSON parse error.
fn json_error(e: &serde_json::Error, unterminated_last: bool) -> (BadKind, String) {
    match e.classify() {
        Category::Data => (BadKind::NotAuditEvent, format!("not an audit event: {e}")),
        Category::Eof if unterminated_last => (
            BadKind::TruncatedLastLine,
            format!("last line has no newline and ends early: {e}"),
        ),
        _ => (BadKind::MalformedJson, format!("malformed JSON: {e}")),
    }
}

/// A line without the white space around it and the NUL bytes at its start, with how many
/// NULs there were. A machine that crashed can leave a run of NULs where the file's end was
/// (blocks allocated but never written), and what was written after the restart follows on the
/// same line. No JSON or legacy line holds a NUL.
fn without_hole(line: &[u8]) -> (usize, &[u8]) {
    let start = line
        .iter()
        .position(|&b| b != 0 && !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let nuls = line[..start].iter().filter(|&&b| b == 0).count();
    (nuls, line[start..].trim_ascii_end())
}

/// Parses one line that the pre-filter did not skip.
fn parse_line<'a>(
    line: &'a [u8],
    rel: u64,
    unterminated_last: bool,
    ctx: &ChunkCtx<'_>,
    out: &mut ChunkOut,
    cands: &mut Candidates<'a>,
) {
    let (nuls, t) = without_hole(line);
    if nuls > 0 && t.is_empty() {
        return out.bad(
            BadKind::MalformedJson,
            rel,
            1,
            format!(
                "{nuls} NUL byte{} and nothing else (a crash can leave such a hole)",
                if nuls == 1 { "" } else { "s" }
            ),
        );
    }
    if t.is_empty() {
        out.skipped += 1;
        return;
    }
    let text = match crate::input::utf8(t) {
        Ok(s) => s,
        Err(e) => {
            return out.bad(
                BadKind::InvalidUtf8,
                rel,
                1,
                format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            );
        }
    };
    if looks_legacy(t) {
        match parse_legacy_line(text) {
            Ok(ev) => {
                out.used += 1;
                out.built_event(ev, rel, ctx, cands);
            }
            Err(reason) => out.bad(
                BadKind::MalformedJson,
                rel,
                1,
                format!("malformed legacy line: {reason}"),
            ),
        }
        return;
    }
    match parse_document(text) {
        Ok(doc) => match out.document(doc, rel, ctx, cands, text) {
            Ok(()) => out.used += 1,
            Err((kind, reason)) => out.bad(kind, rel, 1, reason),
        },
        Err(e) => {
            let (kind, reason) = json_error(&e, unterminated_last);
            out.bad(kind, rel, 1, reason);
        }
    }
}

/// Processes a newline-aligned block of JSON lines / legacy lines. Only the input's last
/// block can end without a newline; that unterminated line is the input's last line.
pub fn process_lines(buf: &[u8], ctx: &ChunkCtx<'_>) -> ChunkOut {
    // Sized for lines of 512 bytes, so that the vector rarely grows (generated and real logs
    // average 0.7-1 KB per line).
    let guess = buf.len() / 512 + 16;
    let mut out = ChunkOut {
        ids: Vec::with_capacity(guess),
        // Pod status writes are an eighth to a quarter of the lines of the generated and real
        // logs. Growing this vector of large events from empty copied it to new memory at
        // each doubling, memory the kernel clears first.
        objects: if ctx.want_object_events {
            Vec::with_capacity(guess / 8)
        } else {
            Vec::new()
        },
        ..ChunkOut::default()
    };
    // A pass that skips kubelet lines keeps no candidates.
    let mut cands = if ctx.prefilter.is_none_or(Prefilter::wants_requests) {
        Candidates::with_capacity(guess / 2)
    } else {
        Candidates::default()
    };
    let mut start = 0;
    while start < buf.len() {
        let (end, next, unterminated) = match memchr::memchr(b'\n', &buf[start..]) {
            Some(i) => (start + i, start + i + 1, false),
            None => (buf.len(), buf.len(), true),
        };
        let line = &buf[start..end];
        start = next;
        out.lines += 1;
        let rel = out.lines;
        if line.len() > ctx.max_line {
            out.bad(
                BadKind::LineTooLong,
                rel,
                1,
                line_too_long(line.len() as u64, ctx.max_line),
            );
            continue;
        }
        let decision = ctx.prefilter.map_or(Decision::Parse, |p| p.decide(line));
        match decision {
            Decision::Blank => out.skipped += 1,
            Decision::Skip { audit_id } => {
                out.skipped += 1;
                out.events += 1;
                out.ids.push(audit_id_hash(audit_id));
            }
            Decision::SkipKubelet { audit_id } => {
                out.skipped += 1;
                out.events += 1;
                out.ids.push(audit_id_hash(audit_id));
                out.time(ctx.prefilter.and_then(|p| p.line_time(line)));
            }
            Decision::Unparsed {
                audit_id,
                stage,
                time,
            } if !unterminated => {
                let text = crate::input::utf8(line.trim_ascii());
                let hash = audit_id_hash(audit_id);
                // The auditID is cut from the text just checked: checking its 36 bytes again
                // took std about 120 instructions a line.
                let id = text.as_ref().ok().and_then(|text| within(text, audit_id));
                let replaces = match id {
                    Some(id) if !cands.has(hash) => Some((id, None)),
                    Some(id) => cands
                        .replaced_unparsed(hash, id, stage)
                        .map(|i| (id, Some(i))),
                    None => None,
                };
                match (text, replaces) {
                    (Ok(text), Some((audit_id, replaces))) => {
                        let pos = SourcePos {
                            file: ctx.file,
                            line: rel,
                        };
                        out.unparsed(text, audit_id, hash, stage, pos, time, replaces, &mut cands);
                    }
                    // A request met again in the chunk whose kept event the line would not
                    // replace (parsing every line would have checked it before dropping it),
                    // or a line that is no UTF-8 (the parse reports where it goes wrong).
                    _ => parse_line(line, rel, unterminated, ctx, &mut out, &mut cands),
                }
            }
            Decision::Parse | Decision::Unparsed { .. } => {
                parse_line(line, rel, unterminated, ctx, &mut out, &mut cands)
            }
        }
    }
    out.finish(cands, ctx.in_file);
    out
}

/// `part`, a slice of `text`'s bytes, as the slice of `text` it is; `None` when it does not
/// start and end on character boundaries there, or lies outside it.
fn within<'a>(text: &'a str, part: &[u8]) -> Option<&'a str> {
    let span = crate::input::source::span_within(
        text.as_ptr() as usize,
        text.len(),
        part.as_ptr() as usize,
        part.len(),
    )?;
    text.get(span)
}

/// Counts the lines of `buf` (a last line without newline counts).
pub fn count_lines(buf: &[u8]) -> u64 {
    let n = memchr::memchr_iter(b'\n', buf).count() as u64;
    n + u64::from(buf.last().is_some_and(|&b| b != b'\n'))
}

/// An input that is no audit log: every line is bad, with one report.
pub fn process_not_a_log(buf: &[u8], reason: &str) -> ChunkOut {
    match count_lines(buf) {
        0 => ChunkOut::default(),
        lines => not_a_log(lines, reason),
    }
}

/// `lines` lines of an input that is no audit log, with one report.
pub fn not_a_log(lines: u64, reason: &str) -> ChunkOut {
    ChunkOut::all_bad(
        BadKind::NotAuditEvent,
        lines,
        format!("whole file skipped: {reason}"),
    )
}

/// The reason of a line of `length` bytes over the `limit`, mapped or streamed alike.
pub fn line_too_long(length: u64, limit: usize) -> String {
    format!("line of {length} bytes is longer than the limit of {limit} bytes")
}

/// The report of lines between two cut points that hold more than `limit` bytes (see
/// [`super::documents`]): a document longer than the limit, or one with a line that is.
pub fn too_long(lines: u64, limit: usize) -> (BadKind, String) {
    (
        BadKind::LineTooLong,
        format!(
            "JSON document (or line in one) longer than the limit of {limit} bytes; {lines} line(s) skipped"
        ),
    )
}

/// Processes concatenated JSON documents (pretty-printed events or EventLists): a whole input,
/// or a piece of one cut between documents ([`super::documents`]). The input is read region by
/// region, a region running from one cut point to the next, so that a piece's result does not
/// depend on where it was cut. Each document's lines count as used or bad as a whole; the white
/// space between documents counts as skipped. A document that does not parse is bad up to the
/// end of its region, where reading resumes. A region longer than the line limit is bad
/// without being parsed, as a streamed input drops it unread.
pub fn process_documents(buf: &[u8], ctx: &ChunkCtx<'_>) -> ChunkOut {
    let total = count_lines(buf);
    let mut out = ChunkOut {
        lines: total,
        ..ChunkOut::default()
    };
    // 0-based line index of byte `cur_off`, advanced incrementally.
    let (mut cur_off, mut cur_line) = (0usize, 0u64);
    let mut line_at = |off: usize| {
        cur_line += memchr::memchr_iter(b'\n', &buf[cur_off..off]).count() as u64;
        cur_off = off;
        cur_line
    };
    let mut assigned = 0u64; // lines before this index belong to a document already
    let mut accounted = 0u64; // lines counted as used or bad
    let mut cands = Candidates::default();
    let mut cutter = DocumentCutter::default();
    let mut region = 0usize;
    while region < buf.len() {
        // Regions start where the cutter is outside every document, so a cut is never at 0.
        let end = cutter
            .find(&buf[region..])
            .map_or(buf.len(), |n| region + n);
        debug_assert!(end > region);
        // A region starts a line: the documents before it end on earlier lines.
        let region_line = line_at(region);
        if end - region > ctx.max_line {
            let n = line_at(end - 1) + 1 - region_line;
            let (kind, reason) = too_long(n, ctx.max_line);
            out.bad(kind, region_line + 1, n, reason);
            accounted += n;
            assigned = region_line + n;
            region = end;
            continue;
        }
        // From bytes, so that invalid UTF-8 spoils only the document it is in.
        let mut stream =
            serde_json::Deserializer::from_slice(&buf[region..end]).into_iter::<&RawValue>();
        loop {
            let before = region + stream.byte_offset();
            let Some(item) = stream.next() else {
                break;
            };
            // JSON's white space only: a form feed is where the parser fails.
            let ws = buf[before..end]
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .count();
            let start = before + ws;
            let first = line_at(start);
            match item {
                Ok(raw) => {
                    let doc_end = region + stream.byte_offset();
                    let last = line_at(doc_end.saturating_sub(1).max(start));
                    let from = first.max(assigned);
                    let n = (last + 1).saturating_sub(from);
                    assigned = assigned.max(last + 1);
                    accounted += n;
                    let rel = first + 1;
                    let parsed = parse_document(raw.get());
                    match parsed
                        .map_err(|e| (BadKind::NotAuditEvent, format!("not an audit event: {e}")))
                        .and_then(|doc| out.document(doc, rel, ctx, &mut cands, raw.get()))
                    {
                        Ok(()) => out.used += n,
                        Err((kind, reason)) => out.bad(kind, rel, n, reason),
                    }
                }
                Err(e) => {
                    let last = line_at(end.saturating_sub(1).max(start));
                    let from = first.max(assigned);
                    let n = (last + 1).saturating_sub(from);
                    assigned = assigned.max(last + 1);
                    // serde counts lines from the start of the region; the report counts them
                    // from the document's first line.
                    let at = format!(
                        "{} at line {} of the document, column {}",
                        json_error_message(&e),
                        (e.line() as u64).saturating_sub(first - region_line),
                        e.column()
                    );
                    let (kind, reason) = match (std::str::from_utf8(&buf[start..end]), e.classify())
                    {
                        (Err(u), _) => (
                            BadKind::InvalidUtf8,
                            format!(
                                "invalid UTF-8 at byte {} of the document (document skipped)",
                                u.valid_up_to()
                            ),
                        ),
                        // As for a line: the input's last line, without its newline. Only
                        // the last piece of an input can end without a newline.
                        (Ok(_), Category::Eof)
                            if end == buf.len() && buf.last() != Some(&b'\n') =>
                        {
                            (
                                BadKind::TruncatedLastLine,
                                format!("input ends inside a JSON document: {at}"),
                            )
                        }
                        // Cut before a line that cannot go on it (see `DocumentCutter`), at
                        // the end of an input that ends with a newline, or a value cut short
                        // on its line (`tru`). Not in serde's words: its "EOF" would read as
                        // the end of the input.
                        (Ok(_), Category::Eof) => {
                            let open =
                                match json_error_message(&e).strip_prefix("EOF while parsing ") {
                                    Some("a list") => "an array".to_string(),
                                    Some(what) => what.to_string(),
                                    None => "a value".to_string(),
                                };
                            (
                                BadKind::MalformedJson,
                                format!(
                                    "malformed JSON (document skipped): unfinished document, {open} still open after its {} lines",
                                    last + 1 - first
                                ),
                            )
                        }
                        (Ok(_), _) => (
                            BadKind::MalformedJson,
                            format!("malformed JSON (document skipped): {at}"),
                        ),
                    };
                    out.bad(kind, first + 1, n, reason);
                    accounted += n;
                    break;
                }
            }
        }
        region = end;
    }
    out.skipped = total.saturating_sub(accounted);
    out.finish(cands, ctx.in_file);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{KubeletMatch, KubeletRequest};

    /// The chunk's kubelet events read into records.
    fn records(out: ChunkOut) -> Vec<KubeletRequest> {
        out.kubelet
            .into_iter()
            .map(|k| {
                let record = k.into_record().expect("a kept event reads again");
                record.decode().expect("a record decodes")
            })
            .collect()
    }

    fn ctx(p: Option<&Prefilter>) -> ChunkCtx<'_> {
        ChunkCtx {
            in_file: None,
            prefilter: p,
            want_object_events: true,
            max_line: 1000,
            file: 0,
        }
    }

    #[test]
    fn within_gives_the_text_a_slice_of_its_bytes_is_on_character_boundaries_only() {
        let text = r#"id"é-1""#;
        let bytes = text.as_bytes();
        assert_eq!(within(text, &bytes[3..7]), Some("é-1"));
        assert_eq!(within(text, &bytes[..2]), Some("id"));
        assert_eq!(within(text, &bytes[8..]), Some(""));
        // Starting or ending inside the two bytes of `é`.
        assert_eq!(within(text, &bytes[4..7]), None);
        assert_eq!(within(text, &bytes[2..4]), None);
        // Equal bytes elsewhere are not a slice of the text.
        let elsewhere = String::from("é-1");
        assert_eq!(within(text, elsewhere.as_bytes()), None);
    }

    const KUBELET: &str = r#"{"kind":"Event","auditID":"k1","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/nodes/n1","user":{"username":"system:node:n1","groups":["system:nodes"]},"requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z"}"#;
    const OTHER: &str = r#"{"kind":"Event","auditID":"o1","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/secrets","user":{"username":"admin"},"requestReceivedTimestamp":"2020-01-01T00:00:00.000000Z"}"#;

    #[test]
    fn request_received_lines_of_unusual_shape_read_as_parsing_reads_them() {
        // Each case: a RequestReceived line whose auditID has a kubelet's completion next, in
        // a shape where reading it without parsing would go wrong (what an optimisation that
        // skipped such lines, tried and dropped, first got wrong); the chunk must read as
        // parsing every line reads it.
        let completion = |id: &str| {
            format!(
                r#"{{"kind":"Event","auditID":"{id}","stage":"ResponseComplete","user":{{"username":"system:node:n1"}},"userAgent":"kubelet/v1","requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z"}}"#
            )
        };
        let cases = [
            // Not the apiserver's field order: an EventList with a pod creation inside.
            r#"{"auditID":"a","stage":"RequestReceived","kind":"EventList","items":[{"auditID":"b","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"pods","namespace":"d","name":"p"},"responseStatus":{"code":201},"stageTimestamp":"2020-01-01T00:00:02.000000Z","user":{"username":"admin"}}]}"#.to_string(),
            // Another client reusing the auditID, with `kubelet/` inside its agent.
            r#"{"kind":"Event","auditID":"a","stage":"RequestReceived","user":{"username":"admin"},"userAgent":"curl-kubelet/1","requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z"}"#.to_string(),
            // A time key inside the request's body, before the event's own.
            r#"{"kind":"Event","auditID":"a","stage":"RequestReceived","user":{"username":"system:node:n1"},"userAgent":"kubelet/v1","requestObject":{"requestReceivedTimestamp":"2000-01-01T00:00:00Z"},"requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z"}"#.to_string(),
            // An escaped time.
            r#"{"kind":"Event","auditID":"a","stage":"RequestReceived","user":{"username":"system:node:n1"},"userAgent":"kubelet/v1","requestReceivedTimestamp":"2019-01-01T00:00:01.000000\u005a","stageTimestamp":"2020-01-01T00:00:01.000000Z"}"#.to_string(),
            // A GKE key after the event's own.
            r#"{"kind":"Event","auditID":"a","stage":"RequestReceived","user":{"username":"system:node:n1"},"userAgent":"kubelet/v1","protoPayload":{}}"#.to_string(),
        ];
        let p = Prefilter::new(true);
        for received in cases {
            let text = format!("{received}\n{}\n", completion("a"));
            let with = process_lines(text.as_bytes(), &ctx(Some(&p)));
            let without = process_lines(text.as_bytes(), &ctx(None));
            let summary = |o: &ChunkOut| {
                (
                    o.events,
                    o.ids.clone(),
                    o.kubelet_dropped,
                    o.first_ts,
                    o.last_ts,
                    o.objects.len(),
                    o.bad.clone(),
                )
            };
            assert_eq!(summary(&with), summary(&without), "{received}");
            assert_eq!(records(with), records(without), "{received}");
        }
    }

    #[test]
    fn a_hole_of_nul_bytes_is_passed_over() {
        let hole = "\0".repeat(300);
        let buf = format!("{hole}{KUBELET}\n\0\0 \0\t{OTHER}\n{hole}\n \0 \n{hole}");
        let p = Prefilter::new(true);
        for pf in [None, Some(&p)] {
            let out = process_lines(buf.as_bytes(), &ctx(pf));
            assert_eq!((out.lines, out.used, out.skipped, out.events), (5, 2, 0, 2));
            assert_eq!(out.kubelet.len(), 1);
            assert_eq!(
                out.bad
                    .iter()
                    .map(|b| (b.kind, b.line, b.lines, b.reason.as_str()))
                    .collect::<Vec<_>>(),
                [
                    (
                        BadKind::MalformedJson,
                        3,
                        1,
                        "300 NUL bytes and nothing else (a crash can leave such a hole)"
                    ),
                    (
                        BadKind::MalformedJson,
                        4,
                        1,
                        "1 NUL byte and nothing else (a crash can leave such a hole)"
                    ),
                    (
                        BadKind::MalformedJson,
                        5,
                        1,
                        "300 NUL bytes and nothing else (a crash can leave such a hole)"
                    ),
                ]
            );
        }
        // A file that starts with a hole is still a log.
        assert_eq!(sniff(format!("{hole}{KUBELET}\n").as_bytes()), Shape::Lines);
        assert_eq!(sniff(hole.as_bytes()), Shape::Lines);
    }

    #[test]
    fn sniffs_shapes() {
        assert_eq!(sniff(KUBELET.as_bytes()), Shape::Lines);
        assert_eq!(
            sniff(b"\n\n{\n  \"kind\": \"Event\"\n}\n"),
            Shape::Documents
        );
        assert_eq!(
            sniff(b"2020-01-01T00:00:00Z AUDIT: id=\"x\"\n"),
            Shape::Lines
        );
        assert_eq!(
            sniff(b"# comment\nkey: value\n"),
            Shape::NotALog("not JSON or legacy audit text; first line starts \"# comment\"".into())
        );
        assert_eq!(sniff(b"# header\n{\"auditID\":\"x\"}\n"), Shape::Lines);
        assert_eq!(sniff(b"\n \n"), Shape::Lines);
        let utf16 = Shape::NotALog(
            "UTF-16 text (it starts with a UTF-16 byte order mark): convert it to UTF-8, e.g. with `iconv -f UTF-16 -t UTF-8`".into(),
        );
        assert_eq!(sniff(b"\xFF\xFE{\0\"\0k\0"), utf16);
        assert_eq!(sniff(b"\xFE\xFF\0{\0\"\0k"), utf16);
        let utf32 = Shape::NotALog(
            "UTF-32 text (it starts with a UTF-32 byte order mark): convert it to UTF-8, e.g. with `iconv -f UTF-32 -t UTF-8`".into(),
        );
        assert_eq!(sniff(b"\xFF\xFE\0\0{\0\0\0"), utf32);
        assert_eq!(sniff(b"\0\0\xFE\xFF\0\0\0{"), utf32);
    }

    #[test]
    fn lines_accounting_with_and_without_prefilter() {
        let buf = format!("{KUBELET}\n{OTHER}\n\n{{\"kind\": 0}}\nnot json\n{{\"auditID\":\"x\"");
        let p = Prefilter::new(true);
        for pf in [Some(&p), None] {
            let out = process_lines(buf.as_bytes(), &ctx(pf));
            assert_eq!(out.lines, 6);
            assert_eq!(
                out.bad.iter().map(|b| (b.kind, b.line)).collect::<Vec<_>>(),
                vec![
                    (BadKind::NotAuditEvent, 4),
                    (BadKind::MalformedJson, 5),
                    (BadKind::TruncatedLastLine, 6)
                ]
            );
            assert_eq!(out.events, 2);
            assert_eq!(out.used + out.skipped + out.bad.len() as u64, out.lines);
            if pf.is_some() {
                assert_eq!((out.used, out.skipped), (1, 2));
                assert_eq!(out.first_ts, Some(1_577_836_801_000_000));
            } else {
                assert_eq!((out.used, out.skipped), (2, 1));
                assert_eq!(out.first_ts, Some(1_577_836_800_000_000));
            }
            let kubelet = records(out);
            assert_eq!(kubelet.len(), 1);
            assert_eq!(kubelet[0].matched_by, Some(KubeletMatch::NodeUser));
            assert_eq!(kubelet[0].pos.line, 1);
        }
    }

    #[test]
    fn in_chunk_dedup_keeps_the_best_stage() {
        let ev = |id: &str, stage: &str| {
            format!(
                r#"{{"auditID":"{id}","stage":"{stage}","user":{{"username":"system:node:n"}}}}"#
            )
        };
        let buf = [
            ev("a", "RequestReceived"),
            ev("b", "ResponseStarted"),
            ev("a", "ResponseComplete"),
            ev("b", "RequestReceived"),
            ev("c", "RequestReceived"),
            ev("a", "RequestReceived"),
            ev("c", "Panic"),
        ]
        .join("\n");
        let out = process_lines(buf.as_bytes(), &ctx(None));
        assert_eq!(out.kubelet_dropped, 4);
        // Only the ResponseComplete is built in the chunk; the others travel as their lines.
        let built: Vec<bool> = out
            .kubelet
            .iter()
            .map(|k| matches!(k, KubeletEvent::Record { .. }))
            .collect();
        assert_eq!(built, vec![false, true, false]);
        let kept: Vec<_> = records(out)
            .into_iter()
            .map(|k| (k.audit_id, k.stage, k.pos.line))
            .collect();
        assert_eq!(
            kept,
            vec![
                ("b".into(), Some(Stage::ResponseStarted), 2),
                ("a".into(), Some(Stage::ResponseComplete), 3),
                ("c".into(), Some(Stage::Panic), 7)
            ]
        );
    }

    #[test]
    fn invalid_utf8_and_long_lines() {
        let mut buf =
            b"{\"auditID\":\"a\xff\",\"user\":{\"username\":\"system:node:x\"}}\n".to_vec();
        buf.extend(std::iter::repeat_n(b' ', 1001));
        buf.push(b'\n');
        let out = process_lines(&buf, &ctx(None));
        assert_eq!(
            out.bad.iter().map(|b| (b.kind, b.line)).collect::<Vec<_>>(),
            vec![(BadKind::InvalidUtf8, 1), (BadKind::LineTooLong, 2)]
        );
    }

    #[test]
    fn pretty_documents() {
        let doc = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(KUBELET).unwrap(),
        )
        .unwrap();
        let buf = format!("\n{doc}\n\n{doc}\n{{\"kind\": 0}}\n");
        let out = process_documents(buf.as_bytes(), &ctx(None));
        let doc_lines = count_lines(doc.as_bytes());
        assert_eq!(out.lines, 2 * doc_lines + 3);
        assert_eq!(out.used, 2 * doc_lines);
        assert_eq!(out.skipped, 2);
        assert_eq!(
            out.bad
                .iter()
                .map(|b| (b.kind, b.line, b.lines))
                .collect::<Vec<_>>(),
            vec![(BadKind::NotAuditEvent, 2 * doc_lines + 3, 1)]
        );
        // The same event twice: one request, the second a duplicate dropped in the chunk.
        assert_eq!(out.events, 2);
        assert_eq!(
            out.kubelet.iter().map(|k| k.pos().line).collect::<Vec<_>>(),
            vec![2]
        );
        assert_eq!(out.kubelet_dropped, 1);

        let cut = &buf.as_bytes()[..buf.len() / 3];
        assert_ne!(cut.last(), Some(&b'\n'));
        let out = process_documents(cut, &ctx(None));
        assert_eq!(out.bad.len(), 1);
        assert_eq!(out.bad[0].kind, BadKind::TruncatedLastLine);
        assert_eq!(out.used + out.skipped + out.bad[0].lines, out.lines);

        // Cut at the end of a line, the input is whole lines: the document is unfinished, as
        // a whole line that is not JSON is malformed.
        let cut = &cut[..=cut.iter().rposition(|&b| b == b'\n').unwrap()];
        let out = process_documents(cut, &ctx(None));
        let first = out.bad[0].line;
        assert_eq!(
            out.bad
                .iter()
                .map(|b| (b.kind, b.lines, b.reason.as_str()))
                .collect::<Vec<_>>(),
            [(
                BadKind::MalformedJson,
                out.lines + 1 - first,
                format!(
                    "malformed JSON (document skipped): unfinished document, an object still open after its {} lines",
                    out.lines + 1 - first
                )
                .as_str()
            )]
        );

        // A malformed document is bad up to the next newline outside every document; the
        // document after it is read.
        let other = doc
            .replace("\"n1\"", "\"n2\"")
            .replace("\"auditID\": \"", "\"auditID\": \"2-");
        assert_ne!(other, doc);
        let buf = format!("{doc}\n{{\n  \"kind\": \"Event\",\n  \"level\" oops\n}}\n{other}\n");
        let bad = |out: &ChunkOut| {
            out.bad
                .iter()
                .map(|b| (b.kind, b.line, b.lines, b.reason.clone()))
                .collect::<Vec<_>>()
        };
        let out = process_documents(buf.as_bytes(), &ctx(None));
        assert_eq!(out.lines, 2 * doc_lines + 4);
        assert_eq!(out.used, 2 * doc_lines);
        assert_eq!(out.skipped, 0);
        assert_eq!(
            bad(&out),
            [(
                BadKind::MalformedJson,
                doc_lines + 1,
                4,
                "malformed JSON (document skipped): expected `:` at line 3 of the document, column 11".to_string()
            )]
        );
        assert_eq!(out.kubelet.len(), 2);

        // So is a document with invalid UTF-8 in it.
        let mut buf = format!("{doc}\n{{\n  \"kind\": \"Ev\u{e9}nt\"\n}}\n{other}\n").into_bytes();
        let at = buf.iter().position(|&b| b == 0xc3).unwrap();
        buf[at] = 0xff;
        let out = process_documents(&buf, &ctx(None));
        assert_eq!(out.used, 2 * doc_lines);
        assert_eq!(
            bad(&out),
            [(
                BadKind::InvalidUtf8,
                doc_lines + 1,
                3,
                "invalid UTF-8 at byte 15 of the document (document skipped)".to_string()
            )]
        );
        assert_eq!(out.kubelet.len(), 2);
    }
}
