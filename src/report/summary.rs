//! `summary.json`: the one report with the run's time and version, typed so
//! that what docs/reports.md describes is what is written.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::check::Status;

/// The whole of `summary.json`.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub run: RunInfo,
    pub calls: CallCounts,
    /// Each analyzer's summary, in analyzer order, under its name.
    pub analyzers: serde_json::Map<String, serde_json::Value>,
    pub findings: FindingCounts,
}

/// What ran, when: the only part that differs between two runs over the
/// same input.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// This run's own id (see [`super::Manifest::run_id`]).
    pub run_id: String,
    pub version: &'static str,
    pub started: String,
    pub finished: String,
    pub root: String,
    pub args: Vec<String>,
}

/// Calls by status and by state.
#[derive(Debug, Default, Serialize)]
pub struct CallCounts {
    pub total: usize,
    pub ok: usize,
    pub warning: usize,
    pub error: usize,
    pub by_state: BTreeMap<String, usize>,
}

impl CallCounts {
    pub fn add(&mut self, status: Status, state: &str) {
        self.total += 1;
        *match status {
            Status::Ok => &mut self.ok,
            Status::Warning => &mut self.warning,
            Status::Error => &mut self.error,
        } += 1;
        *self.by_state.entry(state.to_string()).or_default() += 1;
    }
}

/// Findings by code, over all calls.
#[derive(Debug, Default, Serialize)]
pub struct FindingCounts {
    pub by_code: BTreeMap<String, usize>,
}

/// A run's id: when it started, and eight hex digits no other run has
/// (a digest of the process, the clock to the nanosecond and a random
/// hasher's key).
pub fn run_id(started: &DateTime<Utc>) -> String {
    use sha2::{Digest, Sha256};
    use std::hash::{BuildHasher, Hasher};
    let mut key = std::collections::hash_map::RandomState::new().build_hasher();
    key.write_u32(std::process::id());
    let mut h = Sha256::new();
    h.update(key.finish().to_le_bytes());
    h.update(Utc::now().timestamp_nanos_opt().unwrap_or(0).to_le_bytes());
    let tag: String = h.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-{tag}", started.format("%Y%m%dT%H%M%SZ"))
}
