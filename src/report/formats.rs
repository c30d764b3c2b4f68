//! Which report families a run writes: `--format`, and the names the
//! manifest records them by.

/// A report family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// calls.csv, findings.csv and the analyzers' tables.
    Csv,
    /// calls.jsonl.
    Json,
    /// report.html and a page per call under calls/.
    Html,
    /// calls.parquet and the tables as Parquet, typed as schema.json says.
    Parquet,
}

/// Which report families to write (`summary.json` is always written).
#[derive(Debug, Clone, Copy)]
pub struct Formats {
    pub csv: bool,
    /// CSV text cells as they are, formulas and all (`--csv-raw`).
    pub csv_raw: bool,
    pub json: bool,
    pub html: bool,
    pub parquet: bool,
    /// Every row says which run analyzed its call, when, and the
    /// recording's fingerprint then (`--row-identity`).
    pub row_identity: bool,
}

impl Formats {
    pub fn of(list: &[Format]) -> Formats {
        Formats {
            csv: list.contains(&Format::Csv),
            csv_raw: false,
            json: list.contains(&Format::Json),
            html: list.contains(&Format::Html),
            parquet: list.contains(&Format::Parquet),
            row_identity: false,
        }
    }

    /// As a manifest's `formats` lists them.
    pub fn from_names(names: &[String]) -> Formats {
        let has = |n: &str| names.iter().any(|f| f == n);
        Formats {
            csv: has("csv"),
            csv_raw: has(CSV_RAW),
            json: has("json"),
            html: has("html"),
            parquet: has("parquet"),
            row_identity: has(ROW_IDENTITY),
        }
    }

    /// `csv`, `csv-raw`, `json`, `html`, `parquet`, `row-identity`: as the
    /// manifest records them (a merge writes its parts' tables the way
    /// they were written).
    pub fn names(self) -> Vec<String> {
        [
            (self.csv, "csv"),
            (self.csv && self.csv_raw, CSV_RAW),
            (self.json, "json"),
            (self.html, "html"),
            (self.parquet, "parquet"),
            (self.row_identity, ROW_IDENTITY),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n.to_string())
        .collect()
    }
}

const CSV_RAW: &str = "csv-raw";
const ROW_IDENTITY: &str = "row-identity";
