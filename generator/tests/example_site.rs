//! End-to-end checks of issue 5's features on the example site of the repository
//! (`vitrine.yaml`, `content/`, `themes/default/`), built into a temporary
//! directory at a fixed date: calendars, typography, responsive images, search.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vitrine_generator::{BuildOptions, ics};

fn site_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// One build shared by the tests of this file (the output is only read).
fn built() -> &'static Path {
    static OUT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, out) = OUT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let mut opts = BuildOptions::new(site_root());
        opts.out = out.clone();
        opts.now = Some("2026-11-28T10:00:00+01:00[Europe/Paris]".parse().unwrap());
        vitrine_generator::build(&opts).unwrap_or_else(|e| panic!("build of the example site failed: {e}"));
        (dir, out)
    });
    out
}

fn read(rel: &str) -> String {
    fs::read_to_string(built().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn calendars_are_valid_and_linked() {
    let text = read("formations/calendrier.ics");
    let lines = ics::parse_lines(&text).unwrap();
    assert_eq!(lines.first().unwrap(), &("BEGIN".to_string(), "VCALENDAR".to_string()));
    assert_eq!(lines.last().unwrap(), &("END".to_string(), "VCALENDAR".to_string()));
    let starts: Vec<&str> =
        lines.iter().filter(|(k, _)| k == "DTSTART;TZID=Europe/Paris").map(|(_, v)| v.as_str()).collect();
    assert!(!starts.is_empty());
    let ends: Vec<&str> = lines.iter().filter(|(k, _)| k == "DTEND;TZID=Europe/Paris").map(|(_, v)| v.as_str()).collect();
    // Only sessions that have not ended at the build time (28 November 2026, 10:00).
    assert!(ends.iter().all(|e| *e >= "20261128T100000"), "{ends:?}");
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "sessions in chronological order");
    // UIDs are unique.
    let mut uids: Vec<&str> = lines.iter().filter(|(k, _)| k == "UID").map(|(_, v)| v.as_str()).collect();
    let n = uids.len();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), n);
    assert_eq!(n, starts.len());

    // Each training with sessions has its own file, linked from its page; the catalogue links the feed.
    let page = read("formations/demi-journee-canope-decouvrir-etwinning/index.html");
    let own = "/formations/demi-journee-canope-decouvrir-etwinning/demi-journee-canope-decouvrir-etwinning.ics";
    assert!(page.contains(&format!("href=\"{own}\"")), "training page links its calendar");
    let own_text = read(own.trim_start_matches('/'));
    let own_lines = ics::parse_lines(&own_text).unwrap();
    // Its past session (7 October 2026) is still in its own file.
    assert!(own_lines.iter().any(|(k, v)| k == "DTSTART;TZID=Europe/Paris" && v == "20261007T140000"));
    assert!(own_lines.iter().any(|(k, v)| k == "LOCATION" && ics::unescape_text(v) == "Atelier Canopé de Bellerive-la-Forêt"));
    assert!(read("formations/index.html").contains("href=\"/formations/calendrier.ics\""));
}

#[test]
fn french_typography_in_pages() {
    let page = read("formations/demi-journee-canope-decouvrir-etwinning/index.html");
    // "## Pour qui ?" in the Markdown source, "Découvrir eTwinning : …" in the title.
    assert!(page.contains("Pour qui\u{202F}?"), "narrow no-break space before ?");
    assert!(page.contains("Découvrir eTwinning\u{A0}: demi-journée"), "no-break space before : in the title");
    // Times in the programme keep their ordinary form, URLs are untouched.
    assert!(page.contains("https://example.org/canope/decouvrir-etwinning"));
}

#[test]
fn covers_have_responsive_variants() {
    let page = read("projets/sur-les-planches/index.html");
    let html = scraper_free_img(&page, "/projets/sur-les-planches/cover-");
    assert!(html.contains("srcset=\"/projets/sur-les-planches/cover-480.jpg 480w, /projets/sur-les-planches/cover-960.jpg 960w"), "{html}");
    assert!(html.contains("width=\"960\" height=\"540\""), "{html}");
    let v = image::image_dimensions(built().join("projets/sur-les-planches/cover-480.jpg")).unwrap();
    assert_eq!(v, (480, 270));
    // Listings lazy-load their card images.
    let listing = read("projets/index.html");
    assert!(scraper_free_img(&listing, "/projets/sur-les-planches/cover-").contains("loading=\"lazy\""));
}

