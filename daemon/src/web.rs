//! The HTTP side: [`app`] builds the axum router; [`AppError`] is the one
//! error type every handler returns (an HTML page with the right 4xx/5xx, or
//! JSON on API routes); and the public handlers: submission forms (plain
//! POST or multipart with pictures), the JSON API and the status page.
//!
//! The moderation pages live in the submodule `moderation`; the submitter's
//! status page and revision form in `revision`.

pub mod moderation;
pub mod revision;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Path as UrlPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value as Json, json};
use vitrine_generator::config::Collection;
use vitrine_generator::forms::{self, FormOptions};
use vitrine_generator::schema::{self, FieldError, Kind, Schema};

use crate::db::DbError;
use crate::images::clean_image;
use crate::queue::{self, NewSubmission};
use crate::ratelimit::client_ip;
use crate::security::{self, TokenProblem};
use crate::state::AppState;

/// Every handler error. Client mistakes are 4xx with a French explanation.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("page introuvable")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error("envoi trop volumineux")]
    TooLarge,
    #[error("trop de requêtes : réessayez dans une minute")]
    TooManyRequests,
    #[error("connexion requise")]
    Unauthorized,
    /// A page of the moderation reached without a session: 303 to the login
    /// page, which comes back to this (checked, same-site) path afterwards.
    #[error("connexion requise")]
    LoginRequired(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("type de contenu non accepté : {0}")]
    UnsupportedMedia(String),
    #[error("erreur interne : {0}")]
    Internal(String),
    /// A fully rendered response (form shown again with its errors, etc.).
    #[error("réponse")]
    Page(StatusCode, String),
}

impl From<crate::workflow::WorkflowError> for AppError {
    fn from(e: crate::workflow::WorkflowError) -> Self {
        match e {
            crate::workflow::WorkflowError::Db(db) => db.into(),
            crate::workflow::WorkflowError::NotFound => AppError::NotFound,
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(m) => AppError::Conflict(m),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::LoginRequired(_) => StatusCode::SEE_OTHER,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Page(s, _) => *s,
        }
    }
}

/// Clear French title of an error page.
fn title_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Demande incorrecte",
        401 => "Connexion requise",
        403 => "Accès refusé",
        404 => "Page introuvable",
        405 => "Action impossible à cette adresse",
        408 => "Délai dépassé",
        409 => "Action impossible pour le moment",
        413 => "Envoi trop volumineux",
        415 => "Format d'envoi non accepté",
        422 => "Données refusées",
        429 => "Trop de demandes",
        s if s >= 500 => "Erreur du serveur",
        _ => "Erreur",
    }
}

/// What happened, in a sentence, when the error carries no message of its own.
fn explanation_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "La demande envoyée n'a pas pu être comprise.",
        401 => "Cette action est réservée aux correspondants connectés.",
        403 => "Vous n'avez pas l'autorisation de faire cette action.",
        404 => "Aucune page ne correspond à cette adresse : elle a peut-être été mal recopiée, ou la page a été retirée.",
        405 => "Cette adresse n'accepte pas cette méthode : les actions se font par les boutons des formulaires.",
        408 => "La demande a pris trop de temps.",
        409 => "Cette action n'est plus possible dans l'état actuel de la proposition.",
        413 => "L'envoi dépasse la taille permise.",
        415 => "Ce format d'envoi n'est pas accepté.",
        422 => "Les données envoyées ont été refusées.",
        429 => "Trop de demandes ont été envoyées en peu de temps.",
        _ => "Une erreur est survenue ; rien n'a été perdu de ce qui a déjà été confirmé.",
    }
}

/// What to do next, in a sentence.
fn advice_for(status: StatusCode, moderation: bool) -> &'static str {
    match status.as_u16() {
        400 | 422 => "Revenez à la page précédente, vérifiez ce qui a été saisi, puis envoyez à nouveau.",
        401 => "Connectez-vous, puis recommencez.",
        403 if moderation => "Rechargez la page puis recommencez ; si le problème persiste, demandez à un administrateur.",
        403 => "Rechargez la page puis recommencez.",
        404 if moderation => "Repartez de la file de relecture.",
        404 => "Vérifiez l'adresse, ou repartez de l'accueil du site.",
        405 => "Revenez à la page précédente et utilisez le bouton prévu.",
        409 => "Rechargez la page pour voir l'état à jour.",
        413 => "Réduisez la taille ou le nombre des images, puis envoyez à nouveau.",
        415 => "Envoyez le formulaire depuis la page du site.",
        429 => "Attendez une minute, puis réessayez.",
        _ => "Réessayez dans un instant.",
    }
}

/// A message of a handler as a sentence: capital first letter, final full stop.
fn sentence(m: &str) -> String {
    let m = m.trim();
    let mut c = m.chars();
    let mut out = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?', '…']) {
        out.push('.');
    }
    out
}

/// Marks an error response: the layout middleware ([`error_layout`]) renders
/// it again with the site's layout (header, navigation of a logged-in
/// moderator, link back), which needs the request and the state.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    /// The specific sentence of the handler, if any (else the status' explanation).
    pub message: Option<String>,
}

/// Everything an error page shows.
fn error_context(status: StatusCode, message: Option<&str>, path: &str, session: Option<&crate::auth::Session>) -> tera::Context {
    let moderation = path.starts_with("/moderation");
    let mut ctx = tera::Context::new();
    ctx.insert("page_title", title_for(status));
    let message = message.map(sentence).filter(|m| !m.is_empty());
    ctx.insert("message", &message.clone().unwrap_or_else(|| explanation_for(status).to_string()));
    ctx.insert("help", advice_for(status, moderation));
    let (back, label) = match (moderation, session) {
        (true, Some(_)) => ("/moderation/queue", "Retour à la file de relecture"),
        (true, None) => ("/moderation/login", "Aller à la page de connexion"),
        (false, _) => ("/", "Retour à l'accueil du site"),
    };
    ctx.insert("back", back);
    ctx.insert("back_label", label);
    if let Some(s) = session {
        ctx.insert("user", &s.user);
        ctx.insert("csrf", &s.csrf);
    }
    ctx
}

