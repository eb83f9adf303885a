//! The site configuration (`vitrine.yaml`), parsed and then validated into `Config`.
//!
//! Parsing is strict: an unknown key anywhere is an error with its line and
//! column, because a misspelt option silently ignored is the worst kind of bug
//! for a correspondent. After parsing, `Config::from_raw` checks what serde
//! cannot (templates named, taxonomies that exist, references to known
//! collections, `values_from` lists present in `data/`) and compiles schemas.
//!
//! The names the config gives (site title and description, collections' and
//! taxonomies' titles) are in the site's language; `translations:` gives them in
//! other languages, and [`Config::for_language`] is the config that renders the
//! pages translated into one of them (a missing name falls back to the original).
//!
//! It does not read content or templates; the `data/` lists it checks come from
//! `data`, and the language codes from `locale`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::{self, Diagnostic, Error};
use crate::node::{self, Node, Pos};
use crate::schema::{self, DataLists, Kind, RawField, Schema};

/// The config file's name, at the site's root.
pub const CONFIG_FILE: &str = "vitrine.yaml";

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    title: String,
    #[serde(default)]
    description: String,
    base_url: String,
    #[serde(default = "default_language")]
    language: String,
    #[serde(default = "default_theme")]
    theme: String,
    #[serde(default = "default_paginate")]
    paginate: usize,
    #[serde(default = "default_timezone")]
    timezone: String,
    #[serde(default)]
    taxonomies: Vec<RawTaxonomy>,
    collections: IndexMap<String, RawCollection>,
    #[serde(default)]
    daemon: DaemonConfig,
    /// French typographic spacing and apostrophes; on by default for `language: fr`.
    typography: Option<bool>,
    /// Names of the site in other languages, by language code.
    #[serde(default)]
    translations: IndexMap<String, Translation>,
    /// Host names whose pictures a Markdown body may show (`![x](https://host/…)`);
    /// empty by default: pages load nothing from other sites.
    #[serde(default)]
    image_hosts: Vec<String>,
}

/// The JSON Schema of `vitrine.yaml` (draft 2020-12), generated from the
/// types the file is read into, so editors can complete and check it.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(RawConfig)).unwrap_or_default();
    if let Some(o) = schema.as_object_mut() {
        o.insert("title".into(), "vitrine.yaml".into());
        o.insert("description".into(), "Configuration d'un site vitrine".into());
    }
    schema
}

fn default_language() -> String {
    "fr".into()
}
fn default_theme() -> String {
    "default".into()
}
fn default_paginate() -> usize {
    12
}
fn default_timezone() -> String {
    "Europe/Paris".into()
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawTaxonomy {
    name: String,
    title: String,
    path: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawCollection {
    title: String,
    singular: Option<String>,
    path: Option<String>,
    dir: Option<String>,
    template: Option<String>,
    list_template: Option<String>,
    #[serde(default)]
    sort: Sort,
    paginate: Option<usize>,
    #[serde(default)]
    feed: bool,
    submit: Option<Submit>,
    #[serde(default)]
    fields: IndexMap<String, RawField>,
}

/// The names of the site in one other language (`translations.<code>`); every
/// key is optional and what is left out keeps the site language's name.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    /// The site's title in this language.
    pub title: Option<String>,
    /// The site's description in this language.
    pub description: Option<String>,
    /// Collection name → its title in this language.
    #[serde(default)]
    pub collections: IndexMap<String, TranslatedName>,
    /// Taxonomy name → its title in this language.
    #[serde(default)]
    pub taxonomies: IndexMap<String, TranslatedName>,
}

/// The title of a collection or taxonomy in another language.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TranslatedName {
    /// The title.
    pub title: String,
}

/// Order of a collection's listing.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Newest first (the default).
    #[default]
    DateDesc,
    /// Oldest first.
    DateAsc,
    /// By title, case-insensitive.
    Title,
}

/// A collection that teachers may submit entries to through the daemon.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Submit {
    /// Title of the form page.
    pub title: String,
    /// Text shown above the form.
    #[serde(default)]
    pub intro: String,
}

