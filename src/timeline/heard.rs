//! What the caller heard. The recorder writes what it received, not what
//! played (docs/recording-model.md, "What the caller heard"): a barge-in makes the bridge
//! cancel the answer 200–600 ms after the caller's onset, and the audio it
//! had received but not yet played is never heard; a backchannel is talked
//! through; nothing plays after the call's end (the caller track's end).
//!
//! No file records a cancellation, so each answer's end of playback is
//! inferred from what the recording holds, in this order:
//! - **arrivals stopping**: an answer that was still streaming when a
//!   caller utterance of 1 s or more began over it, and whose chunks stop
//!   arriving within the cancellation window after that onset although
//!   audio was left to play, was cancelled when the next chunk would have
//!   come (settled to within one chunk interval);
//! - **the next answer arriving** while this one would still be playing:
//!   it was cancelled, but only the caller's onset bounds when;
//! - **caller speech over a fully received answer**: the bridge usually
//!   cancels, but nothing in the files says so or when;
//! - **the end of the caller track**: playback stops there.
//!
//! Where the recording cannot settle it, the answer's end is given with
//! bounds (`Ending::Uncertain`), for a `timeline.playback_uncertain` finding.

use std::ops::Range;

use super::{BotSegment, Timeline};

/// A span on the call's clock, in samples.
pub type Span = (u64, u64);

/// The bridge notices a barge-in this long after the caller's onset.
const CANCEL_AFTER_S: (f64, f64) = (0.2, 0.6);
/// Bot chunks further apart than this belong to different answers.
const ANSWER_GAP_S: f64 = 0.5;
/// Caller speech with gaps shorter than this is one utterance.
const UTTERANCE_GAP_S: f64 = 0.6;
/// A caller utterance over the bot shorter than this is a backchannel,
/// which the bridge talks through.
pub const BACKCHANNEL_MAX_S: f64 = 1.0;
/// A TTS answer ends on at least this much digital silence.
const TAIL_SILENCE_S: f64 = 0.08;

/// How an answer's playback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Played to its last received sample.
    Played,
    /// The call ended while it played.
    CallEnded,
    /// Cancelled by the barge-in at `onset`; the end is known to within
    /// [lo, hi].
    Cancelled { onset: u64, lo: u64, hi: u64 },
    /// The recording cannot settle where playback ended: somewhere in
    /// [lo, hi]; `onset` is the caller's barge-in, when there was one.
    Uncertain {
        onset: Option<u64>,
        lo: u64,
        hi: u64,
    },
}

/// One bot answer: chunks that arrived together, played back to back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub segments: Range<usize>,
    pub play_start: u64,
    /// Where playback of everything received would have ended.
    pub received_end: u64,
    /// Where it ended (the estimate, for an uncertain ending).
    pub heard_end: u64,
    pub ending: Ending,
}

impl Answer {
    /// The caller onset the bot yielded to, if it did.
    pub fn barge_in(&self) -> Option<u64> {
        match self.ending {
            Ending::Cancelled { onset, .. } => Some(onset),
            Ending::Uncertain { onset, .. } => onset,
            _ => None,
        }
    }
}

/// Caller speech joined into utterances across short gaps.
pub fn utterances(speech: &[Span], rate: u32) -> Vec<Span> {
    let gap = samples(UTTERANCE_GAP_S, rate);
    let mut out: Vec<Span> = Vec::new();
    for &s in speech {
        match out.last_mut() {
            Some(last) if s.0 <= last.1 + gap => last.1 = last.1.max(s.1),
            _ => out.push(s),
        }
    }
    out
}

fn samples(seconds: f64, rate: u32) -> u64 {
    (seconds * f64::from(rate)).round() as u64
}

