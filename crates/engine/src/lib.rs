//! The correlation engine: takes what is known about an nginx — its
//! upstream inventory from the config, log evidence, probe outcomes, host
//! facts, config lint findings — as plain values ([`evidence`]) and returns
//! ranked findings with SPEC cause codes ([`finding`]). It performs no I/O,
//! so every rule is a unit test over values.
//!
//! Ranking: the cause of the most user-visible failures first; among those,
//! what fails right now before what has recovered; symptoms never outrank
//! their cause (the log engine already attributes `no live upstreams` to the
//! failures that disabled the peers).

pub mod context;
pub mod evidence;
pub mod finding;
pub mod rules;

use badgateway_cause::{Cause, Severity};

pub use context::Ctx;
pub use evidence::Evidence;
use evidence::{ConfigIssue, LogGroup};
pub use finding::{Diagnosis, Finding, Proof};

/// Diagnose: evidence in, ranked findings out.
pub fn diagnose(ev: &Evidence) -> Diagnosis {
    let ctx = Ctx::new(ev);
    let mut findings: Vec<Finding> = ev
        .log
        .groups
        .iter()
        .map(|g| rules::from_log(&ctx, &onto_peer(ev, g)))
        .collect();
    // nginx out of descriptors while accepting clients: clients cannot
    // connect at all, whatever the upstreams do
    findings.extend(ev.log.limits.iter().map(|g| {
        let mut f = rules::from_log(&ctx, g);
        f.severity = Severity::Critical;
        f
    }));
    findings.extend(access_findings(ev));
    let logged: Vec<String> = ev
        .log
        .groups
        .iter()
        .filter_map(|g| g.upstream.clone())
        .collect();
    findings.extend(rules::from_probes(&ctx, &logged));
    let mut covered = logged.clone();
    covered.extend(findings.iter().filter_map(|f| f.upstream.clone()));
    findings.extend(rules::from_host_paths(&ctx, &covered));
    findings.extend(stale_config(ev, &findings));
    let mut findings = fold_into_groups(&ctx, merge(findings));
    add_lints(ev, &mut findings);
    rank(&mut findings);
    Diagnosis {
        findings,
        checked: checked(ev),
        not_checked: ev.not_checked.clone(),
        logged_failures: ev.log.groups.iter().map(|g| g.count).sum(),
    }
}

/// `no live upstreams` attributed to a peer-level cause (the failures that
/// disabled the group's servers) counts with that failure. When a single
/// server of the group logged that cause, the group entry is moved onto
/// it, so it merges into that server's finding; when several did, the
/// group stays the subject and their findings fold into it
/// ([`fold_into_groups`]).
fn onto_peer(ev: &Evidence, g: &LogGroup) -> LogGroup {
    let peer_level = !matches!(
        g.cause,
        Cause::Unknown | Cause::ServersMarkedDown | Cause::DnsFailure
    );
    let Some(name) = g
        .upstream
        .as_deref()
        .filter(|_| peer_level && g.kind == "no_live_upstreams")
    else {
        return g.clone();
    };
    let Some(u) = ev.upstreams.iter().find(|u| u.explicit && u.name == name) else {
        return g.clone();
    };
    let peers: Vec<&LogGroup> = ev
        .log
        .groups
        .iter()
        .filter(|o| o.cause == g.cause && o.kind != "no_live_upstreams")
        .filter(|o| {
            o.upstream
                .as_deref()
                .is_some_and(|a| u.peers.iter().any(|p| p.address == a))
        })
        .collect();
    let distinct = {
        let mut names: Vec<&str> = peers.iter().filter_map(|o| o.upstream.as_deref()).collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    };
    match peers.first() {
        Some(b) if distinct == 1 => LogGroup {
            upstream: b.upstream.clone(),
            schema: b.schema.clone().or_else(|| g.schema.clone()),
            ..g.clone()
        },
        _ => g.clone(),
    }
}

