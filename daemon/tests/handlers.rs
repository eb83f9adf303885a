//! Handler tests: the real router (`web::app`) driven with `oneshot`, a real
//! SQLite file and a copy of the example site in a temp dir, and the real
//! generator build after approvals.

mod common;

use axum::http::{StatusCode, header};
use common::*;
use serde_json::{Value, json};
use vitrine_daemon::auth::Role;
use vitrine_daemon::queue;

#[tokio::test]
async fn project_form_round_trip_confirmation_status_and_notification() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    // The form page is generated from the schema, with a signed token.
    let page = body(send(&st, get("/submit/projects", None)).await).await;
    assert!(page.contains("<label for=\"f-school\">Établissement"), "{page}");
    assert!(page.contains("name=\"vt_token\""));
    assert!(page.contains("name=\"vt_fax\""), "honeypot missing");

    let tok = token(&st, "projects", 10);
    let resp = send(&st, post_form("/submit/projects", &with_token(valid_project(), &tok), None)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let loc = resp.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert!(loc.starts_with("/suivi/") && loc.ends_with("?nouveau=1"), "{loc}");
    assert_eq!(queue_count(&st).await, 1);

    let status = body(send(&st, get(&loc, None)).await).await;
    let sub = st.db.read(|c| queue::list(c, &Default::default(), 10)).await.unwrap().remove(0);
    assert!(status.contains(&sub.reference), "reference shown on the confirmation page");
    assert!(status.contains("en attente de relecture"));
    assert_eq!(sub.submitter_email, "camille.enseignante@example.org");
    // Not asked twice: France and the partners' countries.
    assert_eq!(sub.payload.fields["countries"], json!(["France", "Italie", "Espagne"]));
    assert_eq!(sub.payload.fields["partners"][0]["school"], "Liceo Galilei");

    // A double click (same form token) creates one submission and lands on the same page.
    let again = send(&st, post_form("/submit/projects", &with_token(valid_project(), &tok), None)).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(again.headers()[header::LOCATION].to_str().unwrap(), loc);
    assert_eq!(queue_count(&st).await, 1);

    // Moderators are told, through the outbox.
    let mut found = false;
    for _ in 0..50 {
        if let Ok(rd) = std::fs::read_dir(&st.outbox_dir) {
            for e in rd.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap();
                let body = vitrine_daemon::outbox::decode_body(&text).unwrap();
                found |= body.contains(&sub.reference);
            }
        }
        if found {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(found, "no notification in the outbox");

    // Unknown status tokens are 404.
    assert_eq!(send(&st, get(&format!("/suivi/{}", "ab".repeat(24)), None)).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn form_errors_are_shown_next_to_fields_with_values_kept() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    let tok = token(&st, "projects", 10);
    let mut pairs = with_token(valid_project(), &tok);
    pairs.retain(|(k, _)| *k != "summary");
    for p in pairs.iter_mut() {
        if p.0 == "school_year" {
            p.1 = "2025/26";
        }
        if p.0 == "partners[0].country" {
            p.1 = "Atlantide";
        }
    }
    let resp = send(&st, post_form("/submit/projects", &pairs, None)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body(resp).await;
    for id in ["f-summary-error", "f-school_year-error", "f-partners-0-country-error"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing {id}");
    }
    assert!(html.contains("aria-invalid=\"true\""));
    // What the teacher typed is kept.
    assert!(html.contains("value=\"Collège Jean Moulin\""));
    assert!(html.contains("value=\"2025/26\""));
    assert!(html.contains("Camille Enseignante"));
    assert!(html.contains("Nous avons **mesuré** le pH"));
    // The error summary links to the fields.
    assert!(html.contains("href=\"#f-summary\""));
    assert_eq!(queue_count(&st).await, 0);
}

#[tokio::test]
async fn too_fast_or_missing_token_shows_the_form_again_without_storing() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    let tok = token(&st, "projects", 0);
    let resp = send(&st, post_form("/submit/projects", &with_token(valid_project(), &tok), None)).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let html = body(resp).await;
    assert!(html.contains("trop vite") && html.contains("value=\"Collège Jean Moulin\""));
    // The static site's form has no token: the teacher gets the form back, filled, with a fresh token.
    let resp = send(&st, post_form("/submit/projects", &valid_project(), None)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body(resp).await;
    assert!(html.contains("pas pu être vérifié"));
    let fresh = hidden_value(&html, "vt_token");
    assert!(!fresh.is_empty());
    assert_eq!(queue_count(&st).await, 0);
}

#[tokio::test]
async fn json_api_validates_and_is_idempotent() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    let good = json!({
        "collection": "labels",
        "submitter": {"name": "Luc Prof", "email": "luc@example.org"},
        "fields": {"title": "Label pour Chaque goutte compte", "kind": "Label de qualité national", "project": "chaque-goutte-compte"},
        "body": "Merci de considérer notre projet."
    });
    let req = |v: &Value, key: &str| {
        axum::http::Request::post("/api/submissions")
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", key)
            .body(axum::body::Body::from(v.to_string()))
            .unwrap()
    };
    let r = send(&st, req(&good, "key-0001-abcdef")).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let first: Value = serde_json::from_str(&body(r).await).unwrap();
    assert!(first["reference"].as_str().unwrap().starts_with("VT-"));
    // Same key, same content: same answer, nothing new.
    let r = send(&st, req(&good, "key-0001-abcdef")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let second: Value = serde_json::from_str(&body(r).await).unwrap();
    assert_eq!(first["reference"], second["reference"]);
    assert_eq!(queue_count(&st).await, 1);

    // Per-field errors, named by their JSON path.
    let mut bad = good.clone();
    bad["fields"]["year"] = json!(1990);
    bad["fields"]["project"] = json!("n-existe-pas");
    bad["submitter"]["email"] = json!("pas-une-adresse");
    bad["extra"] = json!(1);
    let r = send(&st, req(&bad, "key-0002-abcdef")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = serde_json::from_str(&body(r).await).unwrap();
    let fields: Vec<&str> = e["errors"].as_array().unwrap().iter().map(|x| x["field"].as_str().unwrap()).collect();
    for f in ["extra", "fields.year", "fields.project", "submitter.email"] {
        assert!(fields.contains(&f), "{f} not in {fields:?}");
    }
    assert_eq!(queue_count(&st).await, 1);

    // A quality label names a project; the eTwinning School label names a school.
    let mut no_project = good.clone();
    no_project["fields"].as_object_mut().unwrap().remove("project");
    let r = send(&st, req(&no_project, "key-0003-abcdef")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(r).await.contains("fields.project"));
    let mut school = no_project.clone();
    school["fields"]["kind"] = json!("Label École eTwinning");
    let r = send(&st, req(&school, "key-0004-abcdef")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(r).await.contains("fields.school"));
    school["fields"]["school"] = json!("Collège Les Tilleuls");
    assert_eq!(send(&st, req(&school, "key-0005-abcdef")).await.status(), StatusCode::CREATED);
    assert_eq!(queue_count(&st).await, 2);

    // Label requests carry a due date in the queue.
    add_user(&st, "corr", "mot de passe très long", Role::Moderator).await;
    let (cookie, _) = login(&st, "corr", "mot de passe très long").await;
    let q = body(send(&st, get("/moderation/queue?collection=labels", Some(&cookie))).await).await;
    let sub = st.db.read(|c| queue::list(c, &Default::default(), 10)).await.unwrap().remove(0);
    let due = queue::label_due_date(&sub.created_at).unwrap().strftime("%d/%m/%Y").to_string();
    assert!(q.contains(&due), "due date {due} not shown");
    assert!(q.contains("Label pour Chaque goutte compte"));
}

#[tokio::test]
async fn pictures_are_reencoded_and_bad_ones_refused() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    let tok = token(&st, "projects", 10);
    let mut texts = with_token(valid_project(), &tok);
    texts.push(("cover.alt", "Des élèves au bord de la rivière"));
    let png = png(64, 48);
    let r = send(&st, post_multipart("/submit/projects", multipart(&texts, &[("cover", "photo.png", &png)]))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    let sub = st.db.read(|c| queue::list(c, &Default::default(), 10)).await.unwrap().remove(0);
    assert_eq!(sub.payload.fields["cover"], json!({"src": "cover.png", "alt": "Des élèves au bord de la rivière"}));
    let id = sub.id;
    let imgs = st.db.read(move |c| queue::images(c, id, true)).await.unwrap();
    assert_eq!(imgs.len(), 1);
    assert_eq!((imgs[0].width, imgs[0].height, imgs[0].mime.as_str()), (64, 48, "image/png"));

    // SVG, a text file named .png, and a PNG bomb: the form comes back with the error at the picture.
    for (name, bytes) in [
        ("dessin.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec()),
        ("photo.png", b"this is not an image at all".to_vec()),
        ("bombe.png", png_bomb(60_000, 60_000)),
    ] {
        let tok = token(&st, "projects", 10);
        let mut texts = with_token(valid_project(), &tok);
        texts.push(("cover.alt", "Une image"));
        let r = send(&st, post_multipart("/submit/projects", multipart(&texts, &[("cover", name, &bytes)]))).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let html = body(r).await;
        assert!(html.contains("id=\"f-cover-error\""), "{name}: {html}");
    }
    assert_eq!(queue_count(&st).await, 1);
}

#[tokio::test]
async fn moderator_approves_and_the_page_is_built_without_personal_data() {
    let site = example_site();
    let st = state(site.path(), test_settings(), true);
    let tok = token(&st, "projects", 10);
    let mut texts = with_token(valid_project(), &tok);
    texts.push(("cover.alt", "Une rivière"));
    let png = png(32, 32);
    let r = send(&st, post_multipart("/submit/projects", multipart(&texts, &[("cover", "x.png", &png)]))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let sub = st.db.read(|c| queue::list(c, &Default::default(), 10)).await.unwrap().remove(0);

    add_user(&st, "corr", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "corr", "mot de passe très long").await;
    let item = body(send(&st, get(&format!("/moderation/item/{}", sub.id), Some(&cookie))).await).await;
    assert!(item.contains("Rivières d&#39;Europe") || item.contains("Rivières d'Europe") || item.contains("Rivières d&#x27;Europe"));
    assert!(item.contains("<strong>mesuré</strong>"), "preview renders the Markdown");
    assert!(item.contains("<figcaption>Image de couverture — 32 × 32 pixels</figcaption>"), "pictures named by their label: {item}");

    // The preview is the generator's page with the site's templates; nothing is written.
    let before = content_snapshot(site.path());
    let r = send(&st, get(&format!("/moderation/item/{}/preview", sub.id), Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let preview = body(r).await;
    assert!(preview.contains("Aperçu, non publié"));
    assert!(preview.contains("Collège Jean Moulin") && preview.contains("<strong>mesuré</strong>"), "{preview}");
    assert!(preview.contains("/css/"), "site stylesheet expected in the preview");
    assert!(!preview.contains("camille.enseignante@example.org"));
    // Every picture of the preview is served (the cover and its variants are
    // not in public/ before approval), and only with a session.
    let mut pictures = Vec::new();
    for attr in [" src=\"", " srcset=\""] {
        for (i, _) in preview.match_indices(attr) {
            let value = preview[i + attr.len()..].split('"').next().unwrap();
            pictures.extend(value.split(',').filter_map(|item| item.split_whitespace().next()).map(str::to_string));
        }
    }
    let own: Vec<&String> = pictures.iter().filter(|u| u.starts_with(&format!("/moderation/item/{}/", sub.id))).collect();
    assert!(own.len() >= 3, "cover, its WebP and fallback variants expected: {pictures:?}");
    assert!(!pictures.iter().any(|u| u.contains("apercu-")), "no address of the unpublished bundle left: {pictures:?}");
    for u in &own {
        let r = send(&st, get(u, Some(&cookie))).await;
        assert_eq!(r.status(), StatusCode::OK, "{u}");
        let ct = r.headers()[header::CONTENT_TYPE].to_str().unwrap().to_string();
        assert!(ct.starts_with("image/"), "{u}: {ct}");
        assert!(!axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap().is_empty(), "{u}");
        assert_eq!(send(&st, get(u, None)).await.status(), StatusCode::SEE_OTHER, "{u} without a session");
    }
    for bad in ["..%2Fqueue.sqlite3", "x.png", "0123456789abcdef01234567-original.svg"] {
        let r = send(&st, get(&format!("/moderation/item/{}/apercu/{bad}", sub.id), Some(&cookie))).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    assert_eq!(content_snapshot(site.path()), before);
    let r = send(&st, get(&format!("/moderation/item/{}/preview", sub.id), None)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "no session: to the login page");
    assert_eq!(r.headers()[header::LOCATION], format!("/moderation/login?next=/moderation/item/{}/preview", sub.id));

    // Edit before approving (re-validated): a bad value is refused, a good one recorded.
    let mut edit: Vec<(&str, &str)> = valid_project().into_iter().filter(|(k, _)| !k.starts_with("vt_name") && !k.starts_with("vt_email")).collect();
    edit.push(("csrf", &csrf));
    for p in edit.iter_mut() {
        if p.0 == "school_year" {
            p.1 = "demain";
        }
    }
    let r = send(&st, post_form(&format!("/moderation/item/{}/edit", sub.id), &edit, Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for p in edit.iter_mut() {
        if p.0 == "school_year" {
            p.1 = "2026-2027";
        }
    }
    let r = send(&st, post_form(&format!("/moderation/item/{}/edit", sub.id), &edit, Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let r = send(&st, post_form(&format!("/moderation/item/{}/approve", sub.id), &[("csrf", &csrf)], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = sub.id;
    let after = st.db.read(move |c| queue::get(c, id)).await.unwrap().unwrap();
    assert_eq!(after.status, queue::Status::Published, "error: {:?}", after.publish_error);
    let dir = site.path().join(after.published_path.as_ref().unwrap());
    let md = std::fs::read_to_string(dir.join("index.md")).unwrap();
    assert!(md.starts_with("---\ntitle: \"Rivières d'Europe\"\n"), "{md}");
    assert!(md.contains("school_year: \"2026-2027\""));
    let cover_line = md.lines().find(|l| l.starts_with("cover: {")).expect("cover line");
    assert!(cover_line.contains("\"src\":\"cover.png\"") && cover_line.contains("\"alt\":\"Une rivière\""), "{md}");
    assert!(!md.contains("Camille") && !md.contains("camille.enseignante@example.org"), "personal data leaked: {md}");
    assert!(dir.join("cover.png").is_file());
    // The site was rebuilt: the new page exists and carries no personal data.
    let url = after.published_url.clone().unwrap();
    let page = std::fs::read_to_string(site.path().join("public").join(url.trim_start_matches('/')).join("index.html")).unwrap();
    assert!(page.contains("Rivières d"), "title on the built page");
    assert!(!page.contains("camille.enseignante@example.org"));
    // The item shows the audit log: submitted, edited, approved, published.
    let item = body(send(&st, get(&format!("/moderation/item/{}", sub.id), Some(&cookie))).await).await;
    for a in ["Proposition reçue", "Modifiée par la modération", "Acceptée", "Publiée"] {
        assert!(item.contains(&format!("<td data-label=\"Action\">{a}</td>")), "audit {a} missing");
    }
    // The author was told at each step, by e-mail (read back from the outbox).
    // (Mails are written in the background: wait for them, bounded.)
    let ack = mail_containing(&st.outbox_dir, "To: camille.enseignante@example.org", "bien reçu").await.expect("acknowledgement");
    assert!(ack.contains(&sub.reference) && ack.contains(&format!("/suivi/{}", sub.status_token)), "{ack}");
    assert!(ack.contains("Pays partenaires : France, Italie, Espagne") && ack.contains("mesuré"), "what was sent: {ack}");
    let live = mail_containing(&st.outbox_dir, "To: camille.enseignante@example.org", "est publiée").await.expect("publication e-mail");
    assert!(live.contains(&format!("http://127.0.0.1:8080{url}")), "the public page: {live}");
    assert!(live.contains("le correspondant a modifié : Année scolaire"), "the fields a moderator changed: {live}");
    // Approving again is a conflict, not a second file.
    let r = send(&st, post_form(&format!("/moderation/item/{}/approve", sub.id), &[("csrf", &csrf)], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // A second submission with the same title gets its own slug, the first file is untouched.
    let tok = token(&st, "projects", 10);
    let r = send(&st, post_form("/submit/projects", &with_token(valid_project(), &tok), None)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let second = st.db.read(|c| queue::list(c, &queue::Filter { newest_first: true, ..Default::default() }, 1)).await.unwrap().remove(0);
    let r = send(&st, post_form(&format!("/moderation/item/{}/approve", second.id), &[("csrf", &csrf)], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let sid = second.id;
    let s2 = st.db.read(move |c| queue::get(c, sid)).await.unwrap().unwrap();
    assert_ne!(s2.published_path, after.published_path);
    assert!(s2.published_path.unwrap().ends_with("-2"));
    // The second one went through the incremental path: its page and the listing are there.
    let url2 = s2.published_url.unwrap();
    assert!(site.path().join("public").join(url2.trim_start_matches('/')).join("index.html").is_file(), "{url2}");
    let listing = std::fs::read_to_string(site.path().join("public/projets/index.html")).unwrap();
    assert!(listing.contains(url2.as_str()), "listing does not link {url2}");
    assert_eq!(std::fs::read_to_string(dir.join("index.md")).unwrap(), md);
}

fn bundles_named(site: &std::path::Path, prefix: &str) -> usize {
    std::fs::read_dir(site.join("content/projects"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(prefix))
        .count()
}

/// Issue 9: the build is checked in memory before approval writes anything; a
/// site that would not build leaves no file behind and the item editable.
#[tokio::test]
async fn approval_that_would_break_the_build_writes_nothing_and_keeps_the_item_editable() {
    let site = example_site();
    let st = state(site.path(), test_settings(), true);
    let tok = token(&st, "projects", 10);
    assert_eq!(send(&st, post_form("/submit/projects", &with_token(valid_project(), &tok), None)).await.status(), StatusCode::SEE_OTHER);
    let sub = st.db.read(|c| queue::list(c, &Default::default(), 10)).await.unwrap().remove(0);
    add_user(&st, "corr", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "corr", "mot de passe très long").await;
    // Break the project template of this site copy: the real build would fail.
    let tpl = site.path().join("themes/default/templates/project.html");
    let original = std::fs::read_to_string(&tpl).unwrap();
    std::fs::write(&tpl, "{% extends \"base.html\" %}{% block main %}{{ page.title | nope_filter }}{% endblock main %}").unwrap();
    let r = send(&st, post_form(&format!("/moderation/item/{}/approve", sub.id), &[("csrf", &csrf)], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = sub.id;
    let s = st.db.read(move |c| queue::get(c, id)).await.unwrap().unwrap();
    assert_eq!(s.status, queue::Status::Pending, "still editable");
    assert!(s.publish_error.as_deref().unwrap_or("").contains("project.html"), "{:?}", s.publish_error);
    assert_eq!(s.published_path, None);
    assert_eq!(bundles_named(site.path(), "rivieres-d-europe"), 0, "a refused publication leaves no file");
    let item = body(send(&st, get(&format!("/moderation/item/{}", sub.id), Some(&cookie))).await).await;
    assert!(item.contains("Pas publiée"), "{item}");
    assert!(item.contains("nope_filter"), "the moderator sees why: {item}");
    // Still editable: the moderator's edit form is there and works.
    assert!(item.contains(&format!("/moderation/item/{}/edit", sub.id)));
    // Fix the site and approve again: published once.
    std::fs::write(&tpl, original).unwrap();
    let r = send(&st, post_form(&format!("/moderation/item/{}/approve", sub.id), &[("csrf", &csrf)], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let s2 = st.db.read(move |c| queue::get(c, id)).await.unwrap().unwrap();
    assert_eq!(s2.status, queue::Status::Published, "{:?}", s2.publish_error);
    assert_eq!(bundles_named(site.path(), "rivieres-d-europe"), 1);
}

/// An internal link valid when the teacher sent it, whose target was removed
/// before approval: the in-memory build refuses it, nothing is written.
#[tokio::test]
async fn a_link_broken_since_submission_is_caught_before_anything_is_written() {
    let site = example_site();
    let st = state(site.path(), test_settings(), true);
    let tok = token(&st, "projects", 10);
    let mut form = valid_project();
    form.retain(|(k, _)| *k != "vt_body");
    form.push(("vt_body", "Suite du projet [Bouger ensemble](@/projects/bouger-ensemble.md)."));
    let r = send(&st, post_form("/submit/projects", &with_token(form, &tok), None)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    std::fs::remove_file(site.path().join("content/projects/bouger-ensemble.md")).unwrap();
    let sub = st.db.read(|c| queue::list(c, &Default::default(), 10)).await.unwrap().remove(0);
    add_user(&st, "corr", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "corr", "mot de passe très long").await;
    let r = send(&st, post_form(&format!("/moderation/item/{}/approve", sub.id), &[("csrf", &csrf)], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = sub.id;
    let s = st.db.read(move |c| queue::get(c, id)).await.unwrap().unwrap();
    assert_eq!(s.status, queue::Status::Pending);
    let err = s.publish_error.unwrap_or_default();
    assert!(err.contains("bouger-ensemble.md") && err.contains("index.md:"), "names the file, line and link: {err}");
    assert_eq!(bundles_named(site.path(), "rivieres-d-europe"), 0);
    // The build still passes: nothing of the refused entry is in content/.
    let root = site.path().to_path_buf();
    tokio::task::spawn_blocking(move || vitrine_generator::build(&vitrine_generator::BuildOptions::new(root)).map(|_| ()))
        .await
        .unwrap()
        .unwrap();
}

/// Items approved but not published (a crash between the two steps) are published at startup.
#[tokio::test]
async fn items_left_approved_by_a_crash_are_published_by_retry_unpublished() {
    let site = example_site();
    let st = state(site.path(), test_settings(), true);
    let tok = token(&st, "projects", 10);
    assert_eq!(send(&st, post_form("/submit/projects", &with_token(valid_project(), &tok), None)).await.status(), StatusCode::SEE_OTHER);
    let sub = st.db.read(|c| queue::list(c, &Default::default(), 10)).await.unwrap().remove(0);
    let id = sub.id;
    st.db
        .write(move |c| queue::transition(c, id, &[queue::Status::Pending], queue::Status::Approved, "corr", None))
        .await
        .unwrap();
    assert_eq!(vitrine_daemon::web::moderation::retry_unpublished(&st).await.unwrap(), 1);
    assert_eq!(st.db.read(move |c| queue::get(c, id)).await.unwrap().unwrap().status, queue::Status::Published);
    assert_eq!(bundles_named(site.path(), "rivieres-d-europe"), 1);
}

// ---------------------------------------------------------------------------
// Revision by the submitter after "changes requested"

/// Submits a valid project with a cover picture; returns the status URL (without query) and the row.
async fn submit_with_cover(st: &vitrine_daemon::AppState) -> (String, queue::Submission) {
    let tok = token(st, "projects", 10);
    let mut texts = with_token(valid_project(), &tok);
    texts.push(("cover.alt", "Une rivière"));
    let r = send(st, post_multipart("/submit/projects", multipart(&texts, &[("cover", "x.png", &png(32, 32))]))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let url = r.headers()[header::LOCATION].to_str().unwrap().trim_end_matches("?nouveau=1").to_string();
    let sub = st.db.read(|c| queue::list(c, &queue::Filter { newest_first: true, ..Default::default() }, 1)).await.unwrap().remove(0);
    (url, sub)
}

async fn ask_changes(st: &vitrine_daemon::AppState, cookie: &str, csrf: &str, id: i64, reason: &str) {
    let r = send(st, post_form(&format!("/moderation/item/{id}/changes"), &[("csrf", csrf), ("reason", reason)], Some(cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn reload(st: &vitrine_daemon::AppState, id: i64) -> queue::Submission {
    st.db.read(move |c| queue::get(c, id)).await.unwrap().unwrap()
}

/// The project's pairs with some values replaced.
fn project_with<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = valid_project();
    for (k, v) in changes {
        match pairs.iter_mut().find(|p| p.0 == *k) {
            Some(p) => p.1 = v,
            None => pairs.push((k, v)),
        }
    }
    pairs
}

/// The decoded body of the first outbox mail whose raw text contains `header`
/// and whose body contains `needle`, waiting up to 10 s for the background
/// writer; `None` when no such mail arrived.
async fn mail_containing(dir: &std::path::Path, header: &str, needle: &str) -> Option<String> {
    for _ in 0..500 {
        let found = std::fs::read_dir(dir).ok().and_then(|rd| {
            rd.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .filter(|m| m.contains(header))
                .filter_map(|m| vitrine_daemon::outbox::decode_body(&m))
                .find(|b| b.contains(needle))
        });
        if found.is_some() {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

fn outbox_bodies(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .filter_map(|e| vitrine_daemon::outbox::decode_body(&std::fs::read_to_string(e.path()).ok()?))
                .collect()
        })
        .unwrap_or_default()
}


#[tokio::test]
async fn submitter_revises_after_changes_requested_and_it_goes_back_to_review() {
    let site = example_site();
    let st = state(site.path(), vitrine_daemon::state::Settings { min_fill_secs: 0, ..test_settings() }, false);
    let (status_url, sub) = submit_with_cover(&st).await;
    add_user(&st, "corr", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "corr", "mot de passe très long").await;

    // While pending, the status page has no form.
    let page = body(send(&st, get(&status_url, None)).await).await;
    assert!(!page.contains("/modifier\""), "no revision form while pending");

    ask_changes(&st, &cookie, &csrf, sub.id, "Ajoutez le partenaire espagnol et précisez le résumé.").await;
    let page = body(send(&st, get(&status_url, None)).await).await;
    assert!(page.contains("Ajoutez le partenaire espagnol et précisez le résumé."), "the moderator's message");
    assert!(page.contains(&format!("action=\"{status_url}/modifier\"")), "{page}");
    // Pre-filled with what is stored, the submitter's own name and e-mail included (their secret page).
    assert!(page.contains("value=\"Collège Jean Moulin\""));
    assert!(page.contains("value=\"Liceo Galilei\""));
    assert!(page.contains("value=\"camille.enseignante@example.org\""));
    assert!(page.contains("Nous avons **mesuré** le pH"));
    assert!(page.contains("value=\"Une rivière\""), "the picture's description");
    assert!(page.contains("l&#x27;image déjà envoyée est conservée") || page.contains("l'image déjà envoyée est conservée") || page.contains("l&#39;image déjà envoyée est conservée"), "{page}");
    let tok = hidden_value(&page, "vt_token");

    let before = content_snapshot(site.path());
    let images_before = { let id = sub.id; st.db.read(move |c| queue::images(c, id, true)).await.unwrap() };
    let mut pairs = project_with(&[
        ("summary", "Deux classes, en Italie et en Espagne, comparent la qualité de l'eau de leurs rivières."),
        ("partners[1].school", "IES Miguel Hernández"),
        ("partners[1].city", "Alicante"),
        ("partners[1].country", "Espagne"),
        ("vt_email", "camille.nouvelle@example.org"),
        ("cover.alt", "Des élèves mesurent le pH au bord de la rivière"),
    ]);
    pairs.push(("vt_token", &tok));
    // Multipart with the picture input left empty (as a browser sends it).
    let r = send(&st, post_multipart(&format!("{status_url}/modifier"), multipart(&pairs, &[("cover", "", b"")]))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    let back = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert_eq!(back, format!("{status_url}?revision=1"));

    let after = reload(&st, sub.id).await;
    assert_eq!(after.status, queue::Status::Pending);
    assert_eq!(after.decision_reason, None, "the request is answered (it stays in the audit log)");
    assert!(after.payload.fields["summary"].as_str().unwrap().contains("en Italie et en Espagne"));
    assert_eq!(after.payload.fields["partners"][1]["school"], "IES Miguel Hernández");
    assert_eq!(after.payload.fields["cover"], json!({"src": "cover.png", "alt": "Des élèves mesurent le pH au bord de la rivière"}));
    assert_eq!(after.submitter_email, "camille.nouvelle@example.org");
    let images_after = { let id = sub.id; st.db.read(move |c| queue::images(c, id, true)).await.unwrap() };
    assert_eq!(images_after.len(), 1);
    assert_eq!((images_after[0].id, &images_after[0].data), (images_before[0].id, &images_before[0].data), "picture kept");
    assert_eq!(content_snapshot(site.path()), before, "nothing written to content/ before approval");

    // The status page says it is back in review; the form is gone.
    let page = body(send(&st, get(&back, None)).await).await;
    assert!(page.contains("de nouveau en attente de relecture"), "{page}");
    assert!(!page.contains("/modifier\""));

    // Audit: field names only, never the personal data.
    let id = sub.id;
    let audit = st.db.read(move |c| queue::audit_entries(c, id)).await.unwrap();
    let rev: Vec<_> = audit.iter().filter(|a| a.action == "revised").collect();
    assert_eq!(rev.len(), 1);
    let detail: Value = serde_json::from_str(&rev[0].detail).unwrap();
    let changed: Vec<&str> = detail["changed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for f in ["summary", "partners", "cover", "vt_email"] {
        assert!(changed.iter().any(|c| c.starts_with(f)), "{f} not in {changed:?}");
    }
    assert!(!changed.contains(&"vt_name") && !changed.contains(&"school"), "{changed:?}");
    assert!(!rev[0].detail.contains("@example.org") && !rev[0].detail.contains("Camille"), "{}", rev[0].detail);
    // Moderators see it in the item's history and are told through the outbox.
    let item = body(send(&st, get(&format!("/moderation/item/{id}"), Some(&cookie))).await).await;
    assert!(item.contains("<td data-label=\"Action\">Modifiée par l’auteur</td>") && item.contains("auteur (lien de suivi)"), "{item}");
    let mut mail = None;
    for _ in 0..100 {
        let bodies = outbox_bodies(&st.outbox_dir);
        mail = bodies.iter().find(|b| b.contains("l'a modifiée")).cloned();
        if mail.is_some() && bodies.iter().any(|b| b.contains("Vous pouvez modifier votre proposition")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mail = mail.expect("moderators notified of the revision");
    assert!(
        outbox_bodies(&st.outbox_dir).iter().any(|b| b.contains("Vous pouvez modifier votre proposition") && b.contains(&status_url)),
        "the submitter is told the status page lets them revise"
    );
    assert!(mail.contains(&sub.reference) && mail.contains(&format!("/moderation/item/{id}")), "{mail}");
    assert!(!mail.contains("camille"), "no personal data to moderators: {mail}");

    // A double click (same form token) lands on the status page and stores nothing more.
    let r = send(&st, post_multipart(&format!("{status_url}/modifier"), multipart(&pairs, &[]))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let audit = st.db.read(move |c| queue::audit_entries(c, id)).await.unwrap();
    assert_eq!(audit.iter().filter(|a| a.action == "revised").count(), 1);

    // Second round: a new picture replaces the stored one.
    ask_changes(&st, &cookie, &csrf, id, "Une photo plus large, s'il vous plaît.").await;
    let page = body(send(&st, get(&status_url, None)).await).await;
    assert!(page.contains("value=\"camille.nouvelle@example.org\""), "the revised values are shown");
    let tok = hidden_value(&page, "vt_token");
    let mut pairs = project_with(&[
        ("partners[1].school", "IES Miguel Hernández"),
        ("partners[1].city", "Alicante"),
        ("partners[1].country", "Espagne"),
        ("vt_email", "camille.nouvelle@example.org"),
        ("cover.alt", "Vue large de la rivière"),
    ]);
    pairs.push(("vt_token", &tok));
    let r = send(&st, post_multipart(&format!("{status_url}/modifier"), multipart(&pairs, &[("cover", "large.png", &png(80, 40))]))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    let imgs = st.db.read(move |c| queue::images(c, id, true)).await.unwrap();
    assert_eq!(imgs.len(), 1);
    assert_eq!((imgs[0].width, imgs[0].height), (80, 40));
    let after = reload(&st, id).await;
    assert_eq!(after.payload.fields["cover"], json!({"src": "cover.png", "alt": "Vue large de la rivière"}));

    // Approved: the published entry has the revised content and no personal data, old or new.
    let r = send(&st, post_form(&format!("/moderation/item/{id}/approve"), &[("csrf", &csrf)], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let done = reload(&st, id).await;
    assert_eq!(done.status, queue::Status::Published, "{:?}", done.publish_error);
    let dir = site.path().join(done.published_path.unwrap());
    let md = std::fs::read_to_string(dir.join("index.md")).unwrap();
    assert!(md.contains("IES Miguel Hernández") && md.contains("Vue large de la rivière"), "{md}");
    for secret in ["Camille", "camille.enseignante@example.org", "camille.nouvelle@example.org"] {
        assert!(!md.contains(secret), "personal data leaked: {md}");
    }
    let published_png = std::fs::read(dir.join("cover.png")).unwrap();
    assert_eq!(published_png, imgs[0].data, "the replacing picture is the one published");
    // No file anywhere under content/ mentions the submitter.
    for (p, _) in content_snapshot(site.path()) {
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("camille."), "{}", p.display());
        }
    }
}

#[tokio::test]
async fn revision_is_refused_unless_changes_were_requested_or_without_the_right_tokens() {
    let site = example_site();
    let st = state(site.path(), vitrine_daemon::state::Settings { min_fill_secs: 0, ..test_settings() }, false);
    let (status_url, sub) = submit_with_cover(&st).await;
    let id = sub.id;
    let scope_token = |id: i64| vitrine_daemon::security::issue_form_token(&st.secret, &format!("suivi|{id}"), jiff::Timestamp::now().as_second() - 10);

    // Pending: a revision is a clear 409 and changes nothing.
    let tok = scope_token(id);
    let pairs = with_token(project_with(&[("city", "Lyon")]), &tok);
    let r = send(&st, post_form(&format!("{status_url}/modifier"), &pairs, None)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let html = body(r).await;
    assert!(html.contains("en attente de relecture") && html.contains("demande des modifications"), "{html}");
    assert!(html.contains(&format!("href=\"{status_url}\"")), "a way back to the status page");
    assert_eq!(reload(&st, id).await.payload.fields["city"], "Valence");

    // An unknown or malformed secret token: 404, for GET and POST alike.
    for bad in [format!("/suivi/{}/modifier", "ab".repeat(24)), "/suivi/pas-un-jeton/modifier".to_string()] {
        assert_eq!(send(&st, post_form(&bad, &pairs, None)).await.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    // GET on the action is not a way to change anything.
    assert_eq!(send(&st, get(&format!("{status_url}/modifier"), None)).await.status(), StatusCode::METHOD_NOT_ALLOWED);

    add_user(&st, "corr", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "corr", "mot de passe très long").await;
    ask_changes(&st, &cookie, &csrf, id, "Précisez la ville.").await;

    // Form token missing, forged, or issued for another submission: the form comes
    // back with what was typed, nothing is stored.
    let (_, other) = submit_with_cover(&st).await;
    let other_tok = scope_token(other.id);
    let public_tok = token(&st, "projects", 10);
    for (what, t) in [("missing", ""), ("forged", "123.abc.def"), ("other submission", other_tok.as_str()), ("public form", public_tok.as_str())] {
        let pairs = with_token(project_with(&[("city", "Lyon")]), t);
        let r = send(&st, post_form(&format!("{status_url}/modifier"), &pairs, None)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        let html = body(r).await;
        assert!(html.contains("pas pu être vérifié") && html.contains("value=\"Lyon\""), "{what}: {html}");
        let s = reload(&st, id).await;
        assert_eq!((s.status, s.payload.fields["city"].as_str()), (queue::Status::ChangesRequested, Some("Valence")), "{what}");
    }
    // The honeypot is refused as on the public form.
    let tok = scope_token(id);
    let mut pairs = with_token(project_with(&[("city", "Lyon")]), &tok);
    pairs.push(("vt_fax", "0102030405"));
    assert_eq!(send(&st, post_form(&format!("{status_url}/modifier"), &pairs, None)).await.status(), StatusCode::BAD_REQUEST);

    // Rejected: no form any more and a revision is refused.
    let r = send(&st, post_form(&format!("/moderation/item/{id}/reject"), &[("csrf", &csrf), ("reason", "Hors académie.")], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = body(send(&st, get(&status_url, None)).await).await;
    assert!(!page.contains("/modifier\""));
    let tok = scope_token(id);
    let pairs = with_token(project_with(&[("city", "Lyon")]), &tok);
    let r = send(&st, post_form(&format!("{status_url}/modifier"), &pairs, None)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(body(r).await.contains("refusée"));
    let s = reload(&st, id).await;
    assert_eq!((s.status, s.payload.fields["city"].as_str()), (queue::Status::Rejected, Some("Valence")));
    let audit = st.db.read(move |c| queue::audit_entries(c, id)).await.unwrap();
    assert!(!audit.iter().any(|a| a.action == "revised"));
}

#[tokio::test]
async fn revision_validation_errors_are_shown_next_to_fields_with_everything_typed_kept() {
    let site = example_site();
    let st = state(site.path(), vitrine_daemon::state::Settings { min_fill_secs: 0, ..test_settings() }, false);
    let (status_url, sub) = submit_with_cover(&st).await;
    add_user(&st, "corr", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "corr", "mot de passe très long").await;
    ask_changes(&st, &cookie, &csrf, sub.id, "Le résumé est trop vague.").await;
    let page = body(send(&st, get(&status_url, None)).await).await;
    let tok = hidden_value(&page, "vt_token");

    let mut pairs = project_with(&[
        ("school", "Collège Victor Hugo"),
        ("school_year", "2025/26"),
        ("partners[0].country", "Atlantide"),
        ("vt_email", "pas-une-adresse"),
        ("vt_body", "Nouveau texte, **revu**."),
    ]);
    pairs.retain(|(k, _)| *k != "summary");
    pairs.push(("vt_token", &tok));
    let r = send(&st, post_multipart(&format!("{status_url}/modifier"), multipart(&pairs, &[]))).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body(r).await;
    for id in ["f-summary-error", "f-school_year-error", "f-partners-0-country-error", "f-vt_email-error"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing {id}: {html}");
    }
    assert!(html.contains("aria-invalid=\"true\"") && html.contains("href=\"#f-summary\""), "error summary");
    // What was typed, not what is stored.
    for kept in ["value=\"Collège Victor Hugo\"", "value=\"2025/26\"", "value=\"pas-une-adresse\"", "Nouveau texte, **revu**."] {
        assert!(html.contains(kept), "{kept} not kept");
    }
    assert!(html.contains("Le résumé est trop vague."), "the moderator's message stays on the page");
    assert!(html.contains("name=\"vt_token\""), "a fresh token to send again");
    let id = sub.id;
    let s = reload(&st, id).await;
    assert_eq!(s.status, queue::Status::ChangesRequested);
    assert_eq!(s.payload.fields["school"], "Collège Jean Moulin");
    assert_eq!(s.submitter_email, "camille.enseignante@example.org");

    // A bad new picture is an error at the picture; the stored one stays.
    let tok = hidden_value(&html, "vt_token");
    let pairs = with_token(project_with(&[("cover.alt", "Une image")]), &tok);
    let r = send(&st, post_multipart(&format!("{status_url}/modifier"), multipart(&pairs, &[("cover", "x.png", b"pas une image")]))).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body(r).await;
    assert!(html.contains("id=\"f-cover-error\""), "{html}");
    let imgs = st.db.read(move |c| queue::images(c, id, false)).await.unwrap();
    assert_eq!((imgs.len(), imgs[0].width), (1, 32));
    assert_eq!(reload(&st, id).await.status, queue::Status::ChangesRequested);
}

#[tokio::test]
async fn revision_posts_share_the_public_rate_limit() {
    let site = example_site();
    let settings = vitrine_daemon::state::Settings { rate_limit_per_minute: 1, rate_limit_burst: 1, min_fill_secs: 0, ..test_settings() };
    let st = state(site.path(), settings, false);
    // The submission takes this IP's only request of the minute.
    let (status_url, sub) = submit_with_cover(&st).await;
    let id = sub.id;
    st.db.write(move |c| queue::transition(c, id, &[queue::Status::Pending], queue::Status::ChangesRequested, "test", Some("Précisez.")))
        .await
        .unwrap();
    let page = body(send(&st, get(&status_url, None)).await).await;
    let tok = hidden_value(&page, "vt_token");
    let r = send(&st, post_form(&format!("{status_url}/modifier"), &with_token(project_with(&[("city", "Lyon")]), &tok), None)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reload(&st, id).await.status, queue::Status::ChangesRequested);
}

/// The landmarks every daemon page has: site header, skip link, focusable main.
fn assert_layout(html: &str, what: &str) {
    assert!(html.contains("<header class=\"top\">"), "{what}: no site header: {html}");
    assert!(html.contains("<a class=\"skip\" href=\"#contenu\">"), "{what}: no skip link");
    assert!(html.contains("<main id=\"contenu\" tabindex=\"-1\">"), "{what}: main cannot take focus");
    assert_eq!(html.matches("<h1>").count(), 1, "{what}: one h1");
}

#[tokio::test]
async fn error_pages_have_the_layout_a_clear_title_a_sentence_and_a_way_back() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    // A public 404 (no route, no file): link back home, no lower-case repetition of the title.
    let r = send(&st, get("/nulle-part/", None)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers().contains_key("content-security-policy"));
    let html = body(r).await;
    assert_layout(&html, "public 404");
    assert!(html.contains("<h1>Page introuvable</h1>"), "{html}");
    assert!(!html.contains("page introuvable"), "title repeated as the message: {html}");
    assert!(html.contains("mal recopiée"), "helpful sentence: {html}");
    assert!(html.contains("<a href=\"/\">Retour à l&#39;accueil du site</a>"), "link back home: {html}");
    // An unknown submission form (handler 404) gets the same page.
    let r = send(&st, get("/submit/nothing", None)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_layout(&body(r).await, "handler 404");

    // A moderator's 404 shows their navigation and leads back to the queue.
    add_user(&st, "modo", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "modo", "mot de passe très long").await;
    let r = send(&st, get("/moderation/item/999", Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let html = body(r).await;
    assert_layout(&html, "moderation 404");
    assert!(html.contains("Se déconnecter (modo)"), "moderator navigation: {html}");
    assert!(html.contains("<a href=\"/moderation/queue\">Retour à la file de relecture</a>"), "{html}");
    // A message of the handler is shown as a sentence, under the clear title.
    let r = send(&st, post_form("/moderation/item/999/approve", &[("reason", "x")], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = body(r).await;
    assert_layout(&html, "403");
    assert!(html.contains("<h1>Accès refusé</h1>") && html.contains("Jeton de sécurité (CSRF) absent ou invalide"), "{html}");
    // 405 (GET on a POST-only address): explained, Allow kept.
    let r = send(&st, get("/moderation/logout", Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers().contains_key(header::ALLOW));
    let html = body(r).await;
    assert_layout(&html, "405");
    assert!(html.contains("boutons des formulaires"), "{html}");
    // axum's own plain-text rejections get the page too: a body over the limit, a malformed query.
    let r = send(&st, post_raw("/moderation/item/1/edit", "application/x-www-form-urlencoded", vec![b'a'; 5 * 1024 * 1024], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let html = body(r).await;
    assert_layout(&html, "413");
    assert!(html.contains("<h1>Envoi trop volumineux</h1>"), "{html}");
    let r = send(&st, get("/moderation/queue?status=a&status=b", Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = body(r).await;
    assert_layout(&html, "400");
    assert!(html.contains("<h1>Demande incorrecte</h1>"), "{html}");
    // The JSON API keeps answering JSON.
    let r = send(&st, post_raw("/api/submissions", "application/json", b"{".to_vec(), None)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body(r).await.starts_with("{\"error\""));
    // A POST without a session: 401, pointing to the login page.
    let r = send(&st, post_form("/moderation/item/1/approve", &[("csrf", &csrf)], None)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let html = body(r).await;
    assert_layout(&html, "401");
    assert!(html.contains("<h1>Connexion requise</h1>") && html.contains("href=\"/moderation/login\""), "{html}");
    assert!(!html.contains("Se déconnecter"), "no navigation without a session");
}

/// Logs in through the form the login page shows (with its hidden fields), returns the response.
async fn post_login_page(st: &vitrine_daemon::AppState, page: &str, next: Option<&str>) -> axum::http::Response<axum::body::Body> {
    let csrf = hidden_value(page, "csrf");
    let mut pairs = vec![("csrf", csrf.as_str()), ("username", "modo"), ("password", "mot de passe très long")];
    if let Some(n) = next {
        pairs.push(("next", n));
    }
    send(st, post_form("/moderation/login", &pairs, None)).await
}

#[tokio::test]
async fn moderation_pages_without_a_session_go_to_the_login_and_come_back_never_elsewhere() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    add_user(&st, "modo", "mot de passe très long", Role::Moderator).await;
    let tok = token(&st, "projects", 10);
    assert_eq!(send(&st, post_form("/submit/projects", &with_token(valid_project(), &tok), None)).await.status(), StatusCode::SEE_OTHER);

    // A GET on a moderation page without a session (or with a forged one): 303 to the login, with the way back.
    let r = send(&st, get("/moderation/queue?status=pending&order=newest", None)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert_eq!(loc, "/moderation/login?next=/moderation/queue%3Fstatus%3Dpending%26order%3Dnewest");
    let forged = format!("vt_session={}", "f".repeat(64));
    let r = send(&st, get("/moderation/item/1", Some(&forged))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/moderation/login?next=/moderation/item/1");

    // The login page keeps it; after login the moderator lands there.
    let page = body(send(&st, get(&loc, None)).await).await;
    assert_eq!(hidden_value(&page, "next"), "/moderation/queue?status=pending&amp;order=newest");
    assert!(page.contains("connectez-vous pour y accéder"), "{page}");
    let r = post_login_page(&st, &page, Some("/moderation/queue?status=pending&order=newest")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/moderation/queue?status=pending&order=newest");
    let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
    let r = send(&st, get("/moderation/queue?status=pending&order=newest", Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Already logged in: the login address goes straight to the return path.
    let r = send(&st, get("/moderation/login?next=/moderation/item/1", Some(&cookie))).await;
    assert_eq!(r.headers()[header::LOCATION], "/moderation/item/1");

    // A wrong password keeps the return path in the form shown again.
    let page = body(send(&st, get("/moderation/login?next=/moderation/item/1", None)).await).await;
    let csrf = hidden_value(&page, "csrf");
    let r = send(&st, post_form("/moderation/login", &[("csrf", &csrf), ("username", "modo"), ("password", "faux"), ("next", "/moderation/item/1")], None)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(hidden_value(&body(r).await, "next"), "/moderation/item/1");

    // Attempted open redirects: ignored, both on the page and after login.
    for evil in [
        "//evil.example",
        "https://evil.example/moderation",
        "/moderation@evil.example",
        "//evil.example/moderation",
        "/\\evil.example",
        "/moderation/\\evil.example",
        "/moderation/../evil",
        "/moderation/%2e%2e/evil",
        "/moderationevil",
        "/moderation//evil.example",
        "javascript:alert(1)",
        "/moderation/queue\r\nLocation: https://evil.example",
    ] {
        let page = body(send(&st, get(&format!("/moderation/login?next={}", encode(evil)), None)).await).await;
        assert!(!page.contains("name=\"next\""), "{evil} kept on the login page");
        assert!(!page.contains("evil"), "{evil} shown");
        let r = post_login_page(&st, &page, Some(evil)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{evil}");
        assert_eq!(r.headers()[header::LOCATION], "/moderation/queue", "{evil}");
        let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string();
        let r = send(&st, get(&format!("/moderation/login?next={}", encode(evil)), Some(&cookie))).await;
        assert_eq!(r.headers()[header::LOCATION], "/moderation/queue", "{evil} (logged in)");
    }

    // POSTs without a session stay refused (401), nothing changes.
    let r = send(&st, post_form("/moderation/item/1/approve", &[("csrf", "x")], None)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let s = st.db.read(|c| queue::get(c, 1)).await.unwrap().unwrap();
    assert_eq!(s.status, queue::Status::Pending);
}

/// The journal table of an item page.
fn journal_of(item: &str) -> String {
    let a = item.find("<table class=\"audit stack\">").expect("journal table");
    let b = item[a..].find("</table>").unwrap() + a;
    item[a..b].to_string()
}

#[tokio::test]
async fn the_journal_shows_french_labels_and_readable_details_never_json() {
    let site = example_site();
    let st = state(site.path(), vitrine_daemon::state::Settings { min_fill_secs: 0, ..test_settings() }, false);
    let (status_url, sub) = submit_with_cover(&st).await;
    let id = sub.id;
    add_user(&st, "corr", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "corr", "mot de passe très long").await;
    ask_changes(&st, &cookie, &csrf, id, "Précisez le résumé,\ns'il vous plaît.").await;
    // The author revises the summary.
    let page = body(send(&st, get(&status_url, None)).await).await;
    let tok = hidden_value(&page, "vt_token");
    let mut pairs = project_with(&[("summary", "Deux classes comparent la qualité de l'eau du Rhône et de l'Adige."), ("cover.alt", "Une rivière")]);
    pairs.push(("vt_token", &tok));
    let r = send(&st, post_multipart(&format!("{status_url}/modifier"), multipart(&pairs, &[("cover", "", b"")]))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    // The moderator edits the title and the school year, then approves (published: no rebuild here).
    let mut edit: Vec<(&str, &str)> = project_with(&[
        ("title", "Rivières d'Europe, saison 2"),
        ("school_year", "2026-2027"),
        ("summary", "Deux classes comparent la qualité de l'eau du Rhône et de l'Adige."),
    ])
        .into_iter()
        .filter(|(k, _)| !k.starts_with("vt_name") && !k.starts_with("vt_email"))
        .collect();
    edit.push(("csrf", &csrf));
    edit.push(("cover.alt", "Une rivière"));
    let r = send(&st, post_form(&format!("/moderation/item/{id}/edit"), &edit, Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    let r = send(&st, post_form(&format!("/moderation/item/{id}/approve"), &[("csrf", &csrf)], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(reload(&st, id).await.status, queue::Status::Published);
    // Entries the normal path does not produce here: a failed publication, an action this version does not know.
    st.db
        .write(move |c| {
            vitrine_daemon::db::audit(c, Some(id), "publication", "publish_failed", &json!({"error": "modèle project.html : variable inconnue"}))?;
            vitrine_daemon::db::audit(c, Some(id), "robot", "archived_by_robot", &json!({"note": "fin d'année", "form": "nonce-secret-123", "idempotency_key": "api:cle-secrete"}))
        })
        .await
        .unwrap();
    let stored_before = st.db.read(move |c| queue::audit_entries(c, id)).await.unwrap();

    let item = body(send(&st, get(&format!("/moderation/item/{id}"), Some(&cookie))).await).await;
    let journal = journal_of(&item);
    for (action, detail) in [
        ("Proposition reçue", "Type : <span class=\"prewrap\">Projets</span>"),
        ("Modifications demandées", "Message à l’auteur : <span class=\"prewrap\">Précisez le résumé,\ns&#39;il vous plaît.</span>"),
        ("Modifiée par l’auteur", "Champs modifiés : <span class=\"prewrap\">Résumé</span>"),
        ("Modifiée par la modération", "Champs modifiés : <span class=\"prewrap\">Année scolaire, Titre</span>"),
        ("Acceptée", "État précédent : <span class=\"prewrap\">en attente de relecture</span>"),
        ("Publiée", "Adresse : <span class=\"prewrap\">/projets/"),
        ("Échec de la publication", "Erreur : <span class=\"prewrap\">modèle project.html : variable inconnue</span>"),
        ("Archived by robot", "Note : <span class=\"prewrap\">fin d&#39;année</span>"),
    ] {
        assert!(journal.contains(&format!("<td data-label=\"Action\">{action}</td>")), "action {action} missing: {journal}");
        assert!(journal.contains(detail), "detail {detail} missing: {journal}");
    }
    // Times in the site's time zone (Europe/Paris here), in French words, never « UTC ».
    let config = st.config();
    assert_eq!(config.timezone, "Europe/Paris");
    for a in &stored_before {
        let local = a.at.parse::<jiff::Timestamp>().unwrap().to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Paris").unwrap());
        let when = format!("{} à {} h {:02}</td>", local.year(), local.hour(), local.minute());
        assert!(journal.contains(&when), "{when} expected (Paris time of {}): {journal}", a.at);
    }
    assert!(!item.contains("UTC"), "no UTC time shown");
    // Never JSON, never raw action names or paths, never internal values.
    for raw in ["{", "&quot;", "<code>", "submitted", "changes_requested", "revised", "fields.", "vt_body", "nonce-secret-123", "cle-secrete", "Form", "Idempotency"] {
        assert!(!journal.contains(raw), "{raw} shown in the journal: {journal}");
    }
    let rev = stored_before.iter().find(|a| a.action == "revised").unwrap();
    let nonce = serde_json::from_str::<Value>(&rev.detail).unwrap()["form"].as_str().unwrap().to_string();
    assert!(!nonce.is_empty() && !journal.contains(&nonce), "the form's nonce is not shown");
    // Display only: the record is unchanged by showing it.
    let stored_after = st.db.read(move |c| queue::audit_entries(c, id)).await.unwrap();
    assert_eq!(stored_after.len(), stored_before.len());
    for (a, b) in stored_before.iter().zip(&stored_after) {
        assert_eq!((&a.action, &a.detail, &a.at), (&b.action, &b.detail, &b.at));
    }
    assert!(stored_after.iter().any(|a| a.action == "revised" && a.detail.contains("\"form\"")), "stored data keeps the nonce");
}

/// The `<select>` of a control, from its opening tag to `</select>`.
fn select_of(html: &str, id: &str) -> String {
    let a = html.find(&format!("<select id=\"{id}\"")).unwrap_or_else(|| panic!("no select #{id} in {html}"));
    let b = html[a..].find("</select>").unwrap() + a;
    html[a..b].to_string()
}

#[tokio::test]
async fn moderator_edit_form_shows_references_as_the_teachers_list_with_the_current_value() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    let label = json!({
        "collection": "labels",
        "submitter": {"name": "Luc", "email": "luc@example.org"},
        "fields": {"title": "Label", "kind": "Label de qualité national", "project": "chaque-goutte-compte"},
    });
    let r = send(&st, post_raw("/api/submissions", "application/json", label.to_string().into_bytes(), None)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let sub = st.db.read(|c| queue::list(c, &Default::default(), 1)).await.unwrap().remove(0);
    let id = sub.id;
    add_user(&st, "corr", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "corr", "mot de passe très long").await;

    // Same list as the teacher's form, the stored project selected; no free text box.
    let teacher = body(send(&st, get("/submit/labels", None)).await).await;
    let item = body(send(&st, get(&format!("/moderation/item/{id}"), Some(&cookie))).await).await;
    assert!(!item.contains("<input type=\"text\" id=\"f-project\""), "free text box for a reference");
    let theirs = select_of(&teacher, "f-project");
    let ours = select_of(&item, "f-project");
    assert!(ours.contains("<option value=\"chaque-goutte-compte\" selected>"), "{ours}");
    assert_eq!(ours.replace(" selected", ""), theirs.replace(" selected", ""), "same widget as the teacher's form");
    assert!(ours.matches("<option").count() > 3, "existing projects listed: {ours}");
    assert!(item.contains("<label for=\"f-project\">Projet"), "labelled");
    // The summary above the form names the project by its title, not only its slug.
    let summary = &item[item.find("id=\"apercu\"").unwrap()..];
    let summary = &summary[..summary.find("</dl>").unwrap()];
    assert!(summary.contains("<dd>Chaque goutte compte <small>(chaque-goutte-compte)</small></dd>"), "{summary}");

    // Validation unchanged: an unknown project is refused, another existing one is stored.
    let edit = |project: &'static str| {
        vec![("csrf", csrf.clone()), ("title", "Label".into()), ("kind", "Label de qualité national".into()), ("year", "2026".into()), ("project", project.to_string())]
    };
    let pairs = edit("projet-inexistant");
    let p: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = send(&st, post_form(&format!("/moderation/item/{id}/edit"), &p, Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body(r).await;
    assert!(html.contains("aucune entrée « projet-inexistant »"), "{html}");
    // The refused value stays selected (marked), not silently replaced.
    assert!(select_of(&html, "f-project").contains("<option value=\"projet-inexistant\" selected>projet-inexistant (entrée introuvable)</option>"));
    assert_eq!(reload(&st, id).await.payload.fields["project"], "chaque-goutte-compte");
    let pairs = edit("bouger-ensemble");
    let p: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = send(&st, post_form(&format!("/moderation/item/{id}/edit"), &p, Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    assert_eq!(reload(&st, id).await.payload.fields["project"], "bouger-ensemble");
    let item = body(send(&st, get(&format!("/moderation/item/{id}"), Some(&cookie))).await).await;
    assert!(select_of(&item, "f-project").contains("<option value=\"bouger-ensemble\" selected>"));
}

#[tokio::test]
async fn an_address_that_is_not_rfc_5322_is_refused_on_its_field_in_french() {
    let site = example_site();
    let st = state(site.path(), vitrine_daemon::state::Settings { min_fill_secs: 0, ..test_settings() }, false);
    let tok = token(&st, "projects", 10);
    let mut pairs: Vec<(&str, &str)> = valid_project().into_iter().filter(|(k, _)| *k != "vt_email").collect();
    pairs.push(("vt_email", "jean..dupont@-ecole.fr"));
    let r = send(&st, post_form("/submit/projects", &with_token(pairs, &tok), None)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = body(r).await;
    assert!(html.contains("id=\"f-vt_email-error\""), "{html}");
    assert!(html.contains("adresse électronique invalide « jean..dupont@-ecole.fr »"), "{html}");
    assert_eq!(queue_count(&st).await, 0, "nothing stored");

    // The JSON API says the same on `submitter.email`.
    let json = serde_json::json!({
        "collection": "labels",
        "submitter": {"name": "Jean", "email": "jean..dupont@-ecole.fr"},
        "fields": {"title": "Label", "kind": "Label de qualité national", "year": 2026, "project": "chaque-goutte-compte"},
    });
    let r = send(&st, post_raw("/api/submissions", "application/json", json.to_string().into_bytes(), None)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = body(r).await;
    assert!(text.contains("submitter.email") && text.contains("adresse électronique invalide"), "{text}");
    assert_eq!(queue_count(&st).await, 0);
}
