//! The energy detector's steps on hand-made tracks, at their edges.

use super::*;

/// dBFS of a constant sample value (its mean square is its square).
fn dbfs(v: i16) -> f64 {
    20.0 * (f64::from(v.unsigned_abs()) / 32768.0).log10()
}

/// A constant `v` for `n` samples.
fn level(v: i16, n: usize) -> Vec<i16> {
    vec![v; n]
}

#[test]
fn raw_spans_are_runs_of_speech_frames_on_the_sample_clock() {
    let (f, t) = (false, true);
    assert_eq!(
        raw_spans(&[f, t, t, f, t], 10.0, 45),
        [(10, 30), (40, 45)],
        "the last run is cut at the track's end"
    );
    assert_eq!(raw_spans(&[t, f, f, t, t], 10.0, 100), [(0, 10), (30, 50)]);
    assert!(raw_spans(&[f, f, f], 10.0, 30).is_empty());
    // Frames of a fractional length: edges rounded to the nearest sample.
    assert_eq!(raw_spans(&[t, f, t], 2.5, 100), [(0, 3), (5, 8)]);
}

#[test]
fn only_runs_of_zeros_of_10_ms_or_more_are_cut_out() {
    // 1000 Hz: a run of 10 zeros is 10 ms.
    let mut s = Vec::new();
    s.extend(level(7, 5)); // 0..5
    s.extend(level(0, 10)); // 5..15: cut
    s.extend(level(7, 5)); // 15..20
    s.extend(level(0, 9)); // 20..29: kept, too short
    s.extend(level(7, 5)); // 29..34
    assert_eq!(
        without_digital_silence(&[(0, 34)], &s, 1000),
        [(0, 5), (15, 34)]
    );
    // A span that starts or ends on a cut run leaves no empty piece.
    assert_eq!(without_digital_silence(&[(5, 20)], &s, 1000), [(15, 20)]);
    assert_eq!(without_digital_silence(&[(0, 15)], &s, 1000), [(0, 5)]);
    assert!(without_digital_silence(&[(5, 15)], &s, 1000).is_empty());
    // Each span on its own, from where it starts.
    assert_eq!(
        without_digital_silence(&[(1, 4), (16, 30)], &s, 1000),
        [(1, 4), (16, 30)]
    );
    // Only the span's own zeros count: 9 at its end stay, though the run
    // goes on after it.
    let mut t = level(7, 5);
    t.extend(level(0, 20));
    assert_eq!(without_digital_silence(&[(0, 14)], &t, 1000), [(0, 14)]);
    assert_eq!(without_digital_silence(&[(0, 15)], &t, 1000), [(0, 5)]);
    // At 8 kHz a 10 ms run is 80 zeros: 79 stay.
    let mut s = level(3, 100);
    s.extend(level(0, 79));
    s.extend(level(3, 100));
    assert_eq!(without_digital_silence(&[(0, 279)], &s, 8000), [(0, 279)]);
    s.insert(100, 0);
    assert_eq!(
        without_digital_silence(&[(0, 280)], &s, 8000),
        [(0, 100), (180, 280)]
    );
}

#[test]
fn tidy_bridges_pauses_up_to_200_ms_and_drops_bursts_under_60_ms() {
    // 1000 Hz: 200 samples of pause, 60 of speech.
    assert_eq!(tidy(vec![(0, 100), (300, 400)], 1000), [(0, 400)]);
    assert_eq!(
        tidy(vec![(0, 100), (301, 400)], 1000),
        [(0, 100), (301, 400)]
    );
    // A span inside the last one does not shorten it.
    assert_eq!(tidy(vec![(0, 500), (100, 200)], 1000), [(0, 500)]);
    assert_eq!(
        tidy(vec![(0, 60), (1000, 1059)], 1000),
        [(0, 60)],
        "60 ms is speech, 59 ms is not"
    );
    // Bursts are judged after bridging: two short ones joined are speech.
    assert_eq!(tidy(vec![(0, 30), (200, 230)], 1000), [(0, 230)]);
    assert_eq!(tidy(vec![(0, 800), (1000, 1800)], 8000), [(0, 1800)]);
    assert_eq!(
        tidy(vec![(0, 800), (2601, 3400)], 8000),
        [(0, 800), (2601, 3400)]
    );
}

