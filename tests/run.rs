//! `callscope run` end to end: the reports against the simulator's ground
//! truth, determinism, failure isolation, and what a run reads.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;

fn run_ok(root: &Path, out: &Path, extra: &[&str]) {
    // Tests reuse one report directory: each run replaces the last.
    let mut args = vec![
        "run",
        path_str(root),
        "--out",
        path_str(out),
        "--quiet",
        "--replace",
    ];
    args.extend_from_slice(extra);
    let (code, stdout, err) = run(&args);
    assert_eq!(code, 0, "run failed: {stdout}{err}");
    assert!(
        err.is_empty(),
        "a run with nothing wrong prints nothing: {err}"
    );
}

/// recording → rows of turns.csv with that source.
fn turns(out: &Path, source: &str) -> BTreeMap<String, Vec<(f64, f64, f64)>> {
    let mut m: BTreeMap<String, Vec<(f64, f64, f64)>> = BTreeMap::new();
    let mut r = csv::Reader::from_path(out.join("turns.csv")).unwrap();
    for row in r.records() {
        let row = row.unwrap();
        if &row[5] == source {
            let f = |i: usize| row[i].parse::<f64>().unwrap();
            m.entry(row[0].to_string())
                .or_default()
                .push((f(2), f(3), f(4)));
        }
    }
    m
}

