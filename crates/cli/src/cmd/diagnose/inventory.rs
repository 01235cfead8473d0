//! The upstream inventory: every `*_pass` of the config resolved to the
//! group or address nginx uses, its servers as the addresses nginx connects
//! to (host names resolved like nginx does at start-up), the locations that
//! use it, and the effective timeouts, buffers and keep-alive settings there.

use badgateway_conf::Model;
use badgateway_conf::model::values::{format_size, format_time, parse_size, parse_time};
use badgateway_conf::model::{Address, Location, Pass, PassModule, PassTarget, Protocol};
use badgateway_engine::evidence::{Peer, Setting, Settings, Upstream};

/// Resolve a host name and port to the addresses nginx would connect to, in
/// order (`[::1]:8000`, `127.0.0.1:8000`); empty when it does not resolve.
pub type Resolver<'a> = &'a dyn Fn(&str, u16) -> Vec<String>;

/// Build the inventory from the model.
pub fn build(model: &Model, resolve: Resolver<'_>) -> Vec<Upstream> {
    let mut out: Vec<Upstream> = Vec::new();
    for (loc, pass) in model.passes() {
        let used_at = model.cfg.full_location(model.cfg.node(pass.node).span());
        let loc_at = format!(
            "{} location {}{}",
            model.cfg.full_location(model.cfg.node(loc.node).span()),
            match loc.modifier.as_str() {
                "" => String::new(),
                m => format!("{m} "),
            },
            loc.path
        );
        let Some(mut u) = upstream_for(model, pass, resolve) else {
            continue;
        };
        match out
            .iter_mut()
            .find(|o| o.name == u.name && o.protocol == u.protocol)
        {
            Some(existing) => {
                if !existing.used_at.contains(&used_at) {
                    existing.used_at.push(used_at);
                }
                existing.locations.push(loc_at);
            }
            None => {
                u.settings = settings(model, loc, pass, u.settings.keepalive);
                u.used_at.push(used_at);
                u.locations.push(loc_at);
                out.push(u);
            }
        }
    }
    out
}

fn protocol_name(p: Protocol) -> String {
    p.schema().trim_end_matches("://").to_owned()
}

fn upstream_for(model: &Model, pass: &Pass, resolve: Resolver<'_>) -> Option<Upstream> {
    let protocol = protocol_name(pass.protocol);
    let default_port = pass.protocol.default_port();
    match &pass.target {
        PassTarget::Group { index, .. } => {
            let g = &model.http.as_ref()?.upstreams[*index];
            let peers = g
                .servers
                .iter()
                .flat_map(|s| {
                    let at = model.cfg.full_location(model.cfg.node(s.node).span());
                    let addresses = match &s.address {
                        Ok(a) => addresses(a, default_port, resolve),
                        Err(_) => Vec::new(),
                    };
                    let hostname = match &s.address {
                        Ok(Address::Tcp { host, .. })
                            if host.parse::<std::net::IpAddr>().is_err() =>
                        {
                            Some(host.clone())
                        }
                        _ => None,
                    };
                    addresses.into_iter().map(move |address| Peer {
                        address,
                        hostname: hostname.clone(),
                        defined_at: Some(at.clone()),
                        backup: s.backup,
                        down: s.down,
                        max_conns: (s.max_conns > 0).then_some(s.max_conns),
                    })
                })
                .collect();
            Some(Upstream {
                name: g.name.clone(),
                explicit: true,
                protocol,
                peers,
                defined_at: Some(model.cfg.full_location(model.cfg.node(g.node).span())),
                settings: Settings {
                    keepalive: g.keepalive,
                    ..Settings::default()
                },
                ..Upstream::default()
            })
        }
        PassTarget::Address { address } => {
            let at = model.cfg.full_location(model.cfg.node(pass.node).span());
            let hostname = match address {
                Address::Tcp { host, .. } if host.parse::<std::net::IpAddr>().is_err() => {
                    Some(host.clone())
                }
                _ => None,
            };
            Some(Upstream {
                name: address.display(default_port),
                explicit: false,
                protocol,
                peers: addresses(address, default_port, resolve)
                    .into_iter()
                    .map(|address| Peer {
                        address,
                        hostname: hostname.clone(),
                        defined_at: Some(at.clone()),
                        ..Peer::default()
                    })
                    .collect(),
                ..Upstream::default()
            })
        }
        PassTarget::Dynamic { host } => Some(Upstream {
            name: host.clone().unwrap_or_else(|| pass.raw.clone()),
            explicit: false,
            protocol,
            ..Upstream::default()
        }),
        PassTarget::Invalid { .. } => None,
    }
}

