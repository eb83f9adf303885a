//! Proves the browser harness (`tests/browser/`) works end to end: a real
//! Chromium loads a page from the test static server, runs its script on a
//! click, takes text typed into a field, and takes a screenshot. Also checks
//! the static server's own behaviour (redirects, 404s, no path traversal)
//! over a raw socket, without a browser. And that the pictures of the example
//! site (covers in the label gallery and on a project page) load in Chromium
//! as WebP, each file as wide as its name says.

mod browser;
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>Essai du navigateur</title>
<link rel="stylesheet" href="/style.css"></head>
<body>
<main>
<h1 id="titre">Avant le clic</h1>
<button id="changer" type="button">Changer le titre</button>
<label for="nom">Nom de l'école</label>
<input id="nom" name="nom" type="text">
<p id="echo"></p>
</main>
<script>
document.getElementById('changer').addEventListener('click', function () {
  document.getElementById('titre').textContent = 'Après le clic';
});
document.getElementById('nom').addEventListener('input', function (e) {
  document.getElementById('echo').textContent = 'Bonjour ' + e.target.value;
});
</script>
</body>
</html>
"#;

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), PAGE).unwrap();
    std::fs::write(dir.path().join("style.css"), "h1 { color: #1a3d7c; }\n").unwrap();
    std::fs::create_dir(dir.path().join("projets")).unwrap();
    std::fs::write(
        dir.path().join("projets/index.html"),
        "<!DOCTYPE html><html lang=\"fr\"><title>Projets</title><h1>Liste des projets</h1></html>",
    )
    .unwrap();
    std::fs::write(dir.path().join("404.html"), "<h1>Page introuvable</h1>").unwrap();
    dir
}

#[tokio::test]
async fn click_changes_text_and_screenshot_is_a_png() {
    let Some(b) = browser::Browser::start().await.unwrap() else { return };
    let dir = site();
    let server = browser::StaticServer::serve(dir.path()).unwrap();

    b.set_window_size(1024, 768).await.unwrap();
    b.goto(&server.url("/")).await.unwrap();
    assert_eq!(b.client().title().await.unwrap(), "Essai du navigateur");
    assert_eq!(b.text("#titre").await.unwrap(), "Avant le clic");

    // The stylesheet was served and applied (rgb of #1a3d7c).
    let color = b.find("#titre").await.unwrap().css_value("color").await.unwrap();
    assert_eq!(color, "rgba(26, 61, 124, 1)");

    b.click("#changer").await.unwrap();
    assert_eq!(b.wait_for_text("#titre", "Après le clic").await.unwrap(), "Après le clic");

    b.type_text("#nom", "Collège Jean Moulin").await.unwrap();
    assert_eq!(
        b.wait_for_text("#echo", "Bonjour Collège Jean Moulin").await.unwrap(),
        "Bonjour Collège Jean Moulin"
    );

    let shot = dir.path().join("shots/accueil.png");
    let png = b.screenshot(&shot).await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "screenshot is not a PNG");
    assert_eq!(std::fs::read(&shot).unwrap(), png);
    // IHDR width/height: the viewport, so at least a few hundred pixels each.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(width >= 300 && height >= 300, "screenshot is {width}x{height}");

    // Full-page capture at phone width: as wide as asked, as tall as the page.
    let full = b.screenshot_full_page(dir.path().join("shots/accueil-telephone.png"), 390).await.unwrap();
    let full_width = u32::from_be_bytes(full[16..20].try_into().unwrap());
    assert!((300..=390).contains(&full_width), "phone screenshot is {full_width} px wide");

    // A directory URL without its slash is redirected and then served.
    b.goto(&server.url("/projets")).await.unwrap();
    assert_eq!(b.text("h1").await.unwrap(), "Liste des projets");
    assert_eq!(b.current_url().await.unwrap(), server.url("/projets/"));

    b.close().await;
}

