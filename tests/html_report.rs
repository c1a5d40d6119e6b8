//! `report.html`: the timeline grid, the access transitions, and the rendered page checked in
//! a real headless Chromium (every `data-metric` on the page equals the input numbers; the
//! page references nothing outside itself; the screenshot shows the bars).
//!
//! Chromium is required, not optional: CI installs it (`apt-get install -y chromium`). Set
//! `NODEAUTHZ_CHROMIUM` to use another binary.

#[path = "support/page.rs"]
mod page;

use nodeauthz::export::html::timeline::{
    bucket_width_for, transitions, troubled_first, Access, Bucket, Grid, NodeTimeline, Outcome,
    TimelineBuilder, Transition, TransitionKind, MAX_BUCKETS, NICE_WIDTHS,
};
use nodeauthz::export::html::{
    escape, render_html, write_report, FindingRow, HtmlReport, ScenarioColumn, MAX_DRAWN_NODES,
};
use nodeauthz::export::summary::Totals;
use nodeauthz::input::source::InputSpec;
use nodeauthz::input::time::parse_rfc3339_micros;
use nodeauthz::scan::{scan_collect, ScanOptions};
use nodeauthz::verdict::RecordedOutcome;
use page::{assert_metrics_exactly, external_references, metrics, run_chromium};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

const S: i64 = 1_000_000;
const MIN: i64 = 60 * S;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

fn t(s: &str) -> i64 {
    parse_rfc3339_micros(s).unwrap_or_else(|| panic!("bad test timestamp {s}"))
}

fn bucket(start: i64, allowed: u64, forbidden: u64, other: u64) -> Bucket {
    Bucket {
        start,
        allowed,
        forbidden,
        other,
    }
}

/// Buckets 10 s apart from 0, from (allowed, forbidden, other) triples.
fn timeline(counts: &[(u64, u64, u64)]) -> NodeTimeline {
    NodeTimeline {
        node: "node1".into(),
        buckets: counts
            .iter()
            .enumerate()
            .map(|(i, &(a, f, o))| bucket(i as i64 * 10 * S, a, f, o))
            .collect(),
    }
}

// ---------------------------------------------------------------- transitions

#[test]
fn transitions_three_phases_forbidden_then_allowed_then_allowed() {
    // Phase 1 refused, phase 2 allowed by RBAC, phase 3 allowed by Node: one regain only.
    let tl = timeline(&[
        (0, 5, 0),
        (0, 6, 0),
        (0, 5, 0),
        (4, 0, 0),
        (5, 0, 0),
        (0, 0, 0), // apiserver restart: nothing recorded
        (6, 0, 1),
        (5, 0, 0),
    ]);
    assert_eq!(
        transitions(&tl),
        vec![Transition {
            kind: TransitionKind::RegainedAccess,
            at: 30 * S,
            last_before: 20 * S,
        }]
    );
    assert_eq!(tl.first_access(), Some((0, Access::Forbidden)));
    assert_eq!(tl.last_access(), Some((70 * S, Access::Allowed)));
}

#[test]
fn transitions_lost_then_regained_across_empty_and_tied_buckets() {
    let tl = timeline(&[
        (9, 1, 0),
        (0, 0, 0), // empty: state carries on
        (3, 3, 0), // tie: no state
        (1, 2, 0), // mostly forbidden: lost here
        (0, 0, 7), // only no-response: says nothing about access
        (0, 4, 0),
        (2, 1, 0), // regained
    ]);
    assert_eq!(
        transitions(&tl),
        vec![
            Transition {
                kind: TransitionKind::LostAccess,
                at: 30 * S,
                last_before: 0,
            },
            Transition {
                kind: TransitionKind::RegainedAccess,
                at: 60 * S,
                last_before: 50 * S,
            },
        ]
    );
}

#[test]
fn transitions_ignore_no_response_and_steady_states() {
    assert_eq!(
        transitions(&timeline(&[(3, 0, 0), (1, 0, 50), (2, 1, 0)])),
        []
    );
    assert_eq!(
        transitions(&timeline(&[(0, 3, 0), (0, 1, 0), (0, 0, 9)])),
        []
    );
    assert_eq!(transitions(&timeline(&[])), []);
    // 100 without a response and 1 forbidden: the only decision seen was a refusal.
    assert_eq!(bucket(0, 0, 1, 100).access(), Some(Access::Forbidden));
    assert_eq!(bucket(0, 0, 0, 100).access(), None);
    let flapping = timeline(&[(1, 0, 0), (0, 1, 0), (1, 0, 0), (0, 1, 0)]);
    let kinds: Vec<TransitionKind> = transitions(&flapping).iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        [
            TransitionKind::LostAccess,
            TransitionKind::RegainedAccess,
            TransitionKind::LostAccess
        ]
    );
}

