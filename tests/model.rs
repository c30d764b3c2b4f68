//! The recording model on damaged recordings: every injected fault shows up
//! as the anomaly, state or error it should, and the rest stays usable.

mod common;

use std::time::Duration;

use callscope::audio::WavAnomaly;
use callscope::recording::{discover, FileKind, ModelOptions, StartSource, State};
use common::*;

#[test]
fn every_fault_is_seen_by_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 12, 10, &["--faults", "all", "--seed", "2"]);
    let found = discover(&rec).unwrap();
    let truths = truths(&truth);
    assert_eq!(found.recordings.len(), truths.len());
    let opts = ModelOptions {
        settle: Duration::from_secs(300),
        ..ModelOptions::default()
    };
    let mut seen = Vec::new();
    for (r, t) in found.recordings.iter().zip(&truths) {
        assert_eq!(r.rel, t.recording);
        seen.push(t.fault.clone());
        let info = |k| r.wav_info(k).unwrap().unwrap().clone();
        let state = r.state(&opts);
        let start = r.start_time(Default::default()).unwrap();
        match t.fault.as_str() {
            "none" => {
                for k in FileKind::WAVS {
                    assert!(info(k).anomalies.is_empty(), "{k:?}");
                }
                assert_eq!(state, State::Complete);
                assert_eq!(start.source, StartSource::Metadata);
            }
            "crashed" | "in-progress" => {
                assert_eq!(
                    state,
                    if t.fault == "crashed" {
                        State::Crashed
                    } else {
                        State::InProgress
                    }
                );
                assert!(!r.has(FileKind::FinalStereo));
                assert!(r.metadata().unwrap().is_none());
                assert_eq!(start.source, StartSource::DirName);
            }
            "missing-final" => assert!(!r.has(FileKind::FinalStereo)),
            "truncated-final" => {
                let i = info(FileKind::FinalStereo);
                assert!(i
                    .anomalies
                    .iter()
                    .any(|a| matches!(a, WavAnomaly::DataSizeBeyondFile { .. })));
                assert!(i
                    .anomalies
                    .iter()
                    .any(|a| matches!(a, WavAnomaly::PartialFrame { .. })));
                assert!(i.frames() < t.caller_samples as u64);
            }
            "swapped-final" => assert!(info(FileKind::FinalStereo).anomalies.is_empty()),
            "zeroed-sizes" => {
                let i = info(FileKind::CallerAudio);
                assert!(i.anomalies.contains(&WavAnomaly::RiffSizeZero));
                assert!(i.anomalies.contains(&WavAnomaly::DataSizeZero {
                    available: 2 * t.caller_samples as u64
                }));
                assert_eq!(i.frames(), t.caller_samples as u64, "no sample lost");
            }
            "ffff-sizes" => {
                let i = info(FileKind::Stereo);
                assert!(i.anomalies.contains(&WavAnomaly::RiffSizeUnset));
                assert_eq!(i.frames(), (t.caller_samples + t.bot_samples) as u64);
            }
            "header-only" => {
                let i = info(FileKind::BotAudio);
                assert_eq!(i.anomalies, vec![WavAnomaly::NoSamples]);
                assert_eq!(i.file_len, 44);
            }
            "broken-transcript" => {
                let err = r.transcript().unwrap_err().to_string();
                assert!(
                    err.contains("transcript.json: invalid JSON at line"),
                    "{err}"
                );
                // The rest of the recording is still usable.
                assert!(r.metadata().unwrap().is_some());
                assert_eq!(start.source, StartSource::Metadata);
            }
            "wrong-metadata-bytes" => {
                let m = r.metadata().unwrap().unwrap();
                assert_ne!(
                    m.caller_audio_bytes,
                    Some(info(FileKind::CallerAudio).data_len)
                );
            }
            "rate-mismatch" => {
                assert_ne!(
                    info(FileKind::BotAudio).sample_rate,
                    info(FileKind::CallerAudio).sample_rate
                );
            }
            other => panic!("fault {other} not covered"),
        }
    }
    assert_eq!(seen.len(), 12);
}
