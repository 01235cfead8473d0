//! `http {}` and `stream {}`: servers, listen sockets, server names, and the
//! location tree with each location's `*_pass`.

use serde::Serialize;

use super::addr::{Address, parse_url};
use super::upstream::{
    GroupIndex, Pass, PassModule, PassTarget, Upstream, pass_indexed, upstreams,
};
use crate::tree::{Config, NodeId};

/// The `http {}` block.
#[derive(Debug, Clone)]
pub struct Http {
    /// The block.
    pub node: NodeId,
    /// Its `server` blocks, in order.
    pub servers: Vec<Server>,
    /// Its `upstream` blocks.
    pub upstreams: Vec<Upstream>,
}

/// A `server {}` block.
#[derive(Debug, Clone)]
pub struct Server {
    /// The block.
    pub node: NodeId,
    /// Listen sockets (nginx's default `*:80` when none is written).
    pub listens: Vec<Listen>,
    /// `server_name` values, in order (`""` when none is written).
    pub names: Vec<String>,
    /// Top-level locations, in order.
    pub locations: Vec<Location>,
}

impl Server {
    /// Every location, nested ones included, depth first.
    pub fn all_locations(&self) -> Vec<&Location> {
        fn walk<'a>(ls: &'a [Location], out: &mut Vec<&'a Location>) {
            for l in ls {
                out.push(l);
                walk(&l.nested, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.locations, &mut out);
        out
    }

    /// The first server name (what nginx prints as `server:` in its logs).
    pub fn primary_name(&self) -> &str {
        self.names.first().map_or("", |n| n.trim_start_matches('.'))
    }
}

/// A `listen` socket.
#[derive(Debug, Clone, Serialize)]
pub struct Listen {
    /// The directive (`None` for nginx's implicit default).
    #[serde(skip)]
    pub node: Option<NodeId>,
    /// Address: host is `*` for all IPv4 addresses.
    pub address: Address,
    /// `default_server` (or the old `default`).
    pub default_server: bool,
    /// `ssl`.
    pub ssl: bool,
    /// `http2` (parameter form).
    pub http2: bool,
    /// `proxy_protocol`.
    pub proxy_protocol: bool,
}

impl Listen {
    /// The port (80 when not written), or `None` for unix sockets.
    pub fn port(&self) -> Option<u16> {
        match &self.address {
            Address::Tcp { port, .. } => Some(port.unwrap_or(80)),
            Address::Unix { .. } => None,
        }
    }
}

/// How a location matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Modifier {
    /// `location = /x`.
    #[serde(rename = "=")]
    Exact,
    /// `location ^~ /x`: prefix; if it is the longest, regexes are skipped.
    #[serde(rename = "^~")]
    PrefixNoRegex,
    /// `location /x`.
    #[serde(rename = "")]
    Prefix,
    /// `location ~ re`.
    #[serde(rename = "~")]
    Regex,
    /// `location ~* re`.
    #[serde(rename = "~*")]
    RegexCaseless,
    /// `location @name`.
    #[serde(rename = "@")]
    Named,
}

impl Modifier {
    /// As written in the config (`""` for plain prefix).
    pub fn as_str(self) -> &'static str {
        match self {
            Modifier::Exact => "=",
            Modifier::PrefixNoRegex => "^~",
            Modifier::Prefix => "",
            Modifier::Regex => "~",
            Modifier::RegexCaseless => "~*",
            Modifier::Named => "@",
        }
    }

    /// Whether the location is a regex.
    pub fn is_regex(self) -> bool {
        matches!(self, Modifier::Regex | Modifier::RegexCaseless)
    }
}

/// A `location {}` block.
#[derive(Debug, Clone)]
pub struct Location {
    /// The block.
    pub node: NodeId,
    /// How it matches.
    pub modifier: Modifier,
    /// The path, regex or name (without `@`).
    pub path: String,
    /// Locations nested inside it.
    pub nested: Vec<Location>,
    /// Its `*_pass`, if any (not inherited by nested locations).
    pub pass: Option<Pass>,
    /// `if` blocks directly inside it.
    pub ifs: Vec<IfBlock>,
}