/// A standalone error page, used as is only where no state is at hand; the
/// [`error_layout`] middleware renders it again with the daemon's layout.
/// Same landmarks as the other pages: header, skip link, focusable main.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    error_response(status, Some(message))
}

fn error_response(status: StatusCode, message: Option<&str>) -> Response {
    let title = title_for(status);
    let text = message.map(sentence).unwrap_or_else(|| explanation_for(status).to_string());
    let body = format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex, nofollow\"><title>{title}</title><link rel=\"stylesheet\" href=\"/_vitrine/style.css\"></head><body>\
         <a class=\"skip\" href=\"#contenu\">Aller au contenu</a><header class=\"top\"><p class=\"brand\"><a href=\"/\">Accueil du site</a></p></header>\
         <main id=\"contenu\" tabindex=\"-1\"><h1>{title}</h1><div class=\"alert\"><p>{}</p></div><p>{}</p>\
         <p><a href=\"/\">Retour à l'accueil du site</a></p></main></body></html>",
        forms::esc(&text),
        advice_for(status, false),
    );
    let mut resp = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    resp.extensions_mut().insert(ErrorInfo { message: message.map(str::to_string) });
    resp
}

/// An error page with the daemon's layout, for a request path and an optional session.
pub(crate) fn error_page_html(state: &AppState, status: StatusCode, message: Option<&str>, path: &str, session: Option<&crate::auth::Session>) -> String {
    let ctx = error_context(status, message, path, session);
    render(state, "error.html", ctx).unwrap_or_else(|_| forms::esc(message.unwrap_or(explanation_for(status))))
}

async fn session_of(state: &AppState, headers: &HeaderMap) -> Option<crate::auth::Session> {
    let token = moderation::session_token(headers)?;
    state.db.read(move |c| crate::auth::find_session(c, &token)).await.ok().flatten()
}

/// Renders every marked error response (and axum's plain-text ones) with the
/// daemon's layout: site header, the moderator's navigation when logged in,
/// skip link, a clear title, a sentence and a link back.
async fn error_layout(State(state): State<AppState>, req: Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    let plain_text = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.to_str().unwrap_or("").starts_with("text/plain"));
    let info = match resp.extensions().get::<ErrorInfo>() {
        Some(i) => i.clone(),
        // axum's own answers (the bodiless 405, extractor rejections such as
        // a body over the limit) are plain text: explain them on a page too.
        None if status == StatusCode::METHOD_NOT_ALLOWED
            || ((status.is_client_error() || status.is_server_error()) && plain_text && !path.starts_with("/api/")) =>
        {
            ErrorInfo { message: None }
        }
        None => return resp,
    };
    let session = session_of(&state, &headers).await;
    let html = error_page_html(&state, status, info.message.as_deref(), &path, session.as_ref());
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    Response::from_parts(parts, Body::from(html))
}

/// The 404 of paths no route or public file answers.
async fn not_found(State(state): State<AppState>, req: Request) -> Response {
    let session = session_of(&state, req.headers()).await;
    let html = error_page_html(&state, StatusCode::NOT_FOUND, None, req.uri().path(), session.as_ref());
    let mut resp = (StatusCode::NOT_FOUND, Html(html)).into_response();
    for (k, v) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("cache-control", "no-store"),
    ] {
        resp.headers_mut().insert(k, HeaderValue::from_static(v));
    }
    resp
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            AppError::Page(s, html) => (s, Html(html)).into_response(),
            AppError::LoginRequired(next) => Redirect::to(&moderation::login_url(Some(&next))).into_response(),
            AppError::Internal(m) => {
                tracing::error!("erreur interne : {m}");
                error_response(status, None)
            }
            AppError::NotFound | AppError::TooLarge | AppError::TooManyRequests | AppError::Unauthorized => {
                error_response(status, None)
            }
            AppError::UnsupportedMedia(ct) => error_response(
                status,
                Some(&format!("le format d'envoi « {} » n'est pas accepté", ct.chars().take(80).collect::<String>())),
            ),
            other => error_response(status, Some(&other.to_string())),
        }
    }
}

/// Errors of the JSON API: `{"error": "...", "errors": [{"field", "message"}]}`.
pub struct ApiError(pub StatusCode, pub Json);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let s = e.status();
        let msg = match &e {
            AppError::Internal(m) => {
                tracing::error!("erreur interne : {m}");
                "erreur interne".to_string()
            }
            other => other.to_string(),
        };
        ApiError(s, json!({ "error": msg }))
    }
}

/// The client's IP (socket peer, or the proxy's header when configured).
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Ok(ClientIp(client_ip(peer, &parts.headers, state.settings.trust_forwarded)))
    }
}

/// Renders one of the daemon's templates with the common variables.
pub fn render(state: &AppState, name: &str, mut ctx: tera::Context) -> Result<String, AppError> {
    if !ctx.contains_key("site_title") {
        ctx.insert("site_title", &state.config().title);
    }
    for k in ["user", "csrf", "flash"] {
        if !ctx.contains_key(k) {
            ctx.insert(k, &Json::Null);
        }
    }
    state.tera.render(name, &ctx).map_err(|e| AppError::Internal(format!("modèle {name} : {e:?}")))
}

/// Headers of every response: the pages' Content-Security-Policy
/// ([`vitrine_generator::csp`]; the moderation pages get the stricter one,
/// without script, except the preview, which is a page of the site),
/// `nosniff`, no referrer, no framing, no caching by default.
async fn security_headers(State(state): State<AppState>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
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

async fn preview_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        crate::preview::BANNER_CSS,
    )
        .into_response()
}

/// The daemon's router. Kept apart from [`crate::run`] so tests drive it with `oneshot`.
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
        .route("/proposer/{path}/", get(static_form_page))
        .route("/healthz", get(|| async { "ok" }))
        .merge(moderation::routes())
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

async fn style_css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        crate::templates::STYLE_CSS,
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// Body parsing

