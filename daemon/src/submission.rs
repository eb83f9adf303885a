//! A submission as the daemon receives it, before storage: the [`Draft`] read
//! from a form or the JSON API, and every check it must pass, one path for new
//! submissions, teachers' revisions and moderators' edits ([`check_draft`]):
//! the collection's schema, no markup in plain text, the Markdown rules of
//! [`crate::markdown`], references to entries that exist, the site's label
//! rules ([`crate::rules`]), and finally the entry written as publishing would
//! write it and read back by the build's own reader, so that nothing accepted
//! here can make the build fail.
//!
//! No HTTP here: handlers turn [`FieldError`]s into pages or JSON.

use std::path::Path;

use serde_json::{Map, Value as Json, json};
use vitrine_generator::config::{Collection, Config};
use vitrine_generator::forms;
use vitrine_generator::schema::{self, FieldError, Kind, Schema};

/// What a form cannot be read as.
#[derive(Debug, thiserror::Error)]
pub enum SubmissionError {
    /// The form has a field the collection's schema does not know (nor the
    /// daemon's own names, [`RESERVED`]).
    #[error("champ inconnu « {0} » dans le formulaire")]
    UnknownField(String),
    /// A file was sent in a field that is not one of the schema's picture
    /// fields (or a list index of 100 or more).
    #[error("fichier envoyé dans un champ inconnu « {0} »")]
    UnknownUpload(String),
    /// The blocking task that cleans a picture panicked or was cancelled.
    #[error("traitement de l'image interrompu")]
    Task(#[from] tokio::task::JoinError),
}

/// An uploaded file: form field name and bytes.
pub struct Upload {
    /// Form field name the file came in (`cover`, `gallery[2]`).
    pub name: String,
    /// The file as sent (checked and re-encoded before anything keeps it).
    pub bytes: Vec<u8>,
}

/// A picture accepted with a submission: its field path (`cover`, `gallery[2]`),
/// its order, the cleaned image.
pub type Picture = (String, usize, crate::images::CleanImage);

/// What to tell someone whose form token was refused (the values they typed are kept).
pub fn token_notice(p: crate::security::TokenProblem) -> &'static str {
    use crate::security::TokenProblem;
    match p {
        TokenProblem::TooFast => "Le formulaire a été envoyé trop vite. Vérifiez-le puis envoyez-le à nouveau.",
        TokenProblem::Expired => "Ce formulaire a expiré. Vos réponses sont conservées : vérifiez-les puis envoyez à nouveau.",
        TokenProblem::Missing | TokenProblem::Invalid => {
            "Le formulaire n'a pas pu être vérifié. Vos réponses sont conservées : vérifiez-les puis envoyez à nouveau."
        }
    }
}

/// The notice when pictures were sent with a form shown again: browsers do not keep files.
pub const PICTURES_AGAIN: &str = "Les images jointes doivent être sélectionnées à nouveau.";

/// Takes the uploaded pictures of a form: each is checked and re-encoded
/// ([`crate::images::clean_image`], on a blocking thread) and its file name
/// put in `values` with the text alternative typed beside it. `lists`: whether
/// pictures of list fields (`gallery[2]`) may be sent (not in a revision,
/// where lists are kept as they are). A bad picture is a field error.
pub async fn attach_pictures(
    limits: &crate::images::ImageLimits,
    collection: &Collection,
    uploads: Vec<Upload>,
    values: &mut Json,
    pairs: &[(String, String)],
    lists: bool,
) -> Result<(Vec<Picture>, Vec<FieldError>), SubmissionError> {
    let mut errors = Vec::new();
    let mut pictures = Vec::new();
    let mut list_rows: std::collections::BTreeMap<String, Vec<(usize, Json)>> = Default::default();
    for up in uploads {
        let Some((field, idx)) = image_target(collection, &up.name) else {
            return Err(SubmissionError::UnknownUpload(up.name.chars().take(80).collect()));
        };
        if idx.is_some() && !lists {
            errors.push(fe(&up.name, "les images d'une liste ne peuvent pas être remplacées ici : elles restent telles quelles"));
            continue;
        }
        let (limits, bytes) = (limits.clone(), up.bytes);
        let cleaned = tokio::task::spawn_blocking(move || crate::images::clean_image(&bytes, &limits)).await?;
        let img = match cleaned {
            Ok(img) => img,
            Err(e) => {
                errors.push(fe(&up.name, e.to_string()));
                continue;
            }
        };
        let path = match idx {
            Some(i) => format!("{field}[{i}]"),
            None => field.clone(),
        };
        let mut m = Map::new();
        m.insert("src".into(), Json::String(crate::publish::image_file_name(&path, img.ext)));
        match idx {
            None => {
                if let Some(alt) = values.get(&field).and_then(|v| v.get("alt")).cloned().filter(|a| !a.is_null()) {
                    m.insert("alt".into(), alt);
                }
                values[&field] = Json::Object(m);
            }
            Some(i) => {
                let alt = take(pairs, &format!("{field}[{i}].alt")).unwrap_or("").to_string();
                if !alt.trim().is_empty() {
                    m.insert("alt".into(), Json::String(alt));
                }
                list_rows.entry(field.clone()).or_default().push((i, Json::Object(m)));
            }
        }
        pictures.push((path, 0usize, img));
    }
    for (field, mut rows) in list_rows {
        rows.sort_by_key(|r| r.0);
        values[&field] = Json::Array(rows.into_iter().map(|r| r.1).collect());
    }
    Ok((pictures, errors))
}

