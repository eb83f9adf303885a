//! Markdown to HTML, with the site's rules applied on the way.
//!
//! - Headings get stable ids and an anchor link; the table of contents is returned.
//! - `@/collection/file.md#anchor` links are resolved to URLs; unknown targets
//!   are reported with their line so the build fails with a clear message.
//! - Raw HTML is never passed through: it is shown as text. Link schemes other
//!   than http(s), mailto, tel and relative ones are neutralised. This keeps
//!   Markdown that came from teachers' submissions harmless even once it is a
//!   file in `content/`.
//!
//! `render_untrusted` additionally runs ammonia on the result, for previews of
//! submissions in the daemon.

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TocItem {
    pub level: u8,
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub html: String,
    pub toc: Vec<TocItem>,
    /// (line within the Markdown text, 1-based; link target) of `@/` links that resolve to nothing.
    pub broken_links: Vec<(u32, String)>,
}

pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_SMART_PUNCTUATION
        | Options::ENABLE_HEADING_ATTRIBUTES
}

fn safe_scheme(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.find(':') {
        // A colon before any '/', '?' or '#' means a scheme.
        Some(i) if !lower[..i].contains(['/', '?', '#']) => {
            matches!(&lower[..i], "http" | "https" | "mailto" | "tel")
        }
        _ => true,
    }
}

/// Renders `md`; `resolve` maps a content path (`projects/foo.md`) to its URL.
pub fn render(md: &str, resolve: &dyn Fn(&str) -> Option<String>) -> Rendered {
    render_with_ids(md, resolve, &[])
}

/// Like [`render`], for Markdown placed in a page whose templates already use the
/// ids `taken` (a heading "Contenu" must not get the id of the skip link's target):
/// headings get the next free id instead.
pub fn render_with_ids(md: &str, resolve: &dyn Fn(&str) -> Option<String>, taken: &[String]) -> Rendered {
    render_typeset(md, resolve, taken, false)
}

/// Like [`render_with_ids`], with French typography (see [`crate::typography`])
/// applied to text when `typography` is set: never to code, link targets or
/// image descriptions.
pub fn render_typeset(md: &str, resolve: &dyn Fn(&str) -> Option<String>, taken: &[String], typography: bool) -> Rendered {
    let mut out = Rendered::default();
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(md.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= offset) as u32;

    let mut events: Vec<Event> = Vec::with_capacity(md.len() / 16);
    let mut heading: Option<(usize, HeadingLevel)> = None; // index of the Start event
    let mut used_ids: Vec<String> = taken.to_vec();
    for (ev, range) in Parser::new_ext(md, options()).into_offset_iter() {
        match ev {
            Event::Html(h) | Event::InlineHtml(h) => events.push(Event::Text(h)),
            Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
                let dest = if let Some(path) = dest_url.strip_prefix("@/") {
                    let (file, anchor) = path.split_once('#').map(|(f, a)| (f, Some(a))).unwrap_or((path, None));
                    match resolve(file) {
                        Some(url) => CowStr::from(match anchor {
                            Some(a) => format!("{url}#{a}"),
                            None => url,
                        }),
                        None => {
                            out.broken_links.push((line_of(range.start), dest_url.to_string()));
                            dest_url
                        }
                    }
                } else if safe_scheme(&dest_url) {
                    dest_url
                } else {
                    CowStr::from("#")
                };
                events.push(Event::Start(Tag::Link { link_type, dest_url: dest, title, id }));
            }
            Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
                let dest = if safe_scheme(&dest_url) { dest_url } else { CowStr::from("") };
                events.push(Event::Start(Tag::Image { link_type, dest_url: dest, title, id }));
            }
            Event::Start(Tag::Heading { level, id, classes, attrs }) => {
                heading = Some((events.len(), level));
                events.push(Event::Start(Tag::Heading { level, id, classes, attrs }));
            }
            Event::End(TagEnd::Heading(level)) => {
                if let Some((start, _)) = heading.take() {
                    let text: String = events[start + 1..]
                        .iter()
                        .filter_map(|e| match e {
                            Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                            _ => None,
                        })
                        .collect();
                    let explicit = match &events[start] {
                        Event::Start(Tag::Heading { id: Some(id), .. }) => Some(id.to_string()),
                        _ => None,
                    };
                    let base = explicit.unwrap_or_else(|| crate::model::slugify(&text));
                    let mut id = base.clone();
                    let mut n = 1;
                    while used_ids.contains(&id) {
                        n += 1;
                        id = format!("{base}-{n}");
                    }
                    used_ids.push(id.clone());
                    if let Event::Start(Tag::Heading { id: hid, .. }) = &mut events[start] {
                        *hid = Some(CowStr::from(id.clone()));
                    }
                    events.push(Event::Html(CowStr::from(format!(
                        " <a class=\"heading-anchor\" href=\"#{id}\" aria-hidden=\"true\" tabindex=\"-1\">#</a>"
                    ))));
                    out.toc.push(TocItem { level: level as u8, id, title: text });
                }
                events.push(Event::End(TagEnd::Heading(level)));
            }
            other => events.push(other),
        }
    }
    if typography {
        typeset(&mut events);
        for t in &mut out.toc {
            t.title = crate::typography::apply(&t.title);
        }
    }
    out.html.reserve(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut out.html, events.into_iter());
    out
}