/// An uploaded file: form field name and bytes.
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
}

fn hexval(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn percent_decode(s: &[u8]) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let (Some(a), Some(b)) = (s.get(i + 1).and_then(|x| hexval(*x)), s.get(i + 2).and_then(|x| hexval(*x)))
                else {
                    return Err("séquence %XX invalide".into());
                };
                out.push(a * 16 + b);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "texte qui n'est pas en UTF-8".to_string())
}

/// Strict `application/x-www-form-urlencoded` parsing: invalid UTF-8 or escapes are errors, not replaced.
pub fn parse_urlencoded(body: &[u8], max_fields: usize) -> Result<Vec<(String, String)>, AppError> {
    let mut out = Vec::new();
    for part in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match part.iter().position(|b| *b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &b""[..]),
        };
        let k = percent_decode(k).map_err(|e| AppError::BadRequest(format!("formulaire illisible : {e}")))?;
        let v = percent_decode(v).map_err(|e| AppError::BadRequest(format!("champ « {k} » illisible : {e}")))?;
        out.push((k, v));
        if out.len() > max_fields {
            return Err(AppError::BadRequest("formulaire illisible : trop de champs".into()));
        }
    }
    Ok(out)
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge
    } else {
        AppError::BadRequest(format!("envoi multipart illisible : {}", e.body_text()))
    }
}

/// Reads a form body (urlencoded or multipart) into text pairs and uploaded files.
pub async fn read_form(state: &AppState, req: Request) -> Result<(Vec<(String, String)>, Vec<Upload>), AppError> {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let s = &state.settings;
    if ct.starts_with("application/x-www-form-urlencoded") {
        let bytes = axum::body::to_bytes(req.into_body(), s.max_field_bytes * 4 + 64 * 1024)
            .await
            .map_err(|_| AppError::TooLarge)?;
        let pairs = parse_urlencoded(&bytes, s.max_fields)?;
        if let Some((k, _)) = pairs.iter().find(|(_, v)| v.len() > s.max_field_bytes) {
            return Err(AppError::BadRequest(format!("le champ « {} » est trop long", k.chars().take(80).collect::<String>())));
        }
        return Ok((pairs, Vec::new()));
    }
    if ct.starts_with("multipart/form-data") {
        let mut mp = axum::extract::Multipart::from_request(req, &())
            .await
            .map_err(|e| AppError::BadRequest(format!("envoi multipart illisible : {}", e.body_text())))?;
        let mut pairs = Vec::new();
        let mut uploads = Vec::new();
        while let Some(mut field) = mp.next_field().await.map_err(multipart_error)? {
            let Some(name) = field.name().map(str::to_string) else {
                return Err(AppError::BadRequest("champ multipart sans nom".into()));
            };
            if name.len() > 200 {
                return Err(AppError::BadRequest("nom de champ trop long".into()));
            }
            let is_file = field.file_name().is_some();
            if let Some(f) = field.file_name()
                && (f.contains(['/', '\\', '\0']) || f.contains("..") || f.len() > 255) {
                    return Err(AppError::BadRequest("nom de fichier refusé (chemin ou caractères interdits)".into()));
                }
            let limit = if is_file { s.image_limits.max_bytes } else { s.max_field_bytes };
            let mut data = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                if data.len() + chunk.len() > limit {
                    return Err(if is_file {
                        AppError::Page(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            error_html(state, StatusCode::PAYLOAD_TOO_LARGE, &format!(
                                "Le fichier envoyé dans « {name} » dépasse {} Mo.",
                                s.image_limits.max_bytes / (1024 * 1024)
                            )),
                        )
                    } else {
                        AppError::BadRequest(format!("le champ « {name} » est trop long"))
                    });
                }
                data.extend_from_slice(&chunk);
            }
            if is_file {
                // A file input left empty still sends an empty part.
                if !data.is_empty() {
                    uploads.push(Upload { name, bytes: data });
                    if uploads.len() > s.max_images {
                        return Err(AppError::BadRequest(format!("{} images au plus", s.max_images)));
                    }
                }
            } else {
                let text = String::from_utf8(data)
                    .map_err(|_| AppError::BadRequest(format!("le champ « {name} » n'est pas du texte UTF-8")))?;
                pairs.push((name, text));
                if pairs.len() > s.max_fields {
                    return Err(AppError::BadRequest("trop de champs".into()));
                }
            }
        }
        return Ok((pairs, uploads));
    }
    Err(AppError::UnsupportedMedia(if ct.is_empty() { "aucun".into() } else { ct }))
}

/// An error page for handlers that answer with [`AppError::Page`] (public side: link back home).
pub(crate) fn error_html(state: &AppState, status: StatusCode, message: &str) -> String {
    error_page_html(state, status, Some(message), "/", None)
}

// ---------------------------------------------------------------------------
// Validation shared by the form and the API

/// A submission as received, before storage.
pub struct Draft {
    pub fields: Json,
    pub body: String,
    pub name: String,
    pub email: String,
}

/// Everything wrong with a draft, as field errors (`vt_name`, `vt_body`, schema paths).
pub struct Checked {
    pub fields: Map<String, Json>,
}

pub fn submittable<'a>(config: &'a vitrine_generator::config::Config, name: &str) -> Option<&'a Collection> {
    config.collection(name).filter(|c| c.submit.is_some())
}

fn fe(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), pos: Default::default(), message: message.into() }
}

/// Whether an entry `slug` exists in collection `target` (file or bundle).
pub fn entry_exists(config: &vitrine_generator::config::Config, target: &str, slug: &str) -> bool {
    let Some(c) = config.collection(target) else { return false };
    if !schema::is_slug(slug) {
        return false;
    }
    let dir = config.content_dir().join(&c.dir);
    dir.join(format!("{slug}.md")).is_file() || dir.join(slug).join("index.md").is_file()
}

