//! Processes from `/proc/PID/{stat,status,cmdline,limits,fd,exe}`: pure
//! parsers over each file's text, and the reader that assembles a
//! [`Process`]. Another user's `fd/`, `exe` and sometimes `limits` need
//! privileges; what could not be read is listed in [`Process::gaps`].

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{ParseError, ReadError};
use crate::reader::Root;
use crate::section::Skip;
use crate::time::{Clock, UnixMillis};

/// The fields of `/proc/PID/stat` this crate uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stat {
    /// Process id.
    pub pid: u32,
    /// `comm`: the executable's name, at most 15 bytes, may contain spaces
    /// and parentheses.
    pub comm: String,
    /// State letter (`R`, `S`, `D`, `Z`, …).
    pub state: char,
    /// Parent process id.
    pub ppid: u32,
    /// Threads.
    pub threads: u64,
    /// Start time in clock ticks since boot.
    pub start_ticks: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

/// Parse `/proc/PID/stat`. `comm` is taken between the first `(` and the
/// last `)`, since it may itself contain both.
pub fn parse_stat(text: &str) -> Result<Stat, ParseError> {
    let line = text.lines().next().unwrap_or("");
    let err = |what| ParseError::new(1, what, line);
    let open = line.find(" (").ok_or_else(|| err("`PID (comm)`"))?;
    let close = line.rfind(')').ok_or_else(|| err("`)` after comm"))?;
    if close < open + 2 {
        return Err(err("`PID (comm)`"));
    }
    let pid = line[..open].parse().map_err(|_| err("a numeric pid"))?;
    let comm = line[open + 2..close].to_string();
    let rest: Vec<&str> = line[close + 1..].split_ascii_whitespace().collect();
    // rest[0] is field 3 (state); field N is rest[N - 3].
    let field = |n: usize, what| -> Result<u64, ParseError> {
        rest.get(n - 3)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| err(what))
    };
    let state = rest
        .first()
        .and_then(|s| s.chars().next())
        .ok_or_else(|| err("a state letter"))?;
    Ok(Stat {
        pid,
        comm,
        state,
        ppid: u32::try_from(field(4, "a numeric ppid")?).map_err(|_| err("a 32-bit ppid"))?,
        threads: field(20, "num_threads (field 20)")?,
        start_ticks: field(22, "starttime (field 22)")?,
        rss_pages: field(24, "rss (field 24)")?,
    })
}

/// The fields of `/proc/PID/status` this crate uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    /// `Name:` (the same as `comm`, with `\n` and `\\` escaped).
    pub name: String,
    /// `PPid:`.
    pub ppid: u32,
    /// `Uid:` real, effective, saved, filesystem.
    pub uid: [u32; 4],
    /// `Gid:` real, effective, saved, filesystem.
    pub gid: [u32; 4],
    /// `Groups:` supplementary group ids.
    pub groups: Vec<u32>,
    /// `VmRSS:` in kB (absent for kernel threads and zombies).
    pub vm_rss_kb: Option<u64>,
}

/// Parse `/proc/PID/status`. Unknown keys are ignored; `Uid:` and `Gid:`
/// must be present.
pub fn parse_status(text: &str) -> Result<Status, ParseError> {
    let mut st = Status::default();
    let (mut have_uid, mut have_gid) = (false, false);
    for (i, line) in text.lines().enumerate() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let nums = || -> Result<Vec<u32>, ParseError> {
            value
                .split_ascii_whitespace()
                .map(|v| v.parse())
                .collect::<Result<_, _>>()
                .map_err(|_| ParseError::new(i + 1, "numeric ids", line))
        };
        match key {
            "Name" => st.name = value.to_string(),
            "PPid" => {
                st.ppid = value
                    .parse()
                    .map_err(|_| ParseError::new(i + 1, "a numeric PPid", line))?;
            }
            "Uid" | "Gid" => {
                let v = nums()?;
                let ids: [u32; 4] = v
                    .try_into()
                    .map_err(|_| ParseError::new(i + 1, "four ids", line))?;
                if key == "Uid" {
                    st.uid = ids;
                    have_uid = true;
                } else {
                    st.gid = ids;
                    have_gid = true;
                }
            }
            "Groups" => st.groups = nums()?,
            "VmRSS" => {
                st.vm_rss_kb = value
                    .split_ascii_whitespace()
                    .next()
                    .and_then(|v| v.parse().ok());
            }
            _ => {}
        }
    }
    if !have_uid || !have_gid {
        return Err(ParseError::new(0, "`Uid:` and `Gid:` lines", ""));
    }
    Ok(st)
}

/// Split `/proc/PID/cmdline` (NUL-separated, invalid UTF-8 replaced). A
/// process that rewrote its title (nginx, php-fpm) may leave one string
/// with spaces and trailing NUL padding; empty trailing pieces are dropped.
pub fn parse_cmdline(bytes: &[u8]) -> Vec<String> {
    let mut args: Vec<String> = bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    while args.last().is_some_and(|a| a.is_empty()) {
        args.pop();
    }
    args
}

