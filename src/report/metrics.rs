//! `--metrics FILE`: the run in the Prometheus text exposition format, for
//! node_exporter's textfile collector (written atomically, as it asks).
//! Every value comes from the run's `summary.json`, so the two never
//! disagree; an alert on `callscope_last_success_timestamp_seconds` going
//! stale catches a night that did not run at all.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde_json::Value;

use super::Summary;
use crate::error::{Error, Result};
use crate::safe_fs::AtomicFile;

/// Label values escaped as the format asks (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
            .collect();
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", labels.join(","))
        };
        let _ = writeln!(self.0, "{name}{labels} {v}");
    }
}

/// The exposition text of one finished run.
pub fn render(summary: &Summary, duration_s: f64, finished_unix_s: f64) -> String {
    let mut t = Text(String::new());
    let c = &summary.calls;
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
    for (state, n) in &c.by_state {
        t.sample("callscope_calls_by_state", &[("state", state)], *n as f64);
    }
    t.family(
        "callscope_findings",
        "gauge",
        "Findings in the run's reports, by code.",
    );
    for (code, n) in &summary.findings.by_code {
        t.sample("callscope_findings", &[("code", code)], *n as f64);
    }
    if let Some(rt) = summary.analyzers.get("response_times") {
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
    if let Some(ratio) = summary
        .analyzers
        .get("speech")
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
        (duration_s * 1000.0).round() / 1000.0,
    );
    t.family(
        "callscope_last_success_timestamp_seconds",
        "gauge",
        "When the last run that wrote its reports finished (Unix time).",
    );
    t.sample(
        "callscope_last_success_timestamp_seconds",
        &[],
        finished_unix_s.floor(),
    );
    t.0
}

/// Write the text to `path` atomically.
pub fn write(path: &Path, text: &str) -> Result<()> {
    let err = |e| Error::write(path, e);
    let mut f = AtomicFile::create(path).map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)?;
    f.commit(None).map_err(err)?;
    Ok(())
}
