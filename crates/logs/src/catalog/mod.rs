//! The message catalogue: every upstream-related nginx error-log message
//! shape → [`Kind`] → SPEC [`Cause`], the status the client got, what nginx
//! was doing, an explanation, the checks to run next, the fix and the
//! directives involved. One table, used by `logs`, `explain`, `diagnose`
//! and `watch`.
//!
//! [`classify`] looks at the message, the errno (by number, platform-aware,
//! see [`crate::errno`]), the `while …` action and the peer's socket family:
//! `(13: Permission denied)` is `socket-permission` on a unix socket and
//! `policy-denied` on TCP; `(110)` is `connect-timeout` while connecting
//! and `upstream-timeout` while reading the header.
//!
//! Whether an entry counts as an upstream error follows the SPEC: entries
//! that record a failed attempt to get a response from an upstream (`no
//! live upstreams` included); not `upstream server temporarily disabled`,
//! FastCGI stderr relays, or client-side aborts and timeouts.

mod kind;
mod table;
pub(crate) mod templates;

use badgateway_cause::Cause;
use serde::Serialize;

use crate::errno::{self, Errno};
use crate::error::{ErrorEntry, Level};

pub use kind::Kind;
pub use table::{ENTRIES, entry};

/// The status the client got because of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "code")]
pub enum ClientStatus {
    /// This status (502, 504, 500, 499, 503…), unless a retry on another
    /// server succeeded (`proxy_next_upstream`).
    Status(u16),
    /// The status line had already gone out: the client got the backend's
    /// status and a truncated body.
    Truncated,
    /// nginx fell back to HTTP/0.9: the access log shows `009`.
    Http09,
    /// The message does not decide the status by itself.
    Unchanged,
}

impl ClientStatus {
    /// A short phrase: `502 Bad Gateway`, `truncated response`…
    pub fn describe(self) -> String {
        match self {
            ClientStatus::Status(502) => "502 Bad Gateway".into(),
            ClientStatus::Status(504) => "504 Gateway Time-out".into(),
            ClientStatus::Status(500) => "500 Internal Server Error".into(),
            ClientStatus::Status(503) => "503 Service Unavailable".into(),
            ClientStatus::Status(499) => "499 (client closed the request)".into(),
            ClientStatus::Status(n) => n.to_string(),
            ClientStatus::Truncated => {
                "the backend's status, with a truncated body (the header had already been sent)"
                    .into()
            }
            ClientStatus::Http09 => {
                "an HTTP/0.9 response: raw backend bytes, no status line (access log shows 009)"
                    .into()
            }
            ClientStatus::Unchanged => "no status of its own".into(),
        }
    }
}

/// Which phase of proxying the message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Choosing a peer and connecting (`connecting to upstream`).
    Connect,
    /// Resolving the upstream name at run time.
    Resolve,
    /// TLS handshake with an HTTPS/gRPCS upstream.
    TlsHandshake,
    /// Sending the request (and body) to the upstream.
    SendRequest,
    /// Waiting for or parsing the response status line and headers.
    ReadHeader,
    /// Relaying the response body (status already sent).
    ReadBody,
    /// A WebSocket or other upgraded connection.
    Upgraded,
    /// The client side of the request.
    Client,
    /// Config load or reload.
    Config,
    /// Anything else.
    Other,
}