#[test]
fn the_tenth_percentile_and_the_noise_floor() {
    let v: Vec<f64> = (0..20).rev().map(f64::from).collect();
    assert_eq!(tenth_percentile(v), Some(2.0));
    assert_eq!(tenth_percentile(vec![5.0, 1.0, 3.0]), Some(1.0));
    assert_eq!(tenth_percentile(Vec::new()), None);
    // Digital silence (-100 dBFS and below) is not the floor.
    let mut db = vec![-120.0, -100.0, -100.0];
    db.extend((0..10).map(|i| -70.0 + f64::from(i)));
    assert_eq!(noise_floor(&db), -69.0);
    assert_eq!(noise_floor(&[-120.0, -100.0]), -100.0);
}

#[test]
fn frame_levels_in_dbfs() {
    // Whole frames only: 10 samples in frames of 4 are 2 frames.
    let mut s = level(3277, 4);
    s.extend(level(0, 4));
    s.extend(level(i16::MIN, 2));
    let db = frame_dbfs(&s, 4);
    assert_eq!(db.len(), 2);
    assert!((db[0] - dbfs(3277)).abs() < 1e-9, "{db:?}");
    assert!((db[0] + 20.0).abs() < 0.001, "{db:?}");
    // Exact zeros: the power's floor of 1e-3, about -123 dBFS.
    let zero = 10.0 * (1e-3 / (32768.0f64 * 32768.0)).log10();
    assert!((db[1] - zero).abs() < 1e-9, "{db:?}");
    assert!(db[1] < DIGITAL_SILENCE_DBFS);
    assert!(frame_dbfs(&level(1, 3), 4).is_empty());
}

/// A track of 16 ms frames at 1000 Hz, one constant level a frame.
fn frames(levels: &[i16]) -> Vec<i16> {
    levels.iter().flat_map(|&v| level(v, 16)).collect()
}

/// Which 16 ms frames of a 1000 Hz track frame energy takes for speech.
fn speech_flags(samples: &[i16], track: Track) -> Vec<bool> {
    let (flags, frame) = energy_frames(samples, 1000, track);
    assert_eq!(frame, 16.0);
    flags
}

#[test]
fn speech_is_15_db_over_the_floor_within_the_caps() {
    // A quiet floor (about -80 dBFS): the threshold is raised to -55.
    let quiet = 3; // -80.8 dBFS
    let (over, under) = (60, 55); // -54.7 and -55.5 dBFS
    assert!(dbfs(over) > ENERGY_FLOOR_DBFS && dbfs(under) < ENERGY_FLOOR_DBFS);
    let mut levels = vec![quiet; 20];
    levels[5] = over;
    levels[10] = under;
    let flags = speech_flags(&frames(&levels), Track::Line);
    assert_eq!(flags.iter().filter(|f| **f).count(), 1);
    assert!(flags[5]);
    // A loud floor (about -40 dBFS) on a line: capped at -45, so quiet
    // speech is still found (the near-end gate tells the caller from it).
    let loud = 330; // -39.9 dBFS
    let mut levels = vec![loud; 20];
    levels[3] = 170; // -45.7 dBFS: under the cap
    let flags = speech_flags(&frames(&levels), Track::Line);
    assert_eq!(flags.iter().filter(|f| !**f).count(), 1, "{flags:?}");
    assert!(!flags[3]);
    // The same on a TTS track with no digital silence is noise: its floor
    // is the noise, and speech stands 15 dB above it (-24.9 dBFS).
    let flags = speech_flags(&frames(&levels), Track::Tts);
    assert!(flags.iter().all(|f| !*f), "{flags:?}");
    levels[7] = 2000; // -24.3 dBFS
    levels[8] = 1800; // -25.2 dBFS
    let flags = speech_flags(&frames(&levels), Track::Tts);
    assert_eq!(flags.iter().filter(|f| **f).count(), 1, "{flags:?}");
    assert!(flags[7]);
    // Nor is it ever under -55 dBFS: on a TTS track with faint hiss
    // (-80.8 dBFS) and no digital silence, -59.9 dBFS is not speech.
    let mut faint = vec![3; 20];
    faint[4] = 33;
    faint[9] = 60; // -54.7 dBFS
    let flags = speech_flags(&frames(&faint), Track::Tts);
    assert_eq!(flags.iter().filter(|f| **f).count(), 1, "{flags:?}");
    assert!(flags[9]);
    // A TTS track with digital silence in it keeps the cap.
    levels[0] = 0;
    let flags = speech_flags(&frames(&levels), Track::Tts);
    assert_eq!(flags.iter().filter(|f| !**f).count(), 2, "{flags:?}");
    assert!(!flags[0] && !flags[3]);
}