/// Settings of the moderation daemon (all optional).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Address to bind, `127.0.0.1:8080` by default.
    pub listen: Option<String>,
    /// Public URL prefix of the daemon's routes when it is not served with the site.
    #[serde(default)]
    pub url: String,
    /// Trust `X-Forwarded-For` (only behind a reverse proxy).
    #[serde(default)]
    pub trust_forwarded: bool,
    /// Mark cookies `Secure` (site served over HTTPS).
    #[serde(default)]
    pub secure_cookies: bool,
    /// Outgoing mail for notifications; none: `.eml` files only.
    pub smtp: Option<Smtp>,
    /// Months after a final decision (published or rejected) at which the
    /// submitter's name, e-mail address and notifications are erased by the
    /// daemon (at start and daily); 12 when absent, 0 never erases.
    pub retention_months: Option<u32>,
}

impl DaemonConfig {
    /// Default of [`DaemonConfig::retention_months`].
    pub const DEFAULT_RETENTION_MONTHS: u32 = 12;

    /// The retention period in months (0: no automatic erasure).
    pub fn retention_months(&self) -> u32 {
        self.retention_months.unwrap_or(Self::DEFAULT_RETENTION_MONTHS)
    }
}

/// How the daemon sends notifications by e-mail (`daemon.smtp`).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// The relay's host name.
    pub host: String,
    /// Its port (587 by default).
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// User name, when the relay wants one.
    pub username: Option<String>,
    /// Name of the environment variable holding the password (never the password itself).
    pub password_env: Option<String>,
    /// Sender address of notifications.
    pub from: String,
    /// Recipients of "new submission" notifications (required by the daemon when SMTP is used).
    #[serde(default)]
    pub moderators: Vec<String>,
    /// Encryption; by default `tls` on port 465, none towards a loopback relay, `starttls` otherwise.
    pub tls: Option<SmtpTls>,
}

/// How the daemon talks to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// No encryption: the daemon accepts it only towards a relay on the loopback interface.
    None,
}

fn default_smtp_port() -> u16 {
    587
}

/// A taxonomy (`taxonomies:` in `vitrine.yaml`).
#[derive(Debug, Clone)]
pub struct Taxonomy {
    /// Its name, as fields refer to it.
    pub name: String,
    /// Its title, as pages show it.
    pub title: String,
    /// URL prefix, without slashes.
    pub path: String,
}

impl Taxonomy {
    /// URL of the taxonomy's index page (`/pays/`).
    pub fn url(&self) -> String {
        format!("/{}/", self.path)
    }

    /// URL of the first page of one of its terms (`/pays/espagne/`).
    pub fn term_url(&self, slug: &str) -> String {
        format!("/{}/{slug}/", self.path)
    }
}

/// A collection (`collections:` in `vitrine.yaml`), schema compiled.
#[derive(Debug, Clone)]
pub struct Collection {
    /// Its name (the key in `collections:`).
    pub name: String,
    /// Its title, as pages show it.
    pub title: String,
    /// The name of one of its entries (`Projet`; its title when not given).
    pub singular: String,
    /// URL prefix without slashes; "" puts entries at the site root.
    pub path: String,
    /// Directory under `content/`; "" is `content/` itself.
    pub dir: String,
    /// Template of its entries' pages.
    pub template: String,
    /// Template of its listing; none: no listing.
    pub list_template: Option<String>,
    /// Order of its listing.
    pub sort: Sort,
    /// Entries per listing page; 0 lists them all on one page.
    pub paginate: usize,
    /// Whether it has an Atom feed.
    pub feed: bool,
    /// Whether (and how) teachers may submit entries.
    pub submit: Option<Submit>,
    /// What its entries may contain.
    pub schema: Schema,
}

impl Collection {
    /// URL of the listing (`/projets/`), or of the site root for `path: ""`.
    pub fn url(&self) -> String {
        if self.path.is_empty() { "/".into() } else { format!("/{}/", self.path) }
    }

    /// Output path of the collection's Atom feed (`projets/atom.xml`).
    pub fn feed_path(&self) -> String {
        format!("{}atom.xml", self.url().trim_start_matches('/'))
    }
    /// URL of an entry's page (`/projets/<slug>/`).
    pub fn entry_url(&self, slug: &str) -> String {
        if self.path.is_empty() { format!("/{slug}/") } else { format!("/{}/{slug}/", self.path) }
    }
}

