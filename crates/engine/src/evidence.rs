//! What the engine reasons over: plain values gathered by the caller from
//! the config model, the logs, the probes and the host. Every field is a
//! fact that was observed (or `None`/empty when it could not be); nothing
//! here is a conclusion.

use std::net::IpAddr;

use serde::Serialize;

/// Everything known about one nginx and its backends.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    /// The nginx being diagnosed.
    pub nginx: NginxInfo,
    /// Every upstream the config passes requests to.
    pub upstreams: Vec<Upstream>,
    /// Error/access log facts for the window.
    pub log: LogEvidence,
    /// Probe results, one per peer address probed.
    pub probes: Vec<ProbeResult>,
    /// Host facts.
    pub host: HostEvidence,
    /// Config findings (from the linter), already with cause and severity.
    pub lints: Vec<ConfigIssue>,
    /// Parts of the diagnosis that could not be done, and why.
    pub not_checked: Vec<String>,
}

/// The nginx instance.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NginxInfo {
    /// Binary path, when known.
    pub binary: Option<String>,
    /// Version, when known.
    pub version: Option<String>,
    /// Main config file.
    pub config: Option<String>,
    /// Master pid, when running.
    pub master_pid: Option<u32>,
    /// The worker user (`user` directive, or nginx's default).
    pub worker_user: Option<String>,
    /// TCP ports the config's `listen` directives open (http and stream):
    /// a listener there is nginx itself, even when the process owning it
    /// cannot be seen.
    pub listen_ports: Vec<u16>,
}

/// An upstream as nginx will use it: an `upstream {}` group, or the
/// implicit one-server group of a `*_pass` with a fixed address.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Upstream {
    /// The name nginx prints when no peer could be chosen: the group name,
    /// or the address text for implicit upstreams.
    pub name: String,
    /// Whether it is an explicit `upstream {}` block.
    pub explicit: bool,
    /// `http`, `https`, `fastcgi`, `uwsgi`, `scgi`, `grpc`, `grpcs`, `memcached`.
    pub protocol: String,
    /// Its servers, resolved to the addresses nginx connects to.
    pub peers: Vec<Peer>,
    /// `file:line` of every `*_pass` that uses it.
    pub used_at: Vec<String>,
    /// Locations (`file:line location /x`) that use it.
    pub locations: Vec<String>,
    /// Effective settings at the (first) location that uses it.
    pub settings: Settings,
    /// `file:line` of the upstream block (explicit groups).
    pub defined_at: Option<String>,
}

/// One address nginx connects to.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Peer {
    /// As nginx prints it in logs: `127.0.0.1:8000`, `[::1]:8000`, `unix:/p`.
    pub address: String,
    /// The host name in the config, when the address came from resolving one.
    pub hostname: Option<String>,
    /// `file:line` of the `server` line (or the `*_pass`).
    pub defined_at: Option<String>,
    /// `backup`.
    pub backup: bool,
    /// `down`.
    pub down: bool,
    /// `max_conns`, when set.
    pub max_conns: Option<u32>,
}

impl Peer {
    /// The unix socket path, for unix peers.
    pub fn unix_path(&self) -> Option<&str> {
        self.address.strip_prefix("unix:")
    }

    /// (IP, port) for TCP peers with an IP literal.
    pub fn ip_port(&self) -> Option<(IpAddr, u16)> {
        split_ip_port(&self.address)
    }
}

/// Split `1.2.3.4:80` / `[::1]:80` into parts.
pub fn split_ip_port(s: &str) -> Option<(IpAddr, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.parse().ok()?, port.parse().ok()?))
}

/// Effective directive values that decide how failures show.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Settings {
    /// `*_connect_timeout` in ms and where it is set (`None` = default).
    pub connect_timeout: Option<Setting>,
    /// `*_read_timeout` in ms and where it is set.
    pub read_timeout: Option<Setting>,
    /// `*_buffer_size` in bytes and where it is set.
    pub buffer_size: Option<Setting>,
    /// `keepalive N` in the upstream block.
    pub keepalive: Option<u32>,
    /// Whether requests go out as HTTP/1.1 (proxy).
    pub http11: bool,
    /// Whether the `Connection` request header is cleared (proxy keepalive works).
    pub connection_cleared: bool,
    /// `proxy_ssl_server_name on`.
    pub ssl_server_name: bool,
    /// `*_next_upstream` values.
    pub next_upstream: Vec<String>,
}

