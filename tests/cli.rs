//! The command line's habits, end to end: colour only where wanted, shell
//! completions, the man page, environment variables, allowed values and
//! suggestions in errors, short flags.

mod common;

use std::process::Command;

use common::*;

/// Run callscope under a pseudo-terminal (util-linux `script`), as a person
/// at a terminal would; returns what the terminal showed.
fn on_a_terminal(env: &[(&str, &str)], args: &[&str]) -> String {
    let mut line = String::new();
    for (k, v) in env {
        line.push_str(&format!("{k}='{v}' "));
    }
    line.push_str(&format!("'{}'", env!("CARGO_BIN_EXE_callscope")));
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "xterm-256color")
        .output()
        .expect("script (util-linux) runs a command under a pseudo-terminal");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const ESC: char = '\u{1b}';

#[test]
fn colour_on_a_terminal_and_none_with_no_color_or_never() {
    let samples = sample_recordings();
    // -q: no progress bar (its cursor movements are escape codes too, and
    // have nothing to do with colour).
    let args = ["check", path_str(&samples), "--settle", "0", "-q"];
    let coloured = on_a_terminal(&[], &args);
    // The status words are painted: red for an error, yellow for a warning.
    assert!(
        coloured.contains("\u{1b}[1m\u{1b}[31mERROR"),
        "{coloured:?}"
    );
    assert!(coloured.contains("\u{1b}[33mWARNING"), "{coloured:?}");
    for (env, extra) in [
        (vec![("NO_COLOR", "1")], None),
        (vec![("CLICOLOR", "0")], None),
        (vec![], Some("--color=never")),
    ] {
        let mut a = args.to_vec();
        a.extend(extra);
        let plain = on_a_terminal(&env, &a);
        assert!(!plain.contains(ESC), "{env:?} {extra:?}: {plain:?}");
        // The same text, less the codes.
        assert!(plain.contains("ERROR    session_123"), "{plain:?}");
    }
    // Into a pipe: no colour unless asked for.
    let (_, piped, _) = run(&args);
    assert!(!piped.contains(ESC));
    let mut a = args.to_vec();
    a.push("--color=always");
    let (_, forced, _) = run(&a);
    assert!(forced.contains(ESC));
}

/// `show` pads its labels on their text, not on the escape codes around
/// them: the values line up in one column, coloured or not.
#[test]
fn show_lines_up_its_values_on_a_terminal() {
    let samples = sample_recordings();
    let root = format!("--root={}", path_str(&samples));
    let screen = on_a_terminal(&[], &["show", &root, "7c9e6679"]);
    assert!(screen.contains(ESC), "{screen:?}");
    let strip = |s: &str| {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == ESC {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    let plain = strip(&screen);
    for label in ["Recording", "Session", "Start (UTC)", "Duration", "Check"] {
        let line = plain
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label}: {plain}"));
        assert!(
            line.len() > 13 && line[..13].trim_end() == label && !line[13..].starts_with(' '),
            "{label}: {line:?}"
        );
    }
}

#[test]
fn completions_generate_for_every_shell_and_parse() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = ok(&["completions", shell]);
        for sub in ["run", "check", "repair", "prune", "erase", "export"] {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
        // The options of a command, with their allowed values.
        assert!(script.contains("analyzers"), "{shell}");
        assert!(script.contains("fail-on"), "{shell}");
        let checker = match shell {
            "bash" => Some(("bash", vec!["-n"])),
            "zsh" => Some(("zsh", vec!["-n"])),
            "fish" => Some(("fish", vec!["--no-execute"])),
            _ => None,
        };
        let Some((program, args)) = checker else {
            continue;
        };
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), &script).unwrap();
        match Command::new(program).args(&args).arg(tmp.path()).output() {
            Ok(o) => assert!(
                o.status.success(),
                "{shell} rejects the script: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(_) => eprintln!("skipped: {program} is not installed, its script is not parsed"),
        }
    }
    // Bash really completes: the subcommands after `callscope `.
    let script = ok(&["completions", "bash"]);
    let probe = format!(
        "{script}\nCOMP_WORDS=(callscope ch); COMP_CWORD=1; _callscope callscope ch callscope; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let words = String::from_utf8_lossy(&out.stdout);
    assert!(words.lines().any(|w| w == "check"), "{words}");
    let (code, _, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("possible values: bash, elvish, fish, powershell, zsh"),
        "{err}"
    );
}

