//! `--format parquet`: each report table as a Parquet file (`calls.parquet`,
//! `turns.parquet`…) with the types `schema.json` declares — integers as
//! INT64, floats as DOUBLE, `start_time` as a UTC TIMESTAMP(MICROS), text
//! and plugin columns as UTF-8 strings — every column optional (empty is
//! "not known", as in the CSV). A row group per batch of calls, so a run
//! holds no more than a batch of rows. A cell that does not fit its
//! column's type stops the run naming both: a typed file never holds a
//! guess.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use super::schema::column_type;
use crate::analyze::Cell;
use crate::error::{Error, Result};
use crate::safe_fs::AtomicFile;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Time,
    Text,
}

/// One table being written.
pub struct ParquetTable {
    path: PathBuf,
    header: Vec<String>,
    kinds: Vec<Kind>,
    writer: SerializedFileWriter<AtomicFile>,
    /// The batch's rows, written as a row group by `flush`.
    rows: Vec<Vec<Cell>>,
}

impl ParquetTable {
    /// `dir/TABLE.parquet` with these columns.
    pub fn create(dir: &Path, table: &str, header: &[String]) -> Result<ParquetTable> {
        let path = dir.join(format!("{table}.parquet"));
        let err = |e: parquet::errors::ParquetError| Error::write(&path, e.to_string());
        let mut fields = String::new();
        let kinds: Vec<Kind> = header
            .iter()
            .map(|c| {
                let (kind, physical, logical) = match column_type(c).0 {
                    "integer" => (Kind::Int, "INT64", ""),
                    "float" => (Kind::Float, "DOUBLE", ""),
                    "timestamp" => (Kind::Time, "INT64", " (TIMESTAMP(MICROS,true))"),
                    _ => (Kind::Text, "BINARY", " (STRING)"),
                };
                // Column names are snake_case (tests/columns.rs): no quoting.
                fields.push_str(&format!("  OPTIONAL {physical} {c}{logical};\n"));
                kind
            })
            .collect();
        let schema = parse_message_type(&format!("message {table} {{\n{fields}}}")).map_err(err)?;
        let file = AtomicFile::create(&path).map_err(|e| Error::write(&path, e))?;
        let writer =
            SerializedFileWriter::new(file, Arc::new(schema), Default::default()).map_err(err)?;
        Ok(ParquetTable {
            path,
            header: header.to_vec(),
            kinds,
            writer,
            rows: Vec::new(),
        })
    }

    pub fn push<'c>(&mut self, row: impl IntoIterator<Item = &'c Cell>) {
        self.rows.push(row.into_iter().cloned().collect());
    }

    /// The rows so far as one row group.
    pub fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let path = self.path.clone();
        let err = |e: parquet::errors::ParquetError| Error::write(&path, e.to_string());
        let mut group = self.writer.next_row_group().map_err(err)?;
        let mut i = 0;
        while let Some(mut column) = group.next_column().map_err(err)? {
            let (kind, name) = (self.kinds[i], &self.header[i]);
            let cells = rows.iter().map(|r| r.get(i).unwrap_or(&Cell::Null));
            let defs: Vec<i16> = cells.clone().map(|c| i16::from(*c != Cell::Null)).collect();
            let wrong = |c: &Cell| {
                Error::write(
                    &path,
                    format!(
                        "column {name} is {}, a cell holds {}",
                        kind_name(kind),
                        c.to_csv()
                    ),
                )
            };
            // The non-null cells, each as its column's value.
            let present = || cells.clone().filter(|c| **c != Cell::Null);
            match kind {
                Kind::Int => {
                    let v = values(present(), |c| match c {
                        Cell::Int(n) => Some(*n),
                        _ => None,
                    })
                    .map_err(wrong)?;
                    column
                        .typed::<Int64Type>()
                        .write_batch(&v, Some(&defs), None)
                }
                Kind::Float => {
                    let v = values(present(), |c| match c {
                        Cell::Num(x) => Some(*x),
                        Cell::Int(n) => Some(*n as f64),
                        _ => None,
                    })
                    .map_err(wrong)?;
                    column
                        .typed::<DoubleType>()
                        .write_batch(&v, Some(&defs), None)
                }
                Kind::Time => {
                    let v = values(present(), |c| match c {
                        Cell::Text(t) => chrono::DateTime::parse_from_rfc3339(t)
                            .ok()
                            .map(|d| d.timestamp_micros()),
                        _ => None,
                    })
                    .map_err(wrong)?;
                    column
                        .typed::<Int64Type>()
                        .write_batch(&v, Some(&defs), None)
                }
                Kind::Text => {
                    let v: Vec<ByteArray> = present()
                        .map(|c| match c {
                            Cell::Text(t) => ByteArray::from(t.as_str()),
                            other => ByteArray::from(other.to_csv().as_str()),
                        })
                        .collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&v, Some(&defs), None)
                }
            }
            .map_err(err)?;
            column.close().map_err(err)?;
            i += 1;
        }
        group.close().map_err(err)?;
        Ok(())
    }

    /// The last rows written and the footer: the file, to be put in place
    /// with the other reports.
    pub fn into_file(mut self) -> Result<(PathBuf, AtomicFile)> {
        self.flush()?;
        let path = self.path.clone();
        let file = self
            .writer
            .into_inner()
            .map_err(|e| Error::write(&path, e.to_string()))?;
        Ok((path, file))
    }
}

/// Each cell as `f` reads it; the first it cannot, as the error.
fn values<'c, T>(
    cells: impl Iterator<Item = &'c Cell>,
    f: impl Fn(&Cell) -> Option<T>,
) -> std::result::Result<Vec<T>, &'c Cell> {
    cells.map(|c| f(c).ok_or(c)).collect()
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Int => "an integer",
        Kind::Float => "a float",
        Kind::Time => "a time",
        Kind::Text => "text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_does_not_fit_its_column_stops_the_table_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let header = ["recording".to_string(), "speech_overlap_s".to_string()];
        let mut t = ParquetTable::create(dir.path(), "calls", &header).unwrap();
        t.push(&[Cell::Text("a".into()), Cell::Num(0.5)]);
        t.push(&[Cell::Text("b".into()), Cell::Null]);
        t.flush().unwrap();
        t.push(&[Cell::Text("c".into()), Cell::Text("soon".into())]);
        let e = t.flush().unwrap_err().to_string();
        assert!(
            e.contains("calls.parquet")
                && e.contains("column speech_overlap_s is a float, a cell holds soon"),
            "{e}"
        );
    }
}