impl Phase {
    /// The phase an action text (`while …`) names.
    pub fn from_action(action: Option<&[u8]>) -> Phase {
        let Some(a) = action else {
            return Phase::Other;
        };
        // Dispatch on the length first: one comparison per call.
        let (text, phase): (&[u8], Phase) = match a.len() {
            22 if a[0] == b'c' => (b"connecting to upstream", Phase::Connect),
            22 => (b"reading PROXY protocol", Phase::Client),
            27 => match a[0] {
                b'S' => (b"SSL handshaking to upstream", Phase::TlsHandshake),
                b's' => (b"sending request to upstream", Phase::SendRequest),
                b'r' if a[23] == b'l' => (b"reading client request line", Phase::Client),
                _ => (b"reading client request body", Phase::Client),
            },
            37 => (b"reading response header from upstream", Phase::ReadHeader),
            16 => (b"reading upstream", Phase::ReadBody),
            28 => match a[0] {
                b'p' if a[11] == b'H' => (b"processing HTTP/2 connection", Phase::Client),
                b'p' => (b"proxying upgraded connection", Phase::Upgraded),
                _ => return Phase::Other,
            },
            9 => (b"resolving", Phase::Resolve),
            17 => (b"sending to client", Phase::Client),
            26 => (b"sending response to client", Phase::Client),
            30 => (b"reading client request headers", Phase::Client),
            19 => (b"waiting for request", Phase::Client),
            15 => match a[0] {
                b'S' => (b"SSL handshaking", Phase::Client),
                b'c' => (b"closing request", Phase::Client),
                _ => (b"lingering close", Phase::Client),
            },
            29 => (b"sending early hints to client", Phase::Client),
            _ => return Phase::Other,
        };
        if a == text {
            phase
        } else if a == b"processing HTTP/3 connection" {
            Phase::Client
        } else {
            Phase::Other
        }
    }

    /// Is this a phase in which nginx talks to the upstream?
    pub fn is_upstream(self) -> bool {
        matches!(
            self,
            Phase::Connect
                | Phase::TlsHandshake
                | Phase::SendRequest
                | Phase::ReadHeader
                | Phase::ReadBody
        )
    }
}

/// What one error-log entry means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    /// The message kind.
    pub kind: Kind,
    /// Does it count as an upstream error (SPEC `upstream_errors`)?
    pub upstream_error: bool,
    /// The root cause it points to on its own (for counted entries; for
    /// `no live upstreams` this is `unknown` until attribution).
    pub cause: Option<Cause>,
    /// What the client got.
    pub status: ClientStatus,
    /// The proxying phase (from the action).
    pub phase: Phase,
    /// The symbolic errno, when the entry carries one.
    pub errno: Option<Errno>,
    /// A hint at the nginx version, from wording that changed across versions.
    pub version_hint: Option<&'static str>,
}

impl Classification {
    /// The catalogue entry for this kind.
    pub fn entry(&self) -> &'static Entry {
        entry(self.kind)
    }
}

/// One catalogue row (static text).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Entry {
    /// The kind this row describes.
    pub kind: Kind,
    /// The message shape as nginx formats it (`connect() failed (111: …)`).
    pub shape: &'static str,
    /// Counted as an upstream error?
    pub upstream_error: bool,
    /// The cause the message points to on its own.
    pub cause: Option<Cause>,
    /// The status the client gets.
    pub status: ClientStatus,
    /// What nginx was doing.
    pub doing: &'static str,
    /// What happened, in plain words.
    pub explanation: &'static str,
    /// Likely causes, most likely first.
    pub likely: &'static [&'static str],
    /// What to check next (commands where possible).
    pub checks: &'static [&'static str],
    /// What to change.
    pub fix: &'static str,
    /// The nginx directives involved.
    pub directives: &'static [&'static str],
    /// Which nginx versions print this shape, when that matters.
    pub versions: &'static str,
}

/// Classify an entry. Never fails; unknown shapes become
/// [`Kind::UpstreamOther`] (counted, cause `unknown`) when nginx was
/// talking to an upstream at `[error]` or worse, else [`Kind::Other`].
pub fn classify(e: &ErrorEntry<'_>) -> Classification {
    let phase = Phase::from_action(e.action);
    let errno = e.errno.and_then(|x| errno::lookup(x.code, x.text));
    let kind = kind_of(e, phase, errno);
    let row = entry(kind);
    let mut status = row.status;
    let mut upstream_error = row.upstream_error;
    // Entries that need a request to count (resolver and fd errors can also
    // happen outside one).
    if matches!(
        kind,
        Kind::NotResolved
            | Kind::SocketFdExhaustion
            | Kind::WorkerConnections
            | Kind::SocketNoFamily
    ) && !e.ctx.is_present()
        && !phase.is_upstream()
    {
        upstream_error = false;
    }
    // Header-phase failures of FastCGI/h2 records become truncation in the body.
    if phase == Phase::ReadBody && matches!(status, ClientStatus::Status(502)) {
        status = ClientStatus::Truncated;
    }
    Classification {
        kind,
        upstream_error,
        cause: if upstream_error { row.cause } else { None },
        status,
        phase,
        errno,
        version_hint: version_hint(e, kind),
    }
}

