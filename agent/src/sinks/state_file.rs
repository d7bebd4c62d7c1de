//! Errors of the files in which sinks keep their own state (the Security Hub sync state, the
//! alerts' baseline and queue): which file, and whether it was unreadable, written by another
//! agent version, or could not be written. They are reported in the sink's summary.

use std::path::PathBuf;

/// A sink's state file that cannot be used.
#[derive(thiserror::Error)]
pub enum StateFileError {
    /// Reading it failed (the state layer's reason names the file).
    #[error("{reason}")]
    Read { path: PathBuf, reason: String },
    /// Written by a newer agent: left as it is, so that agent can still use it.
    #[error("{}: state version {found} is newer than this agent's {supported} (left unchanged)", path.display())]
    Newer {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// A version this agent does not read.
    #[error("{}: state version {found} is not supported", path.display())]
    Unsupported { path: PathBuf, found: u32 },
    /// Serialising the state failed.
    #[error("{}: cannot encode the state", path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Writing it failed (the state layer's reason names the file).
    #[error("{reason}")]
    Write { path: PathBuf, reason: String },
}
crate::error_text::debug_as_display!(StateFileError);
