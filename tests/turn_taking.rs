//! What the caller heard, and the turn-taking measures, end to end against
//! the simulator's truth: barge-ins the bridge cancels, backchannels it
//! talks through, answers that start before the caller has finished, turns
//! nobody answers, calls that end mid-answer, and the wait on tools.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;

/// recording → (kind, start_s, end_s) of every row of segments.csv.
fn segments(out: &Path) -> BTreeMap<String, Vec<(String, f64, f64)>> {
    let mut m: BTreeMap<String, Vec<(String, f64, f64)>> = BTreeMap::new();
    let mut r = csv::Reader::from_path(out.join("segments.csv")).unwrap();
    for row in r.records() {
        let row = row.unwrap();
        let f = |i: usize| row[i].parse::<f64>().unwrap();
        m.entry(row[0].to_string())
            .or_default()
            .push((row[1].to_string(), f(3), f(4)));
    }
    m
}

/// Seconds from the call's start to each function call the recording logs.
fn function_call_times(rec: &Path, start: &str) -> Vec<f64> {
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rec.join("call_metadata.json")).unwrap()).unwrap();
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    let start = t(start);
    meta["function_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (t(f["timestamp"].as_str().unwrap()) - start)
                .num_microseconds()
                .unwrap() as f64
                / 1e6
        })
        .collect()
}

