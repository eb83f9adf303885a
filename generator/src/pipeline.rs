//! The build pipeline, above every stage: `load` → `model` → `images` →
//! translations (`i18n`, each language through the same model and image stages)
//! → `render` → `search` → `write`.
//!
//! The middle of it, from sources to a model with its images and translations, is
//! one function, [`assemble`]: the full build ([`build`], [`prepare`]), `vitrine
//! check`, the incremental path (`incremental::Site::apply` and
//! `Site::check_addition`) and the daemon's preview all call it, so none of them
//! can leave a stage out.
//!
//! Nothing imports this module but the modules above it (`incremental`, `check`)
//! and the crate root's re-exports: stages never call back into the pipeline.

use std::path::Path;
use std::time::Instant;

use crate::config::Config;
use crate::error::Error;
use crate::i18n;
use crate::load::{self, Sources};
use crate::model::{self, Model, ModelOptions, ParseCache};
use crate::options::{BuildOptions, BuildReport, Timings, build_time};
use crate::output::Output;
use crate::render;
use crate::{data, images, search, state, write};

/// What the load stage read, before any validation of content.
pub struct Loaded {
    /// The validated configuration.
    pub config: Config,
    /// The site's files, translation files taken out.
    pub sources: Sources,
    /// The translation files (`foo.en.md`), by language.
    pub translation_files: i18n::Translations,
}

/// Everything a build produces before rendering: used by `build`, `check` and the
/// incremental path.
pub struct Prepared {
    /// The validated configuration.
    pub config: Config,
    /// The site's files, translation files taken out.
    pub sources: Sources,
    /// The site's model, images processed, language versions linked.
    pub model: Model,
    /// The moment of the build, in the site's time zone.
    pub now: jiff::ZonedDateTime,
    /// Translation files taken out of `sources` (`foo.en.md`).
    pub translation_files: i18n::Translations,
    /// Each other language's build.
    pub translations: Vec<i18n::Built>,
}

impl Prepared {
    /// The model's warnings; everything else is dropped on a thread of its own
    /// (join it to wait for the memory to be given back).
    fn into_warnings(self) -> (Vec<crate::error::Diagnostic>, std::thread::JoinHandle<()>) {
        let Prepared { config, sources, mut model, now, translation_files, translations } = self;
        let warnings = std::mem::take(&mut model.warnings);
        let freeing = std::thread::spawn(move || drop((config, sources, model, now, translation_files, translations)));
        (warnings, freeing)
    }
}

/// Reads the config, data, content, templates and static files.
pub fn load(opts: &BuildOptions, timings: &mut Timings) -> Result<Loaded, Error> {
    let t = Instant::now();
    let data = data::load(&opts.site)?;
    let config = Config::load_with_data(&opts.site, &data.lists())?;
    let mut sources = load::load_sources(&opts.site, &config.theme, &config.language)?;
    let translation_files = i18n::split(&mut sources, &config.language);
    sources.data = serde_json::to_value(&data.values).unwrap_or_default();
    timings.push(("chargement", t.elapsed()));
    Ok(Loaded { config, sources, translation_files })
}

/// Sources → the site's model with its images processed, and each other
/// language's build: the one model → images → translations sequence. `site` is the
/// site's directory (image cache), `cache` the parse cache the incremental path
/// keeps (a fresh one otherwise); `modèle` and `images` are timed into `timings`.
pub fn assemble(
    config: &Config,
    sources: &Sources,
    translation_files: &i18n::Translations,
    opts: &ModelOptions,
    site: &Path,
    cache: &mut ParseCache,
    timings: &mut Timings,
) -> Result<(Model, Vec<i18n::Built>), Error> {
    let mut model = model_with_images(config, sources, opts, site, cache, timings)?;
    let translations = i18n::build(config, sources, &mut model, translation_files, &|config, sources| {
        model_with_images(config, sources, opts, site, &mut ParseCache::default(), &mut Timings::new())
    })?;
    Ok((model, translations))
}

