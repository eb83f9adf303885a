//! `vitrine serve`: the whole portal on one port, for correspondents at work;
//! and `vitrine daemon`, its production twin without the static files.
//!
//! It builds the site, then serves `public/` together with the daemon's routes
//! (forms, moderation), watches the site's files and applies every change
//! through the generator's incremental path (the same one approvals use), and
//! tells open browsers to reload through server-sent events. A build error is
//! shown in the browser as an overlay naming file, line and message, while the
//! last good site keeps being served.
//!
//! The live-reload script is injected into HTML responses here, at serve time:
//! the files in `public/` are exactly those of a normal build.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tower::ServiceExt;
use vitrine_generator::incremental::Site;

/// What the watcher and the daemon share with the HTTP side.
#[derive(Clone)]
struct Live {
    public: PathBuf,
    events: broadcast::Sender<LiveEvent>,
    /// The current build error, shown on every page until fixed.
    error: Arc<Mutex<Option<String>>>,
    /// The pages' Content-Security-Policy header.
    policy: HeaderValue,
}

#[derive(Clone, Debug)]
enum LiveEvent {
    Reload,
    Error(String),
}

const LIVE_JS: &str = r#"(function () {
  var es = new EventSource("/_vitrine/events");
  es.addEventListener("reload", function () { location.reload(); });
  es.addEventListener("build-error", function (e) { show(e.data); });
  function show(text) {
    var box = document.getElementById("vitrine-overlay");
    if (!box) {
      box = document.createElement("div");
      box.id = "vitrine-overlay";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;z-index:99999;background:#2b0b0b;color:#fff;font:14px/1.5 ui-monospace,monospace;padding:1rem 1.5rem;border-top:4px solid #e5484d";
      document.body.appendChild(box);
    }
    box.textContent = "";
    var h = document.createElement("strong");
    h.textContent = "Erreur de construction du site — la dernière version correcte reste affichée";
    var pre = document.createElement("pre");
    pre.style.whiteSpace = "pre-wrap";
    pre.textContent = text;
    box.appendChild(h);
    box.appendChild(pre);
  }
  var initial = document.getElementById("vitrine-error");
  if (initial) { show(initial.content ? initial.content.textContent : initial.textContent); }
})();
"#;

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Resolves a URL path inside `public/`, refusing anything that climbs out.
fn resolve(public: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(url_path.trim_start_matches('/')).decode_utf8_lossy().into_owned();
    let rel = Path::new(&decoded);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut p = public.join(rel);
    if p.is_dir() || decoded.is_empty() || decoded.ends_with('/') {
        p = p.join("index.html");
    }
    Some(p)
}


async fn static_files(live: Live, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let Some(file) = resolve(&live.public, &path) else {
        return (StatusCode::BAD_REQUEST, "chemin invalide").into_response();
    };
    let is_html = file.extension().is_some_and(|e| e == "html");
    let (file, status) = if file.is_file() {
        (file, StatusCode::OK)
    } else if !path.ends_with('/') && live.public.join(path.trim_start_matches('/')).is_dir() {
        let to = format!("{path}/");
        return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response();
    } else {
        (live.public.join("404.html"), StatusCode::NOT_FOUND)
    };
    if is_html || status == StatusCode::NOT_FOUND {
        let Ok(mut html) = tokio::fs::read_to_string(&file).await else {
            return (StatusCode::NOT_FOUND, "Page introuvable").into_response();
        };
        let mut inject = String::from("<script src=\"/_vitrine/live.js\" defer></script>");
        if let Some(err) = live.error.lock().unwrap().clone() {
            inject.push_str(&format!("<template id=\"vitrine-error\">{}</template>", escape_html(&err)));
        }
        match html.rfind("</body>") {
            Some(i) => html.insert_str(i, &inject),
            None => html.push_str(&inject),
        }
        let mut r = (status, html).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        return with_page_headers(r, &live.policy);
    }
    let r = tower_http::services::ServeFile::new(&file).oneshot(req).await.map(IntoResponse::into_response).unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response());
    with_page_headers(r, &live.policy)
}

/// The headers nginx sends in production (see `deploy/nginx.conf`): the pages'
/// Content-Security-Policy, `nosniff`, no referrer; and no caching while editing.
fn with_page_headers(mut r: Response, policy: &HeaderValue) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static(vitrine_generator::csp::REFERRER_POLICY));
    r
}

