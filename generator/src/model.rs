//! From raw sources to a validated model of the site.
//!
//! Every content file is parsed and validated against its collection's schema
//! (in parallel), then cross-file rules are checked: duplicate slugs, references
//! to entries that do not exist, images that are not there. All problems of all
//! files are returned together. Drafts and entries dated in the future are
//! validated too, but left out of the model unless asked for.
//!
//! The model knows nothing about templates or HTML; Markdown bodies are kept as
//! text and rendered by `render`.
//!
//! For `vitrine serve`, `patch_entries` applies the usual edit (an existing entry
//! changed without changing the site's shape) to a model in place, giving the same
//! model as a full `build_model` without redoing the cross-file assembly.
//!
//! It also holds the model's shared rules: the term names a taxonomy field gives
//! ([`term_names`]; which taxonomy a field feeds is `schema::Field::feeds_taxonomy`)
//! and the language versions of an entry ([`Alternate`], filled by `i18n`). It
//! does not process images (`images`) or build translations (`i18n`): the
//! pipeline runs those after it.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use rayon::prelude::*;
use serde_json::{Map, Value as Json};

use crate::config::{Collection, Config, Sort};
use crate::error::{self, Diagnostic, Error};
use crate::field_path;
use crate::load::{Asset, Sources, SourceFile};
use crate::locale::slugify;
use crate::node::{self, Node, Pos, Value};
use crate::schema::{self, Field, Kind};

/// What varies between two builds of the same sources.
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// Publish drafts too.
    pub drafts: bool,
    /// Entries dated after this day are not published yet.
    pub today: jiff::civil::Date,
}

/// A published entry, validated.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Index of its collection in `Config::collections`.
    pub collection: usize,
    /// Its slug, unique in its collection.
    pub slug: String,
    /// URL of its page (`/projets/<slug>/`).
    pub url: String,
    /// Path relative to `content/`.
    pub source: String,
    /// Its title.
    pub title: String,
    /// Its `date`, if it has one.
    pub date: Option<jiff::civil::Date>,
    /// Whether it is a draft (published with `--drafts` only).
    pub draft: bool,
    /// Its other fields, validated (image values completed with their URLs and sizes).
    pub fields: Map<String, Json>,
    /// Its Markdown body.
    pub body: std::sync::Arc<str>,
    /// Line of the first body line in the file (for Markdown diagnostics).
    pub body_line: u32,
}

/// The `_index.md` of the home page or of a collection.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// Its title.
    pub title: String,
    /// Its Markdown introduction.
    pub body: String,
    /// Path relative to `content/`.
    pub source: String,
    /// Line of the first body line in the file.
    pub body_line: u32,
}

/// A term of a taxonomy (a country, a discipline) and the entries that have it.
#[derive(Debug, Clone)]
pub struct Term {
    /// Its name, as the first of its entries writes it.
    pub name: String,
    /// Its slug (URL of its pages).
    pub slug: String,
    /// Indices into `Model::entries`, in the order of their collection listing.
    pub entries: Vec<usize>,
}

/// The validated site: what rendering needs, and nothing about templates or HTML.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Published entries, in the order of their files.
    pub entries: Vec<Entry>,
    /// Per collection (config order), published entries in listing order.
    pub lists: Vec<Vec<usize>>,
    /// `content/_index.md`.
    pub home: Section,
    /// Per collection (config order), its `_index.md`, if any.
    pub sections: Vec<Option<Section>>,
    /// Per taxonomy (config order), terms sorted by slug.
    pub taxonomies: Vec<Vec<Term>>,
    /// Content-relative source path → URL, for `@/` links.
    pub links: HashMap<String, String>,
    /// Files copied next to the pages (output-relative path, source).
    pub assets: Vec<Asset>,
    /// For each entry, the entries of other collections that reference it.
    pub backrefs: Vec<Vec<usize>>,
    /// For each entry, its resolved references: (field name, entry indices).
    pub refs: Vec<Vec<(String, Vec<usize>)>>,
    /// Problems that do not stop the build (references to unpublished entries…).
    pub warnings: Vec<Diagnostic>,
    /// Source path → every language version of that entry (set by `i18n`; empty
    /// when the site has no translations).
    pub translations: HashMap<String, Vec<Alternate>>,
}

/// One version of an entry in another language (see `i18n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternate {
    /// Language code (`en`).
    pub lang: String,
    /// URL of that version.
    pub url: String,
    /// Its title.
    pub title: String,
}

/// Why a content file has no front matter [`split_front_matter`] can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrontMatterError {
    /// The file does not start with a `---` line.
    #[error("le fichier doit commencer par une ligne `---` suivie du front matter YAML")]
    NoStart,
    /// No `---` line ends the front matter.
    #[error("front matter non fermé : il manque la ligne `---` de fin")]
    NoEnd,
}

/// Splits `---\nYAML\n---\nbody`; returns (yaml, body, line of the body).
pub fn split_front_matter(text: &str) -> Result<(&str, &str, u32), FrontMatterError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")).ok_or(FrontMatterError::NoStart)?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let yaml = &rest[..offset];
            let body = &rest[offset + line.len()..];
            let body_line = 2 + yaml.lines().count() as u32 + 1;
            return Ok((yaml, body, body_line));
        }
        offset += line.len();
    }
    Err(FrontMatterError::NoEnd)
}

