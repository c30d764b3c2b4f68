//! A real Slurm cluster of one node on this machine (Debian's slurm-wlm and
//! munge; `.ci/run` installs them): the shipped sbatch scripts run a plan's
//! shards as a job array and merge them in a job that depends on it
//! (afterok). The merge equals one run of the plan; a failed task keeps
//! the merge from running, and submitting that one index again completes
//! the work. Needs root (the daemons run as root here); where Slurm cannot
//! be had, the test says why it skipped.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;

/// The daemons, stopped on drop.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    daemons: Vec<Child>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for d in &mut self.daemons {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn host() -> String {
    let o = Command::new("hostname").arg("-s").output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

impl Cluster {
    /// slurmctld and slurmd in the foreground (children of the test), with
    /// a configuration in `dir`; munged if it is not running.
    fn start(dir: &Path) -> Result<Cluster, String> {
        for p in ["slurmctld", "slurmd", "sbatch", "scontrol", "munged"] {
            if !have(p) {
                return Err(format!(
                    "{p} is not installed (apt-get install slurm-wlm munge)"
                ));
            }
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("the daemons need root here".into());
        }
        let running = Command::new("pgrep")
            .arg("-x")
            .arg("munged")
            .status()
            .is_ok_and(|s| s.success());
        if !running {
            let _ = fs::create_dir_all("/run/munge");
            let _ = Command::new("chown")
                .args(["munge:munge", "/run/munge"])
                .status();
            let st = Command::new("su")
                .args(["-s", "/bin/sh", "munge", "-c", "/usr/sbin/munged"])
                .status()
                .map_err(|e| e.to_string())?;
            if !st.success() {
                return Err("munged did not start".into());
            }
        }
        let h = host();
        for d in ["state", "spool", "log"] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        let d = dir.display();
        // Ports of the test's own, away from a Slurm the machine may run.
        let conf = format!(
            "ClusterName=callscope-test\nSlurmctldHost={h}(127.0.0.1)\nSlurmctldPort=16817\nSlurmdPort=16818\n\
             SlurmUser=root\nSlurmdUser=root\nAuthType=auth/munge\nStateSaveLocation={d}/state\n\
             SlurmdSpoolDir={d}/spool\nSlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/log/slurmctld.log\nSlurmdLogFile={d}/log/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSchedulerType=sched/builtin\n\
             SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\nReturnToService=2\nMpiDefault=none\n\
             JobCompType=jobcomp/none\nAccountingStorageType=accounting_storage/none\n\
             NodeName={h} NodeAddr=127.0.0.1 CPUs={} State=UNKNOWN\n\
             PartitionName=test Nodes={h} Default=YES MaxTime=INFINITE State=UP\n",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        let conf_path = dir.join("slurm.conf");
        fs::write(&conf_path, conf).unwrap();
        let mut cluster = Cluster {
            dir: dir.to_path_buf(),
            conf: conf_path.clone(),
            daemons: Vec::new(),
        };
        for daemon in ["slurmctld", "slurmd"] {
            let child = Command::new(daemon)
                .args(["-D", "-f"])
                .arg(&conf_path)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| format!("{daemon}: {e}"))?;
            cluster.daemons.push(child);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let o = cluster
                .cmd("sinfo")
                .args(["-h", "-o", "%T"])
                .output()
                .map_err(|e| e.to_string())?;
            if String::from_utf8_lossy(&o.stdout).trim() == "idle" {
                return Ok(cluster);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the node did not come up: {}",
                    fs::read_to_string(dir.join("log/slurmctld.log")).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf).current_dir(&self.dir);
        c
    }

    /// `sbatch --parsable ARGS…`: the job id.
    fn submit(&self, args: &[&str]) -> String {
        let o = self
            .cmd("sbatch")
            .arg("--parsable")
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "sbatch {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// Every state and reason of a job's tasks.
    fn states(&self, job: &str) -> Vec<(String, String)> {
        let o = self
            .cmd("scontrol")
            .args(["show", "job", job])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .filter_map(|w| {
                let state = w[0].strip_prefix("JobState=")?;
                let reason = w[1].strip_prefix("Reason=").unwrap_or("");
                Some((state.to_string(), reason.to_string()))
            })
            .collect()
    }

    /// Wait until `done` says the job's states are what it waits for.
    fn wait(&self, job: &str, what: &str, done: impl Fn(&[(String, String)]) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            let s = self.states(job);
            if !s.is_empty() && done(&s) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < Duration::from_secs(240),
                "job {job}: {what} never came: {s:?}\n{}",
                fs::read_to_string(self.dir.join("log/slurmctld.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

fn all_completed(s: &[(String, String)]) -> bool {
    s.iter().all(|(state, _)| state == "COMPLETED")
}

fn finished(s: &[(String, String)]) -> bool {
    s.iter().all(|(state, _)| {
        !matches!(
            state.as_str(),
            "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING"
        )
    })
}

#[test]
fn a_job_array_and_its_merge_on_a_real_slurm() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = match Cluster::start(&tmp.path().join("slurm")) {
        Ok(c) => c,
        Err(why) => {
            eprintln!("SKIPPED: no Slurm cluster of one node here: {why}");
            return;
        }
    };
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/slurm");
    let (shards, merge) = (
        scripts.join("callscope-shards.sbatch"),
        scripts.join("callscope-merge.sbatch"),
    );
    let (rec, _) = simulate(
        tmp.path(),
        16,
        12,
        &["--seed", "5", "--faults", "none,none,none,truncated-final"],
    );
    let plan = tmp.path().join("plan.json");
    ok(&[
        "plan",
        path_str(&rec),
        "--shards",
        "4",
        "-o",
        path_str(&plan),
    ]);
    let single = tmp.path().join("single");
    ok(&[
        "run",
        "--plan",
        path_str(&plan),
        "-o",
        path_str(&single),
        "-q",
        "--fail-on",
        "never",
    ]);

    // callscope through a wrapper that fails task 2 while FAIL exists.
    let fail = tmp.path().join("FAIL");
    let wrapper = tmp.path().join("callscope");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$SLURM_ARRAY_TASK_ID\" = 2 ] && [ -e '{}' ]; then echo failing on purpose >&2; exit 3; fi\nexec '{}' \"$@\"\n",
            fail.display(),
            env!("CARGO_BIN_EXE_callscope")
        ),
    )
    .unwrap();
    fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let export = format!("--export=ALL,CALLSCOPE={}", wrapper.display());

    // 1. Four tasks, then the merge (afterok): the single run's bytes.
    let parts = tmp.path().join("parts");
    let reports = tmp.path().join("reports");
    let array = cluster.submit(&[
        &export,
        "--array=0-3",
        path_str(&shards),
        path_str(&plan),
        path_str(&parts),
    ]);
    let after = format!("--dependency=afterok:{array}");
    let merged = cluster.submit(&[
        &export,
        &after,
        path_str(&merge),
        path_str(&parts),
        path_str(&reports),
    ]);
    let array_time = cluster.wait(&array, "the array's end", all_completed);
    let merge_time = cluster.wait(&merged, "the merge's end", all_completed);
    let report = format!(
        "slurm: job array of 4 shards over 16 calls: {:.1} s; merge job after it: {:.1} s more\n",
        array_time.as_secs_f64(),
        merge_time.as_secs_f64()
    );
    eprint!("{report}");
    let _ = fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("slurm-times.txt"),
        &report,
    );
    let reports_in = |dir: &Path| {
        fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count()
    };
    assert_eq!(reports_in(&parts), 4);
    assert_same_reports(&single, &reports);

    // 2. Task 2 fails: the merge never runs. Task 2 alone, submitted again,
    // completes the parts; a merge after it gives the same reports.
    fs::write(&fail, "").unwrap();
    let (parts2, reports2) = (tmp.path().join("parts2"), tmp.path().join("reports2"));
    let array = cluster.submit(&[
        &export,
        "--array=0-3",
        path_str(&shards),
        path_str(&plan),
        path_str(&parts2),
    ]);
    let after = format!("--dependency=afterok:{array}");
    let blocked = cluster.submit(&[
        &export,
        &after,
        path_str(&merge),
        path_str(&parts2),
        path_str(&reports2),
    ]);
    cluster.wait(&array, "the array's end", finished);
    let s = cluster.states(&array);
    assert_eq!(
        s.iter().filter(|(st, _)| st == "FAILED").count(),
        1,
        "{s:?}"
    );
    cluster.wait(&blocked, "the merge held back", |s| {
        s.iter()
            .all(|(st, why)| st == "PENDING" && why == "DependencyNeverSatisfied")
            || s.iter().all(|(st, _)| st == "CANCELLED")
    });
    assert!(!reports2.exists(), "the merge ran after a failed task");
    let _ = cluster.cmd("scancel").arg(&blocked).status();
    assert_eq!(reports_in(&parts2), 3);
    fs::remove_file(&fail).unwrap();
    let retry = cluster.submit(&[
        &export,
        "--array=2",
        path_str(&shards),
        path_str(&plan),
        path_str(&parts2),
    ]);
    let after = format!("--dependency=afterok:{retry}");
    let merged = cluster.submit(&[
        &export,
        &after,
        path_str(&merge),
        path_str(&parts2),
        path_str(&reports2),
    ]);
    cluster.wait(&merged, "the merge after the retry", all_completed);
    for f in ["calls.csv", "findings.csv"] {
        assert!(
            fs::read(single.join(f)).unwrap() == fs::read(reports2.join(f)).unwrap(),
            "{f}"
        );
    }
}
