//! `/proc/net/unix`: every unix socket, with the listening flag and the
//! bound path (abstract names start with `@`).

use serde::Serialize;

use crate::error::ParseError;

/// `__SO_ACCEPTCON`: the socket is listening.
const SO_ACCEPTCON: u32 = 0x0001_0000;

/// The type of a unix socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnixKind {
    /// `SOCK_STREAM` (what nginx connects to).
    Stream,
    /// `SOCK_DGRAM`.
    Dgram,
    /// `SOCK_SEQPACKET`.
    Seqpacket,
    /// Any other type number.
    Other,
}

/// One line of `/proc/net/unix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnixEntry {
    /// Reference count.
    pub refcount: u32,
    /// Whether the socket listens (`__SO_ACCEPTCON` in the flags).
    pub listening: bool,
    /// The socket type.
    pub kind: UnixKind,
    /// The `St` column (1 unconnected, 2 connecting, 3 connected, 4
    /// disconnecting).
    pub state: u8,
    /// Socket inode.
    pub inode: u64,
    /// The bound path, if any (`@name` for abstract sockets).
    pub path: Option<String>,
}

impl UnixEntry {
    /// Whether the name is in the abstract namespace (no file on disk).
    pub fn is_abstract(&self) -> bool {
        self.path.as_deref().is_some_and(|p| p.starts_with('@'))
    }
}

/// Iterate over the entries of `/proc/net/unix` (the header is skipped).
pub fn parse_unix(text: &str) -> impl Iterator<Item = Result<UnixEntry, ParseError>> + '_ {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with("Num "))
        .map(|(i, l)| {
            parse_unix_line(l).ok_or_else(|| ParseError::new(i + 1, "a unix socket line", l))
        })
}

/// Every entry of `/proc/net/unix`, or the first bad line.
pub fn parse_unix_all(text: &str) -> Result<Vec<UnixEntry>, ParseError> {
    parse_unix(text).collect()
}

fn parse_unix_line(line: &str) -> Option<UnixEntry> {
    let mut rest = line;
    let mut field = || -> Option<&str> {
        let t = rest.trim_start_matches(' ');
        let end = t.find(' ').unwrap_or(t.len());
        let (f, r) = t.split_at(end);
        rest = r;
        (!f.is_empty()).then_some(f)
    };
    field()?.strip_suffix(':')?;
    let refcount = u32::from_str_radix(field()?, 16).ok()?;
    let _protocol = field()?;
    let flags = u32::from_str_radix(field()?, 16).ok()?;
    let kind = match u16::from_str_radix(field()?, 16).ok()? {
        1 => UnixKind::Stream,
        2 => UnixKind::Dgram,
        5 => UnixKind::Seqpacket,
        _ => UnixKind::Other,
    };
    let state = u8::from_str_radix(field()?, 16).ok()?;
    let inode = field()?.parse().ok()?;
    // The path is the rest after one space and may itself contain spaces.
    let path = rest.strip_prefix(' ').filter(|p| !p.is_empty());
    Some(UnixEntry {
        refcount,
        listening: flags & SO_ACCEPTCON != 0,
        kind,
        state,
        inode,
        path: path.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_connected_abstract() {
        let t = "Num       RefCount Protocol Flags    Type St Inode Path\n\
                 00000000b4560c52: 00000002 00000000 00010000 0001 01 19466 /tmp/x y/fpm.sock\n\
                 0000000038e2cc58: 00000003 00000000 00000000 0001 03  1585\n\
                 0000000038e2cc59: 00000002 00000000 00010000 0005 01  1586 @/org/x\n";
        let e = parse_unix_all(t).unwrap();
        assert_eq!(e.len(), 3);
        assert!(e[0].listening);
        assert_eq!(e[0].kind, UnixKind::Stream);
        assert_eq!(e[0].inode, 19466);
        assert_eq!(e[0].path.as_deref(), Some("/tmp/x y/fpm.sock"));
        assert!(!e[1].listening);
        assert_eq!(e[1].state, 3);
        assert_eq!(e[1].path, None);
        assert!(e[2].is_abstract());
        assert_eq!(e[2].kind, UnixKind::Seqpacket);
        assert_eq!(parse_unix_all("x: 1\n").unwrap_err().line, 1);
    }
}
