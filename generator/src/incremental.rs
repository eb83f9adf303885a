//! Incremental rebuilds for `vitrine serve` and for approvals in the daemon.
//!
//! A `Site` keeps the last loaded sources, the model, the parse and card caches, the
//! templates with every entry's cards (`render::Views`) and the set of output paths
//! in memory. When files change, the change is classified and mapped to an explicit
//! action:
//!
//! - existing entry files edited, each keeping its collection and slug, still
//!   published, with no error or warning (the usual edit): the model is patched in
//!   place (`model::patch_entries`: the entry is replaced, its references re-resolved,
//!   and it is moved within its listing and terms by binary search), the cards it
//!   touches are refreshed, and only the pages that show a changed card or whose
//!   slice of a listing or term moved are rendered (`patched_jobs`). An edit of the
//!   body alone changes no card and renders one page. Nothing is proportional to the
//!   size of the site but a few scans of index lists.
//! - any other content change (file or bundle directory added, deleted or renamed,
//!   asset, slug, draft or future date, section, error): re-read the changed files only, rebuild the model from the
//!   parse cache, then render only the jobs that can depend on the changed entries
//!   (`affected_jobs`): their pages, pages that reference them or that they reference,
//!   every page of their collection's listing, every page of the terms they had or
//!   have, the taxonomy indexes, the home page, feeds and sitemap. Outputs no longer
//!   produced are removed.
//! - template changed: templates are reloaded and every page is re-rendered
//!   (every page uses the base template), the model is kept; `write` still only
//!   writes files whose bytes changed.
//! - static file changed, added or removed: static files are copied again (only
//!   changed bytes written, removed ones deleted); nothing is rendered.
//! - config, data or theme strings changed: everything is reloaded.
//!
//! Search: with search on, a rebuild normally re-indexes every page (pagefind
//! takes them all; its in-memory index cannot drop a page). `serve` turns on
//! [`Site::defer_search`]: a rebuild then writes its pages at once and only marks
//! the index stale; a worker takes a [`SearchJob`] (a snapshot of the page list),
//! runs it without holding the site, and hands the bundle back to
//! [`Site::finish_search`]. Edits made meanwhile leave the index stale again, so
//! the worker runs once more. The page is live without waiting for the index.
//!
//! Models are made by `pipeline::assemble` (model, images, translations), the same
//! function as a full build's, both in [`Site::apply`] and in
//! [`Site::check_addition`]; page slices follow `output::page_range`, as the
//! paginator's.
//!
//! On failure the sources, the model and the output stay as they were (the patch
//! is undone). What it does not do: guess. The test in tests/incremental.rs checks
//! after random edits of every kind that the output is byte-identical to a fresh
//! full build.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::cards::CardCache;
use crate::config::Config;
use crate::error::Error;
use crate::load;
use crate::model::{self, Model};
use crate::options::{BuildOptions, BuildReport, Timings};
use crate::output::{Output, page_range, pages};
use crate::pipeline::{self, Prepared};
use crate::render::{self, Job};
use crate::{i18n, search, write};

/// A snapshot of what the search index must cover (see [`Site::search_job`]).
pub struct SearchJob {
    out: PathBuf,
    pages: HashSet<String>,
    generation: u64,
    cache: search::PageCache,
}

impl SearchJob {
    /// Indexes the pages as they are on disk now. A page removed since the snapshot
    /// is left out (a later job covers the change).
    pub fn run(&self) -> Result<Vec<Output>, Error> {
        search::index_site_present(&self.out, &self.pages, Some(&self.cache))
    }
}

/// A site kept in memory between rebuilds.
pub struct Site {
    /// What the site is built with.
    pub opts: BuildOptions,
    /// The sources and the model of the last successful build.
    pub prepared: Prepared,
    /// Every output path of the last successful build, but the search bundle's.
    paths: HashSet<String>,
    /// The paths of the search bundle on disk.
    bundle: HashSet<String>,
    /// Leave the search index to [`Site::search_job`] instead of making it in `apply`.
    defer_search: bool,
    /// Counts rebuilds that wrote or removed files; `indexed` is the count the bundle
    /// on disk was made from. They differ while the index is stale.
    generation: u64,
    indexed: u64,
    /// Front matter already parsed, by file (valid while the config does not change).
    parse_cache: model::ParseCache,
    /// Base cards of the last render, by file (dropped when assets, translations or config change).
    card_cache: CardCache,
    /// Templates and cards of the last successful render, for in-place edits; `None`
    /// after a change that needs new ones (templates, config…) or after a failure.
    views: Option<render::Views>,
    /// Pages already parsed for the search index, by hash of their HTML: a rebuild
    /// re-parses only the pages that changed.
    search_cache: search::PageCache,
}

