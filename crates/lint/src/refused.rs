//! Configurations `nginx -t` rejects: the `*_pass` argument, URI parts
//! where nginx forbids them, ports on upstream group names, empty groups,
//! malformed upstream server lines, and `*_next_upstream` values a module
//! does not have. nginx will not start with them, and a reload keeps the
//! old configuration running.

use std::collections::HashMap;

use badgateway_conf::NodeId;
use badgateway_conf::model::upstream::pass as resolve_pass;
use badgateway_conf::model::values::parse_time;
use badgateway_conf::model::{Address, Location, Modifier, PassModule, PassTarget, Upstream};

use crate::util::closest;
use crate::{Cx, Lint};

const REFUSED: &str = "nginx -t fails on this line: nginx will not start, and a reload keeps the old configuration running.";

pub(crate) fn check(cx: &mut Cx<'_>) {
    passes(cx);
    uri_parts(cx);
    if let Some(http) = &cx.model.http {
        for up in &http.upstreams {
            upstream_block(cx, up);
        }
    }
    if let Some(stream) = &cx.model.stream {
        for up in &stream.upstreams {
            upstream_block(cx, up);
        }
    }
    next_upstream_directives(cx);
}

fn passes(cx: &mut Cx<'_>) {
    let model = cx.model;
    let group_names: Vec<&str> = model
        .http
        .iter()
        .flat_map(|h| &h.upstreams)
        .map(|u| u.name.as_str())
        .collect();
    for site in cx.sites() {
        let p = site.pass;
        let span = cx.span(p.node);
        match &p.target {
            PassTarget::Invalid { reason } if !p.variables => cx.emit(
                Lint::PassInvalid,
                span,
                format!("{} {}: {reason}", p.module.directive(), p.raw),
                REFUSED,
                match p.module {
                    PassModule::Proxy if reason.starts_with("invalid URL prefix") => {
                        format!("proxy_pass http://{};", p.raw)
                    }
                    PassModule::Proxy => "proxy_pass http://HOST:PORT[/URI];  (PORT 1-65535, an IPv6 address in brackets)".to_owned(),
                    m => format!("{} 127.0.0.1:PORT; (or unix:/path/to.sock, or an upstream block name)", m.directive()),
                },
            ),
            PassTarget::Address {
                address: Address::Tcp { host, port: None },
            } if p.module != PassModule::Proxy
                && !p.variables
                && closest(host, group_names.iter().copied()).is_none() =>
            {
                let port = if p.module == PassModule::Fastcgi { "9000" } else { "PORT" };
                cx.emit(
                    Lint::PassInvalid,
                    span,
                    format!("{} {}: no port in upstream \"{host}\"", p.module.directive(), p.raw),
                    format!("{REFUSED} Only proxy_pass has a default port (80/443); {} needs one, or the name of an upstream block.", p.module.directive()),
                    format!("{} {}:{port};", p.module.directive(), p.raw),
                );
            }
            PassTarget::Group {
                name,
                port: Some(port),
                ..
            } => cx.emit(
                Lint::UpstreamPortOnGroup,
                span,
                format!("{} {}: upstream \"{name}\" may not have port {port}", p.module.directive(), p.raw),
                format!("{REFUSED} \"{name}\" is an upstream block, so nginx takes the name as the group and the port belongs on its server lines."),
                format!("{} {};  (and put :{port} on the server lines of upstream {name})", p.module.directive(), p.raw.replace(&format!(":{port}"), "")),
            ),
            _ => {}
        }
    }
}

/// `proxy_pass` with a URI part inside a regex or named location, `if`, or
/// `limit_except` (checked on every proxy_pass, wherever it is).
fn uri_parts(cx: &mut Cx<'_>) {
    let model = cx.model;
    let cfg = &model.cfg;
    let groups: &[Upstream] = model.http.as_ref().map_or(&[], |h| &h.upstreams);
    let locations: HashMap<NodeId, &Location> = model
        .http
        .iter()
        .flat_map(|h| &h.servers)
        .flat_map(|s| s.all_locations())
        .map(|l| (l.node, l))
        .collect();
    for &id in cx.index.named("proxy_pass") {
        let Some(parent) = cfg.node(id).parent else {
            continue;
        };
        let Some(place) = forbidding_block(cx, &locations, parent) else {
            continue;
        };
        let p = resolve_pass(cfg, id, PassModule::Proxy, groups);
        let Some(uri) = p.uri.as_deref() else {
            continue;
        };
        let without = &p.raw[..p.raw.len() - uri.len()];
        cx.emit(
            Lint::PassUriNotAllowed,
            cx.span(id),
            format!("proxy_pass {} has the URI part \"{uri}\" inside {place}", p.raw),
            format!("{REFUSED} nginx says: \"proxy_pass\" cannot have URI part in location given by regular expression, or inside named location, or inside \"if\" statement, or inside \"limit_except\" block. There it cannot know which part of the request URI to replace."),
            format!("proxy_pass {without};  (to change the path, add `rewrite ^/old/(.*)$ {}$1 break;` before it)", uri.trim_end_matches('/').to_owned() + "/"),
        );
    }
}

fn forbidding_block(
    cx: &Cx<'_>,
    locations: &HashMap<NodeId, &Location>,
    block: NodeId,
) -> Option<String> {
    let n = cx.model.cfg.node(block);
    if n.is("if") {
        return Some("an \"if\" block".into());
    }
    if n.is("limit_except") {
        return Some("a \"limit_except\" block".into());
    }
    if !n.is("location") {
        return None;
    }
    let loc = locations.get(&block)?;
    match loc.modifier {
        Modifier::Regex | Modifier::RegexCaseless => Some(format!(
            "the regular-expression location \"{} {}\"",
            loc.modifier.as_str(),
            loc.path
        )),
        Modifier::Named => Some(format!("the named location \"@{}\"", loc.path)),
        _ => None,
    }
}

