//! Where `*_pass` sends requests and with which URI: the trailing-slash
//! substitution, fixed URIs with variables, names that match no upstream
//! block, variables without a `resolver`, TLS without SNI, static host
//! names, and FastCGI without its parameters.

use std::collections::HashSet;

use badgateway_conf::NodeId;
use badgateway_conf::model::{Address, Modifier, PassModule, PassTarget, Protocol};

use crate::util::{
    after_scheme, closest, host_of, is_ip, is_localhost, map_uri, sample_request, split_host,
    variables,
};
use crate::{Cx, Lint, Site};

pub(crate) fn check(cx: &mut Cx<'_>) {
    let names = group_names(cx);
    let mut known: HashSet<String> = implicit_hosts(cx);
    known.extend(names.iter().map(|n| n.to_ascii_lowercase()));
    for site in cx.sites() {
        uri_slash(cx, &site);
        variable_uri(cx, &site);
        undefined_upstream(cx, &site, &names);
        resolver(cx, &site, &known);
        tls(cx, &site);
        resolved_once(cx, &site);
        fastcgi_params(cx, &site);
    }
    upstream_hostnames(cx);
}

/// Hosts of static passes: nginx makes an implicit upstream for each, and
/// a per-request host equal to one of them needs no resolver.
fn implicit_hosts(cx: &Cx<'_>) -> HashSet<String> {
    cx.sites()
        .iter()
        .filter(|s| !s.pass.variables)
        .filter_map(|s| s.tcp_host().map(|(h, _)| h.to_ascii_lowercase()))
        .collect()
}

fn group_names<'a>(cx: &Cx<'a>) -> Vec<&'a str> {
    cx.model
        .http
        .as_ref()
        .map(|h| h.upstreams.iter().map(|u| u.name.as_str()).collect())
        .unwrap_or_default()
}

fn uri_slash(cx: &mut Cx<'_>, site: &Site<'_>) {
    let p = site.pass;
    let loc = site.location;
    let Some(uri) = p.uri.as_deref() else { return };
    if p.module != PassModule::Proxy
        || p.variables
        || site.in_if
        || !matches!(loc.modifier, Modifier::Prefix | Modifier::PrefixNoRegex)
        || uri.contains('?')
        || cx
            .model
            .cfg
            .find(Some(site.block), "rewrite")
            .next()
            .is_some()
        || loc.path.ends_with('/') == uri.ends_with('/')
    {
        return;
    }
    let request = sample_request(&loc.path);
    let sent = map_uri(&loc.path, uri, &request);
    let base = &p.raw[..p.raw.len() - uri.len()];
    let modifier = match loc.modifier {
        Modifier::PrefixNoRegex => "^~ ",
        _ => "",
    };
    let (what, fix) = if loc.path.ends_with('/') {
        (
            format!(
                "the slash after \"{}\" is lost",
                loc.path.trim_end_matches('/')
            ),
            format!(
                "proxy_pass {base}{uri}/;  (then {request} → {})",
                map_uri(&loc.path, &format!("{uri}/"), &request)
            ),
        )
    } else {
        (
            "the slash is doubled".to_owned(),
            format!(
                "location {modifier}{}/ {{ proxy_pass {}; … }}  (then {request} → {}; a request for {} gets a 301 to {}/)",
                loc.path,
                p.raw,
                map_uri(&format!("{}/", loc.path), uri, &request),
                loc.path,
                loc.path
            ),
        )
    };
    cx.emit(
        Lint::ProxyPassUriSlash,
        cx.span(p.node),
        format!(
            "location {modifier}{} with proxy_pass {}: request {request} is sent upstream as {sent} ({what})",
            loc.path, p.raw
        ),
        format!(
            "nginx replaces exactly the {} bytes of the location prefix \"{}\" with the URI part \"{uri}\" and appends the rest of the request URI unchanged, so the trailing slashes of the location and the URI part must match.",
            loc.path.len(),
            loc.path
        ),
        fix,
    );
}

fn variable_uri(cx: &mut Cx<'_>, site: &Site<'_>) {
    let p = site.pass;
    if p.module != PassModule::Proxy
        || !p.variables
        || matches!(site.location.modifier, Modifier::Exact | Modifier::Named)
    {
        return;
    }
    let (host, rest) = split_host(after_scheme(&p.raw));
    if rest.is_empty() || rest.contains('$') || host.starts_with("unix:") {
        return;
    }
    cx.emit(
        Lint::ProxyPassVariableUri,
        cx.span(p.node),
        format!(
            "proxy_pass {} sends exactly \"{rest}\" upstream for every request in location {}",
            p.raw, site.location.path
        ),
        "When proxy_pass has variables and a URI part, nginx sends the evaluated URI as is: the request's own path and query string are not appended.",
        format!(
            "proxy_pass {}{host}$request_uri;  (or, to strip the location prefix: rewrite ^{}(.*)$ {}$1 break; proxy_pass {}{host};)",
            &p.raw[..p.raw.len() - after_scheme(&p.raw).len()],
            site.location.path.trim_end_matches('/'),
            rest.trim_end_matches('/'),
            &p.raw[..p.raw.len() - after_scheme(&p.raw).len()],
        ),
    );
}