// ---------------------------------------------------------------- grid and builder

#[test]
fn bucket_width_is_the_first_nice_width_with_at_most_300_buckets() {
    let t0 = t("2021-11-23T09:00:00Z");
    // (span end offset, width, buckets)
    let cases = [
        (0, S, 1),
        (299 * S, S, 300),
        (300 * S, 2 * S, 151),
        (30 * MIN, 10 * S, 181),
        (HOUR, 15 * S, 241),
        (24 * HOUR, 5 * MIN, 289),
        (7 * DAY, HOUR, 169),
        (365 * DAY, 2 * DAY, 183),
    ];
    for (len, width, buckets) in cases {
        let g = Grid::for_span(t0, t0 + len);
        assert_eq!((g.width, g.len), (width, buckets), "span {len} µs");
        // 09:00:00 is on every grid of these widths but the last (2 days: midnight).
        let origin = if width == 2 * DAY {
            t("2021-11-23T00:00:00Z")
        } else {
            t0
        };
        assert_eq!(g.origin, origin, "span {len} µs");
    }
    // An unaligned start moves the origin back to a round time.
    let g = Grid::for_span(t("2021-11-23T09:00:03.5Z"), t("2021-11-23T09:29:58Z"));
    assert_eq!(
        (g.origin, g.width, g.len),
        (t("2021-11-23T09:00:00Z"), 10 * S, 180)
    );
    assert_eq!(g.index(t("2021-11-23T09:10:02.112733Z")), Some(60));
    assert_eq!(g.start_of(60), t("2021-11-23T09:10:00Z"));
    assert_eq!(g.index(t("2021-11-23T09:29:59.999999Z")), Some(179));
    assert_eq!(g.index(t("2021-11-23T09:30:00Z")), None);
    assert_eq!(g.index(t("2021-11-23T08:59:59.999999Z")), None);
    // Reversed spans are ordered; absurd ones do not overflow.
    assert_eq!(Grid::for_span(t0 + HOUR, t0), Grid::for_span(t0, t0 + HOUR));
    let wild = Grid::for_span(i64::MIN, i64::MAX);
    assert!(wild.len <= MAX_BUCKETS, "{wild:?}");
    assert_eq!(wild.index(0).map(|i| i < wild.len), Some(true));
}

proptest! {
    /// `Grid::index` is the bucket of the time's offset from the origin, whole widths of it,
    /// computed without overflow, for any grid and time, absurd ones included.
    #[test]
    fn the_bucket_of_a_time_is_its_offset_in_whole_widths(
        start in prop_oneof![Just(i64::MIN), any::<i64>(), -4_000_000_000i64 * S..4_000_000_000i64 * S],
        end in prop_oneof![Just(i64::MAX), any::<i64>(), -4_000_000_000i64 * S..4_000_000_000i64 * S],
        at in prop_oneof![Just(i64::MIN), Just(i64::MAX), any::<i64>(), -4_000_000_000i64 * S..4_000_000_000i64 * S],
    ) {
        let g = Grid::for_span(start, end);
        let offset = i128::from(at) - i128::from(g.origin);
        let expected = (offset >= 0)
            .then(|| offset / i128::from(g.width))
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < g.len);
        prop_assert_eq!(g.index(at), expected);
        let inside = g.start_of(g.len / 2);
        prop_assert_eq!(g.index(inside), Some(g.len / 2));
        // Just before the origin, less than a width away, is before the grid.
        prop_assert_eq!(g.index(g.origin), Some(0));
        if let Some(before) = g.origin.checked_sub(1) {
            prop_assert_eq!(g.index(before), None);
        }
    }

    #[test]
    fn every_time_of_the_span_has_a_bucket_and_the_width_is_minimal(
        start in -4_000_000_000i64 * S..4_000_000_000i64 * S,
        len in 0i64..20 * 365 * DAY,
        frac in 0.0f64..=1.0,
    ) {
        let g = Grid::for_span(start, start + len);
        prop_assert!(g.len >= 1 && g.len <= MAX_BUCKETS);
        prop_assert_eq!(g.width, bucket_width_for(start, start + len));
        prop_assert!(NICE_WIDTHS.contains(&g.width) || g.width % DAY == 0);
        prop_assert_eq!(g.origin.rem_euclid(g.width), 0);
        let at = start + (len as f64 * frac) as i64;
        let i = g.index(at);
        prop_assert!(i.is_some());
        let i = i.unwrap_or(0);
        prop_assert!(g.start_of(i) <= at && at < g.start_of(i) + g.width);
        prop_assert_eq!(g.index(start + len).map(|i| i + 1), Some(g.len));
        // Minimal: the next smaller nice width would need more than MAX_BUCKETS.
        if let Some(smaller) = NICE_WIDTHS.iter().rev().find(|&&w| w < g.width) {
            let origin = start.div_euclid(*smaller) * smaller;
            prop_assert!((start + len - origin) / smaller + 1 > MAX_BUCKETS as i64);
        }
    }
}

