//! Attribution of `no live upstreams` to a root cause.
//!
//! `no live upstreams` is a symptom: every server of the group had been
//! taken out, usually by failures that reached `max_fails` within
//! `fail_timeout` (10 s by default). nginx logs `upstream server temporarily
//! disabled` beside the failure that disabled a peer, on the same
//! connection; the scanner pairs them. A `no live upstreams` entry is then
//! attributed to the cause of the disabling failures seen in the window
//! before it, for peers of the same group. When the caller gives the groups
//! (from the config), every failure of a member in the window is evidence
//! (the warnings are not logged at the default `error` level). Otherwise
//! only peers disabled on the same `server` with the same scheme are, which
//! needs `error_log … warn`. With no such evidence it stays `unknown` (which
//! may be `servers-marked-down`; only the config can tell).

use std::collections::VecDeque;

use badgateway_cause::Cause;

use crate::hash::{FxMap, hash_parts};
use crate::scan::timeline::NCAUSE;

/// A disabled peer (or, with known groups, a failed one) kept in the window.
#[derive(Debug, Clone)]
pub(crate) struct Recent {
    /// From a `temporarily disabled` warning (else a plain failure).
    pub warning: bool,
    pub time: i64,
    pub peer: Box<[u8]>,
    /// Hash of server name and scheme (compared, never shown).
    pub vhost: u64,
    pub cause: Cause,
}

/// What attribution needs to know about a `no live upstreams` entry.
pub(crate) struct NoLive<'a> {
    pub time: Option<i64>,
    pub group: &'a [u8],
    pub vhost: u64,
}

/// The key under which failures and `no live upstreams` of one vhost and
/// scheme meet.
pub(crate) fn vhost(server: &[u8], scheme: &[u8]) -> u64 {
    hash_parts(&[server, scheme])
}

const MAX_RECENT: usize = 4096;

/// peer → names of the groups it belongs to.
type PeerGroups = FxMap<Box<[u8]>, Vec<Box<[u8]>>>;

/// The ordered attribution state.
pub(crate) struct Attributor {
    window: i64,
    /// peer → groups it belongs to (from the caller).
    groups: Option<PeerGroups>,
    recent: VecDeque<Recent>,
}

impl Attributor {
    pub fn new(window_secs: u32, groups: &[(String, Vec<String>)]) -> Attributor {
        let groups = (!groups.is_empty()).then(|| {
            let mut m: FxMap<Box<[u8]>, Vec<Box<[u8]>>> = FxMap::default();
            for (g, peers) in groups {
                for p in peers {
                    m.entry(p.as_bytes().into())
                        .or_default()
                        .push(g.as_bytes().into());
                }
            }
            m
        });
        Attributor {
            window: i64::from(window_secs),
            groups,
            recent: VecDeque::new(),
        }
    }

    /// Are peer groups known (so plain failures count as evidence)?
    pub fn groups_known(&self) -> bool {
        self.groups.is_some()
    }

    /// A peer was disabled (with the cause of the failure that did it), or
    /// failed.
    pub fn disabled(&mut self, d: Recent) {
        while self
            .recent
            .front()
            .is_some_and(|f| f.time < d.time - self.window - 1)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= MAX_RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(d);
    }

    fn same_group(&self, d: &Recent, n: &NoLive<'_>) -> bool {
        match &self.groups {
            Some(g) => g
                .get(&d.peer)
                .is_some_and(|gs| gs.iter().any(|x| **x == *n.group)),
            None => d.warning && d.vhost == n.vhost,
        }
    }

    /// The cause of a `no live upstreams` entry, and the peers whose
    /// failures decided it.
    pub fn attribute(&self, n: &NoLive<'_>) -> (Cause, Vec<Box<[u8]>>) {
        let Some(t) = n.time else {
            return (Cause::Unknown, Vec::new());
        };
        let mut counts = [0u32; NCAUSE];
        let mut latest = [i64::MIN; NCAUSE];
        let mut peers: Vec<Box<[u8]>> = Vec::new();
        for d in self.recent.iter().rev() {
            if d.time > t {
                continue;
            }
            if d.time < t - self.window - 1 {
                break;
            }
            if !self.same_group(d, n) {
                continue;
            }
            let c = d.cause;
            counts[c as usize] += 1;
            latest[c as usize] = latest[c as usize].max(d.time);
            if !peers.contains(&d.peer) && peers.len() < 16 {
                peers.push(d.peer.clone());
            }
        }
        let best = (0..NCAUSE)
            .filter(|&i| counts[i] > 0)
            .max_by_key(|&i| (counts[i], latest[i]));
        match best {
            Some(i) => (Cause::ALL[i], peers),
            None => (Cause::Unknown, Vec::new()),
        }
    }
}
