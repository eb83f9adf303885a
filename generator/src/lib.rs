//! Vitrine's static-site generator: `content/` + `themes/` → `public/`.
//!
//! The pipeline is a chain of stages that take values and return values:
//! [`config`] → [`load`] → [`model`] → [`images`] → [`i18n`] → [`render`] →
//! [`search`] → [`write`](mod@write), run by [`pipeline`] (and by [`incremental`] for
//! `vitrine serve` and the daemon's approvals). Nothing is global and only
//! [`write`](mod@write) touches the output directory, so a build that fails at any earlier
//! stage leaves the previous site as it was.
//!
//! Modules import downwards only: shared data at the bottom ([`output`],
//! [`locale`], [`field_path`], [`html`], [`data`], [`node`], [`error`], [`schema`],
//! [`options`]), the stages above it, [`pipeline`] above the stages, and
//! [`incremental`], [`check`] and [`scaffold`] on top (`tests/module_graph.rs`
//! checks that there is no import circle). This file only declares the modules
//! and re-exports what callers use most.
//! See ARCHITECTURE.md for the module map and the template context contract.

pub mod cards;
pub mod check;
pub mod config;
pub mod csp;
pub mod data;
pub mod error;
pub mod field_path;
pub mod forms;
pub mod html;
pub mod i18n;
pub mod ics;
pub mod images;
pub mod incremental;
pub mod load;
pub mod locale;
pub mod markdown;
pub mod model;
pub mod node;
pub mod options;
pub mod output;
pub mod pipeline;
pub mod render;
pub mod scaffold;
pub mod schema;
pub mod search;
pub mod state;
pub mod typography;
pub mod write;

pub use config::Config;
pub use error::{Diagnostic, Error};
pub use options::{BuildOptions, BuildReport, build_time};
pub use pipeline::{Loaded, Prepared, build, prepare, prepare_cached, render_all};
