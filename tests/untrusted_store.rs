//! What callscope finds in a store (or at an output path) it does not
//! trust: links, FIFOs and directories where it keeps its own state, stray
//! recorder files, hold lists as editors save them, far-off timestamps.
//! Each test plants the thing end to end and checks nothing outside the
//! store changed and nothing held was deleted.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt};
use std::path::{Path, PathBuf};

use common::*;

const NOW: &str = "2030-01-01T00:00:00Z";
const NORMAL: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7_20241201_143022";
const SESSION: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
const BROKEN_FINAL: &str = "session_123_20241205_080001";

/// A directory outside the store with a file in it, and its contents.
fn outside(dir: &Path) -> (PathBuf, PathBuf) {
    let out = dir.join("outside");
    fs::create_dir_all(out.join("sub")).unwrap();
    let file = out.join("precious.txt");
    fs::write(&file, b"someone else's data\n").unwrap();
    fs::write(out.join("sub/more.txt"), b"more\n").unwrap();
    (out, file)
}

fn assert_outside_untouched(out: &Path) {
    assert_eq!(
        fs::read(out.join("precious.txt")).unwrap(),
        b"someone else's data\n",
        "a file outside the store was changed"
    );
    assert_eq!(fs::read(out.join("sub/more.txt")).unwrap(), b"more\n");
    assert_eq!(
        fs::read_dir(out).unwrap().count(),
        2,
        "something was added to or removed from a directory outside the store"
    );
}

fn policy(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("policy.toml");
    fs::write(&p, body).unwrap();
    p
}

const KEEP_ALL: &str = "[[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n";
const DELETE_ALL: &str = "[[rule]]\nname = \"all\"\nolder_than = \"1d\"\naction = \"delete\"\n\n[[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n";

