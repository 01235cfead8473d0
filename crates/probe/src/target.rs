//! What to probe: the protocol nginx will speak (the `*_pass` directive and
//! its scheme), the address (TCP `host:port` or a unix socket path), and the
//! config facts that change what nginx sends (SNI, `proxy_ssl_name`, the
//! request URI, a PHP-FPM `ping.path`, the header buffer size).
//!
//! A [`Target`] comes either from the command line ([`Target::parse`]) or is
//! built from config facts ([`Target::new`] plus the `with_*` methods).

use std::fmt;
use std::net::Ipv6Addr;
use std::path::PathBuf;

use serde::Serialize;

/// The protocol nginx speaks to the upstream, named after the scheme nginx
/// prints in `upstream: "…"` (`proxy_pass http://`, `fastcgi_pass`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// `proxy_pass http://` (HTTP/1.x in clear).
    Http,
    /// `proxy_pass https://` (TLS, then HTTP/1.x).
    Https,
    /// `fastcgi_pass`.
    Fastcgi,
    /// `uwsgi_pass`.
    Uwsgi,
    /// `scgi_pass`.
    Scgi,
    /// `grpc_pass grpc://` (HTTP/2 in clear, "h2c").
    Grpc,
    /// `grpc_pass grpcs://` (TLS with ALPN h2, then HTTP/2).
    Grpcs,
    /// `memcached_pass`.
    Memcached,
}

impl Scheme {
    /// Every scheme, in the order the help text lists them.
    pub const ALL: &'static [Scheme] = &[
        Scheme::Http,
        Scheme::Https,
        Scheme::Fastcgi,
        Scheme::Uwsgi,
        Scheme::Scgi,
        Scheme::Grpc,
        Scheme::Grpcs,
        Scheme::Memcached,
    ];

    /// The scheme as written in a URL (`fastcgi`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Fastcgi => "fastcgi",
            Scheme::Uwsgi => "uwsgi",
            Scheme::Scgi => "scgi",
            Scheme::Grpc => "grpc",
            Scheme::Grpcs => "grpcs",
            Scheme::Memcached => "memcached",
        }
    }

    /// How a person names the protocol ("FastCGI", "HTTP/2 (gRPC)").
    pub const fn human(self) -> &'static str {
        match self {
            Scheme::Http => "HTTP",
            Scheme::Https => "HTTPS (TLS)",
            Scheme::Fastcgi => "FastCGI",
            Scheme::Uwsgi => "uwsgi",
            Scheme::Scgi => "SCGI",
            Scheme::Grpc => "HTTP/2 (gRPC, h2c)",
            Scheme::Grpcs => "HTTP/2 over TLS (gRPC)",
            Scheme::Memcached => "memcached",
        }
    }

    /// Whether nginx starts with a TLS handshake.
    pub const fn is_tls(self) -> bool {
        matches!(self, Scheme::Https | Scheme::Grpcs)
    }

    /// The port nginx assumes when the address names none, if any
    /// (`fastcgi_pass`, `uwsgi_pass`, `scgi_pass` and `memcached_pass`
    /// require one: nginx says "no port in upstream").
    pub const fn default_port(self) -> Option<u16> {
        match self {
            Scheme::Http | Scheme::Grpc => Some(80),
            Scheme::Https | Scheme::Grpcs => Some(443),
            _ => None,
        }
    }

    fn from_name(s: &str) -> Option<Scheme> {
        Scheme::ALL
            .iter()
            .copied()
            .find(|sc| sc.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the upstream is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Endpoint {
    /// A TCP address: an IP literal or a name resolved with getaddrinfo.
    Tcp {
        /// Host name or IP literal (IPv6 without brackets).
        host: String,
        /// Port.
        port: u16,
    },
    /// A unix-domain stream socket.
    Unix {
        /// Absolute socket path.
        path: PathBuf,
    },
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Endpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
            Endpoint::Unix { path } => write!(f, "unix:{}", path.display()),
        }
    }
}

/// One upstream to probe, with the config facts that shape what nginx sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The text this target was parsed from, or a canonical rendering.
    pub text: String,
    /// The protocol nginx speaks here.
    pub scheme: Scheme,
    /// The address.
    pub endpoint: Endpoint,
    /// The request URI nginx would send (HTTP, uwsgi, SCGI); `/` by default.
    pub uri: String,
    /// `proxy_ssl_server_name on` (nginx sends no SNI by default).
    pub sni: bool,
    /// `proxy_ssl_name`: the name checked against the certificate and sent
    /// as SNI when `sni` is on; defaults to the host.
    pub tls_name: Option<String>,
    /// PHP-FPM `ping.path`: when set, the FastCGI probe sends a real request
    /// for it instead of `FCGI_GET_VALUES`.
    pub fastcgi_ping: Option<String>,
    /// `proxy_buffer_size` (or `fastcgi_buffer_size`, …) in bytes, when known.
    pub buffer_size: Option<usize>,
}

