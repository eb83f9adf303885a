//! What a build produces, before it is written: [`Output`]s (a path in the output
//! directory and its bytes, or the source file to copy), and the rules that turn
//! URLs into output paths and lists into pages.
//!
//! Shared data at the bottom of the crate (it imports no other module): `render`
//! makes outputs, `search` indexes them, `write` writes them, `state` and `check`
//! read them, and the paging rules ([`pages`], [`page_range`], [`paged_url`]) are
//! the same for the paginator templates see and for the incremental path that
//! decides which pages a change moves.
//!
//! It does not render, write or read anything.

use std::ops::Range;
use std::path::PathBuf;

/// What a rendered file contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The file's bytes.
    Bytes(Vec<u8>),
    /// Copied from this source file.
    Copy(PathBuf),
}

/// One file of the built site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Relative to the output directory, `/` separators (`projets/x/index.html`).
    pub path: String,
    /// What the file holds.
    pub body: Body,
}

/// The output path of a page URL: `/projets/x/` → `projets/x/index.html`,
/// `/404.html` → `404.html`.
pub fn url_to_path(url: &str) -> String {
    let u = url.trim_start_matches('/');
    if u.is_empty() || u.ends_with('/') { format!("{u}index.html") } else { u.to_string() }
}

/// The URL of page `page` (1-based) of a paginated list at `base`: the first page
/// is `base` itself, the others `base` + `page/<n>/`.
pub fn paged_url(base: &str, page: usize) -> String {
    if page <= 1 { base.to_string() } else { format!("{base}page/{page}/") }
}

/// How many pages a list of `n` items takes at `per` a page (`0`: one page).
pub fn pages(n: usize, per: usize) -> usize {
    if per == 0 { 1 } else { n.div_ceil(per).max(1) }
}

/// The items of page `page` (1-based) of a list of `len` items at `per` a page
/// (`0`: everything on one page), as a range of indices into the list; empty past
/// the end.
pub fn page_range(len: usize, per: usize, page: usize) -> Range<usize> {
    if per == 0 { 0..len } else { ((page - 1) * per).min(len)..(page * per).min(len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging() {
        assert_eq!(pages(0, 12), 1);
        assert_eq!(pages(25, 12), 3);
        assert_eq!(pages(25, 0), 1);
        assert_eq!(page_range(25, 12, 3), 24..25);
        assert_eq!(page_range(25, 12, 4), 25..25);
        assert_eq!(page_range(25, 0, 1), 0..25);
        assert_eq!(paged_url("/projets/", 1), "/projets/");
        assert_eq!(paged_url("/projets/", 2), "/projets/page/2/");
        assert_eq!(url_to_path("/"), "index.html");
        assert_eq!(url_to_path("/projets/x/"), "projets/x/index.html");
        assert_eq!(url_to_path("/projets/x/x.ics"), "projets/x/x.ics");
    }
}
