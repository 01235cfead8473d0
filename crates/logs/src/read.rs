//! Reading inputs: plain files (positioned reads, so a file truncated or
//! deleted while being read ends early instead of crashing the process as
//! a memory map would), `.gz` (detected by magic bytes, multi-member),
//! stdin, and in-memory bytes. Blocks handed to the scanners always hold
//! whole entries; a line longer than [`MAX_LINE`] is cut there and the rest
//! skipped, so memory stays bounded whatever the input.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::time::looks_like_error_line;

/// Lines longer than this are cut (nginx cuts error-log lines at 2048 bytes;
/// access-log lines are bounded by the request header buffers).
pub const MAX_LINE: usize = 64 * 1024;
/// How far back a block split looks for an entry start.
const SPLIT_LOOKBACK: usize = 8 * 1024;
/// Bytes read to detect the kind and first time of an input.
pub(crate) const HEAD: usize = 64 * 1024;

/// One input to [`crate::analyze`].
#[derive(Debug, Clone)]
pub enum Input {
    /// A file: plain or gzip (by content), an error or access log (by content).
    Path(PathBuf),
    /// Standard input.
    Stdin,
    /// Bytes already in memory, with a name for messages.
    Bytes {
        /// Shown in reports and messages.
        name: String,
        /// The log text (plain or gzip).
        data: Vec<u8>,
    },
}

impl Input {
    /// `-` means stdin, anything else a path.
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }

    /// The name used in messages.
    pub fn name(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin => "-".into(),
            Input::Bytes { name, .. } => name.clone(),
        }
    }
}

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// open/read failed.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The input.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// A directory was given.
    #[error("{path}: is a directory (give the log files inside it)")]
    Directory {
        /// The input.
        path: String,
    },
}

/// How a source is read.
pub(crate) enum Src {
    /// A plain file, read with positioned reads up to `len` (its size when opened).
    File { file: File, len: u64 },
    /// A stream; `head` holds its first bytes, already read.
    Stream(Box<dyn Read + Send>),
}

/// An opened input with its first bytes.
pub(crate) struct Opened {
    pub name: String,
    pub gzip: bool,
    pub src: Src,
    /// The first bytes (decompressed): for detection; streams replay them.
    pub head: Vec<u8>,
    /// Rotation number from the name (`error.log.2.gz` → 2; 0 otherwise).
    pub rotation: u32,
    /// A read error met while reading the head (e.g. truncated gzip).
    pub error: Option<io::Error>,
}

