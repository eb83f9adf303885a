//! The moderators' preview: the submission rendered by the generator with the
//! site's own templates, exactly as the page will be published, without
//! writing anything into `content/` or `public/`.
//!
//! It loads the site as a build would, adds the entry (the same text
//! [`crate::publish::render_entry`] would write) and its pictures as in-memory
//! sources, runs the generator's pipeline on them
//! ([`vitrine_generator::pipeline::assemble`]: model, images, translations, as a
//! build does, drafts included) and renders that one page. Pictures are copied to
//! a scratch folder under `.vitrine/` for the duration of the call only; their
//! resized variants go to the build's image cache, so the page carries the same
//! `src`, `srcset` and sizes as the published one.

use std::path::Path;

use vitrine_generator::load::{Asset, SourceFile};
use vitrine_generator::model::{ModelOptions, ParseCache};
use vitrine_generator::output::Body;
use vitrine_generator::pipeline;
use vitrine_generator::render::{Job, RenderOptions, Renderer};
use vitrine_generator::{BuildOptions, build_time};

use crate::queue::{StoredImage, Submission};

/// Renders the page of `sub` as it would be published; errors are readable (they
/// are what the build would say after approval). The entry's own pictures (the
/// uploads and their resized variants) point to [`asset_url`]: they are not in
/// `public/` before approval.
pub fn render_preview(site_dir: &Path, sub: &Submission, images: &[StoredImage]) -> Result<String, String> {
    let opts = BuildOptions::new(site_dir);
    let mut timings = Vec::new();
    let mut loaded = pipeline::load(&opts, &mut timings).map_err(|e| e.to_string())?;
    let collection = loaded
        .config
        .collection(&sub.collection)
        .ok_or_else(|| format!("collection « {} » absente de la configuration", sub.collection))?
        .clone();
    let slug = format!("apercu-{}", sub.reference.to_ascii_lowercase());
    let rel = format!("{}/{slug}/index.md", collection.dir);
    let date = jiff::ZonedDateTime::now().date().to_string();
    let sources = &mut loaded.sources;
    sources.pages.retain(|p| p.rel != rel);
    sources.pages.push(SourceFile { rel: rel.clone(), text: crate::publish::render_entry(&collection, &sub.payload, &date) });
    let scratch = site_dir.join(crate::db::DATA_DIR).join(format!("preview-{}", crate::security::random_token(6)));
    let result = (|| {
        if !images.is_empty() {
            std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        }
        for img in images {
            let name = crate::publish::image_file_name(&img.field, &img.ext);
            let p = scratch.join(&name);
            std::fs::write(&p, &img.data).map_err(|e| format!("{}: {e}", p.display()))?;
            loaded.sources.assets.push(Asset { rel: format!("{}/{slug}/{name}", collection.dir), src: p });
        }
        loaded.sources.assets.sort();
        let now = build_time(&loaded.config, None);
        let (model, _translations) = pipeline::assemble(
            &loaded.config,
            &loaded.sources,
            &loaded.translation_files,
            &ModelOptions { drafts: true, today: now.date() },
            site_dir,
            &mut ParseCache::default(),
            &mut timings,
        )
        .map_err(|e| e.to_string())?;
        let idx = model
            .entries
            .iter()
            .position(|e| e.source == rel)
            .ok_or_else(|| "l'entrée n'a pas été retenue par le générateur (date future ?)".to_string())?;
        let renderer = Renderer::new(&loaded.config, &model, &loaded.sources, &RenderOptions { now, live_reload: false })
            .map_err(|e| e.to_string())?;
        let outputs = renderer.render_job(Job::Entry(idx)).map_err(|e| e.to_string())?;
        let page = outputs
            .into_iter()
            .find(|o| o.path.ends_with(".html"))
            .ok_or_else(|| "aucune page produite".to_string())?;
        let html = match page.body {
            Body::Bytes(b) => String::from_utf8(b).map_err(|e| e.to_string())?,
            Body::Copy(p) => std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?,
        };
        // The entry's files: variants and cleaned originals live in the image
        // cache; anything else is one of the uploads (the scratch copy goes away).
        let cache = vitrine_generator::images::cache_dir(site_dir);
        let entry_url = model.entries[idx].url.clone();
        let mut urls = std::collections::HashMap::new();
        for a in &model.assets {
            let url = format!("/{}", a.rel);
            let Some(file) = url.strip_prefix(&entry_url) else { continue };
            let target = match a.src.strip_prefix(&cache).ok().and_then(|p| p.to_str()).filter(|n| is_cache_name(n)) {
                Some(name) => asset_url(sub.id, name),
                None => match images.iter().find(|i| crate::publish::image_file_name(&i.field, &i.ext) == file) {
                    Some(i) => format!("/moderation/item/{}/image/{}", sub.id, i.id),
                    None => continue,
                },
            };
            urls.insert(file.to_string(), target);
        }
        Ok(rewrite_urls(&html, &entry_url, &urls))
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Where the preview page finds the cached picture `name` of submission `id`
/// (served by [`cached_asset`]).
pub fn asset_url(id: i64, name: &str) -> String {
    format!("/moderation/item/{id}/apercu/{name}")
}

/// A file name of the generator's image cache: `<24 hex>-<width or
/// "original">.<jpg|jpeg|png|webp>`, nothing else (no path, no dot segment).
fn is_cache_name(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else { return false };
    let Some((key, what)) = stem.split_once('-') else { return false };
    key.len() == 24
        && key.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && (what == "original" || (!what.is_empty() && what.len() <= 5 && what.bytes().all(|b| b.is_ascii_digit())))
        && matches!(ext, "jpg" | "jpeg" | "png" | "webp")
}

/// A picture of the image cache for the preview: its media type and bytes, or
/// `None` when `name` is not a cache file name ([`is_cache_name`]) or the file
/// is missing. The cache holds only pictures of the site and of previews.
pub fn cached_asset(site_dir: &Path, name: &str) -> Option<(&'static str, Vec<u8>)> {
    if !is_cache_name(name) {
        return None;
    }
    let mime = match name.rsplit_once('.')?.1 {
        "png" => "image/png",
        "webp" => "image/webp",
        _ => "image/jpeg",
    };
    let bytes = std::fs::read(vitrine_generator::images::cache_dir(site_dir).join(name)).ok()?;
    Some((mime, bytes))
}

/// Replaces, in `html`, each address `<entry_url><file>` that starts an
/// attribute value or a `srcset` item (after `"`, `'`, a space or a comma)
/// and whose `<file>` is a key of `urls`, by its value. Absolute addresses
/// (`https://…/projets/…`, in meta tags) are left alone.
fn rewrite_urls(html: &str, entry_url: &str, urls: &std::collections::HashMap<String, String>) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(entry_url) {
        let prev = if i > 0 { rest[..i].chars().next_back() } else { out.chars().next_back() };
        out.push_str(&rest[..i]);
        let after = &rest[i + entry_url.len()..];
        let end = after.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ')' | '<' | '>')).unwrap_or(after.len());
        match urls.get(&after[..end]).filter(|_| matches!(prev, Some('"' | '\'' | ' ' | ','))) {
            Some(to) => {
                out.push_str(to);
                rest = &after[end..];
            }
            None => {
                out.push_str(entry_url);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Styles of the preview banner, served at `/_vitrine/preview.css` (the pages'
/// Content-Security-Policy refuses inline styles).
pub const BANNER_CSS: &str = ".vitrine-preview{background:#fff4e0;color:#1b1b1b;border-bottom:3px solid #a35a00;padding:.75rem 1rem;font:1rem/1.4 system-ui,sans-serif}\n.vitrine-preview a{color:#0b4f9c}\n";

/// Adds a visible "preview" banner right after `<body …>`, and its stylesheet in the head.
pub fn with_banner(html: &str, back_url: &str) -> String {
    let banner = format!(
        "<div role=\"note\" class=\"vitrine-preview\">\
         <strong>Aperçu, non publié.</strong> Cette page montre la soumission telle qu'elle sera publiée. \
         <a href=\"{back_url}\">Retour à la relecture</a></div>"
    );
    let html = match html.find("</head>") {
        Some(i) => format!("{}<link rel=\"stylesheet\" href=\"/_vitrine/preview.css\">{}", &html[..i], &html[i..]),
        None => html.to_string(),
    };
    match html.find("<body").and_then(|i| html[i..].find('>').map(|j| i + j + 1)) {
        Some(pos) => format!("{}{banner}{}", &html[..pos], &html[pos..]),
        None => format!("{banner}{html}"),
    }
}
