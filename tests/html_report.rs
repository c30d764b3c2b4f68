//! The HTML report end to end: `run` writes `report.html` and a page per
//! call; they are the same bytes run after run, well formed, link to pages
//! and audio that exist, agree with the CSV reports, and — in Debian's
//! headless Chromium — load with no console error and no network request,
//! draw one table row per call and, on a call's timeline, exactly the
//! speech segments `segments.csv` lists, and are not blank on screen.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A simulated corpus over three days: 4 one-minute calls a day, with the
/// simulator's barge-ins, backchannels and function calls.
fn corpus(dir: &Path) -> PathBuf {
    let rec = dir.join("rec");
    fs::create_dir_all(&rec).unwrap();
    for (day, seed) in [
        ("2024-12-01", "1"),
        ("2024-12-02", "2"),
        ("2024-12-03", "3"),
    ] {
        let start = format!("{day}T09:00:00Z");
        let part = dir.join(day);
        ok(&[
            "simulate",
            "-o",
            path_str(&part),
            "--calls",
            "4",
            "--seconds",
            "60",
            "--seed",
            seed,
            "--start",
            &start,
            "--quiet",
        ]);
        for e in fs::read_dir(&part).unwrap() {
            let e = e.unwrap();
            fs::rename(e.path(), rec.join(e.file_name())).unwrap();
        }
    }
    rec
}

fn run_into(root: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec!["run", path_str(root), "-o", path_str(out), "-q"];
    args.extend_from_slice(extra);
    let (code, _, err) = run(&args);
    assert!(code == 0 || code == 1, "run failed ({code}): {err}");
}

/// recording → kind → rows of segments.csv of that kind.
fn segment_counts(out: &Path) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut m: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut r = csv::Reader::from_path(out.join("segments.csv")).unwrap();
    for row in r.records() {
        let row = row.unwrap();
        *m.entry(row[0].to_string())
            .or_default()
            .entry(row[1].to_string())
            .or_default() += 1;
    }
    m
}

/// The rows of a CSV report for one recording.
fn rows_of(out: &Path, file: &str, recording: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(out.join(file))
        .unwrap()
        .records()
        .map(Result::unwrap)
        .filter(|r| &r[0] == recording)
        .collect()
}

/// Every file under `dir`, by path relative to it.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            for (k, v) in files(&p) {
                m.insert(format!("{name}/{k}"), v);
            }
        } else {
            m.insert(name, fs::read(&p).unwrap());
        }
    }
    m
}

