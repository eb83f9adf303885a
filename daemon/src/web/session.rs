//! Who is speaking to the moderation: the session cookie and its CSRF token
//! ([`Mod`], [`MaybeMod`] extractors), login (throttled, argon2 under the
//! hashing permits), logout, the one-time links (the first account's, and
//! password reset links sent by an admin), and the checked return path after
//! login. No queue or content here.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path as UrlPath, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;
use super::{AppError, ClientIp, parse_urlencoded, render, send_mail};
use crate::auth::{self, Session};
use crate::db::DbError;
use crate::security;
use crate::state::AppState;
/// Name of the session cookie (`HttpOnly`, `SameSite=Strict`).
pub const COOKIE: &str = "vt_session";

/// The session token of the request's cookie, when well formed.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for c in s.split(';') {
            if let Some(t) = c.trim().strip_prefix(&format!("{COOKIE}="))
                && t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Some(t.to_string());
                }
        }
    }
    None
}

/// Where the login may send the moderator back: only a path of the
/// moderation pages on this site (`/moderation`, `/moderation/…`,
/// `/moderation?…`), never an absolute or protocol-relative address, a
/// backslash, a dot segment or a control character (no open redirect).
pub fn safe_next(next: &str) -> Option<&str> {
    let rest = next.strip_prefix("/moderation")?;
    let ok = next.len() <= 1000
        && matches!(rest.chars().next(), None | Some('/') | Some('?'))
        && !rest.starts_with("//")
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && !next.contains("..")
        && !next.to_ascii_lowercase().contains("%2e")
        && !next.to_ascii_lowercase().contains("%5c")
        && !next.to_ascii_lowercase().contains("%2f%2f");
    ok.then_some(next)
}

/// The login page's address, with the return path when there is a safe one.
pub fn login_url(next: Option<&str>) -> String {
    match next.and_then(safe_next) {
        None => "/moderation/login".into(),
        Some(n) => {
            let mut q = String::new();
            for b in n.bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                    q.push(b as char);
                } else {
                    q.push_str(&format!("%{b:02X}"));
                }
            }
            format!("/moderation/login?next={q}")
        }
    }
}

/// A logged-in moderator (any role). Without a valid session, a GET (or
/// HEAD) is sent to the login page, which comes back here afterwards; any
/// other method is refused with 401 (a form posted without a session is not
/// replayed after login).
pub struct Mod {
    /// The session and its account, read from the database for this request.
    pub session: Session,
    /// The session's cookie token (needed to end the session at logout).
    pub token: String,
}

impl FromRequestParts<AppState> for Mod {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let refused = || {
            if parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD {
                let here = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/moderation");
                AppError::LoginRequired(safe_next(here).unwrap_or("/moderation/queue").to_string())
            } else {
                AppError::Unauthorized
            }
        };
        let Some(token) = session_token(&parts.headers) else { return Err(refused()) };
        let t = token.clone();
        let Some(session) = state.db.read(move |c| auth::find_session(c, &t)).await? else { return Err(refused()) };
        Ok(Mod { session, token })
    }
}

/// An optional session, for pages that show either the login form or a redirect.
pub struct MaybeMod(pub Option<Mod>);

impl FromRequestParts<AppState> for MaybeMod {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match Mod::from_request_parts(parts, state).await {
            Ok(m) => Ok(MaybeMod(Some(m))),
            Err(AppError::Unauthorized | AppError::LoginRequired(_)) => Ok(MaybeMod(None)),
            Err(e) => Err(e),
        }
    }
}

pub(crate) fn base_ctx(m: &Mod, title: &str) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("page_title", title);
    ctx.insert("user", &m.session.user);
    ctx.insert("csrf", &m.session.csrf);
    ctx
}

