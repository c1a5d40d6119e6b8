//! `analyze --out` on the three-phase incident, and the `report.html` it writes rendered in a
//! real headless Chromium: every `data-metric` number of the rendered page equals the
//! corresponding field of the `summary.json` written next to it (the `--compare` columns equal
//! the same run's `comparison`), the bars equal the audit log, and the page references nothing
//! over the network.
//!
//! Chromium is required, not optional (as in `tests/html_report.rs`): CI installs it
//! (`apt-get install -y chromium`). Set `NODEAUTHZ_CHROMIUM` to use another binary.

mod incident_support;
#[path = "support/page.rs"]
mod page;

use incident_support::{arg, args, incident_kubelet_requests, json_ok, micros, phases};
use page::{assert_metrics_exactly, external_references, metrics, run_chromium};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

const COLUMNS: [&str; 3] = ["RBAC", "RBAC+binding:system:node", "Node,RBAC"];
const VERDICTS: [&str; 4] = [
    "allowed_by_node",
    "relies_on_rbac",
    "forbidden",
    "indeterminate",
];
const CHANGES: [&str; 3] = ["would_break", "fixed_by_target", "unchanged"];
const RECORDED: [&str; 3] = ["allowed", "forbidden", "no_response"];

/// The analysis of the whole incident: `--out DIR` and, from the same run, stdout's JSON.
struct Run {
    _dir: tempfile::TempDir,
    out: PathBuf,
    stdout: Value,
    summary: Value,
}

/// Runs `analyze` over the incident with `objects` (fixture paths) as the cluster dump.
fn analyze_incident(objects: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let mut a = args(&["analyze", &arg("incident-phases/audit.log"), "--objects"]);
    a.extend(objects.iter().map(|o| arg(o)));
    a.extend(args(&[
        "--format",
        "json",
        "--out",
        &out.display().to_string(),
        "--compare",
    ]));
    a.extend(args(&COLUMNS));
    let stdout = json_ok(&a, None);
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("summary.json")).expect("summary.json"),
    )
    .expect("summary.json is JSON");
    Run {
        _dir: dir,
        out,
        stdout,
        summary,
    }
}

/// What the page must show, by metric name, from `summary.json` (and the comparison).
fn expected_metrics(summary: &Value, comparison: &Value) -> BTreeMap<String, u64> {
    let n = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"));
    let mut m = BTreeMap::new();
    let totals = &summary["totals"];
    m.insert("total.requests".to_string(), n(&totals["requests"]));
    for v in VERDICTS {
        m.insert(format!("total.verdict.{v}"), n(&totals["by_verdict"][v]));
    }
    for c in CHANGES {
        m.insert(format!("total.change.{c}"), n(&totals["by_change"][c]));
    }
    for r in RECORDED {
        m.insert(format!("total.recorded.{r}"), n(&totals["by_recorded"][r]));
    }
    let per_node = summary["per_node"].as_array().expect("per_node");
    m.insert("total.nodes".to_string(), per_node.len() as u64);
    m.insert(
        "total.findings".to_string(),
        n(&summary["findings"]["total"]),
    );
    for node in per_node {
        let name = node["node"].as_str().expect("node");
        m.insert(format!("node.{name}.requests"), n(&node["requests"]));
        for (metric, key) in [
            ("allowed", "allowed"),
            ("forbidden", "forbidden"),
            ("other", "no_response"),
        ] {
            m.insert(
                format!("node.{name}.{metric}"),
                n(&node["by_recorded"][key]),
            );
        }
    }
    let mut column = |label: &str, totals: &Value| {
        m.insert(format!("scenario.{label}.requests"), n(&totals["requests"]));
        for v in VERDICTS {
            m.insert(format!("scenario.{label}.{v}"), n(&totals["by_verdict"][v]));
        }
        for c in CHANGES {
            m.insert(format!("scenario.{label}.{c}"), n(&totals["by_change"][c]));
        }
    };
    column(summary["target"].as_str().expect("target"), totals);
    for c in comparison["columns"].as_array().expect("columns") {
        column(c["scenario"].as_str().expect("scenario"), &c["totals"]);
    }
    for f in summary["findings"]["items"].as_array().expect("items") {
        m.insert(
            format!("finding.{}.requests_using", f["id"].as_str().expect("id")),
            n(&f["requests_using"]),
        );
    }
    m
}

