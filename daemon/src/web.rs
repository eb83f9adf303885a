//! The HTTP side, a small facade: [`app`] builds the axum router from the
//! rooms below, and re-exports what tests and the fuzz targets use. Handlers
//! are thin: they extract, call the module that owns the rule
//! ([`crate::submission`], [`crate::workflow`], [`crate::queue`], [`crate::auth`])
//! and render.
//!
//! - `error`: [`AppError`] (every handler's error, `From` the libraries' errors,
//!   source kept for the log) and [`ApiError`], error pages, the 404 fallback;
//! - `extract`: [`ClientIp`] and reading urlencoded/multipart bodies;
//! - `layout`: rendering with the daemon's templates, security headers, stylesheets;
//! - `public`: the teachers' form pages and form POST; `api`: the JSON API;
//! - `revision`: the secret status page and the teacher's revision;
//! - `session`: login, logout, setup link, the moderator extractors;
//! - `moderation`: queue, item, edit, decisions; `users`: accounts (admins);
//! - `contents`: the « Contenus » editor (every entry of `content/`, history).

mod api;
mod contents;
mod error;
mod extract;
mod layout;
mod mail;
pub mod moderation;
mod public;
pub mod revision;
mod session;
mod users;

pub use error::{ApiError, AppError, ErrorInfo, error_page};
pub use extract::{ClientIp, Upload, parse_urlencoded, read_form};
pub use layout::{body_string, collection_singular, collection_title, human_date, human_time, render, render_public, themed};
pub use public::send_mail;
pub(crate) use error::{error_html, error_page_html};
use api::api_submit;
use error::{error_layout, not_found};
use layout::{preview_css, security_headers, style_css};
use public::{form_page, static_form_page, submit_form};
pub(crate) use public::{form_options, store};

pub use crate::submission::{Checked, Draft, check_draft, draft_from_form, entry_exists, error_summary, fe, form_values, image_target, label_for, list_entries, submittable, take, RESERVED};


use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::state::AppState;

/// The daemon's router (`vitrine serve` and `vitrine daemon` serve it); tests drive it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    let timeout = state.settings.request_timeout;
    let public_dir = state.site_dir.join("public");
    let serve_public = state.settings.serve_public;
    let fallback_state = state.clone();
    let r = Router::new()
        .route("/_vitrine/style.css", get(style_css))
        .route("/_vitrine/preview.css", get(preview_css))
        .route("/submit/{collection}", get(form_page).post(submit_form))
        .route("/api/submissions", post(api_submit))
        .route("/suivi/{token}", get(revision::status_page))
        .route("/suivi/{token}/modifier", post(revision::revise))
        .route("/suivi/{token}/image/{id}", get(revision::status_image))
        .route("/proposer/{path}/", get(static_form_page))
        .route("/healthz", get(|| async { "ok" }))
        .merge(moderation::routes())
        .merge(contents::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), error_layout))
        .layer(axum::middleware::from_fn_with_state(state.clone(), security_headers))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .with_state(state);
    let missing = axum::routing::any(not_found).with_state(fallback_state);
    if serve_public {
        r.fallback_service(
            tower_http::services::ServeDir::new(&public_dir).append_index_html_on_directories(true).not_found_service(missing),
        )
    } else {
        r.fallback_service(missing)
    }
}

