//! E-mail notifications written as `.eml` files (RFC 5322, UTF-8, quoted-printable
//! free: base64 bodies) into `.vitrine/outbox/`, so that nothing needs a mail
//! server. An operator can hand the folder to any MTA (or `sendmail -t < file`).
//!
//! The outbox is the durable, inspectable default and the message of record:
//! when `daemon.smtp` is configured, [`crate::smtp`] sends these same files
//! and moves the delivered ones to `outbox/sent/`. Headers stay 7-bit ASCII
//! (RFC 2047 encoded words), so any SMTP server accepts the file as is.

use std::io::Write;
use std::path::{Path, PathBuf};

/// One message to write.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Recipients, as an address list (`Name <a@b>, c@d`); control characters
    /// are dropped, non-ASCII names encoded.
    pub to: String,
    /// Subject line (control characters dropped, written as an RFC 2047 word).
    pub subject: String,
    /// Plain-text body (UTF-8, written in base64).
    pub body: String,
}

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    out
}

/// Header-safe address: refuses CR/LF and anything that is not a plain address.
fn clean_header(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// An address list header (`Name <a@b>, c@d`) with non-ASCII display names
/// as RFC 2047 encoded words.
fn address_header(s: &str) -> String {
    clean_header(s)
        .split(',')
        .map(|item| {
            let item = item.trim();
            match (item.rfind('<'), item.ends_with('>')) {
                (Some(i), true) if !item[..i].is_ascii() => {
                    let name = item[..i].trim().trim_matches('"');
                    format!("=?UTF-8?B?{}?= {}", b64(name.as_bytes()), &item[i..])
                }
                _ => item.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders the message as RFC 5322 text.
pub fn render(from: &str, mail: &Mail) -> String {
    let subject = format!("=?UTF-8?B?{}?=", b64(clean_header(&mail.subject).as_bytes()));
    let body = b64(mail.body.as_bytes());
    let mut wrapped = String::new();
    for line in body.as_bytes().chunks(76) {
        wrapped.push_str(std::str::from_utf8(line).unwrap_or_default());
        wrapped.push_str("\r\n");
    }
    let now = jiff::Timestamp::now();
    let date = now.strftime("%a, %d %b %Y %H:%M:%S +0000");
    let from_addr = address_header(from);
    let domain = from_addr
        .rsplit('@')
        .next()
        .map(|d| d.trim_end_matches('>').trim())
        .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or("localhost");
    let message_id = format!("<{}.{}@{domain}>", now.as_millisecond(), crate::security::random_token(8));
    format!(
        "From: {from_addr}\r\nTo: {}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: {message_id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{wrapped}",
        address_header(&mail.to),
    )
}

/// Writes the message into `dir` (temp file, fsync, rename); returns its path.
pub fn write(dir: &Path, from: &str, mail: &Mail) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = format!(
        "{}-{}.eml",
        jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S"),
        crate::security::random_token(6)
    );
    let tmp = dir.join(format!(".{name}.tmp"));
    let dest = dir.join(&name);
    let mut f = std::fs::File::create_new(&tmp)?;
    f.write_all(render(from, mail).as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, &dest)?;
    Ok(dest)
}

/// Decodes a body written by [`render`] (used by tests and tools).
pub fn decode_body(eml: &str) -> Option<String> {
    let body = eml.split("\r\n\r\n").nth(1)?;
    let clean: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::new();
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    for q in clean.chunks(4) {
        let mut n = 0u32;
        let mut pad = 0;
        for (i, c) in q.iter().enumerate() {
            let v = if *c == b'=' { pad += 1; 0 } else { val(*c)? };
            n |= v << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eml_round_trip_and_no_header_injection() {
        let dir = tempfile::tempdir().unwrap();
        let m = Mail {
            to: "a@example.org\r\nBcc: evil@example.org".into(),
            subject: "Réponse à votre demande".into(),
            body: "Bonjour,\nvotre projet « Été » est publié.".into(),
        };
        let p = write(dir.path(), "vitrine@localhost", &m).unwrap();
        let s = std::fs::read_to_string(p).unwrap();
        assert!(!s.contains("\r\nBcc:"));
        assert_eq!(decode_body(&s).unwrap(), m.body);
    }

    #[test]
    fn headers_are_ascii_with_encoded_display_names_and_a_message_id() {
        let m = Mail { to: "a@example.org, Zoé <z@example.org>".into(), subject: "Été".into(), body: "é".into() };
        let s = render("Réseau eTwinning <vitrine@example.org>", &m);
        assert!(s.is_ascii(), "{s}");
        assert!(s.contains(&format!("From: =?UTF-8?B?{}?= <vitrine@example.org>\r\n", b64("Réseau eTwinning".as_bytes()))), "{s}");
        assert!(s.contains(&format!("To: a@example.org, =?UTF-8?B?{}?= <z@example.org>\r\n", b64("Zoé".as_bytes()))), "{s}");
        let id = s.lines().find(|l| l.starts_with("Message-ID: <")).expect("Message-ID");
        assert!(id.ends_with("@example.org>"), "{id}");
    }
}
