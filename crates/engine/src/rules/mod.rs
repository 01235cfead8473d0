//! The diagnosis rules. Log groups start as the cause the message points to
//! on its own; each rule then refines that with probe and host facts (a
//! refusal where something listens on the other loopback family becomes
//! `address-mismatch`; a read timeout on a FastCGI port that answers HTTP
//! becomes `protocol-mismatch`). Probe and host facts with no log entries
//! yet (no traffic, or logs unreadable) become findings of their own.

pub mod connect;
pub mod limits;
pub mod response;

use badgateway_cause::{Cause, Severity};

use crate::context::Ctx;
use crate::evidence::{LogGroup, ProbeResult, Upstream};
use crate::finding::{Finding, Proof};

/// A finding being built.
pub type Draft = Finding;

/// ` at FILE:LINE` of the `*_pass` (or `server` line) for an address.
pub fn config_site(ctx: &Ctx<'_>, addr: &str) -> String {
    match ctx.upstream_of(addr) {
        Some((_, Some(peer))) if peer.defined_at.is_some() => {
            format!(" at {}", peer.defined_at.as_deref().unwrap_or_default())
        }
        Some((u, _)) => u
            .used_at
            .first()
            .map(|a| format!(" at {a}"))
            .unwrap_or_default(),
        None => String::new(),
    }
}

fn locations_for(ctx: &Ctx<'_>, addr: Option<&str>) -> Vec<String> {
    let Some((u, peer)) = addr.and_then(|a| ctx.upstream_of(a)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = u.used_at.clone();
    if let Some(at) = peer.and_then(|p| p.defined_at.clone())
        && !out.contains(&at)
    {
        out.push(at);
    }
    out
}

/// Whether nginx retries this kind of failure on another server of the group.
fn retried_elsewhere(u: &Upstream, g: &LogGroup) -> bool {
    let usable = u.peers.iter().filter(|p| !p.down).count();
    let retryable = matches!(
        g.cause,
        Cause::UpstreamDown
            | Cause::AddressMismatch
            | Cause::SocketMissing
            | Cause::SocketPermission
            | Cause::ConnectTimeout
            | Cause::NetworkUnreachable
            | Cause::BackendOverloaded
    );
    usable > 1 && retryable && !u.settings.next_upstream.iter().any(|v| v == "off")
}

fn draft_from_log(ctx: &Ctx<'_>, g: &LogGroup) -> Draft {
    let failed = match g.failed_requests {
        Some(n) => n,
        None => {
            let in_group = g
                .upstream
                .as_deref()
                .and_then(|a| ctx.upstream_of(a))
                .map(|(u, _)| u);
            if in_group.is_some_and(|u| retried_elsewhere(u, g)) || g.status.is_none_or(|s| s < 500)
            {
                0
            } else {
                g.count
            }
        }
    };
    Finding {
        cause: g.cause,
        severity: Severity::Critical,
        confidence: 0.8,
        upstream: g.upstream.clone(),
        locations: locations_for(ctx, g.upstream.as_deref()),
        summary: String::new(),
        evidence: vec![Proof {
            kind: "log",
            text: g.sample.clone(),
            count: Some(g.count),
            first: Some(g.first.clone()),
            last: Some(g.last.clone()),
        }],
        fix: String::new(),
        failed_requests: failed,
        live: false,
    }
}

/// Apply the rule for the log group's message-level cause.
pub fn from_log(ctx: &Ctx<'_>, g: &LogGroup) -> Finding {
    let mut d = draft_from_log(ctx, g);
    refine(ctx, g, &mut d);
    finish(ctx, &mut d);
    d
}

fn refine(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    let connect_failure = matches!(
        g.cause,
        Cause::UpstreamDown
            | Cause::AddressMismatch
            | Cause::ConnectTimeout
            | Cause::NetworkUnreachable
    );
    if connect_failure && connect::name_moved(ctx, g, d) {
        return;
    }
    match g.cause {
        Cause::UpstreamDown | Cause::AddressMismatch => connect::refused(ctx, g, d),
        Cause::SocketMissing => connect::socket_missing(ctx, g, d),
        Cause::SocketPermission => connect::socket_permission(ctx, g, d),
        Cause::BackendOverloaded => connect::overloaded(ctx, g, d),
        Cause::ConnectTimeout | Cause::NetworkUnreachable | Cause::PolicyDenied => {
            connect::connect_other(ctx, g, d)
        }
        Cause::UpstreamTimeout => response::timeout(ctx, g, d),
        Cause::BackendCrash | Cause::KeepaliveRace => response::closed(ctx, g, d),
        Cause::HeaderTooBig => response::header_too_big(ctx, g, d),
        Cause::InvalidResponse => response::invalid(ctx, g, d),
        Cause::ProtocolMismatch => response::protocol(ctx, g, d),
        Cause::TlsError => response::tls(ctx, g, d),
        Cause::FdExhaustion | Cause::WorkerConnections | Cause::PortExhaustion => {
            limits::exhaustion(ctx, g, d)
        }
        Cause::DnsFailure => limits::dns(ctx, g, d),
        Cause::ServersMarkedDown => limits::no_live(ctx, g, d),
        Cause::Unknown | Cause::BackendReturnedError | Cause::CachedError | Cause::StaleConfig => {
            if g.kind == "no_live_upstreams" || g.sample.contains("no live upstreams") {
                limits::no_live(ctx, g, d)
            } else {
                limits::unknown(ctx, g, d)
            }
        }
    }
}

/// Severity from impact: requests failing in the window, or a check failing
/// now, is critical — unless the backend has recovered, or the group has
/// other servers nginx retries on (then it is a warning).
fn finish(ctx: &Ctx<'_>, d: &mut Draft) {
    let recovered = !d.live
        && d.upstream
            .as_deref()
            .and_then(|a| ctx.probe(a))
            .is_some_and(|p| p.connect == "ok");
    // nginx retries on the group's other servers: the failure is covered
    // only if one of them works (by its probe; unprobed ones are assumed to)
    let alone = d
        .upstream
        .as_deref()
        .and_then(|a| ctx.upstream_of(a))
        .is_none_or(|(u, _)| {
            !u.peers.iter().any(|p| {
                !p.down
                    && Some(p.address.as_str()) != d.upstream.as_deref()
                    && ctx.probe(&p.address).is_none_or(|r| r.connect == "ok")
            })
        });
    d.severity = match (d.failed_requests > 0, d.live) {
        (true, _) if !recovered => Severity::Critical,
        (false, true) if alone => Severity::Critical,
        _ => Severity::Warning,
    };
}

/// Peers that fail a probe now and have no log entries in the window.
pub fn from_probes(ctx: &Ctx<'_>, logged: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    for u in &ctx.ev.upstreams {
        for peer in &u.peers {
            if peer.down || logged.contains(&peer.address) {
                continue;
            }
            let Some(p) = ctx.probe(&peer.address) else {
                continue;
            };
            let Some(g) = synthetic_group(u, p) else {
                continue;
            };
            let mut d = draft_from_log(ctx, &g);
            d.evidence.clear();
            d.failed_requests = 0;
            d.live = true;
            refine(ctx, &g, &mut d);
            d.live = true;
            if !d.evidence.iter().any(|e| e.kind == "probe") {
                d.evidence.push(Proof::fact(
                    "probe",
                    format!(
                        "{}: {}",
                        peer.address,
                        connect::describe_connect(&p.connect, p.errno)
                    ),
                ));
            }
            finish(ctx, &mut d);
            if peer.backup {
                d.severity = Severity::Warning;
            }
            out.push(d);
        }
    }
    out
}

