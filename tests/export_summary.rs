//! summary.json and the reports, from a handful of rows with known verdicts.

use compact_str::{format_compact, CompactString};
use nodeauthz::export::report::{render, Style};
use nodeauthz::export::summary::{FailOn, ModelAnswer, Summary, SummaryBuilder};
use nodeauthz::export::{write_atomic, write_reports};
use nodeauthz::findings::{Finding, FindingKind, Findings, Severity};
use nodeauthz::verdict::{
    change, AdmissionDecision, AuthzDecision, BindingKey, Evidence, NodeAuthorizerResult,
    NodeRestrictionResult, RbacResult, RecordedOutcome, RequestVerdict, Verdict,
};

const LEGACY_ALLOW: &str = "RBAC: allowed by ClusterRoleBinding \"system:node\" of ClusterRole \"system:node\" to Group \"system:nodes\"";
const NO_REL: &str = "no relationship found between node 'node1' and this object";

struct Spec<'a> {
    node: &'a str,
    verb: &'a str,
    resource: &'a str,
    subresource: &'a str,
    recorded: RecordedOutcome,
    verdict: Verdict,
    reason: &'a str,
    legacy: bool,
}

fn row(i: usize, s: Spec<'_>) -> RequestVerdict {
    RequestVerdict {
        audit_id: format_compact!("id-{i}"),
        timestamp: Some(1_793_614_272_000_000 + i as i64),
        node: s.node.into(),
        username: format_compact!("system:node:{}", s.node),
        groups: vec!["system:nodes".into(), "system:authenticated".into()],
        user_agent: "kubelet/v1.34.0".into(),
        source_ips: vec!["10.0.0.1".into()],
        verb: s.verb.into(),
        api_group: CompactString::default(),
        resource: s.resource.into(),
        subresource: s.subresource.into(),
        namespace: "ns".into(),
        name: format_compact!("obj{i}"),
        request_uri: "/api/v1/x".into(),
        node_authorizer: NodeAuthorizerResult {
            decision: if s.verdict == Verdict::AllowedByNode {
                AuthzDecision::Allow
            } else {
                AuthzDecision::NoOpinion
            },
            reason: String::new(),
        },
        node_restriction: NodeRestrictionResult {
            decision: AdmissionDecision::NotApplicable,
            reason: String::new(),
        },
        rbac: if s.legacy {
            RbacResult {
                decision: AuthzDecision::Allow,
                reason: LEGACY_ALLOW.into(),
                binding: Some(BindingKey::cluster("system:node")),
                role: Some("ClusterRole/system:node".into()),
            }
        } else {
            RbacResult {
                decision: AuthzDecision::NoOpinion,
                reason: String::new(),
                binding: None,
                role: None,
            }
        },
        change: change(s.recorded.decision, s.verdict),
        recorded: s.recorded,
        verdict: s.verdict,
        verdict_reason: s.reason.into(),
        evidence: Evidence::NotConsulted,
        source_file: "audit.log".into(),
        source_line: i as u64 + 1,
    }
}

fn allowed() -> RecordedOutcome {
    RecordedOutcome::from_log(Some("allow"), Some(""), Some(200))
}

