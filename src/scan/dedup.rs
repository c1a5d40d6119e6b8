//! One request, counted once: deduplication of kubelet events by `auditID`.
//!
//! The apiserver writes one event per stage of a request. A request is emitted as soon as its
//! ResponseComplete event is seen; until then its best event so far (Panic, then
//! ResponseStarted, then RequestReceived) waits in a pending map. Requests are told apart by
//! 64-bit hashes of their auditIDs (as the count of distinct requests does; a collision
//! among even a billion requests is unlikely), which saves a copy and a SipHash of every
//! auditID. Emitted requests are remembered only as those hashes (60 bits of them, see
//! [`crate::scan::recent`]), in a window of recent ones ([`RecentIds`]), so that memory stays
//! bounded by the window rather than by the log: a late duplicate (an event written after its
//! ResponseComplete, an overlapping rotated file) is dropped when it comes within the window,
//! and emitted again when it comes later (see
//! [`crate::scan::recent`] for what that means in practice).
//!
//! A request still pending after [`PENDING_HORIZON`] further kubelet events (or a window of
//! them, if smaller) is given up on: its ResponseComplete never came (a watch cut off by an
//! apiserver restart, a lost event, a policy that omits the stage), so it is emitted then with
//! its best earlier event, as the end of the input would have emitted it. Pending events
//! (most are kept as their line, or two lines for a line taken unparsed with its fallback, see
//! below, and read into a record only if they are emitted: a copy of about a kilobyte each,
//! or, from a mapped file, only where the line is in it) are therefore bounded too, even when
//! no ResponseComplete is logged.
//!
//! Some of those lines were never parsed (a kubelet's RequestReceived or ResponseStarted line
//! the pre-filter took at its word,
//! [`Decision::Unparsed`](crate::scan::prefilter::Decision::Unparsed)): read only when emitted,
//! such a line may turn out bad, and is then handed back to the scan as a [`RefutedLine`]
//! instead of a request. The event of its request such a line replaced in its chunk travels
//! with it as its fallback ([`KubeletEvent::take_fallback`]), and is the request's if it turns
//! out bad, as it would have been had every line been parsed. Until it is read, such a line
//! counts as the event it claims to be: its request's horizon runs from it, not from its
//! fallback.

/// Kubelet events after which a request without its ResponseComplete is given up on: a few
/// minutes of kubelet traffic on a thousand-node cluster, about as long as a kubelet's watches
/// last (a watch given up on is reported with its ResponseStarted event, which already carries
/// the authorization decision and the response code). Requests are looked at every horizon,
/// so at most two horizons of events wait: when a policy omits ResponseComplete altogether,
/// about 500 MB of copied lines from streamed inputs, a few dozen MB from mapped files; a few
/// thousand events otherwise.
pub const PENDING_HORIZON: u64 = 250_000;

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use crate::record::{SourcePos, Stage};
use crate::scan::bad::BadKind;
use crate::scan::chunk::{KubeletEvent, UnreadBad};
use crate::scan::prefilter::IdHash;
use crate::scan::recent::{RecentIds, PREFETCH_AHEAD};
use crate::spill::EncodedRequest;
use rayon::prelude::*;

/// A pending request: its arrival number (ties of position, as in one EventList line, keep
/// arrival order) and its best event so far, read into a record only when it is emitted.
type Pending = (u64, KubeletEvent);

/// Streaming deduplicator of kubelet requests.
#[derive(Default)]
pub struct Dedup {
    pending: HashMap<u64, Pending, IdHash>,
    emitted: RecentIds,
    ready: Vec<EncodedRequest>,
    /// Kubelet events seen (pushed, or dropped by a chunk's own deduplication).
    events: u64,
    /// The event count at which pending requests are next looked at.
    next_expiry: u64,
    /// Kubelet events counted that turned out to be bad lines.
    refuted: u64,
    /// Lines taken unparsed that turned out bad (and lines their file no longer held when
    /// read again), for the scan's own counts.
    refuted_lines: Vec<RefutedLine>,
}

/// A line taken unparsed ([`Decision::Unparsed`](crate::scan::prefilter::Decision::Unparsed))
/// that the parse rejected when nothing replaced it, or a line read again from its file that
/// the file no longer holds (see [`KubeletEvent::into_record`]): its chunk counted it as a
/// used line, an event, and an event of its auditID among the requests.
#[derive(Debug, PartialEq, Eq)]
pub struct RefutedLine {
    /// Where it is.
    pub pos: SourcePos,
    /// [`audit_id_hash`](crate::scan::prefilter::audit_id_hash) of the auditID its chunk
    /// read (from the head of a line taken unparsed).
    pub audit_hash: u64,
    /// The bad-line kind.
    pub kind: BadKind,
    /// The bad-line reason: as its chunk would have given it, for a line taken unparsed.
    pub reason: String,
}

