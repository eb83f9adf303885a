//! Bad input, one kind per test, through the real `vitrine` binary.
//!
//! Each case starts from the minimal fixture site copied into a temp dir, builds
//! it once (good), then writes the broken file(s) given here in full (so the
//! line numbers asserted are visible next to the text) and checks that:
//! - `vitrine build` exits with code 1 and prints exactly the expected
//!   `path:line:column: field: message` lines (message matched by a stable
//!   substring), and the error count;
//! - the previous output directory is untouched: same files, same bytes, same
//!   modification times, no temporary file;
//! - `vitrine check` reports the same problems and writes nothing either.

mod common;

use common::*;

/// One expected diagnostic: `file:line:col: field: ` exactly, then a message substring.
struct Diag {
    file: &'static str,
    line: u32,
    col: u32,
    field: &'static str,
    message: &'static str,
}

const fn d(file: &'static str, line: u32, col: u32, field: &'static str, message: &'static str) -> Diag {
    Diag { file, line, col, field, message }
}

impl Diag {
    fn prefix(&self) -> String {
        let field = if self.field.is_empty() { String::new() } else { format!("{}: ", self.field) };
        format!("{}:{}:{}: {field}", self.file, self.line, self.col)
    }
}

/// Lines of stderr that are diagnostics (`erreur : ` stripped from the first).
fn diagnostic_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(|l| l.strip_prefix("erreur : ").unwrap_or(l).to_string())
        .filter(|l| {
            // `file:line:col: …`
            let mut parts = l.splitn(4, ':');
            let (_, line, col) = (parts.next(), parts.next(), parts.next());
            line.is_some_and(|x| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit()))
                && col.is_some_and(|x| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit()))
                && parts.next().is_some()
        })
        .collect()
}

fn assert_reports(what: &str, run: &Run, expected: &[Diag]) {
    assert_eq!(run.code, 1, "{what}: exit code\n--- stdout\n{}\n--- stderr\n{}", run.stdout, run.stderr);
    let lines = diagnostic_lines(&run.stderr);
    assert_eq!(lines.len(), expected.len(), "{what}: number of diagnostics in\n{}", run.stderr);
    // Diagnostics come sorted by file and position: same order as expected.
    for (line, exp) in lines.iter().zip(expected) {
        let prefix = exp.prefix();
        assert!(
            line.starts_with(&prefix) && line[prefix.len()..].contains(exp.message),
            "{what}: expected `{prefix}…{}…`, got `{line}`\n--- stderr\n{}",
            exp.message,
            run.stderr
        );
    }
    let n = expected.len();
    let count = format!("{n} erreur{}", if n > 1 { "s" } else { "" });
    assert!(run.stderr.lines().any(|l| l == count), "{what}: no « {count} » line in\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{what}: panic\n{}", run.stderr);
}

/// Builds the fixture, breaks it with `files`, and checks both commands' reports
/// and that the previous output is untouched.
fn assert_bad(what: &str, files: &[(&str, Option<&str>)], expected: &[Diag]) {
    assert_bad_with(what, |site| write_files(site, files), expected);
}

fn assert_bad_with(what: &str, change: impl Fn(&std::path::Path), expected: &[Diag]) {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    let out = tmp.path().join("public");
    copy_dir(&fixture("minimal"), &site);
    build(&site, &out, &[]).assert_ok();
    let before = tree(&out);
    assert!(before.contains_key("notes/alpha/index.html"));

    change(&site);
    let run = build(&site, &out, &[]);
    assert_reports(&format!("{what} (build)"), &run, expected);
    let after = tree(&out);
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "{what}: the output's files changed");
    for (path, snap) in &before {
        assert!(after[path] == *snap, "{what}: {path} was rewritten by a failed build");
    }

    let run = check(&site);
    assert_reports(&format!("{what} (check)"), &run, expected);
    assert!(!site.join("public").exists(), "{what}: check wrote an output directory");
}

