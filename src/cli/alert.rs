//! What a night that writes reports (`run`, `merge`) tells the people who
//! watch it: the exit policy (`--fail-on`, `--max-error-ratio`) and the
//! metrics file (`--metrics`, `--metrics-label`). One set of options for
//! both commands, so a merged night alerts as a single run would.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use super::output;
use crate::error::{Error, Result};
use crate::exit;
use crate::report::{metrics, Summary};

#[derive(Debug, Args)]
pub struct AlertArgs {
    /// Exit 1 when a call has a status at or above this (never: only on
    /// --max-error-ratio).
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Exit 1 only when the share of calls with status error is above this
    /// (0.05: more than 5 %), whatever --fail-on says about errors.
    #[arg(long, value_name = "RATIO", value_parser = parse_ratio)]
    pub max_error_ratio: Option<f64>,
    /// Also write the night's figures here, in the Prometheus text format
    /// (atomically: for node_exporter's textfile collector). A failed night
    /// writes it too, with its exit code.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// A label on every sample of --metrics (repeatable): root=/srv/a,
    /// tenant=acme. Two callscope files on one node must differ in one.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_label, requires = "metrics")]
    pub metrics_label: Vec<(String, String)>,
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// A call with status error.
    Error,
    /// A call with status warning or error.
    Warning,
    /// Never (but see --max-error-ratio).
    Never,
}

fn parse_ratio(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("give a share from 0 to 1 (0.05 is 5 %)".into()),
    }
}

/// Labels the samples carry already, and the names the format reserves.
const TAKEN: &[&str] = &["status", "state", "code", "source", "quantile", "le"];

fn parse_label(s: &str) -> std::result::Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| "give KEY=VALUE (root=/srv/a)".to_string())?;
    let name_ok = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !k.starts_with("__");
    if !name_ok {
        return Err(format!(
            "{k:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
        ));
    }
    if TAKEN.contains(&k) {
        return Err(format!("{k} is a label callscope's samples have already"));
    }
    Ok((k.to_string(), v.to_string()))
}

/// Calls of a night by status, as the exit policy weighs them.
pub struct Tally {
    pub calls: usize,
    pub errors: usize,
    pub warnings: usize,
}

impl AlertArgs {
    /// Checked before any work: the metrics file is not in the store.
    pub fn check(&self, roots: &[&Path]) -> Result<()> {
        if let Some(path) = &self.metrics {
            crate::recording::check_output_path(path, "--metrics", roots)?;
            // Made now, as --out's parent is: found missing only after
            // the night's work, it would cost the night.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
            }
        }
        if self.metrics_label.len()
            != self
                .metrics_label
                .iter()
                .map(|(k, _)| k)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        {
            return Err(Error::Usage("--metrics-label: a key given twice".into()));
        }
        Ok(())
    }

    /// Why the night exits 1, if it does.
    pub fn verdict(&self, t: &Tally) -> Option<String> {
        let (calls, errors, warnings) = (t.calls, t.errors, t.warnings);
        let share = errors as f64 / calls.max(1) as f64;
        match (self.max_error_ratio, self.fail_on) {
            (Some(r), _) if share > r => Some(format!(
                "{errors} of {calls} call(s) have errors ({:.1} %, over --max-error-ratio {r})",
                share * 100.0
            )),
            (_, FailOn::Warning) if errors + warnings > 0 => Some(format!(
                "{errors} call(s) with errors and {warnings} with warnings (--fail-on warning)"
            )),
            (None, FailOn::Error) if errors > 0 => Some(format!(
                "{errors} of {calls} call(s) have errors (see findings.csv)"
            )),
            _ => None,
        }
    }

    /// Run a night (`work` gives its exit code and summary) and write its
    /// metrics whatever it ended with: an error (exit 2, 74, 75, a stop)
    /// writes a file with its exit code and no calls, and is returned as
    /// it was.
    pub fn night(&self, work: impl FnOnce() -> Result<(i32, Summary)>) -> Result<i32> {
        let started = Instant::now();
        let done = work();
        let Some(path) = &self.metrics else {
            return done.map(|(code, _)| code);
        };
        let exit_code = match &done {
            Ok((code, _)) => *code,
            Err(e) => exit::for_error(e),
        };
        let night = metrics::Night {
            summary: done.as_ref().ok().map(|(_, s)| s),
            duration_s: started.elapsed().as_secs_f64(),
            finished_unix_s: chrono::Utc::now().timestamp() as f64,
            exit_code,
            last_success_unix_s: metrics::last_success(path),
            labels: &self.metrics_label,
        };
        let written = metrics::write(path, &metrics::render(&night));
        match (done, written) {
            (Ok((code, _)), Ok(())) => Ok(code),
            (Ok(_), Err(e)) => Err(e),
            (Err(e), Ok(())) => Err(e),
            // The night's own error is the one to report.
            (Err(e), Err(w)) => {
                output::warn(format_args!("{w}"));
                Err(e)
            }
        }
    }
}
