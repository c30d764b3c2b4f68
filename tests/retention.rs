//! `prune` and `erase` end to end on simulated stores with a fixed clock.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const NOW: &str = "2025-06-01T00:00:00Z";

fn write_policy(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("policy.toml");
    fs::write(
        &p,
        format!("{body}\n[[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n"),
    )
    .unwrap();
    p
}

fn prune(root: &Path, policy: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec![
        "prune",
        path_str(root),
        "--policy",
        path_str(policy),
        "--now",
        NOW,
        "--json",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args);
    let v = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, v, err)
}

fn actions(plan: &Value) -> BTreeMap<String, String> {
    plan["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["recording"].as_str().unwrap().to_string(),
                d["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn audit_lines(root: &Path) -> Vec<Value> {
    fs::read_to_string(root.join(".callscope/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The same recordings again (the simulator is deterministic), where the
/// first ones were: as if a prune had been killed before they went.
fn simulate_again(dir: &Path, rec: &Path, truth: &Path, calls: usize) -> PathBuf {
    fs::remove_dir_all(rec).unwrap();
    fs::remove_dir_all(truth).unwrap();
    simulate(dir, calls, 8, &[]).0
}

/// Audit lines of archives finished by an identical archive already in place.
fn finished_by_existing_archive(root: &Path) -> usize {
    audit_lines(root)
        .into_iter()
        .filter(|l| l["event"] == "done" && l["archive_existed"] == true)
        .count()
}

fn sha256(p: &Path) -> String {
    callscope::safe_fs::sha256_file(p).unwrap()
}

#[test]
fn dry_run_changes_nothing_and_apply_does_exactly_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 12, 10, &["--seed", "3"]);
    let truths = truths(&truth);
    // Intent rules: lost cards deleted, balance enquiries lose their audio.
    let policy = write_policy(
        tmp.path(),
        "[[rule]]\nname = \"lost\"\nintents = [\"lost_card\"]\nolder_than = \"30d\"\naction = \"delete\"\n\
         [[rule]]\nname = \"balance\"\nintents = [\"balance_inquiry\"]\naction = \"delete-audio\"\n",
    );
    let before = snapshot_except(&rec, Some(".callscope"));
    let hashes: BTreeMap<PathBuf, String> = before
        .keys()
        .map(|k| (k.clone(), sha256(&rec.join(k))))
        .collect();
    let (code, plan, err) = prune(&rec, &policy, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        snapshot_except(&rec, Some(".callscope")),
        before,
        "a dry run changes no byte and no mtime"
    );
    assert!(
        !rec.join(".callscope").exists(),
        "a dry run writes no audit log either"
    );

    let intent_of = |r: &str| {
        let t = truths.iter().find(|t| t.recording == r).unwrap();
        t.function_calls.iter().find_map(|f| f.intent.clone())
    };
    let planned = actions(&plan);
    for (r, a) in &planned {
        let want = match intent_of(r).as_deref() {
            Some("lost_card") => "delete",
            Some("balance_inquiry") => "delete-audio",
            _ => "keep",
        };
        assert_eq!(a, want, "{r}");
    }
    assert!(
        planned.values().any(|a| a == "delete") && planned.values().any(|a| a == "delete-audio")
    );

    let (code, _, err) = prune(&rec, &policy, &["--apply"]);
    assert_eq!(code, 0, "{err}");
    let after = snapshot_except(&rec, Some(".callscope"));
    for (r, a) in &planned {
        let files: Vec<&PathBuf> = before.keys().filter(|k| k.starts_with(r)).collect();
        match a.as_str() {
            "delete" => assert!(!rec.join(r).exists(), "{r} deleted"),
            "delete-audio" => {
                for f in files {
                    let is_wav = f.extension().is_some_and(|e| e == "wav");
                    assert_eq!(after.contains_key(f), !is_wav, "{}", f.display());
                    if !is_wav {
                        assert_eq!(after[f], before[f], "JSON kept as it was");
                    }
                }
                let marker: Value = serde_json::from_slice(
                    &fs::read(rec.join(r).join("AUDIO_REMOVED_BY_POLICY.json")).unwrap(),
                )
                .unwrap();
                assert_eq!(marker["rule"], "balance");
                assert_eq!(marker["files"].as_array().unwrap().len(), 4);
            }
            _ => {
                for f in files {
                    assert_eq!(after[f], before[f], "{} untouched", f.display());
                }
            }
        }
    }
    // The audit log: an intent line with every removed file (size, sha256), then the result.
    let lines = audit_lines(&rec);
    let mut removed = 0;
    for l in lines.iter().filter(|l| l["event"] == "intent") {
        for f in l["files"].as_array().unwrap() {
            let rel =
                PathBuf::from(l["recording"].as_str().unwrap()).join(f["path"].as_str().unwrap());
            assert_eq!(f["size"], before[&rel].0.len(), "{}", rel.display());
            assert_eq!(f["sha256"], hashes[&rel].as_str());
            removed += 1;
        }
    }
    let expected: usize = planned
        .iter()
        .map(|(r, a)| match a.as_str() {
            "delete" => before.keys().filter(|k| k.starts_with(r)).count(),
            "delete-audio" => 4,
            _ => 0,
        })
        .sum();
    assert_eq!(removed, expected);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["event"] == "done" && l["result"] == "ok")
            .count(),
        lines.len() / 2
    );

    // Idempotent: the same clock again has nothing to do.
    let (code, plan2, _) = prune(&rec, &policy, &["--apply"]);
    assert_eq!(code, 0);
    assert!(
        actions(&plan2)
            .values()
            .all(|a| a == "keep" || a == "nothing"),
        "{plan2}"
    );
    assert_eq!(audit_lines(&rec).len(), lines.len(), "nothing new to audit");
}

#[test]
fn holds_in_progress_and_symlinks_are_never_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(
        tmp.path(),
        5,
        8,
        &["--faults", "none,none,none,in-progress,none", "--seed", "4"],
    );
    // In order: 0 LEGAL_HOLD file, 1 on the hold list, 2 holds a symlinked file, 3 in progress, 4 plain.
    let all = truths(&truth);
    let mut t: Vec<_> = all.iter().filter(|t| t.fault == "none").cloned().collect();
    t.insert(
        3,
        all.iter()
            .find(|t| t.fault == "in-progress")
            .unwrap()
            .clone(),
    );
    fs::write(rec.join(&t[0].recording).join("LEGAL_HOLD"), "case 42").unwrap();
    fs::write(
        tmp.path().join("holds.txt"),
        format!("# legal\n{}\n", t[1].session_id),
    )
    .unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("precious.txt"), "keep me").unwrap();
    std::os::unix::fs::symlink(
        outside.join("precious.txt"),
        rec.join(&t[2].recording).join("notes.txt"),
    )
    .unwrap();
    // A symlinked "recording" pointing outside ROOT, holding a real recording.
    let (other, _) = {
        let o = tmp.path().join("elsewhere");
        fs::create_dir(&o).unwrap();
        simulate(&o, 1, 8, &["--seed", "9"])
    };
    std::os::unix::fs::symlink(&other, rec.join("linked")).unwrap();
    let other_before = snapshot_except(&other, Some(".callscope"));

    let policy = tmp.path().join("policy.toml");
    fs::write(
        &policy,
        "hold_list = \"holds.txt\"\n[[rule]]\nname = \"all\"\nolder_than = \"1d\"\naction = \"delete\"\n\
         [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n",
    )
    .unwrap();
    let (code, plan, err) = prune(&rec, &policy, &["--apply"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("linked: symlink (not followed)"), "{err}");
    let a = actions(&plan);
    assert_eq!(a[&t[0].recording], "held");
    assert_eq!(a[&t[1].recording], "held");
    assert_eq!(a[&t[2].recording], "skip");
    assert_eq!(a[&t[3].recording], "skip");
    assert_eq!(a[&t[4].recording], "delete");
    for (i, kept) in t.iter().take(4).enumerate() {
        assert!(
            rec.join(&kept.recording).join("caller_audio.wav").exists(),
            "{i} untouched"
        );
    }
    assert!(!rec.join(&t[4].recording).exists());
    assert_eq!(
        fs::read_to_string(outside.join("precious.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(
        snapshot_except(&other, Some(".callscope")),
        other_before,
        "nothing outside ROOT is touched"
    );
    assert!(
        rec.join("linked").symlink_metadata().is_ok(),
        "the link itself is left alone"
    );
}

#[test]
fn archive_moves_recordings_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 3, 8, &[]);
    let before = snapshot_except(&rec, Some(".callscope"));
    let policy = tmp.path().join("policy.toml");
    fs::write(
        &policy,
        "archive_root = \"vault\"\n[[rule]]\nname = \"old\"\nolder_than = \"90d\"\naction = \"archive\"\n\
         [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n",
    )
    .unwrap();
    let (code, _, err) = prune(&rec, &policy, &["--apply"]);
    assert_eq!(code, 0, "{err}");
    let vault = snapshot_except(&tmp.path().join("vault"), None);
    assert_eq!(vault.len(), before.len());
    for (k, (bytes, _)) in &before {
        assert_eq!(&vault[k].0, bytes, "{} archived intact", k.display());
    }
    assert!(
        snapshot_except(&rec, Some(".callscope")).is_empty(),
        "nothing left behind"
    );
    let done: Vec<Value> = audit_lines(&rec)
        .into_iter()
        .filter(|l| l["event"] == "done")
        .collect();
    assert_eq!(done.len(), 3);
    assert!(done[0]["archived_to"].as_str().unwrap().contains("vault"));
}