fn access_findings(ev: &Evidence) -> Vec<Finding> {
    let Some(a) = &ev.log.access else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for b in &a.backend_errors {
        out.push(Finding {
            cause: Cause::BackendReturnedError,
            severity: Severity::Critical,
            confidence: 0.9,
            upstream: Some(b.upstream.clone()),
            locations: Vec::new(),
            summary: format!(
                "The {} responses came from {} itself; nginx only passed them on (no error in nginx's log for them).",
                b.status, b.upstream
            ),
            evidence: vec![Proof {
                kind: "access-log",
                text: b.sample.clone(),
                count: Some(b.count),
                first: None,
                last: None,
            }],
            fix: format!(
                "nginx is not the broken hop: read {}'s own log — its own dependency (database, API, a proxy behind it) is failing.",
                b.upstream
            ),
            failed_requests: b.count,
            live: false,
        });
    }
    for b in &a.cached_errors {
        // nginx logs no upstream for a cache hit: the cached error came
        // from the backend that returned that status (when one did).
        let upstream = if b.upstream == "-" {
            a.backend_errors
                .iter()
                .filter(|e| e.status == b.status)
                .max_by_key(|e| e.count)
                .map(|e| e.upstream.clone())
        } else {
            Some(b.upstream.clone())
        };
        out.push(Finding {
            cause: Cause::CachedError,
            severity: Severity::Critical,
            confidence: 0.9,
            upstream,
            locations: Vec::new(),
            summary: format!("nginx serves a cached {} response although the backend may have recovered.", b.status),
            evidence: vec![Proof {
                kind: "access-log",
                text: b.sample.clone(),
                count: Some(b.count),
                first: None,
                last: None,
            }],
            fix: "Do not cache errors: limit `proxy_cache_valid` to `200 301 302` (no `any`), and purge the cached entry.".into(),
            failed_requests: b.count,
            live: false,
        });
    }
    out
}

fn stale_config(ev: &Evidence, found: &[Finding]) -> Vec<Finding> {
    let Some(st) = &ev.host.stale else {
        return Vec::new();
    };
    let test_failed = st.test.as_ref().is_some_and(|(ok, _)| !ok);
    if st.newer_files.is_empty() && !test_failed {
        return Vec::new();
    }
    // errors for addresses the config on disk no longer names: the running
    // nginx is still using the old config
    let known: Vec<&str> = ev
        .upstreams
        .iter()
        .flat_map(|u| {
            std::iter::once(u.name.as_str()).chain(u.peers.iter().map(|p| p.address.as_str()))
        })
        .collect();
    let orphaned: u64 = ev
        .log
        .groups
        .iter()
        .filter(|g| g.upstream.as_deref().is_some_and(|u| !known.contains(&u)))
        .map(|g| g.failed_requests.unwrap_or(g.count))
        .sum();
    let mut evidence: Vec<Proof> = st
        .newer_files
        .iter()
        .map(|f| {
            Proof::fact(
                "host",
                format!(
                    "{f} changed after nginx loaded its config ({})",
                    st.loaded_at
                ),
            )
        })
        .collect();
    if let Some((ok, msg)) = &st.test {
        evidence.push(Proof::fact(
            "host",
            format!("nginx -t: {}{msg}", if *ok { "ok " } else { "FAILS: " }),
        ));
    }
    // A changed file holding a mistake nginx refuses to load: the reload
    // was (or will be) refused, whether or not `nginx -t` was run.
    let refusing: Vec<&ConfigIssue> = ev
        .lints
        .iter()
        .filter(|l| {
            let file = l.at.rsplit_once(':').map_or(l.at.as_str(), |(f, _)| f);
            st.newer_files.iter().any(|f| f == file) && refuses_to_load(ev, l)
        })
        .collect();
    for l in &refusing {
        evidence.push(Proof::fact(
            "config",
            format!("{}: {} [{}]", l.at, l.message, l.code),
        ));
    }
    let summary = if test_failed {
        "The config on disk does not pass `nginx -t`: a reload failed or would fail, so nginx keeps running the old config.".to_owned()
    } else if let Some(l) = refusing.first() {
        format!(
            "The config changed on disk after nginx loaded it (loaded {}), but nginx refuses to load the new one ({} at {}): a reload fails, so nginx keeps running the old config.",
            st.loaded_at, l.code, l.at
        )
    } else {
        format!(
            "nginx runs a config older than the files on disk (loaded {}): the fix was never reloaded.",
            st.loaded_at
        )
    };
    let _ = found;
    vec![Finding {
        cause: Cause::StaleConfig,
        severity: if orphaned > 0 || test_failed || !refusing.is_empty() {
            Severity::Critical
        } else {
            Severity::Warning
        },
        confidence: if orphaned > 0 { 0.95 } else { 0.8 },
        upstream: None,
        locations: st.newer_files.clone(),
        summary,
        evidence,
        fix: if test_failed {
            "Fix the error `nginx -t` reports, then `nginx -t && nginx -s reload` (or `systemctl reload nginx`).".into()
        } else if let Some(l) = refusing.first() {
            format!(
                "Fix {} ({}), then `nginx -t && nginx -s reload` (or `systemctl reload nginx`).",
                l.at, l.fix
            )
        } else {
            "Reload nginx: `nginx -t && nginx -s reload` (or `systemctl reload nginx`).".into()
        },
        failed_requests: orphaned,
        live: true,
    }]
}

