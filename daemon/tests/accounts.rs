//! A moderator's own password and an admin's reset links, through the real
//! router (`oneshot`) on a real queue database: every change is a POST with
//! the session's CSRF token and the right role; the current password is
//! checked, the new one typed twice; a reset link works once.

mod common;

use axum::http::{StatusCode, header};
use common::*;
use vitrine_daemon::AppState;
use vitrine_daemon::auth::Role;

const OLD: &str = "ancien mot de passe long";
const NEW: &str = "nouveau mot de passe long";

async fn try_login(st: &AppState, name: &str, password: &str) -> StatusCode {
    let page = body(send(st, get("/moderation", None)).await).await;
    let token = hidden_value(&page, "csrf");
    send(st, post_form("/moderation/login", &[("csrf", &token), ("username", name), ("password", password)], None)).await.status()
}

async fn change(st: &AppState, cookie: &str, csrf: &str, current: &str, new: &str, again: &str) -> (StatusCode, String) {
    let r = send(
        st,
        post_form("/moderation/compte/mot-de-passe", &[("csrf", csrf), ("current", current), ("password", new), ("password2", again)], Some(cookie)),
    )
    .await;
    let status = r.status();
    let location = r.headers().get(header::LOCATION).map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or_default() + &body(r).await)
}

#[tokio::test]
async fn a_moderator_changes_their_own_password() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    add_user(&st, "corr", OLD, Role::Moderator).await;
    let (cookie, csrf) = login(&st, "corr", OLD).await;
    let (other, _) = login(&st, "corr", OLD).await;

    let page = body(send(&st, get("/moderation/compte", Some(&cookie))).await).await;
    assert!(page.contains("Changer de mot de passe") && page.contains("modérateur"), "{page}");
    assert!(page.contains("href=\"/moderation/compte\""), "the account page is in the navigation");

    // Refusals: the page again with the reason, nothing changed.
    for (current, new, again, needle) in [
        ("pas le bon mot de passe", NEW, NEW, "Mot de passe actuel incorrect."),
        (OLD, NEW, "nouveau mot de passe lon", "Les deux nouveaux mots de passe diffèrent."),
        (OLD, "court", "court", "trop court (12 caractères au moins)"),
    ] {
        let (status, page) = change(&st, &cookie, &csrf, current, new, again).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{needle}");
        assert!(page.contains(needle), "{needle}: {page}");
        assert!(!page.contains(NEW) && !page.contains(OLD), "passwords are never echoed back");
    }
    // Without the CSRF token, without a session: refused.
    let (status, _) = change(&st, &cookie, "jeton-faux", OLD, NEW, NEW).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let r = send(&st, post_form("/moderation/compte/mot-de-passe", &[("csrf", &csrf), ("current", OLD), ("password", NEW), ("password2", NEW)], None)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(send(&st, get("/moderation/compte/mot-de-passe", Some(&cookie))).await.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(try_login(&st, "corr", OLD).await, StatusCode::SEE_OTHER, "still the old password");

    let (status, location) = change(&st, &cookie, &csrf, OLD, NEW, NEW).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/moderation/compte?fait=1"));
    let page = body(send(&st, get("/moderation/compte?fait=1", Some(&cookie))).await).await;
    assert!(page.contains("Mot de passe changé."), "this session goes on, with a notice: {page}");
    assert_eq!(send(&st, get("/moderation/queue", Some(&other))).await.status(), StatusCode::SEE_OTHER, "the other session ended");
    assert_eq!(try_login(&st, "corr", OLD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(try_login(&st, "corr", NEW).await, StatusCode::SEE_OTHER);
    let journal = st.db.read(|c| Ok(c.query_row("SELECT actor || ' ' || action FROM audit_log ORDER BY id DESC", [], |r| r.get::<_, String>(0))?)).await.unwrap();
    assert_eq!(journal, "corr password_changed");
}

#[tokio::test]
async fn an_admin_sends_a_reset_link_that_works_once() {
    let site = example_site();
    let st = state(site.path(), vitrine_daemon::state::Settings { public_url: "https://portail.example.org".into(), ..test_settings() }, false);
    add_user(&st, "admin", OLD, Role::Admin).await;
    let corr = add_user(&st, "corr", OLD, Role::Moderator).await;
    let (mod_cookie, mod_csrf) = login(&st, "corr", OLD).await;
    let (cookie, csrf) = login(&st, "admin", OLD).await;
    let reset = format!("/moderation/users/{corr}/reset");

    // A moderator may not; an admin needs the CSRF token and an address.
    let r = send(&st, post_form(&reset, &[("csrf", &mod_csrf), ("email", "corr@example.org")], Some(&mod_cookie))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(&st, post_form(&reset, &[("csrf", "faux"), ("email", "corr@example.org")], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(&st, post_form(&reset, &[("csrf", &csrf), ("email", "jean..dupont@-ecole.fr")], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body(r).await.contains("adresse électronique invalide"));
    let r = send(&st, post_form("/moderation/users/999/reset", &[("csrf", &csrf), ("email", "corr@example.org")], Some(&cookie))).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The accounts page lists both, roles in French.
    let page = body(send(&st, get("/moderation/users", Some(&cookie))).await).await;
    assert!(page.contains(">corr</td><td data-label=\"Rôle\">modérateur</td>"), "{page}");
    assert!(page.contains(">admin</td><td data-label=\"Rôle\">administrateur</td>"), "{page}");

    let send_link = || async {
        let r = send(&st, post_form(&reset, &[("csrf", &csrf), ("email", "corr@example.org")], Some(&cookie))).await;
        assert_eq!(r.status(), StatusCode::OK);
        let page = body(r).await;
        let i = page.find("https://portail.example.org/moderation/setup/").expect("link shown to the admin");
        page[i..].split('<').next().unwrap().to_string()
    };
    let first = send_link().await;
    let link = send_link().await;
    assert_ne!(first, link);
    let path = link.strip_prefix("https://portail.example.org").unwrap().to_string();
    let first_path = first.strip_prefix("https://portail.example.org").unwrap().to_string();
    assert_eq!(send(&st, get(&first_path, None)).await.status(), StatusCode::NOT_FOUND, "a newer link replaces the older one");

    // Mailed through the outbox to the address given.
    let mut mailed = false;
    for _ in 0..500 {
        mailed = std::fs::read_dir(&st.outbox_dir).into_iter().flatten().flatten().any(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            text.contains("corr@example.org") && vitrine_daemon::outbox::decode_body(&text).is_some_and(|b| b.contains(&link))
        });
        if mailed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(mailed, "the link is mailed to corr@example.org");

    // The link's page: the account named, a new password twice.
    let page = body(send(&st, get(&path, None)).await).await;
    assert!(page.contains("Nouveau mot de passe") && page.contains("«\u{a0}corr\u{a0}»"), "{page}");
    let token = hidden_value(&page, "csrf");
    let post = |p: &'static str, again: &'static str| {
        let (path, token) = (path.clone(), token.clone());
        let st = st.clone();
        async move { send(&st, post_form(&path, &[("csrf", &token), ("username", "admin"), ("password", p), ("password2", again)], None)).await }
    };
    assert_eq!(post(NEW, "autre chose encore").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(post("court", "court").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(NEW, NEW).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()[header::SET_COOKIE].to_str().unwrap().starts_with("vt_session="), "logged in");
    // Once only; the account's old sessions ended; the password is the new one
    // (the `username` field was ignored: the admin's password is unchanged).
    assert_eq!(post(OLD, OLD).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(send(&st, get(&path, None)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(send(&st, get("/moderation/queue", Some(&mod_cookie))).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(try_login(&st, "corr", NEW).await, StatusCode::SEE_OTHER);
    assert_eq!(try_login(&st, "corr", OLD).await, StatusCode::UNAUTHORIZED);
    assert_eq!(try_login(&st, "admin", OLD).await, StatusCode::SEE_OTHER);

    // An expired link does not work.
    let old = send_link().await;
    st.db.write(|c| Ok(c.execute("UPDATE setup_tokens SET created_at = '2020-01-01T00:00:00Z' WHERE used_at IS NULL", [])?)).await.unwrap();
    let old_path = old.strip_prefix("https://portail.example.org").unwrap().to_string();
    assert_eq!(send(&st, get(&old_path, None)).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_first_admin_link_still_creates_the_first_account_once() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    let url = vitrine_daemon::server::announce_setup(&st).unwrap().expect("a link while there is no account");
    let path = format!("/moderation/setup/{}", url.rsplit('/').next().unwrap());
    let page = body(send(&st, get(&path, None)).await).await;
    assert!(page.contains("Création du premier compte administrateur"), "{page}");
    let token = hidden_value(&page, "csrf");
    let r = send(&st, post_form(&path, &[("csrf", &token), ("username", "premiere"), ("password", NEW), ("password2", NEW)], None)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(send(&st, get(&path, None)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(try_login(&st, "premiere", NEW).await, StatusCode::SEE_OTHER);
    let users = st.db.read(vitrine_daemon::auth::list_users).await.unwrap();
    assert_eq!((users.len(), users[0].role), (1, Role::Admin));
}
