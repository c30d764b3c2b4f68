//! The plugin host: loads analyzer plugins (shared libraries speaking the C
//! ABI in `plugins/callscope-plugin-sdk/include/callscope_plugin.h`) with
//! libloading, checks the ABI version before reading anything else, and
//! wraps each one in the same `Analyzer` trait as the built-ins. A plugin
//! runs in the callscope process, or, with `--plugin-isolation process`,
//! in host processes of its own (`isolate`).

mod isolate;
mod set;

pub use isolate::{load_isolated, serve};
pub use set::{Isolation, Request};

use std::ffi::{c_char, c_void, CStr};
use std::path::{Path, PathBuf};

use callscope_plugin_sdk::{CsBuffer, CsBytes, CsCall, CsPluginV1, CsTrack, ABI_VERSION};
use serde::Serialize;
use serde_json::{json, Value};

use crate::analyze::{Analyzer, CallContext, CallOutput, Cell, Needs, RunSummary, Stats};
use crate::recording::{format_utc, FileKind, State};

const ENTRY: &[u8] = b"callscope_plugin_entry";

/// A loaded, initialised plugin, wherever it runs.
pub struct Plugin {
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    pub columns: Vec<String>,
    pub needs: Needs,
    backend: Box<dyn Backend>,
}

/// A track as the ABI passes it: samples and their rate, when there is one.
type Track<'a> = Option<(&'a [i16], u32)>;

/// Where a plugin's functions run: in this process, or in a host process.
/// Each returns the plugin's status and its bytes, or why it could not.
trait Backend: Send + Sync {
    fn analyze(
        &self,
        call_json: &[u8],
        caller: Track,
        bot: Track,
    ) -> Result<(i32, Vec<u8>), String>;
    fn summarize(&self, merged: &[u8]) -> Result<(i32, Vec<u8>), String>;
}

/// The library in this process. It stays loaded as long as any pointer
/// taken from it is held here; `deinit` runs on drop.
struct Native {
    instance: *mut c_void,
    analyze_fn: extern "C" fn(*mut c_void, *const CsCall, *mut CsBuffer) -> i32,
    summarize_fn: extern "C" fn(*mut c_void, CsBytes, *mut CsBuffer) -> i32,
    free_fn: extern "C" fn(CsBuffer),
    deinit_fn: extern "C" fn(*mut c_void),
    // Last: dropped after `deinit` has run.
    _library: libloading::Library,
}

// SAFETY: the ABI requires `analyze` and `summarize` to be callable from
// several threads at once on one instance; the host never mutates the
// instance itself, and the library handle is thread-safe.
unsafe impl Send for Native {}
// SAFETY: as above.
unsafe impl Sync for Native {}

impl Drop for Native {
    fn drop(&mut self) {
        (self.deinit_fn)(self.instance);
    }
}

