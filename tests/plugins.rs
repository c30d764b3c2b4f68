//! Analyzer plugins end to end: the shipped Rust plugins and a C plugin built
//! here with the system C compiler, loaded by the real binary; and
//! deliberately broken plugins, each with its documented outcome.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Build the workspace's plugin crates once; the path of one of them.
fn rust_plugin(lib: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let st = Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "keyword-categories",
                "-p",
                "panic-example",
                "-p",
                "words-example",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(st.success(), "building the plugins failed");
    });
    let p = target_dir().join("debug").join(format!("lib{lib}.so"));
    assert!(p.exists(), "{}", p.display());
    p
}

/// The C plugin, compiled with `defines` into `dir`.
fn c_plugin(dir: &Path, name: &str, defines: &[&str]) -> PathBuf {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/callscope-plugin-sdk");
    let out = dir.join(format!("lib{name}.so"));
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-Wall", "-Werror"])
        .args(defines)
        .arg("-I")
        .arg(sdk.join("include"))
        .arg(sdk.join("c-example/peak.c"))
        .arg("-o")
        .arg(&out)
        .status()
        .expect("a C compiler (cc)");
    assert!(st.success());
    out
}

/// Replace a simulated recording's transcript with these entries.
fn write_transcript(dir: &Path, start: &str, entries: &[(&str, &str, f64)]) {
    let start = callscope::recording::parse_timestamp(start).unwrap();
    let list: Vec<Value> = entries
        .iter()
        .map(|(ch, text, at)| {
            let ts = start + chrono::Duration::milliseconds((at * 1000.0) as i64);
            serde_json::json!({"timestamp": callscope::recording::Timestamp::isoformat(ts).raw,
                "channel": ch, "type": if *ch == "caller" {"input"} else {"output"},
                "text": text, "confidence": null, "duration_ms": 1000.0})
        })
        .collect();
    let p = dir.join("transcript.json");
    let mut v: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    v["entries"] = Value::Array(list);
    fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
}

#[test]
fn keyword_categories_match_the_transcripts_the_test_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 2, 30, &[]);
    let t = truths(&truth);
    write_transcript(
        &rec.join(&t[0].recording),
        &t[0].start_time,
        &[
            ("bot", "Hello, thanks for calling!", 2.0),
            ("caller", "I think I lost my card.", 5.5),
        ],
    );
    write_transcript(
        &rec.join(&t[1].recording),
        &t[1].start_time,
        &[
            ("bot", "Good evening.", 1.0),
            ("caller", "Hello? My card was stolen", 12.0),
            ("bot", "Hello again", 15.0),
        ],
    );
    let config = tmp.path().join("kwcat.toml");
    fs::write(
        &config,
        "[[category]]\nname = \"greeting\"\nchannel = \"bot\"\nphrases = [\"hello\"]\nwithin_first_s = 10\n\n\
         [[category]]\nname = \"card\"\nchannel = \"caller\"\nregexes = [\"card (was )?(lost|stolen)\", \"lost my card\"]\n\n\
         [[category]]\nname = \"no_greeting\"\nchannel = \"bot\"\nphrases = [\"hello\"]\nwithin_first_s = 10\nnegate = true\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let kw = rust_plugin("keyword_categories");
    let cfg = format!("kwcat={}", config.display());
    ok(&[
        "run",
        path_str(&rec),
        "--out",
        path_str(&out),
        "--quiet",
        "--analyzers",
        "intents",
        "--plugin",
        path_str(&kw),
        "--plugin-config",
        &cfg,
    ]);
    let rows = calls(&out);
    let (a, b) = (&rows[0], &rows[1]);
    assert_eq!(a["kwcat_greeting_matched"], 1);
    assert_eq!(a["kwcat_greeting_first_s"], 2.0);
    assert_eq!(a["kwcat_card_matched"], 1);
    assert_eq!(a["kwcat_card_first_s"], 5.5);
    assert_eq!(a["kwcat_no_greeting_matched"], 0);
    // The bot says hello only after 10 s; the caller's hello is not the bot's.
    assert_eq!(b["kwcat_greeting_matched"], 0);
    assert!(b["kwcat_greeting_first_s"].is_null());
    assert_eq!(b["kwcat_card_matched"], 1);
    assert_eq!(b["kwcat_card_first_s"], 12.0);
    assert_eq!(b["kwcat_no_greeting_matched"], 1);
    let header = fs::read_to_string(out.join("calls.csv")).unwrap();
    assert!(header
        .lines()
        .next()
        .unwrap()
        .ends_with("kwcat_no_greeting_matched,kwcat_no_greeting_first_s"));
    let summary: Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["analyzers"]["kwcat"]["matched"]["greeting"], 1);
    assert_eq!(summary["analyzers"]["kwcat"]["matched"]["card"], 2);
}

