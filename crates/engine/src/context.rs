//! Indexes over the evidence that the rules share: which upstream owns a
//! peer, the probe of an address, what listens on a port.

use std::net::IpAddr;

use crate::evidence::{Evidence, Listener, Peer, PhpPool, ProbeResult, Upstream, split_ip_port};

/// Read-only lookups over one [`Evidence`].
pub struct Ctx<'a> {
    /// The evidence.
    pub ev: &'a Evidence,
}

impl<'a> Ctx<'a> {
    /// Wrap the evidence.
    pub fn new(ev: &'a Evidence) -> Self {
        Ctx { ev }
    }

    /// The upstream (and peer) that `addr` belongs to; `addr` may also be a
    /// group name (from `no live upstreams`).
    pub fn upstream_of(&self, addr: &str) -> Option<(&'a Upstream, Option<&'a Peer>)> {
        for u in &self.ev.upstreams {
            if let Some(p) = u.peers.iter().find(|p| p.address == addr) {
                return Some((u, Some(p)));
            }
        }
        self.ev
            .upstreams
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(addr))
            .map(|u| (u, None))
    }

    /// The probe of `addr`, when one ran.
    pub fn probe(&self, addr: &str) -> Option<&'a ProbeResult> {
        self.ev.probes.iter().find(|p| p.address == addr)
    }

    /// Whether host facts were gathered (else listener-based rules abstain).
    pub fn host_inspected(&self) -> bool {
        self.ev.host.inspected
    }

    /// Listeners that would accept a connection to `ip:port`.
    pub fn listening_at(&self, ip: IpAddr, port: u16) -> Vec<&'a Listener> {
        self.ev
            .host
            .listeners
            .iter()
            .filter(|l| match split_ip_port(&l.address) {
                Some((lip, lport)) => lport == port && covers(lip, ip),
                None => false,
            })
            .collect()
    }

    /// TCP listeners on `port` at any address.
    pub fn listening_on_port(&self, port: u16) -> Vec<&'a Listener> {
        self.ev
            .host
            .listeners
            .iter()
            .filter(|l| split_ip_port(&l.address).is_some_and(|(_, p)| p == port))
            .collect()
    }

    /// TCP listeners reachable at `ip` (or a wildcard) on ports within
    /// `spread` of `port`, other than `port`, that are not nginx itself
    /// (by process name, or, when the owner cannot be seen, by a port the
    /// config listens on).
    pub fn listening_nearby(&self, ip: IpAddr, port: u16, spread: u16) -> Vec<&'a Listener> {
        self.ev
            .host
            .listeners
            .iter()
            .filter(|l| {
                let Some((lip, lport)) = split_ip_port(&l.address) else {
                    return false;
                };
                lport != port
                    && lport.abs_diff(port) <= spread
                    && covers(lip, ip)
                    && !self.is_nginx(l)
            })
            .collect()
    }

    /// Whether a listener is nginx's own.
    pub fn is_nginx(&self, l: &Listener) -> bool {
        match l.process.as_deref() {
            Some(p) => p.starts_with("nginx"),
            None => split_ip_port(&l.address)
                .is_some_and(|(_, port)| self.ev.nginx.listen_ports.contains(&port)),
        }
    }

    /// Whether a listening address (possibly a wildcard) is where some
    /// upstream of the config already connects.
    pub fn is_configured_peer(&self, listener: &str) -> bool {
        let Some((lip, lport)) = split_ip_port(listener) else {
            return false;
        };
        self.ev.upstreams.iter().any(|u| {
            u.peers.iter().any(|p| {
                p.ip_port()
                    .is_some_and(|(pip, pport)| pport == lport && covers(lip, pip))
            })
        })
    }

    /// The PHP-FPM pool whose `listen` is the backend address nginx names
    /// (`unix:/run/php/php8.2-fpm.sock`, `127.0.0.1:9000`): the same socket
    /// path, or the same port on an address the pool's `listen` covers (a
    /// bare port listens on every address).
    pub fn php_pool(&self, addr: &str) -> Option<&'a PhpPool> {
        if let Some(path) = addr.strip_prefix("unix:") {
            return self.php_pool_at(path);
        }
        let (ip, port) = split_ip_port(addr)?;
        self.ev
            .host
            .php_pools
            .iter()
            .find(|p| match p.listen.parse::<u16>() {
                Ok(bare) => bare == port,
                Err(_) => split_ip_port(&p.listen)
                    .is_some_and(|(lip, lport)| lport == port && covers(lip, ip)),
            })
    }

    /// The PHP-FPM pool listening on the unix socket `path`.
    pub fn php_pool_at(&self, path: &str) -> Option<&'a PhpPool> {
        self.ev.host.php_pools.iter().find(|p| p.listen == path)
    }

    /// The local PHP-FPM pool behind a TCP `addr` whose
    /// `listen.allowed_clients` leaves out the address nginx connects from,
    /// with that address. A connection to a local address comes from that
    /// same address, so the client PHP-FPM sees is the one nginx dials.
    /// `None` when the list holds anything that is not a plain IP (it is not
    /// then certain).
    pub fn php_pool_refusing(&self, addr: &str) -> Option<(&'a PhpPool, IpAddr)> {
        let pool = self.php_pool(addr)?;
        let allowed = pool.allowed_clients.as_ref()?;
        let (client, _) = split_ip_port(addr)?;
        let ips: Vec<IpAddr> = allowed
            .iter()
            .map(|a| a.trim().parse().ok())
            .collect::<Option<_>>()?;
        let mapped = |ip: &IpAddr| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(*ip, IpAddr::V4),
            IpAddr::V4(_) => *ip,
        };
        (!ips.is_empty() && !ips.iter().any(|ip| mapped(ip) == mapped(&client)))
            .then_some((pool, client))
    }

    /// For an address nginx logged that the config does not resolve to
    /// now: the peers written as a host name, on the same port, that the
    /// name resolves to today. nginx resolves such names once, at start-up
    /// or reload, so when the name's address changes (a container
    /// restarted) nginx keeps connecting to the old one. Only on the nginx
    /// host (a copied config's names resolve here to other things), and only
    /// while the config files are unchanged (else the config moved, not the
    /// name).
    pub fn moved_name(&self, addr: &str) -> Option<(&'a str, Vec<&'a Peer>)> {
        if !self.host_inspected()
            || self.upstream_of(addr).is_some()
            || self
                .ev
                .host
                .stale
                .as_ref()
                .is_some_and(|s| !s.newer_files.is_empty())
        {
            return None;
        }
        let (_, port) = split_ip_port(addr)?;
        let mut found: Option<(&'a str, Vec<&'a Peer>)> = None;
        for p in self.ev.upstreams.iter().flat_map(|u| &u.peers) {
            let Some(name) = p.hostname.as_deref() else {
                continue;
            };
            if p.ip_port().is_none_or(|(_, pp)| pp != port) {
                continue;
            }
            match &mut found {
                None => found = Some((name, vec![p])),
                Some((n, peers)) if *n == name => peers.push(p),
                // two names on that port: which one moved is not certain
                Some(_) => return None,
            }
        }
        found
    }

    /// Whether a unix socket at `path` has a listener.
    pub fn unix_listening(&self, path: &str) -> bool {
        self.ev
            .host
            .listeners
            .iter()
            .any(|l| l.address.strip_prefix("unix:") == Some(path))
    }
}

/// Whether a socket bound to `bound` accepts connections to `dest`.
/// A wildcard accepts every address of its family; `[::]` also accepts
/// IPv4 on Linux's default dual-stack setting.
pub fn covers(bound: IpAddr, dest: IpAddr) -> bool {
    if bound == dest {
        return true;
    }
    match bound {
        IpAddr::V4(b) => b.is_unspecified() && dest.is_ipv4(),
        IpAddr::V6(b) => b.is_unspecified(),
    }
}