fn undefined_upstream(cx: &mut Cx<'_>, site: &Site<'_>, names: &[&str]) {
    let p = site.pass;
    let (host, port) = match (&p.target, site.tcp_host()) {
        (_, Some((h, port))) => (h.to_owned(), port),
        (PassTarget::Dynamic { host: Some(h) }, _) => (host_of(h).to_owned(), None),
        _ => return,
    };
    if host.contains('.') || host.contains(':') || is_ip(&host) || is_localhost(&host) {
        return;
    }
    // Only proxy_pass has a default port: without one, nginx -t fails
    // (`no port in upstream`), reported as pass-invalid unless a typo.
    let no_port = p.module != PassModule::Proxy && port.is_none() && !p.variables;
    let span = cx.span(p.node);
    let port_text = port.map(|p| format!(":{p}")).unwrap_or_default();
    if let Some(best) = closest(&host, names.iter().copied()) {
        cx.emit(
            Lint::UpstreamNameTypo,
            span,
            format!(
                "{} {}: no upstream block is named \"{host}\"; did you mean \"{best}\"?",
                p.module.directive(),
                p.raw
            ),
            if no_port {
                format!(
                    "A host that matches no upstream block is taken as a host name, and {} has no default port: nginx -t fails with `no port in upstream \"{host}\"`.",
                    p.module.directive()
                )
            } else {
                format!(
                    "A host that matches no upstream block is resolved as a host name when nginx starts: unless \"{host}\" resolves, nginx -t fails with `host not found in upstream \"{host}{port_text}\"`; if it does, requests go to that host instead of upstream {best}."
                )
            },
            format!("{} {};", p.module.directive(), p.raw.replacen(&host, best, 1)),
        );
    } else if !no_port {
        let known = if names.is_empty() {
            "there are no upstream blocks".to_owned()
        } else {
            format!("upstream blocks: {}", names.join(", "))
        };
        cx.emit(
            Lint::UpstreamUndefined,
            span,
            format!(
                "{} {}: \"{host}\" names no upstream block ({known}) and is not a full host name",
                p.module.directive(),
                p.raw
            ),
            format!(
                "nginx resolves \"{host}\" once at start-up with the system resolver: that works for a container service name or an /etc/hosts entry; elsewhere nginx -t fails with `host not found in upstream \"{host}{port_text}\"`, and later address changes are never seen."
            ),
            format!(
                "upstream {host} {{ server 127.0.0.1:PORT; }}  (or write the backend's IP or full host name in {})",
                p.module.directive()
            ),
        );
    }
}

/// `known`: upstream block names and static pass hosts, lowercase.
fn resolver(cx: &mut Cx<'_>, site: &Site<'_>, known_names: &HashSet<String>) {
    let p = site.pass;
    if !p.variables
        || after_scheme(&p.raw).starts_with("unix:")
        || cx.effective(site.block, "resolver").is_some()
    {
        return;
    }
    let known = |h: &str| is_ip(h) || known_names.contains(&h.to_ascii_lowercase());
    let span = cx.span(p.node);
    let fix = "resolver 127.0.0.53 valid=30s;  (your DNS server; 127.0.0.11 in Docker), or name an upstream block or an IP instead";
    match &p.target {
        PassTarget::Dynamic { host: Some(h) } if !known(host_of(h)) => cx.emit(
            Lint::HostnamePassWithoutResolver,
            span,
            format!(
                "{} {}: \"{}\" must be resolved per request and no resolver is set here",
                p.module.directive(),
                p.raw,
                host_of(h)
            ),
            format!(
                "Because the argument has variables, nginx resolves the host at request time with `resolver`; without one every request here fails with 502 `no resolver defined to resolve {}`.",
                host_of(h)
            ),
            fix,
        ),
        PassTarget::Dynamic { host: None } => {
            let (host, _) = split_host(after_scheme(&p.raw));
            // `http://backend$route`: a known name followed by a variable
            // that most likely starts the path.
            let prefix = &host[..host.find('$').unwrap_or(host.len())];
            if !prefix.is_empty() && known(host_of(prefix)) {
                return;
            }
            let vars = variables(host);
            let mut unknown = Vec::new();
            let mut named = None;
            for v in &vars {
                let defs = definitions(cx, site.block, v);
                if defs.is_empty() {
                    unknown.push(format!("${v}"));
                }
                for (def, value) in defs {
                    if value.contains('$') {
                        unknown.push(format!("${v}"));
                    } else if vars.len() == 1 && !known(host_of(&value)) && named.is_none() {
                        named = Some((def, value));
                    }
                }
            }
            if let Some((def, value)) = named {
                cx.emit(
                    Lint::HostnamePassWithoutResolver,
                    span,
                    format!(
                        "{} {}: the host can be \"{}\" (set at {}) and no resolver is set here",
                        p.module.directive(),
                        p.raw,
                        host_of(&value),
                        cx.at(cx.span(def))
                    ),
                    format!(
                        "A *_pass with variables is resolved per request; a host name needs `resolver`, else the request fails with 502 `no resolver defined to resolve {}`.",
                        host_of(&value)
                    ),
                    fix,
                );
            } else if !unknown.is_empty() {
                unknown.dedup();
                cx.emit(
                    Lint::VariablePassWithoutResolver,
                    span,
                    format!(
                        "{} {}: the host comes from {} and no resolver is set here",
                        p.module.directive(),
                        p.raw,
                        unknown.join(", ")
                    ),
                    "The host is computed per request: an upstream block name or an IP literal works without a resolver, any other name fails with 502 `no resolver defined to resolve …`.",
                    fix,
                );
            }
        }
        _ => {}
    }
}