fn kind_of(e: &ErrorEntry<'_>, phase: Phase, errno: Option<Errno>) -> Kind {
    if e.level == Level::Unknown {
        return Kind::Unparsed;
    }
    if phase == Phase::Resolve {
        return Kind::ResolverIo;
    }
    let m = e.message;
    let unix = || e.peer_is_unix();
    let first = m.first().copied().unwrap_or(0);
    let k = match first {
        b'u' => upstream_message(m, phase, errno),
        b'n' if m == b"no live upstreams" => Some(Kind::NoLiveUpstreams),
        b'n' if m.starts_with(b"no resolver defined to resolve ") => Some(Kind::NoResolver),
        b'n' if m.starts_with(b"no port in upstream")
            || m.starts_with(b"no upstream configuration") =>
        {
            Some(Kind::RequestBuildFailed)
        }
        b'c' if m.starts_with(b"connect() ") => Some(connect_failed(errno, unix)),
        b'c' => client_message(m, phase),
        b'k' if m.starts_with(b"kevent() reported that connect() failed") => {
            Some(connect_failed(errno, unix))
        }
        b'k' if m.starts_with(b"kevent() reported that client") => Some(client_abort(phase)),
        b'e' if m.starts_with(b"epoll_wait() reported that client prematurely closed") => {
            Some(client_abort(phase))
        }
        b'r' | b'w' | b's' | b'S' if is_io_failure(m) => io_failure(m, phase, errno),
        b's' if m.starts_with(b"socket() failed") => Some(match errno {
            Some(Errno::EAFNOSUPPORT) => Kind::SocketNoFamily,
            _ => Kind::SocketFdExhaustion,
        }),
        b'S' if m.starts_with(b"SSL_do_handshake() failed") && phase == Phase::TlsHandshake => {
            Some(Kind::TlsHandshake)
        }
        b'S' if m.starts_with(b"SSL_set_") => Some(Kind::RequestBuildFailed),
        b'p' if m.starts_with(b"peer closed connection in SSL handshake")
            && phase == Phase::TlsHandshake =>
        {
            Some(Kind::TlsPeerClosed)
        }
        b'F' if m.starts_with(b"FastCGI sent in stderr") => Some(Kind::FastcgiStderr),
        b'f' if m.starts_with(b"fastcgi request record is too big") => {
            Some(Kind::RequestBuildFailed)
        }
        b'b' if m.starts_with(b"bind(") => Some(Kind::BindFailed),
        b'i' if m.starts_with(b"invalid URL prefix")
            || m.starts_with(b"invalid port in upstream")
            || m.starts_with(b"invalid host in upstream")
            || m.starts_with(b"invalid local address")
            || m.starts_with(b"invalid header after joining FastCGI records") =>
        {
            Some(Kind::RequestBuildFailed)
        }
        b'z' if m.starts_with(b"zero length URI to proxy") => Some(Kind::RequestBuildFailed),
        b'm' if m.starts_with(b"memcached sent invalid") => Some(Kind::MemcachedInvalid),
        b'l' if m.starts_with(b"limiting requests") || m.starts_with(b"limiting connections") => {
            Some(Kind::RateLimited)
        }
        b'a' if m.starts_with(b"an upstream response is buffered") => Some(Kind::UpstreamBuffered),
        b'a' if m.starts_with(b"a client request body is buffered") => Some(Kind::ClientSide),
        b'a' if m.starts_with(b"accept4() failed") || m.starts_with(b"accept() failed") => {
            Some(match errno {
                Some(Errno::EMFILE | Errno::ENFILE) => Kind::FdExhaustionOther,
                _ => Kind::Other,
            })
        }
        b't' if m.starts_with(b"the new socket has number") => Some(Kind::SocketFdExhaustion),
        b'0'..=b'9' if m.ends_with(b"worker_connections are not enough") => {
            Some(Kind::WorkerConnections)
        }
        b'0'..=b'9' if m.ends_with(b"worker_connections are not enough, reusing connections") => {
            Some(Kind::WorkerConnectionsReusing)
        }
        _ => None,
    };
    if let Some(k) = k {
        return k;
    }
    if m.ends_with(b" could not be resolved")
        || crate::find::find!(m, b" could not be resolved").is_some()
    {
        return Kind::NotResolved;
    }
    if m.starts_with(b"uwsgi request is too")
        || m.ends_with(b"request length mismatch")
        || m.ends_with(b"protocol requires SSL support")
    {
        return Kind::RequestBuildFailed;
    }
    if e.level == Level::Emerg {
        return Kind::ConfigError;
    }
    if e.level == Level::Notice && e.conn.is_none() {
        return Kind::Lifecycle;
    }
    if phase.is_upstream() && e.level.is_error_or_worse() {
        return Kind::UpstreamOther;
    }
    if phase == Phase::Client {
        return Kind::ClientSide;
    }
    Kind::Other
}

