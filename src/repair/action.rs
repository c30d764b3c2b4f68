//! What a repair does, as values: one change to one file, with its reason,
//! and a recording's whole plan.

use serde::Serialize;

/// One change to one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Rewrite the header to describe the samples present (and drop a
    /// partial frame), at `rate`; no sample is lost.
    RewriteHeader { file: &'static str, rate: u32 },
    /// Write a missing or empty mono track from one channel of the final stereo.
    RestoreMono {
        file: &'static str,
        channel: u16,
        frames: u64,
    },
    /// Write `final_stereo_recording.wav` from the monos, as the recorder does.
    RebuildFinal { file: &'static str },
    /// Write `call_metadata.json` from the audio of a crashed call.
    RecoverMetadata { file: &'static str },
    /// Write `aligned_stereo_recording.wav`: caller L, bot R where it was heard.
    WriteAligned { file: &'static str },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::RewriteHeader { .. } => "rewrite-header",
            Action::RestoreMono { .. } => "restore-mono",
            Action::RebuildFinal { .. } => "rebuild-final",
            Action::RecoverMetadata { .. } => "recover-metadata",
            Action::WriteAligned { .. } => "write-aligned",
        }
    }

    pub fn file(&self) -> &'static str {
        match self {
            Action::RewriteHeader { file, .. }
            | Action::RestoreMono { file, .. }
            | Action::RebuildFinal { file }
            | Action::RecoverMetadata { file }
            | Action::WriteAligned { file } => file,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedAction {
    #[serde(flatten)]
    pub action: Action,
    pub reason: String,
}

/// What repair will do to one recording, and what it will not.
#[derive(Debug, Clone, Serialize)]
pub struct RepairPlan {
    pub recording: String,
    pub actions: Vec<PlannedAction>,
    /// Problems left alone, each with the reason.
    pub not_repaired: Vec<String>,
}