/// Changed Markdown files by path under `content/`, each with its new version
/// (`None`: deleted) or, in an [`Undo`], its previous one (`None`: new).
type PageChanges = Vec<(String, Option<load::SourceFile>)>;
/// Changed assets by path under `content/` (`None`: removed).
type AssetChanges = Vec<(String, Option<load::Asset>)>;

/// What a content change replaced in the sources, to put back if the rebuild fails.
struct Undo {
    /// Changed Markdown files and their previous version (`None`: the file is new).
    pages: PageChanges,
    /// Every asset as it was, when an asset changed.
    assets: Option<Vec<load::Asset>>,
}

/// Puts `file` in place of the page `rel` (removes it when `None`) and returns the
/// previous version. Pages stay in the order the loader gives (by path, component by
/// component), which is the order of the model's entries in a full build.
fn replace_page(pages: &mut Vec<load::SourceFile>, rel: &str, file: Option<load::SourceFile>) -> Option<load::SourceFile> {
    let at = pages.iter().position(|f| f.rel == rel);
    match (at, file) {
        (Some(k), Some(f)) => Some(std::mem::replace(&mut pages[k], f)),
        (Some(k), None) => Some(pages.remove(k)),
        (None, Some(f)) => {
            let at = pages.partition_point(|p| Path::new(&p.rel) < Path::new(&f.rel));
            pages.insert(at, f);
            None
        }
        (None, None) => None,
    }
}

/// What a changed path means for the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// A file under `content/`.
    Content,
    /// A template (the site's or the theme's).
    Template,
    /// A static file (the site's or the theme's).
    Static,
    /// The config, `data/` or the theme's strings.
    Everything,
    /// Anything else (editor files, other themes, `public/`).
    Ignored,
}

