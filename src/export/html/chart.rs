//! The "Access over time" section of `report.html`: per node, a strip chart of its buckets
//! (allowed and no-response bars up from the middle line, forbidden bars down), a pale band
//! where it was mostly forbidden, dashed marks where it lost or regained access, and the same
//! transitions spelled out underneath.
//!
//! The SVG stretches to the page width (`preserveAspectRatio="none"`), so it holds no text;
//! time labels and transition marks are HTML placed at percentages of the same extent.

use super::timeline::{self, Access, Grid, NodeTimeline, TransitionKind, NICE_WIDTHS};
use super::{escape, format_seconds, format_utc, metric, HtmlReport, MAX_DRAWN_NODES};
use crate::record::Micros;
use std::fmt::Write;

/// Transitions spelled out under one chart; a flapping node lists the first ones only.
const MAX_LISTED_TRANSITIONS: usize = 12;
/// Chart coordinates: each bucket is this wide in SVG units, bars leave a gap.
const BAR_PITCH: usize = 10;
/// Half the chart height in SVG units: allowed bars grow up from the middle, forbidden down.
const HALF: f64 = 46.0;
const MID: f64 = 50.0;

/// The "Access over time" section: an axis, then one row per node.
pub(super) fn timelines(out: &mut String, report: &HtmlReport, grid: &Grid) {
    out.push_str(
        "<section id=\"timeline\">\n<h2>Access over time</h2>\n\
         <p class=\"legend\"><span class=\"sw allowed\"></span>allowed\
         <span class=\"sw other\"></span>no response\
         <span class=\"sw forbidden\"></span>forbidden (below the line)\
         <span class=\"sw band\"></span>mostly forbidden\
         <span class=\"mk lost\">▼</span>lost access\
         <span class=\"mk regained\">▲</span>regained access\
         <span class=\"note\">Recorded outcomes from the log; each chart has its own scale.</span></p>\n",
    );
    if report.nodes.is_empty() {
        out.push_str("<p class=\"empty\">No kubelet requests from node identities.</p>\n");
    } else {
        axis(out, grid);
        for t in report.nodes.iter().take(MAX_DRAWN_NODES) {
            node_row(out, t, grid);
        }
    }
    let hidden = report.nodes.len().saturating_sub(MAX_DRAWN_NODES) as u64;
    if hidden > 0 || report.outside_span > 0 {
        out.push_str("<p class=\"note\">");
        if hidden > 0 {
            metric(out, "b", "", "total.nodes_not_drawn", hidden);
            out.push_str(
                " more nodes not drawn: the page shows the first ones in the order given. ",
            );
        }
        if report.outside_span > 0 {
            metric(out, "b", "", "total.outside_span", report.outside_span);
            out.push_str(if report.outside_span == 1 {
                " request fell outside the span and is not drawn."
            } else {
                " requests fell outside the span and are not drawn."
            });
        }
        out.push_str("</p>\n");
    }
    out.push_str("</section>\n");
}

/// Percent of the chart width at time `t`.
fn pct(grid: &Grid, t: Micros) -> f64 {
    let total = (i128::from(grid.end()) - i128::from(grid.origin)).max(1) as f64;
    ((i128::from(t) - i128::from(grid.origin)) as f64 / total * 100.0).clamp(0.0, 100.0)
}

