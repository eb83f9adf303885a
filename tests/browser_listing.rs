//! The project and training listings of the example site in a real Chromium, at a
//! phone width (390 px) and a desktop width (1280 px):
//!
//! - project cards show the levels, disciplines, countries (each with its ISO code
//!   badge) and the labels the project received (as many as its own page lists);
//! - the combined filter form of `/projets/` (country + level, then a label kind) opens
//!   the search page with those values ticked, and the results are exactly the projects
//!   whose pages carry every chosen value (read from the built HTML, not hard-coded);
//! - the training catalogue filters by mode, scope and period (the visible trainings are
//!   those whose data attributes match), and offers a `webcal://` subscription beside
//!   the `.ics` download;
//! - a project's fact sheet comes before its text on a phone, beside it on a desktop;
//! - no horizontal scrolling, no CSP violation. Screenshots go to `target/shots/`.
//!
//! It does not check the search page's own behaviour (see `browser_search.rs`).

mod browser;
mod common;

use serde_json::Value;
use std::path::Path;

/// Waits until the search page has loaded pagefind and shows a result count.
async fn wait_results(b: &browser::Browser) -> String {
    for _ in 0..150 {
        let ready = b.execute("return document.querySelector('[data-search]')?.hasAttribute('data-ready') || false").await.unwrap();
        if ready == Value::Bool(true) {
            let t = b.text("[data-search-status]").await.unwrap();
            if t.chars().next().is_some_and(|c| c.is_ascii_digit()) || t.starts_with("Aucun") {
                return t;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the search page never showed results");
}

async fn strings(b: &browser::Browser, script: &str) -> Vec<String> {
    let v = b.execute(script).await.unwrap();
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

/// Every project page: (url, html).
fn project_pages(out: &Path) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(out.join("projets")).unwrap() {
        let p = e.unwrap().path().join("index.html");
        if p.exists() && p.parent().unwrap().file_name().unwrap() != "page" {
            let html = std::fs::read_to_string(&p).unwrap();
            if html.contains("entry--project") {
                v.push((format!("/projets/{}/", p.parent().unwrap().file_name().unwrap().to_string_lossy()), html));
            }
        }
    }
    v.sort();
    v
}

fn has(html: &str, facet: &str, value: &str) -> bool {
    html.contains(&format!("data-pagefind-filter=\"{facet}\">{value}<"))
}

async fn no_overflow(b: &browser::Browser, what: &str) {
    let o = b.execute("return document.documentElement.scrollWidth > document.documentElement.clientWidth + 1").await.unwrap();
    assert_eq!(o, Value::Bool(false), "{what} scrolls sideways");
}

/// Picks the select's value, submits the form, and returns the result URLs of the search page.
async fn combined_search(b: &browser::Browser, server: &browser::StaticServer, choices: &[(&str, &str)]) -> (String, Vec<String>) {
    b.goto(&server.url("/projets/")).await.unwrap();
    assert_eq!(b.attr("form[data-combined-filters]", "hidden").await.unwrap(), None, "the combined form is shown with JavaScript");
    for (name, value) in choices {
        let set = format!(
            "const s = document.querySelector('select[name=\"{name}\"]'); s.value = {}; return s.value",
            serde_json::to_string(value).unwrap()
        );
        assert_eq!(b.execute(&set).await.unwrap(), Value::String(value.to_string()), "{name} offers {value}");
    }
    b.execute("document.querySelector('form[data-combined-filters] button[type=submit]').scrollIntoView({block: 'center', behavior: 'instant'}); return null").await.unwrap();
    b.click("form[data-combined-filters] button[type=submit]").await.unwrap();
    let status = wait_results(b).await;
    let url = b.current_url().await.unwrap();
    // Every result, then their links.
    for _ in 0..10 {
        if b.execute("return document.querySelector('[data-search-more]').hidden").await.unwrap() == Value::Bool(true) {
            break;
        }
        b.execute("document.querySelector('[data-search-more]').click(); return null").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let mut urls = strings(b, "return [...document.querySelectorAll('.search-result__title a')].map(a => new URL(a.href).pathname)").await;
    urls.sort();
    (format!("{status} @ {url}"), urls)
}

#[tokio::test]
async fn listings_filter_and_cards_show_what_people_choose_by() {
    let Some(b) = browser::Browser::start().await.unwrap() else { return };
    b.watch_csp().await.unwrap();
    let (_dir, out) = common::build_example_site();
    let projects = project_pages(&out);
    assert!(projects.len() > 10);
    let server = browser::StaticServer::serve(&out).unwrap();
    std::fs::create_dir_all("target/shots").unwrap();

    // A country and a level that one project combines, and that not every project has.
    let (country, level) = {
        let (_, html) = &projects[0];
        let pick = |facet: &str| {
            let key = format!("data-pagefind-filter=\"{facet}\">");
            let at = html.find(&key).unwrap() + key.len();
            html[at..at + html[at..].find('<').unwrap()].to_string()
        };
        // Not France: every project has it.
        let countries: Vec<&str> = html.match_indices("data-pagefind-filter=\"countries\">").map(|(i, k)| {
            let at = i + k.len();
            &html[at..at + html[at..].find('<').unwrap()]
        }).collect();
        (countries.iter().find(|c| **c != "France").unwrap().to_string(), pick("levels"))
    };
    let mut expected: Vec<String> =
        projects.iter().filter(|(_, h)| has(h, "countries", &country) && has(h, "levels", &level)).map(|(u, _)| u.clone()).collect();
    expected.sort();
    let label_kind = "Label de qualité européen";
    let mut labelled: Vec<String> = projects.iter().filter(|(_, h)| has(h, "label_kinds", label_kind)).map(|(u, _)| u.clone()).collect();
    labelled.sort();
    assert!(!labelled.is_empty() && labelled.len() < projects.len(), "some projects have a European label: {labelled:?}");

    for width in [390u32, 1280] {
        b.set_window_size(width, 900).await.unwrap();

        // Cards.
        b.goto(&server.url("/projets/")).await.unwrap();
        let cards = b.execute(
            "return [...document.querySelectorAll('.card--project')].map(c => ({
                url: new URL(c.querySelector('.card__title a').href).pathname,
                codes: [...c.querySelectorAll('.country__code')].map(x => x.textContent),
                countries: [...c.querySelectorAll('.country:not(.country--more)')].map(x => x.textContent.replace(x.querySelector('.country__code')?.textContent || '', '')),
                facts: [...c.querySelectorAll('.card__facts dt')].map(x => x.textContent),
                labels: c.querySelectorAll('.card__labels .badge').length }))",
        ).await.unwrap();
        let cards = cards.as_array().unwrap();
        assert!(cards.len() >= 10, "{cards:?}");
        let mut with_label = 0;
        for c in cards {
            let url = c["url"].as_str().unwrap();
            let codes = c["codes"].as_array().unwrap();
            assert!(!codes.is_empty() && codes.iter().all(|x| x.as_str().unwrap().len() == 2), "{url}: country codes {codes:?}");
            let names = c["countries"].as_array().unwrap();
            assert!(names.len() == codes.len() && names.iter().all(|x| x.as_str().unwrap().chars().count() > 3), "{url}: country names written beside the codes: {names:?}");
            let facts: Vec<&str> = c["facts"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
            assert_eq!(facts, ["Niveaux", "Disciplines"], "{url}");
            let html = &projects.iter().find(|(u, _)| u == url).unwrap().1;
            let on_page = html.matches("<a class=\"badge badge--award\"").count();
            assert_eq!(c["labels"].as_u64().unwrap() as usize, on_page, "{url}: the card shows the labels its page lists");
            with_label += usize::from(on_page > 0);
        }
        assert!(with_label > 0, "a labelled project is on the first page");
        no_overflow(&b, "/projets/").await;
        b.screenshot_full_page(format!("target/shots/listing-projets-{width}.png"), width).await.unwrap();
        b.set_window_size(width, 900).await.unwrap();

        // Combined filters → search page with the values ticked, results are exactly the matching projects.
        let (status, urls) = combined_search(&b, &server, &[("countries", &country), ("levels", &level)]).await;
        assert!(status.contains("type=Projets") && status.contains("countries=") && status.contains("levels="), "{status}");
        let ticked = strings(&b, "return [...document.querySelectorAll('input[data-filter]:checked')].map(c => c.dataset.filter + '=' + c.value)").await;
        assert_eq!(ticked.len(), 3, "{ticked:?}");
        assert_eq!(urls, expected, "{country} + {level}: {status}");
        no_overflow(&b, "/recherche/ with filters").await;
        b.screenshot(format!("target/shots/listing-combined-{width}.png")).await.unwrap();

        let (status, urls) = combined_search(&b, &server, &[("label_kinds", label_kind)]).await;
        assert_eq!(urls, labelled, "{label_kind}: {status}");

        // Trainings.
        b.goto(&server.url("/formations/")).await.unwrap();
        assert_eq!(
            b.attr("a[data-webcal]", "href").await.unwrap().as_deref(),
            Some("webcal://vitrine.example.org/formations/calendrier.ics"),
            "subscription built from base_url"
        );
        assert_eq!(b.attr(".catalogue__calendar a[download]", "href").await.unwrap().as_deref(), Some("/formations/calendrier.ics"));
        // A training's own calendar too, on its page.
        let html = std::fs::read_to_string(out.join("formations/index.html")).unwrap();
        let first = html.split("data-slug=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        b.goto(&server.url(&format!("/formations/{first}/"))).await.unwrap();
        let ics = b.attr(".entry__calendar a[download]", "href").await.unwrap().unwrap();
        assert!(ics.starts_with(&format!("/formations/{first}/")) && ics.ends_with(".ics"), "{ics}");
        assert_eq!(
            b.attr("a[data-webcal]", "href").await.unwrap(),
            Some(format!("webcal://vitrine.example.org{ics}")),
            "a training's own subscription, the same file"
        );
        b.goto(&server.url("/formations/")).await.unwrap();
        assert_eq!(b.attr("form[data-training-filters]", "hidden").await.unwrap(), None);
        let all = b.find_all("[data-training]").await.unwrap().len();
        let visible = "return [...document.querySelectorAll('[data-training]')].filter(li => !li.hidden && li.offsetParent !== null).map(li => li.dataset.mode + '|' + li.dataset.scope + '|' + li.dataset.when)";
        assert_eq!(strings(&b, visible).await.len(), all, "everything shown at first");
        let online = std::fs::read_to_string(out.join("formations/index.html")).unwrap().matches("data-mode=\"en ligne\"").count();
        assert!(online > 0 && online < all);
        b.execute("document.querySelector('label[for=vt-tf-mode-en-ligne]').scrollIntoView({block: 'center', behavior: 'instant'}); return null").await.unwrap();
        b.click("label[for=vt-tf-mode-en-ligne]").await.unwrap();
        let shown = strings(&b, visible).await;
        assert_eq!(shown.len(), online, "{shown:?}");
        assert!(shown.iter().all(|s| s.starts_with("en ligne|")), "{shown:?}");
        assert!(b.text("[data-filter-status]").await.unwrap().starts_with(&format!("{online} ")), "the count is announced");
        b.screenshot(format!("target/shots/listing-formations-en-ligne-{width}.png")).await.unwrap();
        b.click("label[for=vt-tf-when-past]").await.unwrap();
        let shown = strings(&b, visible).await;
        assert!(shown.iter().all(|s| s.starts_with("en ligne|") && s.ends_with("|past")), "{shown:?}");
        let upcoming_hidden = b.execute("return document.querySelector('[data-filter-section]').hidden").await.unwrap();
        assert_eq!(upcoming_hidden, Value::Bool(true), "the upcoming section disappears when only past trainings are asked for");
        b.click("label[for=vt-tf-when-all]").await.unwrap();
        b.click("label[for=vt-tf-mode-all]").await.unwrap();
        b.click("label[for=vt-tf-scope-europeenne]").await.unwrap();
        let shown = strings(&b, visible).await;
        assert!(!shown.is_empty() && shown.iter().all(|s| s.contains("|européenne|")), "{shown:?}");
        b.click("label[for=vt-tf-scope-all]").await.unwrap();
        no_overflow(&b, "/formations/").await;
        b.screenshot_full_page(format!("target/shots/listing-formations-{width}.png"), width).await.unwrap();
        b.set_window_size(width, 900).await.unwrap();

        // The fact sheet of a project: before the text on a phone, beside it on a desktop.
        b.goto(&server.url(&projects[0].0)).await.unwrap();
        let pos = b.execute(
            "const f = document.querySelector('.factsheet').getBoundingClientRect(), p = document.querySelector('.entry__main .prose').getBoundingClientRect(); return [f.top, p.top, f.left, p.left]",
        ).await.unwrap();
        let pos: Vec<f64> = pos.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        if width == 390 {
            assert!(pos[0] < pos[1], "fact sheet before the text on a phone: {pos:?}");
        } else {
            assert!(pos[2] > pos[3], "fact sheet to the right of the text on a desktop: {pos:?}");
        }
        no_overflow(&b, &projects[0].0).await;
        b.execute("document.querySelector('.entry__layout').scrollIntoView({block: 'start', behavior: 'instant'}); return null").await.unwrap();
        b.screenshot(format!("target/shots/listing-projet-faits-{width}.png")).await.unwrap();
        b.goto(&server.url("/projets/")).await.unwrap();
        b.execute("document.querySelector('.grid').scrollIntoView({block: 'start', behavior: 'instant'}); return null").await.unwrap();
        b.screenshot(format!("target/shots/listing-cartes-{width}.png")).await.unwrap();
        b.goto(&server.url(&projects[0].0)).await.unwrap();
        b.screenshot_full_page(format!("target/shots/listing-projet-{width}.png"), width).await.unwrap();
    }
    let violations = b.csp_violations().await.unwrap();
    assert!(violations.is_empty(), "{violations:?}");
    b.close().await;
}
