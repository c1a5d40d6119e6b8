//! The pre-filter never changes the answer: scanning with it and without it (`--no-prefilter`)
//! gives the same kubelet requests, object events, event and request counts and bad lines, on
//! generated logs that mix node identities (also JSON-escaped as `\u0073ystem:node:` or
//! `system\u003Anode:`), impersonated nodes, kubelet user agents (also as `kubelet\/` and
//! `kubelet\u002f`), graph-changing object events, EventLists, AKS records (alone and in
//! batches) and garbage. The result does not depend on the chunk
//! size or the number of threads either, nor on whether the log is read mapped or gzipped.

use std::io::Write;

use nodeauthz::input::InputSpec;
use nodeauthz::scan::{scan_collect, ScanOptions};
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
enum Line {
    Event {
        id: u8,
        stage: u8,
        user: u8,
        imp: bool,
        agent: u8,
        verb: u8,
        resource: u8,
        code: u16,
        escape: u8,
    },
    List(Vec<Line>),
    /// AKS records of the events (see `render`).
    Envelope {
        form: u8,
        events: Vec<Line>,
    },
    Garbage(String),
    /// A kubelet's RequestReceived or ResponseStarted event (`started`; `user` is a node's) in
    /// Go's key order (so that the pre-filter may take it unparsed), cut short at byte `at`
    /// after the node's name starts and closed with `}` (`,}` at ResponseStarted): what a
    /// crash can leave mid-line. Every cut line has the auditID `cut`: those after the first
    /// meet their request again, and a ResponseStarted one replaces a RequestReceived one,
    /// which it must give back (it is never whole).
    Cut {
        user: u8,
        at: u16,
        started: bool,
    },
    Blank,
}

const USERS: [&str; 4] = [
    "system:node:n1",
    "system:node:n2",
    "admin",
    "system:serviceaccount:kube-system:x",
];
const AGENTS: [&str; 3] = [
    "kubelet/v1.30.0 (linux/amd64)",
    "kubectl/v1.30.0",
    "kube-scheduler/v1.30.0",
];
const VERBS: [&str; 6] = ["get", "list", "watch", "create", "patch", "delete"];
const RESOURCES: [&str; 5] = [
    "pods",
    "secrets",
    "persistentvolumeclaims",
    "nodes",
    "leases",
];
const STAGES: [&str; 4] = [
    "RequestReceived",
    "ResponseStarted",
    "ResponseComplete",
    "Panic",
];

fn event_value(l: &Line) -> serde_json::Value {
    let Line::Event {
        id,
        stage,
        user,
        imp,
        agent,
        verb,
        resource,
        code,
        ..
    } = l
    else {
        unreachable!()
    };
    let mut e = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request",
        "auditID": format!("id-{id}"), "stage": STAGES[*stage as usize % 4],
        "requestURI": format!("/api/v1/namespaces/ns/{}/x", RESOURCES[*resource as usize % 5]),
        "verb": VERBS[*verb as usize % 6],
        "user": {"username": USERS[*user as usize % 4], "groups": ["system:authenticated"]},
        "userAgent": AGENTS[*agent as usize % 3],
        "objectRef": {"resource": RESOURCES[*resource as usize % 5], "namespace": "ns", "name": "x"},
        "responseStatus": {"code": code},
        "requestObject": {"spec": {"nodeName": "n1"}},
        "requestReceivedTimestamp": format!("2024-01-01T00:00:{:02}.000000Z", id % 60),
        "stageTimestamp": format!("2024-01-01T00:00:{:02}.000001Z", id % 60),
    });
    if *imp {
        e["impersonatedUser"] = json!({"username": "system:node:n3", "groups": ["system:nodes"]});
    }
    // The authorizer's annotations come with the response, after the times in Go's order
    // (where the pre-filter still finds a ResponseStarted event's times).
    if *stage % 4 != 0 {
        e["annotations"] = json!({
            "authorization.k8s.io/decision": "allow",
            "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding \"x\" of ClusterRole \"y\" to Group \"z\"",
        });
    }
    e
}

/// The keys of an audit event in the order Go's encoder writes them.
const GO_ORDER: [&str; 17] = [
    "kind",
    "apiVersion",
    "level",
    "auditID",
    "stage",
    "requestURI",
    "verb",
    "user",
    "impersonatedUser",
    "sourceIPs",
    "userAgent",
    "objectRef",
    "responseStatus",
    "requestObject",
    "requestReceivedTimestamp",
    "stageTimestamp",
    "annotations",
];

