//! SMTP delivery against a real SMTP exchange: a tiny server written here
//! (blocking sockets on 127.0.0.1, one thread per connection) that speaks
//! enough SMTP for lettre (greeting, EHLO, AUTH PLAIN, MAIL FROM, RCPT TO,
//! DATA, QUIT) and hands every accepted message to the test. It answers
//! `550 5.1.1` to any recipient whose address starts with `inconnu`, as a
//! server does for a mailbox that does not exist.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use vitrine_daemon::outbox::{self, Mail};
use vitrine_daemon::smtp::{self, DeliveryError, Mailer, PARKED_DIR, SENT_DIR};
use vitrine_generator::config::Smtp;

#[derive(Debug, Default)]
struct Received {
    auth: Option<String>,
    mail_from: String,
    rcpt: Vec<String>,
    data: String,
}

/// Starts the server; returns its port and the messages it accepts.
fn smtp_server() -> (u16, mpsc::Receiver<Received>) {
    smtp_server_on(TcpListener::bind("127.0.0.1:0").unwrap())
}

/// The same server on a listener of the caller's (e.g. a port that was closed until now).
fn smtp_server_on(listener: TcpListener) -> (u16, mpsc::Receiver<Received>) {
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let tx = tx.clone();
            std::thread::spawn(move || session(stream, tx));
        }
    });
    (port, rx)
}

fn session(stream: TcpStream, tx: mpsc::Sender<Received>) {
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let mut reply = |s: &str| w.write_all(s.as_bytes()).is_ok();
    reply("220 test.invalid ESMTP test\r\n");
    let mut cur = Received::default();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let ok = if upper.starts_with("EHLO") {
            reply("250-test.invalid\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN\r\n")
        } else if upper.starts_with("AUTH PLAIN ") {
            cur.auth = Some(cmd["AUTH PLAIN ".len()..].to_string());
            reply("235 2.7.0 ok\r\n")
        } else if upper.starts_with("MAIL FROM:") {
            cur.mail_from = cmd["MAIL FROM:".len()..].trim().to_string();
            reply("250 ok\r\n")
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = cmd["RCPT TO:".len()..].trim().to_string();
            if rcpt.starts_with("<inconnu") {
                reply(&format!("550 5.1.1 {rcpt}: Recipient address rejected: User unknown\r\n"))
            } else {
                cur.rcpt.push(rcpt);
                reply("250 ok\r\n")
            }
        } else if upper == "DATA" {
            reply("354 go on\r\n");
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                cur.data.push_str(&line);
            }
            let auth = cur.auth.clone();
            let _ = tx.send(std::mem::replace(&mut cur, Received { auth, ..Default::default() }));
            reply("250 2.0.0 queued\r\n")
        } else if upper == "QUIT" {
            reply("221 bye\r\n");
            return;
        } else if upper == "RSET" || upper == "NOOP" {
            reply("250 ok\r\n")
        } else {
            reply("502 unknown\r\n")
        };
        if !ok {
            return;
        }
    }
}

fn config(port: u16) -> Smtp {
    Smtp {
        host: "127.0.0.1".into(),
        port,
        username: None,
        password_env: None,
        from: "Réseau eTwinning <vitrine@example.org>".into(),
        moderators: vec!["moderation@example.org".into()],
        tls: None,
    }
}

/// Decodes base64 through the outbox's own decoder (it decodes what follows
/// the blank line of a message).
fn unbase64(s: &str) -> String {
    outbox::decode_body(&format!("\r\n\r\n{s}")).unwrap()
}

/// The decoded subject, read by a MIME parser.
fn subject_of(data: &str) -> String {
    let msg = mail_parser::MessageParser::default().parse(data.as_bytes()).expect("a MIME message");
    msg.subject().expect("Subject header").to_string()
}

