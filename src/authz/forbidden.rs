//! The messages of refused requests, as the apiserver writes them into the Status it returns:
//! the authorization 403 (spec section 2), the Forbidden wrapping of admission refusals and
//! the NotFound errors of listers (spec section 10 preamble). One place for all three.

use super::goquote::push_go_quoted;
use super::Attributes;

/// `<resource>[.<group>]`, as apimachinery's `GroupResource.String()`.
fn push_group_resource(out: &mut String, resource: &str, group: &str) {
    out.push_str(resource);
    if !group.is_empty() {
        out.push('.');
        out.push_str(group);
    }
}

/// apimachinery's `NewForbidden(groupResource, name, err).Error()`:
/// `forbidden: <text>` when resource and group are both empty,
/// `<resource>[.<group>] is forbidden: <text>` without a name,
/// `<resource>[.<group>] "<name>" is forbidden: <text>` otherwise.
pub fn wrap_forbidden(resource: &str, group: &str, name: &str, text: &str) -> String {
    let mut out = String::with_capacity(resource.len() + name.len() + text.len() + 32);
    if resource.is_empty() && group.is_empty() {
        out.push_str("forbidden: ");
    } else {
        push_group_resource(&mut out, resource, group);
        if !name.is_empty() {
            out.push(' ');
            push_go_quoted(&mut out, name);
        }
        out.push_str(" is forbidden: ");
    }
    out.push_str(text);
    out
}

/// apimachinery's `NewNotFound(groupResource, name).Error()`: `<resource>[.<group>] "<name>" not found`.
/// Listers name the resource in the singular (`pod "db" not found`); storage uses the plural.
pub fn not_found(resource: &str, group: &str, name: &str) -> String {
    let mut out = String::with_capacity(resource.len() + name.len() + 16);
    push_group_resource(&mut out, resource, group);
    out.push(' ');
    push_go_quoted(&mut out, name);
    out.push_str(" not found");
    out
}

/// The inner part of the authorization 403 (`forbiddenMessage` in the apiserver), before
/// HTML-escaping.
fn authorization_inner(attrs: &Attributes) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("User ");
    push_go_quoted(&mut out, &attrs.username);
    out.push_str(" cannot ");
    out.push_str(&attrs.verb);
    if !attrs.resource_request {
        out.push_str(" path ");
        push_go_quoted(&mut out, &attrs.path);
        return out;
    }
    out.push_str(" resource ");
    if attrs.subresource.is_empty() {
        push_go_quoted(&mut out, &attrs.resource);
    } else {
        push_go_quoted(
            &mut out,
            &format!("{}/{}", attrs.resource, attrs.subresource),
        );
    }
    out.push_str(" in API group ");
    push_go_quoted(&mut out, &attrs.api_group);
    if attrs.namespace.is_empty() {
        out.push_str(" at the cluster scope");
    } else {
        out.push_str(" in the namespace ");
        push_go_quoted(&mut out, &attrs.namespace);
    }
    out
}

/// The `message` of the 403 Status the apiserver sends when authorization refuses a request
/// with the (joined) `reason`: the inner text is HTML-escaped (`&`, `<`, `>`), then `: <reason>`
/// is appended when the reason is non-empty, then the whole is wrapped as a Forbidden error of
/// the request's resource (without subresource) and name.
pub fn authorization_forbidden(attrs: &Attributes, reason: &str) -> String {
    let inner = authorization_inner(attrs);
    let mut text = String::with_capacity(inner.len() + reason.len() + 2);
    for c in inner.chars() {
        match c {
            '&' => text.push_str("&amp;"),
            '<' => text.push_str("&lt;"),
            '>' => text.push_str("&gt;"),
            c => text.push(c),
        }
    }
    if !reason.is_empty() {
        text.push_str(": ");
        text.push_str(reason);
    }
    if attrs.resource_request {
        wrap_forbidden(&attrs.resource, &attrs.api_group, &attrs.name, &text)
    } else {
        wrap_forbidden("", "", "", &text)
    }
}
