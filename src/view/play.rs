//! `callscope play`: hand a track to the system's audio player, trying the
//! players the recorder's own viewer tried, in its order.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::recording::{FileKind, Recording};
use crate::repair::ALIGNED_FILE;

/// Which file to play.
pub fn track_path(rec: &Recording, track: &str) -> Result<PathBuf> {
    let name = match track {
        "caller" => FileKind::CallerAudio.file_name(),
        "bot" => FileKind::BotAudio.file_name(),
        "stereo" => FileKind::Stereo.file_name(),
        "final" => FileKind::FinalStereo.file_name(),
        "aligned" => ALIGNED_FILE,
        other => {
            return Err(Error::Usage(format!(
                "--track {other}: use caller, bot, stereo, final or aligned"
            )));
        }
    };
    let p = rec.dir.join(name);
    if !p.is_file() {
        let hint = if track == "aligned" {
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
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
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
    let status = Command::new(&cmd[0])
        .args(&cmd[1..])
        .arg(file)
        .status()
        .map_err(|e| Error::Usage(format!("{}: {e}", cmd[0])))?;
    Ok(status.code().unwrap_or(1))
}
