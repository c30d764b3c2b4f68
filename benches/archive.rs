//! Archiving to age recipients: `prune --apply` of an archive rule
//! (`tar.age`: each file hashed as it goes in, the ciphertext hashed and
//! read back, the audit lines fsynced, the original removed) against what
//! an operator would script with the reference tools, unverified:
//! `tar cf - REC | age -r KEY > REC.tar.age` per recording. Also
//! `verify_identity` (decrypted once and compared) and `tar.gz.age`.
//!
//! `cargo bench --bench archive` (needs `age`, `age-keygen` and `tar`;
//! corpus: `CALLSCOPE_BENCH_CALLS` calls, default 40, of
//! `CALLSCOPE_BENCH_SECONDS` seconds, default 120). Medians of 3 rounds,
//! each on a hard-linked copy of the corpus (archiving reads the files;
//! removing the copy's links leaves the corpus). Target: within 2× the
//! unverified pipeline.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::{corpus, env_or, median};

fn sh(cmd: &mut Command) {
    let st = cmd.status().expect("runs");
    assert!(st.success(), "{cmd:?}");
}

fn fresh_copy(corpus: &Path, ws: &Path) -> std::path::PathBuf {
    let _ = fs::remove_dir_all(ws);
    fs::create_dir_all(ws).unwrap();
    let root = ws.join("root");
    sh(Command::new("cp").arg("-al").arg(corpus).arg(&root));
    root
}

fn prune(ws: &Path, head: &str) -> f64 {
    let root = ws.join("root");
    let policy = ws.join("policy.toml");
    fs::write(
        &policy,
        format!(
            "archive_root = \"{}\"\n{head}\n[[rule]]\nname = \"all\"\nolder_than = \"1d\"\naction = \"archive\"\n\
             [[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n",
            ws.join("archive").display()
        ),
    )
    .unwrap();
    let t = Instant::now();
    sh(Command::new(env!("CARGO_BIN_EXE_callscope"))
        .arg("prune")
        .arg(&root)
        .arg("--policy")
        .arg(&policy)
        .args(["--apply", "--settle", "0", "--now", "2030-01-01T00:00:00Z"])
        .stdout(std::process::Stdio::null()));
    t.elapsed().as_secs_f64()
}

fn pipeline(ws: &Path, public: &str) -> f64 {
    let root = ws.join("root");
    let out = ws.join("archive");
    fs::create_dir_all(&out).unwrap();
    let t = Instant::now();
    for e in fs::read_dir(&root).unwrap() {
        let rec = e.unwrap().path();
        if !rec.is_dir() {
            continue;
        }
        let name = rec.file_name().unwrap().to_string_lossy().into_owned();
        sh(Command::new("sh").arg("-c").arg(format!(
            "tar cf - -C '{}' '{name}' | age -r {public} > '{}/{name}.tar.age'",
            root.display(),
            out.display()
        )));
    }
    t.elapsed().as_secs_f64()
}

fn main() {
    let calls = env_or("CALLSCOPE_BENCH_CALLS", 40usize);
    let seconds = env_or("CALLSCOPE_BENCH_SECONDS", 120.0);
    let src = corpus("archive", calls, seconds, Vec::new());
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.txt");
    sh(Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .stderr(std::process::Stdio::null()));
    let public = String::from_utf8(
        Command::new("age-keygen")
            .arg("-y")
            .arg(&key)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let bytes: u64 = fs::read_dir(&src)
        .unwrap()
        .flat_map(|e| fs::read_dir(e.unwrap().path()).into_iter().flatten())
        .map(|f| f.unwrap().metadata().unwrap().len())
        .sum();
    let ws = tmp.path().join("ws");
    let recipients = format!("recipients = [\"{public}\"]");
    let verified = format!("{recipients}\nverify_identity = \"{}\"", key.display());
    let gz = format!("{recipients}\narchive_format = \"tar.gz.age\"");
    let (mut base, mut age, mut ver, mut agz) = (vec![], vec![], vec![], vec![]);
    for _ in 0..3 {
        fresh_copy(&src, &ws);
        base.push(pipeline(&ws, &public));
        fresh_copy(&src, &ws);
        age.push(prune(&ws, &recipients));
        fresh_copy(&src, &ws);
        ver.push(prune(&ws, &verified));
        fresh_copy(&src, &ws);
        agz.push(prune(&ws, &gz));
    }
    let (b, a, v, g) = (
        median(&mut base),
        median(&mut age),
        median(&mut ver),
        median(&mut agz),
    );
    println!(
        "{calls} calls of {seconds} s ({:.0} MB), medians of 3:",
        bytes as f64 / 1e6
    );
    println!("  tar | age -r (unverified)    {:8.0} ms", b * 1e3);
    println!(
        "  prune, tar.age               {:8.0} ms  {:.2}x",
        a * 1e3,
        a / b
    );
    println!(
        "  prune, tar.age, verified     {:8.0} ms  {:.2}x",
        v * 1e3,
        v / b
    );
    println!(
        "  prune, tar.gz.age            {:8.0} ms  {:.2}x",
        g * 1e3,
        g / b
    );
}
