//! Connecting the way an nginx worker does: a non-blocking `connect(2)`,
//! so a unix socket whose listen backlog is full fails at once with
//! `EAGAIN` (11) exactly as nginx sees it, and a TCP connect waits for the
//! handshake under a timer (`proxy_connect_timeout`). The outcome keeps the
//! raw errno.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream, UnixStream};

/// How a connect attempt ended (the SPEC's `connect` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectOutcome {
    /// Connected.
    Ok,
    /// `ECONNREFUSED` (111): nothing listens (or a stale unix socket file).
    Refused,
    /// No answer within the timeout (SYN dropped, backlog full), or the
    /// kernel's own `ETIMEDOUT` (110).
    Timeout,
    /// `ENETUNREACH`, `EHOSTUNREACH`, `ENETDOWN`, `EHOSTDOWN`.
    Unreachable,
    /// `ECONNRESET` (104).
    Reset,
    /// `EACCES` (13) or `EPERM` (1): socket permissions, or a security policy.
    PermissionDenied,
    /// `ENOENT` (2) / `ENOTDIR` (20): the unix socket path does not exist.
    NotFound,
    /// `EAGAIN` (11): the unix socket's listen backlog is full.
    Again,
    /// The name did not resolve; no connect was tried.
    DnsFailure,
    /// Any other errno (kept raw): `EADDRNOTAVAIL`, `EMFILE`, …
    Error,
}

impl ConnectOutcome {
    /// Classify a raw errno.
    pub fn from_errno(errno: i32) -> ConnectOutcome {
        match errno {
            libc::ECONNREFUSED => ConnectOutcome::Refused,
            libc::ETIMEDOUT => ConnectOutcome::Timeout,
            libc::ENETUNREACH | libc::EHOSTUNREACH | libc::ENETDOWN | libc::EHOSTDOWN => {
                ConnectOutcome::Unreachable
            }
            libc::ECONNRESET => ConnectOutcome::Reset,
            libc::EACCES | libc::EPERM => ConnectOutcome::PermissionDenied,
            libc::ENOENT | libc::ENOTDIR => ConnectOutcome::NotFound,
            libc::EAGAIN => ConnectOutcome::Again,
            _ => ConnectOutcome::Error,
        }
    }

    /// The kebab-case value used in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            ConnectOutcome::Ok => "ok",
            ConnectOutcome::Refused => "refused",
            ConnectOutcome::Timeout => "timeout",
            ConnectOutcome::Unreachable => "unreachable",
            ConnectOutcome::Reset => "reset",
            ConnectOutcome::PermissionDenied => "permission-denied",
            ConnectOutcome::NotFound => "not-found",
            ConnectOutcome::Again => "again",
            ConnectOutcome::DnsFailure => "dns-failure",
            ConnectOutcome::Error => "error",
        }
    }
}

/// The symbolic name of an errno that matters for upstreams (`ECONNREFUSED`).
pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EAGAIN => "EAGAIN",
        libc::EACCES => "EACCES",
        libc::ENOTDIR => "ENOTDIR",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::EPIPE => "EPIPE",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ECONNRESET => "ECONNRESET",
        libc::ENOTCONN => "ENOTCONN",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTDOWN => "EHOSTDOWN",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EPROTOTYPE => "EPROTOTYPE",
        libc::ENOTSOCK => "ENOTSOCK",
        _ => "E?",
    }
}

/// The C library's text for an errno ("Connection refused").
pub fn errno_text(errno: i32) -> String {
    io::Error::from_raw_os_error(errno)
        .to_string()
        .split(" (os error")
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A connected stream of either family.
#[derive(Debug)]
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// Unix domain.
    Unix(UnixStream),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// What a connect attempt produced.
#[derive(Debug)]
pub struct Connected {
    /// The outcome.
    pub outcome: ConnectOutcome,
    /// The raw errno, if the kernel gave one.
    pub errno: Option<i32>,
    /// Elapsed milliseconds.
    pub ms: f64,
    /// The stream, when connected.
    pub stream: Option<Stream>,
}

fn failed(start: Instant, err: &io::Error) -> Connected {
    let errno = err.raw_os_error();
    let outcome = match errno {
        Some(e) => ConnectOutcome::from_errno(e),
        None if err.kind() == io::ErrorKind::TimedOut => ConnectOutcome::Timeout,
        None => ConnectOutcome::Error,
    };
    Connected {
        outcome,
        errno,
        ms: ms_since(start),
        stream: None,
    }
}

/// Milliseconds since `start`, rounded to microseconds.
pub fn ms_since(start: Instant) -> f64 {
    round_ms(start.elapsed().as_secs_f64() * 1e3)
}

/// Round milliseconds to three decimals (microseconds).
pub fn round_ms(ms: f64) -> f64 {
    (ms * 1e3).round() / 1e3
}

/// Connect to a TCP address with a timeout (non-blocking connect, then wait
/// for writability and read `SO_ERROR`, like nginx).
pub async fn connect_tcp(addr: SocketAddr, timeout: Duration) -> Connected {
    let start = Instant::now();
    let socket = match if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    } {
        Ok(s) => s,
        Err(e) => return failed(start, &e),
    };
    match tokio::time::timeout(timeout, socket.connect(addr)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Connected {
                outcome: ConnectOutcome::Ok,
                errno: None,
                ms: ms_since(start),
                stream: Some(Stream::Tcp(stream)),
            }
        }
        Ok(Err(e)) => failed(start, &e),
        Err(_) => Connected {
            outcome: ConnectOutcome::Timeout,
            errno: None,
            ms: ms_since(start),
            stream: None,
        },
    }
}

/// Connect to a unix socket. The connect is non-blocking: a full backlog is
/// `EAGAIN` at once, never a wait.
pub async fn connect_unix(path: &Path, timeout: Duration) -> Connected {
    let start = Instant::now();
    match tokio::time::timeout(timeout, UnixStream::connect(path)).await {
        Ok(Ok(stream)) => Connected {
            outcome: ConnectOutcome::Ok,
            errno: None,
            ms: ms_since(start),
            stream: Some(Stream::Unix(stream)),
        },
        Ok(Err(e)) => failed(start, &e),
        Err(_) => Connected {
            outcome: ConnectOutcome::Timeout,
            errno: None,
            ms: ms_since(start),
            stream: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_classification_matches_nginx_tables() {
        assert_eq!(ConnectOutcome::from_errno(111), ConnectOutcome::Refused);
        assert_eq!(ConnectOutcome::from_errno(110), ConnectOutcome::Timeout);
        assert_eq!(ConnectOutcome::from_errno(113), ConnectOutcome::Unreachable);
        assert_eq!(ConnectOutcome::from_errno(101), ConnectOutcome::Unreachable);
        assert_eq!(ConnectOutcome::from_errno(104), ConnectOutcome::Reset);
        assert_eq!(
            ConnectOutcome::from_errno(13),
            ConnectOutcome::PermissionDenied
        );
        assert_eq!(ConnectOutcome::from_errno(2), ConnectOutcome::NotFound);
        assert_eq!(ConnectOutcome::from_errno(11), ConnectOutcome::Again);
        assert_eq!(ConnectOutcome::from_errno(99), ConnectOutcome::Error);
        assert_eq!(errno_name(11), "EAGAIN");
        assert_eq!(errno_text(111), "Connection refused");
    }
}
