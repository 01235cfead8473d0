//! Sockets as nginx's worker sees them: TCP and unix listeners (with their
//! accept queues and owning processes), outgoing connections per
//! destination (ephemeral-port pressure), and the kernel's listen-queue
//! counters.
//!
//! The tables are read from `/proc/PID/net/` of the nginx master when there
//! is one (its network namespace, which may not be ours) and from
//! `/proc/net/` otherwise. Owners come from matching socket inodes against
//! every `/proc/PID/fd/*` link; without root only our own processes'
//! descriptors are readable, and the gap is reported.

pub mod diag;
pub mod stats;
pub mod tcp;
pub mod unix;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::ReadError;
use crate::reader::Root;
use crate::section::{Skip, SkipReason};

pub use stats::{ListenCounters, SockStat, parse_netstat, parse_sockstat};
pub use tcp::{TcpEntry, TcpState, parse_hex_addr, parse_tcp, parse_tcp_all};
pub use unix::{UnixEntry, UnixKind, parse_unix, parse_unix_all};

/// A process holding a socket open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketOwner {
    /// Process id.
    pub pid: u32,
    /// The descriptor number in that process.
    pub fd: u32,
    /// The process's `comm`.
    pub comm: String,
}

/// A listening TCP socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcpListener {
    /// The bound address (`0.0.0.0` / `::` for every interface).
    pub addr: SocketAddr,
    /// Connections waiting in the accept queue right now.
    pub accept_queue: u32,
    /// The accept queue's limit (the effective `listen()` backlog), from
    /// the kernel's socket diagnostics when available.
    pub backlog: Option<u32>,
    /// For `::` listeners: whether IPv4 connections are refused
    /// (`IPV6_V6ONLY`), from socket diagnostics when available.
    pub v6only: Option<bool>,
    /// Owner uid.
    pub uid: u32,
    /// Socket inode.
    pub inode: u64,
    /// Processes holding it (every nginx worker shares the master's).
    pub owners: Vec<SocketOwner>,
}

/// A listening unix stream socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnixListener {
    /// The bound path (`@name` for the abstract namespace).
    pub path: String,
    /// Socket type (nginx needs `stream`).
    pub kind: UnixKind,
    /// Connections waiting to be accepted, from socket diagnostics when
    /// available (`/proc/net/unix` does not show it).
    pub accept_queue: Option<u32>,
    /// The accept queue's limit, from socket diagnostics when available.
    pub backlog: Option<u32>,
    /// Socket inode.
    pub inode: u64,
    /// Processes holding it.
    pub owners: Vec<SocketOwner>,
}

/// Outgoing TCP connections to one destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DestinationCount {
    /// The remote address and port.
    pub remote: Option<SocketAddr>,
    /// Sockets in ESTABLISHED.
    pub established: u32,
    /// Sockets in TIME_WAIT (each still holds its local port).
    pub time_wait: u32,
    /// Sockets in SYN_SENT (connects in progress; many means the peer is
    /// slow to accept or silent).
    pub syn_sent: u32,
    /// Sockets in CLOSE_WAIT (peer closed, we have not).
    pub close_wait: u32,
    /// Sockets in any other state.
    pub other: u32,
}

impl DestinationCount {
    /// All sockets to this destination.
    pub fn total(&self) -> u32 {
        self.established + self.time_wait + self.syn_sent + self.close_wait + self.other
    }
}

/// Outgoing connections grouped by destination: sockets whose local port
/// is not a listening port. Local ports for one destination come from the
/// ephemeral range, which is what `99: Cannot assign requested address`
/// runs out of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outbound {
    /// Outgoing sockets in all.
    pub sockets: usize,
    /// Distinct destinations.
    pub destinations_total: usize,
    /// The busiest destinations (at most 50), most sockets first.
    pub destinations: Vec<DestinationCount>,
}

/// Sockets as seen from one network namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetFacts {
    /// The `net` directory the tables came from (`/proc/812/net`).
    pub source: PathBuf,
    /// TCP listeners, IPv4 then IPv6, by address.
    pub tcp: Vec<TcpListener>,
    /// Unix stream and seqpacket listeners with a name.
    pub unix: Vec<UnixListener>,
    /// Outgoing connections per destination.
    pub outbound: Outbound,
    /// Processes whose descriptors could not be read (owners of their
    /// sockets are unknown).
    pub unreadable_fd_pids: usize,
    /// What else could not be read (`tcp6` on a host without IPv6, socket
    /// diagnostics, …).
    pub gaps: Vec<Skip>,
}

