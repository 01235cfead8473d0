//! The message kinds: one per catalogue row, with stable snake_case names
//! (they appear in JSON as `by_kind` keys and sample kinds).

use serde::Serialize;

macro_rules! kinds {
    ($( $(#[$doc:meta])* $v:ident => $name:literal, )*) => {
        /// A message kind: one row of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum Kind { $( $(#[$doc])* #[serde(rename = $name)] $v, )* }

        impl Kind {
            /// Every kind, in catalogue order.
            pub const ALL: &'static [Kind] = &[$(Kind::$v),*];
            /// The stable snake_case name.
            pub const fn as_str(self) -> &'static str {
                match self { $(Kind::$v => $name),* }
            }
            /// Index into [`Kind::ALL`].
            pub const fn index(self) -> usize { self as usize }
        }
    };
}

kinds! {
    /// `connect() failed (111: Connection refused)`.
    ConnectRefused => "connect_refused",
    /// `connect() to unix:… failed (2: No such file or directory)`.
    SocketMissing => "socket_missing",
    /// `connect() to unix:… failed (13: Permission denied)`.
    SocketPermission => "socket_permission",
    /// `connect() to IP:PORT failed (13: Permission denied)` or `(1: …)`.
    ConnectDenied => "connect_denied",
    /// `connect() to unix:… failed (11: Resource temporarily unavailable)`.
    SocketBacklogFull => "socket_backlog_full",
    /// `connect() to … failed (99: Cannot assign requested address)`.
    PortExhaustion => "port_exhaustion",
    /// `connect() failed (113: No route to host)`, `(101: Network is unreachable)`.
    Unreachable => "unreachable",
    /// `connect() failed (110: Connection timed out)` (the kernel gave up: 502).
    ConnectTimeoutKernel => "connect_timeout_kernel",
    /// `connect() failed (104: Connection reset by peer)`.
    ConnectReset => "connect_reset",
    /// `connect() failed` with another errno.
    ConnectFailedOther => "connect_failed",
    /// `upstream timed out (110: …) while connecting to upstream`.
    ConnectTimeout => "connect_timeout",
    /// `no live upstreams`.
    NoLiveUpstreams => "no_live_upstreams",
    /// `upstream server temporarily disabled` (warn).
    PeerDisabled => "peer_disabled",
    /// `socket() failed (24: Too many open files)`.
    SocketFdExhaustion => "socket_fd_exhaustion",
    /// `socket() failed (97: Address family not supported by protocol)`.
    SocketNoFamily => "socket_no_family",
    /// `N worker_connections are not enough`.
    WorkerConnections => "worker_connections",
    /// `N worker_connections are not enough, reusing connections` (warn).
    WorkerConnectionsReusing => "worker_connections_reusing",
    /// `bind(ADDR) failed`.
    BindFailed => "bind_failed",
    /// `no resolver defined to resolve NAME`.
    NoResolver => "no_resolver",
    /// `NAME could not be resolved (N: text)`.
    NotResolved => "not_resolved",
    /// Resolver socket errors (`… while resolving, resolver: …`).
    ResolverIo => "resolver_io",
    /// `SSL_do_handshake() failed … while SSL handshaking to upstream`.
    TlsHandshake => "tls_handshake",
    /// `upstream SSL certificate verify error: (N:text)`.
    TlsVerify => "tls_verify",
    /// `upstream SSL certificate does not match "NAME"`.
    TlsNameMismatch => "tls_name_mismatch",
    /// `peer closed connection in SSL handshake` to the upstream.
    TlsPeerClosed => "tls_peer_closed",
    /// `upstream timed out … while SSL handshaking to upstream`.
    TlsTimeout => "tls_timeout",
    /// `upstream prematurely sent response` (plain text before TLS; 1.29.5+).
    TlsPlaintextResponse => "tls_plaintext_response",
    /// `upstream timed out … while sending request to upstream`.
    SendTimeout => "send_timeout",
    /// `writev()/send() failed (32: Broken pipe) while sending request to upstream`.
    SendFailed => "send_failed",
    /// `upstream timed out … while reading response header from upstream`.
    ReadTimeout => "read_timeout",
    /// `upstream prematurely closed connection while reading response header`.
    PrematureClose => "premature_close",
    /// `recv() failed (104: Connection reset by peer)` while reading the header.
    ConnectionReset => "connection_reset",
    /// `recv() failed (110: …)`/`(113: …)` while reading: the network path broke.
    ConnectionLost => "connection_lost",
    /// `SSL_read() failed (SSL: … unexpected eof while reading)` (nginx < 1.21.2, OpenSSL 3).
    SslUnexpectedEof => "ssl_unexpected_eof",
    /// `upstream sent too big header`.
    TooBigHeader => "too_big_header",
    /// `upstream sent invalid header`.
    InvalidHeader => "invalid_header",
    /// `upstream sent no valid HTTP/1.0 header`.
    NoValidHttpHeader => "no_valid_http_header",
    /// Header validation added in 1.23.0 (duplicate CL/TE, CL with TE, bad CL, unknown TE).
    BadFramingHeader => "bad_framing_header",
    /// `upstream sent invalid status` / `:status` problems.
    InvalidStatus => "invalid_status",
    /// `upstream sent HTTP/1.0 response with early hints` (1.29.0+).
    EarlyHintsHttp10 => "early_hints_http10",
    /// `upstream sent unsupported FastCGI protocol version: N`.
    FastcgiVersion => "fastcgi_version",
    /// `upstream sent invalid FastCGI record type` / `unexpected FastCGI request id`.
    FastcgiGarbage => "fastcgi_garbage",
    /// `upstream sent unexpected FastCGI record: N`.
    FastcgiUnexpectedRecord => "fastcgi_unexpected_record",
    /// `upstream prematurely closed FastCGI stdout` / `FastCGI request`.
    FastcgiPrematureEnd => "fastcgi_premature_end",
    /// `FastCGI sent in stderr: "…"`.
    FastcgiStderr => "fastcgi_stderr",
    /// `upstream sent too large http2 frame: N` (4740180 = an HTTP/1.x reply).
    H2FrameTooLarge => "h2_frame_too_large",
    /// `upstream rejected request with error N` / `sent goaway with error N`.
    H2Rejected => "h2_rejected",
    /// `upstream prematurely closed stream`.
    H2PrematureClose => "h2_premature_close",
    /// Other HTTP/2 framing, HPACK or flow-control errors from a gRPC/h2 upstream.
    H2Protocol => "h2_protocol",
    /// `memcached sent invalid …`.
    MemcachedInvalid => "memcached_invalid",
    /// `upstream timed out … while reading upstream` (body phase).
    BodyTimeout => "body_timeout",
    /// `upstream prematurely closed connection while reading upstream`.
    BodyPrematureClose => "body_premature_close",
    /// `readv()/recv() failed (104: …) while reading upstream`.
    BodyReset => "body_reset",
    /// `upstream sent invalid chunked response`.
    InvalidChunked => "invalid_chunked",
    /// `upstream sent more data than specified in "Content-Length" header` (warn).
    ContentLengthExcess => "content_length_excess",
    /// `upstream sent data after final chunk` / `after trailers` (warn).
    DataAfterEnd => "data_after_end",
    /// `upstream sent too big trailers` / `invalid trailer`.
    BadTrailers => "bad_trailers",
    /// `upstream timed out … while proxying upgraded connection` (info).
    UpgradedTimeout => "upgraded_timeout",
    /// Request-building failures that give 500 (`no port in upstream`,
    /// `invalid URL prefix`, `uwsgi request is too big`, …).
    RequestBuildFailed => "request_build_failed",
    /// Any other `upstream sent …` complaint.
    UpstreamSentOther => "upstream_sent_other",
    /// An `[error]` (or worse) while talking to an upstream, of a shape not
    /// in this catalogue.
    UpstreamOther => "upstream_other",
    /// `an upstream response is buffered to a temporary file` (warn).
    UpstreamBuffered => "upstream_buffered",
    /// The client went away while nginx waited for the upstream (499).
    ClientAbortUpstream => "client_abort_upstream",
    /// Client-side errors: timeouts, resets, closed connections, bad requests.
    ClientSide => "client_side",
    /// `limiting requests` / `limiting connections` (nginx's own 503).
    RateLimited => "rate_limited",
    /// Config load/reload errors (`[emerg]`), e.g. `host not found in upstream`.
    ConfigError => "config_error",
    /// Process lifecycle notices (reload, worker start/exit, signals).
    Lifecycle => "lifecycle",
    /// nginx out of descriptors outside upstream work (`accept4() failed (24: …)`).
    FdExhaustionOther => "fd_exhaustion_other",
    /// Any other entry.
    Other => "other",
    /// A line without a valid header (garbage or a stray continuation).
    Unparsed => "unparsed",
}