#[test]
fn a_plugin_written_in_c_reads_the_audio() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 2, 10, &[]);
    let lib = c_plugin(tmp.path(), "cpeak", &[]);
    let out = tmp.path().join("out");
    ok(&[
        "run",
        path_str(&rec),
        "--out",
        path_str(&out),
        "--quiet",
        "--analyzers",
        "intents",
        "--plugin",
        path_str(&lib),
    ]);
    for (row, t) in calls(&out).iter().zip(truths(&truth)) {
        let caller =
            callscope::audio::read_wav(&rec.join(&t.recording).join("caller_audio.wav")).unwrap();
        let peak = caller
            .samples
            .iter()
            .map(|s| i32::from(*s).abs())
            .max()
            .unwrap();
        assert_eq!(row["cpeak_caller_peak"], peak);
        assert_eq!(row["cpeak_bot_samples"], t.bot_samples);
        assert_eq!(row["status"], "ok");
    }
}

fn run_with_plugin(root: &Path, plugin: &Path) -> (i32, String) {
    run_plugin(root, &root.parent().unwrap().join("out-bad"), plugin, &[])
}

/// `run ROOT --out OUT --quiet --plugin PLUGIN EXTRA…` into a fresh `out`:
/// (exit code, stderr).
fn run_plugin(root: &Path, out: &Path, plugin: &Path, extra: &[&str]) -> (i32, String) {
    let _ = fs::remove_dir_all(out);
    let mut args = vec![
        "run",
        path_str(root),
        "--out",
        path_str(out),
        "--quiet",
        "--plugin",
        path_str(plugin),
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = run(&args);
    (code, err)
}

#[test]
fn plugins_that_cannot_be_used_stop_the_command_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 1, 8, &[]);
    let wrong_abi = c_plugin(tmp.path(), "abi2", &["-DCS_TEST_ABI=2"]);
    let (code, err) = run_with_plugin(&rec, &wrong_abi);
    assert_eq!(code, 2);
    assert!(err.contains(path_str(&wrong_abi)), "{err}");
    assert!(
        err.contains("plugin ABI version 2, this callscope speaks ABI version 1"),
        "{err}"
    );

    // An older ABI is refused as firmly as a newer one.
    let old_abi = c_plugin(tmp.path(), "abi0", &["-DCS_TEST_ABI=0"]);
    let (code, err) = run_with_plugin(&rec, &old_abi);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("plugin ABI version 0, this callscope speaks ABI version 1"),
        "{err}"
    );

    // Names that would overwrite, merge or break report columns.
    for (lib, defines, says) in [
        (
            "rtclash",
            vec![
                "-DCS_TEST_NAME=\"rt\"",
                "-DCS_TEST_COLUMNS=\"[\\\"audio_mean_s\\\"]\"",
            ],
            "column 'rt_audio_mean_s' is already a column of the report",
        ),
        (
            "dup",
            vec!["-DCS_TEST_COLUMNS=\"[\\\"a\\\",\\\"a\\\"]\""],
            "column \"a\" is declared twice",
        ),
        (
            "emptycol",
            vec!["-DCS_TEST_COLUMNS=\"[\\\"\\\"]\""],
            "column \"\": a column name must be",
        ),
        (
            "newline",
            vec!["-DCS_TEST_COLUMNS=\"[\\\"a\\\\nb\\\"]\""],
            "column \"a\\nb\": a column name must be",
        ),
        (
            "badname",
            vec!["-DCS_TEST_NAME=\"peak,v2\""],
            "the name must be 1-64 lowercase letters",
        ),
        (
            "upper",
            vec!["-DCS_TEST_COLUMNS=\"[\\\"Peak\\\"]\""],
            "column \"Peak\": a column name must be 1-64 lowercase letters",
        ),
    ] {
        let lib = c_plugin(tmp.path(), lib, &defines);
        let (code, err) = run_with_plugin(&rec, &lib);
        assert_eq!(code, 2, "{defines:?}: {err}");
        assert!(
            err.contains(path_str(&lib)) && err.contains(says),
            "{defines:?}: {err}"
        );
    }

    let no_entry = c_plugin(tmp.path(), "noentry", &["-DCS_TEST_NO_ENTRY"]);
    let (code, err) = run_with_plugin(&rec, &no_entry);
    assert_eq!(code, 2);
    assert!(err.contains("no callscope_plugin_entry symbol"), "{err}");

    let text = tmp.path().join("libnotes.so");
    fs::write(&text, "these are notes, not code").unwrap();
    let (code, err) = run_with_plugin(&rec, &text);
    assert_eq!(code, 2);
    assert!(
        err.contains("libnotes.so: not a loadable shared library"),
        "{err}"
    );

    let kw = rust_plugin("keyword_categories");
    let one = tmp.path().join("one.json");
    fs::write(&one, r#"{"category": [{"name": "x", "phrases": ["x"]}]}"#).unwrap();
    let one_cfg = format!("kwcat={}", one.display());
    let (code, _, err) = run(&[
        "plugins",
        "--plugin",
        path_str(&kw),
        "--plugin",
        path_str(&kw),
        "--plugin-config",
        &one_cfg,
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("an analyzer named 'kwcat' is already loaded"),
        "{err}"
    );

    let bad = tmp.path().join("bad.json");
    fs::write(&bad, r#"{"category": [{"name": "x", "regexes": ["("]}]}"#).unwrap();
    let cfg = format!("kwcat={}", bad.display());
    let (code, _, err) = run(&[
        "plugins",
        "--plugin",
        path_str(&kw),
        "--plugin-config",
        &cfg,
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("plugin kwcat: init failed") && err.contains("regex"),
        "{err}"
    );
    assert!(!tmp.path().join("out-bad").exists(), "nothing was run");
}

#[test]
fn a_panicking_or_garbling_plugin_fails_only_its_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 3, 8, &[]);
    let t = truths(&truth);
    let config = tmp.path().join("panicky.json");
    fs::write(&config, format!(r#"{{"panic_on": "{}"}}"#, t[1].session_id)).unwrap();
    let out = tmp.path().join("out");
    let p = rust_plugin("panic_example");
    let cfg = format!("panicky={}", config.display());
    let (code, _, _) = run(&[
        "run",
        path_str(&rec),
        "--out",
        path_str(&out),
        "--quiet",
        "--analyzers",
        "intents",
        "--plugin",
        path_str(&p),
        "--plugin-config",
        &cfg,
    ]);
    assert_eq!(code, 1, "one call failed; the process did not abort");
    let rows = calls(&out);
    assert_eq!(rows[0]["panicky_ok"], 1);
    assert!(rows[1]["panicky_ok"].is_null());
    assert_eq!(rows[1]["status"], "error");
    assert_eq!(rows[2]["panicky_ok"], 1);
    assert_eq!(
        rows[1]["intents_function_calls"],
        t[1].function_calls.len(),
        "other analyzers still ran"
    );
    let findings = fs::read_to_string(out.join("findings.csv")).unwrap();
    assert!(
        findings.contains(&format!(
            "{},plugin.panicky,error,,panicky: panicked: this plugin panics on",
            t[1].recording
        )),
        "{findings}"
    );

    let garbled = c_plugin(tmp.path(), "garbled", &["-DCS_TEST_BAD_JSON"]);
    let out2 = tmp.path().join("out2");
    let (code, _, _) = run(&[
        "run",
        path_str(&rec),
        "--out",
        path_str(&out2),
        "--quiet",
        "--analyzers",
        "intents",
        "--plugin",
        path_str(&garbled),
    ]);
    assert_eq!(code, 1);
    for row in calls(&out2) {
        assert!(row["cpeak_caller_peak"].is_null());
        assert_eq!(row["status"], "error");
    }
    let findings = fs::read_to_string(out2.join("findings.csv")).unwrap();
    assert_eq!(
        findings
            .matches("plugin.cpeak,error,,cpeak: returned invalid JSON")
            .count(),
        3,
        "{findings}"
    );

    // A buffer with a length and a null pointer is nothing to read: the
    // call's cells fail, the process does not; through a host process the
    // answer is its status alone, and means the same.
    let null_out = c_plugin(tmp.path(), "nullout", &["-DCS_TEST_NULL_OUT"]);
    for extra in [&[][..], &["--plugin-isolation", "process"][..]] {
        let out3 = tmp.path().join("out3");
        let (code, err) = run_plugin(&rec, &out3, &null_out, extra);
        assert_eq!(code, 1, "{err}");
        let findings = fs::read_to_string(out3.join("findings.csv")).unwrap();
        assert_eq!(
            findings
                .matches("plugin.cpeak,error,,cpeak: returned invalid JSON: EOF")
                .count(),
            3,
            "{extra:?}: {findings}"
        );
    }
}

#[test]
fn plugins_command_and_plugin_path() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("plugins");
    fs::create_dir(&dir).unwrap();
    let lib = c_plugin(&dir, "cpeak", &[]);
    let out = bin()
        .args(["plugins", "--json"])
        .env("CALLSCOPE_PLUGIN_PATH", &dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "response_times",
            "speech",
            "intents",
            "quality",
            "transcript",
            "cpeak"
        ]
    );
    let c = &rows[5];
    assert_eq!(c["abi_version"], 1);
    assert_eq!(c["version"], "1.0.0");
    assert_eq!(
        c["columns"],
        serde_json::json!(["cpeak_caller_peak", "cpeak_bot_samples"])
    );
    assert_eq!(c["needs"], serde_json::json!(["audio"]));
    assert_eq!(c["source"], path_str(&lib));
    assert_eq!(rows[0]["source"], "built-in");

    // --plugin-dir loads every library in the directory, the same way:
    // this platform's only, beside the same plugin built for others, its
    // header and its notes.
    fs::write(
        dir.join("libcpeak.dylib"),
        b"\xcf\xfa\xed\xfe a Mach-O build",
    )
    .unwrap();
    fs::write(dir.join("cpeak.dll"), b"MZ a Windows build").unwrap();
    fs::write(dir.join("README.txt"), b"cpeak: the caller's peak").unwrap();
    fs::write(dir.join("cpeak.h"), b"/* no */").unwrap();
    let out = ok(&["plugins", "--json", "--plugin-dir", path_str(&dir)]);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.len(), 6, "{out}");
    assert_eq!(rows[5]["name"], "cpeak");
    assert_eq!(rows[5]["source"], path_str(&lib));

    // What a plugin says it needs is what it gets, each bit on its own.
    for (bits, needs) in [
        ("CS_NEEDS_TRANSCRIPT", vec!["transcript"]),
        (
            "CS_NEEDS_METADATA|CS_NEEDS_EVENTS",
            vec!["metadata", "events"],
        ),
        ("CS_NEEDS_TIMELINE", vec!["timeline"]),
        ("0", vec![]),
    ] {
        let other = tmp.path().join(format!("needs-{}", needs.join("-")));
        fs::create_dir(&other).unwrap();
        let lib = c_plugin(&other, "needs", &[&format!("-DCS_TEST_NEEDS=({bits})")]);
        let out = ok(&["plugins", "--json", "--plugin", path_str(&lib)]);
        let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
        assert_eq!(rows[5]["needs"], serde_json::json!(needs), "{bits}");
    }
}

