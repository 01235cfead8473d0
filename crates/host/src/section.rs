//! Graceful degradation: every family of facts is either collected or
//! skipped with a reason a person can act on ("permission denied: run as
//! root to see other users' sockets"), never a failed collection.

use std::io;

use serde::Serialize;

use crate::error::ReadError;

/// One family of host facts: found, or skipped with the reason.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section<T> {
    /// The facts were collected (possibly with gaps the facts themselves
    /// list).
    Found(T),
    /// The facts could not be collected.
    Skipped(Skip),
}

impl<T> Section<T> {
    /// The facts, if collected.
    pub fn found(&self) -> Option<&T> {
        match self {
            Section::Found(t) => Some(t),
            Section::Skipped(_) => None,
        }
    }

    /// Why the facts are missing, if they are.
    pub fn skipped(&self) -> Option<&Skip> {
        match self {
            Section::Found(_) => None,
            Section::Skipped(s) => Some(s),
        }
    }

    /// Collected or skipped from a read result.
    pub fn from_result(what: &str, r: Result<T, ReadError>) -> Self {
        match r {
            Ok(t) => Section::Found(t),
            Err(e) => Section::Skipped(Skip::from_read_error(what, &e)),
        }
    }
}

/// Why something was not collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// What was not collected ("/proc/net/unix", "nginx -V",
    /// "open fds of pid 812").
    pub what: String,
    /// The class of reason.
    pub why: SkipReason,
    /// The detail: the OS error, the parse error, the command's message.
    pub detail: String,
}

impl Skip {
    /// A skip with its reason and detail.
    pub fn new(what: impl Into<String>, why: SkipReason, detail: impl Into<String>) -> Self {
        Skip {
            what: what.into(),
            why,
            detail: detail.into(),
        }
    }

    /// Classify a read error: missing file, permission, unparseable text.
    pub fn from_read_error(what: &str, e: &ReadError) -> Self {
        let why = match e {
            ReadError::Io { source, .. } => SkipReason::from_io(source),
            ReadError::Parse { .. } => SkipReason::Unparseable,
        };
        Skip::new(what, why, e.to_string())
    }
}

/// The class of reason a fact is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// The file, directory or program does not exist here (no SELinux, no
    /// PSI, no nft binary, no nginx running).
    NotPresent,
    /// The OS refused (EACCES/EPERM): needs root or another user.
    PermissionDenied,
    /// Not a Linux host, or `/proc` is not mounted under the root.
    NotLinux,
    /// Turned off by the caller (external commands not allowed, `nginx -t`
    /// not requested) or not meaningful for a non-`/` root.
    Disabled,
    /// The text was not in the expected format.
    Unparseable,
    /// An external command ran but failed (non-zero status without usable
    /// output).
    CommandFailed,
    /// An external command did not finish within the timeout and was killed.
    TimedOut,
    /// Another I/O error (EIO, ENOMEM, …); `detail` has it.
    IoError,
    /// Nothing to inspect: e.g. no nginx master found, so no staleness.
    NotApplicable,
}

impl SkipReason {
    /// Map an OS error to a reason.
    pub fn from_io(e: &io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound => SkipReason::NotPresent,
            io::ErrorKind::PermissionDenied => SkipReason::PermissionDenied,
            io::ErrorKind::TimedOut => SkipReason::TimedOut,
            _ if e.raw_os_error() == Some(libc::EPERM) => SkipReason::PermissionDenied,
            // ESRCH: the process went away while we looked.
            _ if e.raw_os_error() == Some(libc::ESRCH) => SkipReason::NotPresent,
            _ => SkipReason::IoError,
        }
    }
}

/// Serialize permission bits as an octal string (`"0660"`), as people
/// write them.
pub(crate) fn octal<S: serde::Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{mode:04o}"))
}
