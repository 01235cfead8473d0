//! FastCGI, hand-rolled (the protocol is small): the records nginx's
//! `fastcgi_pass` sends, `FCGI_GET_VALUES` for a side-effect-free check, and
//! a response scanner that reports exactly what nginx would see — a version
//! byte of 72 (`'H'`, an HTTP server), STDERR text ("Primary script
//! unknown"), the END_REQUEST protocol status (OVERLOADED, CANT_MPX_CONN),
//! and EOF before END_REQUEST.

use serde::Serialize;

use crate::cgi;

/// FCGI_BEGIN_REQUEST.
pub const BEGIN_REQUEST: u8 = 1;
/// FCGI_END_REQUEST.
pub const END_REQUEST: u8 = 3;
/// FCGI_PARAMS.
pub const PARAMS: u8 = 4;
/// FCGI_STDIN.
pub const STDIN: u8 = 5;
/// FCGI_STDOUT.
pub const STDOUT: u8 = 6;
/// FCGI_STDERR.
pub const STDERR: u8 = 7;
/// FCGI_GET_VALUES.
pub const GET_VALUES: u8 = 9;
/// FCGI_GET_VALUES_RESULT.
pub const GET_VALUES_RESULT: u8 = 10;
/// FCGI_UNKNOWN_TYPE (the highest defined type).
pub const UNKNOWN_TYPE: u8 = 11;

/// One record header plus its content (padding stripped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Protocol version (1).
    pub version: u8,
    /// Record type.
    pub kind: u8,
    /// Request id.
    pub request_id: u16,
    /// Content bytes.
    pub content: &'a [u8],
}

/// Parse one record at the start of `buf`: `Ok(None)` if incomplete,
/// otherwise the record and the bytes it used (header, content, padding).
pub fn parse_record(buf: &[u8]) -> Option<(Record<'_>, usize)> {
    if buf.len() < 8 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([buf[4], buf[5]]));
    let pad = usize::from(buf[6]);
    let total = 8 + len + pad;
    if buf.len() < total {
        return None;
    }
    Some((
        Record {
            version: buf[0],
            kind: buf[1],
            request_id: u16::from_be_bytes([buf[2], buf[3]]),
            content: &buf[8..8 + len],
        },
        total,
    ))
}

fn record(kind: u8, request_id: u16, content: &[u8], out: &mut Vec<u8>) {
    // Content longer than a record allows is split, as the spec requires.
    let mut chunks = content.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[
            1,
            kind,
            (request_id >> 8) as u8,
            request_id as u8,
            0,
            0,
            0,
            0,
        ]);
        return;
    }
    for c in chunks {
        let len = c.len() as u16;
        let pad = (8 - c.len() % 8) % 8;
        out.extend_from_slice(&[1, kind, (request_id >> 8) as u8, request_id as u8]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&[pad as u8, 0]);
        out.extend_from_slice(c);
        out.extend(std::iter::repeat_n(0u8, pad));
    }
}

