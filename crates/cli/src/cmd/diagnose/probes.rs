//! Probing the inventory: every server of every upstream, concurrently,
//! the way nginx's worker would reach it (its protocol, SNI only when
//! `proxy_ssl_server_name` is on, the header buffer in force, the worker's
//! credentials for unix sockets); then the raw facts the engine reasons on.

use badgateway_engine::evidence::{ProbeResult, Upstream};
use badgateway_probe::{ProbeOptions, ProbeReport, Target, probe_many};
use serde::Serialize;

/// Probe every peer that nginx would try (not the ones marked `down`).
pub fn probe_inventory(upstreams: &[Upstream], opts: &ProbeOptions) -> Vec<ProbeResult> {
    let mut targets: Vec<Target> = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for u in upstreams {
        for p in u.peers.iter().filter(|p| !p.down) {
            let key = (u.protocol.clone(), p.address.clone());
            if seen.contains(&key) {
                continue;
            }
            let Ok(mut t) = Target::from_config(&u.protocol, &p.address) else {
                continue;
            };
            t = t.with_sni(u.settings.ssl_server_name, p.hostname.clone());
            if let Some(b) = &u.settings.buffer_size {
                t = t.with_buffer_size(usize::try_from(b.value).unwrap_or(usize::MAX));
            }
            seen.push(key);
            targets.push(t);
        }
    }
    if targets.is_empty() {
        return Vec::new();
    }
    probe_many(&targets, opts)
        .iter()
        .flat_map(results)
        .collect()
}

/// Serde's spelling of a value (`permission-denied`, `fastcgi`).
fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// One engine result per address the probe tried.
fn results(r: &ProbeReport) -> Vec<ProbeResult> {
    r.attempts
        .iter()
        .map(|a| ProbeResult {
            address: a.address.clone(),
            connect: name(&a.connect),
            errno: a.errno,
            ms: a.ms,
            protocol: Some(name(&a.protocol)),
            http_status: a.http_status(),
            header_bytes: a.header_bytes().map(|b| b as u64),
            first_byte_ms: a.exchange.as_ref().and_then(|e| e.first_byte_ms),
            verdict: Some(name(&a.verdict)),
            server_header: a.server_header().map(str::to_owned),
            tls_error: a.tls_error(),
            tls_needs_sni: a.tls_needs_sni(),
            as_worker: r.as_worker(),
        })
        .collect()
}
