//! End-to-end tests of `vitrine build` through the real binary.
//!
//! Two sites: the example site of the repository (the real theme and content,
//! checked for completeness, links, accessibility basics, feeds and sitemap,
//! with expectations derived from its sources rather than hard-coded), and the
//! small fixture `tests/fixtures/minimal/` whose exact content is known, for the
//! publication rules (drafts, future dates), pagination, taxonomy counts, `@/`
//! links, page bundles and incremental writes.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;

const EXAMPLE_BASE: &str = "https://vitrine.example.org";
const MINI_BASE: &str = "https://mini.example.org";

/// Front-matter facts of the entries of one example collection, read straight
/// from `content/` (independently of the generator): slug → published?
fn example_entries(site: &Path, dir: &str) -> BTreeMap<String, bool> {
    let root = site.join("content").join(dir);
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(&root).unwrap() {
        let p = e.unwrap().path();
        let (slug, file) = if p.is_dir() {
            (p.file_name().unwrap().to_str().unwrap().to_string(), p.join("index.md"))
        } else if p.extension().is_some_and(|x| x == "md") && p.file_name().unwrap() != "_index.md" {
            (p.file_stem().unwrap().to_str().unwrap().to_string(), p.clone())
        } else {
            continue;
        };
        assert!(
            slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "example file names are expected to be slugs already: {slug}"
        );
        let text = std::fs::read_to_string(&file).unwrap();
        let fm = text.split("\n---").next().unwrap();
        let draft = fm.lines().any(|l| l.trim() == "draft: true");
        let future = fm
            .lines()
            .find_map(|l| l.strip_prefix("date:"))
            .map(|d| d.trim().trim_matches(['"', '\'']).to_string())
            .is_some_and(|d| d.as_str() > TODAY);
        out.insert(slug, !draft && !future);
    }
    out
}

/// A top-level scalar of the example's `vitrine.yaml` (`paginate: 12`).
fn example_config_value(site: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(site.join("vitrine.yaml")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no top-level {key} in vitrine.yaml"))
        .trim()
        .trim_matches('"')
        .to_string()
}

/// Distinct links of a page matching `/{prefix}/<one segment>/`, excluding `page/`.
fn entry_links(built: &Built, page: &str, prefix: &str) -> BTreeSet<String> {
    built
        .attrs(page, "a[href]", "href")
        .into_iter()
        .filter(|h| {
            h.strip_prefix(&format!("/{prefix}/"))
                .and_then(|r| r.strip_suffix('/'))
                .is_some_and(|slug| !slug.is_empty() && !slug.contains('/') && slug != "page")
        })
        .collect()
}

/// One test for the example site, so that its copy (and its image cache) is made once.
#[test]
fn example_site() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_example_site(&site);
    example_site_is_complete_linked_accessible_and_well_formed(&site, &tmp.path().join("public"));
    example_site_builds_reproducibly_and_checks_clean(&site, tmp.path());
}