#[test]
fn what_the_caller_heard_and_turn_taking_agree_with_the_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 24, 60, &["--seed", "5"]);
    let out = tmp.path().join("out");
    let (code, _, err) = run(&["run", path_str(&rec), "--out", path_str(&out), "-q"]);
    assert_eq!(code, 0, "{err}");
    let rows = calls(&out);
    let segs = segments(&out);
    let found = finding_codes(&out);
    let truths = truths(&truth);
    assert_eq!(rows.len(), truths.len());

    // The corpus holds every behaviour, so no check below passes vacuously.
    let sum =
        |f: &dyn Fn(&callscope::simulate::Truth) -> usize| truths.iter().map(f).sum::<usize>();
    let barge_ins = sum(&|t| t.barge_ins.len());
    assert!(barge_ins >= 8, "{barge_ins} barge-ins");
    assert!(sum(&|t| t.backchannels.len()) >= 8);
    assert!(sum(&|t| t.early_starts) >= 3);
    assert!(sum(&|t| t.unanswered_turns.len()) >= 2);
    assert!(sum(&|t| usize::from(t.ended_mid_answer)) >= 1);
    let (mut settled, mut tool_waits, mut yielded, mut all_waits) = (0, 0, 0, Vec::new());

    for (row, t) in rows.iter().zip(&truths) {
        let ctx = t.recording.as_str();
        assert_eq!(row["recording"], ctx);
        let get = |c: &str| {
            row[c]
                .as_f64()
                .unwrap_or_else(|| panic!("{ctx}: {c} {row}"))
        };
        let count = |c: &str| row[c].as_u64().unwrap() as usize;
        let seg = &segs[ctx];
        fn of<'a>(
            seg: &'a [(String, f64, f64)],
            kind: &'a str,
        ) -> impl Iterator<Item = &'a (String, f64, f64)> + 'a {
            seg.iter().filter(move |s| s.0 == kind)
        }
        let of = |kind: &'static str| of(seg, kind);

        // Talk time within 3 % per party, overlap within 0.3 s.
        let rel = |a: f64, b: f64| (a - b).abs() / b;
        assert!(
            rel(get("speech_caller_talk_s"), t.caller_talk_s) < 0.03,
            "{ctx}: caller talk"
        );
        assert!(
            rel(get("speech_bot_talk_s"), t.bot_talk_s) < 0.03,
            "{ctx}: bot talk {} vs {}",
            get("speech_bot_talk_s"),
            t.bot_talk_s
        );
        assert!(
            (get("speech_overlap_s") - t.overlap_s).abs() < 0.3,
            "{ctx}: overlap {} vs {}",
            get("speech_overlap_s"),
            t.overlap_s
        );
        // Nothing is heard after the call's end.
        for s in of("bot_speech") {
            assert!(
                s.2 <= t.duration_s + 0.001,
                "{ctx}: bot speech after the end: {s:?}"
            );
        }

        // Every barge-in found at its onset; time to yield within 60 ms
        // where the recording settles it, else the truth within the bounds
        // given, with a finding saying so.
        let uncertain: Vec<(f64, f64)> = of("playback_uncertain").map(|s| (s.1, s.2)).collect();
        for b in &t.barge_ins {
            let got = of("barge_in")
                .find(|s| (s.1 - b.onset_s).abs() < 0.1)
                .unwrap_or_else(|| panic!("{ctx}: no barge-in at {}", b.onset_s));
            match uncertain
                .iter()
                .find(|u| u.0 - 0.7 < b.onset_s && b.onset_s < u.1)
            {
                Some(u) => assert!(
                    u.0 - 0.02 <= b.yielded_s && b.yielded_s <= u.1 + 0.02,
                    "{ctx}: the bot stopped at {} outside the bounds {u:?}",
                    b.yielded_s
                ),
                None => {
                    let ty = got.2 - got.1;
                    assert!(
                        (ty - b.time_to_yield_s).abs() <= 0.06,
                        "{ctx}: time to yield {ty} vs {}",
                        b.time_to_yield_s
                    );
                    settled += 1;
                }
            }
        }
        let flagged = found.get(ctx).map_or(0, |f| {
            f.iter()
                .filter(|c| *c == "timeline.playback_uncertain")
                .count()
        });
        assert_eq!(
            flagged,
            uncertain.len(),
            "{ctx}: one finding per uncertain answer"
        );
        assert_eq!(count("speech_playback_uncertain"), uncertain.len());
        assert_eq!(
            count("speech_barge_ins"),
            t.barge_ins.len(),
            "{ctx}: barge-ins"
        );
        assert_eq!(
            count("speech_barge_ins_unyielded"),
            0,
            "{ctx}: every barge-in was yielded to"
        );
        yielded += t.barge_ins.len();
        if t.barge_ins.is_empty() {
            assert!(row["speech_time_to_yield_s"].is_null());
        } else {
            let mean = t.barge_ins.iter().map(|b| b.time_to_yield_s).sum::<f64>()
                / t.barge_ins.len() as f64;
            let slack = 0.06 + 0.4 * uncertain.len() as f64;
            assert!(
                (get("speech_time_to_yield_s") - mean).abs() <= slack,
                "{ctx}: mean time to yield"
            );
        }

        // Backchannels talked through, early starts, unanswered turns.
        assert_eq!(
            count("speech_backchannels"),
            t.backchannels.len(),
            "{ctx}: backchannels"
        );
        for b in &t.backchannels {
            assert!(
                of("backchannel").any(|s| (s.1 - b[0]).abs() < 0.1),
                "{ctx}: backchannel at {}",
                b[0]
            );
        }
        assert_eq!(
            count("speech_early_starts"),
            t.early_starts,
            "{ctx}: early starts"
        );
        assert_eq!(
            count("speech_unanswered_turns"),
            t.unanswered_turns.len(),
            "{ctx}: unanswered"
        );
        for end in &t.unanswered_turns {
            assert!(
                of("unanswered_turn").any(|s| (s.2 - end).abs() < 0.15),
                "{ctx}: unanswered turn ending {end}"
            );
        }

        // Audio received but never played (cancelled, or after the end).
        // Within 60 ms per cut the recording settles, 0.6 s per one it cannot.
        let cuts = t.barge_ins.len() + usize::from(t.ended_mid_answer);
        let slack = 0.06 * cuts as f64 + 0.6 * uncertain.len() as f64 + 0.01;
        assert!(
            (get("speech_bot_unplayed_s") - t.bot_unplayed_s).abs() <= slack,
            "{ctx}: unplayed {} vs {}",
            get("speech_bot_unplayed_s"),
            t.bot_unplayed_s
        );
        if t.ended_mid_answer {
            assert!(
                get("speech_bot_unplayed_s") > 0.0,
                "{ctx}: hung up mid-answer"
            );
        }

        // Tool latency: each function call to the bot's next speech.
        let waits: Vec<(f64, f64)> = of("tool_wait").map(|s| (s.1, s.2)).collect();
        for f in function_call_times(&rec.join(ctx), &t.start_time) {
            let Some(next) = t.bot_speech.iter().find(|b| b[0] > f) else {
                continue;
            };
            let got = waits
                .iter()
                .find(|w| (w.0 - f).abs() < 0.002)
                .unwrap_or_else(|| panic!("{ctx}: no tool wait from {f}"));
            assert!(
                (got.1 - next[0]).abs() <= 0.04,
                "{ctx}: the bot spoke after the tool call at {} vs {}",
                got.1,
                next[0]
            );
            tool_waits += 1;
        }
        // The column is the mean of the call's tool waits, in segments.csv.
        if waits.is_empty() {
            assert!(row["speech_tool_wait_s"].is_null(), "{ctx}");
        } else {
            let mean = waits.iter().map(|w| w.1 - w.0).sum::<f64>() / waits.len() as f64;
            assert!(
                (get("speech_tool_wait_s") - mean).abs() < 0.0011,
                "{ctx}: mean tool wait {} vs {mean}",
                get("speech_tool_wait_s")
            );
        }
        all_waits.extend(waits.iter().map(|w| w.1 - w.0));
        // Dead air blamed on a tool: the silences a function call falls in.
        let calls: Vec<f64> = of("function_call").map(|s| s.1).collect();
        let blamed: f64 = of("silence")
            .filter(|g| calls.iter().any(|&f| g.1 <= f && f < g.2))
            .map(|g| g.2 - g.1)
            .sum();
        assert!((get("speech_tool_silence_s") - blamed).abs() < 0.002 * (calls.len() + 1) as f64);
    }
    assert!(
        settled * 4 >= barge_ins * 3,
        "most barge-ins settled: {settled} of {barge_ins}"
    );
    assert!(tool_waits >= 10);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let speech = &summary["analyzers"]["speech"];
    assert_eq!(speech["barge_ins"], barge_ins, "{speech}");
    assert_eq!(speech["time_to_yield"]["count"], yielded, "{speech}");
    // The run's totals are the calls' columns added up (each column is
    // rounded to the millisecond, so within half of one a call).
    let sum_of = |c: &str| rows.iter().filter_map(|r| r[c].as_f64()).sum::<f64>();
    let near = rows.len() as f64 * 0.0005 + 1e-9;
    for (key, column) in [
        ("caller_talk_s", "speech_caller_talk_s"),
        ("bot_talk_s", "speech_bot_talk_s"),
        ("overlap_s", "speech_overlap_s"),
        ("silence_s", "speech_silence_s"),
        ("bot_unplayed_s", "speech_bot_unplayed_s"),
    ] {
        let total = speech[key].as_f64().unwrap();
        assert!(
            (total - sum_of(column)).abs() <= near,
            "{key}: {total} vs {}",
            sum_of(column)
        );
        assert_eq!(
            total,
            (total * 1000.0).round() / 1000.0,
            "{key} to the millisecond"
        );
    }
    let (c, b) = (sum_of("speech_caller_talk_s"), sum_of("speech_bot_talk_s"));
    assert!((speech["caller_ratio"].as_f64().unwrap() - c / (c + b)).abs() < 0.0001);
    for key in [
        "barge_ins_unyielded",
        "backchannels",
        "early_starts",
        "unanswered_turns",
        "playback_uncertain",
    ] {
        assert_eq!(
            speech[key],
            sum_of(&format!("speech_{key}")) as u64,
            "{key}"
        );
    }
    assert_eq!(speech["calls_on_timeline"], rows.len());
    // The run's distribution of tool waits is over the same waits.
    let d = &speech["tool_wait"];
    assert_eq!(d["count"], all_waits.len(), "{speech}");
    let mean = all_waits.iter().sum::<f64>() / all_waits.len() as f64;
    assert!(
        (d["mean_s"].as_f64().unwrap() - mean).abs() < 0.0011,
        "{d} vs {mean}"
    );
}

