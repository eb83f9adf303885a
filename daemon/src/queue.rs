//! Submissions in the review queue: typed rows and the queries the web pages
//! need (insert with idempotency, list with filters and counts, detail, state
//! changes with their audit entries).
//!
//! Personal data (submitter name and e-mail) lives only in these rows; the
//! publisher never reads those columns.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use crate::db::{DbError, audit, now_string};
use crate::images::CleanImage;
use crate::security;

/// Lifecycle of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for a moderator's review: new, revised by its author, or back
    /// after a failed publication.
    Pending,
    /// A moderator asked the author for changes; the author can revise it
    /// through the status link.
    ChangesRequested,
    /// Accepted by a moderator and not yet published (publication under way,
    /// or interrupted and retried at the next start).
    Approved,
    /// Written to `content/` as a new page bundle (and the site rebuilt); final.
    Published,
    /// Refused by a moderator; final.
    Rejected,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 5] =
        [Status::Pending, Status::ChangesRequested, Status::Approved, Status::Published, Status::Rejected];

    /// Name stored in the database and used in the queue's filter and CSS
    /// classes (`changes_requested`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::ChangesRequested => "changes_requested",
            Status::Approved => "approved",
            Status::Published => "published",
            Status::Rejected => "rejected",
        }
    }

    /// The status named by [`Status::as_str`]; `None` for any other text.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// French label shown to moderators and submitters.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "en attente de relecture",
            Status::ChangesRequested => "modifications demandées",
            Status::Approved => "acceptée, pas encore publiée",
            Status::Published => "publiée",
            Status::Rejected => "refusée",
        }
    }

    /// Whether a moderator can still decide on it.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Pending | Status::ChangesRequested | Status::Approved)
    }
}

/// A submission to insert.
#[derive(Debug)]
pub struct NewSubmission {
    /// Name of the collection (in `vitrine.yaml`) the submission is for.
    pub collection: String,
    /// Validated content: `{"title": .., "body": .., "fields": {..}}`.
    pub payload: crate::payload::Payload,
    /// Submitter's name, shown to moderators; never published.
    pub submitter_name: String,
    /// Submitter's e-mail address, for the decision notifications; never
    /// published.
    pub submitter_email: String,
    /// Client-chosen key (API): a retry with the same key and content gets the
    /// first receipt instead of a second submission.
    pub idempotency_key: Option<String>,
    /// (field name, position, picture).
    pub images: Vec<(String, usize, CleanImage)>,
}

/// What [`insert`] returns; through [`crate::db::Db::write`] the submitter
/// gets it only after the COMMIT, so a receipt means the submission is on disk.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    /// Row id of the submission.
    pub id: i64,
    /// Reference number shown to the submitter (`VT-7K3Q-M9XD`).
    pub reference: String,
    /// Secret token of the submission's status link (`/suivi/{token}`).
    pub status_token: String,
    /// True when the idempotency key had already been used with the same content.
    pub replayed: bool,
}

/// A submission as stored, for the moderators' and the status pages.
#[derive(Debug, Clone, Serialize)]
pub struct Submission {
    /// Row id (used in the moderators' URLs).
    pub id: i64,
    /// Reference number shown to the submitter (`VT-7K3Q-M9XD`).
    pub reference: String,
    /// Name of the collection the submission is for.
    pub collection: String,
    /// Where it is in its lifecycle.
    pub status: Status,
    /// French label of `status` ([`Status::label`]), for the templates.
    pub status_label: &'static str,
    /// Validated content (title, body, schema fields).
    pub payload: crate::payload::Payload,
    /// Submitter's name; never published.
    pub submitter_name: String,
    /// Submitter's e-mail address; never published.
    pub submitter_email: String,
    /// Secret token of the status link (`/suivi/{token}`).
    pub status_token: String,
    /// When it was received, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub created_at: String,
    /// Last change (status, content, publication result), same format.
    pub updated_at: String,
    /// The moderator's message with the last decision that had one (changes
    /// requested, rejection); cleared when the author revises.
    pub decision_reason: Option<String>,
    /// Why the last approval check or publication failed, shown to moderators;
    /// cleared once published.
    pub publish_error: Option<String>,
    /// Bundle folder relative to the site root, recorded as soon as it is
    /// written (so a retry never writes a second copy).
    pub published_path: Option<String>,
    /// URL of the published entry, once published.
    pub published_url: Option<String>,
}