/// Where `$name` gets its value: `set $name …` in the pass's server (or
/// http level) and `map … $name { … }` values, as (directive, value).
fn definitions(cx: &Cx<'_>, block: NodeId, name: &str) -> Vec<(NodeId, String)> {
    let cfg = &cx.model.cfg;
    let var = format!("${name}");
    let mut scope = block;
    while let Some(parent) = cfg.node(scope).parent {
        if cfg.node(scope).is("server") {
            break;
        }
        scope = parent;
    }
    let mut out = Vec::new();
    let mut stack = vec![scope];
    while let Some(b) = stack.pop() {
        for &c in cfg.children(b) {
            let n = cfg.node(c);
            if n.is("set") && n.arg(0).as_deref() == Some(var.as_str()) {
                out.push((c, n.arg(1).unwrap_or_default().into_owned()));
            }
            stack.push(c);
        }
    }
    if let Some(http) = &cx.model.http {
        for m in cfg.find(Some(http.node), "map") {
            if cfg.node(m).arg(1).as_deref() != Some(var.as_str()) {
                continue;
            }
            for &e in cfg.children(m) {
                let n = cfg.node(e);
                if matches!(n.name.text().as_ref(), "hostnames" | "volatile" | "include") {
                    continue;
                }
                out.push((e, n.arg(0).unwrap_or_default().into_owned()));
            }
        }
        for &c in cfg.children(http.node) {
            let n = cfg.node(c);
            if n.is("set") && n.arg(0).as_deref() == Some(var.as_str()) {
                out.push((c, n.arg(1).unwrap_or_default().into_owned()));
            }
        }
    }
    out
}

fn tls(cx: &mut Cx<'_>, site: &Site<'_>) {
    let p = site.pass;
    let prefix = match p.protocol {
        Protocol::Https => "proxy",
        Protocol::Grpcs => "grpc",
        Protocol::Suwsgi => "uwsgi",
        _ => return,
    };
    let (name, group) = match &p.target {
        PassTarget::Group { name, .. } => (name.clone(), true),
        PassTarget::Address {
            address: Address::Tcp { host, .. },
        } if !is_ip(host) => (host.clone(), false),
        PassTarget::Dynamic { host: Some(h) } if !is_ip(host_of(h)) => {
            (host_of(h).to_owned(), false)
        }
        _ => return,
    };
    let ssl_name = cx.effective(site.block, &format!("{prefix}_ssl_name"));
    let span = cx.span(p.node);
    if !cx.flag(site.block, &format!("{prefix}_ssl_server_name")) {
        let fix = if group && ssl_name.is_none() {
            format!(
                "{prefix}_ssl_server_name on; {prefix}_ssl_name BACKEND.HOST.NAME;  (the name the backend's certificate is for; without {prefix}_ssl_name the SNI would be the block name \"{name}\")"
            )
        } else {
            format!("{prefix}_ssl_server_name on;")
        };
        let target = if group {
            format!("upstream block \"{name}\"")
        } else {
            format!("\"{name}\"")
        };
        cx.emit(
            Lint::SslWithoutSni,
            span,
            format!(
                "{} {}: TLS to {target} without {prefix}_ssl_server_name on: no SNI is sent",
                p.module.directive(),
                p.raw
            ),
            Lint::SslWithoutSni.help(),
            fix,
        );
    }
    if group && ssl_name.is_none() && cx.flag(site.block, &format!("{prefix}_ssl_verify")) {
        cx.emit(
            Lint::SslVerifyGroupName,
            span,
            format!(
                "{} {}: {prefix}_ssl_verify on checks the certificate against \"{name}\", the upstream block's name",
                p.module.directive(),
                p.raw
            ),
            Lint::SslVerifyGroupName.help(),
            format!("{prefix}_ssl_name BACKEND.HOST.NAME;  (the name on the backend's certificate)"),
        );
    }
}

