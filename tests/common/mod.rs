//! Helpers for the end-to-end tests: run the real binary on real directories.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

/// The binary under test; `CALLSCOPE_BIN` runs the suite against another
/// build (an older one, to see a new test fail on the code it guards).
pub fn bin() -> Command {
    Command::new(
        std::env::var_os("CALLSCOPE_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_callscope").into()),
    )
}

/// Run callscope with arguments; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out: Output = bin().args(args).output().expect("run callscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run and insist on success; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "callscope {args:?} failed: {err}");
    out
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Simulate `calls` recordings into `dir/rec` (truth in `dir/truth`).
pub fn simulate(dir: &Path, calls: usize, seconds: u32, extra: &[&str]) -> (PathBuf, PathBuf) {
    let rec = dir.join("rec");
    let truth = dir.join("truth");
    let calls = calls.to_string();
    let seconds = seconds.to_string();
    let mut args = vec![
        "simulate",
        "--out",
        path_str(&rec),
        "--truth",
        path_str(&truth),
        "--calls",
        &calls,
        "--seconds",
        &seconds,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    ok(&args);
    (rec, truth)
}

/// The truth files of a simulated corpus, sorted by recording.
pub fn truths(truth_dir: &Path) -> Vec<callscope::simulate::Truth> {
    let mut names: Vec<_> = std::fs::read_dir(truth_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

pub fn sample_recordings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_recordings")
}

/// The rows of a run's calls.jsonl.
pub fn calls(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("calls.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every regular file under `root` (symlinks are not followed) → (bytes,
/// mtime), leaving out directories named `skip`.
pub fn snapshot_except(
    root: &Path,
    skip: Option<&str>,
) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if skip.is_some_and(|s| p.file_name().is_some_and(|n| n == s)) {
                continue;
            }
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else if m.is_file() {
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, (std::fs::read(&p).unwrap(), m.modified().unwrap()));
            }
        }
    }
    out
}

/// Every regular file under `root` → (bytes, mtime).
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    snapshot_except(root, None)
}

/// Copy a tree as `cp -a` does (modes and times kept); with `link`, as
/// `cp -al`: every file a hard link to the original (a snapshot that any
/// write into an original's inode shows up in).
pub fn copy_tree(from: &Path, to: &Path, link: bool) {
    let st = Command::new("cp")
        .arg(if link { "-al" } else { "-a" })
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(st.success(), "cp {} {}", from.display(), to.display());
}

/// A copy of the sample recordings at `dir/root`.
pub fn copy_samples(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    copy_tree(&sample_recordings(), &root, false);
    root
}

/// Two runs' reports are the same: every report file byte for byte, and
/// summary.json equal but for its `run` object (times, arguments).
/// The reports a run writes, besides summary.json.
pub const REPORTS: [&str; 12] = [
    "calls.csv",
    "calls.jsonl",
    "turns.csv",
    "turns.jsonl",
    "segments.csv",
    "segments.jsonl",
    "utterances.csv",
    "utterances.jsonl",
    "intents.csv",
    "findings.csv",
    "report.html",
    "schema.json",
];

/// Two report directories (side by side: the HTML pages link the
/// recordings' audio relative to the report) hold the same reports byte for byte (a report
/// the selected analyzers do not write is absent from both), and the same
/// summary.json but for its `run` object.
pub fn assert_same_reports(a: &Path, b: &Path) {
    for f in REPORTS {
        let (x, y) = (std::fs::read(a.join(f)).ok(), std::fs::read(b.join(f)).ok());
        assert!(
            x.is_some() || f.contains("segments") || f.contains("utterances"),
            "{f}: not written"
        );
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
    // Each call's page of the HTML report, by name.
    let pages = |p: &Path| -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(p.join("calls"))
            .map(|d| {
                d.map(|e| {
                    let e = e.unwrap();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
            })
            .unwrap_or_default()
    };
    let (pa, pb) = (pages(a), pages(b));
    assert_eq!(
        pa.keys().collect::<Vec<_>>(),
        pb.keys().collect::<Vec<_>>(),
        "the call pages differ between {} and {}",
        a.display(),
        b.display()
    );
    for (name, page) in &pa {
        assert!(page == &pb[name], "calls/{name} differs");
    }
    let summary = |p: &Path| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.join("summary.json")).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("run");
        v
    };
    assert_eq!(summary(a), summary(b));
}

