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
    /// Creating the data folder, reading or creating the HMAC secret, or reading
    /// a password from standard input (`vitrine user`) failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder concerned (`<stdin>` for standard input).
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error
    },
    /// `vitrine.yaml` could not be loaded (the generator's message).
    #[error("configuration du site : {0}")]
    Config(String),
    /// Opening, migrating, reading or writing the queue database failed.
    #[error("{0}")]
    Db(#[from] db::DbError),
    /// A `vitrine user` password was refused (shorter than 12 characters, or
    /// empty) or could not be hashed.
    #[error("{0}")]
    User(#[from] auth::UserError),
    /// The listen address (`--listen` or `daemon.listen`) is not a valid socket address.
    #[error("adresse d'écoute « {0} » invalide")]
    Listen(String),
    /// The daemon's embedded page templates failed to compile.
    #[error("modèles de page du démon : {0}")]
    Template(String),
    /// `daemon.smtp` is set but cannot work (missing password variable, bad
    /// address, plaintext to a remote host, TLS setup failed, …).
    #[error(transparent)]
    Smtp(#[from] smtp::SmtpConfigError),
}
