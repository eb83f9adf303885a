//! The incremental path must give exactly what a full build gives.
//!
//! A small site (two collections with a reference between them, taxonomies,
//! pagination, bundles with images) receives random sequences of edits,
//! additions, deletions and renames; after each step the incrementally updated
//! output is compared byte for byte with a fresh full build of the same sources.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use vitrine_generator::BuildOptions;
use vitrine_generator::incremental::Site;

const CONFIG: &str = r#"
title: "Test"
base_url: "https://test.example.org"
paginate: 2
taxonomies:
  - { name: countries, title: "Pays", path: pays }
  - { name: years, title: "Années", path: annees }
  - { name: tags, title: "Mots-clés", path: mots }
collections:
  projects:
    title: "Projets"
    path: projets
    template: entry.html
    list_template: list.html
    paginate: 2
    feed: true
    fields:
      countries: { type: list, taxonomy: countries, item: { type: enum, values: [France, Espagne, Italie, Grèce] } }
      tags: { type: list, taxonomy: tags, item: { type: string } }
      cover: { type: image }
  labels:
    title: "Labels"
    path: labels
    template: entry.html
    list_template: list.html
    fields:
      project: { type: reference, collection: projects }
      year: { type: integer, taxonomy: years }
"#;

// The footer reads `all.labels` (as the default theme's footer reads `all.pages`): a label
// change must then re-render every page.
const BASE: &str = "<html><body>{% block main %}{% endblock main %}<nav>{% for m in site.menu %}{{ m.title }}{% endfor %}</nav><footer>{% for l in all?.labels or [] %}{{ l.title }}{% endfor %}</footer></body></html>";
const ENTRY: &str = r#"{% extends "base.html" %}{% block main %}<h1>{{ page.title }}</h1>{{ page.content | safe }}
{% for k, v in page.refs %}{{ k }}={{ v.title }};{% endfor %}
{% for k, v in page.backrefs %}{% for b in v %}{{ b.title }}|{% endfor %}{% endfor %}
{% for t, list in page.terms %}{% for x in list %}{{ x.url }} {% endfor %}{% endfor %}
{% if page.fields.cover %}<img src="{{ page.fields.cover.src }}" width="{{ page.fields.cover.width }}" alt="{{ page.fields.cover.alt }}">{% endif %}{% endblock main %}"#;
const LIST: &str = r#"{% extends "base.html" %}{% block main %}{{ section.title }}:{% for p in paginator.pages %}{{ p.title }}({{ p.date }}),{% endfor %}{{ paginator.next }}{% endblock main %}"#;
const TERM: &str = r#"{% extends "base.html" %}{% block main %}{{ term.name }}={{ term.count }}:{% for p in paginator.pages %}{{ p.title }},{% endfor %}{% endblock main %}"#;
const TAX: &str = r#"{% extends "base.html" %}{% block main %}{% for t in taxonomy.terms %}{{ t.name }}={{ t.count }};{% endfor %}{% endblock main %}"#;
const INDEX: &str = r#"{% extends "base.html" %}{% block main %}{% for p in all.projects %}{{ p.title }}{% for l in p.backrefs?.labels or [] %}+{{ l.title }}{% endfor %},{% endfor %}{% endblock main %}"#;

// A tiny 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0,
    0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0D, 0x0A, 0x2D,
    0xB4, 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn write(root: &Path, rel: &str, text: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn project(rng: &mut Rng, n: usize) -> String {
    let countries = ["France", "Espagne", "Italie", "Grèce"];
    let a = countries[rng.below(4)];
    let b = countries[rng.below(4)];
    let list = if a == b { format!("[{a}]") } else { format!("[{a}, {b}]") };
    let draft = if rng.below(8) == 0 { "draft: true\n" } else { "" };
    // Spellings that make the same term: a term is named by its first entry.
    let tags = ["Eau", "eau", "Énergie", "energie"];
    let tag = tags[rng.below(4)];
    format!("---\ntitle: \"Projet {n}\"\ndate: 2026-0{}-1{}\ncountries: {list}\ntags: [{tag}]\n{draft}---\n\n## Texte {n}\n\nVersion {}.\n", 1 + rng.below(9), rng.below(9), rng.next() % 1000)
}

fn label(rng: &mut Rng, n: usize, projects: &[String], site: &Path) -> String {
    // Few targets, so that projects get several labels (their order follows the labels' dates).
    let target = &projects[rng.below(projects.len().min(3))];
    // A link to a draft would be a broken link (an error, tested elsewhere): link published files only.
    let file = site.join(format!("content/projects/{target}.md"));
    let link = match fs::read_to_string(&file) {
        Ok(t) if !t.contains("draft: true") => format!("[voir](@/projects/{target}.md)"),
        _ => "voir".to_string(),
    };
    format!("---\ntitle: \"Label {n}\"\ndate: 2026-05-0{}\nproject: {target}\nyear: {}\n---\nBravo {link}.\n", 1 + rng.below(9), 2024 + rng.below(3))
}

fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir).min_depth(1) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            out.insert(e.path().strip_prefix(dir).unwrap().to_path_buf(), fs::read(e.path()).unwrap());
        }
    }
    out
}

