//! A tiny static file server for browser tests: serves one directory (a built
//! site) on `127.0.0.1:<free port>` from a background thread, like a plain web
//! server would (`/dir/` → `dir/index.html`, `/dir` → redirect to `/dir/`,
//! percent-decoded paths, `404.html` for missing files).
//!
//! Deliberately minimal: GET and HEAD only, one request per connection, no
//! ranges, no caching headers, no directory listings. It is not the daemon and
//! not `vitrine serve`; it only lets a real browser load a built site.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// A running server; stops when dropped.
pub struct StaticServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StaticServer {
    /// Serves `root` on a free port of 127.0.0.1.
    pub fn serve(root: impl Into<PathBuf>) -> std::io::Result<StaticServer> {
        let root: PathBuf = root.into();
        let root = root.canonicalize()?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name(format!("static-server-{}", addr.port())).spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let root = root.clone();
                // One thread per connection: browsers open several at once.
                let _ = std::thread::Builder::new().spawn(move || {
                    if let Err(e) = handle(stream, &root) {
                        eprintln!("static server: {e}");
                    }
                });
            }
        })?;
        Ok(StaticServer { addr, stop, thread: Some(thread) })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The absolute URL of `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(()); // the wake-up connection of Drop, or a closed probe
    }
    // Drain the headers; nothing in them changes the answer.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let head = method == "HEAD";
    if method != "GET" && !head {
        return respond(&mut stream, "405 Method Not Allowed", "text/plain; charset=utf-8", b"method not allowed\n", head, None);
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let Some(decoded) = percent_decode(path) else {
        return respond(&mut stream, "400 Bad Request", "text/plain; charset=utf-8", b"bad path\n", head, None);
    };
    let Some(rel) = safe_relative(&decoded) else {
        return respond(&mut stream, "400 Bad Request", "text/plain; charset=utf-8", b"bad path\n", head, None);
    };
    let mut file = root.join(&rel);
    if file.is_dir() {
        if !decoded.ends_with('/') {
            let location = format!("{path}/");
            return respond(&mut stream, "301 Moved Permanently", "text/plain; charset=utf-8", b"", head, Some(&location));
        }
        file = file.join("index.html");
    }
    match std::fs::read(&file) {
        Ok(bytes) => respond(&mut stream, "200 OK", content_type(&file), &bytes, head, None),
        Err(_) => {
            let body = std::fs::read(root.join("404.html")).unwrap_or_else(|_| b"not found\n".to_vec());
            respond(&mut stream, "404 Not Found", "text/html; charset=utf-8", &body, head, None)
        }
    }
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    head: bool,
    location: Option<&str>,
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(loc) = location {
        out.push_str(&format!("Location: {loc}\r\n"));
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes())?;
    if !head {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// Decodes `%XX` escapes; `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

/// The request path as a path relative to the root, refusing `..` and anything
/// else that could leave it.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let mut rel = PathBuf::new();
    for comp in Path::new(path.trim_start_matches('/')).components() {
        match comp {
            Component::Normal(c) => rel.push(c),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(rel)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// The daemon's whole app (`vitrine_daemon::server::serve`) on a real socket on
/// `127.0.0.1:<free port>`, in the test's tokio runtime; [`DaemonServer::stop`]
/// shuts it down gracefully and waits for it.
pub struct DaemonServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl DaemonServer {
    pub async fn start(state: vitrine_daemon::state::AppState) -> DaemonServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(vitrine_daemon::server::serve(listener, state, async {
            let _ = stop_rx.await;
        }));
        DaemonServer { base, stop, task }
    }

    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap();
    }
}

/// The moderator account the browser tests log in with: « correspondant ».
pub const CORRESPONDENT: &str = "correspondant";
/// Its password.
pub const CORRESPONDENT_PASSWORD: &str = "mot de passe du correspondant";

/// Adds the account [`CORRESPONDENT`] (role moderator) to the queue of `st`.
pub async fn add_correspondent(st: &vitrine_daemon::state::AppState) {
    let phc = vitrine_daemon::security::hash_password(CORRESPONDENT_PASSWORD).unwrap();
    st.db
        .write(move |c| {
            vitrine_daemon::auth::create_user(c, CORRESPONDENT, &phc, vitrine_daemon::auth::Role::Moderator, "test")
                .map_err(|e| vitrine_daemon::db::DbError::Conflict(e.to_string()))
        })
        .await
        .unwrap();
}
