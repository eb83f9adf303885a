//! The correspondents' pages under `/moderation`: login (argon2, throttled),
//! one-time setup link, the review queue with filters, counts and label due
//! dates, the detail page (preview, edit, approve / reject / ask for changes,
//! audit log), picture preview, and account management for admins.
//!
//! Every state change is a POST carrying the session's CSRF token; a GET never
//! changes anything (school mail scanners follow links).
//!
//! Login: [`auth::LoginThrottle`] reserves each attempt before the password is
//! checked (per account and address, and per address: failures from one
//! address never refuse the owner elsewhere); every argon2 run (login, setup,
//! new account) waits for a permit of [`security::HashLimiter`], and without
//! one in time (`Settings::hash_wait`) the answer is a 503 page. An account
//! failing from many addresses warns the admins once per window: a journal
//! entry (`login_attack`) and an e-mail to the moderators' address.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path as UrlPath, Query, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value as Json, json};
use vitrine_generator::forms;
use vitrine_generator::schema::{FieldError, Kind};

use super::{AppError, ClientIp, Draft, check_draft, collection_title, error_summary, human_date, parse_urlencoded, render, send_mail};
use crate::auth::{self, Role, Session};
use crate::db::DbError;
use crate::queue::{self, Status};
use crate::security;
use crate::state::AppState;


pub const COOKIE: &str = "vt_session";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/moderation", get(home))
        .route("/moderation/", get(home))
        .route("/moderation/login", get(home).post(login))
        .route("/moderation/logout", post(logout))
        .route("/moderation/setup/{token}", get(setup_page).post(setup_post))
        .route("/moderation/queue", get(queue_page))
        .route("/moderation/item/{id}", get(item_page))
        .route("/moderation/item/{id}/edit", post(edit))
        .route("/moderation/item/{id}/approve", post(approve))
        .route("/moderation/item/{id}/reject", post(reject))
        .route("/moderation/item/{id}/changes", post(ask_changes))
        .route("/moderation/item/{id}/retry", post(retry))
        .route("/moderation/item/{id}/image/{image}", get(image))
        .route("/moderation/item/{id}/preview", get(preview))
        .route("/moderation/users", get(users_page).post(user_add))
        .route("/moderation/users/{id}/remove", post(user_remove))
}

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
    pub session: Session,
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

fn base_ctx(m: &Mod, title: &str) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("page_title", title);
    ctx.insert("user", &m.session.user);
    ctx.insert("csrf", &m.session.csrf);
    ctx
}