#[test]
fn the_man_page_renders() {
    let page = ok(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH callscope 1"),
        "{page:.200}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("callscope.1");
    std::fs::write(&file, &page).unwrap();
    match Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
    {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let text = String::from_utf8_lossy(&o.stdout);
            for part in [
                "NAME",
                "SYNOPSIS",
                "SUBCOMMANDS",
                "callscope-run(1)",
                "Exit codes",
            ] {
                assert!(text.contains(part), "no {part} in:\n{text}");
            }
            // roff was rendered, not printed.
            assert!(!text.contains(".TH"), "{text}");
        }
        Err(_) => eprintln!("skipped: man (man-db) is not installed; the roff is not rendered"),
    }
    // One page per command.
    let dir = tmp.path().join("man1");
    ok(&["man", "--dir", path_str(&dir)]);
    for page in ["callscope.1", "callscope-run.1", "callscope-prune.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    assert!(std::fs::read_to_string(dir.join("callscope-run.1"))
        .unwrap()
        .contains("analyzers"));
}

/// `CALLSCOPE_SETTLE` and `CALLSCOPE_NAME_TZ` stand for the options every
/// command shares, and the command line still wins.
#[test]
fn environment_variables_stand_for_the_shared_options() {
    let samples = sample_recordings();
    let state_of = |env: &[(&str, &str)], extra: &[&str]| -> String {
        let out = bin()
            .args(["list", "--json", path_str(&samples)])
            .args(extra)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let crashed = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["recording"].as_str().unwrap().starts_with("9f1c2e4b"))
            .unwrap();
        crashed["state"].as_str().unwrap().to_string()
    };
    // The samples' files are as old as the clone: with a settle time of
    // decades, the WAV-only call could still be going on.
    let decades = ("CALLSCOPE_SETTLE", "999999999");
    assert_eq!(state_of(&[], &[]), "crashed");
    assert_eq!(state_of(&[decades], &[]), "in-progress");
    assert_eq!(state_of(&[decades], &["--settle", "0"]), "crashed");
    let help = ok(&["run", "--help"]);
    for var in [
        "CALLSCOPE_NAME_TZ",
        "CALLSCOPE_SETTLE",
        "CALLSCOPE_JOBS",
        "CALLSCOPE_POLICY",
        "CALLSCOPE_PLUGIN_PATH",
    ] {
        assert!(help.contains(var), "run --help does not show {var}");
    }
    let bad = bin()
        .args(["list", path_str(&samples)])
        .env("CALLSCOPE_NAME_TZ", "Mars/Olympus")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Mars/Olympus"));
}

