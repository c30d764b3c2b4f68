//! The damage the real recorder (or the disk under it) does, injected on
//! purpose so every check and repair can be tested against a known truth.

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::call::Call;
use crate::audio;
use crate::recording::FileKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Crashed,
    InProgress,
    MissingFinal,
    TruncatedFinal,
    SwappedFinal,
    ZeroedSizes,
    FfffSizes,
    HeaderOnly,
    BrokenTranscript,
    WrongMetadataBytes,
    RateMismatch,
}

impl Fault {
    /// Every fault, in the order `--faults all` cycles through them (a clean
    /// recording first).
    pub const ALL: [Fault; 12] = [
        Fault::None,
        Fault::Crashed,
        Fault::InProgress,
        Fault::MissingFinal,
        Fault::TruncatedFinal,
        Fault::SwappedFinal,
        Fault::ZeroedSizes,
        Fault::FfffSizes,
        Fault::HeaderOnly,
        Fault::BrokenTranscript,
        Fault::WrongMetadataBytes,
        Fault::RateMismatch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Crashed => "crashed",
            Fault::InProgress => "in-progress",
            Fault::MissingFinal => "missing-final",
            Fault::TruncatedFinal => "truncated-final",
            Fault::SwappedFinal => "swapped-final",
            Fault::ZeroedSizes => "zeroed-sizes",
            Fault::FfffSizes => "ffff-sizes",
            Fault::HeaderOnly => "header-only",
            Fault::BrokenTranscript => "broken-transcript",
            Fault::WrongMetadataBytes => "wrong-metadata-bytes",
            Fault::RateMismatch => "rate-mismatch",
        }
    }

    /// Parse a comma-separated list; `all` stands for every fault.
    pub fn parse_list(s: &str) -> Result<Vec<Fault>, String> {
        let mut out = Vec::new();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "all" {
                out.extend(Fault::ALL);
                continue;
            }
            let f = Fault::ALL
                .into_iter()
                .find(|f| f.name() == name)
                .ok_or_else(|| {
                    let names: Vec<_> = Fault::ALL.iter().map(|f| f.name()).collect();
                    format!("unknown fault '{name}' (known: all, {})", names.join(", "))
                })?;
            out.push(f);
        }
        Ok(out)
    }

    /// The file the fault damages, when it is one file.
    pub fn file(self) -> Option<FileKind> {
        match self {
            Fault::MissingFinal | Fault::TruncatedFinal | Fault::SwappedFinal => {
                Some(FileKind::FinalStereo)
            }
            Fault::ZeroedSizes => Some(FileKind::CallerAudio),
            Fault::FfffSizes => Some(FileKind::Stereo),
            Fault::HeaderOnly | Fault::RateMismatch => Some(FileKind::BotAudio),
            Fault::BrokenTranscript => Some(FileKind::Transcript),
            Fault::WrongMetadataBytes => Some(FileKind::Metadata),
            Fault::None | Fault::Crashed | Fault::InProgress => None,
        }
    }

    /// True when the recorder never finished the call.
    pub fn unfinished(self) -> bool {
        matches!(self, Fault::Crashed | Fault::InProgress)
    }
}

fn patch_u32(path: &Path, at: u64, value: u32) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(path)?;
    f.seek(SeekFrom::Start(at))?;
    f.write_all(&value.to_le_bytes())
}

/// Damage a freshly written recording.
pub fn apply(fault: Fault, dir: &Path, call: &Call, rng: &mut ChaCha8Rng) -> std::io::Result<()> {
    let path = |k: FileKind| dir.join(k.file_name());
    match fault {
        Fault::None => {}
        Fault::Crashed | Fault::InProgress => {
            // Only the WAVs exist until the call ends.
            for k in [
                FileKind::Transcript,
                FileKind::Metadata,
                FileKind::Events,
                FileKind::FinalStereo,
            ] {
                fs::remove_file(path(k))?;
            }
        }
        Fault::MissingFinal => fs::remove_file(path(FileKind::FinalStereo))?,
        Fault::TruncatedFinal => {
            let p = path(FileKind::FinalStereo);
            let len = fs::metadata(&p)?.len();
            let data = len - audio::CANONICAL_HEADER_LEN;
            let keep = (data as f64 * rng.random_range(0.3..0.9)) as u64 | 1;
            OpenOptions::new()
                .write(true)
                .open(&p)?
                .set_len(audio::CANONICAL_HEADER_LEN + keep)?;
        }
        Fault::SwappedFinal => {
            let swapped = audio::interleave_padded(&call.bot, &call.caller);
            audio::write_wav(&path(FileKind::FinalStereo), 2, call.rate, &swapped)
                .map_err(std::io::Error::other)?;
        }
        Fault::ZeroedSizes => {
            patch_u32(&path(FileKind::CallerAudio), 4, 0)?;
            patch_u32(&path(FileKind::CallerAudio), 40, 0)?;
        }
        Fault::FfffSizes => {
            patch_u32(&path(FileKind::Stereo), 4, u32::MAX)?;
            patch_u32(&path(FileKind::Stereo), 40, u32::MAX)?;
        }
        Fault::HeaderOnly => {
            let p = path(FileKind::BotAudio);
            fs::write(&p, audio::wav_bytes(1, call.rate, &[]))?;
        }
        Fault::BrokenTranscript => {
            let p = path(FileKind::Transcript);
            let bytes = fs::read(&p)?;
            fs::write(&p, &bytes[..bytes.len() / 2])?;
        }
        Fault::WrongMetadataBytes => {
            let p = path(FileKind::Metadata);
            let text = fs::read_to_string(&p)?;
            let mut v: serde_json::Value =
                serde_json::from_str(&text).map_err(std::io::Error::other)?;
            let wrong = v["caller_audio_bytes"].as_u64().unwrap_or(0) + 3200;
            v["caller_audio_bytes"] = wrong.into();
            fs::write(
                &p,
                serde_json::to_string_pretty(&v).map_err(std::io::Error::other)?,
            )?;
        }
        Fault::RateMismatch => {
            let other = if call.rate == 24000 { 16000 } else { 24000 };
            let p = path(FileKind::BotAudio);
            patch_u32(&p, 24, other)?;
            patch_u32(&p, 28, other * 2)?;
        }
    }
    Ok(())
}
