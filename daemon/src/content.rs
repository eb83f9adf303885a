//! The entries of `content/` as the correspondents' editor sees them
//! (`/moderation/contenus`): every collection's files (written by hand or
//! published from the queue) listed, one entry opened as form values, and
//! the files written back, each change keeping the previous version.
//!
//! What it guarantees:
//! - an entry is found from its collection and slug only ([`locate`]): the slug
//!   must be a slug (ASCII letters, digits, dashes), so no path can be smuggled
//!   in, and the file is `content/<dir>/<slug>.md` or `<dir>/<slug>/index.md`;
//! - [`replace`] refuses to write when the file is no longer the one the form
//!   was opened on (its content hash, [`hash`], differs: another correspondent
//!   saved, or the file was edited on disk), and otherwise first copies the
//!   current file to `.vitrine/history/<collection>/<slug>/<version>.md`
//!   (a new file, never overwritten), then replaces it atomically (unique
//!   temporary file in the same folder, fsync, rename, folder fsync);
//! - a new entry is a new bundle ([`create`]), whose folder is created with
//!   `create_dir` (never an existing one) and whose files are linked without
//!   replacing anything, `index.md` last; uploaded pictures get new file names
//!   ([`picture_name`]), so the pictures an older version names stay on disk;
//! - withdrawing is `draft: true` in the front matter ([`set_draft`]): the
//!   file stays, the build leaves it out of the site.
//!
//! Not here: validation (the caller uses [`crate::submission::check_draft`]
//! and the site check of [`crate::editor`]), rebuilding, the journal (SQL in
//! [`crate::entry_log`]), git ([`crate::git`]), HTTP.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use vitrine_generator::config::{Collection, Config};
use vitrine_generator::schema;

use crate::publish::{PublishError, sync_dir, write_new_file};

/// What went wrong with an entry's files.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// No collection of that name in `vitrine.yaml`.
    #[error("type de contenu inconnu « {0} »")]
    UnknownCollection(String),
    /// The slug is not a slug, or no file holds that entry.
    #[error("entrée introuvable « {0} »")]
    NotFound(String),
    /// The file changed since the form was opened (hash mismatch).
    #[error(
        "cette entrée a été modifiée depuis l'ouverture du formulaire (par une autre personne ou directement sur le serveur) : \
         rien n'a été enregistré. Rechargez la page pour voir la version actuelle, puis refaites vos changements."
    )]
    Changed,
    /// The file cannot be read as an entry (no front matter, broken YAML).
    #[error("{0}")]
    Unreadable(String),
    /// Reading, writing, syncing failed.
    #[error(transparent)]
    Write(#[from] PublishError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ContentError + '_ {
    move |source| ContentError::Write(PublishError::Io { path: path.to_owned(), source })
}

/// Where an entry's text lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFile {
    /// The collection's name.
    pub collection: String,
    /// The entry's slug (file stem or bundle folder name).
    pub slug: String,
    /// The Markdown file relative to `content/` (`trainings/x.md`, `projects/y/index.md`).
    pub rel: String,
    /// The Markdown file on disk.
    pub path: PathBuf,
    /// Whether the entry is a bundle (`<slug>/index.md`, pictures beside it).
    pub bundle: bool,
}

impl EntryFile {
    /// The key of the entry in the journal: `collection/slug`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.collection, self.slug)
    }

    /// The files a change of this entry touches, relative to the site (for git).
    pub fn site_rel(&self) -> String {
        format!("content/{}", self.rel)
    }
}

/// Whether an entry is on the public site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Published.
    Published,
    /// `draft: true`: kept, not on the site.
    Withdrawn,
    /// Dated in the future: published on that day's build.
    Scheduled,
    /// The file cannot be read (broken front matter).
    Unreadable,
}

impl EntryState {
    /// French label.
    pub fn label(self) -> &'static str {
        match self {
            EntryState::Published => "en ligne",
            EntryState::Withdrawn => "retirée",
            EntryState::Scheduled => "programmée",
            EntryState::Unreadable => "illisible",
        }
    }
}