#[test]
fn archive_across_file_systems_copies_verifies_and_finishes_after_a_crash() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    // Another file system for the archive, where rename cannot go: /dev/shm,
    // or a tmpfs mounted for the test.
    let dev = |p: &Path| fs::metadata(p).unwrap().dev();
    let shm = tempfile::tempdir_in("/dev/shm")
        .ok()
        .filter(|v| dev(v.path()) != dev(tmp.path()));
    let mounted = tmp.path().join("other-fs");
    let vault_path = match &shm {
        Some(v) => v.path().to_path_buf(),
        None => {
            fs::create_dir(&mounted).unwrap();
            let ok = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
                .arg(&mounted)
                .status()
                .is_ok_and(|s| s.success());
            if !ok || dev(&mounted) == dev(tmp.path()) {
                eprintln!("SKIPPED: no second file system (no /dev/shm, and no tmpfs can be mounted here): the copy path is not exercised");
                return;
            }
            mounted.clone()
        }
    };
    struct Unmount(Option<PathBuf>);
    impl Drop for Unmount {
        fn drop(&mut self) {
            if let Some(p) = &self.0 {
                let _ = std::process::Command::new("umount").arg(p).status();
            }
        }
    }
    let _unmount = Unmount(shm.is_none().then(|| mounted.clone()));
    let vault = vault_path;
    assert_ne!(dev(vault.as_path()), dev(tmp.path()));
    let (rec, truth) = simulate(tmp.path(), 2, 8, &[]);
    let before = snapshot_except(&rec, Some(".callscope"));
    let policy = write_policy(
        tmp.path(),
        &format!(
            "archive_root = \"{}\"\n[[rule]]\nname = \"old\"\nolder_than = \"90d\"\naction = \"archive\"\n",
            vault.as_path().display()
        ),
    );
    let (code, _, err) = prune(&rec, &policy, &["--apply"]);
    assert_eq!(code, 0, "{err}");
    let archived = snapshot_except(vault.as_path(), None);
    assert_eq!(
        archived.len(),
        before.len(),
        "no temporary copy left behind"
    );
    for (k, (bytes, _)) in &before {
        assert_eq!(&archived[k].0, bytes, "{} archived intact", k.display());
    }
    assert!(snapshot_except(&rec, Some(".callscope")).is_empty());

    // The same recordings again, as if a prune had been killed after the
    // copy was in place: the archive, identical, finishes the job untouched.
    let again = simulate_again(tmp.path(), &rec, &truth, 2);
    let (code, _, err) = prune(&again, &policy, &["--apply"]);
    assert_eq!(code, 0, "{err}");
    assert!(snapshot_except(&again, Some(".callscope")).is_empty());
    assert_eq!(snapshot_except(vault.as_path(), None), archived);
    assert_eq!(finished_by_existing_archive(&again), 2);
}

