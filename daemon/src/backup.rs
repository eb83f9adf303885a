//! `vitrine backup` and `vitrine restore`: a copy of what a site cannot
//! rebuild, taken while the daemon runs.
//!
//! A backup folder holds `queue.sqlite3` (SQLite's online backup, consistent
//! as of one commit: see [`crate::db::backup_to`]), the secret files of
//! `.vitrine/` (mode kept), `outbox/` (with `sent/` and `parked/`), `history/`
//! (the versions the correspondents' editor kept, [`crate::content`]), and under
//! `site/` the sources: `vitrine.yaml`, `content/`, `data/`, `themes/`,
//! `templates/`, `static/` (those present). The queue is copied first, so
//! the content is at least as recent as the queue. It does not copy
//! `public/` or the build caches (rebuilt by `vitrine build`), and restore
//! does not start or stop the daemon (stop it before restoring over a site).

use std::path::{Path, PathBuf};

use crate::db::{DATA_DIR, DB_FILE, DbError};

/// The site's folders and files a backup keeps (those present).
const SITE_ITEMS: &[&str] = &["vitrine.yaml", "content", "data", "themes", "templates", "static"];
/// Marker file naming a folder as a backup.
const MANIFEST: &str = "vitrine-sauvegarde.json";

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The backup folder exists and is not empty.
    #[error("le dossier de sauvegarde {} existe déjà et n'est pas vide", .0.display())]
    NotEmpty(PathBuf),
    /// The folder given to restore is not a backup.
    #[error("{} n'est pas une sauvegarde de vitrine ({MANIFEST} absent)", .0.display())]
    NotABackup(PathBuf),
    /// The site to restore into already has a queue (use `--force`).
    #[error("le site a déjà une file de soumissions ({}) : ajoutez --force pour la remplacer", .0.display())]
    QueueExists(PathBuf),
    /// A file of the site would be replaced (use `--force`).
    #[error("{} existe déjà dans le site : ajoutez --force pour le remplacer", .0.display())]
    FileExists(PathBuf),
    /// Copying the queue failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_owned(), source }
}

/// What a backup or restore copied.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    /// Submissions in the copied queue.
    pub submissions: i64,
    /// Other files copied.
    pub files: usize,
}

/// Copies the site `site` into the new (or empty) folder `dest`.
pub fn backup(site: &Path, dest: &Path) -> Result<Summary, BackupError> {
    if !site.join("vitrine.yaml").is_file() {
        return Err(BackupError::Io {
            path: site.join("vitrine.yaml"),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "pas de site ici"),
        });
    }
    if dest.exists() && std::fs::read_dir(dest).map_err(io(dest))?.next().is_some() {
        return Err(BackupError::NotEmpty(dest.to_owned()));
    }
    std::fs::create_dir_all(dest).map_err(io(dest))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // It holds personal data and the secret.
        std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o700)).map_err(io(dest))?;
    }
    let data = site.join(DATA_DIR);
    let mut summary = Summary::default();
    let db = data.join(DB_FILE);
    if db.is_file() {
        summary.submissions = crate::db::backup_to(&db, &dest.join(DB_FILE))?;
    }
    // Secret files of .vitrine/ (not the queue, caches, build state or temporary files).
    if data.is_dir() {
        for entry in std::fs::read_dir(&data).map_err(io(&data))? {
            let path = entry.map_err(io(&data))?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            if path.is_file() && !name.starts_with('.') && !name.starts_with(DB_FILE) && !name.starts_with("build-") {
                std::fs::copy(&path, dest.join(&name)).map_err(io(&path))?;
                summary.files += 1;
            }
        }
        for dir in ["outbox", "history"] {
            if data.join(dir).is_dir() {
                summary.files += copy_tree(&data.join(dir), &dest.join(dir), true)?;
            }
        }
    }
    for item in SITE_ITEMS {
        let from = site.join(item);
        let to = dest.join("site").join(item);
        if from.is_dir() {
            summary.files += copy_tree(&from, &to, true)?;
        } else if from.is_file() {
            std::fs::create_dir_all(dest.join("site")).map_err(io(dest))?;
            std::fs::copy(&from, &to).map_err(io(&from))?;
            summary.files += 1;
        }
    }
    let manifest = serde_json::json!({
        "vitrine": env!("CARGO_PKG_VERSION"),
        "created_at": crate::db::now_string(),
        "site": site.canonicalize().unwrap_or_else(|_| site.to_owned()),
        "submissions": summary.submissions,
        "files": summary.files,
    });
    let mpath = dest.join(MANIFEST);
    std::fs::write(&mpath, format!("{manifest:#}\n")).map_err(io(&mpath))?;
    Ok(summary)
}