/// `callscope prune ROOT --policy POLICY --now NOW --settle 0 EXTRA…`:
/// (exit code, stdout, stderr).
pub fn prune_at(root: &Path, policy: &Path, now: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "prune",
        path_str(root),
        "--policy",
        path_str(policy),
        "--now",
        now,
        "--settle",
        "0",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// A tmpfs of a few KiB (a full disk on demand), unmounted on drop; None
/// where mounting needs privileges this test does not have.
pub struct TinyDisk(tempfile::TempDir);

impl TinyDisk {
    pub fn mount(kib: u32) -> Option<TinyDisk> {
        Self::mount_with(&format!("size={kib}k"))
    }

    /// With tmpfs's own options (`nr_inodes=4`: room for three directories
    /// and no file).
    pub fn mount_with(options: &str) -> Option<TinyDisk> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(TinyDisk(dir))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

/// `chattr FLAG path` (immutable files and directories: root cannot write
/// them either); false where it is not possible.
pub fn chattr(flag: &str, path: &Path) -> bool {
    std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

/// Rewrite a 44-byte WAV header's RIFF and data sizes to fit its bytes.
pub fn fit_sizes(wav: &mut [u8]) {
    let data = (wav.len() - 44) as u32;
    wav[4..8].copy_from_slice(&(data + 36).to_le_bytes());
    wav[40..44].copy_from_slice(&data.to_le_bytes());
}

/// Set the sample-rate field of a WAV's header (and nothing else).
pub fn set_rate(wav: &Path, rate: u32) {
    let mut b = std::fs::read(wav).unwrap();
    assert_eq!(&b[12..16], b"fmt ");
    b[24..28].copy_from_slice(&rate.to_le_bytes());
    std::fs::write(wav, b).unwrap();
}

/// A JSON file's value (a recording's file, or a report's).
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Rewrite one JSON file of a recording through a function on its value.
pub fn edit_json(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v = read_json(path);
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// Chromium and the driver for it (`tests/browser/inspect.mjs`). Where
/// either is missing the test is skipped, saying why, and fails under
/// `CI=true` (where `.ci/run` installs both).
pub fn browser(test: &str) -> Option<(PathBuf, PathBuf)> {
    let found = (|| -> Result<(PathBuf, PathBuf), String> {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .ok_or("no Chromium (apt-get install chromium)")?;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        if !dir.join("node_modules/playwright-core").exists() {
            return Err("playwright-core is not installed (npm ci --prefix tests/browser)".into());
        }
        Command::new("node")
            .arg("--version")
            .output()
            .map_err(|_| "no node")?;
        Ok((chromium, dir.join("inspect.mjs")))
    })();
    match found {
        Ok(b) => Some(b),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{test}: {why}; CI installs it (.ci/run)")
        }
        Err(why) => {
            eprintln!("SKIPPED {test}: {why}");
            None
        }
    }
}

/// Run `tests/browser/inspect.mjs` on a spec; what it saw.
pub fn inspect(script: &Path, spec: &serde_json::Value, dir: &Path) -> serde_json::Value {
    let spec_path = dir.join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let o = Command::new("node")
        .arg(script)
        .arg(&spec_path)
        .output()
        .expect("node runs");
    assert!(
        o.status.success(),
        "the browser driver failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `chmod -R go-rwx`: a tree made private, as a careful recorder leaves it.
pub fn make_private(path: &Path) {
    let st = Command::new("chmod")
        .args(["-R", "go-rwx"])
        .arg(path)
        .status()
        .expect("chmod");
    assert!(st.success(), "chmod -R go-rwx {}", path.display());
}

/// Whether the reference age tools (Debian's package age) are here; under
/// CI=true they must be.
pub fn age_tool(test: &str) -> bool {
    let ok = ["age", "age-keygen"].iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "{test}: the age tool is not installed (apt-get install age); .ci/run installs it"
        );
        eprintln!("SKIPPED {test}: the age tool is not installed (apt-get install age)");
    }
    ok
}

/// A new key pair made by age-keygen at `dir/name`: (identity file, public key).
pub fn age_keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    let o = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .unwrap();
    assert!(o.status.success(), "age-keygen");
    let public = Command::new("age-keygen")
        .arg("-y")
        .arg(&key)
        .output()
        .unwrap();
    (
        key,
        String::from_utf8(public.stdout).unwrap().trim().to_string(),
    )
}

/// An age file decrypted by the reference `age` tool.
pub fn age_decrypt(key: &Path, file: &Path) -> Vec<u8> {
    let o = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(key)
        .arg(file)
        .output()
        .expect("age runs");
    assert!(
        o.status.success(),
        "age -d {}: {}",
        file.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// A bindfs (FUSE) view of a new directory, unmounted on drop: a file
/// system that refuses `renameat2(RENAME_EXCHANGE)` as NFS does. None where
/// bindfs or /dev/fuse is missing — which fails the test under CI=true.
pub struct FuseMount {
    backing: tempfile::TempDir,
    mount: tempfile::TempDir,
}

impl FuseMount {
    pub fn new(test: &str) -> Option<FuseMount> {
        let backing = tempfile::tempdir().unwrap();
        let mount = tempfile::tempdir().unwrap();
        let mounted = Command::new("bindfs")
            .args(["--no-allow-other"])
            .arg(backing.path())
            .arg(mount.path())
            .output()
            .is_ok_and(|o| o.status.success());
        if !mounted {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "{test}: bindfs cannot mount here (apt-get install bindfs; /dev/fuse); .ci/run installs it"
            );
            eprintln!("SKIPPED {test}: bindfs cannot mount here (apt-get install bindfs)");
            return None;
        }
        Some(FuseMount { backing, mount })
    }

    pub fn path(&self) -> &Path {
        self.mount.path()
    }

    /// The directory behind the mount.
    pub fn backing(&self) -> &Path {
        self.backing.path()
    }
}

impl Drop for FuseMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.mount.path()).status();
    }
}

