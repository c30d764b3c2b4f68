//! `merge`: report directories made by runs with the same analyzers and
//! options combined into one, as if one run had analyzed every call they
//! hold. A recording found in several keeps its latest analysis (the
//! input that finished last; on a tie, the one named last). Calls are
//! written in the order a run takes them and their summary parts merged
//! in that order, so the merge of every nightly directory equals one run
//! over the whole store, byte for byte but for `summary.json`'s `run`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;

use super::partial::{self, PartialCall};
use super::{About, AnalyzerInfo, CallRecord, Formats, Manifest, ReportDir, ReportWriter, Summary};
use crate::analyze::Analyzer;
use crate::error::{Error, Result};

/// What to merge.
pub struct MergeOptions {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub replace: bool,
    pub wait: Option<Duration>,
    /// The analyzers the inputs were made with, in their order.
    pub analyzers: Vec<Box<dyn Analyzer>>,
    pub args: Vec<String>,
}

/// What a merge did.
pub struct MergeOutcome {
    pub calls: usize,
    /// Analyses replaced by a later one of the same recording.
    pub superseded: usize,
    pub out: PathBuf,
    pub summary: Summary,
}

/// Every input's manifest; all must agree on what decides the numbers.
pub fn manifests(inputs: &[PathBuf]) -> Result<Vec<Manifest>> {
    let mut out: Vec<Manifest> = Vec::new();
    for dir in inputs {
        let m = Manifest::read(dir)?.ok_or_else(|| {
            Error::Usage(format!(
                "{}: not a callscope report directory (no {})",
                dir.display(),
                super::MANIFEST
            ))
        })?;
        if let Some(first) = out.first() {
            if let Some(why) = difference(first, &m) {
                return Err(Error::Usage(format!(
                    "{} and {} do not merge: {why}",
                    inputs[0].display(),
                    dir.display()
                )));
            }
        }
        out.push(m);
    }
    check_shards(inputs, &out)?;
    Ok(out)
}

/// Shards of a plan merge only all together: one plan, every shard 0..N-1
/// exactly once.
fn check_shards(inputs: &[PathBuf], manifests: &[Manifest]) -> Result<()> {
    let Some(first) = manifests.iter().find_map(|m| m.plan.as_ref()) else {
        return Ok(());
    };
    let refuse = |why: String| Err(Error::Usage(format!("merge: {why}")));
    // A manifest is a file anyone may have edited: nothing is sized by its
    // shard count (2^40 shards would be an allocation that aborts).
    let mut seen: BTreeMap<usize, &PathBuf> = BTreeMap::new();
    for (dir, m) in inputs.iter().zip(manifests) {
        let Some(p) = &m.plan else {
            return refuse(format!(
                "{} is not a shard of a plan, the others are shards of plan {}",
                dir.display(),
                first.id
            ));
        };
        if p.id != first.id || p.shards != first.shards {
            return refuse(format!(
                "{} is shard {} of {} of plan {}, the others of plan {} in {} shards",
                dir.display(),
                p.shard,
                p.shards,
                p.id,
                first.id,
                first.shards
            ));
        }
        if p.shard >= p.shards {
            return refuse(format!(
                "{}: shard {} of {}?",
                dir.display(),
                p.shard,
                p.shards
            ));
        }
        if let Some(other) = seen.insert(p.shard, dir) {
            return refuse(format!(
                "shard {} of {} is given twice: {} and {}",
                p.shard,
                p.shards,
                other.display(),
                dir.display()
            ));
        }
    }
    // At most ten named: the loop ends after as many shards as were given
    // and ten more.
    let absent: Vec<String> = (0..first.shards)
        .filter(|k| !seen.contains_key(k))
        .take(10)
        .map(|k| k.to_string())
        .collect();
    if !absent.is_empty() {
        let more = if first.shards - seen.len() > absent.len() {
            ", …"
        } else {
            ""
        };
        return refuse(format!(
            "plan {} has {} shards; shard(s) {}{more} of them are missing",
            first.id,
            first.shards,
            absent.join(", ")
        ));
    }
    Ok(())
}

/// How two reports differ in what decides their numbers, if they do.
fn difference(a: &Manifest, b: &Manifest) -> Option<String> {
    if a.callscope_version != b.callscope_version {
        return Some(format!(
            "callscope {} and {}",
            a.callscope_version, b.callscope_version
        ));
    }
    if a.analyzers != b.analyzers {
        return Some(analyzers_differ(&a.analyzers, &b.analyzers));
    }
    let (x, y) = (&a.options, &b.options);
    [
        ("--vad", &x.vad, &y.vad),
        ("--name-tz", &x.name_tz, &y.name_tz),
    ]
    .into_iter()
    .find(|(_, p, q)| p != q)
    .map(|(flag, p, q)| format!("{flag} {p} and {q}"))
    .or_else(|| {
        (x.formats != y.formats).then(|| {
            format!(
                "--format {} and {}",
                x.formats.join(","),
                y.formats.join(",")
            )
        })
    })
}