#[test]
fn builder_counts_in_any_order_and_refuses_times_outside_the_span() {
    let t0 = t("2021-11-23T09:00:00Z");
    let mut b = TimelineBuilder::new(t0, t0 + 30 * MIN);
    assert_eq!(b.grid().width, 10 * S);
    assert!(b.add("node2", t0 + 25 * MIN + 3 * S, Outcome::Allowed));
    assert!(b.add("node1", t0 + 30 * MIN, Outcome::Allowed));
    assert!(b.add("node1", t0 + 5 * S, Outcome::Forbidden));
    assert!(b.add("node1", t0, Outcome::Forbidden));
    assert!(b.add("node1", t0 + 9 * S, Outcome::Other));
    assert!(!b.add("node1", t0 - 1, Outcome::Forbidden));
    assert!(!b.add("node3", t0 + 30 * MIN + 1, Outcome::Allowed));
    assert_eq!(b.outside_span(), 2);

    let mut other = TimelineBuilder::new(t0, t0 + 30 * MIN);
    other.add("node1", t0 + 1, Outcome::Forbidden);
    other.add("node3", t0 + 10 * MIN, Outcome::Allowed);
    assert!(b.merge(other));
    assert!(!b.merge(TimelineBuilder::new(t0, t0 + HOUR)));

    let nodes = b.finish();
    let names: Vec<&str> = nodes.iter().map(|n| n.node.as_str()).collect();
    assert_eq!(names, ["node1", "node2", "node3"]);
    assert!(nodes.iter().all(|n| n.buckets.len() == 181));
    assert_eq!(nodes[0].buckets[0], bucket(t0, 0, 3, 1));
    assert_eq!(nodes[0].buckets[180], bucket(t0 + 30 * MIN, 1, 0, 0));
    assert_eq!(nodes[0].sum().total(), 5);
    assert_eq!(nodes[1].buckets[150], bucket(t0 + 1500 * S, 1, 0, 0));
    assert_eq!(nodes[2].buckets[60], bucket(t0 + 10 * MIN, 1, 0, 0));
}

