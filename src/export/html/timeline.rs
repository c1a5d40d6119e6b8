//! Per-node timelines of recorded outcomes, for the picture in `report.html`.
//!
//! Requests are counted into fixed-width time buckets. The width is decided once, from the
//! span, before any request is seen ([`bucket_width_for`]): a "nice" width (1 s, 2 s, 5 s, …,
//! 1 h, …, 1 day, then whole days) giving at most [`MAX_BUCKETS`] buckets, so a chart has
//! between about a hundred and three hundred bars whatever the length of the log, and memory is
//! bounded by nodes × buckets, never by requests. Bucket starts are multiples of the width since
//! the Unix epoch, so bars begin on round times (`09:10:00`, not `09:09:57.68`).
//!
//! A node *loses access* when a bucket that is mostly forbidden follows one that is mostly
//! allowed, and *regains* it the other way round ([`transitions`]). "Mostly" compares the
//! allowed and forbidden counts only: a request without a recorded response says nothing about
//! access. Empty buckets and ties carry the previous state on, so a node that is silent for a
//! while (an apiserver restart) does not flap.

use crate::graph::intern::FxHashMap;
use crate::record::Micros;
use crate::verdict::Recorded;

/// The most buckets a timeline has.
pub const MAX_BUCKETS: usize = 300;

const SECOND: Micros = 1_000_000;
const MINUTE: Micros = 60 * SECOND;
const HOUR: Micros = 60 * MINUTE;
const DAY: Micros = 24 * HOUR;

/// The bucket widths tried in order; longer spans use whole days beyond the last.
pub const NICE_WIDTHS: [Micros; 18] = [
    SECOND,
    2 * SECOND,
    5 * SECOND,
    10 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
];

/// The outcome of one request as the timeline counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Recorded allowed.
    Allowed,
    /// Recorded forbidden.
    Forbidden,
    /// No recorded response (the request was cut off or the audit level omits it).
    Other,
}

impl From<Recorded> for Outcome {
    fn from(r: Recorded) -> Self {
        match r {
            Recorded::Allowed => Outcome::Allowed,
            Recorded::Forbidden => Outcome::Forbidden,
            Recorded::NoResponse => Outcome::Other,
        }
    }
}

/// Requests of one node in one time bucket `[start, start + width)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bucket {
    /// Start of the bucket, UTC microseconds.
    pub start: Micros,
    /// Recorded allowed.
    pub allowed: u64,
    /// Recorded forbidden.
    pub forbidden: u64,
    /// No recorded response.
    pub other: u64,
}

impl Bucket {
    /// All requests in the bucket.
    pub fn total(&self) -> u64 {
        self.allowed + self.forbidden + self.other
    }

    /// The access state the bucket shows, if any (see the module documentation).
    pub fn access(&self) -> Option<Access> {
        match self.allowed.cmp(&self.forbidden) {
            std::cmp::Ordering::Greater => Some(Access::Allowed),
            std::cmp::Ordering::Less => Some(Access::Forbidden),
            std::cmp::Ordering::Equal => None,
        }
    }
}

/// What a node could do during a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Mostly allowed.
    Allowed,
    /// Mostly forbidden.
    Forbidden,
}

/// The buckets of one node, in time order, all on the same grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTimeline {
    /// Node name (empty for kubelet requests without a node identity).
    pub node: String,
    /// Buckets in time order; empty buckets may be present or left out.
    pub buckets: Vec<Bucket>,
}

impl NodeTimeline {
    /// The node's counts over all buckets (`start` is the first bucket's, or 0).
    pub fn sum(&self) -> Bucket {
        let mut s = Bucket {
            start: self.buckets.first().map_or(0, |b| b.start),
            ..Bucket::default()
        };
        for b in &self.buckets {
            s.allowed += b.allowed;
            s.forbidden += b.forbidden;
            s.other += b.other;
        }
        s
    }

    /// The access state of the first bucket that shows one: how the node started.
    pub fn first_access(&self) -> Option<(Micros, Access)> {
        self.buckets
            .iter()
            .find_map(|b| b.access().map(|a| (b.start, a)))
    }

    /// The access state of the last bucket that shows one: how the node ended.
    pub fn last_access(&self) -> Option<(Micros, Access)> {
        self.buckets
            .iter()
            .rev()
            .find_map(|b| b.access().map(|a| (b.start, a)))
    }
}

