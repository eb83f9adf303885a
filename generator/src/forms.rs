//! Submission forms generated from a collection's [`Schema`]: the HTML controls
//! (both for the static site and for the daemon when it shows a form again
//! with its errors) and the reverse mapping from posted `name=value` pairs to
//! the JSON value that [`Schema::validate_json`] checks.
//!
//! The two directions live together so that a control's `name` and the path
//! that `form_to_json` reads can never drift apart. Naming rules:
//! `school`, `cover.alt`, `countries` (repeated checkboxes for a list of
//! choices), `tags[0]`, `partners[1].country`. An image field is a file input
//! named after its path (`cover`) plus a text input for its alternative
//! (`cover.alt`); the daemon fills `src` from the stored upload.
//!
//! The markup is French, works without JavaScript and follows WCAG: every
//! control has a `<label for>`, help and error texts are tied to it with
//! `aria-describedby`, wrong controls carry `aria-invalid`, groups are
//! `<fieldset>`s with a `<legend>`, required fields are marked in text (not by
//! colour alone). It does not produce the `<form>` element itself, nor the
//! submitter's name and e-mail (see [`render_submitter_fields`]).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Map, Value as Json};

use crate::field_path;
use crate::schema::{Field, FieldError, Kind, Schema};

/// Extra data the controls need.
#[derive(Debug, Clone, Default)]
pub struct FormOptions {
    /// For reference fields: collection name → [(slug, title)] of existing entries.
    /// Without a list the reference is a text input for the slug.
    pub references: BTreeMap<String, Vec<(String, String)>>,
    /// The site's language: `sorted` choices follow its collation.
    pub lang: String,
    /// A moderator's form: `moderator_only` fields are shown.
    pub moderation: bool,
    /// The list (field path) whose "add one" button was pressed: it gets one
    /// more empty row than the one every list of texts or objects offers.
    pub more: Option<String>,
    /// Set while rendering the rows of a list: a row may be left empty, so its
    /// controls never carry the HTML `required` attribute (the server still
    /// checks a row that is filled in).
    pub in_list: bool,
}

/// HTML-escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// The `id` of the control for a field path: `partners[1].country` → `f-partners-1-country`.
pub fn control_id(path: &str) -> String {
    let mut id = String::from("f-");
    for c in path.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_string()
}

/// Renders the controls of every field of the schema, filled with `values`
/// (as returned by `form_to_json` or a stored submission) and with `errors`
/// shown next to their fields.
pub fn render_form_fields(schema: &Schema, values: &Json, errors: &[FieldError]) -> String {
    render_form_fields_with(schema, values, errors, &FormOptions::default())
}

/// [`render_form_fields`] with reference lists and row counts.
pub fn render_form_fields_with(schema: &Schema, values: &Json, errors: &[FieldError], opts: &FormOptions) -> String {
    let mut out = String::from(FIELDS_START);
    for f in &schema.fields {
        match &f.derive {
            Some(d) => render_derived(&mut out, schema, f, d, errors),
            None => render_field(&mut out, f, &f.name, values.get(&f.name), errors, opts),
        }
    }
    out.push_str(FIELDS_END);
    out
}

/// Comments around the output of [`render_form_fields`] and
/// [`render_submitter_fields`], so that the daemon can show a page built by
/// the theme again with the teacher's values and errors in place.
pub const FIELDS_START: &str = "<!--vt:fields-->";
/// End of the schema's fields (see [`FIELDS_START`]).
pub const FIELDS_END: &str = "<!--/vt:fields-->";
/// Start of the submitter's fields (see [`FIELDS_START`]).
pub const SUBMITTER_START: &str = "<!--vt:submitter-->";
/// End of the submitter's fields (see [`FIELDS_START`]).
pub const SUBMITTER_END: &str = "<!--/vt:submitter-->";

fn errors_for<'a>(errors: &'a [FieldError], path: &str) -> Vec<&'a FieldError> {
    // `cover.src` is reported on the file input of `cover`.
    errors
        .iter()
        .filter(|e| e.field == path || (e.field.strip_suffix(".src") == Some(path)))
        .collect()
}

fn required_mark(f: &Field) -> &'static str {
    if f.required { " <span class=\"required\">(obligatoire)</span>" } else { "" }
}

/// `unit` (a French plural) as written after the number `n`: « 1 élément »,
/// « 2 éléments » (« choix » does not change).
fn singular_if_one(n: i64, unit: &str) -> &str {
    if n == 1 { unit.strip_suffix('s').unwrap_or(unit) } else { unit }
}