#[test]
fn reports_agree_with_the_ground_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 10, 90, &["--seed", "17"]);
    let out = tmp.path().join("out");
    run_ok(&rec, &out, &[]);
    let rows = calls(&out);
    let transcript_turns = turns(&out, "transcript");
    let audio_turns = turns(&out, "audio");
    let truths = truths(&truth);
    assert_eq!(rows.len(), truths.len());
    let mut latencies = 0;
    for (row, t) in rows.iter().zip(&truths) {
        let ctx = &t.recording;
        assert_eq!(row["recording"], t.recording.as_str());
        assert_eq!(row["status"], "ok", "{ctx}: {row}");
        assert_eq!(row["speech_vad"], "earshot");

        // Transcript response times: the seed's recipe, to the millisecond.
        let got = &transcript_turns[ctx];
        assert_eq!(got.len(), t.transcript_turns.len(), "{ctx}");
        assert_eq!(row["rt_transcript_turns"], t.transcript_turns.len());
        for (g, w) in got.iter().zip(&t.transcript_turns) {
            assert!(
                (g.2 - w.latency_s).abs() < 0.0006,
                "{ctx}: {} vs {}",
                g.2,
                w.latency_s
            );
        }

        // Audio latency: every turn within 40 ms.
        let got = &audio_turns[ctx];
        assert_eq!(got.len(), t.audio_turns.len(), "{ctx}: turns {got:?}");
        for (g, w) in got.iter().zip(&t.audio_turns) {
            assert!(
                (g.2 - w.latency_s).abs() <= 0.040,
                "{ctx} turn {}: {} vs {}",
                w.turn,
                g.2,
                w.latency_s
            );
            assert!(
                (g.1 - w.bot_start_s).abs() <= 0.040,
                "{ctx}: bot start {} vs {}",
                g.1,
                w.bot_start_s
            );
            latencies += 1;
        }

        // Talk time within 3 % per party; overlap within 60 ms (measured
        // errors on this corpus: at most 31 ms) where every answer's end of
        // playback is settled.
        let talk = |c: &str| row[c].as_f64().unwrap();
        let rel = |a: f64, b: f64| (a - b).abs() / b;
        assert!(
            rel(talk("speech_caller_talk_s"), t.caller_talk_s) < 0.03,
            "{ctx}: caller {} vs {}",
            talk("speech_caller_talk_s"),
            t.caller_talk_s
        );
        assert!(
            rel(talk("speech_bot_talk_s"), t.bot_talk_s) < 0.03,
            "{ctx}: bot {} vs {}",
            talk("speech_bot_talk_s"),
            t.bot_talk_s
        );
        // Where the recording cannot settle when a talked-over answer
        // stopped, within 0.3 s (tests/turn_taking.rs checks the bounds).
        let settled = row["speech_playback_uncertain"] == 0;
        assert!(
            (talk("speech_overlap_s") - t.overlap_s).abs() < if settled { 0.06 } else { 0.3 },
            "{ctx}: overlap {} vs {}",
            talk("speech_overlap_s"),
            t.overlap_s
        );

        // Per-call latency statistics from the turns the report lists:
        // mean, linear-interpolation percentiles (numpy's default), max.
        let mut lat: Vec<f64> = got.iter().map(|g| g.2).collect();
        lat.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let pos = p * (lat.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            lat[lo] + (lat[hi] - lat[lo]) * (pos - lo as f64)
        };
        let mean = lat.iter().sum::<f64>() / lat.len() as f64;
        for (col, want) in [
            ("rt_audio_mean_s", mean),
            ("rt_audio_p50_s", q(0.5)),
            ("rt_audio_p90_s", q(0.9)),
            ("rt_audio_p95_s", q(0.95)),
            ("rt_audio_max_s", lat[lat.len() - 1]),
        ] {
            let v = talk(col);
            assert!(
                (v - want).abs() <= 0.0011,
                "{ctx}: {col} {v} vs {want} from {lat:?}"
            );
        }

        // Silences and interruptions against the truth's speech spans.
        let mut spans: Vec<[f64; 2]> = t
            .caller_speech
            .iter()
            .chain(&t.bot_speech)
            .copied()
            .collect();
        spans.sort_by(|a, b| a[0].total_cmp(&b[0]));
        let mut gaps = Vec::new();
        let mut covered = 0.0f64;
        for sp in &spans {
            if sp[0] > covered {
                gaps.push(sp[0] - covered);
            }
            covered = covered.max(sp[1]);
        }
        if t.duration_s > covered {
            gaps.push(t.duration_s - covered);
        }
        let silence: f64 = gaps.iter().sum();
        let longest = gaps.iter().copied().fold(0.0, f64::max);
        let slack = 0.03 * (t.caller_talk_s + t.bot_talk_s) + 0.3;
        assert!(
            (talk("speech_silence_s") - silence).abs() < slack,
            "{ctx}: silence {} vs {silence}",
            talk("speech_silence_s")
        );
        assert!(
            (talk("speech_longest_silence_s") - longest).abs() < 0.3,
            "{ctx}: longest silence {} vs {longest}",
            talk("speech_longest_silence_s")
        );
        // Gaps within 0.3 s of 3 s could go either way.
        let sure = gaps.iter().filter(|g| **g >= 3.3).count();
        let maybe = gaps.iter().filter(|g| **g >= 2.7).count();
        let long = row["speech_long_silences"].as_u64().unwrap() as usize;
        assert!(
            (sure..=maybe).contains(&long),
            "{ctx}: long silences {long} (--silence-min 3), truth {sure}..{maybe}"
        );
        let (c, b) = (talk("speech_caller_talk_s"), talk("speech_bot_talk_s"));
        assert!(
            (talk("speech_caller_ratio") - c / (c + b)).abs() < 0.0001,
            "{ctx}"
        );
        assert!(
            (talk("speech_caller_ratio") - t.caller_talk_s / (t.caller_talk_s + t.bot_talk_s))
                .abs()
                < 0.02,
            "{ctx}"
        );
        // The bot starting inside the caller's speech, by a clear margin or not.
        let inside = |x: f64, m: f64| t.caller_speech.iter().any(|c| x > c[0] + m && x < c[1] - m);
        let sure = t.bot_speech.iter().filter(|b| inside(b[0], 0.1)).count();
        let maybe = t.bot_speech.iter().filter(|b| inside(b[0], -0.1)).count();
        let bi = row["speech_bot_interruptions"].as_u64().unwrap() as usize;
        assert!(
            (sure..=maybe).contains(&bi),
            "{ctx}: bot_interruptions {bi}, truth {sure}..{maybe}"
        );

        // Intents and failures, exactly.
        let intents: Vec<&str> = t
            .function_calls
            .iter()
            .filter_map(|f| f.intent.as_deref())
            .collect();
        assert_eq!(row["intents_intents"], intents.join(";"), "{ctx}");
        assert_eq!(row["intents_function_calls"], t.function_calls.len());
        assert_eq!(
            row["intents_failed"],
            t.function_calls.iter().filter(|f| f.failed).count()
        );
        assert_eq!(row["transcript_entries"], t.transcript_entries);
        assert_eq!(
            row["duration_s"].as_f64().unwrap(),
            (t.duration_s * 1000.0).round() / 1000.0
        );
    }
    assert!(
        latencies > 50,
        "the corpus exercises many turns: {latencies}"
    );

    // intents.csv: per function and intent, calls, recordings, failures.
    let mut want: BTreeMap<(String, String), (i64, i64, i64)> = BTreeMap::new();
    for t in &truths {
        let mut seen = std::collections::BTreeSet::new();
        for f in &t.function_calls {
            let mut keys = vec![("function".to_string(), f.function_name.clone())];
            keys.extend(f.intent.clone().map(|i| ("intent".to_string(), i)));
            for k in keys {
                let e = want.entry(k.clone()).or_default();
                e.0 += 1;
                e.2 += i64::from(f.failed);
                if seen.insert(k) {
                    e.1 += 1;
                }
            }
        }
    }
    let mut r = csv::Reader::from_path(out.join("intents.csv")).unwrap();
    let mut got = BTreeMap::new();
    let mut last_calls = i64::MAX;
    for row in r.records() {
        let row = row.unwrap();
        let calls: i64 = row[2].parse().unwrap();
        assert!(calls <= last_calls, "sorted by calls, descending");
        last_calls = calls;
        got.insert(
            (row[0].to_string(), row[1].to_string()),
            (calls, row[3].parse().unwrap(), row[4].parse().unwrap()),
        );
    }
    assert_eq!(got, want);

    // summary.json
    let summary: Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["calls"]["total"], 10);
    assert_eq!(summary["calls"]["ok"], 10);
    assert_eq!(
        summary["analyzers"]["response_times"]["audio"]["count"],
        latencies
    );
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(
        tmp.path(),
        8,
        30,
        &["--faults", "none,broken-transcript,missing-final,crashed"],
    );
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (code_a, _, _) = run(&[
        "run",
        path_str(&rec),
        "--out",
        path_str(&a),
        "--quiet",
        "--jobs",
        "1",
    ]);
    let (code_b, _, _) = run(&[
        "run",
        path_str(&rec),
        "--out",
        path_str(&b),
        "--quiet",
        "--jobs",
        "2",
    ]);
    assert_eq!(code_a, 1, "the broken transcripts are errors");
    assert_eq!(code_b, 1);
    assert_same_reports(&a, &b);
    // No temporary file is left behind: the eight CSV and JSON reports,
    // the JSON form of turns.csv, segments.csv and utterances.csv, the
    // partial and its index, the manifest, schema.json, report.html and
    // the folder of call pages.
    assert_eq!(fs::read_dir(&a).unwrap().count(), 17);
}