/// A numeric setting and where it comes from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Setting {
    /// The value (ms for times, bytes for sizes).
    pub value: u64,
    /// As written (`60s`, `4k`).
    pub text: String,
    /// `file:line`, or `None` for nginx's default.
    pub at: Option<String>,
}

/// Log facts for the diagnosis window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogEvidence {
    /// Error-log files read (after rotation expansion).
    pub files: Vec<String>,
    /// First and last timestamp seen in the window.
    pub window: Option<(String, String)>,
    /// Upstream error entries, grouped by cause, message kind and upstream.
    pub groups: Vec<LogGroup>,
    /// Access-log facts, when an access log was read.
    pub access: Option<AccessEvidence>,
    /// nginx's own limits hit outside upstream work (`accept4() failed
    /// (24: Too many open files)`): not upstream errors, but evidence of
    /// the same root cause as the upstream errors they come with.
    pub limits: Vec<LogGroup>,
}

/// Error-log entries of one kind for one upstream.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogGroup {
    /// The cause the log alone points to (SPEC code).
    pub cause: badgateway_cause::Cause,
    /// The catalogue's message kind (`connect-refused`, `read-timeout`…).
    pub kind: String,
    /// errno, when the message carries one.
    pub errno: Option<i32>,
    /// The peer (`127.0.0.1:8000`, `unix:/p`) or group name from `upstream:`.
    pub upstream: Option<String>,
    /// The schema from `upstream:` (`http://`, `fastcgi://`…).
    pub schema: Option<String>,
    /// The status the client got (502, 504, 500), per the catalogue.
    pub status: Option<u16>,
    /// Number of entries.
    pub count: u64,
    /// Of those, requests that ended in a 5xx for the client (from the
    /// access-log join); `None` without an access log.
    pub failed_requests: Option<u64>,
    /// First and last timestamp.
    pub first: String,
    /// Last timestamp.
    pub last: String,
    /// One representative raw line.
    pub sample: String,
}

/// Access-log facts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccessEvidence {
    /// Requests read.
    pub requests: u64,
    /// Responses by status class of interest: 500, 502, 503, 504.
    pub status_5xx: Vec<(u16, u64)>,
    /// 5xx responses produced by the backend itself (upstream status equal
    /// to the final status, response header received, no error-log cause).
    pub backend_errors: Vec<BackendError>,
    /// 5xx responses served from nginx's cache (`$upstream_cache_status` HIT).
    pub cached_errors: Vec<BackendError>,
    /// Retry chains per peer where the same peer failed and then succeeded
    /// within one request (`502, 200` on one address): reused keep-alive
    /// connections that the backend had closed.
    pub reused_retries: Vec<(String, u64)>,
}

/// 5xx responses of one status from one peer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BackendError {
    /// The peer.
    pub upstream: String,
    /// The status.
    pub status: u16,
    /// How many.
    pub count: u64,
    /// A representative access-log line.
    pub sample: String,
}

/// The outcome of probing one peer now.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeResult {
    /// The peer address probed (as nginx prints it).
    pub address: String,
    /// `ok`, `refused`, `timeout`, `unreachable`, `reset`,
    /// `permission-denied`, `not-found`, `again`, `dns-failure`.
    pub connect: String,
    /// Raw errno of the connect, when it failed.
    pub errno: Option<i32>,
    /// Connect time in ms.
    pub ms: f64,
    /// What the peer speaks: `http`, `h2`, `fastcgi`, `uwsgi`, `tls`,
    /// `silent`, `closed`, `unknown`.
    pub protocol: Option<String>,
    /// HTTP status of a probe request, when it speaks HTTP.
    pub http_status: Option<u16>,
    /// Size of the response header block, when read.
    pub header_bytes: Option<u64>,
    /// The probe's verdict for this address (`ok`, `invalid-response`,
    /// `closed-without-answer`, `no-answer`, …).
    pub verdict: Option<String>,
    /// Milliseconds from sending the probe's request to the first byte of
    /// the answer, when one came.
    pub first_byte_ms: Option<f64>,
    /// `Server:` header, when any.
    pub server_header: Option<String>,
    /// TLS problem seen by a handshake the way nginx would do it.
    pub tls_error: Option<String>,
    /// Whether the handshake works with SNI but not without.
    pub tls_needs_sni: bool,
    /// Whether connecting as the nginx worker user works (unix sockets,
    /// when checked), with the errno when not.
    pub as_worker: Option<(bool, Option<i32>)>,
}

