//! iCalendar (RFC 5545) files for entries that have sessions (trainings).
//!
//! A collection "has sessions" when its schema has a `sessions` list whose items
//! are objects with `start` and `end` datetimes (and optionally `place`). Each of
//! its entries with sessions gets `<entry url><slug>.ics` next to its page, and the
//! collection gets `<collection url>calendrier.ics`, a subscribable calendar of
//! every session that has not ended yet at build time.
//!
//! Times are written as local times of the site's time zone (`TZID=Europe/Paris`)
//! with a `VTIMEZONE` generated from the time zone database (the actual
//! transitions around the sessions, so no RRULE guesswork). Lines end in CRLF,
//! are folded at 75 octets without splitting a UTF-8 character, and TEXT values
//! escape `\`, `;`, `,` and newlines. UIDs are derived from the entry and the
//! session's start, so they stay the same from one build to the next; DTSTAMP is
//! the build time.
//!
//! What it does not do: recurrence rules, alarms, or attendees.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::Value as Json;

use crate::config::{Collection, Config};
use crate::model::{Entry, Model};
use crate::schema::Kind;

/// File name of a collection's calendar of upcoming sessions.
pub const COLLECTION_FILE: &str = "calendrier.ics";

/// One session of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Stable identifier: collection, slug, start and the site's host.
    pub uid: String,
    /// Start, in the site's time zone.
    pub start: DateTime,
    /// End, in the site's time zone.
    pub end: DateTime,
    /// The entry's title.
    pub summary: String,
    /// The session's `place`, or empty.
    pub location: String,
    /// The entry's summary and URL.
    pub description: String,
    /// Absolute URL of the entry's page.
    pub url: String,
}

/// Whether a collection's schema has `sessions: [{start, end, …}]`.
pub fn has_sessions(c: &Collection) -> bool {
    let Some(f) = c.schema.field("sessions") else { return false };
    let Kind::List { item } = &f.kind else { return false };
    let Kind::Object { fields } = &item.kind else { return false };
    let is_dt = |n: &str| fields.iter().any(|x| x.name == n && matches!(x.kind, Kind::Datetime));
    is_dt("start") && is_dt("end")
}

/// URL of a collection's calendar, if it has one.
pub fn collection_url(c: &Collection) -> Option<String> {
    has_sessions(c).then(|| format!("{}{COLLECTION_FILE}", c.url()))
}

/// URL of an entry's own calendar, if its collection has sessions and it has some.
pub fn entry_url(config: &Config, e: &Entry) -> Option<String> {
    let c = &config.collections[e.collection];
    let n = e.fields.get("sessions").and_then(Json::as_array).map_or(0, Vec::len);
    (has_sessions(c) && n > 0).then(|| format!("{}{}.ics", e.url, e.slug))
}

/// `{collection name: calendar URL}` for the templates (`calendars`).
pub fn calendar_urls(config: &Config) -> serde_json::Map<String, Json> {
    config.collections.iter().filter_map(|c| Some((c.name.clone(), Json::String(collection_url(c)?)))).collect()
}

/// Adds `calendar` (URL of the entry's `.ics`) to a card.
pub fn decorate_card(config: &Config, e: &Entry, card: &mut serde_json::Map<String, Json>) {
    if let Some(u) = entry_url(config, e) {
        card.insert("calendar".into(), Json::String(u));
    }
}

fn host(base_url: &str) -> &str {
    base_url.split("://").nth(1).unwrap_or(base_url).split('/').next().unwrap_or("vitrine")
}

/// The sessions of one entry (invalid datetimes cannot happen: the schema checked them).
pub fn sessions(config: &Config, e: &Entry) -> Vec<Session> {
    let Some(list) = e.fields.get("sessions").and_then(Json::as_array) else { return Vec::new() };
    let summary = e.fields.get("summary").and_then(Json::as_str).unwrap_or("");
    let url = format!("{}{}", config.base_url, e.url);
    let c = &config.collections[e.collection];
    list.iter()
        .filter_map(|s| {
            let start = crate::schema::parse_datetime(s.get("start")?.as_str()?)?;
            let end = crate::schema::parse_datetime(s.get("end")?.as_str()?)?;
            let location = s.get("place").and_then(Json::as_str).unwrap_or("").to_string();
            Some(Session {
                uid: format!("{}-{}-{}@{}", c.name, e.slug, start.strftime("%Y%m%dT%H%M"), host(&config.base_url)),
                start,
                end,
                summary: e.title.clone(),
                location,
                description: if summary.is_empty() { url.clone() } else { format!("{summary}\n{url}") },
                url: url.clone(),
            })
        })
        .collect()
}

