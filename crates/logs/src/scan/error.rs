//! The error-log scanner: entries in, counts out. One [`ErrorAcc`] per
//! chunk (filled in parallel), merged in file order into the global one.
//!
//! Everything that needs order — pairing `upstream server temporarily
//! disabled` with the failure beside it, attributing `no live upstreams`
//! to the failures that disabled the peers — is kept as small events and
//! resolved by [`crate::attrib`] during the ordered merge.

use std::collections::VecDeque;

use badgateway_cause::Cause;

use super::failure::{CauseAcc, DisabledEv, Event, Failure, NoLiveEv, Span, UpAcc};
use super::timeline::{NCAUSE, TimelineAcc};
use super::{Evidence, ScanCtx, bump_time};
use crate::LocalTime;
use crate::catalog::{self, ClientStatus, Kind};
use crate::error::{
    ErrorEntry, Level, TimeCache, UpstreamField, entry_from_head, parse_fields,
    parse_upstream_only, scan_head, split_body, split_known, trim_newline,
};
use crate::hash::FxMap;
use crate::join::{self, JoinMatch};
use crate::read::MAX_LINE;
use crate::time::looks_like_error_line;

/// Distinct upstreams, servers and locations kept before the rest is
/// counted under `(other)` (memory stays bounded on hostile input).
const MAX_KEYS: usize = 20_000;
const OTHER: &[u8] = b"(other)";

/// Continuation lines are attached to an entry only this far from its start
/// (nginx entries are at most 2048 bytes).
const MAX_ENTRY: usize = 4096;
const NKIND: usize = Kind::ALL.len();

/// Kinds kept as evidence although they are not upstream errors.
pub(crate) const NOTABLE: [Kind; 10] = [
    Kind::PeerDisabled,
    Kind::FastcgiStderr,
    Kind::ClientAbortUpstream,
    Kind::RateLimited,
    Kind::ConfigError,
    Kind::FdExhaustionOther,
    Kind::UpgradedTimeout,
    Kind::WorkerConnectionsReusing,
    Kind::UpstreamBuffered,
    Kind::ResolverIo,
];

/// `NOTABLE_SLOT[kind.index()]`: the kind's index in [`NOTABLE`], or
/// [`NOT_NOTABLE`].
const NOTABLE_SLOT: [u8; NKIND] = {
    let mut slots = [NOT_NOTABLE; NKIND];
    let mut i = 0;
    while i < NOTABLE.len() {
        slots[NOTABLE[i].index()] = i as u8;
        i += 1;
    }
    slots
};
const NOT_NOTABLE: u8 = u8::MAX;

/// Error-log counts for a chunk, or for everything read so far.
#[derive(Debug, Clone)]
pub(crate) struct ErrorAcc {
    pub lines: u64,
    pub entries: u64,
    pub unparsed: u64,
    pub upstream_errors: u64,
    pub by_level: [u64; 9],
    pub by_kind: [u64; NKIND],
    pub causes: Vec<CauseAcc>,
    pub upstreams: FxMap<Box<[u8]>, UpAcc>,
    pub servers: FxMap<Box<[u8]>, [u32; NCAUSE]>,
    pub locations: FxMap<String, [u32; NCAUSE]>,
    pub notable: Vec<Evidence>,
    pub client_statuses: [u64; STATUS_LABELS.len()],
    pub version_hints: Vec<&'static str>,
    pub first: Option<LocalTime>,
    pub last: Option<LocalTime>,
    pub timeline: TimelineAcc,
    pub events: Vec<Event>,
    /// The bytes the events refer to.
    pub arena: Vec<u8>,
    pub joins: Vec<JoinMatch>,
    /// Whether the last dated entry was inside the window (for garbage lines).
    in_window: bool,
    recent: VecDeque<(u64, Cause, i64)>,
    /// Disabled warnings still waiting for their failure: the event's
    /// index, its connection and time (kept here so the search does not
    /// visit the events).
    pending: Vec<(usize, u64, i64)>,
    tc: TimeCache,
}