/// The addresses nginx connects to for a configured address: IP literals
/// and unix paths as they are, host names resolved (all addresses, in the
/// resolver's order, as nginx does at start-up).
fn addresses(a: &Address, default_port: u16, resolve: Resolver<'_>) -> Vec<String> {
    match a {
        Address::Unix { .. } => vec![a.display(default_port)],
        Address::Tcp { host, port } => {
            let port = port.unwrap_or(default_port);
            if host.parse::<std::net::IpAddr>().is_ok() {
                vec![a.display(default_port)]
            } else {
                resolve(host, port)
            }
        }
    }
}

fn setting(model: &Model, at: badgateway_conf::NodeId, name: &str, time: bool) -> Option<Setting> {
    let (value, span) = model.value(at, name);
    let text = value?;
    let v = if time {
        parse_time(&text)?.as_millis() as u64
    } else {
        parse_size(&text)?
    };
    Some(Setting {
        value: v,
        text: if time {
            format_time(std::time::Duration::from_millis(v))
        } else {
            format_size(v)
        },
        at: span.map(|s| model.cfg.full_location(s)),
    })
}

fn settings(model: &Model, loc: &Location, pass: &Pass, keepalive: Option<u32>) -> Settings {
    let at = loc.node;
    let prefix = pass.module.prefix();
    let http11 = pass.module != PassModule::Proxy
        || model
            .value(at, "proxy_http_version")
            .0
            .is_some_and(|v| v == "1.1" || v == "2");
    let connection_cleared = if pass.module == PassModule::Proxy {
        match model.effective(at, "proxy_set_header") {
            Some(e) => e.nodes.iter().any(|&n| {
                let d = model.cfg.node(n);
                d.arg(0)
                    .is_some_and(|h| h.eq_ignore_ascii_case("connection"))
                    && d.arg(1).is_none_or(|v| v.is_empty())
            }),
            None => !badgateway_conf::model::defaults::proxy_sends_connection_close(model.version),
        }
    } else {
        pass.module == PassModule::Fastcgi
            && model.value(at, "fastcgi_keep_conn").0.as_deref() == Some("on")
    };
    Settings {
        connect_timeout: setting(model, at, &format!("{prefix}_connect_timeout"), true),
        read_timeout: setting(model, at, &format!("{prefix}_read_timeout"), true),
        buffer_size: setting(model, at, &format!("{prefix}_buffer_size"), false),
        keepalive,
        http11,
        connection_cleared,
        ssl_server_name: model
            .value(at, &format!("{prefix}_ssl_server_name"))
            .0
            .as_deref()
            == Some("on"),
        next_upstream: model
            .effective(at, &format!("{prefix}_next_upstream"))
            .map(|e| e.args())
            .unwrap_or_else(|| vec!["error".into(), "timeout".into()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use badgateway_conf::{LoadOptions, NginxVersion, load};

    fn model(text: &str, version: NginxVersion) -> Model {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nginx.conf");
        std::fs::write(&p, text).unwrap();
        Model::build(load(&p, &LoadOptions::default()).unwrap(), Some(version))
    }

    fn fake_dns(host: &str, port: u16) -> Vec<String> {
        match host {
            "localhost" => vec![format!("[::1]:{port}"), format!("127.0.0.1:{port}")],
            _ => Vec::new(),
        }
    }

    #[test]
    fn groups_addresses_settings_and_sharing() {
        let m = model(
            r#"http {
                upstream app { server localhost:8000; server 10.0.0.2:8000 backup; keepalive 8; }
                server {
                    location /a/ { proxy_pass http://app; proxy_read_timeout 5s;
                                   proxy_http_version 1.1; proxy_set_header Connection ""; }
                    location /b/ { proxy_pass http://app; }
                    location ~ \.php$ { fastcgi_pass unix:/run/php/php8.2-fpm.sock; }
                    location /c/ { proxy_pass http://127.0.0.1:9000/x/; }
                }
            }"#,
            NginxVersion(1, 22, 1),
        );
        let inv = build(&m, &fake_dns);
        assert_eq!(inv.len(), 3);
        let app = &inv[0];
        assert_eq!(app.name, "app");
        let peers: Vec<&str> = app.peers.iter().map(|p| p.address.as_str()).collect();
        assert_eq!(peers, ["[::1]:8000", "127.0.0.1:8000", "10.0.0.2:8000"]);
        assert_eq!(app.peers[0].hostname.as_deref(), Some("localhost"));
        assert!(app.peers[2].backup);
        assert_eq!(app.used_at.len(), 2);
        assert_eq!(app.settings.keepalive, Some(8));
        assert!(app.settings.http11 && app.settings.connection_cleared);
        assert_eq!(app.settings.read_timeout.as_ref().unwrap().value, 5000);
        let php = &inv[1];
        assert_eq!(
            (php.name.as_str(), php.protocol.as_str()),
            ("unix:/run/php/php8.2-fpm.sock", "fastcgi")
        );
        assert_eq!(php.settings.read_timeout.as_ref().unwrap().text, "60s");
        assert!(php.settings.read_timeout.as_ref().unwrap().at.is_none());
        assert_eq!(inv[2].peers[0].address, "127.0.0.1:9000");
    }
}
