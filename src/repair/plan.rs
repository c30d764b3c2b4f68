//! Turning `check` findings into a repair plan. The mono tracks are the
//! source of truth; a repair that would have to guess is not planned, and
//! the plan says why.

use crate::audio::WavInfo;
use crate::check::{RecordingCheck, Severity};
use crate::recording::{FileKind, Recording, State, ALIGNED_FILE};

use super::action::{Action, PlannedAction, RepairPlan};

struct Facts<'a> {
    rec: &'a Recording,
    check: &'a RecordingCheck,
}

impl Facts<'_> {
    fn info(&self, k: FileKind) -> Option<&WavInfo> {
        self.rec.wav_info(k).ok().flatten()
    }

    /// Findings of at least warning level about file `k`, as codes.
    fn codes(&self, k: FileKind) -> Vec<&str> {
        self.check
            .findings
            .iter()
            .filter(|f| f.file.as_deref() == Some(k.file_name()) && f.severity >= Severity::Warning)
            .map(|f| f.code.as_ref())
            .collect()
    }

    /// The mono track's byte count as `call_metadata.json` logs it.
    fn logged_bytes(&self, k: FileKind) -> Option<u64> {
        let m = self.rec.metadata().ok().flatten()?;
        if k == FileKind::CallerAudio {
            m.caller_audio_bytes
        } else {
            m.bot_audio_bytes
        }
    }

    fn has(&self, code: &str, k: FileKind) -> bool {
        self.codes(k).contains(&code)
    }

    /// Something that is not a regular file (a symlink, a FIFO, a device)
    /// holds the name, or a file that cannot be read (it could not be kept
    /// as a backup first): it is reported, and never replaced.
    fn occupied(&self, k: FileKind) -> bool {
        (self.rec.file(k).is_some() && !self.rec.has(k))
            || self.has(crate::check::code::FILE_UNREADABLE, k)
    }

    /// A mono or stereo file whose samples can be trusted as they are.
    fn usable(&self, k: FileKind) -> Option<&WavInfo> {
        self.info(k)
            .filter(|i| i.channels == k.expected_channels() && i.frames() > 0)
    }
}

const HEADER_CODES: [&str; 4] = [
    crate::check::code::WAV_HEADER_SIZES,
    crate::check::code::WAV_ODD_BYTE,
    crate::check::code::WAV_TRAILING_BYTES,
    crate::check::code::WAV_INCONSISTENT_FORMAT,
];

/// The rate a mono whose header disagrees should have: the real-time file's,
/// when its samples are proven to be in the real-time file (which
/// interleaves them one for one with the other track) and the other files
/// agree on that rate.
fn inferred_rate(f: &Facts, k: FileKind) -> Result<u32, String> {
    let other = if k == FileKind::CallerAudio {
        FileKind::BotAudio
    } else {
        FileKind::CallerAudio
    };
    let rt = f
        .usable(FileKind::Stereo)
        .ok_or("no usable stereo_recording.wav to take the rate from")?;
    let other_rate = f.usable(other).map(|i| i.sample_rate);
    let final_rate = f.info(FileKind::FinalStereo).map(|i| i.sample_rate);
    if other_rate != Some(rt.sample_rate) || final_rate.is_some_and(|r| r != rt.sample_rate) {
        return Err("the other files do not agree on one rate".into());
    }
    let rt_code = if k == FileKind::CallerAudio {
        crate::check::code::REALTIME_CALLER
    } else {
        crate::check::code::REALTIME_BOT
    };
    if f.has(rt_code, FileKind::Stereo)
        || f.has(crate::check::code::REALTIME_LENGTH, FileKind::Stereo)
    {
        return Err("its samples do not match stereo_recording.wav".into());
    }
    Ok(rt.sample_rate)
}

/// How a missing or empty mono can be restored from the final stereo:
/// its channel and its length in frames.
fn restore_source(f: &Facts, k: FileKind) -> Result<(u16, u64), String> {
    let fin = f
        .usable(FileKind::FinalStereo)
        .ok_or("no intact final_stereo_recording.wav to restore it from")?;
    if !f.codes(FileKind::FinalStereo).is_empty() {
        return Err("final_stereo_recording.wav is damaged too".into());
    }
    let other = if k == FileKind::CallerAudio {
        FileKind::BotAudio
    } else {
        FileKind::CallerAudio
    };
    let other = f
        .usable(other)
        .ok_or("the other mono track is unusable too")?;
    // The final stereo is as long as the longer track: if the other track is
    // shorter, this one is exactly as long as the final.
    let frames = if other.frames() < fin.frames() {
        fin.frames()
    } else if let Some(rt) = f.usable(FileKind::Stereo) {
        // The real-time file holds every sample of both tracks.
        rt.frames()
            .checked_sub(other.frames())
            .ok_or("stereo_recording.wav is shorter than the other track")?
    } else {
        f.logged_bytes(k)
            .map(|b| b / 2)
            .ok_or("its length cannot be known (no real-time file, no metadata)")?
    };
    if frames == 0 || frames > fin.frames() {
        return Err(format!(
            "its length ({frames} frames) does not fit the final stereo ({} frames)",
            fin.frames()
        ));
    }
    let channel = if k == FileKind::CallerAudio { 0 } else { 1 };
    Ok((channel, frames))
}

