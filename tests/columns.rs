//! Report columns recomputed from the recording's own files with plain
//! arithmetic, a sample or an entry at a time: the quality levels from the
//! WAVs (on tracks made louder until they clip), the transcript's words,
//! confidence and utterances from transcript.json, and the run's totals of
//! both in summary.json.

mod common;

use std::fs;
use std::path::Path;

use chrono::{DateTime, Utc};
use common::*;
use serde_json::Value;

fn read(path: &Path) -> (Vec<i16>, u16, u32) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let samples = r.samples::<i16>().map(Result::unwrap).collect();
    (samples, spec.channels, spec.sample_rate)
}

/// Make one party `gain` times louder, clipping at full scale, in every
/// file that holds its samples (its mono track and its channel of both
/// stereo files), so the recording stays consistent.
fn amplify(rec: &Path, party: &str, gain: i32) {
    let loud = |s: i16| (i32::from(s) * gain).clamp(i16::MIN.into(), i16::MAX.into()) as i16;
    let (mono, channel) = match party {
        "caller" => ("caller_audio.wav", 0),
        _ => ("bot_audio.wav", 1),
    };
    for (file, ch) in [
        (mono, None),
        ("stereo_recording.wav", Some(channel)),
        ("final_stereo_recording.wav", Some(channel)),
    ] {
        let path = rec.join(file);
        let (mut samples, channels, rate) = read(&path);
        for (i, s) in samples.iter_mut().enumerate() {
            if ch.is_none_or(|c| i % 2 == c) {
                *s = loud(*s);
            }
        }
        callscope::audio::write_wav(&path, channels, rate, &samples).unwrap();
    }
}

/// What the quality analyzer should say of a track, sample by sample:
/// (rms dBFS, peak dBFS, clipped %, dead air s).
fn levels(samples: &[i16], rate: u32) -> (Option<f64>, Option<f64>, f64, f64) {
    let n = samples.len() as f64;
    let power: f64 = samples.iter().map(|s| f64::from(*s).powi(2)).sum();
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    let db = |x: f64| (x > 0.0).then(|| 20.0 * (x / 32768.0).log10());
    let clipped = samples
        .iter()
        .filter(|s| **s == i16::MAX || **s == i16::MIN)
        .count();
    // Runs of zeros of 100 ms or more.
    let min_run = (0.1 * f64::from(rate)) as usize;
    let (mut dead, mut run) = (0usize, 0usize);
    for s in samples.iter().chain([&1]) {
        if *s == 0 {
            run += 1;
        } else {
            if run >= min_run {
                dead += run;
            }
            run = 0;
        }
    }
    (
        db((power / n).sqrt()),
        db(f64::from(peak)),
        clipped as f64 * 100.0 / n,
        dead as f64 / f64::from(rate),
    )
}

fn close(got: &Value, want: Option<f64>, decimals: i32, what: &str) {
    match want {
        None => assert!(got.is_null(), "{what}: {got} for no value"),
        Some(w) => {
            let g = got.as_f64().unwrap_or_else(|| panic!("{what}: {got}"));
            let half = 0.5 * 10f64.powi(-decimals) + 1e-9;
            assert!((g - w).abs() <= half, "{what}: {g} vs {w}");
        }
    }
}