#[test]
fn one_broken_recording_is_one_error_row_and_nothing_else_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 4, 30, &["--seed", "8"]);
    let before = tmp.path().join("before");
    run_ok(
        &rec,
        &before,
        &["--analyzers", "intents,quality,transcript"],
    );
    // Damage one call: its caller track is cut inside the header.
    let victim = &truths(&truth)[2].recording;
    let wav = rec.join(victim).join("caller_audio.wav");
    let bytes = fs::read(&wav).unwrap();
    fs::write(&wav, &bytes[..20]).unwrap();
    let after = tmp.path().join("after");
    let (code, _, _) = run(&[
        "run",
        path_str(&rec),
        "--out",
        path_str(&after),
        "--quiet",
        "--analyzers",
        "intents,quality,transcript",
    ]);
    assert_eq!(code, 1, "a failed call makes the exit code 1");
    let (b, a) = (calls(&before), calls(&after));
    for (x, y) in b.iter().zip(&a) {
        if x["recording"] == victim.as_str() {
            assert_eq!(y["status"], "error");
            assert!(y["quality_caller_rms_dbfs"].is_null());
            assert_eq!(
                y["intents_intents"], x["intents_intents"],
                "what does not need the audio still works"
            );
        } else {
            assert_eq!(x, y);
        }
    }
    let findings = fs::read_to_string(after.join("findings.csv")).unwrap();
    let lines: Vec<&str> = findings.lines().skip(1).collect();
    assert!(
        lines.iter().all(|l| l.starts_with(victim.as_str())),
        "{findings}"
    );
    // One problem, one finding: the unreadable track, naming what it cost.
    let root = lines
        .iter()
        .find(|l| l.contains(",wav.unreadable,error,caller_audio.wav,"))
        .unwrap_or_else(|| panic!("{findings}"));
    assert!(
        root.contains("not analyzed because of it:") && root.contains("quality"),
        "{root}"
    );
    assert!(!findings.contains("analyzer.quality"), "{findings}");
}

