//! `partial.jsonl`: everything a run knows about each call, in a form that
//! reads back exactly — the report rows, the findings, and the call's
//! summary parts — with the recording's fingerprint. `merge` rebuilds
//! every report from these lines; `run --new` reads the fingerprints to
//! know what an earlier night saw.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Analyzed, CallRecord, BASE_COLUMNS};
use crate::analyze::{Cell, Stats};
use crate::check::{Finding, Status};
use crate::error::{Error, Result};
use crate::recording::State;

/// The partial's file name.
pub const PARTIAL: &str = "partial.jsonl";

/// The report's index for `run --new`: a line per call, `{"recording":…,
/// "fingerprint":…}`, in the partial's order. A night's `--new` reads
/// these small files instead of every earlier night's whole partial.
pub const SEEN_INDEX: &str = "fingerprints.jsonl";

/// One line of `partial.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PartialCall {
    pub recording: String,
    /// The recording's files as they were analyzed: see `fingerprint`.
    pub fingerprint: String,
    /// The base columns' values, in `BASE_COLUMNS` order.
    pub base: Vec<Cell>,
    pub cells: BTreeMap<String, Cell>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rows: BTreeMap<String, Vec<Vec<Cell>>>,
    pub findings: Vec<Finding>,
    /// One summary part per analyzer, in the manifest's analyzer order.
    pub stats: Vec<Stats>,
    pub status: Status,
    pub state: State,
    /// Which run analyzed it and when: only in reports whose rows say so
    /// (`--row-identity`), so that other partials stay the same bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyzed: Option<Analyzed>,
}

impl PartialCall {
    pub fn of(r: &CallRecord, fingerprint: String) -> PartialCall {
        PartialCall {
            recording: r.recording.clone(),
            fingerprint,
            base: r.base.iter().map(|(_, c)| c.clone()).collect(),
            cells: r.cells.clone(),
            rows: r.rows.clone(),
            findings: r.findings.clone(),
            stats: r.stats.clone(),
            status: r.status,
            state: r.state,
            analyzed: r.analyzed.clone(),
        }
    }

    pub fn into_record(self) -> CallRecord {
        CallRecord {
            recording: self.recording,
            base: BASE_COLUMNS.iter().copied().zip(self.base).collect(),
            cells: self.cells,
            rows: self.rows,
            findings: self.findings,
            stats: self.stats,
            status: self.status,
            state: self.state,
            analyzed: self.analyzed,
        }
    }
}

/// Append one call to an open partial; the bytes written.
pub fn write_line(out: &mut impl Write, path: &Path, call: &PartialCall) -> Result<u64> {
    let mut line = serde_json::to_string(call).map_err(|e| Error::write(path, e))?;
    line.push('\n');
    out.write_all(line.as_bytes())
        .map_err(|e| Error::write(path, e))?;
    Ok(line.len() as u64)
}

/// Append a partial line as an earlier report of this version wrote it;
/// the bytes written.
pub fn write_raw(out: &mut impl Write, path: &Path, line: &str) -> Result<u64> {
    out.write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .map_err(|e| Error::write(path, e))?;
    Ok(line.len() as u64 + 1)
}

/// Append one call to an open index (see [`SEEN_INDEX`]).
pub fn write_seen(
    out: &mut impl Write,
    path: &Path,
    recording: &str,
    fingerprint: &str,
) -> Result<()> {
    let mut line = serde_json::to_string(&SeenRef {
        recording,
        fingerprint,
    })
    .map_err(|e| Error::write(path, e))?;
    line.push('\n');
    out.write_all(line.as_bytes())
        .map_err(|e| Error::write(path, e))
}

/// Every line of `file` in report directory `dir`, in order, as `T` (a
/// whole call, or only what `--new` needs of it).
fn read_lines<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Result<Vec<T>> {
    let path = dir.join(file);
    // A report directory is a place others may write into: a FIFO or a
    // link named partial.jsonl is refused, never opened and waited on.
    let file = crate::safe_fs::open_regular(&path).map_err(|e| Error::io(&path, e))?;
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io(&path, e))?;
        out.push(serde_json::from_str(&line).map_err(|e| Error::json(&path, &e))?);
    }
    Ok(out)
}

/// The partial of report directory `dir`, a line at a time: what `merge`
/// streams, holding a line per input instead of every call.
pub struct Lines {
    path: std::path::PathBuf,
    lines: std::io::Lines<BufReader<std::fs::File>>,
}

impl Lines {
    pub fn open(dir: &Path) -> Result<Lines> {
        let path = dir.join(PARTIAL);
        // As in `read_lines`: a FIFO or a link is refused, never waited on.
        let file = crate::safe_fs::open_regular(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Lines {
            lines: BufReader::new(file).lines(),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next line, with the recording it is about.
    pub fn next_call(&mut self) -> Result<Option<(String, String)>> {
        let Some(line) = self.lines.next() else {
            return Ok(None);
        };
        let line = line.map_err(|e| Error::io(&self.path, e))?;
        let seen: Seen = serde_json::from_str(&line).map_err(|e| Error::json(&self.path, &e))?;
        Ok(Some((seen.recording, line)))
    }

    /// A line `next_call` gave, read whole.
    pub fn parse(&self, line: &str) -> Result<PartialCall> {
        serde_json::from_str(line).map_err(|e| Error::json(&self.path, &e))
    }
}

/// Every call of the partial in report directory `dir`, in order.
pub fn read(dir: &Path) -> Result<Vec<PartialCall>> {
    read_lines(dir, PARTIAL)
}

/// What `run --new` needs of an earlier report: each recording it
/// analyzed, with the fingerprint it had then.
#[derive(Deserialize)]
pub struct Seen {
    pub recording: String,
    pub fingerprint: String,
}

#[derive(Serialize)]
struct SeenRef<'a> {
    recording: &'a str,
    fingerprint: &'a str,
}

/// What report directory `dir` analyzed: from its index, or from its
/// partial where it has none (a report written before the index was).
pub fn read_seen(dir: &Path) -> Result<Vec<Seen>> {
    match std::fs::symlink_metadata(dir.join(SEEN_INDEX)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => read_lines(dir, PARTIAL),
        _ => read_lines(dir, SEEN_INDEX),
    }
}
