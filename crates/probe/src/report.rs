//! The probe's result: raw facts per address (errno, elapsed time, bytes,
//! parser facts), the resolution, the worker-permission check, and the
//! verdict drawn from them — with the SPEC cause it points to and a sentence
//! that says it first.

use badgateway_cause::Cause;
use serde::Serialize;

use crate::connect::{ConnectOutcome, errno_text};
use crate::exchange::{Ended, Exchange};
use crate::resolve::Resolution;
use crate::sniff::{Sent, Speaks};
use crate::target::{Endpoint, Scheme, Target};
use crate::worker::{Access, PathFacts, WorkerIdentity};
use crate::worker_attempt::WorkerAttempt;

/// The default header buffer (`proxy_buffer_size` & co.: one page).
pub const DEFAULT_BUFFER_SIZE: usize = 4096;

/// The conclusion of a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The peer answers in the protocol nginx speaks.
    Ok,
    /// The name does not resolve.
    DnsFailure,
    /// No connection (see the attempt's `connect` and `errno`).
    ConnectFailed,
    /// The peer speaks another protocol.
    ProtocolMismatch,
    /// Connected, but no answer before the timeout (nginx: 504).
    NoAnswer,
    /// Connected, then closed or reset without an answer (nginx: 502).
    ClosedWithoutAnswer,
    /// The TLS handshake fails.
    TlsFailed,
    /// The response head exceeds the header buffer (nginx: 502).
    HeaderTooBig,
    /// Right protocol, malformed answer.
    InvalidResponse,
    /// FastCGI END_REQUEST says OVERLOADED or CANT_MPX_CONN.
    Overloaded,
    /// The nginx worker's user may not connect to the unix socket.
    WorkerDenied,
}

impl Verdict {
    /// Whether nginx would get a usable answer.
    pub const fn is_ok(self) -> bool {
        matches!(self, Verdict::Ok)
    }

    /// The kebab-case value used in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::DnsFailure => "dns-failure",
            Verdict::ConnectFailed => "connect-failed",
            Verdict::ProtocolMismatch => "protocol-mismatch",
            Verdict::NoAnswer => "no-answer",
            Verdict::ClosedWithoutAnswer => "closed-without-answer",
            Verdict::TlsFailed => "tls-failed",
            Verdict::HeaderTooBig => "header-too-big",
            Verdict::InvalidResponse => "invalid-response",
            Verdict::Overloaded => "overloaded",
            Verdict::WorkerDenied => "worker-denied",
        }
    }
}

/// One connect attempt to one address, and what was learnt on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    /// `127.0.0.1:9000`, `[::1]:8000`, `unix:/run/php.sock`, or the
    /// unresolved `name:port` for a DNS failure.
    pub address: String,
    /// `ipv4`, `ipv6` or `unix`.
    pub family: &'static str,
    /// The SPEC connect outcome.
    pub connect: ConnectOutcome,
    /// Raw errno, `null` when connected or timed out by our own timer.
    pub errno: Option<i32>,
    /// Symbolic errno.
    pub errno_name: Option<&'static str>,
    /// The C library's text for the errno.
    pub error: Option<String>,
    /// Connect time in milliseconds.
    pub ms: f64,
    /// What nginx's protocol got on this connection.
    pub exchange: Option<Exchange>,
    /// Identification exchanges on fresh connections, when nginx's
    /// protocol got silence, a close, or unknown bytes.
    pub identify: Vec<Exchange>,
    /// For TLS: the handshake with SNI the other way round (on if nginx
    /// sends none, off if it does).
    pub tls_alternate: Option<crate::tls::TlsFacts>,
    /// What the peer speaks, from all exchanges.
    pub protocol: Speaks,
    /// This address's verdict.
    pub verdict: Verdict,
}

/// The worker-permission check for a unix socket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerCheck {
    /// The worker's identity.
    pub identity: WorkerIdentity,
    /// Owner, group and mode of each path component.
    pub chain: Vec<PathFacts>,
    /// The computed answer.
    pub computed: Access,
    /// The real connect with the worker's credentials (only as root).
    pub attempt: Option<WorkerAttempt>,
    /// Why no real attempt was made.
    pub attempt_skipped: Option<String>,
}