/// Existing entries of a collection as (slug, title), for reference menus.
pub fn list_entries(config: &vitrine_generator::config::Config, target: &str) -> Vec<(String, String)> {
    let Some(c) = config.collection(target) else { return Vec::new() };
    let dir = config.content_dir().join(&c.dir);
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        let (slug, file) = if p.is_dir() {
            (name.clone(), p.join("index.md"))
        } else if let Some(stem) = name.strip_suffix(".md") {
            (stem.to_string(), p.clone())
        } else {
            continue;
        };
        if slug.starts_with('_') || slug.starts_with('.') || !schema::is_slug(&slug) {
            continue;
        }
        if let Some(title) = read_title(&file) {
            out.push((slug, title));
        }
    }
    out.sort_by_key(|a| a.1.to_lowercase());
    out
}

fn read_title(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let fm = text.strip_prefix("---")?;
    for line in fm.lines().take(200) {
        if line.trim() == "---" {
            break;
        }
        if let Some(v) = line.strip_prefix("title:") {
            let v = v.trim();
            if v.starts_with('"') {
                return serde_json::from_str::<String>(v).ok();
            }
            return Some(v.trim_matches('\'').to_string());
        }
    }
    None
}

/// Validates a draft against the collection's schema and the daemon's own rules.
pub fn check_draft(
    config: &vitrine_generator::config::Config,
    collection: &Collection,
    draft: &Draft,
    check_submitter: bool,
) -> Result<Checked, Vec<FieldError>> {
    let (fields, schema_errors) =
        collection.schema.validate_node(&vitrine_generator::node::Node::from_json(&draft.fields), &[]);
    let mut errors = {
        {
            let mut errs = schema_errors;
            for f in &collection.schema.fields {
                match (&f.kind, fields.get(&f.name)) {
                    (Kind::Markdown, Some(Json::String(s))) => {
                        for p in crate::markdown::check_untrusted(s, config) {
                            errs.push(fe(&f.name, p));
                        }
                    }
                    (Kind::Reference { collection: target }, Some(Json::String(slug)))
                        if !entry_exists(config, target, slug) => {
                            errs.push(fe(&f.name, format!("aucune entrée « {slug} » n'existe dans {target}")));
                        }
                    _ => {}
                }
            }
            collect_markup(&collection.schema.fields, &fields, "", &mut errs);
            label_rule(&collection.schema, &fields, &mut errs);
            if errs.is_empty() {
                return finish(config, collection, draft, check_submitter, fields);
            }
            errs
        }
    };
    for e in &mut errors {
        if e.field.ends_with(".src") {
            e.message = "choisissez un fichier image (JPEG, PNG, GIF ou WebP)".into();
        }
    }
    errors.extend(check_extras(draft, check_submitter, config));
    Err(errors)
}

/// Label requests: a label is given to a project, except the "eTwinning School"
/// label, given to a school. Applies to any schema with a `kind` choice, a
/// `project` reference and a `school` text (the example site's `labels`).
fn label_rule(schema: &Schema, fields: &Map<String, Json>, errs: &mut Vec<FieldError>) {
    let (Some(_), Some(project), Some(_)) = (schema.field("kind"), schema.field("project"), schema.field("school")) else {
        return;
    };
    if !matches!(project.kind, Kind::Reference { .. }) {
        return;
    }
    let Some(kind) = fields.get("kind").and_then(Json::as_str) else { return };
    let school_label = kind.to_lowercase().contains("école") || kind.to_lowercase().contains("ecole");
    if school_label {
        if !fields.contains_key("school") && !errs.iter().any(|e| e.field == "school") {
            errs.push(fe("school", "indiquez l'établissement pour le label École eTwinning"));
        }
    } else if !fields.contains_key("project") && !errs.iter().any(|e| e.field == "project") {
        errs.push(fe("project", "choisissez le projet pour lequel le label est demandé"));
    }
}

/// Whether a plain-text value contains something that looks like an HTML tag.
pub fn has_markup(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?')))
}

/// Plain-text fields never need tags: refuse them so that nothing looking like
/// markup is stored (templates escape text anyway; this is the second wall).
fn collect_markup(fields: &[vitrine_generator::schema::Field], values: &Map<String, Json>, prefix: &str, errs: &mut Vec<FieldError>) {
    for f in fields {
        let Some(v) = values.get(&f.name) else { continue };
        let path = if prefix.is_empty() { f.name.clone() } else { format!("{prefix}.{}", f.name) };
        check_markup_value(&f.kind, v, &path, errs);
    }
}

fn check_markup_value(kind: &Kind, v: &Json, path: &str, errs: &mut Vec<FieldError>) {
    match (kind, v) {
        (Kind::Markdown, _) => {}
        (Kind::Object { fields }, Json::Object(m)) => collect_markup(fields, m, path, errs),
        (Kind::List { item }, Json::Array(a)) => {
            for (i, x) in a.iter().enumerate() {
                check_markup_value(&item.kind, x, &format!("{path}[{i}]"), errs);
            }
        }
        (Kind::Image, Json::Object(m)) => {
            if let Some(Json::String(alt)) = m.get("alt")
                && has_markup(alt) {
                    errs.push(fe(&format!("{path}.alt"), "les balises HTML (<…>) ne sont pas acceptées"));
                }
        }
        (_, Json::String(s)) if has_markup(s) => errs.push(fe(path, "les balises HTML (<…>) ne sont pas acceptées")),
        _ => {}
    }
}

fn finish(config: &vitrine_generator::config::Config, collection: &Collection, draft: &Draft, check_submitter: bool, fields: Map<String, Json>) -> Result<Checked, Vec<FieldError>> {
    let extra = check_extras(draft, check_submitter, config);
    if !extra.is_empty() {
        return Err(extra);
    }
    let file_errors = file_check(config, collection, draft, &fields);
    if file_errors.is_empty() { Ok(Checked { fields }) } else { Err(file_errors) }
}