/// A resource limit: soft and hard values, `None` meaning unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limit {
    /// The soft limit (what the process is held to).
    pub soft: Option<u64>,
    /// The hard limit (the ceiling the soft limit may be raised to).
    pub hard: Option<u64>,
}

/// One row of `/proc/PID/limits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitRow {
    /// "Max open files", "Max processes", …
    pub name: String,
    /// The values.
    pub limit: Limit,
    /// "files", "bytes", "processes", … (empty when the kernel prints none).
    pub units: String,
}

/// Every row of `/proc/PID/limits`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Rows in file order.
    pub rows: Vec<LimitRow>,
}

impl Limits {
    /// The row named `name` ("Max open files").
    pub fn get(&self, name: &str) -> Option<Limit> {
        self.rows.iter().find(|r| r.name == name).map(|r| r.limit)
    }

    /// `RLIMIT_NOFILE`.
    pub fn nofile(&self) -> Option<Limit> {
        self.get("Max open files")
    }
}

/// Parse `/proc/PID/limits`. Columns are found from the header line
/// (`Limit  Soft Limit  Hard Limit  Units`), so names with spaces work.
pub fn parse_limits(text: &str) -> Result<Limits, ParseError> {
    let mut lines = text.lines().enumerate();
    let (_, header) = lines
        .next()
        .ok_or_else(|| ParseError::new(0, "a header line", ""))?;
    let col = |name| {
        header
            .find(name)
            .ok_or_else(|| ParseError::new(1, "`Limit  Soft Limit  Hard Limit  Units`", header))
    };
    let (soft_at, hard_at, units_at) = (col("Soft Limit")?, col("Hard Limit")?, col("Units")?);
    if !(soft_at < hard_at && hard_at < units_at) {
        return Err(ParseError::new(1, "columns in the kernel's order", header));
    }
    let value = |s: &str, n: usize, line: &str| -> Result<Option<u64>, ParseError> {
        match s {
            "unlimited" => Ok(None),
            _ => s
                .parse()
                .map(Some)
                .map_err(|_| ParseError::new(n, "a number or `unlimited`", line)),
        }
    };
    let mut rows = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cut = |a: usize, b: usize| line.get(a..b.min(line.len())).map(str::trim);
        let (Some(name), Some(soft), Some(hard)) = (
            cut(0, soft_at),
            cut(soft_at, hard_at),
            cut(hard_at, units_at),
        ) else {
            return Err(ParseError::new(
                i + 1,
                "a row aligned with the header",
                line,
            ));
        };
        rows.push(LimitRow {
            name: name.to_string(),
            limit: Limit {
                soft: value(soft, i + 1, line)?,
                hard: value(hard, i + 1, line)?,
            },
            units: line.get(units_at..).unwrap_or("").trim().to_string(),
        });
    }
    Ok(Limits { rows })
}

/// A process as this crate describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// `comm` (15 bytes at most).
    pub comm: String,
    /// State letter.
    pub state: char,
    /// The command line (a rewritten title stays one string).
    pub cmdline: Vec<String>,
    /// The executable (`/proc/PID/exe`), when readable; ` (deleted)` is
    /// kept when the binary was replaced on disk.
    pub exe: Option<PathBuf>,
    /// Real uid.
    pub uid: u32,
    /// Effective uid (what file and socket permissions are checked against).
    pub euid: u32,
    /// Real gid.
    pub gid: u32,
    /// Effective gid.
    pub egid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// The effective user's name, when the password database knows it.
    pub user: Option<String>,
    /// Start time in ticks since boot (exact; comparable between processes).
    pub start_ticks: u64,
    /// Start time on the wall clock (about ±1 s, see [`Clock`]).
    pub start_time: Option<UnixMillis>,
    /// Threads.
    pub threads: u64,
    /// Resident memory in kB.
    pub rss_kb: Option<u64>,
    /// `RLIMIT_NOFILE`, when read (only for processes of interest).
    pub nofile: Option<Limit>,
    /// Open file descriptors, when counted (only for processes of interest).
    pub open_fds: Option<usize>,
    /// What could not be read about this process.
    pub gaps: Vec<Skip>,
}

