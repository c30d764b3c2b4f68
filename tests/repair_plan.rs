//! What `repair` plans for each kind of damage, and why it refuses what it
//! cannot prove. One clean simulated call is copied and damaged by hand,
//! one case at a time, and the plan `repair --dry-run --json` prints is
//! compared whole: each action with its parameters, and each problem left
//! alone with its reason. The expected frame counts come from the
//! simulator's truth, never from callscope.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// The clean call every case starts from, and its track lengths in frames.
struct Base {
    tmp: tempfile::TempDir,
    root: PathBuf,
    name: String,
    /// Caller and bot samples; the final stereo is as long as the caller
    /// track, the real-time file holds both tracks' samples.
    caller: u64,
    bot: u64,
}

impl Base {
    fn new(extra: &[&str]) -> Base {
        let tmp = tempfile::tempdir().unwrap();
        let mut args = vec!["--seed", "31"];
        args.extend_from_slice(extra);
        let (root, truth) = simulate(tmp.path(), 1, 8, &args);
        let t = truths(&truth).remove(0);
        let (caller, bot) = (t.caller_samples as u64, t.bot_samples as u64);
        // The cases below rely on it: the final stereo is the caller's length.
        assert!(bot < caller, "caller {caller}, bot {bot}");
        Base {
            tmp,
            root,
            name: t.recording,
            caller,
            bot,
        }
    }

    /// A fresh copy of the recording under `case/`, damaged by `damage`
    /// (given the recording's directory).
    fn case(&self, case: &str, damage: impl FnOnce(&Path)) -> PathBuf {
        let root = self.tmp.path().join(case);
        copy_tree(&self.root, &root, false);
        damage(&root.join(&self.name));
        root
    }
}

/// The plan of the one recording under `root`: actions as
/// "name file key=value…", and the problems left alone.
fn plan(root: &Path, extra: &[&str]) -> (Vec<String>, Vec<String>) {
    let mut args = vec!["repair", path_str(root), "--dry-run", "--json", "--quiet"];
    args.extend_from_slice(extra);
    let report: Value = serde_json::from_str(&ok(&args)).unwrap();
    let [r] = report.as_array().unwrap().as_slice() else {
        panic!("one recording: {report}")
    };
    let actions = r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let mut s = format!(
                "{} {}",
                a["action"].as_str().unwrap(),
                a["file"].as_str().unwrap()
            );
            for key in ["channel", "frames", "rate"] {
                if let Some(v) = a.get(key) {
                    s.push_str(&format!(" {key}={v}"));
                }
            }
            s
        })
        .collect();
    let left = r["not_repaired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    (actions, left)
}

/// `left` is as many lines as `want`, each containing its part of `want`.
fn assert_left(case: &str, left: &[String], want: &[&str]) {
    assert_eq!(left.len(), want.len(), "{case}: {left:#?}");
    for (l, w) in left.iter().zip(want) {
        assert!(l.contains(w), "{case}: {l:?} should say {w:?}");
    }
}

/// The same plan from the real run's text report: the dry run is what a
/// run would do.
fn reasons(root: &Path, case: &str) -> Vec<String> {
    let out = ok(&["repair", path_str(root), "--dry-run"]);
    let lines: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(str::to_string)
        .collect();
    assert!(!lines.is_empty(), "{case}: {out}");
    lines
}

fn rm(dir: &Path, file: &str) {
    fs::remove_file(dir.join(file)).unwrap();
}

/// Keep the first `frames` frames of a 44-byte-header WAV, header fitted.
fn cut_frames(wav: &Path, frames: u64) {
    let b = fs::read(wav).unwrap();
    let width = u64::from(u16::from_le_bytes([b[32], b[33]]));
    let mut b = b[..(44 + frames * width) as usize].to_vec();
    fit_sizes(&mut b);
    fs::write(wav, b).unwrap();
}

/// Add `frames` frames of digital silence to a WAV, header fitted.
fn pad_frames(wav: &Path, frames: u64) {
    let mut b = fs::read(wav).unwrap();
    let width = u64::from(u16::from_le_bytes([b[32], b[33]]));
    b.resize(b.len() + (frames * width) as usize, 0);
    fit_sizes(&mut b);
    fs::write(wav, b).unwrap();
}

