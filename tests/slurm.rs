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
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
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

/// The shipped nightly driver for `day`: (plan id, array job, merge job).
fn night(cluster: &Cluster, env: &[(&str, &Path)], args: &[&Path], day: &str) -> [String; 3] {
    let driver =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/slurm/callscope-night.sh");
    let mut cmd = cluster.cmd(path_str(&driver));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd
        .args(args)
        .arg(day)
        .args(["--", "--fail-on", "never"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "callscope-night.sh {day}: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // "plan ID: array A, merge M"
    let words: Vec<String> = out
        .split([' ', ',', ':', '\n'])
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(words.len(), 6, "{out}");
    [words[1].clone(), words[3].clone(), words[5].clone()]
}

/// Nights through the shipped driver (`callscope-night.sh`): each night's
/// plan, job array and merge, the merge equal to one run of the plan; a
/// second night and a night run again after a late call (another plan) do
/// not meet the first's parts; a failed task cancels the merge instead of
/// leaving it pending, and that index submitted again, then the merge,
/// completes the night; a day with no calls submits nothing and says why.
#[test]
fn nights_of_a_job_array_and_its_merge_on_a_real_slurm() {
    let tmp = tempfile::tempdir().unwrap();
    let cluster = match Cluster::start(&tmp.path().join("slurm")) {
        Ok(c) => c,
        Err(why) => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "no Slurm cluster of one node here: {why}; .ci/run installs slurm-wlm and munge"
            );
            eprintln!("SKIPPED: no Slurm cluster of one node here: {why}");
            return;
        }
    };
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/slurm");
    let (shards, merge) = (
        scripts.join("callscope-shards.sbatch"),
        scripts.join("callscope-merge.sbatch"),
    );
    let store = tmp.path().join("store");
    let (reports, work) = (tmp.path().join("reports"), tmp.path().join("work"));
    let day1 = add_calls(
        &store,
        tmp.path(),
        5,
        12,
        "2024-12-01T09:00:00Z",
        "none,none,none,truncated-final",
    );

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
    let env = [("CALLSCOPE", wrapper.as_path())];
    let args = [
        store.as_path(),
        reports.as_path(),
        work.as_path(),
        Path::new("4"),
    ];
    let single_of = |id: &str, day: &str, name: &str| -> PathBuf {
        // Beside the nights: the pages link the audio relative to the report.
        let single = tmp.path().join("singles").join(name);
        let plan = work.join(day).join(format!("{id}.json"));
        run_plan(&plan, &single);
        single
    };
    let names = |dir: &Path| -> Vec<String> {
        calls(dir)
            .iter()
            .map(|c| c["recording"].as_str().unwrap().to_string())
            .collect()
    };

    // 1. Night one: four tasks, then the merge (afterok).
    let [id1, array, merged] = night(&cluster, &env, &args, "2024-12-01");
    let array_time = cluster.wait(&array, "the array's end", all_completed);
    let merge_time = cluster.wait(&merged, "the merge's end", all_completed);
    let report = format!(
        "slurm: job array of 4 shards over 12 calls: {:.1} s; merge job after it: {:.1} s more\n",
        array_time.as_secs_f64(),
        merge_time.as_secs_f64()
    );
    eprint!("{report}");
    let _ = fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("slurm-times.txt"),
        &report,
    );
    assert_same_reports(
        &single_of(&id1, "2024-12-01", "single1"),
        &reports.join("2024-12-01"),
    );
    assert_eq!(names(&reports.join("2024-12-01")), day1);

    // 2. Night two, and night one again after a call for it landed late:
    // another plan each, parts of their own, the right calls.
    let day2 = add_calls(
        &store,
        tmp.path(),
        6,
        5,
        "2024-12-02T09:00:00Z",
        "none,none,none,truncated-final",
    );
    let late = add_calls(
        &store,
        tmp.path(),
        7,
        1,
        "2024-12-01T09:00:00Z",
        "none,none,none,truncated-final",
    );
    let [id2, _, merged] = night(&cluster, &env, &args, "2024-12-02");
    cluster.wait(&merged, "night two's merge", all_completed);
    assert_eq!(names(&reports.join("2024-12-02")), day2);
    let [id1b, _, merged] = night(&cluster, &env, &args, "2024-12-01");
    assert_ne!(id1b, id1);
    cluster.wait(&merged, "night one again", all_completed);
    let mut want = [day1.clone(), late].concat();
    want.sort();
    assert_eq!(names(&reports.join("2024-12-01")), want);
    assert_same_reports(
        &single_of(&id1b, "2024-12-01", "single1b"),
        &reports.join("2024-12-01"),
    );
    assert_same_reports(
        &single_of(&id2, "2024-12-02", "single2"),
        &reports.join("2024-12-02"),
    );

    // 3. Task 2 fails: the merge is cancelled, not left pending. Task 2
    // alone, submitted again, then the merge, complete the night.
    let day3 = add_calls(
        &store,
        tmp.path(),
        8,
        8,
        "2024-12-03T09:00:00Z",
        "none,none,none,truncated-final",
    );
    fs::write(&fail, "").unwrap();
    let [id3, array, blocked] = night(&cluster, &env, &args, "2024-12-03");
    cluster.wait(&array, "the array's end", finished);
    let s = cluster.states(&array);
    assert_eq!(
        s.iter().filter(|(st, _)| st == "FAILED").count(),
        1,
        "{s:?}"
    );
    cluster.wait(&blocked, "the merge cancelled", |s| {
        s.iter().all(|(st, _)| st == "CANCELLED")
    });
    let out3 = reports.join("2024-12-03");
    assert!(!out3.exists(), "the merge ran after a failed task");
    fs::remove_file(&fail).unwrap();
    let (plan3, parts3) = (
        work.join("2024-12-03").join(format!("{id3}.json")),
        work.join("2024-12-03/parts"),
    );
    let export = format!("--export=ALL,CALLSCOPE={}", wrapper.display());
    let retry = cluster.submit(&[
        &export,
        "--array=2",
        path_str(&shards),
        path_str(&plan3),
        path_str(&parts3),
    ]);
    let after = format!("--dependency=afterok:{retry}");
    let merged = cluster.submit(&[
        &export,
        &after,
        path_str(&merge),
        path_str(&parts3.join(&id3)),
        path_str(&out3),
        "--fail-on",
        "never",
    ]);
    cluster.wait(&merged, "the merge after the retry", all_completed);
    assert_eq!(names(&out3), day3);
    assert_same_reports(&single_of(&id3, "2024-12-03", "single3"), &out3);

    // 4. A day with no calls (a store that did not mount): nothing is
    // submitted, and the driver says why.
    let o = cluster
        .cmd(path_str(&scripts.join("callscope-night.sh")))
        .env("CALLSCOPE", &wrapper)
        .args(args)
        .arg("2024-12-09")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("callscope: exit 1: the plan selects no recording"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!reports.join("2024-12-09").exists());
}
