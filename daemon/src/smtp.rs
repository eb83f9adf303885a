//! Optional SMTP delivery of the outbox (`daemon.smtp` in `vitrine.yaml`).
//!
//! The `.eml` file written by [`crate::outbox`] stays the message of record:
//! [`Mailer::deliver_file`] sends that file's exact bytes (blocking, so callers
//! run it on `spawn_blocking`), and only after the server accepted it moves the
//! file to `outbox/sent/`. A failed delivery leaves the file in the outbox, where
//! [`Mailer::deliver_pending`] picks it up: at the next start, and while the
//! daemon runs, after waits that grow by [`Backoff`] (1 min, doubling, at most
//! 1 h by default; the loop itself is `server::retry_outbox_in_background`).
//! Nothing is lost; the worst case (server accepted, then the move failed) is a
//! duplicate. A message the server refuses permanently (a 5xx reply, e.g.
//! `550 no such user`) or whose `To:` cannot be used is never retried: it is
//! moved to `outbox/parked/` with the reason beside it (`<file>.reason`), and
//! [`parked`] lists them for the admins' page (`/moderation/courriels`).
//!
//! TLS is rustls with the ring provider and the bundled Mozilla roots (no
//! OpenSSL, no cmake). Plain SMTP is accepted only towards a loopback relay.
//! The password is read from the environment variable named by
//! `password_env`, never from the file.
//!
//! What it deliberately does not do: keep a connection pool, retry a parked
//! message (an admin fixes the address and writes a new one, or moves the
//! file back to the outbox by hand), or build messages itself (the outbox
//! renders them).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use lettre::Transport;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::SmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use vitrine_generator::config::{Smtp, SmtpTls};

/// Name of the folder, inside the outbox, of the messages the server accepted.
pub const SENT_DIR: &str = "sent";

/// Name of the folder, inside the outbox, of the messages refused for good
/// (a permanent SMTP refusal, an unusable `To:`), each with a `.reason` file.
pub const PARKED_DIR: &str = "parked";

/// A `daemon.smtp` setting that cannot work; reported at startup.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    /// The environment variable named by `password_env` is not set.
    #[error("vitrine.yaml: daemon.smtp.password_env: la variable d'environnement « {0} » n'est pas définie (elle doit contenir le mot de passe SMTP)")]
    MissingPassword(String),
    /// `username` is set without `password_env`.
    #[error("vitrine.yaml: daemon.smtp.password_env: requis quand daemon.smtp.username est défini (nom d'une variable d'environnement contenant le mot de passe)")]
    PasswordEnvRequired,
    /// `password_env` is set without `username`.
    #[error("vitrine.yaml: daemon.smtp.username: requis quand daemon.smtp.password_env est défini")]
    UsernameRequired,
    /// `tls: none` towards a host that is not a loopback relay (see
    /// [`is_loopback`]).
    #[error("vitrine.yaml: daemon.smtp.tls: « none » (sans chiffrement) n'est permis que vers un relais local (127.0.0.1, ::1 ou localhost), pas vers « {0} » ; utilisez « starttls » ou « tls »")]
    PlaintextRemote(String),
    /// `from` or one of `moderators` is not a valid e-mail address.
    #[error("vitrine.yaml: daemon.smtp.{field}: adresse électronique « {value} » invalide")]
    BadAddress {
        /// The setting (`from` or `moderators`).
        field: &'static str,
        /// The value as written.
        value: String
    },
    /// `moderators` is empty.
    #[error("vitrine.yaml: daemon.smtp.moderators: au moins une adresse est requise (destinataires des avis de nouvelles propositions)")]
    NoModerators,
    /// The TLS parameters for `host` could not be built (e.g. not a valid
    /// server name).
    #[error("vitrine.yaml: daemon.smtp.host: « {host} » : TLS impossible : {source}")]
    Tls {
        /// The configured host.
        host: String,
        /// lettre's error.
        source: lettre::transport::smtp::Error
    },
}

