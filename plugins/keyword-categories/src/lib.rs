//! `kwcat`: call-analytics categories. Each category matches phrases
//! (case-insensitive substrings) or regexes in the caller's and/or the bot's
//! transcript text, optionally only within the first or last N seconds of
//! the call, and optionally negated ("no greeting in the first 10 s").
//!
//! Config (JSON, or TOML through `--plugin-config kwcat=FILE.toml`):
//!
//! ```toml
//! [[category]]
//! name = "greeting"
//! channel = "bot"            # caller, bot or any (default any)
//! phrases = ["hello", "good morning"]
//! regexes = ["thanks? for calling"]
//! within_first_s = 10        # optional
//! negate = true              # matched = no such mention
//! ```
//!
//! Columns per category: `{name}_matched` (1 or 0) and `{name}_first_s`
//! (call-relative time of the first matching entry; empty when negated or
//! not matched). The summary counts the calls each category matched.

use callscope_plugin_sdk::{export_plugin, Call, Needs, Plugin};
use chrono::DateTime;
use regex::Regex;
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryConfig {
    name: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    phrases: Vec<String>,
    #[serde(default)]
    regexes: Vec<String>,
    within_first_s: Option<f64>,
    within_last_s: Option<f64>,
    #[serde(default)]
    negate: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    category: Vec<CategoryConfig>,
}

struct Category {
    name: String,
    channel: Option<String>,
    patterns: Vec<Regex>,
    within_first_s: Option<f64>,
    within_last_s: Option<f64>,
    negate: bool,
}

pub struct KeywordCategories {
    categories: Vec<Category>,
}

fn seconds(ts: &Value) -> Option<f64> {
    let s = ts.as_str()?;
    let t = DateTime::parse_from_rfc3339(s)
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(&format!("{s}Z")).ok())?;
    Some(t.timestamp_micros() as f64 / 1e6)
}

impl Plugin for KeywordCategories {
    const NAME: &'static str = "kwcat";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn columns(&self) -> Vec<String> {
        self.categories
            .iter()
            .flat_map(|c| [format!("{}_matched", c.name), format!("{}_first_s", c.name)])
            .collect()
    }

    fn needs() -> Needs {
        Needs::TRANSCRIPT.with(Needs::METADATA)
    }

    fn init(config: Value) -> Result<Self, String> {
        let cfg: Config =
            serde_json::from_value(config).map_err(|e| format!("kwcat config: {e}"))?;
        if cfg.category.is_empty() {
            // A run with no category would add no column: surely a config
            // that was forgotten.
            return Err("no category to match: the config needs at least one [[category]]".into());
        }
        let mut categories = Vec::new();
        for c in cfg.category {
            // It names columns, which are snake_case.
            if !c.name.starts_with(|ch: char| ch.is_ascii_lowercase())
                || !c
                    .name
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
            {
                return Err(format!(
                    "category name \"{}\": use lowercase letters, digits and _, from a letter on",
                    c.name
                ));
            }
            if let Some(ch) = c.channel.as_deref() {
                if !["caller", "bot", "any"].contains(&ch) {
                    return Err(format!(
                        "category {}: channel \"{ch}\" (caller, bot or any)",
                        c.name
                    ));
                }
            }
            let mut patterns = Vec::new();
            for p in &c.phrases {
                patterns.push(
                    Regex::new(&format!("(?i){}", regex::escape(p))).map_err(|e| e.to_string())?,
                );
            }
            for r in &c.regexes {
                patterns.push(
                    Regex::new(&format!("(?i){r}"))
                        .map_err(|e| format!("category {}: regex {r:?}: {e}", c.name))?,
                );
            }
            if patterns.is_empty() {
                return Err(format!("category {}: no phrases or regexes", c.name));
            }
            categories.push(Category {
                name: c.name,
                channel: c.channel.filter(|ch| ch != "any"),
                patterns,
                within_first_s: c.within_first_s,
                within_last_s: c.within_last_s,
                negate: c.negate,
            });
        }
        Ok(KeywordCategories { categories })
    }

    fn analyze(&self, call: &Call) -> Result<Map<String, Value>, String> {
        let t = &call.json["transcript"];
        let start = seconds(&call.json["start_time"]).or_else(|| seconds(&t["start_time"]));
        let end = seconds(&call.json["metadata"]["end_time"]).or_else(|| seconds(&t["end_time"]));
        let mut out = Map::new();
        for c in &self.categories {
            let first = call.entries().find_map(|e| {
                if c.channel.as_deref().is_some_and(|ch| e["channel"] != ch) {
                    return None;
                }
                let at = seconds(&e["timestamp"]);
                let rel = at.zip(start).map(|(a, s)| a - s);
                if let Some(limit) = c.within_first_s {
                    if rel.is_none_or(|r| r > limit) {
                        return None;
                    }
                }
                if let Some(limit) = c.within_last_s {
                    if at.zip(end).is_none_or(|(a, e)| e - a > limit) {
                        return None;
                    }
                }
                let text = e["text"].as_str()?;
                c.patterns.iter().any(|p| p.is_match(text)).then_some(rel)
            });
            let matched = first.is_some() != c.negate;
            out.insert(format!("{}_matched", c.name), json!(u8::from(matched)));
            let first_s = if c.negate { None } else { first.flatten() };
            out.insert(
                format!("{}_first_s", c.name),
                first_s.map_or(Value::Null, |s| json!((s * 1000.0).round() / 1000.0)),
            );
        }
        Ok(out)
    }

    fn summarize(&self, merged: &Value) -> Result<Value, String> {
        let counts: Map<String, Value> = self
            .categories
            .iter()
            .map(|c| {
                let n = merged["columns"][format!("{}_matched", c.name)]["sum"]
                    .as_f64()
                    .unwrap_or(0.0);
                (c.name.clone(), json!(n as u64))
            })
            .collect();
        Ok(json!({ "calls": merged["calls"], "matched": counts }))
    }
}

export_plugin!(KeywordCategories);
