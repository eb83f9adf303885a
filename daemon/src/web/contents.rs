//! The « Contenus » pages under `/moderation/contenus`: every entry of every
//! collection listed (search by title, filter by type, newest first, pages of
//! 50), the schema's form to create or edit one, withdraw and put back, the
//! page's preview with the site's templates, the entry's saved versions (each
//! one restorable) and its journal.
//!
//! Thin handlers: the files are [`crate::content`]'s, the steps of a change
//! [`crate::editor`]'s, the journal's SQL [`crate::entry_log`]'s. Every change
//! is a POST with the session's CSRF token, from a logged-in correspondent
//! ([`Mod`]: moderators and admins); a GET changes nothing.

use axum::Router;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value as Json, json};
use vitrine_generator::config::Collection;
use vitrine_generator::forms;
use vitrine_generator::schema::FieldError;

use super::session::{Mod, base_ctx};
use super::{AppError, Draft, draft_from_form, error_summary, read_form, render, take};
use crate::content::{self, ContentError, EntryFile};
use crate::editor::{self, EditorError, Outcome, Target, Who};
use crate::state::AppState;

/// Entries per page of the list.
const PER_PAGE: usize = 50;

/// The `/moderation/contenus…` routes, merged into [`crate::web::app`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/moderation/contenus", get(list_page))
        .route("/moderation/contenus/nouveau/{collection}", get(new_page).post(create))
        .route("/moderation/contenus/nouveau/{collection}/apercu", post(preview_new))
        .route("/moderation/contenus/{collection}/{slug}", get(entry_page).post(save))
        .route("/moderation/contenus/{collection}/{slug}/apercu", post(preview_existing))
        .route("/moderation/contenus/{collection}/{slug}/retirer", post(withdraw))
        .route("/moderation/contenus/{collection}/{slug}/remettre", post(republish))
        .route("/moderation/contenus/{collection}/{slug}/versions/{id}/restaurer", post(restore))
}

impl From<ContentError> for AppError {
    fn from(e: ContentError) -> Self {
        match e {
            ContentError::UnknownCollection(_) | ContentError::NotFound(_) => AppError::NotFound,
            ContentError::Changed => AppError::Conflict(ContentError::Changed.to_string()),
            ContentError::Unreadable(m) => AppError::Conflict(format!("fichier illisible : {m}")),
            other => AppError::Internal(Box::new(other)),
        }
    }
}

impl From<EditorError> for AppError {
    fn from(e: EditorError) -> Self {
        match e {
            EditorError::Db(d) => d.into(),
            EditorError::Content(c) => c.into(),
            other => AppError::Internal(Box::new(other)),
        }
    }
}

fn who(state: &AppState, m: &Mod) -> Who {
    Who::new(&m.session.user.username, &state.settings.public_url)
}

/// The CSRF token of a form (urlencoded or multipart) checked against the session.
fn check_csrf(m: &Mod, pairs: &[(String, String)]) -> Result<(), AppError> {
    let csrf = take(pairs, "csrf").unwrap_or("");
    if csrf.is_empty() || !crate::security::ct_eq(csrf, &m.session.csrf) {
        return Err(AppError::Forbidden("jeton de sécurité (CSRF) absent ou invalide : rechargez la page et recommencez".into()));
    }
    Ok(())
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct ListQuery {
    q: Option<String>,
    collection: Option<String>,
    page: Option<usize>,
}

pub(crate) async fn list_page(State(state): State<AppState>, m: Mod, Query(q): Query<ListQuery>) -> Result<Response, AppError> {
    let config = state.config();
    let collection = q.collection.filter(|c| !c.is_empty());
    if let Some(c) = &collection {
        content::collection(&config, c)?;
    }
    let search = q.q.unwrap_or_default().chars().take(200).collect::<String>();
    let today = crate::dates::today(&config).to_string();
    let (cfg, only, st) = (config.clone(), collection.clone(), state.clone());
    let mut all = tokio::task::spawn_blocking(move || content::list(&cfg, only.as_deref(), &today, &st.content_list)).await?;
    let needle = search.trim().to_lowercase();
    if !needle.is_empty() {
        all.retain(|e| e.title.to_lowercase().contains(&needle) || e.slug.contains(&needle));
    }
    let total = all.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let items: Vec<Json> = all
        .iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|e| {
            json!({
                "url": format!("/moderation/contenus/{}/{}", e.collection, e.slug),
                "title": e.title,
                "type": super::collection_singular(&config, &e.collection),
                "date": e.date.as_deref().map(day).unwrap_or_default(),
                "state": e.state,
                "state_label": e.state.label(),
            })
        })
        .collect();
    let link = |p: usize| {
        let mut qs = vec![format!("page={p}")];
        if !search.is_empty() {
            qs.push(format!("q={}", encode_query(&search)));
        }
        if let Some(c) = &collection {
            qs.push(format!("collection={c}"));
        }
        format!("/moderation/contenus?{}", qs.join("&"))
    };
    let mut ctx = base_ctx(&m, "Contenus");
    ctx.insert("items", &items);
    ctx.insert("total", &total);
    ctx.insert("page", &page);
    ctx.insert("pages", &pages);
    ctx.insert("previous", &(page > 1).then(|| link(page - 1)));
    ctx.insert("next", &(page < pages).then(|| link(page + 1)));
    ctx.insert("q", &search);
    ctx.insert("filter_collection", &collection.unwrap_or_default());
    ctx.insert("collections", &config.collections.iter().map(|c| json!({"name": c.name, "title": c.title, "singular": c.singular})).collect::<Vec<_>>());
    Ok(Html(render(&state, "contents.html", ctx)?).into_response())
}

