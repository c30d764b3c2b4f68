//! The recording directory's name: `{session_id}_{YYYYMMDD}_{HHMMSS}`, where
//! the stamp is the recorder's *local* wall-clock time and the session id
//! may itself contain `_`.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// What the directory name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirName {
    /// The session id: the name before the stamp, or the whole name when it has no stamp.
    pub session_id: String,
    /// The stamp as written (local wall-clock time, no zone), when the name has one.
    pub stamp: Option<NaiveDateTime>,
}

impl DirName {
    pub fn parse(name: &str) -> DirName {
        parse_stamped(name).unwrap_or_else(|| DirName {
            session_id: name.to_string(),
            stamp: None,
        })
    }
}

fn parse_stamped(name: &str) -> Option<DirName> {
    let mut parts = name.rsplitn(3, '_');
    let time = parts.next()?;
    let date = parts.next()?;
    let session = parts.next()?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if session.is_empty() || !digits(date, 8) || !digits(time, 6) {
        return None;
    }
    let date = NaiveDate::parse_from_str(date, "%Y%m%d").ok()?;
    let time = NaiveTime::parse_from_str(time, "%H%M%S").ok()?;
    Some(DirName {
        session_id: session.to_string(),
        stamp: Some(date.and_time(time)),
    })
}

/// The time zone the recorder's clock was in when it named directories.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum NameTz {
    #[default]
    Utc,
    /// This machine's local zone.
    Local,
    Fixed(FixedOffset),
    Named(chrono_tz::Tz),
}

impl FromStr for NameTz {
    type Err = String;

    /// `UTC`, `local`, an offset like `+02:00`, or an IANA name like `Europe/Paris`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(NameTz::Utc);
        }
        if s.eq_ignore_ascii_case("local") {
            return Ok(NameTz::Local);
        }
        if s.starts_with('+') || s.starts_with('-') {
            return DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{s}"))
                .map(|t| NameTz::Fixed(*t.offset()))
                .map_err(|_| format!("'{s}' is not an offset like +02:00"));
        }
        s.parse::<chrono_tz::Tz>().map(NameTz::Named).map_err(|_| {
            format!("unknown time zone '{s}' (use UTC, local, +HH:MM or an IANA name)")
        })
    }
}

impl NameTz {
    /// The UTC instant of a local wall-clock stamp. In a DST fold the
    /// earlier instant is taken; a stamp in a DST gap has none.
    pub fn to_utc(&self, stamp: NaiveDateTime) -> Option<DateTime<Utc>> {
        fn conv<Z: TimeZone>(z: &Z, t: NaiveDateTime) -> Option<DateTime<Utc>> {
            z.from_local_datetime(&t)
                .earliest()
                .map(|d| d.with_timezone(&Utc))
        }
        match self {
            NameTz::Utc => Some(stamp.and_utc()),
            NameTz::Local => conv(&Local, stamp),
            NameTz::Fixed(z) => conv(z, stamp),
            NameTz::Named(z) => conv(z, stamp),
        }
    }

    /// The wall-clock time an instant shows in this zone.
    pub fn wall_clock(&self, t: DateTime<Utc>) -> NaiveDateTime {
        match self {
            NameTz::Utc => t.naive_utc(),
            NameTz::Local => t.with_timezone(&Local).naive_local(),
            NameTz::Fixed(z) => t.with_timezone(z).naive_local(),
            NameTz::Named(z) => t.with_timezone(z).naive_local(),
        }
    }

    /// The calendar day an instant falls on in this zone.
    pub fn date_of(&self, t: DateTime<Utc>) -> chrono::NaiveDate {
        self.wall_clock(t).date()
    }

    /// The instant a day starts in this zone (the first moment of it that
    /// exists, across a DST gap).
    pub fn midnight(&self, day: chrono::NaiveDate) -> Option<DateTime<Utc>> {
        (0..3).find_map(|h| self.to_utc(day.and_hms_opt(h, 0, 0)?))
    }
}

impl std::fmt::Display for NameTz {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameTz::Utc => f.write_str("UTC"),
            NameTz::Local => f.write_str("local"),
            NameTz::Fixed(z) => write!(f, "{z}"),
            NameTz::Named(z) => write!(f, "{}", z.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_may_contain_underscores() {
        let n = DirName::parse("session_123_20241201_143022");
        assert_eq!(n.session_id, "session_123");
        assert_eq!(n.stamp.unwrap().to_string(), "2024-12-01 14:30:22");
        let u = DirName::parse("3f2b8c1e-9d4a-4c2e-8a7b-1c2d3e4f5a6b_20250102_000001");
        assert_eq!(u.session_id, "3f2b8c1e-9d4a-4c2e-8a7b-1c2d3e4f5a6b");
    }

    #[test]
    fn names_without_a_valid_stamp_keep_the_whole_name() {
        for name in [
            "just-a-dir",
            "x_2024120_143022",
            "x_20241301_143022",
            "_20241201_143022",
            "a_20241201_256000",
        ] {
            let n = DirName::parse(name);
            assert_eq!(n.session_id, name);
            assert_eq!(n.stamp, None, "{name}");
        }
    }

    #[test]
    fn zones_convert_local_stamps() {
        let stamp = DirName::parse("s_20240701_120000").stamp.unwrap();
        let utc = |z: &str| {
            z.parse::<NameTz>()
                .unwrap()
                .to_utc(stamp)
                .unwrap()
                .to_rfc3339()
        };
        assert_eq!(utc("UTC"), "2024-07-01T12:00:00+00:00");
        assert_eq!(utc("+02:00"), "2024-07-01T10:00:00+00:00");
        assert_eq!(utc("America/New_York"), "2024-07-01T16:00:00+00:00");
        assert!("Mars/Olympus".parse::<NameTz>().is_err());
        assert!("+25:00".parse::<NameTz>().is_err());
    }
}