fn axis(out: &mut String, grid: &Grid) {
    let extent = (i128::from(grid.end()) - i128::from(grid.origin)).max(1);
    let day: Micros = 86_400_000_000;
    // About eight labelled ticks: a nice width, or whole days for spans beyond weeks.
    let step = NICE_WIDTHS
        .into_iter()
        .find(|&s| extent / i128::from(s) <= 8)
        .unwrap_or_else(|| {
            let days = extent / 8 / i128::from(day) + 1;
            Micros::try_from(days * i128::from(day)).unwrap_or(Micros::MAX)
        });
    let label = |t: Micros| {
        let full = format_seconds(t);
        let (date, time) = full.split_once(' ').unwrap_or((&full, ""));
        // `date` ends in `MM-DD` and `time` is `HH:MM:SS`, whatever the year's width.
        let month_day = date.get(date.len().saturating_sub(5)..).unwrap_or(date);
        let hh_mm = time.get(..5).unwrap_or(time);
        if step >= day {
            date.to_owned()
        } else if extent > i128::from(day) {
            format!("{month_day} {hh_mm}")
        } else if step < 60_000_000 {
            time.to_owned()
        } else {
            hh_mm.to_owned()
        }
    };
    out.push_str("<div class=\"row axis\"><div></div><div class=\"ticks\">");
    // The first multiple of `step` on the grid; none when it is beyond the representable.
    let rem = grid.origin.rem_euclid(step);
    let mut next = if rem == 0 {
        Some(grid.origin)
    } else {
        grid.origin.checked_add(step - rem)
    };
    while let Some(t) = next.filter(|&t| t <= grid.end()) {
        let at = pct(grid, t);
        // The labels at the very ends hang inwards, so that neither is cut off at the margin.
        let class = match at {
            a if a < 2.0 => " class=\"first\"",
            a if a > 98.0 => " class=\"last\"",
            _ => "",
        };
        put!(
            out,
            "<span{class} style=\"left:{at:.3}%\">{}</span>",
            label(t)
        );
        next = t.checked_add(step);
    }
    out.push_str("</div></div>\n");
}

fn node_row(out: &mut String, t: &NodeTimeline, grid: &Grid) {
    let name = if t.node.is_empty() {
        "(no node identity)"
    } else {
        t.node.as_str()
    };
    let sum = t.sum();
    let key = |field: &str| format!("node.{}.{field}", t.node);
    put!(
        out,
        "<div class=\"row node\"><div class=\"label\"><div class=\"name\">{}</div><div class=\"counts\">",
        escape(name)
    );
    metric(out, "span", "", &key("requests"), sum.total());
    out.push_str(" requests: ");
    metric(out, "span", "c-allowed", &key("allowed"), sum.allowed);
    out.push_str(" allowed, ");
    metric(out, "span", "c-forbidden", &key("forbidden"), sum.forbidden);
    out.push_str(" forbidden");
    if sum.other > 0 {
        out.push_str(", ");
    } else {
        out.push_str("<span class=\"zero\">, ");
    }
    metric(out, "span", "c-other", &key("other"), sum.other);
    out.push_str(" no response");
    if sum.other == 0 {
        out.push_str("</span>");
    }
    out.push_str("</div>");
    match t.last_access() {
        Some((_, Access::Allowed)) => out.push_str("<span class=\"pill ok\">ends allowed</span>"),
        Some((_, Access::Forbidden)) => {
            out.push_str("<span class=\"pill bad\">ends forbidden</span>")
        }
        None => out.push_str("<span class=\"pill\">no decision</span>"),
    }
    out.push_str("</div>\n<div class=\"chart\">");
    let transitions = timeline::transitions(t);
    chart(out, t, grid, &transitions);
    out.push_str("<div class=\"events\">");
    node_events(out, t, &transitions);
    out.push_str("</div></div></div>\n");
}

