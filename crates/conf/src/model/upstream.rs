//! `upstream {}` blocks and the `*_pass` directives that point at backends.

use std::time::Duration;

use serde::Serialize;

use super::addr::{AddrError, Address, parse_url};
use super::values::{parse_size, parse_time};
use crate::tree::{Config, NodeId};

/// An `upstream NAME { … }` block.
#[derive(Debug, Clone, Serialize)]
pub struct Upstream {
    /// The block directive.
    #[serde(skip)]
    pub node: NodeId,
    /// Its name.
    pub name: String,
    /// Its `server` lines.
    pub servers: Vec<UpstreamServer>,
    /// `keepalive N` (idle connections cached per worker), when written.
    pub keepalive: Option<u32>,
    /// `keepalive_timeout`, when written.
    pub keepalive_timeout: Option<Duration>,
    /// The balancing method (`least_conn`, `ip_hash`, `hash`, `random`…), when written.
    pub balancer: Option<String>,
    /// `zone NAME [size]`, when written (needed for `resolve`).
    pub zone: Option<String>,
}

impl Upstream {
    /// Servers that take traffic before any backup does.
    pub fn primaries(&self) -> impl Iterator<Item = &UpstreamServer> {
        self.servers.iter().filter(|s| !s.backup)
    }
}

/// A `server ADDRESS [params];` line inside an upstream block.
#[derive(Debug, Clone, Serialize)]
pub struct UpstreamServer {
    /// The directive.
    #[serde(skip)]
    pub node: NodeId,
    /// The address as written.
    pub raw: String,
    /// The parsed address, or why nginx would reject it.
    #[serde(skip)]
    pub address: Result<Address, AddrError>,
    /// `weight=` (default 1).
    pub weight: u32,
    /// `max_fails=` (default 1; 0 disables failure accounting).
    pub max_fails: u32,
    /// `fail_timeout=` (default 10s).
    pub fail_timeout: Duration,
    /// `max_conns=` (0 = unlimited).
    pub max_conns: u32,
    /// `backup`.
    pub backup: bool,
    /// `down`.
    pub down: bool,
    /// `resolve` (re-resolve the name at run time).
    pub resolve: bool,
    /// Parameters this model does not interpret, as written.
    pub other: Vec<String>,
}

/// Read every `upstream` block under `parent` (http or stream).
pub fn upstreams(cfg: &Config, parent: NodeId) -> Vec<Upstream> {
    cfg.find(Some(parent), "upstream")
        .map(|id| upstream(cfg, id))
        .collect()
}

fn upstream(cfg: &Config, id: NodeId) -> Upstream {
    let n = cfg.node(id);
    let mut up = Upstream {
        node: id,
        name: n.arg(0).unwrap_or_default().into_owned(),
        servers: Vec::new(),
        keepalive: None,
        keepalive_timeout: None,
        balancer: None,
        zone: None,
    };
    for &c in cfg.children(id) {
        let d = cfg.node(c);
        let name = d.name.text();
        match name.as_ref() {
            "server" => up.servers.push(server(cfg, c)),
            "keepalive" => up.keepalive = d.arg(0).and_then(|a| a.parse().ok()),
            "keepalive_timeout" => up.keepalive_timeout = d.arg(0).and_then(|a| parse_time(&a)),
            "zone" => up.zone = d.arg(0).map(|a| a.into_owned()),
            "least_conn" | "ip_hash" | "hash" | "random" | "least_time" | "ntlm" | "sticky" => {
                up.balancer = Some(name.into_owned())
            }
            _ => {}
        }
    }
    up
}

fn server(cfg: &Config, id: NodeId) -> UpstreamServer {
    let n = cfg.node(id);
    let raw = n.arg(0).unwrap_or_default().into_owned();
    let mut s = UpstreamServer {
        node: id,
        address: parse_url(&raw, false).map(|u| u.addr),
        raw,
        weight: 1,
        max_fails: 1,
        fail_timeout: Duration::from_secs(10),
        max_conns: 0,
        backup: false,
        down: false,
        resolve: false,
        other: Vec::new(),
    };
    for a in n.args.iter().skip(1) {
        let a = a.text();
        let (k, v) = a.split_once('=').unwrap_or((&a, ""));
        match k {
            "weight" => s.weight = v.parse().unwrap_or(1),
            "max_fails" => s.max_fails = v.parse().unwrap_or(1),
            "fail_timeout" => s.fail_timeout = parse_time(v).unwrap_or(Duration::from_secs(10)),
            "max_conns" => s.max_conns = v.parse().unwrap_or(0),
            "backup" => s.backup = true,
            "down" => s.down = true,
            "resolve" => s.resolve = true,
            _ => s.other.push(a.into_owned()),
        }
    }
    s
}

