//! Reading the site's files from disk: content, data, templates, static files.
//!
//! This is the only stage that reads the site directory (apart from `config` and
//! `data`, which reads `data/` for both). It returns plain values; it does not
//! parse Markdown or validate front matter (that is `model`'s job), so it can be
//! re-run on a single file by the incremental path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value as Json;
use walkdir::WalkDir;

use crate::error::{self, Diagnostic, Error};
use crate::node::Pos;

/// The JSON value of a YAML node (kept here for callers of `load::to_json`).
pub use crate::node::to_json;

/// A Markdown file under `content/`.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to `content/`, with `/` separators (`projects/foo.md`).
    pub rel: String,
    /// The file's text.
    pub text: String,
}

/// A file copied as it is: `rel` is its path relative to its root
/// (`content/` for assets, the output directory for static files).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Asset {
    /// Path relative to its root, with `/` separators.
    pub rel: String,
    /// Where the file is on disk.
    pub src: PathBuf,
}

/// Template files: the theme's, then the site's own `templates/` overriding by name.
#[derive(Debug, Clone)]
pub struct Template {
    /// Name the templates know it by (`base.html`, `partials/card.html`).
    pub name: String,
    /// Its file on disk.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// Everything the build reads from the site's directory besides the config.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Markdown files under `content/`, by path.
    pub pages: Vec<SourceFile>,
    /// Other files under `content/` (pictures, PDFs).
    pub assets: Vec<Asset>,
    /// Static files, the site's over the theme's.
    pub statics: Vec<Asset>,
    /// Templates, the site's over the theme's.
    pub templates: Vec<Template>,
    /// Theme strings for the site language (`themes/<t>/i18n/<lang>.yaml`).
    pub strings: Json,
    /// The files of `data/` as one object by stem (filled by the caller from `Data`).
    pub data: Json,
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn rel_string(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn hidden(e: &walkdir::DirEntry) -> bool {
    e.depth() > 0 && e.file_name().to_str().is_some_and(|s| s.starts_with('.') || s.ends_with('~'))
}

/// Files below `dir` (recursively, hidden ones and editor backups skipped), sorted.
pub fn walk_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for e in WalkDir::new(dir).follow_links(true).into_iter().filter_entry(|e| !hidden(e)) {
        let e = e.map_err(|e| {
            let p = e.path().map(Path::to_path_buf).unwrap_or_else(|| dir.to_path_buf());
            Error::io(p, e.into_io_error().unwrap_or_else(|| std::io::Error::other("boucle de liens")))
        })?;
        if e.file_type().is_file() {
            out.push(e.into_path());
        }
    }
    out.sort();
    Ok(out)
}

/// Reads one content file (used by the incremental path too).
pub fn read_source(content_dir: &Path, path: &Path) -> Result<SourceFile, Error> {
    let rel = rel_string(path, content_dir);
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile { rel, text }),
        // A file saved in another encoding (Windows-1252…) is a content mistake, not an I/O failure.
        Err(e) => {
            let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
            let col = String::from_utf8_lossy(&before[before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)..]).chars().count() as u32 + 1;
            Err(Error::Invalid(error::Diagnostics(vec![Diagnostic::new(
                PathBuf::from("content").join(&rel),
                Pos { line, col },
                "",
                "le fichier n'est pas enregistré en UTF-8 (réenregistrez-le en UTF-8 depuis votre éditeur)",
            )])))
        }
    }
}

/// Reads everything the build needs besides the config and data.
pub fn load_sources(root: &Path, theme: &str, language: &str) -> Result<Sources, Error> {
    let content = root.join("content");
    let files = walk_files(&content)?;
    let (md, other): (Vec<PathBuf>, Vec<PathBuf>) =
        files.into_iter().partition(|p| p.extension().is_some_and(|e| e == "md"));
    let pages = md.par_iter().map(|p| read_source(&content, p)).collect::<Result<Vec<_>, _>>()?;
    let assets = other.into_iter().map(|p| Asset { rel: rel_string(&p, &content), src: p }).collect();

    let theme_dir = root.join("themes").join(theme);
    if !theme_dir.is_dir() {
        return Err(Error::Invalid(error::Diagnostics(vec![Diagnostic::new(
            crate::config::CONFIG_FILE,
            Default::default(),
            "theme",
            format!("thème introuvable : {}", theme_dir.display()),
        )])));
    }
    let statics = load_statics(root, theme)?;
    let templates = load_templates(root, theme)?;

    let strings_path = theme_dir.join("i18n").join(format!("{language}.yaml"));
    let strings = if strings_path.is_file() {
        crate::data::read_yaml(root, &strings_path).map_err(|d| Error::Invalid(error::Diagnostics(vec![d])))?
    } else {
        Json::Object(Default::default())
    };
    Ok(Sources { pages, assets, statics, templates, strings, data: Json::Null })
}

/// Static files: the site's own (`static/`) override the theme's with the same path.
pub fn load_statics(root: &Path, theme: &str) -> Result<Vec<Asset>, Error> {
    let theme_dir = root.join("themes").join(theme);
    let mut statics: BTreeMap<String, PathBuf> = BTreeMap::new();
    for base in [theme_dir.join("static"), root.join("static")] {
        for p in walk_files(&base)? {
            statics.insert(rel_string(&p, &base), p);
        }
    }
    Ok(statics.into_iter().map(|(rel, src)| Asset { rel, src }).collect())
}

/// Templates: the site's own (`templates/`) override the theme's with the same name.
pub fn load_templates(root: &Path, theme: &str) -> Result<Vec<Template>, Error> {
    let theme_dir = root.join("themes").join(theme);
    let mut templates: BTreeMap<String, PathBuf> = BTreeMap::new();
    for base in [theme_dir.join("templates"), root.join("templates")] {
        for p in walk_files(&base)? {
            templates.insert(rel_string(&p, &base), p);
        }
    }
    templates.into_iter().map(|(name, path)| Ok(Template { text: read(&path)?, name, path })).collect()
}
