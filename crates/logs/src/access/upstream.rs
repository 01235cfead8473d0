//! The per-attempt `$upstream_*` values of one request.
//!
//! nginx pushes one state per attempt and prints them joined by `, `
//! (servers tried for one request) and ` : ` (an internal redirect to
//! another upstream, e.g. `error_page 502 = @fallback`); a missing value is
//! `-`. For `no live upstreams` the address is the group name. Every
//! `$upstream_*` variable lists the same attempts in the same order, so
//! they are zipped by position.

use super::format::{AccessRecord, parse_f64};
use super::vars::Var;

/// One attempt to get a response from an upstream server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt<'a> {
    /// `$upstream_addr` item: `ip:port`, `unix:/path`, or a group name.
    pub addr: &'a [u8],
    /// `$upstream_status` item (`None` for `-`). nginx puts the 502/504 it
    /// synthesised for a failed attempt here too.
    pub status: Option<u16>,
    /// `$upstream_response_time` item, seconds.
    pub response_time: Option<f64>,
    /// `$upstream_connect_time` item (`None`: never connected).
    pub connect_time: Option<f64>,
    /// `$upstream_header_time` item (`None`: no header received).
    pub header_time: Option<f64>,
    /// `$upstream_bytes_received` or `$upstream_response_length` item.
    pub bytes: Option<u64>,
    /// Did the backend itself send a response (status line and headers)?
    /// From `$upstream_header_time` when logged, else a non-empty
    /// `$upstream_response_length`, else `$upstream_bytes_received`
    /// (weak: nginx also receives bytes it then rejects). `None` when the
    /// format logs none of them.
    pub answered: Option<bool>,
    /// This attempt starts a new group (after ` : `, an internal redirect).
    pub redirect: bool,
}

/// Split a multi-value field into `(item, starts_new_group)`.
pub fn split_items(v: &[u8]) -> impl Iterator<Item = (&[u8], bool)> {
    let mut rest = Some(v);
    let mut redirect = false;
    std::iter::from_fn(move || {
        let r = rest?;
        let this_redirect = redirect;
        let comma = memchr::memmem::find(r, b", ");
        let colon = memchr::memmem::find(r, b" : ");
        let (end, skip, next_redirect) = match (comma, colon) {
            (Some(c), Some(k)) if k < c => (k, 3, true),
            (Some(c), _) => (c, 2, false),
            (None, Some(k)) => (k, 3, true),
            (None, None) => {
                rest = None;
                return Some((r, this_redirect));
            }
        };
        rest = Some(&r[end + skip..]);
        redirect = next_redirect;
        Some((&r[..end], this_redirect))
    })
}

fn status_of(b: &[u8]) -> Option<u16> {
    if b.len() != 3 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u16, |n, &c| n * 10 + u16::from(c - b'0')))
}

fn num(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0')))
}

/// Every attempt of a request, in order. Empty when the request never
/// reached an upstream (all fields `-` or absent from the format).
pub fn attempts<'a>(rec: &AccessRecord<'a>) -> Vec<Attempt<'a>> {
    let mut out: Vec<Attempt<'a>> = Vec::new();
    let addr = rec.get(Var::UpstreamAddr);
    let status = rec.get(Var::UpstreamStatus);
    // The attempt list comes from $upstream_addr, else $upstream_status.
    let Some(base) = addr.or(status) else {
        return out;
    };
    if base == b"-" {
        return out;
    }
    for (item, redirect) in split_items(base) {
        out.push(Attempt {
            addr: if addr.is_some() { item } else { b"" },
            status: None,
            response_time: None,
            connect_time: None,
            header_time: None,
            bytes: None,
            answered: None,
            redirect,
        });
    }
    let mut fill = |v: Var, f: &mut dyn FnMut(&mut Attempt<'a>, &'a [u8])| {
        if let Some(val) = rec.get(v) {
            for (a, (item, _)) in out.iter_mut().zip(split_items(val)) {
                f(a, item);
            }
        }
    };
    fill(Var::UpstreamStatus, &mut |a, i| a.status = status_of(i));
    fill(Var::UpstreamResponseTime, &mut |a, i| {
        a.response_time = parse_f64(i)
    });
    fill(Var::UpstreamConnectTime, &mut |a, i| {
        a.connect_time = parse_f64(i)
    });
    fill(Var::UpstreamHeaderTime, &mut |a, i| {
        a.header_time = parse_f64(i)
    });
    fill(Var::UpstreamResponseLength, &mut |a, i| a.bytes = num(i));
    fill(Var::UpstreamBytesReceived, &mut |a, i| {
        if let Some(n) = num(i) {
            a.bytes = Some(n);
        }
    });
    let evidence = if rec.get(Var::UpstreamHeaderTime).is_some() {
        Var::UpstreamHeaderTime
    } else if rec.get(Var::UpstreamResponseLength).is_some() {
        Var::UpstreamResponseLength
    } else {
        Var::UpstreamBytesReceived
    };
    fill(evidence, &mut |a, i| {
        a.answered = Some(match evidence {
            Var::UpstreamHeaderTime => parse_f64(i).is_some(),
            _ => num(i).is_some_and(|n| n > 0),
        });
    });
    out
}