/// What a changed `path` (absolute, or relative to `site`) means for a site using `theme`.
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
        let mut site = Site::prepared(opts, &mut timings)?;
        let report = site.render_and_write(None, timings, None, true)?;
        Ok((site, report))
    }

    /// Loads the site (sources and model) without rendering or writing anything:
    /// for [`Site::check_addition`] where no site is kept in memory.
    pub fn load(opts: BuildOptions) -> Result<Site, Error> {
        Site::prepared(opts, &mut Vec::new())
    }

    /// The site loaded and assembled by the pipeline, nothing rendered yet.
    fn prepared(opts: BuildOptions, timings: &mut Timings) -> Result<Site, Error> {
        let mut parse_cache = model::ParseCache::default();
        let prepared = pipeline::prepare_cached(&opts, timings, &mut parse_cache)?;
        Ok(Site {
            opts,
            paths: HashSet::new(),
            bundle: HashSet::new(),
            defer_search: false,
            generation: 0,
            indexed: 0,
            prepared,
            parse_cache,
            card_cache: CardCache::default(),
            views: None,
            search_cache: search::PageCache::default(),
        })
    }

    /// Applies a batch of changed paths (absolute or relative to the site).
    /// On error the previous site stays in memory and on disk.
    ///
    /// The change is classified, then: the config, data or theme strings (or a
    /// translation) reload everything (`reload`); templates and static files are
    /// reloaded alone (`apply_theme_files`); content files are read
    /// (`read_content`) and put in the sources (`update_sources`), then the usual
    /// edit patches the model in place (`apply_patch`) and any other change
    /// rebuilds it from the parse cache (`rebuild_model`).
    pub fn apply(&mut self, changed: &[PathBuf]) -> Result<BuildReport, Error> {
        let theme = self.prepared.config.theme.clone();
        let kinds: BTreeSet<ChangeKind> = changed.iter().map(|p| classify(&self.opts.site, &theme, p)).collect();
        let mut timings = Vec::new();
        if kinds.contains(&ChangeKind::Everything) {
            self.views = None;
            return self.reload(timings);
        }
        if kinds.contains(&ChangeKind::Template) || kinds.contains(&ChangeKind::Static) {
            return self.apply_theme_files(changed, &kinds);
        }
        if !kinds.contains(&ChangeKind::Content) {
            return Ok(BuildReport::default());
        }
        if changed.iter().any(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| i18n::translation_of(n).is_some())) {
            // A translation changed: translations are few, reload everything.
            return self.reload(timings);
        }
        let t = Instant::now();
        let (pages, assets) = self.read_content(changed)?;
        if pages.is_empty() && assets.is_empty() {
            return Ok(BuildReport::default());
        }
        let changed_assets: Vec<String> = assets.iter().map(|(rel, _)| rel.clone()).collect();
        let undo = self.update_sources(pages, assets);
        timings.push(("chargement", t.elapsed()));
        let t = Instant::now();
        let rels: Vec<String> = undo.pages.iter().map(|(rel, _)| rel.clone()).collect();
        // The caches trust what they hold: tell them which files changed.
        for rel in &rels {
            self.card_cache.forget(rel);
        }
        // Edits of existing entries that keep the site's shape: patch the model in place,
        // refresh the cards they touch, render only the pages that show them.
        let edits_only = undo.assets.is_none()
            && undo.pages.iter().all(|(rel, old)| old.is_some() && self.prepared.sources.pages.iter().any(|f| f.rel == *rel))
            && self.prepared.translation_files.files.is_empty()
            && self.prepared.model.translations.is_empty();
        let model_opts = pipeline::model_options(&self.opts, &self.prepared.now);
        if edits_only
            && self.views.is_some()
            && let Some(patch) = model::patch_entries(
                &self.prepared.config,
                &mut self.prepared.model,
                &self.prepared.sources,
                &rels,
                &model_opts,
                &mut self.parse_cache,
            )
        {
            timings.push(("modèle", t.elapsed()));
            return self.apply_patch(patch, undo, timings);
        }
        self.rebuild_model(rels, &changed_assets, undo, timings)
    }

    /// Loads the whole site again (config, data, content, templates) and renders
    /// every job; the caches are dropped.
    fn reload(&mut self, mut timings: Timings) -> Result<BuildReport, Error> {
        self.parse_cache = model::ParseCache::default();
        self.prepared = pipeline::prepare_cached(&self.opts, &mut timings, &mut self.parse_cache)?;
        self.card_cache = CardCache::default();
        self.render_and_write(None, timings, None, true)
    }

    /// Templates or static files changed (and maybe content too). A template:
    /// reload templates, re-render every page (every page uses the base template).
    /// A static file: copy static files again (unchanged bytes are not rewritten,
    /// removed files are deleted). The model is kept as it is; content changes in
    /// the same batch are applied afterwards.
    fn apply_theme_files(&mut self, changed: &[PathBuf], kinds: &BTreeSet<ChangeKind>) -> Result<BuildReport, Error> {
        let theme = self.prepared.config.theme.clone();
        let templates = kinds.contains(&ChangeKind::Template);
        let mut timings = Vec::new();
        let t = Instant::now();
        let new_templates = if templates { Some(load::load_templates(&self.opts.site, &theme)?) } else { None };
        let new_statics = if kinds.contains(&ChangeKind::Static) { Some(load::load_statics(&self.opts.site, &theme)?) } else { None };
        timings.push(("chargement", t.elapsed()));
        let sources = &mut self.prepared.sources;
        let old_templates = new_templates.map(|t| std::mem::replace(&mut sources.templates, t));
        let old_statics = new_statics.map(|s| std::mem::replace(&mut sources.statics, s));
        // The kept views hold the templates: new ones for a template change.
        let (jobs, views) = if templates { (None, None) } else { (Some(vec![Job::Assets]), self.views.take()) };
        let report = match self.render_and_write(jobs, timings, views, true) {
            Ok(r) => r,
            Err(e) => {
                let sources = &mut self.prepared.sources;
                if let Some(t) = old_templates {
                    sources.templates = t;
                }
                if let Some(s) = old_statics {
                    sources.statics = s;
                }
                return Err(e);
            }
        };
        if !kinds.contains(&ChangeKind::Content) {
            return Ok(report);
        }
        let content: Vec<PathBuf> = changed.iter().filter(|p| classify(&self.opts.site, &theme, p) == ChangeKind::Content).cloned().collect();
        self.apply(&content)
    }

    /// Reads the changed content files, before anything is touched (a read error
    /// leaves the site as it was): changed Markdown files (`None`: deleted) and
    /// assets (`None`: removed), by path relative to `content/`. A directory stands
    /// for every file in it (a bundle added, moved or deleted at once): the files in
    /// it now, and the files known under it before.
    fn read_content(&self, changed: &[PathBuf]) -> Result<(PageChanges, AssetChanges), Error> {
        let theme = &self.prepared.config.theme;
        let content_dir = self.opts.site.join("content");
        let rel_of = |abs: &Path| abs.strip_prefix(&content_dir).ok().map(|r| r.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
        let mut files: Vec<PathBuf> = Vec::new();
        for p in changed {
            let abs = if p.is_absolute() { p.clone() } else { self.opts.site.join(p) };
            if classify(&self.opts.site, theme, &abs) != ChangeKind::Content {
                continue;
            }
            let Some(rel) = rel_of(&abs) else { continue };
            if abs.is_dir() || !abs.exists() {
                let under = format!("{rel}/");
                let src = &self.prepared.sources;
                files.extend(src.pages.iter().filter(|f| f.rel.starts_with(&under)).map(|f| content_dir.join(&f.rel)));
                files.extend(src.assets.iter().filter(|a| a.rel.starts_with(&under)).map(|a| content_dir.join(&a.rel)));
            }
            if abs.is_dir() {
                files.extend(load::walk_files(&abs)?);
            } else {
                files.push(abs);
            }
        }
        files.sort();
        files.dedup();
        let mut pages: PageChanges = Vec::new();
        let mut assets: AssetChanges = Vec::new();
        for abs in files {
            let Some(rel) = rel_of(&abs) else { continue };
            if classify(&self.opts.site, theme, &abs) != ChangeKind::Content {
                continue;
            }
            if rel.ends_with(".md") {
                let file = if abs.is_file() { Some(load::read_source(&content_dir, &abs)?) } else { None };
                pages.push((rel, file));
            } else if abs.is_file() || self.prepared.sources.assets.iter().any(|a| a.rel == rel) {
                assets.push((rel.clone(), abs.is_file().then(|| load::Asset { rel, src: abs.clone() })));
            }
            // Otherwise a file that came and went before the rebuild (an editor's probe
            // file such as Vim's `4913`): nothing changed.
        }
        Ok((pages, assets))
    }

    /// Puts the changed files in the sources, in place; the returned `Undo` puts
    /// them back if the rebuild fails.
    fn update_sources(&mut self, pages: PageChanges, assets: AssetChanges) -> Undo {
        let sources = &mut self.prepared.sources;
        let mut undo = Undo { pages: Vec::new(), assets: (!assets.is_empty()).then(|| sources.assets.clone()) };
        for (rel, file) in pages {
            let old = replace_page(&mut sources.pages, &rel, file);
            undo.pages.push((rel, old));
        }
        for (rel, asset) in assets {
            sources.assets.retain(|a| a.rel != rel);
            sources.assets.extend(asset);
            sources.assets.sort();
        }
        undo
    }

    /// Renders what the in-place `patch` of the model changed: the cards it touches
    /// are refreshed and only the pages that show a changed card, or whose slice moved,
    /// are rendered (every page when a menu entry, or an entry every page reads,
    /// changed). On failure the patch and the sources are undone.
    fn apply_patch(&mut self, patch: model::Patch, undo: Undo, timings: Timings) -> Result<BuildReport, Error> {
        let p = &self.prepared;
        let read_everywhere = render::collections_read_everywhere(&p.sources);
        let everywhere = patch.old_entries.iter().map(|(_, e)| e).chain(patch.changed.iter().map(|i| &p.model.entries[*i])).any(|e| {
            e.fields.contains_key("menu") || read_everywhere.contains(&p.config.collections[e.collection].name)
        });
        // Taken: views refreshed for the patched model must not outlive a failure.
        let (jobs, views, paths_may_change) = match self.views.take() {
            // The menu is in every page and in the `site` global: new views, every page.
            _ if everywhere => (render::all_jobs(&p.config, &p.model), None, true),
            Some(mut views) => {
                let shown = views.refresh(&p.config, &p.model, &patch.changed, &patch.touched);
                let listings_read_all = render::listings_reading_all_pages(&p.config, &p.sources);
                let (jobs, paths_may_change) = patched_jobs(&p.config, &p.model, &patch, &shown, &listings_read_all);
                (jobs, Some(views), paths_may_change)
            }
            None => unreachable!("the caller checked that views are kept"),
        };
        match self.render_and_write(Some(jobs), timings, views, paths_may_change) {
            Ok(r) => Ok(r),
            Err(e) => {
                patch.undo(&mut self.prepared.model);
                self.undo_sources(undo);
                Err(e)
            }
        }
    }

    /// Rebuilds the model from the parse cache (`rels`: the changed Markdown files)
    /// through the pipeline, and renders the jobs the change can affect. On failure
    /// the sources, the model and the translations are put back.
    fn rebuild_model(&mut self, rels: Vec<String>, changed_assets: &[String], undo: Undo, mut timings: Timings) -> Result<BuildReport, Error> {
        for rel in &rels {
            self.parse_cache.forget(rel);
        }
        let mut changed_sources: HashSet<String> = rels.into_iter().collect();
        let p = &self.prepared;
        let model_opts = pipeline::model_options(&self.opts, &p.now);
        let built = pipeline::assemble(&p.config, &p.sources, &p.translation_files, &model_opts, &self.opts.site, &mut self.parse_cache, &mut timings);
        let (new, translations) = match built {
            Ok(b) => b,
            Err(e) => {
                self.undo_sources(undo);
                return Err(e);
            }
        };
        // Image sizes, variants and existence checks depend on assets. An entry can only
        // use the files of its own directory and below (image paths are relative to it):
        // those entries count as changed.
        for e in &new.entries {
            let dir = e.source.rsplit_once('/').map_or("", |(d, _)| d);
            if changed_assets.iter().any(|a| dir.is_empty() || a.starts_with(&format!("{dir}/"))) {
                self.card_cache.forget(&e.source);
                changed_sources.insert(e.source.clone());
            }
        }
        let p = &self.prepared;
        let global = render::collections_read_everywhere(&p.sources);
        let listings_read_all = render::listings_reading_all_pages(&p.config, &p.sources);
        let jobs = affected_jobs(&p.config, &p.model, &new, &changed_sources, &global, &listings_read_all)
            .unwrap_or_else(|| render::all_jobs(&p.config, &new));
        let old_model = std::mem::replace(&mut self.prepared.model, new);
        let old_translations = std::mem::replace(&mut self.prepared.translations, translations);
        // On failure the kept views still match the model put back.
        match self.render_and_write(Some(jobs), timings, None, true) {
            Ok(r) => Ok(r),
            Err(e) => {
                self.undo_sources(undo);
                self.prepared.model = old_model;
                self.prepared.translations = old_translations;
                Err(e)
            }
        }
    }

    /// Whether the site would still build with `pages` and `assets` added (new
    /// files under `content/`, paths relative to it; asset sources anywhere on
    /// disk): the model is built from the parse cache with them, images are
    /// processed (into the cache only), and the pages the addition affects are
    /// rendered in memory. Nothing is written to `content/` or `public/`, and the
    /// site in memory is left as it was. This is the check the daemon runs
    /// before approval writes anything.
    pub fn check_addition(&mut self, pages: Vec<load::SourceFile>, assets: Vec<load::Asset>) -> Result<(), Error> {
        let mut undo = Undo { pages: Vec::new(), assets: (!assets.is_empty()).then(|| self.prepared.sources.assets.clone()) };
        let mut changed: HashSet<String> = HashSet::new();
        // The parse of a file replaced for the trial, put back afterwards: the real
        // edit that follows a check (the daemon's editor) is then patched in place.
        let mut saved = Vec::new();
        for file in pages {
            let rel = file.rel.clone();
            if let Some(s) = self.parse_cache.saved(&rel) {
                saved.push((rel.clone(), s));
            }
            self.parse_cache.forget(&rel);
            let old = replace_page(&mut self.prepared.sources.pages, &rel, Some(file));
            changed.insert(rel.clone());
            undo.pages.push((rel, old));
        }
        for asset in assets {
            self.prepared.sources.assets.retain(|a| a.rel != asset.rel);
            self.prepared.sources.assets.push(asset);
        }
        self.prepared.sources.assets.sort();
        let p = &self.prepared;
        let model_opts = pipeline::model_options(&self.opts, &p.now);
        let result = pipeline::assemble(&p.config, &p.sources, &p.translation_files, &model_opts, &self.opts.site, &mut self.parse_cache, &mut Timings::new()).and_then(|(new, _translations)| {
            let global = render::collections_read_everywhere(&p.sources);
            let listings_read_all = render::listings_reading_all_pages(&p.config, &p.sources);
            let added: HashSet<usize> = new.entries.iter().enumerate().filter(|(_, e)| changed.contains(&e.source)).map(|(i, _)| i).collect();
            // The pages that show the new entries: a listing or term page whose slice
            // holds one (the other pages only shift known cards through the same templates).
            let shows_added = |items: &[usize], per: usize, page: usize| {
                items[page_range(items.len(), per, page)].iter().any(|i| added.contains(i))
            };
            let jobs: Vec<Job> = affected_jobs(&p.config, &p.model, &new, &changed, &global, &listings_read_all)
                .unwrap_or_else(|| added.iter().map(|i| Job::Entry(*i)).collect())
                .into_iter()
                .filter(|job| match *job {
                    Job::Listing(c, page) => shows_added(&new.lists[c], p.config.collections[c].paginate, page),
                    Job::Term(t, k, page) => shows_added(&new.taxonomies[t][k].entries, p.config.paginate, page),
                    _ => true,
                })
                .collect();
            let ropts = render::RenderOptions { now: p.now.clone(), live_reload: false };
            // The cards of unchanged entries come from the cache; the new ones are forgotten below.
            let renderer = render::Renderer::with_cache(&p.config, &new, &p.sources, &ropts, &mut self.card_cache)?;
            renderer.render_jobs(&jobs).map(|_| ())
        });
        for rel in &changed {
            self.card_cache.forget(rel);
        }
        self.undo_sources(undo);
        for (rel, s) in saved {
            self.parse_cache.restore(&rel, s);
        }
        result
    }

    /// Puts the sources back as they were before a failed rebuild. The files are
    /// dropped from the parse cache: the next rebuild parses them again and compares
    /// them with the model that is in memory, not with the version that failed.
    fn undo_sources(&mut self, undo: Undo) {
        for (rel, old) in undo.pages.into_iter().rev() {
            self.parse_cache.forget(&rel);
            replace_page(&mut self.prepared.sources.pages, &rel, old);
        }
        if let Some(assets) = undo.assets {
            self.prepared.sources.assets = assets;
        }
    }

    /// From now on, leave the search index to [`Site::search_job`] and
    /// [`Site::finish_search`] (`serve`, where a page must not wait for the index).
    pub fn defer_search(&mut self, on: bool) {
        self.defer_search = on;
    }

    /// Whether the search bundle on disk is older than the pages.
    pub fn search_pending(&self) -> bool {
        search::enabled(&self.prepared.sources) && self.indexed != self.generation
    }

    /// What the search index must cover now, when it is stale: run it with
    /// [`SearchJob::run`] without holding the site, then give the result to
    /// [`Site::finish_search`].
    pub fn search_job(&self) -> Option<SearchJob> {
        self.search_pending().then(|| SearchJob {
            out: self.opts.out.clone(),
            pages: self.paths.clone(),
            generation: self.generation,
            cache: self.search_cache.clone(),
        })
    }

    /// Writes the bundle `job` made and removes the files of the previous one. A
    /// bundle made before later rebuilds is still written (it is closer than the old
    /// one), and the index stays pending. Nothing happens when search was turned off
    /// meanwhile.
    pub fn finish_search(&mut self, job: &SearchJob, bundle: Vec<Output>) -> Result<write::WriteStats, Error> {
        if !search::enabled(&self.prepared.sources) {
            return Ok(write::WriteStats::default());
        }
        let new_bundle: HashSet<String> = bundle.iter().map(|o| o.path.clone()).collect();
        let stats = write::write_changes(&self.opts.out, &bundle, self.bundle.difference(&new_bundle))?;
        self.bundle = new_bundle;
        self.indexed = job.generation;
        Ok(stats)
    }

    /// Brings the search index up to date now (the work of a deferred index, in line).
    pub fn update_search(&mut self) -> Result<(), Error> {
        if let Some(job) = self.search_job() {
            let bundle = job.run()?;
            self.finish_search(&job, bundle)?;
        }
        Ok(())
    }

    /// Renders `jobs` (every job when `None`, writing as a full build does) and writes
    /// what changed. `views`: the templates and cards kept from the last render, brought
    /// up to date by the caller, or `None` to build them. `paths_may_change`: false when
    /// the caller knows that the set of output paths stayed the same (an in-place edit
    /// that added or removed no term page), which spares recomputing every path.
    fn render_and_write(
        &mut self,
        jobs: Option<Vec<Job>>,
        mut timings: Timings,
        views: Option<render::Views>,
        paths_may_change: bool,
    ) -> Result<BuildReport, Error> {
        let p = &self.prepared;
        let t = Instant::now();
        let ropts = render::RenderOptions { now: p.now.clone(), live_reload: self.opts.live_reload };
        let renderer = match views {
            Some(views) => render::Renderer::from_views(&p.config, &p.model, &p.sources, views, &ropts),
            None => render::Renderer::with_cache(&p.config, &p.model, &p.sources, &ropts, &mut self.card_cache)?,
        };
        let full = jobs.is_none();
        let jobs = jobs.unwrap_or_else(|| render::all_jobs(&p.config, &p.model));
        let mut outputs: Vec<Output> = renderer.render_jobs(&jobs)?;
        let views = renderer.into_views();
        // Translated pages are few and show their originals' titles: always re-rendered.
        outputs.extend(render::render_translations(&p.translations, &ropts)?);
        timings.push(("rendu", t.elapsed()));
        let search = search::enabled(&p.sources);
        // A full write removes every file it did not write, so a full rebuild (the
        // first one, or after a config change: rare) always indexes in line.
        let index_now = search && (full || !self.defer_search);
        // `None`: the same paths as last time.
        let new_paths = (paths_may_change || index_now || full).then(|| {
            let mut paths = all_paths(p);
            paths.extend(render::translation_paths(&p.translations));
            paths
        });
        // The bundle paths after this rebuild: `None` when the bundle is left as it is.
        let mut new_bundle: Option<HashSet<String>> = (!search).then(HashSet::new);
        if index_now && let Some(new_paths) = new_paths.as_ref() {
            // The index covers every page: fresh ones from `outputs`, the others from disk.
            let t = Instant::now();
            let cache = Some(&self.search_cache);
            let bundle = if full {
                search::index_outputs(&outputs, cache)?
            } else {
                search::index_site(&self.opts.out, new_paths, &outputs, cache)?
            };
            new_bundle = Some(bundle.iter().map(|o| o.path.clone()).collect());
            outputs.extend(bundle);
            timings.push(("recherche", t.elapsed()));
        }
        let t = Instant::now();
        let stats = if full {
            write::write_outputs(&self.opts.out, &outputs)?
        } else {
            let gone_pages = new_paths.iter().flat_map(|new_paths| self.paths.difference(new_paths));
            let gone_bundle = new_bundle.iter().flat_map(|new_bundle| self.bundle.difference(new_bundle));
            write::write_changes(&self.opts.out, &outputs, gone_pages.chain(gone_bundle))?
        };
        timings.push(("écriture", t.elapsed()));
        if let Some(new_paths) = new_paths {
            self.paths = new_paths;
        }
        if stats.written > 0 || stats.removed > 0 {
            self.generation += 1;
        }
        if let Some(new_bundle) = new_bundle {
            self.bundle = new_bundle;
            self.indexed = self.generation;
        }
        self.views = Some(views);
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
    config: &Config,
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
            l[page_range(l.len(), per, p)].iter().map(|i| m.entries[*i].source.clone()).collect()
        };
        let (o, n) = (slice(old_list, old), slice(new_list, new));
        o != n || n.iter().any(|s| dirty(s))
    };
    // A collection's `_index.md` gives the title and introduction of every page of
    // its listing.
    let sections_changed: HashSet<usize> = (0..config.collections.len())
        .filter(|ci| {
            [old, new]
                .iter()
                .filter_map(|m| m.sections.get(*ci).and_then(|s| s.as_ref()))
                .any(|s| changed.contains(&s.source))
        })
        .collect();
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
                sections_changed.contains(&ci)
                    || collections.contains(&ci)
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
            // A form lists the entries its references can choose from.
            Job::Form(ci) => render::form_lists(config, ci).iter().any(|c| collections.contains(c)),
            Job::Entry(_) | Job::Robots => false,
        };
        if keep {
            jobs.insert(job);
        }
    }
    Some(jobs.into_iter().collect())
}