#[test]
fn the_documented_plugin_is_the_example_that_compiles_and_counts_words() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = fs::read_to_string(root.join("docs/plugins.md")).unwrap();
    let example = fs::read_to_string(root.join("plugins/words-example/src/lib.rs")).unwrap();
    assert!(
        doc.contains(&example),
        "docs/plugins.md's plugin must be plugins/words-example/src/lib.rs verbatim"
    );
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 3, 20, &[]);
    // One call's transcript does not parse: no count, not zero words.
    let broken = &truths(&truth)[1].recording;
    fs::write(rec.join(broken).join("transcript.json"), "{").unwrap();
    let out = tmp.path().join("out");
    let words = rust_plugin("words_example");
    let (code, _, err) = run(&[
        "run",
        path_str(&rec),
        "--out",
        path_str(&out),
        "--quiet",
        "--analyzers",
        "transcript",
        "--plugin",
        path_str(&words),
    ]);
    assert_eq!(code, 1, "{err}");
    let rows = calls(&out);
    for row in &rows {
        assert_eq!(row["words_caller"], row["transcript_caller_words"]);
        assert_eq!(row["words_bot"], row["transcript_bot_words"]);
    }
    assert!(rows[1]["words_caller"].is_null() && rows[0]["words_caller"].as_u64() > Some(0));
    // The plugin's error named the file: it is said on the check's finding.
    let findings = fs::read_to_string(out.join("findings.csv")).unwrap();
    assert_eq!(findings.lines().count(), 2, "{findings}");
    assert!(
        findings.contains(&format!("{broken},json.parse,error,transcript.json,"))
            && findings.contains("(not analyzed because of it: transcript, words)"),
        "{findings}"
    );
}

