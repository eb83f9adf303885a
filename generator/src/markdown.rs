//! Markdown → HTML, the one renderer of every body the site shows: the build,
//! the incremental rebuilds, the moderators' preview and item pages, and the
//! teachers' status pages all call it, with the same parser options, so what a
//! moderator reviews is what is published.
//!
//! - Headings get stable ids (slug of their text, deduplicated) and a table of
//!   contents is collected. `{#id .class}` heading attributes keep an id and
//!   class names made of letters, digits, `-` and `_`; any other attribute
//!   (`onfocus=…`, `autofocus`, `style`) is dropped.
//! - `@/collection/file.md#anchor` links are resolved to URLs; unknown targets
//!   are reported with their line so the build fails with a clear message.
//! - Raw HTML is never passed through: it is shown as text. Link schemes other
//!   than http(s), mailto, tel and relative ones are neutralised; pictures
//!   from other sites (not in `image_hosts` of `vitrine.yaml`) are dropped and
//!   reported, since a page must load nothing from elsewhere.
//! - Whatever the input, the HTML then goes through an allowlist sanitiser
//!   (ammonia, [`sanitize`]): only the elements and attributes this renderer
//!   produces survive, so no event handler, `javascript:`/`data:` URL,
//!   `<script>`, `<style>`, `<iframe>`, `<object>`, `<form>` or SVG can reach
//!   a page, for teachers' submissions and correspondents' files alike.
//!
//! What it reports ([`Rendered::problems`]) is for callers that refuse input
//! instead of neutralising it (the daemon refuses submissions with raw HTML,
//! unsafe links or outside pictures); the build turns outside pictures and
//! broken `@/` links into errors naming the file and line.
//!
//! It does not know about files, templates or the model: links are resolved
//! through the closure the caller gives.

use std::borrow::Cow;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// One heading of a body, for the table of contents.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TocItem {
    /// Heading level (1–6).
    pub level: u8,
    /// The heading's id (anchor).
    pub id: String,
    /// Its text.
    pub title: String,
}

/// Something in the Markdown text that was neutralised; `line` is 1-based
/// within the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Line of the problem.
    pub line: u32,
    /// What the problem is.
    pub kind: ProblemKind,
}

/// What was neutralised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// Raw HTML (shown as text); the first characters of it.
    RawHtml(String),
    /// A link or picture address with a scheme other than http(s), mailto, tel.
    UnsafeUrl(String),
    /// A picture on another site (not in `image_hosts`), dropped.
    OutsideImage(String),
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProblemKind::RawHtml(h) => write!(f, "le HTML n'est pas accepté (« {h} ») : utilisez la mise en forme Markdown"),
            ProblemKind::UnsafeUrl(u) => write!(
                f,
                "lien non autorisé « {u} » : seules les adresses https://, http:// et mailto: sont acceptées"
            ),
            ProblemKind::OutsideImage(u) => write!(
                f,
                "image d'un autre site « {u} » : les pages ne chargent rien d'ailleurs ; déposez l'image avec le contenu"
            ),
        }
    }
}

/// A rendered body.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The sanitised HTML.
    pub html: String,
    /// Its headings.
    pub toc: Vec<TocItem>,
    /// (line within the Markdown text, 1-based; link target) of `@/` links that resolve to nothing.
    pub broken_links: Vec<(u32, String)>,
    /// What was neutralised, in text order.
    pub problems: Vec<Problem>,
}

/// How a body is rendered besides its text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings<'a> {
    /// Ids the page's templates already use: headings take the next free one.
    pub taken: &'a [String],
    /// French typography on text (see [`crate::typography`]).
    pub typography: bool,
    /// Hosts (lowercase) whose pictures may be shown.
    pub image_hosts: &'a [String],
}