#[test]
fn a_metadata_only_run_opens_no_wav() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 3, 20, &[]);
    // Every WAV is garbage: a run that opened one would report it.
    for t in truths(&truth) {
        for f in [
            "caller_audio.wav",
            "bot_audio.wav",
            "stereo_recording.wav",
            "final_stereo_recording.wav",
        ] {
            fs::write(rec.join(&t.recording).join(f), b"not audio at all").unwrap();
        }
    }
    let out = tmp.path().join("out");
    run_ok(&rec, &out, &["--analyzers", "intents"]);
    for (row, t) in calls(&out).iter().zip(truths(&truth)) {
        assert_eq!(row["status"], "ok", "{row}");
        assert_eq!(row["findings"], 0);
        assert_eq!(
            row["sample_rate"], 16000,
            "from the recording_started event"
        );
        assert_eq!(row["intents_function_calls"], t.function_calls.len());
    }
    // The full run does open them, and says so.
    let (code, _, _) = run(&[
        "run",
        path_str(&rec),
        "--out",
        path_str(&tmp.path().join("full")),
        "--quiet",
    ]);
    assert_eq!(code, 1);
}

#[test]
fn timeline_metrics_are_empty_when_the_realtime_file_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 1, 30, &[]);
    let t = &truths(&truth)[0];
    fs::remove_file(rec.join(&t.recording).join("stereo_recording.wav")).unwrap();
    let out = tmp.path().join("out");
    let (code, _, _) = run(&["run", path_str(&rec), "--out", path_str(&out), "--quiet"]);
    assert_eq!(code, 1, "a missing file is an error finding");
    let row = &calls(&out)[0];
    assert!(row["speech_overlap_s"].is_null());
    assert!(row["rt_audio_turns"].is_null());
    assert!(
        row["speech_caller_talk_s"].as_f64().unwrap() > 0.0,
        "talk time needs no timeline"
    );
    assert_eq!(row["rt_transcript_turns"], t.transcript_turns.len());
    let findings = fs::read_to_string(out.join("findings.csv")).unwrap();
    // One problem, one finding: the missing file, naming the two analyzers
    // that needed the timeline it holds.
    assert_eq!(findings.lines().count(), 2, "{findings}");
    assert!(
        findings.contains(",file.missing,error,stereo_recording.wav,")
            && findings.contains("(not analyzed because of it: response_times, speech)"),
        "{findings}"
    );
}

/// A broken mono costs the timeline too: that is said on the mono's own
/// finding, not as a second finding filed under the real-time file, which
/// is sound. Messages name files relative to the recording, in `check` and
/// in the run alike.
#[test]
fn a_broken_track_is_one_finding_filed_under_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 2, 20, &[]);
    let t = truths(&truth);
    let cut = |call: usize, file: &str| {
        let wav = rec.join(&t[call].recording).join(file);
        let bytes = fs::read(&wav).unwrap();
        fs::write(&wav, &bytes[..20]).unwrap();
    };
    cut(0, "bot_audio.wav");
    cut(1, "stereo_recording.wav");
    let out = tmp.path().join("out");
    let (code, _, _) = run(&["run", path_str(&rec), "--out", path_str(&out), "--quiet"]);
    assert_eq!(code, 1);
    let rows = calls(&out);
    for (row, t) in rows.iter().zip(&t) {
        assert!(row["rt_audio_turns"].is_null(), "{row}");
        assert_eq!(row["rt_transcript_turns"], t.transcript_turns.len());
    }
    assert!(rows[0]["quality_bot_rms_dbfs"].is_null());
    assert!(rows[0]["speech_caller_talk_s"].is_null());
    assert!(rows[1]["speech_caller_talk_s"].as_f64().unwrap() > 0.0);
    let findings = fs::read_to_string(out.join("findings.csv")).unwrap();
    let expect = [
        format!(
            "{},wav.unreadable,error,bot_audio.wav,\"bot_audio.wav: header cut short: 'fmt ' chunk cut short (not analyzed because of it: quality, response_times, speech)\"",
            t[0].recording
        ),
        format!(
            "{},wav.unreadable,error,stereo_recording.wav,\"stereo_recording.wav: header cut short: 'fmt ' chunk cut short (not analyzed because of it: response_times, speech)\"",
            t[1].recording
        ),
    ];
    let mut lines: Vec<&str> = findings.lines().skip(1).collect();
    lines.sort_unstable();
    let mut expect: Vec<&str> = expect.iter().map(String::as_str).collect();
    expect.sort_unstable();
    assert_eq!(lines, expect, "{findings}");
    let (_, check, _) = run(&["check", path_str(&rec)]);
    assert!(
        check.contains(" bot_audio.wav: header cut short") && !check.contains(path_str(&rec)),
        "{check}"
    );
}

