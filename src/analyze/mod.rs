//! Analyzers: one trait for every analysis, built in or loaded. An analyzer
//! declares its columns and what it needs; the runner loads only that, calls
//! it per recording, and merges the per-call summary parts.

pub mod context;
mod intents;
mod quality;
mod response_times;
pub mod retention;
mod signal;
mod speech;
pub mod stats;
mod transcript;
mod turn_taking;
pub mod vad;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::check::Finding;
use crate::recording::FileKind;

pub use context::CallContext;
pub use stats::Stats;
pub use vad::VadKind;

/// What an analyzer reads. The runner loads nothing else: a run whose
/// analyzers need no audio never opens a WAV.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Needs {
    pub metadata: bool,
    pub transcript: bool,
    pub events: bool,
    /// The caller and bot tracks' samples.
    pub audio: bool,
    /// The bot track placed on the caller's clock (reads the real-time file too).
    pub timeline: bool,
}

impl Needs {
    pub fn union(self, o: Needs) -> Needs {
        Needs {
            metadata: self.metadata || o.metadata,
            transcript: self.transcript || o.transcript,
            events: self.events || o.events,
            audio: self.audio || o.audio,
            timeline: self.timeline || o.timeline,
        }
    }

    pub fn reads_audio(self) -> bool {
        self.audio || self.timeline
    }

    /// The names, for listings.
    pub fn names(self) -> Vec<&'static str> {
        [
            (self.metadata, "metadata"),
            (self.transcript, "transcript"),
            (self.events, "events"),
            (self.audio, "audio"),
            (self.timeline, "timeline"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n)
        .collect()
    }
}

/// One cell of a report. As JSON (the partial a run writes): null, an
/// integer, a number with a fraction or exponent, or a string, so it
/// reads back as the same cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Num(f64),
    Text(String),
}

impl Cell {
    /// A number rounded to `decimals`, or null when absent or not finite.
    pub fn num(v: Option<f64>, decimals: i32) -> Cell {
        match v {
            Some(x) if x.is_finite() => {
                let f = 10f64.powi(decimals);
                Cell::Num((x * f).round() / f)
            }
            _ => Cell::Null,
        }
    }

    pub fn int(v: Option<usize>) -> Cell {
        v.map_or(Cell::Null, |n| Cell::Int(n as i64))
    }

    /// The CSV text: empty for null. A number always has a decimal point
    /// (`0.0`, `12.0`), as in the JSON reports, so a column is a float
    /// column on every night, whatever its values happen to be: a loader
    /// that infers types from one night's file agrees with the next.
    pub fn to_csv(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Int(n) => n.to_string(),
            Cell::Num(x) => {
                let text = x.to_string();
                if text.contains(['.', 'e', 'E', 'N', 'n']) {
                    text
                } else {
                    text + ".0"
                }
            }
            Cell::Text(s) => s.clone(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Cell::Null => serde_json::Value::Null,
            Cell::Int(n) => (*n).into(),
            Cell::Num(x) => {
                serde_json::Number::from_f64(*x).map_or(serde_json::Value::Null, Into::into)
            }
            Cell::Text(s) => s.clone().into(),
        }
    }
}

impl Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Null => s.serialize_none(),
            Cell::Int(n) => s.serialize_i64(*n),
            Cell::Num(x) => s.serialize_f64(*x),
            Cell::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cell, D::Error> {
        use serde_json::Value;
        Ok(match Value::deserialize(d)? {
            Value::Null => Cell::Null,
            Value::Number(n) => match n.as_i64() {
                Some(i) => Cell::Int(i),
                None => Cell::Num(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(t) => Cell::Text(t),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "a cell is null, a number or a string, not {other}"
                )))
            }
        })
    }
}

/// What an analyzer says about one call.
#[derive(Debug, Clone, Default)]
pub struct CallOutput {
    /// Column name → value; columns not set are null.
    pub cells: BTreeMap<String, Cell>,
    /// Rows of the analyzer's per-call tables (e.g. `turns.csv`), by table name.
    pub rows: BTreeMap<String, Vec<Vec<Cell>>>,
    /// The call's part of the summary, merged over all calls.
    pub stats: Stats,
    pub findings: Vec<Finding>,
}

impl CallOutput {
    pub fn set(&mut self, column: &str, cell: Cell) {
        self.cells.insert(column.to_string(), cell);
    }

