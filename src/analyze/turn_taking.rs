//! Turn-taking on the aligned timeline, as the caller heard it: barge-ins
//! and how fast the bot yielded, backchannels it talked through, answers
//! that started before the caller had finished, caller turns nobody
//! answered, and the wait on tools. The definitions are the README's
//! ("Turn-taking").

use super::vad::Span;
use crate::timeline::{self, Ending, Timeline, BACKCHANNEL_MAX_S};

/// A caller turn with no bot speech starting within this long of its end
/// is unanswered.
pub const UNANSWERED_AFTER_S: f64 = 4.0;
/// A bot still playing this long after a barge-in's onset did not yield.
pub const YIELD_WITHIN_S: f64 = 1.0;

/// A caller utterance of at least [`BACKCHANNEL_MAX_S`] that began over the
/// bot's playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BargeIn {
    pub onset: u64,
    /// Where the bot's playback ended (an estimate when `uncertain`).
    pub quiet: u64,
    pub uncertain: bool,
}

impl BargeIn {
    pub fn yielded(&self, rate: u32) -> bool {
        self.quiet - self.onset <= samples(YIELD_WITHIN_S, rate)
    }
}

#[derive(Debug, Default)]
pub struct TurnTaking {
    pub barge_ins: Vec<BargeIn>,
    /// Short caller utterances over bot playback that the bot talked through.
    pub backchannels: Vec<Span>,
    /// (the answer's first speech, the end of the caller speech it started in).
    pub early_starts: Vec<Span>,
    /// Caller utterances no bot speech followed within [`UNANSWERED_AFTER_S`].
    pub unanswered: Vec<Span>,
    /// Answers whose end of playback the recording cannot settle: [lo, hi]
    /// and where it is counted.
    pub uncertain: Vec<(Span, u64)>,
    /// (a function call, the bot's next speech).
    pub tool_waits: Vec<Span>,
    /// Silences with a function call in flight.
    pub tool_silences: Vec<Span>,
}

fn samples(seconds: f64, rate: u32) -> u64 {
    (seconds * f64::from(rate)).round() as u64
}

/// Everything above, from both parties' speech on the call's clock (the
/// bot's as heard), the heard timeline, the function calls' instants, the
/// silences and the call's end.
pub fn turn_taking(
    caller: &[Span],
    bot: &[Span],
    tl: &Timeline,
    function_calls: &[u64],
    silences: &[Span],
    end: u64,
    rate: u32,
) -> TurnTaking {
    let s = |x: f64| samples(x, rate);
    let mut out = TurnTaking::default();
    let utterances = timeline::utterances(caller, rate);
    let mut backchannel = vec![false; utterances.len()];
    for (i, u) in utterances.iter().enumerate() {
        let Some(a) = tl
            .answers
            .iter()
            .find(|a| u.0 > a.play_start && u.0 < a.heard_end)
        else {
            continue;
        };
        let long = u.1 - u.0 >= s(BACKCHANNEL_MAX_S) || u.1 >= end;
        if long || a.heard_end <= u.1 || a.barge_in() == Some(u.0) {
            out.barge_ins.push(BargeIn {
                onset: u.0,
                quiet: a.heard_end,
                uncertain: matches!(a.ending, Ending::Uncertain { .. }),
            });
        } else {
            out.backchannels.push(*u);
            backchannel[i] = true;
        }
    }
    for a in &tl.answers {
        if let Ending::Uncertain { lo, hi, .. } = a.ending {
            out.uncertain.push(((lo, hi), a.heard_end));
        }
        // The answer's first speech, inside caller speech that began before
        // the answer did.
        let Some(first) = bot
            .iter()
            .find(|b| b.0 >= a.play_start && b.0 < a.heard_end)
        else {
            continue;
        };
        if let Some(c) = caller
            .iter()
            .find(|c| c.0 < a.play_start && c.0 < first.0 && first.0 < c.1)
        {
            out.early_starts.push((first.0, c.1));
        }
    }
    let wait = s(UNANSWERED_AFTER_S);
    for (u, _) in utterances.iter().zip(&backchannel).filter(|(_, bc)| !**bc) {
        if u.1 + wait > end {
            continue; // the call ended before it could tell
        }
        if !bot.iter().any(|b| b.0 > u.0 && b.0 <= u.1 + wait) {
            out.unanswered.push(*u);
        }
    }
    for &f in function_calls {
        if let Some(b) = bot.iter().find(|b| b.0 > f) {
            out.tool_waits.push((f, b.0));
        }
    }
    out.tool_silences = silences
        .iter()
        .filter(|g| function_calls.iter().any(|&f| g.0 <= f && f < g.1))
        .copied()
        .collect();
    out
}
