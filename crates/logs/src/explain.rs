//! One error-log line explained, as plain data for `badgateway explain`
//! (and for anyone who wants the catalogue's view of a single entry).

use badgateway_cause::Cause;
use serde::Serialize;

use crate::LocalTime;
use crate::catalog::{self, ClientStatus, Kind, Phase, trailing_number};
use crate::error::{self, ErrorEntry, Level};
use crate::text::lossless;

/// The errno of an entry, decoded.
#[derive(Debug, Clone, Serialize)]
pub struct ErrnoInfo {
    /// The number as printed.
    pub code: u32,
    /// The text as printed.
    pub text: String,
    /// The symbolic name (`ECONNREFUSED`), when known.
    pub name: Option<&'static str>,
    /// What it means for an upstream connection.
    pub meaning: Option<&'static str>,
}

/// The context fields of an entry (raw, attacker-controlled values).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContextInfo {
    /// `client:`
    pub client: Option<String>,
    /// `server:`
    pub server: Option<String>,
    /// `request:`
    pub request: Option<String>,
    /// `subrequest:`
    pub subrequest: Option<String>,
    /// `upstream:` as printed.
    pub upstream: Option<String>,
    /// The peer (address, socket or group name).
    pub peer: Option<String>,
    /// The upstream scheme (`http`, `fastcgi`, …).
    pub scheme: Option<String>,
    /// `host:`
    pub host: Option<String>,
    /// `referrer:`
    pub referrer: Option<String>,
}

/// Everything `explain` says about one entry.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The entry as given.
    pub line: String,
    /// The line had no `TIME [LEVEL] PID#TID:` header (only the message was given).
    pub header_missing: bool,
    /// Entry time.
    pub time: Option<LocalTime>,
    /// Level.
    pub level: Level,
    /// `*N` connection number.
    pub connection: Option<u64>,
    /// The message without errno, action and context.
    pub message: String,
    /// The `while …` action.
    pub action: Option<String>,
    /// The proxying phase.
    pub phase: Phase,
    /// The errno.
    pub errno: Option<ErrnoInfo>,
    /// The context fields.
    pub context: ContextInfo,
    /// Catalogue kind.
    pub kind: Kind,
    /// The message shape in the catalogue.
    pub shape: &'static str,
    /// Counted as an upstream error (SPEC).
    pub upstream_error: bool,
    /// The root cause it points to on its own.
    pub cause: Option<Cause>,
    /// What the client got.
    pub client_status: ClientStatus,
    /// The same, in words.
    pub client_status_text: String,
    /// What nginx was doing.
    pub doing: &'static str,
    /// What happened.
    pub explanation: &'static str,
    /// Likely causes, most likely first.
    pub likely: &'static [&'static str],
    /// Checks to run next.
    pub checks: &'static [&'static str],
    /// What to change.
    pub fix: &'static str,
    /// Directives involved.
    pub directives: &'static [&'static str],
    /// Versions that print this shape.
    pub versions: &'static str,
    /// nginx version implied by the wording.
    pub version_hint: Option<&'static str>,
    /// Notes specific to this very line.
    pub notes: Vec<String>,
}

fn s(b: Option<&[u8]>) -> Option<String> {
    b.map(lossless)
}

/// Explain one entry. A line given without its header (just the message
/// and context) is explained too.
pub fn explain(line: &[u8]) -> Explanation {
    let trimmed = line.trim_ascii();
    let mut e = error::parse_line(trimmed);
    let mut header_missing = false;
    let owned;
    if e.level == Level::Unknown {
        owned = [b"1970/01/01 00:00:00 [error] 0#0: ".as_slice(), trimmed].concat();
        let e2 = error::parse_line(&owned);
        header_missing = true;
        e = ErrorEntry {
            raw: trimmed,
            time: None,
            level: Level::Unknown,
            pid: None,
            tid: None,
            ..e2
        };
    }
    build(&e, header_missing)
}

