//! Collection schemas: the single source of truth for what an entry may contain.
//!
//! A schema is written in `vitrine.yaml` (see `RawField`), compiled once into a
//! `Schema` (regexes built, `values_from` lists read from `data/`), and then used
//! for three things: validating front matter at build time (with positions),
//! generating the submission forms, and validating what the daemon receives.
//!
//! Validation never stops at the first problem: it returns the normalised value
//! *and* every `FieldError`, so a correspondent sees all mistakes at once.
//! This module does not know about other entries: whether a reference points at
//! an existing entry is checked by `model`.
//!
//! It also holds the walk of an entry's values with their fields
//! ([`visit_values`], paths in the syntax of `field_path`) and the one rule for
//! which taxonomy a field feeds ([`Field::feeds_taxonomy`]).

use std::collections::BTreeMap;

use indexmap::IndexMap;
use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::field_path;
use crate::node::{Node, Pos, Value};

/// A field as written in the config file, before compilation.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawField {
    /// `type`: the field's kind (`string`, `list`, `reference`…).
    #[serde(rename = "type")]
    pub kind: String,
    /// `label`: its name in forms (the key's when absent).
    pub label: Option<String>,
    /// `help`: a hint under the form control.
    pub help: Option<String>,
    /// `required`.
    #[serde(default)]
    pub required: bool,
    /// `min`: length, count or value.
    pub min: Option<i64>,
    /// `max`: length, count or value.
    pub max: Option<i64>,
    /// `pattern`: a regular expression a `string` must match.
    pub pattern: Option<String>,
    /// `values`: the choices of an `enum`.
    pub values: Option<Vec<String>>,
    /// `values_from`: a `data/` list of strings giving the choices.
    pub values_from: Option<String>,
    /// `item`: the field of a list's items.
    pub item: Option<Box<RawField>>,
    /// `fields`: the fields of an `object`.
    pub fields: Option<IndexMap<String, RawField>>,
    /// `collection`: what a `reference` points into.
    pub collection: Option<String>,
    /// `taxonomy`: the taxonomy the values are terms of.
    pub taxonomy: Option<String>,
    /// `sorted`: the choices of an `enum` are shown in the alphabetical order
    /// of the site's language (its collation), not in the order of the list.
    #[serde(default)]
    pub sorted: bool,
    /// `moderator_only`: not asked on the public forms (what a jury decides,
    /// say); the moderator fills it in before approving.
    #[serde(default)]
    pub moderator_only: bool,
    /// `derive`: a list computed from a list of objects on forms, instead of
    /// being asked a second time (`{ from: partners.country, add: [France] }`).
    pub derive: Option<RawDerive>,
}

/// `derive` of a field, as written in the config file.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDerive {
    /// `from`: `list.field`, the sibling list of objects and the member read.
    pub from: String,
    /// `add`: values always present, before the derived ones.
    #[serde(default)]
    pub add: Vec<String>,
}

/// A list whose value a form computes from a sibling list of objects (each
/// distinct value of one member, in order), after the `add` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derive {
    /// The sibling list of objects (`partners`).
    pub list: String,
    /// The member read in each of its items (`country`).
    pub member: String,
    /// Values always present, first.
    pub add: Vec<String>,
}

/// The compiled schema of one collection.
#[derive(Debug, Clone)]
pub struct Schema {
    /// `title` first, then the configured fields in file order.
    pub fields: Vec<Field>,
}

/// A compiled field of a schema.
#[derive(Debug, Clone)]
pub struct Field {
    /// Its key in the front matter.
    pub name: String,
    /// Its name in forms.
    pub label: String,
    /// A hint under the form control.
    pub help: Option<String>,
    /// Whether it must have a value.
    pub required: bool,
    /// Length for texts, count for lists, value for integers.
    pub min: Option<i64>,
    /// Upper bound, like `min`.
    pub max: Option<i64>,
    /// What its values are.
    pub kind: Kind,
    /// Name of the taxonomy whose terms this field's values are.
    pub taxonomy: Option<String>,
    /// Choices shown in the collation order of the site's language.
    pub sorted: bool,
    /// Left out of the public forms; filled in by a moderator.
    pub moderator_only: bool,
    /// Computed on forms from a sibling list instead of being asked.
    pub derive: Option<Derive>,
}

