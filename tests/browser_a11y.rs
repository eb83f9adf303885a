//! Accessibility checks of the default theme on the built example site, in a
//! real Chromium, for one page of every type (home, listings and their second
//! page, entries, taxonomy index and term, search, plain page, form, 404).
//!
//! What it checks on each page, at a phone width (390 px) and a desktop width:
//! the `lang` attribute, the skip link is the first stop of the Tab key and
//! moves the focus into `<main>`, a visible focus ring, one `h1` and no skipped
//! heading level, no resource loaded from another origin, no horizontal
//! scrolling, every form control has a label and every `aria-describedby`
//! points at an element that exists. The page list is read from the build
//! output (first entry of each listing), never hard-coded.
//!
//! A second test runs the same checks on the moderation daemon's own pages
//! (login reached by the redirect, queue, item page with its journal and edit
//! form, error pages for a visitor and for a logged-in moderator).
//!
//! It deliberately does not check colour contrast or ARIA rules in depth:
//! that is axe-core's job, run by hand (see the README, "Accessibility"),
//! because axe is an npm package the tests must not download.

mod browser;
mod common;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::Value;
use std::path::Path;

/// One page's facts, gathered by a script in the page.
const FACTS: &str = r#"
const vw = document.documentElement.clientWidth;
const levels = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
  .filter(h => !h.closest('[hidden]'))
  .map(h => +h.tagName[1]);
const skips = [];
for (let i = 1; i < levels.length; i++) if (levels[i] > levels[i - 1] + 1) skips.push(`h${levels[i - 1]} then h${levels[i]}`);
const foreign = performance.getEntriesByType('resource').map(r => r.name)
  .filter(u => !u.startsWith(location.origin) && !u.startsWith('data:'));