/// An event as the apiserver writes it: keys in Go's order, `username` first in `user`.
fn go_ordered(e: &serde_json::Value) -> String {
    let fields: Vec<String> = GO_ORDER
        .iter()
        .filter_map(|&k| {
            let v = e.get(k)?;
            let v = match k {
                "user" | "impersonatedUser" => format!(
                    r#"{{"username":{},"groups":{}}}"#,
                    v["username"],
                    v.get("groups").cloned().unwrap_or(json!([]))
                ),
                _ => v.to_string(),
            };
            Some(format!("{}:{v}", json!(k)))
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}

fn render(l: &Line) -> String {
    match l {
        Line::Event { escape, .. } => {
            let s = if *escape == 7 {
                go_ordered(&event_value(l))
            } else {
                event_value(l).to_string()
            };
            // Escapes a JSON writer may legally use and Go's never does.
            match escape % 7 {
                0 => s,
                1 => s.replace("\"system:node:", "\"\\u0073ystem:node:"),
                2 => s.replace("kubelet/", "kubelet\\/"),
                3 => s.replace("system:node:", "system\\u003Anode:"),
                4 => s.replace("kubelet/", "kubelet\\u002f"),
                5 => s
                    .replace("\"pods\"", "\"\\u0070ods\"")
                    .replace("\"create\"", "\"cr\\u0065ate\""),
                // Go's own escape of `&` in a query string changes nothing.
                _ => s.replace("/x\"", "/x?limit=1\\u0026watch=1\""),
            }
        }
        Line::List(items) => {
            let items: Vec<_> = items
                .iter()
                .filter(|i| matches!(i, Line::Event { .. }))
                .map(event_value)
                .collect();
            json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items})
                .to_string()
        }
        Line::Envelope { form, events } => {
            let record = |e: &Line, as_text: bool| {
                let log = if as_text {
                    json!(render(e))
                } else {
                    event_value(e)
                };
                json!({"category": "kube-audit", "properties": {"log": log, "stream": "stdout"}})
            };
            let first = &events[0];
            match form % 4 {
                0 => record(first, false).to_string(),
                1 => record(first, true).to_string(),
                // A batch: records of both forms, and one of another category.
                2 => {
                    let mut records: Vec<_> =
                        events.iter().enumerate().map(|(i, e)| record(e, i % 2 == 0)).collect();
                    records.push(json!({"category": "kube-apiserver", "properties": {"log": "I0101 apiserver started"}}));
                    json!({"records": records}).to_string()
                }
                _ => json!({"category": "kube-audit", "properties": {"log": render(first)[..20].to_string()}}).to_string(),
            }
        }
        Line::Garbage(s) => s.clone(),
        Line::Cut { user, at, started } => {
            let mut e = event_value(&go_ordered_event(0, u8::from(*started), *user));
            e["auditID"] = json!("cut");
            let s = go_ordered(&e);
            // Cut after the node's name starts, so that the line keeps its needle: a line
            // without one that looks like a whole event is skipped unparsed, bad or not (the
            // pre-filter's known blind spot, which cut lines are not here to show).
            let needle = s.find("system:node:").unwrap() + "system:node:".len();
            let at = needle + *at as usize % (s.len() - needle);
            if *started {
                // Never whole (a trailing comma, or one in a string cut short): a good one
                // would replace a bad RequestReceived line of its request, unread (the
                // pre-filter's known blind spot, which cut lines are not here to show).
                format!("{},}}", &s[..at])
            } else {
                format!("{}}}", &s[..at])
            }
        }
        Line::Blank => String::new(),
    }
}

fn event() -> impl Strategy<Value = Line> {
    (
        0u8..40,
        0u8..4,
        0u8..4,
        any::<bool>(),
        0u8..3,
        0u8..6,
        0u8..5,
        prop::sample::select(vec![200u16, 201, 403, 404]),
        // 7: in Go's key order, as the apiserver writes (which the pre-filter may take
        // unparsed when it is a kubelet's RequestReceived event).
        prop::sample::select(vec![0u8, 1, 2, 3, 7, 7, 7, 7]),
    )
        .prop_map(
            |(id, stage, user, imp, agent, verb, resource, code, escape)| Line::Event {
                id,
                stage,
                user,
                imp,
                agent,
                verb,
                resource,
                code,
                escape,
            },
        )
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        8 => event(),
        1 => prop::collection::vec(event(), 0..4).prop_map(Line::List),
        1 => (0u8..4, prop::collection::vec(event(), 1..4)).prop_map(|(form, events)| Line::Envelope { form, events }),
        1 => "[ -~]{0,40}".prop_map(Line::Garbage),
        1 => (0u8..2, any::<u16>(), any::<bool>()).prop_map(|(user, at, started)| Line::Cut { user, at, started }),
        1 => Just(Line::Blank),
    ]
}

type Scanned = (
    Vec<nodeauthz::record::KubeletRequest>,
    nodeauthz::scan::ScanSummary,
);

/// Scans one file holding `text` with each of the options (one file, so that reports name the
/// same path).
fn scan_both(text: &str, a: &ScanOptions, b: &ScanOptions) -> (Scanned, Scanned) {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    let input = [InputSpec::Path(f.path().to_path_buf())];
    (
        scan_collect(&input, a).unwrap(),
        scan_collect(&input, b).unwrap(),
    )
}

/// Two scans found the same requests, object events and counts (bad lines aside).
fn same_reading((ra, sa): &Scanned, (rb, sb): &Scanned) -> Result<(), TestCaseError> {
    prop_assert_eq!(ra, rb);
    prop_assert_eq!(&sa.object_events, &sb.object_events);
    prop_assert_eq!(&sa.pod_sightings, &sb.pod_sightings);
    prop_assert_eq!(
        (sa.lines_read, sa.lines_used, sa.lines_skipped, sa.lines_bad),
        (sb.lines_read, sb.lines_used, sb.lines_skipped, sb.lines_bad)
    );
    prop_assert_eq!((sa.events, sa.requests), (sb.events, sb.requests));
    Ok(())
}

