//! Small cryptographic helpers: random tokens, SHA-256 digests, the HMAC-signed
//! form token (with its minimum fill time) and password hashing with argon2.
//!
//! Deliberately no custom crypto: HMAC-SHA256, argon2id and the OS RNG only.
//!
//! Each argon2 hash or verification takes about 19 MiB and a core for tens of
//! milliseconds, so the daemon never runs them directly: [`HashLimiter`] runs
//! them on the blocking pool, at most N at a time (N permits, the number of
//! cores by default), and a request that does not get a permit within a
//! bounded wait is told the server is busy instead of piling up memory.
//! The functions [`hash_password`] and [`verify_password`] themselves stay
//! synchronous for the command line.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use argon2::{PasswordHasher, PasswordVerifier};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Lowercase hexadecimal of `bytes`, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// Fills `buf` from the operating system's random source (getrandom). Without
/// one there is no safe token to make: the daemon stops here rather than
/// hand out guessable ones.
fn os_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("source d'aléa du système indisponible (getrandom)");
}

/// `n` random bytes from the OS, hex-encoded.
pub fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    os_random(&mut buf);
    hex(&buf)
}

/// Human-friendly reference number such as `VT-7K3Q-M9XD` (no 0/O/1/I).
pub fn reference_number() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut buf = [0u8; 8];
    os_random(&mut buf);
    let c: String = buf.iter().map(|b| ALPHABET[(*b as usize) % 32] as char).collect();
    format!("VT-{}-{}", &c[..4], &c[4..])
}

/// SHA-256 of `data`, in lowercase hexadecimal (session and setup tokens are
/// stored only as this; also the submissions' content hash).
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
    // A unique temporary file beside it (mode 0600, removed on error), fsynced,
    // then linked to its name unless another process made one meanwhile.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".secret.").suffix(".tmp").tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    {
        use std::io::Write;
        tmp.write_all(secret.as_bytes())?;
        tmp.as_file().sync_all()?;
    }
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(secret.into_bytes()),
        // Another process created it in between: use theirs.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(path)?.trim().as_bytes().to_vec())
        }
        Err(e) => Err(e.error),
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
    /// No token was sent, or it is empty.
    Missing,
    /// The token is malformed, or its signature does not match (another form,
    /// another secret, or altered).
    Invalid,
    /// The form was sent sooner than the minimum fill time after it was shown.
    TooFast,
    /// The form was shown longer ago than the token's maximum age.
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
    // A random 16-byte salt from the OS (password-hash's getrandom).
    argon2::Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Whether `password` matches the argon2 PHC string `phc`; a malformed hash
/// never matches. Synchronous: the daemon calls it through [`HashLimiter`].
pub fn verify_password(password: &str, phc: &str) -> bool {
    // A PHC string that does not parse is an error, so it never matches.
    argon2::Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

/// A well-formed hash with the default parameters, of no known password:
/// checked when the account does not exist, so that the answer takes the same
/// work and the same path (permit, blocking pool) whether it exists or not.
pub const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$0000000000000000000000000000000000000000000";

/// Why a hash or a verification did not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// No permit came within the wait: the server is busy.
    #[error("trop de mots de passe sont vérifiés en ce moment")]
    Busy,
    /// Argon2 failed, or its task on the blocking pool panicked.
    #[error("hachage du mot de passe : {0}")]
    Failed(String),
}

/// Bounds the argon2 work of the daemon: at most `permits` hashes or
/// verifications at once, each on the blocking pool, and a bounded wait for
/// a permit. Counts the verifications run (for tests and diagnostics).
pub struct HashLimiter {
    permits: Arc<tokio::sync::Semaphore>,
    wait: Duration,
    verifications: AtomicU64,
}

/// The right to run one hash or verification, from [`HashLimiter::permit`].
pub struct HashPermit<'a> {
    permit: tokio::sync::OwnedSemaphorePermit,
    limiter: &'a HashLimiter,
}

impl HashLimiter {
    /// `permits` at once (at least 1); a request waits `wait` at most for one.
    pub fn new(permits: usize, wait: Duration) -> Self {
        HashLimiter { permits: Arc::new(tokio::sync::Semaphore::new(permits.max(1))), wait, verifications: AtomicU64::new(0) }
    }

    /// Waits (at most the configured wait) for the right to hash.
    pub async fn permit(&self) -> Result<HashPermit<'_>, HashError> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(HashPermit { permit, limiter: self }),
            _ => Err(HashError::Busy),
        }
    }

    /// Password verifications run since the start (the dummy ones included).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Permits free now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Hashes a new password under a permit.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.permit().await?.hash(password).await
    }
}

impl HashPermit<'_> {
    /// Runs `f` on the blocking pool. The permit goes with it and is given
    /// back when the work ends, even if the request was abandoned meanwhile.
    async fn run<T: Send + 'static>(self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        let permit = self.permit;
        tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            out
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }

    /// Checks `password` against `phc`, or against [`DUMMY_PHC`] when there is
    /// no account (same work, always false).
    pub async fn verify(self, password: String, phc: Option<String>) -> Result<bool, HashError> {
        self.limiter.verifications.fetch_add(1, Ordering::Relaxed);
        self.run(move || match phc {
            Some(phc) => verify_password(&password, &phc),
            None => {
                let _ = verify_password(&password, DUMMY_PHC);
                false
            }
        })
        .await
    }

    /// Hashes a new password.
    pub async fn hash(self, password: String) -> Result<String, HashError> {
        self.run(move || hash_password(&password)).await?.map_err(HashError::Failed)
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
    fn the_dummy_hash_costs_what_a_real_one_costs() {
        // A hash that does not parse would be refused at once, without argon2's work.
        use argon2::password_hash::phc::PasswordHash;
        let dummy = PasswordHash::new(DUMMY_PHC).expect("the dummy hash parses");
        let real_phc = hash_password("mot de passe").unwrap();
        let real = PasswordHash::new(&real_phc).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params, "same memory, time and lanes as the hashes of real accounts");
        assert_eq!(dummy.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_is_bounded_by_permits_and_a_wait() {
        let limiter = HashLimiter::new(1, Duration::from_millis(50));
        let held = limiter.permit().await.unwrap();
        assert_eq!(limiter.available(), 0);
        assert_eq!(limiter.permit().await.err(), Some(HashError::Busy), "no permit within the wait");
        assert_eq!(limiter.hash("mot de passe".into()).await, Err(HashError::Busy));
        drop(held);
        let phc = limiter.hash("mot de passe".into()).await.unwrap();
        assert!(limiter.permit().await.unwrap().verify("mot de passe".into(), Some(phc)).await.unwrap());
        assert!(!limiter.permit().await.unwrap().verify("mot de passe".into(), None).await.unwrap());
        assert_eq!(limiter.verifications(), 2);
        assert_eq!(limiter.available(), 1, "every permit given back");
    }

    #[test]
    fn reference_numbers_are_well_formed() {
        let r = reference_number();
        assert_eq!(r.len(), 12);
        assert!(r.starts_with("VT-"));
    }
}
