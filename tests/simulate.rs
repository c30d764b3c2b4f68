//! The recorder simulator: deterministic, faithful to the recorder's file
//! layout, and its ground truth agrees with the files it wrote.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use callscope::audio::read_wav;
use callscope::recording::{FileKind, Recording};
use common::*;

/// Every file under `root`, relative path → bytes.
fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for dir in fs::read_dir(root).unwrap() {
        let dir = dir.unwrap().path();
        for f in fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let key = f.strip_prefix(root).unwrap().display().to_string();
            out.insert(key, fs::read(&f).unwrap());
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let c = tmp.path().join("c");
    let args = |out: &Path, seed: &str| {
        vec![
            "simulate".to_string(),
            "--out".into(),
            out.display().to_string(),
            "--calls".into(),
            "6".into(),
            "--seconds".into(),
            "10".into(),
            "--seed".into(),
            seed.into(),
            // Every fault but in-progress: a call being recorded is stamped
            // with the time it is simulated at, as a live call would be.
            "--faults".into(),
            "none,crashed,missing-final,truncated-final,swapped-final,zeroed-sizes".into(),
            "--quiet".into(),
        ]
    };
    let run_with = |threads: &str, out: &Path, seed: &str| {
        let st = bin()
            .args(args(out, seed))
            .env("RAYON_NUM_THREADS", threads)
            .status()
            .unwrap();
        assert!(st.success());
    };
    run_with("1", &a, "5");
    run_with("2", &b, "5");
    run_with("2", &c, "6");
    let (sa, sb, sc) = (snapshot(&a), snapshot(&b), snapshot(&c));
    assert_eq!(sa.len(), sb.len());
    assert!(sa == sb, "same seed must give the same bytes");
    assert!(
        sa.keys().ne(sc.keys()),
        "another seed gives other recordings"
    );
}

