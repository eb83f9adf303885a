//! The daemon's own pages (forms, status, moderation), as Tera templates
//! embedded in the binary so that the daemon works without the theme folder.
//! Autoescaping is on for every `.html` template; only HTML produced by
//! `vitrine_generator::forms` and the sanitised Markdown renderer is marked safe.

/// Stylesheet of the daemon's pages, served at `/_vitrine/style.css`.
pub const STYLE_CSS: &str = include_str!("../templates/style.css");

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("form.html", include_str!("../templates/form.html")),
    ("status.html", include_str!("../templates/status.html")),
    ("public_base.html", include_str!("../templates/public_base.html")),
    ("public_error.html", include_str!("../templates/public_error.html")),
    ("standalone.html", include_str!("../templates/standalone.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("setup.html", include_str!("../templates/setup.html")),
    ("queue.html", include_str!("../templates/queue.html")),
    ("item.html", include_str!("../templates/item.html")),
    ("users.html", include_str!("../templates/users.html")),
    ("mail.html", include_str!("../templates/mail.html")),
    ("account.html", include_str!("../templates/account.html")),
    ("contents.html", include_str!("../templates/contents.html")),
    ("entry.html", include_str!("../templates/entry.html")),
];

/// Compiles the embedded templates, with autoescaping on for `.html`; fails
/// only if a template does not parse (a build-time mistake, caught by the tests).
pub fn load() -> Result<tera::Tera, tera::Error> {
    let mut t = tera::Tera::default();
    t.autoescape_on([".html"]);
    t.add_raw_templates(TEMPLATES.iter().copied())?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn templates_compile() {
        super::load().unwrap();
    }
}
