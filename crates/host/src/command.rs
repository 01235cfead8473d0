//! Running the few external programs this crate may ask (`nginx -V`,
//! `nginx -t`, `journalctl -k`, `nft list ruleset`, `iptables -S`): only
//! when the caller allows it, with stdin closed, `LC_ALL=C`, output capped
//! and a hard timeout after which the child (and only it, by pid) is
//! killed. None of these programs changes anything, with the documented
//! exception of `nginx -t` creating missing log files.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::section::{Skip, SkipReason};

/// Output beyond this is dropped (per stream).
pub const OUTPUT_CAP: usize = 8 * 1024 * 1024;

/// What a finished command printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandOutput {
    /// The command line, for reports.
    pub command: String,
    /// Exit code (`None` when killed by a signal).
    pub status: Option<i32>,
    /// Standard output (lossy UTF-8, capped).
    pub stdout: String,
    /// Standard error (lossy UTF-8, capped).
    pub stderr: String,
}

impl CommandOutput {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// `PATH` lookup for a program, also trying the sbin directories that a
/// non-login root shell might lack.
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Path::new(name).is_file().then(|| PathBuf::from(name));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Run `program args…`, waiting at most `timeout`. A missing program, a
/// spawn failure and a timeout become a [`Skip`].
pub fn run_bounded(
    program: &Path,
    args: &[&str],
    timeout: Duration,
) -> Result<CommandOutput, Skip> {
    let command = std::iter::once(program.display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .env("SYSTEMD_PAGER", "")
        .env("PAGER", "cat")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Skip::new(&command, SkipReason::from_io(&e), e.to_string()))?;
    let drain = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(r) = r {
                let _ = r.take(OUTPUT_CAP as u64).read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                // Our own child, by its pid.
                let _ = child.kill();
                let _ = child.wait();
                return Err(Skip::new(
                    &command,
                    SkipReason::TimedOut,
                    format!("no answer within {} ms; killed", timeout.as_millis()),
                ));
            }
            Err(e) => return Err(Skip::new(&command, SkipReason::IoError, e.to_string())),
        }
    };
    Ok(CommandOutput {
        command,
        status: status.code(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Classify a failed command by what it printed: permission problems are
/// [`SkipReason::PermissionDenied`], anything else
/// [`SkipReason::CommandFailed`].
pub fn failure(out: &CommandOutput) -> Skip {
    let text = format!("{}{}", out.stderr, out.stdout);
    let why = if text.contains("Operation not permitted")
        || text.contains("Permission denied")
        || text.contains("you must be root")
    {
        SkipReason::PermissionDenied
    } else {
        SkipReason::CommandFailed
    };
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    Skip::new(
        &out.command,
        why,
        format!("exit status {:?}: {}", out.status, first.trim()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_times_out() {
        let sh = find_program("sh").unwrap();
        let o = run_bounded(
            &sh,
            &["-c", "echo out; echo err >&2; exit 3"],
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(o.status, Some(3));
        assert_eq!(o.stdout, "out\n");
        assert_eq!(o.stderr, "err\n");
        assert_eq!(failure(&o).why, SkipReason::CommandFailed);
        let t = Instant::now();
        let e = run_bounded(&sh, &["-c", "sleep 5"], Duration::from_millis(100)).unwrap_err();
        assert_eq!(e.why, SkipReason::TimedOut);
        assert!(t.elapsed() < Duration::from_secs(3));
        let e =
            run_bounded(Path::new("/nonexistent/prog"), &[], Duration::from_secs(1)).unwrap_err();
        assert_eq!(e.why, SkipReason::NotPresent);
    }
}
