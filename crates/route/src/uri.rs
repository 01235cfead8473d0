//! Request URIs as nginx handles them: the normalisation of the request
//! target (`ngx_http_parse_complex_uri`: percent-decoding, dot segments,
//! `merge_slashes`), and the two escaping tables nginx uses when it builds
//! an upstream request line (`NGX_ESCAPE_URI`) or puts regex captures into
//! query arguments (`NGX_ESCAPE_ARGS`). The tables were checked byte by byte
//! against nginx 1.22.1.

/// Why nginx answers `400 Bad Request` to a request target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// A `%` not followed by two hex digits.
    #[error("invalid percent-escape")]
    BadEscape,
    /// `%00` in the path.
    #[error("percent-encoded NUL byte")]
    Nul,
    /// A `..` segment that climbs above the root.
    #[error("\"..\" climbs above the root")]
    AboveRoot,
}

/// A request target split and normalised the way nginx does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `$uri`: decoded, dot segments resolved, slashes merged.
    pub uri: Vec<u8>,
    /// `$args`: the raw query string (no `?`), not decoded.
    pub args: Vec<u8>,
    /// The path contained a `%` (nginx's `r->quoted_uri`).
    pub quoted: bool,
    /// The path contained a `+` (nginx's `r->plus_in_uri`).
    pub plus: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Usual,
    Slash,
    Dot,
    DotDot,
}

/// Normalise a raw request target (`/path?query`) like
/// `ngx_http_parse_complex_uri`.
pub fn normalize(raw: &[u8], merge_slashes: bool) -> Result<Target, UriError> {
    let (path, args) = match raw.iter().position(|&b| b == b'?') {
        Some(i) => (&raw[..i], &raw[i + 1..]),
        None => (raw, &[][..]),
    };
    let args = match args.iter().position(|&b| b == b'#') {
        Some(i) => &args[..i],
        None => args,
    };
    let path = match path.iter().position(|&b| b == b'#') {
        Some(i) => &path[..i],
        None => path,
    };
    let mut t = Target {
        uri: Vec::with_capacity(path.len() + 1),
        args: args.to_vec(),
        quoted: path.contains(&b'%'),
        plus: path.contains(&b'+'),
    };
    let u = &mut t.uri;
    if !path.starts_with(b"/") {
        u.push(b'/');
    }
    let mut state = State::Usual;
    let mut i = 0;
    while i < path.len() {
        let mut ch = path[i];
        i += 1;
        if ch == b'%' {
            let hi = path.get(i).and_then(|&c| hex(c));
            let lo = path.get(i + 1).and_then(|&c| hex(c));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(UriError::BadEscape);
            };
            i += 2;
            ch = (hi << 4) | lo;
            match ch {
                0 => return Err(UriError::Nul),
                b'%' | b'#' | b'?' => {
                    // Kept literally: never re-read as syntax.
                    u.push(ch);
                    state = State::Usual;
                    continue;
                }
                b'+' => t.plus = true,
                _ => {}
            }
        }
        match (state, ch) {
            (State::Slash, b'/') => {
                if !merge_slashes {
                    u.push(b'/');
                }
            }
            (State::Dot, b'/') => {
                u.pop();
                state = State::Slash;
            }
            (State::DotDot, b'/') => {
                climb(u)?;
                state = State::Slash;
            }
            (_, b'/') => {
                u.push(b'/');
                state = State::Slash;
            }
            (State::Slash, b'.') => {
                u.push(b'.');
                state = State::Dot;
            }
            (State::Dot, b'.') => {
                u.push(b'.');
                state = State::DotDot;
            }
            _ => {
                u.push(ch);
                state = State::Usual;
            }
        }
    }
    match state {
        State::Dot => {
            u.pop();
        }
        State::DotDot => climb(u)?,
        _ => {}
    }
    Ok(t)
}

