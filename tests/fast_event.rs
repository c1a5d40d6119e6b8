//! The direct event reader (`input::fast_event`) against serde: whenever it reads an event,
//! serde reads an equal one from the same text, and it reads the lines real logs hold.

#[path = "support/files.rs"]
mod files;
use files::fixtures_and_real_logs;
use nodeauthz::input::event::RawEvent;
use nodeauthz::input::fast_event::read_event;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use std::path::Path;

/// serde's reading of `text`, as the reader's must be.
fn by_serde(text: &str) -> Option<String> {
    serde_json::from_str::<RawEvent<'_>>(text)
        .ok()
        .map(|e| format!("{e:?}"))
}

/// The reader's event, checked against serde's whenever there is one.
fn read_checked(text: &str) -> Option<String> {
    let fast = read_event(text).map(|e| format!("{e:?}"));
    if let Some(fast) = &fast {
        assert_eq!(
            Some(fast),
            by_serde(text).as_ref(),
            "read differently: {text}"
        );
    }
    fast
}

const LEASE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"72fecd73-9854-45f8-a466-c123e0d1c2ca","stage":"ResponseComplete","requestURI":"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-2?timeout=10s","verb":"update","user":{"username":"system:node:node-2","groups":["system:nodes","system:authenticated"]},"sourceIPs":["10.0.0.12"],"userAgent":"kubelet/v1.34.1 (linux/amd64) kubernetes/93248f9","objectRef":{"resource":"leases","namespace":"kube-node-lease","name":"node-2","apiGroup":"coordination.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-11-02T08:05:39.429270Z","stageTimestamp":"2026-11-02T08:05:39.434292Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}"#;

const FORBIDDEN: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"c43e3dc8-bde0-4253-b83d-e8d07e71722f","stage":"ResponseComplete","requestURI":"/api/v1/pods?limit=500\u0026resourceVersion=0","verb":"list","user":{"username":"system:node:node-149","uid":"u","groups":["system:nodes","system:authenticated"],"extra":{"authentication.kubernetes.io/credential-id":["X509SHA256=ab"],"b":null}},"impersonatedUser":null,"sourceIPs":["10.0.0.159"],"userAgent":"kubelet/v1.34.1 (linux/amd64) kubernetes/93248f9","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:node:node-149\" cannot list resource \"pods\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"kind":"pods"},"code":403},"requestObject":{"a":[1,2.5e3,true,null,{"b":"\u00e9"}]},"requestReceivedTimestamp":"2026-11-02T08:00:01.525471Z","stageTimestamp":"2026-11-02T08:00:01.529990Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":"no","other":{"x":1}}}"#;

#[test]
fn reads_kubelet_events_as_serde_does() {
    let lease = read_event(LEASE).expect("a lease renewal reads");
    assert_eq!(
        lease.audit_id.as_deref(),
        Some("72fecd73-9854-45f8-a466-c123e0d1c2ca")
    );
    assert_eq!(lease.response_status.as_ref().unwrap().code, Some(200));
    assert_eq!(
        lease.annotations.as_ref().unwrap().reason.as_deref(),
        Some("")
    );
    read_checked(LEASE).unwrap();

    let forbidden = read_event(FORBIDDEN).expect("escapes, extra, nulls and bodies read");
    assert_eq!(
        forbidden.request_uri.as_deref(),
        Some("/api/v1/pods?limit=500&resourceVersion=0")
    );
    let user = forbidden.user.as_ref().unwrap();
    assert_eq!(user.extra.as_ref().unwrap().len(), 2);
    assert!(forbidden.impersonated_user.is_none());
    assert_eq!(
        forbidden.request_object.unwrap().get(),
        r#"{"a":[1,2.5e3,true,null,{"b":"\u00e9"}]}"#
    );
    assert_eq!(forbidden.response_status.as_ref().unwrap().code, Some(403));
    read_checked(FORBIDDEN).unwrap();

    // White space anywhere JSON allows it.
    let spaced = FORBIDDEN
        .replace("\":", "\" : ")
        .replace(",\"", " ,\n\t\"")
        .replace('{', "{ ")
        .replace('}', "\r }");
    let spaced = format!("  {spaced}  ");
    assert!(read_checked(&spaced).is_some(), "{spaced}");
}

#[test]
fn gives_up_where_serde_must_read() {
    let cases = [
        // A field written twice, even as null first.
        LEASE.replace(r#""verb":"update""#, r#""verb":"update","verb":"get""#),
        LEASE.replace(r#""verb":"update""#, r#""verb":null,"verb":"get""#),
        LEASE.replace(r#""name":"node-2""#, r#""name":"node-2","name":"x""#),
        LEASE.replace(r#""code":200"#, r#""code":200,"code":200"#),
        LEASE.replace(
            r#""username":"system:node:node-2""#,
            r#""username":"a","username":"b""#,
        ),
        // A trailing comma in an object the reader reads.
        format!("{},}}", &LEASE[..LEASE.len() - 1]),
        LEASE.replace(r#""code":200}"#, r#""code":200,}"#),
        LEASE.replace(
            r#""system:authenticated"]}"#,
            r#""system:authenticated"],}"#,
        ),
        // A form feed is no JSON white space.
        LEASE.replace(r#""verb":"update""#, "\"verb\":\u{c}\"update\""),
        // An escaped key, which serde decodes before matching it.
        LEASE.replace(r#""verb""#, r#""ver\u0062""#),
        // Numbers serde refuses for an i32.
        LEASE.replace(r#""code":200"#, r#""code":200.0"#),
        LEASE.replace(r#""code":200"#, r#""code":2e2"#),
        LEASE.replace(r#""code":200"#, r#""code":0200"#),
        LEASE.replace(r#""code":200"#, r#""code":-0"#),
        LEASE.replace(r#""code":200"#, r#""code":2147483648"#),
        LEASE.replace(r#""code":200"#, r#""code":"200""#),
        // A raw control character in a string.
        LEASE.replace(r#""name":"node-2""#, "\"name\":\"node-2\t\""),
        // Envelopes and lists.
        LEASE.replace(r#""kind":"Event""#, r#""kind":"EventList","items":[]"#),
        LEASE.replace(
            r#""kind":"Event""#,
            r#""kind":"Event","category":"kube-audit""#,
        ),
        // Not one object.
        format!("{LEASE}{{}}"),
        format!("{LEASE},"),
        LEASE[..LEASE.len() - 1].to_string(),
        LEASE.replace(
            r#""sourceIPs":["10.0.0.12"]"#,
            r#""sourceIPs":["10.0.0.12",]"#,
        ),
        LEASE.replace(r#""sourceIPs":["10.0.0.12"]"#, r#""sourceIPs":[null]"#),
        LEASE.replace(r#""level":"Metadata""#, r#""level":1"#),
    ];
    for case in &cases {
        assert_eq!(read_event(case).map(|e| format!("{e:?}")), None, "{case}");
    }
    // A key of `user.extra` written twice keeps its last value, as serde's map does.
    let twice = LEASE.replace(r#""groups":"#, r#""extra":{"a":["x"],"a":["y"]},"groups":"#);
    let extra = read_event(&twice).unwrap().user.unwrap().extra.unwrap();
    assert_eq!(
        format!("{extra:?}"),
        r#"{CowStr("a"): Some([CowStr("y")])}"#
    );
    read_checked(&twice).unwrap();

    // serde reads a body it keeps as text, or a value it ignores, without a nesting limit;
    // the reader skips 64 levels and leaves deeper ones to serde.
    for key in ["requestObject", "x"] {
        for depth in [63, 64, 65, 200] {
            let open = r#"{"a":["#.repeat(depth / 2) + &"[".repeat(depth % 2);
            let close = "]".repeat(depth % 2) + &"]}".repeat(depth / 2);
            let deep = LEASE.replace(
                r#""verb":"update""#,
                &format!(r#""verb":"update","{key}":{open}1{close}"#),
            );
            assert!(by_serde(&deep).is_some(), "{key} {depth}");
            assert_eq!(read_checked(&deep).is_some(), depth <= 64, "{key} {depth}");
        }
    }
    // In a value serde only skips, an escape is checked for its form, not decoded: a lone
    // surrogate is read, and an unknown escape is not.
    let lone = LEASE.replace(r#""verb":"update""#, r#""verb":"update","x":["\ud800"]"#);
    assert!(read_checked(&lone).is_some());
    let unknown = LEASE.replace(r#""verb":"update""#, r#""verb":"update","x":["\x"]"#);
    assert!(by_serde(&unknown).is_none() && read_event(&unknown).is_none());
}

#[test]
fn every_line_of_the_fixtures_and_real_logs_reads_as_serde_reads_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = fixtures_and_real_logs(root).into_iter().filter(|p| {
        !matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("gz" | "zst" | "yaml" | "yml" | "md" | "txt")
        )
    });
    let (mut read, mut events) = (0, 0);
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for line in text.lines() {
            let serde = by_serde(line);
            events += u64::from(serde.is_some());
            read += u64::from(read_checked(line).is_some());
        }
    }
    // Nearly every line serde reads as an event object is in the shape read directly (the
    // others are envelopes, lists and escaped keys).
    assert!(events > 3000, "only {events} event lines found");
    assert!(read * 100 > events * 95, "read {read} of {events}");
}

/// A string value: plain, escaped, with a quote or a control character.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9:/.-]{0,12}".prop_map(|s| format!("\"{s}\"")),
        Just(r#""a\"b\\c\u0026d\ud83d\ude00""#.to_string()),
        Just(r#""\/\b\f\n\r\t\u00e9é😀\u0000""#.to_string()),
        Just(r#""\ud800""#.to_string()),
        Just(r#""\ud800\u0041""#.to_string()),
        Just(r#""\udc00x""#.to_string()),
        Just(r#""\u12g4""#.to_string()),
        Just(r#""a\"#.to_string()),
        Just(r#""0123456789abcdef\u0026x""#.to_string()),
        Just("\"tab\there\"".to_string()),
        Just(r#""bad\q""#.to_string()),
        Just("null".to_string()),
        Just("7".to_string()),
    ]
}

/// Literals, numbers and small containers, well formed or not, as serde's skipping of a value
/// sees them.
const LEAVES: &[&str] = &[
    "true",
    "false",
    "null",
    "nul",
    "truex",
    "-0",
    "0",
    "-",
    "01",
    "-01",
    "1.",
    "1.5",
    "1.5.2",
    "1e",
    "1e+",
    "2E-3",
    "0.5e+10",
    "-12.25E7",
    "1.e3",
    "\"\\ud800\"",
    "\"\\x\"",
    "\"\\u12\"",
    "\"a\\/b\"",
    "{ }",
    "[ ]",
    "[1 2]",
    "{\"a\" 1}",
    "{1:2}",
    "{\"a\":}",
    "[,1]",
];

/// Any value, for keys no field reads and for bodies.
fn any_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        text(),
        prop::sample::select(LEAVES).prop_map(str::to_string),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-z]{1,3}", inner), 0..4).prop_map(|v| {
                let members: Vec<String> = v.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

fn strings() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(text(), 0..3).prop_map(|v| format!("[{}]", v.join(","))),
        Just("null".to_string()),
        Just("[\"a\",]".to_string()),
    ]
}

fn object_of(keys: &'static [&'static str], value: BoxedStrategy<String>) -> BoxedStrategy<String> {
    prop::collection::vec((prop::sample::select(keys), value), 0..5)
        .prop_map(|v| {
            let members: Vec<String> = v.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", members.join(","))
        })
        .boxed()
}

/// A top-level member: a known field with a value of its type or another, or an unknown key.
fn member() -> impl Strategy<Value = String> {
    let user = object_of(
        &["username", "groups", "extra", "uid"],
        prop_oneof![text(), strings(), any_value()].boxed(),
    );
    let object_ref = object_of(
        &[
            "resource",
            "name",
            "namespace",
            "apiGroup",
            "apiVersion",
            "subresource",
            "uid",
        ],
        text().boxed(),
    );
    let status = object_of(
        &["code", "reason", "message", "metadata", "details"],
        prop_oneof![
            Just("200".to_string()),
            Just("-0".to_string()),
            Just("404.0".to_string()),
            Just("99999999999".to_string()),
            text(),
            any_value()
        ]
        .boxed(),
    );
    let annotations = object_of(
        &[
            "authorization.k8s.io/decision",
            "authorization.k8s.io/reason",
            "x",
        ],
        prop_oneof![text(), any_value()].boxed(),
    );
    prop_oneof![
        (
            prop::sample::select(
                &[
                    "kind",
                    "apiVersion",
                    "level",
                    "auditID",
                    "stage",
                    "requestURI",
                    "verb",
                    "userAgent",
                    "requestReceivedTimestamp",
                    "stageTimestamp",
                    "timestamp",
                ][..]
            ),
            text()
        )
            .prop_map(|(k, v)| format!("\"{k}\":{v}")),
        user.clone().prop_map(|v| format!("\"user\":{v}")),
        user.prop_map(|v| format!("\"impersonatedUser\":{v}")),
        strings().prop_map(|v| format!("\"sourceIPs\":{v}")),
        object_ref.prop_map(|v| format!("\"objectRef\":{v}")),
        status.prop_map(|v| format!("\"responseStatus\":{v}")),
        annotations.prop_map(|v| format!("\"annotations\":{v}")),
        any_value().prop_map(|v| format!("\"requestObject\":{v}")),
        any_value().prop_map(|v| format!("\"responseObject\":{v}")),
        any_value().prop_map(|v| format!("\"extraKey\":{v}")),
        Just("\"user\":null".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Any event-shaped text, with members of any type, repeated or not, and cut or spaced:
    /// whatever the reader reads, serde reads alike.
    #[test]
    fn whatever_is_read_directly_serde_reads_alike(
        members in prop::collection::vec(member(), 0..12),
        spaced in any::<bool>(),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let sep = if spaced { " , " } else { "," };
        let mut line = format!("{{{}}}", members.join(sep));
        if let Some(cut) = cut {
            let at = cut.index(line.len() + 1);
            if line.is_char_boundary(at) {
                line.truncate(at);
            }
        }
        read_checked(&line);
    }
}

#[test]
fn generated_members_mostly_read_directly() {
    // The proptest above binds only where the reader reads: check it reads the common case.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(member(), 0..6);
    let (mut read, mut parsed) = (0, 0);
    for _ in 0..2000 {
        let members = strategy.new_tree(&mut runner).unwrap().current();
        let line = format!("{{{}}}", members.join(","));
        parsed += u64::from(by_serde(&line).is_some());
        read += u64::from(read_checked(&line).is_some());
    }
    assert!(parsed > 200, "only {parsed} of 2000 parse");
    assert!(read * 10 >= parsed * 9, "read {read} of {parsed}");
}

/// The names serde's derive reads for `T`: what it passes to `deserialize_struct`, noted by
/// a deserializer that reads nothing.
fn serde_fields<T: serde::Deserialize<'static>>() -> &'static [&'static str] {
    struct Noter<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Noter<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("noted"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Noter(&mut fields));
    fields
}

/// Every field serde reads, the reader reads too (or, for the envelope keys, gives up on): an
/// event that sets only that field reads as serde reads it. A field added to the structs
/// serde reads, and not to the reader, fails here whether or not a fixture holds it.
#[test]
fn every_field_serde_reads_is_read_directly() {
    use nodeauthz::input::event::{RawAnnotations, RawObjectRef, RawStatus, RawUser};
    // Values of every shape a field may take; the first that serde reads into the field is
    // the one tried. Objects before lists: serde's derive also reads a struct from a list of
    // its fields' values, a form the reader leaves to serde.
    const VALUES: [&str; 7] = [
        r#""x""#,
        "7",
        r#"{"a":["x"]}"#,
        "{}",
        r#"["x"]"#,
        "[{}]",
        "true",
    ];
    // What the reader leaves to serde: lists and cloud envelopes.
    const LEFT_TO_SERDE: [&str; 5] = ["items", "protoPayload", "category", "properties", "records"];
    // Where each struct is: the event itself, or the object under a key of the event. A new
    // struct-typed field of the event needs its own entry here.
    let places: [(&str, &[&str]); 6] = [
        ("", serde_fields::<RawEvent<'static>>()),
        ("user", serde_fields::<RawUser<'static>>()),
        ("impersonatedUser", serde_fields::<RawUser<'static>>()),
        ("objectRef", serde_fields::<RawObjectRef<'static>>()),
        ("responseStatus", serde_fields::<RawStatus<'static>>()),
        ("annotations", serde_fields::<RawAnnotations<'static>>()),
    ];
    let wrap = |place: &str, member: &str| match place {
        "" => format!("{{{member}}}"),
        _ => format!(r#"{{"{place}":{{{member}}}}}"#),
    };
    let mut checked = 0;
    for (place, fields) in places {
        assert!(!fields.is_empty(), "serde named no field of {place:?}");
        let unset = by_serde(&wrap(place, ""));
        for field in fields {
            let set = VALUES
                .iter()
                .map(|v| {
                    wrap(
                        place,
                        &format!("{}:{v}", serde_json::to_string(field).unwrap()),
                    )
                })
                .find(|text| by_serde(text).is_some_and(|e| Some(&e) != unset.as_ref()));
            let Some(text) = set else {
                panic!("no value of {VALUES:?} sets {place}.{field}");
            };
            let read = read_checked(&text);
            if place.is_empty() && LEFT_TO_SERDE.contains(field) {
                assert_eq!(read, None, "{text}");
            } else {
                assert!(read.is_some(), "the reader gives up on {text}");
            }
            checked += 1;
        }
    }
    // RawEvent's 24, RawUser's 3 twice, RawObjectRef's 6, RawStatus's 3, RawAnnotations's 2.
    assert_eq!(checked, 41);
}
