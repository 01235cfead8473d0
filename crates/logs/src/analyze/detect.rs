//! What an input is (error log, access log in which format, or neither),
//! when it starts, and which byte range of a plain file a time window needs.

use std::fs::File;

use crate::LocalTime;
use crate::access::{self, BUILTINS, Format, FormatError};
use crate::read::{self, HEAD, Opened, Split};
use crate::report::InputKind;
use crate::text::lossless;
use crate::time::{looks_like_error_line, parse_error_time};

use super::Options;

/// Lines sampled for detection.
const SAMPLE: usize = 200;
/// Entries may be out of order by this much around a window edge.
const SLACK: i64 = 120;

/// Every access-log format in play.
pub(crate) struct Formats {
    pub all: Vec<Format>,
    forced: Option<usize>,
}

/// The named formats from the options, the built-ins, and the forced one.
pub(crate) fn formats(opts: &Options<'_>) -> Result<Formats, FormatError> {
    let mut all: Vec<Format> = opts
        .log_formats
        .iter()
        .filter_map(|(n, t)| Format::compile(n, t).ok())
        .collect();
    all.extend(
        BUILTINS
            .iter()
            .filter_map(|(n, t)| Format::compile(n, t).ok()),
    );
    let forced = match &opts.log_format {
        None => None,
        Some(s) => match all.iter().position(|f| f.name == *s) {
            Some(i) => Some(i),
            None => {
                all.push(Format::compile("--log-format", s)?);
                Some(all.len() - 1)
            }
        },
    };
    Ok(Formats { all, forced })
}

/// What an input was detected to be.
#[derive(Debug, Clone)]
pub struct Detected {
    /// Error, access, or unknown.
    pub kind: InputKind,
    /// Index of the access-log format.
    pub(crate) format: Option<usize>,
    /// Its name.
    pub format_name: Option<String>,
    /// Time of the first dated line.
    pub first: Option<LocalTime>,
}

fn sample(head: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = head.split(|&c| c == b'\n').collect();
    if head.len() >= HEAD {
        // The last line may be cut by the head size.
        lines.pop();
    }
    lines.retain(|l| !l.is_empty());
    lines.truncate(SAMPLE);
    lines
}

/// Detect the kind (and format) of an opened input from its head.
pub(crate) fn detect(o: &Opened, f: &Formats) -> Detected {
    let lines = sample(&o.head);
    let mut d = Detected {
        kind: InputKind::Error,
        format: None,
        format_name: None,
        first: None,
    };
    if lines.is_empty() {
        return d;
    }
    let n = lines.len();
    let errs = lines.iter().filter(|l| looks_like_error_line(l)).count();
    if errs * 2 >= n {
        d.first = lines.iter().find_map(|l| parse_error_time(l));
        return d;
    }
    let cands = match f.forced {
        Some(i) => &f.all[i..=i],
        None => &f.all[..],
    };
    let best = access::detect(cands, &lines);
    if let Some((fmt, ok)) = best
        && (ok * 2 >= n || errs == 0)
    {
        let idx = f.all.iter().position(|x| std::ptr::eq(x, fmt));
        d.kind = InputKind::Access;
        d.format = idx;
        d.format_name = Some(fmt.name.clone());
        d.first = lines
            .iter()
            .find_map(|l| fmt.parse(l).ok().and_then(|r| r.time()));
        return d;
    }
    if errs > 0 {
        d.first = lines.iter().find_map(|l| parse_error_time(l));
        return d;
    }
    d.kind = InputKind::Unknown;
    d
}

/// Why an input was not recognised, for a person.
pub(crate) fn unknown_message(o: &Opened) -> String {
    let first = sample(&o.head).first().map(|l| {
        let cut = &l[..l.len().min(120)];
        lossless(cut)
    });
    format!(
        "{}: not an nginx error log, nor an access log in a known format (first line: {:?}); \
         give the access log's format with --log-format",
        o.name,
        first.unwrap_or_default()
    )
}

/// Time of the first dated line at or after `off`.
fn time_at<T: Fn(&[u8]) -> Option<LocalTime>>(
    file: &File,
    off: u64,
    time_of: &T,
) -> Option<LocalTime> {
    let mut buf = vec![0u8; 32 * 1024];
    let n = read::read_full_at(file, &mut buf, off).ok()?;
    let b = &buf[..n];
    let start = if off == 0 {
        0
    } else {
        memchr::memchr(b'\n', b)? + 1
    };
    b[start..].split(|&c| c == b'\n').take(64).find_map(time_of)
}

/// The byte range `[lo, hi)` of a plain file that can hold entries in the
/// window (binary search on line times, with slack for slightly unordered
/// entries). Entries are still filtered one by one.
pub(crate) fn window<T: Fn(&[u8]) -> Option<LocalTime>>(
    file: &File,
    len: u64,
    split: Split,
    opts: &Options<'_>,
    time_of: &T,
) -> (u64, u64) {
    // Narrow `[lo, hi]` around the first offset whose next dated line is at
    // or after `target`; an undated stretch counts as `unknown_is_after`, so
    // nothing that might match is skipped.
    let search = |target: i64, unknown_is_after: bool| -> (u64, u64) {
        let (mut lo, mut hi) = (0u64, len);
        while hi - lo > 64 * 1024 {
            let mid = lo + (hi - lo) / 2;
            let after = match time_at(file, mid, time_of) {
                Some(t) => t.0 >= target,
                None => unknown_is_after,
            };
            if after {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        (lo, hi)
    };
    let lo = match opts.since {
        Some(s) => {
            read::boundary(file, search(s.0 - SLACK, true).0, 0, len, split, len).unwrap_or(len)
        }
        None => 0,
    };
    let hi = match opts.until {
        Some(u) => {
            let (_, h) = search(u.0 + SLACK, false);
            read::boundary(
                file,
                h.saturating_add(64 * 1024).min(len),
                0,
                len,
                split,
                len,
            )
            .unwrap_or(len)
        }
        None => len,
    };
    (lo.min(len), hi.max(lo).min(len))
}