fn rows() -> Vec<RequestVerdict> {
    let spec = |node, verb, resource, recorded, verdict, reason, legacy| Spec {
        node,
        verb,
        resource,
        subresource: "",
        recorded,
        verdict,
        reason,
        legacy,
    };
    vec![
        row(
            0,
            spec(
                "node1",
                "get",
                "secrets",
                RecordedOutcome::from_log(Some("allow"), Some(LEGACY_ALLOW), Some(200)),
                Verdict::ReliesOnRbac,
                LEGACY_ALLOW,
                true,
            ),
        ),
        row(
            1,
            spec(
                "node1",
                "get",
                "secrets",
                RecordedOutcome::from_log(Some("allow"), Some(LEGACY_ALLOW), Some(200)),
                Verdict::ReliesOnRbac,
                LEGACY_ALLOW,
                true,
            ),
        ),
        row(
            2,
            spec(
                "node1",
                "list",
                "configmaps",
                allowed(),
                Verdict::Forbidden,
                "can only read namespaced object of this type",
                false,
            ),
        ),
        row(
            3,
            spec(
                "node2",
                "get",
                "secrets",
                allowed(),
                Verdict::AllowedByNode,
                "",
                false,
            ),
        ),
        row(
            4,
            Spec {
                subresource: "status",
                ..spec(
                    "node2",
                    "patch",
                    "nodes",
                    RecordedOutcome::from_log(Some("allow"), Some(""), Some(403)),
                    Verdict::Forbidden,
                    "node \"node2\" is not allowed to modify node \"node1\"",
                    false,
                )
            },
        ),
        row(
            5,
            spec(
                "node2",
                "get",
                "persistentvolumeclaims",
                RecordedOutcome::from_log(None, None, None),
                Verdict::Indeterminate,
                "no dump and no logged pod for node node2",
                false,
            ),
        ),
        row(
            6,
            spec(
                "node1",
                "get",
                "configmaps",
                RecordedOutcome::from_log(Some("forbid"), Some(NO_REL), Some(403)),
                Verdict::AllowedByNode,
                "",
                false,
            ),
        ),
    ]
}

fn legacy_findings(uses: u64) -> Findings {
    Findings {
        items: vec![Finding {
            id: "legacy_system_node_binding:ClusterRoleBinding/system:node".into(),
            severity: Severity::High,
            kind: FindingKind::LegacySystemNodeBinding,
            binding: Some(BindingKey::cluster("system:node")),
            role: Some("ClusterRole/system:node".into()),
            subject: "Group \"system:nodes\"".into(),
            rules: vec![
                r#"verbs=[get list watch] apiGroups=[""] resources=[configmaps secrets]"#.into(),
            ],
            observed: Vec::new(),
            detail: FindingKind::LegacySystemNodeBinding.detail().into(),
            requests_using: uses,
        }],
    }
}

fn summary(rows: &[RequestVerdict], findings: &Findings) -> Summary {
    let mut b = SummaryBuilder::new("Node,RBAC + NodeRestriction");
    for r in rows {
        b.add(r);
    }
    b.finish(findings)
}

#[test]
fn totals_top_lists_bindings_and_readiness() {
    let rows = rows();
    let mut findings = legacy_findings(0);
    for r in &rows {
        if let Some(b) = &r.rbac.binding {
            findings.record_use(b);
        }
    }
    let s = summary(&rows, &findings);
    let j = serde_json::to_value(&s).expect("json");
    assert_eq!(j["totals"]["requests"], 7);
    assert_eq!(
        j["totals"]["by_verdict"],
        serde_json::json!({"allowed_by_node": 2, "relies_on_rbac": 2, "forbidden": 2, "indeterminate": 1})
    );
    assert_eq!(
        j["totals"]["by_change"],
        serde_json::json!({"would_break": 1, "fixed_by_target": 1, "unchanged": 5})
    );
    assert_eq!(
        j["totals"]["by_recorded"],
        serde_json::json!({"allowed": 4, "forbidden": 2, "no_response": 1})
    );
    assert_eq!(j["per_node"][0]["node"], "node1");
    assert_eq!(j["per_node"][0]["requests"], 4);
    assert_eq!(j["per_node"][1]["by_verdict"]["forbidden"], 1);
    assert_eq!(
        j["top_would_break"],
        serde_json::json!([{"verb": "list", "api_group": "", "resource": "configmaps",
            "reason": "can only read namespaced object of this type", "count": 1}])
    );
    assert_eq!(s.top_forbidden.len(), 2);
    assert_eq!(
        s.top_forbidden[0].resource, "configmaps",
        "ties sorted by verb"
    );
    assert_eq!(s.top_forbidden[1].resource, "nodes/status");
    assert_eq!(
        j["bindings_relied_on"],
        serde_json::json!([{"binding": "ClusterRoleBinding/system:node", "role": "ClusterRole/system:node",
            "requests": 2, "by_verb_resource": [{"verb": "get", "resource": "secrets", "count": 2}]}])
    );
    assert_eq!(j["findings"]["total"], 1);
    assert_eq!(
        j["findings"]["by_severity"],
        serde_json::json!({"high": 1, "medium": 0, "low": 0})
    );
    assert_eq!(j["findings"]["items"][0]["requests_using"], 2);
    assert!(!s.readiness.ready);
    assert_eq!(
        s.readiness.line,
        "not safe to remove ClusterRoleBinding system:node: 2 requests relied on it (2 get secrets); \
         1 request would break under the target (1 list configmaps); 1 request forbidden both when recorded and under the target"
    );
    assert_eq!(j["agreement"], serde_json::Value::Null);
}

