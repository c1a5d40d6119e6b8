//! The apiserver's authorization Forbidden message, parsed back into request attributes.
//!
//! Shape (spec section 2): a wrapper from apimachinery's `NewForbidden`
//! (`<resource>[.<group>] "<name>" is forbidden: `, `<resource>[.<group>] is forbidden: ` or
//! `forbidden: `), then the inner part from the authorization filter
//! (`User "<user>" cannot <verb> resource "<resource>[/<subresource>]" in API group "<group>"`
//! followed by `in the namespace "<ns>"` or `at the cluster scope`, or for non-resource requests
//! `User "<user>" cannot <verb> path "<path>"`), then `: <reason>` when the reason is non-empty.
//! Releases before about 1.11 printed a legacy inner part without the `resource`/`API group`
//! words (`User "bob" cannot list pods.apps/scale in the namespace "ns1"`, sometimes with a
//! trailing period); it is accepted too, because real audit logs of that era contain it.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till1};
use nom::combinator::map;
use nom::sequence::preceded;
use nom::{IResult, Parser};

use super::quoted::{go_quoted, html_unescape};

/// What begins the inner part of every authorization Forbidden message.
const ANCHOR: &str = "forbidden: User ";

/// One authorization Forbidden message, as request attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForbiddenMessage {
    /// The refused user, HTML escapes undone.
    pub username: String,
    /// The verb as the message spells it.
    pub verb: String,
    /// Empty for the core group (and for non-resource requests).
    pub api_group: String,
    /// The resource without its subresource (`pods` of `pods/status`).
    pub resource: String,
    /// `status` of `pods/status`; empty when there is none.
    pub subresource: String,
    /// Empty when the message says `at the cluster scope`.
    pub namespace: String,
    /// From the wrapper (`nodes "node1" is forbidden`); empty for list/watch/create.
    pub name: String,
    /// Only for non-resource requests (`cannot get path "/healthz"`).
    pub path: String,
    /// The authorizers' joined reason after `: `; empty when there was none. Not unescaped,
    /// because the apiserver does not escape it.
    pub reason: String,
    /// False for `cannot <verb> path "<path>"`.
    pub resource_request: bool,
    /// Which release family printed the inner part.
    pub form: MessageForm,
    /// The whole message as found: wrapper, inner part and reason.
    pub message: String,
}

/// The inner-part wording, which changed around Kubernetes 1.11.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MessageForm {
    /// `cannot <verb> resource "<r>" in API group "<g>" ...` (and `cannot <verb> path "<p>"`).
    #[default]
    Current,
    /// `cannot <verb> <r>[.<g>][/<sub>] in the namespace "<ns>"` / `at the cluster scope`.
    Legacy,
}

/// Parses the first authorization Forbidden message found anywhere in `msg`.
///
/// Pure (no I/O, no state): the analyzer also calls it on recorded 403 `status.message`s.
pub fn parse_forbidden_message(msg: &str) -> Option<ForbiddenMessage> {
    find_forbidden_messages(msg).into_iter().next()
}

/// Every authorization Forbidden message in `text`, in order.
///
/// A reason runs to the end of `text`, or, when another Forbidden message follows (aggregated
/// errors), up to that message's wrapper, without the separating `, `; inside an aggregate's
/// unclosed `[`, a final `]` is not part of the reason.
pub fn find_forbidden_messages(text: &str) -> Vec<ForbiddenMessage> {
    let anchors: Vec<usize> = text.match_indices(ANCHOR).map(|(pos, _)| pos).collect();
    if anchors.is_empty() {
        return Vec::new();
    }
    let wrappers: Vec<Wrapper> = anchors
        .iter()
        .map(|&pos| wrapper_before(text.get(..pos).unwrap_or(""), pos))
        .collect();
    let mut found = Vec::new();
    for (k, (&pos, wrapper)) in anchors.iter().zip(&wrappers).enumerate() {
        let limit = wrappers.get(k + 1).map_or(text.len(), |w| w.start);
        let Some(inner_text) = text.get(pos + "forbidden: ".len()..limit) else {
            continue;
        };
        let Ok((rest, inner)) = inner_part(inner_text) else {
            continue;
        };
        let mut reason = reason_after(rest, limit < text.len());
        // `utilerrors.NewAggregate` prints `[e1, e2]`: the closing bracket is not the reason's.
        if reason.ends_with(']') {
            let before = text.get(..wrapper.start.min(pos)).unwrap_or("");
            if before.matches('[').count() > before.matches(']').count() {
                reason = reason.strip_suffix(']').unwrap_or(reason);
            }
        }
        let end = limit - rest.len() + reason.len() + if reason.is_empty() { 0 } else { 2 };
        found.push(assemble(text, pos, wrapper, inner, reason, end));
    }
    found
}

