//! The heard timeline's rules (`heard.rs`) on hand-made answers at 1 kHz,
//! where one sample is one millisecond and every bound can be worked out
//! by hand.

use super::heard::Span;
use super::*;

/// A timeline of answers at 1 kHz (1 sample = 1 ms): each answer as
/// (first arrival, chunk count, chunk length, arrival step).
fn answers_at(answers: &[(u64, u64, u64, u64)], caller_len: u64) -> Timeline {
    let mut segments = Vec::new();
    let mut bot_start = 0;
    for &(at, n, len, step) in answers {
        for i in 0..n {
            segments.push(BotSegment {
                bot_start,
                len,
                arrival: at + i * step,
                play_start: 0,
                heard: len,
            });
            bot_start += len;
        }
    }
    Timeline {
        segments,
        caller_len,
        bot_len: bot_start,
        answers: Vec::new(),
    }
}

/// The timeline of `answers` (as for [`answers_at`]) heard over the
/// caller's `speech`, the bot speaking to the last sample of every chunk
/// (no silent tail: an answer cut mid-speech), in `chunk`-sample caller
/// chunks.
fn heard_in(
    answers: &[(u64, u64, u64, u64)],
    caller_len: u64,
    speech: &[Span],
    chunk: u64,
) -> Timeline {
    let mut tl = answers_at(answers, caller_len);
    let bot = vec![1i16; tl.bot_len as usize];
    tl.hear(speech, &bot, 1000, chunk);
    tl
}

/// [`heard_in`] with the recorder's 20 ms caller chunks.
fn heard(answers: &[(u64, u64, u64, u64)], caller_len: u64, speech: &[Span]) -> Timeline {
    heard_in(answers, caller_len, speech, 20)
}

#[test]
fn an_answer_cut_where_its_arrivals_stop_after_a_barge_in() {
    // 30 chunks of 80 ms every 60 ms from 1 s: received playback to 3.4 s.
    // The caller barges in at 2.0 s; chunks stop after the one at 2.2 s.
    let tl = heard(&[(1000, 21, 80, 60)], 10_000, &[(2000, 4000)]);
    let a = &tl.answers[0];
    assert_eq!(a.received_end, 1000 + 21 * 80);
    let Ending::Cancelled { onset, lo, hi } = a.ending else {
        panic!("{a:?}")
    };
    assert_eq!((onset, lo, hi), (2000, 2200, 2280));
    assert_eq!(a.heard_end, 2240);
    // What played stops there; the rest is unheard, where it would have played.
    assert_eq!(tl.end(), 2240);
    assert_eq!(tl.unheard(), vec![(2240, 2680)]);
    assert_eq!(tl.play_time(1239), Some(2239));
    assert_eq!(tl.play_time(1240), None);
}

#[test]
fn arrivals_going_on_after_a_barge_in_mean_the_bot_talked_through() {
    let tl = heard(&[(1000, 21, 80, 60)], 10_000, &[(1200, 3000)]);
    assert_eq!(tl.answers[0].ending, Ending::Played);
    assert_eq!(tl.end(), 2680);
    // A short utterance the arrivals go on long after is talked through:
    // a backchannel.
    let tl = heard(&[(1000, 21, 80, 60)], 10_000, &[(1400, 1800)]);
    assert_eq!(tl.answers[0].ending, Ending::Played);
    // One they stop for, the answer cut mid-speech, stopped the bot: a
    // "Wait." is an interruption, however short.
    let tl = heard(&[(1000, 21, 80, 60)], 10_000, &[(2000, 2400)]);
    assert!(
        matches!(tl.answers[0].ending, Ending::Cancelled { onset: 2000, .. }),
        "{:?}",
        tl.answers[0]
    );
}

#[test]
fn a_short_utterance_is_presumed_to_stop_nothing_the_file_cannot_show() {
    // The answer ends on silence (as a finished one does) right after a
    // short utterance: nothing says the bridge stopped for it.
    let mut tl = answers_at(&[(1000, 21, 80, 60)], 10_000);
    let mut bot = vec![1i16; tl.bot_len as usize];
    let n = bot.len();
    bot[n - 100..].fill(0);
    tl.hear(&[(2000, 2400)], &bot, 1000, 20);
    assert_eq!(tl.answers[0].ending, Ending::Played);
}

