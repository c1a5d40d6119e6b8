//! Scenarios side by side (`--compare`): the same kubelet requests under several apiserver
//! configurations, one column per scenario, with what changes between adjacent columns.

use crate::export::summary::Totals;
use crate::verdict::{RequestVerdict, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The verdicts in column order.
pub const VERDICTS: [Verdict; 4] = [
    Verdict::AllowedByNode,
    Verdict::ReliesOnRbac,
    Verdict::Forbidden,
    Verdict::Indeterminate,
];

fn slot(v: Verdict) -> usize {
    VERDICTS.iter().position(|x| *x == v).unwrap_or(0)
}

/// One scenario's column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Column {
    /// The scenario as given to `--compare`.
    pub scenario: String,
    /// Counts over every request.
    pub totals: Totals,
    /// Counts per node (empty key: requests not from a node identity).
    pub per_node: BTreeMap<String, Totals>,
}

/// Requests whose verdict differs between two adjacent columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Shift {
    /// The left column.
    pub from_scenario: String,
    /// The right column.
    pub to_scenario: String,
    /// `(verdict in the left column, verdict in the right column, requests)`, largest first.
    pub changes: Vec<(String, String, u64)>,
}

/// The whole comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// One per scenario, in the order given.
    pub columns: Vec<Column>,
    /// One per pair of adjacent columns.
    pub shifts: Vec<Shift>,
}

/// Accumulates a [`Comparison`] from one verdict per scenario per request.
#[derive(Debug, Clone)]
pub struct CompareBuilder {
    columns: Vec<Column>,
    /// Per adjacent pair: counts indexed by (left slot, right slot).
    shifts: Vec<[[u64; 4]; 4]>,
}

impl CompareBuilder {
    /// One column per scenario label, in order.
    pub fn new(labels: &[String]) -> Self {
        CompareBuilder {
            columns: labels
                .iter()
                .map(|l| Column {
                    scenario: l.clone(),
                    ..Column::default()
                })
                .collect(),
            shifts: vec![[[0; 4]; 4]; labels.len().saturating_sub(1)],
        }
    }

    /// Records one request: its row under each scenario, in column order.
    pub fn add(&mut self, rows: &[RequestVerdict]) {
        for (col, row) in self.columns.iter_mut().zip(rows) {
            col.totals.add(row);
            match col.per_node.get_mut(row.node.as_str()) {
                Some(t) => t.add(row),
                None => {
                    let mut t = Totals::default();
                    t.add(row);
                    col.per_node.insert(row.node.to_string(), t);
                }
            }
        }
        for (i, pair) in rows.windows(2).enumerate() {
            if let Some(m) = self.shifts.get_mut(i) {
                m[slot(pair[0].verdict)][slot(pair[1].verdict)] += 1;
            }
        }
    }

    /// The finished comparison.
    pub fn finish(self) -> Comparison {
        let shifts = self
            .shifts
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut changes = Vec::new();
                for (a, row) in m.iter().enumerate() {
                    for (b, n) in row.iter().enumerate() {
                        if a != b && *n > 0 {
                            changes.push((
                                VERDICTS[a].as_str().to_string(),
                                VERDICTS[b].as_str().to_string(),
                                *n,
                            ));
                        }
                    }
                }
                changes.sort_by(|x, y| y.2.cmp(&x.2).then_with(|| x.cmp(y)));
                Shift {
                    from_scenario: self.columns[i].scenario.clone(),
                    to_scenario: self.columns[i + 1].scenario.clone(),
                    changes,
                }
            })
            .collect();
        Comparison {
            columns: self.columns,
            shifts,
        }
    }
}

/// Plain-text (or markdown) table: one column per scenario, totals then per node.
pub fn render(c: &Comparison, markdown: bool) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["".to_string()];
    header.extend(c.columns.iter().map(|col| col.scenario.clone()));
    for v in VERDICTS {
        let mut row = vec![v.as_str().to_string()];
        row.extend(
            c.columns
                .iter()
                .map(|col| col.totals.verdict(v).to_string()),
        );
        rows.push(row);
    }
    let nodes: std::collections::BTreeSet<&String> = c
        .columns
        .iter()
        .flat_map(|col| col.per_node.keys())
        .collect();
    for node in nodes {
        for v in VERDICTS {
            let counts: Vec<u64> = c
                .columns
                .iter()
                .map(|col| col.per_node.get(node).map(|n| n.verdict(v)).unwrap_or(0))
                .collect();
            if counts.iter().all(|n| *n == 0) {
                continue;
            }
            let mut row = vec![format!("  {} {}", node_label(node), v.as_str())];
            row.extend(counts.iter().map(u64::to_string));
            rows.push(row);
        }
    }
    let mut s = String::new();
    if markdown {
        let _ = writeln!(s, "| {} |", header.join(" | "));
        let _ = writeln!(s, "|{}", " --- |".repeat(header.len()));
        for r in &rows {
            let _ = writeln!(s, "| {} |", r.join(" | "));
        }
    } else {
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                rows.iter()
                    .chain(std::iter::once(&header))
                    .map(|r| r.get(i).map(|c| c.chars().count()).unwrap_or(0))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |r: &Vec<String>| {
            r.iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        format!("{c:<w$}", w = widths[i])
                    } else {
                        format!("{c:>w$}", w = widths[i])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
        };
        let _ = writeln!(s, "{}", line(&header));
        for r in &rows {
            let _ = writeln!(s, "{}", line(r));
        }
    }
    for shift in &c.shifts {
        let _ = writeln!(s, "\n{} → {}:", shift.from_scenario, shift.to_scenario);
        if shift.changes.is_empty() {
            let _ = writeln!(s, "  no request changes verdict");
        }
        for (from, to, n) in &shift.changes {
            let _ = writeln!(s, "  {n} requests {from} → {to}");
        }
    }
    s
}

fn node_label(node: &str) -> std::borrow::Cow<'_, str> {
    if node.is_empty() {
        "(not a node)".into()
    } else {
        // Node names come from logs: never let them drive the terminal.
        crate::export::report::one_line(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(node: &str, verdict: Verdict) -> RequestVerdict {
        let forbidden =
            crate::verdict::RecordedOutcome::from_log(Some("forbid"), Some(""), Some(403));
        crate::verdict::counted_row(node, verdict, forbidden)
    }

    #[test]
    fn counts_columns_and_shifts() {
        let mut b = CompareBuilder::new(&["RBAC".into(), "Node,RBAC".into()]);
        b.add(&[
            row("node1", Verdict::Forbidden),
            row("node1", Verdict::AllowedByNode),
        ]);
        b.add(&[
            row("node1", Verdict::Forbidden),
            row("node1", Verdict::AllowedByNode),
        ]);
        b.add(&[
            row("node2", Verdict::Forbidden),
            row("node2", Verdict::Forbidden),
        ]);
        let c = b.finish();
        assert_eq!(c.columns[0].totals.verdict(Verdict::Forbidden), 3);
        assert_eq!(c.columns[1].totals.verdict(Verdict::AllowedByNode), 2);
        assert_eq!(
            c.columns[1].per_node["node2"].verdict(Verdict::Forbidden),
            1
        );
        assert_eq!(
            c.shifts[0].changes,
            vec![("forbidden".to_string(), "allowed_by_node".to_string(), 2)]
        );
        let text = render(&c, false);
        assert!(
            text.contains("2 requests forbidden → allowed_by_node"),
            "{text}"
        );
    }
}
