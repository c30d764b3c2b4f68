//! `check` output: a human summary grouped per recording, or JSON.

use serde::Serialize;

use super::perm::StoreSummary;
use super::{RecordingCheck, Severity, Status};
use crate::style::{self, Style};

/// Counts over all recordings.
#[derive(Debug, Default, Serialize)]
pub struct CheckSummary {
    pub recordings: usize,
    pub ok: usize,
    pub warning: usize,
    pub error: usize,
    pub findings: usize,
    pub findings_by_severity: [(&'static str, usize); 3],
}

pub fn summarize(checks: &[RecordingCheck]) -> CheckSummary {
    let count_status = |s: Status| checks.iter().filter(|c| c.status == s).count();
    let count_sev = |s: Severity| {
        checks
            .iter()
            .flat_map(|c| &c.findings)
            .filter(|f| f.severity == s)
            .count()
    };
    CheckSummary {
        recordings: checks.len(),
        ok: count_status(Status::Ok),
        warning: count_status(Status::Warning),
        error: count_status(Status::Error),
        findings: checks.iter().map(|c| c.findings.len()).sum(),
        findings_by_severity: [
            ("error", count_sev(Severity::Error)),
            ("warning", count_sev(Severity::Warning)),
            ("info", count_sev(Severity::Info)),
        ],
    }
}

/// One line per recording (status, name, state, finding count), its findings
/// indented under it, a total, and the store's permissions when anyone
/// but its owner can reach it.
pub fn render_text(checks: &[RecordingCheck], store: Option<&StoreSummary>) -> String {
    let mut out = String::new();
    for c in checks {
        let n = c.findings.len();
        // Padded first, then painted: the codes take no columns.
        let status = format!("{:<7}", c.status.as_str().to_uppercase());
        out.push_str(&format!(
            "{}  {}  ({}{})\n",
            style::paint(status_style(c.status), &status),
            c.recording,
            c.state.as_str(),
            match n {
                0 => String::new(),
                1 => ", 1 finding".to_string(),
                n => format!(", {n} findings"),
            }
        ));
        for f in &c.findings {
            let severity = format!("{:<7}", f.severity.as_str());
            out.push_str(&format!(
                "         {}  {:<24} {}\n",
                style::paint(severity_style(f.severity), &severity),
                f.code,
                f.message
            ));
        }
    }
    let s = summarize(checks);
    out.push_str(&format!(
        "{} recording(s): {} ok, {} warning, {} error; {} finding(s): {} error, {} warning, {} info\n",
        s.recordings,
        s.ok,
        s.warning,
        s.error,
        s.findings,
        s.findings_by_severity[0].1,
        s.findings_by_severity[1].1,
        s.findings_by_severity[2].1,
    ));
    if let Some(line) = store.and_then(StoreSummary::line) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    recordings: &'a [RecordingCheck],
    summary: CheckSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<&'a StoreSummary>,
}

pub fn render_json(checks: &[RecordingCheck], store: Option<&StoreSummary>) -> String {
    let report = JsonReport {
        recordings: checks,
        summary: summarize(checks),
        permissions: store,
    };
    let mut s = serde_json::to_string_pretty(&report).unwrap_or_default();
    s.push('\n');
    s
}

/// The colour of a status word.
pub fn status_style(s: Status) -> Style {
    match s {
        Status::Ok => style::OK,
        Status::Warning => style::WARNING,
        Status::Error => style::ERROR,
    }
}

/// The colour of a severity word.
pub fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Info => style::DIM,
        Severity::Warning => style::WARNING,
        Severity::Error => style::ERROR,
    }
}
