//! Cross-checks: what call_metadata.json says against the audio, the
//! transcript and the session events.

use super::finding::{Finding, Severity};
use crate::audio::WavInfo;
use crate::recording::{FileKind, Recording};

const META: Option<FileKind> = Some(FileKind::Metadata);
const NAME: &str = "call_metadata.json";

/// The recorder's own arithmetic: bytes / 32000, as if every file were 16 kHz.
const RECORDER_BYTES_PER_SECOND: f64 = 32000.0;

fn track_checks(
    label: &str,
    bytes: Option<u64>,
    duration: Option<f64>,
    info: Option<&WavInfo>,
    file: &str,
    out: &mut Vec<Finding>,
) {
    // A track with no samples or no readable header is reported on its own.
    let Some(info) = info.filter(|i| i.frames() > 0) else {
        return;
    };
    if let Some(b) = bytes {
        if b != info.data_len {
            out.push(Finding::new(
                crate::check::code::META_BYTES,
                META,
                format!(
                    "{NAME}: {label}_audio_bytes is {b}, {file} holds {} bytes of samples",
                    info.data_len
                ),
            ));
        }
    }
    if let Some(d) = duration {
        let real = info.duration_s();
        if (d - real).abs() > 0.001 {
            let recorder_math =
                bytes.is_some_and(|b| (d - b as f64 / RECORDER_BYTES_PER_SECOND).abs() < 1e-6);
            let (severity, why) = if recorder_math && info.sample_rate != 16000 {
                (
                    Severity::Info,
                    format!(
                        " (the recorder divides bytes by 32000, assuming 16 kHz; the file is {} Hz, so its figure is off by {:.2}x)",
                        info.sample_rate,
                        d / real
                    ),
                )
            } else {
                (Severity::Warning, String::new())
            };
            out.push(
                Finding::new(
                    crate::check::code::META_AUDIO_DURATION,
                    META,
                    format!("{NAME}: {label}_audio_duration_seconds is {d}, {file} lasts {real:.3} s{why}"),
                )
                .with_severity(severity),
            );
        }
    }
}

pub fn check_cross(
    rec: &Recording,
    caller: Option<&WavInfo>,
    bot: Option<&WavInfo>,
    out: &mut Vec<Finding>,
) {
    let Ok(Some(meta)) = rec.metadata() else {
        return;
    };
    if meta.recovered == Some(true) {
        out.push(Finding::new(
            crate::check::code::META_RECOVERED,
            META,
            format!("{NAME}: rebuilt from the audio of a crashed call; transcript and events were never written"),
        ));
    }
    track_checks(
        "caller",
        meta.caller_audio_bytes,
        meta.caller_audio_duration_seconds,
        caller,
        FileKind::CallerAudio.file_name(),
        out,
    );
    track_checks(
        "bot",
        meta.bot_audio_bytes,
        meta.bot_audio_duration_seconds,
        bot,
        FileKind::BotAudio.file_name(),
        out,
    );
    let start = meta.start_time.as_ref().and_then(|t| t.utc);
    let end = meta.end_time.as_ref().and_then(|t| t.utc);
    if let (Some(s), Some(e), Some(d)) = (start, end, meta.duration_seconds) {
        let span = (e - s).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
        if (span - d).abs() > 0.001 {
            out.push(Finding::new(
                crate::check::code::META_DURATION,
                META,
                format!("{NAME}: duration_seconds is {d}, end_time − start_time is {span:.6} s"),
            ));
        }
    }
    if let (Some(n), Ok(Some(t))) = (meta.transcript_entries, rec.transcript()) {
        if n != t.entries.len() as u64 {
            out.push(Finding::new(
                crate::check::code::META_TRANSCRIPT_ENTRIES,
                META,
                format!(
                    "{NAME}: transcript_entries is {n}, transcript.json has {} entries",
                    t.entries.len()
                ),
            ));
        }
    }
    if let Ok(Some(ev)) = rec.events() {
        let key = |c: &crate::recording::FunctionCall| (c.function_name.clone(), c.call_id.clone());
        let from_meta: Vec<_> = meta.function_calls.iter().map(key).collect();
        let from_events: Vec<_> = ev.function_calls().iter().map(key).collect();
        if from_meta != from_events {
            out.push(Finding::new(
                crate::check::code::META_FUNCTION_CALLS,
                META,
                format!(
                    "{NAME}: {} function call(s), session_events.json logs {} function_call event(s){}",
                    from_meta.len(),
                    from_events.len(),
                    if from_meta.len() == from_events.len() { " with other names or ids" } else { "" }
                ),
            ));
        }
    }
}
