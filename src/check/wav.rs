//! Header-level checks of the four WAVs, and the content comparisons of the
//! two stereo files against the monos.

use super::compare::{self, Diff, FinalReport, RealtimeReport};
use super::finding::Finding;
use crate::audio::{WavAnomaly, WavError, WavInfo};
use crate::recording::{FileKind, Recording};

/// Header findings for one WAV; returns the header when the file is usable.
pub fn check_header<'r>(
    rec: &'r Recording,
    kind: FileKind,
    out: &mut Vec<Finding>,
) -> Option<&'r WavInfo> {
    let info = match rec.wav_info(kind) {
        Ok(Some(info)) => info,
        Ok(None) => return None,
        Err(e) => {
            out.push(Finding::new(
                header_error_code(e),
                Some(kind),
                e.to_string(),
            ));
            return None;
        }
    };
    let name = kind.file_name();
    if !info.rate_plausible() {
        out.push(Finding::new(
            crate::check::code::WAV_RATE_INVALID,
            Some(kind),
            format!(
                "{name}: sample rate {} Hz in the header; a telephony recording has {}–{} Hz (a damaged header)",
                info.sample_rate,
                crate::audio::PLAUSIBLE_RATES.start(),
                crate::audio::PLAUSIBLE_RATES.end()
            ),
        ));
    }
    let want = kind.expected_channels();
    if info.channels != want {
        out.push(Finding::new(
            crate::check::code::WAV_CHANNELS,
            Some(kind),
            format!(
                "{name}: {} channel(s), the recorder writes {want}",
                info.channels
            ),
        ));
    }
    let sizes: Vec<String> = info
        .anomalies
        .iter()
        .filter(|a| a.is_size_problem())
        .map(ToString::to_string)
        .collect();
    if !sizes.is_empty() {
        out.push(Finding::new(
            crate::check::code::WAV_HEADER_SIZES,
            Some(kind),
            format!(
                "{name}: {}; {} bytes of samples are present (repair rewrites the header)",
                sizes.join("; "),
                info.data_len
            ),
        ));
    }
    for a in &info.anomalies {
        let code = match a {
            WavAnomaly::PartialFrame { .. } => crate::check::code::WAV_ODD_BYTE,
            WavAnomaly::NoSamples => crate::check::code::WAV_NO_SAMPLES,
            WavAnomaly::TrailingBytes { .. } => crate::check::code::WAV_TRAILING_BYTES,
            WavAnomaly::UnknownChunk { .. } => crate::check::code::WAV_UNKNOWN_CHUNK,
            WavAnomaly::Extensible => crate::check::code::WAV_EXTENSIBLE,
            WavAnomaly::InconsistentFormat { .. } => crate::check::code::WAV_INCONSISTENT_FORMAT,
            _ => continue,
        };
        out.push(Finding::new(code, Some(kind), format!("{name}: {a}")));
    }
    Some(info)
}

/// The rate the recorder logged in its `recording_started` event against
/// the caller track's (the call's clock): a warning when they differ.
pub fn check_logged_rate(rec: &Recording, infos: &[(FileKind, &WavInfo)], out: &mut Vec<Finding>) {
    let caller = infos
        .iter()
        .find(|(k, _)| *k == FileKind::CallerAudio)
        .map(|(_, i)| i.sample_rate);
    if let (Some(logged), Some(caller)) = (rec.logged_sample_rate(), caller) {
        if logged != caller {
            out.push(Finding::new(
                crate::check::code::META_SAMPLE_RATE,
                Some(FileKind::Events),
                format!(
                    "session_events.json: recording_started logs a target_sample_rate of {logged} Hz, caller_audio.wav is {caller} Hz"
                ),
            ));
        }
    }
}

/// The finding code of a WAV header that could not be read: a failed read
/// (permissions, an I/O error, the file gone since the scan) says nothing
/// about what the file holds, so it is not called a bad WAV.
fn header_error_code(e: &crate::Error) -> &'static str {
    match e {
        crate::Error::Wav { source, .. } => match source {
            WavError::Unsupported(_) => crate::check::code::WAV_FORMAT,
            WavError::Io(_) => crate::check::code::FILE_UNREADABLE,
            _ => crate::check::code::WAV_UNREADABLE,
        },
        _ => crate::check::code::FILE_UNREADABLE,
    }
}

