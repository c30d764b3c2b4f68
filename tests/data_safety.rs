//! Regressions for the ways callscope once lost or mangled data, each
//! reproduced on real directories through the binary, and hostile trees
//! (FIFOs, devices, sockets, link loops, odd names) through every command.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const NOW: &str = "2025-06-01T00:00:00Z";

/// Run with a deadline: a command that hangs fails the test instead of
/// hanging it. Returns (code, stdout, stderr).
fn run_within(args: &[&OsStr], secs: u64) -> (i32, String, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("callscope {args:?} did not finish in {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn os(args: &[&str]) -> Vec<&'static OsStr> {
    args.iter()
        .map(|a| OsStr::new(Box::leak(a.to_string().into_boxed_str())))
        .collect()
}

fn bytes_of(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .map(|(p, (b, _))| (p, b))
        .collect()
}

fn write_policy(path: &Path, head: &str, rules: &str) {
    fs::write(
        path,
        format!(
            "{head}\n{rules}\n[[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n"
        ),
    )
    .unwrap();
}

/// Defect 1: an archive root that is, or lies in, the recordings root.
#[test]
fn an_archive_root_at_or_inside_root_is_refused_before_anything_is_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let before = bytes_of(&root);
    let rule = "[[rule]]\nname = \"old\"\nolder_than = \"30d\"\naction = \"archive\"\n";
    for (archive_root, says) in [
        (".".to_string(), "is the recordings root itself"),
        ("archive".to_string(), "is inside the recordings root"),
        (
            "c4d5e6f7-0818-4293-a4b5-c6d7e8f90a1b_20241204_114730/x".to_string(),
            "is inside the recordings root",
        ),
        ("..".to_string(), "holds the recordings root"),
    ] {
        // The policy sits in ROOT, so its relative paths are relative to ROOT.
        let policy = root.join("p.toml");
        write_policy(&policy, &format!("archive_root = \"{archive_root}\""), rule);
        for extra in [&[][..], &["--apply"]] {
            let (code, _, err) = prune_at(&root, &policy, NOW, extra);
            assert_eq!(code, 2, "{archive_root}: {err}");
            assert!(
                err.contains(says) && err.contains("p.toml"),
                "{archive_root}: {err}"
            );
        }
        fs::remove_file(&policy).unwrap();
        assert_eq!(bytes_of(&root), before, "{archive_root}: nothing changed");
        assert!(!root.join(".callscope/audit.jsonl").exists());
    }
}

