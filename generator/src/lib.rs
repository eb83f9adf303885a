//! Vitrine's static-site generator: `content/` + `themes/` → `public/`.
//!
//! The pipeline is a chain of stages that take values and return values:
//! [`config`] → [`load`] → [`model`] → [`render`] → [`write`]. Nothing is
//! global and only [`write`] touches the output directory, so a build that
//! fails at any earlier stage leaves the previous site as it was.
//! See ARCHITECTURE.md for the template context contract.

pub mod check;
pub mod config;
pub mod csp;
pub mod error;
pub mod forms;
pub mod i18n;
pub mod ics;
pub mod images;
pub mod incremental;
pub mod load;
pub mod markdown;
pub mod model;
pub mod node;
pub mod render;
pub mod scaffold;
pub mod schema;
pub mod search;
pub mod state;
pub mod typography;
pub mod write;

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use config::Config;
pub use error::{Diagnostic, Error};

#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub site: PathBuf,
    pub out: PathBuf,
    pub drafts: bool,
    /// The moment of the build; entries dated later are not published. Defaults to now
    /// (or to `VITRINE_NOW`, an RFC 3339 timestamp, for reproducible builds).
    pub now: Option<jiff::Zoned>,
    pub live_reload: bool,
}

impl BuildOptions {
    pub fn new(site: impl Into<PathBuf>) -> Self {
        let site = site.into();
        BuildOptions { out: site.join("public"), site, drafts: false, now: None, live_reload: false }
    }
}

/// What a build did.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    pub pages: usize,
    pub outputs: usize,
    pub written: usize,
    pub removed: usize,
    pub warnings: Vec<Diagnostic>,
    pub timings: Vec<(&'static str, Duration)>,
}

impl fmt::Display for BuildReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: Duration = self.timings.iter().map(|(_, d)| *d).sum();
        write!(
            f,
            "{} pages, {} fichiers ({} écrits, {} supprimés), {} avertissement{} en {} ms (",
            self.pages,
            self.outputs,
            self.written,
            self.removed,
            self.warnings.len(),
            if self.warnings.len() > 1 { "s" } else { "" },
            total.as_millis()
        )?;
        for (i, (name, d)) in self.timings.iter().enumerate() {
            write!(f, "{}{name} {} ms", if i > 0 { ", " } else { "" }, d.as_millis())?;
        }
        f.write_str(")")
    }
}

