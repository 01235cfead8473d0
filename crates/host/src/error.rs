//! Errors: what a parser expected at which line, and what the reader could
//! not read (with the path). Parsers know only their text; the reader adds
//! the path when it wraps a [`ParseError`] into a [`ReadError`].

use std::io;
use std::path::PathBuf;

use serde::Serialize;

/// A parser met text it does not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("line {line}: expected {expected}, found {found:?}")]
pub struct ParseError {
    /// 1-based line of the input (0 when the input as a whole is wrong,
    /// e.g. empty).
    pub line: usize,
    /// What the parser wanted there ("a hex inode", "`key = value`").
    pub expected: &'static str,
    /// What it found instead, cut to 80 characters.
    pub found: String,
}

impl ParseError {
    /// A parse error at `line` (1-based) with the offending text cut short.
    pub fn new(line: usize, expected: &'static str, found: &str) -> Self {
        let found = match found.char_indices().nth(80) {
            Some((cut, _)) => format!("{}…", &found[..cut]),
            None => found.to_string(),
        };
        ParseError {
            line,
            expected,
            found,
        }
    }
}

/// A file or command under the inspected root could not be read or
/// understood.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// An I/O error on a path (missing, permission denied, …).
    #[error("{}: {source}", path.display())]
    Io {
        /// The path as opened (root included).
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file was read but its text is not what the kernel or the program
    /// writes.
    #[error("{}:{}: expected {}, found {:?}", path.display(), error.line, error.expected, error.found)]
    Parse {
        /// The path as opened (root included).
        path: PathBuf,
        /// What the parser expected.
        #[source]
        error: ParseError,
    },
}

impl ReadError {
    /// Wrap an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        ReadError::Io {
            path: path.into(),
            source,
        }
    }

    /// Wrap a parse error with its path.
    pub fn parse(path: impl Into<PathBuf>, error: ParseError) -> Self {
        ReadError::Parse {
            path: path.into(),
            error,
        }
    }

    /// The path the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ReadError::Io { path, .. } | ReadError::Parse { path, .. } => path,
        }
    }
}
