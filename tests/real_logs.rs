//! Every real audit-log sample in `fixtures/real-logs/` (written by other people; sources and
//! licences in its README) goes through the binary, with and without the pre-filter, and must
//! give exactly the counts below. The counts were made independently of this code (a short
//! Python reading of each file with `json`), not copied from its output.
//!
//! What counts as bad, and why:
//! - `falco-k8s-audit/fal_01_003.json` is falco's deliberately invalid `{"kind": 0}`.
//! - `khi-gke/*.yaml` are GKE Cloud Logging records as YAML, and `audit2rbac/demo-policy.yaml`
//!   is an audit *policy*: neither is an audit log, so every line of them is reported as
//!   "not an audit event" (one report for the whole file).
//! - GKE `protoPayload` records (one of the elastic samples, read from `../shared/real-logs/`
//!   when present) are reported as "not an audit event": that envelope is not supported. AKS
//!   diagnostic records are read, with the event as an object and as a JSON string.
//!
//! Everything else is real and must be read: falco events without `apiVersion`, the
//! pretty-printed `kbx/single-event.json`, audit2rbac's impersonated requests.

#[path = "support/files.rs"]
mod files;
use files::files_under;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (file, lines, events, distinct requests, kubelet requests, bad lines, kind of the bad lines)
type Expected = (&'static str, u64, u64, u64, u64, u64, Option<&'static str>);

