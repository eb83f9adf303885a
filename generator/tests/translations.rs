//! Content translations on a copy of the example site: `index.en.md` beside a
//! project's `index.md` and `a-propos.en.md` beside a page are published under
//! `/en/`, in English (theme strings, dates, `lang`), both versions link each
//! other with `hreflang` and a language switcher, the sitemap lists the
//! alternates, untranslated pages are unchanged, and a translation without an
//! original is an error naming the file. The names `translations.en` of
//! `vitrine.yaml` gives (site title and description, collections and taxonomies)
//! are used on English pages, what it leaves out falls back to the French name,
//! and French pages do not depend on them. Also checks that the theme's French and
//! English strings have the same keys and that every `t.…` used exists.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use vitrine_generator::BuildOptions;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn copy_dir(src: &Path, dst: &Path) {
    for e in walkdir::WalkDir::new(src) {
        let e = e.unwrap();
        let to = dst.join(e.path().strip_prefix(src).unwrap());
        if e.file_type().is_dir() {
            fs::create_dir_all(&to).unwrap();
        } else {
            fs::copy(e.path(), &to).unwrap();
        }
    }
}

fn example_copy(dst: &Path) {
    let root = repo();
    fs::copy(root.join("vitrine.yaml"), dst.join("vitrine.yaml")).unwrap();
    for d in ["content", "data", "themes"] {
        copy_dir(&root.join(d), &dst.join(d));
    }
    // Reuse processed images when the repository has them (they are keyed by content hash).
    let cache = root.join(".vitrine/cache/images");
    if cache.is_dir() {
        copy_dir(&cache, &dst.join(".vitrine/cache/images"));
    }
}

fn opts(site: &Path) -> BuildOptions {
    let mut o = BuildOptions::new(site);
    o.now = Some("2026-11-28T10:00:00+01:00[Europe/Paris]".parse().unwrap());
    o
}

#[test]
fn translations_are_published_and_linked_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path();
    example_copy(site);
    let fr = fs::read_to_string(site.join("content/projects/chaque-goutte-compte/index.md")).unwrap();
    let (front, _) = fr[4..].split_once("\n---\n").unwrap();
    let front = front.replace("title: \"Chaque goutte compte\"", "title: \"Every drop counts\"");
    fs::write(
        site.join("content/projects/chaque-goutte-compte/index.en.md"),
        format!("---\n{front}\n---\n\n## Three regions, three relationships with water\n\nStudents compare how water is managed. See [the about page](@/pages/a-propos.md).\n"),
    )
    .unwrap();
    fs::write(site.join("content/pages/a-propos.en.md"), "---\ntitle: \"What is eTwinning?\"\nmenu: 1\n---\n\neTwinning is a community of schools in Europe.\n").unwrap();
    vitrine_generator::build(&opts(site)).unwrap();
    let out = site.join("public");
    let read = |p: &str| fs::read_to_string(out.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));

    let en = read("en/projets/chaque-goutte-compte/index.html");
    assert!(en.contains("<html lang=\"en\">"), "English page in English");
    assert!(en.contains("Every drop counts"));
    assert!(en.contains("Skip to content"), "English theme strings");
    assert!(en.contains(">June 30, 2026</time>"), "dates in English");
    // Its @/ link goes to the English version of the page, which exists.
    assert!(en.contains("href=\"/en/a-propos/\""), "links to translated pages stay in English");
    assert!(en.contains("hreflang=\"fr\" href=\"https://vitrine.example.org/projets/chaque-goutte-compte/\""));
    assert!(en.contains("hreflang=\"en\" href=\"https://vitrine.example.org/en/projets/chaque-goutte-compte/\""));
    // The cover of the bundle is shared with the original.
    assert!(en.contains("src=\"/projets/chaque-goutte-compte/cover-960.jpg\""));

    let fr_page = read("projets/chaque-goutte-compte/index.html");
    assert!(fr_page.contains("<html lang=\"fr\">"));
    assert!(fr_page.contains("<a href=\"/en/projets/chaque-goutte-compte/\" hreflang=\"en\" lang=\"en\">English</a>"), "language switcher");
    assert!(fr_page.contains("<span aria-current=\"page\" lang=\"fr\">Français</span>"));
    assert!(read("en/a-propos/index.html").contains("What is eTwinning?"));
    // An untranslated page has no switcher and no alternates; listings hold originals only.
    assert!(!read("projets/sur-les-planches/index.html").contains("hreflang="));
    assert!(!read("projets/index.html").contains("Every drop counts"));

    let sitemap = read("sitemap.xml");
    assert!(sitemap.contains("xmlns:xhtml=\"http://www.w3.org/1999/xhtml\""), "sitemap declares the xhtml namespace");
    assert!(sitemap.contains("<loc>https://vitrine.example.org/en/projets/chaque-goutte-compte/</loc>"));
    assert!(sitemap.contains("<xhtml:link rel=\"alternate\" hreflang=\"en\" href=\"https://vitrine.example.org/en/a-propos/\"/>"));
}