/// Change the first non-zero sample of `channel` (of `channels`).
fn flip_sample(wav: &Path, channels: usize, channel: usize) {
    let mut b = fs::read(wav).unwrap();
    let at = (44 + 2 * channel..b.len() - 1)
        .step_by(2 * channels)
        .find(|&i| b[i] != 0 || b[i + 1] != 0)
        .expect("a non-zero sample");
    b[at] ^= 0x10;
    fs::write(wav, b).unwrap();
}

/// Silence the caller's samples in the last `frames` frames of the
/// real-time file, and the same samples of the caller track and of the
/// final's L: a caller who fell quiet, in every file alike. Returns the
/// caller track's length up to its last non-zero sample.
fn quiet_caller_tail(dir: &Path, frames: usize) -> u64 {
    let (mut rt, mut caller, mut fin) = (
        fs::read(dir.join(RT)).unwrap(),
        fs::read(dir.join(CALLER)).unwrap(),
        fs::read(dir.join(FINAL)).unwrap(),
    );
    let nonzero = |b: &[u8], at: usize| b[at] != 0 || b[at + 1] != 0;
    let rt_frames = (rt.len() - 44) / 4;
    let mut quieted = 0;
    for i in rt_frames - frames..rt_frames {
        if nonzero(&rt, 44 + 4 * i) {
            rt[44 + 4 * i..46 + 4 * i].fill(0);
            quieted += 1;
        }
    }
    let samples = (caller.len() - 44) / 2;
    for i in (0..samples).rev() {
        if quieted == 0 {
            break;
        }
        if nonzero(&caller, 44 + 2 * i) {
            caller[44 + 2 * i..46 + 2 * i].fill(0);
            fin[44 + 4 * i..46 + 4 * i].fill(0);
            quieted -= 1;
        }
    }
    fs::write(dir.join(RT), rt).unwrap();
    fs::write(dir.join(FINAL), fin).unwrap();
    let last = (0..samples)
        .rev()
        .find(|&i| nonzero(&caller, 44 + 2 * i))
        .unwrap();
    fs::write(dir.join(CALLER), caller).unwrap();
    last as u64 + 1
}

fn metadata(dir: &Path, f: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    edit_json(&dir.join("call_metadata.json"), |v| {
        f(v.as_object_mut().unwrap());
    });
}

const CALLER: &str = "caller_audio.wav";
const BOT: &str = "bot_audio.wav";
const RT: &str = "stereo_recording.wav";
const FINAL: &str = "final_stereo_recording.wav";