fn cstr(p: *const c_char) -> Option<String> {
    // SAFETY: checked non-null; the descriptor's strings are NUL-terminated
    // and live as long as the library.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

fn needs_from_bits(bits: u32) -> Needs {
    Needs {
        metadata: bits & 1 != 0,
        transcript: bits & 2 != 0,
        events: bits & 4 != 0,
        audio: bits & 8 != 0,
        timeline: bits & 16 != 0,
    }
}

/// Take a plugin's buffer: copy its bytes, hand it back to the plugin.
fn take(buffer: CsBuffer, free: extern "C" fn(CsBuffer)) -> Vec<u8> {
    let bytes = if buffer.ptr.is_null() || buffer.len == 0 {
        Vec::new()
    } else {
        // SAFETY: the plugin wrote a buffer of `len` bytes at `ptr`, which
        // stays valid until we pass it to its free function below.
        unsafe { std::slice::from_raw_parts(buffer.ptr, buffer.len) }.to_vec()
    };
    free(buffer);
    bytes
}

fn empty_buffer() -> CsBuffer {
    CsBuffer {
        ptr: std::ptr::null_mut(),
        len: 0,
    }
}

fn as_bytes(b: &[u8]) -> CsBytes {
    CsBytes {
        ptr: b.as_ptr(),
        len: b.len(),
    }
}

/// A plugin's name and column names become report columns
/// (`{name}_{column}`): each must be a plain identifier, usable unquoted
/// in SQL and in a CSV header, and the columns distinct.
fn valid_names(name: &str, columns: &[String]) -> Result<(), String> {
    // Lowercase snake_case from a letter on: `{name}_{column}` is then a
    // report column SQL takes unquoted.
    let ident = |s: &str| {
        s.len() <= 64
            && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    const RULE: &str =
        "1-64 lowercase letters, digits or '_', from a letter on (report columns are snake_case)";
    if !ident(name) {
        return Err(format!("the name must be {RULE}"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in columns {
        if !ident(c) {
            return Err(format!("column {c:?}: a column name must be {RULE}"));
        }
        if !seen.insert(c) {
            return Err(format!("column {c:?} is declared twice"));
        }
    }
    Ok(())
}

/// Load a plugin and initialise it. `config_for` gives the JSON config for
/// a plugin name (known only once the descriptor is read).
pub fn load(path: &Path, config_for: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<Plugin, String> {
    let p = path.display();
    // SAFETY: loading a library runs its initialisers; plugins are code the
    // user chose to load, which is the contract of a plugin system.
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|e| format!("{p}: not a loadable shared library: {e}"))?;
    // SAFETY: the symbol's type is the ABI's entry signature.
    let entry = unsafe { library.get::<extern "C" fn() -> *const c_void>(ENTRY) }
        .map_err(|_| format!("{p}: no callscope_plugin_entry symbol (not a callscope plugin)"))?;
    let raw = entry();
    if raw.is_null() {
        return Err(format!("{p}: callscope_plugin_entry returned null"));
    }
    // The version first, before anything else is read.
    // SAFETY: every descriptor version starts with a u32 ABI version.
    let abi = unsafe { *(raw as *const u32) };
    if abi != ABI_VERSION {
        return Err(format!(
            "{p}: plugin ABI version {abi}, this callscope speaks ABI version {ABI_VERSION}"
        ));
    }
    // SAFETY: version 1 descriptors have exactly this layout.
    let d = unsafe { &*(raw as *const CsPluginV1) };
    let name = cstr(d.name)
        .filter(|n| !n.is_empty())
        .ok_or(format!("{p}: the plugin has no name"))?;
    let version = cstr(d.version).unwrap_or_default();
    let missing = |what: &str| format!("{p}: plugin {name}: no {what} function");
    let init = d.init.ok_or_else(|| missing("init"))?;
    let columns_fn = d.columns.ok_or_else(|| missing("columns"))?;
    let analyze_fn = d.analyze.ok_or_else(|| missing("analyze"))?;
    let summarize_fn = d.summarize.ok_or_else(|| missing("summarize"))?;
    let free_fn = d.free_buffer.ok_or_else(|| missing("free_buffer"))?;
    let deinit_fn = d.deinit.ok_or_else(|| missing("deinit"))?;
    let config = config_for(&name).unwrap_or_else(|| b"{}".to_vec());
    let mut err = empty_buffer();
    let instance = init(as_bytes(&config), &mut err);
    if instance.is_null() {
        let msg = String::from_utf8_lossy(&take(err, free_fn)).into_owned();
        let hint = match config_for(&name) {
            Some(_) => String::new(),
            None => format!(" (it was given no config: pass --plugin-config {name}=FILE)"),
        };
        return Err(format!("{p}: plugin {name}: init failed: {msg}{hint}"));
    }
    let mut out = empty_buffer();
    let status = columns_fn(instance, &mut out);
    let bytes = take(out, free_fn);
    let columns: Vec<String> = match (status, serde_json::from_slice::<Vec<String>>(&bytes)) {
        (0, Ok(c)) => c,
        _ => {
            deinit_fn(instance);
            return Err(format!(
                "{p}: plugin {name}: columns did not return a JSON array of names"
            ));
        }
    };
    if let Err(why) = valid_names(&name, &columns) {
        deinit_fn(instance);
        return Err(format!("{p}: plugin {name:?}: {why}"));
    }
    Ok(Plugin {
        path: path.to_path_buf(),
        name,
        version,
        columns,
        needs: needs_from_bits(d.needs),
        backend: Box::new(Native {
            instance,
            analyze_fn,
            summarize_fn,
            free_fn,
            deinit_fn,
            _library: library,
        }),
    })
}

/// This platform's shared libraries in a directory, sorted. Only its own
/// kind: a plugin shipped for several platforms side by side (`.so`,
/// `.dylib`, `.dll`) loads here, where the others could not.
pub fn libraries_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == std::env::consts::DLL_EXTENSION)
        })
        .collect();
    v.sort();
    Ok(v)
}

/// A plugin's config file as JSON bytes: `.toml` files are converted.
pub fn read_config(path: &Path) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: Value = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    };
    serde_json::to_vec(&value).map_err(|e| e.to_string())
}

/// The call as a plugin receives it (`call_json` in the C header; the
/// SDK's `Call::json`).
#[derive(Serialize)]
struct CallJson<'a> {
    recording: &'a str,
    session_id: String,
    /// UTC, RFC 3339; from the metadata, the transcript, or the directory
    /// name read in `--name-tz`.
    start_time: Option<String>,
    /// complete, crashed, in-progress, audio-removed.
    state: Option<State>,
    metadata: Option<&'a Value>,
    transcript: Option<&'a Value>,
    events: Option<&'a Value>,
}

