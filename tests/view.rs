//! The viewer commands end to end: list, show, export, play.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use serde_json::Value;

#[test]
fn show_json_has_the_summary_and_the_transcript_on_the_calls_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 2, 20, &["--seed", "6"]);
    let t = &truths(&truth)[0];
    let out = ok(&[
        "show",
        "--root",
        path_str(&rec),
        &t.recording[..12],
        "--json",
        "--transcript",
        "--events",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["recording"], t.recording.as_str());
    assert_eq!(v["session_id"], t.session_id.as_str());
    assert_eq!(v["start_time"].as_str().unwrap()[..19], t.start_time[..19]);
    assert_eq!(v["sample_rate"], 16000);
    assert_eq!(v["turns"], t.turns);
    assert_eq!(v["function_call_count"], t.function_calls.len());
    assert_eq!(v["state"], "complete");
    assert_eq!(v["check"]["status"], "ok");
    assert!((v["audio_s"]["caller"].as_f64().unwrap() - t.duration_s).abs() < 0.001);
    let lines = v["transcript"].as_array().unwrap();
    assert_eq!(lines.len(), t.transcript_entries);
    // Each entry's end is its timestamp on the call's clock; the seed's
    // transcript latencies come back from those ends.
    let ends: Vec<f64> = lines.iter().map(|l| l["end_s"].as_f64().unwrap()).collect();
    assert!(ends.windows(2).all(|w| w[0] <= w[1]), "in order");
    let mut k = 0;
    for w in lines.windows(2) {
        if w[0]["channel"] == "caller" && w[1]["channel"] == "bot" {
            let lat = w[1]["end_s"].as_f64().unwrap() - w[0]["end_s"].as_f64().unwrap();
            assert!((lat - t.transcript_turns[k].latency_s).abs() < 0.002);
            k += 1;
        }
    }
    assert_eq!(k, t.transcript_turns.len());
    assert_eq!(v["events"][0]["event_type"], "recording_started");
    assert_eq!(v["events"][0]["at_s"], 0.0);
}

#[test]
fn show_latest_and_the_human_view() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 3, 10, &[]);
    let latest = truths(&truth)
        .into_iter()
        .max_by(|a, b| a.start_time.cmp(&b.start_time))
        .unwrap();
    let out = ok(&["show", "--latest", "--root", path_str(&rec)]);
    assert!(
        out.starts_with(&format!("Recording    {}", latest.recording)),
        "{out}"
    );
    assert!(out.contains("\nTranscript\n") && out.contains("\nFunction calls\n"));
    assert!(!out.contains('\x1b'), "no colour when not a terminal");
    let first_bot = out.lines().find(|l| l.contains("] Bot ")).unwrap();
    assert!(first_bot.starts_with("  [00:0"), "{first_bot}");
    let (code, _, err) = run(&["show", "--root", path_str(&rec), "nothing-like-this"]);
    assert_eq!(code, 2);
    assert!(err.contains("no recording 'nothing-like-this'"), "{err}");
}

/// A recording with a transcript the test wrote.
fn with_transcript(tmp: &Path, texts: &[(&str, &str, f64)]) -> std::path::PathBuf {
    let (rec, truth) = simulate(tmp, 1, 8, &[]);
    let t = &truths(&truth)[0];
    let dir = rec.join(&t.recording);
    let start = callscope::recording::parse_timestamp(&t.start_time).unwrap();
    let entries: Vec<Value> = texts
        .iter()
        .map(|(ch, text, at)| {
            let ts = start + chrono::Duration::milliseconds((at * 1000.0) as i64);
            serde_json::json!({
                "timestamp": callscope::recording::Timestamp::isoformat(ts).raw,
                "channel": ch, "type": if *ch == "caller" { "input" } else { "output" },
                "text": text, "confidence": null, "duration_ms": 1500.0,
            })
        })
        .collect();
    let path = dir.join("transcript.json");
    let mut v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    v["entries"] = Value::Array(entries);
    fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    dir
}

#[test]
fn export_txt_json_and_webvtt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_transcript(
        tmp.path(),
        &[
            ("bot", "Hello, how can I help?", 2.0),
            ("caller", "My card was stolen.", 5.25),
            ("bot", "I blocked it.", 8.5),
        ],
    );
    let txt = ok(&["export", path_str(&dir)]);
    let lines: Vec<&str> = txt.lines().skip(1).collect();
    assert_eq!(
        lines,
        vec![
            "[00:00.500] Bot: Hello, how can I help?",
            "[00:03.750] Caller: My card was stolen.",
            "[00:07.000] Bot: I blocked it."
        ]
    );
    let json: Value =
        serde_json::from_str(&ok(&["export", path_str(&dir), "--format", "json"])).unwrap();
    assert_eq!(json["entries"][1]["end_s"], 5.25);
    assert_eq!(json["entries"][1]["start_s"], 3.75);

    let out = tmp.path().join("captions.vtt");
    ok(&[
        "export",
        path_str(&dir),
        "--format",
        "vtt",
        "-o",
        path_str(&out),
    ]);
    let vtt = fs::read_to_string(&out).unwrap();
    // A minimal WebVTT parse: header, then cues of id, timing line, payload.
    let mut blocks = vtt.split("\n\n").filter(|b| !b.trim().is_empty());
    assert_eq!(blocks.next().unwrap(), "WEBVTT");
    let parse = |t: &str| -> f64 {
        let p: Vec<f64> = t.split(':').map(|x| x.parse().unwrap()).collect();
        p[0] * 3600.0 + p[1] * 60.0 + p[2]
    };
    let cues: Vec<(f64, f64, String)> = blocks
        .map(|b| {
            let l: Vec<&str> = b.lines().collect();
            let (a, z) = l[1].split_once(" --> ").unwrap();
            (parse(a), parse(z), l[2].to_string())
        })
        .collect();
    assert_eq!(cues.len(), 3);
    assert_eq!(
        cues[0],
        (0.5, 2.0, "<v Bot>Hello, how can I help?".to_string())
    );
    assert_eq!(cues[1].0, 3.75);
    assert_eq!(cues[1].1, 5.25);
    assert_eq!(cues[2].2, "<v Bot>I blocked it.");
}