/// The validated configuration of a site.
#[derive(Debug, Clone)]
pub struct Config {
    /// The site's directory.
    pub root: PathBuf,
    /// The site's title.
    pub title: String,
    /// The site's description.
    pub description: String,
    /// Without trailing slash.
    pub base_url: String,
    /// The site's language code (`fr`).
    pub language: String,
    /// Name of the theme under `themes/`.
    pub theme: String,
    /// Entries per term page, and per listing page of collections that do not say.
    pub paginate: usize,
    /// Time zone of dates, sessions and the build (`Europe/Paris`).
    pub timezone: String,
    /// The taxonomies, in file order.
    pub taxonomies: Vec<Taxonomy>,
    /// The collections, in file order.
    pub collections: Vec<Collection>,
    /// The daemon's settings.
    pub daemon: DaemonConfig,
    /// Apply `typography` (French rules) to rendered text.
    pub typography: bool,
    /// Names of the site in other languages (validated: known language codes
    /// other than `language`, existing collections and taxonomies).
    pub translations: BTreeMap<String, Translation>,
    /// Hosts (lowercase) from which Markdown bodies may show pictures; none by default.
    pub image_hosts: Vec<String>,
}

impl Config {
    /// Reads `vitrine.yaml` and the `data/` lists it may refer to.
    pub fn load(root: &Path) -> Result<Config, Error> {
        let data = crate::data::load(root)?;
        Self::load_with_data(root, &data.lists())
    }

    /// Reads `vitrine.yaml` under `root`, with the `data/` lists already read.
    pub fn load_with_data(root: &Path, data: &DataLists) -> Result<Config, Error> {
        let path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Self::parse(root, &text, data)
    }

    /// Parses and validates the text of `vitrine.yaml`; every problem is a diagnostic
    /// with its line and column.
    pub fn parse(root: &Path, text: &str, data: &DataLists) -> Result<Config, Error> {
        let raw: RawConfig = serde_saphyr::from_str(text)
            .map_err(|e| Error::Invalid(error::Diagnostics(vec![parse_error(text, &e)])))?;
        let tree = node::parse(text).ok();
        let mut problems: Vec<(String, String)> = Vec::new();
        let config = Self::from_raw(root, raw, data, &mut problems);
        let diags = problems
            .into_iter()
            .map(|(path, msg)| {
                let pos = tree.as_ref().map(|t| pos_of(t, &path)).unwrap_or_default();
                Diagnostic::new(CONFIG_FILE, pos, path, msg)
            })
            .collect();
        error::check(diags)?;
        Ok(config)
    }