/// Why a target string could not be understood (a usage error: exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Nothing was given.
    #[error("empty target: expected host:port, a URL such as http://127.0.0.1:8000, or unix:/path")]
    Empty,
    /// A scheme this tool does not know.
    #[error(
        "target {text:?}: unknown scheme {scheme:?} (expected http, https, fastcgi, uwsgi, scgi, grpc, grpcs or memcached)"
    )]
    UnknownScheme {
        /// The whole target.
        text: String,
        /// The scheme found.
        scheme: String,
    },
    /// No port where nginx requires one.
    #[error("target {text:?}: {scheme}:// needs a port (nginx says \"no port in upstream\")")]
    MissingPort {
        /// The whole target.
        text: String,
        /// The scheme.
        scheme: Scheme,
    },
    /// A port that is not a number in 1..=65535.
    #[error("target {text:?}: invalid port {port:?} (expected a number from 1 to 65535)")]
    BadPort {
        /// The whole target.
        text: String,
        /// The port text.
        port: String,
    },
    /// A host with characters no host name has.
    #[error("target {text:?}: invalid host {host:?}")]
    BadHost {
        /// The whole target.
        text: String,
        /// The host text.
        host: String,
    },
    /// An IPv6 literal without brackets.
    #[error("target {text:?}: write IPv6 addresses in brackets, e.g. [::1]:8000")]
    UnbracketedIpv6 {
        /// The whole target.
        text: String,
    },
    /// A unix socket path that is not absolute.
    #[error("target {text:?}: the unix socket path must be absolute (unix:/run/app.sock)")]
    RelativeUnixPath {
        /// The whole target.
        text: String,
    },
    /// A URI with spaces or control characters.
    #[error("target {text:?}: invalid URI {uri:?} (no spaces or control characters)")]
    BadUri {
        /// The whole target.
        text: String,
        /// The URI text.
        uri: String,
    },
    /// A URI part on a scheme that has none.
    #[error("target {text:?}: {scheme}:// takes no URI path (only http:// and https:// do)")]
    UnexpectedPath {
        /// The whole target.
        text: String,
        /// The scheme.
        scheme: Scheme,
    },
}

impl Target {
    /// A target for `scheme` at `endpoint` with nginx's defaults: URI `/`,
    /// no SNI, no ping path, default buffer size.
    pub fn new(scheme: Scheme, endpoint: Endpoint) -> Target {
        let text = format!("{scheme}://{endpoint}");
        Target {
            text,
            scheme,
            endpoint,
            uri: "/".into(),
            sni: false,
            tls_name: None,
            fastcgi_ping: None,
            buffer_size: None,
        }
    }

    /// A target from config facts as an upstream inventory states them:
    /// the protocol nginx speaks (`fastcgi`, `grpcs`, …) and a peer address
    /// as nginx prints it (`127.0.0.1:9000`, `[::1]:8000`,
    /// `unix:/run/php/php8.2-fpm.sock`). The display text is nginx's own
    /// `upstream: "…"` spelling.
    pub fn from_config(protocol: &str, address: &str) -> Result<Target, TargetError> {
        let text = format!("{protocol}://{address}");
        let scheme = Scheme::from_name(protocol).ok_or_else(|| TargetError::UnknownScheme {
            text: text.clone(),
            scheme: protocol.to_owned(),
        })?;
        let mut t = Target::parse(&text)?;
        t.scheme = scheme;
        Ok(t)
    }

    /// Set `proxy_ssl_server_name` and, when given, `proxy_ssl_name`.
    pub fn with_sni(mut self, on: bool, name: Option<String>) -> Target {
        self.sni = on;
        if name.is_some() {
            self.tls_name = name;
        }
        self
    }

    /// Set the URI nginx sends (HTTP, uwsgi, SCGI).
    pub fn with_uri(mut self, uri: impl Into<String>) -> Target {
        self.uri = uri.into();
        self
    }

    /// Set PHP-FPM's `ping.path` (the FastCGI probe then requests it).
    pub fn with_fastcgi_ping(mut self, path: impl Into<String>) -> Target {
        self.fastcgi_ping = Some(path.into());
        self
    }

    /// Set the header buffer size in force (`proxy_buffer_size` & co.).
    pub fn with_buffer_size(mut self, bytes: usize) -> Target {
        self.buffer_size = Some(bytes);
        self
    }