/// Keeps the stored pictures of a revised or edited submission: a picture not
/// replaced (`replaced` lists the fields that got a new file) keeps its file
/// with the text alternative as typed now; when the form sent none, the stored
/// one stays if `keep_alt` (a moderator's edit), else the picture has none (a
/// teacher's revision, where the field was emptied). Lists of pictures stay as
/// they were.
pub fn keep_stored_pictures(collection: &Collection, values: &mut Json, stored: &Map<String, Json>, replaced: &[String], keep_alt: bool) {
    for (field, is_list) in crate::publish::image_fields(collection) {
        if replaced.contains(&field) {
            continue;
        }
        let Some(old) = stored.get(&field) else { continue };
        if is_list {
            values[&field] = old.clone();
            continue;
        }
        let mut kept = old.clone();
        if let Some(o) = kept.as_object_mut() {
            match values.get(&field).and_then(|v| v.get("alt")).cloned() {
                Some(alt) => o.insert("alt".into(), alt),
                None if keep_alt => None,
                None => o.remove("alt"),
            };
        }
        values[&field] = kept;
    }
}

/// A submission as received, before storage.
pub struct Draft {
    /// The schema's fields as a JSON object, as read from the form or the API.
    pub fields: Json,
    /// The Markdown text (`vt_body` of a form, whose `\r\n` become `\n`; `body` in the API).
    pub body: String,
    /// The submitter's name as typed (empty in a moderator's edit, where it is
    /// not checked).
    pub name: String,
    /// The submitter's e-mail address as typed (empty in a moderator's edit).
    pub email: String,
}

/// A draft that passed every check: its fields as validated (what is stored and published).
pub struct Checked {
    /// The schema's fields as validated (values normalised by the schema).
    pub fields: Map<String, Json>,
}

/// The collection `name`, if it accepts submissions (it has a `submit` section).
pub fn submittable<'a>(config: &'a Config, name: &str) -> Option<&'a Collection> {
    config.collection(name).filter(|c| c.submit.is_some())
}

/// A field error on `field` (a form path such as `vt_name` or `cover.alt`)
/// with a French message and no source position.
pub fn fe(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), pos: Default::default(), message: message.into() }
}

/// Whether an entry `slug` exists in collection `target` (file or bundle).
pub fn entry_exists(config: &Config, target: &str, slug: &str) -> bool {
    let Some(c) = config.collection(target) else { return false };
    if !schema::is_slug(slug) {
        return false;
    }
    let dir = config.content_dir().join(&c.dir);
    dir.join(format!("{slug}.md")).is_file() || dir.join(slug).join("index.md").is_file()
}

/// Existing entries of a collection as (slug, title), for reference menus.
pub fn list_entries(config: &Config, target: &str) -> Vec<(String, String)> {
    let Some(c) = config.collection(target) else { return Vec::new() };
    let dir = config.content_dir().join(&c.dir);
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        let (slug, file) = if p.is_dir() {
            (name.clone(), p.join("index.md"))
        } else if let Some(stem) = name.strip_suffix(".md") {
            (stem.to_string(), p.clone())
        } else {
            continue;
        };
        if slug.starts_with('_') || slug.starts_with('.') || !schema::is_slug(&slug) {
            continue;
        }
        if let Some(title) = read_title(&file) {
            out.push((slug, title));
        }
    }
    vitrine_generator::locale::sort_by_collation(&config.language, &mut out, |(_, t)| t.as_str());
    out
}

fn read_title(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let fm = text.strip_prefix("---")?;
    for line in fm.lines().take(200) {
        if line.trim() == "---" {
            break;
        }
        if let Some(v) = line.strip_prefix("title:") {
            let v = v.trim();
            if v.starts_with('"') {
                return serde_json::from_str::<String>(v).ok();
            }
            return Some(v.trim_matches('\'').to_string());
        }
    }
    None
}

