//! The byte pre-filter: which lines must be parsed, and what can be counted without parsing.
//!
//! A line is parsed when it may be a kubelet's (a node identity, a kubelet user agent), when
//! it may record a graph-changing object event (a quoted graph resource name and a quoted
//! mutating verb), or when it does not look like a complete audit event at all (so that bad
//! lines are still found and reported). Every other line is *skipped*: counted as one event
//! and its `auditID` remembered, without JSON parsing.
//!
//! The needles are values, not `"key":"value"` pairs, so that re-serialised logs with spaces
//! or another key order still match. The only thing that can hide a needle is a JSON escape
//! inside it (`\u0073ystem:node:`, `kubelet\/`); Go's encoder never writes those for ASCII
//! letters, `:` or `/`, but other writers may, so any line with a `\u` escape of one of those
//! characters (`\u0041`-`\u007f`, `\u003a`, `\u002f`) or with `kubelet\/` is
//! parsed too. Every hit is confirmed after parsing. Lines that look like GKE (`protoPayload`)
//! or AKS (`kube-audit`) envelope records are parsed too: an AKS record holds its event as
//! escaped JSON text, where the needles may not show, and a GKE record is reported rather than
//! counted as an event by the auditID it may carry inside.
//!
//! The search looks for each needle's tail, past the first bytes that are common in audit lines
//! (`m:node:` of `system:node:`), and then checks its head right before it: the same lines, a
//! faster search (see `screened`).
//!
//! A kubelet's RequestReceived event is nearly always replaced by its request's next event
//! (ResponseComplete, or a watch's ResponseStarted), and a watch's ResponseStarted event by its
//! ResponseComplete minutes later, so parsing either is mostly wasted. A line is
//! [`Decision::Unparsed`], taken at its word and parsed only if nothing replaces it (see
//! [`crate::scan::chunk::KubeletEvent`]), when a kubelet needle is its reason to be parsed
//! and it reads, without parsing, as the parse would read it:
//! - its head (the text before its first nested object or array, where Go's encoder writes
//!   `kind`, `auditID` and `stage`) has `"kind":"Event"`, a plain `auditID` and a plain
//!   `"stage"` of `RequestReceived` or `ResponseStarted` (a line in Go's key order is read by
//!   its keys, `GoHead`, so a bracket inside its `requestURI` does not end its head);
//! - that first nested object is `user`, whose first key is a `username` starting with
//!   `system:node:` (so the event is a kubelet's, [`KubeletMatch::NodeUser`]);
//! - its time is the one the parse gives: read where Go writes the times, right after its
//!   last nested value (or, when `annotations` follows them, the one before), when its head
//!   is Go's (`go_time`); else, each of its time keys appears at most once in the whole line,
//!   with a plain value;
//! - at ResponseStarted, when object events are wanted, it cannot record a graph change (see
//!   `Prefilter::may_change_graph`), which such an event may (a RequestReceived event never
//!   does);
//! - no other needle follows its kubelet needle; or, when its head is Go's up to its user,
//!   nothing that may make the parse read it as no event: a `protoPayload`, or an escaped
//!   letter (`Prefilter::nothing_unlike_an_event`).
//!
//! Like a skipped line, such a line is not checked further when a better event of its request
//! (ResponseStarted, Panic, ResponseComplete) replaces it: a line the full parse would reject
//! for what follows its head (malformed JSON further on, a key written twice) goes unreported
//! then. When it meets any other event of its request, or none, it is parsed after all (but a
//! ResponseStarted line that meets a lesser event of its request in its chunk replaces it,
//! keeping it as a fallback, see [`crate::scan::chunk`]); found bad then, it is reported where
//! it is, but the time read from it unparsed stays in its input's time span.
//!
//! A scan that wants no kubelet requests (the `graph` command's, which only collects object
//! events) builds the pre-filter with [`Prefilter::with_options`]: kubelet lines are then
//! skipped like any other uninteresting line ([`Decision::SkipKubelet`]), and only their
//! timestamps are read, so that the inputs' time spans stay what a full scan finds.

use aho_corasick::{packed, AhoCorasick, Input, MatchKind, Span};
use memchr::memmem;

#[cfg(doc)]
use crate::input::event::RawEvent;
use crate::input::event::{GRAPH_RESOURCES, KUBELET_AGENT_PREFIX, NODE_USER_PREFIX};
use crate::input::legacy::{looks_legacy, AUDIT_MARKER};
use crate::input::time::parse_rfc3339_micros_bytes;
#[cfg(doc)]
use crate::record::KubeletMatch;
use crate::record::Stage;

/// The event's time keys, quoted: `requestReceivedTimestamp`, `v1beta1`'s `timestamp`, and
/// `stageTimestamp`.
const TIME_KEYS: [&str; 3] = [
    "\"requestReceivedTimestamp\"",
    "\"timestamp\"",
    "\"stageTimestamp\"",
];
/// How every one of [`TIME_KEYS`] ends (and nothing it ends with can overlap another
/// occurrence of itself, so each occurrence of a key is one of this ending).
const TIME_KEY_END: &str = "imestamp\"";

/// Compiled needles, built once per scan and shared by the workers.
pub struct Prefilter {
    /// The needles that make a line parsed, searched by their tails ([`screened`]): first
    /// the others, then the kubelet needles (none when kubelet lines are skipped).
    must_parse: Needles,
    /// The heads the tails of `must_parse` go with, by pattern.
    heads: Vec<&'static str>,
    /// The first patterns of `must_parse`, the needles that are no kubelet's: what may not
    /// follow a kubelet needle in a line taken unparsed ([`Decision::Unparsed`]).
    others: Needles,
    /// Whether kubelet lines may be [`Decision::Unparsed`] (not under `--strict`, which must
    /// stop at the first bad line as it comes).
    defer_unparsed: bool,
    /// The kubelet needles, whole, when kubelet lines are skipped rather than parsed (their
    /// tails are in `must_parse` otherwise). Substring searches: a multi-pattern automaton of
    /// these three fell back to a slow non-SIMD search.
    kubelet: Option<Vec<memmem::Finder<'static>>>,
    /// Look for graph changes (object events wanted).
    graph: bool,
    verb_key: memmem::Finder<'static>,
    resource_key: memmem::Finder<'static>,
    time_keys: [memmem::Finder<'static>; 3],
    /// [`TIME_KEY_END`].
    time_key_end: memmem::Finder<'static>,
    audit_id_key: memmem::Finder<'static>,
    kind_key: memmem::Finder<'static>,
    stage_key: memmem::Finder<'static>,
    legacy_id: memmem::Finder<'static>,
    /// `protoPayload`, the key that makes an event with an auditID a GKE record instead.
    proto_payload: memmem::Finder<'static>,
}

/// What the pre-filter decided for one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Parse the line.
    Parse,
    /// A complete-looking audit event that cannot matter: count it, with its auditID.
    Skip {
        /// The auditID's bytes, as written (no escapes).
        audit_id: &'a [u8],
    },
    /// A line of white space.
    Blank,
    /// Like `Skip`, for a line that may be a kubelet's, in a scan that wants no kubelet
    /// requests: the caller still reads its timestamps (see [`Prefilter::line_time`]).
    SkipKubelet {
        /// The auditID's bytes, as written (no escapes).
        audit_id: &'a [u8],
    },
    /// A line that may be a kubelet's RequestReceived or ResponseStarted event, and for no
    /// other reason must be parsed: taken as an event of `audit_id` at `stage`, and parsed
    /// only if no later event of its request replaces it (see the module documentation).
    Unparsed {
        /// The auditID's bytes, as written (no escapes).
        audit_id: &'a [u8],
        /// The event's stage: [`Stage::RequestReceived`] or [`Stage::ResponseStarted`].
        stage: Stage,
        /// The event's time, as the parse would give it (see [`RawEvent::request_received`]).
        time: Option<i64>,
    },
}

/// A kubelet's needles: a node's user name, a kubelet's user agent (its `/` escaped, as a
/// writer other than Go's may write it).
const KUBELET_NEEDLES: [&str; 3] = [NODE_USER_PREFIX, KUBELET_AGENT_PREFIX, "kubelet\\/"];

/// The needles that make a line parsed, split into heads and tails (`screened`), and how many
/// of them, first, are no kubelet's; with `want_requests`, the kubelet needles follow.
fn needles(want_requests: bool) -> (Vec<(&'static str, &'static str)>, usize) {
    // `\u` escapes of letters, `:` and `/`, the characters of every needle. Not `\u0026`
    // (`&`), `\u003c`, `\u003e`: Go writes those in most query strings.
    let escapes = [
        "\\u004", "\\u005", "\\u006", "\\u007", "\\u003a", "\\u003A", "\\u002f", "\\u002F",
    ];
    // Cloud envelopes hold a whole event (with its auditID) inside another record, and a
    // batch holds several: the keys, quoted, as a record may lack a category.
    let envelopes = [
        "EventList",
        "protoPayload",
        "kube-audit",
        "\"properties\"",
        "\"records\"",
    ];
    let mut needles: Vec<(&str, &str)> =
        escapes.into_iter().chain(envelopes).map(screened).collect();
    let others = needles.len();
    if want_requests {
        needles.extend(KUBELET_NEEDLES.map(screened));
    }
    (needles, others)
}

/// Needles searched for together, leftmost-first: by Teddy (SIMD) asked directly, where it
/// can be built, else by an automaton. For these needles (more than three distinct first
/// bytes, so no other prefilter of its applies) [`AhoCorasick`] ran the same Teddy search
/// behind its own prefilter and search loop, whose cost on each call (one per line at least:
/// its input, start state and dispatch) was about a tenth of the search.
enum Needles {
    Packed {
        searcher: packed::Searcher,
        /// How many patterns it searches for (the searcher does not tell).
        patterns: usize,
    },
    Automaton(AhoCorasick),
}

/// Where [`Needles::find`] found a needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Needle {
    /// Its pattern's index.
    pattern: usize,
    /// Where it starts.
    start: usize,
}

impl Needles {
    fn new(patterns: &[&str]) -> Needles {
        let packed = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(patterns)
            .build();
        match packed {
            Some(searcher) => Needles::Packed {
                searcher,
                patterns: patterns.len(),
            },
            None => Needles::automaton(patterns),
        }
    }