/// The modules that pass requests to a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PassModule {
    /// `proxy_pass` (HTTP).
    Proxy,
    /// `fastcgi_pass`.
    Fastcgi,
    /// `uwsgi_pass`.
    Uwsgi,
    /// `scgi_pass`.
    Scgi,
    /// `grpc_pass`.
    Grpc,
    /// `memcached_pass`.
    Memcached,
}

impl PassModule {
    /// All of them.
    pub const ALL: [PassModule; 6] = [
        PassModule::Proxy,
        PassModule::Fastcgi,
        PassModule::Uwsgi,
        PassModule::Scgi,
        PassModule::Grpc,
        PassModule::Memcached,
    ];

    /// The directive name (`proxy_pass`).
    pub fn directive(self) -> &'static str {
        match self {
            PassModule::Proxy => "proxy_pass",
            PassModule::Fastcgi => "fastcgi_pass",
            PassModule::Uwsgi => "uwsgi_pass",
            PassModule::Scgi => "scgi_pass",
            PassModule::Grpc => "grpc_pass",
            PassModule::Memcached => "memcached_pass",
        }
    }

    /// The prefix of the module's other directives (`proxy`, `fastcgi`…).
    pub fn prefix(self) -> &'static str {
        self.directive().trim_end_matches("_pass")
    }

    /// The module for a directive name.
    pub fn from_directive(name: &str) -> Option<PassModule> {
        PassModule::ALL.into_iter().find(|m| m.directive() == name)
    }
}

/// The wire protocol nginx speaks to the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// HTTP/1.x (`proxy_pass http://`).
    Http,
    /// HTTP/1.x over TLS (`proxy_pass https://`).
    Https,
    /// FastCGI.
    Fastcgi,
    /// uwsgi.
    Uwsgi,
    /// uwsgi over TLS.
    Suwsgi,
    /// SCGI.
    Scgi,
    /// gRPC over cleartext HTTP/2.
    Grpc,
    /// gRPC over TLS.
    Grpcs,
    /// memcached text protocol.
    Memcached,
}

impl Protocol {
    /// The schema nginx prints in the error log's `upstream:` field.
    pub fn schema(self) -> &'static str {
        match self {
            Protocol::Http => "http://",
            Protocol::Https => "https://",
            Protocol::Fastcgi => "fastcgi://",
            Protocol::Uwsgi => "uwsgi://",
            Protocol::Suwsgi => "suwsgi://",
            Protocol::Scgi => "scgi://",
            Protocol::Grpc => "grpc://",
            Protocol::Grpcs => "grpcs://",
            Protocol::Memcached => "memcached://",
        }
    }

    /// The port nginx assumes when none is written.
    pub fn default_port(self) -> u16 {
        match self {
            Protocol::Https | Protocol::Grpcs => 443,
            _ => 80,
        }
    }

    /// Whether nginx wraps the connection in TLS.
    pub fn tls(self) -> bool {
        matches!(self, Protocol::Https | Protocol::Suwsgi | Protocol::Grpcs)
    }
}

/// Where a `*_pass` sends requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PassTarget {
    /// An `upstream {}` block by name.
    Group {
        /// The block's name.
        name: String,
        /// Index in [`super::Http::upstreams`].
        #[serde(skip)]
        index: usize,
        /// A port written after the name: nginx refuses this
        /// (`upstream "x" may not have port N`).
        port: Option<u16>,
    },
    /// A fixed address (nginx makes an implicit one-server upstream; a host
    /// name is resolved once, at start-up, to all its addresses).
    Address {
        /// The address.
        address: Address,
    },
    /// Computed per request from variables. `host` is the host part when it
    /// holds no variables itself.
    Dynamic {
        /// The static host part, if any.
        host: Option<String>,
    },
    /// nginx would reject the argument.
    Invalid {
        /// nginx's reason.
        reason: String,
    },
}

/// One `*_pass` directive, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Pass {
    /// Which module.
    pub module: PassModule,
    /// The directive.
    #[serde(skip)]
    pub node: NodeId,
    /// The protocol nginx speaks.
    pub protocol: Protocol,
    /// The argument as written.
    pub raw: String,
    /// Where it goes.
    pub target: PassTarget,
    /// The static URI part of a `proxy_pass` (`/app/` in `http://b/app/`).
    pub uri: Option<String>,
    /// Whether the argument has variables (evaluated per request).
    pub variables: bool,
}

/// Upstream block names, lowercased, for the case-insensitive lookups
/// nginx does when it resolves a `*_pass` host.
#[derive(Debug, Clone, Default)]
pub struct GroupIndex<'a> {
    groups: &'a [Upstream],
    by_name: std::collections::HashMap<String, usize>,
}

impl<'a> GroupIndex<'a> {
    /// Index `groups` (the first block of a name wins, as in nginx).
    pub fn new(groups: &'a [Upstream]) -> Self {
        let mut by_name = std::collections::HashMap::with_capacity(groups.len());
        for (i, g) in groups.iter().enumerate() {
            by_name.entry(g.name.to_ascii_lowercase()).or_insert(i);
        }
        GroupIndex { groups, by_name }
    }

