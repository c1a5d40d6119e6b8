//! Human reports rendered from a [`Summary`]: an aligned plain-text table for the terminal and
//! markdown for `report.md`. Both show the same sections in the same order. No colours are
//! used, so piped output and terminals read the same.

use std::borrow::Cow;

use super::summary::{Summary, TopEntry, Totals};
use crate::findings::Severity;
use crate::verdict::{Change, Verdict};

/// Nodes listed in the per-node table; the rest are in `summary.json`.
const MAX_NODES_SHOWN: usize = 50;
/// Disagreements listed in the report; all are in `summary.json`.
const MAX_DISAGREEMENTS_SHOWN: usize = 20;

/// The output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Aligned plain text.
    Text,
    /// GitHub-flavoured markdown.
    Markdown,
}

/// A titled table.
struct Table {
    title: String,
    headers: Vec<&'static str>,
    /// Right-aligned (numeric) columns.
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
    note: Option<String>,
}

/// Text from the inputs made fit for one terminal line: newlines (joined authorizer reasons)
/// become ` / `, and any other control character, which only a log can put in a user or
/// object name, is shown escaped (`\u{1b}`) so that it cannot move the cursor or restyle the
/// terminal. Every cell of the text tables goes through it.
pub fn one_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str(" / "),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn render_text(t: &Table, out: &mut String) {
    out.push_str(&t.title);
    out.push('\n');
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|row| row.iter().map(|c| one_line(c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = t.headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut s = String::from(" ");
        for (i, cell) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            let pad = w.saturating_sub(cell.chars().count());
            s.push(' ');
            if t.numeric.get(i).copied().unwrap_or(false) {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(pad));
            }
            s.push(' ');
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    if t.rows.is_empty() {
        out.push_str("  (none)\n");
    } else {
        line(t.headers.clone(), out);
        for row in &rows {
            line(row.iter().map(String::as_str).collect(), out);
        }
    }
    if let Some(note) = &t.note {
        out.push_str("  ");
        out.push_str(note);
        out.push('\n');
    }
    out.push('\n');
}

/// A markdown table cell: HTML-escaped, `|` escaped, newlines as `<br>` and other control
/// characters escaped as in [`one_line`] (a bare `\r` would end the table row).
fn md_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\n' => out.push_str("<br>"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

fn render_markdown(t: &Table, out: &mut String) {
    out.push_str("## ");
    out.push_str(&t.title);
    out.push_str("\n\n");
    if !t.rows.is_empty() {
        out.push_str("| ");
        out.push_str(&t.headers.join(" | "));
        out.push_str(" |\n|");
        for n in &t.numeric {
            out.push_str(if *n { " ---: |" } else { " --- |" });
        }
        out.push('\n');
        for row in &t.rows {
            let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
            out.push_str("| ");
            out.push_str(&cells.join(" | "));
            out.push_str(" |\n");
        }
    } else {
        out.push_str("(none)\n");
    }
    if let Some(note) = &t.note {
        out.push('\n');
        out.push_str(note);
        out.push('\n');
    }
    out.push('\n');
}

fn totals_row(t: &Totals) -> Vec<String> {
    let mut row = vec![t.requests.to_string()];
    row.extend(Verdict::ALL.iter().map(|v| t.verdict(*v).to_string()));
    row.extend(
        [Change::WouldBreak, Change::FixedByTarget]
            .iter()
            .map(|c| t.change(*c).to_string()),
    );
    row
}

fn top_table(title: &str, entries: &[TopEntry]) -> Table {
    Table {
        title: title.to_owned(),
        headers: vec!["COUNT", "VERB", "API GROUP", "RESOURCE", "REASON"],
        numeric: vec![true, false, false, false, false],
        rows: entries
            .iter()
            .map(|e| {
                vec![
                    e.count.to_string(),
                    e.verb.clone(),
                    e.api_group.clone(),
                    e.resource.clone(),
                    one_line(&e.reason).into_owned(),
                ]
            })
            .collect(),
        note: None,
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "n/a".to_owned(), |r| format!("{:.2}%", r * 100.0))
}

fn tables(s: &Summary) -> Vec<Table> {
    let mut out = Vec::new();
    let mut totals_headers = vec!["REQUESTS"];
    totals_headers.extend(Verdict::ALL.iter().map(|v| v.as_str()));
    totals_headers.extend(["would_break", "fixed_by_target"]);
    out.push(Table {
        title: "Totals".to_owned(),
        numeric: vec![true; totals_headers.len()],
        headers: totals_headers.clone(),
        rows: vec![totals_row(&s.totals)],
        note: None,
    });

    // Nodes with problems first: they are what the reader looks for.
    let mut nodes: Vec<_> = s.per_node.iter().collect();
    nodes.sort_by(|a, b| {
        let bad = |t: &Totals| t.change(Change::WouldBreak) + t.verdict(Verdict::Forbidden);
        bad(&b.totals)
            .cmp(&bad(&a.totals))
            .then_with(|| a.node.cmp(&b.node))
    });
    let mut node_headers = vec!["NODE"];
    node_headers.extend(totals_headers);
    let mut numeric = vec![false];
    numeric.extend(vec![true; node_headers.len() - 1]);
    out.push(Table {
        title: "Per node".to_owned(),
        headers: node_headers,
        numeric,
        rows: nodes
            .iter()
            .take(MAX_NODES_SHOWN)
            .map(|n| {
                let mut row = vec![if n.node.is_empty() {
                    "(not a node)".to_owned()
                } else {
                    n.node.clone()
                }];
                row.extend(totals_row(&n.totals));
                row
            })
            .collect(),
        note: (nodes.len() > MAX_NODES_SHOWN).then(|| {
            format!(
                "{} more nodes in summary.json",
                nodes.len() - MAX_NODES_SHOWN
            )
        }),
    });

    out.push(top_table(
        "Top would_break (verb, resource, reason)",
        &s.top_would_break,
    ));
    out.push(top_table(
        "Top forbidden (verb, resource, reason)",
        &s.top_forbidden,
    ));

    out.push(Table {
        title: "Bindings relied on".to_owned(),
        headers: vec!["REQUESTS", "BINDING", "ROLE"],
        numeric: vec![true, false, false],
        rows: s
            .bindings_relied_on
            .iter()
            .map(|b| {
                vec![
                    b.requests.to_string(),
                    b.binding.to_string(),
                    b.role.clone(),
                ]
            })
            .collect(),
        note: None,
    });

    let counts: Vec<String> = Severity::ALL
        .iter()
        .map(|sev| {
            format!(
                "{} {}",
                s.findings
                    .by_severity
                    .get(sev.as_str())
                    .copied()
                    .unwrap_or(0),
                sev.as_str()
            )
        })
        .collect();
    out.push(Table {
        title: format!("Findings ({}: {})", s.findings.total, counts.join(", ")),
        headers: vec!["SEVERITY", "KIND", "SUBJECT", "BINDING", "REQUESTS"],
        numeric: vec![false, false, false, false, true],
        rows: s
            .findings
            .items
            .iter()
            .map(|f| {
                vec![
                    f.severity.clone(),
                    f.kind.clone(),
                    f.subject.clone(),
                    f.binding.clone().unwrap_or_default(),
                    f.requests_using.to_string(),
                ]
            })
            .collect(),
        note: None,
    });

    if !s.recorded_phases.is_empty() {
        out.push(Table {
            title: "Recorded configuration, inferred phase by phase".to_string(),
            headers: vec!["FROM", "TO", "CONFIGURATION", "AGREED", "COMPARED"],
            numeric: vec![false, false, false, true, true],
            rows: s
                .recorded_phases
                .iter()
                .map(|p| {
                    vec![
                        p.from.clone(),
                        p.to.clone(),
                        p.configuration.clone(),
                        p.agreed.to_string(),
                        p.compared.to_string(),
                    ]
                })
                .collect(),
            note: None,
        });
    }

    if let Some(a) = &s.agreement {
        let how = if a.inferred { "inferred" } else { "given" };
        out.push(Table {
            title: format!(
                "Agreement with the recorded configuration ({}, {how}): {} of {} compared agree ({}), {} not compared",
                a.configuration,
                a.agreed,
                a.compared,
                percent(a.rate),
                a.not_compared
            ),
            headers: vec!["FILE:LINE", "VERB", "RESOURCE", "RECORDED", "MODEL", "RECORDED REASON", "MODEL REASON"],
            numeric: vec![false; 7],
            rows: a
                .disagreements
                .iter()
                .take(MAX_DISAGREEMENTS_SHOWN)
                .map(|d| {
                    vec![
                        format!("{}:{}", d.source_file, d.source_line),
                        d.verb.clone(),
                        d.resource.clone(),
                        d.recorded.clone(),
                        d.model.clone(),
                        one_line(d.recorded_reason.as_deref().unwrap_or("")).into_owned(),
                        one_line(&d.model_reason).into_owned(),
                    ]
                })
                .collect(),
            note: (a.disagreements_total > MAX_DISAGREEMENTS_SHOWN as u64).then(|| {
                format!(
                    "{} disagreements in total; up to {} in summary.json",
                    a.disagreements_total,
                    super::summary::MAX_DISAGREEMENTS
                )
            }),
        });
    }
    out
}

/// Renders the report.
pub fn render(s: &Summary, style: Style) -> String {
    let mut out = String::new();
    match style {
        Style::Text => {
            out.push_str(&format!("nodeauthz report (target: {})\n\n", s.target));
        }
        Style::Markdown => {
            out.push_str(&format!("# nodeauthz report\n\nTarget: `{}`\n\n", s.target));
        }
    }
    for t in tables(s) {
        match style {
            Style::Text => render_text(&t, &mut out),
            Style::Markdown => render_markdown(&t, &mut out),
        }
    }
    match style {
        Style::Text => out.push_str(&format!("Readiness: {}\n", s.readiness.line)),
        Style::Markdown => out.push_str(&format!(
            "## Readiness\n\n**{}**\n",
            md_cell(&s.readiness.line)
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(cell: &str) -> Table {
        Table {
            title: "T".to_owned(),
            headers: vec!["USER", "N"],
            numeric: vec![false, true],
            rows: vec![vec![cell.to_owned(), "1".to_owned()]],
            note: None,
        }
    }

    #[test]
    fn text_cells_cannot_carry_terminal_escapes() {
        let mut out = String::new();
        render_text(&table("system:node:\u{1b}[2Jn1\r\nx"), &mut out);
        assert_eq!(
            out,
            "T\n  USER                           N\n  system:node:\\u{1b}[2Jn1\\r / x  1\n\n"
        );
    }

    #[test]
    fn markdown_cells_stay_in_their_row() {
        assert_eq!(md_cell("a|b\r\n<c>\u{7}"), "a\\|b\\r<br>&lt;c&gt;\\u{7}");
    }
}
