//! Write callscope analyzer plugins in safe Rust.
//!
//! Implement [`Plugin`] and call [`export_plugin!`]: the macro generates the
//! `callscope_plugin_entry` symbol and every `extern "C"` function of the
//! ABI (`include/callscope_plugin.h`), sets the ABI version, and catches
//! panics at the boundary — a panic becomes an error for that call, never
//! an abort.
//!
//! ```ignore
//! use callscope_plugin_sdk::{export_plugin, Call, Needs, Plugin};
//! use serde_json::{json, Map, Value};
//!
//! struct Words;
//!
//! impl Plugin for Words {
//!     const NAME: &'static str = "words";
//!     const VERSION: &'static str = "1.0.0";
//!     fn columns(&self) -> Vec<String> { vec!["caller".into()] }
//!     fn needs() -> Needs { Needs::TRANSCRIPT }
//!     fn init(_config: Value) -> Result<Self, String> { Ok(Words) }
//!     fn analyze(&self, call: &Call) -> Result<Map<String, Value>, String> {
//!         let n = call.entries().filter(|e| e["channel"] == "caller").count();
//!         Ok(json!({ "caller": n }).as_object().cloned().unwrap_or_default())
//!     }
//! }
//!
//! export_plugin!(Words);
//! ```

use std::ffi::{c_char, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub use serde_json;
use serde_json::{Map, Value};

/// The ABI version this SDK implements (the descriptor's first field).
pub const ABI_VERSION: u32 = 1;

/// Bits of the descriptor's `needs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs(pub u32);

impl Needs {
    pub const METADATA: Needs = Needs(1);
    pub const TRANSCRIPT: Needs = Needs(2);
    pub const EVENTS: Needs = Needs(4);
    pub const AUDIO: Needs = Needs(8);
    pub const TIMELINE: Needs = Needs(16);

    pub const fn with(self, other: Needs) -> Needs {
        Needs(self.0 | other.0)
    }
}

/// `cs_bytes`: borrowed UTF-8 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CsBytes {
    pub ptr: *const u8,
    pub len: usize,
}

/// `cs_buffer`: bytes allocated by the plugin, freed by the plugin.
#[repr(C)]
pub struct CsBuffer {
    pub ptr: *mut u8,
    pub len: usize,
}

/// `cs_track`: a mono track; `len` 0 when absent.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CsTrack {
    pub samples: *const i16,
    pub len: usize,
    pub sample_rate: u32,
}

/// `cs_call`.
#[repr(C)]
pub struct CsCall {
    pub call_json: CsBytes,
    pub caller: CsTrack,
    pub bot: CsTrack,
}

/// `cs_plugin_v1`: the descriptor. `abi_version` is first and never moves.
/// The one Rust definition of it: plugins built with this SDK export it and
/// the host reads it. Every function pointer may be null in a C plugin, so
/// each is an `Option`, which has the plain pointer's layout. The C header
/// is checked against this layout by a test of the host.
#[repr(C)]
pub struct CsPluginV1 {
    pub abi_version: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub needs: u32,
    pub init: Option<extern "C" fn(config: CsBytes, error: *mut CsBuffer) -> *mut c_void>,
    pub columns: Option<extern "C" fn(instance: *mut c_void, out: *mut CsBuffer) -> i32>,
    pub analyze: Option<
        extern "C" fn(instance: *mut c_void, call: *const CsCall, out: *mut CsBuffer) -> i32,
    >,
    pub summarize:
        Option<extern "C" fn(instance: *mut c_void, merged: CsBytes, out: *mut CsBuffer) -> i32>,
    pub free_buffer: Option<extern "C" fn(buffer: CsBuffer)>,
    pub deinit: Option<extern "C" fn(instance: *mut c_void)>,
}

// SAFETY: the descriptor only holds pointers to immutable, 'static data
// (leaked C strings) and function pointers; sharing it between threads is fine.
unsafe impl Sync for CsPluginV1 {}
// SAFETY: as above, nothing in it is tied to a thread.
unsafe impl Send for CsPluginV1 {}

/// A mono track as the plugin sees it.
#[derive(Clone, Copy)]
pub struct Track<'a> {
    pub samples: &'a [i16],
    pub sample_rate: u32,
}

/// One call as the plugin sees it.
pub struct Call<'a> {
    /// `{"recording", "session_id", "start_time", "state", "metadata", "transcript", "events"}`.
    pub json: Value,
    pub caller: Option<Track<'a>>,
    pub bot: Option<Track<'a>>,
}