/// Where a content file belongs.
#[derive(Clone, PartialEq)]
enum Place {
    Home,
    Section(usize),
    Entry { collection: usize, slug: String, bundle: Option<String> },
}

fn place_of(config: &Config, rel: &str) -> Result<Place, String> {
    if rel == "_index.md" {
        return Ok(Place::Home);
    }
    // The collection whose directory is the longest prefix of the file's directory.
    let (dir, file) = rel.rsplit_once('/').unwrap_or(("", rel));
    let mut best: Option<(usize, &Collection)> = None;
    for (i, c) in config.collections.iter().enumerate() {
        let matches = c.dir.is_empty() || dir == c.dir || dir.starts_with(&format!("{}/", c.dir));
        if matches && best.is_none_or(|(_, b)| c.dir.len() > b.dir.len()) {
            best = Some((i, c));
        }
    }
    let Some((ci, c)) = best else {
        return Err(format!("aucune collection ne correspond au dossier « {dir} » (voir `dir` dans vitrine.yaml)"));
    };
    let inner = if c.dir.is_empty() { dir } else { dir[c.dir.len()..].trim_start_matches('/') };
    match (inner, file) {
        ("", "_index.md") => Ok(Place::Section(ci)),
        ("", f) => Ok(Place::Entry { collection: ci, slug: slugify(f.trim_end_matches(".md")), bundle: None }),
        (b, "index.md") if !b.contains('/') => {
            Ok(Place::Entry { collection: ci, slug: slugify(b), bundle: Some(dir.to_string()) })
        }
        _ => Err(format!(
            "emplacement non pris en charge : un fichier de la collection « {} » est soit `{}/nom.md`, soit `{}/nom/index.md`",
            c.name, c.dir, c.dir
        )),
    }
}

/// One parsed file, before cross-file checks.
#[derive(Clone)]
struct Parsed {
    place: Place,
    source: String,
    node: std::sync::Arc<Node>,
    title: String,
    date: Option<jiff::civil::Date>,
    draft: bool,
    fields: Map<String, Json>,
    body: std::sync::Arc<str>,
    body_line: u32,
    /// False when a field has errors: the entry is then only used for cross-file
    /// checks (duplicate slugs, its own references), so they are reported in the same run.
    valid: bool,
}

/// Parses and validates one file: `Err` when it cannot be read as an entry at all,
/// otherwise the entry (with only its valid fields) and its field errors.
fn parse_file(config: &Config, f: &SourceFile) -> Result<(Parsed, Vec<Diagnostic>), Vec<Diagnostic>> {
    let file = PathBuf::from("content").join(&f.rel);
    let d = |pos: Pos, field: &str, msg: String| Diagnostic::new(&file, pos, field, msg);
    let place = place_of(config, &f.rel).map_err(|m| vec![d(Pos { line: 1, col: 1 }, "", m)])?;
    let (yaml, body, body_line) = split_front_matter(&f.text).map_err(|e| vec![d(Pos { line: 1, col: 1 }, "", e.to_string())])?;
    // Positions from the YAML parser are relative to the front matter: shift by the `---` line.
    let mut node = node::parse(yaml).map_err(|e| vec![d(Pos { line: e.pos.line + 1, col: e.pos.col }, "", e.message)])?;
    shift(&mut node, 1);
    let mut errors = Vec::new();
    let (title, date, draft, fields) = match &place {
        Place::Home | Place::Section(_) => {
            // Sections only carry a title.
            let title_only = schema::Schema { fields: vec![schema::title_field("Titre")] };
            let (m, errs) = title_only.validate_node(&node, &[]);
            errors.extend(errs.into_iter().map(|e| d(e.pos, &e.field, e.message)));
            (m.get("title").and_then(Json::as_str).unwrap_or_default().to_string(), None, false, Map::new())
        }
        Place::Entry { collection, .. } => {
            let c = &config.collections[*collection];
            let (mut m, errs) = c.schema.validate_node(&node, schema::FILE_ONLY_KEYS);
            errors.extend(errs.into_iter().map(|e| d(e.pos, &e.field, e.message)));
            let mut date = None;
            let mut draft = false;
            if let Value::Map(entries) = &node.value {
                for (k, v) in entries {
                    match (k.name.as_str(), &v.value) {
                        ("date", Value::Str(s)) => match schema::parse_date(s.trim()) {
                            Some(x) => date = Some(x),
                            None => errors.push(d(v.pos, "date", format!("date invalide « {s} » : attendu AAAA-MM-JJ"))),
                        },
                        ("date", Value::Null) => {}
                        ("date", other) => errors.push(d(v.pos, "date", format!("attendu une date AAAA-MM-JJ, trouvé {}", other.kind_name()))),
                        ("draft", Value::Bool(b)) => draft = *b,
                        ("draft", other) => errors.push(d(v.pos, "draft", format!("attendu true ou false, trouvé {}", other.kind_name()))),
                        _ => {}
                    }
                }
            }
            let title = m.remove("title").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            (title, date, draft, m)
        }
    };
    let valid = errors.is_empty();
    Ok((Parsed { place, source: f.rel.clone(), node: node.into(), title, date, draft, fields, body: body.into(), body_line, valid }, errors))
}

