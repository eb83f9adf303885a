//! Submitters' personal data (GDPR): what the site holds about one e-mail
//! address ([`export`]: queue rows, their journal, the notifications to or
//! about them in the outbox), erasing it on request ([`purge`]) and after the
//! retention period ([`apply_retention`], run by the daemon at start and
//! daily).
//!
//! Erasing replaces the name and address with [`queue::ERASED`], deletes the
//! pictures of decided submissions and the `.eml` files to or about the
//! person (outbox, `sent/`, `parked/`); it keeps the published content (in
//! `content/`, which never holds personal data), the submission's status,
//! content and decisions, and every journal entry (one more records the
//! erasure). This module does no SQL (see [`crate::queue`]) and never touches
//! `content/`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::db::{DATA_DIR, DB_FILE, Db, DbError};
use crate::queue::{self, Erased};

/// Why a privacy command failed.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The argument is not an e-mail address.
    #[error("adresse électronique invalide « {value} » : {source}")]
    BadEmail {
        /// The text given.
        value: String,
        /// The parser's reason.
        source: lettre::address::AddressError,
    },
    /// The site has no queue database (wrong `--site`, or the daemon never ran there).
    #[error("pas de file de soumissions dans ce site : {} n'existe pas", .0.display())]
    NoQueue(PathBuf),
    /// The queue database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Reading or removing a file of the outbox failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// What [`purge`] erased.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PurgeReport {
    /// The submissions whose name and address were erased.
    pub submissions: Vec<Erased>,
    /// The `.eml` files removed (paths relative to the outbox).
    pub mails_removed: Vec<String>,
}

/// The address, trimmed, if it parses as an e-mail address (RFC 5322).
pub fn check_email(s: &str) -> Result<String, PrivacyError> {
    let t = s.trim();
    t.parse::<lettre::Address>()
        .map(|_| t.to_string())
        .map_err(|source| PrivacyError::BadEmail { value: s.to_string(), source })
}

fn open_queue(site_dir: &Path) -> Result<Db, PrivacyError> {
    let path = site_dir.join(DATA_DIR).join(DB_FILE);
    if !path.is_file() {
        return Err(PrivacyError::NoQueue(path));
    }
    Ok(Db::open(&path)?)
}

/// One notification file of the outbox.
struct MailFile {
    /// Relative to the outbox (`sent/…eml`).
    rel: String,
    path: PathBuf,
    to: Vec<String>,
    subject: String,
    date: String,
    text: String,
}

