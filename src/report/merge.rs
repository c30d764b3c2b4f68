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
use super::{
    About, AnalyzerInfo, CallRecord, Formats, FromPart, Manifest, ReportDir, ReportWriter, Summary,
};
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

/// An input being read: its partial, the call at its head, and what
/// decides which analysis of a recording is kept (its finish time, then
/// its place on the command line).
///
/// A part is taken whole or not at all, checked as it is read: as many
/// calls as its manifest says (a short `partial.jsonl` is what an
/// interrupted copy leaves), each recording once, each named by a path
/// inside its root, in the order a run writes them (by name), which is
/// what lets the merge read its inputs side by side. A part found broken
/// stops the merge before its report directory is put in place.
struct Part {
    lines: partial::Lines,
    head: Option<(String, String)>,
    key: (String, usize),
    /// The calls its manifest counts, the calls read so far and the last.
    calls: usize,
    read: usize,
    last: Option<String>,
    /// Whether this version wrote it (its lines are what this version
    /// writes), and its pages' folder when they can be taken as they are.
    same_version: bool,
    pages: Option<PathBuf>,
}

impl Part {
    fn open(dir: &Path, m: &Manifest, place: usize) -> Result<Part> {
        let mut part = Part {
            lines: partial::Lines::open(dir)?,
            head: None,
            key: (m.finished.clone(), place),
            calls: m.calls,
            read: 0,
            last: None,
            same_version: m.callscope_version == env!("CARGO_PKG_VERSION"),
            pages: None,
        };
        part.advance()?;
        Ok(part)
    }

    fn advance(&mut self) -> Result<()> {
        self.head = self.lines.next_call()?;
        let refuse = |why: String| {
            Err(Error::Usage(format!(
                "{}: {why}; the report is not whole, nothing was merged",
                self.lines.path().display()
            )))
        };
        let Some((recording, _)) = &self.head else {
            return match self.read == self.calls {
                true => Ok(()),
                false => refuse(format!(
                    "{} call(s), its manifest says {}",
                    self.read, self.calls
                )),
            };
        };
        if !crate::recording::is_inside_name(recording) {
            return refuse(format!("{recording} is not a path inside the root"));
        }
        match self.last.as_deref() {
            Some(l) if l == recording => return refuse(format!("{recording} is there twice")),
            Some(l) if l > recording.as_str() => {
                return refuse(format!("{recording} comes after {l}, out of order"))
            }
            _ => {}
        }
        self.read += 1;
        self.last = Some(recording.clone());
        Ok(())
    }
}

/// Calls written together (their HTML pages in parallel).
const BATCH: usize = 256;

pub fn merge(opts: &MergeOptions, manifests: &[Manifest]) -> Result<MergeOutcome> {
    let first = manifests
        .first()
        .ok_or_else(|| Error::Usage("merge: name at least one report directory".into()))?;
    // Every part read side by side, a line at a time: each is in
    // recording order, so the next call of the merge is the least head,
    // and of the heads naming it the latest analysis is kept. Memory holds
    // a line per input and a batch, however many calls.
    let mut parts = opts
        .inputs
        .iter()
        .zip(manifests)
        .enumerate()
        .map(|(i, (dir, m))| Part::open(dir, m, i))
        .collect::<Result<Vec<Part>>>()?;
    let roots: Vec<PathBuf> = manifests.iter().map(|m| PathBuf::from(&m.root)).collect();
    let existing: Vec<&Path> = roots
        .iter()
        .filter(|r| r.exists())
        .map(PathBuf::as_path)
        .collect();
    let dir = ReportDir::prepare(&opts.out, &existing, &|_| opts.replace, "merge", opts.wait)?;
    let formats = Formats::from_names(&first.options.formats);
    let audio = super::html::AudioLinks::new(
        &dir.out().join(super::html::CALLS_DIR),
        Path::new(&first.root),
    );
    // A part's pages are the merge's when this version drew them at the
    // same depth below the same root (nights beside the month they merge
    // into), so that their audio links read the same.
    if formats.html {
        for (part, (input, m)) in parts.iter_mut().zip(opts.inputs.iter().zip(manifests)) {
            let pages = input.join(super::html::CALLS_DIR);
            let links = super::html::AudioLinks::new(&pages, Path::new(&m.root));
            if part.same_version && links == audio {
                part.pages = Some(pages);
            }
        }
    }
    let mut writer = ReportWriter::create(dir.path(), &opts.analyzers, formats, audio)
        .map_err(|e| dir.shown(e))?;
    let started = Utc::now();
    let (mut calls, mut superseded) = (0, 0);
    loop {
        crate::interrupt::check()?;
        let mut batch: Vec<(CallRecord, String)> = Vec::with_capacity(BATCH);
        let mut from: Vec<FromPart> = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            let Some((call, part)) = next_call(&mut parts, opts.analyzers.len(), &mut superseded)?
            else {
                break;
            };
            let fingerprint = call.fingerprint.clone();
            batch.push((call.into_record(), fingerprint));
            from.push(part);
        }
        if batch.is_empty() {
            break;
        }
        calls += batch.len();
        writer
            .write_calls(&batch, &from)
            .map_err(|e| dir.shown(e))?;
    }
    let about = About {
        run_id: super::run_id(&started),
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

/// The merge's next call: the least recording at the parts' heads, as the
/// latest of them analyzed it, with what can be taken of it as that part
/// wrote it; every part naming it moves on.
fn next_call(
    parts: &mut [Part],
    analyzers: usize,
    superseded: &mut usize,
) -> Result<Option<(PartialCall, FromPart)>> {
    let Some(least) = parts
        .iter()
        .filter_map(|p| p.head.as_ref().map(|(r, _)| r))
        .min()
        .cloned()
    else {
        return Ok(None);
    };
    // (the part's place, its line) of the latest analysis so far.
    let mut winner: Option<(usize, String)> = None;
    for i in 0..parts.len() {
        let part = &mut parts[i];
        if part.head.as_ref().is_none_or(|(r, _)| *r != least) {
            continue;
        }
        let (_, line) = part.head.take().unwrap_or_default();
        part.advance()?;
        match &winner {
            Some((w, _)) if parts[*w].key > parts[i].key => *superseded += 1,
            Some(_) => {
                *superseded += 1;
                winner = Some((i, line));
            }
            None => winner = Some((i, line)),
        }
    }
    let Some((i, line)) = winner else {
        return Ok(None);
    };
    let call = parts[i].lines.parse(&line)?;
    if call.stats.len() != analyzers {
        return Err(Error::Usage(format!(
            "{}: {} has {} summary parts, the analyzers are {analyzers}",
            parts[i].lines.path().display(),
            call.recording,
            call.stats.len()
        )));
    }
    let part = &parts[i];
    let from = FromPart {
        page: part
            .pages
            .as_ref()
            .map(|d| d.join(super::html::page_name(&call.recording))),
        line: part.same_version.then_some(line),
    };
    Ok(Some((call, from)))
}