impl Default for ErrorAcc {
    fn default() -> Self {
        ErrorAcc {
            lines: 0,
            entries: 0,
            unparsed: 0,
            upstream_errors: 0,
            by_level: [0; 9],
            by_kind: [0; NKIND],
            causes: vec![CauseAcc::default(); NCAUSE],
            upstreams: FxMap::default(),
            servers: FxMap::default(),
            locations: FxMap::default(),
            notable: vec![Evidence::default(); NOTABLE.len()],
            client_statuses: [0; STATUS_LABELS.len()],
            version_hints: Vec::new(),
            first: None,
            last: None,
            timeline: TimelineAcc::default(),
            events: Vec::new(),
            arena: Vec::new(),
            joins: Vec::new(),
            in_window: true,
            recent: VecDeque::new(),
            pending: Vec::new(),
            tc: TimeCache::without_ids(),
        }
    }
}

/// The key `by_upstream` uses for an entry (see [`crate::LogReport::by_upstream`]).
pub(crate) fn upstream_key<'a>(
    e: &ErrorEntry<'a>,
    kind: Kind,
    uf: Option<UpstreamField<'a>>,
) -> &'a [u8] {
    match kind {
        Kind::NoResolver => {
            return e
                .message
                .strip_prefix(b"no resolver defined to resolve ")
                .unwrap_or(b"-");
        }
        Kind::NotResolved => {
            if let Some(p) = crate::find::find!(e.message, b" could not be resolved") {
                return &e.message[..p];
            }
        }
        _ => {}
    }
    let field = e.ctx.upstream.zip(uf);
    if let Some((raw, u)) = field {
        // Was the 2048-byte cut inside the upstream field, possibly inside
        // the peer itself?
        let last_value = e.ctx.upstream_cut;
        let followed = raw.len() > u.scheme.len() + 3 + u.peer.len();
        if !u.peer.is_empty() && (!last_value || followed) {
            return u.peer;
        }
    }
    if let Some(p) = crate::error::connect_to_peer(e.message) {
        return p;
    }
    if e.truncated {
        return b"(truncated)";
    }
    match field {
        Some((_, u)) if !u.peer.is_empty() => u.peer,
        _ => b"-",
    }
}

/// `k`, or `(other)` when the map is full and does not hold it.
fn capped<V>(m: &FxMap<Box<[u8]>, V>, k: Box<[u8]>) -> Box<[u8]> {
    if m.len() >= MAX_KEYS && !m.contains_key(&k) {
        OTHER.into()
    } else {
        k
    }
}

/// Should a sample of kind `new` replace the current one? The first entry
/// wins, except that an entry whose own message points to the cause
/// replaces a `no live upstreams` symptom.
fn better_sample(cur: Option<Kind>, new: Kind) -> bool {
    match cur {
        None => true,
        Some(Kind::NoLiveUpstreams) => new != Kind::NoLiveUpstreams,
        Some(_) => false,
    }
}

/// Labels of what clients got, indexed by [`status_index`].
pub(crate) const STATUS_LABELS: [&str; 9] = [
    "502",
    "504",
    "500",
    "503",
    "499",
    "other",
    "truncated",
    "009",
    "unaffected",
];

fn status_index(s: ClientStatus) -> usize {
    match s {
        ClientStatus::Status(502) => 0,
        ClientStatus::Status(504) => 1,
        ClientStatus::Status(500) => 2,
        ClientStatus::Status(503) => 3,
        ClientStatus::Status(499) => 4,
        ClientStatus::Status(_) => 5,
        ClientStatus::Truncated => 6,
        ClientStatus::Http09 => 7,
        ClientStatus::Unchanged => 8,
    }
}

fn location(cx: &ScanCtx<'_>, e: &ErrorEntry<'_>) -> Option<String> {
    let loc = cx.locator?;
    let host = e.ctx.host.or(e.ctx.server).unwrap_or(b"");
    let (_, target) = e.ctx.request_target()?;
    let path = &target[..memchr::memchr(b'?', target).unwrap_or(target.len())];
    loc(
        &String::from_utf8_lossy(host),
        &String::from_utf8_lossy(path),
    )
}

impl ErrorAcc {
    fn put(&mut self, b: &[u8]) -> Span {
        let start = self.arena.len();
        self.arena.extend_from_slice(b);
        (start as u32, b.len() as u32)
    }

