//! Entry points for the fuzz targets (`tests/fuzz/`) and for replaying
//! their findings in `cargo test` (`tests/fuzz_regressions.rs`). Each takes
//! arbitrary bytes and must neither panic nor allocate much more than its
//! input's size; the fuzzers run them with a memory limit.

use std::io::Cursor;
use std::path::Path;

use crate::audio::{self, WavStream};
use crate::recording::{CallMetadata, SessionEvents, Transcript};

/// The tolerant RIFF reader: the header, the whole file, and the stream.
pub fn riff(data: &[u8]) {
    let len = data.len() as u64;
    if audio::parse_header(&mut Cursor::new(data), len).is_err() {
        return;
    }
    let _ = audio::read_wav_from(&mut Cursor::new(data), len);
    if let Ok(info) = audio::parse_header(&mut Cursor::new(data), len) {
        if let Ok(mut s) = WavStream::new(Cursor::new(data), info) {
            let mut block = Vec::new();
            while matches!(s.read_block(&mut block, 4096), Ok(n) if n > 0) {}
        }
    }
}

/// Each JSON model the recorder writes, and the timestamps in them.
pub fn json_models(data: &[u8]) {
    if let Ok(m) = serde_json::from_slice::<CallMetadata>(data) {
        let _ = m.start_time.as_ref().and_then(|t| t.utc);
        let _ = m.function_calls.iter().filter_map(|c| c.intent()).count();
    }
    if let Ok(t) = serde_json::from_slice::<Transcript>(data) {
        let _ = t.entries.len();
    }
    if let Ok(e) = serde_json::from_slice::<SessionEvents>(data) {
        let _ = e.function_calls();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::recording::parse_timestamp(text);
    }
}

/// The retention policy parser (its hold list, if any, is looked up
/// relative to a directory that holds none).
pub fn policy(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::retention::policy::parse(text, Path::new("/nonexistent/fuzz.toml"));
        let _ = crate::retention::policy::parse_period(text);
    }
}

/// Split fuzz input into a chunk size and three files: each file is
/// preceded by its length (two bytes, little-endian); the last takes the rest.
fn three_files(data: &[u8]) -> Option<(u64, [&[u8]; 3])> {
    let (&chunk, mut rest) = data.split_first()?;
    let mut take = || {
        let (len, tail) = rest.split_at_checked(2)?;
        let n = usize::from(u16::from_le_bytes([len[0], len[1]])).min(tail.len());
        let (file, tail) = tail.split_at(n);
        rest = tail;
        Some(file)
    };
    let (a, b) = (take()?, take()?);
    Some((u64::from(chunk) + 1, [a, b, rest]))
}

/// The timeline and the stereo comparisons on three arbitrary WAVs
/// (real-time stereo, caller, bot), written to `dir`.
pub fn timeline(data: &[u8], dir: &Path) {
    let Some((chunk, files)) = three_files(data) else {
        return;
    };
    let names = ["stereo_recording.wav", "caller_audio.wav", "bot_audio.wav"];
    for (name, bytes) in names.iter().zip(files) {
        if std::fs::write(dir.join(name), bytes).is_err() {
            return;
        }
    }
    let [rt, caller, bot] = names.map(|n| dir.join(n));
    if let Ok(mut tl) = crate::timeline::recover(&rt, &caller, &bot, chunk) {
        // What was heard, with caller speech taken from the input's bytes
        // and a bot track of the wrong length (a mismatch must not panic).
        let speech: Vec<(u64, u64)> = data
            .chunks_exact(4)
            .take(8)
            .scan(0u64, |at, c| {
                let start = *at + u64::from(u16::from_le_bytes([c[0], c[1]]));
                *at = start + u64::from(u16::from_le_bytes([c[2], c[3]])) + 1;
                Some((start, *at))
            })
            .collect();
        let bot: Vec<i16> = data.iter().map(|b| i16::from(*b) - 128).collect();
        tl.hear(&speech, &bot, 8000, chunk);
        let _ = (tl.end(), tl.unheard());
    }
    let _ = crate::timeline::verify(&rt, &caller, &bot);
    let _ = crate::check::compare_realtime(&rt, &caller, &bot);
    let _ = crate::check::compare_final(&rt, &caller, &bot);
}
