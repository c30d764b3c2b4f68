//! The nightly job, end to end through the binary: incremental runs and
//! their merge, the report directory's rules, one writer per report
//! directory, signals, the exit policy, metrics read by a real Prometheus
//! parser.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use common::*;
use serde_json::Value;

/// `run ROOT -o OUT ARGS… -q --fail-on never`: (code, stderr).
fn night(store: &Path, out: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "run",
        path_str(store),
        "-o",
        path_str(out),
        "-q",
        "--fail-on",
        "never",
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = run(&args);
    (code, err)
}

fn set_mtime(dir: &Path, ago: Duration) {
    let t = SystemTime::now() - ago;
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
    }
}

/// Four nights: calls added each night, a late call for an earlier day, a
/// crashed call that settles, a repaired call. `run --new` each night,
/// then the merge of the four directories is one run over the final store.
#[test]
fn four_nights_of_new_runs_merge_into_one_full_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, reports) = (tmp.path().join("store"), tmp.path().join("reports"));
    fs::create_dir_all(&reports).unwrap();

    // Night 1: three calls, one with a cut-short final stereo (repaired
    // later), one still being recorded when the run starts.
    let first = add_calls(
        &store,
        tmp.path(),
        1,
        3,
        "2024-12-01T08:00:00Z",
        "none,truncated-final,none",
    );
    let live = add_calls(
        &store,
        tmp.path(),
        2,
        1,
        "2024-12-01T09:00:00Z",
        "in-progress",
    );
    let (code, err) = night(&store, &reports.join("night-1"), &["--new", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("3 call(s) new (1 in progress left for later)"),
        "{err}"
    );

    // Night 2: the live call has ended without its JSON (the recorder
    // died): its files settle. Two new calls.
    set_mtime(&store.join(&live[0]), Duration::from_secs(3600));
    add_calls(&store, tmp.path(), 3, 2, "2024-12-02T08:00:00Z", "none");
    let (code, err) = night(&store, &reports.join("night-2"), &["--new", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("3 call(s) new (0 in progress"), "{err}");

    // Night 3: the damaged call is repaired; a late call for day 1 arrives.
    let damaged = &first[1];
    let (code, _, err) = run(&["repair", path_str(&store.join(damaged)), "-q"]);
    assert_eq!(code, 0, "{err}");
    add_calls(&store, tmp.path(), 4, 1, "2024-12-01T23:30:00Z", "none");
    let (code, err) = night(&store, &reports.join("night-3"), &["--new", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("2 call(s) new"),
        "the repaired and the late call: {err}"
    );

    // Night 4: two more calls; nothing else changed.
    add_calls(&store, tmp.path(), 5, 2, "2024-12-03T08:00:00Z", "none");
    let (code, err) = night(&store, &reports.join("night-4"), &["--new", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 call(s) new"), "{err}");

    let nights: Vec<PathBuf> = (1..=4)
        .map(|n| reports.join(format!("night-{n}")))
        .collect();
    let merged = tmp.path().join("merged");
    let mut args = vec!["merge"];
    args.extend(nights.iter().map(|p| path_str(p)));
    args.extend(["-o", path_str(&merged)]);
    ok(&args);
    let full = tmp.path().join("full");
    let (code, err) = night(&store, &full, &[]);
    assert_eq!(code, 0, "{err}");

    assert_same_reports(&full, &merged);
    let rows = calls(&merged);
    assert_eq!(rows.len(), 9);
    let row = |name: &str| rows.iter().find(|r| r["recording"] == name).unwrap();
    assert_eq!(
        row(&live[0])["state"],
        "crashed",
        "the settled call, analyzed once it had"
    );
    assert_eq!(
        row(damaged)["status"],
        "ok",
        "the repaired call's later analysis: {}",
        row(damaged)
    );
    // Night 1 had seen the damage (the cut header, a warning).
    let night1 = calls(&nights[0]);
    assert_eq!(
        night1
            .iter()
            .find(|r| r["recording"] == damaged.as_str())
            .unwrap()["status"],
        "warning"
    );

    // A merge of merges is the same merge.
    let again = tmp.path().join("again");
    ok(&[
        "merge",
        path_str(&merged),
        path_str(&nights[3]),
        "-o",
        path_str(&again),
    ]);
    assert_eq!(
        fs::read(again.join("calls.csv")).unwrap(),
        fs::read(merged.join("calls.csv")).unwrap()
    );

    // A fifth night with nothing new opens no WAV and writes empty reports.
    let (code, err) = night(&store, &reports.join("night-5"), &["--new", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 call(s) new"), "{err}");
}

#[test]
fn reports_made_differently_do_not_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = sample_recordings();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    night(&samples, &a, &["-a", "response_times,intents"]);
    night(&samples, &b, &["-a", "response_times,speech"]);
    night(
        &samples,
        &c,
        &["-a", "response_times,intents", "--vad", "energy"],
    );
    let out = tmp.path().join("out");
    let (code, _, err) = run(&["merge", path_str(&a), path_str(&b), "-o", path_str(&out)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("do not merge: analyzers"), "{err}");
    let (code, _, err) = run(&["merge", path_str(&a), path_str(&c), "-o", path_str(&out)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--vad earshot and energy"), "{err}");
    // Another --silence-min counts long silences otherwise.
    let d = tmp.path().join("d");
    night(
        &samples,
        &d,
        &["-a", "response_times,intents,speech", "--silence-min", "5"],
    );
    let e = tmp.path().join("e");
    night(&samples, &e, &["-a", "response_times,intents,speech"]);
    let (code, _, err) = run(&["merge", path_str(&d), path_str(&e), "-o", path_str(&out)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("analyzer speech: silence_min_s=5 and silence_min_s=3"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "merge",
        path_str(&a),
        path_str(&samples),
        "-o",
        path_str(&out),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a callscope report directory"), "{err}");
    assert!(!out.exists());
}

#[test]
fn the_report_directory_appears_whole_and_replaces_only_a_report() {
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let out = tmp.path().join("reports");
    let foreign = tmp.path().join("home");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("thesis.tex"), "years of work").unwrap();
    let root_before = snapshot(&root);
    for (target, says) in [
        (
            foreign.clone(),
            "holds files that are not a callscope report",
        ),
        (root.clone(), "is inside the recordings root"),
        (root.join("reports"), "is inside the recordings root"),
        (tmp.path().to_path_buf(), "holds the recordings root"),
    ] {
        let (code, err) = night(&root, &target, &[]);
        assert_eq!(code, 2, "{}: {err}", target.display());
        assert!(err.contains(says), "{err}");
    }
    assert_eq!(
        fs::read_to_string(foreign.join("thesis.tex")).unwrap(),
        "years of work"
    );
    assert_eq!(snapshot(&root), root_before, "nothing under ROOT changed");

    // An empty directory is fine; then it is a report, replaced only on request.
    fs::create_dir(&out).unwrap();
    assert_eq!(night(&root, &out, &[]).0, 0);
    let first = fs::read(out.join("summary.json")).unwrap();
    let (code, err) = night(&root, &out, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("give --replace"), "{err}");
    assert_eq!(fs::read(out.join("summary.json")).unwrap(), first);
    assert_eq!(night(&root, &out, &["--replace", "--format", "csv"]).0, 0);
    assert!(
        !out.join("calls.jsonl").exists(),
        "nothing of the earlier report is left beside the new"
    );
    // strftime fields in --out: today's directory without a shell.
    let dated = tmp.path().join("night-%F");
    assert_eq!(night(&root, &dated, &[]).0, 0);
    // A field a wall-clock time cannot fill, or none at all: usage errors.
    assert_eq!(night(&root, &tmp.path().join("n-%z"), &[]).0, 2);
    assert_eq!(night(&root, &tmp.path().join("n-%Q"), &[]).0, 2);
    let today = chrono::Utc::now().format("night-%Y-%m-%d").to_string();
    assert!(
        tmp.path()
            .join(&today)
            .join("callscope-report.json")
            .exists(),
        "{today}"
    );
    let manifest: Value =
        serde_json::from_slice(&fs::read(out.join("callscope-report.json")).unwrap()).unwrap();
    assert_eq!(manifest["options"]["formats"], serde_json::json!(["csv"]));
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".callscope-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A corpus a debug build takes seconds over, one call at a time.
fn slow_corpus(dir: &Path) -> PathBuf {
    let (rec, _) = simulate(dir, 24, 40, &["--seed", "8"]);
    rec
}

fn spawn_run(root: &Path, out: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["run", path_str(root), "-o", path_str(out), "-j", "1", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn two_runs_into_one_report_directory_one_works_the_other_exits_75() {
    let tmp = tempfile::tempdir().unwrap();
    let root = slow_corpus(tmp.path());
    let out = tmp.path().join("reports");
    let first = spawn_run(&root, &out);
    // Until the first holds the lock.
    let lock = tmp.path().join(".reports.callscope-lock");
    for _ in 0..400 {
        if fs::read_to_string(&lock).is_ok_and(|s| s.contains("pid")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let (code, _, err) = run(&["run", path_str(&root), "-o", path_str(&out), "-q"]);
    let done = first.wait_with_output().unwrap();
    assert_eq!(code, 75, "{err}");
    assert!(err.contains(&format!("pid {}", done_pid(&lock))), "{err}");
    assert!(
        done.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(calls(&out).len(), 24, "the first run's reports, whole");
}

fn done_pid(lock: &Path) -> String {
    let text = fs::read_to_string(lock).unwrap();
    text.split(',')
        .next()
        .unwrap()
        .trim_start_matches("pid ")
        .to_string()
}

/// SIGTERM and SIGINT at random moments of a run: always 143 or 130, no
/// report directory, no temporary directory left.
#[test]
fn signals_at_random_moments_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let root = slow_corpus(tmp.path());
    let attempts: u64 = std::env::var("CALLSCOPE_SIGNAL_ATTEMPTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    // How long a whole run takes here (debug or release build, a busy or an
    // idle machine; the quickest of three, the first reads a cold cache):
    // the signals land within its first half, never after it.
    let whole = (0..3)
        .map(|_| {
            let started = std::time::Instant::now();
            let done = spawn_run(&root, &tmp.path().join("whole")).wait().unwrap();
            assert!(done.success());
            fs::remove_dir_all(tmp.path().join("whole")).unwrap();
            started.elapsed().as_millis() as u64
        })
        .min()
        .unwrap();
    let span = (whole / 2).max(40);
    // A fixed sequence of moments, spread over that span.
    let mut x: u64 = 0x9e37_79b9;
    for i in 0..2 * attempts {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (signal, code) = if i % 2 == 0 {
            (libc::SIGTERM, 143)
        } else {
            (libc::SIGINT, 130)
        };
        let out = tmp.path().join(format!("out-{i}"));
        let child = spawn_run(&root, &out);
        std::thread::sleep(Duration::from_millis(20 + x % (span - 20)));
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let done = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(code), "attempt {i}: {err}");
        assert!(!out.exists(), "attempt {i}: a report directory was left");
        let temps: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".callscope-tmp"))
            .collect();
        assert!(temps.is_empty(), "attempt {i}: {temps:?}");
    }
}

#[test]
fn the_exit_policy_for_alerting() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = sample_recordings();
    let s = path_str(&samples);
    let out = |n: &str| tmp.path().join(n).display().to_string();
    // One call in six has status error, two warning.
    let code = |args: &[&str]| run(args).0;
    assert_eq!(code(&["run", s, "-o", &out("a"), "-q"]), 1);
    assert_eq!(
        code(&["run", s, "-o", &out("b"), "-q", "--fail-on", "never"]),
        0
    );
    assert_eq!(
        code(&["run", s, "-o", &out("c"), "-q", "--max-error-ratio", "0.2"]),
        0
    );
    assert_eq!(
        code(&["run", s, "-o", &out("d"), "-q", "--max-error-ratio", "0.1"]),
        1
    );
    assert_eq!(
        code(&[
            "run",
            s,
            "-o",
            &out("e"),
            "-q",
            "--max-error-ratio",
            "0.2",
            "--fail-on",
            "warning"
        ]),
        1
    );
    assert_eq!(
        code(&["run", s, "-o", &out("f"), "-q", "--max-error-ratio", "1.5"]),
        2
    );
    // An empty store (an unmounted one) alerts; a filter that selects
    // nothing too; --allow-empty says it is expected.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let (c, _, err) = run(&["run", path_str(&empty), "-o", &out("g"), "-q"]);
    assert_eq!(c, 1);
    assert!(
        err.contains("no recordings under") && err.contains("--allow-empty"),
        "{err}"
    );
    assert_eq!(
        code(&[
            "run",
            path_str(&empty),
            "-o",
            &out("h"),
            "-q",
            "--allow-empty"
        ]),
        0
    );
    let (c, _, err) = run(&["run", s, "-o", &out("i"), "-q", "--since", "yesterday"]);
    assert_eq!(c, 1, "{err}");
    assert!(err.contains("match the filters"), "{err}");
    // Relative times and --day-tz: the samples ran 2024-12-01 to 12-06 (UTC).
    let picked = |args: &[&str], name: &str| {
        let mut a = vec![
            "run",
            s,
            "-o",
            name,
            "-q",
            "--fail-on",
            "never",
            "-a",
            "intents",
        ];
        a.extend_from_slice(args);
        let (c, _, err) = run(&a);
        assert_eq!(c, 0, "{args:?}: {err}");
        calls(Path::new(name)).len()
    };
    assert_eq!(picked(&["--until", "2024-12-03"], &out("j")), 3);
    // The 12-03 call started 18:12 UTC, 02:12 on 12-04 in Singapore.
    assert_eq!(
        picked(
            &["--until", "2024-12-03", "--day-tz", "Asia/Singapore"],
            &out("k")
        ),
        2
    );
    assert_eq!(
        picked(
            &["--since", "2024-12-04T11:47", "--until", "2024-12-04T11:48"],
            &out("l")
        ),
        1
    );
    assert_eq!(picked(&["--since", "100000d"], &out("m")), 6);
}

/// Whether the Prometheus project's Python client is here (under CI=true
/// it must be).
fn prometheus_parser(test: &str) -> bool {
    let probe = Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .status();
    let here = probe.is_ok_and(|s| s.success());
    if !here {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "{test}: python3 with prometheus_client is not installed; .ci/run installs it"
        );
        eprintln!("SKIPPED {test}: python3 with prometheus_client is not installed (pip install prometheus_client)");
    }
    here
}

/// Every sample of a metrics file, as the Prometheus client's parser reads
/// it: family, type, name, labels, value.
fn prom_samples(prom: &Path) -> Vec<Value> {
    let parser = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        out.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;
    let parsed = Command::new("python3")
        .args(["-c", parser])
        .arg(prom)
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    serde_json::from_slice(&parsed.stdout).unwrap()
}

/// The value of the sample `name` whose labels include `labels`.
fn sample(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .unwrap_or_else(|| panic!("{name} {labels:?} in {samples:#?}"))["value"]
        .as_f64()
        .unwrap()
}

/// The metrics file, read by the Prometheus project's own Python client's
/// parser, says what summary.json says.
#[test]
fn metrics_parse_with_a_real_prometheus_parser_and_agree_with_the_summary() {
    if !prometheus_parser("metrics_parse_with_a_real_prometheus_parser") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    let prom = tmp.path().join("callscope.prom");
    let (code, _, err) = run(&[
        "run",
        path_str(&sample_recordings()),
        "-o",
        path_str(&out),
        "-q",
        "--fail-on",
        "never",
        "--metrics",
        path_str(&prom),
    ]);
    assert_eq!(code, 0, "{err}");
    let samples = prom_samples(&prom);
    let value = |name: &str, labels: &[(&str, &str)]| sample(&samples, name, labels);
    let summary: Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    for status in ["ok", "warning", "error"] {
        assert_eq!(
            value("callscope_calls", &[("status", status)]),
            summary["calls"][status].as_f64().unwrap()
        );
    }
    assert_eq!(
        value("callscope_calls_by_state", &[("state", "crashed")]),
        1.0
    );
    assert_eq!(value("callscope_findings", &[("code", "json.parse")]), 1.0);
    let rt = &summary["analyzers"]["response_times"]["transcript"];
    assert_eq!(
        value(
            "callscope_response_time_seconds",
            &[("source", "transcript"), ("quantile", "0.9")]
        ),
        rt["p90_s"].as_f64().unwrap()
    );
    assert_eq!(
        value(
            "callscope_response_time_seconds_count",
            &[("source", "transcript")]
        ),
        rt["count"].as_f64().unwrap()
    );
    assert_eq!(
        value("callscope_caller_talk_ratio", &[]),
        summary["analyzers"]["speech"]["caller_ratio"]
            .as_f64()
            .unwrap()
    );
    let types: Vec<(&str, &str)> = samples
        .iter()
        .map(|s| (s["family"].as_str().unwrap(), s["type"].as_str().unwrap()))
        .collect();
    assert!(
        types.contains(&("callscope_response_time_seconds", "summary")),
        "{types:?}"
    );
    // `_sum` is the sum of the turns' latencies (turns.jsonl), not a mean.
    let latencies: Vec<f64> = fs::read_to_string(out.join("turns.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|t| t["source"] == "transcript")
        .map(|t| t["latency_s"].as_f64().unwrap())
        .collect();
    assert!(latencies.len() > 1, "{latencies:?}");
    let sum = value(
        "callscope_response_time_seconds_sum",
        &[("source", "transcript")],
    );
    assert!(
        (sum - latencies.iter().sum::<f64>()).abs() < 0.002,
        "{sum} vs {latencies:?}"
    );
    let last = value("callscope_last_success_timestamp_seconds", &[]);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - last).abs() < 600.0, "{last} vs {now}");
}

/// A report directory damaged after it was written (a partial cut short, a
/// manifest that does not parse) stops merge with the file named, and
/// nothing is written; `run --new` names it and passes it over.
#[test]
fn a_damaged_earlier_report_is_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = sample_recordings();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    night(&samples, &a, &["-a", "intents"]);
    night(&samples, &b, &["-a", "intents"]);
    let full = calls(&a).len();
    let partial = b.join("partial.jsonl");
    let len = fs::metadata(&partial).unwrap().len();
    fs::File::options()
        .write(true)
        .open(&partial)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let out = tmp.path().join("merged");
    let (code, _, err) = run(&["merge", path_str(&a), path_str(&b), "-o", path_str(&out)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("b/partial.jsonl: invalid JSON"), "{err}");
    assert!(!out.exists());
    // `--new` passes over what it cannot read, saying so, and counts
    // those reports' calls as new: one broken night fails no later night.
    fs::write(a.join("callscope-report.json"), "{").unwrap();
    fs::write(&partial, "").unwrap();
    let tonight = tmp.path().join("tonight");
    let (code, err) = night(&samples, &tonight, &["-a", "intents", "--new"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("a/callscope-report.json: invalid JSON")
            && err.contains("b/partial.jsonl: 0 bytes, its manifest says")
            && err.matches("that report is passed over").count() == 2,
        "{err}"
    );
    assert_eq!(calls(&tonight).len(), full, "every call, as none was seen");
    // An emptied partial is what an interrupted copy leaves: its manifest
    // still counts the calls, so it is refused, not merged as none.
    fs::remove_dir_all(&a).unwrap();
    let (code, _, err) = run(&["merge", path_str(&b), "-o", path_str(&out)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("b/partial.jsonl: 0 call(s), its manifest says"),
        "{err}"
    );
    assert!(!out.exists());
}

/// A night run again gives that night's calls again (it never replaces a
/// night by an empty report), and needs no `--replace` for its own report;
/// an ad-hoc report, a report of a staging copy of the store or one of
/// other settings beside the nights is not a night: the next `--new` run
/// analyzes what no night saw.
#[test]
fn a_rerun_night_keeps_its_calls_and_other_reports_are_not_nights() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let first = add_calls(&store, tmp.path(), 1, 5, "2024-12-01T09:00:00Z", "none");
    let reports = tmp.path().join("reports");
    let staging = tmp.path().join("staging");
    copy_tree(&store, &staging, false);
    // Beside the nights before the first: an ad-hoc report, a report of
    // the staging copy, a report with another silence threshold.
    for (root, out, extra) in [
        (&store, "adhoc", &["-a", "intents"][..]),
        (&staging, "staging", &[][..]),
        (&store, "silence", &["--silence-min", "5"][..]),
    ] {
        let (code, err) = night(root, &reports.join(out), extra);
        assert_eq!(code, 0, "{err}");
    }
    let day1 = reports.join("day1");
    let (code, err) = night(&store, &day1, &["--new", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(calls(&day1).len(), first.len(), "{err}");
    for (name, why) in [
        ("adhoc", "other analyzers"),
        ("staging", "another root"),
        ("silence", "other analyzers or settings"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!("reports/{name}: not a night")) && l.contains(why)),
            "{name}: {err}"
        );
    }
    // The same night again, with nothing new: its calls again, in place.
    let before = fs::read(day1.join("calls.csv")).unwrap();
    let (code, err) = night(&store, &day1, &["--new"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fs::read(day1.join("calls.csv")).unwrap(), before);
    // With `--replace` too; and night two takes only what came since.
    let (code, err) = night(&store, &day1, &["--new", "--replace"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(calls(&day1).len(), first.len());
    let second = add_calls(&store, tmp.path(), 2, 3, "2024-12-02T09:00:00Z", "none");
    let day2 = reports.join("day2");
    let (code, err) = night(&store, &day2, &["--new"]);
    assert_eq!(code, 0, "{err}");
    let names: Vec<String> = calls(&day2)
        .iter()
        .map(|c| c["recording"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, second);
    // A report of other analyzers at --out is not this night's: refused.
    let (code, err) = night(&store, &reports.join("adhoc"), &["--new"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("holds an earlier report"), "{err}");
}

/// Two nights at once (`reports/day1` and `reports/day2`): the second
/// waits for the first and then sees its report, so no call is analyzed
/// twice.
#[test]
fn two_new_runs_beside_each_other_analyze_each_call_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = slow_corpus(tmp.path());
    let reports = tmp.path().join("reports");
    let spawn = |out: &Path| {
        bin()
            .args(["run", path_str(&root), "-o", path_str(out), "-j", "1", "-q"])
            .args(["--new", "--fail-on", "never", "--wait", "10m"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn(&reports.join("day1"));
    // Until the first holds the lock of the nights.
    let lock = reports.join(".callscope-new.callscope-lock");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !fs::read_to_string(&lock).is_ok_and(|s| s.contains("pid")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run took no lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = spawn(&reports.join("day2"));
    for child in [first, second] {
        let done = child.wait_with_output().unwrap();
        assert_eq!(
            done.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let (one, two) = (calls(&reports.join("day1")), calls(&reports.join("day2")));
    assert_eq!(one.len(), 24);
    assert_eq!(two.len(), 0, "the second night saw the first's report");
}

/// `--replace` on a file system that refuses the atomic swap (a FUSE
/// mount, as NFS does): the earlier report is renamed aside and the new
/// one in, for `run` and `merge` alike. What a killed replace left aside
/// is put back (or cleared) by the next command; a directory there that is
/// not a report stops it, untouched.
#[test]
fn replace_works_where_the_swap_is_refused() {
    let Some(fuse) = FuseMount::new("replace_works_where_the_swap_is_refused") else {
        return;
    };
    let samples = sample_recordings();
    let reports = fuse.path().join("reports");
    let out = reports.join("out");
    let aside = reports.join(".out.callscope-old");
    let (code, err) = night(&samples, &out, &["-a", "intents"]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = night(
        &samples,
        &out,
        &["-a", "intents", "--replace", "--format", "csv"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.join("calls.jsonl").exists(),
        "the new report is in place"
    );
    let merged = reports.join("merged");
    for _ in 0..2 {
        let (code, _, err) = run(&[
            "merge",
            path_str(&out),
            "-o",
            path_str(&merged),
            "--replace",
            "--fail-on",
            "never",
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let leftovers = |dir: &Path| -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') && !n.ends_with("-lock"))
            .collect()
    };
    assert_eq!(leftovers(&reports), Vec::<String>::new());
    // Killed between the two renames: --out missing, the report aside.
    fs::rename(&out, &aside).unwrap();
    let (code, err) = night(&samples, &out, &["-a", "intents", "--replace"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.join("calls.jsonl").exists() && !aside.exists());
    // Killed after them: both there; the one aside is the earlier report.
    copy_tree(&out, &aside, false);
    let (code, err) = night(&samples, &out, &["-a", "intents", "--replace"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(leftovers(&reports), Vec::<String>::new());
    // Not a report: nothing is done, nothing removed.
    fs::create_dir(&aside).unwrap();
    fs::write(aside.join("notes.txt"), "mine").unwrap();
    let (code, err) = night(&samples, &out, &["-a", "intents", "--replace"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(".out.callscope-old: not a callscope report"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(aside.join("notes.txt")).unwrap(), "mine");
    assert!(out.join("calls.jsonl").exists());
}

/// Every night writes its metrics, a bad one too: the exit code, a last
/// success that only a night exiting 0 moves, every series with 0 where a
/// night has none, and `--metrics-label` on every sample. `merge` alerts as
/// a run would: `--fail-on`, `--max-error-ratio`, `--metrics`.
#[test]
fn every_night_good_or_bad_writes_its_metrics_and_merge_alerts() {
    if !prometheus_parser("every_night_good_or_bad_writes_its_metrics") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let samples = sample_recordings();
    // Its directory is made as --out's is.
    let prom = tmp.path().join("textfile/callscope.prom");
    let metrics = [
        "--metrics",
        path_str(&prom),
        "--metrics-label",
        "root=/srv/a",
        "--metrics-label",
        "tenant=acme \"eu\"",
    ];
    let (code, err) = night(&samples, &tmp.path().join("r/day1"), &metrics);
    assert_eq!(code, 0, "{err}");
    let good = prom_samples(&prom);
    assert!(
        good.iter()
            .all(|s| s["labels"]["root"] == "/srv/a" && s["labels"]["tenant"] == "acme \"eu\""),
        "{good:#?}"
    );
    assert_eq!(sample(&good, "callscope_last_run_exit_code", &[]), 0.0);
    let success = sample(&good, "callscope_last_success_timestamp_seconds", &[]);
    assert!(success > 1.7e9, "{success}");
    // Series with nothing tonight are there, at 0.
    assert_eq!(
        sample(&good, "callscope_calls_by_state", &[("state", "missing")]),
        0.0
    );
    assert_eq!(
        sample(&good, "callscope_findings", &[("code", "wav.no_samples")]),
        0.0
    );
    // An empty store (it did not mount): exit 1, said on stderr, and the
    // metrics say 1 and keep the last success.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let (code, err) = night(&empty, &tmp.path().join("r/day2"), &metrics);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("callscope: exit 1: no recording was analyzed"),
        "{err}"
    );
    let bad = prom_samples(&prom);
    assert_eq!(sample(&bad, "callscope_last_run_exit_code", &[]), 1.0);
    assert_eq!(
        sample(&bad, "callscope_last_success_timestamp_seconds", &[]),
        success
    );
    assert_eq!(sample(&bad, "callscope_calls", &[("status", "ok")]), 0.0);
    // A store that is not there at all: exit 2, the same.
    let (code, err) = night(
        &tmp.path().join("gone"),
        &tmp.path().join("r/day3"),
        &metrics,
    );
    assert_eq!(code, 2, "{err}");
    let gone = prom_samples(&prom);
    assert_eq!(sample(&gone, "callscope_last_run_exit_code", &[]), 2.0);
    assert_eq!(
        sample(&gone, "callscope_last_success_timestamp_seconds", &[]),
        success
    );
    // A merged night with error calls exits 1 by default, or over a ratio,
    // and writes the merged figures.
    let day1 = tmp.path().join("r/day1");
    let errors = calls(&day1)
        .iter()
        .filter(|c| c["status"] == "error")
        .count();
    assert!(errors > 0);
    let merged = tmp.path().join("merged");
    let (code, _, err) = run(&["merge", path_str(&day1), "-o", path_str(&merged)]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("callscope: exit 1: {errors} of")),
        "{err}"
    );
    let merge_prom = tmp.path().join("merge.prom");
    let merge_at = |ratio: &str| {
        run(&[
            "merge",
            path_str(&day1),
            "-o",
            path_str(&merged),
            "--replace",
            "--max-error-ratio",
            ratio,
            "--metrics",
            path_str(&merge_prom),
        ])
    };
    let (code, _, err) = merge_at("0.05");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("over --max-error-ratio 0.05"), "{err}");
    let m = prom_samples(&merge_prom);
    assert_eq!(sample(&m, "callscope_last_run_exit_code", &[]), 1.0);
    let last = |m: &[Value]| sample(m, "callscope_last_success_timestamp_seconds", &[]);
    assert_eq!(last(&m), 0.0);
    assert_eq!(
        sample(&m, "callscope_calls", &[("status", "error")]),
        errors as f64
    );
    let (code, _, err) = merge_at("0.9");
    assert_eq!(code, 0, "{err}");
    assert!(last(&prom_samples(&merge_prom)) > 1.7e9);
    // A label the samples have already is refused before any work.
    let (code, err) = night(
        &samples,
        &tmp.path().join("r/day4"),
        &["--metrics", path_str(&prom), "--metrics-label", "status=x"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("status is a label callscope's samples have already"),
        "{err}"
    );
    assert!(!tmp.path().join("r/day4").exists());
}

/// Thirty nights of docs/operations.md's crontab line (`run --new`, metrics, the
/// exit policy): calls every day, late calls, a repaired call, a night run
/// again, two nights started at once, a night the store did not mount.
/// Every bad night exits non-zero with its line and its metric; no night
/// is doubled and none but the unmounted one is empty; the merge of the
/// thirty nights is one run over the final store, byte for byte.
#[test]
fn thirty_nights_of_cron_merge_into_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, reports) = (tmp.path().join("store"), tmp.path().join("reports"));
    let prom = tmp.path().join("callscope.prom");
    let metric = |name: &str| -> f64 {
        fs::read_to_string(&prom)
            .unwrap()
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!("{name} "))
                    .map(|v| v.parse().unwrap())
            })
            .unwrap()
    };
    let day = |n: u32| format!("2024-11-{n:02}");
    let cron = |n: u32, extra: &[&str]| -> (i32, String) {
        let out = reports.join(day(n));
        let mut args = vec![
            "--new",
            "--max-error-ratio",
            "0.5",
            "--metrics",
            path_str(&prom),
        ];
        args.extend_from_slice(extra);
        night(&store, &out, &args)
    };
    let mut last_success = 0.0;
    let mut damaged = String::new();
    for n in 1..=30u32 {
        let faults = if n == 4 {
            "none,truncated-final"
        } else {
            "none"
        };
        let added = add_calls(
            &store,
            tmp.path(),
            100 + n,
            2,
            &format!("{}T08:00:00Z", day(n)),
            faults,
        );
        if n == 4 {
            damaged = added[1].clone();
        }
        match n {
            // A call for day 3 lands late.
            6 => {
                add_calls(&store, tmp.path(), 300, 1, "2024-11-03T23:00:00Z", "none");
            }
            // Day 4's damaged call is repaired.
            9 => {
                let (code, _, err) = run(&["repair", path_str(&store.join(&damaged)), "-q"]);
                assert_eq!(code, 0, "{err}");
            }
            _ => {}
        }
        if n == 12 {
            // The store did not mount: an empty mount point.
            let away = tmp.path().join("store-unmounted");
            fs::rename(&store, &away).unwrap();
            fs::create_dir(&store).unwrap();
            let (code, err) = cron(n, &[]);
            assert_eq!(code, 1, "{err}");
            assert!(
                err.contains("callscope: exit 1: no recording was analyzed"),
                "{err}"
            );
            assert_eq!(metric("callscope_last_run_exit_code"), 1.0);
            assert_eq!(
                metric("callscope_last_success_timestamp_seconds"),
                last_success
            );
            fs::remove_dir(&store).unwrap();
            fs::rename(&away, &store).unwrap();
            continue;
        }
        if n == 16 {
            // Nights 15 (run late) and 16 at once.
            let spawn = |m: u32| {
                bin()
                    .args([
                        "run",
                        path_str(&store),
                        "-o",
                        path_str(&reports.join(day(m))),
                    ])
                    .args(["-q", "--fail-on", "never", "--new", "--wait", "10m"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            };
            fs::remove_dir_all(reports.join(day(15))).unwrap();
            let both = [spawn(15), spawn(16)];
            for child in both {
                let o = child.wait_with_output().unwrap();
                assert_eq!(
                    o.status.code(),
                    Some(0),
                    "{}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            continue;
        }
        let (code, err) = cron(n, &[]);
        assert_eq!(code, 0, "night {n}: {err}");
        assert_eq!(metric("callscope_last_run_exit_code"), 0.0);
        last_success = metric("callscope_last_success_timestamp_seconds");
        if n == 10 {
            // Night 10 run again: its calls again, never an empty report.
            let before = fs::read(reports.join(day(10)).join("calls.csv")).unwrap();
            let (code, err) = cron(10, &[]);
            assert_eq!(code, 0, "{err}");
            assert_eq!(
                fs::read(reports.join(day(10)).join("calls.csv")).unwrap(),
                before
            );
        }
    }
    let nights: Vec<PathBuf> = (1..=30).map(|n| reports.join(day(n))).collect();
    // No call analyzed twice as it was; only the unmounted night is empty
    // (the overlap's second night saw the first's report and found little).
    let mut seen = std::collections::BTreeSet::new();
    for (i, dir) in nights.iter().enumerate() {
        let rows = calls(dir);
        if i + 1 != 12 {
            assert!(
                !rows.is_empty() || i + 1 == 16 || i + 1 == 15,
                "night {} is empty",
                i + 1
            );
        }
        for line in fs::read_to_string(dir.join("partial.jsonl"))
            .unwrap()
            .lines()
        {
            let v: Value = serde_json::from_str(line).unwrap();
            let key = (v["recording"].to_string(), v["fingerprint"].to_string());
            assert!(seen.insert(key.clone()), "{key:?} analyzed twice");
        }
    }
    // The month beside its nights, as the operations guide lays it out:
    // its call pages are the nights' own, linked.
    let merged = reports.join("2024-11");
    let mut args = vec!["merge", "--fail-on", "never", "-o", path_str(&merged)];
    args.extend(nights.iter().map(|p| path_str(p)));
    ok(&args);
    let linked = fs::read_dir(merged.join("calls"))
        .unwrap()
        .filter(|e| {
            use std::os::unix::fs::MetadataExt;
            e.as_ref().unwrap().metadata().unwrap().nlink() > 1
        })
        .count();
    assert_eq!(linked, 61, "every page taken from its night");
    let full = reports.join("full");
    let (code, err) = night(&store, &full, &[]);
    assert_eq!(code, 0, "{err}");
    assert_same_reports(&full, &merged);
    assert_eq!(calls(&merged).len(), 61);
    let repaired = calls(&merged)
        .into_iter()
        .find(|r| r["recording"] == damaged.as_str())
        .unwrap();
    assert_eq!(repaired["status"], "ok", "{repaired}");
}

/// `merge` keeps the analysis of the input that finished last, whatever
/// order the directories are named in (a shell glob puts `night-10` before
/// `night-2`); a part whose calls are not in the order a run writes them
/// is refused before anything is written.
#[test]
fn merge_keeps_the_latest_whatever_the_order_named() {
    let tmp = tempfile::tempdir().unwrap();
    let store = copy_samples(tmp.path());
    let (early, late) = (tmp.path().join("night-10"), tmp.path().join("night-2"));
    let (code, err) = night(&store, &early, &[]);
    assert_eq!(code, 0, "{err}");
    // The broken transcript is mended before the later night.
    let broken = calls(&early)
        .into_iter()
        .find(|c| c["status"] == "error")
        .unwrap()["recording"]
        .as_str()
        .unwrap()
        .to_string();
    let good = calls(&early)
        .into_iter()
        .find(|c| c["status"] == "ok")
        .unwrap()["recording"]
        .as_str()
        .unwrap()
        .to_string();
    fs::copy(
        store.join(&good).join("transcript.json"),
        store.join(&broken).join("transcript.json"),
    )
    .unwrap();
    let (code, err) = night(&store, &late, &[]);
    assert_eq!(code, 0, "{err}");
    let status = |dir: &Path| -> String {
        calls(dir)
            .into_iter()
            .find(|c| c["recording"] == broken.as_str())
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(status(&late), "error");
    for (name, order) in [("ab", [&early, &late]), ("ba", [&late, &early])] {
        let out = tmp.path().join(name);
        let (code, _, err) = run(&[
            "merge",
            path_str(order[0]),
            path_str(order[1]),
            "-o",
            path_str(&out),
            "--fail-on",
            "never",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(status(&out), status(&late), "{name}");
        assert_eq!(
            fs::read(out.join("calls.csv")).unwrap(),
            fs::read(late.join("calls.csv")).unwrap(),
            "{name}"
        );
    }
    // Two lines swapped: out of order, refused, nothing written.
    let partial = late.join("partial.jsonl");
    let mut lines: Vec<String> = fs::read_to_string(&partial)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.swap(0, 1);
    fs::write(&partial, lines.join("\n") + "\n").unwrap();
    let out = tmp.path().join("swapped");
    let (code, _, err) = run(&["merge", path_str(&late), "-o", path_str(&out)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("out of order") && err.contains("nothing was merged"),
        "{err}"
    );
    assert!(!out.exists());
}

/// What callscope finds at the name where a refused swap keeps the earlier
/// report aside (`.out.callscope-old`) is never followed, opened or
/// removed unless it is a report directory: a link, a FIFO or a directory
/// of something else stops `--replace` (exit 2), naming it, and `--out`
/// and the thing planted are left as they were. Likewise at the lock every
/// `--new` run takes beside `--out`.
#[test]
fn what_is_planted_at_the_aside_name_or_the_nights_lock_stops_the_command() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = sample_recordings();
    let reports = tmp.path().join("reports");
    let out = reports.join("out");
    let (code, err) = night(&samples, &out, &["-a", "intents"]);
    assert_eq!(code, 0, "{err}");
    let before = snapshot(&out);
    let aside = reports.join(".out.callscope-old");
    let target = tmp.path().join("precious");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep.txt"), "keep").unwrap();
    let plant = |what: &str| match what {
        "a link" => std::os::unix::fs::symlink(&target, &aside).unwrap(),
        "a link to a file" => std::os::unix::fs::symlink(target.join("keep.txt"), &aside).unwrap(),
        "a FIFO" => {
            let c = std::ffi::CString::new(aside.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        }
        _ => {
            fs::create_dir(&aside).unwrap();
            fs::write(aside.join("notes.txt"), "mine").unwrap();
        }
    };
    for what in ["a link", "a link to a file", "a FIFO", "a directory"] {
        plant(what);
        let (code, err) = night(&samples, &out, &["-a", "intents", "--replace"]);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.contains(".out.callscope-old"), "{what}: {err}");
        assert_eq!(
            fs::read_to_string(target.join("keep.txt")).unwrap(),
            "keep",
            "{what}"
        );
        assert!(snapshot(&out) == before, "{what}: the report changed");
        match fs::symlink_metadata(&aside).unwrap().is_dir() {
            true => fs::remove_dir_all(&aside).unwrap(),
            false => fs::remove_file(&aside).unwrap(),
        }
    }
    // A link at the nights' lock: refused, the link's target untouched.
    let lock = reports.join(".callscope-new.callscope-lock");
    std::os::unix::fs::symlink(target.join("keep.txt"), &lock).unwrap();
    let (code, err) = night(&samples, &reports.join("tonight"), &["--new"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(".callscope-new.callscope-lock"), "{err}");
    assert_eq!(fs::read_to_string(target.join("keep.txt")).unwrap(), "keep");
    assert!(!reports.join("tonight").exists());
}

/// `run --new` sees a file rewritten with the same size: its modification
/// time is part of the fingerprint. Only that call is new.
#[test]
fn new_sees_a_file_rewritten_with_the_same_size() {
    let tmp = tempfile::tempdir().unwrap();
    let store = copy_samples(tmp.path());
    let reports = tmp.path().join("reports");
    let (code, err) = night(&store, &reports.join("day1"), &["--new"]);
    assert_eq!(code, 0, "{err}");
    let rec = calls(&reports.join("day1"))[0]["recording"]
        .as_str()
        .unwrap()
        .to_string();
    let path = store.join(&rec).join("transcript.json");
    let text = fs::read_to_string(&path).unwrap();
    // The same bytes but one letter's case, written a minute later.
    let changed = match text.find("a") {
        Some(i) => format!("{}A{}", &text[..i], &text[i + 1..]),
        None => panic!("no letter a in {}", path.display()),
    };
    assert_eq!(changed.len(), text.len());
    fs::write(&path, changed).unwrap();
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    let (code, err) = night(&store, &reports.join("day2"), &["--new"]);
    assert_eq!(code, 0, "{err}");
    let again: Vec<Value> = calls(&reports.join("day2"));
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["recording"], rec.as_str());
}

/// `run` and `merge` writing one `--out` exclude each other: the second
/// exits 75 naming the first, and the first's report is whole.
#[test]
fn run_and_merge_on_one_out_exclude_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = sample_recordings();
    let night1 = tmp.path().join("night1");
    let (code, err) = night(&samples, &night1, &["-a", "intents"]);
    assert_eq!(code, 0, "{err}");
    let root = slow_corpus(tmp.path());
    let out = tmp.path().join("reports");
    let first = spawn_run(&root, &out);
    let lock = tmp.path().join(".reports.callscope-lock");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !fs::read_to_string(&lock).is_ok_and(|s| s.contains("pid")) {
        assert!(std::time::Instant::now() < deadline, "the run took no lock");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (code, _, err) = run(&["merge", path_str(&night1), "-o", path_str(&out)]);
    let done = first.wait_with_output().unwrap();
    assert_eq!(code, 75, "{err}");
    assert!(err.contains(&format!("pid {}", done_pid(&lock))), "{err}");
    assert!(done.status.code().is_some_and(|c| c <= 1));
    assert_eq!(calls(&out).len(), 24, "the run's report, whole");
}

/// `--new` reads each earlier report's compact index, `fingerprints.jsonl`
/// (a line per call, the partial's recordings and fingerprints), not its
/// whole partial; a report written before there was an index is read from
/// its partial.
#[test]
fn new_reads_each_nights_index_and_older_reports_without_one() {
    let tmp = tempfile::tempdir().unwrap();
    let store = copy_samples(tmp.path());
    let reports = tmp.path().join("reports");
    let day1 = reports.join("day1");
    let (code, err) = night(&store, &day1, &["--new"]);
    assert_eq!(code, 0, "{err}");
    // The index is the partial's projection, line for line.
    let projection: Vec<Value> = fs::read_to_string(day1.join("partial.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            serde_json::json!({"recording": v["recording"], "fingerprint": v["fingerprint"]})
        })
        .collect();
    let index = day1.join("fingerprints.jsonl");
    let lines: Vec<Value> = fs::read_to_string(&index)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, projection);
    assert!(lines.len() > 1 && lines.len() == calls(&day1).len());
    let manifest = read_json(&day1.join("callscope-report.json"));
    assert_eq!(
        manifest["partial_bytes"].as_u64(),
        Some(fs::metadata(day1.join("partial.jsonl")).unwrap().len())
    );
    // What the index says is what --new takes as seen: one fingerprint
    // changed there makes exactly that call new.
    let text = fs::read_to_string(&index).unwrap();
    let first = lines[0]["fingerprint"].as_str().unwrap();
    fs::write(&index, text.replacen(first, &"0".repeat(first.len()), 1)).unwrap();
    let day2 = reports.join("day2");
    let (code, err) = night(&store, &day2, &["--new"]);
    assert_eq!(code, 0, "{err}");
    let again = calls(&day2);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0]["recording"], lines[0]["recording"]);
    // A broken index (cut mid-line) is named and that night passed over:
    // its calls count as new, and no night fails for it.
    fs::remove_dir_all(&day2).unwrap();
    fs::write(&index, &text[..text.len() / 2]).unwrap();
    let (code, err) = night(&store, &day2, &["--new"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("day1/fingerprints.jsonl") && err.contains("that report is passed over"),
        "{err}"
    );
    assert_eq!(calls(&day2).len(), lines.len());
    // A report from before the index: its partial is read, and nothing is
    // new.
    fs::remove_dir_all(&day2).unwrap();
    fs::remove_file(&index).unwrap();
    edit_json(&day1.join("callscope-report.json"), |m| {
        m.as_object_mut().unwrap().remove("partial_bytes");
    });
    let (code, err) = night(&store, &day2, &["--new"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(calls(&day2).len(), 0);
}

fn inode(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(p).unwrap().ino()
}

/// `merge` takes a night's call page as it is (a hard link) only when it
/// is the page the merge would draw: this version's, at the same depth
/// below the root (so its audio link reads the same), of the merge's mode,
/// with the audio player the store gives now. Otherwise it draws the page
/// again, and either way the bytes are one run's.
#[test]
fn merge_takes_a_nights_pages_only_when_they_are_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let store = copy_samples(tmp.path());
    let reports = tmp.path().join("reports");
    let n1 = reports.join("n1");
    let (code, err) = night(&store, &n1, &[]);
    assert_eq!(code, 0, "{err}");
    let merge = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "merge",
            path_str(&n1),
            "-o",
            path_str(out),
            "--fail-on",
            "never",
        ];
        args.extend_from_slice(extra);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
    };
    let pages = |dir: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(dir.join("calls"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    let night_pages = pages(&n1);
    assert_eq!(night_pages.len(), 6);
    // Beside the night: every page is the night's file, and one run's bytes.
    let beside = reports.join("month");
    merge(&beside, &[]);
    let full = reports.join("full");
    let (code, err) = night(&store, &full, &[]);
    assert_eq!(code, 0, "{err}");
    let same = |a: &Path, b: &Path| fs::read(a).unwrap() == fs::read(b).unwrap();
    for (m, n) in pages(&beside).iter().zip(&night_pages) {
        assert_eq!(inode(m), inode(n), "{}", m.display());
        let name = m.file_name().unwrap();
        assert!(same(m, &full.join("calls").join(name)), "{}", m.display());
    }
    // Elsewhere (another depth): drawn again, with its own audio links.
    let elsewhere = tmp.path().join("elsewhere");
    merge(&elsewhere, &[]);
    let mut relinked = 0;
    for (m, n) in pages(&elsewhere).iter().zip(&night_pages) {
        assert_ne!(inode(m), inode(n));
        if fs::read_to_string(n).unwrap().contains("<audio") {
            assert!(!same(m, n), "{}", m.display());
            relinked += 1;
        }
    }
    assert!(relinked >= 4, "{relinked} pages play audio");
    // Another mode: the same bytes in files of the merge's own.
    let shared = reports.join("shared");
    merge(&shared, &["--mode", "0640"]);
    for (m, n) in pages(&shared).iter().zip(&night_pages) {
        assert_ne!(inode(m), inode(n));
        assert!(same(m, n), "{}", m.display());
    }
    // The store changed since the night: an aligned stereo file now
    // exists, so the pages that would play it are drawn again.
    let (code, _, err) = run(&["repair", path_str(&store), "--aligned", "-q"]);
    assert!(code <= 1, "{err}");
    let after = reports.join("after");
    merge(&after, &[]);
    let mut redrawn = 0;
    for (m, n) in pages(&after).iter().zip(&night_pages) {
        let text = fs::read_to_string(m).unwrap();
        if text.contains("aligned_stereo_recording.wav") {
            redrawn += 1;
            assert_ne!(inode(m), inode(n));
        } else {
            assert_eq!(inode(m), inode(n), "{}", m.display());
        }
    }
    assert!(redrawn > 0, "repair --aligned wrote no aligned file");
    // A page replaced in the night by a link to a file outside is not
    // taken: the merge draws its own.
    let outside = tmp.path().join("outside.html");
    fs::write(&outside, "<script>alert(1)</script>").unwrap();
    fs::remove_file(&night_pages[0]).unwrap();
    std::os::unix::fs::symlink(&outside, &night_pages[0]).unwrap();
    let planted = reports.join("planted");
    merge(&planted, &[]);
    let page = &pages(&planted)[0];
    assert!(fs::symlink_metadata(page).unwrap().is_file());
    assert_ne!(inode(page), inode(&outside));
    assert!(!fs::read_to_string(page).unwrap().contains("alert(1)"));
}