/// An event read into a record, with what [`Dedup`] needs to settle it.
struct Read {
    hash: u64,
    /// Where the record comes from (where the last line read is, when there is none).
    pos: SourcePos,
    /// The record: of the event, or of its fallback when the event turned out bad.
    record: Option<EncodedRequest>,
    /// The lines taken unparsed that turned out bad, and those their file no longer held.
    refuted: Vec<(SourcePos, UnreadBad)>,
}

impl Read {
    /// Reads `event`, and its fallback if it turns out bad.
    fn of(event: KubeletEvent) -> Read {
        let mut read = Read {
            hash: event.audit_hash(),
            pos: event.pos(),
            record: None,
            refuted: Vec::new(),
        };
        let mut next = Some(event);
        while let Some(mut event) = next {
            next = event.take_fallback();
            read.pos = event.pos();
            let may_turn_out_bad = event.may_turn_out_bad();
            match event.into_record() {
                Ok(record) => {
                    read.record = Some(record);
                    break;
                }
                Err(bad) if may_turn_out_bad => read.refuted.push((read.pos, bad)),
                // Only a line taken unparsed, or read again from its file, can fail to read
                // (see `KubeletEvent::into_record`).
                Err(_) => {}
            }
        }
        read
    }
}

/// How strongly an event of `stage` is kept over another of its request ([`Stage::preference`];
/// an event without a known stage least), here and in a chunk's own deduplication.
pub(super) fn preference(stage: Option<Stage>) -> i8 {
    stage.map_or(-1, |s| s.preference() as i8)
}

impl Dedup {
    /// A deduplicator remembering at least `window` emitted requests, and keeping a request
    /// pending for at least `window` kubelet events or [`PENDING_HORIZON`], whichever is
    /// smaller.
    pub fn with_window(window: usize) -> Self {
        Dedup {
            emitted: RecentIds::new(window),
            ..Dedup::default()
        }
    }

    /// Makes room for about `more` emitted requests at once ([`RecentIds::reserve`]).
    pub fn reserve(&mut self, more: usize) {
        self.emitted.reserve(more);
    }

    /// Kubelet events seen.
    pub fn events(&self) -> u64 {
        self.events - self.refuted
    }

    /// The lines taken unparsed found bad (or no longer in their file) since the last call.
    pub fn take_refuted(&mut self) -> Vec<RefutedLine> {
        std::mem::take(&mut self.refuted_lines)
    }

    fn horizon(&self) -> u64 {
        PENDING_HORIZON.min(self.emitted.window() as u64)
    }

    /// Counts `n` kubelet events that a chunk's own deduplication dropped.
    pub fn count_dropped(&mut self, n: u64) {
        self.advance(n);
    }

    /// Counts `n` events; every horizon's worth, gives up on the requests that have been
    /// pending for at least a horizon.
    fn advance(&mut self, n: u64) {
        self.events += n;
        if self.events >= self.next_expiry {
            let horizon = self.horizon();
            if self.next_expiry > 0 {
                self.expire(self.events.saturating_sub(horizon));
            }
            self.next_expiry = (self.events / horizon + 1) * horizon;
        }
    }

    /// Adds the kubelet events of a chunk, in order, their line numbers shifted by `lines`
    /// ([`KubeletEvent::shift_line`]), with the buckets of the emitted IDs that those a few
    /// places on will search fetched ahead (see [`RecentIds::insert_all`]).
    pub fn push_all(&mut self, events: Vec<KubeletEvent>, lines: u64) {
        let ahead: Vec<u64> = events
            .iter()
            .skip(PREFETCH_AHEAD)
            .map(KubeletEvent::audit_hash)
            .collect();
        for (i, mut event) in events.into_iter().enumerate() {
            if let Some(&h) = ahead.get(i) {
                self.emitted.prefetch(h);
            }
            event.shift_line(lines);
            self.push(event);
        }
    }