fn example_site_is_complete_linked_accessible_and_well_formed(site: &Path, out: &Path) {
    let run = build(site, out, &[]);
    run.assert_ok();
    let s = summary(&run.stdout);
    assert_eq!(s.written, s.files, "a build into an empty directory writes every file");
    assert!(!run.stderr.contains("erreur"), "{}", run.stderr);
    let built = Built::load(out, EXAMPLE_BASE);
    assert_eq!(built.pages.len(), s.pages, "summary line counts the HTML pages");
    assert_eq!(walkdir(out).len(), s.files, "summary line counts the files");

    // Every page type of the portal.
    for p in [
        "index.html",
        "404.html",
        "projets/index.html",
        "formations/index.html",
        "labels/index.html",
        "contacts/index.html",
        "a-propos/index.html",
        "proposer/projets/index.html",
        "proposer/labels/index.html",
        "projets/atom.xml",
        "formations/atom.xml",
        "sitemap.xml",
        "robots.txt",
    ] {
        assert!(built.exists(p), "missing {p}");
    }
    for form in ["proposer/projets/index.html", "proposer/labels/index.html"] {
        assert!(built.page(form).select(&sel("form")).next().is_some(), "{form} has no <form>");
    }

    // Entry pages: exactly the published entries of each collection.
    let paginate: usize = example_config_value(site, "paginate").parse().unwrap();
    let collections = [("projects", "projets"), ("trainings", "formations"), ("labels", "labels")];
    let mut published: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (dir, path) in collections {
        let entries = example_entries(site, dir);
        for (slug, is_published) in &entries {
            let file = format!("{path}/{slug}/index.html");
            assert_eq!(built.exists(&file), *is_published, "{file}: published = {is_published}");
        }
        published.insert(path, entries.into_iter().filter(|(_, p)| *p).map(|(s, _)| format!("/{path}/{s}/")).collect());
    }
    let projects = &published["projets"];
    assert!(projects.len() >= 12, "the example site shows at least 12 projects, found {}", projects.len());
    assert!(published["formations"].len() >= 8, "at least 8 trainings");
    for (slug, is_published) in example_entries(site, "pages") {
        assert_eq!(built.exists(&format!("{slug}/index.html")), is_published, "page {slug}");
    }

    // Listings: paginated showcase covering every project once, catalogue, gallery.
    for (path, items) in &published {
        let pages = items.len().div_ceil(paginate).max(1);
        let mut seen = BTreeSet::new();
        for n in 1..=pages {
            let file = if n == 1 { format!("{path}/index.html") } else { format!("{path}/page/{n}/index.html") };
            let links = entry_links(&built, &file, path);
            // The showcase shows one page of projects at a time (other listings may show more).
            if *path == "projets" {
                assert!(links.len() <= paginate, "{file} lists {} projects, more than {paginate}", links.len());
            }
            seen.extend(links);
        }
        assert!(!built.exists(&format!("{path}/page/{}/index.html", pages + 1)), "{path}: one listing page too many");
        assert_eq!(&seen, items, "{path}: the listing pages link every published entry");
    }
    assert!(projects.len() > paginate, "the showcase is long enough to be paginated");
    assert!(built.exists("projets/page/2/index.html"));

    // Taxonomies: every index links exactly the term pages that exist, each term page exists.
    let taxonomies = ["pays", "disciplines", "niveaux", "langues", "types-de-label", "annees"];
    for t in taxonomies {
        let index = format!("{t}/index.html");
        assert!(built.exists(&index), "missing taxonomy index {index}");
        let linked = entry_links(&built, &index, t);
        let on_disk: BTreeSet<String> = built
            .pages
            .keys()
            .filter_map(|p| p.strip_prefix(&format!("{t}/"))?.strip_suffix("/index.html"))
            .filter(|slug| !slug.contains('/'))
            .map(|slug| format!("/{t}/{slug}/"))
            .collect();
        assert!(!linked.is_empty(), "{index} lists no term");
        assert_eq!(linked, on_disk, "{index}: listed terms vs term pages");
    }
    assert!(built.exists("pays/france/index.html"));
    assert!(built.exists("types-de-label/label-de-qualite-national/index.html"));
    let paged_terms: Vec<&String> = built.pages.keys().filter(|p| taxonomies.iter().any(|t| p.starts_with(&format!("{t}/"))) && p.contains("/page/")).collect();
    assert!(!paged_terms.is_empty(), "some term of the example site has more than {paginate} entries and is paginated");

    // Every page: lang, skip link, one h1, alt on images, no external resource, unique ids.
    let problems: Vec<String> = built.pages.keys().flat_map(|p| built.page_problems(p, "fr")).collect();
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));

    // Every internal link and anchor resolves.
    let broken = built.broken_links();
    assert!(broken.is_empty(), "{} broken links:\n{}", broken.len(), broken.join("\n"));

    // Every srcset candidate (WebP <source> and JPEG/PNG <img>) is a file of the site,
    // and each WebP one really is WebP (RIFF container).
    let mut candidates = 0;
    for (page, html) in &built.pages {
        for el in html.select(&sel("picture source[srcset], img[srcset]")) {
            let webp = el.value().attr("type") == Some("image/webp");
            for cand in el.value().attr("srcset").unwrap().split(", ") {
                let url = cand.split(' ').next().unwrap();
                let (target, _) = resolve(page, url, EXAMPLE_BASE).unwrap_or_else(|| panic!("{page}: srcset {url}"));
                assert!(built.exists(&target), "{page}: srcset candidate {url} does not exist");
                if webp {
                    let bytes = std::fs::read(out.join(&target)).unwrap();
                    assert!(url.ends_with(".webp") && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP", "{page}: {url} is not WebP");
                }
                candidates += 1;
            }
        }
    }
    assert!(candidates >= 60, "the example site's covers give srcset candidates ({candidates})");

    // Canonical URLs are absolute on the base URL and point at the page itself.
    let mut canonical_entries = 0;
    for (page, html) in &built.pages {
        for link in html.select(&sel("link[rel=canonical]")) {
            let href = link.value().attr("href").unwrap_or("");
            assert_eq!(href, format!("{EXAMPLE_BASE}{}", file_url(page)), "{page}: canonical");
            canonical_entries += 1;
        }
    }
    assert!(canonical_entries >= projects.len(), "entry pages carry a canonical URL");

    // Feeds: well-formed Atom, one entry per published entry (at most 50), on the base URL.
    for (feed, path) in [("projets/atom.xml", "projets"), ("formations/atom.xml", "formations")] {
        let links = feed_links(&built.read(feed), feed, EXAMPLE_BASE);
        let expected: BTreeSet<String> = published[path].iter().map(|u| format!("{EXAMPLE_BASE}{u}")).collect();
        assert_eq!(links.len(), expected.len().min(50), "{feed}: number of entries");
        assert!(links.iter().all(|l| expected.contains(l)), "{feed}: entries are published {path} pages");
    }

    // Sitemap: absolute URLs, no duplicate, only pages that exist and may be indexed
    // (never the 404 or the submission forms), and every content page: home,
    // entries, listing pages, taxonomy indexes and term pages.
    let urls = sitemap_urls(&built.read("sitemap.xml"), EXAMPLE_BASE);
    let in_sitemap: BTreeSet<String> = urls.iter().cloned().collect();
    assert_eq!(urls.len(), in_sitemap.len(), "sitemap: duplicate URLs");
    let noindex = |p: &str| {
        built.page(p).select(&sel("meta[name=robots]")).any(|m| m.value().attr("content").is_some_and(|c| c.contains("noindex")))
    };
    for u in &in_sitemap {
        let file = url_file(u.strip_prefix(EXAMPLE_BASE).unwrap());
        assert!(built.pages.contains_key(&file), "sitemap: {u} is not a page of the site");
        assert!(!noindex(&file), "sitemap: {u} is marked noindex");
    }
    for p in ["404.html", "proposer/projets/index.html", "proposer/labels/index.html"] {
        assert!(noindex(p), "{p} should not be indexed");
    }
    let required = built.pages.keys().filter(|p| {
        *p == "index.html"
            || published.values().flatten().any(|u| url_file(u) == **p)
            || published.keys().any(|c| p.starts_with(&format!("{c}/page/")) || **p == format!("{c}/index.html"))
            || taxonomies.iter().any(|t| p.starts_with(&format!("{t}/")))
            || example_entries(site, "pages").iter().any(|(slug, ok)| *ok && **p == format!("{slug}/index.html"))
    });
    for p in required {
        let u = format!("{EXAMPLE_BASE}{}", file_url(p));
        assert!(in_sitemap.contains(&u), "sitemap: {u} is missing");
    }

    let robots = built.read("robots.txt");
    assert!(robots.lines().any(|l| l == format!("Sitemap: {EXAMPLE_BASE}/sitemap.xml")), "robots.txt: {robots}");
    assert!(robots.contains("User-agent: *"));
}

