//! The kernel's socket diagnostics (`NETLINK_SOCK_DIAG`, what `ss` uses)
//! for the two facts `/proc/net/*` lacks: the backlog limit of TCP
//! listeners and `IPV6_V6ONLY`, and both accept-queue numbers of unix
//! listeners. The reply parser is a pure function over the bytes; the
//! query is a read-only dump request on a netlink socket, in the caller's
//! network namespace (results are matched to listeners by inode, so
//! sockets of another namespace simply get no numbers).

use std::collections::HashMap;
use std::io::Read;
use std::time::Duration;

use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};

use crate::error::ParseError;

const NETLINK_SOCK_DIAG: i32 = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const TCP_LISTEN: u32 = 10;
const INET_DIAG_SKV6ONLY: u16 = 11;
const UNIX_DIAG_RQLEN: u16 = 4;
const UDIAG_SHOW_RQLEN: u32 = 0x10;
const INET_DIAG_MSG_LEN: usize = 72;
const UNIX_DIAG_MSG_LEN: usize = 16;

/// Queue numbers of one listening socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ListenDiag {
    /// Socket inode.
    pub inode: u64,
    /// Connections waiting to be accepted.
    pub queued: u32,
    /// The accept queue's limit.
    pub backlog: u32,
    /// `IPV6_V6ONLY` (IPv6 TCP sockets only).
    pub v6only: Option<bool>,
}

/// Which family a reply is for (the message layouts differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagFamily {
    /// `inet_diag_msg` replies (TCP over IPv4 or IPv6).
    Inet,
    /// `unix_diag_msg` replies.
    Unix,
}

/// What one buffer of netlink replies held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiagReplies {
    /// Listening sockets described.
    pub sockets: Vec<ListenDiag>,
    /// Whether `NLMSG_DONE` ended the dump.
    pub done: bool,
    /// An `NLMSG_ERROR` errno (negative, as the kernel sends it).
    pub error: Option<i32>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Parse one `recv()` worth of sock_diag replies (native byte order).
pub fn parse_diag_replies(buf: &[u8], family: DiagFamily) -> Result<DiagReplies, ParseError> {
    let bad = |at: usize, what| ParseError::new(0, what, &format!("byte offset {at}"));
    let mut out = DiagReplies::default();
    let mut at = 0;
    while at + 16 <= buf.len() {
        let len = u32_at(buf, at).ok_or_else(|| bad(at, "a netlink header"))? as usize;
        let kind = u16_at(buf, at + 4).ok_or_else(|| bad(at, "a netlink header"))?;
        if len < 16 || at + len > buf.len() {
            return Err(bad(at, "a netlink message length within the buffer"));
        }
        let body = &buf[at + 16..at + len];
        match kind {
            NLMSG_DONE => {
                out.done = true;
                return Ok(out);
            }
            NLMSG_ERROR => {
                let errno = u32_at(body, 0).ok_or_else(|| bad(at, "an error code"))?;
                out.error = Some(errno as i32);
                out.done = true;
                return Ok(out);
            }
            SOCK_DIAG_BY_FAMILY => {
                let sock = match family {
                    DiagFamily::Inet => parse_inet(body),
                    DiagFamily::Unix => parse_unix(body),
                };
                out.sockets
                    .push(sock.ok_or_else(|| bad(at, "a socket diagnostics message"))?);
            }
            _ => {}
        }
        at += (len + 3) & !3;
    }
    Ok(out)
}

fn parse_inet(b: &[u8]) -> Option<ListenDiag> {
    let family = *b.first()?;
    let rqueue = u32_at(b, 56)?;
    let wqueue = u32_at(b, 60)?;
    let inode = u32_at(b, 68)?;
    let mut v6only = None;
    for (kind, payload) in attributes(b.get(INET_DIAG_MSG_LEN..)?) {
        if kind == INET_DIAG_SKV6ONLY && i32::from(family) == libc::AF_INET6 {
            v6only = payload.first().map(|&v| v != 0);
        }
    }
    Some(ListenDiag {
        inode: u64::from(inode),
        queued: rqueue,
        backlog: wqueue,
        v6only,
    })
}

fn parse_unix(b: &[u8]) -> Option<ListenDiag> {
    let inode = u32_at(b, 4)?;
    let mut q = None;
    for (kind, payload) in attributes(b.get(UNIX_DIAG_MSG_LEN..)?) {
        if kind == UNIX_DIAG_RQLEN {
            q = Some((u32_at(payload, 0)?, u32_at(payload, 4)?));
        }
    }
    let (queued, backlog) = q?;
    Some(ListenDiag {
        inode: u64::from(inode),
        queued,
        backlog,
        v6only: None,
    })
}

/// Netlink attributes (`struct rtattr`: u16 length, u16 type, payload,
/// padded to 4 bytes). Stops at the first malformed one.
fn attributes(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(u16_at(b, 0)?);
        let kind = u16_at(b, 2)?;
        if len < 4 || len > b.len() {
            return None;
        }
        let payload = &b[4..len];
        b = b.get((len + 3) & !3..).unwrap_or(&[]);
        Some((kind & 0x3fff, payload))
    })
}

