//! The trailing context nginx's HTTP log handler appends to every line that
//! belongs to a connection: `, client: …, server: …` and the optional quoted
//! fields `request`, `subrequest`, `upstream`, `host`, `referrer`, always in
//! that order (`ngx_http_log_error_handler`).
//!
//! The quoted values are written raw, so a client can put `", host: "` into
//! its request line. The split takes the first `, client: ` that is followed
//! by a well-formed address and `, server: `, and accepts a closing quote only
//! where a later key (or the end of the entry) follows; an `upstream:` value
//! must start with a scheme nginx prints. A value cut by the 2048-byte limit
//! runs to the end of the entry and sets [`Context::cut`].

use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::bytes::{below_mask, eq_mask, first_special};

static CLIENT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b", client: "));

const KEYS: [&[u8]; 5] = [
    b", request: \"",
    b", subrequest: \"",
    b", upstream: \"",
    b", host: \"",
    b", referrer: \"",
];
const UPSTREAM: usize = 2;

/// The trailing context of an entry. Every value is raw bytes as nginx
/// wrote them (unescaped: treat as attacker-controlled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context<'a> {
    /// `client:` — the client address (after realip).
    pub client: Option<&'a [u8]>,
    /// `server:` — the first `server_name` of the matched server (may be
    /// empty), or the listen address when no request exists yet.
    pub server: Option<&'a [u8]>,
    /// `request:` — the raw request line.
    pub request: Option<&'a [u8]>,
    /// `subrequest:` — the subrequest URI (auth_request, SSI, mirror).
    pub subrequest: Option<&'a [u8]>,
    /// `upstream:` — `scheme://peer[:]uri` (see [`parse_upstream_field`]).
    pub upstream: Option<&'a [u8]>,
    /// `host:` — the client's Host header.
    pub host: Option<&'a [u8]>,
    /// `referrer:` — the client's Referer header.
    pub referrer: Option<&'a [u8]>,
    /// `resolver:` — the DNS server, on resolver lines (no client context).
    pub resolver: Option<&'a [u8]>,
    /// The last value was cut (no closing quote): the entry was truncated.
    pub cut: bool,
    /// The `upstream:` value was the one cut.
    pub upstream_cut: bool,
}

impl<'a> Context<'a> {
    /// Was a `, client: ` context found?
    pub fn is_present(&self) -> bool {
        self.client.is_some()
    }

    /// The parsed `upstream:` field.
    pub fn upstream_field(&self) -> Option<UpstreamField<'a>> {
        self.upstream.and_then(parse_upstream_field)
    }

    /// The request line's method and target (`GET`, `/a?b`), if it has the
    /// usual `METHOD TARGET [PROTOCOL]` shape.
    pub fn request_target(&self) -> Option<(&'a [u8], &'a [u8])> {
        let r = self.request?;
        let sp = memchr::memchr(b' ', r)?;
        let rest = &r[sp + 1..];
        let end = memchr::memrchr(b' ', rest).unwrap_or(rest.len());
        Some((&r[..sp], &rest[..end]))
    }
}

/// `scheme://peer[:]uri` from the `upstream:` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamField<'a> {
    /// `http`, `fastcgi`, … (without `://`).
    pub scheme: &'a [u8],
    /// `127.0.0.1:8080`, `[::1]:8080`, `unix:/run/php.sock`, or the upstream
    /// group name when no peer could be chosen (`no live upstreams`).
    pub peer: &'a [u8],
    /// The URI sent to the backend (proxy only; empty for FastCGI & co).
    pub uri: &'a [u8],
}

/// Parse an `upstream:` value. `None` unless it starts with a scheme nginx
/// prints there (`u->schema`: http, https, fastcgi, uwsgi, suwsgi, scgi,
/// grpc, grpcs, memcached).
pub fn parse_upstream_field(v: &[u8]) -> Option<UpstreamField<'_>> {
    // The scheme is at most 9 letters, then "://".
    let colon = v.iter().take(10).position(|&c| c == b':')?;
    let scheme = &v[..colon];
    if !v[colon..].starts_with(b"://")
        || !matches!(
            scheme,
            b"http"
                | b"https"
                | b"fastcgi"
                | b"uwsgi"
                | b"suwsgi"
                | b"scgi"
                | b"grpc"
                | b"grpcs"
                | b"memcached"
        )
    {
        return None;
    }
    let scheme_len = colon + 3;
    let rest = &v[scheme_len..];
    let (peer, uri) = if let Some(path) = rest.strip_prefix(b"unix:") {
        // `unix:/path` then ":" then the URI (":" is always printed).
        match memchr::memchr(b':', path) {
            Some(c) => (&rest[..5 + c], &path[c + 1..]),
            None => (rest, &rest[rest.len()..]),
        }
    } else if rest.starts_with(b"[") {
        let close = memchr::memchr(b']', rest).map_or(rest.len(), |c| c + 1);
        let end = close
            + rest[close..]
                .iter()
                .position(|&c| c == b'/')
                .unwrap_or(rest.len() - close);
        (&rest[..end], &rest[end..])
    } else {
        let end = memchr::memchr(b'/', rest).unwrap_or(rest.len());
        (&rest[..end], &rest[end..])
    };
    Some(UpstreamField { scheme, peer, uri })
}