    fn from_raw(root: &Path, raw: RawConfig, data: &DataLists, problems: &mut Vec<(String, String)>) -> Config {
        let base_url = raw.base_url.trim_end_matches('/').to_string();
        if !schema::is_http_url(&base_url) {
            problems.push(("base_url".into(), format!("« {base_url} » n'est pas une adresse http(s)")));
        }
        if jiff::tz::TimeZone::get(&raw.timezone).is_err() {
            problems.push(("timezone".into(), format!("fuseau horaire inconnu « {} »", raw.timezone)));
        }
        let mut taxonomies = Vec::new();
        for (i, t) in raw.taxonomies.into_iter().enumerate() {
            let path = t.path.unwrap_or_else(|| t.name.clone());
            if !schema::is_slug(&path) {
                problems.push((format!("taxonomies[{i}].path"), format!("« {path} » : lettres minuscules, chiffres et tirets")));
            }
            if taxonomies.iter().any(|x: &Taxonomy| x.name == t.name) {
                problems.push((format!("taxonomies[{i}].name"), format!("taxonomie « {} » en double", t.name)));
            }
            taxonomies.push(Taxonomy { name: t.name, title: t.title, path });
        }
        let mut collections: Vec<Collection> = Vec::new();
        for (name, c) in raw.collections {
            let at = format!("collections.{name}");
            let path = c.path.unwrap_or_else(|| name.clone());
            if !path.is_empty() && !path.split('/').all(schema::is_slug) {
                problems.push((format!("{at}.path"), format!("« {path} » : lettres minuscules, chiffres, tirets")));
            }
            let dir = c.dir.unwrap_or_else(|| name.clone());
            if dir.contains("..") || dir.starts_with('/') {
                problems.push((format!("{at}.dir"), format!("dossier invalide « {dir} »")));
            }
            let mut fields = vec![schema::title_field("Titre")];
            for (fname, f) in &c.fields {
                if fname == "title" || schema::FILE_ONLY_KEYS.contains(&fname.as_str()) {
                    problems.push((format!("{at}.fields.{fname}"), format!("« {fname} » est un champ prédéfini de toute entrée")));
                    continue;
                }
                fields.push(schema::compile_field(fname, f, &format!("{at}.fields.{fname}"), data, problems));
            }
            for (fname, msg) in (schema::Schema { fields: fields.clone() }).derive_problems() {
                problems.push((format!("{at}.fields.{fname}.derive.from"), msg));
            }
            let template = c.template.unwrap_or_else(|| "page.html".into());
            collections.push(Collection {
                name,
                singular: c.singular.unwrap_or_else(|| c.title.clone()),
                title: c.title,
                path,
                dir,
                template,
                list_template: c.list_template,
                sort: c.sort,
                paginate: c.paginate.unwrap_or(raw.paginate),
                feed: c.feed,
                submit: c.submit,
                schema: Schema { fields },
            });
        }
        // Cross-checks that need every collection and taxonomy.
        let names: BTreeSet<&str> = collections.iter().map(|c| c.name.as_str()).collect();
        let tax: BTreeSet<&str> = taxonomies.iter().map(|t| t.name.as_str()).collect();
        for c in &collections {
            for f in &c.schema.fields {
                check_field(f, &format!("collections.{}.fields.{}", c.name, f.name), &names, &tax, problems);
            }
        }
        let mut dirs = BTreeSet::new();
        for c in &collections {
            if !dirs.insert(c.dir.as_str()) {
                problems.push((format!("collections.{}.dir", c.name), format!("dossier « {} » déjà utilisé", c.dir)));
            }
        }
        let mut translations = BTreeMap::new();
        for (lang, t) in raw.translations {
            let at = format!("translations.{lang}");
            let codes: Vec<&str> = crate::locale::LANGUAGES.iter().map(|(c, _)| *c).collect();
            if !codes.contains(&lang.as_str()) {
                // "eng", "EN", "en-GB" → "en" (edit distance would suggest any two-letter code).
                let short: String = lang.chars().take_while(|c| c.is_ascii_alphabetic()).take(2).collect::<String>().to_lowercase();
                let hint = codes.iter().find(|c| **c == short).map(|s| format!(" ; vouliez-vous dire « {s} » ?")).unwrap_or_default();
                problems.push((at, format!("code de langue « {lang} » inconnu{hint} (codes possibles : {})", codes.join(", "))));
                continue;
            }
            if lang == raw.language {
                problems.push((at, format!("« {lang} » est la langue du site : ses noms sont ceux donnés en haut du fichier")));
                continue;
            }
            let known: Vec<&str> = names.iter().copied().collect();
            for name in t.collections.keys().filter(|n| !names.contains(n.as_str())) {
                let hint = schema::closest(name, &known).map(|s| format!(" ; vouliez-vous dire « {s} » ?")).unwrap_or_default();
                problems.push((format!("{at}.collections.{name}"), format!("collection « {name} » inconnue{hint} (collections : {})", known.join(", "))));
            }
            let known: Vec<&str> = taxonomies.iter().map(|t| t.name.as_str()).collect();
            for name in t.taxonomies.keys().filter(|n| !known.contains(&n.as_str())) {
                let hint = schema::closest(name, &known).map(|s| format!(" ; vouliez-vous dire « {s} » ?")).unwrap_or_default();
                let list = if known.is_empty() { "aucune n'est déclarée".to_string() } else { format!("taxonomies : {}", known.join(", ")) };
                problems.push((format!("{at}.taxonomies.{name}"), format!("taxonomie « {name} » inconnue{hint} ({list})")));
            }
            translations.insert(lang, t);
        }
        for (i, h) in raw.image_hosts.iter().enumerate() {
            let ok = !h.trim().is_empty() && h.trim().chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
            if !ok {
                problems.push((
                    format!("image_hosts[{i}]"),
                    format!("« {h} » n'est pas un nom d'hôte (par exemple images.example.org, sans https:// ni chemin)"),
                ));
            }
        }
        Config {
            root: root.to_path_buf(),
            title: raw.title,
            description: raw.description,
            base_url,
            typography: raw.typography.unwrap_or(raw.language == "fr"),
            language: raw.language,
            theme: raw.theme,
            paginate: raw.paginate,
            timezone: raw.timezone,
            taxonomies,
            collections,
            daemon: raw.daemon,
            translations,
            image_hosts: raw.image_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
        }
    }

