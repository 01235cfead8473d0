//! Machine-wide resources behind 502s that are not nginx's fault: memory
//! and its pressure (PSI), the system-wide file table (`fs.file-nr`), the
//! ephemeral port range and the accept-queue ceiling (`somaxconn`).

use serde::Serialize;

use crate::error::ParseError;
use crate::reader::Root;
use crate::section::Section;

/// The `/proc/meminfo` fields that matter, in kB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MemInfo {
    /// `MemTotal`.
    pub total_kb: u64,
    /// `MemAvailable` (what can be allocated without swapping).
    pub available_kb: Option<u64>,
    /// `MemFree`.
    pub free_kb: Option<u64>,
    /// `SwapTotal`.
    pub swap_total_kb: Option<u64>,
    /// `SwapFree`.
    pub swap_free_kb: Option<u64>,
}

/// Parse `/proc/meminfo` (`Key:   123 kB` lines). `MemTotal` is required.
pub fn parse_meminfo(text: &str) -> Result<MemInfo, ParseError> {
    let mut m = MemInfo::default();
    let mut have_total = false;
    for (i, line) in text.lines().enumerate() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let slot = match k {
            "MemTotal" => {
                have_total = true;
                None
            }
            "MemAvailable" => Some(&mut m.available_kb),
            "MemFree" => Some(&mut m.free_kb),
            "SwapTotal" => Some(&mut m.swap_total_kb),
            "SwapFree" => Some(&mut m.swap_free_kb),
            _ => continue,
        };
        let n: u64 = v
            .split_ascii_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| ParseError::new(i + 1, "a number of kB", line))?;
        match slot {
            Some(s) => *s = Some(n),
            None => m.total_kb = n,
        }
    }
    if !have_total {
        return Err(ParseError::new(0, "a `MemTotal:` line", ""));
    }
    Ok(m)
}

/// One PSI line: share of wall time some (or all) tasks were stalled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PsiLine {
    /// Percent over the last 10 s.
    pub avg10: f64,
    /// Percent over the last 60 s.
    pub avg60: f64,
    /// Percent over the last 300 s.
    pub avg300: f64,
    /// Total stall time in microseconds since boot.
    pub total_us: u64,
}

/// `/proc/pressure/{memory,cpu,io}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Pressure {
    /// At least one task stalled.
    pub some: Option<PsiLine>,
    /// Every non-idle task stalled at once.
    pub full: Option<PsiLine>,
}

/// Parse a PSI file (`some avg10=0.00 avg60=0.00 avg300=0.00 total=0`).
pub fn parse_psi(text: &str) -> Result<Pressure, ParseError> {
    let mut p = Pressure::default();
    for (i, line) in text.lines().enumerate() {
        let mut words = line.split_ascii_whitespace();
        let Some(kind) = words.next() else { continue };
        let mut l = PsiLine::default();
        for w in words {
            let bad = || ParseError::new(i + 1, "`key=value` numbers", line);
            let (k, v) = w.split_once('=').ok_or_else(bad)?;
            match k {
                "avg10" => l.avg10 = v.parse().map_err(|_| bad())?,
                "avg60" => l.avg60 = v.parse().map_err(|_| bad())?,
                "avg300" => l.avg300 = v.parse().map_err(|_| bad())?,
                "total" => l.total_us = v.parse().map_err(|_| bad())?,
                _ => {}
            }
        }
        match kind {
            "some" => p.some = Some(l),
            "full" => p.full = Some(l),
            _ => return Err(ParseError::new(i + 1, "`some` or `full`", line)),
        }
    }
    if p.some.is_none() && p.full.is_none() {
        return Err(ParseError::new(0, "a `some` line", ""));
    }
    Ok(p)
}

/// `/proc/sys/fs/file-nr`: the system-wide open file table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FileNr {
    /// Allocated file handles.
    pub allocated: u64,
    /// Allocated but unused (always 0 on modern kernels).
    pub unused: u64,
    /// `fs.file-max`: beyond it, `23: Too many open files in system`.
    pub max: u64,
}

/// Parse `/proc/sys/fs/file-nr` (three numbers).
pub fn parse_file_nr(text: &str) -> Result<FileNr, ParseError> {
    let n: Vec<u64> = text
        .split_ascii_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| ParseError::new(1, "three numbers", text))?;
    match n[..] {
        [allocated, unused, max] => Ok(FileNr {
            allocated,
            unused,
            max,
        }),
        _ => Err(ParseError::new(1, "three numbers", text)),
    }
}

