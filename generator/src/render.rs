//! Rendering: the model becomes a list of outputs (path + bytes) in memory.
//!
//! Each entry's *card* (the view templates see in listings, built by `cards`) is
//! made once per build as a Tera value and shared by every page that shows it.
//! Outputs are independent `Job`s rendered in parallel, one method per kind of
//! page (`home`, `entry_page`, `listing_page`, …) over one `page` helper; the
//! incremental path (serve, approvals) renders only the jobs a change affects, and
//! keeps the templates and cards (`Views`) between rebuilds, refreshing the few cards
//! an edit touches. Translated entries are rendered here too
//! ([`render_translations`]), each language by its own renderer.
//!
//! Feeds, the sitemap and robots.txt are written here in Rust rather than by
//! templates, so they are always well-formed. URLs, output paths and page slices
//! follow the rules of `output` and `config` (`Taxonomy::url`, `feed_path`), shared
//! with the incremental path. This stage never touches the output directory: that
//! is `write`'s job; it builds no model and calls no pipeline.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use rayon::prelude::*;
use serde_json::{Map, Value as Json, json};
use tera::{Context, Kwargs, State, Tera, Value};

use crate::cards::{self, CardCache};
use crate::config::{Collection, Config};
use crate::error::{self, Diagnostic, Error};
use crate::i18n;
use crate::load::Sources;
use crate::locale::{self, format_date, slugify};
use crate::markdown;
use crate::model::{Alternate, Model, Section};
use crate::node::Pos;
use crate::output::{Body, Output, page_range, paged_url, pages, url_to_path};
use crate::search;

/// What a render depends on besides the model and the templates.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The moment of the build (`today`, `now`, calendars).
    pub now: jiff::ZonedDateTime,
    /// Inject the live-reload script (serve mode only).
    pub live_reload: bool,
}

/// One independent piece of output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Job {
    /// The home page (`index.html`).
    Home,
    /// The not-found page (`404.html`).
    NotFound,
    /// An entry's page (index in `Model::entries`).
    Entry(usize),
    /// Collection, page number (1-based).
    Listing(usize, usize),
    /// A taxonomy's index page.
    TaxonomyIndex(usize),
    /// Taxonomy, term, page number.
    Term(usize, usize, usize),
    /// A collection's Atom feed.
    Feed(usize),
    /// A collection's submission form (when the theme has `form.html`).
    Form(usize),
    /// `sitemap.xml`.
    Sitemap,
    /// `robots.txt`.
    Robots,
    /// The static files and the content's assets, copied.
    Assets,
    /// iCalendar files of entries with sessions and of their collections (`ics`).
    Calendars,
    /// The search page, when the theme has `search.html` (`search`).
    SearchPage,
}

/// Every job of a full build, in a stable order.
pub fn all_jobs(config: &Config, model: &Model) -> Vec<Job> {
    let mut jobs = vec![Job::Home, Job::NotFound, Job::Sitemap, Job::Robots, Job::Assets, Job::Calendars, Job::SearchPage];
    jobs.extend((0..model.entries.len()).map(Job::Entry));
    for (ci, c) in config.collections.iter().enumerate() {
        if c.list_template.is_some() && !c.path.is_empty() {
            jobs.extend((1..=pages(model.lists[ci].len(), c.paginate)).map(|p| Job::Listing(ci, p)));
        }
        if c.feed {
            jobs.push(Job::Feed(ci));
        }
        if c.submit.is_some() {
            jobs.push(Job::Form(ci));
        }
    }
    for (ti, terms) in model.taxonomies.iter().enumerate() {
        jobs.push(Job::TaxonomyIndex(ti));
        for (k, term) in terms.iter().enumerate() {
            jobs.extend((1..=pages(term.entries.len(), config.paginate)).map(|p| Job::Term(ti, k, p)));
        }
    }
    jobs
}

/// Renders jobs of one model.
pub struct Renderer<'a> {
    /// The site's config.
    pub config: &'a Config,
    /// The model rendered.
    pub model: &'a Model,
    /// Templates, data and theme strings.
    pub sources: &'a Sources,
    views: Views,
    now: jiff::ZonedDateTime,
}

