//! Killing the commands that change recordings at every file-system call in
//! turn, with `strace -e inject=SYSCALL:signal=KILL:when=N`, and checking
//! after each kill that nothing was lost and that one re-run finishes the
//! job with its log complete.
//!
//! CI runs a bounded set of kill points per system call (1, 2, 3, 4, 6, 8,
//! 12, …); `CALLSCOPE_FAULT_SWEEP=full cargo test --release --test
//! fault_injection` tries every one. Without strace (`apt-get install
//! strace`) the tests say why they skipped.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// The calls that create, write, sync, link, rename or remove.
const SYSCALLS: [&str; 14] = [
    "openat",
    "write",
    "fsync",
    "fdatasync",
    "mkdir",
    "linkat",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "rmdir",
    "copy_file_range",
    "ftruncate",
];

fn strace_available() -> bool {
    let ok = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: strace is not installed (apt-get install strace); no kill points tried"
        );
    }
    ok
}

fn full_sweep() -> bool {
    std::env::var("CALLSCOPE_FAULT_SWEEP").is_ok_and(|v| v == "full")
}

/// The kill points tried for one system call: every one in a full sweep,
/// else 1, 2, 3, 4, 6, 8, 12, 16, 24, … (each doubling, and the midpoints).
fn next_point(n: usize) -> usize {
    if full_sweep() || n < 4 {
        n + 1
    } else {
        let p = n.next_power_of_two();
        if n == p {
            n + n / 2
        } else {
            p
        }
    }
}

/// What a tree holds, as a test compares it: every regular file's bytes by
/// path, leaving out callscope's own `.callscope/` folders (backups, logs,
/// trash) and temporary files, which are listed apart.
#[derive(Debug, Default, PartialEq)]
struct Tree {
    files: BTreeMap<PathBuf, Vec<u8>>,
    temps: BTreeSet<PathBuf>,
}

fn tree(root: &Path) -> Tree {
    let mut t = Tree::default();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if name.ends_with(".callscope-tmp") {
                t.temps.insert(rel);
            } else if m.is_dir() && name != ".callscope" {
                stack.push(p);
            } else if m.is_file() {
                let mut bytes = fs::read(&p).unwrap();
                if name.ends_with(".age") {
                    // Encrypted with a new key each time: what matters is
                    // that the reference age tool decrypts it, and to what.
                    bytes = age_decrypt(&root.join("key.txt"), &p);
                }
                if name == "AUDIO_REMOVED_BY_POLICY.json" {
                    // The marker says when it was written; the rest must match.
                    let mut v: Value = serde_json::from_slice(&bytes).unwrap();
                    v["removed_at"] = Value::Null;
                    bytes = v.to_string().into_bytes();
                }
                t.files.insert(rel, bytes);
            }
        }
    }
    t
}

/// The log lines of a JSON-lines file (none when it does not exist).
fn log_lines(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One command swept over its kill points.
struct Sweep<'a> {
    name: &'a str,
    /// The workspace as it is before the command (the recordings root is
    /// `root` in it; an archive root may sit beside it).
    template: &'a Path,
    /// The command's arguments, given the workspace.
    args: &'a dyn Fn(&Path) -> Vec<String>,
    /// The log the command keeps, given the workspace.
    log: &'a dyn Fn(&Path) -> PathBuf,
    /// Which part of a path is one unit that must be old or new as a whole
    /// (a recording for prune; a single file for repair).
    unit: &'a dyn Fn(&Path) -> PathBuf,
}

/// A unit's files, by path.
fn units(
    t: &Tree,
    unit: &dyn Fn(&Path) -> PathBuf,
) -> BTreeMap<PathBuf, BTreeMap<PathBuf, Vec<u8>>> {
    let mut out: BTreeMap<PathBuf, BTreeMap<PathBuf, Vec<u8>>> = BTreeMap::new();
    for (p, b) in &t.files {
        out.entry(unit(p)).or_default().insert(p.clone(), b.clone());
    }
    out
}

