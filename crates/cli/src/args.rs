//! Command-line grammar (clap derive). Pure parsing: nothing here touches the
//! system; the subcommand modules do that.

use std::path::PathBuf;

use badgateway_report::Format;
use clap::{Args, Parser, Subcommand};

/// Tells you why nginx answers 502 Bad Gateway (or 504), where the evidence
/// is, and what to change.
#[derive(Debug, Parser)]
#[command(
    name = "badgateway",
    version,
    about = "Tells you why nginx answers 502 Bad Gateway (or 504), where the evidence is, and what to change."
)]
#[command(
    after_help = "Exit status: 0 no problem found, 1 problems found, 2 usage or input error."
)]
pub struct Cli {
    /// Options shared by every subcommand.
    #[command(flatten)]
    pub common: Common,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Args)]
pub struct Common {
    /// Main nginx config file (default: the running master's, else nginx -V's).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// nginx prefix (like `nginx -p`): base for relative log and pid paths.
    #[arg(long, global = true, value_name = "DIR")]
    pub prefix: Option<PathBuf>,
    /// Output format: text, json, markdown (and sarif for `config`).
    #[arg(long, global = true, default_value = "text", value_name = "FORMAT")]
    pub format: Format,
    /// Only consider log entries newer than this (duration like 1h, 30m, or a timestamp).
    #[arg(long, global = true, value_name = "WHEN")]
    pub since: Option<String>,
    /// Send no network traffic (no probes).
    #[arg(long, global = true)]
    pub no_probe: bool,
    /// Never colour the output.
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Less output.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More output (repeat for even more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The subcommands (SPEC "Commands").
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Full diagnosis of this host: config, logs, probes, host facts, ranked findings.
    Diagnose(DiagnoseArgs),
    /// Offline analysis of error and/or access logs: counts by cause, upstream, location, time.
    Logs(LogsArgs),
    /// Explain one error-log line (argument or stdin).
    Explain(ExplainArgs),
    /// Static analysis of the config tree for 502/504-prone mistakes.
    Config(ConfigArgs),
    /// Which server and location a URL matches, and the upstream request it becomes.
    Route(RouteArgs),
    /// Probe one upstream: resolution, connect (errno), TLS, protocol, latency.
    Probe(ProbeArgs),
    /// Long-running agent: tail logs, health-check upstreams, serve /metrics.
    Watch(WatchArgs),
    /// Reproduce a named failure with a private nginx and a faulty backend, then diagnose it.
    Lab(LabArgs),
    /// Run the lab's fault-injecting backend (used by `lab` and the tests).
    #[command(hide = true)]
    LabBackend(LabBackendArgs),
}

/// `badgateway diagnose`.
#[derive(Debug, Args)]
#[command(after_help = "\
The nginx: the running master whose config is --config (else the running one, else nginx -V's \
paths). Logs: those the config names (and their NAME.1 rotation), or --log; the window is \
--since, else the hour before the newest log entry. Probes go only to the config's upstreams. \
Run as root (or nginx's user) to see every socket and process; what could not be checked is \
listed under \"Not checked\".
Exit status: 0 no problem found, 1 upstream failures in the window or now, or a critical \
finding; 2 no readable config.")]
pub struct DiagnoseArgs {
    /// Probe timeout per phase, in seconds.
    #[arg(long, default_value = "1.5", value_name = "SECONDS")]
    pub timeout: f64,
    /// Assume this nginx version for version-dependent defaults (default: the installed nginx's).
    #[arg(long, value_name = "X.Y.Z")]
    pub nginx_version: Option<String>,
    /// Config and logs only: no probes and no inspection of this host (for a
    /// config and logs copied from another machine).
    #[arg(long)]
    pub offline: bool,
    /// Also run `nginx -t` to see whether the config on disk would load (it
    /// may create log files the config names that do not exist yet).
    #[arg(long)]
    pub nginx_test: bool,
    /// Read these error/access logs instead of the ones the config names.
    #[arg(long = "log", value_name = "FILE")]
    pub logs: Vec<PathBuf>,
}

/// `badgateway logs FILE...`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Log files: error and/or access logs, plain or .gz, rotated sets
    /// (error.log error.log.1 error.log.2.gz), or - for stdin. The kind of
    /// each is detected from its content.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Only consider entries up to this time (duration back from now like
    /// 30m, or a timestamp).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// The access log's format: a built-in name (combined, main,
    /// upstreaminfo) or the log_format text itself, as in nginx.conf
    /// (e.g. '$remote_addr - … "$request" $status …').
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Seconds before a `no live upstreams` in which the failures that
    /// disabled the group's servers are looked for (their fail_timeout).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub fail_timeout: u32,
    /// Rows in top-N lists.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// An upstream group and its servers, as in the config
    /// (`backend=10.0.0.1:80,10.0.0.2:80`; repeatable): lets `no live
    /// upstreams` be attributed even when the `temporarily disabled`
    /// warnings are not logged.
    #[arg(long = "upstream-group", value_name = "NAME=ADDR,…")]
    pub upstream_groups: Vec<String>,
}

/// `badgateway explain [LINE]`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The error-log line (read from stdin when absent; several lines are
    /// explained one by one).
    pub line: Option<String>,
}

/// `badgateway config [FILE]`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Main config file (or an `nginx -T` dump); overrides --config.
    pub file: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity exists.
    #[arg(long, default_value = "warning", value_name = "SEVERITY")]
    pub fail_on: badgateway_cause::Severity,
    /// Assume this nginx version for version-dependent defaults (default: the installed nginx's).
    #[arg(long, value_name = "X.Y.Z")]
    pub nginx_version: Option<String>,
    /// Do not compare with this host (socket paths, listeners): for a config from another machine.
    #[arg(long)]
    pub no_host: bool,
}