#[test]
fn escape_covers_markup_and_quotes() {
    assert_eq!(
        escape(r#"<a href="x">&'</a>"#),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
    );
    assert!(matches!(escape("node1"), std::borrow::Cow::Borrowed(_)));
}

// ---------------------------------------------------------------- the page in Chromium

/// A node name that must come out as text, never as markup.
const EVIL: &str = "evil\"<script>alert(1)</script>&x";

struct Fixture {
    report: HtmlReport,
    /// Metric name → value, computed here from the generated requests, independently of the
    /// timeline builder.
    expected: BTreeMap<String, u64>,
}

/// The incident in three phases over 30 minutes: node1 and node2 refused (RBAC only), then
/// allowed by the legacy binding, then allowed by the Node authorizer; node3 loses access in
/// the middle and gets it back; a fourth node has a hostile name.
fn fixture() -> Fixture {
    let t0 = t("2021-11-23T09:00:00Z");
    let end = t("2021-11-23T09:30:00Z");
    let phase2 = t("2021-11-23T09:10:02.112733Z");
    let stopped = t("2021-11-23T09:19:41Z");
    let phase3 = t("2021-11-23T09:20:04.273956Z");
    let mut requests: Vec<(&str, i64, Outcome)> = Vec::new();
    let phase1_end = t("2021-11-23T09:09:58Z");
    for (node, first) in [("node1", t0 + 800_000), ("node2", t0 + 30 * S)] {
        // (from, until, step): refused every 2 s, then allowed every 3 s around the restart.
        for (from, until, step) in [
            (first, phase1_end, 2 * S + 1234),
            (phase2, stopped, 3 * S + 1234),
            (phase3, end, 3 * S + 1234),
        ] {
            let mut at = from;
            while at < until {
                let outcome = if at < phase2 {
                    Outcome::Forbidden
                } else if (at / S) % 97 == 0 {
                    Outcome::Other
                } else {
                    Outcome::Allowed
                };
                requests.push((node, at, outcome));
                at += step;
            }
        }
    }
    let lost = t("2021-11-23T09:15:00Z");
    let back = t("2021-11-23T09:22:00Z");
    let mut at = t0 + 4 * S;
    while at < end {
        let outcome = if at >= lost && at < back {
            Outcome::Forbidden
        } else {
            Outcome::Allowed
        };
        requests.push(("node3", at, outcome));
        at += 5 * S;
    }
    requests.push((EVIL, t0 + 61 * S, Outcome::Forbidden));
    requests.push((EVIL, t0 + 62 * S, Outcome::Allowed));
    requests.push((EVIL, t0 + 63 * S, Outcome::Forbidden));

    let mut b = TimelineBuilder::new(t0, end);
    // Any order: newest first, and one request outside the span.
    for &(node, at, outcome) in requests.iter().rev() {
        assert!(b.add(node, at, outcome));
    }
    assert!(!b.add("node1", end + S, Outcome::Allowed));

    let mut expected = BTreeMap::new();
    let mut recorded = [0u64; 3];
    for &(node, at, outcome) in &requests {
        let k = match outcome {
            Outcome::Allowed => "allowed",
            Outcome::Forbidden => "forbidden",
            Outcome::Other => "other",
        };
        let i = (at - t0) / (10 * S);
        *expected.entry(format!("node.{node}.{k}")).or_default() += 1;
        *expected.entry(format!("node.{node}.requests")).or_default() += 1;
        *expected
            .entry(format!("bucket.{node}.{i}.{k}"))
            .or_default() += 1;
        recorded[outcome as usize] += 1;
    }
    for node in ["node1", "node2", "node3", EVIL] {
        let n = match node {
            "node3" => 2,
            n if n == EVIL => 0, // a single bucket, mostly forbidden
            _ => 1,
        };
        expected.insert(format!("node.{node}.transitions"), n);
        expected.entry(format!("node.{node}.other")).or_insert(0);
    }
    let total = requests.len() as u64;
    assert_eq!(total, recorded.iter().sum::<u64>());

    let mut totals = Totals {
        requests: total,
        ..Totals::default()
    };
    for (name, n) in ["allowed", "forbidden", "no_response"].iter().zip(recorded) {
        totals.by_recorded.insert(name.to_string(), n);
        expected.insert(format!("total.recorded.{name}"), n);
    }
    // Under the target Node,RBAC: everything allowed by Node except two indeterminate.
    let verdicts = [
        ("allowed_by_node", total - 2),
        ("relies_on_rbac", 0),
        ("forbidden", 0),
        ("indeterminate", 2),
    ];
    for (name, n) in verdicts {
        totals.by_verdict.insert(name.to_string(), n);
        expected.insert(format!("total.verdict.{name}"), n);
    }
    let fixed = recorded[1];
    let changes = [
        ("would_break", 0),
        ("fixed_by_target", fixed),
        ("unchanged", total - fixed),
    ];
    for (name, n) in changes {
        totals.by_change.insert(name.to_string(), n);
        expected.insert(format!("total.change.{name}"), n);
    }
    expected.insert("total.requests".into(), total);
    expected.insert("total.nodes".into(), 4);
    expected.insert("total.findings".into(), 2);
    expected.insert("total.outside_span".into(), 1);

    let scenarios = vec![
        (
            "RBAC",
            "--authorization-mode=RBAC",
            false,
            [0, 0, 1616, 3],
            [0, 7, 1429],
        ),
        (
            "RBAC+binding:system:node",
            "RBAC, legacy ClusterRoleBinding system:node",
            false,
            [0, 1600, 12, 7],
            [3, 1610, 0],
        ),
        (
            "Node,RBAC",
            "--authorization-mode=Node,RBAC, NodeRestriction",
            true,
            [1555, 41, 0, 23],
            [0, 1604, 15],
        ),
    ];
    let scenarios: Vec<ScenarioColumn> = scenarios
        .into_iter()
        .map(|(name, description, target, verdicts, changes)| {
            let column = ScenarioColumn {
                name: name.into(),
                description: description.into(),
                target,
                requests: verdicts.iter().sum(),
                verdicts,
                changes,
            };
            expected.insert(format!("scenario.{name}.requests"), column.requests);
            let names = [
                "allowed_by_node",
                "relies_on_rbac",
                "forbidden",
                "indeterminate",
            ];
            for (v, n) in names.iter().zip(verdicts) {
                expected.insert(format!("scenario.{name}.{v}"), n);
            }
            for (c, n) in ["would_break", "fixed_by_target", "unchanged"]
                .iter()
                .zip(changes)
            {
                expected.insert(format!("scenario.{name}.{c}"), n);
            }
            column
        })
        .collect();

    let findings = vec![
        FindingRow {
            id: "legacy_system_node_binding:ClusterRoleBinding/system:node".into(),
            severity: "high".into(),
            kind: "legacy_system_node_binding".into(),
            subject: "Group \"system:nodes\"".into(),
            binding: Some("ClusterRoleBinding system:node".into()),
            role: Some("ClusterRole/system:node".into()),
            detail: "binds ClusterRole system:node to node identities (see https://kubernetes.io/docs/reference/access-authn-authz/node/)".into(),
            evidence: vec!["get,list,watch secrets".into(), "create,update,patch nodes/status".into()],
            requests_using: 1394,
        },
        FindingRow {
            id: "node_user_without_nodes_group:system:node:<x>".into(),
            severity: "medium".into(),
            kind: "node_user_without_nodes_group".into(),
            subject: "User \"system:node:<x>\"".into(),
            binding: None,
            role: None,
            detail: "username has the system:node: prefix but not the system:nodes group".into(),
            evidence: vec!["groups: system:authenticated & <none>".into()],
            requests_using: 17,
        },
    ];
    for f in &findings {
        expected.insert(format!("finding.{}.requests_using", f.id), f.requests_using);
    }

    let report = HtmlReport {
        title: "nodeauthz analyze: incident-phases <3 phases>".into(),
        generated_from: vec!["fixtures/incident-phases/audit.log".into()],
        span: b.span(),
        outside_span: b.outside_span(),
        nodes: b.finish(),
        scenarios,
        findings,
        totals,
    };
    Fixture { report, expected }
}

#[test]
fn page_renders_in_chromium_and_every_number_equals_the_input() {
    let Fixture { report, expected } = fixture();
    let html = render_html(&report);

    // Self-contained: nothing fetched, nothing run.
    assert_eq!(external_references(&html), Vec::<String>::new());
    assert!(
        !html.contains("<script"),
        "no script, and names are escaped"
    );
    assert!(!html.contains("<link"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<iframe"));
    // The URL in a finding's text is shown as text.
    assert!(html.contains("(see https://kubernetes.io/docs/reference/access-authn-authz/node/)"));

    let dir = tempfile::tempdir().expect("temp dir");
    let page = write_report(dir.path(), &report).expect("write page");
    assert_eq!(page, dir.path().join("report.html"));
    assert_eq!(
        std::fs::read_to_string(&page).ok().as_deref(),
        Some(html.as_str())
    );

    let dom = String::from_utf8(run_chromium(dir.path(), &["--dump-dom".to_owned()], &page))
        .expect("DOM is UTF-8");
    assert!(
        dom.contains("Access over time"),
        "page did not render:\n{dom}"
    );
    assert!(!dom.contains("<script"), "a node name became markup");
    assert!(dom.contains("evil\"&lt;script&gt;alert(1)&lt;/script&gt;&amp;x"));

    let shown = metrics(&dom);
    assert_metrics_exactly(&dom, &shown, &expected);

    // The phases at a glance.
    for text in [
        "Forbidden from its first requests (2021-11-23 09:00:00 UTC)",
        "Regained access at 2021-11-23 09:10:00 UTC",
        "Lost access at 2021-11-23 09:15:00 UTC",
        "Regained access at 2021-11-23 09:22:00 UTC",
        "Requests from <b>2021-11-23 09:00:00 UTC</b> to <b>2021-11-23 09:30:00 UTC</b> · one bar = 10 s",
        // The time axis: a label every 5 minutes, the ends hanging inwards.
        "<span class=\"first\" style=\"left:0.000%\">09:00</span>",
        "<span style=\"left:16.575%\">09:05</span>",
        "<span class=\"last\" style=\"left:99.448%\">09:30</span>",
    ] {
        assert!(dom.contains(text), "page lacks {text:?}");
    }
    let regained_0910 = dom
        .matches("Regained access at 2021-11-23 09:10:00 UTC")
        .count();
    assert_eq!(regained_0910, 2, "node1 and node2 regain access at 09:10");

    // It paints: the screenshot has the size asked for and shows green, red and the red band.
    let png = dir.path().join("report.png");
    run_chromium(
        dir.path(),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1400,1000".to_owned(),
        ],
        &page,
    );
    let image = decode_png(&std::fs::read(&png).expect("screenshot written"));
    assert_eq!((image.width, image.height), (1400, 1000));
    let count = |rgb: [u8; 3]| image.pixels.iter().filter(|p| **p == rgb).count();
    let (green, red, band) = (
        count([0x2d, 0xa4, 0x4e]),
        count([0xcf, 0x22, 0x2e]),
        count([0xff, 0xe4, 0xe1]),
    );
    assert!(green > 2000, "allowed bars not painted: {green} pixels");
    assert!(red > 2000, "forbidden bars not painted: {red} pixels");
    assert!(band > 2000, "forbidden bands not painted: {band} pixels");
    if let Some(keep) = std::env::var_os("NODEAUTHZ_KEEP_REPORT") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).expect("keep dir");
        std::fs::copy(&page, keep.join("report.html")).expect("keep html");
        std::fs::copy(&png, keep.join("report.png")).expect("keep png");
    }
}