/// An `if (…) {}` block inside a location.
#[derive(Debug, Clone)]
pub struct IfBlock {
    /// The block.
    pub node: NodeId,
    /// The condition words, parentheses removed.
    pub condition: Vec<String>,
    /// A `*_pass` inside it (used when the condition holds).
    pub pass: Option<Pass>,
}

/// The `stream {}` block.
#[derive(Debug, Clone)]
pub struct Stream {
    /// The block.
    pub node: NodeId,
    /// Its servers.
    pub servers: Vec<StreamServer>,
    /// Its upstream blocks.
    pub upstreams: Vec<Upstream>,
}

/// A `server {}` in `stream {}` (TCP/UDP proxying).
#[derive(Debug, Clone)]
pub struct StreamServer {
    /// The block.
    pub node: NodeId,
    /// Listen sockets.
    pub listens: Vec<Listen>,
    /// Its `proxy_pass` (`host:port`, an upstream, `unix:…`, or variables).
    pub pass: Option<(NodeId, PassTarget)>,
}

pub(crate) fn read_http(cfg: &Config, id: NodeId) -> Http {
    let ups = upstreams(cfg, id);
    let index = GroupIndex::new(&ups);
    let servers = cfg
        .find(Some(id), "server")
        .map(|s| read_server(cfg, s, &index))
        .collect();
    Http {
        node: id,
        servers,
        upstreams: ups,
    }
}

pub(crate) fn read_stream(cfg: &Config, id: NodeId) -> Stream {
    let ups = upstreams(cfg, id);
    let servers = cfg
        .find(Some(id), "server")
        .map(|s| StreamServer {
            node: s,
            listens: cfg
                .find(Some(s), "listen")
                .filter_map(|l| read_listen(cfg, l))
                .collect(),
            pass: cfg.find(Some(s), "proxy_pass").next().map(|p| {
                let raw = cfg.node(p).arg(0).unwrap_or_default().into_owned();
                let target = if raw.contains('$') {
                    PassTarget::Dynamic { host: None }
                } else {
                    match parse_url(&raw, false) {
                        Ok(u) => match &u.addr {
                            Address::Tcp { host, port: None } => {
                                match ups.iter().position(|g| g.name.eq_ignore_ascii_case(host)) {
                                    Some(index) => PassTarget::Group {
                                        name: ups[index].name.clone(),
                                        index,
                                        port: None,
                                    },
                                    None => PassTarget::Address { address: u.addr },
                                }
                            }
                            _ => PassTarget::Address { address: u.addr },
                        },
                        Err(e) => PassTarget::Invalid {
                            reason: e.to_string(),
                        },
                    }
                };
                (p, target)
            }),
        })
        .collect();
    Stream {
        node: id,
        servers,
        upstreams: ups,
    }
}

fn read_server(cfg: &Config, id: NodeId, ups: &GroupIndex<'_>) -> Server {
    let mut listens: Vec<Listen> = cfg
        .find(Some(id), "listen")
        .filter_map(|l| read_listen(cfg, l))
        .collect();
    if listens.is_empty() {
        listens.push(Listen {
            node: None,
            address: Address::Tcp {
                host: "*".into(),
                port: Some(80),
            },
            default_server: false,
            ssl: false,
            http2: false,
            proxy_protocol: false,
        });
    }
    let mut names: Vec<String> = cfg
        .find(Some(id), "server_name")
        .flat_map(|n| cfg.node(n).args.iter().map(|w| w.text().into_owned()))
        .collect();
    if names.is_empty() {
        names.push(String::new());
    }
    Server {
        node: id,
        listens,
        names,
        locations: read_locations(cfg, id, ups),
    }
}