/// The conversation's own conditions (`simulate --line pauses,
/// interruptions,talk-overs`): a caller who pauses 0.6–1.5 s inside a turn
/// takes one turn, which the bot answered (counting each part as a turn
/// made every such pause an unanswered turn whenever the rest ran past
/// 4 s); a "Wait." the bot stopped for is a barge-in it yielded to, not a
/// backchannel; talking over an answer the bot goes on with is a barge-in
/// it did not yield to.
#[test]
fn pauses_interruptions_and_talk_overs_are_told_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let line = ["--line", "pauses,interruptions,talk-overs", "--seed", "3"];
    let (rec, truth) = simulate(tmp.path(), 45, 35, &line);
    let out = tmp.path().join("out");
    ok(&["run", path_str(&rec), "-o", path_str(&out), "-q"]);
    let segs = segments(&out);
    let none = Vec::new();
    let (mut paused, mut waits, mut waits_found, mut overs) = (0, 0, 0, 0);
    for t in truths(&truth) {
        let rows = segs.get(&t.recording).unwrap_or(&none);
        let starts = |kind: &str| -> Vec<(f64, f64)> {
            rows.iter()
                .filter(|r| r.0 == kind)
                .map(|r| (r.1, r.2))
                .collect()
        };
        let what = format!("{} {}: {rows:?}", t.recording, t.line);
        let unanswered = starts("unanswered_turn");
        assert_eq!(unanswered.len(), t.unanswered_turns.len(), "{what}");
        // A pause inside a caller turn: 0.6 s or more between two caller
        // phrases with no bot speech starting in it.
        paused += t
            .caller_speech
            .windows(2)
            .filter(|w| {
                let gap = w[1][0] - w[0][1];
                (0.6..=1.5).contains(&gap)
                    && !t
                        .bot_speech
                        .iter()
                        .any(|b| b[0] > w[0][1] && b[0] < w[1][0])
            })
            .count();
        let barge = starts("barge_in");
        let near = |at: f64| barge.iter().find(|b| (b.0 - at).abs() <= 0.1);
        for b in &t.barge_ins {
            let phrase = t
                .caller_speech
                .iter()
                .find(|p| (p[0] - b.onset_s).abs() < 1e-3)
                .unwrap();
            if phrase[1] - phrase[0] < 1.0 {
                waits += 1;
                waits_found += usize::from(near(b.onset_s).is_some());
            }
        }
        for o in &t.talk_overs {
            overs += 1;
            let found = near(o[0]).unwrap_or_else(|| panic!("talk-over at {}: {what}", o[0]));
            assert!(found.1 - found.0 > 1.0, "the bot did not yield: {what}");
        }
    }
    // Each condition is in the corpus, and found.
    assert!(
        paused >= 8 && overs >= 5 && waits >= 5,
        "{paused} {overs} {waits}"
    );
    // A "Wait." whose cut landed in a pause between the bot's words leaves
    // nothing in the files to say the bot stopped for it (docs/recording-model.md).
    assert!(waits_found * 10 >= waits * 6, "{waits_found} of {waits}");
}
