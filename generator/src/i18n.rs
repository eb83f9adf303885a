//! Content translations: `foo.en.md` beside `foo.md` (or `index.en.md` in a
//! bundle) is the English version of `foo.md`, published at `/en/<its URL>`.
//!
//! How: translation files are taken out of the sources before the model is built
//! ([`split`]), so the site's model only sees the original language. For each
//! other language, a second model is built from the same sources with each
//! translated file standing in for its original ([`build`]): references,
//! taxonomies and `@/` links resolve as usual, and untranslated entries are still
//! there (their cards keep their original URLs: the clean fallback). Only the
//! translated entries of that model are rendered, by a renderer whose config
//! says the other language, so dates, theme strings (`themes/<t>/i18n/<lang>.yaml`,
//! falling back to the site's) and typography follow the page's language, and
//! with the names `translations.<lang>` of `vitrine.yaml` gives (site title and
//! description, collections' and taxonomies' titles: menu, breadcrumb, `<title>`,
//! header, footer, facts; each falls back to the original name when not given).
//!
//! Both versions know each other: cards get `lang` and `translations`
//! ([{lang, name, url, title}]) for `hreflang` alternates and the language
//! switcher, and the sitemap lists the alternates.
//!
//! What it does not do: translate listings, taxonomy pages, forms, feeds or
//! `_index.md` introductions (a `_index.en.md` is reported as a warning and
//! ignored; those pages keep the site language's names), or
//! publish a translation whose original does not exist (an error).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json, json};

use crate::config::Config;
use crate::error::{self, Diagnostic, Error};
use crate::load::{SourceFile, Sources};
use crate::model::{self, Model, ModelOptions};
use crate::node::Pos;
use crate::render::{self, Job, Output};

/// Language codes recognised in file names (`foo.en.md`), with their own names.
pub const LANGUAGES: &[(&str, &str)] = &[
    ("bg", "Български"), ("ca", "Català"), ("cs", "Čeština"), ("da", "Dansk"), ("de", "Deutsch"),
    ("el", "Ελληνικά"), ("en", "English"), ("es", "Español"), ("et", "Eesti"), ("eu", "Euskara"),
    ("fi", "Suomi"), ("fr", "Français"), ("ga", "Gaeilge"), ("hr", "Hrvatski"), ("hu", "Magyar"),
    ("is", "Íslenska"), ("it", "Italiano"), ("lt", "Lietuvių"), ("lv", "Latviešu"), ("mk", "Македонски"),
    ("mt", "Malti"), ("nl", "Nederlands"), ("no", "Norsk"), ("pl", "Polski"), ("pt", "Português"),
    ("ro", "Română"), ("sk", "Slovenčina"), ("sl", "Slovenščina"), ("sq", "Shqip"), ("sr", "Српски"),
    ("sv", "Svenska"), ("tr", "Türkçe"), ("uk", "Українська"),
];

/// The name of a language in itself ("English"), or its code.
pub fn language_name(code: &str) -> &str {
    LANGUAGES.iter().find(|(c, _)| *c == code).map_or(code, |(_, n)| n)
}

/// An integer written for people in `lang`: "12 500" (narrow no-break space) in French,
/// "12,500" in English, "12.500" in German and most other European languages.
pub fn format_number(lang: &str, n: i64) -> String {
    let sep = match lang {
        "fr" | "fi" | "sv" | "no" | "cs" | "sk" | "pl" | "et" | "lv" | "lt" | "bg" | "uk" | "hu" => "\u{202F}",
        "en" | "ga" | "mt" => ",",
        _ => ".",
    };
    // French and Nordic usage leave four-digit numbers whole (2 500 but 2500 is fine too).
    let min = if sep == "\u{202F}" { 5 } else { 4 };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + 8);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) && digits.len() >= min {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// One version of an entry in another language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternate {
    pub lang: String,
    pub url: String,
    pub title: String,
}

/// `projects/foo.en.md` → `("en", "projects/foo.md")`.
pub fn translation_of(rel: &str) -> Option<(&str, String)> {
    let stem = rel.strip_suffix(".md")?;
    let (base, lang) = stem.rsplit_once('.')?;
    if base.is_empty() || base.ends_with('/') || !LANGUAGES.iter().any(|(c, _)| *c == lang) {
        return None;
    }
    Some((lang, format!("{base}.md")))
}

