//! Sharded runs through the binary: a plan, its shards, their merge — the
//! single run's bytes for any N; what merge refuses; `--shard auto` under
//! each engine's variables; the Kubernetes manifest's command as a pod runs
//! it. (A real Slurm cluster runs the shipped sbatch scripts in slurm.rs.)

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

fn shard(plan: &Path, k_n: &str, out: &Path) -> (i32, String) {
    let (code, _, err) = run(&[
        "run",
        "--plan",
        path_str(plan),
        "--shard",
        k_n,
        "-o",
        path_str(out),
        "-q",
        "--fail-on",
        "never",
    ]);
    (code, err)
}

/// A corpus of uneven calls, with one damaged, and its plan.
fn planned(dir: &Path) -> (PathBuf, PathBuf) {
    let (rec, _) = simulate(
        dir,
        11,
        10,
        &[
            "--seed",
            "3",
            "--faults",
            "none,none,truncated-final,none,zeroed-sizes",
        ],
    );
    let plan = dir.join("plan.json");
    let (code, _, err) = run(&["plan", path_str(&rec), "-o", path_str(&plan)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("11 recording(s)"), "{err}");
    (rec, plan)
}

#[test]
fn any_number_of_shards_merges_to_the_single_runs_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, plan) = planned(tmp.path());
    let single = tmp.path().join("single");
    let (code, _, err) = run(&[
        "run",
        "--plan",
        path_str(&plan),
        "-o",
        path_str(&single),
        "-q",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    for n in [1, 2, 3, 7] {
        let parts: Vec<PathBuf> = (0..n)
            .map(|k| {
                let out = tmp.path().join(format!("n{n}-{k}"));
                let (code, err) = shard(&plan, &format!("{k}/{n}"), &out);
                assert_eq!(code, 0, "{k}/{n}: {err}");
                out
            })
            .collect();
        let counts: Vec<usize> = parts.iter().map(|p| calls(p).len()).collect();
        assert_eq!(counts.iter().sum::<usize>(), 11, "n={n}: {counts:?}");
        let merged = tmp.path().join(format!("merged-{n}"));
        let mut args = vec!["merge"];
        args.extend(parts.iter().rev().map(|p| path_str(p)));
        args.extend(["-o", path_str(&merged)]);
        ok(&args);
        assert_same_reports(&single, &merged);
    }
    // A retried shard writes the same bytes, over its own earlier output.
    let again = tmp.path().join("n3-1");
    let before: Vec<Vec<u8>> = REPORTS
        .iter()
        .map(|f| fs::read(again.join(f)).unwrap())
        .collect();
    let (code, err) = shard(&plan, "1/3", &again);
    assert_eq!(code, 0, "a re-run shard replaces its own output: {err}");
    let after: Vec<Vec<u8>> = REPORTS
        .iter()
        .map(|f| fs::read(again.join(f)).unwrap())
        .collect();
    assert!(before == after);
    // …but never another shard's.
    let (code, err) = shard(&plan, "2/3", &again);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn merge_refuses_a_missing_a_twice_given_and_a_foreign_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, plan) = planned(tmp.path());
    let part = |k: usize| tmp.path().join(format!("p{k}"));
    for k in 0..3 {
        assert_eq!(shard(&plan, &format!("{k}/3"), &part(k)).0, 0);
    }
    // Another plan: the store with one call fewer.
    let victim = fs::read_dir(&rec).unwrap().next().unwrap().unwrap().path();
    fs::remove_dir_all(&victim).unwrap();
    let other = tmp.path().join("other.json");
    ok(&["plan", path_str(&rec), "-o", path_str(&other)]);
    let foreign = tmp.path().join("foreign");
    assert_eq!(shard(&other, "2/3", &foreign).0, 0);
    let out = tmp.path().join("out");
    for (inputs, says) in [
        (vec![part(0), part(1)], "shard(s) 2 of them are missing"),
        (
            vec![part(0), part(1), part(1), part(2)],
            "shard 1 of 3 is given twice",
        ),
        (
            vec![part(0), part(1), foreign.clone()],
            "foreign is shard 2 of 3 of plan",
        ),
    ] {
        let mut args = vec!["merge".to_string()];
        args.extend(inputs.iter().map(|p| p.display().to_string()));
        args.extend(["-o".into(), out.display().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(says), "{says}: {err}");
        assert!(!out.exists());
    }
    // The call removed after the plan was made: a finding in its shard.
    let gone = victim.file_name().unwrap().to_string_lossy().into_owned();
    let rows: Vec<serde_json::Value> = (0..3).flat_map(|k| calls(&part(k))).collect();
    let row = rows.iter().find(|r| r["recording"] == gone.as_str());
    assert!(row.is_some(), "the shards ran before it went");
    let late = tmp.path().join("late");
    let (code, err) = shard(&plan, "0/1", &late);
    assert_eq!(code, 0, "{err}");
    let row = calls(&late)
        .into_iter()
        .find(|r| r["recording"] == gone.as_str())
        .unwrap();
    assert_eq!(row["state"], "missing");
    assert_eq!(row["status"], "error");
    let findings = fs::read_to_string(late.join("findings.csv")).unwrap();
    assert!(
        findings.contains(&format!("{gone},plan.missing,error")),
        "{findings}"
    );
}

#[test]
fn shard_auto_reads_each_engines_variables() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, plan) = planned(tmp.path());
    let expected = |k: usize, n: usize| {
        let out = tmp.path().join(format!("want-{k}-{n}"));
        shard(&plan, &format!("{k}/{n}"), &out);
        fs::read(out.join("calls.csv")).unwrap()
    };
    let auto = |env: &[(&str, &str)], extra: &[&str], name: &str| {
        let out = tmp.path().join(name);
        let o = bin()
            .args([
                "run",
                "--plan",
                path_str(&plan),
                "--shard",
                "auto",
                "-o",
                path_str(&out),
                "-q",
                "--fail-on",
                "never",
            ])
            .args(extra)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            out,
        )
    };
    let (code, err, out) = auto(
        &[
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ],
        &[],
        "slurm",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("shard 2 of 4 (Slurm:"), "{err}");
    assert_eq!(fs::read(out.join("calls.csv")).unwrap(), expected(2, 4));
    let (code, err, out) = auto(&[("JOB_COMPLETION_INDEX", "1")], &["--shards", "3"], "k8s");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("shard 1 of 3 (Kubernetes:"), "{err}");
    assert_eq!(fs::read(out.join("calls.csv")).unwrap(), expected(1, 3));
    let (code, err, out) = auto(
        &[
            ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
            ("AWS_BATCH_JOB_ARRAY_SIZE", "2"),
        ],
        &[],
        "aws",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("shard 0 of 2 (AWS Batch:"), "{err}");
    assert_eq!(fs::read(out.join("calls.csv")).unwrap(), expected(0, 2));
    let (code, err, out) = auto(&[], &[], "none");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("no job-array engine's variables are set"),
        "{err}"
    );
    assert!(!out.exists());
    let (code, err, _) = auto(&[("JOB_COMPLETION_INDEX", "1")], &[], "k8s-no-n");
    assert_eq!(code, Some(2));
    assert!(err.contains("--shards N"), "{err}");
}