/// Validates a draft against the collection's schema and the daemon's own rules.
pub fn check_draft(
    config: &Config,
    collection: &Collection,
    draft: &Draft,
    check_submitter: bool,
) -> Result<Checked, Vec<FieldError>> {
    // The public sends what the public form asks: not the moderator's fields.
    let public_schema;
    let schema = if check_submitter {
        public_schema = collection.schema.for_submitters();
        &public_schema
    } else {
        &collection.schema
    };
    let (fields, schema_errors) = schema.validate_node(&vitrine_generator::node::Node::from_json(&draft.fields), &[]);
    let mut errors = {
        {
            let mut errs = schema_errors;
            for f in &collection.schema.fields {
                match (&f.kind, fields.get(&f.name)) {
                    (Kind::Markdown, Some(Json::String(s))) => {
                        for p in crate::markdown::check_untrusted(s, config) {
                            errs.push(fe(&f.name, p));
                        }
                    }
                    (Kind::Reference { collection: target }, Some(Json::String(slug)))
                        if !entry_exists(config, target, slug) => {
                            errs.push(fe(&f.name, format!("aucune entrée « {slug} » n'existe dans {target}")));
                        }
                    _ => {}
                }
            }
            collect_markup(&collection.schema.fields, &fields, "", &mut errs);
            crate::rules::label_rule(&collection.schema, &fields, &mut errs);
            if errs.is_empty() {
                return finish(config, collection, draft, check_submitter, fields);
            }
            errs
        }
    };
    for e in &mut errors {
        if e.field.ends_with(".src") {
            e.message = "choisissez un fichier image (JPEG, PNG, GIF ou WebP)".into();
        }
    }
    errors.extend(check_extras(draft, check_submitter, config));
    Err(errors)
}

/// Whether a plain-text value contains something that looks like an HTML tag.
pub fn has_markup(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?')))
}

/// Plain-text fields never need tags: refuse them so that nothing looking like
/// markup is stored (templates escape text anyway; this is the second wall).
fn collect_markup(fields: &[vitrine_generator::schema::Field], values: &Map<String, Json>, prefix: &str, errs: &mut Vec<FieldError>) {
    for f in fields {
        let Some(v) = values.get(&f.name) else { continue };
        let path = if prefix.is_empty() { f.name.clone() } else { format!("{prefix}.{}", f.name) };
        check_markup_value(&f.kind, v, &path, errs);
    }
}

fn check_markup_value(kind: &Kind, v: &Json, path: &str, errs: &mut Vec<FieldError>) {
    match (kind, v) {
        (Kind::Markdown, _) => {}
        (Kind::Object { fields }, Json::Object(m)) => collect_markup(fields, m, path, errs),
        (Kind::List { item }, Json::Array(a)) => {
            for (i, x) in a.iter().enumerate() {
                check_markup_value(&item.kind, x, &format!("{path}[{i}]"), errs);
            }
        }
        (Kind::Image, Json::Object(m)) => {
            if let Some(Json::String(alt)) = m.get("alt")
                && has_markup(alt) {
                    errs.push(fe(&format!("{path}.alt"), "les balises HTML (<…>) ne sont pas acceptées"));
                }
        }
        (_, Json::String(s)) if has_markup(s) => errs.push(fe(path, "les balises HTML (<…>) ne sont pas acceptées")),
        _ => {}
    }
}

fn finish(config: &Config, collection: &Collection, draft: &Draft, check_submitter: bool, fields: Map<String, Json>) -> Result<Checked, Vec<FieldError>> {
    let extra = check_extras(draft, check_submitter, config);
    if !extra.is_empty() {
        return Err(extra);
    }
    let mut file_errors = file_check(config, collection, draft, &fields);
    if check_submitter {
        // What only a moderator fills in is missing until then.
        file_errors.retain(|e| !collection.schema.field(e.field.split(['.', '[']).next().unwrap_or("")).is_some_and(|f| f.moderator_only));
    }
    if file_errors.is_empty() { Ok(Checked { fields }) } else { Err(file_errors) }
}

/// The entry written as publishing would write it, read back by the build's own
/// reader: whatever it refuses is refused now, on the field of the line it names.
fn file_check(config: &Config, collection: &Collection, draft: &Draft, fields: &Map<String, Json>) -> Vec<FieldError> {
    let payload = crate::payload::Payload::new(fields.clone(), &draft.body);
    let text = crate::publish::render_entry(collection, &payload, "2000-01-01");
    let rel = format!("{}/verification/index.md", collection.dir);
    let lines: Vec<&str> = text.lines().collect();
    let body_from = lines.iter().skip(1).position(|l| *l == "---").map_or(usize::MAX, |i| i + 2);
    vitrine_generator::model::check_entry(config, &rel, &text)
        .into_iter()
        .map(|d| {
            let line = d.pos.line as usize;
            let field = if !d.field.is_empty() {
                d.field.clone()
            } else if line > body_from {
                "vt_body".to_string()
            } else {
                lines.get(line.saturating_sub(1)).and_then(|l| l.split_once(':')).map(|(k, _)| k.to_string()).unwrap_or_else(|| "vt_body".into())
            };
            fe(&field, d.message)
        })
        .collect()
}

