//! Vitrine's moderation daemon: teachers' submission forms, a durable SQLite
//! review queue, the moderators' pages, and publishing approved entries as new
//! Markdown files followed by an in-process rebuild of the site.
//!
//! Entry points, used by the `vitrine` binary (`vitrine daemon`, `vitrine serve`,
//! `vitrine user`): [`server::state_with_rebuilder`] and [`server::serve_router`],
//! [`web::app`] (the axum router, usable in tests with `oneshot`), and
//! [`auth`]'s `cli_*` functions. Nothing here is global: every
//! handler reads the [`AppState`] it is given.
//!
//! Notification e-mails always go to the `.vitrine/outbox/` folder first; when
//! `daemon.smtp` is configured, [`smtp`] then delivers them in the background.
//!
//! What it deliberately does not do: edit existing content files (approval
//! only ever creates new files).

pub mod auth;
pub mod db;
pub mod images;
pub mod journal;
pub mod markdown;
pub mod outbox;
pub mod payload;
pub mod preview;
pub mod publish;
pub mod queue;
pub mod rules;
pub mod ratelimit;
pub mod security;
pub mod server;
pub mod smtp;
pub mod state;
pub mod submission;
pub mod templates;
pub mod web;
pub mod workflow;

use std::path::PathBuf;

pub use server::Options;
pub use state::AppState;

/// Folder of the daemon's private data inside the site (git-ignored).
pub const DATA_DIR: &str = ".vitrine";
/// The queue database inside [`DATA_DIR`].
pub const DB_FILE: &str = "queue.sqlite3";

/// Errors that stop the daemon or a command-line operation.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("configuration du site : {0}")]
    Config(String),
    #[error("{0}")]
    Db(#[from] db::DbError),
    #[error("{0}")]
    User(#[from] auth::UserError),
    #[error("adresse d'écoute « {0} » invalide")]
    Listen(String),
    #[error("modèles de page du démon : {0}")]
    Template(String),
    #[error(transparent)]
    Smtp(#[from] smtp::SmtpConfigError),
}