impl Call<'_> {
    /// The transcript entries (none when there is no transcript).
    pub fn entries(&self) -> impl Iterator<Item = &Value> {
        self.json["transcript"]["entries"]
            .as_array()
            .into_iter()
            .flatten()
    }
}

/// An analyzer plugin. `analyze` may be called from several threads at once.
pub trait Plugin: Sized + Send + Sync + 'static {
    const NAME: &'static str;
    const VERSION: &'static str;
    /// Column names, without the plugin's name (the host prefixes it and `_`:
    /// column `refund_matched` of plugin `kwcat` is `kwcat_refund_matched`).
    fn columns(&self) -> Vec<String>;
    fn needs() -> Needs;
    /// Build the plugin from its config (`{}` when none was given).
    fn init(config: Value) -> Result<Self, String>;
    /// One call: column → number, string, bool or null. An error leaves
    /// the plugin's cells empty and becomes an `analyzer.<name>` finding,
    /// filed under the recording file its message begins with
    /// (`transcript.json: not available`); when the check already found
    /// that file broken, its finding names the plugin instead.
    fn analyze(&self, call: &Call) -> Result<Map<String, Value>, String>;
    /// The run's summary from the merged per-column counts.
    fn summarize(&self, merged: &Value) -> Result<Value, String> {
        Ok(merged.clone())
    }
}

/// Hand bytes to the host in a buffer only the plugin frees.
pub fn into_buffer(bytes: Vec<u8>) -> CsBuffer {
    let mut b = bytes.into_boxed_slice();
    let buffer = CsBuffer {
        ptr: b.as_mut_ptr(),
        len: b.len(),
    };
    std::mem::forget(b);
    buffer
}

/// Free a buffer made by [`into_buffer`].
pub fn free_buffer(buffer: CsBuffer) {
    if buffer.ptr.is_null() {
        return;
    }
    // SAFETY: `ptr`/`len` come from `into_buffer`, which leaked a boxed slice
    // of exactly this length; the host gives each buffer back once.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(buffer.ptr, buffer.len)) });
}

/// Borrow host bytes as a slice.
///
/// # Safety
/// `b.ptr` must be valid for `b.len` bytes (or null with `len` 0) for `'a`.
pub unsafe fn bytes<'a>(b: CsBytes) -> &'a [u8] {
    if b.ptr.is_null() || b.len == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(b.ptr, b.len) }
    }
}

/// Borrow a host track.
///
/// # Safety
/// `t.samples` must be valid for `t.len` samples (or `len` 0) for `'a`.
pub unsafe fn track<'a>(t: CsTrack) -> Option<Track<'a>> {
    if t.samples.is_null() || t.len == 0 {
        return None;
    }
    // SAFETY: guaranteed by the caller.
    let samples = unsafe { std::slice::from_raw_parts(t.samples, t.len) };
    Some(Track {
        samples,
        sample_rate: t.sample_rate,
    })
}

/// Run `f`, turning an error or a panic into a message.
pub fn guard<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(format!(
            "panicked: {}",
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        )),
    }
}

/// Write a result or an error message to `out`; the status code for it.
///
/// # Safety
/// `out` must be null or valid for writing one `CsBuffer`.
pub unsafe fn reply(out: *mut CsBuffer, result: Result<Vec<u8>, String>) -> i32 {
    let (code, bytes) = match result {
        Ok(b) => (0, b),
        Err(e) => (1, e.into_bytes()),
    };
    if !out.is_null() {
        // SAFETY: guaranteed by the caller.
        unsafe { out.write(into_buffer(bytes)) };
    }
    code
}

/// Leak a NUL-terminated copy of `s` for the descriptor (lives as long as the library).
pub fn leak_cstr(s: &str) -> *const c_char {
    CString::new(s.replace('\0', ""))
        .unwrap_or_default()
        .into_raw()
}

