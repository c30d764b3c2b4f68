//! `callscope browse` driven in a real terminal (tmux): open, filter, select
//! a recording, read its transcript, export it, quit.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

struct Tmux {
    session: String,
}

impl Tmux {
    fn start(cmd: &str) -> Tmux {
        // One session per test: the tests of this file run at once.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = format!("callscope-test-{}-{n}", std::process::id());
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "150",
                "-y",
                "45",
                cmd,
            ])
            .status()
            .expect("tmux is needed for this test (.ci/run installs it)");
        assert!(ok.success());
        Tmux { session }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        assert!(Command::new("tmux").args(&args).status().unwrap().success());
    }

    /// Wait (up to 10 s) until the screen shows `text`; the screen when it does.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "never saw {text:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

#[test]
fn browse_filter_open_read_export_quit() {
    let tmp = tempfile::tempdir().unwrap();
    let root = sample_recordings();
    let cmd = format!(
        "cd {} && {} browse {} --settle 0; echo BROWSE-EXIT-$?; sleep 30",
        path_str(tmp.path()),
        env!("CARGO_BIN_EXE_callscope"),
        path_str(&root)
    );
    let t = Tmux::start(&cmd);
    t.wait_for("6 of 6 recordings");
    // The list may still be drawing when the status line is there.
    t.wait_for("session_123_20241205_080001");

    // Filter as you type.
    t.keys(&["c4d5"]);
    let s = t.wait_for("1 of 6 recordings");
    assert!(s.contains("c4d5e6f7-0818-4293-a4b5-c6d7e8f90a1b_20241204_114730"));
    assert!(!s.contains("session_123_20241205_080001"));

    // Open it: summary, transcript, function calls.
    t.keys(&["Enter"]);
    let s = t.wait_for("Transcript");
    assert!(
        s.contains("[00:02.936] Caller  I want to dispute a charge."),
        "{s}"
    );
    assert!(s.contains("call_intent"));

    // Export the transcript from the browser.
    t.keys(&["e"]);
    t.wait_for("transcript written to");
    let exported = std::fs::read_to_string(
        tmp.path()
            .join("c4d5e6f7-0818-4293-a4b5-c6d7e8f90a1b_transcript.txt"),
    )
    .unwrap();
    assert!(exported.contains("Caller: No, transfer me please."));

    // Back to the list, then quit.
    t.keys(&["Escape"]);
    t.wait_for("1 of 6 recordings");
    t.keys(&["Escape"]);
    t.wait_for("BROWSE-EXIT-0");
}

#[test]
fn browse_refuses_without_a_terminal() {
    let (code, _, err) = run(&["browse", path_str(&sample_recordings())]);
    assert_eq!(code, 2);
    assert!(err.contains("browse needs a terminal"), "{err}");
}

/// The pid of the `callscope browse` whose command line names `root`.
fn browse_pid(root: &std::path::Path) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.find_map(|e| {
        let e = e.ok()?;
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let c = std::fs::read(e.path().join("cmdline")).ok()?;
        let c = String::from_utf8_lossy(&c).replace('\0', " ");
        // The browser itself, not the shell or the tmux server that name it.
        let me = env!("CARGO_BIN_EXE_callscope");
        (c.starts_with(&format!("{me} browse ")) && c.contains(path_str(root))).then_some(pid)
    })
}

/// A stop stops the browser: SIGTERM ends it with 143, and when its
/// terminal goes away it exits instead of spinning.
#[test]
fn browse_ends_on_sigterm_and_when_its_terminal_goes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_samples(tmp.path());
    let cmd = format!(
        "{} browse {} --settle 0; echo BROWSE-EXIT-$?; sleep 30",
        env!("CARGO_BIN_EXE_callscope"),
        path_str(&root)
    );
    let t = Tmux::start(&cmd);
    t.wait_for("6 of 6 recordings");
    let pid = browse_pid(&root).expect("browse is running");
    // SAFETY: a signal to the browser this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    t.wait_for("BROWSE-EXIT-143");
    drop(t);

    let t = Tmux::start(&cmd);
    t.wait_for("6 of 6 recordings");
    let pid = browse_pid(&root).expect("browse is running");
    drop(t); // the terminal is gone
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        if start.elapsed() > Duration::from_secs(30) {
            // SAFETY: only the browser this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("browse outlived its terminal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
