//! Classification of raw TLS records, independent of any TLS library: what
//! a peer sent when it answered with TLS where nginx spoke plain text (an
//! alert to an HTTP request), or what came back to a ClientHello (a
//! ServerHello with a legacy version, an alert such as `protocol_version`
//! or `handshake_failure`).

use serde::Serialize;

/// The first TLS record in a buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsRecord {
    /// Content type: 20 change_cipher_spec, 21 alert, 22 handshake,
    /// 23 application_data.
    pub content_type: u8,
    /// Record-layer version (`0x0301` = TLS 1.0 … `0x0303`).
    pub version: u16,
    /// Record length.
    pub length: u16,
    /// For alerts: (level, description).
    pub alert: Option<(u8, u8)>,
    /// For handshakes: the handshake message type (2 = ServerHello).
    pub handshake_type: Option<u8>,
    /// For a ServerHello: the legacy `server_version` field.
    pub server_hello_version: Option<u16>,
}

/// Parse the first record if `buf` starts like TLS (SSL 3.0 … TLS 1.3
/// record versions, a known content type, a plausible length).
pub fn first_record(buf: &[u8]) -> Option<TlsRecord> {
    let h = buf.get(..5)?;
    let content_type = h[0];
    let version = u16::from_be_bytes([h[1], h[2]]);
    let length = u16::from_be_bytes([h[3], h[4]]);
    if !(20..=23).contains(&content_type) || !(0x0300..=0x0304).contains(&version) {
        return None;
    }
    if length == 0 || length > 16384 + 2048 {
        return None;
    }
    let body = &buf[5..];
    let mut rec = TlsRecord {
        content_type,
        version,
        length,
        alert: None,
        handshake_type: None,
        server_hello_version: None,
    };
    match content_type {
        21 => {
            if length != 2 {
                return None;
            }
            if let Some(a) = body.get(..2) {
                rec.alert = Some((a[0], a[1]));
            }
        }
        22 => {
            rec.handshake_type = body.first().copied();
            if rec.handshake_type == Some(2) {
                rec.server_hello_version = body.get(4..6).map(|v| u16::from_be_bytes([v[0], v[1]]));
            }
        }
        _ => {}
    }
    Some(rec)
}

/// Whether `buf` starts like a TLS record (at least the 5-byte header).
pub fn looks_like_tls(buf: &[u8]) -> bool {
    first_record(buf).is_some()
}

/// The name of a TLS alert description (`handshake_failure`).
pub fn alert_name(desc: u8) -> &'static str {
    match desc {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown_alert",
    }
}

/// The name of a protocol version (`TLSv1.2`).
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0300 => "SSLv3",
        0x0301 => "TLSv1",
        0x0302 => "TLSv1.1",
        0x0303 => "TLSv1.2",
        0x0304 => "TLSv1.3",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_records() {
        let r = first_record(&[21, 3, 1, 0, 2, 2, 70]).unwrap();
        assert_eq!(r.alert, Some((2, 70)));
        assert_eq!(alert_name(70), "protocol_version");
        assert!(first_record(&[21, 3, 1, 0, 3, 2, 70]).is_none());
    }

    #[test]
    fn server_hello_version() {
        let r = first_record(&[22, 3, 1, 0, 50, 2, 0, 0, 46, 3, 1]).unwrap();
        assert_eq!(r.handshake_type, Some(2));
        assert_eq!(r.server_hello_version, Some(0x0301));
        assert_eq!(version_name(0x0301), "TLSv1");
    }

    #[test]
    fn text_is_not_tls() {
        assert!(!looks_like_tls(b"HTTP/1.1 200 OK"));
        assert!(!looks_like_tls(&[22, 3]));
        assert!(!looks_like_tls(&[22, 9, 9, 0, 1]));
    }
}