    fn find(&self, host: &str) -> Option<usize> {
        if host.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_name.get(&host.to_ascii_lowercase()).copied()
        } else {
            self.by_name.get(host).copied()
        }
    }
}

/// Resolve the `*_pass` directive `id` against the known upstream blocks.
pub fn pass(cfg: &Config, id: NodeId, module: PassModule, groups: &[Upstream]) -> Pass {
    pass_indexed(cfg, id, module, &GroupIndex::new(groups))
}

/// [`pass`] with a prebuilt [`GroupIndex`].
pub fn pass_indexed(
    cfg: &Config,
    id: NodeId,
    module: PassModule,
    by_name: &GroupIndex<'_>,
) -> Pass {
    let groups = by_name.groups;
    let raw = cfg.node(id).arg(0).unwrap_or_default().into_owned();
    let variables = raw.contains('$');
    let (protocol, rest) = split_scheme(module, &raw);
    let mut p = Pass {
        module,
        node: id,
        protocol: protocol.unwrap_or(Protocol::Http),
        raw: raw.clone(),
        target: PassTarget::Invalid {
            reason: String::new(),
        },
        uri: None,
        variables,
    };
    let Some(protocol) = protocol else {
        p.target = PassTarget::Invalid {
            reason: format!("invalid URL prefix in \"{raw}\""),
        };
        return p;
    };
    p.protocol = protocol;
    let allow_uri = module == PassModule::Proxy;
    if variables {
        let host_end = if rest.starts_with("unix:") {
            rest.len()
        } else {
            host_end(rest)
        };
        let host = &rest[..host_end];
        if !host.contains('$')
            && let Ok(u) = parse_url(host, false)
        {
            if let Address::Tcp { host, port: None } = &u.addr
                && let Some(index) = by_name.find(host)
            {
                p.target = PassTarget::Group {
                    name: groups[index].name.clone(),
                    index,
                    port: None,
                };
                return p;
            }
            if let Address::Tcp { host, .. } = u.addr {
                p.target = PassTarget::Dynamic { host: Some(host) };
                return p;
            }
        }
        p.target = PassTarget::Dynamic { host: None };
        return p;
    }
    match parse_url(rest, allow_uri) {
        Ok(u) => {
            p.uri = u.uri;
            if let Address::Tcp { host, port } = &u.addr
                && let Some(index) = by_name.find(host)
            {
                p.target = PassTarget::Group {
                    name: groups[index].name.clone(),
                    index,
                    port: *port,
                };
                return p;
            }
            p.target = PassTarget::Address { address: u.addr };
        }
        Err(e) => {
            p.target = PassTarget::Invalid {
                reason: format!("{e} in \"{raw}\""),
            }
        }
    }
    p
}

/// Where the host part of a `*_pass` argument with variables ends: at the
/// first `/` or `?`, or at a variable that always starts with `/` or `?`
/// (`http://backend$request_uri`). Any other variable is part of the host.
fn host_end(rest: &str) -> usize {
    const URI_VARS: &[&str] = &["$request_uri", "$uri", "$document_uri", "$is_args"];
    let slash = rest.find(['/', '?']).unwrap_or(rest.len());
    let var = rest
        .match_indices('$')
        .map(|(i, _)| i)
        .find(|&i| URI_VARS.iter().any(|v| rest[i..].starts_with(v)))
        .unwrap_or(rest.len());
    slash.min(var)
}

fn split_scheme(module: PassModule, raw: &str) -> (Option<Protocol>, &str) {
    let strip = |scheme: &str, proto: Protocol| -> Option<(Option<Protocol>, &str)> {
        raw.as_bytes()
            .get(..scheme.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(scheme.as_bytes()))
            .then(|| (Some(proto), &raw[scheme.len()..]))
    };
    match module {
        PassModule::Proxy => strip("http://", Protocol::Http)
            .or_else(|| strip("https://", Protocol::Https))
            .unwrap_or((None, raw)),
        PassModule::Grpc => strip("grpc://", Protocol::Grpc)
            .or_else(|| strip("grpcs://", Protocol::Grpcs))
            .unwrap_or((Some(Protocol::Grpc), raw)),
        PassModule::Uwsgi => strip("uwsgi://", Protocol::Uwsgi)
            .or_else(|| strip("suwsgi://", Protocol::Suwsgi))
            .unwrap_or((Some(Protocol::Uwsgi), raw)),
        PassModule::Fastcgi => (Some(Protocol::Fastcgi), raw),
        PassModule::Scgi => (Some(Protocol::Scgi), raw),
        PassModule::Memcached => (Some(Protocol::Memcached), raw),
    }
}

/// Parse `proxy_buffers 8 4k` → (8, 4096).
pub fn parse_buffers(args: &[String]) -> Option<(u32, u64)> {
    Some((args.first()?.parse().ok()?, parse_size(args.get(1)?)?))
}