/// The entry written as publishing would write it, read back by the build's own
/// reader: whatever it refuses is refused now, on the field of the line it names.
fn file_check(config: &vitrine_generator::config::Config, collection: &Collection, draft: &Draft, fields: &Map<String, Json>) -> Vec<FieldError> {
    let payload = json!({ "fields": fields, "body": draft.body });
    let text = crate::publish::render_entry(collection, &payload, "2000-01-01");
    let rel = format!("{}/verification/index.md", collection.dir);
    let lines: Vec<&str> = text.lines().collect();
    let body_from = lines.iter().skip(1).position(|l| *l == "---").map_or(usize::MAX, |i| i + 2);
    vitrine_generator::model::check_entry(config, &rel, &text)
        .into_iter()
        .map(|d| {
            let line = d.pos.line as usize;
            let field = if !d.field.is_empty() {
                d.field.clone()
            } else if line > body_from {
                "vt_body".to_string()
            } else {
                lines.get(line.saturating_sub(1)).and_then(|l| l.split_once(':')).map(|(k, _)| k.to_string()).unwrap_or_else(|| "vt_body".into())
            };
            fe(&field, d.message)
        })
        .collect()
}

fn check_extras(draft: &Draft, check_submitter: bool, config: &vitrine_generator::config::Config) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if draft.body.chars().count() > 20_000 {
        errors.push(fe("vt_body", "texte trop long (20 000 caractères au plus)"));
    }
    for p in crate::markdown::check_untrusted(&draft.body, config) {
        errors.push(fe("vt_body", p));
    }
    if check_submitter {
        let name = draft.name.trim();
        if name.is_empty() {
            errors.push(fe("vt_name", "indiquez votre nom"));
        } else if name.chars().count() > 200 || name.chars().any(char::is_control) || has_markup(name) {
            errors.push(fe("vt_name", "nom trop long ou invalide"));
        }
        if draft.email.trim().is_empty() {
            errors.push(fe("vt_email", "indiquez votre adresse électronique"));
        } else if !schema::is_email(draft.email.trim()) {
            errors.push(fe("vt_email", format!("adresse électronique invalide « {} »", draft.email.trim())));
        }
    }
    errors
}

/// Human label of a field path, for error summaries.
pub fn label_for(schema: &Schema, path: &str) -> String {
    match path {
        "vt_name" => return "Votre nom".into(),
        "vt_email" => return "Votre adresse électronique".into(),
        "vt_body" => return "Texte".into(),
        _ => {}
    }
    let head = path.split(['.', '[']).next().unwrap_or(path);
    let base = schema.field(head).map(|f| f.label.clone()).unwrap_or_else(|| head.to_string());
    if head.len() < path.len() { format!("{base} ({})", &path[head.len()..].trim_start_matches('.')) } else { base }
}

