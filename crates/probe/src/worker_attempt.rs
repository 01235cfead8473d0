//! The real attempt "as the worker": when badgateway runs as root, a forked
//! child drops to the worker's uid, gid and supplementary groups and does a
//! non-blocking `connect(2)` to the unix socket, reporting the errno through
//! a pipe. This sees everything the kernel checks (modes, ACLs, security
//! modules), which the pure computation in `worker` cannot.
//!
//! The child only makes async-signal-safe system calls on memory prepared
//! before `fork` and leaves with `_exit`; it never returns into Rust code.

#![allow(unsafe_code)] // fork/setgroups/setgid/setuid/socket/connect/pipe/poll/waitpid via libc

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::connect::{ConnectOutcome, errno_name};
use crate::worker::WorkerIdentity;

/// The result of connecting with the worker's credentials.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerAttempt {
    /// How the connect ended.
    pub connect: ConnectOutcome,
    /// Raw errno (`None` when connected).
    pub errno: Option<i32>,
    /// Symbolic errno name.
    pub errno_name: Option<&'static str>,
    /// Elapsed milliseconds (fork to answer).
    pub ms: f64,
}

/// Why the attempt could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttemptError {
    /// Not running as root: cannot take another user's credentials.
    #[error("not running as root, so the connect cannot be tried as the worker")]
    NotRoot,
    /// The socket path does not fit `sockaddr_un`.
    #[error("socket path too long for sockaddr_un")]
    PathTooLong,
    /// A system call in the parent failed.
    #[error("{call} failed: errno {errno}")]
    Sys {
        /// The call.
        call: &'static str,
        /// errno.
        errno: i32,
    },
    /// The child did not answer in time (it is killed).
    #[error("the child did not answer in time")]
    Timeout,
    /// The child could not take the worker's credentials.
    #[error("the child could not switch to uid {uid} (step {step}, errno {errno})")]
    Setup {
        /// uid wanted.
        uid: u32,
        /// Which step failed (setgroups, setgid, setuid, socket).
        step: &'static str,
        /// errno.
        errno: i32,
    },
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Whether this process runs with euid 0.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Connect to `path` as `who` from a forked child. Blocking (bounded by
/// `timeout`); run it off the async executor.
pub fn connect_as(
    who: &WorkerIdentity,
    path: &Path,
    timeout: Duration,
) -> Result<WorkerAttempt, AttemptError> {
    if !is_root() {
        return Err(AttemptError::NotRoot);
    }
    // Everything the child touches is prepared here, before fork.
    // SAFETY: sockaddr_un is plain old data; all-zero is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(AttemptError::PathTooLong);
    }
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let addr_len = (std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
    let groups: Vec<libc::gid_t> = who.groups.clone();
    let (uid, gid) = (who.uid, who.gid);
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds is a valid 2-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(AttemptError::Sys {
            call: "pipe2",
            errno: last_errno(),
        });
    }
    let (rd, wr) = (fds[0], fds[1]);
    let start = Instant::now();
    // SAFETY: after fork the child runs only the async-signal-safe calls in
    // `child` on memory prepared above, then _exit; it never unwinds or
    // returns into Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let errno = last_errno();
        // SAFETY: closing our own pipe fds.
        unsafe {
            libc::close(rd);
            libc::close(wr);
        }
        return Err(AttemptError::Sys {
            call: "fork",
            errno,
        });
    }
    if pid == 0 {
        // SAFETY: see above; `child` never returns.
        unsafe { child(wr, &groups, gid, uid, &addr, addr_len) }
    }
    // SAFETY: the parent closes its copy of the write end.
    unsafe { libc::close(wr) };
    let answer = read_answer(rd, timeout);
    // SAFETY: closing our read end; reaping (and on timeout killing) the
    // child we forked, by its pid.
    unsafe {
        libc::close(rd);
        if answer.is_none() {
            libc::kill(pid, libc::SIGKILL);
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
    let ms = crate::connect::ms_since(start);
    let Some((step, errno)) = answer else {
        return Err(AttemptError::Timeout);
    };
    match step {
        0 => Ok(WorkerAttempt {
            connect: ConnectOutcome::Ok,
            errno: None,
            errno_name: None,
            ms,
        }),
        4 => Ok(WorkerAttempt {
            connect: if errno == libc::EINPROGRESS {
                ConnectOutcome::Ok
            } else {
                ConnectOutcome::from_errno(errno)
            },
            errno: (errno != libc::EINPROGRESS).then_some(errno),
            errno_name: (errno != libc::EINPROGRESS).then(|| errno_name(errno)),
            ms,
        }),
        s => Err(AttemptError::Setup {
            uid,
            step: match s {
                1 => "setgroups",
                2 => "setgid",
                3 => "setuid",
                _ => "socket",
            },
            errno,
        }),
    }
}

/// Wait for the child's 8-byte answer (step, errno) on `rd`.
fn read_answer(rd: libc::c_int, timeout: Duration) -> Option<(i32, i32)> {
    let mut pfd = libc::pollfd {
        fd: rd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: pfd is one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    if n <= 0 {
        return None;
    }
    let mut buf = [0u8; 8];
    // SAFETY: buf is 8 writable bytes.
    let got = unsafe { libc::read(rd, buf.as_mut_ptr().cast(), buf.len()) };
    if got != 8 {
        return None;
    }
    Some((
        i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]),
        i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]),
    ))
}

/// The child: drop privileges, connect, report (step, errno), `_exit`.
/// Steps: 0 connected, 1 setgroups, 2 setgid, 3 setuid, 4 connect failed,
/// 5 socket failed.
///
/// # Safety
/// Must only be called in a freshly forked child.
unsafe fn child(
    wr: libc::c_int,
    groups: &[libc::gid_t],
    gid: u32,
    uid: u32,
    addr: &libc::sockaddr_un,
    addr_len: libc::socklen_t,
) -> ! {
    // SAFETY: only async-signal-safe syscalls on prepared memory follow.
    unsafe {
        let report = |step: i32, errno: i32| -> ! {
            let mut buf = [0u8; 8];
            buf[..4].copy_from_slice(&step.to_ne_bytes());
            buf[4..].copy_from_slice(&errno.to_ne_bytes());
            libc::write(wr, buf.as_ptr().cast(), 8);
            libc::_exit(0)
        };
        let errno = || *libc::__errno_location();
        if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
            report(1, errno());
        }
        if libc::setgid(gid) != 0 {
            report(2, errno());
        }
        if libc::setuid(uid) != 0 {
            report(3, errno());
        }
        let fd = libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            report(5, errno());
        }
        let rc = libc::connect(fd, (addr as *const libc::sockaddr_un).cast(), addr_len);
        if rc == 0 {
            report(0, 0);
        }
        report(4, errno())
    }
}