/// Brings the backup `src` back into the site folder `site` (created if
/// needed). Refuses to replace an existing queue or site file unless `force`;
/// checks everything before writing anything.
pub fn restore(src: &Path, site: &Path, force: bool) -> Result<Summary, BackupError> {
    if !src.join(MANIFEST).is_file() {
        return Err(BackupError::NotABackup(src.to_owned()));
    }
    let data = site.join(DATA_DIR);
    let queue = data.join(DB_FILE);
    if queue.exists() && !force {
        return Err(BackupError::QueueExists(queue));
    }
    let site_src = src.join("site");
    if !force && site_src.is_dir() {
        for f in files_under(&site_src)? {
            let target = site.join(f.strip_prefix(&site_src).unwrap_or(&f));
            if target.exists() {
                return Err(BackupError::FileExists(target));
            }
        }
    }
    let mut summary = Summary::default();
    let backup_db = src.join(DB_FILE);
    std::fs::create_dir_all(&data).map_err(io(&data))?;
    if backup_db.is_file() {
        summary.submissions = crate::db::count_submissions(&backup_db)?;
        // Through a temporary file in the target folder, then renamed over the old queue.
        let tmp = tempfile::Builder::new().prefix(".queue-").suffix(".tmp").tempfile_in(&data).map_err(io(&data))?;
        std::fs::copy(&backup_db, tmp.path()).map_err(io(&backup_db))?;
        tmp.as_file().sync_all().map_err(io(tmp.path()))?;
        for side in ["-wal", "-shm"] {
            let p = data.join(format!("{DB_FILE}{side}"));
            if p.exists() {
                std::fs::remove_file(&p).map_err(io(&p))?;
            }
        }
        tmp.persist(&queue).map_err(|e| BackupError::Io { path: queue.clone(), source: e.error })?;
    }
    for entry in std::fs::read_dir(src).map_err(io(src))? {
        let path = entry.map_err(io(src))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if path.is_file() && name != DB_FILE && name != MANIFEST {
            std::fs::copy(&path, data.join(&name)).map_err(io(&path))?;
            summary.files += 1;
        }
    }
    for dir in ["outbox", "history"] {
        if src.join(dir).is_dir() {
            summary.files += copy_tree(&src.join(dir), &data.join(dir), true)?;
        }
    }
    if site_src.is_dir() {
        summary.files += copy_tree(&site_src, site, true)?;
    }
    Ok(summary)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io(&d))? {
            let path = entry.map_err(io(&d))?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    Ok(out)
}

/// Copies the tree `from` into `to` (folders created); returns the number of
/// files. Temporary files (names starting with `.`) are left out, and a file
/// gone meanwhile (a mail moved to `sent/` by the running daemon) is skipped.
fn copy_tree(from: &Path, to: &Path, overwrite: bool) -> Result<usize, BackupError> {
    let files: Vec<PathBuf> = files_under(from)?
        .into_iter()
        .filter(|f| !f.file_name().unwrap_or_default().to_string_lossy().starts_with('.'))
        .collect();
    let mut copied = 0;
    for f in &files {
        let rel = f.strip_prefix(from).unwrap_or(f);
        let target = to.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        if !overwrite && target.exists() {
            return Err(BackupError::FileExists(target));
        }
        match std::fs::copy(f, &target) {
            Ok(_) => copied += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !f.exists() => {}
            Err(e) => return Err(BackupError::Io { path: f.clone(), source: e }),
        }
    }
    Ok(copied)
}
