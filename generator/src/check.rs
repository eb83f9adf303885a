//! `vitrine check`: everything a build does except writing, plus a check that
//! every internal link and anchor in the rendered HTML points at something the
//! build produces.
//!
//! Links are found with a small attribute scanner, not a full HTML parser: the
//! HTML comes from our own templates and Markdown renderer, and the scanner
//! only needs `href="/…"` and `id="…"`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::error::{self, Diagnostic, Error};
use crate::node::Pos;
use crate::render::{Body, Output};
use crate::{BuildOptions, BuildReport};

/// Values of `attr="…"` in `html`.
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

fn html_decode(s: &str) -> String {
    s.replace("&amp;", "&").replace("&#x2F;", "/").replace("&#x27;", "'").replace("&quot;", "\"")
}

/// Broken internal links of a set of outputs, as (page path, link).
pub fn broken_links(outputs: &[Output]) -> Vec<(String, String)> {
    let paths: HashSet<&str> = outputs.iter().map(|o| o.path.as_str()).collect();
    let mut ids: HashMap<&str, HashSet<String>> = HashMap::new();
    for o in outputs {
        if let (true, Body::Bytes(b)) = (o.path.ends_with(".html"), &o.body) {
            let html = std::str::from_utf8(b).unwrap_or("");
            ids.insert(o.path.as_str(), attr_values(html, "id").into_iter().map(html_decode).collect());
        }
    }
    let mut broken = Vec::new();
    for o in outputs {
        let (true, Body::Bytes(b)) = (o.path.ends_with(".html"), &o.body) else { continue };
        let html = std::str::from_utf8(b).unwrap_or("");
        for raw in attr_values(html, "href").into_iter().chain(attr_values(html, "src")) {
            let link = html_decode(raw);
            let (target, anchor) = match link.split_once('#') {
                Some((t, a)) => (t.to_string(), Some(a.to_string())),
                None => (link.clone(), None),
            };
            let target_path = if target.is_empty() {
                o.path.clone()
            } else if target.starts_with('/') && !target.starts_with("//") {
                let t = target.split('?').next().unwrap_or("").trim_start_matches('/');
                let t = percent_decode(t);
                if t.is_empty() || t.ends_with('/') { format!("{t}index.html") } else { t }
            } else {
                continue; // external, mailto:, relative: not ours to check
            };
            if !paths.contains(target_path.as_str()) {
                // A daemon route (forms post there) is not a file of the site.
                if !["/submit/", "/moderation", "/api/", "/suivi/", "/_vitrine/"].iter().any(|p| target.starts_with(p)) {
                    broken.push((o.path.clone(), link));
                }
                continue;
            }
            if let Some(a) = anchor.filter(|a| !a.is_empty())
                && ids.get(target_path.as_str()).is_some_and(|set| !set.contains(&a))
            {
                broken.push((o.path.clone(), link));
            }
        }
    }
    broken.sort();
    broken.dedup();
    broken
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len() + 0
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn check(opts: &BuildOptions) -> Result<BuildReport, Error> {
    let mut timings = Vec::new();
    let p = crate::prepare(opts, &mut timings)?;
    let outputs = crate::render_all(&p, false, &mut timings)?;
    let diags: Vec<Diagnostic> = broken_links(&outputs)
        .into_iter()
        .map(|(page, link)| Diagnostic::new(PathBuf::from("public").join(&page), Pos::default(), "", format!("lien interne cassé : {link}")))
        .collect();
    error::check(diags)?;
    Ok(BuildReport {
        pages: outputs.iter().filter(|o| o.path.ends_with(".html")).count(),
        outputs: outputs.len(),
        warnings: p.model.warnings,
        timings,
        ..Default::default()
    })
}
