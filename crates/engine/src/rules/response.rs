//! Failures after the connection: slow backends, crashes and resets,
//! stale keep-alive connections, oversized or broken responses, protocol
//! mismatches and TLS.

use badgateway_cause::Cause;

use super::{Draft, config_site};
use crate::context::Ctx;
use crate::evidence::LogGroup;
use crate::finding::Proof;

/// What nginx speaks for a schema, in the probe's vocabulary.
fn expected_protocol(schema: Option<&str>) -> Option<&'static str> {
    match schema? {
        "http://" => Some("http"),
        "https://" | "grpcs://" | "suwsgi://" => Some("tls"),
        "fastcgi://" => Some("fastcgi"),
        "uwsgi://" => Some("uwsgi"),
        "grpc://" => Some("h2"),
        _ => None,
    }
}

/// If the probe shows the peer speaking another protocol than nginx,
/// rewrite the draft as a protocol mismatch and say so.
fn mismatch_from_probe(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) -> bool {
    let Some(addr) = g.upstream.as_deref() else {
        return false;
    };
    let Some(p) = ctx.probe(addr) else {
        return false;
    };
    let (Some(want), Some(got)) = (
        expected_protocol(g.schema.as_deref()),
        p.protocol.as_deref(),
    ) else {
        return false;
    };
    // silence or a close proves nothing about the protocol
    if want == got || matches!(got, "silent" | "closed" | "unknown") {
        return false;
    }
    let server = p
        .server_header
        .as_deref()
        .map(|s| format!(" (Server: {s})"))
        .unwrap_or_default();
    d.cause = Cause::ProtocolMismatch;
    d.confidence = 0.95;
    d.live = true;
    d.summary = format!("nginx speaks {want} to {addr}, but the backend answers {got}{server}.");
    d.evidence.push(Proof::fact(
        "probe",
        format!("{addr} speaks {got}{server}; nginx sends {want}"),
    ));
    let site = config_site(ctx, addr);
    d.fix = match (want, got) {
        ("fastcgi", "http") => format!(
            "The backend is an HTTP server: use `proxy_pass http://{addr};` instead of fastcgi_pass{site}, or point fastcgi_pass at the PHP-FPM socket."
        ),
        ("http", "fastcgi") => format!(
            "The backend is a FastCGI server (PHP-FPM?): use `fastcgi_pass {addr};` with fastcgi params instead of proxy_pass{site}."
        ),
        ("http", "tls") => {
            format!("The backend expects TLS: use `proxy_pass https://{addr};`{site}.")
        }
        ("tls", "http") => {
            format!("The backend speaks plain HTTP: use `proxy_pass http://{addr};`{site}.")
        }
        ("uwsgi", "http") => format!(
            "The backend speaks HTTP (uWSGI's --http?): use proxy_pass, or start uWSGI with --socket{site}."
        ),
        ("http", "uwsgi") => format!(
            "The backend speaks the uwsgi protocol (uWSGI --socket): use `uwsgi_pass {addr};`{site}."
        ),
        ("h2", _) => {
            format!("grpc_pass needs an HTTP/2 (h2c) backend; this one speaks {got}{site}.")
        }
        _ => format!("Make nginx's protocol match the backend's{site}."),
    };
    true
}

/// `upstream timed out … while reading response header`.
pub fn timeout(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    if mismatch_from_probe(ctx, g, d) {
        d.summary
            .push_str(" It never answers nginx's request, so nginx times out (504).");
        return;
    }
    let addr = g.upstream.as_deref().unwrap_or("the backend");
    let setting = ctx
        .upstream_of(addr)
        .and_then(|(u, _)| u.settings.read_timeout.clone());
    let limit_ms = setting.as_ref().map_or(60_000, |s| s.value);
    let (value, at) = setting.map_or(("60s".to_owned(), None), |s| (s.text, s.at));
    // The probe's own request took longer than nginx waits: slow now too.
    if let Some((p, ms)) = ctx
        .probe(addr)
        .and_then(|p| Some((p, p.first_byte_ms?)))
        .filter(|(_, ms)| *ms > limit_ms as f64)
    {
        d.failing_now(
            "probe",
            format!(
                "{} answered the probe after {ms:.0} ms, longer than the read timeout ({value}), now",
                p.address
            ),
        );
    }
    d.cause = Cause::UpstreamTimeout;
    d.confidence = 0.9;
    d.summary = format!(
        "{addr} takes longer than nginx's read timeout ({value}) to send response headers: clients get 504."
    );
    d.evidence.push(Proof::fact(
        "config",
        format!(
            "read timeout {value}{}",
            at.as_ref()
                .map(|a| format!(" at {a}"))
                .unwrap_or_else(|| " (nginx default)".into())
        ),
    ));
    let module = super::connect::directive_for(g.schema.as_deref()).trim_end_matches("_pass");
    let at = at.map(|a| format!(" at {a}")).unwrap_or_default();
    d.fix = match ctx.php_pool(addr) {
        Some(pool) => {
            let children = pool
                .max_children
                .map_or("unset".to_owned(), |n| n.to_string());
            d.evidence.push(Proof::fact(
                "host",
                format!(
                    "PHP-FPM pool '{}' ({}) serves {addr}: pm.max_children = {children}",
                    pool.name, pool.defined_at
                ),
            ));
            if pool.max_children_reached > 0 {
                d.evidence.push(Proof {
                    kind: "host",
                    text: format!(
                        "php-fpm pool '{}': server reached pm.max_children setting",
                        pool.name
                    ),
                    count: Some(pool.max_children_reached),
                    first: None,
                    last: None,
                });
            }
            format!(
                "Find the slow scripts with PHP-FPM's slowlog (set `slowlog` and `request_slowlog_timeout` in pool '{}', {}); when all of its children (pm.max_children = {children}) are busy, requests queue and time out too: raise it if memory allows. If such requests are legitimately long, raise `{module}_read_timeout` (now {value}{at}) and keep `request_terminate_timeout` below it.",
                pool.name, pool.defined_at
            )
        }
        None => format!(
            "Find out why {addr} is slow (slow queries, exhausted worker pool); if such requests are legitimately long, raise `{module}_read_timeout` (now {value}{at}) for that location, and keep the backend's own timeout below it."
        ),
    };
}

