//! `/proc/net/tcp` and `/proc/net/tcp6`: one socket per line, addresses as
//! the kernel's raw words in host byte order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::Serialize;

use crate::error::ParseError;

/// TCP states as numbered by the kernel (`include/net/tcp_states.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TcpState {
    /// 01
    Established,
    /// 02
    SynSent,
    /// 03
    SynRecv,
    /// 04
    FinWait1,
    /// 05
    FinWait2,
    /// 06
    TimeWait,
    /// 07
    Close,
    /// 08
    CloseWait,
    /// 09
    LastAck,
    /// 0A
    Listen,
    /// 0B
    Closing,
    /// 0C
    NewSynRecv,
}

impl TcpState {
    /// From the kernel's number.
    pub fn from_code(code: u8) -> Option<Self> {
        use TcpState::*;
        Some(match code {
            0x01 => Established,
            0x02 => SynSent,
            0x03 => SynRecv,
            0x04 => FinWait1,
            0x05 => FinWait2,
            0x06 => TimeWait,
            0x07 => Close,
            0x08 => CloseWait,
            0x09 => LastAck,
            0x0A => Listen,
            0x0B => Closing,
            0x0C => NewSynRecv,
            _ => return None,
        })
    }
}

/// One line of `/proc/net/tcp{,6}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TcpEntry {
    /// Local address and port.
    pub local: SocketAddr,
    /// Remote address and port (`0.0.0.0:0` for listeners).
    pub remote: SocketAddr,
    /// Connection state.
    pub state: TcpState,
    /// Send queue bytes (for listeners: 0).
    pub tx_queue: u32,
    /// Receive queue bytes; for a listener, connections waiting in the
    /// accept queue.
    pub rx_queue: u32,
    /// Owner uid.
    pub uid: u32,
    /// Socket inode (0 for TIME_WAIT and request sockets).
    pub inode: u64,
}

/// Iterate over the entries of a `/proc/net/tcp` or `/proc/net/tcp6` text
/// (the header line is skipped). Each item fails alone, with its line.
pub fn parse_tcp(text: &str) -> impl Iterator<Item = Result<TcpEntry, ParseError>> + '_ {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start_matches(' ');
            !t.is_empty() && !t.starts_with("sl ")
        })
        .map(|(i, l)| parse_tcp_line(l).ok_or_else(|| ParseError::new(i + 1, "a socket line", l)))
}

/// Every entry of a `/proc/net/tcp{,6}` text, or the first bad line.
pub fn parse_tcp_all(text: &str) -> Result<Vec<TcpEntry>, ParseError> {
    parse_tcp(text).collect()
}

/// The next space-separated field of `rest`, advancing it.
fn field<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let start = rest.iter().position(|&b| b != b' ')?;
    let tail = &rest[start..];
    let len = tail.iter().position(|&b| b == b' ').unwrap_or(tail.len());
    *rest = &tail[len..];
    Some(&tail[..len])
}

/// Hex digits to a number (at most 16 digits, no sign).
fn hex(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        Some(acc << 4 | u64::from(d))
    })
}

/// Decimal digits to a number.
fn dec(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
    })
}

/// The `st` column of a table line (the fourth field), without decoding
/// the rest.
pub fn state_field(line: &str) -> Option<&str> {
    let mut rest = line.as_bytes();
    for _ in 0..3 {
        field(&mut rest)?;
    }
    field(&mut rest).and_then(|f| std::str::from_utf8(f).ok())
}

fn parse_tcp_line(line: &str) -> Option<TcpEntry> {
    let mut rest = line.as_bytes();
    field(&mut rest)?.strip_suffix(b":")?;
    let local = hex_addr(field(&mut rest)?)?;
    let remote = hex_addr(field(&mut rest)?)?;
    let st = field(&mut rest)?;
    if st.len() != 2 {
        return None;
    }
    let state = TcpState::from_code(u8::try_from(hex(st)?).ok()?)?;
    let queues = field(&mut rest)?;
    let colon = queues.iter().position(|&b| b == b':')?;
    let tx_queue = u32::try_from(hex(&queues[..colon])?).ok()?;
    let rx_queue = u32::try_from(hex(&queues[colon + 1..])?).ok()?;
    field(&mut rest)?; // tr:tm->when
    field(&mut rest)?; // retrnsmt
    let uid = u32::try_from(dec(field(&mut rest)?)?).ok()?;
    field(&mut rest)?; // timeout
    let inode = dec(field(&mut rest)?)?;
    Some(TcpEntry {
        local,
        remote,
        state,
        tx_queue,
        rx_queue,
        uid,
        inode,
    })
}

/// `0100007F:1F40` (IPv4) or 32 hex digits `:PORT` (IPv6). The address is
/// printed as 32-bit words in the host's byte order, so it is decoded with
/// the native order: fixtures from a big-endian machine would need their
/// words swapped.
pub fn parse_hex_addr(s: &str) -> Option<SocketAddr> {
    hex_addr(s.as_bytes())
}

fn hex_addr(s: &[u8]) -> Option<SocketAddr> {
    let colon = s.iter().position(|&b| b == b':')?;
    let (addr, port) = (&s[..colon], &s[colon + 1..]);
    if port.len() > 4 {
        return None;
    }
    let port = u16::try_from(hex(port)?).ok()?;
    let word = |h: &[u8]| {
        (h.len() == 8)
            .then(|| hex(h))
            .flatten()
            .map(|v| (v as u32).to_ne_bytes())
    };
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(addr)?)),
        32 => {
            let mut b = [0u8; 16];
            for (i, chunk) in addr.chunks_exact(8).enumerate() {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(chunk)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_and_v6_lines() {
        let t = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F40 00000000:0000 0A 00000000:00000003 00:00000000 00000000    33        0 18843 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:9C40 0100007F:1F40 06 00000000:00000000 03:00001000 00000000     0        0 0 3 0000000000000000\n";
        let e = parse_tcp_all(t).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].local, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(e[0].state, TcpState::Listen);
        assert_eq!(e[0].rx_queue, 3);
        assert_eq!(e[0].uid, 33);
        assert_eq!(e[0].inode, 18843);
        assert_eq!(e[1].state, TcpState::TimeWait);
        assert_eq!(e[1].remote.port(), 8000);
        let v6 = "   0: 00000000000000000000000001000000:46C6 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18844 1 0000000000000000 100 0 0 10 0\n";
        let e = parse_tcp_all(v6).unwrap();
        assert_eq!(e[0].local, "[::1]:18118".parse().unwrap());
    }

    #[test]
    fn bad_lines_name_their_line() {
        let t = "  sl  local\n   0: zz:1 00000000:0000 0A 0:0 0:0 0 0 0 1\n";
        assert_eq!(parse_tcp_all(t).unwrap_err().line, 2);
        assert!(parse_tcp_all("   0: 0100007F:1F40 00000000:0000 FF 0:0 0:0 0 0 0 1\n").is_err());
        assert!(parse_hex_addr("0100007F").is_none());
        assert!(parse_hex_addr("01:0").is_none());
    }
}
