//! Publishing an approved submission: a **new** page bundle
//! `content/<collection dir>/<slug>/index.md` (YAML front matter + Markdown
//! body) with the re-encoded pictures beside it.
//!
//! Guarantees: the slug is made by the server from the title (ASCII letters,
//! digits and dashes only, so no path can be smuggled in); the bundle folder is
//! created with `create_dir`, which fails if it exists, so nothing is ever
//! overwritten; every file is written to a uniquely named hidden temp file
//! (tempfile, removed on error), fsynced, linked into place without replacing,
//! and the folders are fsynced; `index.md` is written last, so the generator
//! never sees a half-written entry. Only the schema's fields, the title, the
//! date and the body are written: never the submitter's name or e-mail.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use vitrine_generator::config::{Collection, Config};
use vitrine_generator::schema::Kind;

use crate::payload::Payload;
use crate::queue::{StoredImage, Submission};

/// Why an approved submission could not be written to `content/`.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Creating a folder or file, writing, syncing or removing failed, or a
    /// file to create already exists (nothing is overwritten).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error
    },
    /// The submission's collection is no longer in `vitrine.yaml`.
    #[error("collection « {0} » absente de la configuration")]
    UnknownCollection(String),
    /// The slug and its 199 numbered variants (`base-2` … `base-200`) are all
    /// taken in the collection.
    #[error("aucun identifiant libre pour « {0} »")]
    NoFreeSlug(String),
    /// The Markdown body breaks the rules for untrusted text (checked again
    /// before writing), or [`remove_bundle`] was given a folder that is not a
    /// bundle it may remove.
    #[error("contenu refusé : {0}")]
    Invalid(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PublishError + '_ {
    move |source| PublishError::Io { path: path.to_owned(), source }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Published {
    /// Bundle folder relative to the site root, e.g. `content/projects/nos-rivieres`.
    pub rel_dir: String,
    /// Bundle folder on disk (under the site root).
    pub dir: PathBuf,
    /// The entry's slug: the bundle folder's name, chosen from the title.
    pub slug: String,
    /// The entry's URL on the site.
    pub url: String,
}

/// Slug of a new bundle: the generator's slug rule ([`vitrine_generator::locale::slug`]:
/// ASCII lowercase letters, digits, single dashes), at most 60 characters, or
/// `proposition` when nothing is left. No path can be smuggled through it.
pub fn slugify(title: &str) -> String {
    vitrine_generator::locale::slug(title, 60).unwrap_or_else(|| "proposition".into())
}

/// File name of a stored picture: `cover.jpg`, `gallery-2.png`.
pub fn image_file_name(field_path: &str, ext: &str) -> String {
    let mut base = String::new();
    for c in field_path.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            base.push(c.to_ascii_lowercase());
        } else if !base.ends_with('-') {
            base.push('-');
        }
    }
    format!("{}.{ext}", base.trim_matches('-'))
}

/// YAML front matter + body. Values are written as JSON, which is valid YAML 1.2
/// flow syntax, so no quoting rule can be got wrong.
pub fn render_entry(collection: &Collection, payload: &Payload, date: &str) -> String {
    render_entry_with(collection, payload, Some(date), false)
}

/// [`render_entry`] for the correspondents' editor ([`crate::content`]): the
/// date may be absent, and a withdrawn entry carries `draft: true`.
pub fn render_entry_with(collection: &Collection, payload: &Payload, date: Option<&str>, draft: bool) -> String {
    let fields = &payload.fields;
    let mut fm = String::from("---\n");
    let title = if payload.title.is_empty() { fields.get("title").and_then(Json::as_str).unwrap_or_default() } else { &payload.title };
    fm.push_str(&format!("title: {}\n", Json::String(title.to_string())));
    if let Some(date) = date {
        fm.push_str(&format!("date: {date}\n"));
    }
    if draft {
        fm.push_str("draft: true\n");
    }
    for f in &collection.schema.fields {
        if f.name == "title" {
            continue;
        }
        if let Some(v) = fields.get(&f.name)
            && !v.is_null() {
                fm.push_str(&format!("{}: {}\n", f.name, v));
            }
    }
    fm.push_str("---\n\n");
    if !payload.body.trim().is_empty() {
        fm.push_str(payload.body.trim());
        fm.push('\n');
    }
    fm
}

pub(crate) fn write_new_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), PublishError> {
    let dest = dir.join(name);
    // A unique hidden temporary file (removed if anything fails), fsynced, then
    // linked to its name without replacing anything (`persist_noclobber`).
    let mut tmp = tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".tmp").tempfile_in(dir).map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io(tmp.path()))?;
    tmp.persist_noclobber(&dest).map_err(|e| {
        let source = if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "le fichier existe déjà")
        } else {
            e.error
        };
        PublishError::Io { path: dest.clone(), source }
    })?;
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), PublishError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// The slug [`publish`] would choose now for `title` in `collection`: the first
/// of `base`, `base-2`, … with neither a file nor a folder of that name.
pub fn free_slug(config: &Config, collection: &Collection, title: &str) -> Option<String> {
    let parent = config.content_dir().join(&collection.dir);
    let base = slugify(title);
    (1..=200).map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") }).find(|slug| {
        !parent.join(format!("{slug}.md")).exists() && !parent.join(slug).exists()
    })
}

