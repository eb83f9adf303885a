//! Real-browser harness for the end-to-end tests: starts `chromedriver` on a
//! free loopback port and drives Debian's Chromium (`/usr/bin/chromium`)
//! headless through WebDriver (`fantoccini`), plus a tiny static file server
//! ([`StaticServer`]) to put a built site on `127.0.0.1`.
//!
//! Use it from a test file with `mod browser;`:
//!
//! ```ignore
//! mod browser;
//!
//! #[tokio::test]
//! async fn button_works() {
//!     let Some(b) = browser::Browser::start().await.unwrap() else { return };
//!     let site = browser::StaticServer::serve("public").unwrap();
//!     b.goto(&site.url("/")).await.unwrap();
//!     b.click("button").await.unwrap();
//!     b.screenshot("target/shots/home.png").await.unwrap();
//!     b.close().await;
//! }
//! ```
//!
//! When Chromium or chromedriver is missing, [`Browser::start`] returns
//! `Ok(None)` with a note on stderr so a developer without a browser can still
//! run `cargo test`; with `CI` set (CI installs both, see `.ci/run`) a missing
//! browser is a failure instead, so CI never passes by skipping.
//!
//! Deliberately not here: waiting on arbitrary JavaScript conditions, multiple
//! windows, or any timing measurement (tests never assert on time; the
//! timeouts below only bound how long a broken test can hang).

#![allow(dead_code)] // each test file uses a different subset of the helpers

mod serve;

#[allow(unused_imports)] // each test file uses the server it needs
pub use serve::{CORRESPONDENT, CORRESPONDENT_PASSWORD, DaemonServer, StaticServer, add_correspondent};

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// Chromium as packaged by Debian (`apt-get install chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// ChromeDriver as packaged by Debian (`apt-get install chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Flags Chromium is started with. The network ones matter: this machine's
/// network is closed, and without them Chromium keeps trying to reach
/// Google's services. A fresh `--user-data-dir` is appended per browser.
pub const CHROME_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
];

/// How long to wait for chromedriver to listen, and for elements to appear.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const FIND_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong while driving the browser; the message says which step
/// (and which CSS selector or URL) failed.
#[derive(Debug)]
pub enum BrowserError {
    /// chromedriver could not be started or never listened.
    Driver(String),
    /// A WebDriver session (i.e. Chromium itself) could not be created.
    Session(String),
    /// A WebDriver command failed; `what` names the step, e.g. `click "#go"`.
    Command { what: String, source: fantoccini::error::CmdError },
    /// Writing a screenshot failed.
    Io { what: String, source: std::io::Error },
}

impl fmt::Display for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrowserError::Driver(msg) => write!(f, "chromedriver: {msg}"),
            BrowserError::Session(msg) => write!(f, "starting Chromium through chromedriver: {msg}"),
            BrowserError::Command { what, source } => write!(f, "{what}: {source}"),
            BrowserError::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for BrowserError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BrowserError::Command { source, .. } => Some(source),
            BrowserError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn cmd_err(what: impl Into<String>) -> impl FnOnce(fantoccini::error::CmdError) -> BrowserError {
    let what = what.into();
    move |source| BrowserError::Command { what, source }
}

/// True when running under CI (`CI` set to anything but empty, `0` or `false`).
pub fn in_ci() -> bool {
    match std::env::var("CI") {
        Ok(v) => !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")),
        Err(_) => false,
    }
}

