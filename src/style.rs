//! Colours of the human output. Text is painted with ANSI codes always; the
//! stream it is written to (`anstream`) removes them where colour is not
//! wanted, so a padded column is padded on its plain text first.

use anstyle::AnsiColor;
pub use anstyle::Style;

pub const OK: Style = AnsiColor::Green.on_default();
pub const WARNING: Style = AnsiColor::Yellow.on_default();
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const LABEL: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();
pub const CALLER: Style = AnsiColor::Blue.on_default();
pub const BOT: Style = AnsiColor::Magenta.on_default();
pub const FUNCTION: Style = AnsiColor::Cyan.on_default();

/// `text` between the style's codes.
pub fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}
