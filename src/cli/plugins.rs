//! `callscope plugins` (what can run) and the hidden `plugin-host` (one
//! plugin served to an isolated run).

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::args::PluginArgs;
use super::output;
use crate::analyze::{self, Analyzer};
use crate::error::{Error, Result};
use crate::exit;

const EXAMPLES: &str = "\
Examples:
  callscope plugins
  callscope plugins --plugin ./libkeyword_categories.so --plugin-config kwcat=kwcat.toml
  CALLSCOPE_PLUGIN_PATH=/opt/callscope/plugins callscope plugins --json";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct PluginsArgs {
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PluginHostArgs {
    /// The plugin library.
    pub plugin: PathBuf,
}

/// One analyzer as `plugins` lists it.
#[derive(Debug, Serialize)]
struct Listing {
    name: String,
    version: String,
    /// The plugin ABI it speaks; none for a built-in.
    abi_version: Option<u32>,
    columns: Vec<String>,
    needs: Vec<&'static str>,
    /// `built-in`, or the plugin's file (and how it runs).
    source: String,
}

impl Listing {
    fn of(a: &dyn Analyzer) -> Listing {
        let source = a.source();
        Listing {
            name: a.name().to_string(),
            version: a.version(),
            abi_version: (source != "built-in").then_some(callscope_plugin_sdk::ABI_VERSION),
            columns: a.columns(),
            needs: a.needs().names(),
            source,
        }
    }

    fn text(&self) -> String {
        format!(
            "{} {} (abi {}, {})\n  needs: {}\n  columns: {}\n",
            self.name,
            self.version,
            self.abi_version.map_or("-".to_string(), |v| v.to_string()),
            self.source,
            self.needs.join(", "),
            self.columns.join(", ")
        )
    }
}

pub fn list(args: &PluginsArgs) -> Result<i32> {
    let builtins = analyze::builtins();
    let loaded = args.plugins.request()?.load(&builtins)?;
    let rows: Vec<Listing> = builtins
        .iter()
        .map(|b| Listing::of(b.as_ref()))
        .chain(loaded.iter().map(|p| Listing::of(p)))
        .collect();
    let text = if args.json {
        output::json(&rows)?
    } else {
        rows.iter().map(Listing::text).collect()
    };
    output::stdout(&text)?;
    Ok(exit::OK)
}

pub fn host(args: &PluginHostArgs) -> Result<i32> {
    crate::plugin::serve(&args.plugin).map_err(|e| Error::io(&args.plugin, e))?;
    Ok(exit::OK)
}
