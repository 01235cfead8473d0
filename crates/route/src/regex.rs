//! nginx regexes (PCRE, byte mode, no UTF) evaluated with `regex-lite`.
//!
//! nginx compiles `location ~`, `rewrite`, `if (… ~ …)`, `map` and
//! `server_name ~` patterns with PCRE in byte mode: `.` matches one byte,
//! `\d`/`\w`/`\s` are ASCII, and `(?i)` folds ASCII letters only. To get
//! the same semantics from `regex-lite` (which works on `&str`), every byte
//! of pattern and subject is mapped to the `char` with the same value
//! (Latin-1), so one byte is one character.
//!
//! The PCRE syntax that `regex-lite` lacks is translated where the meaning
//! is exact (`{` that is not a quantifier is a literal, `\Z`, `\e`,
//! `(?'name'…)`, `\Q…\E`, `$` before a final newline); what cannot be
//! matched faithfully (look-around, back-references, atomic groups,
//! possessive quantifiers, recursion, `\p{…}`) is refused with a reason,
//! never approximated.

use std::fmt;

/// A pattern this engine cannot evaluate like PCRE would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexError {
    /// The pattern as written.
    pub pattern: String,
    /// What is not supported.
    pub reason: String,
}

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot evaluate regex \"{}\": {}",
            self.pattern, self.reason
        )
    }
}

impl std::error::Error for RegexError {}

/// A compiled nginx regex.
#[derive(Debug, Clone)]
pub struct Regex {
    re: regex_lite::Regex,
    /// The pattern as written in the config.
    pub source: String,
}

/// The groups of one successful match, as bytes (`None`: group did not take part).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    /// `$0`, `$1`, …
    pub groups: Vec<Option<Vec<u8>>>,
    /// Named groups (`(?<name>…)`), which nginx also exposes as `$name`.
    pub named: Vec<(String, Vec<u8>)>,
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn unlatin1(s: &str) -> Vec<u8> {
    // Every char came from one byte, so the cast is lossless.
    s.chars().map(|c| c as u32 as u8).collect()
}

impl Regex {
    /// Compile `pattern`; `caseless` is nginx's `~*` / `NGX_REGEX_CASELESS`.
    pub fn new(pattern: &[u8], caseless: bool) -> Result<Regex, RegexError> {
        let source = String::from_utf8_lossy(pattern).into_owned();
        let err = |reason: &str| RegexError {
            pattern: source.clone(),
            reason: reason.to_owned(),
        };
        let mut translated = translate(pattern).map_err(|r| err(&r))?;
        if caseless {
            translated.insert_str(0, "(?i)");
        }
        let re = regex_lite::Regex::new(&translated).map_err(|e| {
            let msg = e.to_string();
            err(msg.lines().last().unwrap_or("invalid pattern").trim())
        })?;
        Ok(Regex { re, source })
    }

    /// Match against `subject` (bytes, as nginx sees `$uri`).
    pub fn captures(&self, subject: &[u8]) -> Option<Captures> {
        let s = latin1(subject);
        let caps = self.re.captures(&s)?;
        let groups = (0..caps.len())
            .map(|i| caps.get(i).map(|m| unlatin1(m.as_str())))
            .collect();
        let named = self
            .re
            .capture_names()
            .flatten()
            .filter_map(|n| Some((n.to_owned(), unlatin1(caps.name(n)?.as_str()))))
            .collect();
        Some(Captures { groups, named })
    }

    /// Whether `subject` matches.
    pub fn is_match(&self, subject: &[u8]) -> bool {
        self.re.is_match(&latin1(subject))
    }
}

