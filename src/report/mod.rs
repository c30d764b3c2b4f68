//! The run's reports. Each exporter returns bytes; one writer puts them in
//! place (temporary name, fsync, rename). Identical input gives identical
//! bytes: only `summary.json`'s `run` object holds the time and version.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::analyze::{Analyzer, Cell, RunSummary};
use crate::error::{Error, Result};
use crate::run::{tally, CallRecord};
use crate::safe_fs::AtomicFile;

/// Which report families to write (`summary.json` is always written).
#[derive(Debug, Clone, Copy)]
pub struct Formats {
    pub csv: bool,
    pub json: bool,
}

impl Formats {
    pub fn parse(s: &str) -> std::result::Result<Formats, String> {
        let mut f = Formats {
            csv: false,
            json: false,
        };
        for part in s.split(',').map(str::trim) {
            match part {
                "csv" => f.csv = true,
                "json" => f.json = true,
                other => return Err(format!("unknown format '{other}' (csv, json)")),
            }
        }
        Ok(f)
    }
}

pub struct Report<'a> {
    pub analyzers: &'a [Box<dyn Analyzer>],
    pub records: &'a [CallRecord],
    pub summaries: &'a [(String, RunSummary)],
    pub run: serde_json::Value,
}

fn csv_bytes(header: &[String], rows: impl Iterator<Item = Vec<String>>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Usage(format!("CSV: {e}"));
    w.write_record(header).map_err(err)?;
    for r in rows {
        w.write_record(&r).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::Usage(format!("CSV: {e}")))
}

impl Report<'_> {
    /// Every analyzer column, in analyzer order.
    fn columns(&self) -> Vec<String> {
        self.analyzers.iter().flat_map(|a| a.columns()).collect()
    }

    fn call_cells<'r>(&self, r: &'r CallRecord, columns: &[String]) -> Vec<(String, &'r Cell)> {
        const NULL: &Cell = &Cell::Null;
        r.base
            .iter()
            .map(|(k, v)| (k.to_string(), v))
            .chain(
                columns
                    .iter()
                    .map(|c| (c.clone(), r.cells.get(c).unwrap_or(NULL))),
            )
            .collect()
    }

    pub fn calls_csv(&self) -> Result<Vec<u8>> {
        let columns = self.columns();
        let header: Vec<String> = crate::run::call::BASE_COLUMNS
            .iter()
            .map(|s| s.to_string())
            .chain(columns.iter().cloned())
            .collect();
        csv_bytes(
            &header,
            self.records.iter().map(|r| {
                self.call_cells(r, &columns)
                    .iter()
                    .map(|(_, c)| c.to_csv())
                    .collect()
            }),
        )
    }

    pub fn calls_jsonl(&self) -> Vec<u8> {
        let columns = self.columns();
        let mut out = Vec::new();
        for r in self.records {
            let obj: serde_json::Map<String, serde_json::Value> = self
                .call_cells(r, &columns)
                .into_iter()
                .map(|(k, c)| (k, c.to_json()))
                .collect();
            out.extend_from_slice(serde_json::Value::Object(obj).to_string().as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// The analyzers' per-call tables (e.g. turns.csv), rows in call order.
    pub fn call_tables(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        for a in self.analyzers {
            for (file, header) in a.tables() {
                let header: Vec<String> = std::iter::once("recording".to_string())
                    .chain(header)
                    .collect();
                let rows = self.records.iter().flat_map(|r| {
                    r.rows.get(&file).into_iter().flatten().map(move |row| {
                        std::iter::once(r.recording.clone())
                            .chain(row.iter().map(Cell::to_csv))
                            .collect::<Vec<_>>()
                    })
                });
                let bytes = csv_bytes(&header, rows)?;
                out.push((file, bytes));
            }
        }
        Ok(out)
    }

    /// Tables built from the merged summaries (e.g. intents.csv).
    pub fn summary_tables(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        for (_, s) in self.summaries {
            for t in &s.tables {
                let rows = t.rows.iter().map(|r| r.iter().map(Cell::to_csv).collect());
                out.push((t.file.clone(), csv_bytes(&t.header, rows)?));
            }
        }
        Ok(out)
    }

    pub fn findings_csv(&self) -> Result<Vec<u8>> {
        let header: Vec<String> = ["recording", "code", "severity", "file", "message"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let rows = self.records.iter().flat_map(|r| {
            r.findings.iter().map(move |f| {
                vec![
                    r.recording.clone(),
                    f.code.clone(),
                    f.severity.as_str().to_string(),
                    f.file.clone().unwrap_or_default(),
                    f.message.clone(),
                ]
            })
        });
        csv_bytes(&header, rows)
    }

    pub fn summary_json(&self) -> Vec<u8> {
        let count = |s: &str| self.records.iter().filter(|r| r.status == s).count();
        let analyzers: serde_json::Map<String, serde_json::Value> = self
            .summaries
            .iter()
            .map(|(n, s)| (n.clone(), s.json.clone()))
            .collect();
        let v = serde_json::json!({
            "run": self.run,
            "calls": {
                "total": self.records.len(),
                "ok": count("ok"),
                "warning": count("warning"),
                "error": count("error"),
                "by_state": tally(self.records.iter().map(|r| r.state.as_str())),
            },
            "analyzers": analyzers,
            "findings": {
                "by_code": tally(self.records.iter().flat_map(|r| &r.findings).map(|f| f.code.as_str())),
            },
        });
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s.into_bytes()
    }
}

fn put(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = dir.join(name);
    let mut f = AtomicFile::create(&path).map_err(|e| Error::io(&path, e))?;
    f.writer()
        .write_all(bytes)
        .map_err(|e| Error::io(&path, e))?;
    f.commit(None).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

/// Write every report into `dir` (created if needed); returns the files.
pub fn write_all(report: &Report, dir: &Path, formats: Formats) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    if formats.csv {
        files.push(("calls.csv".into(), report.calls_csv()?));
        files.extend(report.call_tables()?);
        files.extend(report.summary_tables()?);
        files.push(("findings.csv".into(), report.findings_csv()?));
    }
    if formats.json {
        files.push(("calls.jsonl".into(), report.calls_jsonl()));
    }
    files.push(("summary.json".into(), report.summary_json()));
    files
        .iter()
        .map(|(name, bytes)| put(dir, name, bytes))
        .collect()
}