fn other_mono(k: FileKind) -> FileKind {
    if k == FileKind::CallerAudio {
        FileKind::BotAudio
    } else {
        FileKind::CallerAudio
    }
}

fn realtime_code(k: FileKind) -> &'static str {
    if k == FileKind::CallerAudio {
        crate::check::code::REALTIME_CALLER
    } else {
        crate::check::code::REALTIME_BOT
    }
}

fn final_channel_code(k: FileKind) -> &'static str {
    if k == FileKind::CallerAudio {
        crate::check::code::FINAL_LEFT
    } else {
        crate::check::code::FINAL_RIGHT
    }
}

/// A mono track cut short beside an intact final stereo: the real-time
/// file proves which file is damaged (its samples of the other track match,
/// of this one they do not, and it holds more of this one than the file
/// does), and the final stereo still holds the whole track. Returns the
/// channel and the length the track must have.
fn truncated_mono(f: &Facts, k: FileKind) -> Option<(u16, u64)> {
    let mono = f.usable(k)?;
    let other = f.usable(other_mono(k))?;
    let rt = f.usable(FileKind::Stereo)?;
    let fin = f.usable(FileKind::FinalStereo)?;
    let rt_codes = f.codes(FileKind::Stereo);
    let implicated = rt_codes.contains(&realtime_code(k))
        || rt_codes.contains(&crate::check::code::REALTIME_LENGTH);
    let other_clean = !rt_codes.contains(&realtime_code(other_mono(k)))
        && !rt_codes.contains(&crate::check::code::REALTIME_BOTH_CHANNELS);
    // The final stereo may disagree with this track only.
    let final_only_this = f
        .codes(FileKind::FinalStereo)
        .iter()
        .all(|c| *c == crate::check::code::FINAL_LENGTH || *c == final_channel_code(k));
    if !(implicated && other_clean && final_only_this) {
        return None;
    }
    let frames = rt.frames().checked_sub(other.frames())?;
    // The metadata, when it says, must agree.
    if f.logged_bytes(k).is_some_and(|b| b != frames * 2) {
        return None;
    }
    (frames > mono.frames() && frames <= fin.frames())
        .then_some((if k == FileKind::CallerAudio { 0 } else { 1 }, frames))
}

/// Why the mono tracks cannot be trusted to rebuild the final stereo from,
/// if they cannot: they must reproduce the real-time file (or, without one,
/// the metadata's byte counts), and never be shorter than the final stereo
/// already is (good audio is never made shorter).
fn monos_unproven(f: &Facts) -> Option<String> {
    let rt_codes = f.codes(FileKind::Stereo);
    if let Some(c) = rt_codes.iter().find(|c| {
        matches!(
            **c,
            crate::check::code::REALTIME_CALLER
                | crate::check::code::REALTIME_BOT
                | crate::check::code::REALTIME_LENGTH
                | crate::check::code::REALTIME_BOTH_CHANNELS
        )
    }) {
        return Some(format!(
            "the mono tracks do not match stereo_recording.wav ({c}): which file is damaged is not proven"
        ));
    }
    if f.usable(FileKind::Stereo).is_none()
        && f.has(crate::check::code::META_BYTES, FileKind::Metadata)
    {
        return Some(
            "the mono tracks disagree with call_metadata.json's byte counts (meta.bytes) and there is no real-time file to settle it".into(),
        );
    }
    let longest = [FileKind::CallerAudio, FileKind::BotAudio]
        .iter()
        .filter_map(|k| f.info(*k).map(WavInfo::frames))
        .max()
        .unwrap_or(0);
    match f.info(FileKind::FinalStereo) {
        Some(fin) if fin.channels == 2 && fin.frames() > longest => Some(format!(
            "it holds {} frames, more than the longer mono track ({longest}): rebuilding would make it shorter",
            fin.frames()
        )),
        _ => None,
    }
}