    /// The automaton's search, whatever the processor.
    fn automaton(patterns: &[&str]) -> Needles {
        Needles::Automaton(build(patterns))
    }

    /// The leftmost needle in `t[from..]` (the first pattern of those that start there).
    fn find(&self, t: &[u8], from: usize) -> Option<Needle> {
        if from > t.len() {
            return None;
        }
        let (pattern, start) = match self {
            Needles::Packed { searcher, .. } => {
                let m = searcher.find_in(t, Span::from(from..t.len()))?;
                (m.pattern(), m.start())
            }
            Needles::Automaton(automaton) => {
                let m = automaton.find(Input::new(t).span(from..t.len()))?;
                (m.pattern(), m.start())
            }
        };
        Some(Needle {
            pattern: pattern.as_usize(),
            start,
        })
    }

    /// How many patterns it searches for.
    fn len(&self) -> usize {
        match self {
            Needles::Packed { patterns, .. } => *patterns,
            Needles::Automaton(automaton) => automaton.patterns_len(),
        }
    }
}

fn build(patterns: &[&str]) -> AhoCorasick {
    // Static, valid patterns: the build cannot fail short of running out of memory.
    // Leftmost-first is what enables the SIMD (Teddy) searcher. Which needle matches first
    // matters only to `Prefilter::unparsed`, which looks on for other needles after a
    // kubelet's, and to `Prefilter::find_needle`, which looks on after a tail without its
    // head.
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .build(patterns)
        .unwrap_or_else(|e| panic!("pre-filter patterns: {e}"))
}

/// `needle` split into the head and the tail that `must_parse` searches for: the tail is the
/// needle without its first bytes when those are common in audit lines.
///
/// The SIMD searcher behind [`Prefilter::decide`] (Teddy) screens for the first four bytes of
/// each pattern and verifies every place they occur. `syst`, `kube`, `Even`, `"pro` and `"rec`
/// occur several times in nearly every line (groups, namespaces, user agents,
/// `"kind":"Event"`, keys), and verifying them took about a quarter of the search. A line that
/// holds a needle holds its tail; where a tail is found, its head is checked before it
/// ([`Prefilter::find_needle`]), so a line is parsed for what it was parsed for before.
fn screened(needle: &'static str) -> (&'static str, &'static str) {
    let common_head = match needle {
        "EventList" | "protoPayload" | "kube-audit" | "\"properties\"" => 4,
        KUBELET_AGENT_PREFIX | "kubelet\\/" => 4,
        "\"records\"" => 3,
        NODE_USER_PREFIX => 5,
        // Go writes `&` as `\u0026` in nearly every query string: a tail that `\u0026` does
        // not start (its first four bytes) is never a candidate there.
        "\\u004" | "\\u005" | "\\u006" | "\\u007" => 1,
        "\\u003a" | "\\u003A" | "\\u002f" | "\\u002F" => 2,
        _ => 0,
    };
    needle.split_at(common_head)
}

impl Prefilter {
    /// Builds the pre-filter; graph resources are looked for only when object events are wanted.
    pub fn new(want_object_events: bool) -> Prefilter {
        Prefilter::with_options(want_object_events, true)
    }

    /// Builds the pre-filter; with `want_requests` false, kubelet lines are skipped (see
    /// [`Decision::SkipKubelet`]) unless something else makes them interesting.
    pub fn with_options(want_object_events: bool, want_requests: bool) -> Prefilter {
        let (needles, others) = needles(want_requests);
        let kubelet = (!want_requests).then(|| {
            KUBELET_NEEDLES
                .iter()
                .map(|k| memmem::Finder::new(k.as_bytes()).into_owned())
                .collect()
        });
        let tails: Vec<&str> = needles.iter().map(|(_, tail)| *tail).collect();
        Prefilter {
            must_parse: Needles::new(&tails),
            heads: needles.iter().map(|(head, _)| *head).collect(),
            others: Needles::new(&tails[..others]),
            defer_unparsed: want_requests,
            kubelet,
            graph: want_object_events,
            verb_key: memmem::Finder::new(b"\"verb\"").into_owned(),
            resource_key: memmem::Finder::new(b"\"resource\"").into_owned(),
            time_keys: TIME_KEYS.map(|k| memmem::Finder::new(k.as_bytes()).into_owned()),
            time_key_end: memmem::Finder::new(TIME_KEY_END.as_bytes()).into_owned(),
            audit_id_key: memmem::Finder::new(b"\"auditID\"").into_owned(),
            kind_key: memmem::Finder::new(b"\"kind\"").into_owned(),
            stage_key: memmem::Finder::new(b"\"stage\"").into_owned(),
            legacy_id: memmem::Finder::new(b" id=\"").into_owned(),
            proto_payload: memmem::Finder::new(b"protoPayload").into_owned(),
        }
    }

    /// Decides for one line (without its newline).
    pub fn decide<'a>(&self, line: &'a [u8]) -> Decision<'a> {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            return Decision::Blank;
        }
        if let Some(hit) = self.find_needle(&self.must_parse, trimmed, 0) {
            return self.unparsed(trimmed, &hit).unwrap_or(Decision::Parse);
        }
        let go = go_head(trimmed);
        if self.graph && self.may_change_graph(trimmed, go.as_ref()) {
            return Decision::Parse;
        }
        let go_id = go.map(|go| go.audit_id).filter(|id| !id.is_empty());
        let audit_id = match go_id.or_else(|| self.cheap_audit_id(trimmed)) {
            Some(audit_id) => audit_id,
            None => return Decision::Parse,
        };
        match &self.kubelet {
            Some(k) if k.iter().any(|f| f.find(trimmed).is_some()) => {
                // Legacy lines keep their time elsewhere than `Prefilter::line_time` looks.
                if looks_legacy(trimmed) {
                    Decision::Parse
                } else {
                    Decision::SkipKubelet { audit_id }
                }
            }
            _ => Decision::Skip { audit_id },
        }
    }

    /// The leftmost tail that `searcher` (`must_parse`, or `others`, its first patterns) finds
    /// in `t` from `from` on with its head right before it: where a needle of it is.
    fn find_needle(&self, searcher: &Needles, t: &[u8], from: usize) -> Option<Needle> {
        let mut from = from;
        while from <= t.len() {
            let tail = searcher.find(t, from)?;
            let head = self.heads[tail.pattern];
            if t[..tail.start].ends_with(head.as_bytes()) {
                return Some(tail);
            }
            from = tail.start + 1;
        }
        None
    }

    /// Never decides [`Decision::Unparsed`] (`--strict`: a bad line must stop the scan where
    /// it is, not when it is found to be one).
    pub fn without_deferral(mut self) -> Prefilter {
        self.defer_unparsed = false;
        self
    }

    /// [`Decision::Unparsed`] for a line whose first needle `hit` is a kubelet's, when the line
    /// reads as a kubelet's RequestReceived or ResponseStarted event without parsing (see the
    /// module documentation) and no other needle is in it.
    fn unparsed<'a>(&self, t: &'a [u8], hit: &Needle) -> Option<Decision<'a>> {
        if !self.defer_unparsed || hit.pattern < self.others.len() {
            return None;
        }
        if t.first() != Some(&b'{') || t.last() != Some(&b'}') {
            return None;
        }
        let go = go_head(t);
        // In Go's shape, the user object follows the verb: the first nested value.
        let go_user = go.as_ref().and_then(|go| {
            let user = t[go.after_verb..].strip_prefix(b",\"user\":")?;
            Some((t.len() - user.len(), go.stage, go.audit_id))
        });
        let go_shaped = go_user.is_some();
        let (nested, stage, audit_id) = match go_user {
            Some(read) => read,
            None => {
                // Before the first nested object or array, a key is one of the event's own.
                let nested = memchr::memchr2(b'{', b'[', &t[1..])? + 1;
                let plain = |key: &memmem::Finder<'_>| plain_in_head(&t[..nested], key);
                if plain(&self.kind_key)? != b"Event" {
                    return None;
                }
                (nested, plain(&self.stage_key)?, plain(&self.audit_id_key)?)
            }
        };
        let stage = match stage {
            b"RequestReceived" => Stage::RequestReceived,
            b"ResponseStarted" => Stage::ResponseStarted,
            _ => return None,
        };
        if audit_id.is_empty() || !node_user_first(&t[..nested], &t[nested..]) {
            return None;
        }
        // A line whose head is Go's up to its user has no time key there, so where Go writes
        // the times is all there is to read; a line in another shape is read whole.
        let time = match go_shaped.then(|| go_time(t)).flatten() {
            Some(time) => Some(time),
            None => self.unique_time(t, nested)?,
        };
        if stage == Stage::ResponseStarted && self.graph && self.may_change_graph(t, go.as_ref()) {
            return None;
        }
        // Any other needle (an escape, an envelope) needs the parse. Searching on from inside
        // the hit finds a needle overlapping it too.
        let rest = if go_shaped {
            self.nothing_unlike_an_event(&t[hit.start + 1..])
        } else {
            self.find_needle(&self.others, t, hit.start + 1).is_none()
        };
        rest.then_some(Decision::Unparsed {
            audit_id,
            stage,
            time,
        })
    }

    /// Whether `rest`, the text of a line in Go's shape after its kubelet needle, holds
    /// nothing that could make the parse read the line otherwise than as the event its head
    /// says it is: no `protoPayload` (a GKE record's key, which makes the parse report the
    /// line instead, see [`crate::input::event::is_plain_event`]), and no `\u` escape of a
    /// letter (that key written with escapes). The other needles cannot: the line's kind is
    /// `Event`, read from its head, so `EventList` is a value elsewhere; an event with an
    /// auditID is read as an event whatever `records` or `properties` it has; and escapes of
    /// `:` and `/` hide only the needles of lines the head already shows to be a kubelet's.
    /// Two plain searches where the multi-pattern search took about twice their
    /// instructions over the rest of each such line.
    fn nothing_unlike_an_event(&self, rest: &[u8]) -> bool {
        let escaped_letter = |at: usize| {
            matches!(
                rest.get(at + 1..at + 5),
                Some([b'u', b'0', b'0', b'4'..=b'7'])
            )
        };
        self.proto_payload.find(rest).is_none()
            && !memchr::memchr_iter(b'\\', rest).any(escaped_letter)
    }

    /// The time the parse would give the event of line `t` ([`RawEvent::request_received`],
    /// else [`RawEvent::stage_time`]), or `None` when that cannot be told without parsing.
    /// A time key counts only where it is the event's own: before the first nested value
    /// (which starts at `nested`), after the last one ends, or between them at the line's
    /// top level ([`at_top_level`]); written twice, or with a value that is no plain string,
    /// the line is left to the parse.
    ///
    /// The three keys end alike, so one search for that ending finds them all: searching for
    /// each key on its own read the line five times over (twice more to be sure a key found
    /// is not written again), a tenth of the pre-filter's work.
    fn unique_time(&self, t: &[u8], nested: usize) -> Option<Option<i64>> {
        // No object or array opens after the last `}` or `]` but the one the last byte closes.
        let trailer = memchr::memrchr2(b'}', b']', &t[..t.len() - 1]).map_or(nested, |i| i + 1);
        // Where each key (`TIME_KEYS`' order) starts, if it is in the line.
        let mut found: [Option<usize>; 3] = [None; 3];
        for end in self.time_key_end.find_iter(t) {
            let before = &t[..end];
            let Some(k) = TIME_KEYS.iter().position(|key| {
                before.ends_with(&key.as_bytes()[..key.len() - TIME_KEY_END.len()])
            }) else {
                continue;
            };
            if found[k].is_some() {
                return None;
            }
            found[k] = Some(end + TIME_KEY_END.len() - TIME_KEYS[k].len());
        }
        // A key between the nested values (a ResponseStarted event's times, which its
        // `annotations` follow) is the event's own only if it is at its top level.
        let middle = found.map(|f| f.filter(|&start| start >= nested && start < trailer));
        let top = middle_keys_at_top_level(t, middle)?;
        let value = |k: usize| -> Option<Option<&[u8]>> {
            let Some(start) = found[k] else {
                return Some(None);
            };
            if middle[k].is_some() && !top[k] {
                // The key's only occurrence is in a body or a string: the event has none.
                return Some(None);
            }
            match value_at(t, key_end(t, &self.time_keys[k], start)?) {
                KeyValue::Plain(v) => Some(Some(v)),
                KeyValue::NotAKey | KeyValue::Other => None,
            }
        };
        let received = value(0)?.or(value(1)?);
        let stage = value(2)?;
        Some(event_time(received, || stage))
    }

    /// Whether lines of kubelets are parsed (false: skipped as [`Decision::SkipKubelet`]).
    pub fn wants_requests(&self) -> bool {
        self.kubelet.is_none()
    }

    /// The auditID of a line that looks like one complete event (`{…}` holding an `"auditID"`
    /// string, or a legacy line with an id), found without parsing.
    fn cheap_audit_id<'a>(&self, t: &'a [u8]) -> Option<&'a [u8]> {
        if t.first() == Some(&b'{') && t.last() == Some(&b'}') {
            let at = self.audit_id_key.find(t)? + "\"auditID\"".len();
            return match value_at(t, at) {
                KeyValue::Plain(id) if !id.is_empty() => Some(id),
                _ => None,
            };
        }
        if looks_legacy(t) {
            let marker = memmem::find(t, AUDIT_MARKER.as_bytes())?;
            let at = marker + AUDIT_MARKER.len() - 1;
            let rest = t.get(at + self.legacy_id.find(&t[at..])? + " id=\"".len()..)?;
            return plain_string(rest).filter(|id| !id.is_empty());
        }
        None
    }
}