/// Reads one content file (`rel` under `content/`, e.g. `projects/x/index.md`)
/// exactly as the build does (place, front matter, schema) and returns its
/// problems; empty when the build would accept it. For checking what will be
/// written before writing it.
pub fn check_entry(config: &Config, rel: &str, text: &str) -> Vec<Diagnostic> {
    match parse_file(config, &SourceFile { rel: rel.to_string(), text: text.to_string() }) {
        Ok((_, errors)) => errors,
        Err(errors) => errors,
    }
}

fn shift(n: &mut Node, lines: u32) {
    if n.pos.line > 0 {
        n.pos.line += lines;
    }
    match &mut n.value {
        Value::Seq(items) => items.iter_mut().for_each(|i| shift(i, lines)),
        Value::Map(m) => m.iter_mut().for_each(|(k, v)| {
            if k.pos.line > 0 {
                k.pos.line += lines;
            }
            shift(v, lines)
        }),
        _ => {}
    }
}

/// The term names a value of a taxonomy field gives (see
/// [`Field::feeds_taxonomy`]): its texts and numbers, or those of its items.
pub fn term_names(v: &Json) -> Vec<String> {
    let one = |x: &Json| match x {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match v {
        Json::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

type ParseResult = Result<(Parsed, Vec<Diagnostic>), Vec<Diagnostic>>;

/// Parse results of content files by path, so that the incremental path re-parses only
/// the files that changed. The caller says which ones did ([`ParseCache::forget`]):
/// hashing every text again to find out took longer, at 10,000 files, than the rest of
/// an edit. The length of the text is kept as a cheap guard. Only valid for one
/// configuration: drop it when `vitrine.yaml` or `data/` change.
#[derive(Default)]
pub struct ParseCache(HashMap<String, (usize, std::sync::Arc<ParseResult>)>);

/// One file's entry of a [`ParseCache`], taken out and put back around a trial build.
pub struct CachedParse((usize, std::sync::Arc<ParseResult>));

impl ParseCache {
    /// Forgets a file whose text changed (or that failed to build), so that the next
    /// build parses it again.
    pub fn forget(&mut self, rel: &str) {
        self.0.remove(rel);
    }

    /// The cached parse of `rel`, to [`ParseCache::restore`] after a trial build
    /// with another text (`incremental::Site::check_addition`): the next edit of
    /// that file can then still be patched in place.
    pub fn saved(&self, rel: &str) -> Option<CachedParse> {
        self.0.get(rel).cloned().map(CachedParse)
    }

    /// Puts back what [`ParseCache::saved`] returned.
    pub fn restore(&mut self, rel: &str, saved: CachedParse) {
        self.0.insert(rel.to_string(), saved.0);
    }

    /// Every page of `sources` parsed (in parallel), from the cache when it holds
    /// the file with a text of the same length; the cache then holds exactly these.
    fn parse_all(&mut self, config: &Config, sources: &Sources) -> Vec<std::sync::Arc<ParseResult>> {
        let fresh: Vec<std::sync::Arc<ParseResult>> = sources
            .pages
            .par_iter()
            .map(|f| match self.0.get(&f.rel) {
                Some((len, r)) if *len == f.text.len() => r.clone(),
                _ => std::sync::Arc::new(parse_file(config, f)),
            })
            .collect();
        self.0 = sources.pages.iter().zip(&fresh).map(|(f, r)| (f.rel.clone(), (f.text.len(), r.clone()))).collect();
        fresh
    }
}

/// Validates the sources into the site's model; every problem of every file is
/// returned together.
pub fn build_model(config: &Config, sources: &Sources, opts: &ModelOptions) -> Result<Model, Error> {
    build_model_cached(config, sources, opts, &mut ParseCache::default())
}

/// `build_model`, reusing (and refreshing) the parse results in `cache`. The steps:
/// parse every file (`ParseCache::parse_all`), place each one (home, section or
/// entry; duplicates, drafts and future entries sorted out: `place_files`), make
/// the published entries (`make_entries`) and place the assets (`place_assets`),
/// check references and images across files (`check_published`, `check_invalid`),
/// then, when nothing is wrong, order the listings (`listings`), gather the terms
/// (`taxonomies`) and the back-references (`backrefs`).
pub fn build_model_cached(config: &Config, sources: &Sources, opts: &ModelOptions, cache: &mut ParseCache) -> Result<Model, Error> {
    let fresh = cache.parse_all(config, sources);
    let mut diags = Vec::new();
    let mut parsed: Vec<&Parsed> = Vec::with_capacity(fresh.len());
    for r in &fresh {
        match &**r {
            Ok((p, d)) => {
                diags.extend(d.iter().cloned());
                parsed.push(p);
            }
            Err(d) => diags.extend(d.iter().cloned()),
        }
    }
    let mut model = Model { sections: vec![None; config.collections.len()], ..Default::default() };
    let Placed { known, bundles, entry_nodes, invalid, published } = place_files(config, opts, parsed, &mut model, &mut diags);
    model.entries = make_entries(published);
    model.assets = place_assets(config, sources, &model.entries, &bundles);
    let lookup = Lookup::new(config, &known);
    let refs = check_published(&lookup, &entry_nodes, &mut model, &mut diags);
    check_invalid(&lookup, &invalid, &mut diags);
    error::check(diags)?;
    model.lists = listings(config, &model.entries);
    model.taxonomies = taxonomies(config, &model);
    model.backrefs = backrefs(&model.entries, &refs);
    model.refs = refs;
    Ok(model)
}

/// The files of the site sorted out by [`place_files`]: what the next steps need
/// besides the model.
struct Placed<'a> {
    /// Every entry that exists (drafts and future ones too), for duplicate and
    /// reference checks: (collection, slug) → source.
    known: HashMap<(usize, String), String>,
    /// Bundle directory → index of its entry among the published ones.
    bundles: HashMap<String, usize>,
    /// The YAML tree of each published entry, for positions of cross-file errors.
    entry_nodes: Vec<std::sync::Arc<Node>>,
    /// Entries with field errors: (collection, source, YAML tree, valid fields).
    invalid: Vec<(usize, String, Node, Map<String, Json>)>,
    /// Published entries with their collection, slug and URL.
    published: Vec<(&'a Parsed, usize, &'a String, String)>,
}

/// Places every parsed file: the home page and sections go into `model` (with
/// their links), duplicate slugs are reported, entries with field errors are kept
/// aside for the reference checks, and published entries (not drafts, not dated
/// in the future, unless asked) get their URL and link.
fn place_files<'a>(config: &Config, opts: &ModelOptions, parsed: Vec<&'a Parsed>, model: &mut Model, diags: &mut Vec<Diagnostic>) -> Placed<'a> {
    let mut placed = Placed { known: HashMap::new(), bundles: HashMap::new(), entry_nodes: Vec::new(), invalid: Vec::new(), published: Vec::new() };
    for p in parsed {
        if !p.valid && !matches!(p.place, Place::Entry { .. }) {
            continue;
        }
        let section = |p: &Parsed| Section { title: p.title.clone(), body: p.body.to_string(), source: p.source.clone(), body_line: p.body_line };
        match &p.place {
            Place::Home => {
                model.links.insert(p.source.clone(), "/".into());
                model.home = section(p);
            }
            Place::Section(c) => {
                model.links.insert(p.source.clone(), config.collections[*c].url());
                model.sections[*c] = Some(section(p));
            }
            Place::Entry { collection, slug, bundle } => {
                let c = &config.collections[*collection];
                if let Some(other) = placed.known.insert((*collection, slug.clone()), p.source.clone()) {
                    diags.push(Diagnostic::new(
                        PathBuf::from("content").join(&p.source),
                        Pos { line: 1, col: 1 },
                        "",
                        format!("identifiant « {slug} » déjà utilisé dans la collection « {} » par content/{other}", c.name),
                    ));
                    continue;
                }
                if !p.valid {
                    placed.invalid.push((*collection, p.source.clone(), (*p.node).clone(), p.fields.clone()));
                    continue;
                }
                if !published(p, opts) {
                    continue;
                }
                let url = c.entry_url(slug);
                model.links.insert(p.source.clone(), url.clone());
                if let Some(b) = bundle {
                    placed.bundles.insert(b.clone(), placed.published.len());
                }
                placed.entry_nodes.push(p.node.clone());
                placed.published.push((p, *collection, slug, url));
            }
        }
    }
    placed
}

