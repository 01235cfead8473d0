//! `log_format` compiled into a line parser.
//!
//! A format is a sequence of literals and variables. A line is matched
//! left to right: a literal must appear where expected; a variable's value
//! runs to the next occurrence of the literal that follows it (its first
//! bytes are enough in practice, since nginx escapes `"` inside values).
//! Two refinements keep real formats exact: `$time_local` has a fixed
//! width (it contains a space), and the multi-value `$upstream_*`
//! variables in a space-separated format consume their `, ` and ` : `
//! separators (`10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80`).
//!
//! The format text may be given as nginx writes it in the config (`escape=json
//! '…' '…'`, quoted pieces concatenated) or as the bare format.

use memchr::memmem::Finder;

use super::vars::Var;
use crate::time::{self, LocalTime};

/// How values are escaped (`log_format … escape=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// `\xHH` for `"`, `\`, control and non-ASCII bytes (the default).
    Default,
    /// JSON string escapes.
    Json,
    /// Nothing escaped.
    None,
}

#[derive(Debug, Clone)]
enum Item {
    Lit(Vec<u8>, Box<Finder<'static>>),
    Var(Var, String),
}

/// A compiled `log_format`.
#[derive(Debug, Clone)]
pub struct Format {
    /// The name (`combined`, or the `log_format` name from the config).
    pub name: String,
    /// The format text after unquoting.
    pub text: String,
    /// The escaping of values.
    pub escape: Escape,
    items: Vec<Item>,
    vars: usize,
}

/// Why a `log_format` could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The format is empty.
    #[error("log format {name:?} is empty")]
    Empty {
        /// Format name.
        name: String,
    },
    /// A quoted piece is not closed.
    #[error("log format {name:?}: quote opened at byte {at} is not closed")]
    UnterminatedQuote {
        /// Format name.
        name: String,
        /// Byte offset of the opening quote.
        at: usize,
    },
    /// `$` not followed by a variable name, or `${` without `}`.
    #[error("log format {name:?}: invalid variable at byte {at} (expected $name or ${{name}})")]
    BadVariable {
        /// Format name.
        name: String,
        /// Byte offset of the `$`.
        at: usize,
    },
    /// Two variables with nothing between them cannot be told apart.
    #[error(
        "log format {name:?}: ${a} and ${b} follow each other with nothing between them, so \
         their values cannot be split"
    )]
    Adjacent {
        /// Format name.
        name: String,
        /// First variable.
        a: String,
        /// Second variable.
        b: String,
    },
    /// Unknown `escape=` value.
    #[error("log format {name:?}: unknown escape={value:?} (expected default, json or none)")]
    BadEscape {
        /// Format name.
        name: String,
        /// The value given.
        value: String,
    },
}

/// nginx's predefined `combined` format.
pub const COMBINED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status \
                            $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";
/// The `main` format of the stock nginx.conf (combined + X-Forwarded-For).
pub const MAIN: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status \
                        $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \
                        \"$http_x_forwarded_for\"";
/// Kubernetes ingress-nginx's default `log-format-upstream`.
pub const UPSTREAMINFO: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status \
    $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_length $request_time \
    [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr \
    $upstream_response_length $upstream_response_time $upstream_status $req_id";

/// The built-in formats, by name.
pub const BUILTINS: [(&str, &str); 3] = [
    ("upstreaminfo", UPSTREAMINFO),
    ("main", MAIN),
    ("combined", COMBINED),
];

/// Where one variable's value lies in a line.
pub type Span = (u32, u32);

/// A parsed access-log line: the value spans of the known variables.
#[derive(Debug, Clone)]
pub struct AccessRecord<'a> {
    /// The line.
    pub line: &'a [u8],
    slots: [Option<Span>; Var::COUNT],
}

/// Why a line did not match its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("line does not match the log format at byte {at} (expected {expected})")]
pub struct LineError {
    /// Byte offset where matching failed.
    pub at: usize,
    /// What was expected there.
    pub expected: &'static str,
}

