//! The CSV reports: a header, then rows of typed cells, text made safe
//! for a spreadsheet unless `--csv-raw`.

use std::path::{Path, PathBuf};

use crate::analyze::Cell;
use crate::error::{Error, Result};
use crate::safe_fs::AtomicFile;

/// A text cell as a spreadsheet will show it, not run it. Text that begins
/// with `=`, `+`, `-`, `@`, a tab or a carriage return opens as a live
/// formula in Excel, LibreOffice and Google Sheets (`=HYPERLINK(…)` in a
/// function name a caller steered the bot into): such a cell gets a leading
/// `'`, as OWASP recommends. Numbers are typed cells and never come here.
pub fn spreadsheet_text(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

type Csv = csv::Writer<AtomicFile>;

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| Error::write(path, e)
}

/// A CSV report being written.
pub(super) struct CsvFile {
    path: PathBuf,
    writer: Csv,
    /// Text cells as they are (`--csv-raw`), not [`spreadsheet_text`].
    pub(super) raw: bool,
}

impl CsvFile {
    pub(super) fn create(dir: &Path, name: &str, header: &[String], raw: bool) -> Result<CsvFile> {
        let path = dir.join(name);
        let file = AtomicFile::create(&path).map_err(|e| Error::write(&path, e))?;
        let mut writer = csv::Writer::from_writer(file);
        writer.write_record(header).map_err(csv_err(&path))?;
        Ok(CsvFile { path, writer, raw })
    }

    /// One row; every text cell (a name, a transcript, a message) made
    /// [`spreadsheet_text`] unless raw.
    pub(super) fn row<'c>(&mut self, cells: impl IntoIterator<Item = &'c Cell>) -> Result<()> {
        let texts: Vec<String> = cells
            .into_iter()
            .map(|c| match c {
                Cell::Text(t) if !self.raw => spreadsheet_text(t).into_owned(),
                other => other.to_csv(),
            })
            .collect();
        self.writer
            .write_record(&texts)
            .map_err(csv_err(&self.path))
    }

    pub(super) fn into_file(self) -> Result<(PathBuf, AtomicFile)> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| Error::write(&self.path, e.error().to_string()))?;
        Ok((self.path, file))
    }
}