fn resolved_once(cx: &mut Cx<'_>, site: &Site<'_>) {
    let p = site.pass;
    if p.variables {
        return;
    }
    let Some((host, _)) = site.tcp_host() else {
        return;
    };
    if !host.contains('.') || is_ip(host) || is_localhost(host) {
        return;
    }
    cx.emit(
        Lint::HostnameResolvedOnce,
        cx.span(p.node),
        format!("{} {}: \"{host}\" is resolved only when nginx starts or reloads", p.module.directive(), p.raw),
        Lint::HostnameResolvedOnce.help(),
        format!(
            "if its addresses change: resolver 127.0.0.53 valid=30s; set $backend_host {host}; {} {}$backend_host…;  (resolved per request; with variables the URI is sent as written, so add $request_uri if needed), or with nginx ≥ 1.27.3 an upstream block with `zone` and `server {host} resolve;`",
            p.module.directive(),
            &p.raw[..p.raw.len() - after_scheme(&p.raw).len()]
        ),
    );
}

fn upstream_hostnames(cx: &mut Cx<'_>) {
    let Some(http) = &cx.model.http else { return };
    let mut found = Vec::new();
    for up in &http.upstreams {
        for s in &up.servers {
            if let Ok(Address::Tcp { host, .. }) = &s.address
                && host.contains('.')
                && !is_ip(host)
                && !is_localhost(host)
                && !s.resolve
            {
                found.push((s.node, up.name.clone(), s.raw.clone(), host.clone()));
            }
        }
    }
    for (node, up, raw, host) in found {
        cx.emit(
            Lint::HostnameResolvedOnce,
            cx.span(node),
            format!("upstream {up}: server {raw}: \"{host}\" is resolved only when nginx starts or reloads"),
            Lint::HostnameResolvedOnce.help(),
            format!("server {raw} resolve;  (nginx ≥ 1.27.3, with `zone {up} 64k;` and a `resolver`), or reload nginx when the addresses change"),
        );
    }
}

fn fastcgi_params(cx: &mut Cx<'_>, site: &Site<'_>) {
    let p = site.pass;
    if p.module != PassModule::Fastcgi {
        return;
    }
    let span = cx.span(p.node);
    let cfg = &cx.model.cfg;
    let has_script = |ids: &[NodeId]| {
        ids.iter()
            .find(|&&n| cfg.node(n).arg(0).as_deref() == Some("SCRIPT_FILENAME"))
            .copied()
    };
    let Some(e) = cx.effective(site.block, "fastcgi_param") else {
        cx.emit(
            Lint::FastcgiMissingParams,
            span,
            format!("fastcgi_pass {}: no fastcgi_param is in effect here", p.raw),
            "Without parameters the FastCGI server gets no SCRIPT_FILENAME, REQUEST_METHOD or QUERY_STRING: PHP-FPM answers `Primary script unknown` or an empty page.",
            "include fastcgi_params; fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;  (Debian: include snippets/fastcgi-php.conf;)",
        );
        return;
    };
    if has_script(&e.nodes).is_some() {
        return;
    }
    // Is SCRIPT_FILENAME set at an outer level and dropped by this one?
    let mut shadowed = None;
    let mut up = e.level.and_then(|l| cfg.node(l).parent);
    loop {
        let ids = cx.index.find(up, "fastcgi_param");
        if let Some(n) = has_script(ids) {
            shadowed = Some(n);
            break;
        }
        match up {
            Some(b) => up = cfg.node(b).parent,
            None => break,
        }
    }
    let first = e.span().map(|s| cx.at(s)).unwrap_or_default();
    let message = match shadowed {
        Some(n) => format!(
            "fastcgi_pass {}: SCRIPT_FILENAME set at {} is not in effect here: the fastcgi_param at {first} replaces every inherited fastcgi_param",
            p.raw,
            cx.at(cx.span(n))
        ),
        None => format!(
            "fastcgi_pass {}: the fastcgi_param list in effect (from {first}) has no SCRIPT_FILENAME",
            p.raw
        ),
    };
    cx.emit(
        Lint::FastcgiMissingParams,
        span,
        message,
        Lint::FastcgiMissingParams.help(),
        "fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;  (in the same block as the other fastcgi_param lines, or include fastcgi.conf there)",
    );
}