/// Parses a moderation form and checks its CSRF token (403 when missing or wrong).
fn checked_form(state: &AppState, m: &Mod, body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    let pairs = parse_urlencoded(body, state.settings.max_fields)?;
    let csrf = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
    if csrf.is_empty() || !security::ct_eq(csrf, &m.session.csrf) {
        return Err(AppError::Forbidden("jeton de sécurité (CSRF) absent ou invalide : rechargez la page et recommencez".into()));
    }
    Ok(pairs)
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn login_token(state: &AppState) -> String {
    security::issue_form_token(&state.secret, "login", jiff::Timestamp::now().as_second())
}

fn check_login_token(state: &AppState, pairs: &[(String, String)]) -> Result<(), AppError> {
    let tok = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    security::check_form_token(&state.secret, "login", tok, jiff::Timestamp::now().as_second(), 0, 4 * 3600)
        .map(|_| ())
        .map_err(|_| AppError::Forbidden("jeton de sécurité (CSRF) absent ou expiré : rechargez la page de connexion".into()))
}

async fn login_page(state: &AppState, status: StatusCode, error: Option<&str>, username: &str, next: Option<&str>) -> Result<Response, AppError> {
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
fn next_of_query(query: Option<&str>) -> Option<String> {
    let pairs = parse_urlencoded(query.unwrap_or("").as_bytes(), 20).ok()?;
    pairs.into_iter().find(|(k, _)| k == "next").and_then(|(_, v)| safe_next(&v).map(str::to_string))
}

async fn home(State(state): State<AppState>, MaybeMod(m): MaybeMod, RawQuery(query): RawQuery) -> Result<Response, AppError> {
    let next = next_of_query(query.as_deref());
    if m.is_some() {
        return Ok(Redirect::to(next.as_deref().unwrap_or("/moderation/queue")).into_response());
    }
    login_page(&state, StatusCode::OK, None, "", next.as_deref()).await
}

fn session_cookie(state: &AppState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"))
        .expect("cookie is ASCII")
}

async fn start_session(state: &AppState, user_id: i64, next: Option<&str>) -> Result<Response, AppError> {
    let token = state.db.write(move |c| auth::create_session(c, user_id)).await?;
    let mut resp = Redirect::to(next.and_then(safe_next).unwrap_or("/moderation/queue")).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_cookie(state, &token, auth::SESSION_HOURS * 3600));
    Ok(resp)
}

/// The answer when no hashing permit came in time ([`crate::security::HashLimiter`]).
fn busy(state: &AppState, path: &str, session: Option<&Session>) -> AppError {
    let status = StatusCode::SERVICE_UNAVAILABLE;
    let message = "Le serveur vérifie beaucoup de mots de passe en ce moment : réessayez dans une minute";
    AppError::Page(status, super::error_page_html(state, status, Some(message), path, session))
}

fn hash_error(state: &AppState, path: &str, session: Option<&Session>, e: security::HashError) -> AppError {
    match e {
        security::HashError::Busy => busy(state, path, session),
        security::HashError::Failed(m) => AppError::Internal(m),
    }
}

/// Login: the throttle reserves the attempt first (refused attempts are never
/// checked), then, under a hashing permit, the account's lookup and one argon2
/// verification, the same whether the account exists or not.
async fn login(State(state): State<AppState>, ClientIp(ip): ClientIp, body: Bytes) -> Result<Response, AppError> {
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
async fn warn_admins(state: &AppState, alert: auth::AttackAlert) {
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
            let mut st = c.prepare("SELECT username FROM users WHERE role = 'admin' ORDER BY username")?;
            let names = st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            Ok(names)
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

async fn logout(State(state): State<AppState>, m: Mod, body: Bytes) -> Result<Response, AppError> {
    checked_form(&state, &m, &body)?;
    let t = m.token.clone();
    state.db.write(move |c| auth::delete_session(c, &t)).await?;
    let mut resp = Redirect::to("/moderation").into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(resp)
}

fn valid_setup_token(t: &str) -> bool {
    t.len() == 48 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn setup_page(State(state): State<AppState>, UrlPath(token): UrlPath<String>) -> Result<Response, AppError> {
    if !valid_setup_token(&token) {
        return Err(AppError::NotFound);
    }
    let t = token.clone();
    if !state.db.read(move |c| auth::setup_token_valid(c, &t)).await? {
        return Err(AppError::NotFound);
    }
    setup_render(&state, &token, StatusCode::OK, None, "")
}

fn setup_render(state: &AppState, token: &str, status: StatusCode, error: Option<&str>, username: &str) -> Result<Response, AppError> {
    let mut ctx = tera::Context::new();
    ctx.insert("page_title", "Installation");
    ctx.insert("error", &error);
    ctx.insert("username", username);
    ctx.insert("action", &format!("/moderation/setup/{token}"));
    ctx.insert("login_token", &login_token(state));
    Ok((status, Html(render(state, "setup.html", ctx)?)).into_response())
}

async fn setup_post(State(state): State<AppState>, UrlPath(token): UrlPath<String>, body: Bytes) -> Result<Response, AppError> {
    if !valid_setup_token(&token) {
        return Err(AppError::NotFound);
    }
    let pairs = parse_urlencoded(&body, 20)?;
    check_login_token(&state, &pairs)?;
    let username = field(&pairs, "username").trim().to_string();
    let password = field(&pairs, "password").to_string();
    if password != field(&pairs, "password2") {
        return setup_render(&state, &token, StatusCode::UNPROCESSABLE_ENTITY, Some("Les deux mots de passe diffèrent."), &username);
    }
    if let Err(e) = auth::check_password_strength(&password) {
        return setup_render(&state, &token, StatusCode::UNPROCESSABLE_ENTITY, Some(&e.to_string()), &username);
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
                setup_render(&state, &token, StatusCode::UNPROCESSABLE_ENTITY, Some(&msg), &username)
            }
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize, Default)]
struct QueueQuery {
    collection: Option<String>,
    status: Option<String>,
    order: Option<String>,
}

async fn queue_page(State(state): State<AppState>, m: Mod, Query(q): Query<QueueQuery>) -> Result<Response, AppError> {
    let config = state.config();
    let collection = q.collection.filter(|c| !c.is_empty());
    if let Some(c) = &collection
        && config.collection(c).is_none() {
            return Err(AppError::BadRequest(format!("type inconnu « {} »", c.chars().take(60).collect::<String>())));
        }
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| AppError::BadRequest("état inconnu".into()))?),
    };
    let newest = q.order.as_deref() == Some("newest");
    let filter = queue::Filter { collection: collection.clone(), status, newest_first: newest };
    let (items, counts) = state.db.read(move |c| Ok((queue::list(c, &filter, 500)?, queue::counts(c)?))).await?;
    let today = jiff::Zoned::now().date();
    let items: Vec<Json> = items
        .iter()
        .map(|s| {
            let due = (super::is_label_collection(&s.collection)).then(|| queue::label_due_date(&s.created_at)).flatten();
            let open = matches!(s.status, Status::Pending | Status::ChangesRequested);
            json!({
                "id": s.id,
                "reference": s.reference,
                "collection_title": collection_title(&config, &s.collection),
                "title": s.payload.get("title").and_then(Json::as_str).unwrap_or(""),
                "created": human_date(&s.created_at),
                "status": s.status.as_str(),
                "status_label": s.status_label,
                "due": due.filter(|_| open).map(|d| d.strftime("%d/%m/%Y").to_string()),
                "overdue": open && due.is_some_and(|d| today > d),
            })
        })
        .collect();
    let mut names: Vec<String> = config.collections.iter().filter(|c| c.submit.is_some()).map(|c| c.name.clone()).collect();
    for (c, _, _) in &counts {
        if !names.contains(c) {
            names.push(c.clone());
        }
    }
    let count_rows: Vec<Json> = names
        .iter()
        .map(|n| {
            let counts: Vec<i64> = Status::ALL
                .iter()
                .map(|st| counts.iter().filter(|(c, s, _)| c == n && s == st.as_str()).map(|x| x.2).sum())
                .collect();
            json!({"title": collection_title(&config, n), "counts": counts})
        })
        .collect();
    let mut ctx = base_ctx(&m, "File de relecture");
    ctx.insert("items", &items);
    ctx.insert("count_rows", &count_rows);
    ctx.insert(
        "collections",
        &config.collections.iter().filter(|c| c.submit.is_some()).map(|c| json!({"name": c.name, "title": c.title})).collect::<Vec<_>>(),
    );
    ctx.insert("statuses", &Status::ALL.iter().map(|s| json!({"value": s.as_str(), "label": s.label()})).collect::<Vec<_>>());
    ctx.insert("filter_collection", &collection.unwrap_or_default());
    ctx.insert("filter_status", status.map(|s| s.as_str()).unwrap_or(""));
    ctx.insert("order", if newest { "newest" } else { "oldest" });
    Ok(Html(render(&state, "queue.html", ctx)?).into_response())
}