/// The limits of a field, announced next to it before anyone fails them.
pub fn limits_hint(f: &Field) -> Option<String> {
    let unit = match &f.kind {
        Kind::List { item } if matches!(item.kind, Kind::Enum { .. }) => "choix",
        Kind::List { .. } => "éléments",
        Kind::String { .. } | Kind::Text | Kind::Markdown => "caractères",
        _ => "",
    };
    match (&f.kind, f.min.filter(|m| *m > 1 || !matches!(f.kind, Kind::String { .. } | Kind::Text | Kind::Markdown)), f.max) {
        (Kind::Integer, Some(a), Some(b)) => Some(format!("Entre {a} et {b}.")),
        (Kind::Integer, Some(a), None) => Some(format!("Au moins {a}.")),
        (Kind::Integer, None, Some(b)) => Some(format!("Au plus {b}.")),
        (Kind::Integer, None, None) => None,
        (_, Some(a), Some(b)) if unit.is_empty() => Some(format!("De {a} à {b}.")),
        (_, Some(a), Some(b)) => Some(format!("De {a} à {b} {unit}.")),
        (_, None, Some(b)) if !unit.is_empty() => Some(format!("{b} {} au plus.", singular_if_one(b, unit))),
        (_, Some(a), None) if !unit.is_empty() => Some(format!("{a} {} au moins.", singular_if_one(a, unit))),
        _ => None,
    }
}

/// Writes help + error paragraphs; returns the `aria-describedby` value.
fn describe(out: &mut String, f: &Field, id: &str, errs: &[&FieldError]) -> String {
    let mut ids = Vec::new();
    let mut help = f.help.clone().unwrap_or_default();
    if let Some(h) = limits_hint(f) {
        if !help.is_empty() {
            help.push(' ');
        }
        help.push_str(&h);
    }
    if matches!(f.kind, Kind::Markdown) {
        help.push_str(" Mise en forme Markdown simple (pas de HTML).");
    }
    let help = help.trim();
    if !help.is_empty() {
        let _ = write!(out, "<p class=\"help\" id=\"{id}-help\">{}</p>", esc(help));
        ids.push(format!("{id}-help"));
    }
    if !errs.is_empty() {
        let _ = write!(out, "<p class=\"error\" id=\"{id}-error\"><strong>Erreur :</strong> ");
        for (i, e) in errs.iter().enumerate() {
            if i > 0 {
                out.push_str(" ; ");
            }
            out.push_str(&esc(&e.message));
        }
        out.push_str("</p>");
        ids.push(format!("{id}-error"));
    }
    ids.join(" ")
}

fn aria(describedby: &str, invalid: bool) -> String {
    let mut s = String::new();
    if !describedby.is_empty() {
        let _ = write!(s, " aria-describedby=\"{describedby}\"");
    }
    if invalid {
        s.push_str(" aria-invalid=\"true\"");
    }
    s
}