fn eml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn an_outbox_file_is_sent_as_is_with_credentials_from_the_environment_then_moved_to_sent() {
    let (port, rx) = smtp_server();
    let dir = tempfile::tempdir().unwrap();
    let outbox_dir = dir.path().join("outbox");
    let mut cfg = config(port);
    cfg.username = Some("vitrine".into());
    cfg.password_env = Some("VITRINE_SMTP_PASSWORD".into());
    let mailer = Mailer::from_config(&cfg, |k| (k == "VITRINE_SMTP_PASSWORD").then(|| "s3cret".to_string())).unwrap();

    let mail = Mail {
        to: "camille@example.org, \"Lefèvre, Zoé\" <zoe@example.org>".into(),
        subject: "Votre proposition VT-AB12-CD34 : publiée".into(),
        body: "Bonjour,\nvotre projet « Rivières d'Europe » est en ligne.\n".into(),
    };
    let path = outbox::write(&outbox_dir, &cfg.from, &mail).unwrap();
    let file = std::fs::read_to_string(&path).unwrap();

    let sent = mailer.deliver_file(&path).unwrap().expect("delivered");
    let msg = rx.recv_timeout(Duration::from_secs(30)).expect("the server received the message");
    assert_eq!(msg.mail_from, "<vitrine@example.org>");
    assert_eq!(msg.rcpt, ["<camille@example.org>", "<zoe@example.org>"]);
    assert_eq!(unbase64(msg.auth.as_deref().expect("AUTH PLAIN")), "\0vitrine\0s3cret");
    assert_eq!(subject_of(&msg.data), mail.subject);
    assert_eq!(msg.data, file, "the outbox file is what was sent");
    assert_eq!(outbox::decode_body(&msg.data).unwrap(), mail.body);

    // Moved, not copied.
    assert_eq!(sent, outbox_dir.join(SENT_DIR).join(path.file_name().unwrap()));
    assert!(!path.exists());
    assert_eq!(std::fs::read_to_string(&sent).unwrap(), file);
    assert!(eml_files(&outbox_dir).is_empty());
    // A second attempt on the moved file (e.g. by the startup retry) sends nothing.
    assert!(mailer.deliver_file(&path).unwrap().is_none());
    assert!(rx.try_recv().is_err(), "nothing was sent twice");
}

