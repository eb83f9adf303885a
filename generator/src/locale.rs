//! Language rules shared by every stage: the languages a site can be translated
//! into, numbers and dates written for people in a language, the order in which
//! people of a language sort words (Unicode collation with CLDR's data, through
//! ICU4X: "Géorgie" before "Grèce"), and the slug rule (entry and term slugs,
//! heading ids, the `slugify` filter, `vitrine new`).
//!
//! Shared data near the bottom of the crate: it imports only `schema`, for the
//! date syntax of fields. It does not know about files, models or templates.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use icu_collator::{Collator, CollatorBorrowed, options::CollatorOptions};

use crate::schema::{parse_date, parse_datetime};

/// The collator of `lang` (made once per language and kept).
fn collator(lang: &str) -> Option<&'static CollatorBorrowed<'static>> {
    static COLLATORS: OnceLock<Mutex<HashMap<String, Option<&'static CollatorBorrowed<'static>>>>> = OnceLock::new();
    let mut map = COLLATORS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    *map.entry(lang.to_string()).or_insert_with(|| {
        let locale: icu_locale_core::Locale = lang.parse().ok()?;
        let c = Collator::try_new((&locale).into(), CollatorOptions::default()).ok()?;
        Some(&*Box::leak(Box::new(c)))
    })
}

/// Compares two texts in the order readers of `lang` expect in a list (accents
/// and case are secondary differences: "Géorgie" < "Grèce", "République
/// tchèque" < "Roumanie", "élémentaire" < "lycée"). Ties are broken by the
/// bytes, so the order is total and stable between builds.
pub fn collate(lang: &str, a: &str, b: &str) -> Ordering {
    match collator(lang) {
        Some(c) => c.compare(a, b).then_with(|| a.cmp(b)),
        None => a.cmp(b),
    }
}

/// Sorts `items` by the text `key` gives, in the order of `lang` ([`collate`]).
pub fn sort_by_collation<T>(lang: &str, items: &mut [T], key: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| collate(lang, key(a), key(b)));
}

/// Language codes recognised in file names (`foo.en.md`), with their own names.
pub const LANGUAGES: &[(&str, &str)] = &[
    ("bg", "Български"), ("ca", "Català"), ("cs", "Čeština"), ("da", "Dansk"), ("de", "Deutsch"),
    ("el", "Ελληνικά"), ("en", "English"), ("es", "Español"), ("et", "Eesti"), ("eu", "Euskara"),
    ("fi", "Suomi"), ("fr", "Français"), ("ga", "Gaeilge"), ("hr", "Hrvatski"), ("hu", "Magyar"),
    ("is", "Íslenska"), ("it", "Italiano"), ("lt", "Lietuvių"), ("lv", "Latviešu"), ("mk", "Македонски"),
    ("mt", "Malti"), ("nl", "Nederlands"), ("no", "Norsk"), ("pl", "Polski"), ("pt", "Português"),
    ("ro", "Română"), ("sk", "Slovenčina"), ("sl", "Slovenščina"), ("sq", "Shqip"), ("sr", "Српски"),
    ("sv", "Svenska"), ("tr", "Türkçe"), ("uk", "Українська"),
];

/// Whether `code` is one of [`LANGUAGES`].
pub fn is_language(code: &str) -> bool {
    LANGUAGES.iter().any(|(c, _)| *c == code)
}

/// The name of a language in itself ("English"), or its code.
pub fn language_name(code: &str) -> &str {
    LANGUAGES.iter().find(|(c, _)| *c == code).map_or(code, |(_, n)| n)
}

