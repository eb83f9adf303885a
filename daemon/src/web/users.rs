//! Account management for admins: list, add (password hashed under the
//! hashing permits), remove.

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value as Json, json};
use super::{AppError, render};
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

pub(crate) async fn users_render(state: &AppState, m: &Mod, status: StatusCode, error: Option<String>) -> Result<Response, AppError> {
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
