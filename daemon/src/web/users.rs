//! Accounts. Every moderator: their own account page and password change
//! (current password checked under the login throttle and a hashing permit,
//! the new one typed twice; their other sessions end). Admins: list, add
//! (password hashed under the hashing permits), remove, and send a password
//! reset link (a one-time link of [`auth::SetupLink::Reset`], mailed through
//! the outbox and shown to the admin).

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value as Json, json};
use super::{AppError, ClientIp, render, send_mail};
use crate::auth::{self, Role};
use crate::db::DbError;
use crate::state::AppState;

use super::session::*;

pub(crate) fn require_admin(m: &Mod) -> Result<(), AppError> {
    if m.session.user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("page réservée aux administrateurs".into()))
    }
}

/// A reset link just made, shown once to the admin who asked for it.
#[derive(serde::Serialize)]
pub(crate) struct SentLink {
    username: String,
    email: String,
    url: String,
}

pub(crate) async fn users_render(state: &AppState, m: &Mod, status: StatusCode, error: Option<String>) -> Result<Response, AppError> {
    users_render_with(state, m, status, error, None).await
}

pub(crate) async fn users_render_with(state: &AppState, m: &Mod, status: StatusCode, error: Option<String>, sent: Option<SentLink>) -> Result<Response, AppError> {
    let users: Vec<Json> = state
        .db
        .read(auth::list_users)
        .await?
        .into_iter()
        .map(|u| json!({"id": u.id, "username": u.username, "role": u.role.as_str(), "role_label": u.role.label()}))
        .collect();
    let mut ctx = base_ctx(m, "Comptes");
    ctx.insert("users", &users);
    ctx.insert("error", &error);
    ctx.insert("sent", &sent);
    ctx.insert("link_hours", &auth::RESET_LINK_HOURS);
    Ok((status, Html(render(state, "users.html", ctx)?)).into_response())
}

pub(crate) async fn users_page(State(state): State<AppState>, m: Mod) -> Result<Response, AppError> {
    require_admin(&m)?;
    users_render(&state, &m, StatusCode::OK, None).await
}

