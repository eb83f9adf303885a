//! The words of the e-mails sent to teachers: the acknowledgement of a
//! submission (reference, everything sent, the status link) and the decisions
//! (changes requested, published with the public page's address and the fields
//! a moderator changed, rejected with the reason). Each function returns an
//! [`outbox::Mail`]; delivering it is [`crate::web::send_mail`]'s job.
//!
//! The teacher's name and address are used to reach them and nowhere else.

use crate::outbox::Mail;
use crate::summary::{self, Line};

/// What the acknowledgement needs to say.
pub struct Received<'a> {
    /// The author's address.
    pub to: &'a str,
    /// The submission's reference (`P-2026-0042`).
    pub reference: &'a str,
    /// The collection's entry name (`Projet`).
    pub singular: &'a str,
    /// The title sent.
    pub title: &'a str,
    /// Everything sent, in words ([`summary::lines`]).
    pub lines: &'a [Line],
    /// The free text sent (Markdown source).
    pub body: &'a str,
    /// The absolute address of the status page.
    pub status_url: &'a str,
}

/// The acknowledgement of a new submission: losing the browser tab loses nothing.
pub fn received(r: &Received<'_>) -> Mail {
    let mut body = format!(
        "Bonjour,\n\nnous avons bien reçu votre proposition « {} » ({}).\nRéférence : {}\n\n\
         Elle sera relue par le correspondant académique avant toute publication ; vous recevrez un courriel à chaque étape.\n\n\
         Suivre votre proposition (lien personnel, ne le partagez pas) :\n{}\n\n\
         Ce que vous avez envoyé :\n\n{}",
        r.title,
        r.singular.to_lowercase(),
        r.reference,
        r.status_url,
        summary::as_text(r.lines)
    );
    if !r.body.trim().is_empty() {
        body.push_str(&format!("\n{} :\n{}\n", vitrine_generator::forms::BODY_LABEL, r.body.trim()));
    }
    body.push_str("\nVotre nom et votre adresse servent seulement à vous répondre ; ils ne sont jamais publiés.\n");
    Mail { to: r.to.to_string(), subject: format!("Proposition reçue ({}) : {}", r.reference, short(r.title)), body }
}

/// A decision on a submission.
pub enum Decision<'a> {
    /// Changes requested, with the moderator's message.
    Changes(&'a str),
    /// Rejected, with the reason.
    Rejected(&'a str),
    /// Published.
    Published {
        /// The public page's absolute address.
        url: Option<&'a str>,
        /// The labels of the fields a moderator changed before publishing.
        changed: &'a [String],
    },
}

/// The e-mail telling the author about a decision.
pub fn decision(to: &str, reference: &str, title: &str, status_url: &str, d: &Decision<'_>) -> Mail {
    let (subject, text) = match d {
        Decision::Changes(m) => (
            "modifications demandées",
            format!(
                "le correspondant vous demande des modifications sur votre proposition « {title} » (référence {reference}) :\n\n{m}\n\n\
                 Vous pouvez modifier votre proposition depuis votre page de suivi ; elle retournera ensuite en relecture.\n"
            ),
        ),
        Decision::Rejected(m) => (
            "refusée",
            format!("votre proposition « {title} » (référence {reference}) est refusée. Le correspondant en donne la raison :\n\n{m}\n"),
        ),
        Decision::Published { url, changed } => {
            let mut s = format!("votre proposition « {title} » (référence {reference}) est publiée sur le site");
            match url {
                Some(u) => s.push_str(&format!(" :\n{u}\n")),
                None => s.push_str(".\n"),
            }
            if !changed.is_empty() {
                s.push_str(&format!("\nAvant de la publier, le correspondant a modifié : {}.\n", changed.join(", ")));
            }
            ("publiée", s)
        }
    };
    let body = format!("Bonjour,\n\n{text}\nSuivi : {status_url}\n");
    Mail { to: to.to_string(), subject: format!("Votre proposition {reference} : {subject}"), body }
}

fn short(s: &str) -> String {
    let t: String = s.chars().take(60).collect();
    if t.len() < s.len() { format!("{t}…") } else { t }
}
