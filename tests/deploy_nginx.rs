//! The shipped production setup, run for real: Debian's nginx on 127.0.0.1 with
//! `deploy/nginx.conf` exactly as shipped (only the root folder and the two
//! ports substituted) in front of `vitrine daemon`.
//!
//! Without nginx installed the tests say so and pass, except under CI, which
//! installs it (`.ci/run`) and where a missing nginx is a failure.

mod browser;
mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NGINX: &str = "/usr/sbin/nginx";

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port()
}

/// A child process killed when dropped.
struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The site served as in production: `vitrine daemon` and nginx in front of it.
pub struct Deployment {
    pub base: String,
    pub site: PathBuf,
    _daemon: Proc,
    _nginx: Proc,
    _dir: tempfile::TempDir,
}

/// `deploy/nginx.conf` with this machine's paths and ports: the lines marked ADAPT.
fn shipped_config(root: &Path, port: u16, daemon_port: u16) -> String {
    let conf = std::fs::read_to_string(common::repo_root().join("deploy/nginx.conf")).unwrap();
    let mut out = String::new();
    for line in conf.lines() {
        let l = if line.contains("ADAPT") && line.trim_start().starts_with("listen ") {
            format!("    listen 127.0.0.1:{port};")
        } else if line.contains("ADAPT") && line.trim_start().starts_with("root ") {
            format!("    root {};", root.display())
        } else if line.contains("ADAPT") && line.trim_start().starts_with("proxy_pass ") {
            format!("        proxy_pass http://127.0.0.1:{daemon_port};")
        } else {
            line.to_string()
        };
        out.push_str(&l);
        out.push('\n');
    }
    for expected in [format!("listen 127.0.0.1:{port};"), format!("root {};", root.display()), format!("proxy_pass http://127.0.0.1:{daemon_port};")] {
        assert!(out.contains(&expected), "deploy/nginx.conf no longer has the ADAPT line for `{expected}`");
    }
    out
}

fn wait_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status}");
        }
        assert!(Instant::now() < deadline, "{what} is not listening on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Deployment {
    /// `None` (with a note) when nginx is missing outside CI.
    pub fn start() -> Option<Deployment> {
        if !Path::new(NGINX).exists() {
            assert!(!browser::in_ci(), "CI is set but {NGINX} is missing (apt-get install nginx-light)");
            eprintln!("SKIPPED: the deployment test needs nginx (apt-get install nginx-light)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        common::copy_example_site(&site);
        // nginx's workers read public/ as another user: let them in.
        for p in [dir.path(), site.as_path()] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let (port, daemon_port) = (free_port(), free_port());
        let mut daemon = Command::new(env!("CARGO_BIN_EXE_vitrine"))
            .args(["daemon", "--site", site.to_str().unwrap(), "--listen", &format!("127.0.0.1:{daemon_port}")])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wait_port(daemon_port, "vitrine daemon", &mut daemon);
        let daemon = Proc(daemon);
        let prefix = dir.path().join("nginx");
        std::fs::create_dir_all(prefix.join("logs")).unwrap();
        let user = if unsafe { libc::geteuid() } == 0 { "user root root;\n" } else { "" };
        let main = format!(
            "{user}worker_processes 1;\nerror_log {}/logs/error.log;\npid {}/nginx.pid;\nevents {{ worker_connections 64; }}\n\
             http {{\n include /etc/nginx/mime.types;\n access_log off;\n client_body_temp_path {0}/body;\n proxy_temp_path {0}/proxy;\n\
             fastcgi_temp_path {0}/fcgi;\n uwsgi_temp_path {0}/uwsgi;\n scgi_temp_path {0}/scgi;\n{}\n}}\n",
            prefix.display(),
            prefix.display(),
            shipped_config(&site.join("public"), port, daemon_port)
        );
        std::fs::write(prefix.join("nginx.conf"), main).unwrap();
        let mut nginx = Command::new(NGINX)
            .args(["-p", prefix.to_str().unwrap(), "-c", prefix.join("nginx.conf").to_str().unwrap(), "-g", "daemon off;"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        wait_port(port, "nginx", &mut nginx);
        Some(Deployment { base: format!("http://127.0.0.1:{port}"), site, _daemon: daemon, _nginx: Proc(nginx), _dir: dir })
    }
}

/// A plain HTTP/1.1 GET through nginx: (status, headers in lowercase, body).
fn get(base: &str, path: &str) -> (u16, Vec<(String, String)>, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: vitrine.example.org\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
}

/// Issue 9: every page carries the policy and the other headers, once, through
/// the shipped configuration; the daemon's pages carry the daemon's.
#[test]
fn the_shipped_nginx_configuration_sends_the_security_headers() {
    let Some(d) = Deployment::start() else { return };
    let page_policy = vitrine_generator::csp::page_policy(&[]);
    for path in ["/", "/projets/", "/css/vitrine.css", "/nulle-part/", "/recherche/"] {
        let (status, h, _) = get(&d.base, path);
        assert!(status == 200 || (path == "/nulle-part/" && status == 404), "{path}: {status}");
        assert_eq!(header(&h, "content-security-policy"), [page_policy.as_str()], "{path}");
        assert_eq!(header(&h, "x-content-type-options"), ["nosniff"], "{path}");
        assert_eq!(header(&h, "referrer-policy"), ["no-referrer"], "{path}");
    }
    // Proxied to the daemon: its own headers, once.
    let (status, h, body) = get(&d.base, "/moderation/login");
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&h, "content-security-policy"), [vitrine_generator::csp::MODERATION_POLICY]);
    assert_eq!(header(&h, "x-content-type-options"), ["nosniff"]);
    let (status, h, body) = get(&d.base, "/proposer/projets/");
    assert_eq!(status, 200, "the form page comes from the daemon");
    assert!(body.contains("name=\"vt_token\""), "with a fresh form token");
    assert_eq!(header(&h, "content-security-policy"), [page_policy.as_str()]);
}
