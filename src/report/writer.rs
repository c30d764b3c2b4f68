//! The writer that fills a report directory call by call: every table in
//! every format asked for, the partial and its index, the HTML pages, and
//! at the end the summaries, the schema and the manifest.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::csv_file::CsvFile;
use super::summary::{CallCounts, FindingCounts, RunInfo, Summary};
use super::{dir, Formats};
use super::{
    html, parquet, partial, schema, About, CallRecord, Completed, FromPart, Manifest, ReportDir,
    BASE_COLUMNS, IDENTITY_COLUMNS,
};
use crate::analyze::{Analyzer, Cell, RunSummary, Stats};
use crate::error::{Error, Result};
use crate::recording::format_utc;
use crate::safe_fs::AtomicFile;

/// The reports of one run, filled call by call.
pub struct ReportWriter {
    dir: PathBuf,
    columns: Vec<String>,
    calls_csv: Option<CsvFile>,
    calls_jsonl: Option<(PathBuf, AtomicFile)>,
    /// Per-call analyzer tables (turns.csv…), by file name.
    tables: BTreeMap<String, CsvFile>,
    /// Their JSON form (turns.jsonl…): the header and the file, by the
    /// table's CSV name.
    tables_jsonl: BTreeMap<String, (Vec<String>, PathBuf, AtomicFile)>,
    findings: Option<CsvFile>,
    /// The tables as Parquet, by name (`calls`, `turns`…).
    parquet: BTreeMap<String, parquet::ParquetTable>,
    /// Every table's columns, by name, for schema.json.
    headers: BTreeMap<String, Vec<String>>,
    /// Every call, exactly, for `merge`; and the index `run --new` reads.
    partial: (PathBuf, AtomicFile),
    seen: (PathBuf, AtomicFile),
    /// The partial's length, which the manifest records: `run --new`
    /// reads the index, and knows from this that the partial beside it is
    /// whole (an interrupted copy leaves it short).
    partial_bytes: u64,
    /// Counts kept for summary.json while rows stream out.
    calls: CallCounts,
    findings_by_code: FindingCounts,
    /// The analyzers' summary parts, merged call by call in the order the
    /// calls are written (the order decides the last bits of a float sum).
    merged: Vec<Stats>,
    html: Option<html::HtmlReport>,
    /// Whether every per-call row ends with the IDENTITY_COLUMNS.
    row_identity: bool,
}

/// The speech analyzer's long-silence threshold (the HTML timeline shows
/// those silences), 3 s when it is not run.
fn silence_min(analyzers: &[Box<dyn Analyzer>]) -> f64 {
    analyzers
        .iter()
        .filter(|a| a.name() == "speech")
        .find_map(|a| a.settings()?.strip_prefix("silence_min_s=")?.parse().ok())
        .unwrap_or(3.0)
}

/// The columns of `findings.csv`.
const FINDINGS_HEADER: [&str; 5] = ["recording", "code", "severity", "file", "message"];

/// A table's name: its file's without the extension.
fn stem(file: &str) -> &str {
    file.rsplit_once('.').map_or(file, |(s, _)| s)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(std::string::ToString::to_string).collect()
}