    /// Adds one kubelet event.
    pub fn push(&mut self, mut r: KubeletEvent) {
        self.advance(1);
        let h = r.audit_hash();
        let seen = self.emitted.contains(h);
        if r.is_unread() && (seen || self.pending.contains_key(&h)) {
            // A line taken unparsed that meets its request again, to be dropped or to replace
            // the event pending, is read now: parsing every line would have checked it.
            match self.read_now(r) {
                Some(record) => r = record,
                None => return,
            }
        }
        if seen {
            return;
        }
        // The event pending, taken unparsed, would be kept over this one: read it first (if
        // it is bad, its fallback or this one is the request's).
        if self
            .pending
            .get(&h)
            .is_some_and(|(_, p)| p.is_unread() && preference(r.stage()) <= preference(p.stage()))
        {
            if let Some((seq, p)) = self.pending.remove(&h) {
                if let Some(read) = self.read_now(p) {
                    self.pending.insert(h, (seq, read));
                }
            }
        }
        if r.stage() == Some(Stage::ResponseComplete) {
            self.pending.remove(&h);
            match r.into_record() {
                Ok(record) => {
                    self.emitted.insert(h);
                    self.ready.push(record);
                }
                Err(_) => debug_assert!(false, "a ResponseComplete is never taken unparsed"),
            }
            return;
        }
        let seq = self.events;
        match self.pending.entry(h) {
            Entry::Occupied(mut e) => {
                if preference(r.stage()) > preference(e.get().1.stage()) {
                    e.insert((seq, r));
                }
            }
            Entry::Vacant(e) => {
                e.insert((seq, r));
            }
        }
    }

    /// Reads a line taken unparsed because another event of its request came: its record as
    /// an event, or, when it is bad, its fallback's, or nothing (it is refuted, and so is a
    /// fallback that turns out bad).
    fn read_now(&mut self, event: KubeletEvent) -> Option<KubeletEvent> {
        let Read {
            hash,
            record,
            refuted,
            ..
        } = Read::of(event);
        for (pos, bad) in refuted {
            self.refute(pos, hash, bad);
        }
        record.map(KubeletEvent::record)
    }

    /// Keeps the line at `pos` that turned out `bad` for the scan ([`RefutedLine`]).
    fn refute(&mut self, pos: SourcePos, audit_hash: u64, bad: UnreadBad) {
        let (kind, reason) = bad;
        self.refuted += 1;
        self.refuted_lines.push(RefutedLine {
            pos,
            audit_hash,
            kind,
            reason,
        });
    }

