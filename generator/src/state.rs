//! The no-op rebuild: when nothing a build reads has changed since the last
//! build into the same output directory, and that directory still holds what
//! the build wrote, `vitrine build` stops after reading the sources.
//!
//! The fingerprint covers every input: the binary's version, the options, the
//! build day (listings and calendars depend on "today"), the config, data,
//! content (translations included), templates and theme strings, and the size
//! and modification time of every file copied as it is. It is stored with the
//! list of outputs in `.vitrine/build-<output dir hash>.json` beside the site.
//! Any doubt (no state file, unreadable state, an output missing, resized or touched)
//! means a real build. The incremental path (serve, approvals) does not use it.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use serde_json::{Value as Json, json};

use crate::error::Diagnostic;
use crate::i18n::Translations;
use crate::load::Sources;
use crate::node::Pos;
use crate::options::{BuildOptions, BuildReport};
use crate::output::Output;

fn hasher() -> std::collections::hash_map::DefaultHasher {
    std::collections::hash_map::DefaultHasher::new()
}

fn state_path(opts: &BuildOptions) -> PathBuf {
    let mut h = hasher();
    let out = std::fs::canonicalize(&opts.out).unwrap_or_else(|_| opts.out.clone());
    out.hash(&mut h);
    opts.site.join(".vitrine").join(format!("build-{:016x}.json", h.finish()))
}

fn file_meta(path: &std::path::Path, h: &mut impl Hasher) {
    if let Ok(m) = std::fs::metadata(path) {
        m.len().hash(h);
        if let Ok(t) = m.modified()
            && let Ok(d) = t.duration_since(std::time::UNIX_EPOCH)
        {
            d.as_nanos().hash(h);
        }
    }
}

/// Modification time as text (nanoseconds since the epoch), "" when unknown.
fn mtime_of(m: &std::fs::Metadata) -> String {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos().to_string())
        .unwrap_or_default()
}

/// A hash of everything the build reads.
pub fn fingerprint(opts: &BuildOptions, sources: &Sources, translations: &Translations, now: &jiff::ZonedDateTime) -> u64 {
    let mut h = hasher();
    env!("CARGO_PKG_VERSION").hash(&mut h);
    opts.drafts.hash(&mut h);
    now.date().to_string().hash(&mut h);
    std::fs::read(opts.site.join(crate::config::CONFIG_FILE)).unwrap_or_default().hash(&mut h);
    let s = sources;
    s.data.to_string().hash(&mut h);
    s.strings.to_string().hash(&mut h);
    for f in &s.pages {
        (&f.rel, &f.text).hash(&mut h);
    }
    for (lang, files) in &translations.files {
        lang.hash(&mut h);
        for (f, base) in files {
            (&f.rel, &f.text, base).hash(&mut h);
        }
    }
    for t in &s.templates {
        (&t.name, &t.text).hash(&mut h);
    }
    for a in s.statics.iter().chain(&s.assets) {
        a.rel.hash(&mut h);
        file_meta(&a.src, &mut h);
    }
    h.finish()
}

/// The report of the previous build when nothing changed and its outputs are intact.
pub fn unchanged(opts: &BuildOptions, key: u64) -> Option<BuildReport> {
    let text = std::fs::read_to_string(state_path(opts)).ok()?;
    let state: Json = serde_json::from_str(&text).ok()?;
    if state.get("key")?.as_str()? != format!("{key:016x}") {
        return None;
    }
    let outputs = state.get("outputs")?.as_array()?;
    for o in outputs {
        let (path, len, mtime) = (o.get(0)?.as_str()?, o.get(1)?.as_u64()?, o.get(2)?.as_str()?);
        let m = std::fs::metadata(opts.out.join(path)).ok()?;
        if m.len() != len || mtime_of(&m) != mtime {
            return None;
        }
    }
    let warnings = state
        .get("warnings")?
        .as_array()?
        .iter()
        .filter_map(|w| {
            Some(Diagnostic::new(
                w.get(0)?.as_str()?,
                Pos { line: w.get(1)?.as_u64()? as u32, col: w.get(2)?.as_u64()? as u32 },
                w.get(3)?.as_str()?,
                w.get(4)?.as_str()?,
            ))
        })
        .collect();
    Some(BuildReport {
        pages: state.get("pages")?.as_u64()? as usize,
        outputs: outputs.len(),
        written: 0,
        removed: 0,
        warnings,
        timings: Vec::new(),
    })
}

/// Records a successful build. Failing to record only costs a real build next time.
pub fn save(opts: &BuildOptions, key: u64, outputs: &[Output], report: &BuildReport) {
    let list: Vec<Json> = outputs
        .iter()
        .filter_map(|o| {
            let m = std::fs::metadata(opts.out.join(&o.path)).ok()?;
            Some(json!([o.path, m.len(), mtime_of(&m)]))
        })
        .collect();
    let warnings: Vec<Json> = report
        .warnings
        .iter()
        .map(|d| json!([d.file.to_string_lossy(), d.pos.line, d.pos.col, d.field, d.message]))
        .collect();
    let state = json!({"key": format!("{key:016x}"), "pages": report.pages, "outputs": list, "warnings": warnings});
    let path = state_path(opts);
    if let Some(dir) = path.parent()
        && std::fs::create_dir_all(dir).is_ok()
    {
        let _ = crate::write::write_replace(&path, state.to_string().as_bytes());
    }
}