/// Why one outbox file was not delivered (it stays in the outbox).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Reading the file or the outbox folder, or moving the file to `sent/`,
    /// failed (also used when the delivery task itself failed).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file, or the outbox folder.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error
    },
    /// The file's `To:` header is missing or holds an address that cannot be
    /// used as a recipient.
    #[error("{}: en-tête {header} : {message}", path.display())]
    Header {
        /// The outbox file.
        path: PathBuf,
        /// The header concerned (`To`).
        header: &'static str,
        /// What is wrong with it (`absent`, or the address and why it was refused).
        message: String
    },
    /// The server could not be reached, the TLS handshake or authentication
    /// failed, or the server refused the message.
    #[error("{}: envoi SMTP vers {server} refusé ou impossible : {source}", path.display())]
    Smtp {
        /// The outbox file.
        path: PathBuf,
        /// `host:port` of the server.
        server: String,
        /// lettre's error.
        source: lettre::transport::smtp::Error
    },
    /// The server refused the message permanently, or its `To:` cannot be
    /// used: it was moved to `outbox/parked/` and will not be retried.
    #[error("{}: refus définitif, courriel mis de côté (non renvoyé) : {reason}", path.display())]
    Parked {
        /// Where the file is now (`outbox/parked/<name>.eml`).
        path: PathBuf,
        /// Why (the server's reply or the header problem), also in `<name>.eml.reason`.
        reason: String,
    },
}

impl DeliveryError {
    /// Whether retrying can help (not for a parked message).
    pub fn is_transient(&self) -> bool {
        !matches!(self, DeliveryError::Parked { .. })
    }
}

/// A message refused for good, as the admins' page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParkedMail {
    /// File name in `outbox/parked/`.
    pub file: String,
    /// Recipients (addresses, as in the `To:` header).
    pub to: Vec<String>,
    /// Decoded subject.
    pub subject: String,
    /// When it was parked (RFC 3339, UTC), from the reason file.
    pub parked_at: String,
    /// Why it was refused.
    pub reason: String,
}

/// The parked messages of `outbox`, newest first. A file that cannot be read
/// is listed with what is known (its name, and the reason if any).
pub fn parked(outbox: &Path) -> Result<Vec<ParkedMail>, std::io::Error> {
    let dir = outbox.join(PARKED_DIR);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in rd {
        let path = entry?.path();
        if path.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let note = std::fs::read_to_string(reason_path(&path)).unwrap_or_default();
        let (parked_at, reason) = note.split_once('\n').unwrap_or(("", note.as_str()));
        let bytes = std::fs::read(&path).unwrap_or_default();
        let msg = mail_parser::MessageParser::default().parse_headers(&bytes[..]);
        let to = msg
            .as_ref()
            .and_then(|m| m.to())
            .map(|a| a.iter().filter_map(|a| a.address().map(str::to_string)).collect())
            .unwrap_or_default();
        let subject = msg.as_ref().and_then(|m| m.subject()).unwrap_or_default().to_string();
        out.push(ParkedMail { file, to, subject, parked_at: parked_at.trim().to_string(), reason: reason.trim().to_string() });
    }
    out.sort_by(|a, b| b.parked_at.cmp(&a.parked_at).then_with(|| b.file.cmp(&a.file)));
    Ok(out)
}

fn reason_path(eml: &Path) -> PathBuf {
    let mut name = eml.file_name().unwrap_or_default().to_os_string();
    name.push(".reason");
    eml.with_file_name(name)
}

/// Writes `dest` through a unique temporary file in its folder (fsync, rename).
fn write_synced(dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = tempfile::Builder::new().prefix(".reason-").suffix(".tmp").tempfile_in(dest.parent().unwrap_or(Path::new(".")))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dest).map_err(|e| e.error)?;
    Ok(())
}

