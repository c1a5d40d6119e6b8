//! `requestURI` → [`RequestUri`], and the request-info resolution the apiserver performs before
//! authorization (spec section 1): which authorizer [`Attributes`] a request carries.
//!
//! The audit event's `objectRef` is not what the authorizer saw (a create gets its name filled
//! in from the body, for one), so attributes are recomputed from the URI and the verb.

use std::borrow::Cow;

use compact_str::CompactString;

use crate::authz::Attributes;
use crate::record::{FieldRequirement, RequestUri, UserInfo};

/// The path of a `requestURI` (up to a `?` or `#`) and, after a `?`, its query: the rest of
/// the text, fragment included ([`QueryPairs`] stops at the `#`).
fn split_request_uri(uri: &str) -> (&str, Option<&str>) {
    // A SIMD search: the path is most of a kubelet's URI, and a byte-at-a-time loop over it
    // was a tenth of the URI's parse.
    let path_len = memchr::memchr2(b'?', b'#', uri.as_bytes()).unwrap_or(uri.len());
    let (path, rest) = uri.split_at(path_len);
    (path, rest.strip_prefix('?'))
}

/// The `key[=value]` pairs of `query`, split on `&` up to a `#` (which ends the query): a key
/// runs to the first `=`, `&` or `#`, and a value, after that `=`, to the next `&` or `#`.
///
/// The separators of 64 bytes at a time are found at once ([`separator_mask`]). On the 100 MB
/// benchmark log, a parser that took each key and value byte by byte (nom's `take_till`) cost
/// about a hundred instructions more a kubelet request; memchr's iterator over the three
/// separators cost more still (about 140 instructions at each pair of a query). The tests keep
/// nom's grammar as the reference.
struct QueryPairs<'q> {
    query: &'q str,
    /// Where the block of `separators` starts.
    block: usize,
    /// The separators of that block not yet taken, by bit.
    separators: u64,
    /// Where the next pair starts; `None` once the query has ended.
    start: Option<usize>,
}

impl<'q> QueryPairs<'q> {
    fn new(query: &'q str) -> Self {
        let bytes = query.as_bytes();
        QueryPairs {
            query,
            block: 0,
            separators: separator_mask(&bytes[..bytes.len().min(64)]),
            start: Some(0),
        }
    }

    /// The next separator, if any.
    #[inline]
    fn next_separator(&mut self) -> Option<usize> {
        let bytes = self.query.as_bytes();
        while self.separators == 0 {
            self.block += 64;
            let block = bytes.get(self.block..)?;
            self.separators = separator_mask(&block[..block.len().min(64)]);
        }
        let at = self.block + self.separators.trailing_zeros() as usize;
        self.separators &= self.separators - 1;
        Some(at)
    }
}

impl<'q> Iterator for QueryPairs<'q> {
    type Item = (&'q str, Option<&'q str>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let from = self.start?;
        let mut equals = None;
        let end = loop {
            match self.next_separator() {
                Some(at) => match self.query.as_bytes()[at] {
                    b'=' => {
                        // Later ones are part of the value.
                        equals.get_or_insert(at);
                    }
                    b'&' => {
                        self.start = Some(at + 1);
                        break at;
                    }
                    _ => {
                        self.start = None;
                        break at;
                    }
                },
                None => {
                    self.start = None;
                    break self.query.len();
                }
            }
        };
        // Every separator is ASCII, so each cut is on a character boundary of `query`.
        let query = self.query;
        Some(match equals {
            Some(eq) => (&query[from..eq], Some(&query[eq + 1..end])),
            None => (&query[from..end], None),
        })
    }
}

