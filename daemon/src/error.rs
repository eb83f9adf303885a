//! [`DaemonError`]: what stops the daemon from starting or a `vitrine user`
//! command from finishing, each variant wrapping its source. Handlers' errors
//! are [`crate::web::AppError`]; this one is for startup and the command line.

use std::path::PathBuf;

use crate::{auth, db, smtp};

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
