//! Encrypted archives: a retention rule archives to age recipients; the
//! reference `age` tool (Debian's package age) decrypts every archive to
//! the original bytes; keys that would leave archives unreadable or in the
//! clear are refused before anything moves; an archive in the way is never
//! overwritten and its original never removed. (Killed at every step:
//! tests/fault_injection.rs.)

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use common::{age_decrypt, age_keygen as keygen, age_tool, copy_samples, prune_at, snapshot};
use serde_json::Value;

const NOW: &str = "2030-01-01T00:00:00Z";

fn policy(dir: &Path, head: &str) -> PathBuf {
    let p = dir.join("policy.toml");
    fs::write(
        &p,
        format!(
            "archive_root = \"archive\"\n{head}\n[[rule]]\nname = \"old\"\nolder_than = \"30d\"\naction = \"archive\"\n\
             [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n"
        ),
    )
    .unwrap();
    p
}

/// Every file in a tar stream, by path.
fn untar(r: impl Read) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut a = tar::Archive::new(r);
    let mut out = BTreeMap::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().into_owned();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        out.insert(p, bytes);
    }
    out
}

fn sha256(bytes: &[u8]) -> String {
    callscope::safe_fs::sha256_reader(&mut &bytes[..]).unwrap()
}

#[test]
fn every_archive_decrypts_with_the_age_tool_to_the_original_bytes() {
    if !age_tool("every_archive_decrypts_with_the_age_tool_to_the_original_bytes") {
        return;
    }
    for (format, gz) in [("tar.age", false), ("tar.gz.age", true)] {
        let tmp = tempfile::tempdir().unwrap();
        let root = copy_samples(tmp.path());
        let (key, public) = keygen(tmp.path(), "key.txt");
        // A second recipient: either key opens every archive.
        let (key2, public2) = keygen(tmp.path(), "key2.txt");
        let before = snapshot(&root);
        let p = policy(
            tmp.path(),
            &format!(
                "archive_format = \"{format}\"\nrecipients = [\"{public}\", \"{public2}\"]\nverify_identity = \"key.txt\""
            ),
        );
        let (code, out, err) = prune_at(&root, &p, NOW, &["--apply"]);
        assert_eq!(code, 0, "{format}: {out}{err}");
        let archive = tmp.path().join("archive");
        let mut archives: Vec<PathBuf> = fs::read_dir(&archive)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        archives.sort();
        assert_eq!(archives.len(), 6, "{format}: {archives:?}");
        let mut restored = BTreeMap::new();
        for a in &archives {
            assert!(a.to_string_lossy().ends_with(&format!(".{format}")));
            let bytes = fs::read(a).unwrap();
            assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
            for k in [&key, &key2] {
                let plain = age_decrypt(k, a);
                let files = if gz {
                    untar(flate2::read::GzDecoder::new(&plain[..]))
                } else {
                    untar(&plain[..])
                };
                for (p, b) in files {
                    restored.insert(p, b);
                }
            }
        }
        // Every file of every recording, byte for byte, and nothing else.
        let originals: BTreeMap<PathBuf, Vec<u8>> = before
            .into_iter()
            .filter(|(p, _)| p.components().count() == 2)
            .filter(|(p, _)| !p.starts_with("README.md"))
            .map(|(p, (b, _))| (p, b))
            .collect();
        let recorded: BTreeMap<_, _> = originals
            .iter()
            .filter(|(p, _)| {
                archives.iter().any(|a| {
                    a.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with(&*p.components().next().unwrap().as_os_str().to_string_lossy())
                })
            })
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect();
        // Seven files in each of five, and the crashed call's four WAVs.
        assert_eq!(recorded.len(), 38, "{format}");
        assert_eq!(restored, recorded, "{format}");
        // The originals are gone; the audit log names each archive's SHA-256.
        for p in recorded.keys() {
            assert!(!root.join(p).exists(), "{}", p.display());
        }
        let log = fs::read_to_string(root.join(".callscope/audit.jsonl")).unwrap();
        let done: Vec<Value> = log
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["event"] == "done" && l["action"] == "archive")
            .collect();
        assert_eq!(done.len(), 6);
        for l in done {
            let a = PathBuf::from(l["archived_to"].as_str().unwrap());
            assert_eq!(
                l["archive_sha256"],
                sha256(&fs::read(tmp.path().join(&a).canonicalize().unwrap_or(a)).unwrap())
            );
        }
        // No private key is needed to archive: the policy above gave one
        // only to check with; the plain text never touched the disk.
        assert!(!fs::read_dir(&archive).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tar")));
    }
}