/// A missing or empty mono track is restored from its channel of the final
/// stereo, as long as its length is proven, by whichever file proves it;
/// where nothing does, or the source is not intact, the plan says why.
#[test]
fn a_lost_mono_is_restored_at_its_proven_length_or_refused_with_the_reason() {
    let b = Base::new(&[]);
    let (c, bt) = (b.caller, b.bot);
    let restore = |file: &str, ch: u8, frames: u64| {
        format!("restore-mono {file} channel={ch} frames={frames}")
    };
    let too_long = format!(
        "bot_audio.wav: cannot be restored: its length ({} frames) does not fit the final stereo ({c} frames)",
        c + 10
    );
    let shorter = format!(
        "final_stereo_recording.wav: wav.header_sizes; not rebuilt: it holds {c} frames, more than the longer mono track ({bt}): rebuilding would make it shorter"
    );
    let cases: Vec<(&str, PathBuf, Vec<String>, Vec<&str>)> = vec![
        // The bot track is shorter: the caller's is exactly the final's length.
        (
            "caller missing",
            b.case("caller-missing", |d| rm(d, CALLER)),
            vec![restore(CALLER, 0, c)],
            vec![],
        ),
        // The caller track is the final's length, so the bot's length is the
        // real-time file's frames less the caller's.
        (
            "bot missing",
            b.case("bot-missing", |d| rm(d, BOT)),
            vec![restore(BOT, 1, bt)],
            vec![],
        ),
        // Without a real-time file the metadata's byte count says it.
        (
            "bot missing, no real-time file",
            b.case("bot-no-rt", |d| {
                rm(d, BOT);
                rm(d, RT);
            }),
            vec![restore(BOT, 1, bt)],
            vec![],
        ),
        // The final's length alone proves the caller's: neither the real-time
        // file nor the metadata is needed.
        (
            "caller missing, no real-time file, no logged bytes",
            b.case("caller-alone", |d| {
                rm(d, CALLER);
                rm(d, RT);
                metadata(d, |m| {
                    m.remove("caller_audio_bytes");
                });
            }),
            vec![restore(CALLER, 0, c)],
            vec!["(json.field_missing): callscope does not rewrite the recorder's JSON"],
        ),
        (
            "bot missing, no real-time file, no logged bytes",
            b.case("bot-unknown", |d| {
                rm(d, BOT);
                rm(d, RT);
                metadata(d, |m| {
                    m.remove("bot_audio_bytes");
                });
            }),
            vec![],
            vec![
                "bot_audio.wav: cannot be restored: its length cannot be known (no real-time file, no metadata)",
                "(json.field_missing): callscope does not rewrite the recorder's JSON",
            ],
        ),
        (
            "bot missing, real-time file shorter than the caller track",
            b.case("rt-short", |d| {
                rm(d, BOT);
                cut_frames(&d.join(RT), c - 100);
            }),
            vec![],
            // (With no bot track, the real-time file is not compared.)
            vec!["bot_audio.wav: cannot be restored: stereo_recording.wav is shorter than the other track"],
        ),
        (
            "bot missing, logged bytes longer than the final",
            b.case("too-long", |d| {
                rm(d, BOT);
                rm(d, RT);
                metadata(d, |m| {
                    m.insert("bot_audio_bytes".into(), (2 * (c + 10)).into());
                });
            }),
            vec![],
            vec![&too_long],
        ),
        (
            "bot missing, logged bytes 0",
            b.case("zero-long", |d| {
                rm(d, BOT);
                rm(d, RT);
                metadata(d, |m| {
                    m.insert("bot_audio_bytes".into(), 0.into());
                });
            }),
            vec![],
            vec!["bot_audio.wav: cannot be restored: its length (0 frames) does not fit"],
        ),
        (
            "both monos missing",
            b.case("both-missing", |d| {
                rm(d, CALLER);
                rm(d, BOT);
            }),
            vec![],
            vec![
                "caller_audio.wav: cannot be restored: the other mono track is unusable too",
                "bot_audio.wav: cannot be restored: the other mono track is unusable too",
            ],
        ),
        (
            "caller and final missing",
            b.case("no-source", |d| {
                rm(d, CALLER);
                rm(d, FINAL);
            }),
            vec![],
            vec![
                "caller_audio.wav: cannot be restored: no intact final_stereo_recording.wav to restore it from",
                "final_stereo_recording.wav: missing; not rebuilt without both mono tracks",
            ],
        ),
        (
            "caller missing, the final's header sizes zeroed",
            b.case("damaged-source", |d| {
                rm(d, CALLER);
                let mut w = fs::read(d.join(FINAL)).unwrap();
                w[4..8].fill(0);
                w[40..44].fill(0);
                fs::write(d.join(FINAL), w).unwrap();
            }),
            vec![],
            vec![
                "caller_audio.wav: cannot be restored: final_stereo_recording.wav is damaged too",
                // Its one track left is shorter than it.
                &shorter,
            ],
        ),
    ];
    for (case, root, actions, left) in &cases {
        let (got, got_left) = plan(root, &[]);
        assert_eq!(&got, actions, "{case}");
        assert_left(case, &got_left, left);
    }

    // The reasons tell an empty track from a missing one.
    let root = b.case("bot-empty", |d| cut_frames(&d.join(BOT), 0));
    let lines = reasons(&root, "bot empty");
    assert!(
        lines[0].starts_with("restore-mono")
            && lines[0].contains(&format!(
                "no samples; restored from channel R of final_stereo_recording.wav ({bt} frames)"
            )),
        "{lines:#?}"
    );
    let lines = reasons(&cases[0].1, "caller missing");
    assert!(
        lines[0].contains(&format!(
            "missing or unreadable; restored from channel L of final_stereo_recording.wav ({c} frames)"
        )),
        "{lines:#?}"
    );
}

