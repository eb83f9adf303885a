//! The submitter's side after submission: the secret status page
//! (`/suivi/<token>`) and, when a moderator asked for changes, the revision
//! form on that same page (`POST /suivi/<token>/modifier`).
//!
//! The secret token in the address is the only authorisation (the teacher has
//! no account); the form also carries a signed, time-limited form token (as the
//! public forms do) bound to this one submission, so a page of another site
//! cannot post a revision, and the public POST rate limit applies.
//!
//! A revision goes through the same schema validation as a new submission;
//! errors come back next to each field with everything typed kept. Stored, it
//! replaces the queue row's content (never a file in `content/`: nothing is
//! published before approval), sets the status back to pending, records an
//! audit entry listing the changed field names (no values) and tells the
//! moderators through the outbox.
//!
//! Pictures: a single picture field keeps its stored picture unless a new file
//! is chosen (then it replaces it); pictures inside lists stay as they are
//! (they cannot be replaced or removed here). A picture cannot be removed.

use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value as Json, json};
use vitrine_generator::config::Collection;
use vitrine_generator::forms;
use vitrine_generator::schema::FieldError;

use super::{
    AppError, ClientIp, Draft, check_draft, collection_title, error_html, error_summary, form_options, read_form, send_mail, take,
};
use crate::db::DbError;
use crate::queue::{self, Revision, RevisionOutcome, Status, Submission};
use crate::security::{self, TokenProblem};
use crate::state::AppState;

#[derive(serde::Deserialize)]
pub(super) struct StatusQuery {
    nouveau: Option<String>,
    revision: Option<String>,
}

/// Scope of the signed form token of one submission's revision form.
fn token_scope(sub: &Submission) -> String {
    format!("suivi|{}", sub.id)
}

async fn load(state: &AppState, token: &str) -> Result<Submission, AppError> {
    if token.len() != 48 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let t = token.to_string();
    state.db.read(move |c| queue::get_by_token(c, &t)).await?.ok_or(AppError::NotFound)
}

/// The revision form as shown: values, errors and an optional notice.
struct FormState<'a> {
    values: Json,
    errors: Vec<FieldError>,
    notice: Option<&'a str>,
    /// The list whose "add one" button was pressed.
    more: Option<String>,
}

/// The form's values from what is stored: the schema's fields, the text and
/// the submitter's name and e-mail (shown to the submitter only).
fn stored_values(sub: &Submission) -> Json {
    let fields = Json::Object(sub.payload.fields.clone());
    let body = sub.payload.body.as_str();
    super::form_values(&fields, body, &sub.submitter_name, &sub.submitter_email)
}

#[allow(clippy::too_many_arguments)]
fn render_status(
    state: &AppState,
    sub: &Submission,
    token: &str,
    new: bool,
    revised: bool,
    form: Option<FormState<'_>>,
    images: &[queue::StoredImage],
) -> Result<String, AppError> {
    let config = state.config();
    let mut ctx = tera::Context::new();
    ctx.insert("page_title", if new { "Proposition reçue" } else { "Suivi de votre proposition" });
    ctx.insert("new", &new);
    ctx.insert("revised", &revised);
    ctx.insert("collection_title", &collection_title(&config, &sub.collection));
    ctx.insert("collection_singular", &super::collection_singular(&config, &sub.collection));
    ctx.insert("title", &sub.payload.title);
    ctx.insert("created", &super::human_time(&config, &sub.created_at));
    // The whole submission as sent: fields by their labels, pictures, text.
    let schema = config.collection(&sub.collection).map(|c| c.schema.clone()).unwrap_or(vitrine_generator::schema::Schema { fields: Vec::new() });
    ctx.insert("lines", &crate::summary::lines(&schema, &sub.payload.fields));
    let shown_images: Vec<Json> = images
        .iter()
        .map(|i| {
            let head = i.field.split(['[', '.']).next().unwrap_or("");
            let alt = sub.payload.fields.get(head).and_then(|v| v.get("alt")).and_then(Json::as_str).unwrap_or("");
            json!({"src": format!("/suivi/{token}/image/{}", i.id), "alt": alt, "width": i.width, "height": i.height, "label": forms::field_label(&schema, &i.field)})
        })
        .collect();
    ctx.insert("images", &shown_images);
    ctx.insert("body_label", forms::BODY_LABEL);
    let body = sub.payload.body.trim();
    ctx.insert("body_html", &if body.is_empty() { String::new() } else { crate::markdown::render_untrusted(body) });
    let due = if crate::rules::is_label_collection(&sub.collection) && sub.status.is_open() && sub.status != Status::Approved {
        queue::label_due_date(&crate::dates::local_day(&config, &sub.created_at)).map(|d| super::human_date(&config, &d.to_string()))
    } else {
        None
    };
    ctx.insert("due", &due);
    ctx.insert("status_url", &format!("/suivi/{token}"));
    ctx.insert(
        "sub",
        &json!({
            "reference": sub.reference,
            "status": sub.status.as_str(),
            "status_label": sub.status_label,
            "decision_reason": sub.decision_reason,
            "published_url": sub.published_url,
        }),
    );
    let collection = config.collection(&sub.collection).filter(|c| c.submit.is_some());
    let revision = match (sub.status, collection) {
        (Status::ChangesRequested, Some(c)) => {
            let form = form.unwrap_or_else(|| FormState { values: stored_values(sub), errors: Vec::new(), notice: None, more: None });
            let opts = form_options(&config, c, form.more.clone());
            let now = jiff::Timestamp::now().as_second();
            let kept_pictures: Vec<Json> = crate::publish::image_fields(c)
                .into_iter()
                .filter(|(f, _)| sub.payload.fields.contains_key(f))
                .map(|(f, is_list)| {
                    let label = c.schema.field(&f).map(|x| x.label.clone()).unwrap_or(f);
                    json!({"label": label, "list": is_list})
                })
                .collect();
            json!({
                "action": format!("/suivi/{token}/modifier"),
                "token": security::issue_form_token(&state.secret, &token_scope(sub), now),
                "fields_html": forms::render_form_fields_with(&c.schema, &form.values, &form.errors, &opts),
                "submitter_html": forms::render_submitter_fields(&form.values, &form.errors),
                "errors": error_summary(&c.schema, &form.errors),
                "notice": form.notice,
                "pictures": kept_pictures,
            })
        }
        _ => Json::Null,
    };
    ctx.insert("revision", &revision);
    Ok(super::render_public(state, "status.html", ctx)?)
}

