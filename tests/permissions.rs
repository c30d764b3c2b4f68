//! The permissions audit: `check` says who else can read or change a
//! recording, and nothing on a private store; `repair --fix-permissions`
//! takes away exactly those bits, never through a link, and logs it;
//! plain `repair` leaves modes alone.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_samples, path_str, run};
use serde_json::Value;

fn chmod_r(path: &Path, how: &str) {
    assert!(Command::new("chmod")
        .args(["-R", how])
        .arg(path)
        .status()
        .unwrap()
        .success());
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

/// A copy of the samples made private (0700 directories, 0600 files), and
/// its recordings by name.
fn private_store(dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let root = copy_samples(dir);
    common::make_private(&root);
    let mut recs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    recs.sort();
    (root, recs)
}

fn check_json(root: &Path) -> (i32, Value) {
    let (code, out, err) = run(&["check", path_str(root), "--json", "--settle", "0"]);
    assert!(code == 0 || code == 1, "{err}");
    (code, serde_json::from_str(&out).unwrap())
}

/// The perm.* codes of each recording, by name.
fn perm_codes(report: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in report["recordings"].as_array().unwrap() {
        for f in r["findings"].as_array().unwrap() {
            let code = f["code"].as_str().unwrap();
            if code.starts_with("perm.") {
                out.push((
                    r["recording"].as_str().unwrap().to_string(),
                    code.to_string(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn check_flags_readable_and_writable_recordings_and_nothing_on_a_private_store() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, recs) = private_store(tmp.path());
    let (_, report) = check_json(&root);
    assert_eq!(perm_codes(&report), vec![], "a 0700/0600 store");
    let (_, text, _) = run(&["check", path_str(&root), "--settle", "0"]);
    assert!(
        !text.contains("perm.") && !text.contains("permissions:"),
        "{text}"
    );

    // One recording as a recorder with umask 022 leaves it; one file of
    // another writable by its group.
    chmod_r(&recs[0], "go+rX");
    let wav = recs[1].join("caller_audio.wav");
    fs::set_permissions(&wav, fs::Permissions::from_mode(0o660)).unwrap();
    let (code, report) = check_json(&root);
    assert_eq!(
        perm_codes(&report),
        vec![
            (name(&recs[0]), "perm.world_readable".to_string()),
            (name(&recs[1]), "perm.group_writable".to_string()),
        ]
    );
    let p = &report["permissions"];
    assert_eq!(p["world_readable"], 1);
    assert_eq!(p["group_writable"], 1);
    assert_eq!(p["root_mode"], "0700");
    assert_eq!(p["root_readable_by_others"], false);
    let finding = report["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["recording"] == name(&recs[1]).as_str())
        .unwrap()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "perm.group_writable")
        .unwrap()
        .clone();
    let msg = finding["message"].as_str().unwrap();
    assert!(msg.contains("caller_audio.wav (0660)"), "{msg}");
    // One recording file alone: filed under it.
    assert_eq!(finding["file"], "caller_audio.wav");
    // Warnings: check's exit code is not changed by them alone.
    let (code_private, _) = {
        let t2 = tempfile::tempdir().unwrap();
        let (r2, _) = private_store(t2.path());
        check_json(&r2)
    };
    assert_eq!(code, code_private);

    // A world-writable recording is an error; the store root readable by
    // all is said in the summary line.
    fs::set_permissions(&recs[2], fs::Permissions::from_mode(0o777)).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
    let (code, report) = check_json(&root);
    assert_eq!(code, 1);
    let r2 = report["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["recording"] == name(&recs[2]).as_str())
        .unwrap()
        .clone();
    assert_eq!(r2["status"], "error");
    assert!(perm_codes(&report).contains(&(name(&recs[2]), "perm.world_writable".into())));
    let (_, text, _) = run(&["check", path_str(&root), "--settle", "0"]);
    let line = text.lines().last().unwrap();
    assert!(
        line.starts_with("permissions: the store root")
            && line.contains("is 0755")
            && line.contains("2 recording(s) group-writable")
            && line.contains("1 recording(s) writable by others"),
        "{line}"
    );
}

#[test]
fn check_names_files_of_another_owner() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        eprintln!("SKIPPED check_names_files_of_another_owner: needs root to chown");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (root, recs) = private_store(tmp.path());
    let f = recs[3].join("transcript.json");
    std::os::unix::fs::chown(&f, Some(65534), None).unwrap();
    let (_, report) = check_json(&root);
    assert_eq!(
        perm_codes(&report),
        vec![(name(&recs[3]), "perm.owner_mismatch".to_string())]
    );
    assert_eq!(report["permissions"]["owner_mismatch"], 1);
}

#[test]
fn repair_fixes_permissions_only_when_asked_never_through_a_link_and_logs_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, recs) = private_store(tmp.path());
    chmod_r(&recs[0], "go+rX");
    fs::set_permissions(
        recs[1].join("bot_audio.wav"),
        fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    // A file outside the store, readable by all, linked from a recording:
    // its mode is someone else's.
    let outside = tmp.path().join("outside.txt");
    fs::write(&outside, "not a recording").unwrap();
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&outside, recs[0].join("notes.txt")).unwrap();

    let repair = |extra: &[&str]| {
        let mut args = vec!["repair", path_str(&root), "--settle", "0"];
        args.extend_from_slice(extra);
        run(&args)
    };
    // Plain repair changes no mode.
    let before = mode(&recs[1].join("bot_audio.wav"));
    let (code, _, err) = repair(&["-q"]);
    assert!(code == 0 || code == 1, "{err}");
    assert_eq!(mode(&recs[1].join("bot_audio.wav")), before);
    assert_eq!(mode(&recs[0].join("caller_audio.wav")), 0o644);

    // A dry run says what it would do and does nothing.
    let (_, out, _) = repair(&["--fix-permissions", "--dry-run"]);
    assert!(out.contains("bot_audio.wav 0666 → 0640 [planned]"), "{out}");
    assert_eq!(mode(&recs[1].join("bot_audio.wav")), 0o666);

    let (code, out, err) = repair(&["--fix-permissions"]);
    assert!(code == 0 || code == 1, "{err}");
    assert!(out.contains("bot_audio.wav 0666 → 0640 [done]"), "{out}");
    assert_eq!(mode(&recs[1].join("bot_audio.wav")), 0o640);
    assert_eq!(mode(&recs[0]), 0o750);
    assert_eq!(mode(&recs[0].join("caller_audio.wav")), 0o640);
    assert_eq!(mode(&outside), 0o644, "the link's target was changed");
    let (_, report) = check_json(&root);
    assert_eq!(perm_codes(&report), vec![]);
    let log = fs::read_to_string(root.join(".callscope/repair.jsonl")).unwrap();
    let chmods: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["event"] == "chmod")
        .collect();
    assert!(chmods
        .iter()
        .any(|l| l["recording"] == name(&recs[1]).as_str()
            && l["path"] == "bot_audio.wav"
            && l["mode_before"] == "0666"
            && l["mode_after"] == "0640"
            && l["result"] == "ok"));
    // Run again: nothing left to change, nothing logged.
    let (_, out, _) = run(&[
        "repair",
        path_str(&root),
        "--settle",
        "0",
        "--fix-permissions",
    ]);
    assert!(!out.contains("chmod"), "{out}");
    let again = fs::read_to_string(root.join(".callscope/repair.jsonl")).unwrap();
    assert_eq!(again.lines().count(), log.lines().count());
}