fn text_of(v: Option<&Json>) -> String {
    match v {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        Some(Json::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn render_field(out: &mut String, f: &Field, path: &str, value: Option<&Json>, errors: &[FieldError], opts: &FormOptions) {
    let id = control_id(path);
    let errs = errors_for(errors, path);
    let invalid = !errs.is_empty();
    if f.moderator_only && !opts.moderation {
        return;
    }
    if f.derive.is_some() {
        return; // rendered by `render_form_fields_with`, which knows the source list
    }
    let req = if f.required && !opts.in_list { " required" } else { "" };
    match &f.kind {
        Kind::Object { fields } => {
            let _ = write!(out, "<fieldset class=\"group\" id=\"{id}\"><legend>{}{}</legend>", esc(&f.label), required_mark(f));
            describe(out, f, &id, &errs);
            for sub in fields {
                let p = format!("{path}.{}", sub.name);
                render_field(out, sub, &p, value.and_then(|v| v.get(&sub.name)), errors, opts);
            }
            out.push_str("</fieldset>");
        }
        Kind::List { item } => render_list(out, f, item, path, value, errors, opts),
        Kind::Image => {
            let alt_path = format!("{path}.alt");
            let alt_id = control_id(&alt_path);
            let alt_errs = errors_for(errors, &alt_path);
            let _ = write!(out, "<fieldset class=\"group image\"><legend>{}{}</legend>", esc(&f.label), required_mark(f));
            let _ = write!(out, "<div class=\"field\"><label for=\"{id}\">Fichier (JPEG, PNG, GIF ou WebP)</label>");
            let d = describe(out, f, &id, &errs);
            let _ = write!(
                out,
                "<input type=\"file\" id=\"{id}\" name=\"{}\" accept=\"image/jpeg,image/png,image/gif,image/webp\"{}></div>",
                esc(path),
                aria(&d, invalid)
            );
            let _ = write!(
                out,
                "<div class=\"field\"><label for=\"{alt_id}\">Description de l'image pour les personnes qui ne la voient pas</label>"
            );
            let d = if alt_errs.is_empty() {
                String::new()
            } else {
                let _ = write!(out, "<p class=\"error\" id=\"{alt_id}-error\"><strong>Erreur :</strong> ");
                out.push_str(&alt_errs.iter().map(|e| esc(&e.message)).collect::<Vec<_>>().join(" ; "));
                out.push_str("</p>");
                format!("{alt_id}-error")
            };
            let _ = write!(
                out,
                "<input type=\"text\" id=\"{alt_id}\" name=\"{}\" value=\"{}\" maxlength=\"300\"{}></div></fieldset>",
                esc(&alt_path),
                esc(&text_of(value.and_then(|v| v.get("alt")))),
                aria(&d, !alt_errs.is_empty())
            );
        }
        Kind::Boolean => {
            let checked = matches!(value, Some(Json::Bool(true))) || text_of(value) == "on";
            let _ = write!(out, "<div class=\"field checkbox\">");
            let _ = write!(
                out,
                "<input type=\"checkbox\" id=\"{id}\" name=\"{}\" value=\"true\"{}",
                esc(path),
                if checked { " checked" } else { "" }
            );
            let mut tail = String::new();
            let d = describe(&mut tail, f, &id, &errs);
            let _ = write!(out, "{}> <label for=\"{id}\">{}</label>{tail}</div>", aria(&d, invalid), esc(&f.label));
        }
        _ => {
            let _ = write!(out, "<div class=\"field\"><label for=\"{id}\">{}{}</label>", esc(&f.label), required_mark(f));
            let d = describe(out, f, &id, &errs);
            let a = aria(&d, invalid);
            render_scalar_control(out, f, path, &id, value, req, &a, opts);
            out.push_str("</div>");
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn render_scalar_control(
    out: &mut String,
    f: &Field,
    path: &str,
    id: &str,
    value: Option<&Json>,
    req: &str,
    aria: &str,
    opts: &FormOptions,
) {
    let v = esc(&text_of(value));
    let name = esc(path);
    let maxlen = f.max.filter(|_| matches!(f.kind, Kind::String { .. } | Kind::Text | Kind::Markdown));
    let ml = maxlen.map(|m| format!(" maxlength=\"{m}\"")).unwrap_or_default();
    match &f.kind {
        Kind::Text | Kind::Markdown => {
            let rows = if matches!(f.kind, Kind::Markdown) { 10 } else { 4 };
            let _ = write!(out, "<textarea id=\"{id}\" name=\"{name}\" rows=\"{rows}\"{ml}{req}{aria}>{v}</textarea>");
        }
        Kind::Enum { values } => {
            let _ = write!(out, "<select id=\"{id}\" name=\"{name}\"{req}{aria}><option value=\"\">— choisir —</option>");
            let cur = text_of(value);
            for opt in shown_choices(f, values, opts) {
                let sel = if *opt == cur { " selected" } else { "" };
                let _ = write!(out, "<option value=\"{0}\"{sel}>{0}</option>", esc(opt));
            }
            out.push_str("</select>");
        }
        Kind::Reference { collection } => match opts.references.get(collection) {
            Some(list) => {
                let _ = write!(out, "<select id=\"{id}\" name=\"{name}\"{req}{aria}><option value=\"\">— choisir —</option>");
                let cur = text_of(value);
                for (slug, title) in list {
                    let sel = if *slug == cur { " selected" } else { "" };
                    let _ = write!(out, "<option value=\"{}\"{sel}>{}</option>", esc(slug), esc(title));
                }
                out.push_str("</select>");
            }
            None => {
                let _ = write!(out, "<input type=\"text\" id=\"{id}\" name=\"{name}\" value=\"{v}\"{req}{aria}>");
            }
        },
        _ => {
            let (ty, extra) = match &f.kind {
                Kind::Date => ("date", String::new()),
                Kind::Datetime => ("datetime-local", String::new()),
                Kind::Url => ("url", " placeholder=\"https://\"".to_string()),
                Kind::Email => ("email", " autocomplete=\"email\"".to_string()),
                Kind::Integer => (
                    "number",
                    format!(
                        "{}{}",
                        f.min.map(|m| format!(" min=\"{m}\"")).unwrap_or_default(),
                        f.max.map(|m| format!(" max=\"{m}\"")).unwrap_or_default()
                    ),
                ),
                _ => ("text", String::new()),
            };
            let _ = write!(out, "<input type=\"{ty}\" id=\"{id}\" name=\"{name}\" value=\"{v}\"{ml}{extra}{req}{aria}>");
        }
    }
}

fn render_list(out: &mut String, f: &Field, item: &Field, path: &str, value: Option<&Json>, errors: &[FieldError], opts: &FormOptions) {
    let id = control_id(path);
    let errs = errors_for(errors, path);
    let items: Vec<Json> = match value {
        Some(Json::Array(a)) => a.clone(),
        Some(v @ Json::String(_)) => vec![v.clone()],
        _ => Vec::new(),
    };
    let _ = write!(out, "<fieldset class=\"group list\" id=\"{id}\"><legend>{}{}</legend>", esc(&f.label), required_mark(f));
    let d = describe(out, f, &id, &errs);
    match &item.kind {
        Kind::Enum { values } => {
            // A list of choices: one checkbox per value.
            out.push_str("<div class=\"choices\">");
            let shown = if f.sorted { sorted_choices(values, opts) } else { shown_choices(item, values, opts) };
            for (i, v) in shown.into_iter().enumerate() {
                let cid = format!("{id}-{i}");
                let checked = items.iter().any(|x| x.as_str() == Some(v));
                let _ = write!(
                    out,
                    "<div class=\"choice\"><input type=\"checkbox\" id=\"{cid}\" name=\"{}\" value=\"{}\"{}{}> <label for=\"{cid}\">{}</label></div>",
                    esc(path),
                    esc(v),
                    if checked { " checked" } else { "" },
                    if d.is_empty() { String::new() } else { format!(" aria-describedby=\"{d}\"") },
                    esc(v)
                );
            }
            out.push_str("</div>");
        }
        _ => {
            // The rows filled in (one empty row when there are none), and one
            // more when this list's "add one" button was pressed; never more
            // than `max`. No spare empty row beside the button.
            let max = f.max.map(|m| m.max(0) as usize).unwrap_or(usize::MAX);
            let wanted = items.len().max(1) + usize::from(opts.more.as_deref() == Some(path));
            let rows = wanted.min(max.max(items.len())).max(1);
            let row_opts = FormOptions { in_list: true, ..opts.clone() };
            let noun = item_label(f, item);
            out.push_str("<div class=\"list-rows\">");
            for i in 0..rows {
                let p = field_path::item(path, i);
                let row_label = Field { label: format!("{noun} {}", i + 1), required: false, ..item.clone() };
                let _ = write!(out, "<div class=\"list-row\" data-row=\"{i}\">");
                render_field(out, &row_label, &p, items.get(i), errors, &row_opts);
                out.push_str("</div>");
            }
            out.push_str("</div>");
            if rows < max {
                // Without JavaScript the server shows the form again with one
                // more row; vitrine.js adds the row in place instead.
                let _ = write!(
                    out,
                    "<button type=\"submit\" class=\"button button--secondary list-more\" name=\"vt_more\" value=\"{}\" formnovalidate data-max=\"{}\">Ajouter : {}</button>",
                    esc(path),
                    if max == usize::MAX { 0 } else { max },
                    esc(&noun.to_lowercase())
                );
            }
        }
    }
    out.push_str("</fieldset>");
}

/// The choices of an enum in the order shown: the list's, or the collation
/// order of the site's language when the field is `sorted`.
fn shown_choices<'a>(f: &Field, values: &'a [String], opts: &FormOptions) -> Vec<&'a String> {
    if f.sorted { sorted_choices(values, opts) } else { values.iter().collect() }
}

fn sorted_choices<'a>(values: &'a [String], opts: &FormOptions) -> Vec<&'a String> {
    let mut v: Vec<&String> = values.iter().collect();
    crate::locale::sort_by_collation(if opts.lang.is_empty() { "fr" } else { &opts.lang }, &mut v, |s| s.as_str());
    v
}

/// A derived field is not asked: a paragraph says where its value comes from
/// (and is where the error summary links to).
fn render_derived(out: &mut String, schema: &Schema, f: &Field, d: &crate::schema::Derive, errors: &[FieldError]) {
    let id = control_id(&f.name);
    let list = schema.field(&d.list);
    let member = list.and_then(|l| match &l.kind {
        Kind::List { item } => match &item.kind {
            Kind::Object { fields } => fields.iter().find(|m| m.name == d.member),
            _ => None,
        },
        _ => None,
    });
    let source = format!(
        "« {} » de chaque ligne de « {} »",
        member.map_or(d.member.as_str(), |m| m.label.as_str()),
        list.map_or(d.list.as_str(), |l| l.label.as_str())
    );
    let note = match d.add.as_slice() {
        [] => format!("repris du champ {source}, sans le demander deux fois"),
        add => format!("{}, et le champ {source}, sans le demander deux fois", add.join(", ")),
    };
    let _ = write!(out, "<p class=\"help derived\" id=\"{id}\" tabindex=\"-1\"><strong>{}</strong> : {}.</p>", esc(&f.label), esc(&note));
    let errs = errors_for(errors, &f.name);
    if !errs.is_empty() {
        let _ = write!(
            out,
            "<p class=\"error\" id=\"{id}-error\"><strong>Erreur :</strong> {}</p>",
            esc(&errs.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ; "))
        );
    }
}

/// The name a field path has on the form, for error summaries, the journal
/// and e-mails: the labels people read next to the controls.
/// `partners[0].country` → « Pays (Établissement partenaire 1) »,
/// `tags[2]` → « Mot-clé 3 », `cover.alt` → « Description de l'image
/// (Image de couverture) », `vt_body` → « Présentation ». The one rule.
pub fn field_label(schema: &Schema, path: &str) -> String {
    match path {
        "vt_name" => return "Votre nom".into(),
        "vt_email" => return "Votre adresse électronique".into(),
        "vt_body" | "body" => return BODY_LABEL.into(),
        _ => {}
    }
    let (head, rest) = split_head(path);
    match schema.field(head) {
        Some(f) => label_in(f, &f.label, rest),
        None if head == "title" => "Titre".into(),
        None => head.to_string(),
    }
}

/// The label of the free text of every submission form.
pub const BODY_LABEL: &str = "Présentation";

fn label_in(f: &Field, shown: &str, rest: &str) -> String {
    let rest = rest.strip_suffix(".src").unwrap_or(rest);
    if rest.is_empty() {
        return shown.to_string();
    }
    match &f.kind {
        Kind::Image if rest == ".alt" => format!("Description de l'image ({shown})"),
        Kind::Object { fields } => {
            let sub = rest.trim_start_matches('.');
            let (name, more) = split_head(sub);
            match fields.iter().find(|m| m.name == name) {
                Some(m) => {
                    let inner = label_in(m, &m.label, more);
                    format!("{inner} ({shown})")
                }
                None => shown.to_string(),
            }
        }
        Kind::List { item } => {
            let Some((idx, after)) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) else { return shown.to_string() };
            let Ok(i) = idx.parse::<usize>() else { return shown.to_string() };
            let row = format!("{} {}", item_label(f, item), i + 1);
            label_in(item, &row, after)
        }
        _ => shown.to_string(),
    }
}

fn item_label(list: &Field, item: &Field) -> String {
    if item.label != item.name && item.label != list.name {
        item.label.clone()
    } else {
        list.label.clone()
    }
}

/// Turns posted `(name, value)` pairs into the JSON object that
/// `Schema::validate_json` checks. Empty inputs are left out (so a required
/// field left blank is reported as missing), empty list rows are dropped.
/// Returns the value and the names that match no field of the schema
/// (the caller decides which reserved names of its own it accepts).
pub fn form_to_json(schema: &Schema, pairs: &[(String, String)]) -> (Json, Vec<String>) {
    let mut unknown = Vec::new();
    for (name, _) in pairs {
        let derived = schema.field(split_head(name).0).is_some_and(|f| f.derive.is_some());
        if derived || !name_matches(&schema.fields, name) {
            unknown.push(name.clone());
        }
    }
    let mut obj = collect_map(&schema.fields, "", pairs);
    // Derived lists are computed, never read from the form.
    schema.apply_derived(&mut obj);
    (Json::Object(obj), unknown)
}

fn name_matches(fields: &[Field], name: &str) -> bool {
    let (head, rest) = split_head(name);
    let Some(f) = fields.iter().find(|f| f.name == head) else { return false };
    field_accepts(f, rest)
}

/// `rest` is what follows the field name: "", ".alt", "[2]", "[2].school".
fn field_accepts(f: &Field, rest: &str) -> bool {
    match &f.kind {
        Kind::Object { fields } => rest.strip_prefix('.').is_some_and(|r| name_matches(fields, r)),
        Kind::Image => rest.is_empty() || rest == ".alt",
        Kind::List { item } => {
            if rest.is_empty() {
                return true;
            }
            let Some(r) = rest.strip_prefix('[') else { return false };
            let Some((idx, after)) = r.split_once(']') else { return false };
            idx.parse::<usize>().is_ok_and(|i| i < 1000) && field_accepts(item, after)
        }
        _ => rest.is_empty(),
    }
}

fn split_head(name: &str) -> (&str, &str) {
    let end = name.find(['.', '[']).unwrap_or(name.len());
    (&name[..end], &name[end..])
}

fn collect_map(fields: &[Field], prefix: &str, pairs: &[(String, String)]) -> Map<String, Json> {
    let mut out = Map::new();
    for f in fields {
        let path = field_path::member(prefix, &f.name);
        if let Some(v) = collect_field(f, &path, pairs) {
            out.insert(f.name.clone(), v);
        }
    }
    out
}

fn first_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, v)| n == name && !v.trim().is_empty()).map(|(_, v)| v.as_str())
}

