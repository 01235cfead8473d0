//! HTTP/1.x as nginx's proxy module speaks it: the request nginx sends
//! (HTTP/1.0 with `Connection: close`, as nginx before 1.29.7 does by
//! default) and a reader for the response head that keeps raw facts: status
//! line, `Server` header, and the size of the header block, which is what
//! must fit in `proxy_buffer_size`.

use serde::Serialize;

/// The request nginx would send for `uri` with `Host: host`.
pub fn request(uri: &str, host: &str) -> Vec<u8> {
    format!(
        "GET {uri} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\
         User-Agent: badgateway-probe\r\nAccept: */*\r\n\r\n"
    )
    .into_bytes()
}

/// Facts from an HTTP/1.x response head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpFacts {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    /// Status code.
    pub status: u16,
    /// Reason phrase as sent (peer-controlled text).
    pub reason: String,
    /// The `Server` header, if any (peer-controlled text).
    pub server: Option<String>,
    /// Bytes of the status line plus headers plus the blank line: what
    /// nginx must hold in `proxy_buffer_size`.
    pub header_bytes: usize,
    /// Number of header fields.
    pub header_count: usize,
    /// `Content-Length`, when present and numeric.
    pub content_length: Option<u64>,
    /// The first bytes of the body that arrived with the head (lossy text).
    pub body_prefix: String,
}

/// What a buffer holds so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// A complete, valid head.
    Complete(HttpFacts),
    /// Starts like HTTP but the head is not complete yet.
    Partial,
    /// Starts like HTTP (`HTTP/`) but is malformed: nginx says
    /// "upstream sent invalid header" (502).
    Invalid(String),
    /// Does not start with `HTTP/`: nginx says "upstream sent no valid
    /// HTTP/1.0 header" and falls back to HTTP/0.9.
    NotHttp,
}

/// Maximum header fields parsed (more is still measured, not listed).
const MAX_HEADERS: usize = 256;

/// Parse the start of a response.
pub fn parse_head(buf: &[u8]) -> Head {
    let probe_len = buf.len().min(5);
    if buf[..probe_len] != b"HTTP/"[..probe_len] {
        return Head::NotHttp;
    }
    if buf.len() < 5 {
        return Head::Partial;
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            let mut server = None;
            let mut content_length = None;
            for h in resp.headers.iter() {
                if h.name.eq_ignore_ascii_case("server") {
                    server = Some(String::from_utf8_lossy(h.value).into_owned());
                } else if h.name.eq_ignore_ascii_case("content-length") {
                    content_length = std::str::from_utf8(h.value)
                        .ok()
                        .and_then(|v| v.trim().parse().ok());
                }
            }
            let body = &buf[n..];
            Head::Complete(HttpFacts {
                version: format!("HTTP/1.{}", resp.version.unwrap_or(0)),
                status: resp.code.unwrap_or(0),
                reason: resp.reason.unwrap_or("").to_owned(),
                server,
                header_bytes: n,
                header_count: resp.headers.len(),
                content_length,
                body_prefix: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
            })
        }
        Ok(httparse::Status::Partial) => Head::Partial,
        Err(httparse::Error::TooManyHeaders) => match head_end(buf) {
            Some(n) => Head::Complete(HttpFacts {
                version: String::from_utf8_lossy(&buf[..8.min(buf.len())]).into_owned(),
                status: status_digits(buf).unwrap_or(0),
                reason: String::new(),
                server: None,
                header_bytes: n,
                header_count: MAX_HEADERS,
                content_length: None,
                body_prefix: String::new(),
            }),
            None => Head::Partial,
        },
        Err(e) => Head::Invalid(e.to_string()),
    }
}

/// Where the head ends (index just past `\r\n\r\n`, or `\n\n`).
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn status_digits(buf: &[u8]) -> Option<u16> {
    let sp = buf.iter().position(|&b| b == b' ')?;
    let d = buf.get(sp + 1..sp + 4)?;
    std::str::from_utf8(d).ok()?.parse().ok()
}

/// nginx's own answer when plain HTTP reaches one of its TLS listeners: the
/// peer really wants TLS.
pub fn is_plain_http_to_https_port(facts: &HttpFacts) -> bool {
    facts.status == 400
        && facts
            .body_prefix
            .contains("plain HTTP request was sent to HTTPS port")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_head_gives_raw_facts() {
        let raw = b"HTTP/1.1 200 OK\r\nServer: gunicorn\r\nContent-Length: 2\r\n\r\nok";
        let Head::Complete(f) = parse_head(raw) else {
            panic!()
        };
        assert_eq!(f.version, "HTTP/1.1");
        assert_eq!(f.status, 200);
        assert_eq!(f.server.as_deref(), Some("gunicorn"));
        assert_eq!(f.header_bytes, raw.len() - 2);
        assert_eq!(f.content_length, Some(2));
        assert_eq!(f.body_prefix, "ok");
    }

    #[test]
    fn partial_invalid_and_foreign() {
        assert_eq!(parse_head(b"HTT"), Head::Partial);
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nX: y\r\n"), Head::Partial);
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\nX-Bad\x01: y\r\n\r\n"),
            Head::Invalid(_)
        ));
        assert_eq!(parse_head(b"\x15\x03\x03\x00\x02\x02\x46"), Head::NotHttp);
        assert_eq!(parse_head(b"SSH-2.0-OpenSSH"), Head::NotHttp);
        assert_eq!(parse_head(b""), Head::Partial);
    }

    #[test]
    fn request_is_what_nginx_sends() {
        let r = String::from_utf8(request("/x?y", "127.0.0.1:8000")).unwrap();
        assert!(r.starts_with("GET /x?y HTTP/1.0\r\nHost: 127.0.0.1:8000\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
    }
}
