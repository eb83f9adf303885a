//! Commits of the correspondents' changes when `content/` is inside a git
//! repository: the `git` command, run with explicit arguments (never a
//! shell), the repository's hooks and signing settings left out, the author
//! given per commit and the committer being the daemon. Only the paths a
//! change touched are added and committed (`git commit --only`), so whatever
//! else someone has staged by hand is left alone.
//!
//! Without a repository (or without `git` installed) nothing happens: the
//! daemon's own history (`.vitrine/history/`) is the record. Not here: what
//! is written, the journal.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a commit failed (the change itself is written and kept in the history).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `git` could not be started.
    #[error("git : {0}")]
    Spawn(#[from] std::io::Error),
    /// `git` refused (its message).
    #[error("git {command} : {message}")]
    Failed {
        /// The subcommand (`add`, `commit`).
        command: &'static str,
        /// What git printed on stderr.
        message: String,
    },
}

/// Who made a change, for the commit.
#[derive(Debug, Clone)]
pub struct Author {
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env("GIT_TERMINAL_PROMPT", "0")
        .args(["-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false"]);
    c
}

/// The top folder of the git repository holding `dir`, if any.
pub fn repository_of(dir: &Path) -> Option<PathBuf> {
    let out = git(dir).args(["rev-parse", "--show-toplevel"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let top = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(top.trim_end_matches(['\n', '\r'])))
}

/// Commits `paths` (files or folders, added, changed or removed) with
/// `message`, authored by `author`, committed by `committer`. `Ok(false)`
/// when `content_dir` is not in a repository or nothing changed.
pub fn commit(content_dir: &Path, paths: &[PathBuf], author: &Author, committer: &Author, message: &str) -> Result<bool, GitError> {
    let Some(top) = repository_of(content_dir) else { return Ok(false) };
    let top = std::fs::canonicalize(&top).unwrap_or(top);
    let rels: Vec<String> = paths
        .iter()
        .filter_map(|p| {
            // A removed path: its parent still exists.
            let p = std::fs::canonicalize(p).ok().or_else(|| Some(std::fs::canonicalize(p.parent()?).ok()?.join(p.file_name()?)))?;
            p.strip_prefix(&top).ok().map(|r| r.to_string_lossy().into_owned())
        })
        .collect();
    if rels.is_empty() {
        return Ok(false);
    }
    let run = |command: &'static str, cmd: &mut Command| -> Result<std::process::Output, GitError> {
        let out = cmd.output()?;
        if out.status.success() {
            Ok(out)
        } else {
            let message = String::from_utf8_lossy(&out.stderr).trim().chars().take(500).collect();
            Err(GitError::Failed { command, message })
        }
    };
    run("add", git(&top).args(["add", "-A", "--"]).args(&rels))?;
    // Nothing to commit for these paths (the same text saved again).
    let diff = git(&top).args(["diff", "--cached", "--quiet", "--"]).args(&rels).status()?;
    if diff.success() {
        return Ok(false);
    }
    run(
        "commit",
        git(&top)
            .env("GIT_AUTHOR_NAME", &author.name)
            .env("GIT_AUTHOR_EMAIL", &author.email)
            .env("GIT_COMMITTER_NAME", &committer.name)
            .env("GIT_COMMITTER_EMAIL", &committer.email)
            .args(["commit", "--quiet", "--no-verify", "--only", "-m", message, "--"])
            .args(&rels),
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_repository_nothing_happens() {
        let d = tempfile::tempdir().unwrap();
        let who = Author { name: "A".into(), email: "a@example.org".into() };
        std::fs::write(d.path().join("x.md"), "x").unwrap();
        // A temp dir is not in a repository (unless /tmp is; then the test says nothing).
        if repository_of(d.path()).is_none() {
            assert!(!commit(d.path(), &[d.path().join("x.md")], &who, &who, "m").unwrap());
        }
    }
}