#[test]
fn allowed_values_are_listed_and_names_suggested() {
    let samples = sample_recordings();
    let s = path_str(&samples);
    for (args, expected) in [
        (
            vec!["run", s, "-o", "/tmp/x", "--vad", "loud"],
            "[possible values: neural, energy, earshot-full]",
        ),
        (
            vec!["run", s, "-o", "/tmp/x", "--format", "xml"],
            "[possible values: csv, json, html, parquet]",
        ),
        (
            vec!["list", s, "--sort", "size"],
            "[possible values: start, duration, turns]",
        ),
        (
            vec!["check", s, "--fail-on", "fatal"],
            "[possible values: info, warning, error]",
        ),
        (
            vec!["export", "x", "--format", "srt"],
            "[possible values: txt, json, vtt]",
        ),
        (
            vec!["play", "x", "--track", "left"],
            "[possible values: caller, bot, stereo, final, aligned]",
        ),
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r");
    let (code, _, err) = run(&["run", s, "-o", path_str(&out), "-a", "speach,intents"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no analyzer 'speach' (did you mean 'speech'?)"),
        "{err}"
    );
    assert!(
        err.contains("response_times, speech, intents, quality, transcript"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written on a usage error");
    let (code, _, err) = run(&["run", s, "-o", path_str(&out), "-a", "speech,speech"]);
    assert_eq!(code, 2);
    assert!(err.contains("'speech' is named twice"), "{err}");
}

#[test]
fn short_flags_do_what_the_long_ones_do() {
    let samples = sample_recordings();
    let tmp = tempfile::tempdir().unwrap();
    let (long, short) = (tmp.path().join("long"), tmp.path().join("short"));
    let s = path_str(&samples);
    let (a, _, _) = run(&[
        "run",
        s,
        "--out",
        path_str(&long),
        "--jobs",
        "1",
        "--quiet",
        "--analyzers",
        "response_times,intents",
    ]);
    let (b, _, _) = run(&[
        "run",
        s,
        "-o",
        path_str(&short),
        "-j",
        "1",
        "-q",
        "-a",
        "response_times,intents",
    ]);
    assert_eq!(a, b);
    assert_same_reports(&long, &short);
    let header = std::fs::read_to_string(short.join("calls.csv")).unwrap();
    assert!(
        header
            .lines()
            .next()
            .unwrap()
            .ends_with("intents_function_calls,intents_intents,intents_failed"),
        "{header}"
    );
    // export -o and run -o are the same word.
    let vtt = tmp.path().join("call.vtt");
    ok(&[
        "export",
        "-r",
        s,
        "7c9e6679",
        "--format",
        "vtt",
        "-o",
        path_str(&vtt),
    ]);
    assert!(std::fs::read_to_string(&vtt).unwrap().starts_with("WEBVTT"));
    let (code, _, err) = run(&["check", s, "-j", "0"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn every_command_shows_examples_in_its_help() {
    let help = ok(&["--help"]);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 14, "{commands:?}");
    for c in commands {
        let text = ok(&[c, "--help"]);
        let examples: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != "Examples:")
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .collect();
        assert!(examples.len() >= 2, "{c}: {text}");
        assert!(
            examples.iter().all(|e| e.contains("callscope ")),
            "{c}: {examples:?}"
        );
    }
}

/// The progress bar on a terminal: calls done of the total, and a rate a
/// person reads at a glance (whole calls a second, one decimal under ten),
/// not four decimals.
#[test]
fn the_progress_bar_shows_a_readable_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, _) = simulate(tmp.path(), 300, 5, &[]);
    let out = tmp.path().join("reports");
    let shown = on_a_terminal(
        &[],
        &[
            "run",
            path_str(&store),
            "-o",
            path_str(&out),
            "-j",
            "1",
            "--fail-on",
            "never",
        ],
    );
    let bars: Vec<&str> = shown
        .split(['\r', '\n'])
        .filter(|l| l.contains("/300 calls ("))
        .collect();
    assert!(!bars.is_empty(), "no progress bar drawn: {shown:?}");
    for bar in bars {
        let rate = bar
            .split("calls (")
            .nth(1)
            .and_then(|r| r.split("/s, ETA").next())
            .unwrap_or_else(|| panic!("no rate in {bar:?}"));
        let (whole, decimals) = rate.split_once('.').unwrap_or((rate, ""));
        assert!(
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && decimals.len() <= 1
                && (decimals.is_empty() || whole.parse::<u32>().unwrap() < 10),
            "rate {rate:?} in {bar:?}"
        );
    }
}

/// Every length of time is read by one grammar: what `--since` takes,
/// `--wait` and a policy's `older_than` take too (ISO 8601 included),
/// and each refuses only what its meaning rules out.
#[test]
fn one_grammar_for_every_length_of_time() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = sample_recordings();
    let go = |args: &[&str]| run(args);
    let out = tmp.path().join("a");
    let (code, _, err) = go(&[
        "run",
        path_str(&samples),
        "-o",
        path_str(&out),
        "--since",
        "P100000D",
        "--wait",
        "PT10M",
        "-a",
        "intents",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        calls(&out).len(),
        6,
        "a hundred thousand days back holds every call"
    );
    let (code, _, err) = go(&[
        "run",
        path_str(&samples),
        "-o",
        path_str(&tmp.path().join("b")),
        "--since",
        "1 month ago",
        "--wait",
        "2w",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("longer than a week"), "{err}");
    let policy = |older_than: &str| {
        let p = tmp.path().join("policy.toml");
        std::fs::write(
            &p,
            format!(
                "[[rule]]\nname = \"old\"\nolder_than = \"{older_than}\"\naction = \"delete\"\n\
                 [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n"
            ),
        )
        .unwrap();
        go(&["prune", path_str(&samples), "--policy", path_str(&p)])
    };
    for ok in ["P1Y6M", "18 months", "2 weeks", "PT48H"] {
        let (code, _, err) = policy(ok);
        assert!(code == 0 || code == 1, "{ok}: {err}");
    }
    let (code, _, err) = policy("P1DT12H");
    assert_eq!(code, 2);
    assert!(
        err.contains("mixes months, days and hours") && err.contains("36h"),
        "{err}"
    );
    let (code, _, err) = policy("6m");
    assert_eq!(code, 2);
    assert!(err.contains("ambiguous"), "{err}");
}
