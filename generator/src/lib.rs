//! Vitrine's static-site generator.
pub mod error;
pub mod node;
pub mod schema;
