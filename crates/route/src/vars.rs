//! nginx "complex values": strings with `$name`, `${name}` and `$1`…`$9`
//! references, split the way `ngx_http_script_compile` does it, plus the
//! request-derived variables that need no state (`$arg_*`, `$http_*`,
//! `$cookie_*`).

/// One piece of a complex value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal bytes.
    Lit(Vec<u8>),
    /// `$name` / `${name}`.
    Var(String),
    /// `$1`…`$9` (regex capture).
    Capture(usize),
}

/// Split a complex value into pieces. A `$` not followed by a name is kept
/// literally (nginx refuses such configs at start-up).
pub fn compile(s: &[u8]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'$' {
            lit.push(s[i]);
            i += 1;
            continue;
        }
        let next = s.get(i + 1).copied();
        if let Some(d @ b'1'..=b'9') = next {
            flush(&mut out, &mut lit);
            out.push(Piece::Capture(usize::from(d - b'0')));
            i += 2;
            continue;
        }
        let (bracket, start) = if next == Some(b'{') {
            (true, i + 2)
        } else {
            (false, i + 1)
        };
        let len = s[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if len == 0 || (bracket && s.get(start + len) != Some(&b'}')) {
            lit.push(b'$');
            i += 1;
            continue;
        }
        flush(&mut out, &mut lit);
        out.push(Piece::Var(
            String::from_utf8_lossy(&s[start..start + len]).into_owned(),
        ));
        i = start + len + usize::from(bracket);
    }
    flush(&mut out, &mut lit);
    out
}

fn flush(out: &mut Vec<Piece>, lit: &mut Vec<u8>) {
    if !lit.is_empty() {
        out.push(Piece::Lit(std::mem::take(lit)));
    }
}

/// Whether the value has any variable or capture.
pub fn has_vars(pieces: &[Piece]) -> bool {
    pieces.iter().any(|p| !matches!(p, Piece::Lit(_)))
}

/// `$arg_NAME`: the raw value of the first `NAME=` argument (name compared
/// case-insensitively, like `ngx_http_arg`).
pub fn arg(args: &[u8], name: &str) -> Option<Vec<u8>> {
    args.split(|&b| b == b'&').find_map(|kv| {
        let (k, v) = match kv.iter().position(|&b| b == b'=') {
            Some(i) => (&kv[..i], &kv[i + 1..]),
            None => (kv, &[][..]),
        };
        k.eq_ignore_ascii_case(name.as_bytes()).then(|| v.to_vec())
    })
}

/// `$cookie_NAME` from a `Cookie` header value.
pub fn cookie(header: &str, name: &str) -> Option<Vec<u8>> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        k.eq_ignore_ascii_case(name).then(|| v.as_bytes().to_vec())
    })
}

/// The header name a `$http_NAME` variable reads (`_` → `-`).
pub fn http_header_name(var_suffix: &str) -> String {
    var_suffix.replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_like_nginx() {
        assert_eq!(
            compile(b"/x/$1?a=${arg_b}c$uri$"),
            vec![
                Piece::Lit(b"/x/".to_vec()),
                Piece::Capture(1),
                Piece::Lit(b"?a=".to_vec()),
                Piece::Var("arg_b".into()),
                Piece::Lit(b"c".to_vec()),
                Piece::Var("uri".into()),
                Piece::Lit(b"$".to_vec()),
            ]
        );
        assert_eq!(
            compile(b"$10"),
            vec![Piece::Capture(1), Piece::Lit(b"0".to_vec())]
        );
        assert!(!has_vars(&compile(b"http://a/b")));
    }

    #[test]
    fn args_and_cookies() {
        assert_eq!(arg(b"a=1&B=2&b=3", "b"), Some(b"2".to_vec()));
        assert_eq!(arg(b"flag&x=", "flag"), Some(vec![]));
        assert_eq!(arg(b"a=1", "z"), None);
        assert_eq!(cookie("a=1; sid=xyz", "sid"), Some(b"xyz".to_vec()));
        assert_eq!(http_header_name("x_forwarded_for"), "x-forwarded-for");
    }
}
