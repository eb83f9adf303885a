//! Moderators: accounts (argon2id hashes), login sessions with their CSRF
//! token, login throttling, the one-time setup link, and the `vitrine user`
//! command-line functions.
//!
//! Sessions are random 32-byte tokens; only their SHA-256 is stored, so a
//! copy of the database does not let anyone log in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::db::{Db, DbError, audit, now_string};
use crate::security;

/// Moderator roles: admins also manage accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Moderator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "moderator" => Some(Role::Moderator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

/// A logged-in moderator as seen by a handler.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub user: User,
    pub csrf: String,
}

pub const SESSION_HOURS: i64 = 12;

fn valid_username(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 64
        && u.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// Errors of account management.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("nom d'utilisateur invalide « {0} » (lettres, chiffres, . _ - @ ; 64 caractères au plus)")]
    BadUsername(String),
    #[error("mot de passe trop court (12 caractères au moins)")]
    WeakPassword,
    #[error("l'utilisateur « {0} » existe déjà")]
    Exists(String),
    #[error("l'utilisateur « {0} » n'existe pas")]
    NotFound(String),
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("hachage du mot de passe : {0}")]
    Hash(String),
}

pub fn check_password_strength(p: &str) -> Result<(), UserError> {
    if p.chars().count() < 12 { Err(UserError::WeakPassword) } else { Ok(()) }
}

/// Creates a user (writer job).
pub fn create_user(conn: &Connection, username: &str, phc: &str, role: Role, actor: &str) -> Result<i64, UserError> {
    if !valid_username(username) {
        return Err(UserError::BadUsername(username.into()));
    }
    let exists: Option<i64> =
        conn.query_row("SELECT id FROM users WHERE username = ?1", [username], |r| r.get(0)).optional().map_err(DbError::from)?;
    if exists.is_some() {
        return Err(UserError::Exists(username.into()));
    }
    conn.execute(
        "INSERT INTO users (username, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![username, phc, role.as_str(), now_string()],
    )
    .map_err(DbError::from)?;
    let id = conn.last_insert_rowid();
    audit(conn, None, actor, "user_added", &serde_json::json!({"username": username, "role": role.as_str()}))?;
    Ok(id)
}

pub fn user_count(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
}

/// Looks up a user and their password hash.
pub fn find_user(conn: &Connection, username: &str) -> Result<Option<(User, String)>, DbError> {
    Ok(conn
        .query_row("SELECT id, username, role, password_hash FROM users WHERE username = ?1", [username], |r| {
            let role: String = r.get(2)?;
            Ok((
                User { id: r.get(0)?, username: r.get(1)?, role: Role::parse(&role).unwrap_or(Role::Moderator) },
                r.get::<_, String>(3)?,
            ))
        })
        .optional()?)
}

/// Creates a session (writer job); returns the cookie token.
pub fn create_session(conn: &Connection, user_id: i64) -> Result<String, DbError> {
    let token = security::random_token(32);
    let csrf = security::random_token(24);
    let now = jiff::Timestamp::now();
    let expires = now + jiff::SignedDuration::from_hours(SESSION_HOURS);
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            security::sha256_hex(token.as_bytes()),
            user_id,
            csrf,
            now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
        ],
    )?;
    conn.execute("DELETE FROM sessions WHERE expires_at < ?1", [now_string()])?;
    Ok(token)
}

pub fn find_session(conn: &Connection, token: &str) -> Result<Option<Session>, DbError> {
    Ok(conn
        .query_row(
            "SELECT u.id, u.username, u.role, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
            params![security::sha256_hex(token.as_bytes()), now_string()],
            |r| {
                let role: String = r.get(2)?;
                Ok(Session {
                    user: User { id: r.get(0)?, username: r.get(1)?, role: Role::parse(&role).unwrap_or(Role::Moderator) },
                    csrf: r.get(3)?,
                })
            },
        )
        .optional()?)
}

pub fn delete_session(conn: &Connection, token: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [security::sha256_hex(token.as_bytes())])?;
    Ok(())
}

/// Creates a one-time setup token (writer job) when there is no user and no unused token younger than a day.
pub fn new_setup_token(conn: &Connection) -> Result<String, DbError> {
    let token = security::random_token(24);
    conn.execute("DELETE FROM setup_tokens WHERE used_at IS NULL", [])?;
    conn.execute(
        "INSERT INTO setup_tokens (token_hash, created_at) VALUES (?1, ?2)",
        params![security::sha256_hex(token.as_bytes()), now_string()],
    )?;
    Ok(token)
}

pub fn setup_token_valid(conn: &Connection, token: &str) -> Result<bool, DbError> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM setup_tokens WHERE token_hash = ?1 AND used_at IS NULL",
            [security::sha256_hex(token.as_bytes())],
            |r| r.get(0),
        )
        .optional()?;
    Ok(found.is_some() && user_count(conn)? == 0)
}

