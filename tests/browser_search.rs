//! The search page of the example site in a real Chromium: the pagefind bundle
//! built by `vitrine build` loads from the static server, typing a query gives
//! results with excerpts, and ticking a facet narrows them to pages that carry
//! that facet value. Expected pages are found by reading the built HTML, not
//! hard-coded.
//!
//! `french_query_corpus` runs the queries of `tests/fixtures/search_queries.json`
//! (elision, accents, ligatures, plurals, several words, facets) through the page as a
//! visitor would, and checks what each result card shows: its type, the entry's
//! summary and image, an excerpt with no fact-sheet label glued to a value, and
//! facets listing values with results first and hiding those without. It reports
//! every failing query at once. `VITRINE_SEARCH_OUT=<dir>` runs it against a site
//! built beforehand (e.g. by an older version) instead of building the example site.

mod browser;
mod common;

use std::path::Path;

/// Output path → HTML of every indexed page (those with `data-pagefind-body`).
fn indexed_pages(out: &Path) -> Vec<(String, String)> {
    let mut pages = Vec::new();
    for e in walkdir::WalkDir::new(out) {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "html") {
            let html = std::fs::read_to_string(e.path()).unwrap();
            if html.contains("data-pagefind-body") {
                let rel = e.path().strip_prefix(out).unwrap().to_string_lossy().replace('\\', "/");
                let url = format!("/{}", rel.trim_end_matches("index.html"));
                pages.push((url, html));
            }
        }
    }
    pages
}

