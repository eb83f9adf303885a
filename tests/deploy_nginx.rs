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

/// A child process stopped when dropped: SIGTERM first (nginx's master then
/// stops its workers, which a SIGKILL would leave behind holding the test's
/// pipes), SIGKILL if it is still there after 5 s.
struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The site served as in production: `vitrine daemon` and nginx in front of it.
pub struct Deployment {
    pub base: String,
    pub site: PathBuf,
    pub port: u16,
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

const UNIT: &str = "deploy/vitrine.service";
const UNIT_SITE: &str = "/srv/vitrine";

/// The arguments of `ExecStart` in `deploy/vitrine.service`, with this
/// machine's site folder and daemon port (the lines marked ADAPT).
fn shipped_exec_start(site: &Path, daemon_port: u16) -> Vec<String> {
    let unit = std::fs::read_to_string(common::repo_root().join(UNIT)).unwrap();
    let line = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart in the unit");
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("/usr/bin/vitrine"), "{line}");
    words
        .map(|w| {
            if w == UNIT_SITE {
                site.display().to_string()
            } else if let Some(port) = w.strip_prefix("127.0.0.1:") {
                assert!(port.parse::<u16>().is_ok(), "{w}");
                format!("127.0.0.1:{daemon_port}")
            } else {
                w.to_string()
            }
        })
        .collect()
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
        // The daemon exactly as the shipped unit starts it (it builds the site first).
        let args = shipped_exec_start(&site, daemon_port);
        let mut daemon = Command::new(env!("CARGO_BIN_EXE_vitrine"))
            .args(&args)
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
        Some(Deployment { base: format!("http://127.0.0.1:{port}"), site, port, _daemon: daemon, _nginx: Proc(nginx), _dir: dir })
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

/// The e-mails in the outbox so far: (file name, raw message, decoded body).
fn outbox(site: &Path) -> Vec<(String, String, String)> {
    let dir = site.join(".vitrine/outbox");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "eml") {
            let raw = std::fs::read_to_string(&p).unwrap();
            let body = vitrine_daemon::outbox::decode_body(&raw).unwrap_or_default();
            out.push((e.file_name().to_string_lossy().into_owned(), raw, body));
        }
    }
    out.sort();
    out
}

