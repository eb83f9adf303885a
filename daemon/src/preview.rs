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
/// are what the build would say after approval).
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
    render_page(site_dir, &rel, &text, &pictures)
}

/// Renders the entry page of the file `rel` (under `content/`, replacing the
/// file of that name if there is one) with `text`, and `pictures` (file
/// name, bytes) beside it, as the build would: the correspondents' editor
/// previews an entry through it too. Drafts are rendered.
pub fn render_page(site_dir: &Path, rel: &str, text: &str, pictures: &[(String, Vec<u8>)]) -> Result<String, String> {
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
        match page.body {
            Body::Bytes(b) => String::from_utf8(b).map_err(|e| e.to_string()),
            Body::Copy(p) => std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display())),
        }
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
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
