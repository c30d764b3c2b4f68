//! A deliberately faulty plugin for the tests: it panics on the session
//! named in its config (`{"panic_on": "<session id>"}`), to prove a panic
//! stays inside that call.

use callscope_plugin_sdk::{export_plugin, Call, Needs, Plugin};
use serde_json::{json, Map, Value};

pub struct Panicky {
    panic_on: String,
}

impl Plugin for Panicky {
    const NAME: &'static str = "panicky";
    const VERSION: &'static str = "0.1.0";

    fn columns(&self) -> Vec<String> {
        vec!["ok".into()]
    }

    fn needs() -> Needs {
        Needs::METADATA
    }

    fn init(config: Value) -> Result<Self, String> {
        let panic_on = config["panic_on"].as_str().unwrap_or_default().to_string();
        Ok(Panicky { panic_on })
    }

    fn analyze(&self, call: &Call) -> Result<Map<String, Value>, String> {
        if call.json["session_id"] == self.panic_on.as_str() {
            panic!("this plugin panics on {}", self.panic_on);
        }
        Ok(json!({ "ok": 1 }).as_object().cloned().unwrap_or_default())
    }
}

export_plugin!(Panicky);
