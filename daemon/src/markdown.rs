//! Submitted Markdown: checks that refuse raw HTML and links other than
//! http(s), mailto and site-relative ones (so what is stored, and later
//! published as a content file, can never carry markup or `javascript:`), and
//! the moderators' preview, rendered by the generator's sanitising renderer.
//!
//! Refusing rather than silently rewriting keeps what the teacher wrote and
//! what is published identical; the error tells them what to change.

use pulldown_cmark::{Event, Options, Parser, Tag};

fn parser(src: &str) -> Parser<'_> {
    Parser::new_ext(src, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES)
}

/// Whether a link destination is acceptable in submitted content.
pub fn allowed_url(url: &str) -> bool {
    let u = url.trim();
    let lower = u.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:") {
        return !u.chars().any(|c| c.is_control() || c.is_whitespace());
    }
    // Relative: no scheme before the first '/', '?' or '#', no backslash tricks.
    let head = u.split(['/', '?', '#']).next().unwrap_or("");
    !head.contains(':') && !u.contains('\\') && !u.chars().any(|c| c.is_control())
}

/// The problems of a submitted Markdown text, in French; empty when it is acceptable.
pub fn check_untrusted(src: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for ev in parser(src) {
        match ev {
            Event::Html(h) | Event::InlineHtml(h) => {
                let snippet: String = h.chars().take(40).collect();
                let msg = format!(
                    "le HTML n'est pas accepté (« {} ») : utilisez la mise en forme Markdown",
                    snippet.trim()
                );
                if !problems.contains(&msg) {
                    problems.push(msg);
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. })
                if !allowed_url(&dest_url) =>
            {
                problems.push(format!(
                    "lien non autorisé « {} » : seules les adresses https://, http:// et mailto: sont acceptées",
                    dest_url.chars().take(60).collect::<String>()
                ));
            }
            _ => {}
        }
    }
    problems
}

/// Renders untrusted Markdown to safe HTML for the moderators' preview: the
/// generator's own renderer (raw HTML neutralised, links limited, ammonia, no images).
pub fn render_untrusted(src: &str) -> String {
    vitrine_generator::markdown::render_untrusted(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_bad_links_are_refused_and_never_rendered() {
        assert!(check_untrusted("Un **projet** avec [un lien](https://example.org) et a < b.").is_empty());
        assert_eq!(check_untrusted("<script>alert(1)</script>").len(), 1);
        assert_eq!(check_untrusted("texte <img src=x onerror=alert(1)> fin").len(), 1);
        assert_eq!(check_untrusted("[x](javascript:alert(1))").len(), 1);
        assert_eq!(check_untrusted("[x](JaVaScRiPt:alert(1))").len(), 1);
        assert_eq!(check_untrusted("![x](data:image/svg+xml,abc)").len(), 1);
        for evil in ["<script>alert(1)</script>", "[x](javascript:alert(1))", "<a href=javascript:x>y</a>", "<iframe src=//e>"] {
            let h = render_untrusted(evil);
            assert!(!h.contains("<script") && !h.contains("href=\"javascript") && !h.contains("<iframe") && !h.contains("<a href=\"javascript"), "{h}");
        }
        assert!(render_untrusted("[site](https://example.org)").contains("href=\"https://example.org\""));
    }
}