/// The end of the quoted `key` found at `found` in `text`, if it opens a key there: after `{`
/// or `,` (not after `\"`, inside a string such as `"x\"stage"`).
fn key_end(text: &[u8], key: &memmem::Finder<'_>, found: usize) -> Option<usize> {
    let before = text[..found].trim_ascii_end();
    (before.ends_with(b",") || before.ends_with(b"{")).then_some(found + key.needle().len())
}

/// The text of a line that is a JSON object before its first nested object or array (or the
/// whole line, if it has none): where Go's encoder writes an event's `kind`, `auditID`,
/// `stage`, `requestURI` and `verb`. Every key in it is the object's own; a `{` or `[` inside
/// one of its strings only cuts it shorter.
fn head_of(t: &[u8]) -> Option<&[u8]> {
    if t.first() != Some(&b'{') {
        return None;
    }
    let nested = memchr::memchr2(b'{', b'[', &t[1..]).map_or(t.len(), |i| i + 1);
    Some(&t[..nested])
}

/// The first keys of an event line as Go's encoder writes them, read in one pass: its `kind`
/// (`Event`), `apiVersion`, `level`, `auditID`, `stage`, `requestURI` and `verb`, in this
/// order, with nothing between them and no escape in any value but the URI's. Finding each
/// key with a substring search of its own cost more than reading them all like this.
///
/// Every key read this way is the event's own, and the first of its name in the line (no value
/// before it holds a quote that is not escaped), so it is what [`plain_in_head`] finds, except
/// when a value holds a `{` or `[` (where that reading stops short and finds nothing).
struct GoHead<'a> {
    audit_id: &'a [u8],
    stage: &'a [u8],
    verb: &'a [u8],
    /// Where the text after the verb's closing quote starts.
    after_verb: usize,
}

/// Reads a JSON line `t` (`{…}`) as [`GoHead`] describes; `None` when it is written otherwise.
fn go_head(t: &[u8]) -> Option<GoHead<'_>> {
    const START: &[u8; 30] = b"{\"kind\":\"Event\",\"apiVersion\":\"";
    if past_prefix(t, 0, START).is_none() || t.last() != Some(&b'}') {
        return None;
    }
    let mut at = START.len();
    plain_then(t, &mut at, b",\"level\":\"")?;
    plain_then(t, &mut at, b",\"auditID\":\"")?;
    let audit_id = plain_then(t, &mut at, b",\"stage\":\"")?;
    let stage = plain_then(t, &mut at, b",\"requestURI\":\"")?;
    // The URI may hold escapes (Go writes `&` as `\u0026`).
    at = past_string(t, at)?;
    at = past_prefix(t, at, b",\"verb\":\"")?;
    let verb = plain_then(t, &mut at, b"")?;
    Some(GoHead {
        audit_id,
        stage,
        verb,
        after_verb: at,
    })
}

/// Where the JSON string of `t` whose text starts at `from` (after its opening quote) ends:
/// past its closing quote, the first one not escaped.
fn past_string(t: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let stop = at + quote_or_backslash(t.get(at..)?)?;
        if t[stop] == b'"' {
            return Some(stop + 1);
        }
        // Past the escaped character.
        at = stop + 2;
    }
}

/// The string value of `t` that starts at `at`, when it has no escapes and `next` follows its
/// closing quote: `at` moves on past both.
#[inline]
fn plain_then<'a, const N: usize>(t: &'a [u8], at: &mut usize, next: &[u8; N]) -> Option<&'a [u8]> {
    let value = plain_string(t.get(*at..)?)?;
    *at = past_prefix(t, *at + value.len() + 1, next)?;
    Some(value)
}

/// Where `t` goes on after `prefix`, when `prefix` is at `at`. The comparison is a few
/// eight-byte loads: comparing slices (or arrays) called `memcmp`, five times for each line
/// [`go_head`] reads.
#[inline]
fn past_prefix<const N: usize>(t: &[u8], at: usize, prefix: &[u8; N]) -> Option<usize> {
    let found: &[u8; N] = t.get(at..)?.first_chunk()?;
    same_bytes(found, prefix).then_some(at + N)
}

/// `a == b`, eight bytes at a time (the last eight overlapping the ones before) when there are
/// at least eight.
#[inline]
fn same_bytes<const N: usize>(a: &[u8; N], b: &[u8; N]) -> bool {
    if N < 8 {
        return a == b;
    }
    let word =
        |s: &[u8; N], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or_default());
    (0..N / 8).all(|k| word(a, 8 * k) == word(b, 8 * k)) && word(a, N - 8) == word(b, N - 8)
}

/// Where the first `"` or `\\` of `s` is: `memchr2(b'"', b'\\', s)`, for the short strings of an
/// event's head (its kind, level, auditID, stage and verb, a few dozen bytes each), where
/// memchr2's setup took more instructions than the search: reading the head of every line
/// that way was a sixth of the pre-filter's instructions. Sixteen bytes at a time with SSE2
/// (every x86-64 processor has it). Not `fast_event::Stops`, which finds the stops of whole
/// 64-byte blocks for the many strings of a parsed line: a head's few strings are read once,
/// from its start, where a search from each string's start costs less.
#[inline]
fn quote_or_backslash(s: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86-64 baseline: every processor this runs on has it.
        unsafe { quote_or_backslash_sse2(s) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    memchr::memchr2(b'"', b'\\', s)
}

/// [`quote_or_backslash`] by 16-byte blocks, then byte by byte.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn quote_or_backslash_sse2(s: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
    };
    let mut blocks = s.chunks_exact(16);
    let mut at = 0;
    for block in &mut blocks {
        let (low, high) = block.split_at(8);
        let word = |half: &[u8]| i64::from_le_bytes(half.try_into().unwrap_or_default());
        let v = _mm_set_epi64x(word(high), word(low));
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        let stops = _mm_movemask_epi8(_mm_or_si128(quote, backslash));
        if stops != 0 {
            return Some(at + stops.trailing_zeros() as usize);
        }
        at += 16;
    }
    let tail = blocks.remainder();
    tail.iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|i| at + i)
}

/// The text of a JSON string that starts `s` (after its opening quote), when it holds no
/// escape: up to its closing quote.
#[inline]
fn plain_string(s: &[u8]) -> Option<&[u8]> {
    let end = quote_or_backslash(s)?;
    (s[end] == b'"').then(|| &s[..end])
}

/// The value of the first occurrence of the quoted `key` in a line's `head` ([`head_of`]),
/// when that occurrence is a key and its value a string without escapes.
fn plain_in_head<'a>(head: &'a [u8], key: &memmem::Finder<'_>) -> Option<&'a [u8]> {
    let at = key_end(head, key, key.find(head)?)?;
    match value_at(head, at) {
        KeyValue::Plain(v) => Some(v),
        KeyValue::NotAKey | KeyValue::Other => None,
    }
}