/// A field value as moderators read it; `refs` gives the titles of the entries a
/// reference can point to (collection → [(slug, title)]).
fn value_html(kind: &Kind, v: &Json, refs: &std::collections::BTreeMap<String, Vec<(String, String)>>) -> String {
    match (kind, v) {
        (Kind::Reference { collection }, Json::String(slug)) => {
            match refs.get(collection).and_then(|l| l.iter().find(|(s, _)| s == slug)) {
                Some((_, title)) => format!("{} <small>({})</small>", forms::esc(title), forms::esc(slug)),
                None => format!("{} <small>(entrée introuvable)</small>", forms::esc(slug)),
            }
        }
        (Kind::Markdown, Json::String(s)) => crate::markdown::render_untrusted(s),
        (Kind::Url, Json::String(s)) => format!("<a href=\"{0}\" rel=\"noopener noreferrer nofollow\">{0}</a>", forms::esc(s)),
        (Kind::Image, _) => forms::esc(v.get("alt").and_then(Json::as_str).unwrap_or("")),
        (Kind::List { item }, Json::Array(a)) => {
            let parts: Vec<String> = a.iter().map(|x| value_html(&item.kind, x, refs)).collect();
            if matches!(item.kind, Kind::Object { .. }) {
                format!("<ul>{}</ul>", parts.iter().map(|p| format!("<li>{p}</li>")).collect::<String>())
            } else {
                parts.join(", ")
            }
        }
        (Kind::Object { fields }, Json::Object(o)) => fields
            .iter()
            .filter_map(|f| o.get(&f.name).map(|x| format!("{} : {}", forms::esc(&f.label), value_html(&f.kind, x, refs))))
            .collect::<Vec<_>>()
            .join(" — "),
        (_, Json::String(s)) => forms::esc(s),
        (_, Json::Bool(b)) => (if *b { "oui" } else { "non" }).into(),
        (_, other) => forms::esc(&other.to_string()),
    }
}

