//! Borrowed views of audit `Event`s and `EventList`s (`audit.k8s.io/v1` and `v1beta1`), and
//! what the scanner hands on of them: owned object events for the graph (kubelet requests
//! leave encoded, see [`crate::spill::EncodedRequest::from_event`]).
//!
//! Every field is optional at this level: events without `apiVersion` (older writers) are real,
//! and the decision whether a document is an audit event at all is made in [`classify`], so
//! that "not an audit event" and "malformed JSON" stay different bad-line kinds. Strings are
//! [`CowStr`] so that escaped values (RBAC reasons always contain `\"`) still parse, and
//! unescaped ones borrow.

use std::borrow::Cow;
use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::input::time::parse_rfc3339_micros;
use crate::record::{KubeletMatch, ObjectEvent, SourcePos, Stage};

/// The username prefix of node identities.
pub const NODE_USER_PREFIX: &str = "system:node:";
/// The user agent prefix kubelets send.
pub const KUBELET_AGENT_PREFIX: &str = "kubelet/";
/// Resources whose changes can add or remove edges in the Node authorizer's graph.
pub const GRAPH_RESOURCES: [&str; 8] = [
    "pods",
    "bindings",
    "persistentvolumeclaims",
    "persistentvolumes",
    "volumeattachments",
    "resourceclaims",
    "resourceslices",
    "nodes",
];
/// Verbs that change objects and therefore may change the graph.
pub const MUTATING_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

/// A JSON string borrowed from the input when it has no escapes, owned otherwise.
///
/// serde borrows a `Cow<str>` only when the field's type is exactly `Cow<str>`; inside an
/// `Option` or a `Vec` it silently allocates. This wrapper is exactly that field, so it
/// borrows wherever it is used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(transparent)]
pub struct CowStr<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for CowStr<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for CowStr<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'a> From<&'a str> for CowStr<'a> {
    fn from(s: &'a str) -> Self {
        CowStr(Cow::Borrowed(s))
    }
}

impl<'a> From<Cow<'a, str>> for CowStr<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        CowStr(s)
    }
}

impl From<&CowStr<'_>> for CompactString {
    fn from(s: &CowStr<'_>) -> Self {
        CompactString::from(&*s.0)
    }
}

/// The text of one JSON value, as written, borrowed from the input: what serde_json's
/// `RawValue` keeps (and is read through), in a type [`crate::input::fast_event`] can build
/// from text it has checked itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawJson<'a>(&'a str);

impl<'a> RawJson<'a> {
    /// The value's text.
    pub fn get(&self) -> &'a str {
        self.0
    }

    /// Text already checked to be one JSON value, exactly as serde's `RawValue` checks it.
    pub(crate) fn checked(text: &'a str) -> Self {
        RawJson(text)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawJson<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(d).map(|raw| RawJson(raw.get()))
    }
}

/// `user.extra`: keys to (possibly null) lists of values.
pub type RawExtra<'a> = BTreeMap<CowStr<'a>, Option<Vec<CowStr<'a>>>>;

/// `user` / `impersonatedUser` of an event.
#[derive(Debug, Default, Deserialize)]
pub struct RawUser<'a> {
    /// `username`.
    #[serde(borrow, default)]
    pub username: Option<CowStr<'a>>,
    /// `groups`.
    #[serde(borrow, default)]
    pub groups: Option<Vec<CowStr<'a>>>,
    /// `extra`.
    #[serde(borrow, default)]
    pub extra: Option<RawExtra<'a>>,
}

/// `objectRef` of an event.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawObjectRef<'a> {
    /// `apiGroup`.
    #[serde(borrow, default)]
    pub api_group: Option<CowStr<'a>>,
    /// `apiVersion`.
    #[serde(borrow, default)]
    pub api_version: Option<CowStr<'a>>,
    /// `resource`.
    #[serde(borrow, default)]
    pub resource: Option<CowStr<'a>>,
    /// `subresource`.
    #[serde(borrow, default)]
    pub subresource: Option<CowStr<'a>>,
    /// `namespace`.
    #[serde(borrow, default)]
    pub namespace: Option<CowStr<'a>>,
    /// `name`.
    #[serde(borrow, default)]
    pub name: Option<CowStr<'a>>,
}

/// `responseStatus` (a `metav1.Status`) of an event.
#[derive(Debug, Default, Deserialize)]
pub struct RawStatus<'a> {
    /// `code`.
    #[serde(default)]
    pub code: Option<i32>,
    /// `reason`.
    #[serde(borrow, default)]
    pub reason: Option<CowStr<'a>>,
    /// `message`.
    #[serde(borrow, default)]
    pub message: Option<CowStr<'a>>,
}

/// The two annotations the authorization filter writes; all others are skipped.
#[derive(Debug, Default, Deserialize)]
pub struct RawAnnotations<'a> {
    /// `authorization.k8s.io/decision`.
    #[serde(borrow, default, rename = "authorization.k8s.io/decision")]
    pub decision: Option<CowStr<'a>>,
    /// `authorization.k8s.io/reason`.
    #[serde(borrow, default, rename = "authorization.k8s.io/reason")]
    pub reason: Option<CowStr<'a>>,
}

