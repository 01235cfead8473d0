//! The configuration against the host it runs on ([`HostFacts`]): unix
//! socket paths that are missing, not sockets, or not listened on; TCP
//! where the backend listens on a unix socket and the reverse; nothing
//! listening at a local backend address; `localhost` backends; and
//! `worker_connections` against the open-file limit. A rule only claims
//! what the facts show: unknown facts produce no finding.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use badgateway_conf::model::{Address, PassModule, PassTarget};
use badgateway_conf::{Model, NodeId};

use crate::facts::PathKind;
use crate::util::{after_scheme, edit_distance, is_localhost};
use crate::{Cx, Lint};

/// A place where the configuration connects to a backend address.
pub(crate) struct Use {
    /// The directive (`*_pass` or upstream `server`).
    pub node: NodeId,
    /// How the directive is written, for messages (`fastcgi_pass unix:/x`).
    pub text: String,
    /// The module speaking to it, when known.
    pub module: Option<PassModule>,
    /// The scheme written before the address (`http://`), if any.
    pub scheme: String,
}

/// Every backend address the configuration connects to.
fn address_uses(model: &Model) -> Vec<(Address, Use)> {
    let mut out = Vec::new();
    if let Some(http) = &model.http {
        let mut group_module = vec![None; http.upstreams.len()];
        for (_, p) in model.passes() {
            match &p.target {
                PassTarget::Address { address } => out.push((
                    address.clone(),
                    Use {
                        node: p.node,
                        text: format!("{} {}", p.module.directive(), p.raw),
                        module: Some(p.module),
                        scheme: p.raw[..p.raw.len() - after_scheme(&p.raw).len()].to_owned(),
                    },
                )),
                PassTarget::Group { index, .. } => {
                    if let Some(m) = group_module.get_mut(*index) {
                        m.get_or_insert(p.module);
                    }
                }
                _ => {}
            }
        }
        for (up, module) in http.upstreams.iter().zip(group_module) {
            // nginx never connects to a server marked `down`.
            for s in up.servers.iter().filter(|s| !s.down) {
                if let Ok(a) = &s.address {
                    out.push((
                        a.clone(),
                        Use {
                            node: s.node,
                            text: format!("upstream {}: server {}", up.name, s.raw),
                            module,
                            scheme: String::new(),
                        },
                    ));
                }
            }
        }
    }
    if let Some(stream) = &model.stream {
        for s in &stream.servers {
            if let Some((node, PassTarget::Address { address })) = &s.pass {
                out.push((
                    address.clone(),
                    Use {
                        node: *node,
                        text: format!("proxy_pass {}", address.display(0)),
                        module: None,
                        scheme: String::new(),
                    },
                ));
            }
        }
        for up in &stream.upstreams {
            for s in up.servers.iter().filter(|s| !s.down) {
                if let Ok(a) = &s.address {
                    out.push((
                        a.clone(),
                        Use {
                            node: s.node,
                            text: format!("upstream {}: server {}", up.name, s.raw),
                            module: None,
                            scheme: String::new(),
                        },
                    ));
                }
            }
        }
    }
    out
}

/// Every (absolute) unix socket path the configuration connects to.
pub(crate) fn socket_paths(model: &Model) -> Vec<PathBuf> {
    address_uses(model)
        .into_iter()
        .filter_map(|(a, _)| match a {
            Address::Unix { path } if path.is_absolute() => Some(path),
            _ => None,
        })
        .collect()
}

pub(crate) fn check(cx: &mut Cx<'_>) {
    for (address, at) in address_uses(cx.model) {
        match address {
            Address::Unix { path } if path.is_absolute() => unix(cx, &path, &at),
            Address::Tcp { host, port } => tcp(cx, &host, port.unwrap_or(80), &at),
            Address::Unix { .. } => {}
        }
    }
    worker_nofile(cx);
}

