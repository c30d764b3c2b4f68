//! The reports as an analyst queries them: DuckDB (its Python package,
//! which `.ci/run` installs) over `turns.csv` and `calls.csv` with unquoted
//! column names. "p90 audio latency by intent" is one GROUP BY, and
//! summary.json's percentiles are DuckDB's `quantile_cont` over turns.csv.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// Rows of a DuckDB query as JSON values; None where DuckDB is missing.
fn duckdb(dir: &Path, sql: &str) -> Option<Vec<Vec<Value>>> {
    let probe = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "DuckDB is missing (pip install duckdb): the SQL cannot run; .ci/run installs it"
        );
        return None;
    }
    let script = "import duckdb, json, sys\nprint(json.dumps([list(r) for r in duckdb.sql(sys.argv[1]).fetchall()]))";
    let o = Command::new("python3")
        .args(["-c", script, sql])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(serde_json::from_slice(&o.stdout).unwrap())
}

/// Linear between closest ranks, as pandas and DuckDB define it.
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

#[test]
fn p90_latency_by_intent_is_one_group_by_and_the_summary_is_duckdbs() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 16, 40, &["--seed", "11"]);
    let out = tmp.path().join("reports");
    let (code, _, err) = run(&["run", path_str(&rec), "-o", path_str(&out), "-q"]);
    assert_eq!(code, 0, "{err}");
    let sql = "SELECT intent, quantile_cont(latency_s, 0.9) AS p90, count(*) AS turns \
               FROM 'turns.csv' WHERE source = 'audio' AND intent IS NOT NULL \
               GROUP BY intent ORDER BY intent";
    let Some(rows) = duckdb(&out, sql) else {
        eprintln!("SKIPPED: python3 with duckdb is not installed (pip install duckdb); the SQL is not run");
        return;
    };
    // The same from the rows themselves.
    let mut by_intent: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(out.join("turns.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (source, intent, latency) = (col("source"), col("intent"), col("latency_s"));
    for r in reader.records() {
        let r = r.unwrap();
        if &r[source] == "audio" && !r[intent].is_empty() {
            by_intent
                .entry(r[intent].to_string())
                .or_default()
                .push(r[latency].parse().unwrap());
        }
    }
    assert!(by_intent.len() >= 2, "{by_intent:?}");
    assert_eq!(rows.len(), by_intent.len());
    for (row, (name, lat)) in rows.iter().zip(&by_intent) {
        assert_eq!(row[0], name.as_str());
        assert_eq!(row[2].as_u64().unwrap() as usize, lat.len());
        let p90 = quantile(lat.clone(), 0.9);
        assert!(
            (row[1].as_f64().unwrap() - p90).abs() < 1e-9,
            "{name}: {row:?} vs {p90}"
        );
    }

    // summary.json's distributions are quantile_cont over turns.csv.
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    for source in ["transcript", "audio"] {
        let sql = format!(
            "SELECT round(quantile_cont(latency_s, 0.5), 3), round(quantile_cont(latency_s, 0.9), 3), \
             round(quantile_cont(latency_s, 0.95), 3), round(avg(latency_s), 3), count(*) \
             FROM 'turns.csv' WHERE source = '{source}'"
        );
        let r = &duckdb(&out, &sql).unwrap()[0];
        let d = &summary["analyzers"]["response_times"][source];
        for (i, key) in ["p50_s", "p90_s", "p95_s", "mean_s"].iter().enumerate() {
            assert_eq!(
                r[i].as_f64(),
                d[key].as_f64(),
                "{source} {key}: {r:?} vs {d}"
            );
        }
        assert_eq!(r[4], d["count"]);
    }

    // calls.csv's columns, unquoted.
    let r = &duckdb(
        &out,
        "SELECT round(avg(speech_overlap_s), 6), max(rt_audio_p90_s), sum(intents_function_calls) FROM 'calls.csv'",
    )
    .unwrap()[0];
    let calls = calls(&out);
    let mean = calls
        .iter()
        .map(|c| c["speech_overlap_s"].as_f64().unwrap())
        .sum::<f64>()
        / calls.len() as f64;
    assert!(
        (r[0].as_f64().unwrap() - (mean * 1e6).round() / 1e6).abs() < 1e-9,
        "{r:?} vs {mean}"
    );
    let functions: i64 = calls
        .iter()
        .map(|c| c["intents_function_calls"].as_i64().unwrap())
        .sum();
    assert_eq!(r[2].as_i64().unwrap(), functions);
}

/// A float column is a float on every night, whatever its values: a night
/// whose overlaps and interruptions are all 0 writes `0.0`, so DuckDB (like
/// any loader that infers types from a file) reads DOUBLE, as on a night
/// with fractions, and the month's files load as one table.
#[test]
fn a_float_column_is_double_on_every_night() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = sample_recordings();
    for (night, session) in [("quiet", "0b8a3d52*"), ("all", "*")] {
        let (code, _, err) = run(&[
            "run",
            path_str(&samples),
            "-o",
            path_str(&tmp.path().join(night)),
            "--session",
            session,
            "-q",
            "--fail-on",
            "never",
            "--format",
            "csv",
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let sql = "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_csv('quiet/calls.csv')) \
               WHERE column_name IN ('speech_overlap_s', 'speech_caller_interruption_s', 'speech_bot_interruption_s')";
    let Some(rows) = duckdb(tmp.path(), sql) else {
        eprintln!("SKIPPED: python3 with duckdb is not installed (pip install duckdb)");
        return;
    };
    assert_eq!(rows.len(), 3, "{rows:?}");
    for r in &rows {
        assert_eq!(r[1], "DOUBLE", "{rows:?}");
    }
    let quiet = &duckdb(
        tmp.path(),
        "SELECT speech_overlap_s FROM read_csv('quiet/calls.csv')",
    )
    .unwrap()[0];
    assert_eq!(quiet[0], 0.0, "the quiet night's overlap is 0");
    let n = &duckdb(
        tmp.path(),
        "SELECT count(*), sum(speech_overlap_s) FROM read_csv(['quiet/calls.csv', 'all/calls.csv'], union_by_name = true)",
    )
    .unwrap()[0];
    assert_eq!(n[0], 7);
}
