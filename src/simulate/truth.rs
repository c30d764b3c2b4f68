//! The ground truth of a simulated recording: what really happened on the
//! call, independent of how callscope will later read the files back.

use serde::{Deserialize, Serialize};

use super::call::{Call, Span};
use super::faults::Fault;
use super::line::{self, LineMix};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TruthChunk {
    pub index: usize,
    /// Arrival on the call's clock.
    pub arrival_s: f64,
    pub arrival_sample: usize,
    /// Caller samples that precede the chunk in `stereo_recording.wav`
    /// (its arrival as the file records it: a multiple of the caller chunk).
    pub rt_caller_samples_before: usize,
    /// The chunk's first frame in `stereo_recording.wav`.
    pub rt_frame: usize,
    /// The chunk's first sample in `bot_audio.wav`.
    pub bot_offset: usize,
    pub samples: usize,
    /// When it played on the call's clock.
    pub play_start_sample: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TruthTurn {
    pub turn: usize,
    pub caller_end_s: f64,
    pub bot_start_s: f64,
    pub latency_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TruthTranscriptTurn {
    pub caller_timestamp: String,
    pub bot_timestamp: String,
    pub latency_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TruthFunctionCall {
    pub function_name: String,
    pub intent: Option<String>,
    pub failed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truth {
    pub recording: String,
    pub session_id: String,
    pub start_time: String,
    pub sample_rate: u32,
    pub duration_s: f64,
    pub caller_samples: usize,
    pub bot_samples: usize,
    pub fault: String,
    /// The file the fault damaged, when it is one file.
    pub fault_file: Option<String>,
    pub expected_state: String,
    /// The line's conditions (`clean`, or `noise+narrowband` and the like).
    #[serde(default)]
    pub line: String,
    /// The caller track's background where no caller speaks, against the
    /// caller's speech, in dB (a clean line: about -50).
    #[serde(default)]
    pub caller_background_db: Option<f64>,
    /// The acoustic echo's direct-path delay, seconds, and its return loss
    /// against the bot's heard signal, dB (`--line echo`).
    #[serde(default)]
    pub echo_delay_s: Option<f64>,
    #[serde(default)]
    pub echo_return_loss_db: Option<f64>,
    /// Transcript turns: the bot's greeting, then alternating caller and bot.
    pub turns: usize,
    pub transcript_entries: usize,
    pub intent: String,
    pub function_calls: Vec<TruthFunctionCall>,
    pub caller_chunk_samples: usize,
    pub caller_chunks: usize,
    pub bot_chunks: Vec<TruthChunk>,
    /// Speech on the call's clock, in seconds: phrases as [start, end].
    pub caller_speech: Vec<[f64; 2]>,
    pub bot_speech: Vec<[f64; 2]>,
    /// Where the caller's line sent digital silence.
    pub caller_muted: Vec<[f64; 2]>,
    pub caller_talk_s: f64,
    pub bot_talk_s: f64,
    pub overlap_s: f64,
    /// Voice-agent latency per bot turn that answers the caller.
    pub audio_turns: Vec<TruthTurn>,
    /// The seed's recipe: each caller entry followed by a bot entry.
    pub transcript_turns: Vec<TruthTranscriptTurn>,
    /// Bot audio received but never played (`bot_speech` is what played).
    pub bot_unplayed_s: f64,
    /// Where that audio would have played, as [start, end].
    #[serde(default)]
    pub bot_unplayed: Vec<[f64; 2]>,
    /// Caller barge-ins the bot yielded to.
    pub barge_ins: Vec<TruthBargeIn>,
    /// Short caller utterances the bot talked through, as [start, end].
    pub backchannels: Vec<[f64; 2]>,
    /// Caller speech of 1 s or more over an answer the bot talked through
    /// (`--line talk-overs`), as [start, end].
    #[serde(default)]
    pub talk_overs: Vec<[f64; 2]>,
    /// Bot answers that began before the caller's turn had ended.
    pub early_starts: usize,
    /// Ends of caller turns the bot never answered.
    pub unanswered_turns: Vec<f64>,
    /// The call ended while the bot's answer was playing.
    pub ended_mid_answer: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TruthBargeIn {
    pub onset_s: f64,
    /// When the bot went quiet.
    pub yielded_s: f64,
    pub time_to_yield_s: f64,
}

fn total(spans: &[Span]) -> usize {
    spans.iter().map(|s| s.1 - s.0).sum()
}

/// Samples where a span of `a` and a span of `b` overlap.
fn overlap(a: &[Span], b: &[Span]) -> usize {
    a.iter()
        .flat_map(|x| {
            b.iter()
                .map(move |y| x.1.min(y.1).saturating_sub(x.0.max(y.0)))
        })
        .sum()
}

impl Truth {
    pub fn of(
        call: &Call,
        dir_name: &str,
        fault: Fault,
        line: &LineMix,
        start_time: &str,
    ) -> Truth {
        let secs = |n: usize| call.seconds(n);
        let spans = |v: &[Span]| v.iter().map(|s| [secs(s.0), secs(s.1)]).collect();
        let mut rt_bot_before = 0;
        let bot_chunks = call
            .bot_chunks
            .iter()
            .enumerate()
            .map(|(index, c)| {
                let before = call.caller_samples_before(c);
                let chunk = TruthChunk {
                    index,
                    arrival_s: secs(c.arrival),
                    arrival_sample: c.arrival,
                    rt_caller_samples_before: before,
                    rt_frame: before + rt_bot_before,
                    bot_offset: c.offset,
                    samples: c.len,
                    play_start_sample: c.play_start,
                };
                rt_bot_before += c.len;
                chunk
            })
            .collect();
        let stamp = |at: usize| crate::recording::Timestamp::isoformat(call.wall(at)).raw;
        let transcript_turns = call
            .lines
            .windows(2)
            .filter(|w| w[0].caller && !w[1].caller)
            .map(|w| TruthTranscriptTurn {
                caller_timestamp: stamp(w[0].at),
                bot_timestamp: stamp(w[1].at),
                latency_s: (call.wall(w[1].at) - call.wall(w[0].at))
                    .num_microseconds()
                    .unwrap_or(0) as f64
                    / 1e6,
            })
            .collect();
        let function_calls = call
            .function_calls
            .iter()
            .map(|(_, v)| TruthFunctionCall {
                function_name: v["function_name"].as_str().unwrap_or_default().to_string(),
                intent: v["arguments"]["intent"].as_str().map(str::to_string),
                failed: v["result"]["status"].as_str() != Some("success"),
            })
            .collect();
        Truth {
            recording: dir_name.to_string(),
            session_id: call.session_id.clone(),
            start_time: start_time.to_string(),
            sample_rate: call.rate,
            duration_s: secs(call.caller.len()),
            caller_samples: call.caller.len(),
            bot_samples: call.bot.len(),
            fault: fault.name().to_string(),
            fault_file: fault.file().map(|k| k.file_name().to_string()),
            expected_state: match fault {
                Fault::Crashed => "crashed",
                Fault::InProgress => "in-progress",
                _ => "complete",
            }
            .to_string(),
            line: line.name(),
            caller_background_db: line::caller_background_db(call),
            echo_delay_s: call.echo.map(|e| e.delay_s),
            echo_return_loss_db: call.echo.map(|e| e.return_loss_db),
            turns: call.lines.len(),
            transcript_entries: call.lines.len(),
            intent: call.intent.name.to_string(),
            function_calls,
            caller_chunk_samples: call.caller_chunk,
            caller_chunks: call.caller.len() / call.caller_chunk,
            bot_chunks,
            caller_speech: spans(&call.caller_speech),
            bot_speech: spans(&call.bot_speech),
            caller_muted: spans(&call.muted),
            caller_talk_s: secs(total(&call.caller_speech)),
            bot_talk_s: secs(total(&call.bot_speech)),
            overlap_s: secs(overlap(&call.caller_speech, &call.bot_speech)),
            audio_turns: call
                .audio_turns
                .iter()
                .enumerate()
                .map(|(turn, &(ce, bs))| TruthTurn {
                    turn: turn + 1,
                    caller_end_s: secs(ce),
                    bot_start_s: secs(bs),
                    latency_s: secs(bs) - secs(ce),
                })
                .collect(),
            transcript_turns,
            bot_unplayed_s: secs(total(&call.unplayed)),
            bot_unplayed: spans(&call.unplayed),
            barge_ins: call
                .barge_ins
                .iter()
                .map(|b| TruthBargeIn {
                    onset_s: secs(b.onset),
                    yielded_s: secs(b.yielded_at),
                    time_to_yield_s: secs(b.yielded_at) - secs(b.onset),
                })
                .collect(),
            backchannels: spans(&call.backchannels),
            talk_overs: spans(&call.talk_overs),
            early_starts: call.early_starts,
            unanswered_turns: call.unanswered.iter().map(|&t| secs(t)).collect(),
            ended_mid_answer: call.ended_mid_answer,
        }
    }
}