/// Words in a socket name that say which kind of backend it belongs to.
fn hints(module: Option<PassModule>) -> &'static [&'static str] {
    match module {
        Some(PassModule::Fastcgi) => &["php", "fpm", "fcgi"],
        Some(PassModule::Uwsgi) => &["uwsgi"],
        _ => &[],
    }
}

/// The TCP port a module's backends conventionally listen on locally.
fn conventional_port(module: Option<PassModule>) -> Option<u16> {
    match module {
        Some(PassModule::Fastcgi) => Some(9000),
        _ => None,
    }
}

fn directive_for(at: &Use, addr: &str) -> String {
    match at.module {
        Some(m) if at.text.starts_with(m.directive()) => {
            // `http://unix:/path` for proxy_pass; `unix:/path` elsewhere.
            format!("{} {}{addr};", m.directive(), at.scheme)
        }
        _ => format!("server {addr};"),
    }
}

fn unix(cx: &mut Cx<'_>, path: &Path, at: &Use) {
    let facts = cx.facts;
    let Some(kind) = facts.kind(path) else { return };
    let span = cx.span(at.node);
    let shown = path.display();
    match kind {
        PathKind::Missing => {
            if let Some(port) = conventional_port(at.module)
                && facts.tcp_listening(IpAddr::V4(Ipv4Addr::LOCALHOST), port) == Some(true)
            {
                cx.emit(
                    Lint::TcpUnixMixup,
                    span,
                    format!("{}: {shown} does not exist, but something listens on 127.0.0.1:{port}", at.text),
                    format!("The backend listens on TCP, not on a unix socket: connect() to {shown} fails with (2: No such file or directory) and every request gets 502."),
                    directive_for(at, &format!("127.0.0.1:{port}")),
                );
                return;
            }
            let dir = path.parent().unwrap_or(Path::new("/"));
            let mut nearby: Vec<&PathBuf> = facts
                .nearby_sockets
                .get(dir)
                .map(|v| v.iter().filter(|p| p.as_path() != path).collect())
                .unwrap_or_default();
            let name = path.to_string_lossy();
            nearby.sort_by_key(|p| edit_distance(&p.to_string_lossy(), &name));
            let listing = match (facts.nearby_sockets.contains_key(dir), nearby.is_empty()) {
                (false, _) => String::new(),
                (true, true) => format!(" (no socket in {})", dir.display()),
                (true, false) => {
                    let list: Vec<String> =
                        nearby.iter().map(|p| p.display().to_string()).collect();
                    format!(" (sockets in {}: {})", dir.display(), list.join(", "))
                }
            };
            let fix = match nearby.first() {
                Some(best) => format!(
                    "{}  (if that is the backend's socket), or start the backend that creates {shown}",
                    directive_for(at, &format!("unix:{}", best.display()))
                ),
                None => format!("start the backend that creates {shown}, or point at the socket its `listen` setting names"),
            };
            cx.emit(
                Lint::UnixSocketMissing,
                span,
                format!("{}: {shown} does not exist{listing}", at.text),
                Lint::UnixSocketMissing.help(),
                fix,
            );
        }
        PathKind::File | PathKind::Dir | PathKind::Other => {
            let what = match kind {
                PathKind::File => "a regular file",
                PathKind::Dir => "a directory",
                _ => "not a socket",
            };
            cx.emit(
                Lint::UnixSocketNotSocket,
                span,
                format!("{}: {shown} is {what}, not a socket", at.text),
                Lint::UnixSocketNotSocket.help(),
                "point at the socket the backend creates (its `listen` setting), e.g. unix:/run/php/php8.2-fpm.sock",
            );
        }
        PathKind::Unreadable => cx.emit(
            Lint::UnixSocketUnchecked,
            span,
            format!("{}: cannot look at {shown} (permission denied)", at.text),
            Lint::UnixSocketUnchecked.help(),
            "run badgateway as root or as nginx's worker user to check it; the worker user needs search (x) permission on every directory of the path and write permission on the socket",
        ),
        PathKind::Socket => {
            if facts.unix_listening(path) == Some(false) {
                cx.emit(
                    Lint::UnixSocketStale,
                    span,
                    format!("{}: {shown} is a socket file but no process listens on it", at.text),
                    Lint::UnixSocketStale.help(),
                    "start (or restart) the backend so it listens on this socket again",
                );
            }
        }
    }
}