/// Sends one raw request and returns (status line, body).
fn get(server: &browser::StaticServer, request_target: &str) -> (String, String) {
    let mut s = TcpStream::connect(server.addr()).unwrap();
    write!(s, "GET {request_target} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[test]
fn static_server_serves_redirects_and_refuses_traversal() {
    let dir = site();
    let server = browser::StaticServer::serve(dir.path()).unwrap();

    let (status, body) = get(&server, "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, PAGE);

    let (status, body) = get(&server, "/style.css?v=1");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, "h1 { color: #1a3d7c; }\n");

    let (status, _) = get(&server, "/projets");
    assert_eq!(status, "HTTP/1.1 301 Moved Permanently");
    let (status, body) = get(&server, "/%70rojets/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.contains("Liste des projets"));

    let (status, body) = get(&server, "/absent/");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert_eq!(body, "<h1>Page introuvable</h1>");

    let (status, _) = get(&server, "/../etc/passwd");
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    let (status, _) = get(&server, "/%2e%2e/%2e%2e/etc/passwd");
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
}

/// `[{src, complete, natural, loading}]` of every `<picture>` image of the page.
async fn pictures(b: &browser::Browser) -> Vec<serde_json::Value> {
    let v = b
        .execute(
            "return Array.from(document.querySelectorAll('picture > img')).map(i => ({src: i.currentSrc, \
             complete: i.complete, natural: i.naturalWidth, loading: i.getAttribute('loading')}))",
        )
        .await
        .unwrap();
    v.as_array().unwrap().clone()
}

#[tokio::test]
async fn example_site_pictures_load_as_webp() {
    let Some(b) = browser::Browser::start().await.unwrap() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (site, out) = (dir.path().join("site"), dir.path().join("public"));
    common::copy_example_site(&site);
    common::build(&site, &out, &[]).assert_ok();
    let server = browser::StaticServer::serve(&out).unwrap();
    b.set_window_size(1280, 900).await.unwrap();

    for (page, eager) in [("/projets/sur-les-planches/", 1), ("/labels/", 3)] {
        b.goto(&server.url(page)).await.unwrap();
        // Images above the fold are not lazy and have loaded with the page.
        let first = pictures(&b).await;
        assert!(first.len() >= eager, "{page}: {first:?}");
        for p in &first[..eager] {
            assert_eq!(p["loading"], serde_json::Value::Null, "{page}: {p}");
            assert_eq!(p["complete"], true, "{page}: {p}");
        }
        assert!(first[eager..].iter().all(|p| p["loading"] == "lazy"), "{page}: below the fold is lazy: {first:?}");
        // Scroll every picture into view so lazy ones load, then wait for them.
        b.execute("document.querySelectorAll('picture > img').forEach(i => { i.scrollIntoView({block: 'center', behavior: 'instant'}); }); return null")
            .await
            .unwrap();
        let mut all = pictures(&b).await;
        for _ in 0..100 {
            if all.iter().all(|p| p["complete"] == true && p["natural"].as_u64() > Some(0)) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            all = pictures(&b).await;
        }
        for p in &all {
            let src = p["src"].as_str().unwrap();
            assert!(src.starts_with(&server.base_url()) && src.ends_with(".webp"), "{page}: Chromium chose {src}");
            assert!(p["natural"].as_u64() > Some(0), "{page}: {src} not shown: {p}");
        }
        // Each chosen file, decoded on its own (no srcset density scaling), is as wide as its name says.
        let decoded = b
            .execute(
                "return Promise.all(Array.from(document.querySelectorAll('picture > img')).map(i => { \
                 const x = new Image(); x.src = i.currentSrc; return x.decode().then(() => [i.currentSrc, x.naturalWidth]); }))",
            )
            .await
            .unwrap();
        for pair in decoded.as_array().unwrap() {
            let src = pair[0].as_str().unwrap();
            let named: u64 = src.rsplit_once('-').unwrap().1.trim_end_matches(".webp").parse().unwrap();
            assert_eq!(pair[1].as_u64(), Some(named), "{page}: {src} decoded at its width");
        }
        assert_eq!(decoded.as_array().unwrap().len(), all.len());
    }
}