#[test]
fn edges_move_to_where_the_signal_rises_and_falls_within_80_ms() {
    // 1000 Hz: 2-sample blocks, a window of 40 blocks (80 samples).
    // A TTS-like track, mostly exact zeros: any non-zero block counts.
    let mut s = level(0, 300);
    s.extend(level(500, 300)); // 300..600
    s.extend(level(0, 400));
    let refined = |span: Span, s: &[i16]| {
        let mut spans = [span];
        refine_edges(&mut spans, s, 1000);
        spans[0]
    };
    assert_eq!(refined((320, 580), &s), (300, 600));
    assert_eq!(refined((250, 650), &s), (300, 600));
    // No further than the window: from 400 back to 320 at most.
    assert_eq!(refined((400, 500), &s), (320, 580));
    // A span with nothing over the threshold near it is left alone.
    assert_eq!(refined((850, 950), &s), (850, 950));
    // On a line with noise everywhere, blocks 12 dB over its floor count.
    let mut s = level(100, 300);
    s.extend(level(390, 300)); // 11.8 dB over 100: not enough
    s.extend(level(100, 100));
    s.extend(level(410, 100)); // 12.3 dB over: speech
    s.extend(level(100, 200));
    assert_eq!(refined((720, 780), &s), (700, 800));
    assert_eq!(refined((320, 580), &s), (320, 580));
    // A span at the track's end ends there (its last block is 1 sample).
    let mut s = level(100, 50);
    s.extend(level(500, 51));
    assert_eq!(refined((60, 101), &s), (50, 101));
    // Only an edge with a block over the threshold in its own window moves,
    // and a span moves only when both do: a signal in the end's window
    // but 200 ms after the start leaves the span as it was.
    let mut s = level(0, 560);
    s.extend(level(500, 40)); // 560..600
    s.extend(level(0, 400));
    assert_eq!(refined((300, 600), &s), (300, 600));
    let mut empty: [Span; 0] = [];
    refine_edges(&mut empty, &[], 1000);
}

/// A track whose 2 ms blocks are more than a fifth digital silence is TTS:
/// any non-zero block is signal. Up to a fifth, it is a line whose noise
/// floor counts.
#[test]
fn a_fifth_of_digital_silence_is_still_a_line() {
    // 1000 Hz: 100 blocks of 2 samples; the first `zeros` are silence,
    // then noise at 100, a voice at 500 on samples 120..160, noise again.
    for (zeros, want) in [(20, (120, 160)), (21, (50, 200))] {
        let mut s = level(0, 2 * zeros);
        s.extend(level(100, 120 - 2 * zeros));
        s.extend(level(500, 40));
        s.extend(level(100, 40));
        let mut spans = [(130, 150)];
        refine_edges(&mut spans, &s, 1000);
        assert_eq!(spans[0], want, "{zeros} blocks of zeros");
    }
}

