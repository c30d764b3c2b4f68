//! Every exit code in the README's table, provoked by the real binary the
//! way a user would meet it. The table and these tests are checked against
//! each other: a code documented without a test here fails.

mod common;

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// The codes of the README's "Exit codes" table.
fn documented_codes() -> Vec<i32> {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    readme
        .lines()
        .skip_while(|l| !l.starts_with("### Exit codes"))
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(1)?.trim().parse().ok())
        .collect()
}

const TESTED: [i32; 7] = [0, 1, 2, 74, 75, 130, 143];

#[test]
fn the_readme_documents_exactly_the_codes_tested_here() {
    assert_eq!(documented_codes(), TESTED);
    // And `--help` says the same.
    let help = ok(&["--help"]);
    for code in TESTED {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code} "))),
            "--help does not explain {code}"
        );
    }
}

#[test]
fn exit_0_the_command_did_what_it_was_asked() {
    let (code, out, _) = run(&["list", path_str(&sample_recordings())]);
    assert_eq!(code, 0);
    assert!(out.ends_with("\n6 recording(s)\n"), "{out}");
}

#[test]
fn exit_1_findings_in_the_data() {
    let samples = sample_recordings();
    let (code, out, _) = run(&["check", path_str(&samples), "--settle", "0"]);
    assert_eq!(code, 1, "the samples hold broken recordings: {out}");
    // A root of the clean recording alone passes.
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean");
    fs::create_dir(&clean).unwrap();
    copy_tree(
        &samples.join("7c9e6679-7425-40de-944b-e07fc1f90ae7_20241201_143022"),
        &clean.join("7c9e6679-7425-40de-944b-e07fc1f90ae7_20241201_143022"),
        false,
    );
    assert_eq!(run(&["check", path_str(&clean)]).0, 0);
}

/// The one line on stderr an exit 1 gives, even with --quiet.
fn exit_line(err: &str) -> &str {
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("callscope: exit 1: "))
        .collect();
    assert_eq!(lines.len(), 1, "one exit line: {err}");
    lines[0]
}

/// Cron mails what a job prints: every exit 1 says why in one line, and an
/// exit 0 says no such thing.
#[test]
fn exit_1_says_why_in_one_line_on_stderr() {
    let samples = sample_recordings();
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&["check", path_str(&samples), "--settle", "0", "-q"]);
    assert_eq!(code, 1);
    assert!(
        exit_line(&err).contains("2 of 6 recording(s) have a finding at or above error"),
        "{err}"
    );
    let out = |n: &str| tmp.path().join(n);
    let with_ratio = |dir: &str, ratio: &str| {
        let o = out(dir);
        run(&[
            "run",
            path_str(&samples),
            "-o",
            path_str(&o),
            "-q",
            "--max-error-ratio",
            ratio,
        ])
    };
    let (code, _, err) = with_ratio("a", "0.1");
    assert_eq!(code, 1);
    assert!(
        exit_line(&err).contains("1 of 6 call(s) have errors (16.7 %, over --max-error-ratio 0.1)"),
        "{err}"
    );
    let (code, _, err) = with_ratio("b", "0.5");
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("exit 1"), "{err}");
    let empty = out("empty");
    fs::create_dir(&empty).unwrap();
    let (code, _, err) = run(&["run", path_str(&empty), "-o", path_str(&out("c")), "-q"]);
    assert_eq!(code, 1);
    assert!(
        exit_line(&err).contains("no recording was analyzed"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "erase",
        path_str(&empty),
        "--session",
        "nobody",
        "--no-hold-list",
        "--apply",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(exit_line(&err).contains("no recording matched"), "{err}");
}

#[test]
fn exit_2_usage_and_configuration_errors_do_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    let samples = sample_recordings();
    let policy = tmp.path().join("bad.toml");
    fs::write(&policy, "[[rule]]\naction = \"shred\"\n").unwrap();
    let missing = tmp.path().join("no-such-root");
    for args in [
        vec!["run", path_str(&samples)], // no --out
        vec!["run", path_str(&samples), "-o", path_str(&out), "--bogus"], // unknown flag
        vec!["run", path_str(&missing), "-o", path_str(&out)], // no such root
        vec![
            "run",
            path_str(&samples),
            "-o",
            path_str(&out),
            "--policy",
            path_str(&policy),
        ],
        vec![
            "prune",
            path_str(&samples),
            "--policy",
            path_str(&policy),
            "--apply",
        ],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.is_empty());
        assert!(!out.exists(), "{args:?} wrote reports");
    }
    let (_, _, err) = run(&["run", path_str(&missing), "-o", path_str(&out)]);
    assert!(
        err.contains("no-such-root") && err.contains("No such file"),
        "{err}"
    );
}

#[test]
fn exit_74_a_report_that_cannot_be_written() {
    let Some(tiny) = TinyDisk::mount(8) else {
        eprintln!("SKIPPED: cannot mount a small tmpfs here (needs root); exit 74 not provoked");
        return;
    };
    let out = tiny.path().join("reports");
    let (code, _, err) = run(&[
        "run",
        path_str(&sample_recordings()),
        "-o",
        path_str(&out),
        "--settle",
        "0",
        "-q",
    ]);
    assert_eq!(code, 74, "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    // The export of a transcript too, to a disk that is full: an I/O
    // failure, not a usage error.
    let mut filler = fs::File::create(tiny.path().join("filler")).unwrap();
    while filler.write_all(&[0u8; 1024]).is_ok() {}
    let (code, _, err) = run(&[
        "export",
        "--root",
        path_str(&sample_recordings()),
        "7c9e6679",
        "-o",
        path_str(&tiny.path().join("call.txt")),
    ]);
    assert_eq!(code, 74, "{err}");
}

#[test]
fn exit_75_another_callscope_holds_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    fs::create_dir_all(root.join(".callscope")).unwrap();
    let mut holder = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(root.join(".callscope/lock"))
        .unwrap();
    holder.try_lock().expect("the lock is free");
    writeln!(
        holder,
        "pid 4242 on nightly-host, command prune, since 2024-12-01T02:00:00Z"
    )
    .unwrap();
    let (code, _, err) = run(&["repair", path_str(&root), "--settle", "0"]);
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("pid 4242 on nightly-host"), "{err}");
    // A dry run changes nothing and takes no lock.
    assert_eq!(
        run(&["repair", path_str(&root), "-n", "--settle", "0"]).0,
        0
    );
    drop(holder);
    assert_eq!(
        run(&["repair", path_str(&root), "--settle", "0", "-q"]).0,
        0
    );
}

/// `simulate` far longer than the signal takes to come, stopped by
/// `signal` once it has started writing: its exit code and stderr.
fn stopped_by(signal: libc::c_int) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    let child = Command::new(env!("CARGO_BIN_EXE_callscope"))
        .args(["simulate", "-o", path_str(&out), "--calls", "100000", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it has started writing.
    for _ in 0..200 {
        if fs::read_dir(&out).is_ok_and(|mut d| d.next().is_some()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    // SAFETY: kill(2) on the child's own pid.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let done = child.wait_with_output().unwrap();
    (
        done.status.code(),
        String::from_utf8_lossy(&done.stderr).into_owned(),
    )
}

#[test]
fn exit_130_interrupted() {
    let (code, err) = stopped_by(libc::SIGINT);
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
}

#[test]
fn exit_143_terminated() {
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let (code, err) = stopped_by(signal);
        assert_eq!(code, Some(143), "signal {signal}: {err}");
    }
}
