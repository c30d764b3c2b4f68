//! How well each voice-activity detector finds who spoke when, per line
//! condition, against the simulator's truth: callscope's own detectors and
//! the Python peers (py-webrtcvad modes 0–3, Silero VAD through
//! onnxruntime; `benches/vad_peers.py`).
//!
//! `cargo bench --bench vad_accuracy` simulates `CALLSCOPE_VAD_CALLS` calls
//! (default 10) of about 35 s for a clean line and for each condition of
//! `simulate --line`, runs every detector over both tracks of every call
//! and prints, per condition and detector:
//! - caller and bot F1 on 10 ms speech frames (a frame is speech when at
//!   least half of it is);
//! - caller and bot talk-time error: the mean over calls of |found − truth|,
//!   seconds, and its mean sign;
//! - audio-latency error: per answered caller turn, the found bot onset
//!   minus the found caller offset against the truth's latency, mean
//!   absolute, ms; a turn counts as found when both ends are within 1 s of
//!   the truth's, and the share found is printed beside it.
//!
//! callscope's detectors run as `run` runs them: the caller's track beside
//! the echo of the bot's audio where it played (`--line echo`), which the
//! Python peers, hearing one track, cannot use.
//!
//! Every detector's spans are scored the same way. The bot track is on its
//! own clock: its spans are placed on the call's clock through the chunks'
//! play times, and audio that never played is taken out, as the truth does.
//! Then one `callscope run` over the corpus scores turn-taking per
//! condition: barge-ins, backchannels and talk-overs (found as barge-ins)
//! found (a `segments.csv` row starting within 0.5 s of the truth's), rows
//! of either made of nothing the caller did (phantoms, per 10 calls), and
//! calls whose unanswered turns are exactly the truth's.
//! Then one `callscope run` over the corpus scores turn-taking per
//! condition: barge-ins, backchannels and talk-overs (found as barge-ins)
//! found (a `segments.csv` row starting within 0.5 s of the truth's), rows
//! of either made of nothing the caller did (phantoms, per 10 calls), and
//! calls whose unanswered turns are exactly the truth's.
//!
//! The table also goes to `target/vad-accuracy.csv`. Without the Python
//! peers (see docs/voice-activity.md for `pip install`), their rows are left out and
//! the reason is printed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use callscope::analyze::vad::{detect_tts, VadKind};
use callscope::analyze::CallContext;
use callscope::audio::read_wav;
use callscope::recording::open_dir;
use callscope::simulate::{simulate, LineMix, SimulateOptions, Truth};
use rayon::prelude::*;

/// Spans in seconds.
type Spans = Vec<[f64; 2]>;

const FRAME_S: f64 = 0.01;

/// Frames of `frames` 10 ms frames that spans cover at least half of.
fn frames(spans: &[[f64; 2]], n: usize) -> Vec<bool> {
    let mut covered = vec![0.0f64; n];
    for s in spans {
        let (a, b) = (s[0].max(0.0), s[1].min(n as f64 * FRAME_S));
        if b <= a {
            continue;
        }
        let (fa, fb) = (
            (a / FRAME_S) as usize,
            ((b / FRAME_S).ceil() as usize).min(n),
        );
        for (f, c) in covered.iter_mut().enumerate().take(fb).skip(fa) {
            let (lo, hi) = (f as f64 * FRAME_S, (f + 1) as f64 * FRAME_S);
            *c += (hi.min(b) - lo.max(a)).max(0.0);
        }
    }
    covered.into_iter().map(|c| c >= FRAME_S / 2.0).collect()
}

fn total(spans: &[[f64; 2]]) -> f64 {
    spans.iter().map(|s| s[1] - s[0]).sum()
}

