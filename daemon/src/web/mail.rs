//! The admins' page of notifications the mail server refused for good
//! (`/moderation/courriels`): each parked message with its recipients,
//! subject, date and the server's reason. It only reads `outbox/parked/`
//! through [`crate::smtp::parked`]; it sends, moves or deletes nothing.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

use super::users::require_admin;
use super::{AppError, render};
use crate::state::AppState;

use super::session::*;

pub(crate) async fn parked_page(State(state): State<AppState>, m: Mod) -> Result<Response, AppError> {
    require_admin(&m)?;
    let outbox = state.outbox_dir.clone();
    let mut parked = tokio::task::spawn_blocking(move || crate::smtp::parked(&outbox))
        .await?
        .map_err(|e| AppError::Internal(Box::new(e)))?;
    let config = state.config();
    for p in &mut parked {
        p.parked_at = super::human_time(&config, &p.parked_at);
    }
    let mut ctx = base_ctx(&m, "Courriels refusés");
    ctx.insert("parked", &parked);
    ctx.insert("smtp", &state.mailer.is_some());
    Ok(Html(render(&state, "mail.html", ctx)?).into_response())
}
