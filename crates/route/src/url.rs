//! The request given on the command line: `http[s]://host[:port]/path?query`
//! plus method and headers. The path and query are kept byte for byte: they
//! are the request target nginx receives (`$request_uri`). Clients such as
//! browsers and curl remove dot segments before sending; this tool does not,
//! so `/a/../b` is routed the way nginx sees it when sent as written.

use std::net::IpAddr;

/// Why a URL cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// No `http://` or `https://` in front.
    #[error("{url:?}: expected a URL starting with http:// or https://")]
    NoScheme {
        /// The URL as given.
        url: String,
    },
    /// Another scheme.
    #[error(
        "{url:?}: unsupported scheme {scheme:?} (only http and https reach an nginx http server)"
    )]
    Scheme {
        /// The URL as given.
        url: String,
        /// The scheme found.
        scheme: String,
    },
    /// Nothing between `//` and the path.
    #[error("{url:?}: no host")]
    NoHost {
        /// The URL as given.
        url: String,
    },
    /// A port that is not 1–65535.
    #[error("{url:?}: invalid port {port:?}")]
    Port {
        /// The URL as given.
        url: String,
        /// The port text.
        port: String,
    },
    /// An unterminated `[` IPv6 literal.
    #[error("{url:?}: invalid IPv6 address")]
    Ipv6 {
        /// The URL as given.
        url: String,
    },
    /// A byte no request line can carry (space, control character).
    #[error(
        "{url:?}: byte 0x{byte:02x} at offset {at} cannot appear in a request target (percent-encode it)"
    )]
    Byte {
        /// The URL as given.
        url: String,
        /// The byte.
        byte: u8,
        /// Its offset in the URL.
        at: usize,
    },
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Plain HTTP (default port 80).
    Http,
    /// HTTP over TLS (default port 443).
    Https,
}

impl Scheme {
    /// `http` / `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A parsed request URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The URL as given.
    pub text: String,
    /// The scheme.
    pub scheme: Scheme,
    /// The host as written (IPv6 without brackets).
    pub host: String,
    /// The port (default for the scheme when not written).
    pub port: u16,
    /// Whether the port was written.
    pub explicit_port: bool,
    /// The request target: path and query, as sent (fragment removed).
    pub target: Vec<u8>,
}

impl Url {
    /// Parse a URL the way a client would before sending it.
    pub fn parse(text: &str) -> Result<Url, UrlError> {
        let url = || text.to_owned();
        let (scheme, rest) = match text.split_once("://") {
            Some((s, rest)) => {
                let scheme = match s.to_ascii_lowercase().as_str() {
                    "http" => Scheme::Http,
                    "https" => Scheme::Https,
                    _ => {
                        return Err(UrlError::Scheme {
                            url: url(),
                            scheme: s.to_owned(),
                        });
                    }
                };
                (scheme, rest)
            }
            None => return Err(UrlError::NoScheme { url: url() }),
        };
        if let Some((at, &byte)) = text
            .as_bytes()
            .iter()
            .enumerate()
            .find(|&(_, &b)| b <= 0x20 || b == 0x7f)
        {
            return Err(UrlError::Byte {
                url: url(),
                byte,
                at,
            });
        }
        let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..auth_end];
        let mut target = rest.as_bytes()[auth_end..].to_vec();
        if let Some(i) = target.iter().position(|&b| b == b'#') {
            target.truncate(i);
        }
        if !target.starts_with(b"/") {
            target.insert(0, b'/');
        }
        // user:password@ is never sent in the request line.
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let end = v6.find(']').ok_or_else(|| UrlError::Ipv6 { url: url() })?;
            let after = &v6[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(UrlError::Ipv6 { url: url() }),
            };
            (&v6[..end], port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(UrlError::NoHost { url: url() });
        }
        let default_port = match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        let (port, explicit_port) = match port {
            None | Some("") => (default_port, false),
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => (n, true),
                _ => {
                    return Err(UrlError::Port {
                        url: url(),
                        port: p.to_owned(),
                    });
                }
            },
        };
        Ok(Url {
            text: text.to_owned(),
            scheme,
            host: host.to_owned(),
            port,
            explicit_port,
            target,
        })
    }

    /// The `Host` header a client sends for this URL.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.explicit_port {
            format!("{host}:{}", self.port)
        } else {
            host
        }
    }

    /// The host as an IP address, when it is a literal (or `localhost`).
    pub fn ip(&self) -> Option<IpAddr> {
        if self.host.eq_ignore_ascii_case("localhost") {
            return Some(IpAddr::from([127, 0, 0, 1]));
        }
        self.host.parse().ok()
    }
}

/// A request to route: method, URL and extra headers.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method (`GET`).
    pub method: String,
    /// The URL.
    pub url: Url,
    /// Extra headers, in order (a `Host` here overrides the URL's).
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A `GET` for `url` with no extra headers.
    pub fn get(url: Url) -> Request {
        Request {
            method: "GET".into(),
            url,
            headers: Vec::new(),
        }
    }

    /// The first header named `name` (case-insensitive), with the URL's
    /// `Host` when none is given.
    pub fn header(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            return Some(v.clone());
        }
        name.eq_ignore_ascii_case("host")
            .then(|| self.url.host_header())
    }
}

/// Parse a `--header "Name: value"` argument.
pub fn parse_header(s: &str) -> Option<(String, String)> {
    let (k, v) = s.split_once(':')?;
    let k = k.trim();
    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    Some((k.to_owned(), v.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("http://Example.com:8080/a/../b?x=1#frag").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("Example.com", 8080));
        assert_eq!(u.target, b"/a/../b?x=1");
        assert_eq!(u.host_header(), "Example.com:8080");
        let u = Url::parse("https://[::1]").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, &u.target[..]),
            ("::1", 443, &b"/"[..])
        );
        assert_eq!(u.host_header(), "[::1]");
        let u = Url::parse("http://u:p@h?q").unwrap();
        assert_eq!((u.host.as_str(), &u.target[..]), ("h", &b"/?q"[..]));
        assert!(matches!(Url::parse("/x"), Err(UrlError::NoScheme { .. })));
        assert!(matches!(
            Url::parse("ftp://h/"),
            Err(UrlError::Scheme { .. })
        ));
        assert!(matches!(
            Url::parse("http://h:0/"),
            Err(UrlError::Port { .. })
        ));
        assert!(matches!(
            Url::parse("http://h:99999/"),
            Err(UrlError::Port { .. })
        ));
        assert!(matches!(
            Url::parse("http:///x"),
            Err(UrlError::NoHost { .. })
        ));
        assert!(matches!(
            Url::parse("http://h/a b"),
            Err(UrlError::Byte { byte: b' ', .. })
        ));
        assert!(matches!(
            Url::parse("http://[::1/"),
            Err(UrlError::Ipv6 { .. })
        ));
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("X-A: b: c"),
            Some(("X-A".into(), "b: c".into()))
        );
        assert_eq!(parse_header("nocolon"), None);
        assert_eq!(parse_header(": v"), None);
        let mut r = Request::get(Url::parse("http://h:81/").unwrap());
        assert_eq!(r.header("host").as_deref(), Some("h:81"));
        r.headers.push(("Host".into(), "other".into()));
        assert_eq!(r.header("HOST").as_deref(), Some("other"));
    }
}