/// Why the final stereo cannot be rebuilt at the rate the monos will have
/// (`rates`: caller and bot, after the header rewrites planned), if it
/// cannot: the two tracks must agree, and the real-time file and the final
/// stereo must not both say otherwise. Two headers against two prove
/// nothing, and a final rebuilt at the monos' rate would replace the one
/// file that may be right.
fn rate_unproven(f: &Facts, rates: [Option<u32>; 2]) -> Option<String> {
    let [Some(caller), Some(bot)] = rates else {
        return None;
    };
    if caller != bot {
        return Some(format!(
            "the mono tracks disagree on the sample rate ({caller} and {bot} Hz)"
        ));
    }
    // A final written at a rate no recording has would be found wrong, and
    // rebuilt, by every run after: say it cannot be repaired instead.
    if !crate::audio::PLAUSIBLE_RATES.contains(&caller) {
        return Some(format!(
            "the mono tracks are at {caller} Hz, not a telephony rate, and the right one cannot be proven"
        ));
    }
    let rt = f.usable(FileKind::Stereo).map(|i| i.sample_rate);
    let fin = f.info(FileKind::FinalStereo).map(|i| i.sample_rate);
    match (rt, fin) {
        (Some(r), Some(x)) if r != caller && x != caller => Some(format!(
            "the mono tracks are at {caller} Hz, stereo_recording.wav at {r} Hz and final_stereo_recording.wav at {x} Hz: which rate is right cannot be proven"
        )),
        _ => None,
    }
}