/// Premature close or reset while reading the header: crash, stale
/// keep-alive connection, or wrong protocol.
pub fn closed(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    if mismatch_from_probe(ctx, g, d) {
        return;
    }
    let addr = g.upstream.as_deref().unwrap_or("the backend");
    if let Some((pool, client)) = ctx.php_pool_refusing(addr) {
        let allowed = pool
            .allowed_clients
            .as_deref()
            .unwrap_or_default()
            .join(",");
        d.cause = Cause::PolicyDenied;
        d.confidence = 0.9;
        d.summary = format!(
            "PHP-FPM pool '{}' serves only {allowed} (`listen.allowed_clients`), and nginx connects to {addr} from {client}: the pool closes the connection before reading the request.",
            pool.name
        );
        d.evidence.push(Proof::fact(
            "host",
            format!(
                "PHP-FPM pool '{}' ({}): listen.allowed_clients = {allowed}",
                pool.name, pool.defined_at
            ),
        ));
        d.fix = format!(
            "In pool '{}' ({}) set `listen.allowed_clients = {allowed},{client}` (or remove the line to allow every client), then reload PHP-FPM.",
            pool.name, pool.defined_at
        );
        probe_closed_now(ctx, addr, d);
        return;
    }
    let upstream = ctx.upstream_of(addr).map(|(u, _)| u);
    let keepalive = upstream.is_some_and(|u| {
        u.settings.keepalive.is_some() && u.settings.http11 && u.settings.connection_cleared
    });
    let reused = ctx
        .ev
        .log
        .access
        .as_ref()
        .and_then(|a| a.reused_retries.iter().find(|(p, _)| p == addr))
        .map_or(0, |(_, n)| *n);
    if keepalive && (reused > 0 || g.failed_requests.is_some_and(|f| f < g.count)) {
        d.cause = Cause::KeepaliveRace;
        d.confidence = if reused > 0 { 0.9 } else { 0.7 };
        d.summary = format!(
            "{addr} closes idle keep-alive connections just as nginx reuses them: intermittent errors on reused connections."
        );
        if reused > 0 {
            d.evidence.push(Proof {
                kind: "access-log",
                text: format!(
                    "requests that failed on {addr} and succeeded on a retry to the same address"
                ),
                count: Some(reused),
                first: None,
                last: None,
            });
        }
        let at = upstream
            .and_then(|u| u.defined_at.clone())
            .map(|a| format!(" (upstream at {a})"))
            .unwrap_or_default();
        d.fix = format!(
            "Make the backend's keep-alive idle timeout longer than nginx's upstream `keepalive_timeout` (60s by default): e.g. raise the app server's keep-alive timeout, or set `keepalive_timeout 4s;` in the upstream block{at}, below the backend's."
        );
        return;
    }
    let oom: Vec<_> = ctx.ev.host.oom_kills.iter().collect();
    d.cause = Cause::BackendCrash;
    d.confidence = if oom.is_empty() { 0.6 } else { 0.85 };
    d.summary = format!(
        "{addr} accepted requests and then closed the connection without answering: the backend crashed or killed the worker mid-request."
    );
    for (time, pid, name) in oom.iter().take(3) {
        d.evidence.push(Proof::fact(
            "host",
            format!("OOM kill at {time}: {name} (pid {pid})"),
        ));
    }
    probe_closed_now(ctx, addr, d);
    d.fix = format!(
        "Read {addr}'s own log around {} for crashes or killed workers (gunicorn `timeout`, PHP-FPM `request_terminate_timeout`, uWSGI `harakiri`, OOM); raise the worker timeout or memory, or fix the crash.",
        g.first
    );
}

