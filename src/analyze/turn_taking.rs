//! Turn-taking on the aligned timeline, as the caller heard it: barge-ins
//! and how fast the bot yielded, backchannels it talked through, answers
//! that started before the caller had finished, caller turns nobody
//! answered, and the wait on tools. The definitions are those of the
//! speech columns in docs/reports.md.

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
    /// Caller turns (utterances joined across pauses no bot speech started
    /// in) no bot speech followed within [`UNANSWERED_AFTER_S`].
    pub unanswered: Vec<Span>,
    /// Answers whose end of playback the recording cannot settle: [lo, hi]
    /// and where it is counted.
    pub uncertain: Vec<(Span, u64)>,
    /// (a function call, the bot's next speech).
    pub tool_waits: Vec<Span>,
    /// Silences with a function call in flight.
    pub tool_silences: Vec<Span>,
}

/// The caller's utterances joined into turns: a caller who goes on within
/// `wait` of stopping, with no bot speech started in between, is still
/// taking the same turn (a pause to think, to read a number out), and the
/// bot is judged from where the turn ends, not from the pause.
fn caller_turns(utterances: &[Span], bot: &[Span], wait: u64) -> Vec<Span> {
    let mut turns: Vec<Span> = Vec::new();
    for &u in utterances {
        match turns.last_mut() {
            Some(t) if u.0 < t.1 + wait && !bot.iter().any(|b| b.0 > t.0 && b.0 <= u.0) => {
                t.1 = t.1.max(u.1);
            }
            _ => turns.push(u),
        }
    }
    turns
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
    let said: Vec<Span> = utterances
        .iter()
        .zip(&backchannel)
        .filter(|(_, bc)| !**bc)
        .map(|(u, _)| *u)
        .collect();
    for turn in caller_turns(&said, bot, wait) {
        if turn.1 + wait > end {
            continue; // the call ended before it could tell
        }
        if !bot.iter().any(|b| b.0 > turn.0 && b.0 <= turn.1 + wait) {
            out.unanswered.push(turn);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Answer;

    const RATE: u32 = 1000; // a sample a millisecond
    const END: u64 = 100_000;

    fn answer(play_start: u64, heard_end: u64, ending: Ending) -> Answer {
        Answer {
            segments: 0..0,
            play_start,
            received_end: heard_end,
            heard_end,
            ending,
        }
    }

    /// Each rule at its edges, in one call (utterances are joined across
    /// gaps up to 600 ms, so the caller's speech here is apart by more).
    #[test]
    fn each_turn_taking_rule_at_its_edges() {
        let answers = vec![
            answer(1000, 6000, Ending::Played),
            answer(
                10000,
                12000,
                Ending::Cancelled {
                    onset: 11000,
                    lo: 11900,
                    hi: 12100,
                },
            ),
            answer(20000, 30000, Ending::Played),
            answer(
                40000,
                45000,
                Ending::Uncertain {
                    onset: None,
                    lo: 44000,
                    hi: 46000,
                },
            ),
            // Playback with no speech found in it, up to the next answer's.
            answer(58500, 60000, Ending::Played),
            answer(60000, 65000, Ending::Played),
            answer(70000, 75000, Ending::Played),
            answer(80000, 85000, Ending::Played),
            answer(90500, 92000, Ending::Played),
        ];
        let bot = [
            (1000, 5800),
            (10000, 12000),
            (20000, 29000),
            (40000, 45000),
            (60000, 64000),
            (70100, 74000),
            (80100, 84000),
            (90500, 91500),
        ];
        let caller = [
            (2000, 2999),   // 999 ms over the first answer: a backchannel
            (4000, 5000),   // exactly 1 s over it: a barge-in
            (11000, 11300), // short, but the onset the bot yielded to
            (12000, 12200), // at the second answer's end: not over it
            (20000, 20400), // at the third's start: not over it
            (29500, 30000), // short, over it to its very end
            (42000, 44000), // over an answer whose end is uncertain
            (58000, 61000), // the fifth answer speaks at once, inside it: early
            (70000, 70500), // began with the sixth answer: not early
            (78000, 80100), // ends as the seventh's speech starts
            (86000, 86500), // answered exactly 4 s after its end
            (92500, 92700), // never answered, and the caller goes on...
            (93700, 94500), // ...1 s later, in the same turn
            (98500, 98700), // 4 s later: a new turn, too near the end to judge
        ];
        let tl = Timeline {
            segments: Vec::new(),
            caller_len: END,
            bot_len: 0,
            answers,
        };
        let calls = [5800, 10000, 12000, 40000];
        let silences = [(5800, 10000), (12000, 20000), (30000, 40000)];
        let tt = turn_taking(&caller, &bot, &tl, &calls, &silences, END, RATE);

        let barge = |onset, quiet, uncertain| BargeIn {
            onset,
            quiet,
            uncertain,
        };
        assert_eq!(
            tt.barge_ins,
            [
                barge(4000, 6000, false),
                barge(11000, 12000, false),
                barge(29500, 30000, false),
                barge(42000, 45000, true),
            ]
        );
        assert_eq!(tt.backchannels, [(2000, 2999)]);
        // Once: the speech at 60000 is the next answer's, not the silent one's.
        assert_eq!(tt.early_starts, [(60000, 61000)]);
        assert_eq!(
            tt.unanswered,
            [
                (4000, 5000),
                // "Wait." over the second answer, the rest 0.7 s later.
                (11000, 12200),
                (20000, 20400),
                (29500, 30000),
                (42000, 44000),
                (92500, 94500),
            ]
        );
        assert_eq!(tt.uncertain, [((44000, 46000), 45000)]);
        // A call made as the bot starts to speak waits for its next speech.
        assert_eq!(
            tt.tool_waits,
            [
                (5800, 10000),
                (10000, 20000),
                (12000, 20000),
                (40000, 60000)
            ]
        );
        // A silence holds a call made at its start, not one at its end.
        assert_eq!(tt.tool_silences, [(5800, 10000), (12000, 20000)]);
    }

    #[test]
    fn a_bot_quiet_within_one_second_of_the_onset_yielded() {
        let b = |quiet| BargeIn {
            onset: 5000,
            quiet,
            uncertain: false,
        };
        assert!(b(6000).yielded(RATE));
        assert!(!b(6001).yielded(RATE));
        assert!(b(5000 + 8000).yielded(8000));
        assert!(!b(5000 + 8001).yielded(8000));
    }
}