impl Format {
    /// Compile a format. `text` is either nginx config syntax (`escape=json`
    /// and quoted pieces) or the bare format.
    pub fn compile(name: &str, text: &str) -> Result<Format, FormatError> {
        let (escape, text) = unquote(name, text)?;
        if text.is_empty() {
            return Err(FormatError::Empty { name: name.into() });
        }
        let b = text.as_bytes();
        let mut items: Vec<Item> = Vec::new();
        let mut lit = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' {
                lit.push(b[i]);
                i += 1;
                continue;
            }
            let (var, len) = var_at(b, i).ok_or_else(|| FormatError::BadVariable {
                name: name.into(),
                at: i,
            })?;
            if !lit.is_empty() {
                let l = std::mem::take(&mut lit);
                let f = Box::new(Finder::new(&l).into_owned());
                items.push(Item::Lit(l, f));
            } else if let Some(Item::Var(_, prev)) = items.last() {
                return Err(FormatError::Adjacent {
                    name: name.into(),
                    a: prev.clone(),
                    b: var,
                });
            }
            items.push(Item::Var(Var::from_name(&var), var));
            i += len;
        }
        if !lit.is_empty() {
            let f = Box::new(Finder::new(&lit).into_owned());
            items.push(Item::Lit(lit, f));
        }
        let vars = items.iter().filter(|i| matches!(i, Item::Var(..))).count();
        Ok(Format {
            name: name.into(),
            text,
            escape,
            items,
            vars,
        })
    }

    /// A built-in format by name (`combined`, `main`, `upstreaminfo`).
    pub fn builtin(name: &str) -> Option<Format> {
        BUILTINS
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(n, t)| Format::compile(n, t).ok())
    }

    /// Does the format contain this variable?
    pub fn has(&self, v: Var) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i, Item::Var(x, _) if *x == v))
    }

    /// Number of variables in the format.
    pub fn var_count(&self) -> usize {
        self.vars
    }

    /// Parse one line (without its newline).
    pub fn parse<'a>(&self, line: &'a [u8]) -> Result<AccessRecord<'a>, LineError> {
        let line = match line {
            [rest @ .., b'\r'] => rest,
            l => l,
        };
        let mut rec = AccessRecord {
            line,
            slots: [None; Var::COUNT],
        };
        let mut pos = 0usize;
        let n = self.items.len();
        for idx in 0..n {
            match &self.items[idx] {
                Item::Lit(l, _) => {
                    if !line[pos..].starts_with(l) {
                        return Err(LineError {
                            at: pos,
                            expected: "a literal of the format",
                        });
                    }
                    pos += l.len();
                }
                Item::Var(v, _) => {
                    let next = match self.items.get(idx + 1) {
                        Some(Item::Lit(l, f)) => Some((l.as_slice(), &**f)),
                        _ => None,
                    };
                    let end = self.value_end(*v, line, pos, next)?;
                    if let Some(s) = v.slot() {
                        rec.slots[s] = Some((pos as u32, end as u32));
                    }
                    pos = end;
                }
            }
        }
        if pos != line.len() {
            return Err(LineError {
                at: pos,
                expected: "the end of the line",
            });
        }
        Ok(rec)
    }

    fn value_end(
        &self,
        v: Var,
        line: &[u8],
        pos: usize,
        next: Option<(&[u8], &Finder<'static>)>,
    ) -> Result<usize, LineError> {
        let rest = &line[pos..];
        let Some((lit, finder)) = next else {
            return Ok(line.len());
        };
        let miss = LineError {
            at: pos,
            expected: "a value followed by the next literal",
        };
        if v == Var::TimeLocal
            && let Some((_, used)) = time::parse_time_local(rest)
            && rest[used..].starts_with(lit)
        {
            return Ok(pos + used);
        }
        if v.is_multi() && lit[0] == b' ' {
            return multi_end(rest, lit).map(|e| pos + e).ok_or(miss);
        }
        if self.escape == Escape::Json && lit[0] == b'"' {
            return json_string_end(rest, &lit[1..])
                .map(|e| pos + e)
                .ok_or(miss);
        }
        let found = if lit.len() == 1 {
            memchr::memchr(lit[0], rest)
        } else {
            finder.find(rest)
        };
        found.map(|e| pos + e).ok_or(miss)
    }
}

/// The end of a multi-value field (`a, b : c`) followed by `lit` (which
/// starts with a space). Items hold no space or comma.
fn multi_end(rest: &[u8], lit: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        let item_end = i + rest[i..]
            .iter()
            .position(|&c| c == b' ' || c == b',')
            .unwrap_or(rest.len() - i);
        let tail = &rest[item_end..];
        if tail.starts_with(b", ") {
            i = item_end + 2;
        } else if tail.starts_with(b" : ") && !lit.starts_with(b" : ") {
            i = item_end + 3;
        } else {
            return tail.starts_with(lit).then_some(item_end);
        }
    }
}

/// End of a JSON-escaped value: the first `"` not escaped by a backslash
/// and followed by `after`.
fn json_string_end(rest: &[u8], after: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(q) = memchr::memchr(b'"', &rest[from..]).map(|q| q + from) {
        let backslashes = rest[..q].iter().rev().take_while(|&&c| c == b'\\').count();
        if backslashes % 2 == 0 && rest[q + 1..].starts_with(after) {
            return Some(q);
        }
        from = q + 1;
    }
    None
}

