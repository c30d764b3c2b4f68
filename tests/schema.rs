//! `schema.json` says what every report column holds, and every value of
//! every built-in column holds it: on the sample recordings and on a
//! simulated store with every fault, each JSONL value has the declared
//! type (an integer never has a fraction, a float is always written as
//! one, a time parses as RFC 3339), each CSV float has its decimal point,
//! no required column is empty, and every CSV header is the schema's.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

/// (table → [(column, type, nullable)]) from `dir/schema.json`.
fn schema(dir: &Path) -> BTreeMap<String, Vec<(String, String, bool)>> {
    let v = read_json(&dir.join("schema.json"));
    assert_eq!(v["format"], "callscope-schema/1");
    v["tables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(t, cols)| {
            let cols = cols
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["column"].as_str().unwrap().to_string(),
                        c["type"].as_str().unwrap().to_string(),
                        c["nullable"].as_bool().unwrap(),
                    )
                })
                .collect();
            (t.clone(), cols)
        })
        .collect()
}

fn holds(kind: &str, v: &Value, csv: &str) -> bool {
    match kind {
        "integer" => v.is_i64() && csv.parse::<i64>().is_ok(),
        // serde_json reads 2.0 as a float, 2 as an integer.
        "float" => v.is_f64() && csv.contains('.'),
        "string" => v.is_string(),
        "timestamp" => {
            v.as_str()
                .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
                && csv.ends_with('Z')
        }
        _ => false,
    }
}

fn check(dir: &Path) -> usize {
    let tables = schema(dir);
    let mut checked = 0;
    for (table, columns) in &tables {
        let names: Vec<&str> = columns.iter().map(|c| c.0.as_str()).collect();
        let csv_path = dir.join(format!("{table}.csv"));
        let text = fs::read_to_string(&csv_path).unwrap();
        let mut csv = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(header, names, "{table}.csv's header");
        let csv_rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
        let jsonl = dir.join(format!("{table}.jsonl"));
        let Ok(lines) = fs::read_to_string(&jsonl) else {
            // Tables of the run's summary (intents, findings) are CSV only.
            for row in &csv_rows {
                for ((col, kind, nullable), cell) in columns.iter().zip(row.iter()) {
                    assert!(
                        (*nullable && cell.is_empty())
                            || (kind == "integer" && cell.parse::<i64>().is_ok())
                            || (kind == "float" && cell.contains('.'))
                            || (kind == "string" && !cell.is_empty()),
                        "{table}.{col} ({kind}): {cell:?}"
                    );
                    checked += 1;
                }
            }
            continue;
        };
        let rows: Vec<Value> = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), csv_rows.len(), "{table}");
        for (row, csv_row) in rows.iter().zip(&csv_rows) {
            for ((col, kind, nullable), cell) in columns.iter().zip(csv_row.iter()) {
                let v = &row[col];
                assert_ne!(
                    kind, "any",
                    "{table}.{col}: a built-in column without a type"
                );
                if v.is_null() {
                    assert!(*nullable, "{table}.{col} is required: {row}");
                    assert_eq!(cell, "", "{table}.{col}");
                    continue;
                }
                assert!(
                    holds(kind, v, cell),
                    "{table}.{col} ({kind}): {v} / {cell:?}"
                );
                checked += 1;
            }
        }
    }
    checked
}

#[test]
fn every_value_has_the_type_the_schema_declares() {
    let tmp = tempfile::tempdir().unwrap();
    let (sim, _) = simulate(tmp.path(), 12, 20, &["--seed", "9", "--faults", "all"]);
    let mut checked = 0;
    for (root, name) in [(sample_recordings(), "samples"), (sim, "sim")] {
        let out = tmp.path().join(name);
        let (code, _, err) = run(&[
            "run",
            path_str(&root),
            "-o",
            path_str(&out),
            "-q",
            "--fail-on",
            "never",
        ]);
        assert_eq!(code, 0, "{err}");
        checked += check(&out);
    }
    assert!(checked > 1000, "only {checked} values checked");
}
