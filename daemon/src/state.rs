//! The state every handler receives: the queue database, the site's
//! configuration (schemas), secrets, limiters (requests per IP, the login
//! throttle, and the bound on concurrent argon2 work), templates, the rebuild
//! hook and the SMTP mailer (when configured), and the handles of the
//! background work (the outbox retry) so that shutdown can stop it cleanly.
//! Built once by [`AppState::new`]; cheap to clone.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use vitrine_generator::Error as GenError;
use vitrine_generator::config::Config;
use vitrine_generator::load::{Asset, SourceFile};

use crate::auth::{LoginLimits, LoginThrottle};
use crate::db::Db;
use crate::images::ImageLimits;
use crate::ratelimit::RateLimiter;
use crate::security::HashLimiter;
use crate::smtp::Mailer;
use crate::db::{DATA_DIR, DB_FILE};
use crate::error::DaemonError;

/// The site as publishing needs it: checked in memory before anything is
/// written, rebuilt after. [`crate::server::incremental_rebuilder`] keeps the
/// generator's incremental site; `vitrine serve` passes its own (shared with
/// its file watcher).
pub trait SiteBuilder: Send + Sync {
    /// Whether the site would still build with these new content files
    /// (`pages` relative to `content/`; asset sources anywhere on disk).
    /// Writes nothing to `content/` or `public/`.
    fn check(&self, pages: Vec<SourceFile>, assets: Vec<Asset>) -> Result<(), GenError>;
    /// Rebuilds after `changed` files were created (the entry's pictures, then its `index.md`).
    fn rebuild(&self, changed: &[PathBuf]) -> Result<(), GenError>;
}

/// The daemon's handle on the site builder.
pub type Rebuilder = Arc<dyn SiteBuilder>;

/// Tunables of the daemon, with production defaults.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Requests a minute per client IP on public POST routes (0 disables).
    pub rate_limit_per_minute: u32,
    /// Requests a client IP may send at once before `rate_limit_per_minute` applies.
    pub rate_limit_burst: u32,
    /// Seconds a form must have been open before it can be sent.
    pub min_fill_secs: i64,
    /// Seconds a form token stays valid.
    pub form_token_max_age: i64,
    /// Largest request body (multipart with pictures included).
    pub max_body_bytes: usize,
    /// Largest JSON body for the API.
    pub max_json_bytes: usize,
    /// Largest single text field.
    pub max_field_bytes: usize,
    /// Largest number of name/value pairs in a form.
    pub max_fields: usize,
    /// Largest number of pictures in one submission (more is a 400).
    pub max_images: usize,
    /// Limits applied to each uploaded picture (file size, dimensions, output size).
    pub image_limits: ImageLimits,
    /// Longest time a client may take to send its request headers; the
    /// connection is closed after it.
    pub header_read_timeout: Duration,
    /// Longest time a request may take as a whole; beyond it the answer is 408.
    pub request_timeout: Duration,
    /// Trust `X-Forwarded-For` (behind a reverse proxy only).
    pub trust_forwarded: bool,
    /// Mark the session cookie `Secure` (site served over HTTPS).
    pub secure_cookies: bool,
    /// Serve the static `public/` folder for paths the daemon does not handle.
    pub serve_public: bool,
    /// Sender of notification e-mails.
    pub mail_from: String,
    /// Recipient of "new submission" notifications.
    pub moderators_mail: String,
    /// Public base URL of the daemon (for links in e-mails and the setup link).
    pub public_url: String,
    /// First wait before the outbox is sent again after a failed SMTP delivery;
    /// doubled after each failed retry, up to `outbox_retry_max`.
    pub outbox_retry_min: Duration,
    /// Longest wait between two retries of the outbox.
    pub outbox_retry_max: Duration,
    /// Login throttle: failures allowed per (account, address) and per
    /// address, window, alert threshold, memory bound.
    pub login: LoginLimits,
    /// Argon2 hashes or verifications run at once (each takes ~19 MiB).
    pub hash_concurrency: usize,
    /// Longest wait for a hashing permit; beyond it the answer is 503.
    pub hash_wait: Duration,
}

/// Default number of concurrent argon2 runs: the cores, 4 at most.
fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rate_limit_per_minute: 20,
            rate_limit_burst: 10,
            min_fill_secs: 3,
            form_token_max_age: 24 * 3600,
            max_body_bytes: 40 * 1024 * 1024,
            max_json_bytes: 256 * 1024,
            max_field_bytes: 64 * 1024,
            max_fields: 600,
            max_images: 12,
            image_limits: ImageLimits::default(),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            trust_forwarded: false,
            secure_cookies: false,
            serve_public: true,
            mail_from: "vitrine@localhost".into(),
            moderators_mail: "moderation@localhost".into(),
            public_url: "http://127.0.0.1:8080".into(),
            outbox_retry_min: Duration::from_secs(60),
            outbox_retry_max: Duration::from_secs(3600),
            login: LoginLimits::default(),
            hash_concurrency: default_hash_concurrency(),
            hash_wait: Duration::from_secs(10),
        }
    }
}

