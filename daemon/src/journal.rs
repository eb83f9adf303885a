//! The moderation journal as people read it: each audit entry's action as a
//! French label (« Proposition reçue », « Acceptée »…) and its details as
//! short lines of text (changed fields named by the form's labels, the message
//! sent to the author, the publishing error), never as JSON.
//!
//! Display only: the stored audit data (`audit_log`, written by
//! [`crate::db::audit`]) is the record and is never rewritten. Internal values
//! it keeps for the daemon's own use (the revision form's nonce, idempotency
//! data, tokens, file paths) are not shown. An action or a detail this module
//! does not know is shown in a readable form, never as an error.

use serde::Serialize;
use serde_json::Value as Json;
use vitrine_generator::config::Config;
use vitrine_generator::schema::Schema;

use crate::queue::{AuditEntry, Status};

/// One line of an entry's details: `label : text`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Detail {
    /// What the line is about, in French (« Champs modifiés », « Erreur »…).
    pub label: String,
    /// The detail as plain text (never blank).
    pub text: String,
}

/// An audit entry ready for the item page.
#[derive(Debug, Clone, Serialize)]
pub struct JournalLine {
    /// When, in the site's time zone ([`crate::dates::human_time`]).
    pub at: String,
    /// Who acted, as recorded: a moderator's user name, or the daemon's own
    /// name for the step (« soumission », « publication », « auteur (lien de suivi) »…).
    pub actor: String,
    /// The action's French label ([`action_label`]).
    pub action: String,
    /// The readable details ([`details`]); internal values left out.
    pub details: Vec<Detail>,
}

/// Detail keys that are the daemon's own bookkeeping, never shown.
const HIDDEN: &[&str] = &[
    "form", "nonce", "token", "status_token", "csrf", "key", "idempotency", "idempotency_key", "hash", "payload_hash", "path",
];

/// French label of a recorded action; an unknown one is made readable
/// (`some_action` → « Some action »).
pub fn action_label(action: &str) -> String {
    let known = match action {
        "submitted" => "Proposition reçue",
        "revised" => "Modifiée par l’auteur",
        "edited" => "Modifiée par la modération",
        "changes_requested" => "Modifications demandées",
        "approved" => "Acceptée",
        "published" => "Publiée",
        "publish_failed" => "Échec de la publication",
        "publish_refused" => "Publication refusée par la vérification du site",
        "login_attack" => "Connexions refusées depuis de nombreuses adresses",
        "rejected" => "Refusée",
        "pending" => "Remise en attente de relecture",
        "user_added" => "Compte ajouté",
        "user_removed" => "Compte supprimé",
        "password_changed" => "Mot de passe changé",
        "password_reset_link" => "Lien pour un nouveau mot de passe envoyé",
        "personal_data_erased" => "Données personnelles de l’auteur effacées",
        "content_created" => "Entrée créée",
        "content_edited" => "Entrée modifiée",
        "content_withdrawn" => "Retirée du site",
        "content_republished" => "Remise en ligne",
        "content_version_restored" => "Version antérieure restaurée",
        other => return humanize(other),
    };
    known.to_string()
}

/// `some_key-name` → « Some key name ».
fn humanize(s: &str) -> String {
    let words = s.replace(['_', '-'], " ");
    let words = words.trim();
    let mut c = words.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => "Action sans nom".into(),
    }
}

/// The form's label of a changed path (the one rule, [`forms::field_label`]):
/// `fields.summary` → « Résumé », `partners[0].school` → « Établissement
/// (Établissement partenaire 1) », `body` → « Présentation ».
pub fn path_label(schema: Option<&Schema>, path: &str) -> String {
    let path = path.strip_prefix("fields.").unwrap_or(path);
    match path {
        "vt_name" => return "Nom de l’auteur".into(),
        "vt_email" => return "Adresse électronique de l’auteur".into(),
        _ => {}
    }
    match schema {
        Some(s) => vitrine_generator::forms::field_label(s, path),
        None => vitrine_generator::forms::field_label(&Schema { fields: Vec::new() }, path),
    }
}

/// A list of changed paths as the form's labels, each once, in order.
fn labels_of(schema: Option<&Schema>, v: &Json) -> String {
    let mut out: Vec<String> = Vec::new();
    for p in v.as_array().into_iter().flatten().filter_map(Json::as_str) {
        let l = path_label(schema, p);
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out.join(", ")
}

fn status_text(v: &Json) -> Option<String> {
    let s = v.as_str()?;
    Some(Status::parse(s).map(|st| st.label().to_string()).unwrap_or_else(|| humanize(s)))
}

/// Any JSON value as plain text (lists joined, objects as `clé : valeur`).
fn plain(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::Bool(b) => (if *b { "oui" } else { "non" }).into(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.clone(),
        Json::Array(a) => a.iter().map(plain).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", "),
        Json::Object(o) => o
            .iter()
            .filter(|(k, _)| !HIDDEN.contains(&k.as_str()))
            .map(|(k, v)| format!("{} : {}", humanize(k), plain(v)))
            .collect::<Vec<_>>()
            .join(" ; "),
    }
}

