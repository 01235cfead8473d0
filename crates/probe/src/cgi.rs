//! The CGI-family protocols nginx speaks besides FastCGI — uwsgi (a 4-byte
//! header plus little-endian length-prefixed variables), SCGI (a netstring
//! of NUL-separated headers) and memcached's text protocol — and the reader
//! for CGI-style response heads that uwsgi, SCGI and FastCGI's STDOUT share:
//! an optional `HTTP/1.x` status line, otherwise a `Status:` header.

use serde::Serialize;

/// The CGI variables nginx sends for a `GET uri` (a subset of
/// `uwsgi_params`/`scgi_params` that every app server accepts).
pub fn params<'a>(uri: &'a str, host: &'a str, port: &'a str) -> Vec<(&'a str, &'a str)> {
    let path = uri.split('?').next().unwrap_or("/");
    let query = uri.split_once('?').map_or("", |(_, q)| q);
    vec![
        ("REQUEST_METHOD", "GET"),
        ("REQUEST_URI", uri),
        ("PATH_INFO", path),
        ("DOCUMENT_URI", path),
        ("QUERY_STRING", query),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("SERVER_PROTOCOL", "HTTP/1.0"),
        ("SERVER_NAME", host),
        ("SERVER_PORT", port),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("HTTP_HOST", host),
        ("HTTP_USER_AGENT", "badgateway-probe"),
    ]
}

/// A uwsgi request packet (modifier1 0, the WSGI request). `None` when the
/// variables exceed the protocol's 16-bit size (nginx: "uwsgi request is
/// too big").
pub fn uwsgi_request(vars: &[(&str, &str)]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    for (k, v) in vars {
        for s in [k, v] {
            body.extend_from_slice(&u16::try_from(s.len()).ok()?.to_le_bytes());
            body.extend_from_slice(s.as_bytes());
        }
    }
    let size = u16::try_from(body.len()).ok()?;
    let mut out = vec![0u8];
    out.extend_from_slice(&size.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&body);
    Some(out)
}

/// Decode a uwsgi packet's variables (for tests and fuzzing); `None` when
/// malformed.
pub fn uwsgi_decode(packet: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let size = usize::from(u16::from_le_bytes([*packet.get(1)?, *packet.get(2)?]));
    let mut body = packet.get(4..4 + size)?;
    let mut out = Vec::new();
    let take = |body: &mut &[u8]| -> Option<Vec<u8>> {
        let n = usize::from(u16::from_le_bytes([*body.first()?, *body.get(1)?]));
        let s = body.get(2..2 + n)?.to_vec();
        *body = &body[2 + n..];
        Some(s)
    };
    while !body.is_empty() {
        let k = take(&mut body)?;
        let v = take(&mut body)?;
        out.push((k, v));
    }
    Some(out)
}

/// An SCGI request: `len:headers,` with `CONTENT_LENGTH` first and `SCGI 1`.
pub fn scgi_request(vars: &[(&str, &str)]) -> Vec<u8> {
    let mut headers = Vec::new();
    for (k, v) in [("CONTENT_LENGTH", "0"), ("SCGI", "1")]
        .iter()
        .chain(vars.iter().filter(|(k, _)| *k != "CONTENT_LENGTH"))
    {
        headers.extend_from_slice(k.as_bytes());
        headers.push(0);
        headers.extend_from_slice(v.as_bytes());
        headers.push(0);
    }
    let mut out = format!("{}:", headers.len()).into_bytes();
    out.extend_from_slice(&headers);
    out.push(b',');
    out
}

/// A harmless memcached command with a one-line answer.
pub const MEMCACHED_VERSION: &[u8] = b"version\r\n";

/// Whether `buf` starts like a memcached text-protocol answer.
pub fn is_memcached_reply(buf: &[u8]) -> bool {
    [
        &b"VERSION "[..],
        b"END\r\n",
        b"ERROR\r\n",
        b"CLIENT_ERROR",
        b"SERVER_ERROR",
        b"VALUE ",
    ]
    .iter()
    .any(|p| buf.starts_with(p))
}

