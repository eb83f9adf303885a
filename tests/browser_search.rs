//! The search page of the example site in a real Chromium: the pagefind bundle
//! built by `vitrine build` loads from the static server, typing a query gives
//! results with excerpts, and ticking a facet narrows them to pages that carry
//! that facet value. Expected pages are found by reading the built HTML, not
//! hard-coded.

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
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("public");
    let root = common::repo_root();
    common::vitrine(&["build", "--site", root.to_str().unwrap(), "--out", out.to_str().unwrap()]).assert_ok();
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
