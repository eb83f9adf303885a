//! The daemon's modules import each other downwards only: no import circle
//! (the same check as the generator's, one copy of it in
//! `generator/tests/support/module_graph.rs`; the rooms of `web` reach each
//! other through its facade and are not separate nodes here).
//!
//! `cargo test -p vitrine-daemon --test module_graph -- --nocapture` prints
//! the modules by layer (0: imports no other module; n: imports only modules of
//! layers below n) with what each imports, then `no cycle`.

#[path = "../../generator/tests/support/module_graph.rs"]
mod module_graph;

#[test]
fn modules_import_downwards_only() {
    module_graph::check_layers(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
}
