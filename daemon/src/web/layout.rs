//! What every response shares: pages rendered with the daemon's templates
//! ([`render`]; the teachers' pages inside the site's own layout,
//! [`render_public`]), the security headers of every response, the daemon's
//! stylesheets, dates and collection names as readers see them.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;

use crate::state::AppState;

/// Dates and times as readers see them: the one rule is in [`crate::dates`].
pub use crate::dates::{human_date, human_time};

/// Renders one of the daemon's templates with the common variables. A template
/// error becomes an internal error (`From<tera::Error> for AppError`).
pub fn render(state: &AppState, name: &str, mut ctx: tera::Context) -> Result<String, tera::Error> {
    if !ctx.contains_key("site_title") {
        ctx.insert("site_title", &state.config().title);
    }
    for k in ["user", "csrf", "flash"] {
        if !ctx.contains_key(k) {
            ctx.insert(k, &Json::Null);
        }
    }
    state.tera.render(name, &ctx)
}

/// Renders one of the teachers' templates (a fragment extending
/// `public_base.html`) inside the site's own layout: the built `404.html` of
/// the site (its header, navigation, footer and stylesheet, so whatever theme
/// is used) with its `<main>` and `<title>` replaced and `noindex` added.
/// Without a built site, the daemon's own layout (`standalone.html`).
pub fn render_public(state: &AppState, name: &str, mut ctx: tera::Context) -> Result<String, tera::Error> {
    let title = ctx.get("page_title").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let main = render(state, name, ctx.clone())?;
    if let Some(page) = themed(&state.site_dir, &title, &state.config().title, &main) {
        return Ok(page);
    }
    ctx.insert("main", &main);
    render(state, "standalone.html", ctx)
}

/// The site's layout around `main` (see [`render_public`]).
pub fn themed(site_dir: &std::path::Path, title: &str, site_title: &str, main: &str) -> Option<String> {
    let html = std::fs::read_to_string(site_dir.join("public").join("404.html")).ok()?;
    let open = html.find("<main")?;
    let open_end = open + html[open..].find('>')? + 1;
    let close = html.rfind("</main>")?;
    let t0 = html.find("<title>")? + "<title>".len();
    let t1 = t0 + html[t0..].find("</title>")?;
    let head_end = html.find("</head>")?;
    if !(t1 < head_end && head_end < open && open_end <= close) {
        return None;
    }
    let esc = vitrine_generator::forms::esc;
    Some(format!(
        "{}{} – {}{}<meta name=\"robots\" content=\"noindex\">\n{}{main}{}",
        &html[..t0],
        esc(title),
        esc(site_title),
        &html[t1..head_end],
        &html[head_end..open_end],
        &html[close..]
    ))
}

/// Headers of every response: the pages' Content-Security-Policy
/// ([`vitrine_generator::csp`]; the moderation pages get the stricter one,
/// without script, except the preview, which is a page of the site),
/// `nosniff`, no referrer, no framing, no caching by default.
pub(crate) async fn security_headers(State(state): State<AppState>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path();
    let moderation = (path == "/moderation" || path.starts_with("/moderation/")) && !path.ends_with("/preview");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static(vitrine_generator::csp::REFERRER_POLICY));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        let policy = if moderation {
            HeaderValue::from_static(vitrine_generator::csp::MODERATION_POLICY)
        } else {
            HeaderValue::from_str(&vitrine_generator::csp::page_policy(&state.config().image_hosts))
                .unwrap_or_else(|_| HeaderValue::from_static(vitrine_generator::csp::MODERATION_POLICY))
        };
        h.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

pub(crate) async fn preview_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        crate::preview::BANNER_CSS,
    )
        .into_response()
}

pub(crate) async fn style_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        crate::templates::STYLE_CSS,
    )
        .into_response()
}

/// The name of one entry of collection `name` (`Projet`), as `vitrine.yaml`
/// gives it, or the name itself when the collection is unknown.
pub fn collection_singular(config: &vitrine_generator::config::Config, name: &str) -> String {
    config.collection(name).map(|c| c.singular.clone()).unwrap_or_else(|| name.to_string())
}

/// The title `vitrine.yaml` gives collection `name`, or the name itself when
/// the collection is unknown.
pub fn collection_title(config: &vitrine_generator::config::Config, name: &str) -> String {
    config.collection(name).map(|c| c.title.clone()).unwrap_or_else(|| name.to_string())
}

/// Body of a response, for tests and tools.
pub async fn body_string(body: Body) -> String {
    let b = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    String::from_utf8_lossy(&b).into_owned()
}

#[allow(dead_code)]
pub(crate) fn _assert_send(h: HeaderMap) -> HeaderMap {
    h
}
