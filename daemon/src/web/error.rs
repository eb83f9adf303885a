//! Errors of the HTTP side: [`AppError`], the one error every handler
//! returns, shown as a page in the site's layout with the right status (or as
//! JSON on the API, [`ApiError`]); library errors convert into it with `From`,
//! keeping their source for the log. Also the error-page middleware and the
//! fallback 404.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value as Json, json};
use vitrine_generator::forms::{self};

use crate::db::DbError;
use crate::state::AppState;
use super::*;

/// Every handler error. Client mistakes are 4xx with a French explanation.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such page, submission, picture or collection open to submissions (404).
    #[error("page introuvable")]
    NotFound,
    /// The request cannot be read: malformed form, JSON or multipart, unknown
    /// field, too many fields or pictures, bad header (400, with the reason).
    #[error("{0}")]
    BadRequest(String),
    /// The body is over the size limit for its kind (413).
    #[error("envoi trop volumineux")]
    TooLarge,
    /// The client's IP used up its allowance on a public POST route (429).
    #[error("trop de requêtes : réessayez dans une minute")]
    TooManyRequests,
    /// A moderation request other than GET or HEAD came without a valid
    /// session (401; the form is not replayed after login).
    #[error("connexion requise")]
    Unauthorized,
    /// A page of the moderation reached without a session: 303 to the login
    /// page, which comes back to this (checked, same-site) path afterwards.
    #[error("connexion requise")]
    LoginRequired(String),
    /// The CSRF token is missing or wrong, or the page is for admins only
    /// (403, with the reason).
    #[error("{0}")]
    Forbidden(String),
    /// The action does not fit the current state (submission already decided,
    /// idempotency key reused for other content, removing one's own account,
    /// a failed COMMIT…): 409, with the reason.
    #[error("{0}")]
    Conflict(String),
    /// The body's `Content-Type` (carried, or `aucun`) is not one the route
    /// accepts (415).
    #[error("type de contenu non accepté : {0}")]
    UnsupportedMedia(String),
    /// A failure of the daemon itself; its source is logged, never shown.
    #[error("erreur interne : {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A fully rendered response (form shown again with its errors, etc.).
    #[error("réponse")]
    Page(StatusCode, String),
}

impl From<crate::workflow::WorkflowError> for AppError {
    fn from(e: crate::workflow::WorkflowError) -> Self {
        match e {
            crate::workflow::WorkflowError::Db(db) => db.into(),
            crate::workflow::WorkflowError::NotFound => AppError::NotFound,
            other => AppError::Internal(Box::new(other)),
        }
    }
}

impl From<tera::Error> for AppError {
    fn from(e: tera::Error) -> Self {
        AppError::Internal(Box::new(e))
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::Internal(Box::new(e))
    }
}

impl From<crate::submission::SubmissionError> for AppError {
    fn from(e: crate::submission::SubmissionError) -> Self {
        match e {
            crate::submission::SubmissionError::Task(t) => AppError::Internal(Box::new(t)),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(m) => AppError::Conflict(m),
            other => AppError::Internal(Box::new(other)),
        }
    }
}

impl AppError {
    /// The HTTP status the error is answered with.
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
pub(crate) fn title_for(status: StatusCode) -> &'static str {
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
pub(crate) fn explanation_for(status: StatusCode) -> &'static str {
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
pub(crate) fn advice_for(status: StatusCode, moderation: bool) -> &'static str {
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
pub(crate) fn sentence(m: &str) -> String {
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
pub(crate) fn error_context(status: StatusCode, message: Option<&str>, path: &str, session: Option<&crate::auth::Session>) -> tera::Context {
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

pub(crate) fn error_response(status: StatusCode, message: Option<&str>) -> Response {
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

pub(crate) async fn session_of(state: &AppState, headers: &HeaderMap) -> Option<crate::auth::Session> {
    let token = moderation::session_token(headers)?;
    state.db.read(move |c| crate::auth::find_session(c, &token)).await.ok().flatten()
}

/// Renders every marked error response (and axum's plain-text ones) with the
/// daemon's layout: site header, the moderator's navigation when logged in,
/// skip link, a clear title, a sentence and a link back.
pub(crate) async fn error_layout(State(state): State<AppState>, req: Request, next: axum::middleware::Next) -> Response {
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
pub(crate) async fn not_found(State(state): State<AppState>, req: Request) -> Response {
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
            AppError::Internal(source) => {
                tracing::error!("erreur interne : {}", chain(source.as_ref()));
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
            AppError::Internal(source) => {
                tracing::error!("erreur interne : {}", chain(source.as_ref()));
                "erreur interne".to_string()
            }
            other => other.to_string(),
        };
        ApiError(s, json!({ "error": msg }))
    }
}

/// An error page for handlers that answer with [`AppError::Page`] (public side: link back home).
pub(crate) fn error_html(state: &AppState, status: StatusCode, message: &str) -> String {
    error_page_html(state, status, Some(message), "/", None)
}

/// An error and its sources, for the log: `a: b: c`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}