/// Orders timelines so that the ones a person must see come first, each group by name: nodes
/// that end forbidden, then nodes with a transition, then nodes with any forbidden request,
/// then the rest. For clusters with more nodes than the page draws.
pub fn troubled_first(nodes: &mut [NodeTimeline]) {
    nodes.sort_by_cached_key(|n| {
        let rank = if matches!(n.last_access(), Some((_, Access::Forbidden))) {
            0
        } else if !transitions(n).is_empty() {
            1
        } else if n.buckets.iter().any(|b| b.forbidden > 0) {
            2
        } else {
            3
        };
        (rank, n.node.clone())
    });
}

/// Whether access was lost or regained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransitionKind {
    /// Mostly allowed, then mostly forbidden.
    LostAccess,
    /// Mostly forbidden, then mostly allowed.
    RegainedAccess,
}

impl TransitionKind {
    /// The phrase used on the page: `lost access` / `regained access`.
    pub fn phrase(self) -> &'static str {
        match self {
            TransitionKind::LostAccess => "lost access",
            TransitionKind::RegainedAccess => "regained access",
        }
    }
}

/// A change of a node's access state between two buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    /// Lost or regained.
    pub kind: TransitionKind,
    /// Start of the first bucket in the new state: the change happened at or after `at`, and
    /// before the end of that bucket.
    pub at: Micros,
    /// Start of the last bucket in the old state: the change happened after it began.
    pub last_before: Micros,
}

/// The access transitions of one node, in time order. A node whose first state is forbidden
/// has no transition for it (the log does not show it losing access); see
/// [`NodeTimeline::first_access`].
pub fn transitions(timeline: &NodeTimeline) -> Vec<Transition> {
    let mut out = Vec::new();
    let mut state: Option<(Micros, Access)> = None;
    for b in &timeline.buckets {
        let Some(now) = b.access() else { continue };
        if let Some((last, before)) = state {
            if before != now {
                let kind = match now {
                    Access::Forbidden => TransitionKind::LostAccess,
                    Access::Allowed => TransitionKind::RegainedAccess,
                };
                out.push(Transition {
                    kind,
                    at: b.start,
                    last_before: last,
                });
            }
        }
        state = Some((b.start, now));
    }
    out
}

/// The bucket grid of a span: its first bucket's start and the number of buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Start of the first bucket (a multiple of `width`).
    pub origin: Micros,
    /// Bucket width.
    pub width: Micros,
    /// Buckets; the last one holds the span's end.
    pub len: usize,
}

impl Grid {
    /// The grid of `[span_start, span_end]` (both included; swapped if reversed).
    pub fn for_span(span_start: Micros, span_end: Micros) -> Grid {
        let (start, end) = if span_end < span_start {
            (span_end, span_start)
        } else {
            (span_start, span_end)
        };
        let width = bucket_width_for(start, end);
        let origin = aligned(start, width);
        Grid {
            origin,
            width,
            len: buckets_needed(origin, end, width),
        }
    }

    /// The bucket holding `at`, if it is on the grid.
    pub fn index(&self, at: Micros) -> Option<usize> {
        // Asked for every request decided: in 64 bits where the offset fits, which it does
        // for any time an audit log can hold (a 128-bit division is a call of a few dozen
        // instructions); in 128 for the absurd spans of corrupt timestamps.
        let bucket = match at.checked_sub(self.origin) {
            Some(offset) if offset < 0 => return None,
            Some(offset) => i128::from(offset.checked_div(self.width)?),
            None => {
                let offset = i128::from(at) - i128::from(self.origin);
                if offset < 0 {
                    return None;
                }
                offset.checked_div(i128::from(self.width))?
            }
        };
        let i = usize::try_from(bucket).ok()?;
        (i < self.len).then_some(i)
    }

    /// Start of bucket `i`.
    pub fn start_of(&self, i: usize) -> Micros {
        let start = i128::from(self.origin) + i128::from(self.width) * i as i128;
        Micros::try_from(start).unwrap_or(Micros::MAX)
    }

    /// End of the last bucket.
    pub fn end(&self) -> Micros {
        self.start_of(self.len)
    }
}

/// The largest multiple of `width` not after `start`, or `start` itself when that multiple is
/// not representable (a timestamp near the year −292,000 in a corrupt log).
fn aligned(start: Micros, width: Micros) -> Micros {
    start.checked_sub(start.rem_euclid(width)).unwrap_or(start)
}

