//! One simulated call: the conversation plan, the audio of both parties on
//! the call's clock, and the bot's chunks as the recorder received them.
//!
//! The caller track is the call's clock: the telephony side sends 20 ms
//! frames all call long. Most bot answers arrive in 100–200 ms chunks 2.5x
//! faster than real time or more; long ones can stream only 1.1–1.5x real
//! time, in 60–100 ms chunks that keep arriving while the answer plays. An
//! answer plays from its first chunk's arrival on.
//!
//! What the caller heard is not what the recorder received
//! (docs/recording-model.md, "What the caller heard"):
//! a caller who barges into an answer makes the bridge cancel it 200–600 ms
//! later (chunks not yet sent never reach the recorder; those received but
//! not yet played are never heard), a backchannel ("mhm") is talked
//! through, and a call can end mid-answer. `bot_speech` is what played.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::answer::{bot_turn, cut};
use super::speech::{self, Voice};
use super::text::{Intent, INTENTS};

/// A span on the call's clock, in samples.
pub type Span = (usize, usize);

/// One chunk of bot audio as the recorder received it.
#[derive(Debug, Clone)]
pub struct BotChunk {
    /// Arrival on the call's clock (samples since the call began).
    pub arrival: usize,
    /// Offset of the chunk's first sample in `bot_audio.wav`.
    pub offset: usize,
    pub len: usize,
    /// When it starts playing: max(arrival, end of the previous chunk).
    pub play_start: usize,
}

/// A transcript entry, stamped on the call's clock.
#[derive(Debug, Clone)]
pub struct Line {
    pub at: usize,
    pub caller: bool,
    pub text: String,
    pub confidence: Option<f64>,
    pub duration_ms: f64,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub rate: u32,
    pub session_id: String,
    pub start: DateTime<Utc>,
    pub caller: Vec<i16>,
    pub bot: Vec<i16>,
    pub caller_chunk: usize,
    pub bot_chunks: Vec<BotChunk>,
    /// Phrases of speech on the call's clock.
    pub caller_speech: Vec<Span>,
    pub bot_speech: Vec<Span>,
    /// Spans where the caller's line sent digital silence.
    pub muted: Vec<Span>,
    /// Per bot turn that answers the caller: (caller speech end, bot speech start).
    pub audio_turns: Vec<(usize, usize)>,
    pub lines: Vec<Line>,
    /// (call-clock sample, function call as the recorder logs it).
    pub function_calls: Vec<(usize, serde_json::Value)>,
    pub intent: &'static Intent,
    /// Bot audio the recorder received that never played, where it would
    /// have played (after a cancellation, or after the call's end).
    pub unplayed: Vec<Span>,
    /// Caller barge-ins the bot yielded to.
    pub barge_ins: Vec<BargeIn>,
    /// Short caller utterances over bot speech that the bot talked through.
    pub backchannels: Vec<Span>,
    /// Long ones (1 s or more) it talked through too (`--line talk-overs`).
    pub talk_overs: Vec<Span>,
    /// Bot answers whose speech began before the caller's turn had ended.
    pub early_starts: usize,
    /// Ends of caller turns the bot never answered.
    pub unanswered: Vec<usize>,
    /// The call ended while the bot's answer was playing.
    pub ended_mid_answer: bool,
    /// The acoustic echo put on the caller's line, if any.
    pub echo: Option<super::echo::EchoPath>,
}

/// The conversation conditions of `simulate --line` (`pauses`,
/// `interruptions`, `talk-overs`), deciding on their own random stream so
/// that a call without them is the call it always was.
pub struct Talk<'a> {
    /// Caller turns with a 0.6–1.5 s pause inside (half of them).
    pub pauses: bool,
    /// Half the barge-ins are a short "Wait." (a syllable or two) that
    /// stops the bot, the caller going on 0.5–1 s later.
    pub interruptions: bool,
    /// Half the answers of 3 s or more get 1.2–3 s of the caller talking
    /// over them, which the bot talks through.
    pub talk_overs: bool,
    pub rng: &'a mut ChaCha8Rng,
}

/// A barge-in: the caller's onset over bot playback, and when the bridge's
/// cancellation stopped the playback.
#[derive(Debug, Clone, Copy)]
pub struct BargeIn {
    pub onset: usize,
    pub yielded_at: usize,
}

impl Call {
    /// Wall-clock time of a call-clock sample.
    pub fn wall(&self, sample: usize) -> DateTime<Utc> {
        self.start
            + ChronoDuration::microseconds(
                (sample as f64 * 1e6 / f64::from(self.rate)).round() as i64
            )
    }

    pub fn seconds(&self, sample: usize) -> f64 {
        sample as f64 / f64::from(self.rate)
    }