/// What the log says was done, by (recording, action): every result line
/// of the reference must be matched, after a kill and a re-run, by a result
/// or an intent line (a kill between the change and its result line leaves
/// the intent).
fn logged(lines: &[Value]) -> BTreeSet<(String, String)> {
    lines
        .iter()
        .filter(|l| l["event"] == "done" || l["event"] == "intent")
        .map(|l| {
            (
                l["recording"].as_str().unwrap_or_default().to_string(),
                l["action"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn run_in(ws: &Path, args: &[String], kill_at: Option<(&str, usize)>) -> std::process::ExitStatus {
    let mut cmd = match kill_at {
        Some((sc, n)) => {
            let mut c = Command::new("strace");
            c.args(["-f", "-qq", "-o", "/dev/null", "-e"])
                .arg(format!("trace={sc}"))
                .arg("-e")
                .arg(format!("inject={sc}:signal=KILL:when={n}"))
                .arg(env!("CARGO_BIN_EXE_callscope"));
            c
        }
        None => bin(),
    };
    cmd.args(args)
        .current_dir(ws)
        // One worker: the kill points are the same from run to run.
        .env("RAYON_NUM_THREADS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
}

fn sweep(s: &Sweep) {
    let tmp = tempfile::tempdir().unwrap();
    let before = tree(s.template);
    // The reference: the command run to the end, untouched.
    let reference_ws = tmp.path().join("reference");
    copy_tree(s.template, &reference_ws, false);
    let ref_status = run_in(&reference_ws, &(s.args)(&reference_ws), None);
    let reference = tree(&reference_ws);
    assert_ne!(
        reference, before,
        "{}: the command changes something",
        s.name
    );
    assert!(
        reference.temps.is_empty(),
        "{}: {:?}",
        s.name,
        reference.temps
    );
    let ref_logged: BTreeSet<_> = logged(&log_lines(&(s.log)(&reference_ws)))
        .into_iter()
        .filter(|(_, a)| !a.is_empty())
        .collect();
    assert!(
        !ref_logged.is_empty(),
        "{}: the reference logged nothing",
        s.name
    );
    let (before_units, ref_units) = (units(&before, s.unit), units(&reference, s.unit));

    let mut kills = 0;
    for sc in SYSCALLS {
        let mut n = 1;
        loop {
            let ws = tmp.path().join(format!("{sc}-{n}"));
            copy_tree(s.template, &ws, false);
            let status = run_in(&ws, &(s.args)(&ws), Some((sc, n)));
            if status.signal() != Some(9) {
                // Fewer than n such calls: the command ran to its end.
                assert_eq!(status.code(), ref_status.code(), "{} {sc} {n}", s.name);
                fs::remove_dir_all(&ws).unwrap();
                break;
            }
            kills += 1;
            let at = format!("{}: killed at {sc} #{n}", s.name);
            // Every unit is as it was, or as the finished command leaves it;
            // a recording holding the delete-audio marker may be between.
            let now = tree(&ws);
            let now_units = units(&now, s.unit);
            let keys: BTreeSet<_> = before_units
                .keys()
                .chain(ref_units.keys())
                .chain(now_units.keys())
                .collect();
            for k in keys {
                let (b, r, c) = (before_units.get(k), ref_units.get(k), now_units.get(k));
                if c == b || c == r {
                    continue;
                }
                let marked = c.is_some_and(|c| {
                    c.keys()
                        .any(|p| p.ends_with("AUDIO_REMOVED_BY_POLICY.json"))
                        && c.iter().all(|(p, bytes)| {
                            b.and_then(|b| b.get(p)) == Some(bytes)
                                || r.and_then(|r| r.get(p)) == Some(bytes)
                        })
                });
                assert!(
                    marked,
                    "{at}: {} is neither as before nor as done: {:?}",
                    k.display(),
                    c.map(|c| c.keys().collect::<Vec<_>>())
                );
            }
            // One re-run finishes the job.
            let status = run_in(&ws, &(s.args)(&ws), None);
            assert_eq!(status.code(), ref_status.code(), "{at}: the re-run");
            let after = tree(&ws);
            assert!(
                after.temps.is_empty(),
                "{at}: temporary files left: {:?}",
                after.temps
            );
            assert_eq!(
                after.files.keys().collect::<Vec<_>>(),
                reference.files.keys().collect::<Vec<_>>(),
                "{at}: the re-run's files"
            );
            for (p, bytes) in &reference.files {
                assert!(
                    &after.files[p] == bytes,
                    "{at}: {} differs after the re-run",
                    p.display()
                );
            }
            let lines = log_lines(&(s.log)(&ws));
            assert!(
                !lines.iter().any(|l| l["result"] == "failed"),
                "{at}: a failed line: {lines:?}"
            );
            let got = logged(&lines);
            for want in &ref_logged {
                assert!(got.contains(want), "{at}: the log lacks {want:?}");
            }
            fs::remove_dir_all(&ws).unwrap();
            n = next_point(n);
        }
    }
    eprintln!("{}: {kills} kill point(s) tried", s.name);
    assert!(
        kills >= 10,
        "{}: only {kills} kill points were reached",
        s.name
    );
}

/// A workspace with `calls` simulated recordings under `root/`.
fn workspace(dir: &Path, calls: usize, faults: &str) -> PathBuf {
    let ws = dir.join("ws");
    fs::create_dir_all(&ws).unwrap();
    let calls = calls.to_string();
    let root = ws.join("root");
    ok(&[
        "simulate",
        "--out",
        path_str(&root),
        "--calls",
        &calls,
        "--seconds",
        "5",
        "--faults",
        faults,
        "--seed",
        "11",
        "--quiet",
    ]);
    ws
}

/// The recording a path under `root/` belongs to (or the archive a path
/// under `archive/` is, in either format).
fn recording_of(p: &Path) -> PathBuf {
    let mut parts = p.components();
    let top = parts
        .next()
        .map(|c| c.as_os_str().to_owned())
        .unwrap_or_default();
    let rec = parts
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    let rec = [".tar.gz", ".tar.age", ".tar.gz.age"]
        .iter()
        .fold(rec.as_str(), |r, s| r.strip_suffix(s).unwrap_or(r));
    Path::new(&top).join(rec)
}

fn prune_sweep(name: &str, policy_head: &str, action: &str) {
    if !strace_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path(), 3, "");
    if policy_head.contains("recipients_file") {
        // The private key stays beside, for the test's decryption only.
        let (_, public) = age_keygen(&ws, "key.txt");
        fs::write(ws.join("recipients.txt"), public).unwrap();
    }
    fs::write(
        ws.join("policy.toml"),
        format!(
            "{policy_head}\n[[rule]]\nname = \"old\"\nolder_than = \"30d\"\naction = \"{action}\"\n\
             [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n"
        ),
    )
    .unwrap();
    let args = |_: &Path| -> Vec<String> {
        [
            "prune",
            "root",
            "--policy",
            "policy.toml",
            "--apply",
            "--now",
            "2025-06-01T00:00:00Z",
        ]
        .map(String::from)
        .to_vec()
    };
    sweep(&Sweep {
        name,
        template: &ws,
        args: &args,
        log: &|w| w.join("root/.callscope/audit.jsonl"),
        unit: &recording_of,
    });
}

#[test]
fn prune_delete_killed_at_every_step() {
    prune_sweep("prune delete", "", "delete");
}

#[test]
fn prune_delete_audio_killed_at_every_step() {
    prune_sweep("prune delete-audio", "", "delete-audio");
}

#[test]
fn prune_archive_killed_at_every_step() {
    prune_sweep("prune archive", "archive_root = \"archive\"", "archive");
}

#[test]
fn prune_archive_tar_gz_killed_at_every_step() {
    prune_sweep(
        "prune archive tar.gz",
        "archive_root = \"archive\"\narchive_format = \"tar.gz\"",
        "archive",
    );
}

/// Encrypted to an age recipient, with no private key to check with: a
/// re-run that finds the archive in place proves it by the audit log.
#[test]
fn prune_archive_age_killed_at_every_step() {
    if !age_tool("prune_archive_age_killed_at_every_step") {
        return;
    }
    prune_sweep(
        "prune archive tar.age",
        "archive_root = \"archive\"\nrecipients_file = \"recipients.txt\"",
        "archive",
    );
}

#[test]
fn erase_killed_at_every_step() {
    if !strace_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path(), 3, "");
    let first = fs::read_dir(ws.join("root"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .min()
        .unwrap();
    let session = first.split('_').next().unwrap().to_string();
    let args = move |_: &Path| -> Vec<String> {
        vec![
            "erase".into(),
            "root".into(),
            "--session".into(),
            session.clone(),
            "--no-hold-list".into(),
            "--apply".into(),
        ]
    };
    sweep(&Sweep {
        name: "erase",
        template: &ws,
        args: &args,
        log: &|w| w.join("root/.callscope/audit.jsonl"),
        unit: &recording_of,
    });
}

#[test]
fn repair_killed_at_every_step() {
    if !strace_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // A crashed call (metadata recovered, final rebuilt), a header-only
    // mono (restored), zeroed sizes (headers rewritten), a missing final.
    let ws = workspace(
        tmp.path(),
        4,
        "crashed,header-only,zeroed-sizes,missing-final",
    );
    let args = |_: &Path| -> Vec<String> {
        ["repair", "root", "--settle", "0", "--quiet"]
            .map(String::from)
            .to_vec()
    };
    sweep(&Sweep {
        name: "repair",
        template: &ws,
        args: &args,
        log: &|w| w.join("root/.callscope/repair.jsonl"),
        // Repair promises each file old or new; a recording's files change
        // one action at a time.
        unit: &|p: &Path| p.to_path_buf(),
    });
}

/// What a report directory holds, if it is a whole one: every file its
/// manifest lists and nothing else (the manifest besides). None when it is
/// absent.
fn whole_report(dir: &Path) -> Option<BTreeSet<String>> {
    let manifest: Value =
        serde_json::from_slice(&fs::read(dir.join("callscope-report.json")).ok()?)
            .expect("a manifest that parses");
    let listed: BTreeSet<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .chain(["callscope-report.json".to_string()])
        .collect();
    // The HTML report's call pages are listed as calls/NAME.
    let present: BTreeSet<String> = fs::read_dir(dir)
        .unwrap()
        .flat_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() {
                fs::read_dir(e.path())
                    .unwrap()
                    .map(|f| format!("{name}/{}", f.unwrap().file_name().to_string_lossy()))
                    .collect()
            } else {
                vec![name]
            }
        })
        .collect();
    assert_eq!(
        present,
        listed,
        "{}: not the files its manifest lists",
        dir.display()
    );
    Some(present)
}

/// `run --replace` killed at every file-system step of writing a report and
/// swapping it for the earlier one: `--out` is always the earlier report or
/// the new one, whole (the new one writes no calls.jsonl, so a mix would
/// show), the recordings are untouched, and a re-run puts the new report in
/// place and clears what the killed run left.
#[test]
fn run_replace_killed_at_every_step() {
    if !strace_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    replace_sweep(&workspace(tmp.path(), 3, "none"), false);
}

/// The same on a FUSE mount (bindfs) that refuses the swap, as NFS does:
/// the earlier report is renamed aside and the new one in. Killed between
/// the two, `--out` is missing and the earlier report whole at
/// `.out.callscope-old`; the re-run puts it back, then replaces it.
#[test]
fn run_replace_on_fuse_killed_at_every_step() {
    if !strace_available() {
        return;
    }
    let Some(fuse) = FuseMount::new("run_replace_on_fuse_killed_at_every_step") else {
        return;
    };
    replace_sweep(&workspace(fuse.path(), 3, "none"), true);
}

/// `run --replace` killed at every step in `ws`; `two_step`: where the
/// swap is refused.
fn replace_sweep(ws: &Path, two_step: bool) {
    let ws = ws.to_path_buf();
    let before = tree(&ws.join("root"));
    let args = |format: &str| -> Vec<String> {
        [
            "run",
            "root",
            "-o",
            "reports/out",
            "--replace",
            "-q",
            "--fail-on",
            "never",
            "-a",
            "intents",
            "--format",
            format,
        ]
        .iter()
        .map(std::string::ToString::to_string)
        .collect()
    };
    assert!(run_in(&ws, &args("csv,json,html"), None).success());
    let old = whole_report(&ws.join("reports/out")).unwrap();
    assert!(old.contains("calls.jsonl"));
    // The earlier report has a folder of pages, which the swap moves whole.
    assert!(old.iter().any(|f| f.starts_with("calls/")), "{old:?}");
    let mut new = None;
    let mut tried = 0;
    for sc in [
        "openat",
        "write",
        "fsync",
        "mkdir",
        "rename",
        "renameat2",
        "unlinkat",
        "rmdir",
    ] {
        let mut n = 1;
        loop {
            // Back to the earlier report first.
            let _ = fs::remove_dir_all(ws.join("reports"));
            assert!(run_in(&ws, &args("csv,json,html"), None).success());
            let status = run_in(&ws, &args("csv"), Some((sc, n)));
            let killed = status.signal() == Some(9);
            let aside = ws.join("reports/.out.callscope-old");
            let out = whole_report(&ws.join("reports/out"))
                .or_else(|| {
                    assert!(two_step, "{sc} #{n}: no report at --out");
                    // Killed between the two renames: the earlier report,
                    // whole, aside.
                    let kept = whole_report(&aside);
                    assert_eq!(kept.as_ref(), Some(&old), "{sc} #{n}: nothing aside");
                    kept
                })
                .unwrap();
            assert!(
                out == old || !out.contains("calls.jsonl"),
                "{sc} #{n}: {out:?}"
            );
            assert_eq!(
                tree(&ws.join("root")),
                before,
                "{sc} #{n}: a recording changed"
            );
            // A re-run finishes the job and leaves no temporary directory.
            assert!(
                run_in(&ws, &args("csv"), None).success(),
                "{sc} #{n}: the re-run failed"
            );
            let done = whole_report(&ws.join("reports/out")).unwrap();
            assert!(!done.contains("calls.jsonl"), "{sc} #{n}");
            new.get_or_insert(done.clone());
            assert_eq!(Some(&done), new.as_ref());
            let temps: Vec<_> = fs::read_dir(ws.join("reports"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".callscope-tmp") || n.ends_with(".callscope-old"))
                .collect();
            assert!(temps.is_empty(), "{sc} #{n}: {temps:?}");
            if !killed {
                break;
            }
            tried += 1;
            n = next_point(n);
        }
    }
    assert!(tried > 20, "only {tried} kill points landed");
}