fn example_site_builds_reproducibly_and_checks_clean(site: &Path, tmp: &Path) {
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    build(site, &a, &[]).assert_ok();
    build(site, &b, &[]).assert_ok();
    let (ta, tb) = (tree(&a), tree(&b));
    let again = build(site, &a, &[]);
    again.assert_ok();
    assert_eq!(summary(&again.stdout).written, 0, "rebuilding the unchanged example site writes nothing");
    assert_eq!(tree(&a), ta);
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, snap) in &ta {
        assert!(snap.bytes == tb[path].bytes, "{path} differs between two builds of the same sources");
    }
    let run = check(site);
    run.assert_ok();
    assert_eq!(summary(&run.stdout).written, 0, "check writes nothing");
}

/// Copies the minimal fixture into a temp dir, so tests may change it.
fn minimal_site() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_dir(&fixture("minimal"), &site);
    (tmp, site)
}

fn card_slugs(built: &Built, page: &str) -> Vec<String> {
    built.attrs(page, ".listing .card", "data-slug")
}

fn term_counts(built: &Built, taxonomy: &str) -> BTreeMap<String, usize> {
    built
        .page(&format!("{taxonomy}/index.html"))
        .select(&sel(".terms li"))
        .map(|li| (li.value().attr("data-slug").unwrap().to_string(), li.value().attr("data-count").unwrap().parse().unwrap()))
        .collect()
}