/// Plan the repair of one recording from its check; with `aligned`, also
/// the listening copy on the caller's clock, when there is none yet.
pub fn plan(rec: &Recording, check: &RecordingCheck, aligned: bool) -> RepairPlan {
    let mut plan = RepairPlan {
        recording: rec.rel.clone(),
        actions: Vec::new(),
        not_repaired: Vec::new(),
    };
    if check.state == State::InProgress {
        plan.not_repaired
            .push("in progress: nothing is changed while the recorder may still be writing".into());
        return plan;
    }
    if check.state == State::AudioRemoved {
        // Its audio is gone on purpose: nothing is restored or rebuilt.
        return plan;
    }
    let f = Facts { rec, check };
    let mut add =
        |action: Action, reason: String| plan.actions.push(PlannedAction { action, reason });
    let mut skip = Vec::new();
    // The monos' sample rates once their headers are rewritten.
    let mut mono_rates = [None, None];

    // 0. Mono tracks cut short, which the final stereo still holds whole.
    let truncated: Vec<(FileKind, u16, u64)> = [FileKind::CallerAudio, FileKind::BotAudio]
        .into_iter()
        .filter_map(|k| truncated_mono(&f, k).map(|(c, n)| (k, c, n)))
        .collect();

    // 1. Headers of the tracks kept as they are.
    for k in [FileKind::CallerAudio, FileKind::BotAudio, FileKind::Stereo] {
        if truncated.iter().any(|(t, _, _)| *t == k) {
            continue;
        }
        let Some(info) = f.usable(k) else { continue };
        let header: Vec<&str> = HEADER_CODES
            .iter()
            .copied()
            .filter(|c| f.has(c, k))
            .collect();
        let mut rate = info.sample_rate;
        let mut why = header.join(", ");
        if f.has(crate::check::code::WAV_RATE_MISMATCH, k) {
            match inferred_rate(&f, k).ok().filter(|_| k != FileKind::Stereo) {
                Some(r) => {
                    rate = r;
                    why = [why, format!("wav.rate_mismatch: its samples are in stereo_recording.wav at {r} Hz")]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ");
                }
                None => skip.push(format!(
                    "{}: sample rate {} Hz disagrees with the other files; which is right cannot be proven (wav.rate_mismatch)",
                    k.file_name(),
                    info.sample_rate
                )),
            }
        }
        if k != FileKind::Stereo {
            mono_rates[usize::from(k == FileKind::BotAudio)] = Some(rate);
        }
        if !why.is_empty() && !crate::audio::PLAUSIBLE_RATES.contains(&rate) {
            // Never write a header at a rate no recording has: it would be
            // "repaired" again every run.
            skip.push(format!(
                "{}: sample rate {rate} Hz is not a telephony rate and the right one cannot be proven (wav.rate_invalid)",
                k.file_name()
            ));
        } else if !why.is_empty() {
            add(
                Action::RewriteHeader {
                    file: k.file_name(),
                    rate,
                },
                why,
            );
        }
    }

    // 2. Mono tracks that are cut short, missing or empty, from the final stereo.
    let mut monos_ok = true;
    for (k, channel, frames) in &truncated {
        let have = f.info(*k).map_or(0, WavInfo::frames);
        add(
            Action::RestoreMono {
                file: k.file_name(),
                channel: *channel,
                frames: *frames,
            },
            format!(
                "cut short: {have} frames where stereo_recording.wav holds {frames}; restored from channel {} of final_stereo_recording.wav",
                if *channel == 0 { "L" } else { "R" }
            ),
        );
    }
    for k in [FileKind::CallerAudio, FileKind::BotAudio] {
        if f.usable(k).is_some() {
            continue;
        }
        if f.occupied(k) {
            monos_ok = false;
            continue;
        }
        match restore_source(&f, k) {
            Ok((channel, frames)) => {
                add(
                    Action::RestoreMono {
                        file: k.file_name(),
                        channel,
                        frames,
                    },
                    format!(
                    "{}; restored from channel {} of final_stereo_recording.wav ({frames} frames)",
                    if f.info(k).is_some() { "no samples" } else { "missing or unreadable" },
                    if channel == 0 { "L" } else { "R" }
                ),
                );
            }
            Err(why) => {
                monos_ok = false;
                skip.push(format!("{}: cannot be restored: {why}", k.file_name()));
            }
        }
    }

    // 3. The metadata of a crashed call, from the audio. Before the final
    // stereo: once that exists the call counts as complete, so a repair
    // killed between the two would never come back for the metadata; in
    // this order a re-run sees a complete call without its final stereo
    // and finishes it.
    if check.state == State::Crashed {
        if monos_ok {
            add(
                Action::RecoverMetadata {
                    file: FileKind::Metadata.file_name(),
                },
                "crashed call: counts, bytes and durations from the audio, marked \"recovered\""
                    .into(),
            );
        } else {
            skip.push("call_metadata.json: not written without both mono tracks".into());
        }
    }

    // 4. The final stereo, from the monos.
    let fin = FileKind::FinalStereo;
    let final_codes = f.codes(fin);
    let final_missing = !rec.has(fin);
    if !truncated.is_empty() {
        // The final stereo is the intact source of the restored track.
    } else if f.occupied(fin) {
        // Reported below, never replaced.
    } else if final_missing || !final_codes.is_empty() {
        let why = if final_missing {
            "missing".to_string()
        } else {
            final_codes.join(", ")
        };
        let unproven = if final_missing {
            None
        } else {
            monos_unproven(&f)
        }
        .or_else(|| rate_unproven(&f, mono_rates));
        if let Some(reason) = unproven {
            skip.push(format!("{}: {why}; not rebuilt: {reason}", fin.file_name()));
        } else if monos_ok {
            add(
                Action::RebuildFinal {
                    file: fin.file_name(),
                },
                why,
            );
        } else {
            skip.push(format!(
                "{}: {why}; not rebuilt without both mono tracks",
                fin.file_name()
            ));
        }
    }

    // 5. The listening copy, from the monos and the real-time file.
    // (Anything already at its name, even a dangling link, is left alone.)
    if aligned && rec.dir.join(ALIGNED_FILE).symlink_metadata().is_err() {
        let rt_ok = f.usable(FileKind::Stereo).is_some()
            && !f
                .codes(FileKind::Stereo)
                .iter()
                .any(|c| c.starts_with("realtime."));
        if monos_ok && rt_ok {
            add(
                Action::WriteAligned { file: ALIGNED_FILE },
                "bot audio placed where it was heard, from stereo_recording.wav".into(),
            );
        } else {
            skip.push(format!(
                "{ALIGNED_FILE}: needs both mono tracks and an intact stereo_recording.wav"
            ));
        }
    }

    // 6. Everything else is reported, not changed.
    for finding in check
        .findings
        .iter()
        .filter(|x| x.severity >= Severity::Warning)
    {
        let why = match finding.code.as_ref() {
            c if c.starts_with("json.") => "callscope does not rewrite the recorder's JSON",
            c if c.starts_with("meta.") => "callscope does not rewrite the recorder's metadata",
            c if c.starts_with("realtime.") => {
                "the real-time file is the only record of arrival order; it is not rebuilt"
            }
            crate::check::code::FILE_MISSING
                if matches!(
                    finding.file.as_deref(),
                    Some("transcript.json" | "session_events.json" | "call_metadata.json")
                ) =>
            {
                "the recorder's JSON cannot be invented"
            }
            crate::check::code::FILE_SYMLINK => "symlinks are never followed or replaced",
            crate::check::code::FILE_NOT_REGULAR => "it is never opened or replaced",
            crate::check::code::FILE_UNREADABLE => "the file cannot be read",
            _ => continue,
        };
        skip.push(format!("{} ({}): {why}", finding.message, finding.code));
    }
    plan.not_repaired = skip;
    plan
}
