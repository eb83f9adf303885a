//! E-mail notifications written as `.eml` files into `.vitrine/outbox/`, so
//! that nothing needs a mail server. An operator can hand the folder to any
//! MTA (or `sendmail -t < file`).
//!
//! Messages are built by lettre's message builder: headers are 7-bit ASCII,
//! non-ASCII words are RFC 2047 encoded words of at most 75 characters, long
//! headers are folded, display names are quoted when they need it (a comma in
//! `"Dupont, Jean" <j@example.org>` stays inside the name), and the body is
//! UTF-8 plain text in base64. Every address is parsed by lettre (RFC 5322
//! mailbox syntax, `email_address` rules for the parts): a message with an
//! address that does not parse is refused, never written with a guess.
//!
//! The outbox is the durable, inspectable default and the message of record:
//! when `daemon.smtp` is configured, [`crate::smtp`] sends these same files
//! and moves the delivered ones to `outbox/sent/`, the refused ones to
//! `outbox/parked/`. What this module does not do: send anything, or decide
//! who receives a notification (the callers in `web` do).

use std::io::Write;
use std::path::{Path, PathBuf};

use email_encoding::headers::writer::EmailWriter;
use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, Mailboxes, header};

/// One message to write.
#[derive(Debug, Clone)]
pub struct Mail {
    /// Recipients, as an RFC 5322 address list (`Name <a@b>, "Nom, Prénom" <c@d>, e@f`);
    /// control characters are dropped, non-ASCII names encoded.
    pub to: String,
    /// Subject line (control characters dropped, encoded and folded as needed).
    pub subject: String,
    /// Plain-text body (UTF-8, written in base64).
    pub body: String,
}

/// Why a message was not written.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The sender or a recipient is not a valid address (list).
    #[error("en-tête {header} : adresse(s) électronique(s) invalide(s) « {value} » : {source}")]
    Address {
        /// `From` or `To`.
        header: &'static str,
        /// The value as given.
        value: String,
        /// lettre's parse error.
        source: lettre::address::AddressError,
    },
    /// lettre refused to build the message (e.g. no recipient).
    #[error("message impossible à construire : {0}")]
    Build(#[from] lettre::error::Error),
    /// Writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The outbox folder or the file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}

fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// Parses an address list (`Name <a@b>, c@d`) as a header would hold it.
pub fn parse_mailboxes(header: &'static str, value: &str) -> Result<Mailboxes, OutboxError> {
    clean(value).trim().parse::<Mailboxes>().map_err(|source| OutboxError::Address {
        header,
        value: value.to_string(),
        source,
    })
}

/// An address header (`From`, `To`) encoded and folded: display names as
/// quoted strings or RFC 2047 words (email-encoding, as lettre does), and a
/// possible fold before every address, which lettre's own mailbox-list writer
/// lacks (it let a `To:` line run to 95 characters after a long encoded name).
fn address_header(name: &'static str, mailboxes: &Mailboxes) -> HeaderValue {
    use std::fmt::Write as _;
    let mut encoded = String::new();
    {
        let mut w = EmailWriter::new(&mut encoded, name.len() + 2, 0, false);
        let count = mailboxes.iter().count();
        for (i, mb) in mailboxes.iter().enumerate() {
            let comma = if i + 1 < count { "," } else { "" };
            if i > 0 {
                w.space();
            }
            // Writing to a String cannot fail.
            let _ = match mb.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                Some(display) => email_encoding::headers::quoted_string::encode(display, &mut w)
                    .and_then(|()| {
                        w.space();
                        w.folding().write_str(&format!("<{}>{comma}", mb.email))
                    }),
                None => w.folding().write_str(&format!("{}{comma}", mb.email)),
            };
        }
    }
    HeaderValue::dangerous_new_pre_encoded(HeaderName::new_from_ascii_str(name), mailboxes.to_string(), encoded)
}

