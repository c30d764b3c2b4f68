//! Mergeable per-call summary parts: counters and exact durations. Parts
//! from any number of calls (or nightly runs, or shards) merge into the
//! same result, and a part serialises exactly (the partial a run writes).
//!
//! One percentile definition everywhere: linear interpolation between the
//! closest ranks (pandas' `quantile`, DuckDB's `quantile_cont`, NumPy's
//! default), over durations kept to the millisecond, so every figure of
//! `summary.json` can be recomputed from `turns.csv`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Durations are kept in milliseconds, up to ten hours either way.
const MAX_MS: i32 = 36_000_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, f64>,
    /// Counters under a composite key, by group: the intents analyzer
    /// counts `("calls", ["function", "lookup_order"])`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tallies: BTreeMap<String, Vec<(Vec<String>, f64)>>,
    /// Durations in ms, in the order they were recorded and merged; signed,
    /// since an answer that starts before the caller has finished has a
    /// negative latency.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    values: BTreeMap<String, Vec<i32>>,
}

impl Stats {
    pub fn add(&mut self, key: &str, v: f64) {
        *self.counts.entry(key.to_string()).or_insert(0.0) += v;
    }

    /// Record a duration in seconds.
    pub fn record_s(&mut self, key: &str, seconds: f64) {
        let max = f64::from(MAX_MS);
        let ms = (seconds * 1000.0).round().clamp(-max, max) as i32;
        self.values.entry(key.to_string()).or_default().push(ms);
    }

    /// Add `v` to the counter `key` of `group`.
    pub fn tally(&mut self, group: &str, key: &[&str], v: f64) {
        let counters = self.tallies.entry(group.to_string()).or_default();
        match counters
            .binary_search_by(|(k, _)| k.iter().map(String::as_str).cmp(key.iter().copied()))
        {
            Ok(i) => counters[i].1 += v,
            Err(i) => counters.insert(
                i,
                (
                    key.iter().map(std::string::ToString::to_string).collect(),
                    v,
                ),
            ),
        }
    }

    /// The counter `key` of `group` (0 when never counted).
    pub fn tallied(&self, group: &str, key: &[&str]) -> f64 {
        self.tallies
            .get(group)
            .and_then(|c| {
                c.binary_search_by(|(k, _)| k.iter().map(String::as_str).cmp(key.iter().copied()))
                    .ok()
                    .map(|i| c[i].1)
            })
            .unwrap_or(0.0)
    }

    /// Every counter of `group`, in key order.
    pub fn tallies(&self, group: &str) -> impl Iterator<Item = (&[String], f64)> {
        self.tallies
            .get(group)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_slice(), *v))
    }

    pub fn merge(&mut self, other: &Stats) {
        for (k, v) in &other.counts {
            self.add(k, *v);
        }
        for (group, counters) in &other.tallies {
            for (k, v) in counters {
                let key: Vec<&str> = k.iter().map(String::as_str).collect();
                self.tally(group, &key, *v);
            }
        }
        for (k, vs) in &other.values {
            self.values
                .entry(k.clone())
                .or_default()
                .extend_from_slice(vs);
        }
    }

    pub fn count(&self, key: &str) -> f64 {
        self.counts.get(key).copied().unwrap_or(0.0)
    }

    /// A counter that counts things (calls, words), as the integer it is.
    pub fn whole(&self, key: &str) -> u64 {
        self.count(key).round().max(0.0) as u64
    }

    /// Count, mean, percentiles (linear between closest ranks) and max of
    /// the durations under `key`, in seconds to the millisecond.
    pub fn distribution(&self, key: &str) -> serde_json::Value {
        let mut ms: Vec<i32> = self.values.get(key).cloned().unwrap_or_default();
        if ms.is_empty() {
            return serde_json::json!({ "count": 0 });
        }
        ms.sort_unstable();
        let seconds: Vec<f64> = ms.iter().map(|m| f64::from(*m) / 1000.0).collect();
        let r = |x: f64| (x * 1000.0).round() / 1000.0;
        let q = |p: f64| super::quantile(&seconds, p).map(r);
        serde_json::json!({
            "count": seconds.len(),
            "mean_s": super::mean(&seconds).map(r),
            "p50_s": q(0.5),
            "p90_s": q(0.9),
            "p95_s": q(0.95),
            "p99_s": q(0.99),
            "max_s": seconds.last().copied(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_parts_equal_one_part() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        let mut all = Stats::default();
        for (i, x) in [0.5, 0.7, 1.2, 2.0, 0.9, -0.25].iter().enumerate() {
            let part = if i % 2 == 0 { &mut a } else { &mut b };
            part.record_s("rt", *x);
            part.add("turns", 1.0);
            all.record_s("rt", *x);
            all.add("turns", 1.0);
        }
        a.merge(&b);
        assert_eq!(a.distribution("rt"), all.distribution("rt"));
        assert_eq!(a.count("turns"), 6.0);
        assert_eq!(a.distribution("rt")["max_s"], 2.0);
        // Linear between ranks, as pandas and DuckDB compute it: sorted
        // -0.25 0.5 0.7 0.9 1.2 2.0, p50 at rank 2.5 = 0.7 + 0.5 × 0.2,
        // p90 at rank 4.5 = 1.2 + 0.5 × 0.8.
        assert_eq!(a.distribution("rt")["p50_s"], 0.8);
        assert_eq!(a.distribution("rt")["p90_s"], 1.6);
        // A negative latency (an early start) counts as what it is.
        assert_eq!(a.distribution("rt")["mean_s"], 0.842);
        // A part serialises exactly.
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Stats>(&text).unwrap(), a);
    }
}
