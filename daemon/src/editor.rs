//! What happens when a correspondent changes an entry from the browser
//! (create, edit, withdraw, put back, restore an earlier version): the same
//! steps as an approval ([`crate::workflow`]), for any entry of `content/`.
//!
//! 1. **Validate** ([`save`]): the form's values go through
//!    [`crate::submission::check_draft`], the one path of the teachers' forms
//!    and the moderators' edits (schema, Markdown rules, the file written and
//!    read back by the build's reader): errors come back per field and
//!    nothing is written.
//! 2. **Check** (one publication at a time, under `publish_lock`): the file on
//!    disk must still have the hash the form was opened on
//!    ([`Outcome::Changed`] otherwise), the new text is read back by
//!    [`vitrine_generator::model::check_entry`] and the site is built with
//!    it in memory ([`SiteBuilder::check`](crate::state::SiteBuilder::check)).
//! 3. **Write** ([`crate::content`]): the previous version kept in
//!    `.vitrine/history/`, the file replaced atomically (or a new bundle).
//! 4. **Rebuild** through the same [`SiteBuilder::rebuild`](crate::state::SiteBuilder::rebuild)
//!    as approvals (the incremental path); if it fails, the previous text is
//!    put back (a new bundle removed) and the site rebuilt as it was.
//! 5. **Record**: a git commit when `content/` is in a repository
//!    ([`crate::git`]; a failed commit is noted, the change stays), and a
//!    journal entry (who, what, which version was kept).
//!
//! Not here: HTTP, SQL (in [`crate::entry_log`]), rendering of forms.

use std::path::PathBuf;

use serde_json::{Map, Value as Json, json};
use vitrine_generator::config::Collection;
use vitrine_generator::schema::FieldError;

use crate::content::{self, ContentError, EntryFile};
use crate::db::DbError;
use crate::state::AppState;
use crate::submission::{Draft, Picture, check_draft, fe};

/// Failures of the editor itself (a refused change is an [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    /// Recording in the journal failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The entry's files could not be read or written.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// A blocking step panicked or was cancelled.
    #[error("tâche interrompue")]
    Task(#[from] tokio::task::JoinError),
}

/// What became of a change.
#[derive(Debug)]
pub enum Outcome {
    /// Written, rebuilt, recorded.
    Saved {
        /// The entry.
        file: EntryFile,
        /// Its public URL.
        url: String,
    },
    /// The form's values are not valid: errors per field, nothing written.
    Invalid(Vec<FieldError>),
    /// The site would not build with it (or the rebuild failed and the change
    /// was undone): the build's message.
    Refused(String),
    /// The file changed since the form was opened: nothing written.
    Changed,
}

/// Who makes a change.
#[derive(Debug, Clone)]
pub struct Who {
    /// The account's user name (journal).
    pub actor: String,
    /// The commit author.
    pub author: crate::git::Author,
}

impl Who {
    /// The correspondent `username`: the commit author is that name, with the
    /// name as e-mail address when it is one, else `<name>@<host of the daemon's URL>`.
    pub fn new(username: &str, public_url: &str) -> Who {
        let email = if vitrine_generator::schema::is_email(username) {
            username.to_string()
        } else {
            let host = public_url.split("://").nth(1).unwrap_or(public_url).split(['/', ':']).next().unwrap_or("localhost");
            format!("{}@{}", vitrine_generator::locale::slug(username, 60).unwrap_or_else(|| "correspondant".into()), if host.is_empty() { "localhost" } else { host })
        };
        Who { actor: username.to_string(), author: crate::git::Author { name: username.to_string(), email } }
    }
}

/// Which entry a form saves.
#[derive(Debug, Clone)]
pub enum Target {
    /// A new entry of this collection (a bundle named after its title).
    New(String),
    /// An existing entry, as it was when the form was opened (its [`content::hash`]).
    Existing(EntryFile, String),
}

/// The French name of an action, for commit messages.
fn action_words(action: &str) -> &'static str {
    match action {
        "content_created" => "Création",
        "content_edited" => "Modification",
        "content_withdrawn" => "Retrait",
        "content_republished" => "Remise en ligne",
        "content_version_restored" => "Restauration d'une version antérieure",
        _ => "Changement",
    }
}