/// Encode name-value pairs (1- or 4-byte lengths).
pub fn encode_pairs(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        for len in [k.len(), v.len()] {
            if len < 128 {
                out.push(len as u8);
            } else {
                out.extend_from_slice(&((len as u32) | 0x8000_0000).to_be_bytes());
            }
        }
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// Decode name-value pairs; `None` when malformed.
pub fn decode_pairs(mut buf: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    fn len(buf: &mut &[u8]) -> Option<usize> {
        let first = *buf.first()?;
        if first < 128 {
            *buf = &buf[1..];
            Some(usize::from(first))
        } else {
            let b = buf.get(..4)?;
            let n = u32::from_be_bytes([b[0] & 0x7f, b[1], b[2], b[3]]);
            *buf = &buf[4..];
            usize::try_from(n).ok()
        }
    }
    let mut out = Vec::new();
    while !buf.is_empty() {
        let k = len(&mut buf)?;
        let v = len(&mut buf)?;
        let key = buf.get(..k)?.to_vec();
        let value = buf.get(k..k.checked_add(v)?)?.to_vec();
        buf = &buf[k + v..];
        out.push((key, value));
    }
    Some(out)
}

/// `FCGI_GET_VALUES` asking for the three standard variables.
pub fn get_values() -> Vec<u8> {
    let mut out = Vec::new();
    let pairs = encode_pairs(&[
        ("FCGI_MAX_CONNS", ""),
        ("FCGI_MAX_REQS", ""),
        ("FCGI_MPXS_CONNS", ""),
    ]);
    record(GET_VALUES, 0, &pairs, &mut out);
    out
}

/// A complete responder request as nginx sends it: BEGIN_REQUEST (role
/// RESPONDER, no keep-conn), PARAMS, empty PARAMS, empty STDIN.
pub fn request(params: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    record(BEGIN_REQUEST, 1, &[0, 1, 0, 0, 0, 0, 0, 0], &mut out);
    record(PARAMS, 1, &encode_pairs(params), &mut out);
    record(PARAMS, 1, &[], &mut out);
    record(STDIN, 1, &[], &mut out);
    out
}

/// The params for a request to PHP-FPM's `ping.path`.
pub fn ping_params(path: &str) -> Vec<(&str, &str)> {
    vec![
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_SOFTWARE", "badgateway-probe"),
        ("REQUEST_METHOD", "GET"),
        ("SCRIPT_NAME", path),
        ("SCRIPT_FILENAME", path),
        ("REQUEST_URI", path),
        ("DOCUMENT_URI", path),
        ("QUERY_STRING", ""),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("SERVER_NAME", "localhost"),
        ("REMOTE_ADDR", "127.0.0.1"),
    ]
}

/// What a FastCGI peer sent back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FastcgiFacts {
    /// Record types in arrival order (capped).
    pub records: Vec<u8>,
    /// `FCGI_GET_VALUES_RESULT` pairs.
    pub values: Vec<(String, String)>,
    /// STDOUT bytes received.
    pub stdout_bytes: usize,
    /// STDERR text (peer-controlled; neutralise before display).
    pub stderr: String,
    /// The CGI `Status:` of the STDOUT head (200 when absent).
    pub status: Option<u16>,
    /// Bytes of the STDOUT header block (must fit `fastcgi_buffer_size`).
    pub header_bytes: Option<usize>,
    /// The first bytes of the STDOUT body (lossy text), e.g. `pong`.
    pub body_prefix: String,
    /// END_REQUEST appStatus.
    pub app_status: Option<u32>,
    /// END_REQUEST protocolStatus (0 complete, 1 cant-mpx-conn,
    /// 2 overloaded, 3 unknown-role).
    pub protocol_status: Option<u8>,
    /// Whether a complete END_REQUEST or GET_VALUES_RESULT ended the exchange.
    pub complete: bool,
    /// The error nginx would log, if the bytes are not valid FastCGI.
    pub violation: Option<String>,
}

impl FastcgiFacts {
    /// The protocol status name (`overloaded`).
    pub fn protocol_status_name(&self) -> Option<&'static str> {
        self.protocol_status.map(|s| match s {
            0 => "request-complete",
            1 => "cant-mpx-conn",
            2 => "overloaded",
            3 => "unknown-role",
            _ => "invalid",
        })
    }
}