/// Translate PCRE syntax to `regex-lite` syntax over Latin-1 chars.
fn translate(p: &[u8]) -> Result<String, String> {
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = 0;
    while i < p.len() {
        let c = p[i];
        if c == b'\\' {
            let Some(&n) = p.get(i + 1) else {
                return Err("pattern ends with a backslash".into());
            };
            i += 2;
            match n {
                b'Q' => {
                    let end = find(p, i, b"\\E");
                    for &b in &p[i..end.unwrap_or(p.len())] {
                        push_literal(&mut out, b);
                    }
                    i = end.map_or(p.len(), |e| e + 2);
                }
                b'E' => {}
                b'Z' if !in_class => out.push_str("(?:\\n?\\z)"),
                b'e' => out.push_str("\\x1B"),
                b'a' => out.push_str("\\x07"),
                b'h' if !in_class => out.push_str("[\\t ]"),
                b'h' => out.push_str("\\t "),
                b'd' | b'D' | b'w' | b'W' | b's' | b'S' | b'n' | b'r' | b't' | b'f' | b'v' => {
                    out.push('\\');
                    out.push(char::from(n));
                }
                b'b' | b'B' | b'A' | b'z' if !in_class => {
                    out.push('\\');
                    out.push(char::from(n));
                }
                b'b' => out.push_str("\\x08"),
                b'x' => {
                    let (value, used) = hex_escape(&p[i..])?;
                    i += used;
                    push_literal(&mut out, value);
                }
                b'0' => {
                    let digits = p[i..]
                        .iter()
                        .take(2)
                        .take_while(|b| (b'0'..=b'7').contains(b))
                        .count();
                    let v = p[i..i + digits]
                        .iter()
                        .fold(0u32, |a, &b| a * 8 + u32::from(b - b'0'));
                    i += digits;
                    push_literal(&mut out, u8::try_from(v).unwrap_or(0));
                }
                b'1'..=b'9' => return Err("back-references are not supported".into()),
                b'p' | b'P' | b'X' | b'R' | b'C' => {
                    return Err(format!("\\{} is not supported", char::from(n)));
                }
                b'G' | b'K' => return Err(format!("\\{} is not supported", char::from(n))),
                _ if n.is_ascii_alphanumeric() => {
                    return Err(format!("unknown escape \\{}", char::from(n)));
                }
                _ => push_literal(&mut out, n),
            }
            continue;
        }
        if in_class {
            match c {
                b']' => {
                    in_class = false;
                    out.push(']');
                }
                b'[' if p.get(i + 1) == Some(&b':') => {
                    let end = find(p, i + 2, b":]")
                        .ok_or_else(|| "unterminated POSIX class".to_owned())?;
                    out.push_str(&latin1(&p[i..end + 2]));
                    i = end + 2;
                    continue;
                }
                b'[' | b'&' | b'~' => {
                    out.push('\\');
                    out.push(char::from(c));
                }
                b'-' if needs_escape_dash(p, i, class_start) => out.push_str("\\-"),
                _ => push_raw(&mut out, c),
            }
            i += 1;
            continue;
        }
        match c {
            b'[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if p.get(i) == Some(&b'^') {
                    out.push('^');
                    i += 1;
                }
                // A ']' right after '[' or '[^' is a literal.
                if p.get(i) == Some(&b']') {
                    out.push_str("\\]");
                    i += 1;
                }
                class_start = i;
                continue;
            }
            b'{' => {
                match quantifier_len(&p[i..]) {
                    Some(len) => {
                        out.push_str(&latin1(&p[i..i + len]));
                        i += len;
                        possessive(p, i)?;
                    }
                    None => {
                        out.push_str("\\{");
                        i += 1;
                    }
                }
                continue;
            }
            b'}' => out.push_str("\\}"),
            b'$' => out.push_str("(?:\\n?\\z)"),
            b'*' | b'+' | b'?' => {
                out.push(char::from(c));
                possessive(p, i + 1)?;
            }
            b'(' if p.get(i + 1) == Some(&b'?') => {
                let used = group_open(&p[i..], &mut out)?;
                i += used;
                continue;
            }
            _ => push_raw(&mut out, c),
        }
        i += 1;
    }
    if in_class {
        return Err("missing terminating ] for character class".into());
    }
    Ok(out)
}

/// A quantifier followed by `+` is possessive in PCRE.
fn possessive(p: &[u8], after: usize) -> Result<(), String> {
    if p.get(after) == Some(&b'+') {
        return Err("possessive quantifiers are not supported".into());
    }
    Ok(())
}

/// In a class, `-` is a range unless first or last; regex-lite wants a
/// literal one escaped only where it is ambiguous, and escaping always works.
fn needs_escape_dash(p: &[u8], i: usize, class_start: usize) -> bool {
    i == class_start || p.get(i + 1) == Some(&b']')
}

/// `(?…` constructs: pass through the supported ones, translate named
/// groups, refuse the rest. Returns the bytes consumed.
fn group_open(p: &[u8], out: &mut String) -> Result<usize, String> {
    let rest = &p[2..];
    let refuse = |what: &str| Err(format!("{what} is not supported"));
    match rest.first() {
        Some(b':') => {
            out.push_str("(?:");
            Ok(3)
        }
        Some(b'=' | b'!') => refuse("look-ahead"),
        Some(b'>') => refuse("atomic groups"),
        Some(b'|') => refuse("branch reset groups"),
        Some(b'#') => {
            let end = p
                .iter()
                .position(|&b| b == b')')
                .ok_or("unterminated comment")?;
            Ok(end + 1)
        }
        Some(b'<') if matches!(rest.get(1), Some(b'=' | b'!')) => refuse("look-behind"),
        Some(b'<') | Some(b'\'') | Some(b'P') => {
            let (skip, close) = match rest[0] {
                b'<' => (1, b'>'),
                b'\'' => (1, b'\''),
                _ => match rest.get(1) {
                    Some(b'<') => (2, b'>'),
                    _ => return refuse("(?P=name) back-references and (?P>name) recursion"),
                },
            };
            let name_start = 2 + skip;
            let len = p[name_start..]
                .iter()
                .position(|&b| b == close)
                .ok_or("unterminated group name")?;
            let name = &p[name_start..name_start + len];
            if name.is_empty() || !name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
                return Err("invalid group name".into());
            }
            out.push_str("(?P<");
            out.push_str(&latin1(name));
            out.push('>');
            Ok(name_start + len + 1)
        }
        Some(b'R' | b'&' | b'0'..=b'9' | b'+' | b'C' | b'(') => {
            refuse("recursion, callouts and conditionals")
        }
        _ => {
            // Inline flags: (?i) (?-i) (?i:…) (?x) …
            let len = rest
                .iter()
                .position(|&b| b == b')' || b == b':')
                .ok_or("unterminated group")?;
            let flags = &rest[..len];
            if !flags.iter().all(|b| b"imsxU-".contains(b)) {
                return Err(format!("inline flags \"{}\"", latin1(flags)));
            }
            out.push_str("(?");
            out.push_str(&latin1(flags));
            out.push(char::from(rest[len]));
            Ok(2 + len + 1)
        }
    }
}

