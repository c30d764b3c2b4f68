//! Promises of the README and docs/ that no other test checked: the column
//! contract, output that does not depend on batches or threads, the options
//! a user reaches for (`--format csv`, `--audit`, `show --functions`,
//! `list --sort turns`), and a manual whose every page is reachable from the
//! README and whose every link and anchor leads somewhere.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

/// The reports' reference page, where the columns are listed.
fn reports_doc() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reports.md")).unwrap()
}

/// The names docs/reports.md's calls.csv table gives, expanded
/// (`quality_{caller,bot}_rms_dbfs`, `_peak_dbfs` …).
fn documented_columns() -> BTreeSet<String> {
    let text = reports_doc();
    let section = &text[text.find("## Reports and their columns").unwrap()..];
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
        "columns docs/reports.md does not name: {undocumented:?}"
    );
    assert!(
        missing.is_empty(),
        "columns docs/reports.md names that the run lacks: {missing:?}"
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

/// GitHub's anchor for a heading: lowercase, punctuation but `-` and `_`
/// dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines of a Markdown file outside its code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fence = false;
    text.lines()
        .filter(|line| {
            if line.starts_with("```") {
                fence = !fence;
                return false;
            }
            !fence
        })
        .collect()
}

/// The headings of a Markdown file, as anchors.
fn anchors(text: &str) -> BTreeSet<String> {
    prose(text)
        .into_iter()
        .filter(|l| l.starts_with('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

/// The relative link targets of a Markdown file.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(text) {
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            let target = &after[..end];
            if !target.starts_with("http") {
                out.push(target.to_string());
            }
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_page_is_linked_from_the_readme_and_every_link_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.lines().count() <= 300,
        "the README is a first screen and an index: {} lines",
        readme.lines().count()
    );
    let mut pages = vec![
        root.join("README.md"),
        root.join("CHANGELOG.md"),
        root.join("tests/README.md"),
        root.join("plugins/callscope-plugin-sdk/README.md"),
    ];
    let mut docs: Vec<_> = fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    for d in &docs {
        let name = d.file_name().unwrap().to_str().unwrap();
        assert!(
            readme.contains(&format!("](docs/{name}")),
            "docs/{name} is not linked from the README"
        );
    }
    pages.extend(docs);
    let mut checked = 0;
    for page in &pages {
        let text = fs::read_to_string(page).unwrap();
        for link in links(&text) {
            let (file, frag) = link.split_once('#').unwrap_or((&link, ""));
            let target = match file {
                "" => page.clone(),
                f => page.parent().unwrap().join(f),
            };
            assert!(
                target.exists(),
                "{}: the link {link} leads nowhere",
                page.display()
            );
            if !frag.is_empty() {
                let there = fs::read_to_string(&target).unwrap();
                assert!(
                    anchors(&there).contains(frag),
                    "{}: {link}: no such heading in {}",
                    page.display(),
                    target.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} links");
}
