use super::scan::BLOCK;
use super::*;
use rand::{Rng, SeedableRng};

/// The rule, one frame at a time: every non-zero sample must be the next
/// non-zero sample of its track.
fn reference(
    frames: &[i16],
    caller: &[i16],
    bot: &[i16],
    chunk: u64,
) -> Result<Anchors, TimelineError> {
    let next = |t: &[i16], from: usize| t[from..].iter().position(|s| *s != 0).map(|i| from + i);
    let (mut ci, mut bi) = (0usize, 0usize);
    let mut a = Anchors::default();
    for (p, f) in frames.chunks_exact(2).enumerate() {
        let p = p as u64;
        let mismatch = |channel, track| TimelineError::Mismatch {
            frame: p,
            channel,
            track,
        };
        match (f[0], f[1]) {
            (0, 0) => {}
            (l, 0) => {
                let c = next(caller, ci).filter(|c| caller[*c] == l && p >= *c as u64);
                let c = c.ok_or(mismatch("L", "caller_audio.wav"))?;
                let k = c as u64 / chunk;
                if a.chunk_bots.last().is_none_or(|last| last.0 != k) {
                    a.chunk_bots.push((k, p - c as u64));
                }
                a.nonzero[0] += 1;
                ci = c + 1;
            }
            (0, r) => {
                let b = next(bot, bi).filter(|b| bot[*b] == r && p >= *b as u64);
                let b = b.ok_or(mismatch("R", "bot_audio.wav"))?;
                let arrival = p - b as u64;
                match a.groups.last_mut() {
                    Some(g) if g.0 == arrival => g.2 = b as u64,
                    _ => a.groups.push((arrival, b as u64, b as u64)),
                }
                a.nonzero[1] += 1;
                bi = b + 1;
            }
            _ => return Err(TimelineError::BothChannels { frame: p }),
        }
    }
    if next(caller, ci).is_some() {
        return Err(TimelineError::Short {
            track: "caller_audio.wav",
        });
    }
    if next(bot, bi).is_some() {
        return Err(TimelineError::Short {
            track: "bot_audio.wav",
        });
    }
    Ok(a)
}

/// The runs, over blocks of `block` frames.
fn fast(
    frames: &[i16],
    caller: &[i16],
    bot: &[i16],
    chunk: u64,
    block: usize,
) -> Result<Anchors, TimelineError> {
    let mut pass = Pass::new(Track::memory(caller), Track::memory(bot), chunk);
    for blk in frames.chunks(2 * block) {
        pass.block_fastest(blk)?;
    }
    pass.ended()?;
    Ok(pass.anchors)
}

/// Quiet samples: zero often, as line noise and TTS silence are.
fn quiet(rng: &mut impl Rng, n: usize) -> Vec<i16> {
    (0..n)
        .map(|_| {
            if rng.random_bool(0.4) {
                0
            } else {
                rng.random_range(-3..=3)
            }
        })
        .collect()
}

/// A call the way the recorder writes it: caller chunks and bursts of
/// bot chunks, appended in arrival order, the other channel zero.
/// Returns the real-time frames, the caller track and the bot track.
pub(crate) fn call(rng: &mut impl Rng, chunk: usize) -> (Vec<i16>, Vec<i16>, Vec<i16>) {
    let (mut caller, mut bot, mut frames) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rng.random_range(1..40) {
        let c = quiet(rng, chunk);
        frames.extend(c.iter().flat_map(|s| [*s, 0]));
        caller.extend(c);
        if rng.random_bool(0.3) {
            for _ in 0..rng.random_range(1..4) {
                let n = rng.random_range(1..3 * chunk);
                let mut b = quiet(rng, n);
                // Whole-zero lead-ins and tails, as TTS has.
                if rng.random_bool(0.3) {
                    b.iter_mut().take(n / 2).for_each(|s| *s = 0);
                }
                frames.extend(b.iter().flat_map(|s| [0, *s]));
                bot.extend(b);
            }
        }
    }
    (frames, caller, bot)
}

