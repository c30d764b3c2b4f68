//! `--metrics FILE`: the run in the Prometheus text exposition format, for
//! node_exporter's textfile collector (written atomically, as it asks).
//! Every value comes from the run's `summary.json`, so the two never
//! disagree. Every night writes the file, a failed one too:
//! `callscope_last_run_exit_code` says how it ended, and
//! `callscope_last_success_timestamp_seconds` moves only on a night that
//! exits 0 (a failed night carries the earlier value forward), so an alert
//! on it going stale catches a night that failed or did not run at all.
//! Series that exist on one night exist on every night, with 0: each
//! finding code, each state, each status. `--metrics-label` adds labels to
//! every sample, so two callscope files on one node (two stores, two
//! tenants) never collide.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde_json::Value;

use super::summary::{CallCounts, FindingCounts};
use super::Summary;
use crate::error::{Error, Result};
use crate::safe_fs::AtomicFile;

/// Label values escaped as the format asks (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Text<'a> {
    text: String,
    /// `--metrics-label`s, on every sample.
    common: &'a [(String, String)],
}

impl Text<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        let labels: Vec<String> = self
            .common
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(labels.iter().copied())
            .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
            .collect();
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", labels.join(","))
        };
        let _ = writeln!(self.text, "{name}{labels} {v}");
    }
}

/// How a night ended, for its metrics file.
pub struct Night<'a> {
    /// The reports' summary; None when the night wrote no report.
    pub summary: Option<&'a Summary>,
    pub duration_s: f64,
    /// When it ended (Unix time).
    pub finished_unix_s: f64,
    /// The exit code it ends with.
    pub exit_code: i32,
    /// When the last night that exited 0 ended, before this one.
    pub last_success_unix_s: f64,
    pub labels: &'a [(String, String)],
}

/// The exposition text of one night.
pub fn render(night: &Night) -> String {
    let mut t = Text {
        text: String::new(),
        common: night.labels,
    };
    let (no_calls, no_findings) = (CallCounts::default(), FindingCounts::default());
    let c = night.summary.map_or(&no_calls, |s| &s.calls);
    t.family(
        "callscope_calls",
        "gauge",
        "Calls in the run's reports, by status.",
    );
    for (status, n) in [("ok", c.ok), ("warning", c.warning), ("error", c.error)] {
        t.sample("callscope_calls", &[("status", status)], n as f64);
    }
    t.family(
        "callscope_calls_by_state",
        "gauge",
        "Calls in the run's reports, by state.",
    );
    let mut states: std::collections::BTreeMap<&str, usize> = crate::recording::State::ALL
        .iter()
        .map(|s| (s.as_str(), 0))
        .collect();
    for (state, n) in &c.by_state {
        states.insert(state, *n);
    }
    for (state, n) in states {
        t.sample("callscope_calls_by_state", &[("state", state)], n as f64);
    }
    t.family(
        "callscope_findings",
        "gauge",
        "Findings in the run's reports, by code.",
    );
    let mut codes: std::collections::BTreeMap<&str, usize> =
        crate::check::CODES.iter().map(|c| (c.code, 0)).collect();
    for (code, n) in &night.summary.map_or(&no_findings, |s| &s.findings).by_code {
        codes.insert(code, *n);
    }
    for (code, n) in codes {
        t.sample("callscope_findings", &[("code", code)], n as f64);
    }
    if let Some(rt) = night
        .summary
        .and_then(|s| s.analyzers.get("response_times"))
    {
        t.family(
            "callscope_response_time_seconds",
            "summary",
            "Bot response time after the caller's turn: quantiles linear between ranks, over every turn of the run.",
        );
        for source in ["transcript", "audio"] {
            let d = &rt[source];
            let count = d["count"].as_u64().unwrap_or(0);
            for (q, key) in [
                ("0.5", "p50_s"),
                ("0.9", "p90_s"),
                ("0.95", "p95_s"),
                ("0.99", "p99_s"),
            ] {
                if let Some(v) = d[key].as_f64() {
                    t.sample(
                        "callscope_response_time_seconds",
                        &[("source", source), ("quantile", q)],
                        v,
                    );
                }
            }
            if let Some(mean) = d["mean_s"].as_f64() {
                t.sample(
                    "callscope_response_time_seconds_sum",
                    &[("source", source)],
                    (mean * count as f64 * 1000.0).round() / 1000.0,
                );
            }
            t.sample(
                "callscope_response_time_seconds_count",
                &[("source", source)],
                count as f64,
            );
        }
        t.family(
            "callscope_turns",
            "gauge",
            "Caller-to-bot turns measured, by source.",
        );
        for source in ["transcript", "audio"] {
            let n = rt[source]["count"].as_u64().unwrap_or(0);
            t.sample("callscope_turns", &[("source", source)], n as f64);
        }
    }
    if let Some(ratio) = night
        .summary
        .and_then(|s| s.analyzers.get("speech"))
        .and_then(|s| s.get("caller_ratio"))
        .and_then(Value::as_f64)
    {
        t.family(
            "callscope_caller_talk_ratio",
            "gauge",
            "Caller talk time over caller and bot talk time, over the run.",
        );
        t.sample("callscope_caller_talk_ratio", &[], ratio);
    }
    t.family(
        "callscope_run_duration_seconds",
        "gauge",
        "Wall time of the run.",
    );
    t.sample(
        "callscope_run_duration_seconds",
        &[],
        (night.duration_s * 1000.0).round() / 1000.0,
    );
    t.family(
        "callscope_last_run_exit_code",
        "gauge",
        "The exit code the last run ended with (0: success, 1: findings or an empty store, 2: configuration, 74: I/O, 75: busy, 130/143: stopped).",
    );
    t.sample("callscope_last_run_exit_code", &[], night.exit_code as f64);
    t.family(
        "callscope_last_success_timestamp_seconds",
        "gauge",
        "When the last run that exited 0 finished (Unix time; 0: none yet).",
    );
    let last = match night.exit_code {
        0 => night.finished_unix_s.floor(),
        _ => night.last_success_unix_s,
    };
    t.sample("callscope_last_success_timestamp_seconds", &[], last);
    t.text
}

/// The last success an earlier metrics file at `path` recorded (0 when
/// there is none, or it cannot be read: an alert then fires rather than
/// stays quiet).
pub fn last_success(path: &Path) -> f64 {
    let Ok(bytes) = crate::safe_fs::read_regular(path) else {
        return 0.0;
    };
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| l.starts_with("callscope_last_success_timestamp_seconds"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .find(|v| v.is_finite() && *v >= 0.0)
        .unwrap_or(0.0)
}

/// Write the text to `path` atomically.
pub fn write(path: &Path, text: &str) -> Result<()> {
    let err = |e| Error::write(path, e);
    let mut f = AtomicFile::create(path).map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)?;
    f.commit(None).map_err(err)?;
    Ok(())
}