fn build(e: &ErrorEntry<'_>, header_missing: bool) -> Explanation {
    let mut probe = e.clone();
    if header_missing {
        probe.level = Level::Error;
    }
    let c = catalog::classify(&probe);
    let row = c.entry();
    let u = e.ctx.upstream_field();
    let mut notes = Vec::new();
    let peer = e.peer();
    match c.kind {
        Kind::FastcgiVersion if trailing_number(e.message) == Some(72) => notes.push(
            "72 is the byte 'H': the peer answered \"HTTP/1.x …\", so fastcgi_pass points at an HTTP server.".into(),
        ),
        Kind::H2FrameTooLarge if trailing_number(e.message) == Some(4_740_180) => notes.push(
            "4740180 is 0x485454, the bytes \"HTT\": the peer answered in HTTP/1.x, not HTTP/2.".into(),
        ),
        Kind::ConnectRefused if e.peer_is_unix() => notes.push(
            "On a unix socket, 111 means the socket file exists but nothing listens on it: a stale socket left by a backend that died.".into(),
        ),
        Kind::NoLiveUpstreams => notes.push(format!(
            "The upstream field names the group ({}), not a server: look at the errors for its servers in the {} before this line; `badgateway logs` attributes these to that cause.",
            peer.map(lossless).unwrap_or_default(),
            "fail_timeout (10s by default)"
        )),
        Kind::ConnectTimeout | Kind::ReadTimeout | Kind::SendTimeout | Kind::TlsTimeout => notes.push(
            "nginx's own timer fired (the client got 504); the timeout directive in force decides how long it waited.".into(),
        ),
        Kind::ConnectTimeoutKernel | Kind::ConnectionLost => notes.push(
            "This 110 comes from the kernel, not from nginx's timer: the client got 502, not 504.".into(),
        ),
        _ => {}
    }
    if e.truncated || e.ctx.cut {
        notes.push("The entry reached nginx's 2048-byte limit: its context is cut.".into());
    }
    if let Some(h) = c.version_hint {
        notes.push(format!("Wording seen in {h}."));
    }
    Explanation {
        line: lossless(e.raw),
        header_missing,
        time: e.time,
        level: e.level,
        connection: e.conn,
        message: lossless(e.message),
        action: s(e.action),
        phase: c.phase,
        errno: e.errno.map(|x| ErrnoInfo {
            code: x.code,
            text: lossless(x.text),
            name: c.errno.map(|n| n.name()),
            meaning: c.errno.map(|n| n.meaning()),
        }),
        context: ContextInfo {
            client: s(e.ctx.client),
            server: s(e.ctx.server),
            request: s(e.ctx.request),
            subrequest: s(e.ctx.subrequest),
            upstream: s(e.ctx.upstream),
            peer: s(peer),
            scheme: s(u.map(|u| u.scheme)),
            host: s(e.ctx.host),
            referrer: s(e.ctx.referrer),
        },
        kind: c.kind,
        shape: row.shape,
        upstream_error: c.upstream_error,
        cause: c.cause,
        client_status: c.status,
        client_status_text: c.status.describe(),
        doing: row.doing,
        explanation: row.explanation,
        likely: row.likely,
        checks: row.checks,
        fix: row.fix,
        directives: row.directives,
        versions: row.versions,
        version_hint: c.version_hint,
        notes,
    }
}

/// Split text into error-log entries (continuation lines join the entry
/// before them), for explaining several pasted lines.
pub fn entries(text: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut pos = 0;
    for line in text.split(|&c| c == b'\n') {
        let end = pos + line.len();
        let is_head = crate::time::looks_like_error_line(line);
        match out.last_mut() {
            Some(last)
                if !is_head
                    && !line.trim_ascii().is_empty()
                    && last.1 + 1 == pos
                    && crate::time::looks_like_error_line(&text[last.0..]) =>
            {
                last.1 = end;
            }
            _ if !line.trim_ascii().is_empty() => out.push((pos, end)),
            _ => {}
        }
        pos = end + 1;
    }
    out.into_iter().map(|(a, b)| &text[a..b]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_with_and_without_header() {
        let x = explain(b"2026/11/21 13:40:41 [crit] 1#1: *3 connect() to unix:/run/php/php8.2-fpm.sock failed (13: Permission denied) while connecting to upstream, client: 127.0.0.1, server: s, request: \"GET / HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"h\"");
        assert_eq!(x.cause, Some(Cause::SocketPermission));
        assert_eq!(x.errno.as_ref().unwrap().name, Some("EACCES"));
        assert_eq!(
            x.context.peer.as_deref(),
            Some("unix:/run/php/php8.2-fpm.sock")
        );
        assert!(!x.header_missing);
        let y = explain(b"upstream sent unsupported FastCGI protocol version: 72 while reading response header from upstream");
        assert!(y.header_missing);
        assert_eq!(y.cause, Some(Cause::ProtocolMismatch));
        assert!(y.notes[0].contains("'H'"));
        let z = explain(b"hello world");
        assert!(!z.upstream_error);
    }

    #[test]
    fn splits_entries() {
        let t = b"2026/11/21 13:40:41 [error] 1#1: *1 FastCGI sent in stderr: \"a\nb\" while reading response header from upstream, client: c, server: s\n\n2026/11/21 13:40:42 [error] 1#1: *2 no live upstreams\n";
        let e = entries(t);
        assert_eq!(e.len(), 2);
        assert!(e[0].ends_with(b"server: s"));
    }
}
