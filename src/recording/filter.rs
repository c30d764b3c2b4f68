//! Which recordings a run takes: by start time and by session id.

use chrono::{DateTime, Duration, NaiveDate, Utc};

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

/// `--since`: a date (its midnight, UTC) or a time.
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    parse_bound(s, false)
}

/// `--until`: a date (the whole day is included) or a time (exclusive).
pub fn parse_until(s: &str) -> Result<DateTime<Utc>, String> {
    parse_bound(s, true)
}

fn parse_bound(s: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let day = d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .ok_or("bad date")?;
        return Ok(if end_of_day {
            day + Duration::days(1)
        } else {
            day
        });
    }
    parse_timestamp(s)
        .ok_or_else(|| format!("'{s}' is not a date (2024-12-01) or a time (2024-12-01T08:00:00Z)"))
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

    #[test]
    fn dates_and_times() {
        assert_eq!(
            parse_since("2024-12-01").unwrap().to_rfc3339(),
            "2024-12-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_until("2024-12-01").unwrap().to_rfc3339(),
            "2024-12-02T00:00:00+00:00"
        );
        assert_eq!(
            parse_until("2024-12-01T08:30:00Z").unwrap().to_rfc3339(),
            "2024-12-01T08:30:00+00:00"
        );
        assert!(parse_since("last week").is_err());
    }
}
