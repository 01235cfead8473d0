//! The kernel log as records, from `/dev/kmsg` (`prio,seq,usec,flags;msg`
//! with ` KEY=value` continuation lines) or from `journalctl -k -o
//! short-unix` (`1714566896.123456 host kernel: msg`). OOM kills, SELinux
//! AVC and AppArmor denials are all read from these records.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;

use serde::Serialize;

use crate::error::ReadError;
use crate::reader::Root;
use crate::time::{Clock, UnixMillis, frac_millis};

/// When a kernel record was logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelTime {
    /// Microseconds since boot (`/dev/kmsg`).
    SinceBoot(u64),
    /// Wall clock (journal).
    Wall(UnixMillis),
}

impl KernelTime {
    /// The wall-clock time, converting boot-relative times with `clock`.
    pub fn wall(self, clock: Option<&Clock>) -> Option<UnixMillis> {
        match self {
            KernelTime::Wall(t) => Some(t),
            KernelTime::SinceBoot(us) => clock.map(|c| c.from_boot_micros(us)),
        }
    }
}

/// One kernel log message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelRecord {
    /// Syslog priority (0 emerg … 7 debug), when known.
    pub priority: Option<u8>,
    /// When.
    pub time: KernelTime,
    /// The message text.
    pub text: String,
}

/// Parse `/dev/kmsg` text (records separated by newlines; continuation
/// lines starting with a space are skipped; malformed lines too).
pub fn parse_kmsg(text: &str) -> Vec<KernelRecord> {
    text.lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| {
            let (head, msg) = l.split_once(';')?;
            let mut f = head.split(',');
            let prio: u32 = f.next()?.parse().ok()?;
            let _seq: u64 = f.next()?.parse().ok()?;
            let usec: u64 = f.next()?.parse().ok()?;
            Some(KernelRecord {
                priority: Some((prio & 7) as u8),
                time: KernelTime::SinceBoot(usec),
                text: unescape_kmsg(msg),
            })
        })
        .collect()
}

/// `/dev/kmsg` escapes non-printable bytes as `\xHH`; undo it for
/// matching (the result is shown neutralised anyway).
fn unescape_kmsg(s: &str) -> String {
    if !s.contains("\\x") {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'x')
            && let Some(v) = b
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse `journalctl -k -o short-unix` output.
pub fn parse_journal_short_unix(text: &str) -> Vec<KernelRecord> {
    text.lines()
        .filter_map(|l| {
            let (ts, rest) = l.split_once(' ')?;
            let (secs, frac) = ts.split_once('.').unwrap_or((ts, "0"));
            let secs: i64 = secs.parse().ok()?;
            let ms = frac_millis(frac)?;
            let (_, msg) = rest.split_once(": ")?;
            Some(KernelRecord {
                priority: None,
                time: KernelTime::Wall(UnixMillis::from_secs_millis(secs, ms)?),
                text: msg.to_string(),
            })
        })
        .collect()
}

/// Read every record currently in the kernel's ring buffer from
/// `/dev/kmsg` under `root` (non-blocking; a regular file in a fixture
/// tree works too). At most `max` records. Needs root or CAP_SYSLOG when
/// `kernel.dmesg_restrict=1`.
pub fn read_kmsg(root: &Root, max: usize) -> Result<String, ReadError> {
    let path = root.path("/dev/kmsg");
    let mut f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .map_err(|e| ReadError::io(&path, e))?;
    let mut out = String::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut records = 0;
    while records < max {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.push_str(&String::from_utf8_lossy(&buf[..n]));
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                records += 1;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            // EPIPE: the record we were at was overwritten; carry on.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::io(&path, e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmsg_records() {
        let t = "6,1,0,-;Linux version 6.1\n SUBSYSTEM=x\n3,812,5000000,-;Out of memory: Killed process 1 (a\\x20b)\nnot a record\n";
        let r = parse_kmsg(t);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].priority, Some(3));
        assert_eq!(r[1].time, KernelTime::SinceBoot(5_000_000));
        assert_eq!(r[1].text, "Out of memory: Killed process 1 (a b)");
        let c = Clock {
            boot_time: 100,
            ticks_per_sec: 100,
        };
        assert_eq!(r[1].time.wall(Some(&c)), Some(UnixMillis(105_000)));
    }

    #[test]
    fn journal_records() {
        let t = "1763737200.123456 web1 kernel: Out of memory: Killed process 9 (x)\n-- No entries --\n1763737201 web1 kernel: y\n";
        let r = parse_journal_short_unix(t);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].time, KernelTime::Wall(UnixMillis(1_763_737_200_123)));
        assert_eq!(r[1].time, KernelTime::Wall(UnixMillis(1_763_737_201_000)));
        assert_eq!(r[0].text, "Out of memory: Killed process 9 (x)");
        // Found by fuzzing: a timestamp whose milliseconds overflow i64.
        assert!(parse_journal_short_unix("17952275754030002.1 h kernel: x\n").is_empty());
    }

    #[test]
    fn live_kmsg_is_readable_as_root() {
        let r = read_kmsg(&Root::system(), 10);
        if let Ok(text) = r {
            assert!(!parse_kmsg(&text).is_empty());
        }
    }
}