/// Whether a parsed entry is published by a build with `opts`.
fn published(p: &Parsed, opts: &ModelOptions) -> bool {
    (!p.draft || opts.drafts) && p.date.is_none_or(|d| d <= opts.today)
}

/// The published entries as `Entry` values, made in parallel (copying 10,000 field
/// maps is the costly part).
fn make_entries(published: Vec<(&Parsed, usize, &String, String)>) -> Vec<Entry> {
    published
        .into_par_iter()
        .map(|(p, collection, slug, url)| Entry {
            collection,
            slug: slug.clone(),
            url,
            source: p.source.clone(),
            title: p.title.clone(),
            date: p.date,
            draft: p.draft,
            fields: p.fields.clone(),
            body: p.body.clone(),
            body_line: p.body_line,
        })
        .collect()
}

/// Where the content's other files are published: files of a bundle follow their
/// entry; others follow their collection's URL prefix; files under a bundle's
/// subdirectories are left out.
fn place_assets(config: &Config, sources: &Sources, entries: &[Entry], bundles: &HashMap<String, usize>) -> Vec<Asset> {
    let mut assets = Vec::new();
    for a in &sources.assets {
        let (dir, file) = a.rel.rsplit_once('/').unwrap_or(("", a.rel.as_str()));
        if let Some(&e) = bundles.get(dir) {
            assets.push(Asset { rel: format!("{}{file}", entries[e].url.trim_start_matches('/')), src: a.src.clone() });
        } else if let Ok(Place::Entry { collection, .. }) = place_of(config, format!("{dir}/x.md").trim_start_matches('/')) {
            let c = &config.collections[collection];
            let inner = if c.dir.is_empty() { a.rel.as_str() } else { a.rel[c.dir.len()..].trim_start_matches('/') };
            let rel = if c.path.is_empty() { inner.to_string() } else { format!("{}/{inner}", c.path) };
            assets.push(Asset { rel, src: a.src.clone() });
        } else if !bundles.keys().any(|b| dir.starts_with(&format!("{b}/"))) {
            assets.push(Asset { rel: a.rel.clone(), src: a.src.clone() });
        }
    }
    assets
}

/// What the cross-file checks look entries up in.
struct Lookup<'a> {
    /// Every entry that exists: (collection, slug) → source.
    known: &'a HashMap<(usize, String), String>,
    /// Collection name → index.
    collections: HashMap<&'a str, usize>,
    /// Per collection, only the fields that can hold a reference or an image.
    linked: Vec<Vec<Field>>,
}