/// One finding when the WAVs do not share a sample rate, naming the odd one(s) out.
pub fn check_rates(infos: &[(FileKind, &WavInfo)], out: &mut Vec<Finding>) {
    let mut rates: Vec<u32> = infos.iter().map(|(_, i)| i.sample_rate).collect();
    rates.sort_unstable();
    rates.dedup();
    if rates.len() < 2 {
        return;
    }
    // The rate most files agree on (ties: the caller track's, the call's clock).
    let count = |r: u32| infos.iter().filter(|(_, i)| i.sample_rate == r).count();
    let caller_rate = infos
        .iter()
        .find(|(k, _)| *k == FileKind::CallerAudio)
        .map(|(_, i)| i.sample_rate);
    let majority = rates
        .iter()
        .copied()
        .max_by_key(|r| (count(*r), Some(*r) == caller_rate))
        .unwrap_or(rates[0]);
    let all: Vec<String> = infos
        .iter()
        .map(|(k, i)| format!("{} {} Hz", k.file_name(), i.sample_rate))
        .collect();
    for (kind, info) in infos.iter().filter(|(_, i)| i.sample_rate != majority) {
        out.push(Finding::new(
            crate::check::code::WAV_RATE_MISMATCH,
            Some(*kind),
            format!(
                "{}: {} Hz where the other files are {majority} Hz ({})",
                kind.file_name(),
                info.sample_rate,
                all.join(", ")
            ),
        ));
    }
}

fn at_frame(d: &Diff, rate: u32) -> String {
    let first = d.first.unwrap_or(0);
    format!(
        "first at frame {first} ({:.3} s), {} frame(s) differ",
        first as f64 / f64::from(rate),
        d.count
    )
}

/// What the final stereo comparison means, as findings.
pub fn final_findings(r: &FinalReport, rate: u32, out: &mut Vec<Finding>) {
    let kind = Some(FileKind::FinalStereo);
    let name = FileKind::FinalStereo.file_name();
    if r.frames != r.expected_frames {
        out.push(Finding::new(
            crate::check::code::FINAL_LENGTH,
            kind,
            format!(
                "{name}: {} frames, the longer mono track has {} (the recorder pads the shorter track to it)",
                r.frames, r.expected_frames
            ),
        ));
    }
    if r.is_swapped() {
        out.push(Finding::new(
            crate::check::code::FINAL_SWAPPED,
            kind,
            format!(
                "{name}: channels swapped (L matches bot_audio.wav, R matches caller_audio.wav)"
            ),
        ));
        return;
    }
    if r.left.count > 0 {
        out.push(Finding::new(
            crate::check::code::FINAL_LEFT,
            kind,
            format!(
                "{name}: left channel differs from caller_audio.wav: {}",
                at_frame(&r.left, rate)
            ),
        ));
    }
    if r.right.count > 0 {
        out.push(Finding::new(
            crate::check::code::FINAL_RIGHT,
            kind,
            format!(
                "{name}: right channel differs from bot_audio.wav: {}",
                at_frame(&r.right, rate)
            ),
        ));
    }
}

/// What the real-time comparison means, as findings.
pub fn realtime_findings(r: &RealtimeReport, out: &mut Vec<Finding>) {
    let kind = Some(FileKind::Stereo);
    let name = FileKind::Stereo.file_name();
    if r.frames != r.expected_frames {
        out.push(Finding::new(
            crate::check::code::REALTIME_LENGTH,
            kind,
            format!(
                "{name}: {} frames, caller + bot samples are {} (every chunk is appended once)",
                r.frames, r.expected_frames
            ),
        ));
    }
    if r.both_nonzero > 0 {
        out.push(Finding::new(
            crate::check::code::REALTIME_BOTH_CHANNELS,
            kind,
            format!(
                "{name}: {} frame(s) with both channels non-zero, first at frame {} (each chunk has the other channel zero)",
                r.both_nonzero,
                r.first_both_nonzero.unwrap_or(0)
            ),
        ));
    }
    for (code, m, mono) in [
        (
            crate::check::code::REALTIME_CALLER,
            &r.caller,
            "caller_audio.wav",
        ),
        (crate::check::code::REALTIME_BOT, &r.bot, "bot_audio.wav"),
    ] {
        if m.ok() {
            continue;
        }
        let detail = match m.first_mismatch {
            Some(i) => format!("non-zero sample #{i} differs"),
            None => format!(
                "{} non-zero samples there, {} in {mono}",
                m.realtime, m.mono
            ),
        };
        out.push(Finding::new(
            code,
            kind,
            format!(
                "{name}: its {} samples do not reproduce {mono} in order: {detail}",
                &code[9..]
            ),
        ));
    }
}

