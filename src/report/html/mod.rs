//! `report.html` and a page per call under `calls/`: the run as pictures.
//! One self-contained file each (inline SVG, CSS and a few lines of
//! script; no request of any kind when opened), the same bytes for the
//! same calls. The overview is built as the calls stream past, keeping a
//! row and a few numbers per call; each call's page is written as soon as
//! the call is, from its report rows only, so `merge` writes the pages a
//! single run does.

mod call;
mod chart;
mod overview;

use std::fs;
use std::path::{Path, PathBuf};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

use super::summary::{CallCounts, FindingCounts};
use crate::analyze::{Cell, RunSummary};
use crate::error::{Error, Result};
use crate::report::{CallRecord, FromPart};
use crate::safe_fs::AtomicFile;

const CSS: &str = include_str!("style.css");

/// A whole page: the doctype, the head with the stylesheet, the body.
fn document(title: &str, body: maud::Markup) -> String {
    maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (maud::PreEscaped(CSS)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

/// The per-call pages' folder in a report directory.
pub const CALLS_DIR: &str = "calls";
/// The overview's file name.
pub const REPORT_HTML: &str = "report.html";

/// One row of `segments.csv`, in call seconds.
#[derive(Debug, Clone)]
pub struct Seg {
    pub kind: String,
    pub start: f64,
    pub end: f64,
}

/// One row of `utterances.csv`.
#[derive(Debug, Clone)]
pub struct Utterance {
    pub party: String,
    pub at: Option<f64>,
    pub duration: Option<f64>,
    pub text: String,
}

/// What a call's page draws, read from its report rows.
#[derive(Debug, Default)]
pub struct CallRows {
    pub segments: Vec<Seg>,
    /// Audio turns: (caller end, bot start, latency), call seconds.
    pub latencies: Vec<(f64, f64, f64)>,
    pub utterances: Vec<Utterance>,
}

fn number(c: Option<&Cell>) -> Option<f64> {
    match c? {
        Cell::Int(n) => Some(*n as f64),
        Cell::Num(x) => Some(*x),
        Cell::Text(t) => t.parse().ok(),
        Cell::Null => None,
    }
}

fn text(c: Option<&Cell>) -> String {
    c.map(Cell::to_csv).unwrap_or_default()
}

impl CallRows {
    pub fn of(r: &CallRecord) -> CallRows {
        let rows = |t: &str| r.rows.get(t).map(Vec::as_slice).unwrap_or_default();
        let segments = rows("segments.csv")
            .iter()
            .filter_map(|row| {
                Some(Seg {
                    kind: text(row.first()),
                    start: number(row.get(2))?,
                    end: number(row.get(3))?,
                })
            })
            .collect();
        let latencies = rows("turns.csv")
            .iter()
            .filter(|row| text(row.get(4)) == "audio")
            .filter_map(|row| {
                Some((
                    number(row.get(1))?,
                    number(row.get(2))?,
                    number(row.get(3))?,
                ))
            })
            .collect();
        let utterances = rows("utterances.csv")
            .iter()
            .map(|row| Utterance {
                party: text(row.get(1)),
                at: number(row.get(2)),
                duration: number(row.get(3)),
                text: text(row.get(4)),
            })
            .collect();
        CallRows {
            segments,
            latencies,
            utterances,
        }
    }
}

/// Path segments are percent-encoded except for what needs no encoding.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn url_path(p: &Path) -> String {
    p.components()
        .map(|c| {
            let s = c.as_os_str().to_string_lossy();
            utf8_percent_encode(&s, SEGMENT).to_string()
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `p` resolved, where the folders at its end need not exist yet (a
/// report directory not yet in place).
fn resolve_to_be(p: &Path) -> Option<PathBuf> {
    let p = std::path::absolute(p).ok()?;
    let mut tail = Vec::new();
    let mut head = p.as_path();
    loop {
        if let Ok(r) = fs::canonicalize(head) {
            return Some(tail.iter().rev().fold(r, |acc: PathBuf, c| acc.join(c)));
        }
        tail.push(head.file_name()?.to_os_string());
        head = head.parent()?;
    }
}

/// Where a page finds the recordings' stereo files: the recordings root,
/// and how to get there from the folder the page is in.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioLinks {
    root: PathBuf,
    /// The root relative to the page's folder, as a URL path ending in `/`
    /// (or empty).
    prefix: String,
}

impl AudioLinks {
    /// Links from pages in `page_dir` to recordings under `root`; None
    /// when either cannot be resolved (the pages then play nothing).
    pub fn new(page_dir: &Path, root: &Path) -> Option<AudioLinks> {
        let root = fs::canonicalize(root).ok()?;
        let from = resolve_to_be(page_dir)?;
        let rel = pathdiff::diff_paths(&root, &from)?;
        let mut prefix = url_path(&rel);
        if !prefix.is_empty() {
            prefix.push('/');
        }
        Some(AudioLinks { root, prefix })
    }

    /// The address of the recording `rel`'s aligned stereo file if it has
    /// one, else of its final stereo file; and whether it is the aligned.
    pub fn of(&self, rel: &str) -> Option<(String, bool)> {
        [
            (crate::recording::ALIGNED_FILE, true),
            ("final_stereo_recording.wav", false),
        ]
        .into_iter()
        .find(|(f, _)| fs::symlink_metadata(self.root.join(rel).join(f)).is_ok_and(|m| m.is_file()))
        .map(|(f, aligned)| {
            let path = url_path(&Path::new(rel).join(f));
            (format!("{}{path}", self.prefix), aligned)
        })
    }
}

/// The page's file name for recording `rel`: its name where that is plain
/// (letters, digits, `._-`), otherwise with the rest replaced and a hash of
/// the whole name added, so two recordings never share a page.
pub fn page_name(rel: &str) -> String {
    let plain: String = rel
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if plain == rel && !rel.starts_with('.') {
        format!("{rel}.html")
    } else {
        let hash = Sha256::digest(rel.as_bytes());
        let hex: String = hash[..4].iter().map(|b| format!("{b:02x}")).collect();
        format!("{}-{hex}.html", plain.trim_start_matches('.'))
    }
}

/// The page of one call, standing alone (`callscope show --html FILE`):
/// its audio addressed from `file`'s folder.
pub fn standalone_page(r: &CallRecord, file: &Path, root: &Path, silence_min: f64) -> String {
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let audio = AudioLinks::new(dir, root).and_then(|l| l.of(""));
    call::page(r, &CallRows::of(r), None, audio, silence_min)
}

/// The HTML report of a run, filled call by call.
pub struct HtmlReport {
    dir: PathBuf,
    audio: Option<AudioLinks>,
    silence_min: f64,
    overview: overview::Overview,
    pages: Vec<String>,
    /// The mode this report's files get (its calls folder's, less `x`): a
    /// part's page is taken only with the same.
    file_mode: u32,
}

impl HtmlReport {
    /// Pages go into `dir/calls/`; `audio` addresses the recordings from
    /// there once the report is in place.
    pub fn create(dir: &Path, audio: Option<AudioLinks>, silence_min: f64) -> Result<HtmlReport> {
        let calls = dir.join(CALLS_DIR);
        fs::create_dir_all(&calls).map_err(|e| Error::write(&calls, e))?;
        let file_mode = {
            use std::os::unix::fs::PermissionsExt;
            let m = fs::metadata(&calls).map_err(|e| Error::write(&calls, e))?;
            m.permissions().mode() & 0o666
        };
        Ok(HtmlReport {
            file_mode,
            dir: dir.to_path_buf(),
            audio,
            silence_min,
            overview: overview::Overview::create(dir).map_err(|e| Error::write(dir, e))?,
            pages: Vec::new(),
        })
    }

    /// Write the calls' pages, in parallel (on the current rayon pool):
    /// drawing and writing them one after the other would leave the cores
    /// idle between batches for a tenth of a run. `parts`: for each call,
    /// what an earlier report holds of the same analysis (`merge`; empty
    /// for a run), whose page is taken when it is this one. Returns what
    /// each page drew, in the calls' order, for the overview (`add`).
    pub fn write_pages(&self, calls: &[&CallRecord], parts: &[FromPart]) -> Result<Vec<CallRows>> {
        use rayon::prelude::*;
        calls
            .par_iter()
            .enumerate()
            .map(|(i, r)| {
                let rows = CallRows::of(r);
                let audio = self.audio.as_ref().and_then(|a| a.of(&r.recording));
                let path = self.dir.join(CALLS_DIR).join(page_name(&r.recording));
                if let Some(part) = parts.get(i).and_then(|p| p.page.as_deref()) {
                    if self.take_page(part, &audio, &path) {
                        return Ok(rows);
                    }
                }
                let html = call::page(r, &rows, Some("../report.html"), audio, self.silence_min);
                // Plain writes: the report directory as a whole is put in
                // place atomically, and `finish` makes the pages durable
                // with one sync.
                fs::write(&path, html).map_err(|e| Error::write(&path, e))?;
                Ok(rows)
            })
            .collect()
    }

    /// Put the page `part` (an earlier report's page of the same analysis,
    /// drawn by this version from the same rows at the same depth) at
    /// `path` as a hard link, when it is the page this report would draw:
    /// a regular file of ours with this report's mode whose audio player is
    /// the one `audio` gives now (the store may have gained an aligned file
    /// since). Making a file is most of what a page costs; a link is a
    /// tenth of it. False, with nothing left at `path`, when it is not.
    fn take_page(&self, part: &Path, audio: &Option<(String, bool)>, path: &Path) -> bool {
        use std::io::Read;
        use std::os::unix::fs::MetadataExt;
        let Ok(mut file) = crate::safe_fs::open_regular(part) else {
            return false;
        };
        let Ok(meta) = file.metadata() else {
            return false;
        };
        // SAFETY: geteuid has no preconditions and cannot fail.
        let ours = meta.uid() == unsafe { libc::geteuid() };
        if !ours || meta.mode() & 0o7777 != self.file_mode || meta.len() > 64 << 20 {
            return false;
        }
        let mut text = String::new();
        if file.read_to_string(&mut text).is_err()
            || !text.contains(&call::audio_section(audio).into_string())
        {
            return false;
        }
        // The link names the file opened, or it is undone: a page swapped
        // since the open is drawn instead.
        if fs::hard_link(part, path).is_ok() {
            let same = fs::symlink_metadata(path)
                .is_ok_and(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()));
            if same {
                return true;
            }
            let _ = fs::remove_file(path);
            return false;
        }
        // Another file system: the bytes read are the page.
        fs::write(path, text).is_ok()
    }

    /// Keep what the overview needs of a call whose page is written.
    pub fn add(&mut self, r: &CallRecord, rows: &CallRows) -> Result<()> {
        let href = format!("{CALLS_DIR}/{}", page_name(&r.recording));
        self.overview
            .add(r, rows, &href)
            .map_err(|e| Error::write(&self.dir, e))?;
        self.pages.push(href);
        Ok(())
    }

    /// Make the pages durable and write `report.html` (returned, to be put
    /// in place with the other reports); the pages' names, for the manifest.
    pub fn finish(
        self,
        calls: &CallCounts,
        findings: &FindingCounts,
        summaries: &[(String, RunSummary)],
        title: &str,
    ) -> Result<(PathBuf, AtomicFile, Vec<String>)> {
        let calls_dir = self.dir.join(CALLS_DIR);
        sync_folder(&calls_dir).map_err(|e| Error::write(&calls_dir, e))?;
        let path = self.dir.join(REPORT_HTML);
        let mut f = AtomicFile::create(&path).map_err(|e| Error::write(&path, e))?;
        self.overview
            .write_page(
                f.writer(),
                calls,
                findings,
                summaries,
                title,
                self.silence_min,
            )
            .map_err(|e| Error::write(&path, e))?;
        Ok((path, f, self.pages))
    }
}

/// Every page written into `dir` reaches the disk: one syncfs for the
/// file system (one fsync per page would cost a millisecond a call), then
/// the folder itself.
fn sync_folder(dir: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let f = fs::File::open(dir)?;
    // SAFETY: a valid open file descriptor, for the duration of the call.
    if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_are_plain_and_never_shared() {
        assert_eq!(page_name("abc_20241201_080000"), "abc_20241201_080000.html");
        let a = page_name("2024/12/abc");
        let b = page_name("2024_12/abc");
        assert!(a.starts_with("2024_12_abc-") && a.ends_with(".html"), "{a}");
        assert_ne!(a, b);
        assert!(!page_name("../x").contains('/'));
        assert!(!page_name(".hidden").starts_with('.'));
    }

    #[test]
    fn audio_addresses_are_relative_and_percent_encoded() {
        let t = tempfile::tempdir().unwrap();
        let rec = t.path().join("root/a b#1");
        fs::create_dir_all(&rec).unwrap();
        fs::write(rec.join("final_stereo_recording.wav"), b"x").unwrap();
        let links = AudioLinks::new(&t.path().join("out/calls"), &t.path().join("root")).unwrap();
        assert_eq!(
            links.of("a b#1"),
            Some((
                "../../root/a%20b%231/final_stereo_recording.wav".to_string(),
                false
            ))
        );
        fs::write(rec.join("aligned_stereo_recording.wav"), b"x").unwrap();
        assert_eq!(links.of("a b#1").map(|a| a.1), Some(true));
        assert_eq!(links.of("gone"), None);
    }
}
