//! A symlink (to a directory and to a file outside the store), a FIFO and a
//! directory planted in turn at every path each mutating command opens,
//! creates, renames or removes under the store and beside its output. The
//! paths are not listed by hand: each command is first run under strace,
//! and every path it touched is a place to plant, so a path a later change
//! adds is covered without editing this test. After each planted run:
//! nothing outside the store changed, the held recording is whole, and the
//! command ended (a hang is a failure).
//!
//! CI plants one kind per path, turning through the four (path i gets kind
//! i mod 4, so every kind is planted at a quarter of the paths);
//! `CALLSCOPE_PLANT_SWEEP=full cargo test --release --test planted_paths`
//! plants all four at every path. Without strace the test fails under CI
//! and says it skipped elsewhere.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const NOW: &str = "2030-01-01T00:00:00Z";
const HELD: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7_20241201_143022";
const ERASED: &str = "c4d5e6f7-0818-4293-a4b5-c6d7e8f90a1b";

/// What a test directory holds: the store, a place for reports, a place
/// outside both, policies.
struct Layout {
    t: PathBuf,
    root: PathBuf,
    reports: PathBuf,
    outside: PathBuf,
}

impl Layout {
    fn new(t: &Path) -> Layout {
        let _ = fs::remove_dir_all(t);
        fs::create_dir_all(t).unwrap();
        let root = copy_samples(t);
        fs::write(root.join(HELD).join("LEGAL_HOLD"), b"matter 117\n").unwrap();
        let reports = t.join("reports");
        fs::create_dir(&reports).unwrap();
        let outside = t.join("outside");
        fs::create_dir_all(outside.join("sub")).unwrap();
        fs::write(outside.join("precious.txt"), b"not callscope's\n").unwrap();
        fs::write(outside.join("sub/more.txt"), b"more\n").unwrap();
        for (name, rule) in [
            ("delete", "action = \"delete\""),
            ("audio", "action = \"delete-audio\""),
            ("archive", "action = \"archive\""),
            // Encrypted to a public key alone (no private key is needed).
            (
                "archive-age",
                "action = \"archive\"\nrecipients = [\"age1c3ysp27fd2kzaax2n69s6jaqe8d6kt0arfa28p6223x2ty9x24zq3frrk0\"]",
            ),
        ] {
            let archive = t.join("archive");
            fs::write(
                t.join(format!("{name}.toml")),
                format!(
                    "archive_root = \"{}\"\n[[rule]]\nname = \"all\"\nolder_than = \"1d\"\n{rule}\n\n[[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n",
                    archive.display()
                ),
            )
            .unwrap();
        }
        Layout {
            t: t.to_path_buf(),
            root,
            reports,
            outside,
        }
    }

    fn s(&self, p: &Path) -> String {
        p.to_str().unwrap().to_string()
    }

    /// Nothing outside changed.
    fn outside_whole(&self) -> Result<(), String> {
        let read = |p: &str| fs::read(self.outside.join(p)).ok();
        let entries = fs::read_dir(&self.outside).map_or(0, std::iter::Iterator::count);
        if read("precious.txt").as_deref() != Some(b"not callscope's\n".as_slice())
            || read("sub/more.txt").as_deref() != Some(b"more\n".as_slice())
            || entries != 2
        {
            return Err(format!("{} changed", self.outside.display()));
        }
        Ok(())
    }

    /// The held recording is whole, but for what was planted in it.
    fn hold_whole(&self, planted: &Path) -> Result<(), String> {
        let held = self.root.join(HELD);
        for name in [
            "LEGAL_HOLD",
            "caller_audio.wav",
            "bot_audio.wav",
            "transcript.json",
        ] {
            let p = held.join(name);
            if p != planted && !p.starts_with(planted) && p.symlink_metadata().is_err() {
                return Err(format!("the held recording lost {name}"));
            }
        }
        Ok(())
    }
}

/// A mutating command: what it needs done first, and its arguments.
struct Scenario {
    name: &'static str,
    before: fn(&Layout),
    args: fn(&Layout) -> Vec<String>,
}

fn nothing(_: &Layout) {}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(std::string::ToString::to_string).collect()
}

/// A quick night's `run` of the root into the reports' `out`, with `extra`.
fn night_args(l: &Layout, out: &str, extra: &[&str]) -> Vec<String> {
    let (root, out) = (l.s(&l.root), l.s(&l.reports.join(out)));
    let mut args = strings(&["run", &root, "-o", &out, "-a", "intents"]);
    args.extend(strings(extra));
    args.extend(strings(&["--quiet", "--fail-on", "never"]));
    args
}

fn a_night(l: &Layout) {
    let args = night_args(l, "night", &[]);
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
}

