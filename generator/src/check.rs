//! `vitrine check`: everything a build does except writing, plus a check that
//! every internal link and anchor in the rendered HTML points at something the
//! build produces.
//!
//! Links are found with the small attribute scanner of `html`, not a full HTML
//! parser: the HTML comes from our own templates and Markdown renderer, and the
//! scanner only needs `href="/…"` and `id="…"`.
//!
//! It sits above `pipeline` (whose `prepare` and `render_all` it runs) and
//! writes nothing.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::error::{self, Diagnostic, Error};
use crate::node::Pos;
use crate::html::attr_values;
use crate::output::{Body, Output, url_to_path};
use crate::options::{BuildOptions, BuildReport};
use crate::pipeline::{self, Prepared};

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
            && i + 2 < bytes.len()
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

/// The Markdown source of each output page that has one: output path →
/// (content-relative source, body, line of the body in the file).
fn page_sources(p: &Prepared) -> HashMap<String, (&str, &str, u32)> {
    let mut m = HashMap::new();
    for e in &p.model.entries {
        m.insert(url_to_path(&e.url), (e.source.as_str(), &*e.body, e.body_line));
    }
    let home = &p.model.home;
    m.insert("index.html".into(), (home.source.as_str(), home.body.as_str(), home.body_line));
    for (c, s) in p.config.collections.iter().zip(&p.model.sections) {
        if let Some(s) = s
            && !c.path.is_empty()
        {
            m.insert(url_to_path(&c.url()), (s.source.as_str(), s.body.as_str(), s.body_line));
        }
    }
    m
}

/// Where a broken link of a page was written in its Markdown source, if it was:
/// the line and column of a `](dest)` whose destination (resolved for `@/`) is `link`.
fn link_position(body: &str, body_line: u32, link: &str, links: &HashMap<String, String>) -> Option<Pos> {
    for (i, line) in body.lines().enumerate() {
        let mut from = 0;
        while let Some(at) = line[from..].find("](") {
            let start = from + at + 2;
            let dest = line[start..].split([')', ' ']).next().unwrap_or("");
            let resolved = match dest.strip_prefix("@/") {
                Some(path) => {
                    let (file, anchor) = path.split_once('#').map(|(f, a)| (f, Some(a))).unwrap_or((path, None));
                    links.get(file).map(|u| match anchor {
                        Some(a) => format!("{u}#{a}"),
                        None => u.clone(),
                    })
                }
                None => Some(dest.to_string()),
            };
            if resolved.as_deref() == Some(link) {
                return Some(Pos { line: body_line + i as u32, col: line[..start].chars().count() as u32 + 1 });
            }
            from = start;
        }
    }
    None
}

/// Everything `vitrine build` does but writing, then the internal links and
/// anchors of every page checked; a broken one is reported where it was written.
pub fn check(opts: &BuildOptions) -> Result<BuildReport, Error> {
    let mut timings = Vec::new();
    let p = pipeline::prepare(opts, &mut timings)?;
    let outputs = pipeline::render_all(&p, false, &mut timings)?;
    let sources = page_sources(&p);
    // A link written in Markdown is reported where it was written; one that comes
    // from a template, on the page it appears in.
    let diags: Vec<Diagnostic> = broken_links(&outputs)
        .into_iter()
        .map(|(page, link)| {
            let message = format!("lien interne cassé : {link} (dans la page /{page})");
            match sources.get(&page).and_then(|(src, body, line)| Some((src, link_position(body, *line, &link, &p.model.links)?))) {
                Some((src, pos)) => Diagnostic::new(PathBuf::from("content").join(src), pos, "", message),
                None => Diagnostic::new(PathBuf::from("public").join(&page), Pos::default(), "", message),
            }
        })
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
