//! nginx's own limits (descriptors, connections, ephemeral ports), name
//! resolution, servers taken out by the config, and failures nobody can
//! attribute.

use badgateway_cause::Cause;

use super::{Draft, config_site};
use crate::context::Ctx;
use crate::evidence::LogGroup;
use crate::finding::Proof;

/// `(24: Too many open files)`, `worker_connections are not enough`,
/// `(99: Cannot assign requested address)`.
pub fn exhaustion(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    let h = &ctx.ev.host;
    match g.cause {
        Cause::FdExhaustion => {
            // a limit of the nginx workers, not of one backend
            d.upstream = None;
            d.summary = "nginx ran out of file descriptors (24: Too many open files): new client connections and connections to backends fail (proxied requests get 500).".into();
            if let Some(n) = h.worker_nofile {
                d.evidence.push(Proof::fact(
                    "host",
                    format!("nginx worker RLIMIT_NOFILE = {n}"),
                ));
            }
            let wc = h.worker_connections.unwrap_or(512);
            let rlimit = match h.worker_rlimit_nofile {
                Some(n) => format!("`worker_rlimit_nofile` is {n}"),
                None => "`worker_rlimit_nofile` is not set (workers keep the limit nginx was started with, often 1024)".into(),
            };
            d.evidence.push(Proof::fact(
                "config",
                format!("worker_connections {wc}; {rlimit}"),
            ));
            d.fix = format!(
                "Raise the limit: `worker_rlimit_nofile {};` in the main context (and `LimitNOFILE=` in nginx's systemd unit), at least twice worker_connections ({wc}) since each proxied request holds two descriptors.",
                (wc * 2).max(65536)
            );
        }
        Cause::WorkerConnections => {
            d.upstream = None;
            let wc = h.worker_connections.unwrap_or(512);
            d.summary = format!(
                "nginx's workers ran out of connections (worker_connections {wc}): each proxied request uses two."
            );
            d.fix = format!(
                "Raise `worker_connections` (now {wc}) in `events {{}}` — and `worker_rlimit_nofile` with it; look for slow upstreams holding connections open."
            );
        }
        Cause::PortExhaustion => {
            d.summary =
                "nginx ran out of local ports to connect to the backend (TIME_WAIT exhaustion)."
                    .into();
            if let Some((range, used)) = h.ephemeral {
                d.evidence.push(Proof::fact(
                    "host",
                    format!("ephemeral ports: {used} in use of {range}"),
                ));
            }
            let at = g
                .upstream
                .as_deref()
                .and_then(|a| ctx.upstream_of(a))
                .and_then(|(u, _)| u.defined_at.clone())
                .map(|a| format!(" at {a}"))
                .unwrap_or_default();
            d.fix = format!(
                "Reuse upstream connections: an `upstream {{}}` block with `keepalive 32;`{at}, plus `proxy_http_version 1.1; proxy_set_header Connection \"\";`; widen net.ipv4.ip_local_port_range."
            );
        }
        _ => {}
    }
}

/// Resolution failures and variables without a resolver.
pub fn dns(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    let name = g
        .upstream
        .clone()
        .unwrap_or_else(|| "the upstream name".into());
    if g.sample.contains("no resolver defined") {
        d.summary = "A *_pass with variables evaluates to a host name, and no `resolver` is configured: nginx cannot resolve it at request time.".into();
        d.fix = "Add `resolver 127.0.0.53 valid=30s;` (the host's DNS server; 127.0.0.11 in Docker) in http{} or the location, or pass to an `upstream {}` name or an IP.".into();
    } else {
        d.summary = format!("{name} could not be resolved by nginx's resolver.");
        d.fix = format!(
            "Check that {name} exists in DNS and that the `resolver` nginx uses answers (`dig @RESOLVER {name}`); for a static upstream use an IP or an `upstream {{}}` block{}.",
            config_site(ctx, &name)
        );
    }
}

/// `no live upstreams` with nothing earlier in the window to blame.
pub fn no_live(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    let name = g.upstream.as_deref().unwrap_or("the upstream");
    let Some((u, _)) = ctx.upstream_of(name) else {
        d.summary = format!(
            "nginx found no live server in {name}, and the window holds no failure that explains it."
        );
        d.fix = format!(
            "Look earlier in the error log for the failures that disabled {name}'s servers, and fix those."
        );
        return;
    };
    let usable = u.peers.iter().filter(|p| !p.down && !p.backup).count();
    let down: Vec<&str> = u
        .peers
        .iter()
        .filter(|p| p.down)
        .map(|p| p.address.as_str())
        .collect();
    let capped: Vec<&str> = u
        .peers
        .iter()
        .filter(|p| p.max_conns.is_some())
        .map(|p| p.address.as_str())
        .collect();
    if usable == 0 && !down.is_empty() {
        d.cause = Cause::ServersMarkedDown;
        d.confidence = 0.95;
        d.live = true;
        d.summary = format!(
            "Every server of upstream {name} is marked `down` in the config: nginx answers 502 without trying any."
        );
        d.evidence
            .push(Proof::fact("config", format!("down: {}", down.join(", "))));
        d.fix = format!(
            "Remove `down` from at least one server in upstream {name}{}.",
            u.defined_at
                .as_ref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default()
        );
    } else if !capped.is_empty() {
        d.cause = Cause::ServersMarkedDown;
        d.confidence = 0.7;
        d.summary = format!(
            "The servers of upstream {name} reached their `max_conns` limit: nginx answers 502 at once without trying one."
        );
        d.evidence.push(Proof::fact(
            "config",
            format!("max_conns on: {}", capped.join(", ")),
        ));
        d.fix = format!(
            "Raise or remove `max_conns` in upstream {name}, or add servers (or a `queue` with NGINX Plus)."
        );
    } else {
        d.summary = format!(
            "nginx had marked every server of {name} failed (max_fails within fail_timeout); the failures that caused it are before the window."
        );
        d.fix = format!(
            "Widen the window (`--since`) to see the failures that disabled {name}'s servers, and fix those."
        );
    }
}

/// Anything else.
pub fn unknown(_ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    d.summary = format!(
        "An upstream failure nginx logged as '{}'{} could not be attributed.",
        g.kind,
        g.upstream
            .as_deref()
            .map(|u| format!(" for {u}"))
            .unwrap_or_default()
    );
    d.fix = "Read the raw line below; `badgateway explain 'LINE'` gives what nginx was doing and what to check.".into();
}