/// The incident fixture end to end: the scanner's kubelet requests into the timeline, the
/// phase boundaries found, and the page's node numbers equal to `expected.json`.
#[test]
fn incident_phases_fixture_regains_access_at_0910_on_every_node() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/incident-phases");
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture.join("expected.json")).expect("expected.json"),
    )
    .expect("expected.json is JSON");
    let (requests, _) = scan_collect(
        &[InputSpec::Path(fixture.join("audit.log"))],
        &ScanOptions {
            threads: 1,
            ..ScanOptions::default()
        },
    )
    .expect("scan");
    let times: Vec<i64> = requests.iter().filter_map(|r| r.time()).collect();
    assert_eq!(times.len(), requests.len(), "every request has a time");
    let first = times.iter().copied().min().expect("requests");
    let last = times.iter().copied().max().expect("requests");
    let mut b = TimelineBuilder::new(first, last);
    assert_eq!(b.grid().width, 10 * S, "30 minutes: 10 s bars");
    for r in &requests {
        let node = r
            .effective_user()
            .username
            .strip_prefix("system:node:")
            .unwrap_or("");
        let recorded =
            RecordedOutcome::from_log(r.decision.as_deref(), r.reason.as_deref(), r.response_code);
        assert!(b.add(node, r.time().unwrap_or(first), recorded.decision.into()));
    }
    let span = b.span();
    let nodes = b.finish();
    let names: Vec<&str> = nodes.iter().map(|n| n.node.as_str()).collect();
    assert_eq!(names, ["node1", "node2", "node3"]);

    let mut by_recorded = [0u64; 3];
    for n in &nodes {
        let want = &expected["nodes"][n.node.as_str()];
        let sum = n.sum();
        let got = [sum.total(), sum.allowed, sum.forbidden, sum.other];
        let want = ["requests", "allowed", "forbidden", "no_response"].map(|k| want[k].as_u64());
        assert_eq!(got.map(Some), want, "{}", n.node);
        by_recorded[0] += sum.allowed;
        by_recorded[1] += sum.forbidden;
        by_recorded[2] += sum.other;
        // Phase 1 refused from the first request; the legacy binding (09:10:00.41) gives
        // access back in the 09:10:00 bar; the switch to Node,RBAC changes nothing visible.
        assert_eq!(
            n.first_access().map(|(_, a)| a),
            Some(Access::Forbidden),
            "{}",
            n.node
        );
        assert_eq!(
            transitions(n),
            vec![Transition {
                kind: TransitionKind::RegainedAccess,
                at: t("2021-11-23T09:10:00Z"),
                last_before: t("2021-11-23T09:09:50Z"),
            }],
            "{}",
            n.node
        );
        // The apiserver restart (09:19:41 to 09:20:03): empty bars, no transition.
        let gap: Vec<u64> = n
            .buckets
            .iter()
            .filter(|b| b.start >= t("2021-11-23T09:19:50Z") && b.start < t("2021-11-23T09:20:00Z"))
            .map(|b| b.total())
            .collect();
        assert_eq!(gap, [0], "{}", n.node);
    }

    let total = expected["kubelet_requests"]
        .as_u64()
        .expect("kubelet_requests");
    let mut totals = Totals {
        requests: total,
        ..Totals::default()
    };
    for (k, n) in ["allowed", "forbidden", "no_response"]
        .iter()
        .zip(by_recorded)
    {
        totals.by_recorded.insert(k.to_string(), n);
    }
    let report = HtmlReport {
        title: "incident-phases".into(),
        generated_from: vec!["fixtures/incident-phases/audit.log".into()],
        span,
        nodes,
        outside_span: 0,
        scenarios: vec![],
        findings: vec![],
        totals,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let page = write_report(dir.path(), &report).expect("write page");
    let dom = String::from_utf8(run_chromium(dir.path(), &["--dump-dom".to_owned()], &page))
        .expect("DOM is UTF-8");
    let shown = metrics(&dom);
    for node in ["node1", "node2", "node3"] {
        let want = &expected["nodes"][node];
        for (metric, key) in [
            ("requests", "requests"),
            ("allowed", "allowed"),
            ("forbidden", "forbidden"),
            ("other", "no_response"),
        ] {
            assert_eq!(
                shown.get(&format!("node.{node}.{metric}")).copied(),
                want[key].as_u64(),
                "node.{node}.{metric}"
            );
        }
        assert_eq!(shown.get(&format!("node.{node}.transitions")), Some(&1));
    }
    assert_eq!(shown.get("total.requests"), Some(&total));
    assert_eq!(
        dom.matches("Regained access at 2021-11-23 09:10:00 UTC")
            .count(),
        3
    );
    if let Some(keep) = std::env::var_os("NODEAUTHZ_KEEP_REPORT") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).expect("keep dir");
        std::fs::copy(&page, keep.join("incident-phases.html")).expect("keep html");
    }
}

