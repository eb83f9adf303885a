//! Rules of the eTwinning portal that no schema expresses, in one clearly named
//! place: a label request names a project, except the "eTwinning School" label,
//! which names a school; label requests get an answer due date. They apply to
//! any site whose collections have the same shape (see each function), and do
//! nothing elsewhere.

use serde_json::{Map, Value as Json};
use vitrine_generator::schema::{FieldError, Kind, Schema};


/// Label requests: a label is given to a project, except the "eTwinning School"
/// label, given to a school. Applies to any schema with a `kind` choice, a
/// `project` reference and a `school` text (the example site's `labels`).
pub fn label_rule(schema: &Schema, fields: &Map<String, Json>, errs: &mut Vec<FieldError>) {
    let (Some(_), Some(project), Some(_)) = (schema.field("kind"), schema.field("project"), schema.field("school")) else {
        return;
    };
    if !matches!(project.kind, Kind::Reference { .. }) {
        return;
    }
    let Some(kind) = fields.get("kind").and_then(Json::as_str) else { return };
    let school_label = kind.to_lowercase().contains("école") || kind.to_lowercase().contains("ecole");
    if school_label {
        if !fields.contains_key("school") && !errs.iter().any(|e| e.field == "school") {
            errs.push(field_error("school", "indiquez l'établissement pour le label École eTwinning"));
        }
    } else if !fields.contains_key("project") && !errs.iter().any(|e| e.field == "project") {
        errs.push(field_error("project", "choisissez le projet pour lequel le label est demandé"));
    }
}

/// Collection name whose entries are label requests (they have a due date).
pub fn is_label_collection(name: &str) -> bool {
    name == "labels"
}

fn field_error(field: &str, message: &str) -> FieldError {
    FieldError { field: field.into(), pos: Default::default(), message: message.into() }
}