fn request(family: DiagFamily, inet_family: u8) -> Vec<u8> {
    let mut body = Vec::new();
    match family {
        DiagFamily::Inet => {
            // inet_diag_req_v2: family, protocol, ext, pad, states, sockid (48).
            body.extend_from_slice(&[inet_family, libc::IPPROTO_TCP as u8, 0, 0]);
            body.extend_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
            body.extend_from_slice(&[0u8; 48]);
        }
        DiagFamily::Unix => {
            // unix_diag_req: family, protocol, pad16, states, ino, show, cookie[2].
            body.extend_from_slice(&[libc::AF_UNIX as u8, 0, 0, 0]);
            body.extend_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
            body.extend_from_slice(&0u32.to_ne_bytes());
            body.extend_from_slice(&UDIAG_SHOW_RQLEN.to_ne_bytes());
            body.extend_from_slice(&[0u8; 8]);
        }
    }
    let mut msg = Vec::with_capacity(16 + body.len());
    msg.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
    msg.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&body);
    msg
}

/// Why socket diagnostics were not available.
#[derive(Debug, thiserror::Error)]
pub enum DiagError {
    /// The netlink socket could not be used.
    #[error("sock_diag netlink socket: {0}")]
    Io(#[from] std::io::Error),
    /// The kernel's reply was not understood.
    #[error("sock_diag reply: {0}")]
    Parse(#[from] ParseError),
    /// The kernel answered the dump with an error.
    #[error("sock_diag dump refused with errno {0}")]
    Refused(i32),
}

fn dump(family: DiagFamily, inet_family: u8) -> Result<Vec<ListenDiag>, DiagError> {
    let mut sock = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::DGRAM,
        Some(Protocol::from(NETLINK_SOCK_DIAG)),
    )?;
    sock.set_read_timeout(Some(Duration::from_secs(1)))?;
    sock.send(&request(family, inet_family))?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = sock.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let r = parse_diag_replies(&buf[..n], family)?;
        out.extend(r.sockets);
        if let Some(e) = r.error {
            return Err(DiagError::Refused(-e));
        }
        if r.done {
            break;
        }
    }
    Ok(out)
}

/// Listening TCP (IPv4 and IPv6) and unix sockets of this network
/// namespace, by inode.
pub fn listen_queues() -> Result<HashMap<u64, ListenDiag>, DiagError> {
    let mut map = HashMap::new();
    for (family, inet) in [
        (DiagFamily::Inet, libc::AF_INET as u8),
        (DiagFamily::Inet, libc::AF_INET6 as u8),
        (DiagFamily::Unix, 0),
    ] {
        for d in dump(family, inet)? {
            map.insert(d.inode, d);
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        let len = 16 + body.len();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0u8; 10]);
        m.extend_from_slice(body);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    #[test]
    fn unix_reply_with_rqlen() {
        let mut body = vec![1u8, 1, 10, 0];
        body.extend_from_slice(&4242u32.to_ne_bytes());
        body.extend_from_slice(&[0u8; 8]);
        body.extend_from_slice(&12u16.to_ne_bytes());
        body.extend_from_slice(&UNIX_DIAG_RQLEN.to_ne_bytes());
        body.extend_from_slice(&3u32.to_ne_bytes());
        body.extend_from_slice(&511u32.to_ne_bytes());
        let mut buf = msg(SOCK_DIAG_BY_FAMILY, &body);
        buf.extend(msg(NLMSG_DONE, &[0; 4]));
        let r = parse_diag_replies(&buf, DiagFamily::Unix).unwrap();
        assert!(r.done);
        assert_eq!(
            r.sockets,
            vec![ListenDiag {
                inode: 4242,
                queued: 3,
                backlog: 511,
                v6only: None
            }]
        );
        assert!(parse_diag_replies(&buf[..20], DiagFamily::Unix).is_err());
        let err = msg(NLMSG_ERROR, &(-1i32).to_ne_bytes());
        assert_eq!(
            parse_diag_replies(&err, DiagFamily::Inet).unwrap().error,
            Some(-1)
        );
    }

    #[test]
    fn live_listener_backlog_matches_listen_call() {
        // A real listener with a known backlog, seen through the kernel.
        let s = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
        s.set_only_v6(true).unwrap();
        s.bind(&"[::1]:0".parse::<std::net::SocketAddr>().unwrap().into())
            .unwrap();
        s.listen(37).unwrap();
        let map = listen_queues().unwrap();
        let port = s.local_addr().unwrap().as_socket().unwrap().port();
        let tcp6 = std::fs::read_to_string("/proc/net/tcp6").unwrap();
        let inode = crate::net::parse_tcp_all(&tcp6)
            .unwrap()
            .into_iter()
            .find(|e| e.local.port() == port)
            .unwrap()
            .inode;
        let d = map[&inode];
        assert_eq!(d.backlog, 37);
        assert_eq!(d.queued, 0);
        assert_eq!(d.v6only, Some(true));
    }
}
