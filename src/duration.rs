//! One grammar for every length of time callscope reads: `--wait`, the
//! "time ago" of `--since`/`--until`, and a retention policy's periods. A
//! number and a unit (`30s`, `5 min`, `2h`, `90d`, `12w`, `6mo`, `7y`, the
//! units spelt out or plural as well), or ISO 8601 (`P90D`, `P1Y6M`,
//! `PT48H`, `P1DT12H`). What an option accepts differs only where its
//! meaning does: a wait is at most a week, a policy's `m` is refused as
//! ambiguous (systemd and tmpreaper read it as minutes, people as months),
//! and only `--wait` takes a bare number (seconds).

use chrono::{DateTime, Utc};

/// A length of time in the units it was written in: calendar months (a
/// month or a year is not a fixed number of seconds), calendar days (a day
/// or a week, which a DST change makes 23 or 25 hours in a zone), and
/// exact seconds (hours, minutes, seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub months: u64,
    pub days: u64,
    pub seconds: u64,
}

/// How the grammar reads what an option leaves open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// A command-line option: `m` is minutes.
    Option,
    /// `--wait`: `m` is minutes, and a bare number is seconds.
    Wait,
    /// A retention policy: a bare `m` is refused.
    Policy,
}

const HINT: &str = "a length of time like 30s, 5m, 2h, 90d, 12w, 6mo, 7y or P90D";
const POLICY_HINT: &str = "a period like 90d, 12w, 6mo, 7y, 48h or P90D";

impl Span {
    /// Days as exact 24-hour days, for a length that has no months.
    pub fn exact_seconds(self) -> Option<u64> {
        (self.months == 0).then(|| self.days.checked_mul(86_400)?.checked_add(self.seconds))?
    }

    /// The instant this long before `now`: months on the calendar, then
    /// days as 24 hours and the seconds; None before the calendar's start.
    pub fn before(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let exact = Span { months: 0, ..self }.exact_seconds()?;
        now.checked_sub_months(chrono::Months::new(u32::try_from(self.months).ok()?))?
            .checked_sub_signed(chrono::Duration::try_seconds(i64::try_from(exact).ok()?)?)
    }

    /// Read `text` as `reading` says.
    pub fn parse(text: &str, reading: Reading) -> Result<Span, String> {
        let s = text.trim();
        let hint = match reading {
            Reading::Policy => POLICY_HINT,
            _ => HINT,
        };
        let not = || format!("\"{text}\" is not {hint}");
        if let Some(iso) = s.strip_prefix(['P', 'p']) {
            return iso_8601(iso).ok_or_else(not);
        }
        let at = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(at);
        if num.is_empty() {
            return Err(not());
        }
        let n: u64 = num
            .parse()
            .map_err(|_| format!("\"{text}\" is out of range"))?;
        let unit = unit.trim().to_ascii_lowercase();
        if unit.is_empty() {
            return match reading {
                Reading::Wait => Ok(Span::seconds(n)),
                _ => Err(format!("\"{text}\" has no unit; write {hint}")),
            };
        }
        if unit == "m" && reading == Reading::Policy {
            return Err(format!(
                "\"{text}\": \"m\" is ambiguous (systemd and tmpreaper read it as minutes); write {n}mo for months"
            ));
        }
        unit_span(n, &unit).ok_or_else(not)
    }

    fn seconds(n: u64) -> Span {
        Span {
            seconds: n,
            ..Span::default()
        }
    }
}

/// `n` of `unit` (lowercase, without spaces around it).
fn unit_span(n: u64, unit: &str) -> Option<Span> {
    let (months, days, seconds) = match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => (0, 0, n),
        "m" | "min" | "mins" | "minute" | "minutes" => (0, 0, n.checked_mul(60)?),
        "h" | "hour" | "hours" => (0, 0, n.checked_mul(3600)?),
        "d" | "day" | "days" => (0, n, 0),
        "w" | "week" | "weeks" => (0, n.checked_mul(7)?, 0),
        "mo" | "month" | "months" => (n, 0, 0),
        "y" | "year" | "years" => (n.checked_mul(12)?, 0, 0),
        _ => return None,
    };
    Some(Span {
        months,
        days,
        seconds,
    })
}

