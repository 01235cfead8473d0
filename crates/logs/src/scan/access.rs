//! The access-log scanner: 5xx accounting by status, upstream address,
//! upstream name, host, location, path and minute; retry chains; the
//! fingerprints of backend-produced and cached errors; and the join index
//! entries for the 5xx lines.

use super::timeline::TimelineAcc;
use super::{ScanCtx, bump_time};
use crate::LocalTime;
use crate::access::upstream::{Attempt, attempts};
use crate::access::{AccessRecord, Format, Var};
use crate::hash::FxMap;
use crate::join::{self, JoinRec};
use crate::read::MAX_LINE;
use crate::text::lossless;

/// Status columns of a row: 500, 502, 503, 504, other 5xx.
pub(crate) type StatusRow = [u64; 5];
/// Distinct keys kept per breakdown before the rest goes to `(other)`.
const MAX_KEYS: usize = 20_000;
/// Distinct retry-chain patterns kept.
const MAX_CHAINS: usize = 2_000;

pub(crate) fn status_col(s: u16) -> usize {
    match s {
        500 => 0,
        502 => 1,
        503 => 2,
        504 => 3,
        _ => 4,
    }
}

pub(crate) const STATUS_COLS: [&str; 5] = ["500", "502", "503", "504", "5xx-other"];

#[derive(Debug, Clone, Default)]
pub(crate) struct BackendAcc {
    pub count: u64,
    pub by_status: FxMap<u16, u64>,
    pub by_upstream: FxMap<Box<[u8]>, u64>,
    pub first: Option<LocalTime>,
    pub last: Option<LocalTime>,
    pub sample: Option<Box<[u8]>>,
}

impl BackendAcc {
    fn add(&mut self, status: u16, addr: &[u8], t: Option<LocalTime>, line: &[u8]) {
        self.count += 1;
        *self.by_status.entry(status).or_default() += 1;
        if self.by_upstream.len() < MAX_KEYS || self.by_upstream.contains_key(addr) {
            *self.by_upstream.entry(addr.into()).or_default() += 1;
        }
        bump_time(&mut self.first, &mut self.last, t);
        if self.sample.is_none() {
            self.sample = Some(line.into());
        }
    }

    fn merge(&mut self, o: BackendAcc) {
        self.count += o.count;
        for (k, v) in o.by_status {
            *self.by_status.entry(k).or_default() += v;
        }
        for (k, v) in o.by_upstream {
            *self.by_upstream.entry(k).or_default() += v;
        }
        bump_time(&mut self.first, &mut self.last, o.first);
        bump_time(&mut self.first, &mut self.last, o.last);
        if self.sample.is_none() {
            self.sample = o.sample;
        }
    }
}

/// Access-log counts for a chunk, or for everything read so far.
#[derive(Debug, Clone)]
pub(crate) struct AccessAcc {
    pub lines: u64,
    pub requests: u64,
    pub unparsed: u64,
    pub unparsed_sample: Option<String>,
    pub by_status: Box<[u64; 1000]>,
    pub s5xx: u64,
    pub local_5xx: u64,
    pub gateway_errors: u64,
    pub by_last_upstream: FxMap<Box<[u8]>, StatusRow>,
    pub failed_attempts: FxMap<Box<[u8]>, StatusRow>,
    pub by_name: FxMap<Box<[u8]>, StatusRow>,
    pub by_host: FxMap<Box<[u8]>, StatusRow>,
    pub by_location: FxMap<String, StatusRow>,
    pub by_path: FxMap<Box<[u8]>, StatusRow>,
    pub multi_server: u64,
    pub internal_redirect: u64,
    pub recovered: u64,
    pub recovered_same_peer: u64,
    /// `recovered_same_peer` by the address retried.
    pub same_peer_by_addr: FxMap<Box<[u8]>, u64>,
    pub chains: FxMap<String, u64>,
    pub backend: BackendAcc,
    pub cached: BackendAcc,
    pub first: Option<LocalTime>,
    pub last: Option<LocalTime>,
    pub timeline: TimelineAcc,
    pub join_recs: Vec<(u64, JoinRec)>,
    in_window: bool,
}

