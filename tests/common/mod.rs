//! Helpers shared by the end-to-end tests of the generator: they run the real
//! `vitrine` binary on sites copied or written into temp dirs, snapshot output
//! trees, and check built HTML with a real parser (scraper).
//!
//! Nothing here knows what a given site should contain: expectations live in
//! the tests. The link checker is deliberately independent of `vitrine check`
//! (its own URL resolution, a full HTML parser) so that the two can catch each
//! other's mistakes.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use scraper::{Html, Selector};

/// The moment every test build considers "now" (reproducible builds).
pub const NOW: &str = "2026-11-28T12:00:00Z";
/// The same day, for comparing front-matter dates.
pub const TODAY: &str = "2026-11-28";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies the example site of the repository (config, content, data, theme,
/// site templates and static files) into `dst`, so that a build writes nothing
/// (not even its image cache) into the repository.
pub fn copy_example_site(dst: &Path) {
    let root = repo_root();
    std::fs::create_dir_all(dst).unwrap();
    std::fs::copy(root.join("vitrine.yaml"), dst.join("vitrine.yaml")).unwrap();
    for dir in ["content", "data", "themes", "templates", "static"] {
        if root.join(dir).is_dir() {
            copy_dir(&root.join(dir), &dst.join(dir));
        }
    }
}

pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests").join("fixtures").join(name)
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "vitrine failed:\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }
}

/// Runs `vitrine <args>` with `VITRINE_NOW` set.
pub fn vitrine(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_vitrine"))
        .args(args)
        .env("VITRINE_NOW", NOW)
        .env("RUST_LOG", "warn")
        .env_remove("NO_COLOR")
        .output()
        .expect("run the vitrine binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn build(site: &Path, out: &Path, extra: &[&str]) -> Run {
    let (site, out) = (site.to_str().unwrap(), out.to_str().unwrap());
    let mut args = vec!["build", "--site", site, "--out", out];
    args.extend_from_slice(extra);
    vitrine(&args)
}

pub fn check(site: &Path) -> Run {
    vitrine(&["check", "--site", site.to_str().unwrap()])
}

/// Copies a directory tree (without build caches: `.vitrine/`).
pub fn copy_dir(src: &Path, dst: &Path) {
    for e in walkdir(src) {
        let rel = e.strip_prefix(src).unwrap();
        if rel.components().next().is_some_and(|c| c.as_os_str() == ".vitrine") {
            continue;
        }
        let to = dst.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&e, &to).unwrap_or_else(|err| panic!("copy {}: {err}", e.display()));
    }
}

/// Writes `(path, text)` files under `root` (`None` deletes the file or directory).
pub fn write_files(root: &Path, files: &[(&str, Option<&str>)]) {
    for (rel, text) in files {
        let path = root.join(rel);
        match text {
            Some(t) => {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, t).unwrap();
            }
            None if path.is_dir() => std::fs::remove_dir_all(&path).unwrap(),
            None => std::fs::remove_file(&path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display())),
        }
    }
}

/// Every file below `dir` (hidden ones included), sorted.
pub fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// One file of an output tree: its bytes and when it was last written.
#[derive(Debug, PartialEq, Eq)]
pub struct Snap {
    pub bytes: Vec<u8>,
    pub modified: SystemTime,
}

/// The whole tree below `dir`, by `/`-separated relative path.
pub fn tree(dir: &Path) -> BTreeMap<String, Snap> {
    walkdir(dir)
        .into_iter()
        .map(|p| {
            let rel = rel_path(&p, dir);
            let snap = Snap { bytes: std::fs::read(&p).unwrap(), modified: std::fs::metadata(&p).unwrap().modified().unwrap() };
            (rel, snap)
        })
        .collect()
}

pub fn rel_path(p: &Path, root: &Path) -> String {
    p.strip_prefix(root).unwrap().components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// The figures of a build's summary line:
/// `N pages, M fichiers (W écrits, R supprimés), …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub pages: usize,
    pub files: usize,
    pub written: usize,
    pub removed: usize,
}