/// The part of an ISO 8601 duration after its `P`: `nY nM nW nD` then,
/// after `T`, `nH nM nS`, each at most once and in that order, whole
/// numbers only, at least one.
fn iso_8601(rest: &str) -> Option<Span> {
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut span = Span::default();
    let mut any = false;
    for (part, units) in [(date, "ymwd"), (time.unwrap_or(""), "hms")] {
        let mut order = units.chars();
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let c = c.to_ascii_lowercase();
            // Each unit once, in order: skip to it.
            order.by_ref().find(|u| *u == c)?;
            let n: u64 = std::mem::take(&mut num).parse().ok()?;
            // M is months before the T and minutes after it.
            let unit = match (c, units) {
                ('m', "ymwd") => "mo",
                ('m', _) => "min",
                ('y', _) => "y",
                ('w', _) => "w",
                ('d', _) => "d",
                ('h', _) => "h",
                _ => "s",
            };
            let add = unit_span(n, unit)?;
            span.months = span.months.checked_add(add.months)?;
            span.days = span.days.checked_add(add.days)?;
            span.seconds = span.seconds.checked_add(add.seconds)?;
            any = true;
        }
        if !num.is_empty() {
            return None;
        }
    }
    // `PT` with nothing after it, or `P` alone, says no length.
    (any && time.is_none_or(|t| !t.is_empty())).then_some(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(months: u64, days: u64, seconds: u64) -> Span {
        Span {
            months,
            days,
            seconds,
        }
    }

    #[test]
    fn one_grammar_for_every_length() {
        for (text, want) in [
            ("30s", span(0, 0, 30)),
            ("5 min", span(0, 0, 300)),
            ("5m", span(0, 0, 300)),
            ("2h", span(0, 0, 7200)),
            ("1 day", span(0, 1, 0)),
            ("2w", span(0, 14, 0)),
            ("6mo", span(6, 0, 0)),
            ("7 years", span(84, 0, 0)),
            ("P90D", span(0, 90, 0)),
            ("P1Y6M", span(18, 0, 0)),
            ("P2W", span(0, 14, 0)),
            ("PT48H", span(0, 0, 172_800)),
            ("PT5M", span(0, 0, 300)),
            ("P1DT12H", span(0, 1, 43_200)),
            ("p1y2m3dt4h5m6s", span(14, 3, 4 * 3600 + 5 * 60 + 6)),
        ] {
            assert_eq!(Span::parse(text, Reading::Option), Ok(want), "{text}");
        }
        for bad in [
            "",
            "soon",
            "10x",
            "d",
            "P",
            "PT",
            "PT5D",
            "P5H",
            "-3d",
            "P3.5D",
            "P5ʛ",
            "PTʛ",
            "P1M1Y",
            "P1D1D",
            "P5",
            "5 fortnights",
            "99999999999999999999h",
        ] {
            assert!(Span::parse(bad, Reading::Option).is_err(), "{bad}");
        }
    }

    #[test]
    fn what_differs_is_where_the_meaning_does() {
        // A bare number is seconds only for --wait.
        assert_eq!(Span::parse("30", Reading::Wait), Ok(span(0, 0, 30)));
        assert!(Span::parse("30", Reading::Option).is_err());
        assert!(Span::parse("30", Reading::Policy).is_err());
        // A policy's `m` is refused, saying why; ISO's M after T is minutes
        // and before it months everywhere.
        let e = Span::parse("6m", Reading::Policy).unwrap_err();
        assert!(e.contains("minutes") && e.contains("6mo"), "{e}");
        assert_eq!(Span::parse("P6M", Reading::Policy), Ok(span(6, 0, 0)));
        assert_eq!(Span::parse("PT6M", Reading::Policy), Ok(span(0, 0, 360)));
        assert_eq!(span(0, 1, 60).exact_seconds(), Some(86_460));
        assert_eq!(span(1, 0, 0).exact_seconds(), None);
    }
}