impl Default for AccessAcc {
    fn default() -> Self {
        AccessAcc {
            lines: 0,
            requests: 0,
            unparsed: 0,
            unparsed_sample: None,
            by_status: Box::new([0; 1000]),
            s5xx: 0,
            local_5xx: 0,
            gateway_errors: 0,
            by_last_upstream: FxMap::default(),
            failed_attempts: FxMap::default(),
            by_name: FxMap::default(),
            by_host: FxMap::default(),
            by_location: FxMap::default(),
            by_path: FxMap::default(),
            multi_server: 0,
            internal_redirect: 0,
            recovered: 0,
            recovered_same_peer: 0,
            same_peer_by_addr: FxMap::default(),
            chains: FxMap::default(),
            backend: BackendAcc::default(),
            cached: BackendAcc::default(),
            first: None,
            last: None,
            timeline: TimelineAcc::default(),
            join_recs: Vec::new(),
            in_window: true,
        }
    }
}

fn bump_row<K: std::hash::Hash + Eq + std::borrow::Borrow<Q>, Q: std::hash::Hash + Eq + ?Sized>(
    map: &mut FxMap<K, StatusRow>,
    key: &Q,
    make: impl FnOnce(&Q) -> K,
    other: impl FnOnce() -> K,
    col: usize,
) {
    if let Some(r) = map.get_mut(key) {
        r[col] += 1;
    } else if map.len() < MAX_KEYS {
        map.entry(make(key)).or_insert([0; 5])[col] += 1;
    } else {
        map.entry(other()).or_insert([0; 5])[col] += 1;
    }
}

fn bump_bytes(map: &mut FxMap<Box<[u8]>, StatusRow>, key: &[u8], col: usize) {
    bump_row(
        map,
        key,
        |k: &[u8]| Box::from(k),
        || b"(other)"[..].into(),
        col,
    );
}

fn merge_rows<K: std::hash::Hash + Eq>(a: &mut FxMap<K, StatusRow>, b: FxMap<K, StatusRow>) {
    for (k, row) in b {
        let r = a.entry(k).or_insert([0; 5]);
        for (x, y) in r.iter_mut().zip(row) {
            *x += y;
        }
    }
}