fn prune(l: &Layout, policy: &str) -> Vec<String> {
    strings(&[
        "prune",
        &l.s(&l.root),
        "--policy",
        &l.s(&l.t.join(format!("{policy}.toml"))),
        "--now",
        NOW,
        "--settle",
        "0",
        "--apply",
    ])
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "repair",
            before: nothing,
            args: |l| strings(&["repair", &l.s(&l.root), "--quiet", "--aligned"]),
        },
        Scenario {
            name: "prune delete",
            before: nothing,
            args: |l| prune(l, "delete"),
        },
        Scenario {
            name: "prune delete-audio",
            before: nothing,
            args: |l| prune(l, "audio"),
        },
        Scenario {
            name: "prune archive",
            before: nothing,
            args: |l| prune(l, "archive"),
        },
        Scenario {
            name: "prune archive tar.age",
            before: nothing,
            args: |l| prune(l, "archive-age"),
        },
        Scenario {
            name: "repair --fix-permissions",
            before: nothing,
            args: |l| strings(&["repair", &l.s(&l.root), "--quiet", "--fix-permissions"]),
        },
        Scenario {
            name: "erase",
            before: nothing,
            args: |l| {
                strings(&[
                    "erase",
                    &l.s(&l.root),
                    "--session",
                    ERASED,
                    "--no-hold-list",
                    "--apply",
                ])
            },
        },
        Scenario {
            name: "run",
            before: nothing,
            args: |l| {
                let out = l.s(&l.reports.join("night"));
                let metrics = l.s(&l.reports.join("night.prom"));
                strings(&[
                    "run",
                    &l.s(&l.root),
                    "-o",
                    &out,
                    "-a",
                    "intents",
                    "--format",
                    "csv,html",
                    "--metrics",
                    &metrics,
                    "--quiet",
                    "--fail-on",
                    "never",
                ])
            },
        },
        Scenario {
            // Reads every report beside --out (each manifest and partial)
            // and takes the nights' lock.
            name: "run --new",
            before: a_night,
            args: |l| night_args(l, "tonight", &["--new"]),
        },
        Scenario {
            name: "run --replace",
            before: a_night,
            args: |l| {
                let out = l.s(&l.reports.join("night"));
                strings(&[
                    "run",
                    &l.s(&l.root),
                    "-o",
                    &out,
                    "-a",
                    "intents",
                    "--replace",
                    "--quiet",
                    "--fail-on",
                    "never",
                ])
            },
        },
        Scenario {
            name: "merge",
            before: a_night,
            args: |l| {
                strings(&[
                    "merge",
                    &l.s(&l.reports.join("night")),
                    "-o",
                    &l.s(&l.reports.join("merged")),
                ])
            },
        },
        Scenario {
            name: "plan",
            before: nothing,
            args: |l| {
                strings(&[
                    "plan",
                    &l.s(&l.root),
                    "-o",
                    &l.s(&l.reports.join("plan.json")),
                ])
            },
        },
        Scenario {
            name: "show --html",
            before: nothing,
            args: |l| {
                strings(&[
                    "show",
                    "--root",
                    &l.s(&l.root),
                    HELD,
                    "--html",
                    &l.s(&l.reports.join("call.html")),
                ])
            },
        },
    ]
}

/// The paths a traced command touched (opened, created, linked, renamed,
/// removed), read from `strace -f -y` output: paths given relative to a
/// directory handle are joined to it, and `/proc/self/fd/N/…` (how
/// callscope names a file beneath a handle it holds) to the handle's path.
fn touched(trace: &str) -> BTreeSet<PathBuf> {
    let fd_path = regex::Regex::new(r"= (\d+)<([^>]*)>").unwrap();
    let call = regex::Regex::new(r#"^(?:\[pid +\d+\] |\d+ +)?(\w+)\((.*)"#).unwrap();
    let arg =
        regex::Regex::new(r#"(?:(\d+|AT_FDCWD)(?:<([^>]*)>)?, )?"((?:[^"\\]|\\.)*)""#).unwrap();
    let proc_fd = regex::Regex::new(r"^/proc/self/fd/(\d+)(/.*)?$").unwrap();
    let mut fds: BTreeMap<String, String> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for line in trace.lines() {
        let Some(c) = call.captures(line) else {
            continue;
        };
        let rest = &c[2];
        for a in arg.captures_iter(rest) {
            let mut p = a[3].to_string();
            if let Some(m) = proc_fd.captures(&p) {
                let Some(base) = fds.get(&m[1]) else { continue };
                p = format!("{base}{}", m.get(2).map_or("", |x| x.as_str()));
            } else if !p.starts_with('/') {
                let Some(dir) = a.get(2) else { continue };
                p = format!("{}/{p}", dir.as_str());
            }
            out.insert(PathBuf::from(p));
        }
        if let Some(r) = fd_path.captures(line) {
            fds.insert(r[1].to_string(), r[2].to_string());
        }
    }
    out
}

/// Where to plant for a touched path: the path itself, or its directory
/// when its name cannot be known before the run (a temporary name, a
/// time stamp, a trash entry).
fn plant_site(p: &Path) -> PathBuf {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stamped = regex::Regex::new(r"\d{8}T\d{6}").unwrap();
    if name.ends_with(".callscope-tmp") || stamped.is_match(&name) {
        p.parent().map(plant_site).unwrap_or_default()
    } else {
        p.to_path_buf()
    }
}

fn strace_ok() -> bool {
    let ok = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "strace is missing (apt-get install strace); CI needs it"
        );
        eprintln!("SKIPPED: strace is not installed (apt-get install strace)");
    }
    ok
}

