//! Protocol sniffing: given what nginx sent and the bytes that came back,
//! which protocol does the peer actually speak? The answer is the SPEC's
//! `protocol` value. Pure functions over bytes, so they are unit-tested on
//! fixtures and fuzzed; the network code only feeds them.

use serde::Serialize;

use crate::target::Scheme;
use crate::{cgi, fastcgi, h2, http, tls_wire};

/// What the peer speaks (the SPEC's `protocol`). `scgi` and `memcached`
/// extend the SPEC list for `scgi_pass` and `memcached_pass` upstreams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Speaks {
    /// HTTP/1.x.
    Http,
    /// HTTP/2 (h2c, or inside TLS).
    H2,
    /// FastCGI.
    Fastcgi,
    /// uwsgi.
    Uwsgi,
    /// TLS.
    Tls,
    /// SCGI.
    Scgi,
    /// memcached text protocol.
    Memcached,
    /// Accepted the connection and said nothing before the timeout.
    Silent,
    /// Accepted the connection and closed it without a byte.
    Closed,
    /// Sent bytes of no protocol we recognise (or nothing was learnt).
    Unknown,
}

impl Speaks {
    /// The kebab-case value used in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Speaks::Http => "http",
            Speaks::H2 => "h2",
            Speaks::Fastcgi => "fastcgi",
            Speaks::Uwsgi => "uwsgi",
            Speaks::Tls => "tls",
            Speaks::Scgi => "scgi",
            Speaks::Memcached => "memcached",
            Speaks::Silent => "silent",
            Speaks::Closed => "closed",
            Speaks::Unknown => "unknown",
        }
    }

    /// How a person names it.
    pub const fn human(self) -> &'static str {
        match self {
            Speaks::Http => "HTTP/1.x",
            Speaks::H2 => "HTTP/2",
            Speaks::Fastcgi => "FastCGI",
            Speaks::Uwsgi => "uwsgi",
            Speaks::Tls => "TLS",
            Speaks::Scgi => "SCGI",
            Speaks::Memcached => "memcached",
            Speaks::Silent => "nothing (silence)",
            Speaks::Closed => "nothing (closed the connection)",
            Speaks::Unknown => "an unrecognised protocol",
        }
    }

    /// Whether this is a real protocol identification (not silence,
    /// closing, or unknown bytes).
    pub const fn is_protocol(self) -> bool {
        !matches!(self, Speaks::Silent | Speaks::Closed | Speaks::Unknown)
    }

    /// The protocol a peer must speak for nginx's `scheme` to work (the
    /// outer layer: TLS for https and grpcs).
    pub const fn expected_for(scheme: Scheme) -> Speaks {
        match scheme {
            Scheme::Http => Speaks::Http,
            Scheme::Https | Scheme::Grpcs => Speaks::Tls,
            Scheme::Fastcgi => Speaks::Fastcgi,
            Scheme::Uwsgi => Speaks::Uwsgi,
            Scheme::Scgi => Speaks::Scgi,
            Scheme::Grpc => Speaks::H2,
            Scheme::Memcached => Speaks::Memcached,
        }
    }
}

/// What was sent to the peer before reading its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sent {
    /// An HTTP/1.0 GET.
    HttpRequest,
    /// A FastCGI `FCGI_GET_VALUES` management record.
    FastcgiGetValues,
    /// A FastCGI responder request (PHP-FPM `ping.path`).
    FastcgiRequest,
    /// A uwsgi request packet.
    UwsgiRequest,
    /// An SCGI request.
    ScgiRequest,
    /// The HTTP/2 connection preface and SETTINGS.
    H2Preface,
    /// A TLS ClientHello.
    TlsClientHello,
    /// memcached `version`.
    MemcachedVersion,
}

