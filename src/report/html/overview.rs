//! `report.html`: the run at a glance (calls by status and state, findings
//! by code, the latency, talk-ratio, overlap, first-response and
//! time-to-yield distributions, intents and failed functions, latency per
//! day) and a sortable table of the calls, each linked to its page. A
//! call costs the page one table row, so ten thousand calls stay a few
//! megabytes; the rows wait in a temporary file, not in memory, until the
//! page is written around them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};

use maud::{html, Markup, PreEscaped};

use super::chart::{self, num};
use super::{document, number, text, CallRows};
use crate::analyze::{quantile, RunSummary};
use crate::report::summary::{CallCounts, FindingCounts};
use crate::report::CallRecord;

/// The calls table's columns: (header, the call's cell, numeric).
const COLUMNS: [(&str, &str, bool); 10] = [
    ("start (UTC)", "start_time", false),
    ("duration (s)", "duration_s", true),
    ("state", "state", false),
    ("status", "status", false),
    ("findings", "findings", true),
    ("turns", "rt_audio_turns", true),
    ("latency mean (s)", "rt_audio_mean_s", true),
    ("caller ratio", "speech_caller_ratio", true),
    ("overlap (s)", "speech_overlap_s", true),
    ("barge-ins", "speech_barge_ins", true),
];

/// Where the calls table's rows go in the page as rendered.
const ROWS_HERE: &str = "<!--rows-->";

/// What the overview keeps of the calls that went past.
#[derive(Debug)]
pub struct Overview {
    /// The calls table's rows, as markup in the calls' order: an unnamed
    /// temporary file (gone with the process, whatever ends it).
    rows: BufWriter<File>,
    latency: Vec<f64>,
    /// Audio latencies by the call's UTC day.
    latency_by_day: BTreeMap<String, Vec<f64>>,
    caller_ratio: Vec<f64>,
    overlap: Vec<f64>,
    first_response: Vec<f64>,
    time_to_yield: Vec<f64>,
}

/// A bar chart's bars: (label, value).
type Bars = Vec<(String, f64)>;

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// p50, p90 and p95 of sorted values, as chart marks.
fn marks(v: &[f64]) -> Vec<(&'static str, f64)> {
    [("p50", 0.5), ("p90", 0.9), ("p95", 0.95)]
        .into_iter()
        .filter_map(|(n, q)| Some((n, quantile(v, q)?)))
        .collect()
}

const SORT_JS: &str = r#"document.querySelectorAll('table.sortable th').forEach(function(th,i){th.addEventListener('click',function(){var t=th.closest('table'),b=t.tBodies[0],n=th.dataset.num==='1',d=th.getAttribute('aria-sort')==='ascending'?-1:1;t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort')});th.setAttribute('aria-sort',d===1?'ascending':'descending');var r=Array.prototype.slice.call(b.rows);r.sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent;if(n){a=a===''?Infinity:parseFloat(a);c=c===''?Infinity:parseFloat(c);return a===c?0:(a<c?-d:d)}return a.localeCompare(c)*d});r.forEach(function(e){b.appendChild(e)})})});"#;

impl Overview {
    /// An overview whose rows wait in a temporary file in `dir`.
    pub fn create(dir: &std::path::Path) -> io::Result<Overview> {
        Ok(Overview {
            rows: BufWriter::new(tempfile::tempfile_in(dir)?),
            latency: Vec::new(),
            latency_by_day: BTreeMap::new(),
            caller_ratio: Vec::new(),
            overlap: Vec::new(),
            first_response: Vec::new(),
            time_to_yield: Vec::new(),
        })
    }

    pub fn add(&mut self, r: &CallRecord, rows: &CallRows, href: &str) -> io::Result<()> {
        let cell = |k: &str| r.cell(k);
        let row = html! {
            tr {
                td { a href=(href) { (r.recording) } }
                @for (_, key, _) in COLUMNS {
                    @let c = text(cell(key));
                    @if key == "status" { td class=(c) { (c) } } @else { td { (c) } }
                }
            }
        };
        self.rows.write_all(row.into_string().as_bytes())?;
        let day = text(cell("start_time")).get(..10).map(str::to_string);
        for (_, _, latency) in &rows.latencies {
            self.latency.push(*latency);
            if let Some(d) = &day {
                self.latency_by_day
                    .entry(d.clone())
                    .or_default()
                    .push(*latency);
            }
        }
        let mut keep = |k: &str, into: fn(&mut Overview) -> &mut Vec<f64>| {
            if let Some(v) = number(cell(k)) {
                into(self).push(v);
            }
        };
        keep("speech_caller_ratio", |o| &mut o.caller_ratio);
        keep("speech_overlap_s", |o| &mut o.overlap);
        keep("speech_first_response_s", |o| &mut o.first_response);
        self.time_to_yield.extend(
            rows.segments
                .iter()
                .filter(|s| s.kind == "barge_in")
                .map(|s| s.end - s.start),
        );
        Ok(())
    }

