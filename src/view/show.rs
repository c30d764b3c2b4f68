//! `callscope show`: one call, the way a person reads it.

use std::io::IsTerminal;

use serde_json::{json, Value};

use super::transcript::{self, clock, Line};
use crate::check::{check_recording, RecordingCheck};
use crate::recording::{format_utc, FileKind, ModelOptions, Recording};
use crate::style;

/// Which sections to show after the summary.
#[derive(Debug, Clone, Copy)]
pub struct Sections {
    pub transcript: bool,
    pub functions: bool,
    pub events: bool,
}

fn audio_s(rec: &Recording, k: FileKind) -> Option<f64> {
    rec.wav_info(k)
        .ok()
        .flatten()
        .map(|i| (i.duration_s() * 1000.0).round() / 1000.0)
}

fn relative(
    rec: &Recording,
    model: &ModelOptions,
    ts: Option<&crate::recording::Timestamp>,
) -> Option<f64> {
    let start = rec.start_time(model.name_tz)?.time;
    let t = ts?.utc?;
    Some((t - start).num_milliseconds() as f64 / 1000.0)
}

/// Everything `show --json` prints.
pub fn details(
    rec: &Recording,
    model: &ModelOptions,
    check: &RecordingCheck,
    sections: Sections,
) -> Value {
    let meta = rec.metadata().ok().flatten();
    let start = rec.start_time(model.name_tz);
    let end = meta.and_then(|m| m.end_time.as_ref()?.utc).or_else(|| {
        start
            .zip(rec.duration_s())
            .map(|(s, d)| s.time + chrono::Duration::milliseconds((d * 1000.0) as i64))
    });
    let calls = rec.function_calls();
    let mut v = json!({
        "recording": rec.rel,
        "directory": rec.dir.display().to_string(),
        "session_id": rec.session_id(),
        "conversation_id": rec.conversation_id(),
        "start_time": start.map(|s| format_utc(&s.time)),
        "start_source": start.map(|s| s.source),
        "end_time": end.map(|t| format_utc(&t)),
        "duration_s": rec.duration_s().map(|d| (d * 1000.0).round() / 1000.0),
        "sample_rate": rec.sample_rate(),
        "audio_s": {
            "caller": audio_s(rec, FileKind::CallerAudio),
            "bot": audio_s(rec, FileKind::BotAudio),
            "stereo": audio_s(rec, FileKind::Stereo),
            "final": audio_s(rec, FileKind::FinalStereo),
        },
        "turns": rec.transcript().ok().flatten().map(super::super::recording::model::Transcript::turns),
        "function_call_count": calls.as_ref().map(Vec::len),
        "state": check.state,
        "check": { "status": check.status, "findings": check.findings },
    });
    if sections.transcript {
        v["transcript"] = match transcript::lines(rec, model.name_tz) {
            Ok(l) => serde_json::to_value(l).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
    }
    if sections.functions {
        v["function_calls"] = calls.map_or(Value::Null, |c| {
            c.iter()
                .map(|f| {
                    json!({
                        "at_s": relative(rec, model, f.timestamp.as_ref()),
                        "function_name": f.function_name,
                        "arguments": f.arguments,
                        "result": f.result,
                        "call_id": f.call_id,
                    })
                })
                .collect()
        });
    }
    if sections.events {
        v["events"] = rec.events().ok().flatten().map_or(Value::Null, |e| {
            e.events
                .iter()
                .map(|ev| json!({"at_s": relative(rec, model, ev.timestamp.as_ref()), "event_type": ev.event_type, "data": ev.data}))
                .collect()
        });
    }
    v
}

/// Wrap `text` to `width` columns, continuation lines indented by `indent`.
fn wrap(text: &str, indent: usize, width: Option<usize>) -> String {
    let Some(width) = width.filter(|w| *w > indent + 20) else {
        return text.to_string();
    };
    let room = width - indent;
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > room {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out
}

/// Colour, or none (the browser draws its own).
struct Paint {
    color: bool,
}

impl Paint {
    fn paint(&self, style: anstyle::Style, s: &str) -> String {
        if self.color {
            style::paint(style, s)
        } else {
            s.to_string()
        }
    }
}

fn fmt_opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |x| x.to_string())
}

/// The human view, for stdout: wrapped on a terminal, coloured (the
/// stream drops the colour where it is not wanted).
pub fn render(rec: &Recording, model: &ModelOptions, sections: Sections) -> String {
    let width = if std::io::stdout().is_terminal() {
        crossterm::terminal::size()
            .ok()
            .map(|(w, _)| usize::from(w))
    } else {
        None
    };
    render_with(rec, model, sections, true, width)
}

