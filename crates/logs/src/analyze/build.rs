//! Turning the accumulators of a [`super::Run`] into the plain-data
//! [`LogReport`].

use std::collections::BTreeMap;

use badgateway_cause::Cause;

use super::Run;
use crate::catalog::Kind;
use crate::error::Level;
use crate::hash::FxMap;
use crate::join::MAX_ATTEMPTS;
use crate::report::{
    AccessLogReport, BackendErrors, CauseReport, ChainReport, ErrorLogReport, Evidence,
    FailureGroup, InputReport, JoinReport, LogReport, NamedCount, NoLiveReport, RetryReport,
    Sample, UpstreamReport, Window,
};
use crate::scan::access::{BackendAcc, STATUS_COLS, StatusRow};
use crate::scan::error::{NOTABLE, STATUS_LABELS};
use crate::scan::timeline::NCAUSE;
use crate::scan::{self, bump_time};
use crate::text::lossless;

/// (upstream, cause, kind) groups kept in the report.
const MAX_GROUPS: usize = 500;

/// `no live upstreams` per group.
/// Count, per-cause counts and disabled peers of one group.
type GroupRow = (u64, [u64; NCAUSE], Vec<Box<[u8]>>);

#[derive(Debug, Default)]
pub(crate) struct NoLiveAcc {
    groups: FxMap<Box<[u8]>, GroupRow>,
}

impl NoLiveAcc {
    pub fn add(&mut self, group: &[u8], cause: Cause, peers: &[Box<[u8]>]) {
        let g = self.groups.entry(group.into()).or_default();
        g.0 += 1;
        g.1[cause as usize] += 1;
        for p in peers {
            if !g.2.contains(p) && g.2.len() < 16 {
                g.2.push(p.clone());
            }
        }
    }
}

/// Collect into a map, adding up values whose displayed names coincide
/// (distinct raw bytes can print alike: a raw byte and its `\xHH` text).
fn summed(pairs: impl IntoIterator<Item = (String, u64)>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for (k, v) in pairs {
        *m.entry(k).or_default() += v;
    }
    m
}

fn labelled(row: &[u64; STATUS_LABELS.len()]) -> BTreeMap<String, u64> {
    STATUS_LABELS
        .iter()
        .zip(row)
        .filter(|(_, n)| **n > 0)
        .map(|(l, n)| ((*l).to_owned(), *n))
        .collect()
}

fn cause_map(row: &[impl Copy + Into<u64>]) -> BTreeMap<String, u64> {
    row.iter()
        .enumerate()
        .filter_map(|(i, &n)| {
            let n: u64 = n.into();
            (n > 0).then(|| (Cause::ALL[i].code().to_owned(), n))
        })
        .collect()
}

fn status_map(row: &StatusRow) -> BTreeMap<String, u64> {
    row.iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (STATUS_COLS[i].to_owned(), *n))
        .collect()
}