#[test]
fn readiness_lines() {
    let rows = rows();
    let quiet: Vec<RequestVerdict> = rows
        .iter()
        .filter(|r| r.verdict == Verdict::AllowedByNode)
        .cloned()
        .collect();
    let s = summary(&quiet, &legacy_findings(0));
    assert!(s.readiness.ready);
    assert_eq!(
        s.readiness.line,
        "safe to remove ClusterRoleBinding system:node: 0 requests relied on it"
    );
    let s = summary(&quiet, &Findings::default());
    assert_eq!(
        s.readiness.line,
        "ready for the target configuration: 0 requests would break"
    );
    let s = summary(&rows[2..3], &Findings::default());
    assert!(!s.readiness.ready);
    assert_eq!(
        s.readiness.line,
        "not ready for the target configuration; 1 request would break under the target (1 list configmaps)"
    );
    // Many distinct (verb, resource): five spelled out, the rest counted.
    let many: Vec<RequestVerdict> = ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .enumerate()
        .map(|(i, res)| {
            let mut r = rows[2].clone();
            r.resource = (*res).into();
            r.audit_id = format_compact!("m{i}");
            r
        })
        .collect();
    let s = summary(&many, &Findings::default());
    assert_eq!(
        s.readiness.line,
        "not ready for the target configuration; 7 requests would break under the target \
         (1 list a, 1 list b, 1 list c, 1 list d, 1 list e, and 2 more)"
    );
}

#[test]
fn agreement_counts_and_lists_disagreements() {
    let rows = rows();
    let mut b = SummaryBuilder::new("Node,RBAC + NodeRestriction");
    b.set_recorded_configuration("--authorization-mode=RBAC", true);
    let answers = [
        // Same outcome and reason.
        ModelAnswer { verdict: Verdict::ReliesOnRbac, reason: LEGACY_ALLOW, by_admission: false },
        // Allowed, but the model names another binding: a disagreement.
        ModelAnswer { verdict: Verdict::ReliesOnRbac, reason: "RBAC: allowed by ClusterRoleBinding \"other\" of ClusterRole \"x\" to Group \"system:nodes\"", by_admission: false },
        // Recorded allowed with an empty reason; model forbids: a disagreement.
        ModelAnswer { verdict: Verdict::Forbidden, reason: "", by_admission: false },
        ModelAnswer { verdict: Verdict::AllowedByNode, reason: "", by_admission: false },
        // Recorded admission refusal, model admission refusal: agree (reasons not comparable).
        ModelAnswer { verdict: Verdict::Forbidden, reason: "node \"node2\" is not allowed to modify node \"node1\"", by_admission: true },
        // No recorded outcome: not compared.
        ModelAnswer { verdict: Verdict::AllowedByNode, reason: "", by_admission: false },
        // Recorded forbid with a reason; model forbids with the same reason.
        ModelAnswer { verdict: Verdict::Forbidden, reason: NO_REL, by_admission: false },
    ];
    for (r, a) in rows.iter().zip(answers) {
        b.add(r);
        b.compare_recorded(r, a);
    }
    let s = b.finish(&Findings::default());
    let a = s.agreement.expect("agreement");
    assert_eq!(a.configuration, "--authorization-mode=RBAC");
    assert!(a.inferred);
    assert_eq!((a.compared, a.agreed, a.not_compared), (6, 4, 1));
    assert_eq!(a.rate, Some(4.0 / 6.0));
    assert_eq!(a.disagreements_total, 2);
    let ids: Vec<&str> = a
        .disagreements
        .iter()
        .map(|d| d.audit_id.as_str())
        .collect();
    assert_eq!(ids, vec!["id-1", "id-2"]);
    assert_eq!(a.disagreements[1].recorded, "allowed");
    assert_eq!(a.disagreements[1].model, "forbidden");
    assert_eq!(a.disagreements[1].source_line, 3);
}

