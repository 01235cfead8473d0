//! The nginx error-log line grammar (`ngx_log_error_core` plus
//! `ngx_http_log_error`):
//!
//! ```text
//! TIME [LEVEL] PID#TID: [*CONN ]MESSAGE[ (ERRNO: TEXT)][ while ACTION][, client: ADDR, server: NAME
//!     [, request: "…"][, subrequest: "…"][, upstream: "…"][, host: "…"][, referrer: "…"]]
//! ```
//!
//! [`parse_line`] never fails: a line that does not follow the grammar comes
//! back with [`Level::Unknown`] and the whole text as its message. It
//! tolerates what real logs hold: entries spanning several physical lines
//! (FastCGI stderr), entries cut at nginx's 2048-byte limit (the context is
//! then partial or missing), musl/BSD errno wording, invalid UTF-8, NUL
//! bytes, and attacker-written request fields (values are raw, unescaped).

mod context;

pub use context::{Context, UpstreamField, parse_upstream_field};
pub(crate) use context::{parse_fields, parse_upstream_only};

use serde::Serialize;

use crate::time::{LocalTime, parse_error_time};

/// nginx cuts every error-log line (its LF included) at this many bytes
/// (`NGX_MAX_ERROR_STR`).
pub const NGX_MAX_ERROR_STR: usize = 2048;

/// An error-log level (`err_levels[]` in ngx_log.c), plus `Unknown` for a
/// line that has no valid header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// `[emerg]`
    Emerg,
    /// `[alert]`
    Alert,
    /// `[crit]`
    Crit,
    /// `[error]`
    Error,
    /// `[warn]`
    Warn,
    /// `[notice]`
    Notice,
    /// `[info]`
    Info,
    /// `[debug]`
    Debug,
    /// No valid `TIME [LEVEL] PID#TID: ` header (garbage, or a continuation).
    Unknown,
}

impl Level {
    /// Every level, most severe first.
    pub const ALL: [Level; 9] = [
        Level::Emerg,
        Level::Alert,
        Level::Crit,
        Level::Error,
        Level::Warn,
        Level::Notice,
        Level::Info,
        Level::Debug,
        Level::Unknown,
    ];

    /// The name nginx prints (`error`), or `unknown`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Emerg => "emerg",
            Level::Alert => "alert",
            Level::Crit => "crit",
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Unknown => "unknown",
        }
    }

    /// `[error]` or more severe.
    pub fn is_error_or_worse(self) -> bool {
        self <= Level::Error
    }
}

/// The `(N: text)` nginx appends when a call failed with an errno (or, for
/// `could not be resolved`, the resolver's own code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrnoField<'a> {
    /// The number as printed.
    pub code: u32,
    /// The libc text as printed (glibc, musl and BSD word some differently).
    pub text: &'a [u8],
}

/// One error-log entry, borrowed from the log bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEntry<'a> {
    /// The whole entry as read (several physical lines for multi-line
    /// FastCGI stderr), without the final newline.
    pub raw: &'a [u8],
    /// Local wall-clock time; `None` without a valid header.
    pub time: Option<LocalTime>,
    /// The level; [`Level::Unknown`] without a valid header.
    pub level: Level,
    /// Worker (or master) process id.
    pub pid: Option<u32>,
    /// Thread id (0 without thread support; equal to the pid on Debian).
    pub tid: Option<u64>,
    /// `*N`: the client connection number, shared by every line of a request.
    pub conn: Option<u64>,
    /// The message proper: no errno, action or context.
    pub message: &'a [u8],
    /// `(N: text)` at the end of the message.
    pub errno: Option<ErrnoField<'a>>,
    /// The `while …` action (`connecting to upstream`).
    pub action: Option<&'a [u8]>,
    /// The trailing `, client: …` context.
    pub ctx: Context<'a>,
    /// The entry reached nginx's 2048-byte limit: the context may be cut.
    pub truncated: bool,
}

impl<'a> ErrorEntry<'a> {
    /// The peer from the `upstream:` field, or for `connect() to PEER failed`
    /// the peer named in the message (which survives truncation).
    pub fn peer(&self) -> Option<&'a [u8]> {
        if let Some(u) = self.ctx.upstream_field()
            && !u.peer.is_empty()
        {
            return Some(u.peer);
        }
        connect_to_peer(self.message)
    }

    /// Is the peer a unix-domain socket?
    pub fn peer_is_unix(&self) -> bool {
        self.peer().is_some_and(|p| p.starts_with(b"unix:"))
    }
}

/// `connect() to PEER failed` → `PEER`.
pub fn connect_to_peer(message: &[u8]) -> Option<&[u8]> {
    let rest = message.strip_prefix(b"connect() to ")?;
    let end = crate::find::rfind!(rest, b" failed")?;
    Some(&rest[..end])
}

