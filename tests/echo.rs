//! Acoustic echo (`simulate --line echo`): a speakerphone puts the bot's
//! own voice back on the caller's line. A detector hearing one track counts
//! it as the caller; `run` holds the bot's heard audio, estimates the echo's
//! path and leaves out what it explains, end to end on the binary.

mod common;

use std::collections::BTreeMap;
use std::fs;

use common::*;

/// Echo calls and clean calls of one seed, one `run`: on the echo calls
/// the caller's talk time is within 10 % of the truth (the echo alone is
/// 80–150 % more: every one of these calls fails without it), no barge-in
/// or backchannel is made of echo, and the echo's delay and return loss are
/// the simulator's; on the clean calls no echo is reported and nothing
/// changes.
#[test]
fn the_bots_echo_is_not_the_caller() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(
        tmp.path(),
        8,
        35,
        &["--line", "echo,echo,echo,clean", "--seed", "5"],
    );
    let out = tmp.path().join("out");
    ok(&["run", path_str(&rec), "-o", path_str(&out), "-q"]);
    let rows: BTreeMap<String, serde_json::Value> = calls(&out)
        .into_iter()
        .map(|c| (c["recording"].as_str().unwrap().to_string(), c))
        .collect();
    let codes = finding_codes(&out);
    let (mut barge, mut barge_truth, mut bc, mut bc_truth) = (0, 0, 0, 0);
    let mut echo_calls = 0;
    for t in truths(&truth) {
        let row = &rows[&t.recording];
        let what = format!("{} {}: {row}", t.recording, t.line);
        let talk = row["speech_caller_talk_s"].as_f64().unwrap();
        let found_codes = codes.get(&t.recording).cloned().unwrap_or_default();
        let has_echo_finding = found_codes.iter().any(|c| c == "line.echo");
        if t.line == "clean" {
            assert!(row["speech_echo_delay_s"].is_null(), "{what}");
            assert!(row["speech_echo_return_loss_db"].is_null(), "{what}");
            assert!(!has_echo_finding, "{what}");
            assert!((talk - t.caller_talk_s).abs() < 0.1, "{what}");
            continue;
        }
        echo_calls += 1;
        assert!(
            (talk - t.caller_talk_s).abs() <= 0.1 * t.caller_talk_s,
            "{what}: caller talk {talk} s, truth {} s",
            t.caller_talk_s
        );
        let delay = row["speech_echo_delay_s"].as_f64().unwrap();
        let truth_delay = t.echo_delay_s.unwrap();
        // The envelope's peak lags the direct path a little: the room's
        // reflections come after it.
        assert!(
            delay >= truth_delay - 0.005 && delay <= truth_delay + 0.03,
            "{what}: delay {delay}, truth {truth_delay}"
        );
        let loss = row["speech_echo_return_loss_db"].as_f64().unwrap();
        let truth_loss = t.echo_return_loss_db.unwrap();
        assert!(
            (loss - truth_loss).abs() < 3.0,
            "{what}: loss {loss}, truth {truth_loss}"
        );
        assert!(has_echo_finding, "{what}: {found_codes:?}");
        assert_eq!(row["status"], "warning", "{what}");
        barge += row["speech_barge_ins"].as_u64().unwrap();
        barge_truth += t.barge_ins.len() as u64;
        bc += row["speech_backchannels"].as_u64().unwrap();
        bc_truth += t.backchannels.len() as u64;
    }
    assert_eq!(echo_calls, 6);
    // Barge-ins and backchannels happen over the bot's voice, where its echo
    // is: found one for one (the echo made 4 barge-ins a call before).
    assert_eq!((barge, bc), (barge_truth, bc_truth));
    // The finding says what the listener hears, in the recording's terms.
    let findings = fs::read_to_string(out.join("findings.csv")).unwrap();
    assert!(
        findings.contains("the bot's own voice comes back on the caller's line"),
        "{findings}"
    );
}

/// Every detector runs beside the echo: frame energy and the network on
/// every frame are as far from the echo as the default.
#[test]
fn every_detector_leaves_the_echo_out() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 3, 35, &["--line", "echo", "--seed", "8"]);
    let truths = truths(&truth);
    for vad in ["energy", "earshot-full"] {
        let out = tmp.path().join(vad);
        ok(&[
            "run",
            path_str(&rec),
            "-o",
            path_str(&out),
            "--vad",
            vad,
            "-q",
        ]);
        for c in calls(&out) {
            let t = truths
                .iter()
                .find(|t| t.recording == c["recording"].as_str().unwrap())
                .unwrap();
            let talk = c["speech_caller_talk_s"].as_f64().unwrap();
            assert!(
                (talk - t.caller_talk_s).abs() <= 0.1 * t.caller_talk_s,
                "{vad} {}: caller talk {talk} s, truth {} s",
                t.recording,
                t.caller_talk_s
            );
        }
    }
}
