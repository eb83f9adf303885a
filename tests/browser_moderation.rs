//! Browser test of the moderation daemon (issue 3) in Debian's Chromium: a
//! teacher submits the project form with a mistake (and a `<script>` in the
//! title), sees the error next to the field, corrects it and sends it; a
//! moderator logs in and asks for changes; the teacher revises the proposal
//! from the secret status page; the moderator sees the revision and approves;
//! the new page is on the site; the script never runs anywhere along the way.
//!
//! The daemon runs in-process (`vitrine_daemon::server::serve`) on 127.0.0.1
//! with a real SQLite file, over a built copy of the example site.

mod browser;
mod common;

use vitrine_daemon::state::{AppState, Settings};

/// Ticks a checkbox by clicking its label, as a person does.
async fn tick(b: &browser::Browser, name: &str, value: &str) {
    let id = b.attr(&format!("input[name='{name}'][value='{value}']"), "id").await.unwrap().unwrap();
    // The theme scrolls smoothly; WebDriver clicks before a smooth scroll ends. Scroll at once.
    b.execute(&format!(
        "document.documentElement.style.scrollBehavior = 'auto'; document.getElementById('{id}').scrollIntoView({{block: 'center'}}); return null;"
    ))
    .await
    .unwrap();
    if let Err(e) = b.click(&format!("label[for='{id}']")).await {
        b.screenshot("target/shots/tick-failed.png").await.unwrap();
        panic!("{e}");
    }
    assert!(b.find(&format!("#{id}")).await.unwrap().is_selected().await.unwrap(), "{name}={value} not ticked");
}

/// Clicks the element matching `css` after scrolling it into view at once.
async fn press(b: &browser::Browser, css: &str) {
    let q = serde_json::to_string(css).unwrap();
    b.execute(&format!(
        "document.documentElement.style.scrollBehavior = 'auto'; document.querySelector({q}).scrollIntoView({{block: 'center'}}); return null;"
    ))
    .await
    .unwrap();
    b.click(css).await.unwrap();
}

