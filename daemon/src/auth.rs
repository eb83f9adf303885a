//! Moderators: accounts (argon2id hashes), login sessions with their CSRF
//! token, login throttling, the one-time setup links (the first admin's, and
//! an account's password reset link, [`SetupLink`]), password changes, and
//! the `vitrine user` command-line functions (passwords read by
//! [`read_password`], the one rule for every command that asks for one).
//!
//! Sessions are random 32-byte tokens; only their SHA-256 is stored, so a
//! copy of the database does not let anyone log in.
//!
//! The login throttle ([`LoginThrottle`]) counts failures per (account,
//! address) and per address (an IPv6 address by its /64), never per account
//! alone: failures from one
//! address never refuse the owner's right password from another, so nobody
//! can lock a moderator out from afar. [`LoginThrottle::begin`] checks and
//! reserves an attempt in one step before the password is checked, so
//! concurrent attempts cannot exceed the allowance. Per account it only
//! counts the distinct addresses failures come from, to warn the admins of a
//! spread attack ([`AttackAlert`]). Its memory is bounded (`max_keys`,
//! oldest forgotten first, expired keys dropped from the front of a queue,
//! never by scanning the map).

use std::collections::{HashMap, VecDeque};
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
    /// Reviews, edits, approves and rejects submissions.
    Moderator,
    /// A moderator who also adds and removes accounts.
    Admin,
}

impl Role {
    /// Name stored in the database and accepted by `vitrine user add` and the
    /// accounts page.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }
    /// The role's French name, as the moderation pages and the command line show it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Moderator => "modérateur",
            Role::Admin => "administrateur",
        }
    }
    /// The role named by [`Role::as_str`]; `None` for any other text.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "moderator" => Some(Role::Moderator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A moderator account (without its password hash).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// Row id of the account.
    pub id: i64,
    /// Login name: ASCII letters, digits and `. _ - @`, 64 characters at most.
    pub username: String,
    /// What the account may do.
    pub role: Role,
}

/// A logged-in moderator as seen by a handler.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// The account the session belongs to.
    pub user: User,
    /// The session's CSRF token: every moderation form carries it and is
    /// refused (403) without it.
    pub csrf: String,
}

/// Lifetime of a login session (and of its cookie), in hours.
pub const SESSION_HOURS: i64 = 12;

