//! Checks of the three JSON files against what the recorder writes:
//! required fields, types, timestamps, order, channel/type pairs.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::finding::Finding;
use crate::recording::{parse_timestamp, FileKind, Recording};

/// What a field may hold.
#[derive(Clone, Copy, PartialEq)]
enum Ty {
    Str,
    Time,
    Num,
    Int,
    Arr,
    Obj,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::Str => "a string",
            Ty::Time => "a timestamp string",
            Ty::Num => "a number",
            Ty::Int => "a whole number",
            Ty::Arr => "an array",
            Ty::Obj => "an object",
        }
    }

    fn accepts(self, v: &Value) -> bool {
        match self {
            Ty::Str | Ty::Time => v.is_string(),
            Ty::Num => v.is_number(),
            Ty::Int => v.is_u64(),
            Ty::Arr => v.is_array(),
            Ty::Obj => v.is_object(),
        }
    }
}

/// (field, type, may be null)
type Field = (&'static str, Ty, bool);

const TRANSCRIPT: &[Field] = &[
    ("conversation_id", Ty::Str, true),
    ("session_id", Ty::Str, true),
    ("start_time", Ty::Time, false),
    ("end_time", Ty::Time, true),
    ("entries", Ty::Arr, false),
];
const ENTRY: &[Field] = &[
    ("timestamp", Ty::Time, false),
    ("channel", Ty::Str, false),
    ("type", Ty::Str, false),
    ("text", Ty::Str, false),
    ("confidence", Ty::Num, true),
    ("duration_ms", Ty::Num, true),
];
const METADATA: &[Field] = &[
    ("conversation_id", Ty::Str, true),
    ("session_id", Ty::Str, true),
    ("start_time", Ty::Time, false),
    ("end_time", Ty::Time, true),
    ("duration_seconds", Ty::Num, true),
    ("caller_audio_chunks", Ty::Int, false),
    ("bot_audio_chunks", Ty::Int, false),
    ("caller_audio_bytes", Ty::Int, false),
    ("bot_audio_bytes", Ty::Int, false),
    ("caller_audio_duration_seconds", Ty::Num, false),
    ("bot_audio_duration_seconds", Ty::Num, false),
    ("transcript_entries", Ty::Int, false),
    ("function_calls", Ty::Arr, false),
];
const FUNCTION_CALL: &[Field] = &[
    ("timestamp", Ty::Time, false),
    ("function_name", Ty::Str, false),
    ("arguments", Ty::Obj, true),
    ("result", Ty::Obj, true),
    ("call_id", Ty::Str, true),
];
const EVENTS: &[Field] = &[
    ("conversation_id", Ty::Str, true),
    ("session_id", Ty::Str, true),
    ("events", Ty::Arr, false),
];
const EVENT: &[Field] = &[
    ("timestamp", Ty::Time, false),
    ("event_type", Ty::Str, false),
    ("data", Ty::Obj, true),
];

/// How far from its start a call's timestamps may lie, and how far in the
/// future a start may be (clocks differ, zones get mixed up): no call lasts
/// a day.
const A_DAY: chrono::TimeDelta = chrono::TimeDelta::days(1);

struct Ctx<'a> {
    kind: FileKind,
    out: &'a mut Vec<Finding>,
    /// The call's start, as its metadata (or transcript) says.
    start: Option<DateTime<Utc>>,
    /// Metadata that repair rebuilt may hold null where nothing could be known.
    lenient_nulls: bool,
}