/// Everything the jobs share: templates with their globals, and the cards. Owned
/// (nothing borrowed), so that the incremental path can keep it between rebuilds and
/// refresh only the cards a change touches ([`Views::refresh`]).
pub struct Views {
    tera: Tera,
    /// Per entry: card without refs (for nesting), and full card.
    cards: Vec<(Value, Value)>,
    /// Per collection, the list of its full cards in listing order (built once, shared by
    /// every listing page and the `all` global: cloning it is a pointer copy).
    lists: Vec<Value>,
    /// Ids the templates use, which Markdown headings must not take.
    template_ids: Vec<String>,
}

/// The collections whose entries the form of collection `ci` lists (its
/// reference fields' targets), by index.
pub fn form_lists(config: &Config, ci: usize) -> Vec<usize> {
    let c = &config.collections[ci];
    if c.submit.is_none() {
        return Vec::new();
    }
    c.schema
        .fields
        .iter()
        .filter_map(|f| match &f.kind {
            crate::schema::Kind::Reference { collection } => config.collections.iter().position(|t| &t.name == collection),
            _ => None,
        })
        .collect()
}

/// Where the daemon's submission form of a collection is published.
pub fn form_url(c: &Collection) -> String {
    format!("/proposer/{}/", if c.path.is_empty() { &c.name } else { &c.path })
}

fn build_tera(config: &Config, sources: &Sources) -> Result<Tera, Error> {
    let mut tera = Tera::new();
    tera.autoescape_on([".html", ".xml", ".htm"]);
    let lang = config.language.clone();
    let l2 = lang.clone();
    tera.register_filter("date", move |s: &str, kw: Kwargs, _: &State| -> tera::TeraResult<String> {
        let f = kw.get::<&str>("format")?.unwrap_or("long");
        format_date(&lang, s, f).ok_or_else(|| tera::Error::message(format!("date invalide « {s} »")))
    });
    tera.register_filter("datetime", move |s: &str, _: Kwargs, _: &State| -> tera::TeraResult<String> {
        format_date(&l2, s, "datetime").ok_or_else(|| tera::Error::message(format!("date invalide « {s} »")))
    });
    tera.register_filter("slugify", |s: &str, _: Kwargs, _: &State| slugify(s));
    let l3 = config.language.clone();
    tera.register_filter("number", move |n: i64, _: Kwargs, _: &State| locale::format_number(&l3, n));
    let base = config.base_url.clone();
    tera.register_filter("abs_url", move |s: &str, _: Kwargs, _: &State| format!("{base}{s}"));
    tera.register_filter("markdown", |s: &str, _: Kwargs, _: &State| {
        Value::safe_string(&markdown::render_untrusted(s))
    });
    let templates: Vec<(&str, &str)> = sources.templates.iter().map(|t| (t.name.as_str(), t.text.as_str())).collect();
    tera.add_raw_templates(templates).map_err(|e| template_error(sources, &e))?;
    Ok(tera)
}

fn template_error(sources: &Sources, e: &tera::Error) -> Error {
    let msg = e.to_string();
    let file = sources
        .templates
        .iter()
        .find(|t| msg.contains(&format!("{}:", t.name)) || msg.contains(&format!("'{}'", t.name)))
        .map(|t| t.path.clone())
        .unwrap_or_else(|| PathBuf::from("templates"));
    Error::Template { file, message: msg }
}

impl<'a> Renderer<'a> {
    /// A renderer over `model`, building its templates and cards.
    pub fn new(config: &'a Config, model: &'a Model, sources: &'a Sources, opts: &RenderOptions) -> Result<Self, Error> {
        Self::with_cache(config, model, sources, opts, &mut CardCache::default())
    }