/// The segments split into answers where arrivals pause.
fn answers(segments: &[BotSegment], rate: u32) -> Vec<Range<usize>> {
    let gap = samples(ANSWER_GAP_S, rate);
    let mut out: Vec<Range<usize>> = Vec::new();
    for (i, s) in segments.iter().enumerate() {
        match out.last_mut() {
            Some(r) if s.arrival <= segments[r.end - 1].arrival + gap => r.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// The typical time between an answer's chunk arrivals (the median of
/// the non-zero steps), or 0 when they all arrived together.
fn arrival_interval(segments: &[BotSegment]) -> u64 {
    let mut steps: Vec<u64> = segments
        .windows(2)
        .map(|w| w[1].arrival - w[0].arrival)
        .filter(|d| *d > 0)
        .collect();
    steps.sort_unstable();
    steps.get(steps.len() / 2).copied().unwrap_or(0)
}

impl Timeline {
    /// Decide where each answer's playback really ended, from the caller's
    /// speech on the call's clock, and re-place the bot track accordingly:
    /// an answer cut short lets the next one play from its arrival. `chunk`
    /// is the caller chunk size (the resolution of arrivals), `bot` the bot
    /// track.
    pub fn hear(&mut self, caller_speech: &[Span], bot: &[i16], rate: u32, chunk: u64) {
        let s = |x: f64| samples(x, rate);
        let utts = utterances(caller_speech, rate);
        let ranges = answers(&self.segments, rate);
        let mut out = Vec::with_capacity(ranges.len());
        let mut prev_end = 0u64;
        for (k, range) in ranges.iter().enumerate() {
            let next_arrival = ranges.get(k + 1).map(|r| self.segments[r.start].arrival);
            let segs = &mut self.segments[range.clone()];
            let mut t = prev_end;
            for seg in segs.iter_mut() {
                seg.play_start = seg.arrival.max(t);
                seg.heard = seg.len;
                t = seg.play_start + seg.len;
            }
            let (play_start, received_end) = (segs[0].play_start, t);
            let last_arrival = segs[segs.len() - 1].arrival;
            let interval = arrival_interval(segs);
            // Caller utterances that began over this answer's playback, and
            // those of them too long to be backchannels.
            let over: Vec<Span> = utts
                .iter()
                .filter(|u| u.0 > play_start && u.0 < received_end)
                .copied()
                .collect();
            let onsets: Vec<u64> = over
                .iter()
                .filter(|u| u.1 - u.0 >= s(BACKCHANNEL_MAX_S) || u.1 >= self.caller_len)
                .map(|u| u.0)
                .collect();
            // An answer the bridge finished sending ends on the TTS's
            // trailing silence; a cut one ends mid-speech, or by chance in
            // a pause. Samples that are all zero cannot be placed in the
            // real-time file, so after a silent tail the last arrival seen
            // is only a lower bound.
            let last = segs[segs.len() - 1];
            let end = last.bot_start + last.len;
            let tail = bot.get(end.saturating_sub(s(TAIL_SILENCE_S)) as usize..end as usize);
            let cut_mid_speech = tail.is_some_and(|t| t.iter().any(|x| *x != 0));
            // Arrivals went on until the bridge could have cancelled.
            let arriving_at = |c: u64| last_arrival <= c + s(CANCEL_AFTER_S.1 + 0.1);
            // Any utterance, however short, that the arrivals stopped for
            // right after its onset: a "Wait." the bridge yielded to is an
            // interruption, not a backchannel. (Where the recording cannot
            // show the bridge stopping, below, only a long one is presumed
            // to have stopped it.)
            let stopped = over.iter().map(|u| u.0).find(|&c| {
                // The last chunk arrived within a chunk interval (and one
                // caller chunk of arrival resolution) before the bridge
                // could have cancelled, and audio was left to play.
                cut_mid_speech
                    && interval > 0
                    && last_arrival + interval + chunk + s(0.1) >= c + s(CANCEL_AFTER_S.0)
                    && arriving_at(c)
                    && last_arrival + interval < received_end
            });
            let (mut heard_end, mut ending) = (received_end, Ending::Played);
            if let Some(onset) = stopped {
                // Cancelled before the next chunk came.
                let (lo, hi) = (last_arrival, last_arrival + chunk + interval);
                heard_end = ((lo + hi) / 2).clamp(onset, received_end);
                ending = Ending::Cancelled { onset, lo, hi };
            } else if let Some(next) = next_arrival.filter(|n| *n < received_end) {
                // The next answer came while this one would still play.
                let onset = onsets.iter().copied().find(|c| *c < next);
                let (lo, hi) = match onset {
                    Some(c) => (
                        (c + s(CANCEL_AFTER_S.0)).min(next),
                        (c + s(CANCEL_AFTER_S.1)).min(next),
                    ),
                    None => (play_start, next),
                };
                heard_end = (lo + hi) / 2;
                ending = Ending::Uncertain { onset, lo, hi };
            } else if let Some(&c) = onsets.iter().find(|&&c| arriving_at(c)) {
                // The caller talked over it and nothing went on arriving
                // long after: the bridge usually cancels, but nothing here
                // says whether or when. Counted to the typical cancellation.
                let lo = (c + s(CANCEL_AFTER_S.0)).min(received_end);
                heard_end = (c + s((CANCEL_AFTER_S.0 + CANCEL_AFTER_S.1) / 2.0)).min(received_end);
                ending = Ending::Uncertain {
                    onset: Some(c),
                    lo,
                    hi: received_end,
                };
            }
            // Otherwise chunks went on arriving well after any barge-in:
            // the bot talked through it.
            if heard_end > self.caller_len {
                heard_end = self.caller_len.max(play_start);
                if ending == Ending::Played {
                    ending = Ending::CallEnded;
                }
            }
            for seg in segs.iter_mut() {
                seg.heard = heard_end.saturating_sub(seg.play_start).min(seg.len);
            }
            prev_end = heard_end.max(play_start);
            out.push(Answer {
                segments: range.clone(),
                play_start,
                received_end,
                heard_end,
                ending,
            });
        }
        self.answers = out;
    }

    /// Received bot audio that never played, where it would have played.
    pub fn unheard(&self) -> Vec<Span> {
        let mut out: Vec<Span> = Vec::new();
        for s in self.segments.iter().filter(|s| s.heard < s.len) {
            let span = (s.play_start + s.heard, s.play_start + s.len);
            match out.last_mut() {
                Some(last) if last.1 == span.0 => last.1 = span.1,
                _ => out.push(span),
            }
        }
        out
    }
}
