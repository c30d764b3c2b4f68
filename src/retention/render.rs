//! A plan as people and programs read it: totals per action and per rule,
//! the text `prune` prints, the CSV to file with a request.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Decision, Verdict};

/// Counts per action and per rule, and bytes to free or move.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub recordings: usize,
    /// Recordings per action, by the action's name.
    pub by_action: BTreeMap<&'static str, usize>,
    pub by_rule: BTreeMap<String, RuleTotal>,
    pub bytes_to_free: u64,
    pub bytes_to_archive: u64,
}

/// One rule's share of a plan.
#[derive(Debug, Serialize)]
pub struct RuleTotal {
    pub action: Verdict,
    pub recordings: usize,
    pub bytes: u64,
}

pub fn summary(decisions: &[Decision]) -> Summary {
    let mut s = Summary {
        recordings: decisions.len(),
        by_action: BTreeMap::new(),
        by_rule: BTreeMap::new(),
        bytes_to_free: 0,
        bytes_to_archive: 0,
    };
    for d in decisions {
        *s.by_action.entry(d.action.as_str()).or_default() += 1;
        let rule = d.rule.clone().unwrap_or_else(|| "-".into());
        let r = s.by_rule.entry(rule).or_insert(RuleTotal {
            action: d.action,
            recordings: 0,
            bytes: 0,
        });
        r.recordings += 1;
        r.bytes += d.bytes;
        match d.action {
            Verdict::Delete | Verdict::DeleteAudio => s.bytes_to_free += d.bytes,
            Verdict::Archive => s.bytes_to_archive += d.bytes,
            _ => {}
        }
    }
    s
}

/// A size for people: `1.5 GB`, `312 kB`, `87 B` (powers of 1000).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let (mut v, mut unit) = (n as f64 / 1000.0, 0);
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// The human plan: one line per recording that is acted on, held or
/// skipped (and, with `show_kept`, kept), with its start, age and due date;
/// then the totals per rule, and what is freed.
pub fn render_plan(decisions: &[Decision], applied: bool, show_kept: bool) -> String {
    let mut out = String::new();
    let shown = |d: &&Decision| show_kept || !matches!(d.action, Verdict::Keep | Verdict::Nothing);
    for d in decisions.iter().filter(shown) {
        out.push_str(&format!(
            "{:<13} {}  rule={}  start={}  age={}  due={}  files={}  size={}  ({})\n",
            d.action,
            d.recording,
            d.rule.as_deref().unwrap_or("-"),
            d.start.as_deref().unwrap_or("-"),
            d.age_days.map_or("-".into(), |a| format!("{a}d")),
            d.due.as_deref().unwrap_or("-"),
            d.files.len(),
            human_bytes(d.bytes),
            d.reason
        ));
    }
    let s = summary(decisions);
    if !s.by_rule.is_empty() {
        out.push_str("per rule:\n");
    }
    for (rule, r) in &s.by_rule {
        out.push_str(&format!(
            "  {rule:<24} {:<13} {:>6} recording(s)  {}\n",
            r.action.as_str(),
            r.recordings,
            human_bytes(r.bytes)
        ));
    }
    let counts: Vec<String> = s
        .by_action
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    let (free, moved) = (
        human_bytes(s.bytes_to_free),
        human_bytes(s.bytes_to_archive),
    );
    let tail = if applied {
        format!("{free} freed, {moved} archived")
    } else {
        format!(
            "{free} to free, {moved} to archive (dry run: nothing changed; --apply carries it out)"
        )
    };
    out.push_str(&format!(
        "{} recording(s): {}; {tail}\n",
        decisions.len(),
        counts.join(", ")
    ));
    out
}

/// The plan as CSV, one row per recording (every one, kept ones too), to
/// file with the request that asked for it. Names and reasons come from
/// the store: made spreadsheet-safe unless `raw`.
pub fn plan_csv(decisions: &[Decision], raw: bool) -> Result<String, String> {
    let text = |s: &str| {
        if raw {
            s.to_string()
        } else {
            crate::report::spreadsheet_text(s).into_owned()
        }
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "recording",
        "session_id",
        "state",
        "rule",
        "action",
        "reason",
        "start_time",
        "age_days",
        "due",
        "files",
        "bytes",
    ];
    w.write_record(header).map_err(|e| e.to_string())?;
    for d in decisions {
        w.write_record([
            text(&d.recording),
            text(&d.session_id),
            d.state.as_str().to_string(),
            text(d.rule.as_deref().unwrap_or_default()),
            d.action.as_str().to_string(),
            text(&d.reason),
            text(d.start.as_deref().unwrap_or_default()),
            d.age_days.map(|a| a.to_string()).unwrap_or_default(),
            d.due.clone().unwrap_or_default(),
            d.files.len().to_string(),
            d.bytes.to_string(),
        ])
        .map_err(|e| e.to_string())?;
    }
    String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_for_people_in_powers_of_1000() {
        for (n, want) in [
            (0, "0 B"),
            (999, "999 B"),
            (1000, "1.0 kB"),
            (1500, "1.5 kB"),
            (999_949, "999.9 kB"),
            (1_000_000, "1.0 MB"),
            (2_500_000_000, "2.5 GB"),
            (7_000_000_000_000, "7.0 TB"),
            (1_000_000_000_000_000, "1.0 PB"),
            // No unit past PB: the count grows.
            (3_000_000_000_000_000_000, "3000.0 PB"),
        ] {
            assert_eq!(human_bytes(n), want, "{n}");
        }
    }
}
