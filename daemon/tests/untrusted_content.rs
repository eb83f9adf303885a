//! Issue 9, what teachers send is untrusted: it can never run script on a
//! published page, and it never makes the site fail to build. Every test here
//! publishes for real (queue in a real SQLite file, files written in a copy of
//! the example site, incremental rebuild into its `public/`).

mod common;

use axum::http::{StatusCode, header};
use common::*;
use serde_json::{Value, json};
use vitrine_daemon::queue;
use vitrine_daemon::workflow::{self, Outcome};

fn api(v: &Value) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post("/api/submissions")
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(v.to_string()))
        .unwrap()
}

fn project(title: &str, body: &str) -> Value {
    json!({
        "collection": "projects",
        "submitter": {"name": "Camille", "email": "camille@example.org"},
        "fields": {
            "title": title,
            "summary": "Deux classes comparent la qualité de l'eau de leurs rivières.",
            "school": "Collège Jean Moulin",
            "countries": ["Italie"],
            "disciplines": ["Physique-chimie"],
            "levels": ["collège"],
            "languages": ["anglais"],
            "duration": "une année scolaire",
            "school_year": "2025-2026"
        },
        "body": body
    })
}

/// The queue id of the submission the API answered `answer` for.
async fn id_of(st: &vitrine_daemon::AppState, answer: &str) -> i64 {
    let v: Value = serde_json::from_str(answer).unwrap();
    let reference = v["reference"].as_str().unwrap().to_string();
    let all = st.db.read(|c| queue::list(c, &Default::default(), 1000)).await.unwrap();
    all.into_iter().find(|s| s.reference == reference).unwrap().id
}

