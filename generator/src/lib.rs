//! Vitrine's static-site generator.
pub mod config;
pub mod error;
pub mod load;
pub mod markdown;
pub mod model;
pub mod node;
pub mod schema;
