//! "Edited but never reloaded" and "reload failed, old config still
//! running": config files changed after the master's last (re)load, and
//! whether `nginx -t` passes now.
//!
//! The last reload is estimated by the newest worker's start: nginx forks
//! new workers on every successful reload (and on a worker crash, which
//! only moves the estimate later). A file counts as changed at the later
//! of its mtime and ctime (ctime catches `cp -p` and `rsync -a` deploys
//! that keep old mtimes), for both the link and its target when it is a
//! symlink (a site enabled after the reload is a new link).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::ParseError;
use crate::reader::Root;
use crate::section::{Section, Skip};
use crate::time::UnixMillis;

/// Start times are derived from whole-second `btime` plus ticks, so a
/// change within this margin after a reload is not called stale.
pub const TOLERANCE_MS: i64 = 1500;

/// When a config file last changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// The file.
    pub path: PathBuf,
    /// The later of mtime and ctime (of the link and of its target).
    pub changed: UnixMillis,
}

/// One nginx instance's config against its running state.
#[derive(Debug, Clone, Serialize)]
pub struct Staleness {
    /// The master's pid.
    pub master_pid: u32,
    /// When the master started.
    pub master_start: Option<UnixMillis>,
    /// The newest worker's start (the last successful reload, roughly).
    pub last_reload_estimate: Option<UnixMillis>,
    /// Files checked.
    pub checked: usize,
    /// Files changed after the last reload estimate (beyond the
    /// tolerance): the running nginx does not run them as on disk.
    pub changed_after_reload: Vec<FileChange>,
    /// Files that could not be stat'ed (deleted since, or unreadable).
    pub unreadable: Vec<Skip>,
    /// `nginx -t` now, if it was run.
    pub nginx_test: Section<NginxTest>,
}

/// Files changed after `reference` by more than `tolerance_ms`, newest
/// first.
pub fn changed_after(
    files: &[FileChange],
    reference: UnixMillis,
    tolerance_ms: i64,
) -> Vec<FileChange> {
    let mut out: Vec<FileChange> = files
        .iter()
        .filter(|f| f.changed.0 > reference.0.saturating_add(tolerance_ms))
        .cloned()
        .collect();
    out.sort_by_key(|f| std::cmp::Reverse(f.changed));
    out
}

fn changed_of(m: &std::fs::Metadata) -> UnixMillis {
    let ms = |s: i64, ns: i64| s.saturating_mul(1000).saturating_add(ns / 1_000_000);
    UnixMillis(ms(m.mtime(), m.mtime_nsec()).max(ms(m.ctime(), m.ctime_nsec())))
}

/// When `path` last changed (see the module notes), under `root`.
pub fn file_change(root: &Root, path: &Path) -> Result<FileChange, Skip> {
    let what = path.display().to_string();
    let link = root
        .symlink_metadata(path)
        .map_err(|e| Skip::from_read_error(&what, &e))?;
    let mut changed = changed_of(&link);
    if link.file_type().is_symlink() {
        let target = root
            .metadata(path)
            .map_err(|e| Skip::from_read_error(&what, &e))?;
        changed = changed.max(changed_of(&target));
    }
    Ok(FileChange {
        path: path.to_path_buf(),
        changed,
    })
}

/// One message of `nginx -t`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NginxMessage {
    /// `emerg`, `alert`, `crit`, `warn`, … (`None` for the summary lines).
    pub level: Option<String>,
    /// The message without its level and location.
    pub text: String,
    /// The file named by ` in FILE:LINE`.
    pub file: Option<PathBuf>,
    /// Its line.
    pub line: Option<usize>,
}

/// What `nginx -t` said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NginxTest {
    /// Whether it printed `test is successful`.
    pub ok: bool,
    /// Exit status.
    pub status: Option<i32>,
    /// Every line, parsed.
    pub messages: Vec<NginxMessage>,
}

impl NginxTest {
    /// The first `emerg` (the error that makes a reload fail).
    pub fn first_error(&self) -> Option<&NginxMessage> {
        self.messages
            .iter()
            .find(|m| matches!(m.level.as_deref(), Some("emerg" | "alert" | "crit")))
    }
}

/// Parse the text `nginx -t` prints on stderr.
pub fn parse_nginx_t(text: &str, status: Option<i32>) -> Result<NginxTest, ParseError> {
    let mut messages = Vec::new();
    let mut ok = false;
    let mut summary = false;
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        let body = l.strip_prefix("nginx: ").unwrap_or(l);
        let (level, rest) = match body.strip_prefix('[').and_then(|r| r.split_once("] ")) {
            Some((lv, r)) => (Some(lv.to_string()), r),
            None => (None, body),
        };
        if rest.ends_with("test is successful") {
            ok = true;
            summary = true;
        } else if rest.ends_with("test failed") {
            summary = true;
        }
        let (text, file, line_no) = match rest.rsplit_once(" in ") {
            Some((t, loc)) => match loc.rsplit_once(':') {
                Some((f, n)) if n.parse::<usize>().is_ok() && f.starts_with('/') => {
                    (t.to_string(), Some(PathBuf::from(f)), n.parse().ok())
                }
                _ => (rest.to_string(), None, None),
            },
            None => (rest.to_string(), None, None),
        };
        messages.push(NginxMessage {
            level,
            text,
            file,
            line: line_no,
        });
    }
    if !summary && messages.is_empty() {
        return Err(ParseError::new(0, "`nginx -t` output", text));
    }
    Ok(NginxTest {
        ok: ok && status.is_none_or(|s| s == 0),
        status,
        messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_t_outputs() {
        let good = "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful\n";
        let t = parse_nginx_t(good, Some(0)).unwrap();
        assert!(t.ok);
        assert!(t.first_error().is_none());
        let bad = "nginx: [emerg] unknown directive \"proxy_pas\" in /etc/nginx/sites-enabled/app.conf:14\nnginx: configuration file /etc/nginx/nginx.conf test failed\n";
        let t = parse_nginx_t(bad, Some(1)).unwrap();
        assert!(!t.ok);
        let e = t.first_error().unwrap();
        assert_eq!(e.text, "unknown directive \"proxy_pas\"");
        assert_eq!(
            e.file.as_deref(),
            Some(Path::new("/etc/nginx/sites-enabled/app.conf"))
        );
        assert_eq!(e.line, Some(14));
        assert!(parse_nginx_t("", Some(1)).is_err());
    }

    #[test]
    fn changed_after_reference() {
        let f = |p: &str, t| FileChange {
            path: p.into(),
            changed: UnixMillis(t),
        };
        let files = vec![f("/a", 10_000), f("/b", 11_000), f("/c", 20_000)];
        let c = changed_after(&files, UnixMillis(10_000), TOLERANCE_MS);
        assert_eq!(c, vec![f("/c", 20_000)]);
    }

    #[test]
    fn live_symlink_target_counts() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("t.conf");
        std::fs::write(&target, b"x").unwrap();
        let link = d.path().join("l.conf");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let c = file_change(&Root::system(), &link).unwrap();
        assert!(c.changed.0 > 0);
        let missing = file_change(&Root::system(), &d.path().join("none")).unwrap_err();
        assert_eq!(missing.why, crate::section::SkipReason::NotPresent);
    }
}
