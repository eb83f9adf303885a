//! A rebuild with nothing changed stops after loading, writes nothing, and
//! still gives the same report; any change to an input or to an output makes
//! it a real build again.

use std::fs;
use std::path::Path;

use vitrine_generator::{BuildOptions, build};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn stages(r: &vitrine_generator::BuildReport) -> Vec<&'static str> {
    r.timings.iter().map(|(n, _)| *n).collect()
}

#[test]
fn nothing_changed_means_nothing_done() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    write(&site, "vitrine.yaml", "title: T\nbase_url: https://t.example.org\ncollections:\n  notes:\n    title: Notes\n    path: notes\n    template: page.html\n    list_template: list.html\n    fields:\n      num: { type: integer }\n      ref: { type: reference, collection: notes }\n");
    for (name, text) in [("page.html", "{{ page.title }}"), ("list.html", "{% for p in paginator.pages %}{{ p.title }}{% endfor %}"), ("index.html", "home"), ("404.html", "404"), ("taxonomy.html", ""), ("term.html", "")] {
        write(&site, &format!("themes/default/templates/{name}"), text);
    }
    write(&site, "content/notes/a.md", "---\ntitle: A\nnum: 1\n---\nA\n");
    write(&site, "content/notes/b.md", "---\ntitle: B\nref: c\n---\nB\n");
    write(&site, "content/notes/c.md", "---\ntitle: C\ndraft: true\n---\nC\n");
    let mut opts = BuildOptions::new(&site);
    opts.out = dir.path().join("out");

    let first = build(&opts).unwrap();
    assert!(first.written > 0);
    assert_eq!(first.warnings.len(), 1, "{:?}", first.warnings); // b refers to a draft

    let again = build(&opts).unwrap();
    assert_eq!(stages(&again), ["chargement"], "a no-op rebuild only loads");
    assert_eq!((again.written, again.outputs, again.pages), (0, first.outputs, first.pages));
    assert_eq!(again.warnings, first.warnings, "warnings are reported again");

    // An edited source: a real build.
    write(&site, "content/notes/a.md", "---\ntitle: A2\nnum: 1\n---\nA\n");
    let edited = build(&opts).unwrap();
    assert!(stages(&edited).contains(&"rendu"));
    assert!(fs::read_to_string(opts.out.join("notes/a/index.html")).unwrap().contains("A2"));

    // A deleted output: a real build puts it back.
    fs::remove_file(opts.out.join("notes/a/index.html")).unwrap();
    let repaired = build(&opts).unwrap();
    assert_eq!(repaired.written, 1);
    assert!(opts.out.join("notes/a/index.html").is_file());

    // A damaged state file is no reason to fail: it only costs a real build.
    for state in fs::read_dir(site.join(".vitrine")).unwrap() {
        let p = state.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("build-") {
            fs::write(&p, "{ pas du json").unwrap();
        }
    }
    let after_damage = build(&opts).unwrap();
    assert!(stages(&after_damage).contains(&"rendu"));
    assert_eq!(after_damage.written, 0);
    assert_eq!(stages(&build(&opts).unwrap()), ["chargement"], "the state is written again");

    // Drafts are another build.
    let mut with_drafts = opts.clone();
    with_drafts.drafts = true;
    let d = build(&with_drafts).unwrap();
    assert!(stages(&d).contains(&"rendu"));
    assert!(opts.out.join("notes/c/index.html").is_file());
}