/// What the entry form shows.
struct FormState {
    values: Json,
    body: String,
    date: String,
    hash: String,
    errors: Vec<FieldError>,
    /// A message at the top (refused by the build, changed meanwhile).
    alert: Option<(String, String)>,
    more: Option<String>,
}

fn flash(ok: Option<&str>) -> Option<&'static str> {
    Some(match ok? {
        "cree" => "Enregistré : l'entrée est créée et en ligne.",
        "enregistre" => "Enregistré : la page publique est à jour.",
        "retire" => "Enregistré : l'entrée est retirée du site (elle est conservée et peut être remise en ligne).",
        "remis" => "Enregistré : l'entrée est de nouveau en ligne.",
        "restaure" => "Enregistré : la version choisie est rétablie (la précédente est conservée dans l'historique).",
        _ => return None,
    })
}

async fn form_page(state: &AppState, m: &Mod, collection: &Collection, file: Option<&EntryFile>, form: FormState, status: StatusCode, ok: Option<&str>) -> Result<Response, AppError> {
    let config = state.config();
    let mut opts = super::form_options(&config, collection, form.more.clone());
    opts.moderation = true;
    super::moderation::keep_current_references(collection, &form.values, &mut opts);
    let fields_html = forms::render_form_fields_with(&collection.schema, &form.values, &form.errors, &opts);
    let title = form.values.get("title").and_then(Json::as_str).unwrap_or_default().to_string();
    let page_title = match file {
        Some(_) => format!("{} — {}", collection.singular, title),
        None => format!("Nouvelle entrée : {}", collection.singular.to_lowercase()),
    };
    let mut ctx = base_ctx(m, &page_title);
    ctx.insert("collection", &json!({"name": collection.name, "title": collection.title, "singular": collection.singular}));
    ctx.insert("heading", &if file.is_some() { title.clone() } else { page_title.clone() });
    ctx.insert("fields_html", &fields_html);
    ctx.insert("body", &form.body);
    ctx.insert("date", &form.date);
    ctx.insert("hash", &form.hash);
    ctx.insert("errors", &error_summary(&collection.schema, &form.errors));
    let err_of = |name: &str| {
        let v: Vec<&str> = form.errors.iter().filter(|e| e.field == name).map(|e| e.message.as_str()).collect();
        if v.is_empty() { Json::Null } else { Json::String(v.join(" ; ")) }
    };
    ctx.insert("body_error", &err_of("vt_body"));
    ctx.insert("date_error", &err_of("vt_date"));
    ctx.insert("alert", &form.alert.as_ref().map(|(t, m)| json!({"title": t, "message": m})));
    ctx.insert("flash", &flash(ok));
    let has_images = !crate::publish::image_fields(collection).is_empty();
    ctx.insert("multipart", &has_images);
    match file {
        Some(f) => {
            let opened = content::open(f).ok();
            let base = format!("/moderation/contenus/{}/{}", f.collection, f.slug);
            let state_label = match &opened {
                Some(o) if o.draft => content::EntryState::Withdrawn,
                Some(o) if o.date.as_deref().is_some_and(|d| d > crate::dates::today(&config).to_string().as_str()) => content::EntryState::Scheduled,
                Some(_) => content::EntryState::Published,
                None => content::EntryState::Unreadable,
            };
            ctx.insert("entry", &json!({
                "base": base,
                "file": format!("content/{}", f.rel),
                "url": collection.entry_url(&f.slug),
                "state": state_label,
                "state_label": state_label.label(),
                "withdrawn": state_label == content::EntryState::Withdrawn,
                "current_hash": opened.as_ref().map(|o| o.hash.clone()).unwrap_or_default(),
            }));
            let versions: Vec<Json> = content::versions(&state.data_dir, &f.collection, &f.slug)
                .into_iter()
                .map(|v| {
                    json!({
                        "id": v.id,
                        "at": super::human_time(&config, &v.at),
                        "title": v.title,
                        "date": v.date.as_deref().map(day).unwrap_or_default(),
                        "draft": v.draft,
                    })
                })
                .collect();
            ctx.insert("versions", &versions);
            let key = f.key();
            let audit = state.db.read(move |c| crate::entry_log::entries(c, &key)).await?;
            let mut lines = crate::journal::lines(&config, &audit, Some(&collection.schema), &collection.title);
            lines.reverse();
            ctx.insert("audit", &lines);
            ctx.insert("action", &base);
        }
        None => {
            ctx.insert("entry", &Json::Null);
            ctx.insert("versions", &Vec::<Json>::new());
            ctx.insert("audit", &Vec::<Json>::new());
            ctx.insert("action", &format!("/moderation/contenus/nouveau/{}", collection.name));
        }
    }
    Ok((status, Html(render(state, "entry.html", ctx)?)).into_response())
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct OkQuery {
    ok: Option<String>,
}

pub(crate) async fn new_page(State(state): State<AppState>, m: Mod, UrlPath(name): UrlPath<String>) -> Result<Response, AppError> {
    let config = state.config();
    let collection = content::collection(&config, &name)?.clone();
    let form = FormState {
        values: json!({}),
        body: String::new(),
        date: crate::dates::today(&config).to_string(),
        hash: String::new(),
        errors: Vec::new(),
        alert: None,
        more: None,
    };
    form_page(&state, &m, &collection, None, form, StatusCode::OK, None).await
}

pub(crate) async fn entry_page(State(state): State<AppState>, m: Mod, UrlPath((name, slug)): UrlPath<(String, String)>, Query(q): Query<OkQuery>) -> Result<Response, AppError> {
    let config = state.config();
    let file = content::locate(&config, &name, &slug)?;
    let collection = content::collection(&config, &name)?.clone();
    let opened = content::open(&file)?;
    let form = FormState {
        values: Json::Object(opened.fields.clone()),
        body: opened.body.clone(),
        date: opened.date.clone().unwrap_or_default(),
        hash: opened.hash.clone(),
        errors: Vec::new(),
        alert: None,
        more: None,
    };
    form_page(&state, &m, &collection, Some(&file), form, StatusCode::OK, q.ok.as_deref()).await
}

/// The form as sent: the schema's values (pictures attached, stored ones
/// kept), the text, the date, the hash, the "add a row" button.
struct Sent {
    draft: Draft,
    pictures: Vec<crate::submission::Picture>,
    picture_errors: Vec<FieldError>,
    date: String,
    hash: String,
    more: Option<String>,
}

async fn read_entry_form(state: &AppState, m: &Mod, collection: &Collection, stored: Option<&Map<String, Json>>, req: Request) -> Result<Sent, AppError> {
    let (pairs, uploads) = read_form(state, req).await?;
    check_csrf(m, &pairs)?;
    let date = take(&pairs, "vt_date").unwrap_or("").to_string();
    let hash = take(&pairs, "vt_hash").unwrap_or("").to_string();
    let more = take(&pairs, "vt_more").map(str::to_string);
    let schema_pairs: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "vt_date" && k != "vt_hash").cloned().collect();
    let Draft { fields: mut values, body, .. } = draft_from_form(collection, &schema_pairs)?;
    let (pictures, picture_errors) =
        crate::submission::attach_pictures(&state.settings.image_limits, collection, uploads, &mut values, &pairs, true).await?;
    if let Some(stored) = stored {
        let replaced: Vec<String> = pictures.iter().map(|(p, _, _)| p.split('[').next().unwrap_or("").to_string()).collect();
        crate::submission::keep_stored_pictures(collection, &mut values, stored, &replaced, true);
    }
    Ok(Sent { draft: Draft { fields: values, body, name: String::new(), email: String::new() }, pictures, picture_errors, date, hash, more })
}

