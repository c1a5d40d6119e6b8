//! Which configuration was the log recorded under, and when did it change?
//!
//! Post-incident logs often span a change of apiserver configuration (RBAC only, then the legacy
//! binding added, then `Node,RBAC`). Inferring one configuration for the whole log would turn
//! every request after the change into a "disagreement". Instead, each candidate configuration
//! is replayed on every request, and per time bucket the candidate that reproduces the most
//! recorded outcomes (same decision, same reason) wins; consecutive buckets won by the same
//! candidate form a phase. Ties keep the previous phase's candidate, so a bucket that cannot
//! tell the candidates apart never starts a phase of its own.

use crate::export::html::timeline::Grid;
use crate::export::summary::{disagreement, Agreement, Disagreement, Settled};
use crate::record::Micros;
use crate::verdict::RequestVerdict;
use serde::Serialize;

/// Disagreement examples kept per bucket and candidate (memory stays bounded by
/// buckets × candidates × this).
const EXAMPLES_PER_BUCKET: usize = 3;
/// Disagreement examples reported in the end.
const MAX_EXAMPLES: usize = 100;

/// A stretch of time recorded under one (inferred) configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// First instant (start of its first bucket).
    pub from: String,
    /// End of its last bucket.
    pub to: String,
    /// The candidate configuration that best reproduces what was recorded.
    pub configuration: String,
    /// Requests compared in it.
    pub compared: u64,
    /// Of those, how many the configuration reproduces.
    pub agreed: u64,
}

#[derive(Debug, Clone, Default)]
struct Cell {
    compared: u64,
    agreed: u64,
    examples: Vec<Disagreement>,
}

/// Accumulates per-bucket agreement of every candidate configuration.
#[derive(Debug, Clone)]
pub struct PhaseTracker {
    grid: Grid,
    candidates: Vec<String>,
    /// `cells[bucket][candidate]`.
    cells: Vec<Vec<Cell>>,
    /// Requests with no recorded outcome or an indeterminate model answer.
    not_compared: u64,
}

impl PhaseTracker {
    /// Candidates by label, over the window of the log.
    pub fn new(window: (Micros, Micros), candidates: Vec<String>) -> Self {
        let grid = Grid::for_span(window.0, window.1);
        let cells = vec![vec![Cell::default(); candidates.len()]; grid.len];
        PhaseTracker {
            grid,
            candidates,
            cells,
            not_compared: 0,
        }
    }

    /// Records one request: its row and the model's answer under each candidate, in order,
    /// compared with what was recorded.
    pub fn observe(&mut self, row: &RequestVerdict, answers: &[Settled]) {
        let Some(bucket) = row
            .timestamp
            .and_then(|t| self.grid.index(t))
            .and_then(|i| self.cells.get_mut(i))
        else {
            self.not_compared += 1;
            return;
        };
        let mut compared_any = false;
        for (cell, answer) in bucket.iter_mut().zip(answers) {
            match answer {
                Settled::NotCompared => continue,
                Settled::Agreed => cell.agreed += 1,
                Settled::Disagreed(answer) => {
                    if cell.examples.len() < EXAMPLES_PER_BUCKET {
                        cell.examples.push(disagreement(row, answer.answer()));
                    }
                }
            }
            compared_any = true;
            cell.compared += 1;
        }
        if !compared_any {
            self.not_compared += 1;
        }
    }

    /// The phases and the agreement of the model under the inferred configuration of each.
    pub fn finish(self) -> (Vec<Phase>, Option<Agreement>) {
        let mut phases: Vec<(usize, usize, usize, u64, u64)> = Vec::new(); // (first, last, cand, compared, agreed)
        let mut examples = Vec::new();
        let mut disagreements_total = 0;
        for (i, cells) in self.cells.iter().enumerate() {
            let compared = cells.iter().map(|c| c.compared).max().unwrap_or(0);
            if compared == 0 {
                if let Some(last) = phases.last_mut() {
                    last.1 = i;
                }
                continue;
            }
            let best = cells.iter().map(|c| c.agreed).max().unwrap_or(0);
            let previous = phases.last().map(|p| p.2);
            let chosen = previous
                .filter(|&p| cells.get(p).is_some_and(|c| c.agreed == best))
                .or_else(|| cells.iter().position(|c| c.agreed == best))
                .unwrap_or(0);
            let cell = &cells[chosen];
            disagreements_total += cell.compared - cell.agreed;
            examples.extend(cell.examples.iter().cloned());
            match phases.last_mut() {
                Some(last) if last.2 == chosen => {
                    last.1 = i;
                    last.3 += cell.compared;
                    last.4 += cell.agreed;
                }
                _ => phases.push((i, i, chosen, cell.compared, cell.agreed)),
            }
        }
        let format = crate::input::time::format_micros;
        let out: Vec<Phase> = phases
            .iter()
            .map(|&(first, last, cand, compared, agreed)| Phase {
                from: format(self.grid.start_of(first)),
                to: format(self.grid.start_of(last + 1)),
                configuration: self.candidates[cand].clone(),
                compared,
                agreed,
            })
            .collect();
        if out.is_empty() {
            return (out, None);
        }
        let compared: u64 = out.iter().map(|p| p.compared).sum();
        let agreed: u64 = out.iter().map(|p| p.agreed).sum();
        examples.truncate(MAX_EXAMPLES);
        let configuration = out
            .iter()
            .map(|p| format!("{} from {}", p.configuration, p.from))
            .collect::<Vec<_>>()
            .join(", then ");
        let agreement = Agreement {
            configuration,
            inferred: true,
            compared,
            agreed,
            rate: (compared > 0).then(|| agreed as f64 / compared as f64),
            not_compared: self.not_compared,
            disagreements_total,
            disagreements: examples,
        };
        (out, Some(agreement))
    }
}