/// Parses a moderation form and checks its CSRF token (403 when missing or wrong).
pub(crate) fn checked_form(state: &AppState, m: &Mod, body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    let pairs = parse_urlencoded(body, state.settings.max_fields)?;
    let csrf = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
    if csrf.is_empty() || !security::ct_eq(csrf, &m.session.csrf) {
        return Err(AppError::Forbidden("jeton de sécurité (CSRF) absent ou invalide : rechargez la page et recommencez".into()));
    }
    Ok(pairs)
}

pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

pub(crate) fn login_token(state: &AppState) -> String {
    security::issue_form_token(&state.secret, "login", jiff::Timestamp::now().as_second())
}

pub(crate) fn check_login_token(state: &AppState, pairs: &[(String, String)]) -> Result<(), AppError> {
    let tok = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    security::check_form_token(&state.secret, "login", tok, jiff::Timestamp::now().as_second(), 0, 4 * 3600)
        .map(|_| ())
        .map_err(|_| AppError::Forbidden("jeton de sécurité (CSRF) absent ou expiré : rechargez la page de connexion".into()))
}

pub(crate) async fn login_page(state: &AppState, status: StatusCode, error: Option<&str>, username: &str, next: Option<&str>) -> Result<Response, AppError> {
    let n = state.db.read(auth::user_count).await?;
    let mut ctx = tera::Context::new();
    ctx.insert("next", &next.and_then(safe_next));
    ctx.insert("page_title", "Connexion");
    ctx.insert("error", &error);
    ctx.insert("username", username);
    ctx.insert("no_user", &(n == 0));
    ctx.insert("login_token", &login_token(state));
    Ok((status, Html(render(state, "login.html", ctx)?)).into_response())
}

/// The `next` parameter of a query string, when it is a safe return path.
pub(crate) fn next_of_query(query: Option<&str>) -> Option<String> {
    let pairs = parse_urlencoded(query.unwrap_or("").as_bytes(), 20).ok()?;
    pairs.into_iter().find(|(k, _)| k == "next").and_then(|(_, v)| safe_next(&v).map(str::to_string))
}

pub(crate) async fn home(State(state): State<AppState>, MaybeMod(m): MaybeMod, RawQuery(query): RawQuery) -> Result<Response, AppError> {
    let next = next_of_query(query.as_deref());
    if m.is_some() {
        return Ok(Redirect::to(next.as_deref().unwrap_or("/moderation/queue")).into_response());
    }
    login_page(&state, StatusCode::OK, None, "", next.as_deref()).await
}

pub(crate) fn session_cookie(state: &AppState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"))
        .expect("cookie is ASCII")
}

pub(crate) async fn start_session(state: &AppState, user_id: i64, next: Option<&str>) -> Result<Response, AppError> {
    let token = state.db.write(move |c| auth::create_session(c, user_id)).await?;
    let mut resp = Redirect::to(next.and_then(safe_next).unwrap_or("/moderation/queue")).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_cookie(state, &token, auth::SESSION_HOURS * 3600));
    Ok(resp)
}

/// The answer when no hashing permit came in time ([`crate::security::HashLimiter`]).
pub(crate) fn busy(state: &AppState, path: &str, session: Option<&Session>) -> AppError {
    let status = StatusCode::SERVICE_UNAVAILABLE;
    let message = "Le serveur vérifie beaucoup de mots de passe en ce moment : réessayez dans une minute";
    AppError::Page(status, super::error_page_html(state, status, Some(message), path, session))
}

pub(crate) fn hash_error(state: &AppState, path: &str, session: Option<&Session>, e: security::HashError) -> AppError {
    match e {
        security::HashError::Busy => busy(state, path, session),
        security::HashError::Failed(m) => AppError::Internal(m.into()),
    }
}

