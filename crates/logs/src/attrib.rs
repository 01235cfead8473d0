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

/// A peer of the config: its index in [`Groups::peers`] and the groups it
/// belongs to.
type Member = (u32, Box<[usize]>);

/// The groups known from the config, each with its own window of member
/// failures, so attributing a `no live upstreams` only looks at the
/// failures of its group.
struct Groups {
    /// group name → index in `windows`.
    ids: FxMap<Box<[u8]>, usize>,
    /// peer → (its index in `peers`, the groups it belongs to).
    of_peer: FxMap<Box<[u8]>, Member>,
    /// The peers, by index.
    peers: Vec<Box<[u8]>>,
    /// Per group: (time, cause, peer index) of recent member failures.
    windows: Vec<VecDeque<(i64, Cause, u32)>>,
}

/// The ordered attribution state.
pub(crate) struct Attributor {
    window: i64,
    /// The caller's groups, when given.
    groups: Option<Groups>,
    /// Without groups: the disabled peers in the window.
    recent: VecDeque<Recent>,
}

/// Drop the entries that fell out of the window before `time`, and make
/// room for one more.
fn prune<T>(q: &mut VecDeque<T>, time: i64, window: i64, at: impl Fn(&T) -> i64) {
    while q.front().is_some_and(|f| at(f) < time - window - 1) {
        q.pop_front();
    }
    if q.len() >= MAX_RECENT {
        q.pop_front();
    }
}

impl Attributor {
    pub fn new(window_secs: u32, groups: &[(String, Vec<String>)]) -> Attributor {
        let groups = (!groups.is_empty()).then(|| {
            let mut ids: FxMap<Box<[u8]>, usize> = FxMap::default();
            let mut of_peer: FxMap<Box<[u8]>, (u32, Vec<usize>)> = FxMap::default();
            let mut peers: Vec<Box<[u8]>> = Vec::new();
            for (g, members) in groups {
                let next = ids.len();
                let id = *ids.entry(g.as_bytes().into()).or_insert(next);
                for p in members {
                    let n = u32::try_from(peers.len()).unwrap_or(u32::MAX);
                    let (_, of) = of_peer.entry(p.as_bytes().into()).or_insert_with(|| {
                        peers.push(p.as_bytes().into());
                        (n, Vec::new())
                    });
                    if !of.contains(&id) {
                        of.push(id);
                    }
                }
            }
            Groups {
                windows: (0..ids.len()).map(|_| VecDeque::new()).collect(),
                ids,
                of_peer: of_peer
                    .into_iter()
                    .map(|(p, (n, g))| (p, (n, g.into_boxed_slice())))
                    .collect(),
                peers,
            }
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
        let window = self.window;
        match &mut self.groups {
            Some(g) => {
                let Some((peer, of)) = g.of_peer.get(&d.peer) else {
                    return; // in no group: never evidence
                };
                for &id in of.iter() {
                    let q = &mut g.windows[id];
                    prune(q, d.time, window, |e| e.0);
                    q.push_back((d.time, d.cause, *peer));
                }
            }
            None => {
                prune(&mut self.recent, d.time, window, |r| r.time);
                self.recent.push_back(d);
            }
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
        let mut count = |time: i64, c: Cause, peer: &[u8]| {
            counts[c as usize] += 1;
            latest[c as usize] = latest[c as usize].max(time);
            if peers.len() < 16 && !peers.iter().any(|p| **p == *peer) {
                peers.push(peer.into());
            }
        };
        let in_window = |time: i64| time <= t && time >= t - self.window - 1;
        match &self.groups {
            Some(g) => {
                // a group the config does not name has no member failures
                if let Some(&id) = g.ids.get(n.group) {
                    for &(time, c, peer) in g.windows[id].iter().rev() {
                        if time < t - self.window - 1 {
                            break;
                        }
                        if in_window(time) {
                            count(time, c, &g.peers[peer as usize]);
                        }
                    }
                }
            }
            None => {
                for d in self.recent.iter().rev() {
                    if d.time < t - self.window - 1 {
                        break;
                    }
                    if in_window(d.time) && d.warning && d.vhost == n.vhost {
                        count(d.time, d.cause, &d.peer);
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(time: i64, peer: &str, cause: Cause) -> Recent {
        Recent {
            warning: false,
            time,
            peer: peer.as_bytes().into(),
            vhost: 0,
            cause,
        }
    }

    fn no_live(time: i64, group: &str) -> NoLive<'_> {
        NoLive {
            time: Some(time),
            group: group.as_bytes(),
            vhost: 0,
        }
    }

    #[test]
    fn known_groups_count_only_their_members_failures_in_the_window() {
        let groups = vec![
            (
                "a".to_owned(),
                vec!["10.0.0.1:80".to_owned(), "10.0.0.2:80".to_owned()],
            ),
            (
                "b".to_owned(),
                vec!["10.0.0.2:80".to_owned(), "10.0.0.3:80".to_owned()],
            ),
        ];
        let mut at = Attributor::new(10, &groups);
        at.disabled(failure(100, "10.0.0.1:80", Cause::UpstreamDown));
        at.disabled(failure(101, "10.0.0.3:80", Cause::ConnectTimeout));
        at.disabled(failure(102, "10.0.0.3:80", Cause::ConnectTimeout));
        at.disabled(failure(103, "10.0.0.2:80", Cause::UpstreamDown));
        at.disabled(failure(103, "192.0.2.9:80", Cause::BackendCrash)); // in no group
        let (cause, peers) = at.attribute(&no_live(104, "a"));
        assert_eq!(cause, Cause::UpstreamDown);
        assert_eq!(peers.len(), 2);
        // b: two timeouts of .3 beat one refusal of the shared .2
        assert_eq!(at.attribute(&no_live(104, "b")).0, Cause::ConnectTimeout);
        // out of the window (10 s + 1), and groups the config does not name
        assert_eq!(at.attribute(&no_live(200, "a")).0, Cause::Unknown);
        assert_eq!(at.attribute(&no_live(104, "c")).0, Cause::Unknown);
        // later entries do not count for an earlier `no live upstreams`
        assert_eq!(at.attribute(&no_live(100, "b")).0, Cause::Unknown);
    }

    #[test]
    fn without_groups_only_warnings_of_the_same_vhost_count() {
        let mut at = Attributor::new(10, &[]);
        at.disabled(failure(100, "10.0.0.1:80", Cause::UpstreamDown));
        assert_eq!(at.attribute(&no_live(101, "a")).0, Cause::Unknown);
        at.disabled(Recent {
            warning: true,
            ..failure(100, "10.0.0.1:80", Cause::UpstreamDown)
        });
        assert_eq!(at.attribute(&no_live(101, "a")).0, Cause::UpstreamDown);
    }
}
