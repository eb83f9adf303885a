//! A submission as its author sent it, in words: one line per filled-in field,
//! named by the form's own labels ([`vitrine_generator::forms::field_label`]),
//! values as plain text (lists joined, each row of a group on its line). The
//! status page and the acknowledgement e-mail show these same lines, so the
//! teacher can check what was received without keeping the browser tab.
//!
//! It does not render Markdown or pictures (the status page adds them) and
//! never shows the submitter's name or address (they are not part of the entry).

use serde::Serialize;
use serde_json::{Map, Value as Json};
use vitrine_generator::forms::field_label;
use vitrine_generator::schema::{Field, Kind, Schema};

/// One line of the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// The field's label on the form (`Pays (Établissement partenaire 1)`).
    pub label: String,
    /// Its value as plain text.
    pub text: String,
}

/// The fields of `values` the schema knows, in the schema's order; empty ones left out.
pub fn lines(schema: &Schema, values: &Map<String, Json>) -> Vec<Line> {
    let mut out = Vec::new();
    for f in &schema.fields {
        if let Some(v) = values.get(&f.name) {
            push_field(&mut out, schema, f, &f.name, v);
        }
    }
    out
}

fn push_field(out: &mut Vec<Line>, schema: &Schema, f: &Field, path: &str, v: &Json) {
    match (&f.kind, v) {
        (Kind::List { item }, Json::Array(items)) if matches!(item.kind, Kind::Object { .. }) => {
            for (i, x) in items.iter().enumerate() {
                push_field(out, schema, item, &format!("{path}[{i}]"), x);
            }
        }
        (Kind::Object { fields }, Json::Object(m)) => {
            let parts: Vec<String> = fields.iter().filter_map(|sub| m.get(&sub.name)).map(plain).filter(|s| !s.is_empty()).collect();
            if !parts.is_empty() {
                out.push(Line { label: field_label(schema, path), text: parts.join(", ") });
            }
        }
        (Kind::Image, Json::Object(m)) => {
            let alt = m.get("alt").and_then(Json::as_str).unwrap_or("");
            let text = if alt.is_empty() { "image jointe".to_string() } else { format!("image jointe, décrite ainsi : « {alt} »") };
            out.push(Line { label: field_label(schema, path), text });
        }
        (Kind::Boolean, Json::Bool(b)) => out.push(Line { label: field_label(schema, path), text: (if *b { "oui" } else { "non" }).into() }),
        _ => {
            let text = plain(v);
            if !text.is_empty() {
                out.push(Line { label: field_label(schema, path), text });
            }
        }
    }
}

fn plain(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::Bool(b) => (if *b { "oui" } else { "non" }).into(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.clone(),
        Json::Array(a) => a.iter().map(plain).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", "),
        Json::Object(o) => o.values().map(plain).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", "),
    }
}

/// The lines as an e-mail shows them: `Label : valeur`, one per line.
pub fn as_text(lines: &[Line]) -> String {
    lines.iter().map(|l| format!("{} : {}\n", l.label, l.text)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_use_the_form_labels_and_leave_out_empty_fields() {
        let config = vitrine_generator::config::Config::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()).unwrap();
        let schema = &config.collection("projects").unwrap().schema;
        let values = serde_json::json!({
            "title": "Nos rivières",
            "countries": ["France", "Italie"],
            "partners": [{"school": "Liceo", "city": "Torino", "country": "Italie"}],
            "cover": {"src": "cover.jpg", "alt": "Une rivière"},
            "city": "",
        });
        let l = lines(schema, values.as_object().unwrap());
        let text = as_text(&l);
        assert!(text.contains("Titre : Nos rivières\n"), "{text}");
        assert!(text.contains("Pays partenaires : France, Italie\n"), "{text}");
        assert!(text.contains("Établissement partenaire 1 : Liceo, Torino, Italie\n"), "{text}");
        assert!(text.contains("Image de couverture : image jointe, décrite ainsi : « Une rivière »\n"), "{text}");
        assert!(!text.contains("Ville"), "{text}");
    }
}
