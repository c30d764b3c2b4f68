//! The run's reports, written as the calls come in (in discovery order), so
//! memory does not grow with the number of calls. Every file is written
//! under a temporary name and renamed into place only when the run is
//! complete; a run that fails or is interrupted leaves the previous reports
//! as they were. Identical input gives identical bytes: only
//! `summary.json`'s `run` object holds the time and version.

mod csv_file;
pub mod dir;
mod formats;
pub mod html;
pub mod merge;
pub mod metrics;
mod parquet;
pub mod partial;
mod record;
mod schema;
mod summary;
mod writer;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

pub use csv_file::spreadsheet_text;
pub use dir::{AnalyzerInfo, Manifest, PlanRef, ReportDir, ReportOptions, MANIFEST};
pub use formats::{Format, Formats};
pub use record::{Analyzed, CallRecord, BASE_COLUMNS, IDENTITY_COLUMNS};
pub use summary::{run_id, CallCounts, FindingCounts, RunInfo, Summary};
pub use writer::ReportWriter;

/// What `merge` can take of a call as an earlier report wrote it, instead
/// of writing it again.
#[derive(Debug, Default, Clone)]
pub struct FromPart {
    /// The report's page of the call, when it lies at the depth of the
    /// merge's and was drawn by this version (taken when it is still the
    /// page the merge would draw: see `HtmlReport::write_pages`).
    pub page: Option<PathBuf>,
    /// Its partial line, when this version wrote it.
    pub line: Option<String>,
}

/// What a finished report directory says about how it was made.
pub struct About {
    /// The run's id (see [`run_id`]) and when it started.
    pub run_id: String,
    pub started: DateTime<Utc>,
    pub root: String,
    pub args: Vec<String>,
    /// `run`, `run --new`, `run --plan`, `merge`.
    pub made_by: &'static str,
    pub analyzers: Vec<AnalyzerInfo>,
    pub options: ReportOptions,
    pub plan: Option<PlanRef>,
}

/// A report directory in place.
pub struct Completed {
    pub out: PathBuf,
    pub summary: Summary,
    pub finished: DateTime<Utc>,
}
