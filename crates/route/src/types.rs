//! What a routing run concludes: the server and location chosen (with why),
//! the steps taken (rewrites, internal redirects), and either the upstream
//! request or the status nginx answers itself. Serialises to the SPEC's
//! `route --format json` contract; the text renderers read the same values.

use serde::Serialize;

/// The whole answer for one request.
#[derive(Debug, Clone, Serialize)]
pub struct Route {
    /// JSON contract version (1).
    pub version: u32,
    /// The request as nginx sees it.
    pub request: RequestInfo,
    /// The `server` block chosen (`None`: nothing listens where the URL points).
    pub server: Option<ServerHit>,
    /// The `location` whose configuration handles the request (`None`:
    /// the server's own configuration, no location matched).
    pub location: Option<LocationHit>,
    /// The upstream request (`None`: nginx answers the request itself).
    pub pass: Option<PassHit>,
    /// The status nginx answers when `pass` is `None` (`None` when no server takes the connection).
    pub status: Option<u16>,
    /// The `Location` header of a redirect nginx sends itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// The body of `return CODE "text"`, when written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// What happened, in order (rewrites, `set`, `if`, internal redirects).
    pub steps: Vec<Step>,
    /// Other outcomes that depend on things not known statically (files on
    /// disk for `try_files`, upstream errors for `error_page`).
    pub alternatives: Vec<Alternative>,
    /// Mistakes worth fixing (the trailing-slash pitfall, no resolver…).
    pub warnings: Vec<String>,
    /// What could not be evaluated statically, and what was assumed.
    pub uncertain: Vec<String>,
}

/// The request after nginx parsed it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestInfo {
    /// The method.
    pub method: String,
    /// The URL as given.
    pub url: String,
    /// The address:port the client connects to.
    pub connect: String,
    /// The `Host` header sent.
    pub host_header: String,
    /// The request target as sent (`$request_uri`).
    pub request_uri: String,
    /// `$uri` after normalisation (decoded, dot segments, merged slashes).
    pub uri: String,
    /// `$args`.
    pub args: String,
}

/// The chosen `server` block.
#[derive(Debug, Clone, Serialize)]
pub struct ServerHit {
    /// File, as the config names it.
    pub file: String,
    /// Line of `server {`.
    pub line: u32,
    /// Its first `server_name`.
    pub server_name: String,
    /// All its names.
    pub names: Vec<String>,
    /// The listen socket the request arrived on (`127.0.0.1:8080`, `*:80`).
    pub listen: String,
    /// How it was picked: `exact`, `wildcard`, `regex`, `default_server`, `first`.
    pub matched_by: String,
    /// The `server_name` entry that matched, if a name matched.
    pub matched_name: Option<String>,
    /// One sentence: why this server.
    pub reason: String,
}

/// The chosen `location`.
#[derive(Debug, Clone, Serialize)]
pub struct LocationHit {
    /// File, as the config names it.
    pub file: String,
    /// Line of `location`.
    pub line: u32,
    /// `=`, `^~`, `""`, `~`, `~*` or `@`.
    pub modifier: String,
    /// The path, regex or name.
    pub path: String,
    /// How it was picked: `exact`, `prefix`, `regex`, `named`, `auto-redirect`.
    pub matched_by: String,
    /// One sentence: why this location.
    pub reason: String,
    /// Regex locations tested (in order) that did not match.
    pub regexes_checked: Vec<String>,
}

/// One `upstream {}` server.
#[derive(Debug, Clone, Serialize)]
pub struct Peer {
    /// `127.0.0.1:8000`, `unix:/path`, or a host name as written.
    pub address: String,
    /// `backup`.
    pub backup: bool,
    /// `down`.
    pub down: bool,
}

/// The upstream request.
#[derive(Debug, Clone, Serialize)]
pub struct PassHit {
    /// `proxy_pass`, `fastcgi_pass`, …
    pub directive: String,
    /// The argument as written.
    pub target: String,
    /// File of the directive.
    pub file: String,
    /// Line of the directive.
    pub line: u32,
    /// `http`, `https`, `fastcgi`, `uwsgi`, `grpc`, …
    pub scheme: String,
    /// The `upstream {}` group, when the target names one.
    pub upstream: Option<String>,
    /// Every server the request may go to, as `host:port` or `unix:/path`.
    pub servers: Vec<String>,
    /// The same servers with their `backup` / `down` flags.
    pub peers: Vec<Peer>,
    /// The URI sent upstream (HTTP and gRPC; `None` when not computable).
    pub upstream_uri: Option<String>,
    /// The request line sent (`GET /x HTTP/1.0`), HTTP only.
    pub request_line: Option<String>,
    /// Which rule produced the URI (see the `proxy_pass` URI rules).
    pub uri_rule: Option<String>,
    /// Evaluated FastCGI/uwsgi/SCGI parameters of interest
    /// (`SCRIPT_FILENAME`, `REQUEST_URI`…).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, String)>,
}

/// One thing that happened on the way.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `file:line` of the directive.
    pub at: String,
    /// The directive as written (`rewrite ^/a/(.*)$ /b/$1 break`).
    pub directive: String,
    /// What it did (`$uri is now /b/x`).
    pub effect: String,
}

/// An outcome that applies under a condition nobody can check statically.
#[derive(Debug, Clone, Serialize)]
pub struct Alternative {
    /// The condition (`if $document_root/x exists`).
    pub when: String,
    /// The location then in charge.
    pub location: Option<LocationHit>,
    /// The upstream request then sent.
    pub pass: Option<PassHit>,
    /// The status nginx then answers itself.
    pub status: Option<u16>,
}
