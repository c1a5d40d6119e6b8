//! `parse_forbidden_message` and `find_node_not_found` on the message forms the apiserver and
//! the kubelet print (spec section 2), plus round-trip and no-panic properties.

use nodeauthz::kubelet_log::{
    find_forbidden_messages, find_node_not_found, parse_forbidden_message, ForbiddenMessage,
    MessageForm,
};
use proptest::prelude::*;

/// The attributes a case expects, in the order of the message.
#[allow(clippy::too_many_arguments)]
fn resource(
    user: &str,
    verb: &str,
    group: &str,
    res: &str,
    sub: &str,
    ns: &str,
    name: &str,
    reason: &str,
) -> (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
) {
    (
        user.into(),
        verb.into(),
        group.into(),
        res.into(),
        sub.into(),
        ns.into(),
        name.into(),
        reason.into(),
    )
}

fn attrs(
    m: &ForbiddenMessage,
) -> (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
) {
    (
        m.username.clone(),
        m.verb.clone(),
        m.api_group.clone(),
        m.resource.clone(),
        m.subresource.clone(),
        m.namespace.clone(),
        m.name.clone(),
        m.reason.clone(),
    )
}

#[test]
fn issue_5_list_nodes_at_cluster_scope() {
    let line = r#"reflector.go:127] k8s.io/client-go/informers/factory.go:134: Failed to watch *v1.Node: failed to list *v1.Node: nodes "node1" is forbidden: User "system:node:node1" cannot list resource "nodes" in API group "" at the cluster scope"#;
    let m = parse_forbidden_message(line).unwrap();
    assert_eq!(
        attrs(&m),
        resource(
            "system:node:node1",
            "list",
            "",
            "nodes",
            "",
            "",
            "node1",
            ""
        )
    );
    assert!(m.resource_request);
    assert_eq!(m.form, MessageForm::Current);
    assert_eq!(
        m.message,
        r#"nodes "node1" is forbidden: User "system:node:node1" cannot list resource "nodes" in API group "" at the cluster scope"#
    );
}

