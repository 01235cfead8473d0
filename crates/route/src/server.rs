//! Server selection, as nginx does it: first the listen socket the
//! connection arrives on (a server listening on the exact address wins over
//! `*:port`; only the servers of that socket are considered), then the
//! `Host` name among them: exact name, longest `*.`/`.` wildcard, longest
//! `.*` wildcard, first regex in config order, else the socket's
//! `default_server` (else its first server).

use std::net::IpAddr;

use badgateway_conf::model::{Address, Http, Listen, Server};

use crate::regex::{Captures, Regex};
use crate::url::Url;

/// The listen socket a request arrives on.
#[derive(Debug, Clone)]
pub struct Socket {
    /// How nginx prints it (`127.0.0.1:8080`, `*:80`, `[::1]:443`).
    pub key: String,
    /// Indexes of the servers listening on it, in config order.
    pub servers: Vec<usize>,
    /// Index of its default server.
    pub default: usize,
    /// Whether the default is explicit (`default_server`).
    pub explicit_default: bool,
    /// An assumption made to pick it (the URL named a host, not an address).
    pub assumed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Bind {
    Any4,
    Any6,
    Ip(IpAddr),
    Name(String),
}

fn bind(l: &Listen) -> Option<(Bind, u16)> {
    let port = l.port()?;
    let Address::Tcp { host, .. } = &l.address else {
        return None;
    };
    let b = match host.as_str() {
        "*" | "0.0.0.0" => Bind::Any4,
        "::" => Bind::Any6,
        h if h.eq_ignore_ascii_case("localhost") => Bind::Ip(IpAddr::from([127, 0, 0, 1])),
        h => match h.parse::<IpAddr>() {
            Ok(ip) => Bind::Ip(ip),
            Err(_) => Bind::Name(h.to_ascii_lowercase()),
        },
    };
    Some((b, port))
}

fn key(b: &Bind, port: u16) -> String {
    match b {
        Bind::Any4 => format!("*:{port}"),
        Bind::Any6 => format!("[::]:{port}"),
        Bind::Ip(IpAddr::V4(ip)) => format!("{ip}:{port}"),
        Bind::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        Bind::Name(n) => format!("{n}:{port}"),
    }
}

/// Find the socket for the URL's address and port. `Err` says why no
/// server takes the connection.
pub fn socket(http: &Http, url: &Url) -> Result<Socket, String> {
    let port = url.port;
    let ip = url.ip();
    let v6 = match ip {
        Some(ip) => ip.is_ipv6(),
        None => false,
    };
    let mut binds: Vec<Bind> = Vec::new();
    for s in &http.servers {
        for l in &s.listens {
            if let Some((b, p)) = bind(l)
                && p == port
                && !binds.contains(&b)
            {
                binds.push(b);
            }
        }
    }
    let wildcard = if v6 { Bind::Any6 } else { Bind::Any4 };
    let mut assumed = None;
    let chosen = match ip {
        Some(ip) if binds.contains(&Bind::Ip(ip)) => Bind::Ip(ip),
        Some(_) if binds.contains(&wildcard) => wildcard,
        Some(ip) => {
            return Err(format!(
                "no server listens on {} (listen sockets on port {port}: {})",
                key(&Bind::Ip(ip), port),
                list(&binds, port)
            ));
        }
        None => {
            let specific: Vec<&Bind> = binds
                .iter()
                .filter(|b| !matches!(b, Bind::Any4 | Bind::Any6))
                .collect();
            let pick = if binds.contains(&Bind::Any4) {
                Some(Bind::Any4)
            } else if binds.contains(&Bind::Any6) {
                Some(Bind::Any6)
            } else {
                specific.first().map(|b| (*b).clone())
            };
            let Some(pick) = pick else {
                return Err(format!("no server listens on port {port}"));
            };
            if !specific.is_empty() {
                assumed = Some(format!(
                    "{} is a name, not an address: assumed it reaches {} (listen sockets on port {port}: {}); put the address in the URL and the name in --header Host: to choose",
                    url.host,
                    key(&pick, port),
                    list(&binds, port)
                ));
            }
            pick
        }
    };
    let mut servers = Vec::new();
    let mut default = None;
    for (i, s) in http.servers.iter().enumerate() {
        for l in &s.listens {
            if bind(l).is_some_and(|(b, p)| p == port && b == chosen) {
                if !servers.contains(&i) {
                    servers.push(i);
                }
                if l.default_server && default.is_none() {
                    default = Some(i);
                }
            }
        }
    }
    Ok(Socket {
        key: key(&chosen, port),
        explicit_default: default.is_some(),
        default: default.unwrap_or(servers[0]),
        servers,
        assumed,
    })
}

fn list(binds: &[Bind], port: u16) -> String {
    if binds.is_empty() {
        return "none".into();
    }
    binds
        .iter()
        .map(|b| key(b, port))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Validate and normalise a `Host` value like `ngx_http_validate_host`:
/// lower-case, port and trailing dot removed. `Err` means nginx answers 400.
pub fn normalize_host(h: &str) -> Result<String, &'static str> {
    let b = h.as_bytes();
    let mut host_len = b.len();
    let mut dot_pos = None;
    let mut literal = false;
    let mut rest = false;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'.' => {
                if i > 0 && dot_pos == Some(i - 1) && !rest {
                    return Err("\"..\" in the Host header");
                }
                dot_pos = Some(i);
            }
            b':' if !literal && !rest => {
                host_len = i;
                rest = true;
            }
            b'[' if i == 0 => literal = true,
            b']' if literal && !rest => {
                host_len = i + 1;
                literal = false;
                rest = true;
            }
            b'/' | 0 => return Err("invalid byte in the Host header"),
            _ => {}
        }
    }
    if dot_pos.is_some_and(|d| d + 1 == host_len) {
        host_len -= 1;
    }
    if host_len == 0 {
        return Err("empty Host header");
    }
    Ok(String::from_utf8_lossy(&b[..host_len]).to_ascii_lowercase())
}