/// Same, for errors that are not about one position in a content file
/// (templates): the exact stderr line is asserted.
fn assert_bad_line(what: &str, files: &[(&str, Option<&str>)], expected_lines: &[&str]) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    let out = tmp.path().join("public");
    copy_dir(&fixture("minimal"), &site);
    build(&site, &out, &[]).assert_ok();
    let before = tree(&out);
    write_files(&site, files);
    let run = build(&site, &out, &[]);
    assert_eq!(run.code, 1, "{what}: exit code\n{}", run.stderr);
    for l in expected_lines {
        assert!(run.stderr.contains(l), "{what}: expected `{l}` in\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("panicked"), "{what}: panic\n{}", run.stderr);
    assert_eq!(tree(&out), before, "{what}: the previous output changed");
    let c = check(&site);
    assert_eq!(c.code, 1);
    assert!(!site.join("public").exists());
    run
}

const ALPHA: &str = "content/notes/alpha.md";
const ECHO: &str = "content/echos/echo-beta.md";

#[test]
fn bad_yaml_syntax() {
    assert_bad(
        "unclosed quote",
        &[(ALPHA, Some("---\ntitle: Alpha\nsummary: \"La première note.\ntags: [eau]\n---\n\nTexte.\n"))],
        &[d(ALPHA, 3, 10, "", "unclosed quote")],
    );
    assert_bad(
        "mapping in a plain scalar",
        &[(ALPHA, Some("---\ntitle: Alpha\ndate: 2026-01-10\nsummary: note: première\n---\n"))],
        &[d(ALPHA, 4, 14, "", "mapping values are not allowed")],
    );
    // The parser's own position (counted from the front matter) must not leak into the message.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("minimal"), tmp.path());
    write_files(tmp.path(), &[(ALPHA, Some("---\ntitle: Alpha\nsummary: \"x\n---\n"))]);
    let run = check(tmp.path());
    assert!(!run.stderr.contains("line 2"), "{}", run.stderr);
}

#[test]
fn bad_yaml_in_a_data_file() {
    assert_bad("data file", &[("data/pays.yaml", Some("- France\n- [Italie\n"))], &[d("data/pays.yaml", 2, 3, "", "unclosed bracket")]);
}

#[test]
fn unclosed_or_missing_front_matter() {
    assert_bad(
        "unclosed",
        &[(ALPHA, Some("---\ntitle: Alpha\nsummary: La première note.\n\nTexte sans fin de front matter.\n"))],
        &[d(ALPHA, 1, 1, "", "front matter non fermé")],
    );
    assert_bad(
        "missing",
        &[(ALPHA, Some("title: Alpha\n\nTexte.\n"))],
        &[d(ALPHA, 1, 1, "", "le fichier doit commencer par une ligne `---`")],
    );
    assert_bad(
        "not a mapping",
        &[(ALPHA, Some("---\n- Alpha\n- Beta\n---\n"))],
        &[d(ALPHA, 2, 1, "", "attendu un dictionnaire de champs, trouvé une liste")],
    );
}

#[test]
fn wrong_type() {
    assert_bad(
        "list for a text",
        &[(ALPHA, Some("---\ntitle: Alpha\ndate: 2026-01-10\nsummary: [une, liste]\n---\n"))],
        &[d(ALPHA, 4, 10, "summary", "attendu un texte, trouvé une liste")],
    );
    assert_bad(
        "text for an integer, text for a boolean",
        &[(ECHO, Some("---\ntitle: Écho\nnote: beta\nyear: deux mille vingt-six\ndraft: peut-être\n---\n"))],
        &[
            d(ECHO, 4, 7, "year", "nombre entier attendu, trouvé « deux mille vingt-six »"),
            d(ECHO, 5, 8, "draft", "attendu true ou false, trouvé un texte"),
        ],
    );
    assert_bad(
        "integer out of range, image without alt",
        &[
            (ECHO, Some("---\ntitle: Écho\nnote: beta\nyear: 1999\n---\n")),
            (ALPHA, Some("---\ntitle: Alpha\nsummary: S.\ncover:\n  src: cover.png\n---\n")),
        ],
        &[
            d(ECHO, 4, 7, "year", "1999 est trop petit (minimum 2000)"),
            d(ALPHA, 5, 3, "cover.alt", "champ obligatoire manquant"),
        ],
    );
}

#[test]
fn missing_required_field() {
    assert_bad(
        "no summary",
        &[(ALPHA, Some("---\ntitle: Alpha\ndate: 2026-01-10\ntags: [eau]\n---\n\nTexte.\n"))],
        &[d(ALPHA, 2, 1, "summary", "champ obligatoire manquant")],
    );
    assert_bad(
        "empty title",
        &[(ALPHA, Some("---\ntitle: \"  \"\nsummary: S.\n---\n"))],
        &[d(ALPHA, 2, 1, "title", "champ obligatoire laissé vide")],
    );
}

#[test]
fn unknown_key_with_suggestion() {
    assert_bad(
        "typo",
        &[(ALPHA, Some("---\ntitle: Alpha\nsummary: La première note.\ntgas: [eau]\n---\n"))],
        &[d(ALPHA, 4, 1, "tgas", "champ inconnu ; vouliez-vous dire « tags » ? (champs possibles : title, summary, tags, country, cover, date, draft)")],
    );
    assert_bad(
        "nothing close",
        &[(ALPHA, Some("---\ntitle: Alpha\nsummary: La première note.\ncouleur: bleu\n---\n"))],
        &[d(ALPHA, 4, 1, "couleur", "champ inconnu (champs possibles :")],
    );
}

#[test]
fn bad_date() {
    assert_bad(
        "no 30 February",
        &[(ALPHA, Some("---\ntitle: Alpha\ndate: 2026-02-30\nsummary: La première note.\n---\n"))],
        &[d(ALPHA, 3, 7, "date", "date invalide « 2026-02-30 » : attendu AAAA-MM-JJ")],
    );
    assert_bad(
        "French order",
        &[(ALPHA, Some("---\ntitle: Alpha\nsummary: La première note.\ndate: 10/01/2026\n---\n"))],
        &[d(ALPHA, 4, 7, "date", "date invalide « 10/01/2026 »")],
    );
}

#[test]
fn enum_value_not_allowed() {
    assert_bad(
        "values_from with suggestion",
        &[(ALPHA, Some("---\ntitle: Alpha\nsummary: La première note.\ncountry: Itlaie\n---\n"))],
        &[d(ALPHA, 4, 10, "country", "valeur « Itlaie » non permise ; vouliez-vous dire « Italie » ? (valeurs permises : France, Italie, Pologne)")],
    );
    assert_bad(
        "fixed values",
        &[(ECHO, Some("---\ntitle: Écho\nnote: beta\nkind: moyen\n---\n"))],
        &[d(ECHO, 4, 7, "kind", "valeur « moyen » non permise (valeurs permises : court, long)")],
    );
}

#[test]
fn dangling_reference() {
    assert_bad(
        "typo in a slug",
        &[(ECHO, Some("---\ntitle: Écho\nyear: 2026\nnote: bteta\n---\n"))],
        &[d(ECHO, 4, 7, "note", "aucune entrée « bteta » dans la collection « notes » ; vouliez-vous dire « beta » ?")],
    );
    assert_bad(
        "entry removed",
        &[("content/notes/beta", None)],
        &[d(ECHO, 4, 7, "note", "aucune entrée « beta » dans la collection « notes »")],
    );
}

#[test]
fn duplicate_slug() {
    // A note turned into a bundle, the old file left behind.
    assert_bad(
        "file and bundle",
        &[("content/notes/alpha/index.md", Some("---\ntitle: Alpha (paquet)\nsummary: La même note.\n---\n"))],
        &[d(ALPHA, 1, 1, "", "identifiant « alpha » déjà utilisé dans la collection « notes » par content/notes/alpha/index.md")],
    );
    // Two names that make the same slug.
    assert_bad(
        "same slug",
        &[("content/notes/Gamma.md", Some("---\ntitle: Gamma bis\nsummary: Une autre.\n---\n"))],
        &[d("content/notes/gamma.md", 1, 1, "", "identifiant « gamma » déjà utilisé dans la collection « notes » par content/notes/Gamma.md")],
    );
}

#[test]
fn broken_internal_link() {
    assert_bad(
        "typo and draft target",
        &[(
            ALPHA,
            Some(
                "---\ntitle: Alpha\nsummary: La première note.\n---\n\nIntroduction.\n\n## Une section\n\nVoir [gamma](@/notes/gama.md).\n\nEt [le brouillon](@/notes/brouillon.md#x).\n",
            ),
        )],
        &[
            d(ALPHA, 10, 1, "", "lien interne cassé « @/notes/gama.md » : aucun fichier content/notes/gama.md publié ; vouliez-vous dire « @/notes/gamma.md » ?"),
            d(ALPHA, 12, 1, "", "lien interne cassé « @/notes/brouillon.md#x » : aucun fichier content/notes/brouillon.md publié"),
        ],
    );
    assert_bad(
        "in a section",
        &[("content/_index.md", Some("---\ntitle: Accueil\n---\n\nVoir [la page](@/pages/apropos.md).\n"))],
        &[d("content/_index.md", 5, 1, "", "lien interne cassé « @/pages/apropos.md »")],
    );
}

fn config_with(from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(fixture("minimal").join("vitrine.yaml")).unwrap();
    assert!(text.contains(from), "vitrine.yaml of the fixture has no {from:?}");
    text.replacen(from, to, 1)
}

#[test]
fn unknown_key_in_the_config() {
    let text = config_with("paginate: 2\n", "paginaet: 2\n");
    assert_eq!(text.lines().position(|l| l == "paginaet: 2"), Some(6), "line 7 of the fixture's vitrine.yaml");
    assert_bad(
        "top level",
        &[("vitrine.yaml", Some(&text))],
        &[d("vitrine.yaml", 7, 1, "paginaet", "clé inconnue ; vouliez-vous dire « paginate » ?")],
    );
    let text = config_with("      year: { type: integer, label: \"Année\",", "      year: { type: integer, labl: \"Année\",");
    let line = text.lines().position(|l| l.contains("labl:")).unwrap() as u32 + 1;
    assert_eq!(line, 35);
    assert_bad(
        "in a field",
        &[("vitrine.yaml", Some(&text))],
        &[d("vitrine.yaml", 35, 30, "collections.echos.fields.year.labl", "clé inconnue ; vouliez-vous dire « label » ?")],
    );
    assert_bad(
        "wrong value for an option",
        &[("vitrine.yaml", Some(&config_with("sort: title", "sort: titre")))],
        &[d("vitrine.yaml", 32, 11, "collections.echos.sort", "valeur « titre » non permise ; vouliez-vous dire « title » ?")],
    );
    assert_bad(
        "missing key",
        &[("vitrine.yaml", Some(&config_with("    title: \"Échos\"\n", "")))],
        &[d("vitrine.yaml", 26, 3, "collections.echos.title", "clé obligatoire manquante")],
    );
}

/// The fixture's config with a `translations:` block appended (from line 44).
fn config_with_translations(block: &str) -> String {
    let text = std::fs::read_to_string(fixture("minimal").join("vitrine.yaml")).unwrap();
    assert_eq!(text.lines().count(), 43, "the fixture's vitrine.yaml has 43 lines");
    format!("{text}{block}")
}

#[test]
fn bad_names_in_the_config_translations() {
    let text = config_with_translations(concat!(
        "translations:\n",                  // 44
        "  en:\n",                          // 45
        "    title: \"Mini — test site\"\n", // 46
        "    collections:\n",               // 47
        "      notes: { title: \"Notes\" }\n", // 48
        "      ekos: { title: \"Echoes\" }\n", // 49
        "    taxonomies:\n",                // 50
        "      tgs: { title: \"Tags\" }\n",  // 51
        "  eng:\n",                         // 52
        "    title: \"Mini\"\n",             // 53
        "  fr:\n",                          // 54
        "    title: \"Mini\"\n",             // 55
    ));
    assert_eq!(text.lines().position(|l| l.contains("ekos:")), Some(48), "line 49");
    assert_bad(
        "unknown collection, taxonomy and language, and the site's own language",
        &[("vitrine.yaml", Some(&text))],
        &[
            d("vitrine.yaml", 49, 7, "translations.en.collections.ekos", "collection « ekos » inconnue ; vouliez-vous dire « echos » ?"),
            d("vitrine.yaml", 51, 7, "translations.en.taxonomies.tgs", "taxonomie « tgs » inconnue ; vouliez-vous dire « tags » ?"),
            d("vitrine.yaml", 52, 3, "translations.eng", "code de langue « eng » inconnu ; vouliez-vous dire « en » ?"),
            d("vitrine.yaml", 54, 3, "translations.fr", "« fr » est la langue du site"),
        ],
    );
    let text = config_with_translations("translations:\n  en:\n    titel: \"Mini — test site\"\n");
    assert_bad(
        "unknown key",
        &[("vitrine.yaml", Some(&text))],
        &[d("vitrine.yaml", 46, 5, "translations.en.titel", "clé inconnue ; vouliez-vous dire « title » ?")],
    );
    let text = config_with_translations("translations:\n  en:\n    collections:\n      notes: { titre: \"Notes\" }\n");
    assert_bad(
        "unknown key in a collection's names",
        &[("vitrine.yaml", Some(&text))],
        &[d("vitrine.yaml", 47, 16, "translations.en.collections.notes.titre", "clé inconnue ; vouliez-vous dire « title » ?")],
    );
}

#[test]
fn unknown_field_type_in_the_config() {
    assert_bad(
        "typo in a type",
        &[("vitrine.yaml", Some(&config_with("summary: { type: text,", "summary: { type: txet,")))],
        &[d("vitrine.yaml", 22, 18, "collections.notes.fields.summary.type", "type « txet » inconnu (string, text,")],
    );
    assert_bad(
        "values_from without data",
        &[("vitrine.yaml", Some(&config_with("values_from: pays", "values_from: paus")))],
        &[d("vitrine.yaml", 24, 45, "collections.notes.fields.country.values_from", "aucune liste de textes dans data/paus.yaml")],
    );
}

#[test]
fn missing_template() {
    assert_bad_line(
        "collection template",
        &[("themes/mini/templates/note.html", None)],
        &["erreur : templates/note.html: modèle manquant (collection « notes »)"],
    );
    assert_bad_line("required template", &[("themes/mini/templates/term.html", None)], &["erreur : templates/term.html: modèle manquant"]);
}

#[test]
fn template_errors_name_the_template_file() {
    let run = assert_bad_line(
        "syntax",
        &[("themes/mini/templates/note.html", Some("{% extends \"base.html\" %}\n{% block main %}\n<h1>{{ page.title }</h1>\n{% endblock main %}\n"))],
        &["note.html:3:19"],
    );
    assert!(run.stderr.lines().next().unwrap().contains("themes/mini/templates/note.html"), "{}", run.stderr);
    let run = assert_bad_line(
        "unknown field while rendering",
        &[("templates/page.html", Some("{% extends \"base.html\" %}\n{% block main %}\n<h1>{{ page.titre }}</h1>\n{% endblock main %}\n"))],
        &["page.html:3:", "(en rendant content/pages/a-propos.md)"],
    );
    let first = run.stderr.lines().next().unwrap();
    assert!(first.contains("templates/page.html") && !first.contains("themes/"), "the site's own template is named: {first}");
}

#[test]
fn every_problem_of_every_file_in_one_run() {
    assert_bad(
        "five problems in three files",
        &[
            (ALPHA, Some("---\ntitle: Alpha\ndate: 2026-13-01\nsummary: La première note.\ncolor: bleu\n---\n")),
            (ECHO, Some("---\ntitle: Écho\nnote: omega\nyear: 2026\nkind: moyen\n---\n")),
            ("content/notes/delta.md", Some("---\ntitle: Delta\ntags: eau\n---\n")),
        ],
        &[
            d(ECHO, 3, 7, "note", "aucune entrée « omega » dans la collection « notes »"),
            d(ECHO, 5, 7, "kind", "valeur « moyen » non permise"),
            d(ALPHA, 3, 7, "date", "date invalide « 2026-13-01 »"),
            d(ALPHA, 5, 1, "color", "champ inconnu"),
            d("content/notes/delta.md", 2, 1, "summary", "champ obligatoire manquant"),
        ],
    );
}

#[test]
fn an_entry_with_errors_is_not_also_reported_missing_where_it_is_referenced() {
    // The echo references beta: beta's own error is the only one.
    assert_bad(
        "no cascade",
        &[("content/notes/beta/index.md", Some("---\ntitle: Bêta\nsummary: Une note en paquet.\ncountry: Islande\n---\n"))],
        &[d("content/notes/beta/index.md", 4, 10, "country", "valeur « Islande » non permise")],
    );
}

#[test]
fn a_file_outside_any_collection_layout() {
    assert_bad(
        "too deep",
        &[("content/notes/2026/janvier/alpha2.md", Some("---\ntitle: A\nsummary: S.\n---\n"))],
        &[d("content/notes/2026/janvier/alpha2.md", 1, 1, "", "emplacement non pris en charge")],
    );
}

#[test]
fn a_missing_image_is_reported_at_its_value() {
    assert_bad(
        "no such file",
        &[(ALPHA, Some("---\ntitle: Alpha\nsummary: S.\ncover: { src: absente.png, alt: \"Une image absente\" }\n---\n"))],
        &[d(ALPHA, 4, 15, "cover.src", "image « absente.png » introuvable à côté de content/notes/alpha.md")],
    );
}

#[test]
fn broken_anchors_are_found_by_check_where_they_were_written() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    copy_dir(&fixture("minimal"), &site);
    write_files(
        &site,
        &[
            (ALPHA, Some("---\ntitle: Alpha\nsummary: S.\n---\n\n## Une section\n\nVoir [y](@/notes/beta/index.md#nulle-part) et [z](/notes/gamma/#rien).\n")),
            ("templates/404.html", Some("{% extends \"base.html\" %}\n{% block main %}<h1>Perdu</h1><a href=\"/nulle-part/\">?</a>{% endblock main %}\n")),
        ],
    );
    // The build resolves `@/` files but cannot know other pages' ids: it succeeds.
    build(&site, &tmp.path().join("out"), &[]).assert_ok();
    let run = check(&site);
    assert_reports(
        "check",
        &run,
        &[
            d(ALPHA, 8, 10, "", "lien interne cassé : /notes/beta/#nulle-part (dans la page /notes/alpha/index.html)"),
            d(ALPHA, 8, 51, "", "lien interne cassé : /notes/gamma/#rien"),
            d("public/404.html", 0, 0, "", "lien interne cassé : /nulle-part/"),
        ],
    );
    assert!(!site.join("public").exists());
}