/// An integer written for people in `lang`: "12 500" (narrow no-break space) in French,
/// "12,500" in English, "12.500" in German and most other European languages.
pub fn format_number(lang: &str, n: i64) -> String {
    let sep = match lang {
        "fr" | "fi" | "sv" | "no" | "cs" | "sk" | "pl" | "et" | "lv" | "lt" | "bg" | "uk" | "hu" => "\u{202F}",
        "en" | "ga" | "mt" => ",",
        _ => ".",
    };
    // French and Nordic usage leave four-digit numbers whole (2 500 but 2500 is fine too).
    let min = if sep == "\u{202F}" { 5 } else { 4 };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + 8);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) && digits.len() >= min {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

const MONTHS_FR: [&str; 12] =
    ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"];
const MONTHS_EN: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS_FR: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
const DAYS_EN: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Formats "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" for people, in the site language
/// (French, or English for any other): `format` is "long" (the default), "short",
/// "month", "weekday", "time", "iso" or "datetime". `None` when `s` is not a date.
pub fn format_date(lang: &str, s: &str, format: &str) -> Option<String> {
    let (date, time) = match s.len() {
        10 => (parse_date(s)?, None),
        _ => {
            let dt = parse_datetime(s)?;
            (dt.date(), Some(dt.time()))
        }
    };
    let fr = lang == "fr";
    let m = (date.month() - 1) as usize;
    let wd = date.weekday().to_monday_zero_offset() as usize;
    let day = if fr && date.day() == 1 { "1er".to_string() } else { date.day().to_string() };
    let long = if fr {
        format!("{day} {} {}", MONTHS_FR[m], date.year())
    } else {
        format!("{} {}, {}", MONTHS_EN[m], date.day(), date.year())
    };
    let time_str = time.map(|t| {
        if fr { format!("{} h {:02}", t.hour(), t.minute()) } else { format!("{:02}:{:02}", t.hour(), t.minute()) }
    });
    Some(match format {
        "short" => {
            if fr { format!("{:02}/{:02}/{}", date.day(), date.month(), date.year()) } else { date.to_string() }
        }
        "month" => {
            if fr { format!("{} {}", MONTHS_FR[m], date.year()) } else { format!("{} {}", MONTHS_EN[m], date.year()) }
        }
        "weekday" => {
            if fr { format!("{} {long}", DAYS_FR[wd]) } else { format!("{}, {long}", DAYS_EN[wd]) }
        }
        "time" => time_str.unwrap_or_default(),
        "iso" => s.to_string(),
        "datetime" => match time_str {
            Some(t) => {
                if fr { format!("{long} à {t}") } else { format!("{long}, {t}") }
            }
            None => long,
        },
        _ => long,
    })
}

/// The slug rule: `s` in ASCII (accents and other scripts transliterated),
/// lowercase letters and digits, every other run of characters one hyphen, none
/// at either end, at most `max` characters (cut without leaving a hyphen at the
/// end). `None` when nothing is left (`"!!"`). The daemon's names for new
/// bundles can use it with their own length and fallback.
pub fn slug(s: &str, max: usize) -> Option<String> {
    let ascii = deunicode::deunicode(s).to_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    // ASCII only: bytes are characters.
    out.truncate(max);
    while out.ends_with('-') {
        out.pop();
    }
    (!out.is_empty()).then_some(out)
}

/// The generator's slugs (entries, terms, heading ids, the `slugify` filter):
/// [`slug`] without length limit, or `sans-titre` when nothing is left.
pub fn slugify(s: &str) -> String {
    slug(s, usize::MAX).unwrap_or_else(|| "sans-titre".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collation_follows_french_readers() {
        let mut v = vec!["Roumanie", "Grèce", "République tchèque", "Géorgie", "Égypte", "Estonie", "allemand", "Autriche"];
        sort_by_collation("fr", &mut v, |s| s);
        assert_eq!(v, ["allemand", "Autriche", "Égypte", "Estonie", "Géorgie", "Grèce", "République tchèque", "Roumanie"]);
        // A byte order puts every accented or capitalised word apart.
        let mut bytes = v.clone();
        bytes.sort();
        assert_ne!(bytes, v);
        assert_eq!(collate("xx-not-a-language-!!", "b", "a"), Ordering::Greater);
    }

    #[test]
    fn numbers() {
        assert_eq!(format_number("fr", 12500), "12\u{202F}500");
        assert_eq!(format_number("en", 1234567), "1,234,567");
        assert_eq!(format_number("de", -12500), "-12.500");
        // Four-digit numbers stay whole in French, not in English.
        assert_eq!(format_number("fr", 2500), "2500");
        assert_eq!(format_number("en", 2500), "2,500");
        assert_eq!(format_number("en", 999), "999");
    }

    #[test]
    fn languages() {
        assert_eq!(language_name("en"), "English");
        assert_eq!(language_name("xx"), "xx");
        assert!(is_language("de") && !is_language("xx"));
    }

    #[test]
    fn dates() {
        assert_eq!(format_date("fr", "2027-03-01", "long").as_deref(), Some("1er mars 2027"));
        assert_eq!(format_date("en", "2027-03-01", "long").as_deref(), Some("March 1, 2027"));
        assert_eq!(format_date("fr", "2027-03-14T14:30", "datetime").as_deref(), Some("14 mars 2027 à 14 h 30"));
        assert_eq!(format_date("fr", "2027-03-14", "short").as_deref(), Some("14/03/2027"));
        assert_eq!(format_date("fr", "2027-13-14", "long"), None);
    }

    #[test]
    fn slugs() {
        assert_eq!(slugify("Éco-école : « Potagers » !"), "eco-ecole-potagers");
        assert_eq!(slugify("!!"), "sans-titre");
        assert_eq!(slug("Un très long titre", 8).as_deref(), Some("un-tres"));
        assert_eq!(slug("  ", 60), None);
    }
}
