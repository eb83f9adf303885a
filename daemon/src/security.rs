//! Small cryptographic helpers: random tokens, SHA-256 digests, the HMAC-signed
//! form token (with its minimum fill time) and password hashing with argon2.
//!
//! Deliberately no custom crypto: HMAC-SHA256, argon2id and the OS RNG only.

use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// `n` random bytes from the OS, hex-encoded.
pub fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex(&buf)
}

/// Human-friendly reference number such as `VT-7K3Q-M9XD` (no 0/O/1/I).
pub fn reference_number() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut buf = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    let c: String = buf.iter().map(|b| ALPHABET[(*b as usize) % 32] as char).collect();
    format!("VT-{}-{}", &c[..4], &c[4..])
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Constant-time string comparison.
pub fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Loads the site's HMAC secret from `path`, creating it (mode 0600) on first use.
pub fn load_or_create_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(s) if s.trim().len() >= 64 => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let secret = random_token(32);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(secret.as_bytes())?;
            f.sync_all()?;
            Ok(secret.into_bytes())
        }
        // Another process created it in between: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(path)?.trim().as_bytes().to_vec())
        }
        Err(e) => Err(e),
    }
}

fn mac(secret: &[u8], msg: &str) -> String {
    let mut m = HmacSha256::new_from_slice(secret).expect("hmac accepts any key length");
    m.update(msg.as_bytes());
    hex(&m.finalize().into_bytes())
}

/// Issues a form token for `collection`: `<unix seconds>.<nonce>.<hmac>`.
/// The nonce doubles as the submission's idempotency key.
pub fn issue_form_token(secret: &[u8], collection: &str, now_unix: i64) -> String {
    let nonce = random_token(12);
    let sig = mac(secret, &format!("form|{collection}|{now_unix}|{nonce}"));
    format!("{now_unix}.{nonce}.{sig}")
}

/// Why a form token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Missing,
    Invalid,
    TooFast,
    Expired,
}

/// Checks a form token; returns its nonce when valid.
pub fn check_form_token(
    secret: &[u8],
    collection: &str,
    token: Option<&str>,
    now_unix: i64,
    min_fill_secs: i64,
    max_age_secs: i64,
) -> Result<String, TokenProblem> {
    let token = token.filter(|t| !t.is_empty()).ok_or(TokenProblem::Missing)?;
    let mut parts = token.splitn(3, '.');
    let (Some(ts), Some(nonce), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(TokenProblem::Invalid);
    };
    let ts: i64 = ts.parse().map_err(|_| TokenProblem::Invalid)?;
    if nonce.len() != 24 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(TokenProblem::Invalid);
    }
    let expect = mac(secret, &format!("form|{collection}|{ts}|{nonce}"));
    if !ct_eq(&expect, sig) {
        return Err(TokenProblem::Invalid);
    }
    let age = now_unix - ts;
    if age < min_fill_secs {
        return Err(TokenProblem::TooFast);
    }
    if age > max_age_secs {
        return Err(TokenProblem::Expired);
    }
    Ok(nonce.to_string())
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_token_round_trip_and_failures() {
        let s = b"secret-secret-secret";
        let t = issue_form_token(s, "projects", 1000);
        assert!(check_form_token(s, "projects", Some(&t), 1010, 3, 3600).is_ok());
        assert_eq!(check_form_token(s, "projects", Some(&t), 1001, 3, 3600), Err(TokenProblem::TooFast));
        assert_eq!(check_form_token(s, "projects", Some(&t), 99999, 3, 3600), Err(TokenProblem::Expired));
        assert_eq!(check_form_token(s, "labels", Some(&t), 1010, 3, 3600), Err(TokenProblem::Invalid));
        assert_eq!(check_form_token(b"other", "projects", Some(&t), 1010, 3, 3600), Err(TokenProblem::Invalid));
        assert_eq!(check_form_token(s, "projects", None, 1010, 3, 3600), Err(TokenProblem::Missing));
        let forged = t.replacen("1000", "900", 1);
        assert_eq!(check_form_token(s, "projects", Some(&forged), 1010, 3, 3600), Err(TokenProblem::Invalid));
    }

    #[test]
    fn password_hash_verifies_only_the_right_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn reference_numbers_are_well_formed() {
        let r = reference_number();
        assert_eq!(r.len(), 12);
        assert!(r.starts_with("VT-"));
    }
}