impl Ctx<'_> {
    fn push(&mut self, code: &'static str, message: String) {
        self.out.push(Finding::new(
            code,
            Some(self.kind),
            format!("{}: {message}", self.kind.file_name()),
        ));
    }

    /// Check an object's fields; returns the parsed timestamps by field name.
    fn fields(
        &mut self,
        obj: &Value,
        schema: &[Field],
        at: &str,
    ) -> Vec<(&'static str, DateTime<Utc>)> {
        let mut times = Vec::new();
        let Some(map) = obj.as_object() else {
            self.push(
                crate::check::code::JSON_FIELD_TYPE,
                format!("{at} is not an object"),
            );
            return times;
        };
        for &(name, ty, nullable) in schema {
            match map.get(name) {
                None => self.push(
                    crate::check::code::JSON_FIELD_MISSING,
                    format!("{at}{name} is missing"),
                ),
                Some(Value::Null) if nullable || self.lenient_nulls => {}
                Some(v) if !ty.accepts(v) => self.push(
                    crate::check::code::JSON_FIELD_TYPE,
                    format!("{at}{name} should be {}, found {}", ty.name(), short(v)),
                ),
                Some(v) if ty == Ty::Time => match v.as_str().and_then(parse_timestamp) {
                    Some(t) => times.push((name, t)),
                    None => self.push(
                        crate::check::code::JSON_TIMESTAMP,
                        format!("{at}{name} {v} is not a timestamp"),
                    ),
                },
                Some(_) => {}
            }
        }
        times
    }

    /// A start in the future, a duration over a day.
    fn time_range(&mut self, obj: &Value, times: &[(&str, DateTime<Utc>)]) {
        let start = times
            .iter()
            .find(|(k, _)| *k == "start_time")
            .map(|(_, t)| *t);
        if let Some(s) = start.filter(|s| *s > Utc::now() + A_DAY) {
            self.push(
                crate::check::code::JSON_TIME_RANGE,
                format!("start_time {s} is in the future: the call's age, and retention, cannot be measured from it"),
            );
        }
        let duration = obj.get("duration_seconds").and_then(Value::as_f64);
        if let Some(d) = duration.filter(|d| !(0.0..=A_DAY.as_seconds_f64()).contains(d)) {
            self.push(
                crate::check::code::JSON_TIME_RANGE,
                format!("duration_seconds {d} is not the length of a call"),
            );
        }
    }

    fn end_after_start(&mut self, times: &[(&str, DateTime<Utc>)]) {
        let get = |n| times.iter().find(|(k, _)| *k == n).map(|(_, t)| *t);
        if let (Some(s), Some(e)) = (get("start_time"), get("end_time")) {
            if e < s {
                self.push(
                    crate::check::code::JSON_END_BEFORE_START,
                    format!("end_time {e} is before start_time {s}"),
                );
            }
        }
    }

    /// Items of an array field, each checked against `schema`; warns once when
    /// their timestamps go backwards.
    fn items(&mut self, root: &Value, field: &str, item: &'static str, schema: &[Field]) {
        let Some(list) = root.get(field).and_then(Value::as_array) else {
            return;
        };
        let mut last: Option<DateTime<Utc>> = None;
        let mut reported_order = false;
        let mut reported_range = false;
        for (i, v) in list.iter().enumerate() {
            let times = self.fields(v, schema, &format!("{item} {i}: "));
            if let Some((_, t)) = times.first() {
                let far = self.start.is_some_and(|s| (*t - s).abs() > A_DAY);
                if far && !reported_range {
                    self.push(
                        crate::check::code::JSON_TIME_RANGE,
                        format!("{item} {i} ({t}) is more than a day from the call's start"),
                    );
                    reported_range = true;
                }
                if last.is_some_and(|l| *t < l) && !reported_order {
                    self.push(
                        crate::check::code::JSON_ORDER,
                        format!("{item} {i} ({t}) is earlier than the one before it"),
                    );
                    reported_order = true;
                }
                last = Some(*t);
            }
            if item == "entry" {
                let ch = v.get("channel").and_then(Value::as_str);
                let ty = v.get("type").and_then(Value::as_str);
                let expected = match ch {
                    Some("caller") => Some("input"),
                    Some("bot") => Some("output"),
                    Some(other) => {
                        self.push(
                            crate::check::code::JSON_FIELD_TYPE,
                            format!("entry {i}: channel \"{other}\" is neither caller nor bot"),
                        );
                        None
                    }
                    None => None,
                };
                if let (Some(want), Some(got)) = (expected, ty) {
                    if want != got {
                        self.push(
                            crate::check::code::JSON_CHANNEL_TYPE,
                            format!(
                                "entry {i}: a {} entry has type \"{got}\" (expected \"{want}\")",
                                ch.unwrap_or("")
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// A value, shortened for a message.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// Check every JSON file the recording has.
pub fn check_json(rec: &Recording, out: &mut Vec<Finding>) {
    // The call's start, which every timestamp in the three files is near.
    let start = [FileKind::Metadata, FileKind::Transcript]
        .into_iter()
        .find_map(|k| {
            let v = rec.json(k).ok()??;
            parse_timestamp(v.get("start_time")?.as_str()?)
        });
    for kind in [FileKind::Transcript, FileKind::Metadata, FileKind::Events] {
        let value = match rec.json(kind) {
            Ok(Some(v)) => v,
            Ok(None) => continue,
            Err(crate::Error::Json {
                line,
                column,
                message,
                ..
            }) => {
                out.push(Finding::new(
                    crate::check::code::JSON_PARSE,
                    Some(kind),
                    format!(
                        "{}: invalid JSON at line {line}, column {column}: {message}",
                        kind.file_name()
                    ),
                ));
                continue;
            }
            Err(e @ crate::Error::TooLarge { .. }) => {
                out.push(Finding::new(
                    crate::check::code::JSON_TOO_LARGE,
                    Some(kind),
                    e.to_string(),
                ));
                continue;
            }
            Err(e) => {
                out.push(Finding::new(
                    crate::check::code::FILE_UNREADABLE,
                    Some(kind),
                    e.to_string(),
                ));
                continue;
            }
        };
        let lenient_nulls =
            kind == FileKind::Metadata && value.get("recovered") == Some(&Value::Bool(true));
        let mut ctx = Ctx {
            kind,
            out,
            start,
            lenient_nulls,
        };
        match kind {
            FileKind::Transcript => {
                let t = ctx.fields(value, TRANSCRIPT, "");
                ctx.time_range(value, &t);
                ctx.end_after_start(&t);
                ctx.items(value, "entries", "entry", ENTRY);
            }
            FileKind::Metadata => {
                let t = ctx.fields(value, METADATA, "");
                ctx.time_range(value, &t);
                ctx.end_after_start(&t);
                ctx.items(value, "function_calls", "function call", FUNCTION_CALL);
            }
            _ => {
                ctx.fields(value, EVENTS, "");
                ctx.items(value, "events", "event", EVENT);
            }
        }
    }
}