fn collect_field(f: &Field, path: &str, pairs: &[(String, String)]) -> Option<Json> {
    match &f.kind {
        Kind::Object { fields } => {
            let m = collect_map(fields, path, pairs);
            (!m.is_empty()).then_some(Json::Object(m))
        }
        Kind::Image => first_value(pairs, &format!("{path}.alt")).map(|alt| {
            let mut m = Map::new();
            m.insert("alt".into(), Json::String(alt.to_string()));
            Json::Object(m)
        }),
        Kind::List { item } => {
            // Plain repeated names (checkboxes) first.
            let mut vals: Vec<Json> = pairs
                .iter()
                .filter(|(n, v)| n == path && !v.trim().is_empty())
                .map(|(_, v)| Json::String(v.clone()))
                .collect();
            // Then indexed rows, in index order.
            let prefix = format!("{path}[");
            let mut indexes: Vec<usize> = pairs
                .iter()
                .filter_map(|(n, _)| n.strip_prefix(&prefix)?.split_once(']')?.0.parse().ok())
                .filter(|i| *i < 1000)
                .collect();
            indexes.sort_unstable();
            indexes.dedup();
            for i in indexes {
                if let Some(v) = collect_field(item, &field_path::item(path, i), pairs) {
                    vals.push(v);
                }
            }
            (!vals.is_empty()).then_some(Json::Array(vals))
        }
        _ => first_value(pairs, path).map(|v| Json::String(v.to_string())),
    }
}

