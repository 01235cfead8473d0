//! Addresses as nginx's `ngx_parse_url` reads them: `host:port`,
//! `[v6]:port`, `unix:/path`, and the `*_pass` targets built on them.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Serialize;

/// A backend or listen address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Address {
    /// TCP: a host (IP literal or name) and a port (`None` when not written).
    Tcp {
        /// IP literal (without brackets) or host name.
        host: String,
        /// The port, when written.
        port: Option<u16>,
    },
    /// A unix-domain socket path.
    Unix {
        /// The socket path.
        path: PathBuf,
    },
}

impl Address {
    /// The host as an IP address, when it is a literal.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Address::Tcp { host, .. } => host.parse().ok(),
            Address::Unix { .. } => None,
        }
    }

    /// How nginx prints it in logs: `127.0.0.1:8000`, `[::1]:8000`, `unix:/p`.
    pub fn display(&self, default_port: u16) -> String {
        match self {
            Address::Tcp { host, port } => {
                let port = port.unwrap_or(default_port);
                if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                }
            }
            Address::Unix { path } => format!("unix:{}", path.display()),
        }
    }
}

/// Why an address could not be read (nginx's `u->err` texts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrError {
    /// `invalid port`.
    InvalidPort,
    /// `invalid IPv6 address`.
    InvalidIpv6,
    /// `no host`.
    NoHost,
    /// `no path in the unix domain socket`.
    NoPath,
}

impl std::fmt::Display for AddrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AddrError::InvalidPort => "invalid port",
            AddrError::InvalidIpv6 => "invalid IPv6 address",
            AddrError::NoHost => "no host",
            AddrError::NoPath => "no path in the unix domain socket",
        })
    }
}

/// An address followed, for `proxy_pass`, by an optional URI part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUrl {
    /// The address.
    pub addr: Address,
    /// The URI part (`/app/`, `?x`), when written.
    pub uri: Option<String>,
}

/// Parse `host[:port][uri]`, `[v6][:port][uri]` or `unix:/path[:uri]`.
/// `allow_uri` is true for `proxy_pass` (the text after host:port is the
/// URI part; after a unix path it follows a `:`).
pub fn parse_url(s: &str, allow_uri: bool) -> Result<ParsedUrl, AddrError> {
    if let Some(rest) = s.strip_prefix("unix:") {
        let (path, uri) = match (allow_uri, rest.find(':')) {
            (true, Some(i)) => (&rest[..i], Some(rest[i + 1..].to_owned())),
            _ => (rest, None),
        };
        if path.is_empty() {
            return Err(AddrError::NoPath);
        }
        return Ok(ParsedUrl {
            addr: Address::Unix {
                path: PathBuf::from(path),
            },
            uri: uri.filter(|u| !u.is_empty()),
        });
    }
    let (hostport, uri) = if allow_uri {
        match s.find(['/', '?']) {
            Some(i) => (&s[..i], Some(s[i..].to_owned())),
            None => (s, None),
        }
    } else {
        (s, None)
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let end = v6.find(']').ok_or(AddrError::InvalidIpv6)?;
        let host = &v6[..end];
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(AddrError::InvalidIpv6);
        }
        let after = &v6[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(parse_port(p)?),
            None if after.is_empty() => None,
            None => return Err(AddrError::InvalidPort),
        };
        (host.to_owned(), port)
    } else {
        match hostport.rfind(':') {
            Some(i) => (
                hostport[..i].to_owned(),
                Some(parse_port(&hostport[i + 1..])?),
            ),
            None => (hostport.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(AddrError::NoHost);
    }
    Ok(ParsedUrl {
        addr: Address::Tcp { host, port },
        uri,
    })
}

fn parse_port(p: &str) -> Result<u16, AddrError> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(AddrError::InvalidPort),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: Option<u16>) -> Address {
        Address::Tcp {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn urls() {
        let u = parse_url("127.0.0.1:8000/app/", true).unwrap();
        assert_eq!(u.addr, tcp("127.0.0.1", Some(8000)));
        assert_eq!(u.uri.as_deref(), Some("/app/"));
        let u = parse_url("backend", true).unwrap();
        assert_eq!((u.addr, u.uri), (tcp("backend", None), None));
        let u = parse_url("[::1]:9000", false).unwrap();
        assert_eq!(u.addr, tcp("::1", Some(9000)));
        assert_eq!(u.addr.display(80), "[::1]:9000");
        let u = parse_url("unix:/run/app.sock:/x/", true).unwrap();
        assert_eq!(u.addr.display(80), "unix:/run/app.sock");
        assert_eq!(u.uri.as_deref(), Some("/x/"));
        let u = parse_url("unix:/run/php/php8.2-fpm.sock", false).unwrap();
        assert_eq!(u.addr.display(0), "unix:/run/php/php8.2-fpm.sock");
        assert_eq!(parse_url("h:0", false), Err(AddrError::InvalidPort));
        assert_eq!(parse_url("h:x", false), Err(AddrError::InvalidPort));
        assert_eq!(parse_url("unix:", false), Err(AddrError::NoPath));
        assert_eq!(parse_url("[zz]:1", false), Err(AddrError::InvalidIpv6));
    }
}