    /// Scan a block of whole entries.
    pub fn scan_block(&mut self, data: &[u8], cx: &ScanCtx<'_>) {
        let mut pos = 0;
        let mut cur: Option<(usize, usize, u64)> = None; // start, end, lines
        while pos < data.len() {
            let nl = memchr::memchr(b'\n', &data[pos..]).map(|i| pos + i);
            let next = nl.map_or(data.len(), |i| i + 1);
            // Lines longer than MAX_LINE are cut there (as the reader does).
            let end = nl.unwrap_or(data.len()).min(pos + MAX_LINE);
            let line = &data[pos..end];
            if looks_like_error_line(line) {
                if let Some((s, e, n)) = cur.take() {
                    self.add_entry(&data[s..e], n, cx);
                }
                cur = Some((pos, end, 1));
            } else if let Some((s, _, n)) = cur.filter(|(s, _, _)| end - s <= MAX_ENTRY) {
                cur = Some((s, end, n + 1));
            } else {
                if let Some((s, e, n)) = cur.take() {
                    self.add_entry(&data[s..e], n, cx);
                }
                self.garbage_line(line);
            }
            pos = next;
        }
        if let Some((s, e, n)) = cur {
            self.add_entry(&data[s..e], n, cx);
        }
    }

    fn garbage_line(&mut self, line: &[u8]) {
        if !self.in_window || line.is_empty() {
            return;
        }
        self.lines += 1;
        self.entries += 1;
        self.unparsed += 1;
        self.by_level[Level::Unknown as usize] += 1;
        self.by_kind[Kind::Unparsed.index()] += 1;
    }

    /// Count one entry (`lines` physical lines).
    pub fn add_entry(&mut self, raw: &[u8], lines: u64, cx: &ScanCtx<'_>) {
        let raw = trim_newline(raw);
        let head = scan_head(raw, &mut self.tc);
        let time = head.map(|h| h.time);
        if let Some(t) = time {
            self.in_window = cx.in_window(t);
            if !self.in_window {
                return;
            }
        }
        self.lines += lines;
        self.entries += 1;
        self.by_level[head.map_or(Level::Unknown, |h| h.level) as usize] += 1;
        bump_time(&mut self.first, &mut self.last, time);
        let body = head.map(|h| h.body);
        // Frequent messages that need no further parsing.
        if let Some(k) = body.and_then(catalog::quick_kind) {
            self.by_kind[k.index()] += 1;
            self.note(k, time, raw);
            return;
        }
        let mut e = entry_from_head(raw, head);
        e.conn = head.and_then(|h| h.conn());
        self.add_parsed(e, body, lines, cx);
    }

    /// Keep `raw` as evidence if entries of `kind` are notable.
    #[inline]
    fn note(&mut self, kind: Kind, time: Option<LocalTime>, raw: &[u8]) {
        let slot = NOTABLE_SLOT[kind.index()];
        if slot != NOT_NOTABLE {
            self.notable[usize::from(slot)].add(time, raw, kind);
        }
    }

