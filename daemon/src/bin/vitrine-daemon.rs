//! Standalone `vitrine-daemon` binary: the same daemon as `vitrine daemon`,
//! without the generator's CLI around it. Used by the full-process tests
//! (kill -9 during submissions) and the load benchmark, and handy for
//! deployments that only run the daemon.
//!
//! Usage: vitrine-daemon [--site DIR] [--listen ADDR] [--rate-limit N]
//!                       [--min-fill-secs N] [--no-rebuild] [--no-static]
//!        vitrine-daemon user add NAME [--role admin|moderator] [--site DIR]

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = vitrine_daemon::Options::new(".");
    let mut positional = Vec::new();
    let mut role = "moderator".to_string();
    let mut i = 0;
    let value = |i: &mut usize| -> Option<String> {
        *i += 1;
        args.get(*i).cloned()
    };
    while i < args.len() {
        match args[i].as_str() {
            "--site" => opts.site_dir = value(&mut i).unwrap_or_default().into(),
            "--listen" => opts.listen = value(&mut i),
            "--rate-limit" => opts.rate_limit_per_minute = value(&mut i).and_then(|v| v.parse().ok()),
            "--min-fill-secs" => opts.min_fill_secs = value(&mut i).and_then(|v| v.parse().ok()),
            "--role" => role = value(&mut i).unwrap_or_default(),
            "--no-rebuild" => opts.rebuild = false,
            "--no-static" => opts.serve_public = false,
            "-h" | "--help" => {
                println!("vitrine-daemon [--site DIR] [--listen ADDR] [--rate-limit N] [--min-fill-secs N] [--no-rebuild] [--no-static]");
                println!("vitrine-daemon user add|passwd|remove NAME [--role admin|moderator] [--site DIR]");
                return ExitCode::SUCCESS;
            }
            other => positional.push(other.to_string()),
        }
        i += 1;
    }
    let result = match positional.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => vitrine_daemon::run(opts),
        ["user", action, name] => {
            use vitrine_daemon::auth;
            let site = opts.site_dir.clone();
            match *action {
                "add" => match auth::Role::parse(&role) {
                    Some(r) => auth::read_password().and_then(|p| auth::cli_add(&site, name, r, &p)),
                    None => Err(vitrine_daemon::DaemonError::Config(format!("rôle « {role} » inconnu"))),
                },
                "passwd" => auth::read_password().and_then(|p| auth::cli_passwd(&site, name, &p)),
                "remove" => auth::cli_remove(&site, name),
                _ => Err(vitrine_daemon::DaemonError::Config(format!("action « {action} » inconnue"))),
            }
        }
        other => Err(vitrine_daemon::DaemonError::Config(format!("arguments non compris : {}", other.join(" ")))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erreur : {e}");
            ExitCode::FAILURE
        }
    }
}
