use callscope_plugin_sdk::{export_plugin, Call, Needs, Plugin};
use serde_json::{json, Map, Value};

/// Words spoken by each party, from the transcript.
pub struct Words;

impl Plugin for Words {
    const NAME: &'static str = "words";
    const VERSION: &'static str = "1.0.0";

    fn columns(&self) -> Vec<String> {
        vec!["caller".into(), "bot".into()]
    }

    fn needs() -> Needs {
        Needs::TRANSCRIPT
    }

    fn init(_config: Value) -> Result<Self, String> {
        Ok(Words)
    }

    fn analyze(&self, call: &Call) -> Result<Map<String, Value>, String> {
        // No transcript is no count, not zero words. An error leaves the
        // cells empty; its message names the file it is about, so the run
        // files it under that file's finding.
        if call.json["transcript"].is_null() {
            return Err("transcript.json: not available".into());
        }
        let count = |who: &str| -> usize {
            call.entries()
                .filter(|e| e["channel"] == who)
                .map(|e| e["text"].as_str().unwrap_or("").split_whitespace().count())
                .sum()
        };
        let cells = json!({ "caller": count("caller"), "bot": count("bot") });
        Ok(cells.as_object().cloned().unwrap_or_default())
    }
}

export_plugin!(Words);