/// Moves `path` to `outbox/parked/` and writes the reason beside it.
fn park(path: &Path, reason: String) -> DeliveryError {
    let io = |source| DeliveryError::Io { path: path.to_owned(), source };
    let dir = path.parent().unwrap_or(Path::new(".")).join(PARKED_DIR);
    let dest = dir.join(path.file_name().unwrap_or_default());
    let note = format!("{}\n{reason}\n", jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now()));
    // The reason first, so a parked message always has one.
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| write_synced(&reason_path(&dest), note.as_bytes())) {
        return io(e);
    }
    match std::fs::rename(path, &dest) {
        Ok(()) => DeliveryError::Parked { path: dest, reason },
        Err(e) => io(e),
    }
}

/// The configured SMTP transport. One delivery at a time (the lock also keeps
/// the startup retry and new notifications from sending the same file twice).
pub struct Mailer {
    transport: SmtpTransport,
    from: Address,
    server: String,
    lock: Mutex<()>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("server", &self.server).field("from", &self.from).finish()
    }
}

/// `localhost`, `127.0.0.0/8` or `::1`.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The address of a mailbox setting (`Name <a@b>`, `"Nom, Prénom" <a@b>` or
/// `a@b`), parsed as the outbox parses it, so a setting the daemon accepts at
/// start is one every message can carry.
fn parse_address(field: &'static str, value: &str) -> Result<Address, SmtpConfigError> {
    value
        .trim()
        .parse::<lettre::message::Mailbox>()
        .map(|m| m.email)
        .map_err(|_| SmtpConfigError::BadAddress { field, value: value.to_string() })
}

/// The effective encryption of a configuration (explicit `tls`, else by port and host).
pub fn effective_tls(smtp: &Smtp) -> SmtpTls {
    smtp.tls.unwrap_or(if smtp.port == 465 {
        SmtpTls::Tls
    } else if is_loopback(&smtp.host) {
        SmtpTls::None
    } else {
        SmtpTls::Starttls
    })
}

