//! A content file (`---\nYAML\n---\nbody`) read as the build reads it, against
//! the example site's schemas. Invariant: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vitrine_generator::model::check_entry;

/// Other places a file can have: the home page, a section, entries of the other
/// collections (other schemas), a translation, a plain-file entry.
const OTHER_PLACES: &[&str] = &[
    "_index.md",
    "projects/_index.md",
    "labels/x.md",
    "trainings/x.md",
    "pages/x.md",
    "projects/x.en.md",
    "projects/x/y/index.md",
];

fuzz_target!(|data: &[u8]| {
    // The build reads files as UTF-8; keep invalid inputs useful rather than dropping them.
    let text = String::from_utf8_lossy(data);
    let config = vitrine_fuzz::config();
    let _ = check_entry(config, "projects/x/index.md", &text);
    // A second place, chosen by the input (the same input always takes the same path).
    let other = OTHER_PLACES[data.len() % OTHER_PLACES.len()];
    let _ = check_entry(config, other, &text);
});