#[test]
fn issue_5_lease_in_kube_node_lease() {
    let line = r#"failed to ensure node lease exists, will retry in 7s, error: leases.coordination.k8s.io "node1" is forbidden: User "system:node:node1" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease""#;
    let m = parse_forbidden_message(line).unwrap();
    assert_eq!(
        attrs(&m),
        resource(
            "system:node:node1",
            "get",
            "coordination.k8s.io",
            "leases",
            "",
            "kube-node-lease",
            "node1",
            ""
        )
    );
    assert!(m
        .message
        .starts_with(r#"leases.coordination.k8s.io "node1" is forbidden: "#));
}

#[test]
fn issue_5_error_getting_node_is_a_get_not_a_not_found() {
    let line = r#"kubelet_node_status.go:470] Error updating node status, will retry: error getting node "node1": nodes "node1" is forbidden: User "system:node:node1" cannot get resource "nodes" in API group "" at the cluster scope"#;
    let all = find_forbidden_messages(line);
    assert_eq!(all.len(), 1);
    assert_eq!(
        attrs(&all[0]),
        resource("system:node:node1", "get", "", "nodes", "", "", "node1", "")
    );
    assert!(find_node_not_found(line).is_empty());
}

#[test]
fn node_not_found_forms() {
    assert_eq!(
        find_node_not_found(r#"kubelet.go:2209] node "node1" not found"#),
        ["node1"]
    );
    assert_eq!(
        find_node_not_found(r#"Error getting node: node "a\"b" not found; node "c" not found"#),
        ["a\"b", "c"]
    );
    // The apiserver's own NotFound names the plural resource: a different fact, not matched.
    assert!(find_node_not_found(r#"nodes "node1" not found"#).is_empty());
    assert!(find_node_not_found(r#"mynode "node1" not found"#).is_empty());
    assert!(find_node_not_found(r#"node "node1" is ready"#).is_empty());
}

#[test]
fn spec_examples_with_reasons() {
    let m = parse_forbidden_message(
        r#"pods is forbidden: User "system:node:kind-worker" cannot list resource "pods" in API group "" in the namespace "default": can only list/watch pods with spec.nodeName field selector"#,
    )
    .unwrap();
    assert_eq!(
        attrs(&m),
        resource(
            "system:node:kind-worker",
            "list",
            "",
            "pods",
            "",
            "default",
            "",
            "can only list/watch pods with spec.nodeName field selector"
        )
    );
    let m = parse_forbidden_message(
        r#"nodes "node-b" is forbidden: User "system:node:node-a" cannot get resource "nodes" in API group "" at the cluster scope: node 'node-a' cannot read 'node-b', only its own Node object"#,
    )
    .unwrap();
    assert_eq!(
        attrs(&m),
        resource(
            "system:node:node-a",
            "get",
            "",
            "nodes",
            "",
            "",
            "node-b",
            "node 'node-a' cannot read 'node-b', only its own Node object"
        )
    );
    let m = parse_forbidden_message(
        r#"secrets "s1" is forbidden: User "system:node:node1" cannot get resource "secrets" in API group "" in the namespace "ns": no relationship found between node 'node1' and this object"#,
    )
    .unwrap();
    assert_eq!(
        m.reason,
        "no relationship found between node 'node1' and this object"
    );
    assert_eq!(m.name, "s1");
    assert_eq!(m.namespace, "ns");
}

#[test]
fn subresource_and_group_with_name() {
    let m = parse_forbidden_message(
        r#"pods "web-1" is forbidden: User "system:node:n1" cannot update resource "pods/status" in API group "" in the namespace "prod""#,
    )
    .unwrap();
    assert_eq!(
        attrs(&m),
        resource(
            "system:node:n1",
            "update",
            "",
            "pods",
            "status",
            "prod",
            "web-1",
            ""
        )
    );
    let m = parse_forbidden_message(
        r#"serviceaccounts "default" is forbidden: User "system:node:n1" cannot create resource "serviceaccounts/token" in API group "" in the namespace "ns1": can only create tokens for individual service accounts"#,
    )
    .unwrap();
    assert_eq!(
        (m.resource.as_str(), m.subresource.as_str()),
        ("serviceaccounts", "token")
    );
    assert_eq!(m.name, "default");
    let m = parse_forbidden_message(
        r#"csinodes.storage.k8s.io "n2" is forbidden: User "system:node:n1" cannot delete resource "csinodes" in API group "storage.k8s.io" at the cluster scope: can only access CSINode with the same name as the requesting node"#,
    )
    .unwrap();
    assert_eq!(m.api_group, "storage.k8s.io");
    assert_eq!(m.name, "n2");
}

#[test]
fn non_resource_path() {
    let m = parse_forbidden_message(
        r#"Get "https://10.0.0.1:6443/healthz": forbidden: User "system:node:node1" cannot get path "/healthz""#,
    )
    .unwrap();
    assert!(!m.resource_request);
    assert_eq!(m.path, "/healthz");
    assert_eq!(m.verb, "get");
    assert_eq!(m.resource, "");
    assert_eq!(m.name, "");
    assert_eq!(
        m.message,
        r#"forbidden: User "system:node:node1" cannot get path "/healthz""#
    );
}

#[test]
fn html_escapes_are_undone_in_the_inner_part_only() {
    let m = parse_forbidden_message(
        r#"forbidden: User "a&amp;b&lt;c&gt;" cannot get path "/x?a=1&amp;b=2": reason &amp; stays"#,
    )
    .unwrap();
    assert_eq!(m.username, "a&b<c>");
    assert_eq!(m.path, "/x?a=1&b=2");
    assert_eq!(m.reason, "reason &amp; stays");
}

#[test]
fn go_quoting_in_names_and_users() {
    let m = parse_forbidden_message(
        r#"configmaps "we\"ird\\name" is forbidden: User "u\"x" cannot get resource "configmaps" in API group "" in the namespace "n""#,
    )
    .unwrap();
    assert_eq!(m.name, "we\"ird\\name");
    assert_eq!(m.username, "u\"x");
}

#[test]
fn legacy_forms_from_older_apiservers() {
    // Verbatim from liggitt/audit2rbac testdata/demo.log (a 2017 cluster).
    let m = parse_forbidden_message(
        r#"pods is forbidden: User "bob" cannot list pods in the namespace "default""#,
    )
    .unwrap();
    assert_eq!(
        attrs(&m),
        resource("bob", "list", "", "pods", "", "default", "", "")
    );
    assert_eq!(m.form, MessageForm::Legacy);
    let m = parse_forbidden_message(
        r#"nodes is forbidden: User "system:serviceaccount:ns1:sa1" cannot list nodes at the cluster scope"#,
    )
    .unwrap();
    assert_eq!(m.resource, "nodes");
    assert_eq!(m.namespace, "");
    // Older still: group and subresource folded into the resource, and a trailing period.
    let m = parse_forbidden_message(
        r#"deployments.apps "web" is forbidden: User "alice" cannot update deployments.apps/scale in the namespace "ns1".: no path found to object"#,
    )
    .unwrap();
    assert_eq!(
        attrs(&m),
        resource(
            "alice",
            "update",
            "apps",
            "deployments",
            "scale",
            "ns1",
            "web",
            "no path found to object"
        )
    );
}

#[test]
fn aggregated_errors_split_at_the_next_message() {
    let text = r#"[nodes "a" is forbidden: User "system:node:a" cannot get resource "nodes" in API group "" at the cluster scope: r1, pods is forbidden: User "system:node:a" cannot list resource "pods" in API group "" at the cluster scope]"#;
    let all = find_forbidden_messages(text);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].reason, "r1");
    assert_eq!(all[0].name, "a");
    assert_eq!(all[1].resource, "pods");
    assert_eq!(all[1].reason, "");
    // The aggregate's closing bracket is not part of the last reason.
    let text = r#"[timeout, pods is forbidden: User "u" cannot list resource "pods" in API group "" at the cluster scope: can only list/watch pods with spec.nodeName field selector]"#;
    let m = parse_forbidden_message(text).unwrap();
    assert_eq!(
        m.reason,
        "can only list/watch pods with spec.nodeName field selector"
    );
    assert!(m.message.ends_with("selector"));
    // Outside an aggregate a bracket stays.
    let m = parse_forbidden_message(
        r#"pods is forbidden: User "u" cannot list resource "pods" in API group "" at the cluster scope: RBAC: [x]"#,
    )
    .unwrap();
    assert_eq!(m.reason, "RBAC: [x]");
}

#[test]
fn mismatched_wrapper_gives_no_name() {
    // The wrapper names another resource, so its name cannot be the request's.
    let m = parse_forbidden_message(
        r#"configmaps "x" is forbidden: User "u" cannot list resource "pods" in API group "" at the cluster scope"#,
    )
    .unwrap();
    assert_eq!(m.name, "");
    assert_eq!(m.resource, "pods");
    assert!(m.message.starts_with("forbidden: User "));
}

#[test]
fn not_authorization_errors() {
    for text in [
        "",
        "forbidden",
        r#"forbidden: User "unterminated"#,
        r#"nodes "node1" is forbidden: node "node1" is not allowed to modify taints"#,
        r#"forbidden: User "u" cannot"#,
        r#"forbidden: User "u" cannot get resource "pods" in API group """#,
    ] {
        assert_eq!(parse_forbidden_message(text), None, "{text}");
    }
}

// --- properties -----------------------------------------------------------------------------

/// Go's `strconv.Quote` for the characters the generators produce.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn sanitize(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[derive(Debug, Clone)]
struct Req {
    user: String,
    verb: String,
    group: String,
    resource: String,
    sub: String,
    ns: String,
    name: String,
    path: Option<String>,
    reason: String,
}

/// The apiserver's message (spec section 2), written independently of the parser.
fn format(r: &Req) -> String {
    let inner = match &r.path {
        Some(p) => format!(
            "User {} cannot {} path {}",
            go_quote(&r.user),
            r.verb,
            go_quote(p)
        ),
        None => {
            let res = if r.sub.is_empty() {
                r.resource.clone()
            } else {
                format!("{}/{}", r.resource, r.sub)
            };
            let scope = if r.ns.is_empty() {
                " at the cluster scope".to_string()
            } else {
                format!(" in the namespace {}", go_quote(&r.ns))
            };
            format!(
                "User {} cannot {} resource {} in API group {}{}",
                go_quote(&r.user),
                r.verb,
                go_quote(&res),
                go_quote(&r.group),
                scope
            )
        }
    };
    let mut text = sanitize(&inner);
    if !r.reason.is_empty() {
        text.push_str(": ");
        text.push_str(&r.reason);
    }
    match &r.path {
        Some(_) => format!("forbidden: {text}"),
        None => {
            let gr = if r.group.is_empty() {
                r.resource.clone()
            } else {
                format!("{}.{}", r.resource, r.group)
            };
            if r.name.is_empty() {
                format!("{gr} is forbidden: {text}")
            } else {
                format!("{gr} {} is forbidden: {text}", go_quote(&r.name))
            }
        }
    }
}

const FREE: &str = "[a-zA-Z0-9:.\\-_\"\\\\&<>' /é\u{1F600}\t\n]{0,16}";

fn req_strategy() -> impl Strategy<Value = Req> {
    (
        (
            FREE,
            "[a-z]{1,12}",
            "|[a-z]{1,8}(\\.[a-z]{1,6}){0,3}",
            "[a-z0-9]{1,12}",
            "|[a-z]{1,8}",
        ),
        (FREE, FREE, proptest::option::of(FREE), "|[ -~]{1,40}"),
    )
        .prop_filter(
            "no anchor inside free text",
            |(_, (user, name, path, reason))| {
                let all = format!("{user}{name}{}{reason}", path.clone().unwrap_or_default());
                !all.contains("forbidden: User ")
            },
        )
        .prop_map(
            |((verb_user, verb, group, resource, sub), (ns, name, path, reason))| Req {
                user: verb_user,
                verb,
                group,
                resource,
                sub,
                ns,
                name,
                path,
                reason: reason.trim_end().to_string(),
            },
        )
}

proptest! {
    #[test]
    fn format_then_parse_round_trips(r in req_strategy(), prefix in "|[a-zA-Z *.0-9]{0,20}: ") {
        let message = format(&r);
        let text = format!("{prefix}{message}");
        let m = parse_forbidden_message(&text).expect("a formatted message parses");
        prop_assert_eq!(&m.username, &r.user);
        prop_assert_eq!(&m.verb, &r.verb);
        prop_assert_eq!(&m.reason, &r.reason);
        prop_assert_eq!(&m.message, &message);
        match &r.path {
            Some(p) => {
                prop_assert!(!m.resource_request);
                prop_assert_eq!(&m.path, p);
            }
            None => {
                prop_assert!(m.resource_request);
                prop_assert_eq!(&m.api_group, &r.group);
                prop_assert_eq!(&m.resource, &r.resource);
                prop_assert_eq!(&m.subresource, &r.sub);
                prop_assert_eq!(&m.namespace, &r.ns);
                prop_assert_eq!(&m.name, &r.name);
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC*") {
        let _ = find_forbidden_messages(&s);
        let _ = find_node_not_found(&s);
    }

    #[test]
    fn fragment_soup_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("forbidden: User "), Just("\""), Just("\\"), Just(" is "), Just(" cannot "),
        Just("resource "), Just(" in API group "), Just(" in the namespace "),
        Just(" at the cluster scope"), Just("path "), Just(": "), Just("node \""),
        Just(" not found"), Just("\\x"), Just("\\u12"), Just("é"), Just("&amp;"), Just("."),
        Just("nodes"), Just("a"), Just(" "),
    ], 0..40)) {
        let s: String = parts.concat();
        let _ = find_forbidden_messages(&s);
        let _ = find_node_not_found(&s);
    }
}

proptest! {
    /// The same message inside a structured klog line (quoted once more by klog) comes back
    /// with the same attributes, from `parse_kubelet_log`.
    #[test]
    fn structured_klog_round_trips(r in req_strategy()) {
        let message = format(&r);
        let line = format!(
            "E1102 08:00:01.123456    1234 reflector.go:158] \"Unhandled Error\" err={} logger=\"UnhandledError\"",
            go_quote(&format!("k8s.io/client-go/informers/factory.go:160: Failed to watch: {message}"))
        );
        let report = nodeauthz::kubelet_log::parse_kubelet_log(&line);
        prop_assert_eq!(report.denied.len(), 1);
        let d = &report.denied[0];
        prop_assert_eq!(&d.message, &message);
        prop_assert_eq!(&d.username, &r.user);
        prop_assert_eq!(&d.reason, &r.reason);
        let want_name = if r.path.is_some() { "" } else { r.name.as_str() };
        prop_assert_eq!(d.name.as_str(), want_name);
        prop_assert_eq!(d.line, 1);
    }
}