fn project_slugs(site: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(site.join("content/projects"))
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            if name.starts_with('_') {
                None
            } else if e.path().is_dir() {
                Some(name)
            } else {
                name.strip_suffix(".md").map(str::to_string)
            }
        })
        .collect();
    v.sort();
    v
}

/// `text` with the line starting with `prefix` replaced by `line`.
fn replace_line(text: &str, prefix: &str, line: &str) -> String {
    text.lines().map(|l| if l.starts_with(prefix) { line } else { l }).collect::<Vec<_>>().join("\n") + "\n"
}

#[test]
fn random_edits_match_full_builds() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    write(&site, "vitrine.yaml", CONFIG.as_bytes());
    for (name, text) in [("base.html", BASE), ("entry.html", ENTRY), ("list.html", LIST), ("term.html", TERM), ("taxonomy.html", TAX), ("index.html", INDEX), ("404.html", "introuvable")] {
        write(&site, &format!("themes/default/templates/{name}"), text.as_bytes());
    }
    write(&site, "themes/default/static/style.css", b"body{}");
    write(&site, "content/_index.md", b"---\ntitle: Accueil\n---\nBienvenue.\n");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for n in 0..6 {
        write(&site, &format!("content/projects/p{n}.md"), project(&mut rng, n).as_bytes());
    }
    write(&site, "content/projects/bundle/index.md", b"---\ntitle: Paquet\ndate: 2026-02-02\ncover: { src: img.png, alt: Une image }\n---\nTexte.\n");
    write(&site, "content/projects/bundle/img.png", PNG);
    for n in 0..3 {
        let slugs = project_slugs(&site);
        write(&site, &format!("content/labels/l{n}.md"), label(&mut rng, n, &slugs, &site).as_bytes());
    }

    let now: jiff::ZonedDateTime = "2026-11-28T12:00:00+01:00[Europe/Paris]".parse().unwrap();
    let mut opts = BuildOptions::new(&site);
    opts.out = dir.path().join("incremental");
    opts.now = Some(now.clone());
    let (mut inc, _) = Site::open(opts).unwrap();

    let mut next = 100;
    for step in 0..150 {
        let slugs = project_slugs(&site);
        let mut changed: Vec<PathBuf> = Vec::new();
        let op = rng.below(16);
        match op {
            0 | 1 => {
                // Edit a project (title, date, countries, draft).
                let s = &slugs[rng.below(slugs.len())];
                if s.starts_with("bundle") {
                    continue;
                }
                let p = site.join(format!("content/projects/{s}.md"));
                let labels = fs::read_dir(site.join("content/labels")).unwrap().map(|e| fs::read_to_string(e.unwrap().path()).unwrap()).collect::<Vec<_>>().join("\n");
                let mut text = project(&mut rng, next);
                if labels.contains(&format!("@/projects/{s}.md")) {
                    text = text.replace("draft: true\n", "");
                }
                fs::write(&p, text).unwrap();
                next += 1;
                changed.push(p);
            }
            2 => {
                let p = site.join(format!("content/projects/n{next}.md"));
                fs::write(&p, project(&mut rng, next)).unwrap();
                next += 1;
                changed.push(p);
            }
            3 => {
                // Delete a project nobody references (a dangling reference is an error, tested elsewhere).
                let labels = fs::read_dir(site.join("content/labels")).unwrap().map(|e| fs::read_to_string(e.unwrap().path()).unwrap()).collect::<Vec<_>>().join("\n");
                let s = &slugs[rng.below(slugs.len())];
                if s.starts_with("bundle") || labels.contains(&format!("project: {s}\n")) || slugs.len() < 3 {
                    continue;
                }
                let p = site.join(format!("content/projects/{s}.md"));
                fs::remove_file(&p).unwrap();
                changed.push(p);
            }
            4 => {
                // Rename a project nobody references.
                let labels = fs::read_dir(site.join("content/labels")).unwrap().map(|e| fs::read_to_string(e.unwrap().path()).unwrap()).collect::<Vec<_>>().join("\n");
                let s = &slugs[rng.below(slugs.len())];
                if s.starts_with("bundle") || labels.contains(&format!("project: {s}\n")) {
                    continue;
                }
                let from = site.join(format!("content/projects/{s}.md"));
                let to = site.join(format!("content/projects/r{next}.md"));
                next += 1;
                fs::rename(&from, &to).unwrap();
                changed.extend([from, to]);
            }
            5 => {
                // A label moves to another project, or a new label appears.
                let n = rng.below(5);
                let p = site.join(format!("content/labels/l{n}.md"));
                fs::write(&p, label(&mut rng, n, &slugs, &site)).unwrap();
                changed.push(p);
            }
            6 => {
                // The collection's `_index.md` (title of its listing pages) appears,
                // changes or goes.
                let p = site.join("content/projects/_index.md");
                if p.exists() && rng.below(3) == 0 {
                    fs::remove_file(&p).unwrap();
                } else {
                    fs::write(&p, format!("---\ntitle: Projets {}\n---\nNos projets.\n", rng.below(100))).unwrap();
                }
                changed.push(p);
            }
            7 => {
                // A static file changes, appears or disappears.
                let p = site.join(format!("themes/default/static/extra{}.css", rng.below(2)));
                if p.exists() && rng.below(2) == 0 {
                    fs::remove_file(&p).unwrap();
                } else {
                    fs::write(&p, format!("p{{margin:{}px}}", rng.below(50))).unwrap();
                }
                changed.push(p);
            }
            8 => {
                // A template changes.
                let p = site.join("themes/default/templates/list.html");
                fs::write(&p, LIST.replace("{{ section.title }}:", &format!("{{{{ section.title }}}} v{}:", rng.below(100)))).unwrap();
                changed.push(p);
            }
            9..=11 => {
                // Edit one thing of a project: its body only (no card changes), its date
                // only (it moves in its listing and terms) or its countries only.
                let s = &slugs[rng.below(slugs.len())];
                if s.starts_with("bundle") {
                    continue;
                }
                let p = site.join(format!("content/projects/{s}.md"));
                let text = fs::read_to_string(&p).unwrap();
                let text = match op {
                    9 => format!("{text}\nParagraphe {}.\n", rng.next() % 1000),
                    10 => replace_line(&text, "date: ", &format!("date: 2026-0{}-1{}", 1 + rng.below(9), rng.below(9))),
                    _ => {
                        let countries = ["France", "Espagne", "Italie", "Grèce"];
                        replace_line(&text, "countries: ", &format!("countries: [{}]", countries[rng.below(4)]))
                    }
                };
                fs::write(&p, text).unwrap();
                changed.push(p);
            }
            12 => {
                // The bundle's text changes but not its image: the processed image is kept.
                let p = site.join("content/projects/bundle/index.md");
                let text = fs::read_to_string(&p).unwrap();
                fs::write(&p, replace_line(&text, "date: ", &format!("date: 2026-0{}-02", 1 + rng.below(9)))).unwrap();
                changed.push(p);
            }
            13 => {
                // A broken internal link fails the rebuild and leaves the site as it was;
                // the fix (with another date) must then be compared with the last good state.
                let s = &slugs[rng.below(slugs.len())];
                if s.starts_with("bundle") {
                    continue;
                }
                let p = site.join(format!("content/projects/{s}.md"));
                let good = fs::read_to_string(&p).unwrap();
                if good.contains("draft: true") {
                    continue; // drafts are not rendered, so their links are not checked
                }
                let broken = replace_line(&good, "date: ", &format!("date: 2026-0{}-2{}", 1 + rng.below(9), rng.below(9)));
                fs::write(&p, format!("{broken}\n[lien](@/projects/nulle-part.md)\n")).unwrap();
                assert!(inc.apply(std::slice::from_ref(&p)).is_err(), "step {step}: a broken link must fail the rebuild");
                fs::write(&p, replace_line(&good, "date: ", &format!("date: 2026-0{}-2{}", 1 + rng.below(9), rng.below(9)))).unwrap();
                changed.push(p);
            }
            15 => {
                // A whole bundle (directory with its text and image) appears or goes at once,
                // as when the daemon publishes an approval or a folder is moved away.
                let dir = site.join("content/projects/bundle-extra");
                let labels = fs::read_dir(site.join("content/labels")).unwrap().map(|e| fs::read_to_string(e.unwrap().path()).unwrap()).collect::<Vec<_>>().join("\n");
                if dir.exists() {
                    if labels.contains("project: bundle-extra\n") {
                        continue;
                    }
                    fs::remove_dir_all(&dir).unwrap();
                } else {
                    write(&site, "content/projects/bundle-extra/index.md", format!("---\ntitle: Autre paquet\ndate: 2026-03-0{}\ncountries: [Italie]\ncover: {{ src: photo.png, alt: Une photo }}\n---\nTexte.\n", 1 + rng.below(9)).as_bytes());
                    write(&site, "content/projects/bundle-extra/photo.png", PNG);
                }
                changed.push(dir);
            }
            14 => {
                // A file that came and went before the rebuild (Vim's `4913` probe file).
                let p = site.join("content/projects/4913");
                fs::write(&p, b"").unwrap();
                fs::remove_file(&p).unwrap();
                changed.push(p);
            }
            _ => {
                let p = site.join("content/projects/bundle/index.md");
                let alt = format!("Image {}", rng.next() % 100);
                fs::write(&p, format!("---\ntitle: Paquet {alt}\ndate: 2026-02-02\ncover: {{ src: img.png, alt: \"{alt}\" }}\n---\nTexte.\n")).unwrap();
                changed.push(p);
            }
        }
        // Drafts referenced by labels make warnings, not errors; any error here is a test failure.
        inc.apply(&changed).unwrap_or_else(|e| panic!("step {step} (op {op}): {e}"));

        let full = dir.path().join(format!("full{step}"));
        let mut fopts = BuildOptions::new(&site);
        fopts.out = full.clone();
        fopts.now = Some(now.clone());
        vitrine_generator::build(&fopts).unwrap();
        let (a, b) = (tree(&dir.path().join("incremental")), tree(&full));
        let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).collect();
        let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).collect();
        assert!(only_a.is_empty() && only_b.is_empty(), "step {step} (op {op}): stale {only_a:?}, missing {only_b:?}");
        for (k, v) in &a {
            assert!(v == &b[k], "step {step} (op {op}): {} differs:\n--- incremental\n{}\n--- full\n{}", k.display(), String::from_utf8_lossy(v), String::from_utf8_lossy(&b[k]));
        }
        fs::remove_dir_all(&full).unwrap();
    }
}