#[test]
fn total_adds_the_spans_lengths() {
    assert_eq!(total(&[(0, 10), (20, 25)]), 15);
    assert_eq!(total(&[]), 0);
}

/// A 1000 Hz line in 20 ms frames (the near-end gate's), one level each:
/// (first frame, frames, level), noise at `noise` elsewhere.
fn line(parts: &[(usize, usize, i16)], noise: i16, frames: usize) -> Vec<i16> {
    let mut s = level(noise, frames * 20);
    for &(at, n, v) in parts {
        s[at * 20..(at + n) * 20].fill(v);
    }
    s
}

#[test]
fn the_near_end_gate_keeps_what_is_within_8_db_of_the_caller() {
    // The caller at -10.3 dBFS; a voice behind them at -20.8 (10.5 dB
    // under: cut), another at -17.2 (6.9 dB under: kept); line noise at
    // -40.8, so the background is within 40 dB of the caller.
    let (caller, far, near, noise) = (10000, 3000, 4500, 300);
    let s = line(
        &[
            (10, 60, caller),
            (20, 3, 30000), // a cough: the loudest 5 % are not the level
            (70, 10, far),  // right after the caller: held 80 ms
            (100, 30, far),
            (140, 20, near),
            (172, 8, far), // right before the caller again
            (180, 10, caller),
        ],
        noise,
        200,
    );
    let spans = vec![
        (200, 1400),
        (1400, 1600),
        (2000, 2600),
        (2805, 3190),
        (3440, 3600),
        (3600, 3800),
    ];
    assert_eq!(
        near_end::near_end_only(spans.clone(), &s, 1000),
        [
            (200, 1400),
            (1400, 1480),
            (2805, 3190),
            (3520, 3600),
            (3600, 3800)
        ]
    );
    // On a quiet line (-84 dBFS, 74 dB under the caller) nothing is cut.
    let quiet = line(
        &[(10, 60, caller), (100, 30, far), (180, 10, caller)],
        2,
        200,
    );
    let spans = vec![(200, 1400), (2000, 2600), (3600, 3800)];
    assert_eq!(near_end::near_end_only(spans.clone(), &quiet, 1000), spans);
}

#[test]
fn the_near_end_gate_needs_a_second_of_speech_to_judge() {
    let s = line(&[(10, 30, 10000), (100, 20, 3000)], 300, 200);
    // 30 + 20 frames of 20 ms: a second; the far voice is cut.
    assert_eq!(
        near_end::near_end_only(vec![(200, 800), (2000, 2400)], &s, 1000),
        [(200, 800)]
    );
    // 30 + 19: under a second, nothing is judged.
    let spans = vec![(200, 800), (2000, 2380)];
    assert_eq!(near_end::near_end_only(spans.clone(), &s, 1000), spans);
    assert!(near_end::near_end_only(Vec::new(), &s, 1000).is_empty());
}

/// A 16 kHz phone line with a two-second synthetic voice on it from 0.5 s
/// and, a second after the voice, half a second of broadband noise as loud
/// as the voice (a door, wind on the mic).
struct VoiceAndBurst {
    samples: Vec<i16>,
    /// The voice's phrases, on the track's clock.
    phrases: Vec<Span>,
    burst: Span,
}

const RATE: u32 = 16000;

fn voice_and_burst() -> VoiceAndBurst {
    use crate::simulate::speech::{line_noise, quantise, utterance, Voice};
    use rand::{Rng, SeedableRng};
    let sec = RATE as usize;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let voice = utterance(
        &mut rng,
        Voice {
            f0: 120.0,
            level: 0.1,
        },
        2.0,
        RATE,
    );
    let mut track = line_noise(&mut rng, 5 * sec + voice.samples.len(), 30.0);
    let at = sec / 2;
    for (i, x) in voice.samples.iter().enumerate() {
        track[at + i] += x;
    }
    let burst = at + voice.samples.len() + sec;
    let loud = 0.1 * 32767.0 * 3f32.sqrt(); // a uniform's RMS is 1/sqrt(3)
    for x in &mut track[burst..burst + sec / 2] {
        *x += rng.random_range(-1.0f32..1.0) * loud;
    }
    VoiceAndBurst {
        samples: track.iter().map(|x| quantise(*x)).collect(),
        phrases: (voice.phrases.iter())
            .map(|p| ((at + p.start) as u64, (at + p.end) as u64))
            .collect(),
        burst: (burst as u64, (burst + sec / 2) as u64),
    }
}