#[test]
fn minimal_site_publication_pagination_taxonomies_links_and_bundles() {
    let (tmp, site) = minimal_site();
    let out = tmp.path().join("out");
    let run = build(&site, &out, &[]);
    run.assert_ok();
    let built = Built::load(&out, MINI_BASE);

    // Published: four notes; the draft and the future note are left out everywhere.
    let notes: BTreeSet<String> =
        built.pages.keys().filter_map(|p| p.strip_prefix("notes/")?.strip_suffix("/index.html")).filter(|s| *s != "page/2").map(str::to_string).collect();
    assert_eq!(notes, ["alpha", "beta", "delta", "gamma"].map(String::from).into());
    for gone in ["brouillon", "futur"] {
        assert!(!out.join("notes").join(gone).exists(), "notes/{gone} must not be published");
        for (page, html) in &built.pages {
            assert!(!html.html().contains(&format!("/notes/{gone}/")), "{page} links unpublished notes/{gone}");
        }
        for xml in ["sitemap.xml", "notes/atom.xml"] {
            assert!(!built.read(xml).contains(&format!("/notes/{gone}/")), "{xml} lists unpublished notes/{gone}");
        }
    }
    assert!(!built.exists("mots-cles/inacheve/index.html"), "a term used only by a draft has no page");
    assert!(!built.exists("mots-cles/avenir/index.html"), "a term used only by a future entry has no page");

    // Pagination (paginate: 2), newest first.
    assert_eq!(card_slugs(&built, "notes/index.html"), ["delta", "gamma"]);
    assert_eq!(card_slugs(&built, "notes/page/2/index.html"), ["beta", "alpha"]);
    assert!(!built.exists("notes/page/3/index.html"));
    assert_eq!(built.attrs("notes/index.html", "a[rel=next]", "href"), ["/notes/page/2/"]);
    assert_eq!(built.attrs("notes/page/2/index.html", "a[rel=prev]", "href"), ["/notes/"]);
    assert_eq!(built.attrs("notes/index.html", ".listing", "data-total-items"), ["4"]);
    // `paginate: 0` lists everything on one page.
    assert_eq!(card_slugs(&built, "echos/index.html"), ["echo-beta"]);
    assert!(!built.exists("echos/page/2/index.html"));

    // Taxonomies and counts, including an enum field used as a taxonomy.
    assert_eq!(term_counts(&built, "mots-cles"), BTreeMap::from([("art".into(), 1), ("eau".into(), 3), ("sciences".into(), 2)]));
    assert_eq!(term_counts(&built, "pays"), BTreeMap::from([("france".into(), 1), ("italie".into(), 1), ("pologne".into(), 1)]));
    assert_eq!(built.attrs("mots-cles/eau/index.html", ".count", "data-count"), ["3"]);
    assert_eq!(card_slugs(&built, "mots-cles/eau/index.html"), ["delta", "beta"]);
    assert_eq!(card_slugs(&built, "mots-cles/eau/page/2/index.html"), ["alpha"]);
    assert!(!built.exists("mots-cles/eau/page/3/index.html"));
    assert!(!built.exists("mots-cles/sciences/page/2/index.html"));
    assert_eq!(built.attrs("notes/beta/index.html", ".terms a", "href"), ["/pays/italie/", "/mots-cles/eau/"]);

    // `@/` links resolved, with their anchors, in entries, sections and the home page.
    assert_eq!(built.attrs("echos/echo-beta/index.html", ".content a", "href"), ["/notes/beta/", "/notes/alpha/#une-section"]);
    assert!(built.ids("notes/alpha/index.html").contains("une-section"));
    assert_eq!(built.attrs("a-propos/index.html", ".page a:not(.heading-anchor)", "href"), ["/notes/", "/echos/"]);
    assert!(built.attrs("index.html", "main a", "href").contains(&"/a-propos/".to_string()));
    // References and back-references.
    assert_eq!(built.attrs("echos/echo-beta/index.html", ".ref a", "href"), ["/notes/beta/"]);
    assert_eq!(built.attrs("notes/beta/index.html", ".echos a", "href"), ["/echos/echo-beta/"]);

    // Bundle assets are copied next to their page, byte for byte, and the image field points there.
    for asset in ["cover.png", "doc.txt"] {
        let copied = std::fs::read(out.join("notes/beta").join(asset)).unwrap();
        assert_eq!(copied, std::fs::read(site.join("content/notes/beta").join(asset)).unwrap(), "{asset}");
    }
    // The image field points at a file of the bundle (the original or a resized variant).
    let src = built.attrs("notes/beta/index.html", "img.cover", "src");
    assert!(src.len() == 1 && src[0].starts_with("/notes/beta/cover") && built.exists(&src[0][1..]), "{src:?}");
    assert_eq!(built.attrs("notes/beta/index.html", "img.cover", "alt"), ["Un carré de couleur"]);
    // Static files of the theme and of the site; the site's template overrides the theme's.
    assert!(built.exists("css/mini.css") && built.exists("humans.txt"));
    assert!(built.page("a-propos/index.html").select(&sel(".page--site-override")).next().is_some());
    assert!(built.page("404.html").select(&sel("h1")).next().is_some());

    let broken = built.broken_links();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    let problems: Vec<String> = built.pages.keys().flat_map(|p| built.page_problems(p, "fr")).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Feed and sitemap: the four notes, every page but the 404.
    let feed: BTreeSet<String> = feed_links(&built.read("notes/atom.xml"), "notes/atom.xml", MINI_BASE).into_iter().collect();
    assert_eq!(feed, notes.iter().map(|n| format!("{MINI_BASE}/notes/{n}/")).collect());
    let urls = sitemap_urls(&built.read("sitemap.xml"), MINI_BASE);
    let expected: BTreeSet<String> = built.pages.keys().filter(|p| *p != "404.html").map(|p| format!("{MINI_BASE}{}", file_url(p))).collect();
    assert_eq!(urls.len(), expected.len());
    assert_eq!(urls.into_iter().collect::<BTreeSet<_>>(), expected);
    assert_eq!(built.read("robots.txt").lines().last(), Some(format!("Sitemap: {MINI_BASE}/sitemap.xml").as_str()));
}