/// With --plugin-isolation process, a plugin that crashes, hangs, exits or
/// prints costs only its own cells; in process, a crash takes the run down
/// (which is why the option exists). Isolation changes no result.
#[test]
fn isolated_plugins_cannot_take_the_run_down() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 3, 6, &[]);
    let run_with = |lib: &Path, extra: &[&str]| {
        let out = tmp.path().join("out");
        let _ = fs::remove_dir_all(&out);
        let mut args = vec![
            "run",
            path_str(&rec),
            "--out",
            path_str(&out),
            "--quiet",
            "--plugin",
            path_str(lib),
        ];
        args.extend_from_slice(extra);
        let o = bin().args(&args).output().unwrap();
        let csv = fs::read_to_string(out.join("calls.csv")).unwrap_or_default();
        let findings = fs::read_to_string(out.join("findings.csv")).unwrap_or_default();
        (o.status, csv, findings)
    };
    let isolated = ["--plugin-isolation", "process", "--plugin-timeout", "2"];

    let ok_lib = c_plugin(tmp.path(), "cpeak", &[]);
    let (st, in_process, _) = run_with(&ok_lib, &[]);
    assert!(st.success());
    let (st, separate, _) = run_with(&ok_lib, &isolated);
    assert!(st.success());
    assert_eq!(in_process, separate, "the same cells either way");
    assert!(separate.contains("cpeak_caller_peak"));

    let printing = c_plugin(tmp.path(), "printing", &["-DCS_TEST_PRINT"]);
    let (st, csv, _) = run_with(&printing, &isolated);
    assert!(
        st.success(),
        "a plugin's stdout cannot corrupt the protocol"
    );
    assert_eq!(csv, in_process);

    for (lib, define, says) in [
        (
            "crash",
            "-DCS_TEST_CRASH",
            "its process died (signal: 11 (SIGSEGV))",
        ),
        (
            "exits",
            "-DCS_TEST_EXIT",
            "its process died (exit status: 3)",
        ),
        (
            "hangs",
            "-DCS_TEST_HANG",
            "no answer within 2 s: its process was killed",
        ),
    ] {
        let lib = c_plugin(tmp.path(), lib, &[define]);
        let (st, csv, findings) = run_with(&lib, &isolated);
        assert_eq!(st.code(), Some(1), "{define}: {findings}");
        let rows = csv.lines().count() - 1;
        assert_eq!(rows, 3, "{define}: every call reported");
        assert_eq!(
            findings
                .lines()
                .filter(|l| l.contains("plugin.cpeak") && l.contains(says))
                .count(),
            3,
            "{define}: {findings}"
        );
        // The built-in analyzers' cells are all there.
        let speech: Vec<&str> = csv.lines().skip(1).collect();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let col = header
            .iter()
            .position(|c| *c == "speech_caller_talk_s")
            .unwrap();
        for row in speech {
            assert!(
                !row.split(',').nth(col).unwrap().is_empty(),
                "{define}: {row}"
            );
        }
    }
    // In process, the same crash ends the whole run.
    let crash = tmp.path().join("libcrash.so");
    let (st, _, _) = run_with(&crash, &[]);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(11));
}

