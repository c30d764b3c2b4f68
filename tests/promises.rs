//! README promises that no other test checked: the column contract, output
//! that does not depend on batches or threads, and the options a user
//! reaches for (`--format csv`, `--audit`, `show --functions`,
//! `list --sort turns`).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

fn readme() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The names the README's calls.csv table gives, expanded
/// (`quality_{caller,bot}_rms_dbfs`, `_peak_dbfs` …).
fn documented_columns() -> BTreeSet<String> {
    let text = readme();
    let section = &text[text.find("### Reports and their columns").unwrap()..];
    let table = &section[..section.find("**Percentiles**").unwrap()];
    let mut out = BTreeSet::new();
    for row in table.lines().filter(|l| l.starts_with("| `")) {
        let first = row.split(" | ").next().unwrap();
        let names: Vec<&str> = first
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, n)| n)
            .collect();
        let mut stem = String::new();
        for n in names {
            if let Some(rest) = n.strip_prefix("quality_{caller,bot}") {
                stem = "quality_{p}".into();
                for p in ["caller", "bot"] {
                    out.insert(format!("quality_{p}{rest}"));
                }
            } else if n.starts_with('_') && !stem.is_empty() {
                for p in ["caller", "bot"] {
                    out.insert(format!("quality_{p}{n}"));
                }
            } else {
                out.insert(n.to_string());
            }
        }
    }
    out
}

#[test]
fn calls_csv_has_exactly_the_documented_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 1, 10, &[]);
    let out = tmp.path().join("out");
    ok(&["run", path_str(&rec), "--out", path_str(&out), "--quiet"]);
    let csv = fs::read_to_string(out.join("calls.csv")).unwrap();
    let header: BTreeSet<String> = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let documented = documented_columns();
    let undocumented: Vec<_> = header.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&header).collect();
    assert!(
        undocumented.is_empty(),
        "columns the README does not name: {undocumented:?}"
    );
    assert!(
        missing.is_empty(),
        "columns the README names that the run lacks: {missing:?}"
    );
    assert!(header.len() > 40, "{header:?}");
}

/// More calls than one report batch (256), in parallel and not: the same
/// bytes in every report, and summary.json the same but for its `run`.
#[test]
fn output_does_not_depend_on_batches_or_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 300, 5, &["--seed", "21"]);
    let run_with = |jobs: &str| {
        let out = tmp.path().join(format!("out{jobs}"));
        ok(&[
            "run",
            path_str(&rec),
            "--out",
            path_str(&out),
            "--jobs",
            jobs,
            "--vad",
            "energy",
            "--quiet",
        ]);
        out
    };
    let (one, two) = (run_with("1"), run_with("2"));
    assert_eq!(calls(&one).len(), 300);
    assert_same_reports(&one, &two);
    // The rows are in the recordings' order across the batch boundary.
    let names: Vec<String> = calls(&one)
        .iter()
        .map(|r| r["recording"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn format_csv_writes_no_json_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, _, err) = run(&[
        "run",
        path_str(&sample_recordings()),
        "--out",
        path_str(&out),
        "--format",
        "csv",
        "--settle",
        "0",
        "--quiet",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.join("calls.csv").is_file());
    assert!(!out.join("calls.jsonl").exists());
}

#[test]
fn prune_audit_goes_where_audit_says() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 2, 6, &[]);
    let policy = tmp.path().join("p.toml");
    fs::write(
        &policy,
        "[[rule]]\nname = \"audio\"\nolder_than = \"30d\"\naction = \"delete-audio\"\n\
         [[rule]]\nname = \"d\"\ndefault = true\naction = \"keep\"\n",
    )
    .unwrap();
    let audit = tmp.path().join("logs/retention-audit.jsonl");
    ok(&[
        "prune",
        path_str(&rec),
        "--policy",
        path_str(&policy),
        "--now",
        "2025-06-01T00:00:00Z",
        "--apply",
        "--audit",
        path_str(&audit),
    ]);
    let lines: Vec<Value> = fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["event"] == "done" && l["result"] == "ok")
            .count(),
        2
    );
    assert!(!rec.join(".callscope/audit.jsonl").exists());
}

#[test]
fn show_functions_and_list_sort_turns() {
    let root = sample_recordings();
    let out = ok(&[
        "show",
        "7c9e6679-7425-40de-944b-e07fc1f90ae7_20241201_143022",
        "--root",
        path_str(&root),
        "--functions",
    ]);
    assert!(
        out.contains("[00:04.615] call_intent {\"intent\":\"lost_card\"} {\"status\":\"success\",\"intent\":\"lost_card\"} -> call_001"),
        "{out}"
    );
    let list = ok(&[
        "list",
        path_str(&root),
        "--sort",
        "turns",
        "--json",
        "--settle",
        "0",
    ]);
    let rows: Vec<Value> = serde_json::from_str(&list).unwrap();
    let turns: Vec<Option<u64>> = rows.iter().map(|r| r["turns"].as_u64()).collect();
    // Known turns ascending, unknown last.
    assert_eq!(turns, [Some(2), Some(3), Some(3), Some(4), None, None]);
}
