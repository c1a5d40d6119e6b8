//! One request, counted once: deduplication of kubelet events by `auditID`.
//!
//! The apiserver writes one event per stage of a request. A request is emitted as soon as its
//! ResponseComplete event is seen; until then its best event so far (Panic, then
//! ResponseStarted, then RequestReceived) waits in a pending map. Requests are told apart by
//! 64-bit hashes of their auditIDs (as the count of distinct requests does; a collision
//! among even a billion requests is unlikely), which saves a copy and a SipHash of every
//! auditID. Emitted requests are remembered only as those hashes, so that a late duplicate
//! (a second copy of a log, an event written after its ResponseComplete) is dropped at a cost
//! of 8 bytes per request rather than a whole record.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use crate::record::{KubeletRequest, Stage};
use crate::scan::prefilter::{audit_id_hash, IdHash};

/// Streaming deduplicator of kubelet requests.
#[derive(Default)]
pub struct Dedup {
    /// Best event so far of each incomplete request, with its arrival number (ties of
    /// position, as in one EventList line, keep arrival order).
    pending: HashMap<u64, (u64, KubeletRequest), IdHash>,
    emitted: HashSet<u64, IdHash>,
    ready: Vec<KubeletRequest>,
    /// Kubelet events pushed.
    pub events: u64,
}

fn preference(r: &KubeletRequest) -> i8 {
    r.stage.map_or(-1, |s| s.preference() as i8)
}

impl Dedup {
    /// Adds one kubelet event.
    pub fn push(&mut self, r: KubeletRequest) {
        self.events += 1;
        let h = audit_id_hash(r.audit_id.as_bytes());
        if self.emitted.contains(&h) {
            return;
        }
        if r.stage == Some(Stage::ResponseComplete) {
            self.pending.remove(&h);
            self.emitted.insert(h);
            self.ready.push(r);
            return;
        }
        let seq = self.events;
        match self.pending.entry(h) {
            Entry::Occupied(mut e) => {
                if preference(&r) > preference(&e.get().1) {
                    e.insert((seq, r));
                }
            }
            Entry::Vacant(e) => {
                e.insert((seq, r));
            }
        }
    }

    /// Requests completed since the last call, in the order their ResponseComplete was seen.
    pub fn take_ready(&mut self) -> Vec<KubeletRequest> {
        std::mem::take(&mut self.ready)
    }

    /// Distinct requests so far (emitted and pending).
    pub fn distinct(&self) -> u64 {
        (self.emitted.len() + self.pending.len()) as u64
    }

    /// Ends the stream: the still-pending requests (never completed), in input order.
    pub fn finish(&mut self) -> Vec<KubeletRequest> {
        let mut rest: Vec<(u64, KubeletRequest)> = self.pending.drain().map(|(_, r)| r).collect();
        rest.sort_by_key(|(seq, r)| (r.pos.file, r.pos.line, *seq));
        let rest: Vec<KubeletRequest> = rest.into_iter().map(|(_, r)| r).collect();
        for r in &rest {
            self.emitted.insert(audit_id_hash(r.audit_id.as_bytes()));
        }
        let mut out = self.take_ready();
        out.extend(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SourcePos;

    fn ev(id: &str, stage: Stage, line: u64) -> KubeletRequest {
        KubeletRequest {
            audit_id: id.into(),
            stage: Some(stage),
            pos: SourcePos { file: 0, line },
            ..KubeletRequest::default()
        }
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
}