/// Parse one entry (a line, or a line plus its continuation lines).
/// Never fails; see the module docs.
pub fn parse_line(raw: &[u8]) -> ErrorEntry<'_> {
    let (mut e, fields) = parse_lazy(raw, &mut TimeCache::default());
    context::parse_fields(&mut e.ctx, fields);
    e
}

/// The last header timestamp parsed, reused while lines share it.
#[derive(Debug, Default, Clone)]
pub(crate) struct TimeCache {
    key: [u8; 19],
    val: Option<LocalTime>,
    /// The date part (`YYYY/MM/DD `) and its midnight.
    date: [u8; 11],
    midnight: Option<i64>,
    /// Leave `pid` and `tid` unset (the scanner never reads them).
    pub skip_ids: bool,
}

impl TimeCache {
    /// A cache for parsers that never read `pid`/`tid` (the scanner).
    pub(crate) fn without_ids() -> TimeCache {
        TimeCache {
            skip_ids: true,
            ..TimeCache::default()
        }
    }

    #[inline]
    fn get(&mut self, raw: &[u8]) -> Option<LocalTime> {
        let k: &[u8; 19] = raw.get(..19)?.try_into().ok()?;
        if self.val.is_some() && *k == self.key {
            return self.val;
        }
        // Same day: only the clock part changes.
        let t = match self.midnight {
            Some(m) if k[..11] == self.date => {
                let two = |i: usize| {
                    let (a, b) = (k[i].wrapping_sub(b'0'), k[i + 1].wrapping_sub(b'0'));
                    (a < 10 && b < 10).then(|| i64::from(a) * 10 + i64::from(b))
                };
                let (h, mi, s) = (two(11)?, two(14)?, two(17)?);
                if k[13] != b':' || k[16] != b':' || h > 23 || mi > 59 || s > 60 {
                    return None;
                }
                LocalTime(m + h * 3600 + mi * 60 + s)
            }
            _ => {
                let t = parse_error_time(raw)?;
                self.date.copy_from_slice(&k[..11]);
                self.midnight = Some(t.0 - t.0.rem_euclid(86_400));
                t
            }
        };
        self.key = *k;
        self.val = Some(t);
        Some(t)
    }
}

/// Everything but the quoted context fields, which are returned unparsed
/// for [`context::parse_fields`] (the scanner only needs them for
/// upstream-related entries).
pub(crate) fn parse_lazy<'a>(raw: &'a [u8], tc: &mut TimeCache) -> (ErrorEntry<'a>, &'a [u8]) {
    let (mut e, body) = parse_head(raw, tc);
    match body {
        Some(body) => {
            let fields = split_body(&mut e, body);
            (e, fields)
        }
        None => (e, &[]),
    }
}

/// What the scanner needs from a header: the time, the level, the digits
/// of `*N` and the body (the text after `PID#TID: ` and any `*N `).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head<'a> {
    pub time: LocalTime,
    pub level: Level,
    /// The connection number's digits, read only when needed.
    pub conn_digits: Option<&'a [u8]>,
    pub body: &'a [u8],
}

impl Head<'_> {
    /// The `*N` connection number.
    #[inline]
    pub(crate) fn conn(&self) -> Option<u64> {
        self.conn_digits.map(|d| digits(d, 0).0)
    }
}

/// The header of `raw` (already without its newline) without building an
/// [`ErrorEntry`]: the scanner settles most entries from this alone.
#[inline]
pub(crate) fn scan_head<'a>(raw: &'a [u8], tc: &mut TimeCache) -> Option<Head<'a>> {
    let (time, level, _, _, body_start) = parse_header(raw, tc)?;
    let (conn_digits, body) = split_conn(&raw[body_start..]);
    Some(Head {
        time,
        level,
        conn_digits,
        body,
    })
}

/// `*N rest` → (the digits of `N`, `rest`); `(None, body)` without `*N `.
#[inline]
fn split_conn(body: &[u8]) -> (Option<&[u8]>, &[u8]) {
    if body.first() == Some(&b'*') {
        let end = digit_run(body, 1);
        if end > 1 && body.get(end) == Some(&b' ') {
            return (Some(&body[1..end]), &body[end + 1..]);
        }
    }
    (None, body)
}

/// The entry as far as [`scan_head`] read it; message, errno, action and
/// context are filled later by [`split_known`] or [`split_body`].
#[inline]
pub(crate) fn entry_from_head<'a>(raw: &'a [u8], head: Option<Head<'a>>) -> ErrorEntry<'a> {
    ErrorEntry {
        raw,
        time: head.map(|h| h.time),
        level: head.map_or(Level::Unknown, |h| h.level),
        pid: None,
        tid: None,
        conn: None,
        message: head.map_or(raw, |h| h.body),
        errno: None,
        action: None,
        ctx: Context::default(),
        truncated: raw.len() + 1 >= NGX_MAX_ERROR_STR,
    }
}

