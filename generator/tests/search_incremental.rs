//! Incremental rebuilds keep the search index up to date: after an edit, an
//! addition and a deletion applied through `incremental::Site`, the pagefind
//! bundle on disk is byte-identical to the one of a fresh full build, and the
//! new words are found in it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use vitrine_generator::BuildOptions;
use vitrine_generator::incremental::Site;

const CONFIG: &str = "title: T\nbase_url: https://t.example.org\ntaxonomies:\n  - { name: countries, title: Pays, path: pays }\ncollections:\n  projects:\n    title: Projets\n    path: projets\n    template: entry.html\n    fields:\n      countries: { type: list, taxonomy: countries, item: { type: string } }\n";
const ENTRY: &str = r#"<html lang="fr"><body><article data-pagefind-body><h1>{{ page.title }}</h1>{{ page.content | safe }}<div hidden data-pagefind-ignore>{% for t in page.terms.countries or [] %}<span data-pagefind-filter="countries">{{ t.name }}</span>{% endfor %}</div></article></body></html>"#;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn bundle(out: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files(out, "pagefind")
}

/// The files under `out/sub`, by path relative to `out`, with their bytes.
fn files(out: &Path, sub: &str) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(out.join(sub))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(out).unwrap().to_path_buf(), fs::read(e.path()).unwrap()))
        .collect()
}

fn opts(site: &Path, out: &Path) -> BuildOptions {
    let mut o = BuildOptions::new(site);
    o.out = out.to_path_buf();
    o.now = Some("2026-11-28T10:00:00+01:00[Europe/Paris]".parse().unwrap());
    o
}

/// A site with search on and two projects, a and b, under `root/site`.
fn two_project_site(root: &Path) -> PathBuf {
    let site = root.join("site");
    write(&site, "vitrine.yaml", CONFIG);
    let t = "themes/default/templates/";
    for name in ["index.html", "404.html", "taxonomy.html", "term.html"] {
        write(&site, &format!("{t}{name}"), "<html><body>x</body></html>");
    }
    write(&site, &format!("{t}entry.html"), ENTRY);
    write(&site, &format!("{t}search.html"), "<html><body>recherche</body></html>");
    write(&site, "content/_index.md", "---\ntitle: Accueil\n---\n");
    write(&site, "content/projects/a.md", "---\ntitle: Jardins\ncountries: [Espagne]\n---\nUn potager partagé.\n");
    write(&site, "content/projects/b.md", "---\ntitle: Étoiles\ncountries: [Pologne]\n---\nAstronomie.\n");
    site
}

#[test]
fn incremental_index_matches_a_full_build() {
    let dir = tempfile::tempdir().unwrap();
    let site = two_project_site(dir.path());

    let out = dir.path().join("inc");
    let (mut s, report) = Site::open(opts(&site, &out)).unwrap();
    assert!(report.timings.iter().any(|(n, _)| *n == "recherche"), "search is a timed stage");
    let first = bundle(&out);
    assert!(first.keys().any(|p| p.ends_with("pagefind.js")));

    write(&site, "content/projects/a.md", "---\ntitle: Jardins\ncountries: [Espagne, Italie]\n---\nUn potager partagé et une mare.\n");
    write(&site, "content/projects/c.md", "---\ntitle: Théâtre\ncountries: [Grèce]\n---\nUne pièce jouée à trois voix.\n");
    fs::remove_file(site.join("content/projects/b.md")).unwrap();
    s.apply(&[site.join("content/projects/a.md"), site.join("content/projects/c.md"), site.join("content/projects/b.md")]).unwrap();
    let after = bundle(&out);
    assert_ne!(first, after, "the index changed");

    let full = dir.path().join("full");
    vitrine_generator::build(&opts(&site, &full)).unwrap();
    assert_eq!(after.keys().collect::<Vec<_>>(), bundle(&full).keys().collect::<Vec<_>>());
    assert!(after == bundle(&full), "incremental bundle differs from a full build's");
    // The entry file counts two pages (a and c; b was deleted).
    let entry: serde_json::Value = serde_json::from_slice(&after[&PathBuf::from("pagefind/pagefind-entry.json")]).unwrap();
    assert_eq!(entry["languages"]["fr"]["page_count"], 2);
}

/// With the index deferred (`serve`), a rebuild writes its pages at once and leaves
/// the bundle as it was; the job then brings it to exactly a full build's, also when
/// the pages changed again between the job's snapshot and its run.
#[test]
fn deferred_index_follows_the_pages_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let site = two_project_site(dir.path());

    let out = dir.path().join("inc");
    let (mut s, _) = Site::open(opts(&site, &out)).unwrap();
    s.defer_search(true);
    assert!(!s.search_pending(), "the first build indexes in line");
    let first = bundle(&out);

    // An edit: the page is written, the index is not (yet).
    write(&site, "content/projects/a.md", "---\ntitle: Jardins\ncountries: [Espagne, Italie]\n---\nUn potager partagé et une mare.\n");
    let report = s.apply(&[site.join("content/projects/a.md")]).unwrap();
    assert!(!report.timings.iter().any(|(n, _)| *n == "recherche"), "no search stage in a deferred rebuild");
    assert!(fs::read_to_string(out.join("projets/a/index.html")).unwrap().contains("une mare"));
    assert!(s.search_pending());
    assert!(bundle(&out) == first, "the bundle waits for the job");

    // The job snapshots the pages; an addition and a deletion happen before it runs.
    let job = s.search_job().expect("a job while the index is stale");
    write(&site, "content/projects/c.md", "---\ntitle: Théâtre\ncountries: [Grèce]\n---\nUne pièce jouée à trois voix.\n");
    fs::remove_file(site.join("content/projects/b.md")).unwrap();
    s.apply(&[site.join("content/projects/c.md"), site.join("content/projects/b.md")]).unwrap();
    let stale_bundle = job.run().expect("a page deleted meanwhile is skipped, not an error");
    s.finish_search(&job, stale_bundle).unwrap();
    assert!(s.search_pending(), "an index made before the last rebuild leaves the search pending");

    s.update_search().unwrap();
    assert!(!s.search_pending());
    assert!(s.search_job().is_none());
    let full = dir.path().join("full");
    vitrine_generator::build(&opts(&site, &full)).unwrap();
    assert_eq!(bundle(&out).keys().collect::<Vec<_>>(), bundle(&full).keys().collect::<Vec<_>>());
    assert!(bundle(&out) == bundle(&full), "caught-up bundle differs from a full build's");
    // And nothing else differs either: the whole output is a full build's.
    let (inc, fb) = (files(&out, ""), files(&full, ""));
    assert_eq!(inc.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    assert!(inc == fb, "incremental output with a deferred index differs from a full build");
}
