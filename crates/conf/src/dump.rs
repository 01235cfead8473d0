//! `nginx -T` output as a config source. nginx prints each file it read as
//! `# configuration file PATH:` followed by the file's text and a blank line
//! (`ngx_conf_add_dump` / `ngx_write_stdout` in nginx.c); the first file is
//! the main one. Includes then resolve against the dumped paths.

use std::io;
use std::path::{Path, PathBuf};

use crate::load::{Source, glob_options, sort_like_glob3};

const HEADER: &[u8] = b"# configuration file ";

/// The files of an `nginx -T` dump.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    /// (path, text) in dump order; the first is the main file.
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

/// Whether `text` looks like `nginx -T` output (a header line near the start).
pub fn looks_like_dump(text: &[u8]) -> bool {
    text.split(|&b| b == b'\n')
        .take(8)
        .any(|l| l.starts_with(HEADER) && l.trim_ascii_end().ends_with(b":"))
}

impl Dump {
    /// Split a dump into its files. Lines before the first header (nginx's
    /// "syntax is ok" messages when stderr was captured too) are ignored.
    pub fn parse(text: &[u8]) -> Option<Dump> {
        use std::os::unix::ffi::OsStrExt;
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut cur: Option<(PathBuf, Vec<u8>)> = None;
        for line in text.split_inclusive(|&b| b == b'\n') {
            let bare = line.trim_ascii_end();
            if bare.starts_with(HEADER) && bare.ends_with(b":") {
                if let Some(f) = cur.take() {
                    files.push(finish(f));
                }
                let path = &bare[HEADER.len()..bare.len() - 1];
                cur = Some((PathBuf::from(std::ffi::OsStr::from_bytes(path)), Vec::new()));
            } else if let Some((_, body)) = cur.as_mut() {
                body.extend_from_slice(line);
            }
        }
        if let Some(f) = cur.take() {
            files.push(finish(f));
        }
        (!files.is_empty()).then_some(Dump { files })
    }

    /// The main file's path.
    pub fn main(&self) -> &Path {
        &self.files[0].0
    }
}

/// Drop the blank line nginx adds after each file.
fn finish((path, mut body): (PathBuf, Vec<u8>)) -> (PathBuf, Vec<u8>) {
    if body.ends_with(b"\n\n") {
        body.pop();
    } else if body.ends_with(b"\r\n\r\n") {
        body.truncate(body.len() - 2);
    }
    (path, body)
}

impl Source for Dump {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not in the nginx -T dump"))
    }

    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
        let pat = glob::Pattern::new(&pattern.to_string_lossy())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let mut out: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|(p, _)| pat.matches_path_with(p, glob_options()))
            .map(|(p, _)| p.clone())
            .collect();
        sort_like_glob3(&mut out);
        out.dedup();
        Ok(out)
    }
}