#[test]
fn redaction_masks_cards_phones_and_emails_but_not_ordinary_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_transcript(
        tmp.path(),
        &[
            (
                "caller",
                "My card is 4111 1111 1111 1111 and the old one 4111 1111 1111 1112.",
                3.0,
            ),
            (
                "caller",
                "Call me on 555 0142 or +86 138 0013 8000, mail jane@example.com, account 98765432.",
                6.0,
            ),
            (
                "bot",
                "That took 45 seconds; your balance is 2400 dollars, card ending 4821.",
                9.0,
            ),
        ],
    );
    let txt = ok(&["export", path_str(&dir), "--redact"]);
    assert!(txt.contains("**** **** **** 1111"), "{txt}");
    assert!(!txt.contains("4111 1111 1111 1111"));
    assert!(
        txt.contains("the old one [number]."),
        "a Luhn-invalid number is not a card, but it is masked all the same: {txt}"
    );
    assert!(!txt.contains("1112"), "{txt}");
    assert!(
        txt.contains("Call me on [phone] or [phone], mail [email], account [number]."),
        "{txt}"
    );
    assert!(
        txt.contains("That took 45 seconds; your balance is 2400 dollars, card ending 4821."),
        "{txt}"
    );
    let plain = ok(&["export", path_str(&dir)]);
    assert!(plain.contains("4111 1111 1111 1111"), "only --redact masks");
}

#[test]
fn play_hands_the_track_to_the_player() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 1, 8, &[]);
    let t = &truths(&truth)[0];
    let log = tmp.path().join("args.txt");
    let player = tmp.path().join("fake-player");
    fs::write(
        &player,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display()),
    )
    .unwrap();
    fs::set_permissions(&player, fs::Permissions::from_mode(0o755)).unwrap();
    let p = format!("{} --volume 3", player.display());
    ok(&[
        "play",
        "--root",
        path_str(&rec),
        &t.recording,
        "--player",
        &p,
    ]);
    ok(&[
        "play",
        "--root",
        path_str(&rec),
        &t.recording,
        "--player",
        &p,
        "--track",
        "caller",
    ]);
    let lines: Vec<String> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let dir = rec.join(&t.recording);
    assert_eq!(
        lines[0],
        format!(
            "--volume 3 {}",
            dir.join("final_stereo_recording.wav").display()
        )
    );
    assert_eq!(
        lines[1],
        format!("--volume 3 {}", dir.join("caller_audio.wav").display())
    );

    let (code, _, err) = run(&[
        "play",
        "--root",
        path_str(&rec),
        &t.recording,
        "--track",
        "aligned",
        "--player",
        &p,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("repair --aligned"), "{err}");
    // With no player on PATH, the message names the ones tried.
    let out = bin()
        .args(["play", "--root", path_str(&rec), &t.recording])
        .env("PATH", tmp.path().join("empty"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("no audio player found (tried: aplay, paplay, play, xdg-open)"),
        "{err}"
    );
}

#[test]
fn list_sorts_and_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 6, 10, &["--start", "2024-12-01T23:40:00Z"]);
    let truths = truths(&truth);
    let rows: Vec<Value> = serde_json::from_str(&ok(&[
        "list",
        path_str(&rec),
        "--json",
        "--sort",
        "duration",
    ]))
    .unwrap();
    let d: Vec<f64> = rows
        .iter()
        .map(|r| r["duration_s"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    let rows: Vec<Value> = serde_json::from_str(&ok(&[
        "list",
        path_str(&rec),
        "--json",
        "--since",
        "2024-12-02",
    ]))
    .unwrap();
    let want = truths
        .iter()
        .filter(|t| t.start_time.as_str() >= "2024-12-02")
        .count();
    assert_eq!(rows.len(), want);
    assert!(want > 0 && want < 6);
    let rows: Vec<Value> =
        serde_json::from_str(&ok(&["list", path_str(&rec), "--json", "--sort", "start"])).unwrap();
    let s: Vec<&str> = rows
        .iter()
        .map(|r| r["start_time"].as_str().unwrap())
        .collect();
    assert!(s.windows(2).all(|w| w[0] <= w[1]));
}

/// `export -o NAME` with a bare file name writes it in the current
/// directory (its temporary file beside it, then renamed).
#[test]
fn export_to_a_bare_file_name_in_the_current_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = sample_recordings().join("7c9e6679-7425-40de-944b-e07fc1f90ae7_20241201_143022");
    let out = bin()
        .args(["export", path_str(&rec), "-o", "call.txt"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(tmp.path().join("call.txt")).unwrap();
    assert!(text.contains("Caller:"), "{text}");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}
