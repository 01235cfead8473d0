//! Linking access-log 5xx lines to the error-log entries that caused them.
//!
//! nginx's error log has no request id, so the join uses what both logs
//! carry: the client address and the request line (hashed together), the
//! time (the error happens between the request's start and its access-log
//! time) and the upstream address of the attempt. The index holds the
//! access-log 5xx (bounded by a cap); the error-log scan probes it
//! read-only from every worker, and the matches are applied in order.

use badgateway_cause::Cause;

use crate::access::{AccessRecord, Var, upstream::Attempt};
use crate::hash::{FxMap, hash_parts};
use crate::text::unescape;

/// At most this many access-log 5xx are indexed.
pub(crate) const MAX_RECORDS: usize = 500_000;
/// Attempts per request whose cause is remembered.
pub(crate) const MAX_ATTEMPTS: usize = 4;
/// Without `$request_time`, an error may precede its access line by this much.
const DEFAULT_SPAN: i64 = 900;

#[derive(Debug, Clone)]
pub(crate) struct JoinRec {
    /// Access-log time (request end).
    pub time: i64,
    /// Earliest error time that can belong to the request.
    pub start: i64,
    pub status: u16,
    /// (address hash, attempt status) per attempt.
    pub attempts: Box<[(u64, Option<u16>)]>,
    /// The backend itself answered with this status.
    pub backend_answered: bool,
    pub cache_hit: bool,
    /// The request succeeded after a failed attempt at the same address:
    /// the failure was on a stale keepalive connection.
    pub same_peer_recovered: bool,
    /// The access line, kept for the first records only (samples).
    pub line: Option<Box<[u8]>>,
    /// The format logs `$upstream_addr`; without it (e.g. `combined`) the
    /// request may belong to an error at any peer.
    pub peers_logged: bool,
}

/// The index of access-log 5xx.
#[derive(Debug, Default)]
pub(crate) struct JoinIndex {
    pub recs: Vec<JoinRec>,
    by_key: FxMap<u64, Vec<u32>>,
    pub capped: bool,
}

/// Candidates per probe: identical requests (same client, same request
/// line, close in time) are matched in order, each error taking the
/// nearest request not yet explained.
pub(crate) const MAX_CANDIDATES: usize = 8;

/// The requests an error entry may belong to, best first.
#[derive(Debug, Clone)]
pub(crate) struct JoinMatch {
    pub cands: Vec<(u32, u8)>,
    pub cause: Cause,
}

/// The join key of a request: client address + raw request line.
pub(crate) fn key(client: &[u8], request: &[u8]) -> u64 {
    hash_parts(&[client, request])
}

pub(crate) fn addr_hash(a: &[u8]) -> u64 {
    hash_parts(&[a])
}

/// The index entry for an access-log 5xx (built in the parallel scan), with
/// its key. `None` when the format lacks `$remote_addr` or `$request`.
pub(crate) fn make_rec(
    rec: &AccessRecord<'_>,
    status: u16,
    attempts: &[Attempt<'_>],
    t: i64,
    keep_line: bool,
) -> Option<(u64, JoinRec)> {
    let (client, request) = (rec.get(Var::RemoteAddr)?, rec.get(Var::Request)?);
    let k = key(client, &unescape(request));
    let span = rec
        .request_time()
        .map_or(DEFAULT_SPAN, |s| s.ceil() as i64 + 2);
    let backend_answered = attempts
        .last()
        .is_some_and(|a| a.status == Some(status) && a.answered == Some(true));
    let cache_hit = rec
        .value(Var::UpstreamCacheStatus)
        .is_some_and(|c| c == b"HIT");
    let same_peer_recovered = status < 500
        && attempts.last().is_some_and(|ok| {
            attempts[..attempts.len() - 1]
                .iter()
                .any(|a| a.status.is_some_and(|s| s >= 500) && a.addr == ok.addr)
        });
    Some((
        k,
        JoinRec {
            time: t,
            start: t - span,
            status,
            attempts: attempts
                .iter()
                .map(|a| (addr_hash(a.addr), a.status))
                .collect(),
            backend_answered,
            cache_hit,
            same_peer_recovered,
            line: keep_line.then(|| rec.line.into()),
            peers_logged: rec.get(Var::UpstreamAddr).is_some(),
        },
    ))
}

impl JoinIndex {
    /// Add an entry (in time order); false when the cap is reached.
    pub fn push(&mut self, k: u64, mut r: JoinRec) -> bool {
        if self.recs.len() >= MAX_RECORDS {
            self.capped = true;
            return false;
        }
        if self.recs.len() >= 256 {
            r.line = None;
        }
        let idx = u32::try_from(self.recs.len()).unwrap_or(u32::MAX);
        self.recs.push(r);
        self.by_key.entry(k).or_default().push(idx);
        true
    }

    /// Does any of these requests show the keepalive-race signature?
    pub fn same_peer_recovered(&self, cands: &[(u32, u8)]) -> bool {
        cands.iter().any(|(i, _)| {
            self.recs
                .get(*i as usize)
                .is_some_and(|r| r.same_peer_recovered)
        })
    }

    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// The access records an error entry may belong to: same key, error
    /// time in the request's span, an attempt at the same address (or, for
    /// errors naming no peer, a request that reached no upstream; any
    /// request when the format does not log `$upstream_addr`). Closest
    /// request end first.
    pub fn probe(&self, k: u64, te: i64, peer: Option<u64>) -> Vec<(u32, u8)> {
        let Some(cands) = self.by_key.get(&k) else {
            return Vec::new();
        };
        let mut found: Vec<(i64, u32, u8)> = Vec::new();
        let empty = addr_hash(b"");
        for &i in cands {
            let r = &self.recs[i as usize];
            if te < r.start - 1 || te > r.time + 1 {
                continue;
            }
            let slot = match peer {
                Some(_) if !r.peers_logged => Some(0),
                // an attempt that failed before connecting (`socket()`,
                // `worker_connections`, `bind()`: 500) logs an empty address
                Some(p) => r
                    .attempts
                    .iter()
                    .take(MAX_ATTEMPTS)
                    .position(|(a, s)| (*a == p || *a == empty) && s.is_none_or(|s| s >= 500)),
                None => Some(0),
            };
            let Some(slot) = slot else { continue };
            found.push(((r.time - te).abs(), i, slot as u8));
        }
        found.sort_unstable();
        found.truncate(MAX_CANDIDATES);
        found.into_iter().map(|(_, i, s)| (i, s)).collect()
    }
}