fn utc(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn quality_and_transcript_columns_are_what_the_files_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, _) = simulate(tmp.path(), 3, 20, &["--seed", "5"]);
    let mut recs: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    recs.sort();
    amplify(&recs[0], "caller", 12);
    amplify(&recs[1], "bot", 12);
    let out = tmp.path().join("out");
    ok(&["run", path_str(&root), "--out", path_str(&out), "--quiet"]);
    let rows = calls(&out);
    assert_eq!(rows.len(), 3);

    let mut dead_total = [0.0, 0.0];
    let mut clipped_calls = [0, 0];
    let (mut entries, mut words, mut low_total) = (0, [0, 0], 0);
    let mut utterances = csv::Reader::from_path(out.join("utterances.csv")).unwrap();
    let mut utterances = utterances.records().map(Result::unwrap);
    for (rec, row) in recs.iter().zip(&rows) {
        let name = rec.file_name().unwrap().to_str().unwrap();
        assert_eq!(row["recording"], name);
        assert_eq!(row["status"], "ok", "{name}: made louder consistently");

        for (i, (party, file)) in [("caller", "caller_audio.wav"), ("bot", "bot_audio.wav")]
            .into_iter()
            .enumerate()
        {
            let (samples, _, rate) = read(&rec.join(file));
            let (rms, peak, clipped, dead) = levels(&samples, rate);
            let col = |c: &str| &row[format!("quality_{party}_{c}")];
            let what = |c: &str| format!("{name} {party} {c}");
            close(col("rms_dbfs"), rms, 2, &what("rms"));
            close(col("peak_dbfs"), peak, 2, &what("peak"));
            close(col("clipped_pct"), Some(clipped), 4, &what("clipped"));
            close(col("dead_air_s"), Some(dead), 3, &what("dead air"));
            dead_total[i] += dead;
            clipped_calls[i] += usize::from(clipped > 0.0);
        }

        let t = read_json(&rec.join("transcript.json"));
        let start = utc(&read_json(&rec.join("call_metadata.json"))["start_time"]);
        let list = t["entries"].as_array().unwrap();
        let count = |party: &str| -> usize {
            list.iter()
                .filter(|e| e["channel"] == party)
                .map(|e| e["text"].as_str().unwrap().split_whitespace().count())
                .sum()
        };
        let conf: Vec<f64> = list
            .iter()
            .filter_map(|e| e["confidence"].as_f64())
            .collect();
        let low = conf.iter().filter(|c| **c < 0.6).count();
        assert_eq!(row["transcript_entries"], list.len(), "{name}");
        assert_eq!(row["transcript_caller_words"], count("caller"), "{name}");
        assert_eq!(row["transcript_bot_words"], count("bot"), "{name}");
        assert_eq!(row["transcript_low_confidence"], low, "{name}");
        close(
            &row["transcript_mean_confidence"],
            Some(conf.iter().sum::<f64>() / conf.len() as f64),
            4,
            &format!("{name} mean confidence"),
        );
        // Words per minute of the party's talk time: the caller's is the
        // speech column's (rounded to the millisecond); the bot's is over
        // its own track, where nothing is cut and a turn's edges are not
        // trimmed, so at least its talk as heard and not much more.
        let wpm = |party: &str| {
            let talk = row[format!("speech_{party}_talk_s")].as_f64().unwrap();
            let got = row[format!("transcript_{party}_wpm")].as_f64().unwrap();
            (got, count(party) as f64 * 60.0 / talk)
        };
        let (got, want) = wpm("caller");
        assert!(
            (got - want).abs() < 0.1,
            "{name} caller wpm {got} vs {want}"
        );
        let (got, heard) = wpm("bot");
        assert!(
            got <= heard + 0.05 && got > 0.9 * heard,
            "{name} bot wpm {got} vs {heard} as heard"
        );
        // utterances.csv: every entry in order, on the call's clock.
        for (i, e) in list.iter().enumerate() {
            let u = utterances.next().unwrap();
            assert_eq!(&u[0], name);
            assert_eq!(u[1].parse::<usize>().unwrap(), i + 1);
            assert_eq!(&u[2], e["channel"].as_str().unwrap());
            let at = (utc(&e["timestamp"]) - start).num_microseconds().unwrap() as f64 / 1e6;
            close(&u[3].parse::<f64>().unwrap().into(), Some(at), 3, "at_s");
            let d = e["duration_ms"].as_f64().unwrap() / 1000.0;
            close(
                &u[4].parse::<f64>().unwrap().into(),
                Some(d),
                3,
                "duration_s",
            );
        }
        entries += list.len();
        words[0] += count("caller");
        words[1] += count("bot");
        low_total += low;
    }
    assert!(utterances.next().is_none());
    // The louder tracks clip; the simulator's own never do.
    assert_eq!(clipped_calls, [1, 1]);
    assert!(rows[0]["quality_caller_clipped_pct"].as_f64().unwrap() > 0.1);
    assert!(low_total > 0, "some confidence under 0.6 is counted");

    let summary = read_json(&out.join("summary.json"));
    let q = &summary["analyzers"]["quality"];
    assert_eq!(q["caller_calls_clipped"], 1);
    assert_eq!(q["bot_calls_clipped"], 1);
    close(
        &q["caller_dead_air_s"],
        Some(dead_total[0]),
        3,
        "caller dead air",
    );
    close(&q["bot_dead_air_s"], Some(dead_total[1]), 3, "bot dead air");
    assert!(
        dead_total[1] > 1.0,
        "the bot's TTS leaves dead air: {dead_total:?}"
    );
    let t = &summary["analyzers"]["transcript"];
    assert_eq!(t["entries"], entries);
    assert_eq!(t["caller_words"], words[0]);
    assert_eq!(t["bot_words"], words[1]);
    assert_eq!(t["low_confidence"], low_total);
}