    /// The config that renders pages in `lang`: that language, its names from
    /// `translations` where given (the site language's names otherwise), and
    /// French typography only for French.
    pub fn for_language(&self, lang: &str) -> Config {
        let mut cfg = self.clone();
        cfg.typography = self.typography && lang == "fr";
        cfg.language = lang.to_string();
        let Some(t) = self.translations.get(lang) else { return cfg };
        if let Some(title) = &t.title {
            cfg.title = title.clone();
        }
        if let Some(d) = &t.description {
            cfg.description = d.clone();
        }
        for c in &mut cfg.collections {
            if let Some(n) = t.collections.get(&c.name) {
                c.title = n.title.clone();
            }
        }
        for x in &mut cfg.taxonomies {
            if let Some(n) = t.taxonomies.get(&x.name) {
                x.title = n.title.clone();
            }
        }
        cfg
    }

    /// The collection named `name`.
    pub fn collection(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }

    /// The site's `content/` directory.
    pub fn content_dir(&self) -> PathBuf {
        self.root.join("content")
    }
}

fn check_field(f: &schema::Field, at: &str, names: &BTreeSet<&str>, tax: &BTreeSet<&str>, problems: &mut Vec<(String, String)>) {
    if let Some(t) = &f.taxonomy
        && !tax.contains(t.as_str())
    {
        problems.push((format!("{at}.taxonomy"), format!("taxonomie « {t} » non déclarée dans `taxonomies`")));
    }
    match &f.kind {
        Kind::Reference { collection } if !names.contains(collection.as_str()) => {
            problems.push((format!("{at}.collection"), format!("collection « {collection} » inconnue")));
        }
        Kind::Object { fields } => {
            for sub in fields {
                check_field(sub, &format!("{at}.fields.{}", sub.name), names, tax, problems);
            }
        }
        Kind::List { item } => check_field(item, &format!("{at}.item"), names, tax, problems),
        _ => {}
    }
}

/// A serde error on `vitrine.yaml` as a diagnostic naming the key at fault
/// (found from the error's position) and saying what is expected, in French.
fn parse_error(text: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let pos = e.location().map(|l| Pos { line: l.line() as u32, col: l.column() as u32 }).unwrap_or_default();
    let tree = node::parse(text).ok();
    let (at, is_key) = tree.as_ref().and_then(|t| t.path_at(pos)).unwrap_or_default();
    let (pos, field, message) = match e.without_snippet() {
        // Reported at the last key read in the mapping that lacks the field: name the
        // mapping instead, and point at where it starts.
        serde_saphyr::Error::SerdeMissingField { field, .. } => {
            let parent = if is_key { at.rsplit_once('.').map(|(p, _)| p).unwrap_or("") } else { at.as_str() };
            let pos = tree.as_ref().map(|t| t.pos_of(parent)).unwrap_or(pos);
            let f = if parent.is_empty() { field.to_string() } else { format!("{parent}.{field}") };
            return Diagnostic::new(CONFIG_FILE, pos, f, "clé obligatoire manquante");
        }
        serde_saphyr::Error::SerdeUnknownField { field, expected, .. } => {
            let hint = schema::closest(field, expected).map(|s| format!(" ; vouliez-vous dire « {s} » ?")).unwrap_or_default();
            (pos, at, format!("clé inconnue{hint} (clés possibles : {})", expected.join(", ")))
        }
        serde_saphyr::Error::SerdeUnknownVariant { variant, expected, .. } => {
            let hint = schema::closest(variant, expected).map(|s| format!(" ; vouliez-vous dire « {s} » ?")).unwrap_or_default();
            (pos, at, format!("valeur « {variant} » non permise{hint} (valeurs permises : {})", expected.join(", ")))
        }
        other => (pos, at, node::error_message(other)),
    };
    Diagnostic::new(CONFIG_FILE, pos, field, message)
}

fn pos_of(tree: &Node, path: &str) -> Pos {
    tree.pos_of(path)
}