/// How much of `[a, b)` the spans cover.
fn covered(spans: &[Span], (a, b): Span) -> f64 {
    let n: u64 = spans
        .iter()
        .map(|s| s.1.min(b).saturating_sub(s.0.max(a)))
        .sum();
    n as f64 / (b - a) as f64
}

/// Frame energy takes both the voice and the burst for speech; the network
/// keeps the voice and drops the burst.
#[test]
fn the_network_keeps_the_voice_and_drops_a_noise_burst() {
    let line = voice_and_burst();
    let energy = detect(&line.samples, RATE, VadKind::Energy);
    let neural = detect(&line.samples, RATE, VadKind::Neural);
    let full = detect(&line.samples, RATE, VadKind::NeuralFull);
    assert!(covered(&energy, line.burst) > 0.8, "{energy:?}");
    assert!(covered(&neural, line.burst) < 0.1, "{neural:?}");
    assert!(covered(&full, line.burst) < 0.1, "{full:?}");
    for p in &line.phrases {
        let all = [("energy", &energy), ("earshot", &neural), ("full", &full)];
        for (name, spans) in all {
            assert!(
                covered(spans, *p) > 0.8,
                "{name}: phrase {p:?} in {spans:?}"
            );
        }
    }
}

/// The network over the whole track, moved back by its lag, puts each
/// phrase's edges where the voice's are, within 40 ms, and hears nothing
/// in the burst.
#[test]
fn the_network_over_the_whole_track_finds_the_phrases_edges() {
    let line = voice_and_burst();
    let found = network::whole_track(&line.samples, RATE);
    assert_eq!(found.len(), line.phrases.len(), "{found:?}");
    for (f, p) in found.iter().zip(&line.phrases) {
        assert!(f.0.abs_diff(p.0) <= 640, "{found:?} vs {:?}", line.phrases);
        assert!(f.1.abs_diff(p.1) <= 640, "{found:?} vs {:?}", line.phrases);
    }
}

/// Energy's spans that the network hears at both ends (their first and
/// last 160 ms) are kept whole, from where the network first hears speech
/// (never before energy's start, within 40 ms of the voice's) to energy's
/// end; the burst, which it does not hear, is decided frame by frame, and
/// nothing of it is speech.
#[test]
fn the_network_takes_a_span_it_hears_at_both_ends_whole() {
    let line = voice_and_burst();
    let confirm = |spans: &[Span]| network::confirm(spans, &line.samples, RATE);
    let found = energy_spans(&line.samples, RATE, None);
    assert_eq!(found.len(), 3, "two phrases and the burst: {found:?}");
    assert!(covered(&found[2..], line.burst) > 0.9, "{found:?}");
    let kept = confirm(&found);
    assert_eq!(kept.len(), 2, "{kept:?}");
    for ((k, f), p) in kept.iter().zip(&found).zip(&line.phrases) {
        assert_eq!(k.1, f.1, "the end is energy's: {kept:?} {found:?}");
        assert!(
            k.0 >= f.0 && k.0.abs_diff(p.0) <= 640,
            "{kept:?} {found:?} {:?}",
            line.phrases
        );
    }
    // 20 frames (320 ms) of 16 ms, the last 80 ms after the phrase ends:
    // both checked parts are heard, so the span is kept whole.
    let end = line.phrases[0].1;
    let span = (end - 15 * 256, end + 5 * 256);
    assert_eq!(confirm(&[span]), [span]);
    // Over the pause between the phrases, its last 64 ms the second's
    // start: the network's decisions trail the audio, so the frames after
    // the span count, the end is heard, and the span is kept whole.
    let (p0, p1) = (line.phrases[0], line.phrases[1]);
    let span = (p0.1 - 12 * 256, p1.0 + 4 * 256);
    assert_eq!(confirm(&[span]), [span]);
    // Up to the track's end, in no whole frame: the network runs to its
    // last whole frame and hears nothing of the burst.
    let span = (line.burst.0, line.samples.len() as u64);
    assert!(!line.samples.len().is_multiple_of(256));
    assert!(confirm(&[span]).is_empty());
}