/// Parse `/proc/sys/net/ipv4/ip_local_port_range` (`32768\t60999`).
pub fn parse_port_range(text: &str) -> Result<(u16, u16), ParseError> {
    let n: Vec<u16> = text
        .split_ascii_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| ParseError::new(1, "two port numbers", text))?;
    match n[..] {
        [lo, hi] if lo <= hi => Ok((lo, hi)),
        _ => Err(ParseError::new(1, "two port numbers, low first", text)),
    }
}

/// Parse a sysctl file holding one integer.
pub fn parse_sysctl_int(text: &str) -> Result<i64, ParseError> {
    text.trim()
        .parse()
        .map_err(|_| ParseError::new(1, "an integer", text))
}

/// Machine-wide resources.
#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    /// `/proc/meminfo`.
    pub memory: Section<MemInfo>,
    /// `/proc/pressure/memory` (kernel 4.20+, `psi=1`).
    pub memory_pressure: Section<Pressure>,
    /// `/proc/pressure/cpu`.
    pub cpu_pressure: Section<Pressure>,
    /// `/proc/pressure/io`.
    pub io_pressure: Section<Pressure>,
    /// `/proc/sys/fs/file-nr`.
    pub file_nr: Section<FileNr>,
    /// `net.ipv4.ip_local_port_range`: ports for outgoing connections.
    pub port_range: Section<(u16, u16)>,
    /// `net.core.somaxconn`: the ceiling on every `listen()` backlog.
    pub somaxconn: Section<i64>,
    /// `net.ipv4.tcp_tw_reuse` (1 or 2 lets outgoing connects reuse
    /// TIME_WAIT ports).
    pub tcp_tw_reuse: Section<i64>,
}

/// Read every resource fact, each independently.
pub fn collect_resources(root: &Root) -> Resources {
    Resources {
        memory: Section::from_result("/proc/meminfo", root.parse("/proc/meminfo", parse_meminfo)),
        memory_pressure: Section::from_result(
            "/proc/pressure/memory",
            root.parse("/proc/pressure/memory", parse_psi),
        ),
        cpu_pressure: Section::from_result(
            "/proc/pressure/cpu",
            root.parse("/proc/pressure/cpu", parse_psi),
        ),
        io_pressure: Section::from_result(
            "/proc/pressure/io",
            root.parse("/proc/pressure/io", parse_psi),
        ),
        file_nr: Section::from_result(
            "/proc/sys/fs/file-nr",
            root.parse("/proc/sys/fs/file-nr", parse_file_nr),
        ),
        port_range: Section::from_result(
            "/proc/sys/net/ipv4/ip_local_port_range",
            root.parse("/proc/sys/net/ipv4/ip_local_port_range", parse_port_range),
        ),
        somaxconn: Section::from_result(
            "/proc/sys/net/core/somaxconn",
            root.parse("/proc/sys/net/core/somaxconn", parse_sysctl_int),
        ),
        tcp_tw_reuse: Section::from_result(
            "/proc/sys/net/ipv4/tcp_tw_reuse",
            root.parse("/proc/sys/net/ipv4/tcp_tw_reuse", parse_sysctl_int),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_psi_filenr_range() {
        let m = parse_meminfo("MemTotal:        8000 kB\nMemFree:  100 kB\nMemAvailable:    4000 kB\nSwapTotal: 0 kB\n").unwrap();
        assert_eq!(m.total_kb, 8000);
        assert_eq!(m.available_kb, Some(4000));
        assert!(parse_meminfo("MemFree: 1 kB\n").is_err());
        assert_eq!(parse_meminfo("MemTotal: x kB\n").unwrap_err().line, 1);
        let p = parse_psi("some avg10=1.50 avg60=0.20 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n").unwrap();
        assert_eq!(p.some.unwrap().avg10, 1.5);
        assert_eq!(p.some.unwrap().total_us, 12345);
        assert!(p.full.is_some());
        assert!(parse_psi("").is_err());
        assert!(parse_psi("half avg10=1\n").is_err());
        assert!(parse_psi("some avg10\n").is_err());
        assert_eq!(
            parse_file_nr("398\t0\t2466170\n").unwrap(),
            FileNr {
                allocated: 398,
                unused: 0,
                max: 2_466_170
            }
        );
        assert!(parse_file_nr("1 2\n").is_err());
        assert_eq!(parse_port_range("32768\t60999\n").unwrap(), (32768, 60999));
        assert!(parse_port_range("6 5\n").is_err());
        assert_eq!(parse_sysctl_int("4096\n").unwrap(), 4096);
    }
}