#[test]
fn keys_that_would_leave_archives_unreadable_or_in_the_clear_are_refused() {
    if !age_tool("keys_that_would_leave_archives_unreadable_or_in_the_clear_are_refused") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let (_, public) = keygen(tmp.path(), "key.txt");
    keygen(tmp.path(), "other.txt");
    let secret = fs::read_to_string(tmp.path().join("key.txt")).unwrap();
    let secret = secret
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    fs::write(tmp.path().join("empty.txt"), "# nobody\n").unwrap();
    let before = snapshot(&root);
    for (head, says) in [
        (
            format!("archive_format = \"directory\"\nrecipients = [\"{public}\"]"),
            "cannot be encrypted",
        ),
        ("archive_format = \"tar.age\"".to_string(), "no recipient"),
        (format!("recipients = [\"{secret}\"]"), "private key"),
        (
            "recipients = [\"age1notakey\"]".to_string(),
            "not an age X25519 recipient",
        ),
        (
            "recipients_file = \"empty.txt\"".to_string(),
            "no recipient in it",
        ),
        (
            "recipients_file = \"missing.txt\"".to_string(),
            "missing.txt",
        ),
        (
            format!("recipients = [\"{public}\"]\nverify_identity = \"other.txt\""),
            "none of the recipients",
        ),
    ] {
        let p = policy(tmp.path(), &head);
        check_refused(&root, &p, &head, says, &before, tmp.path());
    }
    // Keys in a rule that does not archive would be ignored.
    let p = tmp.path().join("policy.toml");
    fs::write(
        &p,
        format!(
            "[[rule]]\nname = \"old\"\nolder_than = \"30d\"\naction = \"delete\"\nrecipients = [\"{public}\"]\n\
             [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n"
        ),
    )
    .unwrap();
    check_refused(
        &root,
        &p,
        "a delete rule with keys",
        "only apply to archive",
        &before,
        tmp.path(),
    );
}

/// A refused policy: exit 2 naming the policy and why, nothing moved.
fn check_refused(
    root: &Path,
    p: &Path,
    head: &str,
    says: &str,
    before: &std::collections::BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)>,
    dir: &Path,
) {
    let (code, out, err) = prune_at(root, p, NOW, &["--apply"]);
    assert_eq!(code, 2, "{head}: {out}{err}");
    assert!(err.contains(says), "{head}: {err}");
    assert!(err.contains("policy.toml"), "{head}: {err}");
    assert_eq!(&snapshot(root), before, "{head}: something moved");
    assert!(!dir.join("archive").exists());
}

/// Keys in an archive rule: that rule's archives are encrypted to them (in
/// the encrypted form of the policy's format), the policy's other archive
/// rules stay as the policy says.
#[test]
fn an_archive_rule_with_keys_of_its_own_encrypts_its_archives() {
    if !age_tool("an_archive_rule_with_keys_of_its_own_encrypts_its_archives") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let (key, public) = keygen(tmp.path(), "key.txt");
    let p = tmp.path().join("policy.toml");
    fs::write(
        &p,
        format!(
            "archive_root = \"archive\"\narchive_format = \"tar.gz\"\n\
             [[rule]]\nname = \"crashed\"\nstate = \"crashed\"\nolder_than = \"30d\"\naction = \"archive\"\n\
             [[rule]]\nname = \"old\"\nolder_than = \"30d\"\naction = \"archive\"\nrecipients = [\"{public}\"]\n\
             [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n"
        ),
    )
    .unwrap();
    let (code, out, err) = prune_at(&root, &p, NOW, &["--apply"]);
    assert_eq!(code, 0, "{out}{err}");
    let mut names: Vec<String> = fs::read_dir(tmp.path().join("archive"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 6);
    let plain: Vec<_> = names.iter().filter(|n| n.ends_with(".tar.gz")).collect();
    assert_eq!(
        plain.len(),
        1,
        "the crashed call, by the policy's format: {names:?}"
    );
    assert!(plain[0].starts_with("9f1c2e4b"));
    for n in names.iter().filter(|n| n.ends_with(".tar.gz.age")) {
        let bytes = age_decrypt(&key, &tmp.path().join("archive").join(n));
        assert!(!untar(flate2::read::GzDecoder::new(&bytes[..])).is_empty());
    }
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".tar.gz.age")).count(),
        5
    );
}

#[test]
fn an_archive_in_the_way_is_never_overwritten_and_its_original_stays() {
    if !age_tool("an_archive_in_the_way_is_never_overwritten_and_its_original_stays") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let (_, public) = keygen(tmp.path(), "key.txt");
    let rec = "session_123_20241205_080001";
    let archive = tmp.path().join("archive");
    fs::create_dir(&archive).unwrap();
    // What another run, or someone, left there: not proven to be this
    // recording (no private key is given to look inside).
    let in_the_way = archive.join(format!("{rec}.tar.age"));
    fs::write(&in_the_way, b"age-encryption.org/v1\nsomething else").unwrap();
    let p = policy(tmp.path(), &format!("recipients = [\"{public}\"]"));
    let (code, out, err) = prune_at(&root, &p, NOW, &["--apply"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!("{rec}.tar.age")) && err.contains("never overwritten"),
        "{err}"
    );
    assert_eq!(
        fs::read(&in_the_way).unwrap(),
        b"age-encryption.org/v1\nsomething else"
    );
    assert!(
        root.join(rec).join("caller_audio.wav").exists(),
        "the original was removed"
    );
    // The five others were archived.
    assert_eq!(fs::read_dir(&archive).unwrap().count(), 6);
    assert_eq!(
        fs::read_dir(&root)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_dir())
            .filter(|e| !e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.'))
            .count(),
        1
    );
}
