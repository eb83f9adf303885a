//! What every response shares: pages rendered with the daemon's templates
//! ([`render`]), the security headers of every response, the daemon's
//! stylesheets, dates and collection names as readers see them.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;

use crate::state::AppState;

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

/// The title `vitrine.yaml` gives collection `name`, or the name itself when
/// the collection is unknown.
pub fn collection_title(config: &vitrine_generator::config::Config, name: &str) -> String {
    config.collection(name).map(|c| c.title.clone()).unwrap_or_else(|| name.to_string())
}

/// The date of a stored timestamp as French readers write it
/// (`2026-11-28T14:13:39Z` → `28/11/2026`); anything else unchanged.
pub fn human_date(ts: &str) -> String {
    ts.get(..10)
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        .map(|d| d.strftime("%d/%m/%Y").to_string())
        .unwrap_or_else(|| ts.to_string())
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
