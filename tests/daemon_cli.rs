//! `vitrine user add|passwd|remove` through the real binary, checked against
//! the queue database.

mod common;

use std::process::Command;

fn user(site: &std::path::Path, args: &[&str], password: Option<&str>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vitrine"));
    c.arg("user").args(args).args(["--site", site.to_str().unwrap()]);
    if let Some(p) = password {
        c.env("VITRINE_PASSWORD", p);
    } else {
        c.env_remove("VITRINE_PASSWORD");
    }
    c.output().unwrap()
}

fn accounts(site: &std::path::Path) -> Vec<(String, String, String)> {
    let c = rusqlite::Connection::open(site.join(".vitrine/queue.sqlite3")).unwrap();
    let mut st = c.prepare("SELECT username, role, password_hash FROM users ORDER BY username").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn user_commands_add_change_and_remove_accounts() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_example_site(dir.path());
    let site = &dir;
    let out = user(site.path(), &["add", "alice", "--role", "admin"], Some("un mot de passe solide"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a = accounts(site.path());
    assert_eq!((a[0].0.as_str(), a[0].1.as_str()), ("alice", "admin"));
    assert!(a[0].2.starts_with("$argon2id$"), "password stored as an argon2id hash");
    assert!(vitrine_daemon::security::verify_password("un mot de passe solide", &a[0].2));

    // Refusals: duplicate, weak password, unknown role, unknown user — clear messages, non-zero exit.
    for (args, pw, needle) in [
        (vec!["add", "alice"], "un mot de passe solide", "existe déjà"),
        (vec!["add", "bob"], "court", "trop court"),
        (vec!["add", "bob", "--role", "chef"], "un mot de passe solide", "rôle"),
        (vec!["passwd", "nobody"], "un mot de passe solide", "n'existe pas"),
        (vec!["add", "../etc"], "un mot de passe solide", "invalide"),
    ] {
        let out = user(site.path(), &args, Some(pw));
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert_eq!(accounts(site.path()).len(), 1);

    let out = user(site.path(), &["passwd", "alice"], Some("un autre mot de passe"));
    assert!(out.status.success());
    let a = accounts(site.path());
    assert!(vitrine_daemon::security::verify_password("un autre mot de passe", &a[0].2));
    assert!(!vitrine_daemon::security::verify_password("un mot de passe solide", &a[0].2));

    let out = user(site.path(), &["remove", "alice"], None);
    assert!(out.status.success());
    assert!(accounts(site.path()).is_empty());
}