/// Applies French typography to the text events outside code and images.
fn typeset(events: &mut [Event]) {
    let mut typo = crate::typography::Typographer::default();
    let (mut in_code, mut in_image) = (false, 0usize);
    for ev in events.iter_mut() {
        match ev {
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Start(Tag::Image { .. }) => in_image += 1,
            Event::End(TagEnd::Image) => in_image = in_image.saturating_sub(1),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::TableCell | TagEnd::BlockQuote(_)) => {
                typo.reset(None)
            }
            Event::Code(c) => typo.reset(c.chars().last()),
            Event::Text(t) if !in_code && in_image == 0 => {
                let fixed = typo.text(t);
                if fixed != t.as_ref() {
                    *t = CowStr::from(fixed);
                }
            }
            _ => {}
        }
    }
}

/// The literal `id="…"` values of template sources (computed ones are skipped).
pub fn literal_ids<'a>(templates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut ids: Vec<String> = templates
        .into_iter()
        .flat_map(|t| crate::check::attr_values(t, "id"))
        .filter(|id| !id.is_empty() && !id.contains(['{', '}', '%']))
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// For Markdown written by people outside the team (teachers' submissions):
/// the same rendering without `@/` links, then sanitised by ammonia.
pub fn render_untrusted(md: &str) -> String {
    let html = render(md, &|_| None).html;
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        // Pictures come as uploads, checked and re-encoded, never as links to elsewhere.
        .rm_tags(["img"])
        .link_rel(Some("noopener noreferrer nofollow ugc"))
        .clean(&html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_links_and_raw_html() {
        let md = "# Été 2027\n\nVoir [ce projet](@/projects/a.md#bilan) et [rien](@/projects/x.md).\n\n<script>alert(1)</script>\n\n## Été 2027\n\n[x](javascript:alert(1))\n";
        let r = render(md, &|p| (p == "projects/a.md").then(|| "/projets/a/".to_string()));
        assert!(r.html.contains("<h1 id=\"ete-2027\">"), "{}", r.html);
        assert!(r.html.contains("id=\"ete-2027-2\""));
        assert!(r.html.contains("href=\"/projets/a/#bilan\""));
        assert!(!r.html.contains("<script>"));
        assert!(r.html.contains("&lt;script&gt;"));
        assert!(!r.html.contains("javascript:"));
        assert_eq!(r.broken_links, vec![(3, "@/projects/x.md".to_string())]);
        assert_eq!(r.toc.len(), 2);
    }

    #[test]
    fn headings_do_not_take_ids_of_the_templates() {
        let taken = literal_ids(["<main id=\"contenu\"><h2 id=\"{{ x }}\">", "<nav id=\"menu\">"]);
        assert_eq!(taken, ["contenu", "menu"]);
        let r = render_with_ids("## Contenu\n\n## Contenu\n\n## Menu\n", &|_| None, &taken);
        let ids: Vec<&str> = r.toc.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["contenu-2", "contenu-3", "menu-2"]);
    }

    #[test]
    fn typography_spares_code_links_and_times() {
        let md = "Bonjour ! Voir `a ? b : c` et [le site](https://example.org/?q=1:2) à 14:30 ; «oui».\n\n```\nx ? y : z\n```\n\n![Une image : test](a.png)\n\n## Quoi ?\n";
        let r = render_typeset(md, &|_| None, &[], true);
        assert!(r.html.contains("Bonjour\u{202F}!"), "{}", r.html);
        assert!(r.html.contains("<code>a ? b : c</code>"), "{}", r.html);
        assert!(r.html.contains("href=\"https://example.org/?q=1:2\""), "{}", r.html);
        assert!(r.html.contains("à 14:30\u{202F};"), "{}", r.html);
        assert!(r.html.contains("«\u{A0}oui\u{A0}»"), "{}", r.html);
        assert!(r.html.contains("x ? y : z\n</code>"), "{}", r.html);
        assert!(r.html.contains("alt=\"Une image : test\""), "{}", r.html);
        assert_eq!(r.toc[0].title, "Quoi\u{202F}?");
        // Off: untouched.
        let plain = render_typeset("Bonjour !", &|_| None, &[], false);
        assert!(plain.html.contains("Bonjour !"));
    }

    #[test]
    fn untrusted_is_sanitised() {
        let html = render_untrusted("[a](https://example.org) <img src=x onerror=alert(1)> ![i](data:x)");
        assert!(!html.contains("<img src=\"x\""), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert!(html.contains("rel=\"noopener noreferrer nofollow ugc\""));
    }
}