/// One audit `Event`, or an `EventList` (then only `kind` and `items` are set), borrowed from
/// the input bytes. `requestObject`/`responseObject` are kept as unparsed JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawEvent<'a> {
    /// `kind`.
    #[serde(borrow, default)]
    pub kind: Option<CowStr<'a>>,
    /// `apiVersion`.
    #[serde(borrow, default)]
    pub api_version: Option<CowStr<'a>>,
    /// `level`.
    #[serde(borrow, default)]
    pub level: Option<CowStr<'a>>,
    /// `auditID`.
    #[serde(borrow, default, rename = "auditID")]
    pub audit_id: Option<CowStr<'a>>,
    /// `stage`.
    #[serde(borrow, default)]
    pub stage: Option<CowStr<'a>>,
    /// `requestURI`.
    #[serde(borrow, default, rename = "requestURI")]
    pub request_uri: Option<CowStr<'a>>,
    /// `verb`.
    #[serde(borrow, default)]
    pub verb: Option<CowStr<'a>>,
    /// `user`.
    #[serde(borrow, default)]
    pub user: Option<RawUser<'a>>,
    /// `impersonatedUser`.
    #[serde(borrow, default)]
    pub impersonated_user: Option<RawUser<'a>>,
    /// `sourceIPs`.
    #[serde(borrow, default, rename = "sourceIPs")]
    pub source_ips: Option<Vec<CowStr<'a>>>,
    /// `userAgent`.
    #[serde(borrow, default)]
    pub user_agent: Option<CowStr<'a>>,
    /// `objectRef`.
    #[serde(borrow, default)]
    pub object_ref: Option<RawObjectRef<'a>>,
    /// `responseStatus`.
    #[serde(borrow, default)]
    pub response_status: Option<RawStatus<'a>>,
    /// `requestObject`.
    #[serde(borrow, default)]
    pub request_object: Option<RawJson<'a>>,
    /// `responseObject`.
    #[serde(borrow, default)]
    pub response_object: Option<RawJson<'a>>,
    /// `requestReceivedTimestamp`.
    #[serde(borrow, default)]
    pub request_received_timestamp: Option<CowStr<'a>>,
    /// `stageTimestamp`.
    #[serde(borrow, default)]
    pub stage_timestamp: Option<CowStr<'a>>,
    /// `v1beta1` only.
    #[serde(borrow, default)]
    pub timestamp: Option<CowStr<'a>>,
    /// `annotations`.
    #[serde(borrow, default)]
    pub annotations: Option<RawAnnotations<'a>>,
    /// `EventList.items`.
    #[serde(borrow, default)]
    pub items: Option<Vec<RawEvent<'a>>>,
    /// GKE Cloud Logging envelope.
    #[serde(default)]
    pub proto_payload: Option<IgnoredAny>,
    /// AKS diagnostic record: `category` (`kube-audit`, `kube-audit-admin`, or a log that
    /// holds no audit events).
    #[serde(borrow, default)]
    pub category: Lenient<CowStr<'a>>,
    /// AKS diagnostic record: `properties`, whose `log` is the audit event.
    #[serde(borrow, default)]
    pub properties: Lenient<Box<RawProperties<'a>>>,
    /// Azure Monitor batch (`{"records": [...]}`, what Event Hubs and older storage exports
    /// hold): AKS diagnostic records, `None` for a record that is no JSON object.
    #[serde(borrow, default)]
    pub records: Lenient<Vec<Lenient<RawEvent<'a>>>>,
    /// The items of a document that is a JSON array, not an object (see [`parse_document`]).
    #[serde(skip)]
    pub array: Option<Vec<Lenient<RawEvent<'a>>>>,
}

/// Parses the text of one JSON document: an object (an event, an `EventList`, a cloud
/// record), or an array of them, what `jq -s` and some exports write, whose items are then
/// read as documents of their own.
pub fn parse_document(text: &str) -> serde_json::Result<RawEvent<'_>> {
    if text.as_bytes().first() == Some(&b'[') {
        let items = serde_json::from_str::<Vec<Lenient<RawEvent<'_>>>>(text)?;
        return Ok(RawEvent {
            array: Some(items),
            ..RawEvent::default()
        });
    }
    // The common shape is read directly, into the value returned; serde reads (and reports
    // on) the rest.
    let mut read = Ok(RawEvent::default());
    if let Ok(event) = &mut read {
        if !crate::input::fast_event::read_event_into(text, event) {
            read = serde_json::from_str(text);
        }
    }
    read
}

/// `properties` of an AKS diagnostic record.
#[derive(Debug, Default, Deserialize)]
pub struct RawProperties<'a> {
    /// `log`: the audit event, as JSON text (what AKS writes) or as an object (what some
    /// forwarders re-serialise it to).
    #[serde(borrow, default)]
    pub log: Option<EmbeddedLog<'a>>,
}

/// The `log` of an AKS diagnostic record.
#[derive(Debug)]
pub enum EmbeddedLog<'a> {
    /// JSON text: an event's text, unescaped (so owned), or a line of a log that is no audit
    /// log.
    Text(Cow<'a, str>),
    /// An event as a JSON object.
    Event(Box<RawEvent<'a>>),
    /// Anything else (a number, an array).
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for EmbeddedLog<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Lenient::<Box<RawEvent<'a>>>::deserialize_either(d)? {
            Either::Text(t) => EmbeddedLog::Text(t),
            Either::Value(Some(ev)) => EmbeddedLog::Event(ev),
            Either::Value(None) => EmbeddedLog::Other,
        })
    }
}