#[test]
fn archive_as_tar_gz_keeps_every_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 3, 8, &[]);
    let before = snapshot_except(&rec, Some(".callscope"));
    let policy = write_policy(
        tmp.path(),
        "archive_root = \"vault\"\narchive_format = \"tar.gz\"\n\
         [[rule]]\nname = \"old\"\nolder_than = \"90d\"\naction = \"archive\"\n",
    );
    let (code, _, err) = prune(&rec, &policy, &["--apply"]);
    assert_eq!(code, 0, "{err}");
    // Every file, from every archive, byte for byte under its recording's path.
    let mut archived = BTreeMap::new();
    let vault = snapshot_except(&tmp.path().join("vault"), None);
    assert_eq!(vault.len(), 3, "one archive per recording");
    for name in vault.keys() {
        assert!(
            name.to_string_lossy().ends_with(".tar.gz"),
            "{}",
            name.display()
        );
        let file = fs::File::open(tmp.path().join("vault").join(name)).unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        for e in tar.entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
            archived.insert(path, bytes);
        }
    }
    assert_eq!(archived.len(), before.len());
    for (k, (bytes, _)) in &before {
        assert_eq!(&archived[k], bytes, "{} archived intact", k.display());
    }
    assert!(snapshot_except(&rec, Some(".callscope")).is_empty());
    // The audit names each archive and its checksum.
    for l in audit_lines(&rec).iter().filter(|l| l["event"] == "done") {
        let path = PathBuf::from(l["archived_to"].as_str().unwrap());
        assert_eq!(l["archive_sha256"], sha256(&path).as_str());
    }
    // The same recordings again (a prune killed after the archive was in
    // place but before the original went): the archive finishes the job, as
    // it is. One that differs is never overwritten, and its recording stays.
    let again = simulate_again(tmp.path(), &rec, &truth, 3);
    let changed = again.join(before.keys().next().unwrap());
    let mut bytes = fs::read(&changed).unwrap();
    bytes.push(b'\n');
    fs::write(&changed, bytes).unwrap();
    let kept_dir = changed.parent().unwrap().to_path_buf();
    let kept = snapshot_except(&kept_dir, None);
    let vault_before = snapshot_except(&tmp.path().join("vault"), None);
    let (code, _, err) = prune(&again, &policy, &["--apply"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err.matches("an archive is never overwritten").count(),
        1,
        "{err}"
    );
    assert_eq!(
        snapshot_except(&kept_dir, None),
        kept,
        "the changed one stays"
    );
    assert_eq!(
        snapshot_except(&again, Some(".callscope")).len(),
        kept.len(),
        "the two identical ones are gone"
    );
    assert_eq!(
        snapshot_except(&tmp.path().join("vault"), None),
        vault_before,
        "no archive rewritten"
    );
    assert_eq!(finished_by_existing_archive(&again), 2);
}

