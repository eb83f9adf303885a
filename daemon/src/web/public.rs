//! The teachers' side: the submission form pages (the theme's page with a
//! fresh form token, or the daemon's own), and the form POST (token, honeypot,
//! pictures, [`crate::submission::check_draft`], storage, acknowledgement).

use axum::extract::{Path as UrlPath, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value as Json, json};
use vitrine_generator::config::Collection;
use vitrine_generator::forms::{self, FormOptions};
use vitrine_generator::schema::{FieldError, Kind};

use crate::queue::{self, NewSubmission};
use crate::security::{self, TokenProblem};
use crate::state::AppState;
use crate::submission::*;
use super::*;

pub(crate) fn form_options(config: &vitrine_generator::config::Config, collection: &Collection, more: Option<String>) -> FormOptions {
    let mut opts = FormOptions { lang: config.language.clone(), more, ..FormOptions::default() };
    for f in &collection.schema.fields {
        if let Kind::Reference { collection: target } = &f.kind {
            opts.references.insert(target.clone(), list_entries(config, target));
        }
    }
    opts
}

pub(crate) struct FormView<'a> {
    values: Json,
    errors: Vec<FieldError>,
    notice: Option<&'a str>,
    /// The list whose "add one" button was pressed.
    more: Option<String>,
}

/// Puts a hidden token input right after the `<form …>` tag that posts to the collection.
pub(crate) fn inject_token(html: &str, collection: &str, token: &str) -> Option<String> {
    let action = format!("/submit/{collection}\"");
    let form_at = html.find(&action).and_then(|i| html[..i].rfind("<form"))?;
    let end = html[form_at..].find('>').map(|j| form_at + j + 1)?;
    Some(format!("{}<input type=\"hidden\" name=\"vt_token\" value=\"{token}\">{}", &html[..end], &html[end..]))
}

pub(crate) fn replace_region(html: &str, start: &str, end: &str, with: &str) -> Option<String> {
    let a = html.find(start)?;
    let b = html[a..].find(end).map(|j| a + j + end.len())?;
    Some(format!("{}{with}{}", &html[..a], &html[b..]))
}

/// The theme's own form page (built by the generator into `public/`), shown
/// again with the teacher's values, the errors next to the fields, an error
/// summary and a fresh token. `None` when the page is not built (then the
/// daemon's own template is used).
pub(crate) fn themed_form(state: &AppState, collection: &Collection, view: &FormView<'_>, opts: &FormOptions, token: &str) -> Option<String> {
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

pub(crate) fn render_form(state: &AppState, collection: &Collection, view: FormView<'_>) -> Result<String, AppError> {
    let config = state.config();
    let submit = collection.submit.as_ref().ok_or(AppError::NotFound)?;
    let now = jiff::Timestamp::now().as_second();
    let opts = form_options(&config, collection, view.more.clone());
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
    Ok(render(state, "form.html", ctx)?)
}

pub(crate) async fn form_page(State(state): State<AppState>, UrlPath(name): UrlPath<String>) -> Result<Html<String>, AppError> {
    let config = state.config();
    let collection = submittable(&config, &name).ok_or(AppError::NotFound)?;
    let view = FormView { values: json!({}), errors: Vec::new(), notice: None, more: None };
    Ok(Html(render_form(&state, collection, view)?))
}

/// The site's own form page (`/proposer/<path>/`, written by the generator with
/// the theme's templates) served with a fresh signed token injected, so that
/// the first submission from the themed page passes the token check.
pub(crate) async fn static_form_page(State(state): State<AppState>, UrlPath(path): UrlPath<String>) -> Result<Response, AppError> {
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

pub(crate) async fn submit_form(
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
    let redisplay = |values: Json, errors: Vec<FieldError>, notice: Option<&str>, status: StatusCode, more: Option<String>| {
        let view = FormView { values, errors, notice, more };
        render_form(&state, &collection, view).map(|html| AppError::Page(status, html))
    };
    // An "add one" button: the form again with one more row in that list, nothing stored.
    if let Some(list) = take(&pairs, "vt_more") {
        let notice = if uploads.is_empty() { None } else { Some(PICTURES_AGAIN) };
        return Err(redisplay(values, Vec::new(), notice, StatusCode::OK, Some(list.to_string()))?);
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
            let status = if p == TokenProblem::TooFast { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::UNPROCESSABLE_ENTITY };
            return Err(redisplay(values, Vec::new(), Some(token_notice(p)), status, None)?);
        }
    };
    // Pictures: sniff, check, re-encode; errors are field errors.
    let (images, mut errors) = attach_pictures(&state.settings.image_limits, &collection, uploads, &mut values, &pairs, true).await?;
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
            return Err(redisplay(values, errors, Some(PICTURES_AGAIN), StatusCode::UNPROCESSABLE_ENTITY, None)?);
        }
        Err(mut e) => {
            errors.append(&mut e);
            let notice = if images.is_empty() { None } else { Some(PICTURES_AGAIN) };
            return Err(redisplay(values, errors, notice, StatusCode::UNPROCESSABLE_ENTITY, None)?);
        }
    };
    let receipt = store(&state, &collection, checked, draft, Some(format!("form:{nonce}")), images).await?;
    Ok(Redirect::to(&format!("/suivi/{}?nouveau=1", receipt.status_token)).into_response())
}

pub(crate) async fn store(
    state: &AppState,
    collection: &Collection,
    checked: Checked,
    draft: Draft,
    idempotency_key: Option<String>,
    images: Vec<(String, usize, crate::images::CleanImage)>,
) -> Result<queue::Receipt, AppError> {
    let payload = crate::payload::Payload::new(checked.fields, &draft.body);
    let title = payload.title.clone();
    let lines = crate::summary::lines(&collection.schema, &payload.fields);
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
        notify_new(state, collection, &receipt, &title);
        let status_url = format!("{}/suivi/{}", state.settings.public_url, receipt.status_token);
        send_mail(
            state,
            crate::mails::received(&crate::mails::Received {
                to: draft.email.trim(),
                reference: &receipt.reference,
                singular: &collection.singular,
                title: &title,
                lines: &lines,
                body: &draft.body,
                status_url: &status_url,
            }),
        );
    }
    Ok(receipt)
}

pub(crate) fn notify_new(state: &AppState, collection: &Collection, receipt: &queue::Receipt, title: &str) {
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
            if !e.is_transient() {
                tracing::warn!("{e}");
                return;
            }
            tracing::warn!("courriel gardé dans la boîte d'envoi (nouvel essai plus tard) : {e}");
            state.delivery_failed();
        }
    });
}
