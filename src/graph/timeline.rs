//! One object's existence over time, reconstructed from the objects dump and the changes the
//! audit stream logged for it.
//!
//! Rules (documented in `docs/graph-completeness.md`):
//! - no logged change: the dumped object exists for the whole window (and beyond);
//! - the first logged change is a create: the object did not exist before it;
//! - any other first change: the object existed from the start, as dumped (or, without a dump
//!   copy, as the delete's body shows it, or with an unknown body);
//! - a delete ends the object, except that of several deletes in a row only the last counts
//!   (graceful deletion logs the request and, later, the kubelet's final delete);
//! - a create or update without a body reuses the dump copy, if any.

use crate::record::Micros;

/// What a logged event did to the object.
#[derive(Debug, Clone)]
pub(crate) enum Change<V> {
    /// Created; the body when logged.
    Create(Option<V>),
    /// Replaced by a full new version (updates without a full body are not changes).
    Update(V),
    /// Deleted; the body when logged, and whether the deletion was final. A pod deleted by
    /// anybody but its node only starts graceful termination: it keeps its node (and the node
    /// its access) until the kubelet's own final delete, which may never come when the
    /// kubelet is refused.
    Delete(Option<V>, bool),
    /// Pods only: bound to a node (the `pods/binding` target, when logged), with the pod UID
    /// the Binding's metadata carries (the scheduler sets it), when logged.
    Bind(Option<String>, Option<String>),
    /// Pods only: a node successfully changed the pod (a status patch, its delete), which
    /// NodeRestriction allows only for pods bound to that node. Tells where a pod whose spec
    /// the inputs lack was running, so that only that node's graph is incomplete.
    Seen(String),
}

/// Turns a pod's current body (if known), a binding target and the pod UID (empty when
/// unknown) into the bound body.
pub(crate) type BindFn<'a, V> = dyn Fn(Option<&V>, &str, &str) -> Option<V> + 'a;

/// A change at a time, with the index of its source (0 is the dump).
#[derive(Debug, Clone)]
pub(crate) struct Dated<V> {
    pub time: Micros,
    pub source: u32,
    pub change: Change<V>,
}

/// The object existed during [from, to) with this body (`None`: existed, body unknown).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment<V> {
    pub from: Micros,
    pub to: Micros,
    pub body: Option<V>,
    pub source: u32,
}

/// Source index of the objects dump.
pub(crate) const DUMP_SOURCE: u32 = 0;

