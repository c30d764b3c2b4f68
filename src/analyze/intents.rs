//! `intents`: the bot's function calls and the callers' intents, from
//! `call_metadata.json` (or the `function_call` events when the metadata is
//! absent). A call failed when its result's status is not "success" or the
//! result carries an error.

use super::{Analyzer, CallContext, CallOutput, Cell, Needs, RunSummary, Stats, Table};
use crate::recording::FunctionCall;

pub struct Intents;

const TABLE: &str = "intents.csv";

fn failed(c: &FunctionCall) -> bool {
    c.result.as_ref().is_some_and(|r| {
        r.get("error").is_some_and(|e| !e.is_null())
            || r.get("status")
                .and_then(|s| s.as_str())
                .is_some_and(|s| s != "success")
    })
}

impl Analyzer for Intents {
    fn name(&self) -> &str {
        "intents"
    }

    fn columns(&self) -> Vec<String> {
        ["function_calls", "intents", "failed"]
            .iter()
            .map(|c| format!("intents_{c}"))
            .collect()
    }

    fn needs(&self) -> Needs {
        Needs {
            metadata: true,
            events: true,
            ..Needs::default()
        }
    }

    fn analyze(&self, call: &CallContext) -> Result<CallOutput, String> {
        let calls = call
            .rec
            .function_calls()
            .ok_or("neither call_metadata.json nor session_events.json lists the function calls")?;
        let mut out = CallOutput::default();
        let intents: Vec<&str> = calls.iter().filter_map(FunctionCall::intent).collect();
        out.set("intents_function_calls", Cell::Int(calls.len() as i64));
        out.set("intents_intents", Cell::Text(intents.join(";")));
        out.set(
            "intents_failed",
            Cell::Int(calls.iter().filter(|c| failed(c)).count() as i64),
        );
        let mut seen = std::collections::BTreeSet::new();
        for c in &calls {
            let name = c.function_name.as_deref().unwrap_or("(unnamed)");
            let mut entries = vec![("function", name)];
            entries.extend(c.intent().map(|i| ("intent", i)));
            for (kind, n) in entries {
                out.stats.tally("calls", &[kind, n], 1.0);
                if failed(c) {
                    out.stats.tally("failed", &[kind, n], 1.0);
                }
                if seen.insert((kind, n)) {
                    out.stats.tally("recordings", &[kind, n], 1.0);
                }
            }
        }
        Ok(out)
    }

    fn summarize(&self, stats: &Stats, _calls: usize) -> RunSummary {
        let mut rows: Vec<(String, String, i64, i64, i64)> = Vec::new();
        for (key, calls) in stats.tallies("calls") {
            let [kind, name] = key else { continue };
            let n = |what| stats.tallied(what, &[kind, name]) as i64;
            rows.push((
                kind.clone(),
                name.clone(),
                calls as i64,
                n("recordings"),
                n("failed"),
            ));
        }
        // Most called first, then by name; functions before intents on a tie.
        rows.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then_with(|| a.1.cmp(&b.1))
                .then_with(|| a.0.cmp(&b.0))
        });
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| serde_json::json!({"kind": r.0, "name": r.1, "calls": r.2, "recordings": r.3, "failed": r.4}))
            .collect();
        let table = Table {
            file: TABLE.to_string(),
            header: ["kind", "name", "calls", "recordings", "failed"]
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            rows: rows
                .into_iter()
                .map(|r| {
                    vec![
                        Cell::Text(r.0),
                        Cell::Text(r.1),
                        Cell::Int(r.2),
                        Cell::Int(r.3),
                        Cell::Int(r.4),
                    ]
                })
                .collect(),
        };
        RunSummary {
            json: serde_json::json!({ "table": json }),
            tables: vec![table],
        }
    }
}
