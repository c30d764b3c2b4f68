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

/// `--format parquet`: every table of `schema.json` as a Parquet file that
/// DuckDB reads with the declared types (BIGINT, DOUBLE, VARCHAR,
/// TIMESTAMPTZ) and whose rows are the CSV's, read with those types; the
/// merge of two halves writes the same Parquet bytes as one run.
#[test]
fn parquet_tables_are_the_csv_typed_and_merge_to_a_runs_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (sim, _) = simulate(tmp.path(), 10, 15, &["--seed", "4", "--faults", "all"]);
    let go = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            path_str(&sim),
            "-o",
            out,
            "-q",
            "--fail-on",
            "never",
            "--csv-raw",
            "--format",
            "csv,parquet",
        ];
        args.extend_from_slice(extra);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
    };
    let dir = tmp.path().join("full");
    go(path_str(&dir), &[]);
    let schema = read_json(&dir.join("schema.json"));
    let tables = schema["tables"].as_object().unwrap();
    assert!(tables.len() >= 5, "{tables:?}");
    let sql_type = |t: &str| match t {
        "integer" => "BIGINT",
        "float" => "DOUBLE",
        "timestamp" => "TIMESTAMP WITH TIME ZONE",
        _ => "VARCHAR",
    };
    for (table, columns) in tables {
        let columns = columns.as_array().unwrap();
        let Some(described) = duckdb(
            &dir,
            &format!(
                "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{table}.parquet')"
            ),
        ) else {
            eprintln!("SKIPPED: python3 with duckdb is not installed (pip install duckdb)");
            return;
        };
        let want: Vec<Vec<Value>> = columns
            .iter()
            .map(|c| {
                vec![
                    c["column"].clone(),
                    Value::from(sql_type(c["type"].as_str().unwrap())),
                ]
            })
            .collect();
        assert_eq!(described, want, "{table}.parquet's types");
        // The CSV read with the declared types holds the same rows.
        let types: Vec<String> = columns
            .iter()
            .map(|c| {
                format!(
                    "'{}': '{}'",
                    c["column"].as_str().unwrap(),
                    sql_type(c["type"].as_str().unwrap())
                )
            })
            .collect();
        let csv = format!(
            "read_csv('{table}.csv', header = true, columns = {{{}}})",
            types.join(", ")
        );
        // An empty text is empty in Parquet (as in JSON); CSV cannot tell
        // it from a missing value.
        let select: Vec<String> = columns
            .iter()
            .map(|c| {
                let name = c["column"].as_str().unwrap();
                match sql_type(c["type"].as_str().unwrap()) {
                    "VARCHAR" => format!("nullif({name}, '') AS {name}"),
                    _ => name.to_string(),
                }
            })
            .collect();
        let pq = format!("(SELECT {} FROM '{table}.parquet')", select.join(", "));
        let differ = duckdb(
            &dir,
            &format!(
                "SELECT (SELECT count(*) FROM (SELECT * FROM {pq} EXCEPT ALL SELECT * FROM {csv})), \
                        (SELECT count(*) FROM (SELECT * FROM {csv} EXCEPT ALL SELECT * FROM {pq})), \
                        (SELECT count(*) FROM {pq})"
            ),
        )
        .unwrap();
        assert_eq!(differ[0][0], 0, "{table}: rows only in the Parquet file");
        assert_eq!(differ[0][1], 0, "{table}: rows only in the CSV");
        if table == "calls" {
            assert_eq!(differ[0][2], 10);
        }
    }
    // Two halves merged: the same Parquet bytes.
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    go(path_str(&a), &["--until", "2024-12-01T08:30:00Z"]);
    go(path_str(&b), &["--since", "2024-12-01T08:30:00Z"]);
    let merged = tmp.path().join("merged");
    let (code, _, err) = run(&[
        "merge",
        path_str(&a),
        path_str(&b),
        "-o",
        path_str(&merged),
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    for table in tables.keys() {
        let f = format!("{table}.parquet");
        assert!(
            std::fs::read(dir.join(&f)).unwrap() == std::fs::read(merged.join(&f)).unwrap(),
            "{f}"
        );
    }
}

/// Every per-call table's rows of report `dir` as (header, rows), CSV.
fn csv_table(dir: &Path, file: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(dir.join(file)).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn appended_nights_tell_their_rows_apart_and_a_warehouse_keeps_the_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let nights = tmp.path().join("nights");
    let first = add_calls(&store, tmp.path(), 31, 4, "2024-12-01T09:00:00Z", "none");
    let night = |name: &str| {
        let out = nights.join(name);
        let (code, _, err) = run(&[
            "run",
            path_str(&store),
            "-o",
            path_str(&out),
            "--new",
            "--row-identity",
            "--format",
            "csv,json,parquet",
            "-q",
            "--fail-on",
            "never",
        ]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let n1 = night("n1");
    // Night two: two late calls, and one of night one's recordings
    // rewritten (as a repair does) since.
    add_calls(&store, tmp.path(), 32, 2, "2024-12-01T11:00:00Z", "none");
    let touched = store.join(&first[1]).join("caller_audio.wav");
    let f = std::fs::File::options().write(true).open(&touched).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(f);
    let n2 = night("n2");

    let run_of = |dir: &Path| read_json(&dir.join("summary.json"))["run"].clone();
    let identity = ["run_id", "analyzed_at", "fingerprint"];
    for (dir, calls) in [(&n1, 4), (&n2, 3)] {
        let run = run_of(dir);
        let fingerprints: BTreeMap<String, String> =
            std::fs::read_to_string(dir.join("partial.jsonl"))
                .unwrap()
                .lines()
                .map(|l| {
                    let v: Value = serde_json::from_str(l).unwrap();
                    (
                        v["recording"].as_str().unwrap().to_string(),
                        v["fingerprint"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
        assert_eq!(fingerprints.len(), calls);
        let schema = read_json(&dir.join("schema.json"));
        for (table, columns) in schema["tables"].as_object().unwrap() {
            let names: Vec<&str> = columns
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["column"].as_str().unwrap())
                .collect();
            if table == "intents" {
                // A run's summary table: no call, no identity.
                assert!(!names.contains(&"run_id"), "{names:?}");
                continue;
            }
            assert_eq!(names[names.len() - 3..], identity, "{table}: {names:?}");
            let (header, rows) = csv_table(dir, &format!("{table}.csv"));
            assert_eq!(header[header.len() - 3..], identity, "{table}.csv");
            if table == "calls" {
                assert_eq!(rows.len(), calls);
            }
            for row in rows {
                let n = row.len();
                assert_eq!(row[n - 3], run["run_id"].as_str().unwrap(), "{table}");
                // Analyzed within the run.
                let at = row[n - 2].as_str();
                assert!(
                    run["started"].as_str().unwrap() <= at
                        && at <= run["finished"].as_str().unwrap(),
                    "{table}: analyzed_at {at} outside {run}"
                );
                assert_eq!(row[n - 1], fingerprints[&row[0]], "{table}: {}", row[0]);
            }
        }
    }
    // The rewritten recording was analyzed again on night two, with its
    // new fingerprint; its night-one rows stay in night one.
    let (_, rows2) = csv_table(&n2, "calls.csv");
    assert!(rows2.iter().any(|r| r[0] == first[1]), "{rows2:?}");

    // The month's merge keeps each row's own identity: the night that
    // analyzed the call as it is now.
    let month = tmp.path().join("month");
    let (code, _, err) = run(&[
        "merge",
        path_str(&n1),
        path_str(&n2),
        "-o",
        path_str(&month),
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    let (id1, id2) = (run_of(&n1)["run_id"].clone(), run_of(&n2)["run_id"].clone());
    let (header, merged) = csv_table(&month, "calls.csv");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(merged.len(), 6);
    for row in &merged {
        let want = match rows2.iter().any(|r| r[0] == row[0]) {
            true => &id2,
            false => &id1,
        };
        assert_eq!(row[col("run_id")], want.as_str().unwrap(), "{}", row[0]);
    }
    // A warehouse that appends every night's rows and keeps the latest
    // analysis of each recording holds the merge's rows, typed.
    let Some(latest) = duckdb(
        tmp.path(),
        "SELECT recording, run_id, fingerprint, typeof(analyzed_at) \
         FROM read_csv('nights/*/calls.csv', union_by_name = true) \
         QUALIFY row_number() OVER (PARTITION BY recording ORDER BY analyzed_at DESC) = 1 \
         ORDER BY recording",
    ) else {
        eprintln!("SKIPPED: python3 with duckdb is not installed (pip install duckdb)");
        return;
    };
    let want: Vec<Vec<Value>> = merged
        .iter()
        .map(|r| {
            vec![
                Value::from(r[0].clone()),
                Value::from(r[col("run_id")].clone()),
                Value::from(r[col("fingerprint")].clone()),
                Value::from("TIMESTAMP WITH TIME ZONE"),
            ]
        })
        .collect();
    assert_eq!(latest, want);
    let typed = duckdb(
        tmp.path(),
        "SELECT count(*), count(DISTINCT run_id), min(typeof(analyzed_at)) \
         FROM 'nights/*/turns.parquet'",
    )
    .unwrap();
    assert_eq!(typed[0][1], 2, "{typed:?}");
    assert_eq!(typed[0][2], "TIMESTAMP WITH TIME ZONE", "{typed:?}");
}