fn read_listen(cfg: &Config, id: NodeId) -> Option<Listen> {
    let n = cfg.node(id);
    let first = n.arg(0)?;
    let address = if let Ok(port) = first.parse::<u16>() {
        Address::Tcp {
            host: "*".into(),
            port: Some(port),
        }
    } else {
        let mut a = parse_url(&first, false).ok()?.addr;
        if let Address::Tcp { port, .. } = &mut a {
            port.get_or_insert(80);
        }
        a
    };
    let has = |p: &str| n.args.iter().skip(1).any(|w| w.is(p));
    Some(Listen {
        node: Some(id),
        address,
        default_server: has("default_server") || has("default"),
        ssl: has("ssl"),
        http2: has("http2"),
        proxy_protocol: has("proxy_protocol"),
    })
}

fn read_locations(cfg: &Config, block: NodeId, ups: &GroupIndex<'_>) -> Vec<Location> {
    cfg.find(Some(block), "location")
        .filter_map(|l| read_location(cfg, l, ups))
        .collect()
}

fn read_location(cfg: &Config, id: NodeId, ups: &GroupIndex<'_>) -> Option<Location> {
    let n = cfg.node(id);
    let (modifier, path) = match n.args.len() {
        2 => {
            let m = match n.args[0].text().as_ref() {
                "=" => Modifier::Exact,
                "^~" => Modifier::PrefixNoRegex,
                "~" => Modifier::Regex,
                "~*" => Modifier::RegexCaseless,
                _ => return None,
            };
            (m, n.args[1].text().into_owned())
        }
        1 => {
            let a = n.args[0].text();
            if let Some(rest) = a.strip_prefix('=') {
                (Modifier::Exact, rest.to_owned())
            } else if let Some(rest) = a.strip_prefix("~*") {
                (Modifier::RegexCaseless, rest.to_owned())
            } else if let Some(rest) = a.strip_prefix('~') {
                (Modifier::Regex, rest.to_owned())
            } else if let Some(rest) = a.strip_prefix('@') {
                (Modifier::Named, rest.to_owned())
            } else {
                (Modifier::Prefix, a.into_owned())
            }
        }
        _ => return None,
    };
    // One walk over the block: `if`s and nested locations in order, and
    // the first `*_pass`.
    let mut ifs = Vec::new();
    let mut nested = Vec::new();
    let mut pass = None;
    for &c in cfg.children(id) {
        let name = &cfg.node(c).name;
        if name.is("if") {
            ifs.push(IfBlock {
                node: c,
                condition: if_condition(cfg, c),
                pass: find_pass(cfg, c, ups),
            });
        } else if name.is("location") {
            nested.extend(read_location(cfg, c, ups));
        } else if pass.is_none() {
            pass = pass_of(cfg, c, ups);
        }
    }
    Some(Location {
        node: id,
        modifier,
        path,
        nested,
        pass,
        ifs,
    })
}

fn find_pass(cfg: &Config, block: NodeId, ups: &GroupIndex<'_>) -> Option<Pass> {
    cfg.children(block)
        .iter()
        .find_map(|&c| pass_of(cfg, c, ups))
}

/// The directive `c` as a `*_pass`, if it is one.
fn pass_of(cfg: &Config, c: NodeId, ups: &GroupIndex<'_>) -> Option<Pass> {
    let name = &cfg.node(c).name.value;
    if !name.ends_with(b"_pass") {
        return None;
    }
    PassModule::ALL
        .into_iter()
        .find(|m| **name == *m.directive().as_bytes())
        .map(|m| pass_indexed(cfg, c, m, ups))
}

/// An `if`'s condition words with the surrounding parentheses removed, as
/// `ngx_http_rewrite_if_condition` does.
pub fn if_condition(cfg: &Config, id: NodeId) -> Vec<String> {
    let mut words: Vec<String> = cfg
        .node(id)
        .args
        .iter()
        .map(|w| w.text().into_owned())
        .collect();
    if let Some(first) = words.first_mut()
        && let Some(rest) = first.strip_prefix('(')
    {
        *first = rest.to_owned();
    }
    if let Some(last) = words.last_mut()
        && let Some(rest) = last.strip_suffix(')')
    {
        *last = rest.to_owned();
    }
    words.retain(|w| !w.is_empty());
    words
}
