//! What a build is asked to do ([`BuildOptions`]), the moment it considers "now"
//! ([`build_time`]) and what it reports ([`BuildReport`]).
//!
//! Shared data below the pipeline: `state` stores reports, `pipeline`,
//! `incremental` and `check` make them, `scaffold` dates new entries. It imports
//! only `config` (the site's time zone) and `error`; it runs no stage.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::error::Diagnostic;

/// How long each stage took, in order (`chargement`, `modèle`, `images`, `rendu`,
/// `recherche`, `écriture`).
pub type Timings = Vec<(&'static str, Duration)>;

/// What to build and how.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The site's directory (holding `vitrine.yaml`).
    pub site: PathBuf,
    /// The output directory (`<site>/public` by default).
    pub out: PathBuf,
    /// Publish drafts too.
    pub drafts: bool,
    /// The moment of the build; entries dated later are not published. Defaults to now
    /// (or to `VITRINE_NOW`, an RFC 3339 timestamp, for reproducible builds).
    pub now: Option<jiff::ZonedDateTime>,
    /// Inject the live-reload script into pages (`vitrine serve`).
    pub live_reload: bool,
}

impl BuildOptions {
    /// A build of the site at `site` into `site/public`, drafts left out, now.
    pub fn new(site: impl Into<PathBuf>) -> Self {
        let site = site.into();
        BuildOptions { out: site.join("public"), site, drafts: false, now: None, live_reload: false }
    }
}

/// What a build did.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    /// HTML pages among the outputs.
    pub pages: usize,
    /// Every output file.
    pub outputs: usize,
    /// Files written because their bytes changed.
    pub written: usize,
    /// Files removed because the build no longer produces them.
    pub removed: usize,
    /// Problems that did not stop the build.
    pub warnings: Vec<Diagnostic>,
    /// Time spent in each stage.
    pub timings: Timings,
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
pub fn build_time(config: &Config, now: Option<jiff::ZonedDateTime>) -> jiff::ZonedDateTime {
    let tz = jiff::tz::TimeZone::get(&config.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    if let Some(n) = now {
        return n.with_time_zone(tz);
    }
    if let Ok(s) = std::env::var("VITRINE_NOW")
        && let Ok(ts) = s.parse::<jiff::Timestamp>()
    {
        return ts.to_zoned_datetime(tz);
    }
    jiff::Timestamp::now().to_zoned_datetime(tz)
}