#[test]
fn drafts_are_published_only_with_the_flag_and_future_entries_never() {
    let (tmp, site) = minimal_site();
    let out = tmp.path().join("out");
    build(&site, &out, &["--drafts"]).assert_ok();
    let built = Built::load(&out, MINI_BASE);
    assert!(built.exists("notes/brouillon/index.html"));
    assert!(!built.exists("notes/futur/index.html"), "--drafts does not publish future entries");
    assert_eq!(term_counts(&built, "mots-cles")["eau"], 4);
    assert_eq!(term_counts(&built, "mots-cles")["inacheve"], 1);
    assert!(!term_counts(&built, "mots-cles").contains_key("avenir"));
    assert_eq!(card_slugs(&built, "notes/index.html"), ["brouillon", "delta"]);
    assert!(built.exists("notes/page/3/index.html"), "five notes, two per page");
    let feed = feed_links(&built.read("notes/atom.xml"), "notes/atom.xml", MINI_BASE);
    assert_eq!(feed.len(), 5);
}

#[test]
fn a_reference_to_an_unpublished_entry_is_a_warning_not_an_error() {
    let (tmp, site) = minimal_site();
    let out = tmp.path().join("out");
    write_files(&site, &[("content/echos/echo-futur.md", Some("---\ntitle: Écho du futur\nnote: futur\n---\n\nBientôt.\n"))]);
    let run = build(&site, &out, &[]);
    run.assert_ok();
    let warning = "content/echos/echo-futur.md:3:7: note: « futur » n'est pas publié (brouillon ou date future)";
    assert!(run.stderr.lines().any(|l| l.trim_start_matches("avertissement : ").starts_with(warning)), "{}", run.stderr);
    assert!(run.stdout.contains("1 avertissement"), "{}", run.stdout);
    let built = Built::load(&out, MINI_BASE);
    assert!(built.page("echos/echo-futur/index.html").select(&sel(".ref")).next().is_none(), "no link to the unpublished note");
}

