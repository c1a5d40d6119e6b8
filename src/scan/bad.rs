//! Bad input: kinds, the per-kind counts and the first few examples of each kind.

use std::collections::BTreeMap;

use serde::Serialize;

/// How many examples of each kind the report keeps.
pub const EXAMPLES_PER_KIND: usize = 10;

/// What was wrong with a line or an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BadKind {
    /// Not valid JSON (and not a legacy audit line).
    MalformedJson,
    /// Valid JSON without the shape of an audit event (`{"kind": 0}`, a GKE record, an AKS
    /// record of another category).
    NotAuditEvent,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// A line longer than the limit (64 MiB by default); skipped without being parsed.
    LineTooLong,
    /// The last line has no newline and does not parse: the file was cut while written.
    TruncatedLastLine,
    /// A file with no bytes.
    EmptyFile,
    /// A gzip stream that ends early.
    TruncatedGzip,
    /// A gzip stream with bad data.
    CorruptGzip,
    /// A zstd stream that ends early.
    TruncatedZstd,
    /// A zstd stream with bad data.
    CorruptZstd,
    /// An item of an `EventList`, or a record of an Azure Monitor batch, that holds no audit
    /// event; counted by items, as its line is read.
    BadBatchItem,
    /// A file or directory that cannot be opened or read.
    Unreadable,
    /// A directory in which no log file was found.
    NoLogsInDirectory,
    /// A kubelet line left in its mapped file until its request was settled (see
    /// [`crate::scan::chunk::KubeletEvent::Line`]) that the file no longer held when it was
    /// read again: the file was changed or cut while the run read it.
    ChangedWhileRead,
}

impl BadKind {
    /// The name used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            BadKind::MalformedJson => "malformed_json",
            BadKind::NotAuditEvent => "not_audit_event",
            BadKind::InvalidUtf8 => "invalid_utf8",
            BadKind::LineTooLong => "line_too_long",
            BadKind::TruncatedLastLine => "truncated_last_line",
            BadKind::EmptyFile => "empty_file",
            BadKind::TruncatedGzip => "truncated_gzip",
            BadKind::CorruptGzip => "corrupt_gzip",
            BadKind::TruncatedZstd => "truncated_zstd",
            BadKind::CorruptZstd => "corrupt_zstd",
            BadKind::BadBatchItem => "bad_batch_item",
            BadKind::Unreadable => "unreadable",
            BadKind::NoLogsInDirectory => "no_logs_in_directory",
            BadKind::ChangedWhileRead => "changed_while_read",
        }
    }

    /// Line-level kinds count as bad lines (lines read = used + skipped + bad); the others
    /// concern a whole input and count no line.
    pub fn is_line(self) -> bool {
        matches!(
            self,
            BadKind::MalformedJson
                | BadKind::NotAuditEvent
                | BadKind::InvalidUtf8
                | BadKind::LineTooLong
                | BadKind::TruncatedLastLine
                | BadKind::ChangedWhileRead
        )
    }
}

impl std::fmt::Display for BadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reported bad line or input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadLine {
    /// What was wrong.
    pub kind: BadKind,
    /// The input as shown to the user.
    pub file: String,
    /// 1-based line; 0 when the problem concerns the whole input.
    pub line: u64,
    /// One line saying what is wrong.
    pub reason: String,
}

/// Counts by kind (lines for line-level kinds, inputs otherwise) and the first
/// [`EXAMPLES_PER_KIND`] examples of each kind, in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BadReport {
    /// Count by kind.
    pub counts: BTreeMap<BadKind, u64>,
    /// The first ten of each kind.
    pub examples: Vec<BadLine>,
    /// Examples kept by kind: an entry may count no line (text after a pretty-printed
    /// document, on its last line), so the line counts alone would not cap them.
    #[serde(skip)]
    kept: BTreeMap<BadKind, usize>,
}