/// The probe's request was dropped the same way: still failing now.
fn probe_closed_now(ctx: &Ctx<'_>, addr: &str, d: &mut Draft) {
    if let Some(p) = ctx.probe(addr).filter(|p| {
        p.connect == "ok"
            && (p.protocol.as_deref() == Some("closed")
                || p.verdict.as_deref() == Some("closed-without-answer"))
    }) {
        d.failing_now(
            "probe",
            format!(
                "{} accepted the probe's request and closed without answering, now",
                p.address
            ),
        );
    }
}

/// `upstream sent too big header`.
pub fn header_too_big(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    let addr = g.upstream.as_deref().unwrap_or("the backend");
    let setting = ctx
        .upstream_of(addr)
        .and_then(|(u, _)| u.settings.buffer_size.clone());
    let (size, text, at) =
        setting.map_or((4096, "4k".to_owned(), None), |s| (s.value, s.text, s.at));
    let observed = ctx.probe(addr).and_then(|p| p.header_bytes);
    let need = observed.map_or(size * 4, |o| o.next_power_of_two().max(size * 2));
    let kb = |b: u64| format!("{}k", b.div_ceil(1024));
    let module = super::connect::directive_for(g.schema.as_deref()).trim_end_matches("_pass");
    d.cause = Cause::HeaderTooBig;
    d.confidence = 0.95;
    d.summary = format!(
        "{addr} sends response headers larger than `{module}_buffer_size` ({text}){}.",
        observed
            .map(|o| format!(": {o} bytes seen by the probe"))
            .unwrap_or_default()
    );
    if let Some(o) = observed {
        d.evidence.push(Proof::fact(
            "probe",
            format!("response header block: {o} bytes"),
        ));
    }
    d.fix = format!(
        "{module}_buffer_size {}; {module}_buffers 8 {}; {module}_busy_buffers_size {};{} (or shrink the headers: big cookies, CSP).",
        kb(need),
        kb(need),
        kb(need * 2),
        at.map(|a| format!(" (now set at {a})")).unwrap_or_default()
    );
}

/// Broken responses in the right protocol.
pub fn invalid(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    if mismatch_from_probe(ctx, g, d) {
        return;
    }
    let addr = g.upstream.as_deref().unwrap_or("the backend");
    if let Some(p) = ctx
        .probe(addr)
        .filter(|p| p.verdict.as_deref() == Some("invalid-response"))
    {
        d.failing_now(
            "probe",
            format!(
                "{} answered the probe with a malformed response, now",
                p.address
            ),
        );
    }
    d.cause = Cause::InvalidResponse;
    d.confidence = 0.85;
    d.summary = format!(
        "{addr} speaks the right protocol but sends broken responses (nginx: {}).",
        g.kind
    );
    d.fix = format!(
        "Fix the backend's response (header bytes, chunked encoding, Content-Length); the failing requests are in the sample line. Test with `curl -v` against {addr} directly."
    );
}

/// The log line itself says the protocols differ.
pub fn protocol(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    if mismatch_from_probe(ctx, g, d) {
        return;
    }
    let addr = g.upstream.as_deref().unwrap_or("the backend");
    let site = config_site(ctx, addr);
    d.cause = Cause::ProtocolMismatch;
    d.confidence = 0.85;
    d.summary = format!(
        "nginx and {addr} speak different protocols (nginx: {}).",
        g.kind
    );
    d.fix = if g.sample.contains("FastCGI protocol version: 72") {
        format!(
            "{addr} answers HTTP ('H' = 72): use proxy_pass http://{addr} instead of fastcgi_pass{site}, or point fastcgi_pass at PHP-FPM."
        )
    } else if g.sample.contains("too large http2 frame: 4740180") {
        format!(
            "{addr} answers HTTP/1.x to gRPC: point grpc_pass at an h2c (or grpcs://) endpoint{site}."
        )
    } else {
        format!("Match the pass directive to what {addr} speaks (HTTP, FastCGI, uwsgi, TLS){site}.")
    };
}

