//! The Content-Security-Policy of the site's pages, in one place: the default
//! theme writes it as a `<meta http-equiv>` (so any static host gets it), and
//! `vitrine serve`, the daemon and the shipped nginx configuration send it as
//! an HTTP header, with `X-Content-Type-Options` and `Referrer-Policy`.
//!
//! Pages may load scripts, styles, pictures and fonts from their own origin
//! only (plus the hosts of `image_hosts` in `vitrine.yaml` for pictures), and
//! no inline script or style at all. `'wasm-unsafe-eval'` lets the search page
//! compile pagefind's WebAssembly; it allows no `eval` of JavaScript.
//!
//! It imports nothing from the rest of the crate: a data module at the bottom.

/// Header value of `Referrer-Policy` for every response.
pub const REFERRER_POLICY: &str = "no-referrer";

/// The policy of a page, as an HTTP header (`frame-ancestors` included).
pub fn page_policy(image_hosts: &[String]) -> String {
    format!("{}; frame-ancestors 'none'", meta_policy(image_hosts))
}

/// The policy of a page as a `<meta http-equiv>` can carry it (browsers ignore
/// `frame-ancestors` there, with a console warning, so it is left out).
pub fn meta_policy(image_hosts: &[String]) -> String {
    let mut img = String::from("'self'");
    for h in image_hosts {
        // Hosts are plain names (checked in the config); never a quote or a semicolon.
        if !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')) {
            img.push_str(" https://");
            img.push_str(h);
        }
    }
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src {img}; \
         font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
    )
}

/// The stricter policy of the moderation pages: no script at all.
pub const MODERATION_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        let p = page_policy(&[]);
        assert!(p.starts_with("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self';"), "{p}");
        assert!(p.contains("object-src 'none'") && p.contains("base-uri 'none'") && p.ends_with("frame-ancestors 'none'"));
        assert!(!meta_policy(&[]).contains("frame-ancestors"));
        assert!(!p.contains("unsafe-inline") && !p.contains("'unsafe-eval'"));
        let with = meta_policy(&["images.example.org".into(), "bad; script-src *".into()]);
        assert!(with.contains("img-src 'self' https://images.example.org;"), "{with}");
        assert!(!with.contains("script-src *"), "{with}");
    }
}