    /// The real-time stereo file: every chunk in arrival order, the other
    /// channel zero. A caller chunk covering [k·C, (k+1)·C) arrives at (k+1)·C;
    /// a bot chunk arriving at the same instant comes after it.
    pub fn realtime_stereo(&self) -> Vec<i16> {
        let c = self.caller_chunk;
        let mut out = Vec::with_capacity((self.caller.len() + self.bot.len()) * 2);
        let mut next_bot = 0;
        for (k, chunk) in self.caller.chunks(c).enumerate() {
            let arrived = (k + 1) * c;
            while let Some(b) = self
                .bot_chunks
                .get(next_bot)
                .filter(|b| b.arrival < arrived)
            {
                push_bot(&mut out, &self.bot[b.offset..b.offset + b.len]);
                next_bot += 1;
            }
            for &s in chunk {
                out.extend_from_slice(&[s, 0]);
            }
        }
        for b in &self.bot_chunks[next_bot..] {
            push_bot(&mut out, &self.bot[b.offset..b.offset + b.len]);
        }
        out
    }

    /// Caller samples that precede a bot chunk in the real-time file.
    pub fn caller_samples_before(&self, chunk: &BotChunk) -> usize {
        (chunk.arrival / self.caller_chunk * self.caller_chunk).min(self.caller.len())
    }
}

fn push_bot(out: &mut Vec<i16>, samples: &[i16]) {
    for &s in samples {
        out.extend_from_slice(&[0, s]);
    }
}

pub(super) fn secs(rng: &mut ChaCha8Rng, lo: f64, hi: f64, rate: u32) -> usize {
    (rng.random_range(lo..hi) * f64::from(rate)) as usize
}