/// Split `body` (everything after `*N `) into the part before the context,
/// the context's `client` and `server`, and the unparsed quoted fields
/// (see [`parse_fields`]).
#[inline]
pub(crate) fn split(body: &[u8]) -> (&[u8], Context<'_>, &[u8]) {
    for pos in CLIENT.find_iter(body) {
        if let Some((ctx, fields)) = parse_ctx(&body[pos..]) {
            return (&body[..pos], ctx, fields);
        }
    }
    if let Some(r) = crate::find::rfind!(body, b", resolver: ") {
        let ctx = Context {
            resolver: Some(&body[r + 12..]),
            ..Context::default()
        };
        return (&body[..r], ctx, &[]);
    }
    (body, Context::default(), &[])
}

/// The context at `s` (which starts with `, client: `), or none.
pub(crate) fn parse_ctx_at(s: &[u8]) -> (Context<'_>, &[u8]) {
    parse_ctx(s).unwrap_or((Context::default(), &[]))
}

/// `, client: ADDR, server: NAME` and what follows (the quoted fields).
fn parse_ctx(s: &[u8]) -> Option<(Context<'_>, &[u8])> {
    let rest = &s[10..]; // ", client: "
    let mut ctx = Context::default();
    // The client address holds no comma: the first one starts ", server: ".
    let Some(comma) = client_end(rest)? else {
        // Truncated right after the client address.
        ctx.client = Some(rest);
        ctx.cut = true;
        return Some((ctx, &[]));
    };
    if comma == 0 || !rest[comma..].starts_with(b", server: ") {
        return None;
    }
    ctx.client = Some(&rest[..comma]);
    let rest = &rest[comma + 10..];
    let server_end = server_end(rest)?;
    ctx.server = Some(&rest[..server_end]);
    Some((ctx, &rest[server_end..]))
}

/// The longest client address accepted (realip can put a name there).
const MAX_ADDR: usize = 128;
/// The longest server name accepted.
const MAX_SERVER: usize = 256;

/// Where a plausible client address at the start of `rest` ends: at the
/// first comma (`Some(Some(i))`), or at the end of `rest` when it holds no
/// comma and is not empty (`Some(None)`: cut there). `None` when the bytes
/// before the comma cannot be an address: longer than [`MAX_ADDR`], or
/// holding a space, a quote or a control byte.
#[inline]
fn client_end(rest: &[u8]) -> Option<Option<usize>> {
    let stop = first_special(rest, |w| {
        eq_mask(w, b',') | eq_mask(w, b' ') | eq_mask(w, b'"') | below_mask(w, 0x20)
    });
    match stop {
        Some(i) if i <= MAX_ADDR && rest[i] == b',' => Some(Some(i)),
        None if !rest.is_empty() && rest.len() <= MAX_ADDR => Some(None),
        _ => None,
    }
}

/// Where the server name at the start of `rest` ends: at the first `, `
/// (the next field) or at the end. `None` when the name is longer than
/// [`MAX_SERVER`] or holds a quote.
#[inline]
fn server_end(rest: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let end = match first_special(&rest[from..], |w| eq_mask(w, b',') | eq_mask(w, b'"')) {
            None => rest.len(),
            Some(i) if rest[from + i] == b'"' => return None,
            Some(i) if rest.get(from + i + 1) != Some(&b' ') => {
                from += i + 1;
                continue;
            }
            Some(i) => from + i,
        };
        return (end <= MAX_SERVER).then_some(end);
    }
}

/// Which key (index into `KEYS`) `s` starts with, among those at or after
/// `from`. Dispatches on the first letter (cheaper than comparing each).
#[inline]
fn key_at(s: &[u8], from: usize) -> Option<usize> {
    let k = match s.get(2)? {
        b'r' if s.get(3) == Some(&b'e') => match s.get(4)? {
            b'q' => 0,
            b'f' => 4,
            _ => return None,
        },
        b's' => 1,
        b'u' => 2,
        b'h' => 3,
        _ => return None,
    };
    (k >= from && s.starts_with(KEYS[k])).then_some(k)
}