async fn save_form(state: AppState, m: Mod, collection: Collection, file: Option<EntryFile>, req: Request) -> Result<Response, AppError> {
    let stored = match &file {
        Some(f) => Some(content::open(f)?.fields),
        None => None,
    };
    let sent = read_entry_form(&state, &m, &collection, stored.as_ref(), req).await?;
    let again = |sent_values: Json, body: String, errors, alert, more, status| {
        let form = FormState { values: sent_values, body, date: sent.date.clone(), hash: sent.hash.clone(), errors, alert, more };
        (form, status)
    };
    // "Add a row": the form again, one more row, nothing saved.
    if sent.more.is_some() {
        let (form, status) = again(sent.draft.fields.clone(), sent.draft.body.clone(), Vec::new(), None, sent.more.clone(), StatusCode::OK);
        return form_page(&state, &m, &collection, file.as_ref(), form, status, None).await;
    }
    if !sent.picture_errors.is_empty() {
        let (form, status) = again(sent.draft.fields.clone(), sent.draft.body.clone(), sent.picture_errors.clone(), None, None, StatusCode::UNPROCESSABLE_ENTITY);
        return form_page(&state, &m, &collection, file.as_ref(), form, status, None).await;
    }
    let (values, body) = (sent.draft.fields.clone(), sent.draft.body.clone());
    let target = match &file {
        Some(f) => Target::Existing(f.clone(), sent.hash.clone()),
        None => Target::New(collection.name.clone()),
    };
    let outcome = editor::save(&state, &who(&state, &m), target, Draft { fields: values.clone(), body: body.clone(), name: String::new(), email: String::new() }, &sent.date, sent.pictures).await?;
    let refused = |t: &str, msg: String| Some((t.to_string(), msg));
    let (form, status) = match outcome {
        Outcome::Saved { file: saved, .. } => {
            let ok = if file.is_some() { "enregistre" } else { "cree" };
            return Ok(Redirect::to(&format!("/moderation/contenus/{}/{}?ok={ok}", saved.collection, saved.slug)).into_response());
        }
        Outcome::Invalid(errors) => again(values, body, errors, None, None, StatusCode::UNPROCESSABLE_ENTITY),
        Outcome::Refused(reason) => again(values, body, Vec::new(), refused("Pas enregistré : le site ne se construirait pas", reason), None, StatusCode::UNPROCESSABLE_ENTITY),
        Outcome::Changed => again(values, body, Vec::new(), refused("Pas enregistré : l'entrée a changé entre-temps", ContentError::Changed.to_string()), None, StatusCode::CONFLICT),
    };
    form_page(&state, &m, &collection, file.as_ref(), form, status, None).await
}