/// A sample call copied to `root/name`, its files changed by `edit`.
fn sample_call(root: &Path, name: &str, edit: impl FnOnce(&Path)) {
    let from = sample_recordings().join("7c9e6679-7425-40de-944b-e07fc1f90ae7_20241201_143022");
    let to = root.join(name);
    fs::create_dir_all(root).unwrap();
    copy_tree(&from, &to, false);
    edit(&to);
}

/// `run --analyzers NAME` over `root`: (exit code, calls.csv rows as
/// JSON, findings.csv lines).
fn run_only(analyzer: &str, root: &Path, out: &Path) -> (i32, Vec<Value>, Vec<String>) {
    let (code, _, err) = run(&[
        "run",
        path_str(root),
        "--out",
        path_str(out),
        "--analyzers",
        analyzer,
        "--quiet",
    ]);
    let findings =
        fs::read_to_string(out.join("findings.csv")).unwrap_or_else(|e| panic!("{e}: {err}"));
    (
        code,
        calls(out),
        findings.lines().skip(1).map(str::to_string).collect(),
    )
}

#[test]
fn a_function_call_failed_when_its_result_says_so_either_way() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rec");
    sample_call(&root, "calls", |dir| {
        edit_json(&dir.join("call_metadata.json"), |m| {
            let call = |name: &str, result: Value| {
                serde_json::json!({"timestamp": "2024-12-01T14:30:27+00:00",
                    "function_name": name, "arguments": {}, "result": result,
                    "call_id": name})
            };
            let calls = m["function_calls"].as_array_mut().unwrap();
            calls.push(call(
                "lookup_order",
                serde_json::json!({"status": "success", "error": null}),
            ));
            calls.push(call("refund", serde_json::json!({"error": "timeout"})));
            calls.push(call("transfer", serde_json::json!({"status": "failed"})));
        });
    });
    let out = tmp.path().join("out");
    let (_, rows, findings) = run_only("intents", &root, &out);
    // The events file logs only the first (nothing else is wrong).
    let codes: Vec<&str> = findings
        .iter()
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(codes, ["meta.function_calls"], "{findings:?}");
    assert_eq!(rows[0]["intents_function_calls"], 4);
    assert_eq!(rows[0]["intents_intents"], "lost_card");
    // An error with no status failed (refund); a null error with success
    // did not (lookup_order).
    assert_eq!(rows[0]["intents_failed"], 2);
    let table = fs::read_to_string(out.join("intents.csv")).unwrap();
    assert_eq!(
        table,
        "kind,name,calls,recordings,failed\n\
         function,call_intent,1,1,0\n\
         function,lookup_order,1,1,0\n\
         intent,lost_card,1,1,0\n\
         function,refund,1,1,1\n\
         function,transfer,1,1,1\n"
    );
}

