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

/// The page a call's JSON files may make is at most this many bytes: the
/// clean simulated call's page is about 30 KB, and nothing in the JSON
/// may grow it past what its audio's length allows.
pub const CALL_PAGE_CAP: usize = 4 << 20;

/// A call's three JSON files (`call_metadata.json`, `transcript.json`,
/// `session_events.json`, split as [`timeline`]'s WAVs are) put beside a
/// short simulated call's WAVs in `dir`, then taken through every built-in
/// analyzer, as `run` does, and drawn as its HTML page: no panic, and a
/// page no larger than [`CALL_PAGE_CAP`] whatever the timestamps and
/// durations say.
pub fn call_json(data: &[u8], dir: &Path) {
    let Some((_, files)) = three_files(data) else {
        return;
    };
    let rec_dir = dir.join("fuzz_20241201_120000");
    if !rec_dir.join("caller_audio.wav").exists() && !simulate_one(dir, &rec_dir) {
        return;
    }
    let names = [
        "call_metadata.json",
        "transcript.json",
        "session_events.json",
    ];
    for (name, bytes) in names.iter().zip(files) {
        if std::fs::write(rec_dir.join(name), bytes).is_err() {
            return;
        }
    }
    let Ok(Some(rec)) = crate::recording::open_dir(rec_dir.clone(), "fuzz_20241201_120000") else {
        return;
    };
    let analyzers = crate::analyze::builtins();
    let needs = analyzers
        .iter()
        .fold(crate::analyze::Needs::default(), |n, a| n.union(a.needs()));
    let model = crate::recording::ModelOptions {
        settle: std::time::Duration::ZERO,
        ..Default::default()
    };
    let r = crate::run::process::process(
        &rec,
        &analyzers,
        needs,
        crate::analyze::VadKind::Energy,
        &model,
    );
    let page = crate::report::html::standalone_page(&r, &dir.join("call.html"), &rec_dir, 3.0);
    assert!(
        page.len() <= CALL_PAGE_CAP,
        "a {}-byte page for a short call",
        page.len()
    );
}

/// One six-second simulated call, its WAVs moved to `rec_dir`.
fn simulate_one(dir: &Path, rec_dir: &Path) -> bool {
    let out = dir.join("simulated");
    let opts = crate::simulate::SimulateOptions {
        out: out.clone(),
        calls: 1,
        seconds: 6.0,
        seed: 7,
        rate: 16000,
        faults: Vec::new(),
        lines: Vec::new(),
        truth: None,
        start: chrono::DateTime::from_timestamp(1_733_054_400, 0).unwrap_or_default(),
    };
    if crate::simulate::simulate(&opts, &|| {}).is_err() {
        return false;
    }
    let Some(Ok(call)) = std::fs::read_dir(&out).ok().and_then(|mut d| d.next()) else {
        return false;
    };
    std::fs::rename(call.path(), rec_dir).is_ok()
}