/// Scans `text` as a plain file with `a` and as a gzip file with `b`.
fn scan_plain_and_gzip(text: &str, a: &ScanOptions, b: &ScanOptions) -> (Scanned, Scanned) {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("audit.log");
    std::fs::write(&plain, text).unwrap();
    let gz = dir.path().join("audit.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    (
        scan_collect(&[InputSpec::Path(plain)], a).unwrap(),
        scan_collect(&[InputSpec::Path(gz)], b).unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn prefilter_is_equivalent_to_parsing_everything(lines in prop::collection::vec(line(), 1..60), trailing_newline in any::<bool>()) {
        let mut text = lines.iter().map(render).collect::<Vec<_>>().join("\n");
        if trailing_newline {
            text.push('\n');
        }
        let with = ScanOptions { threads: 1, ..ScanOptions::default() };
        let without = ScanOptions { prefilter: false, ..with.clone() };
        let ((ra, sa), (rb, sb)) = scan_both(&text, &with, &without);
        prop_assert_eq!(&ra, &rb);
        prop_assert_eq!(&sa.object_events, &sb.object_events);
        prop_assert_eq!(&sa.pod_sightings, &sb.pod_sightings);
        prop_assert_eq!(sa.events, sb.events);
        prop_assert_eq!(sa.requests, sb.requests);
        prop_assert_eq!(sa.kubelet_events, sb.kubelet_events);
        prop_assert_eq!(sa.lines_read, sb.lines_read);
        prop_assert_eq!(&sa.bad, &sb.bad);
        prop_assert_eq!(sa.lines_read, sa.lines_used + sa.lines_skipped + sa.lines_bad);
        prop_assert_eq!(sb.lines_read, sb.lines_used + sb.lines_skipped + sb.lines_bad);
        // Every event that names a node (escaped or not) was found.
        let kubelet_ids: std::collections::HashSet<_> = ra.iter().map(|r| r.audit_id.clone()).collect();
        prop_assert_eq!(kubelet_ids.len(), ra.len());
        prop_assert_eq!(sa.kubelet_requests as usize, ra.len());
    }

    #[test]
    fn prefilter_is_equivalent_to_parsing_everything_in_any_chunks(lines in prop::collection::vec(line(), 1..60), chunk in 1usize..300) {
        // Small chunks: a request's events meet in the global deduplication, not in a chunk.
        let text = lines.iter().map(render).collect::<Vec<_>>().join("\n");
        let with = ScanOptions { threads: 1, chunk_size: chunk, ..ScanOptions::default() };
        let without = ScanOptions { prefilter: false, ..with.clone() };
        let ((ra, sa), (rb, sb)) = scan_both(&text, &with, &without);
        prop_assert_eq!(&ra, &rb);
        prop_assert_eq!(&sa.object_events, &sb.object_events);
        prop_assert_eq!(&sa.pod_sightings, &sb.pod_sightings);
        prop_assert_eq!((sa.events, sa.requests), (sb.events, sb.requests));
        prop_assert_eq!((sa.kubelet_events, sa.kubelet_requests), (sb.kubelet_events, sb.kubelet_requests));
        prop_assert_eq!((sa.lines_read, sa.lines_bad), (sb.lines_read, sb.lines_bad));
        prop_assert_eq!(&sa.bad, &sb.bad);
    }

    #[test]
    fn result_does_not_depend_on_chunk_size_or_threads(lines in prop::collection::vec(line(), 1..40), chunk in 1usize..300, threads in 1usize..4) {
        let text = lines.iter().map(render).collect::<Vec<_>>().join("\n");
        let base = ScanOptions { threads: 1, ..ScanOptions::default() };
        let other = ScanOptions { threads, chunk_size: chunk, ..ScanOptions::default() };
        let (a, b) = scan_both(&text, &base, &other);
        same_reading(&a, &b)?;
        prop_assert_eq!(&a.1.bad, &b.1.bad);
    }

    #[test]
    fn a_gzip_log_reads_like_the_plain_one(lines in prop::collection::vec(line(), 1..40), chunk in 1usize..300, threads in 1usize..4) {
        // Many decoded blocks in flight at once, merged in order. The log starts with an event:
        // a stream's shape (lines, documents, not a log) is sniffed from its first block only,
        // which with blocks this small can be a single garbage line, where a mapped file is
        // sniffed from its first hundred lines (a known difference, unchanged here).
        let first = Line::Event { id: 99, stage: 2, user: 0, imp: false, agent: 0, verb: 0, resource: 0, code: 200, escape: 0 };
        let text = std::iter::once(&first).chain(&lines).map(render).collect::<Vec<_>>().join("\n");
        let base = ScanOptions { threads: 1, ..ScanOptions::default() };
        let other = ScanOptions { threads, chunk_size: chunk, ..ScanOptions::default() };
        let (a, b) = scan_plain_and_gzip(&text, &base, &other);
        same_reading(&a, &b)?;
        // The same bad lines, but for the name of the file.
        let bad = |s: &nodeauthz::scan::ScanSummary| s.bad.examples.iter().map(|b| (b.kind, b.line, b.reason.clone())).collect::<Vec<_>>();
        prop_assert_eq!(bad(&a.1), bad(&b.1));
        prop_assert_eq!(&a.1.bad.counts, &b.1.bad.counts);
    }
}

/// A completed `get` of a pod by node n1, auditID `id-<id>`.
fn node_get(id: u8) -> Line {
    Line::Event {
        id,
        stage: 2,
        user: 0,
        imp: false,
        agent: 0,
        verb: 0,
        resource: 0,
        code: 200,
        escape: 0,
    }
}

/// `lines` as concatenated pretty-printed documents (garbage and blank lines as they are),
/// starting with an event so that the input reads as documents.
fn render_documents(lines: &[Line]) -> String {
    let first = node_get(98);
    std::iter::once(&first)
        .chain(lines)
        .map(|l| match l {
            Line::Event { .. } | Line::List(_) | Line::Envelope { .. } => {
                let v: serde_json::Value = serde_json::from_str(&render(l)).unwrap();
                serde_json::to_string_pretty(&v).unwrap()
            }
            other => render(other),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The bad lines of a scan, but for the name of the file.
fn bad_lines(s: &nodeauthz::scan::ScanSummary) -> Vec<(nodeauthz::scan::BadKind, u64, String)> {
    s.bad
        .examples
        .iter()
        .map(|b| (b.kind, b.line, b.reason.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn documents_read_the_same_wherever_they_are_cut(lines in prop::collection::vec(line(), 0..30), chunk in 1usize..2000, threads in 1usize..4) {
        // Pretty-printed documents are cut between documents and parsed in parallel, in a
        // mapped file as in a gzip stream (cut as its blocks come, never held whole); garbage
        // between them is bad up to the next cut point, wherever the pieces end.
        let text = render_documents(&lines);
        let whole = ScanOptions { threads: 1, ..ScanOptions::default() };
        let cut = ScanOptions { threads, chunk_size: chunk, ..ScanOptions::default() };
        let (mapped, cut_mapped) = scan_both(&text, &whole, &cut);
        let (_, streamed) = scan_plain_and_gzip(&text, &whole, &cut);
        prop_assert_eq!(mapped.1.inputs[0].shape, "documents");
        prop_assert_eq!(mapped.1.lines_read, mapped.1.lines_used + mapped.1.lines_skipped + mapped.1.lines_bad);
        for other in [&cut_mapped, &streamed] {
            prop_assert_eq!(other.1.inputs[0].shape, "documents");
            same_reading(&mapped, other)?;
            prop_assert_eq!(bad_lines(&mapped.1), bad_lines(&other.1));
            prop_assert_eq!(&mapped.1.bad.counts, &other.1.bad.counts);
        }
    }
}

#[test]
fn a_document_over_the_limit_is_skipped_and_the_rest_read() {
    // Three pretty-printed events; the second has a line longer than the limit (a line the
    // block reader of a stream drops unread) in one copy, and is longer than the limit over
    // many short lines in the other. A mapped file and a gzip stream, whatever its block size,
    // skip the same lines with the same report.
    let event = |id: u8| {
        let v = event_value(&node_get(id));
        serde_json::to_string_pretty(&v).unwrap()
    };
    let (first, third) = (event(1), event(3));
    // A pretty-printed event is about 1 KB, under the limit of 2 KB below.
    assert!(first.len() < 1500);
    let lines = |s: &str| s.lines().count() as u64;
    let long_line = event(2).replace(
        "\"kind\": \"Event\"",
        &format!("\"kind\": \"Event\", \"pad\": [\"{}\"]", "x".repeat(2500)),
    );
    // The long line opens an array that a later line closes: the stream must know where the
    // document ends without having read that line.
    let open_array = event(2).replace(
        "\"kind\": \"Event\"",
        &format!(
            "\"kind\": \"Event\", \"pad\": [\"{}\",\n\"y\"]",
            "x".repeat(2500)
        ),
    );
    let many_lines = event(2).replace("\"kind\": \"Event\",", &"\"pad\": 1,\n".repeat(300));
    for (second, why) in [
        (long_line, "a line over the limit"),
        (open_array, "a line over the limit that opens a bracket"),
        (many_lines, "a document over the limit"),
    ] {
        let text = format!("{first}\n{second}\n{third}\n");
        for chunk in [64, 1000, 1 << 20] {
            let mapped = ScanOptions {
                max_line_bytes: 2000,
                ..ScanOptions::default()
            };
            let streamed = ScanOptions {
                threads: 2,
                chunk_size: chunk,
                max_line_bytes: 2000,
                ..ScanOptions::default()
            };
            let (a, b) = scan_plain_and_gzip(&text, &mapped, &streamed);
            same_reading(&a, &b).unwrap();
            assert_eq!(bad_lines(&a.1), bad_lines(&b.1), "{why}, blocks of {chunk}");
            let (records, s) = b;
            assert_eq!(s.inputs[0].shape, "documents", "{why}");
            assert_eq!(s.lines_read, lines(&text), "{why}");
            // The first and the third event are read; the second is one bad entry.
            assert_eq!(s.lines_used, lines(&first) + lines(&third), "{why}");
            let ids: Vec<&str> = records.iter().map(|r| r.audit_id.as_str()).collect();
            assert_eq!(ids, ["id-1", "id-3"], "{why}");
            let n = lines(&second);
            assert_eq!(
                bad_lines(&s),
                [(
                    nodeauthz::scan::BadKind::LineTooLong,
                    lines(&first) + 1,
                    format!("JSON document (or line in one) longer than the limit of 2000 bytes; {n} line(s) skipped")
                )],
                "{why}, blocks of {chunk}"
            );
            assert_eq!(s.lines_bad, n, "{why}");
        }
    }
}

#[test]
fn cloud_records_are_parsed_whatever_they_hold() {
    // Records of users' events, without a category: nothing in them is a kubelet's, and the
    // first auditID shows unescaped, yet a batch holds two events, not one.
    let admin = |id: u8| event_value(&admin_event(id, 4, 0));
    let text = [
        json!({"records": [{"properties": {"log": admin(1)}}, {"properties": {"log": admin(2)}}]}),
        json!({"properties": {"log": admin(3)}}),
    ]
    .map(|v| v.to_string())
    .join("\n");
    let ((_, sa), (_, sb)) = with_and_without_prefilter(&text);
    assert_eq!((sa.events, sa.requests, sa.lines_used), (3, 3, 2));
    assert_eq!((sb.events, sb.requests, sb.lines_used), (3, 3, 2));
}

/// A successful `get` of pods, request `id` at `stage` (an index into [`STAGES`]) by `user` (an
/// index into [`USERS`]), rendered in Go's key order.
fn go_ordered_event(id: u8, stage: u8, user: u8) -> Line {
    Line::Event {
        id,
        stage,
        user,
        imp: false,
        agent: 0,
        verb: 0,
        resource: 0,
        code: 200,
        escape: 7,
    }
}

/// A kubelet's event of request `id` at `stage` (an index into [`STAGES`]), in Go's key order.
fn go_kubelet(id: u8, stage: u8) -> String {
    render(&go_ordered_event(id, stage, 0))
}

/// A kubelet's RequestReceived event of auditID `cut-<n>` in Go's key order, cut short after
/// its username and closed with `}` (the user object's, none for the event): malformed JSON whose
/// head reads as a good event.
fn cut_received(n: u8) -> String {
    let whole = go_kubelet(0, 0).replace("\"id-0\"", &format!("\"cut-{n}\""));
    let at = whole.find(",\"groups\"").unwrap();
    format!("{}}}", &whole[..at])
}

/// The auditID, stage and line of each record.
fn ids_stages_and_lines(
    records: &[nodeauthz::record::KubeletRequest],
) -> Vec<(&str, Option<nodeauthz::record::Stage>, u64)> {
    records
        .iter()
        .map(|r| (r.audit_id.as_str(), r.stage, r.pos.line))
        .collect()
}

/// Used lines, events, requests, kubelet events and kubelet requests of a scan.
fn request_counts(s: &nodeauthz::scan::ScanSummary) -> (u64, u64, u64, u64, u64) {
    (
        s.lines_used,
        s.events,
        s.requests,
        s.kubelet_events,
        s.kubelet_requests,
    )
}

/// Scans `text` with the pre-filter and without it (`--no-prefilter`), on one thread.
fn with_and_without_prefilter(text: &str) -> (Scanned, Scanned) {
    let with = ScanOptions {
        threads: 1,
        ..ScanOptions::default()
    };
    let without = ScanOptions {
        prefilter: false,
        ..with.clone()
    };
    scan_both(text, &with, &without)
}

#[test]
fn a_request_received_line_found_bad_is_reported_where_it_is() {
    // Line 2 is taken unparsed and read, only at the end, because nothing replaced it: it is
    // reported between lines 1 and 5, and counted as a bad line, not an event or a request.
    let text = [
        "not json".to_string(),
        cut_received(1),
        go_kubelet(7, 0),
        go_kubelet(7, 2),
        "still not json".to_string(),
    ]
    .join("\n");
    let ((records, s), (records_without, s_without)) = with_and_without_prefilter(&text);
    let bad: Vec<_> = s
        .bad
        .examples
        .iter()
        .map(|b| (b.kind, b.line, b.reason.as_str()))
        .collect();
    assert_eq!(
        bad,
        [
            (
                nodeauthz::scan::BadKind::MalformedJson,
                1,
                "malformed JSON: expected ident at line 1 column 2"
            ),
            (
                nodeauthz::scan::BadKind::MalformedJson,
                2,
                "malformed JSON: EOF while parsing an object at line 1 column 202"
            ),
            (
                nodeauthz::scan::BadKind::MalformedJson,
                5,
                "malformed JSON: expected value at line 1 column 1"
            ),
        ]
    );
    assert_eq!(
        (s.lines_read, s.lines_used, s.lines_skipped, s.lines_bad),
        (5, 2, 0, 3)
    );
    assert_eq!(
        (s.events, s.requests, s.kubelet_events, s.kubelet_requests),
        (2, 1, 2, 1)
    );
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].audit_id, "id-7");
    assert_eq!(
        records[0].stage,
        Some(nodeauthz::record::Stage::ResponseComplete)
    );
    // Exactly as parsing every line reads it.
    assert_eq!(records, records_without);
    assert_eq!(s.bad, s_without.bad);
    assert_eq!(request_counts(&s), request_counts(&s_without));
}

#[test]
fn a_request_received_line_read_late_is_the_request_when_nothing_replaces_it() {
    // A request with no later event (a watch cut off, a lost event): its line, taken unparsed,
    // is read at the end into the record parsing would have built.
    let text = [go_kubelet(3, 0), go_kubelet(4, 0), go_kubelet(4, 2)].join("\n");
    let ((records, s), (records_without, s_without)) = with_and_without_prefilter(&text);
    let ids = ids_stages_and_lines(&records);
    use nodeauthz::record::Stage;
    assert_eq!(
        ids,
        [
            ("id-4", Some(Stage::ResponseComplete), 3),
            ("id-3", Some(Stage::RequestReceived), 1)
        ]
    );
    assert_eq!(records, records_without);
    assert_eq!(request_counts(&s), (3, 3, 2, 3, 2));
    let span = |s: &nodeauthz::scan::ScanSummary| {
        (s.inputs[0].first_timestamp, s.inputs[0].last_timestamp)
    };
    assert_eq!(span(&s), span(&s_without));
    assert!(span(&s).0.is_some());
}

#[test]
fn a_bad_request_received_line_replaced_by_its_completion_goes_unreported() {
    // The price of not parsing a kubelet's RequestReceived line: like a line the pre-filter
    // skips, it is taken at its word, and when its request's ResponseComplete replaces it,
    // nothing ever reads the rest of it. Parsing every line (--no-prefilter) reports it.
    // (A first line that is an event, so that the file is read as lines: one that is not
    // complete JSON makes it read as pretty-printed documents.)
    let completion = go_kubelet(0, 2).replace("\"id-0\"", "\"cut-1\"");
    let text = [go_kubelet(5, 2), cut_received(1), completion].join("\n");
    let ((records, s), (records_without, s_without)) = with_and_without_prefilter(&text);
    assert_eq!(records, records_without);
    assert_eq!(records.len(), 2);
    assert_eq!(
        (s.lines_used, s.lines_bad, s.events, s.kubelet_events),
        (3, 0, 3, 3)
    );
    assert!(s.bad.examples.is_empty());
    assert_eq!(
        (
            s_without.lines_used,
            s_without.lines_bad,
            s_without.events,
            s_without.kubelet_events
        ),
        (2, 1, 2, 2)
    );
    assert_eq!(s_without.bad.examples[0].line, 2);
    // --strict parses such lines, and stops at the first.
    let strict = ScanOptions {
        threads: 1,
        strict: true,
        ..ScanOptions::default()
    };
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    let err = scan_collect(&[InputSpec::Path(f.path().to_path_buf())], &strict).unwrap_err();
    assert!(
        matches!(err, nodeauthz::scan::ScanError::Strict { line: 2, .. }),
        "{err}"
    );
}

/// Scans `text` with the pre-filter and without it, in one chunk and in chunks of a line,
/// and asserts that both read it alike: the same records, bad lines and counts. The bad lines
/// of each chunk size.
fn read_as_parsing_every_line_reads(name: &str, text: &str) -> Vec<u64> {
    let mut lines_bad = Vec::new();
    for chunk in [ScanOptions::default().chunk_size, 1] {
        let with = ScanOptions {
            threads: 1,
            chunk_size: chunk,
            ..ScanOptions::default()
        };
        let without = ScanOptions {
            prefilter: false,
            ..with.clone()
        };
        let ((ra, sa), (rb, sb)) = scan_both(text, &with, &without);
        assert_eq!(ra, rb, "{name}, chunk {chunk}");
        assert_eq!(sa.bad, sb.bad, "{name}, chunk {chunk}");
        let counts = |s: &nodeauthz::scan::ScanSummary| (s.lines_bad, request_counts(s));
        assert_eq!(counts(&sa), counts(&sb), "{name}, chunk {chunk}");
        lines_bad.push(sa.lines_bad);
    }
    lines_bad
}

#[test]
fn a_request_received_line_met_again_is_read_then() {
    // A line taken unparsed that meets its request again, in its chunk or later, and is not
    // replaced there (the other event is no better: another RequestReceived, an event without
    // a stage, or one of a request already emitted), is read then, as parsing every line reads
    // it: a bad one is reported, and the other event is the request's.
    let again = |line: String| line.replace("\"id-0\"", "\"cut-1\"");
    let stageless = again(go_kubelet(0, 0)).replace(r#""stage":"RequestReceived","#, "");
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "then a good copy",
            vec![cut_received(1), again(go_kubelet(0, 0))],
        ),
        ("then no stage", vec![cut_received(1), stageless.clone()]),
        ("after no stage", vec![stageless, cut_received(1)]),
        ("twice", vec![cut_received(1), cut_received(1)]),
        (
            "after its completion",
            vec![again(go_kubelet(0, 2)), cut_received(1)],
        ),
    ];
    for (name, lines) in cases {
        // A first line that is an event, so that the input is read as lines.
        let text = std::iter::once(go_kubelet(5, 2))
            .chain(lines)
            .collect::<Vec<_>>()
            .join("\n");
        // Every case has one bad line (the cut one, or both copies of it).
        let bad = if name == "twice" { 2 } else { 1 };
        for lines_bad in read_as_parsing_every_line_reads(name, &text) {
            assert_eq!(lines_bad, bad, "{name}");
        }
    }
}

/// A kubelet's event of auditID `cut-<n>` at `stage` (an index into [`STAGES`]) in Go's key
/// order, cut short after its username as [`cut_received`] is.
fn cut_at_stage(n: u8, stage: u8) -> String {
    let whole = go_kubelet(0, stage).replace("\"id-0\"", &format!("\"cut-{n}\""));
    let at = whole.find(",\"groups\"").unwrap();
    format!("{}}}", &whole[..at])
}

/// The good event of auditID `cut-<n>` at `stage`.
fn whole_at_stage(n: u8, stage: u8) -> String {
    go_kubelet(0, stage).replace("\"id-0\"", &format!("\"cut-{n}\""))
}

#[test]
fn a_bad_response_started_line_gives_its_request_back_to_the_event_it_replaced() {
    // A watch's ResponseStarted line, taken unparsed, replaces its RequestReceived event in
    // its chunk, which it keeps as its fallback. Found bad when it is read (at the end, when
    // its request's next event is no better, or when the reading is cut between chunks), it
    // is reported, and the RequestReceived event is the request's, as parsing every line
    // finds.
    let cases: Vec<(&str, Vec<String>, u64)> = vec![
        (
            "read at the end",
            vec![whole_at_stage(1, 0), cut_at_stage(1, 1)],
            1,
        ),
        (
            "read when its request comes again",
            vec![
                whole_at_stage(1, 0),
                cut_at_stage(1, 1),
                whole_at_stage(1, 0),
            ],
            1,
        ),
        (
            "its fallback parsed (keys not in Go's order)",
            vec![
                render(&Line::Event {
                    id: 0,
                    stage: 0,
                    user: 0,
                    imp: false,
                    agent: 0,
                    verb: 0,
                    resource: 0,
                    code: 200,
                    escape: 0,
                })
                .replace("\"id-0\"", "\"cut-1\""),
                cut_at_stage(1, 1),
            ],
            1,
        ),
        (
            "its fallback bad too",
            vec![cut_at_stage(1, 0), cut_at_stage(1, 1)],
            2,
        ),
        (
            "its fallback bad too, read when a third comes",
            vec![cut_at_stage(1, 0), cut_at_stage(1, 1), whole_at_stage(1, 0)],
            2,
        ),
        (
            "both bad, read after another request's event",
            vec![
                cut_at_stage(1, 0),
                cut_at_stage(1, 1),
                go_kubelet(3, 0),
                whole_at_stage(1, 0),
            ],
            2,
        ),
    ];
    for (name, lines, bad_lines) in cases {
        // A first line that is an event, so that the input is read as lines.
        // (Ended by a newline: an unterminated last line is always parsed.)
        let text = std::iter::once(go_kubelet(5, 2))
            .chain(lines)
            .map(|l| l + "\n")
            .collect::<String>();
        for lines_bad in read_as_parsing_every_line_reads(name, &text) {
            assert_eq!(lines_bad, bad_lines, "{name}");
        }
    }
    // The first case, exactly: the request is its RequestReceived event, and the cut line
    // is reported where it is; also when a chunk starts at it (the request's two lines in a
    // chunk after the first, whose line numbers are moved on).
    // (Ended by a newline: an unterminated last line is always parsed.)
    let text = [
        go_kubelet(5, 2),
        whole_at_stage(1, 0),
        cut_at_stage(1, 1),
        String::new(),
    ]
    .join("\n");
    for chunk in [
        ScanOptions::default().chunk_size,
        go_kubelet(5, 2).len() + 1,
    ] {
        let options = ScanOptions {
            threads: 1,
            chunk_size: chunk,
            ..ScanOptions::default()
        };
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        let (records, s) =
            scan_collect(&[InputSpec::Path(f.path().to_path_buf())], &options).unwrap();
        use nodeauthz::record::Stage;
        let ids = ids_stages_and_lines(&records);
        assert_eq!(
            ids,
            [
                ("id-5", Some(Stage::ResponseComplete), 1),
                ("cut-1", Some(Stage::RequestReceived), 2)
            ],
            "chunk {chunk}"
        );
        assert_eq!(
            bad_lines(&s),
            [(
                nodeauthz::scan::BadKind::MalformedJson,
                3,
                "malformed JSON: EOF while parsing an object at line 1 column 202".to_string()
            )],
            "chunk {chunk}"
        );
        assert_eq!(request_counts(&s), (2, 2, 2, 2, 2), "chunk {chunk}");
    }
}

#[test]
fn requests_given_up_on_are_in_the_order_of_the_events_they_are_read_from() {
    // At the end, request `cut-1` is its ResponseStarted line (taken unparsed, line 4) with
    // its RequestReceived event (line 2) as fallback, and request `id-3` is its
    // RequestReceived event (line 3). The ResponseStarted line is bad, so `cut-1` is its
    // RequestReceived event, which comes before `id-3`'s, as parsing every line finds.
    let text = [
        go_kubelet(5, 2),
        whole_at_stage(1, 0),
        go_kubelet(3, 0),
        cut_at_stage(1, 1),
        String::new(),
    ]
    .join("\n");
    let ((records, _), (records_without, _)) = with_and_without_prefilter(&text);
    let ids: Vec<_> = records
        .iter()
        .map(|r| (r.audit_id.as_str(), r.pos.line))
        .collect();
    assert_eq!(ids, [("id-5", 1), ("cut-1", 2), ("id-3", 3)]);
    assert_eq!(records, records_without);
}

#[test]
fn a_response_started_line_replaced_by_its_completion_is_never_read() {
    // The price of not parsing a watch's ResponseStarted line, as for a RequestReceived one:
    // replaced by its request's ResponseComplete, a bad one goes unreported (parsing every
    // line reports it), and the request is its completion either way.
    let text = [
        go_kubelet(5, 2),
        whole_at_stage(1, 0),
        cut_at_stage(1, 1),
        whole_at_stage(1, 2),
    ]
    .join("\n");
    let ((records, s), (records_without, s_without)) = with_and_without_prefilter(&text);
    assert_eq!(records, records_without);
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1].stage,
        Some(nodeauthz::record::Stage::ResponseComplete)
    );
    assert_eq!((s.lines_used, s.lines_bad), (4, 0));
    assert_eq!((s_without.lines_used, s_without.lines_bad), (3, 1));
    assert_eq!(s_without.bad.examples[0].line, 3);
}

#[test]
fn a_bad_line_given_up_on_as_its_completion_is_counted_leaves_its_request_counted() {
    // Request `cut-1` is a bad RequestReceived line taken unparsed (line 2) and, a horizon of
    // kubelet events later, its good ResponseComplete. Where the chunk that holds the
    // ResponseComplete is also the one whose merge gives up on the pending line, the line is
    // read, found bad and uncounted in the same step that counted the ResponseComplete: the
    // request must stay counted, as it is when every line is parsed. Small windows bring the
    // horizon (the window, when smaller) within reach; every chunk size puts the boundary
    // everywhere.
    let fillers = 12;
    let mut lines = vec![go_kubelet(5, 2), cut_received(1)];
    lines.extend(std::iter::repeat_with(|| go_kubelet(6, 2)).take(fillers));
    lines.push(whole_at_stage(1, 2));
    let text = lines.join("\n") + "\n";
    let mut found_bad = 0;
    for window in 3..=6 {
        for chunk in (1..text.len()).step_by(97) {
            let with = ScanOptions {
                threads: 1,
                chunk_size: chunk,
                dedup_window: window,
                ..ScanOptions::default()
            };
            let without = ScanOptions {
                prefilter: false,
                ..with.clone()
            };
            let ((_, s), (_, s_without)) = scan_both(&text, &with, &without);
            let case = format!("window {window}, chunk {chunk}");
            // id-5, id-6 and cut-1; every line but the cut one is an event.
            assert_eq!(
                (s_without.events, s_without.requests, s_without.lines_bad),
                (fillers as u64 + 2, 3, 1),
                "--no-prefilter, {case}"
            );
            assert_eq!(s.requests, 3, "{case}");
            if s.lines_bad == 1 {
                found_bad += 1;
                assert_eq!(s.events, fillers as u64 + 2, "{case}");
                assert_eq!(s.bad.examples[0].line, 2, "{case}");
            } else {
                // Replaced by its ResponseComplete before it was given up on: never read, the
                // accepted blind spot (see `a_bad_request_received_line_replaced_by_its_completion_goes_unreported`).
                assert_eq!((s.events, s.lines_bad), (fillers as u64 + 3, 0), "{case}");
            }
        }
    }
    // The bad line was given up on and read in most cases (the last chunk sizes hold the
    // request's completion in the chunk that holds the bad line, or in the one after).
    assert!(found_bad > 100, "{found_bad}");
}

/// A completed `get` by an admin with kubectl, request `id-<id>`, of `resource` (an index into
/// [`RESOURCES`]), with `escape` (see [`Line::Event`]).
fn admin_event(id: u8, resource: u8, escape: u8) -> Line {
    Line::Event {
        id,
        stage: 2,
        user: 2,
        imp: false,
        agent: 1,
        verb: 0,
        resource,
        code: 200,
        escape,
    }
}

/// A completed `get` of pods by an admin, request `id-<id>`, in Go's key order: skipped by the
/// pre-filter, counted as an event and a request, never a kubelet event.
fn admin_get(id: u8) -> String {
    render(&admin_event(id, 0, 7))
}

#[test]
fn a_bad_line_found_after_its_request_left_the_window_stays_counted() {
    // The window's limit, as documented: `cut-1`'s bad RequestReceived line, taken unparsed,
    // counts the request; enough other requests (no kubelet events, so the line stays pending)
    // then rotate `cut-1` out of a window of two request IDs, and its good RequestReceived
    // counts it anew and reads the bad line. The first count has left with the window and
    // cannot be taken back: one request more than parsing every line counts.
    let mut lines = vec![go_kubelet(5, 2), cut_received(1)];
    lines.extend((10..20).map(admin_get));
    lines.push(whole_at_stage(1, 0));
    lines.push(whole_at_stage(1, 2));
    let text = lines.join("\n") + "\n";
    let with = ScanOptions {
        threads: 1,
        chunk_size: 1,
        dedup_window: 2,
        ..ScanOptions::default()
    };
    let without = ScanOptions {
        prefilter: false,
        ..with.clone()
    };
    let ((records, s), (records_without, s_without)) = scan_both(&text, &with, &without);
    assert_eq!(records, records_without);
    // id-5, ten admins, cut-1; cut-1 twice with the pre-filter.
    assert_eq!((s_without.requests, s.requests), (12, 13));
    assert_eq!((s.lines_bad, s.bad.examples[0].line), (1, 2));
}

/// A kubelet line of request `cut-<n>` at `stage`, whole or cut short, or an admin's request.
#[derive(Debug, Clone)]
enum CountedLine {
    Whole { n: u8, stage: u8 },
    Cut { n: u8, stage: u8 },
    Admin { id: u8 },
}

fn counted_line() -> impl Strategy<Value = CountedLine> {
    prop_oneof![
        4 => (0u8..4, 0u8..3).prop_map(|(n, stage)| CountedLine::Whole { n, stage }),
        3 => (0u8..4, 0u8..2).prop_map(|(n, stage)| CountedLine::Cut { n, stage }),
        2 => (10u8..30).prop_map(|id| CountedLine::Admin { id }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    /// Within the window of request IDs (no more distinct IDs than it holds, so none is
    /// forgotten), `requests` is what parsing every line gives, however small the horizon
    /// (the window) and wherever the chunks end. Bad lines read late, in the merge that
    /// counts another event of their request or later, uncount only their own event.
    #[test]
    fn requests_are_counted_as_parsing_every_line_counts_them(
        lines in prop::collection::vec(counted_line(), 1..30),
        extra in 0usize..3,
        chunk in 1usize..3000,
    ) {
        let text = std::iter::once(go_kubelet(5, 2))
            .chain(lines.iter().map(|l| match *l {
                CountedLine::Whole { n, stage } => whole_at_stage(n, stage),
                CountedLine::Cut { n, stage } => cut_at_stage(n, stage),
                CountedLine::Admin { id } => admin_get(id),
            }))
            .map(|l| l + "\n")
            .collect::<String>();
        let distinct: std::collections::HashSet<String> = lines
            .iter()
            .map(|l| match *l {
                CountedLine::Whole { n, .. } | CountedLine::Cut { n, .. } => format!("cut-{n}"),
                CountedLine::Admin { id } => format!("id-{id}"),
            })
            .collect();
        let window = distinct.len() + 1 + extra;
        let with = ScanOptions { threads: 1, chunk_size: chunk, dedup_window: window, ..ScanOptions::default() };
        let without = ScanOptions { prefilter: false, ..with.clone() };
        let ((_, s), (_, s_without)) = scan_both(&text, &with, &without);
        prop_assert_eq!(s.requests, s_without.requests, "window {} chunk {}", window, chunk);
    }
}