/// Scan everything received so far. A first record with a bad version or
/// type gives the error nginx would log.
pub fn scan(buf: &[u8]) -> FastcgiFacts {
    let mut facts = FastcgiFacts::default();
    let mut stdout = Vec::new();
    let mut rest = buf;
    while let Some(&version) = rest.first() {
        // nginx checks the version byte first, then the type byte.
        if version != 1 {
            facts.violation = Some(format!(
                "upstream sent unsupported FastCGI protocol version: {version}"
            ));
            break;
        }
        if let Some(&kind) = rest.get(1)
            && (kind == 0 || kind > UNKNOWN_TYPE)
        {
            facts.violation = Some(format!("upstream sent invalid FastCGI record type: {kind}"));
            break;
        }
        let Some((rec, used)) = parse_record(rest) else {
            break;
        };
        if facts.records.len() < 64 {
            facts.records.push(rec.kind);
        }
        match rec.kind {
            STDOUT => {
                facts.stdout_bytes += rec.content.len();
                if stdout.len() < 65536 {
                    stdout.extend_from_slice(rec.content);
                }
            }
            STDERR if facts.stderr.len() < 4096 => {
                facts.stderr.push_str(&String::from_utf8_lossy(rec.content));
            }
            END_REQUEST if rec.content.len() >= 5 => {
                let c = rec.content;
                facts.app_status = Some(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                facts.protocol_status = Some(c[4]);
                facts.complete = true;
            }
            GET_VALUES_RESULT => {
                for (k, v) in decode_pairs(rec.content).unwrap_or_default() {
                    facts.values.push((
                        String::from_utf8_lossy(&k).into_owned(),
                        String::from_utf8_lossy(&v).into_owned(),
                    ));
                }
                facts.complete = true;
            }
            _ => {}
        }
        rest = &rest[used..];
        if facts.complete {
            break;
        }
    }
    if !stdout.is_empty() {
        let head = cgi::parse_head(&stdout);
        facts.status = head.status.or(head.header_bytes.map(|_| 200));
        facts.header_bytes = head.header_bytes;
        let body = &stdout[head.header_bytes.unwrap_or(stdout.len())..];
        facts.body_prefix = String::from_utf8_lossy(&body[..body.len().min(256)]).into_owned();
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_with_long_lengths() {
        let long = "x".repeat(300);
        let enc = encode_pairs(&[("A", "b"), ("LONG", &long)]);
        let dec = decode_pairs(&enc).unwrap();
        assert_eq!(dec[0], (b"A".to_vec(), b"b".to_vec()));
        assert_eq!(dec[1].1.len(), 300);
        assert!(decode_pairs(&[5, 1, b'a']).is_none());
    }

    #[test]
    fn request_is_well_formed_records() {
        let req = request(&ping_params("/ping"));
        let mut rest = &req[..];
        let mut kinds = Vec::new();
        while let Some((r, used)) = parse_record(rest) {
            assert_eq!(r.version, 1);
            kinds.push(r.kind);
            rest = &rest[used..];
        }
        assert!(rest.is_empty());
        assert_eq!(kinds, [BEGIN_REQUEST, PARAMS, PARAMS, STDIN]);
        assert_eq!(req.len() % 8, 0);
    }

    #[test]
    fn scan_reports_stdout_stderr_and_end() {
        let mut resp = Vec::new();
        record(STDERR, 1, b"Primary script unknown", &mut resp);
        record(
            STDOUT,
            1,
            b"Status: 404 Not Found\r\nContent-type: text/html\r\n\r\nFile not found.",
            &mut resp,
        );
        record(END_REQUEST, 1, &[0, 0, 0, 0, 0, 0, 0, 0], &mut resp);
        let f = scan(&resp);
        assert_eq!(f.records, [STDERR, STDOUT, END_REQUEST]);
        assert_eq!(f.stderr, "Primary script unknown");
        assert_eq!(f.status, Some(404));
        assert_eq!(f.body_prefix, "File not found.");
        assert!(f.complete);
        assert_eq!(f.protocol_status_name(), Some("request-complete"));
    }

    #[test]
    fn an_http_answer_is_version_72() {
        let f = scan(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        assert_eq!(
            f.violation.as_deref(),
            Some("upstream sent unsupported FastCGI protocol version: 72")
        );
        let f = scan(b"HTTP");
        assert!(f.violation.is_some());
    }

    #[test]
    fn get_values_result() {
        let mut resp = Vec::new();
        record(
            GET_VALUES_RESULT,
            0,
            &encode_pairs(&[("FCGI_MPXS_CONNS", "0")]),
            &mut resp,
        );
        let f = scan(&resp);
        assert!(f.complete);
        assert_eq!(f.values, [("FCGI_MPXS_CONNS".into(), "0".into())]);
        assert_eq!(get_values().len() % 8, 0);
    }
}