async fn images_of(state: &AppState, sub: &Submission) -> Result<Vec<queue::StoredImage>, AppError> {
    let id = sub.id;
    Ok(state.db.read(move |c| queue::images(c, id, false)).await?)
}

/// `GET /suivi/<token>/image/<id>`: a picture of this submission, for its author.
pub(super) async fn status_image(State(state): State<AppState>, UrlPath((token, image_id)): UrlPath<(String, i64)>) -> Result<Response, AppError> {
    let sub = load(&state, &token).await?;
    let id = sub.id;
    let img = state.db.read(move |c| queue::image(c, id, image_id)).await?.ok_or(AppError::NotFound)?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, img.mime.clone()),
            (axum::http::header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        img.data,
    )
        .into_response())
}

pub(super) async fn status_page(
    State(state): State<AppState>,
    UrlPath(token): UrlPath<String>,
    Query(q): Query<StatusQuery>,
) -> Result<Response, AppError> {
    let sub = load(&state, &token).await?;
    let images = images_of(&state, &sub).await?;
    let html = render_status(&state, &sub, &token, q.nouveau.is_some(), q.revision.is_some(), None, &images)?;
    Ok(Html(html).into_response())
}

fn not_revisable(state: &AppState, sub: &Submission, token: &str) -> AppError {
    let status = StatusCode::CONFLICT;
    let mut ctx = tera::Context::new();
    ctx.insert("page_title", "Modification impossible");
    ctx.insert(
        "message",
        &format!(
            "Votre proposition {} est « {} » : elle ne peut être modifiée que lorsque le correspondant vous demande des modifications.",
            sub.reference, sub.status_label
        ),
    );
    ctx.insert("back", &format!("/suivi/{token}"));
    match super::render_public(state, "public_error.html", ctx) {
        Ok(html) => AppError::Page(status, html),
        Err(_) => AppError::Page(status, error_html(state, status, "Cette proposition ne peut pas être modifiée maintenant.")),
    }
}

