//! What callscope writes holds people's voices and words: every command
//! that writes a file, run with a umask of 022 (which would leave it
//! readable by everyone), leaves nothing readable by others unless
//! `--mode` asks; a recording file it replaces keeps its own mode.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use common::{bin, copy_samples, path_str};

/// Run callscope under umask 022; insist on an exit code in `want`.
fn under_umask_022(args: &[&str], want: &[i32]) -> String {
    let mut cmd = bin();
    cmd.args(args);
    // SAFETY: umask is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    assert!(want.contains(&code), "callscope {args:?}: {code}: {err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every path under `dir` (itself included), links not followed.
fn paths(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let Ok(m) = fs::symlink_metadata(&p) else {
            continue;
        };
        if m.is_dir() {
            for e in fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
        }
        out.insert(p);
    }
    out
}

/// The paths made since `before`, each with its mode, that give `others`
/// (mode bits, e.g. 0o007) any access.
fn exposed(dir: &Path, before: &BTreeSet<PathBuf>, others: u32) -> Vec<String> {
    paths(dir)
        .difference(before)
        .filter_map(|p| {
            let mode = fs::symlink_metadata(p).unwrap().mode() & 0o7777;
            (mode & others != 0).then(|| format!("{} {mode:04o}", p.display()))
        })
        .collect()
}

fn policy(ws: &Path, head: &str) -> PathBuf {
    policy_named(ws, "policy.toml", head)
}

fn policy_named(ws: &Path, name: &str, head: &str) -> PathBuf {
    let p = ws.join(name);
    fs::write(
        &p,
        format!(
            "{head}\n[[rule]]\nname = \"old\"\nolder_than = \"30d\"\naction = \"archive\"\n\
             [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n"
        ),
    )
    .unwrap();
    p
}

/// The commands that write files, in a workspace whose inputs are made
/// first; returns what the commands made.
fn every_writing_command(ws: &Path, mode: &[&str]) -> BTreeSet<PathBuf> {
    let s = |p: &Path| path_str(p).to_string();
    let store = copy_samples(ws);
    let sim = ws.join("sim");
    // Recordings repair finds work in, one of them readable by all, as a
    // recorder with umask 022 leaves them.
    under_umask_022(
        &[
            "simulate",
            "--out",
            &s(&sim),
            "--calls",
            "3",
            "--seconds",
            "5",
            "--faults",
            "header-only,zeroed-sizes,missing-final",
            "--seed",
            "5",
            "--quiet",
        ],
        &[0],
    );
    let p = policy(
        ws,
        &format!(
            "archive_root = \"{}\"\narchive_format = \"tar.gz\"",
            s(&ws.join("out/archive"))
        ),
    );
    // Encrypted archives of the simulated store, where the age tool is here
    // to make a key (CI installs it).
    let age = common::age_tool("private outputs: encrypted archives").then(|| {
        let (_, public) = common::age_keygen(ws, "key.txt");
        policy_named(
            ws,
            "age.toml",
            &format!(
                "archive_root = \"{}\"\nrecipients = [\"{public}\"]",
                s(&ws.join("out/archive-age"))
            ),
        )
    });
    let before = paths(ws);
    let with_mode = |args: &[&str]| -> Vec<String> {
        mode.iter()
            .chain(args)
            .map(std::string::ToString::to_string)
            .collect::<Vec<_>>()
    };
    let go = |args: &[&str], want: &[i32]| {
        let args = with_mode(args);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        under_umask_022(&refs, want)
    };
    // The samples hold findings: run exits 1.
    go(
        &[
            "run",
            &s(&store),
            "-o",
            &s(&ws.join("out/report")),
            "--metrics",
            &s(&ws.join("out/callscope.prom")),
        ],
        &[0, 1],
    );
    go(
        &["plan", &s(&store), "-o", &s(&ws.join("out/plan.json"))],
        &[0],
    );
    for k in 0..2 {
        go(
            &[
                "run",
                "--plan",
                &s(&ws.join("out/plan.json")),
                "--shard",
                &format!("{k}/2"),
                "-o",
                &s(&ws.join(format!("out/shard{k}"))),
            ],
            &[0, 1],
        );
    }
    go(
        &[
            "merge",
            &s(&ws.join("out/shard0")),
            &s(&ws.join("out/shard1")),
            "-o",
            &s(&ws.join("out/merged")),
        ],
        &[0, 1],
    );
    let first = fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .min()
        .unwrap();
    go(
        &["export", &s(&first), "-o", &s(&ws.join("out/t.txt"))],
        &[0],
    );
    go(
        &[
            "export",
            &s(&first),
            "-o",
            &s(&ws.join("out/t.vtt")),
            "--format",
            "vtt",
        ],
        &[0],
    );
    go(
        &["show", &s(&first), "--html", &s(&ws.join("out/call.html"))],
        &[0],
    );
    go(&["man", "--dir", &s(&ws.join("out/man"))], &[0]);
    go(
        &[
            "simulate",
            "--out",
            &s(&ws.join("out/sim")),
            "--truth",
            &s(&ws.join("out/truth")),
            "--calls",
            "1",
            "--seconds",
            "5",
            "--quiet",
        ],
        &[0],
    );
    // Backups, the repair log and the repaired files.
    go(&["repair", &s(&sim), "--settle", "0", "--quiet"], &[0]);
    // The audit log, the trash and archives.
    go(
        &[
            "prune",
            &s(&store),
            "--policy",
            &s(&p),
            "--now",
            "2030-01-01T00:00:00Z",
            "--settle",
            "0",
            "--apply",
            "--audit",
            &s(&ws.join("out/audit.jsonl")),
        ],
        &[0],
    );
    if let Some(age) = &age {
        go(
            &[
                "prune",
                &s(&ws.join("out/sim")),
                "--policy",
                &s(age),
                "--now",
                "2030-01-01T00:00:00Z",
                "--settle",
                "0",
                "--apply",
            ],
            &[0],
        );
    }
    let made: BTreeSet<PathBuf> = paths(ws).difference(&before).cloned().collect();
    for want in [
        "out/report/calls.csv",
        "out/report/report.html",
        "out/report/calls",
        "out/callscope.prom",
        "out/plan.json",
        "out/merged/utterances.csv",
        "out/t.txt",
        "out/call.html",
        "out/man/callscope.1",
        "out/sim",
        "out/audit.jsonl",
        "out/archive",
        "sim/.callscope/repair.jsonl",
    ] {
        assert!(made.contains(&ws.join(want)), "{want} was not written");
    }
    let encrypted = if age.is_some() { ".tar.age" } else { ".tar.gz" };
    for (what, part) in [
        ("archive", ".tar.gz"),
        ("encrypted archive", encrypted),
        ("backup", "/.callscope/backup/"),
    ] {
        assert!(
            made.iter().any(|p| p.to_string_lossy().contains(part)),
            "no {what} was written"
        );
    }
    before
}