#[test]
fn runs_give_what_the_frame_by_frame_rule_gives() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for case in 0..3000 {
        let chunk = rng.random_range(1..12);
        let (mut frames, mut caller, bot) = call(&mut rng, chunk);
        // Damage some: a changed sample, both channels set, a short file.
        match case % 4 {
            1 if !frames.is_empty() => {
                let i = rng.random_range(0..frames.len());
                frames[i] = frames[i].wrapping_add(1);
            }
            2 if !frames.is_empty() => {
                let i = rng.random_range(0..frames.len() / 2);
                frames[2 * i] = 9;
                frames[2 * i + 1] = 9;
            }
            3 => caller.extend([0, 0, 5]),
            _ => {}
        }
        let want = reference(&frames, &caller, &bot, chunk as u64);
        for block in [1, 7, 64] {
            let got = fast(&frames, &caller, &bot, chunk as u64, block);
            assert_eq!(got, want, "case {case}, chunk {chunk}, block {block}");
        }
    }
}

#[test]
fn files_with_the_wrong_channel_count_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let write =
        |n: &str, ch: u16| crate::audio::write_wav(&p(n), ch, 16000, &[1, 0, 2, 0]).unwrap();
    write("mono_rt.wav", 1);
    write("stereo_rt.wav", 2);
    write("mono.wav", 1);
    write("stereo.wav", 2);
    let err = verify(&p("mono_rt.wav"), &p("mono.wav"), &p("mono.wav")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "stereo_recording.wav has 1 channel(s), not 2"
    );
    let err = recover(&p("stereo_rt.wav"), &p("mono.wav"), &p("stereo.wav"), 320).unwrap_err();
    assert_eq!(err.to_string(), "bot_audio.wav has 2 channel(s), not 1");
}

#[test]
fn a_file_that_is_not_a_wav_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (frames, caller, bot) = zero_edged_bursts();
    let paths = write_call(dir.path(), &frames, &caller, &bot);
    for (i, name) in ["stereo_recording.wav", "caller_audio.wav", "bot_audio.wav"]
        .into_iter()
        .enumerate()
    {
        let good = std::fs::read(&paths[i]).unwrap();
        std::fs::write(&paths[i], b"not a wav").unwrap();
        let err = recover(&paths[0], &paths[1], &paths[2], 4).unwrap_err();
        assert!(err.to_string().starts_with(&format!("{name}: ")), "{err}");
        std::fs::write(&paths[i], good).unwrap();
    }
    assert!(recover(&paths[0], &paths[1], &paths[2], 4).is_ok());
}

/// The real-time frames the recorder appends for `parts`: each caller
/// chunk (on L), then the bot samples that arrived after it (on R).
fn recorded(parts: &[(&[i16], &[i16])]) -> Vec<i16> {
    let mut frames = Vec::new();
    for (l, r) in parts {
        frames.extend(l.iter().flat_map(|s| [*s, 0]));
        frames.extend(r.iter().flat_map(|s| [0, *s]));
    }
    frames
}

#[test]
fn placement_follows_arrival_and_playback() {
    // Caller chunks of 4; a bot burst of 6 after the first chunk, and one
    // of 2 after the second that queues behind the first burst.
    let caller = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3];
    let bot = [5, 5, 5, 5, 5, 5, 6, 6];
    let frames = recorded(&[
        (&caller[..4], &bot[..6]),
        (&caller[4..8], &bot[6..]),
        (&caller[8..], &[]),
    ]);
    let a = fast(&frames, &caller, &bot, 4, 64).unwrap();
    let tl = place(&a, 4, 12, 8);
    let starts: Vec<_> = tl
        .segments
        .iter()
        .map(|s| (s.bot_start, s.len, s.arrival, s.play_start))
        .collect();
    // The second burst arrives at 8 but plays when the first ends, at 10.
    assert_eq!(starts, [(0, 6, 4, 4), (6, 2, 8, 10)]);
    assert_eq!(tl.play_time(7), Some(11));
    assert_eq!(tl.end(), 12);
}

#[test]
fn a_muted_caller_does_not_move_a_later_burst_back() {
    // Caller chunks of 4; the line goes digitally silent after the first
    // chunk while two bot bursts arrive. The second burst has no
    // non-zero caller chunk between it and the first: only the first
    // group's end says where it starts in the bot track.
    let caller = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3];
    let bot = [5, 5, 5, 6, 6];
    let frames = recorded(&[
        (&caller[..4], &bot[..3]),
        (&caller[4..8], &bot[3..]),
        (&caller[8..12], &[]),
        (&caller[12..], &[]),
    ]);
    let a = fast(&frames, &caller, &bot, 4, 64).unwrap();
    let tl = place(&a, 4, 16, 5);
    let starts: Vec<_> = tl
        .segments
        .iter()
        .map(|s| (s.bot_start, s.len, s.arrival, s.play_start))
        .collect();
    assert_eq!(starts, [(0, 3, 4, 4), (3, 2, 8, 8)]);
    assert_eq!(tl.play_time(3), Some(8));
}

