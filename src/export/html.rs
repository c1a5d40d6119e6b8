//! `report.html`: one self-contained page — a timeline per node of recorded allowed and
//! forbidden kubelet requests, the verdict breakdown per scenario, and the findings.
//!
//! The page loads nothing: the style is inline, the charts are inline SVG, there is no script
//! and no font or image from anywhere. It must open from a mail attachment on a machine with no
//! network, and print.
//!
//! Every number on the page sits in an element with a `data-metric` attribute, its value as
//! the element's text, or for chart bars in a `data-value` attribute. A test (or a person with
//! the browser's inspector) can compare the page with `summary.json` without scraping prose.
//! The names:
//!
//! | `data-metric` | value | in `summary.json` |
//! |---|---|---|
//! | `total.requests` | requests | `totals.requests` |
//! | `total.verdict.<verdict>` | by target verdict | `totals.by_verdict.<verdict>` |
//! | `total.change.<change>` | by change | `totals.by_change.<change>` |
//! | `total.recorded.<recorded>` | by recorded outcome | `totals.by_recorded.<recorded>` |
//! | `total.nodes` | timelines given | `per_node` length (when every node is given) |
//! | `total.findings` | findings rows | `findings.total` |
//! | `total.outside_span` | requests not drawn | — |
//! | `total.nodes_not_drawn` | timelines beyond [`MAX_DRAWN_NODES`] | — |
//! | `node.<node>.requests` / `.allowed` / `.forbidden` / `.other` | sums of its buckets | `per_node[node].requests`, `by_recorded.allowed` / `forbidden` / `no_response` |
//! | `node.<node>.transitions` | transitions | — |
//! | (`<node>` is empty for kubelet requests without a node identity) | | |
//! | `bucket.<node>.<i>.allowed` / `.forbidden` / `.other` | bucket `i` of the grid (`data-value`, non-zero only) | — |
//! | `scenario.<name>.requests` / `.<verdict>` / `.<change>` | the scenario's column | `totals.*` of that scenario's run |
//! | `finding.<id>.requests_using` | the finding's count | `findings.items[id].requests_using` |

pub mod timeline;

use crate::export::summary::Totals;
use crate::export::{write_atomic, ExportError};
use crate::findings::Finding;
use crate::input::time::civil_from_days;
use crate::record::Micros;
use crate::verdict::{Change, Recorded, Verdict};
use std::borrow::Cow;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use timeline::{Grid, NodeTimeline};

/// Timelines drawn at most; a page with thousands of charts is neither readable nor small.
/// The totals still count every node; [`timeline::troubled_first`] orders the nodes so that
/// the ones worth seeing are drawn.
pub const MAX_DRAWN_NODES: usize = 200;

/// The file name under `--out DIR`.
pub const FILE_NAME: &str = "report.html";

/// Everything the page shows, filled from the analysis; timelines come from a
/// [`timeline::TimelineBuilder`] built for the same `span`.
///
/// ```
/// use nodeauthz::export::html::timeline::{Outcome, TimelineBuilder};
/// use nodeauthz::export::html::{render_html, HtmlReport, ScenarioColumn};
/// use nodeauthz::export::summary::Totals;
///
/// let (first, last) = (1_637_658_000_000_000, 1_637_659_800_000_000);
/// let mut timeline = TimelineBuilder::new(first, last);
/// timeline.add("node1", first + 800_000, Outcome::Forbidden);
/// timeline.add("node1", first + 602_112_733, Outcome::Allowed);
/// let totals = Totals::default(); // the target's totals, as in summary.json
/// let report = HtmlReport {
///     title: "nodeauthz analyze".into(),
///     generated_from: vec!["audit.log".into()],
///     span: timeline.span(),
///     outside_span: timeline.outside_span(),
///     nodes: timeline.finish(),
///     scenarios: vec![ScenarioColumn::from_totals("Node,RBAC", "target", true, &totals)],
///     findings: vec![], // FindingRow::from(&finding) for each finding
///     totals,
/// };
/// assert!(render_html(&report).contains("Regained access at 2021-11-23 09:10:00 UTC"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HtmlReport {
    /// Page title, e.g. `nodeauthz analyze: 3 nodes, 2021-11-23`.
    pub title: String,
    /// Input files, as given on the command line.
    pub generated_from: Vec<String>,
    /// First and last request time, UTC microseconds; decides the bucket grid.
    pub span: (Micros, Micros),
    /// One timeline per node, drawn in this order.
    pub nodes: Vec<NodeTimeline>,
    /// Requests outside `span` that no timeline holds ([`timeline::TimelineBuilder::outside_span`]).
    pub outside_span: u64,
    /// One column per scenario, in this order.
    pub scenarios: Vec<ScenarioColumn>,
    /// Findings, in report order.
    pub findings: Vec<FindingRow>,
    /// Totals under the target scenario (as in `summary.json`).
    pub totals: Totals,
}