/// A mono track cut short beside an intact final stereo is restored whole,
/// but only when the real-time file proves it is the damaged one and the
/// metadata does not disagree; otherwise nothing is rebuilt from it.
#[test]
fn a_short_mono_is_restored_only_when_the_realtime_file_proves_it() {
    let b = Base::new(&[]);
    let (c, bt) = (b.caller, b.bot);
    let cut = |d: &Path| cut_frames(&d.join(CALLER), c / 2);
    let root = b.case("short", cut);
    assert_eq!(
        plan(&root, &[]).0,
        vec![format!("restore-mono {CALLER} channel=0 frames={c}")]
    );
    let lines = reasons(&root, "short");
    assert!(
        lines[0].contains(&format!(
            "cut short: {} frames where stereo_recording.wav holds {c}; restored from channel L",
            c / 2
        )),
        "{lines:#?}"
    );
    // Cut as a crash cuts it, the header still giving the whole length: the
    // restore writes the header too, and nothing else is rewritten.
    let root = b.case("short-header", |d| {
        let w = fs::read(d.join(CALLER)).unwrap();
        fs::write(d.join(CALLER), &w[..44 + c as usize]).unwrap();
    });
    assert_eq!(
        plan(&root, &[]).0,
        vec![format!("restore-mono {CALLER} channel=0 frames={c}")]
    );
    // Cut where the caller had fallen quiet: no sample of the track
    // differs, only the real-time file's length implicates it.
    let root = b.case("short-in-silence", |d| {
        let keep = quiet_caller_tail(d, 16_000);
        assert!(keep < c / 2, "the caller is quiet from {keep}");
        cut_frames(&d.join(CALLER), keep);
    });
    assert_eq!(
        plan(&root, &[]).0,
        vec![format!("restore-mono {CALLER} channel=0 frames={c}")]
    );
    // The bot's track, cut short, is restored to its own length.
    let root = b.case("short-bot", |d| cut_frames(&d.join(BOT), bt / 2));
    assert_eq!(
        plan(&root, &[]).0,
        vec![format!("restore-mono {BOT} channel=1 frames={bt}")]
    );

    let unproven = "; not rebuilt: the mono tracks do not match stereo_recording.wav (realtime.";
    let refused: Vec<(&str, PathBuf, Vec<&str>)> = vec![
        (
            "the metadata disagrees",
            b.case("short-meta", |d| {
                cut(d);
                metadata(d, |m| {
                    m.insert("caller_audio_bytes".into(), (2 * c + 2).into());
                });
            }),
            vec![unproven],
        ),
        (
            "the real-time file disagrees with the bot track too",
            b.case("short-rt-bot", |d| {
                cut(d);
                flip_sample(&d.join(RT), 2, 1);
            }),
            vec![unproven],
        ),
        (
            "the final's bot channel is damaged too",
            b.case("short-final-bot", |d| {
                cut(d);
                flip_sample(&d.join(FINAL), 2, 1);
            }),
            vec![unproven],
        ),
    ];
    for (case, root, left) in &refused {
        let (actions, got) = plan(root, &[]);
        assert_eq!(actions, Vec::<String>::new(), "{case}: {got:#?}");
        // The final's damage is named first; the real-time file's findings
        // are left alone after it.
        assert!(
            got[0].starts_with("final_stereo_recording.wav: final."),
            "{case}: {got:#?}"
        );
        assert_left(case, &got[..1], left);
        assert!(
            got[1..].iter().all(|l| l
                .contains("the real-time file is the only record of arrival order")
                || l.contains("callscope does not rewrite the recorder's metadata")),
            "{case}: {got:#?}"
        );
    }
}