/// What an [`AppState`] shares between handlers (reached through `Deref`).
pub struct Inner {
    /// The site folder (with `vitrine.yaml`, `content/` and `public/`).
    pub site_dir: PathBuf,
    /// The daemon's private folder, `site_dir/.vitrine` (created at start).
    pub data_dir: PathBuf,
    /// Where notification e-mails are written as `.eml` files (`.vitrine/outbox/`).
    pub outbox_dir: PathBuf,
    /// The queue database.
    pub db: Db,
    /// The site's configuration; read it with [`AppState::config`], replaced
    /// by [`AppState::reload_config`].
    pub config: RwLock<Arc<Config>>,
    /// HMAC key of the form tokens, from `.vitrine/secret` (created on first start).
    pub secret: Vec<u8>,
    /// The tunables this state was built with.
    pub settings: Settings,
    /// Per-IP limiter of the public POST routes.
    pub limiter: RateLimiter,
    /// Throttle of failed logins per account and address.
    pub login_throttle: LoginThrottle,
    /// Every argon2 hash and verification of the daemon goes through it.
    pub hasher: HashLimiter,
    /// The daemon's compiled page templates.
    pub tera: tera::Tera,
    /// One publication (file write + rebuild) at a time.
    pub publish_lock: tokio::sync::Mutex<()>,
    /// What the « Contenus » list read of each entry file, by size and modification time.
    pub content_list: crate::content::ListCache,
    /// Site builder used to check an entry before approval and to rebuild after
    /// publication; with `None` the check loads the site from disk each time
    /// and publication writes the entry's files without rebuilding.
    pub rebuilder: Option<Rebuilder>,
    /// SMTP delivery of the outbox, when `daemon.smtp` is configured.
    pub mailer: Option<Arc<Mailer>>,
    /// Woken when an SMTP delivery fails: the outbox retry starts its backoff.
    pub delivery_wake: Arc<tokio::sync::Notify>,
    /// SMTP deliveries that failed since the start (new messages and retries).
    pub delivery_failures: Arc<AtomicU64>,
    /// `true` once [`AppState::stop_background`] was called. Background tasks hold
    /// a receiver only, so they also end when the last state is dropped.
    stop: tokio::sync::watch::Sender<bool>,
    background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// Shared state of the daemon.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Loads the site's configuration, opens (and migrates) the queue, loads the secret.
    pub fn new(site_dir: &Path, settings: Settings, rebuilder: Option<Rebuilder>) -> Result<AppState, DaemonError> {
        let config = Config::load(site_dir).map_err(|e| DaemonError::Config(e.to_string()))?;
        let mailer = match &config.daemon.smtp {
            Some(smtp) => Some(Arc::new(Mailer::from_config(smtp, |var| std::env::var(var).ok())?)),
            None => None,
        };
        let data_dir = site_dir.join(DATA_DIR);
        std::fs::create_dir_all(&data_dir).map_err(|e| DaemonError::Io { path: data_dir.clone(), source: e })?;
        let secret_path = data_dir.join("secret");
        let secret = crate::security::load_or_create_secret(&secret_path)
            .map_err(|e| DaemonError::Io { path: secret_path, source: e })?;
        let db = Db::open(&data_dir.join(DB_FILE))?;
        let tera = crate::templates::load().map_err(|e| DaemonError::Template(e.to_string()))?;
        Ok(AppState(Arc::new(Inner {
            site_dir: site_dir.to_owned(),
            outbox_dir: data_dir.join("outbox"),
            data_dir,
            db,
            config: RwLock::new(Arc::new(config)),
            secret,
            limiter: RateLimiter::new(settings.rate_limit_per_minute, settings.rate_limit_burst),
            login_throttle: LoginThrottle::new(settings.login.clone()),
            hasher: HashLimiter::new(settings.hash_concurrency, settings.hash_wait),
            settings,
            tera,
            publish_lock: tokio::sync::Mutex::new(()),
            content_list: Default::default(),
            rebuilder,
            mailer,
            delivery_wake: Arc::new(tokio::sync::Notify::new()),
            delivery_failures: Arc::new(AtomicU64::new(0)),
            stop: tokio::sync::watch::channel(false).0,
            background: Mutex::new(Vec::new()),
        })))
    }

    /// The current site configuration (a snapshot: a later reload does not change it).
    pub fn config(&self) -> Arc<Config> {
        self.config.read().unwrap().clone()
    }

    /// A receiver of the stop signal, for a background task.
    pub fn stop_signal(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Registers a background task, awaited by [`AppState::stop_background`].
    pub fn add_background(&self, task: tokio::task::JoinHandle<()>) {
        self.background.lock().unwrap_or_else(|p| p.into_inner()).push(task);
    }

    /// Failed SMTP deliveries since the start.
    pub fn delivery_failure_count(&self) -> u64 {
        self.delivery_failures.load(Ordering::Relaxed)
    }

    /// Password verifications run since the start (dummy ones included).
    pub fn password_verifications(&self) -> u64 {
        self.hasher.verifications()
    }

    /// Records a failed delivery and wakes the outbox retry.
    pub fn delivery_failed(&self) {
        self.delivery_failures.fetch_add(1, Ordering::Relaxed);
        self.delivery_wake.notify_one();
    }

    /// Stops the background tasks (outbox retry) and waits for them: a delivery
    /// under way finishes (the SMTP timeout bounds it), no new one starts.
    pub async fn stop_background(&self) {
        self.stop.send_replace(true);
        let tasks = std::mem::take(&mut *self.background.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            let _ = t.await;
        }
    }

    /// Re-reads `vitrine.yaml` (after the operator changed it).
    pub fn reload_config(&self) -> Result<(), DaemonError> {
        let c = Config::load(&self.site_dir).map_err(|e| DaemonError::Config(e.to_string()))?;
        *self.config.write().unwrap() = Arc::new(c);
        Ok(())
    }
}