/// One scenario's verdict counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioColumn {
    /// Short name, the column header, e.g. `Node,RBAC`.
    pub name: String,
    /// One line under the name, e.g. `--authorization-mode=Node,RBAC, NodeRestriction`.
    pub description: String,
    /// True for the target scenario (the one `change` is computed against).
    pub target: bool,
    /// Requests.
    pub requests: u64,
    /// Counts in the order of [`Verdict::ALL`].
    pub verdicts: [u64; 4],
    /// Counts in the order of [`Change::ALL`].
    pub changes: [u64; 3],
}

impl ScenarioColumn {
    /// The column of a scenario whose run produced `totals`.
    pub fn from_totals(name: &str, description: &str, target: bool, totals: &Totals) -> Self {
        ScenarioColumn {
            name: name.to_owned(),
            description: description.to_owned(),
            target,
            requests: totals.requests,
            verdicts: Verdict::ALL.map(|v| totals.verdict(v)),
            changes: Change::ALL.map(|c| totals.change(c)),
        }
    }
}

/// One row of the findings table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRow {
    /// Stable id (unique within a run).
    pub id: String,
    /// `high`, `medium`, `low`.
    pub severity: String,
    /// Kind name, e.g. `legacy_system_node_binding`.
    pub kind: String,
    /// Subject(s) concerned.
    pub subject: String,
    /// Binding, for RBAC findings.
    pub binding: Option<String>,
    /// Role, for RBAC findings.
    pub role: Option<String>,
    /// One sentence.
    pub detail: String,
    /// Over-broad rules (RBAC) or what was observed (identity findings).
    pub evidence: Vec<String>,
    /// Requests that used it.
    pub requests_using: u64,
}

impl From<&Finding> for FindingRow {
    fn from(f: &Finding) -> Self {
        FindingRow {
            id: f.id.clone(),
            severity: f.severity.as_str().to_owned(),
            kind: f.kind.as_str().to_owned(),
            subject: f.subject.clone(),
            binding: f.binding.as_ref().map(|b| b.describe()),
            role: f.role.clone(),
            detail: f.detail.clone(),
            evidence: f.rules.iter().chain(&f.observed).cloned().collect(),
            requests_using: f.requests_using,
        }
    }
}

