//! A small attribute scanner for HTML this crate produced (templates and the
//! Markdown renderer): the values of `attr="…"`, for the link checker and for the
//! ids templates reserve. Not an HTML parser: it relies on attributes being
//! written with double quotes, which both sources do.
//!
//! Shared at the bottom of the crate: it imports no other module.

/// Values of `attr="…"` in `html`, in order.
pub fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        rest = &rest[i + needle.len()..];
        if let Some(end) = rest.find('"') {
            out.push(&rest[..end]);
            rest = &rest[end..];
        }
    }
    out
}
