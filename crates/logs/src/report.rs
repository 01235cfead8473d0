//! [`LogReport`]: the result of [`crate::analyze`], plain serialisable data.
//!
//! The top-level fields `version`, `lines`, `upstream_errors`, `by_cause`
//! and `by_upstream` are the SPEC's `logs --format json` contract. The
//! rest is detail for people and for the diagnosis engine: per-cause
//! evidence with a representative raw line, per-upstream and per-location
//! breakdowns, a timeline, the access-log 5xx accounting and retry chains,
//! and the join of access-log 5xx to their error-log causes.
//!
//! Raw log text in this structure is attacker-controlled: renderers must
//! neutralise it for terminals (`badgateway_report::neutralize_str`).
//! Invalid UTF-8 is kept visible as `\xHH`.

use std::collections::BTreeMap;

use badgateway_cause::Cause;
use serde::Serialize;

use crate::LocalTime;

/// Everything `logs` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogReport {
    /// Output format version (1).
    pub version: u32,
    /// Physical lines read in the window, over every input.
    pub lines: u64,
    /// Error-log entries that record a failed attempt to get a response
    /// from an upstream (SPEC definition).
    pub upstream_errors: u64,
    /// `upstream_errors` by root-cause code; every counted entry in exactly one.
    pub by_cause: BTreeMap<String, u64>,
    /// `upstream_errors` by upstream: the peer as nginx prints it, the group
    /// name for `no live upstreams`, the unresolved name for DNS failures,
    /// `(truncated)` when the 2048-byte cut removed it, `-` when the entry
    /// names none.
    pub by_upstream: BTreeMap<String, u64>,
    /// The `--since`/`--until` window applied.
    pub window: Window,
    /// Time of the first and last entry read (any input).
    pub first: Option<LocalTime>,
    /// See `first`.
    pub last: Option<LocalTime>,
    /// One entry per input, in the order read (oldest first).
    pub inputs: Vec<InputReport>,
    /// Error-log analysis.
    pub error_log: ErrorLogReport,
    /// Access-log analysis (when an access log was read).
    pub access_log: Option<AccessLogReport>,
    /// Access 5xx ↔ error-log causes (when both kinds were read).
    pub join: Option<JoinReport>,
    /// Per-minute (or coarser) counts.
    pub timeline: Timeline,
    /// Problems met while reading (unreadable files, truncated gzip,
    /// files that shrank), already phrased for a person.
    pub warnings: Vec<String>,
}

/// The time window applied to entries.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Window {
    /// Entries before this were skipped.
    pub since: Option<LocalTime>,
    /// Entries after this were skipped.
    pub until: Option<LocalTime>,
}

/// What an input was taken to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// An nginx error log.
    Error,
    /// An access log.
    Access,
    /// Not recognised (skipped).
    Unknown,
}

/// One input file.
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    /// The path as given (`-` for stdin).
    pub path: String,
    /// Error log, access log, or unknown.
    pub kind: InputKind,
    /// The access-log format used.
    pub format: Option<String>,
    /// gzip-compressed.
    pub gzip: bool,
    /// Lines read (in the window).
    pub lines: u64,
    /// Bytes read (decompressed).
    pub bytes: u64,
    /// First entry time read.
    pub first: Option<LocalTime>,
    /// Last entry time read.
    pub last: Option<LocalTime>,
    /// Why the file was not (fully) read, if it was not.
    pub error: Option<String>,
}

/// A representative raw line.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// The entry as logged (invalid UTF-8 as `\xHH`; not neutralised).
    pub raw: String,
    /// Its time.
    pub time: Option<LocalTime>,
    /// The catalogue kind of the message.
    pub kind: String,
}

/// A count with first/last time and a sample.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    /// How many.
    pub count: u64,
    /// First time seen.
    pub first: Option<LocalTime>,
    /// Last time seen.
    pub last: Option<LocalTime>,
    /// The first one, raw.
    pub sample: Option<Sample>,
}

/// Error-log analysis.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ErrorLogReport {
    /// Entries (a multi-line FastCGI entry counts once).
    pub entries: u64,
    /// Physical lines.
    pub lines: u64,
    /// Lines without a valid `TIME [LEVEL] PID#TID:` header.
    pub unparsed: u64,
    /// Entries by level.
    pub by_level: BTreeMap<String, u64>,
    /// Entries by catalogue kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Upstream errors per cause, most frequent first.
    pub causes: Vec<CauseReport>,
    /// Upstream errors per upstream (peer or group), most frequent first.
    pub upstreams: Vec<UpstreamReport>,
    /// Upstream errors per (upstream, cause, message kind), most frequent
    /// first, each with its own sample: what the diagnosis reasons over.
    pub groups: Vec<FailureGroup>,
    /// Upstream errors per `server:` (first server_name of the vhost).
    pub servers: Vec<NamedCount>,
    /// Upstream errors per location (only with a locator from the config).
    pub locations: Vec<NamedCount>,
    /// `no live upstreams` per group, with what they were attributed to.
    pub no_live: Vec<NoLiveReport>,
    /// Entries that are not upstream errors but are evidence (peers
    /// disabled, FastCGI stderr, client aborts while waiting, rate limits,
    /// config reload failures, fd exhaustion outside upstream work…).
    pub notable: BTreeMap<String, Evidence>,
    /// What the clients got because of the counted errors.
    pub client_statuses: BTreeMap<String, u64>,
    /// nginx version hints from message wording.
    pub version_hints: Vec<String>,
}