impl ReportWriter {
    /// Reports in `dir`; `audio` is how the HTML pages reach the
    /// recordings' stereo files.
    pub fn create(
        dir: &Path,
        analyzers: &[Box<dyn Analyzer>],
        formats: Formats,
        audio: Option<html::AudioLinks>,
    ) -> Result<ReportWriter> {
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        let columns: Vec<String> = analyzers.iter().flat_map(|a| a.columns()).collect();
        let partial_path = dir.join(partial::PARTIAL);
        let partial_file =
            AtomicFile::create(&partial_path).map_err(|e| Error::write(&partial_path, e))?;
        let seen_path = dir.join(partial::SEEN_INDEX);
        let seen_file = AtomicFile::create(&seen_path).map_err(|e| Error::write(&seen_path, e))?;
        let mut w = ReportWriter {
            dir: dir.to_path_buf(),
            columns,
            calls_csv: None,
            calls_jsonl: None,
            tables: BTreeMap::new(),
            tables_jsonl: BTreeMap::new(),
            findings: None,
            parquet: BTreeMap::new(),
            headers: BTreeMap::new(),
            partial: (partial_path, partial_file),
            seen: (seen_path, seen_file),
            partial_bytes: 0,
            calls: CallCounts::default(),
            findings_by_code: FindingCounts::default(),
            merged: vec![Stats::default(); analyzers.len()],
            html: None,
            row_identity: formats.row_identity,
        };
        if formats.html {
            w.html = Some(html::HtmlReport::create(
                dir,
                audio,
                silence_min(analyzers),
            )?);
        }
        // Every table the calls fill, by file name, with its columns: what
        // each format writes, and what schema.json declares.
        let mut tables: Vec<(String, Vec<String>)> = vec![(
            "calls.csv".into(),
            strings(&BASE_COLUMNS)
                .into_iter()
                .chain(w.columns.clone())
                .collect(),
        )];
        for (file, header) in analyzers.iter().flat_map(|a| a.tables()) {
            tables.push((
                file,
                strings(&["recording"]).into_iter().chain(header).collect(),
            ));
        }
        tables.push(("findings.csv".into(), strings(&FINDINGS_HEADER)));
        if formats.row_identity {
            for (_, header) in &mut tables {
                header.extend(strings(&IDENTITY_COLUMNS));
            }
        }
        for (file, header) in &tables {
            if formats.csv {
                let f = CsvFile::create(dir, file, header, formats.csv_raw)?;
                match file.as_str() {
                    "calls.csv" => w.calls_csv = Some(f),
                    "findings.csv" => w.findings = Some(f),
                    _ => {
                        w.tables.insert(file.clone(), f);
                    }
                }
            }
            if formats.parquet {
                let t = parquet::ParquetTable::create(dir, stem(file), header)?;
                w.parquet.insert(stem(file).to_string(), t);
            }
            // findings.csv has no JSON form: calls.jsonl carries the counts.
            if formats.json && file != "findings.csv" {
                let path = dir.join(format!("{}.jsonl", stem(file)));
                let out = AtomicFile::create(&path).map_err(|e| Error::write(&path, e))?;
                match file.as_str() {
                    "calls.csv" => w.calls_jsonl = Some((path, out)),
                    _ => {
                        w.tables_jsonl
                            .insert(file.clone(), (header.clone(), path, out));
                    }
                }
            }
        }
        w.headers = tables
            .into_iter()
            .map(|(file, header)| (stem(&file).to_string(), header))
            .collect();
        Ok(w)
    }

    /// Append calls, in this order, to every report: (the call, its
    /// recording's fingerprint as it was analyzed); `parts`, for `merge`,
    /// what can be taken of each as an earlier report wrote it (empty for
    /// a run).
    pub fn write_calls(
        &mut self,
        calls: &[(CallRecord, String)],
        parts: &[FromPart],
    ) -> Result<()> {
        let drawn = match &self.html {
            Some(h) => h.write_pages(&calls.iter().map(|c| &c.0).collect::<Vec<_>>(), parts)?,
            None => Vec::new(),
        };
        for (i, (r, fingerprint)) in calls.iter().enumerate() {
            let line = parts.get(i).and_then(|p| p.line.as_deref());
            self.write_call(r, fingerprint, line)?;
            if let (Some(h), Some(rows)) = (&mut self.html, drawn.get(i)) {
                h.add(r, rows)?;
            }
        }
        // A row group per batch.
        for t in self.parquet.values_mut() {
            t.flush()?;
        }
        Ok(())
    }