impl<'a> Lookup<'a> {
    fn new(config: &'a Config, known: &'a HashMap<(usize, String), String>) -> Self {
        Lookup {
            known,
            collections: config.collections.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect(),
            linked: config.collections.iter().map(|c| c.schema.fields.iter().filter(|f| holds_links(f)).cloned().collect()).collect(),
        }
    }

    /// A reference to an entry that does not exist, with the nearest slug as a hint.
    fn dangling(&self, file: &PathBuf, node: &Node, path: &str, slug: &str, collection: &str) -> Diagnostic {
        let tc = self.collections[collection];
        let names: Vec<&str> = self.known.keys().filter(|(k, _)| *k == tc).map(|(_, s)| s.as_str()).collect();
        let hint = schema::closest(slug, &names).map(|s| format!(" ; vouliez-vous dire « {s} » ?")).unwrap_or_default();
        Diagnostic::new(file, node.value_pos_of(path), path, format!("aucune entrée « {slug} » dans la collection « {collection} »{hint}"))
    }
}

/// Checks the references and images of the published entries: references are
/// resolved (a reference to an unpublished entry is a warning and is left out),
/// image values get their URL and size. Returns each entry's resolved references.
fn check_published(lookup: &Lookup, entry_nodes: &[std::sync::Arc<Node>], model: &mut Model, diags: &mut Vec<Diagnostic>) -> Vec<EntryRefs> {
    let slugs: HashMap<(usize, &str), usize> =
        model.entries.iter().enumerate().map(|(i, e)| ((e.collection, e.slug.as_str()), i)).collect();
    let asset_set: std::collections::HashSet<&str> = model.assets.iter().map(|a| a.rel.as_str()).collect();
    let mut refs: Vec<EntryRefs> = vec![Vec::new(); model.entries.len()];
    let mut image_fixes: Vec<(usize, String, Json)> = Vec::new();
    for (i, e) in model.entries.iter().enumerate() {
        let file = PathBuf::from("content").join(&e.source);
        let node = &entry_nodes[i];
        schema::visit_values(&lookup.linked[e.collection], &e.fields, &mut |field, path, v| match (&field.kind, v) {
            (Kind::Reference { collection }, Json::String(slug)) => {
                let tc = lookup.collections[collection.as_str()];
                match slugs.get(&(tc, slug.as_str())) {
                    Some(&t) => add_ref(&mut refs[i], &path, t),
                    None if lookup.known.contains_key(&(tc, slug.clone())) => model.warnings.push(Diagnostic::new(
                        &file,
                        node.value_pos_of(&path),
                        &path,
                        format!("« {slug} » n'est pas publié (brouillon ou date future) : la référence est ignorée"),
                    )),
                    None => diags.push(lookup.dangling(&file, node, &path, slug, collection)),
                }
            }
            (Kind::Image, Json::Object(m)) => {
                let src = m.get("src").and_then(Json::as_str).unwrap_or_default();
                let url = if src.starts_with('/') { src.to_string() } else { format!("{}{src}", e.url) };
                if !src.starts_with('/') && !asset_set.contains(url.trim_start_matches('/')) {
                    diags.push(Diagnostic::new(
                        &file,
                        node.value_pos_of(&format!("{path}.src")),
                        format!("{path}.src"),
                        format!("image « {src} » introuvable à côté de content/{}", e.source),
                    ));
                } else {
                    let mut m = m.clone();
                    m.insert("src".into(), Json::String(url.clone()));
                    if let Some(a) = model.assets.iter().find(|a| a.rel == url.trim_start_matches('/'))
                        && let Ok(size) = imagesize::size(&a.src)
                    {
                        m.insert("width".into(), Json::from(size.width));
                        m.insert("height".into(), Json::from(size.height));
                    }
                    image_fixes.push((i, path, Json::Object(m)));
                }
            }
            _ => {}
        });
    }
    for (i, path, v) in image_fixes {
        field_path::set(&mut model.entries[i].fields, &path, v);
    }
    refs
}

/// Checks the references of entries that have other errors too, so that one run
/// reports everything.
fn check_invalid(lookup: &Lookup, invalid: &[(usize, String, Node, Map<String, Json>)], diags: &mut Vec<Diagnostic>) {
    for (ci, source, node, fields) in invalid {
        let file = PathBuf::from("content").join(source);
        schema::visit_values(&lookup.linked[*ci], fields, &mut |field, path, v| {
            if let (Kind::Reference { collection }, Json::String(slug)) = (&field.kind, v) {
                let tc = lookup.collections[collection.as_str()];
                if !lookup.known.contains_key(&(tc, slug.clone())) {
                    diags.push(lookup.dangling(&file, node, &path, slug, collection));
                }
            }
        });
    }
}

/// Adds the reference at `path` to `target` to an entry's references, grouped by
/// top-level field in the order they are met.
fn add_ref(refs: &mut EntryRefs, path: &str, target: usize) {
    let top = field_path::top(path);
    match refs.iter_mut().find(|(f, _)| f == top) {
        Some((_, v)) => v.push(target),
        None => refs.push((top.to_string(), vec![target])),
    }
}

