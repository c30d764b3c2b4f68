//! `callscope list`: one row per recording.

use rayon::prelude::*;
use serde::Serialize;

use crate::recording::{format_utc, ModelOptions, Recording, StartSource, State};

/// One row of `list`, as printed by `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct ListRow {
    /// The directory relative to the root.
    pub recording: String,
    pub session_id: String,
    /// UTC, RFC 3339.
    pub start_time: Option<String>,
    pub start_source: Option<StartSource>,
    pub duration_s: Option<f64>,
    pub sample_rate: Option<u32>,
    /// Conversational turns in the transcript (runs of one speaker's entries).
    pub turns: Option<usize>,
    pub function_calls: Option<usize>,
    pub state: State,
    /// Files that could not be read, with the reason.
    pub problems: Vec<String>,
}

/// Round to milliseconds: what a person needs, and stable in JSON.
fn round_ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn row(rec: &Recording, opts: &ModelOptions) -> ListRow {
    let mut problems = Vec::new();
    for e in [
        rec.metadata().err(),
        rec.transcript().err(),
        rec.events().err(),
    ]
    .into_iter()
    .flatten()
    {
        // Named relative to the root, as the recording column is.
        problems.push(
            e.to_string()
                .replace(&rec.dir.display().to_string(), &rec.rel),
        );
    }
    let start = rec.start_time(opts.name_tz);
    ListRow {
        recording: rec.rel.clone(),
        session_id: rec.session_id(),
        start_time: start.map(|s| format_utc(&s.time)),
        start_source: start.map(|s| s.source),
        duration_s: rec.duration_s().map(round_ms),
        sample_rate: rec.sample_rate(),
        turns: rec
            .transcript()
            .ok()
            .flatten()
            .map(super::super::recording::model::Transcript::turns),
        function_calls: rec.function_calls().map(|c| c.len()),
        state: rec.state(opts),
        problems,
    }
}

/// Rows for every recording, in the recordings' order, built in parallel.
pub fn rows(recordings: &[Recording], opts: &ModelOptions) -> Vec<ListRow> {
    recordings.par_iter().map(|r| row(r, opts)).collect()
}

/// Order rows by start, duration or turns (unknown values last; ties by name).
/// How `list` orders its rows (without one: by directory name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortKey {
    /// The call's start time.
    Start,
    /// The call's length.
    Duration,
    /// The number of caller→bot turns.
    Turns,
}

pub fn sort(rows: &mut [ListRow], key: SortKey) {
    let k = |r: &ListRow| -> Option<f64> {
        match key {
            SortKey::Start => r
                .start_time
                .as_deref()
                .and_then(crate::recording::parse_timestamp)
                .map(|t| t.timestamp_micros() as f64),
            SortKey::Duration => r.duration_s,
            SortKey::Turns => r.turns.map(|t| t as f64),
        }
    };
    rows.sort_by(|a, b| match (k(a), k(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y).then_with(|| a.recording.cmp(&b.recording)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.recording.cmp(&b.recording),
    });
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".to_string(), T::to_string)
}

/// The human table.
pub fn render_table(rows: &[ListRow]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.recording.clone(),
                r.session_id.clone(),
                r.start_time
                    .as_deref()
                    .map_or("-".into(), |s| format!("{}Z", &s[..19.min(s.len())])),
                r.start_source.map_or("-", StartSource::as_str).to_string(),
                r.duration_s.map_or("-".into(), |d| format!("{d:.1}")),
                opt(&r.sample_rate),
                opt(&r.turns),
                opt(&r.function_calls),
                r.state.as_str().to_string(),
            ]
        })
        .collect();
    let mut out = super::table::render(
        &[
            "RECORDING",
            "SESSION",
            "START (UTC)",
            "FROM",
            "DURATION_S",
            "RATE",
            "TURNS",
            "FUNCTIONS",
            "STATE",
        ],
        &cells,
        &[4, 5, 6, 7],
    );
    out.push_str(&format!("{} recording(s)\n", rows.len()));
    out
}