fn valid_username(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 64
        && u.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// Errors of account management.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The user name is empty, longer than 64 characters or has characters
    /// other than ASCII letters, digits and `. _ - @`.
    #[error("nom d'utilisateur invalide « {0} » (lettres, chiffres, . _ - @ ; 64 caractères au plus)")]
    BadUsername(String),
    /// The password has fewer than 12 characters.
    #[error("mot de passe trop court (12 caractères au moins)")]
    WeakPassword,
    /// An account of that name already exists.
    #[error("l'utilisateur « {0} » existe déjà")]
    Exists(String),
    /// No account of that name (`vitrine user passwd|remove`), or the setup
    /// link is unknown, already used, or there are accounts already.
    #[error("l'utilisateur « {0} » n'existe pas")]
    NotFound(String),
    /// The database failed while creating the account.
    #[error("{0}")]
    Db(#[from] DbError),
    /// The data folder could not be created, or standard input could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The folder concerned (`<stdin>` for standard input).
        path: std::path::PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// `vitrine user add|passwd` read an empty password.
    #[error("mot de passe vide (il est lu sur l'entrée standard, ou dans VITRINE_PASSWORD)")]
    EmptyPassword,
    /// The two passwords typed at the terminal differ.
    #[error("les deux mots de passe diffèrent")]
    Mismatch,
    /// `VITRINE_PASSWORD` is not valid UTF-8.
    #[error("VITRINE_PASSWORD n'est pas un texte UTF-8 valide")]
    NotUtf8,
    /// Argon2 failed to hash the password.
    #[error("hachage du mot de passe : {0}")]
    Hash(String),
}

/// Refuses a password of fewer than 12 characters ([`UserError::WeakPassword`]).
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

/// Number of accounts (0 until the setup link or `vitrine user add` made one).
pub fn user_count(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
}

/// Every account, by name.
pub fn list_users(conn: &Connection) -> Result<Vec<User>, DbError> {
    let mut st = conn.prepare("SELECT id, username, role FROM users ORDER BY username")?;
    let rows = st.query_map([], |r| {
        let role: String = r.get(2)?;
        Ok(User { id: r.get(0)?, username: r.get(1)?, role: Role::parse(&role).unwrap_or(Role::Moderator) })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The names of the admin accounts.
pub fn admin_names(conn: &Connection) -> Result<Vec<String>, DbError> {
    let mut st = conn.prepare("SELECT username FROM users WHERE role = 'admin' ORDER BY username")?;
    let names = st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    Ok(names)
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

/// The session of a cookie token, if it exists and has not expired.
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

/// Ends the session of a cookie token (logout); unknown tokens are ignored.
pub fn delete_session(conn: &Connection, token: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [security::sha256_hex(token.as_bytes())])?;
    Ok(())
}

/// Creates the one-time link of the first admin account (writer job; the
/// daemon prints it at start while there is no account); earlier unused ones
/// stop working.
pub fn new_setup_token(conn: &Connection) -> Result<String, DbError> {
    let token = security::random_token(24);
    conn.execute("DELETE FROM setup_tokens WHERE used_at IS NULL AND user_id IS NULL", [])?;
    conn.execute(
        "INSERT INTO setup_tokens (token_hash, created_at) VALUES (?1, ?2)",
        params![security::sha256_hex(token.as_bytes()), now_string()],
    )?;
    Ok(token)
}

/// How long a password reset link works, in hours.
pub const RESET_LINK_HOURS: i64 = 72;

/// What an unused one-time link of `/moderation/setup/<token>` does.
#[derive(Debug, Clone)]
pub enum SetupLink {
    /// Creates the first admin account (only while there is no account).
    FirstAdmin,
    /// Sets a new password for this account (an admin sent it; it works
    /// [`RESET_LINK_HOURS`] hours).
    Reset(User),
}

/// The link `token` stands for, when it is unused and still valid: a first
/// admin link while there is no account, a reset link younger than
/// [`RESET_LINK_HOURS`] whose account still exists.
pub fn setup_link(conn: &Connection, token: &str) -> Result<Option<SetupLink>, DbError> {
    let found: Option<(Option<i64>, String)> = conn
        .query_row(
            "SELECT user_id, created_at FROM setup_tokens WHERE token_hash = ?1 AND used_at IS NULL",
            [security::sha256_hex(token.as_bytes())],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match found {
        None => Ok(None),
        Some((None, _)) => Ok((user_count(conn)? == 0).then_some(SetupLink::FirstAdmin)),
        Some((Some(user_id), created)) => {
            let oldest = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(RESET_LINK_HOURS))
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            if created < oldest {
                return Ok(None);
            }
            Ok(find_user_by_id(conn, user_id)?.map(SetupLink::Reset))
        }
    }
}

/// The account of row `id`.
pub fn find_user_by_id(conn: &Connection, id: i64) -> Result<Option<User>, DbError> {
    Ok(conn
        .query_row("SELECT id, username, role FROM users WHERE id = ?1", [id], |r| {
            let role: String = r.get(2)?;
            Ok(User { id: r.get(0)?, username: r.get(1)?, role: Role::parse(&role).unwrap_or(Role::Moderator) })
        })
        .optional()?)
}

/// Creates a password reset link for account `user_id` (writer job): the
/// account's earlier unused links stop working; the journal records who sent
/// it. Returns the token and the account.
pub fn new_reset_token(conn: &Connection, user_id: i64, actor: &str) -> Result<(String, User), UserError> {
    let user = find_user_by_id(conn, user_id)?.ok_or_else(|| UserError::NotFound(format!("n°{user_id}")))?;
    let token = security::random_token(24);
    conn.execute("DELETE FROM setup_tokens WHERE used_at IS NULL AND user_id = ?1", [user_id]).map_err(DbError::from)?;
    conn.execute(
        "INSERT INTO setup_tokens (token_hash, created_at, user_id) VALUES (?1, ?2, ?3)",
        params![security::sha256_hex(token.as_bytes()), now_string(), user_id],
    )
    .map_err(DbError::from)?;
    audit(conn, None, actor, "password_reset_link", &serde_json::json!({"username": user.username}))?;
    Ok((token, user))
}

/// Uses a one-time link (writer job): creates the first admin
/// ([`SetupLink::FirstAdmin`], named `username`), or sets the password of the
/// link's account ([`SetupLink::Reset`]; `username` is ignored, every session
/// of the account ends). Returns the account's id. An unknown, used or expired
/// link is [`UserError::NotFound`] « lien d'installation ».
pub fn consume_setup_token(conn: &Connection, token: &str, username: &str, phc: &str) -> Result<i64, UserError> {
    let Some(link) = setup_link(conn, token)? else {
        return Err(UserError::NotFound("lien d'installation".into()));
    };
    conn.execute(
        "UPDATE setup_tokens SET used_at = ?2 WHERE token_hash = ?1",
        params![security::sha256_hex(token.as_bytes()), now_string()],
    )
    .map_err(DbError::from)?;
    match link {
        SetupLink::FirstAdmin => create_user(conn, username, phc, Role::Admin, "installation"),
        SetupLink::Reset(user) => {
            set_password(conn, user.id, phc, None, "lien de réinitialisation")?;
            Ok(user.id)
        }
    }
}

/// Sets the password hash of account `user_id` and ends its sessions, except
/// `keep` (the cookie token of the session that changed it), with a journal
/// entry (writer job). The one rule for the command line, the account page
/// and reset links.
pub fn set_password(conn: &Connection, user_id: i64, phc: &str, keep: Option<&str>, actor: &str) -> Result<(), UserError> {
    let user = find_user_by_id(conn, user_id)?.ok_or_else(|| UserError::NotFound(format!("n°{user_id}")))?;
    conn.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![user_id, phc]).map_err(DbError::from)?;
    let kept = keep.map(|t| security::sha256_hex(t.as_bytes())).unwrap_or_default();
    conn.execute("DELETE FROM sessions WHERE user_id = ?1 AND token_hash != ?2", params![user_id, kept]).map_err(DbError::from)?;
    audit(conn, None, actor, "password_changed", &serde_json::json!({"username": user.username}))?;
    Ok(())
}

/// Removes account `username` (its sessions and links go with it), with a
/// journal entry (writer job).
pub fn remove_user(conn: &Connection, username: &str, actor: &str) -> Result<(), UserError> {
    let n = conn.execute("DELETE FROM users WHERE username = ?1", [username]).map_err(DbError::from)?;
    if n == 0 {
        return Err(UserError::NotFound(username.into()));
    }
    audit(conn, None, actor, "user_removed", &serde_json::json!({"username": username}))?;
    Ok(())
}

// ---- login throttle ----

/// Limits of the [`LoginThrottle`] (production defaults).
#[derive(Debug, Clone)]
pub struct LoginLimits {
    /// Failed attempts allowed for one account from one address in a window.
    pub per_account_address: u32,
    /// Failed attempts allowed from one address, every account together.
    pub per_address: u32,
    /// Length of a window, counted from the first attempt of the key.
    pub window: Duration,
    /// Distinct addresses whose failures on one (existing) account within a
    /// window make the admins be warned, once per window (0: never).
    pub alert_addresses: usize,
    /// Most keys remembered; beyond it the oldest key is forgotten first.
    pub max_keys: usize,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_account_address: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
            alert_addresses: 10,
            max_keys: 50_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// One account from one address: the key that refuses.
    Pair(String, IpAddr),
    /// One address, every account together: also refuses.
    Addr(IpAddr),
    /// One existing account, every address: never refuses, only counts the
    /// distinct addresses its failures come from.
    Account(String),
}

struct Entry {
    /// First attempt of the window; the entry is forgotten `window` later.
    start: Instant,
    /// `Pair`, `Addr`: attempts counted (failures, and attempts under way).
    count: u32,
    /// `Account`: the distinct addresses seen, until the alert.
    addrs: Vec<IpAddr>,
    /// `Account`: the admins were warned in this window.
    alerted: bool,
}

/// The keys and, in the order they were created, the same keys again: every
/// window has the same length, so the expired ones are always at the front.
/// An entry leaves the map only through the front of `order` (expiry or
/// eviction), so both always hold the same keys and nothing is ever scanned.
#[derive(Default)]
struct Table {
    entries: HashMap<Key, Entry>,
    order: VecDeque<(Instant, Key)>,
}

impl Table {
    fn expire(&mut self, now: Instant, window: Duration) {
        while let Some((start, _)) = self.order.front() {
            if now.duration_since(*start) < window {
                break;
            }
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((start, key)) = self.order.pop_front()
            && self.entries.get(&key).is_some_and(|e| e.start == start)
        {
            self.entries.remove(&key);
        }
    }

    /// Start and count of a key (`None` when not remembered).
    fn get(&self, key: &Key) -> Option<(Instant, u32)> {
        self.entries.get(key).map(|e| (e.start, e.count))
    }

    /// The key's entry, created (and the oldest key forgotten if the table is full) when missing.
    fn entry(&mut self, key: &Key, now: Instant, max_keys: usize) -> &mut Entry {
        if !self.entries.contains_key(key) {
            while self.entries.len() >= max_keys.max(3) && !self.order.is_empty() {
                self.pop_oldest();
            }
            self.order.push_back((now, key.clone()));
            self.entries.insert(key.clone(), Entry { start: now, count: 0, addrs: Vec::new(), alerted: false });
        }
        self.entries.get_mut(key).expect("just inserted")
    }

    /// Takes back one reservation made at `start` (if that window still exists).
    fn release(&mut self, key: &Key, start: Instant) {
        if let Some(e) = self.entries.get_mut(key)
            && e.start == start
        {
            e.count = e.count.saturating_sub(1);
        }
    }

    /// Keeps one reservation made at `start` as a failure; counts it anew
    /// when its window was forgotten in between.
    fn keep(&mut self, key: &Key, start: Instant, now: Instant, max_keys: usize) {
        let e = self.entry(key, now, max_keys);
        if e.start != start {
            e.count += 1;
        }
    }
}

/// Refuses logins after too many failures, per (account, address) and per
/// address, so that failures from one address never refuse the owner of the
/// account elsewhere; warns about accounts that fail from many addresses.
///
/// [`LoginThrottle::begin`] checks and reserves an attempt in one step under
/// the lock, before the password is checked: concurrent attempts can never
/// exceed the allowance.
pub struct LoginThrottle {
    table: Mutex<Table>,
    limits: LoginLimits,
}

/// Why an attempt was refused, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Time until the window that refused the attempt ends (the longest one
    /// when both keys refuse).
    pub retry_after: Duration,
}

impl Refused {
    /// The sentence shown on the login page.
    pub fn message(&self) -> String {
        match self.retry_after.as_secs().div_ceil(60) {
            0 | 1 => "Trop de tentatives : réessayez dans une minute.".into(),
            m => format!("Trop de tentatives : réessayez dans {m} minutes."),
        }
    }
}

/// An account whose failures came from `addresses` (all distinct) within one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackAlert {
    /// The account's name as stored.
    pub username: String,
    /// The distinct addresses (IPv6 by their /64) the failures came from.
    pub addresses: Vec<IpAddr>,
    /// Time from the window's first failure to the alert.
    pub within: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Reserved: dropping it gives the slot back (nothing was checked).
    Reserved,
    /// The password is being checked: the attempt counts whatever happens.
    Checking,
    Done,
}

/// An attempt slot reserved by [`LoginThrottle::begin`]. End it with
/// [`Attempt::succeeded`] or [`Attempt::failed`]; dropped before
/// [`Attempt::checking`], it gives its slot back.
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    pair: Key,
    pair_start: Instant,
    addr: Key,
    addr_start: Instant,
    ip: IpAddr,
    stage: Stage,
}

impl LoginThrottle {
    /// An empty throttle with these limits.
    pub fn new(limits: LoginLimits) -> Self {
        LoginThrottle { table: Mutex::new(Table::default()), limits }
    }

    /// The limits the throttle applies.
    pub fn limits(&self) -> &LoginLimits {
        &self.limits
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keys remembered now (never more than `max_keys`).
    pub fn len(&self) -> usize {
        self.table().entries.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that `username` may be tried from `ip` and, in the same step,
    /// reserves the attempt (counted as a failure until it succeeds).
    pub fn begin(&self, username: &str, ip: IpAddr) -> Result<Attempt<'_>, Refused> {
        let l = &self.limits;
        let now = Instant::now();
        let ip = client_network(ip);
        let pair = Key::Pair(account_key(username), ip);
        let addr = Key::Addr(ip);
        let mut t = self.table();
        t.expire(now, l.window);
        let mut wait = None;
        for (key, max) in [(&pair, l.per_account_address), (&addr, l.per_address)] {
            if let Some((start, n)) = t.get(key)
                && n >= max
            {
                let left = l.window.saturating_sub(now.duration_since(start));
                wait = Some(wait.map_or(left, |w: Duration| w.max(left)));
            }
        }
        if let Some(retry_after) = wait {
            return Err(Refused { retry_after });
        }
        let e = t.entry(&pair, now, l.max_keys);
        e.count += 1;
        let pair_start = e.start;
        let e = t.entry(&addr, now, l.max_keys);
        e.count += 1;
        let addr_start = e.start;
        Ok(Attempt { throttle: self, pair, pair_start, addr, addr_start, ip, stage: Stage::Reserved })
    }
}

/// The address as the throttle counts it: an IPv4 address (IPv4-mapped IPv6
/// included) as is, an IPv6 address by its /64 network, since one client
/// usually holds a whole /64 and could otherwise try from fresh addresses.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// The throttle's name for an account: case-insensitive, 64 characters at most.
fn account_key(username: &str) -> String {
    username.chars().take(64).collect::<String>().to_lowercase()
}

impl Attempt<'_> {
    /// The password is about to be checked: from now on the attempt counts,
    /// even if the request is abandoned before its answer.
    pub fn checking(&mut self) {
        if self.stage == Stage::Reserved {
            self.stage = Stage::Checking;
        }
    }

    /// Right password: this account's failures from this address are
    /// forgotten, and the address gets its slot back.
    pub fn succeeded(mut self) {
        self.stage = Stage::Done;
        let mut t = self.throttle.table();
        if let Some(e) = t.entries.get_mut(&self.pair) {
            e.count = 0;
        }
        t.release(&self.addr, self.addr_start);
    }

    /// Wrong password (or no such account): the attempt stays counted. With
    /// `account` (the name of an existing account), the address is also
    /// counted among the distinct addresses failing on that account; the
    /// attempt that reaches `alert_addresses` in a window returns the alert
    /// (once per window).
    pub fn failed(mut self, account: Option<&str>) -> Option<AttackAlert> {
        self.stage = Stage::Done;
        let l = &self.throttle.limits;
        let now = Instant::now();
        let mut t = self.throttle.table();
        t.expire(now, l.window);
        t.keep(&self.pair, self.pair_start, now, l.max_keys);
        t.keep(&self.addr, self.addr_start, now, l.max_keys);
        let name = account?;
        if l.alert_addresses == 0 {
            return None;
        }
        let e = t.entry(&Key::Account(account_key(name)), now, l.max_keys);
        if e.alerted || e.addrs.contains(&self.ip) {
            return None;
        }
        e.addrs.push(self.ip);
        if e.addrs.len() < l.alert_addresses {
            return None;
        }
        e.alerted = true;
        Some(AttackAlert { username: name.to_string(), addresses: std::mem::take(&mut e.addrs), within: now.duration_since(e.start) })
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.stage == Stage::Reserved {
            let mut t = self.throttle.table();
            t.release(&self.pair, self.pair_start);
            t.release(&self.addr, self.addr_start);
        }
    }
}

// ---- command line: `vitrine user add|passwd|remove` ----

/// Opens the site's queue database for a command-line operation.
pub fn open_site_db(site_dir: &Path) -> Result<Db, UserError> {
    let data = site_dir.join(crate::db::DATA_DIR);
    std::fs::create_dir_all(&data).map_err(|e| UserError::Io { path: data.clone(), source: e })?;
    Ok(Db::open(&data.join(crate::db::DB_FILE))?)
}

/// `vitrine user add NAME [--role admin|moderator]`.
pub fn cli_add(site_dir: &Path, username: &str, role: Role, password: &str) -> Result<(), UserError> {
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
pub fn cli_passwd(site_dir: &Path, username: &str, password: &str) -> Result<(), UserError> {
    check_password_strength(password)?;
    let phc = security::hash_password(password).map_err(UserError::Hash)?;
    let db = open_site_db(site_dir)?;
    let u = username.to_string();
    let r = db.write_blocking(move |c| {
        let id = find_user(c, &u)?.map(|(user, _)| user.id).ok_or_else(|| DbError::Conflict(UserError::NotFound(u.clone()).to_string()))?;
        set_password(c, id, &phc, None, "ligne de commande").map_err(|e| DbError::Conflict(e.to_string()))
    });
    db.close();
    Ok(r?)
}

/// `vitrine user remove NAME`.
pub fn cli_remove(site_dir: &Path, username: &str) -> Result<(), UserError> {
    let db = open_site_db(site_dir)?;
    let u = username.to_string();
    let r = db.write_blocking(move |c| remove_user(c, &u, "ligne de commande").map_err(|e| DbError::Conflict(e.to_string())));
    db.close();
    Ok(r?)
}

/// `vitrine user list`: every account, by name.
pub fn cli_list(site_dir: &Path) -> Result<Vec<User>, UserError> {
    let db = open_site_db(site_dir)?;
    let r = db.read_blocking(list_users);
    db.close();
    Ok(r?)
}

/// Reads a new password for the command line, the same way for every
/// command that asks for one (`vitrine user add|passwd`):
/// `VITRINE_PASSWORD` when set; else, at a terminal, typed twice without echo
/// (both must match); else one line of standard input (scripts). A trailing
/// end of line is dropped in every case; an empty password is refused.
pub fn read_password() -> Result<String, UserError> {
    use std::io::IsTerminal;
    let strip = |p: &str| p.trim_end_matches(['\r', '\n']).to_string();
    let stdin_error = |e| UserError::Io { path: "<stdin>".into(), source: e };
    let p = if let Some(p) = std::env::var_os("VITRINE_PASSWORD") {
        strip(&p.into_string().map_err(|_| UserError::NotUtf8)?)
    } else if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Mot de passe : ").map_err(stdin_error)?;
        if first.is_empty() {
            return Err(UserError::EmptyPassword);
        }
        let again = rpassword::prompt_password("Mot de passe, à nouveau : ").map_err(stdin_error)?;
        if first != again {
            return Err(UserError::Mismatch);
        }
        strip(&first)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(stdin_error)?;
        strip(&line)
    };
    if p.is_empty() {
        return Err(UserError::EmptyPassword);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(LoginLimits::default())
    }

    #[test]
    fn attempts_are_reserved_before_the_check_so_concurrent_ones_cannot_exceed_the_allowance() {
        let t = throttle();
        let a = ip("127.0.0.2");
        // Five attempts under way at once (none finished): the sixth is refused.
        let held: Vec<Attempt<'_>> = (0..5).map(|_| t.begin("corr", a).unwrap()).collect();
        let refused = t.begin("corr", a).err().expect("sixth attempt refused");
        assert!(refused.message().starts_with("Trop de tentatives"), "{}", refused.message());
        assert!(refused.retry_after <= t.limits().window);
        // From many threads at once: exactly the allowance gets through.
        drop(held);
        let ok = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..30 {
                s.spawn(|| {
                    if let Ok(mut at) = t.begin("CORR", a) {
                        ok.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        at.checking();
                        let _ = at.failed(Some("corr"));
                    }
                });
            }
        });
        assert_eq!(ok.into_inner(), 5);
    }

    #[test]
    fn an_attempt_dropped_before_the_check_gives_its_slot_back_one_being_checked_does_not() {
        let t = throttle();
        let a = ip("127.0.0.2");
        for _ in 0..20 {
            drop(t.begin("corr", a).unwrap());
        }
        for _ in 0..4 {
            let mut at = t.begin("corr", a).unwrap();
            at.checking();
            drop(at);
        }
        assert!(t.begin("corr", a).unwrap().failed(None).is_none());
        assert!(t.begin("corr", a).is_err(), "four abandoned checks and one failure make five");
    }

    #[test]
    fn failures_from_one_address_never_refuse_another_and_a_success_forgives_its_own() {
        let t = throttle();
        let (a, b) = (ip("127.0.0.2"), ip("127.0.0.3"));
        for _ in 0..5 {
            let _ = t.begin("corr", a).unwrap().failed(Some("corr"));
        }
        assert!(t.begin("corr", a).is_err());
        t.begin("corr", b).unwrap().succeeded();
        assert!(t.begin("corr", a).is_err(), "the owner's success elsewhere does not clear the failing address");
        // Four typos then the right password: the count starts again from there.
        for _ in 0..4 {
            let _ = t.begin("corr", b).unwrap().failed(Some("corr"));
        }
        t.begin("corr", b).unwrap().succeeded();
        for _ in 0..5 {
            let _ = t.begin("corr", b).unwrap().failed(Some("corr"));
        }
        assert!(t.begin("corr", b).is_err());
    }

    #[test]
    fn one_address_is_also_limited_across_accounts() {
        let t = throttle();
        let a = ip("127.0.0.2");
        for i in 0..20 {
            let _ = t.begin(&format!("compte{}", i % 7), a).unwrap().failed(None);
        }
        assert!(t.begin("autre", a).is_err(), "the address used its allowance on other accounts");
        assert!(t.begin("autre", ip("127.0.0.3")).is_ok());
    }

    #[test]
    fn many_failing_addresses_on_one_account_alert_once_and_unknown_accounts_never() {
        let t = throttle();
        let mut alerts = Vec::new();
        for round in 0..2 {
            for i in 1..=14 {
                let a = ip(&format!("127.0.1.{i}"));
                if let Some(al) = t.begin("corr", a).unwrap().failed(Some("corr")) {
                    alerts.push((round, i, al));
                }
                assert!(t.begin("fantome", a).unwrap().failed(None).is_none());
            }
        }
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let (round, i, al) = &alerts[0];
        assert_eq!((*round, *i), (0, 10), "at the tenth distinct address");
        assert_eq!(al.username, "corr");
        assert_eq!(al.addresses.len(), 10);
    }

    #[test]
    fn the_table_never_holds_more_than_max_keys() {
        let t = LoginThrottle::new(LoginLimits { max_keys: 100, ..LoginLimits::default() });
        for i in 0..1000u32 {
            let a = IpAddr::from([127, 1, (i >> 8) as u8, i as u8]);
            let _ = t.begin(&format!("compte{i}"), a).unwrap().failed(Some("corr"));
            assert!(t.len() <= 100, "{} keys", t.len());
        }
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64_network() {
        let t = throttle();
        for i in 1..=5 {
            let _ = t.begin("corr", ip(&format!("2001:db8:1:2::{i}"))).unwrap().failed(Some("corr"));
        }
        assert!(t.begin("corr", ip("2001:db8:1:2:ffff::9")).is_err(), "same /64");
        assert!(t.begin("corr", ip("2001:db8:1:3::1")).is_ok(), "another /64");
        assert_eq!(client_network(ip("::ffff:127.0.0.2")), ip("127.0.0.2"));
        assert_eq!(client_network(ip("127.0.0.2")), ip("127.0.0.2"));
    }

    #[test]
    fn a_first_admin_link_made_before_reset_links_existed_still_works() {
        // A queue of the first schema (before `setup_tokens.user_id`), with an unused link.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, \
                 role TEXT NOT NULL, created_at TEXT NOT NULL);
                 CREATE TABLE setup_tokens (token_hash TEXT PRIMARY KEY, created_at TEXT NOT NULL, used_at TEXT);",
            )
            .unwrap();
            c.execute("INSERT INTO setup_tokens (token_hash, created_at) VALUES (?1, ?2)", params![security::sha256_hex(b"ancien"), now_string()])
                .unwrap();
            c.pragma_update(None, "user_version", 1).unwrap();
        }
        let db = Db::open(&path).unwrap();
        let link = db.read_blocking(|c| setup_link(c, "ancien")).unwrap();
        assert!(matches!(link, Some(SetupLink::FirstAdmin)), "{link:?}");
        db.close();
    }

    #[test]
    fn expired_windows_are_forgotten() {
        let t = LoginThrottle::new(LoginLimits { window: Duration::ZERO, ..LoginLimits::default() });
        let a = ip("127.0.0.2");
        for _ in 0..10 {
            let _ = t.begin("corr", a).unwrap().failed(Some("corr"));
        }
        assert!(t.begin("corr", a).is_ok());
    }
}