async fn events(live: Live) -> impl IntoResponse {
    let stream = BroadcastStream::new(live.events.subscribe()).filter_map(|e| match e {
        Ok(LiveEvent::Reload) => Some(Ok::<_, std::convert::Infallible>(Event::default().event("reload").data("reload"))),
        Ok(LiveEvent::Error(msg)) => Some(Ok(Event::default().event("build-error").data(msg))),
        Err(_) => None,
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn live_js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], LIVE_JS)
}

/// Applies a batch of changes and tells the browsers.
fn apply(site: &Mutex<Site>, live: &Live, search: &std::sync::mpsc::Sender<()>, paths: &[PathBuf]) {
    let t = Instant::now();
    let result = site.lock().unwrap().apply(paths);
    let _ = search.send(());
    match result {
        Ok(report) => {
            if report.outputs > 0 || report.removed > 0 {
                println!("reconstruit en {} ms : {report}", t.elapsed().as_millis());
            }
            let was_error = live.error.lock().unwrap().take().is_some();
            if report.written > 0 || report.removed > 0 || was_error {
                let _ = live.events.send(LiveEvent::Reload);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            eprintln!("erreur : {msg}");
            *live.error.lock().unwrap() = Some(msg.clone());
            let _ = live.events.send(LiveEvent::Error(msg));
        }
    }
}

/// Keeps the search index up to date behind the pages: woken after each rebuild,
/// it indexes a snapshot of the pages without holding the site (pagefind takes
/// seconds on a large site), then writes the bundle. Wake-ups that arrive while
/// it works are merged into one more run.
fn search_worker(site: Arc<Mutex<Site>>) -> std::sync::mpsc::Sender<()> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        while rx.recv().is_ok() {
            while rx.try_recv().is_ok() {}
            loop {
                let Some(job) = site.lock().unwrap().search_job() else { break };
                let t = Instant::now();
                let result = job.run().and_then(|bundle| site.lock().unwrap().finish_search(&job, bundle));
                match result {
                    Ok(stats) => println!("index de recherche à jour en {} ms ({} fichiers écrits)", t.elapsed().as_millis(), stats.written),
                    Err(e) => {
                        // The next rebuild wakes the worker again.
                        eprintln!("erreur : index de recherche : {e}");
                        break;
                    }
                }
            }
        }
    });
    tx
}

/// Watches the site and feeds debounced batches of changed paths to `apply`.
fn watch(
    site_dir: PathBuf,
    out: PathBuf,
    site: Arc<Mutex<Site>>,
    live: Live,
    search: std::sync::mpsc::Sender<()>,
) -> notify::Result<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let (tx, rx) = std::sync::mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(tx)?;
    for sub in ["content", "data", "templates", "static", "themes"] {
        let p = site_dir.join(sub);
        if p.is_dir() {
            watcher.watch(&p, RecursiveMode::Recursive)?;
        }
    }
    watcher.watch(&site_dir.join("vitrine.yaml"), RecursiveMode::NonRecursive)?;
    std::thread::spawn(move || {
        let relevant = |p: &Path| !p.starts_with(&out);
        while let Ok(first) = rx.recv() {
            let mut paths: Vec<PathBuf> = Vec::new();
            let mut push = |ev: notify::Result<notify::Event>| {
                if let Ok(ev) = ev
                    && !matches!(ev.kind, notify::EventKind::Access(_))
                {
                    paths.extend(ev.paths.into_iter().filter(|p| relevant(p)));
                }
            };
            push(first);
            // Debounce: editors write a temp file and rename it; wait until the burst is over.
            while let Ok(ev) = rx.recv_timeout(Duration::from_millis(15)) {
                push(ev);
            }
            paths.sort();
            paths.dedup();
            if !paths.is_empty() {
                apply(&site, &live, &search, &paths);
            }
        }
    });
    Ok(watcher)
}

pub struct ServeOptions {
    pub site: PathBuf,
    pub listen: Option<String>,
    pub drafts: bool,
    /// Serve `public/` and live reload (`serve`); off for the production daemon,
    /// where nginx serves `public/` and only the daemon's routes are answered.
    pub static_site: bool,
    /// Submissions a minute per address (the daemon's default when `None`).
    pub rate_limit: Option<u32>,
    /// Seconds a form must stay open (the daemon's default when `None`).
    pub min_fill_secs: Option<u32>,
}

/// The daemon's view of the site kept by `serve`: checks and rebuilds go
/// through the same incremental site as the watcher's, then open pages reload.
struct ServeSite {
    site: Arc<Mutex<Site>>,
    live: Live,
    search: std::sync::mpsc::Sender<()>,
}