#[test]
fn filters_and_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 6, 10, &["--start", "2024-12-01T22:00:00Z"]);
    let truths = truths(&truth);
    // Calls start every six minutes from 22:00: some on Dec 1, some on Dec 2.
    let out = tmp.path().join("out");
    run_ok(
        &rec,
        &out,
        &[
            "--analyzers",
            "intents",
            "--since",
            "2024-12-01",
            "--until",
            "2024-12-01",
        ],
    );
    let day1 = calls(&out);
    let want = truths
        .iter()
        .filter(|t| t.start_time.starts_with("2024-12-01"))
        .count();
    assert_eq!(day1.len(), want);
    let prefix = &truths[1].session_id[..6];
    let glob = format!("{prefix}*");
    run_ok(&rec, &out, &["--analyzers", "intents", "--session", &glob]);
    let picked = calls(&out);
    assert!(picked
        .iter()
        .all(|r| r["session_id"].as_str().unwrap().starts_with(prefix)));
    assert!(!picked.is_empty());

    // A filter that matches nothing: empty reports, exit 0 when that is
    // expected (--allow-empty), and a warning.
    let (code, _, err) = run(&[
        "run",
        path_str(&rec),
        "--out",
        path_str(&out),
        "--replace",
        "--allow-empty",
        "--since",
        "2030-01-01",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: no recordings under") && err.contains("match the filters"),
        "{err}"
    );
    assert!(calls(&out).is_empty());

    // Each usage error exits 2 and says what is wrong with which option.
    for (bad, says) in [
        (
            vec!["--analyzers", "nope"],
            "no analyzer 'nope'; the analyzers are: response_times,",
        ),
        (
            vec!["--since", "last week"],
            "'last week' is not a time: use 2024-12-01,",
        ),
        (vec!["--jobs", "0"], "invalid value '0' for '--jobs <N>'"),
        (
            vec!["--format", "xml"],
            "[possible values: csv, json, html, parquet]",
        ),
        (
            vec!["--vad", "psychic"],
            "[possible values: neural, energy, earshot-full]",
        ),
    ] {
        let mut args = vec!["run", path_str(&rec), "--out", path_str(&out)];
        args.extend(bad.iter());
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(err.contains(says), "{bad:?}: {err}");
    }
}

#[test]
fn energy_vad_and_24khz_calls() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 3, 60, &["--rate", "24000", "--seed", "2"]);
    for vad in ["energy", "neural"] {
        let out = tmp.path().join(vad);
        run_ok(&rec, &out, &["--vad", vad]);
        for (row, t) in calls(&out).iter().zip(truths(&truth)) {
            assert_eq!(row["sample_rate"], 24000);
            let caller = row["speech_caller_talk_s"].as_f64().unwrap();
            let bot = row["speech_bot_talk_s"].as_f64().unwrap();
            assert!(
                (caller - t.caller_talk_s).abs() / t.caller_talk_s < 0.03,
                "{vad}: caller {caller} vs {}",
                t.caller_talk_s
            );
            assert!(
                (bot - t.bot_talk_s).abs() / t.bot_talk_s < 0.03,
                "{vad}: bot {bot} vs {}",
                t.bot_talk_s
            );
            assert_eq!(row["rt_audio_turns"], t.audio_turns.len());
        }
    }
}

