//! The content of a submission, typed: its title, the schema's fields as
//! validated, and the Markdown text. Stored as JSON in the queue (the shape of
//! every row ever written: `{"title", "fields", "body"}`), read back into this
//! type; nothing reads it through string keys. No personal data here: the
//! submitter's name and e-mail live beside it in the queue, never in it.
//!
//! A data module at the bottom: it imports no other module of the crate.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// What a submission says, as it will be published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    /// The title (the same as `fields.title`), kept apart for lists and e-mails.
    #[serde(default, deserialize_with = "title_or_empty")]
    pub title: String,
    /// The collection's fields, validated by its schema.
    #[serde(default)]
    pub fields: Map<String, Json>,
    /// The Markdown text, trimmed.
    #[serde(default)]
    pub body: String,
}

fn title_or_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Json::deserialize(d)? {
        Json::String(s) => s,
        _ => String::new(),
    })
}

impl Payload {
    /// A payload from validated fields and the text (trimmed); the title is `fields.title`.
    pub fn new(fields: Map<String, Json>, body: &str) -> Payload {
        let title = fields.get("title").and_then(Json::as_str).unwrap_or_default().to_string();
        Payload { title, fields, body: body.trim().to_string() }
    }

    /// The JSON stored in the queue.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }

    /// Reads a stored payload; a row that is not one gives an empty payload.
    pub fn from_json(v: &Json) -> Payload {
        Payload::deserialize(v).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_rows_read_back() {
        let v = serde_json::json!({"title": "Eau", "fields": {"title": "Eau", "year": 2026}, "body": "Texte"});
        let p = Payload::from_json(&v);
        assert_eq!((p.title.as_str(), p.fields["year"].as_i64(), p.body.as_str()), ("Eau", Some(2026), "Texte"));
        assert_eq!(p.to_json(), v);
        assert_eq!(Payload::from_json(&serde_json::json!({"title": null})).title, "");
        let made = Payload::new(serde_json::from_value(serde_json::json!({"title": "T"})).unwrap(), "  corps \n");
        assert_eq!((made.title.as_str(), made.body.as_str()), ("T", "corps"));
    }
}