/// Defect 2: the night after delete-audio, a status = "error" rule must
/// not delete what the policy kept.
#[test]
fn audio_removed_by_policy_is_a_state_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let policy = tmp.path().join("p.toml");
    write_policy(
        &policy,
        "",
        "[[rule]]\nname = \"errors\"\nstatus = \"error\"\naction = \"delete\"\n\
         [[rule]]\nname = \"audio\"\nolder_than = \"30d\"\naction = \"delete-audio\"\n",
    );
    let prune = |apply: bool| {
        let extra: &[&str] = if apply {
            &["--json", "--apply"]
        } else {
            &["--json"]
        };
        let (code, out, err) = prune_at(&root, &policy, NOW, extra);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        v["recordings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["recording"].as_str().unwrap().to_string(),
                    d["action"].as_str().unwrap().to_string(),
                )
            })
            .collect::<BTreeMap<_, _>>()
    };
    let first = prune(true);
    let stripped: Vec<&String> = first
        .iter()
        .filter(|(_, a)| *a == "delete-audio")
        .map(|(r, _)| r)
        .collect();
    assert_eq!(stripped.len(), 5, "{first:?}");
    // The next night: nothing to do, nothing deleted.
    let second = prune(true);
    for r in &stripped {
        assert_eq!(second[*r], "nothing", "{r}: {second:?}");
        assert!(root.join(r).join("AUDIO_REMOVED_BY_POLICY.json").is_file());
    }
    // check, list and run say audio-removed, not error.
    let (code, out, err) = run(&["check", path_str(&root), "--settle", "0", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    for rec in v["recordings"].as_array().unwrap_or(&Vec::new()) {
        if stripped
            .iter()
            .any(|s| *s == rec["recording"].as_str().unwrap())
        {
            assert_eq!(rec["state"], "audio-removed", "{rec}");
            assert_ne!(rec["status"], "error", "{rec}");
        }
    }
    assert_eq!(code, 0, "{out}{err}");
    let list = ok(&["list", path_str(&root), "--settle", "0", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&list).unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r["state"] == "audio-removed")
            .count(),
        5,
        "{list}"
    );
    let out = tmp.path().join("out");
    let (code, _, err) = run(&[
        "run",
        path_str(&root),
        "--out",
        path_str(&out),
        "--settle",
        "0",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    for row in calls(&out) {
        assert_eq!(row["state"], "audio-removed", "{row}");
        assert_ne!(row["status"], "error", "{row}");
    }
}

/// Defect 4: one damaged sample-rate field must not abort the run (the
/// resampler allocated gigabytes) nor make repair loop.
#[test]
fn an_impossible_sample_rate_is_a_finding_not_an_abort() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 3, 6, &[]);
    let dirs: Vec<PathBuf> = {
        let mut d: Vec<PathBuf> = fs::read_dir(&rec)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        d.sort();
        d
    };
    set_rate(&dirs[0].join("caller_audio.wav"), 0x8000_3E80); // 16000 with the top bit flipped
    set_rate(&dirs[1].join("bot_audio.wav"), 1);
    let out = tmp.path().join("out");
    let (code, _, err) = run_within(
        &os(&["run", path_str(&rec), "--out", path_str(&out), "--quiet"]),
        120,
    );
    assert_eq!(code, 1, "{err}");
    let rows = calls(&out);
    assert_eq!(rows.len(), 3, "every call reported");
    let findings = fs::read_to_string(out.join("findings.csv")).unwrap();
    assert!(
        findings.contains("wav.rate_invalid,error,caller_audio.wav"),
        "{findings}"
    );
    assert!(
        findings.contains("wav.rate_invalid,error,bot_audio.wav"),
        "{findings}"
    );
    // The rate the recorder logged disagrees with the damaged caller header.
    assert!(
        findings.contains("meta.sample_rate,warning,session_events.json,\"session_events.json: recording_started logs a target_sample_rate of 16000 Hz, caller_audio.wav is 2147499648 Hz\""),
        "{findings}"
    );
    assert_eq!(
        rows[2]["status"], "ok",
        "the undamaged call is analysed: {}",
        rows[2]
    );
    // Repair restores the rates the real-time file proves, once.
    ok(&["repair", path_str(&rec), "--quiet"]);
    let again = ok(&["repair", path_str(&rec), "--quiet"]);
    assert!(again.contains("nothing to do"), "{again}");
    for d in &dirs[..2] {
        for f in ["caller_audio.wav", "bot_audio.wav"] {
            let info = callscope::audio::read_info(&d.join(f)).unwrap();
            assert_eq!(info.sample_rate, 16000, "{}", d.join(f).display());
        }
    }
    let (code, out, _) = run(&["check", path_str(&rec)]);
    assert_eq!(code, 0, "{out}");
}

/// Defect 8: a caller track cut short beside an intact final stereo is
/// restored from it, never the final rebuilt from the short track.
#[test]
fn a_truncated_mono_is_restored_and_never_makes_the_final_shorter() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 1, 8, &[]);
    let dir = fs::read_dir(&rec).unwrap().next().unwrap().unwrap().path();
    let caller = dir.join("caller_audio.wav");
    let original = fs::read(&caller).unwrap();
    let fin = fs::read(dir.join("final_stereo_recording.wav")).unwrap();
    let cut = 44 + (((original.len() - 44) / 2) & !1);
    fs::write(&caller, &original[..cut]).unwrap();
    let plan = ok(&["repair", path_str(&rec), "--dry-run"]);
    assert!(
        plan.contains("restore-mono") && !plan.contains("rebuild-final"),
        "{plan}"
    );
    ok(&["repair", path_str(&rec), "--quiet"]);
    assert!(
        fs::read(&caller).unwrap() == original,
        "the caller track is whole again"
    );
    assert!(
        fs::read(dir.join("final_stereo_recording.wav")).unwrap() == fin,
        "the final is untouched"
    );

    // Without the real-time file nothing proves which file is damaged:
    // the final is not rebuilt from the short track.
    fs::write(&caller, &original[..cut]).unwrap();
    fs::remove_file(dir.join("stereo_recording.wav")).unwrap();
    let plan = ok(&["repair", path_str(&rec), "--dry-run"]);
    assert!(!plan.contains("rebuild-final"), "{plan}");
    assert!(plan.contains("not rebuilt"), "{plan}");
    ok(&["repair", path_str(&rec), "--quiet"]);
    assert!(fs::read(dir.join("final_stereo_recording.wav")).unwrap() == fin);
}