/// The common part of every submission form: the free text published with
/// the entry (`vt_body`, Markdown without HTML), the submitter's name and
/// e-mail (kept in the review queue only, never published) and the honeypot.
/// `values` may hold `vt_body`, `vt_name` and `vt_email`; `errors` use the same names.
pub fn render_submitter_fields(values: &Json, errors: &[FieldError]) -> String {
    let mut out = String::from(SUBMITTER_START);
    {
        let id = "f-vt_body";
        let errs = errors_for(errors, "vt_body");
        let _ = write!(
            out,
            "<div class=\"field\"><label for=\"{id}\">Présentation (publiée avec la fiche)</label>\
             <p class=\"help\" id=\"{id}-help\">Mise en forme Markdown simple : **gras**, *italique*, listes, liens https://. Le HTML n'est pas accepté. 20 000 caractères au plus.</p>"
        );
        let mut d = format!("{id}-help");
        if !errs.is_empty() {
            let _ = write!(out, "<p class=\"error\" id=\"{id}-error\"><strong>Erreur :</strong> ");
            out.push_str(&errs.iter().map(|e| esc(&e.message)).collect::<Vec<_>>().join(" ; "));
            out.push_str("</p>");
            d.push_str(&format!(" {id}-error"));
        }
        let _ = write!(
            out,
            "<textarea id=\"{id}\" name=\"vt_body\" rows=\"12\" maxlength=\"20000\"{}>{}</textarea></div>",
            aria(&d, !errs.is_empty()),
            esc(&text_of(values.get("vt_body")))
        );
    }
    out.push_str(
        "<fieldset class=\"group submitter\"><legend>Vous (non publié)</legend>\
         <p class=\"help\">Votre nom et votre adresse servent seulement à vous répondre ; ils ne sont jamais publiés sur le site.</p>",
    );
    for (name, label, ty, auto) in [
        ("vt_name", "Votre nom", "text", "name"),
        ("vt_email", "Votre adresse électronique", "email", "email"),
    ] {
        let id = control_id(name);
        let errs = errors_for(errors, name);
        let _ = write!(out, "<div class=\"field\"><label for=\"{id}\">{label} <span class=\"required\">(obligatoire)</span></label>");
        let mut d = String::new();
        if !errs.is_empty() {
            let _ = write!(out, "<p class=\"error\" id=\"{id}-error\"><strong>Erreur :</strong> {}</p>", esc(&errs[0].message));
            d = format!("{id}-error");
        }
        let _ = write!(
            out,
            "<input type=\"{ty}\" id=\"{id}\" name=\"{name}\" value=\"{}\" maxlength=\"200\" autocomplete=\"{auto}\" required{}></div>",
            esc(&text_of(values.get(name))),
            aria(&d, !errs.is_empty())
        );
    }
    out.push_str("</fieldset>");
    // Honeypot: hidden from people (`hidden`, so no stylesheet is needed) and from
    // assistive technologies; naive bots fill every input they find.
    out.push_str(
        "<div class=\"vt-hp\" hidden aria-hidden=\"true\"><label for=\"f-vt_fax\">Ne pas remplir ce champ</label>\
         <input type=\"text\" id=\"f-vt_fax\" name=\"vt_fax\" value=\"\" tabindex=\"-1\" autocomplete=\"off\"></div>",
    );
    out.push_str(SUBMITTER_END);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{DataLists, RawField, compile_field, title_field};
    use indexmap::IndexMap;

    fn schema() -> Schema {
        let yaml = "summary: { type: text, label: \"Résumé\", required: true, max: 400 }\n\
            countries: { type: list, label: \"Pays\", min: 1, required: true, item: { type: enum, values: [France, Italie] } }\n\
            partners: { type: list, label: \"Partenaires\", max: 3, item: { type: object, fields: { school: { type: string, label: \"Établissement\", required: true }, country: { type: enum, label: \"Pays\", required: true, values: [France, Italie] } } } }\n\
            tags: { type: list, label: \"Mots-clés\", max: 8, item: { type: string, max: 40 } }\n\
            year: { type: integer, label: \"Année\", min: 2005, max: 2100 }\n\
            open: { type: boolean, label: \"Ouvert\" }\n\
            cover: { type: image, label: \"Couverture\" }\n";
        let raw: IndexMap<String, RawField> = serde_saphyr::from_str(yaml).unwrap();
        let mut errs = Vec::new();
        let mut fields = vec![title_field("Titre")];
        fields.extend(raw.iter().map(|(n, f)| compile_field(n, f, n, &DataLists::new(), &mut errs)));
        assert!(errs.is_empty());
        Schema { fields }
    }

    /// The example site's kind of schema: countries derived from the partners,
    /// sorted choices, a field only moderators fill in.
    fn teacher_schema() -> Schema {
        let yaml = "summary: { type: text, label: \"Résumé\", required: true, min: 20, max: 400 }\n\
            countries: { type: list, label: \"Pays\", min: 1, required: true, derive: { from: partners.country, add: [France] }, item: { type: enum, values: [Roumanie, Grèce, France, Géorgie, République tchèque, Italie] } }\n\
            partners: { type: list, label: \"Établissements partenaires\", max: 3, item: { type: object, label: \"Établissement partenaire\", fields: { school: { type: string, label: \"Établissement\", required: true }, country: { type: enum, label: \"Pays\", required: true, sorted: true, values: [Roumanie, Grèce, France, Géorgie, République tchèque, Italie] } } } }\n\
            tags: { type: list, label: \"Mots-clés\", max: 2, item: { type: string, label: \"Mot-clé\", max: 40 } }\n\
            year: { type: integer, label: \"Année du label\", required: true, moderator_only: true }\n";
        let raw: IndexMap<String, RawField> = serde_saphyr::from_str(yaml).unwrap();
        let mut errs = Vec::new();
        let mut fields = vec![title_field("Titre")];
        fields.extend(raw.iter().map(|(n, f)| compile_field(n, f, n, &DataLists::new(), &mut errs)));
        assert!(errs.is_empty(), "{errs:?}");
        let s = Schema { fields };
        assert!(s.derive_problems().is_empty());
        s
    }

    #[test]
    fn errors_name_fields_by_the_labels_on_the_form() {
        let s = teacher_schema();
        assert_eq!(field_label(&s, "partners[0].country"), "Pays (Établissement partenaire 1)");
        assert_eq!(field_label(&s, "tags[1]"), "Mot-clé 2");
        assert_eq!(field_label(&s, "summary"), "Résumé");
        assert_eq!(field_label(&s, "vt_body"), "Présentation");
        // The form shows those very words.
        let html = render_form_fields(&s, &serde_json::json!({"partners": [{"school": "A"}]}), &[]);
        assert!(html.contains("<legend>Établissement partenaire 1</legend>"), "{html}");
        assert!(html.contains(">Mot-clé 1</label>"), "{html}");
    }

    #[test]
    fn limits_are_announced_before_anyone_fails_them() {
        let s = teacher_schema();
        let html = render_form_fields(&s, &Json::Null, &[]);
        assert!(html.contains("De 20 à 400 caractères."), "{html}");
        assert!(html.contains("2 éléments au plus."), "{html}");
        let tags = s.fields.iter().find(|f| f.name == "tags").unwrap();
        let one = Field { min: Some(1), max: None, ..tags.clone() };
        assert_eq!(limits_hint(&one).as_deref(), Some("1 élément au moins."));
        assert!(html.contains("200 caractères au plus."), "title: {html}");
    }

    #[test]
    fn a_list_grows_one_row_at_a_time_up_to_its_maximum() {
        let s = teacher_schema();
        let rows = |html: &str| html.matches("class=\"list-row\"").count();
        let buttons = |html: &str| html.matches("name=\"vt_more\" value=\"tags\"").count();
        let empty = render_form_fields(&s, &Json::Null, &[]);
        assert_eq!(rows(&empty), 2, "one row for partners, one for tags");
        assert_eq!(buttons(&empty), 1);
        let more = FormOptions { more: Some("tags".into()), ..Default::default() };
        let html = render_form_fields_with(&s, &Json::Null, &[], &more);
        assert!(html.contains("name=\"tags[1]\""), "one more row for tags");
        assert!(!html.contains("name=\"partners[1].school\""), "not for the other list");
        assert_eq!(buttons(&html), 0, "tags is at its maximum of 2: no button");
        let one = render_form_fields(&s, &serde_json::json!({"tags": ["a"]}), &[]);
        assert!(one.contains("name=\"tags[0]\"") && !one.contains("name=\"tags[1]\""), "a filled row, no spare empty one");
        assert_eq!(buttons(&one), 1);
        let full = render_form_fields_with(&s, &serde_json::json!({"tags": ["a", "b"]}), &[], &more);
        assert!(!full.contains("name=\"tags[2]\""), "never more than max");
    }

    #[test]
    fn countries_are_not_asked_twice_and_choices_follow_french_collation() {
        let s = teacher_schema();
        let html = render_form_fields(&s, &Json::Null, &[]);
        assert!(!html.contains("name=\"countries\""), "the grid of countries is gone");
        assert!(html.contains("id=\"f-countries\""), "a paragraph says where they come from");
        let order: Vec<usize> = ["Géorgie", "Grèce", "République tchèque", "Roumanie"]
            .iter()
            .map(|c| html.find(&format!("<option value=\"{c}\">")).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        let (v, unknown) = form_to_json(
            &s,
            &pairs(&[
                ("partners[0].school", "Liceo"),
                ("partners[0].country", "Italie"),
                ("partners[1].school", "Scoala"),
                ("partners[1].country", "Roumanie"),
                ("partners[2].school", "Liceo 2"),
                ("partners[2].country", "Italie"),
            ]),
        );
        assert!(unknown.is_empty());
        assert_eq!(v["countries"], serde_json::json!(["France", "Italie", "Roumanie"]));
        // A value posted for the derived list is not read: it is unknown.
        let (_, unknown) = form_to_json(&s, &pairs(&[("countries", "Grèce")]));
        assert_eq!(unknown, ["countries"]);
    }

    #[test]
    fn moderator_fields_are_left_out_of_public_forms() {
        let s = teacher_schema();
        assert!(!render_form_fields(&s, &Json::Null, &[]).contains("name=\"year\""));
        let m = FormOptions { moderation: true, ..Default::default() };
        assert!(render_form_fields_with(&s, &Json::Null, &[], &m).contains("name=\"year\""));
        let public = s.for_submitters();
        assert!(public.field("year").is_none());
        let errs = public.validate_json(&serde_json::json!({"title": "T", "summary": "vingt caractères et plus", "year": 2026})).unwrap_err();
        assert!(errs.iter().any(|e| e.field == "year" && e.message.contains("inconnu")), "{errs:?}");
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn posted_pairs_become_validated_json() {
        let s = schema();
        let (v, unknown) = form_to_json(
            &s,
            &pairs(&[
                ("title", "Nos rivières"),
                ("summary", "Un projet sur l'eau entre deux classes."),
                ("countries", "France"),
                ("countries", "Italie"),
                ("partners[1].school", "Liceo Galilei"),
                ("partners[1].country", "Italie"),
                ("partners[0].school", ""),
                ("partners[0].country", ""),
                ("tags[0]", "eau"),
                ("tags[1]", ""),
                ("year", "2026"),
                ("open", "true"),
                ("cover.alt", "Des élèves au bord du Rhône"),
                ("vt_name", "x"),
                ("partners[1].evil", "x"),
                ("../etc/passwd", "x"),
            ]),
        );
        assert_eq!(unknown, ["vt_name", "partners[1].evil", "../etc/passwd"]);
        assert_eq!(v["partners"], serde_json::json!([{"school": "Liceo Galilei", "country": "Italie"}]));
        assert_eq!(v["tags"], serde_json::json!(["eau"]));
        let mut with_src = v.clone();
        with_src["cover"]["src"] = "cover.jpg".into();
        let ok = s.validate_json(&with_src).unwrap();
        assert_eq!(ok["year"], 2026);
        assert_eq!(ok["open"], true);
        assert_eq!(ok["countries"], serde_json::json!(["France", "Italie"]));
    }

    #[test]
    fn controls_are_labelled_keep_values_and_show_errors() {
        let s = schema();
        let (v, _) = form_to_json(&s, &pairs(&[("title", "<script>alert(1)</script>"), ("partners[0].school", "Liceo")]));
        let errors = s.validate_json(&v).unwrap_err();
        let html = render_form_fields(&s, &v, &errors);
        assert!(html.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(!html.contains("<script>"));
        // Every field error is shown next to its control and tied to it.
        for e in &errors {
            let id = control_id(&e.field);
            assert!(html.contains(&format!("id=\"{id}-error\"")), "no error for {}: {html}", e.field);
            assert!(html.contains(&format!("aria-describedby=\"{id}-help {id}-error\"")) || html.contains(&format!("aria-describedby=\"{id}-error\"")), "{}", e.field);
        }
        assert!(html.contains("<label for=\"f-partners-0-school\">"));
        assert!(html.contains("name=\"partners[0].school\" value=\"Liceo\""));
        assert!(html.contains("<legend>Pays <span class=\"required\">(obligatoire)</span></legend>"));
        assert!(html.contains("type=\"file\" id=\"f-cover\" name=\"cover\""));
        // Rows of a list may stay empty: the browser must not demand them.
        let row = &html[html.find("name=\"partners[0].school\"").unwrap()..];
        assert!(!row[..row.find('>').unwrap()].contains("required"), "blank row marked required");
        assert!(html[html.find("name=\"title\"").unwrap()..].split('>').next().unwrap().contains("required"));
    }
}