/// Fill the quoted fields (`request` … `referrer`) of `ctx` from `rest`,
/// the text after `server: NAME`.
pub(crate) fn parse_fields<'a>(ctx: &mut Context<'a>, mut rest: &'a [u8]) {
    let mut next_key = 0;
    while !rest.is_empty() {
        let Some(k) = key_at(rest, next_key) else {
            // Something we do not know follows: keep what we have.
            break;
        };
        let value_start = KEYS[k].len();
        let (value, after) = quoted_value(&rest[value_start..], k);
        match k {
            0 => ctx.request = Some(value),
            1 => ctx.subrequest = Some(value),
            2 => ctx.upstream = Some(value),
            3 => ctx.host = Some(value),
            _ => ctx.referrer = Some(value),
        }
        match after {
            Some(a) => rest = &rest[value_start + a..],
            None => {
                ctx.cut = true;
                ctx.upstream_cut = k == UPSTREAM;
                break;
            }
        }
        next_key = k + 1;
    }
}

/// Only the `upstream:` field, found directly (the common case, cheaper
/// than walking every field). Falls back to [`parse_fields`] when the value
/// found holds a quote: a request line crafted to contain the key (nginx
/// itself rarely puts a quote there).
/// Returns the parsed field.
pub(crate) fn parse_upstream_only<'a>(
    ctx: &mut Context<'a>,
    rest: &'a [u8],
) -> Option<UpstreamField<'a>> {
    const KEY: &[u8] = b", upstream: \"";
    let p = crate::find::find!(rest, b", upstream: \"")?;
    let value = &rest[p + KEY.len()..];
    let (v, after) = quoted_value(value, UPSTREAM);
    let field = parse_upstream_field(v);
    if field.is_none() || memchr::memchr(b'"', v).is_some() {
        parse_fields(ctx, rest);
        return ctx.upstream_field();
    }
    ctx.upstream = Some(v);
    if after.is_none() {
        ctx.cut = true;
        ctx.upstream_cut = true;
    }
    field
}

/// A quoted value of key `k`: returns the value and the offset just after
/// its closing quote, or `None` as the offset when the value runs to the
/// end without one (cut). For the request line, a terminator right after
/// ` HTTP/d.d` wins over an earlier one (the line is attacker-written).
fn quoted_value(s: &[u8], k: usize) -> (&[u8], Option<usize>) {
    let mut from = 0;
    let mut first = None;
    while let Some(q) = memchr::memchr(b'"', &s[from..]).map(|q| q + from) {
        let tail = &s[q + 1..];
        let ok = tail.is_empty()
            || (tail.starts_with(b", ")
                && key_at(tail, k + 1).is_some_and(|j| {
                    j != UPSTREAM || parse_upstream_field(&tail[KEYS[j].len()..]).is_some()
                }));
        if ok {
            if k != 0 || ends_with_http_version(&s[..q]) {
                return (&s[..q], Some(q + 1));
            }
            first.get_or_insert(q);
        }
        from = q + 1;
    }
    match first {
        Some(q) => (&s[..q], Some(q + 1)),
        None => (s, None),
    }
}

fn ends_with_http_version(v: &[u8]) -> bool {
    matches!(v, [.., b' ', b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain byte-by-byte definitions the word-at-a-time scans follow.
    fn client_end_bytewise(rest: &[u8]) -> Option<Option<usize>> {
        let bad = |a: &[u8]| {
            a.len() > MAX_ADDR
                || a.iter()
                    .any(|&c| c == b' ' || c == b'"' || c == b',' || c < 0x20)
        };
        match memchr::memchr(b',', rest) {
            Some(c) if !bad(&rest[..c]) => Some(Some(c)),
            Some(_) => None,
            None if !rest.is_empty() && !bad(rest) => Some(None),
            None => None,
        }
    }

    fn server_end_bytewise(rest: &[u8]) -> Option<usize> {
        let end = rest
            .windows(2)
            .position(|w| w == b", ")
            .unwrap_or(rest.len());
        (end <= MAX_SERVER && !rest[..end].contains(&b'"')).then_some(end)
    }

    #[test]
    fn word_scans_agree_with_the_bytewise_definitions() {
        const ALPHABET: [u8; 8] = [b',', b' ', b'"', b'a', 0x01, 0x1f, 0x80, 0xff];
        let mut cases: Vec<Vec<u8>> = Vec::new();
        // Every string of up to 5 letters, and each padded past a word.
        for len in 0..=5u32 {
            for n in 0..ALPHABET.len().pow(len) {
                let mut s = Vec::new();
                let mut k = n;
                for _ in 0..len {
                    s.push(ALPHABET[k % ALPHABET.len()]);
                    k /= ALPHABET.len();
                }
                for pad in [0, 7, 9, 120, 124, 250, 254] {
                    let mut p = vec![b'x'; pad];
                    p.extend_from_slice(&s);
                    cases.push(p);
                }
            }
        }
        for s in &cases {
            assert_eq!(client_end(s), client_end_bytewise(s), "{s:?}");
            assert_eq!(server_end(s), server_end_bytewise(s), "{s:?}");
        }
    }
}
