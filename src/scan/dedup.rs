//! One request, counted once: deduplication of kubelet events by `auditID`.
//!
//! The apiserver writes one event per stage of a request. A request is emitted as soon as its
//! ResponseComplete event is seen; until then its best event so far (Panic, then
//! ResponseStarted, then RequestReceived) waits in a pending map. Requests are told apart by
//! 64-bit hashes of their auditIDs (as the count of distinct requests does; a collision
//! among even a billion requests is unlikely), which saves a copy and a SipHash of every
//! auditID. Emitted requests are remembered only as those hashes, in a window of recent ones
//! ([`RecentIds`]), so that a late duplicate (an event written after its ResponseComplete, an
//! overlapping rotated file) is dropped while memory stays bounded by the window rather than
//! by the log.
//!
//! A request still pending when two generations of the window have passed (its
//! ResponseComplete never came: a watch cut off by an apiserver restart, a lost event) is
//! emitted then, as the end of the input would have emitted it, so that pending requests do
//! not pile up over a long log either.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use crate::record::{KubeletRequest, Stage};
use crate::scan::prefilter::{audit_id_hash, IdHash};
use crate::scan::recent::RecentIds;

/// A pending request: arrival number (ties of position, as in one EventList line, keep
/// arrival order), the window's generation when it arrived, and its best event so far.
type Pending = (u64, u64, Box<KubeletRequest>);

/// Streaming deduplicator of kubelet requests.
#[derive(Default)]
pub struct Dedup {
    pending: HashMap<u64, Pending, IdHash>,
    emitted: RecentIds,
    // Boxed because a record is about 800 bytes and moves from the worker to this list to the
    // caller's batch: moving pointers, not records, took a tenth off the second pass.
    #[expect(clippy::vec_box, reason = "records are large and moved several times")]
    ready: Vec<Box<KubeletRequest>>,
    /// Kubelet events pushed.
    pub events: u64,
}

fn preference(r: &KubeletRequest) -> i8 {
    r.stage.map_or(-1, |s| s.preference() as i8)
}

impl Dedup {
    /// A deduplicator remembering at least `window` emitted requests.
    pub fn with_window(window: usize) -> Self {
        Dedup {
            emitted: RecentIds::new(window),
            ..Dedup::default()
        }
    }

    /// Adds one kubelet event.
    pub fn push(&mut self, r: Box<KubeletRequest>) {
        self.events += 1;
        let h = audit_id_hash(r.audit_id.as_bytes());
        if self.emitted.contains(h) {
            return;
        }
        if r.stage == Some(Stage::ResponseComplete) {
            self.pending.remove(&h);
            self.emit(h, r);
            return;
        }
        let seq = self.events;
        let generation = self.emitted.generation();
        match self.pending.entry(h) {
            Entry::Occupied(mut e) => {
                if preference(&r) > preference(&e.get().2) {
                    e.insert((seq, generation, r));
                }
            }
            Entry::Vacant(e) => {
                e.insert((seq, generation, r));
            }
        }
    }

    fn emit(&mut self, h: u64, r: Box<KubeletRequest>) {
        let before = self.emitted.generation();
        self.emitted.insert(h);
        self.ready.push(r);
        if self.emitted.generation() != before {
            self.expire(self.emitted.generation().saturating_sub(1));
        }
    }

    /// Emits, in input order, the pending requests that arrived before generation `before`.
    fn expire(&mut self, before: u64) {
        let old: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, (_, generation, _))| *generation < before)
            .map(|(h, _)| *h)
            .collect();
        let mut expired: Vec<Pending> = old.iter().filter_map(|h| self.pending.remove(h)).collect();
        expired.sort_by_key(|(seq, _, r)| (r.pos.file, r.pos.line, *seq));
        for (_, _, r) in expired {
            self.emitted.insert(audit_id_hash(r.audit_id.as_bytes()));
            self.ready.push(r);
        }
    }

    /// Requests completed since the last call, in the order their ResponseComplete was seen.
    pub fn take_ready(&mut self) -> Vec<Box<KubeletRequest>> {
        let capacity = self.ready.len();
        std::mem::replace(&mut self.ready, Vec::with_capacity(capacity))
    }

    /// Distinct requests so far (emitted and pending).
    pub fn distinct(&self) -> u64 {
        self.emitted.distinct() + self.pending.len() as u64
    }

    /// Ends the stream: the still-pending requests (never completed), in input order.
    pub fn finish(&mut self) -> Vec<Box<KubeletRequest>> {
        self.expire(u64::MAX);
        self.take_ready()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SourcePos;

    fn ev(id: &str, stage: Stage, line: u64) -> Box<KubeletRequest> {
        Box::new(KubeletRequest {
            audit_id: id.into(),
            stage: Some(stage),
            pos: SourcePos { file: 0, line },
            ..KubeletRequest::default()
        })
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
        assert_eq!(d.events, 9);
        assert_eq!(d.distinct(), 3);
    }

    #[test]
    fn pending_requests_are_emitted_once_the_window_has_passed_them() {
        let mut d = Dedup::with_window(2);
        d.push(ev("watch", Stage::ResponseStarted, 1));
        for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
            d.push(ev(id, Stage::ResponseComplete, 2 + i as u64));
        }
        // One generation has passed ("a", "b"); the watch is younger than two.
        assert_eq!(d.take_ready().len(), 3);
        for (i, id) in ["d", "e"].into_iter().enumerate() {
            d.push(ev(id, Stage::ResponseComplete, 5 + i as u64));
        }
        let ready = d.take_ready();
        assert_eq!(
            ready
                .iter()
                .map(|r| r.audit_id.as_str())
                .collect::<Vec<_>>(),
            vec!["d", "e", "watch"]
        );
        assert_eq!(ready[2].stage, Some(Stage::ResponseStarted));
        // Its late ResponseComplete is a duplicate now.
        d.push(ev("watch", Stage::ResponseComplete, 7));
        assert!(d.take_ready().is_empty());
        assert!(d.finish().is_empty());
        assert_eq!(d.distinct(), 6);
        assert_eq!(d.events, 7);
    }
}