pub fn summary(stdout: &str) -> Summary {
    let line = stdout.lines().find(|l| l.contains(" pages, ")).unwrap_or_else(|| panic!("no summary line in {stdout:?}"));
    let number_before = |word: &str| -> usize {
        let i = line.find(word).unwrap_or_else(|| panic!("no « {word} » in {line:?}"));
        let digits: String = line[..i].trim_end().chars().rev().take_while(char::is_ascii_digit).collect();
        digits.chars().rev().collect::<String>().parse().unwrap_or_else(|_| panic!("no number before « {word} » in {line:?}"))
    };
    Summary {
        pages: number_before(" pages"),
        files: number_before(" fichiers"),
        written: number_before(" écrits"),
        removed: number_before(" supprimés"),
    }
}

pub fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap_or_else(|e| panic!("selector {s}: {e:?}"))
}

/// A built site: its output directory and every HTML page, parsed.
pub struct Built {
    pub out: PathBuf,
    pub base_url: String,
    pub pages: BTreeMap<String, Html>,
}

impl Built {
    pub fn load(out: &Path, base_url: &str) -> Built {
        let pages = walkdir(out)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "html"))
            .map(|p| (rel_path(&p, out), Html::parse_document(&std::fs::read_to_string(&p).unwrap())))
            .collect();
        Built { out: out.to_path_buf(), base_url: base_url.trim_end_matches('/').to_string(), pages }
    }

    pub fn page(&self, path: &str) -> &Html {
        self.pages.get(path).unwrap_or_else(|| panic!("no page {path}"))
    }

    pub fn exists(&self, path: &str) -> bool {
        self.out.join(path).is_file()
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.out.join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    /// Ids of a page's elements.
    pub fn ids(&self, path: &str) -> HashSet<String> {
        self.page(path).select(&sel("[id]")).filter_map(|e| e.value().attr("id").map(str::to_string)).collect()
    }

    /// The distinct values of `attr` of elements matching `selector` in a page.
    pub fn attrs(&self, path: &str, selector: &str, attr: &str) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for e in self.page(path).select(&sel(selector)) {
            if let Some(a) = e.value().attr(attr)
                && !v.iter().any(|x| x == a)
            {
                v.push(a.to_string());
            }
        }
        v
    }

    /// Every link and resource of every page that points inside the site
    /// (root-relative, relative, same-page anchors and absolute URLs on the base
    /// URL) and does not resolve to an output file or to an id of it.
    pub fn broken_links(&self) -> Vec<String> {
        let mut ids: HashMap<String, HashSet<String>> = HashMap::new();
        let mut broken = Vec::new();
        let linked = sel("[href], [src]");
        for (page, html) in &self.pages {
            for el in html.select(&linked) {
                for attr in ["href", "src"] {
                    let Some(link) = el.value().attr(attr) else { continue };
                    let Some((target, anchor)) = resolve(page, link, &self.base_url) else { continue };
                    if !self.exists(&target) {
                        broken.push(format!("{page}: {attr}=\"{link}\" → {target} does not exist"));
                        continue;
                    }
                    let Some(anchor) = anchor.filter(|a| !a.is_empty()) else { continue };
                    if !target.ends_with(".html") {
                        broken.push(format!("{page}: {attr}=\"{link}\": anchor into a non-HTML file"));
                        continue;
                    }
                    let set = ids.entry(target.clone()).or_insert_with(|| self.ids(&target));
                    if !set.contains(&anchor) {
                        broken.push(format!("{page}: {attr}=\"{link}\" → no id=\"{anchor}\" in {target}"));
                    }
                }
            }
        }
        broken
    }

    /// Accessibility and self-containment rules every page must follow.
    pub fn page_problems(&self, page: &str, lang: &str) -> Vec<String> {
        let html = self.page(page);
        let mut p = Vec::new();
        let root_lang = html.select(&sel("html")).next().and_then(|h| h.value().attr("lang"));
        if root_lang != Some(lang) {
            p.push(format!("{page}: <html lang> is {root_lang:?}, not {lang:?}"));
        }
        let h1 = html.select(&sel("h1")).count();
        if h1 != 1 {
            p.push(format!("{page}: {h1} <h1> elements"));
        }
        for img in html.select(&sel("img")) {
            if img.value().attr("alt").is_none() {
                p.push(format!("{page}: <img src={:?}> without alt", img.value().attr("src")));
            }
        }
        // Skip link: the first link of the body jumps to an element of the page.
        let first = html.select(&sel("body a[href]")).next().and_then(|a| a.value().attr("href"));
        match first.and_then(|h| h.strip_prefix('#')) {
            Some(id) if !id.is_empty() && html.select(&sel(&format!("[id=\"{id}\"]"))).next().is_some() => {}
            _ => p.push(format!("{page}: the first link ({first:?}) is not a skip link to an element of the page")),
        }
        let mut seen = HashSet::new();
        for e in html.select(&sel("[id]")) {
            let id = e.value().attr("id").unwrap();
            if !seen.insert(id) {
                p.push(format!("{page}: duplicate id {id:?}"));
            }
        }
        // No external resources: scripts, styles, images, frames and media come from the site.
        for (selector, attr) in
            [("script[src]", "src"), ("link[rel~=stylesheet]", "href"), ("link[rel~=icon]", "href"), ("img", "src"), ("iframe", "src"), ("source", "src"), ("video", "src"), ("audio", "src")]
        {
            for e in html.select(&sel(selector)) {
                let v = e.value().attr(attr).unwrap_or("");
                let l = v.to_ascii_lowercase();
                if l.starts_with("http:") || l.starts_with("https:") || l.starts_with("//") {
                    p.push(format!("{page}: external resource {attr}=\"{v}\""));
                }
            }
        }
        p
    }
}