#[test]
fn an_answer_the_next_one_overtakes_was_cut_somewhere_the_file_cannot_say() {
    // Two answers received whole; the second arrives at 2.5 s, while the
    // first (1.0 s to 3.0 s) would still be playing.
    let tl = heard(
        &[(1000, 5, 400, 20), (2500, 5, 100, 20)],
        10_000,
        &[(1500, 2600)],
    );
    let a = &tl.answers[0];
    assert_eq!(
        a.ending,
        Ending::Uncertain {
            onset: Some(1500),
            lo: 1700,
            hi: 2100
        }
    );
    assert_eq!(a.heard_end, 1900);
    // The second plays from its own arrival, not queued behind the first.
    assert_eq!(tl.answers[1].play_start, 2500);
    assert_eq!(tl.answers[1].ending, Ending::Played);
}

#[test]
fn nothing_plays_after_the_call_ends() {
    let tl = heard(&[(1000, 10, 200, 20)], 2000, &[]);
    assert_eq!(tl.answers[0].ending, Ending::CallEnded);
    assert_eq!(tl.end(), 2000);
    assert_eq!(tl.unheard(), vec![(2000, 3000)]);
}

#[test]
fn caller_speech_is_joined_across_gaps_shorter_than_the_utterance_gap() {
    // At 1 kHz the gap is 600 samples: 700 - 100 joins, 1401 - 800 does not;
    // a span inside the utterance does not shorten it.
    let speech = [(0, 100), (700, 800), (750, 760), (1401, 1500)];
    assert_eq!(utterances(&speech, 1000), vec![(0, 800), (1401, 1500)]);
}

#[test]
fn answers_split_where_arrivals_pause_longer_than_the_answer_gap() {
    // Arrivals 500 ms apart are one answer; 501 ms apart, two.
    let tl = heard(&[(1000, 3, 100, 500), (2501, 1, 100, 0)], 10_000, &[]);
    let got: Vec<_> = tl
        .answers
        .iter()
        .map(|a| (a.segments.clone(), a.play_start, a.received_end, a.ending))
        .collect();
    assert_eq!(
        got,
        vec![
            (0..3, 1000, 2100, Ending::Played),
            (3..4, 2501, 2601, Ending::Played)
        ]
    );
}

#[test]
fn a_cut_is_settled_from_the_median_step_between_arrivals() {
    // Three chunks at once, then steps of 10, 20, 30, 40 and 100 ms: the
    // typical step is 30 (the median of the non-zero steps; 20 counting
    // the zeros or taking the wrong middle, 40 as a mean). Eight 200 ms
    // chunks play from 1.0 s to 2.6 s; the caller barges in at 1.15 s,
    // exactly as late as the last chunk (at 1.2 s) still counts as
    // stopping before the bridge could cancel.
    let arrivals = [1000, 1000, 1000, 1010, 1030, 1060, 1100, 1200];
    let hear = |onset: u64| {
        let mut tl = answers_at(&[(0, 8, 200, 0)], 10_000);
        for (s, at) in tl.segments.iter_mut().zip(arrivals) {
            s.arrival = at;
        }
        let bot = vec![1i16; tl.bot_len as usize];
        tl.hear(&[(onset, onset + 1500)], &bot, 1000, 20);
        tl.answers.remove(0)
    };
    let a = hear(1150);
    assert_eq!(
        a.ending,
        Ending::Cancelled {
            onset: 1150,
            lo: 1200,
            hi: 1250
        }
    );
    assert_eq!(a.heard_end, 1225);
    assert_eq!(a.barge_in(), Some(1150));
    // A millisecond later, the arrivals had stopped before the bridge could
    // have cancelled: the answer was sent whole, and the caller spoke over it.
    assert_eq!(
        hear(1151).ending,
        Ending::Uncertain {
            onset: Some(1151),
            lo: 1351,
            hi: 2600
        }
    );
}