/// Generate the ABI for a [`Plugin`] type.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        mod __callscope_plugin_abi {
            use super::*;
            use std::ffi::c_void;
            use $crate::{CsBuffer, CsBytes, CsCall, CsPluginV1, Plugin};

            extern "C" fn init(config: CsBytes, error: *mut CsBuffer) -> *mut c_void {
                let result = $crate::guard(|| {
                    // SAFETY: the host passes a valid (or empty) byte range.
                    let text = unsafe { $crate::bytes(config) };
                    let value: $crate::serde_json::Value = if text.is_empty() {
                        $crate::serde_json::Value::Object(Default::default())
                    } else {
                        $crate::serde_json::from_slice(text).map_err(|e| format!("config: {e}"))?
                    };
                    <$plugin as Plugin>::init(value)
                });
                match result {
                    Ok(p) => Box::into_raw(Box::new(p)).cast(),
                    Err(e) => {
                        // SAFETY: the host passes a valid out-pointer (or null).
                        unsafe { $crate::reply(error, Err(e)) };
                        std::ptr::null_mut()
                    }
                }
            }

            extern "C" fn analyze(
                instance: *mut c_void,
                call: *const CsCall,
                out: *mut CsBuffer,
            ) -> i32 {
                let result = $crate::guard(|| {
                    if instance.is_null() || call.is_null() {
                        return Err("null instance or call".to_string());
                    }
                    // SAFETY: `instance` came from `init` and lives until `deinit`;
                    // the plugin is Sync, so shared use from threads is fine.
                    let plugin = unsafe { &*instance.cast::<$plugin>() };
                    // SAFETY: the host keeps `call` and what it points to alive for this call.
                    let raw = unsafe { &*call };
                    // SAFETY: as above.
                    let json = unsafe { $crate::bytes(raw.call_json) };
                    let call = $crate::Call {
                        json: $crate::serde_json::from_slice(json)
                            .map_err(|e| format!("call JSON: {e}"))?,
                        // SAFETY: as above.
                        caller: unsafe { $crate::track(raw.caller) },
                        // SAFETY: as above.
                        bot: unsafe { $crate::track(raw.bot) },
                    };
                    let cells = plugin.analyze(&call)?;
                    $crate::serde_json::to_vec(&cells).map_err(|e| e.to_string())
                });
                // SAFETY: the host passes a valid out-pointer.
                unsafe { $crate::reply(out, result) }
            }

            extern "C" fn columns(instance: *mut c_void, out: *mut CsBuffer) -> i32 {
                let result = $crate::guard(|| {
                    if instance.is_null() {
                        return Err("null instance".to_string());
                    }
                    // SAFETY: as in `analyze`.
                    let plugin = unsafe { &*instance.cast::<$plugin>() };
                    $crate::serde_json::to_vec(&plugin.columns()).map_err(|e| e.to_string())
                });
                // SAFETY: the host passes a valid out-pointer.
                unsafe { $crate::reply(out, result) }
            }

            extern "C" fn summarize(
                instance: *mut c_void,
                merged: CsBytes,
                out: *mut CsBuffer,
            ) -> i32 {
                let result = $crate::guard(|| {
                    if instance.is_null() {
                        return Err("null instance".to_string());
                    }
                    // SAFETY: as in `analyze`.
                    let plugin = unsafe { &*instance.cast::<$plugin>() };
                    // SAFETY: the host passes a valid byte range.
                    let text = unsafe { $crate::bytes(merged) };
                    let value = $crate::serde_json::from_slice(text).map_err(|e| e.to_string())?;
                    $crate::serde_json::to_vec(&plugin.summarize(&value)?)
                        .map_err(|e| e.to_string())
                });
                // SAFETY: the host passes a valid out-pointer.
                unsafe { $crate::reply(out, result) }
            }

            extern "C" fn free_buffer(buffer: CsBuffer) {
                $crate::free_buffer(buffer);
            }

            extern "C" fn deinit(instance: *mut c_void) {
                if !instance.is_null() {
                    // SAFETY: `instance` came from `init`; the host calls deinit once.
                    let _ = std::panic::catch_unwind(|| {
                        drop(unsafe { Box::from_raw(instance.cast::<$plugin>()) })
                    });
                }
            }

            static DESCRIPTOR: std::sync::OnceLock<CsPluginV1> = std::sync::OnceLock::new();

            #[no_mangle]
            pub extern "C" fn callscope_plugin_entry() -> *const CsPluginV1 {
                DESCRIPTOR.get_or_init(|| CsPluginV1 {
                    abi_version: $crate::ABI_VERSION,
                    name: $crate::leak_cstr(<$plugin as Plugin>::NAME),
                    version: $crate::leak_cstr(<$plugin as Plugin>::VERSION),
                    needs: <$plugin as Plugin>::needs().0,
                    init: Some(init),
                    columns: Some(columns),
                    analyze: Some(analyze),
                    summarize: Some(summarize),
                    free_buffer: Some(free_buffer),
                    deinit: Some(deinit),
                })
            }
        }
    };
}