    /// `new`, reusing the base cards of entries whose file did not change since the
    /// cache was filled (the incremental path keeps one between rebuilds).
    pub fn with_cache(config: &'a Config, model: &'a Model, sources: &'a Sources, opts: &RenderOptions, cache: &mut CardCache) -> Result<Self, Error> {
        let mut tera = build_tera(config, sources)?;
        for needed in ["index.html", "404.html", "taxonomy.html", "term.html"] {
            if !tera.contains_template(needed) {
                return Err(Error::Template { file: PathBuf::from("templates").join(needed), message: "modèle manquant".into() });
            }
        }
        for c in &config.collections {
            for t in std::iter::once(&c.template).chain(c.list_template.as_ref()) {
                if !tera.contains_template(t) {
                    return Err(Error::Template {
                        file: PathBuf::from("templates").join(t),
                        message: format!("modèle manquant (collection « {} »)", c.name),
                    });
                }
            }
        }
        let cards = cards::all_cards(config, model, cache);

        let has_search = tera.contains_template(search::TEMPLATE);
        let g = tera.global_context();
        let collections: Map<String, Json> = config
            .collections
            .iter()
            .map(|c| {
                let taxonomies: Vec<&str> = c.schema.fields.iter().filter_map(|f| f.feeds_taxonomy()).collect();
                (c.name.clone(), json!({"name": c.name, "title": c.title, "url": c.url(), "taxonomies": taxonomies}))
            })
            .collect();
        let taxonomies: Vec<Json> = config
            .taxonomies
            .iter()
            .map(|t| json!({"name": t.name, "title": t.title, "url": t.url()}))
            .collect();
        let mut menu: Vec<(i64, usize)> = model
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((e.fields.get("menu")?.as_i64()?, i)))
            .collect();
        menu.sort();
        let menu: Vec<Value> = menu.iter().map(|(_, i)| cards[*i].0.clone()).collect();
        let mut site = Value::from_serializable(&json!({
            "title": config.title, "description": config.description, "base_url": config.base_url,
            "language": config.language, "collections": collections, "taxonomies": taxonomies,
        }))
        .into_map()
        .unwrap_or_default();
        site.insert("menu".into(), Value::from(menu));
        if has_search {
            site.insert("search".into(), Value::from(search::SEARCH_URL));
        }
        g.insert_value("site", Value::from(site));
        let lists: Vec<Value> = model.lists.iter().map(|list| cards::list_value(&cards, list)).collect();
        g.insert_value("all", cards::all_value(config, &lists));
        g.insert("data", &sources.data);
        g.insert("t", &sources.strings);
        g.insert("today", &opts.now.date().to_string());
        g.insert("now", &opts.now.strftime("%Y-%m-%dT%H:%M").to_string());
        let forms: Map<String, Json> = config
            .collections
            .iter()
            .filter(|c| c.submit.is_some())
            .map(|c| (c.name.clone(), Json::String(form_url(c))))
            .collect();
        g.insert("forms", &forms);
        g.insert("daemon_url", &config.daemon.url);
        g.insert("csp", &crate::csp::meta_policy(&config.image_hosts));
        g.insert("live_reload", &opts.live_reload);
        g.insert("calendars", &crate::ics::calendar_urls(config));
        let template_ids = markdown::literal_ids(sources.templates.iter().map(|t| t.text.as_str()));
        Ok(Renderer { config, model, sources, views: Views { tera, cards, lists, template_ids }, now: opts.now.clone() })
    }

    /// A renderer over views kept from an earlier renderer of the same site, which
    /// [`Views::refresh`] brought up to date with `model`.
    pub fn from_views(config: &'a Config, model: &'a Model, sources: &'a Sources, views: Views, opts: &RenderOptions) -> Self {
        Renderer { config, model, sources, views, now: opts.now.clone() }
    }

    /// The views, to keep for the next incremental rebuild.
    pub fn into_views(self) -> Views {
        self.views
    }

    fn render_template(&self, name: &str, ctx: &Context, source: &str) -> Result<Vec<u8>, Error> {
        self.views.tera.render(name, ctx).map(String::into_bytes).map_err(|e| {
            let mut err = template_error(self.sources, &e);
            if let Error::Template { message, .. } = &mut err {
                *message = format!("{message}\n(en rendant {source})");
            }
            err
        })
    }

    fn section_value(&self, section: Option<&Section>, title: &str, url: &str, collection: &str) -> Result<Json, Vec<Diagnostic>> {
        let (content, stitle) = match section {
            Some(s) => (self.markdown(&s.body, &s.source, s.body_line)?.html, s.title.clone()),
            None => (String::new(), title.to_string()),
        };
        Ok(json!({"title": stitle, "url": url, "content": content, "collection": collection}))
    }

    fn markdown(&self, md: &str, source: &str, body_line: u32) -> Result<markdown::Rendered, Vec<Diagnostic>> {
        let settings = markdown::Settings {
            taken: &self.views.template_ids,
            typography: self.config.typography,
            image_hosts: &self.config.image_hosts,
        };
        let r = markdown::render_with(md, &|p| self.model.links.get(p).cloned(), &settings);
        let at = |line: u32| (PathBuf::from("content").join(source), Pos { line: body_line + line - 1, col: 1 });
        let mut diags: Vec<Diagnostic> = r
            .broken_links
            .iter()
            .map(|(line, target)| {
                let known: Vec<&str> = self.model.links.keys().map(String::as_str).collect();
                let wanted = target.trim_start_matches("@/").split('#').next().unwrap_or("");
                let hint = crate::schema::closest(wanted, &known).map(|s| format!(" ; vouliez-vous dire « @/{s} » ?")).unwrap_or_default();
                let (file, pos) = at(*line);
                Diagnostic::new(file, pos, "", format!("lien interne cassé « {target} » : aucun fichier content/{wanted} publié{hint}"))
            })
            .collect();
        for p in &r.problems {
            if let markdown::ProblemKind::OutsideImage(url) = &p.kind {
                let (file, pos) = at(p.line);
                diags.push(Diagnostic::new(
                    file,
                    pos,
                    "",
                    format!("image d'un autre site « {url} » : les pages ne chargent rien d'ailleurs ; placez l'image à côté du fichier, ou ajoutez son hôte à `image_hosts` dans vitrine.yaml"),
                ));
            }
        }
        if diags.is_empty() { Ok(r) } else { Err(diags) }
    }

    fn paginator(&self, items: &[usize], per: usize, page: usize, base: &str) -> Value {
        let total_pages = pages(items.len(), per);
        let slice = &items[page_range(items.len(), per, page)];
        let cards: Vec<Value> = slice.iter().map(|i| self.views.cards[*i].1.clone()).collect();
        let mut m = tera::Map::new();
        m.insert("pages".into(), Value::from(cards));
        m.insert("number".into(), Value::from(page));
        m.insert("total_pages".into(), Value::from(total_pages));
        m.insert("total_items".into(), Value::from(items.len()));
        let url = |p: usize| Value::from(paged_url(base, p));
        m.insert("previous".into(), if page > 1 { url(page - 1) } else { Value::none() });
        m.insert("next".into(), if page < total_pages { url(page + 1) } else { Value::none() });
        m.insert("first".into(), url(1));
        m.insert("last".into(), url(total_pages));
        m.insert("base".into(), Value::from(base));
        Value::from(m)
    }

    /// Renders one job into its outputs.
    pub fn render_job(&self, job: Job) -> Result<Vec<Output>, Error> {
        let (config, model) = (self.config, self.model);
        let bytes = |path: String, bytes: Vec<u8>| Output { path, body: Body::Bytes(bytes) };
        Ok(match job {
            Job::Home => vec![self.home()?],
            Job::NotFound => vec![self.not_found()?],
            Job::Entry(i) => vec![self.entry_page(i)?],
            Job::Listing(ci, p) => vec![self.listing_page(ci, p)?],
            Job::TaxonomyIndex(ti) => vec![self.taxonomy_page(ti)?],
            Job::Term(ti, k, p) => vec![self.term_page(ti, k, p)?],
            Job::Form(ci) => self.form_page(ci)?.into_iter().collect(),
            Job::SearchPage => self.search_page()?.into_iter().collect(),
            Job::Feed(ci) => vec![bytes(config.collections[ci].feed_path(), self.feed(ci))],
            Job::Sitemap => vec![bytes("sitemap.xml".into(), self.sitemap())],
            Job::Robots => vec![bytes("robots.txt".into(), format!("User-agent: *\nAllow: /\n\nSitemap: {}/sitemap.xml\n", config.base_url).into_bytes())],
            Job::Calendars => crate::ics::outputs(config, model, &self.now).into_iter().map(|(path, b)| bytes(path, b)).collect(),
            Job::Assets => self
                .sources
                .statics
                .iter()
                .chain(&model.assets)
                .map(|a| Output { path: a.rel.clone(), body: Body::Copy(a.src.clone()) })
                .collect(),
        })
    }

    /// The page at `url`, rendered by `template` with `ctx` (`page_url` added);
    /// `source` names what is rendered in error messages.
    fn page(&self, url: &str, template: &str, mut ctx: Context, source: &str) -> Result<Output, Error> {
        ctx.insert("page_url", url);
        Ok(Output { path: url_to_path(url), body: Body::Bytes(self.render_template(template, &ctx, source)?) })
    }

    /// `index.html`, with `content/_index.md` as `section`.
    fn home(&self) -> Result<Output, Error> {
        let mut ctx = Context::new();
        ctx.insert("section", &self.section_value(Some(&self.model.home), &self.config.title, "/", "").map_err(invalid)?);
        self.page("/", "index.html", ctx, "content/_index.md")
    }

    /// `404.html`.
    fn not_found(&self) -> Result<Output, Error> {
        self.page("/404.html", "404.html", Context::new(), "404")
    }

    /// An entry's page: its full card with the rendered body (`content`) and `toc`.
    fn entry_page(&self, i: usize) -> Result<Output, Error> {
        let e = &self.model.entries[i];
        let c = &self.config.collections[e.collection];
        let r = self.markdown(&e.body, &e.source, e.body_line).map_err(invalid)?;
        let mut page = self.views.cards[i].1.clone().into_map().unwrap_or_default();
        page.insert("content".into(), Value::safe_string(&r.html));
        page.insert("toc".into(), Value::from_serializable(&r.toc));
        let mut ctx = Context::new();
        ctx.insert_value("page", Value::from(page));
        self.page(&e.url, &c.template, ctx, &format!("content/{}", e.source))
    }

    /// Page `p` of a collection's listing: `section`, `paginator` and `pages`.
    fn listing_page(&self, ci: usize, p: usize) -> Result<Output, Error> {
        let c = &self.config.collections[ci];
        let url = c.url();
        let section = self.section_value(self.model.sections[ci].as_ref(), &c.title, &url, &c.name).map_err(invalid)?;
        let mut ctx = Context::new();
        ctx.insert("section", &section);
        ctx.insert_value("paginator", self.paginator(&self.model.lists[ci], c.paginate, p, &url));
        ctx.insert_value("pages", self.views.lists[ci].clone());
        let tpl = c.list_template.as_deref().unwrap_or("list.html");
        self.page(&paged_url(&url, p), tpl, ctx, &format!("la liste {}", c.name))
    }

    /// A taxonomy's index: its terms with their counts.
    fn taxonomy_page(&self, ti: usize) -> Result<Output, Error> {
        let t = &self.config.taxonomies[ti];
        let url = t.url();
        // Shown by name in the order readers of the site's language expect.
        let mut sorted: Vec<&crate::model::Term> = self.model.taxonomies[ti].iter().collect();
        crate::locale::sort_by_collation(&self.config.language, &mut sorted, |term| term.name.as_str());
        let terms: Vec<Json> = sorted
            .into_iter()
            .map(|term| json!({"name": term.name, "slug": term.slug, "url": t.term_url(&term.slug), "count": term.entries.len()}))
            .collect();
        let mut ctx = Context::new();
        ctx.insert("taxonomy", &json!({"name": t.name, "title": t.title, "url": url, "terms": terms}));
        self.page(&url, "taxonomy.html", ctx, &format!("la taxonomie {}", t.name))
    }

    /// Page `p` of a term: `taxonomy`, `term` and `paginator`.
    fn term_page(&self, ti: usize, k: usize, p: usize) -> Result<Output, Error> {
        let t = &self.config.taxonomies[ti];
        let term = &self.model.taxonomies[ti][k];
        let url = t.term_url(&term.slug);
        let mut ctx = Context::new();
        ctx.insert("taxonomy", &json!({"name": t.name, "title": t.title, "url": t.url()}));
        ctx.insert("term", &json!({"name": term.name, "slug": term.slug, "url": url, "count": term.entries.len()}));
        ctx.insert_value("paginator", self.paginator(&term.entries, self.config.paginate, p, &url));
        self.page(&paged_url(&url, p), "term.html", ctx, &format!("le terme {}", term.name))
    }

    /// The submission form of a collection that takes submissions, when the theme
    /// has `form.html`.
    fn form_page(&self, ci: usize) -> Result<Option<Output>, Error> {
        let c = &self.config.collections[ci];
        let Some(submit) = &c.submit else { return Ok(None) };
        if !self.views.tera.contains_template("form.html") {
            return Ok(None);
        }
        // References are chosen in a list of the published entries, by title.
        let mut opts = crate::forms::FormOptions { lang: self.config.language.clone(), ..Default::default() };
        for target in form_lists(self.config, ci) {
            let mut list: Vec<(String, String)> = self.model.lists[target]
                .iter()
                .map(|i| &self.model.entries[*i])
                .filter(|e| !e.draft)
                .map(|e| (e.slug.clone(), e.title.clone()))
                .collect();
            crate::locale::sort_by_collation(&self.config.language, &mut list, |(_, t)| t.as_str());
            opts.references.insert(self.config.collections[target].name.clone(), list);
        }
        let fields_html = crate::forms::render_form_fields_with(&c.schema, &Json::Null, &[], &opts);
        let submitter = crate::forms::render_submitter_fields(&Json::Null, &[]);
        let mut ctx = Context::new();
        ctx.insert(
            "form",
            &json!({
                "collection": c.name, "title": submit.title, "intro": submit.intro,
                "action": format!("{}/submit/{}", self.config.daemon.url, c.name),
                "fields_html": fields_html, "submitter_html": submitter, "hidden_html": "",
                "errors": [], "values": {},
            }),
        );
        self.page(&form_url(c), "form.html", ctx, &format!("le formulaire {}", c.name)).map(Some)
    }

    /// The search page, when the theme has `search.html`.
    fn search_page(&self) -> Result<Option<Output>, Error> {
        if !self.views.tera.contains_template(search::TEMPLATE) {
            return Ok(None);
        }
        let mut ctx = Context::new();
        ctx.insert("search", &search::page_context(self.config, self.model));
        self.page(search::SEARCH_URL, search::TEMPLATE, ctx, "la page de recherche").map(Some)
    }

    /// Atom feed of the 50 newest entries of a collection.
    fn feed(&self, ci: usize) -> Vec<u8> {
        let (config, model) = (self.config, self.model);
        let c = &config.collections[ci];
        let base = &config.base_url;
        let mut items: Vec<usize> = model.lists[ci].clone();
        items.sort_by(|a, b| model.entries[*b].date.cmp(&model.entries[*a].date).then(a.cmp(b)));
        items.truncate(50);
        let stamp = |d: Option<jiff::civil::Date>| d.map(|d| format!("{d}T00:00:00Z")).unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
        let updated = items.first().map(|i| stamp(model.entries[*i].date)).unwrap_or_else(|| stamp(None));
        let mut x = String::with_capacity(items.len() * 600 + 512);
        x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"");
        x.push_str(&xml_escape(&config.language));
        x.push_str("\">\n");
        x.push_str(&format!(
            "  <title>{} · {}</title>\n  <id>{base}{}</id>\n  <link rel=\"self\" href=\"{base}{}atom.xml\"/>\n  <link rel=\"alternate\" type=\"text/html\" href=\"{base}{}\"/>\n  <updated>{updated}</updated>\n  <author><name>{}</name></author>\n",
            xml_escape(&c.title), xml_escape(&config.title), c.url(), c.url(), c.url(), xml_escape(&config.title)
        ));
        for i in items {
            let e = &model.entries[i];
            let summary = e.fields.get("summary").and_then(Json::as_str).unwrap_or("");
            x.push_str(&format!(
                "  <entry>\n    <title>{}</title>\n    <id>{base}{}</id>\n    <link href=\"{base}{}\"/>\n    <updated>{}</updated>\n    <summary>{}</summary>\n  </entry>\n",
                xml_escape(&e.title), e.url, e.url, stamp(e.date), xml_escape(summary)
            ));
        }
        x.push_str("</feed>\n");
        x.into_bytes()
    }

    fn sitemap(&self) -> Vec<u8> {
        let (config, model) = (self.config, self.model);
        let mut urls: Vec<(String, Option<jiff::civil::Date>)> = vec![("/".into(), None)];
        for job in all_jobs(config, model) {
            match job {
                Job::Entry(i) => urls.push((model.entries[i].url.clone(), model.entries[i].date)),
                Job::Listing(ci, p) => urls.push((paged_url(&config.collections[ci].url(), p), None)),
                Job::TaxonomyIndex(ti) => urls.push((config.taxonomies[ti].url(), None)),
                Job::Term(ti, k, p) => urls.push((paged_url(&config.taxonomies[ti].term_url(&model.taxonomies[ti][k].slug), p), None)),
                _ => {}
            }
        }
        // Translations (`i18n`): their URLs, and every version's alternates.
        let (extra, alts) = sitemap_alternates(model);
        urls.extend(extra.into_iter().map(|u| (u, None)));
        let xhtml = if alts.is_empty() { "" } else { " xmlns:xhtml=\"http://www.w3.org/1999/xhtml\"" };
        let mut x = String::with_capacity(urls.len() * 100 + 200);
        x.push_str(&format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"{xhtml}>\n"));
        for (u, d) in urls {
            x.push_str("  <url><loc>");
            x.push_str(&xml_escape(&format!("{}{u}", config.base_url)));
            x.push_str("</loc>");
            if let Some(d) = d {
                x.push_str(&format!("<lastmod>{d}</lastmod>"));
            }
            for (lang, au) in alts.get(&u).into_iter().flatten() {
                x.push_str(&format!("<xhtml:link rel=\"alternate\" hreflang=\"{}\" href=\"{}\"/>", xml_escape(lang), xml_escape(&format!("{}{au}", config.base_url))));
            }
            x.push_str("</url>\n");
        }
        x.push_str("</urlset>\n");
        x.into_bytes()
    }

    /// Renders the given jobs in parallel; every error of every job is returned.
    pub fn render_jobs(&self, jobs: &[Job]) -> Result<Vec<Output>, Error> {
        let results: Vec<Result<Vec<Output>, Error>> = jobs.par_iter().map(|j| self.render_job(*j)).collect();
        let mut outputs = Vec::new();
        let mut diags = Vec::new();
        for r in results {
            match r {
                Ok(o) => outputs.extend(o),
                Err(Error::Invalid(d)) => diags.extend(d.0),
                Err(other) => return Err(other),
            }
        }
        error::check(diags)?;
        Ok(outputs)
    }
}

