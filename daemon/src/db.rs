//! The durable review queue: one SQLite file, WAL mode, `synchronous=FULL`.
//!
//! Every write goes through a single writer thread ([`Db::write`]). The writer
//! takes the first waiting job, then drains whatever else is queued (up to a
//! batch limit), runs each job inside its own SAVEPOINT of one transaction and
//! commits once: concurrent submissions share one fsync (group commit). A job's
//! caller is answered only after that COMMIT returned, so an acknowledged
//! submission is on disk.
//!
//! Reads use a small pool of read-only connections (WAL lets them run beside
//! the writer). This module knows SQL, not HTTP or forms.


/// Folder of the daemon's private data inside the site (git-ignored).
pub const DATA_DIR: &str = ".vitrine";
/// The queue database inside [`DATA_DIR`].
pub const DB_FILE: &str = "queue.sqlite3";

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

/// Errors of the queue database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database file could not be opened (or created).
    #[error("base de données {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error
    },
    /// The database file does not exist (backup of a site without a queue).
    #[error("base de données introuvable : {}", .0.display())]
    Missing(PathBuf),
    /// A SQLite statement failed (including a failed migration or savepoint).
    #[error("base de données: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A write was not run: the writer thread has stopped ([`Db::close`] was
    /// called) or could not begin its batch's transaction. Also returned when an
    /// async read's task on the blocking pool panicked.
    #[error("le processus d'écriture de la base de données est arrêté")]
    WriterGone,
    /// The operation was refused or did not commit, with a French message for
    /// the user: the row is missing or in the wrong state, a user-level rule
    /// failed, or the COMMIT carrying the job failed.
    #[error("{0}")]
    Conflict(String),
}

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE submissions (
    id INTEGER PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    collection TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','changes_requested','approved','published','rejected')),
    payload TEXT NOT NULL,
    submitter_name TEXT NOT NULL,
    submitter_email TEXT NOT NULL,
    status_token TEXT NOT NULL UNIQUE,
    idempotency_key TEXT UNIQUE,
    payload_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    decision_reason TEXT,
    publish_error TEXT,
    published_path TEXT,
    published_url TEXT
);
CREATE INDEX submissions_status ON submissions(status, created_at);
CREATE INDEX submissions_collection ON submissions(collection, created_at);
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    position INTEGER NOT NULL,
    mime TEXT NOT NULL,
    ext TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX images_submission ON images(submission_id);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('moderator','admin')),
    created_at TEXT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER REFERENCES submissions(id) ON DELETE CASCADE,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX audit_submission ON audit_log(submission_id, id);
"#, r#"
-- Password reset links (issue 12): a setup token may name the account whose
-- password it sets; without one it creates the first admin, as before.
ALTER TABLE setup_tokens ADD COLUMN user_id INTEGER REFERENCES users(id) ON DELETE CASCADE;
"#];

type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Completion + Send>;

/// Largest number of jobs committed together.
const MAX_BATCH: usize = 256;

/// Handle to the queue database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
}

struct DbInner {
    path: PathBuf,
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    readers: Mutex<Vec<Connection>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

fn open_conn(path: &Path, read_only: bool) -> Result<Connection, DbError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|source| DbError::Open { path: path.to_owned(), source })?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;")?;
    Ok(conn)
}

impl Db {
    /// Opens (creating if needed) the database, runs the migrations and starts the writer.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let mut conn = open_conn(path, false)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!("journal_mode is {mode}, not WAL");
        }
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let writer = std::thread::Builder::new()
            .name("vitrine-db-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .expect("spawn writer thread");
        Ok(Db {
            inner: Arc::new(DbInner {
                path: path.to_owned(),
                tx: Mutex::new(Some(tx)),
                readers: Mutex::new(Vec::new()),
                writer: Mutex::new(Some(writer)),
            }),
        })
    }

    /// The database file this handle opened.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in the writer's transaction; resolves after the COMMIT is durable.
    /// If `f` fails, only its own savepoint is rolled back.
    pub async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<Result<T, DbError>>();
        self.submit(f, move |out| {
            let _ = done_tx.send(out);
        })?;
        done_rx.await.map_err(|_| DbError::WriterGone)?
    }

    /// Blocking variant of [`Db::write`] for the command line (no runtime needed).
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let (done_tx, done_rx) = mpsc::channel::<Result<T, DbError>>();
        self.submit(f, move |out| {
            let _ = done_tx.send(out);
        })?;
        done_rx.recv().map_err(|_| DbError::WriterGone)?
    }

    /// Hands `f` to the writer thread; `reply` gets its result once the COMMIT that
    /// carries it has returned (or failed).
    fn submit<T, F, R>(&self, f: F, reply: R) -> Result<(), DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
        R: FnOnce(Result<T, DbError>) + Send + 'static,
    {
        let job: Job = Box::new(move |conn: &Connection| {
            let result = run_in_savepoint(conn, f);
            Box::new(move |commit: Result<(), String>| {
                reply(match (commit, result) {
                    (Ok(()), r) => r,
                    (Err(e), _) => Err(DbError::Conflict(format!("échec du commit : {e}"))),
                })
            })
        });
        let guard = self.inner.tx.lock().unwrap();
        let sender = guard.as_ref().ok_or(DbError::WriterGone)?;
        sender.send(job).map_err(|_| DbError::WriterGone)
    }

    /// Runs a read on a pooled read-only connection (blocking; call from spawn_blocking or CLI).
    pub fn read_blocking<T>(&self, f: impl FnOnce(&Connection) -> Result<T, DbError>) -> Result<T, DbError> {
        let conn = self.inner.readers.lock().unwrap().pop();
        let conn = match conn {
            Some(c) => c,
            None => open_conn(&self.inner.path, true)?,
        };
        let out = f(&conn);
        let mut pool = self.inner.readers.lock().unwrap();
        if pool.len() < 8 {
            pool.push(conn);
        }
        out
    }

    /// Async read: runs on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read_blocking(f))
            .await
            .map_err(|_| DbError::WriterGone)?
    }

    /// Stops the writer after the queued jobs and closes every connection.
    pub fn close(&self) {
        self.inner.tx.lock().unwrap().take();
        if let Some(h) = self.inner.writer.lock().unwrap().take() {
            let _ = h.join();
        }
        self.inner.readers.lock().unwrap().clear();
    }
}