/// Validates a form (fields, body, date) and saves it (see the module doc).
/// `pictures`: the uploads as [`crate::submission::attach_pictures`] took them
/// (their `src` set in `draft.fields`); they get new names here.
pub async fn save(state: &AppState, who: &Who, target: Target, mut draft: Draft, date: &str, pictures: Vec<Picture>) -> Result<Outcome, EditorError> {
    let config = state.config();
    let name = match &target {
        Target::New(c) => c.clone(),
        Target::Existing(f, _) => f.collection.clone(),
    };
    let collection = content::collection(&config, &name)?.clone();
    let mut date_errors = Vec::new();
    let date = match content::parse_date(date) {
        Ok(d) => d,
        Err(m) => {
            date_errors.push(fe("vt_date", m));
            None
        }
    };
    // New file names for the pictures, written into the values.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(values) = draft.fields.as_object_mut() {
        for (path, _, img) in pictures {
            let name = content::picture_name(&path, img.ext);
            vitrine_generator::field_path::set(values, &format!("{path}.src"), Json::String(name.clone()));
            files.push((name, img.data));
        }
    }
    if let Target::Existing(f, _) = &target
        && !f.bundle
        && !files.is_empty()
    {
        return Ok(Outcome::Invalid(vec![fe(
            "vt_body",
            "cette entrée est un fichier seul (sans dossier) : une image ne peut pas y être ajoutée depuis le navigateur",
        )]));
    }
    let checked = match check_draft(&config, &collection, &draft, false) {
        Ok(c) if date_errors.is_empty() => c,
        Ok(_) => return Ok(Outcome::Invalid(date_errors)),
        Err(mut errors) => {
            errors.extend(date_errors);
            return Ok(Outcome::Invalid(errors));
        }
    };
    let payload = crate::payload::Payload::new(checked.fields, &draft.body);
    let withdrawn = match &target {
        Target::Existing(f, _) => content::open(f).map(|o| o.draft).unwrap_or(false),
        Target::New(_) => false,
    };
    let text = crate::publish::render_entry_with(&collection, &payload, date.as_deref(), withdrawn);
    let action = if matches!(target, Target::New(_)) { "content_created" } else { "content_edited" };
    apply(state, who, &collection, target, Box::new(move |_| text.clone()), files, action, &payload.title).await
}

/// Withdraws an entry from the site (`draft: true`, the file kept) or puts it back.
pub async fn set_withdrawn(state: &AppState, who: &Who, file: EntryFile, hash: String, withdrawn: bool) -> Result<Outcome, EditorError> {
    let config = state.config();
    let collection = content::collection(&config, &file.collection)?.clone();
    let opened = content::open(&file)?;
    let text = content::set_draft(&opened.text, withdrawn)?;
    let title = opened.fields.get("title").and_then(Json::as_str).unwrap_or_default().to_string();
    let action = if withdrawn { "content_withdrawn" } else { "content_republished" };
    apply(state, who, &collection, Target::Existing(file, hash), Box::new(move |_| text.clone()), Vec::new(), action, &title).await
}

/// Makes version `id` of the entry's history its current text (the current
/// one is kept as a version, as for every change).
pub async fn restore_version(state: &AppState, who: &Who, file: EntryFile, hash: String, id: &str) -> Result<Outcome, EditorError> {
    let config = state.config();
    let collection = content::collection(&config, &file.collection)?.clone();
    let text = content::version_text(&state.data_dir, &file.collection, &file.slug, id)?;
    let title = content::open(&file).ok().and_then(|o| o.fields.get("title").and_then(Json::as_str).map(str::to_string)).unwrap_or_default();
    apply(state, who, &collection, Target::Existing(file, hash), Box::new(move |_| text.clone()), Vec::new(), "content_version_restored", &title).await
}

type TextOf = Box<dyn Fn(&str) -> String + Send + Sync>;