    /// The bot's speech could not be placed on the call's clock: the
    /// columns that need it stay null. The finding is filed under the file
    /// `why` names first (a broken mono, not only the real-time file), so
    /// that it joins that file's own finding.
    pub fn timeline_unavailable(&mut self, why: impl Into<String>) {
        let why = why.into();
        let file = FileKind::named_first(&why).unwrap_or(FileKind::Stereo);
        self.finding(
            crate::check::code::TIMELINE_UNAVAILABLE,
            crate::check::Severity::Warning,
            Some(file),
            why,
        );
    }

    pub fn finding(
        &mut self,
        code: &'static str,
        severity: crate::check::Severity,
        file: Option<FileKind>,
        message: impl Into<String>,
    ) {
        self.findings
            .push(Finding::other(code, severity, file, message));
    }
}

/// A table an analyzer writes besides `calls.csv`.
#[derive(Debug, Clone)]
pub struct Table {
    pub file: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// What an analyzer says about the whole run.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub json: serde_json::Value,
    /// Tables built from the merged summary (e.g. `intents.csv`).
    pub tables: Vec<Table>,
}

/// One analysis.
pub trait Analyzer: Send + Sync {
    fn name(&self) -> &str;
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }
    /// Where it comes from: `built-in`, or a plugin's file.
    fn source(&self) -> String {
        "built-in".to_string()
    }
    /// The options it was made with that change its numbers, as
    /// `key=value` (a report records them; merge compares them).
    fn settings(&self) -> Option<String> {
        None
    }
    /// The finding code its failures are reported under.
    fn finding_code(&self) -> String {
        format!("analyzer.{}", self.name())
    }
    /// Its `calls.csv` columns, in order, fully named (`rt_transcript_turns`).
    fn columns(&self) -> Vec<String>;
    /// Per-call tables it fills: (file name, header).
    fn tables(&self) -> Vec<(String, Vec<String>)> {
        Vec::new()
    }
    fn needs(&self) -> Needs;
    /// Analyze one call. An error makes this analyzer's cells null and
    /// becomes a finding; the run goes on.
    fn analyze(&self, call: &CallContext) -> Result<CallOutput, String>;
    /// The run's summary from the merged per-call parts.
    fn summarize(&self, stats: &Stats, calls: usize) -> RunSummary;
}

/// What the built-in analyzers can be told (the run's options).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// A silence at least this long is a long one (`--silence-min`).
    pub silence_min_s: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options { silence_min_s: 3.0 }
    }
}

/// The built-in analyzers with the default options.
pub fn builtins() -> Vec<Box<dyn Analyzer>> {
    builtins_with(&Options::default())
}

/// The built-in analyzers, in report order.
pub fn builtins_with(options: &Options) -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(response_times::ResponseTimes),
        Box::new(speech::Speech {
            silence_min_s: options.silence_min_s,
        }),
        Box::new(intents::Intents),
        Box::new(quality::Quality),
        Box::new(transcript::TranscriptStats),
    ]
}

/// Choose analyzers by name from those available, in the order asked.
pub fn select(
    available: Vec<Box<dyn Analyzer>>,
    names: &[String],
) -> Result<Vec<Box<dyn Analyzer>>, String> {
    if names.is_empty() {
        return Ok(available);
    }
    let known: Vec<String> = available.iter().map(|a| a.name().to_string()).collect();
    let mut pool: Vec<Option<Box<dyn Analyzer>>> = available.into_iter().map(Some).collect();
    let mut out = Vec::new();
    for name in names {
        let Some(slot) = pool
            .iter_mut()
            .find(|a| a.as_ref().is_some_and(|a| a.name() == name))
        else {
            return Err(unknown_analyzer(name, &known));
        };
        out.extend(slot.take());
    }
    Ok(out)
}

/// Why `name` is not an analyzer: repeated, or unknown (with the nearest
/// name, and all of them).
fn unknown_analyzer(name: &str, known: &[String]) -> String {
    if known.iter().any(|k| k == name) {
        return format!("--analyzers: '{name}' is named twice");
    }
    let nearest = known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!(" (did you mean '{k}'?)"))
        .unwrap_or_default();
    format!(
        "--analyzers: no analyzer '{name}'{nearest}; the analyzers are: {}",
        known.join(", ")
    )
}