/// One problem, one finding: when neither the metadata nor the events can
/// say what functions were called, the intents analyzer's failure is named
/// on the finding of the file that could have said it.
#[test]
fn function_calls_nothing_can_read_cost_intents_on_that_files_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rec");
    // Both files broken: the metadata's parse error is named.
    sample_call(&root, "a", |dir| {
        fs::write(dir.join("call_metadata.json"), "{\"broken").unwrap();
        fs::write(dir.join("session_events.json"), "[broken").unwrap();
    });
    // The metadata rebuilt after a crash (its function calls are not the
    // recorder's), the events broken: the events' parse error is named.
    sample_call(&root, "b", |dir| {
        edit_json(&dir.join("call_metadata.json"), |m| {
            m["recovered"] = true.into();
        });
        fs::write(dir.join("session_events.json"), "[broken").unwrap();
    });
    let (code, rows, findings) = run_only("intents", &root, &tmp.path().join("out"));
    assert_eq!(code, 1);
    assert!(
        rows.iter().all(|r| r["intents_function_calls"].is_null()),
        "{rows:?}"
    );
    let named: Vec<String> = findings
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.splitn(5, ',').collect();
            let cost = l.ends_with("(not analyzed because of it: intents)\"");
            format!("{} {} {} {cost}", f[0], f[1], f[3])
        })
        .collect();
    assert_eq!(
        named,
        [
            "a json.parse call_metadata.json true",
            "a json.parse session_events.json false",
            "b json.parse session_events.json true",
            "b meta.recovered call_metadata.json false",
        ]
    );
}

/// The transcript analyzer reads the audio (for words per minute), so a run
/// of it alone checks the tracks' headers and reports the call's rate; a
/// confidence of exactly 0.6 is not low.
#[test]
fn transcript_confidence_at_the_bound_and_the_audio_it_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rec");
    sample_call(&root, "a", |dir| {
        edit_json(&dir.join("transcript.json"), |t| {
            let entries = t["entries"].as_array_mut().unwrap();
            entries[1]["confidence"] = 0.6.into();
            entries[2]["confidence"] = 0.59.into();
        });
    });
    sample_call(&root, "b", |dir| {
        set_rate(&dir.join("caller_audio.wav"), 1000);
    });
    let (code, rows, findings) = run_only("transcript", &root, &tmp.path().join("out"));
    assert_eq!(code, 1, "{findings:?}");
    assert_eq!(rows[0]["transcript_low_confidence"], 1);
    assert_eq!(rows[0]["transcript_mean_confidence"], 0.595);
    assert_eq!(rows[0]["sample_rate"], 16000);
    assert_eq!(rows[0]["findings"], 0);
    assert!(
        findings
            .iter()
            .any(|l| l.starts_with("b,wav.rate_invalid,error,caller_audio.wav,")),
        "{findings:?}"
    );
}

/// A transcript turn is a caller entry directly followed by a bot entry:
/// two entries of one party in a row are no turn, nor is a bot entry
/// followed by the caller's.
#[test]
fn transcript_turns_are_caller_then_bot_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rec");
    sample_call(&root, "a", |dir| {
        edit_json(&dir.join("transcript.json"), |t| {
            let entries = t["entries"].as_array_mut().unwrap();
            let again = |e: &Value, at: &str| {
                let mut e = e.clone();
                e["timestamp"] = at.into();
                e
            };
            // bot, bot, caller, caller, bot
            let (bot, caller) = (entries[0].clone(), entries[1].clone());
            entries.insert(1, again(&bot, "2024-12-01T14:30:24.000000+00:00"));
            entries.insert(2, again(&caller, "2024-12-01T14:30:26.000000+00:00"));
        });
    });
    let out = tmp.path().join("out");
    let (_, rows, _) = run_only("response_times", &root, &out);
    assert_eq!(rows[0]["rt_transcript_turns"], 1);
    // 14:30:26.838956 to 14:30:28.150481.
    assert_eq!(rows[0]["rt_transcript_max_s"], 1.312);
    let turns = fs::read_to_string(out.join("turns.csv")).unwrap();
    let transcript: Vec<&str> = turns
        .lines()
        .filter(|l| l.contains(",transcript,"))
        .collect();
    assert_eq!(transcript.len(), 1, "{turns}");
    assert!(
        transcript[0].starts_with("a,1,4.716,6.027,1.312,transcript,"),
        "{turns}"
    );
}