/// The time of an event line `t` in Go's shape, read where Go writes its times:
/// `,"requestReceivedTimestamp":"…","stageTimestamp":"…"` with nothing more, after its last
/// nested value but one and before its `annotations` ([`before_annotations`]), or, when it
/// has none (its last value a string), after its last nested value and before its end.
/// `None` when the line does not show so, or its received time is no RFC 3339 time (the
/// parse then takes the stage's); [`Prefilter::unique_time`] then reads the whole line.
///
/// Only for a line whose head is Go's ([`go_head`]), where no time key can be. The bodies are
/// not searched: an event the parse accepts has each key once, at its top level, so the one
/// read is the parse's; a line with a key written twice is refused by the parse, and, like a
/// line refused for anything after its head, goes unreported when an event of its request
/// replaces it (see the module documentation). Searching the bodies of every line taken
/// unparsed for the keys was a twentieth of the instructions of `analyze` on the 1 GB
/// benchmark log.
fn go_time(t: &[u8]) -> Option<i64> {
    let end = t.len().checked_sub(1)?;
    let times = if t[..end].ends_with(b"\"") {
        &t[memchr::memrchr2(b'}', b']', &t[..end])? + 1..end]
    } else {
        &t[before_annotations(t)?]
    };
    let (received, rest) = plain_after(times, b",\"requestReceivedTimestamp\":\"")?;
    let (_, rest) = plain_after(rest, b",\"stageTimestamp\":\"")?;
    if !matches!(rest, b"" | b",") {
        return None;
    }
    parse_rfc3339_micros_bytes(received)
}

/// The text of the string without escapes that `prefix` opens at the start of `s` (`prefix`
/// ends with its opening quote), and what follows its closing quote.
fn plain_after<'a>(s: &'a [u8], prefix: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let value = plain_string(s.strip_prefix(prefix)?)?;
    Some((value, &s[prefix.len() + value.len() + 1..]))
}

/// For each of `middle` (where a time key starts between the nested values of the JSON object
/// `t`, if it does), whether it is at the object's top level: read from Go's shape
/// ([`before_annotations`]) where it shows, else by following the line's strings and brackets
/// ([`at_top_level`]); `None` when the line's JSON goes wrong before a key.
fn middle_keys_at_top_level(t: &[u8], middle: [Option<usize>; 3]) -> Option<[bool; 3]> {
    if middle.iter().all(Option::is_none) {
        return Some([false; 3]);
    }
    let go_shape = before_annotations(t).unwrap_or_default();
    let in_go_shape = middle.map(|m| m.is_some_and(|start| go_shape.contains(&start)));
    let rest = middle.map(|m| m.filter(|start| !go_shape.contains(start)));
    let followed = if rest.iter().any(Option::is_some) {
        at_top_level(t, rest)?
    } else {
        [false; 3]
    };
    Some([0, 1, 2].map(|k| in_go_shape[k] || followed[k]))
}

/// Where Go writes the times of a ResponseStarted or ResponseComplete event: the text between
/// its last nested value but one and its `annotations`, the last, when the line shows, without
/// following its strings, that this text is at its top level (a much cheaper reading than
/// [`at_top_level`]'s, for the shape nearly every such line has):
/// - its last `{` or `[` (before its last byte) opens a value after `,"annotations":`. Those
///   quotes are not escaped, so they are no string's text: the key is a key, and the `{` opens
///   its value;
/// - after that `{` come two `}` or `]` in all: one must close the value and the last byte
///   closes the line's object, so the value is at the top level, with nothing open around it.
///   So is all of the text before the key back to the `}` or `]` before it, outside strings:
///   a bracket in it that opened a value would need a third to close it.
///
/// For a line the parse accepts; one it rejects is found bad when read.
fn before_annotations(t: &[u8]) -> Option<std::ops::Range<usize>> {
    const KEY: &[u8] = b"\"annotations\"";
    let open = memchr::memrchr2(b'{', b'[', t.get(..t.len().checked_sub(1)?)?)?;
    if memchr::memchr2_iter(b'}', b']', &t[open + 1..]).count() != 2 {
        return None;
    }
    let key = t[..open]
        .trim_ascii_end()
        .strip_suffix(b":")?
        .trim_ascii_end()
        .strip_suffix(KEY)?;
    if !key.trim_ascii_end().ends_with(b",") {
        return None;
    }
    let start = memchr::memrchr2(b'}', b']', key).map_or(0, |c| c + 1);
    Some(start..key.len())
}

/// For each of `starts` (places in the JSON object `t`), whether a string starts there at
/// the object's top level, found by following the line's strings and brackets up to the last
/// of them; `None` when the line's JSON goes wrong before (the parse will say so).
fn at_top_level(t: &[u8], starts: [Option<usize>; 3]) -> Option<[bool; 3]> {
    let end = starts.iter().flatten().max().map_or(0, |&s| s + 1);
    let mut top = [false; 3];
    let mut depth = 0usize;
    let mut i = 0;
    while i < end {
        match t.get(i)? {
            b'"' => {
                if depth == 1 {
                    for (k, s) in starts.iter().enumerate() {
                        top[k] |= *s == Some(i);
                    }
                }
                i = past_string(t, i + 1)?;
            }
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                i += 1;
            }
            _ => i += 1,
        }
    }
    Some(top)
}

/// Whether the event's first nested value, which starts `nested`, is its `user` (the last key
/// of `head`) with a `username` first that is a node's: what makes the parse call the event a
/// kubelet's by [`KubeletMatch::NodeUser`].
fn node_user_first(head: &[u8], nested: &[u8]) -> bool {
    let key = head
        .trim_ascii_end()
        .strip_suffix(b":")
        .map(<[u8]>::trim_ascii_end)
        .and_then(|h| h.strip_suffix(b"\"user\""))
        .map(<[u8]>::trim_ascii_end);
    // The quote before `user` opens a key, not ends an escape in another string.
    if !key.is_some_and(|k| k.ends_with(b",") || k.ends_with(b"{")) {
        return false;
    }
    let Some(inner) = nested.strip_prefix(b"{") else {
        return false;
    };
    let Some(rest) = inner.trim_ascii_start().strip_prefix(b"\"username\"") else {
        return false;
    };
    matches!(value_at(rest, 0), KeyValue::Plain(name) if name.starts_with(NODE_USER_PREFIX.as_bytes()))
}

/// What follows one occurrence of a quoted key in a JSON line.
enum KeyValue<'a> {
    /// Not followed by `:`: the quoted text was a value, not a key.
    NotAKey,
    /// A string without escapes.
    Plain(&'a [u8]),
    /// Anything else (an escaped string, a number, an object, the end of the line).
    Other,
}

/// What follows the key that ends just before `at`.
fn value_at(line: &[u8], at: usize) -> KeyValue<'_> {
    let Some(rest) = line.get(at..).map(<[u8]>::trim_ascii_start) else {
        return KeyValue::Other;
    };
    let Some(rest) = rest.strip_prefix(b":") else {
        return KeyValue::NotAKey;
    };
    let Some(rest) = rest.trim_ascii_start().strip_prefix(b"\"") else {
        return KeyValue::Other;
    };
    plain_string(rest).map_or(KeyValue::Other, KeyValue::Plain)
}

/// Whether any occurrence of the quoted `key` has a value that `wanted` accepts; a value that
/// cannot be read without parsing counts as accepted, so that the answer errs on parsing.
fn any_value(line: &[u8], key: &memmem::Finder<'_>, wanted: impl Fn(&[u8]) -> bool) -> bool {
    key.find_iter(line)
        .any(|at| match value_at(line, at + key.needle().len()) {
            KeyValue::NotAKey => false,
            KeyValue::Plain(v) => wanted(v),
            KeyValue::Other => true,
        })
}

impl Prefilter {
    /// Whether the line may record a change of a graph resource: some `"verb"` is one of the
    /// four that [`RawEvent::to_object_event`](crate::input::event::RawEvent::to_object_event)
    /// keeps, and some `"resource"` a graph resource. Keys are found with SIMD substring
    /// search rather than a multi-pattern search for the quoted values, which ran at a
    /// fraction of the speed (every `"` in a line is a candidate start there). A JSON escape
    /// in a value makes the line parsed (here, or by the `\u00..` needles).
    ///
    /// The event's own verb, the first `"verb"` key of the line's head (see [`head_of`]), is
    /// read first: when it is not one of the four, no other `"verb"` in the line (in a body)
    /// can make the event a change, and the rest of the line is not searched. (A line that
    /// writes the key again is one the parse rejects; skipped, it goes unchecked, as any
    /// skipped line does.)
    fn may_change_graph(&self, line: &[u8], go: Option<&GoHead<'_>>) -> bool {
        let changes = |v: &[u8]| matches!(v, b"create" | b"update" | b"patch" | b"delete");
        let verb = match go {
            Some(go) => Some(go.verb),
            None => head_of(line).and_then(|head| plain_in_head(head, &self.verb_key)),
        };
        if verb.is_some_and(|verb| !changes(verb)) {
            return false;
        }
        any_value(line, &self.verb_key, changes)
            && any_value(line, &self.resource_key, |v| {
                GRAPH_RESOURCES.iter().any(|r| r.as_bytes() == v)
            })
    }

    /// The time a parsed event would give a line of JSON (`requestReceivedTimestamp`, or
    /// `timestamp` in `v1beta1`, else `stageTimestamp`), read without parsing: for lines
    /// skipped as [`Decision::SkipKubelet`], whose times still bound their input's time span.
    pub fn line_time(&self, line: &[u8]) -> Option<i64> {
        let value = |k: &memmem::Finder<'_>| match value_at(line, k.find(line)? + k.needle().len())
        {
            KeyValue::Plain(v) => Some(v),
            _ => None,
        };
        let [received, v1beta1, stage] = &self.time_keys;
        event_time(value(received).or_else(|| value(v1beta1)), || value(stage))
    }
}

/// The time the parse gives an event ([`RawEvent::request_received`], else
/// [`RawEvent::stage_time`]) from the raw values of its received time (`requestReceivedTimestamp`,
/// or v1beta1's `timestamp`) and of its `stageTimestamp`, which is looked for only if needed.
fn event_time<'a>(
    received: Option<&'a [u8]>,
    stage: impl FnOnce() -> Option<&'a [u8]>,
) -> Option<i64> {
    received
        .and_then(parse_rfc3339_micros_bytes)
        .or_else(|| stage().and_then(parse_rfc3339_micros_bytes))
}