pub fn error_summary(schema: &Schema, errors: &[FieldError]) -> Vec<Json> {
    errors
        .iter()
        .map(|e| {
            let target = e.field.strip_suffix(".src").unwrap_or(&e.field);
            json!({ "id": forms::control_id(target), "label": label_for(schema, &e.field), "message": e.message })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Public form

fn form_options(config: &vitrine_generator::config::Config, collection: &Collection, extra_rows: usize) -> FormOptions {
    let mut opts = FormOptions { blank_rows: 3 + extra_rows, ..FormOptions::default() };
    for f in &collection.schema.fields {
        if let Kind::Reference { collection: target } = &f.kind {
            opts.references.insert(target.clone(), list_entries(config, target));
        }
    }
    opts
}

struct FormView<'a> {
    values: Json,
    errors: Vec<FieldError>,
    notice: Option<&'a str>,
    extra_rows: usize,
}

/// Puts a hidden token input right after the `<form …>` tag that posts to the collection.
fn inject_token(html: &str, collection: &str, token: &str) -> Option<String> {
    let action = format!("/submit/{collection}\"");
    let form_at = html.find(&action).and_then(|i| html[..i].rfind("<form"))?;
    let end = html[form_at..].find('>').map(|j| form_at + j + 1)?;
    Some(format!("{}<input type=\"hidden\" name=\"vt_token\" value=\"{token}\">{}", &html[..end], &html[end..]))
}

fn replace_region(html: &str, start: &str, end: &str, with: &str) -> Option<String> {
    let a = html.find(start)?;
    let b = html[a..].find(end).map(|j| a + j + end.len())?;
    Some(format!("{}{with}{}", &html[..a], &html[b..]))
}

/// The theme's own form page (built by the generator into `public/`), shown
/// again with the teacher's values, the errors next to the fields, an error
/// summary and a fresh token. `None` when the page is not built (then the
/// daemon's own template is used).
fn themed_form(state: &AppState, collection: &Collection, view: &FormView<'_>, opts: &FormOptions, token: &str) -> Option<String> {
    let url = vitrine_generator::render::form_url(collection);
    let file = state.site_dir.join("public").join(url.trim_matches('/')).join("index.html");
    let html = std::fs::read_to_string(file).ok()?;
    let fields = forms::render_form_fields_with(&collection.schema, &view.values, &view.errors, opts);
    let submitter = forms::render_submitter_fields(&view.values, &view.errors);
    let html = replace_region(&html, forms::FIELDS_START, forms::FIELDS_END, &fields)?;
    let html = replace_region(&html, forms::SUBMITTER_START, forms::SUBMITTER_END, &submitter)?;
    let mut html = inject_token(&html, &collection.name, token)?;
    let mut before = String::new();
    if let Some(n) = view.notice {
        before.push_str(&format!("<div class=\"callout callout--info\" role=\"status\"><p>{}</p></div>", forms::esc(n)));
    }
    if !view.errors.is_empty() {
        let n = view.errors.len();
        before.push_str(&format!(
            "<div class=\"error-summary callout\" role=\"alert\" tabindex=\"-1\" id=\"erreurs\"><h2 class=\"error-summary__title\">Le formulaire contient {n} erreur{}</h2><ul>",
            if n > 1 { "s" } else { "" }
        ));
        for e in error_summary(&collection.schema, &view.errors) {
            before.push_str(&format!(
                "<li><a href=\"#{}\">{} : {}</a></li>",
                forms::esc(e["id"].as_str().unwrap_or("")),
                forms::esc(e["label"].as_str().unwrap_or("")),
                forms::esc(e["message"].as_str().unwrap_or(""))
            ));
        }
        before.push_str("</ul></div>");
    }
    if !before.is_empty() {
        let action = format!("/submit/{}\"", collection.name);
        let form_at = html.find(&action).and_then(|i| html[..i].rfind("<form"))?;
        html.insert_str(form_at, &before);
    }
    Some(html)
}

fn render_form(state: &AppState, collection: &Collection, view: FormView<'_>) -> Result<String, AppError> {
    let config = state.config();
    let submit = collection.submit.as_ref().ok_or(AppError::NotFound)?;
    let now = jiff::Timestamp::now().as_second();
    let opts = form_options(&config, collection, view.extra_rows);
    let token = security::issue_form_token(&state.secret, &collection.name, now);
    if let Some(html) = themed_form(state, collection, &view, &opts, &token) {
        return Ok(html);
    }
    let mut ctx = tera::Context::new();
    ctx.insert("page_title", &submit.title);
    ctx.insert("intro", &submit.intro);
    ctx.insert("action", &format!("/submit/{}", collection.name));
    ctx.insert("token", &token);
    ctx.insert("fields_html", &forms::render_form_fields_with(&collection.schema, &view.values, &view.errors, &opts));
    ctx.insert("submitter_html", &forms::render_submitter_fields(&view.values, &view.errors));
    ctx.insert("errors", &error_summary(&collection.schema, &view.errors));
    ctx.insert("notice", &view.notice);
    render(state, "form.html", ctx)
}

async fn form_page(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Result<Html<String>, AppError> {
    let config = state.config();
    let collection = submittable(&config, &name).ok_or(AppError::NotFound)?;
    let view = FormView { values: json!({}), errors: Vec::new(), notice: None, extra_rows: 0 };
    Ok(Html(render_form(&state, collection, view)?))
}

/// The site's own form page (`/proposer/<path>/`, written by the generator with
/// the theme's templates) served with a fresh signed token injected, so that
/// the first submission from the themed page passes the token check.
async fn static_form_page(State(state): State<AppState>, UrlPath(path): UrlPath<String>) -> Result<Response, AppError> {
    let config = state.config();
    let url = format!("/proposer/{path}/");
    let collection = config
        .collections
        .iter()
        .find(|c| c.submit.is_some() && vitrine_generator::render::form_url(c) == url)
        .ok_or(AppError::NotFound)?;
    let file = state.site_dir.join("public").join("proposer").join(&path).join("index.html");
    let Ok(html) = tokio::fs::read_to_string(&file).await else {
        return Ok(Redirect::to(&format!("/submit/{}", collection.name)).into_response());
    };
    let token = security::issue_form_token(&state.secret, &collection.name, jiff::Timestamp::now().as_second());
    let Some(page) = inject_token(&html, &collection.name, &token) else {
        return Ok(Redirect::to(&format!("/submit/{}", collection.name)).into_response());
    };
    // The pages' policy comes from `security_headers`, like every page of the site.
    Ok(Html(page).into_response())
}

const RESERVED: &[&str] = &["vt_token", "vt_name", "vt_email", "vt_body", "vt_fax", "vt_more"];

fn take<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Reads a submission form (new or revised): the schema's fields as values, the
/// text, the submitter's name and e-mail. A field the schema does not know is refused.
/// Public for fuzzing (`fuzz/fuzz_targets/form.rs`).
#[doc(hidden)]
pub fn draft_from_form(collection: &Collection, pairs: &[(String, String)]) -> Result<Draft, AppError> {
    let schema_pairs: Vec<(String, String)> = pairs.iter().filter(|(n, _)| !RESERVED.contains(&n.as_str())).cloned().collect();
    let (fields, unknown) = forms::form_to_json(&collection.schema, &schema_pairs);
    if let Some(u) = unknown.first() {
        return Err(AppError::BadRequest(format!("champ inconnu « {} » dans le formulaire", u.chars().take(80).collect::<String>())));
    }
    Ok(Draft {
        fields,
        body: take(pairs, "vt_body").unwrap_or("").replace("\r\n", "\n"),
        name: take(pairs, "vt_name").unwrap_or("").to_string(),
        email: take(pairs, "vt_email").unwrap_or("").to_string(),
    })
}

/// `fields` plus the text, name and e-mail under their form names: what a form
/// shown again displays.
fn form_values(fields: &Json, body: &str, name: &str, email: &str) -> Json {
    let mut shown = fields.clone();
    if let Some(obj) = shown.as_object_mut() {
        obj.insert("vt_name".into(), Json::String(name.to_string()));
        obj.insert("vt_email".into(), Json::String(email.to_string()));
        obj.insert("vt_body".into(), Json::String(body.to_string()));
    }
    shown
}

/// Which picture field an upload name designates: `cover` or `gallery[2]`.
fn image_target(collection: &Collection, name: &str) -> Option<(String, Option<usize>)> {
    for (field, is_list) in crate::publish::image_fields(collection) {
        if !is_list && name == field {
            return Some((field, None));
        }
        if is_list
            && let Some(idx) = name.strip_prefix(&format!("{field}[")).and_then(|r| r.strip_suffix(']'))
                && let Ok(i) = idx.parse::<usize>()
                    && i < 100 {
                        return Some((field, Some(i)));
                    }
    }
    None
}

async fn submit_form(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UrlPath(name): UrlPath<String>,
    req: Request,
) -> Result<Response, AppError> {
    let config = state.config();
    let collection = submittable(&config, &name).ok_or(AppError::NotFound)?.clone();
    if !state.limiter.check(ip) {
        return Err(AppError::TooManyRequests);
    }
    let (pairs, uploads) = read_form(&state, req).await?;
    if take(&pairs, "vt_fax").is_some_and(|v| !v.is_empty()) {
        return Err(AppError::BadRequest("formulaire refusé".into()));
    }
    let Draft { fields, body, name: sub_name, email: sub_email } = draft_from_form(&collection, &pairs)?;
    let mut values = form_values(&fields, &body, &sub_name, &sub_email);
    let redisplay = |values: Json, errors: Vec<FieldError>, notice: Option<&str>, status: StatusCode, extra: usize| {
        let view = FormView { values, errors, notice, extra_rows: extra };
        render_form(&state, &collection, view).map(|html| AppError::Page(status, html))
    };
    // "Add a row" button: show the form again with more empty rows, nothing stored.
    if take(&pairs, "vt_more").is_some() {
        return Err(redisplay(values, Vec::new(), None, StatusCode::OK, 2)?);
    }
    let now = jiff::Timestamp::now().as_second();
    let nonce = match security::check_form_token(
        &state.secret,
        &collection.name,
        take(&pairs, "vt_token"),
        now,
        state.settings.min_fill_secs,
        state.settings.form_token_max_age,
    ) {
        Ok(n) => n,
        Err(p) => {
            let notice = match p {
                TokenProblem::TooFast => "Le formulaire a été envoyé trop vite. Vérifiez-le puis envoyez-le à nouveau.",
                TokenProblem::Expired => "Ce formulaire a expiré. Vos réponses sont conservées : vérifiez-les puis envoyez à nouveau.",
                TokenProblem::Missing | TokenProblem::Invalid => {
                    "Le formulaire n'a pas pu être vérifié. Vos réponses sont conservées : vérifiez-les puis envoyez à nouveau."
                }
            };
            let status = if p == TokenProblem::TooFast { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNPROCESSABLE_ENTITY };
            return Err(redisplay(values, Vec::new(), Some(notice), status, 0)?);
        }
    };
    // Pictures: sniff, check, re-encode; errors are field errors.
    let mut errors: Vec<FieldError> = Vec::new();
    let mut images = Vec::new();
    let mut list_images: std::collections::BTreeMap<String, Vec<(usize, Json)>> = Default::default();
    for up in uploads {
        let Some((field, idx)) = image_target(&collection, &up.name) else {
            return Err(AppError::BadRequest(format!(
                "fichier envoyé dans un champ inconnu « {} »",
                up.name.chars().take(80).collect::<String>()
            )));
        };
        let limits = state.settings.image_limits.clone();
        let bytes = up.bytes;
        let cleaned = tokio::task::spawn_blocking(move || clean_image(&bytes, &limits))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        match cleaned {
            Ok(img) => {
                let path = match idx {
                    Some(i) => format!("{field}[{i}]"),
                    None => field.clone(),
                };
                let file = crate::publish::image_file_name(&path, img.ext);
                match idx {
                    None => {
                        let alt = values.get(&field).and_then(|v| v.get("alt")).cloned().unwrap_or(Json::Null);
                        let mut m = Map::new();
                        m.insert("src".into(), Json::String(file));
                        if !alt.is_null() {
                            m.insert("alt".into(), alt);
                        }
                        values[&field] = Json::Object(m);
                    }
                    Some(i) => {
                        let alt = take(&pairs, &format!("{field}[{i}].alt")).unwrap_or("").to_string();
                        let mut m = Map::new();
                        m.insert("src".into(), Json::String(file));
                        if !alt.trim().is_empty() {
                            m.insert("alt".into(), Json::String(alt));
                        }
                        list_images.entry(field.clone()).or_default().push((i, Json::Object(m)));
                    }
                }
                images.push((path, 0usize, img));
            }
            Err(e) => errors.push(fe(&up.name, e.to_string())),
        }
    }
    for (field, mut rows) in list_images {
        rows.sort_by_key(|r| r.0);
        values[&field] = Json::Array(rows.into_iter().map(|r| r.1).collect());
    }
    let mut fields_only = values.clone();
    if let Some(o) = fields_only.as_object_mut() {
        o.remove("vt_name");
        o.remove("vt_email");
        o.remove("vt_body");
    }
    let draft = Draft { fields: fields_only, body: body.clone(), name: sub_name.clone(), email: sub_email.clone() };
    let checked = match check_draft(&config, &collection, &draft, true) {
        Ok(c) if errors.is_empty() => c,
        Ok(_) => {
            let notice = "Les images doivent être sélectionnées à nouveau.";
            return Err(redisplay(values, errors, Some(notice), StatusCode::UNPROCESSABLE_ENTITY, 0)?);
        }
        Err(mut e) => {
            errors.append(&mut e);
            let notice = if images.is_empty() { None } else { Some("Les images jointes doivent être sélectionnées à nouveau.") };
            return Err(redisplay(values, errors, notice, StatusCode::UNPROCESSABLE_ENTITY, 0)?);
        }
    };
    let receipt = store(&state, &collection, checked, draft, Some(format!("form:{nonce}")), images).await?;
    Ok(Redirect::to(&format!("/suivi/{}?nouveau=1", receipt.status_token)).into_response())
}

async fn store(
    state: &AppState,
    collection: &Collection,
    checked: Checked,
    draft: Draft,
    idempotency_key: Option<String>,
    images: Vec<(String, usize, crate::images::CleanImage)>,
) -> Result<queue::Receipt, AppError> {
    let title = checked.fields.get("title").cloned().unwrap_or(Json::Null);
    let payload = json!({ "title": title, "fields": checked.fields, "body": draft.body.trim() });
    let new = NewSubmission {
        collection: collection.name.clone(),
        payload,
        submitter_name: draft.name.trim().to_string(),
        submitter_email: draft.email.trim().to_string(),
        idempotency_key,
        images,
    };
    let receipt = state.db.write(move |c| queue::insert(c, new)).await?;
    if !receipt.replayed {
        notify_new(state, collection, &receipt, title.as_str().unwrap_or(""));
    }
    Ok(receipt)
}

fn notify_new(state: &AppState, collection: &Collection, receipt: &queue::Receipt, title: &str) {
    let mail = crate::outbox::Mail {
        to: state.settings.moderators_mail.clone(),
        subject: format!("Nouvelle proposition {} : {}", receipt.reference, title.chars().take(80).collect::<String>()),
        body: format!(
            "Une nouvelle proposition ({}) attend votre relecture.\n\nRéférence : {}\nTitre : {}\n\n{}/moderation/item/{}\n",
            collection.title, receipt.reference, title, state.settings.public_url, receipt.id
        ),
    };
    send_mail(state, mail);
}

/// Writes a notification to the outbox and, when SMTP is configured, delivers
/// it, all in the background (never delays the answer). A failed delivery
/// leaves the file in the outbox and wakes the outbox retry
/// ([`crate::server::retry_outbox_in_background`]), which sends it again later.
pub fn send_mail(state: &AppState, mail: crate::outbox::Mail) {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let dir = &state.outbox_dir;
        let path = match crate::outbox::write(dir, &state.settings.mail_from, &mail) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("courriel non écrit dans {} : {e}", dir.display());
                return;
            }
        };
        if let Some(m) = &state.mailer
            && let Err(e) = m.deliver_file(&path)
        {
            tracing::warn!("courriel gardé dans la boîte d'envoi (nouvel essai plus tard) : {e}");
            state.delivery_failed();
        }
    });
}