/// `10.0.0.1:80 502, 10.0.0.2:80 504 → 504` (` : ` kept for redirects).
fn chain_pattern(att: &[Attempt<'_>], status: u16) -> String {
    let mut s = String::new();
    for (i, a) in att.iter().enumerate() {
        if i > 0 {
            s.push_str(if a.redirect { " : " } else { ", " });
        }
        s.push_str(&lossless(if a.addr.is_empty() { b"?" } else { a.addr }));
        s.push(' ');
        match a.status {
            Some(x) => s.push_str(&x.to_string()),
            None => s.push('-'),
        }
    }
    s.push_str(" → ");
    s.push_str(&status.to_string());
    s
}

impl AccessAcc {
    /// Scan a block of whole lines in `fmt`.
    pub fn scan_block(&mut self, data: &[u8], fmt: &Format, cx: &ScanCtx<'_>) {
        let mut pos = 0;
        while pos < data.len() {
            let nl = memchr::memchr(b'\n', &data[pos..]).map(|i| pos + i);
            let end = nl.unwrap_or(data.len());
            // Lines longer than MAX_LINE are cut there (as the reader does).
            let line = &data[pos..end.min(pos + MAX_LINE)];
            if !line.is_empty() {
                self.add_line(line, fmt, cx);
            }
            pos = end + 1;
        }
    }

    fn add_line(&mut self, line: &[u8], fmt: &Format, cx: &ScanCtx<'_>) {
        let rec = match fmt.parse(line) {
            Ok(r) => r,
            Err(e) => {
                if self.in_window {
                    self.lines += 1;
                    self.unparsed += 1;
                    if self.unparsed_sample.is_none() {
                        let cut = &line[..line.len().min(300)];
                        self.unparsed_sample = Some(format!("{e}: {}", lossless(cut)));
                    }
                }
                return;
            }
        };
        let t = rec.time();
        if let Some(t) = t {
            self.in_window = cx.in_window(t);
        }
        if !self.in_window {
            return;
        }
        self.lines += 1;
        self.requests += 1;
        bump_time(&mut self.first, &mut self.last, t);
        let status = rec.status().unwrap_or(0);
        self.by_status[usize::from(status.min(999))] += 1;
        if let Some(t) = t {
            let b = self.timeline.at(t);
            b.requests += 1;
            if (500..=599).contains(&status) {
                b.s5xx += 1;
                if status == 502 {
                    b.s502 += 1;
                } else if status == 504 {
                    b.s504 += 1;
                }
            }
        }
        let is_5xx = (500..=599).contains(&status);
        let multi = |v: Option<&[u8]>| v.is_some_and(|v| memchr::memchr2(b',', b':', v).is_some());
        let maybe_multi = multi(rec.get(Var::UpstreamStatus))
            || (!fmt.has(Var::UpstreamStatus) && multi(rec.get(Var::UpstreamAddr)));
        if !is_5xx && !maybe_multi {
            return;
        }
        let att = attempts(&rec);
        let upstream_logged = fmt.has(Var::UpstreamAddr) || fmt.has(Var::UpstreamStatus);
        for a in &att {
            if let Some(s) = a.status.filter(|s| *s >= 500) {
                bump_bytes(&mut self.failed_attempts, a.addr, status_col(s));
            }
        }
        let recovered = self.retries(&att, status);
        if is_5xx {
            self.five_xx(&rec, &att, status, t, cx, upstream_logged);
        } else if recovered
            && cx.join.is_some()
            && let Some(t) = t
            && let Some(r) = join::make_rec(&rec, status, &att, t.0, false)
        {
            // Retried requests that succeeded are indexed too: their failed
            // attempts have error-log lines, and a success on the same
            // address is the keepalive-race signature.
            self.join_recs.push(r);
        }
    }

    fn retries(&mut self, att: &[Attempt<'_>], status: u16) -> bool {
        if att.len() < 2 {
            return false;
        }
        if att.iter().any(|a| a.redirect) {
            self.internal_redirect += 1;
        } else {
            self.multi_server += 1;
        }
        let failed = |a: &Attempt<'_>| a.status.is_some_and(|s| s >= 500);
        let recovered = status < 500 && att.iter().any(failed);
        if recovered {
            self.recovered += 1;
            let ok = att.last().map(|a| a.addr);
            if let Some(addr) = ok.filter(|ok| {
                att[..att.len() - 1]
                    .iter()
                    .any(|a| failed(a) && a.addr == *ok)
            }) {
                self.recovered_same_peer += 1;
                if self.same_peer_by_addr.len() < MAX_KEYS
                    || self.same_peer_by_addr.contains_key(addr)
                {
                    *self.same_peer_by_addr.entry(addr.into()).or_default() += 1;
                }
            }
        }
        if self.chains.len() < MAX_CHAINS || status >= 500 {
            let p = chain_pattern(att, status);
            if self.chains.len() < MAX_CHAINS || self.chains.contains_key(&p) {
                *self.chains.entry(p).or_default() += 1;
            }
        }
        recovered
    }

    fn five_xx(
        &mut self,
        rec: &AccessRecord<'_>,
        att: &[Attempt<'_>],
        status: u16,
        t: Option<LocalTime>,
        cx: &ScanCtx<'_>,
        upstream_logged: bool,
    ) {
        let col = status_col(status);
        self.s5xx += 1;
        let last = att.last();
        bump_bytes(
            &mut self.by_last_upstream,
            last.map_or(&b"-"[..], |a| {
                if a.addr.is_empty() { b"(none)" } else { a.addr }
            }),
            col,
        );
        // 502 and 504 are gateway errors by definition; 503 only when an
        // upstream answered it (nginx's own 503 is a rate limit). Without
        // $upstream_* in the format nothing says nginx answered alone.
        if att.is_empty() && upstream_logged {
            self.local_5xx += 1;
        } else if matches!(status, 502 | 504) || (status == 503 && !att.is_empty()) {
            self.gateway_errors += 1;
        }
        if let Some(n) = rec.get(Var::ProxyUpstreamName) {
            bump_bytes(&mut self.by_name, if n.is_empty() { b"-" } else { n }, col);
        }
        let host = rec.host();
        if let Some(h) = host {
            bump_bytes(&mut self.by_host, h, col);
        }
        let path = rec.path();
        if let Some(p) = path {
            bump_bytes(&mut self.by_path, p, col);
        }
        if let (Some(loc), Some(p)) = (cx.locator, path) {
            let h = String::from_utf8_lossy(host.unwrap_or(b""));
            if let Some(l) = loc(&h, &String::from_utf8_lossy(p)) {
                bump_row(
                    &mut self.by_location,
                    &l,
                    Clone::clone,
                    || "(other)".into(),
                    col,
                );
            }
        }
        let cache_hit = rec
            .value(Var::UpstreamCacheStatus)
            .is_some_and(|c| c == b"HIT");
        if cache_hit {
            self.cached
                .add(status, last.map_or(b"-", |a| a.addr), t, rec.line);
        } else if let Some(a) = last
            && a.status == Some(status)
            && a.answered == Some(true)
        {
            self.backend.add(status, a.addr, t, rec.line);
        }
        if cx.join.is_some()
            && let Some(t) = t
            && let Some(r) = join::make_rec(rec, status, att, t.0, true)
        {
            self.join_recs.push(r);
        }
    }

    /// Add a later chunk's counts (its join records are taken by the caller).
    pub fn merge(&mut self, o: AccessAcc) {
        self.lines += o.lines;
        self.requests += o.requests;
        self.unparsed += o.unparsed;
        if self.unparsed_sample.is_none() {
            self.unparsed_sample = o.unparsed_sample;
        }
        for (a, b) in self.by_status.iter_mut().zip(o.by_status.iter()) {
            *a += b;
        }
        self.s5xx += o.s5xx;
        self.local_5xx += o.local_5xx;
        self.gateway_errors += o.gateway_errors;
        merge_rows(&mut self.by_last_upstream, o.by_last_upstream);
        merge_rows(&mut self.failed_attempts, o.failed_attempts);
        merge_rows(&mut self.by_name, o.by_name);
        merge_rows(&mut self.by_host, o.by_host);
        merge_rows(&mut self.by_location, o.by_location);
        merge_rows(&mut self.by_path, o.by_path);
        self.multi_server += o.multi_server;
        self.internal_redirect += o.internal_redirect;
        self.recovered += o.recovered;
        self.recovered_same_peer += o.recovered_same_peer;
        for (k, v) in o.same_peer_by_addr {
            if self.same_peer_by_addr.len() < MAX_KEYS || self.same_peer_by_addr.contains_key(&k) {
                *self.same_peer_by_addr.entry(k).or_default() += v;
            }
        }
        for (k, v) in o.chains {
            if self.chains.len() < MAX_CHAINS || self.chains.contains_key(&k) {
                *self.chains.entry(k).or_default() += v;
            }
        }
        self.backend.merge(o.backend);
        self.cached.merge(o.cached);
        bump_time(&mut self.first, &mut self.last, o.first);
        bump_time(&mut self.first, &mut self.last, o.last);
        self.timeline.merge(o.timeline);
        // Caps on high-cardinality maps after merging.
        for m in [
            &mut self.by_path,
            &mut self.by_last_upstream,
            &mut self.failed_attempts,
        ] {
            cap(m);
        }
    }
}

/// Fold the smallest entries into `(other)` when a map grew past the cap.
fn cap(m: &mut FxMap<Box<[u8]>, StatusRow>) {
    if m.len() <= MAX_KEYS {
        return;
    }
    let mut v: Vec<(Box<[u8]>, StatusRow)> = m.drain().collect();
    v.sort_by_key(|(_, r)| std::cmp::Reverse(r.iter().sum::<u64>()));
    let rest = v.split_off(MAX_KEYS / 2);
    m.extend(v);
    let other = m.entry(b"(other)"[..].into()).or_insert([0; 5]);
    for (_, r) in rest {
        for (x, y) in other.iter_mut().zip(r) {
            *x += y;
        }
    }
}