/// The parser options, the same for every caller.
pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_SMART_PUNCTUATION
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// The scheme of `url` in lowercase, if it has one (a colon before any '/', '?' or '#').
fn scheme(url: &str) -> Option<String> {
    let lower: String = url.trim().chars().filter(|c| !c.is_control() && !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    match lower.find(':') {
        Some(i) if !lower[..i].contains(['/', '?', '#']) => Some(lower[..i].to_string()),
        _ => None,
    }
}

/// Whether `url` may be a link target: http(s), mailto, tel or relative,
/// with no control character or backslash trick.
pub fn allowed_url(url: &str) -> bool {
    if url.chars().any(|c| c.is_control()) || url.contains('\\') {
        return false;
    }
    match scheme(url) {
        Some(s) => matches!(s.as_str(), "http" | "https" | "mailto" | "tel"),
        None => true,
    }
}

/// The host of an absolute (`https://host/…`) or protocol-relative (`//host/…`) URL, lowercase.
fn outside_host(url: &str) -> Option<String> {
    let u = url.trim();
    let rest = if let Some(r) = u.strip_prefix("//") {
        r
    } else {
        match scheme(u)?.as_str() {
            "http" | "https" => u.split_once("//").map(|(_, r)| r).unwrap_or(""),
            _ => return None,
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = if host.starts_with('[') { host.split(']').next().map(|h| format!("{h}]")).unwrap_or_default() } else { host.split(':').next().unwrap_or("").to_string() };
    Some(host.to_ascii_lowercase())
}

/// Whether a picture address loads from another site than the allowed ones.
pub fn is_outside_image(url: &str, image_hosts: &[String]) -> bool {
    outside_host(url).is_some_and(|h| !image_hosts.contains(&h))
}

fn token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Renders `md`; `resolve` maps a content path (`projects/foo.md`) to its URL.
pub fn render(md: &str, resolve: &dyn Fn(&str) -> Option<String>) -> Rendered {
    render_with(md, resolve, &Settings::default())
}

/// Like [`render`], for Markdown placed in a page whose templates already use the
/// ids `taken` (a heading "Contenu" must not get the id of the skip link's target):
/// headings get the next free id instead.
pub fn render_with_ids(md: &str, resolve: &dyn Fn(&str) -> Option<String>, taken: &[String]) -> Rendered {
    render_with(md, resolve, &Settings { taken, ..Settings::default() })
}

/// Like [`render_with_ids`], with French typography (see [`crate::typography`])
/// applied to text when `typography` is set: never to code, link targets or
/// image descriptions.
pub fn render_typeset(md: &str, resolve: &dyn Fn(&str) -> Option<String>, taken: &[String], typography: bool) -> Rendered {
    render_with(md, resolve, &Settings { taken, typography, ..Settings::default() })
}

/// The renderer itself: parse with [`options`], neutralise, render, [`sanitize`].
pub fn render_with(md: &str, resolve: &dyn Fn(&str) -> Option<String>, settings: &Settings) -> Rendered {
    let mut out = Rendered::default();
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(md.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let line_of = |offset: usize| line_starts.partition_point(|&s| s <= offset) as u32;

    let mut events: Vec<Event> = Vec::with_capacity(md.len() / 16);
    let mut heading: Option<(usize, HeadingLevel)> = None; // index of the Start event
    let mut used_ids: Vec<String> = settings.taken.to_vec();
    for (ev, range) in Parser::new_ext(md, options()).into_offset_iter() {
        match ev {
            Event::Html(h) | Event::InlineHtml(h) => {
                let snippet: String = h.trim().chars().take(40).collect();
                if !snippet.is_empty() {
                    out.problems.push(Problem { line: line_of(range.start), kind: ProblemKind::RawHtml(snippet) });
                }
                events.push(Event::Text(h))
            }
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
                } else if allowed_url(&dest_url) {
                    dest_url
                } else {
                    out.problems.push(Problem { line: line_of(range.start), kind: ProblemKind::UnsafeUrl(clip(&dest_url)) });
                    CowStr::from("#")
                };
                events.push(Event::Start(Tag::Link { link_type, dest_url: dest, title, id }));
            }
            Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
                let dest = if !allowed_url(&dest_url) || scheme(&dest_url).is_some_and(|s| s == "mailto" || s == "tel") {
                    out.problems.push(Problem { line: line_of(range.start), kind: ProblemKind::UnsafeUrl(clip(&dest_url)) });
                    CowStr::from("")
                } else if is_outside_image(&dest_url, settings.image_hosts) {
                    out.problems.push(Problem { line: line_of(range.start), kind: ProblemKind::OutsideImage(clip(&dest_url)) });
                    CowStr::from("")
                } else {
                    dest_url
                };
                events.push(Event::Start(Tag::Image { link_type, dest_url: dest, title, id }));
            }
            // Footnote labels become ids and `#` links: plain tokens only.
            Event::FootnoteReference(label) => events.push(Event::FootnoteReference(footnote_id(label))),
            Event::Start(Tag::FootnoteDefinition(label)) => events.push(Event::Start(Tag::FootnoteDefinition(footnote_id(label)))),
            Event::Start(Tag::Heading { level, id, classes, attrs: _ }) => {
                // Only an id and class names survive, and only plain tokens.
                let id = id.filter(|i| token(i));
                let classes = classes.into_iter().filter(|c| token(c)).collect();
                heading = Some((events.len(), level));
                events.push(Event::Start(Tag::Heading { level, id, classes, attrs: Vec::new() }));
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
                    let base = explicit.unwrap_or_else(|| crate::locale::slugify(&text));
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
    if settings.typography {
        typeset(&mut events);
        for t in &mut out.toc {
            t.title = crate::typography::apply(&t.title);
        }
    }
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    out.html = scrollable_tables(&sanitize(&html));
    out
}

/// A footnote label as an id: kept when it is a plain token, else `fn-` and its
/// bytes in hexadecimal (distinct labels stay distinct, references still match).
fn footnote_id(label: CowStr<'_>) -> CowStr<'_> {
    if token(&label) {
        label
    } else {
        let hex: String = label.bytes().map(|b| format!("{b:02x}")).collect();
        CowStr::from(format!("fn-{hex}"))
    }
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

/// The allowlist: the elements and attributes the renderer produces, nothing else.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    use std::collections::{HashMap, HashSet};
    let tags: HashSet<&str> = ALLOWED_TAGS.iter().copied().collect();
    let mut attrs: HashMap<&str, HashSet<&str>> = HashMap::new();
    for h in ["h1", "h2", "h3", "h4", "h5", "h6", "div"] {
        attrs.insert(h, ["id", "class"].into());
    }
    attrs.insert("a", ["href", "title", "class", "aria-hidden", "tabindex"].into());
    attrs.insert("img", ["src", "alt", "title"].into());
    attrs.insert("sup", ["class"].into());
    attrs.insert("code", ["class"].into());
    attrs.insert("th", ["class"].into());
    attrs.insert("td", ["class"].into());
    attrs.insert("ol", ["start"].into());
    attrs.insert("input", ["type", "disabled", "checked"].into());
    let mut b = ammonia::Builder::empty();
    b.tags(tags)
        .tag_attributes(attrs)
        .generic_attributes(HashSet::new())
        .url_schemes(["http", "https", "mailto", "tel"].into())
        .link_rel(None)
        .strip_comments(true)
        .attribute_filter(|_element, attr, value| {
            let ok = match attr {
                "id" => token(value),
                "class" => value.split(' ').all(token),
                "tabindex" => value == "-1",
                "aria-hidden" => value == "true",
                "type" => value == "checkbox",
                "start" => value.bytes().all(|b| b.is_ascii_digit()) && value.len() < 10,
                _ => true,
            };
            ok.then_some(Cow::Borrowed(value))
        });
    b
});

/// The elements a rendered body may contain.
pub const ALLOWED_TAGS: &[&str] = &[
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "a", "img", "ul", "ol", "li", "blockquote", "pre", "code", "em", "strong",
    "del", "table", "thead", "tbody", "tr", "th", "td", "hr", "br", "input", "sup", "div",
];

/// What [`check_safe_html`] found: the element, attribute or URL at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnsafeHtml(pub String);

/// Puts each table in a box that scrolls sideways on its own and that the
/// keyboard can reach (WCAG: a scrollable region must be focusable), named for
/// assistive technologies. Applied to sanitised HTML: it adds only this markup.
fn scrollable_tables(html: &str) -> String {
    if !html.contains("<table") {
        return html.to_string();
    }
    html.replace("<table", "<div class=\"table-scroll\" role=\"region\" aria-label=\"Tableau\" tabindex=\"0\"><table")
        .replace("</table>", "</table></div>")
}

/// Checks the invariant of rendered HTML (for tests and fuzzing): every
/// element is in [`ALLOWED_TAGS`], no attribute is an event handler or a
/// style, and every `href`/`src` is http(s), mailto, tel or relative. The
/// input is the renderer's output (serialised by the sanitiser: quoted
/// attributes, `<` in text always escaped).
pub fn check_safe_html(html: &str) -> Result<(), UnsafeHtml> {
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').ok_or_else(|| UnsafeHtml(format!("unterminated tag: <{}", clip(rest))))?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        let tag = tag.strip_prefix('/').unwrap_or(tag);
        let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if !ALLOWED_TAGS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(UnsafeHtml(format!("element <{name}> in {}", clip(tag))));
        }
        // Attributes: name="value" pairs; values never contain a raw '"'.
        let mut attrs = &tag[name.len()..];
        loop {
            attrs = attrs.trim_start();
            if attrs.is_empty() || attrs == "/" {
                break;
            }
            let an: String = attrs.chars().take_while(|c| !c.is_whitespace() && *c != '=').collect();
            attrs = &attrs[an.len()..];
            let value = if let Some(v) = attrs.strip_prefix("=\"") {
                let close = v.find('"').ok_or_else(|| UnsafeHtml(format!("unquoted attribute in <{}", clip(tag))))?;
                attrs = &v[close + 1..];
                &v[..close]
            } else {
                ""
            };
            let an = an.to_ascii_lowercase();
            if an.starts_with("on") || an == "style" || an == "srcdoc" || an == "formaction" || an == "autofocus" {
                return Err(UnsafeHtml(format!("attribute {an} in <{}", clip(tag))));
            }
            if (an == "href" || an == "src") && !allowed_url(&value.replace("&amp;", "&")) {
                return Err(UnsafeHtml(format!("{an}=\"{value}\" in <{}", clip(tag))));
            }
        }
    }
    Ok(())
}

/// Passes HTML through the allowlist. Table alignment, which pulldown-cmark
/// writes as an inline style (refused by the pages' Content-Security-Policy),
/// becomes a class (`align-left|center|right`) first.
pub fn sanitize(html: &str) -> String {
    let html: Cow<str> = if html.contains(" style=\"text-align: ") {
        let mut s = html.to_string();
        for a in ["left", "center", "right"] {
            s = s.replace(&format!(" style=\"text-align: {a}\""), &format!(" class=\"align-{a}\""));
        }
        Cow::Owned(s)
    } else {
        Cow::Borrowed(html)
    };
    let clean = SANITIZER.clean(&html).to_string();
    // The serialiser spells U+00A0 as an entity; French typography puts many in text.
    if clean.contains("&nbsp;") { clean.replace("&nbsp;", "\u{A0}") } else { clean }
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
        .flat_map(|t| crate::html::attr_values(t, "id"))
        .filter(|id| !id.is_empty() && !id.contains(['{', '}', '%']))
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Markdown from a data file or a submission field shown by a template (the
/// `markdown` filter) or a moderation page: the same renderer, without `@/`
/// links or outside pictures.
pub fn render_untrusted(md: &str) -> String {
    render(md, &|_| None).html
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
        assert!(html.contains("href=\"https://example.org\""), "{html}");
    }

    /// The attack of issue 9: heading attributes carried an event handler onto the page.
    #[test]
    fn heading_attributes_keep_only_id_and_class_tokens() {
        let r = render("# Bonjour {#salut .grand tabindex=0 autofocus onfocus=alert(document.cookie) style=color:red}\n\n## Deux {.a\"b #x\"y}\n", &|_| None);
        assert!(r.html.contains("<h1 id=\"salut\" class=\"grand\">"), "{}", r.html);
        for bad in ["onfocus", "autofocus", "tabindex=\"0\"", "style", "alert"] {
            assert!(!r.html.contains(bad), "{bad} in {}", r.html);
        }
        assert!(!r.html.contains("a\"b"), "{}", r.html);
    }

    /// Every way of smuggling script through Markdown ends as text or nothing.
    #[test]
    fn no_script_capable_output_whatever_the_input() {
        let evil = [
            "<script>alert(1)</script>",
            "<svg><script>alert(1)</script></svg>",
            "<svg onload=alert(1)>",
            "<iframe src=//evil></iframe>",
            "<object data=x></object>",
            "<form action=//evil><button>x</button></form>",
            "<style>body{display:none}</style>",
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](java\tscript:alert(1))",
            "[x](&#106;avascript:alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "[x](vbscript:msgbox)",
            "![x](javascript:alert(1))",
            "![x](data:image/svg+xml,<svg onload=alert(1)>)",
            "<x onmouseover=alert(1)>y</x>",
            "[x](<javascript:alert(1)>)",
            "[x]: javascript:alert(1)\n\n[a][x]",
            "# t {onclick=alert(1)}",
            "# t {#a\"onclick=\"x}",
            "```html\n<script>alert(1)</script>\n```",
            "| a | b |\n|:-:|--:|\n| <script> | x |",
        ];
        for md in evil {
            let html = render(md, &|_| None).html;
            check_safe_html(&html).unwrap_or_else(|e| panic!("{e} from {md:?}: {html}"));
            let lower = html.to_ascii_lowercase();
            for bad in ["<script", "<svg", "<iframe", "<object", "<form", "<style", "=\"javascript:", "=\"data:", "style="] {
                assert!(!lower.contains(bad), "{bad} from {md:?}: {html}");
            }
        }
    }

    #[test]
    fn the_checker_sees_what_it_must_refuse() {
        for bad in ["<script>x</script>", "<p onclick=\"x\">", "<a href=\"javascript:x\">", "<img src=\"data:x\">", "<p style=\"x\">", "<h1 autofocus=\"\">"] {
            assert!(check_safe_html(bad).is_err(), "{bad}");
        }
        assert!(check_safe_html("<p>a &lt;script&gt; b</p><a href=\"/x?a=1&amp;b=2\" class=\"c\">y</a>").is_ok());
    }

    /// Found by the `markdown` fuzz target (fuzz/regressions/markdown/): footnote
    /// labels that are not tokens, or hold a control character, gave a `#`
    /// link the allowlist let through and an id it dropped.
    #[test]
    fn footnote_labels_are_tokens_and_links_still_match() {
        for md in ["a[^été] b[^a.b] c[^ok]\n\n[^été]: un\n\n[^a.b]: deux\n\n[^ok]: trois\n", "a[^\u{1}]\n\n[^\u{1}]: b\n"] {
            let html = render(md, &|_| None).html;
            check_safe_html(&html).unwrap_or_else(|e| panic!("{e}: {html}"));
            // Every footnote link points at an id that exists.
            for href in html.split("href=\"#").skip(1).map(|r| &r[..r.find('"').unwrap()]) {
                assert!(html.contains(&format!("id=\"{href}\"")), "#{href} has no target in {html}");
            }
        }
    }

    #[test]
    fn tables_scroll_in_a_box_the_keyboard_reaches() {
        let html = render_with("| a | b |\n|---|---|\n| 1 | 2 |\n", &|_| None, &Settings::default()).html;
        assert!(html.contains("<div class=\"table-scroll\" role=\"region\" aria-label=\"Tableau\" tabindex=\"0\"><table>"), "{html}");
        assert!(html.contains("</table></div>"), "{html}");
        check_safe_html(&html).unwrap();
    }

    #[test]
    fn tables_align_with_classes_not_styles() {
        let html = render("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |\n", &|_| None).html;
        assert!(html.contains("<th class=\"align-left\">a</th>"), "{html}");
        assert!(html.contains("<td class=\"align-center\">2</td>"), "{html}");
        assert!(html.contains("<td class=\"align-right\">3</td>"), "{html}");
    }

    #[test]
    fn outside_pictures_are_dropped_and_reported() {
        let md = "Texte\n\n![pixel](https://tracker.example/p.png)\n![ok](photo.jpg) ![cdn](//cdn.example/a.png)\n![autorisé](https://images.example.org/a.png)\n";
        let hosts = vec!["images.example.org".to_string()];
        let r = render_with(md, &|_| None, &Settings { image_hosts: &hosts, ..Settings::default() });
        assert!(!r.html.contains("tracker.example") && !r.html.contains("cdn.example"), "{}", r.html);
        assert!(r.html.contains("src=\"photo.jpg\"") && r.html.contains("src=\"https://images.example.org/a.png\""), "{}", r.html);
        let outside: Vec<(u32, &str)> = r
            .problems
            .iter()
            .filter_map(|p| match &p.kind {
                ProblemKind::OutsideImage(u) => Some((p.line, u.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(outside, [(3, "https://tracker.example/p.png"), (4, "//cdn.example/a.png")]);
    }

    #[test]
    fn footnotes_tasks_and_code_survive_the_sanitiser() {
        let html = render("Texte[^n].\n\n[^n]: Note.\n\n- [x] fait\n- [ ] à faire\n\n```rust\nfn a() {}\n```\n\n3. trois\n", &|_| None).html;
        assert!(html.contains("class=\"footnote-reference\""), "{html}");
        assert!(html.contains("class=\"footnote-definition\" id=\"n\""), "{html}");
        assert!(html.contains("<input disabled=\"\" type=\"checkbox\" checked=\"\">"), "{html}");
        assert!(html.contains("<code class=\"language-rust\">"), "{html}");
        assert!(html.contains("<ol start=\"3\">"), "{html}");
    }
}
