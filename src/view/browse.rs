//! `callscope browse`: the recorder viewer's interactive menu as a terminal
//! browser. A list of recordings filtered as you type; on one recording its
//! summary, transcript and function calls, and keys to play it, export its
//! transcript, or open its directory.

use std::io;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph};
use ratatui::{DefaultTerminal, Frame};

use super::list::ListRow;
use super::show::{self, Sections};
use super::{play, transcript};
use crate::error::{Error, Result};
use crate::recording::{ModelOptions, Recording};

struct App {
    recordings: Vec<Recording>,
    rows: Vec<ListRow>,
    filter: String,
    /// Indices into `rows` that match the filter.
    visible: Vec<usize>,
    list: ListState,
    /// The recording open, with its rendered text and scroll.
    open: Option<(usize, Vec<String>, u16)>,
    status: String,
    model: ModelOptions,
}

impl App {
    fn refilter(&mut self) {
        let f = self.filter.to_lowercase();
        self.visible = (0..self.rows.len())
            .filter(|i| {
                let r = &self.rows[*i];
                f.is_empty()
                    || r.recording.to_lowercase().contains(&f)
                    || r.session_id.to_lowercase().contains(&f)
                    || r.start_time.as_deref().is_some_and(|s| s.contains(&f))
            })
            .collect();
        self.list.select((!self.visible.is_empty()).then_some(0));
    }

    fn open_selected(&mut self, width: u16) {
        let Some(i) = self
            .list
            .selected()
            .and_then(|s| self.visible.get(s))
            .copied()
        else {
            return;
        };
        let sections = Sections {
            transcript: true,
            functions: true,
            events: false,
        };
        let text = show::render_with(
            &self.recordings[i],
            &self.model,
            sections,
            false,
            Some(usize::from(width).saturating_sub(2)),
        );
        self.open = Some((i, text.lines().map(str::to_string).collect(), 0));
        self.status =
            "p play  e export transcript  o open directory  ↑↓ PgUp PgDn scroll  Esc back".into();
    }

    fn act(&mut self, key: char) {
        let Some((i, _, _)) = &self.open else { return };
        let rec = &self.recordings[*i];
        self.status = match key {
            'p' => match play::track_path(rec, play::Track::Final).and_then(|f| quiet_play(&f)) {
                Ok(()) => "played final_stereo_recording.wav".into(),
                Err(e) => e.to_string(),
            },
            'e' => {
                let out = PathBuf::from(format!("{}_transcript.txt", rec.session_id()));
                match transcript::export(rec, self.model.name_tz, transcript::Format::Txt, false)
                    .map_err(Error::Usage)
                    .and_then(|t| std::fs::write(&out, t).map_err(|e| Error::io(&out, e)))
                {
                    Ok(()) => format!("transcript written to {}", out.display()),
                    Err(e) => e.to_string(),
                }
            }
            'o' => match open_dir(&rec.dir) {
                Ok(()) => format!("opened {}", rec.dir.display()),
                Err(e) => e,
            },
            _ => return,
        };
    }
}

/// Play without letting the player draw over the browser.
fn quiet_play(file: &std::path::Path) -> Result<()> {
    let candidates = play::default_players();
    for c in candidates {
        let ok = Command::new(&c[0])
            .args(&c[1..])
            .arg(file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Ok(s) = ok {
            return if s.success() {
                Ok(())
            } else {
                Err(Error::Usage(format!("{} could not play it", c[0])))
            };
        }
    }
    Err(Error::Usage("no audio player found".into()))
}

fn open_dir(dir: &std::path::Path) -> std::result::Result<(), String> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    Command::new(opener)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("{opener}: {e}"))
        .and_then(|s| {
            if s.success() {
                Ok(())
            } else {
                Err(format!("{opener} failed"))
            }
        })
}

