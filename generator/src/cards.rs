//! Cards: the view of one entry that templates see (`page`, listings, `all`,
//! `refs`, `backrefs`), built once per build as Tera values.
//!
//! A *base card* holds the entry's own data (fields, terms, typeset title and
//! summary, its calendar, its language versions); a *full card* adds the base
//! cards of the entries it references and of those that reference it. Tera 2
//! values are reference-counted, so nesting a base card, or putting a full card in
//! a listing, a term page and `all`, is a pointer copy.
//!
//! Below `render` (which keeps the cards in its `Views`): it imports `config`,
//! `model`, `locale`, `typography` and `ics`, and knows nothing of templates or
//! outputs.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde_json::{Map, Value as Json, json};
use tera::Value;

use crate::config::Config;
use crate::locale::{self, slugify};
use crate::model::{self, Entry, Model};
use crate::schema::Kind;

/// Base cards by source file, with the URL they were built for. Valid while the file,
/// the config, the data files, the assets and the translations stay the same: the
/// incremental path forgets the files that changed ([`CardCache::forget`]) and drops
/// the cache when any of the others change. (Hashing every file's text to find the
/// changed ones took longer, at 10,000 files, than the rest of an edit.)
#[derive(Default)]
pub struct CardCache(HashMap<String, (String, Value)>);

impl CardCache {
    /// Forgets the card of a file whose text changed.
    pub fn forget(&mut self, source: &str) {
        self.0.remove(source);
    }
}

/// Every entry's (base card, full card), reusing the base cards `cache` holds for
/// entries whose file did not change, and refilling it.
pub fn all_cards(config: &Config, model: &Model, cache: &mut CardCache) -> Vec<(Value, Value)> {
    // Base cards first, serialised once; full cards then nest them.
    let base_values: Vec<Value> = model
        .entries
        .par_iter()
        .map(|e| match cache.0.get(&e.source) {
            Some((url, v)) if *url == e.url => v.clone(),
            _ => base_value(config, model, e),
        })
        .collect();
    cache.0 = model.entries.iter().zip(&base_values).map(|(e, v)| (e.source.clone(), (e.url.clone(), v.clone()))).collect();
    (0..model.entries.len())
        .into_par_iter()
        .map(|i| (base_values[i].clone(), full_card(config, model, &|t| base_values[t].clone(), i)))
        .collect()
}

/// An entry's base card as a Tera value.
pub fn base_value(config: &Config, model: &Model, e: &Entry) -> Value {
    Value::from_serializable(&base_card(config, model, e))
}

/// An entry's base card: `{collection, slug, url, permalink, title, date, draft,
/// summary, fields, terms, lang}`, with `calendar` and `translations` when it has them.
fn base_card(config: &Config, model: &Model, e: &Entry) -> Map<String, Json> {
    let c = &config.collections[e.collection];
    let mut m = Map::new();
    m.insert("collection".into(), Json::String(c.name.clone()));
    m.insert("slug".into(), Json::String(e.slug.clone()));
    m.insert("url".into(), Json::String(e.url.clone()));
    m.insert("permalink".into(), Json::String(format!("{}{}", config.base_url, e.url)));
    m.insert("title".into(), Json::String(e.title.clone()));
    m.insert("date".into(), e.date.map(|d| Json::String(d.to_string())).unwrap_or(Json::Null));
    m.insert("draft".into(), Json::Bool(e.draft));
    m.insert("summary".into(), e.fields.get("summary").cloned().unwrap_or(Json::Null));
    m.insert("fields".into(), Json::Object(e.fields.clone()));
    m.insert("terms".into(), terms(config, e));
    crate::typography::typeset_card(config, &mut m);
    crate::ics::decorate_card(config, e, &mut m);
    add_translations(config, model, e, &mut m);
    m
}

/// `terms`: {taxonomy: [{name, slug, url}]}, for every taxonomy field that has a value.
fn terms(config: &Config, e: &Entry) -> Json {
    let mut terms: BTreeMap<&str, Vec<Json>> = BTreeMap::new();
    for f in &config.collections[e.collection].schema.fields {
        let Some(tax) = f.feeds_taxonomy() else { continue };
        let Some(t) = config.taxonomies.iter().find(|t| t.name == tax) else { continue };
        let Some(v) = e.fields.get(&f.name) else { continue };
        let list = terms.entry(tax).or_default();
        for n in model::term_names(v) {
            let slug = slugify(&n);
            list.push(json!({"name": n, "slug": slug, "url": t.term_url(&slug)}));
        }
    }
    serde_json::to_value(terms).unwrap_or(Json::Null)
}

/// Adds `lang` and, when the entry exists in other languages, `translations`
/// (every version including this one: {lang, name, url, title, current}) to a card.
fn add_translations(config: &Config, model: &Model, e: &Entry, card: &mut Map<String, Json>) {
    card.insert("lang".into(), Json::String(config.language.clone()));
    if let Some(v) = model.translations.get(&e.source) {
        let list: Vec<Json> = v
            .iter()
            .map(|a| json!({"lang": a.lang, "name": locale::language_name(&a.lang), "url": a.url, "title": a.title, "current": a.lang == config.language}))
            .collect();
        card.insert("translations".into(), Json::Array(list));
    }
}

/// An entry's full card: its base card with `refs` and `backrefs` (base cards of other entries).
pub fn full_card(config: &Config, model: &Model, base: &dyn Fn(usize) -> Value, i: usize) -> Value {
    let mut full = base(i).as_map().cloned().unwrap_or_default();
    let mut refs = tera::Map::new();
    for (field, targets) in &model.refs[i] {
        let f = config.collections[model.entries[i].collection].schema.field(field);
        let is_list = f.is_some_and(|f| matches!(f.kind, Kind::List { .. }));
        let v: Vec<Value> = targets.iter().map(|t| base(*t)).collect();
        refs.insert(field.clone().into(), if is_list { Value::from(v) } else { v.into_iter().next().unwrap_or_else(Value::none) });
    }
    let mut back: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for &b in &model.backrefs[i] {
        let cname = config.collections[model.entries[b].collection].name.as_str();
        if !order.contains(&cname) {
            order.push(cname);
        }
        back.entry(cname).or_default().push(base(b));
    }
    let mut backrefs = tera::Map::new();
    for name in order {
        backrefs.insert(name.to_string().into(), Value::from(back.remove(name).unwrap_or_default()));
    }
    full.insert("refs".into(), Value::from(refs));
    full.insert("backrefs".into(), Value::from(backrefs));
    Value::from(full)
}

/// A collection's full cards in listing order.
pub fn list_value(cards: &[(Value, Value)], list: &[usize]) -> Value {
    Value::from(list.iter().map(|i| cards[*i].1.clone()).collect::<Vec<_>>())
}

/// The `all` global: every collection's list of cards, by name.
pub fn all_value(config: &Config, lists: &[Value]) -> Value {
    let mut all = tera::Map::new();
    for (c, list) in config.collections.iter().zip(lists) {
        all.insert(c.name.clone().into(), list.clone());
    }
    Value::from(all)
}