/// The sites a scenario touches under the test directory (not the store,
/// the reports directory or the outside directory themselves).
fn sites(l: &Layout, s: &Scenario) -> BTreeSet<PathBuf> {
    (s.before)(l);
    let log = l.t.join("strace.log");
    let st = Command::new("strace")
        .args(["-f", "-y", "-qq", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,link,linkat,symlink,symlinkat",
        ])
        .arg(env!("CARGO_BIN_EXE_callscope"))
        .args((s.args)(l))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.code().is_some(), "{}: traced run died", s.name);
    let trace = fs::read_to_string(&log).unwrap();
    let t = l.t.canonicalize().unwrap();
    touched(&trace)
        .into_iter()
        .filter(|p| p.starts_with(&t))
        .map(|p| plant_site(&p))
        .filter(|p| {
            // The archive root is the policy's own choice of destination
            // (a link there to a mounted volume is the operator's); what
            // callscope makes inside it is planted at.
            ![
                &t,
                &t.join("archive"),
                &t.join("root"),
                &t.join("reports"),
                &t.join("outside"),
                &t.join("strace.log"),
            ]
            .contains(&p)
                && !p.starts_with(t.join("outside"))
                && p.extension().is_none_or(|e| e != "toml")
        })
        .map(|p| l.t.join(p.strip_prefix(&t).unwrap()))
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Plant {
    LinkToDir,
    LinkToFile,
    Fifo,
    Dir,
}

const PLANTS: [Plant; 4] = [Plant::LinkToDir, Plant::LinkToFile, Plant::Fifo, Plant::Dir];

fn plant(l: &Layout, at: &Path, kind: Plant) {
    match fs::symlink_metadata(at) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(at).unwrap(),
        Ok(_) => fs::remove_file(at).unwrap(),
        Err(_) => {}
    }
    if let Some(parent) = at.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    match kind {
        Plant::LinkToDir => std::os::unix::fs::symlink(&l.outside, at).unwrap(),
        Plant::LinkToFile => {
            std::os::unix::fs::symlink(l.outside.join("precious.txt"), at).unwrap();
        }
        Plant::Fifo => assert!(Command::new("mkfifo").arg(at).status().unwrap().success()),
        Plant::Dir => fs::create_dir(at).unwrap(),
    }
}

/// Run, bounded: false if it had to be killed.
fn ran_to_the_end(args: &[String]) -> bool {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

#[test]
fn a_link_fifo_or_directory_planted_at_any_path_a_command_touches_loses_nothing() {
    if !strace_ok() {
        return;
    }
    let full = std::env::var("CALLSCOPE_PLANT_SWEEP").is_ok_and(|v| v == "full");
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("t");
    let mut failures = Vec::new();
    let mut tried = 0;
    for s in scenarios() {
        let found = sites(&Layout::new(&base), &s);
        assert!(!found.is_empty(), "{}: strace saw no path", s.name);
        for (i, site) in found.iter().enumerate() {
            let kinds: Vec<Plant> = if full {
                PLANTS.to_vec()
            } else {
                vec![PLANTS[i % 4]]
            };
            for kind in kinds {
                let l = Layout::new(&base);
                (s.before)(&l);
                plant(&l, site, kind);
                tried += 1;
                let what = format!(
                    "{}: {kind:?} at {}",
                    s.name,
                    site.strip_prefix(&base).unwrap().display()
                );
                if !ran_to_the_end(&(s.args)(&l)) {
                    failures.push(format!("{what}: hung"));
                    continue;
                }
                if let Err(e) = l.outside_whole().and_then(|()| l.hold_whole(site)) {
                    failures.push(format!("{what}: {e}"));
                }
            }
        }
    }
    eprintln!("planted {tried} times");
    assert!(
        tried > 40,
        "only {tried} plants: the traces found too few paths"
    );
    assert!(
        failures.is_empty(),
        "{} of {tried} plants lost something:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
