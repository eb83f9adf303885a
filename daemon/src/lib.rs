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
//! Approval only ever creates new files; correspondents change existing
//! entries through [`editor`], which keeps every previous version
//! (`.vitrine/history/`, and a git commit when `content/` is in a repository).

pub mod auth;
pub mod backup;
pub mod content;
pub mod dates;
pub mod db;
pub mod editor;
pub mod entry_log;
pub mod error;
pub mod git;
pub mod images;
pub mod journal;
pub mod mails;
pub mod markdown;
pub mod outbox;
pub mod payload;
pub mod preview;
pub mod privacy;
pub mod publish;
pub mod queue;
pub mod rules;
pub mod ratelimit;
pub mod security;
pub mod server;
pub mod smtp;
pub mod state;
pub mod submission;
pub mod summary;
pub mod templates;
pub mod web;
pub mod workflow;


pub use server::Options;
pub use state::AppState;

pub use db::{DATA_DIR, DB_FILE};
pub use error::DaemonError;
