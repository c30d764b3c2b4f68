//! The design stays easy to see: no source file grows past 500 lines unless
//! its top comment says which one algorithm needs it, no two top-level
//! modules import each other (every arrow goes one way), and `main.rs`
//! stays thin.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src() -> (PathBuf, Vec<PathBuf>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&root, &mut files);
    files.sort();
    (root, files)
}

#[test]
fn no_source_file_is_over_500_lines_without_saying_why() {
    let (_, files) = src();
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let header: String = text.lines().take_while(|l| l.starts_with("//!")).collect();
            (text.lines().count() > 500 && !header.contains("one algorithm"))
                .then(|| format!("{} ({} lines)", f.display(), text.lines().count()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these, or say in their top comment which one algorithm needs the length: {long:?}"
    );
}

/// Every `crate::NAME` a top-level module names, by module.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let (root, files) = src();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let mut named = BTreeSet::new();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            if let Some(list) = rest.strip_prefix('{') {
                // `use crate::{a, b::c}`: the first word of each item.
                let list = &list[..list.find('}').unwrap_or(list.len())];
                for item in list.split(',') {
                    named.insert(item.trim().split("::").next().unwrap().to_string());
                }
            } else {
                let word: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                named.insert(word);
            }
        }
        named.retain(|n| !n.is_empty() && *n != top && n.chars().next().unwrap().is_lowercase());
        edges.entry(top).or_default().extend(named);
    }
    edges
}

#[test]
fn no_two_modules_import_each_other() {
    let edges = imports();
    assert!(
        edges["cli"].contains("run"),
        "the scan sees imports: {edges:?}"
    );
    let mutual: Vec<(&String, &String)> = edges
        .iter()
        .flat_map(|(a, to)| to.iter().map(move |b| (a, b)))
        .filter(|(a, b)| a < b && edges.get(*b).is_some_and(|back| back.contains(*a)))
        .collect();
    assert!(
        mutual.is_empty(),
        "these modules import each other: {mutual:?}"
    );
}

#[test]
fn main_stays_thin() {
    let main =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/main.rs")).unwrap();
    assert!(
        main.lines().count() <= 30,
        "main.rs parses, runs and exits; the rest belongs in cli/"
    );
}

/// The `crate::` and `super::` paths a source file names, as written.
fn named_paths(file: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut out = BTreeSet::new();
    for start in ["crate::", "super::"] {
        for (i, _) in text.match_indices(start) {
            let path: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.insert(path);
        }
    }
    out
}

/// Files under `src/DIR` (a file or a folder), each with what it names
/// that starts with one of `forbidden`.
fn reaching(dirs: &[&str], forbidden: &[&str]) -> Vec<String> {
    let (root, files) = src();
    files
        .iter()
        .filter(|f| {
            let rel = f
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            dirs.iter()
                .any(|d| rel == *d || rel.starts_with(&format!("{d}/")))
        })
        .flat_map(|f| {
            named_paths(f)
                .into_iter()
                .filter(|p| forbidden.iter().any(|x| p.starts_with(x)))
                .map(move |p| format!("{}: {p}", f.display()))
        })
        .collect()
}

/// Each stage in its room: analysis (the analyzers, the VAD, the timeline)
/// never reaches the presentation (the viewer, the reports, the command
/// line), and what decides (the check, the repair plan, the retention
/// policy) never reaches what acts on the store (applying a repair or a
/// retention decision, archiving).
#[test]
fn analysis_never_reaches_presentation_and_deciding_never_reaches_acting() {
    let presentation = reaching(
        &["analyze", "timeline"],
        &["crate::view", "crate::report", "crate::cli"],
    );
    assert!(
        presentation.is_empty(),
        "analysis reaches presentation: {presentation:?}"
    );
    let acting = [
        reaching(&["check"], &["crate::repair", "crate::retention"]),
        reaching(
            &["repair/plan.rs"],
            &["super::apply", "crate::repair::apply"],
        ),
        reaching(
            &["retention/policy.rs", "retention/policy"],
            &[
                "crate::retention::apply",
                "crate::retention::archive",
                "crate::repair",
                "super::apply",
                "super::super::apply",
                "super::super::archive",
            ],
        ),
    ]
    .concat();
    assert!(acting.is_empty(), "deciding reaches acting: {acting:?}");
    // The scan sees what it looks for: the acting code does name them.
    assert!(
        !reaching(&["retention/apply.rs"], &["super::archive"]).is_empty()
            || !reaching(&["retention/archive.rs"], &["super::apply"]).is_empty()
    );
}
