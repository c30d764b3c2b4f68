//! `callscope list` end to end: on simulated corpora checked against their
//! ground truth, on the sample recordings, and on bad input.

mod common;

use common::*;
use serde_json::Value;

fn list_json(root: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["list", root, "--json"];
    args.extend_from_slice(extra);
    let out = ok(&args);
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn simulated_corpus_round_trips_through_list() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 24, 20, &["--faults", "all", "--seed", "7"]);
    let rows = list_json(path_str(&rec), &[]);
    let truths = truths(&truth);
    assert_eq!(rows.len(), 24);
    assert_eq!(truths.len(), 24);
    for (row, t) in rows.iter().zip(&truths) {
        let ctx = format!("{} ({})", t.recording, t.fault);
        assert_eq!(row["recording"], t.recording.as_str(), "{ctx}");
        assert_eq!(row["session_id"], t.session_id.as_str(), "{ctx}");
        assert_eq!(row["state"], t.expected_state.as_str(), "{ctx}");
        assert_eq!(row["sample_rate"], 16000, "{ctx}");
        let start = row["start_time"].as_str().unwrap();
        let want = callscope::recording::parse_timestamp(&t.start_time).unwrap();
        let got = callscope::recording::parse_timestamp(start).unwrap();
        if t.expected_state == "complete" {
            // The metadata's own start time, to the microsecond.
            assert_eq!(row["start_source"], "metadata", "{ctx}");
            assert_eq!(got, want, "{ctx}");
        } else {
            // No JSON: the directory-name stamp, whole seconds of the recorder's clock.
            assert_eq!(row["start_source"], "dir_name", "{ctx}");
            assert_eq!(got.timestamp(), want.timestamp(), "{ctx}");
        }
        let duration = row["duration_s"].as_f64().unwrap();
        assert!(
            (duration - t.duration_s).abs() < 0.001,
            "{ctx}: {duration} vs {}",
            t.duration_s
        );
        match t.fault.as_str() {
            "crashed" | "in-progress" => {
                assert!(row["turns"].is_null(), "{ctx}");
                assert!(row["function_calls"].is_null(), "{ctx}");
            }
            "broken-transcript" => {
                assert!(row["turns"].is_null(), "{ctx}");
                let problems = row["problems"].as_array().unwrap();
                assert_eq!(problems.len(), 1, "{ctx}");
                assert!(problems[0]
                    .as_str()
                    .unwrap()
                    .contains("transcript.json: invalid JSON at line"));
                assert_eq!(row["function_calls"], t.function_calls.len(), "{ctx}");
            }
            _ => {
                assert_eq!(row["turns"], t.turns, "{ctx}");
                assert_eq!(row["function_calls"], t.function_calls.len(), "{ctx}");
            }
        }
    }
}

#[test]
fn sample_rate_comes_from_the_header_not_an_assumption() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 2, 10, &["--rate", "24000"]);
    for row in list_json(path_str(&rec), &[]) {
        assert_eq!(row["sample_rate"], 24000);
    }
}