/// One entry of the list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    /// The collection's name.
    pub collection: String,
    /// The entry's slug.
    pub slug: String,
    /// Its title (the file name when it has none).
    pub title: String,
    /// Its date (`YYYY-MM-DD`), if any.
    pub date: Option<String>,
    /// Whether it is on the site.
    pub state: EntryState,
}

/// An entry opened for editing.
#[derive(Debug, Clone)]
pub struct Opened {
    /// Where it lives.
    pub file: EntryFile,
    /// Its text as read.
    pub text: String,
    /// [`hash`] of that text: the form carries it back.
    pub hash: String,
    /// The front matter as form values (`date` and `draft` taken out).
    pub fields: Map<String, Json>,
    /// `date`, as written.
    pub date: Option<String>,
    /// `draft: true`.
    pub draft: bool,
    /// The Markdown body.
    pub body: String,
}

/// Content hash of an entry's text (SHA-256, hex).
pub fn hash(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The collection `name`.
pub fn collection<'a>(config: &'a Config, name: &str) -> Result<&'a Collection, ContentError> {
    config.collection(name).ok_or_else(|| ContentError::UnknownCollection(name.chars().take(60).collect()))
}

/// Finds the file of entry `slug` in `collection`. Only a slug is accepted.
pub fn locate(config: &Config, collection_name: &str, slug: &str) -> Result<EntryFile, ContentError> {
    let c = collection(config, collection_name)?;
    if !schema::is_slug(slug) {
        return Err(ContentError::NotFound(slug.chars().take(60).collect()));
    }
    let dir = config.content_dir().join(&c.dir);
    let prefix = if c.dir.is_empty() { String::new() } else { format!("{}/", c.dir) };
    let single = dir.join(format!("{slug}.md"));
    if single.is_file() {
        return Ok(EntryFile { collection: c.name.clone(), slug: slug.into(), rel: format!("{prefix}{slug}.md"), path: single, bundle: false });
    }
    let index = dir.join(slug).join("index.md");
    if index.is_file() {
        return Ok(EntryFile { collection: c.name.clone(), slug: slug.into(), rel: format!("{prefix}{slug}/index.md"), path: index, bundle: true });
    }
    Err(ContentError::NotFound(slug.into()))
}

/// The front matter of `text` as JSON, and the body.
fn front_matter(text: &str) -> Result<(Map<String, Json>, String), String> {
    let (yaml, body, _) = vitrine_generator::model::split_front_matter(text).map_err(|e| e.to_string())?;
    let node = vitrine_generator::node::parse(yaml).map_err(|e| format!("ligne {} : {}", e.pos.line + 1, e.message))?;
    match vitrine_generator::node::to_json(&node) {
        Json::Object(m) => Ok((m, body.to_string())),
        Json::Null => Ok((Map::new(), body.to_string())),
        _ => Err("le front matter n'est pas une liste de clés".into()),
    }
}