/// Escapes a TEXT value (RFC 5545 §3.3.11).
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded at 75 octets (§3.1), ended by CRLF.
fn line(out: &mut String, content: &str) {
    let mut budget = 75;
    let mut used = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if used + n > budget {
            out.push_str("\r\n ");
            budget = 74;
            used = 0;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

fn local(dt: DateTime) -> String {
    dt.strftime("%Y%m%dT%H%M%S").to_string()
}

fn utc(ts: Timestamp) -> String {
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

fn offset(o: jiff::tz::Offset) -> String {
    let secs = o.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.abs();
    format!("{sign}{:02}{:02}", a / 3600, (a % 3600) / 60)
}

/// A VTIMEZONE with the real transitions of `tz` from a year before `from` to a year after `to`.
fn vtimezone(out: &mut String, name: &str, tz: &TimeZone, from: DateTime, to: DateTime) {
    line(out, "BEGIN:VTIMEZONE");
    line(out, &format!("TZID:{name}"));
    let start = from.to_zoned_datetime(tz.clone()).map(|z| z.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH);
    let end = to.to_zoned_datetime(tz.clone()).map(|z| z.timestamp()).unwrap_or(start);
    let start = start.checked_sub(jiff::SignedDuration::from_hours(24 * 366)).unwrap_or(start);
    let end = end.checked_add(jiff::SignedDuration::from_hours(24 * 366)).unwrap_or(end);
    // The transition in effect at `start`, then every one up to `end`.
    let mut transitions: Vec<(Timestamp, jiff::tz::Offset, String, bool)> = Vec::new();
    if let Some(t) = tz.preceding(start).next() {
        transitions.push((t.timestamp(), t.offset(), t.abbreviation().to_string(), t.dst().is_dst()));
    }
    for t in tz.following(start) {
        if t.timestamp() > end {
            break;
        }
        transitions.push((t.timestamp(), t.offset(), t.abbreviation().to_string(), t.dst().is_dst()));
    }
    if transitions.is_empty() {
        // A fixed-offset zone (UTC): one STANDARD component.
        let info = tz.to_offset_info(start);
        transitions.push((Timestamp::UNIX_EPOCH, info.offset(), info.abbreviation().to_string(), false));
    }
    let mut prev_offset = transitions[0].1;
    for (i, (ts, off, abbr, dst)) in transitions.iter().enumerate() {
        let from_off = if i == 0 { tz.to_offset(ts.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap_or(*ts)) } else { prev_offset };
        let kind = if *dst { "DAYLIGHT" } else { "STANDARD" };
        line(out, &format!("BEGIN:{kind}"));
        // DTSTART is the wall-clock time of the onset, in the offset in effect before it.
        line(out, &format!("DTSTART:{}", local(from_off.to_datetime(*ts))));
        line(out, &format!("TZOFFSETFROM:{}", offset(from_off)));
        line(out, &format!("TZOFFSETTO:{}", offset(*off)));
        if !abbr.is_empty() {
            line(out, &format!("TZNAME:{}", escape_text(abbr)));
        }
        line(out, &format!("END:{kind}"));
        prev_offset = *off;
    }
    line(out, "END:VTIMEZONE");
}

/// A whole VCALENDAR of `sessions`, times in `tz_name`.
pub fn calendar(name: &str, tz_name: &str, sessions: &[Session], stamp: Timestamp) -> String {
    let tz = TimeZone::get(tz_name).unwrap_or(TimeZone::UTC);
    let mut out = String::with_capacity(512 + sessions.len() * 400);
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//vitrine//vitrine//FR");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name)));
    line(&mut out, &format!("X-WR-TIMEZONE:{tz_name}"));
    let from = sessions.iter().map(|s| s.start).min();
    let to = sessions.iter().map(|s| s.end).max();
    if let (Some(from), Some(to)) = (from, to) {
        vtimezone(&mut out, tz_name, &tz, from, to);
    }
    for s in sessions {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", s.uid));
        line(&mut out, &format!("DTSTAMP:{}", utc(stamp)));
        line(&mut out, &format!("DTSTART;TZID={tz_name}:{}", local(s.start)));
        line(&mut out, &format!("DTEND;TZID={tz_name}:{}", local(s.end)));
        line(&mut out, &format!("SUMMARY:{}", escape_text(&s.summary)));
        if !s.location.is_empty() {
            line(&mut out, &format!("LOCATION:{}", escape_text(&s.location)));
        }
        line(&mut out, &format!("DESCRIPTION:{}", escape_text(&s.description)));
        line(&mut out, &format!("URL:{}", s.url));
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// Every calendar file of the site: (output path, bytes).
pub fn outputs(config: &Config, model: &Model, now: &jiff::ZonedDateTime) -> Vec<(String, Vec<u8>)> {
    let stamp = now.timestamp();
    let today = now.datetime();
    let mut out = Vec::new();
    for (ci, c) in config.collections.iter().enumerate() {
        if !has_sessions(c) {
            continue;
        }
        let mut upcoming = Vec::new();
        for &i in &model.lists[ci] {
            let e = &model.entries[i];
            let Some(url) = entry_url(config, e) else { continue };
            let ss = sessions(config, e);
            let name = format!("{} · {}", e.title, config.title);
            out.push((url.trim_start_matches('/').to_string(), calendar(&name, &config.timezone, &ss, stamp).into_bytes()));
            upcoming.extend(ss.into_iter().filter(|s| s.end >= today));
        }
        upcoming.sort_by(|a, b| (a.start, &a.uid).cmp(&(b.start, &b.uid)));
        let name = format!("{} · {}", c.title, config.title);
        let path = format!("{}{COLLECTION_FILE}", c.url().trim_start_matches('/'));
        out.push((path, calendar(&name, &config.timezone, &upcoming, stamp).into_bytes()));
    }
    out
}

/// The output paths of [`outputs`], without building the files.
pub fn paths(config: &Config, model: &Model) -> Vec<String> {
    let mut out = Vec::new();
    for (ci, c) in config.collections.iter().enumerate() {
        if !has_sessions(c) {
            continue;
        }
        for &i in &model.lists[ci] {
            if let Some(url) = entry_url(config, &model.entries[i]) {
                out.push(url.trim_start_matches('/').to_string());
            }
        }
        out.push(format!("{}{COLLECTION_FILE}", c.url().trim_start_matches('/')));
    }
    out
}

/// What [`parse_lines`] found wrong, naming the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IcsSyntaxError(pub String);

/// A minimal RFC 5545 reader for tests and `check`: unfolds lines and splits
/// them into (name with parameters, value). Errors name the offending line.
pub fn parse_lines(text: &str) -> Result<Vec<(String, String)>, IcsSyntaxError> {
    if !text.ends_with("\r\n") {
        return Err(IcsSyntaxError("le fichier ne se termine pas par CRLF".into()));
    }
    let mut logical: Vec<String> = Vec::new();
    for (n, raw) in text.split("\r\n").enumerate() {
        if raw.contains('\n') || raw.contains('\r') {
            return Err(IcsSyntaxError(format!("ligne {}: fin de ligne autre que CRLF", n + 1)));
        }
        if raw.len() > 75 {
            return Err(IcsSyntaxError(format!("ligne {}: {} octets (75 au plus)", n + 1, raw.len())));
        }
        if let Some(cont) = raw.strip_prefix(' ') {
            match logical.last_mut() {
                Some(l) => l.push_str(cont),
                None => return Err(IcsSyntaxError("ligne de continuation au début du fichier".into())),
            }
        } else if !raw.is_empty() {
            logical.push(raw.to_string());
        }
    }
    logical
        .into_iter()
        .map(|l| match l.split_once(':') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Err(IcsSyntaxError(format!("ligne sans « : » : {l}"))),
        })
        .collect()
}

/// Reverses [`escape_text`].
pub fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(x) => out.push(x),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(start: &str, end: &str, summary: &str) -> Session {
        Session {
            uid: format!("trainings-x-{start}@example.org"),
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
            summary: summary.into(),
            location: "Atelier Canopé, salle 2; étage".into(),
            description: "Ligne 1\nLigne 2 \\ fin".into(),
            url: "https://example.org/formations/x/".into(),
        }
    }

    #[test]
    fn escaping_round_trips() {
        let s = "a,b;c\\d\ne";
        assert_eq!(escape_text(s), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(unescape_text(&escape_text(s)), s);
    }

    #[test]
    fn folding_keeps_lines_under_75_octets_and_characters_whole() {
        let long = "é".repeat(100) + &"x".repeat(33);
        let mut out = String::new();
        line(&mut out, &format!("SUMMARY:{long}"));
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let parsed = parse_lines(&out).unwrap();
        assert_eq!(parsed, vec![("SUMMARY".to_string(), long)]);
    }

    #[test]
    fn calendar_parses_back_with_time_zone() {
        let long_title = "Découvrir eTwinning : demi-journée dans un atelier Canopé, avec des accents et des virgules";
        let ss = vec![session("2026-10-07T14:00", "2026-10-07T17:00", long_title), session("2027-01-13T14:00", "2027-01-13T17:00", "Hiver")];
        let stamp: Timestamp = "2026-09-01T08:00:00Z".parse().unwrap();
        let text = calendar("Formations", "Europe/Paris", &ss, stamp);
        assert!(!text.replace("\r\n", "").contains('\n'), "bare LF");
        let lines = parse_lines(&text).unwrap();
        let get = |k: &str| lines.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
        assert_eq!(get("BEGIN").first().map(String::as_str), Some("VCALENDAR"));
        assert_eq!(get("SUMMARY").iter().map(|s| unescape_text(s)).collect::<Vec<_>>(), vec![long_title.to_string(), "Hiver".into()]);
        assert_eq!(unescape_text(&get("LOCATION")[0]), "Atelier Canopé, salle 2; étage");
        assert_eq!(unescape_text(&get("DESCRIPTION")[0]), "Ligne 1\nLigne 2 \\ fin");
        assert_eq!(get("DTSTART;TZID=Europe/Paris"), vec!["20261007T140000", "20270113T140000"]);
        assert_eq!(get("DTSTAMP")[0], "20260901T080000Z");
        assert_eq!(get("TZID"), vec!["Europe/Paris"]);
        // The VTIMEZONE knows that October 2026 is summer time in Paris and January is not:
        // the daylight onset of 2026 (29 March, 02:00 +01:00) and its end (25 October, 03:00 +02:00).
        let mut comp = String::new();
        let mut onsets = Vec::new();
        for (k, v) in &lines {
            match k.as_str() {
                "BEGIN" if v == "DAYLIGHT" || v == "STANDARD" => comp = v.clone(),
                "DTSTART" if !comp.is_empty() => onsets.push((comp.clone(), v.clone())),
                "END" => comp.clear(),
                _ => {}
            }
        }
        assert!(onsets.contains(&("DAYLIGHT".into(), "20260329T020000".into())), "{onsets:?}");
        assert!(onsets.contains(&("STANDARD".into(), "20261025T030000".into())), "{onsets:?}");
        assert!(get("TZOFFSETTO").contains(&"+0200".to_string()));
        let begins = get("BEGIN").len();
        assert_eq!(begins, get("END").len());
    }

    #[test]
    fn parse_rejects_bare_newlines_and_long_lines() {
        assert!(parse_lines("BEGIN:VCALENDAR\nEND:VCALENDAR\r\n").is_err());
        assert!(parse_lines(&format!("X:{}\r\n", "a".repeat(80))).is_err());
    }
}