#[test]
fn a_linked_trash_or_state_directory_stops_prune_and_erase_before_anything() {
    let t = tempfile::tempdir().unwrap();
    let root = copy_samples(t.path());
    let (out, _) = outside(t.path());
    fs::create_dir(root.join(".callscope")).unwrap();
    symlink(&out, root.join(".callscope/trash")).unwrap();
    let keep = policy(t.path(), KEEP_ALL);
    let before = snapshot(&root);
    let (code, _, err) = prune_at(&root, &keep, NOW, &["--apply"]);
    assert_ne!(code, 0, "a linked trash must fail the prune: {err}");
    assert!(
        err.contains(".callscope/trash") && err.contains("symlink"),
        "{err}"
    );
    assert_outside_untouched(&out);
    let (code, _, err) = run(&[
        "erase",
        path_str(&root),
        "--session",
        "no-such-session",
        "--no-hold-list",
        "--apply",
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("trash") && err.contains("symlink"), "{err}");
    assert_outside_untouched(&out);
    // A delete-everything policy with the trash linked deletes nothing.
    let delete = policy(t.path(), DELETE_ALL);
    let (code, _, err) = prune_at(&root, &delete, NOW, &["--apply"]);
    assert_ne!(code, 0, "{err}");
    assert_outside_untouched(&out);
    let now: Vec<_> = snapshot(&root)
        .into_keys()
        .filter(|p| !p.starts_with(".callscope"))
        .collect();
    let was: Vec<_> = before.into_keys().collect();
    assert_eq!(
        now, was,
        "no recording may go while the trash is not callscope's own"
    );

    // `.callscope` itself a link: refused the same way.
    fs::remove_file(root.join(".callscope/trash")).unwrap();
    fs::remove_dir_all(root.join(".callscope")).unwrap();
    symlink(&out, root.join(".callscope")).unwrap();
    let (code, _, err) = prune_at(&root, &delete, NOW, &["--apply"]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains(".callscope") && err.contains("symlink"),
        "{err}"
    );
    assert_outside_untouched(&out);
    assert!(root.join(NORMAL).join("caller_audio.wav").exists());
}

#[test]
fn locks_and_logs_are_never_written_through_a_link() {
    let t = tempfile::tempdir().unwrap();
    let root = copy_samples(t.path());
    let (out, precious) = outside(t.path());
    fs::create_dir(root.join(".callscope")).unwrap();
    for name in ["lock", "audit.jsonl", "repair.jsonl"] {
        symlink(&precious, root.join(".callscope").join(name)).unwrap();
        let (code, _, err) = match name {
            "audit.jsonl" => prune_at(&root, &policy(t.path(), DELETE_ALL), NOW, &["--apply"]),
            _ => run(&["repair", path_str(&root), "--quiet"]),
        };
        assert_ne!(code, 0, "{name} linked outside: {err}");
        assert!(err.contains(name), "the error names {name}: {err}");
        assert_outside_untouched(&out);
        fs::remove_file(root.join(".callscope").join(name)).unwrap();
    }
    // A FIFO at the lock: refused at once, not opened and waited on.
    let fifo = root.join(".callscope/lock");
    let _ = fs::remove_file(&fifo);
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let (code, _, err) = run(&["repair", path_str(&root), "--quiet"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("FIFO"), "{err}");
    fs::remove_file(&fifo).unwrap();

    // The lock beside a report directory.
    let reports = t.path().join("reports");
    fs::create_dir(&reports).unwrap();
    symlink(&precious, reports.join(".night.callscope-lock")).unwrap();
    let (code, _, err) = run(&[
        "run",
        path_str(&root),
        "-o",
        path_str(&reports.join("night")),
        "-a",
        "intents",
        "--quiet",
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains(".night.callscope-lock"), "{err}");
    assert_outside_untouched(&out);
    assert!(!reports.join("night").exists());
}

#[test]
fn a_linked_backup_folder_in_a_recording_keeps_no_original_outside() {
    let t = tempfile::tempdir().unwrap();
    let root = copy_samples(t.path());
    let (out, _) = outside(t.path());
    let rec = root.join(BROKEN_FINAL);
    symlink(&out, rec.join(".callscope")).unwrap();
    let final_before = fs::read(rec.join("final_stereo_recording.wav")).unwrap();
    let (code, _, err) = run(&["repair", path_str(&root), "--quiet"]);
    assert_ne!(code, 0, "the repair of that recording fails: {err}");
    assert!(
        err.contains(".callscope") && err.contains("symlink"),
        "{err}"
    );
    assert_outside_untouched(&out);
    // Not backed up means not replaced.
    assert_eq!(
        fs::read(rec.join("final_stereo_recording.wav")).unwrap(),
        final_before
    );
}

/// Six simulated recordings in `root/2024/12/`, the second holding a
/// LEGAL_HOLD file, and a stray `transcript.json` beside them.
fn store_with_a_stray_file(t: &Path) -> (PathBuf, Vec<String>) {
    let (rec, _) = simulate(t, 6, 6, &[]);
    let root = t.join("store");
    let month = root.join("2024/12");
    fs::create_dir_all(&month).unwrap();
    let mut names: Vec<String> = fs::read_dir(&rec)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in &names {
        fs::rename(rec.join(n), month.join(n)).unwrap();
    }
    fs::write(month.join(&names[1]).join("LEGAL_HOLD"), b"matter 117\n").unwrap();
    fs::copy(
        month.join(&names[0]).join("transcript.json"),
        month.join("transcript.json"),
    )
    .unwrap();
    (root, names)
}

#[test]
fn a_stray_recorder_file_never_swallows_the_recordings_below_it() {
    let t = tempfile::tempdir().unwrap();
    let (root, names) = store_with_a_stray_file(t.path());
    let listed = ok(&["list", path_str(&root), "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let listed = listed.as_array().expect("list --json is an array");
    assert_eq!(listed.len(), 6, "{listed:?}");
    // Erasing the stray file's "session" (its directory's name) erases nothing.
    let (code, _, err) = run(&[
        "erase",
        path_str(&root),
        "--session",
        "12",
        "--no-hold-list",
        "--apply",
    ]);
    assert_eq!(code, 1, "no recording of session 12: {err}");
    assert!(err.contains("no recording of session 12"), "{err}");
    for n in &names {
        assert!(
            root.join("2024/12")
                .join(n)
                .join("caller_audio.wav")
                .exists(),
            "{n}: {err}"
        );
    }
    // A rule that matches everything deletes the five, never the held one,
    // and never the stray file's directory as a whole.
    let delete = policy(t.path(), DELETE_ALL);
    let (_, _, err) = prune_at(&root, &delete, NOW, &["--apply"]);
    let month = root.join("2024/12");
    assert!(month.join("transcript.json").exists(), "{err}");
    assert!(month.join(&names[1]).join("LEGAL_HOLD").exists(), "{err}");
    assert!(
        month.join(&names[1]).join("caller_audio.wav").exists(),
        "{err}"
    );
    for n in names.iter().filter(|n| **n != names[1]) {
        assert!(!month.join(n).exists(), "{n} was due: {err}");
    }
}

#[test]
fn hold_lists_are_read_as_editors_write_them_and_near_miss_holds_hold() {
    let t = tempfile::tempdir().unwrap();
    let delete_with_list = |list: &[u8]| {
        let root = t.path().join("root");
        let _ = fs::remove_dir_all(&root);
        let root = copy_samples(t.path());
        fs::write(t.path().join("holds.txt"), list).unwrap();
        let p = policy(
            t.path(),
            &format!("hold_list = \"holds.txt\"\n{DELETE_ALL}"),
        );
        let (code, _, err) = prune_at(&root, &p, NOW, &["--apply"]);
        (code, root, err)
    };
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            format!("{SESSION}\r\n")
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    for (what, list) in [
        (
            "a UTF-8 byte-order mark",
            format!("\u{feff}{SESSION}\n").into_bytes(),
        ),
        (
            "spaces and a comment",
            format!("  {SESSION}   # matter 117\n").into_bytes(),
        ),
        (
            "CRLF line ends",
            format!("# holds\r\n{SESSION}\r\n").into_bytes(),
        ),
        ("upper case", SESSION.to_uppercase().into_bytes()),
        ("UTF-16 with a byte-order mark", utf16),
    ] {
        let (_, root, err) = delete_with_list(&list);
        assert!(
            root.join(NORMAL).join("caller_audio.wav").exists(),
            "hold list with {what}: the held recording was deleted: {err}"
        );
        assert!(
            !root.join(BROKEN_FINAL).exists(),
            "{what}: the others were due"
        );
    }
    // A list that is not text fails closed: the policy is refused, nothing goes.
    let (code, root, err) = delete_with_list(&[0xC3, 0x28, b'\n']);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("holds.txt"), "{err}");
    assert!(root.join(BROKEN_FINAL).exists());

    // Hold files as people name them.
    for name in ["LEGAL_HOLD.txt", "legal_hold", "Legal-Hold.md"] {
        let root = t.path().join("root");
        let _ = fs::remove_dir_all(&root);
        let root = copy_samples(t.path());
        fs::write(root.join(NORMAL).join(name), b"keep\n").unwrap();
        let (_, _, err) = prune_at(&root, &policy(t.path(), DELETE_ALL), NOW, &["--apply"]);
        assert!(
            root.join(NORMAL).join("caller_audio.wav").exists(),
            "{name}: {err}"
        );
        assert!(!root.join(BROKEN_FINAL).exists(), "{name}");
    }
}

/// Run callscope, killed if it has not finished in two minutes (a hang,
/// not a timing): (exit code, or None when it had to be killed; stderr).
fn run_bounded(args: &[&str]) -> (Option<i32>, String) {
    let mut child = bin()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (st.code(), err);
        }
        if std::time::Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            return (None, "killed after 120 s".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn far_off_timestamps_draw_a_page_the_size_of_the_call() {
    let t = tempfile::tempdir().unwrap();
    let root = copy_samples(t.path());
    let meta = root.join(NORMAL).join("call_metadata.json");
    let clean = fs::read(&meta).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, Edit); 6] = [
        ("a function call in 9999", |m| {
            m["function_calls"][0]["timestamp"] = "9999-12-31T23:59:59+00:00".into();
        }),
        ("a function call a year late", |m| {
            m["function_calls"][0]["timestamp"] = "2025-12-01T14:30:26+00:00".into();
        }),
        ("a start in year 0", |m| {
            m["start_time"] = "0000-01-01T00:00:00+00:00".into();
        }),
        ("a duration of 1e11 s", |m| {
            m["duration_seconds"] = 1e11.into();
        }),
        ("a duration of 1e308 s", |m| {
            m["duration_seconds"] = 1e308.into();
        }),
        ("a start in 2999", |m| {
            m["start_time"] = "2999-01-01T00:00:00+00:00".into();
        }),
    ];
    // The codes `check` finds on the call.
    let codes = || -> Vec<String> {
        let (_, out, err) = run(&["check", path_str(&root), "--json", "--quiet"]);
        let report: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|_| panic!("{err}"));
        let rec = report["recordings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["recording"] == NORMAL)
            .unwrap()
            .clone();
        rec["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!codes().contains(&"json.time_range".to_string()));
    let page = t.path().join("page.html");
    let show = || {
        run_bounded(&[
            "show",
            "--root",
            path_str(&root),
            NORMAL,
            "--html",
            path_str(&page),
        ])
    };
    let (code, err) = show();
    assert_eq!(code, Some(0), "{err}");
    let clean_size = fs::metadata(&page).unwrap().len();
    for (what, edit) in cases {
        fs::write(&meta, &clean).unwrap();
        edit_json(&meta, edit);
        // Said, where the user looks.
        assert!(codes().contains(&"json.time_range".to_string()), "{what}");
        let (code, err) = show();
        assert_eq!(code, Some(0), "{what}: {err}");
        let size = fs::metadata(&page).unwrap().len();
        if what.contains("function call") {
            // A mark off the call is said, not drawn.
            let text = fs::read_to_string(&page).unwrap();
            assert!(text.contains("lie outside the call's"), "{what}: not said");
        }
        assert!(
            size < 2 * clean_size,
            "{what}: a {size}-byte page for a {clean_size}-byte call"
        );
        let out = t.path().join("out");
        let _ = fs::remove_dir_all(&out);
        let (code, err) = run_bounded(&[
            "run",
            path_str(&root),
            "-o",
            path_str(&out),
            "--format",
            "csv,html",
            "--quiet",
            "--settle",
            "0",
            "--fail-on",
            "never",
        ]);
        assert_eq!(code, Some(0), "{what}: {err}");
        let call_page = fs::read_dir(out.join("calls"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(SESSION))
            .unwrap();
        assert!(
            fs::metadata(call_page).unwrap().len() < 2 * clean_size,
            "{what}"
        );
    }
}

#[test]
fn a_temporary_report_of_another_node_sharing_the_directory_is_left_alone() {
    let t = tempfile::tempdir().unwrap();
    let root = copy_samples(t.path());
    let parts = t.path().join("parts");
    fs::create_dir(&parts).unwrap();
    // A pid that is free here (above pid_max), written on another machine:
    // a live shard there. And one of this format with no machine: a dead
    // run's here, which goes.
    let foreign = parts.join(".part-1.2147483646-0badcafe-Ab12Cd.callscope-tmp");
    let dead_here = parts.join(".part-1.2147483646-Ab12Cd.callscope-tmp");
    for d in [&foreign, &dead_here] {
        fs::create_dir(d).unwrap();
        fs::write(d.join("calls.csv"), b"being written\n").unwrap();
    }
    let (code, _, err) = run(&[
        "run",
        path_str(&root),
        "-o",
        path_str(&parts.join("part-1")),
        "-a",
        "intents",
        "--quiet",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        foreign.join("calls.csv").exists(),
        "another node's live shard was deleted"
    );
    assert!(
        !dead_here.exists(),
        "a dead run's temporary directory here is removed"
    );
}

#[test]
fn merge_takes_a_part_whole_or_not_at_all() {
    let t = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(t.path(), 4, 5, &[]);
    let part = t.path().join("part");
    ok(&[
        "run",
        path_str(&rec),
        "-o",
        path_str(&part),
        "-a",
        "intents",
        "--quiet",
    ]);
    let partial = part.join("partial.jsonl");
    let whole = fs::read_to_string(&partial).unwrap();
    let lines: Vec<&str> = whole.lines().collect();
    assert_eq!(lines.len(), 4);
    let merged = t.path().join("merged");
    for (what, text) in [
        (
            "the last line missing",
            format!("{}\n", lines[..3].join("\n")),
        ),
        ("emptied", String::new()),
        (
            "a line twice",
            format!("{}\n{}\n", lines[..3].join("\n"), lines[0]),
        ),
    ] {
        fs::write(&partial, &text).unwrap();
        let (code, _, err) = run(&["merge", path_str(&part), "-o", path_str(&merged)]);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.contains("partial.jsonl"), "{what}: {err}");
        assert!(!merged.exists(), "{what}");
    }
    // A call named outside its root.
    let outside = lines[0].replacen("\"recording\":\"", "\"recording\":\"../", 1);
    assert_ne!(outside, lines[0], "the row names its recording");
    fs::write(&partial, format!("{outside}\n{}\n", lines[1..].join("\n"))).unwrap();
    let (code, _, err) = run(&["merge", path_str(&part), "-o", path_str(&merged)]);
    assert_eq!(code, 2, "{err}");
    fs::write(&partial, &whole).unwrap();
    ok(&["merge", path_str(&part), "-o", path_str(&merged)]);
    assert_eq!(calls(&merged).len(), 4);

    // A manifest that claims 2^40 shards: refused, not sized by.
    edit_json(&part.join("callscope-report.json"), |m| {
        m["plan"] = serde_json::json!({"id": "x", "shard": 0, "shards": 1u64 << 40});
    });
    let (code, _, err) = run(&[
        "merge",
        path_str(&part),
        "-o",
        path_str(&t.path().join("m2")),
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn output_paths_never_replace_what_is_not_a_plain_file_or_land_in_a_recording() {
    let t = tempfile::tempdir().unwrap();
    let root = copy_samples(t.path());
    let (out, precious) = outside(t.path());
    let fifo = t.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let link = t.path().join("link");
    symlink(&precious, &link).unwrap();
    let rec = root.join(NORMAL);
    let other = root.join(BROKEN_FINAL);
    let before = snapshot(&root);
    let policy = policy(t.path(), KEEP_ALL);
    let plan_in_root = root.join("plan.json");
    for target in [
        &fifo,
        &link,
        &rec.join("transcript.json"),
        &other.join("caller_audio.wav"),
    ] {
        let tgt = path_str(target);
        for args in [
            vec!["export", "--root", path_str(&root), NORMAL, "-o", tgt],
            vec!["show", "--root", path_str(&root), NORMAL, "--html", tgt],
            vec!["plan", path_str(&root), "-o", tgt],
            vec![
                "run",
                path_str(&root),
                "-o",
                path_str(&t.path().join("r")),
                "-a",
                "intents",
                "--metrics",
                tgt,
            ],
            vec![
                "prune",
                path_str(&root),
                "--policy",
                path_str(&policy),
                "--apply",
                "--audit",
                tgt,
            ],
        ] {
            let (code, err) = run_bounded(&args);
            assert_eq!(code, Some(2), "{args:?}: {err}");
            assert!(err.contains(tgt), "{args:?}: {err}");
        }
    }
    let (code, err) = run_bounded(&["plan", path_str(&root), "-o", path_str(&plan_in_root)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_outside_untouched(&out);
    let now = snapshot(&root);
    assert_eq!(
        now.keys()
            .filter(|p| !p.starts_with(".callscope"))
            .collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    for (p, (bytes, _)) in &before {
        assert_eq!(&now[p].0, bytes, "{} changed", p.display());
    }
    // `-` is standard output.
    let text = ok(&["export", "--root", path_str(&root), NORMAL, "-o", "-"]);
    assert!(text.contains("lost"), "{text}");
}

#[test]
fn out_of_range_options_and_names_are_errors_not_crashes() {
    let t = tempfile::tempdir().unwrap();
    let root = copy_samples(t.path());
    let (code, _, err) = run(&["repair", path_str(&root), "--wait", "99999999999999999999h"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["repair", path_str(&root), "--wait", "400d"]);
    assert_eq!(code, 2, "{err}");
    // A recording whose name starts with `-` is given to the player as a path.
    let dash = t.path().join("-dash");
    fs::create_dir(&dash).unwrap();
    copy_tree(&root.join(NORMAL), &dash.join(NORMAL), false);
    let log = t.path().join("args");
    let player = t.path().join("player.sh");
    fs::write(
        &player,
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > {}\n", path_str(&log)),
    )
    .unwrap();
    fs::set_permissions(&player, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let st = bin()
        .current_dir(t.path())
        .args([
            "play",
            "--root=-dash",
            NORMAL,
            "--player",
            path_str(&player),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let said = fs::read_to_string(&log).unwrap();
    assert!(
        !said.starts_with('-'),
        "the player was given an option: {said}"
    );
    assert!(
        said.trim_end().ends_with("final_stereo_recording.wav"),
        "{said}"
    );
}

#[test]
fn a_plan_is_read_not_trusted() {
    let t = tempfile::tempdir().unwrap();
    let root = copy_samples(t.path());
    let plan = t.path().join("plan.json");
    ok(&[
        "plan",
        path_str(&root),
        "-o",
        path_str(&plan),
        "--settle",
        "0",
    ]);
    let clean = fs::read(&plan).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, Edit, &str); 4] = [
        (
            "a recording outside the root",
            |p| p["recordings"][0]["recording"] = "../outside".into(),
            "not a path inside the root",
        ),
        (
            "a recording twice",
            |p| {
                let first = p["recordings"][0].clone();
                p["recordings"].as_array_mut().unwrap().push(first);
            },
            "listed twice",
        ),
        (
            "a recording added, id kept",
            |p| {
                let mut r = p["recordings"][0].clone();
                r["recording"] = "extra_20241201_000000".into();
                p["recordings"].as_array_mut().unwrap().push(r);
            },
            "edited",
        ),
        (
            "2^40 shards",
            |p| p["shards"] = (1u64 << 40).into(),
            "shards must be",
        ),
    ];
    for (what, edit, says) in cases {
        fs::write(&plan, &clean).unwrap();
        edit_json(&plan, edit);
        let out = t.path().join("part");
        let (code, _, err) = run(&[
            "run",
            "--plan",
            path_str(&plan),
            "--shard",
            "0/1",
            "-o",
            path_str(&out),
            "-a",
            "intents",
            "--quiet",
        ]);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.contains(says), "{what}: {err}");
        assert!(!out.exists(), "{what}");
    }
    let (code, _, err) = run(&[
        "plan",
        path_str(&root),
        "-o",
        path_str(&plan),
        "--shards",
        "1099511627776",
    ]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_report_directory_reached_through_a_link_takes_the_same_lock() {
    let t = tempfile::tempdir().unwrap();
    let root = copy_samples(t.path());
    let reports = t.path().join("reports");
    fs::create_dir(&reports).unwrap();
    let night = reports.join("night");
    let args = |out: &Path| {
        run(&[
            "run",
            path_str(&root),
            "-o",
            path_str(out),
            "-a",
            "intents",
            "--quiet",
            "--replace",
            "--fail-on",
            "never",
        ])
    };
    assert_eq!(args(&night).0, 0);
    let alias = reports.join("alias");
    symlink("night", &alias).unwrap();
    // Another writer holds the night's lock (as a run into `night` would).
    let lock = fs::File::open(reports.join(".night.callscope-lock")).unwrap();
    // SAFETY: flock on a file this test opened.
    let locked = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) };
    assert_eq!(locked, 0);
    let (code, _, err) = args(&alias);
    assert_eq!(code, 75, "a run through the link must wait its turn: {err}");
    drop(lock);
    assert_eq!(args(&alias).0, 0);
}