#[test]
fn a_file_not_in_utf8() {
    assert_bad_with(
        "Latin-1",
        |site| std::fs::write(site.join(ALPHA), b"---\ntitle: Caf\xe9\nsummary: S.\n---\n").unwrap(),
        &[d(ALPHA, 2, 11, "", "le fichier n'est pas enregistré en UTF-8")],
    );
}

/// Issue 9: a page loads nothing from other sites. A picture from elsewhere in a
/// body is an error naming the file and line; `image_hosts` allows named hosts.
#[test]
fn pictures_from_other_sites() {
    assert_bad(
        "outside picture",
        &[(ALPHA, Some("---\ntitle: Alpha\nsummary: S.\n---\n\nTexte.\n\n![pixel](https://tracker.example/p.png)\n"))],
        &[d(ALPHA, 8, 1, "", "image d'un autre site « https://tracker.example/p.png »")],
    );
    // Allowed by name in vitrine.yaml: builds, and the policy lets the page load it.
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    let out = tmp.path().join("public");
    copy_dir(&fixture("minimal"), &site);
    let yaml = std::fs::read_to_string(site.join("vitrine.yaml")).unwrap();
    std::fs::write(site.join("vitrine.yaml"), format!("image_hosts: [images.example.org]\n{yaml}")).unwrap();
    write_files(&site, &[(ALPHA, Some("---\ntitle: Alpha\nsummary: S.\n---\n\n![carte](https://images.example.org/carte.png)\n"))]);
    build(&site, &out, &[]).assert_ok();
    let page = std::fs::read_to_string(out.join("notes/alpha/index.html")).unwrap();
    assert!(page.contains("src=\"https://images.example.org/carte.png\""), "{page}");
}