/// The kind of an entry from the start of its body alone (after `*N `), for
/// the frequent messages whose kind does not depend on the action or the
/// context; `None` when the full parse is needed. Agrees with [`classify`].
pub(crate) fn quick_kind(body: &[u8]) -> Option<Kind> {
    Some(match body.first()? {
        b'c' if body.starts_with(b"client ")
            && !body.starts_with(b"client prematurely closed connection") =>
        {
            Kind::ClientSide
        }
        b'o' if body.starts_with(b"open() ") => Kind::Other,
        b'a' if body.starts_with(b"access forbidden by rule") => Kind::Other,
        b'a' if body.starts_with(b"a client request body is buffered") => Kind::ClientSide,
        b'd' if body.starts_with(b"directory index of ") => Kind::Other,
        b'l' if body.starts_with(b"limiting requests")
            || body.starts_with(b"limiting connections") =>
        {
            Kind::RateLimited
        }
        b'u' if body.starts_with(b"using uninitialized ") => Kind::Other,
        _ => return None,
    })
}

fn is_io_failure(m: &[u8]) -> bool {
    const CALLS: [&[u8]; 8] = [
        b"recv() failed",
        b"readv() failed",
        b"writev() failed",
        b"send() failed",
        b"sendfile() failed",
        b"sendmsg() failed",
        b"SSL_read() failed",
        b"SSL_write() failed",
    ];
    CALLS.iter().any(|c| m.starts_with(c))
}

fn io_failure(m: &[u8], phase: Phase, errno: Option<Errno>) -> Option<Kind> {
    let ssl_eof = m.starts_with(b"SSL_read() failed")
        && crate::find::find!(m, b"unexpected eof while reading").is_some();
    Some(match phase {
        Phase::ReadHeader | Phase::Connect | Phase::TlsHandshake if ssl_eof => {
            Kind::SslUnexpectedEof
        }
        Phase::ReadBody if ssl_eof => Kind::BodyPrematureClose,
        Phase::ReadHeader | Phase::Connect | Phase::TlsHandshake => match errno {
            Some(Errno::ECONNRESET | Errno::EPIPE | Errno::ENOTCONN | Errno::ECONNABORTED) => {
                Kind::ConnectionReset
            }
            Some(
                Errno::ETIMEDOUT
                | Errno::EHOSTUNREACH
                | Errno::ENETUNREACH
                | Errno::ENETDOWN
                | Errno::EHOSTDOWN,
            ) => Kind::ConnectionLost,
            Some(Errno::ECONNREFUSED) => Kind::ConnectRefused,
            _ => Kind::UpstreamOther,
        },
        Phase::SendRequest => match errno {
            Some(
                Errno::ETIMEDOUT
                | Errno::EHOSTUNREACH
                | Errno::ENETUNREACH
                | Errno::ENETDOWN
                | Errno::EHOSTDOWN,
            ) => Kind::ConnectionLost,
            Some(Errno::ECONNREFUSED) => Kind::ConnectRefused,
            _ => Kind::SendFailed,
        },
        Phase::ReadBody => Kind::BodyReset,
        Phase::Client => Kind::ClientSide,
        _ => return None,
    })
}

