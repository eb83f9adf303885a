//! Full-process tests against the real `vitrine daemon` on 127.0.0.1
//! with a real SQLite file: kill -9 while clients submit, restart, and check
//! that every acknowledged submission is there and the database is intact;
//! then SIGTERM for a graceful stop.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;


/// One POST /api/submissions; returns the HTTP status (None on connection errors).
fn submit(addr: &str, key: &str) -> Option<u16> {
    let body = serde_json::json!({
        "collection": "labels",
        "submitter": {"name": "Test", "email": "test@example.org"},
        "fields": {"title": format!("Demande {key}"), "kind": "Label École eTwinning", "school": "Collège Test"},
    })
    .to_string();
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let req = format!(
        "POST /api/submissions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nIdempotency-Key: {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    resp.get(9..12)?.parse().ok()
}

fn stored_keys(db: &Path) -> (Vec<String>, String) {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let integrity: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    let mut st = c.prepare("SELECT idempotency_key FROM submissions").unwrap();
    let keys = st
        .query_map([], |r| r.get::<_, Option<String>>(0))
        .unwrap()
        .filter_map(|k| k.unwrap())
        .map(|k| k.strip_prefix("api:").map(str::to_string).unwrap_or(k))
        .collect();
    (keys, integrity)
}

#[test]
fn kill_9_during_submissions_loses_no_acknowledged_submission() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_example_site(dir.path());
    let site = &dir;
    let db = site.path().join(".vitrine/queue.sqlite3");
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let counter = Arc::new(AtomicUsize::new(0));
    for round in 0..3 {
        let (mut child, addr) = common::start_daemon(site.path());
        let stop = Arc::new(AtomicBool::new(false));
        let acks_this_round = Arc::new(AtomicUsize::new(0));
        let mut clients = Vec::new();
        for _ in 0..8 {
            let (addr, stop, acked, counter, n) = (addr.clone(), stop.clone(), acked.clone(), counter.clone(), acks_this_round.clone());
            clients.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("crash-{round}-{:06}", counter.fetch_add(1, Ordering::Relaxed));
                    match submit(&addr, &key) {
                        Some(201) => {
                            acked.lock().unwrap().push(key);
                            n.fetch_add(1, Ordering::Relaxed);
                        }
                        Some(s) => panic!("unexpected status {s}"),
                        None => {
                            // The daemon is gone: this submission was never acknowledged.
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                        }
                    }
                }
            }));
        }
        // Let acknowledged submissions pile up, then kill without warning, mid-stream.
        while acks_this_round.load(Ordering::Relaxed) < 150 {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        let (keys, integrity) = stored_keys(&db);
        // Before any restart the file may still have a WAL: read it as a new process would.
        assert_eq!(integrity, "ok", "round {round}");
        let missing: Vec<String> = acked.lock().unwrap().iter().filter(|k| !keys.contains(k)).cloned().collect();
        assert!(missing.is_empty(), "round {round}: {} acknowledged submissions lost: {:?}", missing.len(), &missing[..missing.len().min(5)]);
    }
    // Restart: the daemon opens the database after the crashes and keeps working.
    let (mut child, addr) = common::start_daemon(site.path());
    assert_eq!(submit(&addr, "after-crash-0001"), Some(201));
    let (keys, integrity) = stored_keys(&db);
    assert_eq!(integrity, "ok");
    let acked = acked.lock().unwrap();
    assert!(acked.len() >= 450);
    assert!(acked.iter().all(|k| keys.contains(k)));
    assert!(keys.contains(&"after-crash-0001".to_string()));
    // SIGTERM: graceful stop, exit code 0, database closed (WAL folded back).
    let ok = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "daemon exit status {status:?}");
    let wal = site.path().join(".vitrine/queue.sqlite3-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0, "WAL not checkpointed on shutdown");
}