impl WorkerCheck {
    /// Whether the worker is denied, by the real attempt when there is one,
    /// else by the computation.
    pub fn denied(&self) -> bool {
        match &self.attempt {
            Some(a) => a.connect == ConnectOutcome::PermissionDenied,
            None => !self.computed.allowed && self.computed.missing.is_none(),
        }
    }
}

/// Everything a probe found (the SPEC's `probe --format json` object).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    /// Schema version (1).
    pub version: u32,
    /// The target as given.
    pub target: String,
    /// The protocol nginx speaks here.
    pub nginx_speaks: Scheme,
    /// Attempts, one per address in nginx's order.
    pub attempts: Vec<Attempt>,
    /// What the peer actually speaks (first address that told us).
    pub protocol: Speaks,
    /// The conclusion.
    pub verdict: Verdict,
    /// The SPEC root cause the verdict points to.
    pub cause: Option<Cause>,
    /// One sentence, verdict first.
    pub summary: String,
    /// Name resolution (TCP targets).
    pub resolution: Option<Resolution>,
    /// Worker permission check (unix targets, when the worker is known).
    pub worker: Option<WorkerCheck>,
    /// The header buffer size the head was compared with.
    pub buffer_size: usize,
    /// The per-phase timeout in force, in milliseconds.
    pub timeout_ms: f64,
    /// Total time in milliseconds.
    pub ms: f64,
}

impl Attempt {
    /// A fresh attempt record.
    pub fn new(
        address: String,
        family: &'static str,
        connect: ConnectOutcome,
        errno: Option<i32>,
        ms: f64,
    ) -> Attempt {
        Attempt {
            address,
            family,
            connect,
            errno,
            errno_name: errno.map(crate::connect::errno_name),
            error: errno.map(errno_text),
            ms,
            exchange: None,
            identify: Vec::new(),
            tls_alternate: None,
            protocol: Speaks::Unknown,
            verdict: Verdict::ConnectFailed,
        }
    }

    /// The HTTP facts nginx's own exchange got (inside TLS for https).
    pub fn http(&self) -> Option<&crate::http::HttpFacts> {
        let ex = self.exchange.as_ref()?;
        ex.http
            .as_ref()
            .or_else(|| ex.inner.as_ref().and_then(|i| i.http.as_ref()))
    }

    /// The HTTP status nginx would get, when the peer speaks HTTP (or the
    /// CGI status of a FastCGI/uwsgi/SCGI answer).
    pub fn http_status(&self) -> Option<u16> {
        let ex = self.exchange.as_ref()?;
        self.http()
            .map(|h| h.status)
            .or_else(|| ex.fastcgi.as_ref().and_then(|f| f.status))
            .or_else(|| ex.cgi.as_ref().and_then(|c| c.status))
    }

    /// The response header block size, when one was read.
    pub fn header_bytes(&self) -> Option<usize> {
        let ex = self.exchange.as_ref()?;
        self.http()
            .map(|h| h.header_bytes)
            .or_else(|| ex.fastcgi.as_ref().and_then(|f| f.header_bytes))
            .or_else(|| ex.cgi.as_ref().and_then(|c| c.header_bytes))
    }

    /// The `Server` header, when any.
    pub fn server_header(&self) -> Option<&str> {
        let ex = self.exchange.as_ref()?;
        self.http()
            .and_then(|h| h.server.as_deref())
            .or_else(|| ex.cgi.as_ref().and_then(|c| c.server.as_deref()))
    }

    /// The TLS handshake as nginx does it, when the target is TLS.
    pub fn tls(&self) -> Option<&crate::tls::TlsFacts> {
        self.exchange.as_ref()?.tls.as_ref()
    }

    /// Why nginx's TLS handshake fails (`alert handshake_failure`,
    /// `legacy-tls`, …), when it does.
    pub fn tls_error(&self) -> Option<String> {
        let t = self.tls()?;
        if t.ok {
            return None;
        }
        Some(match t.alert {
            Some(alert) => format!("alert {alert}"),
            None => t.error_kind.unwrap_or("error").to_owned(),
        })
    }

    /// Whether the handshake fails without SNI but works with it (nginx
    /// needs `proxy_ssl_server_name on`).
    pub fn tls_needs_sni(&self) -> bool {
        let (Some(t), Some(alt)) = (self.tls(), self.tls_alternate.as_ref()) else {
            return false;
        };
        !t.ok && t.sni.is_none() && alt.ok && alt.sni.is_some()
    }