    /// Keep `text` as the target's display form (e.g. the config's spelling).
    pub fn with_text(mut self, text: impl Into<String>) -> Target {
        self.text = text.into();
        self
    }

    /// The name checked against the certificate (`proxy_ssl_name`, else the
    /// host); `None` for unix sockets without an explicit name.
    pub fn tls_name(&self) -> Option<&str> {
        self.tls_name.as_deref().or(match &self.endpoint {
            Endpoint::Tcp { host, .. } => Some(host.as_str()),
            Endpoint::Unix { .. } => None,
        })
    }

    /// Parse a command-line target: `host:port`, `[v6]:port`, `unix:/path`,
    /// or `scheme://address[/uri]` with the schemes of [`Scheme`]. nginx's
    /// own spellings are accepted too: `http://unix:/path:/uri` and the
    /// error log's `fastcgi://unix:/run/php.sock:`.
    pub fn parse(input: &str) -> Result<Target, TargetError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(TargetError::Empty);
        }
        let owned = || text.to_owned();
        let (scheme, rest) = match text.find("://") {
            Some(i) => {
                let name = &text[..i];
                let scheme = Scheme::from_name(name).ok_or_else(|| TargetError::UnknownScheme {
                    text: owned(),
                    scheme: name.to_owned(),
                })?;
                (scheme, &text[i + 3..])
            }
            None => (Scheme::Http, text),
        };
        let mut target = if let Some(after) = rest.strip_prefix("unix:") {
            // nginx: "unix:/path" with an optional ":/uri" (or a bare ":").
            let (path, uri) = match after.find(':') {
                Some(i) => (&after[..i], Some(&after[i + 1..])),
                None => (after, None),
            };
            if !path.starts_with('/') {
                return Err(TargetError::RelativeUnixPath { text: owned() });
            }
            let mut t = Target::new(
                scheme,
                Endpoint::Unix {
                    path: PathBuf::from(path),
                },
            );
            if let Some(uri) = uri.filter(|u| !u.is_empty()) {
                t = t.with_uri(checked_uri(text, scheme, uri)?);
            }
            t
        } else {
            let (authority, uri) = match rest.find(['/', '?']) {
                Some(i) => (&rest[..i], Some(&rest[i..])),
                None => (rest, None),
            };
            let (host, port) = split_authority(text, authority)?;
            let port = match port {
                Some(p) => p,
                None => scheme.default_port().ok_or(TargetError::MissingPort {
                    text: owned(),
                    scheme,
                })?,
            };
            let mut t = Target::new(scheme, Endpoint::Tcp { host, port });
            if let Some(uri) = uri.filter(|u| *u != "/") {
                t = t.with_uri(checked_uri(text, scheme, uri)?);
            }
            t
        };
        target.text = text.to_owned();
        Ok(target)
    }
}

fn checked_uri(text: &str, scheme: Scheme, uri: &str) -> Result<String, TargetError> {
    if !matches!(scheme, Scheme::Http | Scheme::Https) {
        return Err(TargetError::UnexpectedPath {
            text: text.to_owned(),
            scheme,
        });
    }
    if uri.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(TargetError::BadUri {
            text: text.to_owned(),
            uri: uri.to_owned(),
        });
    }
    Ok(if uri.starts_with('/') {
        uri.to_owned()
    } else {
        format!("/{uri}")
    })
}