/// Host facts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostEvidence {
    /// Whether host facts were gathered at all (diagnose on the nginx host).
    pub inspected: bool,
    /// Listening sockets.
    pub listeners: Vec<Listener>,
    /// Unix socket files that exist (from the listeners and nearby
    /// directories of the configured sockets).
    pub socket_files: Vec<String>,
    /// Filesystem facts about configured unix socket paths.
    pub paths: Vec<PathFact>,
    /// PHP-FPM pools found.
    pub php_pools: Vec<PhpPool>,
    /// Kernel OOM kills (time, pid, process name).
    pub oom_kills: Vec<(String, u32, String)>,
    /// Backend-looking processes: (pid, name, start time).
    pub processes: Vec<(u32, String, String)>,
    /// nginx workers' open-file limit (soft).
    pub worker_nofile: Option<u64>,
    /// `worker_connections` from the config.
    pub worker_connections: Option<u64>,
    /// `worker_rlimit_nofile` from the config (`None`: not set, the
    /// workers keep the limit they were started with).
    pub worker_rlimit_nofile: Option<u64>,
    /// SELinux mode and `httpd_can_network_connect`.
    pub selinux: Option<(String, Option<bool>)>,
    /// The running nginx runs a config older than the files on disk.
    pub stale: Option<Stale>,
    /// Ephemeral port range size and sockets in TIME_WAIT/ESTABLISHED to upstreams.
    pub ephemeral: Option<(u64, u64)>,
}

/// A listening socket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Listener {
    /// `127.0.0.1:8000`, `[::]:80`, `0.0.0.0:80`, `unix:/run/x.sock`.
    pub address: String,
    /// Owning process name, when known.
    pub process: Option<String>,
    /// Owning pid, when known.
    pub pid: Option<u32>,
}

/// A unix socket path and its permissions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PathFact {
    /// The path.
    pub path: String,
    /// `missing`, `socket`, `file`, `directory`, `unreadable`.
    pub kind: String,
    /// Owner and group names, mode (octal text).
    pub owner: Option<(String, String, String)>,
    /// Whether the worker user may connect, by permissions (socket write bit
    /// and search bit on every parent), with the reason when not.
    pub worker_may_connect: Option<(bool, String)>,
}

/// A PHP-FPM pool.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhpPool {
    /// Pool name.
    pub name: String,
    /// Pool config file and line of `listen`.
    pub defined_at: String,
    /// `listen` (socket path or address).
    pub listen: String,
    /// `listen.owner`, `listen.group`, `listen.mode` as written.
    pub owner: Option<String>,
    /// `listen.group`.
    pub group: Option<String>,
    /// `listen.mode`.
    pub mode: Option<String>,
    /// `pm.max_children`.
    pub max_children: Option<u32>,
    /// `server reached pm.max_children setting` warnings seen.
    pub max_children_reached: u64,
    /// `listen.allowed_clients` (TCP pools): the only client addresses the
    /// pool serves; it closes connections from any other at once.
    pub allowed_clients: Option<Vec<String>>,
}

/// The running config is not the one on disk.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stale {
    /// When the running config was loaded (master start or last reload).
    pub loaded_at: String,
    /// Config files modified after that.
    pub newer_files: Vec<String>,
    /// `nginx -t` result now, when run: (passes, message).
    pub test: Option<(bool, String)>,
}

/// A config finding from the linter.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigIssue {
    /// Lint code.
    pub code: String,
    /// The cause it invites, if any.
    pub cause: Option<badgateway_cause::Cause>,
    /// Severity.
    pub severity: badgateway_cause::Severity,
    /// `file:line`.
    pub at: String,
    /// What is wrong.
    pub message: String,
    /// What to change.
    pub fix: String,
}
