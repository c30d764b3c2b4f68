//! `callscope completions` and `callscope man`: the command line described
//! for shells and for `man`, generated from the same definition that
//! parses it.

use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;

use super::output;
use crate::error::{Error, Result};
use crate::exit;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  callscope completions bash > /etc/bash_completion.d/callscope
  callscope completions zsh > \"${fpath[1]}/_callscope\"
  callscope completions fish > ~/.config/fish/completions/callscope.fish")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn completions(args: &CompletionsArgs) -> Result<i32> {
    let mut cmd = super::command();
    let mut bytes = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "callscope", &mut bytes);
    output::stdout(&String::from_utf8_lossy(&bytes))?;
    Ok(exit::OK)
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  callscope man | man -l -
  callscope man --dir /usr/local/share/man/man1")]
pub struct ManArgs {
    /// Write callscope.1 and one callscope-COMMAND.1 per command into this
    /// directory instead of printing callscope.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn man(args: &ManArgs) -> Result<i32> {
    let cmd = super::command();
    match &args.dir {
        None => {
            let mut bytes = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut bytes)
                .map_err(|e| Error::io(&PathBuf::from("<stdout>"), e))?;
            output::stdout(&String::from_utf8_lossy(&bytes))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
            clap_mangen::generate_to(cmd, dir).map_err(|e| Error::write(dir, e))?;
        }
    }
    Ok(exit::OK)
}