/// Run both stereo comparisons where the files allow it.
pub fn check_content(rec: &Recording, usable: &[(FileKind, &WavInfo)], out: &mut Vec<Finding>) {
    let get = |k: FileKind| usable.iter().find(|(x, _)| *x == k).map(|(_, i)| *i);
    let (Some(caller), Some(bot)) = (get(FileKind::CallerAudio), get(FileKind::BotAudio)) else {
        return;
    };
    // A mono with no samples is already reported; comparing against it says
    // nothing new. (Content is compared whatever the headers' rates say.)
    if caller.frames() == 0 || bot.frames() == 0 {
        return;
    }
    let (cp, bp) = (
        rec.path(FileKind::CallerAudio),
        rec.path(FileKind::BotAudio),
    );
    let report_io = |kind: FileKind, e: WavError, out: &mut Vec<Finding>| {
        out.push(Finding::new(
            crate::check::code::FILE_UNREADABLE,
            Some(kind),
            format!("{}: {e}", rec.path(kind).display()),
        ));
    };
    if let Some(fin) = get(FileKind::FinalStereo).filter(|i| i.channels == 2) {
        match compare::compare_final(&rec.path(FileKind::FinalStereo), &cp, &bp) {
            Ok(r) => final_findings(&r, fin.sample_rate, out),
            Err(e) => report_io(FileKind::FinalStereo, e, out),
        }
    }
    if get(FileKind::Stereo).is_some_and(|i| i.channels == 2) {
        let rt = rec.path(FileKind::Stereo);
        match compare::compare_realtime(&rt, &cp, &bp) {
            Ok(r) => realtime_findings(&r, out),
            Err(e) => report_io(FileKind::Stereo, e, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn info(sample_rate: u32) -> WavInfo {
        WavInfo {
            channels: 1,
            sample_rate,
            data_offset: 44,
            data_len: 0,
            declared_data_len: 0,
            file_len: 44,
            anomalies: Vec::new(),
        }
    }

    /// The files `check_rates` names, for the four tracks' rates in order:
    /// caller, bot, real-time stereo, final stereo.
    fn odd_ones_out(rates: [u32; 4]) -> Vec<String> {
        let infos = rates.map(info);
        let kinds = [
            FileKind::CallerAudio,
            FileKind::BotAudio,
            FileKind::Stereo,
            FileKind::FinalStereo,
        ];
        let pairs: Vec<(FileKind, &WavInfo)> = kinds.into_iter().zip(&infos).collect();
        let mut out = Vec::new();
        check_rates(&pairs, &mut out);
        assert!(out
            .iter()
            .all(|f| f.code == crate::check::code::WAV_RATE_MISMATCH));
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn a_header_that_cannot_be_read_is_not_called_a_bad_wav() {
        let code = |source| header_error_code(&crate::Error::wav(Path::new("x.wav"), source));
        assert_eq!(
            code(WavError::Io("Permission denied".into())),
            crate::check::code::FILE_UNREADABLE
        );
        assert_eq!(
            code(WavError::Truncated("cut")),
            crate::check::code::WAV_UNREADABLE
        );
        assert_eq!(code(WavError::NoData), crate::check::code::WAV_UNREADABLE);
        assert_eq!(
            code(WavError::Unsupported("8-bit".into())),
            crate::check::code::WAV_FORMAT
        );
    }

    #[test]
    fn the_rate_most_files_share_is_right_and_a_tie_goes_to_the_caller_s() {
        assert!(odd_ones_out([16000; 4]).is_empty());
        assert_eq!(
            odd_ones_out([16000, 8000, 16000, 16000]),
            ["bot_audio.wav: 8000 Hz where the other files are 16000 Hz (caller_audio.wav 16000 Hz, bot_audio.wav 8000 Hz, stereo_recording.wav 16000 Hz, final_stereo_recording.wav 16000 Hz)"]
        );
        // Two and two: the caller track's rate is the call's clock.
        let named = odd_ones_out([8000, 16000, 8000, 16000]);
        assert_eq!(named.len(), 2, "{named:?}");
        assert!(named[0].starts_with("bot_audio.wav: 16000 Hz where the other files are 8000 Hz"));
        assert!(named[1].starts_with("final_stereo_recording.wav: 16000 Hz"));
        let named = odd_ones_out([16000, 8000, 16000, 8000]);
        assert!(named[0].starts_with("bot_audio.wav: 8000 Hz where the other files are 16000 Hz"));
    }
}
