//! `retention` (with `run --policy FILE`): what the next prune will do to
//! each call, so the nightly report shows it. It only decides; `prune`
//! applies.

use chrono::{DateTime, Utc};

use super::{Analyzer, CallContext, CallOutput, Cell, Needs, RunSummary, Stats};
use crate::recording::{format_utc, ModelOptions};
use crate::retention::{Policy, RecordingFacts, Verdict};

pub struct Retention {
    pub policy: Policy,
    pub model: ModelOptions,
    pub now: DateTime<Utc>,
}

impl Analyzer for Retention {
    fn name(&self) -> &str {
        "retention"
    }

    fn columns(&self) -> Vec<String> {
        ["rule", "action", "due"]
            .iter()
            .map(|c| format!("retention_{c}"))
            .collect()
    }

    fn needs(&self) -> Needs {
        Needs {
            metadata: true,
            transcript: true,
            events: true,
            ..Needs::default()
        }
    }

    fn analyze(&self, call: &CallContext) -> Result<CallOutput, String> {
        let facts = RecordingFacts::of(call.rec, &self.model, call.status);
        let mut out = CallOutput::default();
        let (rule, action, due) = match facts.hold(&self.policy.holds) {
            Some(_) => ("legal-hold".to_string(), Verdict::Held, None),
            None => {
                let r = self.policy.decide(&facts.facts(), self.now);
                (r.name.clone(), r.action.into(), r.due(facts.start))
            }
        };
        out.stats.tally("action", &[action.as_str()], 1.0);
        out.set("retention_rule", Cell::Text(rule));
        out.set("retention_action", Cell::Text(action.as_str().into()));
        out.set(
            "retention_due",
            due.map_or(Cell::Null, |d| Cell::Text(format_utc(&d))),
        );
        Ok(out)
    }

    fn summarize(&self, stats: &Stats, _calls: usize) -> RunSummary {
        let by_action: serde_json::Map<String, serde_json::Value> = stats
            .tallies("action")
            .map(|(k, v)| (k.join(" "), (v as u64).into()))
            .collect();
        RunSummary {
            json: serde_json::json!({ "policy": self.policy.path.display().to_string(), "by_action": by_action }),
            tables: Vec::new(),
        }
    }
}
