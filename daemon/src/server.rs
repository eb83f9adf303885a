//! Running the daemon: binding the socket, serving connections with hyper's
//! HTTP/1 server (with a header-read timeout, which axum's own `serve` does not
//! offer, so slow clients cannot hold connections forever), printing the
//! one-time setup link when there is no moderator yet, the background retry of
//! the SMTP outbox, and shutting down gracefully on SIGTERM/SIGINT (stop
//! accepting, finish in-flight requests, stop the background retry, close the
//! database).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tower::ServiceExt;

use crate::state::{AppState, Rebuilder, Settings};
use crate::error::DaemonError;
use crate::{auth, web};

/// Options of `vitrine daemon`.
#[derive(Debug, Clone)]
pub struct Options {
    /// The site folder (with `vitrine.yaml`, `content/` and `public/`).
    pub site_dir: PathBuf,
    /// Overrides `daemon.listen` of `vitrine.yaml` (default 127.0.0.1:8080).
    pub listen: Option<String>,
    /// Requests per minute and IP on the public POST routes (0 = no limit).
    pub rate_limit_per_minute: Option<u32>,
    /// Serve `public/` for paths the daemon does not handle (default true).
    pub serve_public: bool,
    /// Seconds a form must stay open before it is accepted (default 3).
    pub min_fill_secs: Option<i64>,
}

impl Options {
    /// Options for the site in `site_dir`, everything else left to `vitrine.yaml`
    /// and the defaults (`public/` is served).
    pub fn new(site_dir: impl Into<PathBuf>) -> Self {
        Options {
            site_dir: site_dir.into(),
            listen: None,
            rate_limit_per_minute: None,
            serve_public: true,
            min_fill_secs: None,
        }
    }
}

/// The generator's incremental site, opened (with a full build) at the first
/// check or publication; later ones re-render only the outputs that can depend
/// on the new entry. A failed rebuild leaves the previous site in place (in
/// memory and on disk) and the next call tries again.
struct IncrementalSite {
    site: PathBuf,
    cell: std::sync::Mutex<Option<vitrine_generator::incremental::Site>>,
}

impl IncrementalSite {
    fn with_site<T>(
        &self,
        f: impl FnOnce(&mut vitrine_generator::incremental::Site) -> Result<T, vitrine_generator::Error>,
    ) -> Result<T, vitrine_generator::Error> {
        let mut guard = self.cell.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let (s, _) = vitrine_generator::incremental::Site::open(vitrine_generator::BuildOptions::new(self.site.clone()))?;
            *guard = Some(s);
        }
        f(guard.as_mut().expect("opened above"))
    }
}

impl crate::state::SiteBuilder for IncrementalSite {
    fn check(&self, pages: Vec<vitrine_generator::load::SourceFile>, assets: Vec<vitrine_generator::load::Asset>) -> Result<(), vitrine_generator::Error> {
        self.with_site(|s| s.check_addition(pages, assets))
    }

    fn rebuild(&self, changed: &[PathBuf]) -> Result<(), vitrine_generator::Error> {
        let mut guard = self.cell.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(s) => s.apply(changed).map(|_| ()),
            None => {
                let (s, _) = vitrine_generator::incremental::Site::open(vitrine_generator::BuildOptions::new(self.site.clone()))?;
                *guard = Some(s);
                Ok(())
            }
        }
    }
}

/// The default site builder: the generator's incremental path (see [`IncrementalSite`]).
pub fn incremental_rebuilder(site: PathBuf) -> Rebuilder {
    Arc::new(IncrementalSite { site, cell: std::sync::Mutex::new(None) })
}

/// The daemon's state from its options and the site's `daemon:` settings, with
/// the site builder used for publication (`vitrine serve` and `vitrine daemon`
/// pass their incremental site; tests may pass [`incremental_rebuilder`] or none).
pub fn state_with_rebuilder(opts: &Options, rebuilder: Option<Rebuilder>) -> Result<(AppState, SocketAddr), DaemonError> {
    let config = vitrine_generator::Config::load(&opts.site_dir).map_err(|e| DaemonError::Config(e.to_string()))?;
    let listen = opts.listen.clone().or(config.daemon.listen.clone()).unwrap_or_else(|| "127.0.0.1:8080".into());
    let addr: SocketAddr = listen.parse().map_err(|_| DaemonError::Listen(listen.clone()))?;
    let mut settings = Settings {
        trust_forwarded: config.daemon.trust_forwarded,
        secure_cookies: config.daemon.secure_cookies,
        serve_public: opts.serve_public,
        ..Settings::default()
    };
    settings.public_url = if config.daemon.url.is_empty() {
        format!("http://{addr}")
    } else {
        config.daemon.url.trim_end_matches('/').to_string()
    };
    if let Some(r) = opts.rate_limit_per_minute {
        settings.rate_limit_per_minute = r;
    }
    if let Some(m) = opts.min_fill_secs {
        settings.min_fill_secs = m;
    }
    if let Some(smtp) = &config.daemon.smtp {
        settings.mail_from = smtp.from.clone();
        if !smtp.moderators.is_empty() {
            settings.moderators_mail = smtp.moderators.join(", ");
        }
    }
    Ok((AppState::new(&opts.site_dir, settings, rebuilder)?, addr))
}

/// Prints the one-time setup link when no moderator account exists.
pub fn announce_setup(state: &AppState) -> Result<Option<String>, DaemonError> {
    let n = state.db.read_blocking(auth::user_count)?;
    if n > 0 {
        return Ok(None);
    }
    let token = state.db.write_blocking(auth::new_setup_token)?;
    let url = format!("{}/moderation/setup/{token}", state.settings.public_url);
    println!("Aucun compte de modération. Lien d'installation (à usage unique) : {url}");
    Ok(Some(url))
}