/// The final stereo is rebuilt from the monos only when they are proven
/// right and never when that would make it shorter.
#[test]
fn the_final_is_rebuilt_only_from_proven_monos_and_never_made_shorter() {
    let b = Base::new(&[]);
    let c = b.caller;
    let root = b.case("final-damaged", |d| flip_sample(&d.join(FINAL), 2, 0));
    assert_eq!(
        plan(&root, &[]),
        (vec![format!("rebuild-final {FINAL}")], vec![])
    );
    let root = b.case("final-longer", |d| pad_frames(&d.join(FINAL), 100));
    assert_left(
        "final longer",
        &plan(&root, &[]).1,
        &[&format!(
            "final_stereo_recording.wav: final.length; not rebuilt: it holds {} frames, more than the longer mono track ({c}): rebuilding would make it shorter",
            c + 100
        )],
    );
    let root = b.case("rt-disagrees", |d| {
        flip_sample(&d.join(FINAL), 2, 0);
        flip_sample(&d.join(RT), 2, 0);
    });
    let (actions, left) = plan(&root, &[]);
    assert!(actions.is_empty(), "{actions:?}");
    assert_left(
        "real-time file disagrees",
        &left,
        &[
            "final_stereo_recording.wav: final.left; not rebuilt: the mono tracks do not match stereo_recording.wav (realtime.caller)",
            "(realtime.caller): the real-time file is the only record of arrival order",
        ],
    );
    let root = b.case("meta-disagrees", |d| {
        flip_sample(&d.join(FINAL), 2, 0);
        rm(d, RT);
        metadata(d, |m| {
            m.insert("caller_audio_bytes".into(), (2 * c + 2).into());
        });
    });
    let (actions, left) = plan(&root, &[]);
    assert!(actions.is_empty(), "{actions:?}");
    assert_left(
        "metadata disagrees",
        &left,
        &[
            "final_stereo_recording.wav: final.left; not rebuilt: the mono tracks disagree with call_metadata.json's byte counts (meta.bytes) and there is no real-time file to settle it",
            "(meta.bytes): callscope does not rewrite the recorder's metadata",
        ],
    );
    // A missing final is rebuilt whatever the real-time file says: there is
    // no audio to lose.
    let root = b.case("final-missing", |d| {
        rm(d, FINAL);
        flip_sample(&d.join(RT), 2, 0);
    });
    let (actions, _) = plan(&root, &[]);
    assert_eq!(actions, vec![format!("rebuild-final {FINAL}")]);
}

/// Set a WAV's sample rate and the byte rate that goes with it: a header
/// that is consistent, only at another rate.
fn set_rate_consistently(wav: &Path, rate: u32) {
    let mut b = fs::read(wav).unwrap();
    let align = u32::from(u16::from_le_bytes([b[32], b[33]]));
    b[24..28].copy_from_slice(&rate.to_le_bytes());
    b[28..32].copy_from_slice(&(rate * align).to_le_bytes());
    fs::write(wav, b).unwrap();
}