/// `{n}`, `{n,}`, `{n,m}`: the length of a valid quantifier at `p`.
fn quantifier_len(p: &[u8]) -> Option<usize> {
    let close = p.iter().position(|&b| b == b'}')?;
    let body = &p[1..close];
    let (a, b) = match body.iter().position(|&c| c == b',') {
        Some(k) => (&body[..k], Some(&body[k + 1..])),
        None => (body, None),
    };
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let ok = digits(a) && b.is_none_or(|b| b.is_empty() || digits(b));
    ok.then_some(close + 1)
}

fn hex_escape(p: &[u8]) -> Result<(u8, usize), String> {
    if p.first() == Some(&b'{') {
        let end = p
            .iter()
            .position(|&b| b == b'}')
            .ok_or("unterminated \\x{")?;
        let v = u32::from_str_radix(&latin1(&p[1..end]), 16).map_err(|_| "bad \\x{…}")?;
        let v = u8::try_from(v).map_err(|_| "\\x{…} above 0xFF cannot match in byte mode")?;
        return Ok((v, end + 1));
    }
    let n = p
        .iter()
        .take(2)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    let v = if n == 0 {
        0
    } else {
        u8::from_str_radix(&latin1(&p[..n]), 16).map_err(|_| "bad \\x")?
    };
    Ok((v, n))
}

fn find(p: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    p.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|k| k + from)
}

/// A byte that must match itself.
fn push_literal(out: &mut String, b: u8) {
    if b.is_ascii_alphanumeric() || b == b'_' || b == b'/' || b >= 0x80 {
        out.push(char::from(b));
    } else {
        out.push_str(&format!("\\x{b:02X}"));
    }
}

/// A byte copied as pattern syntax.
fn push_raw(out: &mut String, b: u8) {
    if !(0x20..0x80).contains(&b) {
        push_literal(out, b);
    } else {
        out.push(char::from(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> Option<Vec<String>> {
        let re = Regex::new(p.as_bytes(), false).unwrap();
        re.captures(s.as_bytes()).map(|c| {
            c.groups
                .into_iter()
                .map(|g| String::from_utf8_lossy(&g.unwrap_or_default()).into_owned())
                .collect()
        })
    }

    #[test]
    fn typical_nginx_patterns() {
        assert_eq!(m(r"^/api/(.*)$", "/api/x/y").unwrap()[1], "x/y");
        assert!(m(r"\.php$", "/index.php").is_some());
        assert!(m(r"\.php$", "/index.php5").is_none());
        assert_eq!(
            m(r"^/u/(\d+)/(?<rest>.*)", "/u/42/z").unwrap()[1..],
            ["42", "z"]
        );
        assert!(m(r"^/x/{id}$", "/x/{id}").is_some(), "literal braces");
        assert!(m(r"^/a{2}$", "/aa").is_some());
        assert!(m(r"\/static\/", "/static/x").is_some());
        assert!(m(r"^/(?:img|css)/.+\.(?:png|css)$", "/css/a.css").is_some());
        assert!(m(r"[[:digit:]]+", "/7").is_some());
        assert!(m(r"^/[]a]", "/]").is_some());
        assert!(m(r"^/[a-]$", "/-").is_some());
        assert!(m(r"^/(.+?)/", "/a/b/").unwrap()[1] == "a");
        assert!(m(r"^/\Q.*\E$", "/.*").is_some());
    }

    #[test]
    fn byte_semantics_and_case() {
        let re = Regex::new("^/caf.$".as_bytes(), false).unwrap();
        assert!(!re.is_match("/café".as_bytes()), "é is two bytes");
        assert!(
            Regex::new(b"^/caf..$", false)
                .unwrap()
                .is_match("/café".as_bytes())
        );
        let ci = Regex::new(b"\\.JPG$", true).unwrap();
        assert!(ci.is_match(b"/a.jpg"));
        let c = Regex::new("^/(.)".as_bytes(), false)
            .unwrap()
            .captures(b"/\xff")
            .unwrap();
        assert_eq!(c.groups[1].as_deref(), Some(&b"\xff"[..]));
        assert!(Regex::new(b"a$", false).unwrap().is_match(b"a\n"));
    }

    #[test]
    fn unsupported_is_refused() {
        for p in [r"^/(?!x)", r"(a)\1", r"a++", r"(?>a)", r"(?<=a)b", r"\p{L}"] {
            assert!(Regex::new(p.as_bytes(), false).is_err(), "{p}");
        }
    }
}
