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
        (vec!["add", "bob", "--role", "chef"], "un mot de passe solide", "valeur « chef » invalide pour --role <ROLE> (valeurs possibles : moderator, admin)"),
        (vec!["passwd", "nobody"], "un mot de passe solide", "n'existe pas"),
        (vec!["add", "../etc"], "un mot de passe solide", "invalide"),
    ] {
        let out = user(site.path(), &args, Some(pw));
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        // Printed once: one « erreur » line, no « cause » repeating it, nothing in English.
        assert_eq!(err.matches("erreur : ").count(), 1, "{args:?}: {err}");
        assert!(!err.contains("cause") && !err.contains("error:") && !err.contains("For more"), "{args:?}: {err}");
        assert!(err.lines().filter(|l| l.contains(needle)).count() == 1, "{args:?}: {err}");
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

/// Runs `vitrine user ARGS --site SITE` with `stdin` as standard input (a pipe,
/// not a terminal) and `VITRINE_PASSWORD` set or not.
fn user_with_stdin(site: &std::path::Path, args: &[&str], env: Option<&str>, stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_vitrine"));
    c.arg("user").args(args).args(["--site", site.to_str().unwrap()]);
    match env {
        Some(p) => c.env("VITRINE_PASSWORD", p),
        None => c.env_remove("VITRINE_PASSWORD"),
    };
    let mut child = c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// `vitrine user list` shows every account with its role in French; every
/// command that asks for a password reads it the same way: `VITRINE_PASSWORD`
/// first (standard input is then not read), else a line of standard input.
#[test]
fn user_list_and_passwords_read_the_same_way_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_example_site(dir.path());
    let site = dir.path();
    let out = user(site, &["list"], None);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("aucun compte"));

    // add: from VITRINE_PASSWORD (standard input ignored), then from standard input.
    let out = user_with_stdin(site, &["add", "alice", "--role", "admin"], Some("mot de passe de l'env"), "mot de passe du pipe\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = user_with_stdin(site, &["add", "bob"], None, "mot de passe du pipe\r\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a = accounts(site);
    assert!(vitrine_daemon::security::verify_password("mot de passe de l'env", &a[0].2), "alice from VITRINE_PASSWORD");
    assert!(vitrine_daemon::security::verify_password("mot de passe du pipe", &a[1].2), "bob from stdin, end of line dropped");
    // passwd: the same two ways.
    let out = user_with_stdin(site, &["passwd", "bob"], Some("nouveau par l'env\n"), "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(vitrine_daemon::security::verify_password("nouveau par l'env", &accounts(site)[1].2), "end of line dropped from the variable too");
    let out = user_with_stdin(site, &["passwd", "alice"], None, "nouveau par le pipe\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(vitrine_daemon::security::verify_password("nouveau par le pipe", &accounts(site)[0].2));
    // Empty: refused the same way from both sources, the error printed once.
    for env in [Some(""), None] {
        let out = user_with_stdin(site, &["passwd", "alice"], env, "\n");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim(), "erreur : mot de passe vide (il est lu sur l'entrée standard, ou dans VITRINE_PASSWORD)", "{env:?}");
    }

    let out = user(site, &["list"], None);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "alice  administrateur\nbob    modérateur\n");
}

/// The help of every command and subcommand (found by walking the help
/// itself) has clap's headings and help lines in French, none in English.
#[test]
fn every_help_page_has_french_headings_only() {
    let help = |path: &[String]| {
        let out = Command::new(env!("CARGO_BIN_EXE_vitrine")).args(path).arg("--help").output().unwrap();
        assert!(out.status.success(), "{path:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        let text = help(&path);
        seen += 1;
        for english in ["Usage:", "Options:", "Commands:", "Arguments:", "Print help", "Print version", "[default:", "[possible values:", "Possible values:", "help <COMMAND>"] {
            assert!(!text.contains(english), "{path:?}: « {english} » left\n{text}");
        }
        assert!(text.contains("Utilisation : vitrine") && text.contains("Options :\n  -h, --help") && text.contains("Affiche l'aide"), "{path:?}\n{text}");
        // The commands listed under « Commandes : », each visited in turn.
        if let Some(list) = text.split("Commandes :\n").nth(1) {
            for line in list.lines().take_while(|l| l.starts_with("  ")) {
                let name = line.split_whitespace().next().unwrap().to_string();
                todo.push(path.iter().cloned().chain([name]).collect());
            }
        }
    }
    assert!(seen >= 20, "{seen} help pages");
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

/// Runs `vitrine user ARGS --site SITE` at a terminal (a pseudo-terminal made
/// by util-linux's `script`), without `VITRINE_PASSWORD`, typing each answer
/// once its prompt is shown. Returns whether it succeeded and what it showed.
fn at_a_terminal(site: &std::path::Path, args: &[&str], answers: &[&str]) -> (bool, String) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let line = format!("{} user {} --site {}", env!("CARGO_BIN_EXE_vitrine"), args.join(" "), site.display());
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_remove("VITRINE_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut input, mut output) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
    let mut seen = Vec::new();
    for (prompt, answer) in ["Mot de passe : ", "Mot de passe, à nouveau : "].iter().zip(answers) {
        // Wait for the prompt (the end of the output ends the wait too).
        let mut buf = [0u8; 256];
        while !String::from_utf8_lossy(&seen).contains(prompt) {
            let n = output.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        input.write_all(format!("{answer}\n").as_bytes()).unwrap();
    }
    output.read_to_end(&mut seen).unwrap();
    drop(input);
    let ok = child.wait().unwrap().success();
    (ok, String::from_utf8_lossy(&seen).into_owned())
}

/// At a terminal the password is asked twice, and two different ones are refused.
#[test]
fn at_a_terminal_the_password_is_typed_twice() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: this test needs `script` (util-linux) for a pseudo-terminal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(common::repo_root().join("vitrine.yaml"), dir.path().join("vitrine.yaml")).unwrap();
    let (ok, shown) = at_a_terminal(dir.path(), &["add", "tty"], &["mot de passe au clavier", "mot de passe au clavier"]);
    assert!(ok, "{shown}");
    assert!(shown.contains("Mot de passe, à nouveau : ") && shown.contains("compte « tty » créé"), "{shown}");
    let a = accounts(dir.path());
    assert!(vitrine_daemon::security::verify_password("mot de passe au clavier", &a[0].2));
    let (ok, shown) = at_a_terminal(dir.path(), &["passwd", "tty"], &["un nouveau mot de passe", "un autre mot de passe"]);
    assert!(!ok);
    assert!(shown.contains("erreur : les deux mots de passe diffèrent"), "{shown}");
    assert!(vitrine_daemon::security::verify_password("mot de passe au clavier", &accounts(dir.path())[0].2), "unchanged");
}
