//! Neutralisation of untrusted text (log lines, request strings, config
//! values) for terminal output.
//!
//! nginx writes request lines, `Host` and `Referer` headers and FastCGI
//! stderr into its error log without escaping, so a client can put terminal
//! escape sequences there. Before any such text reaches a terminal, every C0
//! control byte (tab included, so columns stay honest), DEL, every C1
//! control, every Unicode bidirectional override and every byte that is not
//! valid UTF-8 is replaced by a visible `\xHH` (or `\u{HHHH}`) form.

use std::borrow::Cow;
use std::fmt::Write;

/// Neutralise raw bytes for display: valid, harmless UTF-8 passes through;
/// everything else becomes a visible escape.
pub fn neutralize(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => neutralize_str(s),
        Err(_) => Cow::Owned(neutralize_lossy(bytes)),
    }
}

/// Neutralise a string already known to be UTF-8.
pub fn neutralize_str(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_char(&mut out, c);
    }
    Cow::Owned(out)
}

fn neutralize_lossy(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 16);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                for c in s.chars() {
                    push_char(&mut out, c);
                }
                return out;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                // SAFETY-free: `good` is valid UTF-8 by construction.
                for c in std::str::from_utf8(good).unwrap_or_default().chars() {
                    push_char(&mut out, c);
                }
                let bad = e.error_len().unwrap_or(rest.len());
                for b in &rest[..bad] {
                    let _ = write!(out, "\\x{b:02x}");
                }
                bytes = &rest[bad..];
            }
        }
    }
}

fn push_char(out: &mut String, c: char) {
    if is_dangerous(c) {
        let n = c as u32;
        if n < 0x100 {
            let _ = write!(out, "\\x{n:02x}");
        } else {
            let _ = write!(out, "\\u{{{n:04x}}}");
        }
    } else {
        out.push(c);
    }
}

/// Characters that can change what a terminal shows or does.
fn is_dangerous(c: char) -> bool {
    let n = c as u32;
    n < 0x20
        || n == 0x7f
        || (0x80..=0x9f).contains(&n)
        || (0x202a..=0x202e).contains(&n)
        || (0x2066..=0x2069).contains(&n)
        || n == 0x200e
        || n == 0x200f
        || n == 0x061c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(neutralize(b"GET / HTTP/1.1"), Cow::Borrowed(_)));
        assert_eq!(neutralize("héllo".as_bytes()), "héllo");
    }

    #[test]
    fn escape_sequences_become_visible() {
        let evil = b"GET /\x1b]0;owned\x07\x1b[2J HTTP/1.1";
        let out = neutralize(evil);
        assert!(!out.bytes().any(|b| b < 0x20 || b == 0x7f));
        assert_eq!(out, "GET /\\x1b]0;owned\\x07\\x1b[2J HTTP/1.1");
    }

    #[test]
    fn invalid_utf8_and_c1_and_bidi() {
        assert_eq!(neutralize(b"a\xffb\xc3"), "a\\xffb\\xc3");
        assert_eq!(neutralize("x\u{9b}31m".as_bytes()), "x\\x9b31m");
        assert_eq!(neutralize("a\u{202e}b".as_bytes()), "a\\u{202e}b");
        assert_eq!(neutralize(b"tab\there\n"), "tab\\x09here\\x0a");
    }
}