/// The moment a build considers "now", in the site's time zone.
pub fn build_time(config: &Config, now: Option<jiff::Zoned>) -> jiff::Zoned {
    let tz = jiff::tz::TimeZone::get(&config.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    if let Some(n) = now {
        return n.with_time_zone(tz);
    }
    if let Ok(s) = std::env::var("VITRINE_NOW")
        && let Ok(ts) = s.parse::<jiff::Timestamp>()
    {
        return ts.to_zoned(tz);
    }
    jiff::Timestamp::now().to_zoned(tz)
}

/// Everything a build produces before writing: used by `build`, `check` and the
/// incremental path.
pub struct Prepared {
    pub config: Config,
    pub sources: load::Sources,
    pub model: model::Model,
    pub now: jiff::Zoned,
    /// Translation files taken out of `sources` (`foo.en.md`), and each language's build.
    pub translation_files: i18n::Translations,
    pub translations: Vec<i18n::Built>,
}

/// Loads and validates a site (config, data, content, templates).
pub fn prepare(opts: &BuildOptions, timings: &mut Vec<(&'static str, Duration)>) -> Result<Prepared, Error> {
    prepare_cached(opts, timings, &mut model::ParseCache::default())
}

/// `prepare`, filling `cache` with the parsed front matter (the incremental path keeps it).
pub fn prepare_cached(opts: &BuildOptions, timings: &mut Vec<(&'static str, Duration)>, cache: &mut model::ParseCache) -> Result<Prepared, Error> {
    let loaded = load_stage(opts, timings)?;
    model_stage(opts, loaded, timings, cache)
}

/// What the load stage read, before any validation of content.
pub struct Loaded {
    pub config: Config,
    pub sources: load::Sources,
    pub translation_files: i18n::Translations,
}

/// Reads the config, data, content, templates and static files.
pub fn load_stage(opts: &BuildOptions, timings: &mut Vec<(&'static str, Duration)>) -> Result<Loaded, Error> {
    let t = Instant::now();
    let data = load::load_data(&opts.site)?;
    let config = Config::load_with_data(&opts.site, &data.lists())?;
    let mut sources = load::load_sources(&opts.site, &config.theme, &config.language)?;
    let translation_files = i18n::split(&mut sources, &config.language);
    sources.data = serde_json::to_value(&data.values).unwrap_or_default();
    timings.push(("chargement", t.elapsed()));
    Ok(Loaded { config, sources, translation_files })
}

/// Validates what was loaded into the model (with images and translations).
pub fn model_stage(
    opts: &BuildOptions,
    loaded: Loaded,
    timings: &mut Vec<(&'static str, Duration)>,
    cache: &mut model::ParseCache,
) -> Result<Prepared, Error> {
    let Loaded { config, sources, translation_files } = loaded;
    let t = Instant::now();
    let now = build_time(&config, opts.now.clone());
    let model_opts = model::ModelOptions { drafts: opts.drafts, today: now.date() };
    let mut model = model::build_model_cached(&config, &sources, &model_opts, cache)?;
    timings.push(("modèle", t.elapsed()));
    let t = Instant::now();
    images::process(&config, &sources, &mut model, &opts.site)?;
    timings.push(("images", t.elapsed()));
    let translations = i18n::build(&config, &sources, &mut model, &translation_files, &model_opts)?;
    Ok(Prepared { config, sources, model, now, translation_files, translations })
}

/// Renders every output of a prepared site.
pub fn render_all(p: &Prepared, live_reload: bool, timings: &mut Vec<(&'static str, Duration)>) -> Result<Vec<render::Output>, Error> {
    let t = Instant::now();
    let renderer = render::Renderer::new(&p.config, &p.model, &p.sources, &render::RenderOptions { now: p.now.clone(), live_reload })?;
    let jobs = render::all_jobs(&p.config, &p.model);
    let mut outputs = renderer.render_jobs(&jobs)?;
    outputs.extend(i18n::render(&p.translations, &render::RenderOptions { now: p.now.clone(), live_reload })?);
    timings.push(("rendu", t.elapsed()));
    Ok(outputs)
}

/// Full build into `opts.out`.
pub fn build(opts: &BuildOptions) -> Result<BuildReport, Error> {
    let mut timings = Vec::new();
    let loaded = load_stage(opts, &mut timings)?;
    // Nothing changed since the last build into this directory: nothing to do.
    let now = build_time(&loaded.config, opts.now.clone());
    let key = state::fingerprint(opts, &loaded, &now);
    if let Some(mut report) = state::unchanged(opts, key) {
        report.timings = timings;
        return Ok(report);
    }
    let p = model_stage(opts, loaded, &mut timings, &mut model::ParseCache::default())?;
    let mut outputs = render_all(&p, opts.live_reload, &mut timings)?;
    if search::enabled(&p.sources) {
        let t = Instant::now();
        let bundle = search::index_outputs(&outputs)?;
        outputs.extend(bundle);
        timings.push(("recherche", t.elapsed()));
    }
    let t = Instant::now();
    let stats = write::write_outputs(&opts.out, &outputs)?;
    timings.push(("écriture", t.elapsed()));
    let report = BuildReport {
        pages: outputs.iter().filter(|o| o.path.ends_with(".html")).count(),
        outputs: outputs.len(),
        written: stats.written,
        removed: stats.removed,
        warnings: p.model.warnings,
        timings,
    };
    state::save(opts, key, &outputs, &report);
    Ok(report)
}