/// Builds the message (headers, base64 body).
pub fn message(from: &str, mail: &Mail) -> Result<lettre::Message, OutboxError> {
    let from: Mailbox = clean(from).trim().parse().map_err(|source| OutboxError::Address {
        header: "From",
        value: from.to_string(),
        source,
    })?;
    let to = parse_mailboxes("To", &mail.to)?;
    let domain = Some(from.email.domain()).filter(|d| d.is_ascii() && !d.starts_with('[')).unwrap_or("localhost");
    let message_id = format!(
        "<{}.{}@{domain}>",
        jiff::Timestamp::now().as_millisecond(),
        crate::security::random_token(8)
    );
    let body = Body::new_with_encoding(mail.body.clone(), ContentTransferEncoding::Base64)
        .map_err(|_| OutboxError::Build(lettre::error::Error::NonAsciiChars))?;
    let envelope = Envelope::new(Some(from.email.clone()), to.iter().map(|m| m.email.clone()).collect())?;
    Ok(lettre::Message::builder()
        .raw_header(address_header("From", &Mailboxes::from(from)))
        .raw_header(address_header("To", &to))
        .envelope(envelope)
        .subject(clean(&mail.subject))
        .date_now()
        .message_id(Some(message_id))
        .header(header::ContentType::TEXT_PLAIN)
        .body(body)?)
}

/// Renders the message as RFC 5322 text (CRLF line ends, ASCII only).
pub fn render(from: &str, mail: &Mail) -> Result<String, OutboxError> {
    let bytes = message(from, mail)?.formatted();
    // Headers are encoded words and the body base64: always ASCII.
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    // lettre leaves the last body line open; a file (and SMTP's DATA) ends lines with CRLF.
    if !text.ends_with("\r\n") {
        text.push_str("\r\n");
    }
    Ok(text)
}

/// Writes the message into `dir` (unique temporary file, fsync, then moved to
/// its final name without overwriting anything); returns its path. Nothing is
/// left behind on error.
pub fn write(dir: &Path, from: &str, mail: &Mail) -> Result<PathBuf, OutboxError> {
    let text = render(from, mail)?;
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| OutboxError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = format!(
        "{}-{}.eml",
        jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S"),
        crate::security::random_token(6)
    );
    let dest = dir.join(&name);
    let mut tmp = tempfile::Builder::new().prefix(".mail-").suffix(".tmp").tempfile_in(dir).map_err(io(dir))?;
    tmp.write_all(text.as_bytes()).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(tmp.path()))?;
    tmp.persist_noclobber(&dest).map_err(|e| OutboxError::Io { path: dest.clone(), source: e.error })?;
    Ok(dest)
}

/// Decodes a body written by [`render`], line ends back to `\n` (used by
/// tests and tools).
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
    String::from_utf8(out).ok().map(|s| s.replace("\r\n", "\n"))
}


#[cfg(test)]
mod tests {
    use super::*;

    /// Every header line of `eml` (folded lines included) is at most 78
    /// characters and every RFC 2047 encoded word at most 75 (RFC 5322 2.1.1,
    /// RFC 2047 2).
    fn assert_line_limits(eml: &str) {
        let head = eml.split("\r\n\r\n").next().unwrap();
        for line in head.split("\r\n") {
            assert!(line.len() <= 78, "header line of {} characters: {line}", line.len());
            for word in line.split([' ', '\t']).filter(|w| w.contains("=?")) {
                let start = word.find("=?").unwrap();
                let word = &word[start..];
                let end = word.rfind("?=").map(|e| e + 2).unwrap_or(word.len());
                assert!(end <= 75, "encoded word of {end} characters: {word}");
            }
        }
        for line in eml.split("\r\n") {
            assert!(line.len() <= 998, "line of {} characters", line.len());
        }
    }