/// Items accepted while the build was broken are published now that it may be
/// fixed, and notifications an earlier SMTP delivery left in the outbox are
/// sent again (called at every start, by `vitrine daemon` and `vitrine serve`).
pub fn retry_unpublished_in_background(state: &AppState) {
    let _ = retry_outbox_in_background(state);
    let retry_state = state.clone();
    tokio::spawn(async move {
        match crate::web::moderation::retry_unpublished(&retry_state).await {
            Ok(0) => {}
            Ok(n) => println!("{n} soumission(s) acceptée(s) publiée(s) au démarrage"),
            Err(e) => tracing::warn!("republication au démarrage : {e}"),
        }
    });
}

/// Erases submitters' personal data once `daemon.retention_months` (12 by
/// default; 0: never) have passed since the decision: now, then every day
/// while the daemon runs ([`crate::privacy::apply_retention`]). Ends on
/// [`AppState::stop_background`].
pub fn retention_in_background(state: &AppState) {
    let months = state.config().daemon.retention_months();
    if months == 0 {
        return;
    }
    let (db, outbox, mut stop) = (state.db.clone(), state.outbox_dir.clone(), state.stop_signal());
    let task = tokio::spawn(async move {
        loop {
            let (db, outbox) = (db.clone(), outbox.clone());
            let run = tokio::task::spawn_blocking(move || {
                crate::privacy::apply_retention(&db, &outbox, months, jiff::Timestamp::now())
            })
            .await;
            match run {
                Ok(Ok(erased)) if !erased.is_empty() => println!(
                    "{} soumission(s) décidée(s) il y a plus de {months} mois : données personnelles effacées",
                    erased.len()
                ),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!("effacement après la durée de conservation : {e}"),
                Err(e) => tracing::warn!("effacement après la durée de conservation : {e}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(24 * 3600)) => {}
                _ = stop.changed() => break,
            }
        }
    });
    state.add_background(task);
}

/// With SMTP configured, starts the outbox retry and returns `true`: the
/// `.eml` files still in the outbox are sent now, and again while the daemon
/// runs whenever a delivery failed, after waits of `outbox_retry_min`, doubled
/// after each failed retry up to `outbox_retry_max` ([`crate::smtp::Backoff`]).
/// With nothing pending it sleeps until a delivery fails. It ends on
/// [`AppState::stop_background`] (awaited there) or when the state is dropped.
pub fn retry_outbox_in_background(state: &AppState) -> bool {
    let Some(mailer) = state.mailer.clone() else { return false };
    println!("Courriels : envoi SMTP via {} (copie dans .vitrine/outbox/)", mailer.server());
    let outbox = state.outbox_dir.clone();
    let wake = state.delivery_wake.clone();
    let failures = state.delivery_failures.clone();
    let mut stop = state.stop_signal();
    let mut backoff = crate::smtp::Backoff::new(state.settings.outbox_retry_min, state.settings.outbox_retry_max);
    let task = tokio::spawn(async move {
        let mut first = true;
        loop {
            if *stop.borrow() {
                break;
            }
            let (m, dir, s) = (mailer.clone(), outbox.clone(), stop.clone());
            let attempt = tokio::task::spawn_blocking(move || m.deliver_pending_while(&dir, || !*s.borrow())).await;
            let (sent, failed) = match attempt {
                Ok(r) => r,
                Err(e) => (0, vec![crate::smtp::DeliveryError::Io { path: outbox.clone(), source: std::io::Error::other(e.to_string()) }]),
            };
            if sent > 0 {
                let when = if first { "au démarrage" } else { "après un nouvel essai" };
                println!("{sent} courriel(s) en attente envoyé(s) {when}");
            }
            first = false;
            if failed.is_empty() {
                backoff.reset();
                // Nothing pending: sleep until a delivery fails.
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = stop.changed() => break,
                }
            } else {
                failures.fetch_add(failed.len() as u64, std::sync::atomic::Ordering::Relaxed);
            }
            let delay = backoff.next_delay();
            for e in &failed {
                tracing::warn!("courriel gardé dans la boîte d'envoi (nouvel essai dans {} s) : {e}", delay.as_secs());
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => break,
            }
        }
    });
    state.add_background(task);
    true
}

/// Resolves on the first Ctrl-C (SIGINT) or, on Unix, SIGTERM: the `shutdown`
/// future to pass to [`serve`] or [`serve_router`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Accept loop: HTTP/1.1 with a header-read timeout and graceful shutdown.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState, shutdown: impl std::future::Future<Output = ()>) {
    let header_timeout = state.settings.header_read_timeout;
    serve_router(listener, web::app(state), header_timeout, shutdown).await
}

/// The accept loop for any router (`vitrine serve` adds its own routes to the daemon's).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let svc = router.clone().map_request(move |mut req: axum::extract::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.map(axum::body::Body::new)
        });
        let svc = hyper_util::service::TowerToHyperService::new(svc);
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), svc);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connexion {peer} : {e}");
            }
        });
    }
    drop(listener);
    // Let in-flight requests finish (bounded).
    tokio::select! {
        _ = graceful.shutdown() => {},
        _ = tokio::time::sleep(Duration::from_secs(30)) => tracing::warn!("arrêt : des connexions n'ont pas fini à temps"),
    }
}