#[test]
fn a_bad_policy_exits_2_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 2, 8, &[]);
    let before = snapshot_except(&rec, Some(".callscope"));
    let policy = tmp.path().join("policy.toml");
    for (text, want) in [
        (
            "[[rule]]\nname = \"x\"\nolder_than = \"forever\"\naction = \"delete\"\n",
            "policy.toml: line 3, column 14: \"forever\" is not a period",
        ),
        (
            "archive_root = \"a\"\narchive_format = \"zip\"\n[[rule]]\nname = \"d\"\ndefault = true\naction = \"keep\"\n",
            "policy.toml: line 2, column 18: unknown archive_format \"zip\" (directory, tar.gz, tar.age, tar.gz.age)",
        ),
    ] {
        fs::write(&policy, text).unwrap();
        let (code, _, err) = prune(&rec, &policy, &["--apply"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(want), "{err}");
        assert_eq!(snapshot_except(&rec, Some(".callscope")), before);
        assert!(!rec.join(".callscope").exists());
    }
}

#[test]
fn erase_removes_one_session_unless_held() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 4, 8, &[]);
    let t = truths(&truth);
    let erase = |session: &str, extra: &[&str]| {
        let mut args = vec!["erase", path_str(&rec), "--session", session];
        args.extend_from_slice(extra);
        run(&args)
    };
    // No hold list consulted without saying so: refused, nothing done.
    let (code, _, err) = erase(&t[1].session_id, &["--apply"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--no-hold-list") && err.contains("--policy"),
        "{err}"
    );
    assert!(rec.join(&t[1].recording).exists());

    let (code, out, _) = erase(&t[1].session_id, &["--no-hold-list"]);
    assert_eq!(code, 0);
    assert!(out.contains("delete") && out.contains("dry run"), "{out}");
    assert!(rec.join(&t[1].recording).exists(), "dry run by default");
    let (code, _, err) = erase(&t[1].session_id, &["--no-hold-list", "--apply"]);
    assert_eq!(code, 0, "{err}");
    assert!(!rec.join(&t[1].recording).exists());
    assert!(rec.join(&t[0].recording).exists() && rec.join(&t[2].recording).exists());

    // A LEGAL_HOLD file protects even without a policy.
    fs::write(rec.join(&t[2].recording).join("LEGAL_HOLD"), "").unwrap();
    let (code, out, _) = erase(&t[2].session_id, &["--no-hold-list", "--apply"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("held") && out.contains("LEGAL_HOLD"),
        "a hold wins, and says so: {out}"
    );
    assert!(rec.join(&t[2].recording).exists());

    // The policy's hold list protects through erase --policy too.
    fs::write(
        tmp.path().join("holds.txt"),
        format!("{}\n", t[3].session_id),
    )
    .unwrap();
    let policy = write_policy(tmp.path(), "hold_list = \"holds.txt\"\n");
    let (code, out, _) = erase(
        &t[3].session_id,
        &["--policy", path_str(&policy), "--apply"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("held") && out.contains("hold list"), "{out}");
    assert!(rec.join(&t[3].recording).exists());

    // An erasure that matches nothing is not a success.
    let (code, _, err) = erase("no-such-session", &["--no-hold-list", "--apply"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no recording of session no-such-session"),
        "{err}"
    );

    // Every audit line proves who did what under which policy; holds too.
    let lines = audit_lines(&rec);
    let policy_sha = sha256(&policy);
    for l in &lines {
        for field in ["run_id", "now", "version", "user", "host"] {
            assert!(l[field].is_string(), "{field} missing: {l}");
        }
    }
    let held: Vec<&Value> = lines.iter().filter(|l| l["event"] == "held").collect();
    assert_eq!(held.len(), 2, "{lines:?}");
    assert_eq!(held[1]["policy_sha256"], policy_sha.as_str());
    assert!(held[0]["policy_sha256"].is_null());
    assert_ne!(held[0]["run_id"], held[1]["run_id"]);

    // Erasing again what the audit log says was erased is no failure (a
    // re-run of a request); a session the log only mentions is.
    let (code, _, err) = erase(&t[1].session_id, &["--no-hold-list", "--apply"]);
    assert_eq!(code, 0, "erased before: {err}");
    let prefix = &t[1].session_id[..8];
    let (code, _, _) = erase(prefix, &["--no-hold-list", "--apply"]);
    assert_eq!(
        code, 1,
        "{prefix} is in the log only as part of another session id"
    );
    // Held, then gone by other means: the log holds no erasure of it.
    fs::remove_dir_all(rec.join(&t[3].recording)).unwrap();
    let (code, _, _) = erase(&t[3].session_id, &["--no-hold-list", "--apply"]);
    assert_eq!(code, 1, "only held before, never erased");
}

#[test]
fn the_nightly_report_shows_what_the_next_prune_will_do() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 4, 8, &[]);
    let t = truths(&truth);
    fs::write(rec.join(&t[0].recording).join("LEGAL_HOLD"), "").unwrap();
    let policy = write_policy(
        tmp.path(),
        "[[rule]]\nname = \"audio\"\nolder_than = \"90d\"\naction = \"delete-audio\"\n",
    );
    let out = tmp.path().join("out");
    ok(&[
        "run",
        path_str(&rec),
        "--out",
        path_str(&out),
        "--analyzers",
        "intents",
        "--policy",
        path_str(&policy),
        "--quiet",
    ]);
    let rows: Vec<Value> = fs::read_to_string(out.join("calls.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[0]["retention_action"], "held");
    for (row, truth) in rows.iter().zip(&t).skip(1) {
        assert_eq!(row["retention_rule"], "audio");
        assert_eq!(row["retention_action"], "delete-audio");
        let start = callscope::recording::parse_timestamp(&truth.start_time).unwrap();
        let due =
            callscope::recording::parse_timestamp(row["retention_due"].as_str().unwrap()).unwrap();
        assert_eq!(due - start, chrono::Duration::days(90));
    }
    // The run's totals per action, and the policy they come from.
    let summary = read_json(&out.join("summary.json"));
    let r = &summary["analyzers"]["retention"];
    assert_eq!(
        r["by_action"],
        serde_json::json!({"delete-audio": 3, "held": 1})
    );
    assert_eq!(r["policy"], path_str(&policy));
}

#[test]
fn the_example_policy_is_valid() {
    let p = sample_recordings().join("retention.example.toml");
    let policy = callscope::retention::policy::load(&p).unwrap();
    assert!(policy.rules.last().unwrap().default);
    assert_eq!(policy.holds.len(), 1);
}

/// Every kind of rule condition decides at least one sample recording, so
/// a condition that were ignored would change the plan.
#[test]
fn every_rule_field_decides_and_the_plan_is_a_document() {
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    // One call's tool is another function.
    let meta = root.join("0b8a3d52-6f1e-4c1a-9d7e-2f4b6a8c0e13_20241202_090541/call_metadata.json");
    let text = fs::read_to_string(&meta).unwrap();
    fs::write(
        &meta,
        text.replace("\"call_intent\"", "\"transfer_to_agent\""),
    )
    .unwrap();
    let policy = tmp.path().join("p.toml");
    fs::write(
        &policy,
        "archive_root = \"vault\"\n\
         [[rule]]\nname = \"by-function\"\nfunctions = [\"transfer_to_agent\"]\naction = \"archive\"\n\
         [[rule]]\nname = \"by-state\"\nstate = \"crashed\"\naction = \"delete\"\n\
         [[rule]]\nname = \"by-session\"\nsession = \"session_*\"\naction = \"delete-audio\"\n\
         [[rule]]\nname = \"by-status\"\nstatus = \"error\"\naction = \"delete\"\n\
         [[rule]]\nname = \"by-intent\"\nintents = [\"lost_card\"]\nolder_than = \"5mo\"\naction = \"delete-audio\"\n\
         [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n",
    )
    .unwrap();
    let plan = |extra: &[&str]| {
        let (code, out, err) = prune_at(&root, &policy, NOW, extra);
        assert_eq!(code, 0, "{err}");
        out
    };
    let v: Value = serde_json::from_str(&plan(&["--json"])).unwrap();
    let got: BTreeMap<String, (String, String)> = v["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["recording"].as_str().unwrap()[..8].to_string(),
                (
                    d["rule"].as_str().unwrap().to_string(),
                    d["action"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    let want = |r: &str, a: &str| (r.to_string(), a.to_string());
    assert_eq!(got["0b8a3d52"], want("by-function", "archive"));
    assert_eq!(got["9f1c2e4b"], want("by-state", "delete"));
    assert_eq!(got["session_"], want("by-session", "delete-audio"));
    assert_eq!(got["e1f2a3b4"], want("by-status", "delete"));
    // lost_card, and 5 calendar months old on 2025-06-01 (a call of 2024-12-01).
    assert_eq!(got["7c9e6679"], want("by-intent", "delete-audio"));
    assert_eq!(got["c4d5e6f7"], want("default", "keep"));
    // Per rule totals, in integers.
    assert_eq!(v["summary"]["by_rule"]["by-state"]["recordings"], 1);
    assert_eq!(v["summary"]["by_rule"]["by-state"]["bytes"], 586764);
    // The same plan as CSV, kept recordings included, and as text with sizes
    // people read, ages and due dates.
    let csv = plan(&["--csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "recording,session_id,state,rule,action,reason,start_time,age_days,due,files,bytes"
    );
    assert_eq!(lines.count(), 6);
    assert!(csv.contains(
        "9f1c2e4b-3a5d-4e6f-8071-92a3b4c5d6e7_20241203_181205,9f1c2e4b-3a5d-4e6f-8071-92a3b4c5d6e7,crashed,by-state,delete,due,2024-12-03T18:12:05.000000Z,179,2024-12-03T18:12:05.000000Z,3,586764"
    ), "{csv}");
    let text = plan(&[]);
    assert!(
        text.contains("size=586.8 kB") && text.contains("age=179d"),
        "{text}"
    );
    assert!(
        !text.contains("c4d5e6f7"),
        "kept ones only on request: {text}"
    );
    assert!(
        text.contains("by-state                 delete             1 recording(s)  586.8 kB"),
        "{text}"
    );
    let kept = plan(&["--show-kept"]);
    assert!(kept.contains("keep          c4d5e6f7"), "{kept}");
}

/// After delete-audio, a complete call keeps its JSON files: one of them
/// going missing later is an error, not excused as a crashed call's file
/// never written. A crashed call whose audio went is excused, and so is
/// nothing else: a complete call missing its transcript is an error too.
#[test]
fn json_files_missing_after_delete_audio_are_errors_unless_the_call_crashed() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(
        tmp.path(),
        2,
        10,
        &["--seed", "4", "--faults", "none,crashed"],
    );
    let truths = truths(&truth);
    let policy = write_policy(
        tmp.path(),
        "[[rule]]\nname = \"all\"\nolder_than = \"1d\"\naction = \"delete-audio\"\n",
    );
    let (code, _, err) = prune(&rec, &policy, &["--apply"]);
    assert_eq!(code, 0, "{err}");
    // Done is done: the same policy has nothing left to do, and a policy
    // that keeps keeps (nothing to finish: no audio remains).
    let (_, plan, _) = prune(&rec, &policy, &[]);
    assert!(actions(&plan).values().all(|a| a == "nothing"), "{plan}");
    let keep = tmp.path().join("keep");
    fs::create_dir_all(&keep).unwrap();
    let (_, plan, _) = prune(&rec, &write_policy(&keep, ""), &[]);
    assert!(actions(&plan).values().all(|a| a == "keep"), "{plan}");
    let check = |root: &Path| {
        let (code, out, err) = run(&["check", path_str(root), "--json", "--quiet"]);
        assert!(code == 0 || code == 1, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let findings: BTreeMap<String, Vec<(String, String, String)>> = v["recordings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let f = r["findings"].as_array().unwrap().iter().map(|f| {
                    let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                    (s("code"), s("severity"), s("file"))
                });
                (r["recording"].as_str().unwrap().to_string(), f.collect())
            })
            .collect();
        (code, findings)
    };
    let (code, before) = check(&rec);
    assert_eq!(code, 0, "{before:?}");
    for t in &truths {
        let dir = rec.join(&t.recording);
        let missing = if t.expected_state == "crashed" {
            // Never written: still excused.
            assert!(!dir.join("transcript.json").exists());
            None
        } else {
            fs::remove_file(dir.join("transcript.json")).unwrap();
            Some((
                "file.missing".to_string(),
                "error".to_string(),
                "transcript.json".to_string(),
            ))
        };
        let (_, after) = check(&rec);
        let got: Vec<_> = after[&t.recording]
            .iter()
            .filter(|f| f.1 != "info")
            .cloned()
            .collect();
        assert_eq!(
            got,
            missing.into_iter().collect::<Vec<_>>(),
            "{}: {after:?}",
            t.expected_state
        );
    }
}

/// An archive already where one would go that does not hold exactly the
/// recording's files (one byte differs) is never overwritten, and its
/// recording stays; the identical one beside it finishes its job.
#[test]
fn an_archive_that_differs_is_never_overwritten_and_its_recording_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 2, 8, &[]);
    let policy = write_policy(
        tmp.path(),
        "archive_root = \"vault\"\n[[rule]]\nname = \"old\"\nolder_than = \"90d\"\naction = \"archive\"\n",
    );
    let (code, _, err) = prune(&rec, &policy, &["--apply"]);
    assert_eq!(code, 0, "{err}");
    let vault = tmp.path().join("vault");
    let names: Vec<String> = truths(&truth).iter().map(|t| t.recording.clone()).collect();
    let changed = vault.join(&names[0]).join("transcript.json");
    let mut bytes = fs::read(&changed).unwrap();
    bytes[10] ^= 1;
    fs::write(&changed, &bytes).unwrap();
    let archived = snapshot_except(&vault, None);

    let again = simulate_again(tmp.path(), &rec, &truth, 2);
    let before = snapshot_except(&again.join(&names[0]), None);
    let (code, _, err) = prune(&again, &policy, &["--apply"]);
    assert_eq!(code, 1, "a recording it could not archive: {err}");
    assert!(
        err.contains("does not match") || err.contains(&names[0]),
        "{err}"
    );
    assert_eq!(
        snapshot_except(&vault, None),
        archived,
        "the archive was changed"
    );
    assert_eq!(
        snapshot_except(&again.join(&names[0]), None),
        before,
        "the recording whose archive differs was touched"
    );
    assert!(
        !again.join(&names[1]).exists(),
        "the identical archive finished its job"
    );
    assert_eq!(finished_by_existing_archive(&again), 1);
}

/// A recording whose name is not UTF-8 is archived under its real name,
/// byte for byte, not under the escaped name the reports show.
#[test]
fn an_archive_keeps_a_name_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(&root).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"caf\xff_20241201_143022");
    let sample = sample_recordings().join("7c9e6679-7425-40de-944b-e07fc1f90ae7_20241201_143022");
    copy_tree(&sample, &root.join(name), false);
    let policy = write_policy(
        tmp.path(),
        "archive_root = \"vault\"\n[[rule]]\nname = \"old\"\nolder_than = \"90d\"\naction = \"archive\"\n",
    );
    let (code, _, err) = prune(&root, &policy, &["--apply"]);
    assert_eq!(code, 0, "{err}");
    let archived: Vec<std::ffi::OsString> = fs::read_dir(tmp.path().join("vault"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(archived, vec![name.to_os_string()]);
    assert!(!root.join(name).exists());
}

/// An erasure killed after its recording went to the trash, whose intent
/// line is in another audit log (`--audit`): the trash says the session was
/// being erased, so matching nothing is no failure, and the trash is
/// emptied with an audit line.
#[test]
fn an_erasure_left_in_the_trash_is_finished_by_the_next_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 2, 8, &[]);
    let t = truths(&truth);
    let trash = rec.join(".callscope/trash");
    fs::create_dir_all(&trash).unwrap();
    let left = trash.join(format!("20250601T000000.000000Z-{}", t[0].recording));
    fs::rename(rec.join(&t[0].recording), &left).unwrap();
    let (code, _, err) = run(&[
        "erase",
        path_str(&rec),
        "--session",
        &t[0].session_id,
        "--no-hold-list",
        "--apply",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!left.exists(), "the trash was not emptied");
    assert!(rec.join(&t[1].recording).exists());
    let finished: Vec<Value> = audit_lines(&rec)
        .into_iter()
        .filter(|l| l["event"] == "trash-finished")
        .collect();
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0]["result"], "ok");
}

