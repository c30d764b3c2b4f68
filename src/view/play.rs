//! `callscope play`: hand a track to the system's audio player, trying the
//! players the recorder's own viewer tried, in its order.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::recording::ALIGNED_FILE;
use crate::recording::{FileKind, Recording};

/// Which of a recording's audio files to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Track {
    /// caller_audio.wav
    Caller,
    /// bot_audio.wav
    Bot,
    /// stereo_recording.wav, as heard in real time
    Stereo,
    /// final_stereo_recording.wav
    Final,
    /// aligned_stereo_recording.wav (repair --aligned writes it)
    Aligned,
}

/// Which file to play.
pub fn track_path(rec: &Recording, track: Track) -> Result<PathBuf> {
    let name = match track {
        Track::Caller => FileKind::CallerAudio.file_name(),
        Track::Bot => FileKind::BotAudio.file_name(),
        Track::Stereo => FileKind::Stereo.file_name(),
        Track::Final => FileKind::FinalStereo.file_name(),
        Track::Aligned => ALIGNED_FILE,
    };
    let p = rec.dir.join(name);
    if !p.is_file() {
        let hint = if track == Track::Aligned {
            " (callscope repair --aligned writes it)"
        } else {
            ""
        };
        return Err(Error::Usage(format!("{}: no such file{hint}", p.display())));
    }
    Ok(p)
}

/// The players to try on this system, in order.
pub fn default_players() -> Vec<Vec<String>> {
    let v = |s: &[&str]| {
        s.iter()
            .map(std::string::ToString::to_string)
            .collect::<Vec<_>>()
    };
    if cfg!(target_os = "macos") {
        vec![v(&["afplay"]), v(&["open"])]
    } else if cfg!(windows) {
        vec![v(&["cmd", "/C", "start", ""])]
    } else {
        vec![
            v(&["aplay"]),
            v(&["paplay"]),
            v(&["play"]),
            v(&["xdg-open"]),
        ]
    }
}

fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Play `file` with `player` (a command line; the file is appended) or the
/// first default player found. Returns the player's exit code.
pub fn play(file: &Path, player: Option<&str>) -> Result<i32> {
    let candidates: Vec<Vec<String>> = match player {
        Some(cmd) => vec![cmd.split_whitespace().map(str::to_string).collect()],
        None => default_players(),
    };
    let chosen = candidates
        .iter()
        .find(|c| c.first().is_some_and(|p| on_path(p)));
    let Some(cmd) = chosen else {
        let tried: Vec<String> = candidates.iter().map(|c| c.join(" ")).collect();
        return Err(Error::Usage(format!(
            "no audio player found (tried: {}); install one (alsa-utils, pulseaudio-utils, sox) or pass --player CMD",
            tried.join(", ")
        )));
    };
    // A relative path starting with `-` would be taken for an option: the
    // player is given `./-name/…`, which names the same file.
    let file = if file.is_relative() && file.as_os_str().as_encoded_bytes().starts_with(b"-") {
        Path::new(".").join(file)
    } else {
        file.to_path_buf()
    };
    let status = Command::new(&cmd[0])
        .args(&cmd[1..])
        .arg(&file)
        .status()
        .map_err(|e| Error::Usage(format!("{}: {e}", cmd[0])))?;
    Ok(status.code().unwrap_or(1))
}