fn date_of(v: Option<&Json>) -> Option<String> {
    v.and_then(Json::as_str).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Reads an entry for the form.
pub fn open(file: &EntryFile) -> Result<Opened, ContentError> {
    let text = std::fs::read_to_string(&file.path).map_err(io(&file.path))?;
    let (mut fields, body) = front_matter(&text).map_err(|e| ContentError::Unreadable(format!("content/{} : {e}", file.rel)))?;
    let date = date_of(fields.get("date"));
    let draft = fields.get("draft").and_then(Json::as_bool).unwrap_or(false);
    fields.remove("date");
    fields.remove("draft");
    let body = body.trim_start_matches(['\n', '\r']).to_string();
    Ok(Opened { file: file.clone(), hash: hash(&text), text, fields, date, draft, body })
}

/// What [`list`] read of each file (title, date, draft; `None` when unreadable),
/// kept between requests with the file's size and modification time: a file is
/// parsed again only when one of them changed (a site of 10,000 entries is then
/// listed from 10,000 `stat` calls, not 10,000 YAML parses).
#[derive(Default)]
pub struct ListCache(std::sync::Mutex<HashMap<PathBuf, Cached>>);

type Summary = Option<(Option<String>, Option<String>, bool)>;
type Cached = (Option<std::time::SystemTime>, u64, Summary);

fn summary(file: &Path) -> Summary {
    let text = std::fs::read_to_string(file).ok()?;
    let (fm, _) = front_matter(&text).ok()?;
    let title = fm.get("title").and_then(Json::as_str).map(str::to_string);
    Some((title, date_of(fm.get("date")), fm.get("draft").and_then(Json::as_bool).unwrap_or(false)))
}

/// Every entry of every collection (or of `only`), newest first (by date,
/// then title); hand-written files included. Translations (`x.en.md`) and
/// section pages (`_index.md`) are not entries.
pub fn list(config: &Config, only: Option<&str>, today: &str, cache: &ListCache) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut cache = cache.0.lock().unwrap_or_else(|p| p.into_inner());
    let others: Vec<&str> = config.collections.iter().map(|c| c.dir.as_str()).filter(|d| !d.is_empty()).collect();
    for c in config.collections.iter().filter(|c| only.is_none_or(|o| o == c.name)) {
        let dir = config.content_dir().join(&c.dir);
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let p = e.path();
            let (slug, file) = if p.is_dir() {
                if c.dir.is_empty() && others.contains(&name.as_str()) {
                    continue;
                }
                (name.clone(), p.join("index.md"))
            } else if let Some(stem) = name.strip_suffix(".md") {
                (stem.to_string(), p.clone())
            } else {
                continue;
            };
            if !schema::is_slug(&slug) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&file) else { continue };
            if !meta.is_file() {
                continue;
            }
            let (mtime, len) = (meta.modified().ok(), meta.len());
            let read = match cache.get(&file) {
                Some((m, l, s)) if *m == mtime && *l == len && mtime.is_some() => s.clone(),
                _ => {
                    let s = summary(&file);
                    cache.insert(file.clone(), (mtime, len, s.clone()));
                    s
                }
            };
            let listed = match read {
                Some((title, date, draft)) => {
                    let state = if draft {
                        EntryState::Withdrawn
                    } else if date.as_deref().is_some_and(|d| d > today) {
                        EntryState::Scheduled
                    } else {
                        EntryState::Published
                    };
                    Listed { collection: c.name.clone(), title: title.unwrap_or_else(|| slug.clone()), slug, date, state }
                }
                None => Listed { collection: c.name.clone(), title: slug.clone(), slug, date: None, state: EntryState::Unreadable },
            };
            out.push(listed);
        }
    }
    out.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.title.cmp(&b.title)));
    out
}

/// The entry's text with `draft: true` (withdrawn) or without a `draft` key
/// (on the site); the rest of the file is kept as written.
pub fn set_draft(text: &str, draft: bool) -> Result<String, ContentError> {
    let (yaml, body, _) = vitrine_generator::model::split_front_matter(text).map_err(|e| ContentError::Unreadable(e.to_string()))?;
    let mut out = String::from("---\n");
    for line in yaml.lines() {
        if line.starts_with("draft:") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if draft {
        out.push_str("draft: true\n");
    }
    out.push_str("---\n");
    out.push_str(body);
    Ok(out)
}

/// A date typed in the form (`YYYY-MM-DD`), checked and written back in that
/// form: `Ok(None)` when empty.
pub fn parse_date(s: &str) -> Result<Option<String>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    schema::parse_date(s).map(|d| Some(d.to_string())).ok_or_else(|| format!("date invalide « {} » : attendu AAAA-MM-JJ", s.chars().take(40).collect::<String>()))
}