impl Mailer {
    /// Checks the configuration and prepares the transport (no connection is
    /// made yet). `env` looks up environment variables (`std::env::var` in the
    /// daemon; tests pass their own).
    pub fn from_config(smtp: &Smtp, env: impl Fn(&str) -> Option<String>) -> Result<Mailer, SmtpConfigError> {
        let from = parse_address("from", &smtp.from)?;
        if smtp.moderators.is_empty() {
            return Err(SmtpConfigError::NoModerators);
        }
        for m in &smtp.moderators {
            parse_address("moderators", m)?;
        }
        let tls = match effective_tls(smtp) {
            SmtpTls::None if !is_loopback(&smtp.host) => return Err(SmtpConfigError::PlaintextRemote(smtp.host.clone())),
            SmtpTls::None => Tls::None,
            mode => {
                let params = TlsParameters::new(smtp.host.clone())
                    .map_err(|source| SmtpConfigError::Tls { host: smtp.host.clone(), source })?;
                if mode == SmtpTls::Tls { Tls::Wrapper(params) } else { Tls::Required(params) }
            }
        };
        let mut builder = SmtpTransport::builder_dangerous(smtp.host.clone())
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(30)));
        match (&smtp.username, &smtp.password_env) {
            (Some(user), Some(var)) => {
                let password = env(var).ok_or_else(|| SmtpConfigError::MissingPassword(var.clone()))?;
                builder = builder.credentials(Credentials::new(user.clone(), password));
            }
            (Some(_), None) => return Err(SmtpConfigError::PasswordEnvRequired),
            (None, Some(_)) => return Err(SmtpConfigError::UsernameRequired),
            (None, None) => {}
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            server: format!("{}:{}", smtp.host, smtp.port),
            lock: Mutex::new(()),
        })
    }

    /// `host:port` of the server.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends one outbox file (its recipients are its `To:` header) and moves it
    /// to `sent/`; returns the new path, or `None` if the file was already gone
    /// (delivered meanwhile). Blocking: network and file system.
    pub fn deliver_file(&self, path: &Path) -> Result<Option<PathBuf>, DeliveryError> {
        let _one_at_a_time = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let io = |source| DeliveryError::Io { path: path.to_owned(), source };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let envelope = match self.envelope(path, &bytes) {
            Ok(e) => e,
            Err(e @ DeliveryError::Header { .. }) => return Err(park(path, e.to_string())),
            Err(e) => return Err(e),
        };
        // lettre ends DATA with CRLF "." CRLF, whose first CRLF ends the last line.
        let payload = bytes.strip_suffix(b"\r\n").unwrap_or(&bytes);
        if let Err(source) = self.transport.send_raw(&envelope, payload) {
            if source.is_permanent() {
                let reason = format!("le serveur {} a refusé le message : {source}", self.server);
                return Err(park(path, reason));
            }
            return Err(DeliveryError::Smtp { path: path.to_owned(), server: self.server.clone(), source });
        }
        let dir = path.parent().unwrap_or(Path::new(".")).join(SENT_DIR);
        std::fs::create_dir_all(&dir).map_err(io)?;
        let dest = dir.join(path.file_name().unwrap_or_default());
        std::fs::rename(path, &dest).map_err(io)?;
        Ok(Some(dest))
    }

    fn envelope(&self, path: &Path, bytes: &[u8]) -> Result<Envelope, DeliveryError> {
        let bad = |message: String| DeliveryError::Header { path: path.to_owned(), header: "To", message };
        // The message of record is read back by a MIME parser: folded lines,
        // encoded words and quoted names with commas are the parser's business.
        let msg = mail_parser::MessageParser::default().parse_headers(bytes).ok_or_else(|| bad("message illisible".into()))?;
        let list = msg.to().ok_or_else(|| bad("absent".into()))?;
        let mut to = Vec::new();
        for item in list.iter() {
            let raw = item.address().unwrap_or_default();
            let a: Address = raw.parse().map_err(|e| bad(format!("« {raw} » : {e}")))?;
            to.push(a);
        }
        Envelope::new(Some(self.from.clone()), to).map_err(|e| bad(e.to_string()))
    }

    /// Sends every `.eml` left in `outbox` (oldest first, by name); returns how
    /// many were delivered and the failures (those files stay). Messages
    /// parked meanwhile are logged, not counted as failures. Blocking.
    pub fn deliver_pending(&self, outbox: &Path) -> (usize, Vec<DeliveryError>) {
        self.deliver_pending_while(outbox, || true)
    }

    /// Like [`Mailer::deliver_pending`], checking `keep_going` before each file
    /// (shutdown stops after the message being sent, not after the whole outbox).
    pub fn deliver_pending_while(&self, outbox: &Path, keep_going: impl Fn() -> bool) -> (usize, Vec<DeliveryError>) {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(outbox) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension().is_some_and(|x| x == "eml")
                        && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (0, Vec::new()),
            Err(source) => return (0, vec![DeliveryError::Io { path: outbox.to_owned(), source }]),
        };
        files.sort();
        let mut sent = 0;
        let mut failed = Vec::new();
        for f in files {
            if !keep_going() {
                break;
            }
            match self.deliver_file(&f) {
                Ok(Some(_)) => sent += 1,
                Ok(None) => {}
                Err(e) if !e.is_transient() => tracing::warn!("{e}"),
                Err(e) => failed.push(e),
            }
        }
        (sent, failed)
    }
}