/// Every `.eml` of the outbox and of its `sent/` and `parked/` folders.
fn mail_files(outbox: &Path) -> Result<Vec<MailFile>, PrivacyError> {
    let mut out = Vec::new();
    for sub in ["", "sent", "parked"] {
        let dir = if sub.is_empty() { outbox.to_path_buf() } else { outbox.join(sub) };
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(PrivacyError::Io { path: dir, source }),
        };
        for entry in rd {
            let path = entry.map_err(|source| PrivacyError::Io { path: dir.clone(), source })?.path();
            if path.extension().is_none_or(|x| x != "eml") {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|source| PrivacyError::Io { path: path.clone(), source })?;
            let msg = mail_parser::MessageParser::default().parse(&bytes[..]);
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let rel = if sub.is_empty() { name } else { format!("{sub}/{name}") };
            let (to, subject, date, text) = match &msg {
                Some(m) => (
                    m.to().map(|a| a.iter().filter_map(|a| a.address().map(str::to_string)).collect()).unwrap_or_default(),
                    m.subject().unwrap_or_default().to_string(),
                    m.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
                    m.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
                ),
                None => (Vec::new(), String::new(), String::new(), String::new()),
            };
            out.push(MailFile { rel, path, to, subject, date, text });
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Whether a notification is to `email` or about one of `references`.
fn concerns(m: &MailFile, email: Option<&str>, references: &[String]) -> bool {
    email.is_some_and(|e| m.to.iter().any(|t| t.eq_ignore_ascii_case(e)))
        || references.iter().any(|r| m.subject.contains(r.as_str()) || m.text.contains(r.as_str()))
}

/// Everything the site holds about the submitter `email`, as JSON: their
/// submissions (content, name and address as stored, status, dates, decision,
/// pictures' descriptions, journal) and the notifications to or about them.
/// Status-link tokens are left out (they are keys, not data about the person).
pub fn export(site_dir: &Path, email: &str) -> Result<Value, PrivacyError> {
    let email = check_email(email)?;
    let db = open_queue(site_dir)?;
    let e = email.clone();
    let rows = db.read_blocking(move |c| {
        let mut out = Vec::new();
        for s in queue::by_submitter(c, &e)? {
            let journal = queue::audit_entries(c, s.id)?;
            let pictures = queue::images(c, s.id, false)?;
            out.push((s, journal, pictures));
        }
        Ok(out)
    })?;
    db.close();
    let references: Vec<String> = rows.iter().map(|(s, _, _)| s.reference.clone()).collect();
    let submissions: Vec<Value> = rows
        .into_iter()
        .map(|(s, journal, pictures)| {
            json!({
                "reference": s.reference,
                "collection": s.collection,
                "status": s.status.as_str(),
                "status_label": s.status_label,
                "submitter": {"name": s.submitter_name, "email": s.submitter_email},
                "created_at": s.created_at,
                "updated_at": s.updated_at,
                "content": s.payload.to_json(),
                "decision_reason": s.decision_reason,
                "published_url": s.published_url,
                "pictures": pictures,
                "journal": journal.iter().map(|j| json!({
                    "at": j.at,
                    "actor": j.actor,
                    "action": j.action,
                    "label": crate::journal::action_label(&j.action),
                    "detail": serde_json::from_str::<Value>(&j.detail).unwrap_or(Value::String(j.detail.clone())),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let outbox = site_dir.join(DATA_DIR).join("outbox");
    let mails: Vec<Value> = mail_files(&outbox)?
        .into_iter()
        .filter(|m| concerns(m, Some(&email), &references))
        .map(|m| json!({"file": m.rel, "date": m.date, "to": m.to, "subject": m.subject, "text": m.text}))
        .collect();
    Ok(json!({
        "email": email,
        "exported_at": crate::db::now_string(),
        "submissions": submissions,
        "mails": mails,
    }))
}

/// Removes the notifications to `email` (when given) or about `references`;
/// returns their paths relative to the outbox.
fn remove_mails(outbox: &Path, email: Option<&str>, references: &[String]) -> Result<Vec<String>, PrivacyError> {
    let mut removed = Vec::new();
    for m in mail_files(outbox)? {
        if !concerns(&m, email, references) {
            continue;
        }
        std::fs::remove_file(&m.path).map_err(|source| PrivacyError::Io { path: m.path.clone(), source })?;
        let mut reason = m.path.file_name().unwrap_or_default().to_os_string();
        reason.push(".reason");
        let _ = std::fs::remove_file(m.path.with_file_name(reason));
        removed.push(m.rel);
    }
    Ok(removed)
}

/// Erases the personal data of the submitter `email` (see the module's
/// documentation); what was erased is returned.
pub fn purge(site_dir: &Path, email: &str) -> Result<PurgeReport, PrivacyError> {
    let email = check_email(email)?;
    let db = open_queue(site_dir)?;
    let e = email.clone();
    let erased = db.write_blocking(move |c| queue::erase_submitter(c, &e, "ligne de commande (effacement)"));
    db.close();
    let erased = erased?;
    let references: Vec<String> = erased.iter().map(|s| s.reference.clone()).collect();
    let mails_removed = remove_mails(&site_dir.join(DATA_DIR).join("outbox"), Some(&email), &references)?;
    Ok(PurgeReport { submissions: erased, mails_removed })
}

/// The moment `months` months before `now`, as the queue writes times.
pub fn cutoff(now: jiff::Timestamp, months: u32) -> String {
    let then = now
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .checked_sub(jiff::Span::new().months(i64::from(months)))
        .map(|z| z.timestamp())
        .unwrap_or(jiff::Timestamp::MIN);
    then.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Erases the personal data of every submission decided (published or
/// rejected) more than `months` months before `now`, and the notifications
/// about them; `months == 0` erases nothing. Blocking (the daemon runs it on
/// the blocking pool, at start and daily).
pub fn apply_retention(db: &Db, outbox: &Path, months: u32, now: jiff::Timestamp) -> Result<Vec<Erased>, PrivacyError> {
    if months == 0 {
        return Ok(Vec::new());
    }
    let cut = cutoff(now, months);
    let erased = db.write_blocking(move |c| queue::erase_decided_before(c, &cut, "durée de conservation"))?;
    if !erased.is_empty() {
        let references: Vec<String> = erased.iter().map(|s| s.reference.clone()).collect();
        // Only mails about these submissions: the same person may have a recent one.
        remove_mails(outbox, None, &references)?;
    }
    Ok(erased)
}