/// Quantile `q` (0–1) of sorted values, linear between ranks.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_join_and_name_what_they_read() {
        let audio = Needs {
            audio: true,
            ..Needs::default()
        };
        let timeline = Needs {
            timeline: true,
            ..Needs::default()
        };
        let files = Needs {
            metadata: true,
            transcript: true,
            events: true,
            ..Needs::default()
        };
        assert!(audio.reads_audio() && timeline.reads_audio());
        assert!(!files.reads_audio() && !Needs::default().reads_audio());
        let all = files.union(audio).union(timeline);
        assert_eq!(
            all.names(),
            ["metadata", "transcript", "events", "audio", "timeline"]
        );
        // Each field of a union comes from either side.
        for (one, name) in [
            (
                Needs {
                    metadata: true,
                    ..Needs::default()
                },
                "metadata",
            ),
            (
                Needs {
                    transcript: true,
                    ..Needs::default()
                },
                "transcript",
            ),
            (
                Needs {
                    events: true,
                    ..Needs::default()
                },
                "events",
            ),
            (audio, "audio"),
            (timeline, "timeline"),
        ] {
            assert_eq!(one.union(Needs::default()).names(), [name]);
            assert_eq!(Needs::default().union(one).names(), [name]);
        }
        assert!(Needs::default().names().is_empty());
    }

    #[test]
    fn a_cell_rounds_reads_back_and_is_null_when_not_known() {
        assert_eq!(Cell::num(Some(1.23456), 3), Cell::Num(1.235));
        assert_eq!(Cell::num(Some(-0.98765), 2), Cell::Num(-0.99));
        assert_eq!(Cell::num(Some(1234.5), 0), Cell::Num(1235.0));
        for not_known in [None, Some(f64::NAN), Some(f64::INFINITY)] {
            assert_eq!(Cell::num(not_known, 3), Cell::Null);
        }
        assert_eq!(Cell::int(Some(7)), Cell::Int(7));
        assert_eq!(Cell::int(None), Cell::Null);
        let cells = [
            Cell::Null,
            Cell::Int(-3),
            Cell::Num(2.0),
            Cell::Num(0.125),
            Cell::Text("a;b".into()),
        ];
        let csv: Vec<String> = cells.iter().map(Cell::to_csv).collect();
        assert_eq!(
            csv,
            ["", "-3", "2.0", "0.125", "a;b"],
            "a whole Num keeps its point"
        );
        let json: Vec<String> = cells.iter().map(|c| c.to_json().to_string()).collect();
        assert_eq!(json, ["null", "-3", "2.0", "0.125", "\"a;b\""]);
        assert_eq!(Cell::Num(f64::NAN).to_json(), serde_json::Value::Null);
        // Serialized and read back: the same cells, a whole Num still a Num.
        let text = serde_json::to_string(&cells).unwrap();
        assert_eq!(text, r#"[null,-3,2.0,0.125,"a;b"]"#);
        let back: Vec<Cell> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, cells);
        let err = serde_json::from_str::<Cell>("true")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a cell is null, a number or a string, not true"),
            "{err}"
        );
    }

    #[test]
    fn analyzers_are_chosen_by_name_in_the_order_asked() {
        let names = |v: &[Box<dyn Analyzer>]| -> Vec<String> {
            v.iter().map(|a| a.name().to_string()).collect()
        };
        assert_eq!(
            names(&builtins()),
            [
                "response_times",
                "speech",
                "intents",
                "quality",
                "transcript"
            ]
        );
        assert_eq!(names(&select(builtins(), &[]).unwrap()), names(&builtins()));
        let asked = ["quality".to_string(), "response_times".to_string()];
        assert_eq!(names(&select(builtins(), &asked).unwrap()), asked);
        let err = |asked: &[&str]| {
            let asked: Vec<String> = asked.iter().map(std::string::ToString::to_string).collect();
            select(builtins(), &asked).err().unwrap()
        };
        assert_eq!(
            err(&["speech", "speech"]),
            "--analyzers: 'speech' is named twice"
        );
        assert_eq!(
            err(&["qualty"]),
            "--analyzers: no analyzer 'qualty' (did you mean 'quality'?); the analyzers are: \
             response_times, speech, intents, quality, transcript"
        );
        // Nothing near enough: no suggestion.
        assert!(!err(&["zzz"]).contains("did you mean"));
        let with = builtins_with(&Options { silence_min_s: 5.0 });
        assert_eq!(with[1].settings().as_deref(), Some("silence_min_s=5"));
        assert_eq!(builtins()[1].settings().as_deref(), Some("silence_min_s=3"));
    }

    #[test]
    fn quantiles_are_linear_between_ranks() {
        let v = [1.0, 2.0, 4.0, 8.0, 16.0];
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 0.5), Some(4.0));
        assert_eq!(quantile(&v, 0.9), Some(8.0 + 8.0 * 0.6));
        assert_eq!(quantile(&v, 1.0), Some(16.0));
        assert_eq!(quantile(&[3.0], 0.9), Some(3.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(mean(&v), Some(6.2));
        assert_eq!(mean(&[]), None);
    }
}
