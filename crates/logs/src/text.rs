//! Byte strings to `String` without losing information: valid UTF-8 is kept,
//! each invalid byte becomes `\xHH`. (Terminal neutralisation is the
//! renderer's job; JSON escaping is serde's.)

use std::fmt::Write;

/// `bytes` as a `String`, invalid UTF-8 bytes written as `\xHH`.
pub fn lossless(mut bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len());
                for b in &rest[..bad] {
                    let _ = write!(out, "\\x{b:02x}");
                }
                bytes = &rest[bad..];
            }
        }
    }
}

/// Undo nginx's default access-log escaping (`\xHH`) and JSON string
/// escapes, so access-log values compare with the raw error-log fields.
pub fn unescape(v: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !v.contains(&b'\\') {
        return std::borrow::Cow::Borrowed(v);
    }
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\\' && i + 1 < v.len() {
            match v[i + 1] {
                b'x' if i + 3 < v.len() => {
                    if let (Some(a), Some(b)) = (hex(v[i + 2]), hex(v[i + 3])) {
                        out.push(a * 16 + b);
                        i += 4;
                        continue;
                    }
                }
                b'u' if i + 5 < v.len() => {
                    let d: Option<Vec<u8>> = v[i + 2..i + 6].iter().map(|&c| hex(c)).collect();
                    if let Some(d) = d {
                        let n = d.iter().fold(0u32, |n, &x| n * 16 + u32::from(x));
                        let mut buf = [0u8; 4];
                        let c = char::from_u32(n).unwrap_or('\u{fffd}');
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        i += 6;
                        continue;
                    }
                }
                c @ (b'"' | b'\\' | b'/') => {
                    out.push(c);
                    i += 2;
                    continue;
                }
                b'n' => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                b't' => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                b'r' => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(v[i]);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossless_and_unescape() {
        assert_eq!(lossless(b"a\xffb"), "a\\xffb");
        assert_eq!(lossless("é".as_bytes()), "é");
        assert_eq!(
            &*unescape(b"GET /\\x1B[2J \\x22q\\x22"),
            b"GET /\x1b[2J \"q\""
        );
        assert_eq!(&*unescape(br#"a\"b\u00e9"#), "a\"bé".as_bytes());
        assert_eq!(&*unescape(b"trailing\\"), b"trailing\\");
    }
}
