//! The journal of the correspondents' changes to `content/` (created,
//! edited, withdrawn, put back, earlier version restored): rows of the same
//! `audit_log` table as the queue's journal, with no submission and the
//! entry's key (`collection/slug`) in their detail. The only SQL of the
//! editor; the readable form is [`crate::journal`]'s.

use rusqlite::Connection;

use crate::db::{DbError, audit};
use crate::queue::AuditEntry;

/// Records a change of entry `key` (inside a writer job); `detail` is
/// completed with the key.
pub fn record(conn: &Connection, actor: &str, action: &str, key: &str, mut detail: serde_json::Value) -> Result<(), DbError> {
    if let Some(o) = detail.as_object_mut() {
        o.insert("entry".into(), serde_json::Value::String(key.to_string()));
    }
    audit(conn, None, actor, action, &detail)
}

/// The journal of entry `key`, oldest first.
pub fn entries(conn: &Connection, key: &str) -> Result<Vec<AuditEntry>, DbError> {
    let mut st = conn.prepare(
        "SELECT actor, action, detail, at FROM audit_log WHERE submission_id IS NULL AND json_extract(detail, '$.entry') = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([key], |r| Ok(AuditEntry { actor: r.get(0)?, action: r.get(1)?, detail: r.get(2)?, at: r.get(3)? }))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
