//! The most frequent upstream messages as exact texts up to the context
//! (`…while connecting to upstream`). A body that starts with one of them,
//! followed by `, client: `, needs no searching: where the message, errno
//! and action end and how the entry classifies are known in advance. The
//! table is built by running the general parser and [`super::classify`] on
//! each text once, so both paths agree by construction.

use std::sync::LazyLock;

use super::{Classification, classify};
use crate::error::{ErrnoField, parse_line};

const TEXTS: [&str; 20] = [
    "upstream timed out (110: Connection timed out) while reading response header from upstream",
    "upstream timed out (110: Connection timed out) while connecting to upstream",
    "upstream timed out (110: Connection timed out) while sending request to upstream",
    "upstream timed out (110: Connection timed out) while reading upstream",
    "upstream timed out (110: Connection timed out) while SSL handshaking to upstream",
    "upstream prematurely closed connection while reading response header from upstream",
    "upstream prematurely closed connection while reading upstream",
    "upstream server temporarily disabled while connecting to upstream",
    "upstream server temporarily disabled while reading response header from upstream",
    "upstream server temporarily disabled while sending request to upstream",
    "upstream sent too big header while reading response header from upstream",
    "upstream sent no valid HTTP/1.0 header while reading response header from upstream",
    "upstream sent invalid chunked response while reading upstream",
    "connect() failed (111: Connection refused) while connecting to upstream",
    "connect() failed (113: No route to host) while connecting to upstream",
    "recv() failed (104: Connection reset by peer) while reading response header from upstream",
    "readv() failed (104: Connection reset by peer) while reading upstream",
    "no live upstreams while connecting to upstream",
    "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while reading response header from upstream",
    "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while sending request to upstream",
];

/// One known message text with its parse and classification.
#[derive(Debug)]
pub(crate) struct Template {
    pub text: &'static [u8],
    pub message_len: usize,
    pub errno: Option<(u32, &'static [u8])>,
    pub action: Option<&'static [u8]>,
    pub class: Classification,
}

static TABLE: LazyLock<Vec<Template>> = LazyLock::new(|| {
    TEXTS
        .iter()
        .map(|t| {
            let text = t.as_bytes();
            let line =
                format!("2026/01/01 00:00:00 [error] 1#1: *1 {t}, client: 127.0.0.1, server: s");
            let line: &'static [u8] = Box::leak(line.into_bytes().into_boxed_slice());
            let e = parse_line(line);
            let class = classify(&e);
            let off = |s: &[u8]| s.as_ptr() as usize - line.as_ptr() as usize - 36;
            Template {
                text,
                message_len: e.message.len(),
                errno: e.errno.map(|ErrnoField { code, text: et }| {
                    (code, &text[off(et)..off(et) + et.len()])
                }),
                action: e.action.map(|a| &text[off(a)..off(a) + a.len()]),
                class,
            }
        })
        .collect()
});

/// The template `body` starts with, when it is followed by the context.
#[inline]
pub(crate) fn lookup(body: &[u8]) -> Option<&'static Template> {
    let first = *body.first()?;
    if !matches!(first, b'u' | b'c' | b'r' | b'n' | b'e') {
        return None;
    }
    // The context marker where the template would end rules out most
    // templates with one short compare, before the texts are compared.
    TABLE.iter().find(|t| {
        let n = t.text.len();
        t.text[0] == first && client_at(body, n) && body[..n] == *t.text
    })
}

/// Does `, client: ` start at `body[n..]`? Two word compares, no call.
#[inline]
fn client_at(body: &[u8], n: usize) -> bool {
    const HEAD: u64 = u64::from_le_bytes(*b", client");
    let Some(w) = body.get(n..n + 10) else {
        return false;
    };
    u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]) == HEAD
        && w[8] == b':'
        && w[9] == b' '
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_like_the_general_path() {
        for t in TABLE.iter() {
            assert!(t.class.kind != super::super::Kind::Other, "{:?}", t.text);
            assert!(t.action.is_some());
            let body = [t.text, b", client: 1.2.3.4, server: x".as_slice()].concat();
            assert!(std::ptr::eq(lookup(&body).unwrap(), t));
        }
    }
}
