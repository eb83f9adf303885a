//! The daemon's form bodies: `application/x-www-form-urlencoded` and
//! `multipart/form-data`, read by `web::read_form` (the code the submission
//! routes run), then turned into a draft (`web::draft_from_form`) and checked
//! (`web::check_draft`) for both submittable collections of the example site.
//!
//! Input: `m<boundary>\n<multipart body>` is a multipart body with that
//! boundary (the first line, at most 70 bytes; an unusable one is replaced by
//! `vitrine`); anything else is a urlencoded body (a leading `u` is dropped).
//!
//! Invariants: no panic; decoded names and values are `String`s (valid UTF-8
//! by type); a urlencoded body that `parse_urlencoded` accepts decodes to the
//! same pairs with `serde_urlencoded` (an independent decoder, which is lenient
//! where ours is strict); a draft `check_draft` accepts is written as a file
//! that reads back to the same values (`vitrine_fuzz::assert_round_trip`).
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, header};
use libfuzzer_sys::fuzz_target;
use vitrine_daemon::AppState;
use vitrine_daemon::state::Settings;
use vitrine_daemon::web::{check_draft, draft_from_form, parse_urlencoded, read_form, submittable};

/// Small limits, so that the "too many fields / too long / too many files"
/// answers (and the error page they render) are reached by small inputs.
fn settings() -> Settings {
    let mut s = Settings::default();
    s.max_fields = 40;
    s.max_field_bytes = 2048;
    s.max_images = 2;
    s.image_limits.max_bytes = 1024;
    s
}

/// A daemon state on a private copy of the site's configuration (`vitrine.yaml`
/// and `data/`), so that its queue database and secret are not written into the
/// repository. The folder is left in the system's temporary folder.
fn state() -> &'static (AppState, tokio::runtime::Runtime) {
    static STATE: OnceLock<(AppState, tokio::runtime::Runtime)> = OnceLock::new();
    STATE.get_or_init(|| {
        let root = vitrine_fuzz::site_root();
        let dir = std::env::temp_dir().join(format!("vitrine-fuzz-form-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::copy(root.join("vitrine.yaml"), dir.join("vitrine.yaml")).unwrap();
        for f in std::fs::read_dir(root.join("data")).unwrap() {
            let f = f.unwrap();
            if f.file_type().unwrap().is_file() {
                std::fs::copy(f.path(), dir.join("data").join(f.file_name())).unwrap();
            }
        }
        let state = AppState::new(&dir, settings(), None).expect("daemon state");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        (state, rt)
    })
}

fn split_input(data: &[u8]) -> (Option<String>, &[u8]) {
    match data.split_first() {
        Some((b'm', rest)) => {
            let (line, body) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            let usable = !line.is_empty()
                && line.len() <= 70
                && line.iter().all(|b| b.is_ascii_alphanumeric() || b"'()+_,-./:=?".contains(b));
            let boundary = if usable { String::from_utf8(line.to_vec()).unwrap() } else { "vitrine".to_string() };
            (Some(boundary), body)
        }
        Some((b'u', rest)) => (None, rest),
        _ => (None, data),
    }
}

fuzz_target!(|data: &[u8]| {
    let (state, rt) = state();
    let (boundary, body) = split_input(data);
    let content_type = match &boundary {
        Some(b) => format!("multipart/form-data; boundary={b}"),
        None => "application/x-www-form-urlencoded".to_string(),
    };

    if boundary.is_none()
        && let Ok(pairs) = parse_urlencoded(body, usize::MAX)
    {
        let reference: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).expect("serde_urlencoded reads what parse_urlencoded accepted");
        assert_eq!(pairs, reference, "parse_urlencoded and serde_urlencoded disagree on {body:?}");
    }

    let req = Request::builder()
        .method("POST")
        .uri("/soumettre/projects")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body.to_vec()))
        .unwrap();
    let Ok((pairs, uploads)) = rt.block_on(read_form(state, req)) else { return };
    for (name, value) in &pairs {
        // Valid UTF-8 by type; touch them so that a broken String would show.
        assert!(std::str::from_utf8(name.as_bytes()).is_ok() && std::str::from_utf8(value.as_bytes()).is_ok());
    }
    assert!(uploads.len() <= state.settings.max_images);

    let config = vitrine_fuzz::config();
    for name in ["projects", "labels"] {
        let collection = submittable(config, name).expect("a submittable collection of the example site");
        if let Ok(draft) = draft_from_form(collection, &pairs)
            && let Ok(checked) = check_draft(config, collection, &draft, true)
        {
            vitrine_fuzz::assert_round_trip(collection, &checked.fields, &draft.body);
        }
    }
});