/// Resolves a link found in output page `page` to (output file, anchor), or
/// `None` when it points outside the site (other hosts, mailto:, tel:…).
pub fn resolve(page: &str, link: &str, base_url: &str) -> Option<(String, Option<String>)> {
    let link = link.trim();
    let link = match link.strip_prefix(base_url) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => if rest.is_empty() { "/" } else { rest },
        _ => link,
    };
    let lower = link.to_ascii_lowercase();
    if lower.starts_with("//") || lower.split(['/', '?', '#']).next().is_some_and(|s| s.contains(':')) {
        return None;
    }
    let (target, anchor) = match link.split_once('#') {
        Some((t, a)) => (t, Some(percent_decode(a))),
        None => (link, None),
    };
    let target = target.split('?').next().unwrap_or("");
    let dir = match page.rfind('/') {
        Some(i) => &page[..=i],
        None => "",
    };
    let joined = if target.is_empty() {
        return Some((page.to_string(), anchor));
    } else if let Some(abs) = target.strip_prefix('/') {
        abs.to_string()
    } else {
        format!("{dir}{target}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut path = percent_decode(&parts.join("/"));
    if path.is_empty() || path.ends_with('/') {
        path.push_str("index.html");
    }
    Some((path, anchor))
}

pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// A feed or sitemap, parsed: panics with the parser's message if not well-formed.
pub fn parse_xml<'a>(text: &'a str, what: &str) -> roxmltree::Document<'a> {
    roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("{what} is not well-formed XML: {e}"))
}

pub const ATOM: &str = "http://www.w3.org/2005/Atom";
pub const SITEMAP: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

/// Parses an Atom feed and checks its structure; returns the entries' link URLs.
pub fn feed_links(text: &str, what: &str, base_url: &str) -> Vec<String> {
    let doc = parse_xml(text, what);
    let root = doc.root_element();
    assert_eq!((root.tag_name().namespace(), root.tag_name().name()), (Some(ATOM), "feed"), "{what}: root element");
    for child in ["id", "title", "updated"] {
        assert!(root.children().any(|c| c.has_tag_name((ATOM, child))), "{what}: feed without <{child}>");
    }
    let mut links = Vec::new();
    let mut ids = HashSet::new();
    for entry in root.children().filter(|c| c.has_tag_name((ATOM, "entry"))) {
        let text_of = |name: &str| {
            entry
                .children()
                .find(|c| c.has_tag_name((ATOM, name)))
                .and_then(|c| c.text())
                .unwrap_or_else(|| panic!("{what}: entry without <{name}>"))
                .to_string()
        };
        let id = text_of("id");
        assert!(id.starts_with(&format!("{base_url}/")), "{what}: entry id {id} is not on {base_url}");
        assert!(ids.insert(id.clone()), "{what}: duplicate entry id {id}");
        assert!(!text_of("title").trim().is_empty(), "{what}: entry {id} has an empty title");
        let updated = text_of("updated");
        assert!(is_rfc3339(&updated), "{what}: entry {id} has <updated>{updated}</updated>");
        let link = entry
            .children()
            .find(|c| c.has_tag_name((ATOM, "link")))
            .and_then(|l| l.attribute("href"))
            .unwrap_or_else(|| panic!("{what}: entry {id} without <link href>"));
        assert!(link.starts_with(&format!("{base_url}/")), "{what}: entry link {link} is not on {base_url}");
        links.push(link.to_string());
    }
    links
}