#[test]
fn sample_recordings_are_listed_with_their_state_and_source() {
    let root = sample_recordings();
    let (code, out, err) = run(&["list", path_str(&root), "--json", "--settle", "0"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let by_prefix = |p: &str| {
        rows.iter()
            .find(|r| r["recording"].as_str().unwrap().starts_with(p))
            .unwrap()
    };
    assert_eq!(rows.len(), 6);

    let normal = by_prefix("7c9e6679");
    assert_eq!(normal["start_time"], "2024-12-01T14:30:22.123456Z");
    assert_eq!(normal["start_source"], "metadata");
    assert_eq!(normal["sample_rate"], 16000);
    assert_eq!(normal["turns"], 3);
    assert_eq!(normal["function_calls"], 1);
    assert_eq!(normal["state"], "complete");

    assert_eq!(by_prefix("0b8a3d52")["sample_rate"], 24000);

    let crashed = by_prefix("9f1c2e4b");
    assert_eq!(crashed["state"], "crashed");
    assert_eq!(crashed["start_source"], "dir_name");
    assert_eq!(crashed["start_time"], "2024-12-03T18:12:05.000000Z");
    assert!(crashed["turns"].is_null());

    let underscored = by_prefix("session_123");
    assert_eq!(underscored["session_id"], "session_123");

    let broken = by_prefix("e1f2a3b4");
    assert!(broken["turns"].is_null());
    assert_eq!(broken["function_calls"], 1);
    // The broken file is named with its line and column, on stderr too.
    assert!(
        err.contains("transcript.json: invalid JSON at line 14, column"),
        "{err}"
    );
}

#[test]
fn fresh_files_without_json_are_in_progress_until_they_settle() {
    let root = sample_recordings();
    let rows = list_json(path_str(&root), &["--settle", "100000000"]);
    let crashed = rows
        .iter()
        .find(|r| r["recording"].as_str().unwrap().starts_with("9f1c2e4b"))
        .unwrap();
    assert_eq!(crashed["state"], "in-progress");
}

#[test]
fn name_tz_moves_directory_stamps_to_utc() {
    let root = sample_recordings();
    let rows = list_json(
        path_str(&root),
        &["--settle", "0", "--name-tz", "America/New_York"],
    );
    let crashed = rows
        .iter()
        .find(|r| r["recording"].as_str().unwrap().starts_with("9f1c2e4b"))
        .unwrap();
    // 18:12:05 in New York in December (UTC-5) is 23:12:05 UTC.
    assert_eq!(crashed["start_time"], "2024-12-03T23:12:05.000000Z");
    let (code, _, err) = run(&["list", path_str(&root), "--name-tz", "Nowhere/Special"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown time zone"), "{err}");
}

#[test]
fn human_table_has_a_row_per_recording() {
    let out = ok(&["list", path_str(&sample_recordings()), "--settle", "0"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("RECORDING"));
    assert_eq!(lines.len(), 1 + 6 + 1);
    assert!(lines.last().unwrap().contains("6 recording(s)"));
    let crashed = lines.iter().find(|l| l.starts_with("9f1c2e4b")).unwrap();
    assert!(crashed.ends_with("crashed"), "{crashed}");
}

#[test]
fn bad_roots_and_odd_trees() {
    let tmp = tempfile::tempdir().unwrap();
    // Missing root: a usage error naming the path.
    let missing = tmp.path().join("nope");
    let (code, _, err) = run(&["list", path_str(&missing)]);
    assert_eq!(code, 2);
    assert!(err.contains("nope"), "{err}");

    // Empty root: nothing to list, no error.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(list_json(path_str(&empty), &[]).len(), 0);

    // Nested layout, a hidden directory, a symlinked recording, a truncated WAV.
    let root = tmp.path().join("root");
    let (rec, _) = simulate(tmp.path(), 3, 8, &[]);
    let names: Vec<_> = {
        let mut v: Vec<_> = std::fs::read_dir(&rec)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    std::fs::create_dir_all(root.join("2024/12")).unwrap();
    std::fs::create_dir_all(root.join(".callscope/backup")).unwrap();
    std::fs::rename(
        &names[0],
        root.join("2024/12").join(names[0].file_name().unwrap()),
    )
    .unwrap();
    std::fs::rename(
        &names[1],
        root.join(".callscope/backup")
            .join(names[1].file_name().unwrap()),
    )
    .unwrap();
    std::os::unix::fs::symlink(&names[2], root.join("linked")).unwrap();
    let nested = root.join("2024/12").join(names[0].file_name().unwrap());
    let caller = nested.join("caller_audio.wav");
    let bytes = std::fs::read(&caller).unwrap();
    std::fs::write(&caller, &bytes[..30]).unwrap();

    let (code, out, err) = run(&["list", path_str(&root), "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.len(), 1, "only the nested recording: {out}");
    assert!(rows[0]["recording"]
        .as_str()
        .unwrap()
        .starts_with("2024/12/"));
    // The caller header is cut short; the rate still comes from the other WAVs.
    assert_eq!(rows[0]["sample_rate"], 16000);
    assert!(err.contains("linked: symlink (not followed)"), "{err}");
}
