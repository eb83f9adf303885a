//! The Debian package (issue 14), built and installed for real: cargo-deb
//! packages the `vitrine` binary these tests already built (`--no-build`, the
//! test profile's binary, stripped by cargo-deb: no release build here), then
//! `dpkg -i` installs it and the test checks what the README promises — the
//! binary runs, the systemd unit, the environment file and the nginx example
//! are at their places, the `vitrine` system user and `/srv/vitrine` exist —
//! then `dpkg -r` and `dpkg --purge` take it away again.
//!
//! It needs root, `dpkg` and `cargo-deb` (`.ci/run` installs them). Without
//! them it says so and passes, except under CI (`CI=true`), where it fails.
//! It never touches a `vitrine` package installed by someone else.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Under CI a missing tool is a failure (the same rule as the browser tests).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")))
}

fn skip(why: &str) {
    assert!(!in_ci(), "CI is set but {why}");
    eprintln!("SKIPPED: the Debian package test {why}");
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "vitrine"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("ok installed"))
}

/// Purges the package when the test ends, even on a failed assertion.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "vitrine"]).output();
    }
}

#[test]
fn the_debian_package_installs_runs_and_purges() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return skip("needs root (dpkg -i)");
    }
    if Command::new("dpkg").arg("--version").output().is_err() {
        return skip("needs dpkg (a Debian system)");
    }
    if !Command::new(&cargo).args(["deb", "--version"]).output().is_ok_and(|o| o.status.success()) {
        return skip("needs cargo-deb (cargo install cargo-deb --locked)");
    }
    if installed() {
        return skip("found a vitrine package already installed on this machine and leaves it alone");
    }

    // The binary of this test run, packaged as it is (cargo-deb strips a copy).
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_vitrine"));
    let profile = match exe.parent().and_then(Path::file_name).and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => panic!("no profile folder above {}", exe.display()),
    }
    .to_string();
    let out_dir = tempfile::tempdir().unwrap();
    let root = common::repo_root();
    run(Command::new(&cargo)
        .current_dir(&root)
        .args(["deb", "--no-build", "--fast", "--quiet", "-p", "vitrine", "--profile", &profile, "-o"])
        .arg(out_dir.path()));
    // cargo-deb leaves its stripped copy (tens of MB) in <target>/vitrine/: not kept.
    if let Some(scratch) = exe.parent().and_then(Path::parent).map(|t| t.join("vitrine")) {
        for e in std::fs::read_dir(&scratch).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().contains(".stripped-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let _ = std::fs::remove_dir(&scratch);
    }
    let deb = std::fs::read_dir(out_dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("a .deb");
    let info = String::from_utf8(run(Command::new("dpkg-deb").arg("--info").arg(&deb)).stdout).unwrap();
    assert!(info.contains("Package: vitrine") && info.contains("Depends: adduser"), "{info}");

    let _purge = Purge;
    run(Command::new("dpkg").arg("-i").arg(&deb));
    assert!(installed());

    // The binary runs, stripped of its debug info.
    let version = run(Command::new("/usr/bin/vitrine").arg("--version"));
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("vitrine {}", env!("CARGO_PKG_VERSION")));
    let size = std::fs::metadata("/usr/bin/vitrine").unwrap().len();
    assert!(size < std::fs::metadata(&exe).unwrap().len(), "the installed binary is stripped");
    // The documented places (README, « Debian package »).
    let unit = std::fs::read_to_string("/usr/lib/systemd/system/vitrine.service")
        .or_else(|_| std::fs::read_to_string("/lib/systemd/system/vitrine.service"))
        .expect("systemd unit installed");
    assert_eq!(unit, std::fs::read_to_string(root.join("deploy/vitrine.service")).unwrap());
    assert!(unit.contains("ExecStart=/usr/bin/vitrine daemon --site /srv/vitrine"));
    assert!(!Path::new("/etc/systemd/system/multi-user.target.wants/vitrine.service").exists(), "installed, not enabled");
    assert_eq!(
        std::fs::read_to_string("/usr/share/doc/vitrine/examples/nginx.conf").unwrap(),
        std::fs::read_to_string(root.join("deploy/nginx.conf")).unwrap()
    );
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = std::fs::metadata("/etc/vitrine/vitrine.env").expect("environment file installed");
    assert_eq!(env.permissions().mode() & 0o777, 0o640, "secrets file not world-readable");
    // The system user the unit runs as, and its site folder.
    let user = String::from_utf8(run(Command::new("getent").args(["passwd", "vitrine"])).stdout).unwrap();
    let fields: Vec<&str> = user.trim().split(':').collect();
    assert_eq!(fields[5], "/srv/vitrine", "{user}");
    let uid: u32 = fields[2].parse().unwrap();
    assert!(uid < 1000, "a system user: {user}");
    let srv = std::fs::metadata("/srv/vitrine").unwrap();
    assert_eq!((srv.uid(), srv.permissions().mode() & 0o777), (uid, 0o750));
    assert_eq!(env.gid(), srv.gid(), "the environment file belongs to the vitrine group");

    // Removed: the binary and unit go, the edited configuration stays; purged: it goes too.
    run(Command::new("dpkg").args(["-r", "vitrine"]));
    assert!(!Path::new("/usr/bin/vitrine").exists());
    assert!(Path::new("/etc/vitrine/vitrine.env").exists(), "dpkg -r keeps conffiles");
    run(Command::new("dpkg").args(["--purge", "vitrine"]));
    assert!(!Path::new("/etc/vitrine/vitrine.env").exists());
    assert!(!installed());
}