/// Defect 9: a period out of range is a policy error, not a panic.
#[test]
fn an_out_of_range_period_exits_2_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let policy = tmp.path().join("p.toml");
    for (period, says) in [("99999999999999d", "out of range"), ("6m", "ambiguous")] {
        write_policy(
            &policy,
            "",
            &format!("[[rule]]\nname = \"x\"\nolder_than = \"{period}\"\naction = \"delete\"\n"),
        );
        let (code, _, err) = run(&["prune", path_str(&root), "--policy", path_str(&policy)]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("line 4, column 14") && err.contains(says),
            "{err}"
        );
    }
}

/// Defect 7 and the hostile tree: FIFOs, devices, sockets, link loops and
/// odd names through every command, none of which may hang or stop.
#[test]
fn hostile_trees_through_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let fifo_rec = root.join("c4d5e6f7-0818-4293-a4b5-c6d7e8f90a1b_20241204_114730");
    fs::remove_file(fifo_rec.join("transcript.json")).unwrap();
    let mkfifo = |p: &Path| {
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    };
    mkfifo(&fifo_rec.join("transcript.json"));
    let dev_rec = root.join("0b8a3d52-6f1e-4c1a-9d7e-2f4b6a8c0e13_20241202_090541");
    fs::remove_file(dev_rec.join("bot_audio.wav")).unwrap();
    let dev = std::process::Command::new("mknod")
        .arg(dev_rec.join("bot_audio.wav"))
        .args(["c", "1", "5"]) // /dev/zero: reading it never ends
        .status()
        .unwrap();
    assert!(dev.success(), "mknod (tests run as root)");
    let sock_rec = root.join("7c9e6679-7425-40de-944b-e07fc1f90ae7_20241201_143022");
    fs::remove_file(sock_rec.join("session_events.json")).unwrap();
    let _sock =
        std::os::unix::net::UnixListener::bind(sock_rec.join("session_events.json")).unwrap();
    // A link loop, and names with a newline, a comma, quotes and invalid UTF-8.
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    let odd = [
        b"odd\nname,\"quoted\"_20241201_120000".to_vec(),
        b"bad\xff_20241201_120000".to_vec(),
        b"bad\xfe_20241201_120000".to_vec(),
    ];
    let sample = root.join("session_123_20241205_080001");
    for name in &odd {
        copy_tree(&sample, &root.join(OsStr::from_bytes(name)), false);
    }
    let r = path_str(&root).to_string();
    let out = tmp.path().join("out");
    let (code, list, err) = run_within(&os(&["list", &r, "--settle", "0"]), 60);
    assert_eq!(code, 0, "{err}");
    // Two names differing only in invalid bytes stay two rows.
    assert!(
        list.contains("bad\\xFF_") && list.contains("bad\\xFE_"),
        "{list}"
    );
    let (code, check, _) = run_within(&os(&["check", &r, "--settle", "0"]), 60);
    assert_eq!(code, 1);
    assert!(
        check.contains("transcript.json: a FIFO, not a regular file"),
        "{check}"
    );
    assert!(
        check.contains("bot_audio.wav: a character device, not a regular file"),
        "{check}"
    );
    assert!(
        check.contains("session_events.json: a socket, not a regular file"),
        "{check}"
    );
    let (code, _, err) = run_within(
        &os(&[
            "run",
            &r,
            "--out",
            path_str(&out),
            "--settle",
            "0",
            "--quiet",
        ]),
        120,
    );
    assert_eq!(code, 1, "{err}");
    let rows = calls(&out);
    assert_eq!(rows.len(), 9, "every recording, the odd ones too");
    let csv = fs::read_to_string(out.join("calls.csv")).unwrap();
    let parsed = csv::Reader::from_reader(csv.as_bytes()).records().count();
    assert_eq!(
        parsed, 9,
        "names with newlines and commas are quoted in the CSV"
    );
    for rec in [&fifo_rec, &dev_rec, &sock_rec] {
        let name = rec.file_name().unwrap().to_str().unwrap();
        let (code, _, err) = run_within(
            &os(&["show", name, "--root", &r, "--transcript", "--settle", "0"]),
            30,
        );
        assert!(code == 0 || code == 1, "show {name}: {err}");
        let (code, _, err) = run_within(&os(&["export", name, "--root", &r]), 30);
        assert!(code == 0 || code == 1 || code == 2, "export {name}: {err}");
    }
    let _ = run_within(&os(&["repair", &r, "--settle", "0", "--quiet"]), 120);
    assert!(fs::symlink_metadata(fifo_rec.join("transcript.json"))
        .unwrap()
        .file_type()
        .is_fifo_like());
    // A prune that would delete everything skips what it cannot read whole.
    let policy = tmp.path().join("p.toml");
    write_policy(
        &policy,
        "",
        "[[rule]]\nname = \"all\"\nolder_than = \"1d\"\naction = \"delete\"\n",
    );
    let (code, plan, err) = run_within(
        &os(&[
            "prune",
            &r,
            "--policy",
            path_str(&policy),
            "--now",
            NOW,
            "--settle",
            "0",
            "--apply",
        ]),
        60,
    );
    assert_eq!(code, 0, "{plan}{err}");
    for rec in [&fifo_rec, &dev_rec, &sock_rec] {
        assert!(rec.exists(), "{} kept: {plan}", rec.display());
    }
    assert!(plan.contains("not a regular file"), "{plan}");
    for name in &odd {
        assert!(!root.join(OsStr::from_bytes(name)).exists(), "{plan}");
    }
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for fs::FileType {
    fn is_fifo_like(&self) -> bool {
        std::os::unix::fs::FileTypeExt::is_fifo(self)
    }
}

