//! Kernel counters: `/proc/net/netstat` (listen-queue overflows and drops,
//! SYN cookies) and `/proc/net/sockstat` (sockets in use, TIME_WAIT).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::ParseError;

/// Every counter of a `/proc/net/netstat` or `/proc/net/snmp` text:
/// section (`TcpExt`) → counter (`ListenOverflows`) → value.
pub type Counters = BTreeMap<String, BTreeMap<String, i64>>;

/// Parse the header/values line pairs of `/proc/net/netstat` or
/// `/proc/net/snmp`.
pub fn parse_netstat(text: &str) -> Result<Counters, ParseError> {
    let mut out = Counters::new();
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    while let Some((i, names)) = lines.next() {
        let (section, names) = names
            .split_once(':')
            .ok_or_else(|| ParseError::new(i + 1, "`Section: Name Name …`", names))?;
        let Some((j, values)) = lines.next() else {
            return Err(ParseError::new(i + 2, "a values line", ""));
        };
        let (vsection, values) = values
            .split_once(':')
            .ok_or_else(|| ParseError::new(j + 1, "`Section: 1 2 …`", values))?;
        if vsection != section {
            return Err(ParseError::new(
                j + 1,
                "values for the section above",
                values,
            ));
        }
        let names: Vec<&str> = names.split_ascii_whitespace().collect();
        let values: Vec<i64> = values
            .split_ascii_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| ParseError::new(j + 1, "numeric counters", values))?;
        if names.len() != values.len() {
            return Err(ParseError::new(j + 1, "one value per name", vsection));
        }
        let map = out.entry(section.to_string()).or_default();
        for (n, v) in names.into_iter().zip(values) {
            map.insert(n.to_string(), v);
        }
    }
    Ok(out)
}

/// The listen-queue counters that explain refused or dropped connects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ListenCounters {
    /// `TcpExt: ListenOverflows`: SYN or final ACK arrived with the accept
    /// queue full (since boot).
    pub listen_overflows: Option<i64>,
    /// `TcpExt: ListenDrops`: connection requests dropped at a listener
    /// for any reason (includes overflows).
    pub listen_drops: Option<i64>,
    /// `TcpExt: SyncookiesSent`: SYN queue full, cookies used.
    pub syncookies_sent: Option<i64>,
    /// `TcpExt: TCPReqQFullDrop`: SYN dropped because the SYN queue was full
    /// and cookies were off.
    pub req_queue_full_drops: Option<i64>,
    /// `TcpExt: TCPBacklogDrop`: packets dropped because a socket's backlog
    /// was full.
    pub backlog_drops: Option<i64>,
}

impl ListenCounters {
    /// Pick the listen counters out of parsed `/proc/net/netstat`.
    pub fn from_counters(c: &Counters) -> Self {
        let get = |n: &str| c.get("TcpExt").and_then(|m| m.get(n)).copied();
        ListenCounters {
            listen_overflows: get("ListenOverflows"),
            listen_drops: get("ListenDrops"),
            syncookies_sent: get("SyncookiesSent"),
            req_queue_full_drops: get("TCPReqQFullDrop"),
            backlog_drops: get("TCPBacklogDrop"),
        }
    }
}

/// `/proc/net/sockstat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SockStat {
    /// `sockets: used`.
    pub sockets_used: Option<u64>,
    /// `TCP: inuse` (TCP sockets that are not TIME_WAIT).
    pub tcp_inuse: Option<u64>,
    /// `TCP: orphan`.
    pub tcp_orphan: Option<u64>,
    /// `TCP: tw`: sockets in TIME_WAIT (each holds a local port for an
    /// outgoing connection).
    pub tcp_time_wait: Option<u64>,
    /// `TCP: alloc`.
    pub tcp_alloc: Option<u64>,
    /// `TCP: mem` in pages.
    pub tcp_mem_pages: Option<u64>,
}

/// Parse `/proc/net/sockstat` (`PROTO: key value key value …` lines).
pub fn parse_sockstat(text: &str) -> Result<SockStat, ParseError> {
    let mut s = SockStat::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (proto, rest) = line
            .split_once(':')
            .ok_or_else(|| ParseError::new(i + 1, "`PROTO: key value …`", line))?;
        let words: Vec<&str> = rest.split_ascii_whitespace().collect();
        if !words.len().is_multiple_of(2) {
            return Err(ParseError::new(i + 1, "key/value pairs", line));
        }
        for kv in words.chunks_exact(2) {
            let v: u64 = kv[1]
                .parse()
                .map_err(|_| ParseError::new(i + 1, "a numeric value", line))?;
            let slot = match (proto, kv[0]) {
                ("sockets", "used") => &mut s.sockets_used,
                ("TCP", "inuse") => &mut s.tcp_inuse,
                ("TCP", "orphan") => &mut s.tcp_orphan,
                ("TCP", "tw") => &mut s.tcp_time_wait,
                ("TCP", "alloc") => &mut s.tcp_alloc,
                ("TCP", "mem") => &mut s.tcp_mem_pages,
                _ => continue,
            };
            *slot = Some(v);
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netstat_pairs() {
        let t = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 1 7 9\n\
                 IpExt: InNoRoutes\nIpExt: 0\n";
        let c = parse_netstat(t).unwrap();
        let l = ListenCounters::from_counters(&c);
        assert_eq!(l.listen_overflows, Some(7));
        assert_eq!(l.listen_drops, Some(9));
        assert_eq!(l.syncookies_sent, Some(1));
        assert_eq!(l.backlog_drops, None);
        assert_eq!(c["IpExt"]["InNoRoutes"], 0);
        assert_eq!(
            parse_netstat("TcpExt: A B\nTcpExt: 1\n").unwrap_err().line,
            2
        );
        assert_eq!(parse_netstat("TcpExt: A\nIpExt: 1\n").unwrap_err().line, 2);
        assert!(parse_netstat("TcpExt: A\n").is_err());
    }

    #[test]
    fn sockstat_lines() {
        let t = "sockets: used 12\nTCP: inuse 1 orphan 0 tw 40 alloc 1 mem 0\nUDP: inuse 0 mem 0\n";
        let s = parse_sockstat(t).unwrap();
        assert_eq!(s.sockets_used, Some(12));
        assert_eq!(s.tcp_time_wait, Some(40));
        assert!(parse_sockstat("TCP: inuse\n").is_err());
        assert!(parse_sockstat("garbage\n").is_err());
    }
}
