//! One call as the analyzers see it: the recording, and what was loaded for
//! them, each thing at most once and only when an analyzer asks.

use std::sync::OnceLock;

use super::vad::{self, Echo, Span, VadKind};
use crate::audio::{self, Wav};
use crate::recording::{FileKind, NameTz, Recording, State};
use crate::timeline::{self, Timeline};

pub struct CallContext<'a> {
    pub rec: &'a Recording,
    pub vad: VadKind,
    /// The call's status from the checks the run made, when known.
    pub status: Option<crate::check::Status>,
    /// The call's state, when known.
    pub state: Option<State>,
    /// The zone of the recorder's clock (`--name-tz`), for start times
    /// taken from directory names.
    pub name_tz: NameTz,
    caller: OnceLock<Result<Wav, String>>,
    bot: OnceLock<Result<Wav, String>>,
    /// The bot track placed on the call's clock, before what the caller
    /// heard of it is decided.
    placed: OnceLock<Result<(Timeline, u64), String>>,
    timeline: OnceLock<Result<Timeline, String>>,
    echo: OnceLock<Option<Echo>>,
    caller_speech: OnceLock<Result<Vec<Span>, String>>,
    bot_speech: OnceLock<Result<Vec<Span>, String>>,
}

impl<'a> CallContext<'a> {
    pub fn new(rec: &'a Recording, vad: VadKind) -> CallContext<'a> {
        CallContext {
            rec,
            vad,
            status: None,
            state: None,
            name_tz: NameTz::default(),
            caller: OnceLock::new(),
            bot: OnceLock::new(),
            placed: OnceLock::new(),
            timeline: OnceLock::new(),
            echo: OnceLock::new(),
            caller_speech: OnceLock::new(),
            bot_speech: OnceLock::new(),
        }
    }

    fn load(&self, kind: FileKind) -> Result<Wav, String> {
        if !self.rec.has(kind) {
            return Err(format!("{}: missing", kind.file_name()));
        }
        let path = self.rec.path(kind);
        // The header first: a damaged rate must not reach the resampler.
        let info = audio::read_info(&path).map_err(|e| format!("{}: {e}", kind.file_name()))?;
        if !info.rate_plausible() {
            return Err(format!(
                "{}: sample rate {} Hz is not a telephony rate (wav.rate_invalid)",
                kind.file_name(),
                info.sample_rate
            ));
        }
        let wav = audio::read_wav(&path).map_err(|e| format!("{}: {e}", kind.file_name()))?;
        if wav.info.channels != 1 || wav.samples.is_empty() {
            return Err(format!("{}: no usable mono samples", kind.file_name()));
        }
        Ok(wav)
    }

    /// The caller track (the call's clock).
    pub fn caller(&self) -> Result<&Wav, &str> {
        self.caller
            .get_or_init(|| self.load(FileKind::CallerAudio))
            .as_ref()
            .map_err(String::as_str)
    }

    /// The bot track (speech only, back to back).
    pub fn bot(&self) -> Result<&Wav, &str> {
        self.bot
            .get_or_init(|| self.load(FileKind::BotAudio))
            .as_ref()
            .map_err(String::as_str)
    }

    /// The call's sample rate: the caller track's.
    pub fn rate(&self) -> Option<u32> {
        self.caller().ok().map(|w| w.info.sample_rate)
    }

    /// The bot track on the caller's clock, from `stereo_recording.wav`,
    /// as the caller heard it (answers cut short by a barge-in or by the
    /// end of the call, decided with the caller's speech).
    pub fn timeline(&self) -> Result<&Timeline, &str> {
        self.timeline
            .get_or_init(|| {
                let (placed, chunk) = self.placed()?;
                let mut tl = placed.clone();
                let caller = self.caller().map_err(str::to_string)?;
                let bot = self.bot().map_err(str::to_string)?;
                let speech = self.caller_speech().map_err(str::to_string)?;
                tl.hear(speech, &bot.samples, caller.info.sample_rate, *chunk);
                Ok(tl)
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Every bot chunk the recorder received, where it played on the
    /// call's clock, from `stereo_recording.wav`, and the caller chunk
    /// size it was placed with.
    fn placed(&self) -> Result<&(Timeline, u64), String> {
        self.placed
            .get_or_init(|| {
                if !self.rec.has(FileKind::Stereo) {
                    return Err("stereo_recording.wav is missing: bot speech cannot be placed on the call's clock".into());
                }
                let chunk = timeline::caller_chunk_frames(self.rec).ok_or("caller_audio.wav is unreadable")?;
                let caller = self.caller().map_err(str::to_string)?;
                let bot = self.bot().map_err(str::to_string)?;
                let tl = timeline::recover_with(&self.rec.path(FileKind::Stereo), &caller.samples, &bot.samples, chunk)
                    .map_err(|e| format!("{e}: bot speech cannot be placed on the call's clock"))?;
                Ok((tl, chunk))
            })
            .as_ref()
            .map_err(String::clone)
    }

    /// The bot's voice coming back on the caller's line, if the caller
    /// track carries a measurable echo of it. Every received chunk counts
    /// as played here (what was cut short is decided from the caller's
    /// speech, which needs this first): where a barge-in stopped the bot,
    /// the caller is speaking, far above any echo predicted.
    pub fn echo(&self) -> Option<&Echo> {
        self.echo
            .get_or_init(|| {
                let caller = self.caller().ok()?;
                let bot = self.bot().ok()?;
                let reference = self.placed().ok()?.0.played(&bot.samples);
                Echo::estimate(&caller.samples, &reference, caller.info.sample_rate)
            })
            .as_ref()
    }

    /// The caller's speech on the call's clock.
    pub fn caller_speech(&self) -> Result<&[Span], &str> {
        self.caller_speech
            .get_or_init(|| {
                let w = self.caller().map_err(str::to_string)?;
                let echo = self.echo();
                Ok(vad::detect_beside_echo(
                    &w.samples,
                    w.info.sample_rate,
                    self.vad,
                    echo,
                ))
            })
            .as_ref()
            .map(Vec::as_slice)
            .map_err(String::as_str)
    }

    /// The bot's speech on its own track (not yet on the call's clock).
    pub fn bot_speech_track(&self) -> Result<&[Span], &str> {
        self.bot_speech
            .get_or_init(|| {
                let w = self.bot().map_err(str::to_string)?;
                Ok(vad::detect_tts(&w.samples, w.info.sample_rate))
            })
            .as_ref()
            .map(Vec::as_slice)
            .map_err(String::as_str)
    }

    /// The bot's speech on the call's clock (needs the timeline). A span the
    /// VAD drew across two turns (they are adjacent on the bot track) is
    /// split where playback jumps, and each piece loses the digital silence
    /// at its edges (the tail of one answer, the lead of the next).
    pub fn bot_speech(&self) -> Result<Vec<Span>, String> {
        let spans = self.bot_speech_track().map_err(str::to_string)?;
        let tl = self.timeline().map_err(str::to_string)?;
        let bot = &self.bot().map_err(str::to_string)?.samples;
        Ok(on_call_clock(spans, tl, bot))
    }

    /// Seconds from a count of samples at the call's rate.
    pub fn seconds(&self, samples: u64) -> Option<f64> {
        self.rate().map(|r| samples as f64 / f64::from(r))
    }
}

/// The bot track's speech `spans` where they played on the call's clock,
/// each piece without the digital silence at its edges.
fn on_call_clock(spans: &[Span], tl: &Timeline, bot: &[i16]) -> Vec<Span> {
    let mut out = Vec::new();
    for ((a, b), (call_a, _)) in spans.iter().flat_map(|s| tl.map_span(*s)) {
        let piece = &bot[a as usize..b as usize];
        let Some(first) = piece.iter().position(|x| *x != 0) else {
            continue;
        };
        let last = piece.iter().rposition(|x| *x != 0).unwrap_or(first);
        out.push((call_a + first as u64, call_a + last as u64 + 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::BotSegment;

    #[test]
    fn bot_speech_is_placed_where_it_played_without_its_silent_edges() {
        // Two answers: bot samples 0..100 played from 1000, 100..200 from
        // 5000 but cut after 60; 200..300 from 9000.
        let seg = |bot_start, play_start, heard| BotSegment {
            bot_start,
            len: 100,
            arrival: 0,
            play_start,
            heard,
        };
        let tl = Timeline {
            segments: vec![seg(0, 1000, 100), seg(100, 5000, 60), seg(200, 9000, 100)],
            caller_len: 10_000,
            bot_len: 300,
            answers: Vec::new(),
        };
        let mut bot = vec![0i16; 300];
        bot[10..90].fill(500); // the first answer's speech
        bot[110..190].fill(500); // the second's, cut at 160
        bot[210..300].fill(500); // the third's, after 10 zeros

        // One VAD span across the first two (adjacent on the track), one
        // over the unplayed rest and the third's silent lead.
        let spans = [(0, 200), (190, 205)];
        assert_eq!(
            on_call_clock(&spans, &tl, &bot),
            [(1010, 1090), (5010, 5060)]
        );
        // A piece whose speech is one sample.
        bot[205] = 1;
        assert_eq!(on_call_clock(&[(200, 207)], &tl, &bot), [(9005, 9006)]);
    }
}
