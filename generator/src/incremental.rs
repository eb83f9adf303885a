//! Incremental rebuilds for `vitrine serve` and for approvals in the daemon.
//!
//! A `Site` keeps the last loaded sources and model in memory. When files
//! change, the change is classified and mapped to an explicit action:
//!
//! - content file added, changed or deleted: re-read that file only, rebuild the
//!   model (a parallel parse of front matter, no rendering), then render only
//!   the jobs that can depend on the changed entries: their pages, pages that
//!   reference them or that they reference, every page of their collection's
//!   listing, every page of the terms they had or have, the taxonomy indexes,
//!   the home page, feeds and sitemap. Outputs no longer produced are removed.
//! - template changed: templates are reloaded and every page is re-rendered
//!   (every page uses the base template), the model is kept; `write` still only
//!   writes files whose bytes changed.
//! - static file changed, added or removed: static files are copied again (only
//!   changed bytes written, removed ones deleted); nothing is rendered.
//! - config, data or theme strings changed: everything is reloaded.
//!
//! What it does not do: guess. Any entry whose card changed is re-rendered
//! everywhere it can appear; the test in tests/incremental.rs checks after
//! random edits that the output is byte-identical to a fresh full build.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::load;
use crate::model::{self, Model};
use crate::render::{self, Job, Output};
use crate::{BuildOptions, BuildReport, Prepared};

/// A site kept in memory between rebuilds.
pub struct Site {
    pub opts: BuildOptions,
    pub prepared: Prepared,
    /// Every output path of the last successful build.
    paths: HashSet<String>,
    /// Front matter already parsed, by file (valid while the config does not change).
    parse_cache: model::ParseCache,
    /// Base cards of the last render, by file (dropped when assets, translations or config change).
    card_cache: render::CardCache,
}

/// What a changed path means for the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Content,
    Template,
    Static,
    Everything,
    Ignored,
}

pub fn classify(site: &Path, theme: &str, path: &Path) -> ChangeKind {
    let rel = path.strip_prefix(site).unwrap_or(path);
    let first = rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name.ends_with(".vitrine-tmp") {
        return ChangeKind::Ignored;
    }
    match first.as_str() {
        "vitrine.yaml" | "data" => ChangeKind::Everything,
        "content" => ChangeKind::Content,
        "templates" => ChangeKind::Template,
        "static" => ChangeKind::Static,
        "themes" => {
            let theme_rel = rel.strip_prefix(Path::new("themes").join(theme)).ok();
            match theme_rel.and_then(|r| r.components().next()).map(|c| c.as_os_str().to_string_lossy().into_owned()) {
                Some(s) if s == "templates" => ChangeKind::Template,
                Some(s) if s == "static" => ChangeKind::Static,
                Some(s) if s == "i18n" => ChangeKind::Everything,
                _ => ChangeKind::Ignored,
            }
        }
        _ => ChangeKind::Ignored,
    }
}

fn all_paths(p: &Prepared) -> HashSet<String> {
    render::all_jobs(&p.config, &p.model)
        .into_iter()
        .flat_map(|j| render::job_paths(&p.config, &p.model, &p.sources, j))
        .collect()
}

impl Site {
    /// Loads the site and makes a full build.
    pub fn open(opts: BuildOptions) -> Result<(Site, BuildReport), Error> {
        let mut timings = Vec::new();
        let mut parse_cache = model::ParseCache::default();
        let prepared = crate::prepare_cached(&opts, &mut timings, &mut parse_cache)?;
        let mut site = Site { opts, paths: HashSet::new(), prepared, parse_cache, card_cache: render::CardCache::default() };
        let report = site.render_and_write(None, timings)?;
        Ok((site, report))
    }