    /// Decide what the peer speaks and this address's verdict.
    pub fn conclude(&mut self, scheme: Scheme, buffer_size: usize) {
        let Some(ex) = &self.exchange else {
            self.protocol = Speaks::Unknown;
            self.verdict = if self.connect == ConnectOutcome::DnsFailure {
                Verdict::DnsFailure
            } else {
                Verdict::ConnectFailed
            };
            return;
        };
        let identified = self
            .identify
            .iter()
            .map(|e| e.speaks)
            .find(|s| s.is_protocol());
        self.protocol = if ex.speaks.is_protocol() {
            ex.speaks
        } else {
            identified.unwrap_or(ex.speaks)
        };
        let expected = Speaks::expected_for(scheme);
        self.verdict = if scheme.is_tls() {
            tls_verdict(ex, scheme, buffer_size, self.protocol)
        } else if ex.speaks == expected {
            answer_verdict(ex, buffer_size)
        } else if ex.speaks.is_protocol() || identified.is_some_and(|p| p != expected) {
            Verdict::ProtocolMismatch
        } else if ex.speaks == Speaks::Silent {
            Verdict::NoAnswer
        } else if ex.speaks == Speaks::Closed {
            Verdict::ClosedWithoutAnswer
        } else {
            Verdict::ProtocolMismatch
        };
    }
}

fn tls_verdict(ex: &Exchange, scheme: Scheme, buffer_size: usize, protocol: Speaks) -> Verdict {
    let Some(tls) = &ex.tls else {
        return Verdict::TlsFailed;
    };
    if !tls.ok {
        return match tls.peer_speaks {
            Some(p) if p.is_protocol() && p != Speaks::Tls => Verdict::ProtocolMismatch,
            _ if protocol.is_protocol() && protocol != Speaks::Tls => Verdict::ProtocolMismatch,
            _ => Verdict::TlsFailed,
        };
    }
    let Some(inner) = &ex.inner else {
        return Verdict::Ok;
    };
    let want = if scheme == Scheme::Grpcs {
        Speaks::H2
    } else {
        Speaks::Http
    };
    match inner.speaks {
        s if s == want => answer_verdict(inner, buffer_size),
        Speaks::Silent => Verdict::NoAnswer,
        Speaks::Closed => Verdict::ClosedWithoutAnswer,
        _ => Verdict::ProtocolMismatch,
    }
}

/// The verdict for an answer in the right protocol.
fn answer_verdict(ex: &Exchange, buffer_size: usize) -> Verdict {
    if ex.http_error.is_some() && ex.http.is_none() {
        return if ex.ended == Ended::Cap || ex.bytes > buffer_size {
            Verdict::HeaderTooBig
        } else {
            Verdict::InvalidResponse
        };
    }
    if let Some(h) = &ex.http
        && h.header_bytes > buffer_size
    {
        return Verdict::HeaderTooBig;
    }
    if let Some(f) = &ex.fastcgi {
        if matches!(f.protocol_status, Some(1 | 2)) {
            return Verdict::Overloaded;
        }
        if f.header_bytes.is_some_and(|n| n > buffer_size) {
            return Verdict::HeaderTooBig;
        }
        if f.violation.is_some() {
            return Verdict::InvalidResponse;
        }
    }
    if let Some(c) = &ex.cgi
        && c.header_bytes.is_some_and(|n| n > buffer_size)
    {
        return Verdict::HeaderTooBig;
    }
    Verdict::Ok
}

/// The SPEC cause for a verdict on an attempt.
pub fn cause_for(verdict: Verdict, attempt: &Attempt, unix: bool) -> Option<Cause> {
    Some(match verdict {
        Verdict::Ok => return None,
        Verdict::DnsFailure => Cause::DnsFailure,
        Verdict::ConnectFailed => match attempt.connect {
            ConnectOutcome::Refused => Cause::UpstreamDown,
            ConnectOutcome::NotFound => Cause::SocketMissing,
            ConnectOutcome::PermissionDenied if unix => Cause::SocketPermission,
            ConnectOutcome::PermissionDenied => Cause::PolicyDenied,
            ConnectOutcome::Timeout => Cause::ConnectTimeout,
            ConnectOutcome::Unreachable => Cause::NetworkUnreachable,
            ConnectOutcome::Again => Cause::BackendOverloaded,
            ConnectOutcome::Error if attempt.errno == Some(libc::EADDRNOTAVAIL) => {
                Cause::PortExhaustion
            }
            _ => Cause::Unknown,
        },
        Verdict::ProtocolMismatch => Cause::ProtocolMismatch,
        Verdict::NoAnswer => Cause::UpstreamTimeout,
        Verdict::ClosedWithoutAnswer => Cause::Unknown,
        Verdict::TlsFailed => Cause::TlsError,
        Verdict::HeaderTooBig => Cause::HeaderTooBig,
        Verdict::InvalidResponse => Cause::InvalidResponse,
        Verdict::Overloaded => Cause::BackendOverloaded,
        Verdict::WorkerDenied => Cause::SocketPermission,
    })
}