#[test]
fn rebuilds_write_only_changes_and_remove_deleted_outputs() {
    let (tmp, site) = minimal_site();
    let out = tmp.path().join("out");

    let first = build(&site, &out, &[]);
    first.assert_ok();
    let s1 = summary(&first.stdout);
    assert_eq!((s1.written, s1.removed), (s1.files, 0));
    let before = tree(&out);
    assert_eq!(before.len(), s1.files);

    // Nothing changed: nothing written, nothing removed, not even touched.
    let second = build(&site, &out, &[]);
    second.assert_ok();
    let s2 = summary(&second.stdout);
    assert_eq!((s2.written, s2.removed, s2.files), (0, 0, s1.files), "{}", second.stdout);
    assert_eq!(tree(&out), before, "a no-op rebuild leaves every file as it was");

    // One entry edited: its page and the pages listing it are rewritten, nothing else.
    let alpha = std::fs::read_to_string(site.join("content/notes/alpha.md")).unwrap();
    write_files(&site, &[("content/notes/alpha.md", Some(&alpha.replace("Du texte sous la section.", "Un texte modifié.")))]);
    let third = build(&site, &out, &[]);
    third.assert_ok();
    let after_edit = tree(&out);
    let changed: Vec<&String> = after_edit.keys().filter(|k| after_edit[*k].bytes != before[*k].bytes).collect();
    assert_eq!(changed, ["notes/alpha/index.html"], "only the edited page's bytes changed");
    assert_eq!(summary(&third.stdout).written, 1);

    // An entry deleted: its page and the term page only it used are removed.
    write_files(&site, &[("content/notes/gamma.md", None)]);
    let fourth = build(&site, &out, &[]);
    fourth.assert_ok();
    let s4 = summary(&fourth.stdout);
    let after = tree(&out);
    let removed: BTreeSet<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    assert_eq!(removed, BTreeSet::from([&"notes/gamma/index.html".to_string(), &"mots-cles/art/index.html".to_string()]));
    assert_eq!(s4.removed, 2);
    assert_eq!(s4.files, s1.files - 2);
    assert!(!out.join("notes/gamma").exists() && !out.join("mots-cles/art").exists(), "emptied directories are removed too");
    assert!(!after.keys().any(|k| k.contains(".vitrine-tmp")), "no temporary file left behind");
    let built = Built::load(&out, MINI_BASE);
    assert_eq!(term_counts(&built, "mots-cles")["sciences"], 1);
    assert!(!built.read("sitemap.xml").contains("/notes/gamma/"));
    assert!(built.broken_links().is_empty(), "{:?}", built.broken_links());
    assert_eq!(summary(&build(&site, &out, &[]).stdout).written, 0);
}

#[test]
fn new_scaffolds_an_entry_that_builds_as_a_draft() {
    let (tmp, site) = minimal_site();
    let run = vitrine(&["new", "notes", "Été à Kraków !", "--site", site.to_str().unwrap()]);
    run.assert_ok();
    let created = Path::new(run.stdout.trim());
    assert_eq!(created, site.join("content/notes/ete-a-krakow.md"));
    let text = std::fs::read_to_string(created).unwrap();
    assert!(text.starts_with("---\ntitle: \"Été à Kraków !\"\n"), "{text}");
    assert!(text.contains("draft: true"));
    // A second entry with the same title never overwrites the first.
    let again = vitrine(&["new", "notes", "Été à Kraków !", "--site", site.to_str().unwrap()]);
    again.assert_ok();
    assert_eq!(Path::new(again.stdout.trim()), site.join("content/notes/ete-a-krakow-2.md"));
    assert_eq!(std::fs::read_to_string(created).unwrap(), text);

    let out = tmp.path().join("out");
    build(&site, &out, &[]).assert_ok();
    assert!(!out.join("notes/ete-a-krakow").exists(), "a new entry is a draft");
    build(&site, &out, &["--drafts"]).assert_ok();
    assert!(out.join("notes/ete-a-krakow/index.html").is_file());

    let unknown = vitrine(&["new", "nootes", "X", "--site", site.to_str().unwrap()]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("collection « nootes » inconnue"), "{}", unknown.stderr);
}

/// Issue 11: on the example site too, with its patterns and minimum lengths,
/// every collection's new draft builds, and the command says how to see it.
#[test]
fn new_drafts_of_the_example_site_build() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_example_site(&site);
    for (collection, title) in [("projects", "Un projet à écrire"), ("trainings", "Une formation à venir"), ("labels", "Un label à demander"), ("pages", "Une page")] {
        let run = vitrine(&["new", collection, title, "--site", site.to_str().unwrap()]);
        run.assert_ok();
        assert!(run.stderr.contains("vitrine serve --drafts"), "{}", run.stderr);
    }
    let out = tmp.path().join("out");
    build(&site, &out, &["--drafts"]).assert_ok();
    assert!(out.join("projets/un-projet-a-ecrire/index.html").is_file());
    assert!(out.join("formations/une-formation-a-venir/index.html").is_file());
}