for (const el of document.querySelectorAll('[src], [srcset], link[rel~="stylesheet"], link[rel~="icon"], link[rel~="preload"]')) {
  for (const a of ['src', 'srcset', 'href']) {
    const v = (el.getAttribute(a) || '').trim();
    if (/^(https?:)?\/\//.test(v) && !v.startsWith(location.origin)) foreign.push(`${el.tagName} ${a}=${v}`);
  }
}
const controls = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(c => !c.closest('[hidden], [aria-hidden=true]'));
const unlabelled = controls.filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-labelledby') && !c.getAttribute('aria-label'))
  .map(c => c.id || c.name);
const dangling = [...document.querySelectorAll('[aria-describedby], [aria-labelledby]')].flatMap(e =>
  ['aria-describedby', 'aria-labelledby'].flatMap(a => (e.getAttribute(a) || '').split(/\s+/).filter(id => id && !document.getElementById(id)).map(id => `${a}=${id}`)));
const wide = [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > vw + 1 && !e.closest('.table-wrap, .prose table, .visually-hidden, .skip-link, [hidden]'))
  .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ')[0] : ''));
return {
  lang: document.documentElement.lang,
  h1: levels.filter(l => l === 1).length,
  skips, foreign, unlabelled, dangling,
  overflow: document.documentElement.scrollWidth > vw + 1,
  wide,
};
"#;

/// After the first Tab: what has the focus, and does it show a focus ring.
const FOCUSED: &str = r#"
const a = document.activeElement;
const s = getComputedStyle(a);
const r = a.getBoundingClientRect();
return {
  class: a.className,
  href: a.getAttribute('href'),
  ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
  on_screen: r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.right <= document.documentElement.clientWidth,
};
"#;

/// The first entry link of a listing page in the build output.
fn first_entry(out: &Path, listing: &str) -> String {
    let html = std::fs::read_to_string(out.join(listing.trim_matches('/')).join("index.html")).unwrap();
    let at = html.find("class=\"card__title\"").unwrap_or_else(|| panic!("{listing} has cards"));
    let href = &html[at..][html[at..].find("href=\"").unwrap() + 6..];
    href[..href.find('"').unwrap()].to_string()
}

fn exists(out: &Path, url: &str) -> bool {
    out.join(url.trim_matches('/')).join("index.html").is_file()
}

async fn press(b: &browser::Browser, key: Key) {
    let k: char = key.into();
    let seq = KeyActions::new("keyboard".into()).then(KeyAction::Down { value: k }).then(KeyAction::Up { value: k });
    b.client().perform_actions(seq).await.unwrap();
}

#[tokio::test]
async fn every_page_type_passes_the_basic_accessibility_checks() {
    let Some(b) = browser::Browser::start().await.unwrap() else { return };
    b.watch_csp().await.unwrap();
    let (_dir, out) = common::build_example_site();

    let mut pages: Vec<String> = vec!["/".into()];
    for listing in ["/projets/", "/formations/", "/labels/"] {
        pages.push(listing.into());
        pages.push(first_entry(&out, listing));
        let second = format!("{listing}page/2/");
        if exists(&out, &second) {
            pages.push(second);
        }
    }
    pages.push("/pays/".into());
    let taxonomy = std::fs::read_to_string(out.join("pays/index.html")).unwrap();
    let term_at = taxonomy.find("class=\"term\" href=\"").expect("the taxonomy index links its terms");
    let term = &taxonomy[term_at + 19..];
    pages.push(term[..term.find('"').unwrap()].to_string());
    for p in ["/recherche/", "/a-propos/", "/proposer/projets/", "/proposer/labels/"] {
        assert!(exists(&out, p), "{p} is built");
        pages.push(p.into());
    }
    pages.push("/404.html".into());

    let server = browser::StaticServer::serve(&out).unwrap();
    let mut problems = Vec::new();
    for (width, height) in [(390, 900), (1280, 900)] {
        b.set_window_size(width, height).await.unwrap();
        for page in &pages {
            b.goto(&server.url(page)).await.unwrap();
            let at = format!("{page} at {width} px");
            problems.extend(facts_problems(&b, &at).await);
            // Keyboard: the first Tab lands on the visible skip link; Enter moves the focus into <main>.
            problems.extend(
                skip_link_problems(&b, &at, "skip-link", "document.activeElement.id === 'contenu' || !!document.activeElement.closest('main')", "into").await,
            );
        }
    }
    b.close().await;
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

/// The checks above, on one daemon page (its skip link is `a.skip`).
async fn daemon_page_problems(b: &browser::Browser, at: &str) -> Vec<String> {
    let mut problems = facts_problems(b, at).await;
    let has_header = b.execute("return !!document.querySelector('header.top a[href]')").await.unwrap();
    if has_header != Value::Bool(true) {
        problems.push(format!("{at}: no site header"));
    }
    b.execute("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);").await.unwrap();
    problems.extend(skip_link_problems(b, at, "skip", "document.activeElement.id === 'contenu'", "onto").await);
    problems
}

/// What the page's facts ([`FACTS`]) say is wrong: `lang`, one `h1`, heading levels,
/// foreign resources, unlabelled controls, dangling ARIA references, sideways scrolling.
async fn facts_problems(b: &browser::Browser, at: &str) -> Vec<String> {
    let mut problems = Vec::new();
    // Issue 9: the pages work under their Content-Security-Policy, with no violation.
    for v in b.csp_violations().await.unwrap() {
        problems.push(format!("{at}: Content-Security-Policy violation: {v}"));
    }
    let f = b.execute(FACTS).await.unwrap();
    if f["lang"] != "fr" {
        problems.push(format!("{at}: lang is {}", f["lang"]));
    }
    if f["h1"] != 1 {
        problems.push(format!("{at}: {} h1", f["h1"]));
    }
    for (key, what) in [("skips", "skipped heading level"), ("foreign", "resource from another origin"), ("unlabelled", "control without a label"), ("dangling", "ARIA reference to a missing id")] {
        if f[key].as_array().is_some_and(|a| !a.is_empty()) {
            problems.push(format!("{at}: {what}: {}", f[key]));
        }
    }
    if f["overflow"] == Value::Bool(true) {
        problems.push(format!("{at}: scrolls sideways, too wide: {}", f["wide"]));
    }
    problems
}

/// The first Tab must land on the visible skip link (class `class`, to `#contenu`,
/// with a focus ring) and Enter must put the focus where `in_main_js` says
/// (`preposition`: how the message says it, "into" or "onto" <main>).
async fn skip_link_problems(b: &browser::Browser, at: &str, class: &str, in_main_js: &str, preposition: &str) -> Vec<String> {
    let mut problems = Vec::new();
    press(b, Key::Tab).await;
    let focus = b.execute(FOCUSED).await.unwrap();
    if focus["class"] != class || focus["href"] != "#contenu" {
        problems.push(format!("{at}: first Tab stop is {focus}"));
        return problems;
    }
    if focus["ring"] != Value::Bool(true) || focus["on_screen"] != Value::Bool(true) {
        problems.push(format!("{at}: skip link focused but not visible with a focus ring: {focus}"));
    }
    press(b, Key::Enter).await;
    let in_main = b.execute(&format!("return {in_main_js}")).await.unwrap();
    if in_main != Value::Bool(true) {
        problems.push(format!("{at}: the skip link does not move the focus {preposition} <main>"));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_pages_and_error_pages_pass_the_basic_accessibility_checks() {
    use vitrine_daemon::state::{AppState, Settings};
    let Some(b) = browser::Browser::start().await.unwrap() else { return };
    b.watch_csp().await.unwrap();
    let site = tempfile::tempdir().unwrap();
    common::copy_example_site(site.path());
    let st = AppState::new(site.path(), Settings { rate_limit_per_minute: 0, ..Settings::default() }, None).unwrap();
    browser::add_correspondent(&st).await;
    let id = st
        .db
        .write(move |c| {
            let r = vitrine_daemon::queue::insert(
                c,
                vitrine_daemon::queue::NewSubmission {
                    collection: "labels".into(),
                    payload: vitrine_daemon::payload::Payload::from_json(&serde_json::json!({"title": "Label national", "body": "", "fields": {"title": "Label national", "kind": "Label de qualité national", "year": 2026, "project": "chaque-goutte-compte"}})),
                    submitter_name: "Luc".into(),
                    submitter_email: "luc@example.org".into(),
                    idempotency_key: None,
                    images: Vec::new(),
                },
            )?;
            vitrine_daemon::queue::transition(c, r.id, &[vitrine_daemon::queue::Status::Pending], vitrine_daemon::queue::Status::ChangesRequested, "correspondant", Some("Précisez l'année."))?;
            Ok(r.id)
        })
        .await
        .unwrap();
    let server = browser::DaemonServer::start(st.clone()).await;
    let base = server.base.clone();

    let mut problems = Vec::new();
    for (width, height) in [(390, 900), (1280, 900)] {
        b.set_window_size(width, height).await.unwrap();
        // A visitor: an unknown address, then a moderation page (sent to the login).
        b.goto(&format!("{base}/nulle-part/")).await.unwrap();
        problems.extend(daemon_page_problems(&b, &format!("visitor 404 at {width} px")).await);
        b.goto(&format!("{base}/moderation/item/{id}")).await.unwrap();
        let url = b.current_url().await.unwrap();
        assert!(url.ends_with(&format!("/moderation/login?next=/moderation/item/{id}")), "{url}");
        problems.extend(daemon_page_problems(&b, &format!("login at {width} px")).await);
        // Logging in comes back to the item.
        b.fill("#username", "correspondant").await.unwrap();
        b.fill("#password", "mot de passe du correspondant").await.unwrap();
        b.click("form[action='/moderation/login'] button[type='submit']").await.unwrap();
        let h1 = b.wait_for_text("h1", "Label national").await.unwrap();
        assert!(h1.contains("Label national"), "{h1}");
        problems.extend(daemon_page_problems(&b, &format!("item at {width} px")).await);
        b.screenshot(format!("target/shots/moderation-item-{width}.png")).await.unwrap();
        let journal = b.text("table.audit").await.unwrap();
        assert!(journal.contains("Modifications demandées") && journal.contains("Précisez l'année."), "{journal}");
        assert_eq!(b.find("#f-project").await.unwrap().tag_name().await.unwrap(), "select");
        for page in ["/moderation/queue", "/moderation/compte", "/moderation/item/999999", "/moderation/logout"] {
            b.goto(&format!("{base}{page}")).await.unwrap();
            problems.extend(daemon_page_problems(&b, &format!("{page} at {width} px")).await);
        }
        // The queue's state column is in view at every width, without scrolling sideways.
        b.goto(&format!("{base}/moderation/queue")).await.unwrap();
        b.execute("document.getElementById('soumissions').scrollIntoView(); return null;").await.unwrap();
        b.screenshot(format!("target/shots/moderation-queue-{width}.png")).await.unwrap();
        let state = b
            .execute(
                "const c = document.querySelector('table.queue td[data-label=\"État\"]'); const r = c.getBoundingClientRect(); \
                 return {text: c.innerText, left: r.left, right: r.right, width: window.innerWidth};",
            )
            .await
            .unwrap();
        let (left, right, inner) = (state["left"].as_f64().unwrap(), state["right"].as_f64().unwrap(), state["width"].as_f64().unwrap());
        if !(state["text"].as_str().unwrap_or("").contains("modifications demandées") && left >= 0.0 && right <= inner) {
            problems.push(format!("queue at {width} px: state column out of view: {state}"));
        }
        // The « Contenus » editor (issue 12): list, an entry, a new entry's form.
        for page in ["/moderation/contenus", "/moderation/contenus/trainings/seminaire-de-contact-strasbourg", "/moderation/contenus/nouveau/projects"] {
            b.goto(&format!("{base}{page}")).await.unwrap();
            problems.extend(daemon_page_problems(&b, &format!("{page} at {width} px")).await);
        }
        // The preview is a page of the site served by the daemon: the site's policy, no violation.
        b.goto(&format!("{base}/moderation/item/{id}/preview")).await.unwrap();
        b.screenshot(format!("target/shots/moderation-preview-{width}.png")).await.unwrap();
        for v in b.csp_violations().await.unwrap() {
            problems.push(format!("preview at {width} px: Content-Security-Policy violation: {v}"));
        }
        b.goto(&format!("{base}/moderation/item/999999")).await.unwrap();
        let back = b.attr("main a[href='/moderation/queue']", "href").await.unwrap();
        assert!(back.is_some(), "the moderator's error page leads back to the queue");
        // Log out for the next width.
        b.click("header form[action='/moderation/logout'] button").await.unwrap();
        b.wait_for_text("h1", "Connexion").await.unwrap();
    }
    b.close().await;
    server.stop().await;
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