async fn load_item(state: &AppState, id: i64) -> Result<(queue::Submission, Vec<queue::StoredImage>, Vec<queue::AuditEntry>), AppError> {
    let r = state
        .db
        .read(move |c| {
            let Some(s) = queue::get(c, id)? else { return Ok(None) };
            Ok(Some((s, queue::images(c, id, false)?, queue::audit_entries(c, id)?)))
        })
        .await?;
    r.ok_or(AppError::NotFound)
}

async fn item_view(
    state: &AppState,
    m: &Mod,
    id: i64,
    edit: Option<(Json, String, Vec<FieldError>)>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let (sub, images, audit) = load_item(state, id).await?;
    let config = state.config();
    let collection = config.collection(&sub.collection);
    let fields = sub.payload.get("fields").cloned().unwrap_or(json!({}));
    let body = sub.payload.get("body").and_then(Json::as_str).unwrap_or("").to_string();
    let title = sub.payload.get("title").and_then(Json::as_str).unwrap_or("").to_string();
    let mut ctx = base_ctx(m, &format!("{} — {}", sub.reference, title));
    ctx.insert("title", &title);
    ctx.insert("collection_title", &collection_title(&config, &sub.collection));
    ctx.insert("created", &human_date(&sub.created_at));
    let open = matches!(sub.status, Status::Pending | Status::ChangesRequested);
    let due = super::is_label_collection(&sub.collection).then(|| queue::label_due_date(&sub.created_at)).flatten();
    ctx.insert("due", &due.filter(|_| open).map(|d| d.strftime("%d/%m/%Y").to_string()));
    ctx.insert("overdue", &(open && due.is_some_and(|d| jiff::Zoned::now().date() > d)));
    ctx.insert("open", &open);
    let mut preview = Vec::new();
    if let Some(c) = collection {
        let refs = super::form_options(&config, c, 0).references;
        for f in c.schema.fields.iter().filter(|f| f.name != "title") {
            if let Some(v) = fields.get(&f.name) {
                preview.push(json!({"label": f.label, "html": value_html(&f.kind, v, &refs)}));
            }
        }
    }
    ctx.insert("preview_fields", &preview);
    let imgs: Vec<Json> = images
        .iter()
        .map(|i| {
            let alt = fields.get(i.field.split('[').next().unwrap_or("")).and_then(|v| v.get("alt")).and_then(Json::as_str).unwrap_or("");
            json!({"id": i.id, "field": i.field, "width": i.width, "height": i.height, "alt": alt})
        })
        .collect();
    ctx.insert("images", &imgs);
    ctx.insert("body_html", &crate::markdown::render_untrusted(&body));
    let (edit_values, edit_body, errors) = edit.unwrap_or((fields.clone(), body.clone(), Vec::new()));
    // The same widgets as the teacher's form (references as a list of the
    // existing entries), with one blank row for lists.
    let fields_html = collection
        .map(|c| {
            let mut opts = super::form_options(&config, c, 0);
            opts.blank_rows = 1;
            keep_current_references(c, &edit_values, &mut opts);
            forms::render_form_fields_with(&c.schema, &edit_values, &errors, &opts)
        })
        .unwrap_or_default();
    ctx.insert("fields_html", &fields_html);
    ctx.insert("body", &edit_body);
    let body_errors: Vec<&str> = errors.iter().filter(|e| e.field == "vt_body").map(|e| e.message.as_str()).collect();
    ctx.insert("body_error", &if body_errors.is_empty() { Json::Null } else { Json::String(body_errors.join(" ; ")) });
    ctx.insert("errors", &collection.map(|c| error_summary(&c.schema, &errors)).unwrap_or_default());
    let journal = crate::journal::lines(&audit, collection.map(|c| &c.schema), &collection_title(&config, &sub.collection));
    ctx.insert("audit", &journal);
    ctx.insert("sub", &sub);
    Ok((status, Html(render(state, "item.html", ctx)?)).into_response())
}

