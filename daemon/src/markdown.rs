//! Submitted Markdown: what the daemon refuses in a teacher's text (raw HTML,
//! links other than http(s), mailto, tel and site-relative ones, pictures from
//! other sites), read by the generator's own renderer with its own options, so
//! the check sees exactly what the build will see.
//!
//! Refusing rather than silently rewriting keeps what the teacher wrote and
//! what is published identical; the error tells them what to change. Rendering
//! for the moderation pages is the generator's renderer too
//! ([`vitrine_generator::markdown::render_untrusted`]): the same HTML as the
//! published page, through the same sanitiser.

use vitrine_generator::Config;
use vitrine_generator::markdown;

/// Whether a link destination is acceptable in submitted content.
pub fn allowed_url(url: &str) -> bool {
    markdown::allowed_url(url)
}

/// The problems of a submitted Markdown text, in French; empty when it is acceptable.
/// `config` gives the hosts whose pictures the site accepts (`image_hosts`) and
/// the content folder, where `@/` links must find their file.
pub fn check_untrusted(src: &str, config: &Config) -> Vec<String> {
    let settings = markdown::Settings { image_hosts: &config.image_hosts, ..markdown::Settings::default() };
    let content = config.content_dir();
    let exists = |p: &str| {
        let plain = !p.split('/').any(|c| c.is_empty() || c == "." || c == "..") && !p.contains('\\');
        plain && (content.join(p).is_file() || p.strip_suffix(".md").is_some_and(|stem| content.join(stem).join("index.md").is_file()))
    };
    let rendered = markdown::render_with(src, &|p| exists(p).then(String::new), &settings);
    let many_lines = src.trim_end().lines().count() > 1;
    let at = |line: u32, msg: String| if many_lines { format!("ligne {line} : {msg}") } else { msg };
    let mut problems: Vec<String> = Vec::new();
    let found = rendered
        .problems
        .iter()
        .map(|p| (p.line, p.kind.to_string()))
        .chain(rendered.broken_links.iter().map(|(line, target)| {
            (*line, format!("lien interne « {target} » : aucune page publiée ne porte ce nom"))
        }));
    for (line, msg) in found {
        let msg = at(line, msg);
        if !problems.contains(&msg) {
            problems.push(msg);
        }
    }
    problems
}

/// Renders untrusted Markdown to safe HTML for the moderation pages: the
/// generator's renderer, without `@/` links or outside pictures.
pub fn render_untrusted(src: &str) -> String {
    markdown::render_untrusted(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hosts: &[&str]) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("content/projects/existe")).unwrap();
        std::fs::write(dir.path().join("content/projects/existe/index.md"), "---\ntitle: x\n---\n").unwrap();
        let hosts: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
        let yaml = format!("title: t\nbase_url: http://127.0.0.1\nimage_hosts: [{}]\ncollections:\n  projects:\n    title: Projets\n    path: projets\n    fields: {{}}\n", hosts.join(", "));
        let cfg = Config::parse(dir.path(), &yaml, &Default::default()).unwrap();
        (dir, cfg)
    }

    fn check(src: &str) -> Vec<String> {
        check_untrusted(src, &config(&[]).1)
    }

    #[test]
    fn html_and_bad_links_are_refused_and_never_rendered() {
        assert!(check("Un **projet** avec [un lien](https://example.org) et a < b.").is_empty());
        assert_eq!(check("<script>alert(1)</script>").len(), 1);
        assert_eq!(check("texte <img src=x onerror=alert(1)> fin").len(), 1);
        assert_eq!(check("[x](javascript:alert(1))").len(), 1);
        assert_eq!(check("[x](JaVaScRiPt:alert(1))").len(), 1);
        assert_eq!(check("![x](data:image/svg+xml,abc)").len(), 1);
        for evil in ["<script>alert(1)</script>", "[x](javascript:alert(1))", "<a href=javascript:x>y</a>", "<iframe src=//e>"] {
            let h = render_untrusted(evil);
            assert!(!h.contains("<script") && !h.contains("href=\"javascript") && !h.contains("<iframe") && !h.contains("<a href=\"javascript"), "{h}");
        }
        assert!(render_untrusted("[site](https://example.org)").contains("href=\"https://example.org\""));
    }

    #[test]
    fn outside_pictures_are_refused_with_their_line() {
        let p = check("Texte\n\n![pixel](https://tracker.example/p.png)\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("ligne 3 : image d'un autre site « https://tracker.example/p.png »"), "{p:?}");
        let (_d, cfg) = config(&["images.example.org"]);
        assert!(check_untrusted("![ok](https://images.example.org/a.png)", &cfg).is_empty());
    }

    #[test]
    fn internal_links_must_find_their_file() {
        assert!(check("Voir [le projet](@/projects/existe.md).").is_empty());
        let p = check("Voir [ici](@/projects/nexiste-pas.md).");
        assert_eq!(p, ["lien interne « @/projects/nexiste-pas.md » : aucune page publiée ne porte ce nom"]);
        assert_eq!(check("[x](@/../../etc/passwd.md)").len(), 1);
    }

    #[test]
    fn heading_attributes_are_what_the_build_reads() {
        // The generator's options (heading attributes on): the handler never reaches the HTML.
        let h = render_untrusted("# Bonjour {tabindex=0 autofocus onfocus=alert(1)}");
        assert!(!h.contains("onfocus") && !h.contains("autofocus"), "{h}");
        assert!(h.starts_with("<h1 id=\"bonjour\">"), "{h}");
    }
}
