//! One call through every analyzer: the base columns, the check findings at
//! the depth the run reads anyway, each analyzer's cells (an error or a
//! panic nulls that analyzer's cells and becomes a finding).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::analyze::{Analyzer, CallContext, Cell, Needs, Stats, VadKind};
use crate::check::{check_recording_at, status_of, CheckLevel, Finding, Severity};
use crate::recording::{format_utc, FileKind, ModelOptions, Recording, State};
use crate::report::CallRecord;

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
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
    let mut findings = check.findings;
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
                        // Only declared columns reach the report.
                        if declared.contains(&k) {
                            cells.insert(k, v);
                        }
                    }
                    for (t, r) in out.rows {
                        rows.entry(t).or_default().extend(r);
                    }
                    *st = out.stats;
                    findings.extend(out.findings.into_iter().map(|mut n| {
                        // Audio removed by policy: its absence is expected.
                        if check.state == State::AudioRemoved && n.code == "timeline.unavailable" {
                            n.severity = Severity::Info;
                        }
                        n
                    }));
                }
                Err(e) => findings.push(Finding {
                    code: a.finding_code().into(),
                    // A crashed call lacks what the recorder writes at the end;
                    // state.crashed already says so.
                    severity: match check.state {
                        State::Crashed => Severity::Warning,
                        // The policy removed the audio; state.audio_removed says so.
                        State::AudioRemoved => Severity::Info,
                        _ => Severity::Error,
                    },
                    file: None,
                    message: format!("{}: {e}", a.name()),
                }),
            }
        }
    }
    // Analyzers that need the same thing (the timeline) report its absence
    // once.
    let mut seen = std::collections::BTreeSet::new();
    findings.retain(|f| seen.insert((f.code.clone(), f.file.clone(), f.message.clone())));
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
                        .map(|i| i.duration_s())
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
    }
}
