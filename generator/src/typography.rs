//! French typography for rendered text.
//!
//! French puts a no-break space before `:` and a narrow no-break space (U+202F)
//! before `;`, `!` and `?`, inside « guillemets », between a number and its unit
//! or `%`, and between groups of digits; apostrophes are curly (’). Correspondents
//! type plain spaces (or none); a line break between « Bonjour » and « ! » looks
//! careless, so the build fixes it.
//!
//! The rules are applied to *text* only: `markdown` calls [`Typographer::text`] on
//! Markdown text events (never on code spans, code blocks, link targets or other
//! attributes), and `render` on plain-text fields such as titles and summaries.
//! Within text, tokens that look like URLs, e-mail addresses or paths
//! (`https://…`, `www.…`, `a@b.fr`) are left untouched, and so are times and
//! ratios such as `14:30` (a colon between two non-spaces is not French punctuation).
//!
//! What it does not do: change words, hyphenate, or guess quotes other than
//! the typographic “…” produced by Markdown's smart punctuation, which become
//! « … ». It is idempotent: already well-typeset text is left as it is.

/// U+00A0, before `:` and inside « ».
pub const NBSP: char = '\u{00A0}';
/// U+202F, before `;`, `!`, `?`, `%`, units and between digit groups.
pub const NNBSP: char = '\u{202F}';

/// Units after which a number gets a no-break space (`12 km`, `30 %`).
const UNITS: &[&str] = &[
    "%", "‰", "€", "$", "£", "°C", "°", "km", "m", "cm", "mm", "kg", "g", "mg", "t", "l", "L", "cl", "ml", "h", "min", "s",
    "ko", "Ko", "Mo", "Go", "To", "ha", "km²", "m²",
];

fn is_space(c: char) -> bool {
    c == ' ' || c == NBSP || c == NNBSP || c == '\t'
}

/// Applies the rules to a whole piece of plain text (a title, a summary).
pub fn apply(s: &str) -> String {
    Typographer::default().text(s)
}

/// Typesets the plain-text parts of an entry's card (title, summary) when the
/// site asks for it; other fields (URLs, names, codes) are left as written.
pub fn typeset_card(config: &crate::config::Config, card: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::Value as Json;
    if !config.typography {
        return;
    }
    if let Some(Json::String(t)) = card.get_mut("title") {
        *t = apply(t);
    }
    if let Some(Json::String(t)) = card.get_mut("summary") {
        *t = apply(t);
    }
    if let Some(Json::Object(f)) = card.get_mut("fields")
        && let Some(Json::String(t)) = f.get_mut("summary")
    {
        *t = apply(t);
    }
}

/// Applies the rules to a run of text pieces that follow each other on the page
/// (the text events of one Markdown document), remembering the last character
/// so that `*mot*!` still gets its narrow space.
#[derive(Debug, Default, Clone)]
pub struct Typographer {
    last: Option<char>,
}

fn closes_clause(n: Option<char>) -> bool {
    n.is_none_or(|n| n.is_whitespace() || matches!(n, '!' | '?' | '»' | '”' | ')' | '.' | ','))
}

fn opens_after(p: char) -> bool {
    p.is_alphanumeric() || matches!(p, '»' | ')' | ']' | '’' | '…' | '.' | '"')
}

/// Length of the run of ASCII digits at the end of `o`.
fn trailing_digits(o: &[char]) -> usize {
    o.iter().rev().take_while(|c| c.is_ascii_digit()).count()
}

/// Whether `rest` starts with a unit followed by a word boundary.
fn starts_with_unit(rest: &[char]) -> bool {
    UNITS.iter().any(|u| {
        let u: Vec<char> = u.chars().collect();
        rest.len() >= u.len()
            && rest[..u.len()] == u[..]
            && rest.get(u.len()).is_none_or(|c| !c.is_alphanumeric())
    })
}

/// Whether `rest` starts with exactly three digits (a thousands group).
fn starts_with_group(rest: &[char]) -> bool {
    rest.len() >= 3 && rest[..3].iter().all(char::is_ascii_digit) && rest.get(3).is_none_or(|c| !c.is_ascii_digit())
}

impl Typographer {
    /// Sets what precedes the next text (`None` after a block boundary, or the
    /// last character of a code span).
    pub fn reset(&mut self, last: Option<char>) {
        self.last = last;
    }