/// Builds the existence segments of one object. `bind` turns the current body (if known), a
/// binding target and the pod UID (empty when unknown) into the bound body.
pub(crate) fn segments<V: Clone>(
    dump: Option<&V>,
    mut changes: Vec<Dated<V>>,
    bind: &BindFn<'_, V>,
) -> Vec<Segment<V>> {
    changes.sort_by_key(|c| c.time);
    let mut out = Vec::new();
    let mut cur: Option<Segment<V>> = match changes.first() {
        None => {
            if let Some(d) = dump {
                out.push(Segment {
                    from: Micros::MIN,
                    to: Micros::MAX,
                    body: Some(d.clone()),
                    source: DUMP_SOURCE,
                });
            }
            return out;
        }
        Some(c) if matches!(c.change, Change::Create(_)) => None,
        Some(c) => Some(Segment {
            from: Micros::MIN,
            to: Micros::MAX,
            body: dump.cloned().or_else(|| match &c.change {
                // A binding succeeds only for a pending pod, so before its first logged
                // binding the pod was pending: `bind` with an empty node builds that body.
                Change::Bind(..) => bind(None, "", ""),
                // Running on that node since before the window, spec unknown.
                Change::Seen(node) => bind(None, node, ""),
                // Nothing graph-relevant changed unlogged inside the window (a node can only
                // be set by a logged binding), so the first full body held from the start.
                Change::Update(b) => Some(b.clone()),
                _ => None,
            }),
            source: if dump.is_some() {
                DUMP_SOURCE
            } else {
                c.source
            },
        }),
    };
    let close = |cur: Option<Segment<V>>, at: Micros, out: &mut Vec<Segment<V>>| {
        if let Some(mut s) = cur {
            s.to = at;
            if s.from < s.to {
                out.push(s);
            }
        }
    };
    for i in 0..changes.len() {
        let c = &changes[i];
        let t = c.time;
        let open = |body: Option<V>| {
            Some(Segment {
                from: t,
                to: Micros::MAX,
                body,
                source: c.source,
            })
        };
        match &c.change {
            Change::Create(body) => {
                close(cur.take(), t, &mut out);
                let fallback = || {
                    // A pod bound later was pending when created, whatever node the dump shows.
                    let bound_later = changes[i + 1..]
                        .iter()
                        .find(|n| !matches!(n.change, Change::Update(_)))
                        .is_some_and(|n| matches!(n.change, Change::Bind(..)));
                    if bound_later {
                        dump.and_then(|d| bind(Some(d), "", ""))
                    } else {
                        dump.cloned()
                    }
                };
                cur = open(body.clone().or_else(fallback));
            }
            Change::Update(body) => {
                close(cur.take(), t, &mut out);
                cur = open(Some(body.clone()));
            }
            Change::Bind(target, uid) => {
                let prev = cur.as_ref().and_then(|s| s.body.as_ref());
                let uid = uid.as_deref().unwrap_or("");
                let bound = target.as_deref().and_then(|n| bind(prev, n, uid));
                close(cur.take(), t, &mut out);
                cur = open(bound);
            }
            Change::Seen(node) => {
                if let Some(s) = cur.as_mut() {
                    if s.body.is_none() {
                        s.body = bind(None, node, "");
                    }
                }
            }
            Change::Delete(body, is_final) => {
                if let Some(s) = cur.as_mut() {
                    if s.body.is_none() {
                        s.body = body.clone();
                    }
                }
                if *is_final {
                    close(cur.take(), t, &mut out);
                }
            }
        }
    }
    close(cur, Micros::MAX, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(time: Micros, change: Change<&'static str>) -> Dated<&'static str> {
        Dated {
            time,
            source: time as u32,
            change,
        }
    }

    fn spans(s: &[Segment<&'static str>]) -> Vec<(Micros, Micros, Option<&'static str>)> {
        s.iter().map(|s| (s.from, s.to, s.body)).collect()
    }

    const NO_BIND: &BindFn<'static, &'static str> = &|_, _, _| None;

    #[test]
    fn dump_only_object_exists_always() {
        let s = segments(Some(&"d"), vec![], NO_BIND);
        assert_eq!(spans(&s), vec![(Micros::MIN, Micros::MAX, Some("d"))]);
        assert_eq!(s[0].source, DUMP_SOURCE);
    }

    #[test]
    fn create_then_delete() {
        let s = segments(
            Some(&"d"),
            vec![
                d(20, Change::Delete(None, true)),
                d(10, Change::Create(Some("c"))),
            ],
            NO_BIND,
        );
        assert_eq!(spans(&s), vec![(10, 20, Some("c"))]);
    }

    #[test]
    fn delete_first_means_existed_before() {
        let s = segments(Some(&"d"), vec![d(5, Change::Delete(None, true))], NO_BIND);
        assert_eq!(spans(&s), vec![(Micros::MIN, 5, Some("d"))]);
        let s = segments(
            None,
            vec![d(5, Change::Delete(Some("body"), true))],
            NO_BIND,
        );
        assert_eq!(spans(&s), vec![(Micros::MIN, 5, Some("body"))]);
    }

    #[test]
    fn first_full_update_body_held_from_the_start() {
        let s = segments(
            None,
            vec![d(5, Change::Update("u")), d(8, Change::Update("v"))],
            NO_BIND,
        );
        assert_eq!(
            spans(&s),
            vec![
                (Micros::MIN, 5, Some("u")),
                (5, 8, Some("u")),
                (8, Micros::MAX, Some("v"))
            ]
        );
    }

    #[test]
    fn graceful_deletion_ends_at_last_delete() {
        let s = segments(
            None,
            vec![
                d(1, Change::Create(Some("c"))),
                d(5, Change::Delete(None, false)),
                d(9, Change::Delete(None, true)),
            ],
            NO_BIND,
        );
        assert_eq!(spans(&s), vec![(1, 9, Some("c"))]);
        // Without a final delete (the kubelet refused), the pod stays, terminating.
        let s = segments(
            None,
            vec![
                d(1, Change::Create(Some("c"))),
                d(5, Change::Delete(None, false)),
            ],
            NO_BIND,
        );
        assert_eq!(spans(&s), vec![(1, Micros::MAX, Some("c"))]);
        // A status update while terminating does not end the object early.
        let s = segments(
            None,
            vec![
                d(1, Change::Create(Some("c"))),
                d(5, Change::Delete(None, false)),
                d(7, Change::Update("terminating")),
                d(9, Change::Delete(None, true)),
            ],
            NO_BIND,
        );
        assert_eq!(
            spans(&s),
            vec![(1, 7, Some("c")), (7, 9, Some("terminating"))]
        );
    }

    #[test]
    fn create_without_body_uses_dump_copy_or_unknown() {
        let s = segments(Some(&"d"), vec![d(3, Change::Create(None))], NO_BIND);
        assert_eq!(spans(&s), vec![(3, Micros::MAX, Some("d"))]);
        let s = segments(None, vec![d(3, Change::Create(None))], NO_BIND);
        assert_eq!(spans(&s), vec![(3, Micros::MAX, None)]);
    }

    #[test]
    fn update_replaces_body_and_recreate_starts_new_segment() {
        let s = segments(
            None,
            vec![
                d(1, Change::Create(Some("a"))),
                d(2, Change::Update("b")),
                d(3, Change::Delete(None, true)),
                d(7, Change::Create(Some("c"))),
            ],
            NO_BIND,
        );
        assert_eq!(
            spans(&s),
            vec![
                (1, 2, Some("a")),
                (2, 3, Some("b")),
                (7, Micros::MAX, Some("c"))
            ]
        );
    }

    #[test]
    fn bind_uses_previous_body() {
        let bind: &BindFn<'_, &'static str> = &|prev, node, _| match (prev, node) {
            (Some(_), "n1") => Some("bound-n1"),
            _ => None,
        };
        let s = segments(
            None,
            vec![
                d(1, Change::Create(Some("pending"))),
                d(2, Change::Bind(Some("n1".into()), None)),
            ],
            bind,
        );
        assert_eq!(
            spans(&s),
            vec![(1, 2, Some("pending")), (2, Micros::MAX, Some("bound-n1"))]
        );
        // A binding whose target was not logged leaves the body unknown.
        let s = segments(
            None,
            vec![
                d(1, Change::Create(Some("pending"))),
                d(2, Change::Bind(None, None)),
            ],
            bind,
        );
        assert_eq!(
            spans(&s),
            vec![(1, 2, Some("pending")), (2, Micros::MAX, None)]
        );
    }

    #[test]
    fn first_logged_binding_means_pending_before() {
        let bind: &BindFn<'_, &'static str> =
            &|_, node, _| Some(if node.is_empty() { "pending" } else { "bound" });
        let s = segments(
            None,
            vec![d(5, Change::Bind(Some("n1".into()), None))],
            bind,
        );
        assert_eq!(
            spans(&s),
            vec![
                (Micros::MIN, 5, Some("pending")),
                (5, Micros::MAX, Some("bound"))
            ]
        );
    }
}