/// A CGI-style response head.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CgiHead {
    /// The status: from an `HTTP/1.x` status line or a `Status:` header.
    pub status: Option<u16>,
    /// Whether the head starts with an `HTTP/` status line.
    pub status_line: bool,
    /// The `Server` header (peer-controlled text).
    pub server: Option<String>,
    /// Header block size including the blank line, once complete.
    pub header_bytes: Option<usize>,
    /// Whether every line so far looks like a header (`Name: value`).
    pub well_formed: bool,
}

/// Parse a CGI-style head from the start of `buf` (tolerates LF-only lines,
/// as nginx does for CGI-family modules).
pub fn parse_head(buf: &[u8]) -> CgiHead {
    let mut head = CgiHead {
        well_formed: true,
        ..CgiHead::default()
    };
    let mut pos = 0;
    let mut first = true;
    while let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') {
        let line = &buf[pos..pos + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos += nl + 1;
        if line.is_empty() {
            head.header_bytes = Some(pos);
            return head;
        }
        if first && line.starts_with(b"HTTP/") {
            head.status_line = true;
            head.status = line
                .split(|&b| b == b' ')
                .nth(1)
                .and_then(|s| std::str::from_utf8(s).ok())
                .and_then(|s| s.parse().ok());
            first = false;
            continue;
        }
        first = false;
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            head.well_formed = false;
            return head;
        };
        let name = &line[..colon];
        let value = String::from_utf8_lossy(&line[colon + 1..])
            .trim()
            .to_owned();
        if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic()) {
            head.well_formed = false;
            return head;
        }
        if name.eq_ignore_ascii_case(b"status") {
            head.status = value.get(..3).and_then(|s| s.parse().ok());
        } else if name.eq_ignore_ascii_case(b"server") {
            head.server = Some(value);
        }
    }
    // Incomplete: judge the partial first line too.
    if first && !buf.is_empty() && !buf.starts_with(b"HTTP/") {
        let partial = &buf[pos..];
        if !partial
            .iter()
            .all(|b| b.is_ascii_graphic() || *b == b' ' || *b == b'\r')
        {
            head.well_formed = false;
        }
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uwsgi_round_trip() {
        let p = params("/a?b=1", "localhost", "80");
        let pkt = uwsgi_request(&p).unwrap();
        assert_eq!(pkt[0], 0);
        assert_eq!(
            usize::from(u16::from_le_bytes([pkt[1], pkt[2]])),
            pkt.len() - 4
        );
        let vars = uwsgi_decode(&pkt).unwrap();
        assert_eq!(vars[0], (b"REQUEST_METHOD".to_vec(), b"GET".to_vec()));
        assert!(vars.contains(&(b"QUERY_STRING".to_vec(), b"b=1".to_vec())));
        let huge = "x".repeat(70_000);
        assert!(uwsgi_request(&[("A", &huge)]).is_none());
        assert!(uwsgi_decode(&[0, 9, 0, 0, 1]).is_none());
    }

    #[test]
    fn scgi_netstring() {
        let r = scgi_request(&[("REQUEST_METHOD", "GET")]);
        let s = String::from_utf8(r).unwrap();
        let (len, rest) = s.split_once(':').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), rest.len() - 1);
        assert!(rest.starts_with("CONTENT_LENGTH\x000\x00SCGI\x001\x00"));
        assert!(rest.ends_with(','));
    }

    #[test]
    fn cgi_heads() {
        let h = parse_head(b"Status: 502 Bad Gateway\r\nContent-Type: text/plain\r\n\r\nx");
        assert_eq!(h.status, Some(502));
        assert_eq!(h.header_bytes, Some(53));
        let h = parse_head(b"HTTP/1.1 200 OK\nServer: uWSGI\n\nbody");
        assert!(h.status_line && h.well_formed);
        assert_eq!((h.status, h.server.as_deref()), (Some(200), Some("uWSGI")));
        assert!(!parse_head(b"\x16\x03\x01\x02\x00").well_formed);
        assert!(!parse_head(b"garbage line\r\n\r\n").well_formed);
        assert!(is_memcached_reply(b"VERSION 1.6.21\r\n"));
    }
}
