//! Identity findings from the requests' effective identities.

use nodeauthz::findings::{identity_findings, FindingKind, IdentitySightings, Severity};
use std::collections::HashSet;

fn groups(g: &[&str]) -> Vec<String> {
    g.iter().map(|s| s.to_string()).collect()
}

#[test]
fn node_user_without_nodes_group_is_flagged() {
    let no_group = groups(&["system:authenticated"]);
    let ok = groups(&["system:nodes", "system:authenticated"]);
    let seen = vec![
        (
            "system:node:x",
            no_group.as_slice(),
            "kubelet/v1.34.0",
            "10.0.0.9",
        ),
        (
            "system:node:x",
            no_group.as_slice(),
            "kubelet/v1.34.0",
            "10.0.0.9",
        ),
        (
            "system:node:good",
            ok.as_slice(),
            "kubelet/v1.34.0",
            "10.0.0.1",
        ),
    ];
    let known: HashSet<String> = ["good".to_owned(), "x".to_owned()].into();
    let f = identity_findings(seen, Some(&known));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].kind, FindingKind::NodeUserWithoutNodesGroup);
    assert_eq!(f[0].id, "node_user_without_nodes_group:system:node:x");
    assert_eq!(f[0].severity, Severity::Medium);
    assert_eq!(f[0].subject, "User \"system:node:x\"");
    assert_eq!(f[0].observed, vec!["system:authenticated"]);
    assert_eq!(f[0].requests_using, 2);
    assert_eq!(f[0].binding, None);
}

#[test]
fn kubelet_agents_ips_and_missing_nodes() {
    let nodes = groups(&["system:nodes", "system:authenticated"]);
    let sa = groups(&["system:serviceaccounts", "system:authenticated"]);
    let boot = groups(&[
        "system:bootstrappers",
        "system:bootstrappers:kubeadm:default-node-token",
    ]);
    let mut s = IdentitySightings::default();
    s.observe(
        "system:node:a",
        &nodes,
        "kubelet/v1.34.0 (linux/amd64)",
        "10.0.0.1",
    );
    s.observe(
        "system:node:a",
        &nodes,
        "kubelet/v1.34.0 (linux/amd64)",
        "10.0.0.2",
    );
    s.observe(
        "system:node:a",
        &nodes,
        "kubelet/v1.34.0 (linux/amd64)",
        "10.0.0.1",
    );
    s.observe("system:node:ghost", &nodes, "kubelet/v1.34.0", "10.0.0.3");
    s.observe(
        "system:serviceaccount:kube-system:fake-kubelet",
        &sa,
        "kubelet/v1.34.0",
        "10.0.0.4",
    );
    // TLS bootstrap before the node certificate exists: expected, not a finding.
    s.observe(
        "system:bootstrap:abcdef",
        &boot,
        "kubelet/v1.34.0",
        "10.0.0.5",
    );
    // Not a kubelet and not a node: ignored.
    s.observe(
        "alice",
        &groups(&["system:authenticated"]),
        "kubectl/v1.34.0",
        "10.0.0.6",
    );
    let known: HashSet<String> = ["a".to_owned()].into();
    let f = s.findings(Some(&known));
    let got: Vec<(&str, Vec<&str>, u64)> = f
        .iter()
        .map(|x| {
            (
                x.id.as_str(),
                x.observed.iter().map(String::as_str).collect(),
                x.requests_using,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "node_identity_multiple_source_ips:system:node:a",
                vec!["10.0.0.1", "10.0.0.2"],
                3
            ),
            (
                "node_identity_without_node_object:system:node:ghost",
                vec!["ghost"],
                1
            ),
            (
                "kubelet_agent_not_node_identity:system:serviceaccount:kube-system:fake-kubelet",
                vec!["kubelet/v1.34.0"],
                1
            ),
        ]
    );
    // Without any Node object in the inputs the missing-node check is skipped.
    let f = s.findings(None);
    assert!(f
        .iter()
        .all(|x| x.kind != FindingKind::NodeIdentityWithoutNodeObject));
    assert_eq!(f.len(), 2);
}