/// Bot-file seconds → the call's clock, through the chunks' play times,
/// without what never played.
fn bot_on_call_clock(t: &Truth, spans: &[[f64; 2]]) -> Spans {
    let rate = f64::from(t.sample_rate);
    let mut out: Spans = Vec::new();
    for s in spans {
        let (a, b) = ((s[0] * rate) as usize, (s[1] * rate) as usize);
        for c in &t.bot_chunks {
            let (lo, hi) = (a.max(c.bot_offset), b.min(c.bot_offset + c.samples));
            if lo >= hi {
                continue;
            }
            let at = |x: usize| (c.play_start_sample + x - c.bot_offset) as f64 / rate;
            let piece = [at(lo), at(hi)];
            match out.last_mut() {
                Some(last) if piece[0] <= last[1] + 1e-6 => last[1] = last[1].max(piece[1]),
                _ => out.push(piece),
            }
        }
    }
    let mut played = Vec::new();
    for s in out {
        let mut pieces = vec![s];
        for u in &t.bot_unplayed {
            pieces = pieces
                .into_iter()
                .flat_map(|p| {
                    [[p[0], p[1].min(u[0])], [p[0].max(u[1]), p[1]]]
                        .into_iter()
                        .filter(|q| q[1] > q[0])
                })
                .collect();
        }
        played.extend(pieces.into_iter().filter(|p| p[0] < t.duration_s));
    }
    played
}

/// The scores one detector earns on one call.
#[derive(Default, Clone)]
struct Score {
    caller: [u64; 3], // true positives, false positives, false negatives
    bot: [u64; 3],
    caller_err: Vec<f64>,
    bot_err: Vec<f64>,
    latency_err: Vec<f64>,
    turns: usize,
}

fn confusion(found: &[bool], truth: &[bool]) -> [u64; 3] {
    let mut c = [0u64; 3];
    for (f, t) in found.iter().zip(truth) {
        match (f, t) {
            (true, true) => c[0] += 1,
            (true, false) => c[1] += 1,
            (false, true) => c[2] += 1,
            _ => {}
        }
    }
    c
}

/// The edge of `spans` nearest to `at` (starts or ends), within 1 s.
fn nearest(edges: impl Iterator<Item = f64>, at: f64) -> Option<f64> {
    edges
        .filter(|e| (e - at).abs() <= 1.0)
        .min_by(|a, b| (a - at).abs().total_cmp(&(b - at).abs()))
}

fn score(t: &Truth, caller: &Spans, bot: &Spans) -> Score {
    let n = (t.duration_s / FRAME_S) as usize;
    let mut s = Score {
        caller: confusion(&frames(caller, n), &frames(&t.caller_speech, n)),
        bot: confusion(&frames(bot, n), &frames(&t.bot_speech, n)),
        caller_err: vec![total(caller) - t.caller_talk_s],
        bot_err: vec![total(bot) - t.bot_talk_s],
        turns: t.audio_turns.len(),
        ..Score::default()
    };
    for turn in &t.audio_turns {
        let end = nearest(caller.iter().map(|c| c[1]), turn.caller_end_s);
        let start = nearest(bot.iter().map(|b| b[0]), turn.bot_start_s);
        if let (Some(e), Some(b)) = (end, start) {
            s.latency_err.push(((b - e) - turn.latency_s).abs());
        }
    }
    s
}

impl Score {
    fn add(&mut self, o: &Score) {
        for i in 0..3 {
            self.caller[i] += o.caller[i];
            self.bot[i] += o.bot[i];
        }
        self.caller_err.extend(&o.caller_err);
        self.bot_err.extend(&o.bot_err);
        self.latency_err.extend(&o.latency_err);
        self.turns += o.turns;
    }
}

