//! What the recorder's own viewer did: `list`, `show`, `export`, `play`,
//! `browse`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::args::{ModelArgs, WindowArgs};
use super::output;
use crate::check;
use crate::error::{Error, Result};
use crate::exit;
use crate::recording::{self, discover};
use crate::view::{browse, list, play, show, transcript};

const LIST_EXAMPLES: &str = "\
Examples:
  callscope list sample_recordings
  callscope list /srv/recordings --since 2024-12-01 --sort duration
  callscope list /srv/recordings --json";

#[derive(Debug, Args)]
#[command(after_help = LIST_EXAMPLES)]
pub struct ListArgs {
    /// The recordings root (searched at any depth), or one recording directory.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Order (default: directory name).
    #[arg(long, value_enum)]
    pub sort: Option<list::SortKey>,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn list(args: &ListArgs) -> Result<i32> {
    let found = discover(&args.root)?;
    output::warn_skipped(&found);
    let model = args.model.options();
    let window = args.window.filter(Vec::new())?;
    let recordings: Vec<_> = found
        .recordings
        .into_iter()
        .filter(|r| window.matches(r, model.name_tz))
        .collect();
    let mut rows = list::rows(&recordings, &model);
    if let Some(key) = args.sort {
        list::sort(&mut rows, key);
    }
    for problem in rows.iter().flat_map(|r| &r.problems) {
        output::warn(problem);
    }
    let text = if args.json {
        output::json(&rows)?
    } else {
        list::render_table(&rows)
    };
    output::stdout(&text)?;
    Ok(exit::OK)
}

const SHOW_EXAMPLES: &str = "\
Examples:
  callscope show --root sample_recordings session_123
  callscope show --root /srv/recordings --latest --events
  callscope show /srv/recordings/2024/12/01/abc_20241201_080000 --json
  callscope show --root sample_recordings session_123 --html call.html";

#[derive(Debug, Args)]
#[command(after_help = SHOW_EXAMPLES)]
pub struct ShowArgs {
    /// A recording directory, or a recording's name (or the start of it) under --root.
    pub recording: Option<String>,
    /// The most recent recording under --root.
    #[arg(long, conflicts_with = "recording")]
    pub latest: bool,
    /// Where recordings named by name are looked for.
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// Show the transcript (with no section flag: transcript and function calls).
    #[arg(long)]
    pub transcript: bool,
    /// Show the function calls.
    #[arg(long)]
    pub functions: bool,
    /// Show the session events.
    #[arg(long)]
    pub events: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the call's HTML page (as `run` writes under calls/) to FILE:
    /// timeline, transcript, findings, the recording's audio.
    #[arg(long, value_name = "FILE", conflicts_with = "json")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Write `text` to `path` whole: under a temporary name, then renamed.
fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    let failed = |e| Error::write(path, e);
    let mut f = crate::safe_fs::AtomicFile::create(path).map_err(failed)?;
    f.write_all(text.as_bytes()).map_err(failed)?;
    f.commit(None).map_err(failed)?;
    Ok(())
}

/// The call through every built-in analyzer, as `run` sees it, drawn.
fn show_html(
    rec: &recording::Recording,
    model: &recording::ModelOptions,
    file: &std::path::Path,
) -> Result<i32> {
    let analyzers = crate::analyze::builtins();
    let needs = analyzers
        .iter()
        .fold(crate::analyze::Needs::default(), |n, a| n.union(a.needs()));
    let r = crate::run::process::process(
        rec,
        &analyzers,
        needs,
        crate::analyze::VadKind::Neural,
        model,
    );
    if file.as_os_str() == "-" {
        // Links to the audio are relative to the working directory.
        let page = crate::report::html::standalone_page(&r, Path::new("call.html"), &rec.dir, 3.0);
        output::stdout(&page)?;
        return Ok(exit::OK);
    }
    recording::check_output_path(file, "--html", &[])?;
    let page = crate::report::html::standalone_page(&r, file, &rec.dir, 3.0);
    write_file(file, &page)?;
    output::note(format_args!("{}: the page of {}", file.display(), rec.rel));
    Ok(exit::OK)
}

pub fn show(args: &ShowArgs) -> Result<i32> {
    let model = args.model.options();
    let rec = recording::resolve(&args.root, args.recording.as_deref(), args.latest, &model)?;
    if let Some(file) = &args.html {
        return show_html(&rec, &model, file);
    }
    let all = !(args.transcript || args.functions || args.events);
    let sections = show::Sections {
        transcript: all || args.transcript,
        functions: all || args.functions,
        events: args.events,
    };
    let text = if args.json {
        let check = check::check_recording(&rec, &model);
        output::json(&show::details(&rec, &model, &check, sections))?
    } else {
        show::render(&rec, &model, sections)
    };
    output::stdout(&text)?;
    Ok(exit::OK)
}

const EXPORT_EXAMPLES: &str = "\
Examples:
  callscope export --root sample_recordings session_123
  callscope export --root /srv/recordings abc_20241201 --format vtt -o call.vtt
  callscope export --root /srv/recordings abc_20241201 --redact --format json";

#[derive(Debug, Args)]
#[command(after_help = EXPORT_EXAMPLES)]
pub struct ExportArgs {
    /// A recording directory, or a recording's name under --root.
    pub recording: String,
    /// Where recordings named by name are looked for.
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// Write here (atomically) instead of stdout.
    #[arg(short, long, visible_alias = "output", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// What to write.
    #[arg(long, value_enum, default_value = "txt")]
    pub format: transcript::Format,
    /// Mask card numbers (Luhn-checked, last four kept), phone numbers, e-mail addresses and long digit runs.
    #[arg(long)]
    pub redact: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn export(args: &ExportArgs) -> Result<i32> {
    let model = args.model.options();
    let rec = recording::resolve(&args.root, Some(&args.recording), false, &model)?;
    let text =
        transcript::export(&rec, model.name_tz, args.format, args.redact).map_err(Error::Usage)?;
    match &args.out {
        Some(path) if path.as_os_str() != "-" => {
            recording::check_output_path(path, "-o", &[])?;
            write_file(path, &text)?;
        }
        _ => output::stdout(&text)?,
    }
    Ok(exit::OK)
}

const PLAY_EXAMPLES: &str = "\
Examples:
  callscope play --root sample_recordings session_123
  callscope play --root /srv/recordings abc_20241201 --track caller
  callscope play --root /srv/recordings abc_20241201 --player 'mpv --no-video'";

#[derive(Debug, Args)]
#[command(after_help = PLAY_EXAMPLES)]
pub struct PlayArgs {
    /// A recording directory, or a recording's name under --root.
    pub recording: String,
    /// Where recordings named by name are looked for.
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// Which audio file.
    #[arg(long, value_enum, default_value = "final")]
    pub track: play::Track,
    /// The player command to use (the file is appended).
    #[arg(long)]
    pub player: Option<String>,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn play(args: &PlayArgs) -> Result<i32> {
    let model = args.model.options();
    let rec = recording::resolve(&args.root, Some(&args.recording), false, &model)?;
    let file = play::track_path(&rec, args.track)?;
    let code = play::play(&file, args.player.as_deref())?;
    Ok(if code == 0 {
        exit::OK
    } else {
        output::exit_data(format_args!("the player exited with {code}"))
    })
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  callscope browse sample_recordings\n  callscope browse /srv/recordings --name-tz Europe/Paris"
)]
pub struct BrowseArgs {
    /// The recordings root.
    #[arg(default_value = ".")]
    pub root: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn browse(args: &BrowseArgs) -> Result<i32> {
    let found = discover(&args.root)?;
    let model = args.model.options();
    let rows = list::rows(&found.recordings, &model);
    browse::browse(found.recordings, rows, model)?;
    crate::interrupt::check()?;
    Ok(exit::OK)
}