/// The numeric entries of `/proc` (pids), sorted.
pub fn list_pids(root: &Root) -> Result<Vec<u32>, ReadError> {
    let mut pids: Vec<u32> = root
        .read_dir_names("/proc")?
        .iter()
        .filter_map(|n| n.to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// Read a process's `stat`, `status`, `cmdline` and `exe`. Fails only if
/// `stat` or `status` cannot be read (the process is gone, or `/proc` is
/// not what we think); a missing `exe` is a gap.
pub fn read_process(root: &Root, pid: u32, clock: Option<&Clock>) -> Result<Process, ReadError> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let stat = root.parse(dir.join("stat"), parse_stat)?;
    let status = root.parse(dir.join("status"), parse_status)?;
    let mut gaps = Vec::new();
    let cmdline = match root.read(dir.join("cmdline")) {
        Ok(b) => parse_cmdline(&b),
        Err(e) => {
            gaps.push(Skip::from_read_error("cmdline", &e));
            Vec::new()
        }
    };
    // Kernel threads have no exe; do not report that as a gap.
    let exe = match root.read_link(dir.join("exe")) {
        Ok(p) => Some(p),
        Err(e) => {
            if !cmdline.is_empty() {
                gaps.push(Skip::from_read_error("exe", &e));
            }
            None
        }
    };
    Ok(Process {
        pid,
        ppid: stat.ppid,
        comm: stat.comm,
        state: stat.state,
        cmdline,
        exe,
        uid: status.uid[0],
        euid: status.uid[1],
        gid: status.gid[0],
        egid: status.gid[1],
        groups: status.groups,
        user: None,
        start_ticks: stat.start_ticks,
        start_time: clock.map(|c| c.from_ticks(stat.start_ticks)),
        threads: stat.threads,
        rss_kb: status.vm_rss_kb,
        nofile: None,
        open_fds: None,
        gaps,
    })
}

impl Process {
    /// Read `RLIMIT_NOFILE` and count open descriptors, recording gaps.
    pub fn read_fd_facts(&mut self, root: &Root) {
        let dir = PathBuf::from(format!("/proc/{}", self.pid));
        match root.parse(dir.join("limits"), parse_limits) {
            Ok(l) => self.nofile = l.nofile(),
            Err(e) => self.gaps.push(Skip::from_read_error("limits", &e)),
        }
        match root.read_dir_names(dir.join("fd")) {
            Ok(names) => self.open_fds = Some(names.len()),
            Err(e) => self.gaps.push(Skip::from_read_error("fd", &e)),
        }
    }

    /// The program name: the basename of `argv[0]` (before any title
    /// rewriting's `:`), else `comm`.
    pub fn program(&self) -> &str {
        let a0 = self.cmdline.first().map_or("", String::as_str);
        let a0 = a0.split(' ').next().unwrap_or("");
        let base = a0.rsplit('/').next().unwrap_or("");
        let base = base.strip_suffix(':').unwrap_or(base);
        if base.is_empty() { &self.comm } else { base }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_tricky_comm() {
        let t = "77 (a) b) (c) S 1 77 77 0 -1 4194560 428 0 0 0 0 0 0 0 20 0 3 0 59279 10502144 1679 18446744073709551615 1\n";
        let s = parse_stat(t).unwrap();
        assert_eq!(s.pid, 77);
        assert_eq!(s.comm, "a) b) (c");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 1);
        assert_eq!(s.threads, 3);
        assert_eq!(s.start_ticks, 59279);
        assert_eq!(s.rss_pages, 1679);
        assert!(parse_stat("").is_err());
        assert!(parse_stat("1 (x) S 1").is_err());
        assert!(parse_stat("1 ()").is_err());
        assert!(parse_stat(")( x").is_err());
    }

    #[test]
    fn status_ids_and_groups() {
        let t = "Name:\tnginx\nUmask:\t0022\nState:\tS (sleeping)\nPPid:\t14516\n\
                 Uid:\t33\t33\t33\t33\nGid:\t33\t33\t33\t33\nGroups:\t33 4 \nVmRSS:\t  6716 kB\n";
        let s = parse_status(t).unwrap();
        assert_eq!(s.name, "nginx");
        assert_eq!(s.ppid, 14516);
        assert_eq!(s.uid, [33; 4]);
        assert_eq!(s.groups, vec![33, 4]);
        assert_eq!(s.vm_rss_kb, Some(6716));
        let e = parse_status("Uid:\t1 2\nGid:\t1 1 1 1\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(parse_status("Name:\tx\n").is_err());
        let empty_groups = parse_status("Uid:\t0 0 0 0\nGid:\t0 0 0 0\nGroups:\t \n").unwrap();
        assert!(empty_groups.groups.is_empty());
    }

    #[test]
    fn cmdline_forms() {
        assert_eq!(
            parse_cmdline(b"gunicorn\x00-b\x00127.0.0.1:8000\x00"),
            vec!["gunicorn", "-b", "127.0.0.1:8000"]
        );
        assert_eq!(
            parse_cmdline(b"nginx: worker process\0\0\0\0"),
            vec!["nginx: worker process"]
        );
        assert!(parse_cmdline(b"").is_empty());
    }

    #[test]
    fn limits_table() {
        let t = "Limit                     Soft Limit           Hard Limit           Units     \n\
                 Max cpu time              unlimited            unlimited            seconds   \n\
                 Max open files            1024                 524288               files     \n\
                 Max nice priority         0                    0                    \n";
        let l = parse_limits(t).unwrap();
        assert_eq!(l.rows.len(), 3);
        assert_eq!(
            l.nofile(),
            Some(Limit {
                soft: Some(1024),
                hard: Some(524_288)
            })
        );
        assert_eq!(
            l.get("Max cpu time"),
            Some(Limit {
                soft: None,
                hard: None
            })
        );
        assert_eq!(l.rows[2].units, "");
        assert!(parse_limits("").is_err());
        assert!(parse_limits("nothing here\n").is_err());
        let bad = "Limit                     Soft Limit           Hard Limit           Units     \n\
                   Max open files            lots                 524288               files     \n";
        assert_eq!(parse_limits(bad).unwrap_err().line, 2);
    }
}