impl Plugin {
    fn call_json(&self, call: &CallContext) -> Vec<u8> {
        let rec = call.rec;
        let part = |on: bool, k: FileKind| on.then(|| rec.json(k).ok().flatten()).flatten();
        let v = CallJson {
            recording: &rec.rel,
            session_id: rec.session_id(),
            start_time: rec.start_time(call.name_tz).map(|s| format_utc(&s.time)),
            state: call.state,
            metadata: part(self.needs.metadata, FileKind::Metadata),
            transcript: part(self.needs.transcript, FileKind::Transcript),
            events: part(self.needs.events, FileKind::Events),
        };
        serde_json::to_vec(&v).unwrap_or_default()
    }
}

impl Backend for Native {
    fn analyze(
        &self,
        call_json: &[u8],
        caller: Track,
        bot: Track,
    ) -> Result<(i32, Vec<u8>), String> {
        let raw = CsCall {
            call_json: as_bytes(call_json),
            caller: track(caller),
            bot: track(bot),
        };
        let mut out = empty_buffer();
        let status = (self.analyze_fn)(self.instance, &raw, &mut out);
        Ok((status, take(out, self.free_fn)))
    }

    fn summarize(&self, merged: &[u8]) -> Result<(i32, Vec<u8>), String> {
        let mut out = empty_buffer();
        let status = (self.summarize_fn)(self.instance, as_bytes(merged), &mut out);
        Ok((status, take(out, self.free_fn)))
    }
}

fn track(samples: Track) -> CsTrack {
    match samples {
        Some((s, rate)) => CsTrack {
            samples: s.as_ptr(),
            len: s.len(),
            sample_rate: rate,
        },
        None => CsTrack {
            samples: std::ptr::null(),
            len: 0,
            sample_rate: 0,
        },
    }
}

fn cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Int(i64::from(*b)),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Cell::num(n.as_f64(), 6), Cell::Int),
        Value::String(s) => Cell::Text(s.clone()),
        other => Cell::Text(other.to_string()),
    }
}

impl Analyzer for Plugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn version(&self) -> String {
        self.version.clone()
    }

    fn source(&self) -> String {
        self.path.display().to_string()
    }

    fn finding_code(&self) -> String {
        format!("plugin.{}", self.name)
    }

    fn columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|c| format!("{}_{c}", self.name))
            .collect()
    }

    fn needs(&self) -> Needs {
        self.needs
    }

    fn analyze(&self, call: &CallContext) -> Result<CallOutput, String> {
        let json = self.call_json(call);
        let audio = self.needs.audio || self.needs.timeline;
        let caller = if audio { call.caller().ok() } else { None };
        let bot = if audio { call.bot().ok() } else { None };
        let (status, bytes) = self.backend.analyze(
            &json,
            caller.map(|w| (&w.samples[..], w.info.sample_rate)),
            bot.map(|w| (&w.samples[..], w.info.sample_rate)),
        )?;
        if status != 0 {
            return Err(String::from_utf8_lossy(&bytes).into_owned());
        }
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("returned invalid JSON: {e}"))?;
        let obj = value
            .as_object()
            .ok_or("returned JSON that is not an object")?;
        let mut result = CallOutput::default();
        for c in &self.columns {
            let v = obj.get(c).unwrap_or(&Value::Null);
            let cell = cell(v);
            if !matches!(cell, Cell::Null) {
                result.stats.tally("count", &[c], 1.0);
            }
            match v {
                Value::Number(n) => result.stats.tally("sum", &[c], n.as_f64().unwrap_or(0.0)),
                Value::Bool(true) => result.stats.tally("true", &[c], 1.0),
                _ => {}
            }
            result.set(&format!("{}_{c}", self.name), cell);
        }
        Ok(result)
    }

    fn summarize(&self, stats: &Stats, calls: usize) -> RunSummary {
        let columns: serde_json::Map<String, Value> = self
            .columns
            .iter()
            .map(|c| {
                let n = |what: &str| stats.tallied(what, &[c]);
                (
                    c.clone(),
                    json!({"count": n("count") as u64, "sum": n("sum"), "true": n("true") as u64}),
                )
            })
            .collect();
        let merged =
            serde_json::to_vec(&json!({"calls": calls, "columns": columns})).unwrap_or_default();
        let json = match self.backend.summarize(&merged) {
            Ok((0, bytes)) => serde_json::from_slice::<Value>(&bytes)
                .unwrap_or_else(|e| json!({ "error": format!("invalid JSON: {e}") })),
            Ok((_, bytes)) => json!({ "error": String::from_utf8_lossy(&bytes) }),
            Err(e) => json!({ "error": e }),
        };
        RunSummary {
            json,
            tables: Vec::new(),
        }
    }
}
