//! What the fuzz targets share: the example site (the repository root) and its
//! configuration, loaded once per process.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vitrine_generator::Config;

/// The example site: the repository root, parent of `fuzz/`.
pub fn site_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The example site's real `vitrine.yaml` (with its `data/` lists), loaded once.
pub fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| Config::load(&site_root()).expect("the example site's vitrine.yaml loads"))
}

/// What a moderator approves is what gets published: the entry file the daemon
/// writes for an accepted draft (`publish::render_entry`, its values as JSON in
/// YAML) is read back by the generator's own YAML reader and schema, and gives
/// back exactly the accepted values, without a problem.
pub fn assert_round_trip(
    collection: &vitrine_generator::config::Collection,
    accepted: &serde_json::Map<String, serde_json::Value>,
    body: &str,
) {
    use vitrine_generator::schema::FILE_ONLY_KEYS;
    // As the daemon stores an accepted draft and later publishes it.
    let payload = vitrine_daemon::payload::Payload::new(accepted.clone(), body);
    let text = vitrine_daemon::publish::render_entry(collection, &payload, "2000-01-01");
    let rest = text.strip_prefix("---\n").expect("the entry starts with its front matter");
    let end = rest.find("\n---\n").expect("the front matter is closed");
    let yaml = &rest[..end + 1];
    let node = vitrine_generator::node::parse(yaml)
        .unwrap_or_else(|e| panic!("the written front matter does not parse: {}\n{yaml}", e.message));
    let (values, errors) = collection.schema.validate_node(&node, FILE_ONLY_KEYS);
    let messages: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
    assert!(messages.is_empty(), "the written entry is refused: {messages:?}\n{yaml}");
    assert_eq!(&values, accepted, "the written entry reads back differently\n{yaml}");
}
