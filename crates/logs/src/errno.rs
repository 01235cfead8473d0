//! errno numbers as nginx prints them, mapped to symbolic names.
//!
//! nginx prints `(N: text)` with the platform's number and libc's text.
//! Linux/glibc numbers are the default; musl words a few differently
//! (`Operation would block`), and the BSDs and macOS use other numbers
//! (ECONNREFUSED is 61 there). The text decides when it names a known
//! error, since it identifies the platform; the Linux number decides
//! otherwise.

use serde::Serialize;

macro_rules! errnos {
    ($( $v:ident = $linux:literal, $bsd:literal, [$($text:literal),+], $meaning:literal; )*) => {
        /// A symbolic errno relevant to upstream connections.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum Errno {
            $( #[doc = $meaning] $v, )*
        }

        impl Errno {
            /// The C name (`ECONNREFUSED`).
            pub const fn name(self) -> &'static str {
                match self { $(Errno::$v => stringify!($v)),* }
            }
            /// The Linux number.
            pub const fn linux(self) -> u32 {
                match self { $(Errno::$v => $linux),* }
            }
            /// The number on FreeBSD/macOS (0 when it does not exist there).
            pub const fn bsd(self) -> u32 {
                match self { $(Errno::$v => $bsd),* }
            }
            /// What it means for a connection to an upstream.
            pub const fn meaning(self) -> &'static str {
                match self { $(Errno::$v => $meaning),* }
            }
            fn from_linux(n: u32) -> Option<Errno> {
                match n { $($linux => Some(Errno::$v),)* _ => None }
            }
            fn texts(self) -> &'static [&'static str] {
                match self { $(Errno::$v => &[$($text),+]),* }
            }
            fn from_text(t: &[u8]) -> Option<Errno> {
                $( $( if t.eq_ignore_ascii_case($text.as_bytes()) { return Some(Errno::$v); } )+ )*
                None
            }
        }
    };
}

errnos! {
    EPERM = 1, 1, ["Operation not permitted"], "a local packet filter or seccomp refused the operation";
    ENOENT = 2, 2, ["No such file or directory"], "the path (a unix socket) does not exist";
    EAGAIN = 11, 35, ["Resource temporarily unavailable", "Operation would block"],
        "the unix socket's listen backlog is full (the backend accepts too slowly)";
    EACCES = 13, 13, ["Permission denied"], "permission denied (socket file mode or security policy)";
    ENFILE = 23, 23, ["Too many open files in system", "File table overflow"],
        "the system-wide file table is full";
    EMFILE = 24, 24, ["Too many open files"], "the nginx worker reached its open-file limit";
    EPIPE = 32, 32, ["Broken pipe"], "the peer closed the connection before reading everything";
    EAFNOSUPPORT = 97, 47, ["Address family not supported by protocol", "Address family not supported by protocol family"],
        "the kernel does not support this address family (IPv6 disabled)";
    EADDRNOTAVAIL = 99, 49, ["Cannot assign requested address", "Address not available", "Can't assign requested address"],
        "no local address/port could be assigned (ephemeral ports exhausted, or a non-local bind address)";
    ENETDOWN = 100, 50, ["Network is down"], "the network interface is down";
    ENETUNREACH = 101, 51, ["Network is unreachable"], "there is no route to that network (often IPv6 without IPv6 connectivity)";
    ECONNABORTED = 103, 53, ["Software caused connection abort"], "the connection was aborted locally";
    ECONNRESET = 104, 54, ["Connection reset by peer"], "the peer reset the connection (crash, abort, idle close, middlebox)";
    ENOTCONN = 107, 57, ["Transport endpoint is not connected", "Socket is not connected"], "the socket is not connected";
    ETIMEDOUT = 110, 60, ["Connection timed out", "Operation timed out"], "the operation timed out";
    ECONNREFUSED = 111, 61, ["Connection refused"], "nothing accepts connections at that address";
    EHOSTDOWN = 112, 64, ["Host is down"], "the host is down";
    EHOSTUNREACH = 113, 65, ["No route to host", "Host is unreachable"], "the host is unreachable (down, or a firewall REJECT)";
}

/// Map a printed `(N: text)` to a symbolic errno (see the module docs).
pub fn lookup(code: u32, text: &[u8]) -> Option<Errno> {
    let linux = Errno::from_linux(code);
    if let Some(l) = linux
        && l.texts().iter().any(|t| text == t.as_bytes())
    {
        return Some(l);
    }
    let by_text = Errno::from_text(text);
    match (linux, by_text) {
        (Some(l), Some(t)) if l == t => Some(l),
        // The text names a known error under another number: BSD/macOS.
        (_, Some(t)) if t.bsd() == code => Some(t),
        (Some(l), _) => Some(l),
        (None, t) => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_musl_and_bsd_forms() {
        assert_eq!(
            lookup(111, b"Connection refused"),
            Some(Errno::ECONNREFUSED)
        );
        assert_eq!(lookup(61, b"Connection refused"), Some(Errno::ECONNREFUSED));
        assert_eq!(lookup(11, b"Operation would block"), Some(Errno::EAGAIN));
        assert_eq!(
            lookup(35, b"Resource temporarily unavailable"),
            Some(Errno::EAGAIN)
        );
        assert_eq!(lookup(60, b"Operation timed out"), Some(Errno::ETIMEDOUT));
        assert_eq!(lookup(110, b"Connection timed out"), Some(Errno::ETIMEDOUT));
        // Unknown wording (localised libc): the Linux number decides.
        assert_eq!(
            lookup(111, b"Verbindungsaufbau abgelehnt"),
            Some(Errno::ECONNREFUSED)
        );
        assert_eq!(lookup(4242, b"?"), None);
        assert_eq!(Errno::EHOSTUNREACH.name(), "EHOSTUNREACH");
    }
}