/// Uses the setup token to create the first admin (writer job).
pub fn consume_setup_token(conn: &Connection, token: &str, username: &str, phc: &str) -> Result<i64, UserError> {
    if !setup_token_valid(conn, token)? {
        return Err(UserError::NotFound("lien d'installation".into()));
    }
    conn.execute(
        "UPDATE setup_tokens SET used_at = ?2 WHERE token_hash = ?1",
        params![security::sha256_hex(token.as_bytes()), now_string()],
    )
    .map_err(DbError::from)?;
    create_user(conn, username, phc, Role::Admin, "installation")
}

/// Counts failed logins per key (user name, IP) and refuses after too many.
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    pub max_failures: u32,
    pub window: Duration,
}

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        LoginThrottle { failures: Mutex::new(HashMap::new()), max_failures, window }
    }

    fn keys(username: &str, ip: IpAddr) -> [String; 2] {
        [format!("u:{}", username.to_lowercase()), format!("i:{ip}")]
    }

    /// Whether another attempt is allowed now.
    pub fn allowed(&self, username: &str, ip: IpAddr) -> bool {
        let mut m = self.failures.lock().unwrap();
        let now = Instant::now();
        m.retain(|_, (_, t)| now.duration_since(*t) < self.window);
        Self::keys(username, ip).iter().all(|k| m.get(k).is_none_or(|(n, _)| *n < self.max_failures))
    }

    pub fn failed(&self, username: &str, ip: IpAddr) {
        let mut m = self.failures.lock().unwrap();
        for k in Self::keys(username, ip) {
            let e = m.entry(k).or_insert((0, Instant::now()));
            e.0 += 1;
        }
    }

    pub fn succeeded(&self, username: &str) {
        self.failures.lock().unwrap().remove(&format!("u:{}", username.to_lowercase()));
    }
}

// ---- command line: `vitrine user add|passwd|remove` ----

/// Opens the site's queue database for a command-line operation.
pub fn open_site_db(site_dir: &Path) -> Result<Db, crate::DaemonError> {
    let data = site_dir.join(crate::DATA_DIR);
    std::fs::create_dir_all(&data).map_err(|e| crate::DaemonError::Io { path: data.clone(), source: e })?;
    Ok(Db::open(&data.join(crate::DB_FILE))?)
}

/// `vitrine user add NAME [--role admin|moderator]`.
pub fn cli_add(site_dir: &Path, username: &str, role: Role, password: &str) -> Result<(), crate::DaemonError> {
    check_password_strength(password)?;
    let phc = security::hash_password(password).map_err(UserError::Hash)?;
    let db = open_site_db(site_dir)?;
    let username = username.to_string();
    let r = db.write_blocking(move |c| {
        create_user(c, &username, &phc, role, "ligne de commande").map_err(|e| DbError::Conflict(e.to_string()))
    });
    db.close();
    r?;
    Ok(())
}

/// `vitrine user passwd NAME`: sets a new password and ends the user's sessions.
pub fn cli_passwd(site_dir: &Path, username: &str, password: &str) -> Result<(), crate::DaemonError> {
    check_password_strength(password)?;
    let phc = security::hash_password(password).map_err(UserError::Hash)?;
    let db = open_site_db(site_dir)?;
    let u = username.to_string();
    let r = db.write_blocking(move |c| {
        let n = c.execute("UPDATE users SET password_hash = ?2 WHERE username = ?1", params![u, phc])?;
        if n == 0 {
            return Err(DbError::Conflict(UserError::NotFound(u).to_string()));
        }
        c.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?1)", [&u])?;
        audit(c, None, "ligne de commande", "password_changed", &serde_json::json!({"username": u}))?;
        Ok(())
    });
    db.close();
    Ok(r?)
}

/// `vitrine user remove NAME`.
pub fn cli_remove(site_dir: &Path, username: &str) -> Result<(), crate::DaemonError> {
    let db = open_site_db(site_dir)?;
    let u = username.to_string();
    let r = db.write_blocking(move |c| {
        let n = c.execute("DELETE FROM users WHERE username = ?1", [&u])?;
        if n == 0 {
            return Err(DbError::Conflict(UserError::NotFound(u).to_string()));
        }
        audit(c, None, "ligne de commande", "user_removed", &serde_json::json!({"username": u}))?;
        Ok(())
    });
    db.close();
    Ok(r?)
}

/// Reads a password for the command line: `VITRINE_PASSWORD` if set, else one line of standard input.
pub fn read_password() -> Result<String, crate::DaemonError> {
    if let Ok(p) = std::env::var("VITRINE_PASSWORD") {
        return Ok(p);
    }
    eprintln!("Mot de passe (une ligne sur l'entrée standard) :");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| crate::DaemonError::Io { path: "<stdin>".into(), source: e })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