    /// Applies a batch of changed paths (absolute or relative to the site).
    /// On error the previous site stays in memory and on disk.
    pub fn apply(&mut self, changed: &[PathBuf]) -> Result<BuildReport, Error> {
        let theme = self.prepared.config.theme.clone();
        let kinds: BTreeSet<ChangeKind> = changed.iter().map(|p| classify(&self.opts.site, &theme, p)).collect();
        let mut timings = Vec::new();
        if kinds.contains(&ChangeKind::Everything) {
            // The config, data or theme strings: reload everything, render every job.
            self.prepared = { self.parse_cache = model::ParseCache::default(); crate::prepare_cached(&self.opts, &mut timings, &mut self.parse_cache)? };
            self.card_cache = render::CardCache::default();
            return self.render_and_write(None, timings);
        }
        let templates = kinds.contains(&ChangeKind::Template);
        if templates || kinds.contains(&ChangeKind::Static) {
            // A template: reload templates, re-render every page (every page uses the base
            // template). A static file: copy static files again (unchanged bytes are not
            // rewritten, removed files are deleted). The model is kept as it is.
            let t = Instant::now();
            let mut sources = self.prepared.sources.clone();
            if templates {
                sources.templates = load::load_templates(&self.opts.site, &theme)?;
            }
            if kinds.contains(&ChangeKind::Static) {
                sources.statics = load::load_statics(&self.opts.site, &theme)?;
            }
            timings.push(("chargement", t.elapsed()));
            let old = std::mem::replace(&mut self.prepared.sources, sources);
            let jobs = if templates { None } else { Some(vec![Job::Assets]) };
            let report = match self.render_and_write(jobs, timings) {
                Ok(r) => r,
                Err(e) => {
                    self.prepared.sources = old;
                    return Err(e);
                }
            };
            if !kinds.contains(&ChangeKind::Content) {
                return Ok(report);
            }
            let content: Vec<PathBuf> =
                changed.iter().filter(|p| classify(&self.opts.site, &theme, p) == ChangeKind::Content).cloned().collect();
            return self.apply(&content);
        }
        if !kinds.contains(&ChangeKind::Content) {
            return Ok(BuildReport::default());
        }
        if changed.iter().any(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| crate::i18n::translation_of(n).is_some())) {
            // A translation changed: translations are few, reload everything.
            self.prepared = { self.parse_cache = model::ParseCache::default(); crate::prepare_cached(&self.opts, &mut timings, &mut self.parse_cache)? };
            self.card_cache = render::CardCache::default();
            return self.render_and_write(None, timings);
        }
        let t = Instant::now();
        let content_dir = self.opts.site.join("content");
        let mut sources = self.prepared.sources.clone();
        let mut changed_sources: HashSet<String> = HashSet::new();
        let mut assets_changed = false;
        for p in changed {
            let abs = if p.is_absolute() { p.clone() } else { self.opts.site.join(p) };
            if classify(&self.opts.site, &theme, &abs) != ChangeKind::Content {
                continue;
            }
            let Ok(rel_path) = abs.strip_prefix(&content_dir) else { continue };
            let rel = rel_path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            if abs.is_dir() {
                // A directory appeared or vanished (bundle moved): reload content wholesale.
                self.prepared = { self.parse_cache = model::ParseCache::default(); crate::prepare_cached(&self.opts, &mut timings, &mut self.parse_cache)? };
                self.card_cache = render::CardCache::default();
                return self.render_and_write(None, timings);
            }
            if rel.ends_with(".md") {
                sources.pages.retain(|f| f.rel != rel);
                if abs.is_file() {
                    sources.pages.push(load::read_source(&content_dir, &abs)?);
                    sources.pages.sort_by(|a, b| a.rel.cmp(&b.rel));
                }
                changed_sources.insert(rel);
            } else {
                sources.assets.retain(|a| a.rel != rel);
                if abs.is_file() {
                    sources.assets.push(load::Asset { rel, src: abs.clone() });
                    sources.assets.sort();
                }
                assets_changed = true;
            }
        }
        timings.push(("chargement", t.elapsed()));
        let t = Instant::now();
        let old = &self.prepared.model;
        let mut new = model::build_model_cached(
            &self.prepared.config,
            &sources,
            &model::ModelOptions { drafts: self.opts.drafts, today: self.prepared.now.date() },
            &mut self.parse_cache,
        )?;
        timings.push(("modèle", t.elapsed()));
        let t = Instant::now();
        crate::images::process(&self.prepared.config, &sources, &mut new, &self.opts.site)?;
        timings.push(("images", t.elapsed()));
        let translations = crate::i18n::build(
            &self.prepared.config,
            &sources,
            &mut new,
            &self.prepared.translation_files,
            &model::ModelOptions { drafts: self.opts.drafts, today: self.prepared.now.date() },
        )?;
        if assets_changed {
            // Image sizes and existence checks depend on assets: treat every bundle's entry as changed.
            self.card_cache = render::CardCache::default();
            changed_sources.extend(new.entries.iter().map(|e| e.source.clone()));
        }
        let global = render::collections_read_everywhere(&sources);
        let listings_read_all = render::listings_reading_all_pages(&self.prepared.config, &sources);
        let jobs = affected_jobs(&self.prepared.config, old, &new, &changed_sources, &global, &listings_read_all);
        let jobs = match jobs {
            Some(j) => j,
            None => render::all_jobs(&self.prepared.config, &new),
        };
        let old_prepared_sources = std::mem::replace(&mut self.prepared.sources, sources);
        let old_model = std::mem::replace(&mut self.prepared.model, new);
        let old_translations = std::mem::replace(&mut self.prepared.translations, translations);
        match self.render_and_write(Some(jobs), timings) {
            Ok(r) => Ok(r),
            Err(e) => {
                self.prepared.sources = old_prepared_sources;
                self.prepared.model = old_model;
                self.prepared.translations = old_translations;
                Err(e)
            }
        }
    }

    fn render_and_write(&mut self, jobs: Option<Vec<Job>>, mut timings: Vec<(&'static str, Duration)>) -> Result<BuildReport, Error> {
        let p = &self.prepared;
        let t = Instant::now();
        let renderer = render::Renderer::with_cache(
            &p.config,
            &p.model,
            &p.sources,
            &render::RenderOptions { now: p.now.clone(), live_reload: self.opts.live_reload },
            &mut self.card_cache,
        )?;
        let full = jobs.is_none();
        let jobs = jobs.unwrap_or_else(|| render::all_jobs(&p.config, &p.model));
        let mut outputs: Vec<Output> = renderer.render_jobs(&jobs)?;
        // Translated pages are few and show their originals' titles: always re-rendered.
        outputs.extend(crate::i18n::render(&p.translations, &render::RenderOptions { now: p.now.clone(), live_reload: self.opts.live_reload })?);
        timings.push(("rendu", t.elapsed()));
        let mut new_paths = all_paths(p);
        new_paths.extend(crate::i18n::paths(&p.translations));
        if crate::search::enabled(&p.sources) {
            // The index covers every page: fresh ones from `outputs`, the others from disk.
            let t = Instant::now();
            let bundle = if full { crate::search::index_outputs(&outputs)? } else { crate::search::index_site(&self.opts.out, &new_paths, &outputs)? };
            new_paths.extend(bundle.iter().map(|o| o.path.clone()));
            outputs.extend(bundle);
            timings.push(("recherche", t.elapsed()));
        }
        let t = Instant::now();
        let stats = if full {
            crate::write::write_outputs(&self.opts.out, &outputs)?
        } else {
            let mut stats = crate::write::WriteStats::default();
            for o in &outputs {
                if crate::write::write_output(&self.opts.out, o)? {
                    stats.written += 1;
                }
            }
            for gone in self.paths.difference(&new_paths) {
                let path = self.opts.out.join(gone);
                if path.is_file() {
                    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                    stats.removed += 1;
                    let mut dir = path.parent();
                    while let Some(d) = dir.filter(|d| *d != self.opts.out) {
                        if std::fs::remove_dir(d).is_err() {
                            break;
                        }
                        dir = d.parent();
                    }
                }
            }
            stats
        };
        timings.push(("écriture", t.elapsed()));
        self.paths = new_paths;
        Ok(BuildReport {
            pages: outputs.iter().filter(|o| o.path.ends_with(".html")).count(),
            outputs: outputs.len(),
            written: stats.written,
            removed: stats.removed,
            warnings: p.model.warnings.clone(),
            timings,
        })
    }
}