fn f1(c: [u64; 3]) -> f64 {
    let (tp, fp, fn_) = (c[0] as f64, c[1] as f64, c[2] as f64);
    if tp == 0.0 {
        return 0.0;
    }
    2.0 * tp / (2.0 * tp + fp + fn_)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn mae(v: &[f64]) -> f64 {
    mean(&v.iter().map(|x| x.abs()).collect::<Vec<_>>())
}

fn corpus(per_condition: usize) -> (PathBuf, PathBuf) {
    // Named by how many mixes `all` has: a corpus kept from before a
    // condition was added is not reused.
    let mixes = LineMix::parse_list("all").unwrap().len();
    let base =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-vad-{per_condition}x{mixes}"));
    let (rec, truth) = (base.join("rec"), base.join("truth"));
    if !truth.join(".done").exists() {
        let _ = std::fs::remove_dir_all(&base);
        let lines = LineMix::parse_list("all").unwrap();
        let opts = SimulateOptions {
            out: rec.clone(),
            calls: per_condition * lines.len(),
            seconds: 35.0,
            seed: 17,
            rate: 16000,
            faults: Vec::new(),
            lines,
            truth: Some(truth.clone()),
            start: "2024-12-01T08:00:00Z".parse().unwrap(),
        };
        simulate(&opts, &|| {}).expect("simulate the accuracy corpus");
        std::fs::write(truth.join(".done"), "").unwrap();
    }
    (rec, truth)
}

fn truths(dir: &Path) -> Vec<Truth> {
    let mut v: Vec<Truth> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    v.sort_by(|a, b| a.recording.cmp(&b.recording));
    v
}

/// (detector → recording → (caller spans, bot spans on the bot's clock)),
/// and each detector's CPU seconds.
type Found = BTreeMap<String, BTreeMap<String, (Spans, Spans)>>;

fn callscope_detectors(rec: &Path, truths: &[Truth]) -> (Found, BTreeMap<String, f64>) {
    let mut found = Found::new();
    let mut seconds = BTreeMap::new();
    // Every file read once first, so that no detector's time is the disk's.
    for t in truths {
        for f in std::fs::read_dir(rec.join(&t.recording)).unwrap() {
            std::hint::black_box(std::fs::read(f.unwrap().path()).unwrap());
        }
    }
    for (name, kind) in [
        ("callscope-earshot", VadKind::Neural),
        ("callscope-energy", VadKind::Energy),
        ("callscope-earshot-full", VadKind::NeuralFull),
    ] {
        let per: Vec<(String, (Spans, Spans), f64)> = truths
            .par_iter()
            .map(|t| {
                let dir = rec.join(&t.recording);
                let cpu = Instant::now();
                // As the run does: the caller's line through the chosen
                // detector, beside the echo of the bot's audio where it
                // played (from the real-time file); the bot's TTS track
                // through frame energy.
                let rec = open_dir(dir.clone(), &t.recording).unwrap().unwrap();
                let call = CallContext::new(&rec, kind);
                let rate = f64::from(t.sample_rate);
                let seconds = |found: &[(u64, u64)]| -> Spans {
                    found
                        .iter()
                        .map(|(a, b)| [*a as f64 / rate, *b as f64 / rate])
                        .collect()
                };
                let spans = |file: &str| {
                    if file == "bot_audio.wav" {
                        let w = read_wav(&dir.join(file)).unwrap();
                        seconds(&detect_tts(&w.samples, w.info.sample_rate))
                    } else {
                        seconds(call.caller_speech().unwrap())
                    }
                };
                let pair = (spans("caller_audio.wav"), spans("bot_audio.wav"));
                (t.recording.clone(), pair, cpu.elapsed().as_secs_f64())
            })
            .collect();
        seconds.insert(name.to_string(), per.iter().map(|p| p.2).sum());
        found.insert(
            name.to_string(),
            per.into_iter().map(|(r, p, _)| (r, p)).collect(),
        );
    }
    (found, seconds)
}

fn python_peers(rec: &Path, found: &mut Found, seconds: &mut BTreeMap<String, f64>) {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vad-peers.json");
    let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/vad_peers.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let result = Command::new(&python)
        .arg(&helper)
        .arg(rec)
        .arg(&out)
        .output();
    match result {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            println!(
                "Python peers SKIPPED: {} failed: {}",
                helper.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!("Python peers SKIPPED: cannot run {python}: {e}");
            return;
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let spans = |x: &serde_json::Value| -> Spans { serde_json::from_value(x.clone()).unwrap() };
    for (name, secs) in v["seconds"].as_object().unwrap() {
        seconds.insert(name.clone(), secs.as_f64().unwrap());
        let per = found.entry(name.clone()).or_default();
        for (recording, tracks) in v["recordings"].as_object().unwrap() {
            per.insert(
                recording.clone(),
                (spans(&tracks["caller"][name]), spans(&tracks["bot"][name])),
            );
        }
    }
}

/// How far a found event's start may be from the truth's.
const EVENT_WITHIN_S: f64 = 0.5;

/// Turn-taking per condition, from one `callscope run` (the default
/// detector) over the corpus: (barge-ins found, truth), (backchannels
/// found, truth), rows of either that match no caller event of the truth,
/// (calls whose unanswered turns are exactly the truth's, calls).
#[derive(Default)]
struct Turns {
    barge_ins: [usize; 2],
    backchannels: [usize; 2],
    talk_overs: [usize; 2],
    phantoms: usize,
    unanswered_exact: [usize; 2],
}

fn turn_taking(rec: &Path, truths: &[Truth]) -> BTreeMap<String, Turns> {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vad-accuracy-run");
    let status = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["run", "-q", "--replace", "--fail-on", "never", "-o"])
        .arg(&out)
        .arg(rec)
        .status()
        .expect("run callscope");
    assert!(status.success(), "callscope run failed");
    // recording → kind → starts
    let mut rows: BTreeMap<String, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    let mut r = csv::Reader::from_path(out.join("segments.csv")).unwrap();
    for row in r.records() {
        let row = row.unwrap();
        rows.entry(row[0].to_string())
            .or_default()
            .entry(row[1].to_string())
            .or_default()
            .push(row[3].parse().unwrap());
    }
    let mut by = BTreeMap::<String, Turns>::new();
    let none = BTreeMap::new();
    for t in truths {
        let found = rows.get(&t.recording).unwrap_or(&none);
        let starts = |kind: &str| found.get(kind).cloned().unwrap_or_default();
        let near = |v: &[f64], at: f64| v.iter().any(|x| (x - at).abs() <= EVENT_WITHIN_S);
        let (barge, bc) = (starts("barge_in"), starts("backchannel"));
        let onsets: Vec<f64> = t.barge_ins.iter().map(|b| b.onset_s).collect();
        let bc_truth: Vec<f64> = t.backchannels.iter().map(|b| b[0]).collect();
        let over_truth: Vec<f64> = t.talk_overs.iter().map(|b| b[0]).collect();
        let s = by.entry(t.line.clone()).or_default();
        s.barge_ins[0] += onsets.iter().filter(|o| near(&barge, **o)).count();
        s.barge_ins[1] += onsets.len();
        s.backchannels[0] += bc_truth.iter().filter(|o| near(&bc, **o)).count();
        s.backchannels[1] += bc_truth.len();
        // A talk-over is found as a barge-in the bot did not yield to.
        s.talk_overs[0] += over_truth.iter().filter(|o| near(&barge, **o)).count();
        s.talk_overs[1] += over_truth.len();
        let events: Vec<f64> = onsets
            .iter()
            .chain(&bc_truth)
            .chain(&over_truth)
            .copied()
            .collect();
        s.phantoms += barge
            .iter()
            .chain(&bc)
            .filter(|x| !near(&events, **x))
            .count();
        s.unanswered_exact[0] +=
            usize::from(starts("unanswered_turn").len() == t.unanswered_turns.len());
        s.unanswered_exact[1] += 1;
    }
    by
}

fn main() {
    let per_condition: usize = std::env::var("CALLSCOPE_VAD_CALLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let (rec, truth_dir) = corpus(per_condition);
    let truths = truths(&truth_dir);
    let audio_s: f64 = truths
        .iter()
        .map(|t| t.duration_s + t.bot_samples as f64 / f64::from(t.sample_rate))
        .sum();
    println!(
        "{} calls ({} per line condition), {:.0} s of audio in both tracks",
        truths.len(),
        per_condition,
        audio_s
    );
    let (mut found, mut seconds) = callscope_detectors(&rec, &truths);
    python_peers(&rec, &mut found, &mut seconds);

    // condition → detector → score
    let mut table: BTreeMap<String, BTreeMap<String, Score>> = BTreeMap::new();
    for t in &truths {
        for (detector, per) in &found {
            let (caller, bot) = &per[&t.recording];
            let s = score(t, caller, &bot_on_call_clock(t, bot));
            table
                .entry(t.line.clone())
                .or_default()
                .entry(detector.clone())
                .or_default()
                .add(&s);
        }
    }
    let mut csv = String::from(
        "line,detector,caller_f1,bot_f1,caller_talk_mae_s,caller_talk_bias_s,bot_talk_mae_s,latency_mae_ms,latency_found\n",
    );
    println!(
        "\n{:<11} {:<22} {:>9} {:>7} {:>15} {:>12} {:>16}",
        "line", "detector", "caller F1", "bot F1", "caller talk s", "bot talk s", "latency ms"
    );
    let order = |line: &str| {
        let all = LineMix::parse_list("all").unwrap();
        all.iter().position(|m| m.name() == line).unwrap_or(99)
    };
    let mut lines: Vec<&String> = table.keys().collect();
    lines.sort_by_key(|l| order(l));
    for line in lines {
        for (detector, s) in &table[line] {
            let found_share = s.latency_err.len() as f64 / s.turns.max(1) as f64;
            let latency = if s.latency_err.is_empty() {
                "none found".to_string()
            } else {
                format!("{:.0}", mae(&s.latency_err) * 1000.0)
            };
            println!(
                "{:<11} {:<22} {:>9.3} {:>7.3} {:>7.1} ({:>+5.1}) {:>12.1} {:>10} ({:>3.0} %)",
                line,
                detector,
                f1(s.caller),
                f1(s.bot),
                mae(&s.caller_err),
                mean(&s.caller_err),
                mae(&s.bot_err),
                latency,
                found_share * 100.0
            );
            csv.push_str(&format!(
                "{line},{detector},{:.4},{:.4},{:.3},{:.3},{:.3},{:.1},{:.3}\n",
                f1(s.caller),
                f1(s.bot),
                mae(&s.caller_err),
                mean(&s.caller_err),
                mae(&s.bot_err),
                mae(&s.latency_err) * 1000.0,
                found_share
            ));
        }
    }
    println!(
        "\nTurn-taking, callscope's default run (events matched within {EVENT_WITHIN_S} s of the truth's):"
    );
    println!(
        "{:<13} {:>16} {:>16} {:>16} {:>22} {:>18}",
        "line",
        "barge-ins found",
        "backchannels",
        "talk-overs",
        "phantom rows/10 calls",
        "unanswered exact"
    );
    let pct = |v: [usize; 2]| 100.0 * v[0] as f64 / v[1].max(1) as f64;
    let turns = turn_taking(&rec, &truths);
    let mut lines: Vec<&String> = turns.keys().collect();
    lines.sort_by_key(|l| order(l));
    for line in lines {
        let t = &turns[line];
        println!(
            "{:<13} {:>7}/{:<3} {:>3.0} % {:>7}/{:<3} {:>3.0} % {:>7}/{:<3} {:>3.0} % {:>22.1} {:>10}/{:<3} calls",
            line,
            t.barge_ins[0],
            t.barge_ins[1],
            pct(t.barge_ins),
            t.backchannels[0],
            t.backchannels[1],
            pct(t.backchannels),
            t.talk_overs[0],
            t.talk_overs[1],
            pct(t.talk_overs),
            t.phantoms as f64 * 10.0 / t.unanswered_exact[1].max(1) as f64,
            t.unanswered_exact[0],
            t.unanswered_exact[1]
        );
    }
    println!("\nCPU seconds per second of audio (one core):");
    for (d, s) in &seconds {
        println!("  {d:<22} {:.5}", s / audio_s);
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vad-accuracy.csv");
    std::fs::write(&out, csv).unwrap();
    println!("\nwrote {}", out.display());
}