/// A field read only when its JSON value has the shape its type expects; a value of another
/// shape reads as an absent field. The cloud-envelope fields share their names with fields
/// other tools add to ordinary events (`category`, `properties`, `records`), and such an
/// event must not become unreadable because of one.
#[derive(Debug)]
pub struct Lenient<T>(pub Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

/// The JSON shape a [`Lenient`] field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonShape {
    /// A string.
    Text,
    /// An object.
    Object,
    /// An array.
    Array,
}

/// Types a [`Lenient`] field can hold: the shape each is read from.
pub trait Shaped {
    /// The shape this type is read from.
    const SHAPE: JsonShape;
}

impl Shaped for CowStr<'_> {
    const SHAPE: JsonShape = JsonShape::Text;
}
impl Shaped for RawEvent<'_> {
    const SHAPE: JsonShape = JsonShape::Object;
}
impl Shaped for RawProperties<'_> {
    const SHAPE: JsonShape = JsonShape::Object;
}
impl<T: Shaped> Shaped for Box<T> {
    const SHAPE: JsonShape = T::SHAPE;
}
impl<T> Shaped for Vec<T> {
    const SHAPE: JsonShape = JsonShape::Array;
}

/// What [`Lenient::deserialize_either`] read: any string, or a value of the expected shape.
enum Either<'a, T> {
    Text(Cow<'a, str>),
    Value(Option<T>),
}

impl<'de, T: Deserialize<'de> + Shaped> Lenient<T> {
    /// Reads a string as text whatever `T` is, and anything else as [`Lenient`] does.
    fn deserialize_either<D: serde::Deserializer<'de>>(d: D) -> Result<Either<'de, T>, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
        use serde::de::{MapAccess, SeqAccess, Visitor};
        struct ShapeVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Shaped> Visitor<'de> for ShapeVisitor<T> {
            type Value = Either<'de, T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Either::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Either::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Either::Text(Cow::Owned(v)))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                if T::SHAPE == JsonShape::Object {
                    return T::deserialize(MapAccessDeserializer::new(map))
                        .map(|v| Either::Value(Some(v)));
                }
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Either::Value(None))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                if T::SHAPE == JsonShape::Array {
                    return T::deserialize(SeqAccessDeserializer::new(seq))
                        .map(|v| Either::Value(Some(v)));
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Either::Value(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Either::Value(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Either::Value(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Either::Value(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Either::Value(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Either::Value(None))
            }
        }
        d.deserialize_any(ShapeVisitor(std::marker::PhantomData))
    }
}

impl<'de, T: Deserialize<'de> + Shaped> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::value::{BorrowedStrDeserializer, CowStrDeserializer};
        match Self::deserialize_either(d)? {
            Either::Text(t) if T::SHAPE == JsonShape::Text => {
                // Text borrowed from the input is handed on as borrowed, so that `CowStr`
                // keeps borrowing (`CowStrDeserializer` hands borrowed text on as a copy).
                let text = match t {
                    Cow::Borrowed(b) => {
                        T::deserialize(BorrowedStrDeserializer::<D::Error>::new(b))?
                    }
                    Cow::Owned(o) => {
                        T::deserialize(CowStrDeserializer::<D::Error>::new(Cow::Owned(o)))?
                    }
                };
                Ok(Lenient(Some(text)))
            }
            Either::Text(_) => Ok(Lenient(None)),
            Either::Value(v) => Ok(Lenient(v)),
        }
    }
}