    fn parse(eml: &str) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default().parse(eml.as_bytes()).expect("a MIME message")
    }

    #[test]
    fn long_accented_subject_is_folded_in_short_encoded_words_and_round_trips() {
        let subject = "Votre proposition VT-AB12-CD34 : « Échanges épistolaires entre élèves de Besançon, \
                       Tübingen et Łódź — édition été 2026 » a été publiée";
        let m = Mail { to: "camille@example.org".into(), subject: subject.into(), body: "Bonjour,\nc'est publié.\n".into() };
        let eml = render("Réseau eTwinning des écoles de l'académie <vitrine@example.org>", &m).unwrap();
        assert!(eml.is_ascii(), "{eml}");
        assert_line_limits(&eml);
        let msg = parse(&eml);
        assert_eq!(msg.subject(), Some(subject));
        // Plain text travels with CRLF line ends (RFC 2046 canonical form).
        assert_eq!(msg.body_text(0).unwrap().replace("\r\n", "\n"), m.body);
        assert_eq!(decode_body(&eml).unwrap(), m.body);
        let from = msg.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("Réseau eTwinning des écoles de l'académie"));
        assert_eq!(from.address(), Some("vitrine@example.org"));
        let id = msg.message_id().expect("Message-ID");
        assert!(id.ends_with("@example.org"), "{id}");
        assert!(msg.date().is_some());
    }

    #[test]
    fn display_names_with_commas_and_accents_round_trip_in_address_lists() {
        let m = Mail {
            to: r#""Dupont, Jean" <jean.dupont@example.org>, Zoé Lefèvre <zoe@example.org>, "Éloïse, coordinatrice régionale du réseau" <e@example.fr>, c@example.org"#.into(),
            subject: "Été".into(),
            body: "é".into(),
        };
        let eml = render("vitrine@example.org", &m).unwrap();
        assert!(eml.is_ascii(), "{eml}");
        assert_line_limits(&eml);
        let msg = parse(&eml);
        let to: Vec<(Option<&str>, Option<&str>)> = msg.to().unwrap().iter().map(|a| (a.name(), a.address())).collect();
        assert_eq!(
            to,
            [
                (Some("Dupont, Jean"), Some("jean.dupont@example.org")),
                (Some("Zoé Lefèvre"), Some("zoe@example.org")),
                (Some("Éloïse, coordinatrice régionale du réseau"), Some("e@example.fr")),
                (None, Some("c@example.org")),
            ]
        );
    }

    #[test]
    fn bad_addresses_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        for to in ["jean..dupont@-ecole.fr", "pas une adresse", "", "a@example.org, ,", "<a@example.org", "a@example.org b@example.org", "a@example.org ; b@example.org"] {
            let m = Mail { to: to.into(), subject: "s".into(), body: "b".into() };
            let e = write(dir.path(), "vitrine@example.org", &m).unwrap_err();
            assert!(matches!(e, OutboxError::Address { header: "To", .. } | OutboxError::Build(_)), "{to}: {e}");
        }
        let m = Mail { to: "a@example.org".into(), subject: "s".into(), body: "b".into() };
        let e = write(dir.path(), "Vitrine <vitrine@@example.org>", &m).unwrap_err();
        assert!(e.to_string().contains("en-tête From"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written, no temporary file left");
    }

    #[test]
    fn eml_round_trip_and_no_header_injection() {
        let dir = tempfile::tempdir().unwrap();
        let m = Mail {
            to: "a@example.org".into(),
            subject: "Réponse\r\nBcc: evil@example.org".into(),
            body: "Bonjour,\nvotre projet « Été » est publié.".into(),
        };
        let p = write(dir.path(), "vitrine@localhost", &m).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert!(!s.contains("\r\nBcc:"), "{s}");
        assert_eq!(decode_body(&s).unwrap(), m.body);
        assert_eq!(parse(&s).subject(), Some("RéponseBcc: evil@example.org"));
        // Only the message itself is in the folder (no temporary file left).
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [p.file_name().unwrap().to_owned()]);
        let injected = Mail { to: "a@example.org\r\nBcc: evil@example.org".into(), ..m };
        assert!(write(dir.path(), "vitrine@localhost", &injected).is_err());
    }
}