/// Translation files by language: (translation file, the original's path).
#[derive(Debug, Clone, Default)]
pub struct Translations {
    pub files: BTreeMap<String, Vec<(SourceFile, String)>>,
    pub warnings: Vec<Diagnostic>,
}

/// Takes translation files out of `sources.pages`.
pub fn split(sources: &mut Sources, site_language: &str) -> Translations {
    let mut t = Translations::default();
    sources.pages.retain(|f| {
        let Some((lang, base)) = translation_of(&f.rel) else { return true };
        let file_name = base.rsplit('/').next().unwrap_or(&base);
        if file_name == "_index.md" {
            t.warnings.push(Diagnostic::new(
                PathBuf::from("content").join(&f.rel),
                Pos { line: 1, col: 1 },
                "",
                "les introductions de listes (_index.md) ne sont pas encore traduites : fichier ignoré",
            ));
        } else if lang == site_language {
            t.warnings.push(Diagnostic::new(
                PathBuf::from("content").join(&f.rel),
                Pos { line: 1, col: 1 },
                "",
                format!("« {lang} » est la langue du site : renommez le fichier en {file_name}"),
            ));
        } else {
            t.files.entry(lang.to_string()).or_default().push((f.clone(), base));
        }
        false
    });
    t
}

/// A language's version of the site: the translated entries and what renders them.
#[derive(Clone)]
pub struct Built {
    pub lang: String,
    pub config: Config,
    pub sources: Sources,
    pub model: Model,
    /// Indices (in `model.entries`) of the entries that are translated.
    pub entries: Vec<usize>,
}

fn strings_for(site: &Path, theme: &str, lang: &str) -> Option<Json> {
    let path = site.join("themes").join(theme).join("i18n").join(format!("{lang}.yaml"));
    let text = std::fs::read_to_string(path).ok()?;
    crate::node::parse(&text).ok().map(|n| crate::load::to_json(&n))
}

/// Builds the model of each language and links every version to the others
/// (`model.translations` of the main model and of each language's).
pub fn build(config: &Config, sources: &Sources, main: &mut Model, tr: &Translations, opts: &ModelOptions) -> Result<Vec<Built>, Error> {
    main.translations.clear();
    main.warnings.extend(tr.warnings.iter().cloned());
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for (lang, files) in &tr.files {
        let mut src = sources.clone();
        let mut originals: HashMap<String, String> = HashMap::new(); // original rel → translation rel
        for (f, base) in files {
            match src.pages.iter_mut().find(|p| p.rel == *base) {
                Some(p) => {
                    p.text = f.text.clone();
                    originals.insert(base.clone(), f.rel.clone());
                }
                None => diags.push(Diagnostic::new(
                    PathBuf::from("content").join(&f.rel),
                    Pos { line: 1, col: 1 },
                    "",
                    format!("traduction sans original : il manque content/{base}"),
                )),
            }
        }
        if originals.is_empty() {
            continue;
        }
        if let Some(s) = strings_for(&config.root, &config.theme, lang) {
            src.strings = s;
        }
        let cfg = config.for_language(lang);
        let mut m = match model::build_model(&cfg, &src, opts) {
            Ok(m) => m,
            Err(Error::Invalid(d)) => {
                // Problems of a translated file are reported on that file, not its original.
                diags.extend(d.0.into_iter().map(|mut x| {
                    if let Some(rel) = x.file.strip_prefix("content").ok().and_then(|r| originals.get(&r.to_string_lossy().replace('\\', "/")))
                    {
                        x.file = PathBuf::from("content").join(rel);
                    }
                    x
                }));
                continue;
            }
            Err(e) => return Err(e),
        };
        crate::images::process(&cfg, &src, &mut m, &config.root)?;
        let entries: Vec<usize> = (0..m.entries.len()).filter(|i| originals.contains_key(&m.entries[*i].source)).collect();
        for &i in &entries {
            let e = &mut m.entries[i];
            e.url = format!("/{lang}{}", e.url);
            m.links.insert(e.source.clone(), e.url.clone());
        }
        out.push(Built { lang: lang.clone(), config: cfg, sources: src, model: m, entries });
    }
    error::check(diags)?;
    // Every version of an entry lists the others.
    let mut versions: HashMap<String, Vec<Alternate>> = HashMap::new();
    for e in &main.entries {
        versions.entry(e.source.clone()).or_default().push(Alternate { lang: config.language.clone(), url: e.url.clone(), title: e.title.clone() });
    }
    for b in &out {
        for &i in &b.entries {
            let e = &b.model.entries[i];
            if let Some(v) = versions.get_mut(&e.source) {
                v.push(Alternate { lang: b.lang.clone(), url: e.url.clone(), title: e.title.clone() });
            }
        }
    }
    versions.retain(|_, v| v.len() > 1);
    main.translations = versions.clone();
    for b in &mut out {
        b.model.translations = versions.clone();
    }
    Ok(out)
}