const COLS: &str = "id, reference, collection, status, payload, submitter_name, submitter_email, \
    status_token, created_at, updated_at, decision_reason, publish_error, published_path, published_url";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Submission> {
    let status: String = r.get(3)?;
    let payload: String = r.get(4)?;
    let status = Status::parse(&status).unwrap_or(Status::Pending);
    Ok(Submission {
        id: r.get(0)?,
        reference: r.get(1)?,
        collection: r.get(2)?,
        status,
        status_label: status.label(),
        payload: crate::payload::Payload::from_json(&serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null)),
        submitter_name: r.get(5)?,
        submitter_email: r.get(6)?,
        status_token: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        decision_reason: r.get(10)?,
        publish_error: r.get(11)?,
        published_path: r.get(12)?,
        published_url: r.get(13)?,
    })
}

fn payload_hash(s: &NewSubmission) -> String {
    let mut h = serde_json::json!({
        "c": s.collection, "p": s.payload.to_json(), "n": s.submitter_name, "e": s.submitter_email,
    })
    .to_string();
    for (f, p, img) in &s.images {
        h.push_str(&format!("|{f}:{p}:{}", security::sha256_hex(&img.data)));
    }
    security::sha256_hex(h.as_bytes())
}

/// Inserts a submission (writer job). A reused idempotency key with the same
/// content returns the first receipt; with different content it is a conflict.
pub fn insert(conn: &Connection, s: NewSubmission) -> Result<Receipt, DbError> {
    let hash = payload_hash(&s);
    if let Some(key) = &s.idempotency_key {
        let existing: Option<(i64, String, String, String)> = conn
            .query_row(
                "SELECT id, reference, status_token, payload_hash FROM submissions WHERE idempotency_key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        if let Some((id, reference, status_token, old_hash)) = existing {
            if old_hash == hash {
                return Ok(Receipt { id, reference, status_token, replayed: true });
            }
            return Err(DbError::Conflict(
                "cette clé d'idempotence a déjà servi pour une autre soumission".into(),
            ));
        }
    }
    let now = now_string();
    let status_token = security::random_token(24);
    let mut reference = security::reference_number();
    // Reference numbers are random; retry on the (unlikely) collision.
    while conn
        .query_row("SELECT 1 FROM submissions WHERE reference = ?1", [&reference], |_| Ok(()))
        .optional()?
        .is_some()
    {
        reference = security::reference_number();
    }
    conn.prepare_cached(
        "INSERT INTO submissions (reference, collection, status, payload, submitter_name, submitter_email, \
         status_token, idempotency_key, payload_hash, created_at, updated_at) \
         VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?
    .execute(params![
        reference,
        s.collection,
        s.payload.to_json().to_string(),
        s.submitter_name,
        s.submitter_email,
        status_token,
        s.idempotency_key,
        hash,
        now
    ])?;
    let id = conn.last_insert_rowid();
    for (field, pos, img) in &s.images {
        conn.prepare_cached(
            "INSERT INTO images (submission_id, field, position, mime, ext, width, height, data) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![id, field, *pos as i64, img.mime, img.ext, img.width, img.height, img.data])?;
    }
    audit(conn, Some(id), "soumission", "submitted", &serde_json::json!({"collection": s.collection}))?;
    Ok(Receipt { id, reference, status_token, replayed: false })
}

/// The submission with row id `id`, if any.
pub fn get(conn: &Connection, id: i64) -> Result<Option<Submission>, DbError> {
    Ok(conn
        .query_row(&format!("SELECT {COLS} FROM submissions WHERE id = ?1"), [id], from_row)
        .optional()?)
}

/// The submission whose status link carries `token`, if any.
pub fn get_by_token(conn: &Connection, token: &str) -> Result<Option<Submission>, DbError> {
    Ok(conn
        .query_row(&format!("SELECT {COLS} FROM submissions WHERE status_token = ?1"), [token], from_row)
        .optional()?)
}

/// What the moderators' queue shows; the default is everything, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this collection.
    pub collection: Option<String>,
    /// Only this status.
    pub status: Option<Status>,
    /// Newest first instead of oldest first (by creation time).
    pub newest_first: bool,
}

/// Submissions matching `f`, ordered by creation time, at most `limit` of them.
pub fn list(conn: &Connection, f: &Filter, limit: i64) -> Result<Vec<Submission>, DbError> {
    let order = if f.newest_first { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {COLS} FROM submissions WHERE (?1 IS NULL OR collection = ?1) AND (?2 IS NULL OR status = ?2) \
         ORDER BY created_at {order}, id {order} LIMIT ?3"
    );
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(params![f.collection, f.status.map(|s| s.as_str()), limit], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Counts per (collection, status).
pub fn counts(conn: &Connection) -> Result<Vec<(String, String, i64)>, DbError> {
    let mut st =
        conn.prepare("SELECT collection, status, COUNT(*) FROM submissions GROUP BY collection, status")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Number of submissions, whatever their status.
pub fn total(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM submissions", [], |r| r.get(0))?)
}

/// A submission's picture as stored (already cleaned and re-encoded).
#[derive(Debug, Clone, Serialize)]
pub struct StoredImage {
    /// Row id (used in the picture's URL on the moderators' pages).
    pub id: i64,
    /// Field path the picture belongs to (`cover`, `gallery[2]`).
    pub field: String,
    /// Order among the pictures of `field` (the forms send one per field
    /// path, at 0).
    pub position: i64,
    /// Media type (`image/jpeg` or `image/png`).
    pub mime: String,
    /// File extension without the dot (`jpg` or `png`).
    pub ext: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// The file's bytes; empty when listed with `with_data = false`. Not serialised.
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// The pictures of a submission, by field then position; their bytes only
/// when `with_data`.
pub fn images(conn: &Connection, submission_id: i64, with_data: bool) -> Result<Vec<StoredImage>, DbError> {
    let data_col = if with_data { "data" } else { "x''" };
    let mut st = conn.prepare(&format!(
        "SELECT id, field, position, mime, ext, width, height, {data_col} FROM images \
         WHERE submission_id = ?1 ORDER BY field, position"
    ))?;
    let rows = st.query_map([submission_id], |r| {
        Ok(StoredImage {
            id: r.get(0)?,
            field: r.get(1)?,
            position: r.get(2)?,
            mime: r.get(3)?,
            ext: r.get(4)?,
            width: r.get(5)?,
            height: r.get(6)?,
            data: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// One picture of a submission, with its bytes; `None` if `image_id` is not
/// one of that submission's.
pub fn image(conn: &Connection, submission_id: i64, image_id: i64) -> Result<Option<StoredImage>, DbError> {
    Ok(images(conn, submission_id, true)?.into_iter().find(|i| i.id == image_id))
}

/// One entry of a submission's audit log, as stored (see [`crate::journal`]
/// for the readable form).
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// Who acted: a moderator's user name, or the step's own name
    /// (`soumission`, `publication`, `auteur (lien de suivi)`, …).
    pub actor: String,
    /// What happened, e.g. `submitted`, `approved`, `publish_failed`.
    pub action: String,
    /// Details as JSON text.
    pub detail: String,
    /// When, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub at: String,
}

/// The audit entries of a submission, oldest first.
pub fn audit_entries(conn: &Connection, submission_id: i64) -> Result<Vec<AuditEntry>, DbError> {
    let mut st = conn.prepare(
        "SELECT actor, action, detail, at FROM audit_log WHERE submission_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([submission_id], |r| {
        Ok(AuditEntry { actor: r.get(0)?, action: r.get(1)?, detail: r.get(2)?, at: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Changes the status (writer job), only from one of `from`; records the audit entry.
pub fn transition(
    conn: &Connection,
    id: i64,
    from: &[Status],
    to: Status,
    actor: &str,
    reason: Option<&str>,
) -> Result<(), DbError> {
    let current: Option<String> =
        conn.query_row("SELECT status FROM submissions WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    let Some(current) = current.and_then(|s| Status::parse(&s)) else {
        return Err(DbError::Conflict("soumission introuvable".into()));
    };
    if !from.contains(&current) {
        return Err(DbError::Conflict(format!(
            "impossible : la soumission est déjà « {} »",
            current.label()
        )));
    }
    conn.execute(
        "UPDATE submissions SET status = ?2, decision_reason = COALESCE(?3, decision_reason), updated_at = ?4 WHERE id = ?1",
        params![id, to.as_str(), reason, now_string()],
    )?;
    audit(
        conn,
        Some(id),
        actor,
        to.as_str(),
        &serde_json::json!({"from": current.as_str(), "to": to.as_str(), "reason": reason}),
    )?;
    Ok(())
}

/// Replaces the payload after a moderator's edit (writer job), recording what changed.
pub fn update_payload(
    conn: &Connection,
    id: i64,
    payload: &crate::payload::Payload,
    actor: &str,
) -> Result<(), DbError> {
    let old: Option<String> =
        conn.query_row("SELECT payload FROM submissions WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    let Some(old) = old else { return Err(DbError::Conflict("soumission introuvable".into())) };
    let old: serde_json::Value = serde_json::from_str(&old).unwrap_or_default();
    let mut changed = Vec::new();
    let payload = payload.to_json();
    diff_paths("", &old, &payload, &mut changed);
    conn.execute(
        "UPDATE submissions SET payload = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, payload.to_string(), now_string()],
    )?;
    audit(conn, Some(id), actor, "edited", &serde_json::json!({ "changed": changed }))?;
    Ok(())
}

/// A teacher's revision after "changes requested" (writer job input).
#[derive(Debug)]
pub struct Revision {
    /// Validated content, same shape as [`NewSubmission::payload`].
    pub payload: crate::payload::Payload,
    /// The submitter's name as revised (it replaces the stored one).
    pub submitter_name: String,
    /// The submitter's e-mail address as revised (it replaces the stored one).
    pub submitter_email: String,
    /// Pictures that replace the stored ones of the same field and position.
    pub images: Vec<(String, usize, CleanImage)>,
    /// Nonce of the signed form token (a double click is recognised by it).
    pub form_nonce: String,
}

/// What [`revise`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevisionOutcome {
    /// Stored, back to pending; the changed field paths (names only).
    Revised {
        /// Names of the changed form fields (`summary`, `vt_body`, `vt_name`,
        /// a picture field…), each once.
        changed: Vec<String>
    },
    /// The same form was already stored (double click): nothing done.
    Replayed,
}

/// Applies a submitter's revision (writer job): only from "changes requested";
/// replaces the payload, the submitter's name and e-mail and the replaced
/// pictures, sets the status back to pending, clears the moderator's message
/// (it stays in the audit log) and records what changed. The audit entry holds
/// field names only, never values (personal data included).
pub fn revise(conn: &Connection, id: i64, rev: Revision) -> Result<RevisionOutcome, DbError> {
    let row: Option<(String, String, String, String)> = conn
        .query_row(
            "SELECT status, payload, submitter_name, submitter_email FROM submissions WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((status, old_payload, old_name, old_email)) = row else {
        return Err(DbError::Conflict("soumission introuvable".into()));
    };
    let status = Status::parse(&status).unwrap_or(Status::Pending);
    if status != Status::ChangesRequested {
        if status == Status::Pending && revision_replayed(conn, id, &rev.form_nonce)? {
            return Ok(RevisionOutcome::Replayed);
        }
        return Err(DbError::Conflict(format!(
            "cette proposition est « {} » : elle ne peut être modifiée que lorsque le correspondant demande des modifications",
            status.label()
        )));
    }
    let old: serde_json::Value = serde_json::from_str(&old_payload).unwrap_or_default();
    let mut changed = Vec::new();
    let new_payload = rev.payload.to_json();
    diff_paths("", &old, &new_payload, &mut changed);
    // "fields.summary" -> "summary": the names the form shows.
    for c in &mut changed {
        if let Some(rest) = c.strip_prefix("fields.") {
            *c = rest.to_string();
        } else if c == "body" {
            *c = "vt_body".into();
        }
    }
    // The payload's `title` mirrors `fields.title`: list it once.
    changed.sort();
    changed.dedup();
    if old_name != rev.submitter_name {
        changed.push("vt_name".into());
    }
    if old_email != rev.submitter_email {
        changed.push("vt_email".into());
    }
    let mut replaced = Vec::new();
    for (field, pos, img) in &rev.images {
        conn.execute(
            "DELETE FROM images WHERE submission_id = ?1 AND field = ?2 AND position = ?3",
            params![id, field, *pos as i64],
        )?;
        conn.prepare_cached(
            "INSERT INTO images (submission_id, field, position, mime, ext, width, height, data) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![id, field, *pos as i64, img.mime, img.ext, img.width, img.height, img.data])?;
        replaced.push(field.clone());
    }
    for f in &replaced {
        if !changed.contains(f) {
            changed.push(f.clone());
        }
    }
    conn.execute(
        "UPDATE submissions SET payload = ?2, submitter_name = ?3, submitter_email = ?4, status = 'pending', \
         decision_reason = NULL, updated_at = ?5 WHERE id = ?1",
        params![id, new_payload.to_string(), rev.submitter_name, rev.submitter_email, now_string()],
    )?;
    audit(
        conn,
        Some(id),
        "auteur (lien de suivi)",
        "revised",
        &serde_json::json!({
            "from": Status::ChangesRequested.as_str(),
            "to": Status::Pending.as_str(),
            "changed": changed,
            "images_replaced": replaced,
            "form": rev.form_nonce,
        }),
    )?;
    Ok(RevisionOutcome::Revised { changed })
}

/// Whether a revision posted with this form nonce is already stored.
pub fn revision_replayed(conn: &Connection, id: i64, form_nonce: &str) -> Result<bool, DbError> {
    let marker = serde_json::json!({ "form": form_nonce }).to_string();
    let marker = marker.trim_start_matches('{').trim_end_matches('}').to_string();
    Ok(conn
        .query_row(
            "SELECT 1 FROM audit_log WHERE submission_id = ?1 AND action = 'revised' AND instr(detail, ?2) > 0",
            params![id, marker],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn diff_paths(prefix: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                diff_paths(&p, x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), out);
            }
        }
        _ if a != b => out.push(prefix.to_string()),
        _ => {}
    }
}

/// Records a successful publication.
pub fn set_published(conn: &Connection, id: i64, path: &str, url: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE submissions SET status = 'published', publish_error = NULL, published_path = ?2, \
         published_url = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, path, url, now_string()],
    )?;
    audit(conn, Some(id), "publication", "published", &serde_json::json!({"path": path, "url": url}))?;
    Ok(())
}

/// A publication that failed after approval (nothing left on disk): back to
/// pending, editable, with the reason shown to moderators.
pub fn set_publish_failed(conn: &Connection, id: i64, error: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE submissions SET status = 'pending', publish_error = ?2, published_path = NULL, updated_at = ?3 WHERE id = ?1",
        params![id, error, now_string()],
    )?;
    audit(conn, Some(id), "publication", "publish_failed", &serde_json::json!({"error": error}))?;
    Ok(())
}

/// An approval refused by the pre-publication check: the status is unchanged,
/// the reason is shown to moderators.
pub fn set_publish_refused(conn: &Connection, id: i64, error: &str) -> Result<(), DbError> {
    conn.execute("UPDATE submissions SET publish_error = ?2, updated_at = ?3 WHERE id = ?1", params![id, error, now_string()])?;
    audit(conn, Some(id), "publication", "publish_refused", &serde_json::json!({"error": error}))?;
    Ok(())
}

/// Submissions approved but not yet published, oldest first.
pub fn approved_ids(conn: &Connection) -> Result<Vec<i64>, DbError> {
    let mut st = conn.prepare("SELECT id FROM submissions WHERE status = 'approved' ORDER BY id")?;
    let ids = st.query_map([], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

/// Records that the file was written even if the rebuild later fails, so a retry never writes a second copy.
pub fn set_published_path(conn: &Connection, id: i64, path: &str) -> Result<(), DbError> {
    conn.execute("UPDATE submissions SET published_path = ?2 WHERE id = ?1", params![id, path])?;
    Ok(())
}

/// Due date of a label request: last day of the month following the request.
pub fn label_due_date(created_at: &str) -> Option<jiff::civil::Date> {
    let d: jiff::civil::Date = created_at.get(..10)?.parse().ok()?;
    let first_of_month = d.first_of_month();
    let in_two = first_of_month.checked_add(jiff::Span::new().months(2)).ok()?;
    in_two.yesterday().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_date_is_end_of_following_month() {
        assert_eq!(label_due_date("2026-11-28T10:00:00Z").unwrap().to_string(), "2026-12-31");
        assert_eq!(label_due_date("2026-12-01T00:00:00Z").unwrap().to_string(), "2027-01-31");
        assert_eq!(label_due_date("2027-01-31T23:59:59Z").unwrap().to_string(), "2027-02-28");
        assert!(label_due_date("garbage").is_none());
    }
}

/// Written in place of a submitter's erased name and e-mail address.
pub const ERASED: &str = "effacé";

/// Why a submitter's personal data was erased (recorded in the journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// At the person's request (`vitrine privacy purge`).
    Request,
    /// The retention period after the final decision has passed.
    Retention,
}

/// One submission whose submitter's personal data was erased.
#[derive(Debug, Clone, Serialize)]
pub struct Erased {
    /// Row id.
    pub id: i64,
    /// Reference number (kept: it names the journal's entries and e-mails).
    pub reference: String,
    /// The e-mail address that was erased.
    pub email: String,
}

/// The submissions sent with the e-mail address `email` (compared without
/// case), oldest first.
pub fn by_submitter(conn: &Connection, email: &str) -> Result<Vec<Submission>, DbError> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLS} FROM submissions WHERE submitter_email = ?1 COLLATE NOCASE ORDER BY id"
    ))?;
    let rows = st.query_map([email], from_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Erases the name and e-mail address of every submission sent with `email`
/// (writer job): both become [`ERASED`], the pictures of decided submissions
/// (published: they are in `content/`; rejected) are deleted, and each gets
/// a journal entry. Content, status, decisions and the journal stay.
pub fn erase_submitter(conn: &Connection, email: &str, actor: &str) -> Result<Vec<Erased>, DbError> {
    let ids: Vec<(i64, String, String)> = {
        let mut st = conn.prepare(
            "SELECT id, reference, submitter_email FROM submissions WHERE submitter_email = ?1 COLLATE NOCASE ORDER BY id",
        )?;
        st.query_map([email], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?
    };
    erase(conn, ids, actor, Erasure::Request)
}

/// Erases the personal data (as [`erase_submitter`]) of every submission
/// published or rejected before `cutoff` (`YYYY-MM-DDTHH:MM:SSZ`, compared
/// with the last change, which for a decided submission is its decision)
/// and not erased yet (writer job).
pub fn erase_decided_before(conn: &Connection, cutoff: &str, actor: &str) -> Result<Vec<Erased>, DbError> {
    let ids: Vec<(i64, String, String)> = {
        let mut st = conn.prepare(
            "SELECT id, reference, submitter_email FROM submissions \
             WHERE status IN ('published', 'rejected') AND updated_at < ?1 AND submitter_email <> ?2 ORDER BY id",
        )?;
        st.query_map(params![cutoff, ERASED], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    erase(conn, ids, actor, Erasure::Retention)
}

fn erase(conn: &Connection, rows: Vec<(i64, String, String)>, actor: &str, why: Erasure) -> Result<Vec<Erased>, DbError> {
    let reason = match why {
        Erasure::Request => "demande de la personne",
        Erasure::Retention => "durée de conservation écoulée",
    };
    let mut out = Vec::with_capacity(rows.len());
    for (id, reference, email) in rows {
        conn.execute(
            "UPDATE submissions SET submitter_name = ?2, submitter_email = ?2 WHERE id = ?1",
            params![id, ERASED],
        )?;
        let pictures = conn.execute(
            "DELETE FROM images WHERE submission_id = ?1 AND \
             (SELECT status FROM submissions WHERE id = ?1) IN ('published', 'rejected')",
            [id],
        )?;
        audit(conn, Some(id), actor, "personal_data_erased", &serde_json::json!({"reason": reason, "pictures_deleted": pictures}))?;
        out.push(Erased { id, reference, email });
    }
    Ok(out)
}