fn top_rows<K>(m: FxMap<K, StatusRow>, name: impl Fn(&K) -> String, top: usize) -> Vec<NamedCount> {
    let mut v: Vec<NamedCount> = m
        .iter()
        .map(|(k, r)| NamedCount {
            name: name(k),
            count: r.iter().sum(),
            by: status_map(r),
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v.truncate(top);
    v
}

fn sample(s: Option<(Box<[u8]>, Option<crate::LocalTime>, Kind)>) -> Option<Sample> {
    s.map(|(raw, time, kind)| Sample {
        raw: lossless(&raw),
        time,
        kind: kind.as_str().to_owned(),
    })
}

fn evidence(e: scan::Evidence) -> Evidence {
    Evidence {
        count: e.count,
        first: e.first,
        last: e.last,
        sample: sample(e.sample),
    }
}

fn backend(b: BackendAcc) -> BackendErrors {
    BackendErrors {
        count: b.count,
        by_status: b
            .by_status
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        by_upstream: summed(b.by_upstream.iter().map(|(k, v)| (lossless(k), *v))),
        first: b.first,
        last: b.last,
        sample: b.sample.map(|s| lossless(&s)),
    }
}

pub(crate) fn report(
    run: Run<'_>,
    inputs: Vec<InputReport>,
    has_access: bool,
    has_error: bool,
) -> LogReport {
    let top = run.opts.top.max(1);
    let e = run.error;
    let total = e.upstream_errors;
    let mut rep = LogReport {
        version: 1,
        lines: e.lines + run.access.lines,
        upstream_errors: total,
        window: Window {
            since: run.opts.since,
            until: run.opts.until,
        },
        inputs,
        warnings: run.warnings,
        ..LogReport::default()
    };
    bump_time(&mut rep.first, &mut rep.last, e.first);
    bump_time(&mut rep.first, &mut rep.last, e.last);
    bump_time(&mut rep.first, &mut rep.last, run.access.first);
    bump_time(&mut rep.first, &mut rep.last, run.access.last);

    // Error log.
    let mut upstreams: Vec<(Box<[u8]>, crate::scan::failure::UpAcc)> =
        e.upstreams.into_iter().collect();
    upstreams.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
    for (k, u) in &upstreams {
        if u.count > 0 {
            *rep.by_upstream.entry(lossless(k)).or_default() += u.count;
        }
    }
    let mut causes = Vec::new();
    for (i, c) in e.causes.into_iter().enumerate() {
        if c.count == 0 {
            continue;
        }
        let cause = Cause::ALL[i];
        rep.by_cause.insert(cause.code().to_owned(), c.count);
        let mut ups: Vec<(String, u64)> = upstreams
            .iter()
            .filter(|(_, u)| u.by_cause[i] > 0)
            .map(|(k, u)| (lossless(k), u64::from(u.by_cause[i])))
            .collect();
        ups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ups.truncate(10);
        causes.push(CauseReport {
            cause,
            count: c.count,
            share: c.count as f64 / total.max(1) as f64,
            direct: c.direct,
            via_no_live: c.via_no_live,
            client_statuses: labelled(&c.statuses),
            kinds: Kind::ALL
                .iter()
                .filter(|k| c.kinds[k.index()] > 0)
                .map(|k| (k.as_str().to_owned(), c.kinds[k.index()]))
                .collect(),
            upstreams: summed(ups),
            first: c.first,
            last: c.last,
            sample: sample(c.sample),
        });
    }
    causes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.cause.cmp(&b.cause)));
    let named = |m: FxMap<Box<[u8]>, [u32; NCAUSE]>| {
        let mut v: Vec<NamedCount> = m
            .into_iter()
            .map(|(k, r)| NamedCount {
                name: lossless(&k),
                count: r.iter().map(|&n| u64::from(n)).sum(),
                by: cause_map(&r),
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        v
    };
    let mut locations: Vec<NamedCount> = e
        .locations
        .into_iter()
        .map(|(k, r)| NamedCount {
            name: k,
            count: r.iter().map(|&n| u64::from(n)).sum(),
            by: cause_map(&r),
        })
        .collect();
    locations.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    let mut no_live: Vec<NoLiveReport> = run
        .no_live
        .groups
        .into_iter()
        .map(|(g, (n, row, peers))| NoLiveReport {
            group: lossless(&g),
            count: n,
            unattributed: row[Cause::Unknown as usize],
            attributed: cause_map(
                &row.iter()
                    .enumerate()
                    .map(|(i, &x)| if i == Cause::Unknown as usize { 0 } else { x })
                    .collect::<Vec<u64>>(),
            ),
            disabled_peers: peers.iter().map(|p| lossless(p)).collect(),
        })
        .collect();
    no_live.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.group.cmp(&b.group)));
    let mut groups: Vec<FailureGroup> = upstreams
        .iter()
        .flat_map(|(k, u)| {
            u.sigs.iter().map(|s| FailureGroup {
                upstream: lossless(k),
                group: u.group && s.kind == Kind::NoLiveUpstreams,
                cause: s.cause,
                kind: s.kind.as_str().to_owned(),
                count: s.count,
                first: s.first,
                last: s.last,
                sample: lossless(&s.sample),
            })
        })
        .collect();
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.upstream.cmp(&b.upstream))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    groups.truncate(MAX_GROUPS);
    rep.error_log = ErrorLogReport {
        entries: e.entries,
        lines: e.lines,
        unparsed: e.unparsed,
        by_level: Level::ALL
            .iter()
            .filter(|l| e.by_level[**l as usize] > 0)
            .map(|l| (l.as_str().to_owned(), e.by_level[*l as usize]))
            .collect(),
        by_kind: Kind::ALL
            .iter()
            .filter(|k| e.by_kind[k.index()] > 0)
            .map(|k| (k.as_str().to_owned(), e.by_kind[k.index()]))
            .collect(),
        causes,
        groups,
        upstreams: upstreams
            .into_iter()
            .take(1000)
            .map(|(k, u)| UpstreamReport {
                name: lossless(&k),
                group: u.group,
                count: u.count,
                by_cause: cause_map(&u.by_cause),
                disabled: u.disabled,
                first: u.first,
                last: u.last,
            })
            .collect(),
        servers: named(e.servers),
        locations,
        no_live,
        notable: NOTABLE
            .iter()
            .zip(e.notable)
            .filter(|(_, ev)| ev.count > 0)
            .map(|(k, ev)| (k.as_str().to_owned(), evidence(ev)))
            .collect(),
        client_statuses: labelled(&e.client_statuses),
        version_hints: e.version_hints.iter().map(|s| (*s).to_owned()).collect(),
    };
    if !has_error {
        rep.error_log = ErrorLogReport::default();
    }

    // Access log.
    let mut timeline = e.timeline;
    if has_access {
        let a = run.access;
        let mut chains: Vec<ChainReport> = a
            .chains
            .into_iter()
            .map(|(chain, count)| ChainReport { chain, count })
            .collect();
        chains.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.chain.cmp(&y.chain)));
        chains.truncate(top);
        rep.access_log = Some(AccessLogReport {
            requests: a.requests,
            unparsed: a.unparsed,
            unparsed_sample: a.unparsed_sample,
            by_status: a
                .by_status
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(s, n)| (format!("{s:03}"), *n))
                .collect(),
            status_5xx: a.s5xx,
            by_upstream: top_rows(a.by_last_upstream, |k| lossless(k), top),
            failed_attempts: top_rows(a.failed_attempts, |k| lossless(k), top),
            by_upstream_name: top_rows(a.by_name, |k| lossless(k), top),
            by_host: top_rows(a.by_host, |k| lossless(k), top),
            by_location: top_rows(a.by_location, Clone::clone, top),
            by_path: top_rows(a.by_path, |k| lossless(k), top),
            retries: RetryReport {
                multi_server: a.multi_server,
                internal_redirect: a.internal_redirect,
                recovered: a.recovered,
                recovered_same_peer: a.recovered_same_peer,
                same_peer_by_upstream: a
                    .same_peer_by_addr
                    .iter()
                    .map(|(k, v)| (lossless(k), *v))
                    .collect(),
                chains,
            },
            backend_returned_error: backend(a.backend),
            cached_error: backend(a.cached),
            local_5xx: a.local_5xx,
            gateway_errors: a.gateway_errors,
        });
        timeline.merge(a.timeline);
    }
    rep.timeline = timeline.finish();

    // Join.
    if has_access && has_error {
        rep.join = Some(join_report(&run.join, &run.join_causes, top));
    }
    rep
}