/// A headless Chromium driven through its own chromedriver process.
///
/// Dropping it kills chromedriver and everything it started (its process
/// group, so Chromium's helpers go too) and removes the profile directory;
/// [`Browser::close`] ends the WebDriver session politely first.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    profile: tempfile::TempDir,
    log_path: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium.
    ///
    /// Returns `Ok(None)` (after saying so on stderr) when the browser is not
    /// installed and `CI` is not set; panics when it is missing under CI.
    pub async fn start() -> Result<Option<Browser>, BrowserError> {
        let chromium = std::env::var_os("VITRINE_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| CHROMIUM.into());
        let driver = std::env::var_os("VITRINE_CHROMEDRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| CHROMEDRIVER.into());
        let missing: Vec<String> =
            [&chromium, &driver].iter().filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
        if !missing.is_empty() {
            let msg = format!(
                "browser test needs {} (install with `apt-get install -y chromium chromium-driver`)",
                missing.join(" and ")
            );
            if in_ci() {
                panic!("CI is set but {msg}");
            }
            eprintln!("SKIPPED: {msg}");
            return Ok(None);
        }
        Self::launch(&chromium, &driver).await.map(Some)
    }

    async fn launch(chromium: &Path, driver_bin: &Path) -> Result<Browser, BrowserError> {
        let profile = tempfile::Builder::new()
            .prefix("vitrine-chromium-")
            .tempdir()
            .map_err(|e| BrowserError::Driver(format!("creating the profile directory: {e}")))?;
        let log_path = profile.path().join("chromedriver.log");
        let port = free_port().map_err(|e| BrowserError::Driver(format!("finding a free port: {e}")))?;

        let mut cmd = Command::new(driver_bin);
        cmd.arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log_path.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        {
            use std::os::unix::process::CommandExt;
            // Own process group, so Drop can end Chromium's processes too.
            cmd.process_group(0);
        }
        let driver = cmd
            .spawn()
            .map_err(|e| BrowserError::Driver(format!("spawning {}: {e}", driver_bin.display())))?;

        // From here on, `browser`'s Drop cleans up whatever happens.
        let mut browser = Browser { client: None, driver, profile, log_path };

        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if TcpStream::connect_timeout(&addr.into(), Duration::from_millis(200)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = browser.driver.try_wait() {
                return Err(BrowserError::Driver(format!(
                    "exited with {status} before listening on {addr}\n{}",
                    browser.log_tail()
                )));
            }
            if Instant::now() > deadline {
                return Err(BrowserError::Driver(format!(
                    "not listening on {addr} after {STARTUP_TIMEOUT:?}\n{}",
                    browser.log_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let mut args: Vec<String> = CHROME_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", browser.profile.path().join("profile").display()));
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "chrome".into());
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": chromium.to_string_lossy(), "args": args }),
        );
        let mut connector = HttpConnector::new();
        connector.enforce_http(true);
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://{addr}"))
            .await
            .map_err(|e| BrowserError::Session(format!("{e}\n{}", browser.log_tail())))?;
        browser.client = Some(client);
        Ok(browser)
    }

    /// The underlying WebDriver client, for anything the helpers don't cover.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("browser session is open")
    }

    /// Loads `url` and waits for the page's load event.
    pub async fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.client().goto(url).await.map_err(cmd_err(format!("goto {url}")))
    }

    /// The URL currently shown.
    pub async fn current_url(&self) -> Result<String, BrowserError> {
        self.client().current_url().await.map(|u| u.to_string()).map_err(cmd_err("current_url"))
    }

    /// Sets the window's outer size (e.g. 390×844 for a phone, 1280×900 for a desktop).
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), BrowserError> {
        self.client()
            .set_window_size(width, height)
            .await
            .map_err(cmd_err(format!("set_window_size {width}x{height}")))
    }

    /// The first element matching `css`, waiting up to 10 s for it to appear.
    pub async fn find(&self, css: &str) -> Result<Element, BrowserError> {
        self.client()
            .wait()
            .at_most(FIND_TIMEOUT)
            .for_element(Locator::Css(css))
            .await
            .map_err(cmd_err(format!("find {css:?}")))
    }

    /// Every element matching `css` right now (possibly none).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, BrowserError> {
        self.client().find_all(Locator::Css(css)).await.map_err(cmd_err(format!("find_all {css:?}")))
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) -> Result<(), BrowserError> {
        self.find(css).await?.click().await.map_err(cmd_err(format!("click {css:?}")))
    }

    /// Types `text` into the first element matching `css` (appending to what is there).
    pub async fn type_text(&self, css: &str, text: &str) -> Result<(), BrowserError> {
        self.find(css).await?.send_keys(text).await.map_err(cmd_err(format!("type into {css:?}")))
    }

    /// Clears the field matching `css`, then types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) -> Result<(), BrowserError> {
        let el = self.find(css).await?;
        el.clear().await.map_err(cmd_err(format!("clear {css:?}")))?;
        el.send_keys(text).await.map_err(cmd_err(format!("type into {css:?}")))
    }

    /// The rendered text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String, BrowserError> {
        self.find(css).await?.text().await.map_err(cmd_err(format!("text of {css:?}")))
    }

    /// An attribute of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Result<Option<String>, BrowserError> {
        self.find(css).await?.attr(name).await.map_err(cmd_err(format!("attribute {name} of {css:?}")))
    }

    /// Waits (up to 10 s) until the element matching `css` shows exactly
    /// `expected`, for changes made by scripts after an event; returns the
    /// last text seen either way so the caller's assertion shows it.
    ///
    /// While the page is being replaced (a form post, a redirect), the element may
    /// vanish between finding it and reading it ("stale element"): such errors are
    /// retried until the deadline, and only the last one is returned.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> Result<String, BrowserError> {
        let deadline = Instant::now() + FIND_TIMEOUT;
        loop {
            match self.text(css).await {
                Ok(text) if text == expected || Instant::now() > deadline => return Ok(text),
                Err(e) if Instant::now() > deadline => return Err(e),
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element matching `css` after scrolling it into view at once
    /// (the theme scrolls smoothly, and WebDriver clicks before a smooth scroll ends).
    pub async fn press(&self, css: &str) -> Result<(), BrowserError> {
        let q = serde_json::to_string(css).unwrap_or_default();
        self.execute(&format!(
            "document.documentElement.style.scrollBehavior = 'auto'; document.querySelector({q}).scrollIntoView({{block: 'center'}}); return null;"
        ))
        .await?;
        self.click(css).await
    }

    /// Waits (bounded) until the element matching `css` contains `needle`;
    /// returns its last text.
    pub async fn text_containing(&self, css: &str, needle: &str) -> String {
        for _ in 0..200 {
            if let Ok(els) = self.find_all(css).await
                && let Some(e) = els.first()
                && let Ok(t) = e.text().await
                && t.contains(needle)
            {
                return t;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.text(css).await.unwrap_or_default()
    }

    /// Runs a script in the page and returns its JSON result.
    pub async fn execute(&self, script: &str) -> Result<serde_json::Value, BrowserError> {
        self.client().execute(script, vec![]).await.map_err(cmd_err("execute script"))
    }

    /// From now on, every page this browser loads records the Content-Security-
    /// Policy violations it meets (`securitypolicyviolation` events, listened to
    /// by a script Chromium injects before the page's own, through its DevTools
    /// bridge, so the policy does not apply to it); read them with
    /// [`Browser::csp_violations`].
    pub async fn watch_csp(&self) -> Result<(), BrowserError> {
        let source = "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile || ''}:${e.lineNumber}`));";
        let cmd = Cdp { cmd: "Page.addScriptToEvaluateOnNewDocument", params: serde_json::json!({ "source": source }) };
        self.client().issue_cmd(cmd).await.map(|_| ()).map_err(cmd_err("watch_csp"))
    }

    /// The policy violations of the current page so far (see [`Browser::watch_csp`]),
    /// after letting pending events through.
    pub async fn csp_violations(&self) -> Result<Vec<String>, BrowserError> {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let v = self.execute("return window.__csp || ['the CSP watch script did not run'];").await?;
        Ok(v.as_array().map(|a| a.iter().map(|x| x.as_str().unwrap_or_default().to_string()).collect()).unwrap_or_default())
    }

    /// Saves a PNG screenshot of the viewport to `path` (parent directories
    /// are created) and returns its bytes.
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> Result<Vec<u8>, BrowserError> {
        let path = path.as_ref();
        let png = self.client().screenshot().await.map_err(cmd_err("screenshot"))?;
        let io = |source| BrowserError::Io { what: format!("writing screenshot {}", path.display()), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(path, &png).map_err(io)?;
        Ok(png)
    }

    /// Saves a PNG of the whole page at the given viewport width (e.g. 390
    /// for a phone, 1280 for a desktop): the window is resized to the page's
    /// full height first, then back to `width`×800 afterwards.
    pub async fn screenshot_full_page(&self, path: impl AsRef<Path>, width: u32) -> Result<Vec<u8>, BrowserError> {
        self.set_window_size(width, 800).await?;
        let height = self
            .execute("return Math.ceil(document.documentElement.scrollHeight);")
            .await?
            .as_u64()
            .unwrap_or(800)
            .clamp(200, 16_000) as u32;
        self.set_window_size(width, height).await?;
        let png = self.screenshot(path).await;
        self.set_window_size(width, 800).await?;
        png
    }

    /// Ends the WebDriver session (Chromium exits), then stops chromedriver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take()
            && let Err(e) = client.close().await
        {
            eprintln!("browser: closing the session failed ({e}); killing chromedriver");
        }
        // Drop does the rest.
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("--- last lines of {} ---\n{tail}", self.log_path.display())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Only the process group we created: chromedriver and its Chromium.
        let pgid = self.driver.id() as i32;
        // SAFETY: kill(2) with a negative pid signals that process group only.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A port that was free on 127.0.0.1 a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// A Chrome DevTools Protocol command sent through chromedriver
/// (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(serde_json::json!({ "cmd": self.cmd, "params": self.params }).to_string()))
    }
}