/// A WAV that cannot be removed (immutable) stops that delete-audio with
/// an error naming the file and exit 1, never a success; once it can be, the
/// next prune finishes the job from the marker.
#[test]
fn a_wav_that_cannot_be_removed_fails_the_delete_audio_and_the_next_prune_finishes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 1, 8, &[]);
    let dir = rec.join(&truths(&truth)[0].recording);
    let stuck = dir.join("bot_audio.wav");
    if !chattr("+i", &stuck) {
        eprintln!("SKIPPED: chattr +i is not possible here (needs root on ext4 or similar)");
        return;
    }
    let policy = write_policy(
        tmp.path(),
        "[[rule]]\nname = \"all\"\nolder_than = \"1d\"\naction = \"delete-audio\"\n",
    );
    let (code, _, err) = prune(&rec, &policy, &["--apply"]);
    chattr("-i", &stuck);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("bot_audio.wav"), "{err}");
    assert!(stuck.exists() && dir.join("AUDIO_REMOVED_BY_POLICY.json").exists());
    let (code, _, err) = prune(&rec, &policy, &["--apply"]);
    assert_eq!(code, 0, "{err}");
    let wavs: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wav"))
        .collect();
    assert!(wavs.is_empty(), "{wavs:?}");
}

/// The plan's totals add up: per action, per rule (recordings and bytes),
/// bytes to free (delete and delete-audio) and to archive, in the JSON and
/// in the text people read.
#[test]
fn the_plan_totals_add_up_per_action_and_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let policy = tmp.path().join("p.toml");
    fs::write(
        &policy,
        "archive_root = \"vault\"\n\
         [[rule]]\nname = \"crashed\"\nstate = \"crashed\"\naction = \"delete\"\n\
         [[rule]]\nname = \"lost\"\nintents = [\"lost_card\"]\naction = \"delete-audio\"\n\
         [[rule]]\nname = \"bal\"\nintents = [\"balance_inquiry\"]\naction = \"archive\"\n\
         [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n",
    )
    .unwrap();
    let (code, out, err) = prune_at(&root, &policy, NOW, &["--json"]);
    assert_eq!(code, 0, "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    let decisions = plan["recordings"].as_array().unwrap();
    let bytes = |d: &Value| d["bytes"].as_u64().unwrap();
    let of = |action: &str| -> (u64, u64) {
        let ds: Vec<&Value> = decisions.iter().filter(|d| d["action"] == action).collect();
        (ds.len() as u64, ds.iter().map(|d| bytes(d)).sum())
    };
    let s = &plan["summary"];
    assert_eq!(s["recordings"], 6);
    for action in ["delete", "delete-audio", "archive", "keep"] {
        assert_eq!(
            s["by_action"][action].as_u64(),
            Some(of(action).0),
            "{action}"
        );
    }
    assert!(of("delete").1 > 0 && of("delete-audio").1 > 0 && of("archive").1 > 0);
    assert_eq!(
        s["bytes_to_free"].as_u64().unwrap(),
        of("delete").1 + of("delete-audio").1
    );
    assert_eq!(s["bytes_to_archive"].as_u64().unwrap(), of("archive").1);
    for (rule, action) in [
        ("crashed", "delete"),
        ("lost", "delete-audio"),
        ("bal", "archive"),
    ] {
        let r = &s["by_rule"][rule];
        assert_eq!(r["action"], action);
        assert_eq!(
            (
                r["recordings"].as_u64().unwrap(),
                r["bytes"].as_u64().unwrap()
            ),
            of(action)
        );
    }
    // The text says the same, in the units people read.
    let (_, text, _) = prune_at(&root, &policy, NOW, &[]);
    assert!(text.contains("per rule:\n  bal "), "{text}");
    let human = callscope::retention::human_bytes;
    let free = human(s["bytes_to_free"].as_u64().unwrap());
    let archive = human(s["bytes_to_archive"].as_u64().unwrap());
    assert!(
        text.contains(&format!("{free} to free, {archive} to archive")),
        "{text}"
    );
}

