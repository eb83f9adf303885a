//! Content translations: `foo.en.md` beside `foo.md` (or `index.en.md` in a
//! bundle) is the English version of `foo.md`, published at `/en/<its URL>`.
//!
//! How: translation files are taken out of the sources before the model is built
//! ([`split`]), so the site's model only sees the original language. For each
//! other language, a second model is built from the same sources with each
//! translated file standing in for its original ([`build`]): references,
//! taxonomies and `@/` links resolve as usual, and untranslated entries are still
//! there (their cards keep their original URLs: the clean fallback). Each
//! language's model is made by the function the pipeline gives [`build`] (its own
//! model and image stages), so this module imports no stage above `model`. Only the
//! translated entries of that model are rendered (`render::render_translations`),
//! by a renderer whose config
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
//! The list of languages and their names are `locale`'s. What it does not do:
//! render (that is `render`'s), translate listings, taxonomy pages, forms, feeds or
//! `_index.md` introductions (a `_index.en.md` is reported as a warning and
//! ignored; those pages keep the site language's names), or
//! publish a translation whose original does not exist (an error).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::config::Config;
use crate::error::{self, Diagnostic, Error};
use crate::load::{SourceFile, Sources};
use crate::locale;
use crate::model::{Alternate, Model};
use crate::node::Pos;

/// `projects/foo.en.md` → `("en", "projects/foo.md")`.
pub fn translation_of(rel: &str) -> Option<(&str, String)> {
    let stem = rel.strip_suffix(".md")?;
    let (base, lang) = stem.rsplit_once('.')?;
    if base.is_empty() || base.ends_with('/') || !locale::is_language(lang) {
        return None;
    }
    Some((lang, format!("{base}.md")))
}

/// Translation files by language: (translation file, the original's path).
#[derive(Debug, Clone, Default)]
pub struct Translations {
    /// Language code → (translation file, path of its original).
    pub files: BTreeMap<String, Vec<(SourceFile, String)>>,
    /// Translation files that are ignored (`_index.en.md`, the site's own language).
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
    /// Language code.
    pub lang: String,
    /// The site's config in that language (`Config::for_language`).
    pub config: Config,
    /// The sources with the translated files in place of their originals.
    pub sources: Sources,
    /// The model built from them.
    pub model: Model,
    /// Indices (in `model.entries`) of the entries that are translated.
    pub entries: Vec<usize>,
}

/// The theme's strings in `lang` (`themes/<theme>/i18n/<lang>.yaml`), if readable.
fn strings_for(site: &Path, theme: &str, lang: &str) -> Option<Json> {
    let path = site.join("themes").join(theme).join("i18n").join(format!("{lang}.yaml"));
    crate::data::read_yaml(site, &path).ok()
}

/// Builds the model of each language and links every version to the others
/// (`model.translations` of the main model and of each language's).
///
/// `build_model` turns one language's config and sources into its model: the
/// pipeline gives its own model and image stages ([`crate::pipeline::assemble`]),
/// so a language's model is made exactly as the site's. Its validation errors are
/// reported on the translated files, with every other language's.
pub fn build(
    config: &Config,
    sources: &Sources,
    main: &mut Model,
    tr: &Translations,
    build_model: &dyn Fn(&Config, &Sources) -> Result<Model, Error>,
) -> Result<Vec<Built>, Error> {
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
        let mut m = match build_model(&cfg, &src) {
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
    }
}