/// The wrapper candidate found before an anchor, not yet checked against the inner part.
struct Wrapper {
    /// Byte offset where the message starts when the wrapper is accepted.
    start: usize,
    /// `resource[.group]` as printed by `NewForbidden`; empty when there is none.
    qualified: String,
    name: String,
}

/// Scans backwards from the anchor for `<resource>[.<group>] ["<name>"] is `.
fn wrapper_before(pre: &str, anchor: usize) -> Wrapper {
    let bare = Wrapper {
        start: anchor,
        qualified: String::new(),
        name: String::new(),
    };
    let Some(before_is) = pre.strip_suffix(" is ") else {
        return bare;
    };
    let (before_name, name) = match quoted_suffix(before_is) {
        Some((head, name)) => match head.strip_suffix(' ') {
            Some(head) => (head, name),
            None => return bare,
        },
        None => (before_is, String::new()),
    };
    let token_len = before_name
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        .count();
    if token_len == 0 {
        return bare;
    }
    let start = before_name.len() - token_len;
    Wrapper {
        start,
        qualified: before_name.get(start..).unwrap_or("").to_string(),
        name,
    }
}

/// When `s` ends with a complete Go string literal, returns what precedes it and its value.
fn quoted_suffix(s: &str) -> Option<(&str, String)> {
    if !s.ends_with('"') {
        return None;
    }
    let body = s.get(..s.len() - 1)?;
    // Try each unescaped quote from the nearest; the first literal that ends exactly at the
    // end of `s` is the name.
    for (open, _) in body.rmatch_indices('"') {
        let backslashes = body
            .get(..open)?
            .bytes()
            .rev()
            .take_while(|&b| b == b'\\')
            .count();
        if backslashes % 2 == 1 {
            continue;
        }
        if let Ok(("", value)) = go_quoted(s.get(open..)?) {
            return Some((s.get(..open)?, value));
        }
    }
    None
}

/// The inner part as parsed, before wrapper checks.
struct Inner {
    username: String,
    verb: String,
    target: Target,
}

enum Target {
    Resource {
        /// `resource[/subresource]`.
        resource: String,
        group: String,
        namespace: Option<String>,
        form: MessageForm,
    },
    Path(String),
}

fn inner_part(i: &str) -> IResult<&str, Inner> {
    let (i, (_, username, _, verb, _)) = (
        tag("User "),
        go_quoted,
        tag(" cannot "),
        take_till1(|c| c == ' '),
        tag(" "),
    )
        .parse(i)?;
    let (i, target) = alt((current_resource, non_resource, legacy_resource)).parse(i)?;
    Ok((
        i,
        Inner {
            username,
            verb: verb.to_string(),
            target,
        },
    ))
}

fn scope(i: &str) -> IResult<&str, Option<String>> {
    alt((
        map(preceded(tag(" in the namespace "), go_quoted), Some),
        map(tag(" at the cluster scope"), |_| None),
    ))
    .parse(i)
}