/// Waits between retries of the outbox: `min`, then doubled after each failed
/// retry, never more than `max`; back to `min` once everything was delivered.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `min`; a `max` below `min` counts as `min`.
    pub fn new(min: Duration, max: Duration) -> Backoff {
        let max = max.max(min);
        Backoff { min, max, next: min }
    }

    /// The wait before the next retry (and doubles the one after it).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = d.saturating_mul(2).min(self.max);
        d
    }

    /// Back to `min` (everything was delivered).
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_minute_up_to_one_hour_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(60), Duration::from_secs(3600));
        let waits: Vec<u64> = (0..9).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_secs(60));
        // A maximum below the minimum is the minimum.
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(1));
        assert_eq!((b.next_delay(), b.next_delay()), (Duration::from_secs(10), Duration::from_secs(10)));
    }

    fn smtp(host: &str, port: u16) -> Smtp {
        Smtp {
            host: host.into(),
            port,
            username: None,
            password_env: None,
            from: "Réseau eTwinning <vitrine@example.org>".into(),
            moderators: vec!["moderation@example.org".into()],
            tls: None,
        }
    }

    #[test]
    fn encryption_defaults_and_plaintext_only_on_loopback() {
        assert_eq!(effective_tls(&smtp("smtp.example.org", 465)), SmtpTls::Tls);
        assert_eq!(effective_tls(&smtp("smtp.example.org", 587)), SmtpTls::Starttls);
        assert_eq!(effective_tls(&smtp("127.0.0.1", 25)), SmtpTls::None);
        assert_eq!(effective_tls(&smtp("::1", 25)), SmtpTls::None);
        assert!(Mailer::from_config(&smtp("127.0.0.1", 25), |_| None).is_ok());
        let mut remote = smtp("smtp.example.org", 25);
        remote.tls = Some(SmtpTls::None);
        let e = Mailer::from_config(&remote, |_| None).unwrap_err();
        assert!(matches!(e, SmtpConfigError::PlaintextRemote(_)), "{e}");
        assert!(e.to_string().contains("daemon.smtp.tls"), "{e}");
        // A remote server with STARTTLS builds (rustls + ring + webpki roots).
        assert!(Mailer::from_config(&smtp("smtp.example.org", 587), |_| None).is_ok());
    }

    #[test]
    fn password_comes_from_the_named_environment_variable() {
        let mut s = smtp("127.0.0.1", 25);
        s.username = Some("vitrine".into());
        s.password_env = Some("VITRINE_SMTP_PASSWORD".into());
        let e = Mailer::from_config(&s, |_| None).unwrap_err();
        assert!(e.to_string().contains("« VITRINE_SMTP_PASSWORD » n'est pas définie"), "{e}");
        assert!(Mailer::from_config(&s, |k| (k == "VITRINE_SMTP_PASSWORD").then(|| "secret".into())).is_ok());
        s.password_env = None;
        assert!(matches!(Mailer::from_config(&s, |_| None), Err(SmtpConfigError::PasswordEnvRequired)));
    }

    #[test]
    fn bad_addresses_and_missing_moderators_are_named() {
        let mut s = smtp("127.0.0.1", 25);
        s.from = "pas une adresse".into();
        let e = Mailer::from_config(&s, |_| None).unwrap_err();
        assert!(e.to_string().contains("daemon.smtp.from") && e.to_string().contains("pas une adresse"), "{e}");
        // A display name with a comma must be quoted, as in a message header.
        s.from = "Réseau, académie <vitrine@example.org>".into();
        assert!(matches!(Mailer::from_config(&s, |_| None), Err(SmtpConfigError::BadAddress { field: "from", .. })));
        s.from = "\"Réseau, académie\" <vitrine@example.org>".into();
        s.moderators = vec!["\"Dupont, Jean\" <jean.dupont@example.org>".into(), "jean..dupont@-ecole.fr".into()];
        let e = Mailer::from_config(&s, |_| None).unwrap_err();
        assert!(matches!(&e, SmtpConfigError::BadAddress { field: "moderators", value } if value == "jean..dupont@-ecole.fr"), "{e}");
        let mut s = smtp("127.0.0.1", 25);
        s.moderators.clear();
        assert!(matches!(Mailer::from_config(&s, |_| None), Err(SmtpConfigError::NoModerators)));
    }
}
