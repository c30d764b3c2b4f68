//! Progress on long runs: a bar on stderr when it is a terminal, nothing
//! otherwise (cron mails whatever reaches stderr).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting `len` items, hidden when stderr is not a terminal or `quiet`.
pub fn bar(len: u64, what: &str, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(len);
    let template =
        format!("{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {what} ({{rate}}, ETA {{eta}})");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        // A rate a person reads at a glance: whole items a second (or one
        // decimal under ten), not indicatif's four decimals.
        let rate = |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let r = s.per_sec();
            let _ = match r < 10.0 {
                true => write!(w, "{r:.1}/s"),
                false => write!(w, "{r:.0}/s"),
            };
        };
        bar.set_style(style.with_key("rate", rate).progress_chars("=> "));
    }
    bar
}