#[test]
fn the_main_job_on_the_sample_recordings() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    let (code, _, err) = run(&[
        "run",
        path_str(&sample_recordings()),
        "--out",
        path_str(&out),
        "--settle",
        "0",
    ]);
    assert_eq!(code, 1, "the broken transcript is an error: {err}");
    let rows = calls(&out);
    assert_eq!(rows.len(), 6);
    let get = |p: &str| {
        rows.iter()
            .find(|r| r["recording"].as_str().unwrap().starts_with(p))
            .unwrap()
    };
    let normal = get("7c9e6679");
    assert_eq!(normal["status"], "ok");
    assert_eq!(normal["rt_transcript_turns"], 1);
    assert_eq!(normal["rt_audio_turns"], 1);
    assert_eq!(normal["intents_intents"], "lost_card");
    let barge = get("c4d5e6f7");
    assert!(
        barge["speech_overlap_s"].as_f64().unwrap() > 0.3,
        "the caller talks over the bot: {barge}"
    );
    // The README's first screen shows these columns of this very run: it
    // must be what the run writes, cell for cell.
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.starts_with("$ cut -d, -f"));
    let cmd = lines.next().expect("the README shows a cut of calls.csv");
    let fields: Vec<usize> = cmd["$ cut -d, -f".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .split(',')
        .map(|f| f.parse::<usize>().unwrap() - 1)
        .collect();
    let shown: Vec<&str> = lines.take_while(|l| !l.starts_with("```")).collect();
    let csv_text = fs::read_to_string(out.join("calls.csv")).unwrap();
    let actual: Vec<String> = csv_text
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            fields
                .iter()
                .map(|i| cells.get(*i).copied().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    assert_eq!(shown, actual, "the README's sample output");
    assert_eq!(barge["speech_caller_interruptions"], 1);
    assert_eq!(barge["intents_failed"], 1);
    assert_eq!(get("e1f2a3b4")["status"], "error");
    assert_eq!(get("9f1c2e4b")["state"], "crashed");
}

/// One problem, one finding: the sample call whose transcript was cut off
/// has one finding, the parse error, which names the analyzers it cost;
/// and its messages name the file relative to the recording.
#[test]
fn a_cut_transcript_is_one_finding_naming_what_it_cost() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, _, err) = run(&[
        "run",
        path_str(&sample_recordings()),
        "-o",
        path_str(&out),
        "-q",
    ]);
    assert_eq!(code, 1, "{err}");
    let findings = fs::read_to_string(out.join("findings.csv")).unwrap();
    let cut: Vec<&str> = findings
        .lines()
        .filter(|l| l.starts_with("e1f2a3b4"))
        .collect();
    assert_eq!(cut.len(), 1, "{cut:#?}");
    assert!(
        cut[0].contains(
            ",json.parse,error,transcript.json,\"transcript.json: invalid JSON at line 14"
        ) && cut[0].ends_with("(not analyzed because of it: response_times, transcript)\""),
        "{}",
        cut[0]
    );
    assert!(!findings.contains("sample_recordings/"), "{findings}");
}

/// Every column of every CSV report is a lowercase snake_case identifier:
/// SQL takes it unquoted (DuckDB, Postgres, BigQuery, Spark).
#[test]
fn every_report_column_is_an_unquoted_sql_identifier() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, _, err) = run(&[
        "run",
        path_str(&sample_recordings()),
        "-o",
        path_str(&out),
        "-q",
    ]);
    assert_eq!(code, 1, "{err}");
    let ident = |c: &str| {
        c.starts_with(|ch: char| ch.is_ascii_lowercase())
            && c.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
    };
    let mut seen = 0;
    for e in fs::read_dir(&out).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "csv") {
            let text = fs::read_to_string(&p).unwrap();
            for c in text.lines().next().unwrap().split(',') {
                assert!(ident(c), "{}: column {c:?}", p.display());
                seen += 1;
            }
        }
    }
    assert!(seen > 50, "{seen} columns");
    for row in calls(&out) {
        assert!(row.as_object().unwrap().keys().all(|k| ident(k)), "{row}");
    }
}