/// Simulate `calls` recordings and move them into `store`: the recorder
/// writing a night's calls.
pub fn add_calls(
    store: &Path,
    work: &Path,
    seed: u32,
    calls: usize,
    start: &str,
    faults: &str,
) -> Vec<String> {
    let sim = work.join(format!("sim-{seed}"));
    let calls_s = calls.to_string();
    let seed_s = seed.to_string();
    ok(&[
        "simulate",
        "-o",
        path_str(&sim),
        "--calls",
        &calls_s,
        "--seconds",
        "12",
        "--seed",
        &seed_s,
        "--start",
        start,
        "--faults",
        faults,
        "-q",
    ]);
    std::fs::create_dir_all(store).unwrap();
    let mut names = Vec::new();
    for e in std::fs::read_dir(&sim).unwrap() {
        let e = e.unwrap();
        std::fs::rename(e.path(), store.join(e.file_name())).unwrap();
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    names
}

/// `run --plan PLAN -o OUT -q --fail-on never`, which must succeed: one
/// machine's run of a plan, what its shards' merge must equal.
pub fn run_plan(plan: &Path, out: &Path) {
    ok(&[
        "run",
        "--plan",
        path_str(plan),
        "-o",
        path_str(out),
        "-q",
        "--fail-on",
        "never",
    ]);
}

/// `findings.csv` of the report in `out`: recording → the codes of its
/// findings, in the file's order.
pub fn finding_codes(out: &Path) -> BTreeMap<String, Vec<String>> {
    let mut by = BTreeMap::<String, Vec<String>>::new();
    let mut r = csv::Reader::from_path(out.join("findings.csv")).unwrap();
    for row in r.records() {
        let row = row.unwrap();
        by.entry(row[0].to_string())
            .or_default()
            .push(row[1].to_string());
    }
    by
}