/// The attack that was demonstrated: heading attributes carried an event
/// handler that ran on page load. Published now, the page has no handler.
#[tokio::test]
async fn heading_attributes_never_carry_script_to_the_published_page() {
    let site = example_site();
    let st = state(site.path(), test_settings(), true);
    let body = "# Bonjour {tabindex=0 autofocus onfocus=fetch('/moderation') style=color:red}\n\nTexte.\n\n## Suite {#suite .note onclick=alert(1)}\n";
    let r = send(&st, api(&project("Un projet piégé", body))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = id_of(&st, &common::body(r).await).await;
    let outcome = workflow::approve(&st, id, "corr").await.unwrap();
    let Outcome::Live { url } = outcome else { panic!("not published: {outcome:?}") };
    let page = std::fs::read_to_string(site.path().join("public").join(url.trim_start_matches('/')).join("index.html")).unwrap();
    for bad in ["onfocus", "autofocus", "onclick", "tabindex=\"0\"", "color:red"] {
        assert!(!page.contains(bad), "{bad} published: {page}");
    }
    assert!(page.contains("<h2 id=\"suite\" class=\"note\">"), "id and class tokens kept");
    // Every page carries the policy as a meta element.
    assert!(page.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;self&#39;; script-src &#39;self&#39;"), "no CSP meta");
}

#[tokio::test]
async fn outside_pictures_and_broken_links_are_refused_on_the_body_field() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    for (body, expect) in [
        ("Texte\n\n![pixel](https://tracker.example/p.png)\n", "image d'un autre site"),
        ("Voir [ici](@/projects/nexiste-pas.md).", "lien interne « @/projects/nexiste-pas.md »"),
        ("[x](javascript:alert(1))", "lien non autorisé"),
        ("<img src=x onerror=alert(1)>", "le HTML n'est pas accepté"),
    ] {
        let r = send(&st, api(&project("Un projet", body))).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let e: Value = serde_json::from_str(&common::body(r).await).unwrap();
        let errs = e["errors"].as_array().unwrap();
        assert!(errs.iter().any(|x| x["field"] == "body" && x["message"].as_str().unwrap().contains(expect)), "{body}: {e}");
    }
    assert_eq!(queue_count(&st).await, 0);
}

/// Characters the build's YAML reader refuses were accepted by the forms, and
/// approval then wrote a file that broke the build.
#[tokio::test]
async fn characters_a_content_file_cannot_hold_are_refused_on_their_field() {
    let site = example_site();
    let st = state(site.path(), test_settings(), false);
    for bad in ['\u{7f}', '\u{9b}', '\u{fffe}', '\u{1}', '\u{ffff}'] {
        let mut v = project(&format!("Projet {bad} eau"), "Texte.");
        v["fields"]["summary"] = json!(format!("Un résumé assez long pour passer{bad} la limite."));
        let r = send(&st, api(&v)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "U+{:04X}", bad as u32);
        let e: Value = serde_json::from_str(&common::body(r).await).unwrap();
        let fields: Vec<&str> = e["errors"].as_array().unwrap().iter().map(|x| x["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"fields.title") && fields.contains(&"fields.summary"), "U+{:04X}: {e}", bad as u32);
        assert!(e.to_string().contains(&format!("U+{:04X}", bad as u32)), "{e}");
    }
    assert_eq!(queue_count(&st).await, 0);
}

/// A tiny deterministic generator (xorshift), so a failure is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const FRAGMENTS: &[&str] = &[
    "eau", "l’eau", "Ça", "Ünïcödé", " ", "  ", "\t", "\n", "\r\n", "---", "\n---\n", "...", ": ", "- ", "# ", "#", "&ancre", "*ref",
    "!tag", "|", ">", "%YAML", "@", "`", "{", "}", "[", "]", "'", "\"", "\\", "\\u0000", "{{ site.title }}", "{% raw %}", "{#",
    "\u{7f}", "\u{9b}", "\u{85}", "\u{1}", "\u{fffe}", "\u{ffff}", "\u{1fffe}", "\u{a0}", "\u{202f}", "\u{200b}", "\u{feff}", "🌍",
    "مرحبا", "e\u{301}", "<b>", "&amp;", "@/projects/x.md", "[x](javascript:1)", "![x](https://t.example/p.png)",
    "anticonstitutionnellementanticonstitutionnellementanticonstitutionnellementanticonstitutionnellement",
    "null", "true", "~", "0x1F", "1e3", "2026-01-01", "yes", "no",
];

/// Random Unicode in every text field of a project: each submission is either
/// refused with a message on a named field, or published with the site still
/// building and every value read back from the file exactly as stored.
#[tokio::test]
async fn random_text_in_every_field_is_refused_on_a_field_or_published_intact() {
    let site = example_site();
    let st = state(site.path(), test_settings(), true);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut refused, mut published) = (0, 0);
    for round in 0..30 {
        let mut s = || {
            let n = 1 + rng.next() % 4;
            let mut out = String::new();
            for _ in 0..n {
                out.push_str(rng.pick(FRAGMENTS));
            }
            out
        };
        // Each round puts random text in one or two fields, the others stay valid.
        let which = [round % 7, (round * 3 + 1) % 7];
        let mut v = project(&format!("Projet {round}"), "Texte du projet.");
        let text_in = |slot: usize, v: &mut Value, s: &mut dyn FnMut() -> String| {
            let extra = s();
            match slot {
                0 => v["fields"]["title"] = json!(format!("Projet {round} {extra}")),
                1 => v["body"] = json!(format!("Texte {extra}\n\n{}", s())),
                2 => v["fields"]["summary"] = json!(format!("Un résumé assez long pour le minimum {extra}")),
                3 => v["fields"]["school"] = json!(format!("Collège {extra}")),
                4 => v["fields"]["city"] = json!(extra),
                5 => v["fields"]["duration"] = json!(format!("{extra} mois")),
                _ => v["fields"]["partners"] = json!([{ "school": s(), "city": extra, "country": "Italie" }]),
            }
        };
        for slot in which {
            text_in(slot, &mut v, &mut s);
        }
        let r = send(&st, api(&v)).await;
        let status = r.status();
        let text = common::body(r).await;
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            let e: Value = serde_json::from_str(&text).unwrap();
            for x in e["errors"].as_array().unwrap() {
                assert!(!x["field"].as_str().unwrap().is_empty() && !x["message"].as_str().unwrap().is_empty(), "{e}");
            }
            refused += 1;
            continue;
        }
        assert_eq!(status, StatusCode::CREATED, "round {round}: {text}");
        let id = id_of(&st, &text).await;
        let outcome = workflow::approve(&st, id, "corr").await.unwrap();
        assert!(matches!(outcome, Outcome::Live { .. }), "round {round}: accepted but not published: {outcome:?}\n{v}");
        let sub = st.db.read(move |c| queue::get(c, id)).await.unwrap().unwrap();
        let dir = site.path().join(sub.published_path.as_deref().unwrap());
        let text = std::fs::read_to_string(dir.join("index.md")).unwrap();
        let (yaml, body, _) = vitrine_generator::model::split_front_matter(&text).unwrap();
        let read = vitrine_generator::load::to_json(&vitrine_generator::node::parse(yaml).unwrap());
        let stored = &sub.payload.fields;
        for (k, want) in stored {
            assert_eq!(&read[k], want, "round {round}: field {k} read back differently");
        }
        assert_eq!(body.trim(), sub.payload.body.as_str().trim(), "round {round}: body");
        published += 1;
    }
    // The site still builds from scratch with everything published.
    let root = site.path().to_path_buf();
    tokio::task::spawn_blocking(move || vitrine_generator::build(&vitrine_generator::BuildOptions::new(root)).map(|_| ()))
        .await
        .unwrap()
        .unwrap();
    assert!(refused > 0 && published > 0, "the generator must exercise both outcomes ({refused} refused, {published} published)");
}
