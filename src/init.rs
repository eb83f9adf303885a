//! `vitrine init [DIR]`: a new site that builds at once, as `zola init` or
//! `hugo new site` make: `vitrine.yaml` (one `pages` collection, French), a
//! home page and a first page, and the default theme copied into `themes/`
//! (embedded in the binary, so the site can change it). It refuses a folder
//! that is not empty; it does not add collections with forms (see the
//! example site's `vitrine.yaml` for those).

use std::path::{Path, PathBuf};

/// The default theme's files, embedded at compile time.
const THEME: &[(&str, &[u8])] = &[
    ("themes/default/i18n/en.yaml", include_bytes!("../themes/default/i18n/en.yaml")),
    ("themes/default/i18n/fr.yaml", include_bytes!("../themes/default/i18n/fr.yaml")),
    ("themes/default/static/css/vitrine.css", include_bytes!("../themes/default/static/css/vitrine.css")),
    ("themes/default/static/img/favicon.svg", include_bytes!("../themes/default/static/img/favicon.svg")),
    ("themes/default/static/img/logo-inverse.svg", include_bytes!("../themes/default/static/img/logo-inverse.svg")),
    ("themes/default/static/img/logo.svg", include_bytes!("../themes/default/static/img/logo.svg")),
    ("themes/default/static/img/seal.svg", include_bytes!("../themes/default/static/img/seal.svg")),
    ("themes/default/static/js/search.js", include_bytes!("../themes/default/static/js/search.js")),
    ("themes/default/static/js/vitrine.js", include_bytes!("../themes/default/static/js/vitrine.js")),
    ("themes/default/templates/404.html", include_bytes!("../themes/default/templates/404.html")),
    ("themes/default/templates/base.html", include_bytes!("../themes/default/templates/base.html")),
    ("themes/default/templates/form.html", include_bytes!("../themes/default/templates/form.html")),
    ("themes/default/templates/index.html", include_bytes!("../themes/default/templates/index.html")),
    ("themes/default/templates/label.html", include_bytes!("../themes/default/templates/label.html")),
    ("themes/default/templates/labels.html", include_bytes!("../themes/default/templates/labels.html")),
    ("themes/default/templates/page.html", include_bytes!("../themes/default/templates/page.html")),
    ("themes/default/templates/partials/components.html", include_bytes!("../themes/default/templates/partials/components.html")),
    ("themes/default/templates/project.html", include_bytes!("../themes/default/templates/project.html")),
    ("themes/default/templates/projects.html", include_bytes!("../themes/default/templates/projects.html")),
    ("themes/default/templates/search.html", include_bytes!("../themes/default/templates/search.html")),
    ("themes/default/templates/taxonomy.html", include_bytes!("../themes/default/templates/taxonomy.html")),
    ("themes/default/templates/term.html", include_bytes!("../themes/default/templates/term.html")),
    ("themes/default/templates/training.html", include_bytes!("../themes/default/templates/training.html")),
    ("themes/default/templates/trainings.html", include_bytes!("../themes/default/templates/trainings.html")),
];

const CONFIG: &str = r#"# Site créé par `vitrine init`.
# Configuration du site : titre, adresse publique, langue, thème et collections
# (chaque collection porte son schéma, qui valide le front matter).
title: "Mon portail eTwinning"
description: "Les projets d'échanges scolaires européens de notre réseau."
base_url: "https://example.org"
language: fr
theme: default
paginate: 12

collections:
  pages:
    title: "Pages"
    singular: "Page"
    path: ""
    dir: pages
    template: page.html
    fields:
      summary: { type: text, label: "Résumé", max: 300 }
      menu: { type: integer, label: "Ordre dans le menu", min: 1, max: 20 }
"#;

const HOME: &str = "---\ntitle: \"Bienvenue\"\n---\n\nCe site a été créé par `vitrine init`. Modifiez `content/_index.md`, puis lancez `vitrine serve`.\n";
const PAGES_INDEX: &str = "---\ntitle: \"Pages\"\n---\n";
const ABOUT: &str = "---\ntitle: \"À propos\"\nsummary: \"Qui publie ce portail.\"\nmenu: 1\n---\n\nPrésentez ici votre réseau.\n";

/// Why `vitrine init` failed.
#[derive(Debug)]
pub enum InitError {
    /// The folder exists and is not empty.
    NotEmpty(PathBuf),
    /// Creating a folder or writing a file failed.
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitError::NotEmpty(p) => write!(f, "le dossier {} existe déjà et n'est pas vide", p.display()),
            InitError::Io(p, _) => write!(f, "{}", p.display()),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::NotEmpty(_) => None,
            InitError::Io(_, e) => Some(e),
        }
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), InitError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| InitError::Io(parent.to_owned(), e))?;
    }
    std::fs::write(path, bytes).map_err(|e| InitError::Io(path.to_owned(), e))
}

/// Creates the site in `dir` (created if needed; must be empty); returns the number of files written.
pub fn init(dir: &Path) -> Result<usize, InitError> {
    if dir.exists() {
        let mut rd = std::fs::read_dir(dir).map_err(|e| InitError::Io(dir.to_owned(), e))?;
        if rd.next().is_some() {
            return Err(InitError::NotEmpty(dir.to_owned()));
        }
    }
    write(&dir.join("vitrine.yaml"), CONFIG.as_bytes())?;
    write(&dir.join("content/_index.md"), HOME.as_bytes())?;
    write(&dir.join("content/pages/_index.md"), PAGES_INDEX.as_bytes())?;
    write(&dir.join("content/pages/a-propos.md"), ABOUT.as_bytes())?;
    write(&dir.join(".gitignore"), b"public/\n.vitrine/\n")?;
    for (path, bytes) in THEME {
        write(&dir.join(path), bytes)?;
    }
    Ok(4 + 1 + THEME.len())
}