#[test]
fn text_and_markdown_reports() {
    let rows = rows();
    let mut findings = legacy_findings(0);
    let mut b = SummaryBuilder::new("Node,RBAC + NodeRestriction");
    b.set_recorded_configuration("--authorization-mode=Node,RBAC", false);
    for r in &rows {
        if let Some(binding) = &r.rbac.binding {
            findings.record_use(binding);
        }
        b.add(r);
    }
    // One agreement and one disagreement (recorded forbid, model allows).
    let allow = ModelAnswer {
        verdict: Verdict::AllowedByNode,
        reason: "",
        by_admission: false,
    };
    b.compare_recorded(&rows[3], allow);
    b.compare_recorded(&rows[6], allow);
    let s = b.finish(&findings);
    let md = render(&s, Style::Markdown);
    let text = render(&s, Style::Text);
    assert_eq!(text, EXPECTED_TEXT, "text report:\n{text}");
    assert_eq!(md, EXPECTED_MARKDOWN, "markdown report:\n{md}");
}

const EXPECTED_TEXT: &str = r#"nodeauthz report (target: Node,RBAC + NodeRestriction)

Totals
  REQUESTS  allowed_by_node  relies_on_rbac  forbidden  indeterminate  would_break  fixed_by_target
         7                2               2          2              1            1                1

Per node
  NODE   REQUESTS  allowed_by_node  relies_on_rbac  forbidden  indeterminate  would_break  fixed_by_target
  node1         4                1               2          1              0            1                1
  node2         3                1               0          1              1            0                0

Top would_break (verb, resource, reason)
  COUNT  VERB  API GROUP  RESOURCE    REASON
      1  list             configmaps  can only read namespaced object of this type

Top forbidden (verb, resource, reason)
  COUNT  VERB   API GROUP  RESOURCE      REASON
      1  list              configmaps    can only read namespaced object of this type
      1  patch             nodes/status  node "node2" is not allowed to modify node "node1"

Bindings relied on
  REQUESTS  BINDING                         ROLE
         2  ClusterRoleBinding/system:node  ClusterRole/system:node

Findings (1: 1 high, 0 medium, 0 low)
  SEVERITY  KIND                        SUBJECT               BINDING                         REQUESTS
  high      legacy_system_node_binding  Group "system:nodes"  ClusterRoleBinding/system:node         2

Agreement with the recorded configuration (--authorization-mode=Node,RBAC, given): 1 of 2 compared agree (50.00%), 0 not compared
  FILE:LINE    VERB  RESOURCE    RECORDED   MODEL            RECORDED REASON                                             MODEL REASON
  audit.log:7  get   configmaps  forbidden  allowed_by_node  no relationship found between node 'node1' and this object

Readiness: not safe to remove ClusterRoleBinding system:node: 2 requests relied on it (2 get secrets); 1 request would break under the target (1 list configmaps); 1 request forbidden both when recorded and under the target
"#;
const EXPECTED_MARKDOWN: &str = r#"# nodeauthz report

Target: `Node,RBAC + NodeRestriction`

## Totals

| REQUESTS | allowed_by_node | relies_on_rbac | forbidden | indeterminate | would_break | fixed_by_target |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| 7 | 2 | 2 | 2 | 1 | 1 | 1 |