/// A version-4 UUID from the call's random stream.
fn uuid(rng: &mut ChaCha8Rng) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Plan and render a whole call.
pub fn generate(
    rng: &mut ChaCha8Rng,
    seconds: f64,
    rate: u32,
    start: DateTime<Utc>,
    talk: Talk,
) -> Call {
    let session_id = uuid(rng);
    let intent = &INTENTS[rng.random_range(0..INTENTS.len())];
    let caller_voice = Voice {
        f0: if rng.random_bool(0.5) {
            rng.random_range(95.0..140.0)
        } else {
            rng.random_range(175.0..235.0)
        },
        level: rng.random_range(0.04..0.1),
    };
    let bot_voice = Voice {
        f0: rng.random_range(165.0..210.0),
        level: 0.08,
    };
    let target = (seconds * f64::from(rate)) as usize;
    let caller_chunk = rate as usize / 50;

    let mut call = Call {
        rate,
        session_id,
        start,
        caller: Vec::new(),
        bot: Vec::new(),
        caller_chunk,
        bot_chunks: Vec::new(),
        caller_speech: Vec::new(),
        bot_speech: Vec::new(),
        muted: Vec::new(),
        audio_turns: Vec::new(),
        lines: Vec::new(),
        function_calls: Vec::new(),
        intent,
        unplayed: Vec::new(),
        barge_ins: Vec::new(),
        backchannels: Vec::new(),
        talk_overs: Vec::new(),
        early_starts: 0,
        unanswered: Vec::new(),
        ended_mid_answer: false,
        echo: None,
    };
    // Caller speech as (start on the call clock, samples), mixed in at the end.
    let mut caller_utts: Vec<(usize, Vec<f32>)> = Vec::new();

    let greet_at = secs(rng, 0.3, 0.8, rate);
    let greeting = intent.bot_lines[0];
    let mut turn = bot_turn(rng, &mut call, bot_voice, greet_at, greeting);
    let mut bot_line = 1;
    let mut caller_line = 0;
    let mut calls_made = 0;
    let wants_intent_call = rng.random_bool(0.85);
    let sec = |x: f64| (x * f64::from(rate)) as usize;
    'call: loop {
        let speaking = turn.play_end.saturating_sub(turn.speech_start);
        // The caller barges into a long answer, says "mhm" over it, or
        // answers after it.
        let barge = turn.slow && speaking > sec(2.5) && rng.random_bool(0.4);
        let caller_start = if barge {
            turn.speech_start + secs(rng, 0.8, call.seconds(speaking) - 1.0, rate)
        } else {
            let at = turn.speech_start
                + secs(rng, 0.5, call.seconds(speaking.max(sec(1.8))) - 1.2, rate);
            // Not so soon after the caller's own turn that it reads as its tail.
            let clear = call
                .caller_speech
                .last()
                .is_none_or(|p| at > p.1 + sec(1.0));
            if speaking > sec(2.0) && clear && rng.random_bool(0.2) {
                let utt = speech::backchannel(rng, caller_voice, rate);
                let span = (at + utt.phrases[0].start, at + utt.phrases[0].end);
                call.caller_speech.push(span);
                call.backchannels.push(span);
                caller_utts.push((at, utt.samples));
            } else if talk.talk_overs && speaking > sec(3.0) && talk.rng.random_bool(0.5) {
                // Talking over the answer, which goes on: a bridge that
                // does not stop for the caller.
                let len = talk.rng.random_range(1.2..3.0);
                let at = turn.speech_start + secs(talk.rng, 0.3, 0.8, rate);
                let clear = call
                    .caller_speech
                    .last()
                    .is_none_or(|p| at > p.1 + sec(1.0));
                let utt = speech::utterance(talk.rng, caller_voice, len, rate);
                let phrases: Vec<Span> = utt
                    .phrases
                    .iter()
                    .map(|p| (at + p.start, at + p.end))
                    .collect();
                let (first, last) = (phrases[0].0, phrases[phrases.len() - 1].1);
                if clear && last + sec(0.3) < turn.play_end {
                    call.caller_speech.extend(&phrases);
                    call.talk_overs.push((first, last));
                    caller_utts.push((at, utt.samples));
                }
            }
            turn.play_end + secs(rng, 0.4, 1.5, rate)
        };
        if caller_start + 3 * rate as usize > target {
            break;
        }
        let len = if barge {
            rng.random_range(1.5..3.5)
        } else {
            rng.random_range(0.8..3.5)
        };
        let utt = speech::utterance(rng, caller_voice, len, rate);
        let mut phrases: Vec<Span> = utt
            .phrases
            .iter()
            .map(|p| (caller_start + p.start, caller_start + p.end))
            .collect();
        if barge && talk.interruptions && talk.rng.random_bool(0.5) {
            // "Wait.": a syllable or two the bridge stops for 200–400 ms
            // after its onset; the caller goes on once the bot is quiet.
            let wait = speech::backchannel(talk.rng, caller_voice, rate);
            let (onset, end) = (
                caller_start + wait.phrases[0].start,
                caller_start + wait.phrases[0].end,
            );
            cut(&mut call, &mut turn, onset + secs(talk.rng, 0.2, 0.4, rate));
            call.barge_ins.push(BargeIn {
                onset,
                yielded_at: turn.play_end,
            });
            call.caller_speech.push((onset, end));
            caller_utts.push((caller_start, wait.samples));
            let rest = end.max(turn.play_end) + secs(talk.rng, 0.5, 1.0, rate);
            phrases.iter_mut().for_each(|p| {
                p.0 = p.0 - caller_start + rest;
                p.1 = p.1 - caller_start + rest;
            });
            caller_utts.push((rest, utt.samples));
        } else {
            if barge {
                // The bridge notices 200–600 ms after the caller's onset.
                let onset = phrases[0].0;
                cut(&mut call, &mut turn, onset + secs(rng, 0.2, 0.6, rate));
                call.barge_ins.push(BargeIn {
                    onset,
                    yielded_at: turn.play_end,
                });
            }
            caller_utts.push((caller_start, utt.samples));
        }
        if talk.pauses && talk.rng.random_bool(0.5) {
            // A pause to think, or to read a number out, inside the turn.
            let end = phrases.last().map_or(caller_start, |p| p.1);
            let more = end + secs(talk.rng, 0.6, 1.5, rate);
            let len = talk.rng.random_range(0.6..2.0);
            let utt = speech::utterance(talk.rng, caller_voice, len, rate);
            phrases.extend(utt.phrases.iter().map(|p| (more + p.start, more + p.end)));
            caller_utts.push((more, utt.samples));
        }
        let mut caller_end = phrases.last().map_or(caller_start, |p| p.1);
        if caller_line > 0 && rng.random_bool(0.06) {
            // No answer comes: the caller says it again 5–7 s later.
            let again = caller_end + secs(rng, 5.0, 7.0, rate);
            if again + 4 * rate as usize > target {
                call.caller_speech.extend(&phrases);
                break 'call;
            }
            call.unanswered.push(caller_end);
            let again_len = rng.random_range(0.8..2.0);
            let utt = speech::utterance(rng, caller_voice, again_len, rate);
            phrases.extend(utt.phrases.iter().map(|p| (again + p.start, again + p.end)));
            caller_end = phrases.last().map_or(again, |p| p.1);
            caller_utts.push((again, utt.samples));
        }
        call.caller_speech.extend(&phrases);
        call.lines.push(Line {
            at: caller_end + secs(rng, 0.1, 0.5, rate),
            caller: true,
            text: intent.caller_lines[caller_line % intent.caller_lines.len()].to_string(),
            confidence: Some((rng.random_range(0.5..0.99f64) * 100.0).round() / 100.0),
            duration_ms: ((caller_end - caller_start) as f64 * 1000.0 / f64::from(rate)).round(),
        });
        caller_line += 1;

        // Now and then the bridge mistakes a pause for the end of the turn
        // and the answer starts while the caller finishes.
        let last_phrase = phrases.last().map_or(caller_start, |p| p.0);
        let early = caller_end > last_phrase + sec(0.6) && rng.random_bool(0.08);
        let arrival = if early {
            call.early_starts += 1;
            caller_end - secs(rng, 0.15, 0.4, rate)
        } else {
            caller_end + secs(rng, 0.5, 1.6, rate)
        };
        if calls_made < 3
            && (caller_line == 1 && wants_intent_call || caller_line > 1 && rng.random_bool(0.25))
        {
            let at = caller_end + secs(rng, 0.1, 0.4, rate);
            let call_json = function_call(rng, &call, at, intent, calls_made);
            call.function_calls.push((at, call_json));
            calls_made += 1;
        }
        let text = intent.bot_lines[bot_line % intent.bot_lines.len()];
        bot_line += 1;
        turn = bot_turn(rng, &mut call, bot_voice, arrival, text);
        call.audio_turns.push((caller_end, turn.speech_start));
    }
    call.caller_speech.sort_unstable();
    let last_caller = call.caller_speech.last().map_or(0, |p| p.1);
    let speaking = turn.play_end.saturating_sub(turn.speech_start);
    let hang_up =
        turn.speech_start > last_caller + sec(0.5) && speaking > sec(1.5) && rng.random_bool(0.12);
    let end = if hang_up {
        // The caller hangs up mid-answer.
        turn.speech_start + secs(rng, 0.5, call.seconds(speaking) - 0.5, rate)
    } else {
        turn.play_end.max(last_caller) + secs(rng, 0.5, 1.5, rate)
    };
    let len = end.div_ceil(caller_chunk) * caller_chunk;
    if hang_up {
        cut(&mut call, &mut turn, len);
        call.ended_mid_answer = true;
    }

    render_caller(rng, &mut call, len, caller_utts);
    call.lines.sort_by_key(|l| l.at);
    call
}