#[test]
fn arrivals_up_to_700_ms_after_the_onset_still_end_in_a_cut() {
    // Chunks every 60 ms to 2.2 s; the caller at 1.5 s, exactly 700 ms
    // before the last arrival: still within reach of the cancellation.
    let hear = |onset: u64| {
        heard(&[(1000, 21, 80, 60)], 10_000, &[(onset, 3500)])
            .answers
            .remove(0)
    };
    assert_eq!(
        hear(1500).ending,
        Ending::Cancelled {
            onset: 1500,
            lo: 2200,
            hi: 2280
        }
    );
    // A millisecond earlier, they went on arriving: talked through.
    assert_eq!(hear(1499).ending, Ending::Played);
}

#[test]
fn chunks_that_arrive_all_at_once_are_never_a_cut_by_their_arrivals() {
    // Ten chunks at 1.0 s and a caller chunk of 200 ms: without a step
    // between arrivals nothing says when the bridge stopped sending.
    let tl = heard_in(&[(1000, 10, 200, 0)], 10_000, &[(1050, 2500)], 200);
    assert_eq!(
        tl.answers[0].ending,
        Ending::Uncertain {
            onset: Some(1050),
            lo: 1250,
            hi: 3000
        }
    );
}

#[test]
fn an_answer_whose_last_chunk_played_on_arrival_had_nothing_left_to_cut() {
    // 200 ms chunks every 200 ms: each plays as it arrives, so when the
    // arrivals stop no audio is left waiting to be played.
    let tl = heard(&[(1000, 5, 200, 200)], 10_000, &[(1700, 3000)]);
    assert_eq!(
        tl.answers[0].ending,
        Ending::Uncertain {
            onset: Some(1700),
            lo: 1900,
            hi: 2000
        }
    );
}

#[test]
fn an_answer_played_exactly_to_the_next_arrival_or_the_calls_end_was_played() {
    // The next answer arrives as this one ends: nothing overtook it.
    let tl = heard(&[(1000, 10, 100, 0), (2000, 1, 100, 0)], 10_000, &[]);
    assert_eq!(tl.answers[0].ending, Ending::Played);
    // The call ends as it ends.
    let tl = heard(&[(1000, 10, 100, 0)], 2000, &[]);
    assert_eq!(tl.answers[0].ending, Ending::Played);
}

#[test]
fn a_cut_never_ends_before_the_barge_in() {
    // Chunks every 240 ms, the last at 1.0 s; the caller at 1.15 s. The
    // middle of what the arrivals allow (1.0 s to 1.26 s) is 1.13 s,
    // before the caller spoke: playback ran at least to the onset.
    let tl = heard(&[(520, 3, 300, 240)], 10_000, &[(1150, 2500)]);
    let a = &tl.answers[0];
    assert_eq!(
        a.ending,
        Ending::Cancelled {
            onset: 1150,
            lo: 1000,
            hi: 1260
        }
    );
    assert_eq!(a.heard_end, 1150);
}

#[test]
fn an_answer_ending_on_the_tts_silence_was_sent_whole() {
    // As in the cut answer above, but the last 80 ms are digital silence:
    // the bridge finished sending, so only the caller's onset is known
    // and the end is counted to the typical cancellation.
    let mut tl = answers_at(&[(1000, 21, 80, 60)], 10_000);
    let mut bot = vec![1i16; tl.bot_len as usize];
    let n = bot.len();
    bot[n - 80..].fill(0);
    tl.hear(&[(2000, 4000)], &bot, 1000, 20);
    let a = &tl.answers[0];
    assert_eq!(
        a.ending,
        Ending::Uncertain {
            onset: Some(2000),
            lo: 2200,
            hi: 2680
        }
    );
    assert_eq!(a.heard_end, 2400);
    // 79 ms of silence is not the TTS's tail: it was cut mid-speech.
    bot[n - 80] = 1;
    let tl = heard(&[(1000, 21, 80, 60)], 10_000, &[(2000, 4000)]);
    assert!(
        matches!(tl.answers[0].ending, Ending::Cancelled { .. }),
        "{:?}",
        tl.answers[0]
    );
}

