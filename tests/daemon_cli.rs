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
        (vec!["add", "bob", "--role", "chef"], "un mot de passe solide", "[possible values: moderator, admin]"),
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

/// Every `--help` line is French and every flag has a help text; an address in
/// use is named once in the error; no colour codes off a terminal.
#[test]
fn help_is_french_and_documented_and_errors_name_the_address() {
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_vitrine")).args(args).env_remove("NO_COLOR").output().unwrap();
    let mut pages = vec![vec!["--help"]];
    for c in ["build", "check", "serve", "daemon", "new", "backup", "restore", "user add", "user passwd", "user remove", "privacy export", "privacy purge", "init", "completions", "man", "schema"] {
        let mut a: Vec<&str> = c.split(' ').collect();
        a.push("--help");
        pages.push(a);
    }
    for args in pages {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        for english in ["Print help", "Print version", "Build the", "Address to listen", "Include entries"] {
            assert!(!text.contains(english), "{args:?}: {english}\n{text}");
        }
        // Every option line (`--x`) is followed by a description on the same line or the next.
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if t.starts_with("--") || t.starts_with("-h,") || t.starts_with("-V,") {
                let described = t.split("  ").filter(|s| !s.trim().is_empty()).count() > 1
                    || lines.get(i + 1).is_some_and(|n| n.starts_with("          ") && !n.trim().is_empty());
                assert!(described, "{args:?}: no help for `{t}`\n{text}");
            }
        }
        assert!(!text.contains('\u{1b}'), "colour codes in a pipe");
    }
    let top = String::from_utf8(run(&["--help"]).stdout).unwrap();
    assert!(top.contains("RUST_LOG") && top.contains("NO_COLOR"), "{top}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    common::copy_example_site(dir.path());
    let out = run(&["daemon", "--site", dir.path().to_str().unwrap(), "--listen", &addr]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(&format!("impossible d'écouter sur {addr}")), "{err}");
    assert_eq!(err.matches("Address already in use").count(), 1, "cause printed once: {err}");
    assert!(!err.contains('\u{1b}'), "colour codes in a pipe: {err}");
}

/// Completions and the man page come from the same CLI definition.
#[test]
fn completions_and_man_page_are_generated_from_the_cli() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_vitrine")).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let bash = run(&["completions", "bash"]);
    assert!(bash.starts_with("_vitrine()") && bash.contains("complete -F _vitrine"), "{bash}");
    for word in ["backup", "restore", "privacy", "--force", "moderator admin"] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    let fish = run(&["completions", "fish"]);
    assert!(fish.contains("complete -c vitrine") && fish.contains("Sauvegarde la file"), "{fish}");
    let man = run(&["man"]);
    assert!(man.contains(".TH vitrine 1") && man.contains("privacy") && man.contains("RUST_LOG"), "{man}");
    let out = Command::new(env!("CARGO_BIN_EXE_vitrine")).args(["completions", "tcsh"]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("bash"));
}

/// `vitrine schema` prints the JSON Schema of vitrine.yaml, generated from the config types.
#[test]
fn schema_of_the_config_covers_the_example_site() {
    let out = Command::new(env!("CARGO_BIN_EXE_vitrine")).arg("schema").output().unwrap();
    assert!(out.status.success());
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["additionalProperties"], false, "unknown keys are errors, as in the config reader");
    let yaml = std::fs::read_to_string(common::repo_root().join("vitrine.yaml")).unwrap();
    let top: Vec<&str> = yaml.lines().filter(|l| !l.starts_with([' ', '#', '-']) && l.contains(':')).map(|l| l.split(':').next().unwrap()).collect();
    assert!(top.len() >= 8, "{top:?}");
    for key in top {
        assert!(s["properties"].get(key).is_some(), "{key} missing from the schema");
    }
    let defs = &s["$defs"];
    assert!(defs["DaemonConfig"]["properties"].get("retention_months").is_some());
    assert!(defs["RawField"]["properties"].get("type").is_some());
    assert_eq!(s["required"], serde_json::json!(["title", "base_url", "collections"]));
}