#[test]
fn nothing_callscope_writes_is_readable_by_others() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path();
    // What the recorder's umask left: a repaired file keeps its 0644.
    let before = every_writing_command(ws, &[]);
    let open = exposed(ws, &before, 0o077);
    assert!(open.is_empty(), "readable by group or others: {open:#?}");
    let made = paths(ws).difference(&before).count();
    assert!(made > 100, "only {made} paths were made");
}

#[test]
fn mode_lets_a_group_read_and_no_one_else() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path();
    let before = every_writing_command(ws, &["--mode", "0640"]);
    let open = exposed(ws, &before, 0o027);
    assert!(open.is_empty(), "more than 0750/0640: {open:#?}");
    let m = |p: &str| fs::metadata(ws.join(p)).unwrap().mode() & 0o777;
    assert_eq!(m("out/report"), 0o750);
    assert_eq!(m("out/report/calls.csv"), 0o640);
    assert_eq!(m("out/plan.json"), 0o640);
}

#[test]
fn a_replaced_recording_file_keeps_its_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    under_umask_022(
        &[
            "simulate",
            "--out",
            path_str(&sim),
            "--calls",
            "2",
            "--seconds",
            "5",
            "--faults",
            "zeroed-sizes",
            "--seed",
            "3",
            "--quiet",
        ],
        &[0],
    );
    // The recorder's files as it left them: 0644 and 0640.
    let mut modes = Vec::new();
    for (i, f) in paths(&sim)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .enumerate()
    {
        let mode = if i % 2 == 0 { 0o644 } else { 0o640 };
        fs::set_permissions(&f, fs::Permissions::from_mode(mode)).unwrap();
        modes.push((f.clone(), mode, fs::metadata(&f).unwrap().ino()));
    }
    under_umask_022(
        &["repair", path_str(&sim), "--settle", "0", "--quiet"],
        &[0],
    );
    let mut replaced = 0;
    for (f, mode, ino) in modes {
        let m = fs::metadata(&f).unwrap();
        replaced += usize::from(m.ino() != ino);
        assert_eq!(m.mode() & 0o777, mode, "{}", f.display());
    }
    assert!(replaced > 0, "repair replaced no WAV");
}

#[test]
fn a_bad_mode_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    for (mode, says) in [
        ("0755", "execute"),
        ("0400", "0600 at least"),
        ("rw-r--r--", "octal"),
        ("0700/0640", "0750/0640"),
    ] {
        let out = tmp.path().join("sim");
        let o = bin()
            .args(["--mode", mode, "simulate", "--out", path_str(&out)])
            .args(["--calls", "1", "--seconds", "5", "--quiet"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{mode}: {err}");
        assert!(err.contains(says), "{mode}: {err}");
        assert!(!out.exists(), "{mode}: something was written");
    }
}

#[test]
fn callscope_mode_in_the_environment_stands_for_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let out = tmp.path().join("plan.json");
    let o = bin()
        .args(["plan", path_str(&root), "-o", path_str(&out)])
        .env("CALLSCOPE_MODE", "0640")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::metadata(&out).unwrap().mode() & 0o777, 0o640);
    // The command line wins.
    fs::remove_file(&out).unwrap();
    let o = bin()
        .args([
            "--mode",
            "0600",
            "plan",
            path_str(&root),
            "-o",
            path_str(&out),
        ])
        .env("CALLSCOPE_MODE", "0644")
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(fs::metadata(&out).unwrap().mode() & 0o777, 0o600);
}