#[test]
fn a_failed_delivery_keeps_the_file_in_the_outbox_and_the_startup_retry_sends_it() {
    let dir = tempfile::tempdir().unwrap();
    let outbox_dir = dir.path().join("outbox");
    // A port nothing listens on any more.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = Mailer::from_config(&config(closed), |_| None).unwrap();
    let mail = Mail { to: "camille@example.org".into(), subject: "Votre proposition : refusée".into(), body: "Bonjour".into() };
    let path = outbox::write(&outbox_dir, "vitrine@example.org", &mail).unwrap();
    let before = std::fs::read(&path).unwrap();

    let err = down.deliver_file(&path).unwrap_err();
    assert!(err.to_string().contains(&format!("127.0.0.1:{closed}")), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file is still in the outbox, unchanged");
    assert!(!outbox_dir.join(SENT_DIR).exists());
    let (n, failed) = down.deliver_pending(&outbox_dir);
    assert_eq!((n, failed.len()), (0, 1));
    assert!(path.exists());

    // Next start, the server is back: the pending file goes out.
    let (port, rx) = smtp_server();
    let up = Mailer::from_config(&config(port), |_| None).unwrap();
    let (n, failed) = up.deliver_pending(&outbox_dir);
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(n, 1);
    let msg = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(msg.rcpt, ["<camille@example.org>"]);
    assert_eq!(subject_of(&msg.data), mail.subject);
    assert!(!path.exists());
    assert!(outbox_dir.join(SENT_DIR).join(path.file_name().unwrap()).exists());
}

fn site_with_smtp(smtp_yaml: &str) -> tempfile::TempDir {
    let site = example_site();
    let p = site.path().join("vitrine.yaml");
    let mut yaml = std::fs::read_to_string(&p).unwrap();
    yaml.push_str("\ndaemon:\n  smtp:\n");
    for l in smtp_yaml.lines() {
        yaml.push_str("    ");
        yaml.push_str(l);
        yaml.push('\n');
    }
    std::fs::write(&p, yaml).unwrap();
    site
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_submission_notifies_the_configured_moderators_over_smtp() {
    let (port, rx) = smtp_server();
    let site = site_with_smtp(&format!(
        "host: 127.0.0.1\nport: {port}\nfrom: \"Vitrine <vitrine@example.org>\"\nmoderators: [\"alice@example.org\", \"bob@example.org\"]"
    ));
    let mut opts = vitrine_daemon::Options::new(site.path());
    opts.rate_limit_per_minute = Some(0);
    let (st, _) = vitrine_daemon::server::state_with_rebuilder(&opts, None).unwrap();
    assert!(st.mailer.is_some());

    let tok = token(&st, "projects", 10);
    let resp = send(&st, post_form("/submit/projects", &with_token(valid_project(), &tok), None)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let sub = st.db.read(|c| vitrine_daemon::queue::list(c, &Default::default(), 10)).await.unwrap().remove(0);

    // Two messages: the moderators' notice and the author's acknowledgement.
    let mut got = tokio::task::spawn_blocking(move || {
        (0..2).map(|_| rx.recv_timeout(Duration::from_secs(30)).expect("notification sent")).collect::<Vec<_>>()
    })
    .await
    .unwrap();
    got.sort_by_key(|m| m.rcpt.len());
    let (ack, msg) = (got.remove(0), got.remove(0));
    assert_eq!(ack.rcpt, ["<camille.enseignante@example.org>"]);
    let ack_body = outbox::decode_body(&ack.data).unwrap();
    assert!(ack_body.contains(&sub.reference) && ack_body.contains("/suivi/"), "{ack_body}");
    assert_eq!(msg.mail_from, "<vitrine@example.org>");
    assert_eq!(msg.rcpt, ["<alice@example.org>", "<bob@example.org>"]);
    let subject = subject_of(&msg.data);
    assert!(subject.contains(&sub.reference) && subject.contains("Rivières d'Europe"), "{subject}");
    let body = outbox::decode_body(&msg.data).unwrap();
    assert!(body.contains(&format!("/moderation/item/{}", sub.id)), "{body}");
    assert!(!body.contains("camille.enseignante@example.org"), "the submitter's address is not sent to moderators: {body}");

    // The file lands in sent/ once the server accepted it (the move follows the 250).
    let sent_dir = st.outbox_dir.join(SENT_DIR);
    let mut moved = Vec::new();
    for _ in 0..500 {
        moved = eml_files(&sent_dir);
        if moved.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(moved.len(), 2, "the delivered files are in outbox/sent/");
    let sent: Vec<String> = moved.iter().map(|m| std::fs::read_to_string(m).unwrap()).collect();
    assert!(sent.contains(&msg.data) && sent.contains(&ack.data), "the files are what was sent");
    assert!(eml_files(&st.outbox_dir).is_empty(), "nothing left in the outbox");
}

/// The error that stops the daemon from starting on `site`.
fn start_error(site: &Path) -> vitrine_daemon::DaemonError {
    match vitrine_daemon::server::state_with_rebuilder(&vitrine_daemon::Options::new(site), None) {
        Ok(_) => panic!("the daemon started with a broken daemon.smtp"),
        Err(e) => e,
    }
}

#[test]
fn smtp_settings_that_cannot_work_stop_the_start_with_a_named_error() {
    let site = site_with_smtp(
        "host: 127.0.0.1\nport: 2525\nfrom: vitrine@example.org\nmoderators: [alice@example.org]\n\
         username: vitrine\npassword_env: VITRINE_TEST_SMTP_PASSWORD_THAT_IS_NOT_SET",
    );
    let err = start_error(site.path());
    let msg = err.to_string();
    assert!(msg.contains("daemon.smtp.password_env") && msg.contains("VITRINE_TEST_SMTP_PASSWORD_THAT_IS_NOT_SET"), "{msg}");

    let site = site_with_smtp("host: smtp.example.org\nport: 25\ntls: none\nfrom: vitrine@example.org\nmoderators: [alice@example.org]");
    let err = start_error(site.path());
    assert!(err.to_string().contains("daemon.smtp.tls") && err.to_string().contains("smtp.example.org"), "{err}");

    let site = site_with_smtp("host: 127.0.0.1\nfrom: vitrine@example.org\ntls: sometimes");
    let err = start_error(site.path());
    assert!(err.to_string().contains("tls"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_that_failed_is_delivered_by_the_background_retry_without_a_restart() {
    // A port nothing listens on yet: the first delivery is refused.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let site = site_with_smtp(&format!(
        "host: 127.0.0.1\nport: {port}\nfrom: \"Vitrine <vitrine@example.org>\"\nmoderators: [\"alice@example.org\"]"
    ));
    let settings = vitrine_daemon::state::Settings {
        mail_from: "Vitrine <vitrine@example.org>".into(),
        moderators_mail: "alice@example.org".into(),
        outbox_retry_min: Duration::from_millis(50),
        outbox_retry_max: Duration::from_millis(400),
        ..test_settings()
    };
    let st = vitrine_daemon::AppState::new(site.path(), settings, None).unwrap();
    assert!(vitrine_daemon::server::retry_outbox_in_background(&st), "SMTP is configured: the retry runs");

    let tok = token(&st, "projects", 10);
    let resp = send(&st, post_form("/submit/projects", &with_token(valid_project(), &tok), None)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let sub = st.db.read(|c| vitrine_daemon::queue::list(c, &Default::default(), 10)).await.unwrap().remove(0);

    // Wait (generously) until the delivery failed and a retry failed too: the file stays in the outbox.
    for _ in 0..1500 {
        if st.delivery_failure_count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(st.delivery_failure_count() >= 2, "the server was down: deliveries failed");
    let pending = eml_files(&st.outbox_dir);
    assert_eq!(pending.len(), 2, "the notice and the acknowledgement wait in the outbox");
    assert!(eml_files(&st.outbox_dir.join(SENT_DIR)).is_empty());

    // The server comes up on that port; the daemon is not restarted.
    let (_, rx) = smtp_server_on(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let msg = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("the background retry delivered the notification");
    assert!(subject_of(&msg.data).contains(&sub.reference));
    let mut moved = Vec::new();
    for _ in 0..1500 {
        moved = eml_files(&st.outbox_dir.join(SENT_DIR));
        if moved.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(moved.len(), 2, "both moved to outbox/sent/");
    let names = |v: &[std::path::PathBuf]| { let mut n: Vec<_> = v.iter().map(|p| p.file_name().unwrap().to_owned()).collect(); n.sort(); n };
    assert_eq!(names(&moved), names(&pending));
    assert!(moved.iter().any(|m| std::fs::read_to_string(m).unwrap() == msg.data), "the outbox file is what was sent");
    assert!(eml_files(&st.outbox_dir).is_empty(), "nothing left in the outbox");

    // Shutdown stops the retry (it is idle now); the bound is only there to fail instead of hanging.
    tokio::time::timeout(Duration::from_secs(60), st.stop_background()).await.expect("the retry task stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_interrupts_a_long_backoff_wait_and_the_message_stays_in_the_outbox() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let site = site_with_smtp(&format!("host: 127.0.0.1\nport: {port}\nfrom: vitrine@example.org\nmoderators: [alice@example.org]"));
    // Waits of an hour: only the stop signal can end the task within the bound below.
    let settings = vitrine_daemon::state::Settings {
        outbox_retry_min: Duration::from_secs(3600),
        outbox_retry_max: Duration::from_secs(3600),
        ..test_settings()
    };
    let st = vitrine_daemon::AppState::new(site.path(), settings, None).unwrap();
    assert!(vitrine_daemon::server::retry_outbox_in_background(&st));
    let tok = token(&st, "projects", 10);
    assert_eq!(send(&st, post_form("/submit/projects", &with_token(valid_project(), &tok), None)).await.status(), StatusCode::SEE_OTHER);
    for _ in 0..1500 {
        if st.delivery_failure_count() >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(st.delivery_failure_count() >= 1, "the first delivery failed");
    tokio::time::timeout(Duration::from_secs(60), st.stop_background()).await.expect("the retry task stopped during its wait");
    assert_eq!(eml_files(&st.outbox_dir).len(), 2, "the messages wait in the outbox for the next start");
}

#[tokio::test]
async fn without_smtp_there_is_no_retry_and_stopping_is_immediate() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    assert!(!vitrine_daemon::server::retry_outbox_in_background(&st));
    tokio::time::timeout(Duration::from_secs(60), st.stop_background()).await.expect("nothing to wait for");
}

#[test]
fn a_permanent_refusal_parks_the_message_with_its_reason_and_it_is_never_retried() {
    let (port, rx) = smtp_server();
    let dir = tempfile::tempdir().unwrap();
    let outbox_dir = dir.path().join("outbox");
    let mailer = Mailer::from_config(&config(port), |_| None).unwrap();
    let mail = Mail {
        to: "\"Dupont, Jean\" <inconnu.jean@example.org>".into(),
        subject: "Votre proposition VT-AB12-CD34 : modifications demandées".into(),
        body: "Bonjour".into(),
    };
    let path = outbox::write(&outbox_dir, "vitrine@example.org", &mail).unwrap();
    let file = std::fs::read(&path).unwrap();

    let err = mailer.deliver_file(&path).unwrap_err();
    assert!(!err.is_transient(), "{err}");
    let parked_path = outbox_dir.join(PARKED_DIR).join(path.file_name().unwrap());
    assert!(matches!(&err, DeliveryError::Parked { path: p, reason } if *p == parked_path && reason.contains("550")), "{err}");
    assert!(!path.exists(), "out of the outbox");
    assert_eq!(std::fs::read(&parked_path).unwrap(), file, "parked as it was written");
    assert!(rx.try_recv().is_err(), "nothing was accepted");

    // The retry does not send it again, and does not count it as a failure.
    let (n, failed) = mailer.deliver_pending(&outbox_dir);
    assert_eq!((n, failed.len()), (0, 0), "{failed:?}");

    // What the admins' page lists.
    let parked = smtp::parked(&outbox_dir).unwrap();
    assert_eq!(parked.len(), 1);
    let p = &parked[0];
    assert_eq!(p.file, path.file_name().unwrap().to_string_lossy());
    assert_eq!(p.to, ["inconnu.jean@example.org"]);
    assert_eq!(p.subject, mail.subject);
    assert!(p.reason.contains("550") && p.reason.contains("User unknown") && p.reason.contains(&format!("127.0.0.1:{port}")), "{}", p.reason);
    assert!(p.parked_at.parse::<jiff::Timestamp>().is_ok(), "{}", p.parked_at);

    // A temporary failure (the server is gone) is not parked.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = Mailer::from_config(&config(closed), |_| None).unwrap();
    let path = outbox::write(&outbox_dir, "vitrine@example.org", &Mail { to: "inconnu@example.org".into(), ..mail }).unwrap();
    let err = down.deliver_file(&path).unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(path.exists());
    assert_eq!(smtp::parked(&outbox_dir).unwrap().len(), 1);
}

#[test]
fn an_outbox_file_whose_recipients_cannot_be_used_is_parked() {
    let (port, rx) = smtp_server();
    let dir = tempfile::tempdir().unwrap();
    let outbox_dir = dir.path().join("outbox");
    std::fs::create_dir_all(&outbox_dir).unwrap();
    // Written by hand (or by an older version): a To header lettre cannot use.
    let path = outbox_dir.join("20260101T000000-abcdef.eml");
    std::fs::write(&path, "From: vitrine@example.org\r\nTo: jean..dupont@-ecole.fr\r\nSubject: x\r\n\r\nBonjour\r\n").unwrap();
    let mailer = Mailer::from_config(&config(port), |_| None).unwrap();
    let (n, failed) = mailer.deliver_pending(&outbox_dir);
    assert_eq!((n, failed.len()), (0, 0), "{failed:?}");
    assert!(rx.try_recv().is_err());
    let parked = smtp::parked(&outbox_dir).unwrap();
    assert_eq!(parked.len(), 1);
    assert!(parked[0].reason.contains("jean..dupont@-ecole.fr"), "{}", parked[0].reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_parked_messages_with_the_reason_and_moderators_do_not() {
    let (port, _rx) = smtp_server();
    let site = site_with_smtp(&format!("host: 127.0.0.1\nport: {port}\nfrom: vitrine@example.org\nmoderators: [alice@example.org]"));
    let settings = vitrine_daemon::state::Settings { mail_from: "vitrine@example.org".into(), ..test_settings() };
    let st = vitrine_daemon::AppState::new(site.path(), settings, None).unwrap();
    let mailer = st.mailer.clone().expect("SMTP configured");
    let mail = Mail { to: "inconnu@example.org".into(), subject: "Été <b>publié</b>".into(), body: "Bonjour".into() };
    let path = outbox::write(&st.outbox_dir, "vitrine@example.org", &mail).unwrap();
    let err = tokio::task::spawn_blocking(move || mailer.deliver_file(&path).unwrap_err()).await.unwrap();
    assert!(!err.is_transient());

    add_user(&st, "admin", "mot de passe très long", vitrine_daemon::auth::Role::Admin).await;
    add_user(&st, "modo", "mot de passe très long", vitrine_daemon::auth::Role::Moderator).await;
    let (cookie, _) = login(&st, "admin", "mot de passe très long").await;
    let resp = send(&st, get("/moderation/courriels", Some(&cookie))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = body(resp).await;
    assert!(html.contains("<h1>Courriels refusés</h1>"), "{html}");
    assert!(html.contains("inconnu@example.org") && html.contains("User unknown"), "{html}");
    assert!(html.contains("Été &lt;b&gt;publié&lt;&#x2f;b&gt;") || html.contains("Été &lt;b&gt;publié&lt;/b&gt;"), "subject shown, escaped: {html}");
    assert!(html.contains("href=\"/moderation/courriels\""), "linked from the admins' menu");

    let (cookie, _) = login(&st, "modo", "mot de passe très long").await;
    let resp = send(&st, get("/moderation/courriels", Some(&cookie))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}