/// A plugin's summary is made from what the host merged over the calls,
/// the same in process and isolated: per column the cells that are not
/// null, their sum, and the cells that are `true`. Here the cells are each
/// recording's caller peak and bot length, read again from its WAVs.
#[test]
fn a_plugin_summarizes_what_the_host_merged_in_process_and_isolated() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 3, 6, &[]);
    let run_summary = |lib: &Path, extra: &[&str]| {
        let out = tmp.path().join("out");
        let (code, err) = run_plugin(&rec, &out, lib, extra);
        assert_eq!(code, 0, "{err}");
        let summary: Value =
            serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        (summary["analyzers"]["cpeak"].clone(), calls(&out))
    };
    let isolated = ["--plugin-isolation", "process"];

    let lib = c_plugin(tmp.path(), "cpeak", &[]);
    let (mut peaks, mut lens) = (0.0, 0.0);
    for t in truths(&truth) {
        let dir = rec.join(&t.recording);
        let caller = callscope::audio::read_wav(&dir.join("caller_audio.wav")).unwrap();
        let bot = callscope::audio::read_info(&dir.join("bot_audio.wav")).unwrap();
        peaks += caller
            .samples
            .iter()
            .map(|s| i32::from(*s).abs())
            .max()
            .unwrap() as f64;
        lens += bot.frames() as f64;
    }
    let want = serde_json::json!({"calls": 3, "columns": {
        "caller_peak": {"count": 3, "sum": peaks, "true": 0},
        "bot_samples": {"count": 3, "sum": lens, "true": 0},
    }});
    for extra in [&[][..], &isolated[..]] {
        let (summary, rows) = run_summary(&lib, extra);
        assert_eq!(summary, want, "{extra:?}");
        assert_eq!(rows.len(), 3);
    }

    let bools = c_plugin(tmp.path(), "bools", &["-DCS_TEST_BOOL"]);
    let want = serde_json::json!({"calls": 3, "columns": {
        "caller_peak": {"count": 3, "sum": 0.0, "true": 3},
        "bot_samples": {"count": 0, "sum": 0.0, "true": 0},
    }});
    for extra in [&[][..], &isolated[..]] {
        assert_eq!(run_summary(&bools, extra).0, want, "{extra:?}");
    }
}