    /// Emits, in input order, the pending requests whose best event arrived at or before
    /// event number `last`.
    fn expire(&mut self, last: u64) {
        let old: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, (seq, _))| *seq <= last)
            .map(|(h, _)| *h)
            .collect();
        let expired: Vec<Pending> = old.iter().filter_map(|h| self.pending.remove(h)).collect();
        // Reading lines into records is the chunks' work done late: on the worker pool, not
        // on the merging thread (under a policy that never logs ResponseComplete, every
        // kubelet request comes this way). Read before they are put in order: a line that
        // turns out bad leaves its fallback's record, which is where the fallback is.
        let mut read: Vec<(u64, Read)> = expired
            .into_par_iter()
            .map(|(seq, r)| (seq, Read::of(r)))
            .collect();
        read.sort_by_key(|(seq, r)| (r.pos.file, r.pos.line, *seq));
        self.take_read(read.into_iter().map(|(_, r)| r));
    }

    /// Emits the requests of events read into records, in order, and keeps the lines taken
    /// unparsed that turned out bad.
    fn take_read(&mut self, read: impl Iterator<Item = Read>) {
        for Read {
            hash,
            record,
            refuted,
            ..
        } in read
        {
            for (pos, bad) in refuted {
                self.refute(pos, hash, bad);
            }
            if let Some(r) = record {
                self.emitted.insert(hash);
                self.ready.push(r);
            }
        }
    }

    /// Requests ready since the last call: completed ones in the order their ResponseComplete
    /// was seen, and those given up on (see the module documentation) in input order.
    pub fn take_ready(&mut self) -> Vec<EncodedRequest> {
        let capacity = self.ready.len();
        std::mem::replace(&mut self.ready, Vec::with_capacity(capacity))
    }

    /// Distinct requests so far (emitted and pending).
    pub fn distinct(&self) -> u64 {
        self.emitted.distinct() + self.pending.len() as u64
    }

    /// Ends the stream: the ready requests, then the still-pending ones (never completed) in
    /// input order.
    pub fn finish(&mut self) -> Vec<EncodedRequest> {
        self.expire(u64::MAX);
        self.take_ready()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{KubeletRequest, SourcePos};

    fn ev(id: &str, stage: Stage, line: u64) -> KubeletEvent {
        KubeletEvent::record(EncodedRequest::new(&KubeletRequest {
            audit_id: id.into(),
            stage: Some(stage),
            pos: SourcePos { file: 0, line },
            ..KubeletRequest::default()
        }))
    }

    fn decoded(requests: Vec<EncodedRequest>) -> Vec<KubeletRequest> {
        requests
            .iter()
            .map(|r| r.decode().expect("a request decodes"))
            .collect()
    }

    #[test]
    fn prefers_response_complete_then_panic_then_started() {
        let mut d = Dedup::default();
        d.push(ev("a", Stage::RequestReceived, 1));
        d.push(ev("b", Stage::RequestReceived, 2));
        d.push(ev("b", Stage::ResponseStarted, 3));
        d.push(ev("c", Stage::ResponseStarted, 4));
        d.push(ev("c", Stage::Panic, 5));
        d.push(ev("c", Stage::RequestReceived, 6));
        d.push(ev("a", Stage::ResponseComplete, 7));
        d.push(ev("a", Stage::ResponseComplete, 8));
        d.push(ev("a", Stage::RequestReceived, 9));
        assert_eq!(d.distinct(), 3);
        let ready = decoded(d.take_ready());
        assert_eq!(
            ready.iter().map(|r| r.pos.line).collect::<Vec<_>>(),
            vec![7]
        );
        let rest = decoded(d.finish());
        assert_eq!(
            rest.iter()
                .map(|r| (r.audit_id.as_str(), r.stage, r.pos.line))
                .collect::<Vec<_>>(),
            vec![
                ("b", Some(Stage::ResponseStarted), 3),
                ("c", Some(Stage::Panic), 5)
            ]
        );
        assert_eq!(d.events(), 9);
        assert_eq!(d.distinct(), 3);
    }

    #[test]
    fn pending_requests_are_emitted_once_a_window_of_events_has_passed_them() {
        let mut d = Dedup::with_window(2);
        d.push(ev("watch", Stage::ResponseStarted, 1));
        d.push(ev("a", Stage::RequestReceived, 2));
        d.push(ev("a", Stage::ResponseComplete, 3));
        assert_eq!(d.take_ready().len(), 1);
        // The fourth event ends the second window: the watch (event 1) has waited a whole one.
        d.push(ev("b", Stage::ResponseComplete, 4));
        d.push(ev("c", Stage::RequestReceived, 5));
        let ready = decoded(d.take_ready());
        assert_eq!(
            ready
                .iter()
                .map(|r| (r.audit_id.as_str(), r.stage))
                .collect::<Vec<_>>(),
            vec![
                ("watch", Some(Stage::ResponseStarted)),
                ("b", Some(Stage::ResponseComplete))
            ]
        );
        // Its late ResponseComplete is a duplicate now; "c" is still within its window.
        d.push(ev("watch", Stage::ResponseComplete, 6));
        assert!(d.take_ready().is_empty());
        let rest = decoded(d.finish());
        assert_eq!(
            rest.iter().map(|r| r.audit_id.as_str()).collect::<Vec<_>>(),
            vec!["c"]
        );
        assert_eq!(d.distinct(), 4);
        assert_eq!(d.events(), 6);
    }

    #[test]
    fn events_kept_as_lines_are_read_only_when_emitted() {
        use crate::scan::chunk::{process_lines, ChunkCtx};
        let line = |id: &str, stage: &str| {
            format!(
                r#"{{"auditID":"{id}","stage":"{stage}","verb":"watch","requestURI":"/api/v1/secrets?watch=true","user":{{"username":"system:node:n1"}}}}"#
            )
        };
        let chunk = [line("w", "ResponseStarted"), line("x", "RequestReceived")].join("\n");
        let ctx = ChunkCtx {
            in_file: None,
            prefilter: None,
            want_object_events: false,
            max_line: 1 << 20,
            file: 0,
        };
        let out = process_lines(chunk.as_bytes(), &ctx);
        assert!(out
            .kubelet
            .iter()
            .all(|k| matches!(k, KubeletEvent::Line(_))));
        let mut d = Dedup::default();
        for k in out.kubelet {
            d.push(k);
        }
        // The watch's ResponseComplete replaces its ResponseStarted line.
        d.push(ev("w", Stage::ResponseComplete, 9));
        let ready = decoded(d.take_ready());
        assert_eq!(
            ready
                .iter()
                .map(|r| (r.audit_id.as_str(), r.pos.line))
                .collect::<Vec<_>>(),
            vec![("w", 9)]
        );
        // The request that never completed is read from its line at the end.
        let rest = decoded(d.finish());
        assert_eq!(rest.len(), 1);
        let x = &rest[0];
        assert_eq!(
            (x.audit_id.as_str(), x.stage, x.verb.as_str(), x.pos.line),
            ("x", Some(Stage::RequestReceived), "watch", 2)
        );
        assert!(x.uri.watch);
        assert_eq!(x.user.username, "system:node:n1");
        assert_eq!(d.distinct(), 2);
    }

    /// The kubelet lines of a chunk of a mapped file, read from that file again when emitted:
    /// as from a copy while the file holds them; refuted (as a line taken unparsed that turns
    /// out bad is) when the file no longer does, with another event or none in their place.
    #[test]
    #[cfg(unix)]
    fn lines_left_in_their_file_are_read_from_it_when_emitted() {
        use crate::scan::chunk::{process_lines, ChunkCtx, InFile};
        use std::io::{Seek, SeekFrom, Write};
        use std::sync::Arc;
        let line = |id: &str, stage: &str| {
            format!(
                r#"{{"auditID":"{id}","stage":"{stage}","verb":"watch","requestURI":"/api/v1/secrets?watch=true","user":{{"username":"system:node:n1"}}}}"#
            )
        };
        let text = [line("w", "ResponseStarted"), line("x", "RequestReceived")].join("\n");
        // What happens to the file after its chunk is read: nothing, another event of the same
        // length in the place of "x", or no bytes at all.
        let cases: [(&str, Option<&str>); 3] = [
            ("kept", None),
            ("replaced", Some("the line read again is another event")),
            (
                "truncated",
                Some("the line could not be read again: failed to fill whole buffer"),
            ),
        ];
        for (change, refuted) in cases {
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(text.as_bytes()).unwrap();
            let file = Arc::new(file);
            // SAFETY: a private temporary file, changed below only after its chunk is read.
            let map = unsafe { memmap2::Mmap::map(&*file) }.unwrap();
            let ctx = ChunkCtx {
                in_file: Some(InFile {
                    file: &file,
                    bytes: &map,
                }),
                prefilter: None,
                want_object_events: false,
                max_line: 1 << 20,
                file: 0,
            };
            let out = process_lines(&map, &ctx);
            // Parsed lines whose reading may fail: they were left in the file.
            assert_eq!(out.kubelet.len(), 2, "{change}");
            assert!(out
                .kubelet
                .iter()
                .all(|k| matches!(k, KubeletEvent::Line(_))
                    && !k.is_unread()
                    && k.may_turn_out_bad()));
            drop(map);
            match change {
                "replaced" => {
                    let at = text.find(r#""x""#).unwrap() as u64;
                    (&*file).seek(SeekFrom::Start(at)).unwrap();
                    (&*file).write_all(br#""y""#).unwrap();
                }
                "truncated" => file.set_len(0).unwrap(),
                _ => {}
            }
            let mut d = Dedup::default();
            for k in out.kubelet {
                d.push(k);
            }
            d.push(ev("w", Stage::ResponseComplete, 9));
            assert_eq!(decoded(d.take_ready()).len(), 1, "{change}");
            let rest = decoded(d.finish());
            let refutations = d.take_refuted();
            match refuted {
                None => {
                    assert_eq!(rest.len(), 1);
                    let x = &rest[0];
                    assert_eq!(
                        (x.audit_id.as_str(), x.stage, x.verb.as_str(), x.pos.line),
                        ("x", Some(Stage::RequestReceived), "watch", 2)
                    );
                    assert_eq!(x.user.username, "system:node:n1");
                    assert!(refutations.is_empty());
                }
                Some(reason) => {
                    assert!(rest.is_empty(), "{change}");
                    assert_eq!(
                        refutations,
                        vec![RefutedLine {
                            pos: SourcePos { file: 0, line: 2 },
                            audit_hash: crate::scan::prefilter::audit_id_hash(b"x"),
                            kind: BadKind::ChangedWhileRead,
                            reason: reason.into(),
                        }],
                        "{change}"
                    );
                }
            }
        }
    }

    #[test]
    fn events_dropped_in_chunks_count_towards_the_horizon() {
        let mut d = Dedup::with_window(10);
        d.push(ev("watch", Stage::ResponseStarted, 1));
        // A chunk's own deduplication drops 11 events: the count jumps over the horizon (10)
        // and the watch, pending since event 1, is given up on there and then.
        d.count_dropped(11);
        let ready = decoded(d.take_ready());
        assert_eq!(
            ready
                .iter()
                .map(|r| r.audit_id.as_str())
                .collect::<Vec<_>>(),
            vec!["watch"]
        );
        d.push(ev("a", Stage::RequestReceived, 2));
        d.count_dropped(7);
        // 20: "a" (event 13) has waited only 7 events.
        d.push(ev("b", Stage::ResponseComplete, 3));
        assert_eq!(
            decoded(d.take_ready())
                .iter()
                .map(|r| r.audit_id.as_str())
                .collect::<Vec<_>>(),
            vec!["b"]
        );
        assert_eq!(d.events(), 21);
    }
}