fn draw(f: &mut Frame, app: &mut App) {
    let [main, status] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(f.area());
    match &app.open {
        Some((i, lines, scroll)) => {
            let title = format!(" {} ", app.rows[*i].recording);
            let text: Vec<Line> = lines.iter().map(|l| Line::raw(l.clone())).collect();
            f.render_widget(
                Paragraph::new(text)
                    .scroll((*scroll, 0))
                    .block(Block::default().borders(Borders::ALL).title(title)),
                main,
            );
        }
        None => {
            let [filter, list] =
                Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(main);
            f.render_widget(
                Paragraph::new(format!("{}_", app.filter)).block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" filter (type to narrow) "),
                ),
                filter,
            );
            let items: Vec<ListItem> = app
                .visible
                .iter()
                .map(|i| {
                    let r = &app.rows[*i];
                    ListItem::new(format!(
                        "{}  {}  {:>7}  {}",
                        r.recording,
                        r.start_time
                            .as_deref()
                            .map_or("-", |s| &s[..19.min(s.len())]),
                        r.duration_s.map_or("-".into(), |d| format!("{d:.1}s")),
                        r.state.as_str()
                    ))
                })
                .collect();
            let title = format!(" {} of {} recordings ", app.visible.len(), app.rows.len());
            f.render_stateful_widget(
                List::new(items)
                    .block(Block::default().borders(Borders::ALL).title(title))
                    .highlight_style(Style::default().add_modifier(Modifier::REVERSED))
                    .highlight_symbol("> "),
                list,
                &mut app.list,
            );
        }
    }
    f.render_widget(Paragraph::new(app.status.clone()), status);
}

fn event_loop(terminal: &mut DefaultTerminal, app: &mut App) -> io::Result<()> {
    loop {
        terminal.draw(|f| draw(f, app))?;
        // Polled, so a stop (SIGTERM, or SIGHUP when the terminal goes) is
        // seen within a fraction of a second; a terminal that is gone
        // makes read fail, which ends the loop instead of spinning.
        if crate::interrupt::requested() {
            return Ok(());
        }
        if !event::poll(std::time::Duration::from_millis(250))? {
            continue;
        }
        let Event::Key(key) = event::read()? else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Ok(());
        }
        let height = terminal.size()?.height.saturating_sub(3);
        match &mut app.open {
            Some((_, lines, scroll)) => {
                let max = (lines.len() as u16).saturating_sub(height);
                match key.code {
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Backspace => {
                        app.open = None;
                        app.status = "type to filter  ↑↓ select  Enter open  Esc quit".into();
                    }
                    KeyCode::Down => *scroll = (*scroll + 1).min(max),
                    KeyCode::Up => *scroll = scroll.saturating_sub(1),
                    KeyCode::PageDown => *scroll = (*scroll + height).min(max),
                    KeyCode::PageUp => *scroll = scroll.saturating_sub(height),
                    KeyCode::Char(c) => app.act(c),
                    _ => {}
                }
            }
            None => match key.code {
                KeyCode::Esc => return Ok(()),
                KeyCode::Enter => app.open_selected(terminal.size()?.width),
                KeyCode::Down => {
                    let n = app.visible.len();
                    if n > 0 {
                        app.list
                            .select(Some(app.list.selected().map_or(0, |s| (s + 1).min(n - 1))));
                    }
                }
                KeyCode::Up => app
                    .list
                    .select(Some(app.list.selected().map_or(0, |s| s.saturating_sub(1)))),
                KeyCode::Backspace => {
                    app.filter.pop();
                    app.refilter();
                }
                KeyCode::Char(c) => {
                    app.filter.push(c);
                    app.refilter();
                }
                _ => {}
            },
        }
    }
}

/// Run the browser on a terminal until the user quits.
pub fn browse(recordings: Vec<Recording>, rows: Vec<ListRow>, model: ModelOptions) -> Result<()> {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(Error::Usage(
            "browse needs a terminal (use list, show or export in scripts)".into(),
        ));
    }
    let mut app = App {
        recordings,
        rows,
        filter: String::new(),
        visible: Vec::new(),
        list: ListState::default(),
        open: None,
        status: "type to filter  ↑↓ select  Enter open  Esc quit".into(),
        model,
    };
    app.refilter();
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &mut app);
    ratatui::restore();
    result.map_err(|e| Error::Usage(format!("terminal: {e}")))
}