/// The model of one language's sources, with its images processed.
fn model_with_images(
    config: &Config,
    sources: &Sources,
    opts: &ModelOptions,
    site: &Path,
    cache: &mut ParseCache,
    timings: &mut Timings,
) -> Result<Model, Error> {
    let t = Instant::now();
    let mut model = model::build_model_cached(config, sources, opts, cache)?;
    timings.push(("modèle", t.elapsed()));
    let t = Instant::now();
    images::process(config, sources, &mut model, site)?;
    timings.push(("images", t.elapsed()));
    Ok(model)
}

/// The options of the model stage for a build made with `opts` at `now`.
pub fn model_options(opts: &BuildOptions, now: &jiff::ZonedDateTime) -> ModelOptions {
    ModelOptions { drafts: opts.drafts, today: now.date() }
}

/// Loads and validates a site (config, data, content, templates, images, translations).
pub fn prepare(opts: &BuildOptions, timings: &mut Timings) -> Result<Prepared, Error> {
    prepare_cached(opts, timings, &mut ParseCache::default())
}

/// `prepare`, filling `cache` with the parsed front matter (the incremental path keeps it).
pub fn prepare_cached(opts: &BuildOptions, timings: &mut Timings, cache: &mut ParseCache) -> Result<Prepared, Error> {
    let loaded = load(opts, timings)?;
    prepare_loaded(opts, loaded, timings, cache)
}

/// What was loaded, assembled (see [`assemble`]) at the build's time.
fn prepare_loaded(opts: &BuildOptions, loaded: Loaded, timings: &mut Timings, cache: &mut ParseCache) -> Result<Prepared, Error> {
    let Loaded { config, sources, translation_files } = loaded;
    let now = build_time(&config, opts.now.clone());
    let (model, translations) = assemble(&config, &sources, &translation_files, &model_options(opts, &now), &opts.site, cache, timings)?;
    Ok(Prepared { config, sources, model, now, translation_files, translations })
}

/// Renders every output of a prepared site, translated pages included.
pub fn render_all(p: &Prepared, live_reload: bool, timings: &mut Timings) -> Result<Vec<Output>, Error> {
    let t = Instant::now();
    let ropts = render::RenderOptions { now: p.now.clone(), live_reload };
    let renderer = render::Renderer::new(&p.config, &p.model, &p.sources, &ropts)?;
    let jobs = render::all_jobs(&p.config, &p.model);
    let mut outputs = renderer.render_jobs(&jobs)?;
    outputs.extend(render::render_translations(&p.translations, &ropts)?);
    timings.push(("rendu", t.elapsed()));
    Ok(outputs)
}

/// Full build into `opts.out`; stops after loading when nothing changed since the
/// last build into the same directory (`state`).
pub fn build(opts: &BuildOptions) -> Result<BuildReport, Error> {
    let mut timings = Vec::new();
    let loaded = load(opts, &mut timings)?;
    // Nothing changed since the last build into this directory: nothing to do.
    let now = build_time(&loaded.config, opts.now.clone());
    let key = state::fingerprint(opts, &loaded.sources, &loaded.translation_files, &now);
    if let Some(mut report) = state::unchanged(opts, key) {
        report.timings = timings;
        return Ok(report);
    }
    let p = prepare_loaded(opts, loaded, &mut timings, &mut ParseCache::default())?;
    let mut outputs = render_all(&p, opts.live_reload, &mut timings)?;
    let search_on = search::enabled(&p.sources);
    // Past rendering only the warnings of the model are needed: the rest (a third of
    // the peak memory at 100,000 entries) is freed on another thread while the
    // search index is built.
    let (warnings, freeing) = p.into_warnings();
    if search_on {
        let t = Instant::now();
        let bundle = search::index_outputs(&outputs, None)?;
        outputs.extend(bundle);
        timings.push(("recherche", t.elapsed()));
    }
    let _ = freeing.join();
    let t = Instant::now();
    let stats = write::write_outputs(&opts.out, &outputs)?;
    timings.push(("écriture", t.elapsed()));
    let report = BuildReport {
        pages: outputs.iter().filter(|o| o.path.ends_with(".html")).count(),
        outputs: outputs.len(),
        written: stats.written,
        removed: stats.removed,
        warnings,
        timings,
    };
    state::save(opts, key, &outputs, &report);
    Ok(report)
}