    /// `line`: the call's partial line as an earlier report of this
    /// version wrote it, which is what serializing `r` gives.
    fn write_call(&mut self, r: &CallRecord, fingerprint: &str, line: Option<&str>) -> Result<()> {
        for (m, s) in self.merged.iter_mut().zip(&r.stats) {
            m.merge(s);
        }
        let (path, file) = &mut self.partial;
        self.partial_bytes += match line {
            Some(line) => partial::write_raw(file, path, line)?,
            None => partial::write_line(
                file,
                path,
                &partial::PartialCall::of(r, fingerprint.to_string()),
            )?,
        };
        let (path, file) = &mut self.seen;
        partial::write_seen(file, path, &r.recording, fingerprint)?;
        const NULL: &Cell = &Cell::Null;
        // What every row of the call ends with: nothing, or its identity.
        let identity: Vec<Cell> = match self.row_identity {
            false => Vec::new(),
            true => {
                let text = |s: &str| match s {
                    "" => Cell::Null,
                    s => Cell::Text(s.to_string()),
                };
                let a = r.analyzed.as_ref();
                vec![
                    a.map_or(Cell::Null, |a| text(&a.run_id)),
                    a.map_or(Cell::Null, |a| text(&a.at)),
                    text(fingerprint),
                ]
            }
        };
        let names = IDENTITY_COLUMNS.iter().copied().zip(&identity);
        let cells: Vec<(&str, &Cell)> = r
            .base
            .iter()
            .map(|(k, v)| (*k, v))
            .chain(
                self.columns
                    .iter()
                    .map(|c| (c.as_str(), r.cells.get(c).unwrap_or(NULL))),
            )
            .chain(names)
            .collect();
        if let Some(f) = &mut self.calls_csv {
            f.row(cells.iter().map(|(_, c)| *c))?;
        }
        if let Some(t) = self.parquet.get_mut("calls") {
            t.push(cells.iter().map(|(_, c)| *c));
        }
        if let Some((path, f)) = &mut self.calls_jsonl {
            let obj: serde_json::Map<String, serde_json::Value> = cells
                .iter()
                .map(|(k, c)| (k.to_string(), c.to_json()))
                .collect();
            let mut line = serde_json::Value::Object(obj).to_string();
            line.push('\n');
            f.write_all(line.as_bytes())
                .map_err(|e| Error::write(path, e))?;
        }
        let recording = Cell::Text(r.recording.clone());
        for (file, rows) in &r.rows {
            // recording, the analyzer's cells, the identity.
            fn whole<'c>(
                recording: &'c Cell,
                row: &'c [Cell],
                identity: &'c [Cell],
            ) -> Vec<&'c Cell> {
                std::iter::once(recording)
                    .chain(row)
                    .chain(identity)
                    .collect()
            }
            let whole = |row| whole(&recording, row, &identity);
            if let Some(t) = self.parquet.get_mut(stem(file)) {
                for row in rows {
                    t.push(whole(row));
                }
            }
            if let Some(t) = self.tables.get_mut(file) {
                for row in rows {
                    t.row(whole(row))?;
                }
            }
            if let Some((header, path, f)) = self.tables_jsonl.get_mut(file) {
                for row in rows {
                    let obj: serde_json::Map<String, serde_json::Value> = header
                        .iter()
                        .cloned()
                        .zip(whole(row).into_iter().map(Cell::to_json))
                        .collect();
                    let mut line = serde_json::Value::Object(obj).to_string();
                    line.push('\n');
                    f.write_all(line.as_bytes())
                        .map_err(|e| Error::write(path, e))?;
                }
            }
        }
        for n in &r.findings {
            let row: Vec<Cell> = [
                recording.clone(),
                Cell::Text(n.code.to_string()),
                Cell::Text(n.severity.as_str().to_string()),
                Cell::Text(n.file.as_deref().unwrap_or_default().to_string()),
                Cell::Text(n.message.clone()),
            ]
            .into_iter()
            .chain(identity.iter().cloned())
            .collect();
            if let Some(f) = &mut self.findings {
                f.row(&row)?;
            }
            if let Some(t) = self.parquet.get_mut("findings") {
                t.push(&row);
            }
        }
        self.calls.add(r.status, r.state.as_str());
        for n in &r.findings {
            *self
                .findings_by_code
                .by_code
                .entry(n.code.to_string())
                .or_default() += 1;
        }
        Ok(())
    }

    /// Write the summary tables and summary.json, then put every file in place.
    /// Write the summaries, the manifest, and put the report directory in
    /// place.
    pub fn complete(
        self,
        dir: ReportDir,
        analyzers: &[Box<dyn Analyzer>],
        about: About,
    ) -> Result<Completed> {
        let (temp, out) = (dir.path().to_path_buf(), dir.out().to_path_buf());
        self.complete_in(dir, analyzers, about)
            .map_err(|e| e.moved(&temp, &out))
    }

    fn complete_in(
        self,
        dir: ReportDir,
        analyzers: &[Box<dyn Analyzer>],
        about: About,
    ) -> Result<Completed> {
        let calls = self.calls.total;
        let partial_bytes = self.partial_bytes;
        let summaries: Vec<(String, RunSummary)> = analyzers
            .iter()
            .zip(&self.merged)
            .map(|(a, s)| (a.name().to_string(), a.summarize(s, calls)))
            .collect();
        let finished = Utc::now();
        let run = RunInfo {
            run_id: about.run_id,
            version: env!("CARGO_PKG_VERSION"),
            started: format_utc(&about.started),
            finished: format_utc(&finished),
            root: about.root.clone(),
            args: about.args,
        };
        let (files, summary) = self.finish(&summaries, run, &about.root)?;
        crate::interrupt::check()?;
        let manifest = Manifest {
            format: dir::FORMAT.to_string(),
            run_id: summary.run.run_id.clone(),
            callscope_version: env!("CARGO_PKG_VERSION").to_string(),
            finished: format_utc(&finished),
            root: about.root,
            made_by: about.made_by.to_string(),
            analyzers: about.analyzers,
            options: about.options,
            calls,
            partial_bytes: Some(partial_bytes),
            files,
            plan: about.plan,
        };
        let out = dir.commit(&manifest)?;
        Ok(Completed {
            out,
            summary,
            finished,
        })
    }

    /// Returns the files written (by name) and the summary.
    fn finish(
        self,
        summaries: &[(String, RunSummary)],
        run: RunInfo,
        root: &str,
    ) -> Result<(Vec<String>, Summary)> {
        let mut files: Vec<(PathBuf, AtomicFile)> = Vec::new();
        let mut names = Vec::new();
        if let Some(h) = self.html {
            let (path, f, pages) =
                h.finish(&self.calls, &self.findings_by_code, summaries, root)?;
            files.push((path, f));
            names.extend(pages);
        }
        // Every table's columns: the calls' and the run's summary tables.
        let mut tables = self.headers;
        for t in summaries.iter().flat_map(|(_, s)| &s.tables) {
            tables.insert(stem(&t.file).to_string(), t.header.clone());
        }
        files.push(schema::write(&self.dir, &tables)?);
        let parquet = !self.parquet.is_empty();
        for t in self.parquet.into_values() {
            files.push(t.into_file()?);
        }
        if parquet {
            for t in summaries.iter().flat_map(|(_, s)| &s.tables) {
                let mut p = parquet::ParquetTable::create(&self.dir, stem(&t.file), &t.header)?;
                for row in &t.rows {
                    p.push(row);
                }
                files.push(p.into_file()?);
            }
        }
        let csv = self.calls_csv.as_ref().map(|f| f.raw);
        for f in self
            .calls_csv
            .into_iter()
            .chain(self.tables.into_values())
            .chain(self.findings)
        {
            files.push(f.into_file()?);
        }
        files.extend(self.calls_jsonl);
        files.extend(self.tables_jsonl.into_values().map(|(_, p, f)| (p, f)));
        files.push(self.partial);
        files.push(self.seen);
        if let Some(raw) = csv {
            for (_, s) in summaries {
                for t in &s.tables {
                    let mut f = CsvFile::create(&self.dir, &t.file, &t.header, raw)?;
                    for row in &t.rows {
                        f.row(row)?;
                    }
                    files.push(f.into_file()?);
                }
            }
        }
        let summary = Summary {
            run,
            calls: self.calls,
            analyzers: summaries
                .iter()
                .map(|(n, s)| (n.clone(), s.json.clone()))
                .collect(),
            findings: self.findings_by_code,
        };
        let path = self.dir.join("summary.json");
        let mut f = AtomicFile::create(&path).map_err(|e| Error::write(&path, e))?;
        let mut text =
            serde_json::to_string_pretty(&summary).map_err(|e| Error::write(&path, e))?;
        text.push('\n');
        f.write_all(text.as_bytes())
            .map_err(|e| Error::write(&path, e))?;
        files.push((path, f));
        // Everything is complete on disk before the first rename.
        for (path, f) in &mut files {
            f.finish().map_err(|e| Error::write(path, e))?;
        }
        for (path, f) in files {
            f.commit(None).map_err(|e| Error::write(&path, e))?;
            names.extend(path.file_name().map(|n| n.to_string_lossy().into_owned()));
        }
        names.sort();
        Ok((names, summary))
    }
}
