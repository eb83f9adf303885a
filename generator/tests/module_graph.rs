//! The generator's modules import each other downwards only: no import circle
//! (the rule and how the graph is read: `support/module_graph.rs`).
//!
//! `cargo test -p vitrine-generator --test module_graph -- --nocapture` prints
//! the modules by layer (0: imports no other module; n: imports only modules of
//! layers below n) with what each imports, then `no cycle`.

#[path = "support/module_graph.rs"]
mod module_graph;

#[test]
fn modules_import_downwards_only() {
    module_graph::check_layers(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
}