/// What each built-in reads, as `callscope plugins` lists it: it decides
/// whether a run checks the WAVs at all and which file's finding names an
/// analyzer's failure, and the listing is how a user learns it. Speech and
/// response times read the function calls (metadata, else events) for
/// their tool waits and each turn's intent.
#[test]
fn each_built_in_lists_the_files_it_reads() {
    let listing: Value = serde_json::from_str(&ok(&["plugins", "--json"])).unwrap();
    let needs: Vec<(String, String)> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let needs: Vec<&str> = a["needs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap())
                .collect();
            (a["name"].as_str().unwrap().to_string(), needs.join(" "))
        })
        .collect();
    let want = [
        (
            "response_times",
            "metadata transcript events audio timeline",
        ),
        ("speech", "metadata events audio timeline"),
        ("intents", "metadata events"),
        ("quality", "audio"),
        ("transcript", "transcript audio"),
    ];
    assert_eq!(
        needs,
        want.map(|(a, n)| (a.to_string(), n.to_string())),
        "{listing}"
    );
    for a in listing.as_array().unwrap() {
        assert_eq!(a["version"], env!("CARGO_PKG_VERSION"), "{a}");
        assert_eq!(a["source"], "built-in", "{a}");
        assert!(a["abi_version"].is_null(), "{a}");
    }
}

/// The report's manifest records each analyzer as it ran: its version, and
/// the options that change its numbers (only speech has one, the long
/// silence), which `merge` compares before joining reports.
#[test]
fn the_manifest_records_each_analyzer_s_version_and_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rec");
    sample_call(&root, "a", |_| ());
    let out = tmp.path().join("out");
    let (code, _, err) = run(&["run", path_str(&root), "--out", path_str(&out), "--quiet"]);
    assert_eq!(code, 0, "{err}");
    let manifest = read_json(&out.join("callscope-report.json"));
    let got: Vec<(String, String, Value)> = manifest["analyzers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["version"].as_str().unwrap().to_string(),
                a.get("settings").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    let v = env!("CARGO_PKG_VERSION").to_string();
    let none = Value::Null;
    assert_eq!(
        got,
        [
            ("response_times".into(), v.clone(), none.clone()),
            ("speech".into(), v.clone(), "silence_min_s=3".into()),
            ("intents".into(), v.clone(), none.clone()),
            ("quality".into(), v.clone(), none.clone()),
            ("transcript".into(), v, none),
        ]
    );
}