fn rotation_of(name: &str) -> u32 {
    let base = name.strip_suffix(".gz").unwrap_or(name);
    base.rsplit('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Up to `n` bytes; on a read error, what was read before it and the error.
fn read_head(r: &mut dyn Read, n: usize) -> (Vec<u8>, Option<io::Error>) {
    let mut head = Vec::with_capacity(n.min(1 << 20));
    match r.take(n as u64).read_to_end(&mut head) {
        Ok(_) => (head, None),
        Err(e) => (head, Some(e)),
    }
}

/// Open an input and read its head.
pub(crate) fn open(input: &Input) -> Result<Opened, InputError> {
    let name = input.name();
    match input {
        Input::Path(p) => open_path(p, &name),
        Input::Stdin => stream(name, Box::new(io::stdin())),
        Input::Bytes { data, .. } => stream(name, Box::new(io::Cursor::new(data.clone()))),
    }
}

/// Wrap a stream (its head is read here and replayed), switching to gzip
/// when its first bytes say so.
fn stream(name: String, mut s: Box<dyn Read + Send>) -> Result<Opened, InputError> {
    let io_err = |source| InputError::Io {
        path: name.clone(),
        source,
    };
    let rotation = rotation_of(&name);
    let (head, err) = read_head(&mut s, HEAD);
    if let Some(e) = err {
        if head.is_empty() {
            return Err(io_err(e));
        }
        return Ok(Opened {
            name,
            gzip: false,
            src: Src::Stream(Box::new(io::Cursor::new(head.clone()))),
            head,
            rotation,
            error: Some(e),
        });
    }
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let replay: Box<dyn Read + Send> = Box::new(io::Cursor::new(head.clone()).chain(s));
    if !gzip {
        return Ok(Opened {
            name,
            gzip,
            src: Src::Stream(replay),
            head,
            rotation,
            error: None,
        });
    }
    let mut gz: Box<dyn Read + Send> = Box::new(MultiGzDecoder::new(replay));
    // The decompressed head is replayed in front of the rest of the stream;
    // a gzip error inside the head ends the input there.
    let (dhead, err) = read_head(&mut gz, HEAD);
    let rest: Box<dyn Read + Send> = match err {
        None => Box::new(io::Cursor::new(dhead.clone()).chain(gz)),
        Some(_) => Box::new(io::Cursor::new(dhead.clone())),
    };
    Ok(Opened {
        name,
        gzip,
        src: Src::Stream(rest),
        head: dhead,
        rotation,
        error: err,
    })
}

fn open_path(p: &Path, name: &str) -> Result<Opened, InputError> {
    let io_err = |source| InputError::Io {
        path: name.to_owned(),
        source,
    };
    let file = File::open(p).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(InputError::Directory { path: name.into() });
    }
    let mut magic = [0u8; 2];
    let n = if meta.is_file() {
        file.read_at(&mut magic, 0).map_err(io_err)?
    } else {
        0
    };
    if n == 2 && magic == [0x1f, 0x8b] || !meta.is_file() {
        // gzip, or a pipe/FIFO/character device: stream it.
        return stream(name.into(), Box::new(file));
    }
    let len = meta.len();
    let mut head = vec![0u8; usize::try_from(len.min(HEAD as u64)).unwrap_or(HEAD)];
    let n = read_full_at(&file, &mut head, 0).map_err(io_err)?;
    head.truncate(n);
    Ok(Opened {
        name: name.into(),
        gzip: false,
        src: Src::File { file, len },
        head,
        rotation: rotation_of(name),
        error: None,
    })
}

/// Positioned read that fills `buf` unless end of file comes first.
pub(crate) fn read_full_at(f: &File, buf: &mut [u8], mut off: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], off) {
            Ok(0) => break,
            Ok(n) => {
                done += n;
                off += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// A `Read` over `[pos, end)` of a file, with positioned reads.
pub(crate) struct RangeReader<'f> {
    pub file: &'f File,
    pub pos: u64,
    pub end: u64,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = usize::try_from((self.end - self.pos).min(buf.len() as u64)).unwrap_or(0);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Where a block may be split: before an error-log entry or any line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Split {
    /// At an error-log header line when one is near, else at a line.
    ErrorEntry,
    /// At any line start.
    Line,
}

/// The start of the last complete entry boundary in `b` (never 0 unless
/// there is no newline at all).
pub(crate) fn split_point(b: &[u8], split: Split) -> Option<usize> {
    let last_line = memchr::memrchr(b'\n', b)? + 1;
    if split == Split::Line {
        return Some(last_line);
    }
    // Walk back over line starts looking for a header line.
    let floor = last_line.saturating_sub(SPLIT_LOOKBACK);
    let mut start = last_line;
    loop {
        if start == b.len() || looks_like_error_line(&b[start..]) {
            if start > 0 {
                return Some(start);
            }
            break;
        }
        if start <= floor || start == 0 {
            break;
        }
        start = memchr::memrchr(b'\n', &b[..start - 1]).map_or(0, |i| i + 1);
    }
    Some(last_line)
}

/// Blocks of whole entries from a `Read`, in a caller-provided buffer
/// (reused across calls, so it is allocated and zeroed once per thread).
pub(crate) struct Blocks<'b, R: Read> {
    src: R,
    buf: &'b mut Vec<u8>,
    /// `buf[start..filled]` is read but not yet returned.
    start: usize,
    filled: usize,
    target: usize,
    split: Split,
    eof: bool,
    /// Inside a line longer than `MAX_LINE`: drop bytes up to its newline.
    skipping: bool,
    /// Bytes read from the source.
    pub bytes: u64,
    /// A read error that ended the input early.
    pub error: Option<io::Error>,
}

impl<'b, R: Read> Blocks<'b, R> {
    pub fn new(src: R, buf: &'b mut Vec<u8>, target: usize, split: Split) -> Self {
        let target = target.max(MAX_LINE * 2);
        if buf.len() < target {
            buf.resize(target, 0);
        }
        Blocks {
            src,
            buf,
            start: 0,
            filled: 0,
            target,
            split,
            eof: false,
            skipping: false,
            bytes: 0,
            error: None,
        }
    }

    /// The next block of whole entries, or `None` at the end.
    pub fn next_block(&mut self) -> Option<&[u8]> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        while !self.eof && self.filled < self.target {
            let from = self.filled;
            match self.src.read(&mut self.buf[from..self.target]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.bytes += n as u64;
                    self.filled += n;
                    if self.skipping {
                        self.skip_to_newline(from);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    self.eof = true;
                }
            }
        }
        if self.filled == 0 {
            return None;
        }
        let end = if self.eof {
            self.filled
        } else if let Some(p) = split_point(&self.buf[..self.filled], self.split).filter(|&p| p > 0)
        {
            p
        } else {
            // One line longer than the whole block: keep its first MAX_LINE
            // bytes as a line of its own and skip the rest of it.
            self.buf[MAX_LINE] = b'\n';
            self.skipping = true;
            self.start = self.filled;
            return Some(&self.buf[..=MAX_LINE]);
        };
        self.start = end;
        Some(&self.buf[..end])
    }

    /// Drop freshly read bytes (from `from`) up to and including the end of
    /// the long line being skipped.
    fn skip_to_newline(&mut self, from: usize) {
        match memchr::memchr(b'\n', &self.buf[from..self.filled]) {
            Some(i) => {
                self.buf.copy_within(from + i + 1..self.filled, from);
                self.filled -= i + 1;
                self.skipping = false;
            }
            None => self.filled = from,
        }
    }
}

