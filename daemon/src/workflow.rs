//! What happens to a submission once a moderator approves it: check, write,
//! rebuild, record. The HTTP handlers call this module and render its
//! outcome; they never write files or decide a status themselves.
//!
//! 1. **Check** ([`check`]): the entry is written *in memory* exactly as
//!    publishing would write it ([`crate::publish::bundle_files`]), read back by
//!    the generator's own file reader ([`vitrine_generator::model::check_entry`]),
//!    then added to the site in memory and taken through the build pipeline
//!    (model, images, rendering of the pages it affects) by the
//!    [`SiteBuilder`](crate::state::SiteBuilder): the incremental site when one
//!    is kept, else a site loaded for the occasion. If the build would fail,
//!    nothing is written, the submission keeps its status (so it can still be
//!    edited) and the reason is recorded for the moderator.
//! 2. **Write** ([`crate::publish::publish`]): a new bundle, never overwriting.
//! 3. **Rebuild**: the site builder applies the new files. If that still
//!    fails, the bundle just written is removed again (a failed publication
//!    leaves no file behind), the submission goes back to "pending" with the
//!    reason, and the site stays as it was.
//!
//! Not here: notifications (the caller sends them from the outcome), SQL (in
//! [`crate::queue`]), rendering.

use std::path::PathBuf;

use vitrine_generator::load::{Asset, SourceFile};

use crate::db::DbError;
use crate::queue::{self, Status, StoredImage, Submission};
use crate::state::AppState;

/// What became of a publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written and rebuilt: the page is at `url`.
    Live {
        /// URL of the published entry on the site.
        url: String
    },
    /// Nothing was published (and nothing is left on disk); the reason, as the build says it.
    Refused(String),
    /// The submission was not in a state that publishes (already published, rejected…).
    NotApproved,
}