/// Whether the Python tools the Kubernetes test needs are here (PyYAML and
/// kubernetes-validate; under CI=true they must be).
fn kubernetes_tools() -> bool {
    let here = std::process::Command::new("python3")
        .args(["-c", "import yaml, kubernetes_validate"])
        .status()
        .is_ok_and(|s| s.success());
    if !here {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "python3 with yaml and kubernetes_validate is missing (pip install kubernetes-validate); .ci/run installs it"
        );
        eprintln!("SKIPPED: pip install kubernetes-validate (it brings PyYAML)");
    }
    here
}

/// `kubernetes-validate --strict` of `files` against Kubernetes `version`.
fn validates(files: &[&Path], version: &str) -> Result<(), String> {
    let o = std::process::Command::new("python3")
        .args([
            "-m",
            "kubernetes_validate",
            "--strict",
            "--quiet",
            "-k",
            version,
        ])
        .args(files)
        .output()
        .unwrap();
    match o.status.success() {
        true => Ok(()),
        false => Err(format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
    }
}

/// Every document of a YAML file, as JSON.
fn yaml_docs(path: &Path) -> Vec<serde_json::Value> {
    let o = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The Kubernetes recipe: the manifests validate (strict) against the
/// oldest supported version (1.29) and the newest, and 1.28 rejects them;
/// the CronJob's pod (night.sh with the manifest's environment) runs night
/// after night as plain processes, its Indexed Job's pods run by a kubectl
/// that starts each index as the Job's spec says: each night's merge equals
/// one run of its plan; a second night and a night re-run after a late
/// call use parts of their own; a shard failing with exit 2 fails its index
/// at once, the night exits 1 saying why, and the night run again
/// completes; a day with no calls starts no Job.
#[test]
fn the_kubernetes_cronjob_runs_night_after_night() {
    if !kubernetes_tools() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/kubernetes");
    let (nightly, shards) = (
        dir.join("callscope-nightly.yaml"),
        dir.join("callscope-shards.yaml"),
    );
    for version in ["1.29.0", "1.37.0"] {
        validates(&[&nightly, &shards], version).unwrap_or_else(|e| panic!("{version}: {e}"));
    }
    assert!(validates(&[&shards], "1.28.0").is_err());
    let docs = yaml_docs(&nightly);
    let cron = docs.iter().find(|d| d["kind"] == "CronJob").unwrap();
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    let command: Vec<&str> = container["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(command, ["/bin/sh", "/etc/callscope/night.sh"]);

    let tmp = tempfile::tempdir().unwrap();
    let (store, work, reports) = (
        tmp.path().join("recordings"),
        tmp.path().join("work"),
        tmp.path().join("reports"),
    );
    let (state, bin_dir) = (tmp.path().join("kube"), tmp.path().join("bin"));
    for d in [&work, &reports, &state, &bin_dir] {
        fs::create_dir_all(d).unwrap();
    }
    // The image's PATH: callscope (failing index 2 while FAIL exists, as a
    // configuration error would) and kubectl.
    let fail = tmp.path().join("FAIL");
    fs::write(
        bin_dir.join("callscope"),
        format!(
            "#!/bin/sh\nif [ \"$JOB_COMPLETION_INDEX\" = 2 ] && [ -e '{}' ]; then echo failing on purpose >&2; exit 2; fi\nexec '{}' \"$@\"\n",
            fail.display(),
            env!("CARGO_BIN_EXE_callscope")
        ),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/kubectl-as-processes.py"),
        bin_dir.join("kubectl"),
    )
    .unwrap();
    fs::set_permissions(
        bin_dir.join("callscope"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // The pod's environment, from the manifest; the volumes where this
    // machine has them.
    let mut env: Vec<(String, String)> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let v = e["value"].as_str().unwrap();
            let v = match v {
                "/recordings" => path_str(&store),
                "/work" => path_str(&work),
                "/reports" => path_str(&reports),
                v => v,
            };
            (e["name"].as_str().unwrap().to_string(), v.to_string())
        })
        .collect();
    assert!(env.iter().any(|(k, v)| k == "SHARDS" && v == "8"));
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    env.extend([
        ("PATH".to_string(), path),
        ("KUBECTL_STATE".to_string(), path_str(&state).to_string()),
        ("JOB_TEMPLATE".to_string(), path_str(&shards).to_string()),
        ("POLL_SECONDS".to_string(), "0".to_string()),
    ]);
    let night = |day: &str| -> (i32, String, String) {
        let o = std::process::Command::new("/bin/sh")
            .arg(dir.join("night.sh"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("DAY", day)
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    // "plan ID: job NAME"
    let plan_of = |out: &str| -> String {
        out.split_whitespace()
            .nth(1)
            .unwrap()
            .trim_end_matches(':')
            .to_string()
    };
    let check_night = |day: &str, out: &str, want: &[String], name: &str| {
        let id = plan_of(out);
        let merged = reports.join(day);
        let names: Vec<String> = calls(&merged)
            .iter()
            .map(|c| c["recording"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, want, "{day}");
        // Beside the nights: the pages link the audio relative to the report.
        let single = tmp.path().join("singles").join(name);
        let plan = work.join("nights").join(day).join(format!("{id}.json"));
        run_plan(&plan, &single);
        assert_same_reports(&single, &merged);
        // The Job as night.sh applied it validates too.
        let job = out.split_whitespace().last().unwrap();
        let applied = state.join(format!("{job}.yaml"));
        validates(&[&applied], "1.29.0").unwrap();
        assert_eq!(yaml_docs(&applied)[0]["spec"]["completions"], 8);
    };

    let day1 = add_calls(&store, tmp.path(), 21, 10, "2024-12-01T09:00:00Z", "none");
    let (code, out, err) = night("2024-12-01");
    assert_eq!(code, 0, "{out}{err}");
    check_night("2024-12-01", &out, &day1, "n1");
    let day2 = add_calls(&store, tmp.path(), 22, 4, "2024-12-02T09:00:00Z", "none");
    let late = add_calls(&store, tmp.path(), 23, 1, "2024-12-01T10:00:00Z", "none");
    let (code, out, err) = night("2024-12-02");
    assert_eq!(code, 0, "{out}{err}");
    check_night("2024-12-02", &out, &day2, "n2");
    let first_plan = plan_of(&out);
    let (code, out, err) = night("2024-12-01");
    assert_eq!(code, 0, "{out}{err}");
    assert_ne!(plan_of(&out), first_plan);
    let mut want = [day1, late].concat();
    want.sort();
    check_night("2024-12-01", &out, &want, "n1b");

    let day3 = add_calls(&store, tmp.path(), 24, 9, "2024-12-03T09:00:00Z", "none");
    fs::write(&fail, "").unwrap();
    let (code, out, err) = night("2024-12-03");
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("callscope: exit 1: the shards of plan"),
        "{err}"
    );
    assert_eq!(
        err.matches("failing on purpose").count(),
        1,
        "exit 2 is not retried: {err}"
    );
    assert!(!reports.join("2024-12-03").exists());
    fs::remove_file(&fail).unwrap();
    let (code, out, err) = night("2024-12-03");
    assert_eq!(code, 0, "{out}{err}");
    check_night("2024-12-03", &out, &day3, "n3");

    let (code, out, err) = night("2024-12-09");
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("callscope: exit 1: the plan selects no recording"),
        "{err}"
    );
    assert!(!reports.join("2024-12-09").exists());
}

/// The shipped systemd units: `systemd-analyze security` rates each 5 or
/// better (it exits non-zero over the threshold); retention is a unit of
/// its own, never an ExecStartPost= a failed night skips; the nightly
/// unit's command, run as the unit runs it (paths mapped here), exits 1 on
/// the sample store's broken call and says why in one line.
#[test]
fn the_systemd_units_are_hardened_and_their_commands_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/systemd");
    let units: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "service"))
        .collect();
    assert_eq!(units.len(), 2, "{units:?}");
    let analyze = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=5"])
        .args(&units)
        .output();
    match analyze {
        Ok(o) => assert!(
            o.status.success(),
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "systemd-analyze: {e} (Debian's systemd package)"
            );
            eprintln!("SKIPPED the units' rating: systemd-analyze: {e}");
        }
    }
    let unit = fs::read_to_string(dir.join("callscope-nightly.service")).unwrap();
    assert!(
        !unit.contains("ExecStartPost"),
        "retention must not hang on the night"
    );
    let retention = fs::read_to_string(dir.join("callscope-retention.service")).unwrap();
    assert!(retention.contains("ExecStart=/usr/local/bin/callscope prune"));
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=/usr/local/bin/callscope "))
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let store = copy_samples(tmp.path());
    let (reports, textfile) = (tmp.path().join("reports"), tmp.path().join("textfile"));
    fs::create_dir(&textfile).unwrap();
    let args: Vec<String> = exec
        .split_whitespace()
        .map(|a| {
            a.replace("/srv/call_recordings", path_str(&store))
                .replace("/srv/reports", path_str(&reports))
                .replace("/var/lib/node_exporter/textfile", path_str(&textfile))
                .replace("%%", "%")
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = run(&args);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("callscope: exit 1: 1 of 6 call(s) have errors"),
        "{err}"
    );
    let prom = fs::read_to_string(textfile.join("callscope.prom")).unwrap();
    assert!(
        prom.contains(&format!(
            "callscope_last_run_exit_code{{root=\"{}\"}} 1",
            path_str(&store)
        )),
        "{prom}"
    );
}
