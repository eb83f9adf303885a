//! Operations through the real binary and real processes: `vitrine backup`
//! while a daemon takes submissions, `vitrine restore` into a fresh folder and
//! a daemon there showing every acknowledged submission; `vitrine privacy
//! export|purge` and the retention erasure at the daemon's start, checked in
//! the SQLite file and the outbox; refusals of bad input.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;


fn stop(mut child: Child) {
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    assert!(child.wait().unwrap().success());
}

/// One HTTP/1.1 request; (status, body).
fn http(addr: &str, method: &str, path: &str, body: &str, key: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nIdempotency-Key: {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.get(9..12)?.parse().ok()?;
    Some((status, resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()))
}

/// Posts a label request; (reference, status URL) when acknowledged (201).
fn submit(addr: &str, key: &str, name: &str, email: &str) -> Option<(String, String)> {
    let body = serde_json::json!({
        "collection": "labels",
        "submitter": {"name": name, "email": email},
        "fields": {"title": format!("Demande {key}"), "kind": "Label École eTwinning", "school": "Collège Test"},
    })
    .to_string();
    let (status, resp) = http(addr, "POST", "/api/submissions", &body, key)?;
    if status != 201 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(resp.trim()).ok()?;
    Some((v["reference"].as_str()?.to_string(), v["status_url"].as_str()?.to_string()))
}

fn vitrine(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vitrine")).args(args).env("RUST_LOG", "warn").output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn backup_under_load_then_restore_keeps_every_acknowledged_submission() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    common::copy_example_site(&site);
    let (child, addr) = common::start_daemon(&site);
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let n = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (addr, acked, n, done) = (addr.clone(), acked.clone(), n.clone(), done.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !done.load(Ordering::Relaxed) {
                    let key = format!("charge-{c}-{i:05}");
                    i += 1;
                    if let Some(r) = submit(&addr, &key, "Prof Test", "prof@example.org") {
                        acked.lock().unwrap().push(r);
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    while n.load(Ordering::Relaxed) < 60 {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Everything acknowledged before the backup starts must be in it; posting goes on meanwhile.
    let before: Vec<(String, String)> = acked.lock().unwrap().clone();
    // A version the correspondents' editor kept (issue 12): part of what a backup keeps.
    let kept = site.join(".vitrine/history/pages/a-propos");
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::write(kept.join("20260101T000000000Z-ab12cd.md"), "---\ntitle: \"Avant\"\n---\n").unwrap();
    let backup = dir.path().join("sauvegarde");
    let (ok, out, err) = vitrine(&["backup", backup.to_str().unwrap(), "--site", site.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let after_backup = n.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(100));
    done.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert!(n.load(Ordering::Relaxed) > after_backup, "submissions went on during and after the backup");
    stop(child);
    assert!(backup.join("queue.sqlite3").is_file() && backup.join("secret").is_file());
    assert!(backup.join("site/vitrine.yaml").is_file() && backup.join("site/content").is_dir());
    assert!(backup.join("outbox").is_dir(), "the notifications are kept");
    assert!(backup.join("history/pages/a-propos/20260101T000000000Z-ab12cd.md").is_file(), "the editor's versions are kept");

    // A second backup into the same folder is refused, naming it.
    let (ok, _, err) = vitrine(&["backup", backup.to_str().unwrap(), "--site", site.to_str().unwrap()]);
    assert!(!ok && err.contains("existe déjà") && err.contains("sauvegarde"), "{err}");
    // Restoring a folder that is no backup, or over a site with a queue, is refused.
    let (ok, _, err) = vitrine(&["restore", site.to_str().unwrap(), "--site", dir.path().join("x").to_str().unwrap()]);
    assert!(!ok && err.contains("n'est pas une sauvegarde"), "{err}");
    let (ok, _, err) = vitrine(&["restore", backup.to_str().unwrap(), "--site", site.to_str().unwrap()]);
    assert!(!ok && err.contains("--force") && err.contains("queue.sqlite3"), "{err}");

    let fresh = dir.path().join("restauré");
    let (ok, out, err) = vitrine(&["restore", backup.to_str().unwrap(), "--site", fresh.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert_eq!(
        std::fs::read(fresh.join(".vitrine/secret")).unwrap(),
        std::fs::read(site.join(".vitrine/secret")).unwrap(),
        "same secret: form tokens stay valid"
    );
    let (ok, out, err) = vitrine(&["build", "--site", fresh.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let (child, addr) = common::start_daemon(&fresh);
    assert!(before.len() >= 60);
    for (reference, url) in &before {
        let (status, page) = http(&addr, "GET", url, "", "x").expect("status page");
        assert_eq!(status, 200, "{reference}");
        assert!(page.contains(reference.as_str()), "{reference} missing from its status page");
    }
    // The restored daemon takes new submissions.
    assert!(submit(&addr, "apres-restauration-01", "Prof", "prof@example.org").is_some());
    stop(child);
    // Restoring again over it needs --force, and works with it.
    let (ok, out, err) = vitrine(&["restore", backup.to_str().unwrap(), "--site", fresh.to_str().unwrap(), "--force"]);
    assert!(ok, "{out}{err}");
}

fn row(db: &Path, reference: &str) -> (String, String, i64) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(
        "SELECT submitter_name, submitter_email, (SELECT count(*) FROM audit_log a WHERE a.submission_id = s.id) \
         FROM submissions s WHERE reference = ?1",
        [reference],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

fn mails_mentioning(site: &Path, needle: &str) -> usize {
    let mut n = 0;
    for sub in ["", "sent", "parked"] {
        let Ok(rd) = std::fs::read_dir(site.join(".vitrine/outbox").join(sub)) else { continue };
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "eml") && std::fs::read_to_string(&p).unwrap().contains(needle) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn privacy_export_purge_and_retention() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    common::copy_example_site(&site);
    let s = site.to_str().unwrap();
    let (child, addr) = common::start_daemon(&site);
    let (a1, _) = submit(&addr, "alice-0000001", "Alice Martin", "alice@example.org").unwrap();
    let (a2, _) = submit(&addr, "alice-0000002", "Alice Martin", "Alice@Example.org").unwrap();
    let (b1, _) = submit(&addr, "bob-000000001", "Bob Durand", "bob@example.org").unwrap();
    let (c1, _) = submit(&addr, "carole-000001", "Carole Petit", "carole@example.org").unwrap();
    stop(child);
    let db = site.join(".vitrine/queue.sqlite3");
    assert!(mails_mentioning(&site, &a1) > 0, "the daemon wrote notifications about the submission");

    // Export: both of Alice's submissions (address compared without case), their journal and mails.
    let (ok, out, err) = vitrine(&["privacy", "export", "alice@example.org", "--site", s]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let subs = v["submissions"].as_array().unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0]["reference"], a1.as_str());
    assert_eq!(subs[1]["reference"], a2.as_str());
    assert_eq!(subs[0]["submitter"]["name"], "Alice Martin");
    assert_eq!(subs[0]["journal"][0]["action"], "submitted");
    assert!(!out.contains(&b1), "nothing about Bob");
    let mails = v["mails"].as_array().unwrap();
    assert!(!mails.is_empty() && mails.iter().all(|m| m["subject"].as_str().unwrap().contains(&a1) || m["subject"].as_str().unwrap().contains(&a2) || m["to"].to_string().contains("alice")));

    // Bad input: not an address, a site without a queue.
    let (ok, _, err) = vitrine(&["privacy", "export", "alice@@example", "--site", s]);
    assert!(!ok && err.contains("adresse électronique invalide « alice@@example »"), "{err}");
    let (ok, _, err) = vitrine(&["privacy", "purge", "alice@example.org", "--site", dir.path().join("nulle-part").to_str().unwrap()]);
    assert!(!ok && err.contains("nulle-part") && err.contains("queue.sqlite3"), "{err}");

    // Purge: name and address erased, journal kept with one more entry, mails removed; Bob untouched.
    let (_, _, audit_before) = row(&db, &a1);
    let (ok, out, err) = vitrine(&["privacy", "purge", "alice@example.org", "--site", s]);
    assert!(ok && out.contains("2 soumission(s)"), "{out}{err}");
    let (name, email, audit_after) = row(&db, &a1);
    assert_eq!((name.as_str(), email.as_str()), ("effacé", "effacé"));
    assert_eq!(audit_after, audit_before + 1);
    assert_eq!(row(&db, &a2).1, "effacé");
    assert_eq!(mails_mentioning(&site, &a1) + mails_mentioning(&site, &a2), 0);
    assert_eq!(mails_mentioning(&site, "alice@example.org"), 0);
    assert_eq!(row(&db, &b1).1, "bob@example.org");
    assert!(mails_mentioning(&site, &b1) > 0);
    let (ok, out, _) = vitrine(&["privacy", "export", "alice@example.org", "--site", s]);
    assert!(ok && serde_json::from_str::<serde_json::Value>(&out).unwrap()["submissions"].as_array().unwrap().is_empty());

    // Retention (default 12 months): Bob's rejection 13 months ago is erased at the
    // daemon's start; Carole's recent rejection is not.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute("UPDATE submissions SET status = 'rejected', updated_at = '2000-01-01T00:00:00Z' WHERE reference = ?1", [&b1]).unwrap();
        c.execute("UPDATE submissions SET status = 'rejected', updated_at = ?2 WHERE reference = ?1", [&c1, &jiff_now()]).unwrap();
    }
    let (child, _) = common::start_daemon(&site);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while row(&db, &b1).1 != "effacé" {
        assert!(std::time::Instant::now() < deadline, "retention did not erase Bob's data");
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(child);
    assert_eq!(row(&db, &b1).0, "effacé");
    assert_eq!(mails_mentioning(&site, &b1), 0);
    assert_eq!(row(&db, &c1).1, "carole@example.org");
    assert!(mails_mentioning(&site, &c1) > 0);
}

fn jiff_now() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // Lexicographic order is all that matters: a recent ISO time.
    let days = d / 86400;
    let (y, m, dd) = civil(days as i64);
    format!("{y:04}-{m:02}-{dd:02}T00:00:00Z")
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
