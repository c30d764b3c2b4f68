//! The plugins of one command: every library asked for (by file, by
//! directory, by `CALLSCOPE_PLUGIN_PATH`), loaded where `--plugin-isolation`
//! says, each checked against the names and columns already taken. A
//! plugin that cannot be used stops the command before any work.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::analyze::Analyzer;
use crate::error::{Error, Result};
use crate::report::BASE_COLUMNS;

use super::Plugin;

/// Where plugins run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Isolation {
    /// In the callscope process: fastest; a plugin that crashes takes the run down.
    None,
    /// Each plugin in host processes of its own, killed and restarted when
    /// they crash or outlive --plugin-timeout: for plugins you do not trust.
    Process,
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub struct Request {
    pub files: Vec<PathBuf>,
    pub dirs: Vec<PathBuf>,
    /// Plugins and plugin directories separated by ':'.
    pub search_path: Option<String>,
    /// `NAME=FILE` pairs.
    pub configs: Vec<String>,
    pub isolation: Isolation,
    pub timeout: Duration,
}

/// A relative path names a file under the current directory, as everywhere
/// else on the command line (the dynamic loader would search its own path
/// for a bare `libfoo.so`).
fn anchored(p: PathBuf) -> PathBuf {
    if p.is_relative() {
        Path::new(".").join(p)
    } else {
        p
    }
}

impl Request {
    /// Every library asked for, in order: files, then directories' contents.
    fn libraries(&self) -> Result<Vec<PathBuf>> {
        let mut paths = self.files.clone();
        let mut dirs = self.dirs.clone();
        for part in self
            .search_path
            .iter()
            .flat_map(|p| p.split(':'))
            .filter(|p| !p.is_empty())
        {
            let p = PathBuf::from(part);
            if p.is_dir() {
                dirs.push(p);
            } else {
                paths.push(p);
            }
        }
        for d in &dirs {
            paths.extend(super::libraries_in(d).map_err(Error::Usage)?);
        }
        Ok(paths.into_iter().map(anchored).collect())
    }

    fn read_configs(&self) -> Result<BTreeMap<String, Vec<u8>>> {
        let mut configs = BTreeMap::new();
        for c in &self.configs {
            let (name, file) = c
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("--plugin-config {c}: use NAME=FILE")))?;
            configs.insert(
                name.to_string(),
                super::read_config(Path::new(file)).map_err(Error::Usage)?,
            );
        }
        Ok(configs)
    }

    /// Load every plugin asked for, next to `builtins` (whose names and
    /// columns, and the report's base columns, are taken).
    pub fn load(&self, builtins: &[Box<dyn Analyzer>]) -> Result<Vec<Plugin>> {
        let mut names: Vec<String> = builtins.iter().map(|a| a.name().to_string()).collect();
        let mut columns: Vec<String> = BASE_COLUMNS
            .iter()
            .map(std::string::ToString::to_string)
            .chain(builtins.iter().flat_map(|a| a.columns()))
            .collect();
        let configs = self.read_configs()?;
        let exe =
            std::env::current_exe().map_err(|e| Error::Usage(format!("callscope itself: {e}")))?;
        let mut loaded = Vec::new();
        for p in self.libraries()? {
            let plugin = match self.isolation {
                Isolation::None => super::load(&p, &|name| configs.get(name).cloned()),
                Isolation::Process => super::load_isolated(&exe, &p, &configs, self.timeout),
            }
            .map_err(Error::Usage)?;
            if names.contains(&plugin.name) {
                return Err(Error::Usage(format!(
                    "{}: an analyzer named '{}' is already loaded",
                    p.display(),
                    plugin.name
                )));
            }
            let own = Analyzer::columns(&plugin);
            if let Some(c) = own.iter().find(|c| columns.contains(c)) {
                return Err(Error::Usage(format!(
                    "{}: plugin {}: column '{c}' is already a column of the report; rename the plugin or the column",
                    p.display(),
                    plugin.name
                )));
            }
            columns.extend(own);
            names.push(plugin.name.clone());
            loaded.push(plugin);
        }
        if let Some(unused) = configs.keys().find(|n| !names.contains(n)) {
            return Err(Error::Usage(format!(
                "--plugin-config {unused}: no plugin of that name is loaded"
            )));
        }
        Ok(loaded)
    }
}
