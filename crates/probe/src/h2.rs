//! HTTP/2 with prior knowledge (h2c), as `grpc_pass grpc://` speaks it:
//! the client connection preface plus an empty SETTINGS frame, and a frame
//! scanner that recognises the server's SETTINGS (an HTTP/2 peer), GOAWAY,
//! and nginx's tell-tale for an HTTP/1.x peer — a first "frame length" of
//! 4740180 (`"HTT"`).

use serde::Serialize;

/// The client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame type SETTINGS.
pub const SETTINGS: u8 = 0x4;
/// Frame type GOAWAY.
pub const GOAWAY: u8 = 0x7;

/// The bytes nginx sends first on a gRPC upstream connection (preface plus
/// an empty SETTINGS frame).
pub fn client_preface() -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend_from_slice(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]);
    out
}

/// A frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FrameHeader {
    /// Payload length (24 bits).
    pub length: u32,
    /// Frame type.
    pub kind: u8,
    /// Flags.
    pub flags: u8,
    /// Stream identifier (31 bits).
    pub stream: u32,
}

/// Parse a frame header at the start of `buf`.
pub fn frame_header(buf: &[u8]) -> Option<FrameHeader> {
    let b = buf.get(..9)?;
    Some(FrameHeader {
        length: u32::from_be_bytes([0, b[0], b[1], b[2]]),
        kind: b[3],
        flags: b[4],
        stream: u32::from_be_bytes([b[5] & 0x7f, b[6], b[7], b[8]]),
    })
}

/// What an HTTP/2 peer sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct H2Facts {
    /// Frame types seen, in order (capped).
    pub frames: Vec<u8>,
    /// The server's SETTINGS (identifier, value).
    pub settings: Vec<(u16, u32)>,
    /// GOAWAY error code, if one came.
    pub goaway: Option<u32>,
    /// The first frame's length field: 4740180 means "HTT" (nginx logs
    /// "upstream sent too large http2 frame: 4740180").
    pub first_length: Option<u32>,
}

impl H2Facts {
    /// Whether the peer spoke HTTP/2: its first frame is a SETTINGS frame
    /// on stream 0 with a valid length.
    pub fn is_h2(&self) -> bool {
        self.frames.first() == Some(&SETTINGS)
    }
}

/// Scan the frames received so far.
pub fn scan(buf: &[u8]) -> H2Facts {
    let mut facts = H2Facts::default();
    let mut rest = buf;
    while let Some(h) = frame_header(rest) {
        if facts.first_length.is_none() {
            facts.first_length = Some(h.length);
            let valid_settings = h.kind == SETTINGS && h.stream == 0 && h.length % 6 == 0;
            if !valid_settings || h.length > 16384 {
                break;
            }
        }
        let Some(payload) = rest.get(9..9 + h.length as usize) else {
            if facts.frames.len() < 32 {
                facts.frames.push(h.kind);
            }
            break;
        };
        if facts.frames.len() < 32 {
            facts.frames.push(h.kind);
        }
        if h.kind == SETTINGS && h.flags & 1 == 0 {
            for s in payload.chunks_exact(6) {
                facts.settings.push((
                    u16::from_be_bytes([s[0], s[1]]),
                    u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
                ));
            }
        } else if h.kind == GOAWAY && payload.len() >= 8 {
            facts.goaway = Some(u32::from_be_bytes([
                payload[4], payload[5], payload[6], payload[7],
            ]));
        }
        rest = &rest[9 + h.length as usize..];
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_settings_are_h2() {
        let mut buf = vec![0, 0, 6, SETTINGS, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100];
        buf.extend_from_slice(&[0, 0, 0, SETTINGS, 1, 0, 0, 0, 0]);
        let f = scan(&buf);
        assert!(f.is_h2());
        assert_eq!(f.settings, [(3, 100)]);
        assert_eq!(f.frames, [SETTINGS, SETTINGS]);
    }

    #[test]
    fn http1_answer_is_the_famous_4740180() {
        let f = scan(b"HTTP/1.1 400 Bad Request\r\n");
        assert!(!f.is_h2());
        assert_eq!(f.first_length, Some(4_740_180));
    }

    #[test]
    fn goaway_code() {
        let buf = [0, 0, 8, GOAWAY, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(scan(&buf).goaway, None); // not preceded by SETTINGS
        let mut ok = vec![0, 0, 0, SETTINGS, 0, 0, 0, 0, 0];
        ok.extend_from_slice(&buf);
        assert_eq!(scan(&ok).goaway, Some(1));
        assert_eq!(client_preface().len(), 24 + 9);
    }
}