/// The body of the one e-mail whose text contains all of `needles`, waited for (bounded).
fn mail_containing(site: &Path, needles: &[&str]) -> String {
    for _ in 0..100 {
        if let Some((_, _, body)) = outbox(site).into_iter().find(|(_, _, b)| needles.iter().all(|n| b.contains(n))) {
            return body;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let all: Vec<String> = outbox(site).into_iter().map(|(_, _, b)| b).collect();
    panic!("no e-mail with {needles:?} among {all:#?}");
}

/// A moderator account made on the command line, as an administrator does.
fn add_moderator(site: &Path, name: &str, password: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_vitrine"))
        .args(["user", "add", name, "--site", site.to_str().unwrap()])
        .env("VITRINE_PASSWORD", password)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

async fn login(b: &browser::Browser, base: &str, name: &str, password: &str) {
    b.goto(&format!("{base}/moderation")).await.unwrap();
    b.fill("#username", name).await.unwrap();
    b.fill("#password", password).await.unwrap();
    b.press("form[action='/moderation/login'] button[type='submit']").await.unwrap();
    b.find("h1").await.unwrap();
}

/// Opens the queue item of `reference` (after login).
async fn open_item(b: &browser::Browser, base: &str, reference: &str) -> String {
    b.goto(&format!("{base}/moderation/queue")).await.unwrap();
    for l in b.find_all("table.queue a").await.unwrap() {
        if l.text().await.unwrap() == reference {
            l.click().await.unwrap();
            b.text_containing("h1", reference).await;
            return b.current_url().await.unwrap();
        }
    }
    panic!("reference {reference} not in the queue");
}

/// Screenshots of a teacher's page at phone and desktop width, for people to look at.
async fn shots(b: &browser::Browser, name: &str) {
    for w in [390, 1280] {
        b.screenshot_full_page(format!("target/shots/deploy-{name}-{w}.png"), w).await.unwrap();
    }
    b.set_window_size(1280, 1400).await.unwrap();
}

/// Issue 11, the acceptance: a teacher's whole path in Chromium through nginx
/// only, with the shipped configuration in front of the shipped daemon: home →
/// "Proposer un projet" → form with mistakes → corrected → confirmation and
/// e-mail → status page → a moderator approves → the project's page, served by
/// nginx from public/. Then a label request for that very project, from the
/// labels gallery, which the moderator completes (the jury's year) and approves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_proposes_a_project_and_a_label_through_nginx_and_both_go_live() {
    let Some(d) = Deployment::start() else { return };
    let Some(b) = browser::Browser::start().await.unwrap() else { return };
    b.watch_csp().await.unwrap();
    add_moderator(&d.site, "correspondant", "mot de passe du correspondant");
    let base = d.base.clone();
    b.set_window_size(1280, 1400).await.unwrap();

    // Home → the call to action → the themed form, with its token.
    b.goto(&format!("{base}/")).await.unwrap();
    b.press("a[href='/proposer/projets/']").await.unwrap();
    b.text_containing("h1", "Proposer un projet").await;
    assert!(b.current_url().await.unwrap().ends_with("/proposer/projets/"));
    assert!(b.find_all("input[name='vt_token']").await.unwrap().len() == 1, "the daemon served the form with a token");
    // Limits are announced before anyone fails them.
    assert!(b.text("#f-summary-help").await.unwrap().contains("De 20 à 400 caractères"));
    b.fill("#f-title", "Ponts entre nos villes").await.unwrap();
    b.fill("#f-summary", "Trop court").await.unwrap(); // mistake 1: under 20 characters
    b.fill("#f-school", "Collège des Tilleuls").await.unwrap();
    b.fill("#f-school_year", "2026/27").await.unwrap(); // mistake 2
    b.fill("#f-partners-0-school", "Szkoła Podstawowa nr 3").await.unwrap();
    b.find("#f-partners-0-country").await.unwrap().select_by_value("Pologne").await.unwrap();
    for (name, value) in [("disciplines", "Histoire-géographie"), ("levels", "collège"), ("languages", "anglais")] {
        let id = b.attr(&format!("input[name='{name}'][value='{value}']"), "id").await.unwrap().unwrap();
        b.press(&format!("label[for='{id}']")).await.unwrap();
    }
    b.find("#f-duration").await.unwrap().select_by_value("une année scolaire").await.unwrap();
    b.fill("#f-vt_body", "Nos élèves dessinent les ponts de leur ville et les comparent.").await.unwrap();
    b.fill("#f-vt_name", "Camille Martin").await.unwrap();
    b.fill("#f-vt_email", "camille.martin@example.org").await.unwrap();
    // Past the form's minimum filling time (3 s by default, as shipped).
    tokio::time::sleep(Duration::from_secs(4)).await;
    b.press("form[action='/submit/projects'] button[type='submit']").await.unwrap();

    // The form again, in the site's layout, errors named by the form's labels.
    let summary = b.text_containing("#erreurs", "Année scolaire").await;
    if summary.is_empty() {
        b.screenshot("target/shots/deploy-no-errors.png").await.unwrap();
        panic!("no error summary at {}: {}", b.current_url().await.unwrap(), b.text("main").await.unwrap_or_default());
    }
    assert!(summary.contains("Résumé") && summary.contains("Année scolaire"), "{summary}");
    assert!(!summary.contains('[') && !summary.contains("Texte"), "labels, not paths: {summary}");
    assert!(!b.find_all("header .main-nav, .site-header").await.unwrap().is_empty(), "the site's header");
    assert_eq!(b.attr("#f-school", "value").await.unwrap().as_deref(), Some("Collège des Tilleuls"));
    shots(&b, "form-errors").await;
    b.fill("#f-summary", "Deux classes dessinent les ponts de leur ville et comparent leur histoire.").await.unwrap();
    b.fill("#f-school_year", "2026-2027").await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    b.press("form[action='/submit/projects'] button[type='submit']").await.unwrap();

    // Confirmation: the reference, in the site's layout, and the e-mail.
    let reference = b.text_containing(".ref", "VT-").await;
    assert!(reference.starts_with("VT-"), "{reference}");
    let status_url = b.current_url().await.unwrap().split('?').next().unwrap().to_string();
    assert!(status_url.starts_with(&format!("{base}/suivi/")), "{status_url}");
    let sent = b.text(".vt-sent").await.unwrap();
    assert!(sent.contains("France, Pologne") && sent.contains("Szkoła Podstawowa nr 3"), "the submission as sent: {sent}");
    assert!(b.text(".factsheet").await.unwrap().contains("Projet"), "the collection in the singular");
    shots(&b, "confirmation").await;
    let ack = mail_containing(&d.site, &[&reference, "/suivi/"]);
    assert!(ack.contains("Ponts entre nos villes") && ack.contains("Pays partenaires : France, Pologne"), "{ack}");
    let status_path = &status_url[base.len()..];
    assert!(ack.contains(status_path), "the status link in the e-mail: {ack}");

    // The status page, opened again from the e-mail's link (a lost tab loses nothing).
    b.goto(&status_url).await.unwrap();
    assert!(b.text(".factsheet").await.unwrap().contains("en attente de relecture"));

    // The moderator approves; the project's page is served by nginx.
    login(&b, &base, "correspondant", "mot de passe du correspondant").await;
    open_item(&b, &base, &reference).await;
    b.press("form[action$='/approve'] button[type='submit']").await.unwrap();
    assert_eq!(b.wait_for_text(".facts .status", "publiée").await.unwrap(), "publiée");
    let page = b.attr(".facts a[href^='/projets/']", "href").await.unwrap().unwrap();
    let (status, _, html) = get(&base, &page);
    assert_eq!(status, 200, "{page} through nginx");
    assert!(html.contains("Ponts entre nos villes") && !html.contains("camille.martin@example.org"));
    let published = mail_containing(&d.site, &[&reference, "publiée"]);
    assert!(published.contains(&page), "the public page's address in the e-mail: {published}");

    // A label request for that project, from the labels gallery.
    b.goto(&format!("{base}/labels/")).await.unwrap();
    b.press(".page-header a[href='/proposer/labels/']").await.unwrap();
    b.text_containing("h1", "Demander un label").await;
    assert!(b.find_all("#f-year, #f-citation").await.unwrap().is_empty(), "the jury's fields are not asked");
    b.fill("#f-title", "Label national pour Ponts entre nos villes").await.unwrap();
    b.find("#f-kind").await.unwrap().select_by_value("Label de qualité national").await.unwrap();
    let slug = page.trim_matches('/').rsplit('/').next().unwrap().to_string();
    b.find("#f-project").await.unwrap().select_by_value(&slug).await.unwrap();
    b.fill("#f-vt_name", "Camille Martin").await.unwrap();
    b.fill("#f-vt_email", "camille.martin@example.org").await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    b.press("form[action='/submit/labels'] button[type='submit']").await.unwrap();
    let label_ref = b.text_containing(".ref", "VT-").await;
    assert!(label_ref.starts_with("VT-") && label_ref != reference, "{label_ref}");
    let facts = b.text(".factsheet").await.unwrap();
    assert!(facts.to_lowercase().contains("réponse attendue"), "a label request has a due date: {facts}");
    shots(&b, "label-confirmation").await;

    // The moderator fills in the jury's year, then approves.
    open_item(&b, &base, &label_ref).await;
    assert!(b.text("[role='note']").await.unwrap().contains("Année du label"));
    b.fill("#f-year", "2026").await.unwrap();
    b.press("form[action$='/edit'] button[type='submit']").await.unwrap();
    b.text_containing("h1", &label_ref).await;
    b.press("form[action$='/approve'] button[type='submit']").await.unwrap();
    assert_eq!(b.wait_for_text(".facts .status", "publiée").await.unwrap(), "publiée");
    let label_page = b.attr(".facts a[href^='/labels/']", "href").await.unwrap().unwrap();
    let (status, _, html) = get(&base, &label_page);
    assert_eq!(status, 200, "{label_page} through nginx");
    assert!(html.contains("Ponts entre nos villes"), "the label names its project");
    let violations = b.csp_violations().await.unwrap();
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
    b.close().await;
}

/// The shipped unit is valid for systemd (where `systemd-analyze` exists), runs
/// hardened, and names the address nginx proxies to.
#[test]
fn the_shipped_systemd_unit_is_valid_and_matches_nginx() {
    let unit = std::fs::read_to_string(common::repo_root().join(UNIT)).unwrap();
    for line in ["NoNewPrivileges=yes", "ProtectSystem=strict", &format!("ReadWritePaths={UNIT_SITE}"), "User=vitrine", "EnvironmentFile=-/etc/vitrine/vitrine.env"] {
        assert!(unit.lines().any(|l| l == line), "{line} missing from the unit");
    }
    let nginx = std::fs::read_to_string(common::repo_root().join("deploy/nginx.conf")).unwrap();
    let proxied = nginx.lines().find_map(|l| l.trim().strip_prefix("proxy_pass http://")).unwrap().split(';').next().unwrap().to_string();
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
    assert!(exec.split_whitespace().any(|w| w == proxied), "nginx proxies to {proxied}, the unit listens with `{exec}`");
    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !analyze.exists() {
        eprintln!("SKIPPED: systemd-analyze is not installed; the unit was checked by reading it only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let local = unit.replace("/usr/bin/vitrine", env!("CARGO_BIN_EXE_vitrine"));
    let path = dir.path().join("vitrine.service");
    std::fs::write(&path, local).unwrap();
    let out = Command::new(analyze).arg("verify").arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let problems: Vec<&str> = err.lines().filter(|l| l.contains("vitrine.service")).collect();
    assert!(problems.is_empty(), "systemd-analyze verify: {err}");
}
