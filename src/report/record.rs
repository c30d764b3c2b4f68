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
}

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
