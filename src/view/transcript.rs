//! The transcript on the call's clock, and its three export formats.
//!
//! The recorder stamps an entry when the utterance is done, so an entry's
//! end is its timestamp − the call's start, and its start is the end minus
//! `duration_ms` (when known).

use serde::Serialize;

use crate::recording::redact::redact;
use crate::recording::{format_utc, NameTz, Recording};

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub index: usize,
    /// Call-relative seconds.
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    pub timestamp: Option<String>,
    pub channel: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub text: String,
    pub confidence: Option<f64>,
    pub duration_ms: Option<f64>,
}

impl Line {
    pub fn speaker(&self) -> &str {
        match self.channel.as_str() {
            "caller" => "Caller",
            "bot" => "Bot",
            other => other,
        }
    }

    /// The time shown for the line: its start when known, else its end.
    pub fn at(&self) -> Option<f64> {
        self.start_s.or(self.end_s)
    }
}

fn round_ms(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The transcript's entries as lines on the call's clock.
pub fn lines(rec: &Recording, tz: NameTz) -> Result<Vec<Line>, String> {
    let t = rec
        .transcript()
        .map_err(std::string::ToString::to_string)?
        .ok_or_else(|| format!("{}: no transcript.json", rec.rel))?;
    let start = rec.start_time(tz).map(|s| s.time);
    Ok(t.entries
        .iter()
        .enumerate()
        .map(|(index, e)| {
            let ts = e.timestamp.as_ref().and_then(|t| t.utc);
            let end_s = ts
                .zip(start)
                .map(|(t, s)| round_ms((t - s).num_microseconds().unwrap_or(0) as f64 / 1e6));
            let start_s = end_s
                .zip(e.duration_ms)
                .map(|(end, d)| round_ms((end - d / 1000.0).max(0.0)));
            Line {
                index,
                start_s,
                end_s,
                timestamp: ts.map(|t| format_utc(&t)),
                channel: e.channel.clone().unwrap_or_else(|| "unknown".into()),
                kind: e.kind.clone(),
                text: e.text.clone().unwrap_or_default(),
                confidence: e.confidence,
                duration_ms: e.duration_ms,
            }
        })
        .collect())
}

/// `mm:ss.mmm` (or `h:mm:ss.mmm`).
pub fn clock(s: f64) -> String {
    let ms = (s * 1000.0).round().max(0.0) as u64;
    let (h, m, sec, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    if h > 0 {
        format!("{h}:{m:02}:{sec:02}.{milli:03}")
    } else {
        format!("{m:02}:{sec:02}.{milli:03}")
    }
}

/// WebVTT's `hh:mm:ss.mmm`.
fn vtt_clock(s: f64) -> String {
    let ms = (s * 1000.0).round().max(0.0) as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per entry: clock, speaker, text.
    Txt,
    /// The entries as a JSON array.
    Json,
    /// WebVTT captions on the call's clock.
    Vtt,
}

/// Render the transcript; `redacted` masks personal data in the text.
pub fn export(
    rec: &Recording,
    tz: NameTz,
    format: Format,
    redacted: bool,
) -> Result<String, String> {
    let mut lines = lines(rec, tz)?;
    if redacted {
        for l in &mut lines {
            l.text = redact(&l.text);
        }
    }
    Ok(match format {
        Format::Txt => {
            let mut out = format!("# {}\n", rec.rel);
            for l in &lines {
                let at = l.at().map_or_else(|| "--:--.---".to_string(), clock);
                out.push_str(&format!("[{at}] {}: {}\n", l.speaker(), l.text));
            }
            out
        }
        Format::Json => {
            let v = serde_json::json!({
                "recording": rec.rel,
                "session_id": rec.session_id(),
                "conversation_id": rec.conversation_id(),
                "start_time": rec.start_time(tz).map(|s| format_utc(&s.time)),
                "redacted": redacted,
                "entries": lines,
            });
            let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Vtt => {
            let mut out = String::from("WEBVTT\n\n");
            let mut n = 0;
            for l in &lines {
                let Some(end) = l.end_s else { continue };
                // Without a duration, a cue lasts two seconds (but not into negative time).
                let start = l.start_s.unwrap_or((end - 2.0).max(0.0));
                let end = end.max(start + 0.001);
                n += 1;
                out.push_str(&format!(
                    "{n}\n{} --> {}\n<v {}>{}\n\n",
                    vtt_clock(start),
                    vtt_clock(end),
                    l.speaker(),
                    l.text.replace("-->", "->")
                ));
            }
            out
        }
    })
}
