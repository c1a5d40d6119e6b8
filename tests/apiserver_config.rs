//! `--apiserver-manifest` and `--apiserver-flags`: modelled flags, unmodelled flags listed,
//! versions from image tags, defaults, notes and errors.

use std::path::Path;

use nodeauthz::apiserver::{
    from_cli, parse_flags, parse_manifest, parse_manifest_file, ApiserverConfig,
    DEFAULT_AUTHORIZATION_MODE,
};

fn fixture_path(name: &str) -> String {
    format!("{}/fixtures/apiserver/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> (ApiserverConfig, String) {
    let path = fixture_path(name);
    let config = parse_manifest_file(Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
    (config, path)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn kubeadm_1_19_manifest_with_rbac_only() {
    let (c, _) = fixture("kube-apiserver-1.19-rbac-only.yaml");
    assert_eq!(c.authorization_modes, ["RBAC"]);
    assert!(!c.authorization_modes_defaulted);
    assert_eq!(c.enable_admission_plugins, ["NodeRestriction"]);
    assert!(c.disable_admission_plugins.is_empty());
    assert!(c.node_restriction_enabled());
    assert_eq!(c.kube_version.as_deref(), Some("1.19.16"));
    assert_eq!(
        c.image.as_deref(),
        Some("k8s.gcr.io/kube-apiserver:v1.19.16")
    );
    assert_eq!(c.feature_gates, None);
    assert_eq!(c.authorization_config_file, None);
    let names: Vec<&str> = c.unmodeled_flags.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "advertise-address",
            "allow-privileged",
            "client-ca-file",
            "enable-bootstrap-token-auth",
            "etcd-cafile",
            "etcd-certfile",
            "etcd-keyfile",
            "etcd-servers",
            "insecure-port",
            "kubelet-client-certificate",
            "kubelet-client-key",
            "kubelet-preferred-address-types",
            "proxy-client-cert-file",
            "proxy-client-key-file",
            "requestheader-allowed-names",
            "requestheader-client-ca-file",
            "requestheader-extra-headers-prefix",
            "requestheader-group-headers",
            "requestheader-username-headers",
            "secure-port",
            "service-account-issuer",
            "service-account-key-file",
            "service-account-signing-key-file",
            "service-cluster-ip-range",
            "tls-cert-file",
            "tls-private-key-file",
            "audit-policy-file",
            "audit-log-path",
            "audit-log-maxbackup",
        ]
    );
    assert_eq!(
        c.unmodeled_flags[11],
        (
            "kubelet-preferred-address-types".to_string(),
            "InternalIP,ExternalIP,Hostname".to_string()
        )
    );
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
fn current_manifest_with_sidecar_and_args() {
    let (c, _) = fixture("kube-apiserver-1.31-node-rbac.yaml");
    assert_eq!(c.authorization_modes, ["Node", "RBAC"]);
    assert_eq!(
        c.enable_admission_plugins,
        ["NodeRestriction", "PodSecurity"]
    );
    assert_eq!(c.disable_admission_plugins, ["DefaultStorageClass"]);
    assert_eq!(c.kube_version.as_deref(), Some("1.31.2"));
    assert_eq!(c.feature_gate("AuthorizeNodeWithSelectors"), Some(true));
    assert_eq!(c.feature_gate("AuthorizeWithSelectors"), Some(true));
    assert_eq!(c.feature_gate("Other"), None);
    assert_eq!(
        c.unmodeled_flags,
        pairs(&[
            ("advertise-address", "10.0.0.10"),
            ("secure-port", "6443"),
            ("enable-bootstrap-token-auth", ""),
            ("profiling", "false"),
        ])
    );
    assert!(c.notes.is_empty(), "{:?}", c.notes);
}

#[test]
fn shell_script_command_digest_image_and_webhook() {
    let (c, path) = fixture("kube-apiserver-sh-c-digest.yaml");
    assert_eq!(c.authorization_modes, ["Node", "Webhook", "RBAC"]);
    assert_eq!(
        c.enable_admission_plugins,
        ["NamespaceLifecycle", "NodeRestriction"]
    );
    assert!(c.node_restriction_enabled());
    assert_eq!(c.kube_version, None);
    assert_eq!(
        c.unmodeled_flags,
        pairs(&[
            (
                "authorization-webhook-config-file",
                "/etc/kubernetes/authz-webhook.yaml"
            ),
            (
                "tls-cipher-suites",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
            ),
            ("v", "2"),
        ])
    );
    assert_eq!(
        c.notes,
        [
            format!("{path}: flags read from the shell script in command"),
            "the Webhook authorization mode is not supported by the model".to_string(),
            "--admission-control (deprecated since 1.10) is read as --enable-admission-plugins"
                .to_string(),
            "authorization mode Webhook is not supported by the model; it is treated as having no opinion"
                .to_string(),
            format!(
                "{path}: image \"registry.k8s.io/kube-apiserver@sha256:0f1d2c3b4a5968778695a4b3c2d1e0f0f1d2c3b4a5968778695a4b3c2d1e0f00\" is pinned by digest only; its Kubernetes version cannot be read from the tag"
            ),
        ]
    );
}

#[test]
fn args_without_command_use_the_image_entrypoint() {
    let yaml = "kind: Pod\nspec:\n  containers:\n  - name: kube-apiserver\n    image: k8s.gcr.io/kube-apiserver-amd64:v1.14.1\n    args: [\"--authorization-mode=Node,RBAC\", \"--etcd-servers\", \"https://e:2379\"]\n";
    let c = parse_manifest(yaml, "m.yaml").unwrap();
    assert_eq!(c.authorization_modes, ["Node", "RBAC"]);
    assert_eq!(c.kube_version.as_deref(), Some("1.14.1"));
    assert_eq!(
        c.unmodeled_flags,
        pairs(&[("etcd-servers", "https://e:2379")])
    );
    // NodeRestriction is not in kube-apiserver's default admission set.
    assert!(!c.node_restriction_enabled());
}

#[test]
fn flag_string_with_every_form() {
    let c = parse_flags(
        "kube-apiserver --authorization-mode Node,RBAC \\\n  --enable-admission-plugins=\"NodeRestriction, PodSecurity\" \\\n  --feature-gates 'A=true' --feature-gates=B=false,A=false --authorization-mode=ABAC \\\n  --authorization-policy-file=/etc/abac.jsonl --anonymous-auth --v=4 -- extra",
    )
    .unwrap();
    // String-slice flags append on repetition.
    assert_eq!(c.authorization_modes, ["Node", "RBAC", "ABAC"]);
    assert_eq!(
        c.enable_admission_plugins,
        ["NodeRestriction", "PodSecurity"]
    );
    assert_eq!(c.feature_gates.as_deref(), Some("A=true,B=false,A=false"));
    assert_eq!(c.feature_gate("A"), Some(false));
    assert_eq!(c.feature_gate("B"), Some(false));
    assert_eq!(
        c.unmodeled_flags,
        pairs(&[
            ("authorization-policy-file", "/etc/abac.jsonl"),
            ("anonymous-auth", ""),
            ("v", "4"),
        ])
    );
    assert_eq!(
        c.notes,
        strings(&[
            "the ABAC authorization mode is not supported by the model",
            "ignored positional argument \"extra\"",
            "authorization mode ABAC is not supported by the model; it is treated as having no opinion",
        ])
    );
    assert_eq!(c.kube_version, None);
}

#[test]
fn modelled_flags_take_the_next_word_even_if_it_looks_like_a_flag() {
    let c = parse_flags("--disable-admission-plugins -x --feature-gates").unwrap();
    assert_eq!(c.disable_admission_plugins, ["-x"]);
    assert_eq!(c.feature_gates.as_deref(), Some(""));
}

#[test]
fn absent_authorization_mode_defaults_to_always_allow() {
    let c = parse_flags("--secure-port=6443").unwrap();
    assert_eq!(c.authorization_modes, [DEFAULT_AUTHORIZATION_MODE]);
    assert_eq!(DEFAULT_AUTHORIZATION_MODE, "AlwaysAllow");
    assert!(c.authorization_modes_defaulted);
    assert_eq!(
        c.notes,
        ["--authorization-mode is absent; kube-apiserver defaults to AlwaysAllow"]
    );
    assert!(!c.node_restriction_enabled());
}

#[test]
fn structured_authorization_config_is_recorded_not_modelled() {
    let c = parse_flags("--authorization-config=/etc/kubernetes/authz.yaml").unwrap();
    assert!(c.authorization_modes.is_empty());
    assert!(!c.authorization_modes_defaulted);
    assert_eq!(
        c.authorization_config_file.as_deref(),
        Some("/etc/kubernetes/authz.yaml")
    );
    assert_eq!(
        c.notes,
        ["authorization is configured by --authorization-config \"/etc/kubernetes/authz.yaml\" (structured authorization configuration), which is not modelled; authorization modes unknown"]
    );
    let both = parse_flags("--authorization-config=/a --authorization-mode=Node").unwrap();
    assert_eq!(both.authorization_modes, ["Node"]);
    assert_eq!(both.notes.len(), 1);
    assert!(both.notes[0].contains("refuses to start with both"));
}

#[test]
fn disabled_node_restriction() {
    let c = parse_flags(
        "--enable-admission-plugins=NodeRestriction --disable-admission-plugins=NodeRestriction",
    )
    .unwrap();
    assert!(!c.node_restriction_enabled());
}

#[test]
fn errors_name_the_source_and_the_problem() {
    let e = parse_flags("--a=b --c='x y").unwrap_err();
    assert_eq!(
        e.to_string(),
        "--apiserver-flags: unterminated ' quote at character 11"
    );

    let e = parse_manifest("spec: [unclosed", "bad.yaml").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("bad.yaml: not a valid Pod manifest: "),
        "{e}"
    );
    let e = parse_manifest("kind: Deployment\nspec: {}\n", "d.yaml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "d.yaml: kind is \"Deployment\", expected \"Pod\""
    );
    let e = parse_manifest("kind: Pod\n", "p.yaml").unwrap_err();
    assert_eq!(e.to_string(), "p.yaml: spec is missing");
    let e = parse_manifest(
        "kind: Pod\nspec:\n  containers:\n  - name: etcd\n    image: etcd:3.5\n",
        "etcd.yaml",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "etcd.yaml: no container named \"kube-apiserver\" in spec.containers (found: etcd)"
    );
    let e = parse_manifest(
        "kind: Pod\nspec:\n  containers:\n  - name: kube-apiserver\n    command: [sh, -c, \"kube-apiserver --a='b\"]\n",
        "sh.yaml",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "sh.yaml: shell script in command: unterminated ' quote at character 20"
    );

    let missing = fixture_path("does-not-exist.yaml");
    let e = parse_manifest_file(Path::new(&missing)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{missing}: cannot read: ")),
        "{e}"
    );
}

#[test]
fn cli_entry_point() {
    assert_eq!(from_cli(None, None).unwrap(), None);
    let c = from_cli(None, Some("--authorization-mode=Node,RBAC"))
        .unwrap()
        .unwrap();
    assert_eq!(c.authorization_modes, ["Node", "RBAC"]);
    let path = fixture_path("kube-apiserver-1.19-rbac-only.yaml");
    let c = from_cli(Some(Path::new(&path)), None).unwrap().unwrap();
    assert_eq!(c.authorization_modes, ["RBAC"]);
    let e = from_cli(Some(Path::new(&path)), Some("--v=2")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--apiserver-manifest: cannot be combined with --apiserver-flags"
    );
}

#[test]
fn empty_authorization_mode_is_noted() {
    let c = parse_flags("--authorization-mode=").unwrap();
    assert!(c.authorization_modes.is_empty());
    assert!(!c.authorization_modes_defaulted);
    assert_eq!(
        c.notes,
        ["--authorization-mode is empty; kube-apiserver refuses to start without a mode"]
    );
}

#[test]
fn hyperkube_subcommand_is_not_a_positional_argument() {
    let yaml = "kind: Pod\nspec:\n  containers:\n  - name: kube-apiserver\n    image: k8s.gcr.io/hyperkube:v1.14.1\n    command: [/hyperkube, kube-apiserver, \"--authorization-mode=Node,RBAC\"]\n";
    let c = parse_manifest(yaml, "h.yaml").unwrap();
    assert_eq!(c.authorization_modes, ["Node", "RBAC"]);
    assert_eq!(c.kube_version.as_deref(), Some("1.14.1"));
    assert!(c.notes.is_empty(), "{:?}", c.notes);
    // Without hyperkube, a second bare word is reported.
    let c = parse_flags("kube-apiserver stray --authorization-mode=RBAC").unwrap();
    assert_eq!(c.notes, ["ignored positional argument \"stray\""]);
}