/// The caller track: line noise all call long, the caller's speech mixed in,
/// and now and then a muted line (digital silence) while the bot talks.
fn render_caller(rng: &mut ChaCha8Rng, call: &mut Call, len: usize, utts: Vec<(usize, Vec<f32>)>) {
    let noise_amp = if rng.random_bool(0.8) {
        rng.random_range(3.0..8.0)
    } else {
        rng.random_range(20.0..60.0)
    };
    let mut track = speech::line_noise(rng, len, noise_amp);
    for (at, samples) in utts {
        for (t, s) in track[at..].iter_mut().zip(samples) {
            *t += s;
        }
    }
    if rng.random_bool(0.3) {
        // Mute the line around one bot turn that has no caller speech near it.
        let rate = call.rate as usize;
        let turns: Vec<Span> = call.bot_chunks.iter().fold(Vec::<Span>::new(), |mut v, c| {
            match v.last_mut() {
                Some(last) if c.play_start <= last.1 => last.1 = c.play_start + c.len,
                _ => v.push((c.play_start, c.play_start + c.len)),
            }
            v
        });
        let pick = rng.random_range(0..turns.len().max(1));
        if let Some(&(s, e)) = turns.get(pick) {
            let span = (s.saturating_sub(rate / 5), (e + rate * 3 / 10).min(len));
            let clear = call
                .caller_speech
                .iter()
                .all(|p| p.1 + rate / 10 <= span.0 || p.0 >= span.1 + rate / 10);
            if clear {
                track[span.0..span.1].iter_mut().for_each(|x| *x = 0.0);
                call.muted.push(span);
            }
        }
    }
    call.caller = track.into_iter().map(speech::quantise).collect();
}

fn function_call(
    rng: &mut ChaCha8Rng,
    call: &Call,
    at: usize,
    intent: &Intent,
    index: usize,
) -> serde_json::Value {
    let failed = rng.random_bool(0.1);
    let call_id = format!("call_{}", &uuid(rng)[..8]);
    let (name, arguments, ok_result) = if index == 0 {
        (
            "call_intent",
            json!({ "intent": intent.name }),
            json!({ "status": "success", "intent": intent.name }),
        )
    } else {
        let (name, args) = intent.follow_ups[rng.random_range(0..intent.follow_ups.len())];
        let args: serde_json::Value = serde_json::from_str(args).unwrap_or_default();
        (name, args, json!({ "status": "success" }))
    };
    let result = if failed {
        json!({ "status": "error", "error": "upstream service timed out" })
    } else {
        ok_result
    };
    json!({
        "timestamp": crate::recording::Timestamp::isoformat(call.wall(at)).raw,
        "function_name": name,
        "arguments": arguments,
        "result": result,
        "call_id": call_id,
    })
}