/// How a listener relates to a wanted address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Acceptance {
    /// Bound to exactly that address and port.
    Exact,
    /// Bound to the wildcard of the same family on that port.
    Wildcard,
    /// An IPv6 wildcard on that port that accepts IPv4 too unless it is
    /// `IPV6_V6ONLY` (unknown without socket diagnostics).
    DualStack,
}

/// A listener that does not take connections to the wanted address but
/// looks like what was meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Nearness {
    /// Same port, other address of the same family (`127.0.0.1` wanted,
    /// `10.0.0.5` bound).
    OtherAddress,
    /// Same port, other family (`127.0.0.1` wanted, `[::1]` bound: the
    /// `localhost` trap).
    OtherFamily,
    /// Same reachable address, other port.
    OtherPort,
}

impl NetFacts {
    /// TCP listeners on `port`, any address.
    pub fn tcp_on_port(&self, port: u16) -> Vec<&TcpListener> {
        self.tcp.iter().filter(|l| l.addr.port() == port).collect()
    }

    /// Listeners that accept connections to `addr`, best match first. An
    /// empty result means a connect would be refused (nothing listens).
    pub fn tcp_accepting(&self, addr: SocketAddr) -> Vec<(&TcpListener, Acceptance)> {
        let mut out: Vec<(&TcpListener, Acceptance)> = self
            .tcp
            .iter()
            .filter(|l| l.addr.port() == addr.port())
            .filter_map(|l| acceptance(l, addr).map(|a| (l, a)))
            .collect();
        out.sort_by_key(|(l, a)| (*a, l.addr));
        out
    }

    /// Listeners that do not accept `addr` but are near it (other address,
    /// other family, other port on a reachable address), nearest first.
    /// Use it when [`NetFacts::tcp_accepting`] is empty: "nothing on
    /// 127.0.0.1:8000, but gunicorn listens on `[::1]:8000`".
    pub fn tcp_near(&self, addr: SocketAddr) -> Vec<(&TcpListener, Nearness)> {
        let mut out: Vec<(&TcpListener, Nearness)> = self
            .tcp
            .iter()
            .filter(|l| acceptance(l, addr).is_none())
            .filter_map(|l| {
                let same_family = l.addr.is_ipv4() == addr.is_ipv4();
                if l.addr.port() == addr.port() {
                    Some((
                        l,
                        if same_family {
                            Nearness::OtherAddress
                        } else {
                            Nearness::OtherFamily
                        },
                    ))
                } else {
                    let reachable = SocketAddr::new(addr.ip(), l.addr.port());
                    acceptance(l, reachable).map(|_| (l, Nearness::OtherPort))
                }
            })
            .collect();
        out.sort_by_key(|(l, n)| (*n, l.addr.port().abs_diff(addr.port()), l.addr));
        out
    }

    /// The unix listener bound at `path`, if any.
    pub fn unix_at(&self, path: &str) -> Option<&UnixListener> {
        self.unix.iter().find(|u| u.path == path)
    }

    /// Who holds the socket with this inode (TCP or unix).
    pub fn owners_of(&self, inode: u64) -> &[SocketOwner] {
        self.tcp
            .iter()
            .find(|l| l.inode == inode)
            .map(|l| l.owners.as_slice())
            .or_else(|| {
                self.unix
                    .iter()
                    .find(|u| u.inode == inode)
                    .map(|u| u.owners.as_slice())
            })
            .unwrap_or(&[])
    }

    /// Outgoing connection counts to `remote`.
    pub fn outbound_to(&self, remote: SocketAddr) -> Option<&DestinationCount> {
        self.outbound
            .destinations
            .iter()
            .find(|d| d.remote == Some(remote))
    }
}

fn acceptance(l: &TcpListener, addr: SocketAddr) -> Option<Acceptance> {
    if l.addr.port() != addr.port() {
        return None;
    }
    let want = canonical(addr.ip());
    let have = l.addr.ip();
    if have == want {
        return Some(Acceptance::Exact);
    }
    if have.is_unspecified() && have.is_ipv4() == want.is_ipv4() {
        return Some(Acceptance::Wildcard);
    }
    if have.is_unspecified() && have.is_ipv6() && want.is_ipv4() && l.v6only != Some(true) {
        return Some(Acceptance::DualStack);
    }
    None
}