/// What one JSON document turned out to be.
#[derive(Debug)]
// The large variant is the common one; boxing it would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum Document<'a> {
    /// A single audit event: the whole document.
    Event(RawEvent<'a>),
    /// The items of an `EventList` (webhook batch), the records of an Azure Monitor batch, or
    /// the items of a JSON array (`None` for an item that is no JSON object): each is
    /// classified on its own.
    List(Vec<Option<RawEvent<'a>>>),
    /// An AKS diagnostic record holding its event as an object: the event.
    Enveloped(Box<RawEvent<'a>>),
    /// An AKS diagnostic record holding its event as JSON text: the text, read by
    /// [`parse_embedded`].
    Embedded(Cow<'a, str>),
}

/// The categories of AKS diagnostic records that hold audit events.
const AKS_AUDIT_CATEGORIES: [&str; 2] = ["kube-audit", "kube-audit-admin"];

/// Whether [`classify`] takes `ev` for the one audit event it is, as it takes nearly every
/// line of a log: a caller can then go on with the event where it is. An event is about a
/// kilobyte, and moving it into `classify` and out again in a [`Document`] was 0.5% of the
/// instructions of `analyze`.
pub fn is_plain_event(ev: &RawEvent<'_>) -> bool {
    ev.array.is_none()
        && matches!(ev.kind.as_deref(), Some("Event") | None)
        && ev.proto_payload.is_none()
        && ev.audit_id.as_deref().is_some_and(|id| !id.is_empty())
}

/// Decides whether a parsed document is an audit event, a list of them, a cloud record that
/// holds one, or neither; the error is the one-line reason for a "not an audit event" report.
pub fn classify(mut ev: RawEvent<'_>) -> Result<Document<'_>, String> {
    if is_plain_event(&ev) {
        return Ok(Document::Event(ev));
    }
    if let Some(items) = ev.array.take() {
        if items.iter().all(|i| i.0.is_none()) {
            return Err("a JSON array without an object in it".into());
        }
        return Ok(Document::List(items.into_iter().map(|i| i.0).collect()));
    }
    match ev.kind.as_deref() {
        Some("EventList") => {
            let items = ev.items.take().unwrap_or_default();
            return Ok(Document::List(items.into_iter().map(Some).collect()));
        }
        Some("Event") | None => {}
        Some(other) => return Err(format!("kind is {other:?}, not \"Event\" or \"EventList\"")),
    }
    if ev.proto_payload.is_some() {
        return Err(
            "GKE Cloud Logging record (protoPayload); this envelope is not supported".into(),
        );
    }
    // An event of its own with an auditID was taken above (`is_plain_event`).
    if let Some(records) = ev.records.0.take() {
        return Ok(Document::List(records.into_iter().map(|r| r.0).collect()));
    }
    let Some(properties) = ev.properties.0.take() else {
        return Err("no auditID".into());
    };
    // AKS writes every control-plane log through the same envelope; only two categories hold
    // audit events.
    if let Some(category) = ev.category.0.as_deref() {
        if !AKS_AUDIT_CATEGORIES.contains(&category) {
            return Err(format!(
                "AKS diagnostic record of category {category:?}, not kube-audit"
            ));
        }
    }
    match properties.log {
        Some(EmbeddedLog::Event(inner)) => match classify(*inner) {
            Ok(Document::Event(ev)) => Ok(Document::Enveloped(Box::new(ev))),
            Ok(_) => Err(NOT_ONE_EVENT.into()),
            Err(reason) => Err(format!("properties.log of an AKS record: {reason}")),
        },
        Some(EmbeddedLog::Text(text)) => Ok(Document::Embedded(text)),
        Some(EmbeddedLog::Other) | None => {
            Err("AKS diagnostic record without an audit event in properties.log".into())
        }
    }
}

const NOT_ONE_EVENT: &str =
    "properties.log of an AKS record holds no single audit event (a list, or another record)";

/// Why the text of an AKS record's `properties.log` is not an audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddedError {
    /// Not JSON (or cut short): the reason, with the column in the text.
    Malformed(String),
    /// JSON, but not one audit event: the reason.
    NotAnEvent(String),
}

/// A serde_json error's message without the position serde appends to it, for reports that
/// give the position their own way.
pub fn json_error_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(i) if e.line() > 0 => full[..i].to_string(),
        _ => full,
    }
}

/// Parses the event an AKS record holds as text (`text` is that text, unescaped). The event
/// borrows from `text`.
pub fn parse_embedded(text: &str) -> Result<RawEvent<'_>, EmbeddedError> {
    let inner = serde_json::from_str::<RawEvent<'_>>(text).map_err(|e| {
        // serde's position is in the unescaped text, not in the file.
        let reason = format!(
            "{} at column {} of properties.log",
            json_error_message(&e),
            e.column()
        );
        match e.classify() {
            serde_json::error::Category::Data => {
                EmbeddedError::NotAnEvent(format!("properties.log of an AKS record: {reason}"))
            }
            _ => EmbeddedError::Malformed(reason),
        }
    })?;
    match classify(inner) {
        Ok(Document::Event(ev)) => Ok(ev),
        Ok(_) => Err(EmbeddedError::NotAnEvent(NOT_ONE_EVENT.into())),
        Err(reason) => Err(EmbeddedError::NotAnEvent(format!(
            "properties.log of an AKS record: {reason}"
        ))),
    }
}