fn connect_failed(errno: Option<Errno>, unix: impl Fn() -> bool) -> Kind {
    match errno {
        Some(Errno::ECONNREFUSED) => Kind::ConnectRefused,
        Some(Errno::ENOENT) => Kind::SocketMissing,
        Some(Errno::EACCES) if unix() => Kind::SocketPermission,
        Some(Errno::EACCES | Errno::EPERM) => Kind::ConnectDenied,
        Some(Errno::EAGAIN) if unix() => Kind::SocketBacklogFull,
        Some(Errno::EAGAIN | Errno::EADDRNOTAVAIL) => Kind::PortExhaustion,
        Some(Errno::ENETUNREACH | Errno::EHOSTUNREACH | Errno::ENETDOWN | Errno::EHOSTDOWN) => {
            Kind::Unreachable
        }
        Some(Errno::ETIMEDOUT) => Kind::ConnectTimeoutKernel,
        Some(Errno::ECONNRESET) => Kind::ConnectReset,
        Some(Errno::EMFILE | Errno::ENFILE) => Kind::SocketFdExhaustion,
        _ => Kind::ConnectFailedOther,
    }
}

fn client_abort(phase: Phase) -> Kind {
    if phase.is_upstream() {
        Kind::ClientAbortUpstream
    } else {
        Kind::ClientSide
    }
}

fn client_message(m: &[u8], phase: Phase) -> Option<Kind> {
    if m.starts_with(b"client prematurely closed connection") {
        return Some(client_abort(phase));
    }
    if m.starts_with(b"client ") {
        return Some(Kind::ClientSide);
    }
    if m.starts_with(b"could not be resolved") {
        return Some(Kind::NotResolved);
    }
    None
}