/// `::ffff:a.b.c.d` as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Map socket inodes to the processes that hold them, by reading every
/// `/proc/PID/fd/*` link of `pids`. Returns the map and how many processes'
/// descriptors could not be read.
pub fn socket_owners(
    root: &Root,
    pids: &[(u32, String)],
    wanted: &HashSet<u64>,
) -> (HashMap<u64, Vec<SocketOwner>>, usize) {
    let mut map: HashMap<u64, Vec<SocketOwner>> = HashMap::new();
    let mut unreadable = 0;
    for (pid, comm) in pids {
        let dir = PathBuf::from(format!("/proc/{pid}/fd"));
        let Ok(fds) = root.read_dir_names(&dir) else {
            unreadable += 1;
            continue;
        };
        for fd in fds {
            let Some(fd_num) = fd.to_str().and_then(|f| f.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(target) = root.read_link(dir.join(&fd)) else {
                continue;
            };
            let Some(inode) = socket_inode(&target) else {
                continue;
            };
            if wanted.contains(&inode) {
                map.entry(inode).or_default().push(SocketOwner {
                    pid: *pid,
                    fd: fd_num,
                    comm: comm.clone(),
                });
            }
        }
    }
    (map, unreadable)
}

/// The inode of an fd link target `socket:[12345]`.
pub fn socket_inode(target: &Path) -> Option<u64> {
    target
        .to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Read the socket tables under `net_dir` (`/proc/net` or `/proc/PID/net`)
/// and map owners among `pids` (pid, comm). Fails only when neither `tcp`
/// nor `tcp6` can be read.
pub fn collect_net(
    root: &Root,
    net_dir: &Path,
    pids: &[(u32, String)],
) -> Result<NetFacts, ReadError> {
    let mut facts = NetFacts {
        source: net_dir.to_path_buf(),
        ..NetFacts::default()
    };
    // The tables are kept as text and walked twice (listeners first, since
    // whether a socket is outgoing depends on every listening port, IPv6
    // included), so a host with 10^5 connections never holds them all
    // decoded.
    let mut texts: Vec<(&str, String)> = Vec::new();
    let mut first_err = None;
    for name in ["tcp", "tcp6"] {
        match root.read_string(net_dir.join(name)) {
            Ok(text) => texts.push((name, text)),
            Err(e) => {
                facts.gaps.push(Skip::from_read_error(name, &e));
                first_err.get_or_insert(e);
            }
        }
    }
    if texts.is_empty()
        && let Some(e) = first_err
    {
        return Err(e);
    }
    let mut listeners: Vec<TcpEntry> = Vec::new();
    for (_, text) in &texts {
        for line in text.lines().filter(|l| tcp::state_field(l) == Some("0A")) {
            if let Some(Ok(e)) = parse_tcp(line).next() {
                listeners.push(e);
            }
        }
    }
    let unix: Vec<UnixEntry> = match root.read_string(net_dir.join("unix")) {
        Ok(text) => {
            let (ok, bad): (Vec<_>, Vec<_>) = parse_unix(&text).partition(Result::is_ok);
            if let Some(Err(e)) = bad.into_iter().next() {
                facts.gaps.push(Skip::new(
                    "unix",
                    SkipReason::Unparseable,
                    format!(
                        "lines skipped; first at line {}: expected {}",
                        e.line, e.expected
                    ),
                ));
            }
            ok.into_iter().filter_map(Result::ok).collect()
        }
        Err(e) => {
            facts.gaps.push(Skip::from_read_error("unix", &e));
            Vec::new()
        }
    };
    let listen_ports: HashSet<u16> = listeners.iter().map(|e| e.local.port()).collect();
    let mut wanted: HashSet<u64> = listeners.iter().map(|e| e.inode).collect();
    wanted.extend(
        unix.iter()
            .filter(|u| u.listening && u.path.is_some())
            .map(|u| u.inode),
    );
    let (mut owners, unreadable) = socket_owners(root, pids, &wanted);
    facts.unreadable_fd_pids = unreadable;
    if unreadable > 0 {
        facts.gaps.push(Skip::new(
            "socket owners",
            SkipReason::PermissionDenied,
            format!("descriptors of {unreadable} processes could not be read (run as root to see every owner)"),
        ));
    }
    for e in &listeners {
        facts.tcp.push(TcpListener {
            addr: e.local,
            accept_queue: e.rx_queue,
            backlog: None,
            v6only: None,
            uid: e.uid,
            inode: e.inode,
            owners: owners.remove(&e.inode).unwrap_or_default(),
        });
    }
    let mut by_dest: HashMap<SocketAddr, DestinationCount> = HashMap::new();
    for (name, text) in &texts {
        // One line this version does not understand (a state added by a
        // newer kernel) costs that line, not the table.
        let mut bad = 0usize;
        let mut first = None;
        for r in parse_tcp(text) {
            let e = match r {
                Ok(e) => e,
                Err(e) => {
                    bad += 1;
                    first.get_or_insert(e);
                    continue;
                }
            };
            if e.state == TcpState::Listen || listen_ports.contains(&e.local.port()) {
                continue;
            }
            let d = by_dest.entry(e.remote).or_insert_with(|| DestinationCount {
                remote: Some(e.remote),
                ..DestinationCount::default()
            });
            match e.state {
                TcpState::Established => d.established += 1,
                TcpState::TimeWait => d.time_wait += 1,
                TcpState::SynSent => d.syn_sent += 1,
                TcpState::CloseWait => d.close_wait += 1,
                _ => d.other += 1,
            }
            facts.outbound.sockets += 1;
        }
        if let Some(e) = first {
            facts.gaps.push(Skip::new(
                *name,
                SkipReason::Unparseable,
                format!(
                    "{bad} lines skipped; first: {}",
                    ReadError::parse(root.path(net_dir.join(name)), e)
                ),
            ));
        }
    }
    facts.tcp.sort_by_key(|l| (l.addr.is_ipv6(), l.addr));
    facts.outbound.destinations_total = by_dest.len();
    let mut dests: Vec<DestinationCount> = by_dest.into_values().collect();
    dests.sort_by_key(|d| (std::cmp::Reverse(d.total()), d.remote));
    dests.truncate(50);
    facts.outbound.destinations = dests;
    for u in unix {
        if !u.listening || matches!(u.kind, UnixKind::Dgram) {
            continue;
        }
        let Some(path) = u.path else { continue };
        facts.unix.push(UnixListener {
            path,
            kind: u.kind,
            accept_queue: None,
            backlog: None,
            inode: u.inode,
            owners: owners.remove(&u.inode).unwrap_or_default(),
        });
    }
    facts.unix.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_unknown_line_costs_the_line_not_the_table() {
        let d = tempfile::tempdir().unwrap();
        let net = d.path().join("proc/net");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(
            net.join("tcp"),
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
             \x20  0: 0100007F:1F40 00000000:0000 0A 00000000:00000002 00:00000000 00000000    33        0 18843 1 0 100 0 0 10 0\n\
             \x20  1: 0100007F:1F41 00000000:0000 0D 00000000:00000000 00:00000000 00000000    33        0 18844 1 0 100 0 0 10 0\n\
             \x20  2: 0100007F:9C40 0A00000A:1F90 06 00000000:00000000 03:00001000 00000000     0        0 0 3 0\n",
        )
        .unwrap();
        let root = Root::new(d.path());
        let f = collect_net(&root, Path::new("/proc/net"), &[]).unwrap();
        assert_eq!(f.tcp.len(), 1);
        assert_eq!(f.tcp[0].accept_queue, 2);
        assert!(
            f.gaps
                .iter()
                .any(|g| g.what == "tcp" && g.why == SkipReason::Unparseable)
        );
        assert!(
            f.gaps
                .iter()
                .any(|g| g.what == "tcp6" && g.why == SkipReason::NotPresent)
        );
        let dest: SocketAddr = "10.0.0.10:8080".parse().unwrap();
        assert_eq!(f.outbound_to(dest).unwrap().time_wait, 1);
        assert_eq!(f.outbound.sockets, 1);
        // Neither table readable: the family is skipped.
        let empty = tempfile::tempdir().unwrap();
        assert!(collect_net(&Root::new(empty.path()), Path::new("/proc/net"), &[]).is_err());
    }
}
