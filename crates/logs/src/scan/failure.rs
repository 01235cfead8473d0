//! What the error-log scanner records: per-cause and per-upstream
//! accumulators, a counted failure ready to be added up, and the small
//! ordered events (disabled peers, `no live upstreams`) resolved at merge.

use badgateway_cause::Cause;

use super::timeline::NCAUSE;
use crate::LocalTime;
use crate::catalog::{ClientStatus, Kind};

/// Catalogue kinds (for per-cause kind counts).
const NKIND: usize = Kind::ALL.len();

#[derive(Debug, Clone)]
pub(crate) struct CauseAcc {
    pub count: u64,
    pub direct: u64,
    pub via_no_live: u64,
    pub first: Option<LocalTime>,
    pub last: Option<LocalTime>,
    pub sample: Option<(Box<[u8]>, Option<LocalTime>, Kind)>,
    pub kinds: Vec<u64>,
    pub statuses: [u64; super::error::STATUS_LABELS.len()],
}

impl Default for CauseAcc {
    fn default() -> Self {
        CauseAcc {
            count: 0,
            direct: 0,
            via_no_live: 0,
            first: None,
            last: None,
            sample: None,
            kinds: vec![0; NKIND],
            statuses: [0; super::error::STATUS_LABELS.len()],
        }
    }
}

/// Distinct (cause, kind) pairs kept per upstream, each with a sample.
pub(crate) const MAX_SIGS: usize = 8;

/// Errors of one cause and message kind against one upstream.
#[derive(Debug, Clone)]
pub(crate) struct SigAcc {
    pub cause: Cause,
    pub kind: Kind,
    pub count: u64,
    pub first: Option<LocalTime>,
    pub last: Option<LocalTime>,
    pub sample: Box<[u8]>,
}

#[derive(Debug, Clone)]
pub(crate) struct UpAcc {
    pub count: u64,
    /// Per (cause, kind), first seen first (at most [`MAX_SIGS`]).
    pub sigs: Vec<SigAcc>,
    pub by_cause: [u32; NCAUSE],
    pub disabled: u64,
    pub group: bool,
    pub first: Option<LocalTime>,
    pub last: Option<LocalTime>,
}

impl Default for UpAcc {
    fn default() -> Self {
        UpAcc {
            count: 0,
            sigs: Vec::new(),
            by_cause: [0; NCAUSE],
            disabled: 0,
            group: false,
            first: None,
            last: None,
        }
    }
}

impl UpAcc {
    /// Count one error of `cause`/`kind` (its raw line kept if it is the first).
    pub fn sig(&mut self, cause: Cause, kind: Kind, time: Option<LocalTime>, raw: &[u8]) {
        if let Some(s) = self
            .sigs
            .iter_mut()
            .find(|s| s.cause == cause && s.kind == kind)
        {
            s.count += 1;
            crate::scan::bump_time(&mut s.first, &mut s.last, time);
        } else if self.sigs.len() < MAX_SIGS {
            self.sigs.push(SigAcc {
                cause,
                kind,
                count: 1,
                first: time,
                last: time,
                sample: raw.into(),
            });
        }
    }

    /// Add a later chunk's pairs.
    pub fn merge_sigs(&mut self, o: Vec<SigAcc>) {
        for b in o {
            if let Some(a) = self
                .sigs
                .iter_mut()
                .find(|s| s.cause == b.cause && s.kind == b.kind)
            {
                a.count += b.count;
                crate::scan::bump_time(&mut a.first, &mut a.last, b.first);
                crate::scan::bump_time(&mut a.first, &mut a.last, b.last);
            } else if self.sigs.len() < MAX_SIGS {
                self.sigs.push(b);
            }
        }
    }
}

/// Bytes kept for an event: a range of the chunk's arena (one buffer per
/// chunk instead of an allocation per field).
pub(crate) type Span = (u32, u32);

/// `upstream server temporarily disabled`, paired with the failure that
/// caused it (same `*N`, adjacent) when seen.
#[derive(Debug, Clone)]
pub(crate) struct DisabledEv {
    /// A `temporarily disabled` warning (else a plain failure).
    pub warning: bool,
    pub time: i64,
    pub peer: Span,
    pub server: Span,
    pub scheme: Span,
    pub cause: Option<Cause>,
}

/// One `no live upstreams` entry, counted once attributed.
#[derive(Debug, Clone)]
pub(crate) struct NoLiveEv {
    pub time: Option<LocalTime>,
    pub group: Span,
    pub server: Span,
    pub scheme: Span,
    pub location: Option<String>,
    pub raw: Span,
    pub join_key: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) enum Event {
    Disabled(DisabledEv),
    NoLive(NoLiveEv),
}

/// A counted upstream error, ready to be added up.
pub(crate) struct Failure<'a> {
    pub time: Option<LocalTime>,
    pub cause: Cause,
    pub kind: Kind,
    pub status: ClientStatus,
    pub upstream: &'a [u8],
    pub group: bool,
    pub server: Option<&'a [u8]>,
    pub location: Option<String>,
    pub raw: &'a [u8],
    pub direct: bool,
}