#[test]
fn caller_speech_over_a_fully_received_answer_is_an_uncertain_cut() {
    // Ten 200 ms chunks all at 1.0 s: playback to 3.0 s. A 1 s utterance
    // from 1.5 s (exactly long enough not to be a backchannel).
    let fresh = |speech: &[Span]| heard(&[(1000, 10, 200, 0)], 10_000, speech);
    let tl = fresh(&[(1500, 2500)]);
    let a = &tl.answers[0];
    assert_eq!(
        a.ending,
        Ending::Uncertain {
            onset: Some(1500),
            lo: 1700,
            hi: 3000
        }
    );
    assert_eq!(a.heard_end, 1900);
    assert_eq!(a.barge_in(), Some(1500));
    assert_eq!(tl.unheard(), vec![(1900, 3000)]);
    // Speech beginning exactly as playback begins, or as it ends, is not
    // over the answer; 999 ms is a backchannel.
    for speech in [(1000, 2500), (3000, 4500), (1500, 2499)] {
        let tl = fresh(&[speech]);
        assert_eq!(tl.answers[0].ending, Ending::Played, "{speech:?}");
    }
    // Short speech that runs to the end of the call is not a backchannel:
    // the caller was still talking when the call ended.
    let tl = heard(&[(1000, 10, 200, 0)], 3500, &[(2900, 3500)]);
    assert_eq!(
        tl.answers[0].ending,
        Ending::Uncertain {
            onset: Some(2900),
            lo: 3000,
            hi: 3000
        }
    );
    // An uncertain cut after the call's end stops at the end and stays
    // uncertain.
    let tl = heard(&[(1000, 10, 200, 0)], 1800, &[(1500, 1800)]);
    let a = &tl.answers[0];
    assert_eq!(
        a.ending,
        Ending::Uncertain {
            onset: Some(1500),
            lo: 1700,
            hi: 3000
        }
    );
    assert_eq!(a.heard_end, 1800);
}

#[test]
fn an_overtaken_answer_without_a_barge_in_or_with_one_too_late() {
    let fresh = |speech: &[Span]| heard(&[(1000, 5, 400, 20), (2500, 5, 100, 20)], 10_000, speech);
    // No caller speech: anywhere from its start to the next arrival.
    let tl = fresh(&[]);
    let a = &tl.answers[0];
    assert_eq!(
        a.ending,
        Ending::Uncertain {
            onset: None,
            lo: 1000,
            hi: 2500
        }
    );
    assert_eq!((a.heard_end, a.barge_in()), (1750, None));
    // Speech from the moment the next answer arrived did not cut this one.
    let tl = fresh(&[(2500, 4000)]);
    assert_eq!(
        tl.answers[0].ending,
        Ending::Uncertain {
            onset: None,
            lo: 1000,
            hi: 2500
        }
    );
    // A barge-in just before the next arrival: both bounds stop at it.
    let tl = fresh(&[(2400, 4000)]);
    assert_eq!(
        tl.answers[0].ending,
        Ending::Uncertain {
            onset: Some(2400),
            lo: 2500,
            hi: 2500
        }
    );
    assert_eq!(tl.answers[0].heard_end, 2500);
}

#[test]
fn an_answer_arriving_after_the_call_ended_is_never_heard() {
    let tl = heard(&[(3000, 1, 100, 0)], 2000, &[]);
    let a = &tl.answers[0];
    assert_eq!(
        (a.ending, a.play_start, a.heard_end),
        (Ending::CallEnded, 3000, 3000)
    );
    assert_eq!(tl.segments[0].heard, 0);
    assert_eq!(tl.unheard(), vec![(3000, 3100)]);
    // Two answers cut: two unheard stretches, not one.
    let tl = heard(&[(1000, 5, 400, 20), (2500, 5, 100, 20)], 2700, &[]);
    assert_eq!(tl.unheard(), vec![(1750, 3000), (2700, 3000)]);
}
