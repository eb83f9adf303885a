//! Stored times as people read them: the one rule for every date and time the
//! daemon shows (moderation pages, journal, status page, admins' mail page).
//! Timestamps are stored in UTC (`2026-11-28T14:13:39Z`); they are shown in the
//! site's time zone (`timezone` of `vitrine.yaml`) with the site language's words
//! ([`vitrine_generator::locale::format_date`]). Display only: nothing here is
//! stored or compared.

use vitrine_generator::config::Config;

/// `ts` in the site's time zone as `YYYY-MM-DDTHH:MM`, when it is a timestamp.
fn local(config: &Config, ts: &str) -> Option<String> {
    let t = ts.trim().parse::<jiff::Timestamp>().ok()?;
    let tz = jiff::tz::TimeZone::get(&config.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    Some(t.to_zoned_datetime(tz).datetime().strftime("%Y-%m-%dT%H:%M").to_string())
}

/// The day of a stored UTC timestamp in the site's time zone, `YYYY-MM-DD`
/// (for rules counted in days, such as a label's due date); anything that is
/// not a timestamp is returned as it is.
pub fn local_day(config: &Config, ts: &str) -> String {
    local(config, ts).map(|l| l[..10].to_string()).unwrap_or_else(|| ts.to_string())
}

/// Today in the site's time zone.
pub fn today(config: &Config) -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get(&config.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::now().to_zoned_datetime(tz).date()
}

/// A stored UTC timestamp with its time, in the site's time zone:
/// `2026-11-28T14:13:39Z` → « 28 novembre 2026 à 15 h 13 » (Europe/Paris).
/// Anything that is not a timestamp goes through [`human_date`].
pub fn human_time(config: &Config, ts: &str) -> String {
    local(config, ts)
        .and_then(|l| vitrine_generator::locale::format_date(&config.language, &l, "datetime"))
        .unwrap_or_else(|| human_date(config, ts))
}

/// The day of a stored UTC timestamp in the site's time zone, short form:
/// `2026-11-28T23:30:00Z` → `29/11/2026` (Europe/Paris). A plain date
/// (`2026-11-28…`) is shown the same way; anything else unchanged.
pub fn human_date(config: &Config, ts: &str) -> String {
    let day = match local(config, ts) {
        Some(l) => l[..10].to_string(),
        None => ts.get(..10).unwrap_or("").to_string(),
    };
    vitrine_generator::locale::format_date(&config.language, &day, "short").unwrap_or_else(|| ts.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(tz: &str) -> Config {
        let yaml = format!("title: T\nbase_url: https://example.org/\nlanguage: fr\ntimezone: {tz}\ncollections: {{}}\n");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vitrine.yaml"), yaml).unwrap();
        Config::load(dir.path()).unwrap()
    }

    #[test]
    fn times_are_shown_in_the_site_time_zone() {
        let c = config("Europe/Paris");
        assert_eq!(human_time(&c, "2026-11-28T14:13:39Z"), "28 novembre 2026 à 15 h 13");
        assert_eq!(human_time(&c, "2026-07-01T06:05:00Z"), "1er juillet 2026 à 8 h 05");
        assert_eq!(human_date(&c, "2026-11-28T23:30:00Z"), "29/11/2026");
        assert_eq!(human_date(&c, "2026-11-28"), "28/11/2026");
        assert_eq!(human_date(&c, "hier"), "hier");
        assert_eq!(human_time(&c, "hier"), "hier");
        assert_eq!(local_day(&c, "2026-11-30T23:30:00Z"), "2026-12-01");
    }
}