impl vitrine_daemon::state::SiteBuilder for ServeSite {
    fn check(&self, pages: Vec<vitrine_generator::load::SourceFile>, assets: Vec<vitrine_generator::load::Asset>) -> Result<(), vitrine_generator::Error> {
        self.site.lock().unwrap_or_else(|p| p.into_inner()).check_addition(pages, assets)
    }

    fn rebuild(&self, paths: &[PathBuf]) -> Result<(), vitrine_generator::Error> {
        let mut changed = Vec::new();
        for path in paths {
            changed.push(path.clone());
            if path.is_dir() {
                changed.extend(walkdir::WalkDir::new(path).into_iter().filter_map(Result::ok).map(|e| e.into_path()));
            }
        }
        let r = self.site.lock().unwrap_or_else(|p| p.into_inner()).apply(&changed).map(|_| ());
        // The worker is gone only when the process stops.
        let _ = self.search.send(());
        if r.is_ok() {
            let _ = self.live.events.send(LiveEvent::Reload);
        }
        r
    }
}

pub fn run(opts: ServeOptions) -> Result<(), Box<dyn std::error::Error>> {
    let site_dir = std::fs::canonicalize(&opts.site).map_err(|e| format!("{}: {e}", opts.site.display()))?;
    let mut bopts = vitrine_generator::BuildOptions::new(&site_dir);
    bopts.drafts = opts.drafts;
    let public = bopts.out.clone();
    let (mut site, report) = Site::open(bopts)?;
    println!("{report}");
    // Pages go live at once; the search index follows (see `search_worker`).
    site.defer_search(true);
    let site = Arc::new(Mutex::new(site));
    let search = search_worker(site.clone());
    let (events_tx, _) = broadcast::channel(64);
    let policy = {
        let site = site.lock().unwrap_or_else(|p| p.into_inner());
        HeaderValue::from_str(&vitrine_generator::csp::page_policy(&site.prepared.config.image_hosts))?
    };
    let live = Live { public: public.clone(), events: events_tx, error: Arc::new(Mutex::new(None)), policy };

    // Approvals in the daemon go through the same incremental path.
    let rebuilder: vitrine_daemon::state::Rebuilder = Arc::new(ServeSite { site: site.clone(), live: live.clone(), search: search.clone() });
    let mut dopts = vitrine_daemon::server::Options::new(&site_dir);
    dopts.listen = opts.listen.clone();
    dopts.rate_limit_per_minute = opts.rate_limit;
    dopts.min_fill_secs = opts.min_fill_secs.map(i64::from);
    dopts.serve_public = false;
    let _watcher = watch(site_dir.clone(), public, site.clone(), live.clone(), search)?;

    let static_site = opts.static_site;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let (state, addr) = vitrine_daemon::server::state_with_rebuilder(&dopts, Some(rebuilder))?;
        let mut router = vitrine_daemon::web::app(state.clone());
        if static_site {
            router = router
                .route("/_vitrine/events", get({
                    let live = live.clone();
                    move || events(live.clone())
                }))
                .route("/_vitrine/live.js", get(live_js))
                .fallback(move |req: Request| static_files(live.clone(), req));
        }
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| BindError { addr, source })?;
        let local = listener.local_addr()?;
        if static_site {
            println!("Site : http://{local}/");
        } else {
            println!("Démon : http://{local}/ (formulaires /submit/…, modération /moderation ; public/ est servi par le serveur web)");
        }
        println!("Modération : http://{local}/moderation");
        vitrine_daemon::server::announce_setup(&state)?;
        vitrine_daemon::server::retry_unpublished_in_background(&state);
        vitrine_daemon::server::retention_in_background(&state);
        println!("Surveillance des fichiers active ; Ctrl+C pour arrêter.");
        vitrine_daemon::server::serve_router(listener, router, state.settings.header_read_timeout, vitrine_daemon::server::shutdown_signal()).await;
        // Background tasks (SMTP retries) stop before the database closes.
        state.stop_background().await;
        state.db.close();
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

/// The listening socket could not be opened (address in use, not allowed…):
/// the message names the address.
#[derive(Debug)]
pub struct BindError {
    /// The address asked for (`--listen` or `daemon.listen`).
    pub addr: std::net::SocketAddr,
    /// The system's error.
    pub source: std::io::Error,
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "impossible d'écouter sur {}", self.addr)
    }
}

impl std::error::Error for BindError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