/// A 64-bit hash of an auditID (auditIDs are short and random enough that a collision among
/// even a billion requests is unlikely).
///
/// Read eight bytes at a time: every line's auditID is hashed, and FNV-1a's byte-by-byte
/// chain of multiplications was a twentieth of the scan on a log of mostly non-kubelet lines.
/// Each word goes through two multiplications, each followed by a shift that brings its high
/// bits down, so that a difference in one word has spread over most of the state before the
/// next word is mixed in (with one, a difference in a word's high byte could be cancelled by
/// a difference in two bytes of the next word: IDs one letter's case apart in each collided).
/// Each step is a bijection of the state for a given word, so two IDs of one length that
/// differ in a single word have different 64-bit hashes (not necessarily different in the 60
/// bits that [`crate::scan::recent`] compares); the length goes in first, so that the zero bytes
/// padding the last word tell no IDs apart.
pub fn audit_id_hash(id: &[u8]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15 ^ id.len() as u64;
    let mut step = |word: u64| {
        h = (h ^ word).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 32;
        h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 29;
    };
    let mut words = id.chunks_exact(8);
    for w in &mut words {
        step(u64::from_le_bytes(w.try_into().unwrap_or_default()));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        step(u64::from_le_bytes(last));
    }
    // splitmix64's finaliser: every bit of the state reaches the high bits the hash sets use.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A hasher for keys that already are [`audit_id_hash`] values: hashing them again (SipHash,
/// the default) was a visible share of the sequential merge.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by u64 keys; anything else still hashes reasonably.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Build-hasher for sets and maps keyed by auditID hashes.
pub type IdHash = std::hash::BuildHasherDefault<IdHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        let p = Prefilter::new(true);
        let skip = |l: &str| match p.decide(l.as_bytes()) {
            Decision::Skip { audit_id } => Some(String::from_utf8_lossy(audit_id).into_owned()),
            _ => None,
        };
        assert_eq!(
            skip(r#"{"kind":"Event","auditID":"abc","verb":"get","user":{"username":"admin"}}"#)
                .as_deref(),
            Some("abc")
        );
        assert_eq!(
            skip(r#"  {"auditID" : "abc", "verb":"get"}  "#).as_deref(),
            Some("abc")
        );
        assert_eq!(p.decide(b"   \r"), Decision::Blank);
        for parse in [
            r#"{"auditID":"a","user":{"username":"system:node:n1"}}"#,
            r#"{"auditID":"a","userAgent":"kubelet/v1.30"}"#,
            r#"{"auditID":"a","userAgent":"kubelet\/v1.30"}"#,
            r#"{"auditID":"a","user":{"username":"\u0073ystem:node:n1"}}"#,
            r#"{"auditID":"a","user":{"username":"system\u003Anode:n1"}}"#,
            r#"{"auditID":"a","userAgent":"kubelet\u002fv1"}"#,
            // Every escape needle, each searched by a tail without its first bytes.
            r#"{"auditID":"a","user":{"username":"\u0053YSTEM:NODE:N1"}}"#,
            r#"{"auditID":"a","user":{"username":"\u004bube"}}"#,
            r#"{"auditID":"a","user":{"username":"system:nod\u0065:n1"}}"#,
            r#"{"auditID":"a","user":{"username":"\u006eode"}}"#,
            r#"{"auditID":"a","userAgent":"kubele\u0074/v1"}"#,
            r#"{"auditID":"a","user":{"username":"n\u007a"}}"#,
            r#"{"auditID":"a","user":{"username":"system\u003anode:n1"}}"#,
            r#"{"auditID":"a","userAgent":"kubelet\u002Fv1"}"#,
            r#"{"kind":"EventList","items":[]}"#,
            r#"{"category":"kube-audit","properties":{"log":{"auditID":"a"}}}"#,
            r#"{"auditID":"a","verb":"create","objectRef":{"resource":"pods"}}"#,
            r#"{"auditID":"a","verb" : "delete","objectRef":{"resource": "persistentvolumes"}}"#,
            r#"{"kind": 0}"#,
            r#"{"auditID":"a","verb":"get""#,
            r#"{"auditID":"a\"b"}"#,
            "not json",
            "2020-01-01T00:00:00Z AUDIT: stage=\"x\"",
        ] {
            assert_eq!(p.decide(parse.as_bytes()), Decision::Parse, "{parse}");
        }
        // A needle is searched by its tail ([`screened`]) and its head checked: the tail alone
        // does not make a line parsed, the whole needle after a lone tail does.
        for tail_only in [
            r#"{"auditID":"a","user":{"username":"platform:node:n1"}}"#,
            r#"{"auditID":"a","userAgent":"applet/v1"}"#,
            r#"{"auditID":"a","userAgent":"applet\/v1"}"#,
            r#"{"auditID":"a","kind":"SecretList"}"#,
            r#"{"auditID":"a","message":"autoPayload"}"#,
            r#"{"auditID":"a","message":"see-audit"}"#,
            r#"{"auditID":"a","data":{"ui.properties":"x"}}"#,
            r#"{"auditID":"a","message":"accords"}"#,
            r#"{"auditID":"a","message":"u0073 u0041 u005f u007e"}"#,
            r#"{"auditID":"a","message":"x003a x003A 0x002f 002F"}"#,
            // The two bytes of a `\u` head are both needed.
            r#"{"auditID":"a","message":"u003a u002F \\003a"}"#,
        ] {
            assert_eq!(skip(tail_only).as_deref(), Some("a"), "{tail_only}");
            let needle_after = format!(
                r#"{},"impersonatedUser":{{"username":"system:node:n1"}}}}"#,
                &tail_only[..tail_only.len() - 1]
            );
            assert_eq!(
                p.decide(needle_after.as_bytes()),
                Decision::Parse,
                "{needle_after}"
            );
        }
        // The common heads alone do not.
        assert!(skip(
            r#"{"kind":"Event","auditID":"a","user":{"username":"system:kube-scheduler","groups":["system:authenticated"]},"objectRef":{"namespace":"kube-system"},"userAgent":"kube-scheduler/v1.30","message":"\"properties \"records of Events"}"#
        )
        .is_some());
        // Go's own escapes of `&`, `<`, `>` do not make a line interesting.
        assert!(skip(r#"{"auditID":"a","requestURI":"/api/v1/pods?limit=1\u0026watch=1","message":"\u003cnone\u003e"}"#).is_some());
        // A graph resource without a mutating verb, or a verb without a graph resource.
        assert!(skip(r#"{"auditID":"a","verb":"list","objectRef":{"resource":"pods"}}"#).is_some());
        assert!(
            skip(r#"{"auditID":"a","verb":"create","objectRef":{"resource":"secrets"}}"#).is_some()
        );
        // Without object events, graph changes are skipped.
        let p2 = Prefilter::new(false);
        assert!(matches!(
            p2.decide(br#"{"auditID":"a","verb":"create","objectRef":{"resource":"pods"}}"#),
            Decision::Skip { .. }
        ));
        let legacy =
            r#"2020-01-01T00:00:00Z AUDIT: id="x-1" stage="ResponseComplete" user="admin""#;
        assert_eq!(skip(legacy).as_deref(), Some("x-1"));
    }

    #[test]
    fn without_requests_kubelet_lines_are_skipped_with_their_time() {
        let p = Prefilter::with_options(true, false);
        assert!(!p.wants_requests());
        let kubelet = r#"{"auditID":"k","verb":"get","user":{"username":"system:node:n1"},"requestReceivedTimestamp" : "2020-01-01T00:00:01.000000Z","stageTimestamp":"2020-01-01T00:00:02.000000Z"}"#;
        assert_eq!(
            p.decide(kubelet.as_bytes()),
            Decision::SkipKubelet { audit_id: b"k" }
        );
        assert_eq!(p.line_time(kubelet.as_bytes()), Some(1_577_836_801_000_000));
        let agent = r#"{"auditID":"k","userAgent":"kubelet\/v1","stageTimestamp":"2020-01-01T00:00:02.000000Z"}"#;
        assert_eq!(
            p.decide(agent.as_bytes()),
            Decision::SkipKubelet { audit_id: b"k" }
        );
        assert_eq!(p.line_time(agent.as_bytes()), Some(1_577_836_802_000_000));
        let v1beta1 = r#"{"auditID":"k","userAgent":"kubelet/v1","timestamp":"2020-01-01T00:00:03.000000Z","stageTimestamp":"2020-01-01T00:00:02.000000Z"}"#;
        assert_eq!(p.line_time(v1beta1.as_bytes()), Some(1_577_836_803_000_000));
        assert_eq!(p.line_time(br#"{"auditID":"k"}"#), None);
        // A kubelet's graph change, an escape and a legacy line are still parsed.
        for parse in [
            r#"{"auditID":"a","verb":"patch","user":{"username":"system:node:n1"},"objectRef":{"resource":"nodes","subresource":"status"}}"#,
            r#"{"auditID":"a","user":{"username":"\u0073ystem:node:n1"}}"#,
            r#"2020-01-01T00:00:00Z AUDIT: id="x-1" stage="ResponseComplete" user="system:node:n1""#,
        ] {
            assert_eq!(p.decide(parse.as_bytes()), Decision::Parse, "{parse}");
        }
        // A verb or resource key that is really a value does not count; an unreadable value
        // (escaped, not a string) does, so that the line is parsed.
        assert!(matches!(
            p.decide(
                br#"{"auditID":"a","note":"verb","x":"create","objectRef":{"resource":"pods"}}"#
            ),
            Decision::Skip { .. }
        ));
        assert_eq!(
            p.decide(br#"{"auditID":"a","verb":"create","objectRef":{"resource":7}}"#),
            Decision::Parse
        );
        // The event's own verb, before anything nested, decides when it changes nothing: a
        // body's `"verb"` (a SubjectAccessReview's) does not make a `get` a change.
        let review = |verb: &str| {
            format!(
                r#"{{"auditID":"a","verb":"{verb}","objectRef":{{"resource":"pods"}},"requestObject":{{"spec":{{"resourceAttributes":{{"verb":"create","resource":"pods"}}}}}}}}"#
            )
        };
        assert!(matches!(
            p.decide(review("get").as_bytes()),
            Decision::Skip { audit_id: b"a" }
        ));
        assert_eq!(p.decide(review("delete").as_bytes()), Decision::Parse);
        // Not readable there (escaped, a value, after the first nested value, or a `{` in a
        // string before it): the whole line is searched as before, and the body's verb counts.
        for unread in [
            review(r#"ge\"t"#),
            review("get").replace(r#""verb":"get","#, r#""x":"verb","#),
            review("get").replace(
                r#""verb":"get","objectRef":{"resource":"pods"}"#,
                r#""objectRef":{"resource":"pods"},"verb":"get""#,
            ),
            review("get").replace(r#""auditID":"a","#, r#""auditID":"a","uri":"/{x}","#),
        ] {
            assert_eq!(p.decide(unread.as_bytes()), Decision::Parse, "{unread}");
        }
    }

    /// A kubelet's RequestReceived event as Go's encoder writes it, with `tail` after its
    /// `userAgent` (objectRef, bodies, times).
    fn received_line(user: &str, tail: &str) -> String {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"r-1","stage":"RequestReceived","requestURI":"/api/v1/nodes/n1","verb":"get","user":{{"username":"{user}","groups":["system:nodes","system:authenticated"]}},"sourceIPs":["10.0.0.1"],"userAgent":"kubelet/v1.34.0 (linux/amd64) kubernetes/abc"{tail}}}"#
        )
    }

    #[test]
    fn kubelet_received_and_started_lines_are_taken_unparsed_when_they_read_as_the_parse_reads_them(
    ) {
        let p = Prefilter::new(true);
        let times = r#","requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z","stageTimestamp":"2020-01-01T00:00:02.000000Z""#;
        let swapped = r#","stageTimestamp":"2020-01-01T00:00:02.000000Z","requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z""#;
        let at = |s: i64| Some(1_577_836_800_000_000 + s * 1_000_000);
        for (tail, time) in [
            (times.to_string(), at(1)),
            // v1beta1 writes `timestamp`; a received time that does not parse leaves the
            // stage's, as the parse does.
            (
                r#","timestamp":"2020-01-01T00:00:03.000000Z","stageTimestamp":"2020-01-01T00:00:02.000000Z""#.to_string(),
                at(3),
            ),
            (
                r#","requestReceivedTimestamp":"yesterday","stageTimestamp":"2020-01-01T00:00:02.000000Z""#.to_string(),
                at(2),
            ),
            (String::new(), None),
            (format!(r#","objectRef":{{"resource":"nodes","name":"n1"}}{times}"#), at(1)),
        ] {
            let line = received_line("system:node:n1", &tail);
            assert_eq!(
                p.decide(line.as_bytes()),
                Decision::Unparsed {
                    audit_id: b"r-1",
                    stage: Stage::RequestReceived,
                    time
                },
                "{line}"
            );
            // A watch's ResponseStarted event reads the same way.
            let started = line.replace("RequestReceived", "ResponseStarted");
            assert_eq!(
                p.decide(started.as_bytes()),
                Decision::Unparsed {
                    audit_id: b"r-1",
                    stage: Stage::ResponseStarted,
                    time
                },
                "{started}"
            );
        }
        // A ResponseStarted event that may change the graph (a graph resource, a mutating
        // verb) is an object event: parsed when object events are wanted.
        let change = received_line(
            "system:node:n1",
            &format!(r#","objectRef":{{"resource":"pods","name":"p"}}{times}"#),
        )
        .replace(r#""verb":"get""#, r#""verb":"create""#);
        let started = change.replace("RequestReceived", "ResponseStarted");
        assert_eq!(p.decide(started.as_bytes()), Decision::Parse);
        assert_eq!(
            Prefilter::new(false).decide(started.as_bytes()),
            Decision::Unparsed {
                audit_id: b"r-1",
                stage: Stage::ResponseStarted,
                time: at(1)
            }
        );
        // A RequestReceived event never is one.
        assert_eq!(
            p.decide(change.as_bytes()),
            Decision::Unparsed {
                audit_id: b"r-1",
                stage: Stage::RequestReceived,
                time: at(1)
            }
        );
        let parsed = [
            // No node identity in `user` (the needle is the agent's, or an impersonated node).
            received_line("admin", times),
            received_line(
                "admin",
                &format!(r#","impersonatedUser":{{"username":"system:node:n1"}}{times}"#),
            ),
            // Another stage, no kind or another, an escaped or empty auditID.
            received_line("system:node:n1", times).replace("RequestReceived", "ResponseComplete"),
            received_line("system:node:n1", times).replace("RequestReceived", "Panic"),
            received_line("system:node:n1", times).replace(r#""kind":"Event","#, ""),
            received_line("system:node:n1", times).replace(r#""kind":"Event""#, r#""kind":"Pod""#),
            received_line("system:node:n1", times).replace(r#""r-1""#, r#""r\"1""#),
            received_line("system:node:n1", times).replace(r#""r-1""#, r#""""#),
            // The keys after a nested value, which may be a body's.
            received_line("system:node:n1", times).replace(
                r#""stage":"RequestReceived","#,
                r#""annotations":{},"stage":"RequestReceived","#,
            ),
            // `user` not first nested, or `username` not first in it.
            received_line("system:node:n1", times)
                .replace(r#""user":"#, r#""sourceIPs":[],"user":"#),
            received_line("system:node:n1", times).replace(
                r#"{"username":"system:node:n1","groups":["system:nodes","system:authenticated"]}"#,
                r#"{"groups":["system:nodes"],"username":"system:node:n1"}"#,
            ),
            // A time key twice (a body's first) where Go does not write the times (so the
            // whole line is searched), or a time that is not a plain string.
            received_line(
                "system:node:n1",
                &format!(
                    r#","requestObject":{{"stageTimestamp":"2000-01-01T00:00:00Z"}}{swapped}"#
                ),
            ),
            received_line("system:node:n1", r#","requestReceivedTimestamp":17"#),
            // A key inside another key, after an escaped quote.
            received_line("system:node:n1", times).replace(
                r#""stage":"RequestReceived","#,
                r#""x\"stage":"RequestReceived","stage":"ResponseComplete","#,
            ),
            received_line("system:node:n1", times).replace(
                r#""auditID":"r-1","#,
                r#""x\"auditID":"r-2","auditID":"r-1","#,
            ),
            // Further on, what may make the parse read it as no event: a GKE record's key, or
            // an escaped letter (which may write that key).
            received_line(
                "system:node:n1",
                &format!(r#","requestObject":{{"name":"\u0041"}}{times}"#),
            ),
            received_line("system:node:n1", &format!(r#","protoPayload":{{}}{times}"#)),
            received_line(
                "system:node:n1",
                &format!(r#","pr\u006ftoPayload":{{}}{times}"#),
            ),
            // Another needle further on, in a head not in Go's order.
            received_line(
                "system:node:n1",
                &format!(r#","requestObject":{{"name":"a\u003ab"}}{times}"#),
            )
            .replace(r#""level":"Metadata","#, ""),
            // Not one object.
            format!("{} ", received_line("system:node:n1", times)).replace("} ", "},"),
        ];
        for line in &parsed {
            assert_eq!(p.decide(line.as_bytes()), Decision::Parse, "{line}");
        }
        // In Go's shape, the other needles change nothing the parse reads: the kind is read
        // from the head (so `EventList` is another value), and an escaped `:` or `/` hides no
        // identity the head has not shown.
        for tail in [
            r#","requestObject":{"name":"a\u003ab","path":"\u002f"}"#,
            r#","requestObject":{"kind":"EventList","records":[],"properties":{}}"#,
        ] {
            let line = received_line("system:node:n1", &format!("{tail}{times}"));
            assert!(p.find_needle(&p.others, line.as_bytes(), 0).is_some());
            assert_eq!(
                p.decide(line.as_bytes()),
                Decision::Unparsed {
                    audit_id: b"r-1",
                    stage: Stage::RequestReceived,
                    time: at(1)
                },
                "{line}"
            );
        }
        // Where Go writes the times, a body's key before them is not searched for: the times
        // are read, as the parse reads them.
        let body_key = received_line(
            "system:node:n1",
            &format!(r#","requestObject":{{"stageTimestamp":"2000-01-01T00:00:00Z"}}{times}"#),
        );
        assert_eq!(
            p.decide(body_key.as_bytes()),
            Decision::Unparsed {
                audit_id: b"r-1",
                stage: Stage::RequestReceived,
                time: at(1)
            }
        );
        // A time key only in a body is not the event's: it has no time, as the parse finds.
        let body_time = received_line(
            "system:node:n1",
            r#","requestObject":{"timestamp":"2020-01-01T00:00:00Z"}"#,
        );
        assert_eq!(
            p.decide(body_time.as_bytes()),
            Decision::Unparsed {
                audit_id: b"r-1",
                stage: Stage::RequestReceived,
                time: None
            }
        );
        // Under --strict every such line is parsed.
        let strict = Prefilter::new(true).without_deferral();
        let line = received_line("system:node:n1", times);
        assert_eq!(strict.decide(line.as_bytes()), Decision::Parse);
    }

    /// `Prefilter::unique_time` as it was written before it searched for the keys' common
    /// ending: each key searched for on its own, and again after it.
    fn unique_time_key_by_key(p: &Prefilter, t: &[u8], nested: usize) -> Option<Option<i64>> {
        let trailer = memchr::memrchr2(b'}', b']', &t[..t.len() - 1]).map_or(nested, |i| i + 1);
        let value = |key: &memmem::Finder<'_>| -> Option<Option<&[u8]>> {
            let Some(found) = key.find(t) else {
                return Some(None);
            };
            if found >= nested && found < trailer {
                return None;
            }
            let at = key_end(t, key, found)?;
            if key.find(&t[at..]).is_some() {
                return None;
            }
            match value_at(t, at) {
                KeyValue::Plain(v) => Some(Some(v)),
                KeyValue::NotAKey | KeyValue::Other => None,
            }
        };
        let [received, v1beta1, stage] = &p.time_keys;
        let received = value(received)?.or(value(v1beta1)?);
        let stage = value(stage)?;
        Some(event_time(received, || stage))
    }

    /// Pieces of event lines around the time keys: the keys as keys, as values, inside bodies
    /// and after escaped quotes, other keys ending the same way, and times good and bad.
    fn time_piece() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            r#""requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z","#,
            r#""stageTimestamp":"2020-01-01T00:00:02.000000Z","#,
            r#""timestamp":"2020-01-01T00:00:03.000000Z","#,
            r#""stageTimestamp" : "2020-01-01T00:00:04.000000Z" ,"#,
            r#""timestamp":"yesterday","#,
            r#""requestReceivedTimestamp":17,"#,
            r#""creationTimestamp":"2020-01-01T00:00:05.000000Z","#,
            r#""note":"stageTimestamp","#,
            r#""x":"\"timestamp\":","#,
            r#""requestObject":{"stageTimestamp":"2000-01-01T00:00:00Z"},"#,
            r#""o":{"requestReceivedTimestamp":"2000-01-01T00:00:00Z","stageTimestamp":"2000-01-01T00:00:00Z"},"#,
            r#""user":{"username":"system:node:n1"},"#,
            r#""sourceIPs":["10.0.0.1"],"#,
            r#""stage":"RequestReceived","#,
            r#""responseStatus":{"metadata":{},"code":200},"#,
            r#""o":{"x":{},"#,
            "},",
            "imestamp\"",
            "Timestamp",
            " ",
            ",",
        ])
    }

    proptest::proptest! {
        #[test]
        fn the_time_read_unparsed_is_the_time_the_parse_gives(
            pieces in proptest::collection::vec(time_piece(), 0..12),
            end in proptest::sample::select(vec![
                r#""end":0}"#,
                r#""annotations":{"a":"b"}}"#,
                r#""annotations":{}}"#,
                r#""annotations":{"a":"}"}}"#,
                r#""annotations":{"a":"{"}}"#,
                r#""annotations":["]"]}"#,
                r#""x":"\",\"annotations\":{"}"#,
                r#""o":{"c":":{"}}"#,
                r#""o":{"annotations":{}}}"#,
                r#""annotations":{}}}"#,
                r#""c":":{"}}"#,
                r#""annotations":"x"}"#,
            ]),
        ) {
            let p = Prefilter::new(true);
            let line = format!(r#"{{"kind":"Event",{}{end}"#, pieces.concat());
            let t = line.as_bytes();
            let nested = memchr::memchr2(b'{', b'[', &t[1..]).map_or(t.len() - 1, |i| i + 1);
            let time = p.unique_time(t, nested);
            // Whatever the key-by-key search could tell, this tells alike (and it tells more:
            // a key between nested values).
            if let Some(known) = unique_time_key_by_key(&p, t, nested) {
                proptest::prop_assert_eq!(time, Some(known), "{}", line);
            }
            // What it tells is what the parse gives.
            if let (Some(time), Ok(ev)) = (time, serde_json::from_str::<crate::input::event::RawEvent<'_>>(&line)) {
                let parsed = ev.request_received().or_else(|| ev.stage_time());
                proptest::prop_assert_eq!(time, parsed, "{}", line);
            }
        }
    }

    /// The head of a kubelet's event line as Go writes it, up to its `user`.
    const GO_HEAD: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-1","stage":"RequestReceived","requestURI":"/api/v1/nodes/n1","verb":"get","user":{"username":"system:node:n1"},"#;

    /// Times read where Go writes them: before the end (a RequestReceived event) or before
    /// the annotations (a ResponseStarted one), and nowhere else.
    #[test]
    fn go_writes_the_times_after_the_last_nested_value_or_before_the_annotations() {
        let times = r#""requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z","stageTimestamp":"2020-01-01T00:00:02.000000Z""#;
        let line = |middle: &str, end: &str| format!("{GO_HEAD}{middle},{end}");
        let received = Some(1_577_836_801_000_000);
        let object_ref = r#""objectRef":{"resource":"nodes","name":"n1"}"#;
        assert_eq!(
            go_time(line(object_ref, &format!("{times}}}")).as_bytes()),
            received
        );
        let annotated = format!(r#"{times},"annotations":{{"a":"b"}}}}"#);
        assert_eq!(go_time(line(object_ref, &annotated).as_bytes()), received);
        // A body holding the keys, before Go's times: not searched, and not taken.
        let body = r#""requestObject":{"requestReceivedTimestamp":"2000-01-01T00:00:00Z"}"#;
        assert_eq!(
            go_time(line(body, &format!("{times}}}")).as_bytes()),
            received
        );
        for end in [
            // Another order, another key, a key more, an escape, a value that is no time.
            r#""stageTimestamp":"2020-01-01T00:00:02.000000Z","requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z"}"#,
            r#""timestamp":"2020-01-01T00:00:01.000000Z","stageTimestamp":"2020-01-01T00:00:02.000000Z"}"#,
            r#""requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z","stageTimestamp":"2020-01-01T00:00:02.000000Z","x":"y"}"#,
            r#""requestReceivedTimestamp":"2020-01-01T00:00:01.000000\u005a","stageTimestamp":"2020-01-01T00:00:02.000000Z"}"#,
            r#""requestReceivedTimestamp":"yesterday","stageTimestamp":"2020-01-01T00:00:02.000000Z"}"#,
            r#""requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z"}"#,
        ] {
            assert_eq!(go_time(line(object_ref, end).as_bytes()), None, "{end}");
        }
        assert_eq!(go_time(b""), None);
        assert_eq!(go_time(b"}"), None);
    }

    proptest::proptest! {
        /// Whatever `go_time` reads of a line in Go's shape that the parse accepts is the time
        /// the parse gives; and it never tells otherwise than the whole line's reading.
        #[test]
        fn the_time_go_writes_is_the_time_the_parse_gives(
            pieces in proptest::collection::vec(time_piece(), 0..8),
            received in proptest::sample::select(vec![
                r#""requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z","#,
                r#""requestReceivedTimestamp":"2020-01-01T00:00:01Z","#,
                r#""requestReceivedTimestamp":"later","#,
                r#""requestReceivedTimestamp":"2020-01-01T00:00:01\u002e000000Z","#,
                r#""timestamp":"2020-01-01T00:00:03.000000Z","#,
                "",
            ]),
            stage in proptest::sample::select(vec![
                r#""stageTimestamp":"2020-01-01T00:00:02.000000Z""#,
                r#""stageTimestamp":"x\"""#,
                r#""stageTimestamp":7"#,
            ]),
            end in proptest::sample::select(vec![
                "}",
                r#","annotations":{"a":"b"}}"#,
                r#","annotations":{"a":"}}"}}"#,
                r#","annotations":{}}"#,
                r#","x":"y"}"#,
                r#","o":{}}"#,
            ]),
        ) {
            let p = Prefilter::new(true);
            let line = format!(
                r#"{GO_HEAD}"objectRef":{{"resource":"nodes"}},{}{received}{stage}{end}"#,
                pieces.concat()
            );
            let t = line.as_bytes();
            let nested = GO_HEAD.find(r#""user":"#).unwrap() + r#""user":"#.len();
            let Some(time) = go_time(t) else {
                return Ok(());
            };
            if let Ok(ev) = serde_json::from_str::<crate::input::event::RawEvent<'_>>(&line) {
                let parsed = ev.request_received().or_else(|| ev.stage_time());
                proptest::prop_assert_eq!(Some(time), parsed, "{}", line);
            }
            if let Some(whole) = p.unique_time(t, nested) {
                proptest::prop_assert_eq!(Some(time), whole, "{}", line);
            }
        }
    }

    #[test]
    fn a_time_between_nested_values_counts_where_it_is_at_the_top_level() {
        let p = Prefilter::new(true);
        let time = |line: &str| {
            let t = line.as_bytes();
            let nested = memchr::memchr2(b'{', b'[', &t[1..]).unwrap() + 1;
            p.unique_time(t, nested)
        };
        // A ResponseStarted event as Go writes it: the annotations follow the times.
        let started = r#"{"kind":"Event","user":{"username":"system:node:n1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2020-01-01T00:00:01.000000Z","stageTimestamp":"2020-01-01T00:00:02.000000Z","annotations":{"authorization.k8s.io/decision":"allow"}}"#;
        assert_eq!(time(started), Some(Some(1_577_836_801_000_000)));
        // The same keys inside a body, or inside a string (after an escaped quote, and
        // after a backslash that ends a string), are not the event's.
        for line in [
            r#"{"kind":"Event","user":{"username":"system:node:n1"},"requestObject":{"requestReceivedTimestamp":"2000-01-01T00:00:00Z"},"annotations":{}}"#,
            r#"{"kind":"Event","user":{"username":"system:node:n1"},"x":"{\"requestReceivedTimestamp\":\"2000-01-01T00:00:00Z\"","annotations":{}}"#,
            r#"{"kind":"Event","user":{"username":"system:node:n1"},"x":["\\",{"requestReceivedTimestamp":"2000-01-01T00:00:00Z"}],"annotations":{}}"#,
        ] {
            assert_eq!(time(line), Some(None), "{line}");
        }
        // JSON that goes wrong before the key is left to the parse.
        assert_eq!(
            time(
                r#"{"kind":"Event","user":{"username":"n"}}},"stageTimestamp":"2020-01-01T00:00:02.000000Z","a":{}}"#
            ),
            None
        );
    }

    #[test]
    fn hash_distinguishes() {
        assert_ne!(audit_id_hash(b"a"), audit_id_hash(b"b"));
        assert_eq!(audit_id_hash(b"abc"), audit_id_hash(b"abc"));
        // Padding and length: a short last word is not the same as one ending in zero bytes.
        assert_ne!(audit_id_hash(b"abc"), audit_id_hash(b"abc\0"));
        assert_ne!(audit_id_hash(b""), audit_id_hash(b"\0"));
        assert_ne!(audit_id_hash(b"12345678"), audit_id_hash(b"12345678\0"));
    }

    #[test]
    fn hash_tells_apart_ids_a_few_bits_apart_and_words_swapped() {
        let mask = u64::MAX >> 4;
        let base = b"caa1956e-8650-8f32-4c1b-0d9e2a7f3b61";
        let mut seen = std::collections::HashMap::new();
        let mut add = |id: Vec<u8>| {
            if let Some(other) = seen.insert(audit_id_hash(&id) & mask, id.clone()) {
                assert_eq!(
                    other,
                    id,
                    "{} and {}",
                    String::from_utf8_lossy(&other),
                    String::from_utf8_lossy(&id)
                );
            }
        };
        // Every ID one or two bytes apart from `base`, by a letter's case (0x20), 0x40 or the
        // lowest bit: with one multiplication per word, a case flip in a word's last byte and
        // two in the next word's collided half the time.
        for i in 0..base.len() {
            for a in [0x20u8, 0x40, 0x01] {
                let mut one = base.to_vec();
                one[i] ^= a;
                add(one.clone());
                for j in i + 1..base.len() {
                    for b in [0x20u8, 0x40, 0x01] {
                        let mut two = one.clone();
                        two[j] ^= b;
                        add(two);
                    }
                }
            }
        }
        // The words of an ID in another order.
        for w in 1..base.len() / 8 {
            let mut swapped = base.to_vec();
            let (head, tail) = swapped.split_at_mut(8 * w);
            head[..8].swap_with_slice(&mut tail[..8]);
            add(swapped);
        }
    }

    #[test]
    fn hash_has_no_collision_among_a_million_uuids_or_counters() {
        // Random UUIDs as the apiserver writes them, and IDs that differ in a digit or two
        // (a test cluster's or another writer's): all distinct, also in the 60 bits the
        // window of recent IDs compares.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut seen = std::collections::HashSet::new();
        for i in 0..500_000u64 {
            let (a, b) = (next(), next());
            let uuid = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                a >> 16 & 0xffff,
                a & 0xfff,
                b >> 48 & 0x3fff | 0x8000,
                b & 0xffff_ffff_ffff
            );
            assert!(
                seen.insert(audit_id_hash(uuid.as_bytes()) & (u64::MAX >> 4)),
                "{uuid}"
            );
            let counter = format!("request-{i:012}");
            assert!(
                seen.insert(audit_id_hash(counter.as_bytes()) & (u64::MAX >> 4)),
                "{counter}"
            );
        }
    }
}

#[cfg(test)]
mod go_head_tests {
    use super::*;
    use proptest::prelude::*;

    const LINE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a-1","stage":"ResponseStarted","requestURI":"/api/v1/pods?fieldSelector=spec.nodeName%3Dn1\u0026watch=true","verb":"watch","user":{"username":"system:node:n1"},"stageTimestamp":"2020-01-01T00:00:00Z"}"#;

    #[test]
    fn go_shaped_heads_are_read_in_one_pass() {
        let go = go_head(LINE.as_bytes()).expect("Go's shape");
        assert_eq!(
            (go.audit_id, go.stage, go.verb),
            (&b"a-1"[..], &b"ResponseStarted"[..], &b"watch"[..])
        );
        assert!(LINE[go.after_verb..].starts_with(r#","user":{"#));
        // Escaped quotes and backslashes in the URI are passed over, and brackets in it do not
        // end the head: such a kubelet line is taken unparsed too.
        let uri = LINE.replace("watch=true", r#"x=\"verb\":\"create\"\\"#);
        let go = go_head(uri.as_bytes()).expect("escapes in the URI");
        assert_eq!(go.verb, b"watch");
        let brackets = LINE.replace("watch=true", "labelSelector=x+in+[a]{b}");
        assert_eq!(
            go_head(brackets.as_bytes()).map(|go| go.verb),
            Some(&b"watch"[..])
        );
        assert_eq!(
            Prefilter::new(false).decide(brackets.as_bytes()),
            Decision::Unparsed {
                audit_id: b"a-1",
                stage: Stage::ResponseStarted,
                time: Some(1_577_836_800_000_000),
            }
        );
        for other in [
            // An escape in a value, a key out of order or spaced, no closing brace, a URI
            // whose escape runs off the end, and not an event.
            LINE.replace("a-1", r#"a\"1"#),
            LINE.replace(r#""level":"Metadata","auditID":"a-1","#, r#""auditID":"a-1","level":"Metadata","#),
            LINE.replace(r#","verb":"#, r#", "verb":"#),
            LINE[..LINE.len() - 1].to_string(),
            r#"{"kind":"Event","apiVersion":"v","level":"l","auditID":"a","stage":"s","requestURI":"/x\}"#.to_string(),
            LINE.replace(r#""kind":"Event""#, r#""kind":"EventList""#),
        ] {
            assert!(go_head(other.as_bytes()).is_none(), "{other}");
        }
    }

    /// A prefix is found only where every one of its bytes is, for lengths below, at and
    /// between multiples of eight.
    #[test]
    fn past_prefix_compares_every_byte() {
        fn check<const N: usize>() {
            let prefix: [u8; N] = std::array::from_fn(|i| b'a' + i as u8);
            let mut t = b"xy".to_vec();
            t.extend_from_slice(&prefix);
            t.push(b'z');
            assert_eq!(past_prefix(&t, 2, &prefix), Some(2 + N), "{N}");
            assert_eq!(
                past_prefix(&t, t.len() - N + 1, &prefix),
                None,
                "{N} cut short"
            );
            for i in 0..N {
                let mut other = t.clone();
                other[2 + i] ^= 0x20;
                assert_eq!(past_prefix(&other, 2, &prefix), None, "{N}: byte {i}");
            }
        }
        check::<0>();
        check::<5>();
        check::<8>();
        check::<9>();
        check::<15>();
        check::<16>();
        check::<17>();
        check::<30>();
    }

    /// Pieces a line's first values are made of: mostly plain text, some escapes, quotes and
    /// brackets.
    fn value_piece() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            6 => prop::sample::select(vec!["a", "get", "-1", "/api", "{", "[", ",", ":", "}"]),
            1 => prop::sample::select(vec![
                "\\u0026", "\\\"", "\\\\", "\"", "\"verb\":\"create", "\\\",\\\"verb\\\":\\\"create",
            ]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, failure_persistence: None, ..ProptestConfig::default() })]
        /// The block scan finds what memchr2 finds, at any length and position, among any
        /// bytes.
        #[test]
        fn quote_or_backslash_finds_what_memchr2_finds(
            bytes in prop::collection::vec(
                prop_oneof![30 => any::<u8>(), 1 => Just(b'"'), 1 => Just(b'\\')],
                0..80,
            ),
            from in 0usize..80,
        ) {
            let s = &bytes[from.min(bytes.len())..];
            prop_assert_eq!(quote_or_backslash(s), memchr::memchr2(b'"', b'\\', s));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn what_go_head_reads_is_what_the_parse_gives(
            values in prop::collection::vec(prop::collection::vec(value_piece(), 0..4), 6),
            tail in prop::sample::select(vec![
                r#","user":{"username":"system:node:n1"}}"#,
                r#"}"#,
                r#","objectRef":{"resource":"pods","name":"[{"}}"#,
                r#","x":"\",\"verb\":\"create"}"#,
                // Never a line the parse accepts, nor one `go_head` reads: neither may panic.
                r#","verb":"create"}"#,
                "",
            ]),
        ) {
            let v: Vec<String> = values.iter().map(|v| v.concat()).collect();
            let line = format!(
                r#"{{"kind":"Event","apiVersion":"{}","level":"{}","auditID":"{}","stage":"{}","requestURI":"{}","verb":"{}"{tail}"#,
                v[0], v[1], v[2], v[3], v[4], v[5]
            );
            let Some(go) = go_head(line.as_bytes()) else {
                return Ok(());
            };
            // Whenever the line parses, what was read is the event's own.
            if let Ok(ev) = serde_json::from_str::<crate::input::event::RawEvent<'_>>(&line) {
                let text = |f: &[u8]| std::str::from_utf8(f).unwrap().to_string();
                prop_assert_eq!(ev.audit_id.as_deref().map(str::to_string), Some(text(go.audit_id)), "{}", line);
                prop_assert_eq!(ev.stage.as_deref().map(str::to_string), Some(text(go.stage)), "{}", line);
                prop_assert_eq!(ev.verb.as_deref().map(str::to_string), Some(text(go.verb)), "{}", line);
                // `after_verb` is right past the verb's closing quote.
                let quoted = [go.verb, b"\""].concat();
                prop_assert_eq!(&line.as_bytes()[go.after_verb - quoted.len()..go.after_verb], quoted.as_slice());
            }
        }
    }
}

#[cfg(test)]
mod needles_tests {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of lines: the needles' tails, parts of them, and the text around them in audit
    /// lines.
    fn needle_piece() -> impl Strategy<Value = &'static str> {
        let tails: Vec<&str> = needles(true).0.iter().map(|(_, tail)| *tail).collect();
        prop_oneof![
            3 => prop::sample::select(tails),
            6 => prop::sample::select(vec![
                "system:", "m:no", "de:", "kubelet", "let/", "\\u00", "Event", "x", "\"", "{\"kind\":",
                "records", "kube-", "audit", "/api/v1/nodes", "\\", "propert", "003",
            ]),
        ]
    }

    /// The leftmost of `tails` in `t[from..]`, the first of those starting there, found
    /// byte by byte.
    fn naive(tails: &[&str], t: &[u8], from: usize) -> Option<Needle> {
        (from..=t.len()).find_map(|start| {
            let pattern = tails
                .iter()
                .position(|p| t[start..].starts_with(p.as_bytes()))?;
            Some(Needle { pattern, start })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]
        /// The pre-filter's searches (`must_parse`, `others`, with and without the kubelet
        /// needles) find the needle a byte-by-byte search finds, and so does the automaton
        /// kept for processors without Teddy, from anywhere in a line (shorter than Teddy's
        /// window too, where it searches otherwise).
        #[test]
        fn the_needle_searches_find_the_leftmost_needle(
            pieces in prop::collection::vec(needle_piece(), 0..24),
            at in any::<prop::sample::Index>(),
            want_requests in any::<bool>(),
        ) {
            let t = pieces.concat();
            let t = t.as_bytes();
            let from = at.index(t.len() + 1);
            let prefilter = Prefilter::with_options(true, want_requests);
            let (needles, others) = needles(want_requests);
            let tails: Vec<&str> = needles.iter().map(|(_, tail)| *tail).collect();
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("ssse3") {
                assert!(matches!(prefilter.must_parse, Needles::Packed { .. }), "Teddy is built here");
            }
            for (searches, tails) in [(&prefilter.must_parse, &tails[..]), (&prefilter.others, &tails[..others])] {
                let expected = naive(tails, t, from);
                prop_assert_eq!(searches.len(), tails.len());
                prop_assert_eq!(searches.find(t, from), expected);
                prop_assert_eq!(Needles::automaton(tails).find(t, from), expected);
            }
            prop_assert_eq!(prefilter.must_parse.find(t, t.len() + 1), None);
        }
    }
}