/// Renders the translated entries of every language.
pub fn render(built: &[Built], opts: &render::RenderOptions) -> Result<Vec<Output>, Error> {
    let mut outputs = Vec::new();
    for b in built {
        let r = render::Renderer::new(&b.config, &b.model, &b.sources, opts)?;
        let jobs: Vec<Job> = b.entries.iter().map(|i| Job::Entry(*i)).collect();
        outputs.extend(r.render_jobs(&jobs)?);
    }
    Ok(outputs)
}

/// The output paths of [`render`].
pub fn paths(built: &[Built]) -> Vec<String> {
    built
        .iter()
        .flat_map(|b| b.entries.iter().flat_map(|i| render::job_paths(&b.config, &b.model, &b.sources, Job::Entry(*i))))
        .collect()
}

/// Adds `lang` and, when the entry exists in other languages, `translations`
/// (every version including this one: {lang, name, url, title, current}) to a card.
pub fn decorate_card(config: &Config, model: &Model, e: &model::Entry, card: &mut Map<String, Json>) {
    card.insert("lang".into(), Json::String(config.language.clone()));
    if let Some(v) = model.translations.get(&e.source) {
        let list: Vec<Json> = v
            .iter()
            .map(|a| json!({"lang": a.lang, "name": language_name(&a.lang), "url": a.url, "title": a.title, "current": a.lang == config.language}))
            .collect();
        card.insert("translations".into(), Json::Array(list));
    }
}

/// URL → its versions as (language, URL) pairs.
pub type AlternatesByUrl = HashMap<String, Vec<(String, String)>>;

/// For the sitemap: translated URLs to add, and the alternates of every URL that has some.
pub fn sitemap_alternates(model: &Model) -> (Vec<String>, AlternatesByUrl) {
    let mut extra = Vec::new();
    let mut alts = HashMap::new();
    let mut groups: Vec<&Vec<Alternate>> = model.translations.values().collect();
    groups.sort_by(|a, b| a[0].url.cmp(&b[0].url));
    for v in groups {
        let pairs: Vec<(String, String)> = v.iter().map(|a| (a.lang.clone(), a.url.clone())).collect();
        for (i, a) in v.iter().enumerate() {
            if i > 0 {
                extra.push(a.url.clone());
            }
            alts.insert(a.url.clone(), pairs.clone());
        }
    }
    (extra, alts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(translation_of("projects/foo.en.md"), Some(("en", "projects/foo.md".to_string())));
        assert_eq!(translation_of("projects/foo/index.de.md"), Some(("de", "projects/foo/index.md".to_string())));
        assert_eq!(translation_of("projects/foo.md"), None);
        assert_eq!(translation_of("projects/v2.0.md"), None);
        assert_eq!(translation_of("projects/.en.md"), None);
        assert_eq!(language_name("en"), "English");
    }

    #[test]
    fn numbers() {
        assert_eq!(format_number("fr", 12500), "12\u{202F}500");
        assert_eq!(format_number("en", 1234567), "1,234,567");
        assert_eq!(format_number("de", -12500), "-12.500");
        // Four-digit numbers stay whole in French, not in English.
        assert_eq!(format_number("fr", 2500), "2500");
        assert_eq!(format_number("en", 2500), "2,500");
        assert_eq!(format_number("en", 999), "999");
    }
}