/// The daemon's editor checks an edit in memory (`check_addition` with the new
/// text of an existing file) before writing it: the rebuild that follows must
/// still patch the model in place (one page for a body edit), not rebuild it.
#[test]
fn an_edit_checked_in_memory_first_is_still_patched_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    write(&site, "vitrine.yaml", CONFIG.as_bytes());
    for (name, text) in [("base.html", BASE), ("entry.html", ENTRY), ("list.html", LIST), ("term.html", TERM), ("taxonomy.html", TAX), ("index.html", INDEX), ("404.html", "introuvable")] {
        write(&site, &format!("themes/default/templates/{name}"), text.as_bytes());
    }
    write(&site, "content/_index.md", b"---\ntitle: Accueil\n---\nBienvenue.\n");
    for n in 0..4 {
        write(&site, &format!("content/projects/p{n}.md"), format!("---\ntitle: \"Projet {n}\"\ndate: 2026-01-0{}\n---\nTexte {n}.\n", n + 1).as_bytes());
    }
    let mut opts = BuildOptions::new(&site);
    opts.out = dir.path().join("out");
    let (mut inc, _) = Site::open(opts).unwrap();
    let p = site.join("content/projects/p1.md");
    let base = fs::read_to_string(&p).unwrap();
    fs::write(&p, format!("{base}\nUn.\n")).unwrap();
    let plain = inc.apply(std::slice::from_ref(&p)).unwrap().pages;
    assert_eq!(plain, 1, "a body edit renders its page only");
    let text = format!("{base}\nDeux.\n");
    inc.check_addition(vec![vitrine_generator::load::SourceFile { rel: "projects/p1.md".into(), text: text.clone() }], Vec::new()).unwrap();
    fs::write(&p, &text).unwrap();
    let checked = inc.apply(&[p]).unwrap().pages;
    assert_eq!(checked, plain, "checked first, then patched in place");
    assert!(fs::read_to_string(dir.path().join("out/projets/p1/index.html")).unwrap().contains("Deux."));
}