/// `$name` or `${name}` at `i` → (name, length consumed).
fn var_at(b: &[u8], i: usize) -> Option<(String, usize)> {
    let is_name = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    if b.get(i + 1) == Some(&b'{') {
        let close = b[i + 2..].iter().position(|&c| c == b'}')?;
        let name = &b[i + 2..i + 2 + close];
        if name.is_empty() || !name.iter().all(is_name) {
            return None;
        }
        return Some((String::from_utf8_lossy(name).into_owned(), close + 3));
    }
    let n = b[i + 1..].iter().take_while(|c| is_name(c)).count();
    (n > 0).then(|| {
        (
            String::from_utf8_lossy(&b[i + 1..i + 1 + n]).into_owned(),
            n + 1,
        )
    })
}

/// Config syntax → (escape, bare format). Text that does not start with a
/// quote or `escape=` is taken as the bare format.
fn unquote(name: &str, text: &str) -> Result<(Escape, String), FormatError> {
    let mut s = text.trim();
    let mut escape = Escape::Default;
    if let Some(rest) = s.strip_prefix("escape=") {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        escape = match &rest[..end] {
            "default" => Escape::Default,
            "json" => Escape::Json,
            "none" => Escape::None,
            v => {
                return Err(FormatError::BadEscape {
                    name: name.into(),
                    value: v.into(),
                });
            }
        };
        s = rest[end..].trim_start();
    }
    if !(s.starts_with('\'') || s.starts_with('"')) {
        return Ok((escape, s.to_owned()));
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            q @ (b'\'' | b'"') => {
                let open = i;
                i += 1;
                loop {
                    let Some(&c) = b.get(i) else {
                        return Err(FormatError::UnterminatedQuote {
                            name: name.into(),
                            at: open,
                        });
                    };
                    if c == q {
                        i += 1;
                        break;
                    }
                    if c == b'\\' && i + 1 < b.len() {
                        let e = b[i + 1];
                        match e {
                            b'"' | b'\'' | b'\\' => out.push(e),
                            b'n' => out.push(b'\n'),
                            b't' => out.push(b'\t'),
                            b'r' => out.push(b'\r'),
                            _ => out.extend_from_slice(&[b'\\', e]),
                        }
                        i += 2;
                        continue;
                    }
                    out.push(c);
                    i += 1;
                }
            }
            // An unquoted word between quoted pieces (nginx allows it).
            _ => {
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    out.push(b[i]);
                    i += 1;
                }
            }
        }
    }
    Ok((escape, String::from_utf8_lossy(&out).into_owned()))
}

impl<'a> AccessRecord<'a> {
    /// The raw value of a variable (as escaped in the log).
    pub fn get(&self, v: Var) -> Option<&'a [u8]> {
        let (a, b) = self.slots[v.slot()?]?;
        Some(&self.line[a as usize..b as usize])
    }

    /// The value, with `-` (not found) read as absent.
    pub fn value(&self, v: Var) -> Option<&'a [u8]> {
        self.get(v).filter(|x| *x != b"-")
    }

    /// `$status`.
    pub fn status(&self) -> Option<u16> {
        let s = self.get(Var::Status)?;
        if s.len() != 3 || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(s.iter().fold(0u16, |n, &c| n * 10 + u16::from(c - b'0')))
    }

    /// The request time: `$time_local`, `$time_iso8601` or `$msec`.
    pub fn time(&self) -> Option<LocalTime> {
        if let Some(t) = self.get(Var::TimeLocal) {
            return time::parse_time_local(t).map(|x| x.0);
        }
        if let Some(t) = self.get(Var::TimeIso8601) {
            return time::parse_iso(t);
        }
        self.get(Var::Msec).and_then(time::parse_msec)
    }

    /// `$request_time` in seconds.
    pub fn request_time(&self) -> Option<f64> {
        parse_f64(self.value(Var::RequestTime)?)
    }

    /// The request path without the query: from `$request`, `$request_uri`
    /// or `$uri`.
    pub fn path(&self) -> Option<&'a [u8]> {
        let target = if let Some(r) = self.value(Var::Request) {
            let sp = memchr::memchr(b' ', r)?;
            let t = &r[sp + 1..];
            &t[..memchr::memchr(b' ', t).unwrap_or(t.len())]
        } else {
            self.value(Var::RequestUri)
                .or_else(|| self.value(Var::Uri))?
        };
        Some(&target[..memchr::memchr(b'?', target).unwrap_or(target.len())])
    }

    /// The host: `$host`, `$http_host` or `$server_name`.
    pub fn host(&self) -> Option<&'a [u8]> {
        self.value(Var::Host)
            .or_else(|| self.value(Var::ServerName))
    }
}

/// A decimal number like `0.001` (nginx's `%T.%03M`).
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    if b.is_empty() || b.len() > 24 {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

#[cfg(test)]
mod tests;