/// Whether nginx refuses a configuration holding this mistake: the lints
/// whose invited cause is a stale config (`nginx -t` fails), and a pass to
/// a single-label host name that does not resolve here (`host not found in
/// upstream`).
fn refuses_to_load(ev: &Evidence, l: &ConfigIssue) -> bool {
    if l.cause == Some(Cause::StaleConfig) && l.severity == Severity::Critical {
        return true;
    }
    l.code == "upstream-undefined"
        && ev
            .upstreams
            .iter()
            .any(|u| u.peers.is_empty() && u.used_at.contains(&l.at))
}

/// Config findings: one that names a directive a finding already rests on
/// (same cause, same `file:line`) becomes evidence of it; the others are
/// findings of their own (latent risks, ranked after observed failures).
fn add_lints(ev: &Evidence, findings: &mut Vec<Finding>) {
    let mut rest = Vec::new();
    for l in &ev.lints {
        let proof = Proof::fact("config", format!("{}: {} [{}]", l.at, l.message, l.code));
        match findings
            .iter_mut()
            .find(|f| l.cause.is_some_and(|c| supports(c, f.cause)) && rests_on(ev, f, l))
        {
            Some(f) => {
                f.evidence.push(proof);
                if !f.locations.contains(&l.at) {
                    f.locations.push(l.at.clone());
                }
            }
            None => rest.push(l),
        }
    }
    let extra: Vec<Finding> = rest
        .into_iter()
        .filter_map(|l| {
            let cause = l.cause?;
            Some(Finding {
                cause,
                severity: l.severity,
                confidence: 0.5,
                upstream: None,
                locations: vec![l.at.clone()],
                summary: l.message.clone(),
                evidence: vec![Proof::fact(
                    "config",
                    format!("{}: {} [{}]", l.at, l.message, l.code),
                )],
                fix: l.fix.clone(),
                failed_requests: 0,
                live: false,
            })
        })
        .collect();
    findings.extend(merge(extra));
}

/// Whether a config finding inviting `lint` is evidence for a finding of
/// cause `found`: the same cause, or its premise (nothing listens at the
/// configured address is what an address mismatch starts from).
fn supports(lint: Cause, found: Cause) -> bool {
    lint == found || (lint == Cause::UpstreamDown && found == Cause::AddressMismatch)
}

/// Is the config finding about what this finding rests on: a `file:line`
/// it cites (as a location or in its evidence), the definition of its
/// upstream or of one of its servers, its upstream by name, or a limit of
/// the whole nginx that the finding is about?
fn rests_on(ev: &Evidence, f: &Finding, l: &ConfigIssue) -> bool {
    // Limits of the whole nginx (descriptors, connections, ports) are set
    // once, in the main context: any config finding on them is this one's.
    if matches!(
        f.cause,
        Cause::FdExhaustion | Cause::WorkerConnections | Cause::PortExhaustion
    ) && l.cause == Some(f.cause)
    {
        return true;
    }
    let at = l.at.as_str();
    if f.locations.iter().any(|x| x == at)
        || f.evidence
            .iter()
            .any(|e| e.text.split_whitespace().any(|w| w == at))
    {
        return true;
    }
    let Some(name) = f.upstream.as_deref() else {
        return false;
    };
    let defines = ev
        .upstreams
        .iter()
        .filter(|u| u.name == name || u.peers.iter().any(|p| p.address == name))
        .any(|u| {
            u.defined_at.as_deref() == Some(at)
                || u.used_at.iter().any(|x| x == at)
                || u.peers.iter().any(|p| p.defined_at.as_deref() == Some(at))
        });
    defines
        || l.message
            .split(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '(' || c == ')')
            .any(|w| w == name)
}