fn current_resource(i: &str) -> IResult<&str, Target> {
    let (i, (_, resource, _, group, namespace)) = (
        tag("resource "),
        go_quoted,
        tag(" in API group "),
        go_quoted,
        scope,
    )
        .parse(i)?;
    Ok((
        i,
        Target::Resource {
            resource,
            group,
            namespace,
            form: MessageForm::Current,
        },
    ))
}

fn non_resource(i: &str) -> IResult<&str, Target> {
    let (i, path) = preceded(tag("path "), go_quoted).parse(i)?;
    Ok((legacy_period(i), Target::Path(path)))
}

fn legacy_resource(i: &str) -> IResult<&str, Target> {
    let (i, (token, namespace)) = (take_till1(|c| c == ' '), scope).parse(i)?;
    let (resource_group, sub) = match token.split_once('/') {
        Some((rg, sub)) => (rg, Some(sub)),
        None => (token, None),
    };
    // Resource names have no dots, so the first dot separates the group.
    let (resource, group) = resource_group
        .split_once('.')
        .unwrap_or((resource_group, ""));
    let resource = match sub {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource.to_string(),
    };
    Ok((
        legacy_period(i),
        Target::Resource {
            resource,
            group: group.to_string(),
            namespace,
            form: MessageForm::Legacy,
        },
    ))
}

/// Old releases ended the inner part with `.`; consume it only where it cannot be prose.
fn legacy_period(i: &str) -> &str {
    match i.strip_prefix('.') {
        Some(rest) if rest.is_empty() || rest.starts_with([':', ' ', '\n', '"']) => rest,
        _ => i,
    }
}

/// The reason after the inner part: `: <reason>` to the end (or to the next message).
fn reason_after(rest: &str, another_follows: bool) -> &str {
    let Some(reason) = rest.strip_prefix(": ") else {
        return "";
    };
    let reason = reason.trim_end_matches(['\r', '\n']);
    if another_follows {
        reason.trim_end_matches([',', ';', ' ', '\t'])
    } else {
        reason
    }
}

fn assemble(
    text: &str,
    anchor: usize,
    wrapper: &Wrapper,
    inner: Inner,
    reason: &str,
    end: usize,
) -> ForbiddenMessage {
    let unescape = |s: &str| html_unescape(s).into_owned();
    let mut out = ForbiddenMessage {
        username: unescape(&inner.username),
        verb: unescape(&inner.verb),
        reason: reason.to_string(),
        ..ForbiddenMessage::default()
    };
    let mut start = anchor;
    match inner.target {
        Target::Path(path) => out.path = unescape(&path),
        Target::Resource {
            resource,
            group,
            namespace,
            form,
        } => {
            let resource = unescape(&resource);
            let (resource, subresource) = match resource.split_once('/') {
                Some((r, s)) => (r.to_string(), s.to_string()),
                None => (resource.clone(), String::new()),
            };
            out.resource_request = true;
            out.form = form;
            out.api_group = unescape(&group);
            out.namespace = namespace.as_deref().map(unescape).unwrap_or_default();
            let qualified = if out.api_group.is_empty() {
                resource.clone()
            } else {
                format!("{resource}.{}", out.api_group)
            };
            // Trust the wrapper's name only when the wrapper names the same resource.
            if !wrapper.qualified.is_empty() && wrapper.qualified == qualified {
                out.name = wrapper.name.clone();
                start = wrapper.start;
            }
            out.resource = resource;
            out.subresource = subresource;
        }
    }
    out.message = text.get(start..end).unwrap_or("").to_string();
    out
}

/// Node names from `node "<name>" not found` (the kubelet's node lister), anywhere in `text`.
pub fn find_node_not_found(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (pos, _) in text.match_indices("node \"") {
        let boundary = text
            .get(..pos)
            .and_then(|pre| pre.bytes().next_back())
            .is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        if !boundary {
            continue;
        }
        let Some(at_quote) = text.get(pos + "node ".len()..) else {
            continue;
        };
        if let Ok((rest, name)) = go_quoted(at_quote) {
            if rest.starts_with(" not found") {
                names.push(name);
            }
        }
    }
    names
}