/// `badgateway route URL`.
#[derive(Debug, Args)]
#[command(after_help = "\
The config is read from --config FILE (a main config file or an `nginx -T` dump); \
without --config, /etc/nginx/nginx.conf. Nothing else is touched: no file, socket or \
DNS name is looked at, so what depends on them (try_files, `if (-f ...)`, \
$remote_addr) is reported as uncertain or as an alternative outcome.

The URL is where the client connects (use an IP address to pick a listen address) \
and what it sends: the path and query go to nginx byte for byte, dot segments \
included. --header Host:NAME sends another Host header.

Exit status: 0 when the route resolves (proxied, or answered by nginx itself), \
1 when no server listens where the URL points, 2 for a bad URL or config.")]
pub struct RouteArgs {
    /// The request URL (http[s]://host[:port]/path?query).
    pub url: String,
    /// Request method.
    #[arg(long, default_value = "GET", value_name = "M")]
    pub method: String,
    /// Extra request header, "Name: value" (repeatable; Host overrides the URL's host).
    #[arg(long = "header", short = 'H', value_name = "H:V")]
    pub headers: Vec<String>,
}

/// `badgateway probe TARGET`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// 127.0.0.1:8000, http://…, https://…, unix:/path, fastcgi://…, uwsgi://…, scgi://…, grpc://….
    pub target: String,
    /// Timeout per probe phase (connect, TLS handshake, read), in seconds.
    #[arg(long, default_value = "1.5", value_name = "SECONDS")]
    pub timeout: f64,
    /// Send SNI, as with `proxy_ssl_server_name on` (nginx sends none by default).
    #[arg(long)]
    pub sni: bool,
    /// The name checked against the certificate and sent as SNI (`proxy_ssl_name`).
    #[arg(long, value_name = "NAME")]
    pub ssl_name: Option<String>,
    /// Trust anchors for the verification result (`proxy_ssl_trusted_certificate`).
    #[arg(long, value_name = "FILE")]
    pub trusted_certificate: Option<PathBuf>,
    /// PHP-FPM `ping.path`: send a real FastCGI request for it instead of FCGI_GET_VALUES.
    #[arg(long, value_name = "PATH")]
    pub ping_path: Option<String>,
    /// Header buffer in force (`proxy_buffer_size`, `fastcgi_buffer_size`…), e.g. 4k, 16k.
    #[arg(long, value_name = "SIZE")]
    pub buffer_size: Option<String>,
    /// The nginx worker's user (the `user` directive): check unix-socket access as this user.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// The `user` directive's group (default: the group named like the user).
    #[arg(long, value_name = "GROUP", requires = "user")]
    pub group: Option<String>,
    /// Do not open extra connections to identify the peer's protocol.
    #[arg(long)]
    pub no_identify: bool,
}

/// `badgateway watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {}

/// `badgateway lab [SCENARIO]`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// Scenario name (list them when absent).
    pub scenario: Option<String>,
}

/// `badgateway lab-backend LISTEN FAULT` (hidden).
#[derive(Debug, Args)]
pub struct LabBackendArgs {
    /// `IP:PORT` or `unix:/path`.
    pub listen: String,
    /// ok, strict, status:N, close, reset, slow:MS, huge-headers:BYTES,
    /// invalid-header, bad-chunked, garbage, keepalive-drop, crash-after:N,
    /// blackhole, tls.
    pub fault: String,
}
