//! `schema.json`: every table of the report directory (`calls`, `turns`,
//! `findings`… in its CSV and JSONL forms), each column with its type, its
//! unit and whether it may be empty, for a warehouse to load the nights
//! with declared types instead of guessed ones. The types follow from the
//! columns' names, which keep one convention (`tests/schema.rs` checks
//! every value of every built-in column against it):
//!
//! - `…_s` seconds, `…_dbfs` dBFS, `…_pct` percent, `…_wpm` words a
//!   minute, `…_ratio` and `…_mean_confidence` shares from 0 to 1: floats;
//! - counts (`…_turns`, `…_words`, `…_interruptions`, `findings`…) and
//!   `sample_rate` (Hz): integers;
//! - `start_time` and `analyzed_at`: RFC 3339 times in UTC;
//! - names, ids, states and text: strings.
//!
//! A plugin's column is `any`: its author declares no type.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::safe_fs::AtomicFile;

/// The schema file's name.
pub const SCHEMA: &str = "schema.json";

#[derive(Serialize)]
struct Column<'a> {
    column: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    unit: Option<&'static str>,
    nullable: bool,
}

#[derive(Serialize)]
struct Schema<'a> {
    format: &'static str,
    /// By table name (the file's name without `.csv` or `.jsonl`).
    tables: BTreeMap<&'a str, Vec<Column<'a>>>,
}

/// Names that are text whatever their ending.
const TEXT: &[&str] = &[
    "recording",
    "session_id",
    "conversation_id",
    "state",
    "status",
    "speech_vad",
    "intents_intents",
    "code",
    "severity",
    "file",
    "message",
    "kind",
    "name",
    "party",
    "source",
    "intent",
    "text",
    "run_id",
    "fingerprint",
];

/// Endings of counts.
const COUNTS: &[&str] = &[
    "turns",
    "turn",
    "entry",
    "entries",
    "words",
    "interruptions",
    "long_silences",
    "barge_ins",
    "barge_ins_unyielded",
    "backchannels",
    "early_starts",
    "unanswered_turns",
    "playback_uncertain",
    "function_calls",
    "failed",
    "low_confidence",
    "findings",
    "calls",
    "recordings",
];

/// Endings of floats, with their units.
const FLOATS: &[(&str, &str)] = &[
    ("_s", "s"),
    ("_dbfs", "dBFS"),
    ("_db", "dB"),
    ("_pct", "%"),
    ("_wpm", "words/min"),
    ("_ratio", "0-1"),
    ("mean_confidence", "0-1"),
];

/// A column's type and unit, by its name; `any` for a name outside the
/// convention (a plugin's).
pub fn column_type(name: &str) -> (&'static str, Option<&'static str>) {
    if TEXT.contains(&name) {
        return ("string", None);
    }
    if name == "start_time" || name == "analyzed_at" {
        return ("timestamp", Some("UTC"));
    }
    if name == "sample_rate" {
        return ("integer", Some("Hz"));
    }
    if COUNTS
        .iter()
        .any(|c| name == *c || name.ends_with(&format!("_{c}")))
    {
        return ("integer", None);
    }
    match FLOATS.iter().find(|(end, _)| name.ends_with(end)) {
        Some((_, unit)) => ("float", Some(unit)),
        None => ("any", None),
    }
}

/// Columns every row of their table has.
fn required(table: &str, column: &str) -> bool {
    matches!(
        (table, column),
        (_, "recording" | "run_id" | "analyzed_at")
            | ("calls", "state" | "status" | "findings")
            | ("findings", "code" | "severity" | "message")
            | ("intents", "kind" | "name" | "calls")
    )
}

/// Write `schema.json` for `tables` (name → header) into `dir`.
pub fn write(dir: &Path, tables: &BTreeMap<String, Vec<String>>) -> Result<(PathBuf, AtomicFile)> {
    let schema = Schema {
        format: "callscope-schema/1",
        tables: tables
            .iter()
            .map(|(table, header)| {
                let columns = header
                    .iter()
                    .map(|c| {
                        let (kind, unit) = column_type(c);
                        Column {
                            column: c,
                            kind,
                            unit,
                            nullable: !required(table, c),
                        }
                    })
                    .collect();
                (table.as_str(), columns)
            })
            .collect(),
    };
    let path = dir.join(SCHEMA);
    let mut text = serde_json::to_string_pretty(&schema).map_err(|e| Error::write(&path, e))?;
    text.push('\n');
    let mut f = AtomicFile::create(&path).map_err(|e| Error::write(&path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::write(&path, e))?;
    Ok((path, f))
}