#[test]
fn a_translation_without_original_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path();
    example_copy(site);
    fs::write(site.join("content/pages/inconnue.en.md"), "---\ntitle: \"Orphan\"\n---\nText.\n").unwrap();
    let err = vitrine_generator::build(&opts(site)).unwrap_err();
    let d = err.diagnostics();
    assert_eq!(d.len(), 1, "{err}");
    assert_eq!(d[0].file, Path::new("content/pages/inconnue.en.md"));
    assert!(d[0].message.contains("content/pages/inconnue.md"), "{}", d[0].message);
}

/// The example site with `about.en.md` and a project translated, and `translations`
/// replaced by `block` (none when empty).
fn translated_site(site: &Path, block: &str) {
    example_copy(site);
    let config = fs::read_to_string(site.join("vitrine.yaml")).unwrap();
    let config = match config.find("\ntranslations:") {
        Some(i) => config[..i].to_string(),
        None => config,
    };
    fs::write(site.join("vitrine.yaml"), format!("{config}\n{block}")).unwrap();
    let fr = fs::read_to_string(site.join("content/projects/chaque-goutte-compte/index.md")).unwrap();
    let (front, _) = fr[4..].split_once("\n---\n").unwrap();
    let front = front.replace("title: \"Chaque goutte compte\"", "title: \"Every drop counts\"");
    fs::write(site.join("content/projects/chaque-goutte-compte/index.en.md"), format!("---\n{front}\n---\n\nStudents compare how water is managed.\n")).unwrap();
    fs::write(site.join("content/pages/a-propos.en.md"), "---\ntitle: \"What is eTwinning?\"\nmenu: 1\n---\n\neTwinning is a community of schools.\n").unwrap();
}