fn tcp(cx: &mut Cx<'_>, host: &str, port: u16, at: &Use) {
    let facts = cx.facts;
    let span = cx.span(at.node);
    let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    if is_localhost(host) {
        let state = |ip| match facts.tcp_listening(ip, port) {
            Some(true) => " (listening)",
            Some(false) => " (nothing listens)",
            None => "",
        };
        cx.emit(
            Lint::LocalhostUpstream,
            span,
            format!(
                "{}: localhost resolves to 127.0.0.1{} and ::1{}",
                at.text,
                state(v4),
                state(v6)
            ),
            Lint::LocalhostUpstream.help(),
            format!(
                "{}  (the address the backend really listens on; [::1]:{port} if it is IPv6-only)",
                directive_for(at, &format!("127.0.0.1:{port}"))
            ),
        );
    }
    let ips: Vec<IpAddr> = if is_localhost(host) {
        vec![v4, v6]
    } else {
        match host.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() => vec![ip],
            _ => return,
        }
    };
    if ips
        .iter()
        .any(|&ip| facts.tcp_listening(ip, port) != Some(false))
    {
        return;
    }
    let words = hints(at.module);
    let socket = facts.unix_listeners.iter().flatten().find(|p| {
        let name = p.to_string_lossy().to_ascii_lowercase();
        words.iter().any(|w| name.contains(w))
    });
    if let Some(sock) = socket {
        cx.emit(
            Lint::TcpUnixMixup,
            span,
            format!(
                "{}: nothing listens on port {port}, but {} is a listening unix socket",
                at.text,
                sock.display()
            ),
            "The backend listens on a unix socket, not on TCP: connect() is refused (111) and every request gets 502.",
            directive_for(at, &format!("unix:{}", sock.display())),
        );
        return;
    }
    let others: Vec<String> = facts.local_ports().iter().map(u16::to_string).collect();
    cx.emit(
        Lint::LoopbackNotListening,
        span,
        format!(
            "{}: nothing listens on {host}:{port} (local ports listening: {})",
            at.text,
            if others.is_empty() {
                "none".to_owned()
            } else {
                others.join(", ")
            }
        ),
        Lint::LoopbackNotListening.help(),
        "start the backend, or point at the port it listens on",
    );
}

fn worker_nofile(cx: &mut Cx<'_>) {
    let main = &cx.model.main;
    let connections = main.worker_connections.unwrap_or(512);
    let (limit, source) = match (main.worker_rlimit_nofile, cx.facts.nofile_limit) {
        (Some(n), _) => (n, "worker_rlimit_nofile"),
        (None, Some(n)) => (n, "the process open-file limit"),
        _ => return,
    };
    if connections <= limit {
        return;
    }
    let cfg = &cx.model.cfg;
    let node = cfg
        .find(None, "events")
        .next()
        .and_then(|e| cfg.find(Some(e), "worker_connections").next())
        .or_else(|| cfg.find(None, "worker_rlimit_nofile").next());
    let Some(node) = node else { return };
    cx.emit(
        Lint::WorkerConnectionsOverNofile,
        cx.span(node),
        format!("worker_connections {connections} is above {source} ({limit})"),
        Lint::WorkerConnectionsOverNofile.help(),
        format!(
            "worker_rlimit_nofile {};  (at the main level; at least worker_connections plus room for files and logs)",
            (connections * 2).max(1024)
        ),
    );
}