pub(crate) async fn create(State(state): State<AppState>, m: Mod, UrlPath(name): UrlPath<String>, req: Request) -> Result<Response, AppError> {
    let collection = content::collection(&state.config(), &name)?.clone();
    save_form(state, m, collection, None, req).await
}

pub(crate) async fn save(State(state): State<AppState>, m: Mod, UrlPath((name, slug)): UrlPath<(String, String)>, req: Request) -> Result<Response, AppError> {
    let config = state.config();
    let file = content::locate(&config, &name, &slug)?;
    let collection = content::collection(&config, &name)?.clone();
    save_form(state, m, collection, Some(file), req).await
}

async fn preview_form(state: AppState, m: Mod, collection: Collection, file: Option<EntryFile>, req: Request) -> Result<Response, AppError> {
    let stored = match &file {
        Some(f) => Some(content::open(f)?.fields),
        None => None,
    };
    let sent = read_entry_form(&state, &m, &collection, stored.as_ref(), req).await?;
    let fields = sent.draft.fields.as_object().cloned().unwrap_or_default();
    let date = content::parse_date(&sent.date).unwrap_or(None);
    let back = file.as_ref().map(|f| format!("/moderation/contenus/{}/{}", f.collection, f.slug)).unwrap_or_default();
    let (st, body) = (state.clone(), sent.draft.body.clone());
    let r = tokio::task::spawn_blocking(move || editor::preview(&st, &collection, file.as_ref(), fields, &body, date.as_deref())).await?;
    match r {
        Ok(html) => Ok(Html(crate::preview::with_banner_text(
            &html,
            "Cette page montre le formulaire tel qu'il serait publié ; rien n'est enregistré.",
            &back,
            "Retour au formulaire (enregistré)",
        ))
        .into_response()),
        Err(e) => Err(AppError::Page(
            StatusCode::UNPROCESSABLE_ENTITY,
            super::error_page_html(&state, StatusCode::UNPROCESSABLE_ENTITY, Some(&format!("L'aperçu n'a pas pu être construit : {e}")), "/moderation/contenus", Some(&m.session)),
        )),
    }
}