/// Messages that start with `upstream `.
fn upstream_message(m: &[u8], phase: Phase, errno: Option<Errno>) -> Option<Kind> {
    let _ = errno;
    if m == b"upstream timed out" {
        return Some(match phase {
            Phase::Connect => Kind::ConnectTimeout,
            Phase::TlsHandshake => Kind::TlsTimeout,
            Phase::SendRequest => Kind::SendTimeout,
            Phase::ReadHeader => Kind::ReadTimeout,
            Phase::ReadBody => Kind::BodyTimeout,
            Phase::Upgraded => Kind::UpgradedTimeout,
            _ => Kind::ReadTimeout,
        });
    }
    if m == b"upstream server temporarily disabled" {
        return Some(Kind::PeerDisabled);
    }
    if m == b"upstream prematurely closed connection" {
        return Some(if phase == Phase::ReadBody {
            Kind::BodyPrematureClose
        } else {
            Kind::PrematureClose
        });
    }
    if m.starts_with(b"upstream SSL certificate verify error") {
        return Some(Kind::TlsVerify);
    }
    if m.starts_with(b"upstream SSL certificate does not match") {
        return Some(Kind::TlsNameMismatch);
    }
    if m == b"upstream prematurely sent response" {
        return Some(Kind::TlsPlaintextResponse);
    }
    if m.starts_with(b"upstream prematurely closed FastCGI") {
        return Some(Kind::FastcgiPrematureEnd);
    }
    if m == b"upstream prematurely closed stream" {
        return Some(Kind::H2PrematureClose);
    }
    if m.starts_with(b"upstream rejected request with error")
        || m.starts_with(b"upstream sent goaway with error")
    {
        return Some(Kind::H2Rejected);
    }
    let s = m.strip_prefix(b"upstream sent ")?;
    Some(if s == b"too big header" {
        Kind::TooBigHeader
    } else if s.starts_with(b"invalid header") {
        Kind::InvalidHeader
    } else if s.starts_with(b"no valid HTTP/1.0 header") {
        Kind::NoValidHttpHeader
    } else if s.starts_with(b"invalid chunked response") {
        Kind::InvalidChunked
    } else if s.starts_with(b"more data than specified") {
        Kind::ContentLengthExcess
    } else if s.starts_with(b"data after final chunk") || s.starts_with(b"data after trailers") {
        Kind::DataAfterEnd
    } else if s.starts_with(b"duplicate header line") {
        if s.ends_with(b", ignored") {
            Kind::Other
        } else {
            Kind::BadFramingHeader
        }
    } else if s.starts_with(b"\"Content-Length\" and \"Transfer-Encoding\"")
        || s.starts_with(b"invalid \"Content-Length\"")
        || s.starts_with(b"unknown \"Transfer-Encoding\"")
    {
        Kind::BadFramingHeader
    } else if s.starts_with(b"invalid status")
        || s.starts_with(b"invalid :status")
        || s.starts_with(b"no :status")
        || s.starts_with(b"unexpected :status")
        || s.starts_with(b"duplicate :status")
    {
        Kind::InvalidStatus
    } else if s.starts_with(b"HTTP/1.0 response with early hints") {
        Kind::EarlyHintsHttp10
    } else if s.starts_with(b"too big early hints") {
        Kind::Other
    } else if s.starts_with(b"unsupported FastCGI protocol version") {
        Kind::FastcgiVersion
    } else if s.starts_with(b"invalid FastCGI record type")
        || s.starts_with(b"unexpected FastCGI request id")
    {
        Kind::FastcgiGarbage
    } else if s.starts_with(b"unexpected FastCGI record") {
        Kind::FastcgiUnexpectedRecord
    } else if s.starts_with(b"too large http2 frame") {
        Kind::H2FrameTooLarge
    } else if s.starts_with(b"too big trailers")
        || s.starts_with(b"invalid trailer")
        || s.starts_with(b"trailer without end stream")
    {
        Kind::BadTrailers
    } else if crate::find::find!(s, b"http2").is_some()
        || crate::find::find!(s, b"frame").is_some()
        || s.starts_with(b"settings")
        || s.starts_with(b"zero window")
        || s.starts_with(b"truncated")
        || s.starts_with(b"invalid encoded header")
    {
        Kind::H2Protocol
    } else {
        Kind::UpstreamSentOther
    })
}

fn version_hint(e: &ErrorEntry<'_>, kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::InvalidHeader if e.level == Level::Info => {
            "nginx 1.21.1-1.21.3 (logged at [info] by mistake)"
        }
        Kind::InvalidHeader if e.message.starts_with(b"upstream sent invalid header: \"") => {
            "nginx 1.21.1 or later (the offending bytes are shown)"
        }
        Kind::InvalidHeader if e.message == b"upstream sent invalid header" => {
            "nginx 1.21.0 or older"
        }
        Kind::BadFramingHeader => "nginx 1.23.0 or later",
        Kind::SslUnexpectedEof => "nginx older than 1.21.2 linked with OpenSSL 3",
        Kind::EarlyHintsHttp10 => "nginx 1.29.0 or later",
        Kind::TlsPlaintextResponse => "nginx 1.29.5 or later",
        Kind::FastcgiPrematureEnd if e.message.ends_with(b"FastCGI request") => {
            "nginx 1.19.1 or later"
        }
        Kind::WorkerConnectionsReusing => "nginx 1.19.2 or later",
        Kind::ContentLengthExcess if e.action != Some(b"reading upstream".as_slice()) => {
            "nginx 1.19.1 or later"
        }
        _ => return None,
    })
}

/// The FastCGI version byte of `unsupported FastCGI protocol version: N`,
/// or the frame length of `too large http2 frame: N`.
pub fn trailing_number(m: &[u8]) -> Option<u64> {
    let digits = m.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 19 {
        return None;
    }
    std::str::from_utf8(&m[m.len() - digits..])
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests;