async fn result_urls(b: &browser::Browser) -> Vec<String> {
    // Show every result, then read the links.
    for _ in 0..20 {
        let more_hidden = b.execute("return document.querySelector('[data-search-more]').hidden").await.unwrap();
        if more_hidden == serde_json::Value::Bool(true) {
            break;
        }
        b.execute("document.querySelector('[data-search-more]').scrollIntoView({block: 'center', behavior: 'instant'}); return null").await.unwrap();
        b.click("[data-search-more]").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let v = b
        .execute("return Array.from(document.querySelectorAll('.search-result__title a')).map(a => new URL(a.href).pathname)")
        .await
        .unwrap();
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

/// Waits until the page has loaded pagefind (the form is then revealed).
async fn wait_ready(b: &browser::Browser) {
    for _ in 0..100 {
        if b.execute("return document.querySelector('[data-search]').hasAttribute('data-ready')").await.unwrap() == serde_json::Value::Bool(true) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the search page never got ready");
}

async fn wait_for_results(b: &browser::Browser, not: &str) -> String {
    for _ in 0..100 {
        let t = b.text("[data-search-status]").await.unwrap();
        if t != not && t.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.text("[data-search-status]").await.unwrap()
}

#[tokio::test]
async fn query_then_facet_narrows_results() {
    let Some(b) = browser::Browser::start().await.unwrap() else { return };
    b.watch_csp().await.unwrap();
    let (_dir, out) = common::build_example_site();
    let pages = indexed_pages(&out);
    assert!(pages.len() > 10, "entry pages are indexed");

    let server = browser::StaticServer::serve(&out).unwrap();
    b.set_window_size(1200, 900).await.unwrap();
    b.goto(&server.url("/recherche/")).await.unwrap();
    // The form is revealed once pagefind has loaded.
    for _ in 0..100 {
        if b.execute("return document.querySelector('[data-search]').hasAttribute('data-ready')").await.unwrap() == serde_json::Value::Bool(true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(b.attr("[data-search-form]", "hidden").await.unwrap(), None, "search form shown with JavaScript");

    let word = "élèves";
    b.type_text("#vt-search-q", word).await.unwrap();
    let status = wait_for_results(&b, "").await;
    let all = result_urls(&b).await;
    assert!(all.len() > 3, "{status}: {all:?}");
    let excerpt = b.text(".search-result__excerpt").await.unwrap();
    assert!(!excerpt.is_empty(), "results have excerpts");
    assert!(!b.find_all(".search-result__excerpt mark").await.unwrap().is_empty(), "the word is highlighted");

    // Tick "Espagne" in the countries facet.
    let country = "Espagne";
    let with_country: Vec<&str> = pages
        .iter()
        .filter(|(_, h)| h.contains(&format!("data-pagefind-filter=\"countries\">{country}<")))
        .map(|(u, _)| u.as_str())
        .collect();
    assert!(!with_country.is_empty());
    b.execute("document.querySelector('details.search__facet:nth-of-type(2)').open = true; return null").await.unwrap();
    let checkbox = format!("input[data-filter=\"countries\"][value=\"{country}\"]");
    b.execute(&format!("document.querySelector('{}').scrollIntoView({{block: 'center', behavior: 'instant'}}); return null", checkbox.replace('\'', "\\'"))).await.unwrap();
    b.click(&checkbox).await.unwrap();
    let narrowed_status = wait_for_results(&b, &status).await;
    let narrowed = result_urls(&b).await;
    assert!(!narrowed.is_empty(), "{narrowed_status}");
    assert!(narrowed.len() < all.len(), "{narrowed_status} vs {status}");
    for u in &narrowed {
        assert!(with_country.contains(&u.as_str()), "{u} is not a page about {country}");
        assert!(all.contains(u), "{u} was not a result of the query alone");
    }
    // A page about Spain whose text has the word itself must be found.
    let text_has = |h: &str| {
        let body = &h[h.find("data-pagefind-body").unwrap()..];
        body[..body.find("</article>").unwrap_or(body.len())].to_lowercase().contains(word)
    };
    let must: Vec<&str> = pages.iter().filter(|(u, h)| with_country.contains(&u.as_str()) && text_has(h)).map(|(u, _)| u.as_str()).collect();
    assert!(!must.is_empty());
    for u in must {
        assert!(narrowed.contains(&u.to_string()), "{u} missing from {narrowed:?}");
    }
    // The count shown next to the ticked value is the number of results (counts of a
    // facet ignore its own selection), and the "Projets" count those that are projects.
    let shown_count = b
        .execute(&format!("return document.querySelector('{}').parentNode.querySelector('[data-count]').textContent", checkbox.replace('\'', "\\'")))
        .await
        .unwrap();
    assert_eq!(shown_count.as_str().unwrap(), narrowed.len().to_string());
    let projects = narrowed.iter().filter(|u| u.starts_with("/projets/")).count();
    let type_count = b
        .execute("return document.querySelector('input[data-filter=\"type\"][value=\"Projets\"]').parentNode.querySelector('[data-count]').textContent")
        .await
        .unwrap();
    assert_eq!(type_count.as_str().unwrap(), projects.to_string());
    // The state is in the address, so the search can be shared.
    let url = b.current_url().await.unwrap();
    // Issue 9: all of it under the pages' Content-Security-Policy, with no violation.
    let violations = b.csp_violations().await.unwrap();
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
    assert!(url.contains("countries=Espagne"), "{url}");
    b.close().await;
}

/// One query of the corpus file.
struct Query {
    why: String,
    q: String,
    filters: Vec<(String, String)>,
    found: Vec<String>,
    not_found: Vec<String>,
    max: Option<usize>,
    /// Text no excerpt of the results may contain.
    excerpt_not: Vec<String>,
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

fn read_corpus() -> Vec<Query> {
    let file = common::repo_root().join("tests/fixtures/search_queries.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    json["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| Query {
            why: q["why"].as_str().unwrap().to_string(),
            q: q["q"].as_str().unwrap().to_string(),
            filters: q["filters"]
                .as_object()
                .map(|o| o.iter().flat_map(|(k, v)| strings(v).into_iter().map(move |v| (k.clone(), v))).collect())
                .unwrap_or_default(),
            found: strings(&q["found"]),
            not_found: strings(&q["not_found"]),
            max: q["max"].as_u64().map(|n| n as usize),
            excerpt_not: strings(&q["excerpt_not"]),
        })
        .collect()
}

/// What a result card shows, read from the page.
struct Card {
    url: String,
    kind: String,
    title: String,
    summary: Option<String>,
    excerpt: Option<String>,
    image: Option<String>,
}

/// Fact-sheet labels that an excerpt must never glue to a value ("Mots-clés. eau").
const GLUED: &[&str] = &["Mots-clés.", "Établissement.", "Établissements partenaires.", "Pays.", "Disciplines.", "Niveaux.", "Langues.", "Durée.", "Public."];

#[tokio::test]
async fn french_query_corpus() {
    let Some(b) = browser::Browser::start().await.unwrap() else { return };
    let corpus = read_corpus();
    assert!(corpus.len() >= 30, "at least 30 queries");
    let (_dir, out) = match std::env::var_os("VITRINE_SEARCH_OUT") {
        Some(d) => (None, std::path::PathBuf::from(d)),
        None => {
            let (dir, out) = common::build_example_site();
            (Some(dir), out)
        }
    };
    // Entries with a cover image and a summary, from the built pages.
    let pages = indexed_pages(&out);
    let with_cover: Vec<&str> = pages.iter().filter(|(_, h)| h.contains("class=\"entry__cover\"")).map(|(u, _)| u.as_str()).collect();
    assert!(with_cover.len() >= 5, "{with_cover:?}");
    let server = browser::StaticServer::serve(&out).unwrap();
    b.set_window_size(1280, 900).await.unwrap();

    let mut failures = Vec::new();
    let mut shown_images = 0;
    for query in &corpus {
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        if !query.q.is_empty() {
            params.append_pair("q", &query.q);
        }
        for (facet, value) in &query.filters {
            params.append_pair(facet, value);
        }
        b.goto(&server.url(&format!("/recherche/?{}", params.finish()))).await.unwrap();
        wait_ready(&b).await;
        let none = b.attr("[data-search]", "data-none").await.unwrap().unwrap();
        let mut status = String::new();
        for _ in 0..100 {
            status = b.text("[data-search-status]").await.unwrap();
            if status == none || status.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let urls = result_urls(&b).await;
        let label = format!("{:?}{} ({})", query.q, if query.filters.is_empty() { String::new() } else { format!(" {:?}", query.filters) }, query.why);
        let missing: Vec<&String> = query.found.iter().filter(|u| !urls.contains(u)).collect();
        let extra: Vec<&String> = query.not_found.iter().filter(|u| urls.contains(u)).collect();
        if !missing.is_empty() {
            failures.push(format!("{label}: missing {missing:?} among {} results", urls.len()));
        }
        if !extra.is_empty() {
            failures.push(format!("{label}: should not find {extra:?}"));
        }
        if let Some(max) = query.max
            && urls.len() > max
        {
            failures.push(format!("{label}: {} results, at most {max} expected: {urls:?}", urls.len()));
        }
        if urls.is_empty() && status != none {
            failures.push(format!("{label}: no result but the status says {status:?}"));
        }
        if !urls.is_empty() && !status.starts_with(&urls.len().to_string()) {
            failures.push(format!("{label}: {} results but the status says {status:?}", urls.len()));
        }

        // What each card shows.
        let cards = b
            .execute(
                "return Array.from(document.querySelectorAll('.search-result')).map(li => {
                   const t = s => { const e = li.querySelector(s); return e ? e.textContent.trim() : null; };
                   const img = li.querySelector('img');
                   return {url: new URL(li.querySelector('.search-result__title a').href).pathname, kind: t('.search-result__type') || '',
                           title: t('.search-result__title') || '', summary: t('.search-result__summary'), excerpt: t('.search-result__excerpt'),
                           image: img ? img.getAttribute('src') : null};
                 })",
            )
            .await
            .unwrap();
        let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
        let cards: Vec<Card> = cards
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Card {
                url: text(&c["url"]).unwrap(),
                kind: text(&c["kind"]).unwrap(),
                title: text(&c["title"]).unwrap(),
                summary: text(&c["summary"]),
                excerpt: text(&c["excerpt"]),
                image: text(&c["image"]),
            })
            .collect();
        for c in &cards {
            if !["Projet", "Formation", "Label", "Page"].contains(&c.kind.as_str()) {
                failures.push(format!("{label}: {} shows the type {:?}", c.url, c.kind));
            }
            if (c.url.starts_with("/projets/") || c.url.starts_with("/formations/")) && c.summary.as_deref().is_none_or(|s| s.len() < 20) {
                failures.push(format!("{label}: {} shows no summary", c.url));
            }
            if with_cover.contains(&c.url.as_str()) {
                match &c.image {
                    Some(src) if src.starts_with(&c.url) => shown_images += 1,
                    other => failures.push(format!("{label}: {} has a cover but its card shows {other:?}", c.url)),
                }
            }
            if c.title.contains('\'') || c.excerpt.as_deref().is_some_and(|e| e.contains('\'')) {
                failures.push(format!("{label}: {} shows a straight apostrophe: {:?} / {:?}", c.url, c.title, c.excerpt));
            }
            if c.summary.is_none() && c.excerpt.is_none() {
                failures.push(format!("{label}: {} shows neither summary nor excerpt", c.url));
            }
            if let Some(e) = &c.excerpt
                && let Some(bad) = query.excerpt_not.iter().find(|x| e.contains(x.as_str()))
            {
                failures.push(format!("{label}: {} excerpt has {bad:?}: {e:?}", c.url));
            }
            if let Some(e) = &c.excerpt
                && let Some(g) = GLUED.iter().find(|g| e.contains(*g))
            {
                failures.push(format!("{label}: {} excerpt glues the label {g:?}: {e:?}", c.url));
            }
        }

        // Facets: the values shown have results, most first; those without are hidden.
        if !urls.is_empty() {
            let facets = b
                .execute(
                    "return Array.from(document.querySelectorAll('details.search__facet')).map(d => ({
                       hidden: d.hidden,
                       shown: Array.from(d.querySelectorAll('li')).filter(li => !li.hidden).map(li => [li.querySelector('input').checked, Number(li.querySelector('[data-count]').textContent)]),
                       hidden_values: Array.from(d.querySelectorAll('li')).filter(li => li.hidden).length,
                       note: (d.querySelector('[data-empty-note]:not([hidden])') || {}).textContent || ''}))",
                )
                .await
                .unwrap();
            for (i, f) in facets.as_array().unwrap().iter().enumerate() {
                let shown: Vec<(bool, u64)> =
                    f["shown"].as_array().unwrap().iter().map(|x| (x[0].as_bool().unwrap(), x[1].as_u64().unwrap())).collect();
                let hidden_values = f["hidden_values"].as_u64().unwrap();
                let counts: Vec<u64> = shown.iter().map(|(_, n)| *n).collect();
                if shown.iter().any(|(checked, n)| *n == 0 && !checked) {
                    failures.push(format!("{label}: facet {i} shows values without results: {counts:?}"));
                }
                if counts.windows(2).any(|w| w[0] < w[1]) {
                    failures.push(format!("{label}: facet {i} is not sorted by results: {counts:?}"));
                }
                if hidden_values > 0 && f["hidden"] == false && !f["note"].as_str().unwrap().contains(&hidden_values.to_string()) && hidden_values > 1 {
                    failures.push(format!("{label}: facet {i} hides {hidden_values} values without saying so"));
                }
                if counts.is_empty() && f["hidden"] == false {
                    failures.push(format!("{label}: facet {i} is shown with no value"));
                }
            }
        }
    }
    assert!(shown_images > 0 || !failures.is_empty(), "no card showed an image");

    // The page with results on a phone and a desktop: nothing wider than the
    // screen; screenshots in target/shots/ to look at.
    for width in [390, 1280] {
        b.set_window_size(width, 800).await.unwrap();
        b.goto(&server.url("/recherche/?q=l%E2%80%99eau&countries=Espagne&countries=Norv%C3%A8ge")).await.unwrap();
        wait_ready(&b).await;
        wait_for_results(&b, "").await;
        b.screenshot_full_page(common::repo_root().join(format!("target/shots/search-{width}.png")), width).await.unwrap();
        let overflow = b.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth").await.unwrap();
        if overflow.as_i64() != Some(0) {
            failures.push(format!("search page at {width} px is {overflow} px too wide"));
        }
        let excerpts = b.execute("return Array.from(document.querySelectorAll('.search-result__excerpt')).map(e => e.textContent)").await.unwrap();
        if excerpts.as_array().unwrap().iter().any(|e| e.as_str().unwrap().contains(" # ")) {
            failures.push(format!("heading anchors in excerpts: {excerpts}"));
        }
    }
    assert!(failures.is_empty(), "{} failures over {} queries:\n{}", failures.len(), corpus.len(), failures.join("\n"));
    b.close().await;
}
