//! nginx's config tokenizer, `ngx_conf_read_token()`, reproduced rule for
//! rule (see the shared catalogue §5.1):
//!
//! - words end at whitespace, `;` or `{` — never at `}` (`ok}` is one word),
//!   and `{` right after `$` stays in the word (`${var}`);
//! - `"` and `'` open a quoted word only at the start of a token, and after
//!   the closing quote the next byte must be whitespace, `;`, `{` or `)`;
//! - `#` starts a comment only at the start of a token;
//! - a backslash makes the next byte inert; when a word is copied out,
//!   `\"` `\'` `\\` `\t` `\r` `\n` are decoded and any other `\x` is kept;
//! - nginx reads the file through a 4096-byte buffer, so a single token (or
//!   a comment) of 4096 bytes or more fails with "too long parameter". The
//!   buffer's fill level is emulated exactly, because the Lua block reader
//!   ([`crate::lua`]) depends on it too.

use crate::ast::{Args, FileId, Quote, Span, Word};
use crate::error::{ParseError, SyntaxError};

/// Size of nginx's config read buffer (`NGX_CONF_BUFFER`).
pub const CONF_BUFFER: usize = 4096;

/// What one call of the tokenizer produced.
#[derive(Debug)]
pub enum Event {
    /// Words terminated by `;`: the directive name and its arguments.
    Statement(Word, Args),
    /// Words terminated by `{`: the directive name and its arguments.
    BlockStart(Word, Args),
    /// A `}` with no pending words.
    BlockEnd(Span),
    /// End of input with nothing pending.
    Eof,
}

/// What one call of the tokenizer produced, arguments left in the caller's
/// word list.
#[derive(Debug)]
pub(crate) enum Raw {
    /// Words terminated by `;` or `{` (`block`).
    Statement {
        name: Word,
        args: std::ops::Range<usize>,
        block: bool,
    },
    /// A `}` with no pending words.
    BlockEnd(Span),
    /// End of input with nothing pending.
    Eof,
}

/// The tokenizer state over one file's bytes.
pub struct Lexer<'a> {
    pub(crate) src: &'a [u8],
    pub(crate) file: FileId,
    /// Next byte to read.
    pub(crate) pos: usize,
    /// Emulated end of nginx's buffer (how much of the file it has read).
    pub(crate) last: usize,
    pub(crate) line: u32,
    pub(crate) line_start: usize,
    /// Whether to try the straight-line reader for common statements
    /// first ([`crate::fastlex`]); off only to test it against this one.
    pub(crate) fast: bool,
}

impl<'a> Lexer<'a> {
    /// A tokenizer over `src`, reporting positions in `file`.
    pub fn new(src: &'a [u8], file: FileId) -> Self {
        Lexer {
            src,
            file,
            pos: 0,
            last: 0,
            line: 1,
            line_start: 0,
            fast: true,
        }
    }

    /// The same tokenizer without its fast path: every byte goes through
    /// the full state machine. Only for checking the two agree.
    #[doc(hidden)]
    pub fn new_reference(src: &'a [u8], file: FileId) -> Self {
        Lexer {
            fast: false,
            ..Lexer::new(src, file)
        }
    }

    pub(crate) fn span_at(&self, index: usize, line: u32, line_start: usize) -> Span {
        Span {
            file: self.file,
            line,
            col: offset(index.saturating_sub(line_start) + 1),
        }
    }

    /// The position of the byte just consumed.
    pub(crate) fn here(&self) -> Span {
        self.span_at(self.pos.saturating_sub(1), self.line, self.line_start)
    }

    pub(crate) fn error(&self, span: Span, kind: SyntaxError) -> ParseError {
        ParseError {
            file: self.file,
            line: span.line,
            col: span.col,
            kind,
        }
    }

    /// Consume one byte, keeping line/column bookkeeping.
    fn bump(&mut self) -> u8 {
        let ch = self.src[self.pos];
        self.pos += 1;
        if ch == b'\n' {
            self.line += 1;
            self.line_start = self.pos;
        }
        ch
    }

