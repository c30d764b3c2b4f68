//! Two of each command that changes recordings, started at once on the same
//! recordings, many times over: nothing is lost, no backup is empty, and no
//! file outside the commands' own (a hard-link snapshot taken before, as
//! rsync --link-dest keeps) ever changes.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;

const TRIALS: usize = 50;

/// Every regular file under `root` → its bytes, leaving out `.callscope/`.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    snapshot_except(root, Some(".callscope"))
        .into_iter()
        .map(|(p, (bytes, _))| (p, bytes))
        .collect()
}

/// The paths whose bytes differ between two trees (or that one lacks).
fn differing(a: &BTreeMap<PathBuf, Vec<u8>>, b: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<PathBuf> {
    a.keys()
        .chain(b.keys())
        .filter(|p| a.get(*p) != b.get(*p))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Run two commands at once; their exit codes.
fn both(a: &[String], b: &[String]) -> (i32, i32) {
    let spawn = |args: &[String]| {
        bin()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut x, mut y) = (spawn(a), spawn(b));
    let cx = x.wait().unwrap().code().unwrap_or(-1);
    let cy = y.wait().unwrap().code().unwrap_or(-1);
    (cx, cy)
}

/// Every backup callscope kept under `root`: none may be empty.
fn backups(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else if p.components().any(|c| c.as_os_str() == "backup") {
                out.push(p);
            }
        }
    }
    out
}

/// `trials` times: a fresh copy of `template`, a hard-link snapshot of it,
/// the two commands at once; then the snapshot is unchanged, the result is
/// what one command alone leaves, and each exit code is 0 or 75 (busy).
/// The two command lines of a trial, given its workspace.
type Commands<'a> = &'a dyn Fn(&Path) -> (Vec<String>, Vec<String>);

fn race(
    template: &Path,
    commands: Commands,
    root_of: &dyn Fn(&Path) -> PathBuf,
    may_both_run: bool,
) {
    let tmp = tempfile::tempdir().unwrap();
    let alone = tmp.path().join("alone");
    copy_tree(template, &alone, false);
    let (a, _) = commands(&alone);
    let code = bin().args(&a).status().unwrap().code();
    let want = files(&root_of(&alone));
    let mut busy = 0;
    for trial in 0..TRIALS {
        let ws = tmp.path().join(format!("t{trial}"));
        let snap = tmp.path().join(format!("s{trial}"));
        copy_tree(template, &ws, false);
        copy_tree(&ws, &snap, true);
        let snapped = files(&snap);
        let (a, b) = commands(&ws);
        let (ca, cb) = both(&a, &b);
        for c in [ca, cb] {
            // Running at once, one may find a file replaced under it by the
            // other, and stop that change (exit 1): nothing is lost by it.
            let raced = may_both_run && c == 1;
            assert!(
                c == code.unwrap_or(0) || c == 75 || raced,
                "trial {trial}: exit {c}"
            );
        }
        busy += usize::from(ca == 75) + usize::from(cb == 75);
        assert!(ca != 75 || cb != 75, "trial {trial}: both were refused");
        if !may_both_run {
            // One at a time: refused (75), or run after the other finished.
            assert!(ca == 75 || cb == 75 || ca == cb, "trial {trial}: {ca} {cb}");
        }
        let changed = differing(&files(&snap), &snapped);
        assert!(
            changed.is_empty(),
            "trial {trial}: a hard-linked snapshot changed: {changed:?}"
        );
        let wrong = differing(&files(&root_of(&ws)), &want);
        assert!(
            wrong.is_empty(),
            "trial {trial}: not what one run leaves: {wrong:?}"
        );
        for b in backups(&ws) {
            assert!(
                fs::metadata(&b).unwrap().len() > 0,
                "trial {trial}: empty backup {}",
                b.display()
            );
        }
        let audit = ws.join("root/.callscope/audit.jsonl");
        let audit = fs::read_to_string(audit).unwrap_or_default();
        assert!(!audit.contains("\"failed\""), "trial {trial}: {audit}");
        fs::remove_dir_all(&ws).unwrap();
        fs::remove_dir_all(&snap).unwrap();
    }
    eprintln!("{TRIALS} trials, {busy} command(s) refused as busy");
}

fn corpus(dir: &Path, faults: &str) -> PathBuf {
    let ws = dir.join("ws");
    fs::create_dir_all(&ws).unwrap();
    ok(&[
        "simulate",
        "--out",
        path_str(&ws.join("root")),
        "--calls",
        "3",
        "--seconds",
        "5",
        "--faults",
        faults,
        "--quiet",
    ]);
    ws
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(std::string::ToString::to_string).collect()
}

#[test]
fn two_repairs_of_one_root() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = corpus(tmp.path(), "header-only,zeroed-sizes,truncated-final");
    let cmd = |w: &Path| {
        let root = w.join("root").display().to_string();
        let a = strings(&["repair", &root, "--quiet"]);
        (a.clone(), a)
    };
    race(&ws, &cmd, &|w| w.join("root"), false);
}

#[test]
fn two_repairs_of_one_recording_through_two_roots() {
    // The root and one recording directory as roots of their own: two
    // locks, so both repairs really run at once on the same files. This is
    // the case the lock cannot prevent; the backups and the atomic
    // replacement must hold by themselves.
    let tmp = tempfile::tempdir().unwrap();
    let ws = corpus(tmp.path(), "header-only");
    let rec = fs::read_dir(ws.join("root"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .min()
        .unwrap();
    let cmd = move |w: &Path| {
        let root = w.join("root");
        (
            strings(&["repair", &root.display().to_string(), "--quiet"]),
            strings(&["repair", &root.join(&rec).display().to_string(), "--quiet"]),
        )
    };
    race(&ws, &cmd, &|w| w.join("root"), true);
}

#[test]
fn two_prunes_of_one_root() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = corpus(tmp.path(), "");
    fs::write(
        ws.join("policy.toml"),
        "archive_root = \"archive\"\n\
         [[rule]]\nname = \"a\"\nsession = \"[0-4]*\"\naction = \"archive\"\n\
         [[rule]]\nname = \"b\"\nsession = \"[5-9]*\"\naction = \"delete-audio\"\n\
         [[rule]]\nname = \"c\"\nolder_than = \"30d\"\naction = \"delete\"\n\
         [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n",
    )
    .unwrap();
    let cmd = |w: &Path| {
        let a = strings(&[
            "prune",
            &w.join("root").display().to_string(),
            "--policy",
            &w.join("policy.toml").display().to_string(),
            "--apply",
            "--now",
            "2025-06-01T00:00:00Z",
        ]);
        (a.clone(), a)
    };
    race(&ws, &cmd, &|w| w.to_path_buf(), false);
}

#[test]
fn two_erasures_of_one_root() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = corpus(tmp.path(), "");
    let first = fs::read_dir(ws.join("root"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .min()
        .unwrap();
    let session = first.split('_').next().unwrap().to_string();
    let cmd = move |w: &Path| {
        let a = strings(&[
            "erase",
            &w.join("root").display().to_string(),
            "--session",
            &session,
            "--no-hold-list",
            "--apply",
        ]);
        (a.clone(), a)
    };
    race(&ws, &cmd, &|w| w.join("root"), false);
}
