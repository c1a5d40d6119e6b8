//! The legacy text audit format (`--audit-log-format=legacy`), parsed with nom.
//!
//! One line per event, as written by the apiserver's `audit.EventString`:
//! `<RFC3339Nano time> AUDIT: id="…" stage="…" ip="…" method="…" user="…" groups="…" as="…"
//! asgroups="…" user-agent="…" namespace="…" uri="…" response="…"`. Values are Go `%q`
//! strings; `groups` and `asgroups` are themselves comma-joined `%q` strings; placeholders
//! are `<none>` (no user, groups or namespace), `<self>` (no impersonation), `<lookup>`
//! (impersonated groups not given), `<unknown>` (no source IP) and `<deferred>` (no response
//! yet). The line becomes a [`RawEvent`] so that the rest of the scanner treats both formats
//! alike. The legacy format has no objectRef, annotations or bodies.

use std::borrow::Cow;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, none_of, one_of, satisfy};
use nom::combinator::{all_consuming, map, map_opt, recognize, value};
use nom::multi::{count, fold_many0, separated_list0, separated_list1};
use nom::sequence::{delimited, preceded, separated_pair};
use nom::{IResult, Parser};

use crate::input::event::{CowStr, RawEvent, RawStatus, RawUser};

/// The separator between the timestamp and the fields; also what the pre-filter looks for.
pub const AUDIT_MARKER: &str = " AUDIT: ";

fn hex_digits(n: usize) -> impl FnMut(&str) -> IResult<&str, u32> {
    move |i| {
        map_opt(
            recognize(count(satisfy(|c| c.is_ascii_hexdigit()), n)),
            |h: &str| u32::from_str_radix(h, 16).ok(),
        )
        .parse(i)
    }
}

/// One escape sequence of a Go quoted string, after the backslash. `\x` escapes stand for
/// bytes; a byte above 0x7f cannot be a `char` on its own and becomes U+FFFD.
fn escape(i: &str) -> IResult<&str, char> {
    alt((
        value('\u{7}', char('a')),
        value('\u{8}', char('b')),
        value('\u{c}', char('f')),
        value('\n', char('n')),
        value('\r', char('r')),
        value('\t', char('t')),
        value('\u{b}', char('v')),
        value('\\', char('\\')),
        value('"', char('"')),
        value('\'', char('\'')),
        map(preceded(char('x'), hex_digits(2)), |b| {
            char::from_u32(b).filter(|_| b < 0x80).unwrap_or('\u{fffd}')
        }),
        map_opt(preceded(char('u'), hex_digits(4)), char::from_u32),
        map_opt(preceded(char('U'), hex_digits(8)), char::from_u32),
        map_opt(recognize(count(one_of("01234567"), 3)), |o: &str| {
            u32::from_str_radix(o, 8)
                .ok()
                .map(|b| char::from_u32(b).filter(|_| b < 0x80).unwrap_or('\u{fffd}'))
        }),
    ))
    .parse(i)
}

/// A Go `%q` string; borrows when it has no escapes.
pub fn go_quoted(i: &str) -> IResult<&str, Cow<'_, str>> {
    let (rest, body) = delimited(
        char('"'),
        recognize(fold_many0(
            alt((
                recognize(none_of("\\\"")),
                recognize(preceded(char('\\'), escape)),
            )),
            || (),
            |_, _| (),
        )),
        char('"'),
    )
    .parse(i)?;
    if !body.contains('\\') {
        return Ok((rest, Cow::Borrowed(body)));
    }
    let (_, s) = all_consuming(fold_many0(
        alt((preceded(char('\\'), escape), none_of("\\"))),
        String::new,
        |mut s, c| {
            s.push(c);
            s
        },
    ))
    .parse(body)?;
    Ok((rest, Cow::Owned(s)))
}

fn key(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_').parse(i)
}

/// `<time> AUDIT: k="v" k="v" …` → the time and the raw fields.
#[allow(clippy::type_complexity)]
fn line(i: &str) -> IResult<&str, (&str, Vec<(&str, Cow<'_, str>)>)> {
    all_consuming(separated_pair(
        take_while1(|c: char| c != ' '),
        tag(AUDIT_MARKER),
        separated_list1(char(' '), separated_pair(key, char('='), go_quoted)),
    ))
    .parse(i.trim_end_matches(['\r', '\n', ' ']))
}

/// The list inside `groups="…"`: comma-joined `%q` strings.
fn group_list(s: &str) -> Option<Vec<Cow<'_, str>>> {
    all_consuming(separated_list0(char(','), go_quoted))
        .parse(s)
        .ok()
        .map(|(_, v)| v)
}

fn placeholder(v: &str) -> bool {
    v.len() > 2 && v.starts_with('<') && v.ends_with('>')
}