/// A track the plugin did not ask for comes as NULL, length 0, rate 0 (the
/// header's promise), in process and through a host process alike.
#[test]
fn a_track_not_asked_for_is_null_in_process_and_isolated() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, truth) = simulate(tmp.path(), 1, 6, &[]);
    let dir = rec.join(&truths(&truth)[0].recording);
    let frames = |f: &str| callscope::audio::read_info(&dir.join(f)).unwrap().frames();
    let audio = format!(
        "16000:{}|16000:{}",
        frames("caller_audio.wav"),
        frames("bot_audio.wav")
    );
    for (needs, want) in [
        ("CS_NEEDS_AUDIO", audio.as_str()),
        ("0", "null:0:0|null:0:0"),
    ] {
        let lib = c_plugin(
            tmp.path(),
            &format!("shape{}", needs.len()),
            &[
                "-DCS_TEST_TRACK_SHAPE",
                &format!("-DCS_TEST_NEEDS=({needs})"),
            ],
        );
        for extra in [&[][..], &["--plugin-isolation", "process"][..]] {
            let out = tmp.path().join("out-shape");
            let (code, err) = run_plugin(&rec, &out, &lib, extra);
            assert_eq!(code, 0, "{err}");
            let row = &calls(&out)[0];
            let got = format!(
                "{}|{}",
                row["cpeak_caller_peak"].as_str().unwrap(),
                row["cpeak_bot_samples"].as_str().unwrap()
            );
            assert_eq!(got, want, "needs {needs} {extra:?}");
        }
    }
}

