//! The bot's answers: TTS audio with digital silence around it, streamed in
//! chunks faster than real time (long answers only a little faster), and
//! cut short by a barge-in or by the end of the call.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::call::{secs, BotChunk, Call, Line, Span};
use super::speech::{self, Voice};

pub(super) struct BotTurn {
    pub(super) play_end: usize,
    pub(super) speech_start: usize,
    /// Its first chunk and first speech span in the call's lists, and its
    /// first sample in the bot track.
    pub(super) first_chunk: usize,
    pub(super) first_speech: usize,
    pub(super) offset: usize,
    /// Streamed at 1.1–1.5x real time.
    pub(super) slow: bool,
}

/// Stop `turn` playing at `at`: a cancellation or the end of the call.
/// Chunks that would have arrived from `at` on never reach the recorder;
/// those that arrived but had not played by `at` were never heard.
pub(super) fn cut(call: &mut Call, turn: &mut BotTurn, at: usize) {
    let kept = call.bot_chunks[turn.first_chunk..]
        .iter()
        .take_while(|c| c.arrival < at)
        .count();
    call.bot_chunks.truncate(turn.first_chunk + kept);
    let received = call.bot_chunks[turn.first_chunk..].last();
    let (bot_end, play_end) = received.map_or((turn.offset, turn.play_end.min(at)), |c| {
        (c.offset + c.len, c.play_start + c.len)
    });
    call.bot.truncate(bot_end);
    let heard = play_end.min(at);
    let spans = call.bot_speech.split_off(turn.first_speech);
    call.bot_speech.extend(
        spans
            .into_iter()
            .filter(|s| s.0 < heard)
            .map(|s| (s.0, s.1.min(heard))),
    );
    if play_end > heard {
        call.unplayed.push((heard, play_end));
    }
    turn.play_end = heard;
}

/// Deliver one bot answer: TTS audio with digital silence around it, cut
/// into chunks that arrive faster than real time.
pub(super) fn bot_turn(
    rng: &mut ChaCha8Rng,
    call: &mut Call,
    voice: Voice,
    arrival: usize,
    text: &str,
) -> BotTurn {
    let rate = call.rate;
    let len = rng.random_range(1.2..4.5);
    let utt = speech::utterance(rng, voice, len, rate);
    let lead = secs(rng, 0.0, 0.05, rate);
    let tail = secs(rng, 0.1, 0.25, rate);
    let offset0 = call.bot.len();
    call.bot.resize(offset0 + lead, 0);
    call.bot
        .extend(utt.samples.iter().map(|x| speech::quantise(*x)));
    call.bot.resize(call.bot.len() + tail, 0);
    let total = call.bot.len() - offset0;

    let first_chunk = call.bot_chunks.len();
    let first_speech = call.bot_speech.len();
    // Long answers can stream only a little faster than they play.
    let slow = len > 2.5 && rng.random_bool(0.5);
    let speed = rng.random_range(1.1..1.5);
    let mut at = arrival;
    let mut off = 0;
    let mut play_end = arrival;
    let mut last_arrival = arrival;
    let mut first_play = None;
    while off < total {
        let len = if slow {
            secs(rng, 0.06, 0.1, rate)
        } else {
            secs(rng, 0.1, 0.2, rate)
        }
        .min(total - off);
        let play_start = at.max(play_end);
        first_play.get_or_insert(play_start);
        call.bot_chunks.push(BotChunk {
            arrival: at,
            offset: offset0 + off,
            len,
            play_start,
        });
        play_end = play_start + len;
        last_arrival = at;
        off += len;
        at += if slow {
            (len as f64 / speed) as usize
        } else {
            secs(rng, 0.04, 0.08, rate)
        };
    }
    let play_start = first_play.unwrap_or(arrival);
    // Delivery outpaces playback, so the turn plays without a gap from its
    // first chunk on.
    let speech: Vec<Span> = utt
        .phrases
        .iter()
        .map(|p| (play_start + lead + p.start, play_start + lead + p.end))
        .collect();
    let speech_start = speech.first().map_or(play_start, |p| p.0);
    call.bot_speech.extend(speech);
    call.lines.push(Line {
        at: last_arrival + secs(rng, 0.03, 0.08, rate),
        caller: false,
        text: text.to_string(),
        confidence: None,
        duration_ms: (total as f64 * 1000.0 / f64::from(rate)).round(),
    });
    BotTurn {
        play_end,
        speech_start,
        first_chunk,
        first_speech,
        offset: offset0,
        slow,
    }
}
