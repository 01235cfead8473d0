//! The most frequent upstream messages as exact texts up to the context
//! (`…while connecting to upstream`). A body that starts with one of them,
//! followed by `, client: `, needs no searching: where the message, errno
//! and action end and how the entry classifies are known in advance. The
//! table is built by running the general parser and [`super::classify`] on
//! each text once per level, so both paths agree by construction. Texts are
//! grouped by their first byte, so a lookup compares only a few of them.

use std::sync::LazyLock;

use super::{Classification, classify};
use crate::error::{ErrnoField, Level, parse_line};

const TEXTS: [&str; 28] = [
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
    "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while reading upstream",
    "recv() failed (104: Connection reset by peer) while waiting for request",
    "sendfile() failed (32: Broken pipe) while sending response to client",
    "writev() failed (32: Broken pipe) while sending to client",
    "SSL_do_handshake() failed (SSL: error:0A0000C1:SSL routines::no shared cipher) while SSL handshaking",
    "SSL_do_handshake() failed (SSL: error:0A000102:SSL routines::unsupported protocol) while SSL handshaking",
    "SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) while SSL handshaking",
    "SSL_do_handshake() failed (SSL: error:0A00009C:SSL routines::http request) while SSL handshaking",
];

/// One known message text with its parse and classification.
#[derive(Debug)]
pub(crate) struct Template {
    pub text: &'static [u8],
    pub message_len: usize,
    pub errno: Option<(u32, &'static [u8])>,
    pub action: Option<&'static [u8]>,
    /// The classification at each level (indexed by `Level as usize`):
    /// a few kinds depend on it.
    classes: [Classification; LEVELS],
}

/// Levels of a valid header (all but `Unknown`).
const LEVELS: usize = Level::ALL.len() - 1;

impl Template {
    /// How an entry of this text at `level` classifies. The table was
    /// built from entries with a `*N` connection number; without one, or
    /// without a valid header, `None` (classify the entry itself).
    #[inline]
    pub(crate) fn class(&self, level: Level, has_conn: bool) -> Option<Classification> {
        if has_conn {
            self.classes.get(level as usize).copied()
        } else {
            None
        }
    }
}

/// The templates sorted by first byte, and where each first byte's run is.
struct Table {
    templates: Vec<Template>,
    by_first: [(u8, u8); 256],
}

/// The template for `text`, as parsed and classified at every level.
fn template(text: &'static str) -> Template {
    let line_at = |level: Level| -> &'static [u8] {
        let line = format!(
            "2026/01/01 00:00:00 [{}] 1#1: *1 {text}, client: 127.0.0.1, server: s",
            level.as_str()
        );
        Box::leak(line.into_bytes().into_boxed_slice())
    };
    let classes = std::array::from_fn(|i| classify(&parse_line(line_at(Level::ALL[i]))));
    let line = line_at(Level::Error);
    let e = parse_line(line);
    let body_at = line.len() - text.len() - ", client: 127.0.0.1, server: s".len();
    let off = |s: &[u8]| s.as_ptr() as usize - line.as_ptr() as usize - body_at;
    let text = text.as_bytes();
    Template {
        text,
        message_len: e.message.len(),
        errno: e
            .errno
            .map(|ErrnoField { code, text: et }| (code, &text[off(et)..off(et) + et.len()])),
        action: e.action.map(|a| &text[off(a)..off(a) + a.len()]),
        classes,
    }
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut templates: Vec<Template> = TEXTS.iter().map(|t| template(t)).collect();
    templates.sort_by_key(|t| t.text[0]);
    let mut by_first = [(0, 0); 256];
    for (i, t) in templates.iter().enumerate() {
        let run = &mut by_first[usize::from(t.text[0])];
        if run.1 == 0 {
            run.0 = i as u8;
        }
        run.1 = i as u8 + 1;
    }
    Table {
        templates,
        by_first,
    }
});

/// The template `body` starts with, when it is followed by the context.
#[inline]
pub(crate) fn lookup(body: &[u8]) -> Option<&'static Template> {
    let first = *body.first()?;
    let table = &*TABLE;
    let (start, end) = table.by_first[usize::from(first)];
    // The context marker where the template would end rules out most
    // templates with one short compare, before the texts are compared.
    table.templates[usize::from(start)..usize::from(end)]
        .iter()
        .find(|t| client_at(body, t.text.len()) && body[..t.text.len()] == *t.text)
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
        for t in &TABLE.templates {
            let class = t.class(Level::Error, true).unwrap();
            assert!(class.kind != super::super::Kind::Other, "{:?}", t.text);
            assert!(t.action.is_some());
            let body = [t.text, b", client: 1.2.3.4, server: x".as_slice()].concat();
            assert!(std::ptr::eq(lookup(&body).unwrap(), t));
        }
    }
}
