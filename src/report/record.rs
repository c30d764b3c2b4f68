//! One call as the reports see it: the base columns every report starts
//! with, the analyzers' cells and tables, the findings.

use std::collections::BTreeMap;

use crate::analyze::{Cell, Stats};
use crate::check::{Finding, Status};
use crate::recording::State;

/// Everything the reports say about one call.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub recording: String,
    /// The base columns, in order.
    pub base: Vec<(&'static str, Cell)>,
    /// Analyzer columns.
    pub cells: BTreeMap<String, Cell>,
    /// Per-call table rows, by table file.
    pub rows: BTreeMap<String, Vec<Vec<Cell>>>,
    pub findings: Vec<Finding>,
    /// One summary part per analyzer, in analyzer order.
    pub stats: Vec<Stats>,
    pub status: Status,
    pub state: State,
    /// Which run analyzed the call and when, kept when the report's rows
    /// carry it (`--row-identity`).
    pub analyzed: Option<Analyzed>,
}

/// Which run analyzed a call, and when (RFC 3339, UTC).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Analyzed {
    pub run_id: String,
    pub at: String,
}

/// The columns `--row-identity` adds to the end of every per-call table.
pub const IDENTITY_COLUMNS: [&str; 3] = ["run_id", "analyzed_at", "fingerprint"];

impl CallRecord {
    /// The value of a base or analyzer column, if the call has it.
    pub fn cell(&self, column: &str) -> Option<&Cell> {
        self.base
            .iter()
            .find(|(n, _)| *n == column)
            .map(|(_, v)| v)
            .or_else(|| self.cells.get(column))
    }
}

pub const BASE_COLUMNS: [&str; 9] = [
    "recording",
    "session_id",
    "conversation_id",
    "start_time",
    "duration_s",
    "sample_rate",
    "state",
    "status",
    "findings",
];
