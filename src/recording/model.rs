//! Typed models of the three JSON files, lenient in what they accept: every
//! field is optional, unknown fields are ignored, `null` is taken for absent.
//! They serialise back in the recorder's field order, so the simulator and
//! repair write what the recorder would have written.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::timestamp::Timestamp;

/// A field of the wrong type reads as absent: one bad value does not make
/// the rest of the file unusable (`check` reports it).
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

/// `null`, or anything but a list of the right items, is an empty list.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(lenient::<D, Vec<T>>(d)?.unwrap_or_default())
}

/// `transcript.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transcript {
    #[serde(default, deserialize_with = "lenient")]
    pub conversation_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub session_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub start_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient")]
    pub end_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub entries: Vec<TranscriptEntry>,
}

/// One utterance in the transcript.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TranscriptEntry {
    #[serde(default, deserialize_with = "lenient")]
    pub timestamp: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient")]
    pub channel: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub confidence: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub duration_ms: Option<f64>,
}

impl TranscriptEntry {
    pub fn is_caller(&self) -> bool {
        self.channel.as_deref() == Some("caller")
    }

    pub fn is_bot(&self) -> bool {
        self.channel.as_deref() == Some("bot")
    }
}

impl Transcript {
    /// Conversational turns: maximal runs of consecutive entries from the
    /// same channel (a caller who speaks twice before the bot answers takes
    /// one turn).
    pub fn turns(&self) -> usize {
        let mut turns = 0;
        let mut last: Option<&str> = None;
        for e in &self.entries {
            let ch = e.channel.as_deref();
            if ch != last {
                turns += 1;
                last = ch;
            }
        }
        turns
    }
}

/// `call_metadata.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CallMetadata {
    #[serde(default, deserialize_with = "lenient")]
    pub conversation_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub session_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub start_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient")]
    pub end_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient")]
    pub duration_seconds: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub caller_audio_chunks: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub bot_audio_chunks: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub caller_audio_bytes: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub bot_audio_bytes: Option<u64>,
    /// The recorder computes this as bytes / 32000 whatever the real rate.
    #[serde(default, deserialize_with = "lenient")]
    pub caller_audio_duration_seconds: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub bot_audio_duration_seconds: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub transcript_entries: Option<u64>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub function_calls: Vec<FunctionCall>,
    /// Set by callscope when it rebuilt the file from the audio of a crashed call.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub recovered: Option<bool>,
}

/// One function (tool) call the bot made.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FunctionCall {
    #[serde(default, deserialize_with = "lenient")]
    pub timestamp: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient")]
    pub function_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub arguments: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    pub result: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    pub call_id: Option<String>,
}

impl FunctionCall {
    /// `arguments.intent` when it is a string.
    pub fn intent(&self) -> Option<&str> {
        self.arguments.as_ref()?.get("intent")?.as_str()
    }

    /// Read a function call out of a `function_call` session event's data.
    pub fn from_event_data(data: &Value) -> Option<FunctionCall> {
        serde_json::from_value(data.clone()).ok()
    }
}

/// `session_events.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionEvents {
    #[serde(default, deserialize_with = "lenient")]
    pub conversation_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub session_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub events: Vec<SessionEvent>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionEvent {
    #[serde(default, deserialize_with = "lenient")]
    pub timestamp: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub data: Option<Value>,
}

impl SessionEvents {
    /// The function calls logged as `function_call` events.
    pub fn function_calls(&self) -> Vec<FunctionCall> {
        self.events
            .iter()
            .filter(|e| e.event_type.as_deref() == Some("function_call"))
            .filter_map(|e| e.data.as_ref().and_then(FunctionCall::from_event_data))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_recorder_output_with_nulls_and_extras() {
        let t: Transcript = serde_json::from_str(
            r#"{"conversation_id":"c","session_id":"s",
                "start_time":"2024-12-01T14:30:22.123456+00:00","end_time":null,
                "extra":{"x":1},
                "entries":[
                  {"timestamp":"2024-12-01T14:30:25.123456Z","channel":"caller","type":"input",
                   "text":"hi","confidence":0.95,"duration_ms":2500},
                  {"timestamp":"2024-12-01T14:30:27.654321","channel":"bot","type":"output",
                   "text":"hello","confidence":null,"duration_ms":null},
                  {"channel":"bot","text":"more"}]}"#,
        )
        .unwrap();
        assert_eq!(t.entries.len(), 3);
        assert!(t.end_time.is_none());
        assert_eq!(t.entries[0].confidence, Some(0.95));
        assert_eq!(t.entries[1].duration_ms, None);
        assert!(t.entries[1].timestamp.as_ref().unwrap().utc.is_some());
        assert_eq!(t.turns(), 2);

        let m: CallMetadata = serde_json::from_str(
            r#"{"start_time":"2024-12-01T14:30:22Z","duration_seconds":null,"function_calls":null}"#,
        )
        .unwrap();
        assert!(m.function_calls.is_empty());
        assert!(m.duration_seconds.is_none());
    }

    #[test]
    fn a_field_of_the_wrong_type_reads_as_absent() {
        let e: TranscriptEntry = serde_json::from_str(
            r#"{"channel":"caller","confidence":"high","duration_ms":[1],"timestamp":5}"#,
        )
        .unwrap();
        assert_eq!(e.channel.as_deref(), Some("caller"));
        assert_eq!(e.confidence, None);
        assert_eq!(e.duration_ms, None);
        assert!(e.timestamp.is_none());
        let t: Transcript = serde_json::from_str(r#"{"entries":{"not":"a list"}}"#).unwrap();
        assert!(t.entries.is_empty());
    }

    #[test]
    fn unparseable_timestamp_keeps_the_text() {
        let e: TranscriptEntry = serde_json::from_str(r#"{"timestamp":"soon"}"#).unwrap();
        let ts = e.timestamp.unwrap();
        assert_eq!(ts.raw, "soon");
        assert!(ts.utc.is_none());
    }

    #[test]
    fn function_calls_come_out_of_events() {
        let ev: SessionEvents = serde_json::from_str(
            r#"{"events":[
                {"timestamp":"2024-12-01T14:30:22Z","event_type":"recording_started","data":{}},
                {"timestamp":"2024-12-01T14:30:35Z","event_type":"function_call",
                 "data":{"function_name":"call_intent","arguments":{"intent":"card_replacement"},
                         "result":{"status":"success"},"call_id":"c1"}}]}"#,
        )
        .unwrap();
        let calls = ev.function_calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].intent(), Some("card_replacement"));
    }
}
