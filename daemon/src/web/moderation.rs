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
//! address never refuse the owner elsewhere); every argon2 run (login, setup and reset links, password change,
//! new account) waits for a permit of [`security::HashLimiter`], and without
//! one in time (`Settings::hash_wait`) the answer is a 503 page. An account
//! failing from many addresses warns the admins once per window: a journal
//! entry (`login_attack`) and an e-mail to the moderators' address.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value as Json, json};
use vitrine_generator::forms;
use vitrine_generator::schema::{FieldError, Kind};

use super::{AppError, Draft, check_draft, collection_title, error_summary, human_date, human_time, render, send_mail};
use crate::queue::{self, Status};
use crate::state::AppState;


pub use super::session::COOKIE;

pub use super::session::{MaybeMod, Mod, login_url, safe_next, session_token};
use super::session::*;
use super::users::*;

/// The `/moderation/…` routes, merged into [`crate::web::app`].
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
        .route("/moderation/item/{id}/apercu/{file}", get(preview_asset))
        .route("/moderation/users", get(users_page).post(user_add))
        .route("/moderation/users/{id}/remove", post(user_remove))
        .route("/moderation/users/{id}/reset", post(user_reset))
        .route("/moderation/compte", get(account_page))
        .route("/moderation/compte/mot-de-passe", post(account_password))
        .route("/moderation/courriels", get(super::mail::parked_page))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct QueueQuery {
    collection: Option<String>,
    status: Option<String>,
    order: Option<String>,
}