/// Renders `report` and writes it to `dir/report.html` atomically; returns the path.
pub fn write_report(dir: &Path, report: &HtmlReport) -> Result<PathBuf, ExportError> {
    let path = dir.join(FILE_NAME);
    write_atomic(&path, render_html(report).as_bytes())?;
    Ok(path)
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `2021-11-23 09:10:00 UTC` (whole seconds; bucket starts are whole seconds).
pub fn format_utc(t: Micros) -> String {
    format!("{} UTC", format_seconds(t))
}

/// `2021-11-23 09:10:00`.
fn format_seconds(t: Micros) -> String {
    let (y, m, d) = civil_from_days(t.div_euclid(86_400_000_000));
    let s = t.rem_euclid(86_400_000_000) / 1_000_000;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `10 s`, `5 min`, `1 h`, `2 d`.
fn format_width(w: Micros) -> String {
    let s = w / 1_000_000;
    match s {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Writes to a `String`, which cannot fail.
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {
        let _ = write!($out, $($arg)*);
    };
}

mod chart;

/// `<tag class="…" data-metric="…">value</tag>`.
fn metric(out: &mut String, tag: &str, class: &str, name: &str, value: u64) {
    put!(
        out,
        "<{tag} class=\"{class}\" data-metric=\"{}\">{value}</{tag}>",
        escape(name)
    );
}

/// Renders the page.
pub fn render_html(report: &HtmlReport) -> String {
    let mut out = String::with_capacity(64 * 1024);
    put!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n",
        escape(&report.title),
        include_str!("html/report.css")
    );
    let grid = Grid::for_span(report.span.0, report.span.1);
    header(&mut out, report, &grid);
    totals_cards(&mut out, report);
    chart::timelines(&mut out, report, &grid);
    scenarios(&mut out, &report.scenarios);
    findings(&mut out, &report.findings);
    out.push_str(
        "<footer>Written by nodeauthz. This page is self-contained: it loads nothing from \
         the network. Times are UTC.</footer>\n</body>\n</html>\n",
    );
    out
}

fn header(out: &mut String, report: &HtmlReport, grid: &Grid) {
    put!(
        out,
        "<header>\n<h1>{}</h1>\n<p class=\"meta\">",
        escape(&report.title)
    );
    put!(
        out,
        "Requests from <b>{}</b> to <b>{}</b> · one bar = {}",
        format_utc(report.span.0.min(report.span.1)),
        format_utc(report.span.0.max(report.span.1)),
        format_width(grid.width)
    );
    out.push_str("</p>\n");
    if !report.generated_from.is_empty() {
        out.push_str("<p class=\"meta\">From ");
        for (i, f) in report.generated_from.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            put!(out, "<code>{}</code>", escape(f));
        }
        out.push_str("</p>\n");
    }
    out.push_str("</header>\n");
}

fn totals_cards(out: &mut String, report: &HtmlReport) {
    let t = &report.totals;
    out.push_str("<section class=\"cards\">\n<div class=\"card\"><h3>Kubelet requests</h3>");
    metric(out, "div", "big", "total.requests", t.requests);
    out.push_str("<dl>");
    put!(out, "<dt>nodes</dt><dd>");
    metric(out, "span", "", "total.nodes", report.nodes.len() as u64);
    out.push_str("</dd><dt>findings</dt><dd>");
    metric(
        out,
        "span",
        "",
        "total.findings",
        report.findings.len() as u64,
    );
    out.push_str("</dd></dl></div>\n");

    card(
        out,
        "Recorded in the log",
        "recorded",
        Recorded::ALL.map(|r| (r.as_str(), t.by_recorded.get(r.as_str()).copied())),
    );
    card(
        out,
        "Under the target",
        "verdict",
        Verdict::ALL.map(|v| (v.as_str(), Some(t.verdict(v)))),
    );
    card(
        out,
        "Change",
        "change",
        Change::ALL.map(|c| (c.as_str(), Some(t.change(c)))),
    );
    out.push_str("</section>\n");
}

fn card<const N: usize>(out: &mut String, title: &str, kind: &str, rows: [(&str, Option<u64>); N]) {
    put!(out, "<div class=\"card\"><h3>{title}</h3><dl>");
    for (name, value) in rows {
        put!(out, "<dt class=\"k-{name}\">{}</dt><dd>", label(name));
        metric(
            out,
            "span",
            &format!("k-{name}"),
            &format!("total.{kind}.{name}"),
            value.unwrap_or(0),
        );
        out.push_str("</dd>");
    }
    out.push_str("</dl></div>\n");
}

/// `allowed_by_node` → `allowed by node`.
fn label(name: &str) -> String {
    name.replace('_', " ")
}

fn scenarios(out: &mut String, columns: &[ScenarioColumn]) {
    out.push_str(
        "<section id=\"scenarios\">\n<h2>Verdicts per scenario</h2>\n\
         <p class=\"legend\">The same requests under each scenario. Changes compare each \
         scenario's verdict with the outcome recorded in the log.</p>\n",
    );
    if columns.is_empty() {
        out.push_str("<p class=\"empty\">No scenario was evaluated.</p>\n</section>\n");
        return;
    }
    out.push_str("<table class=\"scen\"><thead><tr><th></th>");
    for c in columns {
        put!(
            out,
            "<th{}><div class=\"sname\">{}{}</div><div class=\"sdesc\">{}</div></th>",
            if c.target { " class=\"target\"" } else { "" },
            escape(&c.name),
            if c.target {
                " <span class=\"pill\">target</span>"
            } else {
                ""
            },
            escape(&c.description)
        );
    }
    out.push_str("</tr></thead><tbody>\n<tr class=\"mix\"><th>mix</th>");
    for c in columns {
        out.push_str("<td><svg viewBox=\"0 0 100 8\" preserveAspectRatio=\"none\">");
        let total = c.verdicts.iter().sum::<u64>().max(1) as f64;
        let mut x = 0.0;
        for (v, n) in Verdict::ALL.iter().zip(c.verdicts) {
            let w = n as f64 / total * 100.0;
            if n > 0 {
                put!(
                    out,
                    "<rect class=\"k-{}\" x=\"{x:.2}\" y=\"0\" width=\"{w:.2}\" height=\"8\"/>",
                    v.as_str()
                );
            }
            x += w;
        }
        out.push_str("</svg></td>");
    }
    out.push_str("</tr>\n");
    let row =
        |out: &mut String, name: &str, class: &str, value: &dyn Fn(&ScenarioColumn) -> u64| {
            put!(
                out,
                "<tr class=\"{class}\"><th class=\"k-{name}\">{}</th>",
                label(name)
            );
            for c in columns {
                let n = value(c);
                let cls = if n == 0 { "num zero" } else { "num" };
                put!(
                    out,
                    "<td{}>",
                    if c.target { " class=\"target\"" } else { "" }
                );
                metric(out, "span", cls, &format!("scenario.{}.{name}", c.name), n);
                out.push_str("</td>");
            }
            out.push_str("</tr>\n");
        };
    row(out, "requests", "total", &|c| c.requests);
    for (i, v) in Verdict::ALL.iter().enumerate() {
        row(out, v.as_str(), "", &|c| c.verdicts[i]);
    }
    for (i, ch) in Change::ALL.iter().enumerate() {
        let class = if i == 0 { "first-change" } else { "" };
        row(out, ch.as_str(), class, &|c| c.changes[i]);
    }
    out.push_str("</tbody></table>\n</section>\n");
}

fn findings(out: &mut String, rows: &[FindingRow]) {
    out.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">No findings.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table class=\"find\"><thead><tr><th>Severity</th><th>Finding</th><th>Subject</th>\
         <th>Binding / role</th><th>Evidence</th><th class=\"num\">Requests using it</th></tr></thead><tbody>\n",
    );
    for f in rows {
        put!(
            out,
            "<tr><td><span class=\"sev {0}\">{0}</span></td><td><div class=\"kind\">{1}</div><div class=\"detail\">{2}</div></td><td>{3}</td><td>",
            escape(&f.severity),
            escape(&label(&f.kind)),
            escape(&f.detail),
            escape(&f.subject)
        );
        if let Some(b) = &f.binding {
            put!(out, "<div>{}</div>", escape(b));
        }
        if let Some(r) = &f.role {
            put!(out, "<div class=\"role\">{}</div>", escape(r));
        }
        out.push_str("</td><td><ul class=\"ev-list\">");
        for e in &f.evidence {
            put!(out, "<li><code>{}</code></li>", escape(e));
        }
        out.push_str("</ul></td><td class=\"num\">");
        metric(
            out,
            "span",
            "",
            &format!("finding.{}.requests_using", f.id),
            f.requests_using,
        );
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody></table>\n</section>\n");
}