/// How a server name matched.
#[derive(Debug, Clone)]
pub struct NameMatch {
    /// Index of the server.
    pub server: usize,
    /// `exact`, `wildcard`, `regex`, `default_server`, `first`.
    pub by: &'static str,
    /// The name that matched.
    pub name: Option<String>,
    /// Captures of a regex name.
    pub captures: Option<Captures>,
    /// Regex names that could not be evaluated.
    pub unevaluated: Vec<String>,
}

/// Pick the server for `host` (normalised) among the socket's servers.
pub fn by_name(servers: &[Server], sock: &Socket, host: &str) -> NameMatch {
    let mut m = NameMatch {
        server: sock.default,
        by: if sock.explicit_default {
            "default_server"
        } else {
            "first"
        },
        name: None,
        captures: None,
        unevaluated: Vec::new(),
    };
    let names = || {
        sock.servers
            .iter()
            .flat_map(|&i| servers[i].names.iter().map(move |n| (i, n)))
    };
    // 1. exact (".example.com" also stands for "example.com")
    if let Some((i, n)) = names().find(|(_, n)| {
        !n.starts_with('~') && n.strip_prefix('.').unwrap_or(n).eq_ignore_ascii_case(host)
    }) {
        return NameMatch {
            server: i,
            by: "exact",
            name: Some(n.clone()),
            ..m
        };
    }
    // 2. longest leading wildcard: "*.example.com" or ".example.com"
    let head = names()
        .filter_map(|(i, n)| {
            let suffix = n
                .strip_prefix('*')
                .or_else(|| n.starts_with('.').then_some(n.as_str()))?;
            (suffix.starts_with('.')
                && host.len() > suffix.len()
                && host.ends_with(&suffix.to_ascii_lowercase()))
            .then_some((i, n, suffix.len()))
        })
        .fold(
            None,
            |best: Option<(usize, &String, usize)>, c| match best {
                Some(b) if b.2 >= c.2 => Some(b),
                _ => Some(c),
            },
        );
    if let Some((i, n, _)) = head {
        return NameMatch {
            server: i,
            by: "wildcard",
            name: Some(n.clone()),
            ..m
        };
    }
    // 3. longest trailing wildcard: "www.example.*"
    let tail = names()
        .filter_map(|(i, n)| {
            let prefix = n.strip_suffix('*')?;
            (prefix.ends_with('.')
                && !n.starts_with('~')
                && host.len() > prefix.len()
                && host.starts_with(&prefix.to_ascii_lowercase()))
            .then_some((i, n, prefix.len()))
        })
        .fold(
            None,
            |best: Option<(usize, &String, usize)>, c| match best {
                Some(b) if b.2 >= c.2 => Some(b),
                _ => Some(c),
            },
        );
    if let Some((i, n, _)) = tail {
        return NameMatch {
            server: i,
            by: "wildcard",
            name: Some(n.clone()),
            ..m
        };
    }
    // 4. regexes in order; caseless when the pattern has an upper-case letter
    for (i, n) in names() {
        let Some(pat) = n.strip_prefix('~') else {
            continue;
        };
        let caseless = pat.bytes().any(|b| b.is_ascii_uppercase());
        match Regex::new(pat.as_bytes(), caseless) {
            Ok(re) => {
                if let Some(c) = re.captures(host.as_bytes()) {
                    return NameMatch {
                        server: i,
                        by: "regex",
                        name: Some(n.clone()),
                        captures: Some(c),
                        ..m
                    };
                }
            }
            Err(e) => m.unevaluated.push(format!("server_name {n}: {}", e.reason)),
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            normalize_host("WWW.Example.COM.").unwrap(),
            "www.example.com"
        );
        assert_eq!(normalize_host("example.com:8080").unwrap(), "example.com");
        assert_eq!(normalize_host("[::1]:80").unwrap(), "[::1]");
        assert!(normalize_host("").is_err());
        assert!(normalize_host("a..b").is_err());
        assert!(normalize_host("a/b").is_err());
    }
}
