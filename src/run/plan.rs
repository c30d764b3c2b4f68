//! A run's plan: the selection frozen. `callscope plan` writes every
//! selected recording's relative path, fingerprint and audio bytes, with
//! the filters and an identity; `run --plan P --shard K/N` analyses shard K
//! of it. Shards of one plan see one set of recordings however the tree
//! changes while they run, and the assignment depends on the plan alone:
//! largest first, each to the shard with the fewest audio bytes so far
//! (ties to the lower index), so shards take about equal time.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::recording::{FileKind, Recording};
use crate::safe_fs::AtomicFile;

pub const FORMAT: &str = "callscope-plan/1";

/// The most shards a plan is cut into (Slurm's and Kubernetes' array
/// limits are far lower; past it a count is a mistake or a tampered file).
pub const MAX_SHARDS: usize = 65_536;

/// A plan's id: the first 12 bytes of the SHA-256 of its root, filters and
/// recordings, in hex.
fn digest(root: &str, filters: &[String], recordings: &[Planned]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(root);
    for f in filters {
        h.update(format!("\n{f}"));
    }
    for r in recordings {
        h.update(format!("\n{}\t{}\t{}", r.recording, r.fingerprint, r.bytes));
    }
    h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One recording of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub recording: String,
    pub fingerprint: String,
    /// The audio bytes (the four WAVs): what a shard's time goes by.
    pub bytes: u64,
}

impl Planned {
    pub fn of(rec: &Recording) -> Planned {
        Planned {
            recording: rec.rel.clone(),
            fingerprint: rec.fingerprint(),
            bytes: rec
                .files
                .iter()
                .filter(|f| FileKind::is_wav(f.kind))
                .map(|f| f.len)
                .sum(),
        }
    }
}

/// The plan file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub format: String,
    /// A digest of the root, the filters and the recordings: shards and
    /// merges check that they share it.
    pub id: String,
    pub created: String,
    pub root: String,
    /// The filters as given, for people.
    pub filters: Vec<String>,
    /// The shards it is meant to run in (`plan --shards N`): a task then
    /// needs only its index, and one index can be submitted again alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<usize>,
    pub recordings: Vec<Planned>,
}

impl Plan {
    pub fn new(root: &Path, filters: Vec<String>, mut recordings: Vec<Planned>) -> Plan {
        recordings.sort_by(|a, b| a.recording.cmp(&b.recording));
        let id = digest(&root.display().to_string(), &filters, &recordings);
        Plan {
            format: FORMAT.to_string(),
            id,
            created: crate::recording::format_utc(&chrono::Utc::now()),
            root: root.display().to_string(),
            filters,
            shards: None,
            recordings,
        }
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let err = |e| Error::write(path, e);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::write(path, e))?;
        text.push('\n');
        let mut f = AtomicFile::create(path).map_err(err)?;
        f.write_all(text.as_bytes()).map_err(err)?;
        f.commit(None).map_err(err)?;
        Ok(())
    }

    pub fn read(path: &Path) -> Result<Plan> {
        let bytes = crate::safe_fs::read_regular_followed(path)
            .map_err(|e| Error::Usage(format!("--plan {}: {e}", path.display())))?;
        let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Usage(format!(
                "--plan {}: not a callscope plan: {e}",
                path.display()
            ))
        })?;
        if plan.format != FORMAT {
            return Err(Error::Usage(format!(
                "--plan {}: format {}, this callscope reads {FORMAT}",
                path.display(),
                plan.format
            )));
        }
        plan.check_whole()
            .map_err(|why| Error::Usage(format!("--plan {}: {why}; not used", path.display())))?;
        Ok(plan)
    }

    /// A plan file is only read by shards, not trusted: its id must be the
    /// digest of what it lists (an edited plan would give shards that
    /// merge with another plan's), every recording a path inside the root
    /// and listed once, and its shard count one a job array can have.
    fn check_whole(&self) -> std::result::Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for r in &self.recordings {
            if !crate::recording::is_inside_name(&r.recording) {
                return Err(format!("{} is not a path inside the root", r.recording));
            }
            if !seen.insert(&r.recording) {
                return Err(format!("{} is listed twice", r.recording));
            }
        }
        if digest(&self.root, &self.filters, &self.recordings) != self.id {
            return Err("its id is not the digest of what it lists (the file was edited)".into());
        }
        if self.shards.is_some_and(|n| n == 0 || n > MAX_SHARDS) {
            return Err(format!("shards must be 1 to {MAX_SHARDS}"));
        }
        Ok(())
    }

    /// The recordings of shard `k` of `n`, in the plan's order.
    pub fn shard(&self, k: usize, n: usize) -> Vec<&Planned> {
        let mut order: Vec<usize> = (0..self.recordings.len()).collect();
        // Largest first; the plan's order among equals.
        order.sort_by(|a, b| {
            self.recordings[*b]
                .bytes
                .cmp(&self.recordings[*a].bytes)
                .then(a.cmp(b))
        });
        let mut load = vec![0u64; n.max(1)];
        let mut mine = vec![false; self.recordings.len()];
        for i in order {
            let (to, _) = load
                .iter()
                .enumerate()
                .min_by_key(|(s, l)| (**l, *s))
                .unwrap_or((0, &0));
            load[to] += self.recordings[i].bytes.max(1);
            mine[i] = to == k;
        }
        self.recordings
            .iter()
            .zip(mine)
            .filter(|(_, m)| *m)
            .map(|(r, _)| r)
            .collect()
    }
}