/// The first analyzer that differs, named.
pub fn analyzers_differ(a: &[AnalyzerInfo], b: &[AnalyzerInfo]) -> String {
    let show = |v: &[AnalyzerInfo]| {
        v.iter()
            .map(|i| format!("{} {}", i.name, i.version))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match a.iter().zip(b).find(|(x, y)| x != y) {
        Some((x, y)) if x.name == y.name && x.version != y.version => {
            format!(
                "analyzer {} version {} and {}",
                x.name, x.version, y.version
            )
        }
        Some((x, y)) if x.name == y.name && x.columns == y.columns => format!(
            "analyzer {}: {} and {}",
            x.name,
            x.settings.as_deref().unwrap_or("-"),
            y.settings.as_deref().unwrap_or("-")
        ),
        Some((x, y)) if x.name == y.name => format!("analyzer {}'s columns differ", x.name),
        _ => format!("analyzers [{}] and [{}]", show(a), show(b)),
    }
}

/// A part is taken whole or not at all: as many calls as its manifest says
/// (a short `partial.jsonl` is what an interrupted copy leaves), each
/// recording once, each named by a path inside its root.
fn check_part(dir: &Path, m: &Manifest, calls: &[PartialCall]) -> Result<()> {
    let refuse = |why: String| {
        Err(Error::Usage(format!(
            "{}: {why}; the report is not whole, nothing was merged",
            dir.join(partial::PARTIAL).display()
        )))
    };
    if calls.len() != m.calls {
        return refuse(format!(
            "{} call(s), its manifest says {}",
            calls.len(),
            m.calls
        ));
    }
    let mut names = std::collections::BTreeSet::new();
    for c in calls {
        if !crate::recording::is_inside_name(&c.recording) {
            return refuse(format!("{} is not a path inside the root", c.recording));
        }
        if !names.insert(c.recording.as_str()) {
            return refuse(format!("{} is there twice", c.recording));
        }
    }
    Ok(())
}

/// Calls written together (their HTML pages in parallel).
const BATCH: usize = 256;

pub fn merge(opts: &MergeOptions, manifests: &[Manifest]) -> Result<MergeOutcome> {
    let first = manifests
        .first()
        .ok_or_else(|| Error::Usage("merge: name at least one report directory".into()))?;
    // Every recording's latest analysis: by the input's finish time, then
    // by its place on the command line.
    let mut latest: BTreeMap<String, ((String, usize), PartialCall)> = BTreeMap::new();
    let mut superseded = 0;
    for (i, (dir, m)) in opts.inputs.iter().zip(manifests).enumerate() {
        let key = (m.finished.clone(), i);
        let calls = partial::read(dir)?;
        check_part(dir, m, &calls)?;
        for call in calls {
            if call.stats.len() != opts.analyzers.len() {
                return Err(Error::Usage(format!(
                    "{}: {} has {} summary parts, the analyzers are {}",
                    dir.display(),
                    call.recording,
                    call.stats.len(),
                    opts.analyzers.len()
                )));
            }
            match latest.get(&call.recording) {
                Some((k, _)) if *k > key => superseded += 1,
                Some(_) => {
                    superseded += 1;
                    latest.insert(call.recording.clone(), (key.clone(), call));
                }
                None => {
                    latest.insert(call.recording.clone(), (key.clone(), call));
                }
            }
        }
    }
    let roots: Vec<PathBuf> = manifests.iter().map(|m| PathBuf::from(&m.root)).collect();
    let existing: Vec<&Path> = roots
        .iter()
        .filter(|r| r.exists())
        .map(PathBuf::as_path)
        .collect();
    let dir = ReportDir::prepare(&opts.out, &existing, opts.replace, "merge", opts.wait)?;
    let formats = Formats::from_names(&first.options.formats);
    let audio = super::html::AudioLinks::new(
        &dir.out().join(super::html::CALLS_DIR),
        Path::new(&first.root),
    );
    let mut writer = ReportWriter::create(dir.path(), &opts.analyzers, formats, audio)
        .map_err(|e| dir.shown(e))?;
    let started = Utc::now();
    let calls = latest.len();
    // A BTreeMap by relative path: the order discovery gives a run; in
    // batches, as a run writes them.
    let mut calls_left = latest.into_values().map(|(_, call)| call).peekable();
    while calls_left.peek().is_some() {
        crate::interrupt::check()?;
        let batch: Vec<(CallRecord, String)> = calls_left
            .by_ref()
            .take(BATCH)
            .map(|call| {
                let fingerprint = call.fingerprint.clone();
                (call.into_record(), fingerprint)
            })
            .collect();
        writer.write_calls(&batch).map_err(|e| dir.shown(e))?;
    }
    let about = About {
        started,
        root: first.root.clone(),
        args: opts.args.clone(),
        made_by: "merge",
        analyzers: first.analyzers.clone(),
        options: first.options.clone(),
        plan: None,
    };
    let done = writer.complete(dir, &opts.analyzers, about)?;
    Ok(MergeOutcome {
        calls,
        superseded,
        out: done.out,
        summary: done.summary,
    })
}