/// The human view with explicit colour and width (the browser draws it itself).
pub fn render_with(
    rec: &Recording,
    model: &ModelOptions,
    sections: Sections,
    color: bool,
    width: Option<usize>,
) -> String {
    let check = check_recording(rec, model);
    let d = details(rec, model, &check, sections);
    let st = Paint { color };
    let mut out = String::new();
    // Padded first, then painted: the codes take no columns.
    let row = |out: &mut String, k: &str, v: String| {
        out.push_str(&format!(
            "{}{v}\n",
            st.paint(style::LABEL, &format!("{k:<13}"))
        ));
    };
    row(&mut out, "Recording", rec.rel.clone());
    row(&mut out, "Session", rec.session_id());
    row(&mut out, "Conversation", fmt_opt(rec.conversation_id()));
    row(
        &mut out,
        "Start (UTC)",
        format!(
            "{} ({})",
            d["start_time"].as_str().unwrap_or("-"),
            d["start_source"].as_str().unwrap_or("-")
        ),
    );
    row(
        &mut out,
        "End (UTC)",
        d["end_time"].as_str().unwrap_or("-").to_string(),
    );
    row(
        &mut out,
        "Duration",
        d["duration_s"]
            .as_f64()
            .map_or("-".into(), |x| format!("{x:.1} s")),
    );
    row(
        &mut out,
        "Sample rate",
        d["sample_rate"]
            .as_u64()
            .map_or("-".into(), |x| format!("{x} Hz")),
    );
    let a = &d["audio_s"];
    let secs = |k: &str| a[k].as_f64().map_or("-".into(), |x| format!("{x:.2} s"));
    row(
        &mut out,
        "Audio",
        format!(
            "caller {}, bot {}, real-time {}, final {}",
            secs("caller"),
            secs("bot"),
            secs("stereo"),
            secs("final")
        ),
    );
    row(&mut out, "Turns", fmt_opt(d["turns"].as_u64()));
    row(
        &mut out,
        "Functions",
        fmt_opt(d["function_call_count"].as_u64()),
    );
    row(&mut out, "State", check.state.as_str().to_string());
    let status = st.paint(
        crate::check::render::status_style(check.status),
        check.status.as_str(),
    );
    row(
        &mut out,
        "Check",
        format!("{status} ({} finding(s))", check.findings.len()),
    );
    for f in &check.findings {
        out.push_str(&format!(
            "             {} {} {}\n",
            f.severity.as_str(),
            f.code,
            wrap(&f.message, 13, width)
        ));
    }
    if sections.transcript {
        out.push_str(&format!("\n{}\n", st.paint(style::LABEL, "Transcript")));
        match transcript::lines(rec, model.name_tz) {
            Ok(lines) => {
                for l in &lines {
                    out.push_str(&transcript_row(l, &st, width));
                }
            }
            Err(e) => out.push_str(&format!("  (unavailable: {e})\n")),
        }
    }
    if sections.functions {
        out.push_str(&format!("\n{}\n", st.paint(style::LABEL, "Function calls")));
        match d["function_calls"].as_array() {
            Some(calls) if !calls.is_empty() => {
                for c in calls {
                    let at = c["at_s"].as_f64().map_or("--:--.---".into(), clock);
                    let line = format!(
                        "{} {} -> {}",
                        c["arguments"],
                        c["result"],
                        c["call_id"].as_str().unwrap_or("")
                    );
                    out.push_str(&format!(
                        "  [{at}] {} {}\n",
                        st.paint(style::FUNCTION, c["function_name"].as_str().unwrap_or("?")),
                        wrap(&line, 14, width)
                    ));
                }
            }
            Some(_) => out.push_str("  (none)\n"),
            None => out.push_str("  (unavailable)\n"),
        }
    }
    if sections.events {
        out.push_str(&format!("\n{}\n", st.paint(style::LABEL, "Session events")));
        for e in d["events"].as_array().into_iter().flatten() {
            let at = e["at_s"].as_f64().map_or("--:--.---".into(), clock);
            out.push_str(&format!(
                "  [{at}] {} {}\n",
                e["event_type"].as_str().unwrap_or("?"),
                e["data"]
            ));
        }
    }
    out
}

fn transcript_row(l: &Line, st: &Paint, width: Option<usize>) -> String {
    let at = l.at().map_or_else(|| "--:--.---".to_string(), clock);
    let who = format!("{:<7}", l.speaker());
    let who = if l.channel == "caller" {
        st.paint(style::CALLER, &who)
    } else {
        st.paint(style::BOT, &who)
    };
    format!("  [{at}] {who} {}\n", wrap(&l.text, 22, width))
}