/// The jobs whose output can differ after `patch` edited entries in place (the set of
/// entries stays the same, so indices do not move), given the entries whose full card
/// changed (`shown`); and whether the set of output paths can have changed (a term
/// appeared or vanished, or its number of pages changed).
///
/// Only the changed entries' own pages show their bodies: an edit of the body alone
/// changes no card, so it re-renders one page. A listing or term page is re-rendered
/// when its slice of entries moved or shows a changed card; every page of a term when
/// its name or count changed; the whole-site outputs (home, feeds, sitemap…) only when
/// something they show changed.
fn patched_jobs(
    config: &Config,
    model: &Model,
    patch: &model::Patch,
    shown: &BTreeSet<usize>,
    listings_read_all: &HashSet<usize>,
) -> (Vec<Job>, bool) {
    let page_changed = |old: &[usize], new: &[usize], per: usize, p: usize| {
        let (o, n) = (&old[page_range(old.len(), per, p)], &new[page_range(new.len(), per, p)]);
        old.len() != new.len() || o != n || n.iter().any(|i| shown.contains(i))
    };
    let old_list = |ci: usize| patch.old_lists.iter().find(|(c, _)| *c == ci).map_or(model.lists[ci].as_slice(), |(_, l)| l.as_slice());
    let old_terms = |ti: usize| patch.old_taxonomies.iter().find(|(t, _)| *t == ti).map_or(model.taxonomies[ti].as_slice(), |(_, t)| t.as_slice());
    let old_term = |ti: usize, slug: &str| {
        let terms = old_terms(ti);
        terms.binary_search_by(|t| t.slug.as_str().cmp(slug)).ok().map(|k| &terms[k])
    };
    let term_pages = |terms: &[model::Term]| terms.iter().map(|t| (t.slug.clone(), pages(t.entries.len(), config.paginate))).collect::<Vec<_>>();
    let paths_may_change = patch.old_taxonomies.iter().any(|(ti, old)| term_pages(old) != term_pages(&model.taxonomies[*ti]));
    let index_of = |terms: &[model::Term]| terms.iter().map(|t| (t.slug.clone(), t.name.clone(), t.entries.len())).collect::<Vec<_>>();
    let shown_in = |ci: usize| shown.iter().any(|i| model.entries[*i].collection == ci);
    let dates_changed = patch.old_entries.iter().any(|(i, old)| old.date != model.entries[*i].date);
    let anything_shown = !shown.is_empty();
    // Per collection: did its order change or does it show a changed card?
    let moved: Vec<bool> = (0..config.collections.len()).map(|ci| old_list(ci) != model.lists[ci].as_slice() || shown_in(ci)).collect();

    let mut jobs: BTreeSet<Job> = patch.changed.iter().chain(shown).map(|i| Job::Entry(*i)).collect();
    for job in render::all_jobs(config, model) {
        let keep = match job {
            Job::Listing(ci, p) => {
                let (old, new) = (old_list(ci), &model.lists[ci]);
                moved[ci] && (listings_read_all.contains(&ci) || page_changed(old, new, config.collections[ci].paginate, p))
            }
            Job::Term(ti, k, p) => {
                let t = &model.taxonomies[ti][k];
                match old_term(ti, &t.slug) {
                    Some(old) => old.name != t.name || page_changed(&old.entries, &t.entries, config.paginate, p),
                    None => true,
                }
            }
            Job::TaxonomyIndex(ti) => index_of(old_terms(ti)) != index_of(&model.taxonomies[ti]),
            Job::Feed(ci) => shown_in(ci),
            Job::Sitemap => paths_may_change || dates_changed,
            Job::Home | Job::NotFound | Job::Calendars | Job::SearchPage => anything_shown,
            Job::Form(ci) => render::form_lists(config, ci).iter().any(|c| shown_in(*c)),
            Job::Entry(_) | Job::Robots | Job::Assets => false,
        };
        if keep {
            jobs.insert(job);
        }
    }
    (jobs.into_iter().collect(), paths_may_change)
}
