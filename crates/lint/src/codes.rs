//! The lint table: every lint's stable code, severity, the SPEC cause the
//! mistake invites, a one-line title and a longer help text. Codes are
//! never renamed (they appear in JSON, SARIF rule ids and users' CI
//! filters); new lints are added at the end. LINTS.md documents each one
//! with an example and the nginx behaviour it rests on.

use std::fmt;

use badgateway_cause::{Cause, Severity};
use serde::{Serialize, Serializer};

macro_rules! lints {
    ($( $(#[$doc:meta])* $variant:ident => $code:literal, $sev:ident, $cause:expr,
        $title:literal, $help:literal; )*) => {
        /// A lint: one kind of configuration mistake.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Lint {
            $( $(#[$doc])* $variant, )*
        }

        impl Lint {
            /// Every lint, in table order.
            pub const ALL: &'static [Lint] = &[$(Lint::$variant),*];

            /// The stable kebab-case code (`keepalive-without-http11`).
            pub const fn code(self) -> &'static str {
                match self { $(Lint::$variant => $code),* }
            }

            /// How serious a finding of this lint is.
            pub const fn severity(self) -> Severity {
                match self { $(Lint::$variant => Severity::$sev),* }
            }

            /// The SPEC root cause the mistake invites, if any.
            pub const fn cause(self) -> Option<Cause> {
                match self { $(Lint::$variant => $cause),* }
            }

            /// One line saying what the lint finds.
            pub const fn title(self) -> &'static str {
                match self { $(Lint::$variant => $title),* }
            }

            /// Why it matters and what to do, in general terms.
            pub const fn help(self) -> &'static str {
                match self { $(Lint::$variant => $help),* }
            }
        }
    };
}