/// Three segments: two played back to back (one stretch on the call's
/// clock), and a third played later and cut short after 3 of its 5 samples.
fn three_segments() -> Timeline {
    let seg = |bot_start, len, play_start, heard| BotSegment {
        bot_start,
        len,
        arrival: play_start,
        play_start,
        heard,
    };
    Timeline {
        segments: vec![seg(0, 6, 4, 6), seg(6, 2, 10, 2), seg(8, 5, 20, 3)],
        caller_len: 30,
        bot_len: 13,
        answers: Vec::new(),
    }
}

#[test]
fn a_span_of_the_bot_track_maps_to_what_played_split_where_playback_jumps() {
    let tl = three_segments();
    // Across all three: the first two join (10 follows 10), the third is
    // a stretch of its own and ends where it was cut (3 of 5 samples heard).
    assert_eq!(
        tl.map_span((2, 12)),
        [((2, 8), (6, 12)), ((8, 11), (20, 23))]
    );
    // Inside one segment, and starting inside the second.
    assert_eq!(tl.map_span((0, 3)), [((0, 3), (4, 7))]);
    assert_eq!(tl.map_span((7, 8)), [((7, 8), (11, 12))]);
    // A span that ends where a segment starts takes nothing of it.
    assert_eq!(tl.map_span((1, 6)), [((1, 6), (5, 10))]);
    // The unplayed tail of a cut answer maps to nothing.
    assert_eq!(tl.map_span((11, 13)), []);
    assert_eq!(tl.map_span((13, 20)), []);
    // Sample by sample, the pieces are what play_time says.
    for b in 0..13 {
        let piece = tl.map_span((b, b + 1));
        let want = tl.play_time(b).map(|t| ((b, b + 1), (t, t + 1)));
        assert_eq!(piece.first().copied(), want, "bot sample {b}");
    }
    assert_eq!(tl.play_time(10), Some(22));
    assert_eq!(tl.play_time(11), None);
    assert_eq!(tl.end(), 23);
}

/// Caller chunks of 4, all with speech. Burst A (after chunk 0) ends in TTS
/// silence; burst B (after chunk 1) starts with it; burst C (after chunk
/// 2) arrives while B still plays. Returns (frames, caller, bot).
fn zero_edged_bursts() -> (Vec<i16>, Vec<i16>, Vec<i16>) {
    let caller = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4];
    let (a, b, c): (&[i16], &[i16], &[i16]) = (&[5, 5, 0], &[0, 0, 0, 6, 6, 6], &[7, 7]);
    let frames = recorded(&[
        (&caller[..4], a),
        (&caller[4..8], b),
        (&caller[8..12], c),
        (&caller[12..], &[]),
    ]);
    (frames, caller.to_vec(), [a, b, c].concat())
}

#[test]
fn zeros_between_bursts_go_to_the_burst_after_the_last_caller_chunk_with_speech() {
    let (frames, caller, bot) = zero_edged_bursts();
    let a = fast(&frames, &caller, &bot, 4, 64).unwrap();
    assert_eq!(a.chunk_bots, [(0, 0), (1, 3), (2, 9), (3, 11)]);
    assert_eq!(a.groups, [(4, 0, 1), (8, 6, 8), (12, 9, 10)]);
    let tl = place(&a, 4, 16, 11);
    let got: Vec<_> = tl
        .segments
        .iter()
        .map(|s| (s.bot_start, s.len, s.arrival, s.play_start, s.heard))
        .collect();
    // A's silent tail is A's (it came before caller chunk 1), B's silent
    // lead is B's: B starts at 3, not right after A's last sound (2), nor
    // at its own first sound (6). C queues behind B, which plays 8..14.
    assert_eq!(got, [(0, 3, 4, 4, 3), (3, 6, 8, 8, 6), (9, 2, 12, 14, 2)]);
    assert_eq!(tl.end(), 16);
}

/// A call's three files in `dir`: (real-time, caller, bot) paths.
fn write_call(
    dir: &std::path::Path,
    frames: &[i16],
    caller: &[i16],
    bot: &[i16],
) -> [std::path::PathBuf; 3] {
    let files = ["stereo_recording.wav", "caller_audio.wav", "bot_audio.wav"];
    let paths = files.map(|f| dir.join(f));
    for (path, (channels, samples)) in paths.iter().zip([(2, frames), (1, caller), (1, bot)]) {
        crate::audio::write_wav(path, channels, 16000, samples).unwrap();
    }
    paths
}