/// Every value of attribute `attr` in `html`.
fn attrs(html: &str, attr: &str) -> Vec<String> {
    let key = format!(" {attr}=\"");
    html.match_indices(&key)
        .map(|(i, _)| {
            let rest = &html[i + key.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

fn html_check(paths: &[PathBuf]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/html_check.py");
    let out = Command::new("python3")
        .arg(script)
        .args(paths)
        .output()
        .expect("python3 runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn the_html_report_is_the_same_bytes_every_run_well_formed_and_its_links_resolve() {
    let t = tempfile::tempdir().unwrap();
    let root = corpus(t.path());
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    run_into(&root, &a, &[]);
    run_into(&root, &b, &["-j", "1"]);
    let (fa, fb) = (files(&a), files(&b));
    let html: Vec<&String> = fa.keys().filter(|k| k.ends_with(".html")).collect();
    assert_eq!(html.len(), 13, "report.html and 12 call pages: {html:?}");
    for k in &html {
        assert!(fa[*k] == fb[*k], "{k} differs between two runs");
    }
    // Well formed: Python's HTML parser finds every element closed; and
    // the checker does catch one that is not.
    let paths: Vec<PathBuf> = html.iter().map(|k| a.join(k)).collect();
    let (fine, said) = html_check(&paths);
    assert!(fine, "{said}");
    let broken = t.path().join("broken.html");
    let page = String::from_utf8(fa[html[0]].clone()).unwrap();
    fs::write(&broken, page.replacen("</table>", "", 1)).unwrap();
    assert!(
        !html_check(&[broken]).0,
        "the checker missed an unclosed table"
    );

    // The manifest lists every page; the overview links each call's page,
    // in calls.csv order; each page's audio is a file of that recording.
    let manifest: serde_json::Value = serde_json::from_slice(&fa["callscope-report.json"]).unwrap();
    let listed: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for k in &html {
        assert!(listed.contains(&k.as_str()), "{k} not in the manifest");
    }
    let overview = String::from_utf8(fa["report.html"].clone()).unwrap();
    let links: Vec<String> = attrs(&overview, "href");
    let recordings: Vec<String> = calls(&a)
        .iter()
        .map(|c| c["recording"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(links.len(), recordings.len());
    for (link, rec) in links.iter().zip(&recordings) {
        assert_eq!(link, &format!("calls/{rec}.html"));
        let page = String::from_utf8(fa[link].clone()).unwrap();
        let audio = attrs(&page, "src");
        assert_eq!(audio.len(), 1, "{link}: one audio element");
        let target = a.join("calls").join(percent_decode(&audio[0]));
        assert_eq!(
            fs::canonicalize(&target).unwrap(),
            fs::canonicalize(root.join(rec).join("final_stereo_recording.wav")).unwrap(),
            "{link}: its audio is not its recording's final stereo file"
        );
        assert!(
            page.contains("preload=\"none\""),
            "{link}: audio loads before it is played"
        );
    }

    // The latency histogram counts every audio turn of turns.csv once, and
    // its p50/p90/p95 marks are summary.json's.
    let turns = csv::Reader::from_path(a.join("turns.csv"))
        .unwrap()
        .records()
        .filter(|r| &r.as_ref().unwrap()[5] == "audio")
        .count();
    let figure = &overview[overview
        .find("<figure class=\"chart\" id=\"latency\"")
        .unwrap()..];
    let figure = &figure[..figure.find("</figure>").unwrap()];
    let body = &figure[figure.find("<tbody>").unwrap()..figure.find("</tbody>").unwrap()];
    let counted: usize = body
        .split("</tr>")
        .filter_map(|row| {
            let cells: Vec<&str> = row.split("<td>").skip(1).collect();
            cells
                .get(2)?
                .trim_end_matches("</td>")
                .parse::<usize>()
                .ok()
        })
        .sum();
    assert!(turns > 20, "a corpus with turns: {turns}");
    assert_eq!(counted, turns, "the latency histogram's counts");
    let summary: serde_json::Value = serde_json::from_slice(&fa["summary.json"]).unwrap();
    let audio = &summary["analyzers"]["response_times"]["audio"];
    for p in ["p50", "p90", "p95"] {
        let want = audio[format!("{p}_s")].as_f64().unwrap();
        let mark = format!("<tr><th>{p}</th><td colspan=\"2\">");
        let at = figure.find(&mark).unwrap_or_else(|| panic!("no {p} mark")) + mark.len();
        let got: f64 = figure[at..at + figure[at..].find('<').unwrap()]
            .parse()
            .unwrap();
        assert!(
            (got - want).abs() < 1e-9,
            "{p}: the chart says {got}, summary.json {want}"
        );
    }
    // Three days: latency per day is drawn.
    assert!(overview.contains("id=\"latency-by-day\""));
}

#[test]
fn format_leaves_the_html_out_and_show_writes_the_page_run_writes() {
    let t = tempfile::tempdir().unwrap();
    let (root, _) = simulate(t.path(), 3, 30, &[]);
    let csv_only = t.path().join("csv");
    run_into(&root, &csv_only, &["--format", "csv"]);
    assert!(!csv_only.join("report.html").exists());
    assert!(!csv_only.join("calls").exists());

    let out = t.path().join("out");
    run_into(&root, &out, &[]);
    let rec = calls(&out)[1]["recording"].as_str().unwrap().to_string();
    let mine = out.join("calls").join("shown.html");
    let (code, _, err) = run(&[
        "show",
        "-r",
        path_str(&root),
        &rec,
        "--html",
        path_str(&mine),
    ]);
    assert_eq!(code, 0, "{err}");
    let run_page = fs::read_to_string(out.join("calls").join(format!("{rec}.html"))).unwrap();
    let nav = "<nav><a href=\"../report.html\">← all calls</a></nav>";
    assert!(run_page.contains(nav));
    assert_eq!(
        fs::read_to_string(&mine).unwrap(),
        run_page.replacen(nav, "", 1)
    );
}

/// Whether a screenshot shows something: many colours, and a good share of
/// pixels that are not the background.
fn not_blank(png_path: &Path) -> (usize, f64) {
    let decoder = png::Decoder::new(std::io::BufReader::new(fs::File::open(png_path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks(step).collect();
    let colours: std::collections::BTreeSet<&[u8]> = px.iter().map(|p| &p[..3]).collect();
    let inked = px.iter().filter(|p| p[..3] != [255, 255, 255]).count();
    (colours.len(), inked as f64 / px.len() as f64)
}

#[test]
fn the_report_in_a_real_browser() {
    let Some((chromium, script)) = common::browser("the_report_in_a_real_browser") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let root = corpus(t.path());
    let out = t.path().join("out");
    run_into(&root, &out, &[]);
    // The call with the most going on: barge-ins and function calls.
    let counts = segment_counts(&out);
    let (rec, kinds) = counts
        .iter()
        .max_by_key(|(_, k)| {
            (
                k.get("barge_in").copied().unwrap_or(0),
                k.values().sum::<usize>(),
            )
        })
        .unwrap();
    let n = |k: &str| kinds.get(k).copied().unwrap_or(0);
    assert!(
        n("caller_speech") > 3 && n("bot_speech") > 3 && n("function_call") > 0,
        "{kinds:?}"
    );
    let utterances = rows_of(&out, "utterances.csv", rec).len();
    assert!(utterances > 3);
    let durations: Vec<f64> = calls(&out)
        .iter()
        .map(|c| c["duration_s"].as_f64().unwrap())
        .collect();
    let shortest = durations.iter().copied().fold(f64::INFINITY, f64::min);

    let shots = std::env::var_os("CALLSCOPE_SCREENSHOTS").map(PathBuf::from);
    let shot = |name: &str| {
        shots
            .as_ref()
            .map_or_else(|| t.path().join(name), |d| d.join(name))
    };
    let page = out.join("calls").join(format!("{rec}.html"));
    let spec = serde_json::json!({
        "chromium": chromium,
        "pages": [
            {
                "file": out.join("report.html"),
                "screenshot": shot("report-overview.png"),
                "width": 1100, "height": 1300,
                "count": ["table.calls tbody tr", "figure.chart svg"],
                "text": ["table.calls tbody tr:first-child td:nth-child(3)"],
                "click": "table.calls th:nth-child(3)"
            },
            {
                "file": page,
                "screenshot": shot("report-call.png"),
                "width": 1100, "height": 900,
                "count": [
                    "svg.timeline g.seg.caller_speech",
                    "svg.timeline g.seg.bot_speech",
                    "svg.timeline g.seg.function_call",
                    "svg.timeline g.seg.barge_in",
                    "table.transcript tbody tr",
                    "audio"
                ]
            }
        ]
    });
    let seen = common::inspect(&script, &spec, t.path());
    for p in seen["pages"].as_array().unwrap() {
        assert_eq!(p["console_errors"], serde_json::json!([]), "console errors");
        assert_eq!(
            p["page_errors"],
            serde_json::json!([]),
            "uncaught exceptions"
        );
        assert_eq!(p["requests"], serde_json::json!([]), "network requests");
    }
    let overview = &seen["pages"][0];
    assert_eq!(overview["counts"]["table.calls tbody tr"], 12);
    assert!(overview["counts"]["figure.chart svg"].as_u64().unwrap() >= 10);
    // Sorting by duration puts the shortest call first.
    let first = overview["texts_after_click"]["table.calls tbody tr:first-child td:nth-child(3)"]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .unwrap();
    assert_eq!(first, shortest, "sorted by duration");
    let call = &seen["pages"][1]["counts"];
    assert_eq!(call["svg.timeline g.seg.caller_speech"], n("caller_speech"));
    assert_eq!(call["svg.timeline g.seg.bot_speech"], n("bot_speech"));
    assert_eq!(call["svg.timeline g.seg.function_call"], n("function_call"));
    assert_eq!(call["svg.timeline g.seg.barge_in"], n("barge_in"));
    assert_eq!(call["table.transcript tbody tr"], utterances);
    assert_eq!(call["audio"], 1);
    for name in ["report-overview.png", "report-call.png"] {
        let (colours, inked) = not_blank(&shot(name));
        assert!(
            colours > 20 && inked > 0.03,
            "{name} looks blank: {colours} colours, {inked:.3} inked"
        );
    }
}