/// The first entry boundary at or after `off` in a plain file (the same
/// answer for every caller, so adjacent ranges tile the file exactly; it
/// never decreases as `off` grows). `None` when no line starts before
/// `limit`: a range with no line start of its own is empty, so a huge line
/// is scanned only by the range it starts in.
pub(crate) fn boundary(
    file: &File,
    off: u64,
    lo: u64,
    hi: u64,
    split: Split,
    limit: u64,
) -> Option<u64> {
    if off <= lo {
        return Some(lo);
    }
    if off >= hi {
        return Some(hi);
    }
    let mut buf = vec![0u8; SPLIT_LOOKBACK * 2];
    let mut pos = off - 1;
    // First line start at or after `off`.
    let first = loop {
        let n = match read_full_at(file, &mut buf, pos) {
            Ok(n) => n,
            Err(_) => return Some(hi),
        };
        if n == 0 {
            return Some(hi);
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            break pos + i as u64 + 1;
        }
        pos += n as u64;
        if pos >= limit.min(hi) {
            return (limit >= hi).then_some(hi);
        }
        if buf.len() < 1 << 20 {
            buf.resize(1 << 20, 0);
        }
    };
    if first >= limit && limit < hi {
        return None;
    }
    if split == Split::Line || first >= hi {
        return Some(first.min(hi));
    }
    // Prefer a header line a little further on, so continuation lines stay
    // with their entry.
    let n = read_full_at(file, &mut buf, first).unwrap_or(0);
    let b = &buf[..n];
    let mut i = 0;
    while i < b.len() && i < SPLIT_LOOKBACK {
        if looks_like_error_line(&b[i..]) {
            return Some((first + i as u64).min(hi));
        }
        match memchr::memchr(b'\n', &b[i..]) {
            Some(j) => i += j + 1,
            None => break,
        }
    }
    Some(first.min(hi))
}

/// The time of the newest dated entry of a plain log file, read from its
/// last 64 KiB: an error-log timestamp at the start of a line, or a
/// `$time_local` in brackets. Times after `not_after` (a forged line, a
/// clock jump) are passed over. `None` for gzip files, empty files or
/// tails with no recognisable time.
pub fn last_entry_time(path: &Path, not_after: crate::LocalTime) -> Option<crate::LocalTime> {
    let f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let start = len.saturating_sub(HEAD as u64);
    let mut buf = vec![0u8; (len - start) as usize];
    let n = read_full_at(&f, &mut buf, start).ok()?;
    buf.truncate(n);
    if buf.starts_with(&[0x1f, 0x8b]) && start == 0 {
        return None;
    }
    buf.split(|&b| b == b'\n')
        .rev()
        .filter_map(|line| {
            if looks_like_error_line(line) {
                return crate::time::parse_error_time(line);
            }
            let open = memchr::memchr(b'[', line)?;
            crate::time::parse_time_local(&line[open + 1..]).map(|(t, _)| t)
        })
        .find(|t| *t <= not_after)
}