/// Every output file outside `/en/` and `/pagefind/` (the search index covers the
/// English pages too), with its bytes.
fn french_outputs(out: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(out)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(out).unwrap().to_string_lossy().replace('\\', "/"))
        .filter(|p| !p.starts_with("en/") && !p.starts_with("pagefind/"))
        .map(|p| {
            let bytes = fs::read(out.join(&p)).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn english_pages_use_the_english_names_of_the_config_and_fall_back_to_the_french_ones() {
    // Trainings, the "years" taxonomy and the "pages" collection are left untranslated.
    const NAMES: &str = "translations:\n  en:\n    title: \"Regional eTwinning — the showcase\"\n    description: \"Projects of the regional network, in English.\"\n    collections:\n      projects: { title: \"Projects\" }\n      labels: { title: \"Labelled projects\" }\n    taxonomies:\n      countries: { title: \"Partner countries\" }\n      disciplines: { title: \"Subjects\" }\n";
    let dir = tempfile::tempdir().unwrap();
    let named = dir.path().join("named");
    let plain = dir.path().join("plain");
    fs::create_dir_all(&named).unwrap();
    fs::create_dir_all(&plain).unwrap();
    translated_site(&named, NAMES);
    translated_site(&plain, "");
    vitrine_generator::build(&opts(&named)).unwrap();
    vitrine_generator::build(&opts(&plain)).unwrap();
    let read = |site: &Path, p: &str| fs::read_to_string(site.join("public").join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));

    let en = read(&named, "en/projets/chaque-goutte-compte/index.html");
    assert!(en.contains("<title>Every drop counts · Regional eTwinning — the showcase</title>"), "<title> in English");
    assert!(en.contains("<span class=\"brand__name\">Regional eTwinning</span>"), "header in English");
    assert!(en.contains("<span class=\"brand__tagline\">the showcase</span>"));
    assert!(en.contains("<meta property=\"og:site_name\" content=\"Regional eTwinning — the showcase\">"));
    assert!(en.contains("Regional eTwinning — the showcase. "), "footer in English");
    assert!(!en.contains("eTwinning en académie"), "no French site title left on the English page");
    // Menu and breadcrumb; the listings they link to stay the French ones.
    assert!(en.contains("<li><a href=\"/projets/\" aria-current=\"location\">Projects</a></li>"), "menu: current collection in English");
    assert!(en.contains("<li><a href=\"/labels/\">Labelled projects</a></li>"), "menu");
    assert!(en.contains("<li><a href=\"/projets/\">Projects</a></li>"), "breadcrumb");
    assert!(!en.contains(">Projets</a>") && !en.contains(">Projets labellisés</a>"));
    // Taxonomies in the facts box.
    assert!(en.contains("<dt data-pagefind-ignore>Partner countries</dt>"), "taxonomy in English");
    assert!(en.contains("<dt data-pagefind-ignore>Subjects</dt>"));
    // Left out of `translations`: the French names.
    assert!(en.contains("<li><a href=\"/formations/\">Formations</a></li>"), "untranslated collection falls back");
    assert!(en.contains("<dt data-pagefind-ignore>Niveaux</dt>"), "untranslated taxonomy falls back");

    // A translated page without a summary gets the English site description.
    let about = read(&named, "en/a-propos/index.html");
    assert!(about.contains("<meta name=\"description\" content=\"Projects of the regional network, in English.\">"), "description in English");
    assert!(about.contains("<title>What is eTwinning? · Regional eTwinning — the showcase</title>"));

    // Without `translations` at all, English pages keep every French name.
    let en_plain = read(&plain, "en/projets/chaque-goutte-compte/index.html");
    assert!(en_plain.contains("<title>Every drop counts · eTwinning en académie — la vitrine des projets</title>"));
    assert!(en_plain.contains("<li><a href=\"/projets/\">Projets</a></li>"));
    assert!(en_plain.contains("<dt data-pagefind-ignore>Pays</dt>"));

    // French pages (and every other file outside /en/) do not depend on `translations`.
    let (a, b) = (french_outputs(&named.join("public")), french_outputs(&plain.join("public")));
    let only: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).chain(b.keys().filter(|k| !a.contains_key(*k))).collect();
    assert!(only.is_empty(), "files in one build only: {only:?}");
    for (p, bytes) in &a {
        assert!(*bytes == b[p], "{p} differs with and without `translations`");
    }
    let fr = read(&named, "projets/chaque-goutte-compte/index.html");
    assert!(fr.contains("<li><a href=\"/projets/\">Projets</a></li>") && fr.contains("<title>Chaque goutte compte · eTwinning en académie"));
}

fn keys(v: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let serde_json::Value::Object(m) = v {
        for (k, x) in m {
            let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            keys(x, &p, out);
            if !x.is_object() {
                out.insert(p);
            }
        }
    }
}

fn strings(lang: &str) -> BTreeSet<String> {
    let text = fs::read_to_string(repo().join(format!("themes/default/i18n/{lang}.yaml"))).unwrap();
    let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let mut out = BTreeSet::new();
    keys(&v, "", &mut out);
    out
}

#[test]
fn theme_strings_are_complete_in_french_and_english_and_all_exist() {
    let fr = strings("fr");
    let en = strings("en");
    let only_fr: Vec<_> = fr.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&fr).collect();
    assert!(only_fr.is_empty() && only_en.is_empty(), "missing in en: {only_fr:?}; missing in fr: {only_en:?}");
    // Every `t.section.key` the templates use is defined.
    let re = regex::Regex::new(r"\bt\.([a-z_]+)\.([a-z_0-9]+)").unwrap();
    let mut missing = BTreeSet::new();
    for e in walkdir::WalkDir::new(repo().join("themes/default/templates")) {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        let text = fs::read_to_string(e.path()).unwrap();
        for c in re.captures_iter(&text) {
            let k = format!("{}.{}", &c[1], &c[2]);
            if !fr.contains(&k) {
                missing.insert(format!("{}: {k}", e.file_name().to_string_lossy()));
            }
        }
    }
    assert!(missing.is_empty(), "strings used but not defined: {missing:?}");
}
