//! Facts about the host the configuration runs on, as plain data. The
//! rules never do I/O: the command line gathers these (file kinds now,
//! listeners from the host inspection crate) and passes them in. Every
//! field may be unknown, and a rule only claims what the facts show.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// What is at a filesystem path (following symlinks, as `connect()` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// Nothing (or a dangling symlink).
    Missing,
    /// A unix-domain socket.
    Socket,
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// Something else (fifo, device).
    Other,
    /// Could not be looked at (a directory on the way denies search).
    Unreadable,
}

/// Facts about this host. `Default` is "nothing known".
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// The kind of each path looked at (the unix socket paths the
    /// configuration names: see [`crate::socket_paths`]).
    pub paths: BTreeMap<PathBuf, PathKind>,
    /// Sockets found in the directories of those paths, by directory, to
    /// suggest the right one when a path is missing.
    pub nearby_sockets: BTreeMap<PathBuf, Vec<PathBuf>>,
    /// Listening TCP sockets (`None`: not gathered).
    pub tcp_listeners: Option<Vec<SocketAddr>>,
    /// Listening unix sockets (`None`: not gathered).
    pub unix_listeners: Option<Vec<PathBuf>>,
    /// nginx's open-file soft limit when `worker_rlimit_nofile` is not set
    /// (the running master's, or the service manager's), if known.
    pub nofile_limit: Option<u64>,
}

impl HostFacts {
    /// The kind of `path`, when it was looked at.
    pub fn kind(&self, path: &Path) -> Option<PathKind> {
        self.paths.get(path).copied()
    }

    /// Whether something listens on TCP `ip:port` (`None`: unknown). A
    /// wildcard listener (`0.0.0.0`, `[::]`) counts for its family; `[::]`
    /// also accepts IPv4 unless the socket is v6-only, which is the Linux
    /// default, so it counts for both.
    pub fn tcp_listening(&self, ip: IpAddr, port: u16) -> Option<bool> {
        let list = self.tcp_listeners.as_ref()?;
        Some(list.iter().any(|l| {
            l.port() == port
                && (l.ip() == ip
                    || (l.ip().is_unspecified() && (l.ip().is_ipv4() == ip.is_ipv4()))
                    || (l.ip() == IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED) && ip.is_ipv4()))
        }))
    }

    /// Whether a process listens on the unix socket `path` (`None`: unknown).
    pub fn unix_listening(&self, path: &Path) -> Option<bool> {
        Some(self.unix_listeners.as_ref()?.iter().any(|p| p == path))
    }

    /// Ports something listens on at a loopback or wildcard address.
    pub fn local_ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .tcp_listeners
            .iter()
            .flatten()
            .filter(|l| l.ip().is_loopback() || l.ip().is_unspecified())
            .map(SocketAddr::port)
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listeners_match_their_family() {
        let f = HostFacts {
            tcp_listeners: Some(vec![
                "0.0.0.0:80".parse().unwrap(),
                "127.0.0.1:9000".parse().unwrap(),
                "[::1]:3000".parse().unwrap(),
            ]),
            ..HostFacts::default()
        };
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(f.tcp_listening(v4, 80), Some(true));
        assert_eq!(f.tcp_listening(v6, 80), Some(false));
        assert_eq!(f.tcp_listening(v4, 9000), Some(true));
        assert_eq!(f.tcp_listening(v6, 9000), Some(false));
        assert_eq!(f.tcp_listening(v4, 3000), Some(false));
        assert_eq!(f.tcp_listening(v6, 3000), Some(true));
        assert_eq!(HostFacts::default().tcp_listening(v4, 80), None);
        assert_eq!(f.local_ports(), [80, 3000, 9000]);
    }
}