impl Sent {
    /// The protocol this message belongs to.
    pub const fn protocol(self) -> Speaks {
        match self {
            Sent::HttpRequest => Speaks::Http,
            Sent::FastcgiGetValues | Sent::FastcgiRequest => Speaks::Fastcgi,
            Sent::UwsgiRequest => Speaks::Uwsgi,
            Sent::ScgiRequest => Speaks::Scgi,
            Sent::H2Preface => Speaks::H2,
            Sent::TlsClientHello => Speaks::Tls,
            Sent::MemcachedVersion => Speaks::Memcached,
        }
    }
}

/// Classify bytes that came back, whatever was sent (no context): the
/// self-identifying protocols only.
pub fn classify_bytes(buf: &[u8]) -> Speaks {
    if buf.is_empty() {
        return Speaks::Unknown;
    }
    if buf.starts_with(b"HTTP/") {
        return Speaks::Http;
    }
    if tls_wire::looks_like_tls(buf) {
        return Speaks::Tls;
    }
    if let Some((rec, _)) = fastcgi::parse_record(buf)
        && rec.version == 1
        && (1..=fastcgi::UNKNOWN_TYPE).contains(&rec.kind)
        && buf[7] == 0
    {
        return Speaks::Fastcgi;
    }
    if let Some(h) = h2::frame_header(buf)
        && (h.kind == h2::SETTINGS || h.kind == h2::GOAWAY)
        && h.stream == 0
        && h.length <= 16384
    {
        return Speaks::H2;
    }
    if cgi::is_memcached_reply(buf) {
        return Speaks::Memcached;
    }
    Speaks::Unknown
}

/// Classify the answer to `sent`: an answer in the protocol that was sent
/// counts as speaking it (a uwsgi server answers a uwsgi packet with an
/// HTTP-style head; that is uwsgi, not HTTP).
pub fn classify(sent: Sent, buf: &[u8]) -> Speaks {
    match sent {
        Sent::UwsgiRequest | Sent::ScgiRequest if buf.starts_with(b"HTTP/") || is_cgi_head(buf) => {
            return sent.protocol();
        }
        Sent::HttpRequest => {
            if let http::Head::Complete(f) = http::parse_head(buf)
                && http::is_plain_http_to_https_port(&f)
            {
                return Speaks::Tls;
            }
        }
        _ => {}
    }
    classify_bytes(buf)
}

fn is_cgi_head(buf: &[u8]) -> bool {
    let head = cgi::parse_head(buf);
    head.well_formed && head.header_bytes.is_some() && head.status.is_some()
}

/// The first bytes as lowercase hex (a raw fact for reports).
pub fn hex_prefix(buf: &[u8], max: usize) -> String {
    buf.iter()
        .take(max)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_identifying_protocols() {
        assert_eq!(classify_bytes(b"HTTP/1.1 200 OK\r\n"), Speaks::Http);
        assert_eq!(classify_bytes(&[21, 3, 3, 0, 2, 2, 50]), Speaks::Tls);
        assert_eq!(classify_bytes(&[1, 10, 0, 0, 0, 0, 0, 0]), Speaks::Fastcgi);
        assert_eq!(
            classify_bytes(&[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]),
            Speaks::H2
        );
        assert_eq!(classify_bytes(b"VERSION 1.6.21\r\n"), Speaks::Memcached);
        assert_eq!(classify_bytes(b"SSH-2.0-OpenSSH_9.2\r\n"), Speaks::Unknown);
    }

    #[test]
    fn answers_in_the_sent_protocol() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhi";
        assert_eq!(classify(Sent::UwsgiRequest, head), Speaks::Uwsgi);
        assert_eq!(classify(Sent::HttpRequest, head), Speaks::Http);
        assert_eq!(
            classify(
                Sent::ScgiRequest,
                b"Status: 200 OK\r\nContent-Type: x\r\n\r\n"
            ),
            Speaks::Scgi
        );
        let nginx_tls = b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title>";
        assert_eq!(classify(Sent::HttpRequest, nginx_tls), Speaks::Tls);
        assert_eq!(Speaks::expected_for(Scheme::Grpc), Speaks::H2);
        assert_eq!(hex_prefix(b"\x01\xff", 8), "01ff");
    }
}