    /// Typesets one piece of text.
    pub fn text(&mut self, s: &str) -> String {
        let chars: Vec<char> = s.chars().collect();
        let mut o: Vec<char> = Vec::with_capacity(chars.len() + 4);
        let mut i = 0;
        while i < chars.len() {
            let prev = o.last().copied().or(self.last);
            let token_start = prev.is_none_or(char::is_whitespace) || i == 0;
            if token_start && !chars[i].is_whitespace() {
                let end = chars[i..].iter().position(|c| c.is_whitespace()).map_or(chars.len(), |p| i + p);
                let tok: String = chars[i..end].iter().collect();
                if is_verbatim(&tok) {
                    o.extend_from_slice(&chars[i..end]);
                    i = end;
                    continue;
                }
            }
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match c {
                ' ' => {
                    let space = if prev == Some('«') || next == Some('»') || next == Some(':') {
                        NBSP
                    } else if matches!(next, Some(';' | '!' | '?')) && prev.is_some_and(|p| !is_space(p)) {
                        NNBSP
                    } else if prev.is_some_and(|p| p.is_ascii_digit()) && starts_with_unit(&chars[i + 1..]) {
                        NBSP
                    } else if prev.is_some_and(|p| p.is_ascii_digit())
                        && (1..=3).contains(&trailing_digits(&o))
                        && starts_with_group(&chars[i + 1..])
                    {
                        NNBSP
                    } else {
                        ' '
                    };
                    o.push(space);
                }
                ';' | '!' | '?' => {
                    let doubled = matches!(prev, Some('!' | '?')) && c != ';';
                    if !doubled && prev.is_some_and(opens_after) && closes_clause(next) {
                        o.push(NNBSP);
                    }
                    o.push(c);
                }
                ':' => {
                    if prev.is_some_and(opens_after) && closes_clause(next) {
                        o.push(NBSP);
                    }
                    o.push(c);
                }
                '“' | '«' => {
                    o.push('«');
                    if next.is_some_and(|n| !n.is_whitespace()) {
                        o.push(NBSP);
                    }
                }
                '”' | '»' => {
                    if prev.is_some_and(|p| !p.is_whitespace()) {
                        o.push(NBSP);
                    }
                    o.push('»');
                }
                '\'' if prev.is_some_and(char::is_alphabetic) && next.is_some_and(char::is_alphabetic) => o.push('’'),
                // A no-break space typed before ; ! ? becomes the narrow one.
                NBSP if matches!(next, Some(';' | '!' | '?')) => o.push(NNBSP),
                _ => o.push(c),
            }
            i += 1;
        }
        if let Some(&l) = o.last() {
            self.last = Some(l);
        }
        o.into_iter().collect()
    }
}

/// Tokens copied as they are: URLs, e-mail addresses, paths.
fn is_verbatim(tok: &str) -> bool {
    let t = tok.trim_start_matches(['(', '[', '«', '“', '"', '<']);
    t.contains("://")
        || t.starts_with("www.")
        || t.starts_with("mailto:")
        || t.starts_with("tel:")
        || (t.contains('@') && t.contains('.'))
        || (t.starts_with('/') && t.len() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(s: &str) -> String {
        s.replace(NBSP, "~").replace(NNBSP, "^")
    }

    #[test]
    fn high_punctuation() {
        assert_eq!(show(&apply("Bonjour ! Ça va ? Oui ; merci : voilà.")), "Bonjour^! Ça va^? Oui^; merci~: voilà.");
        assert_eq!(show(&apply("Bonjour! Vraiment?! Non;")), "Bonjour^! Vraiment^?! Non^;");
        assert_eq!(show(&apply("Attention : ")), "Attention~: ");
    }

    #[test]
    fn times_ratios_and_urls_are_left_alone() {
        assert_eq!(apply("Rendez-vous à 14:30 ou 9:05, ratio 1:2."), "Rendez-vous à 14:30 ou 9:05, ratio 1:2.");
        let s = "Voir https://example.org/a?b=1;c=2!x et www.etwinning.net/fr?x ou contact@example.org?";
        assert_eq!(show(&apply(s)), "Voir https://example.org/a?b=1;c=2!x et www.etwinning.net/fr?x ou contact@example.org?");
        assert_eq!(apply("le chemin /recherche/?q=a:b"), "le chemin /recherche/?q=a:b");
    }

    #[test]
    fn guillemets_numbers_and_apostrophes() {
        assert_eq!(show(&apply("Il a dit « oui » puis “non”.")), "Il a dit «~oui~» puis «~non~».");
        assert_eq!(show(&apply("«oui»")), "«~oui~»");
        assert_eq!(show(&apply("50 % des 1 200 élèves, 12 km, 3 h et 2 mars")), "50~% des 1^200 élèves, 12~km, 3~h et 2 mars");
        assert_eq!(apply("l'école d'aujourd'hui, 'citation'"), "l’école d’aujourd’hui, 'citation'");
        // A year followed by a count is not a thousands group.
        assert_eq!(apply("en 2024 125 élèves"), "en 2024 125 élèves");
    }

    #[test]
    fn already_correct_text_is_unchanged() {
        let good = "Bonjour\u{202F}! «\u{A0}oui\u{A0}» : non\u{A0}; 50\u{A0}% l’école 1\u{202F}200";
        let once = apply(good);
        assert_eq!(show(&apply(&once)), show(&once));
        assert_eq!(show(&apply("Bonjour\u{202F}!")), "Bonjour^!");
        assert_eq!(show(&apply("Pour qui\u{A0}?")), "Pour qui^?");
        assert_eq!(show(&apply("«\u{A0}oui\u{A0}»")), "«~oui~»");
    }

    #[test]
    fn state_carries_across_pieces() {
        let mut t = Typographer::default();
        let a = t.text("Voir ");
        let b = t.text("ceci");
        let c = t.text("!");
        assert_eq!(show(&format!("{a}{b}{c}")), "Voir ceci^!");
    }
}