/// `POST /suivi/<token>/modifier`: the submitter's revision.
pub(super) async fn revise(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UrlPath(token): UrlPath<String>,
    req: Request,
) -> Result<Response, AppError> {
    let sub = load(&state, &token).await?;
    if !state.limiter.check(ip) {
        return Err(AppError::TooManyRequests);
    }
    let (pairs, uploads) = read_form(&state, req).await?;
    if take(&pairs, "vt_fax").is_some_and(|v| !v.is_empty()) {
        return Err(AppError::BadRequest("formulaire refusé".into()));
    }
    let now = jiff::Timestamp::now().as_second();
    let checked_token = security::check_form_token(
        &state.secret,
        &token_scope(&sub),
        take(&pairs, "vt_token"),
        now,
        state.settings.min_fill_secs,
        state.settings.form_token_max_age,
    );
    if sub.status != Status::ChangesRequested {
        // A double click after the first post was stored lands on the status page.
        if let Ok(nonce) = &checked_token
            && sub.status == Status::Pending
        {
            let (id, n) = (sub.id, nonce.clone());
            if state.db.read(move |c| queue::revision_replayed(c, id, &n)).await? {
                return Ok(Redirect::to(&format!("/suivi/{token}?revision=1")).into_response());
            }
        }
        return Err(not_revisable(&state, &sub, &token));
    }
    let config = state.config();
    let Some(collection) = config.collection(&sub.collection).filter(|c| c.submit.is_some()).cloned() else {
        return Err(AppError::Conflict("ce type de proposition n'accepte plus de modifications".into()));
    };
    let Draft { fields: mut values, body, name: sub_name, email: sub_email } = super::draft_from_form(&collection, &pairs)?;
    // Pictures: a new file replaces the stored one; otherwise the stored one is
    // kept with the text alternative as typed now. Lists of pictures are kept.
    let (images, mut errors) =
        crate::submission::attach_pictures(&state.settings.image_limits, &collection, uploads, &mut values, &pairs, false).await?;
    let replaced: Vec<String> = images.iter().map(|(f, _, _)| f.clone()).collect();
    crate::submission::keep_stored_pictures(&collection, &mut values, &sub.payload.fields, &replaced, false);
    let shown = super::form_values(&values, &body, &sub_name, &sub_email);
    let more = take(&pairs, "vt_more").map(str::to_string);
    let images_before = images_of(&state, &sub).await?;
    let redisplay = |errors: Vec<FieldError>, notice: Option<&str>, status: StatusCode| -> Result<Response, AppError> {
        let form = FormState { values: shown.clone(), errors, notice, more: more.clone() };
        let html = render_status(&state, &sub, &token, false, false, Some(form), &images_before)?;
        Ok((status, Html(html)).into_response())
    };
    // An "add one" button: the form again with one more row, nothing stored.
    if more.is_some() {
        return redisplay(Vec::new(), None, StatusCode::OK);
    }
    let nonce = match checked_token {
        Ok(n) => n,
        Err(p) => {
            let notice = crate::submission::token_notice(p);
            let status = if p == TokenProblem::TooFast { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNPROCESSABLE_ENTITY };
            let notice = if images.is_empty() { notice.to_string() } else { format!("{notice} {}", crate::submission::PICTURES_AGAIN) };
            return redisplay(Vec::new(), Some(&notice), status);
        }
    };
    let draft = Draft { fields: values, body: body.clone(), name: sub_name.clone(), email: sub_email.clone() };
    let checked = match check_draft(&config, &collection, &draft, true) {
        Ok(c) if errors.is_empty() => c,
        Ok(_) => return redisplay(errors, Some(crate::submission::PICTURES_AGAIN), StatusCode::UNPROCESSABLE_ENTITY),
        Err(mut e) => {
            errors.append(&mut e);
            let notice = if images.is_empty() { None } else { Some(crate::submission::PICTURES_AGAIN) };
            return redisplay(errors, notice, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let payload = crate::payload::Payload::new(checked.fields, &body);
    let title = payload.title.clone();
    let rev = Revision {
        payload,
        submitter_name: sub_name.trim().to_string(),
        submitter_email: sub_email.trim().to_string(),
        images,
        form_nonce: nonce,
    };
    let id = sub.id;
    match state.db.write(move |c| queue::revise(c, id, rev)).await {
        Ok(RevisionOutcome::Revised { changed }) => {
            notify_revised(&state, &collection, &sub, &title, &changed);
        }
        Ok(RevisionOutcome::Replayed) => {}
        // Decided by a moderator between the page load and this post.
        Err(DbError::Conflict(_)) => return Err(not_revisable(&state, &sub, &token)),
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/suivi/{token}?revision=1")).into_response())
}

/// Tells the moderators, like a new submission does (no personal data).
fn notify_revised(state: &AppState, collection: &Collection, sub: &Submission, title: &str, changed: &[String]) {
    let labels: Vec<String> = changed
        .iter()
        .map(|c| match c.as_str() {
            "vt_name" => "nom de l'auteur".to_string(),
            "vt_email" => "adresse de l'auteur".to_string(),
            other => super::label_for(&collection.schema, other),
        })
        .collect();
    let what = if labels.is_empty() { "aucun champ modifié".to_string() } else { labels.join(", ") };
    let mail = crate::outbox::Mail {
        to: state.settings.moderators_mail.clone(),
        subject: format!("Proposition révisée {} : {}", sub.reference, title.chars().take(80).collect::<String>()),
        body: format!(
            "L'auteur de la proposition {} ({}) l'a modifiée à votre demande ; elle attend de nouveau votre relecture.\n\n\
             Référence : {}\nTitre : {}\nChamps modifiés : {}\n\n{}/moderation/item/{}\n",
            sub.reference, collection.title, sub.reference, title, what, state.settings.public_url, sub.id
        ),
    };
    send_mail(state, mail);
}