/// One finding per (cause, upstream): counts add up, evidence is pooled.
fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        let same = out.iter_mut().find(|o| {
            o.cause == f.cause
                && o.upstream == f.upstream
                && (o.upstream.is_some() || o.summary == f.summary)
        });
        match same {
            Some(o) => {
                o.failed_requests += f.failed_requests;
                o.live |= f.live;
                o.confidence = o.confidence.max(f.confidence);
                o.severity = o.severity.max(f.severity);
                for e in f.evidence {
                    if !o
                        .evidence
                        .iter()
                        .any(|x| x.kind == e.kind && x.text == e.text)
                    {
                        o.evidence.push(e);
                    }
                }
                for l in f.locations {
                    if !o.locations.contains(&l) {
                        o.locations.push(l);
                    }
                }
            }
            None => out.push(f),
        }
    }
    out
}

/// `no live upstreams` attributed to a cause (the failures that took the
/// group's servers out) and the per-server findings of that same cause are
/// one problem: the servers' findings fold into the group's, which keeps
/// their evidence and wording and says how the group answered meanwhile.
fn fold_into_groups(ctx: &Ctx<'_>, findings: Vec<Finding>) -> Vec<Finding> {
    let groups: Vec<(usize, &evidence::Upstream)> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            !matches!(
                f.cause,
                Cause::ServersMarkedDown | Cause::Unknown | Cause::StaleConfig
            )
        })
        .filter_map(|(i, f)| match ctx.upstream_of(f.upstream.as_deref()?) {
            Some((u, None)) if !u.peers.is_empty() => Some((i, u)),
            _ => None,
        })
        .collect();
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    for (gi, u) in groups {
        let Some(cause) = slots[gi].as_ref().map(|g| g.cause) else {
            continue;
        };
        let mut peers: Vec<Finding> = Vec::new();
        for (j, slot) in slots.iter_mut().enumerate() {
            let is_peer = slot.as_ref().is_some_and(|f| {
                j != gi
                    && f.cause == cause
                    && f.upstream
                        .as_deref()
                        .is_some_and(|a| u.peers.iter().any(|p| p.address == a))
            });
            if is_peer && let Some(f) = slot.take() {
                peers.push(f);
            }
        }
        let (Some(g), Some(first)) = (slots[gi].as_mut(), peers.first()) else {
            continue;
        };
        let no_live = g.failed_requests;
        let names: Vec<&str> = peers.iter().filter_map(|f| f.upstream.as_deref()).collect();
        g.summary = format!(
            "{} Upstream {} had no server left ({}): nginx answered `no live upstreams` at once{}.",
            first.summary,
            u.name,
            names.join(", "),
            if no_live > 0 {
                format!(" ({no_live} requests)")
            } else {
                String::new()
            }
        );
        g.fix = first.fix.clone();
        g.confidence = g.confidence.max(first.confidence);
        let mut evidence = Vec::new();
        for p in peers {
            g.failed_requests += p.failed_requests;
            g.live |= p.live;
            g.severity = g.severity.max(p.severity);
            evidence.extend(p.evidence);
            for l in p.locations {
                if !g.locations.contains(&l) {
                    g.locations.push(l);
                }
            }
        }
        // a request that failed on every server counts once per server
        // above: no more requests failed than the access log shows
        if let Some(a) = &ctx.ev.log.access {
            let total: u64 = a.status_5xx.iter().map(|(_, n)| n).sum();
            g.failed_requests = g.failed_requests.min(total);
        }
        // the failures first, then the `no live upstreams` they caused
        evidence.append(&mut g.evidence);
        g.evidence = evidence;
    }
    slots.into_iter().flatten().collect()
}

/// Most user-visible failures first; failing now before recovered.
fn rank(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                f.severity,
                f.failed_requests > 0,
                f.live,
                f.failed_requests,
                (f.confidence * 1000.0) as u32,
            )
        };
        key(b).cmp(&key(a))
    });
}

fn checked(ev: &Evidence) -> Vec<String> {
    let mut c = Vec::new();
    if let Some(cfg) = &ev.nginx.config {
        let peers: usize = ev.upstreams.iter().map(|u| u.peers.len()).sum();
        c.push(format!(
            "config {cfg}: {} upstreams, {peers} backend addresses",
            ev.upstreams.len()
        ));
    }
    if !ev.log.files.is_empty() {
        let window = ev
            .log
            .window
            .as_ref()
            .map(|(a, b)| format!(" from {a} to {b}"))
            .unwrap_or_default();
        c.push(format!("logs {}{window}", ev.log.files.join(", ")));
    }
    if !ev.probes.is_empty() {
        c.push(format!("probed {} backend addresses", ev.probes.len()));
    }
    if ev.host.inspected {
        c.push("host: listening sockets, unix sockets, PHP-FPM pools, limits".into());
    }
    c
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_nginx_wide;