/// Waits (bounded) until the element matching `css` contains `needle`; returns its last text.
async fn text_containing(b: &browser::Browser, css: &str, needle: &str) -> String {
    for _ in 0..200 {
        if let Ok(els) = b.find_all(css).await
            && let Some(e) = els.first()
            && let Ok(t) = e.text().await
            && t.contains(needle)
        {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    b.text(css).await.unwrap_or_default()
}

async fn pwned(b: &browser::Browser) -> bool {
    b.execute("return typeof window.__pwned !== 'undefined';").await.unwrap() == serde_json::Value::Bool(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teacher_submits_with_a_mistake_then_moderator_approves_and_page_is_live() {
    let Some(b) = browser::Browser::start().await.unwrap() else { return };
    b.watch_csp().await.unwrap();
    let site = tempfile::tempdir().unwrap();
    common::copy_example_site(site.path());
    let dir = site.path().to_path_buf();
    tokio::task::spawn_blocking(move || vitrine_generator::build(&vitrine_generator::BuildOptions::new(dir)).unwrap())
        .await
        .unwrap();

    // A person takes more than a few seconds to fill the form; the driver does not.
    let settings = Settings { min_fill_secs: 0, rate_limit_per_minute: 0, ..Settings::default() };
    let rebuilder = vitrine_daemon::server::incremental_rebuilder(site.path().to_path_buf());
    let st = AppState::new(site.path(), settings, Some(rebuilder)).unwrap();
    browser::add_correspondent(&st).await;
    let server = browser::DaemonServer::start(st.clone()).await;
    let base = server.base.clone();

    b.set_window_size(1280, 1600).await.unwrap();
    // The site's own form page (theme), with a token injected by the daemon.
    b.goto(&format!("{base}/proposer/projets/")).await.unwrap();
    b.fill("#f-title", "<script>window.__pwned = 1</script>Rivières sans frontières").await.unwrap();
    // Mistakes the browser cannot catch (its own checks stop empty required fields):
    // markup in the title and a malformed school year.
    b.fill("#f-summary", "Deux classes comparent la qualité de l'eau de leurs rivières au fil des saisons.").await.unwrap();
    b.fill("#f-school", "Collège Jean Moulin").await.unwrap();
    b.fill("#f-school_year", "2025/26").await.unwrap();
    // Countries are not asked twice: the partners' countries make the list.
    // The "add one" button adds a row in place (vitrine.js).
    b.fill("#f-partners-0-school", "Liceo Galilei").await.unwrap();
    b.find("#f-partners-0-country").await.unwrap().select_by_value("Italie").await.unwrap();
    press(&b, "button.list-more[value='partners']").await;
    b.fill("#f-partners-1-school", "IES Cervantes").await.unwrap();
    b.find("#f-partners-1-country").await.unwrap().select_by_value("Espagne").await.unwrap();
    assert!(b.text("#f-partners-1 legend").await.unwrap().contains("Établissement partenaire 2"));
    tick(&b, "disciplines", "Physique-chimie").await;
    tick(&b, "levels", "collège").await;
    tick(&b, "languages", "anglais").await;
    b.find("#f-duration").await.unwrap().select_by_value("une année scolaire").await.unwrap();
    b.fill("#f-vt_body", "Nous avons **mesuré** le pH de nos rivières.").await.unwrap();
    b.fill("#f-vt_name", "Camille Enseignante").await.unwrap();
    b.fill("#f-vt_email", "camille@example.org").await.unwrap();
    press(&b, "form[action='/submit/projects'] button[type='submit']").await;

    // The form comes back with the errors next to the fields and the values kept.
    if b.find_all("#f-school_year-error").await.unwrap().is_empty() {
        b.screenshot("target/shots/after-submit.png").await.unwrap();
    }
    let err = text_containing(&b, "#f-school_year-error", "2025/26").await;
    assert!(err.contains("2025/26"), "{err}");
    assert_eq!(b.attr("#f-school_year", "aria-invalid").await.unwrap().as_deref(), Some("true"));
    assert!(b.text("#erreurs").await.unwrap().contains("Année scolaire"), "error summary");
    assert!(b.text("#f-title-error").await.unwrap().contains("HTML"));
    assert_eq!(b.attr("#f-school", "value").await.unwrap().as_deref(), Some("Collège Jean Moulin"));
    let title_value = b.find("#f-title").await.unwrap().prop("value").await.unwrap().unwrap();
    assert!(title_value.contains("<script>"), "typed text kept as text: {title_value}");
    assert!(!pwned(&b).await, "the script ran on the error page");
    assert_eq!(st.db.read(vitrine_daemon::queue::total).await.unwrap(), 0);

    // Correct and send again.
    b.fill("#f-title", "Rivières sans frontières").await.unwrap();
    assert_eq!(
        b.find("#f-summary").await.unwrap().prop("value").await.unwrap().as_deref(),
        Some("Deux classes comparent la qualité de l'eau de leurs rivières au fil des saisons.")
    );
    b.fill("#f-school_year", "2025-2026").await.unwrap();
    assert_eq!(b.attr("#f-partners-1-school", "value").await.unwrap().as_deref(), Some("IES Cervantes"), "the added row survived the error");
    press(&b, "form[action='/submit/projects'] button[type='submit']").await;
    let reference = text_containing(&b, ".ref", "VT-").await;
    assert!(reference.starts_with("VT-"), "{reference}");
    let status_url = b.current_url().await.unwrap().to_string();
    assert!(status_url.contains("/suivi/"), "{status_url}");
    let status_url = status_url.split('?').next().unwrap().to_string();

    // The moderator logs in, opens the submission and approves it.
    b.goto(&format!("{base}/moderation")).await.unwrap();
    b.fill("#username", "correspondant").await.unwrap();
    b.fill("#password", "mot de passe du correspondant").await.unwrap();
    press(&b, "form[action='/moderation/login'] button[type='submit']").await;
    b.find("table.queue a").await.unwrap(); // waits for the queue page
    let links = b.find_all("table.queue a").await.unwrap();
    let mut opened = false;
    for l in links {
        if l.text().await.unwrap() == reference {
            l.click().await.unwrap();
            opened = true;
            break;
        }
    }
    assert!(opened, "reference {reference} not in the queue");
    assert!(text_containing(&b, "h1", &reference).await.contains("Rivières sans frontières"));
    let item_url = b.current_url().await.unwrap().to_string();
    b.fill("#changes-msg", "Précisez le résumé : quelles rivières ?").await.unwrap();
    press(&b, "form[action$='/changes'] button[type='submit']").await;
    let status = b.wait_for_text(".facts .status", "modifications demandées").await.unwrap();
    assert_eq!(status, "modifications demandées");

    // The teacher opens the secret status page: the message and the form, filled in.
    b.goto(&status_url).await.unwrap();
    assert!(text_containing(&b, "main", "quelles rivières").await.contains("Précisez le résumé"));
    assert!(b.text(".vt-sent").await.unwrap().contains("France, Italie, Espagne"), "the whole submission as sent");
    assert_eq!(b.attr("#f-school", "value").await.unwrap().as_deref(), Some("Collège Jean Moulin"));
    b.fill("#f-summary", "Deux classes comparent la qualité de l'eau du Rhône et de l'Èbre au fil des saisons.").await.unwrap();
    press(&b, "form[action$='/modifier'] button[type='submit']").await;
    let notice = text_containing(&b, "main [role='status']", "de nouveau en attente").await;
    assert!(notice.contains("de nouveau en attente"), "{notice}");
    assert!(!pwned(&b).await, "the script ran on the status page");

    // The moderator sees the revision in the item's history, then approves.
    b.goto(&item_url).await.unwrap();
    let journal = text_containing(&b, "table.audit", "Modifiée par l’auteur").await;
    assert!(journal.contains("Modifiée par l’auteur") && journal.contains("Champs modifiés : Résumé"), "{journal}");
    assert!(!journal.contains('{') && !journal.contains("revised"), "readable journal, no JSON: {journal}");
    assert!(!journal.contains("camille@example.org"), "personal data in the journal");
    press(&b, "form[action$='/approve'] button[type='submit']").await;
    let status = b.wait_for_text(".facts .status", "publiée").await.unwrap();
    assert_eq!(status, "publiée");
    let page_url = b.attr(".facts a[href^='/projets/']", "href").await.unwrap().unwrap();

    // The new page is on the site, built with the theme, and nothing ran.
    b.goto(&format!("{base}{page_url}")).await.unwrap();
    assert!(text_containing(&b, "h1", "Rivières").await.contains("Rivières sans frontières"));
    let main = b.text("main").await.unwrap();
    assert!(main.contains("mesuré") && main.contains("Rhône"), "the revised text is published: {main}");
    assert!(!pwned(&b).await);
    let html = b.client().source().await.unwrap();
    // Issue 9: all of it under the pages' Content-Security-Policy, with no violation.
    let violations = b.csp_violations().await.unwrap();
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
    assert!(!html.contains("camille@example.org") && !html.contains("Camille Enseignante"), "personal data on the page");

    b.close().await;
    server.stop().await;
}