/// Hands on every event a document holds (itself if it is one; the items of an `EventList`,
/// an Azure Monitor batch or a JSON array; the event of an AKS record) with `on_event`; what
/// holds no event goes to `on_bad`, with the index of its item in a list (`None`: the
/// document itself).
pub fn for_each_held_event(
    doc: Document<'_>,
    on_event: &mut dyn FnMut(RawEvent<'_>),
    on_bad: &mut dyn FnMut(Option<usize>, EmbeddedError),
) {
    // One event, or why there is none.
    fn single(
        doc: Document<'_>,
        on_event: &mut dyn FnMut(RawEvent<'_>),
    ) -> Result<(), EmbeddedError> {
        match doc {
            Document::Event(ev) => on_event(ev),
            Document::Enveloped(ev) => on_event(*ev),
            Document::Embedded(text) => on_event(parse_embedded(&text)?),
            // Lists are taken apart by the caller.
            Document::List(_) => {}
        }
        Ok(())
    }
    match doc {
        Document::List(items) => {
            for (i, item) in items.into_iter().enumerate() {
                let result = match item.map(classify) {
                    // An EventList in an array (`jq -s` of webhook batches); its bad items are
                    // reported as the outer item. Nesting is bounded by the JSON parser's.
                    Some(Ok(list @ Document::List(_))) => {
                        for_each_held_event(list, on_event, &mut |_, e| on_bad(Some(i), e));
                        Ok(())
                    }
                    Some(Ok(doc)) => single(doc, on_event),
                    Some(Err(reason)) => Err(EmbeddedError::NotAnEvent(reason)),
                    None => Err(EmbeddedError::NotAnEvent("not a JSON object".into())),
                };
                if let Err(e) = result {
                    on_bad(Some(i), e);
                }
            }
        }
        doc => {
            if let Err(e) = single(doc, on_event) {
                on_bad(None, e);
            }
        }
    }
}

impl<'a> RawEvent<'a> {
    /// The recorded stage, if it is one of the four known ones.
    pub fn stage(&self) -> Option<Stage> {
        self.stage.as_deref().and_then(Stage::parse)
    }

    /// `requestReceivedTimestamp`, or `timestamp` in `v1beta1` events.
    pub fn request_received(&self) -> Option<i64> {
        self.request_received_timestamp
            .as_deref()
            .or(self.timestamp.as_deref())
            .and_then(parse_rfc3339_micros)
    }

    /// `stageTimestamp`.
    pub fn stage_time(&self) -> Option<i64> {
        self.stage_timestamp
            .as_deref()
            .and_then(parse_rfc3339_micros)
    }

    /// Which of the three signs, if any, marks this event as a kubelet's.
    pub fn kubelet_match(&self) -> Option<KubeletMatch> {
        let is_node = |u: &Option<RawUser<'_>>| {
            u.as_ref()
                .and_then(|u| u.username.as_deref())
                .is_some_and(|n| n.starts_with(NODE_USER_PREFIX))
        };
        if is_node(&self.user) {
            Some(KubeletMatch::NodeUser)
        } else if is_node(&self.impersonated_user) {
            Some(KubeletMatch::ImpersonatedNode)
        } else if self
            .user_agent
            .as_deref()
            .is_some_and(|a| a.starts_with(KUBELET_AGENT_PREFIX))
        {
            Some(KubeletMatch::KubeletUserAgent)
        } else {
            None
        }
    }

    /// The verb; an absent one is empty.
    pub(crate) fn verb(&self) -> &str {
        text(&self.verb)
    }

    /// The `requestObject` that NodeRestriction reads: a write's (a [`MUTATING_VERBS`] one)
    /// only.
    pub(crate) fn write_body(&self) -> Option<&'a str> {
        self.request_object
            .filter(|_| MUTATING_VERBS.contains(&self.verb()))
            .map(|body| body.get())
    }

    /// The graph-relevant object change this event records, if any: a successful (2xx)
    /// create/update/patch/delete of a graph resource, at ResponseComplete or ResponseStarted.
    pub fn to_object_event(&self, pos: SourcePos) -> Option<ObjectEvent> {
        let stage = self.stage()?;
        if !matches!(stage, Stage::ResponseComplete | Stage::ResponseStarted) {
            return None;
        }
        let verb = self.verb();
        if !matches!(verb, "create" | "update" | "patch" | "delete") {
            return None;
        }
        let code = self.response_status.as_ref().and_then(|s| s.code)?;
        if !(200..300).contains(&code) {
            return None;
        }
        let r = self.object_ref.as_ref()?;
        let resource = text(&r.resource);
        if !GRAPH_RESOURCES.contains(&resource) {
            return None;
        }
        // Node status (kubelet heartbeats, 5-20 KB each, every few seconds per node) changes no
        // edge, and the graph reads Nodes only for their existence and UID: keeping these would
        // make memory grow with the log's length.
        if resource == "nodes" && r.subresource.as_deref() == Some("status") {
            return None;
        }
        Some(ObjectEvent {
            // The change is visible from when the response completed.
            time: self.stage_time().or_else(|| self.request_received())?,
            verb: verb.to_string(),
            api_group: owned(&r.api_group),
            resource: resource.to_string(),
            subresource: owned(&r.subresource),
            namespace: owned(&r.namespace),
            name: owned(&r.name),
            response_code: Some(code),
            // A patch body is a fragment the graph cannot use (it reads full objects from
            // creates, updates and responses, and delete options from deletes).
            request_object: self
                .request_object
                .filter(|_| verb != "patch")
                .map(|r| r.get().to_string()),
            response_object: self.response_object.map(|r| r.get().to_string()),
            username: self
                .impersonated_user
                .as_ref()
                .or(self.user.as_ref())
                .map(|u| owned(&u.username))
                .unwrap_or_default(),
            request_uri: owned(&self.request_uri),
            pos,
        })
    }
}

/// The text of a string field of an event; an absent field is empty.
pub(crate) fn text<'s>(s: &'s Option<CowStr<'_>>) -> &'s str {
    s.as_deref().unwrap_or("")
}

fn owned(s: &Option<CowStr<'_>>) -> String {
    text(s).to_string()
}

/// The owned record of a kubelet event, built field by field: what
/// [`EncodedRequest::from_event`](crate::spill::EncodedRequest::from_event) encodes without
/// building it, what debug builds check each of its encodings against, and what the unit
/// tests read events into.
#[cfg(any(test, debug_assertions))]
mod owned_record {
    use super::*;
    use crate::input::uri::parse_request_uri;
    use crate::record::{KubeletRequest, ObjectRef, UserInfo};