/// Renders the run's page in Chromium, checks every metric against `summary.json` (and the
/// run's comparison) and the bars against the audit log; returns the metrics and the DOM.
fn check_page(run: &Run) -> (BTreeMap<String, u64>, String) {
    let page = run.out.join("report.html");
    let html = std::fs::read_to_string(&page).expect("report.html");

    // Self-contained: nothing fetched, nothing run.
    assert_eq!(external_references(&html), Vec::<String>::new());
    for tag in ["<script", "<link", "<img", "<iframe", "<object", "<embed"] {
        assert!(!html.contains(tag), "the page has {tag}");
    }

    let dom = String::from_utf8(run_chromium(
        run.out.as_path(),
        &["--dump-dom".to_owned()],
        &page,
    ))
    .expect("DOM is UTF-8");
    for heading in ["Access over time", "Verdicts per scenario", "Findings"] {
        assert!(dom.contains(heading), "page did not render {heading:?}");
    }

    // The columns as asked, on stdout of the same run.
    let comparison = &run.stdout["comparison"];
    let labels: Vec<&str> = comparison["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["scenario"].as_str())
        .collect();
    assert_eq!(labels, COLUMNS);
    // stdout's summary is summary.json.
    assert_eq!(run.stdout["summary"], run.summary);

    let shown = metrics(&dom);
    let mut expected = expected_metrics(&run.summary, comparison);
    // Not in summary.json: one transition per node (regained at 09:10), every request drawn.
    for node in ["node1", "node2", "node3"] {
        expected.insert(format!("node.{node}.transitions"), 1);
    }
    for optional in ["total.outside_span", "total.nodes_not_drawn"] {
        if shown.contains_key(optional) {
            expected.insert(optional.to_string(), 0);
        }
    }
    // The bars: counted from the audit log, 10 s each from 09:00:00.
    let t0 = micros(&phases().start);
    for r in incident_kubelet_requests() {
        let class = match r.decision.as_str() {
            "allow" => "allowed",
            "forbid" => "forbidden",
            _ => "other",
        };
        let key = format!("bucket.{}.{}.{class}", r.node, (r.at - t0) / 10_000_000);
        *expected.entry(key).or_insert(0) += 1;
    }

    assert_metrics_exactly(&dom, &shown, &expected);

    assert_eq!(
        dom.matches("Regained access at 2021-11-23 09:10:00 UTC")
            .count(),
        3
    );
    (shown, dom)
}

#[test]
fn report_renders_in_chromium_and_every_number_equals_summary_json() {
    let run = analyze_incident(&["incident-phases/objects.json"]);
    let (shown, _) = check_page(&run);
    // The numbers themselves, as the fixture's README has them: RBAC alone refuses all,
    // the legacy binding and Node,RBAC allow all but the 270 unlogged registrations.
    for (metric, n) in [
        ("total.requests", 3052),
        ("total.recorded.forbidden", 1616),
        ("total.recorded.allowed", 1436),
        ("total.findings", 0),
        ("scenario.RBAC.forbidden", 3052),
        ("scenario.RBAC+binding:system:node.relies_on_rbac", 2782),
        ("scenario.RBAC+binding:system:node.indeterminate", 270),
        ("scenario.Node,RBAC.allowed_by_node", 2782),
        ("scenario.Node,RBAC.indeterminate", 270),
        ("node.node1.forbidden", 538),
        ("node.node2.forbidden", 539),
        ("node.node3.forbidden", 539),
    ] {
        assert_eq!(shown.get(metric), Some(&n), "{metric}");
    }
}

/// With the legacy binding in the dump (phases 2 and 3), the finding and its count are on the
/// page too.
#[test]
fn report_with_the_legacy_binding_shows_the_finding_as_summary_json_has_it() {
    let run = analyze_incident(&[
        "incident-phases/objects.json",
        "explain/legacy-binding.json",
    ]);
    let (shown, dom) = check_page(&run);
    assert_eq!(shown.get("total.findings"), Some(&1));
    assert_eq!(
        shown.get(
            "finding.legacy_system_node_binding:ClusterRoleBinding/system:node.requests_using"
        ),
        Some(&0)
    );
    for text in [
        "<span class=\"sev high\">high</span>",
        "<div class=\"kind\">legacy system node binding</div>",
        "<td>Group \"system:nodes\"</td>",
        "<div>ClusterRoleBinding system:node</div>",
    ] {
        assert!(dom.contains(text), "page lacks {text:?}");
    }
}

/// The page's scenario columns should be in `summary.json` itself, so that the file written
/// next to the page is enough to check it.
#[test]
fn summary_json_holds_the_compare_columns_shown_on_the_page() {
    let run = analyze_incident(&["incident-phases/objects.json"]);
    assert_eq!(run.summary["comparison"], run.stdout["comparison"]);
}