/// A host whose plugin never returns from `deinit` is killed once its grace
/// is over: the run ends, and no host process is left spinning behind it.
#[test]
fn a_host_stuck_in_deinit_is_killed_not_left_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 1, 5, &[]);
    let lib = c_plugin(tmp.path(), "stuckdeinit", &["-DCS_TEST_DEINIT_HANG"]);
    let hosts = || -> Vec<String> {
        fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| fs::read(e.ok()?.path().join("cmdline")).ok())
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .filter(|c| c.contains("plugin-host") && c.contains(path_str(&lib)))
            .collect()
    };
    let out = tmp.path().join("out");
    // Its output to a file, not a pipe: a host left behind would hold a
    // pipe open, and reading it to the end would never end.
    let log = tmp.path().join("stderr");
    let status = bin()
        .args([
            "run",
            path_str(&rec),
            "--out",
            path_str(&out),
            "--quiet",
            "-j",
            "1",
        ])
        .args(["--plugin", path_str(&lib), "--plugin-isolation", "process"])
        .stderr(fs::File::create(&log).unwrap())
        .status()
        .unwrap();
    let left = hosts();
    if !left.is_empty() {
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", path_str(&lib)])
            .status();
    }
    assert!(status.success(), "{}", fs::read_to_string(&log).unwrap());
    assert!(left.is_empty(), "host processes left running: {left:?}");
    assert_eq!(calls(&out).len(), 1);
}

/// Every instance a plugin's `init` made is handed back to its `deinit`
/// once, where the plugin ran: after a run in this process, after the host
/// refused its columns, and in each host process of an isolated run.
#[test]
fn every_plugin_instance_is_deinitialised_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 2, 6, &[]);
    let log = tmp.path().join("lifecycle.log");
    let define = format!("-DCS_TEST_DEINIT_LOG=\"{}\"", path_str(&log));
    // (init lines, deinit lines) since the last look.
    let counts = || {
        let text = fs::read_to_string(&log).unwrap_or_default();
        let _ = fs::remove_file(&log);
        let n = |w: &str| text.lines().filter(|l| *l == w).count();
        (n("init"), n("deinit"))
    };
    let lib = c_plugin(tmp.path(), "lifecycle", &[&define]);

    let (code, err) = run_with_plugin(&rec, &lib);
    assert_eq!(code, 0, "{err}");
    let (inits, deinits) = counts();
    assert!(inits >= 1, "the plugin was initialised");
    assert_eq!(deinits, inits, "each instance deinitialised once");

    let clash = c_plugin(
        tmp.path(),
        "lifeclash",
        &[
            &define,
            "-DCS_TEST_NAME=\"rt\"",
            "-DCS_TEST_COLUMNS=\"[\\\"audio_mean_s\\\"]\"",
        ],
    );
    let (code, err) = run_with_plugin(&rec, &clash);
    assert_eq!(code, 2, "{err}");
    let (inits, deinits) = counts();
    assert!(inits >= 1, "the refused plugin was initialised");
    assert_eq!(deinits, inits, "a refused plugin is deinitialised too");

    let out = tmp.path().join("out-isolated");
    let (code, err) = run_plugin(&rec, &out, &lib, &["--plugin-isolation", "process"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "", "a host told to finish ends quietly");
    let (inits, deinits) = counts();
    assert!(inits >= 1, "the host processes initialised the plugin");
    assert_eq!(
        deinits, inits,
        "each host deinitialised its instance on the way out"
    );
}