#[test]
fn refuses_a_non_empty_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("keep.txt"), "mine").unwrap();
    let (code, _, err) = run(&["simulate", "--out", path_str(tmp.path()), "--calls", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(
        fs::read_to_string(tmp.path().join("keep.txt")).unwrap(),
        "mine"
    );
    let (code, _, err) = run(&["simulate", "--out", "/tmp/x", "--faults", "melted"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown fault 'melted'"), "{err}");
}

#[test]
fn files_are_what_the_recorder_writes_and_agree_with_the_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 4, 30, &["--seed", "11"]);
    for t in truths(&truth) {
        let dir = rec.join(&t.recording);
        let caller = read_wav(&dir.join("caller_audio.wav")).unwrap();
        let bot = read_wav(&dir.join("bot_audio.wav")).unwrap();
        let rt = read_wav(&dir.join("stereo_recording.wav")).unwrap();
        let fin = read_wav(&dir.join("final_stereo_recording.wav")).unwrap();
        for w in [&caller, &bot, &rt, &fin] {
            assert!(w.info.anomalies.is_empty(), "{:?}", w.info.anomalies);
            assert_eq!(w.info.data_offset, 44);
        }
        assert_eq!(caller.samples.len(), t.caller_samples);
        assert_eq!(bot.samples.len(), t.bot_samples);
        assert_eq!(t.caller_samples % t.caller_chunk_samples, 0);
        assert_eq!(t.caller_chunk_samples, 320, "20 ms at 16 kHz");

        // Real time: caller + bot frames, each bot chunk where the truth says.
        assert_eq!(rt.info.frames() as usize, t.caller_samples + t.bot_samples);
        let (l, r) = (rt.channel(0), rt.channel(1));
        for c in &t.bot_chunks {
            let frames = c.rt_frame..c.rt_frame + c.samples;
            assert!(
                l[frames.clone()].iter().all(|s| *s == 0),
                "bot chunk frames have L = 0"
            );
            assert_eq!(
                &r[frames],
                &bot.samples[c.bot_offset..c.bot_offset + c.samples]
            );
            assert_eq!(c.rt_caller_samples_before % 320, 0);
            assert!(c.arrival_sample >= c.rt_caller_samples_before);
            assert!(c.arrival_sample < c.rt_caller_samples_before + 320);
            assert!(c.play_start_sample >= c.arrival_sample);
        }
        // Bot chunks are 100–200 ms, arrive faster than they play.
        for w in t.bot_chunks.windows(2) {
            assert!(w[1].arrival_sample > w[0].arrival_sample);
            assert!(w[1].bot_offset == w[0].bot_offset + w[0].samples);
        }
        // The caller's samples, in order, are L of every non-bot frame.
        let caller_from_rt: Vec<i16> = {
            let mut is_bot = vec![false; l.len()];
            for c in &t.bot_chunks {
                is_bot[c.rt_frame..c.rt_frame + c.samples]
                    .iter_mut()
                    .for_each(|b| *b = true);
            }
            l.iter()
                .zip(&is_bot)
                .filter(|(_, b)| !**b)
                .map(|(s, _)| *s)
                .collect()
        };
        assert_eq!(caller_from_rt, caller.samples);

        // Final stereo: caller L, bot R, the shorter padded with zeros.
        let n = t.caller_samples.max(t.bot_samples);
        assert_eq!(fin.info.frames() as usize, n);
        assert_eq!(&fin.channel(0)[..t.caller_samples], &caller.samples[..]);
        assert_eq!(&fin.channel(1)[..t.bot_samples], &bot.samples[..]);
        assert!(fin.channel(1)[t.bot_samples..].iter().all(|s| *s == 0));

        // The JSON files agree with the truth and carry the recorder's arithmetic.
        let recording = Recording::open(&dir).unwrap();
        let meta = recording.metadata().unwrap().unwrap();
        assert_eq!(meta.caller_audio_bytes, Some(2 * t.caller_samples as u64));
        assert_eq!(
            meta.caller_audio_duration_seconds,
            Some(2.0 * t.caller_samples as f64 / 32000.0)
        );
        assert_eq!(meta.bot_audio_chunks, Some(t.bot_chunks.len() as u64));
        assert_eq!(meta.caller_audio_chunks, Some(t.caller_chunks as u64));
        assert_eq!(meta.function_calls.len(), t.function_calls.len());
        assert!(t.function_calls.len() <= 3);
        let transcript = recording.transcript().unwrap().unwrap();
        assert_eq!(transcript.entries.len(), t.transcript_entries);
        assert_eq!(transcript.turns(), t.turns);
        let events = recording.events().unwrap().unwrap();
        assert_eq!(events.function_calls().len(), t.function_calls.len());
        assert!(recording.has(FileKind::Events));

        // Speech: latencies positive but for the answers that started
        // before the caller had finished.
        let early = t.audio_turns.iter().filter(|x| x.latency_s < 0.0).count();
        assert_eq!(early, t.early_starts);
        assert!(t
            .audio_turns
            .iter()
            .all(|x| (x.latency_s > 0.4 && x.latency_s < 1.8)
                || (x.latency_s > -0.45 && x.latency_s < -0.05)));
        assert!(t.caller_talk_s > 0.5 && t.bot_talk_s > 1.0);
        assert!(t.overlap_s <= t.caller_talk_s.min(t.bot_talk_s));
    }
}

#[test]
fn two_minute_calls_sound_like_a_conversation() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, truth) = simulate(tmp.path(), 8, 120, &["--seed", "3"]);
    let truths = truths(&truth);
    for t in &truths {
        assert!(
            t.duration_s > 100.0 && t.duration_s < 140.0,
            "{}",
            t.duration_s
        );
        // A turn every 10 s or so, each side talking a fair share of the call.
        assert!(t.turns >= 10, "{}", t.turns);
        let talk = (t.caller_talk_s + t.bot_talk_s) / t.duration_s;
        assert!(talk > 0.3 && talk < 0.9, "{talk}");
    }
    // Some of the calls have a barge-in, not all; a barge-in is cut
    // 200–600 ms after the caller's onset, and leaves received audio
    // unplayed.
    let with_barge_in = truths.iter().filter(|t| !t.barge_ins.is_empty()).count();
    assert!(
        with_barge_in > 0 && with_barge_in < truths.len(),
        "{with_barge_in}"
    );
    for t in &truths {
        for b in &t.barge_ins {
            assert!((0.2..0.6).contains(&b.time_to_yield_s), "{b:?}");
            assert!(t.bot_unplayed_s > 0.0);
            // The bot is quiet from the cancellation until its next answer.
            assert!(!t
                .bot_speech
                .iter()
                .any(|s| s[0] < b.yielded_s + 0.3 && s[1] > b.yielded_s + 0.001));
        }
        // Backchannels are short and come while the bot talks on: its
        // speech goes on within half a second after one.
        for c in &t.backchannels {
            assert!(c[1] - c[0] < 0.7, "{c:?}");
            assert!(t
                .bot_speech
                .iter()
                .any(|s| s[0] < c[0] + 0.5 && s[1] > c[1]));
        }
        // Nothing plays after the call's end.
        assert!(t.bot_speech.iter().all(|s| s[1] <= t.duration_s));
    }
}
