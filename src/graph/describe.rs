//! A printable listing of the graph for `nodeauthz graph`: the edges valid at a time (or all of
//! them with their intervals), optionally only those on a path to one node.

use super::intern::VertexId;
use super::{Graph, NO_DEST};
use crate::record::Micros;
use std::fmt::Write;

/// An interval end as RFC 3339 UTC with microseconds; the unbounded ends of the graph's
/// intervals (`Micros::MIN`, `Micros::MAX`) print as `-inf` and `+inf`.
pub fn format_interval_end(t: Micros) -> String {
    match t {
        Micros::MIN => return "-inf".into(),
        Micros::MAX => return "+inf".into(),
        _ => {}
    }
    crate::input::time::format_micros(t)
}

impl Graph {
    /// Lists the edges valid at `at` (all edges, with every interval, when `at` is `None`),
    /// restricted to those on a path to `node` when given, one edge per line, sorted; then the
    /// completeness verdict for that node and time.
    pub fn describe(&self, node: Option<&str>, at: Option<Micros>) -> String {
        let valid = |e: &super::Edge| at.is_none_or(|t| self.edge_valid(e, t));
        let n = self.vertex_count();
        let target = node.map(|name| self.interner.find(super::VertexKind::Node, "", name));
        let keep: Option<Vec<bool>> = match target {
            None => None,
            Some(None) => Some(vec![false; n]),
            Some(Some(t)) => Some(self.reaching(t, at)),
        };
        let mut lines = Vec::new();
        for from in 0..n as VertexId {
            for e in self.edges_of(from) {
                let on_path = keep.as_ref().is_none_or(|k| {
                    k.get(from as usize).copied().unwrap_or(false)
                        && k.get(e.to as usize).copied().unwrap_or(false)
                        && target
                            .flatten()
                            .is_some_and(|t| e.dest == t || e.dest == NO_DEST)
                });
                if !on_path || !valid(e) {
                    continue;
                }
                let start = e.iv_start as usize;
                let ivs = self
                    .intervals
                    .get(start..start + e.iv_len as usize)
                    .unwrap_or(&[]);
                let mut line = format!(
                    "{} -> {}",
                    self.interner.render(from),
                    self.interner.render(e.to)
                );
                for iv in ivs.iter().filter(|iv| at.is_none_or(|t| iv.contains(t))) {
                    let _ = write!(
                        line,
                        "  [{}, {}) {}",
                        format_interval_end(iv.from),
                        format_interval_end(iv.to),
                        self.source_text(iv.source)
                    );
                }
                lines.push(line);
            }
        }
        lines.sort();
        let mut out = String::new();
        let when = at.map_or_else(|| "any time".to_string(), format_interval_end);
        let _ = writeln!(
            out,
            "# {} edges{} at {when} ({} vertices, {} edges in the whole graph)",
            lines.len(),
            node.map_or_else(String::new, |n| format!(" reaching node {n}")),
            self.vertex_count(),
            self.edge_count()
        );
        for l in &lines {
            // Object names come from the inputs; keep them from steering the terminal.
            let _ = writeln!(out, "{}", crate::export::report::one_line(l));
        }
        if let (Some(node), Some(t)) = (node, at) {
            match self.completeness(node, t) {
                None => {
                    let _ = writeln!(
                        out,
                        "# complete for node {node} at {}",
                        format_interval_end(t)
                    );
                }
                Some(why) => {
                    let _ = writeln!(out, "# incomplete for node {node}: {why}");
                }
            }
        }
        out
    }

    /// Vertices with a path to `target` (valid at `at`, or at some time when `None`), found by
    /// walking edges backwards; not a hot path, so the reverse lists are built on the spot.
    fn reaching(&self, target: VertexId, at: Option<Micros>) -> Vec<bool> {
        let n = self.vertex_count();
        let mut incoming: Vec<Vec<VertexId>> = vec![Vec::new(); n];
        for from in 0..n as VertexId {
            for e in self.edges_of(from) {
                let towards = e.dest == target || e.dest == NO_DEST;
                if towards && at.is_none_or(|t| self.edge_valid(e, t)) {
                    if let Some(list) = incoming.get_mut(e.to as usize) {
                        list.push(from);
                    }
                }
            }
        }
        let mut seen = vec![false; n];
        let mut stack = vec![target];
        if let Some(s) = seen.get_mut(target as usize) {
            *s = true;
        }
        while let Some(v) = stack.pop() {
            for &u in incoming.get(v as usize).map_or(&[][..], |l| l.as_slice()) {
                if let Some(s) = seen.get_mut(u as usize) {
                    if !*s {
                        *s = true;
                        stack.push(u);
                    }
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::format_interval_end;
    use crate::record::Micros;

    #[test]
    fn formats_rfc3339_micros() {
        assert_eq!(format_interval_end(0), "1970-01-01T00:00:00.000000Z");
        // 2024-02-29T12:34:56.789012Z
        assert_eq!(
            format_interval_end(1_709_210_096_789_012),
            "2024-02-29T12:34:56.789012Z"
        );
        assert_eq!(format_interval_end(Micros::MIN), "-inf");
        assert_eq!(format_interval_end(Micros::MAX), "+inf");
    }
}