/// Each row of `turns.csv` against the files: its latency is the bot's start
/// minus the caller's end, its intent is that of the last function call
/// with one that call_metadata.json says was made at or before the bot
/// started to answer (none before the first), and summary.json's
/// distributions are over exactly these rows.
#[test]
fn each_turn_carries_the_intent_in_force_and_the_summary_is_over_the_turns() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 6, 60, &["--seed", "11"]);
    let out = tmp.path().join("out");
    let (code, _, _) = run_only("response_times", &rec, &out);
    assert_eq!(code, 0);
    let mut r = csv::Reader::from_path(out.join("turns.csv")).unwrap();
    let (mut before_any, mut with_intent) = (0, 0);
    let mut latencies: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for row in r.deserialize::<std::collections::HashMap<String, String>>() {
        let row = row.unwrap();
        let f = |c: &str| row[c].parse::<f64>().unwrap();
        let latency = f("bot_start_s") - f("caller_end_s");
        assert!((f("latency_s") - latency).abs() < 0.0011, "{row:?}");
        latencies
            .entry(row["source"].clone())
            .or_default()
            .push(f("latency_s"));
        let meta = read_json(&rec.join(&row["recording"]).join("call_metadata.json"));
        let start = utc(&meta["start_time"]);
        assert_eq!(utc(&row["start_time"].as_str().into()), start, "{row:?}");
        let mut calls: Vec<(f64, &str)> = meta["function_calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| {
                let at = utc(&c["timestamp"]) - start;
                Some((
                    at.num_microseconds()? as f64 / 1e6,
                    c["arguments"]["intent"].as_str()?,
                ))
            })
            .collect();
        calls.sort_by(|a, b| a.0.total_cmp(&b.0));
        let bot = f("bot_start_s");
        // bot_start_s is rounded to the millisecond: a call within one of
        // it could be on either side.
        if calls.iter().any(|c| (c.0 - bot).abs() < 0.001) {
            continue;
        }
        let want = calls.iter().rev().find(|c| c.0 <= bot).map_or("", |c| c.1);
        assert_eq!(row["intent"], want, "{row:?} {calls:?}");
        if want.is_empty() {
            before_any += 1;
        } else {
            with_intent += 1;
        }
    }
    assert!(
        before_any > 0 && with_intent > 0,
        "{before_any} {with_intent}"
    );
    let summary = read_json(&out.join("summary.json"));
    for (source, lat) in &latencies {
        let d = &summary["analyzers"]["response_times"][source];
        assert_eq!(d["count"], lat.len(), "{source}");
        let mean = lat.iter().sum::<f64>() / lat.len() as f64;
        assert!(
            (d["mean_s"].as_f64().unwrap() - mean).abs() < 0.0011,
            "{source}: {d} {mean}"
        );
        let max = lat.iter().copied().fold(f64::MIN, f64::max);
        assert!(
            (d["max_s"].as_f64().unwrap() - max).abs() < 0.0011,
            "{source}: {d} {max}"
        );
    }
    assert_eq!(latencies.len(), 2);
}

/// A caller track the analyzers cannot use as the call's mono track — two
/// channels, no samples, or a rate no phone line has — leaves the audio
/// columns unknown (null), never measured on the wrong samples or as zero.
#[test]
fn a_caller_track_that_is_not_one_usable_mono_track_is_not_measured() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rec");
    let rewrite = |dir: &Path, channels: u16, rate: Option<u32>, keep: bool| {
        let path = dir.join("caller_audio.wav");
        let (samples, _, old_rate) = read(&path);
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate.unwrap_or(old_rate),
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for s in samples.iter().filter(|_| keep) {
            for _ in 0..channels {
                w.write_sample(*s).unwrap();
            }
        }
        w.finalize().unwrap();
    };
    sample_call(&root, "a-stereo", |d| rewrite(d, 2, None, true));
    sample_call(&root, "b-empty", |d| rewrite(d, 1, None, false));
    sample_call(&root, "c-rate", |d| rewrite(d, 1, Some(3), true));
    sample_call(&root, "d-fine", |_| ());
    let (_, rows, _) = run_only("speech,quality", &root, &tmp.path().join("out"));
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["recording"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a-stereo", "b-empty", "c-rate", "d-fine"]);
    for r in &rows[..3] {
        for c in [
            "speech_caller_talk_s",
            "quality_caller_rms_dbfs",
            "quality_caller_peak_dbfs",
        ] {
            assert!(r[c].is_null(), "{}: {c} {}", r["recording"], r[c]);
        }
    }
    for c in ["speech_caller_talk_s", "quality_caller_rms_dbfs"] {
        assert!(rows[3][c].as_f64().is_some(), "{c}: {}", rows[3]);
    }
}