/// Steps 2 to 5 of the module doc, for the text `text_of(slug)`.
#[allow(clippy::too_many_arguments)]
async fn apply(
    state: &AppState,
    who: &Who,
    collection: &Collection,
    target: Target,
    text_of: TextOf,
    pictures: Vec<(String, Vec<u8>)>,
    action: &'static str,
    title: &str,
) -> Result<Outcome, EditorError> {
    let _guard = state.publish_lock.lock().await;
    let started = std::time::Instant::now();
    let config = state.config();
    // Where the text goes, and what the file holds now.
    let (rel, slug, previous) = match &target {
        Target::Existing(f, hash) => {
            let current = std::fs::read_to_string(&f.path).map_err(|e| ContentError::Write(crate::publish::PublishError::Io { path: f.path.clone(), source: e }))?;
            if content::hash(&current) != *hash {
                return Ok(Outcome::Changed);
            }
            (f.rel.clone(), f.slug.clone(), Some(current))
        }
        Target::New(_) => {
            let Some(slug) = crate::publish::free_slug(&config, collection, title) else {
                return Ok(Outcome::Refused(format!("aucun identifiant libre pour « {title} »")));
            };
            let prefix = if collection.dir.is_empty() { String::new() } else { format!("{}/", collection.dir) };
            (format!("{prefix}{slug}/index.md"), slug, None)
        }
    };
    let text = text_of(&slug);
    if previous.as_deref() == Some(text.as_str()) && pictures.is_empty() {
        // Nothing changed: nothing to write, to commit or to record.
        if let Target::Existing(file, _) = target {
            let url = collection.entry_url(&file.slug);
            return Ok(Outcome::Saved { file, url });
        }
    }
    // Read back as the build reads it, then the whole site with it, in memory.
    let diags = vitrine_generator::model::check_entry(&config, &rel, &text);
    if !diags.is_empty() {
        return Ok(Outcome::Refused(vitrine_generator::error::Diagnostics(diags).to_string()));
    }
    let st = state.clone();
    let (r, t, p) = (rel.clone(), text.clone(), pictures.clone());
    let checked = tokio::task::spawn_blocking(move || crate::workflow::site_check(&st, &r, &t, &p)).await?;
    if let Err(reason) = checked {
        return Ok(Outcome::Refused(reason));
    }
    let checked_in = started.elapsed();
    // Write.
    let (cfg, data_dir, coll) = (config.clone(), state.data_dir.clone(), collection.clone());
    let (tgt, t, p, ttl) = (target.clone(), text.clone(), pictures.clone(), title.to_string());
    let written = tokio::task::spawn_blocking(move || -> Result<(EntryFile, Option<String>), ContentError> {
        match tgt {
            Target::Existing(f, hash) => {
                let v = content::replace(&data_dir, &f, &hash, &t, &p)?;
                Ok((f, Some(v)))
            }
            Target::New(_) => Ok((content::create(&cfg, &coll, &ttl, &|_| t.clone(), &p)?, None)),
        }
    })
    .await?;
    let (file, version) = match written {
        Ok(w) => w,
        Err(ContentError::Changed) => return Ok(Outcome::Changed),
        Err(e) => return Err(e.into()),
    };
    let dir = file.path.parent().map(|d| d.to_path_buf()).unwrap_or_default();
    let mut changed: Vec<PathBuf> = pictures.iter().map(|(n, _)| dir.join(n)).collect();
    changed.push(file.path.clone());
    // Rebuild through the one incremental path; undo on failure.
    if let Some(rb) = state.rebuilder.clone() {
        let (paths, f, prev, cfg) = (changed.clone(), file.clone(), previous.clone(), config.clone());
        let failed = tokio::task::spawn_blocking(move || {
            let e = rb.rebuild(&paths).err()?;
            let undone = match &prev {
                Some(text) => content::put_back(&f, text),
                None => content::remove_created(&cfg, &f),
            };
            let mut reason = e.to_string();
            if let Err(u) = undone {
                reason.push_str(&format!("\n(la version précédente n'a pas pu être remise : {u})"));
            }
            let back: Vec<PathBuf> = if prev.is_some() { vec![f.path.clone()] } else { vec![f.path.parent().map(|d| d.to_path_buf()).unwrap_or_default()] };
            let _ = rb.rebuild(&back);
            Some(reason)
        })
        .await?;
        if let Some(reason) = failed {
            return Ok(Outcome::Refused(reason));
        }
    }
    let rebuilt_in = started.elapsed();
    // Record: git (when content/ is in a repository), then the journal.
    let message = format!("{} : {} « {} » ({})", action_words(action), collection.singular.to_lowercase(), title, file.key());
    let (content_dir, author) = (config.content_dir(), who.author.clone());
    let committer = crate::git::Author { name: "vitrine".into(), email: state.settings.mail_from.clone() };
    let git = tokio::task::spawn_blocking(move || crate::git::commit(&content_dir, &changed, &author, &committer, &message)).await?;
    let mut detail = json!({"title": title, "file": format!("content/{}", file.rel)});
    if let Some(v) = &version {
        detail["version"] = Json::String(v.clone());
    }
    match git {
        Ok(true) => detail["git"] = Json::String("commit".into()),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!("commit git refusé : {e}");
            detail["git_error"] = Json::String(e.to_string());
        }
    }
    let (actor, key) = (who.actor.clone(), file.key());
    state.db.write(move |c| crate::entry_log::record(c, &actor, action, &key, detail)).await?;
    tracing::info!(
        "{} {} : vérifiée en {} ms, écrite et reconstruite en {} ms, enregistrée (git, journal) en {} ms",
        action_words(action),
        file.key(),
        checked_in.as_millis(),
        (rebuilt_in - checked_in).as_millis(),
        (started.elapsed() - rebuilt_in).as_millis()
    );
    let url = collection.entry_url(&file.slug);
    Ok(Outcome::Saved { file, url })
}


/// The page of an entry as it would be published with the form's values
/// (withdrawn entries and future dates included), rendered by the site's
/// templates ([`crate::preview::render_page`]). Blocking.
pub fn preview(state: &AppState, collection: &Collection, file: Option<&EntryFile>, fields: Map<String, Json>, body: &str, date: Option<&str>) -> Result<String, String> {
    let payload = crate::payload::Payload::new(fields, body);
    let text = crate::publish::render_entry_with(collection, &payload, date, false);
    let rel = match file {
        Some(f) => f.rel.clone(),
        None => {
            let prefix = if collection.dir.is_empty() { String::new() } else { format!("{}/", collection.dir) };
            format!("{prefix}apercu-{}/index.md", crate::security::random_token(4))
        }
    };
    crate::preview::render_page(&state.site_dir, &rel, &text, &[], &|_, _| None)
}