/// Failures of the workflow itself (not of the publication, which is an [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// Reading or recording the submission failed, or its status no longer
    /// allowed the step ([`DbError::Conflict`]).
    #[error(transparent)]
    Db(#[from] DbError),
    /// No submission has that id.
    #[error("soumission introuvable")]
    NotFound,
    /// A blocking step (check, write or rebuild) panicked or was cancelled.
    #[error("tâche de publication interrompue")]
    Task(#[from] tokio::task::JoinError),
}

async fn load(state: &AppState, id: i64) -> Result<(Submission, Vec<StoredImage>), WorkflowError> {
    state
        .db
        .read(move |c| Ok(queue::get(c, id)?.map(|s| (s, queue::images(c, id, true).unwrap_or_default()))))
        .await?
        .ok_or(WorkflowError::NotFound)
}

/// Checks that `sub` would publish and build, writing nothing (see the module doc).
/// Blocking: call it on a blocking thread.
pub fn check_blocking(state: &AppState, sub: &Submission, images: &[StoredImage]) -> Result<(), String> {
    let config = state.config();
    let collection = config.collection(&sub.collection).ok_or_else(|| format!("collection « {} » absente de la configuration", sub.collection))?;
    let title = sub.payload.title.as_str();
    let slug = crate::publish::free_slug(&config, collection, title).ok_or_else(|| format!("aucun identifiant libre pour « {title} »"))?;
    let date = jiff::ZonedDateTime::now().date().to_string();
    let (rel, text, pictures) = crate::publish::bundle_files(collection, sub, images, &slug, &date);
    // The file as the build's reader will see it.
    let diags = vitrine_generator::model::check_entry(&config, &rel, &text);
    if !diags.is_empty() {
        return Err(vitrine_generator::error::Diagnostics(diags).to_string());
    }
    // Then the whole site with it, in memory.
    site_check(state, &rel, &text, &pictures)
}

/// Whether the site builds with `text` at `rel` and `pictures` beside it (in memory):
/// the one check before anything is written, for approvals and the editor.
/// Pictures need a file: a scratch folder under `.vitrine/`, removed after.
pub fn site_check(state: &AppState, rel: &str, text: &str, pictures: &[(String, Vec<u8>)]) -> Result<(), String> {
    let folder = rel.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let scratch = state.data_dir.join(format!("check-{}", crate::security::random_token(6)));
    let result = (|| {
        let mut assets = Vec::new();
        if !pictures.is_empty() {
            std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        }
        for (name, bytes) in pictures {
            let p = scratch.join(name);
            std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
            assets.push(Asset { rel: format!("{folder}/{name}"), src: p });
        }
        let pages = vec![SourceFile { rel: rel.to_string(), text: text.to_string() }];
        let built = match &state.rebuilder {
            Some(rb) => rb.check(pages, assets),
            None => vitrine_generator::incremental::Site::load(vitrine_generator::BuildOptions::new(&state.site_dir))
                .and_then(|mut site| site.check_addition(pages, assets)),
        };
        built.map_err(|e| e.to_string())
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Approves submission `id` (pending or changes requested) and publishes it, if
/// the check passes; otherwise records why and leaves it as it was.
pub async fn approve(state: &AppState, id: i64, actor: &str) -> Result<Outcome, WorkflowError> {
    let _guard = state.publish_lock.lock().await;
    let (sub, images) = load(state, id).await?;
    if !matches!(sub.status, Status::Pending | Status::ChangesRequested) {
        return Err(DbError::Conflict(format!("impossible : la soumission est déjà « {} »", sub.status.label())).into());
    }
    let st = state.clone();
    let checked = tokio::task::spawn_blocking(move || check_blocking(&st, &sub, &images)).await?;
    if let Err(reason) = checked {
        let r = reason.clone();
        state.db.write(move |c| queue::set_publish_refused(c, id, &r)).await?;
        return Ok(Outcome::Refused(reason));
    }
    let who = actor.to_string();
    state.db.write(move |c| queue::transition(c, id, &[Status::Pending, Status::ChangesRequested], Status::Approved, &who, None)).await?;
    publish_locked(state, id).await
}

/// Publishes an approved submission (a retry, or at startup after a crash
/// between approval and publication).
pub async fn publish(state: &AppState, id: i64) -> Result<Outcome, WorkflowError> {
    let _guard = state.publish_lock.lock().await;
    publish_locked(state, id).await
}

/// Publishes every submission left "approved, not published"; returns their outcomes.
pub async fn publish_pending_approvals(state: &AppState) -> Result<Vec<(i64, Outcome)>, WorkflowError> {
    let ids = state.db.read(queue::approved_ids).await?;
    let mut out = Vec::new();
    for id in ids {
        out.push((id, publish(state, id).await?));
    }
    Ok(out)
}

async fn publish_locked(state: &AppState, id: i64) -> Result<Outcome, WorkflowError> {
    let (sub, images) = load(state, id).await?;
    if sub.status != Status::Approved {
        return Ok(Outcome::NotApproved);
    }
    let config = state.config();
    // A bundle written before a crash is reused, never written twice.
    let existing = sub.published_path.clone().filter(|p| state.site_dir.join(p).join("index.md").is_file());
    let (rel_dir, url) = match existing {
        Some(p) => {
            let slug = p.rsplit('/').next().unwrap_or("").to_string();
            let url = config.collection(&sub.collection).map(|c| c.entry_url(&slug)).unwrap_or_default();
            (p, url)
        }
        None => {
            let (cfg, s) = (config.clone(), sub.clone());
            match tokio::task::spawn_blocking(move || crate::publish::publish(&cfg, &s, &images)).await? {
                Ok(p) => {
                    let rel = p.rel_dir.clone();
                    state.db.write(move |c| queue::set_published_path(c, id, &rel)).await?;
                    (p.rel_dir, p.url)
                }
                Err(e) => return fail(state, id, e.to_string()).await,
            }
        }
    };
    if let Some(rb) = &state.rebuilder {
        let rb = rb.clone();
        let dir = state.site_dir.join(&rel_dir);
        let built = tokio::task::spawn_blocking(move || {
            // Pictures first, index.md last: the entry appears complete.
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
                .unwrap_or_default();
            files.sort_by_key(|p| p.file_name().is_some_and(|n| n == "index.md"));
            rb.rebuild(&files)
        })
        .await?;
        if let Err(e) = built {
            let (cfg, rel, rb) = (config.clone(), rel_dir.clone(), state.rebuilder.clone());
            let removed = tokio::task::spawn_blocking(move || {
                let r = crate::publish::remove_bundle(&cfg, &rel);
                // The site in memory was left as it was; tell it the folder is gone.
                if let Some(rb) = rb {
                    let _ = rb.rebuild(&[cfg.root.join(&rel)]);
                }
                r
            })
            .await?;
            let mut reason = e.to_string();
            if let Err(r) = removed {
                reason.push_str(&format!("\n(le dossier écrit n'a pas pu être retiré : {r})"));
            }
            return fail(state, id, reason).await;
        }
    }
    let (p, u) = (rel_dir.clone(), url.clone());
    state.db.write(move |c| queue::set_published(c, id, &p, &u)).await?;
    Ok(Outcome::Live { url })
}

async fn fail(state: &AppState, id: i64, reason: String) -> Result<Outcome, WorkflowError> {
    let r = reason.clone();
    state.db.write(move |c| queue::set_publish_failed(c, id, &r)).await?;
    Ok(Outcome::Refused(reason))
}
