//! When may "no path" be trusted? The rule, also in `docs/graph-completeness.md`:
//!
//! The graph is **complete for node N at time t** when both hold:
//! 1. *Every pod that could be bound to N at t is known*: an objects dump listing pods was
//!    given (every pod bound at dump time is in it, and the log covers changes around it), or
//!    the audit stream logged the creation of the Node object N at or before t (a node's pods
//!    are all bound after it registered, so with a continuous log every binding to N is in it).
//! 2. *No known pod is opaque at t*: no pod existing at t is known only from events without a
//!    body and without a dump copy (its node is unknown, so it could be on N), and no pod bound to
//!    N at t is known only from its binding (its references are unknown).
//!
//! A pod known from the log to be bound elsewhere never makes N incomplete. Otherwise a missing
//! path is reported as incomplete, with the first reason that applies.

use crate::record::Micros;
use std::collections::HashMap;

/// Disjoint, sorted time spans, each with the reason it was recorded for.
#[derive(Debug, Clone, Default)]
pub(crate) struct IntervalSet {
    spans: Vec<(Micros, Micros, String)>,
}

impl IntervalSet {
    /// Merges overlapping spans; a merged span keeps the reason of its earliest part.
    pub fn new(mut spans: Vec<(Micros, Micros, String)>) -> IntervalSet {
        spans.sort_by_key(|s| (s.0, s.1));
        let mut out: Vec<(Micros, Micros, String)> = Vec::with_capacity(spans.len());
        for s in spans {
            match out.last_mut() {
                Some(last) if s.0 < last.1 => last.1 = last.1.max(s.1),
                _ => out.push(s),
            }
        }
        IntervalSet { spans: out }
    }

    /// The reason of the span containing `t`, if any.
    pub fn covering(&self, t: Micros) -> Option<&str> {
        let i = self.spans.partition_point(|s| s.0 <= t);
        let s = self.spans.get(i.checked_sub(1)?)?;
        (t < s.1).then_some(s.2.as_str())
    }
}

/// What the completeness rule needs, gathered while building the graph.
#[derive(Debug, Clone, Default)]
pub(crate) struct Completeness {
    /// The objects dump listed pods.
    pub pod_snapshot: bool,
    /// The objects dump listed Nodes (a Node missing from it did not exist).
    pub node_snapshot: bool,
    /// The objects dump listed ResourceSlices.
    pub slice_snapshot: bool,
    /// Earliest logged creation of each Node object.
    pub node_created: HashMap<String, Micros>,
    /// Pods whose node is unknown (no body, no dump copy).
    pub unknown_anywhere: IntervalSet,
    /// Pods bound to a node whose references are unknown (only the binding was logged).
    pub unknown_on_node: HashMap<String, IntervalSet>,
}

impl Completeness {
    /// `None` when the graph is complete for `node` at `at`, else why not.
    pub fn check(&self, node: &str, at: Micros) -> Option<String> {
        let pods_known = self.pod_snapshot || self.node_created.get(node).is_some_and(|&c| c <= at);
        if !pods_known {
            return Some(no_pods_reason(node));
        }
        if let Some(why) = self.unknown_anywhere.covering(at) {
            return Some(why.to_string());
        }
        self.unknown_on_node
            .get(node)
            .and_then(|s| s.covering(at))
            .map(str::to_string)
    }
}

/// Why pods of `node` may be missing when neither a dump nor the node's registration is known.
/// (Appended rather than formatted, like `no_relationship_reason`, which goes with it.)
pub fn no_pods_reason(node: &str) -> String {
    [
        "no objects dump with pods, and the log shows no creation of Node ",
        node,
        " before this time",
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_set_merges_and_finds() {
        let s = IntervalSet::new(vec![
            (10, 20, "a".into()),
            (15, 30, "b".into()),
            (40, 50, "c".into()),
        ]);
        assert_eq!(s.covering(9), None);
        assert_eq!(s.covering(10), Some("a"));
        assert_eq!(s.covering(29), Some("a"));
        assert_eq!(s.covering(30), None);
        assert_eq!(s.covering(45), Some("c"));
        assert_eq!(s.covering(50), None);
    }
}