fn push(out: &mut Vec<Detail>, label: &str, text: String) {
    if !text.trim().is_empty() {
        out.push(Detail { label: label.into(), text });
    }
}

/// The readable details of one entry. `schema` is the submission's
/// collection's (for field labels), `collection_title` its name for people.
pub fn details(action: &str, detail: &str, schema: Option<&Schema>, collection_title: &str) -> Vec<Detail> {
    let mut out = Vec::new();
    let Ok(Json::Object(d)) = serde_json::from_str::<Json>(detail) else {
        // Not an object: old or foreign data, shown as the text it is.
        let text = match serde_json::from_str::<Json>(detail) {
            Ok(v) => plain(&v),
            Err(_) => detail.to_string(),
        };
        push(&mut out, "Détail", text);
        return out;
    };
    let mut used: Vec<&str> = Vec::new();
    let mut take = |k: &'static str| -> Option<&Json> {
        used.push(k);
        d.get(k).filter(|v| !v.is_null())
    };
    match action {
        "submitted" => {
            let title = take("collection").map(|_| collection_title.to_string()).unwrap_or_default();
            push(&mut out, "Type", title);
        }
        "edited" | "revised" => {
            match take("changed") {
                Some(c) if c.as_array().is_some_and(|a| !a.is_empty()) => push(&mut out, "Champs modifiés", labels_of(schema, c)),
                Some(_) => push(&mut out, "Champs modifiés", "aucun".into()),
                None => {}
            }
            if let Some(i) = take("images_replaced") {
                push(&mut out, "Images remplacées", labels_of(schema, i));
            }
        }
        "published" => {
            if let Some(u) = take("url") {
                push(&mut out, "Adresse", plain(u));
            }
        }
        "publish_failed" | "publish_refused" => {
            if let Some(e) = take("error") {
                push(&mut out, "Erreur", plain(e));
            }
        }
        "user_added" | "user_removed" | "password_changed" | "password_reset_link" => {
            if let Some(u) = take("username") {
                push(&mut out, "Compte", plain(u));
            }
            if let Some(r) = take("role") {
                let role = r.as_str().and_then(crate::auth::Role::parse).map(|r| r.label().to_string()).unwrap_or_else(|| plain(r));
                push(&mut out, "Rôle", role);
            }
        }
        a if a.starts_with("content_") => {
            take("entry");
            take("file");
            if let Some(t) = take("title") {
                push(&mut out, "Titre", plain(t));
            }
            if take("version").is_some() {
                push(&mut out, "Version précédente", "conservée (voir « Versions précédentes »)".into());
            }
            if take("git").is_some() {
                push(&mut out, "Git", "changement enregistré (commit)".into());
            }
            if let Some(e) = take("git_error") {
                push(&mut out, "Git", format!("commit refusé : {}", plain(e)));
            }
        }
        _ => {}
    }
    // Status changes (and any entry that records them).
    if let Some(r) = take("reason") {
        push(&mut out, "Message à l’auteur", plain(r));
    }
    // The state before a decision (a revision always follows « modifications demandées »).
    if let Some(f) = take("from").and_then(status_text).filter(|_| action != "revised") {
        push(&mut out, "État précédent", f);
    }
    take("to");
    // Whatever else an entry holds (a future or unknown action), as text.
    for (k, v) in d.iter() {
        if used.contains(&k.as_str()) || HIDDEN.contains(&k.as_str()) || k.starts_with("idempotency") {
            continue;
        }
        push(&mut out, &humanize(k), plain(v));
    }
    out
}

/// Every entry of a submission's journal, readable; times in the site's time
/// zone (`config`).
pub fn lines(config: &Config, entries: &[AuditEntry], schema: Option<&Schema>, collection_title: &str) -> Vec<JournalLine> {
    entries
        .iter()
        .map(|e| JournalLine {
            at: crate::dates::human_time(config, &e.at),
            actor: e.actor.clone(),
            action: action_label(&e.action),
            details: details(&e.action, &e.detail, schema, collection_title),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_actions_and_details_are_readable() {
        assert_eq!(action_label("archived_by_robot"), "Archived by robot");
        assert_eq!(action_label(""), "Action sans nom");
        let d = details("archived_by_robot", r#"{"note":"fin d'année","form":"abc","idempotency_key":"k","count":3}"#, None, "Projets");
        assert_eq!(
            d,
            vec![Detail { label: "Note".into(), text: "fin d'année".into() }, Detail { label: "Count".into(), text: "3".into() }]
        );
        assert_eq!(details("x", "pas du JSON", None, "")[0].text, "pas du JSON");
    }

    #[test]
    fn paths_become_labels() {
        assert_eq!(path_label(None, "body"), "Présentation");
        assert_eq!(path_label(None, "title"), "Titre");
    }
}
