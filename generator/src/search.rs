//! Static, offline search: the built HTML pages are indexed in-process by the
//! `pagefind` library at the end of every build (and of every incremental
//! rebuild), and its bundle (index chunks, filters, the small `pagefind.js`
//! client and its WebAssembly) becomes ordinary outputs under `pagefind/`.
//!
//! - Search is on when the theme has a `search.html` template: the search page
//!   is then rendered at [`SEARCH_URL`] and `site.search` holds its URL.
//! - What is indexed, and the facets, are the theme's choice through pagefind's
//!   attributes: `data-pagefind-body` on the content of entry pages, and
//!   `data-pagefind-filter="name"` elements holding the taxonomy terms and the
//!   content type. Pages without `data-pagefind-body` (listings, term pages) are
//!   left out once any page has it.
//! - Speed: pagefind's own API parses one page at a time and gzips its files one
//!   after the other. The copy of pagefind in `vendor/pagefind` (patched, see its
//!   `VITRINE.md`) lets [`index`] parse pages in parallel (rayon), a batch at a time,
//!   and hand each batch to an index that processes the pages and lets them go (only a
//!   batch of parsed pages is held); it gzips the bundle in parallel. The index it
//!   writes is pagefind's, byte for byte.
//! - [`PageCache`]: pages already parsed, by output path and hash of their HTML,
//!   kept by `vitrine serve` and the daemon between rebuilds, so an edit re-parses
//!   only the pages whose HTML changed and gzips only the bundle files that changed.
//! - The rest of pagefind is async (tokio); a private current-thread runtime runs
//!   it, so the generator stays synchronous for its callers.
//!
//! - French elision: pagefind splits a word into parts only at ASCII punctuation,
//!   so `l'eau` is indexed as `leau` *and* `eau`, but the typographic `l’eau` the
//!   typography stage writes only as `leau`, and "eau" missed it. [`for_index`]
//!   turns an apostrophe between two letters (’ or ʼ) into `'` in the copy of the
//!   page given to pagefind (text only: never tags, attributes, scripts, nor the
//!   text of `data-pagefind-filter`/`-meta`/`-sort` elements, so facet values
//!   still equal the search page's). The published pages keep their ’; the
//!   theme's script puts ’ back in excerpts and strips elided articles from the
//!   query. Ligatures are spelled out the same way (œ → oe, æ → ae: "oeuvre"
//!   finds "œuvre"; the script does it to the query), and a space follows each
//!   table cell (pagefind glued "Principe" and "Mise en œuvre" into
//!   "PrincipeMise"). The `#` of the heading anchors the Markdown renderer adds are left
//!   out of that copy too, so excerpts do not read "… l’eau # Aux Pays-Bas".
//!   Accents and stemming are pagefind's own (`lang="fr"`: diacritics
//!   folded on both sides, Snowball French stemmer, prefix matching).
//!
//! What it does not do: search on the server, or load anything from outside the
//! site (the bundle is self-contained; no Node, no external binary, no network).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use pagefind::api::{FossickedPage, GzCache, PagefindIndex};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::config::Config;
use crate::load::Sources;
use crate::locale::slugify;
use crate::model::Model;
use crate::output::{Body, Output};

/// URL of the search page.
pub const SEARCH_URL: &str = "/recherche/";
/// Pages parsed at once before they go to the index.
const PARSE_BATCH: usize = 1024;

/// Directory of the pagefind bundle in the output.
pub const BUNDLE_DIR: &str = "pagefind";
/// The theme template of the search page; search is on when it exists.
pub const TEMPLATE: &str = "search.html";

/// Whether the site's templates ask for search.
pub fn enabled(sources: &Sources) -> bool {
    sources.templates.iter().any(|t| t.name == TEMPLATE)
}

fn search_error(message: impl std::fmt::Display) -> Error {
    Error::Template { file: BUNDLE_DIR.into(), message: format!("index de recherche : {message}") }
}

/// Pages already parsed for the index: by output path, the SHA-256 of the page's
/// HTML and what pagefind made of it; and the last bundle's gzipped files (by name,
/// CRC-32 and length of their content), so only new ones are compressed. Shared (cheap to clone) between a site kept in
/// memory and its deferred index jobs; each [`index`] run keeps only the pages it
/// indexed.
#[derive(Clone, Default)]
pub struct PageCache(Arc<Mutex<Cached>>);