/// A reference whose entry is not (or no longer) in the list stays
/// selectable, marked as not found, so that opening and saving the form never
/// drops it silently; validation then says what is wrong with it.
fn keep_current_references(c: &vitrine_generator::config::Collection, values: &Json, opts: &mut forms::FormOptions) {
    for f in &c.schema.fields {
        let Kind::Reference { collection: target } = &f.kind else { continue };
        let Some(cur) = values.get(&f.name).and_then(Json::as_str).filter(|s| !s.is_empty()) else { continue };
        let list = opts.references.entry(target.clone()).or_default();
        if !list.iter().any(|(slug, _)| slug == cur) {
            list.push((cur.to_string(), format!("{cur} (entrée introuvable)")));
        }
    }
}

async fn item_page(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>) -> Result<Response, AppError> {
    item_view(&state, &m, id, None, StatusCode::OK).await
}

fn actor(m: &Mod) -> String {
    m.session.user.username.clone()
}

async fn edit(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    let pairs = checked_form(&state, &m, &body)?;
    let (sub, _, _) = load_item(&state, id).await?;
    if !matches!(sub.status, Status::Pending | Status::ChangesRequested) {
        return Err(AppError::Conflict(format!("la soumission est « {} » : elle ne peut plus être modifiée", sub.status.label())));
    }
    let config = state.config();
    let collection = config.collection(&sub.collection).ok_or(AppError::NotFound)?.clone();
    let schema_pairs: Vec<(String, String)> =
        pairs.iter().filter(|(k, _)| k != "csrf" && k != "vt_body" && k != "vt_more").cloned().collect();
    let (mut values, unknown) = forms::form_to_json(&collection.schema, &schema_pairs);
    if let Some(u) = unknown.first() {
        return Err(AppError::BadRequest(format!("champ inconnu « {} »", u.chars().take(80).collect::<String>())));
    }
    // Pictures cannot be replaced here: keep the stored file, take the new text alternative.
    let old_fields = sub.payload.get("fields").cloned().unwrap_or(json!({}));
    for (f, _) in crate::publish::image_fields(&collection) {
        if let Some(old) = old_fields.get(&f) {
            let mut merged = old.clone();
            if let (Some(new_alt), Some(o)) = (values.get(&f).and_then(|v| v.get("alt")).cloned(), merged.as_object_mut()) {
                o.insert("alt".into(), new_alt);
            }
            values[&f] = merged;
        }
    }
    let body = field(&pairs, "vt_body").replace("\r\n", "\n");
    let draft = Draft { fields: values.clone(), body: body.clone(), name: String::new(), email: String::new() };
    match check_draft(&config, &collection, &draft, false) {
        Err(errors) => item_view(&state, &m, id, Some((values, body, errors)), StatusCode::UNPROCESSABLE_ENTITY).await,
        Ok(checked) => {
            let title = checked.fields.get("title").cloned().unwrap_or(Json::Null);
            let payload = json!({"title": title, "fields": checked.fields, "body": body.trim()});
            let who = actor(&m);
            state.db.write(move |c| queue::update_payload(c, id, &payload, &who)).await?;
            Ok(Redirect::to(&format!("/moderation/item/{id}")).into_response())
        }
    }
}

fn reason_of(pairs: &[(String, String)]) -> Result<String, AppError> {
    let r = field(pairs, "reason").trim().replace("\r\n", "\n");
    if r.is_empty() {
        return Err(AppError::BadRequest("indiquez un message pour l'auteur".into()));
    }
    if r.chars().count() > 4000 {
        return Err(AppError::BadRequest("message trop long (4 000 caractères au plus)".into()));
    }
    Ok(r)
}