impl Views {
    /// Brings the cards up to date after [`crate::model::patch_entries`] changed the
    /// entries `changed` in place: their base cards are rebuilt, then the full cards of
    /// `touched` (which nest base cards through refs and backrefs), then the card lists
    /// of their collections and the `all` global. Returns the entries whose full card
    /// changed: the pages that show them are the ones to re-render.
    /// (Menu entries are in the `site` global: a change to one needs new views.)
    pub fn refresh(&mut self, config: &Config, model: &Model, changed: &[usize], touched: &BTreeSet<usize>) -> BTreeSet<usize> {
        for &i in changed {
            self.cards[i].0 = cards::base_value(config, model, &model.entries[i]);
        }
        let mut shown = BTreeSet::new();
        for &i in touched {
            let full = cards::full_card(config, model, &|t| self.cards[t].0.clone(), i);
            if full != self.cards[i].1 {
                self.cards[i].1 = full;
                shown.insert(i);
            }
        }
        let collections: BTreeSet<usize> = touched.iter().map(|i| model.entries[*i].collection).collect();
        for ci in collections {
            self.lists[ci] = cards::list_value(&self.cards, &model.lists[ci]);
        }
        let all = cards::all_value(config, &self.lists);
        self.tera.global_context().insert_value("all", all);
        shown
    }
}