/// The header only: time, level, pid, tid, `*N`; the rest of the entry (the
/// body) is returned for [`split_body`], or `None` without a valid header.
#[inline]
pub(crate) fn parse_head<'a>(
    raw: &'a [u8],
    tc: &mut TimeCache,
) -> (ErrorEntry<'a>, Option<&'a [u8]>) {
    let raw = trim_newline(raw);
    let truncated = raw.len() + 1 >= NGX_MAX_ERROR_STR;
    let mut e = ErrorEntry {
        raw,
        time: None,
        level: Level::Unknown,
        pid: None,
        tid: None,
        conn: None,
        message: raw,
        errno: None,
        action: None,
        ctx: Context::default(),
        truncated,
    };
    let Some((time, level, pid, tid, body_start)) = parse_header(raw, tc) else {
        return (e, None);
    };
    e.time = Some(time);
    e.level = level;
    if !tc.skip_ids {
        e.pid = Some(pid);
        e.tid = Some(tid);
    }
    let mut body = &raw[body_start..];
    if body.first() == Some(&b'*') {
        let end = digit_run(body, 1);
        if end > 1 && body.get(end) == Some(&b' ') {
            // The scanner reads the number only for the entries that need
            // it (see `Head::conn`).
            if !tc.skip_ids {
                e.conn = Some(digits(body, 1).0);
            }
            body = &body[end + 1..];
        }
    }
    e.message = body;
    (e, Some(body))
}

/// Fill message, errno and action from a known template and parse the
/// context right after it; the quoted fields are returned unparsed.
#[inline]
pub(crate) fn split_known<'a>(
    e: &mut ErrorEntry<'a>,
    body: &'a [u8],
    t: &crate::catalog::templates::Template,
) -> &'a [u8] {
    let n = t.text.len();
    let (ctx, fields) = context::parse_ctx_at(&body[n..]);
    e.ctx = ctx;
    e.message = &body[..t.message_len];
    e.errno = t.errno.map(|(code, text)| {
        let at = t.text.len() - t.action.map_or(0, |a| a.len() + 7) - 1 - text.len();
        ErrnoField {
            code,
            text: &body[at..at + text.len()],
        }
    });
    e.action = t.action.map(|a| &body[n - a.len()..n]);
    fields
}

/// Split the body into message, errno, action and context (`client`,
/// `server`); the quoted fields are returned unparsed.
#[inline]
pub(crate) fn split_body<'a>(e: &mut ErrorEntry<'a>, body: &'a [u8]) -> &'a [u8] {
    let (head, ctx, fields) = context::split(body);
    e.ctx = ctx;
    let (head, action) = split_action(head, ctx.is_present());
    e.action = action;
    let (message, errno) = split_errno(head);
    e.message = message;
    e.errno = errno;
    fields
}

/// `raw` without trailing CR/LF.
#[inline]
pub(crate) fn trim_newline(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = b {
        b = rest;
    }
    b
}

