//! Which recordings a run takes: by start time and by session id.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

use super::{parse_timestamp, NameTz, Recording};

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Start time at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Start time before this.
    pub until: Option<DateTime<Utc>>,
    /// Session ids matching any of these globs (none: all).
    pub sessions: Vec<glob::Pattern>,
}

/// A time as an operator writes it on a command line: an instant
/// (`2024-12-01T08:00:00Z`, or to the minute, `2024-12-01T08:00`), a day
/// (`2024-12-01`, `today`, `yesterday`), or a time ago (`7d`, `-7d`,
/// `7 days ago`, `36h`, `90m`). Days and times without a zone are read in
/// the `--day-tz` zone when resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeSpec {
    At(DateTime<Utc>),
    /// A wall-clock time without a zone.
    Local(NaiveDateTime),
    Day(NaiveDate),
    /// Today (0), yesterday (-1)…
    DayOffset(i64),
    /// A length of time before now: months on the calendar, days as 24
    /// hours.
    Ago(crate::duration::Span),
}

impl std::str::FromStr for TimeSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<TimeSpec, String> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        match lower.as_str() {
            "today" => return Ok(TimeSpec::DayOffset(0)),
            "yesterday" => return Ok(TimeSpec::DayOffset(-1)),
            _ => {}
        }
        if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            return Ok(TimeSpec::Day(d));
        }
        for f in [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M:%S",
        ] {
            if let Ok(local) = NaiveDateTime::parse_from_str(t, f) {
                return Ok(TimeSpec::Local(local));
            }
        }
        if let Some(at) = parse_timestamp(t) {
            return Ok(TimeSpec::At(at));
        }
        if let Some(ago) = parse_ago(&lower) {
            return Ok(TimeSpec::Ago(ago));
        }
        Err(format!(
            "'{s}' is not a time: use 2024-12-01, 2024-12-01T08:00, 2024-12-01T08:00:00Z, today, yesterday, 7d, P7D or '7 days ago'"
        ))
    }
}

/// `7d`, `-7d`, `7 days ago`, `36h`, `90m`, `2w`, `P7D`, `1mo`: a length
/// of time in the one grammar (see [`crate::duration`]), before now.
fn parse_ago(s: &str) -> Option<crate::duration::Span> {
    let s = s.strip_suffix(" ago").unwrap_or(s).trim();
    let s = s.strip_prefix('-').unwrap_or(s).trim();
    crate::duration::Span::parse(s, crate::duration::Reading::Option).ok()
}

impl TimeSpec {
    /// The instant it stands for, at `now`, reading days in `tz`. A day is
    /// its first instant, or with `end_of_day` the first of the next
    /// (an `--until` day is included whole).
    pub fn resolve(
        self,
        now: DateTime<Utc>,
        tz: NameTz,
        end_of_day: bool,
    ) -> Result<DateTime<Utc>, String> {
        let day = |d: NaiveDate| {
            let d = if end_of_day {
                d.succ_opt().unwrap_or(d)
            } else {
                d
            };
            tz.midnight(d)
                .ok_or_else(|| format!("{d} has no midnight in {tz}"))
        };
        match self {
            TimeSpec::At(t) => Ok(t),
            TimeSpec::Local(t) => tz
                .to_utc(t)
                .ok_or_else(|| format!("{t} does not exist in {tz} (a DST gap)")),
            TimeSpec::Day(d) => day(d),
            TimeSpec::DayOffset(k) => day(tz.date_of(now) + Duration::days(k)),
            TimeSpec::Ago(span) => span
                .before(now)
                .ok_or_else(|| "that far back is before the calendar's start".to_string()),
        }
    }
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.since.is_none() && self.until.is_none() && self.sessions.is_empty()
    }

    pub fn matches(&self, rec: &Recording, tz: NameTz) -> bool {
        if self.is_empty() {
            return true;
        }
        if self.since.is_some() || self.until.is_some() {
            // A recording with no known start time cannot be placed in a window.
            let Some(start) = rec.start_time(tz).map(|s| s.time) else {
                return false;
            };
            if self.since.is_some_and(|s| start < s) || self.until.is_some_and(|u| start >= u) {
                return false;
            }
        }
        if !self.sessions.is_empty() {
            let id = rec.session_id();
            if !self.sessions.iter().any(|p| p.matches(&id)) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn dates_times_and_relative_times() {
        let now = at("2025-03-12T01:30:00Z");
        let utc = NameTz::Utc;
        let paris: NameTz = "Europe/Paris".parse().unwrap();
        let r = |s: &str, tz: NameTz, end: bool| {
            s.parse::<TimeSpec>()
                .unwrap()
                .resolve(now, tz, end)
                .unwrap()
                .to_rfc3339()
        };
        assert_eq!(r("2024-12-01", utc, false), "2024-12-01T00:00:00+00:00");
        assert_eq!(r("2024-12-01", utc, true), "2024-12-02T00:00:00+00:00");
        assert_eq!(
            r("2024-12-01T08:30:00Z", utc, true),
            "2024-12-01T08:30:00+00:00"
        );
        assert_eq!(
            r("2024-12-01T08:30", utc, false),
            "2024-12-01T08:30:00+00:00"
        );
        assert_eq!(
            r("2024-12-01T08:30", paris, false),
            "2024-12-01T07:30:00+00:00"
        );
        assert_eq!(r("today", utc, false), "2025-03-12T00:00:00+00:00");
        assert_eq!(r("yesterday", utc, false), "2025-03-11T00:00:00+00:00");
        assert_eq!(r("yesterday", utc, true), "2025-03-12T00:00:00+00:00");
        // 01:30 UTC is 02:30 in Paris: the same day there, its midnight an
        // hour earlier in UTC.
        assert_eq!(r("yesterday", paris, false), "2025-03-10T23:00:00+00:00");
        for s in [
            "7d",
            "-7d",
            "7 days ago",
            "7 days",
            "1w",
            "P7D",
            "P1W",
            "PT168H",
        ] {
            assert_eq!(r(s, utc, false), "2025-03-05T01:30:00+00:00", "{s}");
        }
        assert_eq!(r("90m", utc, false), "2025-03-12T00:00:00+00:00");
        // A month back is on the calendar (February has 28 days).
        assert_eq!(r("1mo", utc, false), "2025-02-12T01:30:00+00:00");
        assert_eq!(r("P1M1D", utc, false), "2025-02-11T01:30:00+00:00");
        for bad in [
            "last week",
            "7 fortnights",
            "2024-13-01",
            "tomorrow-ish",
            "",
        ] {
            assert!(bad.parse::<TimeSpec>().is_err(), "{bad}");
        }
    }
}