pub(crate) async fn queue_page(State(state): State<AppState>, m: Mod, Query(q): Query<QueueQuery>) -> Result<Response, AppError> {
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
    let today = crate::dates::today(&config);
    let items: Vec<Json> = items
        .iter()
        .map(|s| {
            let due = (crate::rules::is_label_collection(&s.collection)).then(|| queue::label_due_date(&crate::dates::local_day(&config, &s.created_at))).flatten();
            let open = matches!(s.status, Status::Pending | Status::ChangesRequested);
            json!({
                "id": s.id,
                "reference": s.reference,
                "collection_title": super::collection_singular(&config, &s.collection),
                "title": s.payload.title,
                "created": human_date(&config, &s.created_at),
                "status": s.status.as_str(),
                "status_label": s.status_label,
                "due": due.filter(|_| open).map(|d| human_date(&config, &d.to_string())),
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
pub(crate) fn value_html(kind: &Kind, v: &Json, refs: &std::collections::BTreeMap<String, Vec<(String, String)>>) -> String {
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

pub(crate) async fn load_item(state: &AppState, id: i64) -> Result<(queue::Submission, Vec<queue::StoredImage>, Vec<queue::AuditEntry>), AppError> {
    let r = state
        .db
        .read(move |c| {
            let Some(s) = queue::get(c, id)? else { return Ok(None) };
            Ok(Some((s, queue::images(c, id, false)?, queue::audit_entries(c, id)?)))
        })
        .await?;
    r.ok_or(AppError::NotFound)
}

pub(crate) async fn item_view(
    state: &AppState,
    m: &Mod,
    id: i64,
    edit: Option<(Json, String, Vec<FieldError>)>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let (sub, images, audit) = load_item(state, id).await?;
    let config = state.config();
    let collection = config.collection(&sub.collection);
    let fields = Json::Object(sub.payload.fields.clone());
    let body = sub.payload.body.clone();
    let title = sub.payload.title.clone();
    let mut ctx = base_ctx(m, &format!("{} — {}", sub.reference, title));
    ctx.insert("title", &title);
    ctx.insert("collection_title", &collection_title(&config, &sub.collection));
    ctx.insert("created", &human_time(&config, &sub.created_at));
    let open = matches!(sub.status, Status::Pending | Status::ChangesRequested);
    let due = crate::rules::is_label_collection(&sub.collection).then(|| queue::label_due_date(&crate::dates::local_day(&config, &sub.created_at))).flatten();
    ctx.insert("due", &due.filter(|_| open).map(|d| human_date(&config, &d.to_string())));
    ctx.insert("overdue", &(open && due.is_some_and(|d| crate::dates::today(&config) > d)));
    ctx.insert("open", &open);
    let mut preview = Vec::new();
    if let Some(c) = collection {
        let refs = super::form_options(&config, c, None).references;
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
            let label = crate::journal::path_label(collection.map(|c| &c.schema), &i.field);
            json!({"id": i.id, "field": i.field, "label": label, "width": i.width, "height": i.height, "alt": alt})
        })
        .collect();
    ctx.insert("images", &imgs);
    // What a moderator decides (`moderator_only`, the jury's year…) and has not filled in yet.
    let to_fill: Vec<Json> = collection
        .map(|c| {
            c.schema
                .fields
                .iter()
                .filter(|f| f.moderator_only && f.required && fields.get(&f.name).is_none_or(Json::is_null))
                .map(|f| json!({"label": f.label, "id": forms::control_id(&f.name)}))
                .collect()
        })
        .unwrap_or_default();
    ctx.insert("to_fill", &to_fill);
    ctx.insert("body_html", &crate::markdown::render_untrusted(&body));
    let (edit_values, edit_body, errors) = edit.unwrap_or((fields.clone(), body.clone(), Vec::new()));
    // The same widgets as the teacher's form (references as a list of the
    // existing entries), with one blank row for lists.
    let fields_html = collection
        .map(|c| {
            let mut opts = super::form_options(&config, c, None);
            opts.moderation = true;
            keep_current_references(c, &edit_values, &mut opts);
            forms::render_form_fields_with(&c.schema, &edit_values, &errors, &opts)
        })
        .unwrap_or_default();
    ctx.insert("fields_html", &fields_html);
    ctx.insert("body", &edit_body);
    let body_errors: Vec<&str> = errors.iter().filter(|e| e.field == "vt_body").map(|e| e.message.as_str()).collect();
    ctx.insert("body_error", &if body_errors.is_empty() { Json::Null } else { Json::String(body_errors.join(" ; ")) });
    ctx.insert("errors", &collection.map(|c| error_summary(&c.schema, &errors)).unwrap_or_default());
    let journal = crate::journal::lines(&config, &audit, collection.map(|c| &c.schema), &collection_title(&config, &sub.collection));
    ctx.insert("audit", &journal);
    ctx.insert("sub", &sub);
    Ok((status, Html(render(state, "item.html", ctx)?)).into_response())
}

/// A reference whose entry is not (or no longer) in the list stays
/// selectable, marked as not found, so that opening and saving the form never
/// drops it silently; validation then says what is wrong with it.
pub(crate) fn keep_current_references(c: &vitrine_generator::config::Collection, values: &Json, opts: &mut forms::FormOptions) {
    for f in &c.schema.fields {
        let Kind::Reference { collection: target } = &f.kind else { continue };
        let Some(cur) = values.get(&f.name).and_then(Json::as_str).filter(|s| !s.is_empty()) else { continue };
        let list = opts.references.entry(target.clone()).or_default();
        if !list.iter().any(|(slug, _)| slug == cur) {
            list.push((cur.to_string(), format!("{cur} (entrée introuvable)")));
        }
    }
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct SavedQuery {
    ok: Option<String>,
}

pub(crate) async fn item_page(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, Query(q): Query<SavedQuery>) -> Result<Response, AppError> {
    let saved = q.ok.as_deref() == Some("enregistre");
    let r = item_view(&state, &m, id, None, StatusCode::OK).await;
    match r {
        // The notice after a moderator's edit (the page's `flash`).
        Ok(resp) if saved => {
            let html = super::body_string(resp.into_body()).await;
            let notice = "<div class=\"notice\" role=\"status\"><p>Enregistré : les modifications sont gardées pour la publication.</p></div>";
            Ok(Html(html.replacen("<main id=\"contenu\" tabindex=\"-1\">", &format!("<main id=\"contenu\" tabindex=\"-1\">\n{notice}"), 1)).into_response())
        }
        other => other,
    }
}

pub(crate) async fn edit(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    let pairs = checked_form(&state, &m, &body)?;
    let (sub, _, _) = load_item(&state, id).await?;
    if !matches!(sub.status, Status::Pending | Status::ChangesRequested) {
        return Err(AppError::Conflict(format!("la soumission est « {} » : elle ne peut plus être modifiée", sub.status.label())));
    }
    let config = state.config();
    let collection = config.collection(&sub.collection).ok_or(AppError::NotFound)?.clone();
    let Draft { fields: mut values, body, .. } = crate::submission::draft_from_form(&collection, &pairs)?;
    // Pictures cannot be replaced here: keep the stored file, take the new text alternative.
    crate::submission::keep_stored_pictures(&collection, &mut values, &sub.payload.fields, &[], true);
    let draft = Draft { fields: values.clone(), body: body.clone(), name: String::new(), email: String::new() };
    match check_draft(&config, &collection, &draft, false) {
        Err(errors) => item_view(&state, &m, id, Some((values, body, errors)), StatusCode::UNPROCESSABLE_ENTITY).await,
        Ok(checked) => {
            let payload = crate::payload::Payload::new(checked.fields, &body);
            let who = actor(&m);
            state.db.write(move |c| queue::update_payload(c, id, &payload, &who)).await?;
            Ok(Redirect::to(&format!("/moderation/item/{id}?ok=enregistre")).into_response())
        }
    }
}

pub(crate) fn reason_of(pairs: &[(String, String)]) -> Result<String, AppError> {
    let r = field(pairs, "reason").trim().replace("\r\n", "\n");
    if r.is_empty() {
        return Err(AppError::BadRequest("indiquez un message pour l'auteur".into()));
    }
    if r.chars().count() > 4000 {
        return Err(AppError::BadRequest("message trop long (4 000 caractères au plus)".into()));
    }
    Ok(r)
}

pub(crate) fn notify_submitter(state: &AppState, sub: &queue::Submission, decision: crate::mails::Decision<'_>) {
    let status_url = format!("{}/suivi/{}", state.settings.public_url, sub.status_token);
    send_mail(state, crate::mails::decision(&sub.submitter_email, &sub.reference, &sub.payload.title, &status_url, &decision));
}

pub(crate) async fn decide(state: &AppState, m: &Mod, id: i64, from: &'static [Status], to: Status, reason: Option<String>) -> Result<queue::Submission, AppError> {
    let who = actor(m);
    let r = reason.clone();
    state.db.write(move |c| queue::transition(c, id, from, to, &who, r.as_deref())).await?;
    let (sub, _, _) = load_item(state, id).await?;
    Ok(sub)
}

pub(crate) async fn reject(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    let pairs = checked_form(&state, &m, &body)?;
    let reason = reason_of(&pairs)?;
    let sub = decide(&state, &m, id, &[Status::Pending, Status::ChangesRequested, Status::Approved], Status::Rejected, Some(reason.clone())).await?;
    notify_submitter(&state, &sub, crate::mails::Decision::Rejected(&reason));
    Ok(Redirect::to(&format!("/moderation/item/{id}")).into_response())
}

pub(crate) async fn ask_changes(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    let pairs = checked_form(&state, &m, &body)?;
    let reason = reason_of(&pairs)?;
    let sub = decide(&state, &m, id, &[Status::Pending, Status::ChangesRequested], Status::ChangesRequested, Some(reason.clone())).await?;
    notify_submitter(&state, &sub, crate::mails::Decision::Changes(&reason));
    Ok(Redirect::to(&format!("/moderation/item/{id}")).into_response())
}

pub(crate) async fn approve(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
    checked_form(&state, &m, &body)?;
    let outcome = crate::workflow::approve(&state, id, &actor(&m)).await?;
    after_publication(&state, id, outcome).await?;
    Ok(Redirect::to(&format!("/moderation/item/{id}")).into_response())
}

pub(crate) async fn retry(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>, body: Bytes) -> Result<Response, AppError> {
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
pub(crate) async fn after_publication(state: &AppState, id: i64, outcome: crate::workflow::Outcome) -> Result<bool, AppError> {
    if let crate::workflow::Outcome::Live { .. } = outcome {
        let (sub, _, audit) = load_item(state, id).await?;
        // The fields a moderator changed since the author last sent the proposal.
        let config = state.config();
        let schema = config.collection(&sub.collection).map(|c| &c.schema);
        let mut changed: Vec<String> = Vec::new();
        for a in &audit {
            if a.action == "revised" {
                changed.clear();
            }
            if a.action != "edited" {
                continue;
            }
            let detail: Json = serde_json::from_str(&a.detail).unwrap_or_default();
            for p in detail["changed"].as_array().into_iter().flatten().filter_map(Json::as_str) {
                let l = crate::journal::path_label(schema, p);
                if !changed.contains(&l) {
                    changed.push(l);
                }
            }
        }
        let url = sub.published_url.as_deref().map(|u| if u.starts_with('/') { format!("{}{u}", state.settings.public_url) } else { u.to_string() });
        notify_submitter(state, &sub, crate::mails::Decision::Published { url: url.as_deref(), changed: &changed });
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

pub(crate) async fn image(State(state): State<AppState>, _m: Mod, UrlPath((id, image_id)): UrlPath<(i64, i64)>) -> Result<Response, AppError> {
    let img = state.db.read(move |c| queue::image(c, id, image_id)).await?.ok_or(AppError::NotFound)?;
    Ok((
        [(header::CONTENT_TYPE, img.mime.clone()), (header::CACHE_CONTROL, "private, no-store".to_string())],
        img.data,
    )
        .into_response())
}

/// A picture of the preview (a resized variant or the cleaned original, from
/// the image cache; see [`crate::preview::cached_asset`]).
pub(crate) async fn preview_asset(State(state): State<AppState>, _m: Mod, UrlPath((_id, file)): UrlPath<(i64, String)>) -> Result<Response, AppError> {
    let site = state.site_dir.clone();
    let (mime, bytes) = tokio::task::spawn_blocking(move || crate::preview::cached_asset(&site, &file)).await?.ok_or(AppError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "private, no-store")], bytes).into_response())
}

/// The page rendered by the generator with the site's templates, as it will be published.
pub(crate) async fn preview(State(state): State<AppState>, m: Mod, UrlPath(id): UrlPath<i64>) -> Result<Response, AppError> {
    let (sub, images) = state
        .db
        .read(move |c| Ok(queue::get(c, id)?.map(|s| (s, queue::images(c, id, true).unwrap_or_default()))))
        .await?
        .ok_or(AppError::NotFound)?;
    let site = state.site_dir.clone();
    let r = tokio::task::spawn_blocking(move || crate::preview::render_preview(&site, &sub, &images))
        .await?;
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