/// Issue 9: whatever a correspondent's file holds, no script reaches the page:
/// heading attributes keep an id and class tokens only, and the rendered body
/// goes through the allowlist.
#[test]
fn script_in_a_content_file_never_reaches_the_page() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    let out = tmp.path().join("public");
    copy_dir(&fixture("minimal"), &site);
    write_files(
        &site,
        &[(
            ALPHA,
            Some("---\ntitle: Alpha\nsummary: S.\n---\n\n# Bonjour {#salut .grand tabindex=0 autofocus onfocus=alert(1)}\n\n<script>alert(2)</script>\n\n[x](javascript:alert(3)) ![y](data:image/svg+xml,x)\n\n| a |\n|:-:|\n| b |\n"),
        )],
    );
    build(&site, &out, &[]).assert_ok();
    let page = std::fs::read_to_string(out.join("notes/alpha/index.html")).unwrap();
    for bad in ["onfocus", "autofocus", "alert(1)", "<script>alert", "javascript:", "data:image", "style=\"text-align"] {
        assert!(!page.contains(bad), "{bad} in {page}");
    }
    assert!(page.contains("<h1 id=\"salut\" class=\"grand\">"), "{page}");
    assert!(page.contains("class=\"align-center\""), "{page}");
}

#[test]
fn a_cover_over_the_pixel_limit_is_reported_at_its_value() {
    // A valid 10,000 × 4,000 PNG (1-bit grey, zlib "stored" blocks: 5 MB on disk),
    // written by hand: the root crate's tests do not depend on `image`.
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for b in data {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let (w, h) = (10_000u32, 4_000u32);
    let row = 1 + w.div_ceil(8) as usize; // filter byte + 1 bit a pixel
    let raw = vec![0u8; row * h as usize];
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, b) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = b.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(b);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for x in &raw {
        a = (a + u32::from(*x)) % 65_521;
        b = (b + a) % 65_521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    assert_bad_with(
        "10,000 × 4,000 cover",
        |site| std::fs::write(site.join("content/notes/beta/cover.png"), &png).unwrap(),
        &[d(
            "content/notes/beta/index.md",
            7,
            1,
            "cover.src",
            "image « cover.png » : image trop grande : 10000 × 4000 pixels, soit 40 mégapixels ; 32 mégapixels au plus",
        )],
    );
}