/// File name of a picture uploaded in the editor: the field's name and a
/// random part (`cover-3f9a1c.jpg`), so that no earlier version's picture is replaced.
pub fn picture_name(field_path: &str, ext: &str) -> String {
    let base = crate::publish::image_file_name(field_path, ext);
    let stem = base.strip_suffix(&format!(".{ext}")).unwrap_or(&base);
    format!("{stem}-{}.{ext}", crate::security::random_token(3))
}

/// A saved version of an entry (the file as it was before a change).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Version {
    /// Its name in the history folder (`20261201T101500123Z-ab12`).
    pub id: String,
    /// When it was replaced (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub at: String,
    /// Its title.
    pub title: String,
    /// Its date.
    pub date: Option<String>,
    /// Whether it was withdrawn.
    pub draft: bool,
}

/// `.vitrine/history/<collection>/<slug>/`.
pub fn history_dir(data_dir: &Path, collection: &str, slug: &str) -> PathBuf {
    data_dir.join("history").join(collection).join(slug)
}

fn valid_version_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The saved versions of an entry, newest first.
pub fn versions(data_dir: &Path, collection: &str, slug: &str) -> Vec<Version> {
    let dir = history_dir(data_dir, collection, slug);
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&dir) else { return out };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(id) = name.strip_suffix(".md").filter(|i| valid_version_id(i)) else { continue };
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let (fm, _) = front_matter(&text).unwrap_or_default();
        let at = id.get(..15).and_then(|t| jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", t).ok()).map(|d| d.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default();
        out.push(Version {
            id: id.to_string(),
            at,
            title: fm.get("title").and_then(Json::as_str).unwrap_or_default().to_string(),
            date: date_of(fm.get("date")),
            draft: fm.get("draft").and_then(Json::as_bool).unwrap_or(false),
        });
    }
    out.sort_by(|a, b| b.id.cmp(&a.id));
    out
}

/// The text of a saved version.
pub fn version_text(data_dir: &Path, collection: &str, slug: &str, id: &str) -> Result<String, ContentError> {
    if !valid_version_id(id) || !schema::is_slug(slug) {
        return Err(ContentError::NotFound(id.chars().take(60).collect()));
    }
    let p = history_dir(data_dir, collection, slug).join(format!("{id}.md"));
    std::fs::read_to_string(&p).map_err(|_| ContentError::NotFound(id.into()))
}

/// Copies `text` into the entry's history as a new version; returns its id.
fn keep_version(data_dir: &Path, file: &EntryFile, text: &str) -> Result<String, ContentError> {
    let dir = history_dir(data_dir, &file.collection, &file.slug);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let now = jiff::Timestamp::now();
    let stamp = format!("{}{:03}Z", now.strftime("%Y%m%dT%H%M%S"), now.subsec_millisecond());
    for _ in 0..8 {
        let id = format!("{stamp}-{}", crate::security::random_token(3));
        match write_new_file(&dir, &format!("{id}.md"), text.as_bytes()) {
            Ok(()) => {
                sync_dir(&dir)?;
                return Ok(id);
            }
            Err(PublishError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ContentError::Unreadable("aucun nom libre dans l'historique".into()))
}

/// Replaces an entry's text, if its file still has hash `expected`: the
/// current text is kept as a version first (its id is returned), the new
/// one written atomically, `pictures` (new names) written before it.
pub fn replace(data_dir: &Path, file: &EntryFile, expected: &str, text: &str, pictures: &[(String, Vec<u8>)]) -> Result<String, ContentError> {
    let current = std::fs::read_to_string(&file.path).map_err(io(&file.path))?;
    if hash(&current) != expected {
        return Err(ContentError::Changed);
    }
    let version = keep_version(data_dir, file, &current)?;
    let dir = file.path.parent().unwrap_or(Path::new(".")).to_path_buf();
    for (name, bytes) in pictures {
        write_new_file(&dir, name, bytes)?;
    }
    let name = file.path.file_name().and_then(|n| n.to_str()).unwrap_or("index.md");
    let mut tmp = tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".tmp").tempfile_in(&dir).map_err(io(&dir))?;
    tmp.write_all(text.as_bytes()).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(tmp.path()))?;
    tmp.persist(&file.path).map_err(|e| ContentError::Write(PublishError::Io { path: file.path.clone(), source: e.error }))?;
    sync_dir(&dir)?;
    Ok(version)
}