/// Text escaped for XML content and attributes (control characters dropped).
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The output paths a job produces, computed without rendering it.
pub fn job_paths(config: &Config, model: &Model, sources: &Sources, job: Job) -> Vec<String> {
    match job {
        Job::Home => vec!["index.html".into()],
        Job::NotFound => vec!["404.html".into()],
        Job::Entry(i) => vec![url_to_path(&model.entries[i].url)],
        Job::Listing(ci, p) => vec![url_to_path(&paged_url(&config.collections[ci].url(), p))],
        Job::TaxonomyIndex(ti) => vec![url_to_path(&config.taxonomies[ti].url())],
        Job::Term(ti, k, p) => vec![url_to_path(&paged_url(&config.taxonomies[ti].term_url(&model.taxonomies[ti][k].slug), p))],
        Job::Feed(ci) => vec![config.collections[ci].feed_path()],
        Job::Form(ci) => vec![url_to_path(&form_url(&config.collections[ci]))],
        Job::Sitemap => vec!["sitemap.xml".into()],
        Job::Robots => vec!["robots.txt".into()],
        Job::Assets => sources.statics.iter().chain(&model.assets).map(|a| a.rel.clone()).collect(),
        Job::Calendars => crate::ics::paths(config, model),
        Job::SearchPage if search::enabled(sources) => vec![url_to_path(search::SEARCH_URL)],
        Job::SearchPage => vec![],
    }
}