pub(crate) async fn preview_new(State(state): State<AppState>, m: Mod, UrlPath(name): UrlPath<String>, req: Request) -> Result<Response, AppError> {
    let collection = content::collection(&state.config(), &name)?.clone();
    preview_form(state, m, collection, None, req).await
}

pub(crate) async fn preview_existing(State(state): State<AppState>, m: Mod, UrlPath((name, slug)): UrlPath<(String, String)>, req: Request) -> Result<Response, AppError> {
    let config = state.config();
    let file = content::locate(&config, &name, &slug)?;
    let collection = content::collection(&config, &name)?.clone();
    preview_form(state, m, collection, Some(file), req).await
}

/// A button's form (CSRF and the hash of the file as shown).
async fn button_form(state: &AppState, m: &Mod, name: &str, slug: &str, req: Request) -> Result<(EntryFile, String), AppError> {
    let file = content::locate(&state.config(), name, slug)?;
    let (pairs, _) = read_form(state, req).await?;
    check_csrf(m, &pairs)?;
    Ok((file, take(&pairs, "vt_hash").unwrap_or("").to_string()))
}

/// Where a button's change leads: the entry's page with its notice, or the
/// entry's page again with the reason (nothing changed).
async fn after_button(state: &AppState, m: &Mod, file: EntryFile, outcome: Outcome, ok: &str) -> Result<Response, AppError> {
    let alert = match outcome {
        Outcome::Saved { file, .. } => return Ok(Redirect::to(&format!("/moderation/contenus/{}/{}?ok={ok}", file.collection, file.slug)).into_response()),
        Outcome::Changed => ("Pas enregistré : l'entrée a changé entre-temps".to_string(), ContentError::Changed.to_string(), StatusCode::CONFLICT),
        Outcome::Refused(r) => ("Pas enregistré : le site ne se construirait pas".to_string(), r, StatusCode::UNPROCESSABLE_ENTITY),
        Outcome::Invalid(errors) => ("Pas enregistré".to_string(), errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" ; "), StatusCode::UNPROCESSABLE_ENTITY),
    };
    let config = state.config();
    let collection = content::collection(&config, &file.collection)?.clone();
    let opened = content::open(&file)?;
    let form = FormState {
        values: Json::Object(opened.fields.clone()),
        body: opened.body.clone(),
        date: opened.date.clone().unwrap_or_default(),
        hash: opened.hash.clone(),
        errors: Vec::new(),
        alert: Some((alert.0, alert.1)),
        more: None,
    };
    form_page(state, m, &collection, Some(&file), form, alert.2, None).await
}

pub(crate) async fn withdraw(State(state): State<AppState>, m: Mod, UrlPath((name, slug)): UrlPath<(String, String)>, req: Request) -> Result<Response, AppError> {
    let (file, hash) = button_form(&state, &m, &name, &slug, req).await?;
    let outcome = editor::set_withdrawn(&state, &who(&state, &m), file.clone(), hash, true).await?;
    after_button(&state, &m, file, outcome, "retire").await
}

pub(crate) async fn republish(State(state): State<AppState>, m: Mod, UrlPath((name, slug)): UrlPath<(String, String)>, req: Request) -> Result<Response, AppError> {
    let (file, hash) = button_form(&state, &m, &name, &slug, req).await?;
    let outcome = editor::set_withdrawn(&state, &who(&state, &m), file.clone(), hash, false).await?;
    after_button(&state, &m, file, outcome, "remis").await
}

pub(crate) async fn restore(State(state): State<AppState>, m: Mod, UrlPath((name, slug, id)): UrlPath<(String, String, String)>, req: Request) -> Result<Response, AppError> {
    let (file, hash) = button_form(&state, &m, &name, &slug, req).await?;
    let outcome = editor::restore_version(&state, &who(&state, &m), file.clone(), hash, &id).await?;
    after_button(&state, &m, file, outcome, "restaure").await
}

/// A query-string value, percent-encoded (letters, digits and `-._~` kept).
fn encode_query(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// An entry's date (`YYYY-MM-DD`, a day, not a moment: no time zone) as French
/// readers write it, `20/11/2026`; anything else as it is.
fn day(d: &str) -> String {
    d.parse::<jiff::civil::Date>().map(|d| d.strftime("%d/%m/%Y").to_string()).unwrap_or_else(|_| d.to_string())
}