/// The jobs whose output can differ after `changed` sources went from `old` to `new`;
/// `None` means "everything" (a change to the menu, which every page shows).
fn affected_jobs(
    config: &crate::Config,
    old: &Model,
    new: &Model,
    changed: &HashSet<String>,
    read_everywhere: &HashSet<String>,
    listings_read_all: &HashSet<usize>,
) -> Option<Vec<Job>> {
    let in_menu = |m: &Model| {
        m.entries.iter().any(|e| {
            changed.contains(&e.source)
                && (e.fields.contains_key("menu") || read_everywhere.contains(&config.collections[e.collection].name))
        })
    };
    if in_menu(old) || in_menu(new) {
        return None;
    }
    let touched = |m: &Model, i: usize| {
        changed.contains(&m.entries[i].source)
            || m.refs[i].iter().any(|(_, t)| t.iter().any(|t| changed.contains(&m.entries[*t].source)))
            || m.backrefs[i].iter().any(|b| changed.contains(&m.entries[*b].source))
    };
    let old_touched: HashSet<&str> = (0..old.entries.len()).filter(|i| touched(old, *i)).map(|i| old.entries[i].source.as_str()).collect();
    let by_source: HashMap<&str, usize> = new.entries.iter().enumerate().map(|(i, e)| (e.source.as_str(), i)).collect();
    let mut jobs: BTreeSet<Job> = BTreeSet::new();
    for i in 0..new.entries.len() {
        if touched(new, i) || old_touched.contains(new.entries[i].source.as_str()) {
            jobs.insert(Job::Entry(i));
        }
    }
    let _ = by_source;
    // Collections and terms that held a changed entry, before or after.
    let mut collections = BTreeSet::new();
    let mut terms: BTreeSet<(usize, String)> = BTreeSet::new();
    for m in [old, new] {
        for (i, e) in m.entries.iter().enumerate() {
            if !changed.contains(&e.source) && !old_touched.contains(e.source.as_str()) {
                continue;
            }
            collections.insert(e.collection);
            for (ti, ts) in m.taxonomies.iter().enumerate() {
                for t in ts {
                    if t.entries.contains(&i) {
                        terms.insert((ti, t.slug.clone()));
                    }
                }
            }
        }
    }
    // A listing or term page changes when its slice of entries changes (order,
    // membership), when it shows a changed entry, or when the number of entries or
    // pages changes (counts and pager links). Listing templates that read `pages`
    // (every card of the collection) make every page of it change.
    let dirty = |s: &str| changed.contains(s) || old_touched.contains(s);
    let page_changed = |old_list: Option<&Vec<usize>>, new_list: &Vec<usize>, per: usize, p: usize| {
        let Some(old_list) = old_list else { return true };
        if old_list.len() != new_list.len() {
            return true;
        }
        let slice = |l: &Vec<usize>, m: &Model| -> Vec<String> {
            let range = if per == 0 { 0..l.len() } else { ((p - 1) * per).min(l.len())..(p * per).min(l.len()) };
            l[range].iter().map(|i| m.entries[*i].source.clone()).collect()
        };
        let (o, n) = (slice(old_list, old), slice(new_list, new));
        o != n || n.iter().any(|s| dirty(s))
    };
    let old_terms: HashMap<(usize, &str), &Vec<usize>> = old
        .taxonomies
        .iter()
        .enumerate()
        .flat_map(|(ti, ts)| ts.iter().map(move |t| ((ti, t.slug.as_str()), &t.entries)))
        .collect();
    let term_counts = |m: &Model, ti: usize| m.taxonomies[ti].iter().map(|t| (t.slug.clone(), t.entries.len())).collect::<Vec<_>>();
    for job in render::all_jobs(config, new) {
        let keep = match job {
            Job::Listing(ci, p) => {
                collections.contains(&ci)
                    && (listings_read_all.contains(&ci)
                        || page_changed(old.lists.get(ci), &new.lists[ci], config.collections[ci].paginate, p))
            }
            Job::Term(ti, k, p) => {
                let t = &new.taxonomies[ti][k];
                terms.contains(&(ti, t.slug.clone()))
                    && page_changed(old_terms.get(&(ti, t.slug.as_str())).copied(), &t.entries, config.paginate, p)
            }
            Job::TaxonomyIndex(ti) => {
                terms.iter().any(|(t, _)| *t == ti) && (old.taxonomies.len() <= ti || term_counts(old, ti) != term_counts(new, ti))
            }
            Job::Home | Job::NotFound | Job::Feed(_) | Job::Sitemap | Job::Assets | Job::Calendars | Job::SearchPage => true,
            Job::Entry(_) | Job::Form(_) | Job::Robots => false,
        };
        if keep {
            jobs.insert(job);
        }
    }
    Some(jobs.into_iter().collect())
}