/// Parses a sitemap; returns its URLs.
pub fn sitemap_urls(text: &str, base_url: &str) -> Vec<String> {
    let doc = parse_xml(text, "sitemap.xml");
    let root = doc.root_element();
    assert_eq!((root.tag_name().namespace(), root.tag_name().name()), (Some(SITEMAP), "urlset"));
    let mut urls = Vec::new();
    for u in root.children().filter(|c| c.is_element()) {
        assert!(u.has_tag_name((SITEMAP, "url")), "sitemap: unexpected element {:?}", u.tag_name());
        let loc = u.children().find(|c| c.has_tag_name((SITEMAP, "loc"))).and_then(|c| c.text()).expect("url without loc");
        assert!(loc.starts_with(&format!("{base_url}/")), "sitemap: {loc} is not on {base_url}");
        if let Some(m) = u.children().find(|c| c.has_tag_name((SITEMAP, "lastmod"))) {
            let d = m.text().unwrap_or("");
            assert!(is_date(d), "sitemap: lastmod {d:?} of {loc}");
        }
        urls.push(loc.to_string());
    }
    urls
}

pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}

pub fn is_rfc3339(s: &str) -> bool {
    s.len() >= 20 && is_date(&s[..10]) && s.as_bytes()[10] == b'T' && (s.ends_with('Z') || s[19..].contains(['+', '-']))
}

/// The output file of a site URL path (`/projets/x/` → `projets/x/index.html`).
pub fn url_file(url_path: &str) -> String {
    let p = url_path.trim_start_matches('/');
    if p.is_empty() || p.ends_with('/') { format!("{p}index.html") } else { p.to_string() }
}

/// The URL path of an output HTML file (`projets/x/index.html` → `/projets/x/`).
pub fn file_url(file: &str) -> String {
    match file.strip_suffix("index.html") {
        Some(dir) => format!("/{dir}"),
        None => format!("/{file}"),
    }
}

/// Starts `vitrine daemon` on `site`, listening on a free port of 127.0.0.1
/// (no rate limit); returns the child and its `host:port` once it listens.
/// Its stdout is drained in the background so it never blocks on a full pipe.
#[allow(clippy::zombie_processes)] // the caller stops (or kills) and waits for the child
pub fn start_daemon(site: &Path) -> (std::process::Child, String) {
    use std::io::{BufRead, Read};
    let mut child = Command::new(env!("CARGO_BIN_EXE_vitrine"))
        .args(["daemon", "--site", site.to_str().unwrap(), "--listen", "127.0.0.1:0", "--rate-limit", "0"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "daemon exited before listening");
        if let Some(rest) = line.strip_prefix("Démon : http://") {
            let addr = rest.split('/').next().unwrap().to_string();
            std::thread::spawn(move || {
                let mut sink = String::new();
                let _ = out.read_to_string(&mut sink);
            });
            return (child, addr);
        }
    }
}

/// Builds the example site (the repository's own `content/` and theme) into
/// `public/` of a fresh temp dir; returns the dir (keep it alive) and that path.
pub fn build_example_site() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("public");
    let root = repo_root();
    vitrine(&["build", "--site", root.to_str().unwrap(), "--out", out.to_str().unwrap()]).assert_ok();
    (dir, out)
}