#[test]
fn recovery_from_files_and_from_memory_gives_the_placement() {
    let dir = tempfile::tempdir().unwrap();
    let (frames, caller, bot) = zero_edged_bursts();
    let [rt, caller_wav, bot_wav] = write_call(dir.path(), &frames, &caller, &bot);
    let want = place(&fast(&frames, &caller, &bot, 4, 64).unwrap(), 4, 16, 11);
    assert_eq!(want.segments.len(), 3);
    assert_eq!(recover_with(&rt, &caller, &bot, 4).unwrap(), want);
    let tl = recover(&rt, &caller_wav, &bot_wav, 4).unwrap();
    assert_eq!(tl, want);
    let v = verify(&rt, &caller_wav, &bot_wav).unwrap();
    assert_eq!(
        (
            v.frames,
            v.caller_frames,
            v.bot_frames,
            v.caller_nonzero,
            v.bot_nonzero
        ),
        (27, 16, 11, 16, 7)
    );
}

#[test]
fn the_caller_chunk_comes_from_the_metadata_when_it_divides_evenly() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::cell::Cell::new(0);
    let chunk_of = |rate: u32, meta: Option<serde_json::Value>| {
        n.set(n.get() + 1);
        let rec = dir.path().join(format!("r{}", n.get()));
        std::fs::create_dir(&rec).unwrap();
        crate::audio::write_wav(&rec.join("caller_audio.wav"), 1, rate, &[1; 8]).unwrap();
        if let Some(m) = meta {
            std::fs::write(rec.join("call_metadata.json"), m.to_string()).unwrap();
        }
        caller_chunk_frames(&crate::recording::Recording::open(&rec).unwrap())
    };
    let meta = |bytes: u64, chunks: u64| {
        Some(serde_json::json!({
            "caller_audio_bytes": bytes,
            "caller_audio_chunks": chunks,
        }))
    };
    // 100 chunks of 160 frames (10 ms at 16 kHz) in 32,000 bytes.
    assert_eq!(chunk_of(16000, meta(32_000, 100)), Some(160));
    assert_eq!(chunk_of(24000, meta(48_000, 100)), Some(240));
    // Otherwise 20 ms at the track's rate: bytes that do not divide into
    // the chunks, no chunks, no counts, no metadata.
    assert_eq!(chunk_of(16000, meta(32_001, 100)), Some(320));
    assert_eq!(chunk_of(16000, meta(32_100, 100)), Some(320));
    assert_eq!(chunk_of(24000, meta(32_000, 0)), Some(480));
    assert_eq!(
        chunk_of(
            8000,
            Some(serde_json::json!({"caller_audio_bytes": 32_000}))
        ),
        Some(160)
    );
    assert_eq!(chunk_of(16000, None), Some(320));
    // No caller track: no clock to speak of.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let rec = crate::recording::Recording::open(&empty).unwrap();
    assert_eq!(caller_chunk_frames(&rec), None);
}

#[test]
fn tracks_longer_than_a_block_are_streamed_from_their_files_whole() {
    // Caller chunks of 8,000 frames: several of the 65,536-frame blocks a
    // file is streamed in, so a track read from its file has to refill.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let (frames, caller, bot) = (0..100)
        .map(|_| call(&mut rng, 8000))
        .find(|c| c.1.len() > 3 * BLOCK && c.2.len() > BLOCK)
        .expect("a call of several blocks within 100 draws");
    let dir = tempfile::tempdir().unwrap();
    let [rt, caller_wav, bot_wav] = write_call(dir.path(), &frames, &caller, &bot);
    let from_memory = recover_with(&rt, &caller, &bot, 8000).unwrap();
    let from_files = recover(&rt, &caller_wav, &bot_wav, 8000).unwrap();
    assert_eq!(from_files, from_memory);
    assert_eq!(
        (from_files.caller_len, from_files.bot_len),
        (caller.len() as u64, bot.len() as u64)
    );
    let v = verify(&rt, &caller_wav, &bot_wav).unwrap();
    let nonzero = |t: &[i16]| t.iter().filter(|s| **s != 0).count() as u64;
    assert_eq!(
        (v.frames, v.caller_nonzero, v.bot_nonzero),
        (frames.len() as u64 / 2, nonzero(&caller), nonzero(&bot))
    );
}