const EXPECTED: &[Expected] = &[
    (
        "audit2rbac/demo-policy.yaml",
        13,
        0,
        0,
        0,
        13,
        Some("not_audit_event"),
    ),
    ("audit2rbac/demo.log", 37, 37, 37, 0, 0, None),
    (
        "falco-k8s-audit/anonymous_creates_namespace_foo.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/attach_cluster_admin_role.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    ("falco-k8s-audit/attach_pod.json", 1, 1, 1, 0, 0, None),
    (
        "falco-k8s-audit/create_cluster_role_pod_exec.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_cluster_role_wildcard_resources.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_cluster_role_wildcard_verbs.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_cluster_role_write_privileges.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_clusterrole.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_clusterrolebinding.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    ("falco-k8s-audit/create_configmap.json", 1, 1, 1, 0, 0, None),
    (
        "falco-k8s-audit/create_configmap_no_sensitive_values.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_configmap_sensitive_values.json",
        6,
        6,
        6,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_deployment.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_kube_system_secret.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_nginx_pod_hostnetwork.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_nginx_pod_no_secctx_1st_container_privileged_2nd_container.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_nginx_pod_nohostnetwork.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_nginx_pod_privileged.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_nginx_pod_privileged_2nd_container.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_nginx_pod_sensitive_mount.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_nginx_pod_sensitive_mount_2nd_container.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_nginx_pod_unprivileged.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_nginx_pod_unsensitive_mount.json",
        1,
        1,
        1,
        1,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_nginx_service_nodeport.json",
        2,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_nginx_service_nonodeport.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_pod_kube_public_namespace.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_pod_kube_system_namespace.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    ("falco-k8s-audit/create_secret.json", 2, 1, 1, 0, 0, None),
    ("falco-k8s-audit/create_service.json", 1, 1, 1, 0, 0, None),
    (
        "falco-k8s-audit/create_service_account_token_secret.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_serviceaccount.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_serviceaccount_kube_public_namespace.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/create_serviceaccount_kube_system_namespace.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/delete_cluster_role_kube_aggregator.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/delete_clusterrole.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/delete_clusterrolebinding.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    ("falco-k8s-audit/delete_configmap.json", 1, 1, 1, 0, 0, None),
    (
        "falco-k8s-audit/delete_deployment.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/delete_namespace_foo.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    ("falco-k8s-audit/delete_secret.json", 1, 1, 1, 0, 0, None),
    ("falco-k8s-audit/delete_service.json", 1, 1, 1, 0, 0, None),
    (
        "falco-k8s-audit/delete_serviceaccount.json",
        2,
        1,
        1,
        0,
        0,
        None,
    ),
    ("falco-k8s-audit/exec_pod.json", 1, 1, 1, 0, 0, None),
    (
        "falco-k8s-audit/fal_01_003.json",
        1,
        0,
        0,
        0,
        1,
        Some("not_audit_event"),
    ),
    (
        "falco-k8s-audit/minikube_creates_namespace_foo.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/modify_cluster_role_node_problem_detector.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    (
        "falco-k8s-audit/some-user_creates_namespace_foo.json",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
    ("kbx/single-event.json", 39, 1, 1, 1, 0, None),
    (
        "khi-gke/container_recorder_test_1_2.yaml",
        96,
        0,
        0,
        0,
        96,
        Some("not_audit_event"),
    ),
    (
        "khi-gke/container_recorder_test_1_3.yaml",
        86,
        0,
        0,
        0,
        86,
        Some("not_audit_event"),
    ),
    ("rbac-tool/testdata-01.json", 3, 3, 3, 0, 0, None),
    ("rbac-tool/testdata-02.json", 3, 3, 3, 0, 0, None),
];

/// Like [`EXPECTED`], for files under ../shared/real-logs.
const ELASTIC: &[Expected] = &[
    // Three events sharing one auditID, then a GKE record (bad) and an AKS record whose
    // event (as an object) has that auditID too.
    (
        "elastic-integrations/test-audit.log",
        5,
        4,
        1,
        0,
        1,
        Some("not_audit_event"),
    ),
    // One AKS record with the event as a JSON string.
    (
        "elastic-integrations/test-kube-audit.log",
        1,
        1,
        1,
        0,
        0,
        None,
    ),
];

fn analyze(path: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_nodeauthz"))
        .arg("analyze")
        .arg(path)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("run nodeauthz");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn check(
    path: &Path,
    lines: u64,
    events: u64,
    requests: u64,
    kubelet: u64,
    bad: u64,
    kind: Option<&str>,
) {
    for extra in [&[][..], &["--no-prefilter"][..]] {
        let (code, j) = analyze(path, extra);
        let ctx = format!("{} {extra:?}: {j}", path.display());
        assert_eq!(j["lines"], lines, "lines {ctx}");
        assert_eq!(j["events"], events, "events {ctx}");
        assert_eq!(j["requests"], requests, "requests {ctx}");
        assert_eq!(j["kubelet_requests"], kubelet, "kubelet requests {ctx}");
        assert_eq!(j["bad_lines"], bad, "bad lines {ctx}");
        assert_eq!(
            j["lines_used"].as_u64().unwrap() + j["lines_skipped"].as_u64().unwrap() + bad,
            lines,
            "every line accounted for {ctx}"
        );
        if let Some(kind) = kind {
            assert_eq!(j["bad"]["counts"][kind], bad, "bad kind {ctx}");
        }
        // Nothing readable at all is exit code 3.
        let nothing = j["lines_used"] == 0 && j["lines_skipped"] == 0;
        assert_eq!(code, if nothing { 3 } else { 0 }, "exit code {ctx}");
    }
}

#[test]
fn every_real_log_gives_its_exact_counts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real-logs");
    let all: Vec<PathBuf> = files_under(&root)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    assert_eq!(
        all.len(),
        EXPECTED.len(),
        "a file without expectations, or a missing file"
    );
    for path in all {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let Some(&(_, lines, events, requests, kubelet, bad, kind)) =
            EXPECTED.iter().find(|e| e.0 == rel)
        else {
            panic!("no expectation for {rel}");
        };
        check(&path, lines, events, requests, kubelet, bad, kind);
    }
}

#[test]
fn real_kubelet_requests_are_found() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real-logs");
    // The pretty-printed OpenShift kubelet lease update, and the one kubelet event in falco.
    let (_, j) = analyze(&root.join("kbx/single-event.json"), &[]);
    let node = &j["nodes"]["ip-10-0-31-19.us-west-2.compute.internal"];
    assert_eq!(node["requests"], 1);
    assert_eq!(node["allowed"], 1);
    assert_eq!(node["by_verb_resource"][0]["verb"], "update");
    assert_eq!(
        node["by_verb_resource"][0]["resource"],
        "coordination.k8s.io/leases"
    );
    let (_, j) = analyze(
        &root.join("falco-k8s-audit/create_nginx_pod_unsensitive_mount.json"),
        &[],
    );
    assert_eq!(j["nodes"]["minikube"]["requests"], 1);
    assert_eq!(
        j["nodes"]["minikube"]["by_verb_resource"][0]["resource"],
        "pods"
    );
    // audit2rbac: system:admin impersonating users and service accounts, never a node.
    let (_, j) = analyze(&root.join("audit2rbac/demo.log"), &[]);
    assert_eq!(j["nodes"], serde_json::json!({}));
}

#[test]
fn elastic_envelopes_when_the_shared_samples_are_present() {
    // The elastic samples are under the Elastic License 2.0 and not copied into this
    // repository; they are read from the shared folder next to the checkout when it exists.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/real-logs");
    if !root.join("elastic-integrations").is_dir() {
        eprintln!("skipped: {} not present", root.display());
        return;
    }
    for &(rel, lines, events, requests, kubelet, bad, kind) in ELASTIC {
        check(&root.join(rel), lines, events, requests, kubelet, bad, kind);
    }
}