fn join_report(
    index: &crate::join::JoinIndex,
    causes: &[[u8; MAX_ATTEMPTS]],
    top: usize,
) -> JoinReport {
    let mut j = JoinReport {
        capped: index.capped,
        ..JoinReport::default()
    };
    let mut chains: FxMap<String, u64> = FxMap::default();
    for (r, slots) in index.recs.iter().zip(causes) {
        if r.status < 500 {
            // A retried request that succeeded: kept for its causes only.
            continue;
        }
        j.access_5xx += 1;
        match r.status {
            502 => j.status_502 += 1,
            504 => j.status_504 += 1,
            _ => {}
        }
        let n = r.attempts.len().min(MAX_ATTEMPTS);
        let explained = (0..n)
            .rev()
            .find_map(|i| (slots[i] > 0).then(|| Cause::ALL[usize::from(slots[i] - 1)]))
            .or_else(|| {
                (r.attempts.is_empty() && slots[0] > 0)
                    .then(|| Cause::ALL[usize::from(slots[0] - 1)])
            });
        let code = match explained {
            Some(c) => {
                j.explained += 1;
                match r.status {
                    502 => j.explained_502 += 1,
                    504 => j.explained_504 += 1,
                    _ => {}
                }
                if r.attempts.len() > 1 {
                    let mut s = String::new();
                    for (i, (_, st)) in r.attempts.iter().enumerate().take(MAX_ATTEMPTS) {
                        if i > 0 {
                            s.push_str(", ");
                        }
                        let c =
                            (slots[i] > 0).then(|| Cause::ALL[usize::from(slots[i] - 1)].code());
                        s.push_str(c.unwrap_or("?"));
                        s.push_str(&st.map_or(" (-)".to_owned(), |x| format!(" ({x})")));
                    }
                    s.push_str(&format!(" → {}", r.status));
                    if chains.len() < 2000 || chains.contains_key(&s) {
                        *chains.entry(s).or_default() += 1;
                    }
                }
                c.code()
            }
            None if r.cache_hit => Cause::CachedError.code(),
            None if r.backend_answered => Cause::BackendReturnedError.code(),
            None => {
                j.unexplained += 1;
                if j.unexplained_sample.is_none() {
                    j.unexplained_sample = r.line.as_deref().map(lossless);
                }
                continue;
            }
        };
        *j.by_cause.entry(code.to_owned()).or_default() += 1;
    }
    let mut v: Vec<ChainReport> = chains
        .into_iter()
        .map(|(chain, count)| ChainReport { chain, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.chain.cmp(&b.chain)));
    v.truncate(top);
    j.chains = v;
    j
}