fn notify_submitter(state: &AppState, sub: &queue::Submission, what: &str, reason: Option<&str>) {
    let title = sub.payload.get("title").and_then(Json::as_str).unwrap_or("");
    let mut body = format!(
        "Bonjour,\n\nvotre proposition « {title} » (référence {}) est maintenant : {what}.\n",
        sub.reference
    );
    if let Some(r) = reason {
        body.push_str(&format!("\nMessage du correspondant :\n{r}\n"));
    }
    if sub.status == Status::ChangesRequested {
        body.push_str("\nVous pouvez modifier votre proposition depuis la page de suivi ci-dessous ; elle retournera ensuite en relecture.\n");
    }
    body.push_str(&format!("\nSuivi : {}/suivi/{}\n", state.settings.public_url, sub.status_token));
    send_mail(
        state,
        crate::outbox::Mail { to: sub.submitter_email.clone(), subject: format!("Votre proposition {} : {what}", sub.reference), body },
    );
}

async fn decide(state: &AppState, m: &Mod, id: i64, from: &'static [Status], to: Status, reason: Option<String>) -> Result<queue::Submission, AppError> {
    let who = actor(m);
    let r = reason.clone();
    state.db.write(move |c| queue::transition(c, id, from, to, &who, r.as_deref())).await?;
    let (sub, _, _) = load_item(state, id).await?;
    Ok(sub)
}

async fn reject(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    let pairs = checked_form(&state, &m, &body)?;
    let reason = reason_of(&pairs)?;
    let sub = decide(&state, &m, id, &[Status::Pending, Status::ChangesRequested, Status::Approved], Status::Rejected, Some(reason.clone())).await?;
    notify_submitter(&state, &sub, "refusée", Some(&reason));
    Ok(Redirect::to(&format!("/moderation/item/{id}")).into_response())
}

async fn ask_changes(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    let pairs = checked_form(&state, &m, &body)?;
    let reason = reason_of(&pairs)?;
    let sub = decide(&state, &m, id, &[Status::Pending, Status::ChangesRequested], Status::ChangesRequested, Some(reason.clone())).await?;
    notify_submitter(&state, &sub, "en attente de modifications", Some(&reason));
    Ok(Redirect::to(&format!("/moderation/item/{id}")).into_response())
}

async fn approve(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    checked_form(&state, &m, &body)?;
    let outcome = crate::workflow::approve(&state, id, &actor(&m)).await?;
    after_publication(&state, id, outcome).await?;
    Ok(Redirect::to(&format!("/moderation/item/{id}")).into_response())
}

async fn retry(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    checked_form(&state, &m, &body)?;
    let (sub, _, _) = load_item(&state, id).await?;
    if sub.status != Status::Approved {
        return Err(AppError::Conflict("seule une soumission acceptée non publiée peut être republiée".into()));
    }
    let outcome = crate::workflow::publish(&state, id).await?;
    after_publication(&state, id, outcome).await?;
    Ok(Redirect::to(&format!("/moderation/item/{id}")).into_response())
}

/// Tells the author when their proposal went live.
async fn after_publication(state: &AppState, id: i64, outcome: crate::workflow::Outcome) -> Result<bool, AppError> {
    if let crate::workflow::Outcome::Live { .. } = outcome {
        let (sub, _, _) = load_item(state, id).await?;
        notify_submitter(state, &sub, "publiée", None);
        return Ok(true);
    }
    Ok(false)
}

/// Publishes again every item left "approved, not published" (after a crash
/// between approval and publication): called at startup. Returns how many are
/// now live.
pub async fn retry_unpublished(state: &AppState) -> Result<usize, AppError> {
    let mut live = 0;
    for (id, outcome) in crate::workflow::publish_pending_approvals(state).await? {
        if after_publication(state, id, outcome).await? {
            live += 1;
        }
    }
    Ok(live)
}