/// The index after the run of ASCII digits at `b[i..]`, eight bytes at a
/// time (no branch per digit: the run lengths vary from line to line).
#[inline(always)]
fn digit_run(b: &[u8], mut i: usize) -> usize {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const ADD: u64 = 0x7676_7676_7676_7676;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(w) = b.get(i..i + 8) {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let t = x ^ ZEROS;
        // A byte is flagged when it is not 0..=9 after the xor; carries
        // only spill past a flagged byte, which is all we look at.
        let flagged = (t.wrapping_add(ADD) | t) & HIGH;
        if flagged != 0 {
            return i + (flagged.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Digits at `b[i..]` (at most 19): the value and the index after them.
#[inline]
fn digits(b: &[u8], mut i: usize) -> (u64, usize) {
    let start = i;
    let mut n = 0u64;
    while i < b.len() && i - start < 19 {
        let d = b[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n * 10 + u64::from(d);
        i += 1;
    }
    (n, i)
}

/// `LEVEL] ` for each level (in [`Level::ALL`] order) as a little-endian
/// word and the mask of its bytes: the names plus `] ` fit in 8 bytes.
const LEVEL_WORDS: [(u64, u64); 8] = {
    let mut out = [(0, 0); 8];
    let mut i = 0;
    while i < 8 {
        let name = Level::ALL[i].as_str().as_bytes();
        let mut j = 0;
        while j < name.len() + 2 {
            let c = if j < name.len() {
                name[j]
            } else if j == name.len() {
                b']'
            } else {
                b' '
            };
            out[i].0 |= (c as u64) << (8 * j);
            out[i].1 |= 0xff << (8 * j);
            j += 1;
        }
        i += 1;
    }
    out
};

/// Does `b[21..]` hold the name of `level` (`len` letters) and `] `?
/// One masked word compare: every valid header is longer than 29 bytes.
#[inline]
fn level_closes(b: &[u8], level: Level, len: usize) -> bool {
    let Some(w) = b.get(21..29) else {
        return false;
    };
    let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
    let (word, mask) = LEVEL_WORDS[level as usize];
    debug_assert_eq!(mask.count_ones() as usize, 8 * (len + 2));
    x & mask == word
}

/// `TIME [LEVEL] PID#TID: ` → fields and the offset of the body.
#[inline]
fn parse_header(b: &[u8], tc: &mut TimeCache) -> Option<(LocalTime, Level, u32, u64, usize)> {
    let time = tc.get(b)?;
    if b.get(19) != Some(&b' ') || b.get(20) != Some(&b'[') {
        return None;
    }
    // The level: its first letters decide, then the closing bracket is checked.
    let (level, len) = match (b.get(21)?, b.get(22)?) {
        (b'e', b'r') => (Level::Error, 5),
        (b'w', _) => (Level::Warn, 4),
        (b'i', _) => (Level::Info, 4),
        (b'n', _) => (Level::Notice, 6),
        (b'c', _) => (Level::Crit, 4),
        (b'a', _) => (Level::Alert, 5),
        (b'e', b'm') => (Level::Emerg, 5),
        (b'd', _) => (Level::Debug, 5),
        _ => return None,
    };
    if !level_closes(b, level, len) {
        return None;
    }
    let i = digit_run(b, 23 + len);
    if i == 23 + len || i - (23 + len) > 10 || b.get(i) != Some(&b'#') {
        return None;
    }
    let j = digit_run(b, i + 1);
    if j == i + 1 || b.get(j) != Some(&b':') {
        return None;
    }
    let mut k = j + 1;
    if b.get(k) == Some(&b' ') {
        k += 1;
    }
    let (pid, tid) = if tc.skip_ids {
        (0, 0)
    } else {
        (digits(b, 23 + len).0, digits(b, i + 1).0)
    };
    Some((time, level, u32::try_from(pid).ok()?, tid, k))
}

/// Digits (at most 19 of them, so no overflow) → number.
#[inline]
fn parse_u64(d: &[u8]) -> Option<u64> {
    if d.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in d {
        n = n * 10 + u64::from(c.wrapping_sub(b'0'));
    }
    Some(n)
}

/// Is `a` a plausible action text (`reading response header from upstream`)?
#[inline]
fn is_action(a: &[u8]) -> bool {
    if crate::catalog::Phase::from_action(Some(a)) != crate::catalog::Phase::Other {
        return true;
    }
    !a.is_empty()
        && a.len() <= 64
        && a[0].is_ascii_alphabetic()
        && a.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b' ' || c == b'_' || c == b'-')
}

/// `MESSAGE[ (ERRNO)] while ACTION` → (`MESSAGE[ (ERRNO)]`, `ACTION`).
/// Without a context the action must run to the end (`, resolver: …`
/// excepted); with one, the last ` while ` is the action's.
#[inline]
fn split_action(head: &[u8], has_ctx: bool) -> (&[u8], Option<&[u8]>) {
    // Actions are short: look only at the end of a possibly long message,
    // at the spaces there.
    let from = head.len().saturating_sub(80);
    let Some(pos) = memchr::memrchr_iter(b' ', &head[from..])
        .map(|p| p + from)
        .find(|&p| head[p..].starts_with(b" while "))
    else {
        return (head, None);
    };
    let mut action = &head[pos + 7..];
    if !has_ctx && let Some(r) = crate::find::find!(action, b", resolver: ") {
        action = &action[..r];
    }
    if is_action(action) {
        (&head[..pos], Some(action))
    } else {
        (head, None)
    }
}

/// `MESSAGE (N: text)` → (`MESSAGE`, errno).
#[inline]
fn split_errno(head: &[u8]) -> (&[u8], Option<ErrnoField<'_>>) {
    let Some(b')') = head.last() else {
        return (head, None);
    };
    let Some(open) = memchr::memrchr(b'(', head) else {
        return (head, None);
    };
    let inner = &head[open + 1..head.len() - 1];
    let n = inner.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 9 || !inner[n..].starts_with(b": ") {
        return (head, None);
    }
    let Some(code) = parse_u64(&inner[..n]).and_then(|c| u32::try_from(c).ok()) else {
        return (head, None);
    };
    let mut msg = &head[..open];
    if let [rest @ .., b' '] = msg {
        msg = rest;
    }
    (
        msg,
        Some(ErrnoField {
            code,
            text: &inner[n + 2..],
        }),
    )
}

#[cfg(test)]
mod tests;