/// What a field's values are, checked by validation.
#[derive(Debug, Clone)]
pub enum Kind {
    /// One line of plain text.
    String {
        /// A regular expression the whole text must match.
        pattern: Option<Regex>,
    },
    /// Several lines of plain text.
    Text,
    /// Markdown, rendered (and, for submissions, sanitised) before display.
    Markdown,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DDTHH:MM`.
    Datetime,
    /// An http(s) address.
    Url,
    /// An e-mail address.
    Email,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// One of a list of texts.
    Enum {
        /// The choices.
        values: Vec<String>,
    },
    /// A mapping of named fields.
    Object {
        /// Its fields.
        fields: Vec<Field>,
    },
    /// A list of values of one field.
    List {
        /// The field of each item.
        item: Box<Field>,
    },
    /// The slug of an entry of another collection.
    Reference {
        /// The collection the slug is looked up in.
        collection: String,
    },
    /// `{src, alt}`: a file beside the entry (or an absolute path) and its text alternative.
    Image,
}

impl Kind {
    /// The kind's name as written in `vitrine.yaml`.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::String { .. } => "string",
            Kind::Text => "text",
            Kind::Markdown => "markdown",
            Kind::Date => "date",
            Kind::Datetime => "datetime",
            Kind::Url => "url",
            Kind::Email => "email",
            Kind::Integer => "integer",
            Kind::Boolean => "boolean",
            Kind::Enum { .. } => "enum",
            Kind::Object { .. } => "object",
            Kind::List { .. } => "list",
            Kind::Reference { .. } => "reference",
            Kind::Image => "image",
        }
    }
}

/// A problem with one field of one entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// `title`, `partners[1].country`, `cover.alt`…
    pub field: String,
    /// Where the value is in its file (`0:0` for forms).
    #[serde(skip)]
    pub pos: Pos,
    /// What is wrong, in French.
    pub message: String,
}

/// Lists of strings from `data/*.yaml`, by file stem, for `values_from`.
pub type DataLists = BTreeMap<String, Vec<String>>;

/// Compiles one field; problems are pushed as `(config path, message)`.
pub fn compile_field(
    name: &str,
    raw: &RawField,
    path: &str,
    data: &DataLists,
    errors: &mut Vec<(String, String)>,
) -> Field {
    let mut err = |sub: &str, msg: String| errors.push((format!("{path}{sub}"), msg));
    let kind = match raw.kind.as_str() {
        "string" => {
            let pattern = raw.pattern.as_deref().and_then(|p| match Regex::new(p) {
                Ok(r) => Some(r),
                Err(e) => {
                    err(".pattern", format!("expression régulière invalide : {e}"));
                    None
                }
            });
            Kind::String { pattern }
        }
        "text" => Kind::Text,
        "markdown" => Kind::Markdown,
        "date" => Kind::Date,
        "datetime" => Kind::Datetime,
        "url" => Kind::Url,
        "email" => Kind::Email,
        "integer" => Kind::Integer,
        "boolean" => Kind::Boolean,
        "image" => Kind::Image,
        "enum" => {
            let values = match (&raw.values, &raw.values_from) {
                (Some(v), None) if !v.is_empty() => v.clone(),
                (None, Some(from)) => match data.get(from) {
                    Some(v) if !v.is_empty() => v.clone(),
                    _ => {
                        err(".values_from", format!("aucune liste de textes dans data/{from}.yaml"));
                        Vec::new()
                    }
                },
                _ => {
                    err("", "un enum demande soit `values` (non vide), soit `values_from`".into());
                    Vec::new()
                }
            };
            Kind::Enum { values }
        }
        "object" => match &raw.fields {
            Some(fields) if !fields.is_empty() => Kind::Object {
                fields: fields
                    .iter()
                    .map(|(n, f)| compile_field(n, f, &format!("{path}.fields.{n}"), data, errors))
                    .collect(),
            },
            _ => {
                errors.push((path.to_string(), "un objet demande `fields`".into()));
                Kind::Object { fields: Vec::new() }
            }
        },
        "list" => match &raw.item {
            Some(item) => {
                let f = compile_field(name, item, &format!("{path}.item"), data, errors);
                if matches!(f.kind, Kind::List { .. }) {
                    errors.push((format!("{path}.item"), "une liste de listes n'est pas prise en charge".into()));
                }
                Kind::List { item: Box::new(f) }
            }
            None => {
                errors.push((path.to_string(), "une liste demande `item`".into()));
                Kind::List { item: Box::new(plain_string(name)) }
            }
        },
        "reference" => match &raw.collection {
            Some(c) => Kind::Reference { collection: c.clone() },
            None => {
                errors.push((path.to_string(), "une référence demande `collection`".into()));
                Kind::Reference { collection: String::new() }
            }
        },
        other => {
            errors.push((
                format!("{path}.type"),
                format!(
                    "type « {other} » inconnu (string, text, markdown, date, datetime, url, email, \
                     integer, boolean, enum, object, list, reference, image)"
                ),
            ));
            Kind::Text
        }
    };
    if raw.pattern.is_some() && !matches!(kind, Kind::String { .. }) {
        errors.push((format!("{path}.pattern"), "`pattern` ne s'applique qu'au type string".into()));
    }
    let derive = raw.derive.as_ref().and_then(|d| match d.from.split_once('.') {
        Some((list, member)) if !list.is_empty() && !member.is_empty() && !member.contains('.') && matches!(kind, Kind::List { .. }) => {
            Some(Derive { list: list.to_string(), member: member.to_string(), add: d.add.clone() })
        }
        _ => {
            errors.push((
                format!("{path}.derive.from"),
                "`derive` s'applique à une liste et s'écrit `from: liste.champ` (par exemple `partners.country`)".into(),
            ));
            None
        }
    });
    Field {
        name: name.to_string(),
        label: raw.label.clone().unwrap_or_else(|| name.to_string()),
        help: raw.help.clone(),
        required: raw.required,
        min: raw.min,
        max: raw.max,
        kind,
        taxonomy: raw.taxonomy.clone(),
        sorted: raw.sorted,
        moderator_only: raw.moderator_only,
        derive,
    }
}

fn plain_string(name: &str) -> Field {
    Field {
        name: name.into(),
        label: name.into(),
        help: None,
        required: false,
        min: None,
        max: None,
        kind: Kind::String { pattern: None },
        taxonomy: None,
        sorted: false,
        moderator_only: false,
        derive: None,
    }
}

/// The `title` every entry has.
pub fn title_field(label: &str) -> Field {
    Field { required: true, min: Some(1), max: Some(200), label: label.into(), ..plain_string("title") }
}

impl Field {
    /// The taxonomy this field's values are terms of: its own `taxonomy`, or its
    /// list items' (`countries: {type: list, item: {taxonomy: countries}}`). The
    /// one rule for which taxonomy a field feeds (model terms, cards, site globals).
    pub fn feeds_taxonomy(&self) -> Option<&str> {
        self.taxonomy.as_deref().or(match &self.kind {
            Kind::List { item } => item.taxonomy.as_deref(),
            _ => None,
        })
    }
}

/// Visits every value of `values` that `fields` describe, depth first (a list or
/// an object before its items), with its field and its dotted path
/// (`partners[1].logo`, [`crate::field_path`]). Values without a field are skipped.
pub fn visit_values<'a>(fields: &'a [Field], values: &'a Map<String, Json>, f: &mut dyn FnMut(&'a Field, String, &'a Json)) {
    for field in fields {
        if let Some(v) = values.get(&field.name) {
            visit_value(field, field.name.clone(), v, f);
        }
    }
}

fn visit_value<'a>(field: &'a Field, path: String, v: &'a Json, f: &mut dyn FnMut(&'a Field, String, &'a Json)) {
    f(field, path.clone(), v);
    match (&field.kind, v) {
        (Kind::List { item }, Json::Array(items)) => {
            for (i, x) in items.iter().enumerate() {
                visit_value(item, field_path::item(&path, i), x, f);
            }
        }
        (Kind::Object { fields }, Json::Object(m)) => {
            for sub in fields {
                if let Some(x) = m.get(&sub.name) {
                    visit_value(sub, field_path::member(&path, &sub.name), x, f);
                }
            }
        }
        _ => {}
    }
}

/// Keys every entry file may carry besides its schema (not part of forms).
pub const FILE_ONLY_KEYS: &[&str] = &["date", "draft"];

impl Schema {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The schema of what the public may send: without the `moderator_only`
    /// fields (a value for one is then an unknown field).
    pub fn for_submitters(&self) -> Schema {
        Schema { fields: self.fields.iter().filter(|f| !f.moderator_only).cloned().collect() }
    }

    /// Checks that every `derive` names a sibling list of objects with that
    /// member: `(field name, message)` for each that does not.
    pub fn derive_problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for f in &self.fields {
            let Some(d) = &f.derive else { continue };
            let ok = self.field(&d.list).is_some_and(|l| match &l.kind {
                Kind::List { item } => matches!(&item.kind, Kind::Object { fields } if fields.iter().any(|m| m.name == d.member)),
                _ => false,
            });
            if !ok {
                out.push((f.name.clone(), format!("`derive.from` : aucune liste d'objets « {} » avec un champ « {} »", d.list, d.member)));
            }
        }
        out
    }

    /// Fills every derived list of `values` from its source list (see [`Derive`]).
    pub fn apply_derived(&self, values: &mut Map<String, Json>) {
        for f in &self.fields {
            let Some(d) = &f.derive else { continue };
            let mut out: Vec<String> = d.add.clone();
            if let Some(Json::Array(items)) = values.get(&d.list) {
                for it in items {
                    if let Some(Json::String(v)) = it.get(&d.member)
                        && !v.is_empty()
                        && !out.contains(v)
                    {
                        out.push(v.clone());
                    }
                }
            }
            if out.is_empty() {
                values.remove(&f.name);
            } else {
                values.insert(f.name.clone(), Json::Array(out.into_iter().map(Json::String).collect()));
            }
        }
    }

    /// Validates a mapping against the schema. Returns the normalised values
    /// (only keys that are present and valid) and every problem found.
    /// `extra_keys` are accepted without validation and left to the caller.
    pub fn validate_node(&self, node: &Node, extra_keys: &[&str]) -> (Map<String, Json>, Vec<FieldError>) {
        let mut errors = Vec::new();
        let out = validate_map(&self.fields, node, "", extra_keys, &mut errors);
        (out, errors)
    }

    /// Validates what a form or the JSON API sent (no file-only keys allowed).
    pub fn validate_json(&self, value: &Json) -> Result<Map<String, Json>, Vec<FieldError>> {
        let (out, errors) = self.validate_node(&Node::from_json(value), &[]);
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }
}

fn validate_map(fields: &[Field], node: &Node, prefix: &str, extra: &[&str], errors: &mut Vec<FieldError>) -> Map<String, Json> {
    let mut out = Map::new();
    let entries: &[(crate::node::Key, Node)] = match &node.value {
        Value::Map(m) => m,
        Value::Null => &[],
        other => {
            errors.push(FieldError {
                field: prefix.to_string(),
                pos: node.pos,
                message: format!("attendu un dictionnaire de champs, trouvé {}", other.kind_name()),
            });
            return out;
        }
    };
    for (key, _) in entries {
        if extra.contains(&key.name.as_str()) {
            continue;
        }
        if !fields.iter().any(|f| f.name == key.name) {
            let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).chain(extra.iter().copied()).collect();
            let hint = closest(&key.name, &known).map(|s| format!(" ; vouliez-vous dire « {s} » ?")).unwrap_or_default();
            errors.push(FieldError {
                field: field_path::member(prefix, &key.name),
                pos: key.pos,
                message: format!("champ inconnu{hint} (champs possibles : {})", known.join(", ")),
            });
        }
    }
    for field in fields {
        let path = field_path::member(prefix, &field.name);
        let found = entries.iter().find(|(k, _)| k.name == field.name);
        match found {
            Some((_, v)) if !is_empty(v) => {
                if let Some(j) = validate_value(field, v, &path, errors) {
                    out.insert(field.name.clone(), j);
                }
            }
            Some((k, _)) if field.required => errors.push(FieldError {
                field: path,
                pos: k.pos,
                message: "champ obligatoire laissé vide".into(),
            }),
            None if field.required => errors.push(FieldError {
                field: path,
                pos: node.pos,
                message: "champ obligatoire manquant".into(),
            }),
            _ => {}
        }
    }
    out
}

fn is_empty(n: &Node) -> bool {
    match &n.value {
        Value::Null => true,
        Value::Str(s) => s.trim().is_empty(),
        Value::Seq(s) => s.is_empty(),
        _ => false,
    }
}

fn err(errors: &mut Vec<FieldError>, path: &str, pos: Pos, message: String) -> Option<Json> {
    errors.push(FieldError { field: path.to_string(), pos, message });
    None
}

/// Whether YAML (and so a content file) can hold `c` as written: the YAML 1.2
/// printable set (tab, line breaks, visible characters; no C0/C1 control but
/// NEL, no DEL, no non-character U+FFFE/U+FFFF).
pub fn yaml_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character of `s` a content file cannot hold, as a field message.
pub fn unprintable(s: &str) -> Option<String> {
    s.chars().find(|c| !yaml_printable(*c)).map(|c| {
        format!("caractère invisible ou interdit U+{:04X} : supprimez-le (souvent collé depuis un autre logiciel)", c as u32)
    })
}

fn check_len(field: &Field, s: &str, path: &str, pos: Pos, errors: &mut Vec<FieldError>) -> bool {
    if let Some(m) = unprintable(s) {
        err(errors, path, pos, m);
        return false;
    }
    let n = s.chars().count() as i64;
    if let Some(min) = field.min.filter(|m| n < *m) {
        err(errors, path, pos, format!("trop court : {n} caractères, au moins {min} attendus"));
        return false;
    }
    if let Some(max) = field.max.filter(|m| n > *m) {
        err(errors, path, pos, format!("trop long : {n} caractères, au plus {max} permis"));
        return false;
    }
    true
}

/// A scalar as text: strings as they are, numbers written out (a title may be `1984`).
fn scalar_text(n: &Node) -> Option<String> {
    match &n.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
    }
}

fn validate_value(field: &Field, node: &Node, path: &str, errors: &mut Vec<FieldError>) -> Option<Json> {
    let pos = node.pos;
    let expected = |errors: &mut Vec<FieldError>, what: &str| {
        err(errors, path, pos, format!("attendu {what}, trouvé {}", node.value.kind_name()))
    };
    match &field.kind {
        Kind::String { pattern } => {
            let Some(s) = scalar_text(node) else { return expected(errors, "un texte") };
            let s = s.trim().to_string();
            if s.contains('\n') {
                return err(errors, path, pos, "une seule ligne attendue".into());
            }
            if !check_len(field, &s, path, pos, errors) {
                return None;
            }
            if let Some(re) = pattern
                && !re.is_match(&s)
            {
                let hint = field.help.as_deref().map(|h| format!(" ({h})")).unwrap_or_default();
                return err(errors, path, pos, format!("« {s} » n'a pas la forme attendue{hint}"));
            }
            Some(Json::String(s))
        }
        Kind::Text | Kind::Markdown => {
            let Some(s) = scalar_text(node) else { return expected(errors, "un texte") };
            let s = s.trim().replace("\r\n", "\n");
            check_len(field, &s, path, pos, errors).then_some(Json::String(s))
        }
        Kind::Date => {
            let Some(s) = scalar_text(node) else { return expected(errors, "une date AAAA-MM-JJ") };
            match parse_date(s.trim()) {
                Some(d) => Some(Json::String(d.to_string())),
                None => err(errors, path, pos, format!("date invalide « {s} » : attendu AAAA-MM-JJ, par exemple 2027-03-14")),
            }
        }
        Kind::Datetime => {
            let Some(s) = scalar_text(node) else { return expected(errors, "une date et heure") };
            match parse_datetime(s.trim()) {
                Some(d) => Some(Json::String(d.strftime("%Y-%m-%dT%H:%M").to_string())),
                None => err(
                    errors,
                    path,
                    pos,
                    format!("date et heure invalides « {s} » : attendu AAAA-MM-JJTHH:MM, par exemple 2027-03-14T14:30"),
                ),
            }
        }
        Kind::Url => {
            let Some(s) = scalar_text(node) else { return expected(errors, "une adresse web") };
            let s = s.trim();
            if is_http_url(s) {
                Some(Json::String(s.to_string()))
            } else {
                err(errors, path, pos, format!("adresse web invalide « {s} » : elle doit commencer par https:// ou http://"))
            }
        }
        Kind::Email => {
            let Some(s) = scalar_text(node) else { return expected(errors, "une adresse électronique") };
            let s = s.trim();
            if is_email(s) {
                Some(Json::String(s.to_string()))
            } else {
                err(errors, path, pos, format!("adresse électronique invalide « {s} »"))
            }
        }
        Kind::Integer => {
            let i = match &node.value {
                Value::Int(i) => *i,
                Value::Str(s) => match s.trim().parse::<i64>() {
                    Ok(i) => i,
                    Err(_) => return err(errors, path, pos, format!("nombre entier attendu, trouvé « {s} »")),
                },
                _ => return expected(errors, "un nombre entier"),
            };
            if let Some(min) = field.min.filter(|m| i < *m) {
                return err(errors, path, pos, format!("{i} est trop petit (minimum {min})"));
            }
            if let Some(max) = field.max.filter(|m| i > *m) {
                return err(errors, path, pos, format!("{i} est trop grand (maximum {max})"));
            }
            Some(Json::from(i))
        }
        Kind::Boolean => match &node.value {
            Value::Bool(b) => Some(Json::Bool(*b)),
            // What an HTML checkbox sends.
            Value::Str(s) if matches!(s.as_str(), "on" | "true" | "oui") => Some(Json::Bool(true)),
            Value::Str(s) if matches!(s.as_str(), "off" | "false" | "non") => Some(Json::Bool(false)),
            _ => expected(errors, "true ou false"),
        },
        Kind::Enum { values } => {
            let Some(s) = scalar_text(node) else { return expected(errors, "une des valeurs permises") };
            let s = s.trim();
            if values.iter().any(|v| v == s) {
                Some(Json::String(s.to_string()))
            } else {
                let hint = closest(s, &values.iter().map(String::as_str).collect::<Vec<_>>())
                    .map(|c| format!(" ; vouliez-vous dire « {c} » ?"))
                    .unwrap_or_default();
                let list = if values.len() <= 8 { format!(" (valeurs permises : {})", values.join(", ")) } else { String::new() };
                err(errors, path, pos, format!("valeur « {s} » non permise{hint}{list}"))
            }
        }
        Kind::Reference { .. } => {
            let Some(s) = scalar_text(node) else { return expected(errors, "l'identifiant d'une entrée") };
            let s = s.trim();
            if is_slug(s) {
                Some(Json::String(s.to_string()))
            } else {
                err(errors, path, pos, format!("identifiant invalide « {s} » : lettres minuscules, chiffres et tirets"))
            }
        }
        Kind::Image => {
            let fields = image_fields();
            let before = errors.len();
            let m = validate_map(&fields, node, path, &[], errors);
            if errors.len() > before {
                return None;
            }
            let src = m.get("src").and_then(Json::as_str).unwrap_or("");
            if src.contains("..") || src.contains('\\') || src.contains("://") {
                return err(errors, &format!("{path}.src"), pos, format!("chemin d'image invalide « {src} »"));
            }
            Some(Json::Object(m))
        }
        Kind::Object { fields } => {
            let before = errors.len();
            let m = validate_map(fields, node, path, &[], errors);
            (errors.len() == before).then_some(Json::Object(m))
        }
        Kind::List { item } => {
            let items: Vec<&Node> = match &node.value {
                Value::Seq(s) => s.iter().collect(),
                // A single scalar where a list is expected is a common slip in front
                // matter (and what a one-option form sends): accept it as a list of one.
                Value::Str(_) | Value::Int(_) => vec![node],
                _ => return expected(errors, "une liste"),
            };
            let n = items.len() as i64;
            if let Some(min) = field.min.filter(|m| n < *m) {
                return err(errors, path, pos, format!("{n} élément(s), au moins {min} attendu(s)"));
            }
            if let Some(max) = field.max.filter(|m| n > *m) {
                return err(errors, path, pos, format!("{n} éléments, au plus {max} permis"));
            }
            let mut out = Vec::with_capacity(items.len());
            let mut seen = Vec::new();
            for (i, it) in items.iter().enumerate() {
                let p = field_path::item(path, i);
                if is_empty(it) {
                    err(errors, &p, it.pos, "élément vide".into());
                    continue;
                }
                if let Some(v) = validate_value(item, it, &p, errors) {
                    if v.is_string() && seen.contains(&v) {
                        err(errors, &p, it.pos, format!("{v} figure deux fois"));
                        continue;
                    }
                    seen.push(v.clone());
                    out.push(v);
                }
            }
            Some(Json::Array(out))
        }
    }
}

fn image_fields() -> Vec<Field> {
    vec![
        Field { required: true, max: Some(300), ..plain_string("src") },
        Field {
            required: true,
            min: Some(3),
            max: Some(300),
            help: Some("texte alternatif décrivant l'image".into()),
            ..plain_string("alt")
        },
    ]
}

/// A `YYYY-MM-DD` date (exactly ten characters).
pub fn parse_date(s: &str) -> Option<jiff::civil::Date> {
    if s.len() != 10 {
        return None;
    }
    s.parse::<jiff::civil::Date>().ok()
}

/// A `YYYY-MM-DDTHH:MM` date and time (seconds and a space for `T`
/// accepted).
pub fn parse_datetime(s: &str) -> Option<jiff::civil::DateTime> {
    let s = s.replacen(' ', "T", 1);
    if s.len() < 16 || s.len() > 19 {
        return None;
    }
    s.parse::<jiff::civil::DateTime>().ok()
}

/// Whether `s` is an http(s) URL with a host and nothing unsafe in it.
pub fn is_http_url(s: &str) -> bool {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(r) => {
            let host = r.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty()
                && host.chars().all(|c| c.is_alphanumeric() || "-.:[]".contains(c))
                && !s.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"'`".contains(c))
        }
        None => false,
    }
}

/// Whether `s` is an e-mail address a message can be sent to: RFC 5322
/// `local@domain` as the `email_address` crate parses it (no `..` or leading
/// dot in the local part, domain labels of letters, digits and inner hyphens),
/// with a top-level domain, no domain literal (`[192.0.2.1]`) and no display
/// name. The daemon's mail builder (lettre) accepts every address this accepts.
pub fn is_email(s: &str) -> bool {
    use email_address::{EmailAddress, Options};
    let options = Options::default().with_required_tld().without_domain_literal().without_display_text();
    s.len() <= 254 && EmailAddress::parse_with_options(s, options).is_ok()
}

/// Whether `s` is a slug: lowercase ASCII letters, digits and hyphens, at most 120
/// characters, not starting with a hyphen.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 120
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
}

/// The known name nearest to a misspelt one, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let w = word.to_lowercase();
    known
        .iter()
        .map(|k| (levenshtein(&w, &k.to_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.max(k.chars().count() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::parse;

    #[test]
    fn email_addresses_follow_rfc_5322() {
        for ok in ["camille@example.org", "jean.dupont@ecole.fr", "a+b@sous.domaine.example.org", "o'brien@example.ie", "élève@école.fr"] {
            assert!(is_email(ok), "{ok} refused");
        }
        for bad in [
            "jean..dupont@-ecole.fr",
            "jean..dupont@ecole.fr",
            ".jean@ecole.fr",
            "jean.@ecole.fr",
            "jean@-ecole.fr",
            "jean@ecole-.fr",
            "jean@ecole",
            "jean@[192.0.2.1]",
            "Jean <jean@ecole.fr>",
            "jean@ecole..fr",
            "jean dupont@ecole.fr",
            "@ecole.fr",
            "jean@",
            "",
        ] {
            assert!(!is_email(bad), "{bad} accepted");
        }
        assert!(!is_email(&format!("{}@example.org", "a".repeat(65))), "local part over 64");
    }

    fn schema(yaml: &str) -> Schema {
        let raw: IndexMap<String, RawField> = serde_saphyr::from_str(yaml).unwrap();
        let mut errs = Vec::new();
        let data = DataLists::from([("pays".to_string(), vec!["France".to_string(), "Espagne".to_string()])]);
        let mut fields = vec![title_field("Titre")];
        fields.extend(raw.iter().map(|(n, f)| compile_field(n, f, n, &data, &mut errs)));
        assert!(errs.is_empty(), "{errs:?}");
        Schema { fields }
    }

    #[test]
    fn reports_every_problem_with_position() {
        let s = schema(
            "pays: { type: list, item: { type: enum, values_from: pays }, min: 1 }\n\
             debut: { type: date, required: true }\n\
             site: { type: url }\n",
        );
        let doc = parse("title: Projet\npays: [France, Espagnee]\ndebut: 2027-02-30\nsite: ftp://x\ncouleur: bleu\n").unwrap();
        let (_, errs) = s.validate_node(&doc, &[]);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["couleur", "pays[1]", "debut", "site"]);
        assert_eq!(errs[1].pos.line, 2);
        assert!(errs[1].message.contains("vouliez-vous dire « Espagne »"), "{}", errs[1].message);
        assert_eq!(errs[2].pos.line, 3);
        assert_eq!(errs[0].pos, Pos { line: 5, col: 1 });
    }

    #[test]
    fn json_input_is_normalised() {
        let s = schema("n: { type: integer, min: 1, max: 9 }\nok: { type: boolean }\nquand: { type: datetime }\n");
        let v = s
            .validate_json(&serde_json::json!({"title": " Hé ", "n": "4", "ok": "on", "quand": "2027-01-14 14:00"}))
            .unwrap();
        assert_eq!(v["title"], "Hé");
        assert_eq!(v["n"], 4);
        assert_eq!(v["ok"], true);
        assert_eq!(v["quand"], "2027-01-14T14:00");
        let e = s.validate_json(&serde_json::json!({"n": 12})).unwrap_err();
        assert_eq!(e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["title", "n"]);
    }
}