/// Which shard of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `K/N`, K from 0.
    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("'{s}': give K/N (shard K of N, from 0), or auto"))?;
        let (index, count): (usize, usize) = (
            k.trim()
                .parse()
                .map_err(|_| format!("'{s}': K is not a number"))?,
            n.trim()
                .parse()
                .map_err(|_| format!("'{s}': N is not a number"))?,
        );
        if count == 0 || index >= count || count > MAX_SHARDS {
            return Err(format!(
                "'{s}': K must be below N (from 0), N from 1 to {MAX_SHARDS}"
            ));
        }
        Ok(Shard { index, count })
    }
}

/// The shard a job-array engine gives this task, and which engine's
/// variables said so. `shards` is N when it is known (`--shards`, or the
/// plan's): then the engine's index is the shard's (arrays from 0), so a
/// single index submitted again is the same shard. Without it, N is the
/// array's size (Slurm, AWS Batch). `env` looks a variable up (the process
/// environment).
pub fn shard_from_engine(
    env: &dyn Fn(&str) -> Option<String>,
    shards: Option<usize>,
) -> std::result::Result<(Shard, String), String> {
    let num = |name: &str| -> std::result::Result<Option<usize>, String> {
        env(name)
            .map(|v| {
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("{name}={v} is not a number"))
            })
            .transpose()
    };
    let check = |index: usize, count: usize, said: String| {
        if count == 0 || index >= count || count > MAX_SHARDS {
            Err(format!("{said}: shard {index} of {count} does not exist"))
        } else {
            Ok((Shard { index, count }, said))
        }
    };
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        if let Some(count) = shards {
            return check(
                id,
                count,
                format!("Slurm: SLURM_ARRAY_TASK_ID={id} of {count} shards"),
            );
        }
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let count = num("SLURM_ARRAY_TASK_COUNT")?
            .ok_or("SLURM_ARRAY_TASK_ID is set, SLURM_ARRAY_TASK_COUNT is not")?;
        let index = id
            .checked_sub(min)
            .ok_or("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?;
        return check(index, count, format!("Slurm: SLURM_ARRAY_TASK_ID={id} − SLURM_ARRAY_TASK_MIN={min} of SLURM_ARRAY_TASK_COUNT={count}"));
    }
    if let Some(index) = num("JOB_COMPLETION_INDEX")? {
        let count = match shards {
            Some(n) => n,
            None => num("CALLSCOPE_SHARDS")?
                .ok_or("JOB_COMPLETION_INDEX (Kubernetes) is set; give the Job's completions as --shards N (or CALLSCOPE_SHARDS)")?,
        };
        return check(
            index,
            count,
            format!("Kubernetes: JOB_COMPLETION_INDEX={index} of {count}"),
        );
    }
    if let Some(index) = num("AWS_BATCH_JOB_ARRAY_INDEX")? {
        if let Some(count) = shards {
            return check(
                index,
                count,
                format!("AWS Batch: AWS_BATCH_JOB_ARRAY_INDEX={index} of {count} shards"),
            );
        }
        let count = num("AWS_BATCH_JOB_ARRAY_SIZE")?
            .ok_or("AWS_BATCH_JOB_ARRAY_INDEX is set, AWS_BATCH_JOB_ARRAY_SIZE is not")?;
        return check(
            index,
            count,
            format!(
                "AWS Batch: AWS_BATCH_JOB_ARRAY_INDEX={index} of AWS_BATCH_JOB_ARRAY_SIZE={count}"
            ),
        );
    }
    Err("--shard auto: no job-array engine's variables are set (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX); give --shard K/N".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(bytes: &[u64]) -> Plan {
        let recs = bytes
            .iter()
            .enumerate()
            .map(|(i, b)| Planned {
                recording: format!("r{i:02}"),
                fingerprint: "f".into(),
                bytes: *b,
            })
            .collect();
        Plan::new(Path::new("/srv"), Vec::new(), recs)
    }

    #[test]
    fn shards_cover_the_plan_once_balanced_by_bytes() {
        let p = plan(&[100, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 90]);
        for n in [1, 2, 3, 7] {
            let shards: Vec<Vec<&Planned>> = (0..n).map(|k| p.shard(k, n)).collect();
            let mut all: Vec<&str> = shards
                .iter()
                .flatten()
                .map(|r| r.recording.as_str())
                .collect();
            all.sort();
            assert_eq!(all.len(), 12, "n={n}");
            all.dedup();
            assert_eq!(all.len(), 12, "n={n}: a recording in two shards");
        }
        // Two shards of 290 bytes: 100 + 5 × 10 against 90 + 5 × 10.
        let load = |k| p.shard(k, 2).iter().map(|r| r.bytes).sum::<u64>();
        assert_eq!((load(0), load(1)), (150, 140));
        // The same plan, the same assignment.
        assert_eq!(
            p.shard(1, 3),
            plan(&[100, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 90]).shard(1, 3)
        );
    }

    #[test]
    fn engines_name_the_shard() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            shard_from_engine(&slurm, None).unwrap().0,
            Shard { index: 2, count: 4 }
        );
        // One index submitted again alone: its id is the shard's when N is known.
        let retry = env(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
        ]);
        assert_eq!(
            shard_from_engine(&retry, Some(4)).unwrap().0,
            Shard { index: 2, count: 4 }
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert!(shard_from_engine(&k8s, None)
            .unwrap_err()
            .contains("--shards"));
        assert_eq!(
            shard_from_engine(&k8s, Some(5)).unwrap().0,
            Shard { index: 3, count: 5 }
        );
        let aws = env(&[
            ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
            ("AWS_BATCH_JOB_ARRAY_SIZE", "2"),
        ]);
        assert_eq!(
            shard_from_engine(&aws, None).unwrap().0,
            Shard { index: 0, count: 2 }
        );
        assert!(shard_from_engine(&env(&[]), None)
            .unwrap_err()
            .contains("no job-array engine"));
        let bad = env(&[("JOB_COMPLETION_INDEX", "9")]);
        assert!(shard_from_engine(&bad, Some(4)).is_err());
        assert!("3/3".parse::<Shard>().is_err());
        assert_eq!(
            "2/3".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 3 }
        );
    }
}
