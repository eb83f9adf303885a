//! Browser test of the correspondents' « Contenus » editor (issue 12) in
//! Debian's Chromium: a correspondent logs in, creates a training, sees it on
//! the public site, edits its date, withdraws it, puts it back and restores
//! the first version, checking the public page and the entry's journal at
//! each step, all under the pages' Content-Security-Policy.
//!
//! The daemon runs in-process on 127.0.0.1 with a real SQLite file and the
//! generator's incremental rebuild, over a built copy of the example site.

mod browser;
mod common;

use vitrine_daemon::state::{AppState, Settings};

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

/// Sets a date or date-time control as its picker would (typing into them depends on the locale).
async fn set_value(b: &browser::Browser, id: &str, value: &str) {
    b.execute(&format!("document.getElementById({}).value = {}; return null;", serde_json::to_string(id).unwrap(), serde_json::to_string(value).unwrap()))
        .await
        .unwrap();
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

/// The public page's first session start (`<time datetime>` of the sessions table), or its `<h1>` when there is none.
async fn public_page(b: &browser::Browser, url: &str) -> (String, Option<String>) {
    b.goto(url).await.unwrap();
    let h1 = b.text("h1").await.unwrap_or_default();
    let start = match b.find_all("#vt-sessions-caption ~ tbody time, table time").await {
        Ok(t) if !t.is_empty() => t[0].attr("datetime").await.unwrap(),
        _ => None,
    };
    (h1, start)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correspondent_creates_edits_withdraws_and_restores_a_training() {
    let Some(b) = browser::Browser::start().await.unwrap() else { return };
    b.watch_csp().await.unwrap();
    let site = tempfile::tempdir().unwrap();
    common::copy_example_site(site.path());
    let dir = site.path().to_path_buf();
    tokio::task::spawn_blocking(move || vitrine_generator::build(&vitrine_generator::BuildOptions::new(dir)).unwrap())
        .await
        .unwrap();
    let settings = Settings { rate_limit_per_minute: 0, ..Settings::default() };
    let rebuilder = vitrine_daemon::server::incremental_rebuilder(site.path().to_path_buf());
    let st = AppState::new(site.path(), settings, Some(rebuilder)).unwrap();
    browser::add_correspondent(&st).await;
    let server = browser::DaemonServer::start(st.clone()).await;
    let base = server.base.clone();
    b.set_window_size(1280, 1400).await.unwrap();

    // Log in, open « Contenus » from the navigation, create a training.
    b.goto(&format!("{base}/moderation")).await.unwrap();
    b.fill("#username", "correspondant").await.unwrap();
    b.fill("#password", "mot de passe du correspondant").await.unwrap();
    press(&b, "form[action='/moderation/login'] button[type='submit']").await;
    b.find("table.queue, main h1").await.unwrap();
    press(&b, "nav a[href='/moderation/contenus']").await;
    assert!(text_containing(&b, "table.contents", "Strasbourg").await.contains("Strasbourg"), "hand-written entries listed");
    press(&b, "details.new-entry summary").await;
    press(&b, "a[href='/moderation/contenus/nouveau/trainings']").await;
    b.fill("#f-title", "Atelier « Premiers pas » : débuter sur eTwinning").await.unwrap();
    b.fill("#f-summary", "Deux heures en ligne pour créer son compte, trouver un partenaire et lancer un premier projet.").await.unwrap();
    b.find("#f-scope").await.unwrap().select_by_value("nationale").await.unwrap();
    b.find("#f-mode").await.unwrap().select_by_value("en ligne").await.unwrap();
    b.fill("#f-audience-0", "enseignants du second degré").await.unwrap();
    b.fill("#f-organiser", "Réseau Canopé").await.unwrap();
    set_value(&b, "f-sessions-0-start", "2027-03-10T14:00").await;
    set_value(&b, "f-sessions-0-end", "2027-03-10T16:00").await;
    b.fill("#f-sessions-0-place", "En ligne").await.unwrap();
    b.fill("#f-vt_body", "Apportez vos **idées** de projet.").await.unwrap();
    press(&b, "form[action='/moderation/contenus/nouveau/trainings'] button.primary").await;
    let notice = text_containing(&b, "main [role='status']", "Enregistré").await;
    assert!(notice.contains("Enregistré"), "{notice}");
    let entry_url = b.current_url().await.unwrap().to_string();
    let entry_url = entry_url.split('?').next().unwrap().to_string();
    let public_url = format!("{base}{}", b.attr(".facts a[href^='/formations/']", "href").await.unwrap().unwrap());
    assert!(b.text("table.audit").await.unwrap().contains("Entrée créée"), "journal: created");

    let (h1, start) = public_page(&b, &public_url).await;
    assert!(h1.contains("Premiers pas"), "{h1}");
    assert_eq!(start.as_deref(), Some("2027-03-10T14:00"));
    assert!(b.text("main").await.unwrap().contains("idées"));

    // Edit its date.
    b.goto(&entry_url).await.unwrap();
    set_value(&b, "f-sessions-0-start", "2027-03-17T14:00").await;
    set_value(&b, "f-sessions-0-end", "2027-03-17T16:00").await;
    press(&b, "form[action$='/trainings/atelier-premiers-pas-debuter-sur-etwinning'] button.primary").await;
    assert!(text_containing(&b, "main [role='status']", "Enregistré").await.contains("page publique est à jour"));
    assert!(b.text("table.audit").await.unwrap().contains("Entrée modifiée"), "journal: edited");
    let (_, start) = public_page(&b, &public_url).await;
    assert_eq!(start.as_deref(), Some("2027-03-17T14:00"), "the new date is live");

    // Withdraw: the page leaves the site.
    b.goto(&entry_url).await.unwrap();
    press(&b, "form[action$='/retirer'] button").await;
    assert!(text_containing(&b, "main [role='status']", "retirée").await.contains("retirée du site"));
    assert_eq!(b.text("#etat").await.unwrap(), "retirée");
    assert!(b.text("table.audit").await.unwrap().contains("Retirée du site"), "journal: withdrawn");
    let (h1, _) = public_page(&b, &public_url).await;
    assert!(!h1.contains("Premiers pas"), "still online after withdrawal: {h1}");

    // Put it back.
    b.goto(&entry_url).await.unwrap();
    press(&b, "form[action$='/remettre'] button").await;
    assert!(text_containing(&b, "main [role='status']", "de nouveau en ligne").await.contains("de nouveau en ligne"));
    assert!(b.text("table.audit").await.unwrap().contains("Remise en ligne"), "journal: put back");
    let (h1, start) = public_page(&b, &public_url).await;
    assert!(h1.contains("Premiers pas"), "{h1}");
    assert_eq!(start.as_deref(), Some("2027-03-17T14:00"));

    // Restore the first version (the oldest, last row of the versions table).
    b.goto(&entry_url).await.unwrap();
    let buttons = b.find_all("table.versions form button").await.unwrap();
    assert_eq!(buttons.len(), 3, "a version kept per change");
    b.execute("document.documentElement.style.scrollBehavior = 'auto'; const f = document.querySelectorAll('table.versions form'); f[f.length - 1].scrollIntoView({block: 'center'}); return null;")
        .await
        .unwrap();
    buttons.last().unwrap().click().await.unwrap();
    assert!(text_containing(&b, "main [role='status']", "version choisie").await.contains("rétablie"));
    let journal = b.text("table.audit").await.unwrap();
    assert!(journal.contains("Version antérieure restaurée") && journal.contains("correspondant"), "journal: restored, who: {journal}");
    let (_, start) = public_page(&b, &public_url).await;
    assert_eq!(start.as_deref(), Some("2027-03-10T14:00"), "the first date is back");

    // On a phone: no page-wide horizontal scrolling, the list's state column in view.
    for (name, url) in [("list", format!("{base}/moderation/contenus")), ("entry", entry_url.clone())] {
        b.set_window_size(390, 900).await.unwrap();
        b.goto(&url).await.unwrap();
        let widths = b
            .execute("return [document.documentElement.scrollWidth, document.documentElement.clientWidth, Math.ceil((document.querySelector('table.contents th:nth-child(2)') || document.body).getBoundingClientRect().right)];")
            .await
            .unwrap();
        let w: Vec<u64> = widths.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert!(w[0] <= w[1], "{name}: the page scrolls sideways at 390 px ({w:?})");
        assert!(w[2] <= w[1], "{name}: the state column is out of view at 390 px ({w:?})");
        b.screenshot_full_page(format!("target/shots/contents-{name}-390.png"), 390).await.unwrap();
        b.screenshot_full_page(format!("target/shots/contents-{name}-1280.png"), 1280).await.unwrap();
    }

    let violations = b.csp_violations().await.unwrap();
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
    b.close().await;
    server.stop().await;
}