/// Every collection's published entries in listing order.
fn listings(config: &Config, entries: &[Entry]) -> Vec<Vec<usize>> {
    let mut lists = vec![Vec::new(); config.collections.len()];
    for (i, e) in entries.iter().enumerate() {
        lists[e.collection].push(i);
    }
    for (c, list) in config.collections.iter().zip(lists.iter_mut()) {
        list.sort_by(|a, b| listing_order(&config.language, c.sort, entries, *a, *b));
    }
    lists
}

/// Every taxonomy's terms, sorted by slug, each with its entries in listing order
/// (entries are walked in listing order so term pages inherit it). Names and slugs
/// of every entry's terms are computed first, in parallel (`slugify` is the costly
/// part); a term is named by its first entry.
fn taxonomies(config: &Config, model: &Model) -> Vec<Vec<Term>> {
    let tax_index: HashMap<&str, usize> = config.taxonomies.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
    let tax_fields: Vec<Vec<(&Field, usize)>> = config.collections.iter().map(|c| taxonomy_fields(c, &tax_index)).collect();
    let entry_terms: Vec<Vec<(usize, String, String)>> = model.entries.par_iter().map(|e| terms_of(&tax_fields[e.collection], e)).collect();
    let mut terms: Vec<BTreeMap<String, Term>> = vec![BTreeMap::new(); config.taxonomies.len()];
    for list in &model.lists {
        for &i in list {
            for (t, name, slug) in &entry_terms[i] {
                let term = terms[*t].entry(slug.clone()).or_insert_with(|| Term { name: name.clone(), slug: slug.clone(), entries: Vec::new() });
                if term.entries.last() != Some(&i) {
                    term.entries.push(i);
                }
            }
        }
    }
    terms.into_iter().map(|m| m.into_values().collect()).collect()
}

/// For each entry, the entries that reference it (who points at me), newest first.
fn backrefs(entries: &[Entry], refs: &[EntryRefs]) -> Vec<Vec<usize>> {
    let mut backrefs = vec![Vec::new(); entries.len()];
    for (i, r) in refs.iter().enumerate() {
        for (_, targets) in r {
            for &t in targets {
                backrefs[t].push(i);
            }
        }
    }
    for b in &mut backrefs {
        sort_backrefs(entries, b);
    }
    backrefs
}

/// The order of a collection's listing. A total order (slugs are unique within a
/// collection), so a binary search finds the place a full sort would give.
fn listing_order(lang: &str, sort: Sort, es: &[Entry], a: usize, b: usize) -> std::cmp::Ordering {
    let (x, y) = (&es[a], &es[b]);
    match sort {
        Sort::DateDesc => y.date.cmp(&x.date).then_with(|| (&x.title, &x.slug).cmp(&(&y.title, &y.slug))),
        Sort::DateAsc => (x.date, &x.slug).cmp(&(y.date, &y.slug)),
        Sort::Title => crate::locale::collate(lang, &x.title, &y.title).then_with(|| x.slug.cmp(&y.slug)),
    }
}

/// The order of a term's entries: collections in config order, each in listing order
/// (the order in which `build_model` walks them).
fn term_order(config: &Config, es: &[Entry], a: usize, b: usize) -> std::cmp::Ordering {
    let (ca, cb) = (es[a].collection, es[b].collection);
    ca.cmp(&cb).then_with(|| listing_order(&config.language, config.collections[ca].sort, es, a, b))
}

/// Newest referencing entries first, then in entry order.
fn sort_backrefs(es: &[Entry], b: &mut [usize]) {
    b.sort_by(|x, y| (es[*y].date, *x).cmp(&(es[*x].date, *y)));
}

/// Whether a value of this field can hold a reference or an image (what the
/// cross-file checks look at).
fn holds_links(f: &Field) -> bool {
    match &f.kind {
        Kind::Reference { .. } | Kind::Image => true,
        Kind::List { item } => holds_links(item),
        Kind::Object { fields } => fields.iter().any(holds_links),
        _ => false,
    }
}

/// The fields of a collection that feed a taxonomy, with the taxonomy's index.
fn taxonomy_fields<'a>(c: &'a Collection, tax_index: &HashMap<&str, usize>) -> Vec<(&'a Field, usize)> {
    c.schema
        .fields
        .iter()
        .filter_map(|f| Some((f, tax_index[f.feeds_taxonomy()?])))
        .collect()
}

/// An entry's terms as (taxonomy index, name, slug), in the order `build_model` meets them.
fn entry_terms(config: &Config, e: &Entry) -> Vec<(usize, String, String)> {
    let tax_index: HashMap<&str, usize> = config.taxonomies.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
    terms_of(&taxonomy_fields(&config.collections[e.collection], &tax_index), e)
}

/// `entry_terms`, given the taxonomy fields of the entry's collection.
fn terms_of(tax_fields: &[(&Field, usize)], e: &Entry) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for (f, t) in tax_fields {
        if let Some(v) = e.fields.get(&f.name) {
            out.extend(term_names(v).into_iter().map(|name| {
                let slug = slugify(&name);
                (*t, name, slug)
            }));
        }
    }
    out
}

