//! A call's findings: the check's, then the analyzers'. One problem is one
//! finding: an analyzer that could not work because of a file the check
//! already found broken (or absent, on a crashed call) adds no finding of
//! its own; the root cause's message names the analyzers it cost. Messages
//! name files relative to the recording, as the check's do.

use std::collections::{BTreeMap, BTreeSet};

use crate::analyze::Needs;
use crate::check::Finding;
use crate::recording::{FileKind, Recording, State};

/// The files an analyzer's needs read.
fn files_needed(needs: Needs) -> Vec<FileKind> {
    let mut files = Vec::new();
    let mut add = |on: bool, kinds: &[FileKind]| {
        if on {
            files.extend_from_slice(kinds);
        }
    };
    add(needs.metadata, &[FileKind::Metadata]);
    add(needs.transcript, &[FileKind::Transcript]);
    add(needs.events, &[FileKind::Events]);
    let monos = [FileKind::CallerAudio, FileKind::BotAudio];
    add(needs.audio || needs.timeline, &monos);
    add(needs.timeline, &[FileKind::Stereo]);
    files
}

/// What the analyzers said about one call, each finding with the analyzer
/// and the files it may be an effect of.
#[derive(Default)]
pub struct AnalyzerFindings(Vec<(String, Finding, Vec<FileKind>)>);

impl AnalyzerFindings {
    /// A finding of the analyzer `name`: about its file when it names one,
    /// else about every file the analyzer reads.
    pub fn push(&mut self, name: &str, needs: Needs, finding: Finding) {
        let files = match finding.file.as_deref().map(FileKind::from_file_name) {
            Some(Some(kind)) => vec![kind],
            _ => files_needed(needs),
        };
        self.0.push((name.to_string(), finding, files));
    }

    /// A finding about the analyzer itself (a column it does not declare):
    /// never an effect of the data.
    pub fn push_own(&mut self, name: &str, finding: Finding) {
        self.0.push((name.to_string(), finding, Vec::new()));
    }
}

/// The root cause among the check's findings for an analyzer finding that
/// concerns `files`: a finding at least as severe about one of them, or
/// the crash (or the policy) that took a file away.
fn root_cause(
    check: &[Finding],
    rec: &Recording,
    state: State,
    f: &Finding,
    files: &[FileKind],
) -> Option<usize> {
    let names: Vec<&str> = files.iter().map(|k| k.file_name()).collect();
    check
        .iter()
        .position(|c| {
            c.severity >= f.severity && c.file.as_deref().is_some_and(|n| names.contains(&n))
        })
        .or_else(|| {
            let state_code = match state {
                State::Crashed => crate::check::code::STATE_CRASHED,
                State::AudioRemoved => crate::check::code::STATE_AUDIO_REMOVED,
                _ => return None,
            };
            files
                .iter()
                .any(|k| !rec.has(*k))
                .then(|| check.iter().position(|c| c.code == state_code))
                .flatten()
        })
}

/// The call's findings, in order: the check's (each naming the analyzers
/// it cost), then the analyzers' own, each said once.
pub fn combine(
    rec: &Recording,
    state: State,
    mut check: Vec<Finding>,
    analyzers: AnalyzerFindings,
) -> Vec<Finding> {
    let mut cost: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut own = Vec::new();
    for (name, mut f, files) in analyzers.0 {
        f.message = rec.relative(&f.message);
        match root_cause(&check, rec, state, &f, &files) {
            Some(i) => {
                cost.entry(i).or_default().insert(name);
            }
            None => own.push(f),
        }
    }
    for (i, names) in cost {
        let names: Vec<String> = names.into_iter().collect();
        check[i].message.push_str(&format!(
            " (not analyzed because of it: {})",
            names.join(", ")
        ));
    }
    // Analyzers that need the same thing (the timeline) report its absence
    // once.
    let mut seen = BTreeSet::new();
    own.retain(|f| seen.insert((f.code.clone(), f.file.clone(), f.message.clone())));
    check.extend(own);
    check
}
