//! Browser test of `vitrine serve` (issue 4) in Debian's Chromium: open a page,
//! edit its Markdown file, the page reloads by itself with the new text; break
//! its front matter, the error overlay names the file and line; fix it, the
//! overlay goes and the page shows the fixed text.
//!
//! The real binary runs on a free 127.0.0.1 port over a copy of the example site.

mod browser;
mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_http(port: u16) {
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("vitrine serve did not listen on {port}");
}

/// Waits (bounded) until the page's body text satisfies `pred`.
async fn body_until(b: &browser::Browser, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..200 {
        if let Ok(t) = b.text("body").await {
            if pred(&t) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.screenshot("target/shots/serve-timeout.png").await.ok();
    panic!("timed out waiting for {what}; page text was:\n{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_reloads_the_page_and_errors_show_an_overlay() {
    let Some(b) = browser::Browser::start().await.unwrap() else { return };
    b.watch_csp().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    common::copy_example_site(&site);
    let port = browser::free_port().unwrap();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_vitrine"))
            .args(["serve", "--site", site.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")])
            .env("VITRINE_NOW", "2026-11-28T12:00:00Z")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_http(port).await;

    let file = site.join("content/pages/a-propos.md");
    let original = std::fs::read_to_string(&file).unwrap();
    b.goto(&format!("http://127.0.0.1:{port}/a-propos/")).await.unwrap();
    let before = b.text("h1").await.unwrap();
    assert!(!before.is_empty());
    // The page must be connected to the event stream before we edit.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 1. Edit the body: the open page reloads with the new text.
    std::fs::write(&file, format!("{original}\n\nPhrase ajoutée en direct pour le test.\n")).unwrap();
    body_until(&b, "the edited text", |t| t.contains("Phrase ajoutée en direct pour le test.")).await;

    // 2. Break the front matter: the overlay names the file, line and field.
    let broken = original.replacen("title:", "titre:", 1);
    std::fs::write(&file, &broken).unwrap();
    let overlay = {
        let mut text = String::new();
        for _ in 0..200 {
            if let Ok(t) = b.text("#vitrine-overlay").await {
                text = t;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        text
    };
    assert!(overlay.contains("content/pages/a-propos.md:2:1"), "overlay: {overlay}");
    assert!(overlay.contains("titre: champ inconnu"), "overlay: {overlay}");
    // The last good page is still there under the overlay.
    assert_eq!(b.text("h1").await.unwrap(), before);
    b.screenshot("target/shots/serve-overlay.png").await.unwrap();

    // A fresh load while the error stands shows the overlay too.
    b.goto(&format!("http://127.0.0.1:{port}/a-propos/")).await.unwrap();
    body_until(&b, "the overlay after a reload", |t| t.contains("titre: champ inconnu")).await;

    // 3. Fix it: the page reloads, the overlay is gone.
    std::fs::write(&file, format!("{original}\n\nTexte corrigé.\n")).unwrap();
    body_until(&b, "the fixed page", |t| t.contains("Texte corrigé.") && !t.contains("champ inconnu")).await;
    assert!(b.find_all("#vitrine-overlay").await.unwrap().is_empty());

    // The files on disk never carry the live-reload script.
    let on_disk = std::fs::read_to_string(site.join("public/a-propos/index.html")).unwrap();
    // Issue 9: all of it under the pages' Content-Security-Policy, with no violation.
    let violations = b.csp_violations().await.unwrap();
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
    assert!(on_disk.contains("Texte corrigé.") && !on_disk.contains("_vitrine/live.js"));
    b.close().await;
}