#[test]
fn empty_report_still_renders_every_section() {
    let report = HtmlReport {
        title: "empty".into(),
        generated_from: vec![],
        span: (0, 0),
        nodes: vec![],
        outside_span: 0,
        scenarios: vec![],
        findings: vec![],
        totals: Totals::default(),
    };
    let html = render_html(&report);
    for text in [
        "No kubelet requests from node identities.",
        "No scenario was evaluated.",
        "No findings.",
        "data-metric=\"total.requests\">0<",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert_eq!(metrics(&html).values().sum::<u64>(), 0);
}

#[test]
fn troubled_nodes_come_first() {
    let named = |node: &str, counts: &[(u64, u64, u64)]| NodeTimeline {
        node: node.into(),
        ..timeline(counts)
    };
    let mut nodes = vec![
        named("a-fine", &[(3, 0, 0)]),
        named("b-one-refusal", &[(3, 1, 0), (2, 0, 0)]),
        named("c-ends-forbidden", &[(3, 0, 0), (0, 2, 0)]),
        named("d-recovered", &[(0, 3, 0), (2, 0, 0)]),
        named("e-never-allowed", &[(0, 1, 0)]),
        named("f-silent", &[(0, 0, 0)]),
    ];
    troubled_first(&mut nodes);
    let order: Vec<&str> = nodes.iter().map(|n| n.node.as_str()).collect();
    assert_eq!(
        order,
        [
            "c-ends-forbidden",
            "e-never-allowed",
            "d-recovered",
            "b-one-refusal",
            "a-fine",
            "f-silent"
        ]
    );
}

/// A large cluster: the page draws MAX_DRAWN_NODES charts, says how many it left out, counts
/// every node, and stays a size a browser opens without trouble.
#[test]
fn large_clusters_draw_a_bounded_number_of_charts() {
    let t0 = t("2021-11-23T00:00:00Z");
    let end = t0 + 24 * HOUR - 1;
    let mut b = TimelineBuilder::new(t0, end);
    let nodes = MAX_DRAWN_NODES + 37;
    for n in 0..nodes {
        let node = format!("ip-10-0-{}-{}.ec2.internal", n / 250, n % 250);
        // Every bucket of the day busy with both outcomes: the largest chart there is.
        let mut at = t0 + n as i64;
        while at <= end {
            b.add(&node, at, Outcome::Allowed);
            b.add(&node, at + 1, Outcome::Forbidden);
            b.add(&node, at + 2, Outcome::Other);
            at += 5 * MIN;
        }
    }
    assert_eq!(b.grid().len, 288);
    let report = HtmlReport {
        title: "large".into(),
        generated_from: vec![],
        span: b.span(),
        outside_span: b.outside_span(),
        nodes: b.finish(),
        scenarios: vec![],
        findings: vec![],
        totals: Totals::default(),
    };
    let html = render_html(&report);
    assert_eq!(html.matches("class=\"row node\"").count(), MAX_DRAWN_NODES);
    let shown = metrics(&html);
    assert_eq!(shown.get("total.nodes"), Some(&(nodes as u64)));
    assert_eq!(shown.get("total.nodes_not_drawn"), Some(&37));
    assert_eq!(
        shown.keys().filter(|k| k.starts_with("bucket.")).count(),
        MAX_DRAWN_NODES * 288 * 3
    );
    assert!(
        html.len() < 40 << 20,
        "page of {} MiB for {MAX_DRAWN_NODES} full charts",
        html.len() >> 20
    );
}

/// Corrupt timestamps (year −292,000 to +292,000) must not panic the report.
#[test]
fn absurd_spans_render_without_panicking() {
    for (start, end) in [
        (i64::MIN, i64::MAX),
        (i64::MIN, i64::MIN),
        (i64::MAX, i64::MAX),
        (0, 400 * 365 * DAY),
    ] {
        let mut b = TimelineBuilder::new(start, end);
        assert!(b.add("node1", start, Outcome::Forbidden));
        assert!(b.add("node1", end, Outcome::Allowed));
        let report = HtmlReport {
            title: "absurd".into(),
            generated_from: vec![],
            span: b.span(),
            outside_span: b.outside_span(),
            nodes: b.finish(),
            scenarios: vec![],
            findings: vec![],
            totals: Totals::default(),
        };
        let shown = metrics(&render_html(&report));
        assert_eq!(shown.get("node.node1.requests"), Some(&2), "{start}..{end}");
    }
}

// ---------------------------------------------------------------- a small PNG reader

struct Image {
    width: usize,
    height: usize,
    pixels: Vec<[u8; 3]>,
}

/// Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes).
fn decode_png(bytes: &[u8]) -> Image {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut pos = 8;
    let (mut width, mut height, mut channels) = (0usize, 0usize, 0usize);
    let mut idat = Vec::new();
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "bit depth");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    c => panic!("colour type {c}"),
                };
                assert_eq!(data[12], 0, "interlaced");
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("inflate");
    let stride = width * channels;
    assert_eq!(raw.len(), height * (stride + 1));
    let mut prev = vec![0u8; stride];
    let mut pixels = Vec::with_capacity(width * height);
    for row in raw.chunks(stride + 1) {
        let filter = row[0];
        let mut cur = row[1..].to_vec();
        for i in 0..stride {
            let a = if i >= channels { cur[i - channels] } else { 0 };
            let b = prev[i];
            let c = if i >= channels { prev[i - channels] } else { 0 };
            let add = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("filter {f}"),
            };
            cur[i] = cur[i].wrapping_add(add);
        }
        pixels.extend(cur.chunks(channels).map(|p| [p[0], p[1], p[2]]));
        prev = cur;
    }
    Image {
        width,
        height,
        pixels,
    }
}