/// Split `host[:port]` or `[v6][:port]`.
fn split_authority(text: &str, authority: &str) -> Result<(String, Option<u16>), TargetError> {
    let bad_host = |h: &str| TargetError::BadHost {
        text: text.to_owned(),
        host: h.to_owned(),
    };
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let end = inner.find(']').ok_or_else(|| bad_host(authority))?;
        let host = &inner[..end];
        host.parse::<Ipv6Addr>().map_err(|_| bad_host(host))?;
        let after = &inner[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad_host(authority)),
        };
        (host, port)
    } else {
        if authority.matches(':').count() > 1 {
            return Err(TargetError::UnbracketedIpv6 {
                text: text.to_owned(),
            });
        }
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':');
    // A DNS name has at most 253 characters in labels of at most 63.
    let too_long = host.len() > 253 || host.split('.').any(|l| l.len() > 63);
    if host.is_empty() || !host.chars().all(valid) || too_long {
        return Err(bad_host(host));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Err(TargetError::BadPort {
                    text: text.to_owned(),
                    port: p.to_owned(),
                });
            }
        },
    };
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Endpoint {
        Endpoint::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn plain_host_port_is_http() {
        let t = Target::parse("127.0.0.1:8000").unwrap();
        assert_eq!(t.scheme, Scheme::Http);
        assert_eq!(t.endpoint, tcp("127.0.0.1", 8000));
        assert_eq!(t.uri, "/");
        assert!(!t.sni);
        assert_eq!(t.text, "127.0.0.1:8000");
    }

    #[test]
    fn schemes_and_default_ports() {
        let t = Target::parse("https://example.com").unwrap();
        assert_eq!(
            (t.scheme, t.endpoint),
            (Scheme::Https, tcp("example.com", 443))
        );
        let t = Target::parse("grpc://[::1]:50051").unwrap();
        assert_eq!((t.scheme, t.endpoint), (Scheme::Grpc, tcp("::1", 50051)));
        let t = Target::parse("HTTP://localhost/app/x?y=1").unwrap();
        assert_eq!(t.endpoint, tcp("localhost", 80));
        assert_eq!(t.uri, "/app/x?y=1");
        assert_eq!(
            Target::parse("fastcgi://127.0.0.1:9000").unwrap().scheme,
            Scheme::Fastcgi
        );
    }

    #[test]
    fn unix_sockets_in_every_spelling() {
        let unix = |p: &str| Endpoint::Unix { path: p.into() };
        let t = Target::parse("unix:/run/app.sock").unwrap();
        assert_eq!(
            (t.scheme, &t.endpoint),
            (Scheme::Http, &unix("/run/app.sock"))
        );
        let t = Target::parse("http://unix:/run/app.sock:/api/").unwrap();
        assert_eq!(
            (&t.endpoint, t.uri.as_str()),
            (&unix("/run/app.sock"), "/api/")
        );
        let t = Target::parse("fastcgi://unix:/run/php/php8.2-fpm.sock:").unwrap();
        assert_eq!(t.endpoint, unix("/run/php/php8.2-fpm.sock"));
        assert_eq!(t.endpoint.to_string(), "unix:/run/php/php8.2-fpm.sock");
    }

    #[test]
    fn usage_errors_are_clear() {
        assert_eq!(Target::parse("  "), Err(TargetError::Empty));
        let e = Target::parse("gopher://x:1").unwrap_err();
        assert!(e.to_string().contains("unknown scheme \"gopher\""), "{e}");
        let e = Target::parse("fastcgi://127.0.0.1").unwrap_err();
        assert!(e.to_string().contains("needs a port"), "{e}");
        assert!(matches!(
            Target::parse("127.0.0.1:99999"),
            Err(TargetError::BadPort { .. })
        ));
        assert!(matches!(
            Target::parse("::1:80"),
            Err(TargetError::UnbracketedIpv6 { .. })
        ));
        assert!(matches!(
            Target::parse("unix:run/x.sock"),
            Err(TargetError::RelativeUnixPath { .. })
        ));
        assert!(matches!(
            Target::parse("uwsgi://127.0.0.1:3031/app"),
            Err(TargetError::UnexpectedPath { .. })
        ));
        assert!(matches!(
            Target::parse("http://ex ample:80"),
            Err(TargetError::BadHost { .. })
        ));
        assert!(matches!(
            Target::parse("http://127.0.0.1/a b"),
            Err(TargetError::BadUri { .. })
        ));
        let long = format!("{}.example:80", "a".repeat(64));
        assert!(matches!(
            Target::parse(&long),
            Err(TargetError::BadHost { .. })
        ));
        assert!(matches!(
            Target::parse("http://[zz]:80"),
            Err(TargetError::BadHost { .. })
        ));
    }

    #[test]
    fn from_an_upstream_inventory() {
        let t = Target::from_config("fastcgi", "unix:/run/php/php8.2-fpm.sock").unwrap();
        assert_eq!(t.scheme, Scheme::Fastcgi);
        assert_eq!(t.text, "fastcgi://unix:/run/php/php8.2-fpm.sock");
        let t = Target::from_config("grpcs", "[::1]:50051").unwrap();
        assert_eq!((t.scheme, t.endpoint), (Scheme::Grpcs, tcp("::1", 50051)));
        assert!(Target::from_config("ftp", "127.0.0.1:21").is_err());
    }

    #[test]
    fn built_from_config_facts() {
        let t = Target::new(Scheme::Https, tcp("10.0.0.5", 8443))
            .with_sni(true, Some("api.example.com".into()))
            .with_buffer_size(8192);
        assert_eq!(t.tls_name(), Some("api.example.com"));
        assert!(t.sni);
        assert_eq!(t.text, "https://10.0.0.5:8443");
    }
}