// ---------------------------------------------------------------------------
// JSON API

fn api_errors(errors: &[FieldError]) -> ApiError {
    ApiError(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({
            "error": "la soumission contient des erreurs",
            "errors": errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect::<Vec<_>>(),
        }),
    )
}

async fn api_submit(State(state): State<AppState>, ClientIp(ip): ClientIp, req: Request) -> Result<Response, ApiError> {
    if !state.limiter.check(ip) {
        return Err(AppError::TooManyRequests.into());
    }
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if !ct.starts_with("application/json") {
        return Err(AppError::UnsupportedMedia(ct).into());
    }
    let key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v.to_str().map_err(|_| AppError::BadRequest("Idempotency-Key illisible".into()))?;
            if k.len() < 8 || k.len() > 100 || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(AppError::BadRequest("Idempotency-Key : 8 à 100 caractères parmi A-Z a-z 0-9 - _".into()).into());
            }
            Some(format!("api:{k}"))
        }
    };
    let bytes = axum::body::to_bytes(req.into_body(), state.settings.max_json_bytes)
        .await
        .map_err(|_| AppError::TooLarge)?;
    let v: Json = serde_json::from_slice(&bytes)
        .map_err(|e| AppError::BadRequest(format!("JSON invalide (ligne {}, colonne {}) : {e}", e.line(), e.column())))?;
    let Json::Object(obj) = v else {
        return Err(AppError::BadRequest("un objet JSON est attendu".into()).into());
    };
    let mut errors = Vec::new();
    for k in obj.keys() {
        if !["collection", "submitter", "fields", "body"].contains(&k.as_str()) {
            errors.push(fe(k, "champ inconnu (champs permis : collection, submitter, fields, body)"));
        }
    }
    let config = state.config();
    let cname = obj.get("collection").and_then(Json::as_str).unwrap_or("");
    let Some(collection) = submittable(&config, cname) else {
        let names: Vec<&str> = config.collections.iter().filter(|c| c.submit.is_some()).map(|c| c.name.as_str()).collect();
        errors.push(fe("collection", format!("collection inconnue « {cname} » (possibles : {})", names.join(", "))));
        return Err(api_errors(&errors));
    };
    let submitter = obj.get("submitter").cloned().unwrap_or(Json::Null);
    if let Some(o) = submitter.as_object() {
        for k in o.keys().filter(|k| *k != "name" && *k != "email") {
            errors.push(fe(&format!("submitter.{k}"), "champ inconnu (name, email)"));
        }
    } else {
        errors.push(fe("submitter", "objet {name, email} attendu"));
    }
    let body = match obj.get("body") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.replace("\r\n", "\n"),
        Some(_) => {
            errors.push(fe("body", "texte attendu"));
            String::new()
        }
    };
    let fields = obj.get("fields").cloned().unwrap_or(json!({}));
    for (f, _) in crate::publish::image_fields(collection) {
        if fields.get(&f).is_some() {
            errors.push(fe(&format!("fields.{f}"), "les images ne peuvent être envoyées que par le formulaire"));
        }
    }
    let draft = Draft {
        fields,
        body,
        name: submitter.get("name").and_then(Json::as_str).unwrap_or("").to_string(),
        email: submitter.get("email").and_then(Json::as_str).unwrap_or("").to_string(),
    };
    let checked = match check_draft(&config, collection, &draft, true) {
        Ok(c) if errors.is_empty() => c,
        Ok(_) => return Err(api_errors(&errors)),
        Err(e) => {
            errors.extend(e.into_iter().map(|mut e| {
                e.field = match e.field.as_str() {
                    "vt_name" => "submitter.name".into(),
                    "vt_email" => "submitter.email".into(),
                    "vt_body" => "body".into(),
                    other => format!("fields.{other}"),
                };
                e
            }));
            return Err(api_errors(&errors));
        }
    };
    let receipt = store(&state, collection, checked, draft, key, Vec::new()).await.map_err(ApiError::from)?;
    let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
    let url = format!("/suivi/{}", receipt.status_token);
    Ok((
        status,
        [(header::LOCATION, url.clone())],
        axum::Json(json!({
            "reference": receipt.reference,
            "status": "pending",
            "status_url": url,
            "replayed": receipt.replayed,
        })),
    )
        .into_response())
}

// ---------------------------------------------------------------------------
// Status page

pub fn collection_title(config: &vitrine_generator::config::Config, name: &str) -> String {
    config.collection(name).map(|c| c.title.clone()).unwrap_or_else(|| name.to_string())
}

pub fn human_date(ts: &str) -> String {
    ts.get(..10)
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        .map(|d| d.strftime("%d/%m/%Y").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// Collection name whose entries are label requests (they have a due date).
pub fn is_label_collection(name: &str) -> bool {
    name == "labels"
}

/// Body of a response, for tests and tools.
pub async fn body_string(body: Body) -> String {
    let b = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    String::from_utf8_lossy(&b).into_owned()
}

#[allow(dead_code)]
fn _assert_send(h: HeaderMap) -> HeaderMap {
    h
}