/// Creates a new bundle for `title` in `collection` (slug from the title, the
/// first free one): pictures, then `index.md` made by `text(slug)`.
pub fn create(
    config: &Config,
    collection: &Collection,
    title: &str,
    text: &dyn Fn(&str) -> String,
    pictures: &[(String, Vec<u8>)],
) -> Result<EntryFile, ContentError> {
    let (slug, dir) = crate::publish::create_bundle_dir(config, collection, title)?;
    for (name, bytes) in pictures {
        write_new_file(&dir, name, bytes)?;
    }
    write_new_file(&dir, "index.md", text(&slug).as_bytes())?;
    sync_dir(&dir)?;
    let prefix = if collection.dir.is_empty() { String::new() } else { format!("{}/", collection.dir) };
    Ok(EntryFile { collection: collection.name.clone(), rel: format!("{prefix}{slug}/index.md"), path: dir.join("index.md"), slug, bundle: true })
}

/// Removes a bundle [`create`] made whose rebuild failed (only an entry's
/// own folder, found again by [`locate`]).
pub fn remove_created(config: &Config, file: &EntryFile) -> Result<(), ContentError> {
    let rel = file.site_rel();
    let dir = rel.strip_suffix("/index.md").unwrap_or(&rel);
    crate::publish::remove_bundle(config, dir).map_err(ContentError::Write)
}

/// Puts back `text` as the entry's file after a failed rebuild (no version kept:
/// the version being undone was never live).
pub fn put_back(file: &EntryFile, text: &str) -> Result<(), ContentError> {
    let dir = file.path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut tmp = tempfile::Builder::new().prefix(".undo.").suffix(".tmp").tempfile_in(&dir).map_err(io(&dir))?;
    tmp.write_all(text.as_bytes()).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(tmp.path()))?;
    tmp.persist(&file.path).map_err(|e| ContentError::Write(PublishError::Io { path: file.path.clone(), source: e.error }))?;
    sync_dir(&dir).map_err(ContentError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_is_added_and_removed_keeping_the_rest() {
        let t = "---\ntitle: \"A\"\n# note\ndraft: false\n---\n\nTexte\n---\nfin\n";
        let w = set_draft(t, true).unwrap();
        assert_eq!(w, "---\ntitle: \"A\"\n# note\ndraft: true\n---\n\nTexte\n---\nfin\n");
        assert_eq!(set_draft(&w, false).unwrap(), "---\ntitle: \"A\"\n# note\n---\n\nTexte\n---\nfin\n");
    }

    #[test]
    fn replace_refuses_a_changed_file_and_keeps_versions() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.md");
        std::fs::write(&p, "---\ntitle: A\n---\n").unwrap();
        let file = EntryFile { collection: "pages".into(), slug: "x".into(), rel: "pages/x.md".into(), path: p.clone(), bundle: false };
        let h = hash("---\ntitle: A\n---\n");
        assert!(matches!(replace(d.path(), &file, "autre", "B", &[]), Err(ContentError::Changed)));
        let v = replace(d.path(), &file, &h, "---\ntitle: B\n---\n", &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "---\ntitle: B\n---\n");
        assert_eq!(version_text(d.path(), "pages", "x", &v).unwrap(), "---\ntitle: A\n---\n");
        assert_eq!(versions(d.path(), "pages", "x")[0].title, "A");
        assert!(version_text(d.path(), "pages", "x", "../../x").is_err());
        assert_eq!(parse_date(" 2026-02-03 ").unwrap().as_deref(), Some("2026-02-03"));
        assert!(parse_date("2026-02-03\nx: y").is_err());
    }
}