/// A header is rewritten at a rate, and the final rebuilt at the monos'
/// rate, only where the other files prove that rate.
#[test]
fn a_sample_rate_is_written_only_where_the_other_files_prove_it() {
    let b = Base::new(&[]);
    let at = |files: &'static [&'static str], rate: u32| {
        move |d: &Path| {
            for f in files {
                set_rate_consistently(&d.join(f), rate);
            }
        }
    };
    let root = b.case("bot-rate", at(&[BOT], 8000));
    assert_eq!(
        plan(&root, &[]),
        (vec![format!("rewrite-header {BOT} rate=16000")], vec![])
    );
    let lines = reasons(&root, "bot rate");
    assert!(
        lines[0].contains("wav.rate_mismatch: its samples are in stereo_recording.wav at 16000 Hz"),
        "{lines:#?}"
    );
    // Its samples do not match the real-time file: the rate cannot be taken
    // from there.
    let root = b.case("bot-rate-rt", |d| {
        set_rate_consistently(&d.join(BOT), 8000);
        flip_sample(&d.join(RT), 2, 1);
    });
    let (actions, left) = plan(&root, &[]);
    assert!(
        !actions.iter().any(|a| a.starts_with("rewrite-header")),
        "{actions:?}"
    );
    assert!(
        left.iter()
            .any(|l| l
                .starts_with("bot_audio.wav: sample rate 8000 Hz disagrees with the other files")),
        "{left:#?}"
    );
    // A rate no recording has (outside 4–192 kHz), that nothing can correct: a header whose
    // other fields agree with it is left as it is, one that also needs
    // rewriting is not rewritten at it.
    for (case, set, invalid) in [
        ("consistent", set_rate_consistently as fn(&Path, u32), false),
        ("inconsistent", set_rate as fn(&Path, u32), true),
    ] {
        let root = b.case(&format!("odd-rate-{case}"), |d| {
            set(&d.join(CALLER), 1);
            rm(d, RT);
        });
        let (actions, left) = plan(&root, &[]);
        assert!(actions.is_empty(), "{case}: {actions:?}");
        assert!(
            left[0].starts_with("caller_audio.wav: sample rate 1 Hz disagrees"),
            "{case}: {left:#?}"
        );
        assert_eq!(
            left.iter().any(|l| l.starts_with(
                "caller_audio.wav: sample rate 1 Hz is not a telephony rate and the right one cannot be proven (wav.rate_invalid)"
            )),
            invalid,
            "{case}: {left:#?}"
        );
    }
    // The final alone disagrees: three files against one.
    let root = b.case("final-rate", at(&[FINAL], 8000));
    assert_eq!(
        plan(&root, &[]),
        (vec![format!("rebuild-final {FINAL}")], vec![])
    );
    // The real-time file alone disagrees: its own rate is never taken from
    // itself, and a damaged final is rebuilt at the rate it already has.
    let root = b.case("rt-rate", |d| {
        set_rate_consistently(&d.join(RT), 8000);
        flip_sample(&d.join(FINAL), 2, 0);
    });
    let (actions, left) = plan(&root, &[]);
    assert_eq!(actions, vec![format!("rebuild-final {FINAL}")]);
    assert_left(
        "real-time rate",
        &left,
        &["stereo_recording.wav: sample rate 8000 Hz disagrees with the other files; which is right cannot be proven (wav.rate_mismatch)"],
    );
    // Two headers against two: the final is not rebuilt at the monos' rate
    // (it was once, and replaced the right final with one at 8000 Hz).
    let root = b.case("monos-rate", at(&[CALLER, BOT], 8000));
    let (actions, left) = plan(&root, &[]);
    assert!(actions.is_empty(), "{actions:?}");
    assert_left(
        "both monos",
        &left,
        &[
            "stereo_recording.wav: sample rate 16000 Hz disagrees with the other files",
            "final_stereo_recording.wav: wav.rate_mismatch; not rebuilt: the mono tracks are at 8000 Hz, stereo_recording.wav at 16000 Hz and final_stereo_recording.wav at 16000 Hz: which rate is right cannot be proven",
            "(meta.sample_rate): callscope does not rewrite the recorder's metadata",
        ],
    );
    ok(&["repair", path_str(&root), "--quiet"]);
    let fin = fs::read(root.join(&b.name).join(FINAL)).unwrap();
    assert_eq!(
        fin[24..28],
        16000u32.to_le_bytes(),
        "the final is left at its rate"
    );
    // Every WAV at a rate no recording has: nothing can be written at it,
    // and a repair that says so converges (it once planned the final at
    // 3 Hz, failed to write it, and planned it again every run).
    let root = b.case("all-invalid", at(&[CALLER, BOT, RT, FINAL], 3));
    let (actions, left) = plan(&root, &[]);
    assert!(actions.is_empty(), "{actions:?}");
    assert!(
        left.iter().any(|l| l.starts_with(
            "final_stereo_recording.wav: wav.rate_invalid; not rebuilt: the mono tracks are at 3 Hz, not a telephony rate"
        )),
        "{left:#?}"
    );
    let (code, _, err) = run(&["repair", path_str(&root), "--quiet"]);
    assert_eq!(code, 0, "nothing to do is not a failure: {err}");
    // The monos disagree with each other, each backed by one stereo file.
    let root = b.case("bot-final-rate", at(&[BOT, FINAL], 8000));
    let (actions, left) = plan(&root, &[]);
    assert!(actions.is_empty(), "{actions:?}");
    assert_left(
        "bot and final",
        &left,
        &[
            "bot_audio.wav: sample rate 8000 Hz disagrees with the other files; which is right cannot be proven",
            "final_stereo_recording.wav: wav.rate_mismatch; not rebuilt: the mono tracks disagree on the sample rate (16000 and 8000 Hz)",
        ],
    );
}

