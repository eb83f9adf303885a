//! `vitrine new`: a new entry file filled from its collection's schema.
//!
//! Required fields get a placeholder that passes validation (so the site still
//! builds), optional ones are listed as YAML comments with their help text, and
//! the entry starts as a draft. The file is created, never overwritten. It does
//! not build the site; slugs follow `locale`'s rule.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{Diagnostic, Diagnostics, Error};
use crate::locale::slugify;
use crate::schema::{Field, Kind};

/// A text that passes the field's checks (length, pattern), so that the draft builds.
fn placeholder_text(f: &Field, today: &str) -> String {
    let min = f.min.unwrap_or(0).max(0) as usize;
    let max = f.max.map_or(usize::MAX, |m| m.max(1) as usize);
    let mut base = if min > 11 { format!("À compléter ({min} caractères au moins)") } else { "À compléter".to_string() };
    while base.chars().count() < min {
        base.push_str(" …");
    }
    let year: i32 = today.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2026);
    let candidates = [base, format!("{year}-{}", year + 1), today.to_string(), year.to_string(), "a-completer".into()];
    let fits = |c: &String| {
        let n = c.chars().count();
        n >= min && n <= max && match &f.kind {
            Kind::String { pattern: Some(p) } => p.is_match(c),
            _ => true,
        }
    };
    let chosen = candidates.iter().find(|c| fits(c)).unwrap_or(&candidates[0]);
    serde_json::to_string(chosen).unwrap_or_default()
}

fn placeholder(f: &Field, today: &str) -> String {
    match &f.kind {
        Kind::String { .. } | Kind::Text | Kind::Markdown => placeholder_text(f, today),
        Kind::Integer => {
            // A year-like range gets this year.
            let year: i64 = today.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2026);
            if f.min.is_some_and(|m| m <= year) && f.max.is_some_and(|m| m >= year) { year.to_string() } else { f.min.unwrap_or(1).to_string() }
        }
        Kind::Date => today.into(),
        Kind::Datetime => format!("{today}T09:00"),
        Kind::Url => "https://example.org/".into(),
        Kind::Email => "contact@example.org".into(),
        Kind::Boolean => "false".into(),
        Kind::Enum { values } => format!("\"{}\"", values.first().cloned().unwrap_or_default()),
        Kind::Reference { .. } => "identifiant-de-l-entree".into(),
        Kind::Image => "{ src: image.jpg, alt: \"Décrire l'image\" }".into(),
        Kind::Object { fields } => {
            let inner: Vec<String> = fields.iter().filter(|x| x.required).map(|x| format!("{}: {}", x.name, placeholder(x, today))).collect();
            format!("{{ {} }}", inner.join(", "))
        }
        Kind::List { item } => format!("[{}]", placeholder(item, today)),
    }
}

/// Creates `content/<collection dir>/<slug of title>.md` (numbered when taken)
/// from the collection's schema and returns its path.
pub fn new_entry(site: &Path, collection: &str, title: &str) -> Result<PathBuf, Error> {
    let config = Config::load(site)?;
    let Some(c) = config.collection(collection) else {
        let names: Vec<&str> = config.collections.iter().map(|c| c.name.as_str()).collect();
        return Err(Error::Invalid(Diagnostics(vec![Diagnostic::new(
            crate::config::CONFIG_FILE,
            Default::default(),
            "collections",
            format!("collection « {collection} » inconnue (collections : {})", names.join(", ")),
        )])));
    };
    let today = crate::options::build_time(&config, None).date().to_string();
    let slug = slugify(title);
    let dir = config.content_dir().join(&c.dir);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut path = dir.join(format!("{slug}.md"));
    let mut n = 2;
    while path.exists() || dir.join(&slug).exists() {
        path = dir.join(format!("{slug}-{n}.md"));
        n += 1;
    }
    let mut fm = format!("---\ntitle: {}\ndate: {today}\ndraft: true\n", serde_json::to_string(title).unwrap_or_default());
    for f in c.schema.fields.iter().skip(1) {
        let help = f.help.as_deref().map(|h| format!(" — {h}")).unwrap_or_default();
        if f.required {
            fm.push_str(&format!("# {}{help}\n{}: {}\n", f.label, f.name, placeholder(f, &today)));
        } else {
            fm.push_str(&format!("# {} (facultatif){help}\n# {}: {}\n", f.label, f.name, placeholder(f, &today)));
        }
    }
    fm.push_str("---\n\nÉcrivez ici le texte de la page, en Markdown.\n");
    // A unique temporary file beside it, linked to its name only when complete
    // and only if no file of that name exists (nothing is overwritten; nothing
    // is left on error).
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".new-").suffix(".tmp").tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(fm.as_bytes()).map_err(|e| Error::io(&path, e))?;
    tmp.persist_noclobber(&path).map_err(|e| Error::io(&path, e.error))?;
    Ok(path)
}