lints! {
    /// A non-glob `include` names a file that does not exist.
    IncludeMissing => "include-missing", Critical, Some(Cause::StaleConfig),
        "include names a file that does not exist",
        "nginx refuses a configuration whose non-glob include is missing: it will not start, and a reload fails and leaves the old configuration running.";
    /// An included file could not be read by this tool.
    IncludeUnreadable => "include-unreadable", Info, None,
        "included file could not be read; its directives were not checked",
        "The file exists but could not be read (usually permissions: run as root or as nginx's user to check it). Lints that depend on its directives may be incomplete.";
    /// A `*_pass` argument nginx rejects.
    PassInvalid => "pass-invalid", Critical, Some(Cause::StaleConfig),
        "*_pass argument nginx rejects",
        "nginx -t fails on a *_pass whose URL has no valid scheme (proxy_pass needs http:// or https://), port, host or socket path.";
    /// `proxy_pass` with a URI part where nginx forbids one.
    PassUriNotAllowed => "pass-uri-not-allowed", Critical, Some(Cause::StaleConfig),
        "proxy_pass has a URI part in a regex location, named location, if or limit_except",
        "nginx cannot know which part of the request URI to replace there, so it rejects the URI part; remove it, or rewrite the URI explicitly and pass without a URI part.";
    /// `proxy_pass http://group:port`.
    UpstreamPortOnGroup => "upstream-port-on-group", Critical, Some(Cause::StaleConfig),
        "pass names an upstream block with a port",
        "Ports belong on the upstream block's server lines; nginx rejects `upstream \"x\" may not have port N`.";
    /// An upstream block without servers.
    UpstreamEmpty => "upstream-empty", Critical, Some(Cause::StaleConfig),
        "upstream block has no server",
        "nginx rejects an upstream block with no server line (`no servers are inside upstream`).";
    /// An upstream `server` line nginx rejects.
    UpstreamServerInvalid => "upstream-server-invalid", Critical, Some(Cause::StaleConfig),
        "upstream server line nginx rejects",
        "A malformed address, `backup` with a hash/ip_hash/random balancer, or a parameter this nginx version does not know makes nginx -t fail.";
    /// Buffer sizes that nginx's merge step rejects.
    BuffersRejected => "buffers-rejected", Critical, Some(Cause::StaleConfig),
        "*_buffer_size / *_buffers / *_busy_buffers_size combination nginx rejects",
        "nginx checks the buffer sizes of every http, server and location level even when buffering is off: the busy size (default twice the larger of buffer_size and one buffer) must be at least that larger size and less than all buffers minus one.";
    /// A `*_next_upstream` value the module does not have.
    NextUpstreamInvalid => "next-upstream-invalid", Critical, Some(Cause::StaleConfig),
        "*_next_upstream value the module does not know",
        "fastcgi, uwsgi and scgi have no http_502/http_504 conditions (their masks lack them) and memcached has its own list; nginx -t fails with `invalid value`.";
    /// `proxy_pass http://NAME` where NAME is a near-miss of an upstream block's name.
    UpstreamNameTypo => "upstream-name-typo", Critical, Some(Cause::DnsFailure),
        "pass target looks like a misspelt upstream name",
        "A pass host that matches no upstream block is resolved as a host name when nginx starts; a misspelt group name does not resolve, so nginx -t fails with `host not found in upstream`.";
    /// `proxy_pass http://NAME` where NAME is a single-label name with no upstream block.
    UpstreamUndefined => "upstream-undefined", Warning, Some(Cause::DnsFailure),
        "pass target names no upstream block and is not a full host name",
        "nginx resolves a single-label name once at start-up with the system resolver: it works for container service names or /etc/hosts entries; anywhere else nginx refuses to start (`host not found in upstream`), and an IP change later is never seen.";
    /// Variables in the host of a `*_pass` with no `resolver`.
    VariablePassWithoutResolver => "variable-pass-without-resolver", Warning, Some(Cause::DnsFailure),
        "*_pass host comes from variables and no resolver is set",
        "A *_pass with variables is resolved per request: an upstream block name or an IP literal works, anything else needs a `resolver`, else every such request gets 502 with `no resolver defined to resolve …`.";
    /// A static host name with variables elsewhere in the URL and no `resolver`.
    HostnamePassWithoutResolver => "hostname-pass-without-resolver", Critical, Some(Cause::DnsFailure),
        "*_pass with variables names a host name and no resolver is set",
        "Because the argument has variables, nginx resolves the host name per request with the `resolver`, not at start-up; without one every request fails with 502 `no resolver defined to resolve NAME`.";
    /// Upstream keepalive defeated by HTTP/1.0 or `Connection: close`.
    KeepaliveWithoutHttp11 => "keepalive-without-http11", Warning, Some(Cause::KeepaliveRace),
        "upstream keepalive without proxy_http_version 1.1 and an empty Connection header",
        "Before nginx 1.29.7, proxy_pass speaks HTTP/1.0 and sends `Connection: close`, so the idle connections kept by `keepalive` are never reused: each request opens a new connection (TIME_WAIT build-up) and any partial setup invites stale-connection resets. Set both directives in every location (a proxy_set_header at a lower level drops all inherited ones).";
    /// FastCGI keepalive without `fastcgi_keep_conn on`.
    KeepaliveWithoutKeepConn => "keepalive-without-keep-conn", Info, None,
        "upstream keepalive for FastCGI without fastcgi_keep_conn on",
        "Without fastcgi_keep_conn on, nginx asks the FastCGI server to close the connection after each request, so the upstream keepalive cache stays empty.";
    /// `localhost` as a backend address.
    LocalhostUpstream => "localhost-upstream", Warning, Some(Cause::AddressMismatch),
        "backend addressed as localhost (IPv4/IPv6 ambiguity)",
        "localhost resolves to both 127.0.0.1 and ::1, so nginx makes two peers and alternates between them; a backend listening on one family only refuses every other connection (connect() failed (111) or (99) on [::1]), and the failures mark the peer down for fail_timeout.";
    /// Unix socket path that does not exist.
    UnixSocketMissing => "unix-socket-missing", Critical, Some(Cause::SocketMissing),
        "unix socket path does not exist",
        "connect() fails with (2: No such file or directory) and every request gets 502: the backend is stopped, runs another version (php8.1 vs php8.2), or its socket is in a private /tmp.";
    /// Unix socket path that is not a socket.
    UnixSocketNotSocket => "unix-socket-not-socket", Critical, Some(Cause::SocketMissing),
        "unix socket path exists but is not a socket",
        "connect() to a regular file or directory fails (111: Connection refused) and every request gets 502.";
    /// Unix socket whose directory could not be searched.
    UnixSocketUnchecked => "unix-socket-unchecked", Info, Some(Cause::SocketPermission),
        "unix socket path could not be checked (permission denied)",
        "This tool could not look at the path; if nginx's worker user cannot search the directory either, connect() fails with (13: Permission denied).";
    /// A socket file nobody listens on.
    UnixSocketStale => "unix-socket-stale", Critical, Some(Cause::UpstreamDown),
        "unix socket file exists but nothing listens on it",
        "A socket file left behind by a stopped backend: connect() fails with (111: Connection refused).";
    /// TCP where the backend listens on a unix socket, or the other way round.
    TcpUnixMixup => "tcp-unix-mixup", Critical, Some(Cause::AddressMismatch),
        "pass uses TCP where the backend listens on a unix socket, or the reverse",
        "The configured address has no listener but the backend listens on the other kind of socket (PHP-FPM's `listen` is a unix socket on Debian, 127.0.0.1:9000 elsewhere).";
    /// Nothing listens at a loopback TCP backend address.
    LoopbackNotListening => "loopback-not-listening", Critical, Some(Cause::UpstreamDown),
        "nothing listens at the local backend address",
        "connect() fails with (111: Connection refused) and requests get 502 until the backend runs there.";
    /// Read/send timeout low enough to turn slow responses into 504s.
    TimeoutTooLow => "timeout-too-low", Warning, Some(Cause::UpstreamTimeout),
        "upstream read/send timeout under 10 seconds",
        "The read timeout runs between two reads of the response (the send timeout between two writes); any backend pause longer than it becomes a 504 `upstream timed out`. Ten seconds is shorter than many report, export or cold-start requests.";
    /// Connect timeout under one SYN retransmission.
    ConnectTimeoutTooLow => "connect-timeout-too-low", Warning, Some(Cause::ConnectTimeout),
        "upstream connect timeout under 1 second",
        "Linux retransmits an unanswered SYN after 1 s, so a connect timeout below that turns every lost SYN into a 504 `upstream timed out … while connecting to upstream`.";
    /// Connect timeout beyond the kernel's own SYN give-up time.
    ConnectTimeoutTooHigh => "connect-timeout-too-high", Info, Some(Cause::ConnectTimeout),
        "upstream connect timeout above 75 seconds",
        "nginx documents that the connect timeout cannot usually exceed 75 s; past about 127 s the kernel gives up first and the client gets 502 (110) instead of 504, and each dead backend holds a connection that long.";
    /// Client-side timeouts long enough to help slowloris.
    ClientTimeoutTooHigh => "client-timeout-too-high", Warning, Some(Cause::WorkerConnections),
        "client header/body/send/keepalive timeout above 5 minutes",
        "Each slow or idle client holds a connection for the whole timeout: a few hundred slowloris clients exhaust worker_connections and nginx stops accepting (`worker_connections are not enough`).";
    /// `*_buffer_size` smaller than one page.
    BufferSizeTooSmall => "buffer-size-too-small", Warning, Some(Cause::HeaderTooBig),
        "upstream header buffer smaller than nginx's 4k default",
        "The whole response header (status line, cookies, CSP…) must fit in *_buffer_size; a smaller buffer than nginx's default page turns ordinary responses into 502 `upstream sent too big header`.";
    /// `proxy_pass https://NAME` without SNI.
    SslWithoutSni => "ssl-without-sni", Warning, Some(Cause::TlsError),
        "TLS to a named backend without proxy_ssl_server_name on",
        "nginx sends no SNI by default, so a TLS backend that serves several names (CDN, load balancer, ingress, most virtual hosts) aborts the handshake (`sslv3 alert handshake failure`, `unrecognized name`) or serves the wrong certificate: 502.";
    /// `proxy_ssl_verify on` checking the certificate against the upstream block's name.
    SslVerifyGroupName => "ssl-verify-group-name", Warning, Some(Cause::TlsError),
        "certificate verification against the upstream block's name",
        "With proxy_ssl_verify on, the certificate is checked against proxy_ssl_name, which defaults to the host in proxy_pass: for an upstream block that is the block's name, rarely a real certificate name (`upstream SSL certificate does not match`).";
    /// FastCGI without `SCRIPT_FILENAME` or without any params.
    FastcgiMissingParams => "fastcgi-missing-params", Warning, None,
        "fastcgi_pass without SCRIPT_FILENAME (or without any fastcgi_param)",
        "PHP-FPM and fcgiwrap find the script through SCRIPT_FILENAME; without it they answer `Primary script unknown` (404) or an empty page. A fastcgi_param at a lower level replaces every inherited one.";
    /// max_fails/fail_timeout on a one-server group.
    SingleServerMaxFails => "single-server-max-fails", Info, None,
        "max_fails/fail_timeout on an upstream with a single server",
        "A group with one server (and no backup) is never marked failed and a failed attempt is never retried: max_fails, fail_timeout and *_next_upstream have no effect there.";
    /// Every server of a group is marked down.
    UpstreamAllDown => "upstream-all-down", Critical, Some(Cause::ServersMarkedDown),
        "every server of the upstream is marked down",
        "With every primary server `down` and no backup, nginx answers 502 `no live upstreams` without trying any backend.";
    /// `*_next_upstream … non_idempotent`.
    NextUpstreamNonIdempotent => "next-upstream-non-idempotent", Warning, None,
        "*_next_upstream retries non-idempotent requests",
        "With non_idempotent, a POST, PATCH or LOCK that already reached one backend is sent again to the next one after an error or timeout: orders, payments and messages can be executed twice.";
    /// `worker_connections` above the open-file limit.
    WorkerConnectionsOverNofile => "worker-connections-over-nofile", Warning, Some(Cause::FdExhaustion),
        "worker_connections above the open-file limit",
        "Every client and upstream connection is a file descriptor: a worker allowed more connections than its open-file limit fails with (24: Too many open files) before reaching worker_connections.";
    /// `error_page` turning upstream errors into a success status.
    ErrorPageMasksStatus => "error-page-masks-status", Warning, None,
        "error_page turns 502/504 into a success status",
        "`error_page 502 =200 …` answers upstream failures with 200: monitoring and access-log based alerts stop seeing them.";
    /// `*_intercept_errors on` with an error_page for 502/503/504.
    InterceptErrorsHides5xx => "intercept-errors-hides-5xx", Info, Some(Cause::BackendReturnedError),
        "intercept_errors replaces the backend's own 5xx pages",
        "With *_intercept_errors on and an error_page for 502/503/504, a 5xx produced by the backend gets nginx's error page: the client can no longer tell a backend error (nothing in nginx's error log) from nginx's own 502.";
    /// `location /a { proxy_pass http://b/x/; }` style slash mismatch.
    ProxyPassUriSlash => "proxy-pass-uri-slash", Warning, None,
        "proxy_pass URI part and location disagree on the trailing slash",
        "nginx replaces exactly len(location) bytes of the request URI with the URI part: `location /api` + `/v1/` sends /v1//users, `location /api/` + `/v1` sends /v1users.";
    /// `proxy_pass http://$host/path` sends the same URI for every request.
    ProxyPassVariableUri => "proxy-pass-variable-uri", Warning, None,
        "proxy_pass with variables and a fixed URI sends that URI for every request",
        "When proxy_pass has variables and a URI part, nginx sends exactly the evaluated URI: nothing from the request path or query is appended.";
    /// Static host names are resolved once.
    HostnameResolvedOnce => "hostname-resolved-once", Info, Some(Cause::DnsFailure),
        "backend host name resolved only at start-up",
        "A host name in proxy_pass or an upstream server line is resolved when nginx starts or reloads; if its addresses change (cloud load balancers, containers), nginx keeps connecting to the old ones until reloaded.";
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Lint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl std::str::FromStr for Lint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lint::ALL
            .iter()
            .copied()
            .find(|l| l.code() == s)
            .ok_or_else(|| format!("unknown lint code {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for &l in Lint::ALL {
            assert!(seen.insert(l.code()), "duplicate {}", l.code());
            assert!(
                l.code()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                l.code()
            );
            assert_eq!(l.code().parse::<Lint>(), Ok(l));
            assert!(!l.title().is_empty() && !l.help().is_empty());
        }
    }

    #[test]
    fn every_lint_is_documented() {
        let doc = include_str!("../LINTS.md");
        for &l in Lint::ALL {
            assert!(
                doc.contains(&format!("### `{}`", l.code())),
                "LINTS.md lacks a section for {}",
                l.code()
            );
        }
    }
}