/// Collections that templates other than the home page read through the `all`
/// global (`all.pages`, `all?.labels`): a change to one of their entries can change
/// every page, so the incremental path re-renders everything for it.
pub fn collections_read_everywhere(sources: &Sources) -> HashSet<String> {
    let mut out = HashSet::new();
    for t in sources.templates.iter().filter(|t| t.name != "index.html") {
        let text = t.text.as_str();
        for (i, _) in text.match_indices("all") {
            let before = text[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let rest = &text[i + 3..];
            let rest = rest.strip_prefix("?.").or_else(|| rest.strip_prefix('.'));
            if let Some(rest) = rest {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// Collections whose listing template reads `pages` (every card of the collection,
/// not just the paginator's slice): any change in them changes every listing page.
pub fn listings_reading_all_pages(config: &Config, sources: &Sources) -> HashSet<usize> {
    let reads = |name: &str| {
        sources.templates.iter().find(|t| t.name == name).is_some_and(|t| {
            t.text.match_indices("pages").any(|(i, _)| {
                let before = t.text[..i].chars().next_back();
                let after = t.text[i + 5..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
    };
    config
        .collections
        .iter()
        .enumerate()
        .filter(|(_, c)| c.list_template.as_deref().is_some_and(reads))
        .map(|(i, _)| i)
        .collect()
}

/// A page's validation problems as an error.
fn invalid(d: Vec<Diagnostic>) -> Error {
    Error::Invalid(error::Diagnostics(d))
}

/// Renders the translated entries of every language (`i18n`): each language's
/// own renderer renders the entries that are translated.
pub fn render_translations(built: &[i18n::Built], opts: &RenderOptions) -> Result<Vec<Output>, Error> {
    let mut outputs = Vec::new();
    for b in built {
        let r = Renderer::new(&b.config, &b.model, &b.sources, opts)?;
        let jobs: Vec<Job> = b.entries.iter().map(|i| Job::Entry(*i)).collect();
        outputs.extend(r.render_jobs(&jobs)?);
    }
    Ok(outputs)
}

/// The output paths of [`render_translations`].
pub fn translation_paths(built: &[i18n::Built]) -> Vec<String> {
    built
        .iter()
        .flat_map(|b| b.entries.iter().flat_map(|i| job_paths(&b.config, &b.model, &b.sources, Job::Entry(*i))))
        .collect()
}

/// URL → its versions as (language, URL) pairs.
type AlternatesByUrl = HashMap<String, Vec<(String, String)>>;

/// For the sitemap: translated URLs to add, and the alternates of every URL that has some.
fn sitemap_alternates(model: &Model) -> (Vec<String>, AlternatesByUrl) {
    let mut extra = Vec::new();
    let mut alts = HashMap::new();
    let mut groups: Vec<&Vec<Alternate>> = model.translations.values().collect();
    groups.sort_by(|a, b| a[0].url.cmp(&b[0].url));
    for v in groups {
        let pairs: Vec<(String, String)> = v.iter().map(|a| (a.lang.clone(), a.url.clone())).collect();
        for (i, a) in v.iter().enumerate() {
            if i > 0 {
                extra.push(a.url.clone());
            }
            alts.insert(a.url.clone(), pairs.clone());
        }
    }
    (extra, alts)
}
