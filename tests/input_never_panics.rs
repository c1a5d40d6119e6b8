//! The standard "never panic on input", checked on the parsers of untrusted text outside the
//! audit-log reader: kubelet logs, Forbidden messages, CSR bodies, apiserver flags and
//! manifests, object dumps, and the authorizers fed with the attributes a log yields.
//!
//! The inputs are built from the tokens these parsers look for, so that random text reaches
//! deep into them (half-quoted literals, truncated escapes, nested aggregates) instead of
//! being rejected at the first byte.

use std::path::Path;

use nodeauthz::apiserver::{parse_flags, parse_manifest};
use nodeauthz::authz::csr::csr_common_name;
use nodeauthz::cluster::load::ObjectSet;
use nodeauthz::kubelet_log::{find_forbidden_messages, parse_kubelet_log};
use proptest::prelude::*;

const LOG_TOKENS: &[&str] = &[
    "forbidden: User ",
    "\"system:node:node1\"",
    "\"",
    "\\",
    "\\\"",
    "\\x",
    "\\u00",
    "\\U0001",
    "\\101",
    " cannot ",
    "get",
    " resource ",
    "\"pods/status\"",
    " in API group ",
    "\"\"",
    " in the namespace ",
    " at the cluster scope",
    " path ",
    ": ",
    ", ",
    "[",
    "]",
    "nodes \"node1\" is forbidden: ",
    "node \"node1\" not found",
    " not found",
    "E1102 08:00:01.000001    1234 a.go:1] ",
    "I1302 25:61:61.9999999 1 b.go:9] ",
    "Nov  2 08:00:01 node1 kubelet[1]: ",
    "2026-11-02T08:00:01+0000 node1 kubelet[1]: ",
    "2026-11-02T08:00:01.5Z stderr F ",
    "{\"ts\":1e30,\"msg\":\"",
    "{\"ts\":-5,\"err\":\"",
    "{\"ts\":1762070401.5,\"msg\":\"",
    "\"}",
    "err=\"",
    "key=<",
    "&amp;",
    "&lt;",
    "é",
    "\u{1F600}",
    "\n",
    "\r\n",
    " ",
];

fn log_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => proptest::sample::select(LOG_TOKENS).prop_map(str::to_string),
        1 => "[ -~é]{0,6}",
    ];
    proptest::collection::vec(token, 0..40).prop_map(|parts| parts.concat())
}

const YAML_TOKENS: &[&str] = &[
    "apiVersion: v1\n",
    "kind: Pod\n",
    "kind: List\n",
    "kind: ClusterRoleBinding\n",
    "items:\n",
    "- ",
    "  ",
    "metadata:\n",
    "  name: x\n",
    "spec:\n",
    "  containers:\n",
    "  - name: kube-apiserver\n",
    "    command:\n",
    "    - kube-apiserver\n",
    "    - --authorization-mode=Node,RBAC\n",
    "    - --feature-gates=A=true,B\n",
    "    - --kube-version\n",
    "    args: [\"--x\", 1]\n",
    "    image: registry.k8s.io/kube-apiserver:v1.\n",
    "subjects: []\n",
    "roleRef: {kind: ClusterRole, name: system:node}\n",
    "---\n",
    "{",
    "}",
    "[",
    "]",
    "\"",
    ": ",
    "null",
    "\n",
];

fn yaml_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => proptest::sample::select(YAML_TOKENS).prop_map(str::to_string),
        1 => "[ -~]{0,6}",
    ];
    proptest::collection::vec(token, 0..30).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn kubelet_logs_never_panic(text in log_text()) {
        let report = parse_kubelet_log(&text);
        // Every physical line is accounted for, whatever it held.
        let lines = text.strip_suffix('\n').unwrap_or(&text).split('\n').count() as u64;
        prop_assert_eq!(report.lines, if text.is_empty() { 0 } else { lines });
        for d in &report.denied {
            let _ = d.attributes();
        }
        let _ = find_forbidden_messages(&text);
    }

    #[test]
    fn csr_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), junk in "[ -~]{0,40}") {
        let _ = csr_common_name(&junk);
        // A well-formed PEM around arbitrary DER reaches the DER walk.
        let pem = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            base64(&bytes)
        );
        let _ = csr_common_name(&base64(pem.as_bytes()));
    }

    #[test]
    fn apiserver_flags_never_panic(text in log_text(), yaml in yaml_text()) {
        let _ = parse_flags(&text);
        let _ = parse_manifest(&yaml, "manifest.yaml");
    }

    #[test]
    fn object_dumps_never_panic(yaml in yaml_text()) {
        let mut set = ObjectSet::default();
        set.load_text(Path::new("dump.yaml"), &yaml);
        set.load_text(Path::new("dump.json"), &yaml);
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * k)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
