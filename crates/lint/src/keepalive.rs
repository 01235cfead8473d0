//! Upstream keepalive that cannot work: before nginx 1.29.7 proxy_pass
//! speaks HTTP/1.0 and sends `Connection: close` unless every location
//! sets `proxy_http_version 1.1` and `proxy_set_header Connection ""`. The
//! header check uses the effective `proxy_set_header` list, so a location
//! that sets any header of its own (dropping the inherited `Connection ""`)
//! is caught. From 1.29.7 the defaults are right and explicit upstream
//! blocks keep 32 idle connections unless `keepalive 0`.

use badgateway_conf::NginxVersion;
use badgateway_conf::model::defaults::proxy_sends_connection_close;
use badgateway_conf::model::{PassModule, PassTarget, Upstream};

use crate::{Cx, Lint, Site};

pub(crate) fn check(cx: &mut Cx<'_>) {
    let Some(http) = &cx.model.http else { return };
    let modern = cx
        .model
        .version
        .is_some_and(|v| v >= NginxVersion::HTTP11_DEFAULT);
    for site in cx.sites() {
        let PassTarget::Group { index, .. } = &site.pass.target else {
            continue;
        };
        let Some(up) = http.upstreams.get(*index) else {
            continue;
        };
        // Explicit `keepalive N`; since 1.29.7 every explicit block has
        // `keepalive 32 local` unless it says `keepalive 0`.
        let pool = match up.keepalive {
            Some(0) => continue,
            Some(n) => n,
            None if modern => 32,
            None => continue,
        };
        match site.pass.module {
            PassModule::Proxy => proxy(cx, &site, up, pool),
            PassModule::Fastcgi => fastcgi(cx, &site, up, pool),
            _ => {}
        }
    }
}

fn proxy(cx: &mut Cx<'_>, site: &Site<'_>, up: &Upstream, pool: u32) {
    let model = cx.model;
    let (version, version_at) = cx.value(site.block, "proxy_http_version");
    let version = version.unwrap_or_else(|| "1.0".into());
    let http11 = version != "1.0";
    let headers = cx.effective(site.block, "proxy_set_header");
    let connection = headers.as_ref().and_then(|e| {
        e.nodes.iter().copied().find(|&n| {
            model
                .cfg
                .node(n)
                .arg(0)
                .is_some_and(|h| h.eq_ignore_ascii_case("connection"))
        })
    });
    let (conn_ok, conn_text) = match connection {
        Some(n) => {
            let v = model.cfg.node(n).arg(1).unwrap_or_default().into_owned();
            let ok = v.is_empty() || v.contains('$') || !v.eq_ignore_ascii_case("close");
            (
                ok,
                format!("Connection \"{v}\" (set at {})", cx.at(cx.span(n))),
            )
        }
        None if proxy_sends_connection_close(model.version) => {
            (false, "the default `Connection: close`".to_owned())
        }
        None => (true, String::new()),
    };
    if http11 && conn_ok {
        return;
    }
    let mut problems = Vec::new();
    if !http11 {
        problems.push(match version_at {
            Some(s) => format!("sets proxy_http_version 1.0 (at {})", cx.at(s)),
            None => "speaks HTTP/1.0 (the default)".to_owned(),
        });
    }
    if !conn_ok {
        problems.push(format!("sends {conn_text}"));
    }
    // A `Connection ""` at an outer level that this level's own
    // proxy_set_header list hides.
    let mut note = String::new();
    if connection.is_none()
        && let Some(e) = &headers
    {
        let mut level = e.level.and_then(|l| model.cfg.node(l).parent);
        loop {
            let hidden = cx
                .index
                .find(level, "proxy_set_header")
                .iter()
                .copied()
                .find(|&n| {
                    let node = model.cfg.node(n);
                    node.arg(0)
                        .is_some_and(|h| h.eq_ignore_ascii_case("connection"))
                        && node.arg(1).is_some_and(|v| v.is_empty())
                });
            if let Some(h) = hidden {
                note = format!(
                    " The proxy_set_header Connection \"\" at {} is not inherited here: the proxy_set_header list at {} replaces every inherited one.",
                    cx.at(cx.span(h)),
                    e.span().map(|s| cx.at(s)).unwrap_or_default()
                );
                break;
            }
            match level {
                Some(b) => level = model.cfg.node(b).parent,
                None => break,
            }
        }
    }
    let versions = match model.version {
        Some(v) => format!("nginx {v}"),
        None => "nginx before 1.29.7 (version unknown; from 1.29.7 HTTP/1.1 without Connection: close is the default)".to_owned(),
    };
    let mut fix = Vec::new();
    if !http11 {
        fix.push("proxy_http_version 1.1;");
    }
    if !conn_ok {
        fix.push("proxy_set_header Connection \"\";");
    }
    cx.emit(
        Lint::KeepaliveWithoutHttp11,
        cx.span(site.pass.node),
        format!(
            "proxy_pass {} to upstream {} (keepalive {pool}) but this location {}",
            site.pass.raw,
            up.name,
            problems.join(" and ")
        ),
        format!(
            "With {versions}, the idle connections kept by `keepalive` are only reused when nginx speaks HTTP/1.1 without `Connection: close`; here every request opens a new connection to the backend (TIME_WAIT build-up, port exhaustion under load) and a half-configured keepalive invites stale-connection resets.{note}"
        ),
        format!("{}  (in this location, next to its other proxy_set_header lines)", fix.join(" ")),
    );
}

fn fastcgi(cx: &mut Cx<'_>, site: &Site<'_>, up: &Upstream, pool: u32) {
    if cx.flag(site.block, "fastcgi_keep_conn") {
        return;
    }
    cx.emit(
        Lint::KeepaliveWithoutKeepConn,
        cx.span(site.pass.node),
        format!(
            "fastcgi_pass {} to upstream {} (keepalive {pool}) without fastcgi_keep_conn on",
            site.pass.raw, up.name
        ),
        Lint::KeepaliveWithoutKeepConn.help(),
        "fastcgi_keep_conn on;",
    );
}