/// `--plugin libfoo.so` names the file in the current directory, as any
/// other path on the command line does (the dynamic loader alone would look
/// for it on its own search path and fail).
#[test]
fn a_bare_plugin_file_name_loads_from_the_current_directory() {
    let tmp = tempfile::tempdir().unwrap();
    c_plugin(tmp.path(), "peak", &[]);
    let out = bin()
        .current_dir(tmp.path())
        .args(["plugins", "--json", "--plugin", "libpeak.so"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let peak = listed
        .iter()
        .find(|p| p["name"] == "cpeak")
        .expect("cpeak listed");
    assert!(
        peak["source"].as_str().unwrap().contains("libpeak.so"),
        "{peak}"
    );
}

/// A plugin whose init refuses to start without a config says that no
/// config was given, and how to give one.
#[test]
fn a_plugin_that_needs_a_config_and_has_none_says_so() {
    let kwcat = rust_plugin("keyword_categories");
    let (code, _, err) = run(&["plugins", "--plugin", path_str(&kwcat)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("init failed") && err.contains("--plugin-config kwcat=FILE"),
        "{err}"
    );
}

/// A plugin receives what the header promises: the call's state, and its
/// start time in UTC as `--name-tz` reads the directory name.
#[test]
fn a_plugin_receives_the_state_and_the_start_in_the_name_zone() {
    let tmp = tempfile::tempdir().unwrap();
    let echo = c_plugin(tmp.path(), "echo", &["-DCS_TEST_ECHO"]);
    let out = tmp.path().join("out");
    let (code, _, err) = run(&[
        "run",
        path_str(&sample_recordings()),
        "-o",
        path_str(&out),
        "--plugin",
        path_str(&echo),
        "--name-tz",
        "+02:00",
        "-a",
        "intents",
        "-q",
    ]);
    assert_eq!(code, 1, "{err}");
    let crashed = calls(&out)
        .into_iter()
        .find(|c| c["recording"].as_str().unwrap().starts_with("9f1c2e4b"))
        .unwrap();
    let seen: Value = serde_json::from_str(crashed["cpeak_caller_peak"].as_str().unwrap()).unwrap();
    assert_eq!(seen["state"], "crashed", "{seen}");
    // Named 20241203_181205 by a recorder two hours ahead of UTC.
    assert_eq!(seen["start_time"], "2024-12-03T16:12:05.000000Z", "{seen}");
    assert_eq!(seen["session_id"], "9f1c2e4b-3a5d-4e6f-8071-92a3b4c5d6e7");
    assert!(seen["metadata"].is_null(), "not asked for: {seen}");
}

/// The plugin hosts whose command line names `lib`.
fn hosts_of(lib: &Path) -> Vec<i32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let c = fs::read(e.path().join("cmdline")).ok()?;
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            (c.contains("plugin-host") && c.contains(path_str(lib))).then_some(pid)
        })
        .collect()
}

/// Wait (up to a minute) until `cond` holds; false if it never did.
fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

/// A stop always stops: a plugin that never returns from `analyze`, in
/// process, cannot keep the run from ending on SIGTERM (exit 143, nothing
/// half-written left beside --out); with process isolation, a run killed
/// outright takes its plugin hosts with it.
#[test]
fn a_stop_stops_a_run_whose_plugin_never_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let (rec, _) = simulate(tmp.path(), 2, 5, &[]);
    let lib = c_plugin(tmp.path(), "spins", &["-DCS_TEST_HANG"]);
    let reports = tmp.path().join("reports");
    fs::create_dir(&reports).unwrap();
    let out = reports.join("night");
    let spawn = |extra: &[&str]| {
        bin()
            .args(["run", path_str(&rec), "--out", path_str(&out), "--quiet"])
            .args(["--plugin", path_str(&lib)])
            .args(extra)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = spawn(&[]);
    let pid = child.id();
    // Ready when the plugin is loaded: the handlers were installed before.
    let maps = format!("/proc/{pid}/maps");
    assert!(
        wait_until(|| fs::read_to_string(&maps).is_ok_and(|m| m.contains(path_str(&lib)))),
        "the plugin was never loaded"
    );
    // SAFETY: kill sends a signal to the child this test started.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let mut status = None;
    assert!(
        wait_until(|| {
            status = child.try_wait().unwrap();
            status.is_some()
        }),
        "SIGTERM did not stop a run stuck in a plugin"
    );
    assert_eq!(status.unwrap().code(), Some(143));
    assert!(!out.exists());
    let left: Vec<_> = fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| !n.to_string_lossy().ends_with("callscope-lock"))
        .collect();
    assert!(left.is_empty(), "left beside --out: {left:?}");

    // Isolated: the run is killed outright; its hosts go with it.
    let mut child = spawn(&["--plugin-isolation", "process", "--plugin-timeout", "600"]);
    assert!(wait_until(|| !hosts_of(&lib).is_empty()), "no host started");
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = wait_until(|| hosts_of(&lib).is_empty());
    for pid in hosts_of(&lib) {
        // SAFETY: only the spinning hosts this test made.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(gone, "plugin hosts outlived a killed run");
}
