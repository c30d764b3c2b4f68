//! Mergeable per-call summary parts: counters and histograms. Parts from
//! any number of calls (or shards of a run) merge into the same result.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

/// Milliseconds, up to ten hours, to three significant digits.
const HIST_MAX_MS: u64 = 36_000_000;

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub counts: BTreeMap<String, f64>,
    /// Counters under a composite key, by group: the intents analyzer
    /// counts `("calls", ["function", "lookup_order"])`.
    tallies: BTreeMap<String, BTreeMap<Vec<String>, f64>>,
    /// Durations in ms recorded by one call (a handful: kept as they are).
    values: BTreeMap<String, Vec<u64>>,
    /// Merged durations: a histogram is ~100 KiB, so only merged parts hold one.
    hists: BTreeMap<String, Histogram<u64>>,
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_MS, 3).expect("valid histogram bounds")
}

impl Stats {
    pub fn add(&mut self, key: &str, v: f64) {
        *self.counts.entry(key.to_string()).or_insert(0.0) += v;
    }

    /// Record a duration in seconds (negative values count as 0).
    pub fn record_s(&mut self, key: &str, seconds: f64) {
        let ms = (seconds * 1000.0).round().max(0.0) as u64;
        self.values
            .entry(key.to_string())
            .or_default()
            .push(ms.min(HIST_MAX_MS));
    }

    /// Add `v` to the counter `key` of `group`.
    pub fn tally(&mut self, group: &str, key: &[&str], v: f64) {
        let key: Vec<String> = key.iter().map(|k| k.to_string()).collect();
        *self
            .tallies
            .entry(group.to_string())
            .or_default()
            .entry(key)
            .or_insert(0.0) += v;
    }

    /// The counter `key` of `group` (0 when never counted).
    pub fn tallied(&self, group: &str, key: &[&str]) -> f64 {
        self.tallies
            .get(group)
            .and_then(|c| {
                let key: Vec<String> = key.iter().map(|k| k.to_string()).collect();
                c.get(&key).copied()
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
            let mine = self.tallies.entry(group.clone()).or_default();
            for (k, v) in counters {
                *mine.entry(k.clone()).or_insert(0.0) += v;
            }
        }
        for (k, vs) in &other.values {
            let mine = self.hists.entry(k.clone()).or_insert_with(new_hist);
            for v in vs {
                mine.saturating_record(*v);
            }
        }
        for (k, h) in &other.hists {
            let mine = self.hists.entry(k.clone()).or_insert_with(new_hist);
            // Same bounds on both sides: adding cannot fail.
            let _ = mine.add(h);
        }
    }

    pub fn count(&self, key: &str) -> f64 {
        self.counts.get(key).copied().unwrap_or(0.0)
    }

    /// Count, mean, percentiles and max of a histogram, in seconds.
    pub fn distribution(&self, key: &str) -> serde_json::Value {
        let mut all = Stats::default();
        all.merge(self);
        match all.hists.get(key) {
            Some(h) if !h.is_empty() => {
                let s = |ms: u64| ms as f64 / 1000.0;
                serde_json::json!({
                    "count": h.len(),
                    "mean_s": (h.mean() / 1000.0 * 1000.0).round() / 1000.0,
                    "p50_s": s(h.value_at_quantile(0.5)),
                    "p90_s": s(h.value_at_quantile(0.9)),
                    "p95_s": s(h.value_at_quantile(0.95)),
                    "p99_s": s(h.value_at_quantile(0.99)),
                    "max_s": s(h.max()),
                })
            }
            _ => serde_json::json!({ "count": 0 }),
        }
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
        for (i, x) in [0.5, 0.7, 1.2, 2.0, 0.9].iter().enumerate() {
            let part = if i % 2 == 0 { &mut a } else { &mut b };
            part.record_s("rt", *x);
            part.add("turns", 1.0);
            all.record_s("rt", *x);
            all.add("turns", 1.0);
        }
        a.merge(&b);
        assert_eq!(a.distribution("rt"), all.distribution("rt"));
        assert_eq!(a.count("turns"), 5.0);
        assert_eq!(a.distribution("rt")["max_s"], 2.0);
        assert_eq!(a.distribution("rt")["p50_s"], 0.9);
    }
}
