//! One request/answer exchange on a connected stream: send what nginx (or an
//! identification probe) sends, read the answer under a timeout, and keep
//! the raw facts — how the read ended, the first bytes, and what each
//! protocol parser made of them.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::cgi::{self, CgiHead};
use crate::fastcgi::{self, FastcgiFacts};
use crate::h2::{self, H2Facts};
use crate::http::{self, HttpFacts};
use crate::sniff::{self, Sent, Speaks};
use crate::target::{Endpoint, Target};
use crate::tls::TlsFacts;
use crate::tls_wire::{self, TlsRecord};

/// How reading the answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ended {
    /// A complete answer was read.
    Complete,
    /// The peer closed the connection.
    Eof,
    /// Nothing more came before the timeout.
    Timeout,
    /// A read error (reset); see `read_errno`.
    Reset,
    /// The read cap was reached.
    Cap,
    /// Sending the request failed; see `read_errno`.
    WriteFailed,
    /// A TLS handshake step (see `tls`).
    Handshake,
}

impl Ended {
    /// The kebab-case value used in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Ended::Complete => "complete",
            Ended::Eof => "eof",
            Ended::Timeout => "timeout",
            Ended::Reset => "reset",
            Ended::Cap => "cap",
            Ended::WriteFailed => "write-failed",
            Ended::Handshake => "handshake",
        }
    }
}

/// One exchange.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    /// What was sent.
    pub sent: Sent,
    /// What the answer shows the peer speaks.
    pub speaks: Speaks,
    /// How the read ended.
    pub ended: Ended,
    /// errno of a failed read or write.
    pub read_errno: Option<i32>,
    /// Bytes received.
    pub bytes: usize,
    /// The first bytes received, hex.
    pub first_bytes: String,
    /// The first bytes received as lossy text (peer-controlled: neutralise
    /// before display).
    pub first_text: String,
    /// Milliseconds from sending to the first byte.
    pub first_byte_ms: Option<f64>,
    /// Milliseconds for the whole exchange.
    pub ms: f64,
    /// HTTP/1.x response head facts.
    pub http: Option<HttpFacts>,
    /// Why the HTTP head is invalid ("upstream sent invalid header").
    pub http_error: Option<String>,
    /// FastCGI facts (also when FastCGI was sent and something else came).
    pub fastcgi: Option<FastcgiFacts>,
    /// CGI-style head (uwsgi, SCGI).
    pub cgi: Option<CgiHead>,
    /// HTTP/2 facts.
    pub h2: Option<H2Facts>,
    /// The first TLS record, when the answer was TLS.
    pub tls_record: Option<TlsRecord>,
    /// TLS handshake facts (https, grpcs, TLS identification).
    pub tls: Option<TlsFacts>,
    /// The exchange inside TLS (the HTTP request, the HTTP/2 preface).
    pub inner: Option<Box<Exchange>>,
}

impl Exchange {
    /// An empty exchange for `sent`.
    pub fn new(sent: Sent) -> Exchange {
        Exchange {
            sent,
            speaks: Speaks::Unknown,
            ended: Ended::Complete,
            read_errno: None,
            bytes: 0,
            first_bytes: String::new(),
            first_text: String::new(),
            first_byte_ms: None,
            ms: 0.0,
            http: None,
            http_error: None,
            fastcgi: None,
            cgi: None,
            h2: None,
            tls_record: None,
            tls: None,
            inner: None,
        }
    }

    /// Interpret the bytes received for this exchange.
    pub fn interpret(&mut self, buf: &[u8]) {
        self.bytes = buf.len();
        self.first_bytes = sniff::hex_prefix(buf, 32);
        self.first_text = String::from_utf8_lossy(&buf[..buf.len().min(96)]).into_owned();
        self.speaks = if buf.is_empty() {
            match self.ended {
                Ended::Timeout => Speaks::Silent,
                _ => Speaks::Closed,
            }
        } else {
            sniff::classify(self.sent, buf)
        };
        if buf.is_empty() {
            return;
        }
        if buf.starts_with(b"HTTP/") || self.sent == Sent::HttpRequest {
            match http::parse_head(buf) {
                http::Head::Complete(f) => self.http = Some(f),
                http::Head::Invalid(e) => self.http_error = Some(e),
                http::Head::Partial if buf.starts_with(b"HTTP/") => {
                    self.http_error = Some("incomplete response head".into());
                }
                _ => {}
            }
        }
        match self.sent {
            Sent::FastcgiGetValues | Sent::FastcgiRequest => {
                self.fastcgi = Some(fastcgi::scan(buf));
            }
            Sent::UwsgiRequest | Sent::ScgiRequest => self.cgi = Some(cgi::parse_head(buf)),
            Sent::H2Preface => self.h2 = Some(h2::scan(buf)),
            _ => {}
        }
        if self.speaks == Speaks::H2 && self.h2.is_none() {
            self.h2 = Some(h2::scan(buf));
        }
        if self.speaks == Speaks::Fastcgi && self.fastcgi.is_none() {
            self.fastcgi = Some(fastcgi::scan(buf));
        }
        self.tls_record = tls_wire::first_record(buf);
    }
}

/// The `Host` nginx sends: `$proxy_host` (host, plus the port when it is
/// not 80), `localhost` for unix sockets.
pub fn host_header(target: &Target) -> String {
    match &target.endpoint {
        Endpoint::Tcp { host, port } => {
            let h = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            let default = if target.scheme.is_tls() { 443 } else { 80 };
            if *port == default {
                h
            } else {
                format!("{h}:{port}")
            }
        }
        Endpoint::Unix { .. } => "localhost".into(),
    }
}