fn upstream_block(cx: &mut Cx<'_>, up: &Upstream) {
    let span = cx.span(up.node);
    if up.servers.is_empty() {
        cx.emit(
            Lint::UpstreamEmpty,
            span,
            format!("upstream {} has no server", up.name),
            format!("{REFUSED} nginx says: no servers are inside upstream."),
            format!("upstream {} {{ server 127.0.0.1:PORT; }}", up.name),
        );
    }
    let hashed = matches!(up.balancer.as_deref(), Some("hash" | "ip_hash" | "random"));
    let version = cx.model.version;
    let zone = up.zone.is_some();
    let resolver = cx.effective(up.node, "resolver").is_some();
    for s in &up.servers {
        let sspan = cx.span(s.node);
        let mut problems = Vec::new();
        match &s.address {
            Err(e) => problems.push(format!("{e} in upstream \"{}\"", s.raw)),
            Ok(_)
                if !s.raw.starts_with("unix:")
                    && (s.raw.contains('/') || s.raw.contains("://")) =>
            {
                problems.push(format!(
                    "invalid host in upstream \"{}\" (no scheme or path here)",
                    s.raw
                ))
            }
            Ok(_) => {}
        }
        if s.backup && hashed {
            problems.push(format!(
                "balancing method {} does not support parameter \"backup\"",
                up.balancer.as_deref().unwrap_or("")
            ));
        }
        for a in cx.args(s.node).iter().skip(1) {
            let (k, v) = a.split_once('=').unwrap_or((a, ""));
            let bad = match k {
                "weight" => v.parse::<u32>().map_or(true, |w| w == 0),
                "max_fails" | "max_conns" => v.parse::<u32>().is_err(),
                "fail_timeout" => parse_time(v).is_none(),
                _ => false,
            };
            if bad {
                problems.push(format!("invalid parameter \"{a}\""));
            }
        }
        if s.resolve {
            match version {
                Some(v) if v < badgateway_conf::NginxVersion::MODERN_SSL_DEFAULT => problems.push(format!(
                    "invalid parameter \"resolve\" (nginx {v} has it only in the commercial version; open source since 1.27.3)"
                )),
                _ if !zone => problems.push(
                    "\"resolve\" needs the upstream in shared memory (a `zone` directive in the block)".into(),
                ),
                _ if !resolver => problems.push(
                    "\"resolve\" needs a `resolver` (no resolver defined to resolve names at run time)".into(),
                ),
                _ => {}
            }
        }
        for p in problems {
            cx.emit(
                Lint::UpstreamServerInvalid,
                sspan,
                format!("upstream {}: server {}: {p}", up.name, s.raw),
                REFUSED,
                "server ADDRESS[:PORT] [weight=N] [max_fails=N] [fail_timeout=TIME] [backup|down];  (ADDRESS is an IP, a host name or unix:/path; backup only with round-robin or least_conn)",
            );
        }
    }
}

/// Values each module's `*_next_upstream` accepts (nginx's mask tables).
fn allowed_next_upstream(module: &str) -> &'static [&'static str] {
    const HTTP: &[&str] = &[
        "error",
        "timeout",
        "invalid_header",
        "http_500",
        "http_502",
        "http_503",
        "http_504",
        "http_403",
        "http_404",
        "http_429",
        "updating",
        "non_idempotent",
        "off",
    ];
    const CGI: &[&str] = &[
        "error",
        "timeout",
        "invalid_header",
        "http_500",
        "http_503",
        "http_403",
        "http_404",
        "http_429",
        "updating",
        "non_idempotent",
        "off",
    ];
    const GRPC: &[&str] = &[
        "error",
        "timeout",
        "invalid_header",
        "http_500",
        "http_502",
        "http_503",
        "http_504",
        "http_403",
        "http_404",
        "http_429",
        "non_idempotent",
        "off",
    ];
    const MEMCACHED: &[&str] = &["error", "timeout", "invalid_response", "not_found", "off"];
    match module {
        "proxy" => HTTP,
        "grpc" => GRPC,
        "memcached" => MEMCACHED,
        _ => CGI,
    }
}

fn next_upstream_directives(cx: &mut Cx<'_>) {
    let mut found = Vec::new();
    for module in ["proxy", "fastcgi", "uwsgi", "scgi", "grpc", "memcached"] {
        let allowed = allowed_next_upstream(module);
        for &id in cx.index.named(&format!("{module}_next_upstream")) {
            for v in cx.args(id) {
                if !allowed.contains(&v.as_str()) {
                    found.push((id, module.to_owned(), v, allowed));
                }
            }
        }
    }
    for (id, module, v, allowed) in found {
        let valid: Vec<String> = cx
            .args(id)
            .into_iter()
            .filter(|a| allowed.contains(&a.as_str()))
            .collect();
        let keep = if valid.is_empty() {
            "error timeout".to_owned()
        } else {
            valid.join(" ")
        };
        let why = if matches!(v.as_str(), "http_502" | "http_504")
            && matches!(module.as_str(), "fastcgi" | "uwsgi" | "scgi")
        {
            format!(
                ": {module} has no {v} condition: a FastCGI/uwsgi/SCGI backend that fails is seen as `error` or `timeout`, which already cover it."
            )
        } else {
            String::new()
        };
        cx.emit(
            Lint::NextUpstreamInvalid,
            cx.span(id),
            format!("{module}_next_upstream: invalid value \"{v}\"{why}"),
            format!(
                "{REFUSED} {module}_next_upstream accepts: {}.",
                allowed.join(" ")
            ),
            format!("{module}_next_upstream {keep};"),
        );
    }
}