/// The listening copy, a crashed call's metadata, a call still being
/// written and what is never rewritten.
#[test]
fn what_is_never_changed_is_named_with_its_reason() {
    let b = Base::new(&[]);
    let root = b.case("clean", |_| {});
    assert_eq!(plan(&root, &[]), (vec![], vec![]));
    assert_eq!(
        plan(&root, &["--aligned"]),
        (
            vec!["write-aligned aligned_stereo_recording.wav".to_string()],
            vec![]
        )
    );
    let root = b.case("aligned-there", |d| {
        fs::write(d.join("aligned_stereo_recording.wav"), b"").unwrap();
    });
    assert_eq!(plan(&root, &["--aligned"]).0, Vec::<String>::new());
    let root = b.case("aligned-rt", |d| flip_sample(&d.join(RT), 2, 1));
    let (actions, left) = plan(&root, &["--aligned"]);
    assert!(actions.is_empty(), "{actions:?}");
    assert_left(
        "aligned, real-time file damaged",
        &left,
        &[
            "aligned_stereo_recording.wav: needs both mono tracks and an intact stereo_recording.wav",
            "(realtime.bot): the real-time file is the only record of arrival order",
        ],
    );

    // A crashed call (nothing of its end written) whose caller track is lost.
    let root = b.case("crashed", |d| {
        for f in [
            "transcript.json",
            "call_metadata.json",
            "session_events.json",
            FINAL,
            CALLER,
        ] {
            rm(d, f);
        }
    });
    let (actions, left) = plan(&root, &[]);
    assert!(actions.is_empty(), "{actions:?}");
    assert_left(
        "crashed",
        &left,
        &[
            "caller_audio.wav: cannot be restored: no intact final_stereo_recording.wav",
            "call_metadata.json: not written without both mono tracks",
            "final_stereo_recording.wav: missing; not rebuilt without both mono tracks",
        ],
    );

    let root = b.case("json", |d| {
        fs::write(d.join("transcript.json"), b"{\"entries\": [").unwrap();
        rm(d, "session_events.json");
    });
    let (actions, left) = plan(&root, &[]);
    assert!(actions.is_empty(), "{actions:?}");
    assert!(
        left.iter()
            .any(|l| l.contains("(json.parse): callscope does not rewrite the recorder's JSON")),
        "{left:#?}"
    );
    assert!(
        left.iter()
            .any(|l| l.contains("(file.missing): the recorder's JSON cannot be invented")),
        "{left:#?}"
    );
    let root = b.case("symlink", |d| {
        fs::rename(d.join("session_events.json"), d.join("events.bak")).unwrap();
        std::os::unix::fs::symlink("events.bak", d.join("session_events.json")).unwrap();
    });
    assert!(plan(&root, &[])
        .1
        .iter()
        .any(|l| l.contains("(file.symlink): symlinks are never followed or replaced")));

    // A track or the final held by a link or a FIFO is not replaced (a
    // restore was planned over a linked track once, and failed every run).
    let link = |file: &'static str| {
        move |d: &Path| {
            fs::rename(d.join(file), d.join("elsewhere.wav")).unwrap();
            std::os::unix::fs::symlink("elsewhere.wav", d.join(file)).unwrap();
        }
    };
    let linked = "(file.symlink): symlinks are never followed or replaced";
    for (case, root, says) in [
        ("linked caller", b.case("link-caller", link(CALLER)), linked),
        ("linked final", b.case("link-final", link(FINAL)), linked),
        (
            "linked caller in a crashed call",
            b.case("link-crashed", |d| {
                link(CALLER)(d);
                for f in [
                    "transcript.json",
                    "call_metadata.json",
                    "session_events.json",
                    FINAL,
                ] {
                    rm(d, f);
                }
            }),
            "call_metadata.json: not written without both mono tracks",
        ),
        (
            "caller a FIFO",
            b.case("fifo-caller", |d| {
                rm(d, CALLER);
                let made = std::process::Command::new("mkfifo")
                    .arg(d.join(CALLER))
                    .status()
                    .unwrap();
                assert!(made.success());
            }),
            "(file.not_regular): it is never opened or replaced",
        ),
    ] {
        let (actions, left) = plan(&root, &[]);
        assert!(actions.is_empty(), "{case}: {actions:?}");
        assert!(left.iter().any(|l| l.contains(says)), "{case}: {left:#?}");
        // A real run changes nothing and fails nothing.
        let (code, out, _) = run(&["repair", path_str(&root), "--quiet"]);
        assert_eq!(code, 0, "{case}: {out}");
    }
    let root = b.case("aligned-link", |d| {
        std::os::unix::fs::symlink("nowhere.wav", d.join("aligned_stereo_recording.wav")).unwrap();
    });
    assert_eq!(plan(&root, &["--aligned"]), (vec![], vec![]));

    // A call still being written: nothing is planned, and the plan says why.
    let live = Base::new(&["--faults", "in-progress"]);
    let root = live.case("live", |d| rm(d, CALLER));
    assert_eq!(
        plan(&root, &[]),
        (
            vec![],
            vec!["in progress: nothing is changed while the recorder may still be writing".into()]
        )
    );
}
