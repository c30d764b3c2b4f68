//! One call through every analyzer: the base columns, the check findings at
//! the depth the run reads anyway, each analyzer's cells (an error or a
//! panic nulls that analyzer's cells and becomes a finding).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::findings::{self, AnalyzerFindings};
use crate::analyze::{Analyzer, CallContext, Cell, Needs, Stats, VadKind};
use crate::check::{check_recording_at, status_of, CheckLevel, Finding, Severity};
use crate::error::Error;
use crate::recording::{format_utc, FileKind, ModelOptions, Recording, State};
use crate::report::CallRecord;

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(std::string::ToString::to_string)
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

pub fn process(
    rec: &Recording,
    analyzers: &[Box<dyn Analyzer>],
    needs: Needs,
    vad: VadKind,
    model: &ModelOptions,
) -> CallRecord {
    // The run checks what it reads anyway: no WAV for a metadata-only run.
    let level = if needs.reads_audio() {
        CheckLevel::Headers
    } else {
        CheckLevel::Files
    };
    let check = check_recording_at(rec, model, level);
    let mut found = AnalyzerFindings::default();
    let mut cells = BTreeMap::new();
    let mut rows: BTreeMap<String, Vec<Vec<Cell>>> = BTreeMap::new();
    let mut stats = vec![Stats::default(); analyzers.len()];
    let mut ctx = CallContext::new(rec, vad);
    ctx.status = Some(check.status);
    ctx.state = Some(check.state);
    ctx.name_tz = model.name_tz;
    // A call still being written is not read.
    if check.state != State::InProgress {
        for (a, st) in analyzers.iter().zip(stats.iter_mut()) {
            let result = catch_unwind(AssertUnwindSafe(|| a.analyze(&ctx)))
                .unwrap_or_else(|p| Err(format!("panicked: {}", panic_message(p.as_ref()))));
            match result {
                Ok(out) => {
                    let declared = a.columns();
                    for (k, v) in out.cells {
                        // Only declared columns reach the report; a name
                        // misspelt in an analyzer is said, not lost silently.
                        if declared.contains(&k) {
                            cells.insert(k, v);
                        } else {
                            found.push_own(
                                a.name(),
                                Finding::other(
                                    a.finding_code(),
                                    Severity::Warning,
                                    None,
                                    format!("{}: set column '{k}', which it does not declare; the value is dropped", a.name()),
                                ),
                            );
                        }
                    }
                    for (t, r) in out.rows {
                        rows.entry(t).or_default().extend(r);
                    }
                    *st = out.stats;
                    for mut n in out.findings {
                        // Audio removed by policy: its absence is expected.
                        if check.state == State::AudioRemoved
                            && n.code == crate::check::code::TIMELINE_UNAVAILABLE
                        {
                            n.severity = Severity::Info;
                        }
                        found.push(a.name(), a.needs(), n);
                    }
                }
                Err(e) => {
                    // A crashed call lacks what the recorder writes at the
                    // end; state.crashed already says so. The policy removed
                    // the audio; state.audio_removed says so.
                    let severity = match check.state {
                        State::Crashed => Severity::Warning,
                        State::AudioRemoved => Severity::Info,
                        _ => Severity::Error,
                    };
                    // Filed under the file the error names, so that it
                    // joins that file's finding and no other.
                    let file = FileKind::named_first(&e);
                    let message = format!("{}: {e}", a.name());
                    found.push(
                        a.name(),
                        a.needs(),
                        Finding::other(a.finding_code(), severity, file, message),
                    );
                }
            }
        }
    }
    let findings = findings::combine(rec, check.state, check.findings, found);
    let status = status_of(&findings);
    let sample_rate = if needs.reads_audio() {
        ctx.rate().or_else(|| rec.sample_rate())
    } else {
        rec.logged_sample_rate()
    };
    let duration = rec
        .metadata()
        .ok()
        .flatten()
        .and_then(|m| m.duration_seconds)
        .or_else(|| {
            needs
                .reads_audio()
                .then(|| {
                    rec.wav_info(FileKind::CallerAudio)
                        .ok()
                        .flatten()
                        .map(crate::audio::WavInfo::duration_s)
                })
                .flatten()
        });
    let base = vec![
        ("recording", Cell::Text(rec.rel.clone())),
        ("session_id", Cell::Text(rec.session_id())),
        (
            "conversation_id",
            rec.conversation_id().map_or(Cell::Null, Cell::Text),
        ),
        (
            "start_time",
            rec.start_time(model.name_tz)
                .map_or(Cell::Null, |s| Cell::Text(format_utc(&s.time))),
        ),
        ("duration_s", Cell::num(duration, 3)),
        (
            "sample_rate",
            sample_rate.map_or(Cell::Null, |r| Cell::Int(i64::from(r))),
        ),
        ("state", Cell::Text(check.state.as_str().to_string())),
        ("status", Cell::Text(status.as_str().to_string())),
        ("findings", Cell::Int(findings.len() as i64)),
    ];
    CallRecord {
        recording: rec.rel.clone(),
        base,
        cells,
        rows,
        findings,
        stats,
        status,
        state: check.state,
        analyzed: None,
    }
}