/// Login: the throttle reserves the attempt first (refused attempts are never
/// checked), then, under a hashing permit, the account's lookup and one argon2
/// verification, the same whether the account exists or not.
pub(crate) async fn login(State(state): State<AppState>, ClientIp(ip): ClientIp, body: Bytes) -> Result<Response, AppError> {
    let pairs = parse_urlencoded(&body, 20)?;
    check_login_token(&state, &pairs)?;
    let username = field(&pairs, "username").trim().to_string();
    let password = field(&pairs, "password").to_string();
    let next = safe_next(field(&pairs, "next")).map(str::to_string);
    let next = next.as_deref();
    let mut attempt = match state.login_throttle.begin(&username, ip) {
        Ok(a) => a,
        Err(refused) => {
            return login_page(&state, StatusCode::TOO_MANY_REQUESTS, Some(&refused.message()), &username, next).await;
        }
    };
    // The permit first: a flood of logins waits here, not as one database
    // read (a blocking thread and a connection) each.
    let permit = state.hasher.permit().await.map_err(|e| hash_error(&state, "/moderation/login", None, e))?;
    let u = username.clone();
    let (user, phc) = match state.db.read(move |c| auth::find_user(c, &u)).await? {
        Some((user, phc)) => (Some(user), Some(phc)),
        None => (None, None),
    };
    // Until here a dropped attempt gives its slot back (nothing was checked).
    attempt.checking();
    let right = permit.verify(password, phc).await.map_err(|e| hash_error(&state, "/moderation/login", None, e))?;
    match user {
        Some(user) if right => {
            attempt.succeeded();
            start_session(&state, user.id, next).await
        }
        user => {
            if let Some(alert) = attempt.failed(user.as_ref().map(|u| u.username.as_str())) {
                warn_admins(&state, alert).await;
            }
            login_page(&state, StatusCode::UNAUTHORIZED, Some("Identifiant ou mot de passe incorrect."), &username, next).await
        }
    }
}

/// An account fails from many addresses: a journal entry (written before the
/// answer), then one e-mail through the moderators' notification address
/// (accounts have no e-mail address of their own), naming the admins.
pub(crate) async fn warn_admins(state: &AppState, alert: auth::AttackAlert) {
    let minutes = state.login_throttle.limits().window.as_secs().div_ceil(60);
    let addresses: Vec<String> = alert.addresses.iter().map(ToString::to_string).collect();
    tracing::warn!(
        "connexion : le compte « {} » a échoué depuis {} adresses différentes en {} s",
        alert.username,
        addresses.len(),
        alert.within.as_secs()
    );
    let detail = json!({"username": alert.username, "addresses": addresses, "within_secs": alert.within.as_secs()});
    let admins = state
        .db
        .write(move |c| {
            crate::db::audit(c, None, "limiteur de connexions", "login_attack", &detail)?;
            auth::admin_names(c)
        })
        .await
        .unwrap_or_else(|e| {
            tracing::warn!("journal de l'alerte de connexion : {e}");
            Vec::new()
        });
    let admins = if admins.is_empty() { "aucun compte administrateur".to_string() } else { admins.join(", ") };
    let body = format!(
        "Bonjour,\n\nÀ l'attention des administrateurs ({admins}).\n\n\
         Le compte de modération « {name} » a reçu des mots de passe erronés depuis {n} adresses différentes \
         en moins de {minutes} minutes : cela ressemble à des essais de mots de passe répartis sur plusieurs machines.\n\n\
         Le compte n'est pas bloqué : chaque adresse est limitée à {per} essais par {minutes} minutes, et le titulaire \
         peut toujours se connecter depuis sa propre adresse. Si son mot de passe est faible, changez-le \
         (vitrine user passwd {name}).\n\nAdresses : {list}\n\n\
         Ce message est envoyé une fois par période de {minutes} minutes au plus pour ce compte.\n\n{url}/moderation\n",
        name = alert.username,
        n = addresses.len(),
        per = state.login_throttle.limits().per_account_address,
        list = addresses.join(", "),
        url = state.settings.public_url,
    );
    send_mail(
        state,
        crate::outbox::Mail {
            to: state.settings.moderators_mail.clone(),
            subject: format!("Alerte : tentatives de connexion sur le compte « {} »", alert.username),
            body,
        },
    );
}