async fn image(State(state): State<AppState>, _m: Mod, UrlPath((id, image_id)): UrlPath<(i64, i64)>) -> Result<Response, AppError> {
    let img = state.db.read(move |c| queue::image(c, id, image_id)).await?.ok_or(AppError::NotFound)?;
    Ok((
        [(header::CONTENT_TYPE, img.mime.clone()), (header::CACHE_CONTROL, "private, no-store".to_string())],
        img.data,
    )
        .into_response())
}

/// The page rendered by the generator with the site's templates, as it will be published.
async fn preview(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>) -> Result<Response, AppError> {
    let (sub, images) = state
        .db
        .read(move |c| Ok(queue::get(c, id)?.map(|s| (s, queue::images(c, id, true).unwrap_or_default()))))
        .await?
        .ok_or(AppError::NotFound)?;
    let site = state.site_dir.clone();
    let r = tokio::task::spawn_blocking(move || crate::preview::render_preview(&site, &sub, &images))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    match r {
        Ok(html) => Ok(Html(crate::preview::with_banner(&html, &format!("/moderation/item/{id}"))).into_response()),
        Err(e) => Err(AppError::Page(
            StatusCode::UNPROCESSABLE_ENTITY,
            super::error_page_html(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&format!("L'aperçu n'a pas pu être construit : {e}")),
                "/moderation",
                Some(&m.session),
            ),
        )),
    }
}

fn require_admin(m: &Mod) -> Result<(), AppError> {
    if m.session.user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("page réservée aux administrateurs".into()))
    }
}

async fn users_render(state: &AppState, m: &Mod, status: StatusCode, error: Option<String>) -> Result<Response, AppError> {
    let users: Vec<Json> = state
        .db
        .read(|c| {
            let mut st = c.prepare("SELECT id, username, role FROM users ORDER BY username")?;
            let rows = st.query_map([], |r| Ok(json!({"id": r.get::<_, i64>(0)?, "username": r.get::<_, String>(1)?, "role": r.get::<_, String>(2)?})))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    let mut ctx = base_ctx(m, "Comptes");
    ctx.insert("users", &users);
    ctx.insert("error", &error);
    Ok((status, Html(render(state, "users.html", ctx)?)).into_response())
}

async fn users_page(State(state): State<AppState>, m: Mod) -> Result<Response, AppError> {
    require_admin(&m)?;
    users_render(&state, &m, StatusCode::OK, None).await
}

async fn user_add(State(state): State<AppState>, m: Mod, body: Bytes) -> Result<Response, AppError> {
    require_admin(&m)?;
    let pairs = checked_form(&state, &m, &body)?;
    let username = field(&pairs, "username").trim().to_string();
    let password = field(&pairs, "password").to_string();
    let role = Role::parse(field(&pairs, "role")).ok_or_else(|| AppError::BadRequest("rôle inconnu".into()))?;
    if let Err(e) = auth::check_password_strength(&password) {
        return users_render(&state, &m, StatusCode::UNPROCESSABLE_ENTITY, Some(e.to_string())).await;
    }
    let phc = state.hasher.hash(password).await.map_err(|e| hash_error(&state, "/moderation/users", Some(&m.session), e))?;
    let who = actor(&m);
    let r = state
        .db
        .write(move |c| auth::create_user(c, &username, &phc, role, &who).map_err(|e| DbError::Conflict(e.to_string())))
        .await;
    match r {
        Ok(_) => Ok(Redirect::to("/moderation/users").into_response()),
        Err(DbError::Conflict(msg)) => users_render(&state, &m, StatusCode::UNPROCESSABLE_ENTITY, Some(msg)).await,
        Err(e) => Err(e.into()),
    }
}

async fn user_remove(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    require_admin(&m)?;
    checked_form(&state, &m, &body)?;
    if id == m.session.user.id {
        return Err(AppError::Conflict("vous ne pouvez pas supprimer votre propre compte".into()));
    }
    let who = actor(&m);
    let n = state
        .db
        .write(move |c| {
            let name: Option<String> = crate::db::opt(c, "SELECT username FROM users WHERE id = ?1", [id])?;
            let n = c.execute("DELETE FROM users WHERE id = ?1", [id])?;
            crate::db::audit(c, None, &who, "user_removed", &json!({"username": name}))?;
            Ok(n)
        })
        .await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/moderation/users").into_response())
}