/// Why a selected recording could not be opened when its batch came: gone
/// from the root since the plan was made or since discovery found it, or
/// no longer readable.
pub fn gone(planned: bool, error: Option<Error>) -> Finding {
    match (error, planned) {
        (Some(e), _) => Finding::other(
            crate::check::code::RECORDING_UNREADABLE,
            Severity::Error,
            None,
            e.to_string(),
        ),
        (None, true) => Finding::other(
            crate::check::code::PLAN_MISSING,
            Severity::Error,
            None,
            "in the plan, no longer under the root (pruned or moved since the plan was made)",
        ),
        (None, false) => Finding::other(
            crate::check::code::RECORDING_GONE,
            Severity::Error,
            None,
            "no longer under the root (pruned or moved while the run went on)",
        ),
    }
}

/// The row of a recording that could not be opened when its turn came
/// (see [`gone`]): a finding, not a crash.
pub fn missing(rel: &str, why: Finding, analyzers: usize, model: &ModelOptions) -> CallRecord {
    let name = crate::recording::DirName::parse(rel.rsplit('/').next().unwrap_or(rel));
    let start = name
        .stamp
        .and_then(|s| model.name_tz.to_utc(s))
        .map_or(Cell::Null, |t| Cell::Text(format_utc(&t)));
    let findings = vec![why];
    let status = status_of(&findings);
    CallRecord {
        recording: rel.to_string(),
        base: vec![
            ("recording", Cell::Text(rel.to_string())),
            ("session_id", Cell::Text(name.session_id)),
            ("conversation_id", Cell::Null),
            ("start_time", start),
            ("duration_s", Cell::Null),
            ("sample_rate", Cell::Null),
            ("state", Cell::Text(State::Missing.as_str().to_string())),
            ("status", Cell::Text(status.as_str().to_string())),
            ("findings", Cell::Int(1)),
        ],
        cells: BTreeMap::new(),
        rows: BTreeMap::new(),
        findings,
        stats: vec![Stats::default(); analyzers],
        status,
        state: State::Missing,
        analyzed: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{CallOutput, RunSummary};

    /// An analyzer that declares one column and sets another.
    struct Misspelt;

    impl Analyzer for Misspelt {
        fn name(&self) -> &str {
            "misspelt"
        }
        fn columns(&self) -> Vec<String> {
            vec!["misspelt.overlap_s".into()]
        }
        fn needs(&self) -> Needs {
            Needs::default()
        }
        fn analyze(&self, _: &CallContext) -> Result<CallOutput, String> {
            let mut out = CallOutput::default();
            out.set("misspelt.overlp_s", Cell::Int(1));
            Ok(out)
        }
        fn summarize(&self, _: &Stats, _: usize) -> RunSummary {
            RunSummary::default()
        }
    }

    #[test]
    fn a_column_an_analyzer_does_not_declare_is_a_finding_not_a_silent_loss() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sample_recordings/7c9e6679-7425-40de-944b-e07fc1f90ae7_20241201_143022");
        let rec = Recording::open(&dir).unwrap();
        let analyzers: Vec<Box<dyn Analyzer>> = vec![Box::new(Misspelt)];
        let r = process(
            &rec,
            &analyzers,
            Needs::default(),
            VadKind::Energy,
            &ModelOptions::default(),
        );
        assert!(r.cells.is_empty());
        let f = r
            .findings
            .iter()
            .find(|f| f.code == "analyzer.misspelt")
            .expect("a finding");
        assert_eq!(f.severity, Severity::Warning);
        assert!(f.message.contains("'misspelt.overlp_s'"), "{}", f.message);
    }
}