fn run_in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, DbError>,
) -> Result<T, DbError> {
    conn.execute_batch("SAVEPOINT job")?;
    let r = f(conn);
    match &r {
        Ok(_) => conn.execute_batch("RELEASE job")?,
        Err(_) => conn.execute_batch("ROLLBACK TO job; RELEASE job")?,
    }
    r
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let msg = e.to_string();
            for job in batch {
                // The job is never run: answer with the error.
                let _ = job; // dropping the job drops its oneshot sender => caller sees WriterGone
                tracing::error!("BEGIN failed: {msg}");
            }
            continue;
        }
        let completions: Vec<Completion> = batch.into_iter().map(|job| job(&conn)).collect();
        let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for c in completions {
            c(commit.clone());
        }
    }
    // Channel closed: checkpoint so the WAL is folded back before exit.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    drop(conn);
}

fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
    }
    Ok(())
}

/// Current UTC time as "YYYY-MM-DDTHH:MM:SSZ" (sorts lexicographically).
pub fn now_string() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Adds an audit entry (inside a writer job).
pub fn audit(
    conn: &Connection,
    submission_id: Option<i64>,
    actor: &str,
    action: &str,
    detail: &serde_json::Value,
) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO audit_log (submission_id, actor, action, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![submission_id, actor, action, detail.to_string(), now_string()],
    )?;
    Ok(())
}

/// Whether the database passes SQLite's own integrity check.
pub fn integrity_ok(conn: &Connection) -> Result<bool, DbError> {
    let s: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    Ok(s == "ok")
}

/// Looks up one value, `None` when there is no row.
pub fn opt<T: rusqlite::types::FromSql>(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Option<T>, DbError> {
    Ok(conn.query_row(sql, p, |r| r.get(0)).optional()?)
}

/// Copies the database at `src` into a new file `dest` with SQLite's online
/// backup API, while other processes (the daemon) keep reading and writing
/// it: one step copies every page inside a single read transaction, so the
/// copy is the database as of one commit (WAL readers never block the
/// writer). Returns the number of submissions in the copy. `dest` must not
/// exist.
pub fn backup_to(src: &Path, dest: &Path) -> Result<i64, DbError> {
    use rusqlite::backup::{Backup, StepResult};
    if !src.is_file() {
        return Err(DbError::Missing(src.to_owned()));
    }
    let from = open_conn(src, true)?;
    let mut to = Connection::open_with_flags(dest, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)
        .map_err(|source| DbError::Open { path: dest.to_owned(), source })?;
    {
        let b = Backup::new(&from, &mut to)?;
        loop {
            match b.step(-1)? {
                StepResult::Done => break,
                // Busy or locked (a checkpoint in the daemon): try again shortly.
                _ => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }
    if !integrity_ok(&to)? {
        return Err(DbError::Conflict(format!("la copie {} ne passe pas le contrôle d'intégrité", dest.display())));
    }
    let n: i64 = to.query_row("SELECT count(*) FROM submissions", [], |r| r.get(0))?;
    // Leave one self-contained file (no -wal beside it).
    to.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    Ok(n)
}

/// Number of submissions in the database file at `path` (read-only; used to
/// check a backup before restoring it).
pub fn count_submissions(path: &Path) -> Result<i64, DbError> {
    let conn = open_conn(path, true)?;
    if !integrity_ok(&conn)? {
        return Err(DbError::Conflict(format!("{} ne passe pas le contrôle d'intégrité", path.display())));
    }
    Ok(conn.query_row("SELECT count(*) FROM submissions", [], |r| r.get(0))?)
}