/// Bit `i` set when byte `i` of `block` (at most 64 bytes) is `&`, `=` or `#`.
#[inline]
fn separator_mask(block: &[u8]) -> u64 {
    debug_assert!(block.len() <= 64);
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: the build's target has SSE2 (the cfg checks it; it is part of the x86-64
        // baseline), so every processor the binary runs on has it.
        unsafe { separator_mask_sse2(block) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    separator_mask_bytes(block, 0)
}

/// [`separator_mask`] of `block`'s bytes one by one, from its byte `from` on.
fn separator_mask_bytes(block: &[u8], from: usize) -> u64 {
    block
        .iter()
        .enumerate()
        .skip(from)
        .filter(|(_, &c)| matches!(c, b'&' | b'=' | b'#'))
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// [`separator_mask`] by 16-byte parts, then byte by byte.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn separator_mask_sse2(block: &[u8]) -> u64 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
    };
    let mut mask = 0;
    let mut parts = block.chunks_exact(16);
    for (i, part) in (&mut parts).enumerate() {
        let (low, high) = part.split_at(8);
        let word = |half: &[u8]| i64::from_le_bytes(half.try_into().unwrap_or_default());
        let v = _mm_set_epi64x(word(high), word(low));
        let is = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
        let separators = _mm_or_si128(_mm_or_si128(is(b'&'), is(b'=')), is(b'#'));
        // Only the low sixteen bits of the `i32` can be set.
        let bits = u64::from(_mm_movemask_epi8(separators) as u32);
        mask |= bits << (16 * i);
    }
    mask | separator_mask_bytes(block, block.len() - parts.remainder().len())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s`; `plus_is_space` for query components (Go's `QueryUnescape`). An
/// invalid escape is kept literally: the apiserver would have rejected such a URI, and the
/// log line is still worth reading.
///
/// Inlined up to the look for an escape: most strings have none (a kubelet's URI has five
/// or so query keys and values, each decoded), and the call itself cost as much as the look.
#[inline]
pub fn percent_decode(s: &str, plus_is_space: bool) -> Cow<'_, str> {
    let escaped = if plus_is_space {
        has_either(s.as_bytes(), b'%', b'+')
    } else {
        has_either(s.as_bytes(), b'%', b'%')
    };
    if !escaped {
        return Cow::Borrowed(s);
    }
    Cow::Owned(decode_escaped(s, plus_is_space))
}

/// [`percent_decode`] of a string with an escape in it. The text between escapes is copied
/// a run at a time: byte by byte, each push checked for room, a kubelet's field selector
/// (`metadata.name%3Dname`) took some 560 instructions to decode, and takes 310 now.
#[inline(never)]
fn decode_escaped(s: &str, plus_is_space: bool) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    loop {
        let next = if plus_is_space {
            memchr::memchr2(b'%', b'+', rest)
        } else {
            memchr::memchr(b'%', rest)
        };
        let Some(at) = next else {
            out.extend_from_slice(rest);
            break;
        };
        out.extend_from_slice(&rest[..at]);
        let escape = &rest[at..];
        let (decoded, len) = match escape {
            [b'+', ..] => (b' ', 1),
            [b'%', h, l, ..] => match (hex(*h), hex(*l)) {
                (Some(h), Some(l)) => (h << 4 | l, 3),
                _ => (b'%', 1),
            },
            _ => (b'%', 1),
        };
        out.push(decoded);
        rest = &escape[len..];
    }
    // Decoded bytes that are not UTF-8 are replaced (U+FFFD); valid ones (nearly all) are
    // taken as they are, without a second copy.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Whether `b` holds the byte `x` or `y`. Most strings asked about are a query's short keys
/// and values, where setting up a SIMD search cost more than a plain loop; long ones (paths,
/// selectors) get the SIMD search.
fn has_either(b: &[u8], x: u8, y: u8) -> bool {
    if b.len() < 32 {
        b.iter().any(|&c| c == x || c == y)
    } else {
        memchr::memchr2(x, y, b).is_some()
    }
}

/// Parses a `requestURI` (path plus query). Never fails: unknown parameters are ignored and
/// the first occurrence of a repeated parameter wins, as Go's `url.Values.Get` does.
pub fn parse_request_uri(s: &str) -> RequestUri {
    let parts = request_uri_parts(s);
    let owned = |v: Option<Cow<'_, str>>| v.map(|v| CompactString::from(&*v));
    RequestUri {
        path: CompactString::from(&*parts.path),
        field_selector: owned(parts.field_selector),
        label_selector: owned(parts.label_selector),
        watch: parts.watch,
        resource_version: owned(parts.resource_version),
        limit: parts.limit,
    }
}

/// A [`RequestUri`] that borrows what needed no decoding from the URI it was parsed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RequestUriParts<'a> {
    /// See [`RequestUri::path`].
    pub path: Cow<'a, str>,
    /// See [`RequestUri::field_selector`].
    pub field_selector: Option<Cow<'a, str>>,
    /// See [`RequestUri::label_selector`].
    pub label_selector: Option<Cow<'a, str>>,
    /// See [`RequestUri::watch`].
    pub watch: bool,
    /// See [`RequestUri::resource_version`].
    pub resource_version: Option<Cow<'a, str>>,
    /// See [`RequestUri::limit`].
    pub limit: Option<u64>,
}

impl RequestUri {
    /// The parts, borrowed.
    pub(crate) fn parts(&self) -> RequestUriParts<'_> {
        fn borrowed(v: &Option<CompactString>) -> Option<Cow<'_, str>> {
            v.as_deref().map(Cow::Borrowed)
        }
        RequestUriParts {
            path: Cow::Borrowed(&self.path),
            field_selector: borrowed(&self.field_selector),
            label_selector: borrowed(&self.label_selector),
            watch: self.watch,
            resource_version: borrowed(&self.resource_version),
            limit: self.limit,
        }
    }
}

/// [`parse_request_uri`], borrowing from `s` (a kubelet request encoded straight from its
/// event needs no owned copy).
pub(crate) fn request_uri_parts(s: &str) -> RequestUriParts<'_> {
    let (path, query) = split_request_uri(s);
    let mut uri = RequestUriParts {
        path: percent_decode(path, false),
        ..RequestUriParts::default()
    };
    // Parameters whose first value may parse to nothing: a later one must not stand in for it.
    let (mut seen_watch, mut seen_limit) = (false, false);
    let Some(query) = query else {
        return uri;
    };
    for (key, value) in QueryPairs::new(query) {
        // Only the values of the parameters read are decoded (most are `timeout`s).
        let value = || percent_decode(value.unwrap_or(""), true);
        // Whether `name` is a parameter read here and not read before (and reads it).
        let mut read = |name: &str| {
            match name {
                "fieldSelector" if uri.field_selector.is_none() => {
                    uri.field_selector = Some(value())
                }
                "labelSelector" if uri.label_selector.is_none() => {
                    uri.label_selector = Some(value())
                }
                "resourceVersion" if uri.resource_version.is_none() => {
                    uri.resource_version = Some(value())
                }
                "limit" if !seen_limit => {
                    seen_limit = true;
                    uri.limit = value().parse().ok();
                }
                // Like the request-info resolver: any value but "false" or "0" means watch.
                "watch" if !seen_watch => {
                    seen_watch = true;
                    let value = value();
                    uri.watch = !(value.eq_ignore_ascii_case("false") || value == "0");
                }
                _ => return false,
            }
            true
        };
        // The names read have no escape, so a name is read as written first, and only one
        // read by none is looked at for escapes and read again decoded.
        if !read(key) {
            if let Cow::Owned(name) = percent_decode(key, true) {
                read(&name);
            }
        }
    }
    uri
}

/// Splits a field selector on unescaped commas (`k8s.io/apimachinery/pkg/fields.splitTerms`).
fn split_terms(selector: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in selector.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// Removes the `\\`, `\,` and `\=` escapes of a selector value; any other escape, a trailing
/// backslash or an unescaped `,`/`=` is an error, as upstream.
fn unescape_value(s: &str) -> Option<CompactString> {
    if memchr::memchr3(b'\\', b',', b'=', s.as_bytes()).is_none() {
        return Some(s.into());
    }
    let mut out = CompactString::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return None;
            }
            out.push(c);
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => return None,
            _ => out.push(c),
        }
    }
    (!in_slash).then_some(out)
}

/// Parses a `fieldSelector` the way `fields.ParseSelector` does: terms sorted, each split at
/// its first `!=`, `==` or `=`. `None` when the selector does not parse.
///
/// A selector of one term (`metadata.name=<name>`, `spec.nodeName=<node>`: nearly every one
/// a kubelet sends) is read without gathering and sorting its terms, and the searches are
/// memchr's: with byte loops and a list of one term, a selector took about 750 instructions
/// (its allocations included), against 435 now.
pub fn parse_field_selector(selector: &str) -> Option<Vec<FieldRequirement>> {
    if selector.is_empty() {
        return Some(Vec::new());
    }
    if memchr::memchr(b',', selector.as_bytes()).is_none() {
        return Some(vec![parse_term(selector)?]);
    }
    let mut terms = split_terms(selector);
    terms.sort_unstable();
    terms
        .into_iter()
        .filter(|t| !t.is_empty())
        .map(parse_term)
        .collect()
}

/// One term of a field selector, split at its operator ([`split_term`]).
fn parse_term(term: &str) -> Option<FieldRequirement> {
    let (i, op) = split_term(term)?;
    Some(FieldRequirement {
        field: term[..i].into(),
        equals: op != "!=",
        value: unescape_value(&term[i + op.len()..])?,
    })
}

/// Where `term` splits (`fields.splitTerm`): at the first place one of `!=`, `==` and `=`
/// starts, trying them in that order. The operators are ASCII, so a byte search finds the
/// same place as upstream's walk over runes.
fn split_term(term: &str) -> Option<(usize, &'static str)> {
    let b = term.as_bytes();
    let mut from = 0;
    loop {
        let i = from + memchr::memchr2(b'=', b'!', &b[from..])?;
        match &b[i..] {
            [b'!', b'=', ..] => return Some((i, "!=")),
            [b'=', b'=', ..] => return Some((i, "==")),
            [b'=', ..] => return Some((i, "=")),
            // A `!` that starts no operator.
            _ => from = i + 1,
        }
    }
}

/// `path.IsValidPathSegmentName`: the name could have been a path segment.
fn valid_path_segment_name(name: &str) -> bool {
    name != "." && name != ".." && !name.contains('/') && !name.contains('%')
}

/// The parts of a request path, borrowed, as the request-info resolver splits them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathInfo<'a> {
    /// False for non-resource paths (`/healthz`, discovery, ...).
    pub resource_request: bool,
    /// API group; empty for the core group.
    pub api_group: &'a str,
    /// API version.
    pub api_version: &'a str,
    /// Namespace; empty for cluster-scoped requests.
    pub namespace: &'a str,
    /// Resource (plural).
    pub resource: &'a str,
    /// Object name from the path; empty for collections.
    pub name: &'a str,
    /// Subresource (`status`, `binding`, ...).
    pub subresource: &'a str,
    /// The legacy `/watch/` or `/proxy/` prefix was used.
    pub legacy_prefix: bool,
}

/// Splits a (decoded) request path: resource vs non-resource, `/api` vs `/apis/<group>`,
/// `namespaces/<ns>/…`, name, subresource, legacy `/watch/` and `/proxy/` prefixes.
pub fn resolve_path(path: &str) -> PathInfo<'_> {
    let mut info = PathInfo::default();
    let trimmed = path.trim_matches('/');
    // The deepest segment read is the subresource of `/apis/<g>/<v>/watch/namespaces/<ns>/<r>/<n>/<sub>`.
    let (parts, n) = first_segments(trimmed);
    let parts = &parts[..if trimmed.is_empty() { 0 } else { n }];
    if parts.len() < 3 {
        return info;
    }
    let mut rest: &[&str] = match parts[0] {
        "api" => &parts[1..],
        "apis" if parts.len() >= 4 => {
            info.api_group = parts[1];
            &parts[2..]
        }
        _ => return info,
    };
    info.api_version = rest[0];
    rest = &rest[1..];
    let mut no_subresource = false;
    if let Some(&prefix @ ("watch" | "proxy")) = rest.first() {
        if rest.len() < 2 {
            // Upstream errors out here ("unable to determine kind and namespace"); the
            // request was refused before authorization, so there is nothing more to say.
            return PathInfo {
                api_group: info.api_group,
                api_version: info.api_version,
                resource_request: true,
                ..PathInfo::default()
            };
        }
        info.legacy_prefix = true;
        no_subresource = prefix == "proxy";
        rest = &rest[1..];
    }
    info.resource_request = true;
    if rest.first() == Some(&"namespaces") {
        if let Some(ns) = rest.get(1) {
            info.namespace = ns;
            // `namespaces/<ns>/status` and `/finalize` are subresources of the namespace.
            if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
                rest = &rest[2..];
            }
        }
    }
    info.resource = rest.first().copied().unwrap_or("");
    info.name = rest.get(1).copied().unwrap_or("");
    if !no_subresource {
        info.subresource = rest.get(2).copied().unwrap_or("");
    }
    info
}

/// The first nine `/`-separated segments of `path`, as `path.split('/').take(9)` gives them,
/// and how many there are.
///
/// The separators are found 64 bytes at a time ([`slash_mask`]), then taken bit by bit:
/// `str::split('/')` searched for each afresh, and so did `memchr_iter`, whose every call
/// (six a path, most of its segments a few bytes long) cost some 50 instructions; a loop over
/// the bytes cost several instructions a byte. A `/` is ASCII, so every cut is on a character
/// boundary.
fn first_segments(path: &str) -> ([&str; 9], usize) {
    let mut parts = [""; 9];
    let mut n = 0;
    let mut start = 0;
    for (block, bytes) in path.as_bytes().chunks(64).enumerate() {
        let mut slashes = slash_mask(bytes);
        while slashes != 0 {
            let at = block * 64 + slashes.trailing_zeros() as usize;
            slashes &= slashes - 1;
            parts[n] = &path[start..at];
            n += 1;
            start = at + 1;
            if n == parts.len() {
                return (parts, n);
            }
        }
    }
    parts[n] = &path[start..];
    (parts, n + 1)
}

/// Bit `i` set when byte `i` of `bytes` (at most 64) is `/`: eight bytes at a time, each
/// compared whole (a byte is `/` when it is zero after an XOR with `/`; the test for a zero
/// byte is the exact one, which no neighbouring byte can set off), and the eight results
/// gathered into a byte by one multiplication.
fn slash_mask(bytes: &[u8]) -> u64 {
    const SLASHES: u64 = u64::from_ne_bytes([b'/'; 8]);
    const LOW_SEVEN: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    /// Moves bit `8k` of a word to bit `56 + k`, for every `k` at once (no two products
    /// meet, so nothing carries).
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let slashes_in = |word: [u8; 8]| {
        let v = u64::from_le_bytes(word) ^ SLASHES;
        // The high bit of each byte of `v` that is zero, and of no other.
        let zero = !(((v & LOW_SEVEN) + LOW_SEVEN) | v | LOW_SEVEN);
        (zero >> 7).wrapping_mul(GATHER) >> 56
    };
    debug_assert!(bytes.len() <= 64);
    let mut mask = 0;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    for (i, word) in words.enumerate() {
        // Whole words are loaded as they are; copying each into a zeroed word was a call
        // of `memcpy` (its length unknown to the compiler).
        mask |= slashes_in(word.try_into().unwrap_or_default()) << (8 * i);
    }
    if !tail.is_empty() {
        // Past the text's end the word is zero, which is no `/`.
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        mask |= slashes_in(word) << (8 * (bytes.len() / 8));
    }
    mask
}

/// Recomputes the authorizer's view of a request from its verb, parsed URI and (effective)
/// user, as spec section 1 describes the apiserver's request-info resolver.
///
/// `verb` is the audit event's verb (already `list`/`watch`/`deletecollection` where those
/// apply, or the lower-cased HTTP method for non-resource requests). Field requirements are
/// filled only where the apiserver gives them to authorizers: verbs `list`, `watch` and
/// `deletecollection`, never with a legacy `/watch/` or `/proxy/` prefix. Whether the
/// `AuthorizeWithSelectors` gate is on is the model's question, not the parser's.
pub fn request_attributes(verb: &str, uri: &RequestUri, user: &UserInfo) -> Attributes {
    attributes_with(
        verb,
        uri,
        uri.path.clone(),
        user.username.clone(),
        user.groups.clone(),
    )
}

/// [`request_attributes`] that takes the path out of `uri` and the name and groups out of
/// `user` (they are left empty) instead of copying them, for a caller done with them: the
/// copies (a path is seldom short enough to be kept inline, and the groups are a list) were
/// made only to free the originals a little later.
pub fn request_attributes_taking(
    verb: &str,
    uri: &mut RequestUri,
    user: &mut UserInfo,
) -> Attributes {
    let path = std::mem::take(&mut uri.path);
    let username = std::mem::take(&mut user.username);
    let groups = std::mem::take(&mut user.groups);
    attributes_with(verb, uri, path, username, groups)
}

/// The attributes of a request on `path` (`uri`'s, which `uri` may no longer hold) by the
/// user `username` of `groups`.
fn attributes_with(
    verb: &str,
    uri: &RequestUri,
    path: CompactString,
    username: CompactString,
    groups: Vec<CompactString>,
) -> Attributes {
    let p = resolve_path(&path);
    let mut a = Attributes {
        username,
        groups,
        resource_request: p.resource_request,
        verb: verb.into(),
        api_group: p.api_group.into(),
        api_version: p.api_version.into(),
        resource: p.resource.into(),
        subresource: p.subresource.into(),
        namespace: p.namespace.into(),
        name: p.name.into(),
        field_requirements: Vec::new(),
        legacy_prefix: p.legacy_prefix,
        // Last: the fields above are read from it.
        path,
    };
    if !a.resource_request {
        return a;
    }
    let selectors_apply = !a.legacy_prefix && matches!(verb, "list" | "watch" | "deletecollection");
    let requirements = match (&uri.field_selector, selectors_apply) {
        (Some(sel), true) => parse_field_selector(sel).unwrap_or_default(),
        _ => Vec::new(),
    };
    // The resolver names a list/watch after an exact `metadata.name` requirement; a
    // `/watch/` prefix sets the verb before that step, so it never gets one.
    if a.name.is_empty() && !a.legacy_prefix && matches!(verb, "list" | "watch") {
        if let Some(r) = requirements
            .iter()
            .find(|r| r.field == "metadata.name" && r.equals)
        {
            if valid_path_segment_name(&r.value) {
                a.name = r.value.clone();
            }
        }
    }
    a.field_requirements = requirements;
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(verb: &str, uri: &str) -> Attributes {
        let user = UserInfo {
            username: "system:node:n1".into(),
            groups: vec!["system:nodes".into()],
            extra: vec![],
        };
        request_attributes(verb, &parse_request_uri(uri), &user)
    }

    fn req(field: &str, equals: bool, value: &str) -> FieldRequirement {
        FieldRequirement {
            field: field.into(),
            equals,
            value: value.into(),
        }
    }

    #[test]
    fn parses_query_with_percent_decoding() {
        let u = parse_request_uri(
            "/api/v1/namespaces/kube-system/secrets?fieldSelector=metadata.name%3Dtok%2Cen&labelSelector=a+b%3Dc&limit=500&resourceVersion=0&watch=true",
        );
        assert_eq!(u.path, "/api/v1/namespaces/kube-system/secrets");
        assert_eq!(u.field_selector.as_deref(), Some("metadata.name=tok,en"));
        assert_eq!(u.label_selector.as_deref(), Some("a b=c"));
        assert_eq!(u.limit, Some(500));
        assert_eq!(u.resource_version.as_deref(), Some("0"));
        assert!(u.watch);
        let u = parse_request_uri("/api/v1/pods?watch=0&watch=1");
        assert!(!u.watch);
        // A parameter's name may be escaped too; the first one given, escaped or not, counts.
        let u = parse_request_uri(
            "/api/v1/pods?lim%69t=5&limit=7&w%61tch=false&watch=true&field%53elector=a%3Db\
             &label+Selector=x&labelSelector=c%3Dd&resource%56ersion=9&resourceVersion=8",
        );
        assert_eq!(u.limit, Some(5));
        assert!(!u.watch);
        assert_eq!(u.field_selector.as_deref(), Some("a=b"));
        assert_eq!(u.label_selector.as_deref(), Some("c=d"));
        assert_eq!(u.resource_version.as_deref(), Some("9"));
        // "false" in any case is no watch; any other value is one.
        for (value, watch) in [
            ("FALSE", false),
            ("False", false),
            ("false", false),
            ("fals", true),
            ("00", true),
            ("", true),
            ("F%41LSE", false),
        ] {
            let uri = format!("/api/v1/pods?watch={value}");
            assert_eq!(parse_request_uri(&uri).watch, watch, "{uri}");
        }
        let u = parse_request_uri("/api/v1/na%6Des%2Fx?bad=%zz");
        assert_eq!(u.path, "/api/v1/names/x");
        assert_eq!(parse_request_uri("/healthz").path, "/healthz");
    }

    /// The selector's parse as it was first written, byte by byte: the reference
    /// [`parse_field_selector`] must match.
    fn parse_field_selector_byte_by_byte(selector: &str) -> Option<Vec<FieldRequirement>> {
        if selector.is_empty() {
            return Some(Vec::new());
        }
        let mut terms = split_terms(selector);
        terms.sort_unstable();
        let mut reqs = Vec::new();
        for term in terms.into_iter().filter(|t| !t.is_empty()) {
            let b = term.as_bytes();
            let i = (0..b.len()).find(|&i| b[i] == b'=' || b[i..].starts_with(b"!="))?;
            let op = match &b[i..] {
                [b'!', ..] => "!=",
                [b'=', b'=', ..] => "==",
                _ => "=",
            };
            let mut value = CompactString::default();
            let mut in_slash = false;
            for c in term[i + op.len()..].chars() {
                match (in_slash, c) {
                    (true, '\\' | ',' | '=') => {
                        value.push(c);
                        in_slash = false;
                    }
                    (true, _) | (false, ',' | '=') => return None,
                    (false, '\\') => in_slash = true,
                    (false, _) => value.push(c),
                }
            }
            if in_slash {
                return None;
            }
            reqs.push(FieldRequirement {
                field: term[..i].into(),
                equals: op != "!=",
                value,
            });
        }
        Some(reqs)
    }

    proptest::proptest! {
        /// Terms with every operator, a `!` that starts none, escapes whole and cut, empty
        /// terms and non-ASCII text.
        #[test]
        fn the_field_selector_parses_as_byte_by_byte(
            selector in "([a-z.]{0,6}|[=!,]|\\\\[=,\\\\x]?|é){0,10}",
        ) {
            proptest::prop_assert_eq!(
                parse_field_selector(&selector),
                parse_field_selector_byte_by_byte(&selector)
            );
        }
    }

    #[test]
    fn field_selector_grammar() {
        assert_eq!(
            parse_field_selector("spec.nodeName=n1,metadata.name!=x"),
            Some(vec![
                req("metadata.name", false, "x"),
                req("spec.nodeName", true, "n1")
            ])
        );
        assert_eq!(
            parse_field_selector("a==b"),
            Some(vec![req("a", true, "b")])
        );
        assert_eq!(
            parse_field_selector(r"a=b\,c"),
            Some(vec![req("a", true, "b,c")])
        );
        assert_eq!(
            parse_field_selector(r"a=b\=c\\"),
            Some(vec![req("a", true, r"b=c\")])
        );
        assert_eq!(
            parse_field_selector("a=b,"),
            Some(vec![req("a", true, "b")])
        );
        assert_eq!(parse_field_selector(""), Some(vec![]));
        assert_eq!(parse_field_selector("a"), None);
        assert_eq!(parse_field_selector("a=b=c"), None);
        assert_eq!(parse_field_selector(r"a=b\x"), None);
        assert_eq!(parse_field_selector(r"a=b\"), None);
        // A `!` that starts no `!=` is part of the field; the first operator found wins, and
        // `!=` is tried before `==` and `=` at each place.
        assert_eq!(
            parse_field_selector("a!b=c"),
            Some(vec![req("a!b", true, "c")])
        );
        assert_eq!(
            parse_field_selector("é!==x"),
            None,
            "`!=` then a value `=x` with an unescaped `=`"
        );
        assert_eq!(
            parse_field_selector("é!=x"),
            Some(vec![req("é", false, "x")])
        );
        assert_eq!(parse_field_selector("=x"), Some(vec![req("", true, "x")]));
        assert_eq!(parse_field_selector("a!"), None);
    }

    /// The decoding as it was first written, byte by byte: the reference [`decode_escaped`]
    /// must match.
    fn decode_byte_by_byte(s: &str, plus_is_space: bool) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'%' => match (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                },
                b'+' if plus_is_space => out.push(b' '),
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    proptest::proptest! {
        /// Escapes whole, cut short, with bad digits, at either end, next to each other and to
        /// non-ASCII text.
        #[test]
        fn run_copies_decode_as_byte_by_byte(
            s in "([%+]|%[0-9a-fA-F]{0,2}|%[g-z]|[a-z=.]{0,40}|é|\u{10FFFF}){0,12}",
            plus_is_space: bool,
        ) {
            proptest::prop_assert_eq!(
                decode_escaped(&s, plus_is_space),
                decode_byte_by_byte(&s, plus_is_space)
            );
        }
    }

    #[test]
    fn percent_decoding_of_short_and_long_strings() {
        // Both sides of the length at which the search for escapes changes.
        for pad in [0, 40] {
            let p = "x".repeat(pad);
            assert_eq!(
                percent_decode(&format!("{p}a%2Fb+c"), true),
                format!("{p}a/b c")
            );
            assert_eq!(
                percent_decode(&format!("{p}a%2Fb+c"), false),
                format!("{p}a/b+c")
            );
            assert!(matches!(
                percent_decode(&format!("{p}ab+c"), false),
                Cow::Borrowed(_)
            ));
            assert!(matches!(
                percent_decode(&format!("{p}abc"), true),
                Cow::Borrowed(_)
            ));
            // `+` alone, in a short and a long string.
            assert_eq!(percent_decode(&format!("{p}a+b"), true), format!("{p}a b"));
            // Decoded bytes that are not UTF-8 are replaced.
            assert_eq!(
                percent_decode(&format!("{p}%FF"), false),
                format!("{p}\u{fffd}")
            );
        }
    }

    #[test]
    fn resource_paths() {
        let a = attrs("get", "/api/v1/namespaces/ns1/pods/web-1/status");
        assert!(a.resource_request);
        assert_eq!(
            (
                a.api_group.as_str(),
                a.api_version.as_str(),
                a.resource.as_str(),
                a.subresource.as_str()
            ),
            ("", "v1", "pods", "status")
        );
        assert_eq!((a.namespace.as_str(), a.name.as_str()), ("ns1", "web-1"));
        assert_eq!(a.username, "system:node:n1");

        let a = attrs(
            "update",
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1?timeout=10s",
        );
        assert_eq!(
            (a.api_group.as_str(), a.resource.as_str(), a.name.as_str()),
            ("coordination.k8s.io", "leases", "n1")
        );

        let a = attrs("get", "/api/v1/nodes/n1");
        assert_eq!(
            (a.namespace.as_str(), a.resource.as_str(), a.name.as_str()),
            ("", "nodes", "n1")
        );

        let a = attrs("create", "/api/v1/namespaces/ns1/pods");
        assert_eq!((a.resource.as_str(), a.name.as_str()), ("pods", ""));

        let a = attrs(
            "create",
            "/api/v1/namespaces/ns1/serviceaccounts/default/token",
        );
        assert_eq!(
            (a.resource.as_str(), a.name.as_str(), a.subresource.as_str()),
            ("serviceaccounts", "default", "token")
        );

        let a = attrs("get", "/api/v1/namespaces/ns1");
        assert_eq!(
            (a.namespace.as_str(), a.resource.as_str(), a.name.as_str()),
            ("ns1", "namespaces", "ns1")
        );

        let a = attrs("update", "/api/v1/namespaces/ns1/finalize");
        assert_eq!(
            (a.resource.as_str(), a.name.as_str(), a.subresource.as_str()),
            ("namespaces", "ns1", "finalize")
        );
    }

    #[test]
    fn non_resource_paths() {
        for p in [
            "/healthz",
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps",
            "/apis/apps/v1",
            "/openapi/v2",
            "/version",
            "/",
        ] {
            let a = attrs("get", p);
            assert!(!a.resource_request, "{p}");
            assert_eq!(a.path, p);
            assert_eq!(a.resource, "");
        }
    }

    #[test]
    fn name_from_metadata_name_selector_for_list_and_watch_only() {
        let a = attrs(
            "watch",
            "/api/v1/namespaces/ns1/secrets?fieldSelector=metadata.name%3Dtok&watch=true",
        );
        assert_eq!(a.name, "tok");
        assert_eq!(
            a.field_requirements,
            vec![req("metadata.name", true, "tok")]
        );
        let a = attrs(
            "list",
            "/api/v1/namespaces/ns1/configmaps?fieldSelector=metadata.name%3D%3Dcm",
        );
        assert_eq!(a.name, "cm");
        // NotEquals, invalid path segment, deletecollection: no name.
        assert_eq!(
            attrs("list", "/api/v1/secrets?fieldSelector=metadata.name!%3Dtok").name,
            ""
        );
        assert_eq!(
            attrs(
                "list",
                "/api/v1/secrets?fieldSelector=metadata.name%3Da%252Fb"
            )
            .name,
            ""
        );
        let a = attrs(
            "deletecollection",
            "/api/v1/namespaces/ns1/pods?fieldSelector=metadata.name%3Dp",
        );
        assert_eq!(a.name, "");
        assert_eq!(a.field_requirements, vec![req("metadata.name", true, "p")]);
        // Not a list/watch verb: selectors are not given to authorizers.
        assert!(
            attrs("get", "/api/v1/namespaces/ns1/pods/p?fieldSelector=a%3Db")
                .field_requirements
                .is_empty()
        );
        // A selector that does not parse yields no requirements and no name.
        let a = attrs("list", "/api/v1/pods?fieldSelector=spec.nodeName");
        assert!(a.field_requirements.is_empty());
    }

    #[test]
    fn legacy_prefixes() {
        let a = attrs(
            "watch",
            "/api/v1/watch/namespaces/ns1/secrets?fieldSelector=metadata.name%3Dtok",
        );
        assert!(a.legacy_prefix);
        assert_eq!(
            (a.namespace.as_str(), a.resource.as_str(), a.name.as_str()),
            ("ns1", "secrets", "")
        );
        assert!(a.field_requirements.is_empty());
        let a = attrs("proxy", "/api/v1/proxy/nodes/n1/stats/summary");
        assert!(a.legacy_prefix);
        assert_eq!(
            (a.resource.as_str(), a.name.as_str(), a.subresource.as_str()),
            ("nodes", "n1", "")
        );
        let a = attrs("watch", "/apis/g/v1/watch/namespaces/ns/things/t1/status");
        assert_eq!(
            (
                a.api_group.as_str(),
                a.namespace.as_str(),
                a.resource.as_str(),
                a.name.as_str(),
                a.subresource.as_str()
            ),
            ("g", "ns", "things", "t1", "status")
        );
        let a = attrs("watch", "/api/v1/watch/pods/p1/status");
        assert_eq!(
            (a.resource.as_str(), a.name.as_str(), a.subresource.as_str()),
            ("pods", "p1", "status")
        );
    }

    /// Up to 64 bytes (a block of the masks), each one of `favoured` (each as likely as any
    /// other) or any byte.
    fn block_favouring(
        favoured: &'static [u8],
    ) -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        let weight = u32::try_from(favoured.len()).unwrap_or(u32::MAX);
        proptest::collection::vec(
            proptest::prop_oneof![
                weight => proptest::sample::select(favoured),
                1 => proptest::num::u8::ANY,
            ],
            0..=64,
        )
    }

    /// Bit `i` set where byte `i` of `bytes` is one `marked` marks, read one by one.
    fn mask_where(bytes: &[u8], marked: impl Fn(u8) -> bool) -> u64 {
        (0..bytes.len())
            .filter(|&i| marked(bytes[i]))
            .fold(0, |mask, i| mask | 1 << i)
    }

    proptest::proptest! {
        // Taking the path and the user gives the attributes copying them gives, and leaves
        // them empty.
        #[test]
        fn taking_gives_the_attributes_copying_gives(
            uri in "(/apis?/[a-z.]{0,12}|/api)(/[a-z0-9%]{0,8}){0,7}(\\?(fieldSelector=metadata.name%3D[a-z]{0,4}|watch=true|&)*)?",
            verb in "(get|list|watch|create)",
        ) {
            let user = UserInfo {
                username: "system:node:a-node-name-longer-than-inline".into(),
                groups: vec!["system:nodes".into(), "system:authenticated".into()],
                extra: vec![],
            };
            let parsed = parse_request_uri(&uri);
            let copied = request_attributes(&verb, &parsed, &user);
            let (mut taken_uri, mut taken_user) = (parsed.clone(), user.clone());
            let taken = request_attributes_taking(&verb, &mut taken_uri, &mut taken_user);
            proptest::prop_assert_eq!(&taken, &copied);
            proptest::prop_assert_eq!(taken_uri.path.as_str(), "");
            proptest::prop_assert!(taken_user.username.is_empty() && taken_user.groups.is_empty());
            proptest::prop_assert_eq!(
                (taken_uri.field_selector, taken_uri.watch),
                (parsed.field_selector, parsed.watch)
            );
        }

        // Past 64 bytes, with the bytes next to `/` (`.` and `0`) and a character whose
        // second byte is `/` with its high bit set (`ï`, C3 AF).
        #[test]
        fn segments_are_those_of_split(path in "[a/é.0ï]{0,200}") {
            let (parts, n) = first_segments(&path);
            let split: Vec<&str> = path.split('/').take(9).collect();
            proptest::prop_assert_eq!(&parts[..n], &split[..]);
        }

        // Any bytes, with `/` and its neighbours (`.`, `0`, and `/` with its high bit set)
        // often next to each other.
        #[test]
        fn the_mask_marks_every_slash_and_nothing_else(
            bytes in block_favouring(&[b'/', b'.', b'0', 0xaf]),
        ) {
            proptest::prop_assert_eq!(slash_mask(&bytes), mask_where(&bytes, |b| b == b'/'));
        }
    }

    /// The grammar as nom's combinators write it, over `&str`, with `separated_list0`: the
    /// search for separators must split every URI the same way.
    fn reference_split(i: &str) -> (&str, Vec<(&str, Option<&str>)>) {
        use nom::bytes::complete::take_till;
        use nom::character::complete::char;
        use nom::combinator::opt;
        use nom::multi::separated_list0;
        use nom::sequence::preceded;
        use nom::{IResult, Parser};
        fn pair(i: &str) -> IResult<&str, (&str, Option<&str>)> {
            (
                take_till(|c| c == '=' || c == '&' || c == '#'),
                opt(preceded(char('='), take_till(|c| c == '&' || c == '#'))),
            )
                .parse(i)
        }
        let parsed: IResult<&str, _> = (
            take_till(|c| c == '?' || c == '#'),
            nom::combinator::map(
                opt(preceded(char('?'), separated_list0(char('&'), pair))),
                Option::unwrap_or_default,
            ),
        )
            .parse(i);
        parsed.expect("the reference grammar takes any text").1
    }

    fn split(uri: &str) -> (&str, Vec<(&str, Option<&str>)>) {
        let (path, query) = split_request_uri(uri);
        (
            path,
            query.map(QueryPairs::new).into_iter().flatten().collect(),
        )
    }

    #[test]
    fn the_first_limit_wins_even_when_it_is_no_number() {
        assert_eq!(
            parse_request_uri("/api/v1/pods?limit=x&limit=5").limit,
            None
        );
        assert_eq!(
            parse_request_uri("/api/v1/pods?limit=7&limit=5").limit,
            Some(7)
        );
    }

    #[test]
    fn query_splits() {
        assert_eq!(
            split("/api/v1/pods?watch=1&fieldSelector=a%3Db=c&&x#f&y=2"),
            (
                "/api/v1/pods",
                vec![
                    ("watch", Some("1")),
                    ("fieldSelector", Some("a%3Db=c")),
                    ("", None),
                    ("x", None)
                ]
            )
        );
        assert_eq!(split("/p?"), ("/p", vec![("", None)]));
        assert_eq!(split("/p#a?b=c"), ("/p", vec![]));
        assert_eq!(split("/é?ü=ß"), ("/é", vec![("ü", Some("ß"))]));
    }

    proptest::proptest! {
        /// Also queries of several 64-byte blocks, some of them without a separator.
        #[test]
        fn the_separator_search_splits_as_the_grammar(
            uri in "[a/?&=#%é+]{0,40}|[a?&=#é]{0,200}|(a{0,70}[?&=#é]){0,6}"
        ) {
            proptest::prop_assert_eq!(split(&uri), reference_split(&uri));
        }

        #[test]
        fn separator_masks_are_the_bytes_ones(block in block_favouring(b"&=#")) {
            let expected = mask_where(&block, |c| matches!(c, b'&' | b'=' | b'#'));
            proptest::prop_assert_eq!(separator_mask(&block), expected);
        }
    }
}
