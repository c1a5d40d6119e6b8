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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
#[derive(Debug)]
pub struct PhaseTracker {
    grid: Grid,
    candidates: Vec<String>,
    /// `cells[bucket][candidate]`.
    cells: Vec<Vec<Cell>>,
    /// Requests with no recorded outcome or an indeterminate model answer.
    not_compared: u64,
    demand: ExampleDemand,
}

/// Which cells of a [`PhaseTracker`] (a time bucket and a candidate) still want examples of
/// disagreements, shared with the threads that decide the requests, so that they keep a
/// disagreeing answer, and build its reason, only where the tracker may still show it: under
/// most candidates most requests disagree with the log, and each cell shows only its first
/// few. A cell is marked full once it has its examples, and never unmarked, so an answer left
/// out is one the tracker would not have kept, however late a deciding thread sees the mark:
/// the report does not depend on it.
#[derive(Debug, Clone)]
pub struct ExampleDemand {
    grid: Grid,
    candidates: usize,
    /// `full[bucket * candidates + candidate]`.
    full: Arc<[AtomicBool]>,
}

impl ExampleDemand {
    /// Which candidates' answers on a request received `at` may still be shown.
    pub fn at(&self, at: Option<Micros>) -> WantedExamples<'_> {
        let bucket = at.and_then(|t| self.grid.index(t)).and_then(|bucket| {
            let first = bucket * self.candidates;
            self.full.get(first..first + self.candidates)
        });
        WantedExamples(bucket.unwrap_or_default())
    }
}

/// The cells of one time bucket, by candidate (none when the request is on no bucket, and its
/// answers are not compared).
#[derive(Debug, Clone, Copy)]
pub struct WantedExamples<'a>(&'a [AtomicBool]);

impl WantedExamples<'_> {
    /// Whether an answer of `candidate` that disagrees with the log may still be shown.
    pub fn wants(&self, candidate: usize) -> bool {
        self.0
            .get(candidate)
            .is_some_and(|full| !full.load(Ordering::Relaxed))
    }
}

impl PhaseTracker {
    /// Candidates by label, over the window of the log.
    pub fn new(window: (Micros, Micros), candidates: Vec<String>) -> Self {
        let grid = Grid::for_span(window.0, window.1);
        let cells = vec![vec![Cell::default(); candidates.len()]; grid.len];
        let demand = ExampleDemand {
            grid,
            candidates: candidates.len(),
            full: (0..grid.len * candidates.len())
                .map(|_| AtomicBool::new(false))
                .collect(),
        };
        PhaseTracker {
            grid,
            candidates,
            cells,
            not_compared: 0,
            demand,
        }
    }

    /// The cells that still want examples, for the threads that decide the requests.
    pub fn demand(&self) -> ExampleDemand {
        self.demand.clone()
    }

    /// Records one request: its row and the model's answer under each candidate, in order,
    /// compared with what was recorded.
    pub fn observe(&mut self, row: &RequestVerdict, answers: &[Settled]) {
        let Some((i, bucket)) = row
            .timestamp
            .and_then(|t| self.grid.index(t))
            .and_then(|i| Some((i, self.cells.get_mut(i)?)))
        else {
            self.not_compared += 1;
            return;
        };
        let mut compared_any = false;
        for (candidate, (cell, answer)) in bucket.iter_mut().zip(answers).enumerate() {
            match answer {
                Settled::NotCompared => continue,
                Settled::Agreed => cell.agreed += 1,
                Settled::Disagreed(answer) => {
                    if cell.examples.len() < EXAMPLES_PER_BUCKET {
                        debug_assert!(answer.is_some(), "a disagreement wanted was not kept");
                        if let Some(answer) = answer {
                            cell.examples.push(disagreement(row, answer.answer()));
                        }
                        if cell.examples.len() == EXAMPLES_PER_BUCKET {
                            let full = &self.demand.full[i * self.demand.candidates + candidate];
                            full.store(true, Ordering::Relaxed);
                        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::summary::OwnedAnswer;
    use crate::verdict::{counted_row, RecordedOutcome, Verdict};

    fn row_at(at: Micros) -> RequestVerdict {
        let mut row = counted_row(
            "n1",
            Verdict::AllowedByNode,
            RecordedOutcome::from_log(Some("forbid"), Some("no path"), Some(403)),
        );
        row.timestamp = Some(at);
        row
    }

    fn disagreeing(reason: &str) -> Settled {
        Settled::Disagreed(Some(OwnedAnswer {
            verdict: Verdict::AllowedByNode,
            reason: reason.into(),
            by_admission: false,
        }))
    }

    /// A cell (bucket and candidate) stops wanting answers once it holds its examples, and
    /// only that cell; the report is the same whether later disagreements there carry their
    /// answers or not.
    #[test]
    fn a_cell_with_its_examples_wants_no_more_answers() {
        let end = 600_000_000;
        let late = end;
        let report = |unkept_after_full: bool| {
            let mut tracker = PhaseTracker::new((0, end), vec!["a".into(), "b".into()]);
            let demand = tracker.demand();
            let mut wanted_before = Vec::new();
            for i in 0..5 {
                wanted_before.push((demand.at(Some(0)).wants(0), demand.at(Some(0)).wants(1)));
                let answer = if unkept_after_full && i >= EXAMPLES_PER_BUCKET {
                    Settled::Disagreed(None)
                } else {
                    disagreeing(&format!("reason {i}"))
                };
                tracker.observe(&row_at(0), &[answer, disagreeing("b")]);
            }
            // Candidate b's cell fills as a's does.
            assert_eq!(
                wanted_before,
                [
                    (true, true),
                    (true, true),
                    (true, true),
                    (false, false),
                    (false, false)
                ]
            );
            assert!(demand.at(Some(late)).wants(0), "another bucket still wants");
            assert!(
                !demand.at(Some(end + 3_600_000_000)).wants(0),
                "off the grid"
            );
            assert!(!demand.at(None).wants(0));
            assert!(!demand.at(Some(0)).wants(2), "no such candidate");
            tracker.observe(&row_at(late), &[disagreeing("late"), disagreeing("b")]);
            tracker.finish()
        };
        let (phases, agreement) = report(false);
        assert_eq!(report(true), (phases.clone(), agreement.clone()));
        // Neither candidate agrees anywhere: the tie goes to the first, whose examples are
        // the first three of each bucket.
        assert_eq!(phases.len(), 1);
        assert_eq!(phases[0].configuration, "a");
        let agreement = agreement.unwrap_or_else(|| panic!("no agreement"));
        assert_eq!((agreement.compared, agreement.agreed), (6, 0));
        let reasons: Vec<&str> = agreement
            .disagreements
            .iter()
            .map(|d| d.model_reason.as_str())
            .collect();
        assert_eq!(reasons, ["reason 0", "reason 1", "reason 2", "late"]);
    }
}