/// How many buckets of `width` from `origin` cover `end`; computed wide so absurd timestamps
/// in a log cannot overflow.
fn buckets_needed(origin: Micros, end: Micros, width: Micros) -> usize {
    let n = (i128::from(end) - i128::from(origin)) / i128::from(width) + 1;
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The bucket width for `[span_start, span_end]`: the first of [`NICE_WIDTHS`], then whole
/// days, that needs at most [`MAX_BUCKETS`] buckets on the aligned grid.
pub fn bucket_width_for(span_start: Micros, span_end: Micros) -> Micros {
    let (start, end) = (span_start.min(span_end), span_start.max(span_end));
    let fits = |w: Micros| buckets_needed(aligned(start, w), end, w) <= MAX_BUCKETS;
    if let Some(w) = NICE_WIDTHS.into_iter().find(|&w| fits(w)) {
        return w;
    }
    let span = i128::from(end) - i128::from(start);
    let per_bucket = span / (MAX_BUCKETS as i128 - 1) + 1;
    let mut days = (per_bucket / i128::from(DAY) + 1).min(i128::from(Micros::MAX / DAY));
    // One more day at most: the aligned origin can add one bucket.
    while days < i128::from(Micros::MAX / DAY) && !fits(days as Micros * DAY) {
        days += 1;
    }
    days as Micros * DAY
}

/// Counts requests into per-node buckets on a grid fixed up front. Requests may come in any
/// order; memory is one bucket row per node.
#[derive(Debug, Clone)]
pub struct TimelineBuilder {
    span: (Micros, Micros),
    grid: Grid,
    /// Looked up for every request on the merging thread (FxHash: SipHash was most of that).
    nodes: FxHashMap<String, Vec<[u64; 3]>>,
    outside_span: u64,
}

impl TimelineBuilder {
    /// A builder for requests in `[span_start, span_end]` (UTC microseconds, both included).
    pub fn new(span_start: Micros, span_end: Micros) -> TimelineBuilder {
        TimelineBuilder {
            span: (span_start.min(span_end), span_start.max(span_end)),
            grid: Grid::for_span(span_start, span_end),
            nodes: FxHashMap::default(),
            outside_span: 0,
        }
    }

    /// Counts one request. Returns false, and counts it in [`Self::outside_span`], when `at`
    /// is outside the span given to [`Self::new`].
    pub fn add(&mut self, node: &str, at: Micros, outcome: Outcome) -> bool {
        if at < self.span.0 || at > self.span.1 {
            self.outside_span += 1;
            return false;
        }
        let Some(i) = self.grid.index(at) else {
            self.outside_span += 1;
            return false;
        };
        let len = self.grid.len;
        // Look up by &str first so the node name is copied only once per node.
        let row = match self.nodes.get_mut(node) {
            Some(row) => row,
            None => self
                .nodes
                .entry(node.to_owned())
                .or_insert_with(|| vec![[0; 3]; len]),
        };
        if let Some(cell) = row.get_mut(i) {
            let k = match outcome {
                Outcome::Allowed => 0,
                Outcome::Forbidden => 1,
                Outcome::Other => 2,
            };
            cell[k] += 1;
        }
        true
    }

    /// Adds the counts of another builder made for the same span (one per worker thread).
    /// Returns false, changing nothing, when the spans differ.
    pub fn merge(&mut self, other: TimelineBuilder) -> bool {
        if other.span != self.span {
            return false;
        }
        self.outside_span += other.outside_span;
        for (node, row) in other.nodes {
            let mine = self
                .nodes
                .entry(node)
                .or_insert_with(|| vec![[0; 3]; row.len()]);
            for (m, o) in mine.iter_mut().zip(row) {
                for (mk, ok) in m.iter_mut().zip(o) {
                    *mk += ok;
                }
            }
        }
        true
    }

    /// The span given to [`Self::new`] (ordered).
    pub fn span(&self) -> (Micros, Micros) {
        self.span
    }

    /// The bucket grid.
    pub fn grid(&self) -> Grid {
        self.grid
    }

    /// Requests refused by [`Self::add`] because they fell outside the span.
    pub fn outside_span(&self) -> u64 {
        self.outside_span
    }

    /// The timelines, sorted by node name, each with every bucket of the grid.
    pub fn finish(self) -> Vec<NodeTimeline> {
        let grid = self.grid;
        let mut out: Vec<NodeTimeline> = self
            .nodes
            .into_iter()
            .map(|(node, row)| NodeTimeline {
                node,
                buckets: row
                    .into_iter()
                    .enumerate()
                    .map(|(i, [allowed, forbidden, other])| Bucket {
                        start: grid.start_of(i),
                        allowed,
                        forbidden,
                        other,
                    })
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| a.node.cmp(&b.node));
        out
    }
}
