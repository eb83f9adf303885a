//! Any text through the one Markdown renderer, plain and with the build's
//! settings (typography, ids taken by templates, an allowed picture host, `@/`
//! links resolved). Invariant: `check_safe_html` accepts the HTML (only
//! allowlisted elements, no event handler or style attribute, no script-capable
//! URL), and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vitrine_generator::markdown::{Settings, check_safe_html, render, render_with};

fuzz_target!(|data: &[u8]| {
    let md = String::from_utf8_lossy(data);

    let plain = render(&md, &|_| None);
    if let Err(e) = check_safe_html(&plain.html) {
        panic!("render: unsafe HTML: {e}\n--- markdown ---\n{md:?}\n--- html ---\n{}", plain.html);
    }

    let taken = ["contenu".to_string(), "menu".to_string()];
    let hosts = ["images.example.org".to_string()];
    let settings = Settings { typography: true, taken: &taken, image_hosts: &hosts };
    // Like the build: `@/…/x.md` links to an entry's URL (an anchor is appended by the renderer).
    let resolve = |p: &str| p.ends_with(".md").then(|| "/projets/exemple/".to_string());
    let typeset = render_with(&md, &resolve, &settings);
    if let Err(e) = check_safe_html(&typeset.html) {
        panic!("render_with: unsafe HTML: {e}\n--- markdown ---\n{md:?}\n--- html ---\n{}", typeset.html);
    }
});