impl BadReport {
    /// Records `n` occurrences, keeping `example` if fewer than ten of its kind are kept.
    pub fn add(&mut self, example: BadLine, n: u64) {
        let count = self.counts.entry(example.kind).or_default();
        let kept = self.kept.entry(example.kind).or_default();
        if *count < EXAMPLES_PER_KIND as u64 && *kept < EXAMPLES_PER_KIND {
            *kept += 1;
            self.examples.push(example);
        }
        *count += n;
    }

    /// Records one bad line found after the lines that follow it were reported (a line taken
    /// unparsed, read only when nothing replaced it): kept where input order puts it, before
    /// the first kept line that `follows` it, as [`add`](Self::add) would have kept it in its
    /// turn. Ten kept of its kind already, it displaces the last of them if it comes before
    /// it. (Reports of a whole input, line 0, are not placed by input order.)
    pub fn add_late(&mut self, example: BadLine, follows: impl Fn(&BadLine) -> bool) {
        let kind = example.kind;
        let at = self
            .examples
            .iter()
            .position(|e| e.line > 0 && follows(e))
            .unwrap_or(self.examples.len());
        *self.counts.entry(kind).or_default() += 1;
        let kept = self.kept.entry(kind).or_default();
        if *kept < EXAMPLES_PER_KIND {
            *kept += 1;
        } else {
            match self.examples.iter().rposition(|e| e.kind == kind) {
                Some(last) if last >= at => {
                    self.examples.remove(last);
                }
                _ => return,
            }
        }
        self.examples.insert(at, example);
    }

    /// Total bad lines (line-level kinds only).
    pub fn lines(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(k, _)| k.is_line())
            .map(|(_, n)| n)
            .sum()
    }

    /// Total of every kind.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(kind: BadKind, line: u64) -> BadLine {
        BadLine {
            kind,
            file: "f".into(),
            line,
            reason: "r".into(),
        }
    }

    #[test]
    fn a_late_line_is_kept_in_input_order() {
        let follows = |line| move |e: &BadLine| e.line > line;
        let mut r = BadReport::default();
        r.add(bad(BadKind::MalformedJson, 2), 1);
        r.add(bad(BadKind::NotAuditEvent, 5), 1);
        r.add(bad(BadKind::MalformedJson, 8), 1);
        r.add_late(bad(BadKind::MalformedJson, 4), follows(4));
        let order = |r: &BadReport| r.examples.iter().map(|e| e.line).collect::<Vec<_>>();
        assert_eq!(order(&r), [2, 4, 5, 8]);
        r.add_late(bad(BadKind::MalformedJson, 9), follows(9));
        assert_eq!(order(&r), [2, 4, 5, 8, 9]);
        assert_eq!(r.counts[&BadKind::MalformedJson], 4);
        // Ten kept: an earlier line displaces the last of its kind, a later one is only
        // counted.
        for line in 10..16 {
            r.add(bad(BadKind::MalformedJson, line), 1);
        }
        r.add_late(bad(BadKind::MalformedJson, 3), follows(3));
        assert_eq!(order(&r), [2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14]);
        r.add_late(bad(BadKind::MalformedJson, 20), follows(20));
        assert_eq!(order(&r), [2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14]);
        assert_eq!(r.counts[&BadKind::MalformedJson], 12);
        assert_eq!(r.lines(), 13);
    }

    #[test]
    fn ten_examples_of_each_kind_even_of_entries_counting_no_line() {
        let mut r = BadReport::default();
        // Text after each of 30 documents on its last line: an entry, but no line of its own.
        for line in 1..=30 {
            r.add(bad(BadKind::MalformedJson, line), 0);
        }
        // Entries of several lines count against the ten by their lines, as before.
        for line in 1..=5 {
            r.add(bad(BadKind::NotAuditEvent, line), 4);
        }
        let kept = |k| r.examples.iter().filter(|e| e.kind == k).count();
        assert_eq!(kept(BadKind::MalformedJson), EXAMPLES_PER_KIND);
        assert_eq!(kept(BadKind::NotAuditEvent), 3);
        assert_eq!(r.counts[&BadKind::MalformedJson], 0);
        assert_eq!(r.counts[&BadKind::NotAuditEvent], 20);
        assert_eq!(r.lines(), 20);
    }
}