/// The references of an entry resolved to published entries, as `build_model` groups
/// them (by top-level field); `None` when one of them is not a published entry.
fn resolve_refs(config: &Config, model: &Model, collection: usize, fields: &Map<String, Json>) -> Option<EntryRefs> {
    let mut refs: EntryRefs = Vec::new();
    let mut resolved = true;
    schema::visit_values(&config.collections[collection].schema.fields, fields, &mut |field, path, v| {
        if let (Kind::Reference { collection: target }, Json::String(slug)) = (&field.kind, v) {
            let found = config
                .collections
                .iter()
                .position(|c| c.name == *target)
                .and_then(|tc| model.lists[tc].iter().copied().find(|t| model.entries[*t].slug == *slug));
            let Some(t) = found else {
                resolved = false;
                return;
            };
            add_ref(&mut refs, &path, t);
        }
    });
    resolved.then_some(refs)
}

/// An entry's resolved references: (field name, entry indices), as in `Model::refs`.
type EntryRefs = Vec<(String, Vec<usize>)>;

/// What [`patch_entries`] changed: what the incremental path needs to find the pages
/// to re-render, and what it takes to put the model back when rendering fails.
pub struct Patch {
    /// Entries whose file changed (indices do not move: the set of entries is the same).
    pub changed: Vec<usize>,
    /// The changed entries, the entries they reference (before and after) and the
    /// entries that reference them: every entry whose full card can show a changed one.
    pub touched: std::collections::BTreeSet<usize>,
    /// The changed entries as they were.
    pub old_entries: Vec<(usize, Entry)>,
    old_refs: Vec<(usize, EntryRefs)>,
    old_backrefs: Vec<(usize, Vec<usize>)>,
    /// Listings that were re-ordered, as they were.
    pub old_lists: Vec<(usize, Vec<usize>)>,
    /// Taxonomies whose terms were updated, as they were.
    pub old_taxonomies: Vec<(usize, Vec<Term>)>,
}

impl Patch {
    /// Puts the model back as it was before the patch.
    pub fn undo(self, model: &mut Model) {
        for (i, e) in self.old_entries {
            model.entries[i] = e;
        }
        for (i, r) in self.old_refs {
            model.refs[i] = r;
        }
        for (i, b) in self.old_backrefs {
            model.backrefs[i] = b;
        }
        for (c, l) in self.old_lists {
            model.lists[c] = l;
        }
        for (t, terms) in self.old_taxonomies {
            model.taxonomies[t] = terms;
        }
    }
}

/// Edits of published entries that keep the shape of the site (same file, collection
/// and slug, still published, no errors or warnings, references to published entries,
/// image values unchanged), applied to the model in place: the entry is replaced, its
/// references and the back-references they feed are updated, and it is moved within
/// its listing and its terms by binary search in the orders `build_model` sorts by.
/// The result is the model `build_model` would give for the same sources.
///
/// Returns `None`, with the model and the cache untouched, for any other change (new,
/// deleted or renamed files, slug changes, drafts, errors, sections…): the caller then
/// rebuilds the model with [`build_model_cached`], which reports errors properly.
pub fn patch_entries(
    config: &Config,
    model: &mut Model,
    sources: &Sources,
    changed: &[String],
    opts: &ModelOptions,
    cache: &mut ParseCache,
) -> Option<Patch> {
    // Every file is checked before the model is touched.
    let edits: Vec<Edit> = changed.iter().map(|rel| check_edit(config, model, sources, rel, opts, cache)).collect::<Option<_>>()?;
    let mut patch = Patch {
        changed: Vec::new(),
        touched: Default::default(),
        old_entries: Vec::new(),
        old_refs: Vec::new(),
        old_backrefs: Vec::new(),
        old_lists: Vec::new(),
        old_taxonomies: Vec::new(),
    };
    for edit in edits {
        cache.0.insert(edit.entry.source.clone(), (edit.len, edit.parsed));
        patch.apply(config, model, edit.index, edit.entry, edit.refs);
    }
    Some(patch)
}

/// One edit [`patch_entries`] can apply: the entry at `index` becomes `entry`.
struct Edit {
    index: usize,
    entry: Entry,
    refs: EntryRefs,
    /// Length of the file's text and its parse result, for the parse cache.
    len: usize,
    parsed: std::sync::Arc<ParseResult>,
}

/// The edit of the published entry file `rel`, or `None` when it changes the site's
/// shape: a file that is not a published entry before and after, an error or a
/// warning, another place (collection or slug), other image values, or a reference
/// to an entry that is not published.
fn check_edit(config: &Config, model: &Model, sources: &Sources, rel: &str, opts: &ModelOptions, cache: &ParseCache) -> Option<Edit> {
    let f = sources.pages.iter().find(|f| f.rel == rel)?;
    let Ok((old, old_diags)) = &*cache.0.get(rel)?.1 else { return None };
    let fresh = std::sync::Arc::new(parse_file(config, f));
    let Ok((new, diags)) = &*fresh else { return None };
    if !diags.is_empty() || !old_diags.is_empty() || !new.valid || !old.valid || new.place != old.place {
        return None;
    }
    let Place::Entry { collection, .. } = new.place else { return None };
    let file = PathBuf::from("content").join(rel);
    if !published(new, opts) || model.warnings.iter().any(|w| w.file == file) {
        return None;
    }
    let i = model.entries.iter().position(|e| e.source == rel)?;
    // Image values are completed from the assets (size, variants): keep the completed
    // ones when the values written in the file did not change.
    let images = |p: &Parsed| {
        let mut found = Vec::new();
        schema::visit_values(&config.collections[collection].schema.fields, &p.fields, &mut |field, path, v| {
            if matches!(field.kind, Kind::Image) {
                found.push((path, v.clone()));
            }
        });
        found
    };
    let new_images = images(new);
    if new_images != images(old) {
        return None;
    }
    let mut fields = new.fields.clone();
    for (path, _) in &new_images {
        field_path::set(&mut fields, path, field_path::get(&model.entries[i].fields, path)?.clone());
    }
    let refs = resolve_refs(config, model, collection, &fields)?;
    let e = &model.entries[i];
    let entry = Entry {
        collection,
        slug: e.slug.clone(),
        url: e.url.clone(),
        source: rel.to_string(),
        title: new.title.clone(),
        date: new.date,
        draft: new.draft,
        fields,
        body: new.body.clone(),
        body_line: new.body_line,
    };
    Some(Edit { index: i, entry, refs, len: f.text.len(), parsed: fresh.clone() })
}