/// Undo `/<segment>/..`: `u` ends with `/..`; drop it and the segment
/// before it, keeping that segment's leading slash.
fn climb(u: &mut Vec<u8>) -> Result<(), UriError> {
    // Position of the slash before "..".
    let dots_slash = u.len().checked_sub(3).ok_or(UriError::AboveRoot)?;
    if dots_slash == 0 {
        return Err(UriError::AboveRoot);
    }
    match u[..dots_slash].iter().rposition(|&b| b == b'/') {
        Some(p) => {
            u.truncate(p + 1);
            Ok(())
        }
        None => Err(UriError::AboveRoot),
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Which bytes an escaping pass rewrites as `%XX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// `NGX_ESCAPE_URI`: used for the upstream request line after the URI
    /// changed or when the client's URI had percent-escapes.
    Uri,
    /// `NGX_ESCAPE_ARGS`: used for regex captures placed in query arguments.
    Args,
}

impl Escape {
    fn needs(self, b: u8) -> bool {
        if b <= 0x20 || b >= 0x7f {
            return true;
        }
        match self {
            Escape::Uri => matches!(
                b,
                b'"' | b'#' | b'%' | b'<' | b'>' | b'?' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
            ),
            Escape::Args => matches!(
                b,
                b'"' | b'#'
                    | b'%'
                    | b'&'
                    | b'+'
                    | b';'
                    | b'<'
                    | b'>'
                    | b'?'
                    | b'\\'
                    | b'^'
                    | b'`'
                    | b'{'
                    | b'|'
                    | b'}'
            ),
        }
    }
}

/// Escape `s` with nginx's table `how` (upper-case hex, like nginx).
pub fn escape(s: &[u8], how: Escape) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(s.len());
    for &b in s {
        if how.needs(b) {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Result<String, UriError> {
        normalize(s.as_bytes(), true).map(|t| String::from_utf8_lossy(&t.uri).into_owned())
    }

    #[test]
    fn dot_segments_and_slashes() {
        assert_eq!(n("/a/./b").unwrap(), "/a/b");
        assert_eq!(n("/a/../b").unwrap(), "/b");
        assert_eq!(n("/a/b/..").unwrap(), "/a/");
        assert_eq!(n("/a/.").unwrap(), "/a/");
        assert_eq!(n("/a//b").unwrap(), "/a/b");
        assert_eq!(n("/a/%2e%2E/b").unwrap(), "/b");
        assert_eq!(n("/a%2F%2Fb").unwrap(), "/a/b");
        assert_eq!(n("/.hidden/..x").unwrap(), "/.hidden/..x");
        assert_eq!(n("/..").unwrap_err(), UriError::AboveRoot);
        assert_eq!(n("/a/../..").unwrap_err(), UriError::AboveRoot);
        let t = normalize(b"/a//../b", false).unwrap();
        assert_eq!(t.uri, b"/a/b");
        assert_eq!(
            normalize(b"//x", false).unwrap().uri,
            b"//x",
            "merge_slashes off keeps them"
        );
    }

    #[test]
    fn decoding_and_args() {
        let t = normalize(b"/a%20b%3Fc?x=%41#frag", true).unwrap();
        assert_eq!(t.uri, b"/a b?c");
        assert_eq!(t.args, b"x=%41");
        assert!(t.quoted);
        assert_eq!(n("/%25/../x").unwrap(), "/x");
        assert_eq!(n("/a%zz").unwrap_err(), UriError::BadEscape);
        assert_eq!(n("/a%4").unwrap_err(), UriError::BadEscape);
        assert_eq!(n("/a%00").unwrap_err(), UriError::Nul);
        assert!(normalize(b"/a%2Bb", true).unwrap().plus);
    }

    #[test]
    fn escaping_tables() {
        assert_eq!(
            escape(b"/a b\"'<>\\^`{|}~%?#&+;", Escape::Uri),
            b"/a%20b%22'%3C%3E%5C%5E%60%7B%7C%7D~%25%3F%23&+;"
        );
        assert_eq!(escape(b"a&b+c;d/e", Escape::Args), b"a%26b%2Bc%3Bd/e");
        assert_eq!(escape("é".as_bytes(), Escape::Uri), b"%C3%A9");
    }
}
