//! The correspondents' « Contenus » editor (issue 12) through the real router,
//! a real SQLite file and the real incremental rebuild: a training created,
//! edited, refused when the file changed meanwhile (another save, an edit on
//! disk), withdrawn, put back and restored to an earlier version, each step
//! checked on the public page, in the history, the journal and the git
//! commits of `content/`; then the form's validation errors and hostile values.

mod common;

use std::path::Path;
use std::process::Command;

use axum::http::{StatusCode, header};
use common::*;
use vitrine_daemon::auth::Role;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=Installateur", "-c", "user.email=installateur@example.org", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn training<'a>(csrf: &'a str, hash: &'a str, title: &'a str, start: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("vt_hash", hash),
        ("title", title),
        ("summary", "Une demi-journée pour découvrir eTwinning et trouver un partenaire."),
        ("scope", "nationale"),
        ("mode", "en ligne"),
        ("audience[0]", "enseignants du second degré"),
        ("organiser", "Réseau Canopé"),
        ("sessions[0].start", start),
        ("sessions[0].end", "2027-03-10T17:00"),
        ("sessions[0].place", "En ligne"),
        ("vt_date", "2026-01-15"),
        ("vt_body", body),
    ]
}

fn location(resp: &axum::http::Response<axum::body::Body>) -> String {
    resp.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// Every commit of the repository: "author name|author e-mail|subject", newest first.
fn commits(site: &Path) -> Vec<String> {
    git(site, &["log", "--format=%an|%ae|%s"]).lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correspondent_creates_edits_withdraws_and_restores_a_training_with_history_and_git() {
    let site = example_site();
    let s = site.path();
    git(s, &["init", "-q"]);
    git(s, &["add", "-A"]);
    git(s, &["commit", "-q", "-m", "Site d'exemple"]);
    let st = state(s, test_settings(), true);
    add_user(&st, "camille", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "camille", "mot de passe très long").await;
    let ck = Some(cookie.as_str());

    // The list holds the hand-written entries of every collection; search and filter.
    let list = body(send(&st, get("/moderation/contenus", ck)).await).await;
    assert!(list.contains("Séminaire de contact à Strasbourg") && list.contains("Mentions légales"), "hand-written entries listed");
    let found = body(send(&st, get("/moderation/contenus?q=strasbourg&collection=trainings", ck)).await).await;
    assert!(found.contains("Séminaire de contact à Strasbourg") && !found.contains("Mentions légales"), "search by title and type");

    // Create.
    let form = body(send(&st, get("/moderation/contenus/nouveau/trainings", ck)).await).await;
    assert!(form.contains("id=\"f-title\"") && form.contains("name=\"sessions[0].start\""), "the schema's form");
    let r = send(&st, post_form("/moderation/contenus/nouveau/trainings", &training(&csrf, "", "Découvrir eTwinning : Tera {{ 7*7 }}", "2027-03-10T14:00", "Premier texte."), ck)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    let entry = location(&r);
    assert_eq!(entry, "/moderation/contenus/trainings/decouvrir-etwinning-tera-7-7?ok=cree");
    let file = s.join("content/trainings/decouvrir-etwinning-tera-7-7/index.md");
    let public = s.join("public/formations/decouvrir-etwinning-tera-7-7/index.html");
    let page = std::fs::read_to_string(&public).expect("the new page is built");
    assert!(page.contains("datetime=\"2027-03-10T14:00\"") && page.contains("{{ 7*7 }}") && !page.contains(">49<"), "Tera syntax stays text");
    let html = body(send(&st, get(&entry, ck)).await).await;
    assert!(html.contains("Enregistré"), "the notice after saving");
    let hash1 = hidden_value(&html, "vt_hash");

    // Edit the session's date.
    let r = send(&st, post_form("/moderation/contenus/trainings/decouvrir-etwinning-tera-7-7", &training(&csrf, &hash1, "Découvrir eTwinning : Tera {{ 7*7 }}", "2027-03-12T14:00", "Premier texte."), ck)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    assert!(location(&r).ends_with("?ok=enregistre"));
    let page = std::fs::read_to_string(&public).unwrap();
    assert!(page.contains("datetime=\"2027-03-12T14:00\"") && !page.contains("2027-03-10T14:00"), "the edit is live");
    let html = body(send(&st, get("/moderation/contenus/trainings/decouvrir-etwinning-tera-7-7", ck)).await).await;
    let hash2 = hidden_value(&html, "vt_hash");

    // A second correspondent's form, opened before that save: refused, nothing written.
    let before = std::fs::read_to_string(&file).unwrap();
    let r = send(&st, post_form("/moderation/contenus/trainings/decouvrir-etwinning-tera-7-7", &training(&csrf, &hash1, "Écrasé", "2027-03-20T14:00", "Autre."), ck)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let text = body(r).await;
    assert!(text.contains("modifiée depuis l") && text.contains("ouverture du formulaire") && text.contains("value=\"Écrasé\""), "clear message, typed values kept");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    // An edit on disk meanwhile: refused the same way.
    std::fs::write(&file, format!("{before}\nAjout à la main.\n")).unwrap();
    let r = send(&st, post_form("/moderation/contenus/trainings/decouvrir-etwinning-tera-7-7", &training(&csrf, &hash2, "Écrasé", "2027-03-20T14:00", "Autre."), ck)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(std::fs::read_to_string(&file).unwrap().contains("Ajout à la main."), "the disk edit is kept");
    std::fs::write(&file, &before).unwrap();
    let (rb, f) = (st.rebuilder.clone().unwrap(), file.clone());
    tokio::task::spawn_blocking(move || rb.rebuild(&[f]).unwrap()).await.unwrap();

    // Withdraw: the page leaves the site, the file stays.
    let r = send(&st, post_form("/moderation/contenus/trainings/decouvrir-etwinning-tera-7-7/retirer", &[("csrf", &csrf), ("vt_hash", &hash2)], ck)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    assert!(!public.exists(), "withdrawn from the site");
    assert!(std::fs::read_to_string(&file).unwrap().contains("draft: true"), "kept, not deleted");
    let html = body(send(&st, get("/moderation/contenus/trainings/decouvrir-etwinning-tera-7-7?ok=retire", ck)).await).await;
    assert!(html.contains("retirée du site") && html.contains("Remettre en ligne"));
    let hash3 = hidden_value(&html, "vt_hash");

    // Put back.
    let r = send(&st, post_form("/moderation/contenus/trainings/decouvrir-etwinning-tera-7-7/remettre", &[("csrf", &csrf), ("vt_hash", &hash3)], ck)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    assert!(std::fs::read_to_string(&public).unwrap().contains("2027-03-12T14:00"));

    // Restore the first version (before the date was edited).
    let html = body(send(&st, get("/moderation/contenus/trainings/decouvrir-etwinning-tera-7-7", ck)).await).await;
    let hash4 = hidden_value(&html, "vt_hash");
    let versions = vitrine_daemon::content::versions(&st.data_dir, "trainings", "decouvrir-etwinning-tera-7-7");
    assert_eq!(versions.len(), 3, "one version kept per change: {versions:?}");
    let oldest = versions.last().unwrap().id.clone();
    assert!(html.contains(&format!("/versions/{oldest}/restaurer")), "restorable from the page");
    let r = send(&st, post_form(&format!("/moderation/contenus/trainings/decouvrir-etwinning-tera-7-7/versions/{oldest}/restaurer"), &[("csrf", &csrf), ("vt_hash", &hash4)], ck)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    assert!(std::fs::read_to_string(&public).unwrap().contains("datetime=\"2027-03-10T14:00\""), "the first date is back");

    // The journal: who and what, each step.
    let html = body(send(&st, get("/moderation/contenus/trainings/decouvrir-etwinning-tera-7-7", ck)).await).await;
    for action in ["Entrée créée", "Entrée modifiée", "Retirée du site", "Remise en ligne", "Version antérieure restaurée"] {
        assert!(html.contains(action), "journal lacks {action}");
    }
    assert_eq!(html.matches("<td data-label=\"Qui\">camille</td>").count(), 5, "who, for each change");

    // Git: one commit per change, authored by the correspondent.
    let log = commits(s);
    assert_eq!(log.len(), 6, "{log:?}");
    assert!(log[..5].iter().all(|c| c.starts_with("camille|camille@127.0.0.1|")), "{log:?}");
    assert!(log[4].contains("Création : formation « Découvrir eTwinning : Tera {{ 7*7 }} » (trainings/decouvrir-etwinning-tera-7-7)"), "{log:?}");
    assert!(log[0].starts_with("camille|camille@127.0.0.1|Restauration d'une version antérieure"), "{log:?}");
    assert_eq!(git(s, &["status", "--porcelain", "--", "content"]), "", "everything committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_or_hostile_values_write_nothing_or_stay_text() {
    let site = example_site();
    let s = site.path();
    let st = state(s, test_settings(), true);
    add_user(&st, "modo", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "modo", "mot de passe très long").await;
    let ck = Some(cookie.as_str());
    let before = content_snapshot(s);

    // Errors beside the fields, with the build's messages; nothing written.
    let mut bad = training(&csrf, "", "Sans résumé", "2027-03-10T14:00", "Texte.");
    bad.retain(|(k, _)| *k != "summary");
    bad.retain(|(k, _)| *k != "vt_date");
    bad.push(("vt_date", "2026-13-45"));
    let r = send(&st, post_form("/moderation/contenus/nouveau/trainings", &bad, ck)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body(r).await;
    assert!(html.contains("id=\"f-summary-error\""), "error beside the summary");
    assert!(html.contains("id=\"f-vt_date-error\"") && html.contains("2026-13-45"), "error beside the date");
    assert!(html.contains("value=\"Sans résumé\""), "typed values kept");
    let r = send(&st, post_form("/moderation/contenus/nouveau/trainings", &training(&csrf, "", "<script>alert(1)</script>", "2027-03-10T14:00", "Texte."), ck)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(r).await.contains("&lt;script&gt;"), "shown as text");
    assert_eq!(content_snapshot(s), before, "nothing written");

    // YAML-breaking characters, `---` lines and Tera syntax are stored and shown as text,
    // and a title made of path segments stays in the collection's folder.
    let title = "../../etc: \"x\" # {% raw %} ---";
    let body_text = "---\ntitle: pirate\n---\n{{ config }} {% include \"x\" %}";
    let r = send(&st, post_form("/moderation/contenus/nouveau/trainings", &training(&csrf, "", title, "2027-03-10T14:00", body_text), ck)).await;
    if r.status() != StatusCode::SEE_OTHER {
        let t = body(r).await;
        panic!("{t}");
    }
    let slug = location(&r).split('/').nth(4).unwrap().split('?').next().unwrap().to_string();
    assert_eq!(slug, "etc-x-raw");
    let text = std::fs::read_to_string(s.join(format!("content/trainings/{slug}/index.md"))).unwrap();
    assert!(text.starts_with("---\ntitle: \"../../etc: \\\"x\\\" # {% raw %} ---\"\n"), "{text}");
    let page = std::fs::read_to_string(s.join(format!("public/formations/{slug}/index.html"))).unwrap();
    assert!(page.contains("{{ config }}") && page.contains("{% include"), "Tera syntax shown as text");
    let h1 = page.split("<h1").nth(1).unwrap_or_default().split("</h1>").next().unwrap_or_default();
    assert!(h1.contains("../../etc") && h1.contains("{% raw %} ---"), "title as text: {h1}");
    assert!(page.contains("pirate"), "`---` lines in the body stay body text");
    assert!(!s.join("etc").exists() && !s.join("content/etc").exists());

    // The preview: the site's own template, the form's values, nothing written.
    let before = content_snapshot(s);
    let r = send(&st, post_form("/moderation/contenus/trainings/seminaire-de-contact-strasbourg/apercu", &training(&csrf, "", "Titre en aperçu", "2027-05-19T13:00", "Texte *en aperçu*."), ck)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body(r).await;
    assert!(html.contains("Aperçu, non publié") && html.contains("Titre en aperçu") && html.contains("<em>en aperçu</em>"), "preview");
    assert!(html.contains("vt-sessions-title"), "rendered by the theme's training template");
    assert_eq!(content_snapshot(s), before, "the preview writes nothing");

    // Pictures: through the teachers' checks, under new names, an earlier version's kept.
    let mut project: Vec<(&str, &str)> = valid_project().into_iter().filter(|(k, _)| !k.starts_with("vt_name") && !k.starts_with("vt_email")).collect();
    project.push(("csrf", &csrf));
    project.push(("cover.alt", "Une rivière"));
    let multipart_post = |uri: &str, texts: &[(&str, &str)], png: &[u8]| {
        post_raw(uri, &format!("multipart/form-data; boundary={BOUNDARY}"), multipart(texts, &[("cover", "c.png", png)]), ck)
    };
    let r = send(&st, multipart_post("/moderation/contenus/nouveau/projects", &project, &png(64, 48))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    let bundle = s.join("content/projects/rivieres-d-europe");
    let covers = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with("cover-")).collect();
        v.sort();
        v
    };
    let first = covers(&bundle);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(std::fs::read_to_string(bundle.join("index.md")).unwrap().contains(&format!("\"src\":\"{}\"", first[0])));
    assert!(std::fs::read_to_string(s.join("public/projets/rivieres-d-europe/index.html")).unwrap().contains("alt=\"Une rivière\""));
    let html = body(send(&st, get("/moderation/contenus/projects/rivieres-d-europe", ck)).await).await;
    let h = hidden_value(&html, "vt_hash");
    let mut again = project.clone();
    again.push(("vt_hash", &h));
    let r = send(&st, multipart_post("/moderation/contenus/projects/rivieres-d-europe", &again, &png(80, 40))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    let both = covers(&bundle);
    assert_eq!(both.len(), 2, "the first version's picture stays: {both:?}");
    assert!(both.contains(&first[0]));
    let r = send(&st, multipart_post("/moderation/contenus/nouveau/projects", &project, b"not a picture")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a bad picture is a field error");

    // Unknown collection, a slug with path segments: not found.
    for uri in ["/moderation/contenus/nope/x", "/moderation/contenus/trainings/..%2F..%2Fvitrine", "/moderation/contenus/trainings/_index"] {
        assert_eq!(send(&st, get(uri, ck)).await.status(), StatusCode::NOT_FOUND, "{uri}");
    }
}