pub(crate) async fn logout(State(state): State<AppState>, m: Mod, body: Bytes) -> Result<Response, AppError> {
    checked_form(&state, &m, &body)?;
    let t = m.token.clone();
    state.db.write(move |c| auth::delete_session(c, &t)).await?;
    let mut resp = Redirect::to("/moderation").into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(resp)
}

pub(crate) fn valid_setup_token(t: &str) -> bool {
    t.len() == 48 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The unused, still valid link of `token` (404 otherwise: unknown, used, expired).
async fn setup_link_of(state: &AppState, token: &str) -> Result<auth::SetupLink, AppError> {
    if !valid_setup_token(token) {
        return Err(AppError::NotFound);
    }
    let t = token.to_string();
    state.db.read(move |c| auth::setup_link(c, &t)).await?.ok_or(AppError::NotFound)
}

pub(crate) async fn setup_page(State(state): State<AppState>, UrlPath(token): UrlPath<String>) -> Result<Response, AppError> {
    let link = setup_link_of(&state, &token).await?;
    setup_render(&state, &token, &link, StatusCode::OK, None, "")
}

/// The page of a one-time link: the first admin's account (name and
/// password), or a new password for the account of a reset link.
pub(crate) fn setup_render(state: &AppState, token: &str, link: &auth::SetupLink, status: StatusCode, error: Option<&str>, username: &str) -> Result<Response, AppError> {
    let mut ctx = tera::Context::new();
    let reset_for = match link {
        auth::SetupLink::Reset(user) => Some(user.username.as_str()),
        auth::SetupLink::FirstAdmin => None,
    };
    ctx.insert("page_title", if reset_for.is_some() { "Nouveau mot de passe" } else { "Installation" });
    ctx.insert("reset_for", &reset_for);
    ctx.insert("error", &error);
    ctx.insert("username", username);
    ctx.insert("action", &format!("/moderation/setup/{token}"));
    ctx.insert("login_token", &login_token(state));
    Ok((status, Html(render(state, "setup.html", ctx)?)).into_response())
}

pub(crate) async fn setup_post(State(state): State<AppState>, UrlPath(token): UrlPath<String>, body: Bytes) -> Result<Response, AppError> {
    let link = setup_link_of(&state, &token).await?;
    let pairs = parse_urlencoded(&body, 20)?;
    check_login_token(&state, &pairs)?;
    let username = field(&pairs, "username").trim().to_string();
    let password = field(&pairs, "password").to_string();
    if password != field(&pairs, "password2") {
        return setup_render(&state, &token, &link, StatusCode::UNPROCESSABLE_ENTITY, Some("Les deux mots de passe diffèrent."), &username);
    }
    if let Err(e) = auth::check_password_strength(&password) {
        return setup_render(&state, &token, &link, StatusCode::UNPROCESSABLE_ENTITY, Some(&e.to_string()), &username);
    }
    let path = format!("/moderation/setup/{token}");
    let phc = state.hasher.hash(password).await.map_err(|e| hash_error(&state, &path, None, e))?;
    let (t, u) = (token.clone(), username.clone());
    let r = state
        .db
        .write(move |c| auth::consume_setup_token(c, &t, &u, &phc).map_err(|e| DbError::Conflict(e.to_string())))
        .await;
    match r {
        Ok(id) => start_session(&state, id, None).await,
        Err(DbError::Conflict(msg)) => {
            if msg.contains("lien d'installation") {
                Err(AppError::NotFound)
            } else {
                setup_render(&state, &token, &link, StatusCode::UNPROCESSABLE_ENTITY, Some(&msg), &username)
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Who did it, for the journal: the moderator's account name.
pub(crate) fn actor(m: &Mod) -> String {
    m.session.user.username.clone()
}