/// One root cause in the error log.
#[derive(Debug, Clone, Serialize)]
pub struct CauseReport {
    /// The SPEC code.
    pub cause: Cause,
    /// Entries attributed to it.
    pub count: u64,
    /// Share of all upstream errors (0..1).
    pub share: f64,
    /// Entries whose own message points to it.
    pub direct: u64,
    /// `no live upstreams` entries attributed to it (the failures that
    /// disabled the peers had this cause).
    pub via_no_live: u64,
    /// What the clients got (`502`, `504`, `500`, `truncated`, `009`).
    pub client_statuses: BTreeMap<String, u64>,
    /// Catalogue kinds behind it.
    pub kinds: BTreeMap<String, u64>,
    /// Upstreams involved (top 10).
    pub upstreams: BTreeMap<String, u64>,
    /// First entry time.
    pub first: Option<LocalTime>,
    /// Last entry time.
    pub last: Option<LocalTime>,
    /// A representative raw line (the first whose own message points here).
    pub sample: Option<Sample>,
}

/// One upstream (peer address or group name).
#[derive(Debug, Clone, Serialize)]
pub struct UpstreamReport {
    /// As nginx prints it.
    pub name: String,
    /// A group name (from `no live upstreams`) rather than a peer.
    pub group: bool,
    /// Upstream errors against it.
    pub count: u64,
    /// By cause code.
    pub by_cause: BTreeMap<String, u64>,
    /// Times nginx marked it `temporarily disabled`.
    pub disabled: u64,
    /// First error.
    pub first: Option<LocalTime>,
    /// Last error.
    pub last: Option<LocalTime>,
}

/// Upstream errors of one cause and message kind against one upstream.
#[derive(Debug, Clone, Serialize)]
pub struct FailureGroup {
    /// The upstream, as in `by_upstream`.
    pub upstream: String,
    /// A group name (from `no live upstreams`) rather than a peer.
    pub group: bool,
    /// The root cause.
    pub cause: Cause,
    /// The catalogue kind of the message.
    pub kind: String,
    /// Entries.
    pub count: u64,
    /// First entry time.
    pub first: Option<LocalTime>,
    /// Last entry time.
    pub last: Option<LocalTime>,
    /// The first entry, raw (invalid UTF-8 as `\xHH`; not neutralised).
    pub sample: String,
}

/// A name with a count and a per-cause (or per-status) breakdown.
#[derive(Debug, Clone, Serialize)]
pub struct NamedCount {
    /// The name.
    pub name: String,
    /// The total.
    pub count: u64,
    /// Breakdown by cause code or status.
    pub by: BTreeMap<String, u64>,
}

/// `no live upstreams` for one group.
#[derive(Debug, Clone, Serialize)]
pub struct NoLiveReport {
    /// The group name.
    pub group: String,
    /// Entries.
    pub count: u64,
    /// Attributed to the cause of the failures that disabled its peers.
    pub attributed: BTreeMap<String, u64>,
    /// Left `unknown` (no disabling failures seen in the window before).
    pub unattributed: u64,
    /// The peers whose failures were used.
    pub disabled_peers: Vec<String>,
}

/// Access-log analysis.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccessLogReport {
    /// Lines parsed as requests.
    pub requests: u64,
    /// Lines that did not match the format.
    pub unparsed: u64,
    /// The first line that did not match, and why.
    pub unparsed_sample: Option<String>,
    /// Requests by final `$status`.
    pub by_status: BTreeMap<String, u64>,
    /// Final 5xx total.
    pub status_5xx: u64,
    /// Final 5xx by the last upstream address tried (the one that produced
    /// the answer; a group name for `no live upstreams`; `-` when nginx
    /// answered without an upstream), with a status breakdown.
    pub by_upstream: Vec<NamedCount>,
    /// Failed attempts (`$upstream_status` element 5xx) by address,
    /// retried requests included.
    pub failed_attempts: Vec<NamedCount>,
    /// Final 5xx by `$proxy_upstream_name` (ingress-nginx).
    pub by_upstream_name: Vec<NamedCount>,
    /// Final 5xx by host (`$host`/`$server_name`, when logged).
    pub by_host: Vec<NamedCount>,
    /// Final 5xx by location (only with a locator from the config).
    pub by_location: Vec<NamedCount>,
    /// Final 5xx by URL path (top 20).
    pub by_path: Vec<NamedCount>,
    /// Retries and internal redirects.
    pub retries: RetryReport,
    /// 5xx produced by the backend itself and passed through: the last
    /// attempt's `$upstream_status` equals the final status and the backend
    /// answered (`$upstream_header_time` set; without it in the format, a
    /// non-zero `$upstream_response_length` or bytes received).
    pub backend_returned_error: BackendErrors,
    /// 5xx served from nginx's cache (`$upstream_cache_status` HIT).
    pub cached_error: BackendErrors,
    /// 5xx answered by nginx without any upstream (rate limits, config);
    /// known only when the format logs `$upstream_addr`/`$upstream_status`.
    pub local_5xx: u64,
    /// Final 502 and 504 (and 503 that an upstream answered): the gateway
    /// errors users saw. Not counted: 5xx that nginx answered without any
    /// upstream when the format logs `$upstream_addr`.
    pub gateway_errors: u64,
}