#[test]
fn the_link_resolver_of_these_tests_resolves_like_a_browser() {
    let page = "notes/beta/index.html";
    let r = |l: &str| resolve(page, l, MINI_BASE);
    assert_eq!(r("doc.txt"), Some(("notes/beta/doc.txt".into(), None)));
    assert_eq!(r("../alpha/#une-section"), Some(("notes/alpha/index.html".into(), Some("une-section".into()))));
    assert_eq!(r("/"), Some(("index.html".into(), None)));
    assert_eq!(r("/pays/r%C3%A9union/?x=1"), Some(("pays/réunion/index.html".into(), None)));
    assert_eq!(r("#top"), Some((page.into(), Some("top".into()))));
    assert_eq!(r("https://mini.example.org/notes/"), Some(("notes/index.html".into(), None)));
    assert_eq!(r("https://mini.example.org"), Some(("index.html".into(), None)));
    for external in ["https://mini.example.org.evil/x", "https://other.example/", "//cdn.example/x.js", "mailto:a@b.c", "tel:+33100000000"] {
        assert_eq!(r(external), None, "{external}");
    }
    // And the checker does report what does not resolve.
    let tmp = tempfile::tempdir().unwrap();
    write_files(
        tmp.path(),
        &[
            ("index.html", Some("<html lang=fr><body><a href=\"#c\">x</a><main id=c><h1>t</h1><a href=\"/a/#nope\">a</a><img src=\"/missing.png\"></main></body></html>")),
            ("a/index.html", Some("<html><body><p id=\"yes\"></p></body></html>")),
        ],
    );
    let built = Built::load(tmp.path(), MINI_BASE);
    assert_eq!(built.broken_links().len(), 2, "{:?}", built.broken_links());
    assert_eq!(built.page_problems("index.html", "fr"), ["index.html: <img src=Some(\"/missing.png\")> without alt"]);
}

/// Privacy by default: a correspondent's phone photo carries the GPS position in
/// its EXIF. Nothing of it may reach `public/`, neither in the published original
/// nor in any resized variant.
#[test]
fn photo_metadata_never_reaches_public() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_example_site(&site);
    let cover = site.join("content/projects/sur-les-planches/cover.jpg");
    let jpeg = std::fs::read(&cover).unwrap();
    assert_eq!(&jpeg[..2], b"\xFF\xD8");
    let secret = b"GPSLatitude 43.6047N Mme-Martin-Phone";
    let mut app1 = b"Exif\0\0II*\0\x08\0\0\0".to_vec();
    app1.extend_from_slice(secret);
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend_from_slice(&[0xFF, 0xE1]);
    with_exif.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    with_exif.extend_from_slice(&app1);
    with_exif.extend_from_slice(&jpeg[2..]);
    std::fs::write(&cover, &with_exif).unwrap();
    // A second photo in the same bundle that no image field names (as if linked from the text).
    std::fs::write(site.join("content/projects/sur-les-planches/coulisses.jpg"), &with_exif).unwrap();

    let out = tmp.path().join("out");
    build(&site, &out, &[]).assert_ok();
    let published = out.join("projets/sur-les-planches/cover.jpg");
    let published = if published.is_file() {
        published
    } else {
        // Wherever the collection publishes it: find the original by name.
        walkdir(&out).into_iter().find(|p| p.ends_with("sur-les-planches/cover.jpg")).expect("the original cover is published")
    };
    let bytes = std::fs::read(&published).unwrap();
    assert_eq!(&bytes[..2], b"\xFF\xD8", "still a JPEG");
    assert!(walkdir(&out).iter().any(|p| p.ends_with("sur-les-planches/coulisses.jpg")), "the other photo is published");
    let mut leaked = Vec::new();
    for f in walkdir(&out) {
        let b = std::fs::read(&f).unwrap();
        if b.windows(secret.len()).any(|w| w == secret) {
            leaked.push(f.display().to_string());
        }
    }
    assert!(leaked.is_empty(), "EXIF content published in {leaked:?}");
}