/// What a [`PageCache`] holds.
#[derive(Default)]
struct Cached {
    /// Output path → (SHA-256 of the HTML, parsed page).
    pages: HashMap<String, ([u8; 32], FossickedPage)>,
    /// The last bundle's gzipped files, so only new ones are compressed.
    gz: GzCache,
}

/// Indexes `pages` (output path, HTML) and returns the bundle as outputs under
/// `pagefind/` (each path once). Pages are parsed in parallel; with a `cache`, a page whose HTML is
/// the one parsed last time is taken from it instead.
pub fn index<'a>(pages: impl IntoIterator<Item = (&'a str, &'a [u8])>, cache: Option<&PageCache>) -> Result<Vec<Output>, Error> {
    use rayon::prelude::*;
    let pages: Vec<(&str, &[u8])> = pages
        .into_iter()
        .filter(|(p, _)| p.ends_with(".html") && !p.starts_with(&format!("{BUNDLE_DIR}/")) && *p != "404.html")
        .collect();
    // Once a page marks its content `data-pagefind-body`, pagefind leaves out every
    // page without it (listings, term pages): those are not even parsed.
    let marked: Vec<bool> = pages.par_iter().map(|(_, b)| has_body_mark(b)).collect();
    let pages: Vec<(&str, &[u8])> = if marked.contains(&true) {
        pages.into_iter().zip(marked).filter_map(|(p, m)| m.then_some(p)).collect()
    } else {
        pages
    };
    let options = pagefind::options::PagefindServiceConfig::builder().keep_index_url(false).build();
    let mut index = PagefindIndex::new(Some(options)).map_err(search_error)?;
    let previous = cache.map(|c| std::mem::take(&mut *c.0.lock().unwrap_or_else(PoisonError::into_inner))).unwrap_or_default();
    let (previous, gz) = (previous.pages, cache.map(|_| previous.gz));
    // Pages are parsed a batch at a time and handed to the index at once, which
    // processes them and lets them go: only a batch of parsed pages is held (and,
    // with a cache, the parsed pages it keeps, which are shared, not copied).
    let mut kept = HashMap::new();
    for batch in pages.chunks(PARSE_BATCH) {
        let parsed: Vec<(&str, Option<[u8; 32]>, FossickedPage)> = batch
            .par_iter()
            .map(|&(path, bytes)| {
                let hash: Option<[u8; 32]> = cache.is_some().then(|| Sha256::digest(bytes).into());
                if let Some(hash) = hash
                    && let Some((old, page)) = previous.get(path)
                    && *old == hash
                {
                    return Ok((path, Some(hash), page.clone()));
                }
                let text = String::from_utf8_lossy(bytes);
                let html = match for_index(&text) {
                    std::borrow::Cow::Owned(s) => s,
                    std::borrow::Cow::Borrowed(_) => text.into_owned(),
                };
                index.fossick(path.to_string(), html).map(|page| (path, hash, page))
            })
            .collect::<Result<_, _>>()
            .map_err(search_error)?;
        if cache.is_some() {
            kept.extend(parsed.iter().filter_map(|(p, h, page)| Some((p.to_string(), ((*h)?, page.clone())))));
        }
        index.stream_pages(parsed.into_iter().map(|(_, _, page)| page)).map_err(search_error)?;
    }
    drop(previous);
    if let Some(cache) = cache {
        cache.0.lock().unwrap_or_else(PoisonError::into_inner).pages = kept;
    }
    let rt = tokio::runtime::Builder::new_current_thread().build().map_err(search_error)?;
    let (files, gz) = rt.block_on(index.into_files(gz)).map_err(search_error)?;
    if let (Some(cache), Some(gz)) = (cache, gz) {
        cache.0.lock().unwrap_or_else(PoisonError::into_inner).gz = gz;
    }
    let mut out: Vec<Output> = files
        .into_iter()
        // The theme talks to `pagefind.js` directly: pagefind's own UI bundles are not published.
        .filter(|f| {
            let name = f.filename.to_string_lossy();
            !(name.contains("-ui.") || name.starts_with("pagefind-highlight"))
        })
        .map(|f| {
            let rel = f.filename.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            Output { path: format!("{BUNDLE_DIR}/{rel}"), body: Body::Bytes(f.contents) }
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Whether `html` may hold a `data-pagefind-body` attribute (attribute names are
/// case-insensitive): a page without the string has none.
fn has_body_mark(html: &[u8]) -> bool {
    static MARK: std::sync::LazyLock<regex::bytes::Regex> =
        std::sync::LazyLock::new(|| regex::bytes::Regex::new("(?i)data-pagefind-body").expect("a valid pattern"));
    MARK.is_match(html)
}

/// Apostrophes pagefind should split words at: the typographic one and the
/// modifier letter some keyboards type.
const APOSTROPHES: [char; 2] = ['\u{2019}', '\u{2BC}'];
/// Ligatures, spelled out in the indexed copy.
const LIGATURES: [(char, &str); 4] = [('œ', "oe"), ('Œ', "Oe"), ('æ', "ae"), ('Æ', "Ae")];
/// What the text of the indexed copy may have to change.
const REWRITTEN: [char; 6] = ['\u{2019}', '\u{2BC}', 'œ', 'Œ', 'æ', 'Æ'];
/// The class of the `#` links `markdown` puts in headings.
const HEADING_ANCHOR: &str = "class=\"heading-anchor\"";

/// The page as pagefind should read it: in text, an apostrophe of
/// [`APOSTROPHES`] between two letters becomes `'`, so `l’eau` is indexed as
/// `eau` too. Tags, comments, `<script>`/`<style>` and the text of elements
/// carrying `data-pagefind-filter`, `data-pagefind-meta` or `data-pagefind-sort`
/// are copied as they are. Ligatures are spelled out (`œuvre` → `oeuvre`) in
/// the same text, a space follows each `</td>` and `</th>`, and the text of the heading anchors the Markdown
/// renderer adds (`<a class="heading-anchor">#</a>`) is left out. Borrowed when
/// there is nothing to change.
pub fn for_index(html: &str) -> std::borrow::Cow<'_, str> {
    if !html.contains(REWRITTEN) && !html.contains(HEADING_ANCHOR) && !html.contains("</td") && !html.contains("</th") {
        return html.into();
    }
    let mut out = String::with_capacity(html.len());
    let b = html.as_bytes();
    let mut i = 0;
    // While inside an element whose text is a value (filter, meta, sort), or a
    // heading anchor: its name, how many elements of that name are open, and
    // whether its text is dropped (anchor) rather than copied as it is.
    let mut verbatim: Option<(String, usize, bool)> = None;
    while i < b.len() {
        if b[i] != b'<' {
            let end = html[i..].find('<').map_or(b.len(), |n| i + n);
            let text = &html[i..end];
            if matches!(verbatim, Some((_, _, true))) {
                // Anchor text: left out.
            } else if verbatim.is_none() && text.contains(REWRITTEN) {
                let mut prev: Option<char> = None;
                let mut chars = text.chars().peekable();
                while let Some(c) = chars.next() {
                    let elided = APOSTROPHES.contains(&c)
                        && prev.is_some_and(char::is_alphabetic)
                        && chars.peek().is_some_and(|n| n.is_alphabetic());
                    match LIGATURES.iter().find(|(l, _)| *l == c) {
                        Some((_, spelled)) => out.push_str(spelled),
                        None => out.push(if elided { '\'' } else { c }),
                    }
                    prev = Some(c);
                }
            } else {
                out.push_str(text);
            }
            i = end;
            continue;
        }
        if html[i..].starts_with("<!--") {
            let end = html[i..].find("-->").map_or(b.len(), |n| i + n + 3);
            out.push_str(&html[i..end]);
            i = end;
            continue;
        }
        // A tag: up to the `>` outside quotes.
        let mut j = i + 1;
        let mut quote = None;
        while j < b.len() {
            match (quote, b[j]) {
                (None, b'"' | b'\'') => quote = Some(b[j]),
                (Some(q), c) if c == q => quote = None,
                (None, b'>') => break,
                _ => {}
            }
            j += 1;
        }
        let end = (j + 1).min(b.len());
        let tag = &html[i..end];
        out.push_str(tag);
        i = end;
        let closing = tag.starts_with("</");
        let name: String = tag[if closing { 2 } else { 1 }..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if name.is_empty() {
            continue;
        }
        let self_closing = tag.ends_with("/>") || matches!(name.as_str(), "area" | "base" | "br" | "col" | "embed" | "hr" | "img" | "input" | "link" | "meta" | "source" | "track" | "wbr");
        if let Some((open, depth, _)) = &mut verbatim {
            if *open == name && !self_closing {
                if closing {
                    *depth -= 1;
                } else {
                    *depth += 1;
                }
                if *depth == 0 {
                    verbatim = None;
                }
            }
            continue;
        }
        if closing && (name == "td" || name == "th") {
            out.push(' ');
        }
        if closing || self_closing {
            continue;
        }
        if name == "script" || name == "style" {
            // Raw text up to its end tag, whatever its case.
            let mut end = b.len();
            let mut k = i;
            while let Some(n) = html[k..].find("</") {
                let at = k + n;
                if b[at + 2..].len() >= name.len() && b[at + 2..at + 2 + name.len()].eq_ignore_ascii_case(name.as_bytes()) {
                    end = at;
                    break;
                }
                k = at + 2;
            }
            out.push_str(&html[i..end]);
            i = end;
        } else if reads_text(tag) {
            verbatim = Some((name, 1, false));
        } else if tag.contains(HEADING_ANCHOR) {
            verbatim = Some((name, 1, true));
        }
    }
    out.into()
}

/// Whether pagefind takes a filter, meta or sort value from the text of the
/// element `tag` opens: one of those attributes names a key alone (`summary`),
/// not an attribute (`image[src]`) nor a fixed value (`kind:Projet`).
fn reads_text(tag: &str) -> bool {
    ["data-pagefind-filter=", "data-pagefind-meta=", "data-pagefind-sort="].iter().any(|attr| {
        tag.match_indices(attr).any(|(at, _)| {
            let rest = &tag[at + attr.len()..];
            let value = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
                _ => rest.split([' ', '>']).next().unwrap_or(""),
            };
            value.split(',').any(|key| !key.trim().is_empty() && !key.contains(['[', ':']))
        })
    })
}

/// Indexes the HTML among `outputs` (a full build's outputs).
pub fn index_outputs(outputs: &[Output], cache: Option<&PageCache>) -> Result<Vec<Output>, Error> {
    index(
        outputs.iter().filter_map(|o| match &o.body {
            Body::Bytes(b) => Some((o.path.as_str(), b.as_slice())),
            Body::Copy(_) => None,
        }),
        cache,
    )
}

/// For an incremental rebuild: indexes every HTML page of `paths`, taking fresh
/// ones from `outputs` and the others from the output directory.
pub fn index_site(
    out_dir: &std::path::Path,
    paths: &std::collections::HashSet<String>,
    outputs: &[Output],
    cache: Option<&PageCache>,
) -> Result<Vec<Output>, Error> {
    let html = read_pages(out_dir, paths, outputs, false)?;
    index(html.iter().map(|(p, b)| (p.as_str(), b.as_slice())), cache)
}

/// Indexes the HTML pages among `paths` as they are in `out_dir` now; a page that
/// is not there any more is left out (for a deferred index, see `incremental`).
pub fn index_site_present(
    out_dir: &std::path::Path,
    paths: &std::collections::HashSet<String>,
    cache: Option<&PageCache>,
) -> Result<Vec<Output>, Error> {
    let html = read_pages(out_dir, paths, &[], true)?;
    index(html.iter().map(|(p, b)| (p.as_str(), b.as_slice())), cache)
}

/// The HTML pages among `paths` (but the bundle's own files): from `fresh` when
/// there, else read from `out_dir`; a page missing from disk is an error, or left
/// out with `skip_missing`.
fn read_pages(
    out_dir: &std::path::Path,
    paths: &std::collections::HashSet<String>,
    fresh: &[Output],
    skip_missing: bool,
) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let mut html: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for o in fresh {
        if let Body::Bytes(b) = &o.body
            && o.path.ends_with(".html")
        {
            html.insert(o.path.clone(), b.clone());
        }
    }
    for p in paths {
        if p.ends_with(".html") && !html.contains_key(p) && !p.starts_with(&format!("{BUNDLE_DIR}/")) {
            let f = out_dir.join(p);
            match std::fs::read(&f) {
                Ok(bytes) => {
                    html.insert(p.clone(), bytes);
                }
                Err(e) if skip_missing && e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&f, e)),
            }
        }
    }
    Ok(html)
}

