//! The JSON API (`POST /api/submissions`): the body's decoding as `api_submit`
//! does it (daemon/src/web.rs), then the schema's `validate_json` and the
//! daemon's `check_draft`, against the example site's configuration.
//!
//! `api_submit` is an async handler that needs a daemon state and stores what
//! passes; its decoding steps are repeated here (keep them in step with it).
//! Besides, the `fields` value (or the whole document when it has none) is
//! validated against every collection's schema, submittable or not, to reach
//! every field kind (dates, datetimes, booleans, nested lists of objects).
//!
//! Invariants: no panic; a draft `check_draft` accepts is written
//! (`publish::render_entry`) as a file that reads back to the same values
//! (`vitrine_fuzz::assert_round_trip`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value as Json, json};
use vitrine_daemon::web::{Draft, check_draft, submittable};

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<Json>(data) else { return };
    let config = vitrine_fuzz::config();

    let loose = v.get("fields").unwrap_or(&v);
    for c in &config.collections {
        let _ = c.schema.validate_json(loose);
    }

    // From here on, as `api_submit`.
    let Json::Object(obj) = v else { return };
    let mut errors: Vec<String> = Vec::new();
    for k in obj.keys() {
        if !["collection", "submitter", "fields", "body"].contains(&k.as_str()) {
            errors.push(k.clone());
        }
    }
    let cname = obj.get("collection").and_then(Json::as_str).unwrap_or("");
    let Some(collection) = submittable(config, cname) else { return };
    let submitter = obj.get("submitter").cloned().unwrap_or(Json::Null);
    if let Some(o) = submitter.as_object() {
        for k in o.keys().filter(|k| *k != "name" && *k != "email") {
            errors.push(format!("submitter.{k}"));
        }
    } else {
        errors.push("submitter".into());
    }
    let body = match obj.get("body") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => s.replace("\r\n", "\n"),
        Some(_) => {
            errors.push("body".into());
            String::new()
        }
    };
    let fields = obj.get("fields").cloned().unwrap_or(json!({}));
    for (f, _) in vitrine_daemon::publish::image_fields(collection) {
        if fields.get(&f).is_some() {
            errors.push(format!("fields.{f}"));
        }
    }
    let _ = collection.schema.validate_json(&fields);
    let draft = Draft {
        fields,
        body,
        name: submitter.get("name").and_then(Json::as_str).unwrap_or("").to_string(),
        email: submitter.get("email").and_then(Json::as_str).unwrap_or("").to_string(),
    };
    if let Ok(checked) = check_draft(config, collection, &draft, true) {
        vitrine_fuzz::assert_round_trip(collection, &checked.fields, &draft.body);
    }
});