/// Defect 11: reports that cannot be written are their own exit code.
#[test]
fn a_report_that_cannot_be_written_exits_74() {
    let Some(tiny) = TinyDisk::mount(8) else {
        eprintln!("SKIPPED: cannot mount a small tmpfs here (needs root); disk-full not tried");
        return;
    };
    let out = tiny.path().join("out");
    let (code, _, err) = run(&[
        "run",
        path_str(&sample_recordings()),
        "--out",
        path_str(&out),
        "--settle",
        "0",
        "--quiet",
    ]);
    // Nothing of the run is left: no report directory, no temporary one.
    let leftovers: Vec<_> = fs::read_dir(tiny.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".callscope-tmp") || n == "out")
        .collect();
    drop(tiny);
    assert_eq!(code, 74, "{err}");
    assert!(
        err.contains("No space left on device") && err.contains("/out/"),
        "{err}"
    );
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Defect 11: a transcript far larger than any call's is not read whole.
#[test]
fn a_huge_transcript_is_a_finding_not_gigabytes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let dir = root.join("session_123_20241205_080001");
    let entry = r#"{"timestamp":"2024-12-05T08:00:02+00:00","channel":"caller","type":"input","text":"hello there"},"#;
    let mut text = String::from(r#"{"entries":["#);
    while text.len() < (65 << 20) {
        text.push_str(entry);
    }
    text.push_str(r#"{"timestamp":"2024-12-05T08:00:02+00:00","channel":"bot","type":"output","text":"bye"}]}"#);
    fs::write(dir.join("transcript.json"), text).unwrap();
    let (code, out, err) = run_within(
        &os(&[
            "show",
            "session_123_20241205_080001",
            "--root",
            path_str(&root),
            "--transcript",
            "--settle",
            "0",
        ]),
        60,
    );
    assert!(code <= 1, "{err}");
    let (_, check, _) = run(&["check", path_str(&dir)]);
    assert!(check.contains("json.too_large"), "{check}{out}");
}

/// Unreadable entries, met as an unprivileged user would meet them (root
/// reads everything): a directory and a file with no permissions.
#[test]
fn unreadable_entries_as_an_unprivileged_user() {
    use std::os::unix::fs::PermissionsExt;
    let as_nobody = |args: &[&str]| {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_callscope"))
            .args(args)
            .output();
        out.ok().map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let is_root = unsafe { libc::geteuid() } == 0;
    if !is_root || as_nobody(&["--version"]).is_none_or(|(c, _, _)| c != 0) {
        eprintln!("SKIPPED: needs root and setpriv to run callscope as an unprivileged user");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 3, 6, &[]);
    let archive = tmp.path().join("archive");
    let policy = tmp.path().join("p.toml");
    write_policy(
        &policy,
        &format!("archive_root = \"{}\"", archive.display()),
        "[[rule]]\nname = \"old\"\nolder_than = \"30d\"\naction = \"archive\"\n",
    );
    // Everything open to the unprivileged user, then two things closed.
    let st = std::process::Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(st.success());
    let mut dirs: Vec<PathBuf> = fs::read_dir(&rec)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    let closed_dir = &dirs[0];
    let closed_file = dirs[1].join("transcript.json");
    fs::set_permissions(closed_dir, fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(&closed_file, fs::Permissions::from_mode(0o000)).unwrap();
    let closed_wav = dirs[1].join("final_stereo_recording.wav");
    fs::set_permissions(&closed_wav, fs::Permissions::from_mode(0o000)).unwrap();
    let r = path_str(&rec);

    let (code, out, err) = as_nobody(&["list", r]).unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().filter(|l| l.contains("_2024")).count(),
        2,
        "{out}"
    );
    assert!(
        err.contains(&format!(
            "{}: cannot read directory: Permission denied",
            closed_dir.display()
        )),
        "{err}"
    );
    let (code, out, _) = as_nobody(&["check", r]).unwrap();
    assert_eq!(code, 1);
    assert!(
        out.contains("file.unreadable") && out.contains("transcript.json: Permission denied"),
        "{out}"
    );
    // A WAV that cannot be read is not called a bad WAV (which repair
    // would rebuild): it is a file that cannot be read.
    let wav_line = out
        .lines()
        .find(|l| l.contains("final_stereo_recording.wav") && l.contains("Permission denied"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(wav_line.contains("file.unreadable"), "{out}");
    assert!(!out.contains("wav.unreadable"), "{out}");
    // Repair plans nothing for it, and says why.
    let (_, out, err) = as_nobody(&["repair", r, "--dry-run"]).unwrap();
    assert!(
        out.contains("transcript.json: Permission denied (os error 13) (file.unreadable): the file cannot be read")
            && out.contains("final_stereo_recording.wav: read error: Permission denied (os error 13) (file.unreadable): the file cannot be read")
            && out.contains(" 0 action(s) planned"),
        "{out}{err}"
    );
    let reports = tmp.path().join("reports");
    let (code, _, err) = as_nobody(&["run", r, "--out", path_str(&reports), "--quiet"]).unwrap();
    assert_eq!(code, 1, "{err}");
    assert_eq!(calls(&reports).len(), 2);
    // Archiving needs every file read and checked: the recording with the
    // closed file is kept; the closed directory is not even seen.
    let (code, out, err) = as_nobody(&[
        "prune",
        r,
        "--policy",
        path_str(&policy),
        "--now",
        NOW,
        "--apply",
    ])
    .unwrap();
    assert_eq!(code, 1, "{out}{err}");
    let closed = dirs[1].file_name().unwrap().to_string_lossy();
    assert!(
        err.lines()
            .any(|l| l.contains(&*closed) && l.ends_with(": cannot be read; original kept")),
        "{err}"
    );
    assert!(dirs[1].join("caller_audio.wav").exists());
    assert!(
        !dirs[2].exists()
            && archive
                .join(dirs[2].file_name().unwrap())
                .join("caller_audio.wav")
                .exists()
    );
    fs::set_permissions(closed_dir, fs::Permissions::from_mode(0o755)).unwrap();
    assert!(closed_dir.join("caller_audio.wav").exists());
}

/// delete-audio removes every copy of the audio: the originals repair kept
/// under `.callscope/backup/` too, or the voices would live on there.
#[test]
fn delete_audio_removes_the_backups_of_the_audio_too() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 1, 6, &["--faults", "zeroed-sizes"]);
    ok(&["repair", path_str(&rec), "--quiet"]);
    let wavs = |root: &Path| -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.to_string_lossy().contains(".wav") {
                    found.push(p);
                }
            }
        }
        found
    };
    assert!(
        wavs(&rec)
            .iter()
            .any(|p| p.to_string_lossy().contains(".callscope/backup/")),
        "repair kept a backup of the audio"
    );
    // A second repair's backups are numbered (`caller_audio.wav.1`); a
    // numbered file that is not audio stays.
    let backups: Vec<PathBuf> = wavs(&rec)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".callscope/backup/"))
        .collect();
    for b in &backups {
        fs::copy(b, PathBuf::from(format!("{}.1", b.display()))).unwrap();
    }
    let numbered_text = backups[0].with_file_name("call_metadata.json.1");
    fs::write(&numbered_text, b"{}").unwrap();
    let policy = tmp.path().join("p.toml");
    write_policy(
        &policy,
        "",
        "[[rule]]\nname = \"a\"\nolder_than = \"30d\"\naction = \"delete-audio\"\n",
    );
    ok(&[
        "prune",
        path_str(&rec),
        "--policy",
        path_str(&policy),
        "--now",
        NOW,
        "--apply",
    ]);
    assert_eq!(wavs(&rec), Vec::<PathBuf>::new());
    assert!(
        numbered_text.is_file(),
        "a backup that is not audio was removed"
    );
    let dir = fs::read_dir(&rec)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir() && !p.ends_with(".callscope"))
        .unwrap();
    assert!(
        dir.join("transcript.json").is_file() && dir.join("AUDIO_REMOVED_BY_POLICY.json").is_file()
    );
}