/// A span the network does not hear at one end, or shorter than its two
/// checked parts, keeps only the frames the network hears as speech, moved
/// back by the network's lag: its edges land on the voice's, within 40 ms.
#[test]
fn other_spans_keep_only_what_the_network_hears() {
    let line = voice_and_burst();
    let confirm = |spans: &[Span]| network::confirm(spans, &line.samples, RATE);
    let near = |found: u64, truth: u64| found.abs_diff(truth) <= 640;
    let ([p0, p1], burst) = ([line.phrases[0], line.phrases[1]], line.burst);
    // 20 frames centred on the first phrase's end: the last 160 ms are
    // not heard; what is kept ends where the phrase does.
    let span = (p0.1 - 10 * 256, p0.1 + 10 * 256);
    let kept = confirm(&[span]);
    assert!(kept.len() == 1 && kept[0].0 == span.0, "{kept:?}");
    assert!(near(kept[0].1, p0.1), "{kept:?} vs {p0:?}");
    // 12.5 frames across it, too short to check: the same.
    let span = (p0.1 - 1600, p0.1 + 1600);
    let kept = confirm(&[span]);
    assert!(kept.len() == 1 && kept[0].0 == span.0, "{kept:?}");
    assert!(near(kept[0].1, p0.1), "{kept:?} vs {p0:?}");
    // From the second phrase's start through the burst: the phrase is
    // kept, its end where the voice's is, and nothing of the burst.
    let kept = confirm(&[(p1.0, burst.1)]);
    assert!(kept.len() == 1, "{kept:?}");
    assert!(
        near(kept[0].0, p1.0) && near(kept[0].1, p1.1),
        "{kept:?} vs {p1:?}"
    );
    // From 125 ms before the phrase: its start is found where the voice's is.
    let span = (p1.0 - 2000, p1.0 + 2000);
    let kept = confirm(&[span]);
    assert!(kept.len() == 1 && kept[0].1 == span.1, "{kept:?}");
    assert!(near(kept[0].0, p1.0), "{kept:?} vs {p1:?}");
    // Ending exactly where that speech starts, it keeps nothing, not even
    // an empty piece (which bridging would join to speech before it).
    assert_eq!(confirm(&[(span.0, kept[0].0)]), []);
}

/// The caller's loud level is the 95th percentile of the speech frames,
/// the lower rank where it falls between two: with 100 frames, the 95th
/// from the bottom, so 5 frames of a shout do not set it.
#[test]
fn the_caller_s_level_is_the_95th_percentile_of_the_speech_frames() {
    // 95 frames at -10.3 dBFS and 5 at -0.8 in one span of 100 frames.
    let s = line(&[(10, 100, 10000), (60, 5, 30000)], 300, 200);
    let spans = vec![(200, 2200)];
    assert_eq!(near_end::near_end_only(spans.clone(), &s, 1000), spans);
    // With 6 frames at -0.8 the level is theirs, and the voice 9.5 dB
    // under it is kept only within 80 ms of them.
    let s = line(&[(10, 100, 10000), (60, 6, 30000)], 300, 200);
    assert_eq!(near_end::near_end_only(spans, &s, 1000), [(1120, 1400)]);
}