/// The files of the bundle an approved submission becomes, as the build will
/// read them: (`index.md` path relative to `content/`, its text) and the
/// pictures as (file name, bytes).
pub fn bundle_files(collection: &Collection, sub: &Submission, images: &[StoredImage], slug: &str, date: &str) -> (String, String, Vec<(String, Vec<u8>)>) {
    let rel = format!("{}/{slug}/index.md", collection.dir);
    let text = render_entry(collection, &sub.payload, date);
    let pictures = images.iter().map(|img| (image_file_name(&img.field, &img.ext), img.data.clone())).collect();
    (rel, text, pictures)
}

/// Removes a bundle that [`publish`] created, after its rebuild failed: a failed
/// publication leaves no file behind. Only a folder under the collection's
/// directory, named like a slug, is ever removed.
pub fn remove_bundle(config: &Config, rel_dir: &str) -> Result<(), PublishError> {
    let rel = Path::new(rel_dir);
    let plain = rel.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    let dir = config.root.join(rel);
    let slug = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !plain || !rel_dir.starts_with("content/") || rel.components().count() < 3 || !vitrine_generator::schema::is_slug(slug) {
        return Err(PublishError::Invalid(format!("dossier inattendu « {rel_dir} »")));
    }
    std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Creates the bundle of an approved submission. Never overwrites anything.
pub fn publish(config: &Config, sub: &Submission, images: &[StoredImage]) -> Result<Published, PublishError> {
    let collection =
        config.collection(&sub.collection).ok_or_else(|| PublishError::UnknownCollection(sub.collection.clone()))?;
    // Defence in depth: the payload was validated on submission and on every edit.
    {
        let problems = crate::markdown::check_untrusted(&sub.payload.body, config);
        if !problems.is_empty() {
            return Err(PublishError::Invalid(problems.join("; ")));
        }
    }
    let (slug, dir) = create_bundle_dir(config, collection, &sub.payload.title)?;
    for img in images {
        let name = image_file_name(&img.field, &img.ext);
        write_new_file(&dir, &name, &img.data)?;
    }
    let date = jiff::ZonedDateTime::now().date().to_string();
    let text = render_entry(collection, &sub.payload, &date);
    write_new_file(&dir, "index.md", text.as_bytes())?;
    sync_dir(&dir)?;
    let rel_dir = format!("content/{}/{}", collection.dir, slug);
    Ok(Published { rel_dir, dir, url: collection.entry_url(&slug), slug })
}

/// Creates the folder of a new bundle for `title` in `collection`: the first
/// free slug (`titre`, `titre-2`, … up to 200, never a name a file or folder
/// already has, `create_dir` deciding races), the parent folder synced. The
/// one rule for approvals and the correspondents' editor.
pub fn create_bundle_dir(config: &Config, collection: &Collection, title: &str) -> Result<(String, PathBuf), PublishError> {
    let parent = config.content_dir().join(&collection.dir);
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let base = slugify(title);
    for n in 1..=200 {
        let slug = if n == 1 { base.clone() } else { format!("{base}-{n}") };
        if parent.join(format!("{slug}.md")).exists() {
            continue;
        }
        let dir = parent.join(&slug);
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                sync_dir(&parent)?;
                return Ok((slug, dir));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(PublishError::Io { path: dir, source: e }),
        }
    }
    Err(PublishError::NoFreeSlug(base))
}

/// Which schema fields of a collection are pictures (top level or list items).
pub fn image_fields(collection: &Collection) -> Vec<(String, bool)> {
    collection
        .schema
        .fields
        .iter()
        .filter_map(|f| match &f.kind {
            Kind::Image => Some((f.name.clone(), false)),
            Kind::List { item } if matches!(item.kind, Kind::Image) => Some((f.name.clone(), true)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe() {
        assert_eq!(slugify("Été à Zürich : l'œuvre !"), "ete-a-zurich-l-oeuvre");
        assert_eq!(slugify("../../etc/passwd"), "etc-passwd");
        assert_eq!(slugify("<script>"), "script");
        assert_eq!(slugify("!!!"), "proposition");
        assert!(slugify(&"a".repeat(500)).len() <= 60);
        assert_eq!(image_file_name("gallery[1]", "jpg"), "gallery-1.jpg");
        assert_eq!(image_file_name("../x", "png"), "x.png");
    }

    #[test]
    fn new_file_never_overwrites() {
        let d = tempfile::tempdir().unwrap();
        write_new_file(d.path(), "a.md", b"one").unwrap();
        assert!(write_new_file(d.path(), "a.md", b"two").is_err());
        assert_eq!(std::fs::read(d.path().join("a.md")).unwrap(), b"one");
        let leftovers: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }
}
