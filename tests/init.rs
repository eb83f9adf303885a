//! `vitrine init`: the new site builds, passes `check` and is served by
//! `vitrine serve`; a folder that is not empty is refused.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

fn vitrine(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vitrine")).args(args).env("RUST_LOG", "warn").output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn init_makes_a_site_that_builds_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("nouveau");
    let s = site.to_str().unwrap();
    let (ok, out) = vitrine(&["init", s]);
    assert!(ok, "{out}");
    assert!(site.join("vitrine.yaml").is_file() && site.join("themes/default/templates/base.html").is_file());
    // The embedded theme is the repository's, file for file (a new theme file must be added to src/init.rs).
    let files = |root: &std::path::Path| {
        let mut v: Vec<_> = walkdir::WalkDir::new(root)
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| (e.path().strip_prefix(root).unwrap().to_owned(), std::fs::read(e.path()).unwrap()))
            .collect();
        v.sort();
        v
    };
    let repo_theme = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("themes/default");
    assert!(files(&site.join("themes/default")) == files(&repo_theme), "embedded theme differs from themes/default");
    let (ok, out) = vitrine(&["build", "--site", s]);
    assert!(ok && out.contains("0 avertissement"), "{out}");
    assert!(std::fs::read_to_string(site.join("public/index.html")).unwrap().contains("Bienvenue"));
    let (ok, out) = vitrine(&["check", "--site", s]);
    assert!(ok, "{out}");
    // Not twice in the same folder.
    let (ok, out) = vitrine(&["init", s]);
    assert!(!ok && out.contains("n'est pas vide") && out.contains("nouveau"), "{out}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_vitrine"))
        .args(["serve", "--site", s, "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(lines.read_line(&mut line).unwrap() > 0, "serve exited");
        if let Some(rest) = line.strip_prefix("Site : http://") {
            break rest.trim().trim_end_matches('/').to_string();
        }
    };
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    write!(c, "GET /a-propos/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    c.read_to_string(&mut resp).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(resp.starts_with("HTTP/1.1 200") && resp.contains("À propos"), "{resp}");
}