/// The `search` value of the search page: the facets with every value the site
/// has, so the page can show them as checkboxes and, without JavaScript, as links.
/// `type` values are collection titles (what entry templates put in their
/// `data-pagefind-filter="type"` element); taxonomy facets are named after the
/// taxonomy and hold term names.
pub fn page_context(config: &Config, model: &Model) -> serde_json::Value {
    use serde_json::json;
    let types: Vec<serde_json::Value> = config
        .collections
        .iter()
        .zip(&model.lists)
        .filter(|(_, l)| !l.is_empty())
        .map(|(c, l)| json!({"name": c.title, "slug": slugify(&c.name), "url": c.url(), "count": l.len()}))
        .collect();
    let mut facets = vec![json!({"name": "type", "title": "", "url": "", "values": types})];
    for (t, terms) in config.taxonomies.iter().zip(&model.taxonomies) {
        if terms.is_empty() {
            continue;
        }
        let url = t.url();
        let values: Vec<serde_json::Value> = terms
            .iter()
            .map(|term| json!({"name": term.name, "slug": term.slug, "url": t.term_url(&term.slug), "count": term.entries.len()}))
            .collect();
        facets.push(json!({"name": t.name, "title": t.title, "url": url, "values": values}));
    }
    json!({"url": SEARCH_URL, "bundle": format!("/{BUNDLE_DIR}/pagefind.js"), "facets": facets})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(title: &str, body: &str, filters: &[(&str, &str)]) -> Vec<u8> {
        let f: String = filters.iter().map(|(k, v)| format!("<span data-pagefind-filter=\"{k}\">{v}</span>")).collect();
        format!("<!doctype html><html lang=\"fr\"><head><title>{title}</title></head><body><nav>menu</nav><article data-pagefind-body><h1>{title}</h1><p>{body}</p><div hidden data-pagefind-ignore>{f}</div></article></body></html>").into_bytes()
    }

    #[test]
    fn apostrophes_between_letters_become_ascii_in_text_only() {
        let html = "<html lang=\"fr\"><head><title>L’eau</title><script>var s = '</p>l’eau';</SCRIPT></head><body>\
            <p title=\"d’abord\">De l’eau, jusqu’à l’Europe ; aujourdʼhui. Rock’n’roll. « l’ » seul, ’ tout seul.</p>\
            <span data-pagefind-filter=\"disciplines\">Lettres d’hier<b>l’x</b></span><p>qu’il</p>\
            <div data-pagefind-meta=\"summary\">L’été, œuvre</div><img alt=\"l’arbre\" data-pagefind-meta=\"image[src]\" src=\"a.jpg\">\
            <!-- l’commentaire --><p>c’est</p><h2 id=\"a\">À l’eau <a class=\"heading-anchor\" href=\"#a\">#</a></h2>\
            <table><tr><th>Principe</th><td>Mise en œuvre, Œdipe, ex æquo</td></tr></table></body></html>";
        let out = for_index(html);
        assert_eq!(
            out,
            "<html lang=\"fr\"><head><title>L'eau</title><script>var s = '</p>l’eau';</SCRIPT></head><body>\
            <p title=\"d’abord\">De l'eau, jusqu'à l'Europe ; aujourd'hui. Rock'n'roll. « l’ » seul, ’ tout seul.</p>\
            <span data-pagefind-filter=\"disciplines\">Lettres d’hier<b>l’x</b></span><p>qu'il</p>\
            <div data-pagefind-meta=\"summary\">L’été, œuvre</div><img alt=\"l’arbre\" data-pagefind-meta=\"image[src]\" src=\"a.jpg\">\
            <!-- l’commentaire --><p>c'est</p><h2 id=\"a\">À l'eau <a class=\"heading-anchor\" href=\"#a\"></a></h2>\
            <table><tr><th>Principe</th> <td>Mise en oeuvre, Oedipe, ex aequo</td> </tr></table></body></html>"
        );
        // An element giving meta from an attribute or a fixed value: its text is text.
        assert_eq!(
            for_index("<div data-pagefind-meta=\"image[data-src], kind:Projet\" data-src=\"x.jpg\"><p>l’eau</p></div><p data-pagefind-sort='date'>l’an</p>"),
            "<div data-pagefind-meta=\"image[data-src], kind:Projet\" data-src=\"x.jpg\"><p>l'eau</p></div><p data-pagefind-sort='date'>l’an</p>"
        );
        // Nothing to change: the page itself, not a copy.
        assert!(matches!(for_index("<p>l'eau</p>"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn bundle_is_built_in_memory_with_filters() {
        let a = page("Potagers sans frontières", "Un jardin partagé avec une école espagnole.", &[("countries", "Espagne"), ("type", "Projet")]);
        let b = page("Ciel pour tous", "Astronomie avec la Pologne.", &[("countries", "Pologne"), ("type", "Projet")]);
        let listing = b"<html lang=\"fr\"><body><h1>Liste</h1></body></html>".to_vec();
        let out = index([("projets/a/index.html", &a[..]), ("projets/b/index.html", &b[..]), ("projets/index.html", &listing[..])], None).unwrap();
        let paths: Vec<&str> = out.iter().map(|o| o.path.as_str()).collect();
        assert!(paths.contains(&"pagefind/pagefind.js"), "{paths:?}");
        assert!(paths.iter().any(|p| p.starts_with("pagefind/pagefind-entry.json")), "{paths:?}");
        assert!(paths.iter().any(|p| p.starts_with("pagefind/filter/")), "{paths:?}");
        assert!(paths.iter().any(|p| p.ends_with(".pf_fragment")), "{paths:?}");
        let entry = out.iter().find(|o| o.path == "pagefind/pagefind-entry.json").unwrap();
        let Body::Bytes(b) = &entry.body else { panic!() };
        let json: serde_json::Value = serde_json::from_slice(b).unwrap();
        // Two pages with data-pagefind-body; the listing without it is left out.
        assert_eq!(json["languages"]["fr"]["page_count"], 2, "{json}");
        // No page marks its content: every page is indexed, as pagefind does.
        let out = index([("projets/index.html", &listing[..])], None).unwrap();
        let entry = out.iter().find(|o| o.path == "pagefind/pagefind-entry.json").unwrap();
        let Body::Bytes(b) = &entry.body else { panic!() };
        let json: serde_json::Value = serde_json::from_slice(b).unwrap();
        assert_eq!(json["languages"]["fr"]["page_count"], 1, "{json}");
        assert!(has_body_mark(b"<main DATA-Pagefind-Body>") && !has_body_mark(b"<main data-pagefind-ignore>"));
    }

    fn bytes(outputs: &[Output]) -> Vec<(&str, &[u8])> {
        outputs
            .iter()
            .map(|o| match &o.body {
                Body::Bytes(b) => (o.path.as_str(), b.as_slice()),
                Body::Copy(_) => panic!("{}", o.path),
            })
            .collect()
    }

    #[test]
    fn cached_pages_give_the_bundle_a_fresh_index_gives() {
        let a = page("Potagers sans frontières", "Un jardin partagé avec l’école d’Oviedo.", &[("countries", "Espagne")]);
        let b = page("Ciel pour tous", "Astronomie avec la Pologne.", &[("countries", "Pologne")]);
        let b2 = page("Ciel pour tous", "Astronomie et météo avec la Pologne.", &[("countries", "Pologne"), ("levels", "Lycée")]);
        let c = page("Eau vive", "L’eau de la rivière.", &[("countries", "France")]);
        let cache = PageCache::default();
        let first = index([("a/index.html", &a[..]), ("b/index.html", &b[..])], Some(&cache)).unwrap();
        assert_eq!(bytes(&first), bytes(&index([("a/index.html", &a[..]), ("b/index.html", &b[..])], None).unwrap()));
        // b changed, c is new: the cached a and the fresh b and c make the bundle
        // a build from nothing makes, byte for byte.
        let pages = [("a/index.html", &a[..]), ("b/index.html", &b2[..]), ("c/index.html", &c[..])];
        let second = index(pages, Some(&cache)).unwrap();
        assert_eq!(bytes(&second), bytes(&index(pages, None).unwrap()));
        assert_ne!(bytes(&first), bytes(&second));
        // Only the pages of the last run are kept.
        let kept: std::collections::BTreeSet<String> = cache.0.lock().unwrap().pages.keys().cloned().collect();
        assert_eq!(kept, ["a/index.html", "b/index.html", "c/index.html"].map(String::from).into());
        // The same pages again: every gzipped file comes from the cache, the same bytes.
        assert_eq!(bytes(&index(pages, Some(&cache)).unwrap()), bytes(&second));
        index([("c/index.html", &c[..])], Some(&cache)).unwrap();
        assert_eq!(cache.0.lock().unwrap().pages.len(), 1);
    }
}