    /// The intents and the failed functions, from the intents analyzer's
    /// summary table (kind, name, calls, recordings, failed).
    fn intents(summaries: &[(String, RunSummary)]) -> (Bars, Bars) {
        let mut intents = Vec::new();
        let mut failed = Vec::new();
        for (_, s) in summaries.iter().filter(|(n, _)| n == "intents") {
            for row in s.tables.iter().flat_map(|t| &t.rows) {
                let (kind, name) = (text(row.first()), text(row.get(1)));
                match kind.as_str() {
                    "intent" => intents.push((name, number(row.get(2)).unwrap_or(0.0))),
                    "function" => {
                        let f = number(row.get(4)).unwrap_or(0.0);
                        if f > 0.0 {
                            failed.push((name, f));
                        }
                    }
                    _ => {}
                }
            }
        }
        let by_count = |v: &mut Bars| {
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        };
        by_count(&mut intents);
        by_count(&mut failed);
        (intents, failed)
    }

    fn charts(
        &self,
        calls: &CallCounts,
        findings: &FindingCounts,
        summaries: &[(String, RunSummary)],
    ) -> Markup {
        let status: Bars = [
            ("ok", calls.ok),
            ("warning", calls.warning),
            ("error", calls.error),
        ]
        .iter()
        .map(|(n, c)| (n.to_string(), *c as f64))
        .collect();
        let state: Bars = calls
            .by_state
            .iter()
            .map(|(n, c)| (n.clone(), *c as f64))
            .collect();
        let mut by_code: Bars = findings
            .by_code
            .iter()
            .map(|(n, c)| (n.clone(), *c as f64))
            .collect();
        by_code.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let latency = sorted(self.latency.clone());
        let ratio = sorted(self.caller_ratio.clone());
        let overlap = sorted(self.overlap.clone());
        let first = sorted(self.first_response.clone());
        let yields = sorted(self.time_to_yield.clone());
        let (intents, failed) = Self::intents(summaries);
        let days: Vec<(String, Vec<f64>)> = self
            .latency_by_day
            .iter()
            .map(|(d, v)| {
                let v = sorted(v.clone());
                (
                    d.clone(),
                    vec![
                        quantile(&v, 0.5).unwrap_or(0.0),
                        quantile(&v, 0.9).unwrap_or(0.0),
                    ],
                )
            })
            .collect();
        html! {
            section.charts {
                h2 { "Calls" }
                (chart::bars("status", "Calls by status", "calls", &status))
                (chart::bars("state", "Calls by state", "calls", &state))
                (chart::bars("findings", "Findings by code", "findings", &by_code))
            }
            section.charts {
                h2 { "Turn-taking" }
                (chart::histogram("latency", "Audio latency: the caller's end to the bot's speech, per turn", ("latency (s)", "turns"), &latency, &marks(&latency)))
                @if days.len() > 1 {
                    (chart::per_day("latency-by-day", "Audio latency per day", "latency (s)", &["p50", "p90"], &days))
                }
                (chart::histogram("first-response", "First response: the call's start to the bot's first speech, per call", ("time (s)", "calls"), &first, &marks(&first)))
                (chart::histogram("time-to-yield", "Time to yield: a barge-in's onset to the bot falling silent, per barge-in", ("time (s)", "barge-ins"), &yields, &marks(&yields)))
                (chart::histogram("caller-ratio", "Talk ratio: the caller's share of the talk time, per call", ("caller share (0–1)", "calls"), &ratio, &marks(&ratio)))
                (chart::histogram("overlap", "Overlap: both parties talking, per call", ("overlap (s)", "calls"), &overlap, &marks(&overlap)))
            }
            section.charts {
                h2 { "Intents and functions" }
                (chart::bars("intents", "Function calls by intent", "function calls", &intents))
                (chart::bars("failed", "Failed function calls, by function", "failed calls", &failed))
            }
        }
    }

    /// Write the page to `out`, the calls table's rows copied in from
    /// their temporary file.
    pub fn write_page(
        self,
        out: &mut impl Write,
        calls: &CallCounts,
        findings: &FindingCounts,
        summaries: &[(String, RunSummary)],
        title: &str,
        silence_min: f64,
    ) -> io::Result<()> {
        let body = html! {
                    h1 { "callscope report" }
                    p.lede {
                        (calls.total) " calls from " code { (title) } ": "
                        (calls.ok) " ok, " (calls.warning) " with warnings, " (calls.error) " with errors. "
                        "Silences count as long from " (num(silence_min)) " s. callscope " (env!("CARGO_PKG_VERSION")) "."
                    }
                    (self.charts(calls, findings, summaries))
                    section {
                        h2 #calls { "Every call" }
                        p.note { "Click a heading to sort; each call's page has its timeline, transcript and findings." }
                        table.sortable.calls {
                            thead {
                                tr {
                                    th data-num="0" { "recording" }
                                    @for (h, _, n) in COLUMNS { th data-num=(if n { "1" } else { "0" }) { (h) } }
                                }
                            }
                            tbody { (PreEscaped(ROWS_HERE)) }
                        }
                    }
                    script { (PreEscaped(SORT_JS)) }
        };
        let page = document(&format!("callscope report: {title}"), body);
        // Everything else on the page is escaped text: the marker is only
        // where it was put.
        let (head, tail) = page
            .split_once(ROWS_HERE)
            .expect("the page holds the rows' marker");
        out.write_all(head.as_bytes())?;
        let mut rows = self
            .rows
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        rows.rewind()?;
        io::copy(&mut rows, out)?;
        out.write_all(tail.as_bytes())
    }
}
