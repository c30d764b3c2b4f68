//! Timestamps as the recorder writes them: Python `isoformat()` output with
//! `+00:00`, the documented `Z` form, or no offset at all (taken as UTC).

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Parse one of the recorder's timestamp forms into UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

/// Format a UTC time the way callscope reports it (RFC 3339, microseconds, `Z`).
pub fn format_utc(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A timestamp field: the text as written, and its value when it parses.
/// Deserialising never fails on the text itself, so one bad timestamp does
/// not make the rest of a file unreadable.
#[derive(Clone, PartialEq, Eq)]
pub struct Timestamp {
    pub raw: String,
    pub utc: Option<DateTime<Utc>>,
}

impl Timestamp {
    pub fn new(raw: impl Into<String>) -> Self {
        let raw = raw.into();
        let utc = parse_timestamp(&raw);
        Timestamp { raw, utc }
    }

    /// The recorder's own spelling of a UTC time (Python `isoformat()`).
    pub fn isoformat(t: DateTime<Utc>) -> Self {
        let raw = t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string();
        Timestamp { raw, utc: Some(t) }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.raw)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Timestamp::new(String::deserialize(d)?))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_form_the_recorder_writes() {
        let want = DateTime::parse_from_rfc3339("2024-12-01T14:30:22.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        for s in [
            "2024-12-01T14:30:22.123456+00:00",
            "2024-12-01T14:30:22.123456Z",
            "2024-12-01T14:30:22.123456",
            "2024-12-01 14:30:22.123456",
            "2024-12-01T15:30:22.123456+01:00",
        ] {
            assert_eq!(parse_timestamp(s), Some(want), "{s}");
        }
        // isoformat() drops the fraction when it is zero.
        assert_eq!(
            parse_timestamp("2024-12-01T14:30:22+00:00"),
            parse_timestamp("2024-12-01T14:30:22.000000Z")
        );
        assert_eq!(
            parse_timestamp("2024-12-01T14:30:22").unwrap().timestamp(),
            1733063422
        );
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2024-13-01T00:00:00Z"), None);
    }

    #[test]
    fn isoformat_matches_python() {
        let t = parse_timestamp("2024-12-01T14:30:22.5Z").unwrap();
        assert_eq!(
            Timestamp::isoformat(t).raw,
            "2024-12-01T14:30:22.500000+00:00"
        );
        assert_eq!(format_utc(&t), "2024-12-01T14:30:22.500000Z");
    }
}
