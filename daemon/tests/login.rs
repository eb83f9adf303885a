//! The moderators' login under attack, through a real socket on 127.0.0.1:
//! concurrent wrong passwords cost at most the throttle's allowance of
//! argon2 verifications, failures from one address never lock the owner out
//! from another, and failures from many addresses warn the admins once.
//!
//! Client addresses are simulated with `X-Forwarded-For` (the daemon trusts
//! it here, as behind a proxy); they are all loopback addresses.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vitrine_daemon::AppState;
use vitrine_daemon::auth::Role;

const OWNER: &str = "corr";
const PASSWORD: &str = "mot de passe très long";
const THROTTLED: &str = "Trop de tentatives";

/// The daemon served on 127.0.0.1 (any free port), stopped when dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    async fn start(st: &AppState) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(vitrine_daemon::server::serve(listener, st.clone(), async {
            let _ = rx.await;
        }));
        Server { addr, stop: Some(tx), task: Some(task) }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
    }
}

/// One HTTP/1.1 request on its own connection; returns the status and the whole answer (headers and body).
async fn http(addr: SocketAddr, method: &str, path: &str, forwarded_for: Option<&str>, body: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(ip) = forwarded_for {
        req.push_str(&format!("X-Forwarded-For: {ip}\r\n"));
    }
    if method == "POST" {
        req.push_str(&format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status in {text}"));
    (status, text)
}

/// A login token from the login page (the page's hidden `csrf` field).
async fn login_token(addr: SocketAddr) -> String {
    let (status, page) = http(addr, "GET", "/moderation", Some("127.0.0.1"), "").await;
    assert_eq!(status, 200, "{page}");
    hidden_value(&page, "csrf")
}

async fn try_login(addr: SocketAddr, token: &str, from: &str, username: &str, password: &str) -> (u16, String) {
    let body = form_body(&[("csrf", token), ("username", username), ("password", password)]);
    http(addr, "POST", "/moderation/login", Some(from), &body).await
}

/// A state that trusts `X-Forwarded-For`, with the owner (moderator) and an admin.
async fn setup() -> (tempfile::TempDir, AppState) {
    let site = example_site();
    let st = state(site.path(), vitrine_daemon::state::Settings { trust_forwarded: true, ..test_settings() }, false);
    add_user(&st, OWNER, PASSWORD, Role::Moderator).await;
    add_user(&st, "chef", "mot de passe de l'administratrice", Role::Admin).await;
    (site, st)
}

fn assert_refused(status: u16, answer: &str, what: &str) {
    assert_eq!(status, 429, "{what}: {answer}");
    assert!(answer.contains(THROTTLED), "{what}: no throttle message in {answer}");
}

fn assert_logged_in(status: u16, answer: &str, what: &str) {
    assert_eq!(status, 303, "{what}: {answer}");
    assert!(answer.to_ascii_lowercase().contains("set-cookie: vt_session="), "{what}: no session cookie in {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_concurrent_wrong_passwords_cost_at_most_five_verifications() {
    let (_site, st) = setup().await;
    let server = Server::start(&st).await;
    let token = login_token(server.addr).await;
    let before = st.password_verifications();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (addr, token) = (server.addr, token.clone());
        tasks.push(tokio::spawn(async move { try_login(addr, &token, "127.0.0.2", OWNER, &format!("mauvais {i}")).await }));
    }
    let (mut wrong, mut refused) = (0, 0);
    for t in tasks {
        let (status, answer) = t.await.unwrap();
        match status {
            401 => {
                assert!(answer.contains("Identifiant ou mot de passe incorrect"), "{answer}");
                wrong += 1;
            }
            _ => {
                assert_refused(status, &answer, "an attempt over the allowance");
                refused += 1;
            }
        }
    }
    let verified = st.password_verifications() - before;
    assert!(verified <= 5, "{verified} argon2 verifications for 30 concurrent wrong passwords (at most 5 allowed)");
    assert!(wrong <= 5, "{wrong} attempts were checked and answered « incorrect »");
    assert_eq!(wrong + refused, 30);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_one_address_never_refuse_the_owner_from_another() {
    let (_site, st) = setup().await;
    let server = Server::start(&st).await;
    let token = login_token(server.addr).await;
    for i in 0..6 {
        let (status, answer) = try_login(server.addr, &token, "127.0.0.2", OWNER, "faux mot de passe").await;
        if i < 5 {
            assert_eq!(status, 401, "failure {i}: {answer}");
        } else {
            assert_refused(status, &answer, "the sixth attempt from the same address");
        }
    }
    let (status, answer) = try_login(server.addr, &token, "127.0.0.3", OWNER, PASSWORD).await;
    assert_logged_in(status, &answer, "the owner from another address");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failing_address_stays_refused_after_the_owner_logged_in_elsewhere() {
    let (_site, st) = setup().await;
    let server = Server::start(&st).await;
    let token = login_token(server.addr).await;
    for _ in 0..6 {
        try_login(server.addr, &token, "127.0.0.2", OWNER, "faux mot de passe").await;
    }
    let (status, answer) = try_login(server.addr, &token, "127.0.0.3", OWNER, PASSWORD).await;
    assert_logged_in(status, &answer, "the owner from another address");
    // The owner's success elsewhere does not clear the failing address: even
    // the right password is refused from there, without being checked.
    let before = st.password_verifications();
    let (status, answer) = try_login(server.addr, &token, "127.0.0.2", OWNER, PASSWORD).await;
    assert_refused(status, &answer, "the failing address");
    assert_eq!(st.password_verifications(), before, "a refused attempt was checked");
    server.stop().await;
}

/// Alert e-mails in the outbox about `account`.
fn alerts_about(st: &AppState, account: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(&st.outbox_dir) else { return Vec::new() };
    rd.flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter(|eml| {
            vitrine_daemon::outbox::decode_body(eml)
                .is_some_and(|b| b.contains(&format!("« {account} »")) && b.contains("adresses différentes"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_many_addresses_warn_the_admins_once() {
    let (_site, st) = setup().await;
    let server = Server::start(&st).await;
    let token = login_token(server.addr).await;
    // One wrong password from each of 14 addresses (the alert fires at 10).
    for i in 1..=14 {
        let (status, answer) = try_login(server.addr, &token, &format!("127.0.1.{i}"), OWNER, "faux mot de passe").await;
        assert_eq!(status, 401, "address {i}: {answer}");
    }
    // The journal entry is written before the answer.
    let audits: i64 = st
        .db
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM audit_log WHERE action = 'login_attack'", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(audits, 1, "one journal entry for the attack");
    // The e-mail is written to the outbox in the background: wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while alerts_about(&st, OWNER).is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give any second message the same chance to show up before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alerts = alerts_about(&st, OWNER);
    assert_eq!(alerts.len(), 1, "exactly one alert e-mail");
    let to = alerts[0].lines().find(|l| l.starts_with("To: ")).unwrap();
    assert!(to.contains(&st.settings.moderators_mail), "{to}");
    let body = vitrine_daemon::outbox::decode_body(&alerts[0]).unwrap();
    assert!(body.contains("chef"), "the admins are named: {body}");
    // The owner is not locked out by all this.
    let (status, answer) = try_login(server.addr, &token, "127.0.0.200", OWNER, PASSWORD).await;
    assert_logged_in(status, &answer, "the owner during the attack");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_account_costs_the_same_verification_under_the_same_permits() {
    let (_site, st) = setup().await;
    let server = Server::start(&st).await;
    let token = login_token(server.addr).await;
    let before = st.password_verifications();
    let (status, answer) = try_login(server.addr, &token, "127.0.0.2", "personne", PASSWORD).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("Identifiant ou mot de passe incorrect"), "{answer}");
    assert_eq!(st.password_verifications(), before + 1, "one (dummy) verification, as for a real account");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hashing_permit_in_time_answers_503_and_gives_the_attempt_back() {
    let site = example_site();
    let settings = vitrine_daemon::state::Settings {
        trust_forwarded: true,
        hash_concurrency: 1,
        hash_wait: Duration::from_millis(200),
        ..test_settings()
    };
    let st = state(site.path(), settings, false);
    add_user(&st, OWNER, PASSWORD, Role::Moderator).await;
    let server = Server::start(&st).await;
    let token = login_token(server.addr).await;
    // The only permit is taken (as by a long hash): logins wait, then get a French 503 page.
    let held = st.hasher.permit().await.unwrap();
    for _ in 0..6 {
        let (status, answer) = try_login(server.addr, &token, "127.0.0.2", OWNER, PASSWORD).await;
        assert_eq!(status, 503, "{answer}");
        assert!(answer.contains("réessayez dans une minute"), "{answer}");
        assert!(answer.contains("<html lang=\"fr\""), "{answer}");
    }
    assert_eq!(st.password_verifications(), 0);
    drop(held);
    // Nothing was checked, so nothing was counted against the owner.
    let (status, answer) = try_login(server.addr, &token, "127.0.0.2", OWNER, PASSWORD).await;
    assert_logged_in(status, &answer, "after the busy answers");
    server.stop().await;
}