/// One `<picture>` as the theme prints it for a resized image.
#[derive(Debug)]
struct Picture {
    webp_srcset: String,
    webp_sizes: String,
    img: String,
}

/// Every `<picture>` of a page; panics on one that is not WebP `<source>` + `<img>`.
fn pictures(html: &str) -> Vec<Picture> {
    let re = regex::Regex::new(r#"<picture><source type="image/webp" srcset="([^"]+)" sizes="([^"]+)">(<img [^>]*>)</picture>"#).unwrap();
    let found: Vec<Picture> = re
        .captures_iter(html)
        .map(|c| Picture { webp_srcset: c[1].to_string(), webp_sizes: c[2].to_string(), img: c[3].to_string() })
        .collect();
    assert_eq!(found.len(), html.matches("<picture").count(), "every <picture> is a WebP <source> and an <img>");
    found
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(&tag[at..at + tag[at..].find('"')?])
}

/// Checks that each candidate of `srcset` is a file of the site, in `format`, as wide as
/// its `w` descriptor; returns the (width, height) of the candidates.
fn check_srcset(page: &str, srcset: &str, format: image::ImageFormat) -> Vec<(u32, u32)> {
    srcset
        .split(", ")
        .map(|cand| {
            let (url, w) = cand.split_once(' ').unwrap_or_else(|| panic!("{page}: candidate {cand:?}"));
            let w: u32 = w.strip_suffix('w').and_then(|w| w.parse().ok()).unwrap_or_else(|| panic!("{page}: {cand:?}"));
            let path = built().join(url.trim_start_matches('/'));
            let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{page}: {url}: {e}"));
            assert_eq!(image::guess_format(&bytes).unwrap(), format, "{page}: {url}");
            if format == image::ImageFormat::WebP {
                // RIFF container, lossy VP8 bitstream (never the lossless VP8L).
                assert!(&bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP", "{page}: {url}");
                assert!(&bytes[12..16] == b"VP8 " || (&bytes[12..16] == b"VP8X" && bytes.windows(4).any(|c| c == b"VP8 ")), "{page}: {url} is not lossy");
            }
            let img = image::load_from_memory_with_format(&bytes, format).unwrap_or_else(|e| panic!("{page}: {url}: {e}"));
            assert_eq!(img.width(), w, "{page}: {url} is not {w} px wide");
            (img.width(), img.height())
        })
        .collect()
}

#[test]
fn resized_images_are_webp_pictures_with_a_jpeg_fallback() {
    let mut seen = 0;
    for (page, first_eager) in [("projets/sur-les-planches/index.html", 1), ("labels/index.html", 3), ("projets/index.html", 0), ("index.html", 0)] {
        let html = read(page);
        let pics = pictures(&html);
        assert!(!pics.is_empty(), "{page} shows resized images");
        // No resized image outside a <picture>.
        assert_eq!(pics.len(), html.matches(" srcset=\"").count() / 2, "{page}: every srcset is in a <picture>");
        for (i, p) in pics.iter().enumerate() {
            let webp = check_srcset(page, &p.webp_srcset, image::ImageFormat::WebP);
            let jpeg = check_srcset(page, attr(&p.img, "srcset").unwrap(), image::ImageFormat::Jpeg);
            assert_eq!(webp, jpeg, "{page}: the same widths in both formats");
            assert_eq!(attr(&p.img, "sizes"), Some(p.webp_sizes.as_str()), "{page}");
            // The <img> fallback: a JPEG of the set, its real size in width/height, alt, async decoding.
            let src = attr(&p.img, "src").unwrap();
            assert!(attr(&p.img, "srcset").unwrap().contains(&format!("{src} ")), "{page}: src {src} is one of the srcset");
            let (w, h) = image::image_dimensions(built().join(src.trim_start_matches('/'))).unwrap();
            assert_eq!((attr(&p.img, "width"), attr(&p.img, "height")), (Some(w.to_string().as_str()), Some(h.to_string().as_str())), "{page}: {src}");
            assert!(attr(&p.img, "alt").is_some_and(|a| !a.is_empty()), "{page}: {src} has no alt");
            assert_eq!(attr(&p.img, "decoding"), Some("async"));
            // Above the fold eager, below lazy.
            let lazy = if i < first_eager { None } else { Some("lazy") };
            assert_eq!(attr(&p.img, "loading"), lazy, "{page}: picture {i} ({src})");
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} pictures checked");
}

/// The `<img …>` tag whose `src` starts with `prefix`.
fn scraper_free_img(html: &str, prefix: &str) -> String {
    let at = html.find(&format!("<img src=\"{prefix}")).unwrap_or_else(|| panic!("no <img src=\"{prefix}…\">"));
    html[at..at + html[at..].find('>').unwrap() + 1].to_string()
}

#[test]
fn a_broken_image_is_a_diagnostic_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path();
    fs::write(
        site.join("vitrine.yaml"),
        "title: T\nbase_url: https://t.example.org\ncollections:\n  projects:\n    title: P\n    path: projets\n    template: page.html\n    fields:\n      cover: { type: image }\n",
    )
    .unwrap();
    let templates = site.join("themes/default/templates");
    fs::create_dir_all(&templates).unwrap();
    for t in ["index.html", "404.html", "taxonomy.html", "term.html", "page.html"] {
        fs::write(templates.join(t), "ok").unwrap();
    }
    fs::create_dir_all(site.join("content/projects/a")).unwrap();
    fs::write(site.join("content/_index.md"), "---\ntitle: Accueil\n---\n").unwrap();
    fs::write(site.join("content/projects/a/index.md"), "---\ntitle: A\ncover: { src: photo.jpg, alt: \"Une photo\" }\n---\nTexte\n").unwrap();
    fs::write(site.join("content/projects/a/photo.jpg"), b"\xFF\xD8\xFF\xE0 truncated").unwrap();
    let err = vitrine_generator::build(&BuildOptions::new(site)).unwrap_err();
    let d = err.diagnostics();
    assert_eq!(d.len(), 1, "{err}:{d:?}");
    assert_eq!(d[0].file, Path::new("content/projects/a/index.md"), "{err}");
    assert_eq!(d[0].field, "cover.src");
    assert_eq!(d[0].pos.line, 3);
    assert!(d[0].message.contains("photo.jpg"), "{}", d[0].message);
    assert!(!site.join("public").exists(), "a failed build writes nothing");
}

#[test]
fn search_bundle_page_and_fallback() {
    let out = built();
    assert!(out.join("pagefind/pagefind.js").is_file());
    let entry: serde_json::Value = serde_json::from_str(&read("pagefind/pagefind-entry.json")).unwrap();
    let indexed = entry["languages"]["fr"]["page_count"].as_u64().unwrap();
    // Every entry page is indexed, and only those (listings and term pages are not).
    let entries = walkdir::WalkDir::new(out)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "html"))
        .filter(|e| fs::read_to_string(e.path()).unwrap().contains("data-pagefind-body"))
        .count() as u64;
    assert!(entries > 10);
    assert_eq!(indexed, entries);
    assert!(!out.join("pagefind/pagefind-ui.js").exists(), "pagefind's own UI is not published");
    // Facets: pagefind wrote filter files, and an entry page declares its terms.
    assert!(fs::read_dir(out.join("pagefind/filter")).unwrap().count() > 0);
    let project = read("projets/chaque-goutte-compte/index.html");
    assert!(project.contains("<span data-pagefind-filter=\"type\">Projets</span>"));
    assert!(project.contains("<span data-pagefind-filter=\"countries\">Norvège</span>"));
    // The search page: checkboxes, and without JavaScript links to listings and terms.
    let page = read("recherche/index.html");
    assert!(page.contains("value=\"Norvège\" data-filter=\"countries\""), "checkboxes");
    assert!(page.contains("href=\"/pays/norvege/\""), "fallback links to term pages");
    assert!(page.contains("href=\"/projets/\""), "fallback links to listings");
    assert!(page.contains("data-search-form hidden"), "form hidden until the script runs");
    assert!(read("index.html").contains("href=\"/recherche/\""), "header links the search page");
}
