//! Shared helpers of the daemon's integration tests: a copy of the example
//! site in a temp dir, a real queue database in it, and small HTTP helpers
//! that drive `web::app(state)` with `oneshot`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use tower::ServiceExt;
use vitrine_daemon::state::{AppState, Rebuilder, Settings};
use vitrine_daemon::{auth, queue, security, web};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// A fresh copy of the example site (config, data, content, themes).
pub fn example_site() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let root = repo_root();
    std::fs::copy(root.join("vitrine.yaml"), d.path().join("vitrine.yaml")).unwrap();
    for dir in ["data", "content", "themes"] {
        copy_dir(&root.join(dir), &d.path().join(dir));
    }
    d
}

pub fn test_settings() -> Settings {
    Settings {
        rate_limit_per_minute: 0,
        max_body_bytes: 4 * 1024 * 1024,
        image_limits: vitrine_daemon::images::ImageLimits { max_bytes: 1024 * 1024, ..Default::default() },
        serve_public: true,
        ..Settings::default()
    }
}

/// The real rebuild: the generator's incremental path (full build first).
pub fn real_rebuilder(site: &Path) -> Rebuilder {
    vitrine_daemon::server::incremental_rebuilder(site.to_path_buf())
}

pub fn state(site: &Path, settings: Settings, rebuild: bool) -> AppState {
    let rb = rebuild.then(|| real_rebuilder(site));
    AppState::new(site, settings, rb).unwrap()
}

pub async fn send(state: &AppState, req: Request<Body>) -> Response<Body> {
    web::app(state.clone()).oneshot(req).await.unwrap()
}

pub async fn body(resp: Response<Body>) -> String {
    web::body_string(resp.into_body()).await
}

pub fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

pub fn encode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

pub fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

pub fn post_form(uri: &str, pairs: &[(&str, &str)], cookie: Option<&str>) -> Request<Body> {
    post_raw(uri, "application/x-www-form-urlencoded", form_body(pairs).into_bytes(), cookie)
}

pub fn post_raw(uri: &str, content_type: &str, body: Vec<u8>, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::post(uri).header(header::CONTENT_TYPE, content_type);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(body)).unwrap()
}

pub const BOUNDARY: &str = "----vitrineTestBoundary7MA4YWxk";

/// A multipart body: text parts, then file parts (name, filename, bytes).
pub fn multipart(texts: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in texts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n").as_bytes());
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (k, filename, data) in files {
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

pub fn post_multipart(uri: &str, body: Vec<u8>) -> Request<Body> {
    post_raw(uri, &format!("multipart/form-data; boundary={BOUNDARY}"), body, None)
}

/// A form token issued `age` seconds ago.
pub fn token(state: &AppState, collection: &str, age: i64) -> String {
    security::issue_form_token(&state.secret, collection, jiff::Timestamp::now().as_second() - age)
}

/// A complete, valid project submission (without token).
pub fn valid_project() -> Vec<(&'static str, &'static str)> {
    vec![
        ("title", "Rivières d'Europe"),
        ("summary", "Deux classes comparent la qualité de l'eau de leurs rivières au fil des saisons."),
        ("school", "Collège Jean Moulin"),
        ("city", "Valence"),
        ("disciplines", "Physique-chimie"),
        ("levels", "collège"),
        ("languages", "anglais"),
        ("duration", "une année scolaire"),
        ("school_year", "2025-2026"),
        ("partners[0].school", "Liceo Galilei"),
        ("partners[0].city", "Trento"),
        ("partners[0].country", "Italie"),
        ("partners[1].school", "IES Cervantes"),
        ("partners[1].country", "Espagne"),
        ("vt_body", "## Le projet\n\nNous avons **mesuré** le pH. Voir [le site](https://example.org)."),
        ("vt_name", "Camille Enseignante"),
        ("vt_email", "camille.enseignante@example.org"),
    ]
}

pub fn with_token<'a>(mut pairs: Vec<(&'a str, &'a str)>, tok: &'a str) -> Vec<(&'a str, &'a str)> {
    pairs.push(("vt_token", tok));
    pairs
}

pub async fn queue_count(state: &AppState) -> i64 {
    state.db.read(queue::total).await.unwrap()
}

/// Every file under content/ with its size, to prove nothing changed.
pub fn content_snapshot(site: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    fn walk(d: &Path, out: &mut Vec<(PathBuf, u64)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push((p.clone(), 0));
                walk(&p, out);
            } else {
                out.push((p.clone(), std::fs::metadata(&p).unwrap().len()));
            }
        }
    }
    walk(&site.join("content"), &mut out);
    out.sort();
    out
}

/// Creates an account directly in the database.
pub async fn add_user(state: &AppState, name: &str, password: &str, role: auth::Role) -> i64 {
    let phc = security::hash_password(password).unwrap();
    let name = name.to_string();
    state
        .db
        .write(move |c| auth::create_user(c, &name, &phc, role, "test").map_err(|e| vitrine_daemon::db::DbError::Conflict(e.to_string())))
        .await
        .unwrap()
}

pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let i = html.find(&marker).unwrap_or_else(|| panic!("no hidden {name} in {html}")) + marker.len();
    html[i..].split('"').next().unwrap().to_string()
}

/// Logs in through the real login form; returns the `Cookie` header value and the CSRF token.
pub async fn login(state: &AppState, name: &str, password: &str) -> (String, String) {
    let page = body(send(state, get("/moderation", None)).await).await;
    let login_token = hidden_value(&page, "csrf");
    let resp = send(state, post_form("/moderation/login", &[("csrf", &login_token), ("username", name), ("password", password)], None)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "login failed");
    let set = resp.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let queue = body(send(state, get("/moderation/queue", Some(&cookie))).await).await;
    let csrf = hidden_value(&queue, "csrf");
    (cookie, csrf)
}

/// A PNG of w×h pixels.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba([200, 60, 30, 255]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A small, well-formed PNG whose header claims `w`×`h` pixels (valid CRC): a decompression bomb.
pub fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut p = png(1, 1);
    p[16..20].copy_from_slice(&w.to_be_bytes());
    p[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&p[12..29]);
    p[29..33].copy_from_slice(&crc.to_be_bytes());
    p
}