/// The bytes to send for `sent` to `target`.
pub fn payload(sent: Sent, target: &Target) -> Vec<u8> {
    let host = host_header(target);
    let port = match &target.endpoint {
        Endpoint::Tcp { port, .. } => port.to_string(),
        Endpoint::Unix { .. } => String::new(),
    };
    match sent {
        Sent::HttpRequest => http::request(&target.uri, &host),
        Sent::FastcgiGetValues => fastcgi::get_values(),
        Sent::FastcgiRequest => {
            let path = target.fastcgi_ping.as_deref().unwrap_or("/ping");
            fastcgi::request(&fastcgi::ping_params(path))
        }
        Sent::UwsgiRequest => cgi::uwsgi_request(&cgi::params(&target.uri, &host, &port))
            .unwrap_or_else(|| {
                cgi::uwsgi_request(&cgi::params("/", "localhost", "")).unwrap_or_default()
            }),
        Sent::ScgiRequest => cgi::scgi_request(&cgi::params(&target.uri, &host, &port)),
        Sent::H2Preface => h2::client_preface(),
        Sent::MemcachedVersion => cgi::MEMCACHED_VERSION.to_vec(),
        Sent::TlsClientHello => Vec::new(),
    }
}

/// Whether the answer so far is complete for `sent`.
fn done(sent: Sent, buf: &[u8]) -> bool {
    if buf.is_empty() {
        return false;
    }
    match sent {
        Sent::HttpRequest => !matches!(http::parse_head(buf), http::Head::Partial),
        Sent::FastcgiGetValues | Sent::FastcgiRequest => {
            let f = fastcgi::scan(buf);
            f.complete || f.violation.is_some()
        }
        Sent::UwsgiRequest | Sent::ScgiRequest => {
            let h = cgi::parse_head(buf);
            h.header_bytes.is_some() || !h.well_formed
        }
        Sent::H2Preface => match h2::frame_header(buf) {
            Some(h) if h.kind == h2::SETTINGS && h.length <= 16384 => {
                buf.len() >= 9 + h.length as usize
            }
            Some(_) => true,
            None => false,
        },
        Sent::MemcachedVersion => buf.windows(2).any(|w| w == b"\r\n"),
        Sent::TlsClientHello => true,
    }
}

/// Whether the bytes so far already belong to another protocol than the
/// one sent (then a short quiet gap ends the read instead of the timeout).
fn foreign(sent: Sent, buf: &[u8]) -> bool {
    !buf.is_empty() && sniff::classify(sent, buf) != sent.protocol()
}

/// Send `payload` and read the answer for up to `timeout` (at most `cap`
/// bytes).
pub async fn talk<S>(
    s: &mut S,
    sent: Sent,
    payload: &[u8],
    timeout: Duration,
    cap: usize,
) -> Exchange
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let start = Instant::now();
    let mut ex = Exchange::new(sent);
    match tokio::time::timeout(timeout, s.write_all(payload)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            ex.ended = Ended::WriteFailed;
            ex.read_errno = e.raw_os_error();
        }
        Err(_) => ex.ended = Ended::Timeout,
    }
    let mut buf = Vec::with_capacity(4096);
    if ex.ended == Ended::Complete {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut chunk = vec![0u8; 16384];
        loop {
            if done(sent, &buf) {
                ex.ended = Ended::Complete;
                break;
            }
            if buf.len() >= cap {
                ex.ended = Ended::Cap;
                break;
            }
            let until = if foreign(sent, &buf) {
                deadline.min(tokio::time::Instant::now() + Duration::from_millis(150))
            } else {
                deadline
            };
            match tokio::time::timeout_at(until, s.read(&mut chunk)).await {
                Err(_) => {
                    ex.ended = Ended::Timeout;
                    break;
                }
                Ok(Ok(0)) => {
                    ex.ended = Ended::Eof;
                    break;
                }
                Ok(Ok(n)) => {
                    if ex.first_byte_ms.is_none() {
                        ex.first_byte_ms = Some(crate::connect::ms_since(start));
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                Ok(Err(e)) => {
                    ex.ended = Ended::Reset;
                    ex.read_errno = e.raw_os_error();
                    break;
                }
            }
        }
    }
    ex.ms = crate::connect::ms_since(start);
    ex.interpret(&buf);
    ex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Target;

    #[test]
    fn host_header_follows_proxy_host() {
        let t = |s: &str| host_header(&Target::parse(s).unwrap());
        assert_eq!(t("127.0.0.1:8000"), "127.0.0.1:8000");
        assert_eq!(t("http://example.com"), "example.com");
        assert_eq!(t("https://example.com"), "example.com");
        assert_eq!(t("http://[::1]:81"), "[::1]:81");
        assert_eq!(t("unix:/run/a.sock"), "localhost");
    }

    #[test]
    fn interpret_silence_and_close() {
        let mut ex = Exchange::new(Sent::HttpRequest);
        ex.ended = Ended::Timeout;
        ex.interpret(b"");
        assert_eq!(ex.speaks, Speaks::Silent);
        let mut ex = Exchange::new(Sent::UwsgiRequest);
        ex.ended = Ended::Eof;
        ex.interpret(b"");
        assert_eq!(ex.speaks, Speaks::Closed);
    }

    #[test]
    fn fastcgi_sent_http_received() {
        let mut ex = Exchange::new(Sent::FastcgiGetValues);
        ex.interpret(b"HTTP/1.1 400 Bad Request\r\nServer: gunicorn\r\n\r\n");
        assert_eq!(ex.speaks, Speaks::Http);
        assert_eq!(
            ex.http.as_ref().unwrap().server.as_deref(),
            Some("gunicorn")
        );
        assert!(ex.fastcgi.unwrap().violation.unwrap().ends_with(": 72"));
    }
}