impl ProbeReport {
    /// Whether the nginx worker user can connect (unix sockets, when the
    /// worker was known): the real attempt's answer when there was one, else
    /// the computed one; with the errno when denied.
    pub fn as_worker(&self) -> Option<(bool, Option<i32>)> {
        let w = self.worker.as_ref()?;
        Some(match &w.attempt {
            Some(a) => (a.connect == ConnectOutcome::Ok, a.errno),
            None if w.computed.allowed => (true, None),
            None if w.computed.missing.is_some() => (false, Some(libc::ENOENT)),
            None => (false, Some(libc::EACCES)),
        })
    }

    /// Assemble the report: pick the deciding attempt (the first failing
    /// one in nginx's order, else the first), the cause, and the sentence.
    pub fn assemble(
        target: &Target,
        resolution: Option<Resolution>,
        attempts: Vec<Attempt>,
        worker: Option<WorkerCheck>,
        buffer_size: usize,
        timeout_ms: f64,
        ms: f64,
    ) -> ProbeReport {
        let unix = matches!(target.endpoint, Endpoint::Unix { .. });
        let protocol = attempts
            .iter()
            .map(|a| a.protocol)
            .find(|p| p.is_protocol())
            .or_else(|| {
                attempts
                    .iter()
                    .find(|a| a.exchange.is_some())
                    .map(|a| a.protocol)
            })
            .unwrap_or(Speaks::Unknown);
        let failing = attempts.iter().find(|a| !a.verdict.is_ok());
        let deciding = failing.or(attempts.first());
        let mut verdict = deciding.map_or(Verdict::DnsFailure, |a| a.verdict);
        let mut cause = deciding.and_then(|a| cause_for(verdict, a, unix));
        // What the worker meets first decides, unless the probe's own
        // connect failed too (then that failure is the story).
        let connected = attempts.iter().any(|a| a.connect == ConnectOutcome::Ok);
        if worker.as_ref().is_some_and(WorkerCheck::denied) && connected {
            verdict = Verdict::WorkerDenied;
            cause = Some(Cause::SocketPermission);
        }
        let some_ok = attempts.iter().any(|a| a.verdict.is_ok());
        if some_ok
            && failing.is_some_and(|a| a.verdict == Verdict::ConnectFailed)
            && verdict == Verdict::ConnectFailed
        {
            cause = Some(Cause::AddressMismatch);
        }
        let mut report = ProbeReport {
            version: 1,
            target: target.text.clone(),
            nginx_speaks: target.scheme,
            attempts,
            protocol,
            verdict,
            cause,
            summary: String::new(),
            resolution,
            worker,
            buffer_size,
            timeout_ms,
            ms,
        };
        report.summary = crate::summary::sentence(&report);
        report
    }

    /// The attempt the verdict rests on.
    pub fn deciding_attempt(&self) -> Option<&Attempt> {
        self.attempts
            .iter()
            .find(|a| !a.verdict.is_ok())
            .or(self.attempts.first())
    }
}

/// What nginx's own exchange sent, for the sentence ("FCGI_GET_VALUES").
pub fn sent_name(sent: Sent) -> &'static str {
    match sent {
        Sent::HttpRequest => "an HTTP/1.0 GET",
        Sent::FastcgiGetValues => "FCGI_GET_VALUES",
        Sent::FastcgiRequest => "a FastCGI request",
        Sent::UwsgiRequest => "a uwsgi request",
        Sent::ScgiRequest => "an SCGI request",
        Sent::H2Preface => "the HTTP/2 preface",
        Sent::TlsClientHello => "a TLS ClientHello",
        Sent::MemcachedVersion => "memcached `version`",
    }
}