    /// Read the next statement, block start, block end or end of file.
    pub fn next_event(&mut self) -> Result<Event, ParseError> {
        let mut words = Vec::new();
        Ok(match self.next_raw(&mut words, 0)? {
            Raw::Statement { name, block, .. } => {
                let args = Args::from(words);
                if block {
                    Event::BlockStart(name, args)
                } else {
                    Event::Statement(name, args)
                }
            }
            Raw::BlockEnd(span) => Event::BlockEnd(span),
            Raw::Eof => Event::Eof,
        })
    }

    /// Read the next statement, block start, block end or end of file,
    /// appending a statement's arguments to `words` (whose first `mark`
    /// entries belong to earlier statements).
    pub(crate) fn next_raw(
        &mut self,
        words: &mut Vec<Word>,
        mark: usize,
    ) -> Result<Raw, ParseError> {
        if self.fast {
            if let Some(r) = self.read_common(words, mark) {
                return Ok(r);
            }
            words.truncate(mark);
        }
        self.read_event(words, mark)
    }

    fn read_event(&mut self, words: &mut Vec<Word>, mark: usize) -> Result<Raw, ParseError> {
        let mut need_space = false;
        let mut last_space = true;
        let mut sharp_comment = false;
        let mut variable = false;
        let mut quoted = false;
        let mut s_quoted = false;
        let mut d_quoted = false;

        let mut start = self.pos;
        let mut start_line = self.line;
        let mut start_span = self.span_at(self.pos, self.line, self.line_start);

        loop {
            if self.pos >= self.last {
                if self.last >= self.src.len() {
                    if words.len() > mark || !last_space {
                        let span = self.span_at(self.pos, self.line, self.line_start);
                        return Err(self.error(span, SyntaxError::EofInStatement));
                    }
                    return Ok(Raw::Eof);
                }
                let len = self.pos - start;
                if len == CONF_BUFFER {
                    let span = Span {
                        line: start_line,
                        ..start_span
                    };
                    let kind = if d_quoted {
                        SyntaxError::TooLongQuoted('"')
                    } else if s_quoted {
                        SyntaxError::TooLongQuoted('\'')
                    } else {
                        let head = &self.src[start..start + 10];
                        SyntaxError::TooLongParameter(String::from_utf8_lossy(head).into_owned())
                    };
                    return Err(self.error(span, kind));
                }
                self.last += (self.src.len() - self.last).min(CONF_BUFFER - len);
            }

            // Fast paths over runs of bytes that change no state, never past
            // the emulated buffer end (the refill check above must see it).
            if sharp_comment {
                let run = &self.src[self.pos..self.last];
                self.pos += memchr::memchr(b'\n', run).unwrap_or(run.len());
                if self.pos >= self.last {
                    continue;
                }
            } else if !quoted && !need_space && !variable {
                let table = if last_space {
                    &BLANK
                } else if d_quoted {
                    &IN_DOUBLE
                } else if s_quoted {
                    &IN_SINGLE
                } else {
                    &IN_WORD
                };
                let run = &self.src[self.pos..self.last];
                let mut n = 0;
                while n < run.len() && table[run[n] as usize] {
                    if run[n] == b'\n' {
                        self.line += 1;
                        self.line_start = self.pos + n + 1;
                    }
                    n += 1;
                }
                if n > 0 {
                    self.pos += n;
                    if last_space {
                        // nginx moves `start` to every blank it reads
                        start = self.pos - 1;
                    }
                    if self.pos >= self.last {
                        continue;
                    }
                }
            }

            let ch = self.bump();

            if ch == b'\n' && sharp_comment {
                sharp_comment = false;
            }
            if sharp_comment {
                continue;
            }
            if quoted {
                quoted = false;
                continue;
            }

            if need_space {
                match ch {
                    b' ' | b'\t' | b'\r' | b'\n' => {
                        last_space = true;
                        need_space = false;
                        continue;
                    }
                    b';' => return Ok(statement(words, mark, false)),
                    b'{' => return Ok(statement(words, mark, true)),
                    b')' => {
                        last_space = true;
                        need_space = false;
                    }
                    _ => {
                        return Err(self.error(self.here(), SyntaxError::Unexpected(ch as char)));
                    }
                }
            }

            if last_space {
                start = self.pos - 1;
                start_line = self.line;
                start_span = self.here();

                match ch {
                    b' ' | b'\t' | b'\r' | b'\n' => continue,
                    b';' | b'{' => {
                        if words.len() == mark {
                            return Err(
                                self.error(self.here(), SyntaxError::Unexpected(ch as char))
                            );
                        }
                        return Ok(statement(words, mark, ch == b'{'));
                    }
                    b'}' => {
                        if words.len() > mark {
                            return Err(self.error(self.here(), SyntaxError::Unexpected('}')));
                        }
                        return Ok(Raw::BlockEnd(self.here()));
                    }
                    b'#' => {
                        sharp_comment = true;
                        continue;
                    }
                    b'\\' => {
                        quoted = true;
                        last_space = false;
                        continue;
                    }
                    b'"' => {
                        start += 1;
                        d_quoted = true;
                        last_space = false;
                        continue;
                    }
                    b'\'' => {
                        start += 1;
                        s_quoted = true;
                        last_space = false;
                        continue;
                    }
                    b'$' => {
                        variable = true;
                        last_space = false;
                        continue;
                    }
                    _ => {
                        last_space = false;
                        continue;
                    }
                }
            }

            // Inside a word.
            if ch == b'{' && variable {
                continue;
            }
            variable = false;
            if ch == b'\\' {
                quoted = true;
                continue;
            }
            if ch == b'$' {
                variable = true;
                continue;
            }

            let mut found = false;
            let mut quote = Quote::None;
            if d_quoted {
                if ch == b'"' {
                    d_quoted = false;
                    need_space = true;
                    found = true;
                    quote = Quote::Double;
                }
            } else if s_quoted {
                if ch == b'\'' {
                    s_quoted = false;
                    need_space = true;
                    found = true;
                    quote = Quote::Single;
                }
            } else if matches!(ch, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{') {
                last_space = true;
                found = true;
            }

            if found {
                let end = self.pos - 1;
                let raw_start = if quote == Quote::None {
                    start
                } else {
                    start - 1
                };
                let raw_end = if quote == Quote::None { end } else { end + 1 };
                words.push(Word {
                    value: unescape(&self.src[start..end]),
                    raw_range: (offset(raw_start), offset(raw_end)),
                    quote,
                    span: start_span,
                });
                if ch == b';' {
                    return Ok(statement(words, mark, false));
                }
                if ch == b'{' {
                    return Ok(statement(words, mark, true));
                }
            }
        }
    }
}

/// The statement in `words[mark..]` (at least one word): the name is taken
/// out, the arguments stay in `words`.
pub(crate) fn statement(words: &mut Vec<Word>, mark: usize, block: bool) -> Raw {
    let name = words.remove(mark);
    Raw::Statement {
        name,
        args: mark..words.len(),
        block,
    }
}

/// Bytes that can be skipped without changing the tokenizer's state: blanks
/// between tokens (lines are counted on the way), and ordinary bytes inside
/// words (LF stops the scan inside quotes, where it must be counted too).
const fn table(skip: &[u8], invert: bool) -> [bool; 256] {
    let mut t = [invert; 256];
    let mut i = 0;
    while i < skip.len() {
        t[skip[i] as usize] = !invert;
        i += 1;
    }
    t
}
const BLANK: [bool; 256] = table(b" \t\r\n", false);
pub(crate) const IN_WORD: [bool; 256] = table(b" \t\r\n;{\\$", true);
const IN_DOUBLE: [bool; 256] = table(b"\"\\$\n", true);
const IN_SINGLE: [bool; 256] = table(b"'\\$\n", true);

/// A byte offset as stored in spans (files over 4 GiB are not configs).
pub(crate) fn offset(i: usize) -> u32 {
    i.min(u32::MAX as usize) as u32
}

/// nginx's copy-out of a word: `\"` `\'` `\\` become the bare character,
/// `\t` `\r` `\n` become TAB CR LF, and any other backslash is kept.
#[allow(clippy::manual_contains)] // words are short: a plain loop beats memchr's set-up
pub fn unescape(src: &[u8]) -> crate::bytes::Bytes {
    if !src.iter().any(|&b| b == b'\\') {
        return crate::bytes::Bytes::new(src);
    }
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        if src[i] == b'\\' && i + 1 < src.len() {
            match src[i + 1] {
                b'"' | b'\'' | b'\\' => {
                    out.push(src[i + 1]);
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
                b'n' => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(src[i]);
        i += 1;
    }
    out.into()
}