## Per node

| NODE | REQUESTS | allowed_by_node | relies_on_rbac | forbidden | indeterminate | would_break | fixed_by_target |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| node1 | 4 | 1 | 2 | 1 | 0 | 1 | 1 |
| node2 | 3 | 1 | 0 | 1 | 1 | 0 | 0 |

## Top would_break (verb, resource, reason)

| COUNT | VERB | API GROUP | RESOURCE | REASON |
| ---: | --- | --- | --- | --- |
| 1 | list |  | configmaps | can only read namespaced object of this type |

## Top forbidden (verb, resource, reason)

| COUNT | VERB | API GROUP | RESOURCE | REASON |
| ---: | --- | --- | --- | --- |
| 1 | list |  | configmaps | can only read namespaced object of this type |
| 1 | patch |  | nodes/status | node "node2" is not allowed to modify node "node1" |

## Bindings relied on

| REQUESTS | BINDING | ROLE |
| ---: | --- | --- |
| 2 | ClusterRoleBinding/system:node | ClusterRole/system:node |

## Findings (1: 1 high, 0 medium, 0 low)

| SEVERITY | KIND | SUBJECT | BINDING | REQUESTS |
| --- | --- | --- | --- | ---: |
| high | legacy_system_node_binding | Group "system:nodes" | ClusterRoleBinding/system:node | 2 |

## Agreement with the recorded configuration (--authorization-mode=Node,RBAC, given): 1 of 2 compared agree (50.00%), 0 not compared

| FILE:LINE | VERB | RESOURCE | RECORDED | MODEL | RECORDED REASON | MODEL REASON |
| --- | --- | --- | --- | --- | --- | --- |
| audit.log:7 | get | configmaps | forbidden | allowed_by_node | no relationship found between node 'node1' and this object |  |

## Readiness

**not safe to remove ClusterRoleBinding system:node: 2 requests relied on it (2 get secrets); 1 request would break under the target (1 list configmaps); 1 request forbidden both when recorded and under the target**
"#;

#[test]
fn write_atomic_replaces_whole_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out").join("summary.json");
    write_atomic(&path, b"{\"a\":1}").expect("write");
    write_atomic(&path, b"{}").expect("rewrite");
    assert_eq!(std::fs::read(&path).expect("read"), b"{}");
    let names: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["summary.json"]);
}

#[test]
fn fail_on_names_and_triggers() {
    let rows = rows();
    let s = summary(&rows[3..4], &Findings::default());
    assert_eq!(FailOn::parse("would_break"), Some(FailOn::WouldBreak));
    assert_eq!(
        FailOn::parse("forbidden"),
        Some(FailOn::Verdict(Verdict::Forbidden))
    );
    assert_eq!(FailOn::parse("fixed_by_target"), None);
    assert!(FailOn::Verdict(Verdict::AllowedByNode).triggered(&s.totals));
    assert!(!FailOn::Verdict(Verdict::Forbidden).triggered(&s.totals));
    assert!(!FailOn::WouldBreak.triggered(&s.totals));
    let s = summary(&rows, &Findings::default());
    assert!(FailOn::WouldBreak.triggered(&s.totals));
    assert!(FailOn::Verdict(Verdict::Indeterminate).triggered(&s.totals));
}

#[test]
fn write_reports_writes_three_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let findings = legacy_findings(2);
    let s = summary(&rows(), &findings);
    let written = write_reports(dir.path(), &s, &findings).expect("write");
    let names: Vec<String> = written
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, vec!["summary.json", "report.md", "findings.parquet"]);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("summary.json")).expect("read"))
            .expect("parse");
    assert_eq!(json["schema_version"], "1");
    assert_eq!(json["totals"]["requests"], 7);
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("read");
    assert_eq!(md, render(&s, Style::Markdown));
    let mut all: Vec<String> = std::fs::read_dir(dir.path())
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    all.sort();
    assert_eq!(all, vec!["findings.parquet", "report.md", "summary.json"]);
}