/// Evidence for `backend-returned-error` / `cached-error`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BackendErrors {
    /// Requests.
    pub count: u64,
    /// By final status.
    pub by_status: BTreeMap<String, u64>,
    /// By upstream address.
    pub by_upstream: BTreeMap<String, u64>,
    /// First time.
    pub first: Option<LocalTime>,
    /// Last time.
    pub last: Option<LocalTime>,
    /// A sample line.
    pub sample: Option<String>,
}

/// Retry accounting.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RetryReport {
    /// Requests that tried more than one server (`, `).
    pub multi_server: u64,
    /// Requests with an internal redirect (` : `).
    pub internal_redirect: u64,
    /// Requests where an attempt failed (5xx) but the final status is below 500.
    pub recovered: u64,
    /// Of those, requests that retried the same address and succeeded: the
    /// signature of a stale keepalive connection (keepalive-race).
    pub recovered_same_peer: u64,
    /// `recovered_same_peer` by the address that failed and then answered.
    pub same_peer_by_upstream: BTreeMap<String, u64>,
    /// The most common retry chains of requests that ended in 5xx or were
    /// retried, most frequent first.
    pub chains: Vec<ChainReport>,
}

/// One retry-chain pattern.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// `10.0.0.1:80 502, 10.0.0.2:80 504 → 504` (with error-log causes
    /// when the join found them: `10.0.0.1:80 upstream-down (502), …`).
    pub chain: String,
    /// Requests with this chain.
    pub count: u64,
}

/// Access-log 5xx explained by error-log causes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JoinReport {
    /// Final 5xx in the access log (in the window, up to the index cap).
    /// (Retried requests that finally succeeded are joined too, for the
    /// causes of their failed attempts, but not counted here.)
    pub access_5xx: u64,
    /// Of those, linked to an error-log cause line.
    pub explained: u64,
    /// Final 502 total / explained.
    pub status_502: u64,
    /// See `status_502`.
    pub explained_502: u64,
    /// Final 504 total / explained.
    pub status_504: u64,
    /// See `status_504`.
    pub explained_504: u64,
    /// Explained 5xx by the cause of their (last) failed attempt; plus
    /// `backend-returned-error` and `cached-error` for the 5xx the backend
    /// or the cache produced.
    pub by_cause: BTreeMap<String, u64>,
    /// 5xx neither explained nor attributable.
    pub unexplained: u64,
    /// A sample unexplained access line.
    pub unexplained_sample: Option<String>,
    /// The index of 5xx lines hit its size cap; later 5xx were not joined.
    pub capped: bool,
    /// Retry chains of explained 5xx with the cause of each attempt
    /// (`upstream-down (502), upstream-timeout (504) → 504`).
    pub chains: Vec<ChainReport>,
}

/// Counts per time bucket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// Bucket width in seconds (60 unless the span is long).
    pub bucket_seconds: u32,
    /// Buckets with activity, oldest first.
    pub buckets: Vec<Bucket>,
}

/// One time bucket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Bucket {
    /// Start of the bucket.
    pub start: LocalTime,
    /// Upstream errors (error log) by cause code.
    pub by_cause: BTreeMap<String, u64>,
    /// Upstream errors in the bucket.
    pub upstream_errors: u64,
    /// Access-log final 502s.
    pub status_502: u64,
    /// Access-log final 504s.
    pub status_504: u64,
    /// Access-log final 5xx (all).
    pub status_5xx: u64,
    /// Access-log requests.
    pub requests: u64,
}

impl LogReport {
    /// Upstream errors plus access-log 5xx that an upstream produced:
    /// something upstream-related failed in the window.
    pub fn has_upstream_failures(&self) -> bool {
        self.upstream_errors > 0
            || self
                .access_log
                .as_ref()
                .is_some_and(|a| a.gateway_errors > 0)
    }

    /// Count for one cause (0 when absent).
    pub fn cause_count(&self, c: Cause) -> u64 {
        self.by_cause.get(c.code()).copied().unwrap_or(0)
    }
}