/// The cause a probe outcome points to, as a log group would carry it.
fn synthetic_group(u: &Upstream, p: &ProbeResult) -> Option<LogGroup> {
    let unix = p.address.starts_with("unix:");
    let cause = match p.connect.as_str() {
        "ok" => {
            let speaks = p.protocol.as_deref()?;
            let want = match u.protocol.as_str() {
                "http" => "http",
                "https" | "grpcs" => "tls",
                "fastcgi" => "fastcgi",
                "uwsgi" => "uwsgi",
                "grpc" => "h2",
                _ => return None,
            };
            if speaks == want || matches!(speaks, "silent" | "closed" | "unknown") {
                if p.tls_error.is_some() {
                    Cause::TlsError
                } else {
                    return None;
                }
            } else {
                Cause::ProtocolMismatch
            }
        }
        "refused" => Cause::UpstreamDown,
        "not-found" => Cause::SocketMissing,
        // Refused to this process only: nginx's worker may connect (a
        // diagnosis run as another user), so nginx does not fail here.
        "permission-denied" if unix && matches!(p.as_worker, Some((true, _))) => return None,
        "permission-denied" if unix => Cause::SocketPermission,
        "permission-denied" => Cause::PolicyDenied,
        "timeout" => Cause::ConnectTimeout,
        "unreachable" => Cause::NetworkUnreachable,
        "again" => Cause::BackendOverloaded,
        "dns-failure" => Cause::DnsFailure,
        "reset" => Cause::BackendCrash,
        _ => Cause::Unknown,
    };
    Some(LogGroup {
        cause,
        kind: "probe".into(),
        errno: p.errno,
        upstream: Some(p.address.clone()),
        schema: Some(format!("{}://", u.protocol)),
        status: Some(502),
        count: 0,
        failed_requests: Some(0),
        first: "now".into(),
        last: "now".into(),
        sample: String::new(),
    })
}

/// Unix sockets that the host shows missing or forbidden to the worker,
/// when neither logs nor probes said so.
pub fn from_host_paths(ctx: &Ctx<'_>, covered: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    for u in &ctx.ev.upstreams {
        for peer in &u.peers {
            let Some(path) = peer.unix_path() else {
                continue;
            };
            if peer.down || covered.contains(&peer.address) {
                continue;
            }
            let Some(f) = ctx.ev.host.paths.iter().find(|f| f.path == path) else {
                continue;
            };
            let cause = match (&*f.kind, &f.worker_may_connect) {
                ("missing", _) => Cause::SocketMissing,
                ("socket", Some((false, _))) => Cause::SocketPermission,
                _ => continue,
            };
            let g = LogGroup {
                cause,
                kind: "host".into(),
                upstream: Some(peer.address.clone()),
                schema: Some(format!("{}://", u.protocol)),
                status: Some(502),
                failed_requests: Some(0),
                first: "now".into(),
                last: "now".into(),
                ..LogGroup::default()
            };
            let mut d = draft_from_log(ctx, &g);
            d.evidence.clear();
            refine(ctx, &g, &mut d);
            d.live = true;
            finish(ctx, &mut d);
            out.push(d);
        }
    }
    out
}