    /// Count an entry that needs its message and context parsed.
    fn add_parsed<'a>(
        &mut self,
        mut e: ErrorEntry<'a>,
        body: Option<&'a [u8]>,
        lines: u64,
        cx: &ScanCtx<'_>,
    ) {
        let known = body.and_then(catalog::templates::lookup);
        let fields = match (body, known) {
            (Some(b), Some(t)) => split_known(&mut e, b, t),
            (Some(b), None) => split_body(&mut e, b),
            _ => &[],
        };
        let c = match known.and_then(|t| t.class(e.level, e.conn.is_some())) {
            Some(c) => c,
            None => catalog::classify(&e),
        };
        self.by_kind[c.kind.index()] += 1;
        if c.kind == Kind::Unparsed {
            self.unparsed += lines;
        }
        if let Some(h) = c.version_hint
            && !self.version_hints.contains(&h)
        {
            self.version_hints.push(h);
        }
        let disabled = c.kind == Kind::PeerDisabled;
        let uf = if disabled || c.upstream_error {
            if cx.join.is_some() || cx.locator.is_some() {
                parse_fields(&mut e.ctx, fields);
                e.ctx.upstream_field()
            } else {
                parse_upstream_only(&mut e.ctx, fields)
            }
        } else {
            None
        };
        if disabled {
            self.disabled(&e, uf);
        }
        self.note(c.kind, e.time, e.raw);
        let Some(cause) = c.cause.filter(|_| c.upstream_error) else {
            return;
        };
        let key = upstream_key(&e, c.kind, uf);
        let server = e.ctx.server.unwrap_or(b"");
        let join_key = match (cx.join, e.ctx.client, e.ctx.request) {
            (Some(_), Some(cl), Some(rq)) => Some(join::key(cl, rq)),
            _ => None,
        };
        // Join evidence refines the cause: a premature close or reset on a
        // request that then succeeded on the same server was a reused
        // keepalive connection the backend had closed.
        let cands = match (cx.join, join_key, e.time) {
            (Some(join), Some(k), Some(t)) if c.kind != Kind::NoLiveUpstreams => {
                // A name that could not be resolved never became a peer:
                // the access log shows no upstream address for it.
                let named_peer = key != b"-"
                    && key != b"(truncated)"
                    && !matches!(c.kind, Kind::NoResolver | Kind::NotResolved);
                let peer = named_peer.then(|| join::addr_hash(key));
                join.probe(k, t.0, peer)
            }
            _ => Vec::new(),
        };
        let cause = if matches!(
            c.kind,
            Kind::PrematureClose | Kind::ConnectionReset | Kind::SendFailed
        ) && cx.join.is_some_and(|j| j.same_peer_recovered(&cands))
        {
            Cause::KeepaliveRace
        } else {
            cause
        };
        let scheme = uf.map_or(&b""[..], |u| u.scheme);
        if c.kind == Kind::NoLiveUpstreams {
            let ev = NoLiveEv {
                time: e.time,
                group: self.put(key),
                server: self.put(server),
                scheme: self.put(scheme),
                location: location(cx, &e),
                raw: self.put(e.raw),
                join_key,
            };
            self.events.push(Event::NoLive(ev));
            return;
        }
        self.record(&Failure {
            time: e.time,
            cause,
            kind: c.kind,
            status: c.status,
            upstream: key,
            group: false,
            server: Some(server),
            location: location(cx, &e),
            raw: e.raw,
            direct: true,
        });
        if !cands.is_empty() {
            self.joins.push(JoinMatch { cands, cause });
        }
        if cx.failure_events
            && let Some(t) = e.time
        {
            let ev = DisabledEv {
                warning: false,
                time: t.0,
                peer: self.put(key),
                server: self.put(server),
                scheme: self.put(scheme),
                cause: Some(cause),
            };
            self.events.push(Event::Disabled(ev));
        }
        // Pair with a `temporarily disabled` warning on the same connection.
        if let (Some(conn), Some(t)) = (e.conn, e.time) {
            if let Some(p) = self
                .pending
                .iter()
                .position(|&(_, c, dt)| c == conn && t.0 - dt <= 1)
            {
                let (i, _, _) = self.pending.swap_remove(p);
                if let Event::Disabled(d) = &mut self.events[i] {
                    d.cause = Some(cause);
                }
            }
            self.recent.push_back((conn, cause, t.0));
            if self.recent.len() > 32 {
                self.recent.pop_front();
            }
        }
    }

    fn disabled(&mut self, e: &ErrorEntry<'_>, uf: Option<UpstreamField<'_>>) {
        let peer = upstream_key(e, Kind::PeerDisabled, uf);
        match self.upstreams.get_mut(peer) {
            Some(u) => u.disabled += 1,
            None => self.upstreams.entry(peer.into()).or_default().disabled += 1,
        }
        let Some(t) = e.time else { return };
        // The failure that disabled the peer is logged just before (connect
        // errors) or just after (timeouts), on the same connection.
        let cause = e.conn.and_then(|conn| {
            self.recent
                .iter()
                .rev()
                .find(|(c, _, ft)| *c == conn && t.0 - ft <= 1)
                .map(|(_, cause, _)| *cause)
        });
        let ev = DisabledEv {
            warning: true,
            time: t.0,
            peer: self.put(peer),
            server: self.put(e.ctx.server.unwrap_or(b"")),
            scheme: self.put(uf.map_or(&b""[..], |u| u.scheme)),
            cause,
        };
        self.events.push(Event::Disabled(ev));
        if let (None, Some(conn)) = (cause, e.conn) {
            self.pending.push((self.events.len() - 1, conn, t.0));
            if self.pending.len() > 16 {
                self.pending.remove(0);
            }
        }
    }

    /// Add one counted upstream error.
    pub fn record(&mut self, f: &Failure<'_>) {
        let ci = f.cause as usize;
        self.upstream_errors += 1;
        let ca = &mut self.causes[ci];
        ca.count += 1;
        if f.direct {
            ca.direct += 1;
        } else {
            ca.via_no_live += 1;
        }
        bump_time(&mut ca.first, &mut ca.last, f.time);
        if better_sample(ca.sample.as_ref().map(|s| s.2), f.kind) {
            ca.sample = Some((f.raw.into(), f.time, f.kind));
        }
        ca.kinds[f.kind.index()] += 1;
        let st = status_index(f.status);
        ca.statuses[st] += 1;
        self.client_statuses[st] += 1;
        // Keys come from the log (a variable proxy_pass puts request data
        // there): past the cap, new ones share one row.
        let key = if self.upstreams.len() >= MAX_KEYS && !self.upstreams.contains_key(f.upstream) {
            OTHER
        } else {
            f.upstream
        };
        let up = match self.upstreams.get_mut(key) {
            Some(u) => u,
            None => self.upstreams.entry(key.into()).or_default(),
        };
        up.count += 1;
        up.by_cause[ci] += 1;
        up.group |= f.group;
        bump_time(&mut up.first, &mut up.last, f.time);
        up.sig(f.cause, f.kind, f.time, f.raw);
        if let Some(s) = f.server {
            let s = if self.servers.len() >= MAX_KEYS && !self.servers.contains_key(s) {
                OTHER
            } else {
                s
            };
            let row = match self.servers.get_mut(s) {
                Some(r) => r,
                None => self.servers.entry(s.into()).or_insert([0; NCAUSE]),
            };
            row[ci] += 1;
        }
        if let Some(l) = &f.location {
            let l = if self.locations.len() >= MAX_KEYS && !self.locations.contains_key(l) {
                "(other)"
            } else {
                l
            };
            self.locations.entry(l.to_owned()).or_insert([0; NCAUSE])[ci] += 1;
        }
        if let Some(t) = f.time {
            let b = self.timeline.at(t);
            b.causes[ci] += 1;
            b.errors += 1;
        }
    }

    /// Add a later chunk's counts (events and join matches are taken out
    /// first by the caller).
    pub fn merge(&mut self, o: ErrorAcc) {
        self.lines += o.lines;
        self.entries += o.entries;
        self.unparsed += o.unparsed;
        self.upstream_errors += o.upstream_errors;
        for (a, b) in self.by_level.iter_mut().zip(o.by_level) {
            *a += b;
        }
        for (a, b) in self.by_kind.iter_mut().zip(o.by_kind) {
            *a += b;
        }
        for (a, b) in self.causes.iter_mut().zip(o.causes) {
            a.count += b.count;
            a.direct += b.direct;
            a.via_no_live += b.via_no_live;
            bump_time(&mut a.first, &mut a.last, b.first);
            bump_time(&mut a.first, &mut a.last, b.last);
            if let Some(bs) = b.sample
                && better_sample(a.sample.as_ref().map(|s| s.2), bs.2)
            {
                a.sample = Some(bs);
            }
            for (x, y) in a.kinds.iter_mut().zip(b.kinds) {
                *x += y;
            }
            for (x, y) in a.statuses.iter_mut().zip(b.statuses) {
                *x += y;
            }
        }
        for (k, u) in o.upstreams {
            let k = capped(&self.upstreams, k);
            let a = self.upstreams.entry(k).or_default();
            a.count += u.count;
            a.disabled += u.disabled;
            a.group |= u.group;
            a.merge_sigs(u.sigs);
            for (x, y) in a.by_cause.iter_mut().zip(u.by_cause) {
                *x += y;
            }
            bump_time(&mut a.first, &mut a.last, u.first);
            bump_time(&mut a.first, &mut a.last, u.last);
        }
        for (k, row) in o.servers {
            let k = capped(&self.servers, k);
            let a = self.servers.entry(k).or_insert([0; NCAUSE]);
            for (x, y) in a.iter_mut().zip(row) {
                *x += y;
            }
        }
        for (k, row) in o.locations {
            let k = if self.locations.len() >= MAX_KEYS && !self.locations.contains_key(&k) {
                "(other)".to_owned()
            } else {
                k
            };
            let a = self.locations.entry(k).or_insert([0; NCAUSE]);
            for (x, y) in a.iter_mut().zip(row) {
                *x += y;
            }
        }
        for (a, b) in self.notable.iter_mut().zip(o.notable) {
            a.merge(b);
        }
        for (x, y) in self.client_statuses.iter_mut().zip(o.client_statuses) {
            *x += y;
        }
        for h in o.version_hints {
            if !self.version_hints.contains(&h) {
                self.version_hints.push(h);
            }
        }
        bump_time(&mut self.first, &mut self.last, o.first);
        bump_time(&mut self.first, &mut self.last, o.last);
        self.timeline.merge(o.timeline);
    }
}
