//! The body of a `*_by_lua_block { … }` directive, read the way
//! lua-nginx-module reads it (`ngx_http_lua_conf_lua_block_parse`), not the
//! way crossplane does.
//!
//! The module scans the buffered text for the leftmost Lua token of
//! interest — `{`, `}`, a long bracket `[=*[`, a long comment `--[=*[`, a
//! closing bracket `]=*]`, a line comment `--…`, or a `"…"`/`'…'` string that
//! ends on the same line — and counts braces outside of strings and
//! comments. A long bracket must close within the module's view of nginx's
//! 4096-byte buffer, otherwise the config is rejected; those buffer effects
//! are reproduced here, so configs lua-nginx-module rejects are rejected too.

use crate::ast::{Quote, Word};
use crate::error::{ParseError, SyntaxError};
use crate::lexer::{CONF_BUFFER, Lexer, offset};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    LeftCurly,
    RightCurly,
    LongString,
    LongComment,
    Other,
}

impl Lexer<'_> {
    /// Read a Lua block body; the opening `{` has just been consumed.
    /// Returns the body (without the outer braces) as one word.
    pub(crate) fn read_lua_block(&mut self) -> Result<Word, ParseError> {
        let body_start = self.pos;
        let span = self.span_at(self.pos, self.line, self.line_start);
        let mut level = 1usize;
        let mut block_line = self.line;
        loop {
            match self.read_lua_token(block_line)? {
                Tok::LeftCurly => {
                    block_line = self.line;
                    level += 1;
                }
                Tok::RightCurly => {
                    level -= 1;
                    if level == 0 {
                        let end = self.pos - 1;
                        return Ok(Word {
                            value: self.src[body_start..end].into(),
                            raw_range: (offset(body_start), offset(end)),
                            quote: Quote::LuaBlock,
                            span,
                        });
                    }
                }
                _ => {}
            }
        }
    }

    fn refill(&mut self, keep_from: usize) {
        let len = self.last - keep_from;
        self.last += (self.src.len() - self.last).min(CONF_BUFFER - len);
    }

    fn lua_error_at_line(&self, line: u32, kind: SyntaxError) -> ParseError {
        ParseError {
            file: self.file,
            line,
            col: 1,
            kind,
        }
    }

    fn advance_to(&mut self, end: usize) {
        while self.pos < end {
            let ch = self.src[self.pos];
            self.pos += 1;
            if ch == b'\n' {
                self.line += 1;
                self.line_start = self.pos;
            }
        }
    }

    fn read_lua_token(&mut self, block_line: u32) -> Result<Tok, ParseError> {
        let mut start = self.pos;
        let start_line = self.line;
        loop {
            let file_done = self.last >= self.src.len();
            if self.pos >= self.last || (self.last - self.pos < CONF_BUFFER / 2 && !file_done) {
                if file_done {
                    return Err(self.lua_error_at_line(block_line, SyntaxError::LuaEof));
                }
                if self.last - start == CONF_BUFFER {
                    return Err(self.lua_error_at_line(start_line, SyntaxError::LuaTooLong));
                }
                self.refill(start);
            }

            let window = &self.src[self.pos..self.last];
            let Some((tok, m0, m1)) = leftmost_token(window) else {
                if self.last >= self.src.len() {
                    return Err(self.lua_error_at_line(block_line, SyntaxError::LuaEof));
                }
                if self.last - self.pos == CONF_BUFFER {
                    return Err(self.lua_error_at_line(start_line, SyntaxError::LuaTooLong));
                }
                self.refill(self.pos);
                start = self.pos;
                continue;
            };

            let mut end = self.pos + m1;
            if matches!(tok, Tok::LongString | Tok::LongComment) {
                self.advance_to(self.pos + m0);
                let open = &self.src[self.pos..end];
                let open = if tok == Tok::LongComment {
                    &open[2..]
                } else {
                    open
                };
                let equals = open.len() - 2;
                let mut close = Vec::with_capacity(equals + 2);
                close.push(b']');
                close.extend(std::iter::repeat_n(b'=', equals));
                close.push(b']');
                let hay = &self.src[end..self.last];
                match memfind(hay, &close) {
                    Some(i) => end += i + close.len(),
                    None => {
                        let line = self.line;
                        return Err(self.lua_error_at_line(
                            line,
                            SyntaxError::LuaLongBracket(String::from_utf8_lossy(&close).into()),
                        ));
                    }
                }
            }
            self.advance_to(end);
            return Ok(tok);
        }
    }
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Length of `[=*[` at the start of `s`, if it is one.
fn long_bracket(s: &[u8], open: u8) -> Option<usize> {
    if s.first() != Some(&open) {
        return None;
    }
    let mut i = 1;
    while s.get(i) == Some(&b'=') {
        i += 1;
    }
    (s.get(i) == Some(&open)).then_some(i + 1)
}

/// End (exclusive) of a one-line quoted string starting at `s[0]`.
fn short_string(s: &[u8]) -> Option<usize> {
    let q = s[0];
    let mut i = 1;
    while i < s.len() {
        match s[i] {
            b'\n' => return None,
            b'\\' => i += 2,
            c if c == q => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The leftmost token in `w`: (kind, start, end).
fn leftmost_token(w: &[u8]) -> Option<(Tok, usize, usize)> {
    let mut i = 0;
    while i < w.len() {
        let rest = &w[i..];
        match w[i] {
            b'{' => return Some((Tok::LeftCurly, i, i + 1)),
            b'}' => return Some((Tok::RightCurly, i, i + 1)),
            b'[' => {
                if let Some(n) = long_bracket(rest, b'[') {
                    return Some((Tok::LongString, i, i + n));
                }
            }
            b']' => {
                if let Some(n) = long_bracket(rest, b']') {
                    return Some((Tok::Other, i, i + n));
                }
            }
            b'-' if rest.get(1) == Some(&b'-') => {
                if let Some(n) = long_bracket(&rest[2..], b'[') {
                    return Some((Tok::LongComment, i, i + 2 + n));
                }
                let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                return Some((Tok::Other, i, i + end));
            }
            b'"' | b'\'' => {
                if let Some(n) = short_string(rest) {
                    return Some((Tok::Other, i, i + n));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftmost_tokens() {
        assert_eq!(leftmost_token(b"a = 1 }"), Some((Tok::RightCurly, 6, 7)));
        assert_eq!(
            leftmost_token(b"x = \"}\" }"),
            Some((Tok::Other, 4, 7)),
            "a string hides its brace"
        );
        assert_eq!(leftmost_token(b"-- }\n}"), Some((Tok::Other, 0, 4)));
        assert_eq!(leftmost_token(b"--[==[ x"), Some((Tok::LongComment, 0, 6)));
        assert_eq!(leftmost_token(b"[=[ x"), Some((Tok::LongString, 0, 3)));
        // an unterminated string does not match; the brace inside it does
        assert_eq!(leftmost_token(b"\"ab{\n"), Some((Tok::LeftCurly, 3, 4)));
    }
}