fn chart(out: &mut String, t: &NodeTimeline, grid: &Grid, transitions: &[timeline::Transition]) {
    let width = grid.len.max(1) * BAR_PITCH;
    let peak = t
        .buckets
        .iter()
        .map(|b| (b.allowed + b.other).max(b.forbidden))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    // A single request must stay visible next to a peak of thousands.
    let h = |n: u64| {
        if n == 0 {
            0.0
        } else {
            (n as f64 / peak * HALF).max(1.5)
        }
    };
    out.push_str("<div class=\"plot\">");
    for tr in transitions {
        let cls = match tr.kind {
            TransitionKind::LostAccess => ("lost", "▼"),
            TransitionKind::RegainedAccess => ("regained", "▲"),
        };
        put!(
            out,
            "<span class=\"mk {}\" style=\"left:{:.3}%\">{}</span>",
            cls.0,
            pct(grid, tr.at),
            cls.1
        );
    }
    put!(
        out,
        "<svg viewBox=\"0 0 {width} 100\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"requests of {} over time\">",
        escape(&t.node)
    );
    for (from, to) in forbidden_bands(t, grid) {
        let x0 = pct(grid, from) / 100.0 * width as f64;
        let x1 = pct(grid, to) / 100.0 * width as f64;
        put!(
            out,
            "<rect class=\"band\" x=\"{x0:.1}\" y=\"0\" width=\"{:.1}\" height=\"100\"/>",
            x1 - x0
        );
    }
    put!(
        out,
        "<line class=\"base\" x1=\"0\" y1=\"{MID}\" x2=\"{width}\" y2=\"{MID}\"/>"
    );
    let node = escape(&t.node);
    for b in &t.buckets {
        let Some(i) = grid.index(b.start) else {
            continue;
        };
        if b.total() == 0 {
            continue;
        }
        let x = i * BAR_PITCH + 1;
        let tip = format!(
            "{} · {} allowed, {} forbidden, {} no response",
            format_seconds(b.start),
            b.allowed,
            b.forbidden,
            b.other
        );
        // One tooltip per bar, on the group, rather than one per coloured part.
        put!(out, "<g><title>{tip}</title>");
        let bar = |out: &mut String, class: &str, y: f64, height: f64, n: u64| {
            put!(
                out,
                "<rect class=\"{class}\" x=\"{x}\" y=\"{y:.1}\" width=\"{}\" height=\"{height:.1}\" data-metric=\"bucket.{node}.{i}.{class}\" data-value=\"{n}\"/>",
                BAR_PITCH - 2
            );
        };
        if b.allowed > 0 {
            bar(out, "allowed", MID - h(b.allowed), h(b.allowed), b.allowed);
        }
        if b.other > 0 {
            let y = MID - h(b.allowed) - h(b.other);
            bar(out, "other", y, h(b.other), b.other);
        }
        if b.forbidden > 0 {
            bar(out, "forbidden", MID, h(b.forbidden), b.forbidden);
        }
        out.push_str("</g>");
    }
    for tr in transitions {
        let x = pct(grid, tr.at) / 100.0 * width as f64;
        let cls = match tr.kind {
            TransitionKind::LostAccess => "lost",
            TransitionKind::RegainedAccess => "regained",
        };
        put!(
            out,
            "<line class=\"tr {cls}\" x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"100\"/>"
        );
    }
    out.push_str("</svg></div>");
}

/// Time ranges where the node was mostly forbidden: from the bucket that turned forbidden (or
/// the first, if it started so) to the bucket that turned allowed, or the end of its last
/// bucket with a decision.
fn forbidden_bands(t: &NodeTimeline, grid: &Grid) -> Vec<(Micros, Micros)> {
    let mut bands = Vec::new();
    let mut open: Option<Micros> = None;
    let mut last_end = grid.origin;
    for b in &t.buckets {
        let Some(a) = b.access() else { continue };
        last_end = b.start.saturating_add(grid.width);
        match (a, open) {
            (Access::Forbidden, None) => open = Some(b.start),
            (Access::Allowed, Some(from)) => {
                bands.push((from, b.start));
                open = None;
            }
            _ => {}
        }
    }
    if let Some(from) = open {
        bands.push((from, last_end));
    }
    bands
}

fn node_events(out: &mut String, t: &NodeTimeline, transitions: &[timeline::Transition]) {
    if let Some((at, Access::Forbidden)) = t.first_access() {
        put!(
            out,
            "<span class=\"ev lost\">Forbidden from its first requests ({})</span>",
            format_utc(at)
        );
    }
    for tr in transitions.iter().take(MAX_LISTED_TRANSITIONS) {
        let cls = match tr.kind {
            TransitionKind::LostAccess => "lost",
            TransitionKind::RegainedAccess => "regained",
        };
        let phrase = tr.kind.phrase();
        let mut cap = phrase.chars();
        let phrase = cap
            .next()
            .map(|c| c.to_uppercase().chain(cap).collect::<String>())
            .unwrap_or_default();
        put!(
            out,
            "<span class=\"ev {cls}\">{phrase} at {}</span>",
            format_utc(tr.at)
        );
    }
    put!(out, "<span class=\"ev n\">");
    metric(
        out,
        "span",
        "",
        &format!("node.{}.transitions", t.node),
        transitions.len() as u64,
    );
    out.push_str(if transitions.len() == 1 {
        " transition"
    } else {
        " transitions"
    });
    if transitions.len() > MAX_LISTED_TRANSITIONS {
        out.push_str(", the first ones listed");
    }
    out.push_str("</span>");
}
