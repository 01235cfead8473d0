//! The thin I/O layer: every file the crate reads goes through a [`Root`],
//! so tests and offline analysis can point the whole crate at a fixture
//! tree (`testdata/root/proc/...`) instead of the live `/`. Nothing here
//! writes, creates or locks anything.

use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use crate::error::{ParseError, ReadError};

/// The directory that plays the part of `/` for every read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    base: PathBuf,
}

impl Default for Root {
    fn default() -> Self {
        Root::system()
    }
}

impl Root {
    /// The live system (`/`).
    pub fn system() -> Self {
        Root {
            base: PathBuf::from("/"),
        }
    }

    /// A root at `base` (a fixture tree, a mounted image, `/proc/PID/root`).
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Root { base: base.into() }
    }

    /// The base directory.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Whether this is the live system, where external commands and
    /// `/dev/kmsg` describe the same host as the files.
    pub fn is_system(&self) -> bool {
        self.base == Path::new("/")
    }

    /// The real path of `abs` (an absolute path as the host sees it) under
    /// this root. `..` components cannot climb above the root.
    pub fn path(&self, abs: impl AsRef<Path>) -> PathBuf {
        let mut out = self.base.clone();
        let mut depth = 0usize;
        for c in abs.as_ref().components() {
            match c {
                Component::Normal(n) => {
                    out.push(n);
                    depth += 1;
                }
                Component::ParentDir if depth > 0 => {
                    out.pop();
                    depth -= 1;
                }
                _ => {}
            }
        }
        out
    }

    /// The whole file.
    pub fn read(&self, abs: impl AsRef<Path>) -> Result<Vec<u8>, ReadError> {
        let p = self.path(abs);
        fs::read(&p).map_err(|e| ReadError::io(p, e))
    }

    /// The whole file as text (invalid UTF-8 replaced).
    pub fn read_string(&self, abs: impl AsRef<Path>) -> Result<String, ReadError> {
        self.read(abs).map(|b| match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Read a file and parse it, attaching the path to a parse error.
    pub fn parse<T>(
        &self,
        abs: impl AsRef<Path>,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<T, ReadError> {
        let abs = abs.as_ref();
        let text = self.read_string(abs)?;
        parse(&text).map_err(|e| ReadError::parse(self.path(abs), e))
    }

    /// At most the last `max` bytes of a file, starting at a line boundary
    /// when the file was cut (for logs that can be gigabytes).
    pub fn read_tail(&self, abs: impl AsRef<Path>, max: u64) -> Result<Vec<u8>, ReadError> {
        let p = self.path(abs);
        let io = |e| ReadError::io(p.clone(), e);
        let mut f = File::open(&p).map_err(io)?;
        let len = f.metadata().map_err(io)?.len();
        let mut buf = Vec::new();
        if len > max {
            f.seek(SeekFrom::Start(len - max)).map_err(io)?;
            f.take(max).read_to_end(&mut buf).map_err(io)?;
            if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                buf.drain(..=nl);
            }
        } else {
            f.take(max).read_to_end(&mut buf).map_err(io)?;
        }
        Ok(buf)
    }

    /// The target of a symbolic link (as stored, not resolved).
    pub fn read_link(&self, abs: impl AsRef<Path>) -> Result<PathBuf, ReadError> {
        let p = self.path(abs);
        fs::read_link(&p).map_err(|e| ReadError::io(p, e))
    }

    /// The names in a directory (unsorted).
    pub fn read_dir_names(&self, abs: impl AsRef<Path>) -> Result<Vec<OsString>, ReadError> {
        let p = self.path(abs);
        let io = |e| ReadError::io(p.clone(), e);
        let mut names = Vec::new();
        for entry in fs::read_dir(&p).map_err(io)? {
            names.push(entry.map_err(io)?.file_name());
        }
        Ok(names)
    }

    /// `lstat`: metadata of the path itself, symlinks not followed.
    pub fn symlink_metadata(&self, abs: impl AsRef<Path>) -> Result<Metadata, ReadError> {
        let p = self.path(abs);
        fs::symlink_metadata(&p).map_err(|e| ReadError::io(p, e))
    }

    /// `stat`: metadata with symlinks followed.
    pub fn metadata(&self, abs: impl AsRef<Path>) -> Result<Metadata, ReadError> {
        let p = self.path(abs);
        fs::metadata(&p).map_err(|e| ReadError::io(p, e))
    }

    /// Expand a glob pattern (an absolute host path) under the root, sorted
    /// like glob(3); returns host paths (root stripped). Unreadable entries
    /// are left out.
    pub fn glob(&self, pattern: &str) -> Vec<PathBuf> {
        let Some(base) = self.base.to_str() else {
            return Vec::new();
        };
        let full = format!(
            "{}/{}",
            glob::Pattern::escape(base.trim_end_matches('/')),
            pattern.trim_start_matches('/')
        );
        let opts = glob::MatchOptions {
            require_literal_leading_dot: true,
            ..glob::MatchOptions::new()
        };
        let Ok(paths) = glob::glob_with(&full, opts) else {
            return Vec::new();
        };
        let mut out: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter_map(|p| {
                p.strip_prefix(&self.base)
                    .ok()
                    .map(|r| Path::new("/").join(r))
            })
            .collect();
        out.sort();
        out
    }
}