pub(crate) async fn user_add(State(state): State<AppState>, m: Mod, body: Bytes) -> Result<Response, AppError> {
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

pub(crate) async fn user_remove(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    require_admin(&m)?;
    checked_form(&state, &m, &body)?;
    if id == m.session.user.id {
        return Err(AppError::Conflict("vous ne pouvez pas supprimer votre propre compte".into()));
    }
    let who = actor(&m);
    let found = state
        .db
        .write(move |c| {
            let Some(user) = auth::find_user_by_id(c, id)? else { return Ok(false) };
            auth::remove_user(c, &user.username, &who).map_err(|e| DbError::Conflict(e.to_string()))?;
            Ok(true)
        })
        .await?;
    if !found {
        return Err(AppError::NotFound);
    }
    Ok(Redirect::to("/moderation/users").into_response())
}

/// An admin sends account `id` a password reset link: mailed to the address
/// the admin gives (accounts have none of their own) and shown on the page.
pub(crate) async fn user_reset(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    require_admin(&m)?;
    let pairs = checked_form(&state, &m, &body)?;
    let email = field(&pairs, "email").trim().to_string();
    if !vitrine_generator::schema::is_email(&email) {
        let shown: String = email.chars().take(80).collect();
        let msg = if email.is_empty() {
            "indiquez l'adresse électronique où envoyer le lien".to_string()
        } else {
            format!("adresse électronique invalide « {shown} »")
        };
        return users_render(&state, &m, StatusCode::UNPROCESSABLE_ENTITY, Some(msg)).await;
    }
    let who = actor(&m);
    let (token, user) = state
        .db
        .write(move |c| match auth::new_reset_token(c, id, &who) {
            Ok(r) => Ok(Some(r)),
            Err(auth::UserError::NotFound(_)) => Ok(None),
            Err(e) => Err(DbError::Conflict(e.to_string())),
        })
        .await?
        .ok_or(AppError::NotFound)?;
    let url = format!("{}/moderation/setup/{token}", state.settings.public_url);
    let site = state.config().title.clone();
    send_mail(
        &state,
        crate::outbox::Mail {
            to: email.clone(),
            subject: format!("Nouveau mot de passe pour la modération de « {site} »"),
            body: format!(
                "Bonjour,\n\n{admin} vous envoie un lien pour choisir un nouveau mot de passe du compte de modération « {name} » \
                 ({site}) :\n\n{url}\n\nCe lien ne sert qu'une fois et ne marche que {hours} heures. \
                 Si vous n'avez rien demandé, ignorez ce message et prévenez {admin}.\n",
                admin = m.session.user.username,
                name = user.username,
                hours = auth::RESET_LINK_HOURS,
            ),
        },
    );
    users_render_with(&state, &m, StatusCode::OK, None, Some(SentLink { username: user.username, email, url })).await
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct AccountQuery {
    fait: Option<String>,
}

pub(crate) async fn account_render(state: &AppState, m: &Mod, status: StatusCode, error: Option<&str>, done: bool) -> Result<Response, AppError> {
    let mut ctx = base_ctx(m, "Mon compte");
    ctx.insert("role_label", m.session.user.role.label());
    ctx.insert("error", &error);
    if done {
        ctx.insert("flash", "Mot de passe changé. Vos autres sessions sont fermées.");
    }
    Ok((status, Html(render(state, "account.html", ctx)?)).into_response())
}

/// The moderator's own account: name, role, password change form.
pub(crate) async fn account_page(State(state): State<AppState>, m: Mod, axum::extract::Query(q): axum::extract::Query<AccountQuery>) -> Result<Response, AppError> {
    account_render(&state, &m, StatusCode::OK, None, q.fait.as_deref() == Some("1")).await
}

/// A moderator changes their own password: the new one twice (and long
/// enough), then the current one checked as a login is (throttled, under a
/// hashing permit); the other sessions of the account end.
pub(crate) async fn account_password(State(state): State<AppState>, m: Mod, ClientIp(ip): ClientIp, body: Bytes) -> Result<Response, AppError> {
    let pairs = checked_form(&state, &m, &body)?;
    let current = field(&pairs, "current").to_string();
    let password = field(&pairs, "password").to_string();
    if password != field(&pairs, "password2") {
        return account_render(&state, &m, StatusCode::UNPROCESSABLE_ENTITY, Some("Les deux nouveaux mots de passe diffèrent."), false).await;
    }
    if let Err(e) = auth::check_password_strength(&password) {
        return account_render(&state, &m, StatusCode::UNPROCESSABLE_ENTITY, Some(&format!("Nouveau {e}.")), false).await;
    }
    let username = m.session.user.username.clone();
    let mut attempt = match state.login_throttle.begin(&username, ip) {
        Ok(a) => a,
        Err(refused) => return account_render(&state, &m, StatusCode::TOO_MANY_REQUESTS, Some(&refused.message()), false).await,
    };
    let path = "/moderation/compte";
    let permit = state.hasher.permit().await.map_err(|e| hash_error(&state, path, Some(&m.session), e))?;
    let u = username.clone();
    let phc = state.db.read(move |c| auth::find_user(c, &u)).await?.map(|(_, phc)| phc);
    attempt.checking();
    if !permit.verify(current, phc).await.map_err(|e| hash_error(&state, path, Some(&m.session), e))? {
        let _ = attempt.failed(None);
        return account_render(&state, &m, StatusCode::UNPROCESSABLE_ENTITY, Some("Mot de passe actuel incorrect."), false).await;
    }
    attempt.succeeded();
    let phc = state.hasher.hash(password).await.map_err(|e| hash_error(&state, path, Some(&m.session), e))?;
    let (id, keep, who) = (m.session.user.id, m.token.clone(), actor(&m));
    state
        .db
        .write(move |c| auth::set_password(c, id, &phc, Some(&keep), &who).map_err(|e| DbError::Conflict(e.to_string())))
        .await?;
    Ok(Redirect::to("/moderation/compte?fait=1").into_response())
}