/// Every file below `dir` whose name marks a temporary file of a write.
fn temporary_files(dir: &Path) -> Vec<String> {
    walkdir(dir)
        .iter()
        .map(|p| rel_path(p, dir))
        .filter(|r| r.contains(".vitrine-tmp") || r.ends_with(".tmp"))
        .collect()
}

#[test]
fn two_builds_of_one_site_at_once_both_succeed_with_a_complete_output_and_no_temporary_file_left() {
    // The example site: pages, pictures (the shared image cache in .vitrine/)
    // and the search bundle, so both processes write the same files at once.
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_example_site(&site);
    let out = tmp.path().join("public");
    build(&site, &out, &[]).assert_ok();
    let config = std::fs::read_to_string(site.join("vitrine.yaml")).unwrap();
    let title = config.lines().find(|l| l.starts_with("title:")).expect("a title line").to_string();
    for round in 0..3 {
        // A new site title: every page is rewritten over the previous one. The
        // image cache is emptied on odd rounds so that both builds fill it too.
        let config = config.replacen(&title, &format!("title: \"Vitrine, essai {round}\""), 1);
        std::fs::write(site.join("vitrine.yaml"), &config).unwrap();
        if round % 2 == 1 {
            std::fs::remove_dir_all(site.join(".vitrine/cache")).unwrap();
        }
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| build(&site, &out, &[]));
            let b = s.spawn(|| build(&site, &out, &[]));
            (a.join().unwrap(), b.join().unwrap())
        });
        a.assert_ok();
        b.assert_ok();
        // The same site built alone into another folder: the shared output matches it byte for byte.
        let alone = tmp.path().join(format!("alone-{round}"));
        build(&site, &alone, &[]).assert_ok();
        let (shared, reference) = (tree(&out), tree(&alone));
        assert_eq!(shared.keys().collect::<Vec<_>>(), reference.keys().collect::<Vec<_>>(), "round {round}: same files");
        for (k, snap) in &reference {
            assert!(shared[k].bytes == snap.bytes, "round {round}: {k} differs from a build made alone");
        }
        assert!(Built::load(&out, EXAMPLE_BASE).read("index.html").contains(&format!("Vitrine, essai {round}")));
        assert_eq!(temporary_files(&out), Vec::<String>::new(), "round {round}");
        assert_eq!(temporary_files(&site), Vec::<String>::new(), "round {round} (site and .vitrine/)");
    }
}

#[test]
fn a_build_while_serve_rebuilds_the_same_site_leaves_whole_pages_and_no_temporary_file() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_example_site(&site);
    let public = site.join("public");
    let mut serve = Command::new(env!("CARGO_BIN_EXE_vitrine"))
        .args(["serve", "--site", site.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("VITRINE_NOW", NOW)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let out = std::io::BufReader::new(serve.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |what: &str| loop {
        match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(l) if l.starts_with(what) => return,
            Ok(_) => {}
            Err(e) => panic!("serve never printed « {what} »: {e}"),
        }
    };
    wait_for("Surveillance des fichiers active");
    let page = site.join("content/pages/a-propos.md");
    let original = std::fs::read_to_string(&page).unwrap();
    for round in 0..3 {
        // serve sees the edit and rebuilds while `build` writes the same public/.
        std::fs::write(&page, format!("{original}\n\nPhrase du tour {round}.\n")).unwrap();
        build(&site, &public, &[]).assert_ok();
        wait_for("reconstruit en");
        wait_for("index de recherche à jour");
    }
    // Idle now: stop serve gracefully.
    let ok = Command::new("kill").args(["-TERM", &serve.id().to_string()]).status().unwrap();
    assert!(ok.success());
    serve.wait().unwrap();

    assert_eq!(temporary_files(&site), Vec::<String>::new(), "site, .vitrine/ and public/");
    assert!(std::fs::read_to_string(public.join("a-propos/index.html")).unwrap().contains("Phrase du tour 2."));
    let pages: Vec<_> = walkdir(&public).into_iter().filter(|p| p.extension().is_some_and(|x| x == "html")).collect();
    assert!(pages.len() > 20, "{} pages", pages.len());
    for p in pages {
        let html = std::fs::read_to_string(&p).unwrap();
        assert!(html.trim_end().ends_with("</html>"), "{} is cut short", p.display());
    }
}