/// `segments.csv`: one row per event on the call's clock. Its speech,
/// overlap and silence rows add up to the call's columns, its speech rows
/// cover the simulator's true speech, and every function call is there.
#[test]
fn segments_are_the_calls_events_and_add_up_to_its_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 4, 40, &["--seed", "21"]);
    let out = tmp.path().join("out");
    run_ok(&rec, &out, &[]);
    let mut by_call: BTreeMap<String, Vec<(String, f64, f64, f64)>> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(out.join("segments.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "recording",
            "kind",
            "party",
            "start_s",
            "end_s",
            "duration_s"
        ]
    );
    for r in reader.records() {
        let r = r.unwrap();
        let f = |i: usize| r[i].parse::<f64>().unwrap();
        by_call
            .entry(r[0].to_string())
            .or_default()
            .push((r[1].to_string(), f(3), f(4), f(5)));
    }
    let rows = calls(&out);
    for t in truths(&truth) {
        let seg = &by_call[&t.recording];
        let row = rows
            .iter()
            .find(|r| r["recording"] == t.recording.as_str())
            .unwrap();
        let total = |kind: &str| seg.iter().filter(|s| s.0 == kind).map(|s| s.3).sum::<f64>();
        for (kind, column) in [
            ("caller_speech", "speech_caller_talk_s"),
            ("bot_speech", "speech_bot_talk_s"),
            ("overlap", "speech_overlap_s"),
            ("silence", "speech_silence_s"),
        ] {
            let want = row[column].as_f64().unwrap();
            assert!(
                (total(kind) - want).abs() < 0.02,
                "{}: {kind} {} vs {column} {want}",
                t.recording,
                total(kind)
            );
        }
        // In time order.
        assert!(seg.windows(2).all(|w| w[0].1 <= w[1].1), "{}", t.recording);
        // The true speech is covered by the detected segments.
        for (kind, spans) in [
            ("caller_speech", &t.caller_speech),
            ("bot_speech", &t.bot_speech),
        ] {
            let truth_s: f64 = spans.iter().map(|s| s[1] - s[0]).sum();
            let covered: f64 = spans
                .iter()
                .map(|s| {
                    seg.iter()
                        .filter(|g| g.0 == kind)
                        .map(|g| (g.2.min(s[1]) - g.1.max(s[0])).max(0.0))
                        .sum::<f64>()
                })
                .sum();
            assert!(
                covered / truth_s > 0.9,
                "{} {kind}: {covered:.2} of {truth_s:.2} s",
                t.recording
            );
        }
        assert_eq!(
            seg.iter().filter(|s| s.0 == "function_call").count(),
            t.function_calls.len(),
            "{}",
            t.recording
        );
        // Interruption time by interrupter, as the segments have it.
        let by = |party: &str| -> f64 {
            let mut r = csv::Reader::from_path(out.join("segments.csv")).unwrap();
            r.records()
                .map(|x| x.unwrap())
                .filter(|x| {
                    &x[0] == t.recording.as_str() && &x[1] == "interruption" && &x[2] == party
                })
                .map(|x| x[5].parse::<f64>().unwrap())
                .sum()
        };
        for party in ["caller", "bot"] {
            let col = row[format!("speech_{party}_interruption_s")]
                .as_f64()
                .unwrap();
            assert!(
                (col - by(party)).abs() < 0.005,
                "{}: {party} {col} vs {}",
                t.recording,
                by(party)
            );
        }
        // Time to first audio, against the bot's first true speech.
        let first = row["speech_first_response_s"].as_f64().unwrap();
        assert!(
            (first - t.bot_speech[0][0]).abs() < 0.1,
            "{}: {first} vs {:?}",
            t.recording,
            t.bot_speech[0]
        );
        // Long silences are the silence rows at least --silence-min long.
        let long = seg
            .iter()
            .filter(|s| s.0 == "silence" && s.3 >= 3.0 - 0.0005)
            .count();
        assert_eq!(
            row["speech_long_silences"].as_u64().unwrap() as usize,
            long,
            "{}",
            t.recording
        );
    }
    // Another threshold (Google CCAI Insights counts silences over 5 s); a
    // tighter one counts more.
    let short = tmp.path().join("short");
    run_ok(&rec, &short, &["--silence-min", "1.5"]);
    let total = |dir: &Path| -> u64 {
        calls(dir)
            .iter()
            .map(|r| r["speech_long_silences"].as_u64().unwrap())
            .sum()
    };
    assert!(
        total(&short) > total(&out),
        "{} vs {}",
        total(&short),
        total(&out)
    );
    let (code, _, err) = run(&[
        "run",
        path_str(&rec),
        "-o",
        path_str(&short),
        "--replace",
        "--silence-min",
        "0",
    ]);
    assert_eq!(code, 2, "{err}");
}
