//! Typed errors of the generator.
//!
//! Validation problems are collected as `Diagnostic`s (file, line, column, field,
//! message) so that one run reports every mistake in every file; the other
//! variants are failures that stop a build at once (I/O, templates). I/O errors
//! keep their source. Shared at the bottom of the crate: it imports only `node`
//! (positions) and runs nothing.

use std::fmt;
use std::path::PathBuf;

use crate::node::Pos;

/// One problem found in one source file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// Path relative to the site root (e.g. `content/projects/foo.md`).
    pub file: PathBuf,
    /// Line and column of the problem.
    /// Line and column of the problem.
    pub pos: Pos,
    /// Dotted path of the field (`partners[1].country`), or empty.
    pub field: String,
    /// What is wrong, in French, for the site's editors.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic on `file` at `pos`, about `field` (empty: the whole file).
    pub fn new(file: impl Into<PathBuf>, pos: Pos, field: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { file: file.into(), pos, field: field.into(), message: message.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.pos.line, self.pos.col)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Every diagnostic of a failed validation, sorted by file and position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        let n = self.0.len();
        write!(f, "{n} erreur{}", if n > 1 { "s" } else { "" })
    }
}

/// Why a build (or a check) failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Validation problems, every one of them.
    #[error("{0}")]
    Invalid(Diagnostics),
    /// A template is missing or failed to render (or the search index failed).
    #[error("{}: {message}", file.display())]
    Template {
        /// The template file (or what was being made).
        file: PathBuf,
        /// The engine's message, with what was being rendered.
        message: String,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// The diagnostics of a validation failure (empty for other errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Invalid(d) => &d.0,
            _ => &[],
        }
    }
}

/// Turns a non-empty list of diagnostics into an error.
pub fn check(mut diags: Vec<Diagnostic>) -> Result<(), Error> {
    if diags.is_empty() {
        Ok(())
    } else {
        diags.sort();
        diags.dedup();
        Err(Error::Invalid(Diagnostics(diags)))
    }
}
