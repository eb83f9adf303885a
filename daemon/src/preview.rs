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
    let config = vitrine_generator::Config::load(site_dir).map_err(|e| e.to_string())?;
    let collection = config
        .collection(&sub.collection)
        .ok_or_else(|| format!("collection « {} » absente de la configuration", sub.collection))?
        .clone();
    let slug = format!("apercu-{}", sub.reference.to_ascii_lowercase());
    let rel = format!("{}/{slug}/index.md", collection.dir);
    let date = jiff::ZonedDateTime::now().date().to_string();
    let text = crate::publish::render_entry(&collection, &sub.payload, &date);
    let pictures: Vec<(String, Vec<u8>)> =
        images.iter().map(|img| (crate::publish::image_file_name(&img.field, &img.ext), img.data.clone())).collect();
    let target = |file: &str, cache_name: Option<&str>| match cache_name {
        Some(name) => Some(asset_url(sub.id, name)),
        None => images
            .iter()
            .find(|i| crate::publish::image_file_name(&i.field, &i.ext) == file)
            .map(|i| format!("/moderation/item/{}/image/{}", sub.id, i.id)),
    };
    render_page(site_dir, &rel, &text, &pictures, &target)
}

/// Where a preview finds a file of the entry: given its name under the entry's
/// URL and, when it is in the image cache, its cache file name; `None` keeps
/// the address the page has.
pub type AssetTarget<'a> = &'a dyn Fn(&str, Option<&str>) -> Option<String>;

/// Renders the entry page of the file `rel` (under `content/`, replacing the
/// file of that name if there is one) with `text`, and `pictures` (file
/// name, bytes) beside it, as the build would: the correspondents' editor
/// previews an entry through it too. Drafts are rendered. The entry's files
/// are pointed where `target` says (moderators' routes before publication).
pub fn render_page(site_dir: &Path, rel: &str, text: &str, pictures: &[(String, Vec<u8>)], target: AssetTarget<'_>) -> Result<String, String> {
    let opts = BuildOptions::new(site_dir);
    let mut timings = Vec::new();
    let mut loaded = pipeline::load(&opts, &mut timings).map_err(|e| e.to_string())?;
    let folder = rel.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let sources = &mut loaded.sources;
    sources.pages.retain(|p| p.rel != rel);
    sources.pages.push(SourceFile { rel: rel.to_string(), text: text.to_string() });
    let scratch = site_dir.join(crate::db::DATA_DIR).join(format!("preview-{}", crate::security::random_token(6)));
    let result = (|| {
        if !pictures.is_empty() {
            std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        }
        for (name, bytes) in pictures {
            let p = scratch.join(name);
            std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
            let asset = format!("{folder}/{name}");
            loaded.sources.assets.retain(|a| a.rel != asset);
            loaded.sources.assets.push(Asset { rel: asset, src: p });
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
            let cache_name = a.src.strip_prefix(&cache).ok().and_then(|p| p.to_str()).filter(|n| is_cache_name(n));
            if let Some(url) = target(file, cache_name) {
                urls.insert(file.to_string(), url);
            }
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
    with_banner_text(html, "Cette page montre la soumission telle qu'elle sera publiée.", back_url, "Retour à la relecture")
}

/// [`with_banner`] with its own sentence and link text (`back_url` may be
/// empty: no link). The texts are the daemon's own, not user input.
pub fn with_banner_text(html: &str, sentence: &str, back_url: &str, back_text: &str) -> String {
    let back = if back_url.is_empty() { String::new() } else { format!(" <a href=\"{back_url}\">{back_text}</a>") };
    let banner = format!("<div role=\"note\" class=\"vitrine-preview\"><strong>Aperçu, non publié.</strong> {sentence}{back}</div>");
    let html = match html.find("</head>") {
        Some(i) => format!("{}<link rel=\"stylesheet\" href=\"/_vitrine/preview.css\">{}", &html[..i], &html[i..]),
        None => html.to_string(),
    };
    match html.find("<body").and_then(|i| html[i..].find('>').map(|j| i + j + 1)) {
        Some(pos) => format!("{}{banner}{}", &html[..pos], &html[pos..]),
        None => format!("{banner}{html}"),
    }
}