fn check_extras(draft: &Draft, check_submitter: bool, config: &Config) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if draft.body.chars().count() > 20_000 {
        errors.push(fe("vt_body", "texte trop long (20 000 caractères au plus)"));
    }
    for p in crate::markdown::check_untrusted(&draft.body, config) {
        errors.push(fe("vt_body", p));
    }
    if check_submitter {
        let name = draft.name.trim();
        if name.is_empty() {
            errors.push(fe("vt_name", "indiquez votre nom"));
        } else if name.chars().count() > 200 || name.chars().any(char::is_control) || has_markup(name) {
            errors.push(fe("vt_name", "nom trop long ou invalide"));
        }
        if draft.email.trim().is_empty() {
            errors.push(fe("vt_email", "indiquez votre adresse électronique"));
        } else if !schema::is_email(draft.email.trim()) {
            errors.push(fe("vt_email", format!("adresse électronique invalide « {} »", draft.email.trim())));
        }
    }
    errors
}

/// Human label of a field path, for error summaries: the form's own labels
/// ([`forms::field_label`]).
pub fn label_for(schema: &Schema, path: &str) -> String {
    forms::field_label(schema, path)
}

/// The error summary at the top of a form shown again: for each error, the
/// id of its form control (the link target), the field's label and the message.
pub fn error_summary(schema: &Schema, errors: &[FieldError]) -> Vec<Json> {
    errors
        .iter()
        .map(|e| {
            let target = e.field.strip_suffix(".src").unwrap_or(&e.field);
            json!({ "id": forms::control_id(target), "label": label_for(schema, &e.field), "message": e.message })
        })
        .collect()
}

/// Form names that are not schema fields: the token, the submitter, the text,
/// the honeypot, the "more rows" button, the moderators' CSRF token.
pub const RESERVED: &[&str] = &["vt_token", "vt_name", "vt_email", "vt_body", "vt_fax", "vt_more", "csrf"];

/// The first value of the form field `name` among a form's name/value pairs.
pub fn take<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// Reads a submission form (new or revised): the schema's fields as values, the
/// text, the submitter's name and e-mail. A field the schema does not know is refused.
/// Public for fuzzing (`fuzz/fuzz_targets/form.rs`).
#[doc(hidden)]
pub fn draft_from_form(collection: &Collection, pairs: &[(String, String)]) -> Result<Draft, SubmissionError> {
    let schema_pairs: Vec<(String, String)> = pairs.iter().filter(|(n, _)| !RESERVED.contains(&n.as_str())).cloned().collect();
    let (fields, unknown) = forms::form_to_json(&collection.schema, &schema_pairs);
    if let Some(u) = unknown.first() {
        return Err(SubmissionError::UnknownField(u.chars().take(80).collect()));
    }
    Ok(Draft {
        fields,
        body: take(pairs, "vt_body").unwrap_or("").replace("\r\n", "\n"),
        name: take(pairs, "vt_name").unwrap_or("").to_string(),
        email: take(pairs, "vt_email").unwrap_or("").to_string(),
    })
}

/// `fields` plus the text, name and e-mail under their form names: what a form
/// shown again displays.
pub fn form_values(fields: &Json, body: &str, name: &str, email: &str) -> Json {
    let mut shown = fields.clone();
    if let Some(obj) = shown.as_object_mut() {
        obj.insert("vt_name".into(), Json::String(name.to_string()));
        obj.insert("vt_email".into(), Json::String(email.to_string()));
        obj.insert("vt_body".into(), Json::String(body.to_string()));
    }
    shown
}

/// Which picture field an upload name designates: `cover` or `gallery[2]`.
pub fn image_target(collection: &Collection, name: &str) -> Option<(String, Option<usize>)> {
    for (field, is_list) in crate::publish::image_fields(collection) {
        if !is_list && name == field {
            return Some((field, None));
        }
        if is_list
            && let Some(idx) = name.strip_prefix(&format!("{field}[")).and_then(|r| r.strip_suffix(']'))
                && let Ok(i) = idx.parse::<usize>()
                    && i < 100 {
                        return Some((field, Some(i)));
                    }
    }
    None
}