impl Patch {
    /// Puts `entry` and its references in place of entry `i`, then updates the
    /// back-references, the listing and the terms it feeds, remembering what they were.
    fn apply(&mut self, config: &Config, model: &mut Model, i: usize, entry: Entry, refs: EntryRefs) {
        let old_entry = std::mem::replace(&mut model.entries[i], entry);
        let old_refs = std::mem::replace(&mut model.refs[i], refs);
        self.update_backrefs(model, i, &old_refs);
        self.move_in_listing(config, model, i);
        self.move_in_terms(config, model, i, &old_entry);
        self.changed.push(i);
        self.old_entries.push((i, old_entry));
        self.old_refs.push((i, old_refs));
    }

    /// Back-references of the entries entry `i` pointed at (`old_refs`) or points at now.
    fn update_backrefs(&mut self, model: &mut Model, i: usize, old_refs: &EntryRefs) {
        let targets: std::collections::BTreeSet<usize> =
            old_refs.iter().chain(&model.refs[i]).flat_map(|(_, t)| t.iter().copied()).collect();
        for &t in &targets {
            if !self.old_backrefs.iter().any(|(x, _)| *x == t) {
                self.old_backrefs.push((t, model.backrefs[t].clone()));
            }
            model.backrefs[t].retain(|b| *b != i);
        }
        for (_, ts) in &model.refs[i] {
            for &t in ts {
                model.backrefs[t].push(i);
            }
        }
        for &t in &targets {
            sort_backrefs(&model.entries, &mut model.backrefs[t]);
        }
        self.touched.insert(i);
        self.touched.extend(&targets);
        self.touched.extend(&model.backrefs[i]);
    }

    /// Entry `i` out of its old place in its listing, into the one its (new) date or title gives.
    fn move_in_listing(&mut self, config: &Config, model: &mut Model, i: usize) {
        let ci = model.entries[i].collection;
        if !self.old_lists.iter().any(|(c, _)| *c == ci) {
            self.old_lists.push((ci, model.lists[ci].clone()));
        }
        let sort = config.collections[ci].sort;
        let list = &mut model.lists[ci];
        list.retain(|x| *x != i);
        let at = list.binary_search_by(|x| listing_order(&config.language, sort, &model.entries, *x, i)).unwrap_or_else(|at| at);
        list.insert(at, i);
    }

    /// Entry `i` out of the terms `old_entry` had, into its new ones at their place;
    /// empty terms go, and a term is named by its first entry, as in `build_model`.
    fn move_in_terms(&mut self, config: &Config, model: &mut Model, i: usize, old_entry: &Entry) {
        let old_terms = entry_terms(config, old_entry);
        let new_terms = entry_terms(config, &model.entries[i]);
        for (ti, _, _) in old_terms.iter().chain(&new_terms) {
            if !self.old_taxonomies.iter().any(|(t, _)| t == ti) {
                self.old_taxonomies.push((*ti, model.taxonomies[*ti].clone()));
            }
        }
        for (ti, _, slug) in &old_terms {
            if let Ok(k) = model.taxonomies[*ti].binary_search_by(|t| t.slug.as_str().cmp(slug)) {
                model.taxonomies[*ti][k].entries.retain(|x| *x != i);
            }
        }
        for (ti, name, slug) in &new_terms {
            let terms = &mut model.taxonomies[*ti];
            match terms.binary_search_by(|t| t.slug.as_str().cmp(slug)) {
                Ok(k) => {
                    let es = &mut terms[k].entries;
                    if !es.contains(&i) {
                        let at = es.binary_search_by(|x| term_order(config, &model.entries, *x, i)).unwrap_or_else(|at| at);
                        es.insert(at, i);
                    }
                }
                Err(k) => terms.insert(k, Term { name: name.clone(), slug: slug.clone(), entries: vec![i] }),
            }
        }
        for (ti, _, slug) in old_terms.iter().chain(&new_terms) {
            let Ok(k) = model.taxonomies[*ti].binary_search_by(|t| t.slug.as_str().cmp(slug)) else { continue };
            let Some(&first) = model.taxonomies[*ti][k].entries.first() else {
                model.taxonomies[*ti].remove(k);
                continue;
            };
            if let Some((_, name, _)) = entry_terms(config, &model.entries[first]).into_iter().find(|(t, _, s)| t == ti && s == slug) {
                model.taxonomies[*ti][k].name = name;
            }
        }
    }
}