/// TLS handshake failures to HTTPS upstreams.
pub fn tls(ctx: &Ctx<'_>, g: &LogGroup, d: &mut Draft) {
    if mismatch_from_probe(ctx, g, d) {
        return;
    }
    let addr = g.upstream.as_deref().unwrap_or("the backend");
    let site = config_site(ctx, addr);
    d.cause = Cause::TlsError;
    d.confidence = 0.85;
    let sni = ctx.probe(addr).is_some_and(|p| p.tls_needs_sni)
        || g.sample.contains("alert handshake failure")
        || g.sample.contains("unrecognized name");
    if let Some(p) = ctx.probe(addr)
        && let Some(e) = &p.tls_error
    {
        d.live = true;
        d.evidence
            .push(Proof::fact("probe", format!("TLS to {addr}: {e}")));
    }
    if g.sample.contains("wrong version number")
        || g.sample.contains("upstream prematurely sent response")
    {
        // TLS against a plain-text port: the protocols differ
        d.cause = Cause::ProtocolMismatch;
        d.confidence = 0.9;
        d.summary = format!("nginx speaks TLS (https://) to {addr}, which answers plain HTTP.");
        d.fix = format!("Use `proxy_pass http://{addr};`{site} — or enable TLS on the backend.");
    } else if sni {
        d.summary = format!(
            "The TLS handshake with {addr} fails: the backend needs SNI, which nginx does not send by default."
        );
        d.fix =
            format!("proxy_ssl_server_name on; proxy_ssl_name <the backend's host name>;{site}");
    } else if let Some(name) = quoted_after(&g.sample, "upstream SSL certificate does not match ") {
        d.confidence = 0.95;
        let group = ctx
            .upstream_of(name)
            .is_some_and(|(u, p)| p.is_none() && u.explicit);
        d.summary = format!(
            "{addr}'s certificate is not valid for the name \"{name}\" that nginx checks (proxy_ssl_verify){}.",
            if group {
                ": `proxy_ssl_name` defaults to $proxy_host, here the upstream block's name"
            } else {
                ""
            }
        );
        d.fix = format!(
            "Set `proxy_ssl_name` to a name the certificate holds (and `proxy_ssl_server_name on;` so the backend sees it){site}, or reissue the certificate for \"{name}\"."
        );
    } else if let Some((code, text)) = verify_error(&g.sample) {
        d.confidence = 0.95;
        d.summary = format!("nginx rejects {addr}'s certificate: {text} (verify error {code}).");
        d.fix = match code {
            2 | 20 | 21 => format!(
                "Add the CA that issued {addr}'s certificate (and any intermediate) to the file named by `proxy_ssl_trusted_certificate`{site}, or have the backend send its full chain."
            ),
            18 | 19 => format!(
                "{addr} presents a self-signed certificate: put that certificate (or the CA it chains to) in `proxy_ssl_trusted_certificate`{site}, or give the backend a certificate from a CA nginx trusts."
            ),
            9 | 10 => format!(
                "Renew {addr}'s certificate (check the clocks of both hosts too: `date`, `openssl s_client -connect {addr}`)."
            ),
            22 => format!(
                "The chain is deeper than `proxy_ssl_verify_depth` (default 1): set `proxy_ssl_verify_depth 2;` or more{site}."
            ),
            _ => format!(
                "Check {addr}'s certificate with `openssl s_client -connect {addr} -verify_return_error`, and the CA file in `proxy_ssl_trusted_certificate`{site}."
            ),
        };
    } else if g.sample.contains("alert protocol version")
        || g.sample.contains("unsupported protocol")
        || g.sample.contains("no protocols available")
    {
        d.summary =
            format!("nginx and {addr} share no TLS protocol version: the handshake is refused.");
        d.fix = format!(
            "Set `proxy_ssl_protocols` to versions {addr} accepts (e.g. `proxy_ssl_protocols TLSv1.2 TLSv1.3;`){site}, or upgrade the backend's TLS."
        );
    } else if g.sample.contains("certificate") {
        d.summary = format!("nginx rejects {addr}'s certificate (proxy_ssl_verify).");
        d.fix = format!(
            "Give nginx the CA that signed it (`proxy_ssl_trusted_certificate`), set `proxy_ssl_name` to a name in the certificate, or renew it{site}."
        );
    } else {
        d.summary = format!("The TLS handshake with {addr} fails (protocol or cipher mismatch).");
        d.fix = format!(
            "Align `proxy_ssl_protocols`/`proxy_ssl_ciphers` with what {addr} accepts{site}."
        );
    }
}

/// The quoted text after `prefix` (`… does not match "NAME"` → `NAME`).
fn quoted_after<'s>(line: &'s str, prefix: &str) -> Option<&'s str> {
    let rest = &line[line.find(prefix)? + prefix.len()..];
    let rest = rest.strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

/// `upstream SSL certificate verify error: (20:unable to get local issuer
/// certificate)` → the X509 verify code and its text.
fn verify_error(line: &str) -> Option<(u32, &str)> {
    const P: &str = "upstream SSL certificate verify error: (";
    let rest = &line[line.find(P)? + P.len()..];
    let (code, rest) = rest.split_once(':')?;
    Some((code.parse().ok()?, &rest[..rest.find(')')?]))
}