    impl RawEvent<'_> {
        /// The owned kubelet record of this event (see the module's documentation).
        pub fn to_kubelet_request(
            &self,
            matched_by: KubeletMatch,
            pos: SourcePos,
        ) -> KubeletRequest {
            let verb = self.verb();
            let request_uri = text(&self.request_uri);
            let status = self.response_status.as_ref();
            let annotations = self.annotations.as_ref();
            KubeletRequest {
                audit_id: compact(&self.audit_id),
                stage: self.stage(),
                level: compact(&self.level),
                request_received: self.request_received(),
                stage_timestamp: self.stage_time(),
                verb: verb.into(),
                request_uri: request_uri.into(),
                uri: parse_request_uri(request_uri),
                object_ref: self.object_ref.as_ref().map(object_ref),
                user: self.user.as_ref().map(user_info).unwrap_or_default(),
                impersonated_user: self.impersonated_user.as_ref().map(user_info),
                source_ips: self.source_ips.iter().flatten().map(|s| s.into()).collect(),
                user_agent: compact(&self.user_agent),
                response_code: status.and_then(|s| s.code),
                response_reason: status.map(|s| compact(&s.reason)).unwrap_or_default(),
                response_message: status.map(|s| compact(&s.message)).unwrap_or_default(),
                decision: annotations
                    .and_then(|a| a.decision.as_ref())
                    .map(|d| d.into()),
                reason: annotations
                    .and_then(|a| a.reason.as_ref())
                    .map(|r| r.into()),
                request_object: self.write_body().map(str::to_string),
                matched_by: Some(matched_by),
                pos,
            }
        }
    }

    fn compact(s: &Option<CowStr<'_>>) -> CompactString {
        CompactString::from(text(s))
    }

    fn object_ref(r: &RawObjectRef<'_>) -> ObjectRef {
        ObjectRef {
            api_group: compact(&r.api_group),
            api_version: compact(&r.api_version),
            resource: compact(&r.resource),
            subresource: compact(&r.subresource),
            namespace: compact(&r.namespace),
            name: compact(&r.name),
        }
    }

    fn user_info(u: &RawUser<'_>) -> UserInfo {
        UserInfo {
            username: compact(&u.username),
            groups: u.groups.iter().flatten().map(|g| g.into()).collect(),
            extra: u
                .extra
                .iter()
                .flatten()
                .map(|(k, v)| (k.into(), v.iter().flatten().map(|s| s.into()).collect()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The auditIDs of the events a document holds, and what holds none.
    fn held(doc: Document<'_>) -> (Vec<String>, Vec<(Option<usize>, EmbeddedError)>) {
        let (mut read, mut bad) = (Vec::new(), Vec::new());
        for_each_held_event(
            doc,
            &mut |ev| read.push(ev.audit_id.as_deref().unwrap_or("").to_string()),
            &mut |at, e| bad.push((at, e)),
        );
        (read, bad)
    }

    fn parse(s: &str) -> Result<Document<'_>, String> {
        classify(serde_json::from_str::<RawEvent<'_>>(s).map_err(|e| e.to_string())?)
    }

    #[test]
    fn event_with_escapes_and_no_api_version() {
        let line = r#"{"kind":"Event","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/nodes/n1","verb":"get","user":{"username":"system:node:n1","groups":["system:nodes"],"extra":{"k":["v"],"z":null}},"sourceIPs":["10.0.0.1"],"userAgent":"kubelet/v1.19.0","objectRef":{"resource":"nodes","name":"n1","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":403,"reason":"Forbidden","message":"nodes \"n1\" is forbidden"},"requestReceivedTimestamp":"2020-09-01T10:00:00.000001Z","stageTimestamp":"2020-09-01T10:00:00.000002Z","annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":"RBAC: \"x\"","other":"y"}}"#;
        let Ok(Document::Event(ev)) = parse(line) else {
            panic!("not an event")
        };
        assert_eq!(ev.kubelet_match(), Some(KubeletMatch::NodeUser));
        let r = ev.to_kubelet_request(KubeletMatch::NodeUser, SourcePos { file: 0, line: 7 });
        assert_eq!(r.audit_id, "a1");
        assert_eq!(r.stage, Some(Stage::ResponseComplete));
        assert_eq!(r.response_code, Some(403));
        assert_eq!(r.response_message, "nodes \"n1\" is forbidden");
        assert_eq!(r.reason.as_deref(), Some("RBAC: \"x\""));
        assert_eq!(r.decision.as_deref(), Some("forbid"));
        assert_eq!(
            r.user.extra,
            vec![("k".into(), vec!["v".into()]), ("z".into(), vec![])]
        );
        assert_eq!(r.uri.path, "/api/v1/nodes/n1");
        assert_eq!(r.request_received, Some(1_598_954_400_000_001));
        assert_eq!(r.stage_timestamp, Some(1_598_954_400_000_002));
        assert_eq!(r.pos.line, 7);
        assert_eq!(r.request_object, None);
    }

    #[test]
    fn request_object_kept_only_for_mutating_verbs() {
        let mk = |verb: &str| {
            format!(
                r#"{{"auditID":"a","stage":"ResponseComplete","verb":"{verb}","user":{{"username":"system:node:n"}},"requestObject":{{"a": [1, 2]}}}}"#
            )
        };
        for (verb, kept) in [
            ("patch", true),
            ("create", true),
            ("get", false),
            ("list", false),
        ] {
            let s = mk(verb);
            let Ok(Document::Event(ev)) = parse(&s) else {
                panic!()
            };
            let r = ev.to_kubelet_request(KubeletMatch::NodeUser, SourcePos::default());
            assert_eq!(
                r.request_object.as_deref(),
                kept.then_some(r#"{"a": [1, 2]}"#),
                "{verb}"
            );
        }
    }

    #[test]
    fn not_audit_events() {
        assert_eq!(
            parse(r#"{"kind":"Pod","auditID":"x"}"#).unwrap_err(),
            "kind is \"Pod\", not \"Event\" or \"EventList\""
        );
        assert_eq!(parse(r#"{"kind":"Event"}"#).unwrap_err(), "no auditID");
        assert!(parse(r#"{"protoPayload":{},"insertId":"x"}"#)
            .unwrap_err()
            .starts_with("GKE Cloud Logging record"));
        assert_eq!(
            parse(r#"{"category":"kube-apiserver","properties":{"log":"I1130 started"}}"#)
                .unwrap_err(),
            "AKS diagnostic record of category \"kube-apiserver\", not kube-audit"
        );
        for log in ["7", "[1, 2]", "null", "true"] {
            let record = format!(r#"{{"category":"kube-audit","properties":{{"log":{log}}}}}"#);
            assert_eq!(
                parse(&record).unwrap_err(),
                "AKS diagnostic record without an audit event in properties.log",
                "{record}"
            );
        }
        // Only one event inside a record: not a record, not a list.
        let not_one = "properties.log of an AKS record holds no single audit event (a list, or another record)";
        assert_eq!(
            parse(r#"{"category":"kube-audit","properties":{"log":{"properties":{"log":"{}"}}}}"#)
                .unwrap_err(),
            not_one
        );
        assert_eq!(
            parse(r#"{"properties":{"log":{"kind":"EventList","items":[]}}}"#).unwrap_err(),
            not_one
        );
        assert!(serde_json::from_str::<RawEvent<'_>>(r#"{"kind": 0}"#).is_err());
    }

    #[test]
    fn ordinary_events_may_carry_fields_named_like_the_envelopes() {
        // Forwarders add fields; of another shape than an envelope's, they are ignored.
        for extra in [
            r#""category":["audit"],"properties":"x","records":{"n":1}"#,
            r#""category":7,"properties":[1,{"a":2}],"records":"none""#,
            r#""category":"kube-apiserver","properties":{"log":"text"},"records":[]"#,
        ] {
            let line = format!(
                r#"{{"kind":"Event","auditID":"a1","stage":"ResponseComplete",{extra},"verb":"get"}}"#
            );
            let Ok(Document::Event(ev)) = parse(&line) else {
                panic!("{line} is not read as an event")
            };
            assert_eq!(ev.verb.as_deref(), Some("get"), "{line}");
        }
    }

    #[test]
    fn aks_records_hold_their_event_as_text_or_object() {
        let event = r#"{"kind":"Event","auditID":"k1","stage":"RequestReceived","verb":"get","user":{"username":"system:node:n1"}}"#;
        let as_text = serde_json::json!({"category": "kube-audit", "properties": {"log": event, "stream": "stdout"}}).to_string();
        let Ok(Document::Embedded(text)) = parse(&as_text) else {
            panic!("not embedded")
        };
        assert_eq!(text, event);
        let ev = parse_embedded(&text).expect("the embedded text is the event");
        assert_eq!(ev.audit_id.as_deref(), Some("k1"));
        assert_eq!(ev.kubelet_match(), Some(KubeletMatch::NodeUser));

        let as_object =
            format!(r#"{{"category":"kube-audit-admin","properties":{{"log":{event}}}}}"#);
        let Ok(Document::Enveloped(ev)) = parse(&as_object) else {
            panic!("object form is not the event")
        };
        assert_eq!(ev.stage(), Some(Stage::RequestReceived));

        // A batch: both forms, then three records that hold no event.
        let batch = format!(
            r#"{{"records":[{as_object},{as_text},7,{{"category":"kube-apiserver","properties":{{"log":"x"}}}},{{"properties":{{"log":"{{\"auditID\""}}}}]}}"#
        );
        let Ok(doc @ Document::List(_)) = parse(&batch) else {
            panic!("records are not a list")
        };
        let (read, bad) = held(doc);
        assert_eq!(read, ["k1", "k1"]);
        assert_eq!(
            bad,
            [
                (
                    Some(2),
                    EmbeddedError::NotAnEvent("not a JSON object".into())
                ),
                (
                    Some(3),
                    EmbeddedError::NotAnEvent(
                        "AKS diagnostic record of category \"kube-apiserver\", not kube-audit"
                            .into()
                    )
                ),
                (
                    Some(4),
                    EmbeddedError::Malformed(
                        "EOF while parsing an object at column 10 of properties.log".into()
                    )
                ),
            ]
        );

        assert_eq!(
            parse_embedded(r#"{"kind":"Event"}"#).map(|_| ()),
            Err(EmbeddedError::NotAnEvent(
                "properties.log of an AKS record: no auditID".into()
            ))
        );
        assert_eq!(
            parse_embedded(r#"{"kind":0}"#).map(|_| ()),
            Err(EmbeddedError::NotAnEvent(
                "properties.log of an AKS record: invalid type: integer `0`, expected a string at column 9 of properties.log".into()
            ))
        );
    }

    #[test]
    fn an_array_is_a_list_of_documents() {
        let event = |id: &str| {
            format!(
                r#"{{"kind":"Event","auditID":"{id}","stage":"ResponseComplete","verb":"get"}}"#
            )
        };
        let text = format!(
            r#"[{},{{"kind":"EventList","items":[{},{{"kind":"Event"}}]}},"x",{{"kind":"Pod"}}]"#,
            event("e1"),
            event("e2")
        );
        let (read, bad) = held(classify(parse_document(&text).unwrap()).unwrap());
        assert_eq!(read, ["e1", "e2"]);
        let not = |r: &str| EmbeddedError::NotAnEvent(r.into());
        assert_eq!(
            bad,
            [
                (Some(1), not("no auditID")),
                (Some(2), not("not a JSON object")),
                (
                    Some(3),
                    not("kind is \"Pod\", not \"Event\" or \"EventList\"")
                ),
            ]
        );
        for empty in ["[]", "[1, \"a\", null]"] {
            assert_eq!(
                classify(parse_document(empty).unwrap()).unwrap_err(),
                "a JSON array without an object in it"
            );
        }
    }

    #[test]
    fn event_list_items() {
        let s = r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[{"auditID":"a","stage":"RequestReceived"},{"auditID":"b","stage":"ResponseComplete"}]}"#;
        let Ok(Document::List(items)) = parse(s) else {
            panic!()
        };
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1].as_ref().and_then(RawEvent::stage),
            Some(Stage::ResponseComplete)
        );
    }

    #[test]
    fn object_events_only_for_successful_graph_changes() {
        let mk = |verb: &str, res: &str, code: i32, stage: &str| {
            format!(
                r#"{{"auditID":"a","stage":"{stage}","verb":"{verb}","objectRef":{{"resource":"{res}","namespace":"ns","name":"p","subresource":"binding"}},"responseStatus":{{"code":{code}}},"requestObject":{{"kind":"Binding"}},"stageTimestamp":"2020-01-01T00:00:00.000000Z"}}"#
            )
        };
        let cases = [
            ("create", "pods", 201, "ResponseComplete", true),
            (
                "delete",
                "persistentvolumeclaims",
                200,
                "ResponseComplete",
                true,
            ),
            ("create", "pods", 403, "ResponseComplete", false),
            ("get", "pods", 200, "ResponseComplete", false),
            ("create", "secrets", 201, "ResponseComplete", false),
            ("create", "pods", 201, "RequestReceived", false),
        ];
        for (verb, res, code, stage, want) in cases {
            let s = mk(verb, res, code, stage);
            let Ok(Document::Event(ev)) = parse(&s) else {
                panic!()
            };
            let oe = ev.to_object_event(SourcePos::default());
            assert_eq!(oe.is_some(), want, "{verb} {res} {code} {stage}");
            if let Some(oe) = oe {
                assert_eq!(oe.subresource, "binding");
                assert_eq!(oe.request_object.as_deref(), Some(r#"{"kind":"Binding"}"#));
                assert_eq!(oe.time, 1_577_836_800_000_000);
            }
        }
    }

    /// `is_plain_event` holds for the documents `classify` takes as one event of their own,
    /// and for no other: each of its conditions fails in one case, and each case is
    /// classified as it was before `classify` asked `is_plain_event` first.
    #[test]
    fn a_plain_event_is_what_classify_takes_as_an_event() {
        // What `classify` makes of a document: the auditIDs of the events it holds, or why
        // it holds none.
        fn outcome(
            doc: Result<Document<'_>, String>,
        ) -> Result<(&'static str, Vec<String>), String> {
            let id = |ev: &RawEvent<'_>| ev.audit_id.as_deref().unwrap_or("").to_string();
            match doc? {
                Document::Event(ev) => Ok(("event", vec![id(&ev)])),
                Document::List(items) => Ok(("list", items.iter().flatten().map(id).collect())),
                Document::Enveloped(ev) => Ok(("enveloped", vec![id(&ev)])),
                Document::Embedded(text) => Ok(("embedded", vec![text.into_owned()])),
            }
        }
        let event = |id: &str| Ok(("event", vec![id.to_string()]));
        let list = |ids: &[&str]| Ok(("list", ids.iter().map(|i| i.to_string()).collect()));
        let cases = [
            (r#"{"kind":"Event","auditID":"a","verb":"get"}"#, event("a")),
            (r#"{"auditID":"a"}"#, event("a")),
            (r#"{"kind":null,"auditID":"a"}"#, event("a")),
            // An auditID of its own makes an event, whatever else the document holds.
            (r#"{"auditID":"a","records":[{"auditID":"b"}]}"#, event("a")),
            (r#"{"auditID":"a","properties":{"log":"x"}}"#, event("a")),
            (
                r#"{"kind":"Event","auditID":""}"#,
                Err("no auditID".to_string()),
            ),
            (r#"{"kind":"Event"}"#, Err("no auditID".to_string())),
            (r#"{"records":[{"auditID":"b"}]}"#, list(&["b"])),
            (
                r#"{"kind":"EventList","auditID":"a","items":[{"auditID":"c"}]}"#,
                list(&["c"]),
            ),
            (
                r#"{"kind":"Pod","auditID":"a"}"#,
                Err(r#"kind is "Pod", not "Event" or "EventList""#.to_string()),
            ),
            (
                r#"{"auditID":"a","protoPayload":{}}"#,
                Err(
                    "GKE Cloud Logging record (protoPayload); this envelope is not supported"
                        .to_string(),
                ),
            ),
        ];
        for (text, expected) in cases {
            let ev = serde_json::from_str::<RawEvent<'_>>(text).unwrap();
            let plain = is_plain_event(&ev);
            let classified = outcome(classify(ev));
            assert_eq!(classified, expected, "{text}");
            assert_eq!(plain, matches!(expected, Ok(("event", _))), "{text}");
        }
        let array = parse_document(r#"[{"auditID":"a"},{"auditID":"b"}]"#).unwrap();
        assert!(!is_plain_event(&array));
        assert_eq!(outcome(classify(array)), list(&["a", "b"]));
    }
}