/// Parses one legacy line into an event. The error is a one-line reason.
pub fn parse_legacy_line(text: &str) -> Result<RawEvent<'_>, String> {
    let (_, (time, fields)) = line(text)
        .map_err(|_| "not a legacy audit line (`<time> AUDIT: key=\"value\" …`)".to_string())?;
    let mut ev = RawEvent {
        kind: Some("Event".into()),
        request_received_timestamp: Some(time.into()),
        ..RawEvent::default()
    };
    let mut user = RawUser::default();
    let mut as_user: Option<RawUser<'_>> = None;
    let mut as_groups = None;
    for (k, v) in fields {
        let v = CowStr(v);
        let real = !placeholder(&v);
        match k {
            "id" => ev.audit_id = Some(v),
            "stage" => ev.stage = Some(v),
            "ip" if real => ev.source_ips = Some(vec![v]),
            "method" => ev.verb = Some(v),
            "user" if real => user.username = Some(v),
            "groups" if real => {
                user.groups = Some(
                    group_list(&v)
                        .ok_or("groups is not a list of quoted strings")?
                        .into_iter()
                        .map(|g| CowStr(Cow::Owned(g.into_owned())))
                        .collect(),
                )
            }
            "as" if real => {
                as_user = Some(RawUser {
                    username: Some(v),
                    ..RawUser::default()
                })
            }
            "asgroups" if real => {
                as_groups = Some(
                    group_list(&v)
                        .ok_or("asgroups is not a list of quoted strings")?
                        .into_iter()
                        .map(|g| CowStr(Cow::Owned(g.into_owned())))
                        .collect(),
                )
            }
            "user-agent" => ev.user_agent = Some(v),
            "namespace" if real => {
                ev.object_ref = Some(crate::input::event::RawObjectRef {
                    namespace: Some(v),
                    ..Default::default()
                })
            }
            "uri" => ev.request_uri = Some(v),
            "response" if real => {
                let code = v
                    .parse()
                    .map_err(|_| format!("response {v:?} is not a status code"))?;
                ev.response_status = Some(RawStatus {
                    code: Some(code),
                    ..RawStatus::default()
                });
            }
            _ => {}
        }
    }
    if let Some(u) = as_user.as_mut() {
        u.groups = as_groups;
    }
    ev.user = Some(user);
    ev.impersonated_user = as_user;
    if ev.audit_id.as_deref().is_none_or(str::is_empty) {
        return Err("legacy audit line without id".into());
    }
    Ok(ev)
}

/// Whether a line looks like the legacy format (a digit, then the marker), cheaply.
pub fn looks_legacy(line: &[u8]) -> bool {
    line.first().is_some_and(u8::is_ascii_digit)
        && memchr::memmem::find(&line[..line.len().min(64)], AUDIT_MARKER.as_bytes()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{KubeletMatch, SourcePos, Stage};

    const LINE: &str = r#"2020-09-01T10:00:00.123456789+02:00 AUDIT: id="5c8e6a5f-1" stage="ResponseComplete" ip="10.0.0.1" method="list" user="system:node:node1" groups="\"system:nodes\",\"system:authenticated\"" as="<self>" asgroups="<lookup>" user-agent="kubelet/v1.19.0 (linux/amd64) kubernetes/e199641" namespace="<none>" uri="/api/v1/nodes?fieldSelector=metadata.name%3Dnode1&limit=500" response="403""#;

    #[test]
    fn parses_real_shape() {
        let ev = parse_legacy_line(LINE).unwrap();
        assert_eq!(ev.audit_id.as_deref(), Some("5c8e6a5f-1"));
        assert_eq!(ev.stage(), Some(Stage::ResponseComplete));
        assert_eq!(ev.request_received(), Some(1_598_947_200_123_456));
        assert_eq!(ev.kubelet_match(), Some(KubeletMatch::NodeUser));
        let r = ev.to_kubelet_request(KubeletMatch::NodeUser, SourcePos::default());
        assert_eq!(r.user.groups, vec!["system:nodes", "system:authenticated"]);
        assert_eq!(r.impersonated_user, None);
        assert_eq!(r.source_ips, vec!["10.0.0.1"]);
        assert_eq!(r.verb, "list");
        assert_eq!(r.response_code, Some(403));
        assert_eq!(r.uri.field_selector.as_deref(), Some("metadata.name=node1"));
        assert_eq!(r.object_ref, None);
        assert!(looks_legacy(LINE.as_bytes()));
    }

    #[test]
    fn placeholders_impersonation_and_escapes() {
        let l = r#"2020-09-01T10:00:00Z AUDIT: id="x" stage="RequestReceived" ip="<unknown>" method="get" user="admin\t\u00e9\x41" groups="<none>" as="system:node:n2" asgroups="\"system:nodes\"" user-agent="curl/7 \"q\"" namespace="kube-system" uri="/api/v1/namespaces/kube-system/secrets/s" response="<deferred>""#;
        let ev = parse_legacy_line(l).unwrap();
        let r = ev.to_kubelet_request(ev.kubelet_match().unwrap(), SourcePos::default());
        assert_eq!(r.matched_by, Some(KubeletMatch::ImpersonatedNode));
        assert_eq!(r.user.username, "admin\té\u{41}");
        assert!(r.user.groups.is_empty());
        assert_eq!(
            r.impersonated_user.as_ref().unwrap().groups,
            vec!["system:nodes"]
        );
        assert_eq!(r.user_agent, "curl/7 \"q\"");
        assert_eq!(r.response_code, None);
        assert!(r.source_ips.is_empty());
        assert_eq!(r.object_ref.unwrap().namespace, "kube-system");
    }

    #[test]
    fn rejects_broken_lines() {
        for l in [
            "2020-09-01T10:00:00Z AUDIT: id=\"x",
            "2020-09-01T10:00:00Z AUDIT: id=x",
            "2020-09-01T10:00:00Z AUDIT: stage=\"x\"",
            "2020-09-01T10:00:00Z AUDIT: id=\"x\" response=\"abc\"",
            "2020-09-01T10:00:00Z AUDIT: id=\"x\" groups=\"a\"",
            "2020-09-01T10:00:00Z AUDIT: id=\"\\q\"",
            "hello",
        ] {
            assert!(parse_legacy_line(l).is_err(), "{l}");
        }
    }
}
