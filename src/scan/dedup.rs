//! One request, counted once: deduplication of kubelet events by `auditID`.
//!
//! The apiserver writes one event per stage of a request. A request is emitted as soon as its
//! ResponseComplete event is seen; until then its best event so far (Panic, then
//! ResponseStarted, then RequestReceived) waits in a pending map. Requests are told apart by
//! 64-bit hashes of their auditIDs (as the count of distinct requests does; a collision
//! among even a billion requests is unlikely), which saves a copy and a SipHash of every
//! auditID. Emitted requests are remembered only as those hashes, in a window of recent ones
//! ([`RecentIds`]), so that memory stays bounded by the window rather than by the log: a
//! late duplicate (an event written after its ResponseComplete, an overlapping rotated file)
//! is dropped when it comes within the window, and emitted again when it comes later (see
//! [`crate::scan::recent`] for what that means in practice).
//!
//! A request still pending after [`PENDING_HORIZON`] further kubelet events (or a window of
//! them, if smaller) is given up on: its ResponseComplete never came (a watch cut off by an
//! apiserver restart, a lost event, a policy that omits the stage), so it is emitted then with
//! its best earlier event, as the end of the input would have emitted it. Pending events
//! (most are kept as a copy of their line, about a kilobyte, and read into a record only if
//! they are emitted) are therefore bounded too, even when no ResponseComplete is logged.

/// Kubelet events after which a request without its ResponseComplete is given up on: a few
/// minutes of kubelet traffic on a thousand-node cluster, about as long as a kubelet's watches
/// last (a watch given up on is reported with its ResponseStarted event, which already carries
/// the authorization decision and the response code). Requests are looked at every horizon,
/// so at most two horizons of events wait: about 500 MB when a policy omits ResponseComplete
/// altogether, a few thousand events otherwise.
pub const PENDING_HORIZON: u64 = 250_000;

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use crate::record::{KubeletRequest, Stage};
use crate::scan::chunk::KubeletEvent;
use crate::scan::prefilter::IdHash;
use crate::scan::recent::RecentIds;
use rayon::prelude::*;

/// A pending request: its arrival number (ties of position, as in one EventList line, keep
/// arrival order) and its best event so far, read into a record only when it is emitted.
type Pending = (u64, KubeletEvent);

/// Streaming deduplicator of kubelet requests.
#[derive(Default)]
pub struct Dedup {
    pending: HashMap<u64, Pending, IdHash>,
    emitted: RecentIds,
    // Boxed because a record is about 800 bytes and moves from the worker to this list to the
    // caller's batch: moving pointers, not records, took a tenth off the second pass.
    #[expect(clippy::vec_box, reason = "records are large and moved several times")]
    ready: Vec<Box<KubeletRequest>>,
    /// Kubelet events seen (pushed, or dropped by a chunk's own deduplication).
    events: u64,
    /// The event count at which pending requests are next looked at.
    next_expiry: u64,
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

    /// Kubelet events seen.
    pub fn events(&self) -> u64 {
        self.events
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

    /// Adds one kubelet event.
    pub fn push(&mut self, r: KubeletEvent) {
        self.advance(1);
        let h = r.audit_hash();
        if self.emitted.contains(h) {
            return;
        }
        if r.stage() == Some(Stage::ResponseComplete) {
            self.pending.remove(&h);
            self.emitted.insert(h);
            self.ready.extend(r.into_record());
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

    /// Emits, in input order, the pending requests whose best event arrived at or before
    /// event number `last`.
    fn expire(&mut self, last: u64) {
        let old: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, (seq, _))| *seq <= last)
            .map(|(h, _)| *h)
            .collect();
        let mut expired: Vec<Pending> = old.iter().filter_map(|h| self.pending.remove(h)).collect();
        expired.sort_by_key(|(seq, r)| (r.pos().file, r.pos().line, *seq));
        for (_, r) in &expired {
            self.emitted.insert(r.audit_hash());
        }
        // Reading lines into records is the chunks' work done late: on the worker pool, not
        // on the merging thread (under a policy that never logs ResponseComplete, every
        // kubelet request comes this way).
        let records: Vec<Option<Box<KubeletRequest>>> = expired
            .into_par_iter()
            .map(|(_, r)| r.into_record())
            .collect();
        for record in records {
            // Lines parsed and classified as these very events in their chunks; reading them
            // again cannot fail, and if it ever did the request would go missing unnoticed.
            debug_assert!(record.is_some(), "a kept kubelet event no longer reads");
            self.ready.extend(record);
        }
    }

    /// Requests ready since the last call: completed ones in the order their ResponseComplete
    /// was seen, and those given up on (see the module documentation) in input order.
    pub fn take_ready(&mut self) -> Vec<Box<KubeletRequest>> {
        let capacity = self.ready.len();
        std::mem::replace(&mut self.ready, Vec::with_capacity(capacity))
    }

    /// Distinct requests so far (emitted and pending).
    pub fn distinct(&self) -> u64 {
        self.emitted.distinct() + self.pending.len() as u64
    }

    /// Ends the stream: the ready requests, then the still-pending ones (never completed) in
    /// input order.
    pub fn finish(&mut self) -> Vec<Box<KubeletRequest>> {
        self.expire(u64::MAX);
        self.take_ready()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SourcePos;

    fn ev(id: &str, stage: Stage, line: u64) -> KubeletEvent {
        KubeletEvent::Record(Box::new(KubeletRequest {
            audit_id: id.into(),
            stage: Some(stage),
            pos: SourcePos { file: 0, line },
            ..KubeletRequest::default()
        }))
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
        let ready = d.take_ready();
        assert_eq!(
            ready.iter().map(|r| r.pos.line).collect::<Vec<_>>(),
            vec![7]
        );
        let rest = d.finish();
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
        let ready = d.take_ready();
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
        let rest = d.finish();
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
        let ready = d.take_ready();
        assert_eq!(
            ready
                .iter()
                .map(|r| (r.audit_id.as_str(), r.pos.line))
                .collect::<Vec<_>>(),
            vec![("w", 9)]
        );
        // The request that never completed is read from its line at the end.
        let rest = d.finish();
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

    #[test]
    fn events_dropped_in_chunks_count_towards_the_horizon() {
        let mut d = Dedup::with_window(10);
        d.push(ev("watch", Stage::ResponseStarted, 1));
        // A chunk's own deduplication drops 11 events: the count jumps over the horizon (10)
        // and the watch, pending since event 1, is given up on there and then.
        d.count_dropped(11);
        let ready = d.take_ready();
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
            d.take_ready()
                .iter()
                .map(|r| r.audit_id.as_str())
                .collect::<Vec<_>>(),
            vec!["b"]
        );
        assert_eq!(d.events(), 21);
    }
}