/// A yearly period from 29 February ends on the 28th in a year with no
/// 29th: the call is kept until the microsecond before its time of day on
/// 2025-02-28 and goes from then; four years on, on the 29th again.
#[test]
fn a_year_from_the_29th_of_february_ends_on_the_28th() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, _) = simulate(tmp.path(), 1, 5, &["--start", "2024-02-29T10:00:00Z"]);
    let rec = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.contains("20240229"))
        .expect("a call started on 29 February");
    let policy = tmp.path().join("policy.toml");
    fs::write(
        &policy,
        "[[rule]]\nname = \"yearly\"\nolder_than = \"1y\"\naction = \"delete\"\n\
         [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n",
    )
    .unwrap();
    // The call's start, to the microsecond, as its metadata gives it.
    let meta = read_json(&root.join(&rec).join("call_metadata.json"));
    let start: chrono::DateTime<chrono::Utc> =
        meta["start_time"].as_str().unwrap().parse().unwrap();
    assert_eq!(start.format("%F").to_string(), "2024-02-29");
    // `date` at the call's time of day, less `micros_before`.
    let on = |date: &str, micros_before: i64| {
        let t = format!("{date}T{}Z", start.format("%H:%M:%S%.6f"));
        let t: chrono::DateTime<chrono::Utc> = t.parse().unwrap();
        (t - chrono::Duration::microseconds(micros_before))
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    };
    let action_at = |now: String| {
        let (code, out, err) = prune_at(&root, &policy, &now, &["--json"]);
        assert_eq!(code, 0, "{err}");
        let plan: Value = serde_json::from_str(&out).unwrap();
        actions(&plan)[&rec].clone()
    };
    assert_eq!(action_at(on("2025-02-28", 1)), "keep");
    assert_eq!(action_at(on("2025-02-28", 0)), "delete");
    // In ISO 8601 and spelt out, the same year.
    for year in ["P1Y", "12 months", "P12M"] {
        fs::write(
            &policy,
            format!(
                "[[rule]]\nname = \"yearly\"\nolder_than = \"{year}\"\naction = \"delete\"\n\
                 [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n"
            ),
        )
        .unwrap();
        assert_eq!(action_at(on("2025-02-28", 1)), "keep", "{year}");
        assert_eq!(action_at(on("2025-02-28", 0)), "delete", "{year}");
    }
    // Four years on, the anniversary is the 29th again.
    fs::write(
        &policy,
        "[[rule]]\nname = \"four\"\nolder_than = \"4y\"\naction = \"delete\"\n\
         [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n",
    )
    .unwrap();
    assert_eq!(action_at(on("2028-02-28", 0)), "keep");
    assert_eq!(action_at(on("2028-02-29", 1)), "keep");
    assert_eq!(action_at(on("2028-02-29", 0)), "delete");
}
