//! Name resolution the way nginx does it for a static `*_pass` host:
//! `getaddrinfo(host, NULL, {AF_UNSPEC, SOCK_STREAM, AI_ADDRCONFIG})` once,
//! keeping every A and AAAA answer, then IPv4 addresses first and IPv6
//! second (`ngx_inet_resolve_host`). The raw `EAI_*` code is kept so that
//! "no such name" (`EAI_NONAME`) and "DNS unreachable" (`EAI_AGAIN`) stay
//! apart.

#![allow(unsafe_code)] // getaddrinfo(3)/freeaddrinfo(3)/gai_strerror(3) via libc

use std::ffi::{CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use serde::Serialize;

/// The outcome of resolving one host name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    /// The name looked up.
    pub host: String,
    /// Addresses in getaddrinfo's own order (what `getent ahosts` shows).
    pub getaddrinfo_order: Vec<IpAddr>,
    /// The same addresses in nginx's peer order: IPv4 first, then IPv6.
    pub addresses: Vec<IpAddr>,
    /// The raw `EAI_*` return code when resolution failed.
    pub eai: Option<i32>,
    /// Its symbolic name (`EAI_NONAME`, `EAI_AGAIN`, …).
    pub eai_name: Option<&'static str>,
    /// `gai_strerror` text.
    pub error: Option<String>,
    /// Whether the host was an IP literal (no lookup happened).
    pub literal: bool,
    /// Time spent in getaddrinfo, in milliseconds.
    pub ms: f64,
}

impl Resolution {
    /// Whether at least one address came back.
    pub fn ok(&self) -> bool {
        !self.addresses.is_empty()
    }
}

/// Resolve `host` like nginx at config load. Blocking (getaddrinfo is); run
/// it off the async executor.
pub fn resolve(host: &str) -> Resolution {
    let start = Instant::now();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Resolution {
            host: host.to_owned(),
            getaddrinfo_order: vec![ip],
            addresses: vec![ip],
            eai: None,
            eai_name: None,
            error: None,
            literal: true,
            ms: 0.0,
        };
    }
    let (order, eai) = match getaddrinfo(host) {
        Ok(list) => (list, None),
        Err(code) => (Vec::new(), Some(code)),
    };
    let mut addresses: Vec<IpAddr> = order.iter().copied().filter(IpAddr::is_ipv4).collect();
    addresses.extend(order.iter().copied().filter(IpAddr::is_ipv6));
    // getaddrinfo may repeat an address (one per socktype on some systems);
    // nginx would keep duplicates as separate peers, and so do we.
    let (eai_name, error) = match eai {
        Some(code) => (Some(eai_name(code)), Some(gai_strerror(code))),
        None if order.is_empty() => (None, Some("no IPv4 or IPv6 address".to_owned())),
        None => (None, None),
    };
    Resolution {
        host: host.to_owned(),
        getaddrinfo_order: order,
        addresses,
        eai,
        eai_name,
        error,
        literal: false,
        ms: crate::connect::ms_since(start),
    }
}

/// The symbolic name of a getaddrinfo return code.
pub fn eai_name(code: i32) -> &'static str {
    match code {
        libc::EAI_NONAME => "EAI_NONAME",
        libc::EAI_AGAIN => "EAI_AGAIN",
        libc::EAI_FAIL => "EAI_FAIL",
        libc::EAI_FAMILY => "EAI_FAMILY",
        libc::EAI_MEMORY => "EAI_MEMORY",
        libc::EAI_SERVICE => "EAI_SERVICE",
        libc::EAI_SOCKTYPE => "EAI_SOCKTYPE",
        libc::EAI_BADFLAGS => "EAI_BADFLAGS",
        libc::EAI_SYSTEM => "EAI_SYSTEM",
        -5 => "EAI_NODATA",
        -9 => "EAI_ADDRFAMILY",
        _ => "EAI_UNKNOWN",
    }
}

fn gai_strerror(code: i32) -> String {
    // SAFETY: gai_strerror returns a pointer to a static, NUL-terminated
    // string for any code (glibc returns "Unknown error" for unknown ones).
    let p = unsafe { libc::gai_strerror(code) };
    if p.is_null() {
        return format!("getaddrinfo error {code}");
    }
    // SAFETY: non-null, NUL-terminated, static lifetime (see above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn getaddrinfo(host: &str) -> Result<Vec<IpAddr>, i32> {
    let Ok(c_host) = CString::new(host) else {
        return Err(libc::EAI_NONAME);
    };
    // SAFETY: addrinfo is plain old data; all-zero is a valid "no hints".
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    hints.ai_flags = libc::AI_ADDRCONFIG;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: c_host is a valid C string, hints a valid addrinfo, res a valid
    // out-pointer; on success res is freed below with freeaddrinfo.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 {
        return Err(rc);
    }
    let mut out = Vec::new();
    let mut p = res;
    while !p.is_null() {
        // SAFETY: p walks the list getaddrinfo returned, each node valid until
        // freeaddrinfo.
        let ai = unsafe { &*p };
        if !ai.ai_addr.is_null() {
            match ai.ai_family {
                libc::AF_INET => {
                    // SAFETY: family AF_INET means ai_addr points at a sockaddr_in.
                    let sin = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in) };
                    out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                        sin.sin_addr.s_addr,
                    ))));
                }
                libc::AF_INET6 => {
                    // SAFETY: family AF_INET6 means ai_addr points at a sockaddr_in6.
                    let sin6 = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in6) };
                    out.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
                }
                _ => {}
            }
        }
        p = ai.ai_next;
    }
    // SAFETY: res came from a successful getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(res) };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_skip_lookup() {
        let r = resolve("::1");
        assert!(r.literal && r.ok());
        assert_eq!(r.addresses, vec!["::1".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn localhost_resolves_with_ipv4_first_in_nginx_order() {
        let r = resolve("localhost");
        assert!(r.ok(), "{r:?}");
        assert!(!r.literal);
        let first_v6 = r.addresses.iter().position(IpAddr::is_ipv6);
        let last_v4 = r.addresses.iter().rposition(IpAddr::is_ipv4);
        if let (Some(v6), Some(v4)) = (first_v6, last_v4) {
            assert!(v4 < v6, "{r:?}");
        }
        assert_eq!(r.addresses.len(), r.getaddrinfo_order.len());
    }

    #[test]
    fn failures_keep_the_eai_code() {
        // A NUL byte can never be a host name; no query leaves the machine.
        let r = resolve("bad\0name");
        assert!(!r.ok());
        assert_eq!(r.eai_name, Some("EAI_NONAME"));
        assert!(r.error.is_some());
        assert_eq!(eai_name(libc::EAI_AGAIN), "EAI_AGAIN");
        assert_eq!(eai_name(libc::EAI_NONAME), "EAI_NONAME");
    }
}
