//! The bad-input suite: every hostile or broken request gets a clear 4xx
//! (never a 5xx), and leaves both the queue and `content/` unchanged.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use vitrine_daemon::auth::Role;

struct Case {
    what: String,
    req: Request<Body>,
    /// Expected status when one is specific; any 4xx otherwise.
    expect: Option<StatusCode>,
}

fn case(what: impl Into<String>, req: Request<Body>, expect: Option<StatusCode>) -> Case {
    Case { what: what.into(), req, expect }
}

fn json_req(body: Vec<u8>, key: Option<&str>) -> Request<Body> {
    let mut b = Request::post("/api/submissions").header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        b = b.header("idempotency-key", k);
    }
    b.body(Body::from(body)).unwrap()
}

const TEXT_FIELDS: &[&str] = &["title", "summary", "school", "city", "school_year", "partners[0].school", "partners[0].city", "vt_name"];

#[tokio::test]
async fn hostile_requests_get_4xx_and_change_nothing() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    // One accepted submission so that moderation routes have something to target.
    let tok = token(&st, "projects", 10);
    let r = send(&st, post_form("/submit/projects", &with_token(valid_project(), &tok), None)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let good_json = serde_json::json!({
        "collection": "labels",
        "submitter": {"name": "Luc", "email": "luc@example.org"},
        "fields": {"title": "Label", "kind": "Label de qualité national", "project": "chaque-goutte-compte"},
    });
    let r = send(&st, json_req(good_json.to_string().into_bytes(), Some("replay-key-0001"))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    add_user(&st, "modo", "mot de passe très long", Role::Moderator).await;
    let (cookie, csrf) = login(&st, "modo", "mot de passe très long").await;

    let before_count = queue_count(&st).await;
    let before_content = content_snapshot(site.path());
    let mut cases: Vec<Case> = Vec::new();
    let t = || token(&st, "projects", 10);

    // Oversized and malformed bodies.
    cases.push(case("body over the limit", post_multipart("/submit/projects", vec![b'a'; 5 * 1024 * 1024]), None));
    cases.push(case("urlencoded over the limit", post_raw("/submit/projects", "application/x-www-form-urlencoded", vec![b'a'; 1024 * 1024], None), None));
    cases.push(case("bad percent escape", post_raw("/submit/projects", "application/x-www-form-urlencoded", b"title=%zz&vt_name=x".to_vec(), None), Some(StatusCode::BAD_REQUEST)));
    cases.push(case("invalid UTF-8 (urlencoded)", post_raw("/submit/projects", "application/x-www-form-urlencoded", b"title=%ff%fe%fd".to_vec(), None), Some(StatusCode::BAD_REQUEST)));
    let mut raw_utf8 = multipart(&[("vt_token", &t())], &[]);
    let bad = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n");
    let mut injected = bad.into_bytes();
    injected.extend_from_slice(b"\xff\xfe caf\xe9\r\n");
    raw_utf8.splice(0..0, injected);
    cases.push(case("invalid UTF-8 (multipart)", post_multipart("/submit/projects", raw_utf8), Some(StatusCode::BAD_REQUEST)));
    cases.push(case("garbage multipart", post_multipart("/submit/projects", b"this is not multipart at all".to_vec()), None));
    cases.push(case(
        "multipart without boundary",
        post_raw("/submit/projects", "multipart/form-data", b"--x\r\n".to_vec(), None),
        None,
    ));
    cases.push(case("unknown content type", post_raw("/submit/projects", "text/plain", b"hello".to_vec(), None), Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)));
    cases.push(case("huge field", post_form("/submit/projects", &[("vt_token", &t()), ("title", &"x".repeat(100_000))], None), Some(StatusCode::BAD_REQUEST)));
    let long_summary = "y".repeat(5000);
    let mut p = with_token(valid_project(), "");
    let tk = t();
    p.retain(|(k, _)| *k != "vt_token" && *k != "summary");
    p.push(("vt_token", &tk));
    p.push(("summary", &long_summary));
    cases.push(case("field over its schema maximum", post_form("/submit/projects", &p, None), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    let many: Vec<(String, String)> = (0..2000).map(|i| (format!("tags[{i}]"), "x".into())).collect();
    let many_ref: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    cases.push(case("too many fields", post_form("/submit/projects", &many_ref, None), Some(StatusCode::BAD_REQUEST)));

    // Unknown fields.
    let tk = t();
    let mut p = with_token(valid_project(), &tk);
    p.push(("is_admin", "true"));
    cases.push(case("unknown form field", post_form("/submit/projects", &p, None), Some(StatusCode::BAD_REQUEST)));
    let mut j = good_json.clone();
    j["fields"]["color"] = "blue".into();
    cases.push(case("unknown JSON field", json_req(j.to_string().into_bytes(), None), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    cases.push(case("malformed JSON", json_req(b"{\"collection\": ".to_vec(), None), Some(StatusCode::BAD_REQUEST)));
    cases.push(case("JSON not an object", json_req(b"[1,2,3]".to_vec(), None), Some(StatusCode::BAD_REQUEST)));
    cases.push(case("JSON invalid UTF-8", json_req(b"{\"collection\": \"\xff\"}".to_vec(), None), Some(StatusCode::BAD_REQUEST)));
    cases.push(case("JSON too large", json_req(vec![b' '; 1024 * 1024], None), Some(StatusCode::PAYLOAD_TOO_LARGE)));
    cases.push(case(
        "JSON wrong content type",
        post_raw("/api/submissions", "text/plain", good_json.to_string().into_bytes(), None),
        Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ));

    // Script and HTML payloads in every text field, and in the Markdown body.
    for payload in ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</textarea><svg onload=alert(1)>"] {
        for f in TEXT_FIELDS {
            let tk = t();
            let mut p: Vec<(&str, &str)> = valid_project().into_iter().filter(|(k, _)| k != f).collect();
            p.push((f, payload));
            p.push(("vt_token", &tk));
            cases.push(case(format!("{payload} in {f}"), post_form("/submit/projects", &p, None), Some(StatusCode::UNPROCESSABLE_ENTITY)));
        }
        let tk = t();
        let mut p: Vec<(&str, &str)> = valid_project().into_iter().filter(|(k, _)| *k != "vt_body").collect();
        p.push(("vt_body", payload));
        p.push(("vt_token", &tk));
        cases.push(case(format!("{payload} in the body"), post_form("/submit/projects", &p, None), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    }
    for link in ["[clic](javascript:alert(1))", "[x](data:text/html,<script>alert(1)</script>)", "<a href=\"javascript:alert(1)\">x</a>"] {
        let tk = t();
        let mut p: Vec<(&str, &str)> = valid_project().into_iter().filter(|(k, _)| *k != "vt_body").collect();
        p.push(("vt_body", link));
        p.push(("vt_token", &tk));
        cases.push(case(format!("link {link}"), post_form("/submit/projects", &p, None), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    }
    let tk = t();
    let mut p: Vec<(&str, &str)> = valid_project().into_iter().filter(|(k, _)| *k != "website").collect();
    p.push(("website", "javascript:alert(1)"));
    p.push(("vt_token", &tk));
    cases.push(case("javascript: URL field", post_form("/submit/projects", &p, None), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    let mut j = good_json.clone();
    j["fields"]["citation"] = "<script>alert(1)</script>".into();
    cases.push(case("script in JSON markdown field", json_req(j.to_string().into_bytes(), None), Some(StatusCode::UNPROCESSABLE_ENTITY)));

    // Path traversal in every name-like field.
    cases.push(case("traversal in collection", post_form("/submit/..%2F..%2Fetc", &valid_project(), None), Some(StatusCode::NOT_FOUND)));
    cases.push(case("traversal in collection (dots)", post_form("/submit/..", &valid_project(), None), Some(StatusCode::NOT_FOUND)));
    let tk = t();
    let mut p = with_token(valid_project(), &tk);
    p.push(("../../content/x", "y"));
    cases.push(case("traversal in a field name", post_form("/submit/projects", &p, None), Some(StatusCode::BAD_REQUEST)));
    let tk = t();
    let png = png(8, 8);
    cases.push(case(
        "traversal in a file name",
        post_multipart("/submit/projects", multipart(&with_token(valid_project(), &tk), &[("cover", "../../../etc/passwd.png", &png)])),
        Some(StatusCode::BAD_REQUEST),
    ));
    let tk = t();
    cases.push(case(
        "traversal in a file field name",
        post_multipart("/submit/projects", multipart(&with_token(valid_project(), &tk), &[("../cover", "a.png", &png)])),
        Some(StatusCode::BAD_REQUEST),
    ));
    let mut j = good_json.clone();
    j["fields"]["project"] = "../../vitrine".into();
    cases.push(case("traversal in a reference", json_req(j.to_string().into_bytes(), None), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    cases.push(case("traversal in idempotency key", json_req(good_json.to_string().into_bytes(), Some("../../etc/passwd")), Some(StatusCode::BAD_REQUEST)));
    cases.push(case("traversal in status token", get("/suivi/..%2F..%2Fvitrine.yaml", None), Some(StatusCode::NOT_FOUND)));
    cases.push(case("traversal in item id", get("/moderation/item/..%2F1", Some(&cookie)), Some(StatusCode::BAD_REQUEST)));
    cases.push(case("traversal in setup token", get("/moderation/setup/..%2F..%2Fsecret", None), Some(StatusCode::NOT_FOUND)));

    // Image bombs and wrong file types.
    let tk = t();
    let bomb = png_bomb(100_000, 100_000);
    let mut texts = with_token(valid_project(), &tk);
    texts.push(("cover.alt", "bombe"));
    cases.push(case("PNG bomb", post_multipart("/submit/projects", multipart(&texts, &[("cover", "b.png", &bomb)])), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    let tk = t();
    let mut texts = with_token(valid_project(), &tk);
    texts.push(("cover.alt", "svg"));
    cases.push(case(
        "SVG with script",
        post_multipart("/submit/projects", multipart(&texts, &[("cover", "a.svg", b"<svg onload=\"alert(1)\"></svg>")])),
        Some(StatusCode::UNPROCESSABLE_ENTITY),
    ));
    let tk = t();
    let mut texts = with_token(valid_project(), &tk);
    texts.push(("cover.alt", "exe"));
    cases.push(case(
        "executable named .jpg",
        post_multipart("/submit/projects", multipart(&texts, &[("cover", "a.jpg", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00")])),
        Some(StatusCode::UNPROCESSABLE_ENTITY),
    ));
    let tk = t();
    let big = vec![0x89u8; 2 * 1024 * 1024];
    cases.push(case(
        "picture over the size limit",
        post_multipart("/submit/projects", multipart(&with_token(valid_project(), &tk), &[("cover", "a.png", &big)])),
        Some(StatusCode::PAYLOAD_TOO_LARGE),
    ));
    let tk = t();
    let files: Vec<(&str, &str, &[u8])> = (0..20).map(|_| ("cover", "a.png", png.as_slice())).collect();
    cases.push(case("too many pictures", post_multipart("/submit/projects", multipart(&with_token(valid_project(), &tk), &files)), Some(StatusCode::BAD_REQUEST)));

    // Honeypot, forged form token.
    let tk = t();
    let mut p = with_token(valid_project(), &tk);
    p.push(("vt_fax", "0102030405"));
    cases.push(case("honeypot filled", post_form("/submit/projects", &p, None), Some(StatusCode::BAD_REQUEST)));
    let forged = format!("{}.{}.{}", jiff::Timestamp::now().as_second() - 60, "a".repeat(24), "0".repeat(64));
    cases.push(case("forged form token", post_form("/submit/projects", &with_token(valid_project(), &forged), None), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    let other = token(&st, "labels", 10);
    cases.push(case("token of another form", post_form("/submit/projects", &with_token(valid_project(), &other), None), Some(StatusCode::UNPROCESSABLE_ENTITY)));

    // Replayed idempotency key with other content.
    let mut j = good_json.clone();
    j["fields"]["title"] = "Autre chose".into();
    cases.push(case("replayed idempotency key, other content", json_req(j.to_string().into_bytes(), Some("replay-key-0001")), Some(StatusCode::CONFLICT)));

    // Moderation: missing / wrong CSRF, no session, forged session, wrong role, GET on state changes.
    for action in ["approve", "reject", "changes", "retry", "edit"] {
        let uri = format!("/moderation/item/1/{action}");
        cases.push(case(format!("{action} without CSRF"), post_form(&uri, &[("reason", "x")], Some(&cookie)), Some(StatusCode::FORBIDDEN)));
        cases.push(case(format!("{action} with wrong CSRF"), post_form(&uri, &[("csrf", "0000"), ("reason", "x")], Some(&cookie)), Some(StatusCode::FORBIDDEN)));
        cases.push(case(format!("{action} unauthenticated"), post_form(&uri, &[("csrf", &csrf), ("reason", "x")], None), Some(StatusCode::UNAUTHORIZED)));
        cases.push(case(
            format!("{action} forged session"),
            post_form(&uri, &[("csrf", &csrf), ("reason", "x")], Some(&format!("vt_session={}", "f".repeat(64)))),
            Some(StatusCode::UNAUTHORIZED),
        ));
        cases.push(case(format!("GET {action}"), get(&uri, Some(&cookie)), Some(StatusCode::METHOD_NOT_ALLOWED)));
    }
    // The account routes (issue 12): the same checks.
    let pw = [("current", "mot de passe très long"), ("password", "<script>alert(1)</script>{{ x }}"), ("password2", "<script>alert(1)</script>{{ x }}")];
    for (what, form, cookie_used, expect) in [
        ("password change without CSRF", pw.to_vec(), Some(cookie.as_str()), StatusCode::FORBIDDEN),
        ("password change with wrong CSRF", [&[("csrf", "0000")][..], &pw].concat(), Some(cookie.as_str()), StatusCode::FORBIDDEN),
        ("password change unauthenticated", [&[("csrf", csrf.as_str())][..], &pw].concat(), None, StatusCode::UNAUTHORIZED),
    ] {
        cases.push(case(what, post_form("/moderation/compte/mot-de-passe", &form, cookie_used), Some(expect)));
    }
    cases.push(case("GET password change", get("/moderation/compte/mot-de-passe", Some(&cookie)), Some(StatusCode::METHOD_NOT_ALLOWED)));
    cases.push(case("reset link as moderator", post_form("/moderation/users/1/reset", &[("csrf", &csrf), ("email", "a@example.org")], Some(&cookie)), Some(StatusCode::FORBIDDEN)));
    cases.push(case("reset link unauthenticated", post_form("/moderation/users/1/reset", &[("csrf", &csrf), ("email", "a@example.org")], None), Some(StatusCode::UNAUTHORIZED)));
    cases.push(case("reset link, path in the id", post_form("/moderation/users/..%2F1/reset", &[("csrf", &csrf), ("email", "a@example.org")], Some(&cookie)), None));
    cases.push(case("GET reset link", get("/moderation/users/1/reset", Some(&cookie)), Some(StatusCode::METHOD_NOT_ALLOWED)));
    cases.push(case("preview picture, path in the name", get("/moderation/item/1/apercu/..%2F..%2Fqueue.sqlite3", Some(&cookie)), Some(StatusCode::NOT_FOUND)));
    cases.push(case("GET logout", get("/moderation/logout", Some(&cookie)), Some(StatusCode::METHOD_NOT_ALLOWED)));
    cases.push(case("GET API", get("/api/submissions", None), Some(StatusCode::METHOD_NOT_ALLOWED)));
    // Pages without a session are not 4xx but a redirect to the login (checked below).
    for uri in ["/moderation/queue", "/moderation/item/1", "/moderation/item/1/image/1", "/moderation/users", "/moderation/compte", "/moderation/item/1/apercu/x.png"] {
        let r = send(&st, get(uri, None)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "GET {uri} without a session");
        assert_eq!(r.headers()[header::LOCATION], format!("/moderation/login?next={uri}"));
    }
    cases.push(case("users as moderator", get("/moderation/users", Some(&cookie)), Some(StatusCode::FORBIDDEN)));
    cases.push(case(
        "add user as moderator",
        post_form("/moderation/users", &[("csrf", &csrf), ("username", "evil"), ("password", "mot de passe très long"), ("role", "admin")], Some(&cookie)),
        Some(StatusCode::FORBIDDEN),
    ));
    cases.push(case("login without token", post_form("/moderation/login", &[("username", "modo"), ("password", "mot de passe très long")], None), Some(StatusCode::FORBIDDEN)));
    cases.push(case("unknown queue filter", get("/moderation/queue?status=evil", Some(&cookie)), Some(StatusCode::BAD_REQUEST)));
    cases.push(case("unknown collection", post_form("/submit/pages", &valid_project(), None), Some(StatusCode::NOT_FOUND)));

    // The correspondents' editor (issue 12): POST only, CSRF, session; hostile values refused
    // before anything is written (those stored as text are in tests/contents.rs).
    let entry = "/moderation/contenus/trainings/seminaire-de-contact-strasbourg";
    let training = |extra: &[(&'static str, &'static str)]| -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = [
            ("title", "Formation"),
            ("summary", "Une demi-journée pour découvrir eTwinning."),
            ("scope", "nationale"),
            ("mode", "en ligne"),
            ("audience[0]", "enseignants"),
            ("organiser", "Canopé"),
            ("sessions[0].start", "2027-03-10T14:00"),
            ("sessions[0].end", "2027-03-10T17:00"),
            ("sessions[0].place", "En ligne"),
            ("vt_hash", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            p.retain(|(n, _)| n != k);
            p.push((k.to_string(), v.to_string()));
        }
        p.push(("csrf".into(), csrf.clone()));
        p
    };
    let post = |uri: &str, p: Vec<(String, String)>| {
        let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        post_form(uri, &refs, Some(&cookie))
    };
    for action in ["", "/retirer", "/remettre", "/versions/20260101T000000000Z-aa/restaurer", "/apercu"] {
        let uri = format!("{entry}{action}");
        cases.push(case(format!("contenus{action} without CSRF"), post_form(&uri, &[("vt_hash", "0")], Some(&cookie)), Some(StatusCode::FORBIDDEN)));
        cases.push(case(format!("contenus{action} with wrong CSRF"), post_form(&uri, &[("csrf", "0000")], Some(&cookie)), Some(StatusCode::FORBIDDEN)));
        cases.push(case(format!("contenus{action} unauthenticated"), post_form(&uri, &[("csrf", &csrf)], None), Some(StatusCode::UNAUTHORIZED)));
        if !action.is_empty() {
            cases.push(case(format!("GET contenus{action}"), get(&uri, Some(&cookie)), Some(StatusCode::METHOD_NOT_ALLOWED)));
        }
    }
    cases.push(case("contenus: new entry without CSRF", post_form("/moderation/contenus/nouveau/trainings", &[("title", "x")], Some(&cookie)), Some(StatusCode::FORBIDDEN)));
    cases.push(case("contenus: traversal in slug", post("/moderation/contenus/trainings/..%2F..%2Fvitrine", training(&[])), Some(StatusCode::NOT_FOUND)));
    cases.push(case("contenus: traversal in collection", post("/moderation/contenus/..%2Fdata/x", training(&[])), Some(StatusCode::NOT_FOUND)));
    cases.push(case("contenus: section page as slug", post("/moderation/contenus/trainings/_index", training(&[])), Some(StatusCode::NOT_FOUND)));
    cases.push(case("contenus: traversal in version id", post(&format!("{entry}/versions/..%2F..%2Fsecret/restaurer"), training(&[])), Some(StatusCode::NOT_FOUND)));
    cases.push(case("contenus: stale hash", post(entry, training(&[])), Some(StatusCode::CONFLICT)));
    cases.push(case("contenus: stale hash on withdraw", post(&format!("{entry}/retirer"), training(&[])), Some(StatusCode::CONFLICT)));
    cases.push(case("contenus: script in title", post("/moderation/contenus/nouveau/trainings", training(&[("title", "<script>alert(1)</script>")])), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    cases.push(case("contenus: YAML in the date", post("/moderation/contenus/nouveau/trainings", training(&[("vt_date", "2026-01-01\ndraft: true")])), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    cases.push(case("contenus: javascript: URL", post("/moderation/contenus/nouveau/trainings", training(&[("registration_url", "javascript:alert(1)")])), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    cases.push(case("contenus: raw HTML in the body", post("/moderation/contenus/nouveau/trainings", training(&[("vt_body", "<img src=x onerror=alert(1)>")])), Some(StatusCode::UNPROCESSABLE_ENTITY)));
    cases.push(case("contenus: traversal in a field name", post("/moderation/contenus/nouveau/trainings", training(&[("../../x", "y")])), Some(StatusCode::BAD_REQUEST)));
    cases.push(case("contenus: unknown collection", post("/moderation/contenus/nouveau/nope", training(&[])), Some(StatusCode::NOT_FOUND)));

    let n = cases.len();
    let mut failures = Vec::new();
    for c in cases {
        let resp = send(&st, c.req).await;
        let s = resp.status();
        let text = body(resp).await;
        let ok = match c.expect {
            Some(e) => s == e,
            None => s.is_client_error(),
        };
        if !ok || s.is_server_error() || !s.is_client_error() {
            failures.push(format!("{}: got {s}, expected {:?}: {}", c.what, c.expect, text.chars().take(300).collect::<String>()));
        } else if text.trim().is_empty() {
            failures.push(format!("{}: {s} without an explanation", c.what));
        }
    }
    assert!(failures.is_empty(), "{} of {n} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(queue_count(&st).await, before_count, "queue changed");
    assert_eq!(content_snapshot(site.path()), before_content, "content/ changed");
    let id = 1i64;
    let s = st.db.read(move |c| vitrine_daemon::queue::get(c, id)).await.unwrap().unwrap();
    assert_eq!(s.status, vitrine_daemon::queue::Status::Pending, "an unauthorised request changed the item");
}

#[tokio::test]
async fn slow_clients_cannot_hold_a_connection_forever() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let site = example_site();
    let settings = vitrine_daemon::state::Settings { header_read_timeout: std::time::Duration::from_millis(300), ..test_settings() };
    let st = state(site.path(), settings, false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(vitrine_daemon::server::serve(listener, st.clone(), async {
        let _ = rx.await;
    }));
    // A client that sends half a request line and then nothing.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = Vec::new();
    // The server closes the connection (possibly after a 408) instead of waiting forever.
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), s.read_to_end(&mut buf)).await;
    assert!(n.is_ok(), "connection still open after the header timeout");
    // A normal client still gets through.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200") && out.ends_with("ok"), "{out}");
    tx.send(()).unwrap();
    server.await.unwrap();
}
